"""Drives a running Sluice worker with two Kafka Connect clients from PyPI that nobody here
wrote: kafka-connect-py (module kafka_connect) and kafka-connect-api (module
kafka_connect_api). Every step asserts what the client returns; the script exits non-zero on
the first surprise.

Usage: python drive_worker.py URL WORKDIR

Neither client has calls for the offsets endpoints (Kafka 3.5+), so those go through
kafka-connect-api's generic Api.get/delete and, for PATCH, through requests (which both
clients are built on).
"""

import os
import sys
import time

import requests
from kafka_connect import KafkaConnect
from kafka_connect_api.kafka_connect_api import Api, Cluster

URL, WORK = sys.argv[1], sys.argv[2]
SRC_FILE = os.path.join(WORK, "py-in.txt")
OUT_FILE = os.path.join(WORK, "py-out.txt")


def step(text):
    print(f"-- {text}", flush=True)


def wait(what, predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def append(path, items):
    with open(path, "a") as f:
        for item in items:
            f.write(item + "\n")


def states(kc, name):
    status = kc.get_connector_status(name)
    return status["connector"]["state"], [t["state"] for t in status["tasks"]]


kc = KafkaConnect(url=URL)
api = Api(url=URL)
cluster = Cluster(api)

step("cluster info")
info = kc.get_cluster_info()
assert set(info) == {"version", "commit", "kafka_cluster_id"}, info
assert cluster.version == info["version"]
assert cluster.kafka_cluster == info["kafka_cluster_id"]

step("create")
append(SRC_FILE, ["a", "b", "c"])
created = kc.create_connector(
    {
        "name": "py-src",
        "config": {"connector.class": "FileStreamSource", "file": SRC_FILE, "topic": "py"},
    }
)
assert created["name"] == "py-src" and created["type"] == "source", created
assert created["config"]["file"] == SRC_FILE, created
assert created["tasks"] == [{"connector": "py-src", "task": 0}], created
created = kc.create_connector(
    {
        "name": "py-sink",
        "config": {"connector.class": "FileStreamSink", "file": OUT_FILE, "topics": "py"},
    }
)
assert created["type"] == "sink", created
wait("three lines copied", lambda: lines(OUT_FILE) == ["a", "b", "c"])

step("list, with expand")
assert sorted(kc.list_connectors()) == ["py-sink", "py-src"]
with_status = kc.list_connectors(expand="status")
assert with_status["py-src"]["status"]["connector"]["state"] == "RUNNING", with_status
with_info = kc.list_connectors(expand="info")
assert with_info["py-sink"]["info"]["config"]["topics"] == "py", with_info
assert sorted(kc.list_connectors(state="running", pattern="py-s.*")) == ["py-sink", "py-src"]
connectors = cluster.connectors
assert set(connectors) == {"py-src", "py-sink"}, connectors
assert connectors["py-src"].exists()

step("status and tasks")
wait("running", lambda: states(kc, "py-src") == ("RUNNING", ["RUNNING"]))
status = kc.get_connector_status("py-src")
assert status["type"] == "source" and status["tasks"][0]["id"] == 0, status
assert kc.get_connector_task_status("py-src", 0)["state"] == "RUNNING"
assert kc.get_connector("py-src")["config"]["connector.class"] == "FileStreamSource"
src = connectors["py-src"]
assert src.state == "RUNNING"
assert src.connector_class == "FileStreamSource"
assert [t.is_running() for t in src.tasks] == [True]
assert kc.list_connector_tasks("py-src")[0]["config"]["file"] == SRC_FILE
assert kc.list_connector_topics("py-src") == {"py-src": {"topics": ["py"]}}

step("pause and resume")
kc.pause_connector("py-src")
wait("paused", lambda: states(kc, "py-src") == ("PAUSED", ["PAUSED"]))
append(SRC_FILE, ["d", "e"])
time.sleep(0.5)
assert lines(OUT_FILE) == ["a", "b", "c"], "nothing flows while paused"
kc.resume_connector("py-src")
wait("resumed", lambda: states(kc, "py-src") == ("RUNNING", ["RUNNING"]))
wait("five lines", lambda: lines(OUT_FILE) == ["a", "b", "c", "d", "e"])
src.pause()
wait("paused again", lambda: src.state == "PAUSED")
src.resume()
wait("running again", lambda: src.state == "RUNNING")

step("restart")
assert kc.restart_connector("py-src") is None
restarting = kc.restart_connector("py-src", include_tasks=True)
assert restarting["connector"]["state"] == "RESTARTING", restarting
assert restarting["tasks"][0]["state"] == "RESTARTING", restarting
only_failed = kc.restart_connector("py-src", include_tasks=True, only_failed=True)
assert only_failed["tasks"][0]["state"] != "RESTARTING", only_failed
kc.restart_connector_task("py-src", 0)
src.restart()
src.tasks[0].restart()
wait("running after restarts", lambda: states(kc, "py-src") == ("RUNNING", ["RUNNING"]))

step("config update")
config = kc.get_connector_config("py-sink")
config["tasks.max"] = "1"
updated = kc.update_connector("py-sink", config)
assert updated["config"]["tasks.max"] == "1", updated
sink = connectors["py-sink"]
config = sink.config
config["batch.size"] = "100"
sink.config = config
assert sink.config["batch.size"] == "100"
wait("sink running", lambda: states(kc, "py-sink") == ("RUNNING", ["RUNNING"]))
append(SRC_FILE, ["f"])
wait("six lines", lambda: lines(OUT_FILE) == ["a", "b", "c", "d", "e", "f"])

step("validate")
result = kc.validate_connector_config(
    "FileStreamSink",
    {"connector.class": "FileStreamSink", "name": "v", "file": OUT_FILE, "tasks.max": "0"},
)
assert result["name"] == "FileStreamSink", result
assert result["error_count"] == 3, result
errors = {
    c["value"]["name"]: c["value"]["errors"] for c in result["configs"] if c["value"]["errors"]
}
assert errors["tasks.max"] == [
    "Invalid value 0 for configuration tasks.max: Value must be at least 1"
], errors
assert errors["topics"] == ["Must configure one of topics or topics.regex"], errors
assert "Common" in result["groups"], result["groups"]

step("stop, then offsets read, alter and reset")
kc.stop_connector("py-src")
wait("stopped", lambda: states(kc, "py-src") == ("STOPPED", []))
assert kc.list_connector_tasks("py-src") == []
offsets = api.get("/connectors/py-src/offsets")
size = os.path.getsize(SRC_FILE)
assert offsets == {
    "offsets": [{"partition": {"filename": SRC_FILE}, "offset": {"position": size}}]
}, offsets
answer = requests.patch(
    f"{URL}/connectors/py-src/offsets",
    json={"offsets": [{"partition": {"filename": SRC_FILE}, "offset": {"position": 2}}]},
)
assert answer.status_code == 200, answer.text
assert answer.json() == {
    "message": "The offsets for this connector have been altered successfully"
}, answer.json()
assert api.get("/connectors/py-src/offsets")["offsets"][0]["offset"] == {"position": 2}
reset = api.delete("/connectors/py-src/offsets")
assert reset == {"message": "The offsets for this connector have been reset successfully"}, reset
assert api.get("/connectors/py-src/offsets") == {"offsets": []}
sink_offsets = api.get("/connectors/py-sink/offsets")
assert sink_offsets["offsets"][0]["partition"] == {"kafka_topic": "py", "kafka_partition": 0}

step("loggers")
assert cluster.root_logger["level"] == "INFO", cluster.loggers
cluster.root_logger = "INFO"
assert cluster.loggers["root"]["last_modified"] is not None

step("delete")
kc.delete_connector("py-src")
sink.delete()
assert kc.list_connectors() == []
try:
    kc.get_connector("py-src")
    raise AssertionError("a deleted connector must be gone")
except requests.exceptions.HTTPError as e:
    assert e.response.status_code == 404, e
    assert e.response.json() == {"error_code": 404, "message": "Connector py-src not found"}

print("OK: both clients drove the worker through every step", flush=True)

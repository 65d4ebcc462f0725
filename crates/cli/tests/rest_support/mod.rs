//! Helpers for end-to-end tests of the REST API: a `sluice standalone` worker on a free
//! port (found in its log) and `curl` to call it.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;

use crate::common::{signal, wait_exit, wait_until, Scratch};

/// A running worker and its API address.
pub struct Worker {
    pub child: Child,
    pub url: String,
    pub log: &'static str,
}

/// Starts `sluice standalone` with a REST listener on a free port and waits until it serves.
pub fn start(scratch: &Scratch, extra: &str, connectors: &[&str]) -> Worker {
    let worker = scratch.worker(&format!("listeners=http://127.0.0.1:0\n{extra}"));
    let mut args = vec!["standalone", worker.to_str().unwrap()];
    args.extend_from_slice(connectors);
    let log = "worker.log";
    let child = scratch.spawn(&args, log);
    wait_for_api(scratch, child, log, Duration::from_secs(60))
}

/// Waits until a started worker logs its REST address (up to `listen_within`) and its API
/// answers `GET /`.
pub fn wait_for_api(
    scratch: &Scratch,
    child: Child,
    log: &'static str,
    listen_within: Duration,
) -> Worker {
    let mut url = String::new();
    wait_until("the REST listener", listen_within, || {
        match scratch.read_log(log).split("REST API listening on ").nth(1) {
            Some(rest) => {
                url = rest.split_whitespace().next().unwrap_or("").to_string();
                true
            }
            None => false,
        }
    });
    let w = Worker { child, url, log };
    wait_until("the API to answer", Duration::from_secs(60), || {
        w.call("GET", "/", None).0 == 200
    });
    w
}

/// Waits until a `sluice distributed` worker on Kafka has finished its first group round
/// (before it, requests that need the leader are answered 409, as in Kafka Connect).
pub fn wait_joined(scratch: &Scratch, log: &str) {
    wait_until(
        "the worker joining its group",
        Duration::from_secs(90),
        || scratch.read_log(log).contains("Joined the worker group."),
    );
}

impl Worker {
    /// Calls the API with curl; returns the status and the body (JSON, or a JSON string for
    /// anything else, null when empty).
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Json) {
        let (status, text) = curl(method, &format!("{}{path}", self.url), body, &[]);
        let json = if text.trim().is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Json::String(text))
        };
        (status, json)
    }

    /// Like [`Worker::call`], with a JSON value as body.
    pub fn send(&self, method: &str, path: &str, body: &Json) -> (u16, Json) {
        self.call(method, path, Some(&body.to_string()))
    }

    /// Waits until the connector and its tasks show these states.
    pub fn wait_state(&self, name: &str, connector: &str, tasks: &[&str]) -> Json {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (_, status) = self.call("GET", &format!("/connectors/{name}/status"), None);
            let states: Vec<&str> = status["tasks"]
                .as_array()
                .map(|t| t.iter().filter_map(|t| t["state"].as_str()).collect())
                .unwrap_or_default();
            if status["connector"]["state"] == connector && states == tasks {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: wanted {connector} {tasks:?}, last status {status}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the worker with SIGTERM and checks it exits 0.
    pub fn stop(mut self) {
        signal(&self.child, "TERM");
        let status = wait_exit(&mut self.child, Duration::from_secs(60));
        assert!(status.success(), "worker exit: {status:?}");
    }
}

/// Runs curl; returns the HTTP status and the body text.
pub fn curl(method: &str, url: &str, body: Option<&str>, headers: &[&str]) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-S",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
        url,
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if body.is_some() {
        cmd.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ]);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("curl must be installed (apt-get install curl)");
    if let Some(b) = body {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b.as_bytes())
            .expect("write body");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("curl");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.trim().parse().expect("status code"), body.to_string())
}

/// The config of a `sluice distributed` worker on the test broker: its own group and
/// internal topics named after `prefix`, replication 1, a quick offset flush, String
/// converters, a free REST port and the session timeout the broker needs
/// (`consumer.session.timeout.ms=6000`: the first join takes half of it). `extra` lines
/// (ending in a newline) are appended.
pub fn kafka_distributed_config(prefix: &str, extra: &str) -> String {
    format!(
        "bootstrap.servers={bootstrap}\n\
         group.id={prefix}-cluster\n\
         config.storage.topic={prefix}-configs\n\
         offset.storage.topic={prefix}-offsets\n\
         offset.storage.partitions=3\n\
         status.storage.topic={prefix}-status\n\
         config.storage.replication.factor=1\n\
         offset.storage.replication.factor=1\n\
         status.storage.replication.factor=1\n\
         offset.flush.interval.ms=200\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         listeners=http://127.0.0.1:0\n\
         consumer.session.timeout.ms=6000\n\
         {extra}",
        bootstrap = sluice_kafka::testing::bootstrap(),
    )
}

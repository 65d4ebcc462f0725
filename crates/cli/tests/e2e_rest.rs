//! End to end: `sluice standalone` serving the Kafka Connect REST API, called with curl.
//! Every endpoint with its status code and body, bad input, concurrent changes, target
//! states seen in the data, and the `sluice connectors` client.

mod common;
mod rest_support;

use std::fs;
use std::time::Duration;

use common::*;
use rest_support::*;
use serde_json::{json, Value as Json};

fn error(status: u16, message: &str) -> Json {
    json!({"error_code": status, "message": message})
}

fn source_config(file: &str, topic: &str) -> Json {
    json!({"connector.class": "FileStreamSource", "file": file, "topic": topic})
}

fn sink_config(file: &str, topic: &str) -> Json {
    json!({"connector.class": "FileStreamSink", "file": file, "topics": topic})
}

#[test]
fn every_endpoint_answers_with_kafka_paths_codes_and_bodies() {
    let s = Scratch::new();
    let w = start(&s, "", &[]);
    let input = s.path("in.txt");
    let output = s.path("out.txt");
    append_numbered(&input, 0, 5);
    let (input, output) = (input.to_str().unwrap(), output.to_str().unwrap());

    let (code, root) = w.call("GET", "/", None);
    assert_eq!(code, 200);
    assert_eq!(root["version"], "4.0.0");
    assert!(root["kafka_cluster_id"]
        .as_str()
        .unwrap()
        .starts_with("sluice-embedded-"));
    assert_eq!(w.call("GET", "/connectors", None), (200, json!([])));

    // Plugins and validation.
    let (code, plugins) = w.call("GET", "/connector-plugins", None);
    assert_eq!(code, 200);
    let classes: Vec<&str> = plugins
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["class"].as_str().unwrap())
        .collect();
    assert!(classes.contains(&"org.apache.kafka.connect.file.FileStreamSinkConnector"));
    let (_, all) = w.call("GET", "/connector-plugins?connectorsOnly=false", None);
    assert!(all.as_array().unwrap().len() > plugins.as_array().unwrap().len());
    let (code, keys) = w.call("GET", "/connector-plugins/FileStreamSource/config", None);
    assert_eq!(code, 200);
    assert!(keys.as_array().unwrap().iter().any(|k| k["name"] == "file"));
    let (code, v) = w.send(
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        &json!({"connector.class": "FileStreamSink", "name": "x", "file": "/tmp/x"}),
    );
    assert_eq!(code, 200);
    assert_eq!(v["name"], "FileStreamSink");
    assert_eq!(v["error_count"], 2, "topics and topics.regex: {v}");
    assert!(v["groups"].as_array().unwrap().contains(&json!("Common")));

    // Create, read.
    let (code, created) = w.send(
        "POST",
        "/connectors",
        &json!({"name": "src", "config": source_config(input, "lines")}),
    );
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["type"], "source");
    assert_eq!(created["tasks"], json!([{"connector": "src", "task": 0}]));
    let (code, _) = w.send(
        "PUT",
        "/connectors/sink/config",
        &sink_config(output, "lines"),
    );
    assert_eq!(code, 201);
    wait_until("the sink wrote", Duration::from_secs(60), || {
        line_count(std::path::Path::new(output)) == 5
    });
    assert_eq!(
        w.call("GET", "/connectors", None),
        (200, json!(["sink", "src"]))
    );
    let (_, expanded) = w.call("GET", "/connectors?expand=status&expand=info", None);
    assert_eq!(expanded["src"]["info"]["config"]["file"], input);
    assert_eq!(expanded["sink"]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(w.call("GET", "/connectors/src", None).1, created);
    assert_eq!(
        w.call("GET", "/connectors/src/", None).1,
        created,
        "trailing slash"
    );
    assert_eq!(
        w.call("GET", "/connectors/src/config", None).1,
        created["config"]
    );
    let status = w.wait_state("src", "RUNNING", &["RUNNING"]);
    assert_eq!(
        status["connector"]["worker_id"],
        w.url.trim_start_matches("http://")
    );
    let (code, task) = w.call("GET", "/connectors/src/tasks/0/status", None);
    assert_eq!((code, task["state"].clone()), (200, json!("RUNNING")));
    let (_, tasks) = w.call("GET", "/connectors/src/tasks", None);
    assert_eq!(tasks[0]["config"]["file"], input);
    let (_, tasks_config) = w.call("GET", "/connectors/src/tasks-config", None);
    assert_eq!(tasks_config["src-0"], tasks[0]["config"]);
    assert_eq!(
        w.call("GET", "/connectors/src/topics", None),
        (200, json!({"src": {"topics": ["lines"]}}))
    );
    assert_eq!(
        w.call("PUT", "/connectors/src/topics/reset", None),
        (202, Json::Null)
    );
    assert_eq!(
        w.call("GET", "/connectors/src/topics", None),
        (200, json!({"src": {"topics": []}}))
    );

    // Update and patch.
    let (code, patched) = w.send(
        "PATCH",
        "/connectors/sink/config",
        &json!({"tasks.max": "1", "batch.size": null}),
    );
    assert_eq!(code, 200);
    assert_eq!(patched["config"]["tasks.max"], "1");
    let (code, _) = w.send(
        "PUT",
        "/connectors/sink/config",
        &sink_config(output, "lines"),
    );
    assert_eq!(code, 200);

    // Target states and restarts.
    assert_eq!(
        w.call("PUT", "/connectors/src/pause", None),
        (202, Json::Null)
    );
    w.wait_state("src", "PAUSED", &["PAUSED"]);
    assert_eq!(
        w.call("PUT", "/connectors/src/resume", None),
        (202, Json::Null)
    );
    w.wait_state("src", "RUNNING", &["RUNNING"]);
    assert_eq!(
        w.call("POST", "/connectors/src/restart", None),
        (204, Json::Null)
    );
    let (code, restarting) = w.call("POST", "/connectors/src/restart?includeTasks=true", None);
    assert_eq!(code, 202);
    assert_eq!(restarting["connector"]["state"], "RESTARTING");
    assert_eq!(restarting["tasks"][0]["state"], "RESTARTING");
    let (code, only_failed) = w.call(
        "POST",
        "/connectors/src/restart?includeTasks=true&onlyFailed=true",
        None,
    );
    assert_eq!(code, 202);
    assert_ne!(
        only_failed["tasks"][0]["state"], "RESTARTING",
        "nothing failed: {only_failed}"
    );
    assert_eq!(
        w.call("POST", "/connectors/src/tasks/0/restart", None),
        (204, Json::Null)
    );
    w.wait_state("src", "RUNNING", &["RUNNING"]);
    assert_eq!(
        w.call("PUT", "/connectors/src/stop", None),
        (204, Json::Null)
    );
    w.wait_state("src", "STOPPED", &[]);
    assert_eq!(
        w.call("GET", "/connectors/src/tasks", None),
        (200, json!([]))
    );

    // Offsets.
    let position = fs::metadata(input).unwrap().len();
    assert_eq!(
        w.call("GET", "/connectors/src/offsets", None),
        (
            200,
            json!({"offsets": [{"partition": {"filename": input}, "offset": {"position": position}}]})
        )
    );
    let (code, message) = w.send(
        "PATCH",
        "/connectors/src/offsets",
        &json!({"offsets": [{"partition": {"filename": input}, "offset": {"position": 0}}]}),
    );
    assert_eq!(
        (code, message),
        (
            200,
            json!({"message": "The offsets for this connector have been altered successfully"})
        )
    );
    assert_eq!(
        w.call("GET", "/connectors/src/offsets", None).1["offsets"][0]["offset"],
        json!({"position": 0})
    );
    assert_eq!(
        w.call("DELETE", "/connectors/src/offsets", None),
        (
            200,
            json!({"message": "The offsets for this connector have been reset successfully"})
        )
    );
    assert_eq!(
        w.call("GET", "/connectors/src/offsets", None),
        (200, json!({"offsets": []}))
    );
    let (code, sink_offsets) = w.call("GET", "/connectors/sink/offsets", None);
    assert_eq!(code, 200);
    assert_eq!(
        sink_offsets["offsets"][0]["partition"],
        json!({"kafka_topic": "lines", "kafka_partition": 0})
    );
    // Resuming re-reads the file from the start (offsets were reset).
    assert_eq!(
        w.call("PUT", "/connectors/src/resume", None),
        (202, Json::Null)
    );
    wait_until("the file read again", Duration::from_secs(60), || {
        line_count(std::path::Path::new(output)) == 10
    });

    // Loggers.
    let (code, loggers) = w.call("GET", "/admin/loggers", None);
    assert_eq!(code, 200);
    assert_eq!(loggers["root"]["level"], "INFO");
    assert!(!s.read_log(w.log).contains(" DEBUG "));
    assert_eq!(
        w.send(
            "PUT",
            "/admin/loggers/sluice_runtime",
            &json!({"level": "DEBUG"})
        ),
        (200, json!(["sluice_runtime"]))
    );
    assert_eq!(
        w.call("GET", "/admin/loggers/sluice_runtime", None).1["level"],
        "DEBUG"
    );
    // The sink commits its offsets periodically and says so at debug level.
    wait_until("a debug line", Duration::from_secs(60), || {
        s.read_log(w.log).contains(" DEBUG sluice_runtime::")
    });

    // Delete; unknown paths and methods.
    assert_eq!(w.call("DELETE", "/connectors/src", None), (204, Json::Null));
    assert_eq!(
        w.call("GET", "/connectors/src", None),
        (404, error(404, "Connector src not found"))
    );
    assert_eq!(
        w.call("GET", "/nope", None),
        (404, error(404, "HTTP 404 Not Found"))
    );
    assert_eq!(
        w.call("DELETE", "/connectors", None),
        (405, error(405, "HTTP 405 Method Not Allowed"))
    );
    w.stop();
}

#[test]
fn bad_input_gets_kafka_status_codes_and_messages_never_500() {
    let s = Scratch::new();
    let w = start(&s, "", &[]);
    let out = s.path("out.txt");
    let out = out.to_str().unwrap();
    let cases: Vec<(&str, &str, String, u16, Option<&str>)> = vec![
        ("POST", "/connectors", "{\"name\": \"x\", \"config\": {".into(), 400, None),
        ("POST", "/connectors", "".into(), 400, None),
        ("PUT", "/connectors/x/config", "[\"not\", \"an\", \"object\"]".into(), 400, None),
        ("POST", "/connectors", json!({"name": "x", "config": {"connector.class": "NoSuchThing"}}).to_string(), 400,
         Some("Connector configuration is invalid and contains the following 1 error(s):\nFailed to find any class that implements Connector and which name matches NoSuchThing")),
        ("POST", "/connectors", json!({"name": "x", "config": {"connector.class": "FileStreamSink"}}).to_string(), 400,
         Some("Connector configuration is invalid and contains the following 3 error(s):\nMust configure one of topics or topics.regex\nMust configure one of topics or topics.regex\nMissing required configuration \"file\" which has no default value.")),
        ("POST", "/connectors", json!({"name": "x", "config": {"topics": "t"}}).to_string(), 400,
         Some("Connector config {name=x, topics=t} contains no connector type")),
        ("POST", "/connectors", json!({"name": "x", "config": {"name": "y", "connector.class": "FileStreamSink", "topics": "t"}}).to_string(), 400,
         Some("Connector name configuration (y) doesn't match connector name in the URL (x)")),
        ("PUT", "/connectors/x/config", json!({"name": "y", "connector.class": "FileStreamSink", "topics": "t"}).to_string(), 400,
         Some("Connector name configuration (y) doesn't match connector name in the URL (x)")),
        ("POST", "/connectors", json!({"name": "x", "config": {"connector.class": "FileStreamSink", "file": "/tmp/x", "topics": "t", "tasks.max": "0"}}).to_string(), 400,
         Some("Connector configuration is invalid and contains the following 1 error(s):\nInvalid value 0 for configuration tasks.max: Value must be at least 1")),
        ("POST", "/connectors", json!({"name": "x", "config": {"connector.class": "FileStreamSink", "file": "/tmp/x", "topics": "t", "tasks.max": "two"}}).to_string(), 400,
         Some("Connector configuration is invalid and contains the following 1 error(s):\nInvalid value two for configuration tasks.max")),
        ("GET", "/connectors/nope", String::new(), 404, Some("Connector nope not found")),
        ("GET", "/connectors/nope/status", String::new(), 404, Some("No status found for connector nope")),
        ("PUT", "/connectors/nope/pause", String::new(), 404, Some("Unknown connector nope")),
        ("PATCH", "/connectors/nope/offsets", "{\"offsets\": []}".into(), 400,
         Some("Partitions / offsets need to be provided for an alter offsets request")),
        ("PUT", "/connector-plugins/FileStreamSource/config/validate", json!({"connector.class": "FileStreamSink"}).to_string(), 400,
         Some("Included connector type FileStreamSink does not match request type FileStreamSource")),
        ("GET", "/connector-plugins/NoSuchPlugin/config", String::new(), 404, Some("Unknown plugin NoSuchPlugin.")),
        ("PUT", "/admin/loggers/x", "{\"level\": \"LOUDEST\"}".into(), 404, Some("invalid log level 'LOUDEST'.")),
    ];
    for (method, path, body, status, message) in &cases {
        let body = (!body.is_empty()).then_some(body.as_str());
        let (code, answer) = w.call(method, path, body);
        assert_eq!(code, *status, "{method} {path} {body:?}: {answer}");
        assert_eq!(answer["error_code"], *status, "{answer}");
        let text = answer["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {answer}"));
        if let Some(m) = message {
            assert!(text.starts_with(m), "{method} {path}: {text}");
        }
    }
    // Offsets changed while the connector runs.
    w.send(
        "POST",
        "/connectors",
        &json!({"name": "sink", "config": sink_config(out, "t")}),
    );
    let (code, answer) = w.send(
        "PATCH",
        "/connectors/sink/offsets",
        &json!({"offsets": [{"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 1}}]}),
    );
    assert_eq!(code, 400);
    assert_eq!(answer, error(400, "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/sink/stop' endpoint"));
    assert_eq!(
        w.call("GET", "/connectors", None).1,
        json!(["sink"]),
        "no bad request created anything"
    );
    assert!(
        !s.read_log(w.log).contains("REST request failed"),
        "no 500 was answered"
    );
    w.stop();
}

#[test]
fn fifty_parallel_creates_updates_and_deletes_leave_a_state_every_get_agrees_with() {
    let s = Scratch::new();
    let w = start(&s, "", &[]);
    let out = s.path("out.txt").to_str().unwrap().to_string();
    std::thread::scope(|scope| {
        for i in 0..50 {
            let w = &w;
            let out = out.clone();
            scope.spawn(move || {
                let name = format!("c{}", i % 8);
                let mut config = sink_config(&out, &format!("topic{}", i % 3));
                config["name"] = json!(name);
                let (code, body) = match i % 5 {
                    0 | 1 => w.send(
                        "POST",
                        "/connectors",
                        &json!({"name": name, "config": config}),
                    ),
                    2 | 3 => w.send("PUT", &format!("/connectors/{name}/config"), &config),
                    _ => w.call("DELETE", &format!("/connectors/{name}"), None),
                };
                assert!([200, 201, 204, 404, 409].contains(&code), "{code} {body}");
            });
        }
    });
    let (_, names) = w.call("GET", "/connectors", None);
    let names: Vec<String> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let (_, expanded) = w.call("GET", "/connectors?expand=info&expand=status", None);
    assert_eq!(
        expanded
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        names
    );
    for i in 0..8 {
        let name = format!("c{i}");
        let (code, info) = w.call("GET", &format!("/connectors/{name}"), None);
        let (status_code, status) = w.call("GET", &format!("/connectors/{name}/status"), None);
        if names.contains(&name) {
            assert_eq!(code, 200);
            assert_eq!(status_code, 200);
            assert_eq!(info, expanded[&name]["info"]);
            assert_eq!(status["name"], json!(name));
            assert_eq!(
                w.call("GET", &format!("/connectors/{name}/config"), None).1,
                info["config"]
            );
        } else {
            assert_eq!((code, status_code), (404, 404), "{name}: {info} {status}");
        }
    }
    w.stop();
}

#[test]
fn pause_resume_stop_and_restart_show_in_the_data() {
    let s = Scratch::new();
    let input = s.path("in.txt");
    let output = s.path("out.txt");
    append_numbered(&input, 0, 10);
    let w = start(&s, "", &[]);
    w.send(
        "POST",
        "/connectors",
        &json!({"name": "src", "config": source_config(input.to_str().unwrap(), "flow")}),
    );
    w.send(
        "POST",
        "/connectors",
        &json!({"name": "sink", "config": sink_config(output.to_str().unwrap(), "flow")}),
    );
    wait_until("10 lines", Duration::from_secs(60), || {
        line_count(&output) == 10
    });

    // A paused source does not read what is appended.
    w.call("PUT", "/connectors/src/pause", None);
    w.wait_state("src", "PAUSED", &["PAUSED"]);
    append_numbered(&input, 10, 20);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        line_count(&output),
        10,
        "nothing flows while the source is paused"
    );
    w.call("PUT", "/connectors/src/resume", None);
    wait_until("20 lines", Duration::from_secs(60), || {
        line_count(&output) == 20
    });

    // A paused sink does not write; resumed, it catches up.
    w.call("PUT", "/connectors/sink/pause", None);
    w.wait_state("sink", "PAUSED", &["PAUSED"]);
    append_numbered(&input, 20, 30);
    wait_until("the source read them", Duration::from_secs(60), || {
        w.call("GET", "/connectors/src/offsets", None).1["offsets"][0]["offset"]["position"]
            == json!(fs::metadata(&input).unwrap().len())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        line_count(&output),
        20,
        "nothing is written while the sink is paused"
    );
    w.call("PUT", "/connectors/sink/resume", None);
    wait_until("30 lines", Duration::from_secs(60), || {
        line_count(&output) == 30
    });

    // Stopped and resumed; restarted with its tasks.
    w.call("PUT", "/connectors/src/stop", None);
    w.wait_state("src", "STOPPED", &[]);
    append_numbered(&input, 30, 40);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        line_count(&output),
        30,
        "nothing flows while the source is stopped"
    );
    w.call("PUT", "/connectors/src/resume", None);
    wait_until("40 lines", Duration::from_secs(60), || {
        line_count(&output) == 40
    });
    w.call("POST", "/connectors/sink/restart?includeTasks=true", None);
    w.wait_state("sink", "RUNNING", &["RUNNING"]);
    append_numbered(&input, 40, 50);
    wait_until("50 lines", Duration::from_secs(60), || {
        line_count(&output) == 50
    });
    assert_eq!(
        lines(&output),
        numbered(0, 50),
        "in order, nothing lost or repeated"
    );
    w.stop();
}

#[test]
fn the_connectors_client_drives_a_worker() {
    let s = Scratch::new();
    let w = start(&s, "", &[]);
    let input = s.path("in.txt");
    append_numbered(&input, 0, 3);
    let source = s.write(
        "src.properties",
        &format!(
            "name=src\nconnector.class=FileStreamSource\nfile={}\ntopic=cli\n",
            input.display()
        ),
    );
    let sink = s.write(
        "sink.json",
        &format!(
            "{{\"name\": \"sink\", \"config\": {{\"connector.class\": \"FileStreamSink\", \"file\": \"{}\", \"topics\": \"cli\"}}}}",
            s.path("out.txt").display()
        ),
    );
    let bad = s.write(
        "bad.properties",
        "name=bad\nconnector.class=FileStreamSink\ntasks.max=0\n",
    );
    let run = |args: &[&str]| {
        let mut all = vec!["connectors", "--url", w.url.as_str()];
        all.extend_from_slice(args);
        let out = s.run(&all);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text, _) = run(&["create", source.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert_eq!(text.trim(), "Created source connector src.");
    assert_eq!(run(&["create", sink.to_str().unwrap()]).0, Some(0));
    wait_until("3 lines", Duration::from_secs(60), || {
        line_count(&s.path("out.txt")) == 3
    });
    w.wait_state("src", "RUNNING", &["RUNNING"]);
    let (_, text, _) = run(&["list"]);
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[0].starts_with("NAME"), "{text}");
    assert!(
        rows.iter().any(|r| r.starts_with("src")
            && r.contains("source")
            && r.contains("RUNNING")
            && r.contains("1/1")),
        "{text}"
    );
    let (_, text, _) = run(&["list", "--json"]);
    assert_eq!(
        serde_json::from_str::<Json>(&text).unwrap(),
        json!(["sink", "src"])
    );
    let (_, text, _) = run(&["list", "--expand", "status", "--json"]);
    assert_eq!(
        serde_json::from_str::<Json>(&text).unwrap()["src"]["status"]["connector"]["state"],
        "RUNNING"
    );
    let (_, text, _) = run(&["status", "src"]);
    assert!(
        text.starts_with("Connector src (source): RUNNING on "),
        "{text}"
    );
    let (_, text, _) = run(&["config", "src"]);
    assert!(
        text.contains("connector.class") && text.contains("FileStreamSource"),
        "{text}"
    );
    let (_, text, _) = run(&["get", "src", "--json"]);
    assert_eq!(
        serde_json::from_str::<Json>(&text).unwrap()["type"],
        "source"
    );
    assert_eq!(run(&["pause", "src"]).1.trim(), "Pausing connector src.");
    w.wait_state("src", "PAUSED", &["PAUSED"]);
    assert_eq!(run(&["resume", "src"]).1.trim(), "Resuming connector src.");
    w.wait_state("src", "RUNNING", &["RUNNING"]);
    let (_, text, _) = run(&["restart", "src", "--include-tasks"]);
    assert!(text.contains("RESTARTING"), "{text}");
    assert_eq!(
        run(&["restart", "src", "--task", "0"]).1.trim(),
        "Restarted task 0 of connector src."
    );
    assert_eq!(
        run(&["update", source.to_str().unwrap()]).1.trim(),
        "Updated connector src; its tasks restart with the new config."
    );
    assert_eq!(run(&["stop", "src"]).1.trim(), "Stopped connector src.");
    let (_, text, _) = run(&["offsets", "get", "src"]);
    assert!(
        text.contains("PARTITION") && text.contains("\"position\""),
        "{text}"
    );
    let offsets = s.write(
        "offsets.json",
        &json!({"offsets": [{"partition": {"filename": input.to_str().unwrap()}, "offset": {"position": 0}}]}).to_string(),
    );
    assert_eq!(
        run(&["offsets", "alter", "src", offsets.to_str().unwrap()])
            .1
            .trim(),
        "The offsets for this connector have been altered successfully"
    );
    assert_eq!(
        run(&["offsets", "reset", "src"]).1.trim(),
        "The offsets for this connector have been reset successfully"
    );
    let (code, text, _) = run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains(
            "tasks.max: Invalid value 0 for configuration tasks.max: Value must be at least 1"
        ),
        "{text}"
    );
    assert_eq!(run(&["validate", source.to_str().unwrap()]).0, Some(0));
    let (code, _, err) = run(&["create", bad.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("Connector configuration is invalid") && err.contains("(HTTP 400)"),
        "{err}"
    );
    assert_eq!(run(&["delete", "src"]).1.trim(), "Deleted connector src.");
    let (code, _, err) = run(&["status", "src"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("No status found for connector src (HTTP 404)"),
        "{err}"
    );
    w.stop();

    // No worker: a clear error.
    let out = s.run(&["connectors", "--url", "http://127.0.0.1:1", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cannot reach the worker at http://127.0.0.1:1"));
}

#[test]
fn a_busy_port_stops_startup_with_a_clear_error() {
    let s = Scratch::new();
    let w = start(&s, "", &[]);
    let port = w.url.rsplit(':').next().unwrap().to_string();
    let other = Scratch::new();
    let worker = other.worker(&format!("listeners=http://127.0.0.1:{port}"));
    let out = other.run(&["standalone", worker.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot listen on 127.0.0.1:{port} for the REST API"
        )),
        "{err}"
    );
    w.stop();
}

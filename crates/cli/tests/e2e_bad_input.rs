//! End to end: bad configs and bad data give clear errors naming the key, file, or the
//! record's topic/partition/offset and stage; config errors stop before anything starts.

mod common;

use std::time::Duration;

use common::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `sluice standalone` expecting a config error before anything starts.
fn expect_config_error(s: &Scratch, connector_file: &str, needles: &[&str]) {
    let worker = s.worker("").display().to_string();
    let out = s.run(&["standalone", &worker, connector_file]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit code 2, stderr:\n{err}"
    );
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "panic:\n{err}");
    assert!(
        !s.path("data").join("topics").exists(),
        "the worker started something despite the config error"
    );
}

#[test]
fn missing_topic_names_the_key() {
    let s = Scratch::new();
    let input = s.write("in.txt", "a\n");
    let c = s.write(
        "c.properties",
        &format!(
            "name=x\nconnector.class=FileStreamSource\nfile={}\n",
            input.display()
        ),
    );
    expect_config_error(
        &s,
        c.to_str().unwrap(),
        &["topic", "Missing required configuration"],
    );
}

#[test]
fn missing_file_names_the_key() {
    let s = Scratch::new();
    let c = s.write(
        "c.properties",
        "name=x\nconnector.class=FileStreamSource\ntopic=t\n",
    );
    expect_config_error(&s, c.to_str().unwrap(), &["file"]);
}

#[test]
fn unknown_connector_class_lists_the_available_ones() {
    let s = Scratch::new();
    let c = s.write(
        "c.properties",
        "name=x\nconnector.class=NoSuchConnector\ntopic=t\n",
    );
    expect_config_error(
        &s,
        c.to_str().unwrap(),
        &[
            "connector.class",
            "NoSuchConnector",
            "FileStreamSourceConnector",
        ],
    );
}

#[test]
fn sink_without_topics_names_both_keys() {
    let s = Scratch::new();
    let c = s.write(
        "c.json",
        r#"{"name":"x","config":{"connector.class":"FileStreamSink","file":"out.txt"}}"#,
    );
    expect_config_error(
        &s,
        c.to_str().unwrap(),
        &[
            "topics",
            "topics.regex",
            "Must configure one of topics or topics.regex",
        ],
    );
}

#[test]
fn broken_properties_syntax_names_the_line() {
    let s = Scratch::new();
    let c = s.write(
        "c.properties",
        "name=x\nconnector.class=FileStreamSource\ntopic=\\u12G4\n",
    );
    expect_config_error(&s, c.to_str().unwrap(), &["c.properties", "line 3"]);
}

#[test]
fn broken_json_names_the_file() {
    let s = Scratch::new();
    let c = s.write(
        "c.json",
        r#"{"name":"x","config":{"connector.class":"FileStreamSink",}"#,
    );
    expect_config_error(&s, c.to_str().unwrap(), &["c.json"]);
}

#[test]
fn unreadable_source_file_fails_the_task_with_the_file_name() {
    let s = Scratch::new();
    // A directory cannot be read as a file, even by root.
    let dir = s.path("not-a-file");
    std::fs::create_dir(&dir).unwrap();
    let worker = s.worker("").display().to_string();
    let c = s.write(
        "c.properties",
        &format!(
            "name=x\nconnector.class=FileStreamSource\nfile={}\ntopic=t\n\
             errors.restart.max.attempts=2\nerrors.restart.backoff.initial.ms=50\n",
            dir.display()
        ),
    );
    let mut p = s.spawn(&["standalone", &worker, c.to_str().unwrap()], "run.log");
    // An I/O error may be temporary: the task is restarted (twice here), then FAILED.
    wait_until(
        "the task failure to be logged",
        Duration::from_secs(60),
        || {
            let log = s.read_log("run.log");
            log.contains("FAILED") && log.contains("not-a-file")
        },
    );
    assert!(s
        .read_log("run.log")
        .contains("restarting it automatically"));
    assert!(
        p.try_wait().unwrap().is_none(),
        "worker exited; a failed task must not stop it"
    );
    signal(&p, "TERM");
    let status = wait_exit(&mut p, Duration::from_secs(30));
    assert!(status.success());
    assert!(!s.read_log("run.log").contains("panicked"));
}

#[test]
fn plain_text_under_json_converter_with_schemas_names_topic_partition_offset_and_stage() {
    let s = Scratch::new();
    let worker = s.worker("").display().to_string();
    let data_dir = s.path("data").display().to_string();
    let out = s.run_with_stdin(
        &["topics", "produce", "events", "--data-dir", &data_dir],
        "{\"schema\":null,\"payload\":\"ok\"}\nnot json at all\n",
    );
    assert!(out.status.success(), "produce failed: {}", stderr(&out));
    let sink = s.write(
        "sink.properties",
        &format!(
            "name=json-sink\nconnector.class=FileStreamSink\nfile={}\ntopics=events\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter.schemas.enable=true\n",
            s.path("out.txt").display()
        ),
    );
    let mut p = s.spawn(&["standalone", &worker, sink.to_str().unwrap()], "run.log");
    wait_until(
        "the task failure to be logged",
        Duration::from_secs(60),
        || s.read_log("run.log").contains("FAILED"),
    );
    let log = s.read_log("run.log");
    for needle in ["events", "partition 0", "offset 1", "VALUE_CONVERTER"] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    signal(&p, "TERM");
    let status = wait_exit(&mut p, Duration::from_secs(30));
    assert!(status.success());
    assert!(!log.contains("panicked"));
}

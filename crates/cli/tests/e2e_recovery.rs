//! End to end: failures and recovery with the real binary. A sink whose target goes away
//! while records flow (its directory missing, its disk full) is restarted automatically
//! with growing waits and catches up once the target is back; a record that fails with
//! `errors.tolerance=none` fails the task at once, and moving the offsets past it (sink) or
//! fixing the input (source) and restarting resumes without loss. Each test ends by
//! counting records.

mod common;
mod rest_support;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use rest_support::Worker;
use serde_json::{json, Value as Json};

const LIMIT: Duration = Duration::from_secs(90);

fn task_status(w: &Worker, name: &str) -> Json {
    let (_, status) = w.call("GET", &format!("/connectors/{name}/status"), None);
    status["tasks"][0].clone()
}

/// Waits until the task shows RESTARTING after at least `restarts` restarts, and returns
/// that status.
fn wait_restarting(w: &Worker, name: &str, restarts: u64) -> Json {
    let mut last = Json::Null;
    wait_until(
        &format!("{name} to restart {restarts} times"),
        LIMIT,
        || {
            last = task_status(w, name);
            last["state"] == "RESTARTING" && last["restarts"].as_u64().unwrap_or(0) >= restarts
        },
    );
    last
}

/// Checks every expected line arrived, and returns how many arrived twice (at-least-once).
fn count(path: &std::path::Path, expected: &[String]) -> usize {
    let got = lines(path);
    let distinct: BTreeSet<&String> = got.iter().collect();
    let wanted: BTreeSet<&String> = expected.iter().collect();
    let missing: Vec<&&String> = wanted.difference(&distinct).take(5).collect();
    assert!(
        missing.is_empty(),
        "{}: missing {missing:?}",
        path.display()
    );
    assert_eq!(
        distinct.len(),
        wanted.len(),
        "{}: unexpected lines",
        path.display()
    );
    let duplicates = got.len() - distinct.len();
    println!(
        "{}: {} records expected, {} lines, {duplicates} duplicates",
        path.display(),
        expected.len(),
        got.len()
    );
    duplicates
}

fn metric(w: &Worker, name: &str, connector: &str) -> f64 {
    let (code, body) = w.call("GET", "/metrics", None);
    assert_eq!(code, 200);
    let text = body.as_str().unwrap_or_default().to_string();
    let prefix = format!("{name}{{connector=\"{connector}\",task=\"0\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in /metrics:\n{text}"))
}

#[test]
fn sinks_whose_target_goes_away_while_records_flow_restart_until_it_is_back() {
    let s = Scratch::new();
    // Worker-level restart settings: short waits, no limit.
    let w = rest_support::start(
        &s,
        "errors.restart.backoff.initial.ms=200\nerrors.restart.backoff.max.ms=1000\n\
         errors.restart.max.attempts=-1",
        &[],
    );
    let input = s.path("in.txt");
    append_numbered(&input, 0, 500);
    // A directory that does not exist yet, and a disk that is full (fails even for root).
    let missing = s.path("later").join("out.txt");
    let full = s.path("full.txt");
    std::os::unix::fs::symlink("/dev/full", &full).unwrap();
    for (name, config) in [
        (
            "src",
            json!({"connector.class": "FileStreamSource", "file": input, "topic": "lines"}),
        ),
        (
            "missing",
            json!({"connector.class": "FileStreamSink", "file": missing, "topics": "lines"}),
        ),
        (
            "full",
            json!({"connector.class": "FileStreamSink", "file": full, "topics": "lines"}),
        ),
    ] {
        let (code, body) = w.send(
            "POST",
            "/connectors",
            &json!({"name": name, "config": config}),
        );
        assert_eq!(code, 201, "{body}");
    }

    // Records keep flowing while both targets are down.
    let mut next = 500;
    let mut flow = |upto: usize| {
        append_numbered(&input, next, upto);
        next = upto;
    };
    flow(1000);
    let status = wait_restarting(&w, "missing", 2);
    let trace = status["trace"].as_str().unwrap();
    assert!(trace.contains("is restarted automatically"), "{trace}");
    assert!(trace.contains("Couldn't find or create file"), "{trace}");
    flow(1500);
    let status = wait_restarting(&w, "full", 3);
    let trace = status["trace"].as_str().unwrap();
    assert!(trace.contains("No space left on device"), "{trace}");
    assert!(metric(&w, "sluice_connect_task_auto_restarts_total", "full") >= 3.0);
    assert!(!full.metadata().unwrap().is_file());

    // The targets come back: the next restart opens them and the tasks catch up.
    std::fs::create_dir(s.path("later")).unwrap();
    std::fs::remove_file(&full).unwrap();
    flow(2000);
    let expected = numbered(0, 2000);
    wait_until("every record in both files", LIMIT, || {
        let distinct = |p: &std::path::Path| lines(p).into_iter().collect::<BTreeSet<_>>().len();
        distinct(&missing) == expected.len() && distinct(&full) == expected.len()
    });
    for name in ["missing", "full"] {
        let status = task_status(&w, name);
        assert_eq!(status["state"], "RUNNING", "{status}");
        assert!(status.get("trace").is_none(), "{status}");
        assert!(status["restarts"].as_u64().unwrap() >= 2, "{status}");
    }
    // `sluice connectors status` shows the restart count the REST status carries.
    let out = s.run(&["connectors", "--url", w.url.as_str(), "status", "full"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let restarts = task_status(&w, "full")["restarts"].as_u64().unwrap();
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("0 "))
        .unwrap_or_else(|| panic!("no row for task 0:\n{text}"))
        .split_whitespace()
        .collect();
    assert!(text.contains("RESTARTS"), "{text}");
    assert_eq!(row[1], "RUNNING", "{text}");
    assert_eq!(row[3], restarts.to_string(), "{text}");
    w.stop();
    count(&missing, &expected);
    count(&full, &expected);
    assert!(s
        .read_log("worker.log")
        .contains("restarting it automatically"));
}

fn json_lines(range: std::ops::Range<usize>) -> String {
    range.map(|i| format!("\"good-{i}\"\n")).collect()
}

#[test]
fn tolerance_none_fails_on_a_poison_record_and_moving_the_offsets_past_it_loses_nothing() {
    let s = Scratch::new();
    let w = rest_support::start(&s, "errors.restart.backoff.initial.ms=100", &[]);
    let input = s.path("in.txt");
    std::fs::write(&input, json_lines(0..100)).unwrap();
    let output = s.path("out.txt");
    let source = json!({"connector.class": "FileStreamSource", "file": input, "topic": "events"});
    let sink = json!({
        "connector.class": "FileStreamSink", "file": output, "topics": "events",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    });
    for (name, config) in [("src", source), ("sink", sink)] {
        let (code, body) = w.send(
            "POST",
            "/connectors",
            &json!({"name": name, "config": config}),
        );
        assert_eq!(code, 201, "{body}");
    }
    let committed = json!({"offsets": [{"partition": {"kafka_topic": "events", "kafka_partition": 0}, "offset": {"kafka_offset": 100}}]});
    wait_until("the first 100 records committed", LIMIT, || {
        w.call("GET", "/connectors/sink/offsets", None).1 == committed
    });

    // Record 100 is not JSON: the task fails at once (a restart cannot help).
    let mut more = String::from("{not json\n");
    more.push_str(&json_lines(100..200));
    std::io::Write::write_all(
        &mut std::fs::OpenOptions::new()
            .append(true)
            .open(&input)
            .unwrap(),
        more.as_bytes(),
    )
    .unwrap();
    let status = w.wait_state("sink", "RUNNING", &["FAILED"]);
    let trace = status["tasks"][0]["trace"].as_str().unwrap();
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    assert!(trace.contains("offset 100"), "{trace}");
    assert!(status["tasks"][0].get("restarts").is_none(), "{status}");

    // Stop, move the offsets past the record, resume.
    assert_eq!(w.call("PUT", "/connectors/sink/stop", None).0, 204);
    w.wait_state("sink", "STOPPED", &[]);
    let past = json!({"offsets": [{"partition": {"kafka_topic": "events", "kafka_partition": 0}, "offset": {"kafka_offset": 101}}]});
    let (code, body) = w.send("PATCH", "/connectors/sink/offsets", &past);
    assert_eq!(code, 200, "{body}");
    assert_eq!(w.call("PUT", "/connectors/sink/resume", None).0, 202);
    w.wait_state("sink", "RUNNING", &["RUNNING"]);
    let expected: Vec<String> = (0..200).map(|i| format!("good-{i}")).collect();
    wait_until("every good record", LIMIT, || line_count(&output) >= 200);
    w.stop();
    assert_eq!(
        count(&output, &expected),
        0,
        "every good record arrives once"
    );
    assert_eq!(lines(&output), expected);
}

#[test]
fn a_source_that_fails_on_bad_input_resumes_without_loss_once_the_input_is_fixed() {
    let s = Scratch::new();
    let w = rest_support::start(&s, "", &[]);
    let input = s.path("nums.txt");
    let text = |poison: &str| -> String {
        (100..200)
            .map(|i| {
                if i == 150 {
                    format!("{poison}\n")
                } else {
                    format!("{i}\n")
                }
            })
            .collect()
    };
    std::fs::write(&input, text("abc")).unwrap();
    let output = s.path("nums-out.txt");
    let source = json!({
        "connector.class": "FileStreamSource", "file": input, "topic": "nums",
        "transforms": "cast",
        "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value",
        "transforms.cast.spec": "int32",
    });
    let sink = json!({"connector.class": "FileStreamSink", "file": output, "topics": "nums"});
    for (name, config) in [("nums", source), ("nums-out", sink)] {
        let (code, body) = w.send(
            "POST",
            "/connectors",
            &json!({"name": name, "config": config}),
        );
        assert_eq!(code, 201, "{body}");
    }
    let status = w.wait_state("nums", "RUNNING", &["FAILED"]);
    let trace = status["tasks"][0]["trace"].as_str().unwrap();
    assert!(trace.contains("TRANSFORMATION"), "{trace}");
    assert!(trace.contains("abc"), "{trace}");

    // Fix the line in place (same length, so the stored file position still fits) and
    // restart the task.
    std::fs::write(&input, text("150")).unwrap();
    assert_eq!(
        w.call("POST", "/connectors/nums/tasks/0/restart", None).0,
        204
    );
    w.wait_state("nums", "RUNNING", &["RUNNING"]);
    let expected: Vec<String> = (100..200).map(|i| i.to_string()).collect();
    wait_until("every number", LIMIT, || {
        lines(&output).into_iter().collect::<BTreeSet<_>>().len() == expected.len()
    });
    w.stop();
    count(&output, &expected);
}

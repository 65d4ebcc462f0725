//! End to end: `sluice dlq inspect` shows dead-letter records with their error context, and
//! `sluice dlq replay` sends them back exactly once, resuming after an interrupted run.

mod common;

use common::*;

const DATA: &str = "data";

fn produce_dead_letters(s: &Scratch, lines: &str, stage: &str) {
    let out = s.run_with_stdin(
        &[
            "topics",
            "produce",
            "orders-dlq",
            "--data-dir",
            DATA,
            "--key-separator",
            ":",
            "--header",
            "__connect.errors.topic=orders",
            "--header",
            "__connect.errors.partition=0",
            "--header",
            "__connect.errors.offset=17",
            "--header",
            &format!("__connect.errors.stage={stage}"),
            "--header",
            "__connect.errors.exception.message=Converting byte[] to Kafka Connect data failed",
            "--header",
            "app=kept",
        ],
        lines,
    );
    assert!(
        out.status.success(),
        "produce failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn values_of(s: &Scratch, topic: &str) -> Vec<String> {
    let out = s.run(&["topics", "consume", topic, "--data-dir", DATA]);
    assert!(
        out.status.success(),
        "consume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            assert!(
                !line.contains("__connect.errors."),
                "error headers must not be replayed: {line}"
            );
            assert!(line.contains("app=kept"), "other headers are kept: {line}");
            let value = line.split(" value=").nth(1).expect("value field");
            value.split(' ').next().unwrap().to_string()
        })
        .collect()
}

fn replay(s: &Scratch, args: &[&str]) -> String {
    let mut all = vec!["dlq", "--data-dir", DATA, "replay", "--from", "orders-dlq"];
    all.extend_from_slice(args);
    let out = s.run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "replay failed: {stderr}");
    stderr
}

#[test]
fn inspect_then_replay_exactly_once_with_resume() {
    let s = Scratch::new();
    produce_dead_letters(&s, "k1:v1\nk2:v2\nk3:v3\nk4:v4\n", "VALUE_CONVERTER");
    produce_dead_letters(&s, "k5:v5\nk6:v6\n", "TASK_PUT");

    let out = s.run(&["dlq", "--data-dir", DATA, "inspect", "orders-dlq"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.matches("failed in:  VALUE_CONVERTER").count(),
        4,
        "{text}"
    );
    assert_eq!(text.matches("failed in:  TASK_PUT").count(), 2, "{text}");
    assert!(text.contains("came from:  orders[0]@17"), "{text}");
    assert!(text.contains("Converting byte[] to Kafka Connect data failed"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 dead-letter record(s)"));

    // An interrupted replay: only part of the matching records is sent.
    let first = replay(
        &s,
        &["--filter", "stage=VALUE_CONVERTER", "--max-messages", "3"],
    );
    assert!(first.contains("Replayed 3 record(s)"), "{first}");
    assert_eq!(values_of(&s, "orders"), ["v1", "v2", "v3"]);

    // Running it again continues; running it a third time sends nothing.
    let second = replay(&s, &["--filter", "stage=VALUE_CONVERTER"]);
    assert!(second.contains("Resuming replay"), "{second}");
    assert!(second.contains("Replayed 1 record(s)"), "{second}");
    let third = replay(&s, &["--filter", "stage=VALUE_CONVERTER"]);
    assert!(third.contains("Replayed 0 record(s)"), "{third}");
    assert_eq!(values_of(&s, "orders"), ["v1", "v2", "v3", "v4"]);

    // Another filter keeps its own progress; --to sends elsewhere.
    let other = replay(&s, &["--filter", "stage=TASK_PUT", "--to", "orders-retry"]);
    assert!(
        other.contains("Replayed 2 record(s) to 'orders-retry'"),
        "{other}"
    );
    assert!(other.contains("passed over 4"), "{other}");
    assert_eq!(values_of(&s, "orders-retry"), ["v5", "v6"]);
    assert_eq!(values_of(&s, "orders").len(), 4);
}

#[test]
fn bad_filter_is_a_clear_error() {
    let s = Scratch::new();
    let out = s.run(&[
        "dlq",
        "--data-dir",
        DATA,
        "inspect",
        "orders-dlq",
        "--filter",
        "colour=red",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown filter field 'colour'"), "{stderr}");
}

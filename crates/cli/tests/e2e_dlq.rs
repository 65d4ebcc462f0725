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

/// Records `Cast$Value` rejects, through the real binary with `errors.tolerance=all`: the
/// good ones reach the file, the bad ones the dead-letter queue with Kafka's context headers,
/// and the counts add up.
#[test]
fn records_a_transformation_rejects_reach_the_dead_letter_queue_and_the_rest_arrive() {
    let s = Scratch::new();
    let input = s.path("in.txt");
    let bad = |i: usize| i.is_multiple_of(10);
    let text: String = (1..=60)
        .map(|i| {
            if bad(i) {
                format!("n/a-{i}\n")
            } else {
                format!("{i}\n")
            }
        })
        .collect();
    std::fs::write(&input, text).unwrap();
    let output = s.path("out.txt");
    let worker = s.worker("");
    let source = s.write(
        "source.properties",
        &format!(
            "name=src\nconnector.class=FileStreamSource\nfile={}\ntopic=raw\n",
            input.display()
        ),
    );
    let sink = s.write(
        "sink.properties",
        &format!(
            "name=numbers\nconnector.class=FileStreamSink\nfile={}\ntopics=raw\n\
             transforms=cast\n\
             transforms.cast.type=org.apache.kafka.connect.transforms.Cast$Value\n\
             transforms.cast.spec=int32\n\
             errors.tolerance=all\nerrors.log.enable=true\n\
             errors.deadletterqueue.topic.name=raw-dlq\n\
             errors.deadletterqueue.topic.replication.factor=1\n\
             errors.deadletterqueue.context.headers.enable=true\n",
            output.display()
        ),
    );
    let mut p = s.spawn(
        &[
            "standalone",
            worker.to_str().unwrap(),
            source.to_str().unwrap(),
            sink.to_str().unwrap(),
        ],
        "worker.log",
    );
    let good: Vec<String> = (1..=60)
        .filter(|i| !bad(*i))
        .map(|i| i.to_string())
        .collect();
    wait_until(
        "the good records",
        std::time::Duration::from_secs(60),
        || line_count(&output) >= good.len(),
    );
    // Every bad record is logged (errors.log.enable) once it was handled.
    wait_until(
        "the failures logged",
        std::time::Duration::from_secs(60),
        || {
            s.read_log("worker.log")
                .matches("Error encountered in task numbers-0")
                .count()
                >= 6
        },
    );
    signal(&p, "TERM");
    assert!(wait_exit(&mut p, std::time::Duration::from_secs(60)).success());
    assert_eq!(lines(&output), good);

    let out = s.run(&["dlq", "--data-dir", DATA, "inspect", "raw-dlq"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.matches("failed in:  TRANSFORMATION (org.apache.kafka.connect.transforms.Cast$Value)")
            .count(),
        6,
        "{text}"
    );
    for i in (1..=60).filter(|i| bad(*i)) {
        assert!(text.contains(&format!("value:      n/a-{i}\n")), "{text}");
        assert!(
            text.contains(&format!("came from:  raw[0]@{}", i - 1)),
            "{text}"
        );
        // The headers carry what Cast raised, as Kafka's do; the alias is not part of it.
        assert!(
            text.contains(&format!(
                "error:      org.apache.kafka.connect.errors.DataException: \
                 Value (n/a-{i}) was out of range for requested data type\n"
            )),
            "{text}"
        );
    }
    assert!(text.contains("connector:  numbers, task 0"), "{text}");
    assert!(!text.contains("transformation 'cast'"), "{text}");
    let out = s.run(&["topics", "consume", "raw-dlq", "--data-dir", DATA]);
    assert!(out.status.success());
    let raw = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        raw.matches(
            "__connect.errors.exception.stacktrace=org.apache.kafka.connect.errors.DataException: \
             Value (n/a-"
        )
        .count(),
        6,
        "{raw}"
    );
    assert!(!raw.contains("transformation 'cast'"), "{raw}");
    // The error log line's trace still names the alias.
    let log = s.read_log("worker.log");
    assert!(
        log.contains(
            "transformation 'cast' (org.apache.kafka.connect.transforms.Cast$Value) failed: \
             Value (n/a-10) was out of range for requested data type"
        ),
        "{log}"
    );
    let dead = text.matches("failed in:").count();
    println!(
        "{} records in, {} delivered, {dead} in the dead-letter queue",
        60,
        good.len()
    );
    assert_eq!(good.len() + dead, 60);
}

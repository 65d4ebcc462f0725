//! The `sluice` binary end to end: config errors, topics commands, and a standalone worker
//! stopped by SIGTERM.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = sluice()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn worker_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("worker.properties");
    std::fs::write(
        &path,
        format!(
            "key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=StringConverter\n\
             offset.storage.file.filename={}\n\
             offset.flush.interval.ms=100\n\
             listeners=http://127.0.0.1:0\n\
             embedded.log.dir={}\n",
            dir.join("offsets.dat").display(),
            dir.join("data").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn config_errors_are_listed_and_exit_2_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let worker = worker_file(dir.path());
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"name":"b","config":{"connector.class":"FileStreamSink","tasks.max":"zero","topics":"a","topics.regex":"b"}}"#,
    )
    .unwrap();
    let out = run(
        &[
            "standalone",
            worker.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("tasks.max: Invalid value zero"), "{err}");
    assert!(
        err.contains("topics: topics and topics.regex are mutually exclusive"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "the log must not be opened"
    );
}

#[test]
fn topics_produce_then_consume() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let out = run(
        &[
            "topics",
            "--data-dir",
            d,
            "create",
            "t",
            "--partitions",
            "2",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &[
            "topics",
            "--data-dir",
            d,
            "produce",
            "t",
            "--key-separator",
            ":",
            "--partition",
            "1",
            "--header",
            "h=v",
        ],
        Some(b"k1:one\nk2:tw\xffo\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Produced 2 record(s)"));
    let out = run(&["topics", "--data-dir", d, "consume", "t"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("partition=1 offset=0 timestamp="),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with("key=k1 value=one headers=[h=v]"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("value=tw\\xffo"), "{}", lines[1]);
    let out = run(
        &[
            "topics",
            "--data-dir",
            d,
            "consume",
            "t",
            "--format",
            "json",
            "--max-messages",
            "1",
        ],
        None,
    );
    let json: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(json["offset"], 0);
    assert_eq!(json["key"], "k1");
    assert_eq!(json["headers"][0]["value"], "v");
    let out = run(&["topics", "--data-dir", d, "describe", "t"], None);
    assert!(text(&out.stdout).contains("partition 1  earliest offset 0  latest offset 2"));
    let out = run(&["topics", "--data-dir", d, "consume", "missing"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("topic 'missing' does not exist"));
}

#[test]
fn standalone_copies_a_file_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let worker = worker_file(dir.path());
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let lines: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&input, &lines).unwrap();
    let source = dir.path().join("source.properties");
    std::fs::write(
        &source,
        format!(
            "name=in\nconnector.class=FileStreamSource\nfile={}\ntopic=lines\n",
            input.display()
        ),
    )
    .unwrap();
    let sink = dir.path().join("sink.json");
    std::fs::write(
        &sink,
        format!(
            r#"{{"name":"out","config":{{"connector.class":"FileStreamSink","file":"{}","topics":"lines"}}}}"#,
            output.display()
        ),
    )
    .unwrap();
    let child = sluice()
        .args([
            "standalone",
            worker.to_str().unwrap(),
            source.to_str().unwrap(),
            sink.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read(&output).map(|b| b.len()).unwrap_or(0) < lines.len() {
        assert!(
            Instant::now() < deadline,
            "the sink did not write everything"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("Stopping"), "{err}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), lines);
    // The offsets file holds the source position after the last line.
    let offsets = std::fs::read(dir.path().join("offsets.dat")).unwrap();
    let needle = format!("{{\"position\":{}}}", lines.len());
    assert!(
        offsets
            .windows(needle.len())
            .any(|w| w == needle.as_bytes()),
        "offsets file lacks {needle}"
    );
}

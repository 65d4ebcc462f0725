//! End to end: FileStreamSource -> embedded log topic -> FileStreamSink with the real binary.

mod common;

use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(180);

fn connectors(s: &Scratch, input: &std::path::Path, output: &std::path::Path) -> (String, String) {
    let source = s.write(
        "source.properties",
        &format!(
            "name=lines-in\nconnector.class=FileStreamSource\nfile={}\ntopic=lines\nbatch.size=5000\n",
            input.display()
        ),
    );
    let sink = s.write(
        "sink.json",
        &format!(
            r#"{{"name":"lines-out","config":{{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","topics":"lines","file":"{}"}}}}"#,
            output.display()
        ),
    );
    (source.display().to_string(), sink.display().to_string())
}

#[test]
fn copies_100k_lines_in_order_follows_appends_and_resumes_without_loss_or_repeats() {
    let s = Scratch::new();
    let input = s.path("in.txt");
    let output = s.path("out.txt");
    append_numbered(&input, 0, 100_000);
    let worker = s.worker("").display().to_string();
    let (source, sink) = connectors(&s, &input, &output);

    let mut worker_proc = s.spawn(&["standalone", &worker, &source, &sink], "run1.log");
    wait_until("100,000 lines in the output", LIMIT, || {
        line_count(&output) >= 100_000
    });
    assert_eq!(lines(&output), numbered(0, 100_000), "first copy differs");

    // Lines appended while it runs arrive too.
    append_numbered(&input, 100_000, 101_000);
    wait_until("appended lines in the output", LIMIT, || {
        line_count(&output) >= 101_000
    });

    signal(&worker_proc, "TERM");
    let status = wait_exit(&mut worker_proc, Duration::from_secs(60));
    assert!(
        status.success(),
        "graceful stop failed: {status:?}\n{}",
        s.read_log("run1.log")
    );

    // Lines written while the worker is down, then a restart: nothing lost, nothing repeated.
    append_numbered(&input, 101_000, 102_000);
    let mut worker_proc = s.spawn(&["standalone", &worker, &source, &sink], "run2.log");
    append_numbered(&input, 102_000, 102_500);
    wait_until("all 102,500 lines after restart", LIMIT, || {
        line_count(&output) >= 102_500
    });
    // Give a duplicate, if any, the chance to show up before comparing.
    std::thread::sleep(Duration::from_millis(1500));
    signal(&worker_proc, "TERM");
    let status = wait_exit(&mut worker_proc, Duration::from_secs(60));
    assert!(status.success(), "second graceful stop failed: {status:?}");
    assert_eq!(
        lines(&output),
        numbered(0, 102_500),
        "output after restart differs"
    );
}

#[test]
fn kill_9_during_large_copy_loses_nothing() {
    let s = Scratch::new();
    let input = s.path("in.txt");
    let output = s.path("out.txt");
    const N: usize = 1_000_000;
    append_numbered(&input, 0, N);
    let worker = s.worker("").display().to_string();
    let (source, sink) = connectors(&s, &input, &output);

    let mut first = s.spawn(&["standalone", &worker, &source, &sink], "run1.log");
    // Kill while the copy is under way.
    wait_until("the copy to be under way", LIMIT, || {
        line_count(&output) >= N / 10
    });
    first.kill().expect("kill -9");
    first.wait().expect("reap");
    let at_kill = line_count(&output);
    eprintln!("killed with {at_kill} of {N} lines copied");
    assert!(
        at_kill < N,
        "the copy finished before the kill; the test needs a larger input"
    );

    let mut second = s.spawn(&["standalone", &worker, &source, &sink], "run2.log");
    wait_until(
        "every input line to arrive after the restart",
        LIMIT,
        || {
            lines(&output)
                .last()
                .and_then(|l| number_of(l))
                .is_some_and(|n| n == N - 1)
        },
    );
    signal(&second, "TERM");
    let status = wait_exit(&mut second, Duration::from_secs(60));
    assert!(status.success(), "graceful stop failed: {status:?}");

    // The output must be runs of consecutive input lines where each run starts at or before
    // the end of the previous one: replays (duplicates) are allowed, gaps are not.
    let out = lines(&output);
    let mut expected_next = 0usize;
    let mut duplicates = 0usize;
    let mut replays = 0usize;
    for (i, line) in out.iter().enumerate() {
        let n = number_of(line).unwrap_or_else(|| panic!("unexpected output line {i}: {line:?}"));
        assert!(
            n <= expected_next,
            "gap at output line {i}: expected line {expected_next} (or an earlier replayed one), got {n}"
        );
        if n < expected_next {
            duplicates += 1;
            if i == 0 || number_of(&out[i - 1]).is_some_and(|p| p + 1 != n) {
                replays += 1;
            }
        } else {
            expected_next = n + 1;
        }
    }
    assert_eq!(expected_next, N, "not every input line arrived");
    eprintln!(
        "kill -9 test: {N} input lines, {} output lines, {duplicates} duplicates in {replays} replayed run(s)",
        out.len()
    );
    assert_eq!(out.len(), N + duplicates);
}

//! End to end: a segment with a torn or corrupt tail is repaired at the next open, keeping
//! every complete batch before the damage and reporting what was dropped.

mod common;

use std::fs;
use std::path::PathBuf;

use common::*;

fn produce(s: &Scratch, data_dir: &str, lines: &str) {
    let out = s.run_with_stdin(&["topics", "produce", "t", "--data-dir", data_dir], lines);
    assert!(
        out.status.success(),
        "produce failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn segment(s: &Scratch) -> PathBuf {
    let dir = s.path("data").join("topics").join("t").join("0");
    let mut logs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    logs.pop().expect("a segment file")
}

/// Values consumed from topic t, in offset order, with their offsets.
fn consume(s: &Scratch, data_dir: &str) -> Vec<(i64, String)> {
    let out = s.run(&[
        "topics",
        "consume",
        "t",
        "--data-dir",
        data_dir,
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "consume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            (
                v["offset"].as_i64().expect("offset"),
                v["value"].as_str().expect("value").to_string(),
            )
        })
        .collect()
}

fn batch_of(n: usize, tag: &str) -> String {
    (0..n).map(|i| format!("{tag}-{i}\n")).collect()
}

fn damaged_tail_is_dropped(damage: impl FnOnce(&PathBuf, u64, u64)) {
    let s = Scratch::new();
    let data_dir = s.path("data").display().to_string();
    produce(&s, &data_dir, &batch_of(10, "a"));
    produce(&s, &data_dir, &batch_of(10, "b"));
    let seg = segment(&s);
    let end_of_second = fs::metadata(&seg).unwrap().len();
    produce(&s, &data_dir, &batch_of(10, "c"));
    let end_of_third = fs::metadata(&seg).unwrap().len();
    damage(&seg, end_of_second, end_of_third);

    // Opening the log for writing repairs it and says what it dropped.
    let out = s.run_with_stdin(
        &["topics", "produce", "t", "--data-dir", &data_dir],
        "after\n",
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "produce after damage failed: {err}");
    assert!(
        err.contains("truncat") || err.contains("dropped"),
        "recovery was not reported:\n{err}"
    );
    assert!(!err.contains("panicked"));

    let records = consume(&s, &data_dir);
    let values: Vec<&str> = records.iter().map(|(_, v)| v.as_str()).collect();
    let mut expected: Vec<String> = (0..10).map(|i| format!("a-{i}")).collect();
    expected.extend((0..10).map(|i| format!("b-{i}")));
    assert!(values.len() >= 21, "complete batches were lost: {values:?}");
    assert_eq!(&values[..20], expected.as_slice());
    // Whatever survived of the damaged write is a prefix of it, then the new record.
    let kept_of_third = values.len() - 21;
    assert!(kept_of_third < 10, "the damaged batch was not dropped");
    for (i, v) in values[20..20 + kept_of_third].iter().enumerate() {
        assert_eq!(*v, format!("c-{i}"));
    }
    assert_eq!(values.last().copied(), Some("after"));
    // Offsets stay dense: the new record follows the last kept one.
    for (i, (offset, _)) in records.iter().enumerate() {
        assert_eq!(*offset, i as i64, "offsets are not dense: {records:?}");
    }
}

#[test]
fn torn_tail_is_truncated() {
    damaged_tail_is_dropped(|seg, _, end| {
        let f = fs::OpenOptions::new().write(true).open(seg).unwrap();
        f.set_len(end - 7).unwrap();
    });
}

#[test]
fn corrupt_tail_is_dropped() {
    damaged_tail_is_dropped(|seg, start, end| {
        let mut bytes = fs::read(seg).unwrap();
        let at = (start + (end - start) * 3 / 4) as usize;
        bytes[at] ^= 0xFF;
        fs::write(seg, bytes).unwrap();
    });
}

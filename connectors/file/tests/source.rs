//! FileStreamSourceTask against real files: terminators and positions, tailing, resume,
//! batching, missing and unreadable files.

mod common;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use common::{config, source_context, StoredOffsets};
use sluice_api::prelude::*;
use sluice_connector_file::{FileStreamSourceTask, FILENAME_FIELD, POSITION_FIELD};

fn append(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

fn partition(path: &Path) -> OffsetMap {
    OffsetMap::new().with(FILENAME_FIELD, path.to_str().unwrap())
}

fn position(record: &SourceRecord) -> i64 {
    match record.source_offset.get(POSITION_FIELD) {
        Some(Value::Int64(p)) => *p,
        other => panic!("bad offset {other:?}"),
    }
}

fn values(records: &[SourceRecord]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r.record.value.as_str().unwrap())
        .collect()
}

async fn start(
    path: &Path,
    extra: &[(&str, &str)],
    offsets: StoredOffsets,
) -> Result<FileStreamSourceTask> {
    let mut pairs = vec![("topic", "lines"), ("file", path.to_str().unwrap())];
    pairs.extend_from_slice(extra);
    let mut task = FileStreamSourceTask::new();
    task.start(&config(&pairs), source_context(offsets)).await?;
    Ok(task)
}

/// Kafka's own test sequence: a partial line waits for its terminator, every terminator
/// kind ends a line, and a trailing `\r` waits for the next byte.
#[tokio::test]
async fn terminators_and_positions_follow_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    File::create(&path).unwrap();
    let mut task = start(&path, &[], StoredOffsets::default()).await.unwrap();

    append(&path, b"partial line");
    assert!(task.poll().await.unwrap().is_empty());

    append(&path, b" finished\n");
    let records = task.poll().await.unwrap();
    assert_eq!(values(&records), ["partial line finished"]);
    let r = &records[0];
    assert_eq!(*r.source_partition, partition(&path));
    assert_eq!(
        r.source_offset,
        OffsetMap::new().with(POSITION_FIELD, 22i64)
    );
    assert_eq!(&*r.record.topic, "lines");
    assert_eq!(r.record.kafka_partition, None);
    assert_eq!(r.record.key, Value::Null);
    assert_eq!(r.record.key_schema, None);
    assert_eq!(
        r.record.value_schema.as_deref(),
        Some(&Schema::new(SchemaType::String))
    );
    assert!(r.record.timestamp.is_some_and(|t| t > 1_600_000_000_000));

    assert!(task.poll().await.unwrap().is_empty());

    append(&path, b"line1\rline2\r\nline3\nline4\n\r");
    let records = task.poll().await.unwrap();
    assert_eq!(values(&records), ["line1", "line2", "line3", "line4"]);
    let positions: Vec<i64> = records.iter().map(position).collect();
    assert_eq!(positions, [28, 35, 41, 47]);
    assert!(records
        .windows(2)
        .all(|w| std::sync::Arc::ptr_eq(&w[0].source_partition, &w[1].source_partition)));

    append(&path, b"subsequent text");
    let records = task.poll().await.unwrap();
    assert_eq!(values(&records), [""]);
    assert_eq!(position(&records[0]), 48);
    task.stop().await.unwrap();
}

#[tokio::test]
async fn resumes_after_the_committed_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    fs::write(&path, "a\nb\nc\n").unwrap();
    let offsets = StoredOffsets(vec![(
        partition(&path),
        OffsetMap::new().with(POSITION_FIELD, 2i64),
    )]);
    let mut task = start(&path, &[], offsets).await.unwrap();
    let records = task.poll().await.unwrap();
    assert_eq!(values(&records), ["b", "c"]);
    assert_eq!(records.iter().map(position).collect::<Vec<_>>(), [4, 6]);
}

#[tokio::test]
async fn offsets_of_other_files_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    fs::write(&path, "a\n").unwrap();
    let offsets = StoredOffsets(vec![(
        partition(&dir.path().join("other.txt")),
        OffsetMap::new().with(POSITION_FIELD, 2i64),
    )]);
    let mut task = start(&path, &[], offsets).await.unwrap();
    assert_eq!(values(&task.poll().await.unwrap()), ["a"]);
}

#[tokio::test]
async fn positions_count_bytes_and_bad_utf8_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    fs::write(&path, b"h\xc3\xa9llo\na\xffb\nend\n").unwrap();
    let mut task = start(&path, &[], StoredOffsets::default()).await.unwrap();
    let records = task.poll().await.unwrap();
    assert_eq!(values(&records), ["héllo", "a\u{FFFD}b", "end"]);
    assert_eq!(
        records.iter().map(position).collect::<Vec<_>>(),
        [7, 11, 15]
    );

    // Resuming at a byte position after a multi-byte character lands on the next line.
    let offsets = StoredOffsets(vec![(
        partition(&path),
        OffsetMap::new().with(POSITION_FIELD, 7i64),
    )]);
    let mut task = start(&path, &[], offsets).await.unwrap();
    assert_eq!(values(&task.poll().await.unwrap()), ["a\u{FFFD}b", "end"]);
}

#[tokio::test]
async fn batch_size_caps_each_poll() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    let text: String = (0..10).map(|i| format!("{i}\n")).collect();
    fs::write(&path, text).unwrap();
    let mut task = start(&path, &[("batch.size", "3")], StoredOffsets::default())
        .await
        .unwrap();
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    for _ in 0..4 {
        let records = task.poll().await.unwrap();
        sizes.push(records.len());
        all.extend(values(&records).into_iter().map(str::to_owned));
    }
    assert_eq!(sizes, [3, 3, 3, 1]);
    assert_eq!(all, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test]
async fn appended_lines_arrive_on_later_polls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    fs::write(&path, "first\n").unwrap();
    let mut task = start(&path, &[], StoredOffsets::default()).await.unwrap();
    assert_eq!(values(&task.poll().await.unwrap()), ["first"]);
    append(&path, b"second\nthird\n");
    assert_eq!(values(&task.poll().await.unwrap()), ["second", "third"]);
    append(&path, b"fourth\n");
    let records = task.poll().await.unwrap();
    assert_eq!(values(&records), ["fourth"]);
    assert_eq!(position(&records[0]), 26);
}

#[tokio::test]
async fn reads_a_large_file_across_many_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.txt");
    let line = "x".repeat(99);
    let count = 30_000;
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!("{i:05}{line}\n"));
    }
    // One line longer than the read buffer.
    let long = "y".repeat(3 << 20);
    text.push_str(&long);
    text.push('\n');
    fs::write(&path, &text).unwrap();
    let mut task = start(&path, &[("batch.size", "4096")], StoredOffsets::default())
        .await
        .unwrap();
    let mut seen = 0;
    let mut last = None;
    while seen < count + 1 {
        let records = task.poll().await.unwrap();
        assert!(!records.is_empty(), "stalled after {seen} lines");
        assert!(records.len() <= 4096);
        for r in &records {
            let v = r.record.value.as_str().unwrap();
            if seen < count {
                assert_eq!(&v[..5], format!("{seen:05}"));
                assert_eq!(v.len(), 104);
            } else {
                assert_eq!(v, long);
            }
            seen += 1;
        }
        last = records.last().map(position);
    }
    assert_eq!(last, Some(text.len() as i64));
}

#[tokio::test]
async fn waits_for_a_missing_file_to_appear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.txt");
    let mut task = start(&path, &[], StoredOffsets::default()).await.unwrap();
    assert!(task.poll().await.unwrap().is_empty());
    fs::write(&path, "hello\n").unwrap();
    let records = task.poll().await.unwrap();
    assert_eq!(values(&records), ["hello"]);
    assert_eq!(position(&records[0]), 6);
}

#[tokio::test]
async fn a_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut task = start(dir.path(), &[], StoredOffsets::default())
        .await
        .unwrap();
    let err = task.poll().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Couldn't read file '{}' for FileStreamSourceTask: it is a directory",
            dir.path().display()
        )
    );
}

#[tokio::test]
async fn an_unreadable_file_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.txt");
    fs::write(&path, "x\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if File::open(&path).is_ok() {
        // Running as root: permissions do not apply, nothing to test.
        return;
    }
    let mut task = start(&path, &[], StoredOffsets::default()).await.unwrap();
    let err = task.poll().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "Couldn't open file '{}' for FileStreamSourceTask: ",
            path.display()
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_stored_position_of_the_wrong_type_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    let offsets = StoredOffsets(vec![(
        partition(&path),
        OffsetMap::new().with(POSITION_FIELD, "12"),
    )]);
    let err = start(&path, &[], offsets).await.err().unwrap();
    assert_eq!(err.to_string(), "Offset position is the incorrect type");
}

#[tokio::test]
async fn a_bad_config_fails_the_start() {
    let mut task = FileStreamSourceTask::new();
    let err = task
        .start(
            &config(&[("topic", "t"), ("file", ""), ("batch.size", "x")]),
            source_context(StoredOffsets::default()),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration for 'batch.size': Invalid value x for configuration batch.size: Not a number of type INT"
    );
}

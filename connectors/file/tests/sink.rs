//! FileStreamSinkTask against real files: appending, value text, flushing, open failures.

mod common;

use std::collections::HashMap;
use std::fs;
use std::sync::Arc;

use common::{config, sink_context};
use sluice_api::prelude::*;
use sluice_connector_file::FileStreamSinkTask;

fn record(offset: i64, value_schema: Option<SchemaRef>, value: Value) -> SinkRecord {
    let mut record = ConnectRecord::new("topic", value_schema, value);
    record.kafka_partition = Some(0);
    record.kafka_offset = Some(offset);
    SinkRecord {
        record,
        original_topic: Arc::from("topic"),
        original_partition: 0,
        original_offset: offset,
    }
}

async fn started(path: &std::path::Path) -> FileStreamSinkTask {
    let mut task = FileStreamSinkTask::new();
    task.start(&config(&[("file", path.to_str().unwrap())]), sink_context())
        .await
        .unwrap();
    task
}

#[tokio::test]
async fn appends_value_text_and_flushes_before_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    fs::write(&path, "existing\n").unwrap();
    let mut task = started(&path).await;

    let schema = SchemaBuilder::struct_()
        .field("a", Schema::required(SchemaType::Int32))
        .unwrap()
        .field("b", Schema::optional(SchemaType::String))
        .unwrap()
        .build();
    let value = Struct::new(schema.clone())
        .unwrap()
        .with("a", 1)
        .unwrap()
        .with("b", "x")
        .unwrap();
    let records = vec![
        record(
            0,
            Some(Schema::required(SchemaType::String)),
            Value::from("plain line"),
        ),
        record(1, None, Value::Null),
        record(2, None, Value::Int64(42)),
        record(3, None, Value::Float64(1e10)),
        record(4, None, Value::Boolean(false)),
        record(5, Some(schema), Value::Struct(value)),
        record(
            6,
            None,
            Value::Map(vec![
                (Value::from("k"), Value::from("v")),
                (
                    Value::from("n"),
                    Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
                ),
            ]),
        ),
    ];
    task.put(records).await.unwrap();

    let mut offsets = HashMap::new();
    offsets.insert(TopicPartition::new("topic", 0), 7);
    let committed = task.pre_commit(offsets.clone()).await.unwrap();
    assert_eq!(committed, offsets);
    // Readable by another process before the task stops.
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "existing\nplain line\nnull\n42\n1.0E10\nfalse\nStruct{a=1,b=x}\n{k=v, n=[1, 2]}\n"
    );

    task.put(vec![record(7, None, Value::from("after"))])
        .await
        .unwrap();
    task.stop().await.unwrap();
    assert!(fs::read_to_string(&path).unwrap().ends_with("}\nafter\n"));
}

#[tokio::test]
async fn creates_the_file_and_tasks_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.txt");
    let mut one = started(&path).await;
    let mut two = started(&path).await;
    one.put(vec![record(0, None, Value::from("from one"))])
        .await
        .unwrap();
    two.put(vec![record(0, None, Value::from("from two"))])
        .await
        .unwrap();
    one.flush(&HashMap::new()).await.unwrap();
    two.flush(&HashMap::new()).await.unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "from one\nfrom two\n");
}

#[tokio::test]
async fn large_batches_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.txt");
    let mut task = started(&path).await;
    let line = "z".repeat(100);
    let records: Vec<SinkRecord> = (0..30_000)
        .map(|i| record(i, None, Value::String(format!("{i:06}{line}"))))
        .collect();
    task.put(records).await.unwrap();
    task.flush(&HashMap::new()).await.unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 30_000);
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, l)| l.len() == 106 && l.starts_with(&format!("{i:06}"))));
}

#[tokio::test]
async fn a_line_cut_short_by_a_killed_writer_is_ended_before_new_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.txt");
    fs::write(&path, "whole\nhalf of a li").unwrap();
    let mut task = started(&path).await;
    task.put(vec![record(0, None, Value::from("again"))])
        .await
        .unwrap();
    task.flush(&HashMap::new()).await.unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "whole\nhalf of a li\nagain\n"
    );
    // A file that ends with a whole line is left as it is.
    let mut next = started(&path).await;
    next.put(vec![record(1, None, Value::from("more"))])
        .await
        .unwrap();
    next.flush(&HashMap::new()).await.unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "whole\nhalf of a li\nagain\nmore\n"
    );
}

#[tokio::test]
async fn open_failure_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("out.txt");
    let mut task = FileStreamSinkTask::new();
    let err = task
        .start(&config(&[("file", path.to_str().unwrap())]), sink_context())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Couldn't find or create file '{}' for FileStreamSinkTask",
            path.display()
        )
    );
    assert!(std::error::Error::source(&err).is_some());
}

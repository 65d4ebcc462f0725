//! Error handling in sink tasks on the embedded log: tolerated records are skipped and sent
//! to the dead-letter queue with Kafka's headers, records `put` rejects are found and sent
//! there too, and with `errors.tolerance=none` the first bad record fails the task.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{
    ConsumedRecord, ConsumerConfig, Log, NewTopic, NoopRebalanceListener, ProduceRecord,
    ProducerConfig, TopicPartition as LogTp,
};
use sluice_runtime::connector_config::ConnectorConfig;
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::status::{ConnectorTaskId, State};
use sluice_runtime::worker::Worker;

fn open_log(dir: &std::path::Path) -> Arc<EmbeddedLog> {
    EmbeddedLog::open(&dir.join("data"), EmbeddedLogOptions::default()).unwrap()
}

async fn produce(log: &EmbeddedLog, topic: &str, values: &[String]) {
    log.admin()
        .create_topic(NewTopic::new(topic, 1))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let records = values
        .iter()
        .map(|v| ProduceRecord {
            topic: topic.into(),
            partition: None,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from(v.clone())),
            headers: Vec::new(),
            timestamp: None,
        })
        .collect();
    producer.send(records).await.unwrap();
}

/// Every record of partition 0 of `topic`.
async fn read_all(log: &EmbeddedLog, topic: &str) -> Vec<ConsumedRecord> {
    let mut consumer = log.consumer(ConsumerConfig::default()).unwrap();
    consumer.assign(&[LogTp::new(topic, 0)]).await.unwrap();
    let mut out = Vec::new();
    loop {
        let batch = consumer
            .poll(Duration::from_millis(200), &mut NoopRebalanceListener)
            .await
            .unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

fn task_id(connector: &str) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: connector.into(),
        task: 0,
    }
}

fn header<'a>(r: &'a ConsumedRecord, key: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
}

fn sink(name: &str, topic: &str, store: &str, extra: &[(&str, &str)]) -> ConnectorConfig {
    let mut pairs = vec![
        ("name", name),
        ("connector.class", SINK_CLASS),
        ("topics", topic),
        ("store", store),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
    ];
    pairs.extend_from_slice(extra);
    ConnectorConfig::parse(&map(&pairs), &registry()).unwrap()
}

/// 30 values: every 5th is not JSON, every 7th (when JSON) is one the sink rejects.
fn values() -> Vec<String> {
    (0..30)
        .map(|i| {
            if i % 5 == 0 {
                format!("not json {i}")
            } else if i % 7 == 0 {
                format!("\"poison {i}\"")
            } else {
                format!("\"v{i}\"")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerated_records_go_to_the_dead_letter_queue_and_the_rest_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topic = unique("orders");
    let dlq = format!("{topic}-dlq");
    let input = values();
    produce(&log, &topic, &input).await;
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets);
    let store = unique("tolerant");
    worker
        .start_connector(sink(
            "tolerant",
            &topic,
            &store,
            &[
                ("errors.tolerance", "all"),
                ("errors.log.enable", "true"),
                ("errors.deadletterqueue.topic.name", &dlq),
                ("errors.deadletterqueue.context.headers.enable", "true"),
                ("reject.containing", "poison"),
            ],
        ))
        .await
        .unwrap();
    let expected_good: Vec<String> = (0..30)
        .filter(|i| i % 5 != 0 && i % 7 != 0)
        .map(|i| format!("v{i}"))
        .collect();
    wait_until("every good record arrived", || {
        let mut seen: Vec<String> = sink_store(&store)
            .records
            .iter()
            .map(|r| r.4.clone())
            .collect();
        seen.dedup();
        seen == expected_good
    })
    .await;
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead = read_all(&log, &dlq).await;
        if dead.len() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = worker.connector_status("tolerant").unwrap();
    assert_eq!(status.tasks[0].1.state, State::Running);
    let errors = worker
        .task_counters(&task_id("tolerant"))
        .unwrap()
        .errors
        .clone();
    assert_eq!(errors.records_skipped.load(Ordering::Relaxed), 10);
    assert_eq!(errors.dlq_produce_requests.load(Ordering::Relaxed), 10);
    assert_eq!(errors.errors_logged.load(Ordering::Relaxed), 10);
    worker.stop().await;

    // 6 records are not JSON (0, 5, ..., 25), 4 are rejected by put (7, 14, 21, 28).
    let stages: Vec<(String, String)> = dead
        .iter()
        .map(|r| {
            (
                header(r, "__connect.errors.offset").unwrap().to_string(),
                header(r, "__connect.errors.stage").unwrap().to_string(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for i in 0..30 {
        if i % 5 == 0 {
            expected.push((i.to_string(), "VALUE_CONVERTER".to_string()));
        } else if i % 7 == 0 {
            expected.push((i.to_string(), "TASK_PUT".to_string()));
        }
    }
    let mut sorted = stages.clone();
    sorted.sort_by_key(|(o, _)| o.parse::<i64>().unwrap());
    assert_eq!(sorted, expected);
    assert_eq!(expected_good.len() + dead.len(), input.len());
    let first = &dead[0];
    assert_eq!(first.value.as_deref(), Some(&b"not json 0"[..]));
    assert_eq!(first.key.as_deref(), Some(&b"k"[..]));
    assert_eq!(
        header(first, "__connect.errors.topic"),
        Some(topic.as_str())
    );
    assert_eq!(header(first, "__connect.errors.partition"), Some("0"));
    assert_eq!(
        header(first, "__connect.errors.connector.name"),
        Some("tolerant")
    );
    assert_eq!(header(first, "__connect.errors.task.id"), Some("0"));
    assert_eq!(
        header(first, "__connect.errors.class.name"),
        Some("org.apache.kafka.connect.json.JsonConverter")
    );
    assert_eq!(
        header(first, "__connect.errors.exception.class.name"),
        Some("org.apache.kafka.connect.errors.DataException")
    );
    let put_failure = dead
        .iter()
        .find(|r| header(r, "__connect.errors.stage") == Some("TASK_PUT"))
        .unwrap();
    assert_eq!(
        header(put_failure, "__connect.errors.class.name"),
        Some("org.apache.kafka.connect.sink.SinkTask")
    );
    // Skipped records count as processed: the group committed past the last one.
    let committed = log.admin().group_offsets("connect-tolerant").await.unwrap();
    assert_eq!(committed, vec![(LogTp::new(topic.as_str(), 0), 30)]);
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errant_record_reporter_sends_reported_records_to_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topic = unique("reported");
    let dlq = format!("{topic}-dlq");
    let input: Vec<String> = (0..20)
        .map(|i| {
            if i % 4 == 0 {
                format!("\"poison {i}\"")
            } else {
                format!("\"v{i}\"")
            }
        })
        .collect();
    produce(&log, &topic, &input).await;
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets);
    let store = unique("reporting");
    worker
        .start_connector(sink(
            "reporting",
            &topic,
            &store,
            &[
                ("errors.tolerance", "all"),
                ("errors.deadletterqueue.topic.name", &dlq),
                ("errors.deadletterqueue.context.headers.enable", "true"),
                ("reject.containing", "poison"),
                ("reject.report", "true"),
            ],
        ))
        .await
        .unwrap();
    wait_until("the good records arrived", || {
        sink_store(&store).records.len() == 15
    })
    .await;
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead = read_all(&log, &dlq).await;
        if dead.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;
    assert_eq!(dead.len(), 5);
    for (i, r) in dead.iter().enumerate() {
        assert_eq!(header(r, "__connect.errors.stage"), Some("TASK_PUT"));
        let offset = (i * 4).to_string();
        assert_eq!(header(r, "__connect.errors.offset"), Some(offset.as_str()));
        assert_eq!(
            r.value.as_deref(),
            Some(format!("\"poison {}\"", i * 4).as_bytes())
        );
        assert_eq!(
            header(r, "__connect.errors.exception.message"),
            Some("reported as errant")
        );
    }
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tolerance_the_first_bad_record_fails_the_task_after_reaching_the_dlq() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topic = unique("strict");
    let dlq = format!("{topic}-dlq");
    let input: Vec<String> = ["\"a\"", "\"b\"", "{oops", "\"c\""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    produce(&log, &topic, &input).await;
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets);
    let store = unique("strict");
    worker
        .start_connector(sink(
            "strict",
            &topic,
            &store,
            &[("errors.deadletterqueue.topic.name", &dlq)],
        ))
        .await
        .unwrap();
    wait_until("the task failed", || {
        worker.connector_status("strict").unwrap().tasks[0].1.state == State::Failed
    })
    .await;
    let trace = worker.connector_status("strict").unwrap().tasks[0]
        .1
        .trace
        .clone()
        .unwrap();
    assert!(
        trace.starts_with(
            "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler"
        ),
        "{trace}"
    );
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    let dead = read_all(&log, &dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value.as_deref(), Some(&b"{oops"[..]));
    // No context headers unless asked for.
    assert!(dead[0].headers.is_empty());
    // Nothing of the failing batch was put.
    assert!(sink_store(&store).records.is_empty());
    worker.stop().await;
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_with_tolerance_all_skips_records_it_cannot_convert() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets);
    let topic = unique("unconvertible");
    // ByteArrayConverter cannot write the test source's struct values.
    let pairs = [
        ("name", "skipping"),
        ("connector.class", SOURCE_CLASS),
        ("topic", topic.as_str()),
        ("records", "25"),
        ("struct.values", "true"),
        ("value.converter", "ByteArray"),
        ("errors.tolerance", "all"),
    ];
    worker
        .start_connector(ConnectorConfig::parse(&map(&pairs), &registry()).unwrap())
        .await
        .unwrap();
    let errors = worker
        .task_counters(&task_id("skipping"))
        .unwrap()
        .errors
        .clone();
    wait_until("every record was skipped", || {
        errors.records_skipped.load(Ordering::Relaxed) == 25
    })
    .await;
    let status = worker.connector_status("skipping").unwrap();
    assert_eq!(status.tasks[0].1.state, State::Running);
    worker.stop().await;
    // Nothing was written (the topic was never even created).
    assert!(!log.admin().list_topics().await.unwrap().contains(&topic));
    log.close().await.unwrap();
}

//! Producer behaviour specific to the Kafka backend: a full send queue makes `send` wait
//! rather than drop, client settings (here zstd compression) pass through, and records
//! librdkafka refuses fail their batch with a readable error while the others are written.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use sluice_kafka::testing;
use sluice_log::{
    ConsumerConfig, Log, NewTopic, NoopRebalanceListener, ProduceRecord, ProducerConfig,
    TopicPartition,
};

fn records(topic: &str, n: usize) -> Vec<ProduceRecord> {
    (0..n)
        .map(|i| ProduceRecord {
            topic: topic.into(),
            partition: Some(0),
            key: None,
            value: Some(Bytes::from(format!("value-{i}"))),
            headers: Vec::new(),
            timestamp: None,
        })
        .collect()
}

fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn queue_full_run() {
    let log = testing::connect().await;
    let topic = testing::unique_topic("queue-full");
    log.admin()
        .create_topic(NewTopic::new(&topic, 1))
        .await
        .unwrap();
    let producer = log
        .producer(ProducerConfig {
            properties: properties(&[("queue.buffering.max.messages", "10")]),
            ..Default::default()
        })
        .unwrap();
    let meta = producer.send(records(&topic, 2_000)).await.unwrap();
    let offsets: Vec<i64> = meta.iter().map(|m| m.offset).collect();
    assert_eq!(offsets, (0..2_000).collect::<Vec<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_makes_send_wait_instead_of_dropping() {
    queue_full_run().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_makes_send_wait_on_a_single_threaded_runtime_too() {
    queue_full_run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_settings_pass_through() {
    let log = testing::connect().await;
    let topic = testing::unique_topic("zstd");
    log.admin()
        .create_topic(NewTopic::new(&topic, 1))
        .await
        .unwrap();
    let producer = log
        .producer(ProducerConfig {
            properties: properties(&[("compression.type", "zstd"), ("linger.ms", "20")]),
            ..Default::default()
        })
        .unwrap();
    producer.send(records(&topic, 100)).await.unwrap();
    let mut consumer = log
        .consumer(ConsumerConfig {
            max_poll_records: 1_000,
            ..Default::default()
        })
        .unwrap();
    consumer
        .assign(&[TopicPartition::new(topic.as_str(), 0)])
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..100 {
        if got.len() >= 100 {
            break;
        }
        got.extend(
            consumer
                .poll(Duration::from_millis(300), &mut NoopRebalanceListener)
                .await
                .unwrap(),
        );
    }
    assert_eq!(got.len(), 100);
    assert_eq!(got[99].value.as_deref(), Some(&b"value-99"[..]));
}

/// Reads partition 0 of `topic` until `n` records arrived (or 100 polls passed).
async fn read_back(log: &dyn Log, topic: &str, n: usize) -> Vec<String> {
    let mut consumer = log.consumer(ConsumerConfig::default()).unwrap();
    consumer
        .assign(&[TopicPartition::new(topic, 0)])
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..100 {
        if got.len() >= n {
            break;
        }
        let batch = consumer
            .poll(Duration::from_millis(300), &mut NoopRebalanceListener)
            .await
            .unwrap();
        got.extend(
            batch.iter().map(|r| {
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()
            }),
        );
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_records_fail_their_batch_and_the_others_are_written() {
    let log = testing::connect().await;
    let (first, second) = (
        testing::unique_topic("refused-a"),
        testing::unique_topic("refused-b"),
    );
    for t in [&first, &second] {
        log.admin().create_topic(NewTopic::new(t, 1)).await.unwrap();
    }
    let producer = log
        .producer(ProducerConfig {
            properties: properties(&[("message.max.bytes", "10000")]),
            ..Default::default()
        })
        .unwrap();
    // One batch over two topics, with a record above message.max.bytes in the middle.
    let mut batch = records(&first, 2);
    batch.insert(1, records(&first, 1).remove(0));
    batch[1].value = Some(Bytes::from(vec![b'x'; 20_000]));
    batch.extend(records(&second, 3));
    let error = producer.send(batch).await.unwrap_err().to_string();
    assert!(
        error.contains(&first) && error.to_lowercase().contains("too large"),
        "{error}"
    );
    // A topic name librdkafka cannot take (a NUL byte) fails its record, not the process.
    let error = producer
        .send(records("bad\0name", 1))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("bad\0name"), "{error}");
    // The records around the refused ones were written, in order, once.
    assert_eq!(read_back(&*log, &first, 2).await, ["value-0", "value-1"]);
    assert_eq!(
        read_back(&*log, &second, 3).await,
        ["value-0", "value-1", "value-2"]
    );
}

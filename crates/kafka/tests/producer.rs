//! Producer behaviour specific to the Kafka backend: a full send queue makes `send` wait
//! rather than drop, and client settings (here zstd compression) pass through.

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

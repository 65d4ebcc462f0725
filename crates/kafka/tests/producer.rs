//! Producer behaviour specific to the Kafka backend: a full send queue makes `send` wait
//! rather than drop, client settings (here zstd compression) pass through, records
//! librdkafka refuses fail their batch with a readable error while the others are written,
//! records without timestamp or headers (queued in runs) keep their order beside those
//! with them (queued one by one), and sends without per-record metadata behave alike.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use sluice_kafka::{testing, KafkaLog};
use sluice_log::{
    ConsumedRecord, ConsumerConfig, Log, LogHeader, NewTopic, NoopRebalanceListener, ProduceRecord,
    ProducerConfig, TopicPartition,
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

/// A connection to the test broker and a new topic of `partitions` partitions, named
/// from `prefix`.
async fn log_with_topic(prefix: &str, partitions: i32) -> (std::sync::Arc<KafkaLog>, String) {
    let log = testing::connect().await;
    let topic = testing::unique_topic(prefix);
    log.admin()
        .create_topic(NewTopic::new(&topic, partitions))
        .await
        .unwrap();
    (log, topic)
}

/// Sends `n` records in one batch through a queue of `queue` messages and checks they were
/// all written, in order.
async fn queue_full_run(n: usize, queue: &str) {
    let (log, topic) = log_with_topic("queue-full", 1).await;
    let producer = log
        .producer(ProducerConfig {
            properties: properties(&[("queue.buffering.max.messages", queue)]),
            ..Default::default()
        })
        .unwrap();
    let meta = producer.send(records(&topic, n)).await.unwrap();
    let offsets: Vec<i64> = meta.iter().map(|m| m.offset).collect();
    assert_eq!(offsets, (0..n as i64).collect::<Vec<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_makes_send_wait_instead_of_dropping() {
    queue_full_run(2_000, "10").await;
}

/// A batch longer than one librdkafka call takes goes in several, and a full queue holds
/// back the calls after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_longer_than_one_call_keeps_its_order_through_a_full_queue() {
    queue_full_run(150_000, "20000").await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_makes_send_wait_on_a_single_threaded_runtime_too() {
    queue_full_run(2_000, "10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_settings_pass_through() {
    let (log, topic) = log_with_topic("zstd", 1).await;
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

/// The values of partition 0 of `topic`, read until `n` records arrived (or 100 polls
/// passed).
async fn read_back(log: &dyn Log, topic: &str, n: usize) -> Vec<String> {
    read_records(log, topic, n)
        .await
        .iter()
        .map(value_text)
        .collect()
}

/// A record's value as text (empty for none).
fn value_text(record: &ConsumedRecord) -> String {
    String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()).into_owned()
}

/// The records of partition 0 of `topic`, read until `n` arrived (or 30 s passed).
async fn read_records(log: &dyn Log, topic: &str, n: usize) -> Vec<ConsumedRecord> {
    let mut consumer = log.consumer(ConsumerConfig::default()).unwrap();
    consumer
        .assign(&[TopicPartition::new(topic, 0)])
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < n && std::time::Instant::now() < deadline {
        let batch = consumer
            .poll(Duration::from_millis(300), &mut NoopRebalanceListener)
            .await
            .unwrap();
        got.extend(batch);
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

/// A send that skips per-record metadata (what a source task whose connector ignores
/// `commit_record` uses) resolves with no metadata once its records are written, waits
/// through a full queue like `send`, and fails on a refused record like `send`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_without_metadata_are_written_in_order_and_fail_like_sends() {
    let (log, topic) = log_with_topic("no-metadata", 1).await;
    let producer = log
        .producer(ProducerConfig {
            properties: properties(&[
                ("queue.buffering.max.messages", "10"),
                ("message.max.bytes", "10000"),
            ]),
            ..Default::default()
        })
        .unwrap();
    let meta = producer
        .send_without_metadata(records(&topic, 2_000))
        .await
        .unwrap();
    assert!(meta.is_empty(), "{} metadata entries", meta.len());
    let expected: Vec<String> = (0..2_000).map(|i| format!("value-{i}")).collect();
    assert_eq!(read_back(&*log, &topic, 2_000).await, expected);

    let mut batch = records(&topic, 3);
    batch[1].value = Some(Bytes::from(vec![b'x'; 20_000]));
    let error = producer
        .send_without_metadata(batch)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&topic) && error.to_lowercase().contains("too large"),
        "{error}"
    );
    // The two records beside the refused one were written after the first 2,000.
    let all = read_back(&*log, &topic, 2_002).await;
    assert_eq!(all[2_000..], ["value-0", "value-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_with_and_without_timestamps_or_headers_keep_their_order() {
    let (log, topic) = log_with_topic("mixed-runs", 1).await;
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Runs of plain records, broken by one with a timestamp and one with a header.
    let mut batch = records(&topic, 8);
    batch[2].timestamp = Some(1_234);
    batch[5].headers = vec![LogHeader {
        key: "h".into(),
        value: Some(Bytes::from_static(b"v")),
    }];
    let meta = producer.send(batch).await.unwrap();
    let offsets: Vec<i64> = meta.iter().map(|m| m.offset).collect();
    assert_eq!(offsets, (0..8).collect::<Vec<i64>>());
    assert_eq!(meta[2].timestamp, 1_234);

    let got = read_records(&*log, &topic, 8).await;
    let values: Vec<String> = got.iter().map(value_text).collect();
    assert_eq!(
        values,
        (0..8).map(|i| format!("value-{i}")).collect::<Vec<_>>()
    );
    for (i, r) in got.iter().enumerate() {
        match i {
            2 => assert_eq!(r.timestamp, 1_234),
            // The producer stamps a record without a timestamp when it queues it.
            _ => assert!(r.timestamp >= before, "record {i}: {}", r.timestamp),
        }
        let headers: Vec<&str> = r.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(
            headers,
            if i == 5 { vec!["h"] } else { vec![] },
            "record {i}"
        );
    }
}

/// Keys whose murmur2 hash the Java client documents, with that hash: a keyed record goes
/// to partition `(hash & 0x7fffffff) % partitions`.
const KEY_HASHES: [(&str, u32); 6] = [
    ("kafka", 0xd067_cf64),
    ("giberish123456789", 0x8f55_2b0c),
    ("1234", 0x9fc9_7b14),
    ("234", 0xe7c0_09ca),
    ("34", 0x8739_30da),
    ("4", 0x5a4b_5ca1),
];

/// Keyed records land where Kafka's default partitioner puts them, whether librdkafka's
/// partitioner places them (a record with a timestamp, or before the producer has read
/// the topic's partition count) or the producer does (records without one, once it knows
/// the count), and each partition keeps the send order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_go_to_kafkas_partition_in_order() {
    let (log, topic) = log_with_topic("keyed", 3).await;
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let batch = |round: usize, timestamp: Option<i64>| -> Vec<ProduceRecord> {
        (0..20)
            .flat_map(|i| KEY_HASHES.iter().map(move |(key, _)| (i, *key)))
            .map(|(i, key)| ProduceRecord {
                topic: topic.as_str().into(),
                partition: None,
                key: Some(Bytes::from(key)),
                value: Some(Bytes::from(format!("{round}-{i}"))),
                headers: Vec::new(),
                timestamp,
            })
            .collect()
    };
    // Round 0 is sent before the count can be known; the pause lets the producer read it.
    for (round, timestamp) in [(0, None), (1, None), (2, Some(1_700_000_000_000))] {
        let sent = batch(round, timestamp);
        let meta = producer.send(sent.clone()).await.unwrap();
        let mut last_offset = [-1_i64; 3];
        for (record, m) in sent.iter().zip(&meta) {
            let key = std::str::from_utf8(record.key.as_deref().unwrap()).unwrap();
            let hash = KEY_HASHES.iter().find(|(k, _)| *k == key).unwrap().1;
            let expected = ((hash & 0x7fff_ffff) % 3) as i32;
            assert_eq!(m.partition, expected, "round {round}, key {key:?}");
            let p = m.partition as usize;
            assert!(
                m.offset > last_offset[p],
                "round {round}: offsets out of send order"
            );
            last_offset[p] = m.offset;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

//! Produce throughput of `KafkaProducer` beside a plain rdkafka producer sending the same
//! bytes to the same broker in the same run (target: at least 90% of the plain producer).
//!
//! `cargo bench -p sluice-kafka --bench produce [-- RECORDS]` (default 1,000,000 records of
//! 100 bytes, batches of 1,000); uses `$SLUICE_KAFKA_BOOTSTRAP` or the test broker.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use sluice_kafka::testing;
use sluice_log::{Log, ProduceRecord, ProducerConfig};

const BATCH: usize = 1_000;

/// Counts acknowledged records.
struct Counter(AtomicUsize);

impl ClientContext for Counter {}

impl ProducerContext for Counter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_ok() {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn raw(bootstrap: &str, topic: &str, records: usize, value: &[u8]) -> f64 {
    let producer: ThreadedProducer<Counter> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .create_with_context(Counter(AtomicUsize::new(0)))
        .expect("raw producer");
    let start = Instant::now();
    for i in 0..records {
        let key = (i % 1000).to_string();
        support::send(
            &producer,
            BaseRecord::to(topic).key(key.as_bytes()).payload(value),
        );
    }
    producer.flush(Duration::from_secs(600)).expect("flush");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(producer.context().0.load(Ordering::Relaxed), records);
    records as f64 / secs
}

async fn sluice(topic: &str, records: usize, value: &Bytes) -> f64 {
    let log = testing::connect().await;
    let producer = log.producer(ProducerConfig::default()).expect("producer");
    let topic: Arc<str> = Arc::from(topic);
    let keys: Vec<Bytes> = (0..1000).map(|i| Bytes::from(i.to_string())).collect();
    let start = Instant::now();
    let mut pending = Vec::new();
    let mut i = 0;
    while i < records {
        let n = BATCH.min(records - i);
        let batch: Vec<ProduceRecord> = (i..i + n)
            .map(|j| ProduceRecord {
                topic: Arc::clone(&topic),
                partition: None,
                key: Some(keys[j % 1000].clone()),
                value: Some(value.clone()),
                headers: Vec::new(),
                timestamp: None,
            })
            .collect();
        pending.push(producer.send(batch));
        i += n;
    }
    let mut acked = 0;
    for f in pending {
        acked += f.await.expect("delivery").len();
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(acked, records);
    records as f64 / secs
}

fn main() {
    let records = support::records();
    let runtime = support::runtime();
    let bootstrap = testing::bootstrap();
    let value = Bytes::from(vec![b'x'; 100]);
    // Each round on a topic of its own, so that a broker slowing down as it fills up
    // favours neither side.
    let (raw_rate, sluice_rate) = support::alternate(|round| {
        let topic = testing::unique_topic(&format!("bench-{round}"));
        support::create_topic(&runtime, &topic, 4);
        let rate = if round == "raw" {
            raw(&bootstrap, &topic, records, &value)
        } else {
            runtime.block_on(sluice(&topic, records, &value))
        };
        println!("{round}: {rate:.0} records/s");
        rate
    });
    println!(
        "{records} records of 100 bytes, 4 partitions, batches of {BATCH}: raw rdkafka {raw_rate:.0} records/s, KafkaProducer {sluice_rate:.0} records/s ({:.0}% of raw)",
        100.0 * sluice_rate / raw_rate
    );
}

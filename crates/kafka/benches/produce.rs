//! Produce throughput of `KafkaProducer` beside a plain rdkafka producer sending the same
//! bytes to the same broker in the same run (target: at least 90% of the plain producer).
//!
//! `cargo bench -p sluice-kafka --bench produce [-- RECORDS]` (default 1,000,000 records of
//! 100 bytes, batches of 1,000); uses `$SLUICE_KAFKA_BOOTSTRAP` or the test broker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use sluice_kafka::testing;
use sluice_log::{Log, NewTopic, ProduceRecord, ProducerConfig};

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
        let mut record = BaseRecord::to(topic).key(key.as_bytes()).payload(value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
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
    let records: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let bootstrap = testing::bootstrap();
    let value = Bytes::from(vec![b'x'; 100]);
    // Alternating rounds (raw, sluice, sluice, raw) so that a broker slowing down as it
    // fills up favours neither side.
    let mut raw_rates = Vec::new();
    let mut sluice_rates = Vec::new();
    for round in ["raw", "sluice", "sluice", "raw"] {
        let topic = testing::unique_topic(&format!("bench-{round}"));
        runtime.block_on(async {
            let log = testing::connect().await;
            log.admin()
                .create_topic(NewTopic::new(topic.as_str(), 4))
                .await
                .expect("topic");
        });
        let rate = if round == "raw" {
            raw(&bootstrap, &topic, records, &value)
        } else {
            runtime.block_on(sluice(&topic, records, &value))
        };
        println!("{round}: {rate:.0} records/s");
        if round == "raw" {
            raw_rates.push(rate);
        } else {
            sluice_rates.push(rate);
        }
    }
    let raw_rate = raw_rates.iter().sum::<f64>() / raw_rates.len() as f64;
    let sluice_rate = sluice_rates.iter().sum::<f64>() / sluice_rates.len() as f64;
    println!(
        "{records} records of 100 bytes, 4 partitions, batches of {BATCH}: raw rdkafka {raw_rate:.0} records/s, KafkaProducer {sluice_rate:.0} records/s ({:.0}% of raw)",
        100.0 * sluice_rate / raw_rate
    );
}

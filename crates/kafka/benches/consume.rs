//! Fetch throughput of `KafkaConsumer` beside a plain rdkafka consumer reading the same
//! topic from the same broker in the same run (the consumer's share of the sink path;
//! target: at least 90% of the plain consumer).
//!
//! `cargo bench -p sluice-kafka --features testing --bench consume [-- RECORDS]` (default
//! 1,000,000 records of 100 bytes in 3 partitions, polls of up to 20,000 records); uses
//! `$SLUICE_KAFKA_BOOTSTRAP` or the test broker. Both consumers are assigned every
//! partition from the beginning (no group join) with the same settings (librdkafka's
//! defaults but the two sluice-kafka changes), and touch every value. Rates are steady state: from the first record to the last. Beside each
//! rate: the process's CPU time per record over the round (all threads, librdkafka's
//! included), which the other work on a shared machine disturbs less than the rate.

mod support;

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};
use sluice_kafka::testing;
use sluice_log::{
    ConsumerConfig, IsolationLevel, Log, NoopRebalanceListener, OffsetReset, TopicPartition,
};

const PARTITIONS: i32 = 3;
const MAX_POLL_RECORDS: usize = 20_000;

fn fill(bootstrap: &str, topic: &str, records: usize) {
    let producer: ThreadedProducer<DefaultProducerContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    let value = [b'x'; 100];
    for i in 0..records {
        let partition = (i % PARTITIONS as usize) as i32;
        let record = BaseRecord::<(), [u8]>::to(topic)
            .partition(partition)
            .payload(&value[..]);
        support::send(&producer, record);
    }
    producer.flush(Duration::from_secs(600)).expect("flush");
}

/// CPU time of this process so far (user + system, all threads), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime
    // the 13th, in clock ticks of 1/100 s.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Records per second from the first record to the last.
fn steady(records: usize, first: Instant) -> f64 {
    (records - 1) as f64 / first.elapsed().as_secs_f64()
}

fn raw(bootstrap: &str, topic: &str, records: usize) -> f64 {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", testing::unique_topic("bench-raw"))
        .set("enable.auto.commit", "false")
        // The two settings sluice-kafka's consumer changes from librdkafka's defaults.
        .set("fetch.queue.backoff.ms", "10")
        .set("isolation.level", "read_uncommitted")
        .create()
        .expect("raw consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    let mut seen = 0;
    let mut bytes = 0;
    let mut first = None;
    while seen < records {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.expect("message");
            bytes += message.payload().map_or(0, <[u8]>::len);
            first.get_or_insert_with(Instant::now);
            seen += 1;
        }
    }
    assert_eq!(bytes, records * 100);
    steady(records, first.expect("records"))
}

async fn sluice(topic: &str, records: usize) -> f64 {
    let log = testing::connect().await;
    let mut consumer = log
        .consumer(ConsumerConfig {
            client_id: "bench-consume".into(),
            group_id: Some(testing::unique_topic("bench-sluice")),
            auto_offset_reset: OffsetReset::Earliest,
            isolation_level: IsolationLevel::ReadUncommitted,
            max_poll_records: MAX_POLL_RECORDS,
            properties: Default::default(),
            // As sink tasks read.
            read_ahead: true,
            skip_headers: false,
        })
        .expect("consumer");
    let partitions: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    consumer.assign(&partitions).await.expect("assign");
    let mut seen = 0;
    let mut bytes = 0;
    let mut polls = 0;
    let mut first = None;
    let mut listener = NoopRebalanceListener;
    while seen < records {
        let batch = consumer
            .poll(Duration::from_millis(100), &mut listener)
            .await
            .expect("poll");
        if batch.is_empty() {
            continue;
        }
        polls += 1;
        first.get_or_insert_with(Instant::now);
        seen += batch.len();
        bytes += batch
            .iter()
            .map(|r| r.value.as_ref().map_or(0, |v| v.len()))
            .sum::<usize>();
    }
    assert_eq!(bytes, records * 100);
    println!(
        "  ({polls} polls, {:.0} records per poll)",
        seen as f64 / polls as f64
    );
    steady(records, first.expect("records"))
}

fn main() {
    let records = support::records();
    let runtime = support::runtime();
    let bootstrap = testing::bootstrap();
    let topic = testing::unique_topic("bench-consume");
    support::create_topic(&runtime, &topic, PARTITIONS);
    fill(&bootstrap, &topic, records);
    let (raw_rate, sluice_rate) = support::alternate(|round| {
        let cpu = cpu_seconds();
        let rate = if round == "raw" {
            raw(&bootstrap, &topic, records)
        } else {
            runtime.block_on(sluice(&topic, records))
        };
        let cpu = (cpu_seconds() - cpu) * 1e9 / records as f64;
        println!("{round}: {rate:.0} records/s, {cpu:.0} ns CPU per record");
        rate
    });
    println!(
        "{records} records of 100 bytes, {PARTITIONS} partitions, polls of up to {MAX_POLL_RECORDS}: raw rdkafka {raw_rate:.0} records/s, KafkaConsumer {sluice_rate:.0} records/s ({:.0}% of raw)",
        100.0 * sluice_rate / raw_rate
    );
}

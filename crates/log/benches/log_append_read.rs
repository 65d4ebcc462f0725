//! Append and read throughput of the embedded log for 1 MiB batches (1024 records of
//! 1 KiB), against a baseline in the same run: `File::write_all` of the same bytes in
//! 1 MiB chunks, which is what `dd bs=1M` does. Both write to temporary directories on the
//! same filesystem. Run with `cargo bench -p sluice-log`; after criterion's figures it
//! prints the baseline and log rates and their ratio.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{
    ConsumerConfig, Log, LogProducer, NewTopic, NoopRebalanceListener, ProduceRecord, SeekTo,
    TopicPartition,
};

const RECORD: usize = 1024;
const RECORDS_PER_BATCH: usize = 1024;
const BATCH_BYTES: u64 = (RECORD * RECORDS_PER_BATCH) as u64;
const COMPARE_BATCHES: usize = 256;
const SMALL_PER_BATCH: usize = 10_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn template() -> Vec<ProduceRecord> {
    records(RECORDS_PER_BATCH, RECORD)
}

fn records(count: usize, size: usize) -> Vec<ProduceRecord> {
    let topic: Arc<str> = Arc::from("bench");
    (0..count)
        .map(|i| ProduceRecord {
            topic: topic.clone(),
            partition: Some(0),
            key: None,
            value: Some(Bytes::from(vec![(i % 251) as u8; size])),
            headers: Vec::new(),
            timestamp: None,
        })
        .collect()
}

fn open_log(dir: &Path) -> (Arc<EmbeddedLog>, Arc<dyn LogProducer>) {
    let log = EmbeddedLog::open(dir, EmbeddedLogOptions::default()).expect("open log");
    let rt = runtime();
    rt.block_on(log.admin().create_topic(NewTopic::new("bench", 1)))
        .expect("create topic");
    let producer = log.producer(Default::default()).expect("producer");
    (log, producer)
}

/// Time to append `n` batches to a fresh log (building the batches is not timed).
fn time_log_append(rt: &tokio::runtime::Runtime, n: u64, batch: &[ProduceRecord]) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, producer) = open_log(dir.path());
    let mut total = Duration::ZERO;
    for _ in 0..n {
        let records = batch.to_vec();
        let t = Instant::now();
        rt.block_on(producer.send(records)).expect("append");
        total += t.elapsed();
    }
    drop(producer);
    drop(log);
    total
}

/// Time to write `n` 1 MiB chunks to a fresh file with `write_all` (the `dd bs=1M` baseline).
fn time_baseline(n: u64, chunk: &[u8]) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = std::fs::File::create(dir.path().join("baseline.bin")).expect("create");
    let t = Instant::now();
    for _ in 0..n {
        f.write_all(chunk).expect("write");
    }
    t.elapsed()
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let batch = template();
    let chunk = vec![7u8; BATCH_BYTES as usize];
    let mut g = c.benchmark_group("1MiB_batches");
    g.throughput(Throughput::Bytes(BATCH_BYTES));
    g.bench_function("baseline_write_all", |b| {
        b.iter_custom(|n| time_baseline(n, &chunk))
    });
    g.bench_function("log_append", |b| {
        b.iter_custom(|n| time_log_append(&rt, n, &batch))
    });

    // Reads: a log of 128 MiB, read round and round by one consumer.
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, producer) = open_log(dir.path());
    for _ in 0..128 {
        rt.block_on(producer.send(batch.clone())).expect("append");
    }
    let mut consumer = log
        .consumer(ConsumerConfig {
            max_poll_records: RECORDS_PER_BATCH,
            ..Default::default()
        })
        .expect("consumer");
    let tp = TopicPartition::new("bench", 0);
    rt.block_on(consumer.assign(std::slice::from_ref(&tp)))
        .expect("assign");
    g.bench_function("log_read", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            let mut read = 0u64;
            while read < n {
                let t = Instant::now();
                let got = rt
                    .block_on(consumer.poll(Duration::ZERO, &mut NoopRebalanceListener))
                    .expect("poll");
                total += t.elapsed();
                if got.is_empty() {
                    consumer.seek(&tp, SeekTo::Beginning).expect("seek");
                } else {
                    read += 1;
                }
            }
            total
        })
    });
    g.finish();
    drop(consumer);

    // Small records, the shape of the end-to-end target (100-byte lines), in records/s.
    let small = records(SMALL_PER_BATCH, 100);
    let mut g = c.benchmark_group("100B_records_x10000");
    g.throughput(Throughput::Elements(SMALL_PER_BATCH as u64));
    g.bench_function("log_append", |b| {
        b.iter_custom(|n| time_log_append(&rt, n, &small))
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, producer) = open_log(dir.path());
    for _ in 0..100 {
        rt.block_on(producer.send(small.clone())).expect("append");
    }
    let mut consumer = log
        .consumer(ConsumerConfig {
            max_poll_records: SMALL_PER_BATCH,
            ..Default::default()
        })
        .expect("consumer");
    rt.block_on(consumer.assign(std::slice::from_ref(&tp)))
        .expect("assign");
    g.bench_function("log_read", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            let mut read = 0u64;
            while read < n {
                let t = Instant::now();
                let got = rt
                    .block_on(consumer.poll(Duration::ZERO, &mut NoopRebalanceListener))
                    .expect("poll");
                total += t.elapsed();
                if got.is_empty() {
                    consumer.seek(&tp, SeekTo::Beginning).expect("seek");
                } else if got.len() == SMALL_PER_BATCH {
                    read += 1;
                }
            }
            total
        })
    });
    g.finish();
}

/// Alternating rounds of baseline and log appends of the same bytes; prints the medians
/// and the ratio.
fn compare() {
    let rt = runtime();
    let batch = template();
    let chunk = vec![7u8; BATCH_BYTES as usize];
    let mut base = Vec::new();
    let mut log = Vec::new();
    for _ in 0..3 {
        base.push(time_baseline(COMPARE_BATCHES as u64, &chunk));
        log.push(time_log_append(&rt, COMPARE_BATCHES as u64, &batch));
    }
    base.sort();
    log.sort();
    let mb = (COMPARE_BATCHES as f64) * BATCH_BYTES as f64 / 1e6;
    let base_rate = mb / base[1].as_secs_f64();
    let log_rate = mb / log[1].as_secs_f64();
    println!();
    println!("comparison ({COMPARE_BATCHES} MiB per round, median of 3 rounds, same filesystem):");
    println!("  baseline File::write_all 1 MiB chunks: {base_rate:9.1} MB/s");
    println!("  embedded log append, 1 MiB batches:     {log_rate:9.1} MB/s");
    println!(
        "  ratio log/baseline:                     {:9.2} (target >= 0.50)",
        log_rate / base_rate
    );
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        compare();
    }
}

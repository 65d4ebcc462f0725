//! The baseline of the Kafka source benchmark (`scripts/bench/kafka-source.sh`): a plain
//! librdkafka producer, with the settings `sluice-kafka` gives its producers (idempotent,
//! murmur2_random partitioner, librdkafka's batching defaults), sending every line of a file
//! as one record value to a topic.
//!
//! ```text
//! cargo run --release -p sluice-kafka --example raw_produce -- [--keyed] BOOTSTRAP TOPIC FILE [KEY=VALUE...]
//! ```
//!
//! With `--keyed` each line is `KEY<TAB>VALUE` and the record gets that key (for replaying
//! records another producer wrote with keys, such as Datagen's).
//!
//! Extra `KEY=VALUE` arguments are librdkafka producer settings (e.g. `linger.ms=20`). The
//! file is read into memory before the clock starts. Prints the whole-run rate (from the
//! first send to the last acknowledgement) and, as `first=... last=...` in Unix seconds,
//! the times of the first and the last acknowledgement: the steady-state window, measured
//! the same way as the benchmark measures Sluice (first acknowledged record to last); then,
//! as `threads: ...`, the CPU time of each of its threads (the script prints it beside
//! Sluice's).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

/// Counts acknowledgements and notes when the first and the last arrived.
#[derive(Default)]
struct Acks {
    acked: AtomicU64,
    failed: AtomicU64,
    first: Mutex<Option<f64>>,
    last: Mutex<Option<f64>>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let now = unix_now();
        if self.acked.fetch_add(1, Ordering::Relaxed) == 0 {
            if let Ok(mut first) = self.first.lock() {
                *first = Some(now);
            }
        }
        if let Ok(mut last) = self.last.lock() {
            *last = Some(now);
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (keyed, args) = match args.split_first() {
        Some((flag, rest)) if flag == "--keyed" => (true, rest),
        _ => (false, args.as_slice()),
    };
    let [bootstrap, topic, file, extra @ ..] = args else {
        return Err("usage: raw_produce [--keyed] BOOTSTRAP TOPIC FILE [KEY=VALUE...]".into());
    };
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random");
    for pair in extra {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=VALUE, got '{pair}'"))?;
        config.set(k, v);
    }
    let producer: ThreadedProducer<Acks> = config.create_with_context(Acks::default())?;
    let input = std::fs::read(file)?;
    let started = Instant::now();
    let mut count = 0u64;
    let mut bytes = 0u64;
    for line in input.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let (key, value) = match keyed {
            true => {
                let tab = line
                    .iter()
                    .position(|b| *b == b'\t')
                    .ok_or("a line of a --keyed file has no TAB between key and value")?;
                (Some(&line[..tab]), &line[tab + 1..])
            }
            false => (None, line),
        };
        bytes += (key.map_or(0, <[u8]>::len) + value.len()) as u64;
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(value);
        if let Some(key) = key {
            record = record.key(key);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
        count += 1;
    }
    producer.flush(Duration::from_secs(300))?;
    let secs = started.elapsed().as_secs_f64();
    let acks = producer.context();
    let failed = acks.failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} of {count} records were not delivered").into());
    }
    let first = acks.first.lock().ok().and_then(|f| *f).unwrap_or(0.0);
    let last = acks.last.lock().ok().and_then(|l| *l).unwrap_or(0.0);
    println!(
        "raw_produce: {count} records ({bytes} bytes) in {secs:.3} s: {:.0} records/s; \
         steady {:.0} records/s",
        count as f64 / secs,
        (count.saturating_sub(1)) as f64 / (last - first)
    );
    println!("first={first:.6} first_value=1 last={last:.6}");
    println!("{}", common::thread_cpu());
    Ok(())
}

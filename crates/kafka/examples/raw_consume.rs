//! The baseline of the Kafka sink benchmark (`scripts/bench/kafka-sink.sh`): a plain
//! librdkafka consumer reading every partition of a topic from the beginning until it has
//! seen COUNT records. It touches each value (sums the bytes) so the records are really
//! read; with `--write FILE` it also writes each value and a newline to FILE, as
//! FileStreamSink does (gathered into 1 MiB writes), so that the benchmark can show the cost
//! of the sink's job beside the cost of reading alone. Prints the whole-run rate (from the assignment to the last record) and, as
//! `first=... last=...` in Unix seconds, when the first and the last record arrived: the
//! steady-state window, measured the same way as the benchmark measures Sluice; then, as
//! `threads: ...`, the CPU time of each of its threads (the script prints it beside Sluice's).
//!
//! ```text
//! cargo run --release -p sluice-kafka --example raw_consume -- [--write FILE] BOOTSTRAP TOPIC COUNT [KEY=VALUE...]
//! ```
//!
//! Extra `KEY=VALUE` arguments are librdkafka consumer settings.

mod common;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (write_to, args) = match args.as_slice() {
        [flag, path, rest @ ..] if flag == "--write" => (Some(path.as_str()), rest),
        all => (None, all),
    };
    let [bootstrap, topic, count, extra @ ..] = args else {
        return Err(
            "usage: raw_consume [--write FILE] BOOTSTRAP TOPIC COUNT [KEY=VALUE...]".into(),
        );
    };
    // The output, gathered into writes of 1 MiB as FileStreamSink gathers its lines.
    let mut output = match write_to {
        Some(path) => Some(BufWriter::with_capacity(1 << 20, File::create(path)?)),
        None => None,
    };
    let wanted: u64 = count.parse()?;
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "raw-consume")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    for pair in extra {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=VALUE, got '{pair}'"))?;
        config.set(k, v);
    }
    let consumer: BaseConsumer = config.create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut assignment = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            assignment.add_partition_offset(topic, p.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&assignment)?;
    let started = Instant::now();
    let mut seen = 0u64;
    let mut bytes = 0u64;
    let mut first = 0.0;
    let deadline = started + Duration::from_secs(600);
    while seen < wanted {
        if Instant::now() > deadline {
            return Err(format!("only {seen} of {wanted} records arrived within 600 s").into());
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message?;
            let payload = message.payload().unwrap_or_default();
            bytes += payload.len() as u64;
            if let Some(out) = output.as_mut() {
                out.write_all(payload)?;
                out.write_all(b"\n")?;
            }
            if seen == 0 {
                first = unix_now();
            }
            seen += 1;
        }
    }
    if let Some(out) = output.as_mut() {
        out.flush()?;
    }
    let last = unix_now();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "raw_consume: {seen} records ({bytes} bytes) in {secs:.3} s: {:.0} records/s; \
         steady {:.0} records/s",
        seen as f64 / secs,
        (seen - 1) as f64 / (last - first)
    );
    println!("first={first:.6} first_value=1 last={last:.6}");
    println!("{}", common::thread_cpu());
    Ok(())
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

//! The baseline of the Kafka source benchmark (`scripts/bench/kafka-source.sh`): a plain
//! librdkafka producer, with the settings `sluice-kafka` gives its producers (idempotent,
//! murmur2_random partitioner, librdkafka's batching defaults), sending every line of a file
//! as one record value to a topic, and printing the records/s it reached.
//!
//! ```text
//! cargo run --release -p sluice-kafka --example raw_produce -- BOOTSTRAP TOPIC FILE [KEY=VALUE...]
//! ```
//!
//! Extra `KEY=VALUE` arguments are librdkafka producer settings (e.g. `linger.ms=20`).

use std::io::BufRead;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, topic, file, extra @ ..] = args.as_slice() else {
        return Err("usage: raw_produce BOOTSTRAP TOPIC FILE [KEY=VALUE...]".into());
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
    let producer: ThreadedProducer<DefaultProducerContext> = config.create()?;
    let input = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    let started = Instant::now();
    let mut count = 0u64;
    let mut bytes = 0u64;
    for line in input.split(b'\n') {
        let line = line?;
        bytes += line.len() as u64;
        let mut record = BaseRecord::<(), [u8]>::to(topic).payload(&line[..]);
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
    println!(
        "raw_produce: {count} records ({bytes} bytes) in {secs:.3} s: {:.0} records/s",
        count as f64 / secs
    );
    Ok(())
}

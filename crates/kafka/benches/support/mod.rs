//! What the produce and consume benches share: the record count from the command line, the
//! runtime, topics on the broker, a plain rdkafka send that waits out a full queue, and the
//! alternating rounds that measure sluice-kafka beside plain rdkafka.

use std::time::Duration;

use rdkafka::message::ToBytes;
use rdkafka::producer::{BaseRecord, ProducerContext, ThreadedProducer};
use sluice_kafka::testing;
use sluice_log::{Log, NewTopic};
use tokio::runtime::Runtime;

/// The number of records: the first command-line argument that is a number, 1,000,000
/// without one.
pub fn records() -> usize {
    std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000)
}

/// A runtime with two worker threads (one a core of the target machine).
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Creates `topic` with `partitions` partitions on the broker.
pub fn create_topic(runtime: &Runtime, topic: &str, partitions: i32) {
    runtime.block_on(async {
        let log = testing::connect().await;
        log.admin()
            .create_topic(NewTopic::new(topic, partitions))
            .await
            .expect("topic");
    });
}

/// Sends `record` through a plain rdkafka producer, waiting while its queue is full.
pub fn send<C, K, P>(
    producer: &ThreadedProducer<C>,
    mut record: BaseRecord<'_, K, P, C::DeliveryOpaque>,
) where
    C: ProducerContext,
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
{
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((_, back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// Runs the rounds raw, sluice, sluice, raw (so that a broker slowing down favours neither
/// side), each by `round` given its name, which returns its rate; answers the mean rate of
/// each side: (raw, sluice).
pub fn alternate(mut round: impl FnMut(&'static str) -> f64) -> (f64, f64) {
    let mut raw = Vec::new();
    let mut sluice = Vec::new();
    for name in ["raw", "sluice", "sluice", "raw"] {
        let rate = round(name);
        if name == "raw" {
            raw.push(rate);
        } else {
            sluice.push(rate);
        }
    }
    let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len() as f64;
    (mean(&raw), mean(&sluice))
}

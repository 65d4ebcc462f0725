//! Checks a broker for the gap `concurrent-produce-visibility` (docs/kafka.md): several
//! plain librdkafka producers write one partition of a new topic while a consumer follows
//! it from the beginning; afterwards a second consumer reads the partition again. Prints the
//! offsets the following consumer never saw. On Apache Kafka the list is always empty; on
//! the test broker it is not, now and then, once the machine's cores are busy.
//!
//! ```text
//! cargo run --release -p sluice-kafka --example concurrent_produce_visibility -- BOOTSTRAP PRODUCERS RECORDS_EACH
//! ```

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, producers, each] = args.as_slice() else {
        return Err("usage: concurrent_produce_visibility BOOTSTRAP PRODUCERS RECORDS_EACH".into());
    };
    let producers: usize = producers.parse()?;
    let each: usize = each.parse()?;
    let total = producers * each;
    let topic = format!("visibility-check-{}", std::process::id());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let created = runtime.block_on(admin.create_topics(
        &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
        &AdminOptions::new(),
    ))?;
    for result in created {
        result.map_err(|(topic, code)| format!("creating {topic}: {code}"))?;
    }

    let follower = {
        let (bootstrap, topic) = (bootstrap.clone(), topic.clone());
        std::thread::spawn(move || read(&bootstrap, &topic, total, Duration::from_secs(120)))
    };
    let writers: Vec<_> = (0..producers)
        .map(|writer| {
            let (bootstrap, topic) = (bootstrap.clone(), topic.clone());
            std::thread::spawn(move || write(&bootstrap, &topic, writer, each))
        })
        .collect();
    for writer in writers {
        writer.join().map_err(|_| "a producer thread panicked")??;
    }
    let followed: BTreeSet<i64> = follower
        .join()
        .map_err(|_| "the following consumer panicked")??
        .into_iter()
        .collect();
    let stored = read(bootstrap, &topic, total, Duration::from_secs(60))?;
    let unseen: Vec<i64> = stored
        .iter()
        .copied()
        .filter(|o| !followed.contains(o))
        .collect();
    println!(
        "{total} records written by {producers} producers; {} stored; the consumer following \
         the writes saw {} and missed {}: {:?}",
        stored.len(),
        followed.len(),
        unseen.len(),
        &unseen[..unseen.len().min(20)]
    );
    Ok(())
}

/// Writes `count` records to partition 0, pausing briefly every ten so the producers'
/// requests interleave.
fn write(bootstrap: &str, topic: &str, writer: usize, count: usize) -> Result<(), Failure> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .create()?;
    for i in 0..count {
        let value = format!("{writer}-{i}");
        let mut record = BaseRecord::<(), _>::to(topic).payload(&value).partition(0);
        while let Err((_, back)) = producer.send(record) {
            record = back;
            producer.poll(Duration::from_millis(1));
        }
        producer.poll(Duration::ZERO);
        if i % 10 == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    producer.flush(Duration::from_secs(60))?;
    Ok(())
}

/// Reads partition 0 from the beginning until `count` records or `patience` pass; answers
/// the offsets seen.
fn read(
    bootstrap: &str,
    topic: &str,
    count: usize,
    patience: Duration,
) -> Result<Vec<i64>, Failure> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "visibility-check")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut partition = TopicPartitionList::new();
    partition.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&partition)?;
    let deadline = Instant::now() + patience;
    let mut offsets = Vec::with_capacity(count);
    while offsets.len() < count && Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(50)) {
            offsets.push(message?.offset());
        }
    }
    Ok(offsets)
}

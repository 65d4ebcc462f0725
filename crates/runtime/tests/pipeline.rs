//! End-to-end runs of the worker on the embedded log with test connectors.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{
    ConsumerConfig, DeliveryFuture, Log, LogAdmin, LogConsumer, LogProducer, LogResult, NewTopic,
    ProduceRecord, ProducerConfig, TopicPartition as LogTp,
};
use sluice_runtime::connector_config::ConnectorConfig;
use sluice_runtime::offsets::{codec, FileOffsetStore, OffsetStore};
use sluice_runtime::status::State;
use sluice_runtime::worker::Worker;
use tokio::sync::watch;

fn open_log(dir: &std::path::Path, partitions: i32) -> Arc<EmbeddedLog> {
    EmbeddedLog::open(
        &dir.join("data"),
        EmbeddedLogOptions {
            default_partitions: partitions,
            ..Default::default()
        },
    )
    .unwrap()
}

fn connector(pairs: &[(&str, &str)]) -> ConnectorConfig {
    ConnectorConfig::parse(&map(pairs), &registry()).unwrap()
}

/// Records of `topic` without keys: each a (partition or `None` for the partitioner, value)
/// pair, all with `headers`.
fn value_records(
    topic: &str,
    values: impl Iterator<Item = (Option<i32>, String)>,
    headers: &[sluice_log::LogHeader],
) -> Vec<ProduceRecord> {
    values
        .map(|(partition, value)| ProduceRecord {
            topic: topic.into(),
            partition,
            key: None,
            value: Some(bytes::Bytes::from(value)),
            headers: headers.to_vec(),
            timestamp: None,
        })
        .collect()
}

fn source_offset(store: &dyn OffsetStore, name: &str) -> Option<i64> {
    let partition = sluice_api::OffsetMap::new().with("source", name.to_string());
    let value = store.get(&codec::offset_key(name, &partition))?;
    match codec::parse_offset_value(&value).unwrap().get("seq") {
        Some(sluice_api::data::Value::Int64(n)) => Some(*n),
        other => panic!("unexpected offset {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_to_log_to_sink_keeps_count_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), 1);
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets.clone());
    let topic = unique("events");
    let store = unique("store");
    let total = 20_000usize;
    worker
        .start_connector(connector(&[
            ("name", "sink"),
            ("connector.class", "RecordingSink"),
            ("topics", &topic),
            ("store", &store),
        ]))
        .await
        .unwrap();
    worker
        .start_connector(connector(&[
            ("name", "src"),
            ("connector.class", "CountingSource"),
            ("topic", &topic),
            ("records", &total.to_string()),
            ("batch.size", "700"),
        ]))
        .await
        .unwrap();
    wait_until("all records in the sink", || {
        sink_store(&store).records.len() >= total
    })
    .await;
    let status = worker.connector_status("src").unwrap();
    assert_eq!(status.connector.state, State::Running);
    assert_eq!(status.tasks[0].1.state, State::Running);
    worker.stop().await;

    let seen = sink_store(&store);
    assert_eq!(seen.records.len(), total, "no duplicates, nothing lost");
    for (i, (_, t, partition, offset, value)) in seen.records.iter().enumerate() {
        assert_eq!(t, &topic);
        assert_eq!(*partition, 0);
        assert_eq!(*offset, i as i64);
        assert_eq!(value, &i.to_string());
    }
    assert_eq!(seen.stopped, 1);
    // The final commits happened: source offsets cover everything, and the sink group is
    // at the end of the topic.
    assert_eq!(source_offset(offsets.as_ref(), "src"), Some(total as i64));
    let reread = FileOffsetStore::open(dir.path().join("offsets.dat")).unwrap();
    assert_eq!(source_offset(&reread, "src"), Some(total as i64));
    let group = log.admin().group_offsets("connect-sink").await.unwrap();
    assert_eq!(group, vec![(LogTp::new(topic.as_str(), 0), total as i64)]);
    assert_eq!(
        worker.connector_status("src").unwrap().tasks[0].1.state,
        State::Unassigned
    );
    log.close().await.unwrap();
}

/// A log whose producer holds acknowledgements back until a gate opens (the records are
/// written at once; only the acknowledgement waits).
struct GatedLog {
    inner: Arc<EmbeddedLog>,
    gate: watch::Receiver<bool>,
}

struct GatedProducer {
    inner: Arc<dyn LogProducer>,
    gate: watch::Receiver<bool>,
}

impl Log for GatedLog {
    fn admin(&self) -> Arc<dyn LogAdmin> {
        self.inner.admin()
    }
    fn producer(&self, config: ProducerConfig) -> LogResult<Arc<dyn LogProducer>> {
        Ok(Arc::new(GatedProducer {
            inner: self.inner.producer(config)?,
            gate: self.gate.clone(),
        }))
    }
    fn consumer(&self, config: ConsumerConfig) -> LogResult<Box<dyn LogConsumer>> {
        self.inner.consumer(config)
    }
}

#[async_trait::async_trait]
impl LogProducer for GatedProducer {
    fn send(&self, records: Vec<ProduceRecord>) -> DeliveryFuture {
        let ack = self.inner.send(records);
        let mut gate = self.gate.clone();
        Box::pin(async move {
            let _ = gate.wait_for(|open| *open).await;
            ack.await
        })
    }
    async fn flush(&self) -> LogResult<()> {
        self.inner.flush().await
    }
    async fn init_transactions(&self) -> LogResult<()> {
        self.inner.init_transactions().await
    }
    async fn begin_transaction(&self) -> LogResult<()> {
        self.inner.begin_transaction().await
    }
    async fn send_offsets_to_transaction(&self, o: &[(LogTp, i64)], g: &str) -> LogResult<()> {
        self.inner.send_offsets_to_transaction(o, g).await
    }
    async fn commit_transaction(&self) -> LogResult<()> {
        self.inner.commit_transaction().await
    }
    async fn abort_transaction(&self) -> LogResult<()> {
        self.inner.abort_transaction().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_offsets_cover_only_acknowledged_records_and_restart_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = open_log(dir.path(), 1);
    let (open_gate, gate) = watch::channel(false);
    let log = Arc::new(GatedLog {
        inner: embedded.clone(),
        gate,
    });
    let config = worker_config(dir.path(), &[("offset.flush.interval.ms", "20")]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log, offsets.clone());
    let name = unique("gated");
    let topic = unique("gated-topic");
    let src = |records: &str| {
        connector(&[
            ("name", &name),
            ("connector.class", SOURCE_CLASS),
            ("topic", &topic),
            ("records", records),
            ("batch.size", "10"),
        ])
    };
    worker.start_connector(src("100")).await.unwrap();
    let id = sluice_runtime::status::ConnectorTaskId {
        connector: name.as_str().into(),
        task: 0,
    };
    let counters = worker.task_counters(&id).unwrap();
    let polled = || counters.polled.load(std::sync::atomic::Ordering::Relaxed);
    // The sender holds at most 8 sends; the rest wait in the queue, so not all 100 are polled.
    wait_until("records polled", || polled() >= 30).await;
    // Several commit intervals pass with nothing acknowledged: nothing may be committed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(source_offset(offsets.as_ref(), &name), None);
    assert_eq!(
        counters.written.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    open_gate.send(true).unwrap();
    wait_until("all offsets committed", || {
        source_offset(offsets.as_ref(), &name) == Some(100)
    })
    .await;
    worker.stop().await;
    drop(worker);

    // A new worker resumes after the committed offset: 50 more records, none repeated.
    let offsets = Arc::new(FileOffsetStore::open(dir.path().join("offsets.dat")).unwrap());
    let config = worker_config(dir.path(), &[("offset.flush.interval.ms", "20")]);
    let worker = Worker::new(config, registry(), embedded.clone(), offsets.clone());
    worker.start_connector(src("150")).await.unwrap();
    wait_until("resumed records committed", || {
        source_offset(offsets.as_ref(), &name) == Some(150)
    })
    .await;
    worker.stop().await;
    assert_eq!(
        source_starts().lock().unwrap()[&name],
        vec![None, Some(100)]
    );
    let described = embedded.admin().describe_topic(&topic).await.unwrap();
    assert_eq!(described.partitions[0].latest_offset, 150);
    embedded.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_commits_only_what_pre_commit_returns() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), 1);
    let topic = unique("precommit");
    log.admin()
        .create_topic(NewTopic::new(&topic, 1))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let values = (0..100).map(|i| (None, format!("v{i}")));
    producer
        .send(value_records(&topic, values, &[]))
        .await
        .unwrap();

    let config = worker_config(dir.path(), &[("offset.flush.interval.ms", "20")]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets);
    let store = unique("limited");
    worker
        .start_connector(connector(&[
            ("name", "limited"),
            ("connector.class", SINK_CLASS),
            ("topics", &topic),
            ("store", &store),
            ("pre_commit.limit", "40"),
        ]))
        .await
        .unwrap();
    wait_until("pre_commit saw every record", || {
        sink_store(&store).pre_commit_seen.get(&(topic.clone(), 0)) == Some(&100)
    })
    .await;
    let admin = log.admin();
    let tp = LogTp::new(topic.as_str(), 0);
    let mut committed = Vec::new();
    for _ in 0..600 {
        committed = admin.group_offsets("connect-limited").await.unwrap();
        if !committed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(committed, vec![(tp.clone(), 40)]);
    worker.stop().await;
    // The final commit also goes through pre_commit.
    assert_eq!(
        admin.group_offsets("connect-limited").await.unwrap(),
        vec![(tp, 40)]
    );
    assert_eq!(sink_store(&store).records.len(), 100);
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sink_tasks_split_the_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), 1);
    let topic = unique("split");
    log.admin()
        .create_topic(NewTopic::new(&topic, 4))
        .await
        .unwrap();
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets);
    let store = unique("split-store");
    worker
        .start_connector(connector(&[
            ("name", "splitter"),
            ("connector.class", SINK_CLASS),
            ("tasks.max", "2"),
            ("topics", &topic),
            ("store", &store),
        ]))
        .await
        .unwrap();
    wait_until("idle tasks get empty puts", || {
        sink_store(&store).empty_puts > 0
    })
    .await;
    wait_until("both tasks own two partitions", || {
        let s = sink_store(&store);
        s.open.get(&0).map(|p| p.len()) == Some(2) && s.open.get(&1).map(|p| p.len()) == Some(2)
    })
    .await;
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let values = (0..400).map(|i| (Some(i % 4), format!("{i}")));
    producer
        .send(value_records(&topic, values, &[]))
        .await
        .unwrap();
    wait_until("all records put", || {
        sink_store(&store).records.len() >= 400
    })
    .await;
    worker.stop().await;
    let s = sink_store(&store);
    assert_eq!(s.records.len(), 400);
    let mut owner: std::collections::HashMap<i32, u32> = Default::default();
    for (task, _, partition, _, _) in &s.records {
        assert_eq!(
            *owner.entry(*partition).or_insert(*task),
            *task,
            "one task per partition"
        );
    }
    let tasks: std::collections::BTreeSet<u32> = owner.values().copied().collect();
    assert_eq!(tasks.len(), 2, "both tasks got partitions: {owner:?}");
    assert_eq!(s.stopped, 2);
    let committed = log.admin().group_offsets("connect-splitter").await.unwrap();
    assert_eq!(committed.len(), 4);
    assert!(committed.iter().all(|(_, o)| *o == 100), "{committed:?}");
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_is_failed_with_its_trace_while_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), 1);
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets);
    let topic = unique("bad");
    // ByteArrayConverter cannot write the test source's array values.
    worker
        .start_connector(connector(&[
            ("name", "bad"),
            ("connector.class", SOURCE_CLASS),
            ("topic", &topic),
            ("struct.values", "true"),
            ("value.converter", "ByteArray"),
        ]))
        .await
        .unwrap();
    let good_topic = unique("good");
    worker
        .start_connector(connector(&[
            ("name", "good"),
            ("connector.class", SOURCE_CLASS),
            ("topic", &good_topic),
            ("records", "10"),
        ]))
        .await
        .unwrap();
    wait_until("the bad task failed", || {
        worker.connector_status("bad").unwrap().tasks[0].1.state == State::Failed
    })
    .await;
    let status = worker.connector_status("bad").unwrap();
    let trace = status.tasks[0].1.trace.clone().unwrap();
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    assert!(trace.contains(&format!("topic '{topic}'")), "{trace}");
    assert!(trace.contains("no offset"), "{trace}");
    assert_eq!(status.connector.state, State::Running);
    // The other connector's task starts on its own thread and runs on.
    wait_until("the good task running", || {
        worker.connector_status("good").unwrap().tasks[0].1.state == State::Running
    })
    .await;
    worker.stop().await;
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_task_configs_than_tasks_max_fail_the_connector_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), 1);
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::new(config, registry(), log.clone(), offsets);
    let topic = unique("many");
    let err = worker
        .start_connector(connector(&[
            ("name", "greedy"),
            ("connector.class", SOURCE_CLASS),
            ("topic", &topic),
            ("tasks.generate", "3"),
            ("tasks.max", "2"),
        ]))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("The connector greedy has generated 3 tasks, which is greater than 2, the maximum number of tasks it is configured to create."),
        "{err}"
    );
    let status = worker.connector_status("greedy").unwrap();
    assert_eq!(status.connector.state, State::Failed);
    assert!(status.tasks.is_empty());
    worker
        .start_connector(connector(&[
            ("name", "allowed"),
            ("connector.class", SOURCE_CLASS),
            ("topic", &topic),
            ("tasks.generate", "3"),
            ("tasks.max", "2"),
            ("tasks.max.enforce", "false"),
            ("records", "0"),
        ]))
        .await
        .unwrap();
    assert_eq!(worker.connector_status("allowed").unwrap().tasks.len(), 3);
    worker.stop().await;
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_reach_sinks_unless_nothing_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), 1);
    let topic = unique("headers");
    log.admin()
        .create_topic(NewTopic::new(&topic, 1))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let origin = sluice_log::LogHeader {
        key: "origin".into(),
        value: Some(bytes::Bytes::from_static(b"test")),
    };
    let values = (0..10).map(|i| (None, format!("v{i}")));
    producer
        .send(value_records(&topic, values, &[origin]))
        .await
        .unwrap();

    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let plugins = registry_with_headerless_sink();
    let worker = Worker::new(config, plugins.clone(), log.clone(), offsets);
    let dlq = unique("headers-dlq");
    // (connector, class, extra settings, headers each record should carry)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, usize);
    let cases: [Case; 4] = [
        ("reads", SINK_CLASS, vec![], 1),
        ("ignores", HEADERLESS_SINK_CLASS, vec![], 0),
        (
            "ignores-with-dlq",
            HEADERLESS_SINK_CLASS,
            vec![
                ("errors.tolerance", "all"),
                ("errors.deadletterqueue.topic.name", &dlq),
                ("errors.deadletterqueue.topic.replication.factor", "1"),
            ],
            1,
        ),
        (
            "ignores-with-transform",
            HEADERLESS_SINK_CLASS,
            vec![
                ("transforms", "mark"),
                (
                    "transforms.mark.type",
                    "org.apache.kafka.connect.transforms.InsertHeader",
                ),
                ("transforms.mark.header", "mark"),
                ("transforms.mark.value.literal", "yes"),
            ],
            2,
        ),
    ];
    let mut stores = Vec::new();
    for (name, class, extra, _) in &cases {
        let store = unique(name);
        let mut pairs = vec![
            ("name", *name),
            ("connector.class", *class),
            ("topics", topic.as_str()),
            ("store", store.as_str()),
        ];
        pairs.extend(extra.iter().copied());
        let config = ConnectorConfig::parse(&map(&pairs), &plugins).unwrap();
        worker.start_connector(config).await.unwrap();
        stores.push(store);
    }
    for ((name, _, _, headers), store) in cases.iter().zip(&stores) {
        wait_until(&format!("{name} received every record"), || {
            sink_store(store).records.len() == 10
        })
        .await;
        assert_eq!(
            sink_store(store).header_counts,
            vec![*headers; 10],
            "headers per record of {name}"
        );
    }
    worker.stop().await;
    log.close().await.unwrap();
}

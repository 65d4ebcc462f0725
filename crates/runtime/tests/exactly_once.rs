//! Exactly-once source delivery on the embedded log: records and their offsets committed in
//! one transaction per boundary (`poll`, `interval`, `connector`), a task that stops
//! mid-transaction resuming from the last committed offsets with every record seen once by
//! a read-committed consumer, zombie tasks fenced (by a newer instance of the task and by
//! the leader before a new generation of tasks), and the validation of the settings.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorFactory, ConnectorPlugin, ConnectorTransactionBoundaries,
    ExactlyOnceSupport, SourceConnector, SourceTask, SourceTaskContext, TransactionContext,
};
use sluice_api::data::{Schema, SchemaType, Value};
use sluice_api::prelude::async_trait;
use sluice_api::{ConnectRecord, OffsetMap, Result, SourceRecord};
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{
    ConsumerConfig, IsolationLevel, Log, LogError, NewTopic, NoopRebalanceListener, ProduceRecord,
    ProducerConfig, SeekTo, TopicPartition,
};
use sluice_runtime::connector_config::{validate_connector_config_for, ConnectorConfig};
use sluice_runtime::exactly_once::{ExactlyOnceSourceSupport, ExactlyOnceWorker};
use sluice_runtime::herder::{DistributedHerder, Herder, InternalStores};
use sluice_runtime::plugins::PluginRegistry;
use sluice_runtime::status::{ConnectorTaskId, State};
use sluice_runtime::storage::{InternalTopics, StoreOptions};
use sluice_runtime::worker::Worker;
use sluice_runtime::worker_config::WorkerConfig;

use common::distributed::open_worker;

const SEQ_CLASS: &str = "test.eos.SequenceSourceConnector";
const PLAIN_CLASS: &str = "test.eos.PlainSourceConnector";
const GROUP: &str = "eos-cluster";

/// What the tasks of each connector saw: the offset each task started from, and the
/// sequence numbers `commit_record` was called for.
#[derive(Default, Clone, Debug)]
struct Seen {
    starts: Vec<Option<i64>>,
    acked: Vec<i64>,
    commits: usize,
}

fn seen() -> &'static Mutex<HashMap<String, Seen>> {
    static SEEN: OnceLock<Mutex<HashMap<String, Seen>>> = OnceLock::new();
    SEEN.get_or_init(Default::default)
}

fn seen_by(connector: &str) -> Seen {
    seen()
        .lock()
        .unwrap()
        .get(connector)
        .cloned()
        .unwrap_or_default()
}

/// A source of `records` numbered records (value: the number) from one source partition,
/// `batch.size` per poll, resuming after its committed offset. With `commit.every`, it asks
/// for a commit after every that many records (connector-defined boundaries).
struct SequenceSource {
    config: ConfigMap,
    supports_eos: bool,
}

#[async_trait]
impl Connector for SequenceSource {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new("topic", ConfigType::String))
            .define(ConfigKey::new("records", ConfigType::Long).default_value("1000"))
            .define(ConfigKey::new("batch.size", ConfigType::Int).default_value("100"))
            .define(ConfigKey::new("poll.delay.ms", ConfigType::Long).default_value("0"))
            .define(ConfigKey::new("commit.every", ConfigType::Long).default_value("0"))
            .define(ConfigKey::new("tasks.generate", ConfigType::Int).default_value("1"))
    }

    async fn start(&mut self, config: &ConfigMap, _: Arc<dyn ConnectorContext>) -> Result<()> {
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        let n: usize = self
            .config
            .get("tasks.generate")
            .map_or(1, |v| v.parse().unwrap());
        Ok((0..n)
            .map(|i| {
                let mut c = self.config.clone();
                c.insert("task.index".into(), i.to_string());
                c
            })
            .collect())
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SourceConnector for SequenceSource {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(SequenceTask::default())
    }

    fn exactly_once_support(&self, _: &ConfigMap) -> ExactlyOnceSupport {
        if self.supports_eos {
            ExactlyOnceSupport::Supported
        } else {
            ExactlyOnceSupport::Unsupported
        }
    }

    fn can_define_transaction_boundaries(&self, _: &ConfigMap) -> ConnectorTransactionBoundaries {
        if self.supports_eos {
            ConnectorTransactionBoundaries::Supported
        } else {
            ConnectorTransactionBoundaries::Unsupported
        }
    }
}

#[derive(Default)]
struct SequenceTask {
    connector: String,
    topic: String,
    next: i64,
    total: i64,
    batch: i64,
    delay: u64,
    commit_every: i64,
    partition: Arc<OffsetMap>,
    transactions: Option<Arc<dyn TransactionContext>>,
}

#[async_trait]
impl SourceTask for SequenceTask {
    async fn start(&mut self, config: &ConfigMap, context: SourceTaskContext) -> Result<()> {
        let long =
            |key: &str, default: i64| config.get(key).map_or(default, |v| v.parse().unwrap());
        self.topic = config["topic"].clone();
        self.total = long("records", 1000);
        self.batch = long("batch.size", 100);
        self.delay = long("poll.delay.ms", 0) as u64;
        self.commit_every = long("commit.every", 0);
        self.connector = context.connector.clone();
        let index = config.get("task.index").cloned().unwrap_or_default();
        self.partition = Arc::new(OffsetMap::new().with("task", index));
        self.transactions = context.transaction_context.clone();
        let stored = context
            .offsets
            .offset(&self.partition)
            .and_then(|o| match o.get("seq") {
                Some(Value::Int64(n)) => Some(*n),
                _ => None,
            });
        self.next = stored.unwrap_or(0);
        seen()
            .lock()
            .unwrap()
            .entry(self.connector.clone())
            .or_default()
            .starts
            .push(stored);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.delay > 0 {
            tokio::time::sleep(Duration::from_millis(self.delay)).await;
        }
        if self.next >= self.total {
            tokio::time::sleep(Duration::from_millis(10)).await;
            return Ok(Vec::new());
        }
        let end = (self.next + self.batch).min(self.total);
        let schema = Schema::optional(SchemaType::String);
        let records: Vec<SourceRecord> = (self.next..end)
            .map(|seq| SourceRecord {
                source_partition: self.partition.clone(),
                source_offset: OffsetMap::new().with("seq", seq + 1),
                record: ConnectRecord::new(
                    self.topic.as_str(),
                    Some(schema.clone()),
                    Value::String(seq.to_string()),
                ),
            })
            .collect();
        if let (Some(t), true) = (&self.transactions, self.commit_every > 0) {
            for r in &records {
                let Some(Value::Int64(after)) = r.source_offset.get("seq") else {
                    continue;
                };
                if after % self.commit_every == 0 {
                    t.commit_transaction_after(r);
                }
            }
        }
        self.next = end;
        Ok(records)
    }

    fn wants_record_acks(&self) -> bool {
        true
    }

    fn commit_record(&mut self, record: &SourceRecord, _offset: Option<(i32, i64)>) {
        if let Some(Value::Int64(after)) = record.source_offset.get("seq") {
            seen()
                .lock()
                .unwrap()
                .entry(self.connector.clone())
                .or_default()
                .acked
                .push(after - 1);
        }
    }

    async fn commit(&mut self) -> Result<()> {
        seen()
            .lock()
            .unwrap()
            .entry(self.connector.clone())
            .or_default()
            .commits += 1;
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

fn registry() -> Arc<PluginRegistry> {
    let mut r = PluginRegistry::new();
    r.add_connectors([
        ConnectorPlugin {
            class_name: SEQ_CLASS,
            aliases: &[],
            factory: ConnectorFactory::Source(|| {
                Box::new(SequenceSource {
                    config: ConfigMap::new(),
                    supports_eos: true,
                })
            }),
        },
        ConnectorPlugin {
            class_name: PLAIN_CLASS,
            aliases: &[],
            factory: ConnectorFactory::Source(|| {
                Box::new(SequenceSource {
                    config: ConfigMap::new(),
                    supports_eos: false,
                })
            }),
        },
    ]);
    r.add_converters(sluice_convert::plugins());
    Arc::new(r)
}

fn map(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn worker_props(dir: &Path) -> ConfigMap {
    map(&[
        ("group.id", GROUP),
        ("config.storage.topic", "connect-configs"),
        ("offset.storage.topic", "connect-offsets"),
        ("offset.storage.partitions", "3"),
        ("status.storage.topic", "connect-status"),
        ("key.converter", "StringConverter"),
        ("value.converter", "StringConverter"),
        ("offset.flush.interval.ms", "50"),
        ("exactly.once.source.support", "enabled"),
        ("embedded.log.dir", dir.join("data").to_str().unwrap()),
    ])
}

fn connector(name: &str, topic: &str, extra: &[(&str, &str)]) -> ConfigMap {
    let mut c = map(&[
        ("name", name),
        ("connector.class", SEQ_CLASS),
        ("topic", topic),
        ("exactly.once.support", "required"),
    ]);
    c.extend(map(extra));
    c
}

/// A worker running source tasks exactly-once, on its own stores of `log`.
async fn eos_worker(dir: &Path, log: &Arc<EmbeddedLog>) -> (Arc<Worker>, InternalStores) {
    let (worker, stores) = open_worker(log, &worker_props(dir), registry()).await;
    worker.enable_exactly_once(ExactlyOnceWorker {
        group_id: GROUP.into(),
        offsets: stores.offsets.clone(),
    });
    (worker, stores)
}

fn open_log(dir: &Path) -> Arc<EmbeddedLog> {
    EmbeddedLog::open(&dir.join("data"), EmbeddedLogOptions::default()).unwrap()
}

async fn create_topic(log: &EmbeddedLog, topic: &str) {
    log.admin()
        .create_topic(NewTopic::new(topic, 1))
        .await
        .unwrap();
}

fn parsed(config: &ConfigMap) -> ConnectorConfig {
    ConnectorConfig::parse_for(config, &registry(), Some(ExactlyOnceSourceSupport::Enabled))
        .unwrap()
}

/// Every value of `topic` a read-committed consumer sees, as numbers, in order.
async fn committed_values(log: &EmbeddedLog, topic: &str) -> Vec<i64> {
    read_values(log, topic, IsolationLevel::ReadCommitted).await
}

async fn read_values(log: &EmbeddedLog, topic: &str, isolation: IsolationLevel) -> Vec<i64> {
    let end = log.admin().describe_topic(topic).await.unwrap().partitions[0].latest_offset;
    let tp = TopicPartition::new(topic, 0);
    let mut consumer = log
        .consumer(ConsumerConfig {
            client_id: "eos-check".into(),
            isolation_level: isolation,
            max_poll_records: 10_000,
            ..ConsumerConfig::default()
        })
        .unwrap();
    consumer.assign(std::slice::from_ref(&tp)).await.unwrap();
    consumer.seek(&tp, SeekTo::Beginning).unwrap();
    let mut values = Vec::new();
    while consumer.position(&tp).unwrap_or(0) < end {
        let records = consumer
            .poll(Duration::from_millis(200), &mut NoopRebalanceListener)
            .await
            .unwrap();
        for r in records {
            let text = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
            values.push(text.parse().unwrap());
        }
    }
    values
}

/// Checks that `values` are exactly `0..n`, once each, in order.
fn assert_exactly_once(values: &[i64], n: i64) {
    let expected: Vec<i64> = (0..n).collect();
    if values != expected {
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for v in values {
            *counts.entry(*v).or_default() += 1;
        }
        let duplicates = counts.values().filter(|c| **c > 1).count();
        let missing = (0..n).filter(|v| !counts.contains_key(v)).count();
        panic!(
            "{} records read, {duplicates} duplicated, {missing} missing (wanted 0..{n} once each)",
            values.len()
        );
    }
}

fn task0(name: &str) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: Arc::from(name),
        task: 0,
    }
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The committed `seq` offset of task 0 of a connector, as the worker's store has it.
fn committed_seq(worker: &Worker, name: &str) -> Option<i64> {
    let key = sluice_runtime::offsets::codec::offset_key(
        name,
        &OffsetMap::new().with("task", "0".to_string()),
    );
    let value = worker.offsets().get(&key)?;
    let offset = sluice_runtime::offsets::codec::parse_offset_value(&value).ok()?;
    match offset.get("seq") {
        Some(Value::Int64(n)) => Some(*n),
        _ => None,
    }
}

#[tokio::test]
async fn poll_boundary_commits_records_and_offsets_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    create_topic(&log, "poll-out").await;
    let (worker, _stores) = eos_worker(dir.path(), &log).await;
    worker
        .start_connector(parsed(&connector(
            "poll",
            "poll-out",
            &[("records", "1000")],
        )))
        .await
        .unwrap();
    wait_until("all offsets committed", || {
        committed_seq(&worker, "poll") == Some(1000)
    })
    .await;
    let counters = worker.task_counters(&task0("poll")).unwrap();
    let committed = counters
        .transactions_committed
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(committed >= 1, "{committed} transactions");
    assert_eq!(
        counters
            .transaction_records
            .load(std::sync::atomic::Ordering::Relaxed),
        1000
    );
    worker.stop().await;

    let values = committed_values(&log, "poll-out").await;
    println!(
        "poll boundary: {} records in {committed} transactions",
        values.len()
    );
    assert_exactly_once(&values, 1000);
    // Each record was acknowledged to the task once, after its transaction committed.
    let seen = seen_by("poll");
    assert_eq!(seen.acked, (0..1000).collect::<Vec<_>>());
    assert!(seen.commits >= 1);
    log.close().await.unwrap();
}

#[tokio::test]
async fn interval_boundary_keeps_records_invisible_until_the_interval_commits() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    create_topic(&log, "interval-out").await;
    let (worker, _stores) = eos_worker(dir.path(), &log).await;
    // An interval longer than the test: only the final commit at stop ends the transaction.
    let config = connector(
        "interval",
        "interval-out",
        &[
            ("records", "2000"),
            ("batch.size", "50"),
            ("transaction.boundary", "interval"),
            ("transaction.boundary.interval.ms", "3600000"),
        ],
    );
    worker.start_connector(parsed(&config)).await.unwrap();
    let counters = worker.task_counters(&task0("interval")).unwrap();
    wait_until("every record polled", || {
        counters.polled.load(std::sync::atomic::Ordering::Relaxed) == 2000
    })
    .await;
    assert_eq!(
        committed_values(&log, "interval-out").await,
        Vec::<i64>::new()
    );
    assert_eq!(committed_seq(&worker, "interval"), None);
    assert!(seen_by("interval").acked.is_empty());

    worker.stop().await;
    assert_eq!(
        counters
            .transactions_committed
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let values = committed_values(&log, "interval-out").await;
    println!(
        "interval boundary: {} records in 1 transaction",
        values.len()
    );
    assert_exactly_once(&values, 2000);
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_task_stopped_mid_transaction_resumes_from_the_last_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    create_topic(&log, "resume-out").await;
    {
        // The task asks for a commit every 300 records; 900..999 stay in an open
        // transaction, which is dropped when the task stops.
        let (worker, _stores) = eos_worker(dir.path(), &log).await;
        let config = connector(
            "resume",
            "resume-out",
            &[
                ("records", "1000"),
                ("transaction.boundary", "connector"),
                ("commit.every", "300"),
            ],
        );
        worker.start_connector(parsed(&config)).await.unwrap();
        let counters = worker.task_counters(&task0("resume")).unwrap();
        wait_until("every record polled and 900 committed", || {
            counters.polled.load(std::sync::atomic::Ordering::Relaxed) == 1000
                && committed_seq(&worker, "resume") == Some(900)
        })
        .await;
        worker.stop().await;
        assert_eq!(
            counters
                .transactions_aborted
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }
    let partial = committed_values(&log, "resume-out").await;
    assert_exactly_once(&partial, 900);
    // Written but never committed: a read-uncommitted reader sees nothing more either,
    // as the embedded log keeps an open transaction's records until it commits.
    assert_eq!(
        read_values(&log, "resume-out", IsolationLevel::ReadUncommitted)
            .await
            .len(),
        900
    );

    // A new worker on the same log (as after a crash) resumes at 900 and commits the rest.
    let (worker, _stores) = eos_worker(dir.path(), &log).await;
    worker
        .start_connector(parsed(&connector(
            "resume",
            "resume-out",
            &[("records", "1000")],
        )))
        .await
        .unwrap();
    wait_until("the rest committed", || {
        committed_seq(&worker, "resume") == Some(1000)
    })
    .await;
    worker.stop().await;
    assert_eq!(seen_by("resume").starts, [None, Some(900)]);
    let values = committed_values(&log, "resume-out").await;
    println!(
        "stopped mid-transaction: {} committed before, {} after the restart",
        partial.len(),
        values.len()
    );
    assert_exactly_once(&values, 1000);
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_zombie_task_is_fenced_by_its_newer_instance_and_cannot_commit() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    create_topic(&log, "zombie-out").await;
    let config = connector(
        "zombie",
        "zombie-out",
        &[
            ("records", "100000"),
            ("batch.size", "10"),
            ("poll.delay.ms", "5"),
        ],
    );
    let (old, _old_stores) = eos_worker(dir.path(), &log).await;
    old.start_connector(parsed(&config)).await.unwrap();
    wait_until("the first instance committed", || {
        committed_seq(&old, "zombie").is_some_and(|s| s >= 100)
    })
    .await;

    // The same task starts elsewhere (another worker) while the first still runs.
    let (new, _new_stores) = eos_worker(dir.path(), &log).await;
    new.start_connector(parsed(&config)).await.unwrap();
    wait_until("the old instance failed", || {
        old.status()
            .task(&task0("zombie"))
            .is_some_and(|s| s.state == State::Failed)
    })
    .await;
    let trace = old.status().task(&task0("zombie")).unwrap().trace.unwrap();
    assert!(trace.contains("was fenced"), "{trace}");
    assert!(trace.contains("eos-cluster-zombie-0"), "{trace}");

    // The new instance keeps committing; stop it after some progress.
    let resumed_at = seen_by("zombie").starts[1].unwrap();
    wait_until("the new instance committed", || {
        committed_seq(&new, "zombie").is_some_and(|s| s >= resumed_at + 100)
    })
    .await;
    assert_eq!(
        new.status().task(&task0("zombie")).unwrap().state,
        State::Running
    );
    new.stop().await;
    old.stop().await;
    let last = committed_seq(&new, "zombie").unwrap();
    let values = committed_values(&log, "zombie-out").await;
    println!(
        "zombie: the new instance resumed at {resumed_at}; {} records committed in all",
        values.len()
    );
    assert_exactly_once(&values, last);
    log.close().await.unwrap();
}

#[tokio::test]
async fn the_leader_fences_the_previous_generation_before_new_tasks_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    create_topic(&log, "gen-out").await;
    let props = worker_props(dir.path());
    let topics = InternalTopics::from_worker_config(&props).unwrap();
    let stores = InternalStores::open_for(
        log.as_ref(),
        &topics,
        &StoreOptions::default(),
        Some("connect-cluster-eos-cluster".into()),
    )
    .await
    .unwrap();
    let config = WorkerConfig::parse_distributed(&props, &registry()).unwrap();
    let worker = Arc::new(Worker::new(
        config,
        registry(),
        log.clone(),
        Arc::new(stores.offsets.clone()),
    ));
    worker.enable_exactly_once(ExactlyOnceWorker {
        group_id: GROUP.into(),
        offsets: stores.offsets.clone(),
    });
    let herder =
        DistributedHerder::start(worker.clone(), registry(), &stores, "127.0.0.1:8083", "t").await;
    let two = connector(
        "gen",
        "gen-out",
        &[
            ("tasks.max", "2"),
            ("tasks.generate", "2"),
            ("records", "100000"),
            ("poll.delay.ms", "5"),
        ],
    );
    herder
        .put_connector_config("gen", two.clone(), true, None)
        .await
        .unwrap();
    assert_eq!(stores.configs.snapshot().task_count_record("gen"), Some(2));
    assert!(!stores.configs.snapshot().pending_fencing("gen"));

    // A left-over instance of task 1 (say on a worker that lost contact) has a transaction
    // open when the connector is reconfigured to one task.
    let zombie = log
        .producer(ProducerConfig {
            client_id: "zombie".into(),
            transactional_id: Some("eos-cluster-gen-1".into()),
            properties: Default::default(),
        })
        .unwrap();
    zombie.init_transactions().await.unwrap();
    zombie.begin_transaction().await.unwrap();
    let _pending = zombie.send(vec![ProduceRecord {
        topic: Arc::from("gen-out"),
        partition: Some(0),
        key: None,
        value: Some(bytes::Bytes::from_static(b"-1")),
        headers: Vec::new(),
        timestamp: None,
    }]);

    let mut one = two;
    one.insert("tasks.generate".into(), "1".into());
    herder
        .put_connector_config("gen", one, true, None)
        .await
        .unwrap();
    let snapshot = stores.configs.snapshot();
    assert_eq!(snapshot.task_count("gen"), 1);
    assert_eq!(snapshot.task_count_record("gen"), Some(1));
    assert!(!snapshot.pending_fencing("gen"));
    let commit = zombie.commit_transaction().await;
    assert!(
        matches!(commit, Err(LogError::Fenced { .. })),
        "the zombie committed: {commit:?}"
    );
    wait_until("the new task runs", || {
        worker
            .status()
            .task(&task0("gen"))
            .is_some_and(|s| s.state == State::Running)
    })
    .await;
    herder.stop().await;
    assert!(!committed_values(&log, "gen-out").await.contains(&-1));
    log.close().await.unwrap();
}

#[tokio::test]
async fn changing_a_stopped_sources_offsets_fences_its_last_tasks_first() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    create_topic(&log, "fence-out").await;
    let (worker, stores) = eos_worker(dir.path(), &log).await;
    let herder =
        DistributedHerder::start(worker.clone(), registry(), &stores, "127.0.0.1:8083", "t").await;
    let config = connector(
        "fence",
        "fence-out",
        &[("records", "100"), ("poll.delay.ms", "5")],
    );
    herder
        .put_connector_config("fence", config, true, None)
        .await
        .unwrap();
    herder.stop_connector("fence").await.unwrap();
    assert!(stores.configs.snapshot().pending_fencing("fence"));

    // The stopped connector's task 0 lives on as a zombie with a transaction open.
    let zombie = log
        .producer(ProducerConfig {
            client_id: "zombie".into(),
            transactional_id: Some("eos-cluster-fence-0".into()),
            properties: Default::default(),
        })
        .unwrap();
    zombie.init_transactions().await.unwrap();
    zombie.begin_transaction().await.unwrap();
    let _pending = zombie.send(vec![ProduceRecord {
        topic: Arc::from("fence-out"),
        partition: Some(0),
        key: None,
        value: Some(bytes::Bytes::from_static(b"-1")),
        headers: Vec::new(),
        timestamp: None,
    }]);

    herder.reset_connector_offsets("fence").await.unwrap();
    let snapshot = stores.configs.snapshot();
    assert!(!snapshot.pending_fencing("fence"));
    assert_eq!(snapshot.task_count_record("fence"), Some(0));
    let commit = zombie.commit_transaction().await;
    assert!(
        matches!(commit, Err(LogError::Fenced { .. })),
        "the zombie committed: {commit:?}"
    );
    herder.stop().await;
    assert!(!committed_values(&log, "fence-out").await.contains(&-1));
    log.close().await.unwrap();
}

#[test]
fn exactly_once_settings_are_validated_as_kafka_does() {
    let errors = |config: &ConfigMap, support: Option<ExactlyOnceSourceSupport>| {
        validate_connector_config_for(config, &registry(), support)
            .issues()
            .into_iter()
            .map(|i| format!("{}: {}", i.key, i.message))
            .collect::<Vec<_>>()
    };
    let required = connector("v", "t", &[]);
    assert_eq!(
        errors(&required, Some(ExactlyOnceSourceSupport::Enabled)),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&required, Some(ExactlyOnceSourceSupport::Preparing)),
        ["exactly.once.support: This worker does not have exactly-once source support enabled."]
    );
    let standalone = errors(&required, None);
    assert_eq!(standalone.len(), 1, "{standalone:?}");
    assert!(
        standalone[0].starts_with("exactly.once.support: Exactly-once source delivery is only available on a distributed worker"),
        "{standalone:?}"
    );
    let mut plain = required.clone();
    plain.insert("connector.class".into(), PLAIN_CLASS.into());
    assert_eq!(
        errors(&plain, Some(ExactlyOnceSourceSupport::Enabled)),
        ["exactly.once.support: The connector does not support exactly-once semantics with the provided configuration."]
    );
    // `requested` skips the check.
    plain.insert("exactly.once.support".into(), "Requested".into());
    assert_eq!(
        errors(&plain, Some(ExactlyOnceSourceSupport::Disabled)),
        Vec::<String>::new()
    );
    plain.insert("transaction.boundary".into(), "connector".into());
    assert_eq!(
        errors(&plain, Some(ExactlyOnceSourceSupport::Enabled)),
        ["transaction.boundary: The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition."]
    );
    let mut bad = connector("v", "t", &[("transaction.boundary", "batch")]);
    bad.insert("transaction.boundary.interval.ms".into(), "-5".into());
    bad.insert("offsets.storage.topic".into(), "".into());
    let bad = errors(&bad, Some(ExactlyOnceSourceSupport::Enabled));
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(
        bad.iter().any(|e| e.starts_with("transaction.boundary: ")),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|e| e.starts_with("transaction.boundary.interval.ms: ")),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|e| e.starts_with("offsets.storage.topic: ") && e.contains("non-empty")),
        "{bad:?}"
    );
    // A connector-specific offsets topic: fine on a distributed worker, refused (naming the
    // key) on a standalone one.
    let own = connector(
        "v",
        "t",
        &[
            ("offsets.storage.topic", "my-offsets"),
            ("exactly.once.support", "requested"),
        ],
    );
    assert_eq!(
        errors(&own, Some(ExactlyOnceSourceSupport::Disabled)),
        Vec::<String>::new()
    );
    let standalone = errors(&own, None);
    assert_eq!(standalone.len(), 1, "{standalone:?}");
    assert!(
        standalone[0].starts_with(
            "offsets.storage.topic: 'offsets.storage.topic' (a connector-specific offsets topic) \
             is only supported by distributed workers"
        ),
        "{standalone:?}"
    );
}

#[test]
fn the_worker_setting_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut props = worker_props(dir.path());
    props.insert("exactly.once.source.support".into(), "sometimes".into());
    let issues = WorkerConfig::parse_distributed(&props, &registry()).unwrap_err();
    assert!(
        issues
            .iter()
            .any(|i| i.key == "exactly.once.source.support"),
        "{issues:?}"
    );
    props.insert("exactly.once.source.support".into(), "PREPARING".into());
    let config = WorkerConfig::parse_distributed(&props, &registry()).unwrap();
    assert_eq!(
        ExactlyOnceSourceSupport::of_worker(&config),
        ExactlyOnceSourceSupport::Preparing
    );
}

//! Test connectors and helpers shared by the runtime's integration tests.
//!
//! `TestSource` emits `records` numbered records (value = the number as text) from one
//! source partition, resuming after the offset it reads from its context, optionally
//! waiting `poll.delay.ms` before each batch. `TestSink`
//! records every put, open and close into a named in-memory store, and its `pre_commit`
//! can hold offsets back (`pre_commit.limit`). With `reject.containing` set, a `put` whose
//! batch holds a value containing that text fails with a data error (nothing of the batch is
//! stored), or, with `reject.report=true`, reports those records through the errant-record
//! reporter and stores the rest. `HEADERLESS_SINK_CLASS` (in
//! [`registry_with_headerless_sink`]) is the same sink with tasks that say they never read
//! headers.

#![allow(dead_code)]

pub mod distributed;
pub mod http_client;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorFactory, ConnectorPlugin, SinkConnector, SinkTask,
    SinkTaskContext, SourceConnector, SourceTask, SourceTaskContext,
};
use sluice_api::data::{Schema, SchemaType, Value};
use sluice_api::prelude::async_trait;
use sluice_api::{ConnectRecord, OffsetMap, Result, SinkRecord, SourceRecord, TopicPartition};
use sluice_runtime::plugins::PluginRegistry;
use sluice_runtime::worker_config::WorkerConfig;

pub const SOURCE_CLASS: &str = "test.connect.CountingSourceConnector";
pub const SINK_CLASS: &str = "test.connect.RecordingSinkConnector";
pub const HEADERLESS_SINK_CLASS: &str = "test.connect.HeaderlessRecordingSinkConnector";

/// Offsets each TestSource task found at start, by connector name.
pub fn source_starts() -> &'static Mutex<HashMap<String, Vec<Option<i64>>>> {
    static STARTS: OnceLock<Mutex<HashMap<String, Vec<Option<i64>>>>> = OnceLock::new();
    STARTS.get_or_init(Default::default)
}

/// What a TestSink saw.
#[derive(Default, Clone, Debug)]
pub struct SinkLog {
    /// (task, topic, partition, offset, value text)
    pub records: Vec<(u32, String, i32, i64, String)>,
    /// Partitions currently open per task.
    pub open: BTreeMap<u32, BTreeSet<(String, i32)>>,
    /// Offsets handed to pre_commit, last call per partition.
    pub pre_commit_seen: HashMap<(String, i32), i64>,
    pub stopped: usize,
    /// `put` calls with no records (idle ticks).
    pub empty_puts: usize,
    /// How many headers each record of `records` carried.
    pub header_counts: Vec<usize>,
}

pub fn sink_store(name: &str) -> SinkLog {
    sinks()
        .lock()
        .unwrap()
        .get(name)
        .cloned()
        .unwrap_or_default()
}

fn sinks() -> &'static Mutex<HashMap<String, SinkLog>> {
    static SINKS: OnceLock<Mutex<HashMap<String, SinkLog>>> = OnceLock::new();
    SINKS.get_or_init(Default::default)
}

fn with_store<T>(name: &str, f: impl FnOnce(&mut SinkLog) -> T) -> T {
    let mut all = sinks().lock().unwrap();
    f(all.entry(name.to_string()).or_default())
}

/// The context each started TestSource connector got, by connector name.
fn source_contexts() -> &'static Mutex<HashMap<String, Arc<dyn ConnectorContext>>> {
    static CONTEXTS: OnceLock<Mutex<HashMap<String, Arc<dyn ConnectorContext>>>> = OnceLock::new();
    CONTEXTS.get_or_init(Default::default)
}

/// Task counts that replace `tasks.generate` of a TestSource, by connector name.
fn task_overrides() -> &'static Mutex<HashMap<String, usize>> {
    static OVERRIDES: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    OVERRIDES.get_or_init(Default::default)
}

/// Makes the TestSource connector `name` generate `tasks` task configs from now on (as if
/// what it reads had changed) and, with `ask`, asks the runtime for new task configs
/// through its context.
pub fn change_source_tasks(name: &str, tasks: usize, ask: bool) {
    task_overrides()
        .lock()
        .unwrap()
        .insert(name.to_string(), tasks);
    if ask {
        request_reconfiguration(name);
    }
}

/// Asks the runtime for new task configs on behalf of the TestSource connector `name`.
pub fn request_reconfiguration(name: &str) {
    let context = source_contexts().lock().unwrap().get(name).cloned();
    context
        .expect("the connector has started")
        .request_task_reconfiguration();
}

pub struct TestSource {
    config: ConfigMap,
}

#[async_trait]
impl Connector for TestSource {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new("topic", ConfigType::String))
            .define(ConfigKey::new("records", ConfigType::Long).default_value("100"))
            .define(ConfigKey::new("batch.size", ConfigType::Int).default_value("100"))
            .define(ConfigKey::new("tasks.generate", ConfigType::Int).default_value("1"))
            .define(ConfigKey::new("struct.values", ConfigType::Boolean).default_value("false"))
            .define(ConfigKey::new("poll.delay.ms", ConfigType::Long).default_value("0"))
    }

    async fn start(
        &mut self,
        config: &ConfigMap,
        context: Arc<dyn ConnectorContext>,
    ) -> Result<()> {
        self.config = config.clone();
        if let Some(name) = config.get("name") {
            source_contexts()
                .lock()
                .unwrap()
                .insert(name.clone(), context);
        }
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        let overridden = self
            .config
            .get("name")
            .and_then(|name| task_overrides().lock().unwrap().get(name).copied());
        let n: usize = overridden.unwrap_or_else(|| {
            self.config
                .get("tasks.generate")
                .map_or(1, |v| v.parse().unwrap())
        });
        Ok(vec![self.config.clone(); n])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SourceConnector for TestSource {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(TestSourceTask::default())
    }
}

#[derive(Default)]
pub struct TestSourceTask {
    topic: String,
    next: i64,
    total: i64,
    batch: i64,
    structs: bool,
    delay: u64,
    partition: Arc<OffsetMap>,
}

#[async_trait]
impl SourceTask for TestSourceTask {
    async fn start(&mut self, config: &ConfigMap, context: SourceTaskContext) -> Result<()> {
        self.topic = config["topic"].clone();
        self.total = config.get("records").map_or(100, |v| v.parse().unwrap());
        self.batch = config.get("batch.size").map_or(100, |v| v.parse().unwrap());
        self.structs = config.get("struct.values").is_some_and(|v| v == "true");
        self.delay = config
            .get("poll.delay.ms")
            .map_or(0, |v| v.parse().unwrap());
        self.partition = Arc::new(OffsetMap::new().with("source", context.connector.clone()));
        let stored = context
            .offsets
            .offset(&self.partition)
            .and_then(|o| match o.get("seq") {
                Some(Value::Int64(n)) => Some(*n),
                _ => None,
            });
        self.next = stored.unwrap_or(0);
        source_starts()
            .lock()
            .unwrap()
            .entry(context.connector)
            .or_default()
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
        let records = (self.next..end)
            .map(|seq| {
                let value = if self.structs {
                    Value::Array(vec![Value::Int64(seq)])
                } else {
                    Value::String(seq.to_string())
                };
                SourceRecord {
                    source_partition: self.partition.clone(),
                    source_offset: OffsetMap::new().with("seq", seq + 1),
                    record: ConnectRecord::new(self.topic.as_str(), Some(schema.clone()), value),
                }
            })
            .collect();
        self.next = end;
        Ok(records)
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

pub struct TestSink {
    config: ConfigMap,
    ignores_headers: bool,
}

#[async_trait]
impl Connector for TestSink {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new("store", ConfigType::String))
            .define(ConfigKey::new("pre_commit.limit", ConfigType::Long).default_null())
            .define(ConfigKey::new("reject.containing", ConfigType::String).default_null())
            .define(ConfigKey::new("reject.report", ConfigType::Boolean).default_value("false"))
    }

    async fn start(&mut self, config: &ConfigMap, _: Arc<dyn ConnectorContext>) -> Result<()> {
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>> {
        Ok(vec![self.config.clone(); max_tasks])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SinkConnector for TestSink {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(TestSinkTask {
            ignores_headers: self.ignores_headers,
            ..TestSinkTask::default()
        })
    }
}

#[derive(Default)]
pub struct TestSinkTask {
    store: String,
    task: u32,
    limit: Option<i64>,
    reject: Option<String>,
    reporter: Option<Arc<dyn sluice_api::connector::ErrantRecordReporter>>,
    ignores_headers: bool,
}

#[async_trait]
impl SinkTask for TestSinkTask {
    async fn start(&mut self, config: &ConfigMap, context: SinkTaskContext) -> Result<()> {
        self.store = config["store"].clone();
        self.task = context.task_id;
        self.limit = config.get("pre_commit.limit").map(|v| v.parse().unwrap());
        self.reject = config.get("reject.containing").cloned();
        if config.get("reject.report").is_some_and(|v| v == "true") {
            self.reporter = context.control.errant_record_reporter();
        }
        assert!(config.contains_key("topics") || config.contains_key("topics.regex"));
        Ok(())
    }

    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        with_store(&self.store, |s| {
            let open = s.open.entry(self.task).or_default();
            for tp in partitions {
                open.insert((tp.topic.to_string(), tp.partition));
            }
        });
        Ok(())
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        with_store(&self.store, |s| {
            let open = s.open.entry(self.task).or_default();
            for tp in partitions {
                open.remove(&(tp.topic.to_string(), tp.partition));
            }
        });
        Ok(())
    }

    async fn put(&mut self, mut records: Vec<SinkRecord>) -> Result<()> {
        if let Some(reject) = &self.reject {
            let bad = |r: &SinkRecord| matches!(&r.record.value, Value::String(v) if v.contains(reject.as_str()));
            if records.iter().any(bad) {
                let Some(reporter) = &self.reporter else {
                    return Err(sluice_api::ConnectError::data(
                        "the sink rejects this record",
                    ));
                };
                let mut kept = Vec::new();
                for r in records {
                    if bad(&r) {
                        reporter
                            .report(&r, &sluice_api::ConnectError::data("reported as errant"))?;
                    } else {
                        kept.push(r);
                    }
                }
                records = kept;
            }
        }
        with_store(&self.store, |s| {
            if records.is_empty() {
                s.empty_puts += 1;
            }
            for r in records {
                let value = match &r.record.value {
                    Value::String(v) => v.clone(),
                    other => format!("{other:?}"),
                };
                s.header_counts.push(r.record.headers.len());
                s.records.push((
                    self.task,
                    r.record.topic.to_string(),
                    r.original_partition,
                    r.kafka_offset(),
                    value,
                ));
            }
        });
        Ok(())
    }

    async fn pre_commit(
        &mut self,
        offsets: HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, i64>> {
        with_store(&self.store, |s| {
            for (tp, o) in &offsets {
                s.pre_commit_seen
                    .insert((tp.topic.to_string(), tp.partition), *o);
            }
        });
        Ok(match self.limit {
            Some(limit) => offsets
                .into_iter()
                .map(|(tp, o)| (tp, o.min(limit)))
                .collect(),
            None => offsets,
        })
    }

    async fn stop(&mut self) -> Result<()> {
        with_store(&self.store, |s| s.stopped += 1);
        Ok(())
    }

    fn reads_headers(&self) -> bool {
        !self.ignores_headers
    }
}

/// The test source and sink with the built-in converters.
fn test_plugins() -> PluginRegistry {
    let mut r = PluginRegistry::new();
    r.add_connectors([
        ConnectorPlugin {
            class_name: SOURCE_CLASS,
            aliases: &[],
            factory: ConnectorFactory::Source(|| {
                Box::new(TestSource {
                    config: ConfigMap::new(),
                })
            }),
        },
        ConnectorPlugin {
            class_name: SINK_CLASS,
            aliases: &[],
            factory: ConnectorFactory::Sink(|| {
                Box::new(TestSink {
                    config: ConfigMap::new(),
                    ignores_headers: false,
                })
            }),
        },
    ]);
    r.add_converters(sluice_convert::plugins());
    r
}

pub fn registry() -> Arc<PluginRegistry> {
    Arc::new(test_plugins())
}

/// [`registry`] plus [`HEADERLESS_SINK_CLASS`] and the built-in transformations.
pub fn registry_with_headerless_sink() -> Arc<PluginRegistry> {
    let mut r = test_plugins();
    r.add_connectors([ConnectorPlugin {
        class_name: HEADERLESS_SINK_CLASS,
        aliases: &[],
        factory: ConnectorFactory::Sink(|| {
            Box::new(TestSink {
                config: ConfigMap::new(),
                ignores_headers: true,
            })
        }),
    }]);
    r.add_transformations(sluice_transforms::transformations());
    Arc::new(r)
}

pub fn map(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A worker config using StringConverter, short commit intervals and `dir`.
pub fn worker_config(dir: &Path, extra: &[(&str, &str)]) -> WorkerConfig {
    let offsets = dir.join("offsets.dat");
    let data = dir.join("data");
    let mut props = map(&[
        ("key.converter", "StringConverter"),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        ("offset.storage.file.filename", offsets.to_str().unwrap()),
        ("offset.flush.interval.ms", "50"),
        ("embedded.log.dir", data.to_str().unwrap()),
    ]);
    props.extend(map(extra));
    WorkerConfig::parse(&props, &registry()).unwrap()
}

/// Properties of a distributed worker on the embedded log in `dir`, with the internal
/// topics `connect-configs`, `connect-offsets` (3 partitions) and `connect-status`.
pub fn distributed_worker_props(dir: &Path) -> ConfigMap {
    map(&[
        ("group.id", "test-cluster"),
        ("config.storage.topic", "connect-configs"),
        ("offset.storage.topic", "connect-offsets"),
        ("offset.storage.partitions", "3"),
        ("status.storage.topic", "connect-status"),
        ("key.converter", "StringConverter"),
        ("value.converter", "StringConverter"),
        ("offset.flush.interval.ms", "50"),
        ("embedded.log.dir", dir.join("data").to_str().unwrap()),
    ])
}

/// Waits (up to a generous limit) until `f` is true.
pub async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`wait_until`] for a check that needs to await (reading a store, calling the herder).
pub async fn wait_until_async(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

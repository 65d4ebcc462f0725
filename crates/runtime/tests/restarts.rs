//! Automatic restarts and stall detection on the embedded log, with test connectors
//! registered here: a sink whose target is down for a number of `put` calls (each failure
//! crashes the task), and a sink whose `put` hangs until released.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{map, unique, wait_until, worker_config};
use sluice_api::config::{ConfigDef, ConfigMap};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorFactory, ConnectorPlugin, SinkConnector, SinkTask,
    SinkTaskContext,
};
use sluice_api::data::Value;
use sluice_api::prelude::async_trait;
use sluice_api::{ConnectError, Result, SinkRecord};
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{Log, NewTopic, ProduceRecord, ProducerConfig};
use sluice_runtime::connector_config::ConnectorConfig;
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::plugins::PluginRegistry;
use sluice_runtime::status::{ConnectorTaskId, State};
use sluice_runtime::worker::Worker;

const FLAKY_CLASS: &str = "test.connect.FlakySinkConnector";
const HANGING_CLASS: &str = "test.connect.HangingSinkConnector";

/// What the test sinks saw and how they behave, per `store` name.
#[derive(Default)]
struct Target {
    /// `put` calls with records that still fail (the target is down).
    failures_left: u32,
    /// While true, `put` waits.
    hang: bool,
    /// When each task start happened.
    starts: Vec<Instant>,
    /// Values written.
    values: Vec<String>,
}

fn targets() -> &'static Mutex<HashMap<String, Target>> {
    static T: OnceLock<Mutex<HashMap<String, Target>>> = OnceLock::new();
    T.get_or_init(Default::default)
}

fn with_target<T>(store: &str, f: impl FnOnce(&mut Target) -> T) -> T {
    f(targets().lock().unwrap().entry(store.into()).or_default())
}

struct TestSinkConnector {
    config: ConfigMap,
    hanging: bool,
}

#[async_trait]
impl Connector for TestSinkConnector {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }

    async fn start(&mut self, config: &ConfigMap, _: Arc<dyn ConnectorContext>) -> Result<()> {
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, _max: usize) -> Result<Vec<ConfigMap>> {
        Ok(vec![self.config.clone()])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SinkConnector for TestSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(TestSinkTask {
            store: String::new(),
            hanging: self.hanging,
        })
    }
}

struct TestSinkTask {
    store: String,
    hanging: bool,
}

#[async_trait]
impl SinkTask for TestSinkTask {
    async fn start(&mut self, config: &ConfigMap, _: SinkTaskContext) -> Result<()> {
        self.store = config["store"].clone();
        with_target(&self.store, |t| t.starts.push(Instant::now()));
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        while self.hanging && with_target(&self.store, |t| t.hang) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let down = with_target(&self.store, |t| {
            let down = t.failures_left > 0;
            t.failures_left = t.failures_left.saturating_sub(1);
            down
        });
        if down {
            return Err(ConnectError::connect("the target is down"));
        }
        with_target(&self.store, |t| {
            for r in records {
                if let Value::String(v) = &r.record.value {
                    t.values.push(v.clone());
                }
            }
        });
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
            class_name: FLAKY_CLASS,
            aliases: &[],
            factory: ConnectorFactory::Sink(|| {
                Box::new(TestSinkConnector {
                    config: ConfigMap::new(),
                    hanging: false,
                })
            }),
        },
        ConnectorPlugin {
            class_name: HANGING_CLASS,
            aliases: &[],
            factory: ConnectorFactory::Sink(|| {
                Box::new(TestSinkConnector {
                    config: ConfigMap::new(),
                    hanging: true,
                })
            }),
        },
    ]);
    r.add_converters(sluice_convert::plugins());
    Arc::new(r)
}

struct Setup {
    _dir: tempfile::TempDir,
    log: Arc<EmbeddedLog>,
    worker: Arc<Worker>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(&dir.path().join("data"), EmbeddedLogOptions::default()).unwrap();
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Worker::shared(config, registry(), log.clone(), offsets);
    Setup {
        _dir: dir,
        log,
        worker,
    }
}

async fn produce(log: &EmbeddedLog, topic: &str, values: &[String]) {
    let _ = log.admin().create_topic(NewTopic::new(topic, 1)).await;
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let records = values
        .iter()
        .map(|v| ProduceRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: Some(Bytes::from(v.clone())),
            headers: Vec::new(),
            timestamp: None,
        })
        .collect();
    producer.send(records).await.unwrap();
}

fn sink(
    class: &str,
    name: &str,
    topic: &str,
    store: &str,
    extra: &[(&str, &str)],
) -> ConnectorConfig {
    let mut pairs = vec![
        ("name", name),
        ("connector.class", class),
        ("topics", topic),
        ("store", store),
    ];
    pairs.extend_from_slice(extra);
    ConnectorConfig::parse(&map(&pairs), &registry()).unwrap()
}

fn task(name: &str) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: name.into(),
        task: 0,
    }
}

fn values(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("v{i}")).collect()
}

/// Every value arrived (at least once); prints and returns the duplicates.
fn check_nothing_lost(store: &str, expected: &[String]) -> usize {
    let seen = with_target(store, |t| t.values.clone());
    let distinct: BTreeSet<&String> = seen.iter().collect();
    let wanted: BTreeSet<&String> = expected.iter().collect();
    assert_eq!(distinct, wanted, "every record arrives");
    let duplicates = seen.len() - distinct.len();
    println!(
        "{store}: {} records expected, {} written, {duplicates} duplicates",
        expected.len(),
        seen.len()
    );
    duplicates
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_crashes_three_times_is_restarted_with_growing_waits_and_loses_nothing() {
    let s = setup();
    let topic = unique("flaky");
    let store = unique("flaky-store");
    with_target(&store, |t| t.failures_left = 3);
    let input = values(0, 200);
    produce(&s.log, &topic, &input).await;
    s.worker
        .start_connector(sink(
            FLAKY_CLASS,
            "flaky",
            &topic,
            &store,
            &[
                ("errors.restart.backoff.initial.ms", "300"),
                ("errors.restart.backoff.max.ms", "5000"),
                ("errors.restart.max.attempts", "5"),
            ],
        ))
        .await
        .unwrap();
    let id = task("flaky");
    // The third restart waits 1200 ms: long enough to see the task RESTARTING.
    wait_until("the task waits for its third restart", || {
        s.worker.status().task(&id).is_some_and(|st| {
            st.state == State::Restarting
                && st.trace.as_deref().is_some_and(|t| {
                    t.contains("restart 3 of 5 in 1200 ms") && t.contains("the target is down")
                })
        })
    })
    .await;
    assert_eq!(s.worker.status().task_health(&id).restarts, 2);
    wait_until("every record arrived", || {
        with_target(&store, |t| t.values.len() >= input.len())
    })
    .await;
    let status = s.worker.status().task(&id).unwrap();
    assert_eq!(status.state, State::Running);
    assert_eq!(status.trace, None);
    assert_eq!(s.worker.status().task_health(&id).restarts, 3);
    let counters = s.worker.task_counters(&id).unwrap();
    assert_eq!(counters.restarts.load(Ordering::Relaxed), 3);
    let text = sluice_runtime::rest::metrics::render(&s.worker.metrics());
    assert!(
        text.lines()
            .any(|l| l
                == "sluice_connect_task_auto_restarts_total{connector=\"flaky\",task=\"0\"} 3"),
        "{text}"
    );
    // Four starts; each wait at least the backoff, and growing: 300, 600, 1200 ms.
    let starts = with_target(&store, |t| t.starts.clone());
    assert_eq!(starts.len(), 4);
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, min) in gaps.iter().zip([300, 600, 1200]) {
        assert!(*gap >= Duration::from_millis(min), "{gaps:?}");
    }
    s.worker.stop().await;
    check_nothing_lost(&store, &input);
    s.log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_runs_out_to_failed_and_a_manual_restart_starts_a_fresh_one() {
    let s = setup();
    let topic = unique("down");
    let store = unique("down-store");
    with_target(&store, |t| t.failures_left = u32::MAX);
    let input = values(0, 50);
    produce(&s.log, &topic, &input).await;
    s.worker
        .start_connector(sink(
            FLAKY_CLASS,
            "down",
            &topic,
            &store,
            &[
                ("errors.restart.backoff.initial.ms", "10"),
                ("errors.restart.max.attempts", "2"),
            ],
        ))
        .await
        .unwrap();
    let id = task("down");
    wait_until("the task gave up", || {
        s.worker
            .status()
            .task(&id)
            .is_some_and(|st| st.state == State::Failed)
    })
    .await;
    let trace = s.worker.status().task(&id).unwrap().trace.unwrap();
    assert!(
        trace.starts_with("org.apache.kafka.connect.errors.ConnectException: the target is down"),
        "{trace}"
    );
    assert!(trace.contains("after 2 automatic restart(s)"), "{trace}");
    assert_eq!(s.worker.status().task_health(&id).restarts, 2);
    assert_eq!(with_target(&store, |t| t.starts.len()), 3);

    // The cause goes away; a restart through the API starts again with a fresh budget.
    with_target(&store, |t| t.failures_left = 1);
    s.worker.restart_task(&id).await.unwrap();
    wait_until("every record arrived", || {
        with_target(&store, |t| t.values.len() >= input.len())
    })
    .await;
    assert_eq!(s.worker.status().task(&id).unwrap().state, State::Running);
    assert_eq!(s.worker.status().task_health(&id).restarts, 1);
    s.worker.stop().await;
    check_nothing_lost(&store, &input);
    s.log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_record_fails_at_once_and_restarts_can_be_turned_off() {
    let s = setup();
    let topic = unique("poison");
    produce(
        &s.log,
        &topic,
        &["\"ok\"".to_string(), "{not json".to_string()],
    )
    .await;
    let json = [
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
        ("errors.restart.backoff.initial.ms", "10"),
    ];
    s.worker
        .start_connector(sink(FLAKY_CLASS, "poison", &topic, &unique("p"), &json))
        .await
        .unwrap();
    let crash_topic = unique("crash");
    produce(&s.log, &crash_topic, &values(0, 5)).await;
    let store = unique("off-store");
    with_target(&store, |t| t.failures_left = 1);
    s.worker
        .start_connector(sink(
            FLAKY_CLASS,
            "off",
            &crash_topic,
            &store,
            &[("errors.restart.enable", "false")],
        ))
        .await
        .unwrap();
    for name in ["poison", "off"] {
        wait_until("the task failed", || {
            s.worker
                .status()
                .task(&task(name))
                .is_some_and(|st| st.state == State::Failed)
        })
        .await;
        assert_eq!(s.worker.status().task_health(&task(name)).restarts, 0);
    }
    let trace = s
        .worker
        .status()
        .task(&task("poison"))
        .unwrap()
        .trace
        .unwrap();
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    assert!(!trace.contains("automatic restart"), "{trace}");
    assert_eq!(with_target(&store, |t| t.starts.len()), 1);
    s.worker.stop().await;
    s.log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_delivers_nothing_while_records_wait_is_reported_stalled_until_it_delivers() {
    let s = setup();
    let topic = unique("stall");
    let store = unique("stall-store");
    with_target(&store, |t| t.hang = true);
    let input = values(0, 100);
    produce(&s.log, &topic, &input).await;
    s.worker
        .start_connector(sink(
            HANGING_CLASS,
            "hanging",
            &topic,
            &store,
            &[("errors.stall.timeout.ms", "300")],
        ))
        .await
        .unwrap();
    let id = task("hanging");
    wait_until("the task is reported stalled", || {
        s.worker.status().task_health(&id).stalled
    })
    .await;
    let counters = s.worker.task_counters(&id).unwrap();
    assert_eq!(counters.stalled.load(Ordering::Relaxed), 1);
    assert_eq!(s.worker.status().task(&id).unwrap().state, State::Running);
    let text = sluice_runtime::rest::metrics::render(&s.worker.metrics());
    assert!(
        text.lines()
            .any(|l| l == "sluice_connect_task_stalled{connector=\"hanging\",task=\"0\"} 1"),
        "{text}"
    );

    with_target(&store, |t| t.hang = false);
    wait_until("every record arrived", || {
        with_target(&store, |t| t.values.len() >= input.len())
    })
    .await;
    wait_until("the stall flag cleared", || {
        !s.worker.status().task_health(&id).stalled
    })
    .await;
    assert_eq!(counters.stalled.load(Ordering::Relaxed), 0);
    s.worker.stop().await;
    check_nothing_lost(&store, &input);
    s.log.close().await.unwrap();
}

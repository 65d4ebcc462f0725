//! The worker: runs connectors and their tasks on a log and keeps their status.
//!
//! [`Worker::start_connector`] starts a validated connector, asks it for at most `tasks.max`
//! task configs and runs each task as its own async task (see [`crate::source_task`] and
//! [`crate::sink_task`] for the loops). A connector or task that fails is marked FAILED with
//! its error trace and logged; everything else keeps running. [`Worker::stop`] stops source
//! tasks first (their last records are acknowledged and their offsets committed), then sink
//! tasks (final flush and commit), then connectors, all within
//! `task.shutdown.graceful.timeout.ms`. The log itself belongs to the caller, who closes it
//! after the worker stopped.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sluice_api::config::ConfigMap;
use sluice_api::connector::{ConnectorContext, ConnectorFactory, SinkConnector, SourceConnector};
use sluice_api::ConnectError;
use sluice_log::{ConsumerConfig, IsolationLevel, Log, OffsetReset, ProducerConfig, Subscription};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::connector_config::{ConnectorConfig, ConnectorKind, TOPICS, TOPICS_REGEX};
use crate::converters::Converters;
use crate::error::{RuntimeError, RuntimeResult};
use crate::metrics::{ProgressReporter, TaskCounters, TaskKind};
use crate::offsets::OffsetStore;
use crate::plugins::PluginRegistry;
use crate::sink_task::SinkTaskRun;
use crate::source_task::SourceTaskRun;
use crate::status::{ConnectorStatus, ConnectorTaskId, State, StatusBoard};
use crate::worker_config::WorkerConfig;

/// How often each task's progress is logged.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

enum ConnectorInstance {
    Source(Box<dyn SourceConnector>),
    Sink(Box<dyn SinkConnector>),
}

struct RunningTask {
    id: ConnectorTaskId,
    kind: TaskKind,
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
    counters: Arc<TaskCounters>,
}

struct RunningConnector {
    instance: ConnectorInstance,
    tasks: Vec<RunningTask>,
}

type TaskList = Vec<(ConnectorTaskId, TaskKind, Arc<TaskCounters>)>;

/// Runs connectors and tasks on one log.
pub struct Worker {
    config: Arc<WorkerConfig>,
    plugins: Arc<PluginRegistry>,
    log: Arc<dyn Log>,
    offsets: Arc<dyn OffsetStore>,
    status: StatusBoard,
    connectors: tokio::sync::Mutex<BTreeMap<String, RunningConnector>>,
    progress_tasks: Arc<Mutex<TaskList>>,
    progress: Option<JoinHandle<()>>,
}

/// Reports connector errors raised outside lifecycle calls into the status board.
struct Context {
    name: String,
    status: StatusBoard,
}

impl ConnectorContext for Context {
    fn request_task_reconfiguration(&self) {
        tracing::warn!(
            connector = %self.name,
            "The connector asked for task reconfiguration, which this standalone worker does \
             not do while running; restart the worker to apply it."
        );
    }

    fn raise_error(&self, error: ConnectError) {
        tracing::error!(connector = %self.name, error = %error, "Connector raised an error.");
        self.status
            .set_connector(&self.name, State::Failed, Some(error.trace()));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Worker {
    /// A worker on `log`, storing source offsets in `offsets`. Call within a Tokio runtime
    /// (it starts the periodic progress log).
    pub fn new(
        config: WorkerConfig,
        plugins: Arc<PluginRegistry>,
        log: Arc<dyn Log>,
        offsets: Arc<dyn OffsetStore>,
    ) -> Self {
        let progress_tasks: Arc<Mutex<TaskList>> = Arc::default();
        let progress = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let tasks = progress_tasks.clone();
            rt.spawn(async move {
                let mut reporter = ProgressReporter::default();
                let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let snapshot = lock(&tasks).clone();
                    reporter.report(&snapshot);
                }
            })
        });
        Worker {
            config: Arc::new(config),
            plugins,
            log,
            offsets,
            status: StatusBoard::new(),
            connectors: tokio::sync::Mutex::new(BTreeMap::new()),
            progress_tasks,
            progress,
        }
    }

    /// The worker's config.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// The states of connectors and tasks.
    pub fn status(&self) -> &StatusBoard {
        &self.status
    }

    /// A connector's status with its tasks'.
    pub fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
        self.status.connector(name)
    }

    /// Counters of a running task.
    pub fn task_counters(&self, id: &ConnectorTaskId) -> Option<Arc<TaskCounters>> {
        lock(&self.progress_tasks)
            .iter()
            .find(|(i, _, _)| i == id)
            .map(|(_, _, c)| c.clone())
    }

    /// Starts a validated connector and its tasks. A connector that fails to start or to
    /// make task configs is marked FAILED and the error returned; the worker keeps running.
    pub async fn start_connector(&self, config: ConnectorConfig) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        if connectors.contains_key(&config.name) {
            return Err(RuntimeError::ConnectorExists { name: config.name });
        }
        let name = config.name.clone();
        self.status.set_connector(&name, State::Unassigned, None);
        let context: Arc<dyn ConnectorContext> = Arc::new(Context {
            name: name.clone(),
            status: self.status.clone(),
        });
        let mut instance = match config.plugin.factory {
            ConnectorFactory::Source(make) => ConnectorInstance::Source(make()),
            ConnectorFactory::Sink(make) => ConnectorInstance::Sink(make()),
        };
        let started = match &mut instance {
            ConnectorInstance::Source(c) => c.start(&config.originals, context).await,
            ConnectorInstance::Sink(c) => c.start(&config.originals, context).await,
        };
        if let Err(e) = started {
            return Err(self.connector_failed(&name, e));
        }
        self.status.set_connector(&name, State::Running, None);
        let task_configs = match self.task_configs(&config, &instance) {
            Ok(t) => t,
            Err(e) => {
                let _ = stop_connector(&mut instance).await;
                return Err(self.connector_failed(&name, e));
            }
        };
        log_connector_start(&config, task_configs.len());
        let mut tasks = Vec::with_capacity(task_configs.len());
        for (index, task_config) in task_configs.into_iter().enumerate() {
            let id = ConnectorTaskId {
                connector: Arc::from(name.as_str()),
                task: index as u32,
            };
            tasks.push(self.start_task(&config, &instance, id, task_config));
        }
        lock(&self.progress_tasks).extend(
            tasks
                .iter()
                .map(|t| (t.id.clone(), t.kind, t.counters.clone())),
        );
        connectors.insert(name, RunningConnector { instance, tasks });
        Ok(())
    }

    fn connector_failed(&self, name: &str, e: ConnectError) -> RuntimeError {
        tracing::error!(connector = %name, error = %e, "Connector failed.");
        self.status
            .set_connector(name, State::Failed, Some(e.trace()));
        RuntimeError::Connect(e)
    }

    /// Asks the connector for task configs and checks them against `tasks.max`.
    fn task_configs(
        &self,
        config: &ConnectorConfig,
        instance: &ConnectorInstance,
    ) -> Result<Vec<ConfigMap>, ConnectError> {
        let mut configs = match instance {
            ConnectorInstance::Source(c) => c.task_configs(config.tasks_max)?,
            ConnectorInstance::Sink(c) => c.task_configs(config.tasks_max)?,
        };
        if configs.len() > config.tasks_max {
            let message = format!(
                "The connector {} has generated {} tasks, which is greater than {}, the maximum \
                 number of tasks it is configured to create. This behaviour should be considered \
                 a bug and is disallowed. If necessary, it can be permitted by reconfiguring the \
                 connector with 'tasks.max.enforce' set to false; however, this option will be \
                 removed in a future release of Kafka Connect.",
                config.name,
                configs.len(),
                config.tasks_max
            );
            if config.tasks_max_enforce {
                return Err(ConnectError::connect(message));
            }
            tracing::warn!(connector = %config.name, "{message}");
        }
        // Sink tasks get the connector's subscription, as Kafka Connect does.
        if config.kind == ConnectorKind::Sink {
            for c in &mut configs {
                for key in [TOPICS, TOPICS_REGEX] {
                    if let Some(v) = config.originals.get(key) {
                        c.insert(key.to_string(), v.clone());
                    }
                }
            }
        }
        Ok(configs)
    }

    fn start_task(
        &self,
        config: &ConnectorConfig,
        instance: &ConnectorInstance,
        id: ConnectorTaskId,
        task_config: ConfigMap,
    ) -> RunningTask {
        let (stop_tx, stop) = watch::channel(false);
        let counters = Arc::new(TaskCounters::default());
        let status = self.status.clone();
        status.set_task(&id, State::Unassigned, None);
        let kind = match instance {
            ConnectorInstance::Source(_) => TaskKind::Source,
            ConnectorInstance::Sink(_) => TaskKind::Sink,
        };
        let prepared =
            self.prepare_task(config, instance, &id, task_config, stop, counters.clone());
        let task_id = id.clone();
        let handle = tokio::spawn(async move {
            let result = match prepared {
                Ok(TaskRun::Source(run)) => run.run().await,
                Ok(TaskRun::Sink(run)) => run.run().await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => status.set_task(&task_id, State::Unassigned, None),
                Err(e) => {
                    tracing::error!(
                        connector = %task_id.connector,
                        task = task_id.task,
                        error = %e,
                        trace = %e.trace(),
                        "Task failed; it stays FAILED until the worker is restarted."
                    );
                    status.set_task(&task_id, State::Failed, Some(e.trace()));
                }
            }
        });
        RunningTask {
            id,
            kind,
            stop: stop_tx,
            handle,
            counters,
        }
    }

    fn prepare_task(
        &self,
        config: &ConnectorConfig,
        instance: &ConnectorInstance,
        id: &ConnectorTaskId,
        task_config: ConfigMap,
        stop: watch::Receiver<bool>,
        counters: Arc<TaskCounters>,
    ) -> Result<TaskRun, ConnectError> {
        let converters = Converters::for_connector(config, &self.config, &self.plugins)?;
        let w = &self.config;
        Ok(match instance {
            ConnectorInstance::Source(c) => {
                let mut properties = w.producer.clone();
                properties.extend(config.producer_overrides.clone());
                let producer = self.log.producer(ProducerConfig {
                    client_id: format!("connector-producer-{}-{}", id.connector, id.task),
                    transactional_id: None,
                    properties,
                })?;
                TaskRun::Source(SourceTaskRun {
                    id: id.clone(),
                    task: c.create_task(),
                    config: task_config,
                    converters,
                    producer,
                    offsets: self.offsets.clone(),
                    flush_interval: w.offset_flush_interval,
                    flush_timeout: w.offset_flush_timeout,
                    counters,
                    status: self.status.clone(),
                    stop,
                })
            }
            ConnectorInstance::Sink(c) => {
                let mut properties = w.consumer.clone();
                properties.extend(config.consumer_overrides.clone());
                let group = properties
                    .get("group.id")
                    .cloned()
                    .unwrap_or_else(|| format!("connect-{}", id.connector));
                let max_poll_records = config
                    .consumer_overrides
                    .get("max.poll.records")
                    .and_then(|v| v.trim().parse().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or(w.max_poll_records);
                let auto_offset_reset = match properties.get("auto.offset.reset").map(|s| s.trim())
                {
                    Some("latest") => OffsetReset::Latest,
                    _ => OffsetReset::Earliest,
                };
                let consumer = self.log.consumer(ConsumerConfig {
                    client_id: format!("connector-consumer-{}-{}", id.connector, id.task),
                    group_id: Some(group),
                    auto_offset_reset,
                    isolation_level: IsolationLevel::ReadUncommitted,
                    max_poll_records,
                    properties,
                })?;
                let subscription = config
                    .subscription
                    .clone()
                    .unwrap_or(Subscription::Topics(Vec::new()));
                TaskRun::Sink(SinkTaskRun {
                    id: id.clone(),
                    task: c.create_task(),
                    config: task_config,
                    converters,
                    consumer,
                    subscription,
                    flush_interval: w.offset_flush_interval,
                    flush_timeout: w.offset_flush_timeout,
                    counters,
                    status: self.status.clone(),
                    stop,
                })
            }
        })
    }

    /// Stops every task and connector: sources first (final acknowledgements and offset
    /// commit), then sinks (final flush and commit), then the connectors. Tasks still running
    /// after `task.shutdown.graceful.timeout.ms` are abandoned with a warning.
    pub async fn stop(&self) {
        let deadline = Instant::now() + self.config.task_shutdown_timeout;
        let mut connectors = self.connectors.lock().await;
        for kind in [TaskKind::Source, TaskKind::Sink] {
            let mut stopping = Vec::new();
            for c in connectors.values_mut() {
                for t in c.tasks.iter_mut().filter(|t| t.kind == kind) {
                    let _ = t.stop.send(true);
                    stopping.push(t);
                }
            }
            for t in stopping {
                if tokio::time::timeout_at(deadline, &mut t.handle)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        task = %t.id,
                        timeout_ms = self.config.task_shutdown_timeout.as_millis() as u64,
                        "Task did not stop within task.shutdown.graceful.timeout.ms; abandoning it."
                    );
                    t.handle.abort();
                    self.status.set_task(&t.id, State::Unassigned, None);
                }
            }
        }
        for (name, mut c) in std::mem::take(&mut *connectors) {
            let remaining = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_secs(1));
            match tokio::time::timeout(remaining, stop_connector(&mut c.instance)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(connector = %name, error = %e, "Connector failed to stop cleanly.")
                }
                Err(_) => tracing::warn!(connector = %name, "Connector did not stop in time."),
            }
            if self
                .status
                .connector(&name)
                .is_some_and(|s| s.connector.state != State::Failed)
            {
                self.status.set_connector(&name, State::Unassigned, None);
            }
        }
        lock(&self.progress_tasks).clear();
    }

    /// Names of the connectors started on this worker.
    pub async fn connector_names(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(p) = &self.progress {
            p.abort();
        }
    }
}

enum TaskRun {
    Source(SourceTaskRun),
    Sink(SinkTaskRun),
}

async fn stop_connector(instance: &mut ConnectorInstance) -> Result<(), ConnectError> {
    match instance {
        ConnectorInstance::Source(c) => c.stop().await,
        ConnectorInstance::Sink(c) => c.stop().await,
    }
}

fn log_connector_start(config: &ConnectorConfig, tasks: usize) {
    let subscription = match &config.subscription {
        Some(Subscription::Topics(t)) => format!("topics {}", t.join(",")),
        Some(Subscription::Pattern(p)) => format!("topics matching {p}"),
        None => String::new(),
    };
    tracing::info!(
        connector = %config.name,
        class = config.plugin.class_name,
        kind = config.plugin.kind(),
        tasks,
        "Starting {} connector {} ({}) with {} task{}{}{}.",
        config.plugin.kind(),
        config.name,
        config.plugin.class_name,
        tasks,
        if tasks == 1 { "" } else { "s" },
        if subscription.is_empty() { "" } else { ", reading " },
        subscription
    );
}

//! The worker: runs connectors and their tasks on a log and keeps their status.
//!
//! [`Worker::start_connector`] starts a validated connector, asks it for at most `tasks.max`
//! task configs and runs each task, with its own converters and transformation chain (built
//! from the connector config, as Kafka Connect does), as its own async task (see [`crate::source_task`] and
//! [`crate::sink_task`] for the loops). A connector or task that fails is marked FAILED with
//! its error trace and logged; everything else keeps running. A task that failed for a
//! reason a restart can cure is first restarted automatically, with growing waits, by a
//! worker made with [`Worker::shared`] (see [`crate::restart`]). [`Worker::stop`] stops source
//! tasks first (their last records are acknowledged and their offsets committed), then sink
//! tasks (final flush and commit), then connectors, all within
//! `task.shutdown.graceful.timeout.ms`. The log itself belongs to the caller, who closes it
//! after the worker stopped.
//!
//! A herder changes what runs while the worker runs, in finer steps:
//! [`Worker::add_connector`] registers a connector with a target state (started, paused or
//! stopped), [`Worker::generate_task_configs`] and [`Worker::start_tasks`] make and start
//! its tasks, [`Worker::set_target_state`] pauses (tasks keep their place, see
//! [`crate::pause`]), resumes or stops it, [`Worker::restart_connector`] and
//! [`Worker::restart_task`] restart one instance, [`Worker::reconfigure_connector`] applies a
//! new config, and [`Worker::remove_connector`] removes it. Each waits for the tasks it stops
//! (their final commits included).
//!
//! In a cluster of workers, a connector's instance and each of its tasks may be assigned to
//! different workers. [`Worker::add_connector_without_instance`] registers a connector whose
//! instance runs elsewhere, [`Worker::start_task`] and [`Worker::stop_task`] start and stop
//! one task from its committed config (a task needs the connector's config and plugin, not
//! a running connector instance), and [`Worker::start_connector_instance`] and
//! [`Worker::stop_connector_instance`] move just the instance here or away, leaving the
//! tasks as they are.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use sluice_api::config::ConfigMap;
use sluice_api::connector::{ConnectorContext, ConnectorFactory, SinkConnector, SourceConnector};
use sluice_api::ConnectError;
use sluice_log::{ConsumerConfig, IsolationLevel, Log, OffsetReset, ProducerConfig, Subscription};
use sluice_transforms::TransformChain;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config_providers::ConfigProviders;
use crate::connector_config::{ConnectorConfig, ConnectorKind, TOPICS, TOPICS_REGEX};
use crate::converters::Converters;
use crate::error::{RuntimeError, RuntimeResult};
use crate::error_handling::{ErrorHandler, ErrorPolicy};
use crate::exactly_once::{
    task_transactional_id, ExactlyOnceWorker, TaskTransactions, TransactionBoundary,
    OFFSETS_STORAGE_TOPIC,
};
use crate::metrics::{
    ProgressReporter, TaskCounters, TaskKind, TaskMetrics, WorkerCounters, WorkerMetrics,
};
use crate::offsets::OffsetStore;
use crate::pause::PauseSignal;
use crate::plugins::PluginRegistry;
use crate::restart::{AfterFailure, RestartPolicy};
use crate::sink_task::SinkTaskRun;
use crate::source_task::SourceTaskRun;
use crate::status::{ConnectorStatus, ConnectorTaskId, State, StatusBoard, TargetState};
use crate::storage::{ConnectorOffsetStore, InternalTopics, StoreOptions, TopicOffsetStore};
use crate::worker_config::{WorkerConfig, OFFSET_STORAGE_TOPIC};

/// How often each task's progress is logged.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

enum ConnectorInstance {
    Source(Box<dyn SourceConnector>),
    Sink(Box<dyn SinkConnector>),
}

struct RunningTask {
    id: ConnectorTaskId,
    kind: TaskKind,
    /// The config the task was started with (kept for restarts).
    config: ConfigMap,
    stop: watch::Sender<bool>,
    pause: watch::Sender<bool>,
    handle: JoinHandle<()>,
    counters: Arc<TaskCounters>,
    /// Tells this start of the task from earlier and later ones (automatic restarts).
    generation: u64,
}

struct RunningConnector {
    config: ConnectorConfig,
    /// The connector object; started only while `started` (a paused, stopped or failed
    /// connector's is not, but it still creates tasks).
    instance: ConnectorInstance,
    started: bool,
    /// Whether this worker runs the connector instance (false when only some of its tasks
    /// were assigned here: the instance is then never started and the connector shows
    /// UNASSIGNED on this worker).
    instance_here: bool,
    target: TargetState,
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
    startup: Arc<WorkerCounters>,
    /// Set when source tasks run exactly-once (a distributed worker with
    /// `exactly.once.source.support=enabled`).
    exactly_once: std::sync::OnceLock<ExactlyOnceWorker>,
    /// The connector-specific offsets topics opened so far (`offsets.storage.topic`), by
    /// topic name; connectors naming the same topic share its store.
    connector_offsets: Mutex<BTreeMap<String, TopicOffsetStore>>,
    /// Names of connectors that asked for new task configs, for the herder.
    reconfigure_tx: mpsc::UnboundedSender<String>,
    reconfigure_rx: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    /// The worker itself, for tasks that restart automatically (empty unless made by
    /// [`Worker::shared`]).
    this: Weak<Worker>,
    /// Numbers task starts (see `RunningTask::generation`).
    generations: AtomicU64,
}

/// Reports connector errors raised outside lifecycle calls into the status board, and
/// passes requests for new task configs to the herder.
struct Context {
    name: String,
    status: StatusBoard,
    reconfigure: mpsc::UnboundedSender<String>,
}

impl ConnectorContext for Context {
    fn request_task_reconfiguration(&self) {
        tracing::info!(connector = %self.name, "The connector asked for new task configs.");
        if self.reconfigure.send(self.name.clone()).is_err() {
            tracing::warn!(connector = %self.name, "The worker is gone; the request for new task configs is dropped.");
        }
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
        let (reconfigure_tx, reconfigure_rx) = mpsc::unbounded_channel();
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
            startup: Arc::default(),
            exactly_once: std::sync::OnceLock::new(),
            connector_offsets: Mutex::new(BTreeMap::new()),
            reconfigure_tx,
            reconfigure_rx: Mutex::new(Some(reconfigure_rx)),
            this: Weak::new(),
            generations: AtomicU64::new(0),
        }
    }

    /// Like [`Worker::new`], shared, so that it can restart failed tasks by itself (see
    /// [`crate::restart`]); the herders run such a worker. A worker made by
    /// [`Worker::new`] leaves failed tasks FAILED, as Kafka Connect does.
    pub fn shared(
        config: WorkerConfig,
        plugins: Arc<PluginRegistry>,
        log: Arc<dyn Log>,
        offsets: Arc<dyn OffsetStore>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| {
            let mut worker = Worker::new(config, plugins, log, offsets);
            worker.this = this.clone();
            worker
        })
    }

    /// The names of connectors that asked for new task configs
    /// (`ConnectorContext::request_task_reconfiguration`), in the order asked; the herder
    /// takes the receiver once (`None` afterwards) and acts on the requests.
    pub fn take_reconfiguration_requests(&self) -> Option<mpsc::UnboundedReceiver<String>> {
        lock(&self.reconfigure_rx).take()
    }

    /// Runs source tasks started from now on exactly-once (see [`crate::exactly_once`]):
    /// each with a transactional producer, writing its offsets to `eos.offsets` inside its
    /// transactions. Call before starting connectors; a second call changes nothing.
    pub fn enable_exactly_once(&self, eos: ExactlyOnceWorker) {
        if self.exactly_once.set(eos).is_err() {
            tracing::warn!(
                "Exactly-once source support was enabled twice; keeping the first settings."
            );
        }
    }

    /// The exactly-once settings of source tasks, when enabled.
    pub fn exactly_once(&self) -> Option<&ExactlyOnceWorker> {
        self.exactly_once.get()
    }

    /// The worker's config.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// The log connectors run on.
    pub fn log(&self) -> &Arc<dyn Log> {
        &self.log
    }

    /// Where source offsets are kept.
    pub fn offsets(&self) -> &Arc<dyn OffsetStore> {
        &self.offsets
    }

    /// Where one source connector's offsets are read and written (the REST offsets API
    /// uses it): with `offsets.storage.topic` naming a topic other than the worker's, that
    /// topic (created when missing) in front of the worker's store; otherwise the worker's
    /// store. Both are read to the end first, so a listing or a reset on any worker covers
    /// what tasks on every worker committed.
    pub async fn source_offset_store(
        &self,
        config: &ConnectorConfig,
    ) -> Result<Arc<dyn OffsetStore>, ConnectError> {
        self.offsets
            .catch_up()
            .await
            .map_err(|e| ConnectError::Connect {
                message: format!("cannot read the offsets of connector {}", config.name),
                source: Some(Box::new(e)),
            })?;
        // Opening the connector's own topic reads it to the end.
        Ok(match self.open_connector_offsets(config).await? {
            Some(primary) => Arc::new(ConnectorOffsetStore::new(primary, self.offsets.clone())),
            None => self.offsets.clone(),
        })
    }

    /// The source connector's own offsets topic, when `offsets.storage.topic` names one
    /// other than the worker's `offset.storage.topic`.
    fn connector_offsets_topic<'a>(&self, config: &'a ConnectorConfig) -> Option<&'a str> {
        if config.kind != ConnectorKind::Source {
            return None;
        }
        let topic = config
            .originals
            .get(OFFSETS_STORAGE_TOPIC)
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())?;
        let worker_topic = self
            .config
            .originals
            .get(OFFSET_STORAGE_TOPIC)
            .map(|t| t.trim());
        (worker_topic != Some(topic)).then_some(topic)
    }

    /// Opens the connector's own offsets topic (see [`Worker::connector_offsets_topic`]),
    /// or reads an open one to the end, so tasks starting next see what other workers
    /// committed to it. `None`: the connector uses the worker's store.
    async fn open_connector_offsets(
        &self,
        config: &ConnectorConfig,
    ) -> Result<Option<TopicOffsetStore>, ConnectError> {
        let Some(topic) = self.connector_offsets_topic(config) else {
            return Ok(None);
        };
        let failed = |e: crate::storage::StorageError| ConnectError::Connect {
            message: format!(
                "connector {} cannot use its offsets topic '{topic}' ({OFFSETS_STORAGE_TOPIC})",
                config.name
            ),
            source: Some(Box::new(e)),
        };
        let open = lock(&self.connector_offsets).get(topic).cloned();
        if let Some(store) = open {
            store.refresh().await.map_err(failed)?;
            return Ok(Some(store));
        }
        let mut spec = InternalTopics::from_worker_config(&self.config.originals)
            .map_err(|issues| {
                let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
                ConnectError::config(
                    OFFSETS_STORAGE_TOPIC,
                    format!(
                        "a connector-specific offsets topic needs a distributed worker's \
                         offset.storage.* settings: {}",
                        text.join("; ")
                    ),
                )
            })?
            .offsets;
        spec.name = topic.to_owned();
        let group = self
            .config
            .originals
            .get("group.id")
            .map_or("", String::as_str);
        let options = StoreOptions {
            client_id_base: format!("{group}-{}-", config.name),
            producer: self.config.producer.clone(),
            consumer: self.config.consumer.clone(),
            ..StoreOptions::default()
        };
        let store = TopicOffsetStore::open_connector_topic(self.log.as_ref(), &spec, &options)
            .await
            .map_err(failed)?;
        tracing::info!(
            connector = %config.name,
            topic,
            "Opened the connector-specific offsets topic."
        );
        Ok(Some(
            lock(&self.connector_offsets)
                .entry(topic.to_owned())
                .or_insert(store)
                .clone(),
        ))
    }

    /// The opened connector-specific offsets topic of a source connector whose tasks start
    /// (opened by [`Worker::open_connector_offsets`] before); `None`: the worker's store.
    fn task_connector_offsets(
        &self,
        config: &ConnectorConfig,
    ) -> Result<Option<TopicOffsetStore>, ConnectError> {
        let Some(topic) = self.connector_offsets_topic(config) else {
            return Ok(None);
        };
        match lock(&self.connector_offsets).get(topic) {
            Some(store) => Ok(Some(store.clone())),
            None => Err(ConnectError::connect(format!(
                "the offsets topic '{topic}' ({OFFSETS_STORAGE_TOPIC}) of connector {} is not \
                 open on this worker",
                config.name
            ))),
        }
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

    /// A snapshot of the worker's metrics: connector and task states, task counters and
    /// startup counters.
    pub fn metrics(&self) -> WorkerMetrics {
        let connectors = self
            .status
            .connector_names()
            .iter()
            .filter_map(|name| self.status.connector(name))
            .collect();
        let tasks = lock(&self.progress_tasks)
            .iter()
            .map(|(id, kind, counters)| TaskMetrics {
                id: id.clone(),
                kind: *kind,
                counters: counters.clone(),
            })
            .collect();
        WorkerMetrics {
            connectors,
            tasks,
            worker: self.startup.clone(),
        }
    }

    /// Starts a validated connector and its tasks. A connector that fails to start or to
    /// make task configs is marked FAILED and the error returned; the worker keeps running,
    /// and keeps the connector registered so it can be restarted or removed.
    pub async fn start_connector(&self, config: ConnectorConfig) -> RuntimeResult<()> {
        let name = config.name.clone();
        self.add_connector(config, TargetState::Started).await?;
        let tasks = self.generate_task_configs(&name).await?;
        self.start_tasks(&name, tasks).await
    }

    /// Registers a validated connector with a target state. Started, its `start` runs
    /// (RUNNING, or FAILED with the error returned); paused or stopped, it shows that state
    /// until [`Worker::set_target_state`] starts it. Tasks start separately
    /// ([`Worker::start_tasks`]), from configs the connector made
    /// ([`Worker::generate_task_configs`]) or that were stored.
    pub async fn add_connector(
        &self,
        config: ConnectorConfig,
        target: TargetState,
    ) -> RuntimeResult<()> {
        self.register(config, target, true).await
    }

    /// Registers a validated connector whose instance runs elsewhere, so that some of its
    /// tasks can run here ([`Worker::start_task`]) from their committed configs. The
    /// connector shows UNASSIGNED on this worker; the target state still pauses and stops
    /// its tasks. [`Worker::start_connector_instance`] takes the instance over later.
    pub async fn add_connector_without_instance(
        &self,
        config: ConnectorConfig,
        target: TargetState,
    ) -> RuntimeResult<()> {
        self.register(config, target, false).await
    }

    async fn register(
        &self,
        config: ConnectorConfig,
        target: TargetState,
        instance_here: bool,
    ) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        if connectors.contains_key(&config.name) {
            return Err(RuntimeError::ConnectorExists { name: config.name });
        }
        let name = config.name.clone();
        self.status.set_connector(&name, State::Unassigned, None);
        let mut connector = RunningConnector {
            instance: new_instance(&config),
            config,
            started: false,
            instance_here,
            target,
            tasks: Vec::new(),
        };
        let result = self.apply_target(&mut connector).await;
        connectors.insert(name, connector);
        result
    }

    /// Brings the connector instance in line with its target state: started (a fresh
    /// instance) for STARTED, stopped otherwise; records the connector's state.
    async fn apply_target(&self, c: &mut RunningConnector) -> RuntimeResult<()> {
        let name = c.config.name.clone();
        if !c.instance_here {
            self.stop_instance(c).await;
            self.status.set_connector(&name, State::Unassigned, None);
            return Ok(());
        }
        match c.target {
            TargetState::Started if c.started => {
                self.status.set_connector(&name, State::Running, None);
            }
            TargetState::Started => {
                c.instance = new_instance(&c.config);
                let context: Arc<dyn ConnectorContext> = Arc::new(Context {
                    name: name.clone(),
                    status: self.status.clone(),
                    reconfigure: self.reconfigure_tx.clone(),
                });
                TaskCounters::add(&self.startup.connector_startup_attempts, 1);
                let started = match self.resolve_placeholders(&c.config.originals) {
                    Err(e) => Err(e),
                    Ok(resolved) => match &mut c.instance {
                        ConnectorInstance::Source(i) => i.start(&resolved, context).await,
                        ConnectorInstance::Sink(i) => i.start(&resolved, context).await,
                    },
                };
                if let Err(e) = started {
                    TaskCounters::add(&self.startup.connector_startup_failure, 1);
                    return Err(self.connector_failed(&name, e));
                }
                TaskCounters::add(&self.startup.connector_startup_success, 1);
                c.started = true;
                self.status.set_connector(&name, State::Running, None);
            }
            TargetState::Paused | TargetState::Stopped => {
                self.stop_instance(c).await;
                self.status.set_connector(&name, c.target.state(), None);
            }
        }
        Ok(())
    }

    /// Stops a started connector instance (tasks are stopped separately).
    async fn stop_instance(&self, c: &mut RunningConnector) {
        if !c.started {
            return;
        }
        c.started = false;
        let name = &c.config.name;
        let limit = self
            .config
            .task_shutdown_timeout
            .max(Duration::from_secs(1));
        match tokio::time::timeout(limit, stop_connector(&mut c.instance)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(connector = %name, error = %e, "Connector failed to stop cleanly.")
            }
            Err(_) => tracing::warn!(connector = %name, "Connector did not stop in time."),
        }
    }

    /// Asks a started connector for its task configs (at most `tasks.max`, unless
    /// `tasks.max.enforce=false`). A failure marks the connector FAILED and stops it.
    pub async fn generate_task_configs(&self, name: &str) -> RuntimeResult<Vec<ConfigMap>> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors.get_mut(name).ok_or_else(|| unknown(name))?;
        if !c.started {
            return Err(RuntimeError::Connect(ConnectError::connect(format!(
                "connector {name} is not running, so it cannot make task configs"
            ))));
        }
        match self.task_configs(&c.config, &c.instance) {
            Ok(t) => Ok(t),
            Err(e) => {
                self.stop_instance(c).await;
                Err(self.connector_failed(name, e))
            }
        }
    }

    /// Starts a connector's tasks from these configs (task `i` gets `configs[i]`), after
    /// stopping the tasks it had. Tasks of a paused connector start paused.
    pub async fn start_tasks(&self, name: &str, configs: Vec<ConfigMap>) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors.get_mut(name).ok_or_else(|| unknown(name))?;
        let old = std::mem::take(&mut c.tasks);
        self.stop_task_list(old, self.shutdown_deadline(), true)
            .await;
        if let Err(e) = self.open_connector_offsets(&c.config).await {
            return Err(self.connector_failed(name, e));
        }
        log_connector_start(&c.config, configs.len());
        let paused = c.target == TargetState::Paused;
        for (index, task_config) in configs.into_iter().enumerate() {
            let id = ConnectorTaskId {
                connector: Arc::from(name),
                task: index as u32,
            };
            let task = self.spawn_task(&c.config, &c.instance, id, task_config, paused);
            c.tasks.push(task);
        }
        lock(&self.progress_tasks).extend(
            c.tasks
                .iter()
                .map(|t| (t.id.clone(), t.kind, t.counters.clone())),
        );
        Ok(())
    }

    /// Stops a connector's tasks (each gets its final commit) and forgets their states.
    pub async fn stop_tasks(&self, name: &str) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors.get_mut(name).ok_or_else(|| unknown(name))?;
        let old = std::mem::take(&mut c.tasks);
        self.stop_task_list(old, self.shutdown_deadline(), true)
            .await;
        Ok(())
    }

    /// Runs the instance of a connector registered here (with
    /// [`Worker::add_connector_without_instance`]) on this worker too: it starts if its
    /// target state says so (RUNNING, or FAILED with the error returned). Its tasks here are
    /// not touched. Nothing changes when the instance runs here already.
    pub async fn start_connector_instance(&self, name: &str) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors.get_mut(name).ok_or_else(|| unknown(name))?;
        if c.instance_here {
            return Ok(());
        }
        c.instance_here = true;
        self.apply_target(c).await
    }

    /// Stops the connector instance only, keeping the connector registered and its tasks
    /// here running (the instance moved to another worker); the connector then shows
    /// UNASSIGNED on this worker. Nothing changes when the instance does not run here.
    pub async fn stop_connector_instance(&self, name: &str) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors.get_mut(name).ok_or_else(|| unknown(name))?;
        if !c.instance_here {
            return Ok(());
        }
        c.instance_here = false;
        self.apply_target(c).await
    }

    /// Whether the connector's instance runs on this worker (`None` when the connector is
    /// not registered here).
    pub async fn has_connector_instance(&self, name: &str) -> Option<bool> {
        self.connectors
            .lock()
            .await
            .get(name)
            .map(|c| c.instance_here)
    }

    /// Starts one task of a registered connector from its (committed) config, with no need
    /// for the connector instance on this worker; paused if the connector is. A task of the
    /// same id running here is stopped first (with its final commit). The connector's other
    /// tasks are not touched. A STOPPED connector runs no tasks: starting one is refused.
    pub async fn start_task(
        &self,
        id: &ConnectorTaskId,
        task_config: ConfigMap,
    ) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors
            .get_mut(&*id.connector)
            .ok_or_else(|| unknown(&id.connector))?;
        if c.target == TargetState::Stopped {
            return Err(RuntimeError::Connect(ConnectError::connect(format!(
                "connector {} is STOPPED, so its task {} cannot start",
                id.connector, id.task
            ))));
        }
        let index = c.tasks.partition_point(|t| t.id.task < id.task);
        if c.tasks.get(index).is_some_and(|t| t.id == *id) {
            let old = c.tasks.remove(index);
            self.stop_task_list(vec![old], self.shutdown_deadline(), false)
                .await;
        }
        if let Err(e) = self.open_connector_offsets(&c.config).await {
            tracing::error!(task = %id, error = %e, "Task cannot start.");
            self.status.set_task(id, State::Failed, Some(e.trace()));
            return Err(RuntimeError::Connect(e));
        }
        let paused = c.target == TargetState::Paused;
        let task = self.spawn_task(&c.config, &c.instance, id.clone(), task_config, paused);
        lock(&self.progress_tasks).push((task.id.clone(), task.kind, task.counters.clone()));
        c.tasks.insert(index, task);
        Ok(())
    }

    /// Stops one task (with its final commit) and forgets its state; the connector's other
    /// tasks and its instance are not touched.
    pub async fn stop_task(&self, id: &ConnectorTaskId) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors
            .get_mut(&*id.connector)
            .ok_or_else(|| unknown(&id.connector))?;
        let index = c
            .tasks
            .iter()
            .position(|t| t.id == *id)
            .ok_or_else(|| RuntimeError::UnknownTask { id: id.to_string() })?;
        let old = c.tasks.remove(index);
        self.stop_task_list(vec![old], self.shutdown_deadline(), true)
            .await;
        Ok(())
    }

    /// The numbers of a connector's tasks running on this worker, in order (`None` when the
    /// connector is not registered here).
    pub async fn running_tasks(&self, name: &str) -> Option<Vec<u32>> {
        self.connectors
            .lock()
            .await
            .get(name)
            .map(|c| c.tasks.iter().map(|t| t.id.task).collect())
    }

    /// Applies a target state: PAUSED pauses the tasks (they keep their place and commit
    /// what they processed) and stops the connector instance; STARTED starts the instance
    /// again and resumes the tasks; STOPPED stops the tasks and the instance. Starting can
    /// fail (the connector is then FAILED and the error returned).
    pub async fn set_target_state(&self, name: &str, target: TargetState) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors.get_mut(name).ok_or_else(|| unknown(name))?;
        c.target = target;
        match target {
            TargetState::Started | TargetState::Paused => {
                for t in &c.tasks {
                    let _ = t.pause.send(target == TargetState::Paused);
                }
            }
            TargetState::Stopped => {
                let old = std::mem::take(&mut c.tasks);
                self.stop_task_list(old, self.shutdown_deadline(), true)
                    .await;
            }
        }
        self.apply_target(c).await
    }

    /// Restarts the connector instance (not its tasks): RESTARTING, then the state its
    /// target gives (RUNNING, or FAILED with the error returned; PAUSED; STOPPED).
    pub async fn restart_connector(&self, name: &str) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors.get_mut(name).ok_or_else(|| unknown(name))?;
        self.status.set_connector(name, State::Restarting, None);
        self.stop_instance(c).await;
        self.apply_target(c).await
    }

    /// Restarts one task with its current config: RESTARTING, stopped (with its final
    /// commit), then started again (paused if the connector is).
    pub async fn restart_task(&self, id: &ConnectorTaskId) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors
            .get_mut(&*id.connector)
            .ok_or_else(|| unknown(&id.connector))?;
        let index = c
            .tasks
            .iter()
            .position(|t| t.id == *id)
            .ok_or_else(|| RuntimeError::UnknownTask { id: id.to_string() })?;
        self.status.set_task(id, State::Restarting, None);
        let paused = c.target == TargetState::Paused;
        let old = c.tasks.remove(index);
        let config = old.config.clone();
        self.stop_task_list(vec![old], self.shutdown_deadline(), false)
            .await;
        self.status.set_task(id, State::Restarting, None);
        let task = self.spawn_task(&c.config, &c.instance, id.clone(), config, paused);
        lock(&self.progress_tasks).push((task.id.clone(), task.kind, task.counters.clone()));
        c.tasks.insert(index, task);
        Ok(())
    }

    /// Stops a connector and its tasks and forgets it (its states and active topics).
    /// Returns false when no such connector runs here.
    pub async fn remove_connector(&self, name: &str) -> bool {
        let mut connectors = self.connectors.lock().await;
        let Some(mut c) = connectors.remove(name) else {
            return false;
        };
        let old = std::mem::take(&mut c.tasks);
        self.stop_task_list(old, self.shutdown_deadline(), true)
            .await;
        self.stop_instance(&mut c).await;
        self.status.remove_connector(name);
        true
    }

    /// Replaces a connector's config: its tasks and instance stop, and the instance starts
    /// again with the new config if its target state says so (tasks start separately). The
    /// connector keeps its target state, active topics and offsets.
    pub async fn reconfigure_connector(&self, config: ConnectorConfig) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors
            .get_mut(&config.name)
            .ok_or_else(|| unknown(&config.name))?;
        let old = std::mem::take(&mut c.tasks);
        self.stop_task_list(old, self.shutdown_deadline(), true)
            .await;
        self.stop_instance(c).await;
        c.config = config;
        self.apply_target(c).await
    }

    /// Replaces a connector's config and restarts its instance (when it runs here) with it,
    /// leaving its tasks running: with an assignment, tasks restart only when the task
    /// configs the new instance makes differ from theirs.
    pub async fn reconfigure_connector_instance(
        &self,
        config: ConnectorConfig,
    ) -> RuntimeResult<()> {
        let mut connectors = self.connectors.lock().await;
        let c = connectors
            .get_mut(&config.name)
            .ok_or_else(|| unknown(&config.name))?;
        self.stop_instance(c).await;
        c.config = config;
        self.apply_target(c).await
    }

    /// The configs of a connector's running tasks, in task order.
    pub async fn running_task_configs(&self, name: &str) -> Option<Vec<ConfigMap>> {
        let connectors = self.connectors.lock().await;
        connectors
            .get(name)
            .map(|c| c.tasks.iter().map(|t| t.config.clone()).collect())
    }

    fn shutdown_deadline(&self) -> Instant {
        Instant::now() + self.config.task_shutdown_timeout
    }

    /// Signals every task of the list to stop, then waits for each until `deadline`
    /// (abandoning those still running). With `forget`, their states are removed.
    async fn stop_task_list(&self, mut tasks: Vec<RunningTask>, deadline: Instant, forget: bool) {
        if tasks.is_empty() {
            return;
        }
        for t in &tasks {
            let _ = t.stop.send(true);
        }
        for t in &mut tasks {
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
        lock(&self.progress_tasks).retain(|(id, _, _)| !tasks.iter().any(|t| t.id == *id));
        if forget {
            for t in &tasks {
                self.status.remove_task(&t.id);
            }
        }
    }

    fn connector_failed(&self, name: &str, e: ConnectError) -> RuntimeError {
        tracing::error!(connector = %name, error = %e, "Connector failed.");
        self.status
            .set_connector(name, State::Failed, Some(e.trace()));
        RuntimeError::Connect(e)
    }

    /// `config` with its `${provider:path:key}` placeholders resolved by the worker's config
    /// providers, for handing to a connector or task; the stored config keeps them.
    fn resolve_placeholders<'a>(
        &self,
        config: &'a ConfigMap,
    ) -> Result<Cow<'a, ConfigMap>, ConnectError> {
        if !ConfigProviders::has_placeholders(config) {
            return Ok(Cow::Borrowed(config));
        }
        self.config
            .config_providers
            .resolve(config)
            .map(Cow::Owned)
            .map_err(|issues| {
                let key = issues.first().map(|i| i.key.clone()).unwrap_or_default();
                let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
                ConnectError::config(key, text.join("; "))
            })
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
        // Task configs are stored and shown: put back the placeholders of values the
        // connector copied from its resolved config (Kafka's reverse transformation).
        if let Ok(resolved) = self.resolve_placeholders(&config.originals) {
            for task_config in &mut configs {
                for (key, value) in task_config.iter_mut() {
                    if let Some(raw) = config.originals.get(key) {
                        if raw != value && resolved.get(key) == Some(value) {
                            value.clone_from(raw);
                        }
                    }
                }
            }
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

    fn spawn_task(
        &self,
        config: &ConnectorConfig,
        instance: &ConnectorInstance,
        id: ConnectorTaskId,
        task_config: ConfigMap,
        paused: bool,
    ) -> RunningTask {
        self.start_task_with(config, instance, id, task_config, paused, None)
    }

    /// Starts a task. `restarted` carries, for an automatic restart, the restarts in a row
    /// so far and the task's counters (kept across automatic restarts); otherwise the task
    /// starts with a fresh restart budget and fresh counters.
    fn start_task_with(
        &self,
        config: &ConnectorConfig,
        instance: &ConnectorInstance,
        id: ConnectorTaskId,
        task_config: ConfigMap,
        paused: bool,
        restarted: Option<(u32, Arc<TaskCounters>)>,
    ) -> RunningTask {
        let (stop_tx, stop) = watch::channel(false);
        let (pause_tx, pause) = watch::channel(paused);
        let (attempts, counters) = restarted.unwrap_or_else(|| {
            let counters = Arc::new(TaskCounters {
                topics: self.status.topics(&id.connector).for_task(id.task),
                ..TaskCounters::default()
            });
            (0, counters)
        });
        counters.stalled.store(0, Ordering::Relaxed);
        let status = self.status.clone();
        status.set_task_stalled(&id, false);
        status.set_task_restarts(&id, attempts);
        if attempts == 0 {
            status.set_task(&id, State::Unassigned, None);
        }
        let restart = RestartPolicy::from_configs(&self.config.originals, &config.originals);
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let this = self.this.clone();
        let mut stopped = stop.clone();
        let task_counters = counters.clone();
        let kind = match instance {
            ConnectorInstance::Source(_) => TaskKind::Source,
            ConnectorInstance::Sink(_) => TaskKind::Sink,
        };
        let pause = PauseSignal::new(pause, id.clone(), status.clone());
        let prepared = self
            .resolve_placeholders(&task_config)
            .and_then(|resolved| {
                self.prepare_task(
                    config,
                    instance,
                    &id,
                    resolved.into_owned(),
                    TaskControls { stop, pause },
                    counters.clone(),
                )
            });
        TaskCounters::add(&self.startup.task_startup_attempts, 1);
        let outcome = match &prepared {
            Ok(_) => &self.startup.task_startup_success,
            Err(_) => &self.startup.task_startup_failure,
        };
        TaskCounters::add(outcome, 1);
        let task_id = id.clone();
        let handle = tokio::spawn(async move {
            let started = Instant::now();
            let result = match prepared {
                Ok(TaskRun::Source(run)) => run.run().await,
                Ok(TaskRun::Sink(run)) => run.run().await,
                Err(e) => Err(e),
            };
            let e = match result {
                Ok(()) => return status.set_task(&task_id, State::Unassigned, None),
                Err(e) => e,
            };
            let plan = match this.strong_count() {
                0 => AfterFailure::Fail { attempts },
                _ => restart.after_failure(attempts, started.elapsed(), &e),
            };
            let (attempt, delay) = match plan {
                AfterFailure::Restart { attempt, delay } => (attempt, delay),
                AfterFailure::Fail { attempts } | AfterFailure::GiveUp { attempts } => {
                    tracing::error!(
                        connector = %task_id.connector,
                        task = task_id.task,
                        error = %e,
                        trace = %e.trace(),
                        restarts = attempts,
                        "Task failed; it stays FAILED until it is restarted."
                    );
                    status.set_task_restarts(&task_id, attempts);
                    let trace = crate::restart::failed_trace(attempts, &e);
                    return status.set_task(&task_id, State::Failed, Some(trace));
                }
            };
            tracing::warn!(
                connector = %task_id.connector,
                task = task_id.task,
                error = %e,
                trace = %e.trace(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                "Task failed; restarting it automatically in {} ms (restart {attempt} in a row).",
                delay.as_millis()
            );
            let trace = crate::restart::restarting_trace(&restart, attempt, delay, &e);
            status.set_task(&task_id, State::Restarting, Some(trace));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stopped.wait_for(|s| *s) => {
                    return status.set_task(&task_id, State::Unassigned, None);
                }
            }
            let restarted = match this.upgrade() {
                Some(worker) => {
                    let again = (attempt, task_counters);
                    worker
                        .auto_restart(&task_id, generation, again, stopped)
                        .await
                }
                None => false,
            };
            if !restarted {
                status.set_task(&task_id, State::Unassigned, None);
            }
        });
        RunningTask {
            id,
            kind,
            config: task_config,
            stop: stop_tx,
            pause: pause_tx,
            handle,
            counters,
            generation,
        }
    }

    /// Restarts a task that failed, from its own (finishing) future, unless it was stopped or
    /// replaced meanwhile. Returns whether it restarted it.
    async fn auto_restart(
        &self,
        id: &ConnectorTaskId,
        generation: u64,
        restarted: (u32, Arc<TaskCounters>),
        mut stop: watch::Receiver<bool>,
    ) -> bool {
        // A stop may be waiting for this very future while holding the lock.
        let mut connectors = tokio::select! {
            guard = self.connectors.lock() => guard,
            _ = stop.wait_for(|s| *s) => return false,
        };
        if *stop.borrow() {
            return false;
        }
        let Some(c) = connectors.get_mut(&*id.connector) else {
            return false;
        };
        let Some(index) = c
            .tasks
            .iter()
            .position(|t| t.id == *id && t.generation == generation)
        else {
            return false;
        };
        TaskCounters::add(&restarted.1.restarts, 1);
        tracing::info!(task = %id, restart = restarted.0, "Restarting the task automatically.");
        let paused = c.target == TargetState::Paused;
        let task_config = c.tasks[index].config.clone();
        let task = self.start_task_with(
            &c.config,
            &c.instance,
            id.clone(),
            task_config,
            paused,
            Some(restarted),
        );
        // The old entry's handle is the future running this: dropping it detaches it.
        drop(std::mem::replace(&mut c.tasks[index], task));
        true
    }

    fn prepare_task(
        &self,
        config: &ConnectorConfig,
        instance: &ConnectorInstance,
        id: &ConnectorTaskId,
        task_config: ConfigMap,
        controls: TaskControls,
        counters: Arc<TaskCounters>,
    ) -> Result<TaskRun, ConnectError> {
        let TaskControls { stop, pause } = controls;
        let converters = Converters::for_connector(config, &self.config, &self.plugins)?;
        let transforms = transform_chain(config, &self.plugins)?;
        let w = &self.config;
        Ok(match instance {
            ConnectorInstance::Source(c) => {
                let mut properties = w.producer.clone();
                properties.extend(config.producer_overrides.clone());
                let own_topic = self.task_connector_offsets(config)?;
                let transactions = self.exactly_once.get().map(|eos| {
                    let boundary = TransactionBoundary::of_connector(
                        &config.originals,
                        w.offset_flush_interval,
                    );
                    TaskTransactions {
                        transactional_id: task_transactional_id(
                            &eos.group_id,
                            &id.connector,
                            id.task,
                        ),
                        boundary,
                        offsets: match &own_topic {
                            Some(topic) => {
                                ConnectorOffsetStore::new(topic.clone(), self.offsets.clone())
                            }
                            None => ConnectorOffsetStore::only(eos.offsets.clone()),
                        },
                        requests: (boundary == TransactionBoundary::Connector).then(Arc::default),
                    }
                });
                let producer = self.log.producer(ProducerConfig {
                    client_id: format!("connector-producer-{}-{}", id.connector, id.task),
                    transactional_id: transactions.as_ref().map(|t| t.transactional_id.clone()),
                    properties,
                })?;
                TaskRun::Source(SourceTaskRun {
                    transactions,
                    id: id.clone(),
                    task: c.create_task(),
                    config: task_config,
                    converters,
                    transforms,
                    producer,
                    offsets: match own_topic {
                        Some(topic) => {
                            Arc::new(ConnectorOffsetStore::new(topic, self.offsets.clone()))
                        }
                        None => self.offsets.clone(),
                    },
                    flush_interval: w.offset_flush_interval,
                    flush_timeout: w.offset_flush_timeout,
                    counters: counters.clone(),
                    status: self.status.clone(),
                    stop,
                    pause,
                    errors: Arc::new(
                        ErrorHandler::new(
                            ErrorPolicy::from_connector_config(&config.originals),
                            id.connector.to_string(),
                            id.task,
                            None,
                        )
                        .with_counters(counters.errors.clone()),
                    ),
                    stall_timeout: crate::restart::stall_timeout(&w.originals, &config.originals),
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
                let task = c.create_task();
                let policy = ErrorPolicy::from_connector_config(&config.originals);
                let consumer = self.log.consumer(ConsumerConfig {
                    client_id: format!("connector-consumer-{}-{}", id.connector, id.task),
                    group_id: Some(group),
                    auto_offset_reset,
                    isolation_level: IsolationLevel::ReadUncommitted,
                    max_poll_records,
                    properties,
                    // Copying the next batch out of the client overlaps with converting
                    // and putting this one (docs/PERFORMANCE.md, sink path).
                    read_ahead: true,
                    // Nothing would read them: not the task, no transformation (they may
                    // read, add or route on headers), no dead-letter queue (it keeps the
                    // original headers).
                    skip_headers: !task.reads_headers()
                        && transforms.is_empty()
                        && policy.dead_letter_queue.is_none(),
                })?;
                let subscription = config
                    .subscription
                    .clone()
                    .unwrap_or(Subscription::Topics(Vec::new()));
                let dead_letter_producer = match &policy.dead_letter_queue {
                    Some(_) => {
                        let mut properties = w.producer.clone();
                        properties.extend(config.producer_overrides.clone());
                        Some(self.log.producer(ProducerConfig {
                            client_id: format!(
                                "connector-dlq-producer-{}-{}",
                                id.connector, id.task
                            ),
                            transactional_id: None,
                            properties,
                        })?)
                    }
                    None => None,
                };
                let errors = Arc::new(
                    ErrorHandler::new(
                        policy,
                        id.connector.to_string(),
                        id.task,
                        dead_letter_producer,
                    )
                    .with_counters(counters.errors.clone()),
                );
                // With `admin.override.*` settings the task (DLQ topic creation, lag) gets
                // its own admin client; otherwise it shares the worker's.
                let admin = if config.admin_overrides.is_empty() {
                    self.log.admin()
                } else {
                    self.log.admin_with(&config.admin_overrides).map_err(|e| {
                        crate::client_overrides::refused_override(
                            crate::client_overrides::ADMIN_OVERRIDE_PREFIX,
                            &config.admin_overrides,
                            e,
                        )
                    })?
                };
                TaskRun::Sink(SinkTaskRun {
                    id: id.clone(),
                    task,
                    config: task_config,
                    converters,
                    transforms,
                    consumer,
                    subscription,
                    flush_interval: w.offset_flush_interval,
                    flush_timeout: w.offset_flush_timeout,
                    counters,
                    status: self.status.clone(),
                    stop,
                    pause,
                    errors,
                    admin,
                    stall_timeout: crate::restart::stall_timeout(&w.originals, &config.originals),
                })
            }
        })
    }

    /// Stops every task and connector: sources first (final acknowledgements and offset
    /// commit), then sinks (final flush and commit), then the connectors. Tasks still running
    /// after `task.shutdown.graceful.timeout.ms` are abandoned with a warning.
    pub async fn stop(&self) {
        let deadline = self.shutdown_deadline();
        let mut connectors = self.connectors.lock().await;
        for kind in [TaskKind::Source, TaskKind::Sink] {
            let mut stopping = Vec::new();
            for c in connectors.values_mut() {
                let (these, others) = std::mem::take(&mut c.tasks)
                    .into_iter()
                    .partition(|t| t.kind == kind);
                c.tasks = others;
                stopping.extend::<Vec<RunningTask>>(these);
            }
            self.stop_task_list(stopping, deadline, false).await;
        }
        for (name, mut c) in std::mem::take(&mut *connectors) {
            self.stop_instance(&mut c).await;
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

/// How the worker stops and pauses a running task.
struct TaskControls {
    stop: watch::Receiver<bool>,
    pause: PauseSignal,
}

enum TaskRun {
    Source(SourceTaskRun),
    Sink(SinkTaskRun),
}

/// The transformation chain of a task. Validation has checked the config already; an error
/// here (e.g. a plugin that fails only when built twice) fails the task with every problem.
fn transform_chain(
    config: &ConnectorConfig,
    plugins: &PluginRegistry,
) -> Result<TransformChain, ConnectError> {
    TransformChain::from_config(&config.originals, plugins).map_err(|errors| {
        let mut errors = errors.into_iter();
        match (errors.next(), errors.len()) {
            (Some(only), 0) => only,
            (first, _) => ConnectError::connect(format!(
                "invalid transformation config: {}",
                first
                    .into_iter()
                    .chain(errors)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    })
}

fn new_instance(config: &ConnectorConfig) -> ConnectorInstance {
    match config.plugin.factory {
        ConnectorFactory::Source(make) => ConnectorInstance::Source(make()),
        ConnectorFactory::Sink(make) => ConnectorInstance::Sink(make()),
    }
}

fn unknown(name: &str) -> RuntimeError {
    RuntimeError::UnknownConnector {
        name: name.to_string(),
    }
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

//! The standalone herder: connector configs and target states in memory, everything run
//! by one [`Worker`], as Kafka's `StandaloneHerder`.
//!
//! [`StandaloneSetup::load`] reads and validates the worker file and connector files before
//! anything starts, and reports every problem of every file at once (each naming its file
//! and key), so a `sluice standalone` with a bad config exits without touching the log or
//! the offsets.
//!
//! Changes (create, update, delete, pause, resume, stop, restart, offsets) run one at a time;
//! reads see the state after the last finished change and never wait for one. A connector
//! whose target state is STARTED has its task configs made by the connector when it starts
//! and whenever its config changes (its tasks restart with the new config; offsets are
//! kept); PAUSED keeps the tasks but stops their work; STOPPED removes them. A running
//! connector that asks for new task configs (`request_task_reconfiguration`) gets its tasks
//! restarted when the configs it then makes differ from its tasks'
//! ([`StandaloneHerder::follow_reconfiguration_requests`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use sluice_api::config::ConfigMap;

use super::entities::*;
use super::{
    follow_reconfigurations, offsets, status_view, validation, Created, Herder, HerderError,
    HerderResult, Reconfigure,
};
use crate::config_file::{load_connector_config, load_properties};
use crate::connector_config::{ConnectorConfig, NAME};
use crate::error::{ConfigIssue, ConfigIssues, RuntimeError};
use crate::plugins::PluginRegistry;
use crate::status::{ConnectorTaskId, State, Status, TargetState};
use crate::worker::Worker;
use crate::worker_config::WorkerConfig;

/// A worker config and connector configs that passed validation.
#[derive(Debug)]
pub struct StandaloneSetup {
    /// The worker config.
    pub worker: WorkerConfig,
    /// Each connector with the file it came from.
    pub connectors: Vec<(PathBuf, ConnectorConfig)>,
}

impl StandaloneSetup {
    /// Loads and validates the worker file and every connector file. On failure, returns one
    /// error per file that has problems, each listing all of them.
    pub fn load(
        worker_file: &Path,
        connector_files: &[PathBuf],
        plugins: &PluginRegistry,
    ) -> Result<Self, Vec<RuntimeError>> {
        let mut errors = Vec::new();
        let worker = match load_properties(worker_file) {
            Ok(props) => match WorkerConfig::parse(&props, plugins) {
                Ok(w) => Some(w),
                Err(issues) => {
                    errors.push(invalid(worker_file, issues));
                    None
                }
            },
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let mut connectors: Vec<(PathBuf, ConnectorConfig)> = Vec::new();
        for file in connector_files {
            let props = match load_connector_config(file) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            // Placeholders must resolve with the worker's config providers; the stored config
            // keeps them.
            if let Some(w) = &worker {
                if let Err(issues) = w.config_providers.resolve(&props) {
                    errors.push(invalid(file, issues));
                    continue;
                }
                let disallowed = w.client_override_policy.violations(&props);
                if !disallowed.is_empty() {
                    errors.push(invalid(file, disallowed));
                    continue;
                }
            }
            match ConnectorConfig::parse(&props, plugins) {
                Ok(c) => {
                    if let Some((other, _)) = connectors.iter().find(|(_, o)| o.name == c.name) {
                        errors.push(invalid(
                            file,
                            vec![ConfigIssue::new(
                                "name",
                                format!(
                                    "connector name '{}' is already used by '{}'",
                                    c.name,
                                    other.display()
                                ),
                            )],
                        ));
                    } else {
                        connectors.push((file.clone(), c));
                    }
                }
                Err(issues) => errors.push(invalid(file, issues)),
            }
        }
        match worker {
            Some(worker) if errors.is_empty() => Ok(StandaloneSetup { worker, connectors }),
            _ => Err(errors),
        }
    }
}

fn invalid(file: &Path, issues: Vec<ConfigIssue>) -> RuntimeError {
    RuntimeError::InvalidConfig {
        source_name: format!("'{}'", file.display()),
        issues: ConfigIssues(issues),
    }
}

/// A connector as the herder keeps it.
struct Entry {
    /// The config as given (with `name`).
    config: ConfigMap,
    parsed: ConnectorConfig,
    target: TargetState,
    /// The configs of its tasks (empty while stopped, or before a paused connector first
    /// starts).
    tasks: Vec<ConfigMap>,
}

/// Runs connectors on one worker, without a cluster.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    plugins: Arc<PluginRegistry>,
    worker_id: String,
    kafka_cluster_id: String,
    /// Serializes changes.
    ops: tokio::sync::Mutex<()>,
    connectors: RwLock<BTreeMap<String, Entry>>,
    /// Acts on the connectors' requests for new task configs, once followed.
    reconfigure_loop: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl StandaloneHerder {
    /// A herder driving `worker`. `worker_id` (`host:port` of the REST listener) is shown
    /// in statuses; `kafka_cluster_id` identifies the log.
    pub fn new(
        worker: Arc<Worker>,
        plugins: Arc<PluginRegistry>,
        worker_id: impl Into<String>,
        kafka_cluster_id: impl Into<String>,
    ) -> Self {
        StandaloneHerder {
            worker,
            plugins,
            worker_id: worker_id.into(),
            kafka_cluster_id: kafka_cluster_id.into(),
            ops: tokio::sync::Mutex::new(()),
            connectors: RwLock::new(BTreeMap::new()),
            reconfigure_loop: std::sync::Mutex::new(None),
        }
    }

    /// Acts on the connectors' requests for new task configs from now on
    /// (`request_task_reconfiguration`): the connector is asked for task configs again and,
    /// when they differ from its tasks', its tasks restart with the new ones. Call once
    /// after wrapping the herder in an `Arc`; until then requests wait.
    pub fn follow_reconfiguration_requests(self: &Arc<Self>) {
        if let Some(handle) = follow_reconfigurations(self, &self.worker) {
            *self
                .reconfigure_loop
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(handle);
        }
    }

    /// The worker.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// Starts an already validated connector (from a file given at startup). A connector
    /// that fails to start shows FAILED and stays registered.
    pub async fn start_connector(&self, config: ConnectorConfig) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        let name = config.name.clone();
        if self.read().contains_key(&name) {
            return Err(already_exists(&name));
        }
        self.create(config, TargetState::Started).await;
        Ok(())
    }

    /// Stops every connector and task (see [`Worker::stop`]).
    pub async fn stop(&self) {
        let _op = self.ops.lock().await;
        if let Some(h) = self
            .reconfigure_loop
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            h.abort();
        }
        self.worker.stop().await;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.connectors.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Entry>> {
        self.connectors.write().unwrap_or_else(|p| p.into_inner())
    }

    fn with_entry<T>(
        &self,
        name: &str,
        missing: impl FnOnce(&str) -> HerderError,
        f: impl FnOnce(&Entry) -> T,
    ) -> HerderResult<T> {
        self.read().get(name).map(f).ok_or_else(|| missing(name))
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self.write().get_mut(name) {
            f(e);
        }
    }

    /// Registers a new connector on the worker and, when started, its tasks.
    async fn create(&self, parsed: ConnectorConfig, target: TargetState) {
        let name = parsed.name.clone();
        if let Err(e) = self.worker.add_connector(parsed.clone(), target).await {
            tracing::warn!(connector = %name, error = %e, "Connector did not start.");
        }
        let tasks = if target == TargetState::Started {
            self.start_tasks(&name).await
        } else {
            Vec::new()
        };
        self.write().insert(
            name,
            Entry {
                config: parsed.originals.clone(),
                parsed,
                target,
                tasks,
            },
        );
    }

    /// Asks a started connector for task configs and starts them; none when it fails (the
    /// connector is then FAILED).
    async fn start_tasks(&self, name: &str) -> Vec<ConfigMap> {
        let configs = match self.worker.generate_task_configs(name).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "No tasks started.");
                return Vec::new();
            }
        };
        self.run_tasks(name, configs).await
    }

    /// Starts a connector's tasks from `configs` (stopping those it had); answers the
    /// configs of the tasks that run.
    async fn run_tasks(&self, name: &str, configs: Vec<ConfigMap>) -> Vec<ConfigMap> {
        match self.worker.start_tasks(name, configs.clone()).await {
            Ok(()) => configs,
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "No tasks started.");
                Vec::new()
            }
        }
    }

    /// Asks a started connector for task configs again and, when they differ from its
    /// tasks', restarts its tasks with them. The caller holds `ops`.
    async fn refresh_tasks(&self, name: &str) {
        let Some(current) = self.read().get(name).map(|e| e.tasks.clone()) else {
            return;
        };
        let generated = match self.worker.generate_task_configs(name).await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "The connector made no task configs; its tasks are unchanged.");
                return;
            }
        };
        if generated == current {
            tracing::debug!(connector = %name, "The connector's task configs are unchanged.");
            return;
        }
        tracing::info!(connector = %name, tasks = generated.len(), "New task configs; restarting the connector's tasks.");
        let tasks = self.run_tasks(name, generated).await;
        self.update(name, |e| e.tasks = tasks);
    }

    /// Validates, then creates or replaces; the caller holds `ops`.
    async fn put_locked(
        &self,
        name: &str,
        mut config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>> {
        match config.get(NAME) {
            Some(n) if n != name => {
                return Err(HerderError::BadRequest(format!(
                    "Connector name configuration ({n}) doesn't match connector name in the URL ({name})"
                )))
            }
            Some(_) => {}
            None => {
                config.insert(NAME.to_string(), name.to_string());
            }
        }
        let mut infos = validation::config_infos(&config, &self.plugins)?;
        validation::add_override_policy_errors(
            &mut infos,
            &config,
            self.worker.config().client_override_policy,
        );
        if infos.error_count > 0 {
            return Err(HerderError::BadRequest(validation::invalid_config_message(
                &infos,
            )));
        }
        let parsed = ConnectorConfig::parse(&config, &self.plugins).map_err(|issues| {
            HerderError::BadRequest(
                issues
                    .iter()
                    .map(|i| i.message.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        let existing = self.read().get(name).map(|e| e.target);
        let created = match existing {
            Some(_) if !allow_replace => return Err(already_exists(name)),
            Some(target) => {
                if let Err(e) = self.worker.reconfigure_connector(parsed.clone()).await {
                    tracing::warn!(connector = %name, error = %e, "Connector did not start after its config changed.");
                }
                let tasks = if target == TargetState::Started {
                    self.start_tasks(name).await
                } else {
                    Vec::new()
                };
                self.update(name, |e| {
                    e.config = config;
                    e.parsed = parsed;
                    e.tasks = tasks;
                });
                false
            }
            None => {
                self.create(parsed, initial_state.unwrap_or_default()).await;
                true
            }
        };
        let value = self.info(name)?;
        Ok(Created { created, value })
    }

    fn info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        self.with_entry(name, HerderError::connector_not_found, |e| ConnectorInfo {
            name: name.to_string(),
            config: e.config.clone(),
            tasks: (0..e.tasks.len())
                .map(|task| TaskId {
                    connector: name.to_string(),
                    task: task as u32,
                })
                .collect(),
            kind: e.parsed.kind.into(),
        })
    }

    fn kind_of(&self, name: &str) -> ConnectorType {
        self.read()
            .get(name)
            .map_or(ConnectorType::Unknown, |e| e.parsed.kind.into())
    }

    fn task_state(&self, id: u32, status: &Status) -> TaskState {
        status_view::task_state(&self.worker_id, id, status)
    }

    /// The connector's status, with `restarting` instances shown RESTARTING.
    fn state_info(
        &self,
        name: &str,
        restart_connector: bool,
        restart_tasks: &[u32],
    ) -> HerderResult<ConnectorStateInfo> {
        status_view::state_info(
            &self.worker,
            &self.worker_id,
            name,
            self.kind_of(name),
            restart_connector,
            restart_tasks,
        )
    }

    /// The target state, task count and parsed config of a connector.
    fn snapshot(
        &self,
        name: &str,
        missing: impl FnOnce(&str) -> HerderError,
    ) -> HerderResult<(TargetState, usize, ConnectorConfig)> {
        self.with_entry(name, missing, |e| {
            (e.target, e.tasks.len(), e.parsed.clone())
        })
    }

    /// Checks that offsets may change: the connector is STOPPED and has no tasks.
    fn stopped_config(&self, name: &str) -> HerderResult<ConnectorConfig> {
        let (target, tasks, parsed) = self.snapshot(name, HerderError::connector_not_found)?;
        if target != TargetState::Stopped || tasks > 0 {
            return Err(HerderError::BadRequest(offsets::not_stopped_message(name)));
        }
        Ok(parsed)
    }
}

#[async_trait]
impl Reconfigure for StandaloneHerder {
    async fn reconfigure_tasks(&self, name: &str) {
        let _op = self.ops.lock().await;
        let started = self
            .read()
            .get(name)
            .is_some_and(|e| e.target == TargetState::Started);
        if started {
            self.refresh_tasks(name).await;
        } else {
            tracing::info!(connector = %name, "Skipping the reconfiguration of a connector that is not running.");
        }
    }
}

fn already_exists(name: &str) -> HerderError {
    HerderError::Conflict(format!("Connector {name} already exists"))
}

#[async_trait]
impl Herder for StandaloneHerder {
    fn plugins(&self) -> &PluginRegistry {
        &self.plugins
    }

    fn server_info(&self) -> ServerInfo {
        ServerInfo::of_cluster(&self.kafka_cluster_id)
    }

    fn topic_tracking(&self) -> bool {
        self.worker.config().rest.topic_tracking
    }

    fn topic_tracking_reset(&self) -> bool {
        self.worker.config().rest.topic_tracking_reset
    }

    fn metrics(&self) -> crate::metrics::WorkerMetrics {
        self.worker.metrics()
    }

    async fn connectors(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        self.info(name)
    }

    async fn connector_config(&self, name: &str) -> HerderResult<ConfigMap> {
        self.with_entry(name, HerderError::connector_not_found, |e| e.config.clone())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>> {
        let _op = self.ops.lock().await;
        self.put_locked(name, config, allow_replace, initial_state)
            .await
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        let _op = self.ops.lock().await;
        let mut config =
            self.with_entry(name, HerderError::connector_not_found, |e| e.config.clone())?;
        for (key, value) in patch {
            match value {
                Some(v) => {
                    config.insert(key, v);
                }
                None => {
                    config.remove(&key);
                }
            }
        }
        Ok(self.put_locked(name, config, true, None).await?.value)
    }

    async fn delete_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        if !self.read().contains_key(name) {
            return Err(HerderError::connector_not_found(name));
        }
        self.worker.remove_connector(name).await;
        self.write().remove(name);
        tracing::info!(connector = %name, "Connector deleted.");
        Ok(())
    }

    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>> {
        self.with_entry(name, HerderError::connector_not_found, |e| {
            e.tasks
                .iter()
                .enumerate()
                .map(|(task, config)| TaskInfo {
                    id: TaskId {
                        connector: name.to_string(),
                        task: task as u32,
                    },
                    config: config.clone(),
                })
                .collect()
        })
    }

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo> {
        if !self.read().contains_key(name) {
            return Err(HerderError::NotFound(format!(
                "No status found for connector {name}"
            )));
        }
        self.state_info(name, false, &[])
    }

    async fn task_status(&self, name: &str, task: u32) -> HerderResult<TaskState> {
        let id = ConnectorTaskId {
            connector: Arc::from(name),
            task,
        };
        match self.worker.status().task(&id) {
            Some(s) if self.read().contains_key(name) => Ok(status_view::with_health(
                self.task_state(task, &s),
                self.worker.status().task_health(&id),
            )),
            _ => Err(HerderError::NotFound(format!(
                "No status found for task {id}"
            ))),
        }
    }

    async fn restart_connector(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> HerderResult<Option<ConnectorStateInfo>> {
        let _op = self.ops.lock().await;
        if request.is_legacy() {
            let (target, tasks, _) = self.snapshot(name, HerderError::connector_not_found)?;
            if let Err(e) = self.worker.restart_connector(name).await {
                tracing::warn!(connector = %name, error = %e, "Connector did not restart.");
            }
            // A connector that failed before making tasks gets them now.
            if target == TargetState::Started && tasks == 0 {
                let tasks = self.start_tasks(name).await;
                self.update(name, |e| e.tasks = tasks);
            }
            return Ok(None);
        }
        let (target, _, _) = self.snapshot(name, |n| {
            HerderError::NotFound(format!("Unknown connector: {n}"))
        })?;
        let current = self.state_info(name, false, &[])?;
        let failed = |state: &str| state == State::Failed.as_str();
        let restart_connector = !request.only_failed || failed(&current.connector.state);
        let restart_tasks: Vec<u32> = if request.include_tasks {
            current
                .tasks
                .iter()
                .filter(|t| !request.only_failed || failed(&t.state))
                .map(|t| t.id)
                .collect()
        } else {
            Vec::new()
        };
        let answer = self.state_info(name, restart_connector, &restart_tasks)?;
        if restart_connector {
            if let Err(e) = self.worker.restart_connector(name).await {
                tracing::warn!(connector = %name, error = %e, "Connector did not restart.");
            }
        }
        for task in &restart_tasks {
            let id = ConnectorTaskId {
                connector: Arc::from(name),
                task: *task,
            };
            if let Err(e) = self.worker.restart_task(&id).await {
                tracing::warn!(task = %id, error = %e, "Task did not restart.");
            }
        }
        let has_tasks = self.read().get(name).is_some_and(|e| !e.tasks.is_empty());
        if restart_connector && target == TargetState::Started && !has_tasks {
            let tasks = self.start_tasks(name).await;
            self.update(name, |e| e.tasks = tasks);
        }
        Ok(Some(answer))
    }

    async fn restart_task(&self, name: &str, task: u32) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        let (_, tasks, _) = self.snapshot(name, HerderError::connector_not_found)?;
        let id = ConnectorTaskId {
            connector: Arc::from(name),
            task,
        };
        if task as usize >= tasks {
            return Err(HerderError::NotFound(format!("Task {id} not found")));
        }
        self.worker.restart_task(&id).await.map_err(|e| match e {
            RuntimeError::UnknownTask { .. } | RuntimeError::UnknownConnector { .. } => {
                HerderError::NotFound(format!("Task {id} not found"))
            }
            other => HerderError::Internal(other.to_string()),
        })
    }

    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        self.snapshot(name, HerderError::unknown_connector)?;
        if let Err(e) = self
            .worker
            .set_target_state(name, TargetState::Paused)
            .await
        {
            tracing::warn!(connector = %name, error = %e, "Pausing the connector failed.");
        }
        self.update(name, |e| e.target = TargetState::Paused);
        Ok(())
    }

    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        let (previous, tasks, _) = self.snapshot(name, HerderError::unknown_connector)?;
        self.update(name, |e| e.target = TargetState::Started);
        match self
            .worker
            .set_target_state(name, TargetState::Started)
            .await
        {
            Ok(()) => {
                if previous == TargetState::Stopped || tasks == 0 {
                    let tasks = self.start_tasks(name).await;
                    self.update(name, |e| e.tasks = tasks);
                } else if previous == TargetState::Paused {
                    // The connector may make other task configs now.
                    self.refresh_tasks(name).await;
                }
            }
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "Resuming the connector failed.");
            }
        }
        Ok(())
    }

    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        self.snapshot(name, HerderError::unknown_connector)?;
        if let Err(e) = self
            .worker
            .set_target_state(name, TargetState::Stopped)
            .await
        {
            tracing::warn!(connector = %name, error = %e, "Stopping the connector failed.");
        }
        self.update(name, |e| {
            e.target = TargetState::Stopped;
            e.tasks.clear();
        });
        Ok(())
    }

    async fn active_topics(&self, name: &str) -> HerderResult<Vec<String>> {
        if !self.topic_tracking() {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        self.snapshot(name, HerderError::connector_not_found)?;
        Ok(self.worker.status().topics(name).list())
    }

    async fn reset_active_topics(&self, name: &str) -> HerderResult<()> {
        if !self.topic_tracking() {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        if !self.topic_tracking_reset() {
            return Err(HerderError::Forbidden(
                "Topic tracking reset is disabled.".into(),
            ));
        }
        self.snapshot(name, HerderError::connector_not_found)?;
        self.worker.status().topics(name).clear();
        Ok(())
    }

    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        let (_, _, parsed) = self.snapshot(name, HerderError::connector_not_found)?;
        offsets::read_offsets(&self.worker, &parsed).await
    }

    async fn alter_connector_offsets(
        &self,
        name: &str,
        given: ConnectorOffsets,
    ) -> HerderResult<Message> {
        let _op = self.ops.lock().await;
        let parsed = self.stopped_config(name)?;
        offsets::alter_offsets(&self.worker, &parsed, &given).await
    }

    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<Message> {
        let _op = self.ops.lock().await;
        let parsed = self.stopped_config(name)?;
        offsets::reset_offsets(&self.worker, &parsed).await
    }

    async fn validate_connector_config(&self, config: &ConfigMap) -> HerderResult<ConfigInfos> {
        let mut infos = validation::config_infos(config, &self.plugins)?;
        validation::add_override_policy_errors(
            &mut infos,
            config,
            self.worker.config().client_override_policy,
        );
        Ok(infos)
    }
}

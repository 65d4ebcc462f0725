//! The distributed herder: connector configs, task configs and target states in the config
//! topic, source offsets in the offsets topic, statuses in the status topic (Kafka's
//! `DistributedHerder`), so a worker that restarts, even after a crash, brings every
//! connector back in its last target state with its committed task configs and offsets.
//!
//! # Model
//!
//! The config topic is the source of truth. A change asked through the REST API is written
//! there first ([`ConfigStore`] reads each write back); the herder then applies what it read:
//! the store reports each change it read ([`ConfigUpdate`]), and the herder *reconciles* the
//! connectors concerned, bringing the [`Worker`] in line with the snapshot (start, pause,
//! stop, reconfigure, remove). Startup is the same reconciliation over every connector of the
//! snapshot. Statuses of the worker's connectors and tasks are copied to the status topic
//! when they change (after every change and every [`STATUS_INTERVAL`]), under this worker's
//! id (`host:port` of its REST listener) and a generation: in a group the generation of the
//! latest round, alone one above the highest stored.
//!
//! # Groups of workers
//!
//! On a Kafka cluster, workers sharing a `group.id` agree on who runs what through Kafka's
//! group coordinator ([`super::GroupMembership`], started by
//! [`DistributedHerder::join_group`] on a herder from [`DistributedHerder::start_in_group`]):
//! the leader assigns connector instances and tasks, and every member runs its share. On the
//! embedded log, which one process owns, [`DistributedHerder::start`] runs as the only member,
//! and so as the leader with every connector instance and every task (the whole-connector
//! path: a connector's tasks start and restart together).
//!
//! A group round gives the herder an explicit share ([`DistributedHerder::set_assignment`]):
//! the connector instances and the tasks (by [`ConnectorTaskId`]) this worker runs. From then
//! on the herder runs exactly those and nothing else: a task starts from its committed config
//! (with no need for the connector instance here), a task no longer assigned stops, a
//! connector none of whose work is assigned is removed from the worker, and an instance that
//! moves here (or away) starts (or stops) without touching the tasks. A change of assignment
//! restarts nothing that stays assigned; a task restarts only when its committed config or the
//! connector's task-config generation changed, which [`ConfigUpdate::TaskConfigs`] reports.
//! A connector's status is written to the status topic only by the worker running its
//! instance, and status answers combine what runs here with what the status topic says of
//! the work of the other workers. The worker running a connector's instance writes that
//! connector's task configs; requests that Kafka Connect serves on the leader (config
//! changes, restarts, offsets) reach it through the REST layer's forwarding
//! ([`crate::rest::forward`]), driven by [`Herder::leader_url`] and [`Herder::owner_url`].
//!
//! Task configs: when a STARTED connector starts or its config changes, the connector makes
//! task configs; they are written (then the commit record) only when they differ from the
//! committed ones, and the tasks start from what was read back. A PAUSED connector's tasks
//! start paused from the committed configs. Stopping writes an empty set of task configs
//! before the STOPPED target state, as Kafka does, so offsets can then be changed safely.
//!
//! A running connector may ask for new task configs (`request_task_reconfiguration`, e.g.
//! when the partitions of what it reads change): the herder asks it for task configs again
//! and, only when they differ from the committed ones, writes them and restarts the
//! connector's tasks with them (requests of a paused or stopped connector are skipped; it
//! makes task configs when it starts again).
//!
//! With `exactly.once.source.support=enabled` (see [`crate::exactly_once`]), the leader
//! fences a source connector's previous generation of tasks before it starts new task
//! configs (and records the fencing in the config topic); with `preparing` or `enabled` it
//! writes the config topic through its transactional writer.
//!
//! Restarts with `includeTasks` or `onlyFailed` go through the config topic as restart
//! requests; the plain connector restart and task restarts act on the worker directly, as in
//! Kafka (they are not persistent).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use sluice_api::config::ConfigMap;
use sluice_kafka::group::{ClusterState, WorkSet};
use sluice_log::Log;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::entities::*;
use super::{
    follow_reconfigurations, offsets, status_view, validation, Created, Herder, HerderError,
    HerderResult, Reconfigure,
};
use crate::connector_config::{ConnectorConfig, ConnectorKind, CONNECTOR_CLASS, NAME};
use crate::error::RuntimeError;
use crate::exactly_once::ExactlyOnceSourceSupport;
use crate::plugins::PluginRegistry;
use crate::rest::Loggers;
use crate::status::{ConnectorTaskId, State, Status, TargetState};
use crate::storage::{
    ConfigSnapshot, ConfigStore, ConfigUpdate, InternalTopics, RestartRequest as StoredRestart,
    StatusStore, StorageError, StoreOptions, StoredStatus, TopicOffsetStore, TopicStatus,
};
use crate::worker::Worker;

/// What of the cluster's work one worker runs: connector instances and tasks (see the module
/// docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkAssignment {
    /// Connectors whose instance runs on this worker.
    pub connectors: BTreeSet<String>,
    /// Tasks that run on this worker.
    pub tasks: BTreeSet<ConnectorTaskId>,
}

impl WorkAssignment {
    /// Takes revoked work out (group membership's `Revoked` event).
    pub fn remove(&mut self, revoked: &WorkSet) {
        for name in &revoked.connectors {
            self.connectors.remove(name);
        }
        for task in &revoked.tasks {
            self.tasks.remove(&ConnectorTaskId {
                connector: Arc::from(task.connector.as_str()),
                task: task.task,
            });
        }
    }

    /// Whether the connector's instance runs here, and the numbers of its tasks that do.
    fn of(&self, name: &str) -> (bool, BTreeSet<u32>) {
        let tasks = self
            .tasks
            .iter()
            .filter(|t| &*t.connector == name)
            .map(|t| t.task)
            .collect();
        (self.connectors.contains(name), tasks)
    }
}

impl From<&WorkSet> for WorkAssignment {
    /// Everything a group member runs (`Assignment::running` of group membership).
    fn from(work: &WorkSet) -> Self {
        WorkAssignment {
            connectors: work.connectors.clone(),
            tasks: work
                .tasks
                .iter()
                .map(|t| ConnectorTaskId {
                    connector: Arc::from(t.connector.as_str()),
                    task: t.task,
                })
                .collect(),
        }
    }
}

/// How often statuses are copied to the status topic between changes.
pub const STATUS_INTERVAL: Duration = Duration::from_millis(500);

/// The three internal-topic stores of a distributed worker.
#[derive(Clone)]
pub struct InternalStores {
    /// Connector and task configs, target states (`config.storage.topic`).
    pub configs: ConfigStore,
    /// Source offsets (`offset.storage.topic`); give it to the [`Worker`].
    pub offsets: TopicOffsetStore,
    /// Statuses (`status.storage.topic`).
    pub statuses: StatusStore,
}

impl InternalStores {
    /// Creates the internal topics when missing (checking existing ones) and reads each to
    /// the end.
    pub async fn open(
        log: &dyn Log,
        topics: &InternalTopics,
        options: &StoreOptions,
    ) -> Result<Self, StorageError> {
        Self::open_for(log, topics, options, None).await
    }

    /// [`InternalStores::open`] with the leader's transactional config-topic writer
    /// (`leader_transactional_id`, see [`crate::exactly_once::leader_transactional_id`]),
    /// for `exactly.once.source.support` `preparing` or `enabled`.
    pub async fn open_for(
        log: &dyn Log,
        topics: &InternalTopics,
        options: &StoreOptions,
        leader_transactional_id: Option<String>,
    ) -> Result<Self, StorageError> {
        let configs =
            ConfigStore::open(log, &topics.config, options, leader_transactional_id).await?;
        let offsets = TopicOffsetStore::open(log, &topics.offsets, options).await?;
        let statuses = StatusStore::open(log, &topics.status, options).await?;
        Ok(InternalStores {
            configs,
            offsets,
            statuses,
        })
    }
}

/// What the worker currently runs for one connector, as last reconciled.
struct Applied {
    config: ConfigMap,
    kind: ConnectorType,
    target: TargetState,
    tasks: usize,
}

/// Statuses last written to the status topic for one connector.
#[derive(Default, PartialEq)]
struct Published {
    connector: Option<Status>,
    tasks: BTreeMap<u32, Status>,
    /// Topics this worker's tasks used, by the [`TopicUse::seq`] written.
    topics: BTreeMap<String, u64>,
}

/// Runs the connectors of a Connect cluster whose only member is this worker; see the
/// module docs.
pub struct DistributedHerder {
    worker: Arc<Worker>,
    plugins: Arc<PluginRegistry>,
    configs: ConfigStore,
    statuses: StatusStore,
    /// The worker's source offsets, read to the end before tasks start here.
    offsets: TopicOffsetStore,
    worker_id: String,
    kafka_cluster_id: String,
    /// The generation written with statuses: the group's generation once grouped.
    generation: AtomicI32,
    /// Serializes changes (write, read back, apply).
    ops: tokio::sync::Mutex<()>,
    updates: tokio::sync::Mutex<mpsc::UnboundedReceiver<ConfigUpdate>>,
    applied: RwLock<BTreeMap<String, Applied>>,
    published: tokio::sync::Mutex<BTreeMap<String, Published>>,
    status_loop: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// The worker's `exactly.once.source.support`.
    exactly_once: ExactlyOnceSourceSupport,
    /// Acts on the connectors' requests for new task configs.
    reconfigure_loop: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// This worker's share of the work; `None` runs everything (the only member).
    assignment: RwLock<Option<WorkAssignment>>,
    /// With an assignment: the task-config generation each connector's tasks here were
    /// started from (a new generation restarts them all).
    task_generations: std::sync::Mutex<BTreeMap<String, Option<u32>>>,
    /// This worker's role after the latest group round; `None` outside a group.
    role: RwLock<Option<GroupRole>>,
    /// Started as a member of a group ([`DistributedHerder::start_in_group`]).
    in_group: bool,
    /// Set by [`DistributedHerder::stop`]: group rounds arriving during shutdown start
    /// nothing.
    stopped: AtomicBool,
    /// Where cluster-wide log levels read from the config topic are applied
    /// ([`DistributedHerder::apply_logger_levels_to`]); unset, they are not applied.
    loggers: std::sync::OnceLock<Arc<Loggers>>,
}

/// This worker's place in its group after the latest round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRole {
    /// True when this worker leads the group.
    pub is_leader: bool,
    /// The leader's REST url (with a trailing `/`).
    pub leader_url: String,
    /// This worker's own REST url, whose scheme the other workers' urls share.
    pub own_url: String,
}

impl DistributedHerder {
    /// Starts every connector of the config topic in its target state on `worker` (whose
    /// offset store must be `stores.offsets`), then keeps the status topic up to date.
    /// `worker_id` is `host:port` of the REST listener; `kafka_cluster_id` identifies the log.
    /// The worker is its group's only member (the embedded log): it runs every connector
    /// instance and task, and leads (with exactly-once, it takes the config topic's writer).
    pub async fn start(
        worker: Arc<Worker>,
        plugins: Arc<PluginRegistry>,
        stores: &InternalStores,
        worker_id: impl Into<String>,
        kafka_cluster_id: impl Into<String>,
    ) -> Arc<Self> {
        Self::start_with(
            worker,
            plugins,
            stores,
            worker_id.into(),
            kafka_cluster_id.into(),
            None,
        )
        .await
    }

    /// Like [`DistributedHerder::start`] for a member of a group of workers: it runs nothing
    /// until its first assignment ([`DistributedHerder::set_assignment`], which
    /// [`DistributedHerder::join_group`] drives from the group's rounds).
    pub async fn start_in_group(
        worker: Arc<Worker>,
        plugins: Arc<PluginRegistry>,
        stores: &InternalStores,
        worker_id: impl Into<String>,
        kafka_cluster_id: impl Into<String>,
    ) -> Arc<Self> {
        Self::start_with(
            worker,
            plugins,
            stores,
            worker_id.into(),
            kafka_cluster_id.into(),
            Some(WorkAssignment::default()),
        )
        .await
    }

    async fn start_with(
        worker: Arc<Worker>,
        plugins: Arc<PluginRegistry>,
        stores: &InternalStores,
        worker_id: String,
        kafka_cluster_id: String,
        assignment: Option<WorkAssignment>,
    ) -> Arc<Self> {
        let assignment_given = assignment.is_some();
        let statuses = stores.statuses.clone();
        let generation = statuses
            .connectors()
            .iter()
            .flat_map(|c| {
                statuses
                    .connector(c)
                    .map(|s| s.generation)
                    .into_iter()
                    .chain(statuses.tasks(c).into_iter().map(|(_, s)| s.generation))
            })
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let exactly_once = ExactlyOnceSourceSupport::of_worker(worker.config());
        if exactly_once.leader_transactional() && assignment.is_none() {
            // The only member is the leader: take over the config topic's writer.
            if let Err(e) = stores.configs.claim_write_privileges().await {
                tracing::error!(error = %e, "Claiming the config topic's transactional writer failed; connector changes will fail until the worker restarts.");
            }
        }
        statuses.forget_deleted_topics_in(worker.status().clone());
        let herder = Arc::new(DistributedHerder {
            worker,
            plugins,
            updates: tokio::sync::Mutex::new(stores.configs.subscribe()),
            configs: stores.configs.clone(),
            offsets: stores.offsets.clone(),
            statuses,
            worker_id,
            kafka_cluster_id,
            generation: AtomicI32::new(generation),
            ops: tokio::sync::Mutex::new(()),
            applied: RwLock::new(BTreeMap::new()),
            published: tokio::sync::Mutex::new(BTreeMap::new()),
            status_loop: std::sync::Mutex::new(None),
            exactly_once,
            reconfigure_loop: std::sync::Mutex::new(None),
            assignment: RwLock::new(assignment),
            task_generations: std::sync::Mutex::new(BTreeMap::new()),
            role: RwLock::new(None),
            in_group: assignment_given,
            stopped: AtomicBool::new(false),
            loggers: std::sync::OnceLock::new(),
        });
        {
            let _op = herder.ops.lock().await;
            let snapshot = herder.configs.snapshot();
            for name in herder.to_reconcile(&snapshot) {
                herder.reconcile(&name).await;
            }
            tracing::info!(
                connectors = herder.read().len(),
                config_offset = snapshot.offset(),
                generation,
                "Distributed herder started from the config topic."
            );
        }
        herder.publish_statuses().await;
        let weak: Weak<Self> = Arc::downgrade(&herder);
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(STATUS_INTERVAL);
            loop {
                tick.tick().await;
                let Some(herder) = weak.upgrade() else { break };
                herder.publish_statuses().await;
            }
        });
        *herder.status_loop.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        *herder
            .reconfigure_loop
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = follow_reconfigurations(&herder, &herder.worker);
        herder
    }

    /// The worker.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// The config topic's store.
    pub(crate) fn config_store(&self) -> &ConfigStore {
        &self.configs
    }

    /// The status topic's store.
    pub(crate) fn status_store(&self) -> &StatusStore {
        &self.statuses
    }

    /// Stops every connector and task (see [`Worker::stop`]) and writes their last statuses
    /// (UNASSIGNED, as a worker leaving the group does).
    pub async fn stop(&self) {
        let _op = self.ops.lock().await;
        self.stopped.store(true, Ordering::Release);
        for handle in [&self.status_loop, &self.reconfigure_loop] {
            if let Some(h) = handle.lock().unwrap_or_else(|p| p.into_inner()).take() {
                h.abort();
            }
        }
        self.worker.stop().await;
        for name in self.read().keys() {
            if let Some(status) = self.worker.connector_status(name) {
                for (task, _) in status.tasks {
                    let id = ConnectorTaskId {
                        connector: Arc::from(name.as_str()),
                        task,
                    };
                    self.worker.status().set_task(&id, State::Unassigned, None);
                }
            }
        }
        self.publish_statuses().await;
    }

    /// The connectors to bring in line with the config topic and the assignment: those of
    /// the snapshot and those the worker runs.
    fn to_reconcile(&self, snapshot: &ConfigSnapshot) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = snapshot.connectors().map(str::to_owned).collect();
        names.extend(self.read().keys().cloned());
        names
    }

    /// Runs exactly `assignment` from now on: starts what is newly assigned, stops what is
    /// no longer, and leaves alone what stays (see the module docs). Replaces running
    /// everything, for good.
    pub async fn set_assignment(&self, assignment: WorkAssignment) {
        let _op = self.ops.lock().await;
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        tracing::info!(
            connectors = assignment.connectors.len(),
            tasks = assignment.tasks.len(),
            "New assignment for this worker."
        );
        *self.assignment.write().unwrap_or_else(|p| p.into_inner()) = Some(assignment);
        let snapshot = self.configs.snapshot();
        for name in self.to_reconcile(&snapshot) {
            self.reconcile(&name).await;
        }
        self.publish_statuses().await;
    }

    /// What the group leader needs to assign work: the config topic offset this worker has
    /// read up to, and every connector with its number of committed task configs.
    pub fn cluster_state(&self) -> ClusterState {
        let snapshot = self.configs.snapshot();
        ClusterState {
            config_offset: snapshot.offset(),
            connectors: snapshot
                .connectors()
                .map(|name| (name.to_owned(), snapshot.task_count(name)))
                .collect(),
        }
    }

    /// This worker's share of the work (`None`: everything).
    pub fn assignment(&self) -> Option<WorkAssignment> {
        self.assignment
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops `revoked` work (group membership's `Revoked` event) and keeps the rest running.
    pub async fn revoke(&self, revoked: &WorkSet) {
        let _op = self.ops.lock().await;
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        let names: BTreeSet<String> = revoked
            .connectors
            .iter()
            .cloned()
            .chain(revoked.tasks.iter().map(|t| t.connector.clone()))
            .collect();
        tracing::info!(
            connectors = revoked.connectors.len(),
            tasks = revoked.tasks.len(),
            "Work revoked from this worker; stopping it."
        );
        if let Some(assignment) = self
            .assignment
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            assignment.remove(revoked);
        }
        for name in names {
            self.reconcile(&name).await;
        }
        self.publish_statuses().await;
    }

    /// Reads the config topic until it is at `offset` at least (a group round's config
    /// offset), for at most `timeout`; answers whether it got there.
    pub async fn catch_up(&self, offset: i64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Err(e) = self.configs.refresh().await {
                tracing::warn!(error = %e, "Reading the config topic failed.");
            }
            if self.configs.snapshot().offset() >= offset {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Applies the log levels set for the whole cluster (`scope=cluster`) to `loggers`, from
    /// the records read after this worker's start on, as Kafka Connect workers do. Call once,
    /// before the REST server starts.
    pub fn apply_logger_levels_to(&self, loggers: Arc<Loggers>) {
        if self.loggers.set(loggers).is_err() {
            tracing::warn!("Cluster-wide log levels already go to other loggers; keeping those.");
        }
    }

    /// Applies the changes other workers wrote to the config topic (read by a follower).
    pub async fn apply_pending_updates(&self) {
        let _op = self.ops.lock().await;
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        self.apply_updates().await;
    }

    /// Records this worker's role after a group round and the round's generation (written
    /// with statuses from now on). A new leader with exactly-once source support takes over
    /// the config topic's transactional writer.
    pub async fn set_role(&self, role: GroupRole, generation: i32) {
        self.generation.store(generation, Ordering::Relaxed);
        let became_leader = role.is_leader
            && !self
                .role
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .is_some_and(|r| r.is_leader);
        self.configs.set_follower(!role.is_leader);
        *self.role.write().unwrap_or_else(|p| p.into_inner()) = Some(role);
        if became_leader && self.exactly_once.leader_transactional() {
            if let Err(e) = self.configs.claim_write_privileges().await {
                tracing::error!(error = %e, "Claiming the config topic's transactional writer failed; connector changes will fail until the next rebalance.");
            }
        }
    }

    /// This worker's role in its group (`None` outside a group or before the first round).
    pub fn role(&self) -> Option<GroupRole> {
        self.role.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The REST url of the other worker that runs a connector's instance (`task` `None`) or
    /// one of its tasks, from the status topic; `None` when it runs here or nowhere known.
    pub fn work_owner_url(&self, connector: &str, task: Option<u32>) -> Option<String> {
        let role = self.role()?;
        let (instance_here, tasks_here) = self.placement(connector)?;
        let stored = match task {
            None if instance_here => return None,
            Some(t) if tasks_here.contains(&t) => return None,
            None => self.statuses.connector(connector),
            Some(t) => self.statuses.task(&ConnectorTaskId {
                connector: Arc::from(connector),
                task: t,
            }),
        }?;
        if stored.worker_id == self.worker_id || stored.state == State::Unassigned {
            return None;
        }
        let scheme = role.own_url.split_once("://").map_or("http", |(s, _)| s);
        Some(format!("{scheme}://{}/", stored.worker_id))
    }

    /// What of a connector runs here under the assignment (its instance, its task numbers);
    /// `None` when the worker runs everything.
    fn placement(&self, name: &str) -> Option<(bool, BTreeSet<u32>)> {
        self.assignment
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|a| a.of(name))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Applied>> {
        self.applied.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Applied>> {
        self.applied.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies every change read from the config topic since the last call; the caller
    /// holds `ops`.
    async fn apply_updates(&self) {
        let mut touched = BTreeSet::new();
        let mut restarts = Vec::new();
        {
            let mut rx = self.updates.lock().await;
            while let Ok(update) = rx.try_recv() {
                match update {
                    ConfigUpdate::ConnectorConfig { connector }
                    | ConfigUpdate::ConnectorRemoved { connector }
                    | ConfigUpdate::TargetState { connector } => {
                        touched.insert(connector);
                    }
                    ConfigUpdate::Restart(request) => restarts.push(request),
                    // With an assignment, the tasks here follow the committed configs;
                    // otherwise this worker, as leader, starts tasks itself after writing
                    // their configs.
                    ConfigUpdate::TaskConfigs { connector, .. }
                    | ConfigUpdate::Fenced { connector }
                        if self.assignment().is_some() =>
                    {
                        touched.insert(connector);
                    }
                    ConfigUpdate::LoggerLevel { namespace, level } => {
                        self.apply_logger_level(&namespace, &level);
                    }
                    ConfigUpdate::TaskConfigs { .. }
                    | ConfigUpdate::Fenced { .. }
                    | ConfigUpdate::SessionKey => {}
                }
            }
        }
        for name in touched {
            self.reconcile(&name).await;
        }
        for request in restarts {
            self.apply_restart(&request).await;
        }
        self.publish_statuses().await;
    }

    /// Brings the worker in line with the config snapshot for one connector; the caller
    /// holds `ops`.
    async fn reconcile(&self, name: &str) {
        let snapshot = self.configs.snapshot();
        let Some(config) = snapshot.connector_config(name).cloned() else {
            if self.write().remove(name).is_some() {
                self.worker.remove_connector(name).await;
                self.forget_generation(name);
                tracing::info!(connector = %name, "Connector deleted.");
            }
            return;
        };
        let placement = self.placement(name);
        if placement
            .as_ref()
            .is_some_and(|(instance, tasks)| !instance && tasks.is_empty())
        {
            if self.write().remove(name).is_some() {
                self.worker.remove_connector(name).await;
                self.forget_generation(name);
                tracing::info!(connector = %name, "Nothing of the connector is assigned to this worker any more.");
            }
            return;
        }
        let instance_here = placement.as_ref().is_none_or(|(instance, _)| *instance);
        let target = snapshot.target_state(name).unwrap_or_default();
        let previous = self
            .read()
            .get(name)
            .map(|a| (a.config.clone(), a.target, a.tasks));
        let parsed = match ConnectorConfig::parse_for(
            &config,
            &self.plugins,
            Some(self.exactly_once),
        ) {
            Ok(p) => p,
            Err(issues) => {
                let trace = issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n");
                tracing::error!(connector = %name, problems = %trace, "The stored connector config is invalid; the connector cannot run.");
                self.worker.remove_connector(name).await;
                self.worker
                    .status()
                    .set_connector(name, State::Failed, Some(trace));
                self.write().insert(
                    name.to_string(),
                    Applied {
                        config,
                        kind: ConnectorType::Unknown,
                        target,
                        tasks: 0,
                    },
                );
                return;
            }
        };
        let kind = parsed.kind.into();
        let tasks = match previous {
            None => {
                let added = if instance_here {
                    self.worker.add_connector(parsed, target).await
                } else {
                    self.worker
                        .add_connector_without_instance(parsed, target)
                        .await
                };
                if let Err(e) = added {
                    tracing::warn!(connector = %name, error = %e, "Connector did not start.");
                }
                match target {
                    TargetState::Started => self.start_tasks(name, true).await,
                    TargetState::Paused => self.start_tasks(name, false).await,
                    TargetState::Stopped => 0,
                }
            }
            Some((old_config, old_target, old_tasks)) => {
                if old_target != target {
                    if let Err(e) = self.worker.set_target_state(name, target).await {
                        tracing::warn!(connector = %name, error = %e, target = %target, "Applying the target state failed.");
                    }
                }
                let changed = old_config != config;
                if changed {
                    let reconfigured = if placement.is_some() {
                        self.worker.reconfigure_connector_instance(parsed).await
                    } else {
                        self.worker.reconfigure_connector(parsed).await
                    };
                    if let Err(e) = reconfigured {
                        tracing::warn!(connector = %name, error = %e, "Connector did not start after its config changed.");
                    }
                }
                let moved_here = self.move_instance(name, instance_here).await;
                let tasks = match target {
                    TargetState::Stopped => 0,
                    TargetState::Started
                        if changed || old_target == TargetState::Stopped || old_tasks == 0 =>
                    {
                        self.start_tasks(name, true).await
                    }
                    TargetState::Paused if changed => 0,
                    // Resumed: the connector may make other task configs now.
                    TargetState::Started if old_target == TargetState::Paused => {
                        self.refresh_tasks(name, old_tasks).await
                    }
                    // The instance came here: it may make other task configs.
                    TargetState::Started if moved_here => self.refresh_tasks(name, old_tasks).await,
                    _ => old_tasks,
                };
                match target {
                    // The assigned tasks run from the committed configs, whatever changed.
                    TargetState::Started | TargetState::Paused if placement.is_some() => {
                        self.start_committed_tasks(name).await
                    }
                    _ => tasks,
                }
            }
        };
        self.write().insert(
            name.to_string(),
            Applied {
                config,
                kind,
                target,
                tasks,
            },
        );
    }

    /// Starts a connector's tasks and answers how many run. With `generate`, the connector
    /// makes task configs, written when they differ from the committed ones; the tasks
    /// start from the committed configs read back (also when the connector cannot make
    /// any, e.g. when it failed).
    async fn start_tasks(&self, name: &str, generate: bool) -> usize {
        let instance_here = self.placement(name).is_none_or(|(instance, _)| instance);
        if generate && instance_here {
            match self.worker.generate_task_configs(name).await {
                Ok(generated) => {
                    if let Err(e) = self.write_task_configs(name, &generated).await {
                        tracing::error!(connector = %name, error = %e, "Writing task configs failed; no tasks started.");
                        return 0;
                    }
                }
                Err(e) => {
                    tracing::warn!(connector = %name, error = %e, "The connector made no task configs; starting the committed ones.");
                }
            }
        }
        self.start_committed_tasks(name).await
    }

    /// Asks a started connector for task configs again; when they differ from the committed
    /// ones, writes them and restarts its tasks with them. Answers how many tasks run
    /// (`current` when nothing changed). The caller holds `ops`.
    async fn refresh_tasks(&self, name: &str, current: usize) -> usize {
        let generated = match self.worker.generate_task_configs(name).await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "The connector made no task configs; its tasks are unchanged.");
                return current;
            }
        };
        match self.write_task_configs(name, &generated).await {
            Ok(false) => {
                tracing::debug!(connector = %name, "The connector's task configs are unchanged.");
                current
            }
            Ok(true) => {
                tracing::info!(connector = %name, tasks = generated.len(), "New task configs written; restarting the connector's tasks.");
                self.start_committed_tasks(name).await
            }
            Err(e) => {
                tracing::error!(connector = %name, error = %e, "Writing task configs failed; the connector's tasks are unchanged.");
                current
            }
        }
    }

    /// Writes task configs (then the commit record) unless they are the committed ones;
    /// answers whether it wrote them.
    async fn write_task_configs(
        &self,
        name: &str,
        generated: &[ConfigMap],
    ) -> Result<bool, StorageError> {
        if committed_tasks(&self.configs.snapshot(), name).as_deref() == Some(generated) {
            return Ok(false);
        }
        self.configs.put_task_configs(name, generated).await?;
        Ok(true)
    }

    /// Starts a connector's tasks from its committed task configs (stopping those it had)
    /// and answers how many run.
    async fn start_committed_tasks(&self, name: &str) -> usize {
        let Some(configs) = committed_tasks(&self.configs.snapshot(), name) else {
            return 0;
        };
        if let Some((_, assigned)) = self.placement(name) {
            return self.sync_assigned_tasks(name, &configs, &assigned).await;
        }
        let count = configs.len();
        if !self.fence_zombies(name).await {
            return 0;
        }
        match self.worker.start_tasks(name, configs).await {
            Ok(()) => {
                let generation = self.configs.snapshot().task_config_generation(name);
                lock(&self.task_generations).insert(name.to_string(), generation);
                count
            }
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "No tasks started.");
                0
            }
        }
    }

    /// Brings the connector's tasks on this worker in line with the assignment and the
    /// committed task configs: stops the tasks no longer assigned (or gone, or whose config
    /// changed), starts the assigned ones not running, and leaves the others alone; a new
    /// task-config generation restarts them all. Answers how many run here.
    async fn sync_assigned_tasks(
        &self,
        name: &str,
        configs: &[ConfigMap],
        assigned: &BTreeSet<u32>,
    ) -> usize {
        let generation = self.configs.snapshot().task_config_generation(name);
        let new_generation = lock(&self.task_generations)
            .insert(name.to_string(), generation)
            .is_none_or(|before| before != generation);
        let numbers = self.worker.running_tasks(name).await.unwrap_or_default();
        let running = self
            .worker
            .running_task_configs(name)
            .await
            .unwrap_or_default();
        let id = |task: u32| ConnectorTaskId {
            connector: Arc::from(name),
            task,
        };
        let mut kept = BTreeSet::new();
        for (task, config) in numbers.into_iter().zip(running) {
            let keep = !new_generation
                && assigned.contains(&task)
                && configs.get(task as usize) == Some(&config);
            if keep {
                kept.insert(task);
            } else if let Err(e) = self.worker.stop_task(&id(task)).await {
                tracing::warn!(task = %id(task), error = %e, "Stopping the task failed.");
            }
        }
        let to_start: Vec<u32> = assigned
            .iter()
            .copied()
            .filter(|t| (*t as usize) < configs.len() && !kept.contains(t))
            .collect();
        // In a group, the worker running the connector's instance fences its zombies; the
        // others start their tasks once the fencing is recorded (`ConfigUpdate::Fenced`).
        let instance_here = self.placement(name).is_some_and(|(instance, _)| instance);
        if self.in_group && self.fencing_pending(name) {
            if !instance_here {
                tracing::debug!(connector = %name, "Waiting for the connector's worker to fence zombie tasks before starting tasks.");
                return kept.len();
            }
            if !self.fence_zombies(name).await {
                return self.worker.running_tasks(name).await.map_or(0, |t| t.len());
            }
        }
        if to_start.is_empty() {
            return kept.len();
        }
        if !self.fence_zombies(name).await {
            return self.worker.running_tasks(name).await.map_or(0, |t| t.len());
        }
        // A task that ran on another worker resumes from what it committed there.
        if let Err(e) = self.offsets.refresh().await {
            tracing::warn!(connector = %name, error = %e, "Reading the offsets topic failed; tasks start from the offsets read so far.");
        }
        for task in to_start {
            let config = configs[task as usize].clone();
            if let Err(e) = self.worker.start_task(&id(task), config).await {
                tracing::warn!(task = %id(task), error = %e, "The task did not start.");
            }
        }
        self.worker.running_tasks(name).await.map_or(0, |t| t.len())
    }

    /// Moves the connector instance here or away as the assignment says; answers whether it
    /// came here.
    async fn move_instance(&self, name: &str, instance_here: bool) -> bool {
        match self.worker.has_connector_instance(name).await {
            Some(false) if instance_here => {
                if let Err(e) = self.worker.start_connector_instance(name).await {
                    tracing::warn!(connector = %name, error = %e, "The connector did not start on this worker.");
                }
                true
            }
            Some(true) if !instance_here => {
                if let Err(e) = self.worker.stop_connector_instance(name).await {
                    tracing::warn!(connector = %name, error = %e, "Stopping the connector instance failed.");
                }
                false
            }
            _ => false,
        }
    }

    fn forget_generation(&self, name: &str) {
        lock(&self.task_generations).remove(name);
    }

    /// With exactly-once source tasks, fences a source connector's previous generation of
    /// tasks before a new one starts (after stopping the instances running here); answers
    /// false when that failed and the tasks must not start.
    async fn fence_zombies(&self, name: &str) -> bool {
        let Some(eos) = self.worker.exactly_once() else {
            return true;
        };
        if !self.fencing_pending(name) {
            return true;
        }
        if let Err(e) = self.worker.stop_tasks(name).await {
            tracing::debug!(connector = %name, error = %e, "No tasks to stop before fencing.");
        }
        // In a group only the leader holds the transactional writer (see `set_role`).
        let claim = async {
            if self.in_group {
                Ok(())
            } else {
                self.configs.claim_write_privileges().await
            }
        };
        if let Err(e) = claim.await {
            tracing::error!(connector = %name, error = %e, "Claiming the config topic's writer failed; the connector's tasks do not start.");
            return false;
        }
        let fenced = crate::exactly_once::fence_zombies(
            self.worker.log().as_ref(),
            &self.configs,
            &eos.group_id,
            name,
            &self.worker.config().producer,
        )
        .await;
        match fenced {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(connector = %name, error = %e, "Zombie fencing failed; the connector's tasks do not start until it succeeds (restart the connector to try again).");
                false
            }
        }
    }

    /// True when exactly-once source tasks of a source connector may not start before its
    /// earlier task generation is fenced.
    fn fencing_pending(&self, name: &str) -> bool {
        if self.worker.exactly_once().is_none() {
            return false;
        }
        let snapshot = self.configs.snapshot();
        let is_source = snapshot
            .connector_config(name)
            .and_then(|c| c.get(CONNECTOR_CLASS))
            .and_then(|class| self.plugins.connector(class).ok())
            .is_some_and(|p| ConnectorKind::of(p) == ConnectorKind::Source);
        is_source && snapshot.pending_fencing(name)
    }

    /// Carries out a restart request read from the config topic.
    async fn apply_restart(&self, request: &StoredRestart) {
        let name = request.connector.as_str();
        let Some(status) = self.worker.connector_status(name) else {
            return;
        };
        let failed = |s: &Status| s.state == State::Failed;
        if !request.only_failed || failed(&status.connector) {
            if let Err(e) = self.worker.restart_connector(name).await {
                tracing::warn!(connector = %name, error = %e, "Connector did not restart.");
            }
        }
        if request.include_tasks {
            for (task, s) in &status.tasks {
                if request.only_failed && !failed(s) {
                    continue;
                }
                let id = ConnectorTaskId {
                    connector: Arc::from(name),
                    task: *task,
                };
                if let Err(e) = self.worker.restart_task(&id).await {
                    tracing::warn!(task = %id, error = %e, "Task did not restart.");
                }
            }
        }
        self.start_missing_tasks(name).await;
    }

    /// A started connector that failed before making tasks gets them (after a restart).
    async fn start_missing_tasks(&self, name: &str) {
        let missing = self
            .read()
            .get(name)
            .is_some_and(|a| a.target == TargetState::Started && a.tasks == 0);
        if missing {
            let tasks = self.start_tasks(name, true).await;
            if let Some(a) = self.write().get_mut(name) {
                a.tasks = tasks;
            }
        }
    }

    /// Copies changed statuses of this worker's connectors and tasks to the status topic,
    /// and tombstones those of removed connectors and tasks. With an assignment, only the
    /// worker running a connector's instance writes the connector's status, and work that
    /// merely moved away from this worker is not tombstoned (its new owner writes it).
    async fn publish_statuses(&self) {
        let mut published = self.published.lock().await;
        let names: Vec<String> = self.read().keys().cloned().collect();
        let assigned = self.assignment();
        let snapshot = self.configs.snapshot();
        let moved_away = |name: &str, task: Option<u32>| {
            assigned.is_some()
                && snapshot.contains(name)
                && task.is_none_or(|t| t < snapshot.task_count(name))
        };
        let stored = |s: &Status| StoredStatus {
            state: s.state,
            trace: s.trace.clone(),
            worker_id: self.worker_id.clone(),
            generation: self.generation.load(Ordering::Relaxed),
        };
        let gone: Vec<String> = published
            .keys()
            .filter(|n| !names.contains(n))
            .cloned()
            .collect();
        for name in gone {
            if moved_away(&name, None) {
                published.remove(&name);
                continue;
            }
            if let Err(e) = self.statuses.remove_connector(&name).await {
                tracing::warn!(connector = %name, error = %e, "Removing a connector status failed.");
                continue;
            }
            // A deleted connector's active topics go with it, as in Kafka Connect.
            if let Err(e) = self.statuses.delete_topics(&name).await {
                tracing::warn!(connector = %name, error = %e, "Removing a deleted connector's active topics failed.");
                continue;
            }
            published.remove(&name);
        }
        for name in names {
            let Some(now) = self.worker.connector_status(&name) else {
                continue;
            };
            let before = published.entry(name.clone()).or_default();
            let instance_here = assigned
                .as_ref()
                .is_none_or(|a| a.connectors.contains(&name));
            if !instance_here {
                // Written by the worker running it; write it again when it comes back.
                before.connector = None;
            } else if before.connector.as_ref() != Some(&now.connector) {
                match self
                    .statuses
                    .put_connector(&name, &stored(&now.connector))
                    .await
                {
                    Ok(()) => before.connector = Some(now.connector.clone()),
                    Err(e) => {
                        tracing::warn!(connector = %name, error = %e, "Writing a connector status failed.")
                    }
                }
            }
            let id = |task: u32| ConnectorTaskId {
                connector: Arc::from(name.as_str()),
                task,
            };
            let current: BTreeMap<u32, &Status> = now.tasks.iter().map(|(t, s)| (*t, s)).collect();
            let removed: Vec<u32> = before
                .tasks
                .keys()
                .filter(|t| !current.contains_key(t))
                .copied()
                .collect();
            for task in removed {
                if moved_away(&name, Some(task)) {
                    before.tasks.remove(&task);
                    continue;
                }
                match self.statuses.remove_task(&id(task)).await {
                    Ok(()) => {
                        before.tasks.remove(&task);
                    }
                    Err(e) => {
                        tracing::warn!(task = %id(task), error = %e, "Removing a task status failed.")
                    }
                }
            }
            for (task, status) in current {
                if before.tasks.get(&task) == Some(status) {
                    continue;
                }
                match self.statuses.put_task(&id(task), &stored(status)).await {
                    Ok(()) => {
                        before.tasks.insert(task, status.clone());
                    }
                    Err(e) => {
                        tracing::warn!(task = %id(task), error = %e, "Writing a task status failed.")
                    }
                }
            }
        }
        if self.topic_tracking() {
            self.publish_topics(&mut published).await;
        }
    }

    /// Writes the topics this worker's tasks have used to the status topic
    /// (`status-topic-<topic>:connector-<name>`, Kafka Connect's record), so that every
    /// worker lists a connector's active topics. A topic already there is not written again;
    /// one used again after a reset is.
    async fn publish_topics(&self, published: &mut BTreeMap<String, Published>) {
        for (name, before) in published.iter_mut() {
            let Some(topics) = self.worker.status().topics_if_any(name) else {
                continue;
            };
            for (topic, used) in topics.uses() {
                if before.topics.get(&topic) == Some(&used.seq) {
                    continue;
                }
                if self.statuses.topic_status(name, &topic).is_none() {
                    let status = TopicStatus {
                        topic: topic.clone(),
                        connector: name.clone(),
                        task: i32::try_from(used.task).unwrap_or(i32::MAX),
                        discover_timestamp: used.discovered_ms,
                    };
                    if let Err(e) = self.statuses.put_topic(&status).await {
                        tracing::warn!(connector = %name, topic = %topic, error = %e, "Recording an active topic failed.");
                        continue;
                    }
                }
                before.topics.insert(topic, used.seq);
            }
        }
    }

    fn require(
        &self,
        name: &str,
        missing: impl FnOnce(&str) -> HerderError,
    ) -> HerderResult<ConfigSnapshot> {
        let snapshot = self.configs.snapshot();
        if snapshot.contains(name) {
            Ok(snapshot)
        } else {
            Err(missing(name))
        }
    }

    fn info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        let snapshot = self.require(name, HerderError::connector_not_found)?;
        Ok(ConnectorInfo {
            name: name.to_string(),
            config: snapshot.connector_config(name).cloned().unwrap_or_default(),
            tasks: snapshot
                .tasks(name)
                .into_iter()
                .map(|t| TaskId {
                    connector: name.to_string(),
                    task: t.task,
                })
                .collect(),
            kind: self.kind_of(name),
        })
    }

    /// Source or sink: from what runs here, else from the connector class of the config.
    fn kind_of(&self, name: &str) -> ConnectorType {
        if let Some(kind) = self.read().get(name).map(|a| a.kind) {
            return kind;
        }
        self.configs
            .snapshot()
            .connector_config(name)
            .and_then(|c| c.get(CONNECTOR_CLASS))
            .and_then(|class| self.plugins.connector(class).ok())
            .map_or(ConnectorType::Unknown, |p| ConnectorKind::of(p).into())
    }

    fn task_state(&self, id: u32, status: &Status) -> TaskState {
        status_view::task_state(&self.worker_id, id, status)
    }

    /// The connector's status, with `restarting` instances shown RESTARTING. With an
    /// assignment, what runs on other workers comes from the status topic.
    fn state_info(
        &self,
        name: &str,
        restart_connector: bool,
        restart_tasks: &[u32],
    ) -> HerderResult<ConnectorStateInfo> {
        let local = status_view::state_info(
            &self.worker,
            &self.worker_id,
            name,
            self.kind_of(name),
            restart_connector,
            restart_tasks,
        );
        let Some((instance_here, tasks_here)) = self.placement(name) else {
            return local;
        };
        let local = local.ok();
        let restarting = |state: State, restart: bool| {
            if restart {
                State::Restarting
            } else {
                state
            }
        };
        let connector = match (&local, instance_here) {
            (Some(l), true) => l.connector.clone(),
            _ => {
                let stored = self.statuses.connector(name).ok_or_else(|| {
                    HerderError::NotFound(format!("No status found for connector {name}"))
                })?;
                ConnectorState {
                    state: restarting(stored.state, restart_connector)
                        .as_str()
                        .to_string(),
                    worker_id: stored.worker_id,
                    trace: stored.trace,
                }
            }
        };
        let local_tasks: BTreeMap<u32, TaskState> = local
            .map(|l| l.tasks.into_iter().map(|t| (t.id, t)).collect())
            .unwrap_or_default();
        let tasks = (0..self.configs.snapshot().task_count(name))
            .filter_map(|task| match local_tasks.get(&task) {
                Some(t) if tasks_here.contains(&task) => Some(t.clone()),
                _ => {
                    let stored = self.statuses.task(&ConnectorTaskId {
                        connector: Arc::from(name),
                        task,
                    })?;
                    Some(TaskState {
                        id: task,
                        state: restarting(stored.state, restart_tasks.contains(&task))
                            .as_str()
                            .to_string(),
                        worker_id: stored.worker_id,
                        trace: stored.trace,
                        restarts: 0,
                        stalled: false,
                    })
                }
            })
            .collect();
        Ok(ConnectorStateInfo {
            name: name.to_string(),
            connector,
            tasks,
            kind: self.kind_of(name),
        })
    }

    /// The parsed config of a connector whose offsets may change: STOPPED in the config
    /// topic, with no task configs.
    fn stopped_config(&self, name: &str) -> HerderResult<ConnectorConfig> {
        let snapshot = self.require(name, HerderError::connector_not_found)?;
        if snapshot.target_state(name) != Some(TargetState::Stopped)
            || !snapshot.tasks(name).is_empty()
        {
            return Err(HerderError::BadRequest(offsets::not_stopped_message(name)));
        }
        self.parsed(&snapshot, name)
    }

    /// With exactly-once source support, fences the stopped source connector's last task
    /// generation before its offsets change, so no zombie task can commit offsets over the
    /// new ones (as Kafka Connect does).
    async fn fence_before_offsets_change(&self, name: &str) -> HerderResult<()> {
        if self.fence_zombies(name).await {
            Ok(())
        } else {
            Err(HerderError::Internal(
                "Failed to perform zombie fencing for source connector prior to modifying offsets"
                    .to_string(),
            ))
        }
    }

    fn parsed(&self, snapshot: &ConfigSnapshot, name: &str) -> HerderResult<ConnectorConfig> {
        let config = snapshot
            .connector_config(name)
            .ok_or_else(|| HerderError::connector_not_found(name))?;
        ConnectorConfig::parse_for(config, &self.plugins, Some(self.exactly_once)).map_err(
            |issues| {
                HerderError::BadRequest(
                    issues
                        .iter()
                        .map(|i| i.message.as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            },
        )
    }

    /// Validates, then writes a new or replaced config; the caller holds `ops`.
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
        let mut infos =
            validation::config_infos_for(&config, &self.plugins, Some(self.exactly_once))?;
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
        let exists = self.configs.contains(name);
        if exists && !allow_replace {
            return Err(HerderError::Conflict(format!(
                "Connector {name} already exists"
            )));
        }
        let target = if exists { None } else { initial_state };
        self.configs
            .put_connector_config(name, &config, target)
            .await
            .map_err(storage_error)?;
        self.apply_updates().await;
        Ok(Created {
            created: !exists,
            value: self.info(name)?,
        })
    }

    /// Sets a level read from the config topic on this worker's loggers.
    fn apply_logger_level(&self, namespace: &str, level: &str) {
        let Some(loggers) = self.loggers.get() else {
            return;
        };
        match loggers.set(namespace, level) {
            Ok(_) => tracing::info!(
                logger = namespace,
                level,
                "Set the level of logger '{namespace}' to {level} for the whole cluster."
            ),
            Err(e) => tracing::warn!(
                logger = namespace,
                level,
                error = %e,
                "Ignoring a cluster-wide log level from the config topic."
            ),
        }
    }

    /// Writes a target state, reads it back and applies it; the caller holds `ops`.
    async fn set_target(&self, name: &str, target: TargetState) -> HerderResult<()> {
        self.configs
            .put_target_state(name, target)
            .await
            .map_err(storage_error)?;
        self.configs.refresh().await.map_err(storage_error)?;
        self.apply_updates().await;
        Ok(())
    }
}

/// The committed task configs of a connector, in task order; `None` without a complete
/// committed set.
fn committed_tasks(snapshot: &ConfigSnapshot, name: &str) -> Option<Vec<ConfigMap>> {
    snapshot.task_config_generation(name)?;
    snapshot
        .tasks(name)
        .iter()
        .map(|t| snapshot.task_config(t).cloned())
        .collect()
}

#[async_trait]
impl Reconfigure for DistributedHerder {
    async fn reconfigure_tasks(&self, name: &str) {
        let _op = self.ops.lock().await;
        let current = self
            .read()
            .get(name)
            .filter(|a| a.target == TargetState::Started)
            .map(|a| a.tasks);
        let Some(current) = current else {
            tracing::info!(connector = %name, "Skipping the reconfiguration of a connector that is not running.");
            return;
        };
        let tasks = self.refresh_tasks(name, current).await;
        if let Some(a) = self.write().get_mut(name) {
            a.tasks = tasks;
        }
        self.publish_statuses().await;
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn storage_error(e: StorageError) -> HerderError {
    HerderError::Internal(format!("The config topic could not be updated: {e}"))
}

#[async_trait]
impl Herder for DistributedHerder {
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

    fn leader_url(&self) -> Option<String> {
        match self.role() {
            Some(role) => (!role.is_leader).then_some(role.leader_url),
            // A member before its first round does not know the leader yet.
            None if self.in_group => Some(String::new()),
            None => None,
        }
    }

    fn owner_url(&self, connector: &str, task: Option<u32>) -> Option<String> {
        self.work_owner_url(connector, task)
    }

    async fn connectors(&self) -> Vec<String> {
        self.configs
            .snapshot()
            .connectors()
            .map(str::to_owned)
            .collect()
    }

    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        self.info(name)
    }

    async fn connector_config(&self, name: &str) -> HerderResult<ConfigMap> {
        let snapshot = self.require(name, HerderError::connector_not_found)?;
        Ok(snapshot.connector_config(name).cloned().unwrap_or_default())
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
        let snapshot = self.require(name, HerderError::connector_not_found)?;
        let mut config = snapshot.connector_config(name).cloned().unwrap_or_default();
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
        self.require(name, HerderError::connector_not_found)?;
        self.configs
            .remove_connector_config(name)
            .await
            .map_err(storage_error)?;
        self.apply_updates().await;
        Ok(())
    }

    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>> {
        let snapshot = self.require(name, HerderError::connector_not_found)?;
        Ok(snapshot
            .tasks(name)
            .into_iter()
            .map(|t| TaskInfo {
                id: TaskId {
                    connector: name.to_string(),
                    task: t.task,
                },
                config: snapshot.task_config(&t).cloned().unwrap_or_default(),
            })
            .collect())
    }

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo> {
        if !self.configs.contains(name) {
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
        let here = self
            .placement(name)
            .is_none_or(|(_, tasks)| tasks.contains(&task));
        match self.worker.status().task(&id) {
            Some(s) if here && self.configs.contains(name) => Ok(status_view::with_health(
                self.task_state(task, &s),
                self.worker.status().task_health(&id),
            )),
            _ => self
                .state_info(name, false, &[])
                .ok()
                .and_then(|info| info.tasks.into_iter().find(|t| t.id == task))
                .ok_or_else(|| HerderError::NotFound(format!("No status found for task {id}"))),
        }
    }

    async fn restart_connector(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> HerderResult<Option<ConnectorStateInfo>> {
        let _op = self.ops.lock().await;
        if request.is_legacy() {
            self.require(name, HerderError::connector_not_found)?;
            if let Err(e) = self.worker.restart_connector(name).await {
                tracing::warn!(connector = %name, error = %e, "Connector did not restart.");
            }
            self.start_missing_tasks(name).await;
            self.publish_statuses().await;
            return Ok(None);
        }
        self.require(name, |n| {
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
        self.configs
            .put_restart_request(&StoredRestart {
                connector: name.to_string(),
                only_failed: request.only_failed,
                include_tasks: request.include_tasks,
            })
            .await
            .map_err(storage_error)?;
        self.apply_updates().await;
        Ok(Some(answer))
    }

    async fn restart_task(&self, name: &str, task: u32) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        let snapshot = self.require(name, HerderError::connector_not_found)?;
        let id = ConnectorTaskId {
            connector: Arc::from(name),
            task,
        };
        if task >= snapshot.task_count(name) {
            return Err(HerderError::NotFound(format!("Task {id} not found")));
        }
        let result = self.worker.restart_task(&id).await.map_err(|e| match e {
            RuntimeError::UnknownTask { .. } | RuntimeError::UnknownConnector { .. } => {
                HerderError::NotFound(format!("Task {id} not found"))
            }
            other => HerderError::Internal(other.to_string()),
        });
        self.publish_statuses().await;
        result
    }

    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        self.require(name, HerderError::unknown_connector)?;
        self.set_target(name, TargetState::Paused).await
    }

    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        self.require(name, HerderError::unknown_connector)?;
        self.set_target(name, TargetState::Started).await
    }

    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        let _op = self.ops.lock().await;
        self.require(name, HerderError::unknown_connector)?;
        // Empty task configs first, so a STOPPED connector never has tasks to fence.
        self.configs
            .put_task_configs(name, &[])
            .await
            .map_err(storage_error)?;
        self.set_target(name, TargetState::Stopped).await
    }

    async fn active_topics(&self, name: &str) -> HerderResult<Vec<String>> {
        if !self.topic_tracking() {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        self.require(name, HerderError::connector_not_found)?;
        // Every worker records the topics its tasks use in the status topic; read it to the
        // end so that all of them are listed.
        self.statuses.refresh().await.map_err(storage_error)?;
        Ok(self
            .statuses
            .topics(name)
            .into_iter()
            .map(|t| t.topic)
            .collect())
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
        self.require(name, HerderError::connector_not_found)?;
        self.statuses
            .delete_topics(name)
            .await
            .map_err(storage_error)?;
        // Every worker's tasks record a topic again on its next use once that worker has
        // read the deletions; this one reads them now.
        self.statuses.refresh().await.map_err(storage_error)?;
        Ok(())
    }

    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        let snapshot = self.require(name, HerderError::connector_not_found)?;
        let parsed = self.parsed(&snapshot, name)?;
        offsets::read_offsets(&self.worker, &parsed).await
    }

    async fn alter_connector_offsets(
        &self,
        name: &str,
        given: ConnectorOffsets,
    ) -> HerderResult<Message> {
        let _op = self.ops.lock().await;
        let parsed = self.stopped_config(name)?;
        self.fence_before_offsets_change(name).await?;
        offsets::alter_offsets(&self.worker, &parsed, &given).await
    }

    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<Message> {
        let _op = self.ops.lock().await;
        let parsed = self.stopped_config(name)?;
        self.fence_before_offsets_change(name).await?;
        offsets::reset_offsets(&self.worker, &parsed).await
    }

    async fn publish_logger_level(&self, namespace: &str, level: &str) -> HerderResult<bool> {
        let _op = self.ops.lock().await;
        self.configs
            .put_logger_level(namespace, level)
            .await
            .map_err(storage_error)?;
        self.configs.refresh().await.map_err(storage_error)?;
        self.apply_updates().await;
        Ok(true)
    }

    async fn validate_connector_config(&self, config: &ConfigMap) -> HerderResult<ConfigInfos> {
        let mut infos =
            validation::config_infos_for(config, &self.plugins, Some(self.exactly_once))?;
        validation::add_override_policy_errors(
            &mut infos,
            config,
            self.worker.config().client_override_policy,
        );
        Ok(infos)
    }
}

#[cfg(test)]
mod tests {
    use sluice_kafka::group::TaskId;

    use super::*;

    fn task(connector: &str, task: u32) -> ConnectorTaskId {
        ConnectorTaskId {
            connector: Arc::from(connector),
            task,
        }
    }

    #[test]
    fn a_group_work_set_becomes_an_assignment_and_revocations_come_out() {
        let work = WorkSet {
            connectors: ["a".to_owned()].into(),
            tasks: [
                TaskId::new("a", 0),
                TaskId::new("a", 2),
                TaskId::new("b", 0),
            ]
            .into(),
        };
        let mut assignment = WorkAssignment::from(&work);
        assert_eq!(assignment.of("a"), (true, [0, 2].into()));
        assert_eq!(assignment.of("b"), (false, [0].into()));
        assert_eq!(assignment.of("c"), (false, BTreeSet::new()));
        assignment.remove(&WorkSet {
            connectors: ["a".to_owned()].into(),
            tasks: [TaskId::new("a", 2), TaskId::new("c", 1)].into(),
        });
        assert!(assignment.connectors.is_empty());
        assert_eq!(
            assignment.tasks,
            [task("a", 0), task("b", 0)].into_iter().collect()
        );
    }
}

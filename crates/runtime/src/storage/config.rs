//! The config topic (`config.storage.topic`, one partition): connector configs, task configs
//! with their commit records, target states, task-count (fencing) records, the session key,
//! restart requests and cluster log levels.
//!
//! Reading folds records into a [`ConfigSnapshot`] with Kafka Connect's rules:
//!
//! - `connector-<name>` sets a connector's config (a connector without a target state gets
//!   `STARTED`); its tombstone removes the connector with its task configs and count.
//! - `task-<name>-<n>` is held back until a `commit-<name>` record arrives. The commit applies
//!   the held task configs when they cover tasks `0..tasks`; otherwise (compaction removed
//!   some) the connector is marked inconsistent and its tasks are withheld until a complete
//!   set is committed. Held configs are dropped at every commit either way. A commit for a
//!   connector with no config is ignored.
//! - `target-state-<name>` reads `state.v2` and falls back on `state` (written by workers
//!   that know no `STOPPED`); its tombstone resets an existing connector to `STARTED`.
//! - `tasks-fencing-<name>` records the task count of the last zombie fencing; task configs
//!   committed after it leave the connector pending a new fencing.
//! - `restart-connector-<name>` and `logger-cluster-<namespace>` are requests: they are
//!   reported to subscribers ([`ConfigStore::subscribe`]) once the store has started, never
//!   kept in the snapshot.
//!
//! Records that cannot be read are logged and skipped, as Kafka does.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value as Json};
use sluice_api::config::ConfigMap;
use sluice_log::{ConsumedRecord, Log, LogProducer, ProduceRecord, ProducerConfig};
use tokio::sync::mpsc;

use super::topic::{Follower, RecordSink, TopicLog, TopicRole};
use super::{InternalTopic, StorageError, StoreOptions};
use crate::status::{ConnectorTaskId, TargetState};
use crate::worker_config::CONFIG_STORAGE_TOPIC;

const CONNECTOR_PREFIX: &str = "connector-";
const TASK_PREFIX: &str = "task-";
const COMMIT_PREFIX: &str = "commit-";
const TARGET_STATE_PREFIX: &str = "target-state-";
const TASK_COUNT_PREFIX: &str = "tasks-fencing-";
const SESSION_KEY: &str = "session-key";
const RESTART_PREFIX: &str = "restart-connector-";
const LOGGER_PREFIX: &str = "logger-cluster-";

const ROLE: TopicRole = TopicRole {
    key: CONFIG_STORAGE_TOPIC,
    purpose: "connector configurations",
    client_suffix: "configs",
};

/// Reads a target state's name as Kafka writes it (exact case).
fn parse_target_state(name: &str) -> Option<TargetState> {
    match name {
        "STARTED" => Some(TargetState::Started),
        "PAUSED" => Some(TargetState::Paused),
        "STOPPED" => Some(TargetState::Stopped),
        _ => None,
    }
}

/// The key workers use to sign internal requests, shared through the config topic.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The raw key bytes.
    pub key: Vec<u8>,
    /// Its algorithm (`HmacSHA256`).
    pub algorithm: String,
    /// When it was made, in ms since the epoch.
    pub creation_timestamp: i64,
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey")
            .field("key", &"[hidden]")
            .field("algorithm", &self.algorithm)
            .field("creation_timestamp", &self.creation_timestamp)
            .finish()
    }
}

/// A restart asked for through the REST API, passed to the worker running the connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRequest {
    /// The connector.
    pub connector: String,
    /// Restart only failed instances.
    pub only_failed: bool,
    /// Restart the tasks too.
    pub include_tasks: bool,
}

/// A change read from the config topic after the store started (Kafka's
/// `ConfigBackingStore.UpdateListener` calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigUpdate {
    /// A connector's config was created or changed.
    ConnectorConfig {
        /// The connector.
        connector: String,
    },
    /// A connector was deleted.
    ConnectorRemoved {
        /// The connector.
        connector: String,
    },
    /// Task configs were committed (possibly none, when a commit changed only the count).
    TaskConfigs {
        /// The connector whose task configs were committed.
        connector: String,
        /// The tasks whose configs were applied.
        tasks: Vec<ConnectorTaskId>,
    },
    /// An existing connector's target state changed.
    TargetState {
        /// The connector.
        connector: String,
    },
    /// The zombies of a connector's earlier task generation were fenced (a task count
    /// record): exactly-once source tasks of the current generation may start.
    Fenced {
        /// The connector.
        connector: String,
    },
    /// A new session key was distributed.
    SessionKey,
    /// A restart was requested.
    Restart(RestartRequest),
    /// A cluster-wide log level was set.
    LoggerLevel {
        /// The logger namespace.
        namespace: String,
        /// The level (`DEBUG`, ...).
        level: String,
    },
}

/// The connectors and tasks of the cluster as the config topic says (Kafka's
/// `ClusterConfigState`). Cheap to clone: configs are shared.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSnapshot {
    offset: i64,
    session_key: Option<SessionKey>,
    connector_configs: BTreeMap<String, Arc<ConfigMap>>,
    target_states: BTreeMap<String, TargetState>,
    task_counts: BTreeMap<String, u32>,
    task_configs: BTreeMap<ConnectorTaskId, Arc<ConfigMap>>,
    task_count_records: BTreeMap<String, u32>,
    task_config_generations: BTreeMap<String, u32>,
    applied_connector_configs: BTreeMap<String, Arc<ConfigMap>>,
    pending_fencing: BTreeSet<String>,
    inconsistent: BTreeSet<String>,
}

impl Default for ConfigSnapshot {
    fn default() -> Self {
        ConfigSnapshot {
            offset: -1,
            session_key: None,
            connector_configs: BTreeMap::new(),
            target_states: BTreeMap::new(),
            task_counts: BTreeMap::new(),
            task_configs: BTreeMap::new(),
            task_count_records: BTreeMap::new(),
            task_config_generations: BTreeMap::new(),
            applied_connector_configs: BTreeMap::new(),
            pending_fencing: BTreeSet::new(),
            inconsistent: BTreeSet::new(),
        }
    }
}

impl ConfigSnapshot {
    /// Offset after the last record read (-1 before any); workers compare it to agree on a
    /// config version.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// The latest session key.
    pub fn session_key(&self) -> Option<&SessionKey> {
        self.session_key.as_ref()
    }

    /// True when the connector has a config.
    pub fn contains(&self, connector: &str) -> bool {
        self.connector_configs.contains_key(connector)
    }

    /// Names of every connector with a config, sorted.
    pub fn connectors(&self) -> impl Iterator<Item = &str> {
        self.connector_configs.keys().map(String::as_str)
    }

    /// A connector's config.
    pub fn connector_config(&self, connector: &str) -> Option<&ConfigMap> {
        self.connector_configs.get(connector).map(Arc::as_ref)
    }

    /// The connector config that was current when its task configs were last committed.
    pub fn applied_connector_config(&self, connector: &str) -> Option<&ConfigMap> {
        self.applied_connector_configs
            .get(connector)
            .map(Arc::as_ref)
    }

    /// A connector's target state.
    pub fn target_state(&self, connector: &str) -> Option<TargetState> {
        self.target_states.get(connector).copied()
    }

    /// The task count of the connector's last commit (0 without one).
    pub fn task_count(&self, connector: &str) -> u32 {
        self.task_counts.get(connector).copied().unwrap_or(0)
    }

    /// The connector's tasks, `0..task_count`; none while its task configs are
    /// inconsistent.
    pub fn tasks(&self, connector: &str) -> Vec<ConnectorTaskId> {
        if self.inconsistent.contains(connector) {
            return Vec::new();
        }
        let Some(count) = self.task_counts.get(connector) else {
            return Vec::new();
        };
        let name: Arc<str> = Arc::from(connector);
        (0..*count)
            .map(|task| ConnectorTaskId {
                connector: name.clone(),
                task,
            })
            .collect()
    }

    /// A task's committed config.
    pub fn task_config(&self, task: &ConnectorTaskId) -> Option<&ConfigMap> {
        self.task_configs.get(task).map(Arc::as_ref)
    }

    /// The task count recorded by the connector's last zombie fencing.
    pub fn task_count_record(&self, connector: &str) -> Option<u32> {
        self.task_count_records.get(connector).copied()
    }

    /// How many times the connector's task configs were committed, from 0.
    pub fn task_config_generation(&self, connector: &str) -> Option<u32> {
        self.task_config_generations.get(connector).copied()
    }

    /// True when task configs were committed after the connector's last fencing record.
    pub fn pending_fencing(&self, connector: &str) -> bool {
        self.pending_fencing.contains(connector)
    }

    /// Connectors whose committed task configs are incomplete (lost to compaction).
    pub fn inconsistent_connectors(&self) -> &BTreeSet<String> {
        &self.inconsistent
    }
}

/// The record keys, as Kafka Connect writes them.
fn connector_key(connector: &str) -> String {
    format!("{CONNECTOR_PREFIX}{connector}")
}

fn task_key(connector: &str, task: u32) -> String {
    format!("{TASK_PREFIX}{connector}-{task}")
}

fn commit_key(connector: &str) -> String {
    format!("{COMMIT_PREFIX}{connector}")
}

fn target_state_key(connector: &str) -> String {
    format!("{TARGET_STATE_PREFIX}{connector}")
}

fn task_count_key(connector: &str) -> String {
    format!("{TASK_COUNT_PREFIX}{connector}")
}

fn restart_key(connector: &str) -> String {
    format!("{RESTART_PREFIX}{connector}")
}

fn logger_key(namespace: &str) -> String {
    format!("{LOGGER_PREFIX}{namespace}")
}

/// `{"properties":{...}}`, the value of connector and task configs.
fn properties_value(config: &ConfigMap) -> Vec<u8> {
    let map: serde_json::Map<String, Json> = config
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    json!({ "properties": map }).to_string().into_bytes()
}

fn commit_value(tasks: u32) -> Vec<u8> {
    json!({ "tasks": tasks }).to_string().into_bytes()
}

/// Target state record: `state` is `PAUSED` for `STOPPED`, for workers that predate it.
fn target_state_value(state: TargetState) -> Vec<u8> {
    let legacy = match state {
        TargetState::Stopped => TargetState::Paused,
        other => other,
    };
    json!({ "state": legacy.as_str(), "state.v2": state.as_str() })
        .to_string()
        .into_bytes()
}

fn task_count_value(tasks: u32) -> Vec<u8> {
    json!({ "task-count": tasks }).to_string().into_bytes()
}

fn session_key_value(key: &SessionKey) -> Vec<u8> {
    json!({
        "key": base64::engine::general_purpose::STANDARD.encode(&key.key),
        "algorithm": key.algorithm,
        "creation-timestamp": key.creation_timestamp,
    })
    .to_string()
    .into_bytes()
}

fn restart_value(request: &RestartRequest) -> Vec<u8> {
    json!({ "include-tasks": request.include_tasks, "only-failed": request.only_failed })
        .to_string()
        .into_bytes()
}

fn logger_value(level: &str) -> Vec<u8> {
    json!({ "level": level }).to_string().into_bytes()
}

/// The `properties` map of a config value. Strings are taken as they are, other scalars as
/// their JSON text; null entries are dropped.
fn read_properties(value: &Json) -> Option<ConfigMap> {
    let properties = value.as_object()?.get("properties")?.as_object()?;
    Some(
        properties
            .iter()
            .filter_map(|(k, v)| match v {
                Json::String(s) => Some((k.clone(), s.clone())),
                Json::Null => None,
                other => Some((k.clone(), other.to_string())),
            })
            .collect(),
    )
}

/// A non-negative count field that fits in 32 bits (Kafka reads it as an int).
fn read_count(value: &Json, field: &str) -> Option<u32> {
    value
        .as_object()?
        .get(field)?
        .as_i64()
        .and_then(|n| u32::try_from(n).ok())
}

/// `task-<connector>-<n>`: the task number follows the last dash.
fn parse_task_key(rest: &str) -> Option<ConnectorTaskId> {
    let (connector, task) = rest.rsplit_once('-')?;
    Some(ConnectorTaskId {
        connector: Arc::from(connector),
        task: task.parse().ok()?,
    })
}

/// The store's view of the topic: the snapshot plus task configs waiting for their commit.
struct ConfigState {
    snapshot: ConfigSnapshot,
    deferred: BTreeMap<String, BTreeMap<u32, Arc<ConfigMap>>>,
    /// Set once the first read to the end is done; updates are reported from then on.
    started: bool,
    subscribers: Vec<mpsc::UnboundedSender<ConfigUpdate>>,
}

impl ConfigState {
    fn new() -> Self {
        ConfigState {
            snapshot: ConfigSnapshot::default(),
            deferred: BTreeMap::new(),
            started: false,
            subscribers: Vec::new(),
        }
    }

    fn apply(&mut self, record: &ConsumedRecord, updates: &mut Vec<ConfigUpdate>) {
        let Some(key) = record.key.as_deref() else {
            tracing::error!(
                offset = record.offset,
                "Discarding a config record without a key."
            );
            return;
        };
        let Ok(key) = std::str::from_utf8(key) else {
            tracing::error!(
                offset = record.offset,
                "Discarding a config record whose key is not UTF-8."
            );
            return;
        };
        let value = match record.value.as_deref() {
            None => None,
            Some(bytes) => match serde_json::from_slice::<Json>(bytes) {
                Ok(Json::Null) => None,
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!(key, error = %e, "Failed to read a config record as JSON; skipping it.");
                    return;
                }
            },
        };
        self.snapshot.offset = record.offset + 1;
        if let Some(connector) = key.strip_prefix(TARGET_STATE_PREFIX) {
            self.target_state(connector, value.as_ref(), updates);
        } else if let Some(connector) = key.strip_prefix(CONNECTOR_PREFIX) {
            self.connector_config(connector, value.as_ref(), updates);
        } else if let Some(rest) = key.strip_prefix(TASK_PREFIX) {
            match parse_task_key(rest) {
                Some(id) => self.task_config(id, value.as_ref()),
                None => tracing::error!(
                    key,
                    "Ignoring a task configuration whose key is not 'task-<connector>-<n>'."
                ),
            }
        } else if let Some(connector) = key.strip_prefix(COMMIT_PREFIX) {
            self.commit(connector, value.as_ref(), updates);
        } else if let Some(connector) = key.strip_prefix(RESTART_PREFIX) {
            if let Some(request) = read_restart(connector, value.as_ref()) {
                updates.push(ConfigUpdate::Restart(request));
            }
        } else if let Some(connector) = key.strip_prefix(TASK_COUNT_PREFIX) {
            self.task_count(connector, value.as_ref(), updates);
        } else if key == SESSION_KEY {
            self.session_key(value.as_ref(), updates);
        } else if let Some(namespace) = key.strip_prefix(LOGGER_PREFIX) {
            let level = value
                .as_ref()
                .and_then(|v| v.as_object()?.get("level")?.as_str().map(str::to_owned));
            match level {
                Some(level) => updates.push(ConfigUpdate::LoggerLevel {
                    namespace: namespace.to_owned(),
                    level,
                }),
                None => tracing::error!(
                    namespace,
                    "Ignoring a logging level record without a string 'level' field."
                ),
            }
        } else {
            tracing::error!(key, "Discarding a config record with an unknown key.");
        }
    }

    fn target_state(
        &mut self,
        connector: &str,
        value: Option<&Json>,
        updates: &mut Vec<ConfigUpdate>,
    ) {
        let snap = &mut self.snapshot;
        let Some(value) = value else {
            // Written with the connector's deletion; a connector still configured keeps a
            // valid state.
            snap.target_states.remove(connector);
            if snap.connector_configs.contains_key(connector) {
                snap.target_states
                    .insert(connector.to_owned(), TargetState::Started);
            }
            return;
        };
        let Some(fields) = value.as_object() else {
            tracing::error!(
                connector,
                "Ignoring a target state that is not a JSON object."
            );
            return;
        };
        let name = match fields.get("state.v2") {
            Some(Json::String(s)) => Some(s.as_str()),
            _ => None,
        }
        .or_else(|| fields.get("state").and_then(Json::as_str));
        let Some(name) = name else {
            tracing::error!(
                connector,
                "Ignoring a target state without a string 'state' field."
            );
            return;
        };
        let Some(state) = parse_target_state(name) else {
            tracing::error!(connector, state = name, "Ignoring an invalid target state.");
            return;
        };
        let previous = snap.target_states.insert(connector.to_owned(), state);
        // A state written before its connector's config (an initial state) is not news.
        if previous != Some(state) && snap.connector_configs.contains_key(connector) {
            updates.push(ConfigUpdate::TargetState {
                connector: connector.to_owned(),
            });
        }
    }

    fn connector_config(
        &mut self,
        connector: &str,
        value: Option<&Json>,
        updates: &mut Vec<ConfigUpdate>,
    ) {
        let Some(value) = value else {
            self.remove_connector(connector);
            tracing::info!(connector, "Connector configuration removed.");
            updates.push(ConfigUpdate::ConnectorRemoved {
                connector: connector.to_owned(),
            });
            return;
        };
        let Some(config) = read_properties(value) else {
            tracing::error!(
                connector,
                "Ignoring a connector configuration without a 'properties' object."
            );
            return;
        };
        let snap = &mut self.snapshot;
        snap.connector_configs
            .insert(connector.to_owned(), Arc::new(config));
        snap.target_states
            .entry(connector.to_owned())
            .or_insert(TargetState::Started);
        updates.push(ConfigUpdate::ConnectorConfig {
            connector: connector.to_owned(),
        });
    }

    fn remove_connector(&mut self, connector: &str) {
        let snap = &mut self.snapshot;
        snap.connector_configs.remove(connector);
        snap.task_counts.remove(connector);
        snap.task_configs
            .retain(|id, _| &*id.connector != connector);
        snap.applied_connector_configs.remove(connector);
        self.deferred.remove(connector);
    }

    fn task_config(&mut self, id: ConnectorTaskId, value: Option<&Json>) {
        let Some(value) = value else {
            tracing::error!(task = %id, "Ignoring a task configuration that is unexpectedly null.");
            return;
        };
        let Some(config) = read_properties(value) else {
            tracing::error!(task = %id, "Ignoring a task configuration without a 'properties' object.");
            return;
        };
        // Held until the connector's commit record says the set is complete.
        self.deferred
            .entry(id.connector.to_string())
            .or_default()
            .insert(id.task, Arc::new(config));
    }

    fn commit(&mut self, connector: &str, value: Option<&Json>, updates: &mut Vec<ConfigUpdate>) {
        let Some(applied_config) = self.snapshot.connector_configs.get(connector).cloned() else {
            // Deleted before these task configs were written, and compaction has removed
            // both the config and its tombstone.
            self.remove_connector(connector);
            tracing::debug!(
                connector,
                "Ignoring task configs of a connector that no longer exists."
            );
            return;
        };
        let Some(count) = value.and_then(|v| read_count(v, "tasks")) else {
            tracing::error!(
                connector,
                "Ignoring a task commit without a valid 'tasks' count."
            );
            return;
        };
        let name: Arc<str> = Arc::from(connector);
        let mut applied = Vec::new();
        let snap = &mut self.snapshot;
        let deferred = self.deferred.get_mut(connector);
        // Only tasks 0..count must be present: compaction can leave configs of higher
        // task numbers from older, larger sets, which are harmless.
        let complete = (0..count).all(|t| deferred.as_ref().is_some_and(|d| d.contains_key(&t)));
        if complete {
            if let Some(deferred) = &deferred {
                for (task, config) in deferred.iter() {
                    let id = ConnectorTaskId {
                        connector: name.clone(),
                        task: *task,
                    };
                    snap.task_configs.insert(id.clone(), config.clone());
                    applied.push(id);
                }
                snap.task_config_generations
                    .entry(connector.to_owned())
                    .and_modify(|g| *g += 1)
                    .or_insert(0);
            }
            snap.inconsistent.remove(connector);
            snap.applied_connector_configs
                .insert(connector.to_owned(), applied_config);
        } else {
            tracing::debug!(
                connector,
                tasks = count,
                "Incomplete set of task configs (probably compacted); not applying them."
            );
            snap.inconsistent.insert(connector.to_owned());
        }
        // Held configs never outlive a commit: a partial set must be rewritten in full.
        if let Some(deferred) = deferred {
            deferred.clear();
        }
        snap.task_counts.insert(connector.to_owned(), count);
        snap.pending_fencing.insert(connector.to_owned());
        updates.push(ConfigUpdate::TaskConfigs {
            connector: connector.to_owned(),
            tasks: applied,
        });
    }

    fn task_count(
        &mut self,
        connector: &str,
        value: Option<&Json>,
        updates: &mut Vec<ConfigUpdate>,
    ) {
        let Some(count) = value.and_then(|v| read_count(v, "task-count")) else {
            tracing::error!(
                connector,
                "Ignoring a task count record without a valid 'task-count'."
            );
            return;
        };
        self.snapshot
            .task_count_records
            .insert(connector.to_owned(), count);
        self.snapshot.pending_fencing.remove(connector);
        updates.push(ConfigUpdate::Fenced {
            connector: connector.to_owned(),
        });
    }

    fn session_key(&mut self, value: Option<&Json>, updates: &mut Vec<ConfigUpdate>) {
        let Some(fields) = value.and_then(Json::as_object) else {
            tracing::error!("Ignoring a session key that is null or not a JSON object.");
            return;
        };
        let key = fields
            .get("key")
            .and_then(Json::as_str)
            .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok());
        let algorithm = fields.get("algorithm").and_then(Json::as_str);
        let created = fields.get("creation-timestamp").and_then(Json::as_i64);
        let (Some(key), Some(algorithm), Some(creation_timestamp)) = (key, algorithm, created)
        else {
            tracing::error!("Ignoring a session key without a Base64 'key', a string 'algorithm' and a long 'creation-timestamp'.");
            return;
        };
        self.snapshot.session_key = Some(SessionKey {
            key,
            algorithm: algorithm.to_owned(),
            creation_timestamp,
        });
        updates.push(ConfigUpdate::SessionKey);
    }
}

/// A restart request; fields that are not booleans default to `false`, as in Kafka.
fn read_restart(connector: &str, value: Option<&Json>) -> Option<RestartRequest> {
    let Some(fields) = value.and_then(Json::as_object) else {
        tracing::error!(
            connector,
            "Ignoring a restart request that is not a JSON object."
        );
        return None;
    };
    let flag = |name: &str| match fields.get(name) {
        Some(Json::Bool(b)) => *b,
        other => {
            tracing::warn!(connector, field = name, value = ?other, "Restart request field is not a boolean; using false.");
            false
        }
    };
    Some(RestartRequest {
        connector: connector.to_owned(),
        only_failed: flag("only-failed"),
        include_tasks: flag("include-tasks"),
    })
}

/// The shared state behind the store, fed by the topic's consumer.
struct ConfigSink {
    state: Mutex<ConfigState>,
}

impl ConfigSink {
    fn lock(&self) -> MutexGuard<'_, ConfigState> {
        // Each record is applied as a whole before the lock is released.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RecordSink for ConfigSink {
    fn consume(&self, records: &[ConsumedRecord]) {
        let mut state = self.lock();
        let mut updates = Vec::new();
        for record in records {
            state.apply(record, &mut updates);
        }
        if state.started && !updates.is_empty() {
            state
                .subscribers
                .retain(|s| updates.iter().all(|u| s.send(u.clone()).is_ok()));
        }
    }
}

/// The leader's transactional writer, used when exactly-once source support is on.
struct FencableWriter {
    producer: Arc<dyn LogProducer>,
    transactional_id: String,
    claimed: tokio::sync::Mutex<bool>,
    /// A group member that does not lead writes what is privileged with the plain producer
    /// (see [`ConfigStore::set_follower`]).
    follower: std::sync::atomic::AtomicBool,
}

/// Connector and task configs and target states in the config topic (Kafka's
/// `KafkaConfigBackingStore`). Clones share one store.
///
/// Only the leader writes configs, task configs and fencing records; target states and
/// log levels may be written by any worker.
#[derive(Clone)]
pub struct ConfigStore {
    log: Arc<TopicLog>,
    sink: Arc<ConfigSink>,
    fencable: Option<Arc<FencableWriter>>,
}

impl ConfigStore {
    /// Opens the store: creates the topic when missing (one partition), checks an existing
    /// one (compacted, one partition) and reads it to the end. With
    /// `leader_transactional_id` (Kafka's `connect-cluster-<group.id>`, used when
    /// `exactly.once.source.support` is `preparing` or `enabled`), privileged writes go
    /// through a transactional producer that [`ConfigStore::claim_write_privileges`] must
    /// first register.
    pub async fn open(
        log: &dyn Log,
        topic: &InternalTopic,
        options: &StoreOptions,
        leader_transactional_id: Option<String>,
    ) -> Result<Self, StorageError> {
        let sink = Arc::new(ConfigSink {
            state: Mutex::new(ConfigState::new()),
        });
        let spec = InternalTopic {
            partitions: 1,
            ..topic.clone()
        };
        let topic_log = TopicLog::open(log, &spec, ROLE, options, sink.clone()).await?;
        if topic_log.partition_count() > 1 {
            return Err(StorageError::TopicSetup {
                key: CONFIG_STORAGE_TOPIC,
                message: format!(
                    "Topic '{}' supplied via the '{CONFIG_STORAGE_TOPIC}' property is required to have a single partition in order to guarantee consistency of connector configurations, but found {} partitions.",
                    spec.name,
                    topic_log.partition_count()
                ),
            });
        }
        let fencable = match leader_transactional_id {
            None => None,
            Some(transactional_id) => {
                let producer = log
                    .producer(ProducerConfig {
                        client_id: format!("{}configs-leader", options.client_id_base),
                        transactional_id: Some(transactional_id.clone()),
                        properties: options.producer.clone(),
                    })
                    .map_err(|e| topic_log.error("creating the transactional writer of the", e))?;
                Some(Arc::new(FencableWriter {
                    producer,
                    transactional_id,
                    claimed: tokio::sync::Mutex::new(false),
                    follower: std::sync::atomic::AtomicBool::new(false),
                }))
            }
        };
        let store = ConfigStore {
            log: Arc::new(topic_log),
            sink,
            fencable,
        };
        store.log.read_to_end().await?;
        store.sink.lock().started = true;
        tracing::info!(topic = %store.log.topic(), "Config store started.");
        Ok(store)
    }

    /// The config topic.
    pub fn topic(&self) -> &str {
        self.log.topic()
    }

    /// The current state; later reads do not change a snapshot already taken.
    pub fn snapshot(&self) -> ConfigSnapshot {
        self.sink.lock().snapshot.clone()
    }

    /// True when the connector has a config.
    pub fn contains(&self, connector: &str) -> bool {
        self.sink.lock().snapshot.contains(connector)
    }

    /// Changes read from now on (after the store started). Each subscriber gets every
    /// update; a dropped receiver is forgotten.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<ConfigUpdate> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.sink.lock().subscribers.push(tx);
        rx
    }

    /// Reads everything written so far (Kafka's `refresh`).
    pub async fn refresh(&self) -> Result<(), StorageError> {
        self.log.read_to_end().await
    }

    /// Keeps reading in the background; see [`Follower`]. Needs a Tokio runtime.
    pub fn follow(&self, poll_timeout: Duration) -> Follower {
        Follower::spawn(self.log.clone(), poll_timeout)
    }

    /// Marks this worker as a group member that does not lead (`true`) or as the leader
    /// (`false`). With exactly-once source support, the leader writes privileged records in
    /// transactions of its writer; in a group, the worker running a connector's instance
    /// writes that connector's task configs and fencing records, which a follower does with
    /// the plain producer (claiming the transactional writer would fence the leader's).
    pub fn set_follower(&self, follower: bool) {
        if let Some(writer) = &self.fencable {
            writer
                .follower
                .store(follower, std::sync::atomic::Ordering::Release);
        }
    }

    /// Registers the leader's transactional writer, fencing any earlier leader's. A no-op
    /// without one, or when already claimed.
    pub async fn claim_write_privileges(&self) -> Result<(), StorageError> {
        let Some(writer) = &self.fencable else {
            return Ok(());
        };
        let mut claimed = writer.claimed.lock().await;
        if *claimed {
            return Ok(());
        }
        match tokio::time::timeout(self.log.timeout(), writer.producer.init_transactions()).await {
            Ok(Ok(())) => {
                *claimed = true;
                Ok(())
            }
            Ok(Err(e)) => Err(self.log.error(
                &format!(
                    "registering transactional id '{}' for the",
                    writer.transactional_id
                ),
                e,
            )),
            Err(_) => Err(self
                .log
                .timed_out("registering the transactional writer of the")),
        }
    }

    /// Writes records that only the leader may write: in one transaction of the fencable
    /// writer when there is one, else with the plain producer. Waits for the acknowledgement.
    async fn send_privileged(
        &self,
        records: Vec<ProduceRecord>,
        operation: &str,
    ) -> Result<(), StorageError> {
        let plain = self
            .fencable
            .as_ref()
            .is_none_or(|w| w.follower.load(std::sync::atomic::Ordering::Acquire));
        let Some(writer) = self.fencable.as_ref().filter(|_| !plain) else {
            self.log.send_and_wait(records, operation).await?;
            return Ok(());
        };
        let mut claimed = writer.claimed.lock().await;
        if !*claimed {
            return Err(StorageError::WritePrivilegesNotClaimed {
                topic: self.log.topic().to_owned(),
            });
        }
        let producer = &writer.producer;
        let transaction = async {
            producer.begin_transaction().await?;
            // The delivery resolves at the commit; awaiting it first would wait forever.
            let delivery = producer.send(records);
            producer.commit_transaction().await?;
            delivery
                .await
                .map(|written| self.log.note_written(&written))
        };
        let result = match tokio::time::timeout(self.log.timeout(), transaction).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => self.log.error(operation, e),
            Err(_) => self.log.timed_out(operation),
        };
        // Give up the privileges: a new leader may have fenced us, and a later claim
        // starts from a clean producer state.
        if let Err(e) = producer.abort_transaction().await {
            tracing::debug!(error = %e, "Aborting the failed config-topic transaction failed.");
        }
        *claimed = false;
        tracing::warn!(error = %result, "A privileged write to the config topic failed; write privileges released.");
        Err(result)
    }

    /// Writes a connector's config (and, when given, its target state first) and reads it
    /// back. A new connector without a target state starts as `STARTED`.
    pub async fn put_connector_config(
        &self,
        connector: &str,
        config: &ConfigMap,
        target_state: Option<TargetState>,
    ) -> Result<(), StorageError> {
        let mut records = Vec::with_capacity(2);
        if let Some(state) = target_state {
            records.push(
                self.log
                    .record(target_state_key(connector), Some(target_state_value(state))),
            );
        }
        records.push(
            self.log
                .record(connector_key(connector), Some(properties_value(config))),
        );
        self.send_privileged(
            records,
            &format!("writing the configuration of connector '{connector}' to the"),
        )
        .await?;
        self.log.read_to_end().await
    }

    /// Deletes a connector (tombstones for its config and target state) and reads it back.
    pub async fn remove_connector_config(&self, connector: &str) -> Result<(), StorageError> {
        let records = vec![
            self.log.record(connector_key(connector), None),
            self.log.record(target_state_key(connector), None),
        ];
        self.send_privileged(
            records,
            &format!("removing the configuration of connector '{connector}' from the"),
        )
        .await?;
        self.log.read_to_end().await
    }

    /// Writes a connector's task configs (tasks `0..configs.len()`), then the commit record
    /// that applies them, reading back after each step as Kafka does.
    pub async fn put_task_configs(
        &self,
        connector: &str,
        configs: &[ConfigMap],
    ) -> Result<(), StorageError> {
        // Catch up first: this writer must not race its own earlier writes.
        self.log.read_to_end().await?;
        let what = format!("writing the task configurations of connector '{connector}' to the");
        if !configs.is_empty() {
            let records = configs
                .iter()
                .zip(0u32..)
                .map(|(config, task)| {
                    self.log
                        .record(task_key(connector, task), Some(properties_value(config)))
                })
                .collect();
            self.send_privileged(records, &what).await?;
            self.log.read_to_end().await?;
        }
        let count = u32::try_from(configs.len()).unwrap_or(u32::MAX);
        let commit = self
            .log
            .record(commit_key(connector), Some(commit_value(count)));
        self.send_privileged(vec![commit], &what).await?;
        self.log.read_to_end().await
    }

    /// Writes a connector's target state. Any worker may; it is not read back (Kafka's
    /// behaviour), so followers apply it when they read it.
    pub async fn put_target_state(
        &self,
        connector: &str,
        state: TargetState,
    ) -> Result<(), StorageError> {
        let record = self
            .log
            .record(target_state_key(connector), Some(target_state_value(state)));
        self.log
            .send_and_wait(
                vec![record],
                &format!("writing the target state of connector '{connector}' to the"),
            )
            .await
            .map(drop)
    }

    /// Records the task count of a completed zombie fencing and reads it back.
    pub async fn put_task_count_record(
        &self,
        connector: &str,
        tasks: u32,
    ) -> Result<(), StorageError> {
        let record = self
            .log
            .record(task_count_key(connector), Some(task_count_value(tasks)));
        self.send_privileged(
            vec![record],
            &format!("writing the task count record of connector '{connector}' to the"),
        )
        .await?;
        self.log.read_to_end().await
    }

    /// Distributes a new session key and reads it back.
    pub async fn put_session_key(&self, key: &SessionKey) -> Result<(), StorageError> {
        let record = self.log.record(SESSION_KEY, Some(session_key_value(key)));
        self.send_privileged(vec![record], "writing the session key to the")
            .await?;
        self.log.read_to_end().await
    }

    /// Writes a restart request and reads it back.
    pub async fn put_restart_request(&self, request: &RestartRequest) -> Result<(), StorageError> {
        let record = self.log.record(
            restart_key(&request.connector),
            Some(restart_value(request)),
        );
        self.send_privileged(
            vec![record],
            &format!(
                "writing a restart request of connector '{}' to the",
                request.connector
            ),
        )
        .await?;
        self.log.read_to_end().await
    }

    /// Sets a logger namespace's level for the whole cluster (not read back).
    pub async fn put_logger_level(&self, namespace: &str, level: &str) -> Result<(), StorageError> {
        let record = self
            .log
            .record(logger_key(namespace), Some(logger_value(level)));
        self.log
            .send_and_wait(
                vec![record],
                &format!("writing the level of logger '{namespace}' to the"),
            )
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use sluice_log::TimestampType;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    fn config(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    struct Feed {
        state: ConfigState,
        offset: i64,
        updates: Vec<ConfigUpdate>,
    }

    impl Feed {
        fn new() -> Self {
            Feed {
                state: ConfigState::new(),
                offset: 0,
                updates: Vec::new(),
            }
        }

        fn put(&mut self, key: &str, value: Option<&str>) -> &mut Self {
            let record = ConsumedRecord {
                topic: Arc::from("connect-configs"),
                partition: 0,
                offset: self.offset,
                timestamp: 0,
                timestamp_type: TimestampType::CreateTime,
                key: Some(Bytes::copy_from_slice(key.as_bytes())),
                value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
                headers: Vec::new(),
            };
            self.offset += 1;
            self.state.apply(&record, &mut self.updates);
            self
        }

        fn snap(&self) -> &ConfigSnapshot {
            &self.state.snapshot
        }
    }

    fn id(connector: &str, task: u32) -> ConnectorTaskId {
        ConnectorTaskId {
            connector: Arc::from(connector),
            task,
        }
    }

    #[test]
    fn values_are_kafka_json() {
        assert_eq!(
            text(properties_value(&config(&[
                ("connector.class", "FileStreamSource"),
                ("tasks.max", "1")
            ]))),
            r#"{"properties":{"connector.class":"FileStreamSource","tasks.max":"1"}}"#
        );
        assert_eq!(text(commit_value(3)), r#"{"tasks":3}"#);
        assert_eq!(
            text(target_state_value(TargetState::Started)),
            r#"{"state":"STARTED","state.v2":"STARTED"}"#
        );
        assert_eq!(
            text(target_state_value(TargetState::Stopped)),
            r#"{"state":"PAUSED","state.v2":"STOPPED"}"#
        );
        assert_eq!(text(task_count_value(2)), r#"{"task-count":2}"#);
        assert_eq!(
            text(session_key_value(&SessionKey {
                key: b"secret".to_vec(),
                algorithm: "HmacSHA256".into(),
                creation_timestamp: 1_700_000_000_000,
            })),
            r#"{"key":"c2VjcmV0","algorithm":"HmacSHA256","creation-timestamp":1700000000000}"#
        );
        assert_eq!(
            text(restart_value(&RestartRequest {
                connector: "c".into(),
                only_failed: true,
                include_tasks: false,
            })),
            r#"{"include-tasks":false,"only-failed":true}"#
        );
        assert_eq!(text(logger_value("DEBUG")), r#"{"level":"DEBUG"}"#);
        assert_eq!(connector_key("my-conn"), "connector-my-conn");
        assert_eq!(task_key("my-conn", 2), "task-my-conn-2");
        assert_eq!(commit_key("my-conn"), "commit-my-conn");
        assert_eq!(target_state_key("my-conn"), "target-state-my-conn");
        assert_eq!(task_count_key("my-conn"), "tasks-fencing-my-conn");
        assert_eq!(restart_key("my-conn"), "restart-connector-my-conn");
        assert_eq!(logger_key("org.foo"), "logger-cluster-org.foo");
    }

    #[test]
    fn task_configs_apply_only_at_their_commit() {
        let mut f = Feed::new();
        f.put("connector-a", Some(r#"{"properties":{"k":"v"}}"#))
            .put("task-a-0", Some(r#"{"properties":{"t":"0"}}"#))
            .put("task-a-1", Some(r#"{"properties":{"t":"1"}}"#));
        assert!(f.snap().tasks("a").is_empty());
        assert!(f.snap().task_config(&id("a", 0)).is_none());
        f.put("commit-a", Some(r#"{"tasks":2}"#));
        assert_eq!(f.snap().tasks("a"), vec![id("a", 0), id("a", 1)]);
        assert_eq!(f.snap().task_config(&id("a", 1)).unwrap()["t"], "1");
        assert_eq!(f.snap().task_config_generation("a"), Some(0));
        assert_eq!(f.snap().target_state("a"), Some(TargetState::Started));
        assert!(f.snap().pending_fencing("a"));
        assert_eq!(f.snap().applied_connector_config("a").unwrap()["k"], "v");
        // Uncommitted configs written after a commit are not applied.
        f.put("task-a-0", Some(r#"{"properties":{"t":"new"}}"#));
        assert_eq!(f.snap().task_config(&id("a", 0)).unwrap()["t"], "0");
        assert_eq!(f.snap().offset(), 5);
    }

    #[test]
    fn an_incomplete_commit_marks_the_connector_inconsistent() {
        let mut f = Feed::new();
        // As left by compaction: task-a-0 of this generation is gone.
        f.put("connector-a", Some(r#"{"properties":{}}"#))
            .put("task-a-1", Some(r#"{"properties":{}}"#))
            .put("commit-a", Some(r#"{"tasks":2}"#));
        assert!(f.snap().inconsistent_connectors().contains("a"));
        assert!(f.snap().tasks("a").is_empty());
        assert_eq!(f.snap().task_count("a"), 2);
        // A complete set repairs it; extra higher-numbered configs are tolerated.
        f.put("task-a-0", Some(r#"{"properties":{"x":"1"}}"#))
            .put("task-a-3", Some(r#"{"properties":{}}"#))
            .put("commit-a", Some(r#"{"tasks":1}"#));
        assert!(f.snap().inconsistent_connectors().is_empty());
        assert_eq!(f.snap().tasks("a"), vec![id("a", 0)]);
    }

    #[test]
    fn a_commit_for_a_deleted_connector_is_ignored() {
        let mut f = Feed::new();
        f.put("task-gone-0", Some(r#"{"properties":{}}"#))
            .put("commit-gone", Some(r#"{"tasks":1}"#));
        assert_eq!(f.snap().task_count("gone"), 0);
        assert!(f.snap().tasks("gone").is_empty());
        assert!(!f.snap().pending_fencing("gone"));
    }

    #[test]
    fn tombstones_delete_and_target_states_fall_back() {
        let mut f = Feed::new();
        f.put("target-state-a", Some(r#"{"state":"PAUSED"}"#))
            .put("connector-a", Some(r#"{"properties":{"k":"v"}}"#))
            .put("task-a-0", Some(r#"{"properties":{}}"#))
            .put("commit-a", Some(r#"{"tasks":1}"#));
        assert_eq!(f.snap().target_state("a"), Some(TargetState::Paused));
        f.put(
            "target-state-a",
            Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
        );
        assert_eq!(f.snap().target_state("a"), Some(TargetState::Stopped));
        // A state tombstone while the connector exists resets it to STARTED.
        f.put("target-state-a", None);
        assert_eq!(f.snap().target_state("a"), Some(TargetState::Started));
        f.put("connector-a", None).put("target-state-a", None);
        assert!(!f.snap().contains("a"));
        assert_eq!(f.snap().target_state("a"), None);
        assert_eq!(f.snap().task_count("a"), 0);
        assert!(f.snap().task_config(&id("a", 0)).is_none());
        assert_eq!(f.snap().connectors().count(), 0);
    }

    #[test]
    fn last_write_wins_and_bad_records_are_skipped() {
        let mut f = Feed::new();
        f.put("connector-a", Some(r#"{"properties":{"v":"1"}}"#))
            .put("connector-a", Some(r#"{"properties":{"v":"2"}}"#))
            .put("connector-a", Some("not json"))
            .put("connector-a", Some(r#"{"other":1}"#))
            .put("target-state-a", Some(r#"{"state":"RUNNING"}"#))
            .put("task-nonumber", Some(r#"{"properties":{}}"#))
            .put("mystery", Some("{}"));
        assert_eq!(f.snap().connector_config("a").unwrap()["v"], "2");
        assert_eq!(f.snap().target_state("a"), Some(TargetState::Started));
    }

    #[test]
    fn dashes_in_names_and_fencing_records() {
        let mut f = Feed::new();
        f.put("connector-my-conn-1", Some(r#"{"properties":{}}"#))
            .put("task-my-conn-1-0", Some(r#"{"properties":{"n":"0"}}"#))
            .put("commit-my-conn-1", Some(r#"{"tasks":1}"#))
            .put("tasks-fencing-my-conn-1", Some(r#"{"task-count":1}"#));
        assert_eq!(f.snap().tasks("my-conn-1"), vec![id("my-conn-1", 0)]);
        assert_eq!(f.snap().task_count_record("my-conn-1"), Some(1));
        assert!(!f.snap().pending_fencing("my-conn-1"));
    }

    #[test]
    fn requests_session_keys_and_updates() {
        let mut f = Feed::new();
        f.put("connector-a", Some(r#"{"properties":{}}"#))
            .put(
                "target-state-a",
                Some(r#"{"state":"PAUSED","state.v2":"PAUSED"}"#),
            )
            .put(
                "restart-connector-a",
                Some(r#"{"include-tasks":true,"only-failed":"yes"}"#),
            )
            .put(
                "session-key",
                Some(r#"{"key":"c2VjcmV0","algorithm":"HmacSHA256","creation-timestamp":5}"#),
            )
            .put("logger-cluster-org.foo", Some(r#"{"level":"DEBUG"}"#))
            .put("task-a-0", Some(r#"{"properties":{}}"#))
            .put("commit-a", Some(r#"{"tasks":1}"#))
            .put("connector-a", None);
        assert_eq!(
            f.updates,
            vec![
                ConfigUpdate::ConnectorConfig {
                    connector: "a".into()
                },
                ConfigUpdate::TargetState {
                    connector: "a".into()
                },
                ConfigUpdate::Restart(RestartRequest {
                    connector: "a".into(),
                    only_failed: false,
                    include_tasks: true,
                }),
                ConfigUpdate::SessionKey,
                ConfigUpdate::LoggerLevel {
                    namespace: "org.foo".into(),
                    level: "DEBUG".into()
                },
                ConfigUpdate::TaskConfigs {
                    connector: "a".into(),
                    tasks: vec![id("a", 0)]
                },
                ConfigUpdate::ConnectorRemoved {
                    connector: "a".into()
                },
            ]
        );
        let key = f.snap().session_key().unwrap();
        assert_eq!(key.key, b"secret");
        assert_eq!(key.creation_timestamp, 5);
        assert!(!format!("{key:?}").contains("secret"));
    }
}

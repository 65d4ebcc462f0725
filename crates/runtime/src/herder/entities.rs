//! The JSON entities of the Kafka Connect REST API, with Kafka's member names.
//!
//! The herder answers with these types and the REST layer serializes them as they are, so
//! what a client sees is decided here. Config values are JSON strings everywhere, as in
//! Kafka; offsets are JSON objects chosen by the connector (sources) or Kafka's
//! `kafka_topic`/`kafka_partition`/`kafka_offset` (sinks).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sluice_api::config::{ConfigKey, ConfigMap, ConfigValueReport};

use crate::connector_config::ConnectorKind;

/// The Kafka Connect version whose REST API this worker serves (`GET /`).
pub const KAFKA_CONNECT_VERSION: &str = "4.0.0";

/// `GET /`: what this worker is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The Kafka Connect version whose REST API is served.
    pub version: String,
    /// What built this worker.
    pub commit: String,
    /// The id of the log's cluster.
    pub kafka_cluster_id: String,
}

impl ServerInfo {
    /// This build's answer for a worker on the log cluster `kafka_cluster_id`.
    pub fn of_cluster(kafka_cluster_id: &str) -> Self {
        ServerInfo {
            version: KAFKA_CONNECT_VERSION.to_string(),
            commit: format!("sluice-{}", env!("CARGO_PKG_VERSION")),
            kafka_cluster_id: kafka_cluster_id.to_owned(),
        }
    }
}

/// A task of a connector, as `{"connector": "<name>", "task": <n>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskId {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u32,
}

/// `source`, `sink` or `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorType {
    /// A source connector.
    Source,
    /// A sink connector.
    Sink,
    /// The class is not known.
    Unknown,
}

impl From<ConnectorKind> for ConnectorType {
    fn from(kind: ConnectorKind) -> Self {
        match kind {
            ConnectorKind::Source => ConnectorType::Source,
            ConnectorKind::Sink => ConnectorType::Sink,
        }
    }
}

/// A connector's config and tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    /// Connector name.
    pub name: String,
    /// The config as stored.
    pub config: ConfigMap,
    /// Its tasks (none while stopped).
    pub tasks: Vec<TaskId>,
    /// Source or sink.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
}

/// One task's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// The task.
    pub id: TaskId,
    /// Its config.
    pub config: ConfigMap,
}

/// The state of a connector instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorState {
    /// `RUNNING`, `PAUSED`, ...
    pub state: String,
    /// `host:port` of the worker running it.
    pub worker_id: String,
    /// The error trace of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// The state of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    /// Task number.
    pub id: u32,
    /// `RUNNING`, `PAUSED`, ...
    pub state: String,
    /// `host:port` of the worker running it.
    pub worker_id: String,
    /// The error trace of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Sluice: automatic restarts in a row (see `crate::restart`); left out when 0, so the
    /// answer is Kafka's unless there is something to say.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restarts: u32,
    /// Sluice: true while the task is stalled (running, delivering nothing while records
    /// wait); left out when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stalled: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A connector's status with its tasks', sorted by task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorStateInfo {
    /// Connector name.
    pub name: String,
    /// The connector's own state.
    pub connector: ConnectorState,
    /// Its tasks.
    pub tasks: Vec<TaskState>,
    /// Source or sink.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
}

/// One partition's offset: connector-defined maps for sources, Kafka's
/// `{"kafka_topic", "kafka_partition"}` / `{"kafka_offset"}` for sinks. A null offset (in an
/// alter request) resets the partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffset {
    /// The partition.
    #[serde(default)]
    pub partition: Option<Map<String, Json>>,
    /// The offset.
    #[serde(default)]
    pub offset: Option<Map<String, Json>>,
}

/// A connector's offsets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectorOffsets {
    /// One entry per partition.
    #[serde(default)]
    pub offsets: Vec<ConnectorOffset>,
}

/// The answer of operations that only report success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// What happened.
    pub message: String,
}

/// A plugin built into this binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Its class name.
    #[serde(rename = "class")]
    pub class_name: String,
    /// `source`, `sink`, `converter`, `header_converter`, `transformation` or `predicate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The declaration of one config key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigKeyInfo {
    /// Key name.
    pub name: String,
    /// `STRING`, `INT`, ...
    #[serde(rename = "type")]
    pub config_type: String,
    /// True when the key has no default.
    pub required: bool,
    /// The default as text.
    pub default_value: Option<String>,
    /// `HIGH`, `MEDIUM` or `LOW`.
    pub importance: String,
    /// What the key does.
    pub documentation: String,
    /// Its group.
    pub group: Option<String>,
    /// Position in the group.
    pub order: i32,
    /// `NONE`, `SHORT`, `MEDIUM` or `LONG`.
    pub width: String,
    /// Human-readable name.
    pub display_name: String,
    /// Keys whose validity depends on this one.
    pub dependents: Vec<String>,
}

impl ConfigKeyInfo {
    /// The entity of a declared key, under `name` (which may carry a prefix).
    pub fn of(key: &ConfigKey, name: &str, group: Option<String>) -> Self {
        ConfigKeyInfo {
            name: name.to_string(),
            config_type: key.config_type.name().to_string(),
            required: key.is_required(),
            default_value: key.default_text().map(str::to_string),
            importance: key.importance.name().to_string(),
            documentation: key.documentation.clone(),
            group: group.or_else(|| key.group.clone()),
            order: key.order_in_group,
            width: key.width.name().to_string(),
            display_name: if key.display_name == key.name {
                name.to_string()
            } else {
                key.display_name.clone()
            },
            dependents: key.dependents.clone(),
        }
    }
}

/// The validated value of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigValueInfo {
    /// Key name.
    pub name: String,
    /// The value as text (`[hidden]` for passwords), null when unset.
    pub value: Option<String>,
    /// Suggested values.
    pub recommended_values: Vec<String>,
    /// Every problem with the value.
    pub errors: Vec<String>,
    /// Whether the key matters given the other values.
    pub visible: bool,
}

impl From<ConfigValueReport> for ConfigValueInfo {
    fn from(r: ConfigValueReport) -> Self {
        ConfigValueInfo {
            name: r.name,
            value: r.value,
            recommended_values: r.recommended_values,
            errors: r.errors,
            visible: r.visible,
        }
    }
}

/// A key's declaration and validated value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigInfo {
    /// The declaration, when the key is declared.
    pub definition: Option<ConfigKeyInfo>,
    /// The value.
    pub value: Option<ConfigValueInfo>,
}

/// The answer of `config/validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigInfos {
    /// `connector.class` as given.
    pub name: String,
    /// Number of error messages.
    pub error_count: usize,
    /// Groups in order of first appearance.
    pub groups: Vec<String>,
    /// Every key.
    pub configs: Vec<ConfigInfo>,
}

impl ConfigInfos {
    /// Every error message, in key order.
    pub fn error_messages(&self) -> Vec<&str> {
        self.configs
            .iter()
            .filter_map(|c| c.value.as_ref())
            .flat_map(|v| v.errors.iter().map(String::as_str))
            .collect()
    }
}

/// A logger's level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggerLevel {
    /// The level (`INFO`, `DEBUG`, ...).
    pub level: String,
    /// When it was last set through the API (epoch milliseconds), null if never.
    pub last_modified: Option<i64>,
}

/// Which instances a restart covers (`includeTasks`, `onlyFailed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestartRequest {
    /// Restart the tasks too.
    pub include_tasks: bool,
    /// Only restart instances that are FAILED.
    pub only_failed: bool,
}

impl RestartRequest {
    /// True for the plain restart of the connector instance alone (answered 204).
    pub fn is_legacy(&self) -> bool {
        !self.include_tasks && !self.only_failed
    }
}

//! The standalone worker's configuration, declared once in [`worker_config_def`].
//!
//! Keys keep Kafka Connect's names and defaults where they mean something here. Without
//! `bootstrap.servers` the log is the embedded one, configured by Sluice's own
//! `embedded.log.*` keys; with it, the worker runs on that Kafka cluster and passes its
//! client settings through ([`crate::backend::LogBackend`]). Unknown keys are accepted
//! silently, as Kafka does (they may be meant for clients or plugins); keys Kafka removed
//! are accepted with a warning.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_api::converter::ConverterType;

use crate::backend::LogBackend;
use crate::client_overrides::{OverridePolicy, OVERRIDE_POLICY};
use crate::config_providers::{ConfigProviders, CONFIG_PROVIDERS};
use crate::error::ConfigIssue;
use crate::plugins::PluginRegistry;

/// Worker key: the Kafka cluster to run on; unset for the embedded log.
pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
/// Worker key: default key converter.
pub const KEY_CONVERTER: &str = "key.converter";
/// Worker key: default value converter.
pub const VALUE_CONVERTER: &str = "value.converter";
/// Worker key: default header converter.
pub const HEADER_CONVERTER: &str = "header.converter";
/// Worker key: the standalone offsets file.
pub const OFFSET_FILE: &str = "offset.storage.file.filename";
/// Worker key: interval between offset commits.
pub const OFFSET_FLUSH_INTERVAL_MS: &str = "offset.flush.interval.ms";
/// Worker key: longest wait for one offset commit.
pub const OFFSET_FLUSH_TIMEOUT_MS: &str = "offset.flush.timeout.ms";
/// Worker key: total time tasks get to stop.
pub const TASK_SHUTDOWN_TIMEOUT_MS: &str = "task.shutdown.graceful.timeout.ms";
/// Worker key: plugin directories (unused: plugins are built in).
pub const PLUGIN_PATH: &str = "plugin.path";
/// Worker key: data directory of the embedded log.
pub const EMBEDDED_LOG_DIR: &str = "embedded.log.dir";
/// Worker key: fsync after this many appended messages.
pub const EMBEDDED_FLUSH_MESSAGES: &str = "embedded.log.flush.interval.messages";
/// Worker key: fsync at least this often.
pub const EMBEDDED_FLUSH_MS: &str = "embedded.log.flush.interval.ms";
/// Worker key: partitions of auto-created topics.
pub const EMBEDDED_NUM_PARTITIONS: &str = "embedded.log.num.partitions";
/// Worker key: default topic retention time.
pub const EMBEDDED_RETENTION_MS: &str = "embedded.log.retention.ms";
/// Worker key: default topic retention size per partition.
pub const EMBEDDED_RETENTION_BYTES: &str = "embedded.log.retention.bytes";
/// Worker key: segment file size.
pub const EMBEDDED_SEGMENT_BYTES: &str = "embedded.log.segment.bytes";
/// The default data directory of the embedded log.
pub const DEFAULT_DATA_DIR: &str = "./sluice-data";

/// Keys Kafka removed; still found in old files, so they are accepted with a warning.
const REMOVED_KEYS: &[(&str, &str)] = &[
    ("rest.host.name", "removed in Kafka 3.0; use 'listeners'"),
    ("rest.port", "removed in Kafka 3.0; use 'listeners'"),
    (
        "internal.key.converter",
        "removed in Kafka 3.0; internal data always uses JSON",
    ),
    (
        "internal.value.converter",
        "removed in Kafka 3.0; internal data always uses JSON",
    ),
];

/// The declaration of every worker key.
pub fn worker_config_def() -> ConfigDef {
    let converter_doc = |role: &str| {
        format!(
            "Converter class (or alias) for record {role}s of connectors that do not set their own; \
             its settings are the worker keys prefixed with '{role}.converter.'."
        )
    };
    ConfigDef::new()
        .define(
            ConfigKey::new(BOOTSTRAP_SERVERS, ConfigType::List)
                .default_null()
                .importance(Importance::High)
                .doc("Kafka brokers (host:port, comma-separated) to run on instead of the embedded log. The worker's top-level security and connection settings (security.protocol, sasl.*, ssl.*, client.dns.lookup, ...) go to every Kafka client; producer.*, consumer.* and admin.* to the clients of that kind. Unset: the embedded log in 'embedded.log.dir'."),
        )
        .define(
            ConfigKey::new(crate::backend::BOOTSTRAP_TIMEOUT_MS, ConfigType::Long)
                .default_value("60000")
                .validator(Validator::AtLeast(0))
                .importance(Importance::Low)
                .doc("How long, in milliseconds, the worker keeps trying to reach the Kafka cluster of 'bootstrap.servers' at start before it gives up with an error (Sluice's own key)."),
        )
        .define(
            ConfigKey::new(OVERRIDE_POLICY, ConfigType::String)
                .default_value("All")
                .validator(Validator::Custom(check_override_policy))
                .importance(Importance::Medium)
                .doc("Which Kafka client settings connectors may override with producer.override.*, consumer.override.* and admin.override.*: 'All', 'None', or 'Principal' (only sasl.jaas.config, sasl.mechanism and security.protocol)."),
        )
        .define(
            ConfigKey::new(KEY_CONVERTER, ConfigType::Class)
                .importance(Importance::High)
                .doc(converter_doc("key")),
        )
        .define(
            ConfigKey::new(VALUE_CONVERTER, ConfigType::Class)
                .importance(Importance::High)
                .doc(converter_doc("value")),
        )
        .define(
            ConfigKey::new(HEADER_CONVERTER, ConfigType::Class)
                .default_value("org.apache.kafka.connect.storage.SimpleHeaderConverter")
                .importance(Importance::Low)
                .doc(converter_doc("header")),
        )
        .define(
            ConfigKey::new(OFFSET_FILE, ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmptyString)
                .doc("File that holds source connector offsets, in Kafka Connect's standalone format (a file written by Kafka's connect-standalone can be used as is)."),
        )
        .define(
            ConfigKey::new(OFFSET_FLUSH_INTERVAL_MS, ConfigType::Long)
                .default_value("60000")
                .validator(Validator::AtLeast(1))
                .importance(Importance::Low)
                .doc("Interval in milliseconds between offset commits of source and sink tasks."),
        )
        .define(
            ConfigKey::new(OFFSET_FLUSH_TIMEOUT_MS, ConfigType::Long)
                .default_value("5000")
                .validator(Validator::AtLeast(0))
                .importance(Importance::Low)
                .doc("Longest wait in milliseconds for one offset commit; a commit that takes longer is abandoned and retried at the next interval."),
        )
        .define(
            ConfigKey::new(TASK_SHUTDOWN_TIMEOUT_MS, ConfigType::Long)
                .default_value("5000")
                .validator(Validator::AtLeast(0))
                .importance(Importance::Low)
                .doc("Total time in milliseconds all tasks get to stop gracefully."),
        )
        .define(
            ConfigKey::new(CONFIG_PROVIDERS, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .doc("Names of config providers that resolve ${name:path:key} placeholders in connector configs when a connector starts, so secrets stay out of stored configs, REST answers and logs. Declare each with config.providers.<name>.class (FileConfigProvider, DirectoryConfigProvider or EnvVarConfigProvider) and optional config.providers.<name>.param.<key> settings (allowed.paths, allowlist.pattern)."),
        )
        .define(
            ConfigKey::new(PLUGIN_PATH, ConfigType::List)
                .default_null()
                .importance(Importance::Low)
                .doc("Accepted for compatibility and unused: plugins are built into the binary (see 'sluice plugins')."),
        )
        .define(
            ConfigKey::new(EMBEDDED_LOG_DIR, ConfigType::String)
                .default_value(DEFAULT_DATA_DIR)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .doc("Data directory of the embedded log (topics and consumer group offsets). One process at a time owns it."),
        )
        .define(
            ConfigKey::new(EMBEDDED_FLUSH_MESSAGES, ConfigType::Long)
                .default_null()
                .validator(Validator::AtLeast(1))
                .importance(Importance::Medium)
                .doc("Fsync a partition after this many appended messages (unset: the log's default)."),
        )
        .define(
            ConfigKey::new(EMBEDDED_FLUSH_MS, ConfigType::Long)
                .default_null()
                .validator(Validator::AtLeast(0))
                .importance(Importance::Medium)
                .doc("Fsync appended messages at least this often, in milliseconds (unset: the log's default)."),
        )
        .define(
            ConfigKey::new(EMBEDDED_NUM_PARTITIONS, ConfigType::Int)
                .default_value("1")
                .validator(Validator::AtLeast(1))
                .importance(Importance::Medium)
                .doc("Number of partitions of topics the embedded log creates automatically."),
        )
        .define(
            ConfigKey::new(EMBEDDED_RETENTION_MS, ConfigType::Long)
                .default_null()
                .validator(Validator::AtLeast(-1))
                .importance(Importance::Medium)
                .doc("Default retention time of topics in milliseconds; -1 keeps data forever (unset: the log's default)."),
        )
        .define(
            ConfigKey::new(EMBEDDED_RETENTION_BYTES, ConfigType::Long)
                .default_null()
                .validator(Validator::AtLeast(-1))
                .importance(Importance::Medium)
                .doc("Default retention size per partition in bytes; -1 means no limit (unset: the log's default)."),
        )
        .define(
            ConfigKey::new(EMBEDDED_SEGMENT_BYTES, ConfigType::Long)
                .default_null()
                .validator(Validator::AtLeast(1024))
                .importance(Importance::Low)
                .doc("Size in bytes at which a partition's segment file is rolled (unset: the log's default)."),
        )
        .merge(&crate::rest::rest_config_def())
        .merge(&crate::restart::config_def(true))
}

/// Settings of the embedded log, from the `embedded.log.*` keys; `None` leaves the log's
/// own default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedLogSettings {
    /// Data directory.
    pub dir: PathBuf,
    /// Fsync after this many messages.
    pub flush_interval_messages: Option<u64>,
    /// Fsync at least this often.
    pub flush_interval_ms: Option<u64>,
    /// Partitions of auto-created topics.
    pub num_partitions: i32,
    /// Default retention time (-1: forever).
    pub retention_ms: Option<i64>,
    /// Default retention size (-1: unlimited).
    pub retention_bytes: Option<i64>,
    /// Segment size.
    pub segment_bytes: Option<u64>,
}

impl EmbeddedLogSettings {
    /// Reads only the `embedded.log.*` keys (for tools that need the data directory without
    /// a full worker config).
    pub fn from_map(props: &ConfigMap) -> Result<Self, Vec<ConfigIssue>> {
        let def = ConfigDef::new();
        let def = worker_config_def()
            .keys()
            .iter()
            .filter(|k| k.name.starts_with("embedded.log."))
            .fold(def, |d, k| d.define(k.clone()));
        let parsed = def.parse(props).map_err(issues_from)?;
        let unsigned = |key: &str| parsed.long(key).map(|v| v.max(0) as u64);
        Ok(EmbeddedLogSettings {
            dir: PathBuf::from(parsed.string(EMBEDDED_LOG_DIR).unwrap_or(DEFAULT_DATA_DIR)),
            flush_interval_messages: unsigned(EMBEDDED_FLUSH_MESSAGES),
            flush_interval_ms: unsigned(EMBEDDED_FLUSH_MS),
            num_partitions: parsed.int(EMBEDDED_NUM_PARTITIONS).unwrap_or(1),
            retention_ms: parsed.long(EMBEDDED_RETENTION_MS),
            retention_bytes: parsed.long(EMBEDDED_RETENTION_BYTES),
            segment_bytes: unsigned(EMBEDDED_SEGMENT_BYTES),
        })
    }
}

/// A converter as configured: its class name (as given) and its own settings (prefix
/// stripped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConverterSpec {
    /// Class name or alias.
    pub class: String,
    /// Settings after the `<role>.converter.` prefix.
    pub config: ConfigMap,
}

/// A validated worker config.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Every key as given.
    pub originals: ConfigMap,
    /// Default key converter.
    pub key_converter: ConverterSpec,
    /// Default value converter.
    pub value_converter: ConverterSpec,
    /// Default header converter.
    pub header_converter: ConverterSpec,
    /// The standalone offsets file.
    pub offset_file: PathBuf,
    /// Interval between offset commits.
    pub offset_flush_interval: Duration,
    /// Longest wait for one offset commit.
    pub offset_flush_timeout: Duration,
    /// Total time tasks get to stop.
    pub task_shutdown_timeout: Duration,
    /// `producer.*` keys, prefix stripped.
    pub producer: BTreeMap<String, String>,
    /// `consumer.*` keys, prefix stripped.
    pub consumer: BTreeMap<String, String>,
    /// Most records one sink consumer poll returns (`consumer.max.poll.records`).
    pub max_poll_records: usize,
    /// Embedded log settings.
    pub embedded_log: EmbeddedLogSettings,
    /// The log to run on: the embedded one or a Kafka cluster (`bootstrap.servers`).
    pub backend: LogBackend,
    /// Which client settings connectors may override
    /// (`connector.client.config.override.policy`).
    pub client_override_policy: OverridePolicy,
    /// The `config.providers` that resolve `${provider:path:key}` placeholders in connector
    /// configs when connectors and tasks start.
    pub config_providers: Arc<ConfigProviders>,
    /// The REST server (`listeners`, ...) and topic tracking settings.
    pub rest: crate::rest::RestSettings,
    /// Things the user should know about the config (unused or removed keys).
    pub warnings: Vec<String>,
}

/// Kafka's default of `max.poll.records`.
pub const DEFAULT_MAX_POLL_RECORDS: usize = 500;

impl WorkerConfig {
    /// Validates a worker config, reporting every problem at once. Converter classes are
    /// looked up in `plugins`.
    pub fn parse(props: &ConfigMap, plugins: &PluginRegistry) -> Result<Self, Vec<ConfigIssue>> {
        Self::parse_with(&worker_config_def(), props, plugins)
    }

    /// Validates a distributed worker's config ([`distributed_worker_config_def`]: no
    /// offsets file, `group.id` and the internal-topic keys required), reporting every
    /// problem at once. `offset_file` is empty: source offsets live in the offsets topic.
    pub fn parse_distributed(
        props: &ConfigMap,
        plugins: &PluginRegistry,
    ) -> Result<Self, Vec<ConfigIssue>> {
        Self::parse_with(&distributed_worker_config_def(), props, plugins)
    }

    fn parse_with(
        def: &ConfigDef,
        props: &ConfigMap,
        plugins: &PluginRegistry,
    ) -> Result<Self, Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        let parsed = match def.parse(props) {
            Ok(p) => Some(p),
            Err(errors) => {
                issues.extend(issues_from(errors));
                None
            }
        };
        let consumer = sluice_api::config::strip_prefix(props, "consumer.");
        let max_poll_records = match consumer.get("max.poll.records") {
            None => DEFAULT_MAX_POLL_RECORDS,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    issues.push(ConfigIssue::new(
                        "consumer.max.poll.records",
                        format!(
                            "Invalid value {} for configuration max.poll.records: Value must be at least 1",
                            v.trim()
                        ),
                    ));
                    DEFAULT_MAX_POLL_RECORDS
                }
            },
        };
        let spec = |key: &str| ConverterSpec {
            class: parsed
                .as_ref()
                .and_then(|p| p.string(key))
                .or_else(|| props.get(key).map(String::as_str))
                .unwrap_or_default()
                .trim()
                .to_string(),
            config: sluice_api::config::strip_prefix(props, &format!("{key}.")),
        };
        let (key_converter, value_converter, header_converter) = (
            spec(KEY_CONVERTER),
            spec(VALUE_CONVERTER),
            spec(HEADER_CONVERTER),
        );
        {
            for (key, spec, role) in [
                (KEY_CONVERTER, &key_converter, ConverterType::Key),
                (VALUE_CONVERTER, &value_converter, ConverterType::Value),
                (HEADER_CONVERTER, &header_converter, ConverterType::Header),
            ] {
                // A missing class is already reported by the parse above.
                if spec.class.is_empty() {
                    continue;
                }
                if let Err(e) = crate::connector_config::check_converter(
                    plugins,
                    key,
                    &spec.class,
                    role,
                    &spec.config,
                ) {
                    issues.extend(e);
                }
            }
        }
        let config_providers = match ConfigProviders::from_worker_config(props) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                issues.extend(e);
                None
            }
        };
        // Already reported by the full parse above when it fails.
        let embedded_log = EmbeddedLogSettings::from_map(props).ok();
        let backend = match embedded_log
            .clone()
            .map(|e| LogBackend::from_worker_props(props, e))
        {
            Some(Ok(b)) => Some(b),
            Some(Err(issue)) => {
                // A bad `bootstrap.timeout.ms` is already reported by the parse above.
                if !issues.iter().any(|i| i.key == issue.key) {
                    issues.push(issue);
                }
                None
            }
            None => None,
        };
        let (Some(parsed), Some(embedded_log), Some(backend), Some(config_providers), true) = (
            parsed,
            embedded_log,
            backend,
            config_providers,
            issues.is_empty(),
        ) else {
            return Err(issues);
        };
        let mut warnings = Vec::new();
        if props.contains_key(PLUGIN_PATH) {
            warnings.push(format!(
                "'{PLUGIN_PATH}' is ignored: plugins are built into this binary (see 'sluice plugins')"
            ));
        }
        for (key, why) in REMOVED_KEYS {
            if props.contains_key(*key) {
                warnings.push(format!("'{key}' is ignored: {why}"));
            }
        }
        for key in props.keys() {
            if key.starts_with("internal.key.converter.")
                || key.starts_with("internal.value.converter.")
            {
                warnings.push(format!("'{key}' is ignored: removed in Kafka 3.0"));
            }
        }
        if matches!(backend, LogBackend::Kafka(_)) {
            for key in props.keys().filter(|k| k.starts_with("embedded.log.")) {
                warnings.push(format!(
                    "'{key}' is ignored: 'bootstrap.servers' is set, so the worker runs on Kafka"
                ));
            }
        }
        let client_override_policy = parsed
            .string(OVERRIDE_POLICY)
            .and_then(|p| OverridePolicy::parse(p).ok())
            .unwrap_or_default();
        let ms = |key: &str| Duration::from_millis(parsed.long(key).unwrap_or(0).max(0) as u64);
        Ok(WorkerConfig {
            key_converter,
            value_converter,
            header_converter,
            offset_file: PathBuf::from(parsed.string(OFFSET_FILE).unwrap_or_default()),
            offset_flush_interval: ms(OFFSET_FLUSH_INTERVAL_MS),
            offset_flush_timeout: ms(OFFSET_FLUSH_TIMEOUT_MS),
            task_shutdown_timeout: ms(TASK_SHUTDOWN_TIMEOUT_MS),
            producer: sluice_api::config::strip_prefix(props, "producer."),
            consumer,
            max_poll_records,
            embedded_log,
            backend,
            client_override_policy,
            config_providers,
            rest: crate::rest::RestSettings::from_parsed(&parsed),
            warnings,
            originals: props.clone(),
        })
    }
}

/// Distributed worker key: the topic holding connector and task configs.
pub const CONFIG_STORAGE_TOPIC: &str = "config.storage.topic";
/// Distributed worker key: replication factor of the config topic when it is created.
pub const CONFIG_STORAGE_REPLICATION_FACTOR: &str = "config.storage.replication.factor";
/// Distributed worker key: the topic holding source offsets.
pub const OFFSET_STORAGE_TOPIC: &str = "offset.storage.topic";
/// Distributed worker key: partitions of the offsets topic when it is created.
pub const OFFSET_STORAGE_PARTITIONS: &str = "offset.storage.partitions";
/// Distributed worker key: replication factor of the offsets topic when it is created.
pub const OFFSET_STORAGE_REPLICATION_FACTOR: &str = "offset.storage.replication.factor";
/// Distributed worker key: the topic holding connector and task statuses.
pub const STATUS_STORAGE_TOPIC: &str = "status.storage.topic";
/// Distributed worker key: partitions of the status topic when it is created.
pub const STATUS_STORAGE_PARTITIONS: &str = "status.storage.partitions";
/// Distributed worker key: replication factor of the status topic when it is created.
pub const STATUS_STORAGE_REPLICATION_FACTOR: &str = "status.storage.replication.factor";

fn check_override_policy(
    _key: &str,
    value: &sluice_api::config::ConfigValue,
) -> Result<(), String> {
    match value {
        sluice_api::config::ConfigValue::String(s) => OverridePolicy::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_partitions(_key: &str, value: &sluice_api::config::ConfigValue) -> Result<(), String> {
    match value {
        sluice_api::config::ConfigValue::Int(n) if *n != -1 && *n < 1 => {
            Err("Number of partitions must be positive, or -1 to use the broker's default".into())
        }
        _ => Ok(()),
    }
}

fn check_replication_factor(
    _key: &str,
    value: &sluice_api::config::ConfigValue,
) -> Result<(), String> {
    match value {
        sluice_api::config::ConfigValue::Short(n) if *n != -1 && *n < 1 => Err(
            "Replication factor must be positive and not larger than the number of brokers in the Kafka cluster, or -1 to use the broker's default"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// The distributed worker's internal-topic keys (Kafka's `DistributedConfig`), declared
/// apart from [`worker_config_def`] because a standalone worker has none of them. Further
/// `<config|offset|status>.storage.<topic setting>` keys are passed to the topic when the
/// worker creates it (see [`crate::storage::InternalTopics`]).
pub fn internal_topics_config_def() -> ConfigDef {
    let topic = |name: &str, what: &str| {
        ConfigKey::new(name, ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::High)
            .doc(format!(
                "Name of the compacted topic where {what} are stored; created when missing."
            ))
    };
    let partitions = |name: &str, default: &str, what: &str| {
        ConfigKey::new(name, ConfigType::Int)
            .default_value(default)
            .validator(Validator::Custom(check_partitions))
            .importance(Importance::Low)
            .doc(format!(
                "Number of partitions of the {what} topic when the worker creates it; -1 for the log's default."
            ))
    };
    let replication = |name: &str, what: &str| {
        ConfigKey::new(name, ConfigType::Short)
            .default_value("3")
            .validator(Validator::Custom(check_replication_factor))
            .importance(Importance::Low)
            .doc(format!(
                "Replication factor of the {what} topic when the worker creates it; -1 for the cluster's default. The embedded log keeps one copy."
            ))
    };
    ConfigDef::new()
        .define(topic(
            CONFIG_STORAGE_TOPIC,
            "connector and task configurations",
        ))
        .define(replication(CONFIG_STORAGE_REPLICATION_FACTOR, "config"))
        .define(topic(OFFSET_STORAGE_TOPIC, "source connector offsets"))
        .define(partitions(OFFSET_STORAGE_PARTITIONS, "25", "offsets"))
        .define(replication(OFFSET_STORAGE_REPLICATION_FACTOR, "offsets"))
        .define(topic(STATUS_STORAGE_TOPIC, "connector and task statuses"))
        .define(partitions(STATUS_STORAGE_PARTITIONS, "5", "status"))
        .define(replication(STATUS_STORAGE_REPLICATION_FACTOR, "status"))
}

/// Distributed worker key: the id of the Connect cluster the worker joins (required).
pub const GROUP_ID: &str = "group.id";

/// The declaration of every key of a distributed worker: the common worker keys without
/// `offset.storage.file.filename`, `group.id` and the internal-topic keys
/// ([`internal_topics_config_def`]).
pub fn distributed_worker_config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    for key in worker_config_def().keys() {
        if key.name != OFFSET_FILE {
            def = def.define(key.clone());
        }
    }
    def.define(
        ConfigKey::new(GROUP_ID, ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::High)
            .doc("Id of the Connect cluster this worker belongs to; workers with the same id share the internal topics and the connectors. It must not be the id of a consumer group."),
    )
    .define(
        ConfigKey::new(
            crate::exactly_once::EXACTLY_ONCE_SOURCE_SUPPORT,
            ConfigType::String,
        )
        .default_value("disabled")
        .validator(Validator::OneOfIgnoreCase(vec!["disabled", "preparing", "enabled"]))
        .importance(Importance::High)
        .doc("Exactly-once source delivery: 'disabled' (at-least-once), 'preparing' (the leader writes the config topic transactionally, a step of a rolling upgrade), 'enabled' (every source task writes its records and offsets in transactions; see docs/exactly-once.md)."),
    )
    .merge(&internal_topics_config_def())
}

/// Turns `ConfigDef::parse` errors into issues.
pub(crate) fn issues_from(errors: Vec<sluice_api::ConnectError>) -> Vec<ConfigIssue> {
    errors
        .into_iter()
        .map(|e| match e {
            sluice_api::ConnectError::Config { key, message } => ConfigIssue { key, message },
            other => ConfigIssue::new("", other.to_string()),
        })
        .collect()
}

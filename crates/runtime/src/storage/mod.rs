//! The internal topics of a distributed worker: where a cluster of workers keeps what it
//! shares, in Kafka Connect's record formats so Kafka's own tools (and Java workers) read
//! the same data.
//!
//! | store | topic (worker key) | keys |
//! |---|---|---|
//! | [`ConfigStore`] | `config.storage.topic`, 1 partition | `connector-<name>`, `task-<name>-<n>`, `commit-<name>`, `target-state-<name>`, `tasks-fencing-<name>`, `session-key`, `restart-connector-<name>`, `logger-cluster-<namespace>` |
//! | [`StatusStore`] | `status.storage.topic` | `status-connector-<name>`, `status-task-<name>-<n>`, `status-topic-<topic>:connector-<name>` |
//! | [`TopicOffsetStore`] | `offset.storage.topic` | `["<connector>",{<partition>}]` |
//! | [`TopicOffsetStore`] ([`ConnectorOffsetStore`]) | a source connector's `offsets.storage.topic` | as above |
//!
//! Keys are UTF-8 text (offsets: compact JSON), values compact JSON without a schema
//! envelope (what Kafka's JsonConverter writes with `schemas.enable=false`), and a delete is
//! a tombstone. The topics are compacted, so each holds the latest record per key.
//!
//! # Model
//!
//! Each store reads its topic from the beginning when it opens, folding every record into an
//! in-memory snapshot exactly as Kafka Connect interprets it, and then keeps reading: either
//! on demand ([`ConfigStore::refresh`] and friends read to the end offsets the log reports
//! when called) or continuously through a [`Follower`] (`follow`), so a worker sees what the
//! others write. Writes append to the topic; the config store then reads back to the end,
//! so its snapshot includes the write when the call returns (the log, not the writer, is the
//! source of truth). Every operation waits at most [`StoreOptions::timeout`].
//!
//! Topics are created when missing (compacted, with the partitions and replication factor of
//! the worker keys and any `<store>.storage.<topic setting>` extras); an existing topic whose
//! cleanup policy is not `compact` is refused, as Kafka does.

mod config;
mod offsets;
mod status;
mod topic;

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_api::config::ConfigMap;
use sluice_log::{IsolationLevel, LogError};

use crate::error::ConfigIssue;
use crate::worker_config::{
    internal_topics_config_def, issues_from, CONFIG_STORAGE_REPLICATION_FACTOR,
    CONFIG_STORAGE_TOPIC, OFFSET_STORAGE_PARTITIONS, OFFSET_STORAGE_REPLICATION_FACTOR,
    OFFSET_STORAGE_TOPIC, STATUS_STORAGE_PARTITIONS, STATUS_STORAGE_REPLICATION_FACTOR,
    STATUS_STORAGE_TOPIC,
};

pub use config::{ConfigSnapshot, ConfigStore, ConfigUpdate, RestartRequest, SessionKey};
pub use offsets::{ConnectorOffsetStore, PendingOffsets, TopicOffsetStore};
pub use status::{StatusStore, StoredStatus, TopicStatus};
pub use topic::Follower;

/// A failure of an internal-topic store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A log operation on an internal topic failed.
    #[error("{operation}: {source}")]
    Log {
        /// What was being done, naming the topic.
        operation: String,
        /// The log's error.
        #[source]
        source: LogError,
    },
    /// An operation did not finish within [`StoreOptions::timeout`].
    #[error("{operation} did not finish within {timeout_ms} ms")]
    Timeout {
        /// What was being done, naming the topic.
        operation: String,
        /// The limit.
        timeout_ms: u64,
    },
    /// An existing internal topic cannot be used as it is (wrong cleanup policy, more than
    /// one partition for the config topic).
    #[error("{message}")]
    TopicSetup {
        /// The worker key that names the topic.
        key: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A config-topic write that needs the leader's transactional writer was made without
    /// claiming it first ([`ConfigStore::claim_write_privileges`]).
    #[error("cannot write to config topic '{topic}' without claiming write privileges first (exactly-once source support uses a transactional writer)")]
    WritePrivilegesNotClaimed {
        /// The config topic.
        topic: String,
    },
}

impl StorageError {
    /// True when the operation may succeed if retried.
    pub fn is_retriable(&self) -> bool {
        match self {
            StorageError::Log { source, .. } => source.is_retriable(),
            StorageError::Timeout { .. } => true,
            StorageError::TopicSetup { .. } | StorageError::WritePrivilegesNotClaimed { .. } => {
                false
            }
        }
    }
}

/// How the worker wants one internal topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTopic {
    /// Topic name.
    pub name: String,
    /// Partitions when created (-1: the log's default, one partition on logs that have
    /// none).
    pub partitions: i32,
    /// Replication factor when created (-1: the cluster's default).
    pub replication_factor: i16,
    /// Further topic settings when created (`<store>.storage.<setting>` worker keys);
    /// `cleanup.policy` is always `compact`.
    pub settings: BTreeMap<String, String>,
}

impl InternalTopic {
    /// A topic with no further settings.
    pub fn new(name: impl Into<String>, partitions: i32, replication_factor: i16) -> Self {
        InternalTopic {
            name: name.into(),
            partitions,
            replication_factor,
            settings: BTreeMap::new(),
        }
    }
}

/// The three internal topics, from the distributed worker's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTopics {
    /// `config.storage.*` (always one partition).
    pub config: InternalTopic,
    /// `offset.storage.*`.
    pub offsets: InternalTopic,
    /// `status.storage.*`.
    pub status: InternalTopic,
}

impl InternalTopics {
    /// Reads the `config.storage.*`, `offset.storage.*` and `status.storage.*` keys,
    /// reporting every problem at once. Settings Kafka ignores (`cleanup.policy`, which is
    /// always `compact`, and `config.storage.partitions`, always 1) are ignored with a
    /// warning.
    pub fn from_worker_config(props: &ConfigMap) -> Result<Self, Vec<ConfigIssue>> {
        let parsed = internal_topics_config_def()
            .parse(props)
            .map_err(issues_from)?;
        let name = |key: &str| parsed.string(key).unwrap_or_default().trim().to_string();
        let replication = |key: &str| {
            parsed
                .int(key)
                .and_then(|v| i16::try_from(v).ok())
                .unwrap_or(3)
        };
        let topic =
            |prefix: &str, name_key: &str, partitions: i32, replication_key: &str| InternalTopic {
                name: name(name_key),
                partitions,
                replication_factor: replication(replication_key),
                settings: topic_settings(props, prefix),
            };
        Ok(InternalTopics {
            config: topic(
                "config.storage.",
                CONFIG_STORAGE_TOPIC,
                1,
                CONFIG_STORAGE_REPLICATION_FACTOR,
            ),
            offsets: topic(
                "offset.storage.",
                OFFSET_STORAGE_TOPIC,
                parsed.int(OFFSET_STORAGE_PARTITIONS).unwrap_or(25),
                OFFSET_STORAGE_REPLICATION_FACTOR,
            ),
            status: topic(
                "status.storage.",
                STATUS_STORAGE_TOPIC,
                parsed.int(STATUS_STORAGE_PARTITIONS).unwrap_or(5),
                STATUS_STORAGE_REPLICATION_FACTOR,
            ),
        })
    }
}

/// Topic settings of one store: its prefixed worker keys minus the ones the worker reads
/// itself (`topic`, `partitions`, `replication.factor`) and `cleanup.policy`.
fn topic_settings(props: &ConfigMap, prefix: &str) -> BTreeMap<String, String> {
    let mut settings = sluice_api::config::strip_prefix(props, prefix);
    if prefix == "config.storage." {
        if let Some(v) = settings.get("partitions") {
            tracing::warn!(
                "Ignoring 'config.storage.partitions={v}': the config topic always has 1 partition."
            );
        }
    }
    if let Some(v) = settings.remove("cleanup.policy") {
        tracing::warn!(
            "Ignoring '{prefix}cleanup.policy={v}': internal topics are always compacted."
        );
    }
    // The file standalone offsets store's key shares the prefix.
    if prefix == "offset.storage." {
        settings.remove("file.filename");
    }
    for own in ["topic", "partitions", "replication.factor"] {
        settings.remove(own);
    }
    settings
}

/// Client settings shared by the three stores.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Start of the clients' ids; each store appends `configs`, `offsets` or `statuses`.
    pub client_id_base: String,
    /// Extra producer settings with Kafka's names.
    pub producer: BTreeMap<String, String>,
    /// Extra consumer settings with Kafka's names.
    pub consumer: BTreeMap<String, String>,
    /// Which records of transactional writers the stores read. Read-committed by default,
    /// so offsets of aborted exactly-once transactions are never applied.
    pub isolation_level: IsolationLevel,
    /// Longest wait of one operation: opening, a write and its read-back, a read to the end
    /// (Kafka's 30 s).
    pub timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            client_id_base: "sluice-".into(),
            producer: BTreeMap::new(),
            consumer: BTreeMap::new(),
            isolation_level: IsolationLevel::ReadCommitted,
            timeout: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn worker_keys_give_kafka_defaults_and_extra_settings() {
        let topics = InternalTopics::from_worker_config(&props(&[
            ("config.storage.topic", "connect-configs"),
            ("offset.storage.topic", "connect-offsets"),
            ("status.storage.topic", "connect-status"),
            ("offset.storage.file.filename", "/tmp/x"),
            ("offset.storage.segment.bytes", "4096"),
            ("offset.storage.cleanup.policy", "delete"),
            ("config.storage.partitions", "3"),
            ("status.storage.replication.factor", "1"),
        ]))
        .unwrap();
        assert_eq!(topics.config.name, "connect-configs");
        assert_eq!(topics.config.partitions, 1);
        assert_eq!(topics.config.replication_factor, 3);
        assert!(topics.config.settings.is_empty(), "{:?}", topics.config);
        assert_eq!(topics.offsets.partitions, 25);
        assert_eq!(
            topics.offsets.settings,
            BTreeMap::from([("segment.bytes".to_string(), "4096".to_string())])
        );
        assert_eq!(topics.status.partitions, 5);
        assert_eq!(topics.status.replication_factor, 1);
    }

    #[test]
    fn bad_worker_keys_are_all_reported() {
        let issues = InternalTopics::from_worker_config(&props(&[
            ("offset.storage.topic", "o"),
            ("offset.storage.partitions", "0"),
            ("status.storage.topic", "s"),
            ("status.storage.replication.factor", "-2"),
        ]))
        .unwrap_err();
        let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert_eq!(issues.len(), 3, "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.starts_with("config.storage.topic: Missing required configuration")),
            "{text:?}"
        );
        assert!(
            text.contains(&"offset.storage.partitions: Invalid value 0 for configuration offset.storage.partitions: Number of partitions must be positive, or -1 to use the broker's default".to_string()),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t
                .starts_with("status.storage.replication.factor: Invalid value -2")
                && t.contains("Replication factor must be positive")),
            "{text:?}"
        );
    }

    #[test]
    fn minus_one_means_the_default() {
        let topics = InternalTopics::from_worker_config(&props(&[
            ("config.storage.topic", "c"),
            ("offset.storage.topic", "o"),
            ("status.storage.topic", "s"),
            ("offset.storage.partitions", "-1"),
            ("config.storage.replication.factor", "-1"),
        ]))
        .unwrap();
        assert_eq!(topics.offsets.partitions, -1);
        assert_eq!(topics.config.replication_factor, -1);
    }
}

//! Which log a worker runs on, and opening it.
//!
//! A worker config without `bootstrap.servers` runs on the embedded log in
//! `embedded.log.dir`; with it, on that Kafka cluster through `sluice-kafka`. The Kafka
//! clients get their settings as Kafka Connect workers pass them:
//!
//! - `bootstrap.servers` and the connection and security settings at the top level of the
//!   worker config (`security.protocol`, `sasl.*`, `ssl.*`, `client.dns.lookup`, ...) go to
//!   every client the worker makes;
//! - `producer.*`, `consumer.*` and `admin.*` go (prefix removed) to every producer,
//!   consumer and admin client;
//! - a connector's allowed `*.override.*` settings go on top, per task (see
//!   [`crate::client_overrides`]).
//!
//! [`open_log`] gives every command the same `Arc<dyn Log>`, whichever the backend. An
//! unreachable cluster is retried, with progress in the log, for `bootstrap.timeout.ms`, and
//! then reported as an error naming `bootstrap.servers`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_api::config::ConfigMap;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{Log, LogError};

use crate::error::ConfigIssue;
use crate::worker_config::{EmbeddedLogSettings, BOOTSTRAP_SERVERS};

/// Worker key (Sluice's own): how long to keep trying to reach the Kafka cluster at start.
pub const BOOTSTRAP_TIMEOUT_MS: &str = "bootstrap.timeout.ms";
/// Default of [`BOOTSTRAP_TIMEOUT_MS`]: Kafka's `default.api.timeout.ms`.
pub const DEFAULT_BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest single connection attempt; attempts repeat until [`BOOTSTRAP_TIMEOUT_MS`].
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two connection attempts.
const RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// Top-level worker keys passed to every Kafka client (connection and security settings).
const COMMON_PREFIXES: &[&str] = &["security.protocol", "sasl.", "ssl."];
/// Further top-level keys passed to every Kafka client.
const COMMON_KEYS: &[&str] = &[
    "client.dns.lookup",
    "metadata.max.age.ms",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "socket.connection.setup.timeout.ms",
    "socket.connection.setup.timeout.max.ms",
    "connections.max.idle.ms",
    "send.buffer.bytes",
    "receive.buffer.bytes",
];

/// Settings of the Kafka backend, from a worker config (or `--command-config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    /// `bootstrap.servers`, comma-separated.
    pub bootstrap_servers: String,
    /// Settings for every client (security, connection).
    pub common: BTreeMap<String, String>,
    /// `producer.*`, prefix removed.
    pub producer: BTreeMap<String, String>,
    /// `consumer.*`, prefix removed.
    pub consumer: BTreeMap<String, String>,
    /// `admin.*`, prefix removed.
    pub admin: BTreeMap<String, String>,
    /// How long to keep trying to reach the cluster when opening it.
    pub connect_timeout: Duration,
}

impl KafkaSettings {
    /// Reads the client settings of a worker config (or a Kafka tool's `--command-config`
    /// file) for the cluster at `bootstrap_servers`.
    pub fn from_props(bootstrap_servers: &str, props: &ConfigMap) -> Result<Self, ConfigIssue> {
        let servers: Vec<&str> = bootstrap_servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if servers.is_empty() {
            return Err(ConfigIssue::new(
                BOOTSTRAP_SERVERS,
                format!("'{BOOTSTRAP_SERVERS}' names no server"),
            ));
        }
        let common = props
            .iter()
            .filter(|(k, _)| {
                COMMON_KEYS.contains(&k.as_str())
                    || COMMON_PREFIXES.iter().any(|p| k.starts_with(p))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let connect_timeout = match props.get(BOOTSTRAP_TIMEOUT_MS) {
            None => DEFAULT_BOOTSTRAP_TIMEOUT,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms) => Duration::from_millis(ms),
                Err(_) => {
                    return Err(ConfigIssue::new(
                        BOOTSTRAP_TIMEOUT_MS,
                        format!(
                            "Invalid value {} for configuration {BOOTSTRAP_TIMEOUT_MS}: expected \
                             a number of milliseconds",
                            v.trim()
                        ),
                    ))
                }
            },
        };
        let mut admin = sluice_api::config::strip_prefix(props, "admin.");
        // librdkafka's admin client is a producer, whose metadata requests would make the
        // broker auto-create a topic that is only being described (as a missing internal
        // topic is before the worker creates it, compacted).
        admin
            .entry("allow.auto.create.topics".into())
            .or_insert_with(|| "false".into());
        Ok(KafkaSettings {
            bootstrap_servers: servers.join(","),
            common,
            producer: sluice_api::config::strip_prefix(props, "producer."),
            consumer: sluice_api::config::strip_prefix(props, "consumer."),
            admin,
            connect_timeout,
        })
    }

    /// The configuration `sluice-kafka` takes.
    pub fn kafka_config(&self) -> sluice_kafka::KafkaConfig {
        sluice_kafka::KafkaConfig {
            bootstrap_servers: self.bootstrap_servers.clone(),
            common: self.common.clone(),
            producer: self.producer.clone(),
            consumer: self.consumer.clone(),
            admin: self.admin.clone(),
        }
    }
}

/// The log a worker runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogBackend {
    /// The embedded log in a local directory.
    Embedded(EmbeddedLogSettings),
    /// A Kafka cluster.
    Kafka(KafkaSettings),
}

impl LogBackend {
    /// The backend of a worker config: Kafka when `bootstrap.servers` is set (and not
    /// empty), else the embedded log of `embedded`.
    pub fn from_worker_props(
        props: &ConfigMap,
        embedded: EmbeddedLogSettings,
    ) -> Result<Self, ConfigIssue> {
        match props
            .get(BOOTSTRAP_SERVERS)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            Some(servers) => KafkaSettings::from_props(servers, props).map(LogBackend::Kafka),
            None => Ok(LogBackend::Embedded(embedded)),
        }
    }

    /// Where the log is, for messages: the data directory or the bootstrap servers.
    pub fn describe(&self) -> String {
        match self {
            LogBackend::Embedded(s) => format!("the embedded log in '{}'", s.dir.display()),
            LogBackend::Kafka(k) => format!("the Kafka cluster at {}", k.bootstrap_servers),
        }
    }
}

/// Embedded log options from the worker's `embedded.log.*` settings.
pub fn embedded_log_options(settings: &EmbeddedLogSettings) -> EmbeddedLogOptions {
    let defaults = EmbeddedLogOptions::default();
    EmbeddedLogOptions {
        flush_interval_messages: settings.flush_interval_messages,
        flush_interval_ms: settings.flush_interval_ms,
        default_partitions: settings.num_partitions,
        segment_bytes: settings.segment_bytes.unwrap_or(defaults.segment_bytes),
        retention_ms: match settings.retention_ms {
            Some(ms) if ms < 0 => None,
            Some(ms) => Some(ms),
            None => defaults.retention_ms,
        },
        retention_bytes: match settings.retention_bytes {
            Some(b) if b < 0 => None,
            Some(b) => Some(b),
            None => defaults.retention_bytes,
        },
        ..defaults
    }
}

/// The id reported as `kafka_cluster_id` for an embedded log: stable for one data
/// directory (a hash of its absolute path).
pub fn embedded_cluster_id(dir: &Path) -> String {
    let path = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    // FNV-1a, 64 bits.
    let hash = path
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("sluice-embedded-{hash:016x}")
}

/// Checks a topic name against Kafka's rules (1 to 249 ASCII letters, digits, `.`, `_` and
/// `-`; not `.` or `..`) before the runtime creates a topic, since not every broker (the
/// test broker, for one) enforces them. Returns why the name is refused.
pub fn check_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("a topic cannot be named '{name}'"));
    }
    if name.len() > 249 {
        return Err(format!(
            "topic name '{name}' is {} characters long; the limit is 249",
            name.len()
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(format!(
            "topic name '{name}' contains '{c}'; only ASCII letters, digits, '.', '_' and '-' \
             are allowed"
        )),
        None => Ok(()),
    }
}

/// Why a log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenLogError {
    /// The embedded log's directory could not be opened (locked, unreadable, ...).
    #[error("cannot open the embedded log in '{dir}': {source}")]
    Embedded {
        /// The data directory.
        dir: String,
        /// The log's error.
        #[source]
        source: LogError,
    },
    /// The Kafka cluster could not be reached within the time allowed.
    #[error(
        "cannot reach the Kafka cluster at bootstrap.servers={servers} after trying for \
         {waited_s} s (set '{BOOTSTRAP_TIMEOUT_MS}' to wait longer): {source}"
    )]
    Unreachable {
        /// `bootstrap.servers`.
        servers: String,
        /// How long it was tried.
        waited_s: u64,
        /// The last attempt's error.
        #[source]
        source: LogError,
    },
    /// The Kafka client rejected one of its settings (librdkafka's message kept).
    #[error("invalid Kafka client setting '{key}' (bootstrap.servers={servers}): {message}")]
    ClientSetting {
        /// `bootstrap.servers`.
        servers: String,
        /// The setting.
        key: String,
        /// Why it was rejected.
        message: String,
    },
    /// Connecting failed for a reason retrying cannot fix (authentication, security
    /// settings, ...).
    #[error("cannot connect to the Kafka cluster at bootstrap.servers={servers}: {source}")]
    Kafka {
        /// `bootstrap.servers`.
        servers: String,
        /// The error.
        #[source]
        source: LogError,
    },
}

/// An open log and what the worker reports about it.
pub struct OpenedLog {
    /// The log.
    pub log: Arc<dyn Log>,
    /// The embedded log itself, to close it at the end (`None` on Kafka).
    pub embedded: Option<Arc<EmbeddedLog>>,
    /// Reported as `kafka_cluster_id` by the REST API.
    pub cluster_id: String,
}

impl OpenedLog {
    /// Closes the log (flushes and unlocks an embedded log; nothing to do on Kafka, whose
    /// clients close when dropped).
    pub async fn close(&self) -> Result<(), LogError> {
        match &self.embedded {
            Some(log) => log.close().await,
            None => Ok(()),
        }
    }
}

/// Opens the worker's log. The embedded log reports any recovery it made; a Kafka cluster
/// is retried until the backend's connect timeout, logging each failed attempt.
pub async fn open_log(backend: &LogBackend) -> Result<OpenedLog, OpenLogError> {
    match backend {
        LogBackend::Embedded(settings) => {
            let log = EmbeddedLog::open(&settings.dir, embedded_log_options(settings)).map_err(
                |source| OpenLogError::Embedded {
                    dir: settings.dir.display().to_string(),
                    source,
                },
            )?;
            for note in log.recovery_report() {
                tracing::warn!(
                    topic = %note.topic,
                    partition = note.partition,
                    segment = %note.segment.display(),
                    bytes = note.bytes_dropped,
                    reason = %note.reason,
                    "Recovery truncated a damaged partition tail."
                );
            }
            Ok(OpenedLog {
                log: log.clone(),
                cluster_id: embedded_cluster_id(&settings.dir),
                embedded: Some(log),
            })
        }
        LogBackend::Kafka(settings) => connect_kafka(settings).await,
    }
}

async fn connect_kafka(settings: &KafkaSettings) -> Result<OpenedLog, OpenLogError> {
    let started = Instant::now();
    let deadline = started + settings.connect_timeout;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        // At least two attempts fit in the time allowed, so a failure is always retried once.
        let timeout = (remaining / 2).clamp(Duration::from_millis(500), ATTEMPT_TIMEOUT);
        let error = match sluice_kafka::KafkaLog::connect(settings.kafka_config(), timeout).await {
            Ok(log) => {
                // A broker that reports no id: the bootstrap servers identify the cluster.
                let cluster_id = log.cluster_id().map_or_else(
                    || format!("kafka-{}", settings.bootstrap_servers),
                    str::to_owned,
                );
                tracing::info!(
                    bootstrap_servers = %settings.bootstrap_servers,
                    cluster_id = %cluster_id,
                    "Connected to the Kafka cluster."
                );
                return Ok(OpenedLog {
                    log,
                    embedded: None,
                    cluster_id,
                });
            }
            Err(e) => e,
        };
        let waited = started.elapsed();
        let servers = settings.bootstrap_servers.clone();
        if let LogError::InvalidConfig { key, message } = error {
            return Err(OpenLogError::ClientSetting {
                servers,
                key,
                message,
            });
        }
        if !error.is_retriable() {
            return Err(OpenLogError::Kafka {
                servers,
                source: error,
            });
        }
        if Instant::now() + RETRY_BACKOFF >= deadline {
            return Err(OpenLogError::Unreachable {
                servers,
                waited_s: waited.as_secs(),
                source: error,
            });
        }
        tracing::warn!(
            attempt,
            elapsed_s = waited.as_secs(),
            limit_s = settings.connect_timeout.as_secs(),
            bootstrap_servers = %settings.bootstrap_servers,
            error = %error,
            "Cannot reach the Kafka cluster named by 'bootstrap.servers'; retrying (set '{BOOTSTRAP_TIMEOUT_MS}' to wait longer)."
        );
        tokio::time::sleep(RETRY_BACKOFF).await;
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

    fn embedded() -> EmbeddedLogSettings {
        EmbeddedLogSettings::from_map(&ConfigMap::new()).unwrap()
    }

    #[test]
    fn without_bootstrap_servers_the_log_is_embedded() {
        let backend = LogBackend::from_worker_props(
            &props(&[("bootstrap.servers", " "), ("producer.acks", "1")]),
            embedded(),
        )
        .unwrap();
        assert_eq!(backend, LogBackend::Embedded(embedded()));
    }

    #[test]
    fn client_settings_are_sorted_by_client() {
        let backend = LogBackend::from_worker_props(
            &props(&[
                ("bootstrap.servers", "a:9092, b:9092"),
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "PLAIN"),
                ("ssl.ca.location", "/ca.pem"),
                ("client.dns.lookup", "use_all_dns_ips"),
                ("producer.linger.ms", "5"),
                ("consumer.fetch.min.bytes", "1"),
                ("admin.request.timeout.ms", "1000"),
                ("key.converter", "StringConverter"),
                ("group.id", "connect-cluster"),
                ("bootstrap.timeout.ms", "1500"),
            ]),
            embedded(),
        )
        .unwrap();
        let LogBackend::Kafka(k) = backend else {
            panic!("expected Kafka: {backend:?}")
        };
        assert_eq!(k.bootstrap_servers, "a:9092,b:9092");
        assert_eq!(
            k.common.keys().collect::<Vec<_>>(),
            [
                "client.dns.lookup",
                "sasl.mechanism",
                "security.protocol",
                "ssl.ca.location"
            ]
        );
        assert_eq!(k.producer.get("linger.ms").map(String::as_str), Some("5"));
        assert_eq!(k.consumer.len(), 1);
        assert_eq!(
            k.admin.get("request.timeout.ms").map(String::as_str),
            Some("1000")
        );
        assert_eq!(
            k.admin.get("allow.auto.create.topics").map(String::as_str),
            Some("false")
        );
        assert_eq!(k.connect_timeout, Duration::from_millis(1500));
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(check_topic_name("orders.v1_x-2").is_ok());
        assert!(check_topic_name(&"a".repeat(249)).is_ok());
        for bad in ["", ".", "..", "bad name", "ä"] {
            assert!(check_topic_name(bad).is_err(), "{bad}");
        }
        let err = check_topic_name(&"a".repeat(250)).unwrap_err();
        assert!(err.contains("250 characters"), "{err}");
        let err = check_topic_name("a/b").unwrap_err();
        assert!(err.contains("'a/b' contains '/'"), "{err}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = LogBackend::from_worker_props(&props(&[("bootstrap.servers", ",")]), embedded())
            .unwrap_err();
        assert_eq!(err.key, "bootstrap.servers", "{err}");
        let err = LogBackend::from_worker_props(
            &props(&[("bootstrap.servers", "a:1"), ("bootstrap.timeout.ms", "x")]),
            embedded(),
        )
        .unwrap_err();
        assert_eq!(err.key, "bootstrap.timeout.ms", "{err}");
    }
}

//! Worker membership for `sluice distributed`, through Kafka's group coordinator.
//!
//! Workers sharing a `group.id` form one cluster the way Kafka Connect workers do: each joins
//! the consumer-group coordinator of the Kafka cluster with protocol type `connect`
//! (JoinGroup), the coordinator elects one member leader and hands it every member's metadata,
//! the leader computes who runs which connector and task ([`assignor`]) and sends the result
//! through SyncGroup, and every member then heartbeats every `heartbeat.interval.ms`. A member
//! that stops heartbeating for `session.timeout.ms` is dropped from the group; a rebalance
//! gives every member `rebalance.timeout.ms` to rejoin. librdkafka has no API for a custom group
//! protocol, so this module speaks the Kafka protocol itself ([`connection`], messages encoded
//! by the `kafka-protocol` crate), and encodes metadata and assignments in Kafka Connect's own
//! formats ([`protocol`]), so Kafka's tools see an ordinary Connect group.
//!
//! The membership connection speaks every `security.protocol`: `PLAINTEXT`, `SSL` (rustls,
//! [`tls`]), `SASL_PLAINTEXT` and `SASL_SSL` (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512,
//! [`sasl`]); it reads the same `ssl.*` and `sasl.*` keys as the worker's librdkafka clients.
//!
//! The herder uses [`WorkerGroup`]: [`WorkerGroup::join`] returns a handle and a stream of
//! [`GroupEvent`]s; the herder feeds the [`ClusterState`] (connectors, task counts, config
//! topic offset) the leader needs, asks for a rebalance after a config change, and calls
//! [`WorkerGroup::leave`] on shutdown.
//!
//! ```no_run
//! use sluice_kafka::group::{ClusterState, GroupConfig, GroupEvent, WorkerGroup};
//!
//! # async fn herder(props: sluice_api::config::ConfigMap) -> Result<(), Box<dyn std::error::Error>> {
//! let config = GroupConfig::from_worker_config(&props, "http://worker-1:8083/")?;
//! // This worker's view of the config topic: its offset, the connectors and task counts.
//! let (group, mut events) = WorkerGroup::join(config, ClusterState::default())?;
//! while let Some(event) = events.next().await {
//!     match event {
//!         // Stop these connectors and tasks, then acknowledge.
//!         GroupEvent::Revoked { revoked, ack, .. } => ack.done(),
//!         // Read the config topic up to `a.config_offset`, then start `a.assigned`;
//!         // `a.leader_url` is where requests for the leader go.
//!         GroupEvent::Assigned(a) => {}
//!         // The leader was behind: as leader, catch up and call `set_cluster_state`.
//!         GroupEvent::ConfigMismatch { .. } => {}
//!         GroupEvent::Failed(e) => return Err(e.into()),
//!     }
//! }
//! group.leave().await?;
//! # Ok(())
//! # }
//! ```

pub mod assignor;
pub mod connection;
mod member;
pub mod protocol;
pub mod sasl;
pub mod tls;

use std::time::Duration;

use sluice_api::config::ConfigMap;

pub use assignor::{ClusterState, MemberAssignment, TaskId, WorkSet};
pub use member::{Assignment, GroupEvent, GroupEvents, GroupStatus, RevokeAck, WorkerGroup};
pub use protocol::ConnectProtocol;
pub use sasl::{GroupSasl, Mechanism};

pub use tls::GroupTls;

/// Errors of group membership.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// A worker config key has an invalid value.
    #[error("invalid worker config `{key}`: {message}")]
    Config {
        /// The key.
        key: String,
        /// Why it is invalid.
        message: String,
    },
    /// The TCP connection to a broker failed.
    #[error("cannot connect to Kafka broker {addr}: {source}")]
    Connect {
        /// The broker address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS handshake with a broker failed (an untrusted or wrongly named certificate, an
    /// alert from the broker, or the network).
    #[error("TLS handshake with Kafka broker {addr} failed: {source}")]
    Tls {
        /// The broker address.
        addr: String,
        /// The cause (rustls' error inside an I/O error).
        source: std::io::Error,
    },
    /// The connection to a broker closed while a request waited.
    #[error("the connection to Kafka broker {addr} closed")]
    Closed {
        /// The broker address.
        addr: String,
    },
    /// A broker refused SASL authentication: wrong credentials, a mechanism it does not offer,
    /// or a broker that could not prove it knows the password (SCRAM).
    #[error("SASL {mechanism} authentication with Kafka broker {addr} failed: {message}")]
    Authentication {
        /// The broker address.
        addr: String,
        /// The mechanism (`sasl.mechanism`).
        mechanism: &'static str,
        /// The broker's reason, or why the client refused the broker.
        message: String,
    },
    /// A broker closed the connection during the SASL handshake (retried, since a network
    /// failure looks the same; a broker that does not offer the mechanism may also do this).
    #[error("Kafka broker {addr} closed the connection during the SASL {mechanism} handshake (does it offer this sasl.mechanism?)")]
    ClosedDuringAuthentication {
        /// The broker address.
        addr: String,
        /// The mechanism (`sasl.mechanism`).
        mechanism: &'static str,
    },
    /// A request got no response in time.
    #[error("{api} to Kafka broker {addr} got no response within {timeout:?}")]
    Timeout {
        /// The request.
        api: &'static str,
        /// The broker address.
        addr: String,
        /// How long it waited.
        timeout: Duration,
    },
    /// A request or response could not be encoded or decoded.
    #[error("cannot encode or decode {api}: {source}")]
    Codec {
        /// The request.
        api: &'static str,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The broker supports no version of a request that this client can send.
    #[error("Kafka broker {addr} supports no usable version of {api}")]
    UnsupportedVersion {
        /// The request.
        api: &'static str,
        /// The broker address.
        addr: String,
    },
    /// The broker answered with an error code.
    #[error("{api} failed: {error} (Kafka error code {code})")]
    Response {
        /// The request.
        api: &'static str,
        /// Kafka's name of the error.
        error: String,
        /// Kafka's error code.
        code: i16,
    },
    /// Connect group metadata or an assignment is malformed.
    #[error("invalid Connect group data: {0}")]
    Protocol(String),
    /// No bootstrap server answered.
    #[error("no Kafka bootstrap server of `{servers}` answered: {last}")]
    NoBroker {
        /// The bootstrap servers.
        servers: String,
        /// The last error.
        last: Box<GroupError>,
    },
    /// The member has stopped (after [`WorkerGroup::leave`] or a fatal error).
    #[error("the group member has stopped")]
    Stopped,
}

impl GroupError {
    fn codec(api: &'static str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        GroupError::Codec {
            api,
            source: e.into(),
        }
    }

    fn response(api: &'static str, code: i16) -> Self {
        let error = kafka_protocol::error::ResponseError::try_from_code(code)
            .map_or_else(|| "NONE".to_owned(), |e| e.to_string());
        GroupError::Response { api, error, code }
    }

    /// Whether retrying cannot help: a TLS handshake that failed on TLS grounds (an untrusted
    /// certificate, an alert from the broker), not on the network, or a refused SASL
    /// authentication.
    pub fn is_fatal(&self) -> bool {
        match self {
            GroupError::Tls { source, .. } => tls::is_tls_failure(source),
            GroupError::Authentication { .. } => true,
            GroupError::NoBroker { last, .. } => last.is_fatal(),
            _ => false,
        }
    }

    /// The Kafka error code when the broker answered with one.
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            GroupError::Response { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Settings of a worker's group membership, from the distributed worker config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `bootstrap.servers`: `host:port` entries.
    pub bootstrap_servers: Vec<String>,
    /// `group.id`: the Connect cluster id.
    pub group_id: String,
    /// This worker's REST url, sent to the other members (the leader's one is where requests
    /// are forwarded).
    pub url: String,
    /// `client.id` of the membership connection.
    pub client_id: String,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `rebalance.timeout.ms`.
    pub rebalance_timeout: Duration,
    /// `scheduled.rebalance.max.delay.ms`.
    pub scheduled_rebalance_max_delay: Duration,
    /// `request.timeout.ms`.
    pub request_timeout: Duration,
    /// `retry.backoff.ms`.
    pub retry_backoff: Duration,
    /// `connect.protocol`.
    pub protocol: ConnectProtocol,
    /// TLS for the membership connection (`security.protocol` `SSL` or `SASL_SSL`).
    pub tls: Option<GroupTls>,
    /// SASL for the membership connection (`security.protocol` `SASL_PLAINTEXT` or
    /// `SASL_SSL`).
    pub sasl: Option<GroupSasl>,
}

impl GroupConfig {
    /// Defaults of Kafka Connect for a group and a worker url.
    pub fn new(
        bootstrap_servers: &str,
        group_id: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        GroupConfig {
            bootstrap_servers: split_servers(bootstrap_servers),
            group_id: group_id.into(),
            url: url.into(),
            client_id: "sluice-worker".to_owned(),
            session_timeout: Duration::from_millis(10_000),
            heartbeat_interval: Duration::from_millis(3_000),
            rebalance_timeout: Duration::from_millis(60_000),
            scheduled_rebalance_max_delay: Duration::from_millis(300_000),
            request_timeout: Duration::from_millis(40_000),
            retry_backoff: Duration::from_millis(100),
            protocol: ConnectProtocol::Sessioned,
            tls: None,
            sasl: None,
        }
    }

    /// Reads the group settings of a distributed worker config (`group.id`,
    /// `bootstrap.servers`, `session.timeout.ms`, `heartbeat.interval.ms`,
    /// `rebalance.timeout.ms`, `scheduled.rebalance.max.delay.ms`, `request.timeout.ms`,
    /// `retry.backoff.ms`, `client.id`, `connect.protocol`, `security.protocol` and, as it
    /// asks, the `ssl.*` keys of [`tls`] and the `sasl.*` keys of [`sasl`]). `url` is the
    /// worker's advertised REST url.
    pub fn from_worker_config(props: &ConfigMap, url: &str) -> Result<Self, GroupError> {
        let security = SecurityProtocol::of(props)?;
        let group_id = props
            .get("group.id")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| GroupError::Config {
                key: "group.id".to_owned(),
                message: "required in distributed mode".to_owned(),
            })?;
        let servers = props
            .get("bootstrap.servers")
            .map_or("localhost:9092", String::as_str);
        let mut config = GroupConfig::new(servers, group_id, url);
        if config.bootstrap_servers.is_empty() {
            return Err(GroupError::Config {
                key: "bootstrap.servers".to_owned(),
                message: "no server given".to_owned(),
            });
        }
        if let Some(id) = props.get("client.id").filter(|s| !s.is_empty()) {
            config.client_id = id.clone();
        }
        let ms = |key: &str, default: Duration| -> Result<Duration, GroupError> {
            match props.get(key) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .map(|n| Duration::from_millis(u64::from(n)))
                    .map_err(|e| GroupError::Config {
                        key: key.to_owned(),
                        message: format!("`{v}` is not a number of milliseconds: {e}"),
                    }),
            }
        };
        config.session_timeout = ms("session.timeout.ms", config.session_timeout)?;
        config.heartbeat_interval = ms("heartbeat.interval.ms", config.heartbeat_interval)?;
        config.rebalance_timeout = ms("rebalance.timeout.ms", config.rebalance_timeout)?;
        config.scheduled_rebalance_max_delay = ms(
            "scheduled.rebalance.max.delay.ms",
            config.scheduled_rebalance_max_delay,
        )?;
        config.request_timeout = ms("request.timeout.ms", config.request_timeout)?;
        config.retry_backoff = ms("retry.backoff.ms", config.retry_backoff)?;
        if let Some(p) = props.get("connect.protocol") {
            config.protocol = match p.trim().to_ascii_lowercase().as_str() {
                "sessioned" => ConnectProtocol::Sessioned,
                "compatible" => ConnectProtocol::Compatible,
                "eager" => {
                    return Err(GroupError::Config {
                        key: "connect.protocol".to_owned(),
                        message: "`eager` rebalancing is not supported; use `sessioned` or `compatible` (both incremental)".to_owned(),
                    })
                }
                other => {
                    return Err(GroupError::Config {
                        key: "connect.protocol".to_owned(),
                        message: format!(
                            "`{other}` is not one of `sessioned`, `compatible`, `eager`"
                        ),
                    })
                }
            };
        }
        if security.tls {
            config.tls = Some(GroupTls::from_worker_config(props)?);
        }
        if security.sasl {
            config.sasl = Some(GroupSasl::from_worker_config(props)?);
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks the relations between the timeouts.
    pub fn validate(&self) -> Result<(), GroupError> {
        if self.heartbeat_interval.is_zero() {
            return Err(GroupError::Config {
                key: "heartbeat.interval.ms".to_owned(),
                message: "must be positive".to_owned(),
            });
        }
        if self.heartbeat_interval >= self.session_timeout {
            return Err(GroupError::Config {
                key: "heartbeat.interval.ms".to_owned(),
                message: format!(
                    "must be lower than session.timeout.ms ({} ms)",
                    self.session_timeout.as_millis()
                ),
            });
        }
        if self.rebalance_timeout.is_zero() {
            return Err(GroupError::Config {
                key: "rebalance.timeout.ms".to_owned(),
                message: "must be positive".to_owned(),
            });
        }
        Ok(())
    }
}

/// The `host:port` entries of a `bootstrap.servers` list, without `PROTOCOL://` prefixes.
pub(crate) fn split_servers(servers: &str) -> Vec<String> {
    servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.split_once("://")
                .map_or(s, |(_protocol, addr)| addr)
                .to_owned()
        })
        .collect()
}

/// What a worker's `security.protocol` asks of the membership connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityProtocol {
    /// TLS (`SSL`, `SASL_SSL`).
    pub tls: bool,
    /// SASL authentication (`SASL_PLAINTEXT`, `SASL_SSL`).
    pub sasl: bool,
}

impl SecurityProtocol {
    /// Reads `security.protocol` (default `PLAINTEXT`, any case).
    pub fn of(props: &ConfigMap) -> Result<SecurityProtocol, GroupError> {
        let Some(value) = props.get("security.protocol") else {
            return Ok(SecurityProtocol {
                tls: false,
                sasl: false,
            });
        };
        let (tls, sasl) = match value.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => (false, false),
            "SSL" => (true, false),
            "SASL_PLAINTEXT" => (false, true),
            "SASL_SSL" => (true, true),
            _ => {
                return Err(GroupError::Config {
                    key: "security.protocol".to_owned(),
                    message: format!(
                        "`{value}` is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
                    ),
                })
            }
        };
        Ok(SecurityProtocol { tls, sasl })
    }
}

/// A worker config of `pairs`, for the tests of this module and its submodules.
#[cfg(test)]
fn props(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_security_protocol_is_understood() {
        let of = |pairs: &[(&str, &str)]| SecurityProtocol::of(&props(pairs)).unwrap();
        let expect = |tls, sasl| SecurityProtocol { tls, sasl };
        assert_eq!(of(&[]), expect(false, false));
        assert_eq!(
            of(&[("security.protocol", "plaintext")]),
            expect(false, false)
        );
        assert_eq!(of(&[("security.protocol", "ssl")]), expect(true, false));
        assert_eq!(
            of(&[("security.protocol", "SASL_PLAINTEXT")]),
            expect(false, true)
        );
        assert_eq!(of(&[("security.protocol", "sasl_ssl")]), expect(true, true));
        let err = SecurityProtocol::of(&props(&[("security.protocol", "TLS")])).unwrap_err();
        assert!(err.to_string().contains("not one of"), "{err}");
        assert!(err.to_string().contains("security.protocol"), "{err}");
    }

    #[test]
    fn sasl_settings_are_read_for_the_sasl_protocols() {
        let c = GroupConfig::from_worker_config(
            &props(&[
                ("group.id", "g"),
                ("bootstrap.servers", "SASL_PLAINTEXT://a:9092"),
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "SCRAM-SHA-256"),
                ("sasl.username", "alice"),
                ("sasl.password", "secret"),
            ]),
            "u",
        )
        .unwrap();
        assert_eq!(c.bootstrap_servers, vec!["a:9092"]);
        assert_eq!(
            c.sasl,
            Some(GroupSasl::new(Mechanism::ScramSha256, "alice", "secret"))
        );
        assert!(c.tls.is_none());
    }

    #[test]
    fn worker_config_is_read_with_connect_defaults() {
        let c = GroupConfig::from_worker_config(
            &props(&[
                ("group.id", "connect-cluster"),
                ("bootstrap.servers", "PLAINTEXT://a:9092, b:9093"),
                ("session.timeout.ms", "6000"),
            ]),
            "http://w1:8083/",
        )
        .unwrap();
        assert_eq!(c.bootstrap_servers, vec!["a:9092", "b:9093"]);
        assert_eq!(c.group_id, "connect-cluster");
        assert_eq!(c.session_timeout, Duration::from_millis(6000));
        assert_eq!(c.heartbeat_interval, Duration::from_millis(3000));
        assert_eq!(c.rebalance_timeout, Duration::from_millis(60_000));
        assert_eq!(
            c.scheduled_rebalance_max_delay,
            Duration::from_millis(300_000)
        );
        assert_eq!(c.protocol, ConnectProtocol::Sessioned);
    }

    #[test]
    fn bad_group_settings_name_the_key() {
        let cases = [
            (vec![], "group.id"),
            (
                vec![("group.id", "g"), ("session.timeout.ms", "soon")],
                "session.timeout.ms",
            ),
            (
                vec![
                    ("group.id", "g"),
                    ("session.timeout.ms", "3000"),
                    ("heartbeat.interval.ms", "3000"),
                ],
                "heartbeat.interval.ms",
            ),
            (
                vec![("group.id", "g"), ("connect.protocol", "eager")],
                "connect.protocol",
            ),
            (
                vec![("group.id", "g"), ("security.protocol", "SASL_SSL")],
                "sasl.mechanism",
            ),
            (
                vec![
                    ("group.id", "g"),
                    ("security.protocol", "SSL"),
                    ("ssl.truststore.location", "/nonexistent/ca.pem"),
                ],
                "ssl.truststore.location",
            ),
        ];
        for (pairs, key) in cases {
            let err = GroupConfig::from_worker_config(&props(&pairs), "u").unwrap_err();
            assert!(
                matches!(&err, GroupError::Config { key: k, .. } if k == key),
                "{err}"
            );
        }
    }
}

//! # sluice-kafka
//!
//! The log of Sluice on a real Kafka cluster. [`KafkaLog`] implements the traits of
//! `sluice-log` (admin, producer with transactions, consumer with groups) through
//! librdkafka, so the runtime drives a Kafka cluster exactly as it drives the embedded log.
//!
//! Settings are given with Kafka's (Java client) property names in a [`KafkaConfig`]:
//! shared settings (`security.protocol`, `sasl.*`, `ssl.*`, ...) go to every client, the
//! worker's `producer.*`, `consumer.*` and `admin.*` settings to the matching client, and
//! the per-client properties of a [`ProducerConfig`] or [`ConsumerConfig`] (where
//! per-connector overrides arrive) over those; an admin client with per-connector
//! `admin.override.*` settings comes from [`Log::admin_with`]. [`config`] translates the names librdkafka
//! spells differently.
//!
//! - [`producer`]: one librdkafka producer per [`LogProducer`], with a polling thread whose
//!   delivery callback completes each batch's future; transactions on blocking threads.
//!   Records go to librdkafka through `native`, the workspace's only `unsafe` code: one
//!   direct call per record with a kept topic handle, where rdkafka's safe call looks the
//!   topic up by name every time.
//! - [`consumer`]: a librdkafka consumer polled on a blocking thread; group rebalances are
//!   forwarded to the async [`sluice_log::RebalanceListener`] inside `poll`. Its assigned
//!   partitions' records are read in batches through `native`, where rdkafka's safe call
//!   returns one record per call.
//! - [`admin`]: topics and group offsets.
//! - [`tls`]: rustls pieces (PEM, trust, client configs) shared by the group connection and
//!   the REST API's https client and listeners.

pub mod admin;
pub mod config;
pub mod consumer;
mod context;
mod error;
pub mod group;
mod native;
mod partitioner;
pub mod producer;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::ClientConfig;
use sluice_log::{
    ConsumerConfig, Log, LogAdmin, LogConsumer, LogError, LogProducer, LogResult, ProducerConfig,
};

use crate::context::LogContext;

/// Settings of a Kafka-backed log, in Kafka's property names.
#[derive(Debug, Clone, Default)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Passed to every client (security.protocol, sasl.*, ssl.*, client.id, ...).
    pub common: BTreeMap<String, String>,
    /// Worker-level `producer.*` settings, prefix removed.
    pub producer: BTreeMap<String, String>,
    /// Worker-level `consumer.*` settings, prefix removed.
    pub consumer: BTreeMap<String, String>,
    /// Worker-level `admin.*` settings, prefix removed.
    pub admin: BTreeMap<String, String>,
}

impl KafkaConfig {
    /// Settings for a cluster reachable at `bootstrap_servers`, with nothing else set.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaConfig {
            bootstrap_servers: bootstrap_servers.into(),
            ..KafkaConfig::default()
        }
    }

    /// A librdkafka configuration with the bootstrap servers, the common settings and
    /// `layers` (translated, later layers winning).
    pub(crate) fn client_config(
        &self,
        layers: &[&BTreeMap<String, String>],
    ) -> LogResult<ClientConfig> {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        let mut all: Vec<&BTreeMap<String, String>> = vec![&self.common];
        all.extend_from_slice(layers);
        config::apply(&mut config, &all)?;
        Ok(config)
    }
}

/// A Kafka cluster as a [`Log`].
pub struct KafkaLog {
    config: KafkaConfig,
    admin: Arc<admin::KafkaAdmin>,
    /// The id the cluster reported when the connection was checked.
    cluster_id: Option<String>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("bootstrap_servers", &self.config.bootstrap_servers)
            .finish_non_exhaustive()
    }
}

impl KafkaLog {
    /// Connects (checks the cluster answers a metadata request, retrying until `timeout`);
    /// the error gives librdkafka's reason (an unreachable cluster's also names the
    /// bootstrap servers; the caller names them for the rest).
    pub async fn connect(config: KafkaConfig, timeout: Duration) -> LogResult<Arc<KafkaLog>> {
        let admin_config = config.client_config(&[&config.admin])?;
        let context = LogContext::default();
        let client: AdminClient<LogContext> = admin_config
            .create_with_context(context)
            .map_err(|e| error::map_error(e, "creating the Kafka admin client", None))?;
        let client = Arc::new(client);
        // The check runs on a producer handle: polling it serves librdkafka's error and log
        // events, which carry the reason of a failure (connection refused, authentication).
        let probe: BaseProducer<LogContext> = admin_config
            .create_with_context(LogContext::default())
            .map_err(|e| error::map_error(e, "creating a Kafka client", None))?;
        let deadline = Instant::now() + timeout;
        let result = tokio::task::spawn_blocking(move || loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let attempt = left
                .min(Duration::from_secs(5))
                .max(Duration::from_millis(100));
            match probe.client().fetch_metadata(None, attempt) {
                // The metadata just read holds the cluster id; None from a broker too old
                // to report one.
                Ok(_) => return Ok(probe.client().fetch_cluster_id(attempt)),
                Err(e) => {
                    probe.poll(Duration::from_millis(200));
                    let context = probe.context();
                    if Instant::now() >= deadline || context.auth_failed() {
                        let reason = context.last_error().unwrap_or_else(|| e.to_string());
                        return Err((reason, context.auth_failed()));
                    }
                    tracing::debug!(error = %e, "Kafka cluster not reachable yet; retrying");
                }
            }
        })
        .await
        .map_err(|e| LogError::Unavailable(format!("the connection check stopped: {e}")))?;
        let cluster_id = match result {
            Ok(id) => id,
            Err((reason, true)) => {
                return Err(LogError::Remote(format!(
                    "TLS or SASL authentication failed: {reason}"
                )))
            }
            Err((reason, false)) => {
                return Err(LogError::Unavailable(format!(
                    "cannot reach the Kafka cluster at bootstrap.servers={} within {:?}: {reason}",
                    config.bootstrap_servers, timeout
                )))
            }
        };
        Ok(Arc::new(KafkaLog {
            admin: Arc::new(admin::KafkaAdmin::new(client, config.clone())?),
            config,
            cluster_id,
        }))
    }

    /// The settings this log was connected with.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// The cluster's id as its brokers report it (what Kafka's tools show as the cluster
    /// id); `None` when the brokers report none.
    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }
}

impl Log for KafkaLog {
    fn admin(&self) -> Arc<dyn LogAdmin> {
        Arc::clone(&self.admin) as Arc<dyn LogAdmin>
    }

    /// A new admin client whose settings are the worker's `admin.*` ones with `properties`
    /// (a connector's `admin.override.*`, prefix removed) laid over them; the shared admin
    /// when there are none. A `bootstrap.servers` override points the client at that
    /// cluster, `request.timeout.ms` bounds its calls.
    fn admin_with(&self, properties: &BTreeMap<String, String>) -> LogResult<Arc<dyn LogAdmin>> {
        if properties.is_empty() {
            return Ok(self.admin());
        }
        let mut config = self.config.clone();
        config.admin.extend(properties.clone());
        if let Some(servers) = config.admin.remove("bootstrap.servers") {
            config.bootstrap_servers = servers;
        }
        Ok(Arc::new(admin::KafkaAdmin::create(config)?))
    }

    fn producer(&self, config: ProducerConfig) -> LogResult<Arc<dyn LogProducer>> {
        Ok(Arc::new(producer::KafkaProducer::new(
            &self.config,
            config,
        )?))
    }

    fn consumer(&self, config: ConsumerConfig) -> LogResult<Box<dyn LogConsumer>> {
        Ok(Box::new(consumer::KafkaConsumer::new(
            &self.config,
            config,
        )?))
    }
}

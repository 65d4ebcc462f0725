//! Herders: what the REST API asks of a worker, and the standalone and distributed
//! implementations.
//!
//! A [`Herder`] owns connector configs and target states and decides what runs; a
//! [`crate::worker::Worker`] runs it. The REST layer ([`crate::rest`]) only talks to a
//! `dyn Herder`, so the standalone herder ([`StandaloneHerder`], configs in memory, one
//! worker) and a distributed one (configs in the internal topics, work spread over workers)
//! serve the same routes ([`DistributedHerder`] keeps everything in the internal topics).
//!
//! Operations return a [`HerderError`] whose kind decides the HTTP status and whose text is
//! Kafka's message (`Connector <n> not found`, ...). Validation ([`validation`]) and offsets
//! ([`offsets`]) are shared helpers any herder can use.

mod distributed;
pub mod entities;
mod membership;
pub mod offsets;
mod standalone;
mod status_view;
pub mod validation;

use std::collections::BTreeMap;

use async_trait::async_trait;
use sluice_api::config::ConfigMap;

use crate::plugins::PluginRegistry;
use crate::status::TargetState;

pub use distributed::{
    DistributedHerder, GroupRole, InternalStores, WorkAssignment, STATUS_INTERVAL,
};
pub use entities::*;
pub use membership::GroupMembership;
pub use standalone::{StandaloneHerder, StandaloneSetup};

/// Why a herder operation failed; the kind maps to an HTTP status, the text is Kafka's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HerderError {
    /// The request is wrong (400).
    #[error("{0}")]
    BadRequest(String),
    /// The operation is turned off (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such connector, task or plugin (404).
    #[error("{0}")]
    NotFound(String),
    /// The connector exists already, or the cluster is busy (409).
    #[error("{0}")]
    Conflict(String),
    /// The operation itself failed (500).
    #[error("{0}")]
    Internal(String),
}

impl HerderError {
    /// `Connector <n> not found`.
    pub fn connector_not_found(name: &str) -> Self {
        HerderError::NotFound(format!("Connector {name} not found"))
    }

    /// `Unknown connector <n>`.
    pub fn unknown_connector(name: &str) -> Self {
        HerderError::NotFound(format!("Unknown connector {name}"))
    }
}

/// Result alias of herder operations.
pub type HerderResult<T> = Result<T, HerderError>;

/// A herder that can give a running connector new task configs when the connector asks
/// (`ConnectorContext::request_task_reconfiguration`).
#[async_trait]
trait Reconfigure: Send + Sync + 'static {
    /// Asks the connector for task configs and, when they differ from its current ones,
    /// stores them and restarts its tasks with them. Nothing happens unless the connector
    /// runs (target state STARTED).
    async fn reconfigure_tasks(&self, name: &str);
}

/// Acts on the worker's reconfiguration requests for as long as the herder lives: waits for
/// one, takes every other request already queued (a connector asking twice is served once)
/// and reconfigures each connector named. `None` when the worker's requests are already
/// followed.
fn follow_reconfigurations<H: Reconfigure>(
    herder: &std::sync::Arc<H>,
    worker: &crate::worker::Worker,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut requests = worker.take_reconfiguration_requests()?;
    let weak = std::sync::Arc::downgrade(herder);
    Some(tokio::spawn(async move {
        while let Some(first) = requests.recv().await {
            let mut names = std::collections::BTreeSet::from([first]);
            while let Ok(name) = requests.try_recv() {
                names.insert(name);
            }
            let Some(herder) = weak.upgrade() else { break };
            for name in names {
                herder.reconfigure_tasks(&name).await;
            }
        }
    }))
}

/// A created-or-updated answer: `created` is true when the connector is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created<T> {
    /// True when the operation created the connector.
    pub created: bool,
    /// The result.
    pub value: T,
}

/// Every operation of the Kafka Connect REST API that concerns connectors, for one worker
/// or one cluster.
#[async_trait]
pub trait Herder: Send + Sync {
    /// The plugins connectors can use.
    fn plugins(&self) -> &PluginRegistry;

    /// Version, build and cluster id (`GET /`).
    fn server_info(&self) -> ServerInfo;

    /// Whether active topics are tracked (`topic.tracking.enable`).
    fn topic_tracking(&self) -> bool;

    /// Whether active topics may be reset (`topic.tracking.allow.reset`).
    fn topic_tracking_reset(&self) -> bool;

    /// A snapshot of this worker's metrics for `GET /metrics`.
    fn metrics(&self) -> crate::metrics::WorkerMetrics;

    /// Where requests that only the group leader may serve must go: the leader's REST base
    /// url (`http://host:port/`) when this worker is a follower, `None` when it is the leader
    /// or not in a group (the standalone herder). `Some("")` says this worker is a follower
    /// that does not know the leader yet (a rebalance is under way): such requests are then
    /// answered 409.
    ///
    /// The REST layer ([`crate::rest::forward`]) asks before each config write, stop, restart
    /// with a plan, offsets change and task restart, and forwards the request to this url,
    /// so a client may send any request to any worker.
    fn leader_url(&self) -> Option<String> {
        None
    }

    /// Where a plain restart of a connector instance (`task` `None`) or of one task must go:
    /// the REST base url of the worker that runs it when that is another worker, `None` when
    /// it runs here, or when no worker runs it (the herder then answers the restart itself,
    /// e.g. 404).
    ///
    /// The REST layer asks it before a restart that must run where the work runs. On the
    /// leader (or when [`Herder::leader_url`] is `None`) the restart goes to this url; on a
    /// follower any `Some` sends it to the leader instead, which knows the whole assignment
    /// and passes it on. A follower that only knows its own work can therefore answer `None`
    /// for its own work and any `Some` (e.g. the leader's url) for the rest.
    fn owner_url(&self, connector: &str, task: Option<u32>) -> Option<String> {
        let _ = (connector, task);
        None
    }

    /// Names of all connectors, sorted.
    async fn connectors(&self) -> Vec<String>;

    /// A connector's config and tasks.
    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo>;

    /// A connector's config as stored.
    async fn connector_config(&self, name: &str) -> HerderResult<ConfigMap>;

    /// Validates a config (the connector's `name` must be in it) and creates the connector
    /// with `initial_state` (default STARTED), or, with `allow_replace`, replaces the config
    /// of an existing one, keeping its target state and restarting it and its tasks.
    /// Invalid configs are 400 with every error; an existing connector without
    /// `allow_replace` is 409.
    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>>;

    /// Merges a partial config into a connector's (a `None` value removes the key),
    /// validates and applies it.
    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo>;

    /// Stops and removes a connector. Its source offsets and sink consumer group stay.
    async fn delete_connector(&self, name: &str) -> HerderResult<()>;

    /// The configs of a connector's tasks (none while stopped).
    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>>;

    /// A connector's state and its tasks'.
    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo>;

    /// One task's state.
    async fn task_status(&self, name: &str, task: u32) -> HerderResult<TaskState>;

    /// Restarts a connector and, per the request, its tasks. The plain restart answers
    /// `None`; the others the status as it was when the restart began, with the instances
    /// being restarted shown RESTARTING.
    async fn restart_connector(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> HerderResult<Option<ConnectorStateInfo>>;

    /// Restarts one task with its current config.
    async fn restart_task(&self, name: &str, task: u32) -> HerderResult<()>;

    /// Sets the target state PAUSED.
    async fn pause_connector(&self, name: &str) -> HerderResult<()>;

    /// Sets the target state STARTED (also from STOPPED).
    async fn resume_connector(&self, name: &str) -> HerderResult<()>;

    /// Sets the target state STOPPED: tasks shut down and their configs removed.
    async fn stop_connector(&self, name: &str) -> HerderResult<()>;

    /// The topics a connector has used, sorted.
    async fn active_topics(&self, name: &str) -> HerderResult<Vec<String>>;

    /// Forgets a connector's active topics.
    async fn reset_active_topics(&self, name: &str) -> HerderResult<()>;

    /// A connector's offsets: source offsets from the offset store, sink offsets from its
    /// consumer group.
    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets>;

    /// Alters offsets of a STOPPED connector.
    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> HerderResult<Message>;

    /// Removes every offset of a STOPPED connector.
    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<Message>;

    /// Validates a connector config and answers every error of every key
    /// (`config/validate`).
    async fn validate_connector_config(&self, config: &ConfigMap) -> HerderResult<ConfigInfos>;

    /// Publishes a log level for every worker of the cluster
    /// (`PUT /admin/loggers/{logger}?scope=cluster`): a distributed herder writes it to the
    /// config topic, and each worker, this one included, applies it as it reads it. False
    /// when there is no cluster to publish to (a standalone worker), so the caller sets the
    /// level on this worker only.
    async fn publish_logger_level(&self, namespace: &str, level: &str) -> HerderResult<bool> {
        let _ = (namespace, level);
        Ok(false)
    }
}

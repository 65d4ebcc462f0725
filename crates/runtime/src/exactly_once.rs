//! Exactly-once source delivery (Kafka's KIP-618), for distributed workers.
//!
//! # Settings
//!
//! - Worker: `exactly.once.source.support` = `disabled` (default) | `preparing` | `enabled`.
//!   `preparing` and `enabled` make the leader write the config topic through a
//!   transactional producer (`connect-cluster-<group.id>`); `enabled` also runs every source
//!   task exactly-once. A standalone worker has no exactly-once support.
//! - Connector: `exactly.once.support` = `requested` (default) | `required` (validation fails
//!   unless the worker has it enabled and the connector says it supports it),
//!   `transaction.boundary` = `poll` (default) | `interval` | `connector`,
//!   `transaction.boundary.interval.ms` (default: the worker's `offset.flush.interval.ms`).
//!
//! # Model
//!
//! An exactly-once source task produces through its own transactional producer, with the
//! transactional id `<group.id>-<connector>-<task>`. It registers the id when it starts
//! (which fences any older instance of the same task and aborts that instance's open
//! transaction), reads the offsets topic to the end (read-committed: only offsets written by
//! committed transactions count), and then writes each transaction's records and their
//! source offsets (to the offsets topic, in Kafka Connect's key/value format) in one
//! transaction. A transaction ends per [`TransactionBoundary`]. Records and offsets become
//! visible together or not at all, so a task that dies mid-transaction resumes after the
//! last committed records and a read-committed consumer sees every record once.
//!
//! A connector with its own offsets topic (`offsets.storage.topic`) has its tasks write the
//! offsets to that topic inside the transaction and read it before starting; once a
//! transaction commits, its offsets are copied, best-effort, to the worker's offsets topic
//! ([`crate::storage::ConnectorOffsetStore`]).
//!
//! Before a connector's new generation of tasks starts, the leader fences the transactional
//! ids of every task of the previous generation and records the fencing in the config topic
//! (`tasks-fencing-<connector>`), so a task instance left running somewhere can no longer
//! commit; such an instance fails with a message saying it was fenced.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_api::connector::TransactionContext;
use sluice_api::{OffsetMap, SourceRecord};
use sluice_log::{Log, LogError, ProducerConfig};

use crate::storage::{ConfigStore, ConnectorOffsetStore, StorageError, TopicOffsetStore};
use crate::worker_config::WorkerConfig;

/// Distributed worker key: exactly-once source support of the cluster.
pub const EXACTLY_ONCE_SOURCE_SUPPORT: &str = "exactly.once.source.support";
/// Source connector key: `requested` or `required`.
pub const EXACTLY_ONCE_SUPPORT: &str = "exactly.once.support";
/// Source connector key: where transactions end.
pub const TRANSACTION_BOUNDARY: &str = "transaction.boundary";
/// Source connector key: the commit interval of `transaction.boundary=interval`.
pub const TRANSACTION_BOUNDARY_INTERVAL_MS: &str = "transaction.boundary.interval.ms";
/// Source connector key: a connector-specific offsets topic.
pub const OFFSETS_STORAGE_TOPIC: &str = "offsets.storage.topic";

/// The worker's `exactly.once.source.support`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExactlyOnceSourceSupport {
    /// Source tasks are at-least-once (the default).
    #[default]
    Disabled,
    /// The leader writes the config topic transactionally; tasks are still at-least-once
    /// (a step of a rolling upgrade).
    Preparing,
    /// The leader writes transactionally and every source task runs exactly-once.
    Enabled,
}

impl ExactlyOnceSourceSupport {
    /// Reads a value (case-insensitive, surrounding spaces ignored).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "disabled" => Some(ExactlyOnceSourceSupport::Disabled),
            "preparing" => Some(ExactlyOnceSourceSupport::Preparing),
            "enabled" => Some(ExactlyOnceSourceSupport::Enabled),
            _ => None,
        }
    }

    /// The setting of a (validated) distributed worker config; `Disabled` when absent.
    pub fn of_worker(config: &WorkerConfig) -> Self {
        config
            .originals
            .get(EXACTLY_ONCE_SOURCE_SUPPORT)
            .and_then(|v| Self::parse(v))
            .unwrap_or_default()
    }

    /// True when source tasks run exactly-once.
    pub fn tasks_transactional(self) -> bool {
        self == ExactlyOnceSourceSupport::Enabled
    }

    /// True when the leader writes the config topic through a transactional producer.
    pub fn leader_transactional(self) -> bool {
        self != ExactlyOnceSourceSupport::Disabled
    }
}

/// Where an exactly-once source task's transactions end (`transaction.boundary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionBoundary {
    /// After every batch `poll` returned (the default).
    Poll,
    /// When at least this long has passed since the last commit, checked after each batch
    /// and on a timer.
    Interval(Duration),
    /// When the task asks, through its [`TransactionContext`].
    Connector,
}

impl TransactionBoundary {
    /// The boundary of a (validated) source connector config; the interval defaults to
    /// `default_interval` (the worker's `offset.flush.interval.ms`).
    pub fn of_connector(
        config: &sluice_api::config::ConfigMap,
        default_interval: Duration,
    ) -> Self {
        let boundary = config
            .get(TRANSACTION_BOUNDARY)
            .map(|v| v.trim().to_ascii_lowercase());
        match boundary.as_deref() {
            Some("interval") => {
                let interval = config
                    .get(TRANSACTION_BOUNDARY_INTERVAL_MS)
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(default_interval, Duration::from_millis);
                TransactionBoundary::Interval(interval)
            }
            Some("connector") => TransactionBoundary::Connector,
            _ => TransactionBoundary::Poll,
        }
    }
}

/// Kafka Connect's transactional id of a source task: `<group.id>-<connector>-<task>`.
pub fn task_transactional_id(group_id: &str, connector: &str, task: u32) -> String {
    format!("{group_id}-{connector}-{task}")
}

/// Kafka Connect's transactional id of the leader's config-topic writer:
/// `connect-cluster-<group.id>`.
pub fn leader_transactional_id(group_id: &str) -> String {
    format!("connect-cluster-{group_id}")
}

/// What a worker needs to run source tasks exactly-once: the cluster's group id (for the
/// transactional ids) and the offsets topic the tasks write their offsets to.
#[derive(Clone)]
pub struct ExactlyOnceWorker {
    /// The worker's `group.id`.
    pub group_id: String,
    /// The worker's offsets topic.
    pub offsets: TopicOffsetStore,
}

/// A failed zombie fencing.
#[derive(Debug, thiserror::Error)]
pub enum FencingError {
    /// Registering a transactional id failed.
    #[error("fencing the transactional id '{transactional_id}' failed: {source}")]
    Fence {
        /// The id being fenced.
        transactional_id: String,
        /// The log's error.
        #[source]
        source: LogError,
    },
    /// Writing the task-count record failed.
    #[error("recording the zombie fencing of connector '{connector}' failed: {source}")]
    Record {
        /// The connector.
        connector: String,
        /// The config store's error.
        #[source]
        source: StorageError,
    },
}

/// Fences the tasks of a source connector's previous generation when its task configs
/// changed since the last fencing (the config topic says it is pending): registers the
/// transactional id of every task that may still run somewhere, `0..max(last fencing's
/// task count, new task count)`, which aborts their open transactions and makes their
/// commits fail, then writes the `tasks-fencing-<connector>` record with the new count.
/// Answers whether it fenced. The caller is the leader and has stopped its own instances of
/// the old tasks.
pub async fn fence_zombies(
    log: &dyn Log,
    configs: &ConfigStore,
    group_id: &str,
    connector: &str,
    producer_properties: &BTreeMap<String, String>,
) -> Result<bool, FencingError> {
    let snapshot = configs.snapshot();
    if !snapshot.pending_fencing(connector) {
        return Ok(false);
    }
    let tasks = snapshot.task_count(connector);
    let fenced = snapshot
        .task_count_record(connector)
        .unwrap_or(0)
        .max(tasks);
    for task in 0..fenced {
        let transactional_id = task_transactional_id(group_id, connector, task);
        let registered = async {
            let producer = log.producer(ProducerConfig {
                client_id: format!("{group_id}-fencer-{connector}-{task}"),
                transactional_id: Some(transactional_id.clone()),
                properties: producer_properties.clone(),
            })?;
            producer.init_transactions().await
        };
        registered.await.map_err(|source| FencingError::Fence {
            transactional_id: transactional_id.clone(),
            source,
        })?;
    }
    configs
        .put_task_count_record(connector, tasks)
        .await
        .map_err(|source| FencingError::Record {
            connector: connector.to_owned(),
            source,
        })?;
    tracing::info!(
        connector,
        fenced,
        tasks,
        "Fenced the transactional producers of the connector's previous tasks."
    );
    Ok(true)
}

/// The exactly-once settings of one source task.
pub(crate) struct TaskTransactions {
    /// The producer's transactional id.
    pub transactional_id: String,
    /// Where transactions end.
    pub boundary: TransactionBoundary,
    /// The offsets topic written inside each transaction: the connector's own
    /// (`offsets.storage.topic`, in front of the worker's), else the worker's.
    pub offsets: ConnectorOffsetStore,
    /// The task's requests, with `transaction.boundary=connector`.
    pub requests: Option<Arc<TransactionRequests>>,
}

/// How a transaction should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransactionEnd {
    /// Commit records and offsets.
    Commit,
    /// Discard the records, still committing their offsets.
    Abort,
}

/// A request of the task: end the transaction after a given record, or after the batch.
struct Request {
    end: TransactionEnd,
    after: Option<RecordKey>,
}

/// What identifies a record a task names in a request.
#[derive(PartialEq)]
struct RecordKey {
    partition: Arc<OffsetMap>,
    offset: OffsetMap,
    topic: Arc<str>,
}

impl RecordKey {
    fn of(record: &SourceRecord) -> Self {
        RecordKey {
            partition: record.source_partition.clone(),
            offset: record.source_offset.clone(),
            topic: record.record.topic.clone(),
        }
    }

    fn matches(&self, record: &SourceRecord) -> bool {
        *self.partition == *record.source_partition
            && self.offset == record.source_offset
            && self.topic == record.record.topic
    }
}

/// The [`TransactionContext`] given to a task with `transaction.boundary=connector`: it
/// collects requests, which the task loop applies to each batch `poll` returns.
#[derive(Default)]
pub(crate) struct TransactionRequests {
    pending: Mutex<Vec<Request>>,
}

impl TransactionRequests {
    fn push(&self, end: TransactionEnd, after: Option<RecordKey>) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Request { end, after });
    }

    /// Splits a polled batch where the task asked for transactions to end: each part with
    /// the end that follows it (`None`: the transaction stays open). A request naming a
    /// record not in the batch ends the transaction after the batch.
    pub fn split(
        &self,
        connector: &str,
        mut batch: Vec<SourceRecord>,
    ) -> Vec<(Vec<SourceRecord>, Option<TransactionEnd>)> {
        let requests = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if requests.is_empty() {
            return vec![(batch, None)];
        }
        let mut cuts: Vec<(usize, TransactionEnd)> = requests
            .into_iter()
            .map(|r| {
                let at = match &r.after {
                    None => batch.len(),
                    Some(key) => match batch.iter().position(|rec| key.matches(rec)) {
                        Some(i) => i + 1,
                        None => {
                            tracing::warn!(
                                connector,
                                "The task asked to end a transaction after a record it did not \
                                 return from this poll; ending it after the batch instead."
                            );
                            batch.len()
                        }
                    },
                };
                (at, r.end)
            })
            .collect();
        // Stable: requests at the same place keep their order; the last one there wins.
        cuts.sort_by_key(|(at, _)| *at);
        cuts.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 = later.1;
                true
            } else {
                false
            }
        });
        let mut parts = Vec::with_capacity(cuts.len() + 1);
        let mut taken = 0;
        for (at, end) in cuts {
            let rest = batch.split_off(at - taken);
            parts.push((std::mem::replace(&mut batch, rest), Some(end)));
            taken = at;
        }
        if !batch.is_empty() {
            parts.push((batch, None));
        }
        parts
    }
}

impl TransactionContext for TransactionRequests {
    fn commit_transaction(&self) {
        self.push(TransactionEnd::Commit, None);
    }

    fn commit_transaction_after(&self, record: &SourceRecord) {
        self.push(TransactionEnd::Commit, Some(RecordKey::of(record)));
    }

    fn abort_transaction(&self) {
        self.push(TransactionEnd::Abort, None);
    }

    fn abort_transaction_after(&self, record: &SourceRecord) {
        self.push(TransactionEnd::Abort, Some(RecordKey::of(record)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::ConnectRecord;

    fn rec(partition: &Arc<OffsetMap>, pos: i64) -> SourceRecord {
        SourceRecord {
            source_partition: partition.clone(),
            source_offset: OffsetMap::new().with("position", pos),
            record: ConnectRecord {
                topic: Arc::from("t"),
                ..ConnectRecord::default()
            },
        }
    }

    fn positions(
        parts: &[(Vec<SourceRecord>, Option<TransactionEnd>)],
    ) -> Vec<(usize, Option<TransactionEnd>)> {
        parts.iter().map(|(r, e)| (r.len(), *e)).collect()
    }

    #[test]
    fn settings_parse_case_insensitively() {
        assert_eq!(
            ExactlyOnceSourceSupport::parse(" Enabled "),
            Some(ExactlyOnceSourceSupport::Enabled)
        );
        assert_eq!(ExactlyOnceSourceSupport::parse("on"), None);
        let config = |pairs: &[(&str, &str)]| -> sluice_api::config::ConfigMap {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let default = Duration::from_secs(60);
        assert_eq!(
            TransactionBoundary::of_connector(&config(&[]), default),
            TransactionBoundary::Poll
        );
        assert_eq!(
            TransactionBoundary::of_connector(
                &config(&[("transaction.boundary", "INTERVAL")]),
                default
            ),
            TransactionBoundary::Interval(default)
        );
        assert_eq!(
            TransactionBoundary::of_connector(
                &config(&[
                    ("transaction.boundary", "interval"),
                    ("transaction.boundary.interval.ms", "250")
                ]),
                default
            ),
            TransactionBoundary::Interval(Duration::from_millis(250))
        );
        assert_eq!(task_transactional_id("g", "c", 3), "g-c-3");
        assert_eq!(leader_transactional_id("g"), "connect-cluster-g");
    }

    #[test]
    fn requests_split_batches_after_the_named_records() {
        let p = Arc::new(OffsetMap::new().with("f", "a"));
        let requests = TransactionRequests::default();
        let batch: Vec<_> = (0..5).map(|i| rec(&p, i)).collect();
        assert_eq!(positions(&requests.split("c", batch.clone())), [(5, None)]);

        requests.commit_transaction_after(&rec(&p, 1));
        requests.abort_transaction_after(&rec(&p, 3));
        let parts = requests.split("c", batch.clone());
        assert_eq!(
            positions(&parts),
            [
                (2, Some(TransactionEnd::Commit)),
                (2, Some(TransactionEnd::Abort)),
                (1, None)
            ]
        );
        assert_eq!(
            parts[1].0[0].source_offset,
            OffsetMap::new().with("position", 2i64)
        );

        // A plain request ends after the batch; an unknown record likewise.
        requests.commit_transaction();
        requests.abort_transaction_after(&rec(&p, 99));
        assert_eq!(
            positions(&requests.split("c", batch.clone())),
            [(5, Some(TransactionEnd::Abort))]
        );
        // Requests are used once.
        assert_eq!(positions(&requests.split("c", batch)), [(5, None)]);
        // A request with nothing polled still ends the transaction.
        requests.commit_transaction();
        assert_eq!(
            positions(&requests.split("c", Vec::new())),
            [(0, Some(TransactionEnd::Commit))]
        );
    }
}

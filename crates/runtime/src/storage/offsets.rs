//! Source offsets in the offsets topic (`offset.storage.topic`), behind the runtime's
//! [`OffsetStore`] trait (Kafka's `KafkaOffsetBackingStore`).
//!
//! Keys and values are the bytes of [`crate::offsets::codec`]: key
//! `["<connector>",{<partition>}]`, value the offset map, a tombstone resetting the
//! partition's offset. Records are placed by the log's key partitioner (murmur2, as a Java
//! worker does), so one source partition always lands in one topic partition and compaction
//! keeps its latest offset.
//!
//! The store keeps every key's latest value in memory, with the topic position it came
//! from. It learns values two ways: from its own writes once they are acknowledged (so
//! [`OffsetStore::get`] sees a commit as soon as [`OffsetStore::set`] returns), and from
//! reading the topic (other workers' writes: [`TopicOffsetStore::refresh`] or a
//! [`Follower`]). A value read back is applied only if it is not older, in its partition,
//! than the value held, so reading one's own earlier write never undoes a later one.
//!
//! Exactly-once source tasks write offsets through their own transactional producer, in the
//! transaction that holds their records: [`TopicOffsetStore::send_in_transaction`].
//!
//! # Connector-specific offsets topics
//!
//! A source connector with `offsets.storage.topic` (distributed workers only) keeps its
//! offsets in its own topic, a second [`TopicOffsetStore`] opened with
//! [`TopicOffsetStore::open_connector_topic`]. A [`ConnectorOffsetStore`] puts it in front of
//! the worker's store with Kafka Connect's rule: the connector topic is primary — a read
//! takes its value and falls back to the worker store for keys it has no value for; a write
//! goes to the connector topic and then, best-effort (a failure is only logged), its
//! non-tombstone values are copied to the worker store; tombstones go to the worker store
//! first and then to the connector topic, so a reset is never undone by the fallback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use sluice_log::{ConsumedRecord, DeliveryFuture, Log, LogProducer, RecordMetadata};

use super::topic::{Follower, RecordSink, TopicLog, TopicRole};
use super::{InternalTopic, StorageError, StoreOptions};
use crate::exactly_once::OFFSETS_STORAGE_TOPIC;
use crate::offsets::{OffsetStore, OffsetStoreError, OffsetWrite};
use crate::worker_config::OFFSET_STORAGE_TOPIC;

const ROLE: TopicRole = TopicRole {
    key: OFFSET_STORAGE_TOPIC,
    purpose: "source connector offsets",
    client_suffix: "offsets",
};

/// A connector's own offsets topic (`offsets.storage.topic`).
const CONNECTOR_ROLE: TopicRole = TopicRole {
    key: OFFSETS_STORAGE_TOPIC,
    purpose: "connector-specific offsets",
    client_suffix: "connector-offsets",
};

/// A key's latest value and where in the topic it was written.
struct Entry {
    partition: i32,
    offset: i64,
    /// `None` after a tombstone (kept so an older value read later cannot revive it).
    value: Option<Vec<u8>>,
}

#[derive(Default)]
struct OffsetState {
    entries: HashMap<Vec<u8>, Entry>,
}

impl OffsetState {
    /// Applies a value written at `partition`/`offset` unless a newer one of that partition
    /// is held.
    fn apply(&mut self, key: &[u8], value: Option<&[u8]>, partition: i32, offset: i64) {
        if let Some(held) = self.entries.get_mut(key) {
            if held.partition == partition && held.offset > offset {
                return;
            }
            held.partition = partition;
            held.offset = offset;
            held.value = value.map(<[u8]>::to_vec);
            return;
        }
        self.entries.insert(
            key.to_vec(),
            Entry {
                partition,
                offset,
                value: value.map(<[u8]>::to_vec),
            },
        );
    }
}

struct OffsetSink {
    state: Mutex<OffsetState>,
}

impl OffsetSink {
    fn lock(&self) -> MutexGuard<'_, OffsetState> {
        // Single-entry updates: a panic cannot leave the map half-changed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn apply_acknowledged(&self, writes: &[OffsetWrite], written: &[RecordMetadata]) {
        let mut state = self.lock();
        for ((key, value), meta) in writes.iter().zip(written) {
            state.apply(key, value.as_deref(), meta.partition, meta.offset);
        }
    }
}

impl RecordSink for OffsetSink {
    fn consume(&self, records: &[ConsumedRecord]) {
        let mut state = self.lock();
        for r in records {
            let Some(key) = r.key.as_deref() else {
                tracing::warn!(
                    partition = r.partition,
                    offset = r.offset,
                    "Ignoring an offsets record without a key."
                );
                continue;
            };
            state.apply(key, r.value.as_deref(), r.partition, r.offset);
        }
    }
}

/// Source offsets in the offsets topic. Clones share one store.
#[derive(Clone)]
pub struct TopicOffsetStore {
    log: Arc<TopicLog>,
    sink: Arc<OffsetSink>,
}

impl TopicOffsetStore {
    /// Opens the store: creates the topic when missing (or checks it) and reads it to the
    /// end.
    pub async fn open(
        log: &dyn Log,
        topic: &InternalTopic,
        options: &StoreOptions,
    ) -> Result<Self, StorageError> {
        Self::open_as(log, topic, ROLE, options).await
    }

    /// Opens a connector's own offsets topic (`offsets.storage.topic`) as [`open`] opens
    /// the worker's: created when missing (compacted, with `topic`'s partitions, replication
    /// factor and settings, which a worker takes from its `offset.storage.*` keys) and read
    /// to the end. Problems name the connector key.
    ///
    /// [`open`]: TopicOffsetStore::open
    pub async fn open_connector_topic(
        log: &dyn Log,
        topic: &InternalTopic,
        options: &StoreOptions,
    ) -> Result<Self, StorageError> {
        Self::open_as(log, topic, CONNECTOR_ROLE, options).await
    }

    async fn open_as(
        log: &dyn Log,
        topic: &InternalTopic,
        role: TopicRole,
        options: &StoreOptions,
    ) -> Result<Self, StorageError> {
        let sink = Arc::new(OffsetSink {
            state: Mutex::new(OffsetState::default()),
        });
        let topic_log = TopicLog::open(log, topic, role, options, sink.clone()).await?;
        let store = TopicOffsetStore {
            log: Arc::new(topic_log),
            sink,
        };
        store.log.read_to_end().await?;
        Ok(store)
    }

    /// The offsets topic.
    pub fn topic(&self) -> &str {
        self.log.topic()
    }

    /// Reads everything written so far, e.g. before starting a task whose offsets another
    /// worker may have just committed.
    pub async fn refresh(&self) -> Result<(), StorageError> {
        self.log.read_to_end().await
    }

    /// Keeps reading in the background; see [`Follower`]. Needs a Tokio runtime.
    pub fn follow(&self, poll_timeout: Duration) -> Follower {
        Follower::spawn(self.log.clone(), poll_timeout)
    }

    /// Sends offset writes with `producer`, which must be inside an open transaction (an
    /// exactly-once source task's producer, after its records). Commit the transaction,
    /// then call [`PendingOffsets::complete`]; after an abort just drop the result.
    pub fn send_in_transaction(
        &self,
        producer: &dyn LogProducer,
        writes: Vec<OffsetWrite>,
    ) -> PendingOffsets {
        let records = writes
            .iter()
            .map(|(key, value)| self.log.record(key.clone(), value.clone()))
            .collect();
        PendingOffsets {
            store: self.clone(),
            delivery: producer.send(records),
            writes,
            secondary: None,
        }
    }

    fn error(&self, context: &'static str, e: StorageError) -> OffsetStoreError {
        match e {
            StorageError::Log { source, .. } => OffsetStoreError::Log {
                context,
                topic: self.log.topic().to_owned(),
                source,
            },
            StorageError::Timeout { timeout_ms, .. } => OffsetStoreError::Timeout { timeout_ms },
            other => OffsetStoreError::Log {
                context,
                topic: self.log.topic().to_owned(),
                source: sluice_log::LogError::Unavailable(other.to_string()),
            },
        }
    }
}

/// Offsets sent inside a transaction, applied to the store once it commits.
pub struct PendingOffsets {
    store: TopicOffsetStore,
    delivery: DeliveryFuture,
    writes: Vec<OffsetWrite>,
    /// The worker store that gets a best-effort copy (a connector-specific topic's).
    secondary: Option<Arc<dyn OffsetStore>>,
}

impl PendingOffsets {
    /// Waits for the acknowledgement of the offset records (call after the transaction
    /// committed) and makes them visible to [`OffsetStore::get`].
    pub async fn complete(self) -> Result<(), OffsetStoreError> {
        let timeout = self.store.log.timeout();
        let written = match tokio::time::timeout(timeout, self.delivery).await {
            Ok(Ok(written)) => written,
            Ok(Err(source)) => {
                return Err(OffsetStoreError::Log {
                    context: "writing offsets in a transaction to",
                    topic: self.store.topic().to_owned(),
                    source,
                })
            }
            Err(_) => {
                return Err(OffsetStoreError::Timeout {
                    timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                })
            }
        };
        self.store.sink.apply_acknowledged(&self.writes, &written);
        if let Some(secondary) = &self.secondary {
            copy_to_worker_store(secondary.as_ref(), self.store.topic(), self.writes).await;
        }
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for TopicOffsetStore {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.sink.lock().entries.get(key)?.value.clone()
    }

    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.sink
            .lock()
            .entries
            .iter()
            .filter_map(|(k, e)| Some((k.clone(), e.value.clone()?)))
            .collect()
    }

    async fn set(&self, writes: Vec<OffsetWrite>) -> Result<(), OffsetStoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let records = writes
            .iter()
            .map(|(key, value)| self.log.record(key.clone(), value.clone()))
            .collect();
        let written = self
            .log
            .send_and_wait(records, "writing offsets to the")
            .await
            .map_err(|e| self.error("writing to", e))?;
        self.sink.apply_acknowledged(&writes, &written);
        Ok(())
    }

    async fn catch_up(&self) -> Result<(), OffsetStoreError> {
        self.refresh().await.map_err(|e| self.error("reading", e))
    }
}

/// A source connector's offsets in its own topic in front of the worker's store; see the
/// module docs for the rule. Clones share both stores.
#[derive(Clone)]
pub struct ConnectorOffsetStore {
    primary: TopicOffsetStore,
    secondary: Option<Arc<dyn OffsetStore>>,
}

impl ConnectorOffsetStore {
    /// The connector topic `primary` in front of the worker store `worker`.
    pub fn new(primary: TopicOffsetStore, worker: Arc<dyn OffsetStore>) -> Self {
        ConnectorOffsetStore {
            primary,
            secondary: Some(worker),
        }
    }

    /// One topic only: the worker's offsets topic of a connector without a topic of its own
    /// (or one naming the worker's topic).
    pub fn only(store: TopicOffsetStore) -> Self {
        ConnectorOffsetStore {
            primary: store,
            secondary: None,
        }
    }

    /// The primary topic: the connector's own, else the worker's.
    pub fn topic(&self) -> &str {
        self.primary.topic()
    }

    /// The primary topic's store.
    pub fn primary(&self) -> &TopicOffsetStore {
        &self.primary
    }

    /// Reads the primary topic to the end (what other workers and committed transactions
    /// wrote to it).
    pub async fn refresh(&self) -> Result<(), StorageError> {
        self.primary.refresh().await
    }

    /// Sends offset writes to the primary topic inside `producer`'s open transaction, as
    /// [`TopicOffsetStore::send_in_transaction`]; [`PendingOffsets::complete`] then also
    /// copies them to the worker store, best-effort.
    pub fn send_in_transaction(
        &self,
        producer: &dyn LogProducer,
        writes: Vec<OffsetWrite>,
    ) -> PendingOffsets {
        PendingOffsets {
            secondary: self.secondary.clone(),
            ..self.primary.send_in_transaction(producer, writes)
        }
    }
}

/// Copies the non-tombstone values of `writes` to the worker store; a failure is logged
/// only (the connector topic, written first, holds them).
async fn copy_to_worker_store(worker: &dyn OffsetStore, topic: &str, writes: Vec<OffsetWrite>) {
    let copies: Vec<OffsetWrite> = writes.into_iter().filter(|(_, v)| v.is_some()).collect();
    if copies.is_empty() {
        return;
    }
    match worker.set(copies).await {
        Ok(()) => tracing::debug!(
            topic,
            "Copied offsets of the connector-specific offsets topic to the worker's offsets topic."
        ),
        Err(e) => tracing::warn!(
            topic,
            error = %e,
            "Failed to copy offsets of the connector-specific offsets topic to the worker's \
             offsets topic; the connector's own topic holds them."
        ),
    }
}

#[async_trait]
impl OffsetStore for ConnectorOffsetStore {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let value = self.primary.get(key);
        match &self.secondary {
            Some(worker) if value.is_none() => worker.get(key),
            _ => value,
        }
    }

    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let Some(worker) = &self.secondary else {
            return self.primary.entries();
        };
        let mut merged: HashMap<Vec<u8>, Vec<u8>> = worker.entries().into_iter().collect();
        merged.extend(self.primary.entries());
        merged.into_iter().collect()
    }

    async fn set(&self, writes: Vec<OffsetWrite>) -> Result<(), OffsetStoreError> {
        let Some(worker) = &self.secondary else {
            return self.primary.set(writes).await;
        };
        let tombstones: Vec<OffsetWrite> = writes
            .iter()
            .filter(|(_, v)| v.is_none())
            .cloned()
            .collect();
        if !tombstones.is_empty() {
            worker.set(tombstones).await?;
        }
        self.primary.set(writes.clone()).await?;
        copy_to_worker_store(worker.as_ref(), self.primary.topic(), writes).await;
        Ok(())
    }

    async fn catch_up(&self) -> Result<(), OffsetStoreError> {
        self.primary.catch_up().await?;
        match &self.secondary {
            Some(worker) => worker.catch_up().await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_values_do_not_replace_newer_ones_of_the_same_partition() {
        let mut s = OffsetState::default();
        s.apply(b"k", Some(b"2"), 3, 10);
        s.apply(b"k", Some(b"1"), 3, 7);
        assert_eq!(s.entries[&b"k".to_vec()].value.as_deref(), Some(&b"2"[..]));
        s.apply(b"k", None, 3, 11);
        assert_eq!(s.entries[&b"k".to_vec()].value, None);
        // An older value read back later does not revive a deleted key.
        s.apply(b"k", Some(b"2"), 3, 10);
        assert_eq!(s.entries[&b"k".to_vec()].value, None);
        s.apply(b"k", Some(b"3"), 3, 12);
        assert_eq!(s.entries[&b"k".to_vec()].value.as_deref(), Some(&b"3"[..]));
    }
}

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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use sluice_log::{ConsumedRecord, DeliveryFuture, Log, LogProducer, RecordMetadata};

use super::topic::{Follower, RecordSink, TopicLog, TopicRole};
use super::{InternalTopic, StorageError, StoreOptions};
use crate::offsets::{OffsetStore, OffsetStoreError, OffsetWrite};
use crate::worker_config::OFFSET_STORAGE_TOPIC;

const ROLE: TopicRole = TopicRole {
    key: OFFSET_STORAGE_TOPIC,
    purpose: "source connector offsets",
    client_suffix: "offsets",
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
        let sink = Arc::new(OffsetSink {
            state: Mutex::new(OffsetState::default()),
        });
        let topic_log = TopicLog::open(log, topic, ROLE, options, sink.clone()).await?;
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

//! # sluice-log
//!
//! The log is where records wait between a source and a sink: topics split into partitions,
//! each an ordered sequence of records addressed by offset. This crate defines the log as
//! three narrow traits, shaped after Kafka's clients so that a Kafka cluster (crate
//! `sluice-kafka`) and the embedded on-disk log implement the same surface and the runtime
//! never knows which one it drives:
//!
//! - [`LogAdmin`]: create, list, describe and delete topics; read and change group offsets.
//! - [`LogProducer`]: batched sends acknowledged as a whole through a [`DeliveryFuture`];
//!   idempotent by default; transactional when given a transactional id, with consumer
//!   offsets sent inside the transaction.
//! - [`LogConsumer`]: assign partitions or subscribe with a group; poll batches; commit, seek,
//!   pause and resume; group rebalances are reported to a [`RebalanceListener`] during `poll`.
//!
//! [`Log`] makes the three clients. The embedded implementation lives in [`embedded`].
//!
//! Records cross this boundary as owned [`bytes::Bytes`]: no library lifetimes leak out.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod embedded;
mod error;
mod types;

pub use error::{LogError, LogResult};
pub use types::*;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// Resolves once every record of a sent batch is acknowledged, with one [`RecordMetadata`]
/// per record in send order, or with the first error.
pub type DeliveryFuture = Pin<Box<dyn Future<Output = LogResult<Vec<RecordMetadata>>> + Send>>;

/// Makes the clients of one log (embedded directory or Kafka cluster).
pub trait Log: Send + Sync {
    /// An admin client.
    fn admin(&self) -> Arc<dyn LogAdmin>;
    /// An admin client with these client settings (Kafka's property names) laid over the
    /// log's own admin settings: how a connector's `admin.override.*` settings reach the
    /// admin client its tasks use. A log without client settings (the embedded one) returns
    /// [`Log::admin`]; an implementation rejects a setting it cannot apply with
    /// [`LogError::InvalidConfig`] naming the key.
    fn admin_with(&self, properties: &BTreeMap<String, String>) -> LogResult<Arc<dyn LogAdmin>> {
        let _ = properties;
        Ok(self.admin())
    }
    /// A producer. With `transactional_id` set it must call
    /// [`LogProducer::init_transactions`] before sending.
    fn producer(&self, config: ProducerConfig) -> LogResult<Arc<dyn LogProducer>>;
    /// A consumer, not yet assigned or subscribed.
    fn consumer(&self, config: ConsumerConfig) -> LogResult<Box<dyn LogConsumer>>;
}

/// Topic and group administration.
#[async_trait]
pub trait LogAdmin: Send + Sync {
    /// Creates a topic; [`LogError::TopicExists`] if it exists.
    async fn create_topic(&self, topic: NewTopic) -> LogResult<()>;
    /// Deletes a topic and its data.
    async fn delete_topic(&self, name: &str) -> LogResult<()>;
    /// Names of all topics, sorted.
    async fn list_topics(&self) -> LogResult<Vec<String>>;
    /// Partitions (with their offset ranges) and settings of a topic.
    async fn describe_topic(&self, name: &str) -> LogResult<TopicDescription>;
    /// Consumer groups that have committed offsets, sorted.
    async fn list_groups(&self) -> LogResult<Vec<String>>;
    /// Committed offsets of a group (next offset to read, per partition).
    async fn group_offsets(&self, group: &str) -> LogResult<Vec<(TopicPartition, i64)>>;
    /// Sets committed offsets of a group that has no active members.
    async fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64)],
    ) -> LogResult<()>;
    /// Removes committed offsets of some partitions of a group with no active members.
    async fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> LogResult<()>;
    /// Deletes a group and all its offsets; a missing group is not an error.
    async fn delete_group(&self, group: &str) -> LogResult<()>;
}

/// Sends records. Sends are ordered per partition in call order.
#[async_trait]
pub trait LogProducer: Send + Sync {
    /// Enqueues a batch and returns a future for its acknowledgement. Records without a
    /// partition are placed by Kafka's default partitioner (murmur2 of the key; keyless
    /// records spread). The call itself does not wait for the write.
    fn send(&self, records: Vec<ProduceRecord>) -> DeliveryFuture;
    /// Sends like [`send`](Self::send), for a caller that needs to know when the batch is
    /// written but not where: the future may resolve with an empty list instead of the
    /// records' metadata. A log that gets the metadata for free keeps the default; the
    /// Kafka producer skips recording it for every record.
    fn send_without_metadata(&self, records: Vec<ProduceRecord>) -> DeliveryFuture {
        self.send(records)
    }
    /// Waits until everything sent so far is acknowledged.
    async fn flush(&self) -> LogResult<()>;
    /// Registers the transactional id, fencing older producers with the same id and
    /// aborting their open transaction.
    async fn init_transactions(&self) -> LogResult<()>;
    /// Starts a transaction; later sends belong to it.
    async fn begin_transaction(&self) -> LogResult<()>;
    /// Commits consumer offsets of `group` as part of the open transaction.
    async fn send_offsets_to_transaction(
        &self,
        offsets: &[(TopicPartition, i64)],
        group: &str,
    ) -> LogResult<()>;
    /// Makes the transaction's records and offsets visible atomically.
    async fn commit_transaction(&self) -> LogResult<()>;
    /// Discards the transaction's records and offsets.
    async fn abort_transaction(&self) -> LogResult<()>;
}

/// Called by a subscribed consumer during [`LogConsumer::poll`] when the group changes the
/// partitions it owns.
#[async_trait]
pub trait RebalanceListener: Send {
    /// Partitions are about to be taken away. Returns the offsets to commit for them; the
    /// consumer commits those before releasing the partitions.
    async fn on_partitions_revoked(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Vec<(TopicPartition, i64)>;
    /// Partitions were given to this consumer; fetching starts at their committed offsets
    /// (or per `auto_offset_reset`).
    async fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]);
}

/// A listener that ignores rebalances, for consumers without per-partition state.
pub struct NoopRebalanceListener;

#[async_trait]
impl RebalanceListener for NoopRebalanceListener {
    async fn on_partitions_revoked(&mut self, _: &[TopicPartition]) -> Vec<(TopicPartition, i64)> {
        Vec::new()
    }
    async fn on_partitions_assigned(&mut self, _: &[TopicPartition]) {}
}

/// Reads records.
#[async_trait]
pub trait LogConsumer: Send {
    /// Joins the consumer's group and follows these topics; partitions arrive through the
    /// listener given to `poll`. Needs a `group_id`.
    async fn subscribe(&mut self, subscription: Subscription) -> LogResult<()>;
    /// Reads exactly these partitions, without a group rebalance.
    async fn assign(&mut self, partitions: &[TopicPartition]) -> LogResult<()>;
    /// Returns the next records of the assigned, unpaused partitions, waiting up to
    /// `timeout` when none are ready (an empty batch then). Rebalance callbacks run here.
    async fn poll(
        &mut self,
        timeout: Duration,
        listener: &mut dyn RebalanceListener,
    ) -> LogResult<Vec<ConsumedRecord>>;
    /// Sets the next offset to read of an assigned partition.
    fn seek(&mut self, partition: &TopicPartition, to: SeekTo) -> LogResult<()>;
    /// Stops returning records of these partitions until resumed.
    fn pause(&mut self, partitions: &[TopicPartition]);
    /// Resumes paused partitions.
    fn resume(&mut self, partitions: &[TopicPartition]);
    /// Next offset to be returned for an assigned partition.
    fn position(&self, partition: &TopicPartition) -> Option<i64>;
    /// Currently assigned partitions.
    fn assignment(&self) -> Vec<TopicPartition>;
    /// Commits offsets (next offset to read) for the consumer's group and waits for it.
    async fn commit(&mut self, offsets: &[(TopicPartition, i64)]) -> LogResult<()>;
    /// The group's committed offsets of these partitions.
    async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> LogResult<Vec<(TopicPartition, Option<i64>)>>;
    /// Leaves the group (revoking through `listener`) and releases resources.
    async fn close(&mut self, listener: &mut dyn RebalanceListener) -> LogResult<()>;
}

// Fails to compile if a trait stops being object safe.
#[allow(clippy::type_complexity)]
const _: Option<(
    &dyn Log,
    &dyn LogAdmin,
    &dyn LogProducer,
    &dyn LogConsumer,
    &dyn RebalanceListener,
)> = None;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admin_with_on_the_embedded_log_is_its_admin() {
        let dir = tempfile::tempdir().unwrap();
        let log = embedded::EmbeddedLog::open(dir.path(), Default::default()).unwrap();
        let overrides: BTreeMap<String, String> =
            [("request.timeout.ms".to_string(), "1".to_string())].into();
        let admin = log.admin_with(&overrides).unwrap();
        admin.create_topic(NewTopic::new("t", 2)).await.unwrap();
        let seen = log.admin().describe_topic("t").await.unwrap();
        assert_eq!(seen.partitions.len(), 2);
    }
}

//! Plain data types exchanged with the log.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

pub use sluice_api::record::TimestampType;
pub use sluice_api::TopicPartition;

/// A record header on the log: name and raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHeader {
    /// Header name.
    pub key: String,
    /// Raw value; `None` is a null header value.
    pub value: Option<Bytes>,
}

/// A record to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceRecord {
    /// Destination topic.
    pub topic: Arc<str>,
    /// Destination partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// Key bytes.
    pub key: Option<Bytes>,
    /// Value bytes; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<LogHeader>,
    /// Create time in ms; `None` means now.
    pub timestamp: Option<i64>,
}

/// Where an acknowledged record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp stored with the record.
    pub timestamp: i64,
}

/// A record read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp in ms.
    pub timestamp: i64,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
    /// Key bytes.
    pub key: Option<Bytes>,
    /// Value bytes; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<LogHeader>,
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Number of partitions (at least 1).
    pub partitions: i32,
    /// Replication factor; the embedded log keeps one copy and ignores it.
    pub replication_factor: i16,
    /// Topic settings with Kafka's names (`cleanup.policy`, `retention.ms`,
    /// `retention.bytes`, `segment.bytes`, `segment.ms`, `delete.retention.ms`, ...).
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    /// A topic with default settings.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor: 1,
            configs: BTreeMap::new(),
        }
    }

    /// Builder-style setting.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }
}

/// A partition's offset range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionDescription {
    /// Partition number.
    pub partition: i32,
    /// First offset still held.
    pub earliest_offset: i64,
    /// Next offset to be written (the high watermark).
    pub latest_offset: i64,
}

/// What `describe_topic` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Topic name.
    pub name: String,
    /// Partitions in order.
    pub partitions: Vec<PartitionDescription>,
    /// Explicitly set topic settings.
    pub configs: BTreeMap<String, String>,
}

/// Which topics a subscribed consumer follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// These topics.
    Topics(Vec<String>),
    /// Every topic whose whole name matches this regular expression, including topics
    /// created later.
    Pattern(String),
}

/// Target of a seek.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekTo {
    /// The first offset held.
    Beginning,
    /// The next offset to be written.
    End,
    /// An exact offset.
    Offset(i64),
}

/// Where a consumer starts a partition with no committed offset (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// From the first offset held (Kafka Connect's default for sink tasks).
    #[default]
    Earliest,
    /// From the end.
    Latest,
}

/// Which records of transactional producers a consumer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Everything written, including open and aborted transactions.
    #[default]
    ReadUncommitted,
    /// Only committed transactional records (and non-transactional ones).
    ReadCommitted,
}

/// Settings of a producer.
#[derive(Debug, Clone, Default)]
pub struct ProducerConfig {
    /// Client id for logs and metrics.
    pub client_id: String,
    /// Enables transactions under this id.
    pub transactional_id: Option<String>,
    /// Extra client settings with Kafka's names (`linger.ms`, `compression.type`, ...);
    /// passed through to Kafka, and read where they mean something by the embedded log.
    pub properties: BTreeMap<String, String>,
}

/// Settings of a consumer.
#[derive(Debug, Clone, Default)]
pub struct ConsumerConfig {
    /// Client id for logs and metrics.
    pub client_id: String,
    /// Group to join on `subscribe` and to commit offsets for.
    pub group_id: Option<String>,
    /// Start position without committed offsets.
    pub auto_offset_reset: OffsetReset,
    /// Transaction visibility.
    pub isolation_level: IsolationLevel,
    /// Most records one `poll` returns.
    pub max_poll_records: usize,
    /// Extra client settings with Kafka's names.
    pub properties: BTreeMap<String, String>,
    /// Start reading the next batch as soon as `poll` hands one out, so fetching overlaps
    /// with the caller's work on it (a task that polls in a loop). Seeks, pauses, positions
    /// and rebalances behave as without it. Backends whose `poll` is cheap ignore it.
    pub read_ahead: bool,
    /// Hand out records without their headers, for a caller that never looks at them:
    /// decoding a Kafka record's headers costs about as much as copying a 100-byte value.
    pub skip_headers: bool,
}

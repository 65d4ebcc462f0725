//! Errors of the log layer, named after what failed.

use std::path::PathBuf;

/// Result alias of the log layer.
pub type LogResult<T> = std::result::Result<T, LogError>;

/// A failure of a log operation.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The topic does not exist.
    #[error("topic '{topic}' does not exist")]
    UnknownTopic {
        /// Topic name.
        topic: String,
    },
    /// The partition does not exist in the topic.
    #[error("topic '{topic}' has no partition {partition}")]
    UnknownPartition {
        /// Topic name.
        topic: String,
        /// Partition number asked for.
        partition: i32,
    },
    /// The partition is not assigned to this consumer.
    #[error("partition {topic}-{partition} is not assigned to this consumer")]
    NotAssigned {
        /// Topic name.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// A topic with this name exists already.
    #[error("topic '{topic}' already exists")]
    TopicExists {
        /// Topic name.
        topic: String,
    },
    /// A topic name or setting is invalid.
    #[error("invalid topic configuration '{key}': {message}")]
    InvalidConfig {
        /// Setting name.
        key: String,
        /// Why it is invalid.
        message: String,
    },
    /// The offset is outside the partition's range.
    #[error(
        "offset {offset} is out of range for {topic}-{partition} (valid {earliest}..{latest})"
    )]
    OffsetOutOfRange {
        /// Topic name.
        topic: String,
        /// Partition.
        partition: i32,
        /// Requested offset.
        offset: i64,
        /// First offset held.
        earliest: i64,
        /// Next offset to be written.
        latest: i64,
    },
    /// Another process holds the data directory.
    #[error("data directory '{path}' is in use by another process (lock file '{path}/.lock'); stop it or choose another directory")]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Stored data failed its checksum or could not be decoded.
    #[error("corrupt data in {path}: {message}")]
    Corrupt {
        /// File holding the data.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A transactional producer was fenced by a newer one with the same transactional id.
    #[error("producer with transactional id '{transactional_id}' was fenced by a newer instance")]
    Fenced {
        /// The transactional id.
        transactional_id: String,
    },
    /// A transaction call was made in the wrong state (e.g. commit without begin).
    #[error("transaction error: {0}")]
    Transaction(String),
    /// The group is not known.
    #[error("consumer group '{group}' does not exist")]
    UnknownGroup {
        /// Group id.
        group: String,
    },
    /// The group still has active members and cannot be changed from outside.
    #[error("consumer group '{group}' has active members")]
    GroupNotEmpty {
        /// Group id.
        group: String,
    },
    /// The log was opened read-only (another process owns the directory) and the operation
    /// would write.
    #[error("data directory '{path}' is open read-only (another process owns it); this operation must run in the owning process")]
    ReadOnly {
        /// The data directory.
        path: PathBuf,
    },
    /// The client or log was closed.
    #[error("the log client is closed")]
    Closed,
    /// A transient failure of a remote log (broker unavailable, timeout); retry may succeed.
    #[error("log temporarily unavailable: {0}")]
    Unavailable(String),
    /// A remote log (Kafka cluster) refused or failed the operation for a reason that a
    /// retry does not fix (authentication, authorization, unsupported request, ...); the
    /// message is the remote client's own.
    #[error("{0}")]
    Remote(String),
}

impl LogError {
    /// An I/O error with a description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LogError::Io {
            context: context.into(),
            source,
        }
    }

    /// True when the operation may succeed if retried.
    pub fn is_retriable(&self) -> bool {
        matches!(self, LogError::Unavailable(_))
    }
}

impl From<LogError> for sluice_api::ConnectError {
    fn from(e: LogError) -> Self {
        if e.is_retriable() {
            sluice_api::ConnectError::Retriable {
                message: e.to_string(),
                source: Some(Box::new(e)),
            }
        } else {
            sluice_api::ConnectError::Connect {
                message: e.to_string(),
                source: Some(Box::new(e)),
            }
        }
    }
}

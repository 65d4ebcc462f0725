//! The one error type of the plugin API.
//!
//! Every error is classified so the runtime can decide what to do with it:
//! [`ConnectError::Retriable`] is retried with backoff (`errors.retry.timeout`),
//! [`ConnectError::Data`] concerns one record and is subject to `errors.tolerance`,
//! [`ConnectError::Config`] names the offending key, and everything else fails the task.

use std::fmt;

/// Result alias used throughout the plugin API.
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;

/// The stage of the pipeline a record was in when an error happened.
///
/// Names match Kafka Connect's `Stage` enum, which appears in logs and DLQ headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// `SourceTask.poll`.
    TaskPoll,
    /// `SinkTask.put`.
    TaskPut,
    /// A single-message transform.
    Transformation,
    /// The key converter.
    KeyConverter,
    /// The value converter.
    ValueConverter,
    /// The header converter.
    HeaderConverter,
    /// Producing to the log.
    KafkaProduce,
    /// Consuming from the log.
    KafkaConsume,
}

impl Stage {
    /// Kafka Connect's name for the stage (`KEY_CONVERTER`, `TASK_PUT`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::TaskPoll => "TASK_POLL",
            Stage::TaskPut => "TASK_PUT",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a record sat in the log when it failed, for error messages and the DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLocation {
    /// Topic name.
    pub topic: String,
    /// Partition, when known (source records may not have one yet).
    pub partition: Option<i32>,
    /// Offset in the partition, when known (only consumed records have one).
    pub offset: Option<i64>,
}

impl fmt::Display for RecordLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "topic '{}'", self.topic)?;
        if let Some(p) = self.partition {
            write!(f, ", partition {p}")?;
        }
        if let Some(o) = self.offset {
            write!(f, ", offset {o}")?;
        }
        Ok(())
    }
}

/// Error raised by connectors, tasks, converters, transformations and the runtime.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A configuration value is missing or invalid. `key` names the config key.
    #[error("invalid configuration for '{key}': {message}")]
    Config {
        /// The offending config key.
        key: String,
        /// Why the value is unacceptable.
        message: String,
    },
    /// A record's content could not be handled (Kafka's `DataException`).
    #[error("{message}")]
    Data {
        /// What is wrong with the data.
        message: String,
    },
    /// A data error with the record's location and the pipeline stage attached by the runtime.
    #[error("{stage} failed for record at {location}: {source}")]
    Record {
        /// Pipeline stage that failed.
        stage: Stage,
        /// Where the record sits.
        location: RecordLocation,
        /// The underlying failure.
        #[source]
        source: Box<ConnectError>,
    },
    /// A transient failure (connectivity, timeouts); retrying the same operation may succeed
    /// (Kafka's `RetriableException`).
    #[error("retriable error: {message}")]
    Retriable {
        /// What failed.
        message: String,
        /// The underlying cause, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What the code was doing (e.g. `opening file '/tmp/x'`).
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Any other failure of a connector, task or the runtime (Kafka's `ConnectException`).
    #[error("{message}")]
    Connect {
        /// Human-readable description.
        message: String,
        /// The underlying cause, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ConnectError {
    /// A config error naming `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConnectError::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// A data error (bad record content).
    pub fn data(message: impl Into<String>) -> Self {
        ConnectError::Data {
            message: message.into(),
        }
    }

    /// A retriable error without a cause.
    pub fn retriable(message: impl Into<String>) -> Self {
        ConnectError::Retriable {
            message: message.into(),
            source: None,
        }
    }

    /// A general connector or runtime failure.
    pub fn connect(message: impl Into<String>) -> Self {
        ConnectError::Connect {
            message: message.into(),
            source: None,
        }
    }

    /// An I/O error with a description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ConnectError::Io {
            context: context.into(),
            source,
        }
    }

    /// Attaches the pipeline stage and record location to this error.
    pub fn at(self, stage: Stage, location: RecordLocation) -> Self {
        ConnectError::Record {
            stage,
            location,
            source: Box::new(self),
        }
    }

    /// True when retrying the failed operation may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            ConnectError::Retriable { .. } => true,
            ConnectError::Record { source, .. } => source.is_retriable(),
            _ => false,
        }
    }

    /// True when the error concerns one record's content (tolerable under `errors.tolerance=all`).
    pub fn is_data(&self) -> bool {
        match self {
            ConnectError::Data { .. } => true,
            ConnectError::Record { source, .. } => source.is_data(),
            _ => false,
        }
    }

    /// The Kafka Connect exception class name this error corresponds to, used where Kafka
    /// shows a class name (task traces, DLQ headers).
    pub fn kafka_class_name(&self) -> &'static str {
        match self {
            ConnectError::Config { .. } => "org.apache.kafka.common.config.ConfigException",
            ConnectError::Data { .. } => "org.apache.kafka.connect.errors.DataException",
            ConnectError::Record { source, .. } => source.kafka_class_name(),
            ConnectError::Retriable { .. } => "org.apache.kafka.connect.errors.RetriableException",
            ConnectError::Io { .. } | ConnectError::Connect { .. } => {
                "org.apache.kafka.connect.errors.ConnectException"
            }
        }
    }

    /// The error and its chain of causes as a multi-line trace, as shown in a failed task's
    /// status: first line `<class>: <message>`, then one `Caused by:` line per cause.
    pub fn trace(&self) -> String {
        let mut out = format!("{}: {}", self.kafka_class_name(), self);
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str("\nCaused by: ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_error_names_stage_and_location() {
        let err = ConnectError::data("bad json").at(
            Stage::ValueConverter,
            RecordLocation {
                topic: "t".into(),
                partition: Some(2),
                offset: Some(17),
            },
        );
        assert_eq!(
            err.to_string(),
            "VALUE_CONVERTER failed for record at topic 't', partition 2, offset 17: bad json"
        );
        assert!(err.is_data());
        assert!(!err.is_retriable());
        assert!(err.trace().contains("Caused by: bad json"));
    }

    #[test]
    fn config_error_names_key() {
        let err = ConnectError::config("file", "Missing required configuration");
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'file': Missing required configuration"
        );
    }
}

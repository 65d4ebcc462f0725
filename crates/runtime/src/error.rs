//! Errors of the runtime, named after what failed.
//!
//! Configuration problems are collected, never reported one at a time: a [`ConfigIssue`]
//! names one key and why it is wrong, and [`RuntimeError::InvalidConfig`] carries every issue
//! of one file so a user fixes them all in one round.

use std::fmt;
use std::path::PathBuf;

use sluice_api::ConnectError;
use sluice_log::LogError;

use crate::offsets::OffsetStoreError;

/// Result alias of the runtime.
pub type RuntimeResult<T> = std::result::Result<T, RuntimeError>;

/// One problem with one config key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The key (or, for file syntax errors, where in the file).
    pub key: String,
    /// Why it is wrong.
    pub message: String,
}

impl ConfigIssue {
    /// An issue with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every issue of one config source, printed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssues(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigIssues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "  {issue}")?;
        }
        Ok(())
    }
}

/// A failure of the worker or of loading its configuration.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A config file could not be read.
    #[error("cannot read '{}': {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A config file is not valid `.properties` or JSON, or has values of the wrong shape.
    #[error("'{}': {message}", path.display())]
    ConfigFileSyntax {
        /// The file.
        path: PathBuf,
        /// What is wrong and where (line or key).
        message: String,
    },
    /// A config failed validation; every problem is listed.
    #[error("invalid configuration in {source_name} ({} error{}):\n{issues}", issues.0.len(), if issues.0.len() == 1 { "" } else { "s" })]
    InvalidConfig {
        /// Where the config came from (file name or connector name).
        source_name: String,
        /// Every issue found.
        issues: ConfigIssues,
    },
    /// A connector with this name is already running.
    #[error("connector '{name}' already exists")]
    ConnectorExists {
        /// Connector name.
        name: String,
    },
    /// No connector of this name runs on the worker.
    #[error("connector '{name}' is not running on this worker")]
    UnknownConnector {
        /// Connector name.
        name: String,
    },
    /// No task of this id runs on the worker.
    #[error("task '{id}' is not running on this worker")]
    UnknownTask {
        /// Task id (`<connector>-<task>`).
        id: String,
    },
    /// Reading or writing source offsets failed.
    #[error(transparent)]
    Offsets(#[from] OffsetStoreError),
    /// The log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A connector or task failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

impl RuntimeError {
    /// The config issues, when this is a validation failure.
    pub fn config_issues(&self) -> Option<&[ConfigIssue]> {
        match self {
            RuntimeError::InvalidConfig { issues, .. } => Some(&issues.0),
            _ => None,
        }
    }
}

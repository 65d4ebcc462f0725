//! The standalone herder: loads and validates the worker config and connector files, then
//! runs the connectors on a [`Worker`].
//!
//! [`StandaloneSetup::load`] reads and validates everything before anything starts, and
//! reports every problem of every file at once (each naming its file and key), so a
//! `sluice standalone` with a bad config exits without touching the log or the offsets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_api::config::ConfigMap;

use crate::config_file::{load_connector_config, load_properties};
use crate::connector_config::{validate_connector_config, ConnectorConfig, ConnectorValidation};
use crate::error::{ConfigIssue, ConfigIssues, RuntimeError, RuntimeResult};
use crate::plugins::PluginRegistry;
use crate::status::ConnectorStatus;
use crate::worker::Worker;
use crate::worker_config::WorkerConfig;

/// A worker config and connector configs that passed validation.
#[derive(Debug)]
pub struct StandaloneSetup {
    /// The worker config.
    pub worker: WorkerConfig,
    /// Each connector with the file it came from.
    pub connectors: Vec<(PathBuf, ConnectorConfig)>,
}

impl StandaloneSetup {
    /// Loads and validates the worker file and every connector file. On failure, returns one
    /// error per file that has problems, each listing all of them.
    pub fn load(
        worker_file: &Path,
        connector_files: &[PathBuf],
        plugins: &PluginRegistry,
    ) -> Result<Self, Vec<RuntimeError>> {
        let mut errors = Vec::new();
        let worker = match load_properties(worker_file) {
            Ok(props) => match WorkerConfig::parse(&props, plugins) {
                Ok(w) => Some(w),
                Err(issues) => {
                    errors.push(invalid(worker_file, issues));
                    None
                }
            },
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let mut connectors: Vec<(PathBuf, ConnectorConfig)> = Vec::new();
        for file in connector_files {
            let props = match load_connector_config(file) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            match ConnectorConfig::parse(&props, plugins) {
                Ok(c) => {
                    if let Some((other, _)) = connectors.iter().find(|(_, o)| o.name == c.name) {
                        errors.push(invalid(
                            file,
                            vec![ConfigIssue::new(
                                "name",
                                format!(
                                    "connector name '{}' is already used by '{}'",
                                    c.name,
                                    other.display()
                                ),
                            )],
                        ));
                    } else {
                        connectors.push((file.clone(), c));
                    }
                }
                Err(issues) => errors.push(invalid(file, issues)),
            }
        }
        match worker {
            Some(worker) if errors.is_empty() => Ok(StandaloneSetup { worker, connectors }),
            _ => Err(errors),
        }
    }
}

fn invalid(file: &Path, issues: Vec<ConfigIssue>) -> RuntimeError {
    RuntimeError::InvalidConfig {
        source_name: format!("'{}'", file.display()),
        issues: ConfigIssues(issues),
    }
}

/// Runs connectors on one worker, without a cluster.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    plugins: Arc<PluginRegistry>,
}

impl StandaloneHerder {
    /// A herder driving `worker`.
    pub fn new(worker: Arc<Worker>, plugins: Arc<PluginRegistry>) -> Self {
        StandaloneHerder { worker, plugins }
    }

    /// The worker.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// Validates a connector config (the REST `config/validate` answer).
    pub fn validate(&self, config: &ConfigMap) -> ConnectorValidation {
        validate_connector_config(config, &self.plugins)
    }

    /// Validates and starts a connector from its raw config.
    pub async fn create_connector(&self, config: &ConfigMap) -> RuntimeResult<()> {
        let parsed = ConnectorConfig::parse(config, &self.plugins).map_err(|issues| {
            RuntimeError::InvalidConfig {
                source_name: format!(
                    "connector '{}'",
                    config.get("name").map_or("", String::as_str)
                ),
                issues: ConfigIssues(issues),
            }
        })?;
        self.worker.start_connector(parsed).await
    }

    /// Starts an already validated connector.
    pub async fn start_connector(&self, config: ConnectorConfig) -> RuntimeResult<()> {
        self.worker.start_connector(config).await
    }

    /// A connector's status with its tasks'.
    pub fn connector_status(&self, name: &str) -> Option<ConnectorStatus> {
        self.worker.connector_status(name)
    }

    /// Stops everything (see [`Worker::stop`]).
    pub async fn stop(&self) {
        self.worker.stop().await;
    }
}

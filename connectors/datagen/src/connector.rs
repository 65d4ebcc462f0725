//! DatagenConnector: checks the config and gives each of `tasks.max` tasks its own stream.

use std::sync::Arc;

use sluice_api::config::ConfigValueReport;
use sluice_api::prelude::*;

use crate::config::{self, datagen_config_def, DatagenConfig, TASK_COUNT_CONFIG};
use crate::task::{DatagenTask, ITERATION_FIELD, TASK_FIELD};

/// Generates demo records (orders, users or page views) into a topic. Each of the
/// `tasks.max` tasks generates its own stream.
#[derive(Debug, Default)]
pub struct DatagenConnector {
    config: ConfigMap,
}

#[async_trait]
impl Connector for DatagenConnector {
    fn config_def(&self) -> ConfigDef {
        datagen_config_def()
    }

    /// The declared keys' checks, plus a missing topic, `rate` together with
    /// `max.interval`, and Confluent's custom-schema keys, which are not supported.
    fn validate(&self, config: &ConfigMap) -> Vec<ConfigValueReport> {
        config::validate(config)
    }

    async fn start(
        &mut self,
        config: &ConfigMap,
        _context: Arc<dyn ConnectorContext>,
    ) -> Result<()> {
        DatagenConfig::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    /// `max_tasks` copies of the config, each told how many tasks share the work (so order
    /// ids stay unique across tasks).
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<ConfigMap>> {
        let mut task_config = self.config.clone();
        task_config.insert(TASK_COUNT_CONFIG.to_owned(), max_tasks.max(1).to_string());
        Ok(vec![task_config; max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SourceConnector for DatagenConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(DatagenTask::new())
    }

    /// A task resumes exactly at its committed count, so records and offsets can be
    /// committed together.
    fn exactly_once_support(&self, _config: &ConfigMap) -> ExactlyOnceSupport {
        ExactlyOnceSupport::Supported
    }

    /// Accepts resets (null offsets), and offsets whose `iteration` is a non-negative
    /// integer for partitions that name a `task`.
    fn alter_offsets(
        &self,
        _config: &ConfigMap,
        offsets: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<bool> {
        for (partition, offset) in offsets {
            let Some(offset) = offset else {
                continue;
            };
            match offset.get(ITERATION_FIELD).and_then(crate::integer) {
                Some(n) if n >= 0 => {}
                _ => {
                    return Err(ConnectError::connect(format!(
                        "Offset objects should either be null or contain the key \
                         '{ITERATION_FIELD}' with a non-negative integer value"
                    )))
                }
            }
            if partition.get(TASK_FIELD).and_then(crate::integer).is_none() {
                return Err(ConnectError::connect(format!(
                    "Partition objects should contain the key '{TASK_FIELD}' with the task number"
                )));
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_task_knows_the_task_count() {
        let connector = DatagenConnector {
            config: [("kafka.topic".to_string(), "t".to_string())].into(),
        };
        let configs = connector.task_configs(3).unwrap();
        assert_eq!(configs.len(), 3);
        for c in &configs {
            assert_eq!(c.get(TASK_COUNT_CONFIG).map(String::as_str), Some("3"));
            assert_eq!(c.get("kafka.topic").map(String::as_str), Some("t"));
        }
    }

    #[test]
    fn alter_offsets_checks_iterations() {
        let c = DatagenConnector::default();
        let p = OffsetMap::new().with(TASK_FIELD, 0i64);
        let ok = [
            (
                p.clone(),
                Some(OffsetMap::new().with(ITERATION_FIELD, 5i64)),
            ),
            (OffsetMap::new(), None),
        ];
        assert!(c.alter_offsets(&ConfigMap::new(), &ok).unwrap());
        let bad = c
            .alter_offsets(
                &ConfigMap::new(),
                &[(p, Some(OffsetMap::new().with(ITERATION_FIELD, -1i64)))],
            )
            .unwrap_err();
        assert!(bad.to_string().contains("non-negative integer"), "{bad}");
        let bad = c
            .alter_offsets(
                &ConfigMap::new(),
                &[(
                    OffsetMap::new().with("x", 1i64),
                    Some(OffsetMap::new().with(ITERATION_FIELD, 1i64)),
                )],
            )
            .unwrap_err();
        assert!(bad.to_string().contains("'task'"), "{bad}");
    }
}

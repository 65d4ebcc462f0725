//! FileStreamSourceConnector: its keys, its single task, and the checks on offsets a user
//! writes through the REST API.

use std::sync::Arc;

use sluice_api::prelude::*;

use crate::source_task::FileStreamSourceTask;
use crate::{configured_file, parse_config, FILE_CONFIG};

/// Key naming the topic that receives the lines.
pub const TOPIC_CONFIG: &str = "topic";
/// Key capping the records returned by one poll.
pub const TASK_BATCH_SIZE_CONFIG: &str = "batch.size";
/// Default of [`TASK_BATCH_SIZE_CONFIG`].
pub const DEFAULT_TASK_BATCH_SIZE: i32 = 2000;
/// Key of the source partition map: the file as configured.
pub const FILENAME_FIELD: &str = "filename";
/// Key of the source offset map: the byte position after the last line read.
pub const POSITION_FIELD: &str = "position";

/// The source connector's own keys.
pub fn source_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FILE_CONFIG, ConfigType::String)
                .importance(Importance::High)
                .doc(
                    "Path of the file to read line by line. An empty value (`file=`) reads \
                     standard input instead. The file may appear after the connector starts; \
                     lines appended later are read as they arrive. Unlike Kafka, the key must \
                     be present, so a forgotten `file` is an error rather than a silent read \
                     of standard input.",
                ),
        )
        .define(
            ConfigKey::new(TOPIC_CONFIG, ConfigType::String)
                .importance(Importance::High)
                .validator(Validator::NonEmptyString)
                .doc("Topic that receives one record per line."),
        )
        .define(
            ConfigKey::new(TASK_BATCH_SIZE_CONFIG, ConfigType::Int)
                .default_value(DEFAULT_TASK_BATCH_SIZE.to_string())
                .importance(Importance::Low)
                .validator(Validator::AtLeast(1))
                .doc("Largest number of lines the task hands to the runtime per poll."),
        )
}

/// The source's parsed config.
#[derive(Debug, Clone)]
pub(crate) struct SourceConfig {
    /// `None` reads standard input.
    pub(crate) file: Option<String>,
    pub(crate) topic: String,
    pub(crate) batch_size: usize,
}

impl SourceConfig {
    pub(crate) fn parse(config: &ConfigMap) -> Result<Self> {
        let parsed = parse_config(&source_config_def(), config)?;
        Ok(SourceConfig {
            file: configured_file(&parsed),
            topic: parsed.string(TOPIC_CONFIG).unwrap_or_default().to_owned(),
            batch_size: parsed
                .long(TASK_BATCH_SIZE_CONFIG)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(1)
                .max(1),
        })
    }
}

/// Reads a file (or standard input) into a topic, one record per line. Always runs exactly
/// one task, whatever `tasks.max` says: a file has one reader.
#[derive(Debug, Default)]
pub struct FileStreamSourceConnector {
    config: ConfigMap,
}

#[async_trait]
impl Connector for FileStreamSourceConnector {
    fn config_def(&self) -> ConfigDef {
        source_config_def()
    }

    async fn start(
        &mut self,
        config: &ConfigMap,
        _context: Arc<dyn ConnectorContext>,
    ) -> Result<()> {
        SourceConfig::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<ConfigMap>> {
        Ok(vec![self.config.clone()])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

impl SourceConnector for FileStreamSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(FileStreamSourceTask::new())
    }

    /// Supported for a file (positions are exact, so a restart resumes exactly); not for
    /// standard input, which cannot be re-read.
    fn exactly_once_support(&self, config: &ConfigMap) -> ExactlyOnceSupport {
        match config.get(FILE_CONFIG).map(|f| f.trim()) {
            Some(f) if !f.is_empty() => ExactlyOnceSupport::Supported,
            _ => ExactlyOnceSupport::Unsupported,
        }
    }

    /// Accepts a reset (null offset) of any partition, and otherwise an offset whose
    /// `position` is a non-negative integer for a partition that names a `filename`. Refused
    /// outright for standard input, which has no offsets.
    fn alter_offsets(
        &self,
        config: &ConfigMap,
        offsets: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<bool> {
        let stdin = config.get(FILE_CONFIG).is_none_or(|f| f.trim().is_empty());
        if stdin {
            return Err(ConnectError::connect(format!(
                "Offsets cannot be modified if the '{FILE_CONFIG}' configuration is unspecified. \
                 This is because stdin is used for input and offsets are not tracked."
            )));
        }
        for (partition, offset) in offsets {
            let Some(offset) = offset else {
                continue;
            };
            let Some(position) = offset.get(POSITION_FIELD) else {
                return Err(ConnectError::connect(format!(
                    "Offset objects should either be null or contain the key '{POSITION_FIELD}'"
                )));
            };
            let Some(position) = integer(position) else {
                return Err(ConnectError::connect(format!(
                    "The value for the '{POSITION_FIELD}' key in the offset is expected to be a Long value"
                )));
            };
            if position < 0 {
                return Err(ConnectError::connect(format!(
                    "The value for the '{POSITION_FIELD}' key in the offset should be a non-negative value"
                )));
            }
            if partition.get(FILENAME_FIELD).is_none() {
                return Err(ConnectError::connect(format!(
                    "Partition objects should contain the key '{FILENAME_FIELD}'"
                )));
            }
        }
        Ok(true)
    }
}

/// An integer offset value of any width (offsets read back from JSON are 64-bit, but values
/// built in memory may be narrower).
pub(crate) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int8(v) => Some(i64::from(*v)),
        Value::Int16(v) => Some(i64::from(*v)),
        Value::Int32(v) => Some(i64::from(*v)),
        Value::Int64(v) => Some(*v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn partition() -> OffsetMap {
        OffsetMap::new().with(FILENAME_FIELD, "/tmp/in.txt")
    }

    fn alter(file: Option<&str>, offsets: &[(OffsetMap, Option<OffsetMap>)]) -> Result<bool> {
        let mut c = config(&[("topic", "t")]);
        if let Some(f) = file {
            c.insert("file".into(), f.into());
        }
        FileStreamSourceConnector::default().alter_offsets(&c, offsets)
    }

    #[test]
    fn parses_keys_and_defaults() {
        let c = SourceConfig::parse(&config(&[("topic", " lines "), ("file", "")])).unwrap();
        assert_eq!(c.file, None);
        assert_eq!(c.topic, "lines");
        assert_eq!(c.batch_size, 2000);
        let c = SourceConfig::parse(&config(&[
            ("topic", "t"),
            ("file", "/x"),
            ("batch.size", "7"),
        ]))
        .unwrap();
        assert_eq!(c.file.as_deref(), Some("/x"));
        assert_eq!(c.batch_size, 7);
    }

    #[test]
    fn rejects_bad_keys_with_their_name() {
        let err = SourceConfig::parse(&config(&[("topic", ""), ("file", "")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'topic': Invalid value  for configuration topic: String must be non-empty"
        );
        let err = SourceConfig::parse(&config(&[
            ("topic", "t"),
            ("file", ""),
            ("batch.size", "0"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().contains("Value must be at least 1"),
            "{err}"
        );
        let err = SourceConfig::parse(&config(&[("file", "")])).unwrap_err();
        assert!(err
            .to_string()
            .contains("Missing required configuration \"topic\""));
        let err = SourceConfig::parse(&config(&[("topic", "t")])).unwrap_err();
        assert!(err
            .to_string()
            .contains("Missing required configuration \"file\""));
    }

    #[test]
    fn always_one_task_with_the_connector_config() {
        let connector = FileStreamSourceConnector {
            config: config(&[("topic", "t"), ("file", "/x"), ("tasks.max", "4")]),
        };
        let tasks = connector.task_configs(4).unwrap();
        assert_eq!(tasks, vec![connector.config.clone()]);
    }

    #[test]
    fn exactly_once_only_for_files() {
        let c = FileStreamSourceConnector::default();
        assert_eq!(
            c.exactly_once_support(&config(&[("file", "/x")])),
            ExactlyOnceSupport::Supported
        );
        assert_eq!(
            c.exactly_once_support(&config(&[("file", " ")])),
            ExactlyOnceSupport::Unsupported
        );
        assert_eq!(
            c.exactly_once_support(&config(&[])),
            ExactlyOnceSupport::Unsupported
        );
    }

    #[test]
    fn alter_offsets_accepts_positions_and_resets() {
        let ok = [
            (
                partition(),
                Some(OffsetMap::new().with(POSITION_FIELD, 10i64)),
            ),
            (
                partition(),
                Some(OffsetMap::new().with(POSITION_FIELD, 0i32)),
            ),
            (OffsetMap::new().with("garbage", 1i64), None),
        ];
        assert!(alter(Some("/tmp/in.txt"), &ok).unwrap());
        assert!(alter(Some("/tmp/in.txt"), &[]).unwrap());
    }

    #[test]
    fn alter_offsets_rejects_with_kafka_messages() {
        let stdin = alter(None, &[]).unwrap_err();
        assert_eq!(
            stdin.to_string(),
            "Offsets cannot be modified if the 'file' configuration is unspecified. This is because stdin is used for input and offsets are not tracked."
        );
        assert_eq!(
            alter(Some(""), &[]).unwrap_err().to_string(),
            stdin.to_string()
        );
        let cases: [(OffsetMap, OffsetMap, &str); 5] = [
            (
                partition(),
                OffsetMap::new().with("pos", 1i64),
                "Offset objects should either be null or contain the key 'position'",
            ),
            (
                partition(),
                OffsetMap::new().with(POSITION_FIELD, "10"),
                "The value for the 'position' key in the offset is expected to be a Long value",
            ),
            (
                partition(),
                OffsetMap::new().with(POSITION_FIELD, 1.5),
                "The value for the 'position' key in the offset is expected to be a Long value",
            ),
            (
                partition(),
                OffsetMap::new().with(POSITION_FIELD, -1i64),
                "The value for the 'position' key in the offset should be a non-negative value",
            ),
            (
                OffsetMap::new().with("file", "/tmp/in.txt"),
                OffsetMap::new().with(POSITION_FIELD, 1i64),
                "Partition objects should contain the key 'filename'",
            ),
        ];
        for (p, o, want) in cases {
            let err = alter(Some("/tmp/in.txt"), &[(p, Some(o))]).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
    }
}

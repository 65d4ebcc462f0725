//! Topic settings: validation of Kafka's topic config names and values, the effective
//! settings after applying the log's defaults, and `topic.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::EmbeddedLogOptions;
use crate::error::{LogError, LogResult};

/// Kafka's topic config names. The ones the embedded log acts on are validated and used;
/// the others (replication, compression, remote storage, ...) are accepted and stored so
/// that configs written for Kafka keep working, but have no effect here.
const KNOWN_KEYS: &[&str] = &[
    "cleanup.policy",
    "compression.type",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.difference.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.log.copy.disable",
    "remote.log.delete.on.disable",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
];

/// Smallest accepted `segment.bytes` (small values are handy in tests).
const MIN_SEGMENT_BYTES: u64 = 1024;

/// Effective settings of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicConfig {
    pub delete: bool,
    pub compact: bool,
    pub retention_ms: Option<i64>,
    pub retention_bytes: Option<i64>,
    pub segment_bytes: u64,
    pub segment_ms: Option<i64>,
    pub delete_retention_ms: i64,
    pub min_compaction_lag_ms: i64,
    pub log_append_time: bool,
    pub flush_messages: Option<u64>,
    pub flush_ms: Option<u64>,
}

/// Checks a topic name like Kafka does.
pub(crate) fn validate_topic_name(name: &str) -> LogResult<()> {
    let bad = |message: String| {
        Err(LogError::InvalidConfig {
            key: "name".into(),
            message,
        })
    };
    if name.is_empty() {
        return bad("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return bad(format!("topic name cannot be '{name}'"));
    }
    if name.len() > 249 {
        return bad(format!(
            "topic name '{name}' is {} characters long; the limit is 249",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return bad(format!(
            "topic name '{name}' contains '{c}'; only ASCII letters, digits, '.', '_' and '-' are allowed"
        ));
    }
    Ok(())
}

fn invalid(key: &str, message: impl Into<String>) -> LogError {
    LogError::InvalidConfig {
        key: key.into(),
        message: message.into(),
    }
}

fn parse_long(key: &str, v: &str, min: i64) -> LogResult<i64> {
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|e| invalid(key, format!("'{v}' is not a whole number: {e}")))?;
    if n < min {
        return Err(invalid(key, format!("{n} is below the minimum {min}")));
    }
    Ok(n)
}

/// `-1` (or any negative value Kafka accepts) means unlimited.
fn limit(n: i64) -> Option<i64> {
    (n >= 0).then_some(n)
}

impl TopicConfig {
    /// Validates explicit settings and fills in the log's defaults.
    pub fn resolve(
        configs: &BTreeMap<String, String>,
        opts: &EmbeddedLogOptions,
    ) -> LogResult<Self> {
        let mut c = TopicConfig {
            delete: true,
            compact: false,
            retention_ms: opts.retention_ms.and_then(limit),
            retention_bytes: opts.retention_bytes.and_then(limit),
            segment_bytes: opts.segment_bytes.clamp(MIN_SEGMENT_BYTES, i32::MAX as u64),
            segment_ms: None,
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
            log_append_time: false,
            flush_messages: opts.flush_interval_messages,
            flush_ms: opts.flush_interval_ms,
        };
        for (key, v) in configs {
            match key.as_str() {
                "cleanup.policy" => {
                    c.delete = false;
                    c.compact = false;
                    for p in v.split(',').map(str::trim) {
                        match p {
                            "delete" => c.delete = true,
                            "compact" => c.compact = true,
                            other => {
                                return Err(invalid(
                                    key,
                                    format!("'{other}' is not a cleanup policy; use 'delete', 'compact' or 'compact,delete'"),
                                ))
                            }
                        }
                    }
                }
                "retention.ms" => c.retention_ms = limit(parse_long(key, v, -1)?),
                "retention.bytes" => c.retention_bytes = limit(parse_long(key, v, -1)?),
                "segment.bytes" => {
                    let n = parse_long(key, v, MIN_SEGMENT_BYTES as i64)?;
                    if n > i64::from(i32::MAX) {
                        return Err(invalid(key, format!("{n} is above the maximum {}", i32::MAX)));
                    }
                    c.segment_bytes = n as u64;
                }
                "segment.ms" => c.segment_ms = Some(parse_long(key, v, 1)?),
                "delete.retention.ms" => c.delete_retention_ms = parse_long(key, v, 0)?,
                "min.compaction.lag.ms" => c.min_compaction_lag_ms = parse_long(key, v, 0)?,
                "flush.messages" => c.flush_messages = Some(parse_long(key, v, 1)? as u64),
                "flush.ms" => c.flush_ms = Some(parse_long(key, v, 0)? as u64),
                "message.timestamp.type" => match v.as_str() {
                    "CreateTime" => c.log_append_time = false,
                    "LogAppendTime" => c.log_append_time = true,
                    other => {
                        return Err(invalid(
                            key,
                            format!("'{other}' is not a timestamp type; use 'CreateTime' or 'LogAppendTime'"),
                        ))
                    }
                },
                k if KNOWN_KEYS.contains(&k) => {}
                k => return Err(invalid(k, "unknown topic config name")),
            }
        }
        Ok(c)
    }
}

/// The contents of `topic.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct TopicFile {
    pub name: String,
    pub partitions: i32,
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

impl TopicFile {
    /// Reads `DIR/topic.json`.
    pub fn read(dir: &Path) -> LogResult<TopicFile> {
        let path = dir.join("topic.json");
        let text = std::fs::read(&path)
            .map_err(|e| LogError::io(format!("reading '{}'", path.display()), e))?;
        serde_json::from_slice(&text).map_err(|e| LogError::Corrupt {
            path: path.clone(),
            message: format!("topic.json does not parse: {e}"),
        })
    }

    /// Writes `DIR/topic.json` atomically.
    pub fn write(&self, dir: &Path) -> LogResult<()> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| LogError::Corrupt {
            path: dir.join("topic.json"),
            message: format!("topic settings do not serialize: {e}"),
        })?;
        super::write_atomically(&dir.join("topic.json"), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> LogResult<TopicConfig> {
        let m = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        TopicConfig::resolve(&m, &EmbeddedLogOptions::default())
    }

    fn key_of(e: LogError) -> String {
        match e {
            LogError::InvalidConfig { key, .. } => key,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("connect-offsets").is_ok());
        assert!(validate_topic_name("a.b_C-9").is_ok());
        assert!(validate_topic_name(&"x".repeat(249)).is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "ü"] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }

    #[test]
    fn settings_parse_and_bad_ones_name_the_key() {
        let c = cfg(&[
            ("cleanup.policy", "compact,delete"),
            ("retention.ms", "-1"),
            ("retention.bytes", "1000"),
            ("segment.bytes", "4096"),
            ("min.insync.replicas", "2"),
        ])
        .unwrap();
        assert!(c.compact && c.delete);
        assert_eq!(c.retention_ms, None);
        assert_eq!(c.retention_bytes, Some(1000));
        assert_eq!(c.segment_bytes, 4096);
        let d = cfg(&[]).unwrap();
        assert!(d.delete && !d.compact);
        assert_eq!(d.retention_ms, Some(7 * 24 * 3600 * 1000));
        assert_eq!(
            key_of(cfg(&[("cleanup.policy", "shred")]).unwrap_err()),
            "cleanup.policy"
        );
        assert_eq!(
            key_of(cfg(&[("retention.ms", "soon")]).unwrap_err()),
            "retention.ms"
        );
        assert_eq!(
            key_of(cfg(&[("segment.bytes", "10")]).unwrap_err()),
            "segment.bytes"
        );
        assert_eq!(
            key_of(cfg(&[("retention.mss", "1")]).unwrap_err()),
            "retention.mss"
        );
        assert_eq!(
            key_of(cfg(&[("message.timestamp.type", "Now")]).unwrap_err()),
            "message.timestamp.type"
        );
    }
}

//! Datagen's keys, their parsing, and the checks that span several keys.
//!
//! Keys follow Confluent's datagen connector where it has one (`kafka.topic`, `quickstart`,
//! `iterations`, `max.interval`, `random.seed`), so its configs run unchanged when they use a
//! quickstart this connector has. Its keys for custom schemas are refused rather than
//! ignored.

use std::time::Duration;

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValueReport, Importance, Validator,
};
use sluice_api::{ConnectError, Result};

use crate::quickstart::Quickstart;

/// Topic the records go to.
pub const KAFKA_TOPIC_CONFIG: &str = "kafka.topic";
/// Accepted in place of `kafka.topic`.
pub const TOPIC_CONFIG: &str = "topic";
/// Which data set to generate.
pub const QUICKSTART_CONFIG: &str = "quickstart";
/// Records per task before the task stops producing.
pub const ITERATIONS_CONFIG: &str = "iterations";
/// Upper bound of the random pause before each record, in milliseconds.
pub const MAX_INTERVAL_CONFIG: &str = "max.interval";
/// Records per second per task, evenly spaced.
pub const RATE_CONFIG: &str = "rate";
/// Whether values carry a Connect schema.
pub const VALUE_SCHEMA_ENABLED_CONFIG: &str = "value.schema.enabled";
/// Seed for reproducible output.
pub const RANDOM_SEED_CONFIG: &str = "random.seed";
/// Set by the connector in each task's config: how many tasks share the work.
pub const TASK_COUNT_CONFIG: &str = "datagen.task.count";

/// Confluent datagen keys for custom schemas, which this connector does not have.
const UNSUPPORTED_KEYS: [&str; 4] = [
    "schema.filename",
    "schema.string",
    "schema.keyfield",
    "schema.string.format",
];

/// The connector's own keys.
pub fn datagen_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(KAFKA_TOPIC_CONFIG, ConfigType::String)
                .default_null()
                .importance(Importance::High)
                .validator(Validator::NonEmptyString)
                .doc("Topic that receives the generated records. Required, unless `topic` is set."),
        )
        .define(
            ConfigKey::new(TOPIC_CONFIG, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .validator(Validator::NonEmptyString)
                .doc("Another name for `kafka.topic`, used when `kafka.topic` is not set."),
        )
        .define(
            ConfigKey::new(QUICKSTART_CONFIG, ConfigType::String)
                .default_value("orders")
                .importance(Importance::High)
                .validator(Validator::OneOfIgnoreCase(Quickstart::NAMES.to_vec()))
                .doc("Data set to generate: `orders`, `users` or `pageviews` (any case)."),
        )
        .define(
            ConfigKey::new(ITERATIONS_CONFIG, ConfigType::Long)
                .default_value("-1")
                .importance(Importance::Medium)
                .doc(
                    "Records each task generates; after that the task idles. 0 or less means \
                     no limit. Counted across restarts (the count is the task's offset).",
                ),
        )
        .define(
            ConfigKey::new(MAX_INTERVAL_CONFIG, ConfigType::Long)
                .default_value("500")
                .importance(Importance::Medium)
                .validator(Validator::AtLeast(0))
                .doc(
                    "Before each record a task waits a random time between 0 and this many \
                     milliseconds, so it makes about 2000 / max.interval records per second. \
                     0 generates as fast as possible.",
                ),
        )
        .define(
            ConfigKey::new(RATE_CONFIG, ConfigType::Double)
                .default_null()
                .importance(Importance::Medium)
                .validator(Validator::Custom(positive))
                .doc(
                    "Records per second per task, evenly spaced. Replaces max.interval's \
                     random pauses; set one or the other, not both.",
                ),
        )
        .define(
            ConfigKey::new(VALUE_SCHEMA_ENABLED_CONFIG, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Medium)
                .doc(
                    "true: values are Structs with a Connect schema. false: values are \
                     schemaless maps with the same fields (timestamps as epoch \
                     milliseconds). Keys are always strings.",
                ),
        )
        .define(
            ConfigKey::new(RANDOM_SEED_CONFIG, ConfigType::Long)
                .default_null()
                .importance(Importance::Low)
                .doc(
                    "Seed for reproducible data: the same seed, quickstart and task number \
                     give the same records, also across restarts, and event times \
                     (`ordertime`, `viewtime`) follow a synthetic clock that starts at \
                     2024-01-01T00:00:00Z and advances one second per record. Unset: a \
                     random seed, and event times are the wall-clock time.",
                ),
        )
}

fn positive(_key: &str, value: &sluice_api::config::ConfigValue) -> Result<(), String> {
    match value {
        sluice_api::config::ConfigValue::Double(v) if !(*v > 0.0 && v.is_finite()) => {
            Err("Value must be a positive number".into())
        }
        _ => Ok(()),
    }
}

/// How a task spaces its records in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pacing {
    /// As fast as possible.
    Unthrottled,
    /// A uniform random pause of `0..max` before each record.
    RandomPause {
        /// Upper bound of the pause.
        max: Duration,
    },
    /// A fixed gap between records.
    Rate {
        /// Time between two records.
        gap: Duration,
    },
}

/// A parsed, checked datagen config.
#[derive(Debug, Clone)]
pub(crate) struct DatagenConfig {
    pub(crate) topic: String,
    pub(crate) quickstart: Quickstart,
    /// `None`: no limit.
    pub(crate) iterations: Option<u64>,
    pub(crate) pacing: Pacing,
    pub(crate) value_schema: bool,
    pub(crate) seed: Option<u64>,
    pub(crate) task_count: u64,
}

impl DatagenConfig {
    /// Parses the config, failing on the first problem (per-key checks first, then the
    /// checks that span keys).
    pub(crate) fn parse(config: &ConfigMap) -> Result<Self> {
        let parsed = match datagen_config_def().parse(config) {
            Ok(parsed) => parsed,
            Err(errors) => {
                return Err(errors
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| ConnectError::connect("invalid configuration")))
            }
        };
        if let Some((key, message)) = cross_key_problems(config).into_iter().next() {
            return Err(ConnectError::config(key, message));
        }
        let topic = parsed
            .string(KAFKA_TOPIC_CONFIG)
            .or_else(|| parsed.string(TOPIC_CONFIG))
            .unwrap_or_default()
            .to_owned();
        let quickstart = parsed
            .string(QUICKSTART_CONFIG)
            .and_then(Quickstart::from_name)
            .unwrap_or(Quickstart::Orders);
        let iterations = parsed
            .long(ITERATIONS_CONFIG)
            .filter(|n| *n > 0)
            .map(i64::unsigned_abs);
        let pacing = match parsed.double(RATE_CONFIG) {
            Some(rate) => Pacing::Rate {
                gap: Duration::from_secs_f64(1.0 / rate),
            },
            None => match parsed.long(MAX_INTERVAL_CONFIG).unwrap_or(0) {
                0 => Pacing::Unthrottled,
                ms => Pacing::RandomPause {
                    max: Duration::from_millis(ms.unsigned_abs()),
                },
            },
        };
        let task_count = match config.get(TASK_COUNT_CONFIG) {
            None => 1,
            Some(text) => text.trim().parse::<u64>().map_err(|e| {
                ConnectError::config(TASK_COUNT_CONFIG, format!("not a task count: {e}"))
            })?,
        };
        Ok(DatagenConfig {
            topic,
            quickstart,
            iterations,
            pacing,
            value_schema: parsed.boolean(VALUE_SCHEMA_ENABLED_CONFIG).unwrap_or(true),
            seed: parsed.long(RANDOM_SEED_CONFIG).map(|s| s as u64),
            task_count: task_count.max(1),
        })
    }
}

/// Problems no single key's declaration can see: a missing topic, `rate` together with
/// `max.interval`, and unsupported Confluent keys. Each names the key it is reported on.
pub(crate) fn cross_key_problems(config: &ConfigMap) -> Vec<(String, String)> {
    let given = |key: &str| config.contains_key(key);
    let mut problems = Vec::new();
    if !given(KAFKA_TOPIC_CONFIG) && !given(TOPIC_CONFIG) {
        problems.push((
            KAFKA_TOPIC_CONFIG.to_owned(),
            format!(
                "Missing required configuration \"{KAFKA_TOPIC_CONFIG}\" which has no default value."
            ),
        ));
    }
    if given(RATE_CONFIG) && given(MAX_INTERVAL_CONFIG) {
        problems.push((
            RATE_CONFIG.to_owned(),
            format!(
                "{RATE_CONFIG} and {MAX_INTERVAL_CONFIG} cannot both be set: {RATE_CONFIG} spaces \
                 records evenly, {MAX_INTERVAL_CONFIG} pauses a random time before each"
            ),
        ));
    }
    for key in UNSUPPORTED_KEYS.into_iter().filter(|k| given(k)) {
        problems.push((
            key.to_owned(),
            "Custom schemas are not supported; choose one of the quickstarts (orders, users, \
             pageviews)"
                .to_owned(),
        ));
    }
    problems
}

/// Validation of every declared key plus the cross-key problems, each attached to the
/// report of the key it names.
pub(crate) fn validate(config: &ConfigMap) -> Vec<ConfigValueReport> {
    let mut reports = datagen_config_def().validate(config);
    for (key, message) in cross_key_problems(config) {
        match reports.iter_mut().find(|r| r.name == key) {
            Some(report) => report.errors.push(message),
            None => reports.push(ConfigValueReport {
                name: key.clone(),
                value: config.get(&key).cloned(),
                recommended_values: Vec::new(),
                errors: vec![message],
                visible: true,
            }),
        }
    }
    reports
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

    #[test]
    fn defaults() {
        let c = DatagenConfig::parse(&config(&[("kafka.topic", "orders")])).unwrap();
        assert_eq!(c.topic, "orders");
        assert_eq!(c.quickstart, Quickstart::Orders);
        assert_eq!(c.iterations, None);
        assert_eq!(
            c.pacing,
            Pacing::RandomPause {
                max: Duration::from_millis(500)
            }
        );
        assert!(c.value_schema);
        assert_eq!(c.seed, None);
        assert_eq!(c.task_count, 1);
    }

    #[test]
    fn topic_falls_back_and_pacing_options() {
        let c = DatagenConfig::parse(&config(&[
            ("topic", "t"),
            ("quickstart", "USERS"),
            ("iterations", "10"),
            ("max.interval", "0"),
            ("value.schema.enabled", "false"),
            ("random.seed", "-3"),
        ]))
        .unwrap();
        assert_eq!(c.topic, "t");
        assert_eq!(c.quickstart, Quickstart::Users);
        assert_eq!(c.iterations, Some(10));
        assert_eq!(c.pacing, Pacing::Unthrottled);
        assert!(!c.value_schema);
        assert_eq!(c.seed, Some(-3i64 as u64));
        let c = DatagenConfig::parse(&config(&[
            ("kafka.topic", "a"),
            ("topic", "b"),
            ("rate", "4"),
        ]))
        .unwrap();
        assert_eq!(c.topic, "a");
        assert_eq!(
            c.pacing,
            Pacing::Rate {
                gap: Duration::from_millis(250)
            }
        );
    }

    #[test]
    fn errors_name_their_key() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (
                &[],
                "invalid configuration for 'kafka.topic': Missing required configuration \"kafka.topic\" which has no default value.",
            ),
            (
                &[("kafka.topic", "t"), ("quickstart", "clicks")],
                "invalid configuration for 'quickstart': Invalid value clicks for configuration quickstart: String must be one of (case insensitive): orders, users, pageviews",
            ),
            (
                &[("kafka.topic", "t"), ("max.interval", "-1")],
                "invalid configuration for 'max.interval': Invalid value -1 for configuration max.interval: Value must be at least 0",
            ),
            (
                &[("kafka.topic", "t"), ("rate", "0")],
                "invalid configuration for 'rate': Invalid value 0 for configuration rate: Value must be a positive number",
            ),
            (
                &[("kafka.topic", "t"), ("rate", "5"), ("max.interval", "100")],
                "invalid configuration for 'rate': rate and max.interval cannot both be set: rate spaces records evenly, max.interval pauses a random time before each",
            ),
            (
                &[("kafka.topic", "t"), ("schema.filename", "/x.avsc")],
                "invalid configuration for 'schema.filename': Custom schemas are not supported; choose one of the quickstarts (orders, users, pageviews)",
            ),
        ];
        for (pairs, want) in cases {
            let err = DatagenConfig::parse(&config(pairs)).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn validate_attaches_cross_key_problems() {
        let reports = validate(&config(&[
            ("rate", "5"),
            ("max.interval", "10"),
            ("schema.string", "{}"),
        ]));
        let errors = |key: &str| {
            reports
                .iter()
                .find(|r| r.name == key)
                .map(|r| r.errors.len())
                .unwrap_or(0)
        };
        assert_eq!(errors(KAFKA_TOPIC_CONFIG), 1);
        assert_eq!(errors(RATE_CONFIG), 1);
        assert_eq!(errors("schema.string"), 1);
        assert_eq!(errors(QUICKSTART_CONFIG), 0);
    }
}

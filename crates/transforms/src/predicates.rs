//! Kafka's three predicates, which decide whether a transform applies to a record (the
//! `predicate` and `negate` settings of a transform):
//!
//! - `TopicNameMatches` (`pattern`): the regular expression matches the whole topic name;
//! - `HasHeaderKey` (`name`): the record has at least one header with exactly that key;
//! - `RecordIsTombstone`: the record value is null (whatever the key and schemas).
//!
//! ```properties
//! predicates=isFoo
//! predicates.isFoo.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
//! predicates.isFoo.pattern=foo.*
//! ```

use regex::Regex;
use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValue, Importance, Validator,
};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Predicate, PredicatePlugin};

use crate::util;

const PATTERN: &str = "pattern";
const NAME: &str = "name";

/// This module's plugins.
pub(crate) fn plugins() -> Vec<PredicatePlugin> {
    vec![
        PredicatePlugin {
            class_name: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            config_def: topic_name_matches_def,
            create: TopicNameMatches::create,
        },
        PredicatePlugin {
            class_name: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
            config_def: has_header_key_def,
            create: HasHeaderKey::create,
        },
        PredicatePlugin {
            class_name: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            config_def: ConfigDef::new,
            create: RecordIsTombstone::create,
        },
    ]
}

fn topic_name_matches_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(PATTERN, ConfigType::String)
            .validator(Validator::Custom(non_empty_regex))
            .importance(Importance::Medium)
            .doc(
                "Regular expression the topic name must match, entirely (`foo` matches only \
                 the topic `foo`; use `foo.*` for every topic starting with `foo`).",
            ),
    )
}

/// `pattern` must be a non-empty, valid regular expression.
fn non_empty_regex(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value.as_str() {
        Some("") => Err("String must be non-empty".to_owned()),
        Some(pattern) => Regex::new(pattern)
            .map(|_| ())
            .map_err(|e| format!("Invalid regex: {e}")),
        None => Ok(()),
    }
}

/// `TopicNameMatches`: the whole topic matches the pattern.
#[derive(Debug)]
struct TopicNameMatches {
    /// The configured pattern anchored at both ends.
    whole: Regex,
}

impl TopicNameMatches {
    fn create(props: &ConfigMap) -> Result<Box<dyn Predicate>> {
        let config = util::parse_config(&topic_name_matches_def(), props)?;
        let pattern = config.string(PATTERN).unwrap_or_default();
        let whole = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
            ConnectError::config(
                PATTERN,
                format!("Invalid value {pattern} for configuration {PATTERN}: Invalid regex: {e}"),
            )
        })?;
        Ok(Box::new(TopicNameMatches { whole }))
    }
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        Ok(self.whole.is_match(&record.topic))
    }
}

fn has_header_key_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(NAME, ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::Medium)
            .doc("Header key to look for (exact, case-sensitive)."),
    )
}

/// `HasHeaderKey`: some header has the configured key.
#[derive(Debug)]
struct HasHeaderKey {
    name: String,
}

impl HasHeaderKey {
    fn create(props: &ConfigMap) -> Result<Box<dyn Predicate>> {
        let config = util::parse_config(&has_header_key_def(), props)?;
        Ok(Box::new(HasHeaderKey {
            name: config.string(NAME).unwrap_or_default().to_owned(),
        }))
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        Ok(record.headers.iter().any(|h| h.key == self.name))
    }
}

/// `RecordIsTombstone`: the value is null.
#[derive(Debug)]
struct RecordIsTombstone;

impl RecordIsTombstone {
    fn create(props: &ConfigMap) -> Result<Box<dyn Predicate>> {
        util::parse_config(&ConfigDef::new(), props)?;
        Ok(Box::new(RecordIsTombstone))
    }
}

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        Ok(record.value.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{Schema, SchemaType, Value};

    fn create(class: &str, pairs: &[(&str, &str)]) -> Result<Box<dyn Predicate>> {
        let plugin = plugins()
            .into_iter()
            .find(|p| p.class_name.ends_with(class))
            .unwrap();
        let props: ConfigMap = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (plugin.create)(&props)
    }

    fn on_topic(topic: &str) -> ConnectRecord {
        ConnectRecord::new(topic, None, Value::from("v"))
    }

    #[test]
    fn topic_name_matches_the_whole_topic() {
        let p = create(".TopicNameMatches", &[("pattern", "my-prefix-.*")]).unwrap();
        assert!(p.test(&on_topic("my-prefix-foo")).unwrap());
        assert!(!p.test(&on_topic("x-my-prefix-foo")).unwrap());
        let p = create(".TopicNameMatches", &[("pattern", "foo")]).unwrap();
        assert!(p.test(&on_topic("foo")).unwrap());
        assert!(!p.test(&on_topic("foobar")).unwrap());
        assert!(!p.test(&on_topic("barfoo")).unwrap());
        let p = create(".TopicNameMatches", &[("pattern", "a|ab")]).unwrap();
        assert!(
            p.test(&on_topic("ab")).unwrap(),
            "alternatives are tried for a whole match"
        );
    }

    #[test]
    fn topic_name_matches_config_errors() {
        let err = |pairs: &[(&str, &str)]| {
            create(".TopicNameMatches", pairs)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[]),
            "invalid configuration for 'pattern': Missing required configuration \"pattern\" which has no default value."
        );
        assert_eq!(
            err(&[("pattern", "")]),
            "invalid configuration for 'pattern': Invalid value  for configuration pattern: String must be non-empty"
        );
        assert!(err(&[("pattern", "[")])
            .starts_with("invalid configuration for 'pattern': Invalid value [ for configuration pattern: Invalid regex: "));
    }

    #[test]
    fn has_header_key() {
        let p = create(".HasHeaderKey", &[("name", "my-header")]).unwrap();
        let mut record = on_topic("t");
        assert!(!p.test(&record).unwrap());
        record.headers.add_string("other", "x");
        record.headers.add_string("My-Header", "x");
        assert!(!p.test(&record).unwrap(), "keys compare exactly");
        record.headers.add("my-header", None, Value::Null);
        assert!(p.test(&record).unwrap(), "a null header value still counts");
        record.headers.add_string("my-header", "again");
        assert!(p.test(&record).unwrap());
        let err = create(".HasHeaderKey", &[("name", "")])
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'name': Invalid value  for configuration name: String must be non-empty"
        );
    }

    #[test]
    fn record_is_tombstone() {
        let p = create(".RecordIsTombstone", &[]).unwrap();
        assert!(!p.test(&on_topic("t")).unwrap());
        let mut tombstone =
            ConnectRecord::new("t", Some(Schema::optional(SchemaType::String)), Value::Null);
        tombstone.key = Value::from("k");
        assert!(p.test(&tombstone).unwrap());
        assert!(p.test(&ConnectRecord::new("t", None, Value::Null)).unwrap());
    }
}

//! `RegexRouter`: renames the topic when it matches a regular expression.
//!
//! When `regex` matches the **whole** topic name, the topic becomes the topic with its first
//! match of `regex` replaced by `replacement`; otherwise the record passes unchanged. The
//! replacement follows Java's `Matcher.replaceFirst`: `$1` (or `$12`, as long as such a group
//! exists) inserts a numbered group, `${name}` a named group, `\` makes the next character
//! literal (`\$` for a dollar sign). Partition, key, value, timestamp and headers stay as they
//! are.
//!
//! ```properties
//! transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
//! transforms.route.regex=(.*)-(\d\d\d\d\d\d\d\d)
//! transforms.route.replacement=$1
//! ```
//!
//! With those settings `index-20160117` becomes `index`.
//!
//! The expression is compiled by Rust's `regex` crate, which reads Java's common syntax
//! (classes, groups, `(?<name>...)`, reluctant quantifiers, flags) but not look-around, back
//! references or possessive quantifiers; those are reported when the transform is configured.
//! A replacement that refers to a group the expression lacks is reported then too (Java fails
//! each matching record instead).

use std::sync::{Arc, Mutex};

use regex::Regex;
use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::util;

const REGEX: &str = "regex";
const REPLACEMENT: &str = "replacement";

/// This module's plugin.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![TransformationPlugin {
        class_name: "org.apache.kafka.connect.transforms.RegexRouter",
        config_def,
        create: RegexRouter::create,
    }]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(REGEX, ConfigType::String)
                .validator(Validator::Regex)
                .importance(Importance::High)
                .doc(
                    "Regular expression the whole topic name must match for the record to be \
                     renamed (`orders` matches only the topic `orders`; `orders.*` every topic \
                     starting with it).",
                ),
        )
        .define(
            ConfigKey::new(REPLACEMENT, ConfigType::String)
                .importance(Importance::High)
                .doc(
                    "The new topic name, with Java replacement syntax: `$1` inserts the first \
                     group of the match, `${name}` a named group, `\\$` a dollar sign.",
                ),
        )
}

/// A piece of the replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
}

/// Splits a Java replacement string into text and group references, checking the references
/// against the expression's groups; the error is Java's message.
fn parse_replacement(replacement: &str, regex: &Regex) -> std::result::Result<Vec<Piece>, String> {
    let group_count = regex.captures_len() - 1;
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => text.push(escaped),
                None => return Err("character to be escaped is missing".into()),
            },
            '$' => {
                let group = match chars.next() {
                    None => {
                        return Err("Illegal group reference: group index is missing".into());
                    }
                    Some('{') => {
                        let mut name = String::new();
                        while let Some(&c) = chars.peek() {
                            if !c.is_ascii_alphanumeric() {
                                break;
                            }
                            name.push(c);
                            chars.next();
                        }
                        if name.is_empty() {
                            return Err("named capturing group has 0 length name".into());
                        }
                        if chars.next() != Some('}') {
                            return Err("named capturing group is missing trailing '}'".into());
                        }
                        if name.starts_with(|c: char| c.is_ascii_digit()) {
                            return Err(format!(
                                "capturing group name {{{name}}} starts with digit character"
                            ));
                        }
                        regex
                            .capture_names()
                            .position(|n| n == Some(name.as_str()))
                            .ok_or_else(|| format!("No group with name {{{name}}}"))?
                    }
                    Some(d) => {
                        let mut group = d
                            .to_digit(10)
                            .ok_or_else(|| "Illegal group reference".to_string())?
                            as usize;
                        // Further digits belong to the reference while such a group exists.
                        while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                            let longer = group * 10 + next as usize;
                            if longer > group_count {
                                break;
                            }
                            group = longer;
                            chars.next();
                        }
                        if group > group_count {
                            return Err(format!("No group {group}"));
                        }
                        group
                    }
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Group(group));
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The last topic seen and what it became, since records of one topic come in runs.
#[derive(Debug, Default)]
struct LastTopic {
    topic: Option<Arc<str>>,
    /// `None` when the topic did not match.
    routed: Option<Arc<str>>,
}

/// The configured transform.
#[derive(Debug)]
struct RegexRouter {
    /// The expression as configured, to find the first match.
    regex: Regex,
    /// The expression anchored at both ends, to test the whole topic.
    whole: Regex,
    replacement: Vec<Piece>,
    last: Mutex<LastTopic>,
}

impl RegexRouter {
    fn create(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&config_def(), props)?;
        let pattern = config.string(REGEX).unwrap_or_default();
        let invalid = |e: regex::Error| {
            ConnectError::config(
                REGEX,
                format!("Invalid value {pattern} for configuration {REGEX}: Invalid regex: {e}"),
            )
        };
        let regex = Regex::new(pattern).map_err(invalid)?;
        let whole = Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(invalid)?;
        let replacement_text = config.string(REPLACEMENT).unwrap_or_default();
        let replacement = parse_replacement(replacement_text, &regex).map_err(|reason| {
            ConnectError::config(
                REPLACEMENT,
                format!(
                    "Invalid value {replacement_text} for configuration {REPLACEMENT}: {reason}"
                ),
            )
        })?;
        Ok(Box::new(RegexRouter {
            regex,
            whole,
            replacement,
            last: Mutex::new(LastTopic::default()),
        }))
    }

    /// The new name of `topic`, or `None` when the whole topic does not match.
    fn rename(&self, topic: &str) -> Option<String> {
        if !self.whole.is_match(topic) {
            return None;
        }
        let captures = self.regex.captures(topic)?;
        let whole_match = captures.get(0)?;
        let mut out = String::with_capacity(topic.len() + 16);
        out.push_str(&topic[..whole_match.start()]);
        for piece in &self.replacement {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Group(i) => {
                    if let Some(group) = captures.get(*i) {
                        out.push_str(group.as_str());
                    }
                }
            }
        }
        out.push_str(&topic[whole_match.end()..]);
        Some(out)
    }
}

impl Transformation for RegexRouter {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let seen = last
            .topic
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, &record.topic) || **t == *record.topic);
        if !seen {
            let routed = self.rename(&record.topic).map(Arc::<str>::from);
            *last = LastTopic {
                topic: Some(record.topic.clone()),
                routed,
            };
        }
        if let Some(routed) = &last.routed {
            record.topic = routed.clone();
        }
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::Value;

    fn router(regex: &str, replacement: &str) -> Box<dyn Transformation> {
        let props = ConfigMap::from([
            (REGEX.to_string(), regex.to_string()),
            (REPLACEMENT.to_string(), replacement.to_string()),
        ]);
        RegexRouter::create(&props).unwrap()
    }

    fn route(regex: &str, replacement: &str, topic: &str) -> String {
        let mut record = ConnectRecord::new(topic, None, Value::from("v"));
        record.kafka_partition = Some(1);
        record.timestamp = Some(5);
        record.key = Value::from("k");
        let out = router(regex, replacement)
            .apply_owned(record)
            .unwrap()
            .unwrap();
        assert_eq!(out.kafka_partition, Some(1));
        assert_eq!(out.timestamp, Some(5));
        assert_eq!(out.key, Value::from("k"));
        assert_eq!(out.value, Value::from("v"));
        out.topic.to_string()
    }

    #[test]
    fn kafka_examples() {
        assert_eq!(route("foo", "bar", "foo"), "bar");
        assert_eq!(route("foo", "bar", "orig"), "orig");
        assert_eq!(route("(.*)", "prefix-$1", "orig"), "prefix-orig");
        assert_eq!(
            route(r"(.*)-(\d\d\d\d\d\d\d\d)", "$1", "index-20160117"),
            "index"
        );
    }

    #[test]
    fn only_whole_topic_matches_count() {
        assert_eq!(route("foo", "bar", "foobar"), "foobar");
        assert_eq!(route("o+", "0", "foo"), "foo");
    }

    #[test]
    fn replaces_the_first_match_as_java_does() {
        // The whole topic matches, but the first (reluctant) match is empty: Java inserts the
        // replacement at the start and keeps the topic.
        assert_eq!(route("a*?", "X", "aaa"), "Xaaa");
        assert_eq!(route("(a)(b)?", "[$1|$2]", "a"), "[a|]");
        // The whole topic matches through `ab`, but the first match is `a`.
        assert_eq!(route("a|ab", "X", "ab"), "Xb");
    }

    #[test]
    fn java_replacement_syntax() {
        assert_eq!(route("(.*)", r"\$1-$1", "t"), "$1-t");
        assert_eq!(route("(?<name>.*)", "x-${name}", "t"), "x-t");
        assert_eq!(route("(.*)", r"a\\b", "t"), r"a\b");
        // `$10` is group 1 then `0` when there is no group 10.
        assert_eq!(route("(.*)", "$10", "t"), "t0");
        assert_eq!(
            route("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)", "$10-$1", "abcdefghij"),
            "j-a"
        );
    }

    #[test]
    fn runs_of_one_topic_reuse_the_new_name() {
        let x = router("(.*)", "new-$1");
        let a = x
            .apply_owned(ConnectRecord::new("t", None, Value::Null))
            .unwrap()
            .unwrap();
        let b = x
            .apply_owned(ConnectRecord::new("t", None, Value::Null))
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&a.topic, &b.topic));
        let c = x
            .apply_owned(ConnectRecord::new("u", None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(&*c.topic, "new-u");
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = |regex: &str, replacement: &str| {
            let props = ConfigMap::from([
                (REGEX.to_string(), regex.to_string()),
                (REPLACEMENT.to_string(), replacement.to_string()),
            ]);
            RegexRouter::create(&props)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert!(err("(", "x").starts_with(
            "invalid configuration for 'regex': Invalid value ( for configuration regex: Invalid regex:"
        ));
        assert_eq!(
            err("(.*)", "$2"),
            "invalid configuration for 'replacement': Invalid value $2 for configuration \
             replacement: No group 2"
        );
        assert_eq!(
            err("(.*)", "a$"),
            "invalid configuration for 'replacement': Invalid value a$ for configuration \
             replacement: Illegal group reference: group index is missing"
        );
        assert!(err("(.*)", "$x").ends_with(": Illegal group reference"));
        assert!(err("(.*)", "a\\").ends_with(": character to be escaped is missing"));
        assert!(err("(.*)", "${nope}").ends_with(": No group with name {nope}"));
        assert!(err("(.*)", "${}").ends_with(": named capturing group has 0 length name"));
        assert!(err("(.*)", "${a").ends_with(": named capturing group is missing trailing '}'"));
        assert!(err("(.*)", "${1a}")
            .ends_with(": capturing group name {1a} starts with digit character"));
        let missing = RegexRouter::create(&ConfigMap::new())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "invalid configuration for 'regex': Missing required configuration \"regex\" which \
             has no default value."
        );
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(names, ["org.apache.kafka.connect.transforms.RegexRouter"]);
    }
}

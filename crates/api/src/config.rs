//! Config declarations: each component declares its keys once, and that declaration drives
//! parsing, validation (with Kafka's `ConfigDef` error texts), the REST `config/validate`
//! answer and the generated reference docs.
//!
//! ```
//! use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, ConfigMap};
//!
//! let def = ConfigDef::new()
//!     .define(ConfigKey::new("topic", ConfigType::String)
//!         .importance(Importance::High)
//!         .doc("The topic to publish data to"));
//! let mut props = ConfigMap::new();
//! props.insert("topic".into(), "lines".into());
//! let parsed = def.parse(&props).unwrap();
//! assert_eq!(parsed.string("topic"), Some("lines"));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::error::ConnectError;

/// A raw config: string keys to string values, as in JSON connector configs and `.properties`.
pub type ConfigMap = BTreeMap<String, String>;

/// The type of a config value (Kafka's `ConfigDef.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `true`/`false`, case-insensitive.
    Boolean,
    /// Any string, trimmed.
    String,
    /// 32-bit integer.
    Int,
    /// 16-bit integer.
    Short,
    /// 64-bit integer.
    Long,
    /// 64-bit float.
    Double,
    /// Comma-separated list.
    List,
    /// A plugin class name or alias.
    Class,
    /// A secret string, shown as `[hidden]`.
    Password,
}

impl ConfigType {
    /// Kafka's upper-case type name, used by the REST API.
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

/// How important a key is to set (Kafka's `Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// HIGH.
    High,
    /// MEDIUM.
    Medium,
    /// LOW.
    Low,
}

impl Importance {
    /// Kafka's name.
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// Display width hint (Kafka's `Width`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// NONE.
    None,
    /// SHORT.
    Short,
    /// MEDIUM.
    Medium,
    /// LONG.
    Long,
}

impl Width {
    /// Kafka's name.
    pub fn name(self) -> &'static str {
        match self {
            Width::None => "NONE",
            Width::Short => "SHORT",
            Width::Medium => "MEDIUM",
            Width::Long => "LONG",
        }
    }
}

/// The default of a key.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigDefault {
    /// No default: the key must be given.
    Required,
    /// Defaults to null (absent) without being required.
    Null,
    /// Defaults to this text, parsed like a given value.
    Value(String),
}

/// A check on a parsed value; returns the reason it is unacceptable.
pub type CustomValidator = fn(key: &str, value: &ConfigValue) -> Result<(), String>;

/// Value checks with Kafka's standard messages.
#[derive(Debug, Clone)]
pub enum Validator {
    /// Number at least this (`Value must be at least N`).
    AtLeast(i64),
    /// Number within bounds (`Value must be no more than N` / `at least N`).
    Between(i64, i64),
    /// One of these strings, exactly (`String must be one of: a, b`).
    OneOf(Vec<&'static str>),
    /// One of these strings ignoring case (`String must be one of (case insensitive): A, B`).
    OneOfIgnoreCase(Vec<&'static str>),
    /// A non-empty string (`String must be non-empty`).
    NonEmptyString,
    /// A string with no ISO control characters and not empty (connector names).
    NonEmptyStringWithoutControlChars,
    /// A regular expression that compiles.
    Regex,
    /// Any other check.
    Custom(CustomValidator),
}

impl Validator {
    /// Applies the check.
    pub fn check(&self, key: &str, value: &ConfigValue) -> Result<(), String> {
        let number = match value {
            ConfigValue::Int(v) => Some(i64::from(*v)),
            ConfigValue::Short(v) => Some(i64::from(*v)),
            ConfigValue::Long(v) => Some(*v),
            _ => None,
        };
        match self {
            Validator::AtLeast(min) => match (number, value) {
                (Some(n), _) if n < *min => Err(format!("Value must be at least {min}")),
                (None, ConfigValue::Double(d)) if *d < *min as f64 => {
                    Err(format!("Value must be at least {min}"))
                }
                _ => Ok(()),
            },
            Validator::Between(min, max) => match number {
                Some(n) if n < *min => Err(format!("Value must be at least {min}")),
                Some(n) if n > *max => Err(format!("Value must be no more than {max}")),
                _ => Ok(()),
            },
            Validator::OneOf(allowed) => match value.as_str() {
                Some(s) if allowed.contains(&s) => Ok(()),
                None if value.is_null() => Ok(()),
                _ => Err(format!("String must be one of: {}", allowed.join(", "))),
            },
            Validator::OneOfIgnoreCase(allowed) => match value.as_str() {
                Some(s) if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => Ok(()),
                None if value.is_null() => Ok(()),
                _ => Err(format!(
                    "String must be one of (case insensitive): {}",
                    allowed.join(", ")
                )),
            },
            Validator::NonEmptyString => match value.as_str() {
                Some("") => Err("String must be non-empty".into()),
                _ => Ok(()),
            },
            Validator::NonEmptyStringWithoutControlChars => match value.as_str() {
                Some("") | None => Err("String may not be empty".into()),
                Some(s) => {
                    let bad: Vec<String> = s
                        .chars()
                        .filter(|c| c.is_control())
                        .map(|c| (c as u32).to_string())
                        .collect();
                    if bad.is_empty() {
                        Ok(())
                    } else {
                        Err(format!(
                            "String may not contain control sequences but had the following ASCII chars: {}",
                            bad.join(", ")
                        ))
                    }
                }
            },
            Validator::Regex => match value.as_str() {
                Some(s) if !s.is_empty() => regex::Regex::new(s)
                    .map(|_| ())
                    .map_err(|e| format!("Invalid regex: {e}")),
                _ => Ok(()),
            },
            Validator::Custom(f) => f(key, value),
        }
    }
}

/// One declared key.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The dotted key name.
    pub name: String,
    /// Value type.
    pub config_type: ConfigType,
    /// Default, or required.
    pub default: ConfigDefault,
    /// Importance.
    pub importance: Importance,
    /// Documentation shown by `config/validate` and in generated docs.
    pub documentation: String,
    /// Group name (e.g. `Common`).
    pub group: Option<String>,
    /// Position within the group.
    pub order_in_group: i32,
    /// Display width hint.
    pub width: Width,
    /// Human-readable name.
    pub display_name: String,
    /// Keys whose validity depends on this one.
    pub dependents: Vec<String>,
    /// Value check.
    pub validator: Option<Validator>,
}

impl ConfigKey {
    /// Declares a required key of this type; adjust it with the builder methods.
    pub fn new(name: impl Into<String>, config_type: ConfigType) -> Self {
        let name = name.into();
        ConfigKey {
            display_name: name.clone(),
            name,
            config_type,
            default: ConfigDefault::Required,
            importance: Importance::Medium,
            documentation: String::new(),
            group: None,
            order_in_group: -1,
            width: Width::None,
            dependents: Vec::new(),
            validator: None,
        }
    }

    /// Sets a default value (as text, parsed like a given value).
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default = ConfigDefault::Value(value.into());
        self
    }

    /// Makes the key optional with a null default.
    pub fn default_null(mut self) -> Self {
        self.default = ConfigDefault::Null;
        self
    }

    /// Sets the importance.
    pub fn importance(mut self, importance: Importance) -> Self {
        self.importance = importance;
        self
    }

    /// Sets the documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.documentation = doc.into();
        self
    }

    /// Places the key in a group at a position.
    pub fn group(mut self, group: impl Into<String>, order: i32) -> Self {
        self.group = Some(group.into());
        self.order_in_group = order;
        self
    }

    /// Sets the display width.
    pub fn width(mut self, width: Width) -> Self {
        self.width = width;
        self
    }

    /// Sets the display name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    /// Sets the validator.
    pub fn validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// True when the key has no default.
    pub fn is_required(&self) -> bool {
        self.default == ConfigDefault::Required
    }

    /// The default as text, `None` when required or null.
    pub fn default_text(&self) -> Option<&str> {
        match &self.default {
            ConfigDefault::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// A parsed config value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// Absent (null default).
    Null,
    /// BOOLEAN.
    Boolean(bool),
    /// STRING.
    String(String),
    /// INT.
    Int(i32),
    /// SHORT.
    Short(i16),
    /// LONG.
    Long(i64),
    /// DOUBLE.
    Double(f64),
    /// LIST.
    List(Vec<String>),
    /// CLASS: the name as given.
    Class(String),
    /// PASSWORD: never displayed.
    Password(Password),
}

impl ConfigValue {
    /// True for [`ConfigValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, ConfigValue::Null)
    }

    /// The text of a STRING or CLASS value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ConfigValue::String(s) | ConfigValue::Class(s) => Some(s),
            _ => None,
        }
    }

    /// The value re-rendered as text, as `config/validate` shows it (lists joined with `,`,
    /// passwords as `[hidden]`); `None` for null.
    pub fn display(&self) -> Option<String> {
        Some(match self {
            ConfigValue::Null => return None,
            ConfigValue::Boolean(b) => b.to_string(),
            ConfigValue::String(s) | ConfigValue::Class(s) => s.clone(),
            ConfigValue::Int(v) => v.to_string(),
            ConfigValue::Short(v) => v.to_string(),
            ConfigValue::Long(v) => v.to_string(),
            ConfigValue::Double(v) => v.to_string(),
            ConfigValue::List(items) => items.join(","),
            ConfigValue::Password(_) => Password::HIDDEN.to_string(),
        })
    }
}

/// A secret config value. `Debug` and `Display` print `[hidden]`.
#[derive(Clone, PartialEq)]
pub struct Password(String);

impl Password {
    /// What is shown instead of the secret.
    pub const HIDDEN: &'static str = "[hidden]";

    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Password(secret.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn value(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::HIDDEN)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::HIDDEN)
    }
}

/// The validation result for one key, in the shape of Kafka's `ConfigValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigValueReport {
    /// Key name.
    pub name: String,
    /// The value as text (`[hidden]` for passwords), `None` when null.
    pub value: Option<String>,
    /// Suggested values.
    pub recommended_values: Vec<String>,
    /// Every problem found with the value.
    pub errors: Vec<String>,
    /// Whether the key is relevant given the other values.
    pub visible: bool,
}

/// A config that passed validation, with typed accessors.
#[derive(Debug, Clone, Default)]
pub struct ParsedConfig {
    values: BTreeMap<String, ConfigValue>,
    originals: ConfigMap,
}

impl ParsedConfig {
    /// The parsed value of a declared key.
    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.values.get(key)
    }

    /// A STRING or CLASS value; `None` when null or undeclared.
    pub fn string(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(ConfigValue::as_str)
    }

    /// A BOOLEAN value.
    pub fn boolean(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            ConfigValue::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// An INT, SHORT or LONG value widened to i64.
    pub fn long(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            ConfigValue::Int(v) => Some(i64::from(*v)),
            ConfigValue::Short(v) => Some(i64::from(*v)),
            ConfigValue::Long(v) => Some(*v),
            _ => None,
        }
    }

    /// An INT value.
    pub fn int(&self, key: &str) -> Option<i32> {
        match self.get(key)? {
            ConfigValue::Int(v) => Some(*v),
            ConfigValue::Short(v) => Some(i32::from(*v)),
            _ => None,
        }
    }

    /// A DOUBLE value.
    pub fn double(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            ConfigValue::Double(v) => Some(*v),
            _ => None,
        }
    }

    /// A LIST value (empty when null).
    pub fn list(&self, key: &str) -> &[String] {
        match self.get(key) {
            Some(ConfigValue::List(items)) => items,
            _ => &[],
        }
    }

    /// A PASSWORD value.
    pub fn password(&self, key: &str) -> Option<&Password> {
        match self.get(key)? {
            ConfigValue::Password(p) => Some(p),
            _ => None,
        }
    }

    /// The raw map the config was parsed from, including undeclared keys.
    pub fn originals(&self) -> &ConfigMap {
        &self.originals
    }

    /// Raw entries whose key starts with `prefix`, with the prefix stripped
    /// (e.g. `value.converter.` → the converter's own keys).
    pub fn originals_with_prefix(&self, prefix: &str) -> ConfigMap {
        strip_prefix(&self.originals, prefix)
    }
}

/// Entries of `map` whose key starts with `prefix`, with the prefix stripped.
pub fn strip_prefix(map: &ConfigMap, prefix: &str) -> ConfigMap {
    map.range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
        .collect()
}

/// The declared keys of one component, in definition order.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    /// No keys.
    pub fn new() -> Self {
        ConfigDef::default()
    }

    /// Adds a key (replacing an earlier declaration of the same name).
    pub fn define(mut self, key: ConfigKey) -> Self {
        self.keys.retain(|k| k.name != key.name);
        self.keys.push(key);
        self
    }

    /// Adds every key of another definition that this one lacks.
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for key in &other.keys {
            if self.key(&key.name).is_none() {
                self.keys.push(key.clone());
            }
        }
        self
    }

    /// The declared keys in order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// Looks up a key declaration.
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Validates every declared key and reports all problems at once, one report per key in
    /// definition order. Undeclared keys are not reported.
    pub fn validate(&self, props: &ConfigMap) -> Vec<ConfigValueReport> {
        self.keys
            .iter()
            .map(|key| {
                let (value, errors) = match parse_key(key, props.get(&key.name)) {
                    Ok(v) => (v.display(), Vec::new()),
                    Err(e) => (
                        props.get(&key.name).map(|raw| {
                            if key.config_type == ConfigType::Password {
                                Password::HIDDEN.to_string()
                            } else {
                                raw.trim().to_string()
                            }
                        }),
                        vec![e],
                    ),
                };
                ConfigValueReport {
                    name: key.name.clone(),
                    value,
                    recommended_values: Vec::new(),
                    errors,
                    visible: true,
                }
            })
            .collect()
    }

    /// Parses every declared key. On failure returns one [`ConnectError::Config`] per bad key.
    pub fn parse(&self, props: &ConfigMap) -> Result<ParsedConfig, Vec<ConnectError>> {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for key in &self.keys {
            match parse_key(key, props.get(&key.name)) {
                Ok(v) => {
                    values.insert(key.name.clone(), v);
                }
                Err(message) => errors.push(ConnectError::config(key.name.clone(), message)),
            }
        }
        if errors.is_empty() {
            Ok(ParsedConfig {
                values,
                originals: props.clone(),
            })
        } else {
            Err(errors)
        }
    }
}

/// Parses one key's raw value (or its default), returning Kafka's error text on failure.
fn parse_key(key: &ConfigKey, raw: Option<&String>) -> Result<ConfigValue, String> {
    let value = match raw {
        Some(text) => parse_value(key, text)?,
        None => match &key.default {
            ConfigDefault::Required => {
                return Err(format!(
                    "Missing required configuration \"{}\" which has no default value.",
                    key.name
                ))
            }
            ConfigDefault::Null => ConfigValue::Null,
            ConfigDefault::Value(text) => parse_value(key, text)?,
        },
    };
    if let Some(validator) = &key.validator {
        validator
            .check(&key.name, &value)
            .map_err(|reason| invalid(&key.name, raw.map(String::as_str), &reason))?;
    }
    Ok(value)
}

fn invalid(key: &str, raw: Option<&str>, reason: &str) -> String {
    format!(
        "Invalid value {} for configuration {key}: {reason}",
        raw.map(str::trim).unwrap_or("null")
    )
}

/// Parses text as the key's type (Kafka's `ConfigDef.parseType`).
pub fn parse_value(key: &ConfigKey, text: &str) -> Result<ConfigValue, String> {
    let t = text.trim();
    let name = &key.name;
    Ok(match key.config_type {
        ConfigType::Boolean => {
            if t.eq_ignore_ascii_case("true") {
                ConfigValue::Boolean(true)
            } else if t.eq_ignore_ascii_case("false") {
                ConfigValue::Boolean(false)
            } else {
                return Err(invalid(
                    name,
                    Some(t),
                    "Expected value to be either true or false",
                ));
            }
        }
        ConfigType::String => ConfigValue::String(t.to_string()),
        ConfigType::Password => ConfigValue::Password(Password::new(t)),
        ConfigType::Class => ConfigValue::Class(t.to_string()),
        ConfigType::Int => ConfigValue::Int(
            t.parse()
                .map_err(|_| invalid(name, Some(t), "Not a number of type INT"))?,
        ),
        ConfigType::Short => ConfigValue::Short(
            t.parse()
                .map_err(|_| invalid(name, Some(t), "Not a number of type SHORT"))?,
        ),
        ConfigType::Long => ConfigValue::Long(
            t.parse()
                .map_err(|_| invalid(name, Some(t), "Not a number of type LONG"))?,
        ),
        ConfigType::Double => ConfigValue::Double(
            t.parse()
                .map_err(|_| invalid(name, Some(t), "Not a number of type DOUBLE"))?,
        ),
        ConfigType::List => ConfigValue::List(parse_list(t)),
    })
}

/// Splits a LIST value on commas, trimming items and keeping empty ones; blank is empty.
pub fn parse_list(text: &str) -> Vec<String> {
    let t = text.trim();
    if t.is_empty() {
        Vec::new()
    } else {
        t.split(',').map(|s| s.trim().to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new("topic", ConfigType::String).validator(Validator::NonEmptyString),
            )
            .define(
                ConfigKey::new("batch.size", ConfigType::Int)
                    .default_value("2000")
                    .validator(Validator::AtLeast(1)),
            )
            .define(ConfigKey::new("file", ConfigType::String).default_null())
            .define(ConfigKey::new("enabled", ConfigType::Boolean).default_value("true"))
            .define(ConfigKey::new("topics", ConfigType::List).default_value(""))
            .define(ConfigKey::new("secret", ConfigType::Password).default_null())
    }

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_typed_values_and_defaults() {
        let p = def()
            .parse(&map(&[
                ("topic", " t "),
                ("enabled", "FALSE"),
                ("topics", "a, b,,c"),
            ]))
            .unwrap();
        assert_eq!(p.string("topic"), Some("t"));
        assert_eq!(p.int("batch.size"), Some(2000));
        assert_eq!(p.string("file"), None);
        assert_eq!(p.boolean("enabled"), Some(false));
        assert_eq!(p.list("topics"), ["a", "b", "", "c"]);
    }

    #[test]
    fn reports_every_error_with_kafka_text() {
        let errs = def()
            .parse(&map(&[("batch.size", "0"), ("enabled", "yes")]))
            .unwrap_err();
        let texts: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            texts,
            [
                "invalid configuration for 'topic': Missing required configuration \"topic\" which has no default value.",
                "invalid configuration for 'batch.size': Invalid value 0 for configuration batch.size: Value must be at least 1",
                "invalid configuration for 'enabled': Invalid value yes for configuration enabled: Expected value to be either true or false",
            ]
        );
    }

    #[test]
    fn validate_hides_passwords_and_counts_errors() {
        let reports = def().validate(&map(&[("topic", ""), ("secret", "s3cr3t")]));
        let topic = reports.iter().find(|r| r.name == "topic").unwrap();
        assert_eq!(
            topic.errors,
            ["Invalid value  for configuration topic: String must be non-empty"]
        );
        let secret = reports.iter().find(|r| r.name == "secret").unwrap();
        assert_eq!(secret.value.as_deref(), Some("[hidden]"));
        assert_eq!(format!("{:?}", Password::new("x")), "[hidden]");
    }

    #[test]
    fn strip_prefix_selects_only_prefixed_keys() {
        let m = map(&[
            ("value.converter", "x"),
            ("value.converter.schemas.enable", "false"),
            ("value.converterz", "y"),
        ]);
        assert_eq!(
            strip_prefix(&m, "value.converter."),
            map(&[("schemas.enable", "false")])
        );
    }
}

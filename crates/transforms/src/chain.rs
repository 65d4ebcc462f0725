//! A connector's chain of transformations, built from its config, and the validation of the
//! transformation and predicate part of that config.
//!
//! The config follows Kafka Connect:
//!
//! ```properties
//! transforms=dropFoo,route
//! transforms.dropFoo.type=org.apache.kafka.connect.transforms.Filter
//! transforms.dropFoo.predicate=isFoo
//! transforms.route.type=RegexRouter
//! transforms.route.regex=(.*)
//! transforms.route.replacement=$1-copy
//! transforms.route.negate=false
//! predicates=isFoo
//! predicates.isFoo.type=TopicNameMatches
//! predicates.isFoo.pattern=foo
//! ```
//!
//! Each alias in `transforms` is one stage, run in list order. `transforms.<alias>.type`
//! names the plugin (class name or alias) and `transforms.<alias>.<key>` are its own settings
//! (passed to it with the prefix stripped). A stage with `transforms.<alias>.predicate` runs
//! its transformation only when the predicate's answer differs from
//! `transforms.<alias>.negate` (default false); otherwise the record passes unchanged. A
//! transformation that returns `None` drops the record: later stages never see it.
//! Predicates are declared the same way under `predicates`.
//!
//! Plugins are found through a [`PluginLookup`], so this crate does not depend on the
//! runtime's registry: the runtime implements the trait for its registry, and [`PluginList`]
//! serves tests, benchmarks and tools with plain lists.
//!
//! [`validate_chain_config`] checks everything at once and reports every problem with its
//! full key name (`transforms.<alias>.<key>`), in the shape of the REST `config/validate`
//! answer; [`TransformChain::from_config`] builds the chain from a config that passes.
//!
//! ```
//! use sluice_api::config::ConfigMap;
//! use sluice_transforms::chain::{PluginList, TransformChain};
//!
//! let config = ConfigMap::new(); // no `transforms`: the empty chain
//! let chain = TransformChain::from_config(&config, &PluginList::builtin()).unwrap();
//! assert!(chain.is_empty());
//! ```

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use sluice_api::config::{
    parse_list, strip_prefix, ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValueReport,
    Importance,
};
use sluice_api::error::ConnectError;
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{
    Outcome, Predicate, PredicatePlugin, Transformation, TransformationPlugin,
};

/// Connector key listing the transformation aliases.
pub const TRANSFORMS: &str = "transforms";
/// Connector key listing the predicate aliases.
pub const PREDICATES: &str = "predicates";
/// Per-alias key naming the plugin class.
pub const TYPE: &str = "type";
/// Per-transformation key naming the predicate alias that gates it.
pub const PREDICATE: &str = "predicate";
/// Per-transformation key inverting the predicate.
pub const NEGATE: &str = "negate";

/// Finds transformation and predicate plugins by class name or alias.
pub trait PluginLookup {
    /// The transformation plugin `name` stands for, or why there is none (e.g.
    /// `Class Foo could not be found.`).
    fn transformation(&self, name: &str) -> Result<TransformationPlugin, String>;
    /// The predicate plugin `name` stands for, or why there is none.
    fn predicate(&self, name: &str) -> Result<PredicatePlugin, String>;
}

/// Plugins given as plain lists, found by full class name or by the part after the last `.`
/// (`Cast$Value`, `RegexRouter`, `TopicNameMatches`) when that names exactly one plugin.
#[derive(Clone, Default)]
pub struct PluginList {
    /// Transformation plugins.
    pub transformations: Vec<TransformationPlugin>,
    /// Predicate plugins.
    pub predicates: Vec<PredicatePlugin>,
}

impl PluginList {
    /// Every plugin of this crate.
    pub fn builtin() -> Self {
        PluginList {
            transformations: crate::transformations(),
            predicates: crate::predicates(),
        }
    }
}

impl fmt::Debug for PluginList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginList")
            .field(
                "transformations",
                &self
                    .transformations
                    .iter()
                    .map(|p| p.class_name)
                    .collect::<Vec<_>>(),
            )
            .field(
                "predicates",
                &self
                    .predicates
                    .iter()
                    .map(|p| p.class_name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The part of a class name after its last `.`: `Cast$Value` for
/// `org.apache.kafka.connect.transforms.Cast$Value`.
fn short_name(class_name: &str) -> &str {
    class_name.rsplit('.').next().unwrap_or(class_name)
}

fn find_in<T: Copy>(
    items: &[T],
    class: impl Fn(&T) -> &'static str,
    name: &str,
) -> Result<T, String> {
    let name = name.trim();
    if let Some(p) = items.iter().find(|p| class(p) == name) {
        return Ok(*p);
    }
    let mut matches = items.iter().filter(|p| short_name(class(p)) == name);
    match (matches.next(), matches.next()) {
        (Some(p), None) => Ok(*p),
        _ => Err(format!("Class {name} could not be found.")),
    }
}

impl PluginLookup for PluginList {
    fn transformation(&self, name: &str) -> Result<TransformationPlugin, String> {
        find_in(&self.transformations, |p| p.class_name, name)
    }

    fn predicate(&self, name: &str) -> Result<PredicatePlugin, String> {
        find_in(&self.predicates, |p| p.class_name, name)
    }
}

/// A transformation or predicate failed on a record; names the stage.
#[derive(Debug, thiserror::Error)]
pub struct TransformError {
    /// Alias of the failing stage (`transforms.<alias>`).
    pub alias: String,
    /// Class name of the stage's transformation.
    pub class_name: &'static str,
    /// Alias and class name of the stage's predicate, when the predicate failed.
    pub predicate: Option<(String, &'static str)>,
    /// What the transformation or predicate raised, unchanged: Kafka's exception, which
    /// the dead-letter queue headers describe (message, class, trace) without the alias.
    #[source]
    pub source: Box<ConnectError>,
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.predicate {
            Some((alias, class)) => write!(
                f,
                "predicate '{alias}' ({class}) of transformation '{}' failed: {}",
                self.alias, self.source
            ),
            None => write!(
                f,
                "transformation '{}' ({}) failed: {}",
                self.alias, self.class_name, self.source
            ),
        }
    }
}

impl TransformError {
    /// A [`ConnectError`] of the same kind (data, retriable, ...) whose message names the
    /// stage (alias and class), for the runtime to attach the record's location to: what the
    /// task's failure trace and the error log line show. The dead-letter headers describe
    /// [`source`](TransformError::source) instead, as Kafka's do.
    pub fn into_connect_error(self) -> ConnectError {
        let message = self.to_string();
        match *self.source {
            ConnectError::Data { .. } => ConnectError::Data { message },
            ConnectError::Retriable { source, .. } => ConnectError::Retriable { message, source },
            ConnectError::Connect { source, .. } => ConnectError::Connect { message, source },
            other => ConnectError::Connect {
                message,
                source: Some(Box::new(other)),
            },
        }
    }
}

/// A predicate gating one stage.
struct StagePredicate {
    alias: String,
    class_name: &'static str,
    predicate: Arc<dyn Predicate>,
    negate: bool,
}

/// One configured transformation.
struct TransformStage {
    alias: String,
    class_name: &'static str,
    transform: Box<dyn Transformation>,
    predicate: Option<StagePredicate>,
}

impl TransformStage {
    fn error(&self, source: ConnectError) -> TransformError {
        TransformError {
            alias: self.alias.clone(),
            class_name: self.class_name,
            predicate: None,
            source: Box::new(source),
        }
    }
}

/// The transformations of a connector, in order. Cheap to run when empty: [`apply`] then
/// returns the record as it came.
///
/// [`apply`]: TransformChain::apply
#[derive(Default)]
pub struct TransformChain {
    stages: Vec<TransformStage>,
}

impl fmt::Debug for TransformChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.stages.iter().map(|s| (&s.alias, s.class_name)))
            .finish()
    }
}

impl TransformChain {
    /// A chain without stages.
    pub fn empty() -> Self {
        TransformChain::default()
    }

    /// Builds the chain of a connector config. On failure returns every problem as a
    /// [`ConnectError::Config`] naming the full key (`transforms.<alias>.<key>`).
    pub fn from_config(
        config: &ConfigMap,
        plugins: &dyn PluginLookup,
    ) -> Result<Self, Vec<ConnectError>> {
        let (reports, stages) = assemble(config, plugins);
        let errors: Vec<ConnectError> = reports
            .into_iter()
            .flat_map(|r| {
                let key = r.name;
                r.errors
                    .into_iter()
                    .map(move |m| ConnectError::config(key.clone(), m))
            })
            .collect();
        if errors.is_empty() {
            Ok(TransformChain { stages })
        } else {
            Err(errors)
        }
    }

    /// True when there are no stages.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Number of stages.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// The stage aliases, in order.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.stages.iter().map(|s| s.alias.as_str())
    }

    /// Runs the record through every stage: the transformed record, or `None` when a stage
    /// dropped it. The first failure stops the chain and names its stage.
    pub fn apply(
        &self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, TransformError> {
        Ok(match self.apply_in_place(&mut record)? {
            Outcome::Keep => Some(record),
            Outcome::Drop => {
                crate::util::discard_contents(&mut record);
                None
            }
        })
    }

    /// Runs the record through every stage in place: [`Outcome::Drop`] when a stage dropped
    /// it (the record is then left as that stage received it). The first failure stops the
    /// chain and names its stage; the record may then be partly transformed.
    pub fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<Outcome, TransformError> {
        for stage in &self.stages {
            if let Some(p) = &stage.predicate {
                let matched = p.predicate.test(record).map_err(|source| TransformError {
                    alias: stage.alias.clone(),
                    class_name: stage.class_name,
                    predicate: Some((p.alias.clone(), p.class_name)),
                    source: Box::new(source),
                })?;
                if matched == p.negate {
                    continue;
                }
            }
            match stage.transform.apply(record) {
                Ok(Outcome::Keep) => {}
                Ok(Outcome::Drop) => return Ok(Outcome::Drop),
                Err(e) => return Err(stage.error(e)),
            }
        }
        Ok(Outcome::Keep)
    }
}

/// Validates the `transforms` and `predicates` part of a connector config: the alias lists,
/// each alias's `type`, `predicate` and `negate`, and each plugin's own keys, which are
/// reported under their full names (`transforms.<alias>.<key>`) with Kafka's texts. Every
/// plugin whose declared keys are valid is also instantiated, so problems only its factory
/// finds (a bad `spec`, a bad date format) are reported too. Other keys are not looked at.
///
/// Returns one report per key looked at, in config order; a report without errors is valid.
pub fn validate_chain_config(
    config: &ConfigMap,
    plugins: &dyn PluginLookup,
) -> Vec<ConfigValueReport> {
    assemble(config, plugins).0
}

/// The keys Kafka adds for every transformation alias.
fn stage_keys_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(TYPE, ConfigType::Class)
                .importance(Importance::High)
                .doc("Class name or alias of the transformation."),
        )
        .define(
            ConfigKey::new(PREDICATE, ConfigType::String)
                .default_null()
                .importance(Importance::Medium)
                .doc("Alias of the predicate (listed in 'predicates') that decides whether the transformation applies to a record."),
        )
        .define(
            ConfigKey::new(NEGATE, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .doc("Apply the transformation to records that do not match the predicate instead of those that do."),
        )
}

/// The declaration with every key name prefixed, so that Kafka's texts name the full key.
fn prefixed(def: &ConfigDef, prefix: &str) -> ConfigDef {
    def.keys().iter().fold(ConfigDef::new(), |out, key| {
        let mut key = key.clone();
        key.name = format!("{prefix}{}", key.name);
        key.display_name = key.name.clone();
        out.define(key)
    })
}

/// Collects reports by key name, merging errors of the same key.
#[derive(Default)]
struct Reports(Vec<ConfigValueReport>);

impl Reports {
    fn merge(&mut self, report: ConfigValueReport) {
        match self.0.iter_mut().find(|r| r.name == report.name) {
            Some(existing) => {
                for e in report.errors {
                    if !existing.errors.contains(&e) {
                        existing.errors.push(e);
                    }
                }
            }
            None => self.0.push(report),
        }
    }

    fn error(&mut self, key: &str, value: Option<&String>, message: impl Into<String>) {
        self.merge(ConfigValueReport {
            name: key.to_string(),
            value: value.map(|v| v.trim().to_string()),
            recommended_values: Vec::new(),
            errors: vec![message.into()],
            visible: true,
        });
    }

    fn has_errors_under(&self, prefix: &str) -> bool {
        self.0
            .iter()
            .any(|r| r.name.starts_with(prefix) && !r.errors.is_empty())
    }
}

/// Rewrites a plugin's own config error so key and message name the full key.
fn prefix_config_error(prefix: &str, error: ConnectError) -> (String, String) {
    match error {
        ConnectError::Config { key, message } => {
            let full = if key.starts_with(prefix) {
                key.clone()
            } else {
                format!("{prefix}{key}")
            };
            let message = message
                .replace(
                    &format!("for configuration {key}:"),
                    &format!("for configuration {full}:"),
                )
                .replace(&format!("\"{key}\""), &format!("\"{full}\""));
            (full, message)
        }
        other => (format!("{prefix}{TYPE}"), other.to_string()),
    }
}

/// Aliases of a list key, each once; a repeated alias is reported on the list key.
fn aliases(config: &ConfigMap, list_key: &str, reports: &mut Reports) -> Vec<String> {
    let listed = parse_list(config.get(list_key).map_or("", String::as_str));
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(listed.len());
    for alias in listed {
        if seen.insert(alias.clone()) {
            out.push(alias);
        } else {
            reports.error(list_key, config.get(list_key), "Duplicate alias provided.");
        }
    }
    out
}

/// Validates every key and builds what validates; the stages are complete only when no
/// report has errors.
fn assemble(
    config: &ConfigMap,
    plugins: &dyn PluginLookup,
) -> (Vec<ConfigValueReport>, Vec<TransformStage>) {
    let mut reports = Reports::default();
    let transform_aliases = aliases(config, TRANSFORMS, &mut reports);
    let predicate_aliases = aliases(config, PREDICATES, &mut reports);

    let mut predicates: Vec<(String, &'static str, Arc<dyn Predicate>)> = Vec::new();
    for alias in &predicate_aliases {
        let prefix = format!("{PREDICATES}.{alias}.");
        let type_def = prefixed(
            &ConfigDef::new().define(
                ConfigKey::new(TYPE, ConfigType::Class)
                    .importance(Importance::High)
                    .doc("Class name or alias of the predicate."),
            ),
            &prefix,
        );
        for r in type_def.validate(config) {
            reports.merge(r);
        }
        let Some(class) = plugin_class(config, &prefix) else {
            continue;
        };
        let plugin = match plugins.predicate(class) {
            Ok(p) => p,
            Err(reason) => {
                let key = format!("{prefix}{TYPE}");
                reports.error(
                    &key,
                    config.get(&key),
                    format!("Invalid value {class} for configuration {key}: {reason}"),
                );
                continue;
            }
        };
        for r in prefixed(&(plugin.config_def)(), &prefix).validate(config) {
            reports.merge(r);
        }
        if reports.has_errors_under(&prefix) {
            continue;
        }
        match (plugin.create)(&strip_prefix(config, &prefix)) {
            Ok(p) => predicates.push((alias.clone(), plugin.class_name, Arc::from(p))),
            Err(e) => {
                let (key, message) = prefix_config_error(&prefix, e);
                reports.error(&key, config.get(&key), message);
            }
        }
    }

    let mut stages = Vec::with_capacity(transform_aliases.len());
    for alias in &transform_aliases {
        let prefix = format!("{TRANSFORMS}.{alias}.");
        for r in prefixed(&stage_keys_def(), &prefix).validate(config) {
            reports.merge(r);
        }
        let gate = stage_predicate(
            config,
            alias,
            &prefix,
            &predicate_aliases,
            &predicates,
            &mut reports,
        );
        let Some(class) = plugin_class(config, &prefix) else {
            continue;
        };
        let plugin = match plugins.transformation(class) {
            Ok(p) => p,
            Err(reason) => {
                let key = format!("{prefix}{TYPE}");
                reports.error(
                    &key,
                    config.get(&key),
                    format!("Invalid value {class} for configuration {key}: {reason}"),
                );
                continue;
            }
        };
        for r in prefixed(&(plugin.config_def)(), &prefix).validate(config) {
            reports.merge(r);
        }
        if reports.has_errors_under(&prefix) {
            continue;
        }
        match (plugin.create)(&strip_prefix(config, &prefix)) {
            Ok(transform) => stages.push(TransformStage {
                alias: alias.clone(),
                class_name: plugin.class_name,
                transform,
                predicate: gate,
            }),
            Err(e) => {
                let (key, message) = prefix_config_error(&prefix, e);
                reports.error(&key, config.get(&key), message);
            }
        }
    }
    (reports.0, stages)
}

/// The trimmed `type` of an alias (its absence is reported by the declaration; a blank one is
/// a class that cannot be found).
fn plugin_class<'a>(config: &'a ConfigMap, prefix: &str) -> Option<&'a str> {
    config.get(&format!("{prefix}{TYPE}")).map(|c| c.trim())
}

/// The predicate gating a transformation alias, checking `predicate` and `negate`.
fn stage_predicate(
    config: &ConfigMap,
    alias: &str,
    prefix: &str,
    listed: &[String],
    built: &[(String, &'static str, Arc<dyn Predicate>)],
    reports: &mut Reports,
) -> Option<StagePredicate> {
    let predicate_key = format!("{prefix}{PREDICATE}");
    let negate_key = format!("{prefix}{NEGATE}");
    let name = config
        .get(&predicate_key)
        .map(|p| p.trim())
        .filter(|p| !p.is_empty());
    let Some(name) = name else {
        if config.contains_key(&negate_key) {
            reports.error(
                &negate_key,
                config.get(&negate_key),
                format!(
                    "Config '{negate_key}' was provided but there is no config \
                     '{predicate_key}' defining a predicate to be negated."
                ),
            );
        }
        return None;
    };
    if !listed.iter().any(|p| p == name) {
        reports.error(
            &predicate_key,
            config.get(&predicate_key),
            format!(
                "Invalid value {name} for configuration {predicate_key}: the predicate alias \
                 '{name}' of transformation '{alias}' is not listed in '{PREDICATES}'"
            ),
        );
        return None;
    }
    let negate = config
        .get(&negate_key)
        .is_some_and(|n| n.trim().eq_ignore_ascii_case("true"));
    // A listed predicate that failed to build has its own errors reported.
    built
        .iter()
        .find(|(a, _, _)| a == name)
        .map(|(a, class_name, predicate)| StagePredicate {
            alias: a.clone(),
            class_name,
            predicate: predicate.clone(),
            negate,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::config::Validator;
    use sluice_api::data::Value;
    use sluice_api::Result;

    /// Appends its `tag` to a string value; fails on a null value.
    struct Tag(String);

    impl Transformation for Tag {
        fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
            match &mut record.value {
                Value::String(s) => s.push_str(&self.0),
                _ => return Err(ConnectError::data("no string to tag")),
            }
            Ok(Outcome::Keep)
        }
    }

    struct Drop;

    impl Transformation for Drop {
        fn apply(&self, _record: &mut ConnectRecord) -> Result<Outcome> {
            Ok(Outcome::Drop)
        }
    }

    /// True when the topic equals `topic`; fails on topic `boom`.
    struct TopicIs(String);

    impl Predicate for TopicIs {
        fn test(&self, record: &ConnectRecord) -> Result<bool> {
            if &*record.topic == "boom" {
                return Err(ConnectError::data("cannot test"));
            }
            Ok(*record.topic == *self.0)
        }
    }

    fn tag_def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new("tag", ConfigType::String).validator(Validator::NonEmptyString))
            .define(ConfigKey::new("mode", ConfigType::String).default_value("plain"))
    }

    fn tag_create(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
        if props.get("mode").map(String::as_str) == Some("bad") {
            return Err(ConnectError::config(
                "mode",
                "Invalid value bad for configuration mode: not a mode",
            ));
        }
        Ok(Box::new(Tag(props["tag"].clone())))
    }

    fn plugins() -> PluginList {
        PluginList {
            transformations: vec![
                TransformationPlugin {
                    class_name: "test.Tag$Value",
                    config_def: tag_def,
                    create: tag_create,
                },
                TransformationPlugin {
                    class_name: "test.Tag$Key",
                    config_def: tag_def,
                    create: tag_create,
                },
                TransformationPlugin {
                    class_name: "test.Drop",
                    config_def: ConfigDef::new,
                    create: |_| Ok(Box::new(Drop)),
                },
            ],
            predicates: vec![PredicatePlugin {
                class_name: "test.predicates.TopicIs",
                config_def: || ConfigDef::new().define(ConfigKey::new("topic", ConfigType::String)),
                create: |props| Ok(Box::new(TopicIs(props["topic"].clone()))),
            }],
        }
    }

    fn config(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn record(topic: &str, value: &str) -> ConnectRecord {
        ConnectRecord::new(topic, None, Value::from(value))
    }

    fn errors(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        validate_chain_config(&config(pairs), &plugins())
            .into_iter()
            .flat_map(|r| {
                let name = r.name;
                r.errors.into_iter().map(move |e| (name.clone(), e))
            })
            .collect()
    }

    #[test]
    fn stages_run_in_order_and_short_names_resolve() {
        let chain = TransformChain::from_config(
            &config(&[
                ("transforms", "a, b"),
                ("transforms.a.type", "test.Tag$Value"),
                ("transforms.a.tag", "-1"),
                ("transforms.b.type", " Tag$Value "),
                ("transforms.b.tag", "-2"),
            ]),
            &plugins(),
        )
        .unwrap();
        assert_eq!(chain.aliases().collect::<Vec<_>>(), ["a", "b"]);
        let out = chain.apply(record("t", "x")).unwrap().unwrap();
        assert_eq!(out.value, Value::from("x-1-2"));
    }

    #[test]
    fn predicate_gates_a_stage_and_negate_inverts_it() {
        for (negate, topic, expected) in [
            (None, "foo", "x!"),
            (None, "bar", "x"),
            (Some("false"), "foo", "x!"),
            (Some("true"), "foo", "x"),
            (Some("true"), "bar", "x!"),
        ] {
            let mut pairs = vec![
                ("transforms", "t"),
                ("transforms.t.type", "test.Tag$Value"),
                ("transforms.t.tag", "!"),
                ("transforms.t.predicate", "isFoo"),
                ("predicates", "isFoo"),
                ("predicates.isFoo.type", "TopicIs"),
                ("predicates.isFoo.topic", "foo"),
            ];
            if let Some(n) = negate {
                pairs.push(("transforms.t.negate", n));
            }
            let chain = TransformChain::from_config(&config(&pairs), &plugins()).unwrap();
            let out = chain.apply(record(topic, "x")).unwrap().unwrap();
            assert_eq!(
                out.value,
                Value::from(expected),
                "negate={negate:?} topic={topic}"
            );
        }
    }

    #[test]
    fn a_dropped_record_stops_the_chain() {
        let chain = TransformChain::from_config(
            &config(&[
                ("transforms", "drop,tag"),
                ("transforms.drop.type", "test.Drop"),
                ("transforms.tag.type", "test.Tag$Value"),
                ("transforms.tag.tag", "!"),
            ]),
            &plugins(),
        )
        .unwrap();
        // The tag stage would fail on a null value; it never runs.
        let out = chain
            .apply(ConnectRecord::new("t", None, Value::Null))
            .unwrap();
        assert!(out.is_none());
    }

    #[test]
    fn errors_name_the_failing_stage() {
        let chain = TransformChain::from_config(
            &config(&[
                ("transforms", "ok,tag"),
                ("transforms.ok.type", "test.Tag$Key"),
                ("transforms.ok.tag", "k"),
                ("transforms.ok.predicate", "p"),
                ("transforms.tag.type", "test.Tag$Value"),
                ("transforms.tag.tag", "!"),
                ("predicates", "p"),
                ("predicates.p.type", "test.predicates.TopicIs"),
                ("predicates.p.topic", "never"),
            ]),
            &plugins(),
        )
        .unwrap();
        let err = chain
            .apply(ConnectRecord::new("t", None, Value::Null))
            .unwrap_err();
        assert_eq!(err.alias, "tag");
        assert_eq!(
            err.to_string(),
            "transformation 'tag' (test.Tag$Value) failed: no string to tag"
        );
        // What the stage raised stays as it was, without the alias (the dead-letter headers).
        assert!(err.source.is_data());
        assert_eq!(err.source.to_string(), "no string to tag");
        let converted = err.into_connect_error();
        assert!(converted.is_data(), "the kind is kept");
        assert_eq!(
            converted.to_string(),
            "transformation 'tag' (test.Tag$Value) failed: no string to tag"
        );

        let err = chain.apply(record("boom", "x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "predicate 'p' (test.predicates.TopicIs) of transformation 'ok' failed: cannot test"
        );
        assert_eq!(err.source.to_string(), "cannot test");
    }

    #[test]
    fn no_transforms_is_the_empty_chain() {
        let chain =
            TransformChain::from_config(&config(&[("transforms", "")]), &plugins()).unwrap();
        assert!(chain.is_empty());
        let r = record("t", "x");
        assert_eq!(chain.apply(r.clone()).unwrap(), Some(r));
    }

    #[test]
    fn validation_reports_every_problem_with_the_full_key() {
        let found = errors(&[
            (
                "transforms",
                "a,a,missing,unknown,bad,negated,gated,broken,blank",
            ),
            ("transforms.blank.type", " "),
            ("transforms.a.type", "test.Tag$Value"),
            ("transforms.unknown.type", "NoSuchThing"),
            ("transforms.bad.type", "test.Tag$Value"),
            ("transforms.bad.tag", ""),
            ("transforms.negated.type", "test.Drop"),
            ("transforms.negated.negate", "true"),
            ("transforms.gated.type", "test.Drop"),
            ("transforms.gated.predicate", "nope"),
            ("transforms.gated.negate", "maybe"),
            ("transforms.broken.type", "test.Tag$Value"),
            ("transforms.broken.tag", "x"),
            ("transforms.broken.mode", "bad"),
            ("predicates", "p"),
            ("predicates.p.type", "test.predicates.TopicIs"),
        ]);
        let expected = [
            ("transforms", "Duplicate alias provided."),
            (
                "predicates.p.topic",
                "Missing required configuration \"predicates.p.topic\" which has no default value.",
            ),
            (
                "transforms.a.tag",
                "Missing required configuration \"transforms.a.tag\" which has no default value.",
            ),
            (
                "transforms.missing.type",
                "Missing required configuration \"transforms.missing.type\" which has no default value.",
            ),
            (
                "transforms.unknown.type",
                "Invalid value NoSuchThing for configuration transforms.unknown.type: Class NoSuchThing could not be found.",
            ),
            (
                "transforms.bad.tag",
                "Invalid value  for configuration transforms.bad.tag: String must be non-empty",
            ),
            (
                "transforms.negated.negate",
                "Config 'transforms.negated.negate' was provided but there is no config 'transforms.negated.predicate' defining a predicate to be negated.",
            ),
            (
                "transforms.gated.negate",
                "Invalid value maybe for configuration transforms.gated.negate: Expected value to be either true or false",
            ),
            (
                "transforms.gated.predicate",
                "Invalid value nope for configuration transforms.gated.predicate: the predicate alias 'nope' of transformation 'gated' is not listed in 'predicates'",
            ),
            (
                "transforms.broken.mode",
                "Invalid value bad for configuration transforms.broken.mode: not a mode",
            ),
            (
                "transforms.blank.type",
                "Invalid value  for configuration transforms.blank.type: Class  could not be found.",
            ),
        ];
        for (key, message) in expected {
            assert!(
                found.iter().any(|(k, m)| k == key && m == message),
                "missing {key}: {message}\nfound: {found:#?}"
            );
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");

        let err = TransformChain::from_config(
            &config(&[("transforms", "x"), ("transforms.x.type", "Nope")]),
            &plugins(),
        )
        .unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(matches!(&err[0], ConnectError::Config { key, .. } if key == "transforms.x.type"));
    }

    #[test]
    fn valid_configs_report_values_without_errors() {
        let reports = validate_chain_config(
            &config(&[
                ("transforms", "a"),
                ("transforms.a.type", "test.Tag$Value"),
                ("transforms.a.tag", "t"),
            ]),
            &plugins(),
        );
        assert!(reports.iter().all(|r| r.errors.is_empty()), "{reports:#?}");
        let tag = reports
            .iter()
            .find(|r| r.name == "transforms.a.tag")
            .unwrap();
        assert_eq!(tag.value.as_deref(), Some("t"));
        let negate = reports
            .iter()
            .find(|r| r.name == "transforms.a.negate")
            .unwrap();
        assert_eq!(negate.value.as_deref(), Some("false"));
    }

    #[test]
    fn ambiguous_short_names_are_not_found() {
        let mut list = plugins();
        list.transformations.push(TransformationPlugin {
            class_name: "other.Drop",
            config_def: ConfigDef::new,
            create: |_| Ok(Box::new(Drop)),
        });
        assert_eq!(
            list.transformation("Drop").err().unwrap(),
            "Class Drop could not be found."
        );
        assert!(list.transformation("other.Drop").is_ok());
    }
}

//! Connector config validation: the keys every connector has (Kafka's `ConnectorConfig`,
//! `SinkConnectorConfig`, `SourceConnectorConfig`) merged with the connector's own.
//!
//! [`validate_connector_config`] is pure (it instantiates the connector only to ask for its
//! own validation) and reports every problem at once, one [`ConfigValueReport`] per key in the
//! shape of the REST `config/validate` answer. [`ConnectorConfig::parse`] turns a valid config
//! into what the worker needs to run it.
//!
//! Transformations and predicates (`transforms.*`, `predicates.*`) are checked by
//! [`sluice_transforms::validate_chain_config`]: every alias, class and plugin key, each
//! reported under its full name.
//!
//! The `errors.*` keys (retries, tolerance, error log, dead-letter queue) are declared with
//! Kafka's names and defaults and run by [`crate::error_handling`]. Features a later release
//! adds (topic creation) are declared too, and a config that asks for them is rejected with a
//! "not supported yet" message rather than silently run without them.

use std::collections::BTreeMap;

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValueReport, Importance, Validator,
};
use sluice_api::connector::{
    ConnectorFactory, ConnectorPlugin, ConnectorTransactionBoundaries, ExactlyOnceSupport,
};
use sluice_api::converter::ConverterType;
use sluice_log::Subscription;

use crate::error::ConfigIssue;
use crate::exactly_once::{
    ExactlyOnceSourceSupport, EXACTLY_ONCE_SUPPORT, OFFSETS_STORAGE_TOPIC, TRANSACTION_BOUNDARY,
    TRANSACTION_BOUNDARY_INTERVAL_MS,
};
use crate::plugins::PluginRegistry;
use crate::worker_config::ConverterSpec;

/// Connector key: the connector's name.
pub const NAME: &str = "name";
/// Connector key: the connector class or alias.
pub const CONNECTOR_CLASS: &str = "connector.class";
/// Connector key: most tasks to run.
pub const TASKS_MAX: &str = "tasks.max";
/// Connector key: fail when the connector asks for more tasks than `tasks.max`.
pub const TASKS_MAX_ENFORCE: &str = "tasks.max.enforce";
/// Connector key: transformation aliases.
pub const TRANSFORMS: &str = "transforms";
/// Connector key: predicate aliases.
pub const PREDICATES: &str = "predicates";
/// Sink key: topics to consume.
pub const TOPICS: &str = "topics";
/// Sink key: regex of topics to consume.
pub const TOPICS_REGEX: &str = "topics.regex";
/// Connector key: error tolerance.
pub const ERRORS_TOLERANCE: &str = "errors.tolerance";
/// Connector key: retry time for retriable errors.
pub const ERRORS_RETRY_TIMEOUT: &str = "errors.retry.timeout";
/// The key a converter's config gets for its role (`key`, `value` or `header`).
pub const CONVERTER_TYPE: &str = "converter.type";
/// Sink key: dead-letter queue topic.
pub const DLQ_TOPIC: &str = "errors.deadletterqueue.topic.name";

/// Whether a connector reads into topics or writes out of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    /// A source connector.
    Source,
    /// A sink connector.
    Sink,
}

impl ConnectorKind {
    /// The kind of a plugin.
    pub fn of(plugin: &ConnectorPlugin) -> Self {
        match plugin.factory {
            ConnectorFactory::Source(_) => ConnectorKind::Source,
            ConnectorFactory::Sink(_) => ConnectorKind::Sink,
        }
    }
}

/// The keys every connector has; sinks and sources add their own.
pub fn connector_config_def(kind: Option<ConnectorKind>) -> ConfigDef {
    let common = "Common";
    let converter = |key: &str, role: &str, order| {
        ConfigKey::new(key, ConfigType::Class)
            .default_null()
            .importance(Importance::Low)
            .group(common, order)
            .doc(format!(
                "Converter class (or alias) for record {role}s; overrides the worker's. When set, \
                 only this connector's '{key}.*' keys configure it."
            ))
    };
    let mut def = ConfigDef::new()
        .define(
            ConfigKey::new(NAME, ConfigType::String)
                .importance(Importance::High)
                .group(common, 1)
                .validator(Validator::NonEmptyStringWithoutControlChars)
                .doc("Globally unique name to use for this connector."),
        )
        .define(
            ConfigKey::new(CONNECTOR_CLASS, ConfigType::String)
                .importance(Importance::High)
                .group(common, 2)
                .doc("Name or alias of the connector class (e.g. 'FileStreamSink')."),
        )
        .define(
            ConfigKey::new(TASKS_MAX, ConfigType::Int)
                .default_value("1")
                .validator(Validator::AtLeast(1))
                .importance(Importance::High)
                .group(common, 3)
                .doc("Maximum number of tasks to use for this connector."),
        )
        .define(
            ConfigKey::new(TASKS_MAX_ENFORCE, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .group(common, 4)
                .doc("Fail the connector when it generates more task configs than 'tasks.max' (deprecated)."),
        )
        .define(converter("key.converter", "key", 5))
        .define(converter("value.converter", "value", 6))
        .define(converter("header.converter", "header", 7))
        .define(
            ConfigKey::new(TRANSFORMS, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .group("Transforms", 0)
                .doc("Aliases of the transformations to apply to records, in order."),
        )
        .define(
            ConfigKey::new(PREDICATES, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .group("Predicates", 0)
                .doc("Aliases of the predicates used by the transformations."),
        )
        .define(
            ConfigKey::new("config.action.reload", ConfigType::String)
                .default_value("restart")
                .validator(Validator::OneOfIgnoreCase(vec!["none", "restart"]))
                .importance(Importance::Low)
                .group(common, 8)
                .doc("What to do when config provider values change: 'restart' or 'none'."),
        )
        .define(
            ConfigKey::new(ERRORS_RETRY_TIMEOUT, ConfigType::Long)
                .default_value("0")
                .importance(Importance::Medium)
                .group("Error Handling", 1)
                .doc("How long, in milliseconds, an operation that failed with a retriable error is retried (0: no retries; -1: forever)."),
        )
        .define(
            ConfigKey::new("errors.retry.delay.max.ms", ConfigType::Long)
                .default_value("60000")
                .importance(Importance::Medium)
                .group("Error Handling", 2)
                .doc("Longest wait in milliseconds between two retries (the backoff doubles from 300 ms up to this, then waits a random time below it)."),
        )
        .define(
            ConfigKey::new(ERRORS_TOLERANCE, ConfigType::String)
                .default_value("none")
                .validator(Validator::OneOf(vec!["none", "all"]))
                .importance(Importance::Medium)
                .group("Error Handling", 3)
                .doc("'none' fails the task on the first record error. 'all' skips records that fail conversion or a transformation (and, for sinks, records 'put' rejects), reporting them to the log and dead-letter queue when configured."),
        )
        .define(
            ConfigKey::new("errors.log.enable", ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .group("Error Handling", 4)
                .doc("Log record errors. Task failures are always logged."),
        )
        .define(
            ConfigKey::new("errors.log.include.messages", ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Medium)
                .group("Error Handling", 5)
                .doc("Include the failed record's coordinates (sink) or content (source) in logged errors."),
        )
        .merge(&crate::restart::config_def(false));
    match kind {
        Some(ConnectorKind::Sink) => {
            def = def
                .define(
                    ConfigKey::new(TOPICS, ConfigType::List)
                        .default_value("")
                        .importance(Importance::High)
                        .group(common, 4)
                        .doc("Topics to consume (comma-separated). Exactly one of 'topics' and 'topics.regex' must be set."),
                )
                .define(
                    ConfigKey::new(TOPICS_REGEX, ConfigType::String)
                        .default_value("")
                        .validator(Validator::Regex)
                        .importance(Importance::High)
                        .group(common, 4)
                        .doc("Regular expression that whole topic names must match to be consumed."),
                )
                .define(
                    ConfigKey::new(DLQ_TOPIC, ConfigType::String)
                        .default_value("")
                        .importance(Importance::Medium)
                        .group("Error Handling", 6)
                        .doc("Dead-letter queue topic for records that fail (created with 1 partition when missing); empty: no dead-letter queue."),
                )
                .define(
                    ConfigKey::new(
                        "errors.deadletterqueue.topic.replication.factor",
                        ConfigType::Short,
                    )
                    .default_value("3")
                    .importance(Importance::Medium)
                    .group("Error Handling", 7)
                    .doc("Replication factor of a created dead-letter queue topic."),
                )
                .define(
                    ConfigKey::new(
                        "errors.deadletterqueue.context.headers.enable",
                        ConfigType::Boolean,
                    )
                    .default_value("false")
                    .importance(Importance::Medium)
                    .group("Error Handling", 8)
                    .doc("Add '__connect.errors.*' headers to dead-letter queue records."),
                );
        }
        Some(ConnectorKind::Source) => {
            let eos = "Exactly Once Support";
            def = def
                .define(
                    ConfigKey::new(EXACTLY_ONCE_SUPPORT, ConfigType::String)
                        .default_value("requested")
                        .validator(Validator::OneOfIgnoreCase(vec!["requested", "required"]))
                        .importance(Importance::Medium)
                        .group(eos, 1)
                        .doc("'required' makes validation fail unless the worker runs source tasks exactly-once (a distributed worker with 'exactly.once.source.support=enabled') and the connector says it supports exactly-once delivery with this config; 'requested' skips the check."),
                )
                .define(
                    ConfigKey::new(TRANSACTION_BOUNDARY, ConfigType::String)
                        .default_value("poll")
                        .validator(Validator::OneOfIgnoreCase(vec!["poll", "interval", "connector"]))
                        .importance(Importance::Medium)
                        .group(eos, 2)
                        .doc("Where an exactly-once task's transactions end: 'poll' after every batch the task returns, 'interval' every 'transaction.boundary.interval.ms', 'connector' when the task asks (the connector must support it)."),
                )
                .define(
                    ConfigKey::new(TRANSACTION_BOUNDARY_INTERVAL_MS, ConfigType::Long)
                        .default_null()
                        .validator(Validator::AtLeast(0))
                        .importance(Importance::Low)
                        .group(eos, 3)
                        .doc("With 'transaction.boundary=interval', how often in milliseconds transactions are committed (unset: the worker's 'offset.flush.interval.ms')."),
                )
                .define(
                    ConfigKey::new(OFFSETS_STORAGE_TOPIC, ConfigType::String)
                        .default_null()
                        .validator(Validator::NonEmptyString)
                        .importance(Importance::Low)
                        .group(eos, 4)
                        .doc("The name of a topic of this connector's own for its source offsets (distributed workers only; created compacted when missing, like the worker's 'offset.storage.topic'). Reads prefer it and fall back to the worker's offsets topic; writes go to it first and are copied to the worker's topic. Unset: the worker's offsets topic."),
                );
        }
        None => {}
    }
    def
}

/// The outcome of validating one connector config.
#[derive(Clone)]
pub struct ConnectorValidation {
    /// The connector plugin, when `connector.class` resolved.
    pub plugin: Option<ConnectorPlugin>,
    /// One report per key, common keys first.
    pub reports: Vec<ConfigValueReport>,
}

impl std::fmt::Debug for ConnectorValidation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorValidation")
            .field("class", &self.plugin.map(|p| p.class_name))
            .field("reports", &self.reports)
            .finish()
    }
}

impl ConnectorValidation {
    /// Number of error messages (what Kafka's `error_count` counts).
    pub fn error_count(&self) -> usize {
        self.reports.iter().map(|r| r.errors.len()).sum()
    }

    /// Every error as an issue naming its key.
    pub fn issues(&self) -> Vec<ConfigIssue> {
        self.reports
            .iter()
            .flat_map(|r| r.errors.iter().map(|e| ConfigIssue::new(&r.name, e)))
            .collect()
    }

    /// Adds a report, or the errors of a report for a key already reported.
    fn merge(&mut self, report: ConfigValueReport) {
        match self.reports.iter_mut().find(|r| r.name == report.name) {
            Some(existing) => {
                for e in report.errors {
                    if !existing.errors.contains(&e) {
                        existing.errors.push(e);
                    }
                }
            }
            None => self.reports.push(report),
        }
    }

    fn add_error(&mut self, key: &str, message: impl Into<String>) {
        let message = message.into();
        match self.reports.iter_mut().find(|r| r.name == key) {
            Some(r) => {
                if !r.errors.contains(&message) {
                    r.errors.push(message);
                }
            }
            None => self.reports.push(ConfigValueReport {
                name: key.to_string(),
                value: None,
                recommended_values: Vec::new(),
                errors: vec![message],
                visible: true,
            }),
        }
    }
}

/// Checks a converter class and its own settings (with `converter.type` set for its role, as
/// the converter will get it); issues name the prefixed keys.
pub fn check_converter(
    plugins: &PluginRegistry,
    key: &str,
    class: &str,
    role: ConverterType,
    config: &ConfigMap,
) -> Result<(), Vec<ConfigIssue>> {
    let plugin = if role == ConverterType::Header {
        plugins.header_converter(class)
    } else {
        plugins.converter(class)
    };
    let plugin = plugin.map_err(|e| {
        vec![ConfigIssue::new(
            key,
            format!(
                "Invalid value {} for configuration {key}: {e}",
                class.trim()
            ),
        )]
    })?;
    let mut config = config.clone();
    config.insert(CONVERTER_TYPE.to_string(), role.as_str().to_string());
    let issues: Vec<ConfigIssue> = (plugin.config_def)()
        .validate(&config)
        .into_iter()
        .flat_map(|r| {
            let name = format!("{key}.{}", r.name);
            r.errors
                .into_iter()
                .map(move |e| ConfigIssue::new(name.clone(), e))
        })
        .collect();
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Validates a connector config against the common keys, the sink or source keys and the
/// connector's own declaration, for a standalone worker (which has no exactly-once source
/// support); every problem is reported.
pub fn validate_connector_config(
    props: &ConfigMap,
    plugins: &PluginRegistry,
) -> ConnectorValidation {
    validate_connector_config_for(props, plugins, None)
}

/// Validates a connector config as [`validate_connector_config`] does, for a worker with
/// this `exactly.once.source.support` (`None`: a standalone worker).
pub fn validate_connector_config_for(
    props: &ConfigMap,
    plugins: &PluginRegistry,
    exactly_once: Option<ExactlyOnceSourceSupport>,
) -> ConnectorValidation {
    let class = props.get(CONNECTOR_CLASS).map(|c| c.trim()).unwrap_or("");
    let lookup = (!class.is_empty()).then(|| plugins.connector(class));
    let plugin = match &lookup {
        Some(Ok(p)) => Some(**p),
        _ => None,
    };
    let kind = plugin.as_ref().map(ConnectorKind::of);
    let def = connector_config_def(kind);
    let mut v = ConnectorValidation {
        plugin,
        reports: def.validate(props),
    };
    if let Some(Err(e)) = lookup {
        v.add_error(CONNECTOR_CLASS, e.to_string());
    }

    for (key, role) in [
        ("key.converter", ConverterType::Key),
        ("value.converter", ConverterType::Value),
        ("header.converter", ConverterType::Header),
    ] {
        if let Some(class) = props.get(key).filter(|c| !c.trim().is_empty()) {
            let config = sluice_api::config::strip_prefix(props, &format!("{key}."));
            if let Err(issues) = check_converter(plugins, key, class, role, &config) {
                for i in issues {
                    v.add_error(&i.key, i.message);
                }
            }
        }
    }

    // Transformations and predicates: aliases, classes, predicates and each plugin's own
    // keys, reported under their full names.
    for report in sluice_transforms::validate_chain_config(props, plugins) {
        v.merge(report);
    }

    match kind {
        Some(ConnectorKind::Sink) => check_sink_topics(&mut v, props),
        Some(ConnectorKind::Source) => {
            if let Some(plugin) = v.plugin {
                check_exactly_once(&mut v, props, plugin, exactly_once);
            }
            for key in props.keys().filter(|k| k.starts_with("topic.creation.")) {
                v.add_error(
                    key,
                    "topic creation settings are not supported yet by this build; topics are \
                     created automatically by the log with 'embedded.log.num.partitions' \
                     partitions (or create them first with 'sluice topics create')",
                );
            }
        }
        None => {}
    }

    // The connector's own keys.
    if let Some(plugin) = &v.plugin {
        let own = match plugin.factory {
            ConnectorFactory::Source(make) => make().validate(props),
            ConnectorFactory::Sink(make) => make().validate(props),
        };
        for report in own {
            v.merge(report);
        }
    }
    v
}

/// The exactly-once checks of a source connector (Kafka's, on a distributed worker):
/// `exactly.once.support=required` needs the worker's support enabled and the connector's
/// say-so; `transaction.boundary=connector` needs a connector that defines boundaries.
fn check_exactly_once(
    v: &mut ConnectorValidation,
    props: &ConfigMap,
    plugin: ConnectorPlugin,
    exactly_once: Option<ExactlyOnceSourceSupport>,
) {
    let ConnectorFactory::Source(make) = plugin.factory else {
        return;
    };
    let is = |key: &str, value: &str| {
        props
            .get(key)
            .is_some_and(|s| s.trim().eq_ignore_ascii_case(value))
    };
    if is(EXACTLY_ONCE_SUPPORT, "required") {
        match exactly_once {
            None => v.add_error(
                EXACTLY_ONCE_SUPPORT,
                "Exactly-once source delivery is only available on a distributed worker with \
                 'exactly.once.source.support=enabled'; this is a standalone worker. Use \
                 'exactly.once.support=requested' or run the connector on a distributed worker.",
            ),
            Some(support) if !support.tasks_transactional() => v.add_error(
                EXACTLY_ONCE_SUPPORT,
                "This worker does not have exactly-once source support enabled.",
            ),
            Some(_) => {}
        }
        if exactly_once.is_some()
            && make().exactly_once_support(props) != ExactlyOnceSupport::Supported
        {
            v.add_error(
                EXACTLY_ONCE_SUPPORT,
                "The connector does not support exactly-once semantics with the provided configuration.",
            );
        }
    }
    if is(TRANSACTION_BOUNDARY, "connector")
        && make().can_define_transaction_boundaries(props)
            != ConnectorTransactionBoundaries::Supported
    {
        v.add_error(
            TRANSACTION_BOUNDARY,
            "The connector does not support connector-defined transaction boundaries with the \
             given configuration. Please reconfigure it to use a different transaction boundary \
             definition.",
        );
    }
    if exactly_once.is_none() && props.get(OFFSETS_STORAGE_TOPIC).is_some() {
        v.add_error(
            OFFSETS_STORAGE_TOPIC,
            "'offsets.storage.topic' (a connector-specific offsets topic) is only supported by \
             distributed workers; a standalone worker keeps source offsets in its \
             'offset.storage.file.filename'. Remove 'offsets.storage.topic' or run the \
             connector on a distributed worker.",
        );
    }
}

fn check_sink_topics(v: &mut ConnectorValidation, props: &ConfigMap) {
    let topics = sluice_api::config::parse_list(props.get(TOPICS).map_or("", String::as_str));
    let has_topics = !topics.is_empty();
    let has_regex = props
        .get(TOPICS_REGEX)
        .is_some_and(|r| !r.trim().is_empty());
    let message = match (has_topics, has_regex) {
        (true, true) => {
            Some("topics and topics.regex are mutually exclusive options, but both are set.")
        }
        (false, false) => Some("Must configure one of topics or topics.regex"),
        _ => None,
    };
    if let Some(m) = message {
        v.add_error(TOPICS, m);
        v.add_error(TOPICS_REGEX, m);
    }
    if let Some(dlq) = props
        .get(DLQ_TOPIC)
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
    {
        if topics.iter().any(|t| t == dlq) {
            let message = format!(
                "The DLQ topic '{dlq}' may not be included in the list of topics ('topics=[{}]') \
                 consumed by the connector",
                topics.join(", ")
            );
            v.add_error(DLQ_TOPIC, message);
        } else if let Some(regex) = props.get(TOPICS_REGEX).map(|r| r.trim()) {
            let matched = !regex.is_empty()
                && regex::Regex::new(&format!("^(?:{regex})$")).is_ok_and(|r| r.is_match(dlq));
            if matched {
                v.add_error(
                    DLQ_TOPIC,
                    format!(
                        "The DLQ topic '{dlq}' may not be matched by the regex for the topics \
                         ('topics.regex={regex}') consumed by the connector"
                    ),
                );
            }
        }
    }
}

/// A validated connector config, ready to run.
#[derive(Clone)]
pub struct ConnectorConfig {
    /// Connector name.
    pub name: String,
    /// The connector plugin.
    pub plugin: ConnectorPlugin,
    /// Source or sink.
    pub kind: ConnectorKind,
    /// Most tasks to run.
    pub tasks_max: usize,
    /// Whether more task configs than `tasks_max` fail the connector.
    pub tasks_max_enforce: bool,
    /// Connector-level key converter (overrides the worker's).
    pub key_converter: Option<ConverterSpec>,
    /// Connector-level value converter.
    pub value_converter: Option<ConverterSpec>,
    /// Connector-level header converter.
    pub header_converter: Option<ConverterSpec>,
    /// What a sink consumes.
    pub subscription: Option<Subscription>,
    /// `consumer.override.*` keys, prefix stripped.
    pub consumer_overrides: BTreeMap<String, String>,
    /// `producer.override.*` keys, prefix stripped.
    pub producer_overrides: BTreeMap<String, String>,
    /// `admin.override.*` keys, prefix stripped: settings of the admin client a sink's
    /// tasks use (dead-letter queue topic creation, partition offsets for lag).
    pub admin_overrides: BTreeMap<String, String>,
    /// The config as given.
    pub originals: ConfigMap,
}

impl std::fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorConfig")
            .field("name", &self.name)
            .field("class", &self.plugin.class_name)
            .field("kind", &self.kind)
            .field("tasks_max", &self.tasks_max)
            .finish_non_exhaustive()
    }
}

impl ConnectorConfig {
    /// Validates and parses a connector config for a standalone worker; all issues are
    /// returned at once.
    pub fn parse(props: &ConfigMap, plugins: &PluginRegistry) -> Result<Self, Vec<ConfigIssue>> {
        Self::parse_for(props, plugins, None)
    }

    /// Validates and parses a connector config for a worker with this
    /// `exactly.once.source.support` (`None`: a standalone worker).
    pub fn parse_for(
        props: &ConfigMap,
        plugins: &PluginRegistry,
        exactly_once: Option<ExactlyOnceSourceSupport>,
    ) -> Result<Self, Vec<ConfigIssue>> {
        let validation = validate_connector_config_for(props, plugins, exactly_once);
        let issues = validation.issues();
        let (Some(plugin), true) = (validation.plugin, issues.is_empty()) else {
            return Err(issues);
        };
        let kind = ConnectorKind::of(&plugin);
        if kind == ConnectorKind::Source {
            // As Kafka: dead-letter queues exist for sinks only; a source ignores the keys.
            for key in props
                .keys()
                .filter(|k| k.starts_with("errors.deadletterqueue."))
            {
                tracing::warn!(
                    key = %key,
                    "Ignoring a dead-letter queue setting on a source connector: dead-letter \
                     queues apply to sink connectors only."
                );
            }
        }
        let parsed = connector_config_def(Some(kind))
            .parse(props)
            .map_err(crate::worker_config::issues_from)?;
        let spec = |key: &str| {
            parsed.string(key).map(|class| ConverterSpec {
                class: class.to_string(),
                config: sluice_api::config::strip_prefix(props, &format!("{key}.")),
            })
        };
        let subscription = (kind == ConnectorKind::Sink).then(|| {
            let topics = parsed.list(TOPICS);
            if topics.is_empty() {
                Subscription::Pattern(parsed.string(TOPICS_REGEX).unwrap_or_default().to_string())
            } else {
                Subscription::Topics(topics.to_vec())
            }
        });
        Ok(ConnectorConfig {
            name: parsed.string(NAME).unwrap_or_default().to_string(),
            plugin,
            kind,
            tasks_max: parsed.int(TASKS_MAX).unwrap_or(1).max(1) as usize,
            tasks_max_enforce: parsed.boolean(TASKS_MAX_ENFORCE).unwrap_or(true),
            key_converter: spec("key.converter"),
            value_converter: spec("value.converter"),
            header_converter: spec("header.converter"),
            subscription,
            consumer_overrides: sluice_api::config::strip_prefix(props, "consumer.override."),
            producer_overrides: sluice_api::config::strip_prefix(props, "producer.override."),
            admin_overrides: sluice_api::config::strip_prefix(props, "admin.override."),
            originals: props.clone(),
        })
    }
}

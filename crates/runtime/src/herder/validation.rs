//! The `config/validate` answer and the plugin listings, in Kafka's shapes.
//!
//! [`config_infos`] runs the connector validation of [`crate::connector_config`] (every
//! error of every key) and attaches to each key its declaration: the common keys, the sink
//! or source keys, the connector's own, each transformation's and predicate's keys under
//! `transforms.<alias>.` / `predicates.<alias>.` (group `Transforms: <alias>`), and each
//! converter's keys under its prefix. Keys reported without a declaration come first, as in
//! Kafka.

use std::collections::BTreeMap;

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_api::connector::{ConnectorFactory, ConnectorPlugin};

use super::entities::{ConfigInfo, ConfigInfos, ConfigKeyInfo, ConfigValueInfo, PluginInfo};
use super::{HerderError, HerderResult};
use crate::connector_config::{
    connector_config_def, validate_connector_config_for, ConnectorKind, CONNECTOR_CLASS,
    PREDICATES, TRANSFORMS,
};
use crate::exactly_once::ExactlyOnceSourceSupport;
use crate::plugins::PluginRegistry;

/// The version reported for plugins built into this binary that have none of their own.
const BUILTIN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A config map as Java prints one (`{k1=v1, k2=v2}`), for Kafka's messages.
pub fn java_map(config: &ConfigMap) -> String {
    let entries: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", entries.join(", "))
}

/// The connector class of a config, or Kafka's 400 when there is none.
pub fn connector_class(config: &ConfigMap) -> HerderResult<&str> {
    config
        .get(CONNECTOR_CLASS)
        .map(String::as_str)
        .ok_or_else(|| {
            HerderError::BadRequest(format!(
                "Connector config {} contains no connector type",
                java_map(config)
            ))
        })
}

/// The 400 message for a config with errors: a header, one line per error, and a pointer
/// to the validate endpoint.
pub fn invalid_config_message(infos: &ConfigInfos) -> String {
    let mut message = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        infos.error_count
    );
    for e in infos.error_messages() {
        message.push('\n');
        message.push_str(e);
    }
    message.push_str(
        "\nYou can also find the above list of errors at the endpoint \
         `/connector-plugins/{connectorType}/config/validate`",
    );
    message
}

/// Checks that `connector.class` is the plugin named in the validate path: both without a
/// trailing `Connector`, the class must end with the path's name.
pub fn check_plugin_path(path_plugin: &str, class: &str) -> HerderResult<()> {
    let trim = |s: &'_ str| -> String {
        match s.strip_suffix("Connector") {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => s.to_string(),
        }
    };
    if trim(class.trim()).ends_with(&trim(path_plugin)) {
        Ok(())
    } else {
        Err(HerderError::BadRequest(format!(
            "Included connector type {class} does not match request type {path_plugin}"
        )))
    }
}

/// Validates a connector config and answers in Kafka's `ConfigInfos` shape. Only a missing
/// `connector.class` is an error here; everything else is reported in the answer.
pub fn config_infos(config: &ConfigMap, plugins: &PluginRegistry) -> HerderResult<ConfigInfos> {
    config_infos_for(config, plugins, None)
}

/// [`config_infos`] for a worker with this `exactly.once.source.support` (`None`: a
/// standalone worker), which decides the exactly-once checks of source connectors.
pub fn config_infos_for(
    config: &ConfigMap,
    plugins: &PluginRegistry,
    exactly_once: Option<ExactlyOnceSourceSupport>,
) -> HerderResult<ConfigInfos> {
    let class = connector_class(config)?.to_string();
    let validation = validate_connector_config_for(config, plugins, exactly_once);
    let plugin = validation.plugin;
    let kind = plugin.as_ref().map(ConnectorKind::of);
    let defs = Definitions::new(config, plugin.as_ref(), kind, plugins);
    let mut undeclared = Vec::new();
    let mut declared = Vec::new();
    for report in validation.reports {
        match defs.find(&report.name) {
            Some(definition) => declared.push(ConfigInfo {
                definition: Some(definition),
                value: Some(ConfigValueInfo::from(report)),
            }),
            None => undeclared.push(ConfigInfo {
                definition: None,
                value: Some(ConfigValueInfo::from(report)),
            }),
        }
    }
    let mut groups: Vec<String> = Vec::new();
    for g in declared
        .iter()
        .filter_map(|c| c.definition.as_ref()?.group.clone())
    {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    undeclared.extend(declared);
    let error_count = undeclared
        .iter()
        .filter_map(|c| c.value.as_ref())
        .map(|v| v.errors.len())
        .sum();
    Ok(ConfigInfos {
        name: class,
        error_count,
        groups,
        configs: undeclared,
    })
}

/// The keys Kafka declares for every transformation or predicate alias, besides the
/// plugin's own.
fn alias_keys_def(list_key: &str) -> ConfigDef {
    let def = ConfigDef::new().define(
        ConfigKey::new("type", ConfigType::Class)
            .importance(Importance::High)
            .doc(if list_key == TRANSFORMS {
                "Class name or alias of the transformation."
            } else {
                "Class name or alias of the predicate."
            }),
    );
    if list_key != TRANSFORMS {
        return def;
    }
    def.define(
        ConfigKey::new("predicate", ConfigType::String)
            .default_null()
            .importance(Importance::Medium)
            .doc("Alias of the predicate that decides whether the transformation applies."),
    )
    .define(
        ConfigKey::new("negate", ConfigType::Boolean)
            .default_value("false")
            .importance(Importance::Medium)
            .doc("Apply the transformation to records that do not match the predicate."),
    )
}

/// Where the declaration of a reported key is found.
struct Definitions {
    common: ConfigDef,
    own: ConfigDef,
    /// prefix (`transforms.<alias>.`) → group and the declaration under it.
    prefixed: Vec<(String, Option<String>, ConfigDef)>,
}

impl Definitions {
    fn new(
        config: &ConfigMap,
        plugin: Option<&ConnectorPlugin>,
        kind: Option<ConnectorKind>,
        plugins: &PluginRegistry,
    ) -> Self {
        let own = match plugin.map(|p| p.factory) {
            Some(ConnectorFactory::Source(make)) => make().config_def(),
            Some(ConnectorFactory::Sink(make)) => make().config_def(),
            None => ConfigDef::new(),
        };
        let mut prefixed = Vec::new();
        for (list_key, group) in [(TRANSFORMS, "Transforms"), (PREDICATES, "Predicates")] {
            let aliases = sluice_api::config::parse_list(config.get(list_key).map_or("", |s| s));
            for alias in aliases {
                let prefix = format!("{list_key}.{alias}.");
                let class = config.get(&format!("{prefix}type")).map(|c| c.trim());
                let plugin_def = match class {
                    Some(c) if list_key == TRANSFORMS => {
                        plugins.transformation(c).ok().map(|p| (p.config_def)())
                    }
                    Some(c) => plugins.predicate(c).ok().map(|p| (p.config_def)()),
                    None => None,
                };
                let def = alias_keys_def(list_key).merge(&plugin_def.unwrap_or_default());
                prefixed.push((prefix, Some(format!("{group}: {alias}")), def));
            }
        }
        for role in ["key", "value", "header"] {
            let key = format!("{role}.converter");
            let Some(class) = config.get(&key).map(|c| c.trim()).filter(|c| !c.is_empty()) else {
                continue;
            };
            let found = if role == "header" {
                plugins.header_converter(class)
            } else {
                plugins.converter(class)
            };
            if let Ok(p) = found {
                prefixed.push((format!("{key}."), None, (p.config_def)()));
            }
        }
        Definitions {
            common: connector_config_def(kind),
            own,
            prefixed,
        }
    }

    fn find(&self, name: &str) -> Option<ConfigKeyInfo> {
        if let Some(key) = self.common.key(name).or_else(|| self.own.key(name)) {
            return Some(ConfigKeyInfo::of(key, name, None));
        }
        self.prefixed.iter().find_map(|(prefix, group, def)| {
            let key = def.key(name.strip_prefix(prefix.as_str())?)?;
            Some(ConfigKeyInfo::of(key, name, group.clone()))
        })
    }
}

/// Every plugin, in Kafka's order: sinks, sources, then (unless `connectors_only`)
/// transformations, predicates, converters and header converters, each sorted by class.
pub fn plugin_infos(plugins: &PluginRegistry, connectors_only: bool) -> Vec<PluginInfo> {
    let mut out = Vec::new();
    for kind in ["sink", "source"] {
        let mut these: Vec<PluginInfo> = plugins
            .connectors()
            .iter()
            .filter(|p| p.kind() == kind)
            .map(|p| PluginInfo {
                class_name: p.class_name.to_string(),
                kind: kind.to_string(),
                version: Some(connector_version(p)),
            })
            .collect();
        these.sort_by(|a, b| a.class_name.cmp(&b.class_name));
        out.extend(these);
    }
    if connectors_only {
        return out;
    }
    let builtin = |class: &str, kind: &str| PluginInfo {
        class_name: class.to_string(),
        kind: kind.to_string(),
        version: Some(BUILTIN_VERSION.to_string()),
    };
    let sorted = |mut v: Vec<PluginInfo>| {
        v.sort_by(|a, b| a.class_name.cmp(&b.class_name));
        v
    };
    out.extend(sorted(
        plugins
            .transformations()
            .iter()
            .map(|p| builtin(p.class_name, "transformation"))
            .collect(),
    ));
    out.extend(sorted(
        plugins
            .predicates()
            .iter()
            .map(|p| builtin(p.class_name, "predicate"))
            .collect(),
    ));
    out.extend(sorted(
        plugins
            .converters()
            .iter()
            .filter(|p| p.create.is_some())
            .map(|p| builtin(p.class_name, "converter"))
            .collect(),
    ));
    out.extend(sorted(
        plugins
            .converters()
            .iter()
            .filter(|p| p.create_header.is_some())
            .map(|p| builtin(p.class_name, "header_converter"))
            .collect(),
    ));
    out
}

fn connector_version(plugin: &ConnectorPlugin) -> String {
    match plugin.factory {
        ConnectorFactory::Source(make) => make().version(),
        ConnectorFactory::Sink(make) => make().version(),
    }
}

/// The declared keys of a plugin named by class or alias: for a connector its own keys and
/// then the common, sink or source keys it does not declare itself.
pub fn plugin_config(plugins: &PluginRegistry, name: &str) -> HerderResult<Vec<ConfigKeyInfo>> {
    let def = if let Ok(p) = plugins.connector(name) {
        let own = match p.factory {
            ConnectorFactory::Source(make) => make().config_def(),
            ConnectorFactory::Sink(make) => make().config_def(),
        };
        own.merge(&connector_config_def(Some(ConnectorKind::of(p))))
    } else if let Ok(p) = plugins.converter(name) {
        (p.config_def)()
    } else if let Ok(p) = plugins.header_converter(name) {
        (p.config_def)()
    } else if let Ok(p) = plugins.transformation(name) {
        (p.config_def)()
    } else if let Ok(p) = plugins.predicate(name) {
        (p.config_def)()
    } else {
        return Err(HerderError::NotFound(format!("Unknown plugin {name}.")));
    };
    Ok(def
        .keys()
        .iter()
        .map(|k| ConfigKeyInfo::of(k, &k.name, None))
        .collect())
}

/// Errors for keys whose JSON value was null (`Null value can not be supplied as the
/// configuration value.`), added to a validation answer.
pub fn add_null_value_errors(infos: &mut ConfigInfos, null_keys: &[String]) {
    const MESSAGE: &str = "Null value can not be supplied as the configuration value.";
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in infos.configs.iter().enumerate() {
        if let Some(v) = &c.value {
            by_name.insert(v.name.clone(), i);
        }
    }
    let mut extra = Vec::new();
    for key in null_keys {
        match by_name.get(key) {
            Some(&i) => {
                if let Some(v) = infos.configs[i].value.as_mut() {
                    v.errors.push(MESSAGE.to_string());
                }
            }
            None => extra.push(ConfigInfo {
                definition: None,
                value: Some(ConfigValueInfo {
                    name: key.clone(),
                    value: None,
                    recommended_values: Vec::new(),
                    errors: vec![MESSAGE.to_string()],
                    visible: true,
                }),
            }),
        }
        infos.error_count += 1;
    }
    extra.append(&mut infos.configs);
    infos.configs = extra;
}

/// Errors for client overrides (`producer.override.*`, ...) the worker's
/// `connector.client.config.override.policy` does not allow, added to a validation answer
/// on the prefixed keys, as Kafka reports them.
pub fn add_override_policy_errors(
    infos: &mut ConfigInfos,
    config: &ConfigMap,
    policy: crate::client_overrides::OverridePolicy,
) {
    for issue in policy.violations(config) {
        let existing = infos
            .configs
            .iter_mut()
            .filter_map(|c| c.value.as_mut())
            .find(|v| v.name == issue.key);
        match existing {
            Some(v) => v.errors.push(issue.message),
            None => infos.configs.push(ConfigInfo {
                definition: None,
                value: Some(ConfigValueInfo {
                    name: issue.key.clone(),
                    value: config.get(&issue.key).cloned(),
                    recommended_values: Vec::new(),
                    errors: vec![issue.message],
                    visible: true,
                }),
            }),
        }
        infos.error_count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_map_renders_like_java() {
        let mut m = ConfigMap::new();
        assert_eq!(java_map(&m), "{}");
        m.insert("a".into(), "1".into());
        m.insert("b".into(), "x y".into());
        assert_eq!(java_map(&m), "{a=1, b=x y}");
    }

    #[test]
    fn plugin_path_must_match_the_class() {
        let ok = [
            (
                "FileStreamSink",
                "org.apache.kafka.connect.file.FileStreamSinkConnector",
            ),
            ("FileStreamSinkConnector", "FileStreamSink"),
            (
                "org.apache.kafka.connect.file.FileStreamSinkConnector",
                "org.apache.kafka.connect.file.FileStreamSinkConnector",
            ),
        ];
        for (path, class) in ok {
            assert!(check_plugin_path(path, class).is_ok(), "{path} {class}");
        }
        assert_eq!(
            check_plugin_path("FileStreamSource", "FileStreamSink"),
            Err(HerderError::BadRequest(
                "Included connector type FileStreamSink does not match request type FileStreamSource"
                    .into()
            ))
        );
    }

    #[test]
    fn missing_class_is_a_bad_request_naming_the_config() {
        let mut m = ConfigMap::new();
        m.insert("name".into(), "x".into());
        assert_eq!(
            connector_class(&m),
            Err(HerderError::BadRequest(
                "Connector config {name=x} contains no connector type".into()
            ))
        );
    }

    #[test]
    fn null_value_errors_are_counted_and_placed() {
        let mut infos = ConfigInfos {
            name: "X".into(),
            error_count: 0,
            groups: Vec::new(),
            configs: vec![ConfigInfo {
                definition: None,
                value: Some(ConfigValueInfo {
                    name: "a".into(),
                    value: None,
                    recommended_values: Vec::new(),
                    errors: Vec::new(),
                    visible: true,
                }),
            }],
        };
        add_null_value_errors(&mut infos, &["a".into(), "zz".into()]);
        assert_eq!(infos.error_count, 2);
        assert_eq!(infos.configs.len(), 2);
        assert_eq!(infos.configs[0].value.as_ref().unwrap().name, "zz");
        assert_eq!(infos.configs[1].value.as_ref().unwrap().errors.len(), 1);
        assert!(invalid_config_message(&infos).starts_with(
            "Connector configuration is invalid and contains the following 2 error(s):\nNull value"
        ));
    }
}

//! The plugin registry: every connector, converter, transformation and predicate the binary
//! knows, looked up by class name or alias.
//!
//! Plugins are linked in and registered explicitly by the binary; the runtime never names a
//! concrete plugin. Aliases follow Kafka Connect: a plugin can be named by its full class name,
//! its simple name (`FileStreamSinkConnector`, `JsonConverter`), or its simple name without the
//! type suffix (`FileStreamSink`, `Json`; `Simple` for `SimpleHeaderConverter`). A nested
//! transformation or predicate class is also named by its outer and inner simple names
//! (`Cast$Value`), since its inner name alone (`Value`) names many. An alias that would name
//! two different plugins is not registered, except that a transformation and a predicate may
//! share one: they are looked up by kind. For `connector.class`, a name that is
//! no class name also matches connectors whose simple name is the name, with or without a
//! trailing `Connector`; more than one match is an error asking for the full class name.

use std::collections::{BTreeMap, BTreeSet};

use sluice_api::connector::ConnectorPlugin;
use sluice_api::converter::ConverterPlugin;
use sluice_api::transform::{PredicatePlugin, TransformationPlugin};

/// Why a plugin lookup failed, with Kafka's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginLookupError {
    /// No connector matches.
    #[error("Failed to find any class that implements Connector and which name matches {name}, available connectors are: {available}")]
    NoConnector {
        /// The name asked for.
        name: String,
        /// Class names of every registered connector, comma-separated.
        available: String,
    },
    /// Several connectors match an alias.
    #[error("More than one connector matches alias {name}. Please use full package and class name instead. Classes found: {found}")]
    AmbiguousConnector {
        /// The alias asked for.
        name: String,
        /// The matching class names, comma-separated.
        found: String,
    },
    /// No plugin of the wanted kind has this class name or alias.
    #[error("Class {name} could not be found.")]
    ClassNotFound {
        /// The name asked for.
        name: String,
    },
}

/// The plugins known to this binary.
#[derive(Default)]
pub struct PluginRegistry {
    connectors: Vec<ConnectorPlugin>,
    converters: Vec<ConverterPlugin>,
    transformations: Vec<TransformationPlugin>,
    predicates: Vec<PredicatePlugin>,
    /// alias → class names it could mean (registered only when exactly one).
    aliases: BTreeMap<String, BTreeSet<&'static str>>,
}

/// Java's simple name of a class name: after the last `.` and, for nested classes, the
/// last `$`.
pub fn simple_name(class_name: &str) -> &str {
    let after_dot = class_name.rsplit('.').next().unwrap_or(class_name);
    after_dot.rsplit('$').next().unwrap_or(after_dot)
}

/// The part of a class name after its last `.`; for a nested class, the outer and inner
/// simple names (`Cast$Value` for `org.apache.kafka.connect.transforms.Cast$Value`).
pub fn nested_name(class_name: &str) -> &str {
    class_name.rsplit('.').next().unwrap_or(class_name)
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        PluginRegistry::default()
    }

    /// Registers connectors.
    pub fn add_connectors(&mut self, plugins: impl IntoIterator<Item = ConnectorPlugin>) {
        for p in plugins {
            let simple = simple_name(p.class_name);
            self.alias(simple, p.class_name);
            if let Some(pruned) = simple.strip_suffix("Connector").filter(|s| !s.is_empty()) {
                self.alias(pruned, p.class_name);
            }
            for alias in p.aliases {
                self.alias(alias, p.class_name);
            }
            self.connectors.push(p);
        }
    }

    /// Registers converters and header converters.
    pub fn add_converters(&mut self, plugins: impl IntoIterator<Item = ConverterPlugin>) {
        for p in plugins {
            let simple = simple_name(p.class_name);
            self.alias(simple, p.class_name);
            if p.create.is_some() {
                if let Some(pruned) = simple.strip_suffix("Converter").filter(|s| !s.is_empty()) {
                    self.alias(pruned, p.class_name);
                }
            }
            if p.create_header.is_some() {
                if let Some(pruned) = simple
                    .strip_suffix("HeaderConverter")
                    .filter(|s| !s.is_empty())
                {
                    self.alias(pruned, p.class_name);
                }
            }
            self.converters.push(p);
        }
    }

    /// Registers transformations.
    pub fn add_transformations(&mut self, plugins: impl IntoIterator<Item = TransformationPlugin>) {
        for p in plugins {
            let simple = simple_name(p.class_name);
            self.alias(simple, p.class_name);
            self.alias(nested_name(p.class_name), p.class_name);
            if let Some(pruned) = simple
                .strip_suffix("Transformation")
                .filter(|s| !s.is_empty())
            {
                self.alias(pruned, p.class_name);
            }
            self.transformations.push(p);
        }
    }

    /// Registers predicates.
    pub fn add_predicates(&mut self, plugins: impl IntoIterator<Item = PredicatePlugin>) {
        for p in plugins {
            let simple = simple_name(p.class_name);
            self.alias(simple, p.class_name);
            self.alias(nested_name(p.class_name), p.class_name);
            if let Some(pruned) = simple.strip_suffix("Predicate").filter(|s| !s.is_empty()) {
                self.alias(pruned, p.class_name);
            }
            self.predicates.push(p);
        }
    }

    fn alias(&mut self, alias: &str, class_name: &'static str) {
        if alias != class_name {
            self.aliases
                .entry(alias.to_string())
                .or_default()
                .insert(class_name);
        }
    }

    /// The class a name stands for: itself, or the class of an unambiguous alias.
    fn resolve<'a>(&'a self, name: &'a str) -> &'a str {
        match self.aliases.get(name) {
            Some(classes) if classes.len() == 1 => classes.iter().next().copied().unwrap_or(name),
            _ => name,
        }
    }

    /// The class of one kind a name stands for: itself, or an alias that names exactly one
    /// class of that kind. Transformations and predicates are looked up by kind (a config key
    /// always says which it wants), so a transformation and a predicate may share a simple
    /// name, as the expression transformation and predicate do.
    fn resolve_kind<'a>(&'a self, name: &'a str, is_kind: impl Fn(&str) -> bool) -> &'a str {
        let Some(classes) = self.aliases.get(name) else {
            return name;
        };
        let mut of_kind = classes.iter().copied().filter(|c| is_kind(c));
        match (of_kind.next(), of_kind.next()) {
            (Some(class), None) => class,
            _ => name,
        }
    }

    fn is_transformation(&self, class_name: &str) -> bool {
        self.transformations
            .iter()
            .any(|p| p.class_name == class_name)
    }

    fn is_predicate(&self, class_name: &str) -> bool {
        self.predicates.iter().any(|p| p.class_name == class_name)
    }

    /// The usable aliases of a class, shortest last.
    pub fn aliases_of(&self, class_name: &str) -> Vec<&str> {
        let usable = |classes: &BTreeSet<&'static str>| {
            if self.is_transformation(class_name) {
                classes.iter().filter(|c| self.is_transformation(c)).count() == 1
            } else if self.is_predicate(class_name) {
                classes.iter().filter(|c| self.is_predicate(c)).count() == 1
            } else {
                classes.len() == 1
            }
        };
        let mut out: Vec<&str> = self
            .aliases
            .iter()
            .filter(|(_, classes)| classes.contains(class_name) && usable(classes))
            .map(|(alias, _)| alias.as_str())
            .collect();
        out.sort_by_key(|a| std::cmp::Reverse(a.len()));
        out
    }

    /// Registered connectors, in registration order.
    pub fn connectors(&self) -> &[ConnectorPlugin] {
        &self.connectors
    }

    /// Registered converters, in registration order.
    pub fn converters(&self) -> &[ConverterPlugin] {
        &self.converters
    }

    /// Registered transformations.
    pub fn transformations(&self) -> &[TransformationPlugin] {
        &self.transformations
    }

    /// Registered predicates.
    pub fn predicates(&self) -> &[PredicatePlugin] {
        &self.predicates
    }

    /// Finds the connector for a `connector.class` value.
    pub fn connector(&self, name: &str) -> Result<&ConnectorPlugin, PluginLookupError> {
        let name = name.trim();
        if let Some(p) = self
            .connectors
            .iter()
            .find(|p| p.class_name == name || p.aliases.contains(&name))
        {
            return Ok(p);
        }
        let with_suffix = format!("{name}Connector");
        let matches: Vec<&ConnectorPlugin> = self
            .connectors
            .iter()
            .filter(|p| {
                let simple = simple_name(p.class_name);
                simple == name || simple == with_suffix
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(PluginLookupError::NoConnector {
                name: name.to_string(),
                available: join_classes(self.connectors.iter().map(|p| p.class_name)),
            }),
            many => Err(PluginLookupError::AmbiguousConnector {
                name: name.to_string(),
                found: join_classes(many.iter().map(|p| p.class_name)),
            }),
        }
    }

    /// Finds a key/value converter by class name or alias.
    pub fn converter(&self, name: &str) -> Result<&ConverterPlugin, PluginLookupError> {
        let class = self.resolve(name.trim());
        self.converters
            .iter()
            .find(|p| p.class_name == class && p.create.is_some())
            .ok_or_else(|| not_found(name))
    }

    /// Finds a header converter by class name or alias.
    pub fn header_converter(&self, name: &str) -> Result<&ConverterPlugin, PluginLookupError> {
        let class = self.resolve(name.trim());
        self.converters
            .iter()
            .find(|p| p.class_name == class && p.create_header.is_some())
            .ok_or_else(|| not_found(name))
    }

    /// Finds a transformation by class name or alias.
    pub fn transformation(&self, name: &str) -> Result<&TransformationPlugin, PluginLookupError> {
        let class = self.resolve_kind(name.trim(), |c| self.is_transformation(c));
        self.transformations
            .iter()
            .find(|p| p.class_name == class)
            .ok_or_else(|| not_found(name))
    }

    /// Finds a predicate by class name or alias.
    pub fn predicate(&self, name: &str) -> Result<&PredicatePlugin, PluginLookupError> {
        let class = self.resolve_kind(name.trim(), |c| self.is_predicate(c));
        self.predicates
            .iter()
            .find(|p| p.class_name == class)
            .ok_or_else(|| not_found(name))
    }
}

impl sluice_transforms::PluginLookup for PluginRegistry {
    fn transformation(&self, name: &str) -> Result<TransformationPlugin, String> {
        PluginRegistry::transformation(self, name)
            .copied()
            .map_err(|e| e.to_string())
    }

    fn predicate(&self, name: &str) -> Result<PredicatePlugin, String> {
        PluginRegistry::predicate(self, name)
            .copied()
            .map_err(|e| e.to_string())
    }
}

fn not_found(name: &str) -> PluginLookupError {
    PluginLookupError::ClassNotFound {
        name: name.trim().to_string(),
    }
}

fn join_classes<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::config::ConfigDef;
    use sluice_api::connector::{ConnectorFactory, SinkConnector, SourceConnector};

    fn no_source() -> Box<dyn SourceConnector> {
        unreachable!("the registry never instantiates")
    }
    fn no_sink() -> Box<dyn SinkConnector> {
        unreachable!("the registry never instantiates")
    }

    fn registry() -> PluginRegistry {
        let mut r = PluginRegistry::new();
        r.add_connectors([
            ConnectorPlugin {
                class_name: "org.apache.kafka.connect.file.FileStreamSourceConnector",
                aliases: &[],
                factory: ConnectorFactory::Source(no_source),
            },
            ConnectorPlugin {
                class_name: "org.apache.kafka.connect.file.FileStreamSinkConnector",
                aliases: &[],
                factory: ConnectorFactory::Sink(no_sink),
            },
            ConnectorPlugin {
                class_name: "com.a.Twin",
                aliases: &[],
                factory: ConnectorFactory::Sink(no_sink),
            },
            ConnectorPlugin {
                class_name: "com.b.TwinConnector",
                aliases: &[],
                factory: ConnectorFactory::Sink(no_sink),
            },
        ]);
        r.add_converters([
            ConverterPlugin {
                class_name: "org.apache.kafka.connect.json.JsonConverter",
                config_def: ConfigDef::new,
                create: Some(|_, _| Err(sluice_api::ConnectError::connect("unused"))),
                create_header: Some(|_| Err(sluice_api::ConnectError::connect("unused"))),
            },
            ConverterPlugin {
                class_name: "org.apache.kafka.connect.storage.SimpleHeaderConverter",
                config_def: ConfigDef::new,
                create: None,
                create_header: Some(|_| Err(sluice_api::ConnectError::connect("unused"))),
            },
        ]);
        r
    }

    #[test]
    fn connectors_by_class_simple_name_and_pruned_name() {
        let r = registry();
        for name in [
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "FileStreamSinkConnector",
            "FileStreamSink",
            " FileStreamSink ",
        ] {
            assert_eq!(
                r.connector(name).unwrap().class_name,
                "org.apache.kafka.connect.file.FileStreamSinkConnector"
            );
        }
    }

    #[test]
    fn a_connector_answers_to_the_further_names_it_declares() {
        let mut r = PluginRegistry::new();
        r.add_connectors([ConnectorPlugin {
            class_name: "io.sluice.Gen",
            aliases: &["com.elsewhere.GenConnector"],
            factory: ConnectorFactory::Source(no_source),
        }]);
        for name in ["com.elsewhere.GenConnector", "io.sluice.Gen", "Gen"] {
            assert_eq!(r.connector(name).unwrap().class_name, "io.sluice.Gen");
        }
        assert!(r
            .aliases_of("io.sluice.Gen")
            .contains(&"com.elsewhere.GenConnector"));
        assert!(
            r.connector("GenConnector").is_err(),
            "only the names declared"
        );
    }

    #[test]
    fn unknown_connector_lists_the_available_ones() {
        let err = registry().connector("Nope").err().unwrap().to_string();
        assert_eq!(
            err,
            "Failed to find any class that implements Connector and which name matches Nope, \
             available connectors are: org.apache.kafka.connect.file.FileStreamSourceConnector, \
             org.apache.kafka.connect.file.FileStreamSinkConnector, com.a.Twin, com.b.TwinConnector"
        );
    }

    #[test]
    fn ambiguous_connector_alias_is_an_error() {
        let err = registry().connector("Twin").err().unwrap().to_string();
        assert_eq!(
            err,
            "More than one connector matches alias Twin. Please use full package and class name \
             instead. Classes found: com.a.Twin, com.b.TwinConnector"
        );
        assert!(registry().connector("com.a.Twin").is_ok());
    }

    #[test]
    fn converter_aliases() {
        let r = registry();
        assert!(r.converter("JsonConverter").is_ok());
        assert!(r.converter("Json").is_ok());
        assert!(r.header_converter("Json").is_ok());
        assert!(r.header_converter("Simple").is_ok());
        assert!(r.header_converter("SimpleHeaderConverter").is_ok());
        // A header-only converter is not a key/value converter.
        assert_eq!(
            r.converter("SimpleHeaderConverter")
                .err()
                .unwrap()
                .to_string(),
            "Class SimpleHeaderConverter could not be found."
        );
        assert_eq!(
            r.aliases_of("org.apache.kafka.connect.json.JsonConverter"),
            ["JsonConverter", "Json"]
        );
    }

    #[test]
    fn nested_transformation_classes_have_outer_dollar_inner_aliases() {
        let mut r = PluginRegistry::new();
        let cast = |class_name| TransformationPlugin {
            class_name,
            config_def: ConfigDef::new,
            create: |_| Err(sluice_api::ConnectError::connect("unused")),
        };
        r.add_transformations([
            cast("org.apache.kafka.connect.transforms.Cast$Key"),
            cast("org.apache.kafka.connect.transforms.Cast$Value"),
            cast("org.apache.kafka.connect.transforms.RegexRouter"),
            cast("org.apache.kafka.connect.transforms.Flatten$Value"),
        ]);
        assert_eq!(
            r.transformation("Cast$Value").unwrap().class_name,
            "org.apache.kafka.connect.transforms.Cast$Value"
        );
        assert!(r.transformation("RegexRouter").is_ok());
        // `Value` names two classes: no alias.
        assert!(r.transformation("Value").is_err());
        assert_eq!(nested_name("a.b.Cast$Value"), "Cast$Value");
    }

    #[test]
    fn a_transformation_and_a_predicate_may_share_a_simple_name() {
        let mut r = PluginRegistry::new();
        r.add_transformations([TransformationPlugin {
            class_name: "io.example.transforms.Expression",
            config_def: ConfigDef::new,
            create: |_| Err(sluice_api::ConnectError::connect("unused")),
        }]);
        r.add_predicates([PredicatePlugin {
            class_name: "io.example.transforms.predicates.Expression",
            config_def: ConfigDef::new,
            create: |_| Err(sluice_api::ConnectError::connect("unused")),
        }]);
        assert_eq!(
            r.transformation("Expression").unwrap().class_name,
            "io.example.transforms.Expression"
        );
        assert_eq!(
            r.predicate("Expression").unwrap().class_name,
            "io.example.transforms.predicates.Expression"
        );
        assert_eq!(
            r.aliases_of("io.example.transforms.predicates.Expression"),
            ["Expression"]
        );
    }

    #[test]
    fn simple_names() {
        assert_eq!(simple_name("a.b.Cast$Value"), "Value");
        assert_eq!(simple_name("Plain"), "Plain");
    }
}

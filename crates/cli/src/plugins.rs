//! The one place where the binary's plugins are registered, and `sluice plugins`.

use sluice_runtime::plugins::PluginRegistry;

/// Every connector, converter, transformation and predicate built into this binary.
pub fn registry() -> PluginRegistry {
    let mut registry = PluginRegistry::new();
    registry.add_connectors(sluice_connector_file::plugins());
    registry.add_connectors(sluice_connector_datagen::plugins());
    registry.add_converters(sluice_convert::plugins());
    registry.add_transformations(sluice_transforms::transformations());
    registry.add_predicates(sluice_transforms::predicates());
    registry
}

/// Prints the registered plugins as a table or as JSON (shaped like `GET /connector-plugins`
/// entries, plus aliases).
pub fn print(registry: &PluginRegistry, json: bool) {
    let version = env!("CARGO_PKG_VERSION");
    let mut rows: Vec<(String, &str, Vec<&str>)> = Vec::new();
    for c in registry.connectors() {
        rows.push((
            c.class_name.to_string(),
            c.kind(),
            registry.aliases_of(c.class_name),
        ));
    }
    for c in registry.converters() {
        if c.create.is_some() {
            rows.push((
                c.class_name.to_string(),
                "converter",
                registry.aliases_of(c.class_name),
            ));
        }
        if c.create_header.is_some() {
            rows.push((
                c.class_name.to_string(),
                "header_converter",
                registry.aliases_of(c.class_name),
            ));
        }
    }
    for t in registry.transformations() {
        rows.push((
            t.class_name.to_string(),
            "transformation",
            registry.aliases_of(t.class_name),
        ));
    }
    for p in registry.predicates() {
        rows.push((
            p.class_name.to_string(),
            "predicate",
            registry.aliases_of(p.class_name),
        ));
    }
    if json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|(class, kind, aliases)| {
                serde_json::json!({
                    "class": class,
                    "type": kind,
                    "version": version,
                    "aliases": aliases,
                })
            })
            .collect();
        crate::out(format_args!("{}", serde_json::Value::Array(list)));
        return;
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    crate::out(format_args!("{:<width$}  {:<16}  ALIASES", "CLASS", "TYPE"));
    for (class, kind, aliases) in rows {
        crate::out(format_args!(
            "{class:<width$}  {kind:<16}  {}",
            aliases.join(", ")
        ));
    }
}

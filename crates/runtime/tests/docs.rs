//! docs/standalone.md lists the worker keys and the common connector keys as the code
//! declares them.

use std::path::Path;

use sluice_runtime::connector_config::{connector_config_def, ConnectorKind};
use sluice_runtime::worker_config::worker_config_def;

fn check(section: &str, content: &str) {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/standalone.md");
    let bless = std::env::var_os("SLUICE_BLESS_DOCS").is_some();
    if let Err(message) = sluice_api::docgen::sync_generated_section(&doc, section, content, bless)
    {
        panic!("{message}");
    }
}

#[test]
fn worker_and_connector_key_tables_match_the_code() {
    check("worker keys", &worker_config_def().markdown_table());
    let mut common = connector_config_def(None).markdown_table();
    for (kind, title) in [
        (ConnectorKind::Sink, "Sink connectors also have"),
        (ConnectorKind::Source, "Source connectors also have"),
    ] {
        let all = connector_config_def(Some(kind));
        let extra = all
            .keys()
            .iter()
            .filter(|k| connector_config_def(None).key(&k.name).is_none());
        let mut def = sluice_api::config::ConfigDef::new();
        for key in extra {
            def = def.define(key.clone());
        }
        if !def.keys().is_empty() {
            common.push_str(&format!("\n{title}:\n\n{}", def.markdown_table()));
        }
    }
    check("common connector keys", &common);
}

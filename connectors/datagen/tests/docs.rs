//! The user docs and example stay in sync with the code: the key table in
//! `docs/connectors/datagen.md` is generated from the ConfigDef, and the example validates.

mod common;

use common::{check_generated_section, workspace_root};
use sluice_api::prelude::*;
use sluice_connector_datagen::{datagen_config_def, plugins, DatagenConnector, DATAGEN_CLASS};

#[test]
fn docs_key_table_matches_the_config_def() {
    let doc = workspace_root().join("docs/connectors/datagen.md");
    check_generated_section(&doc, "datagen keys", &datagen_config_def().markdown_table());
}

#[test]
fn example_config_validates() {
    let path = workspace_root().join("examples/datagen-orders.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["name"], "datagen-orders");
    let config: ConfigMap = json["config"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        config.get("connector.class").map(String::as_str),
        Some("Datagen")
    );
    let errors: Vec<String> = DatagenConnector::default()
        .validate(&config)
        .into_iter()
        .flat_map(|r| r.errors)
        .collect();
    assert_eq!(errors, Vec::<String>::new());
}

#[test]
fn quickstart_properties_validate() {
    let path = workspace_root().join("examples/quickstart/datagen-orders.properties");
    let text = std::fs::read_to_string(&path).unwrap();
    let config: ConfigMap = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    assert_eq!(
        config.get("connector.class").map(String::as_str),
        Some("Datagen")
    );
    let errors: Vec<String> = DatagenConnector::default()
        .validate(&config)
        .into_iter()
        .flat_map(|r| r.errors)
        .collect();
    assert_eq!(errors, Vec::<String>::new());
}

#[test]
fn plugin_class_name() {
    let plugins = plugins();
    assert_eq!(plugins.len(), 1);
    assert_eq!(plugins[0].class_name, DATAGEN_CLASS);
    assert_eq!(plugins[0].kind(), "source");
    assert_eq!(DATAGEN_CLASS, "io.sluice.connect.datagen.DatagenConnector");
}

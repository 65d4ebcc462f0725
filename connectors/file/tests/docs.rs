//! The user docs and examples stay in sync with the code: the key tables in
//! `docs/connectors/file.md` are generated from the connectors' ConfigDefs, and the example
//! configs validate.

mod common;

use common::{check_generated_section, read_properties, workspace_root};
use sluice_api::prelude::*;
use sluice_connector_file::{
    plugins, sink_config_def, source_config_def, FileStreamSinkConnector,
    FileStreamSourceConnector, SINK_CLASS, SOURCE_CLASS,
};

#[test]
fn docs_key_tables_match_the_config_defs() {
    let doc = workspace_root().join("docs/connectors/file.md");
    check_generated_section(&doc, "source keys", &source_config_def().markdown_table());
    check_generated_section(&doc, "sink keys", &sink_config_def().markdown_table());
}

fn errors(reports: Vec<sluice_api::config::ConfigValueReport>) -> Vec<String> {
    reports
        .into_iter()
        .flat_map(|r| {
            r.errors
                .into_iter()
                .map(move |e| format!("{}: {e}", r.name))
        })
        .collect()
}

#[test]
fn example_configs_validate() {
    let source = read_properties(&workspace_root().join("examples/file-source.properties"));
    assert_eq!(
        source.get("connector.class").map(String::as_str),
        Some("FileStreamSource")
    );
    assert_eq!(
        errors(FileStreamSourceConnector::default().validate(&source)),
        Vec::<String>::new()
    );
    let sink = read_properties(&workspace_root().join("examples/file-sink.properties"));
    assert_eq!(
        sink.get("connector.class").map(String::as_str),
        Some("FileStreamSink")
    );
    assert_eq!(
        errors(FileStreamSinkConnector::default().validate(&sink)),
        Vec::<String>::new()
    );
}

#[test]
fn quickstart_sink_config_validates() {
    let sink =
        read_properties(&workspace_root().join("examples/quickstart/orders-to-stdout.properties"));
    assert_eq!(
        sink.get("connector.class").map(String::as_str),
        Some("FileStreamSink")
    );
    assert_eq!(
        errors(FileStreamSinkConnector::default().validate(&sink)),
        Vec::<String>::new()
    );
}

#[test]
fn plugins_carry_kafka_class_names() {
    let names: Vec<(&str, &str)> = plugins().iter().map(|p| (p.class_name, p.kind())).collect();
    assert_eq!(names, [(SOURCE_CLASS, "source"), (SINK_CLASS, "sink")]);
    assert_eq!(
        SOURCE_CLASS,
        "org.apache.kafka.connect.file.FileStreamSourceConnector"
    );
    assert_eq!(
        SINK_CLASS,
        "org.apache.kafka.connect.file.FileStreamSinkConnector"
    );
}

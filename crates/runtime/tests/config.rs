//! Config loading and validation: every problem reported at once, each naming its key (and
//! file).

mod common;

use std::path::PathBuf;

use common::*;
use sluice_runtime::connector_config::{validate_connector_config, ConnectorConfig};
use sluice_runtime::herder::StandaloneSetup;
use sluice_runtime::worker_config::WorkerConfig;
use sluice_runtime::RuntimeError;

fn issues(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    validate_connector_config(&map(pairs), &registry())
        .issues()
        .into_iter()
        .map(|i| (i.key, i.message))
        .collect()
}

fn keys(found: &[(String, String)]) -> Vec<&str> {
    found.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn sink_config_reports_every_error_with_its_key() {
    let found = issues(&[
        ("connector.class", "RecordingSinkConnector"),
        ("tasks.max", "0"),
        ("key.converter", "NoSuchConverter"),
        ("value.converter", "Json"),
        ("value.converter.schemas.enable", "maybe"),
        ("topics", "a"),
        ("topics.regex", "b.*"),
        ("transforms", "x,x,y"),
        (
            "transforms.x.type",
            "org.apache.kafka.connect.transforms.Cast$Value",
        ),
        ("transforms.x.negate", "true"),
        ("errors.tolerance", "ALL"),
        ("errors.deadletterqueue.topic.name", "a"),
    ]);
    let k = keys(&found);
    for key in [
        "name",
        "tasks.max",
        "key.converter",
        "value.converter.schemas.enable",
        "topics",
        "topics.regex",
        "transforms",
        "transforms.x.type",
        "transforms.x.negate",
        "transforms.y.type",
        "errors.tolerance",
        "errors.deadletterqueue.topic.name",
        "store",
    ] {
        assert!(k.contains(&key), "no error for {key}: {found:#?}");
    }
    let message = |key: &str| {
        found
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        message("tasks.max"),
        ["Invalid value 0 for configuration tasks.max: Value must be at least 1"]
    );
    assert_eq!(
        message("topics"),
        ["topics and topics.regex are mutually exclusive options, but both are set."]
    );
    assert_eq!(message("topics.regex"), message("topics"));
    assert_eq!(message("transforms"), ["Duplicate alias provided."]);
    assert_eq!(
        message("key.converter"),
        ["Invalid value NoSuchConverter for configuration key.converter: Class NoSuchConverter could not be found."]
    );
    assert!(message("transforms.x.type")[0].contains("could not be found"));
    assert_eq!(
        message("transforms.y.type"),
        ["Missing required configuration \"transforms.y.type\" which has no default value."]
    );
    assert!(message("errors.tolerance")[0].contains("ALL"));
    assert_eq!(
        message("errors.deadletterqueue.topic.name"),
        ["The DLQ topic 'a' may not be included in the list of topics ('topics=[a]') consumed by the connector"]
    );
    assert_eq!(
        message("name"),
        ["Missing required configuration \"name\" which has no default value."]
    );
}

#[test]
fn error_handling_keys_are_accepted() {
    let found = issues(&[
        ("name", "s"),
        ("connector.class", SINK_CLASS),
        ("store", "x"),
        ("topics", "in"),
        ("errors.tolerance", "all"),
        ("errors.retry.timeout", "-1"),
        ("errors.retry.delay.max.ms", "1000"),
        ("errors.log.enable", "true"),
        ("errors.log.include.messages", "true"),
        ("errors.deadletterqueue.topic.name", "in-dlq"),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ]);
    assert_eq!(found, []);
    let found = issues(&[
        ("name", "s"),
        ("connector.class", SINK_CLASS),
        ("store", "x"),
        ("topics.regex", "in.*"),
        ("errors.deadletterqueue.topic.name", "in-dlq"),
    ]);
    assert_eq!(
        found,
        [(
            "errors.deadletterqueue.topic.name".to_string(),
            "The DLQ topic 'in-dlq' may not be matched by the regex for the topics ('topics.regex=in.*') consumed by the connector".to_string()
        )]
    );
}

#[test]
fn sink_needs_topics_or_regex() {
    let found = issues(&[
        ("name", "s"),
        ("connector.class", SINK_CLASS),
        ("store", "x"),
    ]);
    assert_eq!(
        found,
        [
            (
                "topics".to_string(),
                "Must configure one of topics or topics.regex".to_string()
            ),
            (
                "topics.regex".to_string(),
                "Must configure one of topics or topics.regex".to_string()
            ),
        ]
    );
    let found = issues(&[
        ("name", "s"),
        ("connector.class", SINK_CLASS),
        ("store", "x"),
        ("topics.regex", "a("),
    ]);
    assert_eq!(keys(&found), ["topics.regex"]);
    assert!(found[0].1.contains("Invalid regex"), "{found:?}");
}

#[test]
fn unknown_connector_class_lists_the_available_ones() {
    let found = issues(&[("name", "n"), ("connector.class", "Nope")]);
    assert_eq!(keys(&found), ["connector.class"]);
    assert_eq!(
        found[0].1,
        format!("Failed to find any class that implements Connector and which name matches Nope, available connectors are: {SOURCE_CLASS}, {SINK_CLASS}")
    );
}

#[test]
fn source_rejects_unsupported_features() {
    let found = issues(&[
        ("name", "n"),
        ("connector.class", "CountingSource"),
        ("topic", "t"),
        ("topic.creation.default.partitions", "3"),
        ("exactly.once.support", "required"),
        ("errors.retry.timeout", "1000"),
        ("errors.deadletterqueue.topic.name", "ignored-for-sources"),
    ]);
    // Retries are supported; a DLQ on a source is ignored (with a warning), as in Kafka.
    assert_eq!(
        keys(&found),
        ["exactly.once.support", "topic.creation.default.partitions"]
    );
}

#[test]
fn a_valid_config_parses_with_overrides() {
    let c = ConnectorConfig::parse(
        &map(&[
            ("name", "s"),
            ("connector.class", "RecordingSink"),
            ("store", "x"),
            ("topics", "a, b"),
            ("tasks.max", "3"),
            ("value.converter", "Json"),
            ("value.converter.schemas.enable", "false"),
            ("consumer.override.group.id", "custom"),
            ("admin.override.request.timeout.ms", "5000"),
        ]),
        &registry(),
    )
    .unwrap();
    assert_eq!(c.tasks_max, 3);
    assert_eq!(
        c.subscription,
        Some(sluice_log::Subscription::Topics(vec![
            "a".into(),
            "b".into()
        ]))
    );
    let value = c.value_converter.unwrap();
    assert_eq!(value.class, "Json");
    assert_eq!(value.config["schemas.enable"], "false");
    assert!(c.key_converter.is_none());
    assert_eq!(c.consumer_overrides["group.id"], "custom");
    assert_eq!(c.admin_overrides["request.timeout.ms"], "5000");
    assert!(!c.consumer_overrides.contains_key("request.timeout.ms"));
}

#[test]
fn worker_config_errors_and_warnings() {
    let err = WorkerConfig::parse(
        &map(&[
            ("bootstrap.servers", " , "),
            ("value.converter", "Nope"),
            ("offset.flush.interval.ms", "soon"),
            ("consumer.max.poll.records", "0"),
        ]),
        &registry(),
    )
    .err()
    .unwrap();
    let k: Vec<&str> = err.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        k,
        [
            "key.converter",
            "offset.storage.file.filename",
            "offset.flush.interval.ms",
            "consumer.max.poll.records",
            "value.converter",
            "bootstrap.servers"
        ],
        "{err:#?}"
    );
    assert_eq!(
        err[0].message,
        "Missing required configuration \"key.converter\" which has no default value."
    );
    assert!(
        err[5]
            .message
            .contains("'bootstrap.servers' names no server"),
        "{}",
        err[5].message
    );

    let ok = WorkerConfig::parse(
        &map(&[
            ("key.converter", "String"),
            ("value.converter", "Json"),
            ("value.converter.schemas.enable", "false"),
            ("offset.storage.file.filename", "/tmp/o"),
            ("plugin.path", "/opt/plugins"),
            ("rest.port", "8083"),
            ("consumer.max.poll.records", "2000"),
            ("some.unknown.key", "x"),
            ("embedded.log.num.partitions", "4"),
        ]),
        &registry(),
    )
    .unwrap();
    assert_eq!(ok.max_poll_records, 2000);
    assert_eq!(ok.embedded_log.num_partitions, 4);
    assert_eq!(ok.embedded_log.dir, PathBuf::from("./sluice-data"));
    assert_eq!(
        ok.header_converter.class,
        "org.apache.kafka.connect.storage.SimpleHeaderConverter"
    );
    assert_eq!(ok.offset_flush_interval, std::time::Duration::from_secs(60));
    assert_eq!(ok.warnings.len(), 2, "{:?}", ok.warnings);
    assert!(ok.warnings.iter().any(|w| w.contains("plugin.path")));
    assert!(ok.warnings.iter().any(|w| w.contains("rest.port")));
}

#[test]
fn bootstrap_servers_select_kafka_and_the_policy_is_read() {
    use sluice_runtime::backend::LogBackend;
    use sluice_runtime::client_overrides::OverridePolicy;
    let config = WorkerConfig::parse(
        &map(&[
            ("key.converter", "String"),
            ("value.converter", "String"),
            ("offset.storage.file.filename", "/tmp/o"),
            ("bootstrap.servers", "k1:9092,k2:9092"),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("producer.linger.ms", "10"),
            ("embedded.log.dir", "/tmp/unused"),
            ("connector.client.config.override.policy", "Principal"),
        ]),
        &registry(),
    )
    .unwrap();
    let LogBackend::Kafka(kafka) = &config.backend else {
        panic!("{:?}", config.backend)
    };
    assert_eq!(kafka.bootstrap_servers, "k1:9092,k2:9092");
    assert_eq!(kafka.common["security.protocol"], "SASL_PLAINTEXT");
    assert_eq!(kafka.producer["linger.ms"], "10");
    assert_eq!(config.client_override_policy, OverridePolicy::Principal);
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.contains("'embedded.log.dir' is ignored")),
        "{:?}",
        config.warnings
    );
    let err = WorkerConfig::parse(
        &map(&[
            ("key.converter", "String"),
            ("value.converter", "String"),
            ("offset.storage.file.filename", "/tmp/o"),
            ("connector.client.config.override.policy", "Some"),
        ]),
        &registry(),
    )
    .unwrap_err();
    assert_eq!(
        err[0].key, "connector.client.config.override.policy",
        "{err:?}"
    );
    assert!(
        err[0].message.contains("expected None, Principal or All"),
        "{err:?}"
    );
}

#[test]
fn standalone_setup_reports_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let worker = dir.path().join("worker.properties");
    std::fs::write(
        &worker,
        "# a worker\nkey.converter=String\nvalue.converter=\\\n    String\n\
         offset.storage.file.filename=/tmp/x\n",
    )
    .unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        format!(r#"{{"name":"g","config":{{"connector.class":"{SINK_CLASS}","topics":"t","store":"s","tasks.max":2}}}}"#),
    )
    .unwrap();
    let bad = dir.path().join("bad.properties");
    std::fs::write(
        &bad,
        "name=b\nconnector.class=RecordingSink\ntasks.max=-1\n",
    )
    .unwrap();
    let same_name = dir.path().join("same.properties");
    std::fs::write(
        &same_name,
        format!("name=g\nconnector.class={SINK_CLASS}\ntopics=t\nstore=s\n"),
    )
    .unwrap();
    let errors = StandaloneSetup::load(&worker, &[good.clone(), bad, same_name], &registry())
        .err()
        .unwrap();
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(
        texts[0].contains("bad.properties") && texts[0].contains("tasks.max"),
        "{}",
        texts[0]
    );
    assert!(
        texts[0].contains("topics") && texts[0].contains("store"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("same.properties") && texts[1].contains("already used"),
        "{}",
        texts[1]
    );
    assert!(matches!(errors[0], RuntimeError::InvalidConfig { .. }));

    let setup = StandaloneSetup::load(&worker, &[good], &registry()).unwrap();
    assert_eq!(setup.connectors[0].1.name, "g");
    assert_eq!(setup.connectors[0].1.tasks_max, 2);
    assert_eq!(setup.worker.value_converter.class, "String");
}

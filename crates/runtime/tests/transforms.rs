//! Transformation chains in the task loops: applied after `poll` on the source side and
//! before `put` on the sink side, dropped records' offsets still committed, a failing
//! transformation failing the task with the stage, alias and record location.
//!
//! The transformations here are test plugins, so these tests do not depend on which SMTs the
//! build has.

mod common;

use std::sync::Arc;

use common::*;
use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType};
use sluice_api::data::Value;
use sluice_api::transform::{
    Outcome, Predicate, PredicatePlugin, Transformation, TransformationPlugin,
};
use sluice_api::{ConnectError, ConnectRecord, Result};
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{Log, TopicPartition as LogTp};
use sluice_runtime::connector_config::{validate_connector_config, ConnectorConfig};
use sluice_runtime::offsets::{codec, FileOffsetStore, OffsetStore};
use sluice_runtime::plugins::PluginRegistry;
use sluice_runtime::status::State;
use sluice_runtime::worker::Worker;

fn number(record: &ConnectRecord) -> Result<i64> {
    match &record.value {
        Value::String(s) => s
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .map_err(|e| ConnectError::data(format!("not a number: {s} ({e})"))),
        other => Err(ConnectError::data(format!("not a string: {other:?}"))),
    }
}

/// Drops records whose number is at least `min`.
struct DropFrom(i64);

impl Transformation for DropFrom {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        Ok(if number(record)? < self.0 {
            Outcome::Keep
        } else {
            Outcome::Drop
        })
    }
}

/// Appends `suffix` to the value.
struct Suffix(String);

impl Transformation for Suffix {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if let Value::String(s) = &mut record.value {
            s.push_str(&self.0);
        }
        Ok(Outcome::Keep)
    }
}

/// Fails on the record numbered `at`.
struct FailAt(i64);

impl Transformation for FailAt {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if number(record)? == self.0 {
            return Err(ConnectError::data(format!("cannot take {}", self.0)));
        }
        Ok(Outcome::Keep)
    }
}

/// True for odd numbers.
struct IsOdd;

impl Predicate for IsOdd {
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        Ok(number(record)? % 2 == 1)
    }
}

fn number_key(name: &str) -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new(name, ConfigType::Long))
}

fn long(props: &ConfigMap, key: &str) -> i64 {
    props[key].trim().parse().unwrap()
}

fn registry_with_transforms() -> Arc<PluginRegistry> {
    let mut r = PluginRegistry::new();
    r.add_connectors(registry().connectors().to_vec());
    r.add_converters(sluice_convert::plugins());
    r.add_transformations([
        TransformationPlugin {
            class_name: "test.DropFrom",
            config_def: || number_key("min"),
            create: |p| Ok(Box::new(DropFrom(long(p, "min")))),
        },
        TransformationPlugin {
            class_name: "test.Suffix",
            config_def: || ConfigDef::new().define(ConfigKey::new("suffix", ConfigType::String)),
            create: |p| Ok(Box::new(Suffix(p["suffix"].clone()))),
        },
        TransformationPlugin {
            class_name: "test.FailAt",
            config_def: || number_key("at"),
            create: |p| Ok(Box::new(FailAt(long(p, "at")))),
        },
    ]);
    r.add_predicates([PredicatePlugin {
        class_name: "test.predicates.IsOdd",
        config_def: ConfigDef::new,
        create: |_| Ok(Box::new(IsOdd)),
    }]);
    Arc::new(r)
}

fn connector(registry: &PluginRegistry, pairs: &[(&str, &str)]) -> ConnectorConfig {
    ConnectorConfig::parse(&map(pairs), registry).unwrap()
}

fn source_seq(store: &dyn OffsetStore, name: &str) -> Option<i64> {
    let partition = sluice_api::OffsetMap::new().with("source", name.to_string());
    let value = store.get(&codec::offset_key(name, &partition))?;
    match codec::parse_offset_value(&value).unwrap().get("seq") {
        Some(Value::Int64(n)) => Some(*n),
        other => panic!("unexpected offset {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_run_on_both_sides_and_dropped_records_offsets_are_committed() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(&dir.path().join("data"), EmbeddedLogOptions::default()).unwrap();
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let plugins = registry_with_transforms();
    let worker = Worker::new(config, plugins.clone(), log.clone(), offsets.clone());
    let topic = unique("numbers");
    let store = unique("store");
    // Sink side: odd numbers get "-odd", then everything from 40 on is dropped.
    worker
        .start_connector(connector(
            &plugins,
            &[
                ("name", "sink"),
                ("connector.class", "RecordingSink"),
                ("topics", &topic),
                ("store", &store),
                ("transforms", "odd,cut"),
                ("transforms.odd.type", "test.Suffix"),
                ("transforms.odd.suffix", "-odd"),
                ("transforms.odd.predicate", "isOdd"),
                ("transforms.cut.type", "test.DropFrom"),
                ("transforms.cut.min", "40"),
                ("predicates", "isOdd"),
                ("predicates.isOdd.type", "test.predicates.IsOdd"),
            ],
        ))
        .await
        .unwrap();
    // Source side: records from 50 on are dropped; the last batches are dropped entirely.
    worker
        .start_connector(connector(
            &plugins,
            &[
                ("name", "src"),
                ("connector.class", "CountingSource"),
                ("topic", &topic),
                ("records", "80"),
                ("batch.size", "10"),
                ("transforms", "cut,mark"),
                ("transforms.cut.type", "DropFrom"),
                ("transforms.cut.min", "50"),
                ("transforms.mark.type", "test.Suffix"),
                ("transforms.mark.suffix", "!"),
            ],
        ))
        .await
        .unwrap();

    // Every offset of the source, dropped records' included, is committed.
    wait_until("the source offset of the last (dropped) record", || {
        source_seq(&*offsets, "src") == Some(80)
    })
    .await;
    wait_until("50 records through the sink", || {
        sink_store(&store).pre_commit_seen.get(&(topic.clone(), 0)) == Some(&50)
    })
    .await;
    let seen = sink_store(&store);
    let values: Vec<&str> = seen.records.iter().map(|r| r.4.as_str()).collect();
    let expected: Vec<String> = (0..40)
        .map(|n| {
            if n % 2 == 1 {
                format!("{n}!-odd")
            } else {
                format!("{n}!")
            }
        })
        .collect();
    assert_eq!(values, expected);
    // Sink records keep their log offsets; the dropped tail (40..49) still counts as
    // processed (pre_commit was offered offset 50 above).
    let offsets_put: Vec<i64> = seen.records.iter().map(|r| r.3).collect();
    assert_eq!(offsets_put, (0..40).collect::<Vec<i64>>());

    let src = worker.task_counters(&task_id("src")).unwrap();
    assert_eq!(
        src.dropped.load(std::sync::atomic::Ordering::Relaxed),
        30,
        "records 50..79 were dropped at the source"
    );
    let sink = worker.task_counters(&task_id("sink")).unwrap();
    assert_eq!(sink.dropped.load(std::sync::atomic::Ordering::Relaxed), 10);
    worker.stop().await;
    // The sink group committed past the dropped tail.
    let group = log.admin().group_offsets("connect-sink").await.unwrap();
    assert_eq!(group, vec![(LogTp::new(topic.as_str(), 0), 50)]);
    log.close().await.unwrap();
}

fn task_id(connector: &str) -> sluice_runtime::status::ConnectorTaskId {
    sluice_runtime::status::ConnectorTaskId {
        connector: Arc::from(connector),
        task: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_transformation_fails_the_task_naming_stage_alias_and_location() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(&dir.path().join("data"), EmbeddedLogOptions::default()).unwrap();
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let plugins = registry_with_transforms();
    let worker = Worker::new(config, plugins.clone(), log.clone(), offsets);
    let topic = unique("numbers");
    let other = unique("other");
    worker
        .start_connector(connector(
            &plugins,
            &[
                ("name", "sink-fails"),
                ("connector.class", "RecordingSink"),
                ("topics", &topic),
                ("store", &unique("store")),
                ("transforms", "boom"),
                ("transforms.boom.type", "test.FailAt"),
                ("transforms.boom.at", "13"),
            ],
        ))
        .await
        .unwrap();
    worker
        .start_connector(connector(
            &plugins,
            &[
                ("name", "src"),
                ("connector.class", "CountingSource"),
                ("topic", &topic),
                ("records", "30"),
            ],
        ))
        .await
        .unwrap();
    // A failing record fails its whole batch: nothing of it is written.
    worker
        .start_connector(connector(
            &plugins,
            &[
                ("name", "src-fails"),
                ("connector.class", "CountingSource"),
                ("topic", &other),
                ("records", "30"),
                ("transforms", "boom"),
                ("transforms.boom.type", "test.FailAt"),
                ("transforms.boom.at", "20"),
            ],
        ))
        .await
        .unwrap();
    let failed = |name: &str| {
        worker
            .connector_status(name)
            .is_some_and(|s| s.tasks.first().is_some_and(|t| t.1.state == State::Failed))
    };
    wait_until("both tasks to fail", || {
        failed("sink-fails") && failed("src-fails")
    })
    .await;
    let trace = |name: &str| {
        worker.connector_status(name).unwrap().tasks[0]
            .1
            .trace
            .clone()
            .unwrap()
    };
    let sink_trace = trace("sink-fails");
    assert!(
        sink_trace.starts_with(&format!(
            "org.apache.kafka.connect.errors.DataException: TRANSFORMATION failed for record at \
             topic '{topic}', partition 0, offset 13: transformation 'boom' (test.FailAt) \
             failed: cannot take 13"
        )),
        "{sink_trace}"
    );
    let src_trace = trace("src-fails");
    assert!(
        src_trace.starts_with(&format!(
            "org.apache.kafka.connect.errors.DataException: TRANSFORMATION failed for record at \
             topic '{other}': transformation 'boom' (test.FailAt) failed: cannot take 20"
        )),
        "{src_trace}"
    );
    worker.stop().await;
    log.close().await.unwrap();
}

#[test]
fn validation_names_full_transformation_keys() {
    let plugins = registry_with_transforms();
    let validation = validate_connector_config(
        &map(&[
            ("name", "s"),
            ("connector.class", "RecordingSink"),
            ("topics", "t"),
            ("store", "x"),
            ("transforms", "cut,odd,x"),
            ("transforms.cut.type", "test.DropFrom"),
            ("transforms.odd.type", "Suffix"),
            ("transforms.odd.suffix", "!"),
            ("transforms.odd.predicate", "isOdd"),
            ("transforms.x.type", "Nope"),
        ]),
        &plugins,
    );
    let issues: Vec<(String, String)> = validation
        .issues()
        .into_iter()
        .map(|i| (i.key, i.message))
        .collect();
    assert_eq!(
        issues,
        [
            (
                "transforms.cut.min".to_string(),
                "Missing required configuration \"transforms.cut.min\" which has no default value."
                    .to_string()
            ),
            (
                "transforms.odd.predicate".to_string(),
                "Invalid value isOdd for configuration transforms.odd.predicate: the predicate \
                 alias 'isOdd' of transformation 'odd' is not listed in 'predicates'"
                    .to_string()
            ),
            (
                "transforms.x.type".to_string(),
                "Invalid value Nope for configuration transforms.x.type: Class Nope could not be \
                 found."
                    .to_string()
            ),
        ]
    );
    // Valid keys of transformations appear in the answer with their values.
    let suffix = validation
        .reports
        .iter()
        .find(|r| r.name == "transforms.odd.suffix")
        .unwrap();
    assert_eq!(suffix.value.as_deref(), Some("!"));
}

//! The internal-topic stores on a Kafka cluster (the test broker, or
//! `$SLUICE_KAFKA_BOOTSTRAP`): created compacted with the configured partitions, a
//! multi-record write read back whole by its writer and by a store opened later, and bad
//! topic names refused with the worker key that holds them.

use std::sync::Arc;

use sluice_api::config::ConfigMap;
use sluice_log::Log;
use sluice_runtime::backend::{open_log, KafkaSettings, LogBackend};
use sluice_runtime::storage::{ConfigStore, InternalTopic, StorageError, StoreOptions};

fn config(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The log as a worker opens it (so with the worker's client settings).
async fn kafka() -> Arc<dyn Log> {
    let settings =
        KafkaSettings::from_props(&sluice_kafka::testing::bootstrap(), &ConfigMap::new()).unwrap();
    open_log(&LogBackend::Kafka(settings)).await.unwrap().log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_configs_written_in_one_batch_are_read_back_whole() {
    let log = kafka().await;
    let topic = InternalTopic::new(sluice_kafka::testing::unique_topic("configs"), 1, 1);
    let options = StoreOptions::default();
    let store = ConfigStore::open(log.as_ref(), &topic, &options, None)
        .await
        .unwrap();
    store
        .put_connector_config("c", &config(&[("connector.class", "X")]), None)
        .await
        .unwrap();
    let tasks: Vec<ConfigMap> = (0..7)
        .map(|n| config(&[("task", &n.to_string())]))
        .collect();
    store.put_task_configs("c", &tasks).await.unwrap();
    // The writer sees its whole write when the call returns.
    let snapshot = store.snapshot();
    assert_eq!(snapshot.task_count("c"), 7);
    assert_eq!(snapshot.tasks("c").len(), 7);

    // A store opened later reads everything from the beginning.
    let other = ConfigStore::open(log.as_ref(), &topic, &options, None)
        .await
        .unwrap();
    let snapshot = other.snapshot();
    assert_eq!(
        snapshot.connector_config("c").unwrap()["connector.class"],
        "X"
    );
    assert_eq!(snapshot.tasks("c").len(), 7);
    let description = log.admin().describe_topic(&topic.name).await.unwrap();
    assert_eq!(description.partitions.len(), 1);
    match description.configs.get("cleanup.policy") {
        Some(policy) => assert_eq!(policy, "compact"),
        None => eprintln!(
            "GAP(test broker: topic settings reported as defaults): compaction of '{}' not \
             checked",
            topic.name
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_internal_topic_name_names_the_worker_key() {
    let log = kafka().await;
    let topic = InternalTopic::new("bad configs topic", 1, 1);
    let err = ConfigStore::open(log.as_ref(), &topic, &StoreOptions::default(), None)
        .await
        .err()
        .unwrap();
    let StorageError::TopicSetup { key, message } = err else {
        panic!("{err}")
    };
    assert_eq!(key, "config.storage.topic");
    assert!(
        message.contains("'bad configs topic' contains ' '"),
        "{message}"
    );
}

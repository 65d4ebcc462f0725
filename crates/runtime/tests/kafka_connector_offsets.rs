//! A connector-specific offsets topic on a Kafka cluster (the test broker, or
//! `$SLUICE_KAFKA_BOOTSTRAP`): writes land in the connector's topic and are copied to the
//! worker's, reads prefer the connector's topic and fall back to the worker's, a reset
//! reaches both, and a bad topic name is refused naming `offsets.storage.topic`.

use std::sync::Arc;

use sluice_api::config::ConfigMap;
use sluice_api::OffsetMap;
use sluice_log::Log;
use sluice_runtime::backend::{open_log, KafkaSettings, LogBackend};
use sluice_runtime::offsets::{codec, OffsetStore};
use sluice_runtime::storage::{
    ConnectorOffsetStore, InternalTopic, StorageError, StoreOptions, TopicOffsetStore,
};

async fn kafka() -> Arc<dyn Log> {
    let settings =
        KafkaSettings::from_props(&sluice_kafka::testing::bootstrap(), &ConfigMap::new()).unwrap();
    open_log(&LogBackend::Kafka(settings)).await.unwrap().log
}

fn key(partition: &str) -> Vec<u8> {
    codec::offset_key("c", &OffsetMap::new().with("file", partition.to_string()))
}

fn value(position: i64) -> Option<Vec<u8>> {
    Some(codec::offset_value(
        &OffsetMap::new().with("position", position),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_topic_is_primary_and_the_worker_topic_gets_copies() {
    let log = kafka().await;
    let options = StoreOptions::default();
    let worker_topic = InternalTopic::new(sluice_kafka::testing::unique_topic("offsets"), 3, 1);
    let own_topic = InternalTopic::new(sluice_kafka::testing::unique_topic("own"), 3, 1);
    let worker = TopicOffsetStore::open(log.as_ref(), &worker_topic, &options)
        .await
        .unwrap();
    worker
        .set(vec![(key("a"), value(1)), (key("b"), value(2))])
        .await
        .unwrap();
    let own = TopicOffsetStore::open_connector_topic(log.as_ref(), &own_topic, &options)
        .await
        .unwrap();
    let store = ConnectorOffsetStore::new(own, Arc::new(worker.clone()));
    assert_eq!(store.get(&key("a")), value(1), "falls back to the worker's");
    store.set(vec![(key("a"), value(10))]).await.unwrap();
    assert_eq!(store.get(&key("a")), value(10));
    assert_eq!(store.get(&key("b")), value(2));
    assert_eq!(store.entries().len(), 2);

    // Stores opened later read what each topic got.
    let own_later = TopicOffsetStore::open_connector_topic(log.as_ref(), &own_topic, &options)
        .await
        .unwrap();
    assert_eq!(own_later.get(&key("a")), value(10));
    assert_eq!(own_later.get(&key("b")), None);
    let worker_later = TopicOffsetStore::open(log.as_ref(), &worker_topic, &options)
        .await
        .unwrap();
    assert_eq!(worker_later.get(&key("a")), value(10), "the copy");

    // A reset reaches both topics.
    store
        .set(vec![(key("a"), None), (key("b"), None)])
        .await
        .unwrap();
    assert_eq!(store.get(&key("a")), None);
    assert_eq!(store.get(&key("b")), None);
    worker_later.refresh().await.unwrap();
    own_later.refresh().await.unwrap();
    for s in [&worker_later, &own_later] {
        assert!(s.entries().is_empty(), "{} still has offsets", s.topic());
    }
    let described = log.admin().describe_topic(&own_topic.name).await.unwrap();
    assert_eq!(described.partitions.len(), 3);
    match described.configs.get("cleanup.policy") {
        Some(policy) => assert_eq!(policy, "compact"),
        None => eprintln!(
            "GAP(test broker: topic settings reported as defaults): compaction of '{}' not \
             checked",
            own_topic.name
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_connector_topic_name_names_the_connector_key() {
    let log = kafka().await;
    let topic = InternalTopic::new("bad own offsets", 1, 1);
    let err =
        TopicOffsetStore::open_connector_topic(log.as_ref(), &topic, &StoreOptions::default())
            .await
            .err()
            .unwrap();
    let StorageError::TopicSetup { key, message } = err else {
        panic!("{err}")
    };
    assert_eq!(key, "offsets.storage.topic");
    assert!(message.contains("'bad own offsets'"), "{message}");
}

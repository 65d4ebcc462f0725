//! The distributed worker's internal topics on the embedded log: Kafka Connect's record keys
//! and values byte for byte, the snapshot rules, several store instances sharing one log,
//! transactional offsets and compaction.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sluice_api::config::ConfigMap;
use sluice_api::OffsetMap;
use sluice_log::embedded::{partition_for_key, EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{
    ConsumerConfig, Log, NewTopic, NoopRebalanceListener, ProduceRecord, ProducerConfig,
    TopicPartition,
};
use sluice_runtime::offsets::codec::{offset_key, offset_value};
use sluice_runtime::offsets::OffsetStore;
use sluice_runtime::status::{ConnectorTaskId, State, TargetState};
use sluice_runtime::storage::{
    ConfigStore, ConfigUpdate, InternalTopic, InternalTopics, RestartRequest, SessionKey,
    StatusStore, StorageError, StoreOptions, StoredStatus, TopicOffsetStore, TopicStatus,
};

fn open_log(dir: &Path) -> Arc<EmbeddedLog> {
    EmbeddedLog::open(&dir.join("data"), EmbeddedLogOptions::default()).unwrap()
}

fn props(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn worker_topics(extra: &[(&str, &str)]) -> InternalTopics {
    let mut p = props(&[
        ("config.storage.topic", "connect-configs"),
        ("offset.storage.topic", "connect-offsets"),
        ("status.storage.topic", "connect-status"),
        ("offset.storage.partitions", "5"),
        ("status.storage.partitions", "3"),
    ]);
    p.extend(props(extra));
    InternalTopics::from_worker_config(&p).unwrap()
}

fn task(connector: &str, n: u32) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: Arc::from(connector),
        task: n,
    }
}

/// Every record of a topic as (partition, key, value) text, in partition then offset order.
async fn raw(log: &EmbeddedLog, topic: &str) -> Vec<(i32, String, Option<String>)> {
    let description = log.admin().describe_topic(topic).await.unwrap();
    let mut consumer = log.consumer(ConsumerConfig::default()).unwrap();
    let parts: Vec<TopicPartition> = description
        .partitions
        .iter()
        .map(|p| TopicPartition::new(topic, p.partition))
        .collect();
    consumer.assign(&parts).await.unwrap();
    let mut out = Vec::new();
    loop {
        let done = description
            .partitions
            .iter()
            .zip(&parts)
            .all(|(d, tp)| consumer.position(tp).unwrap() >= d.latest_offset);
        if done {
            break;
        }
        for r in consumer
            .poll(Duration::from_millis(200), &mut NoopRebalanceListener)
            .await
            .unwrap()
        {
            out.push((
                r.partition,
                r.offset,
                String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()),
            ));
        }
    }
    out.sort_by_key(|(p, o, _, _)| (*p, *o));
    out.into_iter().map(|(p, _, k, v)| (p, k, v)).collect()
}

fn kv(records: &[(i32, String, Option<String>)]) -> Vec<(&str, Option<&str>)> {
    records
        .iter()
        .map(|(_, k, v)| (k.as_str(), v.as_deref()))
        .collect()
}

async fn wait(rx: &mut tokio::sync::mpsc::UnboundedReceiver<ConfigUpdate>) -> ConfigUpdate {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an update within 10 s")
        .unwrap()
}

async fn produce(log: &EmbeddedLog, topic: &str, records: &[(&str, Option<&str>)]) {
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let records = records
        .iter()
        .map(|(k, v)| ProduceRecord {
            topic: Arc::from(topic),
            partition: None,
            key: Some(Bytes::copy_from_slice(k.as_bytes())),
            value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: Vec::new(),
            timestamp: None,
        })
        .collect();
    producer.send(records).await.unwrap();
}

#[tokio::test]
async fn topics_are_created_compacted_with_the_worker_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[
        ("offset.storage.partitions", "7"),
        ("offset.storage.segment.bytes", "4096"),
        ("status.storage.cleanup.policy", "delete"),
    ]);
    let options = StoreOptions::default();
    ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    TopicOffsetStore::open(log.as_ref(), &topics.offsets, &options)
        .await
        .unwrap();
    StatusStore::open(log.as_ref(), &topics.status, &options)
        .await
        .unwrap();
    let admin = log.admin();
    for (name, partitions) in [
        ("connect-configs", 1),
        ("connect-offsets", 7),
        ("connect-status", 3),
    ] {
        let d = admin.describe_topic(name).await.unwrap();
        assert_eq!(d.partitions.len(), partitions, "{name}");
        assert_eq!(d.configs["cleanup.policy"], "compact", "{name}");
    }
    let offsets = admin.describe_topic("connect-offsets").await.unwrap();
    assert_eq!(offsets.configs["segment.bytes"], "4096");
    // Opening again uses the existing topics.
    ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn unusable_existing_topics_are_refused_with_kafkas_message() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let admin = log.admin();
    admin
        .create_topic(NewTopic::new("deleting", 1).config("cleanup.policy", "delete"))
        .await
        .unwrap();
    admin
        .create_topic(NewTopic::new("wide", 3).config("cleanup.policy", "compact"))
        .await
        .unwrap();
    let options = StoreOptions::default();
    let err = ConfigStore::open(
        log.as_ref(),
        &InternalTopic::new("deleting", 1, 1),
        &options,
        None,
    )
    .await
    .err()
    .unwrap();
    let StorageError::TopicSetup { key, message } = &err else {
        panic!("{err}");
    };
    assert_eq!(*key, "config.storage.topic");
    assert!(
        message.starts_with("Topic 'deleting' supplied via the 'config.storage.topic' property is required to have 'cleanup.policy=compact' to guarantee consistency and durability of connector configurations, but found the topic currently has 'cleanup.policy=delete'."),
        "{message}"
    );
    let err = StatusStore::open(
        log.as_ref(),
        &InternalTopic::new("deleting", 1, 1),
        &options,
    )
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("'status.storage.topic'"), "{err}");
    let err = ConfigStore::open(
        log.as_ref(),
        &InternalTopic::new("wide", 1, 1),
        &options,
        None,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "Topic 'wide' supplied via the 'config.storage.topic' property is required to have a single partition in order to guarantee consistency of connector configurations, but found 3 partitions."
    );
}

#[tokio::test]
async fn config_records_carry_kafkas_keys_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[]);
    let store = ConfigStore::open(log.as_ref(), &topics.config, &StoreOptions::default(), None)
        .await
        .unwrap();
    let config = props(&[
        ("connector.class", "FileStreamSource"),
        ("file", "/tmp/in.txt"),
        ("name", "my-source"),
        ("topic", "lines"),
    ]);
    store
        .put_connector_config("my-source", &config, Some(TargetState::Paused))
        .await
        .unwrap();
    store
        .put_task_configs(
            "my-source",
            &[props(&[("file", "/tmp/in.txt"), ("topic", "lines")])],
        )
        .await
        .unwrap();
    store
        .put_target_state("my-source", TargetState::Stopped)
        .await
        .unwrap();
    store.put_task_count_record("my-source", 1).await.unwrap();
    store
        .put_session_key(&SessionKey {
            key: vec![1, 2, 3, 250],
            algorithm: "HmacSHA256".into(),
            creation_timestamp: 1_700_000_000_000,
        })
        .await
        .unwrap();
    store
        .put_restart_request(&RestartRequest {
            connector: "my-source".into(),
            only_failed: false,
            include_tasks: true,
        })
        .await
        .unwrap();
    store
        .put_logger_level("org.apache.kafka.connect", "DEBUG")
        .await
        .unwrap();
    store.remove_connector_config("my-source").await.unwrap();
    let records = raw(&log, "connect-configs").await;
    assert_eq!(
        kv(&records),
        vec![
            (
                "target-state-my-source",
                Some(r#"{"state":"PAUSED","state.v2":"PAUSED"}"#)
            ),
            (
                "connector-my-source",
                Some(
                    r#"{"properties":{"connector.class":"FileStreamSource","file":"/tmp/in.txt","name":"my-source","topic":"lines"}}"#
                )
            ),
            (
                "task-my-source-0",
                Some(r#"{"properties":{"file":"/tmp/in.txt","topic":"lines"}}"#)
            ),
            ("commit-my-source", Some(r#"{"tasks":1}"#)),
            (
                "target-state-my-source",
                Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#)
            ),
            ("tasks-fencing-my-source", Some(r#"{"task-count":1}"#)),
            (
                "session-key",
                Some(
                    r#"{"key":"AQID+g==","algorithm":"HmacSHA256","creation-timestamp":1700000000000}"#
                )
            ),
            (
                "restart-connector-my-source",
                Some(r#"{"include-tasks":true,"only-failed":false}"#)
            ),
            (
                "logger-cluster-org.apache.kafka.connect",
                Some(r#"{"level":"DEBUG"}"#)
            ),
            ("connector-my-source", None),
            ("target-state-my-source", None),
        ]
    );
}

#[tokio::test]
async fn a_reopened_store_rebuilds_the_same_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[]);
    let options = StoreOptions::default();
    let store = ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    for (name, tasks) in [("a", 2), ("b", 1), ("c", 3)] {
        store
            .put_connector_config(name, &props(&[("name", name)]), None)
            .await
            .unwrap();
        let configs: Vec<ConfigMap> = (0..tasks)
            .map(|t| props(&[("task", &t.to_string())]))
            .collect();
        store.put_task_configs(name, &configs).await.unwrap();
    }
    store
        .put_connector_config("a", &props(&[("name", "a"), ("v", "2")]), None)
        .await
        .unwrap();
    store
        .put_task_configs("a", &[props(&[("task", "new")])])
        .await
        .unwrap();
    store
        .put_target_state("b", TargetState::Paused)
        .await
        .unwrap();
    store.remove_connector_config("c").await.unwrap();
    store.refresh().await.unwrap();
    let before = store.snapshot();
    assert_eq!(before.connectors().collect::<Vec<_>>(), vec!["a", "b"]);
    assert_eq!(before.connector_config("a").unwrap()["v"], "2");
    assert_eq!(before.tasks("a"), vec![task("a", 0)]);
    assert_eq!(before.task_config(&task("a", 0)).unwrap()["task"], "new");
    assert_eq!(before.task_config_generation("a"), Some(1));
    assert_eq!(before.target_state("b"), Some(TargetState::Paused));
    assert_eq!(before.target_state("c"), None);

    let reopened = ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    assert_eq!(reopened.snapshot(), before);
}

#[tokio::test]
async fn uncommitted_task_configs_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[]);
    let options = StoreOptions::default();
    let store = ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    // A leader that died between its task configs and their commit.
    produce(
        &log,
        "connect-configs",
        &[
            ("connector-a", Some(r#"{"properties":{"name":"a"}}"#)),
            ("task-a-0", Some(r#"{"properties":{"n":"0"}}"#)),
            ("task-a-1", Some(r#"{"properties":{"n":"1"}}"#)),
        ],
    )
    .await;
    store.refresh().await.unwrap();
    let snap = store.snapshot();
    assert!(snap.contains("a"));
    assert_eq!(snap.task_count("a"), 0);
    assert!(snap.tasks("a").is_empty());
    assert!(snap.task_config(&task("a", 0)).is_none());
    // The commit applies them, in this store and in one reading from the start.
    produce(
        &log,
        "connect-configs",
        &[("commit-a", Some(r#"{"tasks":2}"#))],
    )
    .await;
    store.refresh().await.unwrap();
    assert_eq!(
        store.snapshot().tasks("a"),
        vec![task("a", 0), task("a", 1)]
    );
    let fresh = ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    assert_eq!(
        fresh.snapshot().task_config(&task("a", 1)).unwrap()["n"],
        "1"
    );
}

#[tokio::test]
async fn two_config_stores_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[]);
    let options = StoreOptions::default();
    let leader = ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    let follower = ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    let mut updates = follower.subscribe();
    let following = follower.follow(Duration::from_millis(50));

    leader
        .put_connector_config("a", &props(&[("name", "a")]), None)
        .await
        .unwrap();
    leader
        .put_task_configs("a", &[props(&[("n", "0")])])
        .await
        .unwrap();
    assert_eq!(
        wait(&mut updates).await,
        ConfigUpdate::ConnectorConfig {
            connector: "a".into()
        }
    );
    assert_eq!(
        wait(&mut updates).await,
        ConfigUpdate::TaskConfigs {
            connector: "a".into(),
            tasks: vec![task("a", 0)]
        }
    );
    // A read to the end while the follower polls waits for it and sees everything.
    follower.refresh().await.unwrap();
    assert_eq!(follower.snapshot(), leader.snapshot());

    // Any worker may write a target state; the leader sees it after a refresh.
    follower
        .put_target_state("a", TargetState::Paused)
        .await
        .unwrap();
    assert_eq!(
        wait(&mut updates).await,
        ConfigUpdate::TargetState {
            connector: "a".into()
        }
    );
    leader.refresh().await.unwrap();
    assert_eq!(
        leader.snapshot().target_state("a"),
        Some(TargetState::Paused)
    );
    following.stop().await;
}

#[tokio::test]
async fn a_fencable_writer_must_claim_privileges_and_is_fenced_by_a_newer_leader() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[]);
    let options = StoreOptions::default();
    let id = Some("connect-cluster-my-group".to_string());
    let old = ConfigStore::open(log.as_ref(), &topics.config, &options, id.clone())
        .await
        .unwrap();
    let err = old
        .put_connector_config("a", &props(&[("name", "a")]), None)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, StorageError::WritePrivilegesNotClaimed { .. }),
        "{err}"
    );
    old.claim_write_privileges().await.unwrap();
    old.put_connector_config("a", &props(&[("name", "a")]), None)
        .await
        .unwrap();
    assert!(old.snapshot().contains("a"));

    let new = ConfigStore::open(log.as_ref(), &topics.config, &options, id)
        .await
        .unwrap();
    new.claim_write_privileges().await.unwrap();
    let err = old
        .put_connector_config("b", &props(&[("name", "b")]), None)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("fenced"), "{err}");
    new.put_task_configs("a", &[props(&[("n", "0")])])
        .await
        .unwrap();
    old.refresh().await.unwrap();
    let snap = old.snapshot();
    assert!(!snap.contains("b"));
    assert_eq!(snap.tasks("a"), vec![task("a", 0)]);
}

#[tokio::test]
async fn statuses_round_trip_between_store_instances() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[]);
    let options = StoreOptions::default();
    let a = StatusStore::open(log.as_ref(), &topics.status, &options)
        .await
        .unwrap();
    let b = StatusStore::open(log.as_ref(), &topics.status, &options)
        .await
        .unwrap();
    let running = StoredStatus {
        state: State::Running,
        trace: None,
        worker_id: "10.0.0.1:8083".into(),
        generation: 4,
    };
    let failed = StoredStatus {
        state: State::Failed,
        trace: Some("org.apache.kafka.connect.errors.ConnectException: boom".into()),
        worker_id: "10.0.0.2:8083".into(),
        generation: 4,
    };
    a.put_connector("my-sink", &running).await.unwrap();
    a.put_task(&task("my-sink", 0), &running).await.unwrap();
    b.put_task(&task("my-sink", 1), &failed).await.unwrap();
    let topic = TopicStatus {
        topic: "orders".into(),
        connector: "my-sink".into(),
        task: 0,
        discover_timestamp: 1_700_000_000_000,
    };
    a.put_topic(&topic).await.unwrap();
    for store in [&a, &b] {
        store.refresh().await.unwrap();
        assert_eq!(store.connector("my-sink"), Some(running.clone()));
        assert_eq!(
            store.tasks("my-sink"),
            vec![(0, running.clone()), (1, failed.clone())]
        );
        assert_eq!(store.topics("my-sink"), vec![topic.clone()]);
        assert_eq!(store.connectors(), vec!["my-sink".to_string()]);
    }
    // A worker of an older generation does not overwrite another worker's newer status.
    let stale = StoredStatus {
        worker_id: "10.0.0.9:8083".into(),
        generation: 3,
        ..running.clone()
    };
    assert!(!b.put_task_safe(&task("my-sink", 0), &stale).await.unwrap());
    assert!(b
        .put_connector_safe(
            "my-sink",
            &StoredStatus {
                generation: 5,
                ..stale.clone()
            }
        )
        .await
        .unwrap());

    let mut records = raw(&log, "connect-status").await;
    records.sort_by(|x, y| x.1.cmp(&y.1));
    let keys: Vec<(&str, Option<&str>)> = kv(&records);
    assert!(keys.contains(&(
        "status-connector-my-sink",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083","generation":4}"#)
    )));
    assert!(keys.contains(&(
        "status-task-my-sink-1",
        Some(r#"{"state":"FAILED","trace":"org.apache.kafka.connect.errors.ConnectException: boom","worker_id":"10.0.0.2:8083","generation":4}"#)
    )));
    assert!(keys.contains(&(
        "status-topic-orders:connector-my-sink",
        Some(r#"{"topic":{"name":"orders","connector":"my-sink","task":0,"discoverTimestamp":1700000000000}}"#)
    )));
    // Records are placed by key, like a Java worker's.
    for (partition, key, _) in &records {
        assert_eq!(*partition, partition_for_key(key.as_bytes(), 3), "{key}");
    }

    // Deletes are tombstones; a connector's takes its tasks along.
    a.delete_topic("my-sink", "orders").await.unwrap();
    a.remove_connector("my-sink").await.unwrap();
    b.refresh().await.unwrap();
    assert_eq!(b.connector("my-sink"), None);
    assert!(b.tasks("my-sink").is_empty());
    assert!(b.topics("my-sink").is_empty());
    let tombstones: Vec<String> = raw(&log, "connect-status")
        .await
        .into_iter()
        .filter(|(_, _, v)| v.is_none())
        .map(|(_, k, _)| k)
        .collect();
    assert_eq!(tombstones.len(), 2, "{tombstones:?}");
}

#[tokio::test]
async fn offsets_written_by_one_store_are_read_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[]);
    let options = StoreOptions::default();
    let writer = TopicOffsetStore::open(log.as_ref(), &topics.offsets, &options)
        .await
        .unwrap();
    let file_key = offset_key(
        "local-file-source",
        &OffsetMap::new().with("filename", "/tmp/test.txt"),
    );
    let table_key = offset_key("jdbc", &OffsetMap::new().with("table", "orders"));
    writer
        .set(vec![
            (
                file_key.clone(),
                Some(offset_value(&OffsetMap::new().with("position", 1024i64))),
            ),
            (table_key.clone(), Some(br#"{"id":7}"#.to_vec())),
        ])
        .await
        .unwrap();
    // Visible to the writer as soon as set returns.
    assert_eq!(writer.get(&file_key).unwrap(), br#"{"position":1024}"#);

    let reader = TopicOffsetStore::open(log.as_ref(), &topics.offsets, &options)
        .await
        .unwrap();
    assert_eq!(reader.get(&file_key).unwrap(), br#"{"position":1024}"#);
    assert_eq!(reader.entries().len(), 2);

    let records = raw(&log, "connect-offsets").await;
    let file_record = records
        .iter()
        .find(|(_, k, _)| k.contains("local-file-source"))
        .unwrap();
    assert_eq!(
        file_record.1,
        r#"["local-file-source",{"filename":"/tmp/test.txt"}]"#
    );
    assert_eq!(file_record.2.as_deref(), Some(r#"{"position":1024}"#));
    for (partition, key, _) in &records {
        assert_eq!(*partition, partition_for_key(key.as_bytes(), 5), "{key}");
    }

    // A reset is a tombstone; the other instance sees it after a refresh.
    writer.set(vec![(file_key.clone(), None)]).await.unwrap();
    assert_eq!(writer.get(&file_key), None);
    reader.refresh().await.unwrap();
    assert_eq!(reader.get(&file_key), None);
    assert_eq!(
        reader.entries(),
        vec![(table_key.clone(), br#"{"id":7}"#.to_vec())]
    );
    let last = raw(&log, "connect-offsets").await;
    assert!(last
        .iter()
        .any(|(_, k, v)| k.contains("local-file-source") && v.is_none()));

    // The writer reading its own older records back keeps the newest values.
    writer.refresh().await.unwrap();
    assert_eq!(writer.get(&file_key), None);
    assert_eq!(writer.get(&table_key).unwrap(), br#"{"id":7}"#);
}

#[tokio::test]
async fn offsets_in_a_transaction_count_only_when_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[]);
    let options = StoreOptions::default();
    let store = TopicOffsetStore::open(log.as_ref(), &topics.offsets, &options)
        .await
        .unwrap();
    let other = TopicOffsetStore::open(log.as_ref(), &topics.offsets, &options)
        .await
        .unwrap();
    log.admin()
        .create_topic(NewTopic::new("data", 1))
        .await
        .unwrap();
    let producer = log
        .producer(ProducerConfig {
            client_id: "eos-task".into(),
            transactional_id: Some("my-group-my-source-0".into()),
            properties: BTreeMap::new(),
        })
        .unwrap();
    producer.init_transactions().await.unwrap();
    let key = offset_key("my-source", &OffsetMap::new().with("shard", 1i64));
    let data = |v: &'static str| ProduceRecord {
        topic: Arc::from("data"),
        partition: None,
        key: None,
        value: Some(Bytes::from_static(v.as_bytes())),
        headers: Vec::new(),
        timestamp: None,
    };

    producer.begin_transaction().await.unwrap();
    drop(producer.send(vec![data("lost")]));
    let pending = store.send_in_transaction(
        producer.as_ref(),
        vec![(key.clone(), Some(br#"{"pos":1}"#.to_vec()))],
    );
    producer.abort_transaction().await.unwrap();
    assert!(pending.complete().await.is_err());
    assert_eq!(store.get(&key), None);
    other.refresh().await.unwrap();
    assert_eq!(other.get(&key), None);

    producer.begin_transaction().await.unwrap();
    drop(producer.send(vec![data("kept")]));
    let pending = store.send_in_transaction(
        producer.as_ref(),
        vec![(key.clone(), Some(br#"{"pos":2}"#.to_vec()))],
    );
    producer.commit_transaction().await.unwrap();
    pending.complete().await.unwrap();
    assert_eq!(store.get(&key).unwrap(), br#"{"pos":2}"#);
    other.refresh().await.unwrap();
    assert_eq!(other.get(&key).unwrap(), br#"{"pos":2}"#);
    assert_eq!(
        kv(&raw(&log, "connect-offsets").await),
        vec![(r#"["my-source",{"shard":1}]"#, Some(r#"{"pos":2}"#))]
    );
}

#[tokio::test]
async fn compaction_keeps_the_latest_record_per_key_and_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let topics = worker_topics(&[
        ("config.storage.segment.bytes", "1024"),
        ("offset.storage.segment.bytes", "1024"),
        ("offset.storage.partitions", "1"),
    ]);
    let options = StoreOptions::default();
    let configs = ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    let offsets = TopicOffsetStore::open(log.as_ref(), &topics.offsets, &options)
        .await
        .unwrap();
    let key = offset_key("src", &OffsetMap::new().with("file", "/data/in.txt"));
    for round in 0..40 {
        let name = format!("conn-{}", round % 4);
        configs
            .put_connector_config(&name, &props(&[("round", &round.to_string())]), None)
            .await
            .unwrap();
        let tasks: Vec<ConfigMap> = (0..(round % 3 + 1))
            .map(|t| props(&[("round", &round.to_string()), ("task", &t.to_string())]))
            .collect();
        configs.put_task_configs(&name, &tasks).await.unwrap();
        offsets
            .set(vec![(
                key.clone(),
                Some(offset_value(
                    &OffsetMap::new().with("position", round as i64),
                )),
            )])
            .await
            .unwrap();
    }
    configs.remove_connector_config("conn-3").await.unwrap();
    let before = configs.snapshot();
    let config_records_before = raw(&log, "connect-configs").await.len();
    let offset_records_before = raw(&log, "connect-offsets").await.len();

    let config_stats = log.compact_now("connect-configs").await.unwrap();
    let offset_stats = log.compact_now("connect-offsets").await.unwrap();
    assert!(config_stats.segments_rewritten > 0, "{config_stats:?}");
    assert!(offset_stats.segments_rewritten > 0, "{offset_stats:?}");

    let after_configs = raw(&log, "connect-configs").await;
    let after_offsets = raw(&log, "connect-offsets").await;
    assert!(after_configs.len() < config_records_before);
    assert!(after_offsets.len() < offset_records_before);
    // Compaction never reorders: the last record of every key is still there and last.
    let mut latest: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for (_, k, v) in &after_configs {
        latest.insert(k, v.as_deref());
    }
    assert_eq!(
        latest["connector-conn-2"],
        Some(r#"{"properties":{"round":"38"}}"#)
    );
    assert_eq!(latest["commit-conn-2"], Some(r#"{"tasks":3}"#));
    assert_eq!(
        after_offsets.last().unwrap().2.as_deref(),
        Some(r#"{"position":39}"#)
    );

    // A store reading the compacted topic ends in the same state.
    let reread = ConfigStore::open(log.as_ref(), &topics.config, &options, None)
        .await
        .unwrap();
    let after = reread.snapshot();
    for name in ["conn-0", "conn-1", "conn-2", "conn-3"] {
        assert_eq!(
            after.connector_config(name),
            before.connector_config(name),
            "{name}"
        );
        assert_eq!(after.tasks(name), before.tasks(name), "{name}");
        for t in before.tasks(name) {
            assert_eq!(after.task_config(&t), before.task_config(&t), "{t}");
        }
        assert_eq!(
            after.target_state(name),
            before.target_state(name),
            "{name}"
        );
    }
    assert!(after.inconsistent_connectors().is_empty());
    let reread_offsets = TopicOffsetStore::open(log.as_ref(), &topics.offsets, &options)
        .await
        .unwrap();
    assert_eq!(
        reread_offsets.get(&key).unwrap(),
        br#"{"position":39}"#.to_vec()
    );
}

//! A source connector's own offsets topic (`offsets.storage.topic`) on a distributed
//! worker over the embedded log: offsets land in that topic and are copied to the worker's,
//! reads prefer it and fall back to the worker's topic, the REST offsets API reads and
//! changes them through the same rule, a restarted worker resumes from them, and an
//! exactly-once task writes them in its transactions.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::distributed::DistributedWorker;
use common::*;
use sluice_api::config::ConfigMap;
use sluice_api::OffsetMap;
use sluice_log::Log;
use sluice_runtime::exactly_once::ExactlyOnceWorker;
use sluice_runtime::herder::{ConnectorOffsets, Herder};
use sluice_runtime::offsets::{codec, OffsetStore};
use sluice_runtime::status::TargetState;
use sluice_runtime::storage::{InternalTopic, StoreOptions, TopicOffsetStore};

async fn start(dir: &Path, exactly_once: bool) -> DistributedWorker {
    let mut props = distributed_worker_props(dir);
    props.insert("offset.storage.segment.bytes".into(), "1048576".into());
    if exactly_once {
        props.insert("exactly.once.source.support".into(), "enabled".into());
    }
    DistributedWorker::start(dir, &props, |worker, stores| {
        if exactly_once {
            worker.enable_exactly_once(ExactlyOnceWorker {
                group_id: "test-cluster".into(),
                offsets: stores.offsets.clone(),
            });
        }
    })
    .await
}

impl DistributedWorker {
    /// The connector's offsets as the REST API shows them: (`source` partition, `seq`).
    async fn offsets(&self, name: &str) -> Vec<(String, i64)> {
        let shown = self.herder.connector_offsets(name).await.unwrap();
        shown
            .offsets
            .iter()
            .map(|o| {
                let p = o.partition.as_ref().unwrap();
                let seq = o.offset.as_ref().unwrap()["seq"].as_i64().unwrap();
                (p["source"].as_str().unwrap().to_string(), seq)
            })
            .collect()
    }

    async fn wait_seq(&self, name: &str, seq: i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let shown = self.offsets(name).await;
            if shown.iter().any(|(p, s)| p == name && *s == seq) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: offsets never reached {seq}: {shown:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_running(&self, name: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.herder.connector_status(name).await.unwrap();
            if s.connector.state == "RUNNING"
                && !s.tasks.is_empty()
                && s.tasks.iter().all(|t| t.state == "RUNNING")
            {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{s:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The connector's own offsets topic, opened separately and read to the end.
    async fn own_topic(&self, topic: &str) -> TopicOffsetStore {
        let spec = InternalTopic::new(topic, 3, 1);
        TopicOffsetStore::open_connector_topic(self.log.as_ref(), &spec, &StoreOptions::default())
            .await
            .unwrap()
    }
}

fn source(name: &str, topic: &str, records: &str, own_offsets: &str) -> ConfigMap {
    map(&[
        ("name", name),
        ("connector.class", SOURCE_CLASS),
        ("topic", topic),
        ("records", records),
        ("offsets.storage.topic", own_offsets),
    ])
}

fn key(connector: &str, source: &str) -> Vec<u8> {
    codec::offset_key(
        connector,
        &OffsetMap::new().with("source", source.to_string()),
    )
}

fn seq_of(store: &dyn OffsetStore, key: &[u8]) -> Option<i64> {
    let value = store.get(key)?;
    let offset = codec::parse_offset_value(&value).unwrap();
    match offset.get("seq") {
        Some(sluice_api::data::Value::Int64(n)) => Some(*n),
        other => panic!("unexpected offset {other:?}"),
    }
}

fn seq_value(seq: i64) -> Option<Vec<u8>> {
    Some(codec::offset_value(&OffsetMap::new().with("seq", seq)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_land_in_the_connector_topic_and_are_copied_to_the_worker_topic() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), false).await;
    let (name, topic, own) = (unique("src"), unique("t"), unique("own-offsets"));
    running
        .herder
        .put_connector_config(&name, source(&name, &topic, "20", &own), false, None)
        .await
        .unwrap();
    running.wait_seq(&name, 20).await;

    // The topic was created compacted, partitioned like the worker's offsets topic.
    let described = running.log.admin().describe_topic(&own).await.unwrap();
    assert_eq!(described.partitions.len(), 3, "offset.storage.partitions");
    assert_eq!(
        described.configs.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    assert_eq!(
        described.configs.get("segment.bytes").map(String::as_str),
        Some("1048576"),
        "offset.storage.* topic settings apply"
    );
    let own_store = running.own_topic(&own).await;
    assert_eq!(seq_of(&own_store, &key(&name, &name)), Some(20));
    // The best-effort copy in the worker's topic, as another worker reads it.
    running.stores.offsets.refresh().await.unwrap();
    assert_eq!(
        seq_of(&running.stores.offsets, &key(&name, &name)),
        Some(20)
    );
    running.stop().await;

    // A restarted worker resumes from the connector topic.
    let running = start(dir.path(), false).await;
    running.wait_running(&name).await;
    assert_eq!(
        source_starts().lock().unwrap().get(&name).cloned(),
        Some(vec![None, Some(20)])
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_prefer_the_connector_topic_and_the_rest_api_goes_through_the_same_rule() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), false).await;
    let (name, topic, own) = (unique("src"), unique("t"), unique("own-offsets"));
    let other = format!("{name}-other");
    // Offsets the connector committed to the worker's topic before it had its own, and a
    // newer one in its own topic.
    running
        .stores
        .offsets
        .set(vec![
            (key(&name, &name), seq_value(4)),
            (key(&name, &other), seq_value(9)),
        ])
        .await
        .unwrap();
    let own_store = running.own_topic(&own).await;
    own_store
        .set(vec![(key(&name, &name), seq_value(6))])
        .await
        .unwrap();

    running
        .herder
        .put_connector_config(
            &name,
            source(&name, &topic, "10", &own),
            false,
            Some(TargetState::Stopped),
        )
        .await
        .unwrap();
    let mut expected = vec![(name.clone(), 6), (other.clone(), 9)];
    expected.sort();
    let mut shown = running.offsets(&name).await;
    shown.sort();
    assert_eq!(
        shown, expected,
        "the connector topic wins; the worker's fills in"
    );

    // PATCH writes to the connector topic first, and copies to the worker's.
    let altered: ConnectorOffsets = serde_json::from_value(serde_json::json!({
        "offsets": [{"partition": {"source": name}, "offset": {"seq": 2}}]
    }))
    .unwrap();
    running
        .herder
        .alter_connector_offsets(&name, altered)
        .await
        .unwrap();
    own_store.refresh().await.unwrap();
    assert_eq!(seq_of(&own_store, &key(&name, &name)), Some(2));
    running.stores.offsets.refresh().await.unwrap();
    assert_eq!(seq_of(&running.stores.offsets, &key(&name, &name)), Some(2));

    // The task starts from the connector topic's value.
    running.herder.resume_connector(&name).await.unwrap();
    running.wait_seq(&name, 10).await;
    assert_eq!(
        source_starts().lock().unwrap().get(&name).cloned(),
        Some(vec![Some(2)])
    );

    // DELETE resets both topics: the fallback does not bring old offsets back.
    running.herder.stop_connector(&name).await.unwrap();
    running.herder.reset_connector_offsets(&name).await.unwrap();
    assert_eq!(running.offsets(&name).await, Vec::<(String, i64)>::new());
    own_store.refresh().await.unwrap();
    running.stores.offsets.refresh().await.unwrap();
    for store in [&own_store, &running.stores.offsets] {
        assert_eq!(seq_of(store, &key(&name, &name)), None);
        assert_eq!(seq_of(store, &key(&name, &other)), None);
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_the_workers_topic_keeps_the_workers_store() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), false).await;
    let (name, topic) = (unique("src"), unique("t"));
    running
        .herder
        .put_connector_config(
            &name,
            source(&name, &topic, "5", "connect-offsets"),
            false,
            None,
        )
        .await
        .unwrap();
    running.wait_seq(&name, 5).await;
    assert_eq!(seq_of(&running.stores.offsets, &key(&name, &name)), Some(5));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exactly_once_task_writes_its_offsets_to_the_connector_topic_in_its_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), true).await;
    let (name, topic, own) = (unique("src"), unique("t"), unique("own-offsets"));
    running
        .log
        .admin()
        .create_topic(sluice_log::NewTopic::new(&topic, 1))
        .await
        .unwrap();
    running
        .herder
        .put_connector_config(&name, source(&name, &topic, "300", &own), false, None)
        .await
        .unwrap();
    running.wait_seq(&name, 300).await;
    let counters = running
        .herder
        .worker()
        .task_counters(&sluice_runtime::status::ConnectorTaskId {
            connector: Arc::from(name.as_str()),
            task: 0,
        })
        .unwrap();
    assert!(
        counters
            .transactions_committed
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    // Read-committed readers of the connector topic see the offsets: they were committed.
    let own_store = running.own_topic(&own).await;
    assert_eq!(seq_of(&own_store, &key(&name, &name)), Some(300));
    running.stores.offsets.refresh().await.unwrap();
    assert_eq!(
        seq_of(&running.stores.offsets, &key(&name, &name)),
        Some(300)
    );
    running.stop().await;
}

//! The distributed herder on the embedded log: every change goes through the config topic,
//! offsets through the offsets topic, statuses to the status topic, and a herder restarted on
//! the same log brings every connector back in its last target state.

mod common;

use std::path::Path;
use std::time::Duration;

use common::distributed::DistributedWorker;
use common::*;
use sluice_api::config::ConfigMap;
use sluice_log::embedded::EmbeddedLog;
use sluice_log::Log;
use sluice_runtime::herder::{Herder, HerderError};
use sluice_runtime::offsets::{codec, OffsetStore};
use sluice_runtime::status::{State, TargetState};
use sluice_runtime::storage::{
    InternalTopics, StatusStore, StoreOptions, TopicOffsetStore, TopicStatus,
};
use sluice_runtime::worker_config::{distributed_worker_config_def, WorkerConfig};

fn worker_props(dir: &Path) -> ConfigMap {
    distributed_worker_props(dir)
}

async fn start(dir: &Path) -> DistributedWorker {
    DistributedWorker::start(dir, &worker_props(dir), |_, _| {}).await
}

impl DistributedWorker {
    async fn state(&self, name: &str) -> (String, Vec<String>) {
        let s = self.herder.connector_status(name).await.unwrap();
        (
            s.connector.state,
            s.tasks.into_iter().map(|t| t.state).collect(),
        )
    }

    async fn wait_state(&self, name: &str, connector: &str, tasks: &[&str]) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (c, t) = self.state(name).await;
            if c == connector && t == tasks {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: wanted {connector} {tasks:?}, have {c} {t:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn source_seq(&self, name: &str) -> Option<i64> {
        let offsets = self.herder.connector_offsets(name).await.unwrap();
        offsets
            .offsets
            .first()
            .and_then(|o| o.offset.as_ref()?.get("seq")?.as_i64())
    }

    async fn wait_seq(&self, name: &str, seq: i64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.source_seq(name).await != Some(seq) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: offsets never reached {seq}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Creates a source connector of 10 records in the STOPPED state; answers its name.
    async fn stopped_source(&self) -> String {
        let name = unique("src");
        let topic = unique("t");
        self.herder
            .put_connector_config(
                &name,
                map(&pairs(&source_config(&topic, "10"))),
                false,
                Some(TargetState::Stopped),
            )
            .await
            .unwrap();
        self.wait_state(&name, "STOPPED", &[]).await;
        name
    }

    async fn put(&self, name: &str, config: &[(&str, &str)]) -> Result<bool, HerderError> {
        self.herder
            .put_connector_config(name, map(config), true, None)
            .await
            .map(|c| c.created)
    }
}

fn source_config(topic: &str, records: &str) -> Vec<(&'static str, String)> {
    vec![
        ("connector.class", SOURCE_CLASS.to_string()),
        ("topic", topic.to_string()),
        ("records", records.to_string()),
    ]
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_come_back_in_their_target_states_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let (a, paused, stopped, deleted, sink) = (
        unique("run"),
        unique("paused"),
        unique("stopped"),
        unique("deleted"),
        unique("sink"),
    );
    let topic = unique("t");
    for name in [&a, &paused, &stopped, &deleted] {
        assert!(running
            .put(name, &pairs(&source_config(&topic, "20")))
            .await
            .unwrap());
    }
    let store = unique("store");
    assert!(running
        .put(
            &sink,
            &[
                ("connector.class", SINK_CLASS),
                ("topics", &topic),
                ("store", &store),
            ],
        )
        .await
        .unwrap());
    running.wait_seq(&a, 20).await;
    running.herder.pause_connector(&paused).await.unwrap();
    running.herder.stop_connector(&stopped).await.unwrap();
    running.herder.delete_connector(&deleted).await.unwrap();
    running.wait_state(&paused, "PAUSED", &["PAUSED"]).await;
    running.wait_state(&stopped, "STOPPED", &[]).await;
    assert!(matches!(
        running.herder.connector_status(&deleted).await,
        Err(HerderError::NotFound(_))
    ));
    // A config change restarts the connector's tasks with the new config.
    let changed = {
        let mut c = source_config(&topic, "30");
        c.push(("tasks.generate", "2".to_string()));
        c.push(("tasks.max", "2".to_string()));
        c
    };
    assert!(!running.put(&a, &pairs(&changed)).await.unwrap());
    running
        .wait_state(&a, "RUNNING", &["RUNNING", "RUNNING"])
        .await;
    let tasks = running.herder.task_configs(&a).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[1].config["records"], "30");
    running.wait_seq(&a, 30).await;

    // Offsets are in the offsets topic, statuses in the status topic.
    let offsets_end: i64 = running
        .log
        .admin()
        .describe_topic("connect-offsets")
        .await
        .unwrap()
        .partitions
        .iter()
        .map(|p| p.latest_offset)
        .sum();
    assert!(offsets_end > 0, "nothing in the offsets topic");
    let mut names = vec![a.clone(), paused.clone(), stopped.clone(), sink.clone()];
    names.sort();
    assert_eq!(running.herder.connectors().await, names);
    running.stop().await;

    let running = start(dir.path()).await;
    assert_eq!(running.herder.connectors().await, names);
    running
        .wait_state(&a, "RUNNING", &["RUNNING", "RUNNING"])
        .await;
    running.wait_state(&paused, "PAUSED", &["PAUSED"]).await;
    running.wait_state(&stopped, "STOPPED", &[]).await;
    running.wait_state(&sink, "RUNNING", &["RUNNING"]).await;
    assert_eq!(
        running.herder.connector_config(&a).await.unwrap()["records"],
        "30"
    );
    assert_eq!(running.herder.task_configs(&a).await.unwrap().len(), 2);
    assert!(running
        .herder
        .task_configs(&stopped)
        .await
        .unwrap()
        .is_empty());
    // The source resumed from its committed offset, read from the offsets topic.
    assert_eq!(running.source_seq(&a).await, Some(30));
    assert!(running
        .stores
        .offsets
        .entries()
        .iter()
        .any(|(k, _)| String::from_utf8_lossy(k).contains(&*a)));
    // Statuses are written to the status topic under this worker's id.
    running.stores.statuses.refresh().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        running.stores.statuses.refresh().await.unwrap();
        let s = running.stores.statuses.connector(&paused);
        if s.as_ref().is_some_and(|s| s.state == State::Paused) {
            let s = s.unwrap();
            assert_eq!(s.worker_id, "127.0.0.1:8083");
            assert!(s.generation >= 2, "{s:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Resuming the stopped connector makes tasks again, which continue from its offsets.
    running.herder.resume_connector(&stopped).await.unwrap();
    running.wait_state(&stopped, "RUNNING", &["RUNNING"]).await;
    running.wait_seq(&stopped, 20).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_change_only_when_stopped_and_go_to_the_offsets_topic() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let name = running.stopped_source().await;
    let offsets: sluice_runtime::herder::ConnectorOffsets = serde_json::from_value(
        serde_json::json!({"offsets": [{"partition": {"source": name}, "offset": {"seq": 7}}]}),
    )
    .unwrap();
    running
        .herder
        .alter_connector_offsets(&name, offsets.clone())
        .await
        .unwrap();
    running.stop().await;

    let running = start(dir.path()).await;
    assert_eq!(running.source_seq(&name).await, Some(7));
    running.herder.resume_connector(&name).await.unwrap();
    running.wait_state(&name, "RUNNING", &["RUNNING"]).await;
    running.wait_seq(&name, 10).await;
    assert_eq!(
        source_starts().lock().unwrap().get(&name).cloned(),
        Some(vec![Some(7)])
    );
    assert!(matches!(
        running.herder.alter_connector_offsets(&name, offsets).await,
        Err(HerderError::BadRequest(_))
    ));
    running.herder.stop_connector(&name).await.unwrap();
    running.herder.reset_connector_offsets(&name).await.unwrap();
    assert_eq!(running.source_seq(&name).await, None);
    running.stop().await;
}

/// A listing or a reset on one worker covers what tasks on other workers committed: the
/// worker reads the offsets topic to the end first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_committed_by_other_workers_are_listed_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let name = running.stopped_source().await;
    // The offsets topic as another worker sees it, committing for a task it ran.
    let topics = InternalTopics::from_worker_config(&worker_props(dir.path())).unwrap();
    let other = TopicOffsetStore::open(
        running.log.as_ref(),
        &topics.offsets,
        &StoreOptions::default(),
    )
    .await
    .unwrap();
    let json_map = |v: serde_json::Value| codec::offset_map_from_json(v.as_object().unwrap());
    let partition = json_map(serde_json::json!({ "source": name }));
    let offset = json_map(serde_json::json!({ "seq": 4 }));
    other
        .set(vec![(
            codec::offset_key(&name, &partition),
            Some(codec::offset_value(&offset)),
        )])
        .await
        .unwrap();

    assert_eq!(running.source_seq(&name).await, Some(4));
    running.herder.reset_connector_offsets(&name).await.unwrap();
    other.catch_up().await.unwrap();
    let left: Vec<_> = other
        .entries()
        .into_iter()
        .filter_map(|(key, _)| codec::parse_offset_key(&key))
        .filter(|(connector, _)| *connector == name)
        .collect();
    assert!(left.is_empty(), "offsets left after the reset: {left:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_topics_are_shared_through_the_status_topic() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let name = unique("src");
    let topic = unique("t");
    assert!(running
        .put(&name, &pairs(&source_config(&topic, "10")))
        .await
        .unwrap());
    // The status topic as another worker reads it.
    let internal = InternalTopics::from_worker_config(&worker_props(dir.path())).unwrap();
    let other = StatusStore::open(
        running.log.as_ref(),
        &internal.status,
        &StoreOptions::default(),
    )
    .await
    .unwrap();
    wait_until_async("the task's topic is in the status topic", async || {
        other.refresh().await.unwrap();
        other.topic_status(&name, &topic).is_some()
    })
    .await;
    let recorded = other.topic_status(&name, &topic).unwrap();
    assert_eq!(
        (recorded.connector.as_str(), recorded.task),
        (name.as_str(), 0)
    );
    assert_eq!(
        running.herder.active_topics(&name).await.unwrap(),
        [topic.as_str()]
    );

    // A topic that a task on another worker used is listed here too.
    let elsewhere = unique("t-elsewhere");
    let used_elsewhere = TopicStatus {
        topic: elsewhere.clone(),
        connector: name.clone(),
        task: 1,
        discover_timestamp: 1_700_000_000_000,
    };
    other.put_topic(&used_elsewhere).await.unwrap();
    let mut both = vec![topic.clone(), elsewhere.clone()];
    both.sort();
    assert_eq!(running.herder.active_topics(&name).await.unwrap(), both);

    // Another worker's reset reaches this worker's own record, so its task would record the
    // topic again on its next use.
    other.delete_topic(&name, &topic).await.unwrap();
    assert_eq!(
        running.herder.active_topics(&name).await.unwrap(),
        [elsewhere.as_str()]
    );
    let local = running.herder.worker().status().topics(&name);
    assert!(local.list().is_empty(), "{:?}", local.list());

    // A reset through this worker deletes every worker's records.
    running.herder.reset_active_topics(&name).await.unwrap();
    other.refresh().await.unwrap();
    assert!(other.topics(&name).is_empty());
    assert!(running
        .herder
        .active_topics(&name)
        .await
        .unwrap()
        .is_empty());

    // A task still writing records its topic again after a reset.
    let busy = unique("busy");
    let busy_topic = unique("t");
    let mut config = source_config(&busy_topic, "1000000");
    config.extend([
        ("batch.size", "1".to_string()),
        ("poll.delay.ms", "20".to_string()),
    ]);
    assert!(running.put(&busy, &pairs(&config)).await.unwrap());
    wait_until_async("the busy source's topic is listed", async || {
        running.herder.active_topics(&busy).await.unwrap() == [busy_topic.as_str()]
    })
    .await;
    running.herder.reset_active_topics(&busy).await.unwrap();
    wait_until_async("the busy source's topic is recorded again", async || {
        other.refresh().await.unwrap();
        other.topic_status(&busy, &busy_topic).is_some()
    })
    .await;

    // Deleting a connector deletes its topics.
    other.put_topic(&used_elsewhere).await.unwrap();
    running.herder.delete_connector(&name).await.unwrap();
    wait_until_async("the deleted connector's topics are gone", async || {
        other.refresh().await.unwrap();
        other.topics(&name).is_empty()
    })
    .await;
    running.stop().await;
}

#[test]
fn a_distributed_worker_needs_group_id_and_the_topics_but_no_offsets_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut props = worker_props(dir.path());
    WorkerConfig::parse_distributed(&props, &registry()).unwrap();
    props.remove("group.id");
    props.remove("status.storage.topic");
    let issues = WorkerConfig::parse_distributed(&props, &registry()).unwrap_err();
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys.len(), 2, "{issues:?}");
    assert!(keys.contains(&"group.id") && keys.contains(&"status.storage.topic"));
    assert!(distributed_worker_config_def()
        .key("offset.storage.file.filename")
        .is_none());
}

async fn topic_end(log: &EmbeddedLog, topic: &str) -> i64 {
    log.admin()
        .describe_topic(topic)
        .await
        .unwrap()
        .partitions
        .iter()
        .map(|p| p.latest_offset)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_asking_for_new_task_configs_gets_its_tasks_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let name = unique("reconf");
    let topic = unique("t");
    let mut config = source_config(&topic, "10");
    config.push(("tasks.max", "3".to_string()));
    assert!(running.put(&name, &pairs(&config)).await.unwrap());
    running.wait_state(&name, "RUNNING", &["RUNNING"]).await;
    let starts = || {
        source_starts()
            .lock()
            .unwrap()
            .get(&name)
            .map_or(0, Vec::len)
    };
    wait_until("the first task", || starts() == 1).await;

    // Task configs the connector makes again unchanged: nothing written, nothing restarted.
    let configs_end = topic_end(&running.log, "connect-configs").await;
    request_reconfiguration(&name);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        topic_end(&running.log, "connect-configs").await,
        configs_end
    );
    assert_eq!(starts(), 1);

    // The connector's work changed: two tasks, written to the config topic and started.
    change_source_tasks(&name, 2, true);
    running
        .wait_state(&name, "RUNNING", &["RUNNING", "RUNNING"])
        .await;
    assert_eq!(running.herder.task_configs(&name).await.unwrap().len(), 2);
    assert_eq!(
        running.stores.configs.snapshot().task_count(&name),
        2,
        "the new task configs are committed in the config topic"
    );
    wait_until("two more task starts", || starts() == 3).await;

    // Paused, a request is skipped; resuming makes the task configs again.
    running.herder.pause_connector(&name).await.unwrap();
    running
        .wait_state(&name, "PAUSED", &["PAUSED", "PAUSED"])
        .await;
    change_source_tasks(&name, 3, true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.herder.task_configs(&name).await.unwrap().len(), 2);
    running.herder.resume_connector(&name).await.unwrap();
    running
        .wait_state(&name, "RUNNING", &["RUNNING", "RUNNING", "RUNNING"])
        .await;
    assert_eq!(running.herder.task_configs(&name).await.unwrap().len(), 3);
    running.stop().await;
}

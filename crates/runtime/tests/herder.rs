//! The standalone herder driven through the `Herder` trait: configs, target states,
//! restarts, offsets and concurrent changes, on the embedded log with test connectors.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use sluice_api::config::ConfigMap;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::Log;
use sluice_runtime::herder::{
    ConnectorOffsets, ConnectorType, Herder, HerderError, RestartRequest, StandaloneHerder,
};
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::status::{ConnectorTaskId, TargetState};
use sluice_runtime::worker::Worker;

struct Setup {
    _dir: tempfile::TempDir,
    herder: Arc<StandaloneHerder>,
    log: Arc<EmbeddedLog>,
}

fn setup(extra: &[(&str, &str)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(&dir.path().join("data"), EmbeddedLogOptions::default()).unwrap();
    let config = worker_config(dir.path(), extra);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Arc::new(Worker::new(config, registry(), log.clone(), offsets));
    let herder = Arc::new(StandaloneHerder::new(
        worker,
        registry(),
        "127.0.0.1:8083",
        "test-cluster",
    ));
    Setup {
        _dir: dir,
        herder,
        log,
    }
}

impl Setup {
    async fn put(&self, name: &str, pairs: &[(&str, &str)]) -> Result<bool, HerderError> {
        self.herder
            .put_connector_config(name, map(pairs), true, None)
            .await
            .map(|c| c.created)
    }

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

    async fn end_offset(&self, topic: &str) -> i64 {
        match self.log.admin().describe_topic(topic).await {
            Ok(d) => d.partitions.iter().map(|p| p.latest_offset).sum(),
            Err(_) => 0,
        }
    }

    async fn source_seq(&self, name: &str) -> Option<i64> {
        let offsets = self.herder.connector_offsets(name).await.unwrap();
        offsets
            .offsets
            .first()
            .and_then(|o| o.offset.as_ref()?.get("seq")?.as_i64())
    }
}

fn source(topic: &str, records: &str) -> Vec<(&'static str, String)> {
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
async fn create_validates_refuses_duplicates_and_reports_info_status_and_tasks() {
    let s = setup(&[]);
    let topic = unique("t");
    let mut bad = source(&topic, "5");
    bad.push(("tasks.max", "0".into()));
    let err = s.put("src", &pairs(&bad)).await.unwrap_err();
    assert_eq!(
        err,
        HerderError::BadRequest(
            "Connector configuration is invalid and contains the following 1 error(s):\n\
             Invalid value 0 for configuration tasks.max: Value must be at least 1\n\
             You can also find the above list of errors at the endpoint \
             `/connector-plugins/{connectorType}/config/validate`"
                .into()
        )
    );
    let created = s
        .herder
        .put_connector_config("src", map(&pairs(&source(&topic, "5"))), false, None)
        .await
        .unwrap();
    assert!(created.created);
    assert_eq!(created.value.kind, ConnectorType::Source);
    assert_eq!(created.value.config["name"], "src");
    assert_eq!(created.value.tasks.len(), 1);
    let again = s
        .herder
        .put_connector_config("src", map(&pairs(&source(&topic, "5"))), false, None)
        .await
        .unwrap_err();
    assert_eq!(
        again,
        HerderError::Conflict("Connector src already exists".into())
    );
    let mut named = source(&topic, "5");
    named.push(("name", "other".into()));
    assert_eq!(
        s.put("src", &pairs(&named)).await.unwrap_err(),
        HerderError::BadRequest(
            "Connector name configuration (other) doesn't match connector name in the URL (src)"
                .into()
        )
    );
    assert_eq!(
        s.put("x", &[("topic", "t")]).await.unwrap_err(),
        HerderError::BadRequest(
            "Connector config {name=x, topic=t} contains no connector type".into()
        )
    );
    s.wait_state("src", "RUNNING", &["RUNNING"]).await;
    let status = s.herder.connector_status("src").await.unwrap();
    assert_eq!(status.connector.worker_id, "127.0.0.1:8083");
    assert_eq!(status.kind, ConnectorType::Source);
    let tasks = s.herder.task_configs("src").await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].config["topic"], topic);
    assert_eq!(s.herder.connectors().await, vec!["src"]);
    assert_eq!(
        s.herder.connector_info("nope").await.unwrap_err(),
        HerderError::NotFound("Connector nope not found".into())
    );
    assert_eq!(
        s.herder.connector_status("nope").await.unwrap_err(),
        HerderError::NotFound("No status found for connector nope".into())
    );
    assert_eq!(
        s.herder.task_status("src", 5).await.unwrap_err(),
        HerderError::NotFound("No status found for task src-5".into())
    );
    s.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_restarts_tasks_with_the_new_config_and_keeps_offsets() {
    let s = setup(&[]);
    let topic = unique("t");
    let store = unique("store");
    let src = unique("src");
    s.put(
        "sink",
        &[
            ("connector.class", SINK_CLASS),
            ("topics", &topic),
            ("store", &store),
        ],
    )
    .await
    .unwrap();
    s.put(&src, &pairs(&source(&topic, "50"))).await.unwrap();
    wait_until("50 records", || sink_store(&store).records.len() >= 50).await;
    wait_until_async("offsets committed", async || {
        s.source_seq(&src).await == Some(50)
    })
    .await;
    assert!(!s.put(&src, &pairs(&source(&topic, "80"))).await.unwrap());
    assert_eq!(
        s.herder.task_configs(&src).await.unwrap()[0].config["records"],
        "80"
    );
    wait_until("80 records", || sink_store(&store).records.len() >= 80).await;
    let values: Vec<String> = sink_store(&store)
        .records
        .into_iter()
        .map(|r| r.4)
        .collect();
    let expected: Vec<String> = (0..80).map(|i| i.to_string()).collect();
    assert_eq!(values, expected, "resumed from the committed offset");
    let starts = source_starts().lock().unwrap()[&src].clone();
    assert_eq!(starts, vec![None, Some(50)]);
    s.wait_state(&src, "RUNNING", &["RUNNING"]).await;
    s.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_stop_show_in_status_and_in_the_data() {
    let s = setup(&[]);
    let topic = unique("t");
    let store = unique("store");
    s.put(
        "sink",
        &[
            ("connector.class", SINK_CLASS),
            ("topics", &topic),
            ("store", &store),
        ],
    )
    .await
    .unwrap();
    s.wait_state("sink", "RUNNING", &["RUNNING"]).await;
    s.herder.pause_connector("sink").await.unwrap();
    s.wait_state("sink", "PAUSED", &["PAUSED"]).await;
    s.put("src", &pairs(&source(&topic, "100"))).await.unwrap();
    wait_until_async("records in the log", async || {
        s.end_offset(&topic).await == 100
    })
    .await;
    // Idle puts go on while paused; a few of them show time passing without records.
    let idle = sink_store(&store).empty_puts;
    wait_until("paused sink idles", || {
        sink_store(&store).empty_puts >= idle + 3
    })
    .await;
    assert!(
        sink_store(&store).records.is_empty(),
        "a paused sink puts nothing"
    );
    s.herder.resume_connector("sink").await.unwrap();
    wait_until("records after resume", || {
        sink_store(&store).records.len() >= 100
    })
    .await;
    s.wait_state("sink", "RUNNING", &["RUNNING"]).await;

    // A paused source stops polling.
    let slow = unique("slow");
    let mut config = source(&slow, "1000000");
    config.push(("batch.size", "1".into()));
    config.push(("poll.delay.ms", "5".into()));
    s.put("slow", &pairs(&config)).await.unwrap();
    wait_until_async("slow records", async || s.end_offset(&slow).await > 5).await;
    s.herder.pause_connector("slow").await.unwrap();
    s.wait_state("slow", "PAUSED", &["PAUSED"]).await;
    let id = ConnectorTaskId {
        connector: "slow".into(),
        task: 0,
    };
    let counters = s.herder.worker().task_counters(&id).unwrap();
    let polled = || counters.polled.load(Ordering::Relaxed);
    // Records polled before the pause are still written.
    wait_until("polled records written", || {
        counters.written.load(Ordering::Relaxed) == polled()
    })
    .await;
    let (paused_at, polled_at) = (s.end_offset(&slow).await, polled());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(polled(), polled_at, "no polls while paused");
    assert_eq!(
        s.end_offset(&slow).await,
        paused_at,
        "nothing written while paused"
    );
    s.herder.resume_connector("slow").await.unwrap();
    s.wait_state("slow", "RUNNING", &["RUNNING"]).await;
    wait_until_async("writing again", async || {
        s.end_offset(&slow).await > paused_at
    })
    .await;

    // Stopped: no tasks, no task configs; resume brings them back.
    s.herder.stop_connector("slow").await.unwrap();
    s.wait_state("slow", "STOPPED", &[]).await;
    assert!(s.herder.task_configs("slow").await.unwrap().is_empty());
    assert!(s
        .herder
        .connector_info("slow")
        .await
        .unwrap()
        .tasks
        .is_empty());
    let stopped_at = s.end_offset(&slow).await;
    s.herder.resume_connector("slow").await.unwrap();
    s.wait_state("slow", "RUNNING", &["RUNNING"]).await;
    wait_until_async("writing after stop", async || {
        s.end_offset(&slow).await > stopped_at
    })
    .await;
    assert_eq!(
        s.herder.pause_connector("nope").await.unwrap_err(),
        HerderError::NotFound("Unknown connector nope".into())
    );
    s.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_states_paused_and_stopped_start_without_tasks() {
    let s = setup(&[]);
    let topic = unique("t");
    for (name, state, shown) in [
        ("p", TargetState::Paused, "PAUSED"),
        ("s", TargetState::Stopped, "STOPPED"),
    ] {
        s.herder
            .put_connector_config(name, map(&pairs(&source(&topic, "10"))), false, Some(state))
            .await
            .unwrap();
        s.wait_state(name, shown, &[]).await;
    }
    assert_eq!(s.end_offset(&topic).await, 0);
    s.herder.resume_connector("p").await.unwrap();
    s.wait_state("p", "RUNNING", &["RUNNING"]).await;
    wait_until_async("records", async || s.end_offset(&topic).await == 10).await;
    s.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_follow_include_tasks_and_only_failed() {
    let s = setup(&[]);
    let topic = unique("t");
    let mut failing = source(&topic, "10");
    failing.push(("struct.values", "true".into()));
    failing.push(("value.converter", "ByteArray".into()));
    s.put("bad", &pairs(&failing)).await.unwrap();
    s.wait_state("bad", "RUNNING", &["FAILED"]).await;
    let status = s.herder.connector_status("bad").await.unwrap();
    assert!(status.tasks[0]
        .trace
        .as_deref()
        .unwrap()
        .contains("VALUE_CONVERTER"));
    assert!(status.connector.trace.is_none());

    let only_failed = RestartRequest {
        include_tasks: true,
        only_failed: true,
    };
    let answer = s
        .herder
        .restart_connector("bad", only_failed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        answer.connector.state, "RUNNING",
        "a running connector is not restarted"
    );
    assert_eq!(answer.tasks[0].state, "RESTARTING");
    s.wait_state("bad", "RUNNING", &["FAILED"]).await;

    let connector_only = RestartRequest {
        include_tasks: false,
        only_failed: true,
    };
    let answer = s
        .herder
        .restart_connector("bad", connector_only)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.connector.state, "RUNNING");
    assert_eq!(answer.tasks[0].state, "FAILED", "tasks are not restarted");

    let all = RestartRequest {
        include_tasks: true,
        only_failed: false,
    };
    let answer = s
        .herder
        .restart_connector("bad", all)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.connector.state, "RESTARTING");
    assert_eq!(answer.tasks[0].state, "RESTARTING");
    assert!(answer.tasks[0].trace.is_none());
    s.wait_state("bad", "RUNNING", &["FAILED"]).await;

    assert_eq!(
        s.herder
            .restart_connector("bad", RestartRequest::default())
            .await
            .unwrap(),
        None
    );
    s.herder.restart_task("bad", 0).await.unwrap();
    s.wait_state("bad", "RUNNING", &["FAILED"]).await;
    assert_eq!(
        s.herder.restart_task("bad", 7).await.unwrap_err(),
        HerderError::NotFound("Task bad-7 not found".into())
    );
    assert_eq!(
        s.herder.restart_task("nope", 0).await.unwrap_err(),
        HerderError::NotFound("Connector nope not found".into())
    );
    assert_eq!(
        s.herder.restart_connector("nope", all).await.unwrap_err(),
        HerderError::NotFound("Unknown connector: nope".into())
    );
    s.herder.stop().await;
}

fn offsets(json: &str) -> ConnectorOffsets {
    serde_json::from_str(json).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_read_altered_and_reset_only_when_stopped() {
    let s = setup(&[]);
    let topic = unique("t");
    let store = unique("store");
    s.put("src", &pairs(&source(&topic, "10"))).await.unwrap();
    s.put(
        "sink",
        &[
            ("connector.class", SINK_CLASS),
            ("topics", &topic),
            ("store", &store),
        ],
    )
    .await
    .unwrap();
    wait_until_async("source offsets", async || {
        s.source_seq("src").await == Some(10)
    })
    .await;
    wait_until_async("sink offsets", async || {
        let o = s.herder.connector_offsets("sink").await.unwrap();
        o.offsets
            .first()
            .and_then(|o| o.offset.as_ref()?.get("kafka_offset")?.as_i64())
            == Some(10)
    })
    .await;
    let sink = s.herder.connector_offsets("sink").await.unwrap();
    assert_eq!(
        serde_json::to_value(&sink).unwrap(),
        serde_json::json!({"offsets":[{"partition":{"kafka_topic": topic, "kafka_partition":0},"offset":{"kafka_offset":10}}]})
    );
    let not_stopped = HerderError::BadRequest(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can \
         be done for the specified connector by issuing a 'PUT' request to the \
         '/connectors/src/stop' endpoint"
            .into(),
    );
    let alter = offsets(r#"{"offsets":[{"partition":{"source":"src"},"offset":{"seq":4}}]}"#);
    assert_eq!(
        s.herder
            .alter_connector_offsets("src", alter.clone())
            .await
            .unwrap_err(),
        not_stopped
    );
    assert_eq!(
        s.herder.reset_connector_offsets("src").await.unwrap_err(),
        not_stopped
    );
    s.herder.pause_connector("src").await.unwrap();
    assert_eq!(
        s.herder
            .alter_connector_offsets("src", alter.clone())
            .await
            .unwrap_err(),
        not_stopped,
        "paused is not stopped"
    );

    s.herder.stop_connector("src").await.unwrap();
    let message = s
        .herder
        .alter_connector_offsets("src", alter)
        .await
        .unwrap();
    assert!(message.message.starts_with("The Connect framework-managed offsets for this connector have been altered successfully."), "{}", message.message);
    assert_eq!(s.source_seq("src").await, Some(4));
    let message = s.herder.reset_connector_offsets("src").await.unwrap();
    assert!(message.message.contains("have been reset successfully"));
    assert!(s
        .herder
        .connector_offsets("src")
        .await
        .unwrap()
        .offsets
        .is_empty());
    s.herder.resume_connector("src").await.unwrap();
    wait_until_async("re-read from the start", async || {
        s.end_offset(&topic).await == 20
    })
    .await;

    s.herder.stop_connector("sink").await.unwrap();
    let bad = offsets(r#"{"offsets":[{"partition":{"kafka_topic":"x"},"offset":null}]}"#);
    assert!(matches!(
        s.herder.alter_connector_offsets("sink", bad).await,
        Err(HerderError::BadRequest(_))
    ));
    let alter = offsets(&format!(
        r#"{{"offsets":[{{"partition":{{"kafka_topic":"{topic}","kafka_partition":0}},"offset":{{"kafka_offset":"3"}}}}]}}"#
    ));
    s.herder
        .alter_connector_offsets("sink", alter)
        .await
        .unwrap();
    let sink = s.herder.connector_offsets("sink").await.unwrap();
    assert_eq!(sink.offsets[0].offset.as_ref().unwrap()["kafka_offset"], 3);
    s.herder.reset_connector_offsets("sink").await.unwrap();
    assert!(s
        .herder
        .connector_offsets("sink")
        .await
        .unwrap()
        .offsets
        .is_empty());
    s.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_topics_are_tracked_and_delete_keeps_offsets() {
    let s = setup(&[]);
    let topic = unique("t");
    s.put("src", &pairs(&source(&topic, "10"))).await.unwrap();
    wait_until_async("offsets", async || s.source_seq("src").await == Some(10)).await;
    assert_eq!(
        s.herder.active_topics("src").await.unwrap(),
        vec![topic.clone()]
    );
    s.herder.reset_active_topics("src").await.unwrap();
    assert!(s.herder.active_topics("src").await.unwrap().is_empty());
    s.herder.delete_connector("src").await.unwrap();
    assert!(s.herder.connectors().await.is_empty());
    assert_eq!(
        s.herder.delete_connector("src").await.unwrap_err(),
        HerderError::NotFound("Connector src not found".into())
    );
    s.put("src", &pairs(&source(&topic, "15"))).await.unwrap();
    wait_until_async("offsets", async || s.source_seq("src").await == Some(15)).await;
    assert_eq!(
        s.end_offset(&topic).await,
        15,
        "resumed from the kept offset"
    );
    s.herder.stop().await;

    let off = setup(&[("topic.tracking.allow.reset", "false")]);
    off.put("src", &pairs(&source(&topic, "1"))).await.unwrap();
    assert_eq!(
        off.herder.reset_active_topics("src").await.unwrap_err(),
        HerderError::Forbidden("Topic tracking reset is disabled.".into())
    );
    off.herder.stop().await;
    let off = setup(&[("topic.tracking.enable", "false")]);
    assert_eq!(
        off.herder.active_topics("src").await.unwrap_err(),
        HerderError::Forbidden("Topic tracking is disabled.".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_changes_leave_a_state_every_read_agrees_with() {
    let s = setup(&[]);
    let topic = unique("t");
    let mut handles = Vec::new();
    for i in 0..50u32 {
        let herder = s.herder.clone();
        let topic = topic.clone();
        handles.push(tokio::spawn(async move {
            let name = format!("c{}", i % 10);
            let config: ConfigMap = map(&[
                ("connector.class", SOURCE_CLASS),
                ("topic", &topic),
                ("records", &(i % 7).to_string()),
            ]);
            match i % 5 {
                0 | 1 => herder
                    .put_connector_config(&name, config, false, None)
                    .await
                    .map(|_| ()),
                2 | 3 => herder
                    .put_connector_config(&name, config, true, None)
                    .await
                    .map(|_| ()),
                _ => herder.delete_connector(&name).await,
            }
        }));
    }
    for h in handles {
        match h.await.unwrap() {
            Ok(()) | Err(HerderError::Conflict(_)) | Err(HerderError::NotFound(_)) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    let names = s.herder.connectors().await;
    let listed: BTreeMap<String, ()> = names.iter().map(|n| (n.clone(), ())).collect();
    for i in 0..10 {
        let name = format!("c{i}");
        let info = s.herder.connector_info(&name).await;
        let status = s.herder.connector_status(&name).await;
        if listed.contains_key(&name) {
            let info = info.unwrap();
            assert_eq!(info.config["name"], name);
            assert_eq!(status.unwrap().name, name);
            assert_eq!(
                s.herder.task_configs(&name).await.unwrap().len(),
                info.tasks.len()
            );
        } else {
            assert!(matches!(info, Err(HerderError::NotFound(_))));
            assert!(matches!(status, Err(HerderError::NotFound(_))));
        }
    }
    s.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_asking_for_new_task_configs_gets_its_tasks_restarted() {
    let s = setup(&[]);
    s.herder.follow_reconfiguration_requests();
    let name = unique("reconf");
    let topic = unique("t");
    s.put(
        &name,
        &[
            ("connector.class", SOURCE_CLASS),
            ("topic", &topic),
            ("records", "10"),
            ("tasks.max", "3"),
        ],
    )
    .await
    .unwrap();
    s.wait_state(&name, "RUNNING", &["RUNNING"]).await;
    let starts = || {
        source_starts()
            .lock()
            .unwrap()
            .get(&name)
            .map_or(0, Vec::len)
    };
    wait_until("the first task", || starts() == 1).await;

    // Unchanged task configs: the task keeps running.
    request_reconfiguration(&name);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(starts(), 1);

    change_source_tasks(&name, 2, true);
    s.wait_state(&name, "RUNNING", &["RUNNING", "RUNNING"])
        .await;
    assert_eq!(s.herder.task_configs(&name).await.unwrap().len(), 2);
    wait_until("two more task starts", || starts() == 3).await;

    // Paused, a request is skipped; resuming makes the task configs again.
    s.herder.pause_connector(&name).await.unwrap();
    s.wait_state(&name, "PAUSED", &["PAUSED", "PAUSED"]).await;
    change_source_tasks(&name, 3, true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.herder.task_configs(&name).await.unwrap().len(), 2);
    s.herder.resume_connector(&name).await.unwrap();
    s.wait_state(&name, "RUNNING", &["RUNNING", "RUNNING", "RUNNING"])
        .await;
    assert_eq!(s.herder.task_configs(&name).await.unwrap().len(), 3);
    s.herder.stop().await;
}

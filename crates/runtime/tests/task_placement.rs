//! A connector's instance and its tasks placed separately on a worker, as a cluster's
//! assignment does: tasks start and stop one by one from their configs without the connector
//! instance, and the instance comes and goes without touching the tasks.

mod common;

use std::sync::Arc;

use common::*;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_runtime::connector_config::ConnectorConfig;
use sluice_runtime::error::RuntimeError;
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::status::{ConnectorTaskId, State, TargetState};
use sluice_runtime::worker::Worker;

fn task(connector: &str, task: u32) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: Arc::from(connector),
        task,
    }
}

fn worker(dir: &std::path::Path) -> Arc<Worker> {
    let log = EmbeddedLog::open(&dir.join("data"), EmbeddedLogOptions::default()).unwrap();
    let config = worker_config(dir, &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    Worker::shared(config, registry(), log, offsets)
}

fn task_state(worker: &Worker, id: &ConnectorTaskId) -> Option<State> {
    worker.status().task(id).map(|s| s.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_tasks_start_and_stop_without_the_connector_instance() {
    let dir = tempfile::tempdir().unwrap();
    let worker = worker(dir.path());
    let name = unique("placed");
    let topic = unique("placed-topic");
    let config = map(&[
        ("name", &name),
        ("connector.class", "CountingSource"),
        ("topic", &topic),
        ("records", "50"),
    ]);
    let parsed = ConnectorConfig::parse(&config, &registry()).unwrap();
    worker
        .add_connector_without_instance(parsed, TargetState::Started)
        .await
        .unwrap();
    assert_eq!(worker.has_connector_instance(&name).await, Some(false));
    let status = worker.connector_status(&name).unwrap();
    assert_eq!(status.connector.state, State::Unassigned);
    // No instance: it cannot make task configs.
    assert!(worker.generate_task_configs(&name).await.is_err());

    // Tasks 0 and 2 only, from their (committed) configs.
    worker
        .start_task(&task(&name, 2), config.clone())
        .await
        .unwrap();
    worker
        .start_task(&task(&name, 0), config.clone())
        .await
        .unwrap();
    assert_eq!(worker.running_tasks(&name).await, Some(vec![0, 2]));
    for t in [0, 2] {
        let id = task(&name, t);
        wait_until("the task runs", || {
            task_state(&worker, &id) == Some(State::Running)
        })
        .await;
    }
    assert_eq!(task_state(&worker, &task(&name, 1)), None);
    assert_eq!(
        worker.connector_status(&name).unwrap().connector.state,
        State::Unassigned
    );
    let before = worker.task_counters(&task(&name, 0)).unwrap();

    // Stopping task 2 leaves task 0 as it was (not restarted).
    worker.stop_task(&task(&name, 2)).await.unwrap();
    assert_eq!(worker.running_tasks(&name).await, Some(vec![0]));
    assert_eq!(task_state(&worker, &task(&name, 2)), None);
    assert!(matches!(
        worker.stop_task(&task(&name, 2)).await,
        Err(RuntimeError::UnknownTask { .. })
    ));
    let after = worker.task_counters(&task(&name, 0)).unwrap();
    assert!(Arc::ptr_eq(&before, &after), "task 0 was restarted");
    assert_eq!(task_state(&worker, &task(&name, 0)), Some(State::Running));

    // The instance comes here and goes again; task 0 keeps running throughout.
    worker.start_connector_instance(&name).await.unwrap();
    assert_eq!(worker.has_connector_instance(&name).await, Some(true));
    assert_eq!(
        worker.connector_status(&name).unwrap().connector.state,
        State::Running
    );
    assert_eq!(worker.generate_task_configs(&name).await.unwrap().len(), 1);
    worker.stop_connector_instance(&name).await.unwrap();
    assert_eq!(worker.has_connector_instance(&name).await, Some(false));
    assert_eq!(
        worker.connector_status(&name).unwrap().connector.state,
        State::Unassigned
    );
    let after = worker.task_counters(&task(&name, 0)).unwrap();
    assert!(Arc::ptr_eq(&before, &after), "task 0 was restarted");
    assert_eq!(worker.running_tasks(&name).await, Some(vec![0]));

    // The target state still applies to the tasks here; a STOPPED connector runs none.
    worker
        .set_target_state(&name, TargetState::Paused)
        .await
        .unwrap();
    let id = task(&name, 0);
    wait_until("task 0 paused", || {
        task_state(&worker, &id) == Some(State::Paused)
    })
    .await;
    worker
        .set_target_state(&name, TargetState::Stopped)
        .await
        .unwrap();
    assert_eq!(worker.running_tasks(&name).await, Some(vec![]));
    assert!(worker.start_task(&task(&name, 0), config).await.is_err());

    assert!(worker.remove_connector(&name).await);
    assert_eq!(worker.running_tasks(&name).await, None);
    assert!(worker.connector_status(&name).is_none());
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_running_task_again_restarts_only_that_task() {
    let dir = tempfile::tempdir().unwrap();
    let worker = worker(dir.path());
    let name = unique("whole");
    let topic = unique("whole-topic");
    let config = map(&[
        ("name", &name),
        ("connector.class", "CountingSource"),
        ("topic", &topic),
        ("records", "10"),
        ("tasks.max", "2"),
        ("tasks.generate", "2"),
    ]);
    // The standalone path: instance and every task here.
    worker
        .start_connector(ConnectorConfig::parse(&config, &registry()).unwrap())
        .await
        .unwrap();
    assert_eq!(worker.has_connector_instance(&name).await, Some(true));
    assert_eq!(worker.running_tasks(&name).await, Some(vec![0, 1]));
    let first = worker.task_counters(&task(&name, 0)).unwrap();
    let second = worker.task_counters(&task(&name, 1)).unwrap();

    worker.start_task(&task(&name, 1), config).await.unwrap();
    assert_eq!(worker.running_tasks(&name).await, Some(vec![0, 1]));
    let first_after = worker.task_counters(&task(&name, 0)).unwrap();
    let second_after = worker.task_counters(&task(&name, 1)).unwrap();
    assert!(Arc::ptr_eq(&first, &first_after), "task 0 was restarted");
    assert!(
        !Arc::ptr_eq(&second, &second_after),
        "task 1 did not restart"
    );

    // Moving the instance away keeps the tasks; they stop with the worker.
    worker.stop_connector_instance(&name).await.unwrap();
    assert_eq!(worker.running_tasks(&name).await, Some(vec![0, 1]));
    worker.stop().await;
    assert_eq!(worker.running_tasks(&name).await, None);
}

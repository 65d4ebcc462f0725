//! The distributed herder given its share of the work by hand (as group membership will):
//! it runs exactly the assigned connector instances and tasks, and a change of assignment or
//! of another connector restarts nothing that stays.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use common::*;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_runtime::herder::{DistributedHerder, Herder, InternalStores, WorkAssignment};
use sluice_runtime::metrics::TaskCounters;
use sluice_runtime::status::{ConnectorTaskId, State};
use sluice_runtime::storage::{InternalTopics, StatusStore, StoreOptions};
use sluice_runtime::worker::Worker;
use sluice_runtime::worker_config::WorkerConfig;

fn id(connector: &str, task: u32) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: Arc::from(connector),
        task,
    }
}

fn assignment(connectors: &[&str], tasks: &[(&str, u32)]) -> WorkAssignment {
    WorkAssignment {
        connectors: connectors.iter().map(|c| c.to_string()).collect(),
        tasks: tasks
            .iter()
            .map(|(c, t)| id(c, *t))
            .collect::<BTreeSet<_>>(),
    }
}

async fn start(dir: &Path) -> (Arc<DistributedHerder>, StatusStore, Arc<EmbeddedLog>) {
    let props = distributed_worker_props(dir);
    let config = WorkerConfig::parse_distributed(&props, &registry()).unwrap();
    let topics = InternalTopics::from_worker_config(&props).unwrap();
    let log = EmbeddedLog::open(&dir.join("data"), EmbeddedLogOptions::default()).unwrap();
    let stores = InternalStores::open(log.as_ref(), &topics, &StoreOptions::default())
        .await
        .unwrap();
    let worker = Worker::shared(
        config,
        registry(),
        log.clone(),
        Arc::new(stores.offsets.clone()),
    );
    let herder =
        DistributedHerder::start(worker, registry(), &stores, "127.0.0.1:8083", "test").await;
    (herder, stores.statuses, log)
}

fn counters(herder: &DistributedHerder, connector: &str, task: u32) -> Arc<TaskCounters> {
    herder
        .worker()
        .task_counters(&id(connector, task))
        .unwrap_or_else(|| panic!("{connector}-{task} does not run"))
}

async fn running(herder: &DistributedHerder, connector: &str) -> Option<Vec<u32>> {
    herder.worker().running_tasks(connector).await
}

async fn wait_running(herder: &DistributedHerder, connector: &str, task: u32) {
    let id = id(connector, task);
    wait_until("the task runs", || {
        herder.worker().status().task(&id).map(|s| s.state) == Some(State::Running)
    })
    .await;
}

fn source(topic: &str, records: &str, tasks: &str) -> sluice_api::config::ConfigMap {
    map(&[
        ("connector.class", "CountingSource"),
        ("topic", topic),
        ("records", records),
        ("tasks.max", tasks),
        ("tasks.generate", tasks),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_herder_runs_exactly_its_assignment_and_restarts_nothing_that_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (herder, statuses, log) = start(dir.path()).await;
    let (a, b) = (unique("a"), unique("b"));
    let topic = unique("assigned");
    herder
        .put_connector_config(&a, source(&topic, "10", "3"), false, None)
        .await
        .unwrap();
    herder
        .put_connector_config(&b, source(&topic, "10", "1"), false, None)
        .await
        .unwrap();
    // Without an assignment, everything runs here.
    assert!(herder.assignment().is_none());
    let state = herder.cluster_state();
    assert!(state.config_offset > 0, "{state:?}");
    assert_eq!(
        state.connectors,
        [(a.clone(), 3), (b.clone(), 1)].into_iter().collect()
    );
    assert_eq!(running(&herder, &a).await, Some(vec![0, 1, 2]));
    assert_eq!(running(&herder, &b).await, Some(vec![0]));
    for t in [0, 2] {
        wait_running(&herder, &a, t).await;
    }
    let a0 = counters(&herder, &a, 0);
    let a2 = counters(&herder, &a, 2);

    // A's instance with tasks 0 and 2: task 1 and all of B stop; 0 and 2 keep running.
    herder
        .set_assignment(assignment(&[&a], &[(&a, 0), (&a, 2)]))
        .await;
    assert_eq!(running(&herder, &a).await, Some(vec![0, 2]));
    assert_eq!(running(&herder, &b).await, None);
    assert!(Arc::ptr_eq(&a0, &counters(&herder, &a, 0)));
    assert!(Arc::ptr_eq(&a2, &counters(&herder, &a, 2)));
    assert_eq!(herder.worker().has_connector_instance(&a).await, Some(true));
    // Work that moved away keeps its statuses: its new owner writes them.
    statuses.refresh().await.unwrap();
    assert!(statuses.connector(&b).is_some());
    assert!(statuses.task(&id(&b, 0)).is_some());
    assert!(statuses.task(&id(&a, 1)).is_some());

    // Task 2 revoked: only it stops.
    herder.set_assignment(assignment(&[&a], &[(&a, 0)])).await;
    assert_eq!(running(&herder, &a).await, Some(vec![0]));
    assert!(Arc::ptr_eq(&a0, &counters(&herder, &a, 0)));

    // A's instance moves away and B's task 0 comes, without B's instance: it starts from
    // its committed config.
    herder
        .set_assignment(assignment(&[], &[(&a, 0), (&b, 0)]))
        .await;
    assert_eq!(
        herder.worker().has_connector_instance(&a).await,
        Some(false)
    );
    assert_eq!(
        herder.worker().has_connector_instance(&b).await,
        Some(false)
    );
    assert_eq!(running(&herder, &a).await, Some(vec![0]));
    assert!(Arc::ptr_eq(&a0, &counters(&herder, &a, 0)));
    assert_eq!(running(&herder, &b).await, Some(vec![0]));
    wait_running(&herder, &b, 0).await;
    let b0 = counters(&herder, &b, 0);
    // A shows UNASSIGNED here, but only the worker running its instance writes its status.
    let here = herder.worker().connector_status(&a).unwrap();
    assert_eq!(here.connector.state, State::Unassigned);
    statuses.refresh().await.unwrap();
    assert_eq!(statuses.connector(&a).unwrap().state, State::Running);

    // A's instance and task 1 come back: A's committed task configs are unchanged, so task
    // 0 keeps running and task 1 starts.
    herder
        .set_assignment(assignment(&[&a], &[(&a, 0), (&a, 1), (&b, 0)]))
        .await;
    assert_eq!(herder.worker().has_connector_instance(&a).await, Some(true));
    assert_eq!(running(&herder, &a).await, Some(vec![0, 1]));
    assert!(Arc::ptr_eq(&a0, &counters(&herder, &a, 0)));
    assert!(Arc::ptr_eq(&b0, &counters(&herder, &b, 0)));

    // Updating A restarts A's tasks here with their new configs, and not B's.
    herder
        .put_connector_config(&a, source(&topic, "20", "3"), true, None)
        .await
        .unwrap();
    assert_eq!(running(&herder, &a).await, Some(vec![0, 1]));
    assert!(!Arc::ptr_eq(&a0, &counters(&herder, &a, 0)));
    assert!(Arc::ptr_eq(&b0, &counters(&herder, &b, 0)));
    let configs = herder.worker().running_task_configs(&a).await.unwrap();
    assert!(configs.iter().all(|c| c["records"] == "20"), "{configs:?}");

    // Deleting B stops its task here.
    herder.delete_connector(&b).await.unwrap();
    assert_eq!(running(&herder, &b).await, None);
    statuses.refresh().await.unwrap();
    assert!(statuses.connector(&b).is_none());
    assert_eq!(running(&herder, &a).await, Some(vec![0, 1]));

    herder.stop().await;
    drop(herder);
    log.close().await.unwrap();
}

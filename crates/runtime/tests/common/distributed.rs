//! A distributed herder on the embedded log, as the tests of the distributed worker start
//! it: the worker's config and internal topics from one set of worker properties, the log
//! under `data` of a test directory (so a herder started again on the same directory finds
//! everything its predecessor wrote).

use std::path::Path;
use std::sync::Arc;

use sluice_api::config::ConfigMap;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_runtime::herder::{DistributedHerder, InternalStores};
use sluice_runtime::plugins::PluginRegistry;
use sluice_runtime::storage::{InternalTopics, StoreOptions};
use sluice_runtime::worker::Worker;
use sluice_runtime::worker_config::WorkerConfig;

use super::registry;

/// A running distributed herder, its internal stores and its log.
pub struct DistributedWorker {
    /// The herder.
    pub herder: Arc<DistributedHerder>,
    /// The stores on the internal topics the herder works on.
    pub stores: InternalStores,
    /// The embedded log.
    pub log: Arc<EmbeddedLog>,
}

impl DistributedWorker {
    /// Opens the log under `dir/data` and the internal topics `props` names, and starts a
    /// distributed herder (the group's only member) on a worker configured by `props`;
    /// `prepare` sees the worker and the stores first (to enable exactly-once, say).
    pub async fn start(
        dir: &Path,
        props: &ConfigMap,
        prepare: impl FnOnce(&Worker, &InternalStores),
    ) -> DistributedWorker {
        let log = EmbeddedLog::open(&dir.join("data"), EmbeddedLogOptions::default()).unwrap();
        let (worker, stores) = open_worker(&log, props, registry()).await;
        prepare(&worker, &stores);
        let herder =
            DistributedHerder::start(worker, registry(), &stores, "127.0.0.1:8083", "test").await;
        DistributedWorker {
            herder,
            stores,
            log,
        }
    }

    /// Stops the herder and closes the log.
    pub async fn stop(self) {
        self.herder.stop().await;
        drop(self.herder);
        self.log.close().await.unwrap();
    }
}

/// A worker configured by `props` with `plugins` on `log`, and the stores on the internal
/// topics `props` names (opened, not yet served by a herder).
pub async fn open_worker(
    log: &Arc<EmbeddedLog>,
    props: &ConfigMap,
    plugins: Arc<PluginRegistry>,
) -> (Arc<Worker>, InternalStores) {
    let config = WorkerConfig::parse_distributed(props, &plugins).unwrap();
    let topics = InternalTopics::from_worker_config(props).unwrap();
    let stores = InternalStores::open(log.as_ref(), &topics, &StoreOptions::default())
        .await
        .unwrap();
    let worker = Arc::new(Worker::new(
        config,
        plugins,
        log.clone(),
        Arc::new(stores.offsets.clone()),
    ));
    (worker, stores)
}

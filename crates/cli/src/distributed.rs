//! `sluice distributed`: a worker that keeps connector configs, task configs, target
//! states, source offsets and statuses in the internal topics of its log (the embedded log,
//! or the Kafka cluster of `bootstrap.servers`), like Kafka's `connect-distributed`, and is
//! managed through the REST API only.
//!
//! The worker file is validated first (the common worker keys, `group.id` and the
//! `*.storage.*` keys); errors are printed (key, reason) and the command exits with code 2.
//! The REST listener is bound before the log opens, so a busy port stops startup at once.
//! Then the internal topics are created or checked, every connector of the config topic is
//! started in its target state, and the worker runs until SIGINT or SIGTERM, which stops it
//! gracefully (exit 0; a second signal exits at once with code 130).
//!
//! On a Kafka cluster, workers sharing a `group.id` form one Connect cluster: each joins the
//! group through Kafka's group coordinator (see
//! [`sluice_runtime::herder::GroupMembership`]) and runs the connectors and tasks the leader
//! assigns it. On the embedded log, which one process owns, the worker is the only member.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use sluice_kafka::group::GroupConfig;
use sluice_runtime::backend::{open_log, LogBackend};
use sluice_runtime::config_file::load_properties;
use sluice_runtime::exactly_once::{
    leader_transactional_id, ExactlyOnceSourceSupport, ExactlyOnceWorker,
};
use sluice_runtime::herder::{DistributedHerder, InternalStores};
use sluice_runtime::rest::{Loggers, RestServer};
use sluice_runtime::storage::{InternalTopics, StoreOptions};
use sluice_runtime::worker::Worker;
use sluice_runtime::worker_config::{WorkerConfig, GROUP_ID};

use crate::standalone::{serve_until_signal, EXIT_CONFIG};

/// Runs the distributed worker until a signal stops it.
pub async fn run(worker_file: PathBuf, loggers: Arc<Loggers>) -> ExitCode {
    let started = std::time::Instant::now();
    let registry = Arc::new(crate::plugins::registry());
    let props = match load_properties(&worker_file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let (worker_config, topics) = match (
        WorkerConfig::parse_distributed(&props, &registry),
        InternalTopics::from_worker_config(&props),
    ) {
        (Ok(w), Ok(t)) => (w, t),
        (w, t) => {
            let mut issues = w.err().unwrap_or_default();
            for issue in t.err().unwrap_or_default() {
                if !issues.contains(&issue) {
                    issues.push(issue);
                }
            }
            eprintln!(
                "error: invalid worker configuration in '{}':",
                worker_file.display()
            );
            for issue in &issues {
                eprintln!("  {issue}");
            }
            eprintln!("Nothing was started: fix the configuration above and run again.");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    for warning in &worker_config.warnings {
        tracing::warn!("{warning}");
    }
    let group_id = props.get(GROUP_ID).cloned().unwrap_or_default();
    let rest = match RestServer::bind(&worker_config.rest).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("Set 'listeners' in the worker config to a free address (port 0 picks one).");
            return ExitCode::FAILURE;
        }
    };
    let backend = worker_config.backend.clone();
    let log = match open_log(&backend).await {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = StoreOptions {
        client_id_base: format!("{group_id}-"),
        producer: worker_config.producer.clone(),
        consumer: worker_config.consumer.clone(),
        ..StoreOptions::default()
    };
    let exactly_once = ExactlyOnceSourceSupport::of_worker(&worker_config);
    let leader_id = exactly_once
        .leader_transactional()
        .then(|| leader_transactional_id(&group_id));
    let stores =
        match InternalStores::open_for(log.log.as_ref(), &topics, &options, leader_id).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot use the internal topics: {e}");
                let _ = log.close().await;
                return ExitCode::FAILURE;
            }
        };
    tracing::info!(
        log = %backend.describe(),
        group_id = %group_id,
        config_topic = %topics.config.name,
        offset_topic = %topics.offsets.name,
        status_topic = %topics.status.name,
        "Distributed worker starting."
    );
    let worker = Worker::shared(
        worker_config,
        registry.clone(),
        log.log.clone(),
        Arc::new(stores.offsets.clone()),
    );
    if exactly_once.tasks_transactional() {
        tracing::info!(
            "Exactly-once source support is enabled: source tasks write records and offsets in transactions."
        );
        worker.enable_exactly_once(ExactlyOnceWorker {
            group_id: group_id.clone(),
            offsets: stores.offsets.clone(),
        });
    }
    // On Kafka, workers sharing the group id form one cluster; the embedded log belongs to
    // one process, whose worker is its group's only member.
    let own_url = rest.advertised_url();
    let group_config = match &backend {
        LogBackend::Kafka(_) => match GroupConfig::from_worker_config(&props, &own_url) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("error: {e}");
                let _ = log.close().await;
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        LogBackend::Embedded(_) => None,
    };
    let (worker_id, cluster_id) = (rest.worker_id(), log.cluster_id.clone());
    let herder = if group_config.is_some() {
        DistributedHerder::start_in_group(worker, registry, &stores, worker_id, cluster_id).await
    } else {
        DistributedHerder::start(worker, registry, &stores, worker_id, cluster_id).await
    };
    herder.apply_logger_levels_to(loggers.clone());
    let membership = match group_config.map(|c| herder.join_group(c, own_url)) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            eprintln!("error: cannot join the worker group '{group_id}': {e}");
            herder.stop().await;
            let _ = log.close().await;
            return ExitCode::FAILURE;
        }
    };
    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel();
    let (leave_tx, leave_rx) = tokio::sync::oneshot::channel::<()>();
    // The membership reports a fatal failure, or is told to leave at shutdown.
    let membership_task = tokio::spawn(async move {
        let mut membership = membership?;
        tokio::select! {
            e = membership.failed() => {
                let _ = failed_tx.send(e.to_string());
            }
            _ = leave_rx => {}
        }
        Some(membership)
    });
    let fatal = async move {
        match failed_rx.await {
            Ok(reason) => format!("the worker left its group: {reason}"),
            Err(_) => std::future::pending().await,
        }
    };
    let stop = {
        let herder = herder.clone();
        async move {
            herder.stop().await;
            let _ = leave_tx.send(());
            match membership_task.await {
                Ok(Some(membership)) => membership.leave().await,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "The group membership ended abnormally."),
            }
        }
    };
    serve_until_signal(rest, herder.clone(), loggers, started, fatal, stop, &log).await
}

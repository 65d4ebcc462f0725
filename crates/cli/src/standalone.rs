//! `sluice standalone`: run connectors from files on the embedded log (or on a Kafka
//! cluster when the worker config sets `bootstrap.servers`), like Kafka's
//! `connect-standalone`.
//!
//! Everything is validated before anything starts; config errors are printed (file, key,
//! reason) and the command exits with code 2. Then the offsets file and the log are opened
//! (an unreachable Kafka cluster is retried for `bootstrap.timeout.ms`, then exits 1),
//! the connectors started, and the worker runs until SIGINT or SIGTERM, which stops it
//! gracefully (exit 0). A second signal exits at once with code 130.
//!
//! The REST API listens on the worker's `listeners` (bound before the log opens, so a busy
//! port stops startup at once); the log says where ("REST API listening on http://...").
//! On a stop signal it closes first, then the connectors stop.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use sluice_runtime::backend::{open_log, OpenedLog};
use sluice_runtime::herder::{Herder, StandaloneHerder, StandaloneSetup};
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::rest::{Loggers, RestServer, RestState};
use sluice_runtime::worker::Worker;

/// Exit code for configuration errors.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code when a second signal interrupts the graceful stop (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

pub use sluice_runtime::backend::embedded_log_options as log_options;

/// Runs the standalone worker until a signal stops it.
pub async fn run(
    worker_file: PathBuf,
    connector_files: Vec<PathBuf>,
    loggers: Arc<Loggers>,
) -> ExitCode {
    let started = std::time::Instant::now();
    let registry = Arc::new(crate::plugins::registry());
    let setup = match StandaloneSetup::load(&worker_file, &connector_files, &registry) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!("Nothing was started: fix the configuration above and run again.");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    for warning in &setup.worker.warnings {
        tracing::warn!("{warning}");
    }
    let offsets = match FileOffsetStore::open(&setup.worker.offset_file) {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let rest = match RestServer::bind(&setup.worker.rest).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("Set 'listeners' in the worker config to a free address (port 0 picks one).");
            return ExitCode::FAILURE;
        }
    };
    let backend = setup.worker.backend.clone();
    let log = match open_log(&backend).await {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        log = %backend.describe(),
        offsets_file = %setup.worker.offset_file.display(),
        stored_offsets = offsets.len(),
        "Standalone worker starting."
    );
    let worker = Worker::shared(setup.worker, registry.clone(), log.log.clone(), offsets);
    let herder = Arc::new(StandaloneHerder::new(
        worker,
        registry,
        rest.worker_id(),
        log.cluster_id.clone(),
    ));
    herder.follow_reconfiguration_requests();
    for (file, config) in setup.connectors {
        let name = config.name.clone();
        if let Err(e) = herder.start_connector(config).await {
            tracing::error!(connector = %name, file = %file.display(), error = %e, "Connector did not start.");
        }
    }
    serve_until_signal(
        rest,
        herder.clone(),
        loggers,
        started,
        std::future::pending(),
        herder.stop(),
        &log,
    )
    .await
}

/// Serves the REST API until SIGINT or SIGTERM, then stops the API, the herder (`stop`) and
/// the log, and returns the exit code. A second signal during the stop exits at once.
pub async fn serve_until_signal(
    rest: RestServer,
    herder: Arc<dyn Herder>,
    loggers: Arc<Loggers>,
    started: std::time::Instant,
    fatal: impl std::future::Future<Output = String>,
    stop: impl std::future::Future<Output = ()>,
    log: &OpenedLog,
) -> ExitCode {
    let advertised = rest.advertised_url();
    let server = rest.start(RestState { herder, loggers });
    tracing::info!(
        startup_ms = started.elapsed().as_millis() as u64,
        url = %advertised,
        "Worker started; press Ctrl-C to stop."
    );

    let failure = tokio::select! {
        _ = wait_for_signal() => None,
        reason = fatal => Some(reason),
    };
    match &failure {
        None => tracing::info!("Stopping… (press Ctrl-C again to exit immediately)"),
        Some(reason) => tracing::error!("Stopping because {reason}."),
    }
    tokio::spawn(async {
        wait_for_signal().await;
        eprintln!("Second signal: exiting immediately.");
        std::process::exit(EXIT_INTERRUPTED);
    });
    server.stop().await;
    stop.await;
    if let Err(e) = log.close().await {
        tracing::error!(error = %e, "Closing the log failed.");
        return ExitCode::FAILURE;
    }
    tracing::info!("Stopped.");
    if failure.is_some() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Resolves on SIGINT or (on Unix) SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot listen for SIGTERM; only Ctrl-C stops the worker.");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

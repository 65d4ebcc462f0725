//! `sluice standalone`: run connectors from files on the embedded log, like Kafka's
//! `connect-standalone`.
//!
//! Everything is validated before anything starts; config errors are printed (file, key,
//! reason) and the command exits with code 2. Then the offsets file and the log are opened,
//! the connectors started, and the worker runs until SIGINT or SIGTERM, which stops it
//! gracefully (exit 0). A second signal exits at once with code 130.
//!
//! The REST API listens on the worker's `listeners` (bound before the log opens, so a busy
//! port stops startup at once); the log says where ("REST API listening on http://...").
//! On a stop signal it closes first, then the connectors stop.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_runtime::herder::{Herder, StandaloneHerder, StandaloneSetup};
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::rest::{Loggers, RestServer, RestState};
use sluice_runtime::worker::Worker;
use sluice_runtime::worker_config::EmbeddedLogSettings;

/// Exit code for configuration errors.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code when a second signal interrupts the graceful stop (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Embedded log options from the worker's `embedded.log.*` settings.
pub fn log_options(settings: &EmbeddedLogSettings) -> EmbeddedLogOptions {
    let defaults = EmbeddedLogOptions::default();
    EmbeddedLogOptions {
        flush_interval_messages: settings.flush_interval_messages,
        flush_interval_ms: settings.flush_interval_ms,
        default_partitions: settings.num_partitions,
        segment_bytes: settings.segment_bytes.unwrap_or(defaults.segment_bytes),
        retention_ms: match settings.retention_ms {
            Some(ms) if ms < 0 => None,
            Some(ms) => Some(ms),
            None => defaults.retention_ms,
        },
        retention_bytes: match settings.retention_bytes {
            Some(b) if b < 0 => None,
            Some(b) => Some(b),
            None => defaults.retention_bytes,
        },
        ..defaults
    }
}

/// The id reported as `kafka_cluster_id` for an embedded log: stable for one data
/// directory (a hash of its absolute path).
pub fn cluster_id(dir: &Path) -> String {
    let path = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    // FNV-1a, 64 bits.
    let hash = path
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("sluice-embedded-{hash:016x}")
}

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
    let settings = setup.worker.embedded_log.clone();
    let log = match EmbeddedLog::open(&settings.dir, log_options(&settings)) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: cannot open the embedded log: {e}");
            return ExitCode::FAILURE;
        }
    };
    for note in log.recovery_report() {
        tracing::warn!(
            topic = %note.topic,
            partition = note.partition,
            segment = %note.segment.display(),
            bytes = note.bytes_dropped,
            reason = %note.reason,
            "Recovery truncated a damaged partition tail."
        );
    }
    tracing::info!(
        data_dir = %settings.dir.display(),
        offsets_file = %setup.worker.offset_file.display(),
        stored_offsets = offsets.len(),
        "Standalone worker starting on the embedded log."
    );
    let worker = Arc::new(Worker::new(
        setup.worker,
        registry.clone(),
        log.clone(),
        offsets,
    ));
    let herder = Arc::new(StandaloneHerder::new(
        worker,
        registry,
        rest.worker_id(),
        cluster_id(&settings.dir),
    ));
    for (file, config) in setup.connectors {
        let name = config.name.clone();
        if let Err(e) = herder.start_connector(config).await {
            tracing::error!(connector = %name, file = %file.display(), error = %e, "Connector did not start.");
        }
    }
    serve_until_signal(rest, herder.clone(), loggers, started, herder.stop(), &log).await
}

/// Serves the REST API until SIGINT or SIGTERM, then stops the API, the herder (`stop`) and
/// the log, and returns the exit code. A second signal during the stop exits at once.
pub async fn serve_until_signal(
    rest: RestServer,
    herder: Arc<dyn Herder>,
    loggers: Arc<Loggers>,
    started: std::time::Instant,
    stop: impl std::future::Future<Output = ()>,
    log: &EmbeddedLog,
) -> ExitCode {
    let advertised = rest.advertised_url();
    let server = rest.start(RestState { herder, loggers });
    tracing::info!(
        startup_ms = started.elapsed().as_millis() as u64,
        url = %advertised,
        "Worker started; press Ctrl-C to stop."
    );

    wait_for_signal().await;
    tracing::info!("Stopping… (press Ctrl-C again to exit immediately)");
    tokio::spawn(async {
        wait_for_signal().await;
        eprintln!("Second signal: exiting immediately.");
        std::process::exit(EXIT_INTERRUPTED);
    });
    server.stop().await;
    stop.await;
    if let Err(e) = log.close().await {
        tracing::error!(error = %e, "Closing the embedded log failed.");
        return ExitCode::FAILURE;
    }
    tracing::info!("Stopped.");
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

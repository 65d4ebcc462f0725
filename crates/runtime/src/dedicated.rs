//! Running a task on a thread of its own.
//!
//! Each connector task runs on its own thread, with a single-threaded Tokio runtime for its
//! timers and futures. A task's two stages (source: poll, then convert and send; sink: fetch
//! and convert, then put) are futures on that one thread: they overlap whenever one of them
//! waits (for the network, a timer or the other stage), and a CPU-bound task keeps its
//! records on one core, allocated and freed by one thread. With stages on separate threads,
//! every record would be allocated on one thread and freed on another, which costs the
//! allocator far more than a local free, and a pipeline of a source and a sink task would
//! run four busy threads on two cores. Tasks do not hold up each other, nor the worker's
//! own work on the shared runtime (REST, herder, stall watches).

use std::future::Future;

use sluice_api::ConnectError;
use tokio::sync::oneshot;

/// Runs `task` (a connector task's stages) on a new thread named `name` until it returns;
/// a panic on that thread becomes an error naming the `kind` of task ("source", "sink").
pub(crate) async fn run<F>(name: String, kind: &str, task: F) -> Result<(), ConnectError>
where
    F: Future<Output = Result<(), ConnectError>> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ConnectError::io("starting a task's runtime", e))?;
    let (tx, result) = oneshot::channel();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let out = runtime.block_on(task);
            // The owner may have been abandoned at shutdown; then nobody wants the result.
            let _ = tx.send(out);
        })
        .map_err(|e| ConnectError::io("starting a task's thread", e))?;
    result.await.unwrap_or_else(|_| {
        Err(ConnectError::connect(format!(
            "the {kind} task's thread stopped unexpectedly (it panicked)"
        )))
    })
}

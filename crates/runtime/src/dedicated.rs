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

/// A task running on its own thread.
pub(crate) struct Dedicated<T> {
    result: oneshot::Receiver<T>,
}

/// Starts `task` on a new thread named `name`.
pub(crate) fn spawn<F>(name: String, task: F) -> Result<Dedicated<F::Output>, ConnectError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
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
    Ok(Dedicated { result })
}

impl<T> Dedicated<T> {
    /// The task's result; `None` if it panicked.
    pub(crate) async fn join(self) -> Option<T> {
        self.result.await.ok()
    }
}

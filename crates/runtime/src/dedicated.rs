//! Running one pipeline stage on a thread of its own.
//!
//! A task's stages hand batches to each other over channels. As tasks of one Tokio runtime,
//! the stage woken by a send would run on the sender's worker thread (Tokio's LIFO slot), so
//! the two stages would mostly take turns on one core. Giving the downstream stage its own
//! thread (with a single-threaded runtime for its timers and futures) lets the operating
//! system run both stages at the same time.

use std::future::Future;

use sluice_api::ConnectError;
use tokio::sync::oneshot;

/// A stage running on its own thread.
pub(crate) struct Dedicated<T> {
    result: oneshot::Receiver<T>,
    thread: std::thread::JoinHandle<()>,
}

/// Starts `stage` on a new thread named `name`.
pub(crate) fn spawn<F>(name: String, stage: F) -> Result<Dedicated<F::Output>, ConnectError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ConnectError::io("starting a task's pipeline runtime", e))?;
    let (tx, result) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let out = runtime.block_on(stage);
            // The owner may have been abandoned at shutdown; then nobody wants the result.
            let _ = tx.send(out);
        })
        .map_err(|e| ConnectError::io("starting a task's pipeline thread", e))?;
    Ok(Dedicated { result, thread })
}

impl<T> Dedicated<T> {
    /// True once the stage has returned (or panicked).
    pub(crate) fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// The stage's result; `None` if it panicked.
    pub(crate) async fn join(self) -> Option<T> {
        self.result.await.ok()
    }
}

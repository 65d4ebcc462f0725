//! Standard input as a non-blocking source of byte chunks.
//!
//! Reading standard input blocks until data arrives, which must not happen on an async worker
//! thread. One background thread per process reads it in chunks and hands them over a bounded
//! channel; a task takes whatever chunks are ready without waiting. The thread is shared so
//! that a restarted task continues where the previous one stopped instead of racing a second
//! reader for the same bytes.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Bytes read by one call on standard input.
const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks the reader thread may read ahead.
const CHUNKS_AHEAD: usize = 16;

/// The receiving end of a chunk reader.
pub(crate) type ChunkReceiver = Arc<Mutex<Receiver<io::Result<Vec<u8>>>>>;

/// What taking a chunk found.
pub(crate) enum Chunk {
    /// Bytes to append.
    Data(Vec<u8>),
    /// Nothing ready now (or the stream has ended).
    Empty,
}

/// The process-wide standard input reader, started on first use.
pub(crate) fn stdin_chunks() -> ChunkReceiver {
    static STDIN: OnceLock<ChunkReceiver> = OnceLock::new();
    STDIN
        .get_or_init(|| {
            let (tx, rx) = mpsc::sync_channel(CHUNKS_AHEAD);
            let spawned = std::thread::Builder::new()
                .name("sluice-stdin".into())
                .spawn(move || {
                    let mut stdin = io::stdin().lock();
                    loop {
                        let mut chunk = vec![0; CHUNK_SIZE];
                        let message = match stdin.read(&mut chunk) {
                            Ok(0) => return,
                            Ok(n) => {
                                chunk.truncate(n);
                                Ok(chunk)
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => Err(e),
                        };
                        let failed = message.is_err();
                        if tx.send(message).is_err() || failed {
                            return;
                        }
                    }
                });
            if let Err(e) = spawned {
                // Reported to every task through the channel: the receiver sees this error.
                let (tx, rx) = mpsc::sync_channel(1);
                let _ = tx.send(Err(e));
                return Arc::new(Mutex::new(rx));
            }
            Arc::new(Mutex::new(rx))
        })
        .clone()
}

/// Takes the next ready chunk without waiting.
pub(crate) fn try_take(chunks: &ChunkReceiver) -> io::Result<Chunk> {
    // A panic while holding the lock cannot leave the receiver inconsistent.
    let receiver = chunks.lock().unwrap_or_else(PoisonError::into_inner);
    match receiver.try_recv() {
        Ok(Ok(bytes)) => Ok(Chunk::Data(bytes)),
        Ok(Err(e)) => Err(e),
        Err(TryRecvError::Empty | TryRecvError::Disconnected) => Ok(Chunk::Empty),
    }
}

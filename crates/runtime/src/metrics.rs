//! Per-task counters, updated once per batch, and the periodic progress line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::status::ConnectorTaskId;

/// Counters of one task. Source tasks count `polled` and `written`; sink tasks `polled`
/// (consumed) and `put`.
#[derive(Debug, Default)]
pub struct TaskCounters {
    /// Records returned by `SourceTask::poll` or by the consumer.
    pub polled: AtomicU64,
    /// Source records acknowledged by the log.
    pub written: AtomicU64,
    /// Sink records handed to `SinkTask::put`.
    pub put: AtomicU64,
    /// Records a transformation dropped (not written, or not put).
    pub dropped: AtomicU64,
    /// Offset commits that succeeded.
    pub commits: AtomicU64,
    /// Topics the task produced to or consumed from (its connector's active topics).
    pub topics: crate::status::ActiveTopics,
}

impl TaskCounters {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn snapshot(&self) -> [u64; 3] {
        [
            self.polled.load(Ordering::Relaxed),
            self.written.load(Ordering::Relaxed),
            self.put.load(Ordering::Relaxed),
        ]
    }
}

/// Whether a task reads from outside (source) or writes outside (sink).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// A source task.
    Source,
    /// A sink task.
    Sink,
}

/// Remembers the last reported counters of each task and logs one line per task that
/// made progress.
pub struct ProgressReporter {
    last: Vec<(ConnectorTaskId, [u64; 3])>,
    last_at: Instant,
}

impl Default for ProgressReporter {
    fn default() -> Self {
        ProgressReporter {
            last: Vec::new(),
            last_at: Instant::now(),
        }
    }
}

impl ProgressReporter {
    /// Logs the progress of `tasks` since the previous call.
    pub fn report(&mut self, tasks: &[(ConnectorTaskId, TaskKind, Arc<TaskCounters>)]) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_at).as_secs_f64().max(1e-3);
        let mut next = Vec::with_capacity(tasks.len());
        for (id, kind, counters) in tasks {
            let now_counts = counters.snapshot();
            let before = self
                .last
                .iter()
                .find(|(i, _)| i == id)
                .map_or([0; 3], |(_, c)| *c);
            let delta = |i: usize| now_counts[i].saturating_sub(before[i]);
            if now_counts != before {
                match kind {
                    TaskKind::Source => tracing::info!(
                        task = %id,
                        polled = now_counts[0],
                        written = now_counts[1],
                        rate = (delta(1) as f64 / elapsed).round(),
                        "Source task progress: {} records written ({:.0}/s).",
                        now_counts[1],
                        delta(1) as f64 / elapsed
                    ),
                    TaskKind::Sink => tracing::info!(
                        task = %id,
                        consumed = now_counts[0],
                        put = now_counts[2],
                        rate = (delta(2) as f64 / elapsed).round(),
                        "Sink task progress: {} records put ({:.0}/s).",
                        now_counts[2],
                        delta(2) as f64 / elapsed
                    ),
                }
            }
            next.push((id.clone(), now_counts));
        }
        self.last = next;
        self.last_at = now;
    }
}

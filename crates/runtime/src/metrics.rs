//! Per-task counters, updated once per batch, the worker's startup counters, and the
//! periodic progress line.
//!
//! Task loops add to [`TaskCounters`] with relaxed atomics once per batch (never per record
//! and never under a lock); [`BatchTimer`] keeps count, sum and maximum of batch durations.
//! [`WorkerMetrics`] is a snapshot of everything a worker counts, which `GET /metrics`
//! renders in Prometheus' text format (see `crate::rest` and `docs/metrics.md`). Totals only:
//! rates are for the scraper (`rate(...[1m])`). A sink task's consumer lag per partition
//! ([`PartitionLag`]) is measured on a timer ([`LAG_REFRESH_INTERVAL`]) from its consumer
//! positions and the partitions' end offsets, not per record.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sluice_api::TopicPartition;

use crate::error_handling::ErrorCounters;
use crate::status::{ConnectorStatus, ConnectorTaskId};

/// The wall-clock time in milliseconds since the Unix epoch (0 if the clock is set before
/// it), as the timestamps of the metrics, statuses and logger levels are kept.
pub(crate) fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Count, total and maximum of the durations of a repeated operation (a poll, a put, an
/// offset commit), kept with atomics.
#[derive(Debug, Default)]
pub struct BatchTimer {
    count: AtomicU64,
    sum_nanos: AtomicU64,
    max_nanos: AtomicU64,
}

/// A reading of a [`BatchTimer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerSnapshot {
    /// Operations timed.
    pub count: u64,
    /// Their total duration in nanoseconds.
    pub sum_nanos: u64,
    /// The longest one in nanoseconds (since the task started).
    pub max_nanos: u64,
}

impl BatchTimer {
    /// Adds one operation that took `elapsed`.
    pub fn record(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.max_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> TimerSnapshot {
        TimerSnapshot {
            count: self.count.load(Ordering::Relaxed),
            sum_nanos: self.sum_nanos.load(Ordering::Relaxed),
            max_nanos: self.max_nanos.load(Ordering::Relaxed),
        }
    }
}

/// Counters of one task. Source tasks count `polled` and `written`; sink tasks `polled`
/// (consumed) and `put`.
#[derive(Debug, Default)]
pub struct TaskCounters {
    /// Records returned by `SourceTask::poll` or by the consumer.
    pub polled: AtomicU64,
    /// Source records handed to the log's producer (those acknowledged are in `written`).
    pub sent: AtomicU64,
    /// Source records acknowledged by the log.
    pub written: AtomicU64,
    /// When the log last acknowledged records of this source task, in milliseconds since
    /// the Unix epoch (0 before the first): shows a stalled source at a glance, and times a
    /// run's last record exactly without sampling `written`.
    pub last_write_ms: AtomicU64,
    /// Sink records handed to `SinkTask::put`.
    pub put: AtomicU64,
    /// Records a transformation dropped (not written, or not put).
    pub dropped: AtomicU64,
    /// Offset commits that succeeded.
    pub commits: AtomicU64,
    /// Offset commits that failed or timed out.
    pub commit_failures: AtomicU64,
    /// Durations of successful offset commits.
    pub commit_time: BatchTimer,
    /// Transactions an exactly-once source task committed.
    pub transactions_committed: AtomicU64,
    /// Transactions an exactly-once source task aborted (asked by the task, or dropped when
    /// it failed or stopped).
    pub transactions_aborted: AtomicU64,
    /// Records polled into the committed transactions (their average size is this over
    /// `transactions_committed`).
    pub transaction_records: AtomicU64,
    /// Durations of `SourceTask::poll` calls that returned records.
    pub poll_batch: BatchTimer,
    /// Durations of `SinkTask::put` calls that succeeded.
    pub put_batch: BatchTimer,
    /// The task's error counters (`task-error-metrics`: failures, skips, dead-letter
    /// writes), shared with its error handler.
    pub errors: Arc<ErrorCounters>,
    /// Topics the task produced to or consumed from (its connector's active topics).
    pub topics: crate::status::ActiveTopics,
    /// A sink task's consumer lag per assigned partition, replaced as a whole every
    /// [`LAG_REFRESH_INTERVAL`] (empty for source tasks).
    pub lag: Mutex<Vec<PartitionLag>>,
    /// Automatic restarts of the task since the herder started it (see
    /// [`crate::restart`]; the counters live on across automatic restarts).
    pub restarts: AtomicU64,
    /// 1 while the task is stalled (running, making no progress while work waits for it: see
    /// [`crate::restart`]), else 0.
    pub stalled: AtomicU64,
}

/// How often a sink task measures its consumer lag (the end offsets of its partitions).
pub const LAG_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The consumer lag of one partition a sink task reads: records between its consumer
/// position and the end of the partition (Kafka's `records-lag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// Topic and partition.
    pub partition: TopicPartition,
    /// End offset minus position, never below zero.
    pub lag: i64,
}

impl TaskCounters {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The last measured consumer lag of each partition (a sink task's).
    pub fn lag(&self) -> Vec<PartitionLag> {
        self.lag.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the measured consumer lag.
    pub fn set_lag(&self, lag: Vec<PartitionLag>) {
        *self.lag.lock().unwrap_or_else(|p| p.into_inner()) = lag;
    }

    fn snapshot(&self) -> [u64; 3] {
        [
            self.polled.load(Ordering::Relaxed),
            self.written.load(Ordering::Relaxed),
            self.put.load(Ordering::Relaxed),
        ]
    }
}

/// Counters of the worker itself (Kafka's `connect-worker-metrics` startup counters).
#[derive(Debug, Default)]
pub struct WorkerCounters {
    /// Connector starts attempted.
    pub connector_startup_attempts: AtomicU64,
    /// Connector starts that succeeded.
    pub connector_startup_success: AtomicU64,
    /// Connector starts that failed.
    pub connector_startup_failure: AtomicU64,
    /// Task starts attempted.
    pub task_startup_attempts: AtomicU64,
    /// Task starts that succeeded.
    pub task_startup_success: AtomicU64,
    /// Task starts that failed.
    pub task_startup_failure: AtomicU64,
}

/// One running task as the metrics see it.
#[derive(Debug, Clone)]
pub struct TaskMetrics {
    /// Connector and task number.
    pub id: ConnectorTaskId,
    /// Source or sink.
    pub kind: TaskKind,
    /// Its counters.
    pub counters: Arc<TaskCounters>,
}

/// A snapshot of what a worker counts, for `GET /metrics`.
#[derive(Debug, Clone, Default)]
pub struct WorkerMetrics {
    /// Every connector with its state and its tasks' states.
    pub connectors: Vec<ConnectorStatus>,
    /// Every task with counters (running, paused, or stopped but not yet removed).
    pub tasks: Vec<TaskMetrics>,
    /// The worker's startup counters.
    pub worker: Arc<WorkerCounters>,
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

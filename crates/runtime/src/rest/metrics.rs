//! `GET /metrics`: the worker's metrics in Prometheus' text exposition format (0.0.4).
//!
//! Names follow Kafka Connect's JMX metrics, prefixed with `sluice_connect_` and the group
//! (`worker`, `connector`, `task`, `source_task`, `sink_task`, `task_error`), dashes turned
//! into underscores; counters end in `_total`, times are in seconds. Connector and task
//! states are one sample per state (1 for the current one, 0 for the others). Rates and
//! averages are left to the scraper: `rate(..._total[1m])`, `_sum / _count`. The full list is
//! in `docs/metrics.md`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State as AxumState;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::metrics::{PartitionLag, TaskKind, TaskMetrics, TimerSnapshot, WorkerMetrics};
use crate::status::State;

use super::RestState;

/// The content type of the text exposition format.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every state a connector or task can be in, in the order they are written.
const STATES: [State; 6] = [
    State::Unassigned,
    State::Running,
    State::Paused,
    State::Stopped,
    State::Failed,
    State::Restarting,
];

/// `GET /metrics`.
pub(super) async fn metrics(AxumState(state): AxumState<RestState>) -> Response {
    let snapshot = state.herder.metrics();
    ([(CONTENT_TYPE, CONTENT_TYPE_TEXT)], render(&snapshot)).into_response()
}

/// Escapes a label value (`\`, `"` and newlines).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn task_labels(t: &TaskMetrics) -> String {
    format!(
        "connector=\"{}\",task=\"{}\"",
        escape(&t.id.connector),
        t.id.task
    )
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// Writes metric families, each with its `# HELP` and `# TYPE` lines.
struct Writer {
    out: String,
}

impl Writer {
    /// One family: `samples` are `(suffix, labels, value)`; the suffix is appended to the
    /// name (`_sum`, `_count` of summaries).
    fn family<I>(&mut self, name: &str, kind: &str, help: &str, samples: I)
    where
        I: IntoIterator<Item = (&'static str, String, f64)>,
    {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        for (suffix, labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(self.out, "{name}{suffix} {value}");
            } else {
                let _ = writeln!(self.out, "{name}{suffix}{{{labels}}} {value}");
            }
        }
    }

    /// A counter or gauge with one sample per task of `kind` (all tasks when `None`).
    fn per_task(
        &mut self,
        metrics: &WorkerMetrics,
        kind: Option<TaskKind>,
        name: &str,
        type_: &str,
        help: &str,
        value: impl Fn(&TaskMetrics) -> f64,
    ) {
        let samples = metrics
            .tasks
            .iter()
            .filter(|t| kind.is_none_or(|k| t.kind == k))
            .map(|t| ("", task_labels(t), value(t)));
        self.family(name, type_, help, samples);
    }

    /// A summary (`_sum` and `_count`, in seconds) and a `max` gauge of a per-task timer.
    fn per_task_timer(
        &mut self,
        metrics: &WorkerMetrics,
        kind: Option<TaskKind>,
        name: &str,
        max_name: &str,
        help: &str,
        timer: impl Fn(&TaskMetrics) -> TimerSnapshot,
    ) {
        let tasks: Vec<(String, TimerSnapshot)> = metrics
            .tasks
            .iter()
            .filter(|t| kind.is_none_or(|k| t.kind == k))
            .map(|t| (task_labels(t), timer(t)))
            .collect();
        self.family(
            name,
            "summary",
            &format!("{help} (seconds)."),
            tasks.iter().flat_map(|(labels, s)| {
                [
                    ("_sum", labels.clone(), seconds(s.sum_nanos)),
                    ("_count", labels.clone(), s.count as f64),
                ]
            }),
        );
        self.family(
            max_name,
            "gauge",
            &format!("Longest of: {help} (seconds, since the task started)."),
            tasks
                .iter()
                .map(|(labels, s)| ("", labels.clone(), seconds(s.max_nanos))),
        );
    }
}

/// Renders a snapshot in the text exposition format.
pub fn render(m: &WorkerMetrics) -> String {
    let mut w = Writer { out: String::new() };
    worker_families(&mut w, m);
    state_families(&mut w, m);
    task_families(&mut w, m);
    error_families(&mut w, m);
    w.out
}

fn worker_families(w: &mut Writer, m: &WorkerMetrics) {
    w.family(
        "sluice_connect_worker_connector_count",
        "gauge",
        "Connectors on this worker (connector-count).",
        [("", String::new(), m.connectors.len() as f64)],
    );
    let task_count: usize = m.connectors.iter().map(|c| c.tasks.len()).sum();
    w.family(
        "sluice_connect_worker_task_count",
        "gauge",
        "Tasks on this worker (task-count).",
        [("", String::new(), task_count as f64)],
    );
    let startup = &m.worker;
    let counters = [
        (
            "sluice_connect_worker_connector_startup_attempts_total",
            "Connector starts attempted (connector-startup-attempts-total).",
            &startup.connector_startup_attempts,
        ),
        (
            "sluice_connect_worker_connector_startup_success_total",
            "Connector starts that succeeded (connector-startup-success-total).",
            &startup.connector_startup_success,
        ),
        (
            "sluice_connect_worker_connector_startup_failure_total",
            "Connector starts that failed (connector-startup-failure-total).",
            &startup.connector_startup_failure,
        ),
        (
            "sluice_connect_worker_task_startup_attempts_total",
            "Task starts attempted (task-startup-attempts-total).",
            &startup.task_startup_attempts,
        ),
        (
            "sluice_connect_worker_task_startup_success_total",
            "Task starts that succeeded (task-startup-success-total).",
            &startup.task_startup_success,
        ),
        (
            "sluice_connect_worker_task_startup_failure_total",
            "Task starts that failed (task-startup-failure-total).",
            &startup.task_startup_failure,
        ),
    ];
    for (name, help, counter) in counters {
        w.family(
            name,
            "counter",
            help,
            [("", String::new(), load(counter) as f64)],
        );
    }
}

fn state_families(w: &mut Writer, m: &WorkerMetrics) {
    w.family(
        "sluice_connect_worker_connectors",
        "gauge",
        "Connectors of this worker in each state.",
        STATES.iter().map(|s| {
            let n = m
                .connectors
                .iter()
                .filter(|c| c.connector.state == *s)
                .count();
            ("", format!("state=\"{s}\""), n as f64)
        }),
    );
    w.family(
        "sluice_connect_worker_tasks",
        "gauge",
        "Tasks of this worker in each state.",
        STATES.iter().map(|s| {
            let n: usize = m
                .connectors
                .iter()
                .map(|c| c.tasks.iter().filter(|(_, t)| t.state == *s).count())
                .sum();
            ("", format!("state=\"{s}\""), n as f64)
        }),
    );
    w.family(
        "sluice_connect_worker_connector_tasks",
        "gauge",
        "Tasks of each connector in each state (connector-running-task-count, ...).",
        m.connectors.iter().flat_map(|c| {
            STATES.iter().map(move |s| {
                let n = c.tasks.iter().filter(|(_, t)| t.state == *s).count();
                (
                    "",
                    format!("connector=\"{}\",state=\"{s}\"", escape(&c.name)),
                    n as f64,
                )
            })
        }),
    );
    w.family(
        "sluice_connect_connector_status",
        "gauge",
        "1 for the connector's current state, 0 for the others (connector-metrics status).",
        m.connectors.iter().flat_map(|c| {
            STATES.iter().map(move |s| {
                let on = c.connector.state == *s;
                (
                    "",
                    format!("connector=\"{}\",state=\"{s}\"", escape(&c.name)),
                    f64::from(u8::from(on)),
                )
            })
        }),
    );
    w.family(
        "sluice_connect_task_status",
        "gauge",
        "1 for the task's current state, 0 for the others (connector-task-metrics status).",
        m.connectors.iter().flat_map(|c| {
            c.tasks.iter().flat_map(move |(task, status)| {
                STATES.iter().map(move |s| {
                    (
                        "",
                        format!(
                            "connector=\"{}\",task=\"{task}\",state=\"{s}\"",
                            escape(&c.name)
                        ),
                        f64::from(u8::from(status.state == *s)),
                    )
                })
            })
        }),
    );
}

fn task_families(w: &mut Writer, m: &WorkerMetrics) {
    use TaskKind::{Sink, Source};
    w.per_task(
        m,
        Some(Source),
        "sluice_connect_source_task_source_record_poll_total",
        "counter",
        "Records polled from the source task, before transformations (source-record-poll-total).",
        |t| load(&t.counters.polled) as f64,
    );
    w.per_task(
        m,
        Some(Source),
        "sluice_connect_source_task_source_record_write_total",
        "counter",
        "Records written to the log after transformations (source-record-write-total).",
        |t| load(&t.counters.written) as f64,
    );
    w.per_task(
        m,
        Some(Source),
        "sluice_connect_source_task_last_write_timestamp_seconds",
        "gauge",
        "When the log last acknowledged records of the task, in seconds since the Unix epoch \
         (0 before the first).",
        |t| load(&t.counters.last_write_ms) as f64 / 1000.0,
    );
    w.per_task(
        m,
        Some(Source),
        "sluice_connect_source_task_transactions_committed_total",
        "counter",
        "Transactions an exactly-once source task committed (0 without exactly-once support).",
        |t| load(&t.counters.transactions_committed) as f64,
    );
    w.per_task(
        m,
        Some(Source),
        "sluice_connect_source_task_transactions_aborted_total",
        "counter",
        "Transactions an exactly-once source task aborted: asked by the task, or dropped when it failed or stopped.",
        |t| load(&t.counters.transactions_aborted) as f64,
    );
    w.per_task(
        m,
        Some(Source),
        "sluice_connect_source_task_transaction_records_total",
        "counter",
        "Records polled into committed transactions; over the committed count, the average transaction size (transaction-size-avg).",
        |t| load(&t.counters.transaction_records) as f64,
    );
    w.per_task_timer(
        m,
        Some(Source),
        "sluice_connect_source_task_poll_batch_time_seconds",
        "sluice_connect_source_task_poll_batch_max_time_seconds",
        "Time of a poll that returned records (poll-batch-avg-time-ms)",
        |t| t.counters.poll_batch.snapshot(),
    );
    w.per_task(
        m,
        Some(Sink),
        "sluice_connect_sink_task_sink_record_read_total",
        "counter",
        "Records read from the log, before transformations (sink-record-read-total).",
        |t| load(&t.counters.polled) as f64,
    );
    w.per_task(
        m,
        Some(Sink),
        "sluice_connect_sink_task_sink_record_send_total",
        "counter",
        "Records put to the sink task after transformations (sink-record-send-total).",
        |t| load(&t.counters.put) as f64,
    );
    w.per_task_timer(
        m,
        Some(Sink),
        "sluice_connect_sink_task_put_batch_time_seconds",
        "sluice_connect_sink_task_put_batch_max_time_seconds",
        "Time of a successful put (put-batch-avg-time-ms)",
        |t| t.counters.put_batch.snapshot(),
    );
    lag_families(w, m);
    w.per_task(
        m,
        None,
        "sluice_connect_task_records_dropped_total",
        "counter",
        "Records a transformation or predicate dropped.",
        |t| load(&t.counters.dropped) as f64,
    );
    w.per_task(
        m,
        None,
        "sluice_connect_task_offset_commit_success_total",
        "counter",
        "Offset commits that succeeded (offset-commit-success-percentage from totals).",
        |t| load(&t.counters.commits) as f64,
    );
    w.per_task(
        m,
        None,
        "sluice_connect_task_offset_commit_failure_total",
        "counter",
        "Offset commits that failed or timed out (offset-commit-failure-percentage from totals).",
        |t| load(&t.counters.commit_failures) as f64,
    );
    w.per_task_timer(
        m,
        None,
        "sluice_connect_task_offset_commit_time_seconds",
        "sluice_connect_task_offset_commit_max_time_seconds",
        "Time of a successful offset commit (offset-commit-avg-time-ms)",
        |t| t.counters.commit_time.snapshot(),
    );
}

/// Sink consumer lag: per partition (the consumer's `records-lag`) and the task's largest
/// (`sink-record-lag-max`), as last measured by each task.
fn lag_families(w: &mut Writer, m: &WorkerMetrics) {
    let sinks: Vec<(&TaskMetrics, Vec<PartitionLag>)> = m
        .tasks
        .iter()
        .filter(|t| t.kind == TaskKind::Sink)
        .map(|t| (t, t.counters.lag()))
        .collect();
    w.family(
        "sluice_connect_sink_task_records_lag",
        "gauge",
        "Records between the sink task's consumer position and the end of the partition (records-lag).",
        sinks.iter().flat_map(|(t, lag)| {
            lag.iter().map(|p| {
                (
                    "",
                    format!(
                        "{},topic=\"{}\",partition=\"{}\"",
                        task_labels(t),
                        escape(&p.partition.topic),
                        p.partition.partition
                    ),
                    p.lag as f64,
                )
            })
        }),
    );
    w.family(
        "sluice_connect_sink_task_sink_record_lag_max",
        "gauge",
        "The largest consumer lag of the sink task's partitions (sink-record-lag-max).",
        sinks.iter().map(|(t, lag)| {
            let max = lag.iter().map(|p| p.lag).max().unwrap_or(0);
            ("", task_labels(t), max as f64)
        }),
    );
}

/// Picks one error counter of a task.
type ErrorCounter = fn(&TaskMetrics) -> &AtomicU64;

/// Kafka's `task-error-metrics` group, from each task's error counters.
fn error_families(w: &mut Writer, m: &WorkerMetrics) {
    let families: [(&str, &str, ErrorCounter); 7] = [
        (
            "sluice_connect_task_error_record_failures_total",
            "Failed operations, each retry counted (total-record-failures).",
            |t| &t.counters.errors.record_failures,
        ),
        (
            "sluice_connect_task_error_record_errors_total",
            "Records that finally failed (total-record-errors).",
            |t| &t.counters.errors.record_errors,
        ),
        (
            "sluice_connect_task_error_records_skipped_total",
            "Records skipped because errors are tolerated (total-records-skipped).",
            |t| &t.counters.errors.records_skipped,
        ),
        (
            "sluice_connect_task_error_retries_total",
            "Retries of failed operations (total-retries).",
            |t| &t.counters.errors.retries,
        ),
        (
            "sluice_connect_task_error_errors_logged_total",
            "Failures written to the worker log (total-errors-logged).",
            |t| &t.counters.errors.errors_logged,
        ),
        (
            "sluice_connect_task_error_deadletterqueue_produce_requests_total",
            "Records written to the dead letter queue (deadletterqueue-produce-requests).",
            |t| &t.counters.errors.dlq_produce_requests,
        ),
        (
            "sluice_connect_task_error_deadletterqueue_produce_failures_total",
            "Dead letter queue writes that failed (deadletterqueue-produce-failures).",
            |t| &t.counters.errors.dlq_produce_failures,
        ),
    ];
    for (name, help, counter) in families {
        w.per_task(m, None, name, "counter", help, |t| load(counter(t)) as f64);
    }
    w.per_task(
        m,
        None,
        "sluice_connect_task_error_last_error_timestamp_seconds",
        "gauge",
        "Time of the last failure, seconds since the epoch, 0 if none (last-error-timestamp).",
        |t| load(&t.counters.errors.last_error_timestamp) as f64 / 1000.0,
    );
    w.per_task(
        m,
        None,
        "sluice_connect_task_auto_restarts_total",
        "counter",
        "Automatic restarts of the failed task since it was last started by the herder (Sluice, errors.restart.*).",
        |t| load(&t.counters.restarts) as f64,
    );
    w.per_task(
        m,
        None,
        "sluice_connect_task_stalled",
        "gauge",
        "1 while the task makes no progress although work waits for it (Sluice, errors.stall.timeout.ms), else 0.",
        |t| load(&t.counters.stalled) as f64,
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::metrics::TaskCounters;
    use crate::status::{ConnectorStatus, ConnectorTaskId, Status};

    #[test]
    fn renders_states_counters_and_timers() {
        let counters = Arc::new(TaskCounters::default());
        TaskCounters::add(&counters.polled, 7);
        counters.poll_batch.record(Duration::from_millis(500));
        counters.poll_batch.record(Duration::from_millis(1500));
        let m = WorkerMetrics {
            connectors: vec![ConnectorStatus {
                name: "a\"b".into(),
                connector: Status {
                    state: State::Running,
                    trace: None,
                },
                tasks: vec![(
                    0,
                    Status {
                        state: State::Failed,
                        trace: Some("x".into()),
                    },
                )],
            }],
            tasks: vec![TaskMetrics {
                id: ConnectorTaskId {
                    connector: "a\"b".into(),
                    task: 0,
                },
                kind: TaskKind::Source,
                counters,
            }],
            worker: Arc::default(),
        };
        let text = render(&m);
        let has = |line: &str| text.lines().any(|l| l == line);
        assert!(has("sluice_connect_worker_connector_count 1"), "{text}");
        assert!(has("sluice_connect_worker_task_count 1"));
        assert!(has(
            "sluice_connect_connector_status{connector=\"a\\\"b\",state=\"RUNNING\"} 1"
        ));
        assert!(has(
            "sluice_connect_connector_status{connector=\"a\\\"b\",state=\"PAUSED\"} 0"
        ));
        assert!(has(
            "sluice_connect_task_status{connector=\"a\\\"b\",task=\"0\",state=\"FAILED\"} 1"
        ));
        assert!(has("sluice_connect_worker_tasks{state=\"FAILED\"} 1"));
        assert!(has(
            "sluice_connect_source_task_source_record_poll_total{connector=\"a\\\"b\",task=\"0\"} 7"
        ));
        assert!(has(
            "sluice_connect_source_task_poll_batch_time_seconds_sum{connector=\"a\\\"b\",task=\"0\"} 2"
        ));
        assert!(has(
            "sluice_connect_source_task_poll_batch_time_seconds_count{connector=\"a\\\"b\",task=\"0\"} 2"
        ));
        assert!(has(
            "sluice_connect_source_task_poll_batch_max_time_seconds{connector=\"a\\\"b\",task=\"0\"} 1.5"
        ));
        assert!(!text.contains("sink_record_read_total{"));
    }
}

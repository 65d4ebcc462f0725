//! Automatic restarts of failed tasks and stall detection (beyond Kafka Connect).
//!
//! Kafka Connect leaves a failed task FAILED until someone restarts it through the REST API.
//! Here the worker restarts a task that failed for a reason a restart can cure (a crash, an
//! I/O error, an outage that outlasted `errors.retry.timeout`), waiting
//! `errors.restart.backoff.initial.ms`, then twice as long each time up to
//! `errors.restart.backoff.max.ms`, for at most `errors.restart.max.attempts` restarts in a
//! row. Meanwhile the task shows RESTARTING, with the last error in its trace; once the
//! budget is spent it shows FAILED, as Kafka would have at once. A task that ran for
//! `errors.restart.reset.after.ms` before failing gets its whole budget back, and a REST
//! restart or a config change starts a fresh one.
//!
//! Failures a restart cannot cure fail the task at once, as in Kafka: a record that cannot
//! be converted, transformed or written (a data error, also behind `errors.tolerance=none`'s
//! `Tolerance exceeded in error handler`) would fail again on the same record, and a config
//! error would fail again with the same config.
//!
//! A task that shows RUNNING but has made no progress for `errors.stall.timeout.ms` while
//! work waits for it is reported as stalled ([`spawn_stall_watch`]); the flag clears as soon
//! as it makes progress again. A sink task is stalled when it delivered no record while
//! records wait for it (see `crate::sink_task`); a source task when the log acknowledged
//! none of its records and no offsets were committed while records it sent wait for an
//! acknowledgement (see `crate::source_task`).
//!
//! Every key is both a worker key (the default for all connectors) and a connector key
//! (unset: the worker's value), declared in [`config_def`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_api::ConnectError;

use crate::metrics::TaskCounters;
use crate::status::{ConnectorTaskId, State, StatusBoard};

/// `errors.restart.enable`: restart failed tasks automatically.
pub const RESTART_ENABLE: &str = "errors.restart.enable";
/// `errors.restart.max.attempts`: restarts in a row before a task stays FAILED (-1: no limit).
pub const RESTART_MAX_ATTEMPTS: &str = "errors.restart.max.attempts";
/// `errors.restart.backoff.initial.ms`: wait before the first restart.
pub const RESTART_BACKOFF_INITIAL_MS: &str = "errors.restart.backoff.initial.ms";
/// `errors.restart.backoff.max.ms`: longest wait between restarts.
pub const RESTART_BACKOFF_MAX_MS: &str = "errors.restart.backoff.max.ms";
/// `errors.restart.reset.after.ms`: a task that ran this long before failing gets its full
/// restart budget back.
pub const RESTART_RESET_AFTER_MS: &str = "errors.restart.reset.after.ms";
/// `errors.stall.timeout.ms`: how long a running task may make no progress while work waits
/// for it before it is reported as stalled (0: never).
pub const STALL_TIMEOUT_MS: &str = "errors.stall.timeout.ms";

const DEFAULT_ENABLE: bool = true;
const DEFAULT_MAX_ATTEMPTS: i64 = 10;
const DEFAULT_BACKOFF_INITIAL_MS: i64 = 1_000;
const DEFAULT_BACKOFF_MAX_MS: i64 = 300_000;
const DEFAULT_RESET_AFTER_MS: i64 = 600_000;
const DEFAULT_STALL_TIMEOUT_MS: i64 = 300_000;

/// The restart and stall keys. With `worker`, as worker keys with their defaults; otherwise
/// as connector keys whose unset value means "the worker's".
pub fn config_def(worker: bool) -> ConfigDef {
    let group = "Error Handling";
    let key = |name: &str, kind: ConfigType, default: String, order: i32, doc: &str| {
        let k = ConfigKey::new(name, kind)
            .importance(Importance::Medium)
            .group(group, order);
        if worker {
            k.default_value(default).doc(doc)
        } else {
            k.default_null().doc(format!(
                "{doc} Unset: the worker's '{name}' (default {default})."
            ))
        }
    };
    ConfigDef::new()
        .define(key(
            RESTART_ENABLE,
            ConfigType::Boolean,
            DEFAULT_ENABLE.to_string(),
            20,
            "Restart a task that failed for a reason a restart can cure (a crash, an I/O error, an outage longer than 'errors.retry.timeout'), with exponential backoff; it shows RESTARTING until it runs again, and FAILED once 'errors.restart.max.attempts' restarts in a row did not help. Record and config errors fail the task at once, as in Kafka.",
        ))
        .define(
            key(
                RESTART_MAX_ATTEMPTS,
                ConfigType::Int,
                DEFAULT_MAX_ATTEMPTS.to_string(),
                21,
                "Automatic restarts in a row before the task stays FAILED; -1: no limit.",
            )
            .validator(Validator::AtLeast(-1)),
        )
        .define(
            key(
                RESTART_BACKOFF_INITIAL_MS,
                ConfigType::Long,
                DEFAULT_BACKOFF_INITIAL_MS.to_string(),
                22,
                "Wait in milliseconds before the first automatic restart; each further wait doubles.",
            )
            .validator(Validator::AtLeast(0)),
        )
        .define(
            key(
                RESTART_BACKOFF_MAX_MS,
                ConfigType::Long,
                DEFAULT_BACKOFF_MAX_MS.to_string(),
                23,
                "Longest wait in milliseconds between automatic restarts.",
            )
            .validator(Validator::AtLeast(0)),
        )
        .define(
            key(
                RESTART_RESET_AFTER_MS,
                ConfigType::Long,
                DEFAULT_RESET_AFTER_MS.to_string(),
                24,
                "A task that ran this many milliseconds before failing gets its full restart budget back.",
            )
            .validator(Validator::AtLeast(0)),
        )
        .define(
            key(
                STALL_TIMEOUT_MS,
                ConfigType::Long,
                DEFAULT_STALL_TIMEOUT_MS.to_string(),
                25,
                "A running task that made no progress for this many milliseconds while work waits for it is reported as stalled (status and metrics) until it progresses again: a sink task that delivered no record while records wait for it, a source task whose sent records the log acknowledged none of (and no offsets were committed) while some wait for an acknowledgement. 0: never.",
            )
            .validator(Validator::AtLeast(0)),
        )
}

/// How failed tasks of one connector are restarted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Whether failed tasks are restarted at all.
    pub enabled: bool,
    /// Restarts in a row before giving up; `None`: no limit.
    pub max_attempts: Option<u32>,
    /// Wait before the first restart.
    pub backoff_initial: Duration,
    /// Longest wait between restarts.
    pub backoff_max: Duration,
    /// A run at least this long before failing restores the whole budget.
    pub reset_after: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy::from_configs(&ConfigMap::new(), &ConfigMap::new())
    }
}

/// A key's value: the connector's when set and valid, else the worker's, else `default`.
fn setting<T: std::str::FromStr>(
    worker: &ConfigMap,
    connector: &ConfigMap,
    key: &str,
    default: T,
) -> T {
    [connector, worker]
        .into_iter()
        .find_map(|m| m.get(key).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(default)
}

fn millis(worker: &ConfigMap, connector: &ConfigMap, key: &str, default: i64) -> Duration {
    Duration::from_millis(setting(worker, connector, key, default).max(0) as u64)
}

impl RestartPolicy {
    /// The policy of a connector: its own `errors.restart.*` keys, else the worker's, else
    /// the defaults (both configs passed validation).
    pub fn from_configs(worker: &ConfigMap, connector: &ConfigMap) -> Self {
        let enabled = match setting(worker, connector, RESTART_ENABLE, String::new()) {
            v if v.eq_ignore_ascii_case("true") => true,
            v if v.eq_ignore_ascii_case("false") => false,
            _ => DEFAULT_ENABLE,
        };
        let max = setting(
            worker,
            connector,
            RESTART_MAX_ATTEMPTS,
            DEFAULT_MAX_ATTEMPTS,
        );
        RestartPolicy {
            enabled,
            max_attempts: u32::try_from(max).ok(),
            backoff_initial: millis(
                worker,
                connector,
                RESTART_BACKOFF_INITIAL_MS,
                DEFAULT_BACKOFF_INITIAL_MS,
            ),
            backoff_max: millis(
                worker,
                connector,
                RESTART_BACKOFF_MAX_MS,
                DEFAULT_BACKOFF_MAX_MS,
            ),
            reset_after: millis(
                worker,
                connector,
                RESTART_RESET_AFTER_MS,
                DEFAULT_RESET_AFTER_MS,
            ),
        }
    }

    /// The wait before restart number `attempt` (1-based): the initial wait doubled per
    /// earlier attempt, capped.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff_initial
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.backoff_max)
    }

    /// What to do after a task failed with `error`, having been restarted `attempts` times in
    /// a row before this run, which lasted `ran_for`.
    pub fn after_failure(
        &self,
        attempts: u32,
        ran_for: Duration,
        error: &ConnectError,
    ) -> AfterFailure {
        let attempts = if ran_for >= self.reset_after {
            0
        } else {
            attempts
        };
        if !self.enabled || !is_restartable(error) {
            return AfterFailure::Fail { attempts };
        }
        if self.max_attempts.is_some_and(|max| attempts >= max) {
            return AfterFailure::GiveUp { attempts };
        }
        let attempt = attempts + 1;
        AfterFailure::Restart {
            attempt,
            delay: self.delay(attempt),
        }
    }
}

/// The decision after a task failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Restart it (restart number `attempt` in a row) after `delay`.
    Restart {
        /// 1-based restart number.
        attempt: u32,
        /// Wait before restarting.
        delay: Duration,
    },
    /// Leave it FAILED: restarts are off or cannot help. `attempts` restarts were made.
    Fail {
        /// Restarts made before this failure.
        attempts: u32,
    },
    /// Leave it FAILED: the budget is spent after `attempts` restarts.
    GiveUp {
        /// Restarts made.
        attempts: u32,
    },
}

/// Whether restarting can cure a task that failed with `error`: not for a record's content
/// (the same record fails again) nor for a config error; yes for anything else.
pub fn is_restartable(error: &ConnectError) -> bool {
    match error {
        ConnectError::Config { .. } | ConnectError::Data { .. } => false,
        ConnectError::Record { source, .. } => is_restartable(source),
        ConnectError::Retriable { .. } | ConnectError::Io { .. } => true,
        // A fenced exactly-once task: a newer instance owns it now.
        ConnectError::Connect { source, .. }
            if source
                .as_deref()
                .and_then(|s| s.downcast_ref::<sluice_log::LogError>())
                .is_some_and(|e| matches!(e, sluice_log::LogError::Fenced { .. })) =>
        {
            false
        }
        ConnectError::Connect { source, .. } => match source
            .as_deref()
            .and_then(|s| s.downcast_ref::<ConnectError>())
        {
            // `Tolerance exceeded in error handler` and other wrappers: judge the cause.
            Some(cause) => is_restartable(cause),
            None => true,
        },
    }
}

/// The stall timeout of a connector's tasks (`None`: stall detection off).
pub fn stall_timeout(worker: &ConfigMap, connector: &ConfigMap) -> Option<Duration> {
    let timeout = millis(
        worker,
        connector,
        STALL_TIMEOUT_MS,
        DEFAULT_STALL_TIMEOUT_MS,
    );
    (!timeout.is_zero()).then_some(timeout)
}

/// What a stall watcher reads from a task at each check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StallProbe {
    /// A count that moves whenever the task makes progress (records delivered; records
    /// acknowledged or offsets committed).
    pub progress: u64,
    /// A count that moves whenever new input reaches the task (records a sink fetched).
    pub input: u64,
    /// Work that waits right now (consumer lag above zero; sent records not acknowledged).
    pub backlog: bool,
}

/// The stall decision, apart from clocks and counters: a task is stalled once it has been
/// RUNNING, without progress, with work waiting (new input since the last progress, or a
/// backlog), for the whole timeout.
#[derive(Debug)]
pub(crate) struct StallDetector {
    timeout: Duration,
    last: StallProbe,
    waiting_since: Instant,
    stalled: bool,
}

impl StallDetector {
    /// A detector for a task that starts now with the counters in `first`.
    pub fn new(timeout: Duration, first: StallProbe, now: Instant) -> Self {
        StallDetector {
            timeout,
            last: first,
            waiting_since: now,
            stalled: false,
        }
    }

    /// Takes one reading; returns the new stall flag when it changes.
    pub fn check(&mut self, probe: StallProbe, running: bool, now: Instant) -> Option<bool> {
        let waiting = probe.input != self.last.input || probe.backlog;
        if probe.progress != self.last.progress || !running || !waiting {
            self.last = probe;
            self.waiting_since = now;
            return std::mem::take(&mut self.stalled).then_some(false);
        }
        if !self.stalled && now.duration_since(self.waiting_since) >= self.timeout {
            self.stalled = true;
            return Some(true);
        }
        None
    }
}

/// A running stall watcher; dropping it stops the watch and clears the task's flag.
pub(crate) struct StallWatch {
    handle: tokio::task::JoinHandle<()>,
    id: ConnectorTaskId,
    counters: Arc<TaskCounters>,
    status: StatusBoard,
}

impl Drop for StallWatch {
    fn drop(&mut self) {
        self.handle.abort();
        self.counters.stalled.store(0, Ordering::Relaxed);
        self.status.set_task_stalled(&self.id, false);
    }
}

/// Watches a running task for stalls: reads `probe` a few times per `timeout` (at most every
/// 10 s, so nothing per record) and, when [`StallDetector`] says so, flags the task stalled in
/// its status and metrics with one warning naming `condition` (what did not happen, e.g.
/// `it has delivered no record`), and clears the flag with an info line.
pub(crate) fn spawn_stall_watch(
    id: ConnectorTaskId,
    timeout: Duration,
    counters: Arc<TaskCounters>,
    status: StatusBoard,
    probe: impl Fn(&TaskCounters) -> StallProbe + Send + 'static,
    condition: &'static str,
) -> StallWatch {
    let check = (timeout / 4).clamp(Duration::from_millis(20), Duration::from_secs(10));
    // Read now, before the task goes on: what arrives from here on counts as waiting work.
    let mut detector = StallDetector::new(timeout, probe(&counters), Instant::now());
    let watch = (id.clone(), counters.clone(), status.clone());
    let handle = tokio::spawn(async move {
        let (id, counters, status) = watch;
        let mut tick = tokio::time::interval(check);
        loop {
            tick.tick().await;
            let running = status.task(&id).is_some_and(|s| s.state == State::Running);
            match detector.check(probe(&counters), running, Instant::now()) {
                Some(true) => {
                    counters.stalled.store(1, Ordering::Relaxed);
                    status.set_task_stalled(&id, true);
                    tracing::warn!(
                        task = %id,
                        timeout_ms = timeout.as_millis() as u64,
                        "The task is stalled: {condition} for {} ms (errors.stall.timeout.ms).",
                        timeout.as_millis()
                    );
                }
                Some(false) => {
                    counters.stalled.store(0, Ordering::Relaxed);
                    status.set_task_stalled(&id, false);
                    tracing::info!(task = %id, "The task is no longer stalled.");
                }
                None => {}
            }
        }
    });
    StallWatch {
        handle,
        id,
        counters,
        status,
    }
}

/// The trace shown while a task waits to be restarted: what happens next, then the error.
pub fn restarting_trace(
    policy: &RestartPolicy,
    attempt: u32,
    delay: Duration,
    error: &ConnectError,
) -> String {
    let of = policy
        .max_attempts
        .map_or_else(String::new, |max| format!(" of {max}"));
    format!(
        "The task failed and is restarted automatically: restart {attempt}{of} in {} ms \
         ({RESTART_MAX_ATTEMPTS}). Last failure:\n{}",
        delay.as_millis(),
        error.trace()
    )
}

/// The trace of a task left FAILED after `attempts` automatic restarts (Kafka's trace, with
/// a last line saying so when restarts were made).
pub fn failed_trace(attempts: u32, error: &ConnectError) -> String {
    let mut trace = error.trace();
    if attempts > 0 {
        trace.push_str(&format!(
            "\nThe task stays FAILED after {attempts} automatic restart(s) in a row; restart it \
             through the REST API once the cause is fixed."
        ));
    }
    trace
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::error::{RecordLocation, Stage};

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn probe(progress: u64, input: u64, backlog: bool) -> StallProbe {
        StallProbe {
            progress,
            input,
            backlog,
        }
    }

    #[test]
    fn a_task_is_stalled_after_the_timeout_without_progress_while_work_waits() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let timeout = Duration::from_millis(100);
        // A source whose sent records are never acknowledged: a backlog, no progress.
        let mut d = StallDetector::new(timeout, probe(0, 0, false), t0);
        assert_eq!(d.check(probe(0, 0, true), true, at(50)), None);
        assert_eq!(d.check(probe(0, 0, true), true, at(100)), Some(true));
        assert_eq!(
            d.check(probe(0, 0, true), true, at(500)),
            None,
            "flagged once"
        );
        // An acknowledgement (progress) clears the flag and starts a new wait.
        assert_eq!(d.check(probe(1, 0, true), true, at(510)), Some(false));
        assert_eq!(d.check(probe(1, 0, true), true, at(600)), None);
        assert_eq!(d.check(probe(1, 0, true), true, at(610)), Some(true));
        // Nothing waits any more: not stalled.
        assert_eq!(d.check(probe(1, 0, false), true, at(620)), Some(false));

        // An idle task (nothing waits) is never stalled, however long it idles.
        let mut idle = StallDetector::new(timeout, probe(0, 0, false), t0);
        for ms in (0..10_000).step_by(50) {
            assert_eq!(idle.check(probe(0, 0, false), true, at(ms)), None);
        }
        // Nor is a task that is not RUNNING (paused, restarting).
        let mut paused = StallDetector::new(timeout, probe(0, 0, true), t0);
        assert_eq!(paused.check(probe(0, 0, true), false, at(1_000)), None);
        // A task that keeps progressing is never stalled either.
        let mut busy = StallDetector::new(timeout, probe(0, 0, true), t0);
        for (i, ms) in (0..10_000).step_by(50).enumerate() {
            assert_eq!(busy.check(probe(i as u64, 0, true), true, at(ms)), None);
        }
    }

    #[test]
    fn new_input_counts_as_waiting_work_until_the_task_progresses() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // A sink that fetched records (input moved) and delivers none: stalled, even with
        // no measured lag.
        let mut d = StallDetector::new(Duration::from_millis(100), probe(0, 0, false), t0);
        assert_eq!(d.check(probe(0, 5, false), true, at(10)), None);
        assert_eq!(d.check(probe(0, 5, false), true, at(110)), Some(true));
        // It delivers them all and nothing else arrives: the flag clears and stays clear.
        assert_eq!(d.check(probe(5, 5, false), true, at(120)), Some(false));
        assert_eq!(d.check(probe(5, 5, false), true, at(1_000)), None);
    }

    #[test]
    fn connector_keys_override_worker_keys_which_override_defaults() {
        let default = RestartPolicy::default();
        assert!(default.enabled);
        assert_eq!(default.max_attempts, Some(10));
        assert_eq!(default.backoff_initial, Duration::from_secs(1));
        let worker = map(&[(RESTART_MAX_ATTEMPTS, "3"), (RESTART_ENABLE, "false")]);
        let connector = map(&[(RESTART_ENABLE, "true"), (RESTART_BACKOFF_MAX_MS, "50")]);
        let p = RestartPolicy::from_configs(&worker, &connector);
        assert!(p.enabled);
        assert_eq!(p.max_attempts, Some(3));
        assert_eq!(p.backoff_max, Duration::from_millis(50));
        let unlimited =
            RestartPolicy::from_configs(&map(&[(RESTART_MAX_ATTEMPTS, "-1")]), &map(&[]));
        assert_eq!(unlimited.max_attempts, None);
        assert_eq!(
            stall_timeout(&map(&[(STALL_TIMEOUT_MS, "0")]), &map(&[])),
            None
        );
        assert_eq!(
            stall_timeout(&map(&[]), &map(&[(STALL_TIMEOUT_MS, "20")])),
            Some(Duration::from_millis(20))
        );
    }

    #[test]
    fn waits_double_up_to_the_cap_and_the_budget_runs_out() {
        let p = RestartPolicy::from_configs(
            &map(&[]),
            &map(&[
                (RESTART_MAX_ATTEMPTS, "3"),
                (RESTART_BACKOFF_INITIAL_MS, "100"),
                (RESTART_BACKOFF_MAX_MS, "250"),
                (RESTART_RESET_AFTER_MS, "1000"),
            ]),
        );
        let crash = ConnectError::connect("boom");
        let short = Duration::from_millis(10);
        let plan: Vec<AfterFailure> = (0..4).map(|n| p.after_failure(n, short, &crash)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            plan,
            vec![
                AfterFailure::Restart {
                    attempt: 1,
                    delay: ms(100)
                },
                AfterFailure::Restart {
                    attempt: 2,
                    delay: ms(200)
                },
                AfterFailure::Restart {
                    attempt: 3,
                    delay: ms(250)
                },
                AfterFailure::GiveUp { attempts: 3 },
            ]
        );
        // A long healthy run restores the budget.
        assert_eq!(
            p.after_failure(3, ms(1000), &crash),
            AfterFailure::Restart {
                attempt: 1,
                delay: ms(100)
            }
        );
        assert_eq!(p.delay(40), ms(250));
    }

    #[test]
    fn record_and_config_errors_are_not_restarted() {
        let p = RestartPolicy::default();
        let at = RecordLocation {
            topic: "t".into(),
            partition: Some(0),
            offset: Some(3),
        };
        let bad_record = ConnectError::data("not json").at(Stage::ValueConverter, at.clone());
        let tolerance = ConnectError::Connect {
            message: "Tolerance exceeded in error handler".into(),
            source: Some(Box::new(ConnectError::data("not json"))),
        };
        let fenced = ConnectError::Connect {
            message: "This task was fenced".into(),
            source: Some(Box::new(sluice_log::LogError::Fenced {
                transactional_id: "g-c-0".into(),
            })),
        };
        for e in [
            bad_record,
            tolerance,
            ConnectError::config("file", "missing"),
            fenced,
        ] {
            assert!(!is_restartable(&e), "{e}");
            assert_eq!(
                p.after_failure(0, Duration::ZERO, &e),
                AfterFailure::Fail { attempts: 0 }
            );
        }
        let outage = ConnectError::Connect {
            message: "Tolerance exceeded in error handler".into(),
            source: Some(Box::new(ConnectError::retriable("down"))),
        };
        for e in [
            outage,
            ConnectError::retriable("down").at(Stage::TaskPut, at),
            ConnectError::connect("crash"),
            ConnectError::Io {
                context: "writing 'x'".into(),
                source: std::io::Error::other("gone"),
            },
        ] {
            assert!(is_restartable(&e), "{e}");
        }
        let off = RestartPolicy::from_configs(&map(&[(RESTART_ENABLE, "false")]), &map(&[]));
        assert_eq!(
            off.after_failure(0, Duration::ZERO, &ConnectError::connect("crash")),
            AfterFailure::Fail { attempts: 0 }
        );
    }

    #[test]
    fn traces_say_what_happens_and_keep_the_error() {
        let p = RestartPolicy::default();
        let e = ConnectError::connect("boom");
        let t = restarting_trace(&p, 2, Duration::from_millis(2000), &e);
        assert!(t.contains("restart 2 of 10 in 2000 ms"), "{t}");
        assert!(
            t.ends_with("org.apache.kafka.connect.errors.ConnectException: boom"),
            "{t}"
        );
        assert_eq!(failed_trace(0, &e), e.trace());
        assert!(failed_trace(3, &e).starts_with(&e.trace()));
        assert!(failed_trace(3, &e).contains("after 3 automatic restart(s)"));
    }
}

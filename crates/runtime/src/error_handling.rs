//! What a task does when one record fails: retry, tolerate, log, send to the dead-letter
//! queue (Kafka's `RetryWithToleranceOperator`, `LogReporter` and `DeadLetterQueueReporter`).
//!
//! The connector config's `errors.*` keys become an [`ErrorPolicy`]. A task owns one
//! [`ErrorHandler`]; each stage that can fail per record (conversion, transformation, `put` of
//! a single record) runs through [`ErrorHandler::retry`], which retries retriable errors with
//! Kafka's backoff until `errors.retry.timeout`, and reports a final failure with
//! [`ErrorHandler::report`], which logs it (`errors.log.enable`), writes the original record to
//! the dead-letter queue (`errors.deadletterqueue.topic.name`) and decides, per
//! `errors.tolerance`, whether the record is skipped or the task fails.
//!
//! A retriable error never goes to the dead-letter queue: it means the destination or a
//! connection is unwell, not that the record is bad, so when retries run out the task fails
//! (and is restarted) rather than poisoning the queue with good records.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sluice_api::config::ConfigMap;
use sluice_api::error::Stage;
use sluice_api::ConnectError;
use sluice_log::{ConsumedRecord, LogHeader, LogProducer, ProduceRecord, TimestampType};
use tokio::sync::watch;

/// `errors.retry.timeout`.
pub const ERRORS_RETRY_TIMEOUT: &str = "errors.retry.timeout";
/// `errors.retry.delay.max.ms`.
pub const ERRORS_RETRY_DELAY_MAX_MS: &str = "errors.retry.delay.max.ms";
/// `errors.tolerance`.
pub const ERRORS_TOLERANCE: &str = "errors.tolerance";
/// `errors.log.enable`.
pub const ERRORS_LOG_ENABLE: &str = "errors.log.enable";
/// `errors.log.include.messages`.
pub const ERRORS_LOG_INCLUDE_MESSAGES: &str = "errors.log.include.messages";
/// `errors.deadletterqueue.topic.name`.
pub const DLQ_TOPIC_NAME: &str = "errors.deadletterqueue.topic.name";
/// `errors.deadletterqueue.topic.replication.factor`.
pub const DLQ_TOPIC_REPLICATION_FACTOR: &str = "errors.deadletterqueue.topic.replication.factor";
/// `errors.deadletterqueue.context.headers.enable`.
pub const DLQ_CONTEXT_HEADERS_ENABLE: &str = "errors.deadletterqueue.context.headers.enable";

/// Kafka's first retry wait; each later wait doubles it.
const RETRY_BACKOFF_START: Duration = Duration::from_millis(300);

/// The context header names Kafka writes on dead-letter records.
pub mod headers {
    /// Original topic.
    pub const TOPIC: &str = "__connect.errors.topic";
    /// Original partition, decimal text.
    pub const PARTITION: &str = "__connect.errors.partition";
    /// Original offset, decimal text.
    pub const OFFSET: &str = "__connect.errors.offset";
    /// Connector name.
    pub const CONNECTOR_NAME: &str = "__connect.errors.connector.name";
    /// Task number, decimal text.
    pub const TASK_ID: &str = "__connect.errors.task.id";
    /// Stage name (`VALUE_CONVERTER`, `TRANSFORMATION`, `TASK_PUT`, ...).
    pub const STAGE: &str = "__connect.errors.stage";
    /// Class of the failing converter, transform or task.
    pub const CLASS_NAME: &str = "__connect.errors.class.name";
    /// Java class name of the error.
    pub const EXCEPTION_CLASS_NAME: &str = "__connect.errors.exception.class.name";
    /// The error message.
    pub const EXCEPTION_MESSAGE: &str = "__connect.errors.exception.message";
    /// The error with its causes.
    pub const EXCEPTION_STACKTRACE: &str = "__connect.errors.exception.stacktrace";
}

/// `errors.tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// The first failed record fails the task.
    None,
    /// Failed records are skipped (and reported).
    All,
}

/// Where and how failed records are written to a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterQueue {
    /// The DLQ topic.
    pub topic: String,
    /// Replication factor used when the topic is created.
    pub replication_factor: i16,
    /// Whether the `__connect.errors.*` headers are added.
    pub context_headers: bool,
}

/// A connector's `errors.*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPolicy {
    /// How long a retriable failure is retried: `None` forever, zero not at all.
    pub retry_timeout: Option<Duration>,
    /// Longest wait between two retries.
    pub retry_delay_max: Duration,
    /// Skip or fail on a failed record.
    pub tolerance: Tolerance,
    /// Log every failed operation.
    pub log_enable: bool,
    /// Include the record's coordinates and content in that log line.
    pub log_include_messages: bool,
    /// The dead-letter queue, if configured (sink connectors only).
    pub dead_letter_queue: Option<DeadLetterQueue>,
}

impl Default for ErrorPolicy {
    /// Kafka's defaults: no retries, fail on the first error, no logging, no DLQ.
    fn default() -> Self {
        ErrorPolicy {
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_millis(60_000),
            tolerance: Tolerance::None,
            log_enable: false,
            log_include_messages: false,
            dead_letter_queue: None,
        }
    }
}

impl ErrorPolicy {
    /// Reads the `errors.*` keys of a connector config that passed validation (values that do
    /// not parse fall back to Kafka's defaults).
    pub fn from_connector_config(props: &ConfigMap) -> Self {
        let defaults = ErrorPolicy::default();
        let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let flag = |key: &str| get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let retry_timeout = match get(ERRORS_RETRY_TIMEOUT).and_then(|v| v.parse::<i64>().ok()) {
            Some(ms) if ms < 0 => None,
            Some(ms) => Some(Duration::from_millis(ms as u64)),
            None => defaults.retry_timeout,
        };
        let retry_delay_max = get(ERRORS_RETRY_DELAY_MAX_MS)
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(defaults.retry_delay_max);
        let tolerance = match get(ERRORS_TOLERANCE) {
            Some(t) if t.eq_ignore_ascii_case("all") => Tolerance::All,
            _ => Tolerance::None,
        };
        let dead_letter_queue = get(DLQ_TOPIC_NAME).map(|topic| DeadLetterQueue {
            topic: topic.to_owned(),
            replication_factor: get(DLQ_TOPIC_REPLICATION_FACTOR)
                .and_then(|v| v.parse().ok())
                .unwrap_or(3),
            context_headers: flag(DLQ_CONTEXT_HEADERS_ENABLE),
        });
        ErrorPolicy {
            retry_timeout,
            retry_delay_max,
            tolerance,
            log_enable: flag(ERRORS_LOG_ENABLE),
            log_include_messages: flag(ERRORS_LOG_INCLUDE_MESSAGES),
            dead_letter_queue,
        }
    }
}

/// Kafka's wait after failed attempt `attempt` (1-based): 300 ms doubled per attempt; when
/// that exceeds `delay_max`, a random wait below `delay_max` instead (`random_below(n)` returns
/// a value in `[0, n)`).
pub fn backoff_delay(
    attempt: u32,
    delay_max: Duration,
    random_below: impl FnOnce(u64) -> u64,
) -> Duration {
    let doubled = RETRY_BACKOFF_START
        .checked_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .unwrap_or(Duration::MAX);
    if doubled > delay_max {
        let max_ms = delay_max.as_millis() as u64;
        if max_ms == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(random_below(max_ms))
        }
    } else {
        doubled
    }
}

/// Error counters of one task (Kafka's `task-error-metrics` group).
#[derive(Debug, Default)]
pub struct ErrorCounters {
    /// Failed operations, counting each retry (`total-record-failures`).
    pub record_failures: AtomicU64,
    /// Records that finally failed (`total-record-errors`).
    pub record_errors: AtomicU64,
    /// Records skipped by `errors.tolerance=all` (`total-records-skipped`).
    pub records_skipped: AtomicU64,
    /// Retries made (`total-retries`).
    pub retries: AtomicU64,
    /// Failures written to the log (`total-errors-logged`).
    pub errors_logged: AtomicU64,
    /// Records sent to the dead-letter queue (`deadletterqueue-produce-requests`).
    pub dlq_produce_requests: AtomicU64,
    /// Dead-letter writes that failed (`deadletterqueue-produce-failures`).
    pub dlq_produce_failures: AtomicU64,
    /// Milliseconds since the epoch of the last failure, 0 if none (`last-error-timestamp`).
    pub last_error_timestamp: AtomicU64,
}

/// The record a failure concerns, as far as the stage knows it.
#[derive(Debug, Clone, Copy)]
pub enum FailedRecord<'a> {
    /// A record read from the log (sink side): the DLQ gets its original bytes.
    Consumed(&'a ConsumedRecord),
    /// A source record, described for the log line (sources have no DLQ in Kafka).
    Source(&'a str),
}

/// One failed operation.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// Stage that failed.
    pub stage: Stage,
    /// Class of the converter, transform or task of that stage.
    pub class_name: &'a str,
    /// The record, when there is one.
    pub record: Option<FailedRecord<'a>>,
    /// The error, with the runtime's context (the record's location; a transformation's
    /// alias): what the log line and the task's trace show.
    pub error: &'a ConnectError,
    /// The error as the failing converter, transformation or task raised it, when `error`
    /// adds more to it than the record's location (a transformation failure names its alias
    /// and class). The dead-letter headers describe this one, as Kafka's describe the
    /// exception the stage threw. `None`: the error under the location is the raised one.
    pub raised: Option<&'a ConnectError>,
}

/// What to do with a record after its failure was reported.
#[derive(Debug)]
pub enum Decision {
    /// Skip the record and go on (`errors.tolerance=all`).
    Skip,
    /// Fail the task with this error.
    Fail(ConnectError),
}

/// Runs one task's error policy: retries, tolerance, the log reporter and the DLQ.
pub struct ErrorHandler {
    policy: ErrorPolicy,
    connector: String,
    task: u32,
    dead_letter_producer: Option<Arc<dyn LogProducer>>,
    counters: Arc<ErrorCounters>,
}

impl ErrorHandler {
    /// A handler for task `task` of `connector`. `dead_letter_producer` writes to the DLQ topic
    /// named in the policy (the caller creates the topic); without one no DLQ is written.
    pub fn new(
        policy: ErrorPolicy,
        connector: impl Into<String>,
        task: u32,
        dead_letter_producer: Option<Arc<dyn LogProducer>>,
    ) -> Self {
        ErrorHandler {
            policy,
            connector: connector.into(),
            task,
            dead_letter_producer,
            counters: Arc::default(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ErrorPolicy {
        &self.policy
    }

    /// Counts into `counters` (the task's, which `GET /metrics` reads) instead of its own.
    pub fn with_counters(mut self, counters: Arc<ErrorCounters>) -> Self {
        self.counters = counters;
        self
    }

    /// The task's error counters (shared with metrics).
    pub fn counters(&self) -> &Arc<ErrorCounters> {
        &self.counters
    }

    /// True when failures need no handling beyond failing the task: nothing is tolerated,
    /// retried, logged or sent to a DLQ. The hot path can then skip the handler entirely.
    pub fn is_passthrough(&self) -> bool {
        self.policy.tolerance == Tolerance::None
            && self.policy.retry_timeout == Some(Duration::ZERO)
            && !self.policy.log_enable
            && self.policy.dead_letter_queue.is_none()
    }

    /// Runs `op`, retrying it while it fails with a retriable error and the retry timeout has
    /// not passed (Kafka's backoff, see [`backoff_delay`]). Returns the last error otherwise.
    /// Stops retrying as soon as `stop` turns true.
    pub async fn retry<T>(
        &self,
        stop: &watch::Receiver<bool>,
        mut op: impl FnMut() -> Result<T, ConnectError>,
    ) -> Result<T, ConnectError> {
        let started = tokio::time::Instant::now();
        let deadline = self.policy.retry_timeout.map(|t| started + t);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let error = match op() {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            self.counters
                .record_failures
                .fetch_add(1, Ordering::Relaxed);
            if !error.is_retriable() || *stop.borrow() {
                return Err(error);
            }
            let now = tokio::time::Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(error);
            }
            let mut wait = backoff_delay(attempt, self.policy.retry_delay_max, random_below);
            if let Some(d) = deadline {
                wait = wait.min(d - now);
            }
            tracing::debug!(
                connector = %self.connector,
                task = self.task,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %error,
                "Retriable failure; retrying after a backoff."
            );
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            let mut stop = stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return Err(error),
            }
        }
    }

    /// Reports a failed operation (after retries): logs it when `errors.log.enable`, writes the
    /// original record with context headers to the DLQ when one is configured and the error
    /// is not retriable, and decides: skip with `errors.tolerance=all` (unless retriable: an
    /// outage is never tolerated by dropping records), otherwise fail with Kafka's
    /// `Tolerance exceeded in error handler` wrapping the cause.
    pub async fn report(&self, failure: Failure<'_>) -> Decision {
        self.counters.record_errors.fetch_add(1, Ordering::Relaxed);
        let now_ms = crate::metrics::unix_now_ms();
        self.counters
            .last_error_timestamp
            .store(now_ms, Ordering::Relaxed);
        if self.policy.log_enable {
            self.counters.errors_logged.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                target: "sluice::errors",
                error = %failure.error.trace(),
                "{}",
                self.log_line(&failure)
            );
        }
        let retriable = failure.error.is_retriable();
        if !retriable {
            if let (Some(FailedRecord::Consumed(original)), Some(dlq), Some(producer)) = (
                failure.record,
                &self.policy.dead_letter_queue,
                &self.dead_letter_producer,
            ) {
                let record = self.dead_letter_record(original, dlq, &failure);
                self.counters
                    .dlq_produce_requests
                    .fetch_add(1, Ordering::Relaxed);
                if let Err(e) = producer.send(vec![record]).await {
                    self.counters
                        .dlq_produce_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        connector = %self.connector,
                        task = self.task,
                        error = %e,
                        "Could not produce message to dead letter queue. topic={}",
                        dlq.topic
                    );
                }
            }
        }
        if self.policy.tolerance == Tolerance::All && !retriable {
            self.counters
                .records_skipped
                .fetch_add(1, Ordering::Relaxed);
            Decision::Skip
        } else {
            Decision::Fail(ConnectError::Connect {
                message: "Tolerance exceeded in error handler".into(),
                source: Some(Box::new(clone_error(failure.error))),
            })
        }
    }

    /// Kafka's log reporter line.
    fn log_line(&self, failure: &Failure<'_>) -> String {
        let mut line = format!(
            "Error encountered in task {}-{}. Executing stage '{}' with class '{}'",
            self.connector, self.task, failure.stage, failure.class_name
        );
        if self.policy.log_include_messages {
            match failure.record {
                Some(FailedRecord::Consumed(r)) => {
                    line.push_str(&format!(
                        ", where consumed record is {{topic='{}', partition={}, offset={}",
                        r.topic, r.partition, r.offset
                    ));
                    match r.timestamp_type {
                        TimestampType::CreateTime => line.push_str(&format!(
                            ", timestamp={}, timestampType=CreateTime",
                            r.timestamp
                        )),
                        TimestampType::LogAppendTime => line.push_str(&format!(
                            ", timestamp={}, timestampType=LogAppendTime",
                            r.timestamp
                        )),
                        TimestampType::NoTimestamp => {}
                    }
                    line.push('}');
                }
                Some(FailedRecord::Source(description)) => {
                    line.push_str(", where source record is = ");
                    line.push_str(description);
                }
                None => {}
            }
        }
        line.push('.');
        line
    }

    /// The DLQ copy of a consumed record: same key, value, headers and timestamp, plus the
    /// context headers when enabled.
    fn dead_letter_record(
        &self,
        original: &ConsumedRecord,
        dlq: &DeadLetterQueue,
        failure: &Failure<'_>,
    ) -> ProduceRecord {
        let mut headers = original.headers.clone();
        if dlq.context_headers {
            let mut add = |key: &str, value: Option<String>| {
                headers.push(LogHeader {
                    key: key.to_owned(),
                    value: value.map(Bytes::from),
                })
            };
            add(headers::TOPIC, Some(original.topic.to_string()));
            add(headers::PARTITION, Some(original.partition.to_string()));
            add(headers::OFFSET, Some(original.offset.to_string()));
            add(headers::CONNECTOR_NAME, Some(self.connector.clone()));
            add(headers::TASK_ID, Some(self.task.to_string()));
            add(headers::STAGE, Some(failure.stage.as_str().to_owned()));
            add(headers::CLASS_NAME, Some(failure.class_name.to_owned()));
            let raised = failure.raised.unwrap_or_else(|| root_cause(failure.error));
            add(
                headers::EXCEPTION_CLASS_NAME,
                Some(raised.kafka_class_name().to_owned()),
            );
            add(headers::EXCEPTION_MESSAGE, Some(raised.to_string()));
            add(headers::EXCEPTION_STACKTRACE, Some(raised.trace()));
        }
        ProduceRecord {
            topic: dlq.topic.as_str().into(),
            partition: None,
            key: original.key.clone(),
            value: original.value.clone(),
            headers,
            timestamp: match original.timestamp_type {
                TimestampType::NoTimestamp => None,
                _ => Some(original.timestamp),
            },
        }
    }
}

/// The error a record-located error wraps (what the stage itself raised).
fn root_cause(error: &ConnectError) -> &ConnectError {
    match error {
        ConnectError::Record { source, .. } => root_cause(source),
        other => other,
    }
}

/// A copy of an error for wrapping: same kind and message, causes rendered as text.
pub(crate) fn clone_error(error: &ConnectError) -> ConnectError {
    match error {
        ConnectError::Config { key, message } => ConnectError::config(key.clone(), message.clone()),
        ConnectError::Data { message } => ConnectError::data(message.clone()),
        ConnectError::Record {
            stage,
            location,
            source,
        } => ConnectError::Record {
            stage: *stage,
            location: location.clone(),
            source: Box::new(clone_error(source)),
        },
        ConnectError::Retriable { message, .. } => ConnectError::retriable(message.clone()),
        ConnectError::Io { context, source } => ConnectError::Io {
            context: context.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        ConnectError::Connect { message, .. } => ConnectError::connect(message.clone()),
    }
}

/// A random value in `[0, n)`, good enough for backoff jitter.
fn random_below(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    h.finish() % n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::error::RecordLocation;

    fn consumed() -> ConsumedRecord {
        ConsumedRecord {
            topic: "orders".into(),
            partition: 2,
            offset: 41,
            timestamp: 1_700_000_000_000,
            timestamp_type: TimestampType::CreateTime,
            key: Some(Bytes::from_static(b"k1")),
            value: Some(Bytes::from_static(b"{not json")),
            headers: vec![LogHeader {
                key: "trace".into(),
                value: Some(Bytes::from_static(b"abc")),
            }],
        }
    }

    /// The text of the header `key` of `record`, if it has one with a value.
    fn header_text(record: &ProduceRecord, key: &str) -> Option<String> {
        record
            .headers
            .iter()
            .find(|h| h.key == key)
            .and_then(|h| h.value.as_ref())
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
    }

    fn policy(pairs: &[(&str, &str)]) -> ErrorPolicy {
        ErrorPolicy::from_connector_config(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn policy_reads_kafka_keys_and_defaults() {
        assert_eq!(policy(&[]), ErrorPolicy::default());
        let p = policy(&[
            (ERRORS_RETRY_TIMEOUT, "-1"),
            (ERRORS_RETRY_DELAY_MAX_MS, "1000"),
            (ERRORS_TOLERANCE, "all"),
            (ERRORS_LOG_ENABLE, "true"),
            (DLQ_TOPIC_NAME, "dlq"),
            (DLQ_TOPIC_REPLICATION_FACTOR, "1"),
            (DLQ_CONTEXT_HEADERS_ENABLE, "true"),
        ]);
        assert_eq!(p.retry_timeout, None);
        assert_eq!(p.retry_delay_max, Duration::from_secs(1));
        assert_eq!(p.tolerance, Tolerance::All);
        assert!(p.log_enable && !p.log_include_messages);
        assert_eq!(
            p.dead_letter_queue,
            Some(DeadLetterQueue {
                topic: "dlq".into(),
                replication_factor: 1,
                context_headers: true
            })
        );
    }

    #[test]
    fn backoff_doubles_then_jitters_below_the_cap() {
        let cap = Duration::from_secs(2);
        let fixed = |_| unreachable!("no jitter below the cap");
        assert_eq!(backoff_delay(1, cap, fixed), Duration::from_millis(300));
        assert_eq!(backoff_delay(2, cap, fixed), Duration::from_millis(600));
        assert_eq!(backoff_delay(3, cap, fixed), Duration::from_millis(1200));
        assert_eq!(
            backoff_delay(4, cap, |n| {
                assert_eq!(n, 2000);
                1234
            }),
            Duration::from_millis(1234)
        );
        assert!(backoff_delay(60, cap, random_below) < cap);
        assert_eq!(
            backoff_delay(5, Duration::ZERO, random_below),
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retriable_errors_are_retried_until_success() {
        let handler = ErrorHandler::new(policy(&[(ERRORS_RETRY_TIMEOUT, "60000")]), "c", 0, None);
        let (_tx, stop) = watch::channel(false);
        let mut calls = 0;
        let out = handler
            .retry(&stop, || {
                calls += 1;
                if calls < 4 {
                    Err(ConnectError::retriable("down"))
                } else {
                    Ok(calls)
                }
            })
            .await
            .unwrap();
        assert_eq!(out, 4);
        assert_eq!(handler.counters().retries.load(Ordering::Relaxed), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_timeout_and_never_for_data_errors() {
        let handler = ErrorHandler::new(policy(&[(ERRORS_RETRY_TIMEOUT, "1000")]), "c", 0, None);
        let (_tx, stop) = watch::channel(false);
        let started = tokio::time::Instant::now();
        let err = handler
            .retry(&stop, || -> Result<(), _> {
                Err(ConnectError::retriable("down"))
            })
            .await
            .unwrap_err();
        assert!(err.is_retriable());
        assert!(started.elapsed() >= Duration::from_millis(1000));
        let mut calls = 0;
        handler
            .retry(&stop, || -> Result<(), _> {
                calls += 1;
                Err(ConnectError::data("bad"))
            })
            .await
            .unwrap_err();
        assert_eq!(calls, 1);
        let no_retry = ErrorHandler::new(ErrorPolicy::default(), "c", 0, None);
        let mut calls = 0;
        no_retry
            .retry(&stop, || -> Result<(), _> {
                calls += 1;
                Err(ConnectError::retriable("down"))
            })
            .await
            .unwrap_err();
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn tolerance_decides_and_retriable_failures_are_never_skipped() {
        let record = consumed();
        let data_error = ConnectError::data("bad json");
        let all = ErrorHandler::new(policy(&[(ERRORS_TOLERANCE, "all")]), "c", 0, None);
        let failure = Failure {
            stage: Stage::ValueConverter,
            class_name: "org.apache.kafka.connect.json.JsonConverter",
            record: Some(FailedRecord::Consumed(&record)),
            error: &data_error,
            raised: None,
        };
        assert!(matches!(all.report(failure).await, Decision::Skip));
        let outage = ConnectError::retriable("target down");
        let retriable = Failure {
            error: &outage,
            ..failure
        };
        assert!(matches!(all.report(retriable).await, Decision::Fail(_)));
        let none = ErrorHandler::new(ErrorPolicy::default(), "c", 0, None);
        match none.report(failure).await {
            Decision::Fail(e) => {
                let trace = e.trace();
                assert!(
                    trace.starts_with(
                        "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler"
                    ),
                    "{trace}"
                );
                assert!(trace.contains("Caused by: bad json"), "{trace}");
            }
            Decision::Skip => panic!("tolerance none must fail"),
        }
        assert_eq!(all.counters().records_skipped.load(Ordering::Relaxed), 1);
        assert_eq!(all.counters().record_errors.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn dead_letter_record_keeps_the_original_and_adds_kafka_headers() {
        let handler = ErrorHandler::new(
            policy(&[
                (DLQ_TOPIC_NAME, "dlq"),
                (DLQ_CONTEXT_HEADERS_ENABLE, "true"),
            ]),
            "orders-sink",
            3,
            None,
        );
        let record = consumed();
        let error = ConnectError::data("bad json").at(
            Stage::ValueConverter,
            RecordLocation {
                topic: "orders".into(),
                partition: Some(2),
                offset: Some(41),
            },
        );
        let failure = Failure {
            stage: Stage::ValueConverter,
            class_name: "org.apache.kafka.connect.json.JsonConverter",
            record: Some(FailedRecord::Consumed(&record)),
            error: &error,
            raised: None,
        };
        let dlq = handler.policy().dead_letter_queue.clone().unwrap();
        let out = handler.dead_letter_record(&record, &dlq, &failure);
        assert_eq!(&*out.topic, "dlq");
        assert_eq!(out.key, record.key);
        assert_eq!(out.value, record.value);
        assert_eq!(out.timestamp, Some(record.timestamp));
        assert_eq!(out.headers[0].key, "trace");
        assert_eq!(header_text(&out, headers::TOPIC).as_deref(), Some("orders"));
        assert_eq!(header_text(&out, headers::PARTITION).as_deref(), Some("2"));
        assert_eq!(header_text(&out, headers::OFFSET).as_deref(), Some("41"));
        assert_eq!(
            header_text(&out, headers::CONNECTOR_NAME).as_deref(),
            Some("orders-sink")
        );
        assert_eq!(header_text(&out, headers::TASK_ID).as_deref(), Some("3"));
        assert_eq!(
            header_text(&out, headers::STAGE).as_deref(),
            Some("VALUE_CONVERTER")
        );
        assert_eq!(
            header_text(&out, headers::EXCEPTION_CLASS_NAME).as_deref(),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        assert_eq!(
            header_text(&out, headers::EXCEPTION_MESSAGE).as_deref(),
            Some("bad json")
        );
        assert_eq!(
            header_text(&out, headers::EXCEPTION_STACKTRACE).as_deref(),
            Some("org.apache.kafka.connect.errors.DataException: bad json")
        );
    }

    #[tokio::test]
    async fn dead_letter_headers_carry_what_a_transformation_raised_without_its_alias() {
        let handler = ErrorHandler::new(
            policy(&[
                (DLQ_TOPIC_NAME, "dlq"),
                (DLQ_CONTEXT_HEADERS_ENABLE, "true"),
            ]),
            "numbers",
            0,
            None,
        );
        let record = consumed();
        let raised = ConnectError::data("Value (n/a-3) was out of range for requested data type");
        let error = ConnectError::data(format!(
            "transformation 'cast' (org.apache.kafka.connect.transforms.Cast$Value) failed: {raised}"
        ))
        .at(
            Stage::Transformation,
            RecordLocation {
                topic: "orders".into(),
                partition: Some(2),
                offset: Some(41),
            },
        );
        let failure = Failure {
            stage: Stage::Transformation,
            class_name: "org.apache.kafka.connect.transforms.Cast$Value",
            record: Some(FailedRecord::Consumed(&record)),
            error: &error,
            raised: Some(&raised),
        };
        let dlq = handler.policy().dead_letter_queue.clone().unwrap();
        let out = handler.dead_letter_record(&record, &dlq, &failure);
        assert_eq!(
            header_text(&out, headers::STAGE).as_deref(),
            Some("TRANSFORMATION")
        );
        assert_eq!(
            header_text(&out, headers::CLASS_NAME).as_deref(),
            Some("org.apache.kafka.connect.transforms.Cast$Value")
        );
        assert_eq!(
            header_text(&out, headers::EXCEPTION_CLASS_NAME).as_deref(),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        assert_eq!(
            header_text(&out, headers::EXCEPTION_MESSAGE).as_deref(),
            Some("Value (n/a-3) was out of range for requested data type")
        );
        let stacktrace = header_text(&out, headers::EXCEPTION_STACKTRACE).unwrap();
        assert_eq!(
            stacktrace,
            "org.apache.kafka.connect.errors.DataException: \
             Value (n/a-3) was out of range for requested data type"
        );
        // The alias stays in what the task reports: the trace of the failure it returns.
        let none = ErrorHandler::new(ErrorPolicy::default(), "numbers", 0, None);
        let Decision::Fail(failed) = none.report(failure).await else {
            panic!("tolerance none must fail");
        };
        assert!(
            failed.trace().contains(
                "transformation 'cast' (org.apache.kafka.connect.transforms.Cast$Value) failed"
            ),
            "{}",
            failed.trace()
        );
    }

    #[test]
    fn log_line_follows_kafka_and_hides_content_unless_asked() {
        let record = consumed();
        let error = ConnectError::data("bad json");
        let failure = Failure {
            stage: Stage::ValueConverter,
            class_name: "org.apache.kafka.connect.json.JsonConverter",
            record: Some(FailedRecord::Consumed(&record)),
            error: &error,
            raised: None,
        };
        let plain = ErrorHandler::new(policy(&[(ERRORS_LOG_ENABLE, "true")]), "c", 1, None);
        assert_eq!(
            plain.log_line(&failure),
            "Error encountered in task c-1. Executing stage 'VALUE_CONVERTER' with class \
             'org.apache.kafka.connect.json.JsonConverter'."
        );
        let detailed = ErrorHandler::new(
            policy(&[
                (ERRORS_LOG_ENABLE, "true"),
                (ERRORS_LOG_INCLUDE_MESSAGES, "true"),
            ]),
            "c",
            1,
            None,
        );
        assert_eq!(
            detailed.log_line(&failure),
            "Error encountered in task c-1. Executing stage 'VALUE_CONVERTER' with class \
             'org.apache.kafka.connect.json.JsonConverter', where consumed record is \
             {topic='orders', partition=2, offset=41, timestamp=1700000000000, \
             timestampType=CreateTime}."
        );
    }
}

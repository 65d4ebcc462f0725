//! The librdkafka client context shared by the admin client and consumers: forwards
//! librdkafka's logs to `tracing` and keeps the last error reason (connection refused,
//! authentication failed, ...) so that errors can name it.

use std::sync::Mutex;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Logs through `tracing` and remembers the last error reported by librdkafka.
#[derive(Debug, Default)]
pub(crate) struct LogContext {
    last_errors: Mutex<Vec<String>>,
    auth_failed: std::sync::atomic::AtomicBool,
}

/// How many distinct recent error reasons are kept.
const KEPT_REASONS: usize = 3;

impl LogContext {
    /// The last few distinct error reasons librdkafka reported, oldest first, if any.
    pub(crate) fn last_error(&self) -> Option<String> {
        let reasons = self.last_errors.lock().ok()?;
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// True once librdkafka reported an authentication or TLS failure, which retrying
    /// does not fix.
    pub(crate) fn auth_failed(&self) -> bool {
        self.auth_failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn remember(&self, reason: &str) {
        if let Ok(mut reasons) = self.last_errors.lock() {
            reasons.retain(|r| r != reason);
            reasons.push(reason.to_string());
            if reasons.len() > KEPT_REASONS {
                reasons.remove(0);
            }
        }
    }

    /// Records an error reason (used by other contexts sharing this logic).
    pub(crate) fn record_error(&self, error: &KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", "{error}: {reason}");
        if matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::UnsupportedSASLMechanism
                    | RDKafkaErrorCode::IllegalSASLState
                    | RDKafkaErrorCode::SSL
            )
        ) {
            self.auth_failed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.remember(reason);
    }
}

/// Forwards a librdkafka log line to `tracing`.
pub(crate) fn log_line(level: RDKafkaLogLevel, fac: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", "{fac}: {message}"),
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", "{fac}: {message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", "{fac}: {message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", "{fac}: {message}"),
    }
}

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_line(level, fac, log_message);
        // Connection and authentication failures arrive as log lines: keep the last one
        // as the reason of a later error.
        if (level as i32) <= (RDKafkaLogLevel::Warning as i32) {
            self.remember(log_message);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.record_error(&error, reason);
    }
}

impl rdkafka::consumer::ConsumerContext for LogContext {}

impl rdkafka::producer::ProducerContext for LogContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: ()) {}
}

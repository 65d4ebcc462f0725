//! Test support (cargo feature `testing`): the address of a Kafka broker for tests and
//! fresh names, so that tests of any crate can run against the test broker.
//!
//! [`bootstrap`] returns `$SLUICE_KAFKA_BOOTSTRAP` when set; otherwise it starts the
//! repository's test broker (`scripts/services/kafka.sh start`, idempotent) once per
//! process; [`auth_bootstrap`] does the same for the broker that requires SASL. Group tests should set `session.timeout.ms=6000` ([`GROUP_SETTINGS`]): the
//! test broker's first join takes about half the session timeout.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{KafkaConfig, KafkaLog};

/// Consumer settings for group tests on the test broker.
pub const GROUP_SETTINGS: &[(&str, &str)] = &[("session.timeout.ms", "6000")];

/// The repository root, found from this crate's manifest directory.
fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("scripts/services/kafka.sh").is_file())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// The bootstrap address of the test broker (see the module docs). Panics with the
/// script's output when the broker cannot be started.
pub fn bootstrap() -> String {
    static ADDRESS: OnceLock<String> = OnceLock::new();
    ADDRESS
        .get_or_init(|| broker_address("SLUICE_KAFKA_BOOTSTRAP", "start"))
        .clone()
}

/// The bootstrap address of the test broker that requires SASL authentication
/// (`$SLUICE_KAFKA_AUTH_BOOTSTRAP`, else `scripts/services/kafka.sh start-auth`). It offers
/// SCRAM-SHA-256 and SCRAM-SHA-512 and knows no user, so every login is refused. Panics with
/// the script's output when the broker cannot be started.
pub fn auth_bootstrap() -> String {
    static ADDRESS: OnceLock<String> = OnceLock::new();
    ADDRESS
        .get_or_init(|| broker_address("SLUICE_KAFKA_AUTH_BOOTSTRAP", "start-auth"))
        .clone()
}

/// `$variable` when set, else the address `scripts/services/kafka.sh <command>` prints.
fn broker_address(variable: &str, command: &str) -> String {
    if let Ok(address) = std::env::var(variable) {
        if !address.trim().is_empty() {
            return address.trim().to_string();
        }
    }
    let script = repo_root().join("scripts/services/kafka.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(command)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let address = stdout.lines().last().unwrap_or("").trim().to_string();
    assert!(
        output.status.success() && !address.is_empty(),
        "{} {command} failed: {}{}",
        script.display(),
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    address
}

/// Settings for the test broker.
pub fn config() -> KafkaConfig {
    KafkaConfig::new(bootstrap())
}

/// A [`KafkaLog`] on the test broker. Panics when it cannot connect.
pub async fn connect() -> Arc<KafkaLog> {
    KafkaLog::connect(config(), Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test broker: {e}"))
}

/// A topic (or group) name no other test of any process uses: `prefix-<unique>`.
pub fn unique_topic(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos:x}-{n}", std::process::id())
}

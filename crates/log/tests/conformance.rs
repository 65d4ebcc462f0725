//! The log conformance scenarios (`sluice_log::conformance`) on the embedded log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sluice_log::conformance::{self, Target};
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::Log;

/// A fresh embedded log in a temporary directory.
struct Embedded {
    log: Arc<EmbeddedLog>,
    _dir: tempfile::TempDir,
    counter: AtomicU64,
}

impl Embedded {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(dir.path(), EmbeddedLogOptions::default()).unwrap();
        Embedded {
            log,
            _dir: dir,
            counter: AtomicU64::new(0),
        }
    }
}

impl Target for Embedded {
    fn name(&self) -> &str {
        "embedded"
    }

    fn log(&self) -> Arc<dyn Log> {
        Arc::clone(&self.log) as Arc<dyn Log>
    }

    fn unique(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.counter.fetch_add(1, Ordering::Relaxed))
    }
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                conformance::$name(&Embedded::new()).await;
            }
        )*
    };
}

scenarios!(
    round_trip,
    keyed_records_use_kafka_partitioning,
    admin_manages_topics,
    seek_pause_resume_and_batch_size,
    groups_are_required_for_subscribe_and_commit,
    groups_split_and_hand_over_partitions,
    partitions_move_at_their_committed_offsets,
    pattern_subscription_picks_up_new_topics,
    transaction_calls_need_a_transactional_id,
    transactions_commit_abort_and_fence,
    random_batches_read_back_identical,
);

//! The log conformance scenarios (`sluice_log::conformance`) on the test broker.
//!
//! Known broker gaps are declared on the target; the scenarios print
//! `skipped: broker gap <name>` for each check they cannot make.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_kafka::{testing, KafkaLog};
use sluice_log::conformance::{self, Gap, Target};
use sluice_log::Log;

struct Kafka {
    log: Arc<KafkaLog>,
    /// Extra consumer settings (e.g. another assignment strategy).
    consumer: Vec<(&'static str, &'static str)>,
    /// Whether consumers read the next batch ahead, as sink tasks do.
    read_ahead: bool,
}

impl Target for Kafka {
    fn name(&self) -> &str {
        "kafka"
    }

    fn log(&self) -> Arc<dyn Log> {
        Arc::clone(&self.log) as Arc<dyn Log>
    }

    fn unique(&self, prefix: &str) -> String {
        testing::unique_topic(prefix)
    }

    fn gaps(&self) -> Vec<Gap> {
        vec![
            Gap::ReadCommittedFiltering,
            Gap::LatestOffset,
            Gap::TopicConfigSource,
            Gap::MetadataAutoCreate,
            Gap::OffsetDelete,
        ]
    }

    fn producer_properties(&self) -> BTreeMap<String, String> {
        // A fenced producer's commit times out on this broker instead of failing at once;
        // bound the wait.
        [("max.block.ms".to_string(), "10000".to_string())].into()
    }

    fn read_ahead(&self) -> bool {
        self.read_ahead
    }

    fn consumer_properties(&self) -> BTreeMap<String, String> {
        testing::GROUP_SETTINGS
            .iter()
            .chain(self.consumer.iter())
            // Pattern subscriptions see new topics at the next metadata refresh.
            .chain([("topic.metadata.refresh.interval.ms", "1000")].iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let target = Kafka {
                    log: testing::connect().await,
                    consumer: Vec::new(),
                    read_ahead: false,
                };
                conformance::$name(&target).await;
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

/// The group scenarios again with the cooperative protocol, where partitions move one by
/// one instead of all being revoked on every rebalance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_with_cooperative_sticky_assignment() {
    let target = Kafka {
        log: testing::connect().await,
        consumer: vec![("partition.assignment.strategy", "cooperative-sticky")],
        read_ahead: false,
    };
    conformance::groups_split_and_hand_over_partitions(&target).await;
    conformance::partitions_move_at_their_committed_offsets(&target).await;
    conformance::pattern_subscription_picks_up_new_topics(&target).await;
}

/// The scenarios that move positions, pause and rebalance, with consumers that read the
/// next batch ahead (as sink tasks do): seeks, pauses and revocations asked for while a
/// batch is being read ahead apply as if it had not been.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_ahead_keeps_positions_pauses_and_rebalances() {
    let eager = Kafka {
        log: testing::connect().await,
        consumer: Vec::new(),
        read_ahead: true,
    };
    conformance::round_trip(&eager).await;
    conformance::seek_pause_resume_and_batch_size(&eager).await;
    conformance::groups_split_and_hand_over_partitions(&eager).await;
    conformance::partitions_move_at_their_committed_offsets(&eager).await;
    conformance::random_batches_read_back_identical(&eager).await;
    let cooperative = Kafka {
        log: testing::connect().await,
        consumer: vec![("partition.assignment.strategy", "cooperative-sticky")],
        read_ahead: true,
    };
    conformance::groups_split_and_hand_over_partitions(&cooperative).await;
    conformance::partitions_move_at_their_committed_offsets(&cooperative).await;
}

//! Kafka's default partitioner for keyed records, computed by the producer itself.
//!
//! A keyed record goes to partition `murmur2(key) & 0x7fffffff` modulo the topic's
//! partition count, in Kafka's Java client and in librdkafka's `murmur2_random`
//! partitioner alike ([`sluice_log::embedded::partition_for_key`], which the embedded log
//! uses too). librdkafka runs its partitioner per record under the topic's lock:
//! it reads the clock, looks the partition up, and takes and drops a reference to it. When
//! the producer knows the partition count, it places each keyed record itself and hands
//! librdkafka a run of records grouped by partition, which librdkafka queues with one
//! partition lookup per group. Grouping also keeps each partition's messages next to each
//! other in memory, which librdkafka's threads walk several times per message (building
//! requests, delivery reports): on the Kafka source benchmark this took about a third off
//! the CPU time of librdkafka's threads (docs/PERFORMANCE.md, "Keyed records placed by
//! the producer").
//!
//! The partition count comes from a metadata request made in the background when a topic
//! is first sent to, and again once it is older than librdkafka's
//! `topic.metadata.refresh.interval.ms`, so added partitions are picked up as librdkafka
//! itself would. Until the first answer, records go through librdkafka's partitioner.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The partition count of one topic as last read from the cluster, and when to read it
/// again.
#[derive(Debug)]
pub(crate) struct PartitionCount {
    /// The count; 0 while unknown.
    count: AtomicI32,
    /// When the count is due for a refresh, in milliseconds since [`clock_origin`].
    due_ms: AtomicU64,
    /// Whether a refresh is under way.
    refreshing: AtomicBool,
    /// How long a count is trusted.
    max_age: Duration,
}

/// How long a failed metadata request waits before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(1);

impl PartitionCount {
    /// An unknown count, due for a refresh now; a count read later is trusted for
    /// `max_age`.
    pub(crate) fn unknown(max_age: Duration) -> Self {
        PartitionCount {
            count: AtomicI32::new(0),
            due_ms: AtomicU64::new(0),
            refreshing: AtomicBool::new(false),
            max_age,
        }
    }

    /// The known count, if any.
    pub(crate) fn get(&self) -> Option<i32> {
        let n = self.count.load(Ordering::Relaxed);
        (n > 0).then_some(n)
    }

    /// True when the count is due for a refresh and no refresh is under way; the caller
    /// then owns the refresh and must end it with [`PartitionCount::refreshed`].
    pub(crate) fn claim_refresh(&self) -> bool {
        now_ms() >= self.due_ms.load(Ordering::Relaxed)
            && !self.refreshing.swap(true, Ordering::AcqRel)
    }

    /// Makes the count due for a refresh at the next claim (a record was refused for a
    /// partition the count allowed).
    pub(crate) fn expire(&self) {
        self.due_ms.store(0, Ordering::Relaxed);
    }

    /// Ends a refresh: stores the count read (`None` when the request failed, which keeps
    /// the old count and tries again shortly).
    pub(crate) fn refreshed(&self, count: Option<i32>) {
        let wait = match count {
            Some(n) if n > 0 => {
                self.count.store(n, Ordering::Relaxed);
                self.max_age
            }
            _ => RETRY_AFTER,
        };
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.due_ms
            .store(now_ms().saturating_add(wait_ms), Ordering::Relaxed);
        self.refreshing.store(false, Ordering::Release);
    }
}

/// The instant [`now_ms`] counts from.
fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Milliseconds since [`clock_origin`] (monotonic).
fn now_ms() -> u64 {
    u64::try_from(clock_origin().elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_refreshed_once_due_and_by_one_claimant() {
        let count = PartitionCount::unknown(Duration::from_secs(3600));
        assert_eq!(count.get(), None);
        assert!(count.claim_refresh(), "an unknown count is due");
        assert!(!count.claim_refresh(), "one refresh at a time");
        count.refreshed(Some(3));
        assert_eq!(count.get(), Some(3));
        assert!(!count.claim_refresh(), "a fresh count is not due");
        count.expire();
        assert!(count.claim_refresh(), "an expired count is due");
        // A failed request keeps the count and waits before the next try.
        count.refreshed(None);
        assert_eq!(count.get(), Some(3));
        assert!(!count.claim_refresh());
    }
}

//! Kafka's default partitioner for keyed records, computed by the producer itself.
//!
//! A keyed record goes to partition `murmur2(key) & 0x7fffffff` modulo the topic's
//! partition count, in Kafka's Java client and in librdkafka's `murmur2_random`
//! partitioner alike. librdkafka runs its partitioner per record under the topic's lock:
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

/// Kafka's murmur2 hash of `data` (the 32-bit MurmurHash2 with Kafka's seed), as the Java
/// client's `Utils.murmur2` and librdkafka's `rd_murmur2` compute it.
pub(crate) fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const SEED: u32 = 0x9747_b28c;
    // Kafka hashes the length as a 32-bit int; longer keys are not sent.
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in chunks.by_ref() {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

/// The partition Kafka's default partitioner gives a record with `key` on a topic of
/// `partitions` partitions (at least 1).
pub(crate) fn partition_of_key(key: &[u8], partitions: i32) -> i32 {
    // Masked to 31 bits, so the cast is lossless and the result is non-negative.
    ((murmur2(key) & 0x7fff_ffff) as i32) % partitions
}

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

    /// The Java client's hashes of these keys (librdkafka checks its own against the same
    /// values).
    #[test]
    fn murmur2_matches_kafka() {
        let unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
        let cases: [(&str, u32); 11] = [
            ("kafka", 0xd067_cf64),
            ("giberish123456789", 0x8f55_2b0c),
            ("1234", 0x9fc9_7b14),
            ("234", 0xe7c0_09ca),
            ("34", 0x8739_30da),
            ("4", 0x5a4b_5ca1),
            (unaligned, 0x7842_4f1c),
            (&unaligned[1..], 0x4a62_b377),
            (&unaligned[2..], 0xe0e4_e09e),
            (&unaligned[3..], 0x62b8_b43f),
            ("", 0x106e_08d9),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()), expected, "key {key:?}");
        }
    }

    #[test]
    fn partitions_are_the_positive_hash_modulo_the_count() {
        let positive = (0xd067_cf64_u32 & 0x7fff_ffff) as i32;
        assert_eq!(partition_of_key(b"kafka", 3), positive % 3);
        assert_eq!(partition_of_key(b"kafka", 1), 0);
        for n in 1..50 {
            let p = partition_of_key(format!("key-{n}").as_bytes(), 7);
            assert!((0..7).contains(&p), "{p}");
        }
    }

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

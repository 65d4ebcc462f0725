//! Log conformance scenarios (cargo feature `conformance`), written once against the
//! [`Log`] traits and run on every backend: the embedded log (this crate's
//! `tests/conformance.rs`) and a Kafka cluster (`sluice-kafka`'s `tests/conformance.rs`).
//!
//! Each scenario takes a [`Target`], which makes the log, fresh topic and group names and
//! lists the backend's known [`Gap`]s. Where a gap prevents a check, the scenario checks
//! what it can and prints `skipped: broker gap <name>` instead of passing silently.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::{
    ConsumedRecord, ConsumerConfig, IsolationLevel, Log, LogConsumer, LogError, LogHeader,
    LogProducer, NewTopic, NoopRebalanceListener, OffsetReset, ProduceRecord, ProducerConfig,
    RebalanceListener, SeekTo, Subscription, TimestampType, TopicPartition,
};

/// A known shortcoming of a backend that prevents some checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// `read_committed` consumers still see records of aborted (and open) transactions.
    ReadCommittedFiltering,
    /// The latest offset (ListOffsets) of a partition can be wrong.
    LatestOffset,
    /// Committed-offset deletion of single partitions (OffsetDelete) is not available.
    OffsetDelete,
    /// Described topic settings do not say which were set explicitly.
    TopicConfigSource,
    /// Asking for metadata of a missing topic creates it.
    MetadataAutoCreate,
}

impl Gap {
    /// The gap's name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Gap::ReadCommittedFiltering => "read-committed-filtering",
            Gap::LatestOffset => "latest-offset",
            Gap::OffsetDelete => "offset-delete",
            Gap::TopicConfigSource => "topic-config-source",
            Gap::MetadataAutoCreate => "metadata-auto-create",
        }
    }
}

/// A backend the scenarios run on.
pub trait Target: Send + Sync {
    /// Backend name for messages.
    fn name(&self) -> &str;
    /// The log under test.
    fn log(&self) -> Arc<dyn Log>;
    /// A topic or group name no other scenario uses.
    fn unique(&self, prefix: &str) -> String;
    /// The backend's known gaps.
    fn gaps(&self) -> Vec<Gap> {
        Vec::new()
    }
    /// Extra consumer properties the backend needs in tests (e.g. session timeouts).
    fn consumer_properties(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Extra producer properties the backend needs in tests (e.g. call timeouts).
    fn producer_properties(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Whether the scenarios' consumers read ahead ([`ConsumerConfig::read_ahead`]).
    fn read_ahead(&self) -> bool {
        false
    }
}

/// True (after printing the skip) when `target` has `gap`.
fn gap(target: &dyn Target, gap: Gap, check: &str) -> bool {
    let has = target.gaps().contains(&gap);
    if has {
        eprintln!(
            "[{}] skipped: broker gap {}: {check}",
            target.name(),
            gap.name()
        );
    }
    has
}

/// How long a scenario waits for something that should happen soon.
const PATIENCE: Duration = Duration::from_secs(60);

/// A record for `topic`, optionally on a fixed partition.
pub fn rec(
    topic: &str,
    partition: Option<i32>,
    key: Option<&str>,
    value: Option<&str>,
) -> ProduceRecord {
    ProduceRecord {
        topic: topic.into(),
        partition,
        key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
        value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        headers: Vec::new(),
        timestamp: None,
    }
}

fn header(k: &str, v: Option<&str>) -> LogHeader {
    LogHeader {
        key: k.into(),
        value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
    }
}

fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

fn value_str(r: &ConsumedRecord) -> Option<String> {
    r.value
        .as_ref()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn consumer_config(target: &dyn Target, group: Option<&str>) -> ConsumerConfig {
    ConsumerConfig {
        group_id: group.map(str::to_string),
        max_poll_records: 500,
        properties: target.consumer_properties(),
        read_ahead: target.read_ahead(),
        ..Default::default()
    }
}

async fn assigned(
    target: &dyn Target,
    log: &dyn Log,
    parts: &[TopicPartition],
) -> Box<dyn LogConsumer> {
    let mut c = log.consumer(consumer_config(target, None)).unwrap();
    c.assign(parts).await.unwrap();
    c
}

/// Polls until `n` records arrived (or a long time passed: the caller's assertion then
/// fails).
async fn drain(c: &mut dyn LogConsumer, n: usize) -> Vec<ConsumedRecord> {
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < n && start.elapsed() < PATIENCE {
        out.extend(
            c.poll(Duration::from_millis(200), &mut NoopRebalanceListener)
                .await
                .unwrap(),
        );
    }
    out
}

/// Polls for a while and returns whatever arrived (to check that nothing does).
async fn settle(c: &mut dyn LogConsumer, polls: usize) -> Vec<ConsumedRecord> {
    let mut out = Vec::new();
    for _ in 0..polls {
        out.extend(
            c.poll(Duration::from_millis(300), &mut NoopRebalanceListener)
                .await
                .unwrap(),
        );
    }
    out
}

/// Keys, values, headers (null values too), tombstones, empty values and timestamps
/// survive a round trip; offsets are dense and acknowledged in send order. A consumer that
/// skips headers gets the same records without them.
pub async fn round_trip(target: &dyn Target) {
    let log = target.log();
    let t = target.unique("rt");
    log.admin()
        .create_topic(NewTopic::new(&t, 1))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let mut a = rec(&t, Some(0), Some("k1"), Some("v1"));
    a.headers = vec![header("h1", Some("x")), header("null", None)];
    a.timestamp = Some(1_234);
    let b = rec(&t, Some(0), None, Some(""));
    let c = rec(&t, Some(0), Some("k1"), None);
    let meta = producer.send(vec![a, b, c]).await.unwrap();
    assert_eq!(
        meta.iter().map(|m| m.offset).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(meta[0].timestamp, 1_234);
    assert!(meta[1].timestamp > 1_600_000_000_000);
    let meta2 = producer
        .send(vec![rec(&t, Some(0), Some("k2"), Some("v2"))])
        .await
        .unwrap();
    assert_eq!(meta2[0].offset, 3);

    let mut consumer = assigned(target, log.as_ref(), &[tp(&t, 0)]).await;
    let got = drain(consumer.as_mut(), 4).await;
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].offset, 0);
    assert_eq!(got[0].key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(value_str(&got[0]).as_deref(), Some("v1"));
    assert_eq!(
        got[0].headers,
        vec![header("h1", Some("x")), header("null", None)]
    );
    assert_eq!(got[0].timestamp, 1_234);
    assert_eq!(got[0].timestamp_type, TimestampType::CreateTime);
    assert_eq!(got[1].key, None);
    assert_eq!(value_str(&got[1]).as_deref(), Some(""));
    assert_eq!(got[1].timestamp, meta[1].timestamp);
    assert_eq!(got[2].value, None, "tombstone");
    assert_eq!(got[3].offset, 3);
    assert_eq!(consumer.position(&tp(&t, 0)), Some(4));

    // A consumer that skips headers gets the same records without them.
    let mut skipping = log
        .consumer(ConsumerConfig {
            skip_headers: true,
            ..consumer_config(target, None)
        })
        .unwrap();
    skipping.assign(&[tp(&t, 0)]).await.unwrap();
    let bare = drain(skipping.as_mut(), 4).await;
    assert_eq!(bare.len(), 4);
    assert!(bare.iter().all(|r| r.headers.is_empty()), "{bare:?}");
    for (b, g) in bare.iter().zip(&got) {
        assert_eq!((b.offset, &b.key, &b.value), (g.offset, &g.key, &g.value));
    }
}

/// Keyed records land on Kafka's murmur2 partition of their key.
pub async fn keyed_records_use_kafka_partitioning(target: &dyn Target) {
    let log = target.log();
    let t = target.unique("keys");
    log.admin()
        .create_topic(NewTopic::new(&t, 4))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let keys: Vec<String> = (0..50).map(|i| format!("key-{i}")).collect();
    let meta = producer
        .send(
            keys.iter()
                .map(|k| rec(&t, None, Some(k), Some("v")))
                .collect(),
        )
        .await
        .unwrap();
    for (k, m) in keys.iter().zip(&meta) {
        assert_eq!(
            m.partition,
            crate::embedded::partition_for_key(k.as_bytes(), 4),
            "key {k}"
        );
    }
}

/// Topics are created (with settings), refused twice, described, listed and deleted.
pub async fn admin_manages_topics(target: &dyn Target) {
    let log = target.log();
    let admin = log.admin();
    let cfg = target.unique("cfg");
    admin
        .create_topic(
            NewTopic::new(&cfg, 2)
                .config("cleanup.policy", "compact")
                .config("retention.ms", "100000"),
        )
        .await
        .unwrap();
    assert!(matches!(
        admin.create_topic(NewTopic::new(&cfg, 1)).await,
        Err(LogError::TopicExists { .. })
    ));
    let d = admin.describe_topic(&cfg).await.unwrap();
    assert_eq!(d.name, cfg);
    assert_eq!(d.partitions.len(), 2);
    if !gap(
        target,
        Gap::TopicConfigSource,
        "describe_topic returns the explicitly set settings",
    ) {
        assert_eq!(
            d.configs.get("cleanup.policy").map(String::as_str),
            Some("compact")
        );
    }
    assert_eq!(
        (
            d.partitions[1].earliest_offset,
            d.partitions[1].latest_offset
        ),
        (0, 0)
    );
    let other = target.unique("other");
    admin.create_topic(NewTopic::new(&other, 1)).await.unwrap();
    let listed = admin.list_topics().await.unwrap();
    assert!(
        listed.contains(&cfg) && listed.contains(&other),
        "{listed:?}"
    );
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "sorted");
    assert!(
        listed.iter().all(|t| !t.starts_with("__")),
        "no internal topics: {listed:?}"
    );
    admin.delete_topic(&cfg).await.unwrap();
    let start = Instant::now();
    while admin.list_topics().await.unwrap().contains(&cfg) && start.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!admin.list_topics().await.unwrap().contains(&cfg));
    if !gap(
        target,
        Gap::MetadataAutoCreate,
        "describe_topic of a deleted topic fails",
    ) {
        assert!(matches!(
            admin.describe_topic(&cfg).await,
            Err(LogError::UnknownTopic { .. })
        ));
    }
    let producer = log.producer(ProducerConfig::default()).unwrap();
    producer
        .send(
            (0..3)
                .map(|i| rec(&other, Some(0), None, Some(&i.to_string())))
                .collect(),
        )
        .await
        .unwrap();
    let d = admin.describe_topic(&other).await.unwrap();
    if !gap(
        target,
        Gap::LatestOffset,
        "describe_topic latest offset after 3 records",
    ) {
        assert_eq!(d.partitions[0].latest_offset, 3);
    }
    assert_eq!(d.partitions[0].earliest_offset, 0);
}

/// Seek, pause/resume, reset policy and `max_poll_records`.
pub async fn seek_pause_resume_and_batch_size(target: &dyn Target) {
    let log = target.log();
    let t = target.unique("seek");
    log.admin()
        .create_topic(NewTopic::new(&t, 2))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    producer
        .send(
            (0..10)
                .map(|i| rec(&t, Some(i % 2), None, Some(&i.to_string())))
                .collect(),
        )
        .await
        .unwrap();
    let mut latest = log
        .consumer(ConsumerConfig {
            auto_offset_reset: OffsetReset::Latest,
            ..consumer_config(target, None)
        })
        .unwrap();
    latest.assign(&[tp(&t, 0)]).await.unwrap();
    if !gap(
        target,
        Gap::LatestOffset,
        "position after assign with auto.offset.reset=latest",
    ) {
        assert_eq!(latest.position(&tp(&t, 0)), Some(5));
    }

    let mut c = assigned(target, log.as_ref(), &[tp(&t, 0), tp(&t, 1)]).await;
    c.pause(&[tp(&t, 1)]);
    let got = drain(c.as_mut(), 5).await;
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|r| r.partition == 0));
    c.resume(&[tp(&t, 1)]);
    let got = drain(c.as_mut(), 5).await;
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|r| r.partition == 1));
    c.seek(&tp(&t, 0), SeekTo::Offset(3)).unwrap();
    let got = drain(c.as_mut(), 2).await;
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![3, 4]);
    c.seek(&tp(&t, 0), SeekTo::Beginning).unwrap();
    assert_eq!(c.position(&tp(&t, 0)), Some(0));
    assert_eq!(drain(c.as_mut(), 5).await.len(), 5);
    c.seek(&tp(&t, 0), SeekTo::End).unwrap();
    if !gap(target, Gap::LatestOffset, "position after seek to end") {
        assert_eq!(c.position(&tp(&t, 0)), Some(5));
    }
    assert!(matches!(
        c.seek(&tp("not-assigned", 0), SeekTo::End),
        Err(LogError::NotAssigned { .. })
    ));

    let m = target.unique("batch");
    log.admin()
        .create_topic(NewTopic::new(&m, 1))
        .await
        .unwrap();
    producer
        .send(
            (0..25)
                .map(|i| rec(&m, Some(0), None, Some(&i.to_string())))
                .collect(),
        )
        .await
        .unwrap();
    let mut small = log
        .consumer(ConsumerConfig {
            max_poll_records: 10,
            ..consumer_config(target, None)
        })
        .unwrap();
    small.assign(&[tp(&m, 0)]).await.unwrap();
    let mut total = 0;
    let start = Instant::now();
    while total < 25 && start.elapsed() < PATIENCE {
        let n = small
            .poll(Duration::from_millis(200), &mut NoopRebalanceListener)
            .await
            .unwrap()
            .len();
        assert!(n <= 10, "a poll returned {n} records");
        total += n;
    }
    assert_eq!(total, 25);
    let p2 = Arc::clone(&producer);
    let m2 = m.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        p2.send(vec![rec(&m2, Some(0), None, Some("late"))])
            .await
            .unwrap();
    });
    let got = drain(small.as_mut(), 1).await;
    writer.await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(value_str(&got[0]).as_deref(), Some("late"));
}

/// Records rebalance callbacks; returns `commit_on_revoke` offsets for revoked partitions.
#[derive(Clone, Default)]
struct Recorder {
    owned: Arc<Mutex<Vec<TopicPartition>>>,
    assigned_events: Arc<Mutex<usize>>,
    commit_on_revoke: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
}

#[async_trait]
impl RebalanceListener for Recorder {
    async fn on_partitions_revoked(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Vec<(TopicPartition, i64)> {
        self.owned
            .lock()
            .unwrap()
            .retain(|p| !partitions.contains(p));
        let commits = self.commit_on_revoke.lock().unwrap();
        partitions
            .iter()
            .filter_map(|tp| commits.get(tp).map(|o| (tp.clone(), *o)))
            .collect()
    }

    async fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        let mut owned = self.owned.lock().unwrap();
        owned.extend(partitions.iter().cloned());
        owned.sort();
        owned.dedup();
        *self.assigned_events.lock().unwrap() += 1;
    }
}

/// Two members of a group split the partitions; partitions handed over start from the
/// offsets the previous owner's listener returned on revocation; a leaving member's
/// partitions move to the other; group offsets are administered from outside once the
/// group is empty.
pub async fn groups_split_and_hand_over_partitions(target: &dyn Target) {
    let log = target.log();
    let t = target.unique("grp");
    let group = target.unique("group");
    log.admin()
        .create_topic(NewTopic::new(&t, 4))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    producer
        .send(
            (0..40)
                .map(|i| rec(&t, Some(i % 4), None, Some(&format!("{}-{}", i % 4, i / 4))))
                .collect(),
        )
        .await
        .unwrap();
    let all: Vec<TopicPartition> = (0..4).map(|p| tp(&t, p)).collect();

    let mut c1 = log.consumer(consumer_config(target, Some(&group))).unwrap();
    let mut l1 = Recorder::default();
    c1.subscribe(Subscription::Topics(vec![t.clone()]))
        .await
        .unwrap();
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < 40 && start.elapsed() < PATIENCE {
        got.extend(c1.poll(Duration::from_millis(200), &mut l1).await.unwrap());
    }
    assert_eq!(got.len(), 40);
    assert_eq!(*l1.owned.lock().unwrap(), all);
    assert_eq!(c1.assignment(), all);
    // Every partition's offsets as the first owner would commit them.
    for p in 0..4 {
        l1.commit_on_revoke
            .lock()
            .unwrap()
            .insert(tp(&t, p), 2 + i64::from(p));
    }

    // A second member joins: after the rebalance the two own disjoint halves.
    let mut c2 = log.consumer(consumer_config(target, Some(&group))).unwrap();
    let mut l2 = Recorder::default();
    c2.subscribe(Subscription::Topics(vec![t.clone()]))
        .await
        .unwrap();
    let mut got2 = Vec::new();
    let start = Instant::now();
    loop {
        c1.poll(Duration::from_millis(100), &mut l1).await.unwrap();
        got2.extend(c2.poll(Duration::from_millis(100), &mut l2).await.unwrap());
        let (a, b) = (
            l1.owned.lock().unwrap().clone(),
            l2.owned.lock().unwrap().clone(),
        );
        if !a.is_empty() && !b.is_empty() && a.len() + b.len() == 4 {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the group did not settle: {a:?} / {b:?}"
        );
    }
    let moved = l2.owned.lock().unwrap().clone();
    assert!(moved.iter().all(|p| !l1.owned.lock().unwrap().contains(p)));
    assert_eq!(c2.assignment(), moved);
    // The new owner starts where the old owner's listener said: 10 - (2 + p) records each.
    let expected: usize = moved.iter().map(|p| 10 - (2 + p.partition as usize)).sum();
    let start = Instant::now();
    while got2.len() < expected && start.elapsed() < PATIENCE {
        got2.extend(c2.poll(Duration::from_millis(200), &mut l2).await.unwrap());
    }
    assert_eq!(
        got2.len(),
        expected,
        "records after the committed offsets of {moved:?}"
    );
    assert!(got2.iter().all(|r| r.offset >= 2 + i64::from(r.partition)));

    // Group offsets cannot be changed from outside while members are active.
    let admin = log.admin();
    assert!(matches!(
        admin.alter_group_offsets(&group, &[(tp(&t, 0), 1)]).await,
        Err(LogError::GroupNotEmpty { .. })
    ));
    assert!(matches!(
        admin.delete_group(&group).await,
        Err(LogError::GroupNotEmpty { .. })
    ));

    // The first member leaves; the second one gets everything.
    c1.close(&mut l1).await.unwrap();
    let start = Instant::now();
    while l2.owned.lock().unwrap().len() < 4 {
        c2.poll(Duration::from_millis(200), &mut l2).await.unwrap();
        assert!(
            start.elapsed() < PATIENCE,
            "the leaving member's partitions did not move"
        );
    }
    assert_eq!(c2.assignment(), all);
    for p in 0..4 {
        l2.commit_on_revoke.lock().unwrap().insert(tp(&t, p), 10);
    }
    c2.close(&mut l2).await.unwrap();
    let committed = admin.group_offsets(&group).await.unwrap();
    assert_eq!(
        committed,
        all.iter().map(|p| (p.clone(), 10)).collect::<Vec<_>>()
    );
    assert!(admin.list_groups().await.unwrap().contains(&group));

    admin
        .alter_group_offsets(&group, &[(tp(&t, 0), 1)])
        .await
        .unwrap();
    if !gap(target, Gap::OffsetDelete, "delete_group_offsets") {
        admin
            .delete_group_offsets(&group, &[tp(&t, 3)])
            .await
            .unwrap();
        let committed = admin.group_offsets(&group).await.unwrap();
        assert_eq!(
            committed,
            vec![(tp(&t, 0), 1), (tp(&t, 1), 10), (tp(&t, 2), 10)]
        );
    }
    let mut fresh = log.consumer(consumer_config(target, Some(&group))).unwrap();
    let committed = fresh.committed(&[tp(&t, 0), tp(&t, 1)]).await.unwrap();
    assert_eq!(committed, vec![(tp(&t, 0), Some(1)), (tp(&t, 1), Some(10))]);
    fresh.close(&mut NoopRebalanceListener).await.unwrap();
    admin.delete_group(&group).await.unwrap();
    assert!(matches!(
        admin.group_offsets(&group).await,
        Err(LogError::UnknownGroup { .. })
    ));
    assert!(!admin.list_groups().await.unwrap().contains(&group));
    admin
        .delete_group(&target.unique("never-existed"))
        .await
        .unwrap();
}

/// Offsets a group shares: what each revocation committed.
type CommittedOffsets = Arc<Mutex<BTreeMap<TopicPartition, i64>>>;

/// A group member that checks every batch it gets: each record belongs to a partition it
/// owns, follows the one before it in its partition, and the first record after an
/// assignment is the one at the offset committed for that partition (0 if none was).
struct Member {
    consumer: Box<dyn LogConsumer>,
    listener: Handover,
    /// Offset after the last record handed out, per partition.
    next: BTreeMap<TopicPartition, i64>,
}

/// A rebalance listener that commits, on revocation, the offset after the last record its
/// member was handed out, and notes where each newly assigned partition must start.
#[derive(Clone, Default)]
struct Handover {
    owned: Arc<Mutex<Vec<TopicPartition>>>,
    handed_out: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
    committed: CommittedOffsets,
    /// Partitions assigned whose first record has not come yet, with its offset.
    starts: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
    assignments: Arc<Mutex<usize>>,
}

#[async_trait]
impl RebalanceListener for Handover {
    async fn on_partitions_revoked(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Vec<(TopicPartition, i64)> {
        self.owned
            .lock()
            .unwrap()
            .retain(|p| !partitions.contains(p));
        let handed_out = self.handed_out.lock().unwrap();
        let offsets: Vec<(TopicPartition, i64)> = partitions
            .iter()
            .filter_map(|tp| handed_out.get(tp).map(|o| (tp.clone(), *o)))
            .collect();
        self.committed
            .lock()
            .unwrap()
            .extend(offsets.iter().cloned());
        offsets
    }

    async fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        let committed = self.committed.lock().unwrap();
        let mut starts = self.starts.lock().unwrap();
        for tp in partitions {
            starts.insert(tp.clone(), committed.get(tp).copied().unwrap_or(0));
        }
        let mut owned = self.owned.lock().unwrap();
        owned.extend(partitions.iter().cloned());
        owned.sort();
        owned.dedup();
        *self.assignments.lock().unwrap() += 1;
    }
}

impl Member {
    async fn join(
        target: &dyn Target,
        group: &str,
        topic: &str,
        committed: &CommittedOffsets,
    ) -> Self {
        let mut config = consumer_config(target, Some(group));
        config.max_poll_records = 100;
        let mut consumer = target.log().consumer(config).unwrap();
        consumer
            .subscribe(Subscription::Topics(vec![topic.to_string()]))
            .await
            .unwrap();
        Member {
            consumer,
            listener: Handover {
                committed: Arc::clone(committed),
                ..Default::default()
            },
            next: BTreeMap::new(),
        }
    }

    /// Polls once and checks the batch.
    async fn poll(&mut self, name: &str) {
        let batch = self
            .consumer
            .poll(Duration::from_millis(100), &mut self.listener)
            .await
            .unwrap();
        let owned = self.listener.owned.lock().unwrap().clone();
        let mut starts = self.listener.starts.lock().unwrap();
        for r in &batch {
            let tp = TopicPartition::new(Arc::clone(&r.topic), r.partition);
            assert!(
                owned.contains(&tp),
                "{name} got offset {} of {tp}, which it does not own ({owned:?})",
                r.offset
            );
            let expected = match starts.remove(&tp) {
                Some(start) => start,
                None => self.next.get(&tp).copied().unwrap_or(0),
            };
            assert_eq!(r.offset, expected, "{name}: next record of {tp}");
            self.next.insert(tp, r.offset + 1);
        }
        *self.listener.handed_out.lock().unwrap() = self.next.clone();
    }

    fn owned(&self) -> Vec<TopicPartition> {
        self.listener.owned.lock().unwrap().clone()
    }

    /// Whether every owned partition was read to `end` (or handed over at `end`).
    fn caught_up(&self, end: i64) -> bool {
        let owned = self.owned();
        let committed = self.listener.committed.lock().unwrap();
        !owned.is_empty()
            && owned.iter().all(|tp| {
                let position = self.next.get(tp).or_else(|| committed.get(tp));
                position == Some(&end)
            })
    }
}

/// Partitions move between members while records wait to be read: no member is handed a
/// record of a partition after it was revoked, and each partition's new owner (the same
/// member included) starts exactly at the offset committed on revocation, so nothing is
/// skipped and nothing read twice.
pub async fn partitions_move_at_their_committed_offsets(target: &dyn Target) {
    const PER_PARTITION: i64 = 5_000;
    let log = target.log();
    let t = target.unique("handover");
    let group = target.unique("handover-group");
    log.admin()
        .create_topic(NewTopic::new(&t, 4))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    for chunk in 0..(PER_PARTITION / 500) {
        producer
            .send(
                (0..4 * 500)
                    .map(|i| rec(&t, Some(i % 4), None, Some(&format!("{chunk}-{i}"))))
                    .collect(),
            )
            .await
            .unwrap();
    }
    let committed = CommittedOffsets::default();
    let mut first = Member::join(target, &group, &t, &committed).await;
    let start = Instant::now();
    while first.next.values().sum::<i64>() < 400 {
        first.poll("the first member").await;
        assert!(start.elapsed() < PATIENCE, "the first member read nothing");
    }

    // A second member joins while the first one reads slowly, so records wait in every
    // partition when the rebalance comes.
    let mut second = Member::join(target, &group, &t, &committed).await;
    let give_up = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let polling = {
        let give_up = Arc::clone(&give_up);
        tokio::spawn(async move {
            while !second.caught_up(PER_PARTITION)
                && !give_up.load(std::sync::atomic::Ordering::Acquire)
            {
                second.poll("the second member").await;
            }
            second
        })
    };
    let start = Instant::now();
    loop {
        first.poll("the first member").await;
        let owned = first.owned().len();
        let shared = (1..4).contains(&owned);
        if shared && first.caught_up(PER_PARTITION) && polling.is_finished() {
            break;
        }
        if start.elapsed() > PATIENCE {
            give_up.store(true, std::sync::atomic::Ordering::Release);
            break;
        }
        if !shared {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut second = polling.await.unwrap();
    for (name, member) in [("first", &first), ("second", &second)] {
        assert!(
            member.caught_up(PER_PARTITION),
            "the {name} member read {:?} and owns {:?}",
            member.next,
            member.owned()
        );
    }
    let mut all = first.owned();
    all.extend(second.owned());
    all.sort();
    assert_eq!(all, (0..4).map(|p| tp(&t, p)).collect::<Vec<_>>());
    first.consumer.close(&mut first.listener).await.unwrap();
    second.consumer.close(&mut second.listener).await.unwrap();
}

/// A pattern subscription follows every matching topic, including topics created later,
/// and no other.
pub async fn pattern_subscription_picks_up_new_topics(target: &dyn Target) {
    let log = target.log();
    let admin = log.admin();
    let prefix = target.unique("pat");
    let a = format!("{prefix}-a");
    let b = format!("{prefix}-b");
    let other = target.unique("unmatched");
    admin.create_topic(NewTopic::new(&a, 1)).await.unwrap();
    admin.create_topic(NewTopic::new(&other, 1)).await.unwrap();
    let group = target.unique("pattern-group");
    let mut c = log.consumer(consumer_config(target, Some(&group))).unwrap();
    let mut l = Recorder::default();
    c.subscribe(Subscription::Pattern(format!("{prefix}-.*")))
        .await
        .unwrap();
    let start = Instant::now();
    while !l.owned.lock().unwrap().contains(&tp(&a, 0)) {
        c.poll(Duration::from_millis(200), &mut l).await.unwrap();
        assert!(
            start.elapsed() < PATIENCE,
            "the matching topic was not assigned"
        );
    }
    admin.create_topic(NewTopic::new(&b, 1)).await.unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    producer
        .send(vec![
            rec(&b, Some(0), None, Some("x")),
            rec(&other, Some(0), None, Some("not for this consumer")),
        ])
        .await
        .unwrap();
    let mut got = Vec::new();
    let start = Instant::now();
    while got.is_empty() {
        got.extend(c.poll(Duration::from_millis(200), &mut l).await.unwrap());
        assert!(
            start.elapsed() < PATIENCE,
            "the new topic's record did not arrive"
        );
    }
    assert_eq!(got.len(), 1);
    assert_eq!(&*got[0].topic, b.as_str());
    let owned = l.owned.lock().unwrap().clone();
    assert_eq!(owned, vec![tp(&a, 0), tp(&b, 0)]);
    c.close(&mut l).await.unwrap();
}

/// Subscribing needs a group; so does committing.
pub async fn groups_are_required_for_subscribe_and_commit(target: &dyn Target) {
    let log = target.log();
    let mut c = log.consumer(consumer_config(target, None)).unwrap();
    match c.subscribe(Subscription::Topics(vec!["t".into()])).await {
        Err(LogError::InvalidConfig { key, .. }) => assert_eq!(key, "group.id"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    match c.commit(&[(tp("t", 0), 1)]).await {
        Err(LogError::InvalidConfig { key, .. }) => assert_eq!(key, "group.id"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    if !gap(
        target,
        Gap::MetadataAutoCreate,
        "assigning a missing topic fails",
    ) {
        assert!(matches!(
            c.assign(&[tp(&target.unique("missing"), 0)]).await,
            Err(LogError::UnknownTopic { .. })
        ));
    }
}

fn txn_producer(target: &dyn Target, log: &dyn Log, id: &str) -> Arc<dyn LogProducer> {
    log.producer(ProducerConfig {
        transactional_id: Some(id.into()),
        properties: target.producer_properties(),
        ..Default::default()
    })
    .unwrap()
}

/// A committed transaction makes its records and consumer offsets visible; an aborted
/// one discards both; a newer producer with the same id fences the older one.
pub async fn transactions_commit_abort_and_fence(target: &dyn Target) {
    let log = target.log();
    let out = target.unique("txn");
    let group = target.unique("txn-group");
    let source = target.unique("txn-in");
    log.admin()
        .create_topic(NewTopic::new(&out, 2))
        .await
        .unwrap();
    log.admin()
        .create_topic(NewTopic::new(&source, 1))
        .await
        .unwrap();
    let id = target.unique("tx");
    let p = txn_producer(target, log.as_ref(), &id);
    p.init_transactions().await.unwrap();
    p.begin_transaction().await.unwrap();
    let f1 = p.send(vec![
        rec(&out, Some(0), Some("a"), Some("1")),
        rec(&out, Some(1), Some("b"), Some("2")),
    ]);
    let f2 = p.send(vec![rec(&out, Some(0), Some("c"), Some("3"))]);
    p.send_offsets_to_transaction(&[(tp(&source, 0), 10)], &group)
        .await
        .unwrap();
    p.commit_transaction().await.unwrap();
    let m1 = f1.await.unwrap();
    let m2 = f2.await.unwrap();
    assert_eq!((m1[0].partition, m1[0].offset), (0, 0));
    assert_eq!((m1[1].partition, m1[1].offset), (1, 0));
    assert_eq!((m2[0].partition, m2[0].offset), (0, 1));
    let mut c = log
        .consumer(ConsumerConfig {
            isolation_level: IsolationLevel::ReadCommitted,
            ..consumer_config(target, None)
        })
        .unwrap();
    c.assign(&[tp(&out, 0), tp(&out, 1)]).await.unwrap();
    let got = drain(c.as_mut(), 3).await;
    let mut values: Vec<String> = got.iter().filter_map(value_str).collect();
    values.sort();
    assert_eq!(values, vec!["1", "2", "3"]);
    assert_eq!(
        log.admin().group_offsets(&group).await.unwrap(),
        vec![(tp(&source, 0), 10)]
    );

    // Abort: records and offsets are discarded.
    p.begin_transaction().await.unwrap();
    let f = p.send(vec![rec(&out, Some(0), None, Some("gone"))]);
    p.send_offsets_to_transaction(&[(tp(&source, 0), 20)], &group)
        .await
        .unwrap();
    p.abort_transaction().await.unwrap();
    // Whether records of an aborted transaction are acknowledged differs by backend
    // (Kafka acknowledges what reached the broker before the abort); only wait for it.
    let _ = f.await;
    assert_eq!(
        log.admin().group_offsets(&group).await.unwrap(),
        vec![(tp(&source, 0), 10)]
    );
    if !gap(
        target,
        Gap::ReadCommittedFiltering,
        "read_committed consumer skips aborted records",
    ) {
        assert!(settle(c.as_mut(), 3).await.is_empty());
    }

    // Fencing: a newer producer with the same id fences the older one.
    p.begin_transaction().await.unwrap();
    let _pending = p.send(vec![rec(&out, Some(1), None, Some("zombie"))]);
    let newer = txn_producer(target, log.as_ref(), &id);
    newer.init_transactions().await.unwrap();
    newer.begin_transaction().await.unwrap();
    let f = newer.send(vec![rec(&out, Some(1), None, Some("4"))]);
    newer.commit_transaction().await.unwrap();
    f.await.unwrap();
    // The older producer cannot commit any more (Kafka may report the fencing only as
    // a failed or timed-out commit).
    match p.commit_transaction().await {
        Ok(()) => panic!("the fenced producer committed"),
        Err(LogError::Fenced { .. }) => {}
        Err(other) => eprintln!(
            "[{}] the fenced producer's commit failed with: {other}",
            target.name()
        ),
    }
    // Where aborted records are not hidden, "gone" and the zombie's record may come first.
    // Such a broker may also keep the fenced transaction open for a while and hold
    // read_committed readers back behind it: the record is then read uncommitted.
    let mut reader = c;
    if gap(
        target,
        Gap::ReadCommittedFiltering,
        "the newer producer's record read with read_committed past the fenced transaction",
    ) {
        reader = log.consumer(consumer_config(target, None)).unwrap();
        reader.assign(&[tp(&out, 1)]).await.unwrap();
    }
    let start = Instant::now();
    let mut values: Vec<String> = Vec::new();
    while !values.iter().any(|v| v == "4") && start.elapsed() < PATIENCE {
        let got = drain(reader.as_mut(), 1).await;
        values.extend(got.iter().filter_map(value_str));
    }
    assert!(values.contains(&"4".to_string()), "{values:?}");
}

/// Transaction calls on a producer without a transactional id fail clearly.
pub async fn transaction_calls_need_a_transactional_id(target: &dyn Target) {
    let log = target.log();
    let plain = log.producer(ProducerConfig::default()).unwrap();
    assert!(matches!(
        plain.begin_transaction().await,
        Err(LogError::Transaction(_))
    ));
}

/// Random batches (random keys, values, headers, timestamps, partitions) read back
/// identical and in order per partition.
pub async fn random_batches_read_back_identical(target: &dyn Target) {
    let log = target.log();
    for seed in [1u64, 2, 3] {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let t = target.unique("prop");
        let partitions = 1 + (rng.next() % 3) as i32;
        log.admin()
            .create_topic(NewTopic::new(&t, partitions))
            .await
            .unwrap();
        let producer = log.producer(ProducerConfig::default()).unwrap();
        let mut written: Vec<Vec<(ProduceRecord, i64)>> = vec![Vec::new(); partitions as usize];
        for _ in 0..5 {
            let n = 1 + rng.next() % 60;
            let batch: Vec<ProduceRecord> = (0..n).map(|_| rng.record(&t, partitions)).collect();
            let meta = producer.send(batch.clone()).await.unwrap();
            for (r, m) in batch.into_iter().zip(meta) {
                let p = m.partition as usize;
                assert_eq!(m.offset, written[p].len() as i64);
                written[p].push((r, m.timestamp));
            }
        }
        let total: usize = written.iter().map(Vec::len).sum();
        let tps: Vec<TopicPartition> = (0..partitions).map(|p| tp(&t, p)).collect();
        let mut c = assigned(target, log.as_ref(), &tps).await;
        let got = drain(c.as_mut(), total).await;
        assert_eq!(got.len(), total);
        let mut next = vec![0usize; written.len()];
        for r in &got {
            let p = r.partition as usize;
            assert_eq!(r.offset, next[p] as i64, "in order per partition");
            let (orig, ts) = &written[p][next[p]];
            assert!(
                r.key == orig.key
                    && r.value == orig.value
                    && r.headers == orig.headers
                    && r.timestamp == *ts,
                "record {} of partition {p} differs (seed {seed})",
                r.offset
            );
            next[p] += 1;
        }
    }
}

/// A small deterministic generator (xorshift64) for the property scenario.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn bytes(&mut self, max: u64) -> Option<Bytes> {
        if self.next().is_multiple_of(10) {
            return None;
        }
        let len = self.next() % (max + 1);
        Some(Bytes::from(
            (0..len).map(|_| self.next() as u8).collect::<Vec<u8>>(),
        ))
    }

    fn record(&mut self, topic: &str, partitions: i32) -> ProduceRecord {
        let headers = (0..self.next() % 3)
            .map(|i| LogHeader {
                key: format!("h{i}-{}", self.next() % 1000),
                value: self.bytes(20),
            })
            .collect();
        let max_value = if self.next().is_multiple_of(20) {
            5000
        } else {
            300
        };
        ProduceRecord {
            topic: topic.into(),
            partition: Some((self.next() % partitions as u64) as i32),
            key: self.bytes(40),
            value: self.bytes(max_value),
            headers,
            timestamp: if !self.next().is_multiple_of(5) {
                Some((self.next() % 2_000_000_000_000) as i64)
            } else {
                None
            },
        }
    }
}

/// Runs every scenario on `target`, in order.
pub async fn run_all(target: &dyn Target) {
    round_trip(target).await;
    keyed_records_use_kafka_partitioning(target).await;
    admin_manages_topics(target).await;
    seek_pause_resume_and_batch_size(target).await;
    groups_are_required_for_subscribe_and_commit(target).await;
    groups_split_and_hand_over_partitions(target).await;
    partitions_move_at_their_committed_offsets(target).await;
    pattern_subscription_picks_up_new_topics(target).await;
    transaction_calls_need_a_transactional_id(target).await;
    transactions_commit_abort_and_fence(target).await;
    random_batches_read_back_identical(target).await;
}

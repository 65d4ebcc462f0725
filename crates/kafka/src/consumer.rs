//! The consumer: a librdkafka consumer polled on a blocking thread.
//!
//! librdkafka runs group rebalance callbacks on the thread that polls. `poll` therefore
//! polls on a blocking thread while the async side waits for either the batch or a
//! rebalance event: the callback forwards "revoked" and "assigned" over a channel and
//! waits for the async side to run the [`RebalanceListener`]; for a revocation it then
//! commits the offsets the listener returned before the partitions are released. A poll
//! whose future is dropped is not lost: the next call picks up its batch.
//!
//! Offsets are only committed explicitly (`enable.auto.commit=false`,
//! `enable.auto.offset.store=false`); `max_poll_records` bounds each batch.
//!
//! The partitions a consumer is assigned are split off librdkafka's consumer queue before
//! they are assigned, and their records are read in batches (`native::fetch`: one call per
//! thousand records instead of one per record); the consumer queue keeps group events and
//! errors, served by rdkafka's `poll` in the same loop.
//!
//! A poll copies each record's bytes once, out of librdkafka's buffers into an allocation
//! of their own per key and value (see [`Copier`]); a consumer that can only receive one
//! topic gives every record of a batch one shared name (a copy per batch, so the poll thread
//! and the caller, busy with the batch before, never update the same reference count)
//! instead of reading (and UTF-8 checking) librdkafka's name for each message. librdkafka
//! prefetches in the background; `fetch.queue.backoff.ms` defaults to 10 ms here
//! (librdkafka: 1 s) so a full prefetch queue does not leave a busy task waiting up to a
//! second for the next fetch.
//!
//! Records a poll collected before a revocation are dropped from its batch when the
//! revocation comes: the listener has already been told the partitions are gone, and the
//! next owner reads them again from the offsets committed on revocation.
//!
//! With [`ConsumerConfig::read_ahead`], `poll` starts the next poll job as soon as it hands
//! out a non-empty batch, so copying the next batch out of librdkafka overlaps with the
//! caller's work on this one. The batch being read ahead is not the caller's yet: a seek,
//! pause or resume asked for meanwhile is applied when that batch arrives (its records of
//! those partitions are dropped, and the partitions move to the target of the seek or back
//! to the first dropped record), `assign` waits for it and rewinds the partitions it keeps,
//! and `position` answers from the records handed out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, Timestamp, TopicPartitionList};
use sluice_log::{
    ConsumedRecord, ConsumerConfig, IsolationLevel, LogConsumer, LogError, LogHeader, LogResult,
    OffsetReset, RebalanceListener, SeekTo, Subscription, TimestampType, TopicPartition,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::admin::{offset_list, offsets_of, partition_offsets, REQUEST_TIMEOUT};
use crate::context::LogContext;
use crate::error::map_error;
use crate::native::{FetchQueue, FetchedMessage};
use crate::KafkaConfig;

/// A group change forwarded from librdkafka's polling thread to the async `poll`.
enum Event {
    /// Partitions are being revoked; the reply carries the offsets to commit first.
    Revoked(
        Vec<TopicPartition>,
        oneshot::Sender<Vec<(TopicPartition, i64)>>,
    ),
    /// Partitions were assigned; the reply says the listener has run.
    Assigned(Vec<TopicPartition>, oneshot::Sender<()>),
}

/// The consumer's librdkafka context: logs, and forwards rebalances.
pub(crate) struct RebalanceContext {
    inner: LogContext,
    events: Mutex<Option<mpsc::UnboundedSender<Event>>>,
    /// Counts revocations, so a poll job sees that one happened during a librdkafka poll.
    revocations: AtomicU64,
    /// The partitions of the latest revocation.
    last_revoked: Mutex<Vec<TopicPartition>>,
    /// Counts assignments, so the consumer knows its set of partitions changed.
    assignments: AtomicU64,
    /// Subscribed topics that librdkafka reported missing; see [`MissingTopics`].
    missing: MissingTopics,
    /// Where the assigned partitions' records are read from, in batches (see
    /// [`crate::native::fetch`]); `None` when librdkafka offered no consumer queue to watch
    /// (records then come through rdkafka's `poll`), and once the consumer is dropped: the
    /// fetch queue holds the consumer, so it is taken out first.
    fetch: Mutex<Option<Arc<Fetch>>>,
}

/// The fetch queue of a [`KafkaConsumer`].
type Fetch = FetchQueue<RebalanceContext>;

/// How often a consumer looks again for subscribed topics that do not exist yet.
const MISSING_TOPIC_RECHECK: Duration = Duration::from_secs(1);

/// Finds subscribed topics created after the subscription.
///
/// librdkafka notices a topic created after its group subscribed to it only at its next
/// periodic metadata refresh (`topic.metadata.refresh.interval.ms`, 5 minutes by default):
/// a sink started before its topics exist would sit idle that long. Kafka's Java consumer
/// asks again about a missing topic within a second, so while a subscribed topic is missing
/// the poll jobs ask the cluster for its full topic list every [`MISSING_TOPIC_RECHECK`]
/// (librdkafka rechecks a group's subscription only against a full list); the topic's
/// partitions are then assigned at once.
#[derive(Default)]
struct MissingTopics {
    /// Set while a subscribed topic is missing: checked by every poll job.
    any: AtomicBool,
    state: Mutex<MissingState>,
}

#[derive(Default)]
struct MissingState {
    /// The topics subscribed to by name (empty for a pattern, whose missing topics
    /// librdkafka does not report).
    subscribed: Vec<String>,
    /// When to look again.
    next_check: Option<Instant>,
    /// The missing topics last logged.
    reported: Vec<String>,
}

impl MissingTopics {
    fn lock(&self) -> std::sync::MutexGuard<'_, MissingState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new subscription: nothing is known missing.
    fn subscribed(&self, topics: Vec<String>) {
        *self.lock() = MissingState {
            subscribed: topics,
            ..MissingState::default()
        };
        self.any.store(false, Ordering::Release);
    }

    /// librdkafka reported a topic missing: look at once. False when nothing is subscribed
    /// by name (the report is about something else).
    fn reported(&self) -> bool {
        let mut state = self.lock();
        if state.subscribed.is_empty() {
            return false;
        }
        state.next_check = Some(Instant::now());
        self.any.store(true, Ordering::Release);
        true
    }

    /// When a subscribed topic is missing and a look is due, asks the cluster for its
    /// topics (which makes librdkafka recheck the subscription) and says which are missing.
    fn look(&self, consumer: &BaseConsumer<RebalanceContext>) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.lock();
        if state.next_check.is_none_or(|at| Instant::now() < at) {
            return;
        }
        let missing: Vec<String> = match consumer.fetch_metadata(None, REQUEST_TIMEOUT) {
            Ok(metadata) => state
                .subscribed
                .iter()
                .filter(|name| {
                    !metadata.topics().iter().any(|t| {
                        t.name() == name.as_str()
                            && t.error().is_none()
                            && !t.partitions().is_empty()
                    })
                })
                .cloned()
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "listing the cluster's topics failed");
                state.reported.clone()
            }
        };
        if missing.is_empty() {
            if !state.reported.is_empty() {
                tracing::info!(topics = ?state.reported, "The subscribed topics exist now; their partitions are assigned.");
            }
            state.next_check = None;
            state.reported.clear();
            self.any.store(false, Ordering::Release);
            return;
        }
        if missing != state.reported {
            tracing::warn!(topics = ?missing, "Subscribed topics do not exist (yet); records are read from them once they are created (checked every second).");
            state.reported = missing;
        }
        state.next_check = Some(Instant::now() + MISSING_TOPIC_RECHECK);
    }
}

impl RebalanceContext {
    /// Sends an event to the async side and waits for its reply; `None` when nobody
    /// listens any more (the consumer is being dropped).
    fn forward<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Event) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let sender = self.events.lock().ok()?.clone()?;
        sender.send(make(tx)).ok()?;
        rx.blocking_recv().ok()
    }

    /// Stops forwarding rebalances, and hands back the fetch queue (to be dropped before
    /// the consumer).
    fn detach(&self) -> Option<Arc<Fetch>> {
        if let Ok(mut events) = self.events.lock() {
            *events = None;
        }
        self.fetch.lock().ok()?.take()
    }

    /// The fetch queue, while the consumer has one.
    fn fetch_queue(&self) -> Option<Arc<Fetch>> {
        self.fetch.lock().ok()?.clone()
    }

    /// Splits the partitions of `tpl` off to the fetch queue; called before they are
    /// assigned.
    fn split_fetches(&self, tpl: &TopicPartitionList) {
        let Ok(fetch) = self.fetch.lock() else {
            return;
        };
        if let Some(fetch) = fetch.as_ref() {
            for e in tpl.elements() {
                fetch.split(e.topic(), e.partition());
            }
        }
    }

    /// Records that `partitions` are being taken away, before the listener hears of it.
    fn note_revoked(&self, partitions: &[TopicPartition]) {
        if let Ok(mut last) = self.last_revoked.lock() {
            *last = partitions.to_vec();
        }
        self.revocations.fetch_add(1, Ordering::AcqRel);
    }

    /// Drops the records of the latest revocation's partitions from `records`.
    fn drop_revoked(&self, records: &mut Vec<ConsumedRecord>) {
        let Ok(revoked) = self.last_revoked.lock() else {
            return;
        };
        records.retain(|r| !revoked.iter().any(|tp| is_of(r, tp)));
    }
}

/// Whether `record` belongs to the partition `tp`.
fn is_of(record: &ConsumedRecord, tp: &TopicPartition) -> bool {
    record.partition == tp.partition && *record.topic == *tp.topic
}

impl ClientContext for RebalanceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.inner.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.inner.record_error(&error, reason);
    }
}

/// The partitions of a librdkafka list.
fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    let mut v: Vec<TopicPartition> = tpl
        .elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect();
    v.sort();
    v
}

impl ConsumerContext for RebalanceContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.split_fetches(tpl);
                let result = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, "taking the assigned partitions failed");
                }
                self.assignments.fetch_add(1, Ordering::AcqRel);
                let partitions = partitions_of(tpl);
                self.forward(|reply| Event::Assigned(partitions, reply));
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let partitions = partitions_of(tpl);
                self.note_revoked(&partitions);
                let offsets = self
                    .forward(|reply| Event::Revoked(partitions, reply))
                    .unwrap_or_default();
                if !offsets.is_empty() {
                    if consumer.assignment_lost() {
                        tracing::warn!(
                            "partitions were lost to the group before their offsets could be committed"
                        );
                    } else {
                        match offset_list(&offsets) {
                            Ok(list) => {
                                if let Err(e) = consumer.commit(&list, CommitMode::Sync) {
                                    tracing::warn!(error = %e, "committing offsets of revoked partitions failed");
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "bad offsets for revoked partitions")
                            }
                        }
                    }
                }
                let result = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, "releasing the revoked partitions failed");
                }
            }
            other => {
                let code = RDKafkaErrorCode::from(other);
                tracing::error!(error = %code, "group rebalance failed; releasing all partitions");
                if let Ok(assigned) = consumer.assignment() {
                    self.note_revoked(&partitions_of(&assigned));
                }
                if let Err(e) = consumer.unassign() {
                    tracing::error!(error = %e, "releasing partitions failed");
                }
            }
        }
    }
}

type PollResult = LogResult<Vec<ConsumedRecord>>;

/// Default of librdkafka's `fetch.queue.backoff.ms`: how long fetching from a partition
/// pauses once its prefetch queue is full (`queued.min.messages`). librdkafka's 1,000 ms
/// starves a task that works through its queue faster than that (records arrive in bursts
/// with ~1 s gaps); checking again every 10 ms keeps the queue filled.
const FETCH_QUEUE_BACKOFF_MS: u32 = 10;

/// Numbers the private group names of consumers without a group.
static NEXT_PRIVATE_GROUP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A [`LogConsumer`] on a Kafka cluster.
pub struct KafkaConsumer {
    consumer: Arc<BaseConsumer<RebalanceContext>>,
    events: mpsc::UnboundedReceiver<Event>,
    pending: Option<JoinHandle<PollResult>>,
    group_id: Option<String>,
    reset: OffsetReset,
    max_poll_records: usize,
    /// Targets of seeks, for `position` until librdkafka has fetched from there.
    positions: HashMap<TopicPartition, i64>,
    subscribed: bool,
    /// The only topic this consumer can receive records of (subscribed to one topic by
    /// name, or assigned partitions of one topic): records take it without asking
    /// librdkafka for each record's topic name. `None` when records may come from several.
    only_topic: Option<Arc<str>>,
    /// Whether `only_topic`, as poll jobs already running saw it, still holds: cleared
    /// before the assignment or subscription changes (a new flag serves the jobs after),
    /// so a job left running by a dropped `poll` asks librdkafka for the topic of records
    /// that may come from the new assignment.
    only_topic_holds: Arc<AtomicBool>,
    /// Length of the last batch, the first guess at the next one's.
    last_batch: usize,
    /// Whether records are handed out without their headers
    /// ([`ConsumerConfig::skip_headers`]): librdkafka then never decodes them.
    skip_headers: bool,
    /// Whether `poll` starts reading the next batch before it returns
    /// ([`ConsumerConfig::read_ahead`]); the job then sits in `pending`.
    read_ahead: bool,
    /// Seeks, pauses and resumes asked for while a batch was being read ahead, in order;
    /// applied when that batch arrives.
    deferred: Vec<Deferred>,
    /// With read-ahead, the position of every assigned partition as handed out: the offset
    /// after its last record handed out, or where it was assigned to start (`None` when
    /// that is its committed offset, not known yet). librdkafka's position runs ahead by
    /// the batch being read, so it is only read between batches.
    delivered: Vec<(TopicPartition, Option<i64>)>,
    /// The context's revocation and assignment counts when `delivered` was last taken
    /// from librdkafka.
    rebalances_seen: (u64, u64),
    closed: bool,
}

/// A change of position or flow asked for while a batch was being read ahead.
enum Deferred {
    Seek(TopicPartition, i64),
    Pause(Vec<TopicPartition>),
    Resume(Vec<TopicPartition>),
}

impl Deferred {
    fn partitions(&self) -> &[TopicPartition] {
        match self {
            Deferred::Seek(tp, _) => std::slice::from_ref(tp),
            Deferred::Pause(p) | Deferred::Resume(p) => p,
        }
    }
}

impl KafkaConsumer {
    /// Creates the consumer: the worker's consumer settings, then the client's own
    /// properties, then what this consumer needs (group, explicit commits).
    pub(crate) fn new(config: &KafkaConfig, consumer: ConsumerConfig) -> LogResult<Self> {
        let mut defaults = std::collections::BTreeMap::new();
        let reset = match consumer.auto_offset_reset {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
        };
        defaults.insert("auto.offset.reset".to_string(), reset.to_string());
        let isolation = match consumer.isolation_level {
            IsolationLevel::ReadCommitted => "read_committed",
            IsolationLevel::ReadUncommitted => "read_uncommitted",
        };
        defaults.insert("isolation.level".to_string(), isolation.to_string());
        defaults.insert(
            "fetch.queue.backoff.ms".to_string(),
            FETCH_QUEUE_BACKOFF_MS.to_string(),
        );
        let mut client =
            config.client_config(&[&defaults, &config.consumer, &consumer.properties])?;
        if !consumer.client_id.is_empty() {
            client.set("client.id", &consumer.client_id);
        }
        let group_id = consumer
            .group_id
            .clone()
            .or_else(|| consumer.properties.get("group.id").cloned());
        // librdkafka wants a group even for assigned partitions; a consumer without one
        // gets a private name it never commits under (commits need `group_id`).
        let internal = format!(
            "sluice-assign-{}-{}",
            std::process::id(),
            NEXT_PRIVATE_GROUP.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        client.set("group.id", group_id.as_deref().unwrap_or(&internal));
        client
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set_log_level(RDKafkaLogLevel::Warning);
        let (tx, rx) = mpsc::unbounded_channel();
        let context = RebalanceContext {
            inner: LogContext::default(),
            events: Mutex::new(Some(tx)),
            revocations: AtomicU64::new(0),
            last_revoked: Mutex::new(Vec::new()),
            assignments: AtomicU64::new(0),
            missing: MissingTopics::default(),
            fetch: Mutex::new(None),
        };
        let created: BaseConsumer<RebalanceContext> = client
            .create_with_context(context)
            .map_err(|e| map_error(e, "creating a Kafka consumer", None))?;
        let created = Arc::new(created);
        if let Ok(mut slot) = created.context().fetch.lock() {
            *slot = FetchQueue::new(&created).map(Arc::new);
        }
        Ok(KafkaConsumer {
            consumer: created,
            events: rx,
            pending: None,
            group_id,
            reset: consumer.auto_offset_reset,
            max_poll_records: consumer.max_poll_records.max(1),
            positions: HashMap::new(),
            subscribed: false,
            only_topic: None,
            only_topic_holds: Arc::new(AtomicBool::new(true)),
            last_batch: 0,
            skip_headers: consumer.skip_headers,
            read_ahead: consumer.read_ahead,
            deferred: Vec::new(),
            delivered: Vec::new(),
            rebalances_seen: (0, 0),
            closed: false,
        })
    }

    /// Starts a poll job for up to `max_poll_records` records, waiting up to `timeout`.
    fn start_poll(&self, timeout: Duration) -> JoinHandle<PollResult> {
        let job = PollJob {
            max: self.max_poll_records,
            timeout,
            only_topic: self.only_topic.clone(),
            only_topic_holds: Arc::clone(&self.only_topic_holds),
            expect: self.last_batch,
            skip_headers: self.skip_headers,
            fetch: self.consumer.context().fetch_queue(),
        };
        let consumer = Arc::clone(&self.consumer);
        tokio::task::spawn_blocking(move || poll_batch(&consumer, job))
    }

    /// Applies what was deferred while `batch` was read ahead: drops the batch's records
    /// of every partition concerned, moves each such partition to the target of its last
    /// seek or else back to its first dropped record, then pauses and resumes in order.
    fn apply_deferred(&mut self, batch: &mut Vec<ConsumedRecord>) {
        let ops = std::mem::take(&mut self.deferred);
        let mut touched: Vec<TopicPartition> = Vec::new();
        for tp in ops.iter().flat_map(Deferred::partitions) {
            if !touched.contains(tp) {
                touched.push(tp.clone());
            }
        }
        let mut first_dropped: Vec<(TopicPartition, i64)> = Vec::new();
        batch.retain(|r| {
            let Some(tp) = touched.iter().find(|tp| is_of(r, tp)) else {
                return true;
            };
            if !first_dropped.iter().any(|(t, _)| t == tp) {
                first_dropped.push((tp.clone(), r.offset));
            }
            false
        });
        for tp in &touched {
            let sought = ops.iter().rev().find_map(|op| match op {
                Deferred::Seek(t, offset) if t == tp => Some(*offset),
                _ => None,
            });
            let rewind = first_dropped.iter().find(|(t, _)| t == tp).map(|(_, o)| *o);
            if let Some(offset) = sought.or(rewind) {
                if let Err(e) = self.seek_now(tp, offset) {
                    tracing::warn!(partition = %tp, offset, error = %e, "moving the consumer position failed");
                }
            }
        }
        for op in ops {
            match op {
                Deferred::Pause(partitions) => self.pause_now(&partitions),
                Deferred::Resume(partitions) => self.resume_now(&partitions),
                Deferred::Seek(..) => {}
            }
        }
    }

    /// Notes the offset after the last record of each partition in `batch` (handed out).
    fn note_delivered(&mut self, batch: &[ConsumedRecord]) {
        let mut seen: Vec<(&Arc<str>, i32)> = Vec::new();
        for r in batch.iter().rev() {
            if seen
                .iter()
                .any(|&(t, p)| p == r.partition && (Arc::ptr_eq(t, &r.topic) || **t == *r.topic))
            {
                continue;
            }
            seen.push((&r.topic, r.partition));
            let next = Some(r.offset + 1);
            match self.delivered.iter_mut().find(|(tp, _)| is_of(r, tp)) {
                Some((_, o)) => *o = next,
                None => self
                    .delivered
                    .push((TopicPartition::new(Arc::clone(&r.topic), r.partition), next)),
            }
            self.positions.retain(|tp, _| !is_of(r, tp));
        }
    }

    /// Waits for a batch being read (only while not in a group: no rebalance can hold it
    /// up), applies what was deferred meanwhile and drops the batch; returns where each
    /// partition should start again: at its first dropped record, or where it was sought.
    async fn settle(&mut self) -> LogResult<Vec<(TopicPartition, i64)>> {
        let Some(handle) = self.pending.take() else {
            return Ok(Vec::new());
        };
        let mut batch = handle
            .await
            .map_err(|e| LogError::Unavailable(format!("a consumer call stopped: {e}")))??;
        self.apply_deferred(&mut batch);
        let mut firsts: Vec<(TopicPartition, i64)> = Vec::new();
        if self.read_ahead {
            firsts.extend(self.positions.iter().map(|(tp, o)| (tp.clone(), *o)));
        }
        for r in &batch {
            if !firsts.iter().any(|(tp, _)| is_of(r, tp)) {
                firsts.push((
                    TopicPartition::new(Arc::clone(&r.topic), r.partition),
                    r.offset,
                ));
            }
        }
        Ok(firsts)
    }

    /// Moves `partition` to `offset` in librdkafka now, and remembers it for `position`.
    fn seek_now(&mut self, partition: &TopicPartition, offset: i64) -> LogResult<()> {
        let mut tpl = TopicPartitionList::with_capacity(1);
        tpl.add_partition_offset(
            &partition.topic,
            partition.partition,
            Offset::Offset(offset),
        )
        .map_err(|e| map_error(e, "seeking", None))?;
        let result = self
            .consumer
            .seek_partitions(tpl, REQUEST_TIMEOUT)
            .map_err(|e| map_error(e, "seeking", Some(&partition.topic)))?;
        for e in result.elements() {
            e.error()
                .map_err(|err| map_error(err, "seeking", Some(&partition.topic)))?;
        }
        self.positions.insert(partition.clone(), offset);
        Ok(())
    }

    /// Stops fetching `partitions` in librdkafka now.
    fn pause_now(&self, partitions: &[TopicPartition]) {
        if let Err(e) = self.consumer.pause(&partition_list(partitions)) {
            tracing::warn!(error = %e, "pausing partitions failed");
        }
    }

    /// Fetches `partitions` again in librdkafka now.
    fn resume_now(&self, partitions: &[TopicPartition]) {
        if let Err(e) = self.consumer.resume(&partition_list(partitions)) {
            tracing::warn!(error = %e, "resuming partitions failed");
        }
    }

    /// Ends the one-topic shortcut of poll jobs already running; called before the
    /// assignment or subscription changes.
    fn topics_change(&mut self) {
        self.only_topic_holds.store(false, Ordering::Release);
        self.only_topic_holds = Arc::new(AtomicBool::new(true));
    }

    fn check_open(&self) -> LogResult<()> {
        if self.closed {
            Err(LogError::Closed)
        } else {
            Ok(())
        }
    }

    fn group(&self) -> LogResult<&str> {
        self.group_id
            .as_deref()
            .ok_or_else(|| LogError::InvalidConfig {
                key: "group.id".into(),
                message: "this consumer has no group; set group_id to commit or subscribe".into(),
            })
    }

    /// Runs a blocking job, serving rebalance events through `listener` until it ends.
    async fn drive<T: Send + 'static>(
        events: &mut mpsc::UnboundedReceiver<Event>,
        handle: &mut JoinHandle<T>,
        listener: &mut dyn RebalanceListener,
    ) -> LogResult<T> {
        loop {
            tokio::select! {
                biased;
                Some(event) = events.recv() => Self::serve(event, listener).await,
                joined = &mut *handle => {
                    // Events sent just before the job ended still need their listener call.
                    while let Ok(event) = events.try_recv() {
                        Self::serve(event, listener).await;
                    }
                    return joined.map_err(|e| LogError::Unavailable(format!("a consumer call stopped: {e}")));
                }
            }
        }
    }

    async fn serve(event: Event, listener: &mut dyn RebalanceListener) {
        match event {
            Event::Revoked(partitions, reply) => {
                tracing::debug!(?partitions, "partitions revoked");
                let offsets = listener.on_partitions_revoked(&partitions).await;
                let _ = reply.send(offsets);
            }
            Event::Assigned(partitions, reply) => {
                tracing::debug!(?partitions, "partitions assigned");
                listener.on_partitions_assigned(&partitions).await;
                let _ = reply.send(());
            }
        }
    }

    /// Runs a blocking call on the consumer off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&BaseConsumer<RebalanceContext>) -> LogResult<T> + Send + 'static,
    ) -> LogResult<T> {
        let consumer = Arc::clone(&self.consumer);
        tokio::task::spawn_blocking(move || f(&consumer))
            .await
            .map_err(|e| LogError::Unavailable(format!("a consumer call stopped: {e}")))?
    }
}

/// What a poll job knows before it starts.
struct PollJob {
    /// Most records to return.
    max: usize,
    /// How long to wait for the first record.
    timeout: Duration,
    /// The topic of every record, while `only_topic_holds` is set.
    only_topic: Option<Arc<str>>,
    only_topic_holds: Arc<AtomicBool>,
    /// The likely number of records.
    expect: usize,
    /// Leave each record's headers undecoded.
    skip_headers: bool,
    /// The consumer's fetch queue, if it has one.
    fetch: Option<Arc<Fetch>>,
}

/// Reads up to `job.max` records, waiting up to `job.timeout` for the first.
///
/// Each round serves the consumer's own queue first (rebalances, errors, and records of
/// partitions not split off to the fetch queue), then reads the fetch queue in batches; a
/// wait on the fetch queue ends when the consumer's queue gets something to serve.
fn poll_batch(consumer: &BaseConsumer<RebalanceContext>, job: PollJob) -> PollResult {
    let PollJob {
        max,
        timeout,
        only_topic,
        only_topic_holds,
        expect,
        skip_headers,
        fetch,
    } = job;
    let deadline = Instant::now() + timeout;
    let context = consumer.context();
    context.missing.look(consumer);
    let mut revocations = context.revocations.load(Ordering::Acquire);
    let mut out: Vec<ConsumedRecord> = Vec::with_capacity(max.min(expect.max(1024)));
    let mut copier = Copier {
        only_topic: only_topic.is_some().then_some(only_topic_holds),
        // A name of this batch's own: the records' reference counts then change on this
        // thread alone while the caller still works through (and drops) the batch before.
        topic: only_topic.map(|t| Arc::from(&*t)),
        skip_headers,
    };
    while out.len() < max {
        let wait = if out.is_empty() && fetch.is_none() {
            deadline.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        let polled = consumer.poll(wait);
        // rdkafka returns from `poll` after serving a rebalance, so a revocation during
        // this call came after every record in `out` and before any message it returned.
        let now = context.revocations.load(Ordering::Acquire);
        if now != revocations {
            revocations = now;
            context.drop_revoked(&mut out);
        }
        if let Some(polled) = polled {
            match polled {
                Ok(message) => take(
                    Ok(FetchedMessage::of(&message)),
                    &mut out,
                    &mut copier,
                    context,
                )?,
                Err(e) => take(Err(e), &mut out, &mut copier, context)?,
            }
            continue;
        }
        if let Some(fetch) = &fetch {
            let wait = if out.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            // Records after an error are kept (librdkafka has moved past them); the error
            // is returned only when no record came with it.
            let mut failed = None;
            fetch.read(wait, max - out.len(), |message| {
                let taken = match message.error() {
                    Some(e) => take(Err(e), &mut out, &mut copier, context),
                    None => take(Ok(message), &mut out, &mut copier, context),
                };
                if let Err(e) = taken {
                    failed.get_or_insert(e);
                }
            });
            if let Some(e) = failed {
                if out.is_empty() {
                    return Err(e);
                }
                tracing::warn!(error = %e, "consumer error");
            }
        }
        if !out.is_empty() || Instant::now() >= deadline {
            break;
        }
    }
    Ok(out)
}

/// Adds a fetched message to `out`, or handles the error librdkafka reported instead:
/// fatal errors, and a missing offset with `auto.offset.reset=none` before any record,
/// end the poll.
fn take(
    polled: Result<FetchedMessage<'_>, KafkaError>,
    out: &mut Vec<ConsumedRecord>,
    copier: &mut Copier,
    context: &RebalanceContext,
) -> LogResult<()> {
    match polled {
        Ok(message) => out.push(copier.convert(&message)),
        Err(KafkaError::PartitionEOF(_)) => {}
        Err(e @ KafkaError::MessageConsumptionFatal(_)) => {
            return Err(map_error(e, "consuming", None));
        }
        Err(KafkaError::MessageConsumption(RDKafkaErrorCode::AutoOffsetReset))
            if out.is_empty() =>
        {
            return Err(LogError::Remote(
                "consuming: no committed offset and auto.offset.reset=none".into(),
            ));
        }
        Err(e @ KafkaError::MessageConsumption(RDKafkaErrorCode::UnknownTopicOrPartition)) => {
            if !context.missing.reported() {
                tracing::warn!(error = %e, "consumer error");
            }
        }
        Err(e) => tracing::warn!(error = %e, "consumer error"),
    }
    Ok(())
}

/// Turns librdkafka's messages into records, copying their bytes once.
///
/// Each key, value and header value gets an allocation of its own, exactly its size: a
/// converter that keeps the bytes (StringConverter's string) then takes the buffer as it is
/// instead of copying the bytes again, and the copy happens here, on the poll thread, while
/// the caller works through the batch before.
struct Copier {
    /// The topic of the last record.
    topic: Option<Arc<str>>,
    /// While this flag is set, `topic` is the topic of every record: the name librdkafka
    /// keeps for each record is not read (turning it into a `&str` checks its UTF-8 every
    /// time).
    only_topic: Option<Arc<AtomicBool>>,
    /// Leave headers undecoded: librdkafka parses them on first access (allocating a
    /// buffer even for a record without any).
    skip_headers: bool,
}

impl Copier {
    /// The record's topic name, shared with the records before it of the same topic.
    fn topic(&mut self, message: &FetchedMessage<'_>) -> Arc<str> {
        if let (Some(holds), Some(t)) = (&self.only_topic, &self.topic) {
            if holds.load(Ordering::Acquire) {
                return Arc::clone(t);
            }
        }
        let name = message.topic();
        match &self.topic {
            Some(t) if t.as_bytes() == name => Arc::clone(t),
            _ => {
                let t: Arc<str> = Arc::from(String::from_utf8_lossy(name));
                self.topic = Some(Arc::clone(&t));
                t
            }
        }
    }

    /// A librdkafka message as a record.
    fn convert(&mut self, message: &FetchedMessage<'_>) -> ConsumedRecord {
        let topic = self.topic(message);
        let (timestamp, timestamp_type) = match message.timestamp() {
            Timestamp::NotAvailable => (-1, TimestampType::NoTimestamp),
            Timestamp::CreateTime(t) => (t, TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (t, TimestampType::LogAppendTime),
        };
        let headers = if self.skip_headers {
            Vec::new()
        } else {
            message
                .headers()
                .map(|(key, value)| LogHeader {
                    key: key.into_owned(),
                    value: value.map(Bytes::copy_from_slice),
                })
                .collect()
        };
        ConsumedRecord {
            topic,
            partition: message.partition(),
            offset: message.offset(),
            timestamp,
            timestamp_type,
            key: message.key().map(Bytes::copy_from_slice),
            value: message.payload().map(Bytes::copy_from_slice),
            headers,
        }
    }
}

/// A partition list without offsets.
fn partition_list(partitions: &[TopicPartition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        tpl.add_partition(&tp.topic, tp.partition);
    }
    tpl
}

#[async_trait]
impl LogConsumer for KafkaConsumer {
    async fn subscribe(&mut self, subscription: Subscription) -> LogResult<()> {
        self.check_open()?;
        self.group()?;
        let missing = &self.consumer.context().missing;
        let (topics, only_topic) = match subscription {
            Subscription::Topics(topics) => {
                let only = match topics.as_slice() {
                    [one] => Some(Arc::from(one.as_str())),
                    _ => None,
                };
                missing.subscribed(topics.clone());
                (topics, only)
            }
            Subscription::Pattern(pattern) => {
                missing.subscribed(Vec::new());
                (vec![format!("^({pattern})$")], None)
            }
        };
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.topics_change();
        self.consumer
            .subscribe(&names)
            .map_err(|e| map_error(e, "subscribing", None))?;
        self.subscribed = true;
        self.only_topic = only_topic;
        Ok(())
    }

    async fn assign(&mut self, partitions: &[TopicPartition]) -> LogResult<()> {
        self.check_open()?;
        if self.subscribed {
            return Err(LogError::InvalidConfig {
                key: "subscription".into(),
                message:
                    "this consumer is subscribed to a group; subscribe and assign cannot be mixed"
                        .into(),
            });
        }
        let wanted = partitions.to_vec();
        let current = partitions_of(
            &self
                .consumer
                .assignment()
                .map_err(|e| map_error(e, "reading the assignment", None))?,
        );
        let reset = self.reset;
        let has_group = self.group_id.is_some();
        let fetch = self.consumer.context().fetch_queue();
        // Kept partitions continue after the last record handed out.
        let restart = self.settle().await?;
        self.topics_change();
        let list = self
            .blocking(move |consumer| {
                // Check the partitions exist, as assigning a missing one would only log.
                let mut by_topic: HashMap<&str, Vec<i32>> = HashMap::new();
                for tp in &wanted {
                    by_topic.entry(&tp.topic).or_default().push(tp.partition);
                }
                for (topic, parts) in &by_topic {
                    let metadata = consumer
                        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
                        .map_err(|e| {
                            map_error(e, &format!("assigning topic '{topic}'"), Some(topic))
                        })?;
                    let meta = metadata.topics().iter().find(|t| t.name() == *topic);
                    let known: Vec<i32> = meta
                        .filter(|m| m.error().is_none())
                        .map(|m| m.partitions().iter().map(|p| p.id()).collect())
                        .unwrap_or_default();
                    if known.is_empty() {
                        return Err(LogError::UnknownTopic {
                            topic: topic.to_string(),
                        });
                    }
                    if let Some(p) = parts.iter().find(|p| !known.contains(p)) {
                        return Err(LogError::UnknownPartition {
                            topic: topic.to_string(),
                            partition: *p,
                        });
                    }
                }
                // Kept partitions keep their position; new ones start at the committed
                // offset (or per auto.offset.reset).
                let positions = consumer
                    .position()
                    .map_err(|e| map_error(e, "reading positions", None))?;
                let mut tpl = TopicPartitionList::with_capacity(wanted.len());
                for tp in &wanted {
                    let kept =
                        current
                            .contains(tp)
                            .then(|| match restart.iter().find(|(t, _)| t == tp) {
                                Some((_, o)) => Some(Offset::Offset(*o)),
                                None => positions
                                    .find_partition(&tp.topic, tp.partition)
                                    .map(|e| e.offset()),
                            });
                    let start = match kept.flatten() {
                        Some(o @ Offset::Offset(_)) => o,
                        _ if has_group => Offset::Invalid,
                        _ => match reset {
                            OffsetReset::Earliest => Offset::Beginning,
                            OffsetReset::Latest => Offset::End,
                        },
                    };
                    tpl.add_partition_offset(&tp.topic, tp.partition, start)
                        .map_err(|e| map_error(e, "building the assignment", None))?;
                }
                if let Some(fetch) = &fetch {
                    for tp in &wanted {
                        fetch.split(&tp.topic, tp.partition);
                    }
                }
                consumer
                    .assign(&tpl)
                    .map_err(|e| map_error(e, "assigning partitions", None))?;
                Ok(tpl)
            })
            .await?;
        let assigned = partitions_of(&list);
        self.positions.retain(|tp, _| assigned.contains(tp));
        self.delivered = partition_offsets(&list);
        // Records of partitions no longer assigned are not delivered any more (librdkafka
        // drops what it had fetched of them), so one topic in the assignment is the topic
        // of every record from now on.
        self.only_topic = match assigned.first() {
            Some(first) if assigned.iter().all(|tp| tp.topic == first.topic) => {
                Some(Arc::clone(&first.topic))
            }
            _ => None,
        };
        Ok(())
    }

    async fn poll(
        &mut self,
        timeout: Duration,
        listener: &mut dyn RebalanceListener,
    ) -> LogResult<Vec<ConsumedRecord>> {
        self.check_open()?;
        // The job stays in `pending` until it ends, so that a dropped `poll` future does
        // not lose its batch: the next call picks it up. A batch read ahead is there too.
        if self.pending.is_none() {
            self.pending = Some(self.start_poll(timeout));
        }
        let Some(handle) = self.pending.as_mut() else {
            return Ok(Vec::new());
        };
        let outcome = Self::drive(&mut self.events, handle, listener).await;
        self.pending = None;
        let mut outcome = outcome.and_then(|batch| batch);
        if !self.deferred.is_empty() {
            // Also after a failed poll: what was asked for still applies, in order.
            let mut nothing = Vec::new();
            self.apply_deferred(outcome.as_mut().unwrap_or(&mut nothing));
        }
        let batch = outcome?;
        self.last_batch = batch.len();
        if self.read_ahead {
            let context = self.consumer.context();
            let rebalances = (
                context.revocations.load(Ordering::Acquire),
                context.assignments.load(Ordering::Acquire),
            );
            if rebalances != self.rebalances_seen {
                // The partitions changed. No poll job runs now, so librdkafka's positions
                // are those of the records handed out (or the start of a new partition).
                self.rebalances_seen = rebalances;
                self.delivered = match self.consumer.position() {
                    Ok(list) => partition_offsets(&list),
                    Err(_) => Vec::new(),
                };
            } else {
                self.note_delivered(&batch);
            }
            if !batch.is_empty() {
                self.pending = Some(self.start_poll(timeout));
            }
        }
        // librdkafka knows the position of every partition that returned records; the
        // `positions` map only covers partitions sought but not yet read.
        Ok(batch)
    }

    fn seek(&mut self, partition: &TopicPartition, to: SeekTo) -> LogResult<()> {
        self.check_open()?;
        if !self.assignment().contains(partition) {
            return Err(LogError::NotAssigned {
                topic: partition.topic.to_string(),
                partition: partition.partition,
            });
        }
        let offset = match to {
            SeekTo::Offset(o) => o,
            SeekTo::Beginning | SeekTo::End => {
                let (low, high) = self
                    .consumer
                    .fetch_watermarks(&partition.topic, partition.partition, REQUEST_TIMEOUT)
                    .map_err(|e| map_error(e, "reading offsets", Some(&partition.topic)))?;
                if to == SeekTo::Beginning {
                    low
                } else {
                    high
                }
            }
        };
        if self.read_ahead && self.pending.is_some() {
            self.positions.insert(partition.clone(), offset);
            self.deferred
                .push(Deferred::Seek(partition.clone(), offset));
            return Ok(());
        }
        self.seek_now(partition, offset)
    }

    fn pause(&mut self, partitions: &[TopicPartition]) {
        if self.read_ahead && self.pending.is_some() {
            self.deferred.push(Deferred::Pause(partitions.to_vec()));
        } else {
            self.pause_now(partitions);
        }
    }

    fn resume(&mut self, partitions: &[TopicPartition]) {
        if self.read_ahead && self.pending.is_some() {
            self.deferred.push(Deferred::Resume(partitions.to_vec()));
        } else {
            self.resume_now(partitions);
        }
    }

    fn position(&self, partition: &TopicPartition) -> Option<i64> {
        let assigned = self.consumer.position().ok()?;
        let element = assigned.find_partition(&partition.topic, partition.partition)?;
        if self.read_ahead {
            if let Some(o) = self.positions.get(partition) {
                return Some(*o);
            }
            if let Some((_, o)) = self.delivered.iter().find(|(tp, _)| tp == partition) {
                return *o;
            }
        }
        match element.offset() {
            Offset::Offset(o) => Some(o),
            _ => self.positions.get(partition).copied(),
        }
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer
            .assignment()
            .map(|tpl| partitions_of(&tpl))
            .unwrap_or_default()
    }

    async fn commit(&mut self, offsets: &[(TopicPartition, i64)]) -> LogResult<()> {
        self.check_open()?;
        let group = self.group()?.to_string();
        if offsets.is_empty() {
            return Ok(());
        }
        let tpl = offset_list(offsets)?;
        self.blocking(move |consumer| {
            consumer
                .commit(&tpl, CommitMode::Sync)
                .map_err(|e| map_error(e, &format!("committing offsets of group '{group}'"), None))
        })
        .await
    }

    async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> LogResult<Vec<(TopicPartition, Option<i64>)>> {
        self.check_open()?;
        let group = self.group()?.to_string();
        let tpl = partition_list(partitions);
        let wanted = partitions.to_vec();
        let found = self
            .blocking(move |consumer| {
                consumer
                    .committed_offsets(tpl, REQUEST_TIMEOUT)
                    .map_err(|e| map_error(e, &format!("reading offsets of group '{group}'"), None))
            })
            .await?;
        let found = offsets_of(&found);
        Ok(wanted
            .into_iter()
            .map(|tp| {
                let o = found.iter().find(|(f, _)| *f == tp).map(|(_, o)| *o);
                (tp, o)
            })
            .collect())
    }

    async fn close(&mut self, listener: &mut dyn RebalanceListener) -> LogResult<()> {
        if self.closed {
            return Ok(());
        }
        if let Some(mut handle) = self.pending.take() {
            // A batch nobody will read: its records are not committed, so dropping it
            // loses nothing.
            let _ = Self::drive(&mut self.events, &mut handle, listener).await;
        }
        self.closed = true;
        if self.group_id.is_none() || !self.subscribed {
            return Ok(());
        }
        let consumer = Arc::clone(&self.consumer);
        let mut handle = tokio::task::spawn_blocking(move || {
            consumer
                .close_queue()
                .map_err(|e| map_error(e, "leaving the group", None))?;
            let deadline = Instant::now() + REQUEST_TIMEOUT;
            while !consumer.closed() && Instant::now() < deadline {
                let _ = consumer.poll(Duration::from_millis(100));
            }
            Ok(())
        });
        Self::drive(&mut self.events, &mut handle, listener).await?
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        // Rebalances during librdkafka's own close must not wait for a listener. The fetch
        // queue goes first: it holds the consumer, and must go before the client does.
        let fetch = self.consumer.context().detach();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let consumer = Arc::clone(&self.consumer);
            runtime.spawn_blocking(move || {
                drop(fetch);
                drop(consumer);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_value_becomes_a_vec_without_moving() {
        // StringConverter takes a consumed value's buffer for its string on this ground.
        let copy = Bytes::copy_from_slice(b"one hundred bytes or so");
        let at = copy.as_ptr();
        let owned = Vec::from(copy);
        assert_eq!(owned, b"one hundred bytes or so");
        assert_eq!(owned.as_ptr(), at);
    }
}

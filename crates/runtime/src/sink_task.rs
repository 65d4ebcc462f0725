//! The sink task loop.
//!
//! Each sink task runs as two stages, so fetching and converting overlaps with `put`
//! whenever one of them waits. Both run on the task's own thread (see
//! [`crate::dedicated`]); the fetcher yields after handing over a batch, so a CPU-bound task
//! puts each batch right after converting it:
//!
//! ```text
//!  fetcher (owns the consumer, converters, transformation chain)   putter (owns the SinkTask)
//!   poll → convert → transform ── Batch ─────────→   put → next offsets per partition
//!   (nothing polled: an empty Batch, so idle tasks still get `put` calls)
//!   rebalance: ──────── Revoked ───────────────→   pre_commit + close → offsets ─┐
//!              ←─────────────────────────────────────────────────────────────────┘ commit
//!   assign:   ──────── Assigned ──────────────→   open
//!   commit    ←──────── Commit ─────────────────   every offset.flush.interval.ms or on
//!                                                   request: pre_commit → offsets
//!   seek/pause←──────── Seek / Resume ──────────   SinkTaskControl requests, retries
//!             ──────── Repositioned ──────────→   stop discarding those partitions
//! ```
//!
//! A record a transformation drops is not put, but its offset counts as processed (the
//! batch's offset ranges cover it), as in Kafka Connect.
//!
//! Failures go through the task's [`ErrorHandler`] (see [`crate::error_handling`]): a record
//! whose conversion or transformation fails is retried (retriable errors), reported (log,
//! dead-letter queue) and then skipped (`errors.tolerance=all`, its offset still counts as
//! processed) or fails the task. Unless the handler is a pass-through, the fetcher keeps the
//! consumed records of each batch (reference-counted bytes, no copy) so that records the task
//! reports through its [`ErrantRecordReporter`], or that fail `put`, reach the dead-letter
//! queue with their original bytes. A non-retriable `put` failure with
//! `errors.tolerance=all` redelivers the batch and puts it one record at a time, so only the
//! records that fail on their own go to the dead-letter queue.
//!
//! Messages to the putter travel on one ordered channel, so every record fetched before a
//! revocation is put before the partitions are closed, and `open` precedes the records of a
//! new partition. A rewind (`reset_offsets`, a pause, or a retriable `put` failure, which
//! redelivers from the failed batch) seeks the consumer; records of those partitions already
//! on their way are discarded until the fetcher confirms the seek.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use sluice_api::config::ConfigMap;
use sluice_api::connector::{ErrantRecordReporter, SinkTask, SinkTaskContext, SinkTaskControl};
use sluice_api::data::Headers;
use sluice_api::error::{RecordLocation, Stage};
use sluice_api::{ConnectError, ConnectRecord, SinkRecord, TopicPartition};
use sluice_log::{
    ConsumedRecord, LogAdmin, LogConsumer, LogError, NewTopic, RebalanceListener, SeekTo,
    Subscription, TimestampType,
};
use sluice_transforms::TransformChain;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::converters::Converters;
use crate::error_handling::{
    clone_error, Decision, ErrorHandler, FailedRecord, Failure, Tolerance,
};
use crate::metrics::{PartitionLag, TaskCounters, LAG_REFRESH_INTERVAL};
use crate::pause::PauseSignal;
use crate::status::{ConnectorTaskId, State, StatusBoard};

/// How long one consumer poll waits for records; bounds how quickly a stop is noticed.
const POLL_TIMEOUT: Duration = Duration::from_millis(250);
/// Converted batches waiting for `put`.
const BATCH_QUEUE: usize = 2;
/// First wait before redelivering a batch whose `put` failed with a retriable error.
const RETRY_BACKOFF_START: Duration = Duration::from_millis(300);
/// Longest wait between redeliveries.
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// The class Kafka names for `put` failures.
const SINK_TASK_CLASS: &str = "org.apache.kafka.connect.sink.SinkTask";

/// Everything a sink task needs to run.
pub(crate) struct SinkTaskRun {
    pub id: ConnectorTaskId,
    pub task: Box<dyn SinkTask>,
    pub config: ConfigMap,
    pub converters: Converters,
    pub transforms: TransformChain,
    pub consumer: Box<dyn LogConsumer>,
    pub subscription: Subscription,
    pub flush_interval: Duration,
    pub flush_timeout: Duration,
    pub counters: Arc<TaskCounters>,
    pub status: StatusBoard,
    pub stop: watch::Receiver<bool>,
    pub pause: PauseSignal,
    /// The task's error policy at work.
    pub errors: Arc<ErrorHandler>,
    /// Creates the dead-letter topic when the policy names one; reads end offsets for the
    /// consumer lag.
    pub admin: Arc<dyn LogAdmin>,
    /// Report the task as stalled after this long without delivering while records wait
    /// (`errors.stall.timeout.ms`; `None`: never).
    pub stall_timeout: Option<Duration>,
}

/// Offsets of one partition in a batch: first offset and next offset after the last record.
type Range = (TopicPartition, i64, i64);
type Offsets = Vec<(TopicPartition, i64)>;

enum ToPutter {
    Batch {
        records: Vec<SinkRecord>,
        ranges: Vec<Range>,
        /// The consumed record of each of `records` (same order); empty when the error
        /// handler is a pass-through.
        originals: Vec<ConsumedRecord>,
    },
    Assigned(Vec<(TopicPartition, Option<i64>)>),
    Revoked {
        partitions: Vec<TopicPartition>,
        reply: oneshot::Sender<Offsets>,
    },
    Repositioned(Vec<TopicPartition>),
    Shutdown(oneshot::Sender<Offsets>),
}

enum ToFetcher {
    Commit(Offsets),
    Seek { targets: Offsets, pause: bool },
    Resume(Vec<TopicPartition>),
}

/// A request a task made through its context, applied in order after `put`.
enum ControlOp {
    Pause(Vec<TopicPartition>),
    Resume(Vec<TopicPartition>),
    Reset(Offsets),
}

/// The task's handle on the runtime ([`SinkTaskControl`]).
#[derive(Default)]
struct Control {
    ops: Mutex<Vec<ControlOp>>,
    pending: AtomicBool,
    commit_requested: AtomicBool,
    assignment: Mutex<Vec<TopicPartition>>,
    errant: Arc<Errant>,
}

/// The task's [`ErrantRecordReporter`]: reports are queued and handled by the putter after
/// `put` returns (log, dead-letter queue, tolerance).
#[derive(Default)]
struct Errant {
    tolerate: bool,
    pending: AtomicBool,
    reports: Mutex<Vec<ErrantReport>>,
}

/// One record a task reported, by its position in the log.
struct ErrantReport {
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    error: ConnectError,
}

impl ErrantRecordReporter for Errant {
    fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<(), ConnectError> {
        lock(&self.reports).push(ErrantReport {
            topic: record.original_topic.clone(),
            partition: record.original_partition,
            offset: record.original_offset,
            error: clone_error(error),
        });
        self.pending.store(true, Ordering::Release);
        if self.tolerate {
            Ok(())
        } else {
            Err(ConnectError::Connect {
                message: "Tolerance exceeded in error handler".into(),
                source: Some(Box::new(clone_error(error))),
            })
        }
    }
}

impl Errant {
    fn take(&self) -> Vec<ErrantReport> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *lock(&self.reports))
    }
}

impl Control {
    fn push(&self, op: ControlOp) {
        lock(&self.ops).push(op);
        self.pending.store(true, Ordering::Release);
    }

    fn take(&self) -> Vec<ControlOp> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *lock(&self.ops))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SinkTaskControl for Control {
    fn pause(&self, partitions: &[TopicPartition]) {
        self.push(ControlOp::Pause(partitions.to_vec()));
    }

    fn resume(&self, partitions: &[TopicPartition]) {
        self.push(ControlOp::Resume(partitions.to_vec()));
    }

    fn request_commit(&self) {
        self.commit_requested.store(true, Ordering::Release);
    }

    fn reset_offsets(&self, offsets: &HashMap<TopicPartition, i64>) {
        self.push(ControlOp::Reset(
            offsets.iter().map(|(tp, o)| (tp.clone(), *o)).collect(),
        ));
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        lock(&self.assignment).clone()
    }

    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        Some(self.errant.clone())
    }
}

impl SinkTaskRun {
    /// Runs the task until stopped (`Ok`) or failed (`Err`), on a thread of its own.
    pub(crate) async fn run(self) -> Result<(), ConnectError> {
        let name = format!("sluice-sink-{}", self.id.task);
        let main = tokio::runtime::Handle::current();
        crate::dedicated::run(name, "sink", self.run_stages(main)).await
    }

    /// The fetcher and the putter, on the current (single-threaded) runtime; `main` runs
    /// the stall watch, which must not wait for a busy task.
    async fn run_stages(self, main: tokio::runtime::Handle) -> Result<(), ConnectError> {
        let SinkTaskRun {
            id,
            mut task,
            config,
            converters,
            transforms,
            mut consumer,
            subscription,
            flush_interval,
            flush_timeout,
            counters,
            status,
            stop,
            pause,
            errors,
            admin,
            stall_timeout,
        } = self;
        if let Some(dlq) = &errors.policy().dead_letter_queue {
            if let Err(why) = crate::backend::check_topic_name(&dlq.topic) {
                return Err(ConnectError::Config {
                    key: "errors.deadletterqueue.topic.name".into(),
                    message: format!("cannot create the dead letter queue topic: {why}"),
                });
            }
            let mut topic = NewTopic::new(dlq.topic.clone(), 1);
            topic.replication_factor = dlq.replication_factor;
            match admin.create_topic(topic).await {
                Ok(()) => {
                    tracing::info!(task = %id, topic = %dlq.topic, "Created the dead-letter queue topic.")
                }
                Err(LogError::TopicExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let control = Arc::new(Control {
            errant: Arc::new(Errant {
                tolerate: errors.policy().tolerance == Tolerance::All,
                ..Errant::default()
            }),
            ..Control::default()
        });
        let context = SinkTaskContext {
            connector: id.connector.to_string(),
            task_id: id.task,
            control: control.clone(),
        };
        task.start(&config, context).await?;
        if let Err(e) = consumer.subscribe(subscription).await {
            let _ = task.stop().await;
            return Err(e.into());
        }
        status.set_task(&id, State::Running, None);
        // Started before the fetcher: records it fetches count as waiting.
        let stall_watch = stall_timeout.map(|timeout| {
            let _main = main.enter();
            crate::restart::spawn_stall_watch(
                id.clone(),
                timeout,
                counters.clone(),
                status.clone(),
                stall_probe,
                "it has delivered no record while records wait for it",
            )
        });

        let (data_tx, data_rx) = mpsc::channel(BATCH_QUEUE);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let putter = Putter {
            id: id.clone(),
            task,
            control,
            current: HashMap::new(),
            assigned: Vec::new(),
            discarding: HashSet::new(),
            cmd_tx,
            counters: counters.clone(),
            flush_interval,
            backoff: RETRY_BACKOFF_START,
            errors: errors.clone(),
            isolating: Vec::new(),
        };
        // On this thread: the putter runs whenever the fetcher waits, and right after each
        // batch the fetcher hands over.
        let putter = tokio::spawn(putter.run(data_rx));
        let fetcher = Fetcher {
            id,
            consumer,
            admin,
            lag_due: Instant::now(),
            pipeline: Pipeline {
                converters,
                transforms,
            },
            data_tx,
            cmd_rx,
            counters,
            flush_timeout,
            stop,
            pause,
            errors,
            skipped: HashMap::new(),
        };
        let fetched = fetcher.run().await;
        let put = putter.await.unwrap_or_else(|e| {
            Err(ConnectError::Connect {
                message: "the sink task's put loop stopped unexpectedly".into(),
                source: Some(Box::new(e)),
            })
        });
        // Stops watching and clears the stall flag.
        drop(stall_watch);
        // A failed put loop makes the fetcher stop too; report the root cause first.
        put.and(fetched)
    }
}

/// Records a task handed on for good: put, dropped by a transformation, or skipped after
/// its failure was reported.
fn delivered(counters: &TaskCounters) -> u64 {
    counters.put.load(Ordering::Relaxed)
        + counters.dropped.load(Ordering::Relaxed)
        + counters.errors.records_skipped.load(Ordering::Relaxed)
}

/// What the stall watcher reads of a sink task (see [`crate::restart`]): progress is a
/// record delivered; work waits when it fetched records since its last progress or its
/// consumer lag is above zero.
fn stall_probe(counters: &TaskCounters) -> crate::restart::StallProbe {
    crate::restart::StallProbe {
        progress: delivered(counters),
        input: counters.polled.load(Ordering::Relaxed),
        backlog: counters.lag().iter().any(|p| p.lag > 0),
    }
}

struct Fetcher {
    id: ConnectorTaskId,
    consumer: Box<dyn LogConsumer>,
    /// Reads the end offsets of the assigned partitions, for the consumer lag.
    admin: Arc<dyn LogAdmin>,
    /// When the consumer lag is measured next.
    lag_due: Instant,
    pipeline: Pipeline,
    data_tx: mpsc::Sender<ToPutter>,
    cmd_rx: mpsc::UnboundedReceiver<ToFetcher>,
    counters: Arc<TaskCounters>,
    flush_timeout: Duration,
    stop: watch::Receiver<bool>,
    pause: PauseSignal,
    errors: Arc<ErrorHandler>,
    /// Per partition, the last offset of a record skipped after its failure was reported:
    /// a redelivered batch (retried or isolated `put`) does not report it again.
    skipped: HashMap<TopicPartition, i64>,
}

/// Which class of a sink's conversion or transformation failed.
#[derive(Clone, Copy)]
enum FailedClass {
    Key,
    Value,
    Header,
    Transform(&'static str),
}

/// A record that failed conversion or transformation.
struct Failed {
    error: ConnectError,
    stage: Stage,
    class: FailedClass,
    /// What a transformation raised, when `error` names the transformation's alias too.
    raised: Option<Box<ConnectError>>,
}

/// Forwards rebalances to the putter and waits for its answer.
struct Listener<'a> {
    data_tx: &'a mpsc::Sender<ToPutter>,
    assigned: Vec<TopicPartition>,
}

#[async_trait]
impl RebalanceListener for Listener<'_> {
    async fn on_partitions_revoked(&mut self, partitions: &[TopicPartition]) -> Offsets {
        self.assigned.retain(|tp| !partitions.contains(tp));
        let (reply, answer) = oneshot::channel();
        let msg = ToPutter::Revoked {
            partitions: partitions.to_vec(),
            reply,
        };
        if self.data_tx.send(msg).await.is_err() {
            return Vec::new(); // the putter failed; nothing safe to commit
        }
        answer.await.unwrap_or_default()
    }

    async fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        self.assigned.extend_from_slice(partitions);
    }
}

impl Fetcher {
    async fn run(mut self) -> Result<(), ConnectError> {
        let result = self.fetch_loop().await;
        let closing = self.close(result.is_ok()).await;
        result.and(closing)
    }

    async fn fetch_loop(&mut self) -> Result<(), ConnectError> {
        // A closed channel means the putter failed.
        while !*self.stop.borrow() && !self.data_tx.is_closed() {
            if !self.apply_commands().await {
                return Ok(());
            }
            // Paused: the partitions are paused, and polling goes on so the task keeps its
            // group membership and commits.
            if let Some(paused) = self.pause.transition() {
                let assignment = self.consumer.assignment();
                if paused {
                    self.consumer.pause(&assignment);
                } else {
                    self.consumer.resume(&assignment);
                }
            }
            if Instant::now() >= self.lag_due {
                self.measure_lag().await;
            }
            let mut listener = Listener {
                data_tx: &self.data_tx,
                assigned: Vec::new(),
            };
            let records = match self.consumer.poll(POLL_TIMEOUT, &mut listener).await {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    tracing::warn!(task = %self.id, error = %e, "Retriable error from the consumer; polling again.");
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let newly_assigned = std::mem::take(&mut listener.assigned);
            if self.pause.is_paused() {
                self.consumer.pause(&newly_assigned);
            }
            if !newly_assigned.is_empty() {
                let starts = newly_assigned
                    .into_iter()
                    .map(|tp| {
                        let first = records
                            .iter()
                            .find(|r| r.partition == tp.partition && r.topic == tp.topic)
                            .map(|r| r.offset);
                        let start = first.or_else(|| self.consumer.position(&tp));
                        (tp, start)
                    })
                    .collect();
                if self.data_tx.send(ToPutter::Assigned(starts)).await.is_err() {
                    return Ok(());
                }
            }
            if self.pause.is_paused() && !records.is_empty() {
                // Records of partitions assigned while paused wait for the resume.
                self.rewind(&records);
                continue;
            }
            if records.is_empty() {
                // Like Kafka Connect, hand an empty batch to `put` when nothing arrived, so
                // connectors can do time-based work (flush buffers, roll files) while idle.
                // Skipped when the putter is still busy.
                let _ = self.data_tx.try_send(ToPutter::Batch {
                    records: Vec::new(),
                    ranges: Vec::new(),
                    originals: Vec::new(),
                });
                continue;
            }
            TaskCounters::add(&self.counters.polled, records.len());
            self.counters.topics.note(records.iter().map(|r| &r.topic));
            let (records, ranges, originals) = self.convert(records).await?;
            if self
                .data_tx
                .send(ToPutter::Batch {
                    records,
                    ranges,
                    originals,
                })
                .await
                .is_err()
            {
                return Ok(()); // the putter failed; its error is reported by the caller
            }
            // Let the putter take the batch while it is still in the cache.
            tokio::task::yield_now().await;
        }
        Ok(())
    }

    /// Measures the consumer lag of every assigned partition (end offset minus position)
    /// and schedules the next measurement. A topic whose end offsets cannot be read keeps
    /// its partitions out of the figures until the next try.
    async fn measure_lag(&mut self) {
        self.lag_due = Instant::now() + LAG_REFRESH_INTERVAL;
        let assignment = self.consumer.assignment();
        let mut lag = Vec::with_capacity(assignment.len());
        let mut ends: HashMap<Arc<str>, Vec<(i32, i64)>> = HashMap::new();
        for tp in assignment {
            if !ends.contains_key(&tp.topic) {
                let described = match self.admin.describe_topic(&tp.topic).await {
                    Ok(d) => d
                        .partitions
                        .iter()
                        .map(|p| (p.partition, p.latest_offset))
                        .collect(),
                    Err(e) => {
                        tracing::debug!(task = %self.id, topic = %tp.topic, error = %e, "Cannot read the end offsets for the consumer lag.");
                        Vec::new()
                    }
                };
                ends.insert(tp.topic.clone(), described);
            }
            let end = ends
                .get(&tp.topic)
                .and_then(|e| e.iter().find(|(p, _)| *p == tp.partition))
                .map(|(_, end)| *end);
            if let (Some(end), Some(position)) = (end, self.consumer.position(&tp)) {
                lag.push(PartitionLag {
                    lag: (end - position).max(0),
                    partition: tp,
                });
            }
        }
        self.counters.set_lag(lag);
    }

    /// Moves each partition of `records` back to its first record.
    fn rewind(&mut self, records: &[ConsumedRecord]) {
        let mut firsts: Vec<(TopicPartition, i64)> = Vec::new();
        for r in records {
            if !firsts
                .iter()
                .any(|(tp, _)| tp.partition == r.partition && tp.topic == r.topic)
            {
                firsts.push((TopicPartition::new(r.topic.clone(), r.partition), r.offset));
            }
        }
        for (tp, offset) in firsts {
            if let Err(e) = self.consumer.seek(&tp, SeekTo::Offset(offset)) {
                tracing::warn!(task = %self.id, partition = %tp, error = %e, "Cannot move the consumer position.");
            }
        }
    }

    /// Applies the putter's requests; false when the putter is gone.
    async fn apply_commands(&mut self) -> bool {
        while let Ok(cmd) = self.cmd_rx.try_recv() {
            match cmd {
                ToFetcher::Commit(offsets) => self.commit(&offsets).await,
                ToFetcher::Seek { targets, pause } => {
                    let partitions: Vec<TopicPartition> =
                        targets.iter().map(|(tp, _)| tp.clone()).collect();
                    for (tp, offset) in &targets {
                        if let Err(e) = self.consumer.seek(tp, SeekTo::Offset(*offset)) {
                            tracing::warn!(task = %self.id, partition = %tp, error = %e, "Cannot move the consumer position.");
                        }
                    }
                    if pause {
                        self.consumer.pause(&partitions);
                    }
                    if self
                        .data_tx
                        .send(ToPutter::Repositioned(partitions))
                        .await
                        .is_err()
                    {
                        return false;
                    }
                }
                ToFetcher::Resume(partitions) => self.consumer.resume(&partitions),
            }
        }
        true
    }

    async fn commit(&mut self, offsets: &[(TopicPartition, i64)]) {
        if offsets.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(self.flush_timeout, self.consumer.commit(offsets)).await;
        if matches!(outcome, Ok(Ok(()))) {
            self.counters.commit_time.record(started.elapsed());
        } else {
            TaskCounters::add(&self.counters.commit_failures, 1);
        }
        match outcome {
            Ok(Ok(())) => {
                TaskCounters::add(&self.counters.commits, 1);
                tracing::debug!(task = %self.id, partitions = offsets.len(), "Committed consumer offsets.");
            }
            Ok(Err(e)) => tracing::error!(
                task = %self.id,
                error = %e,
                "Failed to commit consumer offsets; will retry at the next interval."
            ),
            Err(_) => tracing::error!(
                task = %self.id,
                timeout_ms = self.flush_timeout.as_millis() as u64,
                "Timed out committing consumer offsets; will retry at the next interval."
            ),
        }
    }

    /// Final commit (when stopping normally), then leaves the group.
    async fn close(&mut self, graceful: bool) -> Result<(), ConnectError> {
        if graceful {
            self.apply_commands().await;
            let (reply, answer) = oneshot::channel();
            if self.data_tx.send(ToPutter::Shutdown(reply)).await.is_ok() {
                if let Ok(offsets) = answer.await {
                    self.commit(&offsets).await;
                }
            }
        }
        let mut listener = Listener {
            data_tx: &self.data_tx,
            assigned: Vec::new(),
        };
        let closed = self.consumer.close(&mut listener).await;
        // Closing the channel ends the putter, which then stops the task.
        let (closed_tx, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.data_tx, closed_tx));
        closed.map_err(ConnectError::from)
    }

    async fn convert(
        &mut self,
        consumed: Vec<ConsumedRecord>,
    ) -> Result<(Vec<SinkRecord>, Vec<Range>, Vec<ConsumedRecord>), ConnectError> {
        let mut out = Vec::with_capacity(consumed.len());
        let passthrough = self.errors.is_passthrough();
        let mut originals = Vec::with_capacity(if passthrough { 0 } else { consumed.len() });
        let mut ranges: Vec<Range> = Vec::new();
        let total = consumed.len();
        for rec in consumed {
            match ranges.last_mut() {
                // The topic names of one fetch are one `Arc`; another fetch has its own.
                Some((tp, _, next))
                    if tp.partition == rec.partition
                        && (Arc::ptr_eq(&tp.topic, &rec.topic) || tp.topic == rec.topic) =>
                {
                    *next = rec.offset + 1;
                }
                _ => match ranges
                    .iter_mut()
                    .find(|(tp, _, _)| tp.partition == rec.partition && tp.topic == rec.topic)
                {
                    Some((_, _, next)) => *next = rec.offset + 1,
                    None => ranges.push((
                        TopicPartition::new(rec.topic.clone(), rec.partition),
                        rec.offset,
                        rec.offset + 1,
                    )),
                },
            }
            if passthrough {
                if let Some(record) = self.pipeline.convert_owned(rec).map_err(|f| f.error)? {
                    out.push(record);
                }
                continue;
            }
            let converted = match self.pipeline.convert_ref(&rec) {
                Ok(converted) => converted,
                Err(failed) => {
                    let tp = TopicPartition::new(rec.topic.clone(), rec.partition);
                    if self.skipped.get(&tp).is_some_and(|o| *o >= rec.offset) {
                        continue; // reported and skipped on an earlier delivery
                    }
                    let recovered = self
                        .pipeline
                        .recover(&self.errors, &self.stop, &rec, failed)
                        .await?;
                    if recovered.is_none() {
                        self.skipped.insert(tp, rec.offset);
                    }
                    recovered
                }
            };
            if let Some(record) = converted {
                out.push(record);
                originals.push(rec);
            }
        }
        if out.len() < total {
            TaskCounters::add(&self.counters.dropped, total - out.len());
        }
        Ok((out, ranges, originals))
    }
}

/// The converters and transformation chain of a sink task.
struct Pipeline {
    converters: Converters,
    transforms: TransformChain,
}

impl Pipeline {
    /// Retries a failed record's conversion (retriable errors only), then reports the
    /// failure: `None` when the record is skipped, an error when the task must fail.
    async fn recover(
        &self,
        errors: &ErrorHandler,
        stop: &watch::Receiver<bool>,
        rec: &ConsumedRecord,
        failed: Failed,
    ) -> Result<Option<SinkRecord>, ConnectError> {
        // Only a failing record gets here; the lock is never contended.
        let last = Mutex::new((failed.stage, failed.class, failed.raised));
        let result = errors
            .retry(stop, || {
                self.convert_ref(rec).map_err(|f| {
                    *lock(&last) = (f.stage, f.class, f.raised);
                    f.error
                })
            })
            .await;
        let error = match result {
            Ok(converted) => return Ok(converted),
            Err(e) => e,
        };
        let (stage, class, raised) = last.into_inner().unwrap_or_else(|p| p.into_inner());
        let [key, value, header] = self.converters.class_names;
        let class_name = match class {
            FailedClass::Key => key,
            FailedClass::Value => value,
            FailedClass::Header => header,
            FailedClass::Transform(c) => c,
        };
        let failure = Failure {
            stage,
            class_name,
            record: Some(FailedRecord::Consumed(rec)),
            error: &error,
            raised: raised.as_deref(),
        };
        match errors.report(failure).await {
            Decision::Skip => Ok(None),
            Decision::Fail(e) => Err(e),
        }
    }

    /// Converts and transforms a record it may consume (the pass-through path).
    fn convert_owned(&self, rec: ConsumedRecord) -> Result<Option<SinkRecord>, Failed> {
        let ConsumedRecord {
            topic,
            partition,
            offset,
            timestamp,
            timestamp_type,
            key,
            value,
            headers,
        } = rec;
        let headers = headers.into_iter().map(|h| (h.key, h.value));
        let position = Position {
            partition,
            offset,
            timestamp,
            timestamp_type,
        };
        self.convert_parts(topic, position, key, value, headers)
    }

    /// Converts and transforms a record that is kept (for the dead-letter queue).
    fn convert_ref(&self, rec: &ConsumedRecord) -> Result<Option<SinkRecord>, Failed> {
        let headers = rec.headers.iter().map(|h| (h.key.clone(), h.value.clone()));
        let position = Position {
            partition: rec.partition,
            offset: rec.offset,
            timestamp: rec.timestamp,
            timestamp_type: rec.timestamp_type,
        };
        let (key, value) = (rec.key.clone(), rec.value.clone());
        self.convert_parts(Arc::clone(&rec.topic), position, key, value, headers)
    }

    /// Converts and transforms one consumed record of `original_topic`; `None` when a
    /// transformation dropped it. The name is taken rather than borrowed: each reference
    /// count change is an atomic instruction, and this is once per record.
    fn convert_parts(
        &self,
        original_topic: Arc<str>,
        at: Position,
        key: Option<Bytes>,
        value: Option<Bytes>,
        headers: impl Iterator<Item = (String, Option<Bytes>)>,
    ) -> Result<Option<SinkRecord>, Failed> {
        let topic: &str = &original_topic;
        // The location is built only when a conversion fails: no allocation per record.
        let (partition, offset) = (at.partition, at.offset);
        let fail = |stage: Stage, class: FailedClass| {
            move |e: ConnectError| Failed {
                error: e.at(
                    stage,
                    RecordLocation {
                        topic: topic.to_string(),
                        partition: Some(partition),
                        offset: Some(offset),
                    },
                ),
                stage,
                class,
                raised: None,
            }
        };
        let key = self
            .converters
            .key
            .to_connect_data(topic, key)
            .map_err(fail(Stage::KeyConverter, FailedClass::Key))?;
        let value = self
            .converters
            .value
            .to_connect_data(topic, value)
            .map_err(fail(Stage::ValueConverter, FailedClass::Value))?;
        let mut connect_headers = Headers::new();
        for (name, data) in headers {
            let v = self
                .converters
                .header
                .to_connect_header(topic, &name, data)
                .map_err(fail(Stage::HeaderConverter, FailedClass::Header))?;
            connect_headers.add(name, v.schema, v.value);
        }
        let timestamp = (at.timestamp_type != TimestampType::NoTimestamp).then_some(at.timestamp);
        let mut record = ConnectRecord {
            topic: Arc::clone(&original_topic),
            kafka_partition: Some(partition),
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp,
            headers: connect_headers,
            kafka_offset: Some(offset),
            timestamp_type: at.timestamp_type,
        };
        if !self.transforms.is_empty() {
            match self.transforms.apply(record) {
                Ok(Some(transformed)) => record = transformed,
                Ok(None) => return Ok(None),
                Err(e) => {
                    let class = FailedClass::Transform(e.class_name);
                    let raised = Box::new(clone_error(&e.source));
                    let mut failed = fail(Stage::Transformation, class)(e.into_connect_error());
                    failed.raised = Some(raised);
                    return Err(failed);
                }
            }
        }
        Ok(Some(SinkRecord {
            record,
            original_topic,
            original_partition: partition,
            original_offset: offset,
        }))
    }
}

/// Where in its topic a consumed record sits, and its timestamp.
#[derive(Clone, Copy)]
struct Position {
    partition: i32,
    offset: i64,
    timestamp: i64,
    timestamp_type: TimestampType,
}

struct Putter {
    id: ConnectorTaskId,
    task: Box<dyn SinkTask>,
    control: Arc<Control>,
    /// Next offset to commit per assigned partition (after the last record put).
    current: HashMap<TopicPartition, i64>,
    assigned: Vec<TopicPartition>,
    /// Partitions being repositioned: their records are dropped until the seek is confirmed.
    discarding: HashSet<TopicPartition>,
    cmd_tx: mpsc::UnboundedSender<ToFetcher>,
    counters: Arc<TaskCounters>,
    flush_interval: Duration,
    backoff: Duration,
    errors: Arc<ErrorHandler>,
    /// Partitions whose records up to (not including) these offsets are put one at a time,
    /// after a batch of them failed `put` with `errors.tolerance=all`.
    isolating: Vec<(TopicPartition, i64)>,
}

impl Putter {
    async fn run(mut self, rx: mpsc::Receiver<ToPutter>) -> Result<(), ConnectError> {
        let result = self.put_loop(rx).await;
        let stopped = self.task.stop().await;
        result.and(stopped)
    }

    async fn put_loop(&mut self, mut rx: mpsc::Receiver<ToPutter>) -> Result<(), ConnectError> {
        let mut next_commit = Instant::now() + self.flush_interval;
        loop {
            tokio::select! {
                biased;
                msg = rx.recv() => match msg {
                    None => return Ok(()),
                    Some(msg) => self.handle(msg).await?,
                },
                _ = tokio::time::sleep_until(next_commit) => {
                    self.commit().await;
                    next_commit = Instant::now() + self.flush_interval;
                }
            }
            if self.control.commit_requested.swap(false, Ordering::AcqRel) {
                self.commit().await;
                next_commit = Instant::now() + self.flush_interval;
            }
            self.apply_control();
        }
    }

    async fn handle(&mut self, msg: ToPutter) -> Result<(), ConnectError> {
        match msg {
            ToPutter::Batch {
                records,
                ranges,
                originals,
            } => self.put(records, ranges, originals).await?,
            ToPutter::Assigned(partitions) => {
                let tps: Vec<TopicPartition> =
                    partitions.iter().map(|(tp, _)| tp.clone()).collect();
                for (tp, start) in partitions {
                    if let Some(start) = start {
                        self.current.insert(tp.clone(), start);
                    }
                    if !self.assigned.contains(&tp) {
                        self.assigned.push(tp);
                    }
                }
                *lock(&self.control.assignment) = self.assigned.clone();
                tracing::info!(task = %self.id, partitions = %list(&tps), "Partitions assigned.");
                self.task.open(&tps).await?;
            }
            ToPutter::Revoked { partitions, reply } => {
                let owned: Vec<TopicPartition> = partitions
                    .into_iter()
                    .filter(|tp| self.assigned.contains(tp))
                    .collect();
                let offsets = self.release(&owned).await?;
                if !owned.is_empty() {
                    tracing::info!(task = %self.id, partitions = %list(&owned), "Partitions revoked.");
                }
                let _ = reply.send(offsets);
            }
            ToPutter::Repositioned(partitions) => {
                for tp in &partitions {
                    self.discarding.remove(tp);
                }
            }
            ToPutter::Shutdown(reply) => {
                let all = self.assigned.clone();
                let offsets = self.release(&all).await?;
                let _ = reply.send(offsets);
            }
        }
        Ok(())
    }

    /// pre_commit and close for partitions being given up; returns what to commit.
    async fn release(&mut self, partitions: &[TopicPartition]) -> Result<Offsets, ConnectError> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let offsets = self.pre_commit(partitions).await;
        self.task.close(partitions).await?;
        for tp in partitions {
            self.current.remove(tp);
            self.discarding.remove(tp);
        }
        self.isolating.retain(|(tp, _)| !partitions.contains(tp));
        self.assigned.retain(|tp| !partitions.contains(tp));
        *lock(&self.control.assignment) = self.assigned.clone();
        Ok(offsets)
    }

    async fn put(
        &mut self,
        mut records: Vec<SinkRecord>,
        mut ranges: Vec<Range>,
        mut originals: Vec<ConsumedRecord>,
    ) -> Result<(), ConnectError> {
        if !self.discarding.is_empty() && !records.is_empty() {
            let skip = |topic: &Arc<str>, partition: i32| {
                self.discarding
                    .iter()
                    .any(|tp| tp.partition == partition && tp.topic == *topic)
            };
            records.retain(|r| !skip(&r.original_topic, r.original_partition));
            originals.retain(|r| !skip(&r.topic, r.partition));
            ranges.retain(|(tp, _, _)| !skip(&tp.topic, tp.partition));
            if records.is_empty() {
                return Ok(());
            }
        }
        if !self.isolating.is_empty() && self.overlaps_isolation(&ranges) {
            return self.put_one_by_one(records, ranges, originals).await;
        }
        let n = records.len();
        let started = std::time::Instant::now();
        let outcome = self.task.put(records).await;
        self.handle_errant(&originals).await?;
        match outcome {
            Ok(()) => {
                self.counters.put_batch.record(started.elapsed());
                for (tp, _, next) in ranges {
                    self.current.insert(tp, next);
                }
                TaskCounters::add(&self.counters.put, n);
                self.backoff = RETRY_BACKOFF_START;
                Ok(())
            }
            Err(e) if e.is_retriable() => {
                self.redeliver(ranges, &e).await;
                Ok(())
            }
            Err(e) if self.errors.policy().tolerance == Tolerance::All && n > 0 => {
                tracing::warn!(
                    task = %self.id,
                    error = %e,
                    records = n,
                    "SinkTask.put failed; the batch will be put again one record at a time to \
                     find the records that fail."
                );
                let mut targets = Vec::with_capacity(ranges.len());
                for (tp, first, next) in ranges {
                    match self.isolating.iter_mut().find(|(t, _)| *t == tp) {
                        Some((_, end)) => *end = (*end).max(next),
                        None => self.isolating.push((tp.clone(), next)),
                    }
                    targets.push((tp, first));
                }
                self.reposition(targets, false);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn overlaps_isolation(&self, ranges: &[Range]) -> bool {
        ranges.iter().any(|(tp, first, _)| {
            self.isolating
                .iter()
                .any(|(t, end)| t == tp && *first < *end)
        })
    }

    /// Puts each record on its own; a record whose `put` fails (not retriably) is reported
    /// (`TASK_PUT`) and skipped as `errors.tolerance=all` allows.
    async fn put_one_by_one(
        &mut self,
        records: Vec<SinkRecord>,
        ranges: Vec<Range>,
        originals: Vec<ConsumedRecord>,
    ) -> Result<(), ConnectError> {
        let mut put = 0;
        for (i, record) in records.into_iter().enumerate() {
            let location = RecordLocation {
                topic: record.original_topic.to_string(),
                partition: Some(record.original_partition),
                offset: Some(record.original_offset),
            };
            let outcome = self.task.put(vec![record]).await;
            self.handle_errant(&originals).await?;
            match outcome {
                Ok(()) => put += 1,
                Err(e) if e.is_retriable() => {
                    TaskCounters::add(&self.counters.put, put);
                    self.redeliver(ranges, &e).await;
                    return Ok(());
                }
                Err(e) => {
                    let error = e.at(Stage::TaskPut, location);
                    let failure = Failure {
                        stage: Stage::TaskPut,
                        class_name: SINK_TASK_CLASS,
                        record: originals.get(i).map(FailedRecord::Consumed),
                        error: &error,
                        raised: None,
                    };
                    if let Decision::Fail(e) = self.errors.report(failure).await {
                        return Err(e);
                    }
                }
            }
        }
        TaskCounters::add(&self.counters.put, put);
        self.backoff = RETRY_BACKOFF_START;
        for (tp, _, next) in ranges {
            self.isolating
                .retain(|(t, end)| !(*t == tp && next >= *end));
            self.current.insert(tp, next);
        }
        Ok(())
    }

    /// Handles the records the task reported through its errant-record reporter during the
    /// last `put`: each is logged and sent to the dead-letter queue (with the bytes it was
    /// consumed with, found in `originals`); with `errors.tolerance=none` the task fails.
    async fn handle_errant(&mut self, originals: &[ConsumedRecord]) -> Result<(), ConnectError> {
        for report in self.control.errant.take() {
            let original = originals.iter().find(|o| {
                o.offset == report.offset
                    && o.partition == report.partition
                    && o.topic == report.topic
            });
            let location = RecordLocation {
                topic: report.topic.to_string(),
                partition: Some(report.partition),
                offset: Some(report.offset),
            };
            let error = report.error.at(Stage::TaskPut, location);
            let failure = Failure {
                stage: Stage::TaskPut,
                class_name: SINK_TASK_CLASS,
                record: original.map(FailedRecord::Consumed),
                error: &error,
                raised: None,
            };
            if let Decision::Fail(e) = self.errors.report(failure).await {
                return Err(e);
            }
        }
        Ok(())
    }

    /// A retriable `put` failure: the batch is delivered again after a backoff.
    async fn redeliver(&mut self, ranges: Vec<Range>, error: &ConnectError) {
        tracing::warn!(
            task = %self.id,
            error = %error,
            backoff_ms = self.backoff.as_millis() as u64,
            "SinkTask.put asked for a retry; the batch will be delivered again."
        );
        let targets: Offsets = ranges
            .into_iter()
            .map(|(tp, first, _)| (tp, first))
            .collect();
        self.reposition(targets, false);
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(RETRY_BACKOFF_MAX);
    }

    /// Asks the fetcher to seek (and maybe pause), dropping records in between.
    fn reposition(&mut self, targets: Offsets, pause: bool) {
        if targets.is_empty() {
            return;
        }
        for (tp, _) in &targets {
            self.discarding.insert(tp.clone());
        }
        let _ = self.cmd_tx.send(ToFetcher::Seek { targets, pause });
    }

    fn apply_control(&mut self) {
        for op in self.control.take() {
            match op {
                ControlOp::Pause(partitions) => {
                    let targets: Offsets = partitions
                        .into_iter()
                        .filter_map(|tp| self.current.get(&tp).map(|o| (tp, *o)))
                        .collect();
                    self.reposition(targets, true);
                }
                ControlOp::Resume(partitions) => {
                    let _ = self.cmd_tx.send(ToFetcher::Resume(partitions));
                }
                ControlOp::Reset(offsets) => {
                    let targets: Offsets = offsets
                        .into_iter()
                        .filter(|(tp, _)| self.assigned.contains(tp))
                        .collect();
                    for (tp, offset) in &targets {
                        self.current.insert(tp.clone(), *offset);
                    }
                    self.reposition(targets, false);
                }
            }
        }
    }

    /// Calls pre_commit with the current offsets of `partitions` and returns what the task
    /// says is safe to commit, limited to those partitions.
    async fn pre_commit(&mut self, partitions: &[TopicPartition]) -> Offsets {
        let offsets: HashMap<TopicPartition, i64> = partitions
            .iter()
            .filter_map(|tp| self.current.get(tp).map(|o| (tp.clone(), *o)))
            .collect();
        if offsets.is_empty() {
            return Vec::new();
        }
        match self.task.pre_commit(offsets).await {
            Ok(safe) => {
                let mut out = Vec::with_capacity(safe.len());
                for (tp, offset) in safe {
                    if partitions.contains(&tp) {
                        out.push((tp, offset));
                    } else {
                        tracing::warn!(task = %self.id, partition = %tp, "Ignoring an offset returned by pre_commit for a partition the task does not own.");
                    }
                }
                out
            }
            Err(e) => {
                tracing::error!(task = %self.id, error = %e, "SinkTask.pre_commit failed; skipping this offset commit.");
                Vec::new()
            }
        }
    }

    async fn commit(&mut self) {
        let all = self.assigned.clone();
        let offsets = self.pre_commit(&all).await;
        if !offsets.is_empty() {
            let _ = self.cmd_tx.send(ToFetcher::Commit(offsets));
        }
    }
}

fn list(partitions: &[TopicPartition]) -> String {
    partitions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

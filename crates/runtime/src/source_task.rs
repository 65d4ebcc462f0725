//! The source task loop.
//!
//! Each source task runs as two stages joined by a small bounded channel, so the connector's
//! `poll` overlaps with conversion and sending whenever one of them waits. Both stages run
//! on the task's own thread (see [`crate::dedicated`]); the driver yields after handing
//! over a batch, so a CPU-bound task converts and writes each batch right after polling
//! it, with the records still in the cache and freed by the thread that allocated them:
//!
//! ```text
//!  driver:  start → poll → poll → poll → ...              (owns the SourceTask)
//!                     │ batch
//!  sender:            └→ transform → convert → LogProducer::send ──┐
//!                        (owns the transformation chain, converters and producer)
//!                        in flight: ≤ 8 sends, ≤ 32 MiB │
//!                        ack (in send order) ←──────────┘
//!                        → offsets of acknowledged records become committable
//!                        → every offset.flush.interval.ms: write them, then task.commit()
//! ```
//!
//! Acknowledgements are handled in send order, so an offset becomes committable only when
//! its record and every earlier record of the task are in the log. On stop the driver stops
//! polling, the sender drains what is in flight and commits the final offsets, and then the
//! task is stopped.
//!
//! A record a transformation drops is not sent, but its source offset counts as processed: it
//! becomes committable with the send of its batch, as Kafka Connect commits the offsets of
//! filtered records. Without transformations records go straight to conversion, with no extra
//! work per record.
//!
//! # Exactly-once
//!
//! With [`TaskTransactions`] (see [`crate::exactly_once`]) the producer is transactional.
//! The task registers its transactional id before it starts (fencing older instances) and
//! reads the offsets topic to the end; the sender then opens a transaction with the first
//! batch, sends records as above, and at each boundary writes the offsets of every record of
//! the transaction to the offsets topic with the same producer and commits. Records are
//! acknowledged (`commit_record`, `commit`) only once their transaction committed. A failed
//! send or commit aborts the transaction and fails the task; a fenced producer fails the task
//! with a message saying a newer instance took over.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sluice_api::config::ConfigMap;
use sluice_api::connector::{SourceTask, SourceTaskContext};
use sluice_api::error::{RecordLocation, Stage};
use sluice_api::{ConnectError, ConnectRecord, OffsetMap, SourceRecord};
use sluice_log::{
    DeliveryFuture, LogError, LogHeader, LogProducer, LogResult, ProduceRecord, RecordMetadata,
};
use sluice_transforms::TransformChain;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::converters::Converters;
use crate::error_handling::{Decision, ErrorHandler, FailedRecord, Failure};
use crate::exactly_once::{TaskTransactions, TransactionBoundary, TransactionEnd};
use crate::metrics::TaskCounters;
use crate::offsets::{codec, ConnectorOffsetReader, OffsetStore};
use crate::pause::PauseSignal;
use crate::status::{ConnectorTaskId, State, StatusBoard};

/// Most sends awaiting acknowledgement per task. Deep enough that a source of small
/// batches (Datagen polls 1,000 records) keeps a remote log's pipeline full across its
/// round trips (8 held Datagen into Kafka to a third of the rate); memory is bounded by
/// the bytes below, as a Kafka producer's `buffer.memory` bounds Kafka Connect's.
const MAX_IN_FLIGHT_SENDS: usize = 64;
/// Most payload bytes awaiting acknowledgement per task.
const MAX_IN_FLIGHT_BYTES: usize = 32 << 20;
/// Polled batches waiting for the sender.
const BATCH_QUEUE: usize = 2;
/// How often a paused task checks whether it should stop.
const PAUSE_CHECK: Duration = Duration::from_millis(100);
/// Queued batches are merged into one send up to this many records.
const MAX_SEND_RECORDS: usize = 4_096;

/// Everything a source task needs to run.
pub(crate) struct SourceTaskRun {
    pub id: ConnectorTaskId,
    pub task: Box<dyn SourceTask>,
    pub config: ConfigMap,
    pub converters: Converters,
    pub transforms: TransformChain,
    pub producer: Arc<dyn LogProducer>,
    pub offsets: Arc<dyn OffsetStore>,
    pub flush_interval: Duration,
    pub flush_timeout: Duration,
    pub counters: Arc<TaskCounters>,
    pub status: StatusBoard,
    pub stop: watch::Receiver<bool>,
    pub pause: PauseSignal,
    /// The task's error policy at work (no dead-letter queue for sources, as in Kafka).
    pub errors: Arc<ErrorHandler>,
    /// Set when the task runs exactly-once (its producer is then transactional).
    pub transactions: Option<TaskTransactions>,
    /// Report the task as stalled after this long without progress while the log holds
    /// records of it unacknowledged (`errors.stall.timeout.ms`; `None`: never). Not used
    /// for exactly-once tasks (see [`stall_probe`]).
    pub stall_timeout: Option<Duration>,
}

/// A batch from the driver to the sender, with the end of the transaction that follows it
/// (only with connector-defined transaction boundaries).
struct Polled {
    records: Vec<SourceRecord>,
    end: Option<TransactionEnd>,
}

/// Records of one acknowledged send (before transformation), the indices of those a
/// transformation dropped (ascending), and the metadata of the written ones, in order.
type AckedRecords = (Vec<SourceRecord>, Vec<usize>, Vec<RecordMetadata>);

impl SourceTaskRun {
    /// Runs the task until stopped (`Ok`) or failed (`Err`), on a thread of its own.
    pub(crate) async fn run(self) -> Result<(), ConnectError> {
        let name = format!("sluice-src-{}", self.id.task);
        let main = tokio::runtime::Handle::current();
        crate::dedicated::run(name, "source", self.run_stages(main)).await
    }

    /// The driver and the sender, on the current (single-threaded) runtime; `main` runs
    /// the stall watch, which must not wait for a busy task.
    async fn run_stages(self, main: tokio::runtime::Handle) -> Result<(), ConnectError> {
        let SourceTaskRun {
            id,
            mut task,
            config,
            converters,
            transforms,
            producer,
            offsets,
            flush_interval,
            flush_timeout,
            counters,
            status,
            stop,
            mut pause,
            errors,
            transactions,
            stall_timeout,
        } = self;
        if let Some(t) = &transactions {
            start_transactions(&id, &*producer, t).await?;
        }
        let requests = transactions.as_ref().and_then(|t| t.requests.clone());
        let context = SourceTaskContext {
            connector: id.connector.to_string(),
            task_id: id.task,
            offsets: Arc::new(ConnectorOffsetReader::new(&*id.connector, offsets.clone())),
            transaction_context: requests
                .clone()
                .map(|r| r as Arc<dyn sluice_api::connector::TransactionContext>),
        };
        task.start(&config, context).await?;
        status.set_task(&id, State::Running, None);
        let stall_watch = stall_timeout
            .filter(|_| transactions.is_none())
            .map(|timeout| {
                let baseline = Baseline::of(&counters);
                let _main = main.enter();
                crate::restart::spawn_stall_watch(
                    id.clone(),
                    timeout,
                    counters.clone(),
                    status.clone(),
                    move |c| stall_probe(c, baseline),
                    "the log acknowledged none of its records and no offsets were committed \
                     while records it sent wait for an acknowledgement",
                )
            });

        let wants_acks = task.wants_record_acks();
        let (batch_tx, batch_rx) = mpsc::channel(BATCH_QUEUE);
        let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<AckedRecords>();
        let committed = Arc::new(AtomicBool::new(false));
        let sender = Sender {
            connector: id.connector.clone(),
            converters,
            transforms,
            producer,
            store: offsets,
            flush_interval,
            flush_timeout,
            counters: counters.clone(),
            ack_tx: wants_acks.then_some(ack_tx),
            committed: committed.clone(),
            in_flight: VecDeque::new(),
            in_flight_bytes: 0,
            committable: HashMap::new(),
            last_key: None,
            rx: batch_rx,
            errors,
            stop: stop.clone(),
            txn: transactions.map(|settings| Transaction {
                settings,
                open: false,
                records: 0,
                last_commit: Instant::now(),
            }),
        };
        // On this thread: the sender runs whenever the driver waits, and right after each
        // batch the driver hands over.
        let sender = tokio::spawn(sender.run());

        let mut result = Ok(());
        // A finished sender means it failed (it runs until the channel closes).
        while !*stop.borrow() && !sender.is_finished() {
            pause.transition();
            if pause.is_paused() {
                // Paused: no polling; the sender still commits what was written.
                pause.changed_within(PAUSE_CHECK).await;
                continue;
            }
            deliver_acks(task.as_mut(), &mut ack_rx);
            if committed.swap(false, Ordering::AcqRel) {
                commit_task(&id, task.as_mut()).await;
            }
            let poll_started = std::time::Instant::now();
            match task.poll().await {
                Ok(batch) if requests.is_some() => {
                    if !batch.is_empty() {
                        counters.poll_batch.record(poll_started.elapsed());
                        TaskCounters::add(&counters.polled, batch.len());
                    }
                    let parts = requests
                        .as_ref()
                        .map(|r| r.split(&id.connector, batch))
                        .unwrap_or_default();
                    let mut sent = true;
                    for (records, end) in parts {
                        if records.is_empty() && end.is_none() {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            continue;
                        }
                        if batch_tx.send(Polled { records, end }).await.is_err() {
                            sent = false;
                            break;
                        }
                    }
                    if !sent {
                        break; // the sender failed; its error is collected below
                    }
                }
                Ok(batch) if batch.is_empty() => {
                    // Nothing ready; poll should have waited, so avoid spinning.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok(batch) => {
                    counters.poll_batch.record(poll_started.elapsed());
                    TaskCounters::add(&counters.polled, batch.len());
                    let polled = Polled {
                        records: batch,
                        end: None,
                    };
                    if batch_tx.send(polled).await.is_err() {
                        break; // the sender failed; its error is collected below
                    }
                    // Let the sender take the batch while it is still in the cache.
                    tokio::task::yield_now().await;
                }
                Err(e) if e.is_retriable() => {
                    tracing::warn!(task = %id, error = %e, "Retriable error from poll; polling again.");
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(batch_tx);
        let sent = sender.await.unwrap_or_else(|e| {
            Err(ConnectError::Connect {
                message: "the task's sender stopped unexpectedly".into(),
                source: Some(Box::new(e)),
            })
        });
        deliver_acks(task.as_mut(), &mut ack_rx);
        if committed.swap(false, Ordering::AcqRel) {
            commit_task(&id, task.as_mut()).await;
        }
        let stopped = task.stop().await;
        // Stops watching and clears the stall flag.
        drop(stall_watch);
        result.and(sent).and(stopped)
    }
}

/// A source task's `sent` and `written` counters when it started (the counters live on
/// across automatic restarts, and a failed run may leave sends it never saw acknowledged).
#[derive(Debug, Clone, Copy)]
struct Baseline {
    sent: u64,
    written: u64,
}

impl Baseline {
    fn of(counters: &TaskCounters) -> Self {
        Baseline {
            sent: counters.sent.load(Ordering::Relaxed),
            written: counters.written.load(Ordering::Relaxed),
        }
    }
}

/// What the stall watcher reads of a source task (see [`crate::restart`]). Progress is a
/// record acknowledged by the log or an offset commit; work waits while records it handed
/// to the producer in this run are not acknowledged. A task whose `poll` returns nothing has
/// nothing unacknowledged, so an idle source is never stalled: only one whose producer
/// stopped acknowledging (a log that accepts no writes, a send that never completes).
///
/// Exactly-once tasks are not watched: their records count as acknowledged only when their
/// transaction commits, which the connector (`transaction.boundary=connector`) or a long
/// interval may rightly hold back.
fn stall_probe(counters: &TaskCounters, start: Baseline) -> crate::restart::StallProbe {
    let now = Baseline::of(counters);
    crate::restart::StallProbe {
        progress: now.written + counters.commits.load(Ordering::Relaxed),
        input: 0,
        backlog: now.sent.saturating_sub(start.sent) > now.written.saturating_sub(start.written),
    }
}

fn deliver_acks(task: &mut dyn SourceTask, acks: &mut mpsc::UnboundedReceiver<AckedRecords>) {
    while let Ok((records, dropped, metadata)) = acks.try_recv() {
        let mut dropped = dropped.into_iter().peekable();
        let mut metadata = metadata.iter();
        for (i, record) in records.iter().enumerate() {
            if dropped.next_if_eq(&i).is_some() {
                task.commit_record(record, None);
            } else if let Some(meta) = metadata.next() {
                task.commit_record(record, Some((meta.partition, meta.offset)));
            }
        }
    }
}

/// Registers an exactly-once task's transactional id (fencing older instances of the task)
/// and reads the offsets topic to the end, so the task starts from what committed
/// transactions wrote.
async fn start_transactions(
    id: &ConnectorTaskId,
    producer: &dyn LogProducer,
    t: &TaskTransactions,
) -> Result<(), ConnectError> {
    producer
        .init_transactions()
        .await
        .map_err(|e| ConnectError::Connect {
            message: format!(
                "task {id} could not register its transactional producer '{}'",
                t.transactional_id
            ),
            source: Some(Box::new(e)),
        })?;
    t.offsets
        .refresh()
        .await
        .map_err(|e| ConnectError::Connect {
            message: format!(
                "task {id} could not read the offsets topic '{}' before starting",
                t.offsets.topic()
            ),
            source: Some(Box::new(e)),
        })
}

/// The error of a failed transaction step; a fenced producer gets its own message.
fn transaction_error(
    connector: &str,
    t: &TaskTransactions,
    step: &str,
    e: LogError,
) -> ConnectError {
    match e {
        LogError::Fenced { .. } => fenced(connector, t),
        e => ConnectError::Connect {
            message: format!(
                "{step} a transaction of connector '{connector}' (transactional id '{}') \
                 failed; the transaction is aborted",
                t.transactional_id
            ),
            source: Some(Box::new(e)),
        },
    }
}

/// The error of a fenced task; its cause is the log's [`LogError::Fenced`], which tells the
/// automatic restarts (`crate::restart`) not to restart it: the newer instance owns the task.
fn fenced(connector: &str, t: &TaskTransactions) -> ConnectError {
    let message = format!(
        "This task of connector '{connector}' was fenced: a newer instance of it registered \
         the transactional id '{}' (after a restart, a reconfiguration or a move to another \
         worker), so this instance stopped without committing its open transaction. The newer \
         instance continues from the last committed offsets.",
        t.transactional_id
    );
    ConnectError::Connect {
        message,
        source: Some(Box::new(LogError::Fenced {
            transactional_id: t.transactional_id.clone(),
        })),
    }
}

async fn commit_task(id: &ConnectorTaskId, task: &mut dyn SourceTask) {
    if let Err(e) = task.commit().await {
        tracing::warn!(task = %id, error = %e, "SourceTask.commit failed.");
    }
}

/// One send awaiting acknowledgement.
struct InFlight {
    ack: DeliveryFuture,
    records: usize,
    bytes: usize,
    /// The last offset of each source partition in the send, in order.
    offsets: Vec<(Arc<OffsetMap>, OffsetMap)>,
    /// The records as polled and the indices of those dropped by a transformation, kept
    /// only for tasks that want per-record acknowledgements.
    kept: Option<(Vec<SourceRecord>, Vec<usize>)>,
    /// The acknowledgement when it arrived before it could be handled (an exactly-once
    /// task checks its sends before committing, but handles them after).
    result: Option<LogResult<Vec<RecordMetadata>>>,
}

/// The transaction state of an exactly-once task's sender.
struct Transaction {
    settings: TaskTransactions,
    /// A transaction is open (begun with the first batch after a commit).
    open: bool,
    /// Records polled into the open transaction.
    records: usize,
    /// When the last transaction committed (or the task started).
    last_commit: Instant,
}

struct Sender {
    connector: Arc<str>,
    converters: Converters,
    transforms: TransformChain,
    producer: Arc<dyn LogProducer>,
    store: Arc<dyn OffsetStore>,
    flush_interval: Duration,
    flush_timeout: Duration,
    counters: Arc<TaskCounters>,
    ack_tx: Option<mpsc::UnboundedSender<AckedRecords>>,
    committed: Arc<AtomicBool>,
    in_flight: VecDeque<InFlight>,
    in_flight_bytes: usize,
    /// Acknowledged offsets not yet written: stored key → offset.
    committable: HashMap<Vec<u8>, OffsetMap>,
    /// The stored key of the last source partition seen (usually the same `Arc`).
    last_key: Option<(Arc<OffsetMap>, Vec<u8>)>,
    rx: mpsc::Receiver<Polled>,
    errors: Arc<ErrorHandler>,
    stop: watch::Receiver<bool>,
    /// Set for an exactly-once task.
    txn: Option<Transaction>,
}

/// A source record that failed transformation or conversion, with the failing class.
struct SourceFailure {
    error: ConnectError,
    class_name: &'static str,
}

async fn front_ack(queue: &mut VecDeque<InFlight>) -> LogResult<Vec<RecordMetadata>> {
    match queue.front_mut() {
        Some(f) => match f.result.take() {
            Some(result) => result,
            None => f.ack.as_mut().await,
        },
        None => std::future::pending().await,
    }
}

impl Sender {
    async fn run(mut self) -> Result<(), ConnectError> {
        if self.txn.is_some() {
            let result = self.run_transactional().await;
            if result.is_err() {
                self.abandon_transaction().await;
            }
            return result;
        }
        let mut next_flush = Instant::now() + self.flush_interval;
        loop {
            let room = self.in_flight.len() < MAX_IN_FLIGHT_SENDS
                && self.in_flight_bytes < MAX_IN_FLIGHT_BYTES;
            tokio::select! {
                biased;
                ack = front_ack(&mut self.in_flight), if !self.in_flight.is_empty() => {
                    self.acknowledged(ack)?;
                }
                _ = tokio::time::sleep_until(next_flush) => {
                    self.flush_offsets().await;
                    next_flush = Instant::now() + self.flush_interval;
                }
                batch = self.rx.recv(), if room => match batch {
                    Some(batch) => {
                        self.send(batch).await?;
                    }
                    None => break,
                },
            }
        }
        while !self.in_flight.is_empty() {
            let ack = front_ack(&mut self.in_flight).await;
            self.acknowledged(ack)?;
        }
        self.flush_offsets().await;
        Ok(())
    }

    /// Transforms and converts a polled batch (merged with any others already queued) and
    /// sends it. A record that fails goes through the error handler: skipped (and logged)
    /// with `errors.tolerance=all`, else the task fails.
    /// Returns the end of transaction asked after the batch (connector-defined boundaries).
    async fn send(&mut self, polled: Polled) -> Result<Option<TransactionEnd>, ConnectError> {
        let Polled {
            records: mut batch,
            mut end,
        } = polled;
        while end.is_none() && batch.len() < MAX_SEND_RECORDS {
            match self.rx.try_recv() {
                Ok(more) => {
                    batch.extend(more.records);
                    end = more.end;
                }
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            return Ok(end);
        }
        if let Some(t) = self.txn.as_mut() {
            if !t.open {
                self.producer
                    .begin_transaction()
                    .await
                    .map_err(|e| transaction_error(&self.connector, &t.settings, "beginning", e))?;
                t.open = true;
            }
            t.records += batch.len();
        }
        let keep = self.ack_tx.is_some();
        let handled = !self.errors.is_passthrough();
        // A transformation consumes its input: keep a copy only when a retry may need it.
        let copy_input =
            keep || (handled && self.errors.policy().retry_timeout != Some(Duration::ZERO));
        // Nothing reads a record after its conversion: the converters may take its data.
        let consume = !keep && !handled;
        let mut out = Vec::with_capacity(batch.len());
        let mut bytes = 0;
        if consume && self.transforms.is_empty() {
            // Each record moves into its converted form while it is in the cache; the
            // offsets to commit are taken out first.
            let offsets = last_offsets(&mut batch, false);
            for record in batch.drain(..) {
                let produced = convert_owned(&self.converters, record).map_err(|f| f.error)?;
                bytes += produced_bytes(&produced);
                out.push(produced);
            }
            return Ok(self.dispatch(out, bytes, offsets, None, end));
        }
        let mut dropped = Vec::new();
        let mut dropped_count = 0;
        for (i, record) in batch.iter_mut().enumerate() {
            let outcome = if self.transforms.is_empty() {
                convert(&self.converters, record, &record.record).map(Some)
            } else {
                // The task acknowledges records as it polled them, so keep those it wants.
                let input = if copy_input {
                    record.record.clone()
                } else {
                    take_record(&mut record.record)
                };
                transform_and_convert(&self.transforms, &self.converters, record, input)
            };
            let produced = match outcome {
                Ok(produced) => produced,
                Err(f) if !handled => return Err(f.error),
                Err(f) => {
                    recover(
                        &self.errors,
                        &self.stop,
                        &self.transforms,
                        &self.converters,
                        record,
                        f,
                        copy_input || self.transforms.is_empty(),
                    )
                    .await?
                }
            };
            match produced {
                Some(produced) => {
                    bytes += produced_bytes(&produced);
                    out.push(produced);
                }
                None => {
                    dropped_count += 1;
                    if keep {
                        dropped.push(i);
                    }
                }
            }
        }
        TaskCounters::add(&self.counters.dropped, dropped_count);
        let offsets = last_offsets(&mut batch, keep);
        Ok(self.dispatch(out, bytes, offsets, keep.then_some((batch, dropped)), end))
    }

    /// Sends the converted records `out` (`bytes` of payload) and queues the send with the
    /// source `offsets` it completes and the polled records kept for acknowledgements;
    /// returns `end`, the end of transaction asked after the batch.
    fn dispatch(
        &mut self,
        out: Vec<ProduceRecord>,
        bytes: usize,
        offsets: Vec<(Arc<OffsetMap>, OffsetMap)>,
        kept: Option<(Vec<SourceRecord>, Vec<usize>)>,
        end: Option<TransactionEnd>,
    ) -> Option<TransactionEnd> {
        self.counters.topics.note(out.iter().map(|r| &r.topic));
        let records = out.len();
        let ack = if out.is_empty() {
            // Everything was dropped: nothing to write, but the offsets still advance in
            // send order.
            let nothing: DeliveryFuture = Box::pin(std::future::ready(Ok(Vec::new())));
            nothing
        } else {
            TaskCounters::add(&self.counters.sent, records);
            if kept.is_some() {
                self.producer.send(out)
            } else {
                // Only `commit_record` reads where records were written.
                self.producer.send_without_metadata(out)
            }
        };
        self.in_flight.push_back(InFlight {
            ack,
            records,
            bytes,
            offsets,
            kept,
            result: None,
        });
        self.in_flight_bytes += bytes;
        end
    }

    /// The exactly-once loop: sends batches inside transactions and ends them per the
    /// transaction boundary; at the end the open transaction is committed (poll and
    /// interval boundaries) or dropped (connector boundaries: the task did not ask for a
    /// commit, so its records are read again by the next instance).
    async fn run_transactional(&mut self) -> Result<(), ConnectError> {
        let boundary = self.txn.as_ref().map(|t| t.settings.boundary);
        let interval = match boundary {
            Some(TransactionBoundary::Interval(d)) => Some(d),
            _ => None,
        };
        let mut next_check = Instant::now() + interval.unwrap_or(Duration::from_secs(3600));
        loop {
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(next_check), if interval.is_some() => {
                    if let (Some(d), Some(t)) = (interval, &self.txn) {
                        if t.open && t.last_commit.elapsed() >= d {
                            self.commit_transaction().await?;
                        }
                    }
                    next_check = Instant::now() + interval.unwrap_or_default();
                }
                polled = self.rx.recv() => match polled {
                    Some(polled) => {
                        let end = self.send(polled).await?;
                        self.after_batch(end).await?;
                    }
                    None => break,
                },
            }
        }
        match boundary {
            Some(TransactionBoundary::Connector) => self.abandon_transaction().await,
            _ => self.commit_transaction().await?,
        }
        Ok(())
    }

    /// Ends the transaction after a batch when the boundary says so.
    async fn after_batch(&mut self, end: Option<TransactionEnd>) -> Result<(), ConnectError> {
        let Some(t) = &self.txn else {
            return Ok(());
        };
        match (t.settings.boundary, end) {
            (TransactionBoundary::Poll, _) => self.commit_transaction().await,
            (TransactionBoundary::Interval(d), _) => {
                // Also commit when the transaction holds as much as a task may have in
                // flight, to bound its memory.
                if t.last_commit.elapsed() >= d || self.in_flight_bytes >= MAX_IN_FLIGHT_BYTES {
                    self.commit_transaction().await
                } else {
                    Ok(())
                }
            }
            (TransactionBoundary::Connector, Some(TransactionEnd::Commit)) => {
                self.commit_transaction().await
            }
            (TransactionBoundary::Connector, Some(TransactionEnd::Abort)) => {
                self.abort_transaction().await
            }
            (TransactionBoundary::Connector, None) => Ok(()),
        }
    }

    /// Polls every send of the open transaction once, keeping the acknowledgements that
    /// arrived; fails on the first send that failed.
    async fn check_sends(&mut self) -> Result<(), ConnectError> {
        let in_flight = &mut self.in_flight;
        std::future::poll_fn(|cx| {
            for f in in_flight.iter_mut().filter(|f| f.result.is_none()) {
                if let std::task::Poll::Ready(result) =
                    std::future::Future::poll(f.ack.as_mut(), cx)
                {
                    f.result = Some(result);
                }
            }
            std::task::Poll::Ready(())
        })
        .await;
        for f in self.in_flight.iter_mut() {
            if let Some(Err(e)) = f.result.take_if(|r| r.is_err()) {
                let t = self.txn.as_ref().map(|t| &t.settings);
                return Err(match (e, t) {
                    (LogError::Fenced { .. }, Some(t)) => fenced(&self.connector, t),
                    (e, _) => ConnectError::Connect {
                        message: format!(
                            "the log failed to write {} records of connector '{}' in a \
                             transaction; the transaction is aborted",
                            f.records, self.connector
                        ),
                        source: Some(Box::new(e)),
                    },
                });
            }
        }
        Ok(())
    }

    /// The offset writes of every record in the open transaction: the last offset of each
    /// source partition.
    fn transaction_offsets(&self) -> Vec<crate::offsets::OffsetWrite> {
        let mut latest: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for f in &self.in_flight {
            for (partition, offset) in &f.offsets {
                latest.insert(
                    codec::offset_key(&self.connector, partition),
                    codec::offset_value(offset),
                );
            }
        }
        latest.into_iter().map(|(k, v)| (k, Some(v))).collect()
    }

    /// Writes the offsets of the open transaction into it, commits, then acknowledges its
    /// records and lets the driver call `SourceTask::commit`.
    async fn commit_transaction(&mut self) -> Result<(), ConnectError> {
        if !self.txn.as_ref().is_some_and(|t| t.open) {
            return Ok(());
        }
        self.check_sends().await?;
        let writes = self.transaction_offsets();
        let Some(t) = self.txn.as_mut() else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let pending = (!writes.is_empty()).then(|| {
            t.settings
                .offsets
                .send_in_transaction(&*self.producer, writes)
        });
        if let Err(e) = self.producer.commit_transaction().await {
            TaskCounters::add(&self.counters.commit_failures, 1);
            return Err(transaction_error(
                &self.connector,
                &t.settings,
                "committing",
                e,
            ));
        }
        t.open = false;
        t.last_commit = Instant::now();
        let records = std::mem::take(&mut t.records);
        while !self.in_flight.is_empty() {
            let ack = front_ack(&mut self.in_flight).await;
            self.acknowledged(ack)?;
        }
        // Written in the transaction already.
        self.committable.clear();
        if let Some(pending) = pending {
            pending
                .complete()
                .await
                .map_err(|e| ConnectError::Connect {
                    message: format!(
                        "the offsets of a committed transaction of connector '{}' were not \
                     acknowledged",
                        self.connector
                    ),
                    source: Some(Box::new(e)),
                })?;
        }
        self.counters.commit_time.record(started.elapsed());
        TaskCounters::add(&self.counters.commits, 1);
        TaskCounters::add(&self.counters.transactions_committed, 1);
        TaskCounters::add(&self.counters.transaction_records, records);
        self.committed.store(true, Ordering::Release);
        tracing::debug!(connector = %self.connector, records, "Committed a transaction.");
        Ok(())
    }

    /// Aborts the open transaction at the task's request: its records are discarded, and
    /// their offsets committed in a transaction of their own so they are not read again.
    async fn abort_transaction(&mut self) -> Result<(), ConnectError> {
        if !self.txn.as_ref().is_some_and(|t| t.open) {
            return Ok(());
        }
        let writes = self.transaction_offsets();
        let Some(t) = self.txn.as_mut() else {
            return Ok(());
        };
        if let Err(e) = self.producer.abort_transaction().await {
            return Err(transaction_error(
                &self.connector,
                &t.settings,
                "aborting",
                e,
            ));
        }
        t.open = false;
        t.records = 0;
        TaskCounters::add(&self.counters.transactions_aborted, 1);
        self.discard_in_flight(true);
        if writes.is_empty() {
            return Ok(());
        }
        let Some(t) = self.txn.as_mut() else {
            return Ok(());
        };
        let offsets = async {
            self.producer.begin_transaction().await?;
            let pending = t
                .settings
                .offsets
                .send_in_transaction(&*self.producer, writes);
            self.producer.commit_transaction().await?;
            Ok::<_, LogError>(pending)
        };
        let pending = offsets.await.map_err(|e| {
            transaction_error(&self.connector, &t.settings, "committing the offsets of", e)
        })?;
        t.last_commit = Instant::now();
        pending
            .complete()
            .await
            .map_err(|e| ConnectError::Connect {
                message: format!(
                    "the offsets of an aborted transaction of connector '{}' were not acknowledged",
                    self.connector
                ),
                source: Some(Box::new(e)),
            })?;
        self.committed.store(true, Ordering::Release);
        Ok(())
    }

    /// Drops the sends of the open transaction; with `acknowledge`, the task learns its
    /// records were dropped (`commit_record` without an offset).
    fn discard_in_flight(&mut self, acknowledge: bool) {
        for f in self.in_flight.drain(..) {
            if let (true, Some(tx), Some((records, _))) = (acknowledge, &self.ack_tx, f.kept) {
                let all = (0..records.len()).collect();
                let _ = tx.send((records, all, Vec::new()));
            }
        }
        self.in_flight_bytes = 0;
    }

    /// Gives up the open transaction without committing anything (the task failed, or it
    /// stops with connector-defined boundaries and no commit asked): the next instance
    /// reads those records again.
    async fn abandon_transaction(&mut self) {
        let Some(t) = self.txn.as_mut() else {
            return;
        };
        if t.open {
            t.open = false;
            t.records = 0;
            TaskCounters::add(&self.counters.transactions_aborted, 1);
            if let Err(e) = self.producer.abort_transaction().await {
                tracing::debug!(connector = %self.connector, error = %e, "Aborting the open transaction failed.");
            }
        }
        self.discard_in_flight(false);
    }

    /// Handles the acknowledgement of the oldest send.
    fn acknowledged(&mut self, ack: LogResult<Vec<RecordMetadata>>) -> Result<(), ConnectError> {
        let Some(done) = self.in_flight.pop_front() else {
            return Ok(());
        };
        self.in_flight_bytes -= done.bytes;
        let metadata = ack.map_err(|e| ConnectError::Connect {
            message: format!(
                "the log failed to write {} records of connector '{}'",
                done.records, self.connector
            ),
            source: Some(Box::new(e)),
        })?;
        TaskCounters::add(&self.counters.written, done.records);
        self.counters
            .last_write_ms
            .store(crate::metrics::unix_now_ms(), Ordering::Relaxed);
        for (partition, offset) in done.offsets {
            let key = match &self.last_key {
                Some((p, key)) if Arc::ptr_eq(p, &partition) || **p == *partition => key.clone(),
                _ => {
                    let key = codec::offset_key(&self.connector, &partition);
                    self.last_key = Some((partition, key.clone()));
                    key
                }
            };
            self.committable.insert(key, offset);
        }
        if let (Some(tx), Some((records, dropped))) = (&self.ack_tx, done.kept) {
            // The driver may be gone when the task is failing; nothing to acknowledge then.
            let _ = tx.send((records, dropped, metadata));
        }
        Ok(())
    }

    /// Writes the committable offsets; on failure they are kept for the next attempt.
    async fn flush_offsets(&mut self) {
        if self.committable.is_empty() {
            return;
        }
        let writes: Vec<_> = self
            .committable
            .iter()
            .map(|(k, v)| (k.clone(), Some(codec::offset_value(v))))
            .collect();
        let count = writes.len();
        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(self.flush_timeout, self.store.set(writes)).await;
        if matches!(outcome, Ok(Ok(()))) {
            self.counters.commit_time.record(started.elapsed());
        } else {
            TaskCounters::add(&self.counters.commit_failures, 1);
        }
        match outcome {
            Ok(Ok(())) => {
                self.committable.clear();
                TaskCounters::add(&self.counters.commits, 1);
                self.committed.store(true, Ordering::Release);
                tracing::debug!(connector = %self.connector, partitions = count, "Committed source offsets.");
            }
            Ok(Err(e)) => tracing::error!(
                connector = %self.connector,
                error = %e,
                "Failed to commit source offsets; will retry at the next interval."
            ),
            Err(_) => tracing::error!(
                connector = %self.connector,
                timeout_ms = self.flush_timeout.as_millis() as u64,
                "Timed out committing source offsets; will retry at the next interval."
            ),
        }
    }
}

/// Converts `r`, the record of `source` after transformation.
fn convert(
    converters: &Converters,
    source: &SourceRecord,
    r: &ConnectRecord,
) -> Result<ProduceRecord, SourceFailure> {
    let [key_class, value_class, _] = converters.class_names;
    let key = converters
        .key
        .from_connect_data(&r.topic, r.key_schema.as_ref(), &r.key)
        .map_err(failed_at(source, r, Stage::KeyConverter, key_class))?;
    let value = converters
        .value
        .from_connect_data(&r.topic, r.value_schema.as_ref(), &r.value)
        .map_err(failed_at(source, r, Stage::ValueConverter, value_class))?;
    with_headers(converters, source, r, key, value)
}

/// Converts the record of `source`, which nothing reads afterwards: the converters take its
/// key and value (see [`sluice_api::converter::Converter::from_connect_data_owned`]) and its
/// topic name moves into the produced record.
fn convert_owned(
    converters: &Converters,
    mut source: SourceRecord,
) -> Result<ProduceRecord, SourceFailure> {
    let [key_class, value_class, _] = converters.class_names;
    let key = std::mem::take(&mut source.record.key);
    let value = std::mem::take(&mut source.record.value);
    let r = &source.record;
    let key = converters
        .key
        .from_connect_data_owned(&r.topic, r.key_schema.as_ref(), key)
        .map_err(failed_at(&source, r, Stage::KeyConverter, key_class))?;
    let value = converters
        .value
        .from_connect_data_owned(&r.topic, r.value_schema.as_ref(), value)
        .map_err(failed_at(&source, r, Stage::ValueConverter, value_class))?;
    let headers = convert_headers(converters, &source, r)?;
    let ConnectRecord {
        topic,
        kafka_partition,
        timestamp,
        ..
    } = source.record;
    Ok(ProduceRecord {
        topic,
        partition: kafka_partition,
        key,
        value,
        headers,
        timestamp,
    })
}

/// Turns an error of the converter `class_name` at `stage` on `r` (the record of `source`)
/// into the task's failure.
fn failed_at<'a>(
    source: &'a SourceRecord,
    r: &'a ConnectRecord,
    stage: Stage,
    class_name: &'static str,
) -> impl FnOnce(ConnectError) -> SourceFailure + 'a {
    move |e| SourceFailure {
        error: failure(source, &r.topic, r.kafka_partition, stage, e),
        class_name,
    }
}

/// Converts the headers of `r` (the record of `source`) and assembles the record to
/// produce with its converted `key` and `value`.
fn with_headers(
    converters: &Converters,
    source: &SourceRecord,
    r: &ConnectRecord,
    key: Option<Bytes>,
    value: Option<Bytes>,
) -> Result<ProduceRecord, SourceFailure> {
    Ok(ProduceRecord {
        topic: r.topic.clone(),
        partition: r.kafka_partition,
        key,
        value,
        headers: convert_headers(converters, source, r)?,
        timestamp: r.timestamp,
    })
}

/// The headers of `r` (the record of `source`) in the log's form.
fn convert_headers(
    converters: &Converters,
    source: &SourceRecord,
    r: &ConnectRecord,
) -> Result<Vec<LogHeader>, SourceFailure> {
    let mut headers = Vec::with_capacity(r.headers.len());
    for h in &r.headers {
        let value = converters
            .header
            .from_connect_header(&r.topic, &h.key, h.schema.as_ref(), &h.value)
            .map_err(|e| SourceFailure {
                error: failure(
                    source,
                    &r.topic,
                    r.kafka_partition,
                    Stage::HeaderConverter,
                    e,
                ),
                class_name: converters.class_names[2],
            })?;
        headers.push(LogHeader {
            key: h.key.clone(),
            value,
        });
    }
    Ok(headers)
}

/// Transforms `input` (the content of `source`) and converts the result; `None` when a
/// transformation dropped it.
fn transform_and_convert(
    transforms: &TransformChain,
    converters: &Converters,
    source: &SourceRecord,
    input: ConnectRecord,
) -> Result<Option<ProduceRecord>, SourceFailure> {
    let (topic, partition) = (input.topic.clone(), input.kafka_partition);
    match transforms.apply(input) {
        Ok(Some(transformed)) => convert(converters, source, &transformed).map(Some),
        Ok(None) => Ok(None),
        Err(e) => {
            let class_name = e.class_name;
            Err(SourceFailure {
                error: failure(
                    source,
                    &topic,
                    partition,
                    Stage::Transformation,
                    e.into_connect_error(),
                ),
                class_name,
            })
        }
    }
}

/// Retries a failed record (retriable errors, when its input was kept) and reports the
/// failure: `None` when the record is skipped, an error when the task must fail.
async fn recover(
    errors: &ErrorHandler,
    stop: &watch::Receiver<bool>,
    transforms: &TransformChain,
    converters: &Converters,
    source: &SourceRecord,
    failed: SourceFailure,
    input_kept: bool,
) -> Result<Option<ProduceRecord>, ConnectError> {
    let mut class_name = failed.class_name;
    let mut error = failed.error;
    if error.is_retriable() && input_kept {
        // Only a failing record gets here; the lock is never contended.
        let last = std::sync::Mutex::new(class_name);
        let attempt = || {
            let outcome = if transforms.is_empty() {
                convert(converters, source, &source.record).map(Some)
            } else {
                transform_and_convert(transforms, converters, source, source.record.clone())
            };
            outcome.map_err(|f| {
                *last.lock().unwrap_or_else(|p| p.into_inner()) = f.class_name;
                f.error
            })
        };
        match errors.retry(stop, attempt).await {
            Ok(produced) => return Ok(produced),
            Err(e) => error = e,
        }
        class_name = *last.lock().unwrap_or_else(|p| p.into_inner());
    }
    let stage = match &error {
        ConnectError::Record { stage, .. } => *stage,
        _ => Stage::Transformation,
    };
    let description = format!(
        "SourceRecord{{sourcePartition={}, sourceOffset={}}} topic='{}'",
        String::from_utf8_lossy(&codec::offset_value(&source.source_partition)),
        String::from_utf8_lossy(&codec::offset_value(&source.source_offset)),
        source.record.topic
    );
    let failure = Failure {
        stage,
        class_name,
        record: Some(FailedRecord::Source(&description)),
        error: &error,
        // Source records have no dead-letter queue, the only reader of `raised`.
        raised: None,
    };
    match errors.report(failure).await {
        Decision::Skip => Ok(None),
        Decision::Fail(e) => Err(e),
    }
}

fn produced_bytes(record: &ProduceRecord) -> usize {
    record.key.as_ref().map_or(0, |k| k.len()) + record.value.as_ref().map_or(0, |v| v.len())
}

/// Moves the parts of a record out for transformation, leaving the topic and partition for
/// error messages (no allocation: the topic is shared).
fn take_record(record: &mut ConnectRecord) -> ConnectRecord {
    ConnectRecord {
        topic: record.topic.clone(),
        kafka_partition: record.kafka_partition,
        key_schema: record.key_schema.take(),
        key: std::mem::take(&mut record.key),
        value_schema: record.value_schema.take(),
        value: std::mem::take(&mut record.value),
        timestamp: record.timestamp,
        headers: std::mem::take(&mut record.headers),
        kafka_offset: record.kafka_offset,
        timestamp_type: record.timestamp_type,
    }
}

/// A record error of a source record with its stage and location; a data error also names
/// the source partition, since the record has no offset before it is written.
fn failure(
    source: &SourceRecord,
    topic: &str,
    partition: Option<i32>,
    stage: Stage,
    e: ConnectError,
) -> ConnectError {
    let e = match e {
        ConnectError::Data { message } => ConnectError::Data {
            message: format!(
                "{message} (a source record has no offset before it is written; its source \
                 partition is {})",
                String::from_utf8_lossy(&codec::offset_value(&source.source_partition))
            ),
        },
        other => other,
    };
    e.at(
        stage,
        RecordLocation {
            topic: topic.to_string(),
            partition,
            offset: None,
        },
    )
}

/// The last offset of each source partition in a batch, in first-seen order. Those offsets
/// are moved out of their records unless the records are kept; the other records' offsets
/// are left alone (no copy or move per record).
fn last_offsets(batch: &mut [SourceRecord], keep: bool) -> Vec<(Arc<OffsetMap>, OffsetMap)> {
    // Each partition and the index of its last record.
    let mut last: Vec<(Arc<OffsetMap>, usize)> = Vec::new();
    // The slot of the previous record, whose partition is usually the same `Arc`.
    let mut current: Option<usize> = None;
    for (i, record) in batch.iter().enumerate() {
        if record.source_partition.is_empty() && record.source_offset.is_empty() {
            continue;
        }
        let slot = match current {
            Some(s) if Arc::ptr_eq(&last[s].0, &record.source_partition) => s,
            _ => match last
                .iter()
                .position(|(p, _)| **p == *record.source_partition)
            {
                Some(s) => {
                    // Equal but another `Arc`: follow it, so the next records match by pointer.
                    last[s].0 = record.source_partition.clone();
                    s
                }
                None => {
                    last.push((record.source_partition.clone(), i));
                    last.len() - 1
                }
            },
        };
        last[slot].1 = i;
        current = Some(slot);
    }
    last.into_iter()
        .map(|(partition, i)| {
            let offset = if keep {
                batch[i].source_offset.clone()
            } else {
                std::mem::take(&mut batch[i].source_offset)
            };
            (partition, offset)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::ConnectRecord;

    fn rec(partition: &Arc<OffsetMap>, pos: i64) -> SourceRecord {
        SourceRecord {
            source_partition: partition.clone(),
            source_offset: OffsetMap::new().with("position", pos),
            record: ConnectRecord::default(),
        }
    }

    #[test]
    fn last_offsets_keeps_the_latest_per_partition() {
        let a = Arc::new(OffsetMap::new().with("f", "a"));
        let b = Arc::new(OffsetMap::new().with("f", "b"));
        let a2 = Arc::new(OffsetMap::new().with("f", "a")); // equal, not the same Arc
        let mut batch = vec![
            rec(&a, 1),
            rec(&b, 10),
            rec(&a, 2),
            rec(&a2, 3),
            rec(&b, 11),
        ];
        let out = last_offsets(&mut batch, false);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].1.get("position"),
            Some(&sluice_api::data::Value::Int64(3))
        );
        assert_eq!(
            out[1].1.get("position"),
            Some(&sluice_api::data::Value::Int64(11))
        );
        assert!(batch[3].source_offset.is_empty(), "moved out");
        assert!(batch[4].source_offset.is_empty(), "moved out");
        let mut batch = vec![rec(&a, 1)];
        let _ = last_offsets(&mut batch, true);
        assert!(!batch[0].source_offset.is_empty(), "kept");
    }

    /// Records each `commit_record` call as (position, log offset).
    #[derive(Default)]
    struct Acks(Vec<(i64, Option<(i32, i64)>)>);

    #[async_trait::async_trait]
    impl SourceTask for Acks {
        async fn start(&mut self, _: &ConfigMap, _: SourceTaskContext) -> sluice_api::Result<()> {
            Ok(())
        }

        async fn poll(&mut self) -> sluice_api::Result<Vec<SourceRecord>> {
            Ok(Vec::new())
        }

        fn commit_record(&mut self, record: &SourceRecord, offset: Option<(i32, i64)>) {
            let position = match record.source_offset.get("position") {
                Some(sluice_api::data::Value::Int64(p)) => *p,
                _ => -1,
            };
            self.0.push((position, offset));
        }

        async fn stop(&mut self) -> sluice_api::Result<()> {
            Ok(())
        }
    }

    /// A source that returns three records on its first poll and nothing after.
    struct Once(bool);

    #[async_trait::async_trait]
    impl SourceTask for Once {
        async fn start(&mut self, _: &ConfigMap, _: SourceTaskContext) -> sluice_api::Result<()> {
            Ok(())
        }

        async fn poll(&mut self) -> sluice_api::Result<Vec<SourceRecord>> {
            if std::mem::replace(&mut self.0, true) {
                tokio::time::sleep(Duration::from_millis(5)).await;
                return Ok(Vec::new());
            }
            let partition = Arc::new(OffsetMap::new().with("f", "a"));
            Ok((0..3)
                .map(|i| SourceRecord {
                    source_partition: partition.clone(),
                    source_offset: OffsetMap::new().with("position", i),
                    record: ConnectRecord::new(
                        "t",
                        None,
                        sluice_api::data::Value::String(format!("v{i}")),
                    ),
                })
                .collect())
        }

        async fn stop(&mut self) -> sluice_api::Result<()> {
            Ok(())
        }
    }

    /// A producer whose sends are acknowledged only once the gate opens.
    struct Gated(watch::Receiver<bool>);

    #[async_trait::async_trait]
    impl LogProducer for Gated {
        fn send(&self, records: Vec<ProduceRecord>) -> DeliveryFuture {
            let mut gate = self.0.clone();
            Box::pin(async move {
                let _ = gate.wait_for(|open| *open).await;
                Ok((0..records.len() as i64)
                    .map(|offset| RecordMetadata {
                        partition: 0,
                        offset,
                        timestamp: 0,
                    })
                    .collect())
            })
        }

        async fn flush(&self) -> LogResult<()> {
            Ok(())
        }

        async fn init_transactions(&self) -> LogResult<()> {
            Ok(())
        }

        async fn begin_transaction(&self) -> LogResult<()> {
            Ok(())
        }

        async fn send_offsets_to_transaction(
            &self,
            _: &[(sluice_api::TopicPartition, i64)],
            _: &str,
        ) -> LogResult<()> {
            Ok(())
        }

        async fn commit_transaction(&self) -> LogResult<()> {
            Ok(())
        }

        async fn abort_transaction(&self) -> LogResult<()> {
            Ok(())
        }
    }

    #[derive(Default)]
    struct Offsets(std::sync::Mutex<HashMap<Vec<u8>, Vec<u8>>>);

    #[async_trait::async_trait]
    impl OffsetStore for Offsets {
        fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
            self.0.lock().unwrap().get(key).cloned()
        }

        fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
            self.0.lock().unwrap().clone().into_iter().collect()
        }

        async fn set(
            &self,
            writes: Vec<crate::offsets::OffsetWrite>,
        ) -> Result<(), crate::offsets::OffsetStoreError> {
            let mut map = self.0.lock().unwrap();
            for (k, v) in writes {
                match v {
                    Some(v) => map.insert(k, v),
                    None => map.remove(&k),
                };
            }
            Ok(())
        }
    }

    async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "waited too long for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_source_whose_sends_are_never_acknowledged_is_stalled_until_they_are() {
        use sluice_convert::{SimpleHeaderConverter, StringConverter};
        let id = ConnectorTaskId {
            connector: "src".into(),
            task: 0,
        };
        let status = StatusBoard::new();
        let counters = Arc::new(TaskCounters::default());
        let (gate_tx, gate_rx) = watch::channel(false);
        let (stop_tx, stop) = watch::channel(false);
        let (_pause_tx, pause) = watch::channel(false);
        let offsets = Arc::new(Offsets::default());
        let run = SourceTaskRun {
            id: id.clone(),
            task: Box::new(Once(false)),
            config: ConfigMap::new(),
            converters: Converters {
                key: Box::new(StringConverter::default()),
                value: Box::new(StringConverter::default()),
                header: Box::new(SimpleHeaderConverter),
                class_names: ["", "", ""],
            },
            transforms: TransformChain::empty(),
            producer: Arc::new(Gated(gate_rx)),
            offsets: offsets.clone(),
            flush_interval: Duration::from_millis(20),
            flush_timeout: Duration::from_secs(5),
            counters: counters.clone(),
            status: status.clone(),
            stop,
            pause: PauseSignal::new(pause, id.clone(), status.clone()),
            errors: Arc::new(ErrorHandler::new(
                crate::error_handling::ErrorPolicy::default(),
                "src",
                0,
                None,
            )),
            transactions: None,
            stall_timeout: Some(Duration::from_millis(100)),
        };
        let running = tokio::spawn(run.run());

        wait_for("the stall flag", || status.task_health(&id).stalled).await;
        assert_eq!(counters.stalled.load(Ordering::Relaxed), 1);
        assert_eq!(status.task(&id).unwrap().state, State::Running);
        assert_eq!(counters.sent.load(Ordering::Relaxed), 3);
        assert_eq!(counters.written.load(Ordering::Relaxed), 0);
        assert!(
            offsets.entries().is_empty(),
            "nothing acknowledged, nothing committed"
        );

        // The log acknowledges: the task progresses, the flag clears, the offset commits,
        // and the source, idle from now on, is not stalled again.
        gate_tx.send(true).unwrap();
        wait_for("the flag to clear", || !status.task_health(&id).stalled).await;
        wait_for("the offsets", || !offsets.entries().is_empty()).await;
        assert_eq!(counters.stalled.load(Ordering::Relaxed), 0);
        assert_eq!(counters.written.load(Ordering::Relaxed), 3);
        stop_tx.send(true).unwrap();
        running.await.unwrap().unwrap();
        assert!(!status.task_health(&id).stalled);
    }

    #[test]
    fn dropped_records_are_acknowledged_without_an_offset() {
        let a = Arc::new(OffsetMap::new().with("f", "a"));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let meta = |offset| RecordMetadata {
            partition: 0,
            offset,
            timestamp: 0,
        };
        let records = (0..5).map(|p| rec(&a, p)).collect();
        tx.send((records, vec![1, 2, 4], vec![meta(100), meta(101)]))
            .unwrap();
        let mut task = Acks::default();
        deliver_acks(&mut task, &mut rx);
        assert_eq!(
            task.0,
            [
                (0, Some((0, 100))),
                (1, None),
                (2, None),
                (3, Some((0, 101))),
                (4, None)
            ]
        );
    }
}

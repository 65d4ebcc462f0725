//! The producer: one librdkafka producer with its own polling thread.
//!
//! `send` hands every record of a batch to librdkafka at once (librdkafka copies the
//! bytes into its queue), through librdkafka's handle of the record's topic (the crate's
//! `native` module), with a pointer to the record's entry in its batch as the delivery
//! opaque; the polling thread's delivery callback fills the record's metadata there and
//! completes the batch's future when the last record is acknowledged. Nothing is allocated
//! per record. When librdkafka's queue is full, `send` waits for room and
//! retries: records are never dropped.
//!
//! Idempotence is on unless the settings turn it off, and keyed records are placed with
//! `partitioner=murmur2_random` (the Java client's murmur2 placement). Transactions use
//! librdkafka's transactional API; its blocking calls run on blocking threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::Timeout;
use sluice_log::embedded::partition_for_key;
use sluice_log::{
    DeliveryFuture, LogError, LogProducer, LogResult, ProduceRecord, ProducerConfig,
    RecordMetadata, TopicPartition,
};
use tokio::sync::oneshot;

use crate::admin::offset_list;
use crate::context::LogContext;
use crate::error::map_error;
use crate::native::{Batch, RecordSlot, RunRecord, TopicHandle, PARTITION_UNASSIGNED};
use crate::KafkaConfig;

/// How long one transaction call may take unless `max.block.ms` says otherwise (the
/// Java client's default).
const TXN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a topic's partition count is trusted unless configured: librdkafka's default
/// `topic.metadata.refresh.interval.ms` (and the Java client's `metadata.max.age.ms`).
const DEFAULT_METADATA_MAX_AGE: Duration = Duration::from_secs(300);
/// Pause before retrying a send that found librdkafka's queue full.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(1);

/// Completes batches from librdkafka's delivery reports.
pub(crate) struct DeliveryContext {
    inner: LogContext,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.inner.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.inner.record_error(&error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = RecordSlot;

    fn delivery(&self, result: &DeliveryResult<'_>, slot: RecordSlot) {
        match result {
            Ok(message) => slot.delivered(|| RecordMetadata {
                partition: message.partition(),
                offset: message.offset(),
                timestamp: message.timestamp().to_millis().unwrap_or(-1),
            }),
            Err((e, message)) => {
                let topic = message.topic();
                slot.complete(Err(map_error(
                    e.clone(),
                    &format!("delivering a record to topic '{topic}'"),
                    Some(topic),
                )));
            }
        }
    }
}

/// A [`LogProducer`] on a Kafka cluster.
pub struct KafkaProducer {
    producer: Arc<ThreadedProducer<DeliveryContext>>,
    config: KafkaConfig,
    transactional_id: Option<String>,
    /// Bound of each blocking transaction call (`max.block.ms`).
    txn_timeout: Duration,
    group_metadata: Mutex<HashMap<String, Arc<ConsumerGroupMetadata>>>,
    /// librdkafka's handle of each topic this producer has sent to, so a record names its
    /// topic without librdkafka looking the name up (see [`crate::native`]).
    topics: Mutex<HashMap<Arc<str>, Arc<TopicHandle>>>,
    /// While Kafka's default partitioner is in effect, the producer places keyed records
    /// itself (see [`crate::partitioner`]) and trusts a topic's partition count this long;
    /// `None` leaves every record without a partition to librdkafka's partitioner.
    key_placement: Option<Duration>,
}

impl KafkaProducer {
    /// Creates the producer: defaults, then the worker's producer settings, then the
    /// client's own properties, then the client id and transactional id.
    pub(crate) fn new(config: &KafkaConfig, producer: ProducerConfig) -> LogResult<Self> {
        let mut defaults = std::collections::BTreeMap::new();
        defaults.insert("enable.idempotence".to_string(), "true".to_string());
        defaults.insert("partitioner".to_string(), "murmur2_random".to_string());
        let mut client =
            config.client_config(&[&defaults, &config.producer, &producer.properties])?;
        if !producer.client_id.is_empty() {
            client.set("client.id", &producer.client_id);
        }
        if let Some(id) = &producer.transactional_id {
            client.set("transactional.id", id);
        }
        client.set_log_level(RDKafkaLogLevel::Warning);
        let key_placement = match client.get("partitioner") {
            Some("murmur2_random" | "murmur2") => Some(metadata_max_age(&client)),
            _ => None,
        };
        let max_block = producer
            .properties
            .get("max.block.ms")
            .or_else(|| config.producer.get("max.block.ms"))
            .or_else(|| config.common.get("max.block.ms"));
        let txn_timeout = match max_block {
            None => TXN_TIMEOUT,
            Some(v) => {
                Duration::from_millis(v.trim().parse().map_err(|e| LogError::InvalidConfig {
                    key: "max.block.ms".into(),
                    message: format!("'{v}' is not a number of milliseconds: {e}"),
                })?)
            }
        };
        let context = DeliveryContext {
            inner: LogContext::default(),
        };
        let created: ThreadedProducer<DeliveryContext> = client
            .create_with_context(context)
            .map_err(|e| map_error(e, "creating a Kafka producer", None))?;
        Ok(KafkaProducer {
            producer: Arc::new(created),
            config: config.clone(),
            transactional_id: producer.transactional_id,
            txn_timeout,
            group_metadata: Mutex::new(HashMap::new()),
            topics: Mutex::new(HashMap::new()),
            key_placement,
        })
    }

    /// Runs a blocking transaction call on a blocking thread, mapping fencing to
    /// [`LogError::Fenced`].
    async fn txn_call(
        &self,
        doing: &'static str,
        f: impl FnOnce(&ThreadedProducer<DeliveryContext>) -> Result<(), KafkaError> + Send + 'static,
    ) -> LogResult<()> {
        let Some(id) = self.transactional_id.clone() else {
            return Err(LogError::Transaction(format!(
                "{doing}: the producer has no transactional.id"
            )));
        };
        let producer = Arc::clone(&self.producer);
        let result = tokio::task::spawn_blocking(move || f(&producer))
            .await
            .map_err(|e| LogError::Transaction(format!("{doing}: the call stopped: {e}")))?;
        result.map_err(|e| {
            let fenced = match &e {
                KafkaError::Transaction(t) => {
                    matches!(
                        t.code(),
                        RDKafkaErrorCode::Fenced
                            | RDKafkaErrorCode::ProducerFenced
                            | RDKafkaErrorCode::InvalidProducerEpoch
                    )
                }
                _ => false,
            };
            if fenced {
                LogError::Fenced {
                    transactional_id: id,
                }
            } else {
                map_error(e, doing, None)
            }
        })
    }

    /// The topic handle of `topic`, created on first use; `None` when librdkafka refuses
    /// the name.
    fn topic_handle(&self, topic: &Arc<str>) -> Option<Arc<TopicHandle>> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = topics.get(topic) {
            return Some(Arc::clone(h));
        }
        let max_age = self.key_placement.unwrap_or(DEFAULT_METADATA_MAX_AGE);
        let handle = Arc::new(TopicHandle::new(&self.producer, topic, max_age)?);
        topics.insert(Arc::clone(topic), Arc::clone(&handle));
        Some(handle)
    }

    /// Queues `records` with a delivery slot each; the future resolves once all are
    /// written, with where each went when `recorded` (else with an empty list).
    fn send_batch(&self, records: Vec<ProduceRecord>, recorded: bool) -> DeliveryFuture {
        let n = records.len();
        if n == 0 {
            return Box::pin(std::future::ready(Ok(Vec::new())));
        }
        let (tx, rx) = oneshot::channel();
        let mut slots = Batch::start(n, recorded, tx);
        // The handle of the last record's topic: a batch rarely has more than one.
        let mut handle: Option<Arc<TopicHandle>> = None;
        // Consecutive records on that topic that librdkafka can take in one call.
        let mut run = Vec::new();
        for (r, slot) in records.iter().zip(slots.by_ref()) {
            if handle.as_ref().is_none_or(|h| h.name() != &*r.topic) {
                if let Some(h) = &handle {
                    produce_run(h, std::mem::take(&mut run), self.key_placement.is_some());
                }
                handle = self.topic_handle(&r.topic);
            }
            let Some(h) = &handle else {
                let refused = KafkaError::MessageProduction(RDKafkaErrorCode::InvalidTopic);
                slot.complete(Err(map_error(refused, &sending(&r.topic), Some(&r.topic))));
                continue;
            };
            if r.timestamp.is_none() && r.headers.is_empty() {
                run.push((r, slot));
            } else {
                produce_run(h, std::mem::take(&mut run), self.key_placement.is_some());
                produce_one(h, r, slot);
            }
        }
        if let Some(h) = &handle {
            produce_run(h, run, self.key_placement.is_some());
        }
        Box::pin(async move { rx.await.unwrap_or(Err(LogError::Closed)) })
    }

    /// The group metadata librdkafka wants with transactional offsets, from a consumer of
    /// `group` that never joins it (member id empty, generation -1).
    fn metadata_of(&self, group: &str) -> LogResult<Arc<ConsumerGroupMetadata>> {
        if let Ok(cache) = self.group_metadata.lock() {
            if let Some(m) = cache.get(group) {
                return Ok(Arc::clone(m));
            }
        }
        let mut client = self.config.client_config(&[&self.config.consumer])?;
        client
            .set("group.id", group)
            .set("enable.auto.commit", "false");
        let consumer: BaseConsumer<LogContext> = client
            .create_with_context(LogContext::default())
            .map_err(|e| map_error(e, &format!("creating a client for group '{group}'"), None))?;
        let metadata = consumer.group_metadata().ok_or_else(|| {
            LogError::Transaction(format!("no group metadata available for group '{group}'"))
        })?;
        let metadata = Arc::new(metadata);
        if let Ok(mut cache) = self.group_metadata.lock() {
            cache.insert(group.to_string(), Arc::clone(&metadata));
        }
        Ok(metadata)
    }
}

/// Waits a moment for librdkafka's queue to drain. On a multi-threaded runtime the wait
/// hands the worker's other tasks to another thread first.
fn wait_for_room() {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(|| std::thread::sleep(QUEUE_FULL_WAIT));
    } else {
        std::thread::sleep(QUEUE_FULL_WAIT);
    }
}

/// What a failed send was doing, for its error.
fn sending(topic: &str) -> String {
    format!("sending a record to topic '{topic}'")
}

/// Queues one record, waiting while librdkafka's queue is full; a refused record
/// completes its slot with the error.
fn produce_one(handle: &TopicHandle, record: &ProduceRecord, mut slot: RecordSlot) {
    loop {
        match handle.produce(record, slot) {
            Ok(()) => return,
            Err((RDKafkaErrorCode::QueueFull, back)) => {
                slot = back;
                wait_for_room();
            }
            Err((code, back)) => {
                let e = KafkaError::MessageProduction(code);
                let topic = handle.name();
                back.complete(Err(map_error(e, &sending(topic), Some(topic))));
                return;
            }
        }
    }
}

/// Queues a run of records without timestamps or headers in as few librdkafka calls as
/// its queue allows. With `place_keys` and the topic's partition count known, each keyed
/// record without a partition gets its partition here (Kafka's default partitioner), and
/// the run is queued grouped by partition, in order within each. The records a full queue
/// refused are sent again, in order, once it has room; a placed record refused for an
/// unknown partition (the topic shrank: deleted and created again) goes again through
/// librdkafka's partitioner, and the count is read again; a record refused for another
/// reason completes its slot with the error.
fn produce_run(handle: &TopicHandle, run: Vec<(&ProduceRecord, RecordSlot)>, place_keys: bool) {
    let partitions = place_keys.then(|| handle.partition_count()).flatten();
    let mut run: Vec<RunRecord<'_>> = run
        .into_iter()
        .map(|(record, slot)| {
            let placed = match (record.partition, &record.key, partitions) {
                (Some(p), _, _) => p,
                (None, Some(key), Some(n)) => partition_for_key(key, n),
                _ => PARTITION_UNASSIGNED,
            };
            RunRecord {
                record,
                partition: placed,
                slot,
            }
        })
        .collect();
    // Stable: each partition keeps its records' order.
    run.sort_by_key(|r| r.partition);
    while !run.is_empty() {
        let mut again = Vec::new();
        let mut full = false;
        for (mut refused, code) in handle.produce_run(run) {
            let placed_here =
                refused.record.partition.is_none() && refused.partition != PARTITION_UNASSIGNED;
            if code == RDKafkaErrorCode::QueueFull {
                full = true;
                again.push(refused);
            } else if code == RDKafkaErrorCode::UnknownPartition && placed_here {
                handle.expire_partition_count();
                refused.partition = PARTITION_UNASSIGNED;
                again.push(refused);
            } else {
                let e = KafkaError::MessageProduction(code);
                let topic = handle.name();
                refused
                    .slot
                    .complete(Err(map_error(e, &sending(topic), Some(topic))));
            }
        }
        run = again;
        if full {
            wait_for_room();
        }
    }
}

/// How long a topic's partition count is trusted: librdkafka's
/// `topic.metadata.refresh.interval.ms`, when set to a positive value.
fn metadata_max_age(client: &rdkafka::ClientConfig) -> Duration {
    client
        .get("topic.metadata.refresh.interval.ms")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_METADATA_MAX_AGE, Duration::from_millis)
}

#[async_trait]
impl LogProducer for KafkaProducer {
    fn send(&self, records: Vec<ProduceRecord>) -> DeliveryFuture {
        self.send_batch(records, true)
    }

    fn send_without_metadata(&self, records: Vec<ProduceRecord>) -> DeliveryFuture {
        self.send_batch(records, false)
    }

    async fn flush(&self) -> LogResult<()> {
        let producer = Arc::clone(&self.producer);
        tokio::task::spawn_blocking(move || producer.flush(Timeout::Never))
            .await
            .map_err(|e| LogError::Unavailable(format!("flushing stopped: {e}")))?
            .map_err(|e| map_error(e, "flushing the producer", None))
    }

    async fn init_transactions(&self) -> LogResult<()> {
        let timeout = self.txn_timeout;
        self.txn_call("initializing transactions", move |p| {
            p.init_transactions(timeout)
        })
        .await
    }

    async fn begin_transaction(&self) -> LogResult<()> {
        self.txn_call("beginning a transaction", |p| p.begin_transaction())
            .await
    }

    async fn send_offsets_to_transaction(
        &self,
        offsets: &[(TopicPartition, i64)],
        group: &str,
    ) -> LogResult<()> {
        let metadata = self.metadata_of(group)?;
        let tpl = offset_list(offsets)?;
        let timeout = self.txn_timeout;
        self.txn_call("sending offsets to the transaction", move |p| {
            p.send_offsets_to_transaction(&tpl, &metadata, timeout)
        })
        .await
    }

    async fn commit_transaction(&self) -> LogResult<()> {
        let timeout = self.txn_timeout;
        self.txn_call("committing the transaction", move |p| {
            p.commit_transaction(timeout)
        })
        .await
    }

    async fn abort_transaction(&self) -> LogResult<()> {
        let timeout = self.txn_timeout;
        self.txn_call("aborting the transaction", move |p| {
            p.abort_transaction(timeout)
        })
        .await
    }
}

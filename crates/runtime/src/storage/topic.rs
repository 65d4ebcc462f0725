//! One internal topic read from the beginning and written at the end: what every store is
//! built on (Kafka Connect's `KafkaBasedLog`).
//!
//! A [`TopicLog`] owns a producer and a consumer assigned to every partition of its topic.
//! Records the consumer returns are handed, in log order per partition, to the store's
//! [`RecordSink`]; after each poll the consumer's positions are published on a watch channel.
//! [`TopicLog::read_to_end`] asks the log for the current end offsets and waits until the
//! published positions pass them, polling itself when no one else is (or queueing behind a
//! [`Follower`] that is), so a reader never sees a state older than the log was when it
//! asked.
//!
//! The end offsets are also raised to just past every record this `TopicLog` wrote and saw
//! acknowledged, so reading back one's own write never depends on the log's end-offset
//! answer alone (the Kafka test broker reports the end of a partition as the first offset of
//! its last batch plus one, which would stop a read-back in the middle of a multi-record
//! write).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_log::{
    ConsumedRecord, ConsumerConfig, DeliveryFuture, Log, LogAdmin, LogConsumer, LogError,
    LogProducer, NewTopic, NoopRebalanceListener, OffsetReset, ProduceRecord, ProducerConfig,
    RecordMetadata, SeekTo, TopicPartition,
};
use tokio::sync::{watch, Mutex};

use super::{InternalTopic, StorageError, StoreOptions};

/// Most records one poll of an internal topic returns.
const MAX_POLL_RECORDS: usize = 10_000;

/// How long one poll made by `read_to_end` waits; the data it waits for is already written.
const READ_STEP: Duration = Duration::from_millis(100);

/// Receives the records of an internal topic in log order (per partition).
pub(crate) trait RecordSink: Send + Sync {
    /// Applies a batch of records.
    fn consume(&self, records: &[ConsumedRecord]);
}

/// Which store a topic serves: names the worker key and purpose in messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopicRole {
    /// The worker key naming the topic (`config.storage.topic`, ...).
    pub key: &'static str,
    /// What the topic holds, for messages ("connector configurations", ...).
    pub purpose: &'static str,
    /// Suffix of the clients' id (`configs`, `offsets`, `statuses`).
    pub client_suffix: &'static str,
}

/// An internal topic with its producer, consumer and the positions applied so far.
pub(crate) struct TopicLog {
    topic: Arc<str>,
    role: TopicRole,
    partitions: Vec<TopicPartition>,
    admin: Arc<dyn LogAdmin>,
    producer: Arc<dyn LogProducer>,
    consumer: Mutex<Box<dyn LogConsumer>>,
    sink: Arc<dyn RecordSink>,
    applied: watch::Sender<Vec<i64>>,
    /// Per partition, one past the highest offset this log's own writes got acknowledged at.
    written: std::sync::Mutex<Vec<i64>>,
    timeout: Duration,
}

impl TopicLog {
    /// Creates the topic when missing (or checks the existing one), makes the clients and
    /// positions the consumer at the beginning of every partition. Reads nothing yet.
    pub async fn open(
        log: &dyn Log,
        spec: &InternalTopic,
        role: TopicRole,
        options: &StoreOptions,
        sink: Arc<dyn RecordSink>,
    ) -> Result<Self, StorageError> {
        let admin = log.admin();
        let partition_count = ensure_topic(admin.as_ref(), spec, role).await?;
        let client_id = format!("{}{}", options.client_id_base, role.client_suffix);
        let log_err = |operation: &str| {
            let operation = format!("{operation} {} topic '{}'", role.purpose, spec.name);
            move |source| StorageError::Log { operation, source }
        };
        let producer = log
            .producer(ProducerConfig {
                client_id: client_id.clone(),
                transactional_id: None,
                properties: options.producer.clone(),
            })
            .map_err(log_err("creating the producer of the"))?;
        let mut consumer = log
            .consumer(ConsumerConfig {
                client_id,
                group_id: None,
                auto_offset_reset: OffsetReset::Earliest,
                isolation_level: options.isolation_level,
                max_poll_records: MAX_POLL_RECORDS,
                properties: options.consumer.clone(),
                read_ahead: false,
                skip_headers: false,
            })
            .map_err(log_err("creating the consumer of the"))?;
        let topic: Arc<str> = Arc::from(spec.name.as_str());
        let partitions: Vec<TopicPartition> = (0..partition_count)
            .map(|p| TopicPartition::new(topic.clone(), p))
            .collect();
        consumer
            .assign(&partitions)
            .await
            .map_err(log_err("assigning the partitions of the"))?;
        let mut start = Vec::with_capacity(partitions.len());
        for tp in &partitions {
            consumer
                .seek(tp, SeekTo::Beginning)
                .map_err(log_err("seeking to the beginning of the"))?;
            start.push(consumer.position(tp).unwrap_or(0));
        }
        let written = std::sync::Mutex::new(vec![0; partitions.len()]);
        let (applied, _) = watch::channel(start);
        Ok(TopicLog {
            written,
            topic,
            role,
            partitions,
            admin,
            producer,
            consumer: Mutex::new(consumer),
            sink,
            applied,
            timeout: options.timeout,
        })
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// The longest wait of one store operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The error of a failed log operation on this topic.
    pub fn error(&self, operation: &str, source: LogError) -> StorageError {
        StorageError::Log {
            operation: format!("{operation} {} topic '{}'", self.role.purpose, self.topic),
            source,
        }
    }

    /// The error of an operation that ran out of time.
    pub fn timed_out(&self, operation: &str) -> StorageError {
        StorageError::Timeout {
            operation: format!("{operation} {} topic '{}'", self.role.purpose, self.topic),
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// A record for this topic; the partitioner places it by key.
    pub fn record(&self, key: impl Into<bytes::Bytes>, value: Option<Vec<u8>>) -> ProduceRecord {
        ProduceRecord {
            topic: self.topic.clone(),
            partition: None,
            key: Some(key.into()),
            value: value.map(bytes::Bytes::from),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sends records with the topic's own (non-transactional) producer.
    pub fn send(&self, records: Vec<ProduceRecord>) -> DeliveryFuture {
        self.producer.send(records)
    }

    /// Sends records and waits (within the store timeout) until they are acknowledged.
    pub async fn send_and_wait(
        &self,
        records: Vec<ProduceRecord>,
        operation: &str,
    ) -> Result<Vec<RecordMetadata>, StorageError> {
        match tokio::time::timeout(self.timeout, self.send(records)).await {
            Ok(Ok(meta)) => {
                self.note_written(&meta);
                Ok(meta)
            }
            Ok(Err(e)) => Err(self.error(operation, e)),
            Err(_) => Err(self.timed_out(operation)),
        }
    }

    /// Remembers where acknowledged writes of this log landed, so `read_to_end` reads at
    /// least past them.
    pub fn note_written(&self, written: &[RecordMetadata]) {
        let mut ends = self.written.lock().unwrap_or_else(|e| e.into_inner());
        for meta in written {
            if let Some(end) = usize::try_from(meta.partition)
                .ok()
                .and_then(|p| ends.get_mut(p))
            {
                *end = (*end).max(meta.offset + 1);
            }
        }
    }

    /// The next offset to be written of every partition, in partition order: what the log
    /// reports, raised to past this log's own acknowledged writes.
    async fn end_offsets(&self) -> Result<Vec<i64>, StorageError> {
        let description = self
            .admin
            .describe_topic(&self.topic)
            .await
            .map_err(|e| self.error("reading the end offsets of the", e))?;
        let written = self
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(self
            .partitions
            .iter()
            .zip(written)
            .map(|(tp, written)| {
                description
                    .partitions
                    .iter()
                    .find(|p| p.partition == tp.partition)
                    .map_or(0, |p| p.latest_offset)
                    .max(written)
            })
            .collect())
    }

    /// Polls once (waiting up to `timeout` for records), applies what arrived and publishes
    /// the new positions. Returns how many records were applied.
    pub async fn poll(&self, timeout: Duration) -> Result<usize, StorageError> {
        let mut consumer = self.consumer.lock().await;
        self.poll_locked(consumer.as_mut(), timeout).await
    }

    async fn poll_locked(
        &self,
        consumer: &mut dyn LogConsumer,
        timeout: Duration,
    ) -> Result<usize, StorageError> {
        let records = consumer
            .poll(timeout, &mut NoopRebalanceListener)
            .await
            .map_err(|e| self.error("reading the", e))?;
        if !records.is_empty() {
            self.sink.consume(&records);
        }
        let positions: Vec<i64> = self
            .partitions
            .iter()
            .map(|tp| consumer.position(tp).unwrap_or(0))
            .collect();
        self.applied.send_if_modified(|current| {
            if *current == positions {
                false
            } else {
                *current = positions;
                true
            }
        });
        Ok(records.len())
    }

    /// Applies every record written before this call, within the store timeout.
    pub async fn read_to_end(&self) -> Result<(), StorageError> {
        let read = async {
            let ends = self.end_offsets().await?;
            let mut applied = self.applied.subscribe();
            loop {
                let done = applied
                    .borrow_and_update()
                    .iter()
                    .zip(&ends)
                    .all(|(at, end)| at >= end);
                if done {
                    return Ok(());
                }
                // Poll ourselves, or see a follower that holds the consumer get there.
                tokio::select! {
                    mut consumer = self.consumer.lock() => {
                        self.poll_locked(consumer.as_mut(), READ_STEP).await?;
                    }
                    changed = applied.changed() => {
                        // The sender lives in `self`, so this cannot fail while we run.
                        changed.map_err(|_| self.error("following the", LogError::Closed))?;
                    }
                }
            }
        };
        tokio::time::timeout(self.timeout, read)
            .await
            .map_err(|_| self.timed_out("reading to the end of the"))?
    }
}

/// Creates an internal topic when it is missing, compacted and sized from the worker keys;
/// checks an existing one. Returns the partition count.
async fn ensure_topic(
    admin: &dyn LogAdmin,
    spec: &InternalTopic,
    role: TopicRole,
) -> Result<i32, StorageError> {
    let describe_err = |source| StorageError::Log {
        operation: format!("describing {} topic '{}'", role.purpose, spec.name),
        source,
    };
    crate::backend::check_topic_name(&spec.name).map_err(|message| StorageError::TopicSetup {
        key: role.key,
        message: format!("cannot use {} topic: {message}", role.purpose),
    })?;
    match admin.describe_topic(&spec.name).await {
        Ok(existing) => {
            check_cleanup_policy(&existing.configs, spec, role)?;
            return Ok(existing.partitions.len() as i32);
        }
        Err(LogError::UnknownTopic { .. }) => {}
        Err(e) => return Err(describe_err(e)),
    }
    let mut configs = spec.settings.clone();
    configs.insert("cleanup.policy".into(), "compact".into());
    // The log traits have no "broker default" partition count; -1 asks for one partition.
    let partitions = if spec.partitions == -1 {
        1
    } else {
        spec.partitions
    };
    let new = NewTopic {
        name: spec.name.clone(),
        partitions,
        replication_factor: spec.replication_factor,
        configs,
    };
    match admin.create_topic(new).await {
        Ok(()) => {
            tracing::info!(
                topic = %spec.name,
                partitions,
                replication_factor = spec.replication_factor,
                purpose = role.purpose,
                "Created internal topic."
            );
            Ok(partitions)
        }
        // Another worker created it first.
        Err(LogError::TopicExists { .. }) => {
            let existing = admin
                .describe_topic(&spec.name)
                .await
                .map_err(describe_err)?;
            check_cleanup_policy(&existing.configs, spec, role)?;
            Ok(existing.partitions.len() as i32)
        }
        Err(source) => Err(StorageError::Log {
            operation: format!("creating {} topic '{}'", role.purpose, spec.name),
            source,
        }),
    }
}

/// An existing internal topic must be compacted only; a topic whose policy is not
/// described (not set explicitly) is accepted, as Kafka does when it cannot tell.
fn check_cleanup_policy(
    configs: &BTreeMap<String, String>,
    spec: &InternalTopic,
    role: TopicRole,
) -> Result<(), StorageError> {
    let Some(policy) = configs.get("cleanup.policy") else {
        tracing::info!(
            topic = %spec.name,
            "The cleanup policy of the internal topic is not set explicitly; assuming it is 'compact'."
        );
        return Ok(());
    };
    let policies: Vec<&str> = policy
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if policies == ["compact"] {
        return Ok(());
    }
    Err(StorageError::TopicSetup {
        key: role.key,
        message: format!(
            "Topic '{topic}' supplied via the '{key}' property is required to have \
             'cleanup.policy=compact' to guarantee consistency and durability of {purpose}, \
             but found the topic currently has 'cleanup.policy={found}'. Continuing would \
             likely result in eventually losing {purpose} and problems restarting this Connect \
             cluster in the future. Change the '{key}' property in the Connect worker \
             configurations to use a topic with 'cleanup.policy=compact'.",
            topic = spec.name,
            key = role.key,
            purpose = role.purpose,
            found = policies.join(","),
        ),
    })
}

/// Keeps a store up to date with its topic in the background, so a worker sees what other
/// workers write. Stops when [`Follower::stop`] is called or the handle is dropped (then
/// after its current poll).
pub struct Follower {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Follower {
    /// Starts polling `log` every `poll_timeout` at most. Needs a Tokio runtime.
    pub(crate) fn spawn(log: Arc<TopicLog>, poll_timeout: Duration) -> Follower {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            while !flag.load(Ordering::Acquire) {
                match log.poll(poll_timeout).await {
                    Ok(_) => {}
                    Err(StorageError::Log {
                        source: LogError::Closed,
                        ..
                    }) => break,
                    Err(e) => {
                        tracing::warn!(topic = %log.topic(), error = %e, "Reading an internal topic failed; retrying.");
                        tokio::time::sleep(poll_timeout).await;
                    }
                }
            }
        });
        Follower {
            stop,
            task: Some(task),
        }
    }

    /// Stops following and waits for the current poll to end.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(task) = self.task.take() {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "The internal topic follower ended abnormally.");
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

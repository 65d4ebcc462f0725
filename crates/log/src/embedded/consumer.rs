//! The embedded consumer.
//!
//! Each assigned partition keeps two positions: `position`, the next offset `poll` returns
//! (what [`LogConsumer::position`] reports), and `fetch_at`, the next offset to read from
//! the segment files. Records decoded but not yet returned wait in a per-partition buffer,
//! so a fetch (about `max.partition.fetch.bytes`, 1 MiB by default, read with one
//! positional read) is decoded once whatever `max_poll_records` is. Partitions are served
//! round-robin across polls. Records slice the fetched bytes without copying; fetches read
//! into buffers that are reused once no record refers to them (see
//! `segment::ReadBuffers`).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use super::batch::{check_batch, decode_records, Check, FLAG_LOG_APPEND_TIME};
use super::group::Interest;
use super::partition::{Fetch, Partition};
use super::segment::ReadBuffers;
use super::{Inner, READ_ONLY_REFRESH};
use crate::error::{LogError, LogResult};
use crate::types::{
    ConsumedRecord, ConsumerConfig, OffsetReset, SeekTo, Subscription, TimestampType,
    TopicPartition,
};
use crate::{LogConsumer, RebalanceListener};

/// Records of one poll whose room is reserved before reading; more grow the vector.
const MAX_PREALLOCATED_RECORDS: usize = 8_192;

const DEFAULT_MAX_POLL_RECORDS: usize = 500;
const DEFAULT_FETCH_BYTES: usize = 1 << 20;

struct PartState {
    tp: TopicPartition,
    partition: Arc<Partition>,
    position: i64,
    fetch_at: i64,
    paused: bool,
    buffered: VecDeque<ConsumedRecord>,
}

struct Membership {
    group: String,
    member: u64,
    seen_epoch: u64,
    seen_meta: u64,
}

/// A consumer of an embedded log.
pub(crate) struct EmbeddedConsumer {
    inner: Arc<Inner>,
    config: ConsumerConfig,
    max_records: usize,
    fetch_bytes: usize,
    parts: Vec<PartState>,
    next_start: usize,
    membership: Option<Membership>,
    manual: bool,
    closed: bool,
    /// Buffers the fetches read into, reused once their records are gone.
    read_buffers: ReadBuffers,
}

impl EmbeddedConsumer {
    pub fn new(inner: Arc<Inner>, config: ConsumerConfig) -> LogResult<Self> {
        let max_records = if config.max_poll_records == 0 {
            DEFAULT_MAX_POLL_RECORDS
        } else {
            config.max_poll_records
        };
        let fetch_bytes = match config.properties.get("max.partition.fetch.bytes") {
            None => DEFAULT_FETCH_BYTES,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| LogError::InvalidConfig {
                    key: "max.partition.fetch.bytes".into(),
                    message: format!("'{v}' is not a positive whole number"),
                })?,
        };
        Ok(EmbeddedConsumer {
            inner,
            config,
            max_records,
            fetch_bytes,
            parts: Vec::new(),
            next_start: 0,
            membership: None,
            manual: false,
            closed: false,
            read_buffers: ReadBuffers::default(),
        })
    }

    fn check_open(&self) -> LogResult<()> {
        if self.closed {
            return Err(LogError::Closed);
        }
        self.inner.check_open()
    }

    fn group_id(&self) -> LogResult<&str> {
        self.config
            .group_id
            .as_deref()
            .ok_or_else(|| LogError::InvalidConfig {
                key: "group.id".into(),
                message: "this consumer has no group id; set one to subscribe or to commit offsets"
                    .into(),
            })
    }

    /// Where a newly assigned partition starts: the committed offset, else the reset policy.
    fn start_position(&self, tp: &TopicPartition, p: &Partition) -> LogResult<i64> {
        if let Some(g) = &self.config.group_id {
            if let Some(o) = self.inner.groups.committed_one(g, tp)? {
                return Ok(o);
            }
        }
        let (earliest, latest) = p.offsets()?;
        Ok(match self.config.auto_offset_reset {
            OffsetReset::Earliest => earliest,
            OffsetReset::Latest => latest,
        })
    }

    fn add_partition(&mut self, tp: TopicPartition) -> LogResult<()> {
        let partition = self.inner.partition(&tp.topic, tp.partition)?;
        let position = self.start_position(&tp, &partition)?;
        self.parts.push(PartState {
            tp,
            partition,
            position,
            fetch_at: position,
            paused: false,
            buffered: VecDeque::new(),
        });
        Ok(())
    }

    fn state_mut(&mut self, tp: &TopicPartition) -> LogResult<&mut PartState> {
        self.parts
            .iter_mut()
            .find(|s| s.tp == *tp)
            .ok_or_else(|| LogError::NotAssigned {
                topic: tp.topic.to_string(),
                partition: tp.partition,
            })
    }

    /// Brings a subscribed consumer's assignment in line with its group.
    async fn rebalance(&mut self, listener: &mut dyn RebalanceListener) -> LogResult<()> {
        let Some(m) = &self.membership else {
            return Ok(());
        };
        let (group, member) = (m.group.clone(), m.member);
        let epoch = self.inner.groups.epoch(&group)?;
        let meta = self.inner.meta_version();
        if epoch == m.seen_epoch && meta == m.seen_meta {
            return Ok(());
        }
        let topics = self.inner.topic_list()?;
        let owned: BTreeSet<TopicPartition> = self.parts.iter().map(|s| s.tp.clone()).collect();
        let (moves, epoch) = self
            .inner
            .groups
            .sync(&group, member, &owned, &topics, meta)?;
        if let Some(m) = &mut self.membership {
            m.seen_epoch = epoch;
            m.seen_meta = meta;
        }
        if !moves.revoke.is_empty() {
            let offsets = listener.on_partitions_revoked(&moves.revoke).await;
            if !offsets.is_empty() {
                self.inner.groups.commit(&group, &offsets, None)?;
            }
            self.parts.retain(|s| !moves.revoke.contains(&s.tp));
            self.inner.groups.release(&group, member, &moves.revoke)?;
            self.inner.notify.notify_waiters();
        }
        if !moves.claimed.is_empty() {
            let mut added = Vec::with_capacity(moves.claimed.len());
            for tp in moves.claimed {
                match self.add_partition(tp.clone()) {
                    Ok(()) => added.push(tp),
                    // Deleted since the assignment was computed: give it back.
                    Err(LogError::UnknownTopic { .. } | LogError::UnknownPartition { .. }) => {
                        self.inner
                            .groups
                            .release(&group, member, std::slice::from_ref(&tp))?;
                    }
                    Err(e) => return Err(e),
                }
            }
            listener.on_partitions_assigned(&added).await;
        }
        Ok(())
    }

    /// Gathers up to `max_records` ready records, round-robin over partitions.
    fn collect(&mut self) -> LogResult<Vec<ConsumedRecord>> {
        let n = self.parts.len();
        // Sized up front: growing a vector of thousands of records by doubling copies it
        // several times and churns large allocations.
        let mut out = Vec::with_capacity(self.max_records.min(MAX_PREALLOCATED_RECORDS));
        if n == 0 {
            return Ok(out);
        }
        let start = self.next_start % n;
        self.next_start = self.next_start.wrapping_add(1);
        for k in 0..n {
            let i = (start + k) % n;
            let want = self.max_records - out.len();
            if want == 0 {
                break;
            }
            let reset = self.config.auto_offset_reset;
            let fetch_bytes = self.fetch_bytes;
            let s = &mut self.parts[i];
            if s.paused
                || s.partition
                    .deleted
                    .load(std::sync::atomic::Ordering::Acquire)
            {
                continue;
            }
            let before = out.len();
            if s.buffered.is_empty() {
                let limit = self.max_records;
                fill(
                    s,
                    fetch_bytes,
                    reset,
                    &mut self.read_buffers,
                    &mut out,
                    limit,
                )?;
            } else {
                let take = want.min(s.buffered.len());
                out.extend(s.buffered.drain(..take));
            }
            if let Some(last) = out.last() {
                if out.len() > before {
                    s.position = last.offset + 1;
                }
            }
            if s.buffered.is_empty() {
                s.position = s.position.max(s.fetch_at);
            }
        }
        Ok(out)
    }

    async fn leave_group(&mut self, listener: &mut dyn RebalanceListener) -> LogResult<()> {
        let Some(m) = self.membership.take() else {
            return Ok(());
        };
        let owned: Vec<TopicPartition> = self.parts.iter().map(|s| s.tp.clone()).collect();
        let mut result = Ok(());
        if !owned.is_empty() {
            let offsets = listener.on_partitions_revoked(&owned).await;
            if !offsets.is_empty() {
                result = self.inner.groups.commit(&m.group, &offsets, None);
            }
        }
        self.parts.clear();
        self.inner.groups.leave(&m.group, m.member)?;
        self.inner.notify.notify_waiters();
        result
    }
}

/// Reads the next batches of a partition (at least one record if any are there, about
/// `fetch_bytes` of them) into `out` up to `limit` records, and the rest into the
/// partition's buffer.
fn fill(
    s: &mut PartState,
    fetch_bytes: usize,
    reset: OffsetReset,
    buffers: &mut ReadBuffers,
    out: &mut Vec<ConsumedRecord>,
    limit: usize,
) -> LogResult<()> {
    let mut resets = 0;
    loop {
        match s.partition.fetch(s.fetch_at, fetch_bytes, buffers)? {
            Fetch::AtEnd => return Ok(()),
            Fetch::OutOfRange { earliest, latest } => {
                let to = match reset {
                    OffsetReset::Earliest => earliest,
                    OffsetReset::Latest => latest,
                };
                tracing::warn!(
                    topic = %s.tp.topic,
                    partition = s.tp.partition,
                    offset = s.fetch_at,
                    earliest,
                    latest,
                    reset_to = to,
                    "Fetch position is out of range; resetting per auto.offset.reset."
                );
                s.position = to;
                s.fetch_at = to;
                resets += 1;
                if resets > 1 {
                    // The range moved again under us (retention); try on the next poll.
                    return Ok(());
                }
            }
            Fetch::Batches(data) => {
                let (before, decoded) = (s.fetch_at, out.len());
                decode_chunk(s, &data, out, limit)?;
                // Only markers or compacted-away offsets: keep going while it advances.
                if out.len() > decoded || !s.buffered.is_empty() || s.fetch_at == before {
                    return Ok(());
                }
            }
        }
    }
}

/// Decodes whole batches of `data` into `out` while it holds fewer than `limit` records,
/// the records after that into the partition's buffer, and stops after the batch that
/// fills `out`. Decoding straight into `out` moves each record once.
///
/// The records of one fetch share a copy of the topic name of their own: the records of
/// the previous fetch are usually being dropped on another thread meanwhile, and one name
/// shared by every record would have both threads update the same reference count per
/// record.
fn decode_chunk(
    s: &mut PartState,
    data: &Bytes,
    out: &mut Vec<ConsumedRecord>,
    limit: usize,
) -> LogResult<()> {
    let topic: Arc<str> = Arc::from(&*s.tp.topic);
    let mut at = 0;
    while at < data.len() && out.len() < limit {
        let h = match check_batch(&data[at..]) {
            Check::Complete(h) => h,
            Check::Incomplete { .. } => break,
            Check::Corrupt(m) => {
                return Err(LogError::Corrupt {
                    path: s.partition.dir.clone(),
                    message: format!(
                        "{}-{} near offset {}: {m}",
                        s.tp.topic, s.tp.partition, s.fetch_at
                    ),
                })
            }
        };
        let batch = data.slice(at..at + h.length as usize);
        at += h.length as usize;
        let next = h.next_offset();
        if next <= s.fetch_at {
            continue;
        }
        if !h.is_control() {
            let ts_type = if h.flags & FLAG_LOG_APPEND_TIME != 0 {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            };
            let topic = &topic;
            let partition = s.tp.partition;
            let buffered = &mut s.buffered;
            decode_records(&batch, &h, s.fetch_at, |r| {
                let record = ConsumedRecord {
                    topic: topic.clone(),
                    partition,
                    offset: r.offset,
                    timestamp: r.timestamp,
                    timestamp_type: ts_type,
                    key: r.key,
                    value: r.value,
                    headers: r.headers,
                };
                if out.len() < limit {
                    out.push(record);
                } else {
                    buffered.push_back(record);
                }
            })
            .map_err(|m| LogError::Corrupt {
                path: s.partition.dir.clone(),
                message: format!(
                    "{}-{} batch at offset {}: {m}",
                    s.tp.topic, s.tp.partition, h.base_offset
                ),
            })?;
        }
        s.fetch_at = next;
    }
    Ok(())
}

#[async_trait]
impl LogConsumer for EmbeddedConsumer {
    async fn subscribe(&mut self, subscription: Subscription) -> LogResult<()> {
        self.check_open()?;
        if self.inner.read_only {
            return Err(LogError::ReadOnly {
                path: self.inner.dir.clone(),
            });
        }
        if self.manual {
            return Err(LogError::InvalidConfig {
                key: "subscription".into(),
                message: "this consumer uses assign(); subscribe and assign cannot be mixed".into(),
            });
        }
        let group = self.group_id()?.to_owned();
        let interest = Interest::new(&subscription)?;
        match &self.membership {
            Some(m) => self.inner.groups.resubscribe(&group, m.member, interest)?,
            None => {
                let member = self.inner.groups.join(&group, interest)?;
                self.membership = Some(Membership {
                    group,
                    member,
                    seen_epoch: 0,
                    seen_meta: 0,
                });
            }
        }
        self.inner.notify.notify_waiters();
        Ok(())
    }

    async fn assign(&mut self, partitions: &[TopicPartition]) -> LogResult<()> {
        self.check_open()?;
        if self.membership.is_some() {
            return Err(LogError::InvalidConfig {
                key: "subscription".into(),
                message:
                    "this consumer is subscribed to a group; subscribe and assign cannot be mixed"
                        .into(),
            });
        }
        self.inner.refresh_topics()?;
        for tp in partitions {
            self.inner.partition(&tp.topic, tp.partition)?;
        }
        self.manual = true;
        self.parts.retain(|s| partitions.contains(&s.tp));
        for tp in partitions {
            if !self.parts.iter().any(|s| s.tp == *tp) {
                self.add_partition(tp.clone())?;
            }
        }
        Ok(())
    }

    async fn poll(
        &mut self,
        timeout: Duration,
        listener: &mut dyn RebalanceListener,
    ) -> LogResult<Vec<ConsumedRecord>> {
        self.check_open()?;
        let deadline = Instant::now() + timeout;
        let notify = self.inner.notify.clone();
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            self.rebalance(listener).await?;
            self.inner.refresh_topics()?;
            let mut records = self.collect()?;
            if !records.is_empty() {
                if self.config.skip_headers {
                    records.iter_mut().for_each(|r| r.headers.clear());
                }
                return Ok(records);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(records);
            }
            let mut wait = deadline - now;
            if self.inner.read_only {
                wait = wait.min(READ_ONLY_REFRESH);
            }
            let _ = tokio::time::timeout(wait, notified).await;
            self.check_open()?;
        }
    }

    fn seek(&mut self, partition: &TopicPartition, to: SeekTo) -> LogResult<()> {
        self.check_open()?;
        let s = self.state_mut(partition)?;
        let (earliest, latest) = s.partition.offsets()?;
        let at = match to {
            SeekTo::Beginning => earliest,
            SeekTo::End => latest,
            SeekTo::Offset(o) => o,
        };
        s.position = at;
        s.fetch_at = at;
        s.buffered.clear();
        Ok(())
    }

    fn pause(&mut self, partitions: &[TopicPartition]) {
        for s in self.parts.iter_mut().filter(|s| partitions.contains(&s.tp)) {
            s.paused = true;
        }
    }

    fn resume(&mut self, partitions: &[TopicPartition]) {
        for s in self.parts.iter_mut().filter(|s| partitions.contains(&s.tp)) {
            s.paused = false;
        }
    }

    fn position(&self, partition: &TopicPartition) -> Option<i64> {
        self.parts
            .iter()
            .find(|s| s.tp == *partition)
            .map(|s| s.position)
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = self.parts.iter().map(|s| s.tp.clone()).collect();
        v.sort();
        v
    }

    async fn commit(&mut self, offsets: &[(TopicPartition, i64)]) -> LogResult<()> {
        self.check_open()?;
        let group = self.group_id()?.to_owned();
        self.inner.groups.commit(&group, offsets, None)
    }

    async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> LogResult<Vec<(TopicPartition, Option<i64>)>> {
        self.check_open()?;
        let group = self.group_id()?;
        self.inner.groups.committed(group, partitions)
    }

    async fn close(&mut self, listener: &mut dyn RebalanceListener) -> LogResult<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.leave_group(listener).await;
        self.parts.clear();
        self.closed = true;
        result
    }
}

impl Drop for EmbeddedConsumer {
    fn drop(&mut self) {
        if let Some(m) = self.membership.take() {
            if let Err(e) = self.inner.groups.leave(&m.group, m.member) {
                tracing::warn!(group = %m.group, error = %e, "Leaving the group on drop failed.");
            }
            self.inner.notify.notify_waiters();
        }
    }
}

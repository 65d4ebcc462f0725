//! The embedded producer. A plain `send` groups its records per partition and writes each
//! group as one batch right away, under that partition's append lock only; the returned
//! future is already resolved. Inside a transaction, sends are buffered until
//! `commit_transaction` (see the module docs of [`crate::embedded`]).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::batch::FLAG_TRANSACTIONAL;
use super::partition::Written;
use super::partitioner::partition_for_key;
use super::txn::TxnOffsets;
use super::{now_ms, Inner, Topic};
use crate::error::{LogError, LogResult};
use crate::types::{ProduceRecord, RecordMetadata, TopicPartition};
use crate::{DeliveryFuture, LogProducer, ProducerConfig};

/// Records of one send bound for one partition: indices into the send's records.
struct Group {
    topic: Arc<Topic>,
    partition: i32,
    indices: Vec<u32>,
}

/// A partition written by a transaction: its topic and the (send, group) pairs bound for it.
type TxnPartition = (Arc<Topic>, Vec<(usize, usize)>);

/// A send made inside a transaction, waiting for the commit.
struct PendingSend {
    records: Vec<ProduceRecord>,
    groups: Vec<Group>,
    reply: oneshot::Sender<LogResult<Vec<RecordMetadata>>>,
}

#[derive(Default)]
struct TxnProducerState {
    epoch: Option<u64>,
    open: bool,
    sends: Vec<PendingSend>,
    offsets: TxnOffsets,
}

/// A producer of an embedded log.
pub(crate) struct EmbeddedProducer {
    inner: Arc<Inner>,
    transactional_id: Option<String>,
    txn: Mutex<TxnProducerState>,
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> LogError {
    LogError::Unavailable("a producer lock was poisoned by a panic in another thread".into())
}

fn ready(result: LogResult<Vec<RecordMetadata>>) -> DeliveryFuture {
    Box::pin(std::future::ready(result))
}

impl EmbeddedProducer {
    pub fn new(inner: Arc<Inner>, config: ProducerConfig) -> Self {
        EmbeddedProducer {
            inner,
            transactional_id: config.transactional_id,
            txn: Mutex::new(TxnProducerState::default()),
        }
    }

    /// Places every record on a partition; one group per (topic, partition) in first-seen
    /// order. Keyless records of one send share a partition per topic.
    fn place(&self, records: &[ProduceRecord]) -> LogResult<Vec<Group>> {
        let mut groups: Vec<Group> = Vec::new();
        // The previous record's topic name and topic; records of a batch usually share both.
        let mut topic: Option<(&Arc<str>, Arc<Topic>)> = None;
        let mut sticky: Vec<(Arc<str>, i32)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let t = match &topic {
                Some((name, t)) if Arc::ptr_eq(name, &r.topic) || ***name == *r.topic => t.clone(),
                _ => {
                    let t = self.inner.topic_for_produce(&r.topic)?;
                    topic = Some((&r.topic, t.clone()));
                    t
                }
            };
            let n = t.partitions.len() as i32;
            let partition = match (r.partition, &r.key) {
                (Some(p), _) => {
                    if p < 0 || p >= n {
                        return Err(LogError::UnknownPartition {
                            topic: r.topic.to_string(),
                            partition: p,
                        });
                    }
                    p
                }
                (None, Some(k)) => partition_for_key(k, n),
                (None, None) => match sticky.iter().find(|(name, _)| **name == *t.name) {
                    Some((_, p)) => *p,
                    None => {
                        let p = (t.sticky.fetch_add(1, Ordering::Relaxed) % n as u32) as i32;
                        sticky.push((t.name.clone(), p));
                        p
                    }
                },
            };
            if t.config.compact && r.key.is_none() {
                return Err(LogError::InvalidConfig {
                    key: "cleanup.policy".into(),
                    message: format!(
                        "topic '{}' is compacted, so every record needs a key (record {i} of the batch has none)",
                        t.name
                    ),
                });
            }
            match groups
                .iter_mut()
                .rev()
                .find(|g| g.partition == partition && Arc::ptr_eq(&g.topic, &t))
            {
                Some(g) => g.indices.push(i as u32),
                None => groups.push(Group {
                    topic: t,
                    partition,
                    indices: vec![i as u32],
                }),
            }
        }
        Ok(groups)
    }

    fn send_now(&self, records: &[ProduceRecord]) -> LogResult<Vec<RecordMetadata>> {
        self.inner.check_writable()?;
        let groups = self.place(records)?;
        let now = now_ms();
        let mut meta = vec![
            RecordMetadata {
                partition: 0,
                offset: -1,
                timestamp: -1
            };
            records.len()
        ];
        for g in &groups {
            let p = &g.topic.partitions[g.partition as usize];
            let written = {
                let mut w = p.lock_writer()?;
                let written = p.write_records(
                    &mut w,
                    &g.topic.config,
                    g.indices.iter().map(|&i| &records[i as usize]),
                    now,
                    0,
                    -1,
                    true,
                )?;
                p.publish(&[written])?;
                p.maybe_flush(&mut w, &g.topic.config)?;
                written
            };
            fill_metadata(
                &mut meta,
                records,
                g,
                &written,
                now,
                g.topic.config.log_append_time,
            );
        }
        Ok(meta)
    }

    fn txn_id(&self) -> LogResult<&str> {
        self.transactional_id.as_deref().ok_or_else(|| {
            LogError::Transaction(
                "this producer has no transactional id; set one to use transactions".into(),
            )
        })
    }

    /// The producer's epoch, checked against the coordinator (fenced producers fail).
    fn check_fenced(&self, st: &mut TxnProducerState) -> LogResult<()> {
        let id = self.txn_id()?;
        let Some(epoch) = st.epoch else {
            return Err(LogError::Transaction(format!(
                "producer '{id}' must call init_transactions first"
            )));
        };
        let coordinator = self.inner.txns.lock()?;
        if let Err(e) = coordinator.check_epoch(id, epoch) {
            drop(coordinator);
            abandon(st, || LogError::Fenced {
                transactional_id: id.to_owned(),
            });
            return Err(e);
        }
        Ok(())
    }

    fn commit_locked(&self, st: &mut TxnProducerState) -> LogResult<()> {
        let id = self.txn_id()?.to_owned();
        let mut coordinator = self.inner.txns.lock()?;
        let epoch = st.epoch.unwrap_or(0);
        if let Err(e) = coordinator.check_epoch(&id, epoch) {
            drop(coordinator);
            abandon(st, || LogError::Fenced {
                transactional_id: id.clone(),
            });
            return Err(e);
        }
        self.inner.check_writable()?;
        let sends = std::mem::take(&mut st.sends);
        let offsets = std::mem::take(&mut st.offsets);
        st.open = false;
        let txn_id = coordinator.next_txn_id();
        // Partitions involved, in a fixed order (lock order).
        let mut parts: BTreeMap<(Arc<str>, i32), TxnPartition> = BTreeMap::new();
        for (si, s) in sends.iter().enumerate() {
            for (gi, g) in s.groups.iter().enumerate() {
                parts
                    .entry((g.topic.name.clone(), g.partition))
                    .or_insert_with(|| (g.topic.clone(), Vec::new()))
                    .1
                    .push((si, gi));
            }
        }
        let now = now_ms();
        let result = (|| -> LogResult<Vec<Vec<Written>>> {
            let guards: Vec<_> = parts
                .iter()
                .map(|((_, p), (topic, _))| topic.partitions[*p as usize].clone())
                .collect();
            let mut locks = Vec::with_capacity(guards.len());
            for part in &guards {
                locks.push(part.lock_writer()?);
            }
            let sync = parts
                .values()
                .any(|(t, _)| t.config.flush_messages.is_some() || t.config.flush_ms.is_some());
            // 1. data batches, invisible for now
            let mut written: Vec<Vec<Written>> = Vec::with_capacity(parts.len());
            let mut saved = Vec::with_capacity(parts.len());
            for (i, (topic, batches)) in parts.values().enumerate() {
                let part = &guards[i];
                let w = &mut locks[i];
                saved.push(w.save());
                let mut out = Vec::with_capacity(batches.len() + 1);
                for (n, &(si, gi)) in batches.iter().enumerate() {
                    let s = &sends[si];
                    let g = &s.groups[gi];
                    let r = part.write_records(
                        w,
                        &topic.config,
                        g.indices.iter().map(|&i| &s.records[i as usize]),
                        now,
                        FLAG_TRANSACTIONAL,
                        txn_id,
                        n == 0,
                    );
                    match r {
                        Ok(b) => out.push(b),
                        Err(e) => {
                            for (j, s) in saved.iter().enumerate() {
                                guards[j].rollback(&mut locks[j], s);
                            }
                            return Err(e);
                        }
                    }
                }
                written.push(out);
            }
            if sync {
                for (i, part) in guards.iter().enumerate() {
                    part.sync(&mut locks[i])?;
                }
            }
            // 2. the commit point
            if let Err(e) = coordinator.append_commit(txn_id, &offsets, sync) {
                for (j, s) in saved.iter().enumerate() {
                    guards[j].rollback(&mut locks[j], s);
                }
                return Err(e);
            }
            // 3. markers, visibility, offsets
            for (i, part) in guards.iter().enumerate() {
                let marker = part.write_marker(&mut locks[i], txn_id, now)?;
                written[i].push(marker);
                part.publish(&written[i])?;
            }
            for (i, (topic, _)) in parts.values().enumerate() {
                guards[i].maybe_flush(&mut locks[i], &topic.config)?;
            }
            Ok(written)
        })();
        let written = match result {
            Ok(w) => w,
            Err(e) => {
                let msg = e.to_string();
                for s in sends {
                    // A caller that dropped its future does not need the error.
                    let _ = s.reply.send(Err(LogError::Transaction(format!(
                        "transaction {txn_id} failed to commit: {msg}"
                    ))));
                }
                return Err(e);
            }
        };
        // The transaction is committed: resolve the sends with their offsets.
        let mut metas: Vec<Vec<RecordMetadata>> = sends
            .iter()
            .map(|s| {
                vec![
                    RecordMetadata {
                        partition: 0,
                        offset: -1,
                        timestamp: -1
                    };
                    s.records.len()
                ]
            })
            .collect();
        for (i, (topic, batches)) in parts.values().enumerate() {
            for (n, &(si, gi)) in batches.iter().enumerate() {
                let s = &sends[si];
                fill_metadata(
                    &mut metas[si],
                    &s.records,
                    &s.groups[gi],
                    &written[i][n],
                    now,
                    topic.config.log_append_time,
                );
            }
        }
        for (s, m) in sends.into_iter().zip(metas) {
            // A caller that dropped its future does not want the metadata.
            let _ = s.reply.send(Ok(m));
        }
        // The commit record holds these offsets too: if storing them fails here, the next
        // open applies them.
        for (group, offs) in &offsets {
            self.inner.groups.commit(group, offs, Some(txn_id))?;
        }
        coordinator.maybe_reset()
    }
}

/// Drops an open transaction, failing its sends.
fn abandon(st: &mut TxnProducerState, err: impl Fn() -> LogError) {
    for s in st.sends.drain(..) {
        let _ = s.reply.send(Err(err()));
    }
    st.offsets.clear();
    st.open = false;
}

fn fill_metadata(
    meta: &mut [RecordMetadata],
    records: &[ProduceRecord],
    g: &Group,
    written: &Written,
    now: i64,
    log_append_time: bool,
) {
    for (n, &i) in g.indices.iter().enumerate() {
        let r = &records[i as usize];
        meta[i as usize] = RecordMetadata {
            partition: g.partition,
            offset: written.header.base_offset + n as i64,
            timestamp: if log_append_time {
                now
            } else {
                r.timestamp.unwrap_or(now)
            },
        };
    }
}

#[async_trait]
impl LogProducer for EmbeddedProducer {
    fn send(&self, records: Vec<ProduceRecord>) -> DeliveryFuture {
        if self.transactional_id.is_none() {
            return ready(self.send_now(&records));
        }
        let mut st = match self.txn.lock() {
            Ok(st) => st,
            Err(e) => return ready(Err(poisoned(e))),
        };
        if let Err(e) = self.check_fenced(&mut st) {
            return ready(Err(e));
        }
        if !st.open {
            return ready(Err(LogError::Transaction(
                "send outside a transaction: call begin_transaction first".into(),
            )));
        }
        let groups = match self.place(&records) {
            Ok(g) => g,
            Err(e) => return ready(Err(e)),
        };
        let (tx, rx) = oneshot::channel();
        st.sends.push(PendingSend {
            records,
            groups,
            reply: tx,
        });
        Box::pin(async move {
            rx.await.unwrap_or_else(|_| {
                Err(LogError::Transaction(
                    "the transaction was dropped before it committed".into(),
                ))
            })
        })
    }

    async fn flush(&self) -> LogResult<()> {
        // Plain sends are written before `send` returns; transactional ones wait for the
        // commit by design.
        self.inner.check_open()
    }

    async fn init_transactions(&self) -> LogResult<()> {
        let id = self.txn_id()?.to_owned();
        self.inner.check_writable()?;
        let mut st = self.txn.lock().map_err(poisoned)?;
        let epoch = self.inner.txns.lock()?.bump_epoch(&id);
        abandon(&mut st, || {
            LogError::Transaction("the transaction was aborted by init_transactions".into())
        });
        st.epoch = Some(epoch);
        Ok(())
    }

    async fn begin_transaction(&self) -> LogResult<()> {
        let mut st = self.txn.lock().map_err(poisoned)?;
        self.check_fenced(&mut st)?;
        if st.open {
            return Err(LogError::Transaction(
                "a transaction is already open".into(),
            ));
        }
        st.open = true;
        Ok(())
    }

    async fn send_offsets_to_transaction(
        &self,
        offsets: &[(TopicPartition, i64)],
        group: &str,
    ) -> LogResult<()> {
        let mut st = self.txn.lock().map_err(poisoned)?;
        self.check_fenced(&mut st)?;
        if !st.open {
            return Err(LogError::Transaction(
                "send_offsets_to_transaction outside a transaction".into(),
            ));
        }
        let entry = st.offsets.entry(group.to_owned()).or_default();
        for (tp, o) in offsets {
            match entry.iter_mut().find(|(t, _)| t == tp) {
                Some(e) => e.1 = *o,
                None => entry.push((tp.clone(), *o)),
            }
        }
        Ok(())
    }

    async fn commit_transaction(&self) -> LogResult<()> {
        let mut st = self.txn.lock().map_err(poisoned)?;
        self.check_fenced(&mut st)?;
        if !st.open {
            return Err(LogError::Transaction(
                "commit without an open transaction".into(),
            ));
        }
        self.commit_locked(&mut st)
    }

    async fn abort_transaction(&self) -> LogResult<()> {
        let mut st = self.txn.lock().map_err(poisoned)?;
        self.check_fenced(&mut st)?;
        if !st.open {
            return Err(LogError::Transaction(
                "abort without an open transaction".into(),
            ));
        }
        abandon(&mut st, || {
            LogError::Transaction("the transaction was aborted".into())
        });
        Ok(())
    }
}

//! The transaction coordinator: producer epochs for fencing, transaction ids, and the
//! commit-record file `DIR/transactions.log` that is the commit point of a transaction.
//!
//! Each commit record is `[payload length u32][CRC-32 of payload u32][payload]`, the
//! payload a JSON object with the transaction id and the consumer offsets committed with
//! it. At open the file is read up to the first damaged record; recovery uses it to decide
//! whether a transaction cut short was committed, applies its offsets, and then empties
//! the file. While running, the file is emptied whenever it grows past 1 MiB (every
//! transaction in it is finished by then: commits are serialized).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::error::{LogError, LogResult};
use crate::types::TopicPartition;

const RESET_AT: u64 = 1 << 20;

/// Offsets committed with one transaction, per group.
pub(crate) type TxnOffsets = BTreeMap<String, Vec<(TopicPartition, i64)>>;

#[derive(Serialize, Deserialize)]
struct Record {
    txn: i64,
    offsets: BTreeMap<String, Vec<(String, i32, i64)>>,
}

/// Coordinator state, guarded by one lock that also serializes commits.
#[derive(Debug)]
pub(crate) struct TxnState {
    epochs: HashMap<String, u64>,
    next_txn: i64,
    file: Option<File>,
    path: PathBuf,
    len: u64,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct TxnCoordinator {
    state: Mutex<TxnState>,
    recovered: HashSet<i64>,
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> LogError {
    LogError::Unavailable("the transaction lock was poisoned by a panic in another thread".into())
}

impl TxnCoordinator {
    /// Reads the commit records left by the previous run.
    pub fn open(dir: &Path, read_only: bool) -> LogResult<(Self, Vec<(i64, TxnOffsets)>)> {
        let path = dir.join("transactions.log");
        let mut pending = Vec::new();
        let file = if read_only {
            None
        } else {
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| LogError::io(format!("opening '{}'", path.display()), e))?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)
                .map_err(|e| LogError::io(format!("reading '{}'", path.display()), e))?;
            let mut at = 0;
            while at + 8 <= buf.len() {
                let len =
                    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
                let crc = u32::from_le_bytes([buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]]);
                let Some(payload) = buf.get(at + 8..at + 8 + len) else {
                    break;
                };
                if crc32fast::hash(payload) != crc {
                    break;
                }
                let Ok(rec) = serde_json::from_slice::<Record>(payload) else {
                    break;
                };
                let offsets = rec
                    .offsets
                    .into_iter()
                    .map(|(g, v)| {
                        let v = v
                            .into_iter()
                            .map(|(t, p, o)| (TopicPartition::new(t, p), o))
                            .collect();
                        (g, v)
                    })
                    .collect();
                pending.push((rec.txn, offsets));
                at += 8 + len;
            }
            Some(f)
        };
        let recovered = pending.iter().map(|(id, _)| *id).collect();
        let next_txn = pending.iter().map(|(id, _)| *id + 1).max().unwrap_or(1);
        Ok((
            TxnCoordinator {
                state: Mutex::new(TxnState {
                    epochs: HashMap::new(),
                    next_txn,
                    file,
                    path,
                    len: 0,
                }),
                recovered,
            },
            pending,
        ))
    }

    /// During open: whether a commit record for `txn_id` was found.
    pub fn was_committed(&self, txn_id: i64) -> bool {
        self.recovered.contains(&txn_id)
    }

    /// Empties the commit-record file once recovery has applied it, and picks transaction
    /// ids above every id used before.
    pub fn finish_recovery(&self, max_applied: i64) -> LogResult<()> {
        let mut st = self.lock()?;
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        st.next_txn = st.next_txn.max(max_applied + 1).max(micros);
        st.reset()
    }

    /// Takes the coordinator lock (serializes commits and fencing).
    pub fn lock(&self) -> LogResult<MutexGuard<'_, TxnState>> {
        self.state.lock().map_err(poisoned)
    }

    /// Runs `f` with no commit in progress.
    pub fn while_idle<T>(&self, f: impl FnOnce() -> T) -> T {
        let guard = self.state.lock();
        let out = f();
        drop(guard);
        out
    }
}

impl TxnState {
    /// Registers a new producer instance for `id`; older instances are fenced.
    pub fn bump_epoch(&mut self, id: &str) -> u64 {
        let e = self.epochs.entry(id.to_owned()).or_insert(0);
        *e += 1;
        *e
    }

    /// Fails with [`LogError::Fenced`] unless `epoch` is the newest for `id`.
    pub fn check_epoch(&self, id: &str, epoch: u64) -> LogResult<()> {
        if self.epochs.get(id) != Some(&epoch) {
            return Err(LogError::Fenced {
                transactional_id: id.to_owned(),
            });
        }
        Ok(())
    }

    /// A fresh transaction id.
    pub fn next_txn_id(&mut self) -> i64 {
        let id = self.next_txn;
        self.next_txn += 1;
        id
    }

    /// Appends the commit record of `txn` (the commit point).
    pub fn append_commit(&mut self, txn: i64, offsets: &TxnOffsets, sync: bool) -> LogResult<()> {
        let rec = Record {
            txn,
            offsets: offsets
                .iter()
                .map(|(g, v)| {
                    (
                        g.clone(),
                        v.iter()
                            .map(|(tp, o)| (tp.topic.to_string(), tp.partition, *o))
                            .collect(),
                    )
                })
                .collect(),
        };
        let payload = serde_json::to_vec(&rec).map_err(|e| LogError::Corrupt {
            path: self.path.clone(),
            message: format!("commit record does not serialize: {e}"),
        })?;
        let mut buf = Vec::with_capacity(payload.len() + 8);
        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        buf.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        buf.extend_from_slice(&payload);
        let Some(f) = &self.file else {
            return Err(LogError::ReadOnly {
                path: self.path.parent().unwrap_or(&self.path).to_path_buf(),
            });
        };
        f.write_all_at(&buf, self.len).map_err(|e| {
            LogError::io(
                format!("writing commit record to '{}'", self.path.display()),
                e,
            )
        })?;
        if sync {
            f.sync_data()
                .map_err(|e| LogError::io(format!("syncing '{}'", self.path.display()), e))?;
        }
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Empties the file when it has grown large; every transaction in it is finished.
    pub fn maybe_reset(&mut self) -> LogResult<()> {
        if self.len >= RESET_AT {
            self.reset()?;
        }
        Ok(())
    }

    fn reset(&mut self) -> LogResult<()> {
        if let Some(f) = &self.file {
            f.set_len(0)
                .and_then(|()| f.sync_all())
                .map_err(|e| LogError::io(format!("emptying '{}'", self.path.display()), e))?;
        }
        self.len = 0;
        Ok(())
    }
}

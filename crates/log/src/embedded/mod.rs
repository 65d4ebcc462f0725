//! The embedded log: a durable, in-process segment log, Sluice's log when no Kafka cluster
//! is configured.
//!
//! # Layout
//!
//! ```text
//! DIR/.lock                                   exclusive lock of the owning process
//! DIR/topics/<topic>/topic.json               partition count and explicit settings
//! DIR/topics/<topic>/<partition>/<base>.log   append-only segments, named by base offset
//! DIR/topics/<topic>/<partition>/<base>.index sparse index of a closed segment
//! DIR/groups/<group>.json                     committed offsets of a consumer group
//! DIR/transactions.log                        commit records of recent transactions
//! ```
//!
//! # Records
//!
//! Each `send` becomes one checksummed batch per partition (format in `batch.rs`): a fixed
//! header with length, CRC-32, base offset, record count, timestamps and flags, then the
//! records with varint lengths. Offsets are dense per partition (compaction later leaves
//! gaps, which readers skip). The batch is encoded into one reusable buffer and written
//! with one positional write under the partition's append lock; there is no global lock
//! on the produce path. A send is written before its [`DeliveryFuture`](crate::DeliveryFuture)
//! resolves, which is what survives `kill -9`; surviving power loss needs fsync, chosen by
//! `flush_interval_messages` / `flush_interval_ms` (or the topic's `flush.messages` /
//! `flush.ms`), like Kafka's `log.flush.interval.*`. By default the OS decides.
//!
//! Producers are idempotent by construction: the producer and the log are in the same
//! process, a send is written exactly once and never retried, so no sequence numbers are
//! needed.
//!
//! # Opening and recovery
//!
//! Opening reads each partition's segment list and trusts the index files of closed
//! segments; only a segment without a trustworthy index (normally just the active one
//! after a crash) is scanned. The scan stops at the first batch that runs past the end of
//! the file or fails its checks; the file is truncated there, and the loss is reported in
//! [`EmbeddedLog::recovery_report`] and logged as a warning. A clean [`EmbeddedLog::close`]
//! writes the active segments' indexes so the next open scans nothing.
//!
//! # Transactions
//!
//! A transactional producer buffers the records of an open transaction in memory; nothing
//! reaches the files before `commit_transaction`, so aborting is just dropping the buffer
//! and read-uncommitted readers never see aborted data either. The futures of sends made
//! inside a transaction resolve when the transaction commits (or fail when it aborts):
//! do not await them before committing. A commit runs under the log's transaction lock
//! and the append locks of every partition involved, in this order:
//!
//! 1. the batches are written to their partitions, flagged transactional with the
//!    transaction id, but not yet made visible;
//! 2. a commit record (transaction id and the consumer offsets given to
//!    `send_offsets_to_transaction`) is appended to `DIR/transactions.log`: this is the
//!    commit point;
//! 3. a commit marker (a one-record control batch that takes one offset, as in Kafka) is
//!    written after the batches in every partition, the batches and marker become visible
//!    together, and the group offsets are stored.
//!
//! Recovery finds a transaction cut short by a crash at the end of the last segment
//! (batches without their marker; the append locks guarantee nothing else follows them).
//! If its commit record exists the marker is written (roll forward) and its offsets are
//! applied; otherwise the batches are truncated away (roll back). So after a restart a
//! transaction is visible in all its partitions or in none, for every isolation level.
//! A read-only opener hides trailing transactional batches until their marker appears.
//! `init_transactions` fences older producers with the same transactional id: their next
//! call fails with [`LogError::Fenced`] and their open transaction is dropped.
//!
//! # Consumers and groups
//!
//! Consumers read batches with positional reads into one buffer and slice keys and values
//! out of it without copying. They wait for data on a [`tokio::sync::Notify`] woken by
//! every append. Groups are coordinated in process (see `group.rs`): range assignment,
//! incremental handover with the rebalance listener called during `poll`, offsets in
//! `DIR/groups`.
//!
//! # Retention and compaction
//!
//! A background thread deletes closed segments of `cleanup.policy=delete` topics whose
//! newest record is older than `retention.ms`, or while the partition stays above
//! `retention.bytes` without them; segments roll at `segment.bytes` or `segment.ms`. For
//! `cleanup.policy=compact` it rewrites closed segments keeping the latest record per key
//! (see [`EmbeddedLog::compact_now`]).
//!
//! # Read-only access
//!
//! [`EmbeddedLog::open_read_only`] reads a directory another process owns, without the
//! lock: admin listing and describing, and consumers using `assign`, see the owner's new
//! appends (file sizes are re-checked on poll). Writes fail with [`LogError::ReadOnly`].

mod admin;
mod batch;
mod compaction;
mod config;
mod consumer;
mod group;
mod partition;
mod partitioner;
mod producer;
mod segment;
mod txn;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

pub use compaction::CompactionStats;
pub use partitioner::{murmur2, partition_for_key};

use crate::error::{LogError, LogResult};
use crate::types::NewTopic;
use crate::{ConsumerConfig, Log, LogAdmin, LogConsumer, LogProducer, ProducerConfig};
use config::{validate_topic_name, TopicConfig, TopicFile};
use group::Groups;
use partition::Partition;
use txn::TxnCoordinator;

/// Settings of an embedded log. Topic-level settings (`retention.ms`, ...) override the
/// defaults here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedLogOptions {
    /// Fsync a partition after this many appended records (Kafka's
    /// `log.flush.interval.messages`); `None` leaves it to the OS.
    pub flush_interval_messages: Option<u64>,
    /// Fsync partitions with unflushed records this often (`log.flush.interval.ms`).
    pub flush_interval_ms: Option<u64>,
    /// Partitions of auto-created topics (`num.partitions`).
    pub default_partitions: i32,
    /// Create unknown topics on first produce (`auto.create.topics.enable`).
    pub auto_create_topics: bool,
    /// Default segment size (`log.segment.bytes`).
    pub segment_bytes: u64,
    /// Default `retention.ms` (`log.retention.ms`); `None` keeps data forever.
    pub retention_ms: Option<i64>,
    /// Default `retention.bytes` per partition; `None` for no size limit.
    pub retention_bytes: Option<i64>,
    /// How often retention runs (`log.retention.check.interval.ms`).
    pub retention_check_interval_ms: u64,
    /// How often compacted topics are cleaned (like `log.cleaner.backoff.ms`).
    pub compaction_interval_ms: u64,
}

impl Default for EmbeddedLogOptions {
    fn default() -> Self {
        EmbeddedLogOptions {
            flush_interval_messages: None,
            flush_interval_ms: None,
            default_partitions: 1,
            auto_create_topics: true,
            segment_bytes: 1 << 30,
            retention_ms: Some(7 * 24 * 3600 * 1000),
            retention_bytes: None,
            retention_check_interval_ms: 300_000,
            compaction_interval_ms: 15_000,
        }
    }
}

/// Something recovery changed when the log was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryNote {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The segment file that was truncated.
    pub segment: PathBuf,
    /// Bytes removed from the end of the segment.
    pub bytes_dropped: u64,
    /// Batches removed (for damage, the damaged batch; batches after it cannot be counted).
    pub batches_dropped: u64,
    /// Why: torn write, checksum failure, a transaction without its commit, or (with
    /// nothing dropped) a committed transaction whose missing markers were written.
    pub reason: String,
}

/// A topic as the log holds it.
#[derive(Debug)]
pub(crate) struct Topic {
    pub name: Arc<str>,
    pub dir: PathBuf,
    pub config: TopicConfig,
    pub explicit: BTreeMap<String, String>,
    pub partitions: Vec<Arc<Partition>>,
    /// Next partition for keyless sends.
    pub sticky: AtomicU32,
    /// Serializes retention and compaction of this topic.
    pub clean_lock: Mutex<()>,
}

/// Shared state behind every client of one embedded log.
#[derive(Debug)]
pub(crate) struct Inner {
    pub dir: PathBuf,
    pub options: EmbeddedLogOptions,
    pub read_only: bool,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    topic_admin: Mutex<()>,
    meta_version: AtomicU64,
    pub notify: Arc<Notify>,
    pub groups: Groups,
    pub txns: TxnCoordinator,
    closed: AtomicBool,
    lock_file: Mutex<Option<File>>,
    last_topic_refresh: Mutex<Option<Instant>>,
    maintenance: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
}

/// How often a read-only log looks for changes made by the owner.
pub(crate) const READ_ONLY_REFRESH: Duration = Duration::from_millis(100);

fn poisoned<T>(_: std::sync::PoisonError<T>) -> LogError {
    LogError::Unavailable("a log lock was poisoned by a panic in another thread".into())
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Replaces `path` with `data` through a temporary file, fsync and rename.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> LogResult<()> {
    use std::io::Write;
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let run = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(parent) = path.parent() {
            File::open(parent)?.sync_all()?;
        }
        Ok(())
    };
    run().map_err(|e| LogError::io(format!("writing '{}'", path.display()), e))
}

impl Inner {
    /// Fails once the log is closed.
    pub fn check_open(&self) -> LogResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(LogError::Closed);
        }
        Ok(())
    }

    /// Fails on a read-only log (or a closed one).
    pub fn check_writable(&self) -> LogResult<()> {
        self.check_open()?;
        if self.read_only {
            return Err(LogError::ReadOnly {
                path: self.dir.clone(),
            });
        }
        Ok(())
    }

    fn topics_dir(&self) -> PathBuf {
        self.dir.join("topics")
    }

    /// Version of the topic list, bumped on create and delete.
    pub fn meta_version(&self) -> u64 {
        self.meta_version.load(Ordering::Acquire)
    }

    /// A topic by name.
    pub fn topic(&self, name: &str) -> LogResult<Option<Arc<Topic>>> {
        self.refresh_topics()?;
        Ok(self.topics.read().map_err(poisoned)?.get(name).cloned())
    }

    /// A topic by name, or [`LogError::UnknownTopic`].
    pub fn require_topic(&self, name: &str) -> LogResult<Arc<Topic>> {
        self.topic(name)?
            .ok_or_else(|| LogError::UnknownTopic { topic: name.into() })
    }

    /// A partition by topic and number.
    pub fn partition(&self, topic: &str, partition: i32) -> LogResult<Arc<Partition>> {
        let t = self.require_topic(topic)?;
        usize::try_from(partition)
            .ok()
            .and_then(|p| t.partitions.get(p).cloned())
            .ok_or_else(|| LogError::UnknownPartition {
                topic: topic.into(),
                partition,
            })
    }

    /// The topic to produce to, created with default settings when missing and allowed.
    pub fn topic_for_produce(&self, name: &str) -> LogResult<Arc<Topic>> {
        if let Some(t) = self.topics.read().map_err(poisoned)?.get(name) {
            return Ok(t.clone());
        }
        if !self.options.auto_create_topics {
            return Err(LogError::UnknownTopic { topic: name.into() });
        }
        match self.create_topic(NewTopic::new(name, self.options.default_partitions)) {
            Ok(t) => {
                tracing::info!(topic = name, "Created topic on first produce.");
                Ok(t)
            }
            Err(LogError::TopicExists { .. }) => self.require_topic(name),
            Err(e) => Err(e),
        }
    }

    /// All topics with their partition counts, sorted by name.
    pub fn topic_list(&self) -> LogResult<Vec<(Arc<str>, i32)>> {
        self.refresh_topics()?;
        Ok(self
            .topics
            .read()
            .map_err(poisoned)?
            .values()
            .map(|t| (t.name.clone(), t.partitions.len() as i32))
            .collect())
    }

    /// All topics.
    pub fn all_topics(&self) -> LogResult<Vec<Arc<Topic>>> {
        Ok(self
            .topics
            .read()
            .map_err(poisoned)?
            .values()
            .cloned()
            .collect())
    }

    /// Creates a topic on disk and registers it.
    pub fn create_topic(&self, new: NewTopic) -> LogResult<Arc<Topic>> {
        self.check_writable()?;
        validate_topic_name(&new.name)?;
        if new.partitions < 1 {
            return Err(LogError::InvalidConfig {
                key: "partitions".into(),
                message: format!("a topic needs at least 1 partition, got {}", new.partitions),
            });
        }
        let config = TopicConfig::resolve(&new.configs, &self.options)?;
        let _admin = self.topic_admin.lock().map_err(poisoned)?;
        if self
            .topics
            .read()
            .map_err(poisoned)?
            .contains_key(&new.name)
        {
            return Err(LogError::TopicExists { topic: new.name });
        }
        let dir = self.topics_dir().join(&new.name);
        if dir.exists() {
            // Leftover of a failed creation.
            std::fs::remove_dir_all(&dir)
                .map_err(|e| LogError::io(format!("clearing '{}'", dir.display()), e))?;
        }
        let name: Arc<str> = Arc::from(new.name.as_str());
        let mut partitions = Vec::with_capacity(new.partitions as usize);
        for p in 0..new.partitions {
            partitions.push(Arc::new(Partition::create(
                name.clone(),
                p,
                dir.join(p.to_string()),
                self.notify.clone(),
            )?));
        }
        // topic.json last: a directory without it is an unfinished creation.
        TopicFile {
            name: new.name.clone(),
            partitions: new.partitions,
            configs: new.configs.clone(),
        }
        .write(&dir)?;
        let topic = Arc::new(Topic {
            name,
            dir,
            config,
            explicit: new.configs,
            partitions,
            sticky: AtomicU32::new(0),
            clean_lock: Mutex::new(()),
        });
        self.topics
            .write()
            .map_err(poisoned)?
            .insert(new.name, topic.clone());
        self.meta_version.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
        Ok(topic)
    }

    /// Deletes a topic and its data.
    pub fn delete_topic(&self, name: &str) -> LogResult<()> {
        self.check_writable()?;
        let _admin = self.topic_admin.lock().map_err(poisoned)?;
        let topic = self
            .topics
            .write()
            .map_err(poisoned)?
            .remove(name)
            .ok_or_else(|| LogError::UnknownTopic { topic: name.into() })?;
        for p in &topic.partitions {
            let _w = p.lock_writer()?;
            p.deleted.store(true, Ordering::Release);
        }
        self.meta_version.fetch_add(1, Ordering::AcqRel);
        let trash = self.dir.join("deleted");
        std::fs::create_dir_all(&trash)
            .map_err(|e| LogError::io(format!("creating '{}'", trash.display()), e))?;
        let target = trash.join(format!("{name}-{}", now_ms()));
        std::fs::rename(&topic.dir, &target)
            .map_err(|e| LogError::io(format!("moving '{}' away", topic.dir.display()), e))?;
        std::fs::remove_dir_all(&target)
            .map_err(|e| LogError::io(format!("deleting '{}'", target.display()), e))?;
        self.groups.forget_topic(name)?;
        self.notify.notify_waiters();
        Ok(())
    }

    fn load_topic(&self, dir: &Path, notes: &mut Vec<RecoveryNote>) -> LogResult<Option<Topic>> {
        if !dir.join("topic.json").exists() {
            return Ok(None);
        }
        let file = TopicFile::read(dir)?;
        let config = TopicConfig::resolve(&file.configs, &self.options)?;
        let name: Arc<str> = Arc::from(file.name.as_str());
        let committed = |id: i64| self.txns.was_committed(id);
        let mut partitions = Vec::with_capacity(file.partitions.max(0) as usize);
        for p in 0..file.partitions {
            partitions.push(Arc::new(Partition::open(
                name.clone(),
                p,
                dir.join(p.to_string()),
                !self.read_only,
                self.notify.clone(),
                &committed,
                notes,
            )?));
        }
        Ok(Some(Topic {
            name,
            dir: dir.to_path_buf(),
            config,
            explicit: file.configs,
            partitions,
            sticky: AtomicU32::new(0),
            clean_lock: Mutex::new(()),
        }))
    }

    fn load_topics(&self, notes: &mut Vec<RecoveryNote>) -> LogResult<()> {
        let dir = self.topics_dir();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(LogError::io(format!("listing '{}'", dir.display()), e)),
        };
        let mut found = BTreeMap::new();
        for entry in rd {
            let entry =
                entry.map_err(|e| LogError::io(format!("listing '{}'", dir.display()), e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if let Some(t) = self.load_topic(&entry.path(), notes)? {
                found.insert(name, Arc::new(t));
            } else if !self.read_only {
                let p = entry.path();
                std::fs::remove_dir_all(&p).map_err(|e| {
                    LogError::io(format!("removing unfinished topic '{}'", p.display()), e)
                })?;
            }
        }
        *self.topics.write().map_err(poisoned)? = found;
        Ok(())
    }

    /// In a read-only log, picks up topics created or deleted by the owner and appends to
    /// partitions. Rate-limited.
    pub fn refresh_topics(&self) -> LogResult<()> {
        if !self.read_only {
            return Ok(());
        }
        {
            let mut last = self.last_topic_refresh.lock().map_err(poisoned)?;
            if last.is_some_and(|t| t.elapsed() < READ_ONLY_REFRESH) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let dir = self.topics_dir();
        let mut names = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for entry in rd.flatten() {
                if entry.path().join("topic.json").exists() {
                    if let Some(n) = entry.file_name().to_str() {
                        names.push(n.to_owned());
                    }
                }
            }
        }
        let known: Vec<String> = self
            .topics
            .read()
            .map_err(poisoned)?
            .keys()
            .cloned()
            .collect();
        let mut changed = false;
        for n in &names {
            if !known.contains(n) {
                let mut notes = Vec::new();
                if let Ok(Some(t)) = self.load_topic(&dir.join(n), &mut notes) {
                    self.topics
                        .write()
                        .map_err(poisoned)?
                        .insert(n.clone(), Arc::new(t));
                    changed = true;
                }
            }
        }
        for k in known {
            if !names.contains(&k) {
                self.topics.write().map_err(poisoned)?.remove(&k);
                changed = true;
            }
        }
        if changed {
            self.meta_version.fetch_add(1, Ordering::AcqRel);
        }
        for t in self.all_topics()? {
            for p in &t.partitions {
                p.refresh(READ_ONLY_REFRESH)?;
            }
        }
        Ok(())
    }

    fn close_partitions(&self) -> LogResult<()> {
        if self.read_only {
            return Ok(());
        }
        let mut first_err = None;
        for t in self.all_topics()? {
            for p in &t.partitions {
                if let Err(e) = p.close() {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn stop_maintenance(&self) {
        let handle = match self.maintenance.lock() {
            Ok(mut m) => m.take(),
            Err(_) => None,
        };
        if let Some((stop, thread)) = handle {
            drop(stop);
            if thread.join().is_err() {
                tracing::error!("The log maintenance thread panicked.");
            }
        }
    }

    /// One round of background work.
    fn maintain(&self, last: &mut MaintenanceClock) {
        let now = Instant::now();
        let retention_due = last.retention.is_none_or(|t| {
            now.duration_since(t) >= Duration::from_millis(self.options.retention_check_interval_ms)
        });
        let compaction_due = last.compaction.is_none_or(|t| {
            now.duration_since(t) >= Duration::from_millis(self.options.compaction_interval_ms)
        });
        let Ok(topics) = self.all_topics() else {
            return;
        };
        for t in &topics {
            let Ok(clean_guard) = t.clean_lock.lock() else {
                continue;
            };
            for p in &t.partitions {
                if let Some(ms) = t.config.flush_ms {
                    if let Err(e) = p.sync_if_older(Duration::from_millis(ms)) {
                        tracing::error!(topic = %t.name, partition = p.id, error = %e, "Periodic fsync failed.");
                    }
                }
                if retention_due {
                    match p.apply_retention(&t.config, now_ms()) {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(topic = %t.name, partition = p.id, segments = n, "Retention deleted old segments.")
                        }
                        Err(e) => {
                            tracing::error!(topic = %t.name, partition = p.id, error = %e, "Retention failed.")
                        }
                    }
                }
            }
            drop(clean_guard);
            if compaction_due && t.config.compact {
                if let Err(e) = compaction::compact_topic(t, now_ms(), false) {
                    tracing::error!(topic = %t.name, error = %e, "Compaction failed.");
                }
            }
        }
        if retention_due {
            last.retention = Some(now);
        }
        if compaction_due {
            last.compaction = Some(now);
        }
    }
}

#[derive(Default)]
struct MaintenanceClock {
    retention: Option<Instant>,
    compaction: Option<Instant>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.load(Ordering::Acquire) {
            if let Err(e) = self.close_partitions() {
                tracing::warn!(error = %e, "Closing the log on drop failed; the next open will scan the active segments.");
            }
        }
    }
}

/// The embedded log. Cheap to share: clients keep the log alive.
#[derive(Debug)]
pub struct EmbeddedLog {
    inner: Arc<Inner>,
    recovery: Vec<RecoveryNote>,
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log in `dir` and takes its exclusive lock; a second
    /// opener gets [`LogError::Locked`]. Recovers the end of every partition.
    pub fn open(dir: &Path, options: EmbeddedLogOptions) -> LogResult<Arc<EmbeddedLog>> {
        std::fs::create_dir_all(dir.join("topics"))
            .map_err(|e| LogError::io(format!("creating data directory '{}'", dir.display()), e))?;
        let lock_path = dir.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| LogError::io(format!("opening lock file '{}'", lock_path.display()), e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LogError::Locked {
                    path: dir.to_path_buf(),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LogError::io(
                    format!("locking '{}'", lock_path.display()),
                    e,
                ))
            }
        }
        Self::open_with(dir, options, Some(lock))
    }

    /// Opens a log another process may own, without locking, for reading: listing and
    /// describing topics, and consumers with `assign`. Producing, committing and topic
    /// changes fail with [`LogError::ReadOnly`].
    pub fn open_read_only(dir: &Path) -> LogResult<Arc<EmbeddedLog>> {
        let topics = dir.join("topics");
        if !topics.is_dir() {
            return Err(LogError::io(
                format!("opening log '{}' read-only", dir.display()),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no embedded log in this directory",
                ),
            ));
        }
        Self::open_with(dir, EmbeddedLogOptions::default(), None)
    }

    fn open_with(
        dir: &Path,
        options: EmbeddedLogOptions,
        lock: Option<File>,
    ) -> LogResult<Arc<EmbeddedLog>> {
        let read_only = lock.is_none();
        let (txns, pending) = TxnCoordinator::open(dir, read_only)?;
        let groups = Groups::open(dir.join("groups"), read_only)?;
        let inner = Inner {
            dir: dir.to_path_buf(),
            options,
            read_only,
            topics: RwLock::new(BTreeMap::new()),
            topic_admin: Mutex::new(()),
            meta_version: AtomicU64::new(1),
            notify: Arc::new(Notify::new()),
            groups,
            txns,
            closed: AtomicBool::new(false),
            lock_file: Mutex::new(lock),
            last_topic_refresh: Mutex::new(None),
            maintenance: Mutex::new(None),
        };
        let mut notes = Vec::new();
        inner.load_topics(&mut notes)?;
        if !read_only {
            let trash = dir.join("deleted");
            if trash.exists() {
                std::fs::remove_dir_all(&trash)
                    .map_err(|e| LogError::io(format!("clearing '{}'", trash.display()), e))?;
            }
            // Offsets of transactions whose commit record is durable.
            for (txn_id, offsets) in &pending {
                for (group, offs) in offsets {
                    inner.groups.commit(group, offs, Some(*txn_id))?;
                }
            }
            let max_applied = inner.groups.max_applied_txn()?;
            inner.txns.finish_recovery(max_applied)?;
        }
        let inner = Arc::new(inner);
        if !read_only {
            start_maintenance(&inner)?;
        }
        Ok(Arc::new(EmbeddedLog {
            inner,
            recovery: notes,
        }))
    }

    /// What recovery truncated when the log was opened.
    pub fn recovery_report(&self) -> &[RecoveryNote] {
        &self.recovery
    }

    /// Flushes and fsyncs everything, writes the indexes of active segments, stops the
    /// background work and releases the directory lock. Clients fail with
    /// [`LogError::Closed`] afterwards.
    pub async fn close(&self) -> LogResult<()> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        inner.stop_maintenance();
        let result = inner.txns.while_idle(|| {
            inner.closed.store(true, Ordering::Release);
            inner.close_partitions()
        });
        inner.notify.notify_waiters();
        if let Some(lock) = inner.lock_file.lock().map_err(poisoned)?.take() {
            lock.unlock().map_err(|e| {
                LogError::io(
                    format!("unlocking '{}'", inner.dir.join(".lock").display()),
                    e,
                )
            })?;
        }
        result
    }

    /// Compacts a topic now (normally done in the background); returns what changed.
    pub async fn compact_now(&self, topic: &str) -> LogResult<CompactionStats> {
        self.inner.check_writable()?;
        let t = self.inner.require_topic(topic)?;
        compaction::compact_topic(&t, now_ms(), true)
    }

    /// Runs retention now (normally done in the background); returns deleted segments.
    pub async fn apply_retention_now(&self) -> LogResult<usize> {
        self.inner.check_writable()?;
        let mut n = 0;
        for t in self.inner.all_topics()? {
            let _clean = t.clean_lock.lock().map_err(poisoned)?;
            for p in &t.partitions {
                n += p.apply_retention(&t.config, now_ms())?;
            }
        }
        Ok(n)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

fn start_maintenance(inner: &Arc<Inner>) -> LogResult<()> {
    let o = &inner.options;
    let mut tick = o.retention_check_interval_ms.min(o.compaction_interval_ms);
    if let Some(f) = o.flush_interval_ms {
        tick = tick.min(f);
    }
    let tick = Duration::from_millis(tick.clamp(10, 60_000));
    let (tx, rx) = mpsc::channel::<()>();
    let weak = Arc::downgrade(inner);
    let thread = std::thread::Builder::new()
        .name("sluice-log-maintenance".into())
        .spawn(move || {
            let mut clock = MaintenanceClock::default();
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(tick) {
                let Some(inner) = weak.upgrade() else { break };
                if inner.closed.load(Ordering::Acquire) {
                    break;
                }
                inner.maintain(&mut clock);
            }
        })
        .map_err(|e| LogError::io("starting the log maintenance thread", e))?;
    *inner.maintenance.lock().map_err(poisoned)? = Some((tx, thread));
    Ok(())
}

impl Log for EmbeddedLog {
    fn admin(&self) -> Arc<dyn LogAdmin> {
        Arc::new(admin::EmbeddedAdmin::new(self.inner.clone()))
    }

    fn producer(&self, config: ProducerConfig) -> LogResult<Arc<dyn LogProducer>> {
        self.inner.check_writable()?;
        Ok(Arc::new(producer::EmbeddedProducer::new(
            self.inner.clone(),
            config,
        )))
    }

    fn consumer(&self, config: ConsumerConfig) -> LogResult<Box<dyn LogConsumer>> {
        self.inner.check_open()?;
        Ok(Box::new(consumer::EmbeddedConsumer::new(
            self.inner.clone(),
            config,
        )?))
    }
}

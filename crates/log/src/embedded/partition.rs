//! One partition: its segments, appends, reads, recovery at open and refresh of a
//! read-only view.
//!
//! Two locks keep appends and reads apart: `writer` serializes appends (and segment rolls),
//! `view` guards the segment list and their accounting. An append encodes and writes the
//! batch holding only `writer`, then takes `view` for writing just long enough to account
//! the batch, so readers (who take `view` for reading to find a file position, then read
//! the file without any lock) never wait for disk writes.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::Notify;

use super::batch::{check_batch, encode_marker, BatchBuilder, BatchHeader, Check, MAX_BATCH_LEN};
use super::config::TopicConfig;
use super::segment::{self, log_file_name, scan, ScanStop, Segment};
use super::RecoveryNote;
use crate::error::{LogError, LogResult};
use crate::types::ProduceRecord;

/// Segments and their accounting, as readers see them.
#[derive(Debug)]
pub(crate) struct View {
    /// Never empty; the last one is the active segment.
    pub segments: Vec<Segment>,
    /// First offset still held.
    pub log_start: i64,
}

impl View {
    /// Next offset to be written.
    pub fn end(&self) -> i64 {
        self.segments
            .last()
            .map_or(self.log_start, |s| s.next_offset)
    }

    /// Total bytes held.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }
}

/// Append-side state, only touched under the writer lock.
#[derive(Debug)]
pub(crate) struct Writer {
    buf: Vec<u8>,
    /// Active segment file, its written length and next offset (ahead of the view while a
    /// transaction's batches wait for their marker).
    file: Arc<File>,
    path: PathBuf,
    size: u64,
    next_offset: i64,
    base_offset: i64,
    /// When the active segment got its first batch (for `segment.ms`).
    active_since: Option<Instant>,
    /// Records appended since the last fsync.
    unflushed: u64,
    last_sync: Instant,
}

/// A saved [`Writer`] position, to undo unpublished writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriterMark {
    size: u64,
    next_offset: i64,
    base_offset: i64,
}

impl Writer {
    /// The current write position.
    pub fn save(&self) -> WriterMark {
        WriterMark {
            size: self.size,
            next_offset: self.next_offset,
            base_offset: self.base_offset,
        }
    }
}

/// A batch written to the file but not yet made visible.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written {
    pub pos: u64,
    pub header: BatchHeader,
}

/// One partition of a topic.
#[derive(Debug)]
pub(crate) struct Partition {
    pub topic: Arc<str>,
    pub id: i32,
    pub dir: PathBuf,
    view: RwLock<View>,
    writer: Option<Mutex<Writer>>,
    pub deleted: AtomicBool,
    notify: Arc<Notify>,
    last_refresh: Mutex<Option<Instant>>,
    /// End offset at the last compaction, and when it ran.
    compacted: Mutex<Option<(i64, Instant)>>,
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> LogError {
    LogError::Unavailable("a log lock was poisoned by a panic in another thread".into())
}

/// What a fetch found.
#[derive(Debug)]
pub(crate) enum Fetch {
    /// Whole batches, the first one holding or following the requested offset.
    Batches(Bytes),
    /// The offset is the end of the log.
    AtEnd,
    /// The offset is outside the log.
    OutOfRange { earliest: i64, latest: i64 },
}

impl Partition {
    pub fn view(&self) -> LogResult<RwLockReadGuard<'_, View>> {
        self.view.read().map_err(poisoned)
    }

    fn view_mut(&self) -> LogResult<RwLockWriteGuard<'_, View>> {
        self.view.write().map_err(poisoned)
    }

    /// Takes the append lock. Fails on a read-only log.
    pub fn lock_writer(&self) -> LogResult<MutexGuard<'_, Writer>> {
        match &self.writer {
            Some(w) => w.lock().map_err(poisoned),
            None => Err(LogError::Unavailable(format!(
                "partition {}-{} is open read-only",
                self.topic, self.id
            ))),
        }
    }

    /// (earliest, latest) offsets.
    pub fn offsets(&self) -> LogResult<(i64, i64)> {
        let v = self.view()?;
        Ok((v.log_start, v.end()))
    }

    /// Creates an empty partition directory with its first segment.
    pub fn create(topic: Arc<str>, id: i32, dir: PathBuf, notify: Arc<Notify>) -> LogResult<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| LogError::io(format!("creating '{}'", dir.display()), e))?;
        let path = dir.join(log_file_name(0));
        let file = segment::open_segment_file(&path, true, true)?;
        let seg = Segment::empty(0, path, file);
        Ok(Self::assemble(topic, id, dir, vec![seg], true, notify))
    }

    fn assemble(
        topic: Arc<str>,
        id: i32,
        dir: PathBuf,
        segments: Vec<Segment>,
        writable: bool,
        notify: Arc<Notify>,
    ) -> Self {
        let log_start = segments.first().map_or(0, |s| s.base_offset);
        let writer = match (writable, segments.last()) {
            (true, Some(last)) => Some(Mutex::new(Writer {
                buf: Vec::new(),
                file: last.file.clone(),
                path: last.path.clone(),
                size: last.size,
                next_offset: last.next_offset,
                base_offset: last.base_offset,
                active_since: None,
                unflushed: 0,
                last_sync: Instant::now(),
            })),
            _ => None,
        };
        Partition {
            topic,
            id,
            dir,
            view: RwLock::new(View {
                segments,
                log_start,
            }),
            writer,
            deleted: AtomicBool::new(false),
            notify,
            last_refresh: Mutex::new(None),
            compacted: Mutex::new(None),
        }
    }

    /// Opens an existing partition directory. A writable open recovers the last segment
    /// (truncating a damaged tail, finishing or dropping a transaction cut short); a
    /// read-only open only reads.
    pub fn open(
        topic: Arc<str>,
        id: i32,
        dir: PathBuf,
        writable: bool,
        notify: Arc<Notify>,
        committed_txn: &dyn Fn(i64) -> bool,
        notes: &mut Vec<RecoveryNote>,
    ) -> LogResult<Self> {
        let bases = list_segments(&dir, writable)?;
        if bases.is_empty() {
            if writable {
                return Self::create(topic, id, dir, notify);
            }
            return Err(LogError::Corrupt {
                path: dir,
                message: "partition directory holds no segment".into(),
            });
        }
        let mut segments = Vec::with_capacity(bases.len());
        let last = bases.len() - 1;
        let mut pending_marker = None;
        for (i, base) in bases.into_iter().enumerate() {
            let is_last = i == last;
            let path = dir.join(log_file_name(base));
            let file = segment::open_segment_file(&path, writable && is_last, false)?;
            let file_len = file
                .metadata()
                .map_err(|e| LogError::io(format!("reading size of '{}'", path.display()), e))?
                .len();
            let mut seg = Segment::empty(base, path, file);
            if seg.load_index_file(&dir, file_len) && is_last {
                seg.rewind_to_last_entry();
            }
            if seg.size < file_len {
                let outcome = scan(&mut seg, file_len)?;
                let mut dropped_txn = None;
                if let Some(open) = outcome.open_txn {
                    if writable && is_last && committed_txn(open.txn_id) {
                        pending_marker = Some(open.txn_id);
                    } else {
                        seg.reset_to(&open.mark);
                        dropped_txn = Some(open);
                    }
                }
                if writable && seg.size < file_len {
                    let mut note = |bytes_dropped: u64, batches_dropped: u64, reason: String| {
                        tracing::warn!(
                            topic = %topic,
                            partition = id,
                            segment = %seg.path.display(),
                            bytes_dropped,
                            batches_dropped,
                            reason = %reason,
                            "Recovery truncated the end of a segment."
                        );
                        notes.push(RecoveryNote {
                            topic: topic.to_string(),
                            partition: id,
                            segment: seg.path.clone(),
                            bytes_dropped,
                            batches_dropped,
                            reason,
                        });
                    };
                    if let Some(open) = dropped_txn {
                        note(
                            outcome.valid_end - open.mark.size,
                            open.batches,
                            format!(
                                "transaction {} has no commit marker and was not committed",
                                open.txn_id
                            ),
                        );
                    }
                    match &outcome.stop {
                        ScanStop::End => {}
                        ScanStop::Torn => note(
                            file_len - outcome.valid_end,
                            1,
                            "the last batch is incomplete (torn write)".into(),
                        ),
                        ScanStop::Corrupt(m) => note(
                            file_len - outcome.valid_end,
                            1,
                            format!("corrupt batch at position {}: {m}", outcome.valid_end),
                        ),
                    }
                    seg.file.set_len(seg.size).map_err(|e| {
                        LogError::io(format!("truncating '{}'", seg.path.display()), e)
                    })?;
                    seg.file.sync_all().map_err(|e| {
                        LogError::io(format!("syncing '{}'", seg.path.display()), e)
                    })?;
                }
            }
            segments.push(seg);
        }
        let p = Self::assemble(topic, id, dir, segments, writable, notify);
        if let Some(txn_id) = pending_marker {
            let mut w = p.lock_writer()?;
            // The transaction's batches are accounted already; only the marker is missing.
            let written = p.write_marker(&mut w, txn_id, super::now_ms())?;
            p.publish(&[written])?;
            notes.push(RecoveryNote {
                topic: p.topic.to_string(),
                partition: p.id,
                segment: w.path.clone(),
                bytes_dropped: 0,
                batches_dropped: 0,
                reason: format!(
                    "transaction {txn_id} was committed; its missing marker was written"
                ),
            });
        }
        Ok(p)
    }

    /// Encodes and writes a batch of produced records; returns it unpublished.
    #[allow(clippy::too_many_arguments)]
    pub fn write_records<'r>(
        &self,
        w: &mut Writer,
        cfg: &TopicConfig,
        records: impl Iterator<Item = &'r ProduceRecord> + Clone,
        now: i64,
        flags: u8,
        producer_id: i64,
        may_roll: bool,
    ) -> LogResult<Written> {
        if self.deleted.load(Ordering::Acquire) {
            return Err(LogError::UnknownTopic {
                topic: self.topic.to_string(),
            });
        }
        let ts = |r: &ProduceRecord| {
            if cfg.log_append_time {
                now
            } else {
                r.timestamp.unwrap_or(now)
            }
        };
        let mut estimate = super::batch::HEADER_LEN;
        let mut first_ts = now;
        for (i, r) in records.clone().enumerate() {
            if i == 0 {
                first_ts = ts(r);
            }
            estimate += 24
                + r.key.as_ref().map_or(0, |k| k.len())
                + r.value.as_ref().map_or(0, |v| v.len())
                + r.headers
                    .iter()
                    .map(|h| 16 + h.key.len() + h.value.as_ref().map_or(0, |v| v.len()))
                    .sum::<usize>();
        }
        if estimate > MAX_BATCH_LEN {
            return Err(LogError::InvalidConfig {
                key: "max.message.bytes".into(),
                message: format!(
                    "a batch of {estimate} bytes is larger than the 2 GiB a batch can hold"
                ),
            });
        }
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        buf.reserve(estimate);
        let mut b = BatchBuilder::new(&mut buf, w.next_offset, first_ts);
        for r in records {
            b.push_produced(r, ts(r));
        }
        let flags = flags
            | if cfg.log_append_time {
                super::batch::FLAG_LOG_APPEND_TIME
            } else {
                0
            };
        let built = b.finish(flags, producer_id);
        let result = self.write_buf(w, &buf, built.header, cfg, may_roll);
        w.buf = buf;
        result
    }

    /// Writes a commit marker for transaction `txn_id`, unpublished.
    pub fn write_marker(&self, w: &mut Writer, txn_id: i64, now: i64) -> LogResult<Written> {
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        let built = encode_marker(&mut buf, w.next_offset, now, txn_id);
        let pos = w.size;
        let result = write_all_at(&w.file, &buf, pos, &w.path).map(|()| {
            w.size += buf.len() as u64;
            w.next_offset = built.header.next_offset();
            Written {
                pos,
                header: built.header,
            }
        });
        w.buf = buf;
        result
    }

    fn write_buf(
        &self,
        w: &mut Writer,
        buf: &[u8],
        header: BatchHeader,
        cfg: &TopicConfig,
        may_roll: bool,
    ) -> LogResult<Written> {
        if may_roll {
            let too_big = w.size > 0 && w.size + buf.len() as u64 > cfg.segment_bytes;
            let too_old = match (cfg.segment_ms, w.active_since) {
                (Some(ms), Some(since)) => w.size > 0 && since.elapsed().as_millis() >= ms as u128,
                _ => false,
            };
            if too_big || too_old {
                self.roll(w, cfg)?;
            }
        }
        let pos = w.size;
        write_all_at(&w.file, buf, pos, &w.path)?;
        w.size += buf.len() as u64;
        w.next_offset = header.next_offset();
        if w.active_since.is_none() {
            w.active_since = Some(Instant::now());
        }
        w.unflushed += u64::from(header.record_count);
        Ok(Written { pos, header })
    }

    /// Closes the active segment and starts a new one at the next offset.
    fn roll(&self, w: &mut Writer, cfg: &TopicConfig) -> LogResult<()> {
        let base = w.next_offset;
        let path = self.dir.join(log_file_name(base));
        let file = segment::open_segment_file(&path, true, true)?;
        if cfg.flush_messages.is_some() || cfg.flush_ms.is_some() {
            w.file
                .sync_data()
                .map_err(|e| LogError::io(format!("syncing '{}'", w.path.display()), e))?;
            w.unflushed = 0;
        }
        {
            let v = self.view()?;
            if let Some(last) = v.segments.last() {
                last.write_index_file(&self.dir)?;
            }
        }
        let seg = Segment::empty(base, path.clone(), file);
        w.file = seg.file.clone();
        w.path = path;
        w.size = 0;
        w.base_offset = base;
        w.active_since = None;
        self.view_mut()?.segments.push(seg);
        Ok(())
    }

    /// Makes written batches visible to readers and wakes them.
    pub fn publish(&self, batches: &[Written]) -> LogResult<()> {
        {
            let mut v = self.view_mut()?;
            let Some(seg) = v.segments.last_mut() else {
                return Ok(());
            };
            for b in batches {
                seg.note_batch(b.pos, &b.header);
            }
        }
        self.notify.notify_waiters();
        Ok(())
    }

    /// Applies `flush.messages`: fsyncs when enough records are unflushed.
    pub fn maybe_flush(&self, w: &mut Writer, cfg: &TopicConfig) -> LogResult<()> {
        if let Some(n) = cfg.flush_messages {
            if w.unflushed >= n {
                self.sync(w)?;
            }
        }
        Ok(())
    }

    /// Fsyncs the active segment if anything was appended since the last fsync.
    pub fn sync(&self, w: &mut Writer) -> LogResult<()> {
        if w.unflushed > 0 {
            w.file
                .sync_data()
                .map_err(|e| LogError::io(format!("syncing '{}'", w.path.display()), e))?;
            w.unflushed = 0;
        }
        w.last_sync = Instant::now();
        Ok(())
    }

    /// Applies `flush.ms`: fsyncs when the last fsync is older than `age`.
    pub fn sync_if_older(&self, age: std::time::Duration) -> LogResult<()> {
        if self.writer.is_none() {
            return Ok(());
        }
        let mut w = self.lock_writer()?;
        if w.unflushed > 0 && w.last_sync.elapsed() >= age {
            self.sync(&mut w)?;
        }
        Ok(())
    }

    /// Undoes unpublished writes made since `mark` (a failed transaction commit). The
    /// segment is truncated back so the bytes cannot resurface at recovery.
    pub fn rollback(&self, w: &mut Writer, mark: &WriterMark) {
        // A transaction rolls at most before its first batch in a partition: then the new
        // segment starts at the saved next offset and holds only unpublished bytes.
        w.size = if w.base_offset == mark.base_offset {
            mark.size
        } else {
            0
        };
        w.next_offset = mark.next_offset;
        if let Err(e) = w.file.set_len(w.size) {
            tracing::error!(
                topic = %self.topic,
                partition = self.id,
                error = %e,
                "Could not truncate the unpublished batches of a failed transaction; recovery will drop them."
            );
        }
    }

    /// Fsyncs and writes the active segment's index, for a clean shutdown.
    pub fn close(&self) -> LogResult<()> {
        let Some(w) = &self.writer else {
            return Ok(());
        };
        let mut w = w.lock().map_err(poisoned)?;
        w.unflushed = w.unflushed.max(1);
        self.sync(&mut w)?;
        let v = self.view()?;
        if let Some(last) = v.segments.last() {
            if last.size == w.size {
                last.write_index_file(&self.dir)?;
            }
        }
        Ok(())
    }

    /// Reads whole batches starting with the one that holds `offset` (or the first after
    /// it), about `max_bytes` of them, into one of `buffers`.
    pub fn fetch(
        &self,
        offset: i64,
        max_bytes: usize,
        buffers: &mut segment::ReadBuffers,
    ) -> LogResult<Fetch> {
        // Offsets missing from a compacted segment are skipped by moving `target` on.
        let mut target = offset;
        loop {
            let (file, path, mut pos, end, seg_next) = {
                let v = self.view()?;
                let latest = v.end();
                if offset < v.log_start || offset > latest {
                    return Ok(Fetch::OutOfRange {
                        earliest: v.log_start,
                        latest,
                    });
                }
                if target >= latest || v.segments.is_empty() {
                    return Ok(Fetch::AtEnd);
                }
                let mut i = v
                    .segments
                    .partition_point(|s| s.base_offset <= target)
                    .saturating_sub(1);
                while v.segments[i].next_offset <= target || v.segments[i].size == 0 {
                    if i + 1 >= v.segments.len() {
                        return Ok(Fetch::AtEnd);
                    }
                    i += 1;
                }
                let s = &v.segments[i];
                (
                    s.file.clone(),
                    s.path.clone(),
                    s.position_for(target),
                    s.size,
                    s.next_offset,
                )
            };
            // The index is sparse: skip batches that end before `target`.
            while pos < end {
                let data = segment::read_batches(&file, &path, pos, end, max_bytes, buffers)?;
                if data.is_empty() {
                    break;
                }
                let mut at = 0;
                while at < data.len() {
                    let h = match check_batch(&data[at..]) {
                        Check::Complete(h) => h,
                        Check::Incomplete { .. } => break,
                        Check::Corrupt(m) => {
                            return Err(LogError::Corrupt {
                                path: path.clone(),
                                message: format!("batch at position {}: {m}", pos + at as u64),
                            })
                        }
                    };
                    if h.next_offset() > target {
                        return Ok(Fetch::Batches(data.slice(at..)));
                    }
                    at += h.length as usize;
                }
                if at == 0 {
                    break;
                }
                pos += at as u64;
            }
            target = target.max(seg_next);
        }
    }

    /// Re-reads a read-only partition's files to pick up appends, rolls and deletions by
    /// the owning process. Rate-limited to once per `min_interval`.
    pub fn refresh(&self, min_interval: std::time::Duration) -> LogResult<()> {
        if self.writer.is_some() {
            return Ok(());
        }
        {
            let mut last = self.last_refresh.lock().map_err(poisoned)?;
            if last.is_some_and(|t| t.elapsed() < min_interval) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let bases = match list_segments(&self.dir, false) {
            Ok(b) => b,
            Err(LogError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                // The owner deleted the topic.
                self.deleted.store(true, Ordering::Release);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut v = self.view_mut()?;
        v.segments
            .retain(|s| bases.binary_search(&s.base_offset).is_ok());
        // Only the last known segment and new ones can have grown; older ones are closed.
        let first_open = v.segments.len().saturating_sub(1);
        for base in bases {
            if v.segments.iter().any(|s| s.base_offset == base) {
                continue;
            }
            if v.segments.last().is_some_and(|s| s.base_offset > base) {
                continue;
            }
            let path = self.dir.join(log_file_name(base));
            let file = match segment::open_segment_file(&path, false, false) {
                Ok(f) => f,
                Err(LogError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            v.segments.push(Segment::empty(base, path, file));
        }
        for seg in v.segments.iter_mut().skip(first_open) {
            let Ok(len) = seg.file.metadata().map(|m| m.len()) else {
                continue;
            };
            if len < seg.size {
                // Truncated by the owner's recovery: read it again.
                let Ok(file) = segment::open_segment_file(&seg.path, false, false) else {
                    continue;
                };
                *seg = Segment::empty(seg.base_offset, seg.path.clone(), file);
            }
            if seg.size == 0 && len > 0 {
                seg.load_index_file(&self.dir, len);
            }
            if seg.size < len {
                // A batch still being written or a transaction without its marker yet is
                // simply not visible; the next refresh looks again.
                let outcome = scan(seg, len)?;
                if let Some(open) = outcome.open_txn {
                    seg.reset_to(&open.mark);
                }
            }
        }
        v.log_start = v.segments.first().map_or(v.log_start, |s| s.base_offset);
        Ok(())
    }

    /// Deletes closed segments past the retention limits; returns how many.
    pub fn apply_retention(&self, cfg: &TopicConfig, now: i64) -> LogResult<usize> {
        if !cfg.delete || (cfg.retention_ms.is_none() && cfg.retention_bytes.is_none()) {
            return Ok(0);
        }
        let mut removed = Vec::new();
        {
            let mut v = self.view_mut()?;
            let mut total = v.size();
            while v.segments.len() > 1 {
                let s = &v.segments[0];
                let ts = if s.max_timestamp >= 0 {
                    s.max_timestamp
                } else {
                    file_mtime_ms(&s.path).unwrap_or(now)
                };
                let expired = cfg
                    .retention_ms
                    .is_some_and(|ms| now.saturating_sub(ts) > ms);
                let oversize = cfg
                    .retention_bytes
                    .is_some_and(|b| total.saturating_sub(s.size) >= b as u64);
                if !(expired || oversize) {
                    break;
                }
                total -= s.size;
                let s = v.segments.remove(0);
                removed.push(s.path.clone());
            }
            if let Some(first) = v.segments.first() {
                v.log_start = v.log_start.max(first.base_offset);
            }
        }
        for path in &removed {
            remove_segment_files(path)?;
        }
        Ok(removed.len())
    }

    /// When the partition was last compacted, if its end offset was `end` then.
    pub fn compacted_at_end(&self, end: i64) -> LogResult<Option<Instant>> {
        let c = self.compacted.lock().map_err(poisoned)?;
        Ok(c.filter(|(e, _)| *e == end).map(|(_, at)| at))
    }

    /// Records a compaction that saw the partition end at `end`.
    pub fn set_compacted_at_end(&self, end: i64) -> LogResult<()> {
        *self.compacted.lock().map_err(poisoned)? = Some((end, Instant::now()));
        Ok(())
    }

    /// Runs `f` over the closed segments (all but the active one) with the view locked for
    /// writing; used by compaction to swap rewritten segments in.
    pub fn with_view_mut<T>(&self, f: impl FnOnce(&mut View) -> T) -> LogResult<T> {
        let mut v = self.view_mut()?;
        Ok(f(&mut v))
    }
}

fn write_all_at(file: &File, buf: &[u8], pos: u64, path: &Path) -> LogResult<()> {
    file.write_all_at(buf, pos)
        .map_err(|e| LogError::io(format!("appending to '{}'", path.display()), e))
}

fn file_mtime_ms(path: &Path) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// Removes a segment file and its index.
pub(crate) fn remove_segment_files(log_path: &Path) -> LogResult<()> {
    for p in [log_path.to_path_buf(), log_path.with_extension("index")] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io(format!("deleting '{}'", p.display()), e)),
        }
    }
    Ok(())
}

/// Base offsets of the segment files in a partition directory, sorted. A writable open
/// also removes leftovers of interrupted compactions.
fn list_segments(dir: &Path, writable: bool) -> LogResult<Vec<i64>> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| LogError::io(format!("listing '{}'", dir.display()), e))?;
    let mut bases = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| LogError::io(format!("listing '{}'", dir.display()), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".log") {
            if let Ok(base) = stem.parse::<i64>() {
                bases.push(base);
            }
        } else if writable && (name.ends_with(".tmp") || name.ends_with(".cleaned")) {
            let p = entry.path();
            std::fs::remove_file(&p)
                .map_err(|e| LogError::io(format!("removing leftover '{}'", p.display()), e))?;
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::EmbeddedLogOptions;

    #[test]
    fn flush_messages_fsyncs_after_enough_records() {
        let dir = std::env::temp_dir().join(format!("sluice-part-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = Partition::create("t".into(), 0, dir.clone(), Arc::new(Notify::new())).unwrap();
        let mut cfg =
            TopicConfig::resolve(&Default::default(), &EmbeddedLogOptions::default()).unwrap();
        cfg.flush_messages = Some(3);
        let rec = ProduceRecord {
            topic: "t".into(),
            partition: Some(0),
            key: None,
            value: Some(bytes::Bytes::from_static(b"v")),
            headers: Vec::new(),
            timestamp: None,
        };
        let mut w = p.lock_writer().unwrap();
        let mut unflushed = Vec::new();
        for n in [1usize, 1, 2] {
            let recs = vec![rec.clone(); n];
            let written = p
                .write_records(&mut w, &cfg, recs.iter(), 0, 0, -1, true)
                .unwrap();
            p.publish(&[written]).unwrap();
            p.maybe_flush(&mut w, &cfg).unwrap();
            unflushed.push(w.unflushed);
        }
        assert_eq!(unflushed, vec![1, 2, 0]);
        assert_eq!(p.offsets().unwrap(), (0, 4));
        drop(w);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Compaction of `cleanup.policy=compact` topics.
//!
//! For each partition, the closed segments whose newest record is older than
//! `min.compaction.lag.ms` are rewritten keeping, per key, only the record with the highest
//! offset in the whole partition (the active segment included). A tombstone (null value)
//! that is the latest for its key is kept until its timestamp is older than
//! `delete.retention.ms`, so readers catching up see the delete, then dropped. Kept records
//! keep their offsets, so a compacted log has gaps that readers skip. Transaction markers
//! are dropped and kept transactional records become plain ones: the batches of a
//! transaction reach closed segments only once committed.
//!
//! A segment is rewritten into `<base>.log.cleaned`, fsynced, renamed over the original and
//! its index rewritten; readers that already hold the old file keep reading it safely.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::batch::{
    check_batch, decode_records, BatchBuilder, Check, DecodedRecord, FLAG_LOG_APPEND_TIME,
};
use super::config::TopicConfig;
use super::partition::Partition;
use super::segment::{self, Segment};
use super::Topic;
use crate::error::{LogError, LogResult};

/// What a compaction run changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionStats {
    /// Segments rewritten.
    pub segments_rewritten: usize,
    /// Records in the rewritten segments before.
    pub records_before: u64,
    /// Records in the rewritten segments after.
    pub records_after: u64,
    /// Bytes of the rewritten segments before.
    pub bytes_before: u64,
    /// Bytes of the rewritten segments after.
    pub bytes_after: u64,
    /// Tombstones removed because they were older than `delete.retention.ms`.
    pub tombstones_dropped: u64,
}

const READ_CHUNK: usize = 8 << 20;

/// A partition whose end has not moved is compacted again only after this long (for
/// tombstones and `min.compaction.lag.ms` that expire with time).
const IDLE_RECHECK: Duration = Duration::from_secs(3600);

/// Compacts every partition of a compacted topic. Without `force`, partitions with no new
/// records since their last compaction are skipped for a while.
pub(crate) fn compact_topic(t: &Topic, now: i64, force: bool) -> LogResult<CompactionStats> {
    let mut stats = CompactionStats::default();
    if !t.config.compact {
        return Ok(stats);
    }
    let _one_at_a_time = t
        .clean_lock
        .lock()
        .map_err(|_| LogError::Unavailable("the compaction lock was poisoned by a panic".into()))?;
    for p in &t.partitions {
        let end = p.offsets()?.1;
        if !force
            && p.compacted_at_end(end)?
                .is_some_and(|at| at.elapsed() < IDLE_RECHECK)
        {
            continue;
        }
        compact_partition(p, &t.config, now, &mut stats)?;
        p.set_compacted_at_end(end)?;
    }
    Ok(stats)
}

struct SegmentRef {
    base: i64,
    file: Arc<File>,
    path: PathBuf,
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
}

/// Calls `f` for every batch of a segment (whole batches, with their bytes).
fn for_each_batch(
    s: &SegmentRef,
    mut f: impl FnMut(&Bytes, &super::batch::BatchHeader) -> LogResult<()>,
) -> LogResult<()> {
    let mut pos = 0;
    let mut buffers = segment::ReadBuffers::default();
    while pos < s.size {
        let data = segment::read_batches(&s.file, &s.path, pos, s.size, READ_CHUNK, &mut buffers)?;
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
                        path: s.path.clone(),
                        message: format!("batch at position {}: {m}", pos + at as u64),
                    })
                }
            };
            let batch = data.slice(at..at + h.length as usize);
            f(&batch, &h)?;
            at += h.length as usize;
        }
        if at == 0 {
            break;
        }
        pos += at as u64;
    }
    Ok(())
}

fn decode_all(
    path: &std::path::Path,
    batch: &Bytes,
    h: &super::batch::BatchHeader,
) -> LogResult<Vec<DecodedRecord>> {
    let mut out = Vec::with_capacity(h.record_count as usize);
    decode_records(batch, h, i64::MIN, |r| out.push(r)).map_err(|m| LogError::Corrupt {
        path: path.to_path_buf(),
        message: format!("batch at offset {}: {m}", h.base_offset),
    })?;
    Ok(out)
}

fn compact_partition(
    p: &Partition,
    cfg: &TopicConfig,
    now: i64,
    stats: &mut CompactionStats,
) -> LogResult<()> {
    let (segments, eligible) = {
        let v = p.view()?;
        let refs: Vec<SegmentRef> = v
            .segments
            .iter()
            .map(|s| SegmentRef {
                base: s.base_offset,
                file: s.file.clone(),
                path: s.path.clone(),
                size: s.size,
                next_offset: s.next_offset,
                max_timestamp: s.max_timestamp,
            })
            .collect();
        let horizon = now.saturating_sub(cfg.min_compaction_lag_ms);
        let closed = v.segments.len().saturating_sub(1);
        let eligible = v.segments[..closed]
            .iter()
            .take_while(|s| s.max_timestamp <= horizon)
            .count();
        (refs, eligible)
    };
    if eligible == 0 {
        return Ok(());
    }
    // Latest offset of every key in the partition.
    let mut latest: HashMap<Vec<u8>, i64> = HashMap::new();
    for s in &segments {
        for_each_batch(s, |batch, h| {
            if h.is_control() {
                return Ok(());
            }
            for r in decode_all(&s.path, batch, h)? {
                if let Some(k) = r.key {
                    match latest.get_mut(&k[..]) {
                        Some(o) => *o = r.offset,
                        None => {
                            latest.insert(k.to_vec(), r.offset);
                        }
                    }
                }
            }
            Ok(())
        })?;
    }
    let tombstone_horizon = now.saturating_sub(cfg.delete_retention_ms);
    for s in &segments[..eligible] {
        rewrite_segment(p, s, &latest, tombstone_horizon, stats)?;
    }
    Ok(())
}

fn rewrite_segment(
    p: &Partition,
    s: &SegmentRef,
    latest: &HashMap<Vec<u8>, i64>,
    tombstone_horizon: i64,
    stats: &mut CompactionStats,
) -> LogResult<()> {
    let mut out: Vec<u8> = Vec::new();
    let mut headers = Vec::new();
    let mut changed = false;
    let (mut before, mut after, mut tombstones) = (0u64, 0u64, 0u64);
    for_each_batch(s, |batch, h| {
        if h.is_control() {
            changed = true;
            return Ok(());
        }
        let records = decode_all(&s.path, batch, h)?;
        before += records.len() as u64;
        let keep: Vec<&DecodedRecord> = records
            .iter()
            .filter(|r| {
                let Some(k) = &r.key else { return true };
                if latest.get(&k[..]) != Some(&r.offset) {
                    return false;
                }
                if r.value.is_none() && r.timestamp < tombstone_horizon {
                    tombstones += 1;
                    return false;
                }
                true
            })
            .collect();
        after += keep.len() as u64;
        if keep.len() == records.len() && !h.is_transactional() {
            let start = out.len();
            out.extend_from_slice(batch);
            headers.push((start as u64, *h));
            return Ok(());
        }
        changed = true;
        let Some(first) = keep.first() else {
            return Ok(());
        };
        let start = out.len();
        let mut b = BatchBuilder::new(&mut out, first.offset, first.timestamp);
        for r in &keep {
            b.push(
                r.offset,
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
                r.headers
                    .iter()
                    .map(|hd| (hd.key.as_str(), hd.value.as_deref())),
            );
        }
        let built = b.finish(h.flags & FLAG_LOG_APPEND_TIME, -1);
        headers.push((start as u64, built.header));
        Ok(())
    })?;
    if !changed {
        return Ok(());
    }
    let cleaned = s.path.with_extension("log.cleaned");
    let write = || -> std::io::Result<File> {
        use std::io::Write;
        let mut f = File::create(&cleaned)?;
        f.write_all(&out)?;
        f.sync_all()?;
        std::fs::rename(&cleaned, &s.path)?;
        File::open(&s.path)
    };
    let file = write()
        .map_err(|e| LogError::io(format!("rewriting segment '{}'", s.path.display()), e))?;
    let mut seg = Segment::empty(s.base, s.path.clone(), file);
    for (pos, h) in &headers {
        seg.note_batch(*pos, h);
    }
    seg.next_offset = s.next_offset;
    // Keep the age retention works from, even if the newest record was dropped.
    seg.max_timestamp = seg.max_timestamp.max(s.max_timestamp);
    seg.write_index_file(&p.dir)?;
    p.with_view_mut(|v| {
        if let Some(slot) = v.segments.iter_mut().find(|x| x.base_offset == s.base) {
            *slot = seg;
        }
    })?;
    stats.segments_rewritten += 1;
    stats.records_before += before;
    stats.records_after += after;
    stats.bytes_before += s.size;
    stats.bytes_after += out.len() as u64;
    stats.tombstones_dropped += tombstones;
    Ok(())
}

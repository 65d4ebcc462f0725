//! Segment files and their sparse offset index.
//!
//! A segment is one append-only file `<base offset, 20 digits>.log`. Its sparse index maps
//! the first offset of a batch to the batch's file position, one entry at least every
//! [`INDEX_INTERVAL`] bytes. The index lives in memory; when a segment is closed (rolled,
//! compacted, or the log shut down cleanly) it is also written to `<base>.index` together
//! with the segment's length, next offset and largest timestamp. At open an index file is
//! trusted when its checksum is good and the length it covers is not beyond the end of the
//! segment file (segments are append-only, so the covered prefix is unchanged); the rest of
//! the file is scanned. The last segment is always re-verified at least from its last
//! index entry, which covers its last batch.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::batch::{check_batch, BatchHeader, Check, HEADER_LEN};
use crate::error::{LogError, LogResult};

/// Bytes between sparse index entries.
pub(crate) const INDEX_INTERVAL: u64 = 4096;
/// Read size while scanning a segment.
const SCAN_CHUNK: usize = 1 << 20;
const INDEX_MAGIC: &[u8; 4] = b"SLIX";

/// File name of the segment starting at `base`.
pub(crate) fn log_file_name(base: i64) -> String {
    format!("{base:020}.log")
}

/// File name of the index of the segment starting at `base`.
pub(crate) fn index_file_name(base: i64) -> String {
    format!("{base:020}.index")
}

/// One segment as the partition's view holds it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub base_offset: i64,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// Bytes of complete, visible batches.
    pub size: u64,
    /// Offset after the segment's last record (its base when empty).
    pub next_offset: i64,
    /// Largest record timestamp, or -1 when empty.
    pub max_timestamp: i64,
    /// Sparse index: (offset - base, file position), by increasing offset.
    pub index: Vec<(u32, u32)>,
    last_indexed_pos: Option<u64>,
}

impl Segment {
    /// An empty segment over an open file.
    pub fn empty(base_offset: i64, path: PathBuf, file: File) -> Segment {
        Segment {
            base_offset,
            path,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            index: Vec::new(),
            last_indexed_pos: None,
        }
    }

    /// Accounts for a batch written at `pos`.
    pub fn note_batch(&mut self, pos: u64, h: &BatchHeader) {
        let index_it = match self.last_indexed_pos {
            None => true,
            Some(last) => pos >= last + INDEX_INTERVAL,
        };
        if index_it {
            self.index
                .push(((h.base_offset - self.base_offset) as u32, pos as u32));
            self.last_indexed_pos = Some(pos);
        }
        self.size = pos + u64::from(h.length);
        self.next_offset = h.next_offset();
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
        }
    }

    /// File position of a batch at or before the batch holding `offset`.
    pub fn position_for(&self, offset: i64) -> u64 {
        let rel = offset - self.base_offset;
        let i = self.index.partition_point(|&(o, _)| i64::from(o) <= rel);
        if i == 0 {
            0
        } else {
            u64::from(self.index[i - 1].1)
        }
    }

    /// Snapshot of the mutable accounting, to roll back to.
    pub fn mark(&self) -> SegmentMark {
        SegmentMark {
            size: self.size,
            next_offset: self.next_offset,
            max_timestamp: self.max_timestamp,
            index_len: self.index.len(),
            last_indexed_pos: self.last_indexed_pos,
        }
    }

    /// Rolls the accounting back to a mark.
    pub fn reset_to(&mut self, m: &SegmentMark) {
        self.size = m.size;
        self.next_offset = m.next_offset;
        self.max_timestamp = m.max_timestamp;
        self.index.truncate(m.index_len);
        self.last_indexed_pos = m.last_indexed_pos;
    }

    /// Writes `<base>.index` describing the segment as it is now.
    pub fn write_index_file(&self, dir: &Path) -> LogResult<()> {
        let mut buf = Vec::with_capacity(40 + self.index.len() * 8);
        buf.extend_from_slice(INDEX_MAGIC);
        buf.extend_from_slice(&self.size.to_le_bytes());
        buf.extend_from_slice(&self.next_offset.to_le_bytes());
        buf.extend_from_slice(&self.max_timestamp.to_le_bytes());
        buf.extend_from_slice(&(self.index.len() as u32).to_le_bytes());
        for &(o, p) in &self.index {
            buf.extend_from_slice(&o.to_le_bytes());
            buf.extend_from_slice(&p.to_le_bytes());
        }
        let crc = crc32fast::hash(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        let path = dir.join(index_file_name(self.base_offset));
        let tmp = path.with_extension("index.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_data()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| LogError::io(format!("writing index '{}'", path.display()), e))
    }

    /// Forgets the accounting from the last index entry on, so that a scan re-verifies at
    /// least the segment's last batch.
    pub fn rewind_to_last_entry(&mut self) {
        let Some((rel, pos)) = self.index.pop() else {
            return;
        };
        self.size = u64::from(pos);
        self.next_offset = self.base_offset + i64::from(rel);
        self.last_indexed_pos = self.index.last().map(|&(_, p)| u64::from(p));
    }

    /// Loads the index file of a segment of `file_len` bytes if it is intact and covers
    /// at most the file (segments only grow, so a shorter coverage is a valid prefix).
    pub fn load_index_file(&mut self, dir: &Path, file_len: u64) -> bool {
        let path = dir.join(index_file_name(self.base_offset));
        let Ok(buf) = std::fs::read(&path) else {
            return false;
        };
        let Some(parsed) = parse_index(&buf) else {
            return false;
        };
        if parsed.size > file_len {
            return false;
        }
        self.size = parsed.size;
        self.next_offset = parsed.next_offset;
        self.max_timestamp = parsed.max_timestamp;
        self.last_indexed_pos = parsed.entries.last().map(|&(_, p)| u64::from(p));
        self.index = parsed.entries;
        true
    }
}

/// A saved accounting state of a [`Segment`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentMark {
    pub size: u64,
    pub next_offset: i64,
    max_timestamp: i64,
    index_len: usize,
    last_indexed_pos: Option<u64>,
}

struct ParsedIndex {
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
    entries: Vec<(u32, u32)>,
}

fn parse_index(buf: &[u8]) -> Option<ParsedIndex> {
    if buf.len() < 36 || &buf[0..4] != INDEX_MAGIC {
        return None;
    }
    let (body, crc) = buf.split_at(buf.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?))
    };
    let size = u64_at(4)?;
    let next_offset = u64_at(12)? as i64;
    let max_timestamp = u64_at(20)? as i64;
    let count = u32_at(28)? as usize;
    if body.len() != 32 + count * 8 {
        return None;
    }
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        entries.push((u32_at(32 + i * 8)?, u32_at(36 + i * 8)?));
    }
    Some(ParsedIndex {
        size,
        next_offset,
        max_timestamp,
        entries,
    })
}

/// Why a scan stopped before the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanStop {
    /// Reached the end of the file exactly.
    End,
    /// The last batch runs past the end of the file.
    Torn,
    /// A batch failed its checks.
    Corrupt(String),
}

/// Result of scanning a segment from its current accounted size.
#[derive(Debug)]
pub(crate) struct ScanOutcome {
    pub stop: ScanStop,
    /// Position where valid data ends (before any damage).
    pub valid_end: u64,
    /// Trailing complete batches of a transaction without its marker.
    pub open_txn: Option<OpenTxn>,
}

/// A transaction whose data batches end the segment without a commit marker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenTxn {
    pub txn_id: i64,
    pub batches: u64,
    pub mark: SegmentMark,
}

/// Scans the segment from `seg.size` up to `file_len`, accounting every complete, valid batch.
/// A trailing transaction without its marker is accounted too and reported with the mark to
/// roll back to, so the caller decides whether it is visible.
pub(crate) fn scan(seg: &mut Segment, file_len: u64) -> LogResult<ScanOutcome> {
    let mut pos = seg.size;
    let mut buf = BytesMut::new();
    let mut buf_start = pos;
    let mut open: Option<OpenTxn> = None;
    let stop = loop {
        if pos >= file_len {
            break ScanStop::End;
        }
        let in_buf = (pos - buf_start) as usize;
        let avail = &buf[in_buf.min(buf.len())..];
        match check_batch(avail) {
            Check::Complete(h) => {
                let batch_pos = pos;
                if h.is_transactional() && !h.is_control() {
                    match &mut open {
                        Some(o) if o.txn_id == h.producer_id => o.batches += 1,
                        Some(_) => {
                            break ScanStop::Corrupt(format!(
                                "transaction {} starts inside another transaction",
                                h.producer_id
                            ))
                        }
                        None => {
                            open = Some(OpenTxn {
                                txn_id: h.producer_id,
                                batches: 1,
                                mark: seg.mark(),
                            })
                        }
                    }
                } else if h.is_control() {
                    if open.map(|o| o.txn_id) == Some(h.producer_id) {
                        open = None;
                    }
                } else if open.is_some() {
                    break ScanStop::Corrupt("plain batch inside a transaction".into());
                }
                if h.base_offset < seg.next_offset {
                    break ScanStop::Corrupt(format!(
                        "batch offset {} goes back (expected at least {})",
                        h.base_offset, seg.next_offset
                    ));
                }
                seg.note_batch(batch_pos, &h);
                pos += u64::from(h.length);
            }
            Check::Incomplete { needed } => {
                let remaining = file_len - pos;
                if (needed as u64) > remaining {
                    break ScanStop::Torn;
                }
                let want = needed.max(SCAN_CHUNK).min(remaining as usize);
                buf = read_at(&seg.file, pos, want, &seg.path)?;
                buf_start = pos;
                if buf.len() < want {
                    break ScanStop::Torn;
                }
            }
            Check::Corrupt(msg) => break ScanStop::Corrupt(msg),
        }
    };
    let valid_end = pos;
    Ok(ScanOutcome {
        stop,
        valid_end,
        open_txn: open,
    })
}

/// Reads up to `len` bytes at `pos` (fewer at end of file).
pub(crate) fn read_at(file: &File, pos: u64, len: usize, path: &Path) -> LogResult<BytesMut> {
    let mut buf = BytesMut::new();
    read_into(file, pos, len, path, &mut buf)?;
    Ok(buf)
}

/// Appends up to `len` bytes read at `pos` to `buf` (fewer at end of file).
fn read_into(file: &File, pos: u64, len: usize, path: &Path, buf: &mut BytesMut) -> LogResult<()> {
    let start = buf.len();
    buf.resize(start + len, 0);
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut buf[start + filled..], pos + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start + filled);
                return Err(LogError::io(
                    format!(
                        "reading segment '{}' at {}",
                        path.display(),
                        pos + filled as u64
                    ),
                    e,
                ));
            }
        }
    }
    buf.truncate(start + filled);
    Ok(())
}

/// Most read buffers a [`ReadBuffers`] keeps.
const POOLED_READ_BUFFERS: usize = 3;

/// Read buffers reused across fetches.
///
/// A fetch hands out its bytes as [`Bytes`] that records slice without copying, so its buffer
/// lives as long as any record read from it. Allocating a fresh buffer of a megabyte or more
/// per fetch makes the allocator return the memory to the operating system and fault it in
/// again, zeroed, a little later; instead, a fetch reads into a pooled buffer whose earlier
/// contents nobody references any more (checked by [`BytesMut::try_reclaim`]), and only
/// allocates when every pooled buffer is still in use.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffers {
    pool: Vec<BytesMut>,
}

impl ReadBuffers {
    /// An empty buffer with room for `len` bytes: a reclaimed pooled one if possible.
    fn take(&mut self, len: usize) -> BytesMut {
        match self.pool.iter().position(|b| b.capacity() >= len) {
            Some(i) => self.pool.swap_remove(i),
            None => match self.pool.iter_mut().position(|b| b.try_reclaim(len)) {
                Some(i) => self.pool.swap_remove(i),
                None => BytesMut::with_capacity(len),
            },
        }
    }

    /// Freezes the bytes read into `buf` and keeps its allocation for a later fetch (in
    /// place of the oldest pooled buffer when the pool is full, so buffers too small for the
    /// current fetches do not stay forever).
    fn freeze(&mut self, mut buf: BytesMut) -> Bytes {
        let data = buf.split().freeze();
        if self.pool.len() >= POOLED_READ_BUFFERS {
            self.pool.remove(0);
        }
        self.pool.push(buf);
        data
    }
}

/// Reads complete batches from `pos` up to `end`, at least one whole batch and otherwise
/// about `max_bytes`, into a buffer of `buffers`. Returns the bytes (ending on a batch
/// boundary).
pub(crate) fn read_batches(
    file: &File,
    path: &Path,
    pos: u64,
    end: u64,
    max_bytes: usize,
    buffers: &mut ReadBuffers,
) -> LogResult<Bytes> {
    if pos >= end {
        return Ok(Bytes::new());
    }
    let avail = (end - pos) as usize;
    let want = max_bytes.max(HEADER_LEN).min(avail);
    let mut buf = buffers.take(want);
    read_into(file, pos, want, path, &mut buf)?;
    let first = match check_batch(&buf) {
        Check::Complete(h) => h.length as usize,
        Check::Incomplete { needed } if needed <= avail => needed,
        Check::Incomplete { .. } => {
            return Err(LogError::Corrupt {
                path: path.to_path_buf(),
                message: format!("batch at position {pos} runs past the end of the segment"),
            })
        }
        Check::Corrupt(m) => {
            return Err(LogError::Corrupt {
                path: path.to_path_buf(),
                message: format!("batch at position {pos}: {m}"),
            })
        }
    };
    if first > buf.len() {
        // The first batch is larger than a fetch: read the rest of it.
        let have = buf.len();
        read_into(file, pos + have as u64, first - have, path, &mut buf)?;
        if buf.len() < first {
            return Err(LogError::Corrupt {
                path: path.to_path_buf(),
                message: format!("batch at position {pos} runs past the end of the file"),
            });
        }
    }
    // Cut at the last whole batch.
    let mut cut = 0;
    while cut + HEADER_LEN <= buf.len() {
        let len = u32::from_le_bytes([buf[cut], buf[cut + 1], buf[cut + 2], buf[cut + 3]]) as usize;
        if len < HEADER_LEN || cut + len > buf.len() {
            break;
        }
        cut += len;
    }
    buf.truncate(cut.max(first));
    Ok(buffers.freeze(buf))
}

/// Opens a segment file for reading and appending.
pub(crate) fn open_segment_file(path: &Path, writable: bool, create: bool) -> LogResult<File> {
    OpenOptions::new()
        .read(true)
        .write(writable)
        .create(create && writable)
        .truncate(false)
        .open(path)
        .map_err(|e| LogError::io(format!("opening segment '{}'", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_file_round_trip_and_length_check() {
        let dir = std::env::temp_dir().join(format!("sluice-seg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(log_file_name(10));
        let file = open_segment_file(&path, true, true).unwrap();
        let mut seg = Segment::empty(10, path.clone(), file);
        let h = BatchHeader {
            length: 5000,
            flags: 0,
            record_count: 2,
            base_offset: 10,
            last_offset_delta: 1,
            first_timestamp: 1,
            max_timestamp: 9,
            producer_id: -1,
        };
        seg.note_batch(0, &h);
        seg.note_batch(
            5000,
            &BatchHeader {
                base_offset: 12,
                length: 100,
                ..h
            },
        );
        seg.note_batch(
            5100,
            &BatchHeader {
                base_offset: 14,
                length: 100,
                ..h
            },
        );
        assert_eq!(seg.index, vec![(0, 0), (2, 5000)]);
        assert_eq!(seg.position_for(15), 5000);
        assert_eq!(seg.position_for(11), 0);
        seg.write_index_file(&dir).unwrap();
        let file = open_segment_file(&path, true, false).unwrap();
        let mut again = Segment::empty(10, path.clone(), file);
        assert!(!again.load_index_file(&dir, 5199));
        assert!(again.load_index_file(&dir, 5200));
        assert_eq!(again.index, seg.index);
        assert_eq!(again.next_offset, 16);
        assert_eq!(again.max_timestamp, 9);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A segment file of three batches of `records` records each; returns it with its bytes.
    fn three_batches(dir: &Path, records: i64) -> (File, Vec<u8>) {
        let mut bytes = Vec::new();
        for b in 0..3 {
            let base = b * records;
            let mut builder = super::super::batch::BatchBuilder::new(&mut bytes, base, 7);
            for o in base..base + records {
                let value = format!("value {o:>40}");
                builder.push(o, 7, None, Some(value.as_bytes()), std::iter::empty());
            }
            builder.finish(0, -1);
        }
        let path = dir.join(log_file_name(0));
        std::fs::write(&path, &bytes).unwrap();
        (open_segment_file(&path, false, false).unwrap(), bytes)
    }

    #[test]
    fn read_batches_reads_whole_batches_into_reused_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let (file, bytes) = three_batches(dir.path(), 10);
        let (path, end) = (dir.path().join("x"), bytes.len() as u64);
        let mut buffers = ReadBuffers::default();
        let all = read_batches(&file, &path, 0, end, 1 << 20, &mut buffers).unwrap();
        assert_eq!(&all[..], &bytes[..]);
        // While the bytes are in use, the next read gets another buffer.
        let again = read_batches(&file, &path, 0, end, 1 << 20, &mut buffers).unwrap();
        assert_eq!(again, all);
        assert_ne!(again.as_ptr(), all.as_ptr());
        // Once nothing refers to a buffer, it is read into again.
        let first = all.as_ptr();
        drop(all);
        let reused = read_batches(&file, &path, 0, end, 1 << 20, &mut buffers).unwrap();
        assert_eq!(&reused[..], &bytes[..]);
        assert_eq!(reused.as_ptr(), first);
        // A fetch smaller than a batch still returns that whole batch, and only it.
        let one = read_batches(&file, &path, 0, end, HEADER_LEN, &mut buffers).unwrap();
        let Check::Complete(h) = check_batch(&one) else {
            panic!("a whole batch is expected");
        };
        assert_eq!(one.len(), h.length as usize);
        assert_eq!(&one[..], &bytes[..one.len()]);
        let rest = read_batches(&file, &path, one.len() as u64, end, 1, &mut buffers).unwrap();
        assert_eq!(&rest[..], &bytes[one.len()..2 * one.len()]);
    }
}

//! The on-disk batch format.
//!
//! A segment file is a sequence of batches, each laid out as (little-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 0..4 | `length`: size of the whole batch, header included |
//! | 4..8 | `crc`: CRC-32 of bytes `8..length` |
//! | 8 | `magic` (format version, 1) |
//! | 9 | `flags`: 1 transactional, 2 control (transaction marker), 4 log-append time |
//! | 10..12 | reserved, zero |
//! | 12..16 | `record_count` |
//! | 16..24 | `base_offset`: offset of the batch's first record |
//! | 24..28 | `last_offset_delta`: last record's offset minus `base_offset` |
//! | 28..32 | reserved, zero |
//! | 32..40 | `first_timestamp`: timestamp of the first record |
//! | 40..48 | `max_timestamp` |
//! | 48..56 | `producer_id`: the transaction id for transactional batches, else -1 |
//!
//! followed by `record_count` records, each:
//! offset delta (unsigned varint), timestamp delta from `first_timestamp` (zigzag varint),
//! key length (zigzag varint, -1 for null) and key, value length (zigzag, -1 for a
//! tombstone) and value, header count (unsigned varint), then per header: name length
//! (unsigned varint), name (UTF-8), value length (zigzag, -1 for null) and value.
//!
//! Offsets inside a batch are increasing but may have gaps (compaction removes records
//! and keeps the offsets of the others).

use bytes::Bytes;

use crate::types::{LogHeader, ProduceRecord};

/// Size of the fixed batch header.
pub(crate) const HEADER_LEN: usize = 56;
/// Format version written in every batch.
pub(crate) const MAGIC: u8 = 1;
/// The batch belongs to a transaction (its `producer_id` is the transaction id).
pub(crate) const FLAG_TRANSACTIONAL: u8 = 1;
/// The batch is a transaction marker, not data.
pub(crate) const FLAG_CONTROL: u8 = 2;
/// Record timestamps were set by the log on append.
pub(crate) const FLAG_LOG_APPEND_TIME: u8 = 4;
/// Largest batch accepted (the length field is 32 bits; keep a margin).
pub(crate) const MAX_BATCH_LEN: usize = i32::MAX as usize;

/// The decoded fixed header of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub length: u32,
    pub flags: u8,
    pub record_count: u32,
    pub base_offset: i64,
    pub last_offset_delta: u32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
}

impl BatchHeader {
    /// Offset after the batch's last record.
    pub fn next_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta) + 1
    }

    /// True for a transaction marker.
    pub fn is_control(&self) -> bool {
        self.flags & FLAG_CONTROL != 0
    }

    /// True for data or markers of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.flags & FLAG_TRANSACTIONAL != 0
    }

    fn read(buf: &[u8]) -> BatchHeader {
        BatchHeader {
            length: le_u32(buf, 0),
            flags: buf[9],
            record_count: le_u32(buf, 12),
            base_offset: le_u64(buf, 16) as i64,
            last_offset_delta: le_u32(buf, 24),
            first_timestamp: le_u64(buf, 32) as i64,
            max_timestamp: le_u64(buf, 40) as i64,
            producer_id: le_u64(buf, 48) as i64,
        }
    }
}

fn le_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn le_u64(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// What [`check_batch`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// A whole batch with a good checksum.
    Complete(BatchHeader),
    /// The buffer ends before the batch does; `needed` bytes make it whole (when known).
    Incomplete { needed: usize },
    /// The bytes are not a valid batch.
    Corrupt(String),
}

/// Validates the batch at the start of `buf`: length, magic and checksum.
pub(crate) fn check_batch(buf: &[u8]) -> Check {
    if buf.len() < HEADER_LEN {
        return Check::Incomplete { needed: HEADER_LEN };
    }
    let length = le_u32(buf, 0) as usize;
    if !(HEADER_LEN..=MAX_BATCH_LEN).contains(&length) {
        return Check::Corrupt(format!("batch length {length} is invalid"));
    }
    if buf[8] != MAGIC {
        return Check::Corrupt(format!("unknown batch format version {}", buf[8]));
    }
    if buf.len() < length {
        return Check::Incomplete { needed: length };
    }
    let stored = le_u32(buf, 4);
    let actual = crc32fast::hash(&buf[8..length]);
    if stored != actual {
        return Check::Corrupt(format!(
            "batch checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"
        ));
    }
    let header = BatchHeader::read(buf);
    if header.record_count == 0
        || u64::from(header.last_offset_delta) < u64::from(header.record_count) - 1
    {
        return Check::Corrupt(format!(
            "batch has {} records but an offset span of {}",
            header.record_count,
            u64::from(header.last_offset_delta) + 1
        ));
    }
    Check::Complete(header)
}

// ----- varints -----

#[inline]
pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[inline]
pub(crate) fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

#[inline]
fn put_bytes(buf: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, -1),
        Some(b) => {
            put_varint(buf, b.len() as i64);
            buf.extend_from_slice(b);
        }
    }
}

/// A cursor over the records section of one batch.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    #[inline]
    fn uvarint(&mut self) -> Result<u64, String> {
        // Most varints of a record (deltas, short lengths) are one or two bytes.
        match self.buf.get(self.pos..self.pos + 2) {
            Some(&[b0, _]) if b0 < 0x80 => {
                self.pos += 1;
                return Ok(u64::from(b0));
            }
            Some(&[b0, b1]) if b1 < 0x80 => {
                self.pos += 2;
                return Ok(u64::from(b0 & 0x7f) | u64::from(b1) << 7);
            }
            _ => {}
        }
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err("record runs past the end of its batch".into());
            };
            self.pos += 1;
            if shift >= 64 {
                return Err("varint is too long".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    #[inline]
    fn varint(&mut self) -> Result<i64, String> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A length-prefixed byte range (`None` for length -1).
    #[inline]
    fn range(&mut self, signed: bool) -> Result<Option<(usize, usize)>, String> {
        let len = if signed {
            let l = self.varint()?;
            if l == -1 {
                return Ok(None);
            }
            if l < 0 {
                return Err(format!("negative length {l}"));
            }
            l as u64
        } else {
            self.uvarint()?
        };
        let start = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| "record field runs past the end of its batch".to_string())?;
        self.pos = end;
        Ok(Some((start, end)))
    }
}

/// One record decoded from a batch; key, value and header values share the batch's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodedRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<LogHeader>,
}

/// Decodes the records of one checked batch. `batch` holds exactly the batch's bytes.
/// Records with an offset below `from` are skipped without building them.
pub(crate) fn decode_records(
    batch: &Bytes,
    header: &BatchHeader,
    from: i64,
    mut each: impl FnMut(DecodedRecord),
) -> Result<(), String> {
    let mut r = Reader {
        buf: &batch[..],
        pos: HEADER_LEN,
    };
    for _ in 0..header.record_count {
        let delta = r.uvarint()?;
        if delta > u64::from(header.last_offset_delta) {
            return Err(format!("record offset delta {delta} is beyond the batch"));
        }
        let offset = header.base_offset + delta as i64;
        let ts_delta = r.varint()?;
        let key = r.range(true)?;
        let value = r.range(true)?;
        let header_count = r.uvarint()?;
        let build = offset >= from;
        let mut headers = Vec::new();
        for _ in 0..header_count {
            let name = r.range(false)?.unwrap_or((0, 0));
            let hv = r.range(true)?;
            if build {
                let name = std::str::from_utf8(&batch[name.0..name.1])
                    .map_err(|e| format!("header name is not UTF-8: {e}"))?;
                headers.push(LogHeader {
                    key: name.to_owned(),
                    value: hv.map(|(s, e)| batch.slice(s..e)),
                });
            }
        }
        if build {
            each(DecodedRecord {
                offset,
                timestamp: header.first_timestamp.wrapping_add(ts_delta),
                key: key.map(|(s, e)| batch.slice(s..e)),
                value: value.map(|(s, e)| batch.slice(s..e)),
                headers,
            });
        }
    }
    if r.pos != batch.len() {
        return Err(format!(
            "batch has {} bytes after its last record",
            batch.len() - r.pos
        ));
    }
    Ok(())
}

/// What [`BatchBuilder::finish`] wrote.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuiltBatch {
    pub header: BatchHeader,
}

/// Encodes one batch at the end of a buffer.
pub(crate) struct BatchBuilder<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
    base_offset: i64,
    first_timestamp: i64,
    max_timestamp: i64,
    count: u32,
    last_delta: u32,
}

impl<'a> BatchBuilder<'a> {
    /// Starts a batch whose first record has `base_offset` and `first_timestamp`.
    pub fn new(buf: &'a mut Vec<u8>, base_offset: i64, first_timestamp: i64) -> Self {
        let start = buf.len();
        buf.resize(start + HEADER_LEN, 0);
        BatchBuilder {
            buf,
            start,
            base_offset,
            first_timestamp,
            max_timestamp: i64::MIN,
            count: 0,
            last_delta: 0,
        }
    }

    /// Appends a record; offsets must increase.
    #[inline]
    pub fn push<'h>(
        &mut self,
        offset: i64,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: impl ExactSizeIterator<Item = (&'h str, Option<&'h [u8]>)>,
    ) {
        let delta = (offset - self.base_offset) as u64;
        put_uvarint(self.buf, delta);
        put_varint(self.buf, timestamp.wrapping_sub(self.first_timestamp));
        put_bytes(self.buf, key);
        put_bytes(self.buf, value);
        put_uvarint(self.buf, headers.len() as u64);
        for (name, v) in headers {
            put_uvarint(self.buf, name.len() as u64);
            self.buf.extend_from_slice(name.as_bytes());
            put_bytes(self.buf, v);
        }
        self.count += 1;
        self.last_delta = delta as u32;
        self.max_timestamp = self.max_timestamp.max(timestamp);
    }

    /// Appends a produced record at the next dense offset.
    #[inline]
    pub fn push_produced(&mut self, record: &ProduceRecord, timestamp: i64) {
        let offset = self.base_offset + i64::from(self.count);
        self.push(
            offset,
            timestamp,
            record.key.as_deref(),
            record.value.as_deref(),
            record
                .headers
                .iter()
                .map(|h| (h.key.as_str(), h.value.as_deref())),
        );
    }

    /// Writes the header and checksum. The batch must hold at least one record.
    pub fn finish(self, flags: u8, producer_id: i64) -> BuiltBatch {
        let length = (self.buf.len() - self.start) as u32;
        let header = BatchHeader {
            length,
            flags,
            record_count: self.count,
            base_offset: self.base_offset,
            last_offset_delta: self.last_delta,
            first_timestamp: self.first_timestamp,
            max_timestamp: self.max_timestamp,
            producer_id,
        };
        let h = &mut self.buf[self.start..self.start + HEADER_LEN];
        h[0..4].copy_from_slice(&length.to_le_bytes());
        h[8] = MAGIC;
        h[9] = flags;
        h[10..12].copy_from_slice(&[0, 0]);
        h[12..16].copy_from_slice(&self.count.to_le_bytes());
        h[16..24].copy_from_slice(&self.base_offset.to_le_bytes());
        h[24..28].copy_from_slice(&self.last_delta.to_le_bytes());
        h[28..32].copy_from_slice(&[0, 0, 0, 0]);
        h[32..40].copy_from_slice(&self.first_timestamp.to_le_bytes());
        h[40..48].copy_from_slice(&self.max_timestamp.to_le_bytes());
        h[48..56].copy_from_slice(&producer_id.to_le_bytes());
        let crc = crc32fast::hash(&self.buf[self.start + 8..]);
        self.buf[self.start + 4..self.start + 8].copy_from_slice(&crc.to_le_bytes());
        BuiltBatch { header }
    }
}

/// Kind of transaction marker.
pub(crate) const MARKER_COMMIT: u8 = 1;

/// Encodes a transaction marker (a control batch of one record) for transaction `txn_id`.
pub(crate) fn encode_marker(
    buf: &mut Vec<u8>,
    offset: i64,
    timestamp: i64,
    txn_id: i64,
) -> BuiltBatch {
    let mut b = BatchBuilder::new(buf, offset, timestamp);
    b.push(
        offset,
        timestamp,
        Some(&[0, MARKER_COMMIT]),
        None,
        std::iter::empty(),
    );
    b.finish(FLAG_CONTROL | FLAG_TRANSACTIONAL, txn_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        key: Option<&str>,
        value: Option<&str>,
        headers: &[(&str, Option<&str>)],
    ) -> ProduceRecord {
        ProduceRecord {
            topic: "t".into(),
            partition: None,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: headers
                .iter()
                .map(|(k, v)| LogHeader {
                    key: (*k).into(),
                    value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
                })
                .collect(),
            timestamp: None,
        }
    }

    #[test]
    fn batch_round_trip() {
        let records = [
            rec(Some("k1"), Some("v1"), &[("h", Some("x")), ("n", None)]),
            rec(None, Some(""), &[]),
            rec(Some("k3"), None, &[]),
        ];
        let mut buf = Vec::new();
        let mut b = BatchBuilder::new(&mut buf, 100, 1_000);
        for (i, r) in records.iter().enumerate() {
            b.push_produced(r, 1_000 - i as i64 * 7);
        }
        let built = b.finish(0, -1);
        assert_eq!(built.header.length as usize, buf.len());
        let Check::Complete(h) = check_batch(&buf) else {
            panic!("batch should check");
        };
        assert_eq!(h, built.header);
        assert_eq!(h.next_offset(), 103);
        let bytes = Bytes::from(buf);
        let mut out = Vec::new();
        decode_records(&bytes, &h, 0, |r| out.push(r)).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].offset, 100);
        assert_eq!(out[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(
            out[0].headers[1],
            LogHeader {
                key: "n".into(),
                value: None
            }
        );
        assert_eq!(out[1].key, None);
        assert_eq!(out[1].value.as_deref(), Some(&b""[..]));
        assert_eq!(out[1].timestamp, 993);
        assert_eq!(out[2].value, None);
        let mut skipped = Vec::new();
        decode_records(&bytes, &h, 102, |r| skipped.push(r.offset)).unwrap();
        assert_eq!(skipped, vec![102]);
    }

    #[test]
    fn damaged_batches_are_detected() {
        let mut buf = Vec::new();
        let mut b = BatchBuilder::new(&mut buf, 0, 5);
        b.push_produced(&rec(Some("k"), Some("value"), &[]), 5);
        b.finish(0, -1);
        assert!(matches!(
            check_batch(&buf[..buf.len() - 1]),
            Check::Incomplete { .. }
        ));
        assert!(matches!(check_batch(&buf[..10]), Check::Incomplete { .. }));
        let mut flipped = buf.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(matches!(check_batch(&flipped), Check::Corrupt(_)));
        let mut bad_len = buf.clone();
        bad_len[0..4].copy_from_slice(&3u32.to_le_bytes());
        assert!(matches!(check_batch(&bad_len), Check::Corrupt(_)));
    }

    #[test]
    fn varints_round_trip() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            300,
            -300,
            8191,
            -8193,
            i64::MAX,
            i64::MIN,
        ] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut r = Reader { buf: &buf, pos: 0 };
            assert_eq!(r.varint().unwrap(), v);
            assert_eq!(r.pos, buf.len());
            // Followed by more bytes, and at the very end of the buffer.
            buf.push(0x7f);
            let mut r = Reader { buf: &buf, pos: 0 };
            assert_eq!(r.varint().unwrap(), v);
            assert_eq!(r.uvarint().unwrap(), 0x7f);
            assert!(r.uvarint().is_err());
        }
    }
}

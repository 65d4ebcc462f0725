//! Helpers shared by the embedded log's integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::{
    ConsumedRecord, ConsumerConfig, Log, LogConsumer, LogHeader, NoopRebalanceListener,
    ProduceRecord, TopicPartition,
};

pub fn open(dir: &std::path::Path) -> Arc<EmbeddedLog> {
    EmbeddedLog::open(dir, EmbeddedLogOptions::default()).unwrap()
}

pub fn open_with(
    dir: &std::path::Path,
    f: impl FnOnce(&mut EmbeddedLogOptions),
) -> Arc<EmbeddedLog> {
    let mut o = EmbeddedLogOptions::default();
    f(&mut o);
    EmbeddedLog::open(dir, o).unwrap()
}

pub fn rec(topic: &str, key: Option<&str>, value: Option<&str>) -> ProduceRecord {
    ProduceRecord {
        topic: topic.into(),
        partition: None,
        key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
        value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        headers: Vec::new(),
        timestamp: None,
    }
}

pub fn rec_p(topic: &str, partition: i32, key: Option<&str>, value: Option<&str>) -> ProduceRecord {
    ProduceRecord {
        partition: Some(partition),
        ..rec(topic, key, value)
    }
}

pub fn header(k: &str, v: Option<&str>) -> LogHeader {
    LogHeader {
        key: k.into(),
        value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
    }
}

pub fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

pub fn value_str(r: &ConsumedRecord) -> Option<String> {
    r.value
        .as_ref()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

pub fn key_str(r: &ConsumedRecord) -> Option<String> {
    r.key
        .as_ref()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// A consumer assigned to the given partitions.
pub async fn assigned(log: &EmbeddedLog, parts: &[TopicPartition]) -> Box<dyn LogConsumer> {
    let mut c = log.consumer(ConsumerConfig::default()).unwrap();
    c.assign(parts).await.unwrap();
    c
}

/// Polls until `n` records arrived or polls come back empty.
pub async fn drain(c: &mut dyn LogConsumer, n: usize) -> Vec<ConsumedRecord> {
    let mut out = Vec::new();
    while out.len() < n {
        let got = c
            .poll(Duration::from_millis(500), &mut NoopRebalanceListener)
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        out.extend(got);
    }
    out
}

/// Path of a partition's first segment.
pub fn segment_path(
    dir: &std::path::Path,
    topic: &str,
    partition: i32,
    base: i64,
) -> std::path::PathBuf {
    dir.join("topics")
        .join(topic)
        .join(partition.to_string())
        .join(format!("{base:020}.log"))
}

/// Sizes of the batches in a segment file, read from their length fields.
pub fn batch_sizes(path: &std::path::Path) -> Vec<usize> {
    let data = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        out.push(len);
        at += len;
    }
    out
}

fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(buf: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, -1),
        Some(b) => {
            put_varint(buf, b.len() as i64);
            buf.extend_from_slice(b);
        }
    }
}

/// Encodes a batch by the on-disk format documented in the embedded log's `batch.rs`,
/// independently of the crate's encoder. Flags: 1 transactional, 2 control.
pub fn raw_batch(
    base: i64,
    flags: u8,
    producer_id: i64,
    ts: i64,
    records: &[(Option<&str>, Option<&str>)],
) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, (k, v)) in records.iter().enumerate() {
        put_uvarint(&mut body, i as u64);
        put_varint(&mut body, 0);
        put_bytes(&mut body, k.map(str::as_bytes));
        put_bytes(&mut body, v.map(str::as_bytes));
        put_uvarint(&mut body, 0);
    }
    let len = 56 + body.len();
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.push(1);
    b.push(flags);
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&(records.len() as u32).to_le_bytes());
    b.extend_from_slice(&base.to_le_bytes());
    b.extend_from_slice(&((records.len() - 1) as u32).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&ts.to_le_bytes());
    b.extend_from_slice(&ts.to_le_bytes());
    b.extend_from_slice(&producer_id.to_le_bytes());
    b.extend_from_slice(&body);
    let crc = crc32fast::hash(&b[8..]);
    b[4..8].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Appends bytes to a file.
pub fn append_bytes(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

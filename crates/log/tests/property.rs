//! Property-style test: random batches written to the embedded log read back identical,
//! before and after reopening.

mod common;

use bytes::Bytes;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_log::{ConsumedRecord, Log, LogHeader, NewTopic, ProduceRecord};

fn random_bytes(rng: &mut StdRng, max: usize) -> Option<Bytes> {
    if rng.random_bool(0.1) {
        return None;
    }
    let len = rng.random_range(0..=max);
    Some(Bytes::from(
        (0..len).map(|_| rng.random::<u8>()).collect::<Vec<u8>>(),
    ))
}

fn random_record(rng: &mut StdRng, partitions: i32) -> ProduceRecord {
    let header_count = rng.random_range(0..3);
    let headers = (0..header_count)
        .map(|i| {
            let key = format!("h{i}-{}", rng.random::<u16>());
            LogHeader {
                key,
                value: random_bytes(rng, 20),
            }
        })
        .collect();
    let max_value = if rng.random_bool(0.05) { 5000 } else { 300 };
    ProduceRecord {
        topic: "prop".into(),
        partition: Some(rng.random_range(0..partitions)),
        key: random_bytes(rng, 40),
        value: random_bytes(rng, max_value),
        headers,
        timestamp: if rng.random_bool(0.8) {
            Some(rng.random_range(0..2_000_000_000_000))
        } else {
            None
        },
    }
}

fn same(r: &ConsumedRecord, p: &ProduceRecord, timestamp: i64) -> bool {
    r.key == p.key && r.value == p.value && r.headers == p.headers && r.timestamp == timestamp
}

#[tokio::test]
async fn random_batches_read_back_identical() {
    for seed in [1u64, 2, 3] {
        let mut rng = StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let partitions = rng.random_range(1..4);
        let mut written: Vec<Vec<(ProduceRecord, i64)>> = vec![Vec::new(); partitions as usize];
        {
            let log = open(dir.path());
            log.admin()
                .create_topic(NewTopic::new("prop", partitions).config("segment.bytes", "8192"))
                .await
                .unwrap();
            let p = log.producer(Default::default()).unwrap();
            for _ in 0..rng.random_range(50..120) {
                let batch: Vec<ProduceRecord> = (0..rng.random_range(1..40))
                    .map(|_| random_record(&mut rng, partitions))
                    .collect();
                let meta = p.send(batch.clone()).await.unwrap();
                for (r, m) in batch.into_iter().zip(meta) {
                    let part = &mut written[m.partition as usize];
                    assert_eq!(m.offset, part.len() as i64, "dense offsets");
                    part.push((r, m.timestamp));
                }
            }
            let tps: Vec<_> = (0..partitions).map(|i| tp("prop", i)).collect();
            check(&log, &tps, &written).await;
        }
        let log = open(dir.path());
        assert!(log.recovery_report().is_empty());
        let tps: Vec<_> = (0..partitions).map(|i| tp("prop", i)).collect();
        check(&log, &tps, &written).await;
    }
}

async fn check(
    log: &sluice_log::embedded::EmbeddedLog,
    tps: &[sluice_log::TopicPartition],
    written: &[Vec<(ProduceRecord, i64)>],
) {
    let total: usize = written.iter().map(Vec::len).sum();
    let mut c = assigned(log, tps).await;
    let got = drain(c.as_mut(), total).await;
    assert_eq!(got.len(), total);
    let mut next = vec![0usize; written.len()];
    for r in &got {
        let p = r.partition as usize;
        assert_eq!(r.offset, next[p] as i64, "in order per partition");
        let (orig, ts) = &written[p][next[p]];
        assert!(
            same(r, orig, *ts),
            "record {} of partition {p} differs",
            r.offset
        );
        next[p] += 1;
    }
}

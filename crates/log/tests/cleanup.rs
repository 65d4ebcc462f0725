//! Retention and compaction of the embedded log.

mod common;

use std::collections::BTreeMap;

use common::*;
use sluice_log::{Log, LogError, NewTopic, ProduceRecord};

const DAY: i64 = 86_400_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn at(mut r: ProduceRecord, ts: i64) -> ProduceRecord {
    r.timestamp = Some(ts);
    r
}

fn segment_count(dir: &std::path::Path, topic: &str) -> usize {
    std::fs::read_dir(dir.join("topics").join(topic).join("0"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count()
}

#[tokio::test]
async fn retention_by_time_deletes_old_closed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.admin()
        .create_topic(
            NewTopic::new("old", 1)
                .config("segment.bytes", "2048")
                .config("retention.ms", DAY.to_string()),
        )
        .await
        .unwrap();
    let p = log.producer(Default::default()).unwrap();
    let big = "x".repeat(900);
    for i in 0..6 {
        p.send(vec![at(
            rec_p("old", 0, None, Some(&big)),
            now() - 3 * DAY + i,
        )])
        .await
        .unwrap();
    }
    for _ in 0..4 {
        p.send(vec![rec_p("old", 0, None, Some(&big))])
            .await
            .unwrap();
    }
    let before = segment_count(dir.path(), "old");
    assert!(before >= 4, "small segments roll: {before}");
    let deleted = log.apply_retention_now().await.unwrap();
    assert_eq!(deleted, 3, "the three segments holding only old records");
    let d = log.admin().describe_topic("old").await.unwrap();
    assert_eq!(d.partitions[0].earliest_offset, 6);
    assert_eq!(d.partitions[0].latest_offset, 10);
    let mut c = assigned(&log, &[tp("old", 0)]).await;
    let got = drain(c.as_mut(), 10).await;
    assert_eq!(got.first().map(|r| r.offset), Some(6));
    assert_eq!(got.len(), 4);
    drop(c);
    drop(p);
    drop(log);
    let log = open(dir.path());
    let d = log.admin().describe_topic("old").await.unwrap();
    assert_eq!(
        (
            d.partitions[0].earliest_offset,
            d.partitions[0].latest_offset
        ),
        (6, 10)
    );
}

#[tokio::test]
async fn retention_by_size_keeps_the_partition_under_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.admin()
        .create_topic(
            NewTopic::new("sz", 1)
                .config("segment.bytes", "2048")
                .config("retention.bytes", "4096"),
        )
        .await
        .unwrap();
    let p = log.producer(Default::default()).unwrap();
    let big = "y".repeat(900);
    for _ in 0..20 {
        p.send(vec![rec_p("sz", 0, None, Some(&big))])
            .await
            .unwrap();
    }
    assert!(log.apply_retention_now().await.unwrap() > 0);
    let held: u64 = std::fs::read_dir(dir.path().join("topics/sz/0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(held <= 4096 + 2048, "{held} bytes held");
    let d = log.admin().describe_topic("sz").await.unwrap();
    assert!(d.partitions[0].earliest_offset > 0);
    assert_eq!(d.partitions[0].latest_offset, 20);
}

#[tokio::test]
async fn compaction_keeps_the_latest_record_per_key_and_drops_old_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.admin()
        .create_topic(
            NewTopic::new("c", 1)
                .config("cleanup.policy", "compact")
                .config("segment.bytes", "1024")
                .config("delete.retention.ms", DAY.to_string()),
        )
        .await
        .unwrap();
    let p = log.producer(Default::default()).unwrap();
    let old = now() - 2 * DAY;
    let pad = "v".repeat(100);
    let mut expected: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for round in 0..5 {
        for k in 0..8 {
            let key = format!("k{k}");
            let value = format!("{round}-{pad}");
            let m = p
                .send(vec![at(rec_p("c", 0, Some(&key), Some(&value)), old)])
                .await
                .unwrap();
            expected.insert(key, (m[0].offset, Some(value)));
        }
    }
    // An old tombstone (dropped) and a recent one (kept).
    let m = p
        .send(vec![at(rec_p("c", 0, Some("k3"), None), old)])
        .await
        .unwrap();
    expected.insert("k3".into(), (m[0].offset, None));
    let m = p.send(vec![rec_p("c", 0, Some("k4"), None)]).await.unwrap();
    expected.insert("k4".into(), (m[0].offset, None));
    // Roll so that the records above sit in closed segments.
    for i in 0..12 {
        p.send(vec![rec_p("c", 0, Some(&format!("filler{i}")), Some(&pad))])
            .await
            .unwrap();
    }
    let latest_before = log.admin().describe_topic("c").await.unwrap().partitions[0].latest_offset;

    let stats = log.compact_now("c").await.unwrap();
    assert!(stats.segments_rewritten > 0);
    assert!(stats.records_after < stats.records_before);
    assert_eq!(stats.tombstones_dropped, 1);

    let mut c = assigned(&log, &[tp("c", 0)]).await;
    let got = drain(c.as_mut(), usize::MAX).await;
    let mut seen: BTreeMap<String, Vec<(i64, Option<String>)>> = BTreeMap::new();
    for r in &got {
        seen.entry(key_str(r).unwrap())
            .or_default()
            .push((r.offset, value_str(r)));
    }
    for (k, (offset, value)) in &expected {
        if k == "k3" {
            assert!(
                !seen.contains_key(k),
                "old tombstone dropped with all older values"
            );
            continue;
        }
        assert_eq!(
            seen.get(k),
            Some(&vec![(*offset, value.clone())]),
            "only the latest of {k}"
        );
    }
    // Offsets are kept, so there are gaps, and the end did not move.
    assert!(got.windows(2).all(|w| w[0].offset < w[1].offset));
    assert!(got.windows(2).any(|w| w[1].offset > w[0].offset + 1));
    assert_eq!(
        log.admin().describe_topic("c").await.unwrap().partitions[0].latest_offset,
        latest_before
    );
    // A second run finds nothing more to do; data survives reopen.
    assert_eq!(log.compact_now("c").await.unwrap().segments_rewritten, 0);
    drop(c);
    drop(p);
    drop(log);
    let log = open(dir.path());
    assert!(log.recovery_report().is_empty());
    let mut c = assigned(&log, &[tp("c", 0)]).await;
    assert_eq!(drain(c.as_mut(), usize::MAX).await, got);
}

#[tokio::test]
async fn compacted_topics_refuse_records_without_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.admin()
        .create_topic(NewTopic::new("cc", 1).config("cleanup.policy", "compact"))
        .await
        .unwrap();
    let p = log.producer(Default::default()).unwrap();
    match p.send(vec![rec("cc", None, Some("v"))]).await {
        Err(LogError::InvalidConfig { key, .. }) => assert_eq!(key, "cleanup.policy"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

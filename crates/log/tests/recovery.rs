//! Recovery of the embedded log: torn and corrupt tails, kill -9, and transactions cut
//! short by a crash.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use sluice_log::embedded::EmbeddedLog;
use sluice_log::{ConsumerConfig, IsolationLevel, Log, NewTopic};

/// Writes three batches of ten records to `r`-0 and closes the log; returns the segment.
async fn three_batches(dir: &std::path::Path) -> std::path::PathBuf {
    let log = open(dir);
    let p = log.producer(Default::default()).unwrap();
    for b in 0..3 {
        p.send(
            (0..10)
                .map(|i| rec_p("r", 0, None, Some(&format!("{b}-{i}"))))
                .collect(),
        )
        .await
        .unwrap();
    }
    log.close().await.unwrap();
    segment_path(dir, "r", 0, 0)
}

async fn values_after_reopen(log: &EmbeddedLog) -> Vec<String> {
    let mut c = assigned(log, &[tp("r", 0)]).await;
    drain(c.as_mut(), usize::MAX)
        .await
        .iter()
        .filter_map(value_str)
        .collect()
}

#[tokio::test]
async fn a_torn_last_batch_is_truncated_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let seg = three_batches(dir.path()).await;
    let sizes = batch_sizes(&seg);
    let full: usize = sizes.iter().sum();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len((full - 7) as u64)
        .unwrap();

    let log = open(dir.path());
    let report = log.recovery_report();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].topic, "r");
    assert_eq!(report[0].partition, 0);
    assert_eq!(report[0].segment, seg);
    assert_eq!(report[0].bytes_dropped, (sizes[2] - 7) as u64);
    assert_eq!(report[0].batches_dropped, 1);
    assert!(report[0].reason.contains("torn"), "{}", report[0].reason);
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        (sizes[0] + sizes[1]) as u64
    );
    let values = values_after_reopen(&log).await;
    assert_eq!(values.len(), 20);
    assert_eq!(values.last().map(String::as_str), Some("1-9"));
    let next = log
        .producer(Default::default())
        .unwrap()
        .send(vec![rec_p("r", 0, None, Some("after"))])
        .await
        .unwrap();
    assert_eq!(next[0].offset, 20);
}

#[tokio::test]
async fn flipped_bytes_in_the_last_batch_fail_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let seg = three_batches(dir.path()).await;
    let sizes = batch_sizes(&seg);
    let mut data = std::fs::read(&seg).unwrap();
    let inside_last = sizes[0] + sizes[1] + sizes[2] / 2;
    data[inside_last] ^= 0x5a;
    data[inside_last + 1] ^= 0xff;
    std::fs::write(&seg, &data).unwrap();

    let log = open(dir.path());
    let report = log.recovery_report();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].bytes_dropped, sizes[2] as u64);
    assert!(
        report[0].reason.contains("checksum"),
        "{}",
        report[0].reason
    );
    let values = values_after_reopen(&log).await;
    assert_eq!(values.len(), 20);
}

#[tokio::test]
async fn damage_in_a_middle_batch_keeps_the_batches_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let seg = three_batches(dir.path()).await;
    let sizes = batch_sizes(&seg);
    let mut data = std::fs::read(&seg).unwrap();
    data[sizes[0] + 60] ^= 0x01;
    std::fs::write(&seg, &data).unwrap();
    // Without the index a clean close writes, the open is that of a crashed process: the
    // whole last segment is verified.
    std::fs::remove_file(seg.with_extension("index")).unwrap();
    let log = open(dir.path());
    assert_eq!(log.recovery_report().len(), 1);
    assert_eq!(
        log.recovery_report()[0].bytes_dropped,
        (sizes[1] + sizes[2]) as u64
    );
    let values = values_after_reopen(&log).await;
    assert_eq!(
        values,
        (0..10).map(|i| format!("0-{i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_clean_reopen_reports_nothing_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    three_batches(dir.path()).await;
    let log = open(dir.path());
    assert!(log.recovery_report().is_empty());
    assert_eq!(values_after_reopen(&log).await.len(), 30);
}

/// Run by `kill_9_keeps_every_acknowledged_batch` in a child process: appends batches
/// forever, printing the last offset of each acknowledged one.
#[test]
#[ignore = "helper process of kill_9_keeps_every_acknowledged_batch"]
fn child_writer() {
    let Ok(dir) = std::env::var("SLUICE_LOG_CHILD_DIR") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let log = EmbeddedLog::open(std::path::Path::new(&dir), Default::default()).unwrap();
        let p = log.producer(Default::default()).unwrap();
        for b in 0u64.. {
            let meta = p
                .send(
                    (0..100)
                        .map(|i| rec_p("k", 0, None, Some(&format!("{b}-{i}"))))
                        .collect(),
                )
                .await
                .unwrap();
            println!("acked {}", meta[99].offset);
        }
    });
}

#[tokio::test]
async fn kill_9_keeps_every_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SLUICE_LOG_CHILD_DIR", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut last_acked = -1i64;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("acked ") {
            last_acked = n.parse().unwrap();
            if last_acked >= 30_000 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(last_acked >= 30_000, "the child stopped early");

    let log = open(dir.path());
    let d = log.admin().describe_topic("k").await.unwrap();
    assert!(d.partitions[0].latest_offset > last_acked);
    // Every record is there, in order, complete batches only.
    let mut c = assigned(&log, &[tp("k", 0)]).await;
    let records = drain(c.as_mut(), d.partitions[0].latest_offset as usize).await;
    assert_eq!(records.len() as i64, d.partitions[0].latest_offset);
    assert_eq!(records.len() % 100, 0);
    for (n, r) in records.iter().enumerate() {
        assert_eq!(r.offset, n as i64);
        assert_eq!(value_str(r).unwrap(), format!("{}-{}", n / 100, n % 100));
    }
}

#[tokio::test]
async fn a_transaction_without_commit_record_is_rolled_back_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.admin()
            .create_topic(NewTopic::new("tx", 1))
            .await
            .unwrap();
        let p = log
            .producer(sluice_log::ProducerConfig {
                transactional_id: Some("t1".into()),
                ..Default::default()
            })
            .unwrap();
        p.init_transactions().await.unwrap();
        p.begin_transaction().await.unwrap();
        let f = p.send(vec![rec_p("tx", 0, Some("a"), Some("committed"))]);
        p.commit_transaction().await.unwrap();
        assert_eq!(f.await.unwrap()[0].offset, 0);
        log.close().await.unwrap();
    }
    // Records 0 and the marker at 1 exist; add data of a transaction that never committed.
    let seg = segment_path(dir.path(), "tx", 0, 0);
    let ts = 1_700_000_000_000;
    append_bytes(
        &seg,
        &raw_batch(
            2,
            1,
            4242,
            ts,
            &[(Some("b"), Some("lost-1")), (Some("c"), Some("lost-2"))],
        ),
    );
    append_bytes(
        &seg,
        &raw_batch(4, 1, 4242, ts, &[(Some("d"), Some("lost-3"))]),
    );

    let log = open(dir.path());
    let report = log.recovery_report();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].batches_dropped, 2);
    assert!(report[0].reason.contains("4242"), "{}", report[0].reason);
    let d = log.admin().describe_topic("tx").await.unwrap();
    assert_eq!(d.partitions[0].latest_offset, 2);
    for isolation in [
        IsolationLevel::ReadCommitted,
        IsolationLevel::ReadUncommitted,
    ] {
        let mut c = log
            .consumer(ConsumerConfig {
                isolation_level: isolation,
                ..Default::default()
            })
            .unwrap();
        c.assign(&[tp("tx", 0)]).await.unwrap();
        let got = drain(c.as_mut(), 10).await;
        assert_eq!(
            got.iter().filter_map(value_str).collect::<Vec<_>>(),
            vec!["committed"]
        );
    }
}

#[tokio::test]
async fn a_committed_transaction_missing_its_markers_is_rolled_forward_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.admin()
            .create_topic(NewTopic::new("a", 1))
            .await
            .unwrap();
        log.admin()
            .create_topic(NewTopic::new("b", 1))
            .await
            .unwrap();
        log.close().await.unwrap();
    }
    // The crash hit after the commit record, before any marker was written.
    let ts = 1_700_000_000_000;
    append_bytes(
        &segment_path(dir.path(), "a", 0, 0),
        &raw_batch(0, 1, 9001, ts, &[(Some("k"), Some("a0"))]),
    );
    append_bytes(
        &segment_path(dir.path(), "b", 0, 0),
        &raw_batch(
            0,
            1,
            9001,
            ts,
            &[(Some("k"), Some("b0")), (Some("k"), Some("b1"))],
        ),
    );
    let payload = br#"{"txn":9001,"offsets":{"src":[["in",0,77]]}}"#;
    let mut rec = Vec::new();
    rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    rec.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    rec.extend_from_slice(payload);
    append_bytes(&dir.path().join("transactions.log"), &rec);

    let log = open(dir.path());
    let report = log.recovery_report();
    assert_eq!(report.len(), 2, "{report:?}");
    assert!(report.iter().all(|n| n.reason.contains("committed")));
    let mut c = log
        .consumer(ConsumerConfig {
            isolation_level: IsolationLevel::ReadCommitted,
            ..Default::default()
        })
        .unwrap();
    c.assign(&[tp("a", 0), tp("b", 0)]).await.unwrap();
    let mut got: Vec<String> = drain(c.as_mut(), 3)
        .await
        .iter()
        .filter_map(value_str)
        .collect();
    got.sort();
    assert_eq!(got, vec!["a0", "b0", "b1"]);
    let d = log.admin().describe_topic("b").await.unwrap();
    assert_eq!(
        d.partitions[0].latest_offset, 3,
        "two records and the marker"
    );
    assert_eq!(
        log.admin().group_offsets("src").await.unwrap(),
        vec![(tp("in", 0), 77)]
    );
    // Transaction ids keep increasing after recovery: a new commit is not mistaken for old.
    let p = log
        .producer(sluice_log::ProducerConfig {
            transactional_id: Some("after".into()),
            ..Default::default()
        })
        .unwrap();
    p.init_transactions().await.unwrap();
    p.begin_transaction().await.unwrap();
    p.send_offsets_to_transaction(&[(tp("in", 0), 78)], "src")
        .await
        .unwrap();
    p.commit_transaction().await.unwrap();
    assert_eq!(
        log.admin().group_offsets("src").await.unwrap(),
        vec![(tp("in", 0), 78)]
    );
}

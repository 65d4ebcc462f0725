//! Partitioning, admin, locking and consumer details of the embedded log beyond the
//! shared conformance scenarios (`tests/conformance.rs`).

mod common;

use std::time::Duration;

use common::*;
use sluice_log::embedded::{partition_for_key, EmbeddedLog};
use sluice_log::{
    ConsumerConfig, Log, LogError, NewTopic, NoopRebalanceListener, OffsetReset, SeekTo,
    TimestampType,
};

#[tokio::test]
async fn keyed_records_land_where_kafka_puts_them_and_keyless_batches_stick() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let admin = log.admin();
    admin.create_topic(NewTopic::new("p", 4)).await.unwrap();
    let producer = log.producer(Default::default()).unwrap();
    let keys: Vec<String> = (0..50).map(|i| format!("key-{i}")).collect();
    let meta = producer
        .send(keys.iter().map(|k| rec("p", Some(k), Some("v"))).collect())
        .await
        .unwrap();
    for (k, m) in keys.iter().zip(&meta) {
        assert_eq!(m.partition, partition_for_key(k.as_bytes(), 4));
    }
    let keyless = producer
        .send((0..10).map(|_| rec("p", None, Some("v"))).collect())
        .await
        .unwrap();
    assert!(keyless.iter().all(|m| m.partition == keyless[0].partition));
    let next = producer
        .send(vec![rec("p", None, Some("v"))])
        .await
        .unwrap();
    assert_ne!(
        next[0].partition, keyless[0].partition,
        "successive keyless sends rotate"
    );
    // Offsets are dense per partition.
    let desc = admin.describe_topic("p").await.unwrap();
    let total: i64 = desc.partitions.iter().map(|p| p.latest_offset).sum();
    assert_eq!(total, 61);
}

#[tokio::test]
async fn admin_creates_describes_lists_and_deletes_topics() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let admin = log.admin();
    admin
        .create_topic(
            NewTopic::new("cfg", 2)
                .config("cleanup.policy", "compact")
                .config("retention.ms", "1000"),
        )
        .await
        .unwrap();
    assert!(matches!(
        admin.create_topic(NewTopic::new("cfg", 1)).await,
        Err(LogError::TopicExists { .. })
    ));
    match admin
        .create_topic(NewTopic::new("bad", 1).config("cleanup.policy", "nope"))
        .await
    {
        Err(LogError::InvalidConfig { key, .. }) => assert_eq!(key, "cleanup.policy"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    match admin.create_topic(NewTopic::new("bad/name", 1)).await {
        Err(LogError::InvalidConfig { key, .. }) => assert_eq!(key, "name"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let d = admin.describe_topic("cfg").await.unwrap();
    assert_eq!(d.partitions.len(), 2);
    assert_eq!(
        d.configs.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    assert_eq!(
        (
            d.partitions[1].earliest_offset,
            d.partitions[1].latest_offset
        ),
        (0, 0)
    );
    admin.create_topic(NewTopic::new("other", 1)).await.unwrap();
    assert_eq!(admin.list_topics().await.unwrap(), vec!["cfg", "other"]);
    admin.delete_topic("cfg").await.unwrap();
    assert_eq!(admin.list_topics().await.unwrap(), vec!["other"]);
    assert!(matches!(
        admin.describe_topic("cfg").await,
        Err(LogError::UnknownTopic { .. })
    ));
    // Clients keep the log (and its lock) alive.
    drop(admin);
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.admin().list_topics().await.unwrap(), vec!["other"]);
}

#[tokio::test]
async fn auto_create_can_be_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with(dir.path(), |o| o.auto_create_topics = false);
    let producer = log.producer(Default::default()).unwrap();
    assert!(matches!(
        producer.send(vec![rec("missing", None, Some("v"))]).await,
        Err(LogError::UnknownTopic { .. })
    ));
    let log2dir = tempfile::tempdir().unwrap();
    let log2 = open_with(log2dir.path(), |o| o.default_partitions = 3);
    log2.producer(Default::default())
        .unwrap()
        .send(vec![rec("auto", None, Some("v"))])
        .await
        .unwrap();
    assert_eq!(
        log2.admin()
            .describe_topic("auto")
            .await
            .unwrap()
            .partitions
            .len(),
        3
    );
}

#[tokio::test]
async fn data_and_offsets_survive_reopen_and_lock_refuses_second_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        assert!(matches!(
            EmbeddedLog::open(dir.path(), Default::default()),
            Err(LogError::Locked { .. })
        ));
        let producer = log.producer(Default::default()).unwrap();
        producer
            .send(
                (0..100)
                    .map(|i| rec_p("d", 0, None, Some(&i.to_string())))
                    .collect(),
            )
            .await
            .unwrap();
        let mut c = log
            .consumer(ConsumerConfig {
                group_id: Some("g".into()),
                ..Default::default()
            })
            .unwrap();
        c.assign(&[tp("d", 0)]).await.unwrap();
        c.commit(&[(tp("d", 0), 42)]).await.unwrap();
        log.close().await.unwrap();
        assert!(matches!(
            producer.send(vec![rec("d", None, Some("x"))]).await,
            Err(LogError::Closed)
        ));
    }
    let log = open(dir.path());
    assert!(log.recovery_report().is_empty());
    let mut c = log
        .consumer(ConsumerConfig {
            group_id: Some("g".into()),
            ..Default::default()
        })
        .unwrap();
    c.assign(&[tp("d", 0)]).await.unwrap();
    assert_eq!(c.position(&tp("d", 0)), Some(42));
    let got = drain(c.as_mut(), 58).await;
    assert_eq!(got.len(), 58);
    assert_eq!(value_str(&got[0]).as_deref(), Some("42"));
    assert_eq!(c.committed(&[tp("d", 0)]).await.unwrap()[0].1, Some(42));
    assert_eq!(log.admin().list_groups().await.unwrap(), vec!["g"]);
}

#[tokio::test]
async fn seek_pause_resume_and_reset_policy() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let admin = log.admin();
    admin.create_topic(NewTopic::new("s", 2)).await.unwrap();
    let producer = log.producer(Default::default()).unwrap();
    producer
        .send(
            (0..10)
                .map(|i| rec_p("s", i % 2, None, Some(&i.to_string())))
                .collect(),
        )
        .await
        .unwrap();
    let mut latest = log
        .consumer(ConsumerConfig {
            auto_offset_reset: OffsetReset::Latest,
            ..Default::default()
        })
        .unwrap();
    latest.assign(&[tp("s", 0)]).await.unwrap();
    assert_eq!(latest.position(&tp("s", 0)), Some(5));

    let mut c = assigned(&log, &[tp("s", 0), tp("s", 1)]).await;
    c.pause(&[tp("s", 1)]);
    let got = drain(c.as_mut(), 5).await;
    assert!(got.iter().all(|r| r.partition == 0));
    assert_eq!(got.len(), 5);
    c.resume(&[tp("s", 1)]);
    let got = drain(c.as_mut(), 5).await;
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|r| r.partition == 1));
    c.seek(&tp("s", 0), SeekTo::Offset(3)).unwrap();
    let got = drain(c.as_mut(), 2).await;
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![3, 4]);
    c.seek(&tp("s", 0), SeekTo::Beginning).unwrap();
    assert_eq!(c.position(&tp("s", 0)), Some(0));
    c.seek(&tp("s", 0), SeekTo::End).unwrap();
    assert_eq!(c.position(&tp("s", 0)), Some(5));
    assert!(matches!(
        c.seek(&tp("x", 0), SeekTo::End),
        Err(LogError::NotAssigned { .. })
    ));
    // Beyond the end: reset per policy on the next poll.
    c.seek(&tp("s", 0), SeekTo::Offset(100)).unwrap();
    c.pause(&[tp("s", 1)]);
    let got = drain(c.as_mut(), 5).await;
    assert_eq!(got.len(), 5);
    assert_eq!(got[0].offset, 0);
}

#[tokio::test]
async fn max_poll_records_limits_each_poll_and_poll_waits_for_new_data() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let producer = log.producer(Default::default()).unwrap();
    producer
        .send(
            (0..25)
                .map(|i| rec_p("m", 0, None, Some(&i.to_string())))
                .collect(),
        )
        .await
        .unwrap();
    let mut c = log
        .consumer(ConsumerConfig {
            max_poll_records: 10,
            ..Default::default()
        })
        .unwrap();
    c.assign(&[tp("m", 0)]).await.unwrap();
    let sizes: Vec<usize> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(
                c.poll(Duration::from_millis(100), &mut NoopRebalanceListener)
                    .await
                    .unwrap()
                    .len(),
            );
        }
        v
    };
    assert_eq!(sizes, vec![10, 10, 5]);
    assert!(c
        .poll(Duration::from_millis(20), &mut NoopRebalanceListener)
        .await
        .unwrap()
        .is_empty());
    let p2 = producer.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        p2.send(vec![rec_p("m", 0, None, Some("late"))])
            .await
            .unwrap();
    });
    let got = c
        .poll(Duration::from_secs(30), &mut NoopRebalanceListener)
        .await
        .unwrap();
    writer.await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(value_str(&got[0]).as_deref(), Some("late"));
}

#[tokio::test]
async fn log_append_time_topics_stamp_records_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.admin()
        .create_topic(NewTopic::new("lat", 1).config("message.timestamp.type", "LogAppendTime"))
        .await
        .unwrap();
    let mut r = rec_p("lat", 0, None, Some("v"));
    r.timestamp = Some(5);
    let meta = log
        .producer(Default::default())
        .unwrap()
        .send(vec![r])
        .await
        .unwrap();
    assert!(meta[0].timestamp > 1_600_000_000_000);
    let mut c = assigned(&log, &[tp("lat", 0)]).await;
    let got = drain(c.as_mut(), 1).await;
    assert_eq!(got[0].timestamp_type, TimestampType::LogAppendTime);
    assert_eq!(got[0].timestamp, meta[0].timestamp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_producers_and_a_live_consumer_see_every_record_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with(dir.path(), |o| o.segment_bytes = 64 * 1024);
    log.admin()
        .create_topic(NewTopic::new("cc", 2))
        .await
        .unwrap();
    let mut consumer = assigned(&log, &[tp("cc", 0), tp("cc", 1)]).await;
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < 4 * 200 * 5 {
            let got = consumer
                .poll(Duration::from_secs(10), &mut NoopRebalanceListener)
                .await
                .unwrap();
            assert!(
                !got.is_empty(),
                "the consumer stalled at {} records",
                seen.len()
            );
            seen.extend(got);
        }
        seen
    });
    let mut writers = Vec::new();
    for w in 0..4 {
        let p = log.producer(Default::default()).unwrap();
        writers.push(tokio::spawn(async move {
            for i in 0..200 {
                let batch = (0..5)
                    .map(|j| rec_p("cc", (i + j) % 2, None, Some(&format!("{w}-{i}-{j}"))))
                    .collect();
                p.send(batch).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let seen = reader.await.unwrap();
    assert_eq!(seen.len(), 4000);
    for p in 0..2 {
        let offsets: Vec<i64> = seen
            .iter()
            .filter(|r| r.partition == p)
            .map(|r| r.offset)
            .collect();
        assert_eq!(offsets, (0..offsets.len() as i64).collect::<Vec<_>>());
    }
    let mut values: Vec<String> = seen.iter().filter_map(value_str).collect();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), 4000);
}

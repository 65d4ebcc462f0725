//! Transactions of the embedded log: commit, abort, fencing, offsets in the transaction.

mod common;

use common::*;
use sluice_log::{
    ConsumerConfig, IsolationLevel, Log, LogError, LogProducer, NewTopic, ProducerConfig,
};
use std::sync::Arc;

fn txn_producer(log: &sluice_log::embedded::EmbeddedLog, id: &str) -> Arc<dyn LogProducer> {
    log.producer(ProducerConfig {
        transactional_id: Some(id.into()),
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn commit_makes_records_and_offsets_visible_together() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.admin()
        .create_topic(NewTopic::new("out", 2))
        .await
        .unwrap();
    let p = txn_producer(&log, "tx-1");
    p.init_transactions().await.unwrap();
    p.begin_transaction().await.unwrap();
    let f1 = p.send(vec![
        rec_p("out", 0, Some("a"), Some("1")),
        rec_p("out", 1, Some("b"), Some("2")),
    ]);
    let f2 = p.send(vec![rec_p("out", 0, Some("c"), Some("3"))]);
    p.send_offsets_to_transaction(&[(tp("in", 0), 10)], "connect-x")
        .await
        .unwrap();

    let mut c = log
        .consumer(ConsumerConfig {
            isolation_level: IsolationLevel::ReadCommitted,
            ..Default::default()
        })
        .unwrap();
    c.assign(&[tp("out", 0), tp("out", 1)]).await.unwrap();
    let mut uncommitted = assigned(&log, &[tp("out", 0), tp("out", 1)]).await;
    assert!(
        drain(c.as_mut(), 1).await.is_empty(),
        "nothing before the commit"
    );
    assert!(
        drain(uncommitted.as_mut(), 1).await.is_empty(),
        "buffered until the commit"
    );
    assert!(log.admin().group_offsets("connect-x").await.is_err());

    p.commit_transaction().await.unwrap();
    let m1 = f1.await.unwrap();
    let m2 = f2.await.unwrap();
    assert_eq!((m1[0].partition, m1[0].offset), (0, 0));
    assert_eq!((m1[1].partition, m1[1].offset), (1, 0));
    assert_eq!((m2[0].partition, m2[0].offset), (0, 1));
    let got = drain(c.as_mut(), 3).await;
    let mut values: Vec<String> = got.iter().filter_map(value_str).collect();
    values.sort();
    assert_eq!(values, vec!["1", "2", "3"]);
    assert_eq!(
        log.admin().group_offsets("connect-x").await.unwrap(),
        vec![(tp("in", 0), 10)]
    );
    // Markers take an offset each, as in Kafka, and consumers step over them.
    let d = log.admin().describe_topic("out").await.unwrap();
    assert_eq!(d.partitions[0].latest_offset, 3);
    assert_eq!(c.position(&tp("out", 0)), Some(3));

    // A second transaction after the first.
    p.begin_transaction().await.unwrap();
    let f3 = p.send(vec![rec_p("out", 0, None, Some("4"))]);
    p.commit_transaction().await.unwrap();
    assert_eq!(f3.await.unwrap()[0].offset, 3);
    assert_eq!(drain(c.as_mut(), 1).await.len(), 1);
}

#[tokio::test]
async fn abort_discards_records_and_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let p = txn_producer(&log, "tx-2");
    p.init_transactions().await.unwrap();
    p.begin_transaction().await.unwrap();
    let f = p.send(vec![rec_p("ab", 0, None, Some("gone"))]);
    p.send_offsets_to_transaction(&[(tp("in", 0), 5)], "g")
        .await
        .unwrap();
    p.abort_transaction().await.unwrap();
    assert!(matches!(f.await, Err(LogError::Transaction(_))));
    assert!(log.admin().group_offsets("g").await.is_err());
    let mut c = assigned(&log, &[tp("ab", 0)]).await;
    assert!(drain(c.as_mut(), 1).await.is_empty());
    assert_eq!(
        log.admin().describe_topic("ab").await.unwrap().partitions[0].latest_offset,
        0
    );
}

#[tokio::test]
async fn a_newer_producer_fences_the_older_one_and_aborts_its_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let old = txn_producer(&log, "same");
    old.init_transactions().await.unwrap();
    old.begin_transaction().await.unwrap();
    let f = old.send(vec![rec_p("f", 0, None, Some("zombie"))]);
    let new = txn_producer(&log, "same");
    new.init_transactions().await.unwrap();
    assert!(matches!(
        old.commit_transaction().await,
        Err(LogError::Fenced { .. })
    ));
    assert!(matches!(f.await, Err(LogError::Fenced { .. })));
    assert!(matches!(
        old.begin_transaction().await,
        Err(LogError::Fenced { .. })
    ));
    assert!(matches!(
        old.send(vec![rec_p("f", 0, None, Some("x"))]).await,
        Err(LogError::Fenced { .. })
    ));
    new.begin_transaction().await.unwrap();
    let g = new.send(vec![rec_p("f", 0, None, Some("fresh"))]);
    new.commit_transaction().await.unwrap();
    assert_eq!(g.await.unwrap()[0].offset, 0);
    let mut c = assigned(&log, &[tp("f", 0)]).await;
    let got = drain(c.as_mut(), 1).await;
    assert_eq!(
        got.iter().filter_map(value_str).collect::<Vec<_>>(),
        vec!["fresh"]
    );
}

#[tokio::test]
async fn transaction_calls_in_the_wrong_state_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let plain = log.producer(Default::default()).unwrap();
    assert!(matches!(
        plain.begin_transaction().await,
        Err(LogError::Transaction(_))
    ));
    let p = txn_producer(&log, "s");
    assert!(
        matches!(p.begin_transaction().await, Err(LogError::Transaction(_))),
        "before init"
    );
    p.init_transactions().await.unwrap();
    assert!(matches!(
        p.send(vec![rec_p("w", 0, None, Some("x"))]).await,
        Err(LogError::Transaction(_))
    ));
    assert!(matches!(
        p.commit_transaction().await,
        Err(LogError::Transaction(_))
    ));
    p.begin_transaction().await.unwrap();
    assert!(matches!(
        p.begin_transaction().await,
        Err(LogError::Transaction(_))
    ));
    p.commit_transaction().await.unwrap();
}

#[tokio::test]
async fn committed_transactions_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        let p = txn_producer(&log, "durable");
        p.init_transactions().await.unwrap();
        for i in 0..3 {
            p.begin_transaction().await.unwrap();
            let sent = p.send(vec![rec_p("d", 0, Some("k"), Some(&i.to_string()))]);
            p.send_offsets_to_transaction(&[(tp("src", 0), i)], "grp")
                .await
                .unwrap();
            p.commit_transaction().await.unwrap();
            assert_eq!(sent.await.unwrap()[0].offset, 2 * i);
        }
    }
    let log = open(dir.path());
    assert!(
        log.recovery_report().is_empty(),
        "{:?}",
        log.recovery_report()
    );
    let mut c = assigned(&log, &[tp("d", 0)]).await;
    let got = drain(c.as_mut(), 3).await;
    assert_eq!(
        got.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![0, 2, 4]
    );
    assert_eq!(
        log.admin().group_offsets("grp").await.unwrap(),
        vec![(tp("src", 0), 2)]
    );
}

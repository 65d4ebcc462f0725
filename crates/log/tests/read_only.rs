//! A read-only opener next to the owning writer.

mod common;

use std::time::Duration;

use common::*;
use sluice_log::embedded::EmbeddedLog;
use sluice_log::{ConsumerConfig, Log, LogError, NewTopic, NoopRebalanceListener, Subscription};

#[tokio::test]
async fn read_only_opener_lists_describes_and_follows_new_appends() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open_with(dir.path(), |o| o.segment_bytes = 2048);
    let p = writer.producer(Default::default()).unwrap();
    p.send(
        (0..5)
            .map(|i| rec_p("live", 0, None, Some(&i.to_string())))
            .collect(),
    )
    .await
    .unwrap();

    let ro = EmbeddedLog::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.admin().list_topics().await.unwrap(), vec!["live"]);
    let mut c = assigned(&ro, &[tp("live", 0)]).await;
    assert_eq!(drain(c.as_mut(), 5).await.len(), 5);

    // New appends (enough to roll segments) show up on later polls.
    let big = "z".repeat(700);
    for _ in 0..10 {
        p.send(vec![rec_p("live", 0, None, Some(&big))])
            .await
            .unwrap();
    }
    let got = drain(c.as_mut(), 10).await;
    assert_eq!(got.len(), 10);
    assert_eq!(got.last().map(|r| r.offset), Some(14));

    // Topics created by the owner appear.
    writer
        .admin()
        .create_topic(NewTopic::new("later", 2))
        .await
        .unwrap();
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = ro.admin().list_topics().await.unwrap();
        if listed.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listed, vec!["later", "live"]);
    assert_eq!(
        ro.admin()
            .describe_topic("later")
            .await
            .unwrap()
            .partitions
            .len(),
        2
    );

    // Writes fail clearly.
    assert!(matches!(
        ro.producer(Default::default()),
        Err(LogError::ReadOnly { .. })
    ));
    assert!(matches!(
        ro.admin().create_topic(NewTopic::new("x", 1)).await,
        Err(LogError::ReadOnly { .. })
    ));
    let mut g = ro
        .consumer(ConsumerConfig {
            group_id: Some("g".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(matches!(
        g.subscribe(Subscription::Topics(vec!["live".into()])).await,
        Err(LogError::ReadOnly { .. })
    ));
    g.assign(&[tp("live", 0)]).await.unwrap();
    assert!(matches!(
        g.commit(&[(tp("live", 0), 1)]).await,
        Err(LogError::ReadOnly { .. })
    ));
    let _ = g
        .poll(Duration::from_millis(1), &mut NoopRebalanceListener)
        .await
        .unwrap();
}

#[tokio::test]
async fn read_only_open_of_a_missing_log_fails() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        EmbeddedLog::open_read_only(&dir.path().join("nothing")),
        Err(LogError::Io { .. })
    ));
}

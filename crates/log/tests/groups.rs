//! Consumer groups of the embedded log: partition split, rebalance callbacks, committed
//! offsets, pattern subscriptions and group administration.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use sluice_log::{
    ConsumedRecord, ConsumerConfig, Log, LogConsumer, LogError, NewTopic, RebalanceListener,
    Subscription, TopicPartition,
};

/// Records callbacks; on revoke returns the offsets set in `commit_on_revoke`.
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<String>>>,
    commit_on_revoke: Arc<Mutex<HashMap<TopicPartition, i64>>>,
}

impl Recorder {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

fn names(tps: &[TopicPartition]) -> String {
    let mut v: Vec<String> = tps.iter().map(|t| t.to_string()).collect();
    v.sort();
    v.join(",")
}

#[async_trait]
impl RebalanceListener for Recorder {
    async fn on_partitions_revoked(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Vec<(TopicPartition, i64)> {
        self.events
            .lock()
            .unwrap()
            .push(format!("revoked {}", names(partitions)));
        let commits = self.commit_on_revoke.lock().unwrap();
        partitions
            .iter()
            .filter_map(|tp| commits.get(tp).map(|o| (tp.clone(), *o)))
            .collect()
    }

    async fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        self.events
            .lock()
            .unwrap()
            .push(format!("assigned {}", names(partitions)));
    }
}

fn group_consumer(log: &sluice_log::embedded::EmbeddedLog, group: &str) -> Box<dyn LogConsumer> {
    log.consumer(ConsumerConfig {
        group_id: Some(group.into()),
        ..Default::default()
    })
    .unwrap()
}

async fn poll(c: &mut dyn LogConsumer, l: &mut Recorder) -> Vec<ConsumedRecord> {
    c.poll(Duration::from_millis(50), l).await.unwrap()
}

#[tokio::test]
async fn members_split_partitions_and_hand_them_over_with_callbacks_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.admin()
        .create_topic(NewTopic::new("t", 4))
        .await
        .unwrap();
    let producer = log.producer(Default::default()).unwrap();
    producer
        .send(
            (0..40)
                .map(|i| rec_p("t", i % 4, None, Some(&format!("{}-{}", i % 4, i / 4))))
                .collect(),
        )
        .await
        .unwrap();

    let mut c1 = group_consumer(&log, "g");
    let mut l1 = Recorder::default();
    c1.subscribe(Subscription::Topics(vec!["t".into()]))
        .await
        .unwrap();
    let got = poll(c1.as_mut(), &mut l1).await;
    assert_eq!(l1.take(), vec!["assigned t-0,t-1,t-2,t-3"]);
    assert_eq!(got.len(), 40);
    assert_eq!(c1.assignment().len(), 4);

    // A second member joins: it gets nothing until the first gives partitions up.
    let mut c2 = group_consumer(&log, "g");
    let mut l2 = Recorder::default();
    c2.subscribe(Subscription::Topics(vec!["t".into()]))
        .await
        .unwrap();
    assert!(poll(c2.as_mut(), &mut l2).await.is_empty());
    assert!(c2.assignment().is_empty());

    // The first member revokes the upper half, committing what its listener returns.
    l1.commit_on_revoke.lock().unwrap().insert(tp("t", 2), 5);
    l1.commit_on_revoke.lock().unwrap().insert(tp("t", 3), 10);
    assert!(poll(c1.as_mut(), &mut l1).await.is_empty());
    assert_eq!(l1.take(), vec!["revoked t-2,t-3"]);
    assert_eq!(c1.assignment(), vec![tp("t", 0), tp("t", 1)]);

    // The second member starts from the committed offsets.
    let got = poll(c2.as_mut(), &mut l2).await;
    assert_eq!(l2.take(), vec!["assigned t-2,t-3"]);
    assert_eq!(c2.assignment(), vec![tp("t", 2), tp("t", 3)]);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|r| r.partition == 2 && r.offset >= 5));
    assert_eq!(c2.position(&tp("t", 3)), Some(10));

    // Group offsets cannot be changed from outside while members are active.
    let admin = log.admin();
    assert!(matches!(
        admin.alter_group_offsets("g", &[(tp("t", 0), 1)]).await,
        Err(LogError::GroupNotEmpty { .. })
    ));
    assert!(matches!(
        admin.delete_group_offsets("g", &[tp("t", 2)]).await,
        Err(LogError::GroupNotEmpty { .. })
    ));
    assert!(matches!(
        admin.delete_group("g").await,
        Err(LogError::GroupNotEmpty { .. })
    ));

    // The first member leaves: its partitions go to the second one.
    l1.commit_on_revoke.lock().unwrap().insert(tp("t", 0), 10);
    l1.commit_on_revoke.lock().unwrap().insert(tp("t", 1), 7);
    c1.close(&mut l1).await.unwrap();
    assert_eq!(l1.take(), vec!["revoked t-0,t-1"]);
    let got = poll(c2.as_mut(), &mut l2).await;
    assert_eq!(l2.take(), vec!["assigned t-0,t-1"]);
    assert_eq!(got.len(), 3, "only t-1 from offset 7 has records left");
    assert_eq!(c2.assignment().len(), 4);

    let mut committed = admin.group_offsets("g").await.unwrap();
    committed.sort();
    assert_eq!(
        committed,
        vec![
            (tp("t", 0), 10),
            (tp("t", 1), 7),
            (tp("t", 2), 5),
            (tp("t", 3), 10)
        ]
    );

    // Dropping a member without close also frees the group.
    drop(c2);
    admin
        .alter_group_offsets("g", &[(tp("t", 0), 1)])
        .await
        .unwrap();
    admin
        .delete_group_offsets("g", &[tp("t", 3)])
        .await
        .unwrap();
    let mut committed = admin.group_offsets("g").await.unwrap();
    committed.sort();
    assert_eq!(
        committed,
        vec![(tp("t", 0), 1), (tp("t", 1), 7), (tp("t", 2), 5)]
    );
    admin.delete_group("g").await.unwrap();
    assert!(matches!(
        admin.group_offsets("g").await,
        Err(LogError::UnknownGroup { .. })
    ));
    assert!(admin.list_groups().await.unwrap().is_empty());
    admin.delete_group("never-existed").await.unwrap();
}

#[tokio::test]
async fn pattern_subscription_picks_up_new_topics() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let admin = log.admin();
    admin
        .create_topic(NewTopic::new("metrics-a", 1))
        .await
        .unwrap();
    admin.create_topic(NewTopic::new("other", 1)).await.unwrap();
    let mut c = group_consumer(&log, "pg");
    let mut l = Recorder::default();
    c.subscribe(Subscription::Pattern("metrics-.*".into()))
        .await
        .unwrap();
    poll(c.as_mut(), &mut l).await;
    assert_eq!(l.take(), vec!["assigned metrics-a-0"]);
    let producer = log.producer(Default::default()).unwrap();
    producer
        .send(vec![rec("metrics-b", None, Some("x"))])
        .await
        .unwrap();
    let got = poll(c.as_mut(), &mut l).await;
    assert_eq!(l.take(), vec!["assigned metrics-b-0"]);
    assert_eq!(got.len(), 1);
    assert_eq!(&*got[0].topic, "metrics-b");
    // Deleting a topic revokes its partitions.
    admin.delete_topic("metrics-a").await.unwrap();
    poll(c.as_mut(), &mut l).await;
    assert_eq!(l.take(), vec!["revoked metrics-a-0"]);
}

#[tokio::test]
async fn group_ids_are_required_for_groups_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut c = log.consumer(ConsumerConfig::default()).unwrap();
    match c.subscribe(Subscription::Topics(vec!["t".into()])).await {
        Err(LogError::InvalidConfig { key, .. }) => assert_eq!(key, "group.id"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    match c.commit(&[(tp("t", 0), 1)]).await {
        Err(LogError::InvalidConfig { key, .. }) => assert_eq!(key, "group.id"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let mut g = group_consumer(&log, "x");
    match g.subscribe(Subscription::Pattern("(".into())).await {
        Err(LogError::InvalidConfig { key, .. }) => assert_eq!(key, "topics.regex"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    assert!(matches!(
        g.assign(&[tp("missing", 0)]).await,
        Err(LogError::UnknownTopic { .. })
    ));
}

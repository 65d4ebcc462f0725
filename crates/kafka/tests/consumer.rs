//! Consumer behaviour specific to the Kafka backend: each record carries the topic it was
//! read from, whether the consumer follows one topic (records then share the known topic
//! name without asking librdkafka for each one) or several, and after the assignment moves
//! from one topic to another; and a subscribed topic created after the subscription.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_kafka::testing;
use sluice_log::{
    ConsumedRecord, ConsumerConfig, Log, LogConsumer, NewTopic, NoopRebalanceListener,
    ProduceRecord, ProducerConfig, Subscription, TopicPartition,
};

/// Writes `n` records whose values name their topic, to partition 0.
async fn fill(log: &dyn Log, topic: &str, n: usize) {
    log.admin()
        .create_topic(NewTopic::new(topic, 1))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let records = (0..n)
        .map(|i| ProduceRecord {
            topic: topic.into(),
            partition: Some(0),
            key: None,
            value: Some(Bytes::from(format!("{topic}/{i}"))),
            headers: Vec::new(),
            timestamp: None,
        })
        .collect();
    producer.send(records).await.unwrap();
}

/// Polls until `n` records arrived (or 60 s passed).
async fn read(consumer: &mut dyn LogConsumer, n: usize) -> Vec<ConsumedRecord> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        let batch = consumer
            .poll(Duration::from_millis(200), &mut NoopRebalanceListener)
            .await
            .unwrap();
        out.extend(batch);
    }
    out
}

/// Every record's topic is the one its value names.
fn assert_topics_match_values(records: &[ConsumedRecord]) {
    for r in records {
        let value = std::str::from_utf8(r.value.as_deref().unwrap()).unwrap();
        let (topic, _) = value.split_once('/').unwrap();
        assert_eq!(&*r.topic, topic, "record at offset {}", r.offset);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_carry_their_topic_with_one_topic_or_several() {
    let log = testing::connect().await;
    let a = testing::unique_topic("consumer-topic-a");
    let b = testing::unique_topic("consumer-topic-b");
    fill(log.as_ref(), &a, 5).await;
    fill(log.as_ref(), &b, 7).await;
    let config = ConsumerConfig {
        max_poll_records: 100,
        ..Default::default()
    };

    // Partitions of two topics: each record names its own.
    let mut both = log.consumer(config.clone()).unwrap();
    both.assign(&[
        TopicPartition::new(a.as_str(), 0),
        TopicPartition::new(b.as_str(), 0),
    ])
    .await
    .unwrap();
    let records = read(both.as_mut(), 12).await;
    assert_eq!(records.len(), 12);
    assert_topics_match_values(&records);
    assert_eq!(records.iter().filter(|r| *r.topic == *a).count(), 5);

    // One topic, then the other: records follow the assignment.
    let mut one = log.consumer(config.clone()).unwrap();
    one.assign(&[TopicPartition::new(a.as_str(), 0)])
        .await
        .unwrap();
    let records = read(one.as_mut(), 5).await;
    assert_eq!(records.len(), 5);
    assert_topics_match_values(&records);
    one.assign(&[TopicPartition::new(b.as_str(), 0)])
        .await
        .unwrap();
    let records = read(one.as_mut(), 7).await;
    assert_eq!(records.len(), 7);
    assert!(records.iter().all(|r| *r.topic == *b));
    assert_topics_match_values(&records);

    // Subscribed to one topic by name.
    let mut subscribed = log
        .consumer(ConsumerConfig {
            group_id: Some(testing::unique_topic("consumer-topic-group")),
            properties: [("session.timeout.ms".to_string(), "6000".to_string())].into(),
            ..config
        })
        .unwrap();
    subscribed
        .subscribe(Subscription::Topics(vec![b.clone()]))
        .await
        .unwrap();
    let records = read(subscribed.as_mut(), 7).await;
    assert_eq!(records.len(), 7);
    assert!(records.iter().all(|r| *r.topic == *b));
    assert_topics_match_values(&records);
    subscribed.close(&mut NoopRebalanceListener).await.unwrap();
}

/// The offsets of `records` on `partition` start at `start` and have no gap; returns the
/// offset after the last.
fn contiguous_from(records: &[ConsumedRecord], partition: &TopicPartition, start: i64) -> i64 {
    let offsets: Vec<i64> = records
        .iter()
        .filter(|r| *r.topic == *partition.topic && r.partition == partition.partition)
        .map(|r| r.offset)
        .collect();
    let expected: Vec<i64> = (start..start + offsets.len() as i64).collect();
    assert_eq!(offsets, expected, "records of {partition}");
    start + offsets.len() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_ahead_hands_out_each_record_once_around_pauses_seeks_and_assigns() {
    let log = testing::connect().await;
    let t = testing::unique_topic("read-ahead");
    let other = testing::unique_topic("read-ahead-other");
    fill(log.as_ref(), &t, 1000).await;
    fill(log.as_ref(), &other, 10).await;
    let p = TopicPartition::new(t.as_str(), 0);
    let o = TopicPartition::new(other.as_str(), 0);
    let mut c = log
        .consumer(ConsumerConfig {
            max_poll_records: 100,
            read_ahead: true,
            ..Default::default()
        })
        .unwrap();
    c.assign(std::slice::from_ref(&p)).await.unwrap();
    let next = contiguous_from(&read(c.as_mut(), 100).await, &p, 0);
    assert_eq!(
        c.position(&p),
        Some(next),
        "the position follows what was handed out"
    );
    // Each step below waits first, so the batch read ahead holds records of `p`.
    let ahead = || tokio::time::sleep(Duration::from_millis(500));

    ahead().await;
    c.pause(std::slice::from_ref(&p));
    for _ in 0..3 {
        let batch = c
            .poll(Duration::from_millis(200), &mut NoopRebalanceListener)
            .await
            .unwrap();
        assert!(
            batch.is_empty(),
            "a paused partition returned {} records",
            batch.len()
        );
    }
    assert_eq!(
        c.position(&p),
        Some(next),
        "records read ahead while paused are read again"
    );
    c.resume(std::slice::from_ref(&p));
    let next = contiguous_from(&read(c.as_mut(), 100).await, &p, next);

    ahead().await;
    c.seek(&p, sluice_log::SeekTo::Offset(10)).unwrap();
    assert_eq!(c.position(&p), Some(10));
    let next_after_seek = contiguous_from(&read(c.as_mut(), 50).await, &p, 10);
    assert!(next_after_seek < next + 1000);

    ahead().await;
    c.assign(&[p.clone(), o.clone()]).await.unwrap();
    let wanted = (1000 - next_after_seek) as usize + 10;
    let rest = read(c.as_mut(), wanted).await;
    assert_eq!(
        rest.len(),
        wanted,
        "every record once after the new assignment"
    );
    assert_eq!(contiguous_from(&rest, &p, next_after_seek), 1000);
    assert_eq!(contiguous_from(&rest, &o, 0), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_ahead_never_reports_a_position_past_what_was_handed_out() {
    // A sink task takes the position of a partition it was just assigned (and has no
    // record of yet) as the offset to commit for it; a position counting records still in
    // the batch read ahead would commit past records nobody put.
    let log = testing::connect().await;
    let t = testing::unique_topic("read-ahead-position");
    log.admin()
        .create_topic(NewTopic::new(&t, 2))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let records = (0..10)
        .map(|i| ProduceRecord {
            topic: t.as_str().into(),
            partition: Some(i % 2),
            key: None,
            value: Some(Bytes::from(format!("{t}/{i}"))),
            headers: Vec::new(),
            timestamp: None,
        })
        .collect();
    producer.send(records).await.unwrap();
    let mut c = log
        .consumer(ConsumerConfig {
            group_id: Some(testing::unique_topic("read-ahead-position-group")),
            max_poll_records: 1,
            read_ahead: true,
            properties: testing::GROUP_SETTINGS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        })
        .unwrap();
    c.subscribe(Subscription::Topics(vec![t.clone()]))
        .await
        .unwrap();
    let partitions = [
        TopicPartition::new(t.as_str(), 0),
        TopicPartition::new(t.as_str(), 1),
    ];
    let mut handed_out: [Option<i64>; 2] = [None, None];
    let mut received = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received < 10 && Instant::now() < deadline {
        let batch = c
            .poll(Duration::from_millis(200), &mut NoopRebalanceListener)
            .await
            .unwrap();
        for r in &batch {
            handed_out[r.partition as usize] = Some(r.offset + 1);
        }
        received += batch.len();
        // Give the next batch time to be read ahead: it holds the next record.
        tokio::time::sleep(Duration::from_millis(300)).await;
        for (tp, handed) in partitions.iter().zip(handed_out) {
            let position = c.position(tp);
            match handed {
                Some(next) => assert_eq!(position, Some(next), "position of {tp}"),
                None => assert!(
                    matches!(position, None | Some(0)),
                    "{tp} has handed out nothing, yet its position is {position:?}"
                ),
            }
        }
    }
    assert_eq!(received, 10);
    c.close(&mut NoopRebalanceListener).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_topic_created_later_is_read_without_waiting_for_the_metadata_refresh() {
    let log = testing::connect().await;
    let topic = testing::unique_topic("consumer-created-later");
    let mut consumer = log
        .consumer(ConsumerConfig {
            group_id: Some(testing::unique_topic("consumer-created-later-group")),
            properties: [("session.timeout.ms".to_string(), "6000".to_string())].into(),
            max_poll_records: 100,
            ..Default::default()
        })
        .unwrap();
    consumer
        .subscribe(Subscription::Topics(vec![topic.clone()]))
        .await
        .unwrap();
    // Long enough for the group's first join and librdkafka's report that the topic is
    // missing.
    let polling = Instant::now();
    while polling.elapsed() < Duration::from_secs(5) {
        let batch = consumer
            .poll(Duration::from_millis(200), &mut NoopRebalanceListener)
            .await
            .unwrap();
        assert!(batch.is_empty(), "records of a topic that does not exist");
    }
    fill(log.as_ref(), &topic, 3).await;
    let created = Instant::now();
    // librdkafka's own refresh comes after 5 minutes; `read` gives up after 60 s.
    let records = read(consumer.as_mut(), 3).await;
    assert_eq!(
        records.len(),
        3,
        "records read within {:?} of the topic's creation",
        created.elapsed()
    );
    assert_topics_match_values(&records);
    println!("read {:?} after the topic was created", created.elapsed());
    consumer.close(&mut NoopRebalanceListener).await.unwrap();
}

//! DatagenTask driven directly: batches, limits, offsets and resume, reproducibility,
//! schemas and pacing (on tokio's paused clock, so no test depends on the machine's speed).

mod common;

use common::{config, context, StoredOffsets};
use sluice_api::prelude::*;
use sluice_connector_datagen::{DatagenTask, Quickstart, ITERATION_FIELD, TASK_FIELD};

async fn started(pairs: &[(&str, &str)], task_id: u32, offsets: StoredOffsets) -> DatagenTask {
    let mut task = DatagenTask::new();
    task.start(&config(pairs), context(task_id, offsets))
        .await
        .unwrap();
    task
}

fn iteration(record: &SourceRecord) -> i64 {
    match record.source_offset.get(ITERATION_FIELD) {
        Some(Value::Int64(n)) => *n,
        other => panic!("bad offset {other:?}"),
    }
}

/// Key and value of each record.
fn contents(records: &[SourceRecord]) -> Vec<(Value, Value)> {
    records
        .iter()
        .map(|r| (r.record.key.clone(), r.record.value.clone()))
        .collect()
}

const FAST: [(&str, &str); 2] = [("kafka.topic", "orders"), ("max.interval", "0")];

#[tokio::test]
async fn unthrottled_batches_stop_at_the_iteration_count() {
    let mut pairs = FAST.to_vec();
    pairs.push(("iterations", "2500"));
    let mut task = started(&pairs, 0, StoredOffsets::default()).await;
    let mut sizes = Vec::new();
    let mut expected = 1;
    for _ in 0..3 {
        let records = task.poll().await.unwrap();
        sizes.push(records.len());
        for r in &records {
            assert_eq!(iteration(r), expected);
            assert_eq!(*r.source_partition, OffsetMap::new().with(TASK_FIELD, 0i64));
            assert_eq!(&*r.record.topic, "orders");
            assert_eq!(
                r.record.key_schema.as_deref(),
                Some(&Schema::new(SchemaType::String))
            );
            assert!(matches!(r.record.key, Value::String(_)));
            let schema = r.record.value_schema.as_ref().unwrap();
            schema.validate_value(&r.record.value).unwrap();
            // No timestamp of its own, as in Confluent's Datagen: the log stamps it.
            assert_eq!(r.record.timestamp, None);
            expected += 1;
        }
    }
    assert_eq!(sizes, [1000, 1000, 500]);
    assert!(task.poll().await.unwrap().is_empty());
    assert!(task.poll().await.unwrap().is_empty());
}

#[tokio::test]
async fn same_seed_same_records() {
    let mut pairs = FAST.to_vec();
    pairs.extend([("random.seed", "42"), ("quickstart", "users")]);
    let a = started(&pairs, 0, StoredOffsets::default())
        .await
        .poll()
        .await
        .unwrap();
    let b = started(&pairs, 0, StoredOffsets::default())
        .await
        .poll()
        .await
        .unwrap();
    assert_eq!(contents(&a), contents(&b));
    let other_task = started(&pairs, 1, StoredOffsets::default())
        .await
        .poll()
        .await
        .unwrap();
    assert_ne!(contents(&a), contents(&other_task));
    pairs[2] = ("random.seed", "43");
    let other_seed = started(&pairs, 0, StoredOffsets::default())
        .await
        .poll()
        .await
        .unwrap();
    assert_ne!(contents(&a), contents(&other_seed));
}

#[tokio::test]
async fn seeded_orders_follow_the_synthetic_clock() {
    let mut pairs = FAST.to_vec();
    pairs.push(("random.seed", "1"));
    let records = started(&pairs, 0, StoredOffsets::default())
        .await
        .poll()
        .await
        .unwrap();
    for (i, r) in records.iter().take(3).enumerate() {
        let Value::Struct(s) = &r.record.value else {
            panic!("not a struct")
        };
        assert_eq!(
            s.get("ordertime"),
            Some(&Value::Timestamp(1_704_067_200_000 + i as i64 * 1000))
        );
    }
}

#[tokio::test]
async fn resumes_at_the_committed_iteration() {
    let mut pairs = FAST.to_vec();
    pairs.extend([("random.seed", "7"), ("iterations", "1500")]);
    let mut fresh = started(&pairs, 0, StoredOffsets::default()).await;
    let mut first_run = fresh.poll().await.unwrap();
    first_run.extend(fresh.poll().await.unwrap());
    assert_eq!(first_run.len(), 1500);

    let stored = StoredOffsets(vec![(
        OffsetMap::new().with(TASK_FIELD, 0i64),
        OffsetMap::new().with(ITERATION_FIELD, 1000i64),
    )]);
    let mut resumed = started(&pairs, 0, stored).await;
    let rest = resumed.poll().await.unwrap();
    assert_eq!(rest.len(), 500);
    assert_eq!(iteration(&rest[0]), 1001);
    assert_eq!(contents(&rest), contents(&first_run[1000..]));
    assert!(resumed.poll().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_bad_stored_iteration_fails_the_start() {
    let stored = StoredOffsets(vec![(
        OffsetMap::new().with(TASK_FIELD, 0i64),
        OffsetMap::new().with(ITERATION_FIELD, "ten"),
    )]);
    let mut task = DatagenTask::new();
    let err = task
        .start(&config(&FAST), context(0, stored))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Offset iteration of datagen task 0 is not a non-negative integer"),
        "{err}"
    );
}

#[tokio::test]
async fn tasks_share_the_order_id_space() {
    let mut pairs = FAST.to_vec();
    pairs.push(("datagen.task.count", "3"));
    let records = started(&pairs, 2, StoredOffsets::default())
        .await
        .poll()
        .await
        .unwrap();
    assert_eq!(
        *records[0].source_partition,
        OffsetMap::new().with(TASK_FIELD, 2i64)
    );
    let keys: Vec<&str> = records
        .iter()
        .take(3)
        .map(|r| r.record.key.as_str().unwrap())
        .collect();
    assert_eq!(keys, ["2", "5", "8"]);
}

#[tokio::test]
async fn schemaless_values_are_maps() {
    let mut pairs = FAST.to_vec();
    pairs.extend([
        ("value.schema.enabled", "false"),
        ("quickstart", "pageviews"),
    ]);
    let records = started(&pairs, 0, StoredOffsets::default())
        .await
        .poll()
        .await
        .unwrap();
    for r in &records {
        assert_eq!(r.record.value_schema, None);
        let page = r.record.value.map_get("pageid").unwrap();
        assert_eq!(Some(page), Some(&r.record.key));
        assert!(matches!(
            r.record.value.map_get("viewtime"),
            Some(Value::Int64(_))
        ));
    }
}

#[tokio::test]
async fn every_quickstart_validates_against_its_schema() {
    for name in Quickstart::NAMES {
        let mut pairs = FAST.to_vec();
        pairs.push(("quickstart", name));
        let records = started(&pairs, 0, StoredOffsets::default())
            .await
            .poll()
            .await
            .unwrap();
        let expected = Quickstart::from_name(name).unwrap().value_schema().unwrap();
        for r in &records {
            let schema = r.record.value_schema.as_ref().unwrap();
            assert_eq!(**schema, *expected);
            schema.validate_value(&r.record.value).unwrap();
            let Value::Struct(s) = &r.record.value else {
                panic!("not a struct")
            };
            s.validate().unwrap();
        }
    }
}

/// On the paused clock every sleep completes at once, so the record count per poll follows
/// the schedule exactly: with `rate=10` one record is due every 100 ms, and a poll sleeps
/// until the next one is due.
#[tokio::test(start_paused = true)]
async fn rate_spaces_records_evenly() {
    let mut task = started(
        &[("kafka.topic", "t"), ("rate", "10")],
        0,
        StoredOffsets::default(),
    )
    .await;
    let start = tokio::time::Instant::now();
    for n in 1..=5 {
        let records = task.poll().await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(iteration(&records[0]), n);
    }
    assert_eq!(start.elapsed(), std::time::Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn max_interval_pauses_randomly_below_the_bound() {
    let mut task = started(
        &[
            ("kafka.topic", "t"),
            ("max.interval", "100"),
            ("random.seed", "3"),
        ],
        0,
        StoredOffsets::default(),
    )
    .await;
    let start = tokio::time::Instant::now();
    let mut generated = 0;
    while generated < 50 {
        generated += task.poll().await.unwrap().len();
    }
    // 50 pauses of at most 100 ms each.
    assert!(start.elapsed() <= std::time::Duration::from_millis(5000));
    assert!(start.elapsed() > std::time::Duration::ZERO);
}

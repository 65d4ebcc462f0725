//! Seeded output is stable across versions: the first record of each quickstart, with and
//! without value schemas, is pinned as text, and a digest covers the keys, values and
//! schemas of the first 3000 records of two tasks. A change here changes what users'
//! seeded runs produce.

mod common;

use common::{config, context, StoredOffsets};
use sluice_api::data::values::to_java_string;
use sluice_api::prelude::*;
use sluice_connector_datagen::DatagenTask;

/// The records of task `task_id` (of 2) from three polls.
async fn records(quickstart: &str, schemas: bool, task_id: u32) -> Vec<SourceRecord> {
    let pairs = [
        ("kafka.topic", "t"),
        ("max.interval", "0"),
        ("random.seed", "20240101"),
        ("quickstart", quickstart),
        (
            "value.schema.enabled",
            if schemas { "true" } else { "false" },
        ),
        ("datagen.task.count", "2"),
    ];
    let mut task = DatagenTask::new();
    task.start(&config(&pairs), context(task_id, StoredOffsets::default()))
        .await
        .unwrap();
    let mut out = Vec::new();
    for _ in 0..3 {
        out.extend(task.poll().await.unwrap());
    }
    out
}

/// FNV-1a over the text of every key, value and value schema, with separators.
fn digest(records: &[SourceRecord]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes.iter().chain(b"\n") {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for r in records {
        eat(to_java_string(&r.record.key).as_bytes());
        eat(to_java_string(&r.record.value).as_bytes());
        eat(format!("{:?}", r.record.value_schema).as_bytes());
    }
    h
}

#[tokio::test]
async fn seeded_records_never_change() {
    let cases = [
        (
            "orders",
            true,
            "0",
            "Struct{ordertime=Mon Jan 01 00:00:00 UTC 2024,orderid=0,itemid=Item_948,orderunits=7.16,address=Struct{city=City_10,state=State_91,zipcode=58998}}",
            [0xfe4f_16fb_a13e_c87f, 0x11dc_776d_8732_10d2],
        ),
        (
            "orders",
            false,
            "0",
            "{ordertime=1704067200000, orderid=0, itemid=Item_948, orderunits=7.16, address={city=City_10, state=State_91, zipcode=58998}}",
            [0x5d37_dbc6_d9b6_528b, 0x65d5_3703_63cd_daf6],
        ),
        (
            "users",
            true,
            "User_7",
            "Struct{registertime=Mon Aug 21 23:34:01 UTC 2023,userid=User_7,regionid=Region_9,gender=MALE,interests=[News, Games]}",
            [0x4a5d_b8d4_6a1c_f4d6, 0x12fe_f370_ef8f_21ff],
        ),
        (
            "users",
            false,
            "User_7",
            "{registertime=1692660841162, userid=User_7, regionid=Region_9, gender=MALE, interests=[News, Games]}",
            [0xc800_4cf2_9847_2bc6, 0xf715_57fc_0988_914a],
        ),
        (
            "pageviews",
            true,
            "Page_74",
            "Struct{viewtime=1704067200000,userid=User_9,pageid=Page_74}",
            [0x2043_1926_c86b_07b4, 0x8eed_979c_ee08_31ae],
        ),
        (
            "pageviews",
            false,
            "Page_74",
            "{viewtime=1704067200000, userid=User_9, pageid=Page_74}",
            [0xca56_7a21_ff8f_d82a, 0x43fa_6dbc_e6b3_6de8],
        ),
    ];
    for (quickstart, schemas, key, value, digests) in cases {
        let case = format!("{quickstart}, value.schema.enabled={schemas}");
        let task0 = records(quickstart, schemas, 0).await;
        let task1 = records(quickstart, schemas, 1).await;
        assert_eq!(task0.len(), 3000, "{case}");
        assert_eq!(to_java_string(&task0[0].record.key), key, "{case}");
        assert_eq!(to_java_string(&task0[0].record.value), value, "{case}");
        assert_eq!([digest(&task0), digest(&task1)], digests, "{case}");
    }
}

//! Datagen's per-record cost: polling batches of 1000 `orders` records, alone and followed by
//! the key and value conversion the runtime does next (StringConverter, JsonConverter with
//! and without schemas). Criterion reports the time per batch: microseconds per batch are
//! nanoseconds per record.
//!
//! Run: `cargo bench -p sluice-connector-datagen --bench datagen`

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use sluice_api::converter::Converter;
use sluice_api::prelude::*;
use sluice_connector_datagen::DatagenTask;
use sluice_convert::{JsonConverter, JsonConverterConfig, StringConverter};

struct NoOffsets;

impl OffsetStorageReader for NoOffsets {
    fn offset(&self, _partition: &OffsetMap) -> Option<OffsetMap> {
        None
    }
}

fn started(runtime: &tokio::runtime::Runtime, quickstart: &str) -> DatagenTask {
    let config: ConfigMap = [
        ("kafka.topic", "bench"),
        ("quickstart", quickstart),
        ("max.interval", "0"),
        ("random.seed", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let context = SourceTaskContext {
        connector: "bench".into(),
        task_id: 0,
        offsets: Arc::new(NoOffsets),
        transaction_context: None,
    };
    let mut task = DatagenTask::new();
    runtime
        .block_on(task.start(&config, context))
        .expect("datagen task starts");
    task
}

/// Converts the key and value of every record, as the runtime's source loop does.
fn convert(records: &[SourceRecord], key: &dyn Converter, value: &dyn Converter) -> usize {
    let mut bytes = 0;
    for r in records {
        let r = &r.record;
        let k = key
            .from_connect_data(&r.topic, r.key_schema.as_ref(), &r.key)
            .expect("key converts");
        let v = value
            .from_connect_data(&r.topic, r.value_schema.as_ref(), &r.value)
            .expect("value converts");
        bytes += k.map_or(0, |b| b.len()) + v.map_or(0, |b| b.len());
    }
    bytes
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let string = StringConverter::default();
    let json_schemaless = JsonConverter::new(JsonConverterConfig {
        schemas_enable: false,
        ..JsonConverterConfig::default()
    });
    let json = JsonConverter::new(JsonConverterConfig::default());
    let mut criterion = Criterion::default().configure_from_args();
    for quickstart in ["orders", "users", "pageviews"] {
        let mut task = started(&runtime, quickstart);
        criterion.bench_function(&format!("{quickstart}: poll 1000"), |b| {
            b.iter(|| black_box(runtime.block_on(task.poll()).expect("poll")))
        });
    }
    let mut task = started(&runtime, "orders");
    let converters: [(&str, &dyn Converter); 3] = [
        ("StringConverter", &string),
        ("JsonConverter schemas.enable=false", &json_schemaless),
        ("JsonConverter schemas.enable=true", &json),
    ];
    for (name, value) in converters {
        criterion.bench_function(&format!("orders: poll 1000 + {name}"), |b| {
            b.iter(|| {
                let records = runtime.block_on(task.poll()).expect("poll");
                black_box(convert(&records, &string, value))
            })
        });
    }
    criterion.final_summary();
}

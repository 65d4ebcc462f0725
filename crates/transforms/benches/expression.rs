//! Per-record cost of the Expression transform and predicate on a 10-field record, schemaless
//! and schema'd: a three-field computation, a route, a filter and a predicate. It allocates
//! with mimalloc, as the `sluice` binary does.
//!
//! Each case runs twice: `fast/...` as configured (these programs are in the subset the fast
//! evaluator runs in place) and `jaq/...` with the program wrapped as
//! `def jaq_only: .; jaq_only | (PROGRAM)`, which means the same but is outside the subset, so
//! jaq runs it (converting the record into jq values and back): the ratio is the fast path's
//! gain.

use criterion::{BatchSize, Criterion};
use sluice_api::config::ConfigMap;
use sluice_api::data::{Schema, SchemaBuilder, SchemaType, Struct, Value};
use sluice_api::record::ConnectRecord;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The ten fields: three numbers and seven strings.
fn fields() -> Vec<(&'static str, Value)> {
    let mut fields = vec![
        ("a", Value::Int64(3)),
        ("b", Value::Float64(2.5)),
        ("c", Value::Int64(7)),
    ];
    for (i, name) in ["f0", "f1", "f2", "f3", "f4", "f5", "f6"]
        .into_iter()
        .enumerate()
    {
        fields.push((name, Value::String(format!("text value {i}"))));
    }
    fields
}

fn schemaless() -> ConnectRecord {
    let value = Value::Map(
        fields()
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    );
    let mut record = ConnectRecord::new("orders", None, value);
    record.key = Value::from("key-1");
    record.kafka_partition = Some(0);
    record.timestamp = Some(1_700_000_000_000);
    record
}

fn schemad() -> ConnectRecord {
    let mut builder = SchemaBuilder::struct_().name("bench.Order");
    for (name, value) in fields() {
        let t = value.schema_type().unwrap_or(SchemaType::String);
        builder = builder.field(name, Schema::required(t)).unwrap();
    }
    let schema = builder.build();
    let values = fields().into_iter().map(|(_, v)| v).collect();
    let value = Struct::from_values(schema.clone(), values).unwrap();
    let mut record = ConnectRecord::new("orders", Some(schema), Value::Struct(value));
    record.key = Value::from("key-1");
    record
}

fn config(code: &str) -> ConfigMap {
    ConfigMap::from([("expression".to_owned(), code.to_owned())])
}

fn transform_class(class: &str) -> sluice_api::transform::TransformationPlugin {
    sluice_transforms::transformations()
        .into_iter()
        .find(|p| p.class_name == class)
        .unwrap()
}

/// The program wrapped so that it means the same but is left to jaq.
fn jaq_only(code: &str) -> String {
    format!("def jaq_only: .; jaq_only | ({code})")
}

fn bench(c: &mut Criterion) {
    let plugin = transform_class("io.sluice.connect.transforms.Expression");
    let compute = ".value.total = .value.a * .value.b + .value.c";
    let route = ".topic = \"orders-\" + .value.f0";
    let filter = ".value.a > 1";
    let header = ".headers.source = \"web\"";
    let cases = [
        ("compute/schemaless", compute, schemaless()),
        ("compute/schemad", compute, schemad()),
        ("route/schemaless", route, schemaless()),
        ("route/schemad", route, schemad()),
        ("filter/schemaless", filter, schemaless()),
        ("filter/schemad", filter, schemad()),
        ("header/schemaless", header, schemaless()),
        ("identity/schemaless", ".", schemaless()),
    ];
    let mut group = c.benchmark_group("expression");
    for (name, code, record) in cases {
        for (path, code) in [("fast", code.to_owned()), ("jaq", jaq_only(code))] {
            let t = (plugin.create)(&config(&code)).unwrap();
            group.bench_function(format!("{path}/{name}"), |b| {
                b.iter_batched(
                    || record.clone(),
                    |r| t.apply_owned(r).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    let predicate = sluice_transforms::predicates()
        .into_iter()
        .find(|p| p.class_name == "io.sluice.connect.transforms.predicates.Expression")
        .unwrap();
    let code = ".value.a > 1 and .topic == \"orders\"";
    for (name, record) in [("schemaless", schemaless()), ("schemad", schemad())] {
        for (path, code) in [("fast", code.to_owned()), ("jaq", jaq_only(code))] {
            let p = (predicate.create)(&config(&code)).unwrap();
            group.bench_function(format!("{path}/predicate/{name}"), |b| {
                b.iter(|| p.test(&record).unwrap())
            });
        }
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}

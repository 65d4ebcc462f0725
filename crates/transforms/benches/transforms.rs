//! Per-record cost of each single-message transform, and of a chain of five (ReplaceField,
//! MaskField, InsertField, Cast, RegexRouter), on a 10-field record, schemaless (a map) and
//! schema'd (a struct).
//!
//! Every case runs through [`TransformChain`] as the runtime runs it, on clones of the record
//! made before the clock starts (outputs are dropped after it stops), so the time is the
//! transformation's own, including freeing what it discards. The summary printed at the end
//! gives two figures per case: warm, on batches of 32 records (the inputs are in the CPU
//! caches, as a record the converter or the previous stage just built), and cold, on batches
//! of 1,000 (about 1.5 MB, mostly out of the caches); each is the median over its batches.
//! The baseline is cloning the same record, timed in the same rounds: the cheapest thing a
//! transformation that rebuilds a record could do. Two reference cases time cloning the record
//! and freeing it: freeing is what a transformation that drops the record pays (Filter), and
//! what every record costs anyway once the pipeline is done with it.
//!
//! Every case calls the chain through one function that is never inlined (`apply_chain`), so
//! callgrind can count the instructions of exactly that call:
//! `TRANSFORMS_BENCH_ROUNDS=1 TRANSFORMS_BENCH_ONLY='<case>' valgrind --tool=callgrind
//! --toggle-collect=transforms::apply_chain <bench binary> --bench none`.
//!
//! It allocates with mimalloc, as the `sluice` binary does: what a transformation allocates and
//! frees costs what it costs in a pipeline (the system allocator roughly doubles the cost of
//! the cases that free a whole record).
//!
//! Transforms are looked up by class name among the plugins this build has; a case whose
//! plugin is missing is skipped with a note, so the bench runs while SMTs are being added.
//!
//! Run: `cargo bench -p sluice-transforms --bench transforms`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use sluice_api::config::ConfigMap;
use sluice_api::data::{LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_api::record::ConnectRecord;
use sluice_transforms::{PluginList, PluginLookup, TransformChain, TransformError};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const T: &str = "org.apache.kafka.connect.transforms.";

fn row_schema() -> SchemaRef {
    let mut b = SchemaBuilder::struct_().name("bench.Customer");
    for (name, schema) in [
        ("id", Schema::required(SchemaType::Int64)),
        ("name", Schema::required(SchemaType::String)),
        ("email", Schema::required(SchemaType::String)),
        ("age", Schema::required(SchemaType::Int32)),
        ("score", Schema::required(SchemaType::Float64)),
        ("active", Schema::required(SchemaType::Boolean)),
        ("created", LogicalType::Timestamp.schema()),
        ("country", Schema::required(SchemaType::String)),
        ("ssn", Schema::required(SchemaType::String)),
        ("note", Schema::optional(SchemaType::String)),
    ] {
        b = b.field(name, schema).expect("distinct field names");
    }
    b.build()
}

/// The row's values in field order; `created` as a Timestamp when schema'd, else as int64.
fn row_values(schema_d: bool) -> Vec<(&'static str, Value)> {
    let created = 1_704_164_645_123;
    vec![
        ("id", Value::Int64(1_234_567)),
        ("name", Value::from("Ada Lovelace")),
        ("email", Value::from("ada@example.com")),
        ("age", Value::Int32(36)),
        ("score", Value::Float64(97.5)),
        ("active", Value::Boolean(true)),
        (
            "created",
            if schema_d {
                Value::Timestamp(created)
            } else {
                Value::Int64(created)
            },
        ),
        ("country", Value::from("GB")),
        ("ssn", Value::from("123-45-6789")),
        ("note", Value::Null),
    ]
}

fn row(schema: Option<&SchemaRef>) -> Value {
    match schema {
        Some(s) => {
            let mut st = Struct::new(s.clone()).expect("struct schema");
            for (name, v) in row_values(true) {
                st.put(name, v).expect("field exists");
            }
            Value::Struct(st)
        }
        None => Value::Map(
            row_values(false)
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        ),
    }
}

/// The benchmark record: a 10-field value, a string key, a timestamp and two headers.
fn record(schema_d: bool) -> ConnectRecord {
    let schema = schema_d.then(row_schema);
    let value = row(schema.as_ref());
    let mut r = ConnectRecord::new("customers", schema, value);
    r.key = Value::from("1234567");
    r.key_schema = schema_d.then(|| Schema::required(SchemaType::String));
    r.kafka_partition = Some(0);
    r.timestamp = Some(1_704_164_645_123);
    r.headers.add_string("trace", "abc123");
    r.headers.add_string("origin", "web");
    r
}

/// A Debezium change event (`before`, `after`, `source`, `op`, `ts_ms`) whose `after` is the row.
fn debezium_record(schema_d: bool) -> ConnectRecord {
    let source_fields = [
        ("connector", Value::from("postgresql")),
        ("db", Value::from("shop")),
        ("table", Value::from("customers")),
    ];
    let (schema, value) = if schema_d {
        let row_schema = SchemaBuilder::from_schema(&row_schema()).optional().build();
        let mut source_b = SchemaBuilder::struct_().name("io.debezium.connector.postgresql.Source");
        for (name, _) in &source_fields {
            source_b = source_b
                .field(*name, Schema::required(SchemaType::String))
                .expect("distinct");
        }
        let source_schema = source_b.build();
        let envelope = SchemaBuilder::struct_()
            .name("shop.customers.Envelope")
            .field("before", row_schema.clone())
            .and_then(|b| b.field("after", row_schema.clone()))
            .and_then(|b| b.field("source", source_schema.clone()))
            .and_then(|b| b.field("op", Schema::required(SchemaType::String)))
            .and_then(|b| b.field("ts_ms", Schema::optional(SchemaType::Int64)))
            .expect("distinct")
            .build();
        let mut source = Struct::new(source_schema).expect("struct");
        for (name, v) in source_fields {
            source.put(name, v).expect("field");
        }
        let mut after = Struct::new(row_schema).expect("struct");
        for (name, v) in row_values(true) {
            after.put(name, v).expect("field");
        }
        let mut e = Struct::new(envelope.clone()).expect("struct");
        e.put("after", Value::Struct(after)).expect("field");
        e.put("source", Value::Struct(source)).expect("field");
        e.put("op", Value::from("u")).expect("field");
        e.put("ts_ms", Value::Int64(1_704_164_645_200))
            .expect("field");
        (Some(envelope), Value::Struct(e))
    } else {
        let map = |pairs: Vec<(&'static str, Value)>| {
            Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Value::from(k), v))
                    .collect(),
            )
        };
        let value = map(vec![
            ("before", Value::Null),
            ("after", map(row_values(false))),
            ("source", map(source_fields.to_vec())),
            ("op", Value::from("u")),
            ("ts_ms", Value::Int64(1_704_164_645_200)),
        ]);
        (None, value)
    };
    let mut r = ConnectRecord::new("shop.customers", schema, value);
    r.timestamp = Some(1_704_164_645_123);
    r
}

/// One transform configuration to measure.
struct Spec {
    label: &'static str,
    /// Stages: (class, own keys).
    stages: Vec<(String, Vec<(&'static str, &'static str)>)>,
    schemaless: bool,
    schema_d: bool,
    debezium: bool,
}

fn one(
    label: &'static str,
    class: &str,
    keys: &[(&'static str, &'static str)],
    schemaless: bool,
    schema_d: bool,
) -> Spec {
    Spec {
        label,
        stages: vec![(class.to_string(), keys.to_vec())],
        schemaless,
        schema_d,
        debezium: false,
    }
}

fn specs() -> Vec<Spec> {
    let c = |s: &str| format!("{T}{s}");
    let mut specs = vec![
        // The floor: a record moved into the chain and out, as every case does.
        Spec {
            label: "no transformation (pass-through)",
            stages: vec![],
            schemaless: true,
            schema_d: true,
            debezium: false,
        },
        one(
            "Cast$Value age:int64",
            &c("Cast$Value"),
            &[("spec", "age:int64")],
            true,
            true,
        ),
        one(
            "DropHeaders trace",
            &c("DropHeaders"),
            &[("headers", "trace")],
            true,
            true,
        ),
        one(
            "ExtractField$Value name",
            &c("ExtractField$Value"),
            &[("field", "name")],
            true,
            true,
        ),
        one("Filter (drops)", &c("Filter"), &[], true, true),
        one("Flatten$Value", &c("Flatten$Value"), &[], true, true),
        one(
            "HeaderFrom$Value id copy",
            &c("HeaderFrom$Value"),
            &[("fields", "id"), ("headers", "id"), ("operation", "copy")],
            true,
            true,
        ),
        one(
            "HoistField$Value",
            &c("HoistField$Value"),
            &[("field", "row")],
            true,
            true,
        ),
        one(
            "InsertField$Value static",
            &c("InsertField$Value"),
            &[("static.field", "origin"), ("static.value", "bench")],
            true,
            true,
        ),
        one(
            "InsertHeader literal",
            &c("InsertHeader"),
            &[("header", "env"), ("value.literal", "prod")],
            true,
            true,
        ),
        one(
            "MaskField$Value ssn",
            &c("MaskField$Value"),
            &[("fields", "ssn")],
            true,
            true,
        ),
        one(
            "RegexRouter",
            &c("RegexRouter"),
            &[("regex", "(.*)"), ("replacement", "$1-out")],
            true,
            true,
        ),
        one(
            "ReplaceField$Value",
            &c("ReplaceField$Value"),
            &[("exclude", "note"), ("renames", "country:country_code")],
            true,
            true,
        ),
        one(
            "SetSchemaMetadata$Value",
            &c("SetSchemaMetadata$Value"),
            &[("schema.name", "bench.Renamed"), ("schema.version", "2")],
            false,
            true,
        ),
        one(
            "TimestampConverter$Value",
            &c("TimestampConverter$Value"),
            &[
                ("field", "created"),
                ("target.type", "string"),
                ("format", "yyyy-MM-dd'T'HH:mm:ss"),
            ],
            true,
            true,
        ),
        one("TimestampRouter", &c("TimestampRouter"), &[], true, true),
        one(
            "ValueToKey id,country",
            &c("ValueToKey"),
            &[("fields", "id,country")],
            true,
            true,
        ),
        one(
            "Filter if TopicNameMatches (no match)",
            &c("Filter"),
            &[("predicate", "isTest")],
            true,
            true,
        ),
    ];
    specs.push(Spec {
        label: "ExtractNewRecordState",
        stages: vec![(
            "io.debezium.transforms.ExtractNewRecordState".into(),
            vec![],
        )],
        schemaless: true,
        schema_d: true,
        debezium: true,
    });
    specs.push(Spec {
        label: "chain of five",
        stages: vec![
            (
                c("ReplaceField$Value"),
                vec![("exclude", "note"), ("renames", "country:country_code")],
            ),
            (c("MaskField$Value"), vec![("fields", "ssn")]),
            (
                c("InsertField$Value"),
                vec![("static.field", "origin"), ("static.value", "bench")],
            ),
            (c("Cast$Value"), vec![("spec", "age:int64")]),
            (
                c("RegexRouter"),
                vec![("regex", "(.*)"), ("replacement", "$1-out")],
            ),
        ],
        schemaless: true,
        schema_d: true,
        debezium: false,
    });
    specs
}

/// The connector config of a spec (stages `s0`, `s1`, ...; predicate `isTest` available).
fn config(spec: &Spec) -> ConfigMap {
    let mut config = ConfigMap::new();
    let aliases: Vec<String> = (0..spec.stages.len()).map(|i| format!("s{i}")).collect();
    config.insert("transforms".into(), aliases.join(","));
    for ((class, keys), alias) in spec.stages.iter().zip(&aliases) {
        config.insert(format!("transforms.{alias}.type"), class.clone());
        for (k, v) in keys {
            config.insert(format!("transforms.{alias}.{k}"), v.to_string());
        }
    }
    if keys_use_predicate(spec) {
        config.insert("predicates".into(), "isTest".into());
        config.insert(
            "predicates.isTest.type".into(),
            format!("{T}predicates.TopicNameMatches"),
        );
        config.insert("predicates.isTest.pattern".into(), "test-.*".into());
    }
    config
}

fn keys_use_predicate(spec: &Spec) -> bool {
    spec.stages
        .iter()
        .any(|(_, keys)| keys.iter().any(|(k, _)| *k == "predicate"))
}

/// One record through the chain, as the runtime calls it. Never inlined, so that callgrind
/// counts exactly this call: `--toggle-collect=transforms::apply_chain`.
#[inline(never)]
fn apply_chain(
    chain: &TransformChain,
    record: ConnectRecord,
) -> Result<Option<ConnectRecord>, TransformError> {
    chain.apply(record)
}

/// What a case times.
enum Work {
    /// The record through a chain.
    Chain(TransformChain),
    /// Cloning the record (a reference).
    Clone,
    /// Freeing the record (a reference: what a transformation that drops a record pays, and
    /// what any record costs when the pipeline is done with it).
    Free,
}

/// One runnable case: what it times and the record it works on.
struct Case {
    name: String,
    work: Work,
    record: ConnectRecord,
}

/// Records per timed batch, cold: the inputs (about 1.5 MB of heap) are cloned before the
/// clock starts and outputs dropped after it stops, so only the transformation is timed, on
/// records mostly out of the CPU caches (a connector's large poll batch).
const COLD_BATCH: usize = 1_000;
/// Records per timed batch, warm: the inputs fit in the CPU caches, as a record just built by
/// the converter or the previous stage does.
const WARM_BATCH: usize = 32;

impl Case {
    /// ns per record of the case's work over `n` records.
    fn time_batch(&self, n: usize) -> f64 {
        match &self.work {
            Work::Chain(chain) => {
                let inputs: Vec<ConnectRecord> = (0..n).map(|_| self.record.clone()).collect();
                let mut outputs = Vec::with_capacity(n);
                let start = Instant::now();
                for r in inputs {
                    outputs.push(apply_chain(chain, black_box(r)));
                }
                let elapsed = start.elapsed();
                black_box(&outputs);
                elapsed.as_secs_f64() * 1e9 / n as f64
            }
            Work::Clone => self.time_clone(n),
            Work::Free => {
                let inputs: Vec<ConnectRecord> = (0..n).map(|_| self.record.clone()).collect();
                let start = Instant::now();
                for r in inputs {
                    drop(black_box(r));
                }
                start.elapsed().as_secs_f64() * 1e9 / n as f64
            }
        }
    }

    /// ns per record of cloning the record `n` times (the baseline), the clones dropped
    /// untimed.
    fn time_clone(&self, n: usize) -> f64 {
        let mut outputs = Vec::with_capacity(n);
        let start = Instant::now();
        for _ in 0..n {
            outputs.push(black_box(&self.record).clone());
        }
        let elapsed = start.elapsed();
        black_box(&outputs);
        elapsed.as_secs_f64() * 1e9 / n as f64
    }
}

/// Builds every case this build can run; prints a note for each it cannot.
fn cases() -> Vec<Case> {
    let plugins = PluginList::builtin();
    let mut out = Vec::new();
    for (label, free) in [("clone", false), ("free", true)] {
        for schema_d in [false, true] {
            out.push(Case {
                name: format!(
                    "baseline: {label} ({})",
                    if schema_d { "schema'd" } else { "schemaless" }
                ),
                work: if free { Work::Free } else { Work::Clone },
                record: record(schema_d),
            });
        }
    }
    for spec in specs() {
        let missing: Vec<&str> = spec
            .stages
            .iter()
            .map(|(class, _)| class.as_str())
            .filter(|class| plugins.transformation(class).is_err())
            .collect();
        if !missing.is_empty() {
            println!(
                "skipped {}: not in this build: {}",
                spec.label,
                missing.join(", ")
            );
            continue;
        }
        for (schema_d, wanted) in [(false, spec.schemaless), (true, spec.schema_d)] {
            if !wanted {
                continue;
            }
            let name = format!(
                "{} ({})",
                spec.label,
                if schema_d { "schema'd" } else { "schemaless" }
            );
            let chain = match TransformChain::from_config(&config(&spec), &plugins) {
                Ok(chain) => chain,
                Err(errors) => {
                    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    println!("skipped {name}: config rejected: {}", texts.join("; "));
                    continue;
                }
            };
            let record = if spec.debezium {
                debezium_record(schema_d)
            } else {
                record(schema_d)
            };
            if let Err(e) = chain.apply(record.clone()) {
                println!("skipped {name}: fails on the bench record: {e}");
                continue;
            }
            out.push(Case {
                name,
                work: Work::Chain(chain),
                record,
            });
        }
    }
    out
}

fn bench(c: &mut Criterion, cases: &[Case]) {
    let mut group = c.benchmark_group("transforms");
    for case in cases {
        group.bench_function(&case.name, |b| match &case.work {
            Work::Chain(chain) => b.iter_batched(
                || case.record.clone(),
                |r| apply_chain(chain, r),
                BatchSize::SmallInput,
            ),
            Work::Clone => b.iter_with_large_drop(|| black_box(&case.record).clone()),
            Work::Free => b.iter_batched(|| case.record.clone(), drop, BatchSize::SmallInput),
        });
    }
    group.finish();
}

/// The median of some timings.
fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Times each case directly and prints ns/record, warm and cold, beside the baseline: a clone
/// of the same record, timed in the same rounds. Cases are timed in interleaved rounds, and
/// each figure is the median over its batches, so a batch that another process interrupted
/// (this machine is shared) does not count, and a burst of load affects all cases alike.
fn summary(cases: &[Case]) {
    // `TRANSFORMS_BENCH_ROUNDS=1` makes a short run, e.g. to count instructions under
    // callgrind.
    let rounds: usize = std::env::var("TRANSFORMS_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    const BATCHES: usize = 8;
    const WARM_REPEATS: usize = COLD_BATCH / WARM_BATCH;
    for case in cases {
        case.time_batch(COLD_BATCH);
        case.time_clone(COLD_BATCH);
    }
    let mut times = vec![(Vec::new(), Vec::new(), Vec::new()); cases.len()];
    for _ in 0..rounds {
        for (case, (warm, cold, clone)) in cases.iter().zip(times.iter_mut()) {
            for _ in 0..BATCHES {
                let w: f64 = (0..WARM_REPEATS)
                    .map(|_| case.time_batch(WARM_BATCH))
                    .sum::<f64>()
                    / WARM_REPEATS as f64;
                warm.push(w);
                cold.push(case.time_batch(COLD_BATCH));
                clone.push(case.time_clone(COLD_BATCH));
            }
        }
    }
    println!();
    println!(
        "ns/record, median of {} batches per case (warm: {WARM_BATCH} records a batch, \
         cold: {COLD_BATCH}); baseline: cloning the record (cold)",
        rounds * BATCHES
    );
    println!(
        "{:<52} {:>8} {:>8} {:>9} {:>8}",
        "case", "warm", "cold", "clone", "x clone"
    );
    for (case, (warm, cold, clone)) in cases.iter().zip(times) {
        let (warm, cold, clone) = (median(warm), median(cold), median(clone));
        println!(
            "{:<52} {warm:>8.0} {cold:>8.0} {clone:>9.0} {:>8.2}",
            case.name,
            cold / clone
        );
    }
}

fn main() {
    let mut cases = cases();
    // Profiling aid: `TRANSFORMS_BENCH_ONLY=<text>` keeps only the cases whose name contains
    // the text (baselines included), in the criterion part and in the summary alike.
    if let Ok(only) = std::env::var("TRANSFORMS_BENCH_ONLY") {
        cases.retain(|c| !matches!(c.work, Work::Chain(_)) || c.name.contains(&only));
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench(&mut criterion, &cases);
    criterion.final_summary();
    summary(&cases);
}

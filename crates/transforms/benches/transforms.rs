//! Per-record cost of each single-message transform, and of a chain of five (ReplaceField,
//! MaskField, InsertField, Cast, RegexRouter), on a 10-field record, schemaless (a map) and
//! schema'd (a struct).
//!
//! Every case runs through [`TransformChain::apply`] as the runtime calls it, on clones of the
//! record made before the clock starts. What is timed is the record's whole remaining life:
//! the chain, then freeing what comes out (the output record, or nothing when the record was
//! dropped), inside the clock for every case. So a transformation that drops or discards part
//! of a record is not charged for freeing memory that one which keeps the record hands on to
//! be freed later, untimed: each case pays for freeing the record exactly once.
//!
//! The floor is the same life with no transformation: the record moved into an empty chain and
//! out, then freed (one floor for the 10-field record, one for the Debezium change event). The
//! summary prints each case's gross time and its *net* time, gross minus its floor: what the
//! transformation adds to the cost of a record in a pipeline. Two figures each: warm, on
//! batches of 32 records (the inputs are in the CPU caches, as a record the converter or the
//! previous stage just built), and cold, on batches of 1,000 (about 1.5 MB, mostly out of the
//! caches); each is the median over its batches. A clone of the record, timed the same way, is
//! printed for scale.
//!
//! Every case calls the chain through one function that is never inlined (`apply_chain`:
//! apply, then free the output), so callgrind can count the instructions of exactly that:
//! `TRANSFORMS_BENCH_ROUNDS=1 TRANSFORMS_BENCH_ONLY='<case>' valgrind --tool=callgrind
//! --toggle-collect=transforms::apply_chain <bench binary> --bench none`.
//!
//! It allocates with mimalloc, as the `sluice` binary does: what a transformation allocates and
//! frees costs what it costs in a pipeline.
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

/// The label of the floor cases: no transformation.
const FLOOR: &str = "no transformation (floor)";

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
        // The floor: a record moved into the chain and out, then freed, as every case does.
        Spec {
            label: FLOOR,
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
        label: FLOOR,
        stages: vec![],
        schemaless: true,
        schema_d: true,
        debezium: true,
    });
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

/// One record through the chain, as the runtime calls it, then freed: the rest of the
/// record's life, the same for every case. Never inlined, so that callgrind counts exactly
/// this call: `--toggle-collect=transforms::apply_chain`.
#[inline(never)]
fn apply_chain(chain: &TransformChain, record: ConnectRecord) -> bool {
    let output: Result<Option<ConnectRecord>, TransformError> = chain.apply(record);
    let kept = matches!(output, Ok(Some(_)));
    drop(black_box(output));
    kept
}

/// What a case times.
enum Work {
    /// The record through a chain, then freed.
    Chain(TransformChain),
    /// Cloning the record (printed for scale).
    Clone,
}

/// One runnable case: what it times and the record it works on.
struct Case {
    name: String,
    work: Work,
    record: ConnectRecord,
    /// The floor case this one's net time is taken against: (Debezium record, schema'd).
    floor: (bool, bool),
    /// True for a floor case.
    is_floor: bool,
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
                let start = Instant::now();
                for r in inputs {
                    black_box(apply_chain(chain, black_box(r)));
                }
                start.elapsed().as_secs_f64() * 1e9 / n as f64
            }
            Work::Clone => {
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
    }
}

/// Builds every case this build can run; prints a note for each it cannot.
fn cases() -> Vec<Case> {
    let plugins = PluginList::builtin();
    let mut out = Vec::new();
    for schema_d in [false, true] {
        out.push(Case {
            name: format!(
                "baseline: clone ({})",
                if schema_d { "schema'd" } else { "schemaless" }
            ),
            work: Work::Clone,
            record: record(schema_d),
            floor: (false, schema_d),
            is_floor: false,
        });
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
                "{}{} ({})",
                spec.label,
                if spec.debezium && spec.label == FLOOR {
                    ", Debezium event"
                } else {
                    ""
                },
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
                floor: (spec.debezium, schema_d),
                is_floor: spec.label == FLOOR,
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
        });
    }
    group.finish();
}

/// The median of some timings.
fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Times each case directly and prints ns/record, warm and cold, gross and net of its floor.
/// Cases are timed in interleaved rounds, and each figure is the median over its batches, so
/// a batch that another process interrupted (this machine is shared) does not count, and a
/// burst of load affects all cases alike.
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
    }
    let mut times = vec![(Vec::new(), Vec::new()); cases.len()];
    for _ in 0..rounds {
        for (case, (warm, cold)) in cases.iter().zip(times.iter_mut()) {
            for _ in 0..BATCHES {
                let w: f64 = (0..WARM_REPEATS)
                    .map(|_| case.time_batch(WARM_BATCH))
                    .sum::<f64>()
                    / WARM_REPEATS as f64;
                warm.push(w);
                cold.push(case.time_batch(COLD_BATCH));
            }
        }
    }
    let medians: Vec<(f64, f64)> = times
        .into_iter()
        .map(|(warm, cold)| (median(warm), median(cold)))
        .collect();
    let floor_of = |case: &Case| {
        cases
            .iter()
            .zip(&medians)
            .find(|(c, _)| c.is_floor && c.floor == case.floor)
            .map(|(_, m)| *m)
    };
    println!();
    println!(
        "ns/record, median of {} batches per case (warm: {WARM_BATCH} records a batch, \
         cold: {COLD_BATCH}); gross: the chain and freeing its output; net: gross minus the \
         floor (no transformation) of the same record",
        rounds * BATCHES
    );
    println!(
        "{:<52} {:>8} {:>8} {:>9} {:>8}",
        "case", "warm", "cold", "net warm", "net cold"
    );
    for (case, (warm, cold)) in cases.iter().zip(&medians) {
        let net = match (floor_of(case), &case.work) {
            (Some((floor_warm, floor_cold)), Work::Chain(_)) if !case.is_floor => {
                format!("{:>9.0} {:>8.0}", warm - floor_warm, cold - floor_cold)
            }
            _ => String::new(),
        };
        println!("{:<52} {warm:>8.0} {cold:>8.0} {net}", case.name);
    }
}

fn main() {
    let mut cases = cases();
    // Profiling aid: `TRANSFORMS_BENCH_ONLY=<text>` keeps only the cases whose name contains
    // the text (baselines and floors included, unless `TRANSFORMS_BENCH_EXACT` is set: then
    // only the matching cases, for counting instructions), in the criterion part and in the
    // summary alike.
    if let Ok(only) = std::env::var("TRANSFORMS_BENCH_ONLY") {
        let exact = std::env::var_os("TRANSFORMS_BENCH_EXACT").is_some();
        cases.retain(|c| {
            c.name.contains(&only) || (!exact && (c.is_floor || matches!(c.work, Work::Clone)))
        });
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench(&mut criterion, &cases);
    criterion.final_summary();
    summary(&cases);
}

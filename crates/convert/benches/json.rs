//! JsonConverter per-record cost, against plain serde_json on an equivalent derived struct.
//!
//! Four JsonConverter cases (a 10-field struct with schemas enabled, the same data as a
//! schemaless map with schemas disabled, each serialized and deserialized) and the serde_json
//! baseline run under criterion; a summary table with ns/record and the ratio to the baseline
//! is printed at the end of the same run.
//!
//! Run: `cargo bench -p sluice-convert --bench json`

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::Criterion;
use serde::{Deserialize, Serialize};
use sluice_api::converter::Converter;
use sluice_api::data::{LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_convert::{JsonConverter, JsonConverterConfig};

const TOPIC: &str = "bench";

fn struct_schema() -> SchemaRef {
    let address = SchemaBuilder::struct_()
        .field("street", Schema::required(SchemaType::String))
        .unwrap()
        .field("zip", Schema::required(SchemaType::Int32))
        .unwrap()
        .build();
    SchemaBuilder::struct_()
        .name("bench.Order")
        .field("id", Schema::required(SchemaType::Int64))
        .unwrap()
        .field("customer", Schema::required(SchemaType::String))
        .unwrap()
        .field("amount", Schema::required(SchemaType::Float64))
        .unwrap()
        .field("paid", Schema::required(SchemaType::Boolean))
        .unwrap()
        .field("note", Schema::optional(SchemaType::String))
        .unwrap()
        .field("created", LogicalType::Timestamp.schema())
        .unwrap()
        .field("quantity", Schema::required(SchemaType::Int64))
        .unwrap()
        .field("category", Schema::required(SchemaType::String))
        .unwrap()
        .field(
            "tags",
            SchemaBuilder::array(Schema::required(SchemaType::String)).build(),
        )
        .unwrap()
        .field("address", address)
        .unwrap()
        .build()
}

fn struct_value(schema: &SchemaRef) -> Value {
    let address = Struct::new(schema.field("address").unwrap().schema.clone())
        .unwrap()
        .with("street", "12 Harbour Road")
        .unwrap()
        .with("zip", 90210)
        .unwrap();
    let mut s = Struct::new(schema.clone()).unwrap();
    s.put("id", Value::Int64(1_234_567_890)).unwrap();
    s.put("customer", Value::from("Ada Lovelace")).unwrap();
    s.put("amount", Value::Float64(1234.56)).unwrap();
    s.put("paid", Value::Boolean(true)).unwrap();
    s.put("note", Value::Null).unwrap();
    s.put("created", Value::Timestamp(1_704_164_645_123))
        .unwrap();
    s.put("quantity", Value::Int64(42)).unwrap();
    s.put("category", Value::from("books")).unwrap();
    s.put(
        "tags",
        Value::Array(vec![Value::from("new"), Value::from("gift")]),
    )
    .unwrap();
    s.put("address", Value::Struct(address)).unwrap();
    Value::Struct(s)
}

fn map_value() -> Value {
    let s = |v: &str| Value::from(v);
    Value::Map(vec![
        (s("id"), Value::Int64(1_234_567_890)),
        (s("customer"), s("Ada Lovelace")),
        (s("amount"), Value::Float64(1234.56)),
        (s("paid"), Value::Boolean(true)),
        (s("note"), Value::Null),
        (s("created"), Value::Int64(1_704_164_645_123)),
        (s("quantity"), Value::Int64(42)),
        (s("category"), s("books")),
        (s("tags"), Value::Array(vec![s("new"), s("gift")])),
        (
            s("address"),
            Value::Map(vec![
                (s("street"), s("12 Harbour Road")),
                (s("zip"), Value::Int64(90210)),
            ]),
        ),
    ])
}

#[derive(Serialize, Deserialize)]
struct Address {
    street: String,
    zip: i32,
}

#[derive(Serialize, Deserialize)]
struct Order {
    id: i64,
    customer: String,
    amount: f64,
    paid: bool,
    note: Option<String>,
    created: i64,
    quantity: i64,
    category: String,
    tags: Vec<String>,
    address: Address,
}

fn order() -> Order {
    Order {
        id: 1_234_567_890,
        customer: "Ada Lovelace".into(),
        amount: 1234.56,
        paid: true,
        note: None,
        created: 1_704_164_645_123,
        quantity: 42,
        category: "books".into(),
        tags: vec!["new".into(), "gift".into()],
        address: Address {
            street: "12 Harbour Road".into(),
            zip: 90210,
        },
    }
}

/// One benchmarked operation.
struct Case {
    name: &'static str,
    run: Box<dyn Fn()>,
}

fn cases() -> Vec<Case> {
    let with_schemas = JsonConverter::new(JsonConverterConfig::default());
    let schemaless = JsonConverter::new(JsonConverterConfig {
        schemas_enable: false,
        ..Default::default()
    });
    let schema = struct_schema();
    let value = struct_value(&schema);
    let struct_bytes = with_schemas
        .from_connect_data(TOPIC, Some(&schema), &value)
        .unwrap()
        .unwrap();
    let map = map_value();
    let map_bytes = schemaless
        .from_connect_data(TOPIC, None, &map)
        .unwrap()
        .unwrap();
    let baseline = order();
    let baseline_bytes = Bytes::from(serde_json::to_vec(&baseline).unwrap());
    let with_schemas = std::rc::Rc::new(with_schemas);
    let schemaless = std::rc::Rc::new(schemaless);

    let (c1, s1, v1) = (with_schemas.clone(), schema.clone(), value.clone());
    let c2 = with_schemas.clone();
    let (c3, m3) = (schemaless.clone(), map.clone());
    let c4 = schemaless.clone();
    vec![
        Case {
            name: "serde_json derive: serialize",
            run: Box::new(move || {
                black_box(serde_json::to_vec(black_box(&baseline)).unwrap());
            }),
        },
        Case {
            name: "serde_json derive: deserialize",
            run: {
                let b = baseline_bytes.clone();
                Box::new(move || {
                    black_box(serde_json::from_slice::<Order>(black_box(&b)).unwrap());
                })
            },
        },
        Case {
            name: "JsonConverter struct+schema: serialize",
            run: Box::new(move || {
                black_box(
                    c1.from_connect_data(TOPIC, Some(&s1), black_box(&v1))
                        .unwrap(),
                );
            }),
        },
        Case {
            name: "JsonConverter struct+schema: deserialize",
            run: Box::new(move || {
                black_box(
                    c2.to_connect_data(TOPIC, Some(black_box(struct_bytes.clone())))
                        .unwrap(),
                );
            }),
        },
        Case {
            name: "JsonConverter schemaless map: serialize",
            run: Box::new(move || {
                black_box(c3.from_connect_data(TOPIC, None, black_box(&m3)).unwrap());
            }),
        },
        Case {
            name: "JsonConverter schemaless map: deserialize",
            run: Box::new(move || {
                black_box(
                    c4.to_connect_data(TOPIC, Some(black_box(map_bytes.clone())))
                        .unwrap(),
                );
            }),
        },
    ]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("json");
    for case in cases() {
        group.bench_function(case.name, |b| b.iter(|| (case.run)()));
    }
    group.finish();
}

/// Times each case directly and prints ns/record with the ratio to the serde_json baseline of
/// the same direction. Cases are timed in interleaved rounds and the best round counts, so a
/// burst of load from other processes affects all cases alike.
fn summary() {
    const ROUNDS: usize = 7;
    const ITERATIONS: u32 = 50_000;
    let cases = cases();
    for case in &cases {
        for _ in 0..10_000 {
            (case.run)();
        }
    }
    let mut best = vec![f64::MAX; cases.len()];
    for _ in 0..ROUNDS {
        for (case, best) in cases.iter().zip(best.iter_mut()) {
            let start = Instant::now();
            for _ in 0..ITERATIONS {
                (case.run)();
            }
            let per = start.elapsed().as_secs_f64() * 1e9 / f64::from(ITERATIONS);
            *best = best.min(per);
        }
    }
    let (baseline_ser, baseline_de) = (best[0], best[1]);
    println!();
    println!(
        "{:<45} {:>10} {:>14}",
        "case (best of 7 interleaved rounds x 50k)", "ns/record", "x serde_json"
    );
    for (case, ns) in cases.iter().zip(&best) {
        let base = if case.name.ends_with("deserialize") {
            baseline_de
        } else {
            baseline_ser
        };
        println!("{:<45} {ns:>10.0} {:>14.2}", case.name, ns / base);
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    summary();
}

//! Differential tests: the fast evaluator against jaq, on many programs of the subset and
//! many records, schemaless and schema'd. Both must give the same record (schema included),
//! drop the same records, and fail on the same records with the same message.

use bytes::Bytes;
use sluice_api::data::{
    Decimal, Headers, LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_api::record::{ConnectRecord, TimestampType};

use super::*;

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (Value::from(*k), v.clone()))
            .collect(),
    )
}

fn text(s: &str) -> Value {
    Value::from(s)
}

/// A schemaless value with every kind of field.
fn rich_map() -> Value {
    map(&[
        ("price", Value::Int32(3)),
        ("qty", Value::Int64(4)),
        ("rate", Value::Float64(1.5)),
        ("region", text("eu")),
        ("name", text("Widget Pro")),
        ("f32", Value::Float32(0.1)),
        ("big", Value::Int64(i64::MAX)),
        ("neg", Value::Int64(-7)),
        ("zero", Value::Int64(0)),
        ("nothing", Value::Null),
        ("flag", Value::Boolean(true)),
        ("off", Value::Boolean(false)),
        ("dec", Value::Decimal(Decimal::new(1999, 2))),
        ("ts", Value::Timestamp(1_700_000_000_000)),
        ("date", Value::Date(19_000)),
        ("time", Value::Time(3_600_000)),
        ("raw", Value::Bytes(Bytes::from_static(b"hi"))),
        ("bad", Value::Bytes(Bytes::from_static(b"a\xffb\xe2\x82"))),
        ("num_text", text("42")),
        ("float_text", text("2.5")),
        ("amount", Value::Float64(150.25)),
        ("tags", Value::Array(vec![text("a"), text("b")])),
        (
            "nums",
            Value::Array(vec![Value::Int32(5), Value::Int32(-2)]),
        ),
        (
            "inner",
            map(&[
                ("n", Value::Int16(1)),
                ("s", text("x")),
                ("deep", map(&[("z", Value::Int8(2))])),
            ]),
        ),
        ("ikeys", Value::Map(vec![(Value::Int32(1), text("one"))])),
    ])
}

fn inner_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("shop.Inner")
        .optional()
        .field("n", Schema::required(SchemaType::Int32))
        .unwrap()
        .field("s", Schema::optional(SchemaType::String))
        .unwrap()
        .build()
}

fn rich_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("shop.Order")
        .version(3)
        .field("price", Schema::required(SchemaType::Int32))
        .unwrap()
        .field("qty", Schema::required(SchemaType::Int64))
        .unwrap()
        .field("rate", Schema::required(SchemaType::Float64))
        .unwrap()
        .field("region", Schema::required(SchemaType::String))
        .unwrap()
        .field("name", Schema::optional(SchemaType::String))
        .unwrap()
        .field("f32", Schema::required(SchemaType::Float32))
        .unwrap()
        .field("small", Schema::required(SchemaType::Int8))
        .unwrap()
        .field("mid", Schema::required(SchemaType::Int16))
        .unwrap()
        .field("nothing", Schema::optional(SchemaType::String))
        .unwrap()
        .field("flag", Schema::required(SchemaType::Boolean))
        .unwrap()
        .field("dec", LogicalType::decimal(2))
        .unwrap()
        .field("ts", LogicalType::Timestamp.schema())
        .unwrap()
        .field("date", LogicalType::Date.schema())
        .unwrap()
        .field("time", LogicalType::Time.schema())
        .unwrap()
        .field("raw", Schema::required(SchemaType::Bytes))
        .unwrap()
        .field("amount", Schema::required(SchemaType::Float64))
        .unwrap()
        .field(
            "tags",
            SchemaBuilder::array(Schema::required(SchemaType::String)).build(),
        )
        .unwrap()
        .field(
            "attrs",
            SchemaBuilder::map(
                Schema::required(SchemaType::String),
                Schema::required(SchemaType::Int64),
            )
            .build(),
        )
        .unwrap()
        .field("inner", inner_schema())
        .unwrap()
        .field("gone", inner_schema())
        .unwrap()
        .build()
}

fn rich_struct() -> Value {
    let inner = Struct::from_values(inner_schema(), vec![Value::Int32(1), text("x")]).unwrap();
    Value::Struct(
        Struct::from_values(
            rich_schema(),
            vec![
                Value::Int32(3),
                Value::Int64(4),
                Value::Float64(1.5),
                text("eu"),
                text("Widget Pro"),
                Value::Float32(0.1),
                Value::Int8(-5),
                Value::Int16(300),
                Value::Null,
                Value::Boolean(true),
                Value::Decimal(Decimal::new(1999, 2)),
                Value::Timestamp(1_700_000_000_000),
                Value::Date(19_000),
                Value::Time(3_600_000),
                Value::Bytes(Bytes::from_static(b"hi")),
                Value::Float64(150.25),
                Value::Array(vec![text("a"), text("b")]),
                Value::Map(vec![(text("k"), Value::Int64(1))]),
                Value::Struct(inner),
                Value::Null,
            ],
        )
        .unwrap(),
    )
}

fn base(value_schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
    let mut record = ConnectRecord::new("orders", value_schema, value);
    record.key = text("k1");
    record.kafka_partition = Some(2);
    record.timestamp = Some(1_000);
    record.timestamp_type = TimestampType::CreateTime;
    record.headers.add_string("trace", "t1");
    record
}

/// The records every program runs on.
fn records() -> Vec<(&'static str, ConnectRecord)> {
    let mut out = vec![
        ("schemaless", base(None, rich_map())),
        ("schemad", base(Some(rich_schema()), rich_struct())),
        ("tombstone", base(None, Value::Null)),
        ("string value", base(None, text("plain"))),
        (
            "array value",
            base(None, Value::Array(vec![Value::Int64(1), text("two")])),
        ),
        (
            "schemad int",
            base(Some(Schema::required(SchemaType::Int32)), Value::Int32(7)),
        ),
        (
            "schemad optional null",
            base(Some(Schema::optional(SchemaType::String)), Value::Null),
        ),
        (
            "schemad required null",
            base(Some(Schema::required(SchemaType::Int64)), Value::Null),
        ),
        (
            "schemad decimal",
            base(
                Some(LogicalType::decimal(2)),
                Value::Decimal(Decimal::new(-12345, 2)),
            ),
        ),
    ];
    let mut r = base(None, rich_map());
    r.key = map(&[("id", Value::Int32(9)), ("kind", text("a"))]);
    r.headers = Headers::new();
    out.push(("map key, no headers", r));

    let mut r = base(None, rich_map());
    r.key = Value::Null;
    r.kafka_partition = None;
    r.timestamp = None;
    r.timestamp_type = TimestampType::NoTimestamp;
    r.kafka_offset = Some(42);
    r.headers.add_string("trace", "t2");
    r.headers.add("n", None, Value::Int32(7));
    r.headers.add(
        "list",
        None,
        Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
    );
    r.headers.add("trace", None, text("t3"));
    out.push(("null key, duplicate headers", r));

    let key_schema = SchemaBuilder::struct_()
        .name("shop.Key")
        .field("id", Schema::required(SchemaType::Int64))
        .unwrap()
        .build();
    let mut r = base(Some(rich_schema()), rich_struct());
    r.key = Value::Struct(Struct::from_values(key_schema.clone(), vec![Value::Int64(9)]).unwrap());
    r.key_schema = Some(key_schema);
    r.headers.add(
        "count",
        Some(Schema::required(SchemaType::Int32)),
        Value::Int32(5),
    );
    out.push(("schemad key and header", r));

    let inner = Struct::from_values(inner_schema(), vec![Value::Int32(1), Value::Null]).unwrap();
    out.push((
        "struct inside schemaless",
        base(
            None,
            map(&[("s", Value::Struct(inner)), ("a", Value::Int64(1))]),
        ),
    ));
    out.push((
        "schemad unfilled struct",
        base(
            Some(inner_schema()),
            Value::Struct(Struct::new(inner_schema()).unwrap()),
        ),
    ));
    let defaulted = SchemaBuilder::struct_()
        .field(
            "n",
            SchemaBuilder::new(SchemaType::Int32)
                .default_value(Value::Int32(1))
                .unwrap()
                .build(),
        )
        .unwrap()
        .field("m", Schema::optional(SchemaType::Int32))
        .unwrap()
        .build();
    out.push((
        "schemad null in a defaulted field",
        base(
            Some(defaulted.clone()),
            Value::Struct(Struct::new(defaulted).unwrap()),
        ),
    ));
    out.push((
        "float keys",
        base(
            None,
            Value::Map(vec![
                (Value::Float32(1.5), Value::Int32(1)),
                (text("a"), Value::Int32(2)),
            ]),
        ),
    ));
    out
}

/// Programs of the subset.
const PROGRAMS: &[&str] = &[
    // computing fields
    ".value.total = .value.price * .value.qty",
    ".value.total = .value.price * .value.qty + .value.rate",
    ".value.total = .value.a * .value.b + .value.c",
    ".value.price = .value.price / 2",
    ".value.price = .value.price * 2",
    ".value.price = .value.price % 2",
    ".value.price = .value.price % 0",
    ".value.price = .value.price / 0",
    ".value.qty = -.value.qty",
    ".value.big = .value.big + 1",
    ".value.big = .value.big * .value.big",
    ".value.neg = .value.neg - 9223372036854775807 - 10",
    ".value.x = 1.5 | .value.y = 1e3 | .value.z = -0.25",
    ".value.x = 12345678901234567890123",
    ".value.dec = .value.dec * 1.1",
    ".value.dec = .value.dec + 1",
    ".value.dec = 2",
    ".value.ts = .value.ts + 60000",
    ".value.time = .value.time + 86400000",
    ".value.date = .value.date + 1",
    ".value.f32 = .value.f32 * 3",
    ".value.small = .value.small * 100",
    ".value.mid = .value.mid + 1",
    ".value.amount = .value.amount | .value.amount2 = .value.amount",
    ".value.price += 1",
    ".value.price -= 1.5",
    ".value.qty *= 3",
    ".value.qty /= 2",
    ".value.qty %= 3",
    ".value.nothing //= \"filled\"",
    ".value.region //= \"filled\"",
    ".value.name |= ascii_downcase",
    ".value.name |= ascii_upcase",
    ".value.name |= length",
    ".value.price |= . + 1",
    ".value.price |= tostring",
    ".value.num_text |= tonumber",
    ".value.float_text |= tonumber",
    ".value.region |= tonumber",
    ".value.inner.n += 1",
    ".value.inner.deep.z = 9",
    ".value.inner.s = null",
    ".value.inner.new = 1",
    ".value.missing.x = 1",
    ".value.nothing.x = 1",
    ".value.region.x = 1",
    ".value.inner = {n: 5}",
    ".value.inner = {n: 5, s: \"y\"}",
    ".value.inner = {s: \"y\", n: 5}",
    ".value.tags[0] = \"z\"",
    ".value.tags[5] = \"z\"",
    ".value.tags += [\"c\"]",
    ".value.tags = [.value.region, .value.name]",
    ".value.nums = [.value.price, .value.qty]",
    ".value.attrs.k += 1",
    ".value.attrs.new = 5",
    ".value.attrs.k = \"text\"",
    ".value.gone.n = 1",
    ".value.ikeys.x = 1",
    ".value = .value",
    ".value = null",
    ".value = 5",
    ".value = {a: 1}",
    ".value |= . + {extra: true}",
    ".value.x = 1",
    ".value.price = null",
    ".value.price = \"three\"",
    ".value.region = 5",
    ".value.flag = (.value.flag | not)",
    ".value.copy = .value.inner",
    ".value.copy = .value.tags",
    ".value.raw2 = .value.raw",
    ".value.raw = (.value.raw | tostring)",
    ".value.name = .value.name + \"!\"",
    ".value.name = .value.name * 2",
    ".value.name = .value.name * 0",
    ".value.name = .value.name - \"x\"",
    ".value.name = .value.name / \" \"",
    ".value.label = \"\\(.value.region)-\\(.value.price)-\\(.value.rate)-\\(.value.nothing)\"",
    ".value.label = \"\\(.value.tags) \\(.value.inner.deep) \\(.value.raw) \\(.value.dec)\"",
    ".value.obj = {region: .value.region, n: 1, region: 2}",
    ".value.obj = {topic, partition}",
    ".value.obj = {(.value.region): .value.price}",
    ".value.e = (.value.missing // \"default\")",
    ".value.e = (.value.off // .value.flag)",
    ".value.size = if .value.qty > 3 then \"big\" elif .value.qty > 1 then \"mid\" else \"small\" end",
    ".value.c = (.value.price < .value.qty)",
    ".value.c = (.value.nothing < 0)",
    ".value.c = (.value.region < 0)",
    ".value.c = (.value.tags < .value.inner)",
    ".value.c = (.value.price == 3.0)",
    ".value.c = (.value.dec == 19.99)",
    ".value.c = (.value.raw == \"hi\")",
    ".value.c = (.value.flag and .value.price > 1)",
    ".value.c = (.value.off or .value.nothing)",
    ".value.c = (.value.off and error(\"never\"))",
    ".value.c = (.value.flag or error(\"never\"))",
    ".value.len = [(.value.name | length), (.value.tags | length), (.value.nothing | length), (.value.raw | length), (.value.neg | length), (.value.inner | length)]",
    ".value.len = (.value.flag | length)",
    ".value.len = (.value.bad | tostring | length)",
    ".value.t = (.value.bad | tostring | ascii_upcase)",
    ".value.t = (.value.bad | tostring)",
    ".value.t = (.value.raw | tostring | ascii_downcase)",
    ".value.t = (.value.raw | ascii_downcase)",
    ".value.t = (.value.dec | length)",
    ".value.t = (.value.x | length)",
    ".value.t = (.value.tags | tojson | length)",
    ".value.t = (.value.big * 10 | length)",
    ".value.t = (.value.name | startswith(\"Wid\"))",
    ".value.t = (.value.name | ltrimstr(\"Wid\"))",
    ".value.t = (.value.name | test(\"pro\"; \"i\"))",
    ".value.t = (.value.name | split(\" \"))",
    ".value.t = (.value.tags | join(\"-\"))",
    ".value.t = (.value.inner | keys)",
    ".value.t = (.value.inner | has(\"n\"))",
    ".value.t = (.value.rate | floor)",
    ".value.t = (.value | type)",
    ".value.t = (.value.raw | @base64)",
    ".value.t = (.value.region | tojson)",
    ".value.t = (.value.price | ascii_downcase)",
    ".value.t = (.value.name | not)",
    ".value.t = (.value.name | .x)",
    ".value.t = (.value.nums | .[0] + .[-1] + .[7])",
    ".value.t = .value.tags[1]",
    ".value.t = .value.tags[-1]",
    ".value.t = .value.inner[\"deep\"].z",
    ".value.t = .value.ikeys",
    ".value.t = .value.name[0]",
    ".value.t = .value.raw[0]",
    ".value.t = .value[0]",
    "del(.value.price)",
    "del(.value.price, .value.region)",
    "del(.value.price) | .value.price = 1",
    "del(.value.region) | .value.again = .value.region",
    "del(.value.missing)",
    "del(.value.inner.deep)",
    "del(.value.missing.x)",
    "del(.value.tags[0])",
    "del(.value)",
    "del(.key)",
    "del(.topic)",
    "del(.headers)",
    "del(.headers.trace)",
    "del(.timestamp)",
    "del(.partition)",
    // routing
    ".topic = \"orders-\" + .value.region",
    ".topic = .value.region",
    ".topic = 5",
    ".topic = .topic + \"-x\"",
    ".topic |= ascii_upcase",
    ".partition = 1",
    ".partition = .value.qty",
    ".partition = 5000000000",
    ".partition = \"p\"",
    ".partition = null",
    ".timestamp = .value.ts",
    ".timestamp += 5",
    ".timestamp = null",
    ".timestamp = 1.5",
    ".offset = 7",
    ".offset = 7 | .value.o = .offset",
    ".vaule = 1",
    ".vaule.x = 1",
    ".key = .value.region",
    ".key = .key",
    ".key |= .",
    ".key = null",
    ".key.id = 10",
    ".key.id += 1",
    ".key.extra = \"e\"",
    ".key = {id: 9, kind: \"a\"}",
    ".key = \"k1\"",
    // headers
    ".headers.source = \"web\"",
    ".headers.source = \"web\" | del(.headers.trace)",
    ".headers.n += 1",
    ".headers.trace = \"t3\"",
    ".headers.trace = .headers.trace",
    ".headers.list = .headers.list",
    ".headers.list |= .",
    ".headers.list += [3]",
    ".headers.count += 1",
    ".headers.count = \"five\"",
    ".headers = .headers",
    ".headers = null",
    ".headers = {a: 1}",
    ".headers = {list: .headers.list, trace: .headers.trace}",
    ".headers = 3",
    ".headers.x.y = 1",
    ".headers[\"x-y\"] = .value.region",
    ".value.h = .headers.trace",
    ".value.h = .headers.missing",
    ".value.h = .headers",
    // filtering
    ".value.amount > 100",
    ".value.amount > 1000",
    ".value.region == \"eu\"",
    ".value.region != \"eu\"",
    ".value != null",
    ".value == null",
    ".key == \"k1\" and .partition == 2",
    ".value.qty",
    ".value.missing",
    ".value.region",
    ".value.tags",
    ".value",
    "true",
    "false",
    "null",
    "empty",
    ".",
    "select(.value.qty > 3)",
    "select(.value.qty > 30)",
    "select(.value.region == \"eu\") | .topic = \"eu\"",
    ".value.x = 1 | select(.value.x == 1)",
    ".value.x = 1 | true",
    ".value.x = 1 | .value.x + 1",
    "if .value.qty > 3 then .topic = \"big\" else . end",
    "if .value.qty > 30 then .topic = \"big\" elif .value.qty > 2 then .topic = \"mid\" end",
    "if .value.missing then empty else .value.seen = true end",
    "if .value.region == \"eu\" then . else empty end",
    "if .value.region then true else false end",
    ".value.region | ascii_upcase == \"EU\"",
    "(.value.name | length) > 3",
    ".value.x = 1 | .value.y = .value.x + 1 | .value.z = .value.y * .value.x",
    ".value.amount = (.value.amount | floor) | .value.amount > 100",
    "error(\"rejected: \\(.value.region)\")",
    "error(null)",
    "error({a: 1})",
    ".value.t = -.value.region",
    ".value.t = (.value.region + 1)",
    ".value.t = (null + 1)",
    ".value.t = (null - 1)",
    ".value.t = ({} + {a: 1})",
    ".value.t = ([1] - [1, 2])",
    ".value.t = (.value.inner * {deep: {y: 1}})",
];

/// Programs outside the subset (jaq runs them).
const FALLBACK_PROGRAMS: &[&str] = &[
    ".value.tags[]",
    ".value | map(. + 1)",
    ".value.x = (.value.a, .value.b)",
    ".value.a as $a | .value.b = $a",
    "def f: 1; .value.x = f",
    "reduce .value.tags[] as $t (0; . + 1)",
    ".value.a?",
    "try .value.a catch 0",
    ".value.tags[1:]",
    "@base64 \"\\(.value.name)\"",
    "$__loc__",
    ".value.x = ., .value.y = 1",
    "..",
    "tostring",
    "length",
    ".value.x = input",
    ".[0] = 1",
    "if .value.x then 1 end",
    "{topic: \"t\", value: .value.price}",
    "def jaq_only: .; jaq_only | (.value.total = .value.a * .value.b + .value.c)",
    ".value.e = (.value.nothing // empty)",
    ".value.t = (.value.region | error)",
    ".value.x = (.value | to_entries | from_entries | map_values(. + 1))",
];

/// Outcome of a transform on one record: the record, or the error text.
fn outcome(
    t: &dyn Transformation,
    record: &ConnectRecord,
) -> std::result::Result<Option<ConnectRecord>, String> {
    t.apply_owned(record.clone()).map_err(|e| {
        assert!(e.is_data(), "not a data error: {e}");
        e.to_string()
    })
}

fn transforms(code: &str) -> (ExpressionTransform, ExpressionTransform) {
    let fast = Subset::compile(code);
    let program = || Program::compile(code).unwrap();
    (
        ExpressionTransform {
            program: program(),
            fast,
            shapes: Shapes::new(),
        },
        ExpressionTransform {
            program: program(),
            fast: None,
            shapes: Shapes::new(),
        },
    )
}

#[test]
fn the_subset_compiles_and_other_programs_fall_back() {
    for code in PROGRAMS {
        assert!(Program::compile(code).is_ok(), "jaq rejects {code}");
        assert!(Subset::compile(code).is_some(), "not in the subset: {code}");
    }
    for code in FALLBACK_PROGRAMS {
        assert!(Subset::compile(code).is_none(), "in the subset: {code}");
    }
}

#[test]
fn fast_transform_gives_what_jaq_gives() {
    let records = records();
    let mut fast_runs = 0;
    let mut differences = Vec::new();
    for code in PROGRAMS.iter().chain(FALLBACK_PROGRAMS) {
        let Ok(_) = Program::compile(code) else {
            continue;
        };
        let (fast, jaq) = transforms(code);
        for (name, record) in &records {
            let expected = outcome(&jaq, record);
            let actual = outcome(&fast, record);
            if actual != expected {
                differences.push(format!(
                    "program {code} on the {name} record:\n  fast: {actual:?}\n  jaq:  {expected:?}"
                ));
            }
            if let Some(subset) = &fast.fast {
                if !matches!(subset.apply(&fast.shapes, record.clone()), Applied::Bail(_)) {
                    fast_runs += 1;
                }
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert!(
        fast_runs > PROGRAMS.len() * records.len() * 3 / 4,
        "the fast path ran only {fast_runs} times"
    );
}

#[test]
fn fast_predicate_gives_what_jaq_gives() {
    let records = records();
    for code in PROGRAMS.iter().chain(FALLBACK_PROGRAMS) {
        let Ok(program) = Program::compile(code) else {
            continue;
        };
        let fast = ExpressionPredicate {
            program,
            fast: Subset::compile(code),
        };
        let jaq = ExpressionPredicate {
            program: Program::compile(code).unwrap(),
            fast: None,
        };
        for (name, record) in &records {
            let expected = jaq.test(record).map_err(|e| e.to_string());
            let actual = fast.test(record).map_err(|e| e.to_string());
            assert_eq!(actual, expected, "predicate {code} on the {name} record");
        }
    }
}

#[test]
fn values_jq_cannot_give_back_unchanged_are_left_to_jaq() {
    let records = records();
    for (name, record) in records {
        let subset = Subset::compile(".topic = \"other\"").unwrap();
        let bailed = matches!(
            subset.apply(&Shapes::new(), record.clone()),
            Applied::Bail(_)
        );
        let expected = matches!(
            name,
            "struct inside schemaless"
                | "float keys"
                | "schemad required null"
                | "schemad unfilled struct"
                | "schemad null in a defaulted field"
        );
        assert_eq!(bailed, expected, "{name}");
    }
}

#[test]
fn library_calls_without_a_single_value_are_left_to_jaq() {
    let subset = Subset::compile(".value.n = (.value.s | tonumber)").unwrap();
    for (text, bails) in [("12", false), ("1 2", true), ("", true)] {
        let record = base(None, map(&[("s", Value::from(text))]));
        let applied = subset.apply(&Shapes::new(), record.clone());
        assert_eq!(matches!(applied, Applied::Bail(_)), bails, "{text:?}");
        let (fast, jaq) = transforms(".value.n = (.value.s | tonumber)");
        assert_eq!(outcome(&fast, &record), outcome(&jaq, &record), "{text:?}");
    }
}

//! `Expression`: a transform and a predicate programmed in jq, for what Kafka's SMTs cannot
//! do without Java: compute a field from others, route on a field's value, filter on content,
//! set or remove headers.
//!
//! ```properties
//! transforms=total,route,big
//! transforms.total.type=Expression
//! transforms.total.expression=.value.total = .value.price * .value.qty
//! transforms.route.type=Expression
//! transforms.route.expression=.topic = "orders-" + .value.region
//! transforms.big.type=Expression
//! transforms.big.expression=.value.total > 100
//! ```
//!
//! The program (jq, run by the jaq interpreter) gets the record as
//! `{"topic", "partition", "key", "value", "timestamp", "headers", "offset"}` and its first
//! result decides:
//! - an object is the new record (see [`record`] for the members; a member left out is null);
//! - `true` keeps the record unchanged;
//! - `false`, `null` or no result at all (`empty`, a failed `select`) drops the record;
//! - anything else is a data error.
//!
//! So `.value.total = .value.a * .value.b` computes a field, `.topic = .value.region` routes,
//! `select(.value.amount > 100)` or just `.value.amount > 100` filters, and
//! `.headers.source = "web" | del(.headers.trace)` edits headers. Values convert as
//! [`convert`] describes; a schema'd struct stays a struct, with its schema rebuilt (once per
//! shape) when fields are added, removed or change type.
//!
//! The predicate (`predicates.<alias>.type=Expression`) runs a program on the same view and
//! holds when its first result is neither `false` nor `null` (no result: it does not hold).
//!
//! The program is compiled once, when the transform is created; a compile error is a config
//! error on `expression` naming the line and column. A failure while running (say,
//! `"a" * {}`) is a data error for that record, subject to `errors.tolerance`. The library
//! leaves out everything that reaches outside the record (`env`, `$ENV`, `halt`, `debug`,
//! `stderr`, `input`, local time zones); a program can still loop forever (`repeat`,
//! recursion), which blocks its task, so programs are trusted configuration, like the
//! connector class itself. jaq's `del` moves an object's last member into the deleted one's
//! place, so deleting reorders the remaining members.
//!
//! # The fast path
//!
//! Most programs are a few path assignments, a route or a filter. A program written in the
//! subset [`subset`] defines — a pipe of `PATH = E`, `PATH |= F`, `PATH += E` (and the other
//! update operators), `del(PATH, ...)`, `select(E)`, `empty` and `if ... then ... end`
//! stages, optionally ending in an expression; paths of names, quoted names and integer
//! indexes; expressions of literals, paths, arithmetic, comparisons, `and`/`or`/`not`,
//! `//`, `if`, string interpolation, arrays, objects, `error(E)` and the common string and
//! number functions — is also compiled for a small evaluator ([`eval`]) that works on the
//! record in place. It converts only the values the program reads, and converts back only
//! what the program changed; untouched fields, the key and the headers stay as they are. It
//! computes with jaq's own operators, functions and path updates, and converts back with
//! the very functions the jaq path uses, so it gives exactly the record, the drop or the
//! error message jaq gives. Everything else runs under jaq, and so does a record the
//! evaluator cannot decide alone (a library call that gives no value or several; a value
//! that jq would not give back unchanged, such as a schemaless value holding a struct or a
//! struct with a null in a required field). The fast path is an optimisation: users see no difference but speed. The differential
//! tests (`differential.rs`) run 234 programs of the subset and 23 outside it on 16 records
//! (schemaless and schema'd; nulls, missing fields, every number type, decimals, temporal
//! types, bytes, arrays, maps, nested structs, duplicate and schema'd headers) through both
//! paths, as transform and as predicate, and require identical results.
//!
//! Measured with `benches/expression.rs` on a 10-field record (mimalloc, 2 shared cores,
//! time per record; instructions per record counted with callgrind), the fast path against
//! the same program forced through jaq (wrapped as `def jaq_only: .; jaq_only | (PROGRAM)`,
//! which means the same but is outside the subset):
//!
//! | program | fast path | jaq |
//! |---|---|---|
//! | `.value.total = .value.a * .value.b + .value.c`, schemaless | 0.64-0.72 µs (4,000 instr.) | 7.2-7.5 µs (43,000) |
//! | the same, schema'd (the struct's schema rebuilt) | 0.82-0.96 µs (5,700) | 7.3-9.0 µs (45,000) |
//! | `.topic = "orders-" + .value.f0`, schemaless / schema'd | 0.62 / 0.48 µs (2,900) | 5.5 / 5.7 µs (31,000) |
//! | `.value.a > 1`, schemaless / schema'd | 0.13 / 0.16 µs (800) | 3.2 / 2.5 µs (19,000) |
//! | `.headers.source = "web"` | 0.90 µs (4,000) | 5.6 µs (27,000) |
//! | predicate `.value.a > 1 and .topic == "orders"`, schemaless / schema'd | 0.18-0.22 / 0.19-0.23 µs (1,500) | 3.7-4.1 / 4.1-4.5 µs (24,000) |
//!
//! # Why jq (jaq)
//!
//! Three embeddable languages were measured on a three-field computation over a 10-field
//! record (`value.total = value.a * value.b + value.c`), instructions counted with callgrind:
//!
//! | | jaq 3.1 (jq) | VRL 0.38 | CEL (`cel` 0.15) |
//! |---|---|---|---|
//! | evaluation alone | ~22,600 instr. | ~3,400 | ~8,600 (read only) |
//! | record into the language | ~8,000 | ~6,800 | ~19,300 |
//! | crates pulled in / new to Sluice | 28 / 15 | 118 / 79 (228 with its stdlib) | 29 / 14 |
//! | clean release build, 2 cores | 1 min 24 s | 3 min 11 s | 1 min 13 s |
//! | assignment, delete, filter | yes | yes (delete needs the heavy stdlib) | no: expressions only |
//! | keeps map order / int vs float / text vs bytes | yes / yes / yes | no / yes / no | no / strict / yes |
//! | bounded | no (recursion) | yes | yes |
//! | compile errors | position + expected token (we format) | best: codes, carets, hints | position + caret |
//!
//! VRL evaluates fastest and has the best diagnostics, but it quadruples the build (ICU,
//! jsonschema, chrono-tz, a parser generator runtime), needs Rust 1.95 (Sluice builds on
//! 1.89), sorts object keys, has no text/bytes distinction, rejects `.a * .b` on untyped
//! fields unless every error is handled, and without its heavy stdlib has no `del`. CEL
//! cannot assign (a transform would have to rebuild the record by hand), rejects `int *
//! double`, loses map order, and sets up a costly context per evaluation. jaq is light,
//! keeps Connect's data faithful, speaks the jq everyone already uses for JSON, and
//! resolves every name at compile time; its price is speed and unbounded recursion. Under
//! jaq the three-field computation takes about 7 µs per record schemaless and 7-9 µs schema'd,
//! of which about 2 µs is converting the record into jq and back; VRL would be roughly 2-3x
//! faster, and none of the three reaches 1 µs while converting whole records. The fast path
//! (above) does, for the programs that matter most.

mod convert;
mod eval;
mod program;
mod record;
mod subset;

use jaq_json::Val;
use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{
    Outcome, Predicate, PredicatePlugin, Transformation, TransformationPlugin,
};

use crate::util;
use convert::Shapes;
use eval::Applied;
use program::Program;
use subset::Subset;

/// Class name of the transform.
const TRANSFORM_CLASS: &str = "io.sluice.connect.transforms.Expression";
/// Class name of the predicate.
const PREDICATE_CLASS: &str = "io.sluice.connect.transforms.predicates.Expression";
/// The program's config key.
const EXPRESSION: &str = "expression";

/// This module's transformation plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![TransformationPlugin {
        class_name: TRANSFORM_CLASS,
        config_def: transform_config_def,
        create: create_transform,
    }]
}

/// This module's predicate plugins.
pub(crate) fn predicate_plugins() -> Vec<PredicatePlugin> {
    vec![PredicatePlugin {
        class_name: PREDICATE_CLASS,
        config_def: predicate_config_def,
        create: create_predicate,
    }]
}

fn transform_config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(EXPRESSION, ConfigType::String)
            .importance(Importance::High)
            .doc(
                "A jq program run on each record. Its input is the record as an object \
                 {topic, partition, key, value, timestamp, headers, offset}: partition, \
                 timestamp (epoch milliseconds) and offset (sink records) are integers or \
                 null, headers an object of names to values. Its first result decides: an \
                 object is the new record (members left out are null; topic must stay a \
                 string), true keeps the record, false, null or no result drops it. \
                 Examples: `.value.total = .value.price * .value.qty` computes a field, \
                 `.topic = \"orders-\" + .value.region` routes, `.value.amount > 100` keeps \
                 only large amounts, `.headers.source = \"web\" | del(.headers.trace)` edits \
                 headers. Structs read as objects and come back as structs (their schema \
                 rebuilt when fields are added, removed or change type); Decimal reads as an \
                 exact decimal number, Date/Time/Timestamp as integers, bytes as a byte \
                 string. Compiled once at start; a syntax error names its line and column.",
            ),
    )
}

fn predicate_config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(EXPRESSION, ConfigType::String)
            .importance(Importance::High)
            .doc(
                "A jq program run on each record, with the same input as the Expression \
                 transform ({topic, partition, key, value, timestamp, headers, offset}). The \
                 predicate holds when the program's first result is neither false nor null; \
                 a program without result does not hold. Example: \
                 `.value.country == \"NZ\" and .headers.priority == \"high\"`.",
            ),
    )
}

/// A program compiled for jaq, and for the fast evaluator when it is in the subset.
#[derive(Debug)]
struct Compiled {
    program: Program,
    fast: Option<Subset>,
}

/// Parses the config and compiles the program.
fn compile(def: &ConfigDef, props: &ConfigMap) -> Result<Compiled> {
    let config = util::parse_config(def, props)?;
    let code = config.string(EXPRESSION).unwrap_or_default();
    let program =
        Program::compile(code).map_err(|message| ConnectError::config(EXPRESSION, message))?;
    Ok(Compiled {
        program,
        fast: Subset::compile(code),
    })
}

fn create_transform(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    let Compiled { program, fast } = compile(&transform_config_def(), props)?;
    Ok(Box::new(ExpressionTransform {
        program,
        fast,
        shapes: Shapes::new(),
    }))
}

fn create_predicate(props: &ConfigMap) -> Result<Box<dyn Predicate>> {
    let Compiled { program, fast } = compile(&predicate_config_def(), props)?;
    Ok(Box::new(ExpressionPredicate { program, fast }))
}

fn run_error(message: String) -> ConnectError {
    ConnectError::data(format!("expression failed: {message}"))
}

/// What a first output other than an object means for the record: dropped, kept, or an
/// error.
fn decide(output: Option<Val>, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
    match output {
        None | Some(Val::Null) | Some(Val::Bool(false)) => Ok(None),
        Some(Val::Bool(true)) => Ok(Some(record)),
        Some(other) => Err(ConnectError::data(format!(
            "expression result must be a record object, true, false, null or nothing, got {}",
            record::shown(&other)
        ))),
    }
}

/// The transform: runs the program and turns its result into the output record.
#[derive(Debug)]
struct ExpressionTransform {
    program: Program,
    /// The program for the fast evaluator; `None` runs every record under jaq.
    fast: Option<Subset>,
    shapes: Shapes,
}

impl ExpressionTransform {
    /// Runs the program under jaq.
    fn apply_jaq(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (input, inputs) = record::to_input(&record);
        match self.program.first_output(input).map_err(run_error)? {
            Some(Val::Obj(map)) => {
                let map = convert::unwrap_rc(map);
                record::from_result(&self.shapes, map, &inputs, record).map(Some)
            }
            output => decide(output, record),
        }
    }
}

impl Transformation for ExpressionTransform {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        util::by_value(record, |record| self.run(record))
    }
}

impl ExpressionTransform {
    /// The program's output record, or `None` when it drops the record.
    fn run(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(fast) = &self.fast else {
            return self.apply_jaq(record);
        };
        match fast.apply(&self.shapes, record) {
            Applied::Value(output, record) => decide(output, record),
            Applied::Record(result) => result.map(Some),
            Applied::Failed(message) => Err(run_error(message)),
            Applied::Bail(record) => self.apply_jaq(record),
        }
    }
}

/// The predicate: true when the program's first result is truthy.
#[derive(Debug)]
struct ExpressionPredicate {
    program: Program,
    /// The program for the fast evaluator; `None` runs every record under jaq.
    fast: Option<Subset>,
}

impl Predicate for ExpressionPredicate {
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        if let Some(result) = self.fast.as_ref().and_then(|fast| fast.test(record)) {
            return result.map_err(run_error);
        }
        let (input, _) = record::to_input(record);
        let output = self.program.first_output(input).map_err(run_error)?;
        Ok(!matches!(
            output,
            None | Some(Val::Null) | Some(Val::Bool(false))
        ))
    }
}

#[cfg(test)]
mod differential;

#[cfg(test)]
mod tests {

    use bytes::Bytes;
    use sluice_api::data::{
        Decimal, Header, Headers, LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType,
        Struct, Value,
    };
    use sluice_api::record::TimestampType;

    use super::*;

    fn transform(code: &str) -> Box<dyn Transformation> {
        let props = ConfigMap::from([(EXPRESSION.to_owned(), code.to_owned())]);
        (plugins()[0].create)(&props).unwrap()
    }

    fn predicate(code: &str) -> Box<dyn Predicate> {
        let props = ConfigMap::from([(EXPRESSION.to_owned(), code.to_owned())]);
        (predicate_plugins()[0].create)(&props).unwrap()
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    fn order() -> ConnectRecord {
        let mut record = ConnectRecord::new(
            "orders",
            None,
            map(&[
                ("price", Value::Int32(3)),
                ("qty", Value::Int64(4)),
                ("rate", Value::Float64(1.5)),
                ("region", Value::from("eu")),
            ]),
        );
        record.key = Value::from("k1");
        record.kafka_partition = Some(2);
        record.timestamp = Some(1_000);
        record.timestamp_type = TimestampType::CreateTime;
        record.headers.add_string("trace", "t1");
        record
    }

    fn apply(code: &str, record: ConnectRecord) -> Option<ConnectRecord> {
        transform(code).apply_owned(record).unwrap()
    }

    fn apply_err(code: &str, record: ConnectRecord) -> String {
        transform(code).apply_owned(record).unwrap_err().to_string()
    }

    fn value_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .name("shop.Order")
            .field("price", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("qty", Schema::required(SchemaType::Int64))
            .unwrap()
            .field("note", Schema::optional(SchemaType::String))
            .unwrap()
            .build()
    }

    fn schemad_order() -> ConnectRecord {
        let schema = value_schema();
        let value = Struct::from_values(
            schema.clone(),
            vec![Value::Int32(3), Value::Int64(4), Value::Null],
        )
        .unwrap();
        ConnectRecord::new("orders", Some(schema), Value::Struct(value))
    }

    #[test]
    fn plugins_have_the_documented_names_and_key() {
        assert_eq!(plugins()[0].class_name, TRANSFORM_CLASS);
        assert_eq!(predicate_plugins()[0].class_name, PREDICATE_CLASS);
        for def in [transform_config_def(), predicate_config_def()] {
            let names: Vec<_> = def.keys().iter().map(|k| k.name.as_str()).collect();
            assert_eq!(names, [EXPRESSION]);
            assert!(def.keys()[0].is_required());
        }
    }

    #[test]
    fn missing_expression_is_a_config_error() {
        let Err(err) = (plugins()[0].create)(&ConfigMap::new()) else {
            panic!("created without expression")
        };
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'expression': Missing required configuration \
             \"expression\" which has no default value."
        );
        let Err(err) = (predicate_plugins()[0].create)(&ConfigMap::new()) else {
            panic!("created without expression")
        };
        assert!(matches!(err, ConnectError::Config { ref key, .. } if key == EXPRESSION));
    }

    #[test]
    fn compile_errors_name_the_key_and_position() {
        for create in [
            |p: &ConfigMap| (plugins()[0].create)(p).map(|_| ()),
            |p: &ConfigMap| (predicate_plugins()[0].create)(p).map(|_| ()),
        ] {
            let props = ConfigMap::from([(
                EXPRESSION.to_owned(),
                ".value.total = .value.a *\n  * .value.b".to_owned(),
            )]);
            let err = create(&props).unwrap_err();
            let ConnectError::Config { key, message } = err else {
                panic!("not a config error");
            };
            assert_eq!(key, EXPRESSION);
            assert_eq!(
                message,
                "line 2, column 3: expected a value or filter, found '*'"
            );
        }
    }

    #[test]
    fn computes_a_field_keeping_integers_and_floats() {
        let out = apply(".value.total = .value.price * .value.qty", order()).unwrap();
        assert_eq!(out.value.map_get("total"), Some(&Value::Int64(12)));
        let out = apply(
            ".value.total = .value.price * .value.qty * .value.rate",
            order(),
        )
        .unwrap();
        assert_eq!(out.value.map_get("total"), Some(&Value::Float64(18.0)));
        assert_eq!(out.value.map_get("price"), Some(&Value::Int32(3)));
        assert_eq!(out.value.map_get("region"), Some(&Value::from("eu")));
        assert_eq!(out.key, Value::from("k1"));
        assert_eq!(out.kafka_partition, Some(2));
        assert_eq!(out.timestamp, Some(1_000));
        assert_eq!(out.headers.len(), 1);
    }

    #[test]
    fn schemaless_maps_keep_member_order_and_types() {
        let out = apply(".value.price += 1 | .value.extra = \"x\"", order()).unwrap();
        let Value::Map(entries) = out.value else {
            panic!()
        };
        let keys: Vec<_> = entries.iter().map(|(k, _)| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["price", "qty", "rate", "region", "extra"]);
        assert_eq!(entries[0].1, Value::Int32(4));
        assert_eq!(entries[1].1, Value::Int64(4));
    }

    #[test]
    fn routes_on_a_field_value() {
        let out = apply(".topic = \"orders-\" + .value.region", order()).unwrap();
        assert_eq!(&*out.topic, "orders-eu");
        assert_eq!(out.value, order().value);
        let err = apply_err(".topic = 5", order());
        assert_eq!(
            err,
            "expression result: topic must be a string, got number 5"
        );
    }

    #[test]
    fn filters_on_content() {
        for (code, kept) in [
            (".value.qty > 3", true),
            (".value.qty > 4", false),
            ("select(.value.region == \"eu\")", true),
            ("select(.value.region == \"us\")", false),
            ("if .value.qty > 10 then . else null end", false),
            ("empty", false),
        ] {
            let out = apply(code, order());
            assert_eq!(out.is_some(), kept, "{code}");
            if let Some(out) = out {
                assert_eq!(out, order(), "{code}");
            }
        }
    }

    #[test]
    fn sets_and_removes_headers() {
        let mut record = order();
        record.headers.add_string("trace", "t2");
        record.headers.add("n", None, Value::Int32(7));
        let out = apply(
            ".headers.source = \"web\" | .headers.n += 1 | del(.headers.trace)",
            record.clone(),
        )
        .unwrap();
        // jaq's `del` moves the last member into the deleted one's place.
        let headers: Vec<_> = out.headers.iter().cloned().collect();
        assert_eq!(
            headers,
            [
                Header {
                    key: "source".into(),
                    schema: Some(Schema::optional(SchemaType::String)),
                    value: Value::from("web")
                },
                Header {
                    key: "n".into(),
                    schema: None,
                    value: Value::Int32(8)
                },
            ]
        );
        let out = apply(".headers.source = \"web\"", record.clone()).unwrap();
        let trace: Vec<_> = out.headers.all_with_name("trace").collect();
        assert_eq!(trace.len(), 2, "untouched duplicates are kept");
        let out = apply(".value.x = 1", record.clone()).unwrap();
        assert_eq!(out.headers, record.headers);
        let out = apply(".headers = null", record).unwrap();
        assert!(out.headers.is_empty());
        let err = apply_err(".headers = 3", order());
        assert_eq!(
            err,
            "expression result: headers must be an object of header names to values, got \
             number 3"
        );
    }

    #[test]
    fn reads_partition_offset_and_timestamp() {
        let mut record = order();
        record.kafka_offset = Some(42);
        let out = apply(
            ".value.where = \"\\(.topic)-\\(.partition)@\\(.offset)\" | .timestamp += 5",
            record,
        )
        .unwrap();
        assert_eq!(
            out.value.map_get("where"),
            Some(&Value::from("orders-2@42"))
        );
        assert_eq!(out.timestamp, Some(1_005));
        assert_eq!(out.kafka_offset, Some(42));
        let out = apply(".partition = null | .timestamp = null", order()).unwrap();
        assert_eq!(out.kafka_partition, None);
        assert_eq!(out.timestamp, None);
        assert_eq!(out.timestamp_type, TimestampType::NoTimestamp);
        let mut record = order();
        record.timestamp = None;
        record.timestamp_type = TimestampType::NoTimestamp;
        let out = apply(".timestamp = 7", record).unwrap();
        assert_eq!(out.timestamp_type, TimestampType::CreateTime);
        let err = apply_err(".partition = \"p\"", order());
        assert_eq!(
            err,
            "expression result: partition must be an integer or null, got string \"p\""
        );
        let err = apply_err(".partition = 5000000000", order());
        assert!(err.starts_with("expression result: partition 5000000000 is out of range"));
        let err = apply_err(".timestamp = 1.5", order());
        assert_eq!(
            err,
            "expression result: timestamp must be an integer or null, got number 1.5"
        );
    }

    #[test]
    fn sets_key_and_value_wholesale() {
        let out = apply(".key = .value.region | .value = null", order()).unwrap();
        assert_eq!(out.key, Value::from("eu"));
        assert_eq!(out.value, Value::Null);
        let out = apply("{topic: \"t\", value: 1}", order()).unwrap();
        assert_eq!(&*out.topic, "t");
        assert_eq!(out.key, Value::Null);
        assert_eq!(out.value, Value::Int64(1));
        assert_eq!(out.kafka_partition, None);
        assert!(out.headers.is_empty());
    }

    #[test]
    fn bad_results_are_data_errors() {
        let err = apply_err(".value.qty", order());
        assert_eq!(
            err,
            "expression result must be a record object, true, false, null or nothing, got 4"
        );
        let err = apply_err(".vaule = 1", order());
        assert_eq!(
            err,
            "expression result: unknown record member \"vaule\" (the members are topic, \
             partition, key, value, timestamp, headers and offset)"
        );
        let err = apply_err("{value: 1}", order());
        assert_eq!(err, "expression result: the record object has no topic");
    }

    #[test]
    fn runtime_errors_are_data_errors_naming_the_failure() {
        let err = transform(".value.total = .value.region * {}")
            .apply_owned(order())
            .unwrap_err();
        assert!(err.is_data());
        assert_eq!(
            err.to_string(),
            "expression failed: cannot calculate \"eu\" * {}"
        );
        let err = apply_err("error(\"no region\")", order());
        assert_eq!(err, "expression failed: no region");
    }

    #[test]
    fn schemad_struct_keeps_its_schema_when_the_shape_is_unchanged() {
        let record = schemad_order();
        let schema = record.value_schema.clone().unwrap();
        let out = apply(".value.qty = .value.qty * 2 | .value.note = \"x\"", record).unwrap();
        assert!(SchemaRef::ptr_eq(
            out.value_schema.as_ref().unwrap(),
            &schema
        ));
        let Value::Struct(s) = &out.value else {
            panic!()
        };
        assert_eq!(
            s.values(),
            &[Value::Int32(3), Value::Int64(8), Value::from("x")]
        );
    }

    #[test]
    fn schemad_struct_gets_a_rebuilt_schema_for_a_new_field() {
        let t = transform(".value.total = .value.price * .value.qty | del(.value.note)");
        let out = t.apply_owned(schemad_order()).unwrap().unwrap();
        let schema = out.value_schema.clone().unwrap();
        assert_eq!(schema.name.as_deref(), Some("shop.Order"));
        let fields: Vec<_> = schema
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.schema.schema_type, f.schema.optional))
            .collect();
        assert_eq!(
            fields,
            [
                ("price", SchemaType::Int32, false),
                ("qty", SchemaType::Int64, false),
                ("total", SchemaType::Int64, true),
            ]
        );
        let Value::Struct(s) = &out.value else {
            panic!()
        };
        assert_eq!(
            s.values(),
            &[Value::Int32(3), Value::Int64(4), Value::Int64(12)]
        );
        let again = t.apply_owned(schemad_order()).unwrap().unwrap();
        assert!(SchemaRef::ptr_eq(
            again.value_schema.as_ref().unwrap(),
            &schema
        ));
    }

    #[test]
    fn schemad_field_changing_type_or_becoming_null() {
        let out = apply(".value.price = .value.price / 2", schemad_order()).unwrap();
        let schema = out.value_schema.unwrap();
        assert_eq!(schema.fields[0].schema.schema_type, SchemaType::Float64);
        let Value::Struct(s) = &out.value else {
            panic!()
        };
        assert_eq!(s.values()[0], Value::Float64(1.5));
        let out = apply(".value.price = null", schemad_order()).unwrap();
        let schema = out.value_schema.unwrap();
        assert_eq!(schema.fields[0].schema.schema_type, SchemaType::Int32);
        assert!(schema.fields[0].schema.optional);
    }

    #[test]
    fn schemad_primitives_and_logical_types() {
        let mut record = ConnectRecord::new(
            "t",
            Some(LogicalType::decimal(2)),
            Value::Decimal(Decimal::new(1999, 2)),
        );
        record.key_schema = Some(LogicalType::Timestamp.schema());
        record.key = Value::Timestamp(1_000);
        let out = apply(".value = .value * 1.1 | .key = .key + 60000", record).unwrap();
        assert_eq!(out.value, Value::Decimal(Decimal::new(2199, 2)));
        assert_eq!(
            out.value_schema.unwrap().logical_type(),
            Some(LogicalType::Decimal)
        );
        assert_eq!(out.key, Value::Timestamp(61_000));
        let record = ConnectRecord::new(
            "t",
            Some(Schema::required(SchemaType::Int32)),
            Value::Int32(1),
        );
        let out = apply(".value = \"one\"", record).unwrap();
        assert_eq!(out.value, Value::from("one"));
        assert_eq!(out.value_schema.unwrap().schema_type, SchemaType::String);
    }

    #[test]
    fn untouched_parts_are_kept_exactly() {
        let mut record = schemad_order();
        record.key_schema = Some(Schema::required(SchemaType::Float32));
        record.key = Value::Float32(0.1);
        record
            .headers
            .add("b", None, Value::Bytes(Bytes::from_static(b"\x00\x01")));
        let out = apply(".topic = \"other\"", record.clone()).unwrap();
        assert_eq!(out.key, record.key);
        assert_eq!(out.key_schema, record.key_schema);
        assert_eq!(out.value, record.value);
        assert!(SchemaRef::ptr_eq(
            out.value_schema.as_ref().unwrap(),
            record.value_schema.as_ref().unwrap()
        ));
        assert_eq!(out.headers, record.headers);
    }

    #[test]
    fn bytes_arrays_and_nested_maps_round_trip() {
        let record = ConnectRecord::new(
            "t",
            None,
            map(&[
                ("raw", Value::Bytes(Bytes::from_static(b"hi"))),
                (
                    "tags",
                    Value::Array(vec![Value::from("a"), Value::from("b")]),
                ),
                ("inner", map(&[("n", Value::Int16(1))])),
            ]),
        );
        let out = apply(
            ".value.tags += [\"c\"] | .value.inner.n += 1 | .value.b64 = (.value.raw | @base64)",
            record,
        )
        .unwrap();
        assert_eq!(
            out.value.map_get("raw"),
            Some(&Value::Bytes(Bytes::from_static(b"hi")))
        );
        assert_eq!(
            out.value.map_get("tags"),
            Some(&Value::Array(vec![
                Value::from("a"),
                Value::from("b"),
                Value::from("c")
            ]))
        );
        assert_eq!(
            out.value.map_get("inner").and_then(|m| m.map_get("n")),
            Some(&Value::Int16(2))
        );
        assert_eq!(out.value.map_get("b64"), Some(&Value::from("aGk=")));
    }

    #[test]
    fn tombstones_and_null_keys_are_seen_as_null() {
        let record = ConnectRecord::new("t", None, Value::Null);
        assert!(apply(".value != null", record.clone()).is_none());
        let out = apply(".value = {x: 1}", record.clone()).unwrap();
        assert_eq!(out.value, map(&[("x", Value::Int64(1))]));
        let err = apply_err(".value.x = 1", record);
        assert_eq!(
            err,
            "expression failed: cannot use null as iterable (array or object)"
        );
    }

    #[test]
    fn predicate_tests_the_record() {
        let p = predicate(".value.region == \"eu\" and .headers.trace == \"t1\"");
        assert!(p.test(&order()).unwrap());
        let mut other = order();
        other.headers = Headers::new();
        assert!(!p.test(&other).unwrap());
        assert!(predicate(".value.qty").test(&order()).unwrap());
        assert!(!predicate(".value.missing").test(&order()).unwrap());
        assert!(!predicate("empty").test(&order()).unwrap());
        assert!(predicate(".partition == 2 and .topic == \"orders\"")
            .test(&order())
            .unwrap());
        let err = predicate(".value.region - 1").test(&order()).unwrap_err();
        assert!(err.is_data());
        assert_eq!(
            err.to_string(),
            "expression failed: cannot calculate \"eu\" - 1"
        );
    }

    #[test]
    fn only_the_first_result_counts() {
        let out = apply("(.value.n = 1), (.value.n = 2)", order()).unwrap();
        assert_eq!(out.value.map_get("n"), Some(&Value::Int64(1)));
        assert!(predicate("false, true")
            .test(&order())
            .is_ok_and(|held| !held));
    }
}

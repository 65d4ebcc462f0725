//! JsonConverter behaviour against Kafka's reference: golden bytes, round trips, the nulls
//! table, lenient reads and every documented error message.

use bytes::Bytes;
use num_bigint::BigInt;
use sluice_api::config::ConfigMap;
use sluice_api::converter::{Converter, ConverterType, HeaderConverter};
use sluice_api::data::{
    Decimal, LogicalType, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType, Struct,
    Value,
};
use sluice_convert::{DecimalFormat, JsonConverter, JsonConverterConfig};

const TOPIC: &str = "topic";

fn with_schemas() -> JsonConverter {
    JsonConverter::new(JsonConverterConfig::default())
}

fn schemaless() -> JsonConverter {
    JsonConverter::new(JsonConverterConfig {
        schemas_enable: false,
        ..Default::default()
    })
}

fn numeric() -> JsonConverter {
    JsonConverter::new(JsonConverterConfig {
        decimal_format: DecimalFormat::Numeric,
        ..Default::default()
    })
}

fn write(c: &JsonConverter, schema: Option<&SchemaRef>, value: &Value) -> String {
    let bytes = c
        .from_connect_data(TOPIC, schema, value)
        .unwrap()
        .expect("not a tombstone");
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn write_err(c: &JsonConverter, schema: Option<&SchemaRef>, value: &Value) -> String {
    c.from_connect_data(TOPIC, schema, value)
        .unwrap_err()
        .to_string()
}

fn read(c: &JsonConverter, json: &str) -> SchemaAndValue {
    c.to_connect_data(TOPIC, Some(Bytes::copy_from_slice(json.as_bytes())))
        .unwrap()
}

fn read_err(c: &JsonConverter, json: &str) -> String {
    c.to_connect_data(TOPIC, Some(Bytes::copy_from_slice(json.as_bytes())))
        .unwrap_err()
        .to_string()
}

fn req(t: SchemaType) -> SchemaRef {
    Schema::required(t)
}

fn opt(t: SchemaType) -> SchemaRef {
    Schema::optional(t)
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

// ---- golden output -------------------------------------------------------------------------

#[test]
fn boolean_envelope_golden() {
    assert_eq!(
        write(
            &with_schemas(),
            Some(&req(SchemaType::Boolean)),
            &Value::Boolean(true)
        ),
        r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#
    );
}

#[test]
fn schema_json_golden() {
    let c = with_schemas();
    let schema_json =
        |schema: &Schema| String::from_utf8(c.as_json_schema(schema).unwrap()).unwrap();
    assert_eq!(
        schema_json(&SchemaBuilder::array(req(SchemaType::Int32)).build()),
        r#"{"type":"array","items":{"type":"int32","optional":false},"optional":false}"#
    );
    assert_eq!(
        schema_json(&SchemaBuilder::map(req(SchemaType::String), req(SchemaType::Int32)).build()),
        r#"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false}"#
    );
    let st = SchemaBuilder::struct_()
        .field("field1", req(SchemaType::Boolean))
        .unwrap()
        .field("field2", req(SchemaType::String))
        .unwrap()
        .build();
    assert_eq!(
        schema_json(&st),
        r#"{"type":"struct","fields":[{"type":"boolean","optional":false,"field":"field1"},{"type":"string","optional":false,"field":"field2"}],"optional":false}"#
    );
    assert_eq!(
        schema_json(&LogicalType::decimal(2)),
        r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}"#
    );
    assert_eq!(
        schema_json(&LogicalType::Date.schema()),
        r#"{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1}"#
    );
    assert_eq!(
        schema_json(&LogicalType::Time.schema()),
        r#"{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1}"#
    );
    assert_eq!(
        schema_json(&LogicalType::Timestamp.schema()),
        r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1}"#
    );
    let full = SchemaBuilder::new(SchemaType::Float32)
        .optional()
        .name("n")
        .version(3)
        .doc("the doc")
        .parameter("foo", "bar")
        .default_value(Value::Float32(1.5))
        .unwrap()
        .build();
    assert_eq!(
        schema_json(&full),
        r#"{"type":"float","optional":true,"name":"n","version":3,"doc":"the doc","parameters":{"foo":"bar"},"default":1.5}"#
    );
    assert_eq!(
        schema_json(&req(SchemaType::Float64)),
        r#"{"type":"double","optional":false}"#
    );
}

#[test]
fn logical_payload_golden() {
    let c = with_schemas();
    let dec = Value::Decimal(Decimal::new(156, 2));
    assert_eq!(
        write(&c, Some(&LogicalType::decimal(2)), &dec),
        r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}"#
    );
    assert!(write(&numeric(), Some(&LogicalType::decimal(2)), &dec).ends_with(r#""payload":1.56}"#));
    assert!(write(
        &numeric(),
        Some(&LogicalType::decimal(4)),
        &Value::Decimal(Decimal::new(15600, 4))
    )
    .ends_with(r#""payload":1.5600}"#));
    assert!(
        write(&c, Some(&LogicalType::Date.schema()), &Value::Date(10_000))
            .ends_with(r#""payload":10000}"#)
    );
    assert!(write(
        &c,
        Some(&LogicalType::Time.schema()),
        &Value::Time(14_400_000)
    )
    .ends_with(r#""payload":14400000}"#));
    assert!(write(
        &c,
        Some(&LogicalType::Timestamp.schema()),
        &Value::Timestamp(4_000_000_000)
    )
    .ends_with(r#""payload":4000000000}"#));
}

#[test]
fn values_golden() {
    let c = schemaless();
    assert_eq!(
        write(&c, None, &Value::Bytes(Bytes::from_static(b"test-string"))),
        r#""dGVzdC1zdHJpbmc=""#
    );
    assert_eq!(write(&c, None, &Value::Float64(1e10)), "1.0E10");
    assert_eq!(write(&c, None, &Value::Float64(12.34)), "12.34");
    assert_eq!(write(&c, None, &Value::Float32(12.34)), "12.34");
    assert_eq!(write(&c, None, &Value::Float64(f64::NAN)), r#""NaN""#);
    assert_eq!(
        write(&c, None, &Value::Float64(f64::NEG_INFINITY)),
        r#""-Infinity""#
    );
    assert_eq!(
        write(&c, None, &s("a\"b\\c\n\u{1f}é/")),
        r#""a\"b\\c\n\u001Fé/""#
    );
    // An offsets-topic key: byte-exact with Kafka.
    let key = Value::Array(vec![
        s("local-file-source"),
        Value::Map(vec![(s("filename"), s("/tmp/test.txt"))]),
    ]);
    assert_eq!(
        write(&c, None, &key),
        r#"["local-file-source",{"filename":"/tmp/test.txt"}]"#
    );
    let int_keys = Value::Map(vec![(Value::Int32(1), s("a")), (Value::Int32(2), s("b"))]);
    assert_eq!(write(&c, None, &int_keys), r#"[[1,"a"],[2,"b"]]"#);
    let mixed_keys = Value::Map(vec![
        (s("x"), Value::Int8(1)),
        (Value::Int64(2), Value::Int8(2)),
    ]);
    assert_eq!(write(&c, None, &mixed_keys), r#"[["x",1],[2,2]]"#);
}

#[test]
fn map_with_non_string_key_schema_is_array_of_pairs() {
    let c = with_schemas();
    let schema = SchemaBuilder::map(req(SchemaType::Int32), req(SchemaType::Int32)).build();
    let value = Value::Map(vec![
        (Value::Int32(1), Value::Int32(12)),
        (Value::Int32(2), Value::Int32(15)),
    ]);
    let json = write(&c, Some(&schema), &value);
    assert!(json.ends_with(r#""payload":[[1,12],[2,15]]}"#), "{json}");
    assert_eq!(read(&c, &json), SchemaAndValue::new(Some(schema), value));
}

// ---- round trips ----------------------------------------------------------------------------

fn sample_struct_schema() -> SchemaRef {
    let inner = SchemaBuilder::struct_()
        .field("x", req(SchemaType::Int32))
        .unwrap()
        .field(
            "tags",
            SchemaBuilder::array(req(SchemaType::String))
                .optional()
                .build(),
        )
        .unwrap()
        .build();
    SchemaBuilder::struct_()
        .name("com.example.Record")
        .field("b", req(SchemaType::Boolean))
        .unwrap()
        .field("i8", req(SchemaType::Int8))
        .unwrap()
        .field("i16", req(SchemaType::Int16))
        .unwrap()
        .field("i32", req(SchemaType::Int32))
        .unwrap()
        .field("i64", req(SchemaType::Int64))
        .unwrap()
        .field("f32", req(SchemaType::Float32))
        .unwrap()
        .field("f64", req(SchemaType::Float64))
        .unwrap()
        .field("s", opt(SchemaType::String))
        .unwrap()
        .field("bytes", req(SchemaType::Bytes))
        .unwrap()
        .field("dec", LogicalType::decimal(3))
        .unwrap()
        .field("date", LogicalType::Date.schema())
        .unwrap()
        .field("time", LogicalType::Time.schema())
        .unwrap()
        .field("ts", LogicalType::Timestamp.schema())
        .unwrap()
        .field(
            "map",
            SchemaBuilder::map(req(SchemaType::String), opt(SchemaType::Float64)).build(),
        )
        .unwrap()
        .field(
            "imap",
            SchemaBuilder::map(req(SchemaType::Int64), req(SchemaType::String)).build(),
        )
        .unwrap()
        .field("inner", inner)
        .unwrap()
        .build()
}

fn sample_struct(schema: &SchemaRef) -> Value {
    let inner_schema = schema.field("inner").unwrap().schema.clone();
    let inner = Struct::new(inner_schema)
        .unwrap()
        .with("x", 7)
        .unwrap()
        .with("tags", Value::Array(vec![s("a"), s("b")]))
        .unwrap();
    let mut st = Struct::new(schema.clone()).unwrap();
    st.put("b", Value::Boolean(true)).unwrap();
    st.put("i8", Value::Int8(-8)).unwrap();
    st.put("i16", Value::Int16(1600)).unwrap();
    st.put("i32", Value::Int32(-320_000)).unwrap();
    st.put("i64", Value::Int64(i64::MAX)).unwrap();
    st.put("f32", Value::Float32(3.25)).unwrap();
    st.put("f64", Value::Float64(1.0)).unwrap();
    st.put("bytes", Value::Bytes(Bytes::from_static(&[0, 1, 255])))
        .unwrap();
    st.put("dec", Value::Decimal(Decimal::new(-123_456, 3)))
        .unwrap();
    st.put("date", Value::Date(19_724)).unwrap();
    st.put("time", Value::Time(86_399_999)).unwrap();
    st.put("ts", Value::Timestamp(1_704_164_645_123)).unwrap();
    st.put(
        "map",
        Value::Map(vec![(s("k"), Value::Float64(0.5)), (s("n"), Value::Null)]),
    )
    .unwrap();
    st.put("imap", Value::Map(vec![(Value::Int64(-1), s("neg"))]))
        .unwrap();
    st.put("inner", Value::Struct(inner)).unwrap();
    Value::Struct(st)
}

#[test]
fn every_type_round_trips_with_schemas() {
    let cases: Vec<(SchemaRef, Value)> = vec![
        (req(SchemaType::Boolean), Value::Boolean(false)),
        (req(SchemaType::Int8), Value::Int8(i8::MIN)),
        (req(SchemaType::Int16), Value::Int16(i16::MAX)),
        (req(SchemaType::Int32), Value::Int32(i32::MIN)),
        (req(SchemaType::Int64), Value::Int64(i64::MIN)),
        (req(SchemaType::Float32), Value::Float32(1.1)),
        (req(SchemaType::Float32), Value::Float32(f32::MAX)),
        (req(SchemaType::Float64), Value::Float64(0.1 + 0.2)),
        (req(SchemaType::Float64), Value::Float64(5e-324)),
        (req(SchemaType::Float64), Value::Float64(2.0)),
        (req(SchemaType::Float64), Value::Float64(f64::INFINITY)),
        (req(SchemaType::String), s("héllo \"world\"\n")),
        (
            req(SchemaType::Bytes),
            Value::Bytes(Bytes::from_static(b"\x00\xffabc")),
        ),
        (opt(SchemaType::String), Value::Null),
        (
            SchemaBuilder::array(opt(SchemaType::Int32)).build(),
            Value::Array(vec![Value::Int32(1), Value::Null, Value::Int32(3)]),
        ),
        (
            LogicalType::decimal(2),
            Value::Decimal(Decimal::new(156, 2)),
        ),
        (LogicalType::decimal(0), Value::Decimal(Decimal::new(0, 0))),
        (LogicalType::decimal(2), Value::Decimal(Decimal::new(-1, 2))),
        (LogicalType::Date.schema(), Value::Date(-1)),
        (LogicalType::Time.schema(), Value::Time(0)),
        (LogicalType::Timestamp.schema(), Value::Timestamp(-1)),
    ];
    for c in [with_schemas(), numeric()] {
        for (schema, value) in &cases {
            let json = write(&c, Some(schema), value);
            assert_eq!(
                read(&c, &json),
                SchemaAndValue::new(Some(schema.clone()), value.clone()),
                "{json}"
            );
        }
        let schema = sample_struct_schema();
        let value = sample_struct(&schema);
        let json = write(&c, Some(&schema), &value);
        assert_eq!(
            read(&c, &json),
            SchemaAndValue::new(Some(schema), value),
            "{json}"
        );
    }
}

#[test]
fn every_type_round_trips_without_schemas() {
    let c = schemaless();
    let schemaless_values = vec![
        Value::Boolean(true),
        Value::Int64(-42),
        Value::Float64(1.0),
        Value::Float64(1e10),
        Value::Float64(-0.001),
        s("text"),
        Value::Array(vec![
            Value::Int64(1),
            s("2"),
            Value::Null,
            Value::Float64(3.5),
        ]),
        Value::Map(vec![
            (s("a"), Value::Map(vec![(s("b"), Value::Array(vec![]))])),
            (s("c"), Value::Null),
        ]),
    ];
    for value in schemaless_values {
        let json = write(&c, None, &value);
        assert_eq!(
            read(&c, &json),
            SchemaAndValue::new(None, value.clone()),
            "{json}"
        );
    }
    // Typed values come back as the JSON types Kafka infers.
    let cases: Vec<(SchemaRef, Value, Value)> = vec![
        (req(SchemaType::Int8), Value::Int8(5), Value::Int64(5)),
        (req(SchemaType::Int32), Value::Int32(-5), Value::Int64(-5)),
        (
            req(SchemaType::Float32),
            Value::Float32(2.5),
            Value::Float64(2.5),
        ),
        (
            req(SchemaType::Bytes),
            Value::Bytes(Bytes::from_static(b"hi")),
            s("aGk="),
        ),
        (
            LogicalType::decimal(2),
            Value::Decimal(Decimal::new(156, 2)),
            s("AJw="),
        ),
        (
            LogicalType::Date.schema(),
            Value::Date(10_000),
            Value::Int64(10_000),
        ),
        (
            LogicalType::Time.schema(),
            Value::Time(14_400_000),
            Value::Int64(14_400_000),
        ),
        (
            LogicalType::Timestamp.schema(),
            Value::Timestamp(4_000_000_000),
            Value::Int64(4_000_000_000),
        ),
    ];
    for (schema, value, back) in cases {
        let json = write(&c, Some(&schema), &value);
        assert_eq!(read(&c, &json), SchemaAndValue::new(None, back), "{json}");
    }
    assert_eq!(
        write(
            &numeric_schemaless(),
            Some(&LogicalType::decimal(2)),
            &Value::Decimal(Decimal::new(156, 2))
        ),
        "1.56"
    );
    let schema = sample_struct_schema();
    let json = write(&c, Some(&schema), &sample_struct(&schema));
    let back = read(&c, &json);
    assert_eq!(back.value.map_get("i64"), Some(&Value::Int64(i64::MAX)));
    assert_eq!(back.value.map_get("f64"), Some(&Value::Float64(1.0)));
    assert_eq!(
        back.value.map_get("imap"),
        Some(&Value::Array(vec![Value::Array(vec![
            Value::Int64(-1),
            s("neg")
        ])]))
    );
}

fn numeric_schemaless() -> JsonConverter {
    JsonConverter::new(JsonConverterConfig {
        schemas_enable: false,
        decimal_format: DecimalFormat::Numeric,
        ..Default::default()
    })
}

// ---- reading --------------------------------------------------------------------------------

#[test]
fn reads_kafka_test_messages() {
    let c = with_schemas();
    assert_eq!(
        read(
            &c,
            r#"{ "schema": { "type": "boolean" }, "payload": true }"#
        ),
        SchemaAndValue::new(Some(req(SchemaType::Boolean)), Value::Boolean(true))
    );
    assert_eq!(
        read(&c, r#"{ "schema": { "type": "float" }, "payload": 12.34 }"#).value,
        Value::Float32(12.34)
    );
    assert_eq!(
        read(
            &c,
            r#"{ "schema": { "type": "int64" }, "payload": 4398046511104 }"#
        )
        .value,
        Value::Int64(4_398_046_511_104)
    );
    assert_eq!(
        read(
            &c,
            r#"{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }"#
        )
        .value,
        Value::Bytes(Bytes::from_static(b"test-string"))
    );
    let meta = read(
        &c,
        r#"{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }"#,
    );
    let expected = SchemaBuilder::new(SchemaType::Boolean)
        .name("bool")
        .version(2)
        .doc("the documentation")
        .parameter("foo", "bar")
        .build();
    assert_eq!(meta.schema, Some(expected));
    let with_optional = read(
        &c,
        r#"{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }"#,
    );
    let Value::Struct(st) = with_optional.value else {
        panic!()
    };
    assert_eq!(st.get("optional"), Some(&Value::Null));
    assert_eq!(st.get("required"), Some(&s("required")));
    assert_eq!(
        read(
            &c,
            r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1 }, "payload": 10000 }"#
        ),
        SchemaAndValue::new(Some(LogicalType::Date.schema()), Value::Date(10_000))
    );
}

#[test]
fn reads_decimals_in_both_forms_regardless_of_setting() {
    for c in [with_schemas(), numeric()] {
        let schema = r#"{ "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }"#;
        let b64 = read(
            &c,
            &format!(r#"{{ "schema": {schema}, "payload": "AJw=" }}"#),
        );
        assert_eq!(b64.value, Value::Decimal(Decimal::new(156, 2)));
        assert_eq!(b64.schema, Some(LogicalType::decimal(2)));
        let num = read(&c, &format!(r#"{{ "schema": {schema}, "payload": 1.56 }}"#));
        assert_eq!(num.value, Value::Decimal(Decimal::new(156, 2)));
        let scaled = read(
            &c,
            &format!(r#"{{ "schema": {schema}, "payload": 1.5600 }}"#),
        );
        assert_eq!(scaled.value, Value::Decimal(Decimal::new(15600, 4)));
    }
    let high = read(
        &with_schemas(),
        r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "17" } }, "payload": 1.23456789123456789 }"#,
    );
    assert_eq!(
        high.value,
        Value::Decimal(Decimal::new(
            "123456789123456789".parse::<BigInt>().unwrap(),
            17
        ))
    );
    let with_default = read(
        &with_schemas(),
        r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "default": "AJw=", "parameters": { "scale": "2" } }, "payload": null }"#,
    );
    assert_eq!(with_default.value, Value::Decimal(Decimal::new(156, 2)));
}

#[test]
fn reads_without_schema() {
    let c = with_schemas();
    assert_eq!(
        read(&c, r#"{ "schema": null, "payload": null }"#),
        SchemaAndValue::NULL
    );
    assert_eq!(
        read(&c, r#"{ "schema": null, "payload": 12 }"#).value,
        Value::Int64(12)
    );
    assert_eq!(
        read(&c, r#"{ "schema": null, "payload": 12.24 }"#).value,
        Value::Float64(12.24)
    );
    assert_eq!(
        read(&c, r#"{ "schema": null, "payload": 1e2 }"#).value,
        Value::Float64(100.0)
    );
    assert_eq!(
        read(&c, r#"{ "schema": null, "payload": [1, "2", 3] }"#).value,
        Value::Array(vec![Value::Int64(1), s("2"), Value::Int64(3)])
    );
    assert_eq!(
        read(
            &c,
            r#"{ "schema": null, "payload": { "field1": 1, "field2": 2} }"#
        )
        .value,
        Value::Map(vec![
            (s("field1"), Value::Int64(1)),
            (s("field2"), Value::Int64(2))
        ])
    );
    let plain = schemaless();
    assert_eq!(
        read(&plain, r#"{"a":true,"a":false,"b":null}"#).value,
        Value::Map(vec![(s("a"), Value::Boolean(false)), (s("b"), Value::Null),])
    );
    assert_eq!(read(&plain, "0012").value, Value::Int64(12));
    assert_eq!(read(&plain, "18446744073709551617").value, Value::Int64(1));
    // Plain JSON that looks like an envelope is just a map when schemas are off.
    assert_eq!(
        read(&plain, r#"{"schema":null,"payload":1}"#).value,
        Value::Map(vec![
            (s("schema"), Value::Null),
            (s("payload"), Value::Int64(1))
        ])
    );
}

#[test]
fn lenient_quirks_of_typed_reads() {
    let c = with_schemas();
    let p = |t: &str, payload: &str| {
        read(
            &c,
            &format!(r#"{{"schema":{{"type":"{t}"}},"payload":{payload}}}"#),
        )
        .value
    };
    assert_eq!(p("int8", "300"), Value::Int8(44));
    assert_eq!(p("int16", "70000"), Value::Int16(4464));
    assert_eq!(p("int32", "\"12\""), Value::Int32(0));
    assert_eq!(p("int32", "12.9"), Value::Int32(12));
    assert_eq!(p("int64", "-1.5e1"), Value::Int64(-15));
    assert_eq!(p("int32", "0012"), Value::Int32(12));
    assert_eq!(p("boolean", "1"), Value::Boolean(false));
    assert_eq!(p("double", "true"), Value::Float64(0.0));
    assert_eq!(p("double", "3"), Value::Float64(3.0));
    assert_eq!(p("float", "16777217"), Value::Float32(16_777_216.0));
    let optional_string = read(
        &c,
        r#"{"schema":{"type":"string","optional":true},"payload":5}"#,
    );
    assert_eq!(optional_string.value, Value::Null);
    assert_eq!(
        read(
            &c,
            r#"{"schema":{"type":"bytes","optional":true},"payload":5}"#
        )
        .value,
        Value::Null
    );
    let array_of_object = read(
        &c,
        r#"{"schema":{"type":"array","items":{"type":"int32"}},"payload":{"a":1,"b":2}}"#,
    );
    assert_eq!(
        array_of_object.value,
        Value::Array(vec![Value::Int32(1), Value::Int32(2)])
    );
    let array_of_scalar = read(
        &c,
        r#"{"schema":{"type":"array","items":{"type":"int32"}},"payload":5}"#,
    );
    assert_eq!(array_of_scalar.value, Value::Array(vec![]));
    // A number for a required string field is null, which the struct then rejects.
    assert_eq!(
        read_err(
            &c,
            r#"{"schema":{"type":"struct","fields":[{"field":"f","type":"string"}]},"payload":{"f":5}}"#
        ),
        "Invalid value: null used for required field: \"f\", schema type: STRING"
    );
    // Struct members: missing ones are null, extra ones ignored, order free, last duplicate wins.
    let st = read(
        &c,
        r#"{"schema":{"type":"struct","fields":[{"field":"a","type":"int32","optional":true},{"field":"b","type":"int32"}]},"payload":{"x":1,"b":2,"b":3}}"#,
    );
    let Value::Struct(st) = st.value else {
        panic!()
    };
    assert_eq!(st.values(), &[Value::Null, Value::Int32(3)]);
}

#[test]
fn trailing_text_after_the_envelope_is_ignored_like_jackson() {
    let c = with_schemas();
    assert_eq!(
        read(&c, r#"{"schema":{"type":"int32"},"payload":1} garbage"#).value,
        Value::Int32(1)
    );
}

// ---- nulls and defaults ---------------------------------------------------------------------

#[test]
fn nulls_table() {
    for c in [with_schemas(), schemaless()] {
        assert_eq!(
            c.from_connect_data(TOPIC, None, &Value::Null).unwrap(),
            None
        );
        assert_eq!(
            c.to_connect_data(TOPIC, None).unwrap(),
            SchemaAndValue::NULL
        );
    }
    assert_eq!(
        write(&with_schemas(), Some(&opt(SchemaType::Int32)), &Value::Null),
        r#"{"schema":{"type":"int32","optional":true},"payload":null}"#
    );
    assert_eq!(
        write(&schemaless(), Some(&opt(SchemaType::Int32)), &Value::Null),
        "null"
    );
    let with_default = SchemaBuilder::new(SchemaType::Int32)
        .optional()
        .default_value(Value::Int32(42))
        .unwrap()
        .build();
    assert_eq!(
        write(&with_schemas(), Some(&with_default), &Value::Null),
        r#"{"schema":{"type":"int32","optional":true,"default":42},"payload":42}"#
    );
    let keep_null = JsonConverter::new(JsonConverterConfig {
        replace_null_with_default: false,
        ..Default::default()
    });
    assert_eq!(
        write(&keep_null, Some(&with_default), &Value::Null),
        r#"{"schema":{"type":"int32","optional":true,"default":42},"payload":null}"#
    );
    assert_eq!(
        write_err(&with_schemas(), Some(&req(SchemaType::Int32)), &Value::Null),
        "Conversion error: null value for field that is required and has no default value"
    );
    // Struct fields follow the same rules.
    let st_schema = SchemaBuilder::struct_()
        .field("n", with_default.clone())
        .unwrap()
        .build();
    let st = Value::Struct(Struct::new(st_schema.clone()).unwrap());
    assert!(write(&with_schemas(), Some(&st_schema), &st).ends_with(r#""payload":{"n":42}}"#));
    assert!(write(&keep_null, Some(&st_schema), &st).ends_with(r#""payload":{"n":null}}"#));

    // Reading.
    assert_eq!(
        read(&schemaless(), ""),
        SchemaAndValue::NULL,
        "empty bytes without schemas"
    );
    let default_json = r#"{"schema":{"type":"int32","optional":true,"default":42},"payload":null}"#;
    assert_eq!(read(&with_schemas(), default_json).value, Value::Int32(42));
    assert_eq!(read(&keep_null, default_json).value, Value::Null);
    assert_eq!(
        read(
            &with_schemas(),
            r#"{"schema":{"type":"int32","optional":true},"payload":null}"#
        )
        .value,
        Value::Null
    );
    assert_eq!(
        read_err(
            &with_schemas(),
            r#"{"schema":{"type":"int32"},"payload":null}"#
        ),
        "Invalid null value for required INT32 field"
    );
    let missing_member = read(
        &with_schemas(),
        r#"{"schema":{"type":"struct","fields":[{"field":"n","type":"int32","optional":true,"default":7}]},"payload":{}}"#,
    );
    let Value::Struct(st) = missing_member.value else {
        panic!()
    };
    assert_eq!(st.get_without_default("n"), Some(&Value::Int32(7)));
    assert_eq!(
        read_err(
            &with_schemas(),
            r#"{"schema":{"type":"struct","fields":[{"field":"n","type":"int64"}]},"payload":{}}"#
        ),
        "Invalid null value for required INT64 field"
    );
}

#[test]
fn tombstone_and_empty_input_with_schemas_enabled() {
    let c = with_schemas();
    assert_eq!(
        c.to_connect_data(TOPIC, None).unwrap(),
        SchemaAndValue::NULL
    );
    assert!(read_err(&c, "").starts_with("JsonConverter with schemas.enable requires"));
}

// ---- errors ---------------------------------------------------------------------------------

#[test]
fn envelope_and_syntax_errors() {
    let c = with_schemas();
    let envelope = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";
    for input in [
        r#"{"a":1}"#,
        r#"{"schema":null}"#,
        r#"{"schema":null,"payload":1,"x":0}"#,
        "[1,2]",
        "42",
    ] {
        assert_eq!(read_err(&c, input), envelope, "{input}");
    }
    let err = read_err(&c, r#"{"schema":null,"payload":[1,}"#);
    assert!(
        err.starts_with(
            "Converting byte[] to Kafka Connect data failed due to serialization error: "
        ),
        "{err}"
    );
    assert!(read_err(&schemaless(), "{not json").starts_with(
        "Converting byte[] to Kafka Connect data failed due to serialization error: "
    ));
}

#[test]
fn schema_errors() {
    let c = with_schemas();
    let e = |schema: &str| read_err(&c, &format!(r#"{{"schema":{schema},"payload":null}}"#));
    assert_eq!(
        e(r#"{"optional":true}"#),
        "Schema must contain 'type' field"
    );
    assert_eq!(e(r#"{"type":5}"#), "Schema must contain 'type' field");
    assert_eq!(e(r#""string""#), "Schema must contain 'type' field");
    assert_eq!(e(r#"{"type":"foo"}"#), "Unknown schema type: foo");
    assert_eq!(
        e(r#"{"type":"int32","optional":true,"parameters":{"a":1}}"#),
        "Schema parameters must have string values."
    );
    assert_eq!(
        e(r#"{"type":"array"}"#),
        "Array schema did not specify the element type"
    );
    assert_eq!(
        e(r#"{"type":"map","values":{"type":"int32"}}"#),
        "Map schema did not specify the key type"
    );
    assert_eq!(
        e(r#"{"type":"map","keys":{"type":"int32"}}"#),
        "Map schema did not specify the value type"
    );
    assert_eq!(
        e(r#"{"type":"struct","fields":{}}"#),
        "Struct schema's \"fields\" argument is not an array."
    );
    assert_eq!(
        e(r#"{"type":"struct","fields":[{"type":"int32"}]}"#),
        "Struct schema's field name not specified properly"
    );
    assert_eq!(
        e(
            r#"{"type":"struct","fields":[{"type":"int32","field":"a"},{"type":"int32","field":"a"}]}"#
        ),
        "Cannot create field because of field name duplication a"
    );
}

#[test]
fn payload_errors() {
    let c = with_schemas();
    let e = |schema: &str, payload: &str| {
        read_err(&c, &format!(r#"{{"schema":{schema},"payload":{payload}}}"#))
    };
    let date = r#"{"type":"int32","name":"org.apache.kafka.connect.data.Date"}"#;
    let time = r#"{"type":"int32","name":"org.apache.kafka.connect.data.Time"}"#;
    let ts = r#"{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"}"#;
    let dec = r#"{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}"#;
    assert_eq!(
        e(date, "\"2024-01-01\""),
        "Invalid type for Date, underlying representation should be integer but was STRING"
    );
    assert_eq!(
        e(date, "3000000000"),
        "Invalid type for Date, underlying representation should be integer but was NUMBER"
    );
    assert_eq!(
        e(time, "1.5"),
        "Invalid type for Time, underlying representation should be integer but was NUMBER"
    );
    assert_eq!(
        e(time, "86400001"),
        "Time values must use number of milliseconds greater than 0 and less than 86400000"
    );
    assert_eq!(
        e(ts, "1.5"),
        "Invalid type for Timestamp, underlying representation should be integral but was NUMBER"
    );
    assert_eq!(e(dec, "true"), "Invalid type for Decimal, underlying representation should be numeric or bytes but was BOOLEAN");
    assert_eq!(e(dec, "\"!!\""), "Invalid bytes for Decimal field");
    assert_eq!(
        e(r#"{"type":"bytes"}"#, "\"not base64!\""),
        "Invalid bytes field"
    );
    assert_eq!(
        e(
            r#"{"type":"map","keys":{"type":"string"},"values":{"type":"int32"}}"#,
            "[]"
        ),
        "Maps with string fields should be encoded as JSON objects, but found ARRAY"
    );
    let int_map = r#"{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}}"#;
    assert_eq!(
        e(int_map, "{}"),
        "Maps with non-string fields should be encoded as JSON array of tuples, but found OBJECT"
    );
    assert_eq!(
        e(int_map, "[1]"),
        "Found invalid map entry instead of array tuple: NUMBER"
    );
    assert_eq!(
        e(int_map, "[[1,2,3]]"),
        "Found invalid map entry, expected length 2 but found :3"
    );
    assert_eq!(
        e(r#"{"type":"struct","fields":[]}"#, "[]"),
        "Structs should be encoded as JSON objects, but found ARRAY"
    );
}

#[test]
fn write_errors() {
    let c = with_schemas();
    assert_eq!(
        write_err(&c, Some(&req(SchemaType::Float64)), &Value::Boolean(true)),
        "Invalid type for FLOAT64: class java.lang.Boolean"
    );
    assert_eq!(
        write_err(&c, Some(&req(SchemaType::Int64)), &Value::Int32(1)),
        "Invalid type for INT64: class java.lang.Integer"
    );
    assert_eq!(
        write_err(&c, Some(&req(SchemaType::Bytes)), &s("x")),
        "Invalid type for bytes type: class java.lang.String"
    );
    assert_eq!(
        write_err(&c, None, &Value::Decimal(Decimal::new(1, 0))),
        "Java class class java.math.BigDecimal does not have corresponding schema type."
    );
    assert_eq!(
        write_err(&c, None, &Value::Date(1)),
        "Java class class java.util.Date does not have corresponding schema type."
    );
    assert_eq!(
        write_err(
            &c,
            Some(&LogicalType::decimal(2)),
            &Value::Bytes(Bytes::new())
        ),
        "Invalid type for Decimal, expected BigDecimal but was class [B"
    );
    assert_eq!(
        write_err(&c, Some(&LogicalType::Date.schema()), &Value::Int32(1)),
        "Invalid type for Date, expected Date but was class java.lang.Integer"
    );
    assert_eq!(
        write_err(&c, Some(&LogicalType::decimal(2)), &Value::Decimal(Decimal::new(1, 3))),
        "Decimal value has mismatching scale for given Decimal schema. Schema has scale 2, value has scale 3."
    );
    // NUMERIC writes the value as it is, whatever its scale.
    assert!(write(
        &numeric(),
        Some(&LogicalType::decimal(2)),
        &Value::Decimal(Decimal::new(1, 3))
    )
    .ends_with(r#""payload":0.001}"#));
    assert_eq!(
        write_err(&c, Some(&LogicalType::Time.schema()), &Value::Time(-1)),
        "Kafka Connect Time type should not have any date fields set to non-zero values."
    );
    let a = SchemaBuilder::struct_()
        .field("x", req(SchemaType::Int32))
        .unwrap()
        .build();
    let b = SchemaBuilder::struct_()
        .field("y", req(SchemaType::Int32))
        .unwrap()
        .build();
    let value = Value::Struct(Struct::new(a).unwrap().with("x", 1).unwrap());
    assert_eq!(write_err(&c, Some(&b), &value), "Mismatching schema.");
    assert_eq!(write_err(&c, None, &value), "Mismatching schema.");
}

// ---- caches, headers, config -----------------------------------------------------------------

#[test]
fn schemas_are_translated_once() {
    let c = with_schemas();
    let schema = sample_struct_schema();
    let value = sample_struct(&schema);
    let json = write(&c, Some(&schema), &value);
    assert_eq!(write(&c, Some(&schema), &value), json);
    assert_eq!(c.cached_schemas(), (1, 0));
    let first = read(&c, &json).schema.unwrap();
    let second = read(&c, &json).schema.unwrap();
    assert!(
        SchemaRef::ptr_eq(&first, &second),
        "second read reuses the cached schema"
    );
    assert_eq!(c.cached_schemas(), (1, 1));
    let small = JsonConverter::new(JsonConverterConfig {
        schemas_cache_size: 1,
        ..Default::default()
    });
    write(&small, Some(&req(SchemaType::Int8)), &Value::Int8(1));
    write(&small, Some(&req(SchemaType::Int16)), &Value::Int16(1));
    assert_eq!(small.cached_schemas().0, 1);
}

/// Struct member names are written from a per-schema cache after the first record: the
/// output is the same with the cache on or off, first write or later, for names that need
/// escapes, structs nested in structs, arrays and maps, and a struct whose own schema is an
/// equal copy of the one it is written with.
#[test]
fn member_names_are_written_alike_with_and_without_the_cache() {
    let inner = SchemaBuilder::struct_()
        .field("quote\"d", req(SchemaType::Int32))
        .unwrap()
        .field("tab\tbed", opt(SchemaType::String))
        .unwrap()
        .build();
    let schema = SchemaBuilder::struct_()
        .field("id", req(SchemaType::Int64))
        .unwrap()
        .field("inner", inner.clone())
        .unwrap()
        .field("list", SchemaBuilder::array(inner.clone()).build())
        .unwrap()
        .field(
            "by_key",
            SchemaBuilder::map(req(SchemaType::String), inner.clone()).build(),
        )
        .unwrap()
        .build();
    let inner_value = |n: i32, text: &str, of: &SchemaRef| {
        Value::Struct(Struct::from_values(of.clone(), vec![Value::Int32(n), s(text)]).unwrap())
    };
    // The value's own schema is an equal copy, not the schema's own Arc.
    let copy = SchemaRef::new((*inner).clone());
    let value = Value::Struct(
        Struct::from_values(
            schema.clone(),
            vec![
                Value::Int64(7),
                inner_value(1, "a", &inner),
                Value::Array(vec![
                    inner_value(2, "b", &copy),
                    inner_value(3, "c", &inner),
                ]),
                Value::Map(vec![(s("k"), inner_value(4, "d", &copy))]),
            ],
        )
        .unwrap(),
    );
    let expected = concat!(
        r#"{"id":7,"inner":{"quote\"d":1,"tab\tbed":"a"},"#,
        r#""list":[{"quote\"d":2,"tab\tbed":"b"},{"quote\"d":3,"tab\tbed":"c"}],"#,
        r#""by_key":{"k":{"quote\"d":4,"tab\tbed":"d"}}}"#
    );
    let cached = schemaless();
    let uncached = JsonConverter::new(JsonConverterConfig {
        schemas_enable: false,
        schemas_cache_size: 0,
        ..Default::default()
    });
    for _ in 0..2 {
        assert_eq!(write(&cached, Some(&schema), &value), expected);
        assert_eq!(write(&uncached, Some(&schema), &value), expected);
    }
    // A struct written on its own uses its own entry.
    assert_eq!(
        write(&cached, Some(&inner), &inner_value(5, "e", &inner)),
        r#"{"quote\"d":5,"tab\tbed":"e"}"#
    );
}

/// Struct members of the primitive types, `Date` and `Timestamp` are written by a direct
/// writer once the schema is cached (nested structs are covered by the test above), with
/// names short and long; every value, including nulls, defaults and other logical types,
/// gives the same output or the same error as the general path without the cache.
#[test]
fn struct_members_are_written_alike_by_the_direct_writers() {
    let with_default = SchemaBuilder::new(SchemaType::Int32)
        .optional()
        .default_value(Value::Int32(9))
        .unwrap()
        .build();
    let fields: Vec<(&str, SchemaRef)> = vec![
        ("i8", req(SchemaType::Int8)),
        ("i16", req(SchemaType::Int16)),
        ("i32", req(SchemaType::Int32)),
        ("i64", req(SchemaType::Int64)),
        ("f32", req(SchemaType::Float32)),
        ("f64", req(SchemaType::Float64)),
        ("bool", req(SchemaType::Boolean)),
        ("text", opt(SchemaType::String)),
        ("date", LogicalType::Date.schema()),
        ("ts", LogicalType::Timestamp.schema()),
        ("time", LogicalType::Time.schema()),
        ("dec", LogicalType::decimal(2)),
        ("dflt", with_default),
        (
            "a_member_name_longer_than_thirty_two_bytes",
            req(SchemaType::Int64),
        ),
    ];
    let mut builder = SchemaBuilder::struct_();
    for (name, schema) in &fields {
        builder = builder.field(*name, schema.clone()).unwrap();
    }
    let schema = builder.build();
    let good = vec![
        Value::Int8(-8),
        Value::Int16(16),
        Value::Int32(-32),
        Value::Int64(1 << 40),
        Value::Float32(0.1),
        Value::Float64(f64::NAN),
        Value::Boolean(true),
        s("a \"quoted\" text"),
        Value::Date(19_000),
        Value::Timestamp(1_700_000_000_123),
        Value::Time(1_000),
        Value::Decimal(Decimal::new(1234, 2)),
        Value::Null,
        Value::Int64(5),
    ];
    let cached = schemaless();
    let uncached = JsonConverter::new(JsonConverterConfig {
        schemas_enable: false,
        schemas_cache_size: 0,
        ..Default::default()
    });
    let value = Value::Struct(Struct::from_values(schema.clone(), good.clone()).unwrap());
    let expected = concat!(
        r#"{"i8":-8,"i16":16,"i32":-32,"i64":1099511627776,"f32":0.1,"f64":"NaN","#,
        r#""bool":true,"text":"a \"quoted\" text","date":19000,"ts":1700000000123,"#,
        r#""time":1000,"dec":"BNI=","dflt":9,"a_member_name_longer_than_thirty_two_bytes":5}"#
    );
    for _ in 0..2 {
        assert_eq!(write(&cached, Some(&schema), &value), expected);
        assert_eq!(write(&uncached, Some(&schema), &value), expected);
    }
    // A null in the optional string field, and a Time out of its range: the same output
    // and the same error either way.
    let mut values = good.clone();
    values[7] = Value::Null;
    let value = Value::Struct(Struct::from_values(schema.clone(), values.clone()).unwrap());
    let expected = write(&uncached, Some(&schema), &value);
    assert!(expected.contains(r#""text":null"#), "{expected}");
    assert_eq!(write(&cached, Some(&schema), &value), expected);
    values[10] = Value::Time(-1);
    let value = Value::Struct(Struct::from_values_unchecked(schema.clone(), values).unwrap());
    let expected = write_err(&uncached, Some(&schema), &value);
    assert!(expected.contains("Time type"), "{expected}");
    assert_eq!(write_err(&cached, Some(&schema), &value), expected);
}

#[test]
fn works_as_header_converter() {
    let c = with_schemas();
    let bytes = c
        .from_connect_header(TOPIC, "h", Some(&req(SchemaType::String)), &s("v"))
        .unwrap()
        .unwrap();
    assert_eq!(
        &bytes[..],
        br#"{"schema":{"type":"string","optional":false},"payload":"v"}"#
    );
    assert_eq!(
        c.to_connect_header(TOPIC, "h", Some(bytes)).unwrap(),
        SchemaAndValue::new(Some(req(SchemaType::String)), s("v"))
    );
}

#[test]
fn config_keys() {
    let props = |pairs: &[(&str, &str)]| -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let cfg = JsonConverterConfig::from_config(
        &props(&[
            ("schemas.enable", "false"),
            ("decimal.format", "numeric"),
            ("schemas.cache.size", "5"),
            ("replace.null.with.default", "false"),
        ]),
        ConverterType::Value,
    )
    .unwrap();
    assert_eq!(
        cfg,
        JsonConverterConfig {
            schemas_enable: false,
            schemas_cache_size: 5,
            decimal_format: DecimalFormat::Numeric,
            replace_null_with_default: false,
        }
    );
    assert_eq!(
        JsonConverterConfig::from_config(&ConfigMap::new(), ConverterType::Key).unwrap(),
        JsonConverterConfig::default()
    );
    let err = JsonConverterConfig::from_config(
        &props(&[("decimal.format", "HEX")]),
        ConverterType::Value,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration for 'decimal.format': Invalid value HEX for configuration decimal.format: String must be one of (case insensitive): BASE64, NUMERIC"
    );
    let def = JsonConverterConfig::config_def();
    let names: Vec<&str> = def.keys().iter().map(|k| k.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "converter.type",
            "schemas.enable",
            "schemas.cache.size",
            "decimal.format",
            "replace.null.with.default"
        ]
    );
    assert!(def.keys().iter().all(|k| !k.documentation.is_empty()));
}

#[test]
fn deep_nesting_within_jacksons_limit_converts() {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let c = schemaless();
            let json = format!("{}1{}", "[".repeat(999), "]".repeat(999));
            let value = read(&c, &json).value;
            assert_eq!(write(&c, None, &value), json);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Records are written through a buffer the thread reuses: each comes out whole and alone,
/// after a failed record, after a record larger than the buffer the thread keeps, and when
/// records of two converters alternate.
#[test]
fn each_record_is_written_alone_through_the_reused_buffer() {
    let c = schemaless();
    let point = SchemaBuilder::struct_()
        .field("x", req(SchemaType::Int32))
        .unwrap()
        .build();
    let other = SchemaBuilder::struct_()
        .field("x", req(SchemaType::Int32))
        .unwrap()
        .field("y", req(SchemaType::Int32))
        .unwrap()
        .build();
    let good = Value::Struct(Struct::from_values(point.clone(), vec![Value::Int32(1)]).unwrap());
    // A struct of another schema than the one given fails after the brace is written.
    let bad =
        Value::Struct(Struct::from_values(other, vec![Value::Int32(1), Value::Int32(2)]).unwrap());
    assert_eq!(write(&c, Some(&point), &good), r#"{"x":1}"#);
    assert_eq!(write_err(&c, Some(&point), &bad), "Mismatching schema.");
    assert_eq!(write(&c, Some(&point), &good), r#"{"x":1}"#);

    let large = "a".repeat(3 << 20);
    let written = write(&c, None, &s(&large));
    assert_eq!(written.len(), large.len() + 2);
    assert_eq!(write(&c, None, &Value::Int64(7)), "7");

    let enveloped = with_schemas();
    assert_eq!(
        write(&enveloped, Some(&req(SchemaType::Int64)), &Value::Int64(7)),
        r#"{"schema":{"type":"int64","optional":false},"payload":7}"#
    );
    assert_eq!(write(&c, Some(&point), &good), r#"{"x":1}"#);
}

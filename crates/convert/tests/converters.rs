//! StringConverter, ByteArrayConverter, the number converters, BooleanConverter,
//! SimpleHeaderConverter and the plugin registry, against Kafka's reference.

use bytes::Bytes;
use sluice_api::config::ConfigMap;
use sluice_api::converter::{ConverterPlugin, ConverterType};
use sluice_api::data::{
    Decimal, LogicalType, Schema, SchemaAndValue, SchemaBuilder, SchemaType, Struct, Value,
};
use sluice_convert::{
    plugins, BooleanConverter, ByteArrayConverter, Encoding, NumberConverter, NumberType,
    SimpleHeaderConverter, StringConverter,
};

const TOPIC: &str = "t";

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn plugin(class: &str) -> ConverterPlugin {
    plugins()
        .into_iter()
        .find(|p| p.class_name == class)
        .unwrap_or_else(|| panic!("{class} registered"))
}

// ---- StringConverter ------------------------------------------------------------------------

#[test]
fn string_converter_writes_java_to_string() {
    let c = StringConverter::default();
    assert_eq!(c.serialize(&s("héllo")).unwrap(), Bytes::from("héllo"));
    assert_eq!(c.serialize(&Value::Null), None);
    assert_eq!(c.serialize(&Value::Int64(-7)).unwrap(), "-7");
    assert_eq!(c.serialize(&Value::Float64(1e10)).unwrap(), "1.0E10");
    assert_eq!(c.serialize(&Value::Float32(0.5)).unwrap(), "0.5");
    assert_eq!(c.serialize(&Value::Boolean(true)).unwrap(), "true");
    assert_eq!(
        c.serialize(&Value::Decimal(Decimal::new(1, -3))).unwrap(),
        "1E+3"
    );
    let schema = SchemaBuilder::struct_()
        .field("a", Schema::required(SchemaType::Int32))
        .unwrap()
        .field("b", Schema::optional(SchemaType::String))
        .unwrap()
        .build();
    let st = Struct::new(schema)
        .unwrap()
        .with("a", 1)
        .unwrap()
        .with("b", "x")
        .unwrap();
    assert_eq!(c.serialize(&Value::Struct(st)).unwrap(), "Struct{a=1,b=x}");
    assert_eq!(
        c.serialize(&Value::Map(vec![
            (s("k"), Value::Int32(1)),
            (s("j"), s("v"))
        ]))
        .unwrap(),
        "{k=1, j=v}"
    );
    assert_eq!(
        c.serialize(&Value::Array(vec![s("a"), s("b")])).unwrap(),
        "[a, b]"
    );
}

#[test]
fn string_converter_reads_optional_strings() {
    let c = StringConverter::default();
    let optional_string = Some(Schema::optional(SchemaType::String));
    assert_eq!(
        c.deserialize(Some(b"abc")),
        SchemaAndValue::new(optional_string.clone(), s("abc"))
    );
    assert_eq!(
        c.deserialize(None),
        SchemaAndValue::new(optional_string.clone(), Value::Null)
    );
    assert_eq!(
        c.deserialize(Some(b"a\xffb")),
        SchemaAndValue::new(optional_string, s("a\u{FFFD}b"))
    );
    let latin = StringConverter::new(Encoding::Latin1, Encoding::Latin1);
    assert_eq!(
        latin.serialize(&s("é")).unwrap(),
        Bytes::from_static(b"\xe9")
    );
}

#[test]
fn string_converter_plugin_uses_encoding_keys() {
    let p = plugin("org.apache.kafka.connect.storage.StringConverter");
    let props: ConfigMap = [("converter.encoding".to_string(), "UTF-16BE".to_string())].into();
    let c = (p.create.unwrap())(&props, ConverterType::Value).unwrap();
    assert_eq!(
        c.from_connect_data(TOPIC, None, &s("a")).unwrap().unwrap(),
        Bytes::from_static(&[0, b'a'])
    );
    let bad: ConfigMap = [("converter.encoding".to_string(), "nope".to_string())].into();
    let err = match (p.create_header.unwrap())(&bad) {
        Err(e) => e,
        Ok(_) => panic!("unknown encoding accepted"),
    };
    assert!(err.to_string().contains("'converter.encoding'"), "{err}");
    let keys: Vec<String> = (p.config_def)()
        .keys()
        .iter()
        .map(|k| k.name.clone())
        .collect();
    assert_eq!(keys, ["converter.type", "converter.encoding"]);
}

// ---- ByteArrayConverter ---------------------------------------------------------------------

#[test]
fn byte_array_converter_passes_bytes_through() {
    let c = ByteArrayConverter::new();
    let data = Bytes::from_static(b"\x00\x01raw");
    assert_eq!(
        c.serialize(None, &Value::Bytes(data.clone())).unwrap(),
        Some(data.clone())
    );
    assert_eq!(
        c.serialize(Some(&Schema::optional(SchemaType::Bytes)), &Value::Null)
            .unwrap(),
        None
    );
    assert_eq!(
        c.deserialize(Some(data.clone())),
        SchemaAndValue::new(
            Some(Schema::optional(SchemaType::Bytes)),
            Value::Bytes(data)
        )
    );
    assert_eq!(
        c.deserialize(None),
        SchemaAndValue::new(Some(Schema::optional(SchemaType::Bytes)), Value::Null)
    );
    assert_eq!(
        c.serialize(Some(&Schema::required(SchemaType::String)), &s("x"))
            .unwrap_err()
            .to_string(),
        "Invalid schema type for ByteArrayConverter: STRING"
    );
    assert_eq!(
        c.serialize(None, &s("x")).unwrap_err().to_string(),
        "ByteArrayConverter is not compatible with objects of type class java.lang.String"
    );
    assert_eq!(
        c.serialize(
            Some(&LogicalType::decimal(2)),
            &Value::Decimal(Decimal::new(1, 2))
        )
        .unwrap_err()
        .to_string(),
        "ByteArrayConverter is not compatible with objects of type class java.math.BigDecimal"
    );
}

// ---- number converters ----------------------------------------------------------------------

#[test]
fn number_converters_byte_layouts() {
    let cases: Vec<(NumberType, Value, Vec<u8>, SchemaType)> = vec![
        (
            NumberType::Short,
            Value::Int16(0x0102),
            vec![1, 2],
            SchemaType::Int16,
        ),
        (
            NumberType::Short,
            Value::Int16(-2),
            vec![0xff, 0xfe],
            SchemaType::Int16,
        ),
        (
            NumberType::Integer,
            Value::Int32(0x01020304),
            vec![1, 2, 3, 4],
            SchemaType::Int32,
        ),
        (
            NumberType::Long,
            Value::Int64(0x0102030405060708),
            vec![1, 2, 3, 4, 5, 6, 7, 8],
            SchemaType::Int64,
        ),
        (
            NumberType::Long,
            Value::Int64(-1),
            vec![0xff; 8],
            SchemaType::Int64,
        ),
        (
            NumberType::Float,
            Value::Float32(1.0),
            vec![0x3f, 0x80, 0, 0],
            SchemaType::Float32,
        ),
        (
            NumberType::Double,
            Value::Float64(1.0),
            vec![0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
            SchemaType::Float64,
        ),
    ];
    for (t, value, bytes, schema_type) in cases {
        let c = NumberConverter::new(t);
        assert_eq!(
            c.serialize(&value).unwrap().unwrap(),
            Bytes::from(bytes.clone())
        );
        assert_eq!(
            c.deserialize(Some(&bytes)).unwrap(),
            SchemaAndValue::new(Some(Schema::optional(schema_type)), value)
        );
        assert_eq!(c.serialize(&Value::Null).unwrap(), None);
        assert_eq!(c.deserialize(None).unwrap().value, Value::Null);
    }
}

#[test]
fn number_converter_errors() {
    let long = NumberConverter::new(NumberType::Long);
    assert_eq!(
        long.serialize(&Value::Int32(1)).unwrap_err().to_string(),
        "Failed to serialize to long (was class java.lang.Integer): class java.lang.Integer cannot be cast to class java.lang.Long"
    );
    assert_eq!(
        long.deserialize(Some(&[1, 2, 3])).unwrap_err().to_string(),
        "Failed to deserialize long: Size of data received by LongDeserializer is not 8"
    );
    let cases = [
        (
            NumberType::Short,
            "Failed to deserialize short: Size of data received by ShortDeserializer is not 2",
        ),
        (
            NumberType::Integer,
            "Failed to deserialize integer: Size of data received by IntegerDeserializer is not 4",
        ),
        (
            NumberType::Float,
            "Failed to deserialize float: Size of data received by Deserializer is not 4",
        ),
        (
            NumberType::Double,
            "Failed to deserialize double: Size of data received by Deserializer is not 8",
        ),
    ];
    for (t, message) in cases {
        let c = NumberConverter::new(t);
        assert_eq!(c.deserialize(Some(&[])).unwrap_err().to_string(), message);
    }
    assert!(NumberConverter::new(NumberType::Double)
        .serialize(&Value::Float32(1.0))
        .unwrap_err()
        .to_string()
        .starts_with("Failed to serialize to double (was class java.lang.Float): "));
    assert!(long.serialize(&Value::Timestamp(1)).is_err());
}

#[test]
fn boolean_converter() {
    let c = BooleanConverter::new();
    assert_eq!(
        c.serialize(None, &Value::Boolean(true)).unwrap().unwrap(),
        Bytes::from_static(&[1])
    );
    assert_eq!(
        c.serialize(None, &Value::Boolean(false)).unwrap().unwrap(),
        Bytes::from_static(&[0])
    );
    assert_eq!(c.serialize(None, &Value::Null).unwrap(), None);
    assert_eq!(
        c.deserialize(Some(&[1])).unwrap(),
        SchemaAndValue::new(
            Some(Schema::optional(SchemaType::Boolean)),
            Value::Boolean(true)
        )
    );
    assert_eq!(
        c.deserialize(Some(&[0])).unwrap().value,
        Value::Boolean(false)
    );
    assert_eq!(
        c.serialize(
            Some(&Schema::required(SchemaType::Int8)),
            &Value::Boolean(true)
        )
        .unwrap_err()
        .to_string(),
        "Invalid schema type for BooleanConverter: INT8"
    );
    assert_eq!(
        c.serialize(None, &Value::Int8(1)).unwrap_err().to_string(),
        "BooleanConverter is not compatible with objects of type class java.lang.Byte"
    );
    assert_eq!(
        c.deserialize(Some(&[0, 1])).unwrap_err().to_string(),
        "Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1"
    );
    assert_eq!(
        c.deserialize(Some(&[0xff])).unwrap_err().to_string(),
        "Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: -1"
    );
}

// ---- SimpleHeaderConverter ------------------------------------------------------------------

fn header_read(text: &str) -> SchemaAndValue {
    SimpleHeaderConverter.deserialize(Some(text.as_bytes()))
}

#[test]
fn simple_header_inference_table() {
    let typed = |text: &str| {
        let sv = header_read(text);
        (sv.schema.map(|s| (*s).clone()), sv.value)
    };
    let req = |t: SchemaType| Some(Schema::new(t));
    assert_eq!(typed("42"), (req(SchemaType::Int8), Value::Int8(42)));
    assert_eq!(typed("300"), (req(SchemaType::Int16), Value::Int16(300)));
    assert_eq!(
        typed("66000"),
        (req(SchemaType::Int32), Value::Int32(66000))
    );
    assert_eq!(
        typed("1.5"),
        (req(SchemaType::Float32), Value::Float32(1.5))
    );
    assert_eq!(
        typed("true"),
        (req(SchemaType::Boolean), Value::Boolean(true))
    );
    assert_eq!(typed("TRUE"), (req(SchemaType::String), s("TRUE")));
    assert_eq!(typed("hello"), (req(SchemaType::String), s("hello")));
    assert_eq!(typed(""), (req(SchemaType::String), s("")));
    assert_eq!(typed("12:30:00"), (req(SchemaType::Int8), Value::Int8(12)));
    assert_eq!(typed("[foo]"), (req(SchemaType::String), s("[foo]")));
    assert_eq!(typed("{a:1}"), (req(SchemaType::String), s("{a:1}")));
    assert_eq!(
        typed("2024-01-02"),
        (
            Some((*LogicalType::Date.schema()).clone()),
            Value::Date(19_724)
        )
    );
    assert_eq!(header_read("null"), SchemaAndValue::NULL);
    assert_eq!(
        SimpleHeaderConverter.deserialize(None),
        SchemaAndValue::NULL
    );

    let array = header_read("[1,2,3]");
    assert_eq!(
        array.schema,
        Some(SchemaBuilder::array(Schema::required(SchemaType::Int8)).build())
    );
    assert_eq!(
        array.value,
        Value::Array(vec![Value::Int8(1), Value::Int8(2), Value::Int8(3)])
    );
    let map = header_read(r#"{"a":1}"#);
    assert_eq!(
        map.schema,
        Some(
            SchemaBuilder::map(
                Schema::required(SchemaType::String),
                Schema::required(SchemaType::Int8)
            )
            .build()
        )
    );
    assert_eq!(map.value, Value::Map(vec![(s("a"), Value::Int8(1))]));
    assert_eq!(
        header_read("a\u{FFFD}"),
        SimpleHeaderConverter.deserialize(Some(b"a\xff"))
    );
}

#[test]
fn simple_header_writes_values_text() {
    let w = |v: &Value| {
        SimpleHeaderConverter
            .serialize(v)
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    };
    assert_eq!(w(&Value::Null), None);
    assert_eq!(w(&s("plain")).as_deref(), Some("plain"));
    assert_eq!(w(&Value::Int32(42)).as_deref(), Some("42"));
    assert_eq!(w(&Value::Float64(1.0)).as_deref(), Some("1.0"));
    assert_eq!(w(&Value::Boolean(false)).as_deref(), Some("false"));
    assert_eq!(
        w(&Value::Bytes(Bytes::from_static(b"hi"))).as_deref(),
        Some("aGk=")
    );
    assert_eq!(
        w(&Value::Array(vec![Value::Int8(1), s("x"), Value::Null])).as_deref(),
        Some(r#"[1,"x",null]"#)
    );
    assert_eq!(
        w(&Value::Map(vec![(s("a"), Value::Int8(1))])).as_deref(),
        Some(r#"{"a":1}"#)
    );
    assert_eq!(w(&Value::Date(19_724)).as_deref(), Some("2024-01-02"));
    assert_eq!(
        w(&Value::Timestamp(86_400_001)).as_deref(),
        Some("1970-01-02T00:00:00.001Z")
    );
    // What is written reads back as the same value.
    for v in [
        Value::Int8(-5),
        Value::Boolean(true),
        Value::Date(19_724),
        Value::Array(vec![Value::Int8(1), Value::Int8(2)]),
        Value::Map(vec![(s("k"), s("v"))]),
    ] {
        let text = w(&v).unwrap();
        assert_eq!(header_read(&text).value, v, "{text}");
    }
}

// ---- registry -------------------------------------------------------------------------------

#[test]
fn plugins_cover_kafkas_classes() {
    let classes: Vec<&str> = plugins().iter().map(|p| p.class_name).collect();
    assert_eq!(
        classes,
        [
            "org.apache.kafka.connect.json.JsonConverter",
            "org.apache.kafka.connect.storage.StringConverter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
            "org.apache.kafka.connect.converters.ShortConverter",
            "org.apache.kafka.connect.converters.IntegerConverter",
            "org.apache.kafka.connect.converters.LongConverter",
            "org.apache.kafka.connect.converters.FloatConverter",
            "org.apache.kafka.connect.converters.DoubleConverter",
            "org.apache.kafka.connect.converters.BooleanConverter",
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        ]
    );
    for p in plugins() {
        assert!(
            p.create_header.is_some(),
            "{} converts headers",
            p.class_name
        );
        let header = (p.create_header.unwrap())(&ConfigMap::new());
        assert!(header.is_ok(), "{}", p.class_name);
        for key in (p.config_def)().keys() {
            assert!(
                !key.documentation.is_empty(),
                "{} documents {}",
                p.class_name,
                key.name
            );
        }
        if p.class_name.ends_with("SimpleHeaderConverter") {
            assert!(p.create.is_none());
            assert!((p.config_def)().keys().is_empty());
        } else {
            let c = (p.create.unwrap())(&ConfigMap::new(), ConverterType::Key).unwrap();
            assert_eq!(
                c.from_connect_data(TOPIC, None, &Value::Null).unwrap(),
                None
            );
        }
    }
    let long = (plugin("org.apache.kafka.connect.converters.LongConverter")
        .create
        .unwrap())(&ConfigMap::new(), ConverterType::Value)
    .unwrap();
    assert_eq!(
        long.from_connect_data(TOPIC, None, &Value::Int64(1))
            .unwrap()
            .unwrap(),
        Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 1])
    );
}

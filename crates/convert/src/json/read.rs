//! JSON to Connect data: Kafka's `asConnectSchema` and `convertToConnect`.
//!
//! With a schema, primitives are read with Jackson's lenient accessors and are not type
//! checked, exactly as Kafka does (a quirk kept so data reads the same): integers take the low
//! bits of the number's integer part (`300` as int8 is `44`), a non-number reads as `0`, a
//! non-boolean as `false`, a non-string as null for strings and bytes; an array schema over an
//! object reads the member values and over a scalar reads an empty list. Numbers are read from
//! their text, so a Decimal keeps every digit and its own scale.
//!
//! One deliberate difference: the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, which is
//! how Jackson writes non-finite floats, read back as those floats for float schemas (Kafka
//! reads them as `0.0`), so every float value round-trips.

use base64::Engine;
use bytes::Bytes;
use num_bigint::BigInt;
use sluice_api::data::values;
use sluice_api::data::{
    Decimal, LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_api::{ConnectError, Result};

use super::parser::{Node, Number};

/// Kafka's `asConnectSchema`: `None` for a JSON `null` schema.
pub(crate) fn as_connect_schema(node: &Node<'_>, replace_null: bool) -> Result<Option<SchemaRef>> {
    if matches!(node, Node::Null) {
        return Ok(None);
    }
    let schema_type = match node.get("type") {
        Some(Node::String(t)) => t,
        _ => return Err(ConnectError::data("Schema must contain 'type' field")),
    };
    let mut builder = match schema_type.as_ref() {
        "boolean" => SchemaBuilder::new(SchemaType::Boolean),
        "int8" => SchemaBuilder::new(SchemaType::Int8),
        "int16" => SchemaBuilder::new(SchemaType::Int16),
        "int32" => SchemaBuilder::new(SchemaType::Int32),
        "int64" => SchemaBuilder::new(SchemaType::Int64),
        "float" => SchemaBuilder::new(SchemaType::Float32),
        "double" => SchemaBuilder::new(SchemaType::Float64),
        "bytes" => SchemaBuilder::new(SchemaType::Bytes),
        "string" => SchemaBuilder::new(SchemaType::String),
        "array" => {
            let items = match node.get("items") {
                None | Some(Node::Null) => {
                    return Err(ConnectError::data(
                        "Array schema did not specify the element type",
                    ))
                }
                Some(items) => as_connect_schema(items, replace_null)?,
            };
            let Some(items) = items else {
                return Err(ConnectError::data(
                    "Array schema did not specify the element type",
                ));
            };
            SchemaBuilder::array(items)
        }
        "map" => {
            let Some(keys) = node.get("keys") else {
                return Err(ConnectError::data(
                    "Map schema did not specify the key type",
                ));
            };
            let Some(values) = node.get("values") else {
                return Err(ConnectError::data(
                    "Map schema did not specify the value type",
                ));
            };
            let keys = as_connect_schema(keys, replace_null)?
                .ok_or_else(|| ConnectError::data("keySchema cannot be null."))?;
            let values = as_connect_schema(values, replace_null)?
                .ok_or_else(|| ConnectError::data("valueSchema cannot be null."))?;
            SchemaBuilder::map(keys, values)
        }
        "struct" => {
            let Some(Node::Array(fields)) = node.get("fields") else {
                return Err(ConnectError::data(
                    "Struct schema's \"fields\" argument is not an array.",
                ));
            };
            let mut builder = SchemaBuilder::struct_();
            for field in fields {
                let Some(Node::String(name)) = field.get("field") else {
                    return Err(ConnectError::data(
                        "Struct schema's field name not specified properly",
                    ));
                };
                let field_schema = as_connect_schema(field, replace_null)?
                    .ok_or_else(|| ConnectError::data("Schema must contain 'type' field"))?;
                builder = builder.field(name.as_ref(), field_schema)?;
            }
            builder
        }
        other => {
            return Err(ConnectError::data(format!("Unknown schema type: {other}")));
        }
    };
    builder = if matches!(node.get("optional"), Some(Node::Bool(true))) {
        builder.optional()
    } else {
        builder.required()
    };
    if let Some(Node::String(name)) = node.get("name") {
        builder = builder.name(name.as_ref());
    }
    if let Some(Node::Number(n)) = node.get("version") {
        if n.integral {
            builder = builder.version(low_i64(n) as i32);
        }
    }
    if let Some(Node::String(doc)) = node.get("doc") {
        builder = builder.doc(doc.as_ref());
    }
    if let Some(Node::Object(params)) = node.get("parameters") {
        for (k, v) in params {
            let Node::String(v) = v else {
                return Err(ConnectError::data(
                    "Schema parameters must have string values.",
                ));
            };
            builder = builder.parameter(k.as_ref(), v.as_ref());
        }
    }
    if let Some(default) = node.get("default") {
        let without_default = builder.build();
        let value = to_connect(Some(&without_default), Some(default), replace_null)?;
        builder = SchemaBuilder::from_schema(&without_default);
        if !value.is_null() {
            builder = builder.default_value(value)?;
        }
    }
    Ok(Some(builder.build()))
}

/// Kafka's `convertToConnect`: `node` is `None` for a missing struct member.
pub(crate) fn to_connect(
    schema: Option<&SchemaRef>,
    node: Option<&Node<'_>>,
    replace_null: bool,
) -> Result<Value> {
    let Some(schema) = schema else {
        return Ok(node.map(schemaless).unwrap_or_default());
    };
    let node = match node {
        None | Some(Node::Null) => {
            if let (Some(default), true) = (&schema.default, replace_null) {
                return Ok(default.clone());
            }
            if schema.optional {
                return Ok(Value::Null);
            }
            return Err(ConnectError::data(format!(
                "Invalid null value for required {} field",
                schema.schema_type
            )));
        }
        Some(node) => node,
    };
    if let Some(logical) = schema.logical_type() {
        return logical_to_connect(schema, logical, node);
    }
    Ok(match schema.schema_type {
        SchemaType::Boolean => Value::Boolean(matches!(node, Node::Bool(true))),
        SchemaType::Int8 => Value::Int8(long_value(node) as i8),
        SchemaType::Int16 => Value::Int16(long_value(node) as i16),
        SchemaType::Int32 => Value::Int32(long_value(node) as i32),
        SchemaType::Int64 => Value::Int64(long_value(node)),
        SchemaType::Float32 => Value::Float32(match node {
            Node::Number(n) => n.text.parse().unwrap_or(0.0),
            other => non_finite(other).unwrap_or(0.0) as f32,
        }),
        SchemaType::Float64 => Value::Float64(double_value(node)),
        SchemaType::String => match node {
            Node::String(s) => Value::String(s.as_ref().to_owned()),
            _ => Value::Null,
        },
        SchemaType::Bytes => match node {
            Node::String(s) => Value::Bytes(Bytes::from(
                decode_base64(s).ok_or_else(|| ConnectError::data("Invalid bytes field"))?,
            )),
            _ => Value::Null,
        },
        SchemaType::Array => {
            let element = schema.value_schema.as_ref();
            match node {
                Node::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|n| to_connect(element, Some(n), replace_null))
                        .collect::<Result<_>>()?,
                ),
                Node::Object(members) => Value::Array(
                    members
                        .iter()
                        .map(|(_, n)| to_connect(element, Some(n), replace_null))
                        .collect::<Result<_>>()?,
                ),
                _ => Value::Array(Vec::new()),
            }
        }
        SchemaType::Map => map_to_connect(schema, node, replace_null)?,
        SchemaType::Struct => struct_to_connect(schema, node, replace_null)?,
    })
}

fn map_to_connect(schema: &SchemaRef, node: &Node<'_>, replace_null: bool) -> Result<Value> {
    let key_schema = schema.key_schema.as_ref();
    let value_schema = schema.value_schema.as_ref();
    let string_keys = key_schema.is_none_or(|k| k.schema_type == SchemaType::String);
    let mut entries = Vec::new();
    if string_keys {
        let Node::Object(members) = node else {
            return Err(ConnectError::data(format!(
                "Maps with string fields should be encoded as JSON objects, but found {}",
                node.type_name()
            )));
        };
        entries.reserve(members.len());
        for (k, v) in members {
            entries.push((
                Value::String(k.as_ref().to_owned()),
                to_connect(value_schema, Some(v), replace_null)?,
            ));
        }
    } else {
        let Node::Array(items) = node else {
            return Err(ConnectError::data(format!(
                "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
                node.type_name()
            )));
        };
        entries.reserve(items.len());
        for item in items {
            let Node::Array(pair) = item else {
                return Err(ConnectError::data(format!(
                    "Found invalid map entry instead of array tuple: {}",
                    item.type_name()
                )));
            };
            if pair.len() != 2 {
                return Err(ConnectError::data(format!(
                    "Found invalid map entry, expected length 2 but found :{}",
                    pair.len()
                )));
            }
            entries.push((
                to_connect(key_schema, Some(&pair[0]), replace_null)?,
                to_connect(value_schema, Some(&pair[1]), replace_null)?,
            ));
        }
    }
    Ok(Value::Map(dedupe_keys(entries)))
}

fn struct_to_connect(schema: &SchemaRef, node: &Node<'_>, replace_null: bool) -> Result<Value> {
    let Node::Object(members) = node else {
        return Err(ConnectError::data(format!(
            "Structs should be encoded as JSON objects, but found {}",
            node.type_name()
        )));
    };
    // Match members to fields in one pass; members usually come in field order. A later
    // duplicate member wins, as in Jackson.
    let fields = &schema.fields;
    let mut slots: Vec<Option<&Node<'_>>> = vec![None; fields.len()];
    let mut next = 0;
    for (name, value) in members {
        let index = if fields.get(next).is_some_and(|f| f.name == *name) {
            Some(next)
        } else {
            fields.iter().position(|f| f.name == *name)
        };
        if let Some(i) = index {
            slots[i] = Some(value);
            next = i + 1;
        }
    }
    let mut result = Struct::new(schema.clone())?;
    for (field, slot) in fields.iter().zip(slots) {
        let value = to_connect(Some(&field.schema), slot, replace_null)?;
        result.put(&field.name, value)?;
    }
    Ok(Value::Struct(result))
}

fn logical_to_connect(schema: &Schema, logical: LogicalType, node: &Node<'_>) -> Result<Value> {
    match logical {
        LogicalType::Decimal => match node {
            Node::Number(n) => Decimal::parse(n.text)
                .map(Value::Decimal)
                .ok_or_else(|| ConnectError::data("Invalid bytes for Decimal field")),
            Node::String(s) => {
                let bytes = decode_base64(s)
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| ConnectError::data("Invalid bytes for Decimal field"))?;
                let scale = LogicalType::decimal_scale(schema)
                    .map_err(|_| ConnectError::data("Invalid bytes for Decimal field"))?;
                Ok(Value::Decimal(Decimal::from_bytes(&bytes, scale)))
            }
            other => Err(ConnectError::data(format!(
                "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                other.type_name()
            ))),
        },
        LogicalType::Date => match int_value(node) {
            Some(days) => Ok(Value::Date(days)),
            None => Err(ConnectError::data(format!(
                "Invalid type for Date, underlying representation should be integer but was {}",
                node.type_name()
            ))),
        },
        LogicalType::Time => match int_value(node) {
            Some(ms) if (0..=LogicalType::MILLIS_PER_DAY).contains(&i64::from(ms)) => Ok(Value::Time(ms)),
            Some(_) => Err(ConnectError::data(
                "Time values must use number of milliseconds greater than 0 and less than 86400000",
            )),
            None => Err(ConnectError::data(format!(
                "Invalid type for Time, underlying representation should be integer but was {}",
                node.type_name()
            ))),
        },
        LogicalType::Timestamp => match node {
            Node::Number(n) if n.integral => Ok(Value::Timestamp(low_i64(n))),
            other => Err(ConnectError::data(format!(
                "Invalid type for Timestamp, underlying representation should be integral but was {}",
                other.type_name()
            ))),
        },
    }
}

/// Reading without a schema: integers are int64, other numbers float64, objects maps.
fn schemaless(node: &Node<'_>) -> Value {
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Boolean(*b),
        Node::Number(n) if n.integral => Value::Int64(low_i64(n)),
        Node::Number(n) => Value::Float64(n.text.parse().unwrap_or(0.0)),
        Node::String(s) => Value::String(s.as_ref().to_owned()),
        Node::Array(items) => Value::Array(items.iter().map(schemaless).collect()),
        Node::Object(members) => Value::Map(dedupe_keys(
            members
                .iter()
                .map(|(k, v)| (Value::String(k.as_ref().to_owned()), schemaless(v)))
                .collect(),
        )),
    }
}

/// Jackson's `isInt()`: an integer token that fits an `int`.
fn int_value(node: &Node<'_>) -> Option<i32> {
    match node {
        Node::Number(n) if n.integral => n.text.parse().ok(),
        _ => None,
    }
}

/// Jackson's `longValue()`: the low 64 bits of the number's integer part; 0 for non-numbers.
fn long_value(node: &Node<'_>) -> i64 {
    match node {
        Node::Number(n) => low_i64(n),
        _ => 0,
    }
}

/// Jackson's `doubleValue()`: the correctly rounded double of the number; 0 for non-numbers.
fn double_value(node: &Node<'_>) -> f64 {
    match node {
        Node::Number(n) => n.text.parse().unwrap_or(0.0),
        other => non_finite(other).unwrap_or(0.0),
    }
}

/// The strings Jackson writes for NaN and the infinities. Kafka reads them back as 0.0;
/// Sluice reads them as the values they stand for, so such floats round-trip.
fn non_finite(node: &Node<'_>) -> Option<f64> {
    match node {
        Node::String(s) => match s.as_ref() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn low_i64(n: &Number<'_>) -> i64 {
    if n.integral {
        if let Ok(v) = n.text.parse::<i64>() {
            return v;
        }
        if let Ok(big) = n.text.parse::<BigInt>() {
            return values::low_i64(&big);
        }
        return 0;
    }
    Decimal::parse(n.text)
        .map(|d| values::decimal_low_i64(&d))
        .unwrap_or(0)
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Keeps the first position and last value of equal keys, as Kafka's maps do. Keys are
/// compared by fingerprint first, so the usual case (no duplicates) costs one hash per key.
fn dedupe_keys(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    const SMALL: usize = 32;
    let n = entries.len();
    if n < 2 {
        return entries;
    }
    if n <= SMALL {
        let mut prints = [0u64; SMALL];
        let mut duplicate = false;
        for (i, (k, _)) in entries.iter().enumerate() {
            let fp = fingerprint(k);
            duplicate |= prints[..i]
                .iter()
                .zip(&entries)
                .any(|(p, (other, _))| *p == fp && other == k);
            prints[i] = fp;
        }
        if !duplicate {
            return entries;
        }
    }
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(n);
    let mut index: std::collections::HashMap<u64, Vec<usize>> = std::collections::HashMap::new();
    for (k, v) in entries {
        let slots = index.entry(fingerprint(&k)).or_default();
        match slots.iter().find(|&&i| out[i].0 == k) {
            Some(&i) => out[i].1 = v,
            None => {
                slots.push(out.len());
                out.push((k, v));
            }
        }
    }
    out
}

/// A hash of a map key for duplicate detection (FNV-1a over a type tag and the content).
fn fingerprint(v: &Value) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    match v {
        Value::String(s) => {
            feed(&[1]);
            feed(s.as_bytes());
        }
        Value::Int8(i) => feed(&[2, *i as u8]),
        Value::Int16(i) => {
            feed(&[3]);
            feed(&i.to_le_bytes());
        }
        Value::Int32(i) | Value::Date(i) | Value::Time(i) => {
            feed(&[4]);
            feed(&i.to_le_bytes());
        }
        Value::Int64(i) | Value::Timestamp(i) => {
            feed(&[5]);
            feed(&i.to_le_bytes());
        }
        Value::Boolean(b) => feed(&[6, u8::from(*b)]),
        Value::Bytes(b) => {
            feed(&[7]);
            feed(b);
        }
        Value::Float32(f) => {
            feed(&[8]);
            feed(&f.to_le_bytes());
        }
        Value::Float64(f) => {
            feed(&[9]);
            feed(&f.to_le_bytes());
        }
        Value::Decimal(d) => {
            feed(&[10]);
            feed(&d.to_bytes());
        }
        Value::Null | Value::Array(_) | Value::Map(_) | Value::Struct(_) => feed(&[11]),
    }
    h
}

//! The record as a jq object, and a program's result turned back into a record.
//!
//! The program's input `.` is
//! `{"topic", "partition", "key", "value", "timestamp", "headers", "offset"}`: `partition`,
//! `timestamp` (milliseconds since the epoch) and `offset` (sink records only) are integers
//! or null, `headers` is an object of header names to values (the last value when a name
//! repeats).
//!
//! A result object is the whole new record: a member left out is null (no headers for
//! `headers`), `topic` must be a string, `partition` and `timestamp` integers or null;
//! `offset` is read only and ignored; any other member is an error (it catches typos such as
//! `.vaule`). A key or headers object the program did not touch is kept exactly as it came
//! in, schema included; the value is always converted back (see [`super::convert`]), which
//! keeps its types through its schema or, schemaless, through the input value's types.

use std::sync::Arc;

use jaq_json::{Map, Num, Rc, Val};
use sluice_api::data::{Header, Headers, SchemaRef, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::{ConnectRecord, TimestampType};

use super::convert::{self, Shapes};

/// Member names of the record object.
pub(super) const TOPIC: &str = "topic";
pub(super) const PARTITION: &str = "partition";
pub(super) const KEY: &str = "key";
pub(super) const VALUE: &str = "value";
pub(super) const TIMESTAMP: &str = "timestamp";
pub(super) const HEADERS: &str = "headers";
pub(super) const OFFSET: &str = "offset";

/// The jq views of the key and headers, kept to recognise them in the result when the
/// program leaves them untouched (the value is not kept: holding it would make jq copy it on
/// every change, and a changed value is the common case).
pub(super) struct Inputs {
    key: Val,
    headers: Val,
}

/// A jq integer, or null.
pub(super) fn optional_int(i: Option<i64>) -> Val {
    i.map_or(Val::Null, convert::int)
}

/// The jq view of the headers: an object of header names, in the order each name first
/// appears, to the last value with that name.
pub(super) fn headers_view(record_headers: &Headers) -> Val {
    let mut headers = Map::default();
    headers.reserve(record_headers.len());
    for h in record_headers {
        headers.insert(convert::text(&h.key), convert::to_val(&h.value));
    }
    Val::obj(headers)
}

/// The record as the program's input, and the views of its key, value and headers.
pub(super) fn to_input(record: &ConnectRecord) -> (Val, Inputs) {
    let inputs = Inputs {
        key: convert::to_val(&record.key),
        headers: headers_view(&record.headers),
    };
    let mut root = Map::default();
    root.reserve(7);
    root.insert(convert::static_text(TOPIC), convert::text(&record.topic));
    root.insert(
        convert::static_text(PARTITION),
        optional_int(record.kafka_partition.map(i64::from)),
    );
    root.insert(convert::static_text(KEY), inputs.key.clone());
    root.insert(convert::static_text(VALUE), convert::to_val(&record.value));
    root.insert(
        convert::static_text(TIMESTAMP),
        optional_int(record.timestamp),
    );
    root.insert(convert::static_text(HEADERS), inputs.headers.clone());
    root.insert(
        convert::static_text(OFFSET),
        optional_int(record.kafka_offset),
    );
    (Val::obj(root), inputs)
}

/// True when the program returned the very view it was given: the same container (jq copies
/// a container before changing it while we hold it), or an equal scalar.
fn untouched(output: &Val, input: &Val) -> bool {
    match (output, input) {
        (Val::Obj(a), Val::Obj(b)) => Rc::ptr_eq(a, b),
        (Val::Arr(a), Val::Arr(b)) => Rc::ptr_eq(a, b),
        (Val::Obj(_) | Val::Arr(_), _) | (_, Val::Obj(_) | Val::Arr(_)) => false,
        (a, b) => same_scalar(a, b),
    }
}

/// Scalar equality that also tells integers from floats and text from bytes (jq's own `==`
/// does not), so a changed type is never mistaken for an untouched value.
fn same_scalar(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::TStr(x), Val::TStr(y)) | (Val::BStr(x), Val::BStr(y)) => x == y,
        (Val::Num(Num::Int(x)), Val::Num(Num::Int(y))) => x == y,
        (Val::Num(Num::Float(x)), Val::Num(Num::Float(y))) => x.to_bits() == y.to_bits(),
        (Val::Num(Num::Dec(x)), Val::Num(Num::Dec(y))) => x == y,
        (Val::Num(Num::BigInt(x)), Val::Num(Num::BigInt(y))) => x == y,
        _ => false,
    }
}

fn type_name(val: &Val) -> &'static str {
    match val {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Num(_) => "number",
        Val::TStr(_) | Val::BStr(_) => "string",
        Val::Arr(_) => "array",
        Val::Obj(_) => "object",
    }
}

/// The value for messages, shortened to 100 characters.
pub(super) fn shown(val: &Val) -> String {
    let text = val.to_string();
    match text.char_indices().nth(100) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

fn optional_integer(member: &str, val: Val) -> Result<Option<i64>> {
    match val {
        Val::Null => Ok(None),
        Val::Num(Num::Int(i)) => Ok(Some(i as i64)),
        Val::Num(Num::BigInt(i)) => Err(ConnectError::data(format!(
            "expression result: {member} {i} is out of range"
        ))),
        other => Err(ConnectError::data(format!(
            "expression result: {member} must be an integer or null, got {} {}",
            type_name(&other),
            shown(&other)
        ))),
    }
}

/// A key or value from the result: the input one when untouched (`view` is the input's jq
/// view, when kept), else converted back against its schema (or schemaless, with the input
/// as type hint).
fn operand(
    shapes: &Shapes,
    val: Val,
    view: Option<&Val>,
    schema: Option<SchemaRef>,
    original: Value,
) -> Result<(Option<SchemaRef>, Value)> {
    if view.is_some_and(|view| untouched(&val, view)) {
        return Ok((schema, original));
    }
    match schema {
        None => Ok((None, convert::to_schemaless(val, Some(&original)))),
        Some(schema) => {
            let (schema, value) = shapes.fit(val, &schema)?;
            Ok((Some(schema), value))
        }
    }
}

/// The headers from the result object: unchanged entries keep their original headers
/// (duplicates and schemas included), changed ones are converted against the original
/// header's schema (or schemaless, with the original as type hint), new ones get an inferred
/// schema.
fn headers(shapes: &Shapes, val: Val, view: &Val, original: Headers) -> Result<Headers> {
    if untouched(&val, view) {
        return Ok(original);
    }
    let map = match val {
        Val::Null => return Ok(Headers::new()),
        Val::Obj(map) => convert::unwrap_rc(map),
        other => {
            return Err(ConnectError::data(format!(
                "expression result: headers must be an object of header names to values, got \
                 {} {}",
                type_name(&other),
                shown(&other)
            )))
        }
    };
    let before = match view {
        Val::Obj(map) => Some(map),
        _ => None,
    };
    let mut out: Vec<Header> = Vec::with_capacity(map.len());
    for (name, val) in map {
        let Val::TStr(name) = name else {
            return Err(ConnectError::data(format!(
                "expression result: header names must be strings, got {} {}",
                type_name(&name),
                shown(&name)
            )));
        };
        let name = convert::into_string(*name);
        let unchanged = before
            .and_then(|b| b.get(&convert::text(&name)))
            .is_some_and(|old| untouched(&val, old));
        if unchanged {
            out.extend(original.all_with_name(&name).cloned());
            continue;
        }
        let (schema, value) = match original.last_with_name(&name) {
            Some(Header {
                schema: Some(schema),
                ..
            }) => {
                let (schema, value) = shapes.fit(val, schema)?;
                (Some(schema), value)
            }
            Some(Header {
                schema: None,
                value: old,
                ..
            }) => (None, convert::to_schemaless(val, Some(old))),
            None => {
                let (schema, value) = shapes.infer(val)?;
                (Some(schema), value)
            }
        };
        out.push(Header {
            key: name,
            schema,
            value,
        });
    }
    Ok(out.into_iter().collect())
}

/// The error for a member of the result object that is not a record member.
pub(super) fn unknown_member(member: &Val) -> ConnectError {
    ConnectError::data(format!(
        "expression result: unknown record member {} (the members are topic, partition, key, \
         value, timestamp, headers and offset)",
        shown(member)
    ))
}

/// Sets the record's topic from the result's `topic` member (`None`: the member is missing).
pub(super) fn set_topic(record: &mut ConnectRecord, topic: Option<Val>) -> Result<()> {
    match topic {
        Some(Val::TStr(t)) => {
            if t[..] != *record.topic.as_bytes() {
                record.topic = Arc::from(convert::into_string(*t));
            }
            Ok(())
        }
        Some(other) => Err(ConnectError::data(format!(
            "expression result: topic must be a string, got {} {}",
            type_name(&other),
            shown(&other)
        ))),
        None => Err(ConnectError::data(
            "expression result: the record object has no topic",
        )),
    }
}

/// Sets the record's partition from the result's `partition` member.
pub(super) fn set_partition(record: &mut ConnectRecord, partition: Val) -> Result<()> {
    record.kafka_partition = match optional_integer(PARTITION, partition)? {
        None => None,
        Some(p) => match i32::try_from(p) {
            Ok(p) => Some(p),
            Err(e) => {
                return Err(ConnectError::data(format!(
                    "expression result: partition {p} is out of range ({e})"
                )))
            }
        },
    };
    Ok(())
}

/// Sets the record's timestamp from the result's `timestamp` member: a record that gets a
/// timestamp where it had none gets CreateTime, one that loses it NoTimestamp.
pub(super) fn set_timestamp(record: &mut ConnectRecord, timestamp: Val) -> Result<()> {
    let new_timestamp = optional_integer(TIMESTAMP, timestamp)?;
    if new_timestamp != record.timestamp {
        if new_timestamp.is_none() {
            record.timestamp_type = TimestampType::NoTimestamp;
        } else if record.timestamp_type == TimestampType::NoTimestamp {
            record.timestamp_type = TimestampType::CreateTime;
        }
        record.timestamp = new_timestamp;
    }
    Ok(())
}

/// Sets the record's key from the result's `key` member; `view` is the input's jq view of the
/// key, to recognise it when the program left it untouched.
pub(super) fn set_key(
    shapes: &Shapes,
    record: &mut ConnectRecord,
    key: Val,
    view: &Val,
) -> Result<()> {
    let key_schema = record.key_schema.take();
    let original_key = std::mem::take(&mut record.key);
    (record.key_schema, record.key) = operand(shapes, key, Some(view), key_schema, original_key)?;
    Ok(())
}

/// Sets the record's value from the result's `value` member (always converted back).
pub(super) fn set_value(shapes: &Shapes, record: &mut ConnectRecord, value: Val) -> Result<()> {
    let value_schema = record.value_schema.take();
    let original_value = std::mem::take(&mut record.value);
    (record.value_schema, record.value) =
        operand(shapes, value, None, value_schema, original_value)?;
    Ok(())
}

/// Sets the record's headers from the result's `headers` member; `view` is the input's jq
/// view of the headers.
pub(super) fn set_headers(
    shapes: &Shapes,
    record: &mut ConnectRecord,
    header_val: Val,
    view: &Val,
) -> Result<()> {
    let original_headers = std::mem::take(&mut record.headers);
    record.headers = headers(shapes, header_val, view, original_headers)?;
    Ok(())
}

/// The record a result object describes (see the module docs); `record` is the input
/// record, whose parts are reused where the program left them untouched.
pub(super) fn from_result(
    shapes: &Shapes,
    map: Map,
    inputs: &Inputs,
    mut record: ConnectRecord,
) -> Result<ConnectRecord> {
    let mut topic = None;
    let mut partition = Val::Null;
    let mut key = Val::Null;
    let mut value = Val::Null;
    let mut timestamp = Val::Null;
    let mut header_val = Val::Null;
    for (member, val) in map {
        let name = match &member {
            Val::TStr(name) => std::str::from_utf8(name).unwrap_or(""),
            _ => "",
        };
        match name {
            TOPIC => topic = Some(val),
            PARTITION => partition = val,
            KEY => key = val,
            VALUE => value = val,
            TIMESTAMP => timestamp = val,
            HEADERS => header_val = val,
            OFFSET => {}
            _ => return Err(unknown_member(&member)),
        }
    }
    set_topic(&mut record, topic)?;
    set_partition(&mut record, partition)?;
    set_timestamp(&mut record, timestamp)?;
    set_key(shapes, &mut record, key, &inputs.key)?;
    set_value(shapes, &mut record, value)?;
    set_headers(shapes, &mut record, header_val, &inputs.headers)?;
    Ok(record)
}

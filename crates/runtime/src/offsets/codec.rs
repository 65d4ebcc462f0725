//! Source offsets as bytes, exactly as Kafka Connect stores them (JsonConverter without
//! schemas): the key is `["<connector>",{<partition>}]`, the value the offset map, both
//! compact JSON with map members in insertion order. Stored offsets are looked up by the key's
//! bytes, so these must match what a Java worker writes: numbers are rendered like Java
//! (`1.0`, `1.0E10`), bytes as Base64, and strings escaped as Jackson does.

use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::Value as Json;
use sluice_api::data::Value;
use sluice_api::OffsetMap;

/// The stored key of a connector's source partition.
pub fn offset_key(connector: &str, partition: &OffsetMap) -> Vec<u8> {
    let mut out = String::with_capacity(connector.len() + 32);
    out.push('[');
    write_string(&mut out, connector);
    out.push(',');
    write_map(&mut out, partition);
    out.push(']');
    out.into_bytes()
}

/// The stored value of an offset.
pub fn offset_value(offset: &OffsetMap) -> Vec<u8> {
    let mut out = String::with_capacity(32);
    write_map(&mut out, offset);
    out.into_bytes()
}

/// Why stored offset bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OffsetDecodeError(String);

/// Reads a stored key back into connector name and partition; `None` for keys that are not
/// a two-element `[string, object]` array (Kafka ignores those).
pub fn parse_offset_key(bytes: &[u8]) -> Option<(String, OffsetMap)> {
    let Ok(Json::Array(items)) = serde_json::from_slice::<Json>(bytes) else {
        return None;
    };
    match <[Json; 2]>::try_from(items) {
        Ok([Json::String(name), Json::Object(partition)]) => Some((
            name,
            partition
                .into_iter()
                .map(|(k, v)| (k, from_json(v)))
                .collect(),
        )),
        _ => None,
    }
}

/// Reads a stored offset value (a JSON object) back into a map.
pub fn parse_offset_value(bytes: &[u8]) -> Result<OffsetMap, OffsetDecodeError> {
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
        Ok(other) => Err(OffsetDecodeError(format!(
            "stored offset is not a JSON object: {other}"
        ))),
        Err(e) => Err(OffsetDecodeError(format!("stored offset is not JSON: {e}"))),
    }
}

/// A JSON object as an offset map, read as JsonConverter reads schemaless data (integers
/// become int64, other numbers float64), as Kafka does with offsets given through the REST
/// API.
pub fn offset_map_from_json(map: &serde_json::Map<String, Json>) -> OffsetMap {
    map.iter()
        .map(|(k, v)| (k.clone(), from_json(v.clone())))
        .collect()
}

/// JSON to Connect value as JsonConverter reads schemaless data: integers as int64, other
/// numbers as float64.
fn from_json(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s),
        Json::Array(items) => Value::Array(items.into_iter().map(from_json).collect()),
        Json::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| (Value::String(k), from_json(v)))
                .collect(),
        ),
    }
}

fn write_map(out: &mut String, map: &OffsetMap) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_value(out, v);
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &Value) {
    // Writing to a String cannot fail.
    let _ = match value {
        Value::Null => write!(out, "null"),
        Value::Boolean(b) => write!(out, "{b}"),
        Value::Int8(v) => write!(out, "{v}"),
        Value::Int16(v) => write!(out, "{v}"),
        Value::Int32(v) | Value::Date(v) | Value::Time(v) => write!(out, "{v}"),
        Value::Int64(v) | Value::Timestamp(v) => write!(out, "{v}"),
        Value::Float32(v) => {
            out.push_str(&java_float(f64::from(*v), &format!("{v:e}")));
            Ok(())
        }
        Value::Float64(v) => {
            out.push_str(&java_float(*v, &format!("{v:e}")));
            Ok(())
        }
        Value::String(s) => {
            write_string(out, s);
            Ok(())
        }
        Value::Bytes(b) => {
            write_string(out, &base64::engine::general_purpose::STANDARD.encode(b));
            Ok(())
        }
        Value::Decimal(d) => {
            write_string(
                out,
                &base64::engine::general_purpose::STANDARD.encode(d.to_bytes()),
            );
            Ok(())
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
            Ok(())
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match k {
                    Value::String(s) => write_string(out, s),
                    other => {
                        let mut text = String::new();
                        write_value(&mut text, other);
                        write_string(out, &text);
                    }
                }
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
            Ok(())
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, (field, v)) in s.schema().fields.iter().zip(s.values()).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, &field.name);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
            Ok(())
        }
    };
}

/// A JSON string as Jackson writes it: `"` and `\` escaped, control characters as `\n`-style
/// or `\u00XX` escapes, everything else (including non-ASCII) as is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `Double.toString` from Rust's shortest round-trip digits (`sci` is `{:e}` output,
/// e.g. `1.2345e3`): plain notation with at least one fraction digit for magnitudes in
/// [1e-3, 1e7), otherwise `d.dddE<exp>`.
fn java_float(v: f64, sci: &str) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let abs = v.abs();
    if (1e-3..1e7).contains(&abs) {
        let point = exp + 1; // digits before the decimal point
        let (int_part, frac_part) = if point <= 0 {
            (
                "0".to_string(),
                format!("{}{}", "0".repeat((-point) as usize), digits),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
                "0".to_string(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        format!("{sign}{int_part}.{frac_part}")
    } else {
        let frac = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{frac}E{exp}", &digits[..1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_value_match_kafka_bytes() {
        let partition = OffsetMap::new().with("filename", "/tmp/test.txt");
        assert_eq!(
            String::from_utf8(offset_key("local-file-source", &partition)).unwrap(),
            r#"["local-file-source",{"filename":"/tmp/test.txt"}]"#
        );
        let offset = OffsetMap::new().with("position", 1024i64);
        assert_eq!(offset_value(&offset), br#"{"position":1024}"#);
    }

    #[test]
    fn insertion_order_and_types() {
        let m = OffsetMap::new()
            .with("z", 1i32)
            .with("a", true)
            .with("n", Value::Null)
            .with("f", 1.5f64)
            .with("s", "q\"\\\n\u{1}é");
        assert_eq!(
            String::from_utf8(offset_value(&m)).unwrap(),
            r#"{"z":1,"a":true,"n":null,"f":1.5,"s":"q\"\\\n\u0001é"}"#
        );
    }

    #[test]
    fn floats_render_like_java() {
        let cases = [
            (1.0, "1.0"),
            (1e10, "1.0E10"),
            (1.5e-5, "1.5E-5"),
            (0.001, "0.001"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (100.25, "100.25"),
        ];
        for (v, want) in cases {
            assert_eq!(java_float(v, &format!("{v:e}")), want, "{v}");
        }
        assert_eq!(
            String::from_utf8(offset_value(
                &OffsetMap::new().with("f", Value::Float32(0.1))
            ))
            .unwrap(),
            r#"{"f":0.1}"#
        );
    }

    #[test]
    fn bytes_are_base64() {
        let m = OffsetMap::new().with("b", Value::Bytes(bytes::Bytes::from_static(b"\x00\x01")));
        assert_eq!(offset_value(&m), br#"{"b":"AAE="}"#);
    }

    #[test]
    fn round_trip() {
        let partition = OffsetMap::new().with("table", "t").with("shard", 3i64);
        let key = offset_key("c", &partition);
        let (name, back) = parse_offset_key(&key).unwrap();
        assert_eq!(name, "c");
        assert_eq!(back, partition);
        let value = parse_offset_value(br#"{"position":7,"ratio":0.5,"x":null}"#).unwrap();
        assert_eq!(value.get("position"), Some(&Value::Int64(7)));
        assert_eq!(value.get("ratio"), Some(&Value::Float64(0.5)));
        assert_eq!(value.get("x"), Some(&Value::Null));
        assert!(parse_offset_key(br#"["c"]"#).is_none());
        assert!(parse_offset_key(br#"{"a":1}"#).is_none());
        assert!(parse_offset_value(b"[1]").is_err());
    }
}

//! Kafka's `Values` text forms (`org.apache.kafka.connect.data.Values`): how Connect values
//! become text and how text is read back with type inference.
//!
//! Kafka keeps `Values` in its connect-api, and so does Sluice: converters
//! (SimpleHeaderConverter, StringConverter) and transformations (InsertHeader) share this one
//! implementation, so header text reads and writes the same everywhere. Three renderings exist,
//! each used by a different part of Kafka Connect:
//!
//! - [`convert_to_string`] is Kafka's `Values.convertToString`, used by SimpleHeaderConverter
//!   (and Cast to string): strings as they are, lists `[1,2]`, maps `{"a":1}` with embedded
//!   strings quoted and `\`/`"` escaped, structs `{"f1":v1}`, bytes as Base64, Date/Time/
//!   Timestamp in the ISO-8601 forms of [`format_connect_date`].
//! - [`to_java_string`] is Java's `Object.toString` of a Connect value, used by StringConverter:
//!   `Struct{a=1,b=x}`, maps `{k=v, k2=v2}`, lists `[a, b]`, dates as `java.util.Date.toString`
//!   (the shared [`JavaText`] rendering). Java prints byte arrays by identity (`[B@1b6d3586`);
//!   Sluice prints them as Base64, like `Values` does, so the text is stable.
//! - [`parse_string`] is Kafka's `Values.parseString`: text to a (schema, value) with type
//!   inference, including Kafka's quirks (`12:30:00` reads as int8 `12`, `[foo]` stays a string).
//!   SimpleHeaderConverter reads header text with it and InsertHeader its `value.literal`.
//!
//! It also holds Java's `BigDecimal`/`BigInteger` number narrowings the parser needs
//! ([`decimal_low_i64`], [`low_i64`], [`decimal_to_f64`]). Java's number and date `toString`
//! texts live in [`java_text`](crate::data::java_text).
//!
//! Dates are rendered and parsed in UTC with the proleptic Gregorian calendar; Kafka uses the
//! JVM time zone (identical output under `TZ=UTC`) and the Julian calendar before 1582.

mod format;
mod parse;
mod temporal;

use base64::Engine;

use crate::data::java_text::{
    temporal_millis, write_decimal, write_f32, write_f64, BytesText, JavaText,
};
use crate::data::Value;

pub use format::format_connect_date;
pub use parse::{decimal_low_i64, decimal_to_f64, low_i64, parse_string};

/// Kafka's `Values.convertToString`: the text form of a value, `None` for null.
pub fn convert_to_string(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => {
            let mut out = String::new();
            append(&mut out, other, false);
            Some(out)
        }
    }
}

fn append(out: &mut String, value: &Value, embedded: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => out.push_str(&v.to_string()),
        Value::Int64(v) => out.push_str(&v.to_string()),
        Value::Float32(v) => {
            let _ = write_f32(out, *v);
        }
        Value::Float64(v) => {
            let _ = write_f64(out, *v);
        }
        Value::Decimal(d) => {
            let _ = write_decimal(out, d);
        }
        Value::String(s) => {
            if embedded {
                out.push('"');
                for c in s.chars() {
                    if c == '\\' || c == '"' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            } else {
                out.push_str(s);
            }
        }
        Value::Bytes(b) => {
            if embedded {
                out.push('"');
            }
            base64::engine::general_purpose::STANDARD.encode_string(b, out);
            if embedded {
                out.push('"');
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, item, true);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, k, true);
                out.push(':');
                append(out, v, true);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, field) in s.schema().fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, &Value::String(field.name.clone()), true);
                out.push(':');
                append(out, s.get(&field.name).unwrap_or(&Value::Null), true);
            }
            out.push('}');
        }
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
            if let Some(ms) = temporal_millis(value) {
                out.push_str(&format_connect_date(ms));
            }
        }
    }
}

/// Java's `toString()` of a Connect value, as StringConverter writes it (`null` for null,
/// bytes as Base64).
pub fn to_java_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => JavaText::new(other, BytesText::Base64).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Decimal, Schema, SchemaBuilder, SchemaType, Struct};
    use bytes::Bytes;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn convert_to_string_follows_values() {
        assert_eq!(convert_to_string(&Value::Null), None);
        assert_eq!(convert_to_string(&s("a\"b")).as_deref(), Some("a\"b"));
        assert_eq!(
            convert_to_string(&Value::Float64(1.0)).as_deref(),
            Some("1.0")
        );
        assert_eq!(
            convert_to_string(&Value::Float64(1e10)).as_deref(),
            Some("1.0E10")
        );
        assert_eq!(
            convert_to_string(&Value::Decimal(Decimal::new(1, -3))).as_deref(),
            Some("1E+3")
        );
        assert_eq!(
            convert_to_string(&Value::Bytes(Bytes::from_static(b"hi"))).as_deref(),
            Some("aGk=")
        );
        let list = Value::Array(vec![Value::Int32(1), s("x\\\"y"), Value::Null]);
        assert_eq!(
            convert_to_string(&list).as_deref(),
            Some(r#"[1,"x\\\"y",null]"#)
        );
        let map = Value::Map(vec![
            (s("a"), Value::Int8(1)),
            (s("b"), Value::Boolean(true)),
        ]);
        assert_eq!(
            convert_to_string(&map).as_deref(),
            Some(r#"{"a":1,"b":true}"#)
        );
        assert_eq!(
            convert_to_string(&Value::Date(19_724)).as_deref(),
            Some("2024-01-02")
        );
        assert_eq!(
            convert_to_string(&Value::Array(vec![Value::Time(1000)])).as_deref(),
            Some("[00:00:01.000Z]")
        );
    }

    fn sample_struct() -> Struct {
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("b", Schema::optional(SchemaType::String))
            .unwrap()
            .field("c", Schema::optional(SchemaType::String))
            .unwrap()
            .build();
        Struct::new(schema)
            .unwrap()
            .with("a", 1)
            .unwrap()
            .with("b", "x")
            .unwrap()
    }

    #[test]
    fn struct_renderings() {
        let st = Value::Struct(sample_struct());
        assert_eq!(
            convert_to_string(&st).as_deref(),
            Some(r#"{"a":1,"b":"x","c":null}"#)
        );
        assert_eq!(to_java_string(&st), "Struct{a=1,b=x}");
    }

    #[test]
    fn java_to_string_of_collections() {
        let list = Value::Array(vec![s("a"), s("b"), Value::Null]);
        assert_eq!(to_java_string(&list), "[a, b, null]");
        let map = Value::Map(vec![
            (s("k"), Value::Int64(1)),
            (s("k2"), Value::Float32(2.5)),
        ]);
        assert_eq!(to_java_string(&map), "{k=1, k2=2.5}");
        assert_eq!(to_java_string(&Value::Float64(100.0)), "100.0");
        assert_eq!(to_java_string(&Value::Boolean(false)), "false");
        assert_eq!(
            to_java_string(&Value::Timestamp(0)),
            "Thu Jan 01 00:00:00 UTC 1970"
        );
    }
}

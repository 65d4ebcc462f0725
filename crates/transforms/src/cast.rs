//! `Cast$Key` / `Cast$Value`: changes the type of the whole key or value, or of some top-level
//! fields of a struct or map, to one of the primitive types.
//!
//! ```properties
//! transforms=cast
//! transforms.cast.type=org.apache.kafka.connect.transforms.Cast$Value
//! # cast two fields ...
//! transforms.cast.spec=age:int32,score:string
//! # ... or the whole value (a single bare type)
//! # transforms.cast.spec=int64
//! ```
//!
//! Targets are `int8`, `int16`, `int32`, `int64`, `float32`, `float64`, `boolean` and `string`
//! (case-insensitive); sources are those plus `bytes` (which only casts to `string`, as Base64).
//! Structs, arrays and maps cannot be cast, not even to a string. The conversions are Java's:
//!
//! - number → number narrows or widens like a Java primitive cast (integers wrap, floats
//!   truncate toward zero and saturate at the `int`/`long` range first; a Decimal drops its
//!   fraction and keeps the low bits).
//! - number → boolean is `longValue() != 0`, so `0.5` is `false`.
//! - string → integer uses `Integer.parseInt` rules (sign, decimal digits, nothing else);
//!   string → float uses `Double.parseDouble` rules (surrounding blanks, `NaN`, `Infinity`,
//!   exponents, hexadecimal `0x1.8p1`, an `f`/`d` suffix); string → boolean is true only for
//!   `true` in any case. A text that does not parse fails with
//!   `Value (<text>) was out of range for requested data type`.
//! - anything → string is Java's `toString` (`1.0E10`, Decimal `1E+3`), bytes are Base64 and
//!   Date/Time/Timestamp values are ISO text: `HH:mm:ss.SSS'Z'` below one day after the epoch,
//!   `yyyy-MM-dd` at a midnight, `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` otherwise (in UTC; Kafka uses
//!   the JVM time zone and prints the same text under `TZ=UTC`).
//! - Date, Time and Timestamp fields cast to a number go through their integer form first
//!   (days, milliseconds of the day, epoch milliseconds).
//!
//! Schema'd records get a rebuilt schema: cast fields get the plain target schema, keeping
//! their optionality and a cast default; in whole-value mode the new primitive schema keeps the
//! name, version, doc and parameters of the old one. In schemaless field mode every spec field
//! is written back, so a field missing from the map is added with a null value, as Kafka does.
//! A null key or value passes through untouched.
//!
//! One detail differs from Kafka: where Kafka reports a spec item made only of colons (`::`) with
//! an index error, this transform reports `Invalid type found in casting spec: `.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValue, Importance, Validator,
};
use sluice_api::data::java_text::{temporal_millis, BytesText, JavaText};
use sluice_api::data::values::{decimal_low_i64, decimal_to_f64, format_connect_date};
use sluice_api::data::{
    Decimal, LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::util::{self, NameTable, Operand, SchemaCache};

/// Class name of the key variant.
const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.Cast$Key";
/// Class name of the value variant.
const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.Cast$Value";
/// The `spec` key.
const SPEC: &str = "spec";
/// What requirement errors say the transform was doing.
const PURPOSE: &str = "cast types";

/// The types a cast may produce, in Kafka's order (used in messages).
const OUTPUT_TYPES: [SchemaType; 8] = [
    SchemaType::Int8,
    SchemaType::Int16,
    SchemaType::Int32,
    SchemaType::Int64,
    SchemaType::Float32,
    SchemaType::Float64,
    SchemaType::Boolean,
    SchemaType::String,
];

/// Milliseconds in a day.
const MILLIS_PER_DAY: i64 = LogicalType::MILLIS_PER_DAY;

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![
        TransformationPlugin {
            class_name: KEY_CLASS,
            config_def,
            create: create_key,
        },
        TransformationPlugin {
            class_name: VALUE_CLASS,
            config_def,
            create: create_value,
        },
    ]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(SPEC, ConfigType::List)
                .importance(Importance::High)
                .validator(Validator::Custom(validate_spec))
                .doc(
                    "What to cast. Either comma-separated field:type pairs, which cast those \
                     top-level fields of a struct or map (e.g. 'age:int32,score:string'), or one \
                     bare type, which casts the whole key or value (e.g. 'int64'). Types: int8, \
                     int16, int32, int64, float32, float64, boolean, string (any case). Bytes \
                     can only be cast to string (Base64); structs, arrays and maps cannot be \
                     cast.",
                ),
        )
        .define(util::replace_null_with_default_key())
}

fn create_key(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Key, props)
}

fn create_value(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Value, props)
}

fn create(operand: Operand, props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    let config = util::parse_config(&config_def(), props)?;
    let spec =
        parse_spec(config.list(SPEC)).map_err(|message| ConnectError::config(SPEC, message))?;
    let mut targets = NameTable::new();
    if let Spec::Fields(fields) = &spec {
        for (field, target) in fields {
            targets.insert(field, *target);
        }
    }
    Ok(Box::new(Cast {
        operand,
        spec,
        targets,
        replace_null_with_default: config
            .boolean(util::REPLACE_NULL_WITH_DEFAULT)
            .unwrap_or(true),
        cache: SchemaCache::new(),
    }))
}

/// The `spec` validator: the list must parse as a cast spec.
fn validate_spec(_key: &str, value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::List(items) => parse_spec(items).map(|_| ()),
        _ => Ok(()),
    }
}

/// What a configured cast does.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    /// Cast the whole operand to this type.
    Whole(SchemaType),
    /// Cast these top-level fields, each to its type (a field named twice keeps the last type).
    Fields(Vec<(String, SchemaType)>),
}

impl Spec {
    /// The target of a field, if the spec names it.
    fn target(&self, field: &str) -> Option<SchemaType> {
        match self {
            Spec::Whole(_) => None,
            Spec::Fields(fields) => fields.iter().find(|(f, _)| f == field).map(|(_, t)| *t),
        }
    }
}

/// Parses the `spec` list with Kafka's rules and messages.
fn parse_spec(items: &[String]) -> std::result::Result<Spec, String> {
    if items.is_empty() {
        return Err("Must specify at least one field to cast.".into());
    }
    let mut whole = None;
    let mut fields: Vec<(String, SchemaType)> = Vec::new();
    for item in items {
        let parts = java_split(item, ':');
        match parts.as_slice() {
            [bare] => whole = Some(parse_target(java_trim(bare))?),
            [field, target] => {
                let target = parse_target(java_trim(target))?;
                let field = java_trim(field);
                match fields.iter_mut().find(|(f, _)| f == field) {
                    Some(slot) => slot.1 = target,
                    None => fields.push((field.to_string(), target)),
                }
            }
            [] => return Err("Invalid type found in casting spec: ".into()),
            _ => return Err(format!("Invalid rename mapping: {item}")),
        }
    }
    match whole {
        Some(_) if items.len() > 1 => Err(
            "Cast transformations that specify a type to cast the entire value to may only \
             specify a single cast in their spec"
                .into(),
        ),
        Some(target) => Ok(Spec::Whole(target)),
        None => Ok(Spec::Fields(fields)),
    }
}

/// A type name of a spec (any case) that is a valid cast target.
fn parse_target(name: &str) -> std::result::Result<SchemaType, String> {
    let target = match name.to_uppercase().as_str() {
        "INT8" => SchemaType::Int8,
        "INT16" => SchemaType::Int16,
        "INT32" => SchemaType::Int32,
        "INT64" => SchemaType::Int64,
        "FLOAT32" => SchemaType::Float32,
        "FLOAT64" => SchemaType::Float64,
        "BOOLEAN" => SchemaType::Boolean,
        "STRING" => SchemaType::String,
        "BYTES" => SchemaType::Bytes,
        "ARRAY" => SchemaType::Array,
        "MAP" => SchemaType::Map,
        "STRUCT" => SchemaType::Struct,
        _ => return Err(format!("Invalid type found in casting spec: {name}")),
    };
    if !OUTPUT_TYPES.contains(&target) {
        return Err(format!(
            "Cast transformation does not support casting to {target}; supported types are \
             [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"
        ));
    }
    Ok(target)
}

/// Java's `String.split` on one character: trailing empty parts are removed, and an empty text
/// gives one empty part.
pub(crate) fn java_split(text: &str, separator: char) -> Vec<&str> {
    if text.is_empty() {
        return vec![text];
    }
    let mut parts: Vec<&str> = text.split(separator).collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// Java's `String.trim()`: strips characters up to U+0020 from both ends.
fn java_trim(text: &str) -> &str {
    text.trim_matches(|c: char| c <= ' ')
}

/// The configured transform.
#[derive(Debug)]
struct Cast {
    operand: Operand,
    spec: Spec,
    /// The fields of a field spec and their targets, as a table for the per-field lookups of
    /// structs.
    targets: NameTable<SchemaType>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl Transformation for Cast {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if self.operand.value(record).is_null() {
            return Ok(Outcome::Keep);
        }
        let (schema, value) = self.operand.take(record);
        let (schema, value) = match schema {
            None => (None, self.cast_schemaless(value)?),
            Some(schema) => {
                let (schema, value) = self.cast_with_schema(&schema, value)?;
                (Some(schema), value)
            }
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

impl Cast {
    fn cast_schemaless(&self, value: Value) -> Result<Value> {
        let fields = match &self.spec {
            Spec::Whole(target) => return cast_value(None, value, *target),
            Spec::Fields(fields) => fields,
        };
        util::require_map(&value, PURPOSE)?;
        let Value::Map(mut entries) = value else {
            return Ok(value);
        };
        for (field, target) in fields {
            match entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(field.as_str()))
            {
                Some((_, slot)) => *slot = cast_value(None, std::mem::take(slot), *target)?,
                None => entries.push((Value::String(field.clone()), Value::Null)),
            }
        }
        Ok(Value::Map(entries))
    }

    fn cast_with_schema(&self, schema: &SchemaRef, value: Value) -> Result<(SchemaRef, Value)> {
        let updated = self.cache.get_or_build(schema, |s| self.build_schema(s))?;
        if let Spec::Whole(target) = self.spec {
            let value = cast_value(Some(schema), value, target)?;
            return Ok((updated, value));
        }
        util::require_struct(&value, PURPOSE)?;
        let Value::Struct(input) = value else {
            return Ok((updated, value));
        };
        if input.schema() != schema {
            return Err(ConnectError::data("Struct schemas do not match."));
        }
        let mut values = input.into_values();
        // Indexes of the cast fields (below 64); the others keep their schemas and values.
        let mut cast = 0u64;
        for (i, (field, slot)) in schema.fields.iter().zip(values.iter_mut()).enumerate() {
            if slot.is_null() && self.replace_null_with_default {
                if let Some(default) = &field.schema.default {
                    *slot = default.clone();
                }
            }
            if let Some(&target) = self.targets.get(&field.name) {
                *slot = cast_value(Some(&field.schema), std::mem::take(slot), target)?;
                if i < 64 {
                    cast |= 1 << i;
                }
            }
        }
        let output = Struct::from_values_checking(updated.clone(), values, |i| {
            i >= 64 || cast & (1 << i) != 0
        })?;
        Ok((updated, Value::Struct(output)))
    }

    /// The schema of the cast operand (built once per input schema).
    fn build_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut builder = match &self.spec {
            Spec::Whole(target) => util::copy_schema_basics(schema, SchemaBuilder::new(*target)),
            Spec::Fields(_) => {
                if schema.schema_type != SchemaType::Struct {
                    return Err(ConnectError::data("Cannot list fields on non-struct type"));
                }
                let mut builder = util::copy_schema_basics(schema, SchemaBuilder::struct_());
                for field in &schema.fields {
                    let field_schema = match self.spec.target(&field.name) {
                        Some(target) => {
                            let mut fb = SchemaBuilder::new(target);
                            if field.schema.optional {
                                fb = fb.optional();
                            }
                            if let Some(default) = &field.schema.default {
                                fb = fb.default_value(cast_value(
                                    Some(&field.schema),
                                    default.clone(),
                                    target,
                                )?)?;
                            }
                            fb.build()
                        }
                        None => field.schema.clone(),
                    };
                    builder = builder.field(field.name.clone(), field_schema)?;
                }
                builder
            }
        };
        if schema.optional {
            builder = builder.optional();
        }
        if let Some(default) = &schema.default {
            let target = match self.spec {
                Spec::Whole(target) => target,
                Spec::Fields(_) => SchemaType::Struct,
            };
            builder = builder.default_value(cast_value(Some(schema), default.clone(), target)?)?;
        }
        Ok(builder.build())
    }
}

/// Casts one value (Kafka's `castValueToType`). The input type comes from the schema when
/// there is one, else from the value.
fn cast_value(schema: Option<&Schema>, value: Value, target: SchemaType) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let input_type = match schema {
        Some(schema) => schema.schema_type,
        None => match &value {
            Value::Decimal(_) | Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
                return Err(ConnectError::data(format!(
                    "Cast transformation was passed a value of type class {} which is not \
                     supported by Connect's data API",
                    value.type_name()
                )))
            }
            other => other.schema_type().unwrap_or(SchemaType::Struct),
        },
    };
    if matches!(
        input_type,
        SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        return Err(ConnectError::data(format!(
            "Cast transformation does not support casting from {input_type}; supported types are \
             [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
        )));
    }
    let named = schema.is_some_and(|s| s.name.is_some());
    let value = if named && target != SchemaType::String {
        encode_logical(value)?
    } else {
        value
    };
    let out = match target {
        SchemaType::Int8 => match &value {
            Value::String(s) => {
                java_parse_integer(s, i8::MIN.into(), i8::MAX.into()).map(|v| Value::Int8(v as i8))
            }
            Value::Boolean(b) => Some(Value::Int8(i8::from(*b))),
            other => int_value(other).map(|v| Value::Int8(v as i8)),
        },
        SchemaType::Int16 => match &value {
            Value::String(s) => java_parse_integer(s, i16::MIN.into(), i16::MAX.into())
                .map(|v| Value::Int16(v as i16)),
            Value::Boolean(b) => Some(Value::Int16(i16::from(*b))),
            other => int_value(other).map(|v| Value::Int16(v as i16)),
        },
        SchemaType::Int32 => match &value {
            Value::String(s) => java_parse_integer(s, i32::MIN.into(), i32::MAX.into())
                .map(|v| Value::Int32(v as i32)),
            Value::Boolean(b) => Some(Value::Int32(i32::from(*b))),
            other => int_value(other).map(Value::Int32),
        },
        SchemaType::Int64 => match &value {
            Value::String(s) => java_parse_integer(s, i64::MIN, i64::MAX).map(Value::Int64),
            Value::Boolean(b) => Some(Value::Int64(i64::from(*b))),
            other => long_value(other).map(Value::Int64),
        },
        SchemaType::Float32 => match &value {
            Value::String(s) => java_parse_float(s).map(Value::Float32),
            Value::Boolean(b) => Some(Value::Float32(if *b { 1.0 } else { 0.0 })),
            other => float_value(other).map(Value::Float32),
        },
        SchemaType::Float64 => match &value {
            Value::String(s) => java_parse_double(s).map(Value::Float64),
            Value::Boolean(b) => Some(Value::Float64(if *b { 1.0 } else { 0.0 })),
            other => double_value(other).map(Value::Float64),
        },
        SchemaType::Boolean => match &value {
            Value::String(s) => Some(Value::Boolean(s.eq_ignore_ascii_case("true"))),
            Value::Boolean(b) => Some(Value::Boolean(*b)),
            other => long_value(other).map(|v| Value::Boolean(v != 0)),
        },
        SchemaType::String => return Ok(Value::String(cast_to_string(value))),
        other => {
            return Err(ConnectError::data(format!(
                "{other} is not supported in the Cast transformation."
            )))
        }
    };
    match out {
        Some(v) => Ok(v),
        None => match value {
            Value::String(text) => Err(ConnectError::data(format!(
                "Value ({text}) was out of range for requested data type"
            ))),
            other => Err(ConnectError::data(format!(
                "Unexpected type in Cast transformation: class {}",
                other.type_name()
            ))),
        },
    }
}

/// Date, Time and Timestamp values as their integer encodings (Kafka's `fromLogical`).
fn encode_logical(value: Value) -> Result<Value> {
    Ok(match value {
        Value::Date(days) => Value::Int32(days),
        Value::Time(ms) => {
            if !(0..=MILLIS_PER_DAY).contains(&i64::from(ms)) {
                return Err(ConnectError::data(
                    "Kafka Connect Time type should not have any date fields set to non-zero values.",
                ));
            }
            Value::Int32(ms)
        }
        Value::Timestamp(ms) => Value::Int64(ms),
        other => other,
    })
}

/// Java's `Number.intValue()` of a numeric value.
fn int_value(value: &Value) -> Option<i32> {
    Some(match value {
        Value::Int8(v) => i32::from(*v),
        Value::Int16(v) => i32::from(*v),
        Value::Int32(v) => *v,
        Value::Int64(v) => *v as i32,
        Value::Float32(v) => *v as i32,
        Value::Float64(v) => *v as i32,
        Value::Decimal(d) => decimal_low_i64(d) as i32,
        _ => return None,
    })
}

/// Java's `Number.longValue()` of a numeric value.
fn long_value(value: &Value) -> Option<i64> {
    Some(match value {
        Value::Int8(v) => i64::from(*v),
        Value::Int16(v) => i64::from(*v),
        Value::Int32(v) => i64::from(*v),
        Value::Int64(v) => *v,
        Value::Float32(v) => *v as i64,
        Value::Float64(v) => *v as i64,
        Value::Decimal(d) => decimal_low_i64(d),
        _ => return None,
    })
}

/// Java's `Number.floatValue()` of a numeric value.
fn float_value(value: &Value) -> Option<f32> {
    Some(match value {
        Value::Int8(v) => f32::from(*v),
        Value::Int16(v) => f32::from(*v),
        Value::Int32(v) => *v as f32,
        Value::Int64(v) => *v as f32,
        Value::Float32(v) => *v,
        Value::Float64(v) => *v as f32,
        Value::Decimal(d) => decimal_f32(d),
        _ => return None,
    })
}

/// Java's `Number.doubleValue()` of a numeric value.
fn double_value(value: &Value) -> Option<f64> {
    Some(match value {
        Value::Int8(v) => f64::from(*v),
        Value::Int16(v) => f64::from(*v),
        Value::Int32(v) => f64::from(*v),
        Value::Int64(v) => *v as f64,
        Value::Float32(v) => f64::from(*v),
        Value::Float64(v) => *v,
        Value::Decimal(d) => decimal_to_f64(d),
        _ => return None,
    })
}

/// `BigDecimal.floatValue()`: the correctly rounded float.
fn decimal_f32(d: &Decimal) -> f32 {
    format!("{}e{}", d.unscaled, -i64::from(d.scale))
        .parse()
        .unwrap_or(f32::NAN)
}

/// Kafka's `castToString`: dates as ISO text, bytes as Base64, everything else as Java's
/// `toString`.
fn cast_to_string(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Bytes(bytes) => STANDARD.encode(&bytes),
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
            format_connect_date(temporal_millis(&value).unwrap_or(0))
        }
        other => JavaText::new(&other, BytesText::Base64).to_string(),
    }
}

/// The first code points of the runs of ten decimal digits (Unicode category Nd) in the Basic
/// Multilingual Plane: the digits Java's `Character.digit(char, 10)` accepts.
const DIGIT_ZEROS: [u32; 37] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

/// Java's `Character.digit(c, 10)`: the value of a decimal digit of any script.
pub(crate) fn java_digit(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        return Some(c as u32 - '0' as u32);
    }
    let code = c as u32;
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .map(|zero| code - zero)
}

/// Java's `Long.parseLong` / `Integer.parseInt` / `Short.parseShort` / `Byte.parseByte`: an
/// optional sign and decimal digits, within `min..=max`.
fn java_parse_integer(text: &str, min: i64, max: i64) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: i128 = 0;
    for c in digits.chars() {
        magnitude = magnitude * 10 + i128::from(java_digit(c)?);
        if magnitude > i128::from(u64::MAX) {
            return None;
        }
    }
    let value = if negative { -magnitude } else { magnitude };
    if value < i128::from(min) || value > i128::from(max) {
        return None;
    }
    i64::try_from(value).ok()
}

/// A floating-point text as Java's `FloatingDecimal` reads it.
#[derive(Debug, PartialEq)]
enum JavaFloatText<'a> {
    /// `NaN`, with or without a sign.
    NaN,
    /// `Infinity`; true when negative.
    Infinity(bool),
    /// A decimal number without its type suffix (Rust's float parser reads it).
    Decimal(&'a str),
    /// A hexadecimal number `0x<int>.<frac>p<exp>`.
    Hex {
        negative: bool,
        int_digits: &'a str,
        frac_digits: &'a str,
        exponent: i64,
    },
}

/// Checks a text against Java's `Double.parseDouble` grammar.
fn scan_java_float(text: &str) -> Option<JavaFloatText<'_>> {
    let t = java_trim(text);
    let b = t.as_bytes();
    let mut i = 0;
    let negative = match b.first()? {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let rest = &t[i..];
    if rest == "NaN" {
        return Some(JavaFloatText::NaN);
    }
    if rest == "Infinity" {
        return Some(JavaFloatText::Infinity(negative));
    }
    if rest.starts_with("0x") || rest.starts_with("0X") {
        return scan_hex(negative, &rest[2..]);
    }
    let digits_at = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    let int_end = digits_at(i);
    let mut j = int_end;
    let mut digit_count = int_end - i;
    if j < b.len() && b[j] == b'.' {
        let frac_end = digits_at(j + 1);
        digit_count += frac_end - (j + 1);
        j = frac_end;
    }
    if digit_count == 0 {
        return None;
    }
    if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
        j += 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_end = digits_at(j);
        if exp_end == j {
            return None;
        }
        j = exp_end;
    }
    let body_end = j;
    if j < b.len() && !(j == b.len() - 1 && matches!(b[j], b'f' | b'F' | b'd' | b'D')) {
        return None;
    }
    Some(JavaFloatText::Decimal(&t[..body_end]))
}

/// The part of a hexadecimal float after `0x`: `<hex>[.<hex>]p[sign]<digits>[fFdD]`.
fn scan_hex(negative: bool, text: &str) -> Option<JavaFloatText<'_>> {
    let p = text.find(['p', 'P'])?;
    let (mantissa, exp_part) = (&text[..p], &text[p + 1..]);
    let (int_digits, frac_digits) = match mantissa.find('.') {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, ""),
    };
    let hex = |s: &str| s.bytes().all(|c| c.is_ascii_hexdigit());
    if (int_digits.is_empty() && frac_digits.is_empty()) || !hex(int_digits) || !hex(frac_digits) {
        return None;
    }
    let exp_part = exp_part
        .strip_suffix(['f', 'F', 'd', 'D'])
        .unwrap_or(exp_part);
    let (exp_negative, exp_digits) = match exp_part.as_bytes().first()? {
        b'-' => (true, &exp_part[1..]),
        b'+' => (false, &exp_part[1..]),
        _ => (false, exp_part),
    };
    if exp_digits.is_empty() || !exp_digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Beyond a billion every significand overflows or underflows; saturating keeps the sign.
    let mut exponent: i64 = 0;
    for c in exp_digits.bytes() {
        exponent = (exponent * 10 + i64::from(c - b'0')).min(1_000_000_000);
    }
    Some(JavaFloatText::Hex {
        negative,
        int_digits,
        frac_digits,
        exponent: if exp_negative { -exponent } else { exponent },
    })
}

/// Java's `Double.parseDouble`.
fn java_parse_double(text: &str) -> Option<f64> {
    Some(match scan_java_float(text)? {
        JavaFloatText::NaN => f64::NAN,
        JavaFloatText::Infinity(negative) => infinity(negative),
        JavaFloatText::Decimal(body) => body.parse().ok()?,
        JavaFloatText::Hex {
            negative,
            int_digits,
            frac_digits,
            exponent,
        } => hex_to_float(negative, int_digits, frac_digits, exponent, &F64_FORMAT),
    })
}

/// Java's `Float.parseFloat` (rounded once, straight to float).
fn java_parse_float(text: &str) -> Option<f32> {
    Some(match scan_java_float(text)? {
        JavaFloatText::NaN => f32::NAN,
        JavaFloatText::Infinity(negative) => infinity(negative) as f32,
        JavaFloatText::Decimal(body) => body.parse().ok()?,
        JavaFloatText::Hex {
            negative,
            int_digits,
            frac_digits,
            exponent,
        } => hex_to_float(negative, int_digits, frac_digits, exponent, &F32_FORMAT) as f32,
    })
}

fn infinity(negative: bool) -> f64 {
    if negative {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    }
}

/// The shape of an IEEE binary format.
struct FloatFormat {
    /// Significand bits, including the hidden one.
    precision: i64,
    /// Exponent of the smallest normal number.
    min_exp: i64,
    /// Exponent of the largest finite number.
    max_exp: i64,
}

const F64_FORMAT: FloatFormat = FloatFormat {
    precision: 53,
    min_exp: -1022,
    max_exp: 1023,
};

const F32_FORMAT: FloatFormat = FloatFormat {
    precision: 24,
    min_exp: -126,
    max_exp: 127,
};

/// The value of a hexadecimal float rounded to nearest-even in `format`, as an f64 (exact for
/// f32 results too).
fn hex_to_float(
    negative: bool,
    int_digits: &str,
    frac_digits: &str,
    exponent: i64,
    format: &FloatFormat,
) -> f64 {
    // value = significand × 2^exp2, keeping at most 15 significant hex digits (60 bits) and a
    // sticky flag for any non-zero digit dropped beyond them.
    let mut significand: u64 = 0;
    let mut exp2 = exponent - 4 * frac_digits.len() as i64;
    let mut kept = 0;
    let mut sticky = false;
    for c in int_digits.chars().chain(frac_digits.chars()) {
        let digit = u64::from(c.to_digit(16).unwrap_or(0));
        if significand == 0 && digit == 0 {
            continue;
        }
        if kept < 15 {
            significand = (significand << 4) | digit;
            kept += 1;
        } else {
            exp2 += 4;
            sticky |= digit != 0;
        }
    }
    let sign = if negative { -1.0 } else { 1.0 };
    if significand == 0 {
        return sign * 0.0;
    }
    let bits = 64 - i64::from(significand.leading_zeros());
    let top = exp2 + bits - 1;
    if top > format.max_exp {
        return sign * f64::INFINITY;
    }
    let mut lsb = top.max(format.min_exp) - (format.precision - 1);
    let shift = lsb - exp2;
    let mut q = if shift <= 0 {
        significand << -shift
    } else if shift > 62 {
        0
    } else {
        let q = significand >> shift;
        let rem = significand & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        if rem > half || (rem == half && (sticky || q & 1 == 1)) {
            q + 1
        } else {
            q
        }
    };
    if q == 1u64 << format.precision {
        q >>= 1;
        lsb += 1;
        if lsb + format.precision - 1 > format.max_exp {
            return sign * f64::INFINITY;
        }
    }
    sign * scale_by_power_of_two(q as f64, lsb)
}

/// `x × 2^exp`, exact whenever the result is representable (at most two steps, each with a
/// normal intermediate).
fn scale_by_power_of_two(mut x: f64, mut exp: i64) -> f64 {
    while exp != 0 {
        let step = exp.clamp(-1000, 1000);
        x *= f64::from_bits(((step + 1023) as u64) << 52);
        exp -= step;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn value_xform(spec: &str) -> Box<dyn Transformation> {
        create_value(&props(&[(SPEC, spec)])).unwrap()
    }

    fn apply_value(
        xform: &dyn Transformation,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> ConnectRecord {
        xform
            .apply_owned(ConnectRecord::new("topic", schema, value))
            .unwrap()
            .unwrap()
    }

    fn config_error(spec: &str) -> String {
        match create_value(&props(&[(SPEC, spec)])) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("spec {spec:?} was accepted"),
        }
    }

    fn data_error(xform: &dyn Transformation, schema: Option<SchemaRef>, value: Value) -> String {
        xform
            .apply_owned(ConnectRecord::new("topic", schema, value))
            .unwrap_err()
            .to_string()
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    #[test]
    fn plugins_have_kafka_class_names() {
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(names, [KEY_CLASS, VALUE_CLASS]);
        let def = config_def();
        assert!(def.key(SPEC).unwrap().is_required());
        assert_eq!(
            def.key(util::REPLACE_NULL_WITH_DEFAULT)
                .unwrap()
                .default_text(),
            Some("true")
        );
    }

    #[test]
    fn config_errors_use_kafka_texts() {
        assert_eq!(
            config_error(""),
            "invalid configuration for 'spec': Invalid value  for configuration spec: Must specify at least one field to cast."
        );
        assert_eq!(
            config_error("foo:faketype"),
            "invalid configuration for 'spec': Invalid value foo:faketype for configuration spec: Invalid type found in casting spec: faketype"
        );
        assert_eq!(
            config_error("age:int33"),
            "invalid configuration for 'spec': Invalid value age:int33 for configuration spec: Invalid type found in casting spec: int33"
        );
        assert!(config_error("foo:array").ends_with(
            "Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"
        ));
        assert!(config_error("array").ends_with("does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"));
        assert!(config_error("foo:bytes").contains("does not support casting to BYTES"));
        assert!(config_error("foo:int8:extra").ends_with("Invalid rename mapping: foo:int8:extra"));
        assert!(config_error("foo:int8,int32").ends_with(
            "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec"
        ));
        assert!(
            config_error("int8,int32").ends_with("may only specify a single cast in their spec")
        );
        assert!(config_error("::").ends_with("Invalid type found in casting spec: "));
        // A trailing colon is dropped by Java's split, leaving a bare (invalid) type.
        assert!(config_error("a:").ends_with("Invalid type found in casting spec: a"));
    }

    #[test]
    fn spec_parsing_trims_ignores_case_and_keeps_last_duplicate() {
        assert_eq!(
            parse_spec(&[" a : INT8 ".into(), "b:Float64".into(), "a:string".into()]).unwrap(),
            Spec::Fields(vec![
                ("a".into(), SchemaType::String),
                ("b".into(), SchemaType::Float64)
            ])
        );
        assert_eq!(
            parse_spec(&["BooLean".into()]).unwrap(),
            Spec::Whole(SchemaType::Boolean)
        );
        assert_eq!(java_split("a::", ':'), ["a"]);
        assert_eq!(java_split(":b", ':'), ["", "b"]);
        assert_eq!(java_split("", ':'), [""]);
    }

    #[test]
    fn null_operands_pass_through() {
        let xform = value_xform("foo:int64");
        let record = ConnectRecord::new(
            "topic",
            Some(Schema::required(SchemaType::String)),
            Value::Null,
        );
        assert_eq!(xform.apply_owned(record.clone()).unwrap().unwrap(), record);
        let record = ConnectRecord::new("topic", None, Value::Null);
        assert_eq!(xform.apply_owned(record.clone()).unwrap().unwrap(), record);
        let key = create_key(&props(&[(SPEC, "foo:int64")])).unwrap();
        let mut record = ConnectRecord::new("topic", None, Value::from("value"));
        record.key_schema = Some(Schema::required(SchemaType::String));
        assert_eq!(key.apply_owned(record.clone()).unwrap().unwrap(), record);
    }

    #[test]
    fn whole_key_with_schema() {
        let xform = create_key(&props(&[(SPEC, "int8")])).unwrap();
        let mut record = ConnectRecord::new(
            "topic",
            Some(Schema::required(SchemaType::String)),
            Value::from("bogus"),
        );
        record.key_schema = Some(Schema::required(SchemaType::Int32));
        record.key = Value::Int32(42);
        let out = xform.apply_owned(record).unwrap().unwrap();
        assert_eq!(out.key_schema.unwrap().schema_type, SchemaType::Int8);
        assert_eq!(out.key, Value::Int8(42));
        assert_eq!(out.value, Value::from("bogus"));
    }

    #[test]
    fn whole_value_casts_from_int32() {
        let cases: &[(&str, SchemaType, Value)] = &[
            ("int8", SchemaType::Int8, Value::Int8(42)),
            ("int16", SchemaType::Int16, Value::Int16(42)),
            ("int32", SchemaType::Int32, Value::Int32(42)),
            ("int64", SchemaType::Int64, Value::Int64(42)),
            ("float32", SchemaType::Float32, Value::Float32(42.0)),
            ("float64", SchemaType::Float64, Value::Float64(42.0)),
            ("boolean", SchemaType::Boolean, Value::Boolean(true)),
            ("string", SchemaType::String, Value::from("42")),
        ];
        for (spec, schema_type, want) in cases {
            let xform = value_xform(spec);
            let out = apply_value(
                &*xform,
                Some(Schema::required(SchemaType::Int32)),
                Value::Int32(42),
            );
            assert_eq!(
                out.value_schema.unwrap().schema_type,
                *schema_type,
                "{spec}"
            );
            assert_eq!(&out.value, want, "{spec}");
            let out = apply_value(&*xform, None, Value::Int32(42));
            assert_eq!(out.value_schema, None);
            assert_eq!(&out.value, want, "{spec} schemaless");
        }
        let out = apply_value(&*value_xform("boolean"), None, Value::Int32(0));
        assert_eq!(out.value, Value::Boolean(false));
    }

    #[test]
    fn whole_value_schema_keeps_basics_optionality_and_casts_default() {
        let schema = SchemaBuilder::new(SchemaType::Float32)
            .name("my.float")
            .version(3)
            .doc("d")
            .parameter("p", "v")
            .optional()
            .default_value(Value::Float32(-42.125))
            .unwrap()
            .build();
        let out = apply_value(&*value_xform("int32"), Some(schema), Value::Float32(42.125));
        assert_eq!(out.value, Value::Int32(42));
        let s = out.value_schema.unwrap();
        assert_eq!(s.schema_type, SchemaType::Int32);
        assert_eq!(s.default, Some(Value::Int32(-42)));
        assert!(s.optional);
        assert_eq!(s.name.as_deref(), Some("my.float"));
        assert_eq!(s.version, Some(3));
        assert_eq!(s.doc.as_deref(), Some("d"));
        assert_eq!(s.parameter("p"), Some("v"));
    }

    #[test]
    fn whole_value_logical_and_decimal_to_string() {
        let xform = value_xform("string");
        let out = apply_value(
            &*xform,
            Some(LogicalType::decimal(0)),
            Value::Decimal(Decimal::new(42, 0)),
        );
        assert_eq!(out.value, Value::from("42"));
        assert_eq!(out.value_schema.unwrap().schema_type, SchemaType::String);
        let out = apply_value(
            &*xform,
            Some(LogicalType::Timestamp.schema()),
            Value::Timestamp(MILLIS_PER_DAY + 1),
        );
        assert_eq!(out.value, Value::from("1970-01-02T00:00:00.001Z"));
    }

    #[test]
    fn whole_value_rejects_containers_and_unknown_schemaless_classes() {
        let xform = value_xform("int8");
        assert_eq!(
            data_error(&*xform, None, Value::Array(vec![Value::from("foo")])),
            "Cast transformation does not support casting from ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
        );
        let struct_schema = SchemaBuilder::struct_()
            .field("a", Schema::optional(SchemaType::Int32))
            .unwrap()
            .build();
        let s = Struct::new(struct_schema.clone()).unwrap();
        assert!(data_error(
            &*value_xform("string"),
            Some(struct_schema),
            Value::Struct(s)
        )
        .starts_with("Cast transformation does not support casting from STRUCT"));
        assert_eq!(
            data_error(&*xform, None, Value::Decimal(Decimal::new(1, 0))),
            "Cast transformation was passed a value of type class java.math.BigDecimal which is not supported by Connect's data API"
        );
        assert_eq!(
            data_error(&*xform, None, Value::Timestamp(0)),
            "Cast transformation was passed a value of type class java.util.Date which is not supported by Connect's data API"
        );
    }

    #[test]
    fn bytes_cast_only_to_string() {
        let bytes = Value::Bytes(Bytes::from_static(&[
            0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
        ]));
        let out = apply_value(&*value_xform("string"), None, bytes.clone());
        assert_eq!(out.value, Value::from("/ty6mHZUMhA="));
        for spec in ["int8", "int64", "float64", "boolean"] {
            assert_eq!(
                data_error(
                    &*value_xform(spec),
                    Some(Schema::required(SchemaType::Bytes)),
                    bytes.clone()
                ),
                "Unexpected type in Cast transformation: class [B"
            );
        }
    }

    #[test]
    fn strings_parse_like_java() {
        let ok: &[(&str, &str, Value)] = &[
            ("int32", "42", Value::Int32(42)),
            ("int32", "-2147483648", Value::Int32(i32::MIN)),
            ("int32", "+7", Value::Int32(7)),
            ("int8", "-128", Value::Int8(-128)),
            ("int16", "32767", Value::Int16(32767)),
            ("int64", "9223372036854775807", Value::Int64(i64::MAX)),
            ("int32", "\u{0664}\u{0662}", Value::Int32(42)),
            ("int32", "\u{FF14}\u{FF12}", Value::Int32(42)),
            ("float64", " 1.5 ", Value::Float64(1.5)),
            ("float64", "1e3", Value::Float64(1000.0)),
            ("float64", "-Infinity", Value::Float64(f64::NEG_INFINITY)),
            ("float64", "1.5d", Value::Float64(1.5)),
            ("float64", ".5", Value::Float64(0.5)),
            ("float64", "5.", Value::Float64(5.0)),
            ("float64", "0x1.8p1", Value::Float64(3.0)),
            ("float64", "-0X.8P-1f", Value::Float64(-0.25)),
            ("float64", "0x1p-1074", Value::Float64(f64::from_bits(1))),
            ("float64", "0x1p-1075", Value::Float64(0.0)),
            ("float64", "0x1.8p-1074", Value::Float64(f64::from_bits(2))),
            (
                "float64",
                "0x1.fffffffffffff8p1023",
                Value::Float64(f64::INFINITY),
            ),
            (
                "float64",
                "0x1.fffffffffffff7p1023",
                Value::Float64(f64::MAX),
            ),
            ("float64", "0x1p99999999999", Value::Float64(f64::INFINITY)),
            ("float32", "1.1", Value::Float32(1.1)),
            ("float32", "0x1.000001p0", Value::Float32(1.0)),
            ("float32", "0x1.000003p0", Value::Float32(1.000_000_2)),
            ("float32", "0x1p-149", Value::Float32(f32::from_bits(1))),
            ("float32", "1e40", Value::Float32(f32::INFINITY)),
            ("boolean", "TRUE", Value::Boolean(true)),
            ("boolean", "yes", Value::Boolean(false)),
            ("string", "42", Value::from("42")),
        ];
        for (spec, text, want) in ok {
            let out = apply_value(&*value_xform(spec), None, Value::from(*text));
            assert_eq!(&out.value, want, "{spec} of {text:?}");
        }
        let nan = apply_value(&*value_xform("float64"), None, Value::from("NaN"));
        assert!(matches!(nan.value, Value::Float64(v) if v.is_nan()));
        let bad: &[(&str, &str)] = &[
            ("int32", "abc"),
            ("int32", "1.5"),
            ("int32", " 1"),
            ("int32", "2147483648"),
            ("int32", ""),
            ("int32", "-"),
            ("int8", "128"),
            ("int64", "99999999999999999999999"),
            ("float64", "1e"),
            ("float64", "."),
            ("float64", "1.5ff"),
            ("float64", "nan"),
            ("float64", "0x1.8"),
            ("float64", "1_000"),
            ("float32", "\u{0664}"),
        ];
        for (spec, text) in bad {
            assert_eq!(
                data_error(&*value_xform(spec), None, Value::from(*text)),
                format!("Value ({text}) was out of range for requested data type"),
                "{spec} of {text:?}"
            );
        }
    }

    #[test]
    fn numbers_narrow_like_java() {
        let cases: &[(&str, Value, Value)] = &[
            ("int8", Value::Int32(300), Value::Int8(44)),
            ("int16", Value::Int64(65_537), Value::Int16(1)),
            ("int32", Value::Float64(3.99), Value::Int32(3)),
            ("int32", Value::Float64(-3.99), Value::Int32(-3)),
            ("int32", Value::Float64(1e20), Value::Int32(i32::MAX)),
            ("int8", Value::Float64(1e20), Value::Int8(-1)),
            ("int8", Value::Float32(200.5), Value::Int8(-56)),
            ("int64", Value::Float64(f64::NAN), Value::Int64(0)),
            ("float32", Value::Float64(0.1), Value::Float32(0.1)),
            (
                "float32",
                Value::Int64(i64::MAX),
                Value::Float32(9.223_372e18),
            ),
            ("boolean", Value::Float64(0.5), Value::Boolean(false)),
            ("boolean", Value::Float64(-64.0), Value::Boolean(true)),
            ("boolean", Value::Int64(64), Value::Boolean(true)),
            ("int8", Value::Boolean(true), Value::Int8(1)),
            ("float64", Value::Boolean(false), Value::Float64(0.0)),
            ("string", Value::Float64(1e10), Value::from("1.0E10")),
            ("string", Value::Float32(1.0), Value::from("1.0")),
            ("string", Value::Boolean(true), Value::from("true")),
            ("string", Value::Int64(-5), Value::from("-5")),
        ];
        for (spec, input, want) in cases {
            let out = apply_value(&*value_xform(spec), None, input.clone());
            assert_eq!(&out.value, want, "{spec} of {input:?}");
        }
    }

    #[test]
    fn decimals_cast_as_numbers() {
        let schema = LogicalType::decimal(2);
        let cases: &[(&str, Decimal, Value)] = &[
            (
                "int32",
                Decimal::new(2_147_483_648i64, 0),
                Value::Int32(i32::MIN),
            ),
            ("int64", Decimal::new(-199, 2), Value::Int64(-1)),
            ("int8", Decimal::new(30_000, 2), Value::Int8(44)),
            ("float64", Decimal::new(125, 2), Value::Float64(1.25)),
            ("float32", Decimal::new(1, 1), Value::Float32(0.1)),
            ("boolean", Decimal::new(50, 2), Value::Boolean(false)),
            ("string", Decimal::new(1, -3), Value::from("1E+3")),
            ("string", Decimal::new(150, 2), Value::from("1.50")),
        ];
        for (spec, d, want) in cases {
            let out = apply_value(
                &*value_xform(spec),
                Some(schema.clone()),
                Value::Decimal(d.clone()),
            );
            assert_eq!(&out.value, want, "{spec} of {d:?}");
        }
        assert_eq!(decimal_low_i64(&Decimal::new(5, -70)), 0);
        assert_eq!(
            decimal_low_i64(&Decimal::new(1, -19)),
            10_000_000_000_000_000_000u64 as i64
        );
        assert_eq!(decimal_low_i64(&Decimal::new(-7, 5)), 0);
    }

    #[test]
    fn logical_fields_to_primitives() {
        let spec = "date_to_int32:int32,timestamp_to_int64:int64,time_to_int64:int64,decimal_to_int32:int32,timestamp_to_float64:float64,null_timestamp_to_int32:int32";
        let schema = SchemaBuilder::struct_()
            .field("date_to_int32", LogicalType::Date.schema())
            .unwrap()
            .field("timestamp_to_int64", LogicalType::Timestamp.schema())
            .unwrap()
            .field("time_to_int64", LogicalType::Time.schema())
            .unwrap()
            .field("decimal_to_int32", LogicalType::decimal(0))
            .unwrap()
            .field("timestamp_to_float64", LogicalType::Timestamp.schema())
            .unwrap()
            .field(
                "null_timestamp_to_int32",
                LogicalType::Timestamp.builder().optional().build(),
            )
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("date_to_int32", Value::Date(1))
            .unwrap()
            .with("timestamp_to_int64", Value::Timestamp(0))
            .unwrap()
            .with("time_to_int64", Value::Time(1))
            .unwrap()
            .with(
                "decimal_to_int32",
                Value::Decimal(Decimal::new(2_147_483_648i64, 0)),
            )
            .unwrap()
            .with("timestamp_to_float64", Value::Timestamp(i64::MAX))
            .unwrap();
        let out = apply_value(&*value_xform(spec), Some(schema), Value::Struct(value));
        let Value::Struct(s) = out.value else {
            panic!("not a struct")
        };
        assert_eq!(s.get("date_to_int32"), Some(&Value::Int32(1)));
        assert_eq!(s.get("timestamp_to_int64"), Some(&Value::Int64(0)));
        assert_eq!(s.get("time_to_int64"), Some(&Value::Int64(1)));
        assert_eq!(s.get("decimal_to_int32"), Some(&Value::Int32(i32::MIN)));
        assert_eq!(
            s.get("timestamp_to_float64"),
            Some(&Value::Float64(9.223372036854776E18))
        );
        assert_eq!(s.get("null_timestamp_to_int32"), Some(&Value::Null));
        let types: Vec<_> = s
            .schema()
            .fields
            .iter()
            .map(|f| f.schema.schema_type)
            .collect();
        assert_eq!(
            types,
            [
                SchemaType::Int32,
                SchemaType::Int64,
                SchemaType::Int64,
                SchemaType::Int32,
                SchemaType::Float64,
                SchemaType::Int32
            ]
        );
        assert!(s.schema().fields.iter().all(|f| f.schema.name.is_none()));
        assert!(s.schema().fields[5].schema.optional);
    }

    #[test]
    fn logical_fields_to_string() {
        let schema = SchemaBuilder::struct_()
            .field("date", LogicalType::Date.schema())
            .unwrap()
            .field("decimal", LogicalType::decimal(0))
            .unwrap()
            .field("time", LogicalType::Time.schema())
            .unwrap()
            .field("timestamp", LogicalType::Timestamp.schema())
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("date", Value::Date(1))
            .unwrap()
            .with("decimal", Value::Decimal(Decimal::new(1982, 0)))
            .unwrap()
            .with("time", Value::Time(3_600_000))
            .unwrap()
            .with("timestamp", Value::Timestamp(1_700_000_000_123))
            .unwrap();
        let xform = value_xform("date:string,decimal:string,time:string,timestamp:string");
        let out = apply_value(&*xform, Some(schema), Value::Struct(value));
        let Value::Struct(s) = out.value else {
            panic!("not a struct")
        };
        assert_eq!(s.get("date"), Some(&Value::from("1970-01-02")));
        assert_eq!(s.get("decimal"), Some(&Value::from("1982")));
        assert_eq!(s.get("time"), Some(&Value::from("01:00:00.000Z")));
        assert_eq!(
            s.get("timestamp"),
            Some(&Value::from("2023-11-14T22:13:20.123Z"))
        );
        assert_eq!(format_connect_date(-1), "23:59:59.999Z");
        assert_eq!(format_connect_date(0), "00:00:00.000Z");
    }

    #[test]
    fn struct_fields_with_schema() {
        let schema = SchemaBuilder::struct_()
            .name("rec")
            .version(2)
            .field("int8", Schema::required(SchemaType::Int8))
            .unwrap()
            .field("int16", Schema::optional(SchemaType::Int16))
            .unwrap()
            .field(
                "int32",
                SchemaBuilder::new(SchemaType::Int32)
                    .default_value(Value::Int32(2))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .field("int64", Schema::required(SchemaType::Int64))
            .unwrap()
            .field("float32", Schema::required(SchemaType::Float32))
            .unwrap()
            .field(
                "float64",
                SchemaBuilder::new(SchemaType::Float64)
                    .default_value(Value::Float64(-1.125))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .field("boolean", Schema::required(SchemaType::Boolean))
            .unwrap()
            .field("string", Schema::required(SchemaType::String))
            .unwrap()
            .field("bigdecimal", LogicalType::decimal(0))
            .unwrap()
            .field("date", LogicalType::Date.schema())
            .unwrap()
            .field("optional", Schema::optional(SchemaType::Float32))
            .unwrap()
            .field("timestamp", LogicalType::Timestamp.schema())
            .unwrap()
            .field("bytes", Schema::required(SchemaType::Bytes))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("int8", Value::Int8(8))
            .unwrap()
            .with("int16", Value::Int16(16))
            .unwrap()
            .with("int32", 32)
            .unwrap()
            .with("int64", 64i64)
            .unwrap()
            .with("float32", Value::Float32(32.0))
            .unwrap()
            .with("float64", -64.0)
            .unwrap()
            .with("boolean", true)
            .unwrap()
            .with("string", "42")
            .unwrap()
            .with("bigdecimal", Value::Decimal(Decimal::new(42, 0)))
            .unwrap()
            .with("date", Value::Date(1))
            .unwrap()
            .with("timestamp", Value::Timestamp(0))
            .unwrap()
            .with(
                "bytes",
                Value::Bytes(Bytes::from_static(&[
                    0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                ])),
            )
            .unwrap();
        let xform = value_xform(
            "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32,bigdecimal:string,date:string,optional:int32,bytes:string,missing:int8",
        );
        let out = apply_value(&*xform, Some(schema.clone()), Value::Struct(value.clone()));
        let out_schema = out.value_schema.clone().unwrap();
        let Value::Struct(s) = out.value else {
            panic!("not a struct")
        };
        assert!(SchemaRef::ptr_eq(s.schema(), &out_schema));
        let want = [
            Value::Int16(8),
            Value::Int32(16),
            Value::Int64(32),
            Value::Boolean(true),
            Value::Float64(32.0),
            Value::Boolean(true),
            Value::Int8(1),
            Value::Int32(42),
            Value::from("42"),
            Value::from("1970-01-02"),
            Value::Null,
            Value::Timestamp(0),
            Value::from("/ty6mHZUMhA="),
        ];
        assert_eq!(s.values(), want);
        assert_eq!(out_schema.name.as_deref(), Some("rec"));
        assert_eq!(out_schema.version, Some(2));
        assert!(out_schema.field("int16").unwrap().schema.optional);
        assert!(!out_schema.field("int8").unwrap().schema.optional);
        assert_eq!(
            out_schema.field("int32").unwrap().schema.default,
            Some(Value::Int64(2))
        );
        assert_eq!(
            out_schema.field("float64").unwrap().schema.default,
            Some(Value::Boolean(true))
        );
        assert!(out_schema.field("optional").unwrap().schema.optional);
        assert_eq!(
            out_schema.field("timestamp").unwrap().schema,
            LogicalType::Timestamp.schema()
        );
        assert!(out_schema.field("missing").is_none());
        // The schema is built once per input schema.
        let again = apply_value(&*xform, Some(schema), Value::Struct(value));
        assert!(SchemaRef::ptr_eq(&again.value_schema.unwrap(), &out_schema));
    }

    #[test]
    fn schemaless_fields_cast_and_absent_fields_are_added() {
        let xform = value_xform("int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32,absent:string");
        let value = map(vec![
            ("int8", Value::Int8(8)),
            ("int16", Value::Int16(16)),
            ("int32", Value::Int32(32)),
            ("int64", Value::Int64(64)),
            ("float32", Value::Float32(32.0)),
            ("float64", Value::Float64(-64.0)),
            ("boolean", Value::Boolean(true)),
            ("string", Value::from("42")),
            ("other", Value::from("x")),
        ]);
        let out = apply_value(&*xform, None, value);
        assert_eq!(
            out.value,
            map(vec![
                ("int8", Value::Int16(8)),
                ("int16", Value::Int32(16)),
                ("int32", Value::Int64(32)),
                ("int64", Value::Boolean(true)),
                ("float32", Value::Float64(32.0)),
                ("float64", Value::Boolean(true)),
                ("boolean", Value::Int8(1)),
                ("string", Value::Int32(42)),
                ("other", Value::from("x")),
                ("absent", Value::Null),
            ])
        );
        assert_eq!(
            data_error(&*xform, None, Value::Int32(1)),
            "Only Map objects supported in absence of schema for [cast types], found: java.lang.Integer"
        );
        assert_eq!(
            data_error(
                &*xform,
                Some(Schema::required(SchemaType::Int32)),
                Value::Int32(1)
            ),
            "Cannot list fields on non-struct type"
        );
    }

    #[test]
    fn replace_null_with_default() {
        let schema = SchemaBuilder::struct_()
            .field(
                "magic",
                SchemaBuilder::new(SchemaType::Int32)
                    .optional()
                    .default_value(Value::Int32(10))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        for (flag, want) in [("true", Value::from("10")), ("false", Value::Null)] {
            let xform = create_value(&props(&[
                (SPEC, "magic:string"),
                (util::REPLACE_NULL_WITH_DEFAULT, flag),
            ]))
            .unwrap();
            let value = Struct::new(schema.clone()).unwrap();
            let out = apply_value(&*xform, Some(schema.clone()), Value::Struct(value));
            let Value::Struct(s) = out.value else {
                panic!("not a struct")
            };
            assert_eq!(
                s.schema().field("magic").unwrap().schema.schema_type,
                SchemaType::String
            );
            assert_eq!(s.get_without_default("magic"), Some(&want), "flag {flag}");
        }
    }

    #[test]
    fn struct_schema_with_default_cannot_be_field_cast() {
        let inner = SchemaBuilder::struct_()
            .field("a", Schema::optional(SchemaType::Int32))
            .unwrap();
        let default = Struct::new(inner.clone().build()).unwrap();
        let schema = inner.default_value(Value::Struct(default)).unwrap().build();
        let value = Struct::new(schema.clone()).unwrap();
        assert!(data_error(
            &*value_xform("a:string"),
            Some(schema),
            Value::Struct(value)
        )
        .starts_with("Cast transformation does not support casting from STRUCT"));
    }

    #[test]
    fn time_values_outside_a_day_are_rejected() {
        let schema = LogicalType::Time.schema();
        assert_eq!(
            data_error(&*value_xform("int32"), Some(schema), Value::Time(-1)),
            "Kafka Connect Time type should not have any date fields set to non-zero values."
        );
    }
}

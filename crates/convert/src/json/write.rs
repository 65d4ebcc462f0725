//! Connect data and schemas to JSON bytes, written straight into the output buffer.
//!
//! The output matches Jackson's compact form as Kafka's JsonConverter produces it: no spaces,
//! members in schema order, strings escaped as Jackson escapes them (`"`, `\` and control
//! characters, the latter as `\n`-style short escapes or `\u00XX` with upper-case hex),
//! doubles and floats as Java prints them, NaN and the infinities as the strings `"NaN"`,
//! `"Infinity"`, `"-Infinity"`.

use std::fmt;

use base64::Engine;
use sluice_api::data::java_text::{decimal_to_string, write_f32, write_f64};
use sluice_api::data::{Decimal, LogicalType, Schema, SchemaType, Struct, Value};
use sluice_api::{ConnectError, Result};

use super::{DecimalFormat, JsonConverterConfig};

/// Writes JSON for one converter configuration.
pub(crate) struct JsonWriter<'a> {
    pub out: &'a mut Vec<u8>,
    pub config: &'a JsonConverterConfig,
    /// The members of the structs of the record's schema, prepared for writing (`None`:
    /// each name is escaped as it is written and each value goes the general path).
    pub members: Option<&'a StructMembers>,
}

/// The members of every struct schema in one record schema, prepared once per schema
/// instead of once per record: for each field, its name as JSON (with the separator before
/// it and the colon after; `{` is written apart, so the first is `"id":`, the next
/// `,"name":`) and how its values are written.
///
/// Struct schemas are found by their address in the record schema's tree, which the cache
/// entry holding this keeps alive.
pub(crate) struct StructMembers {
    /// (address of a struct schema, its members in field order).
    structs: Vec<(usize, Box<[Member]>)>,
}

/// One member of a struct schema, ready to write.
struct Member {
    /// The name as JSON, with the separator before it and the colon after.
    name: MemberName,
    /// How a non-null value of the field is written.
    kind: MemberKind,
}

/// A member name as JSON. Most are short: those are kept in a fixed-size block, copied whole
/// and cut to length, which takes a few moves instead of a call to `memcpy` for a length
/// known only at run time.
enum MemberName {
    Short { block: [u8; SHORT_NAME], len: usize },
    Long(Box<[u8]>),
}

/// The size of a short member name's block.
const SHORT_NAME: usize = 32;

impl MemberName {
    fn new(json: Vec<u8>) -> Self {
        if json.len() > SHORT_NAME {
            return MemberName::Long(json.into_boxed_slice());
        }
        let mut block = [0; SHORT_NAME];
        block[..json.len()].copy_from_slice(&json);
        MemberName::Short {
            block,
            len: json.len(),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            MemberName::Short { block, len } => {
                let end = out.len() + len;
                out.extend_from_slice(block);
                out.truncate(end);
            }
            MemberName::Long(json) => out.extend_from_slice(json),
        }
    }
}

/// The field schemas whose values have a direct writer: a value of the variant the schema
/// expects is written without looking at the schema again; anything else (nulls, `Time` and
/// `Decimal`, which check their value, bytes, arrays and maps, a value of another variant)
/// takes the general path, which gives the same output and the same errors.
///
/// One variant per type, so that [`JsonWriter::write_member`] dispatches once on (kind,
/// value): a kind holding the `SchemaType` and sharing `write_value`'s arms cost 80 more
/// instructions per Datagen order (two matches in a row).
#[derive(Clone, Copy)]
enum MemberKind {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    /// The `Date` logical type: days since the epoch.
    Date,
    /// The `Timestamp` logical type: milliseconds since the epoch.
    Timestamp,
    /// A nested struct, written with its own members.
    Struct,
    /// Everything written through [`JsonWriter::write_value`].
    General,
}

impl MemberKind {
    fn of(schema: &Schema) -> Self {
        match schema.logical_type() {
            Some(LogicalType::Date) => return MemberKind::Date,
            Some(LogicalType::Timestamp) => return MemberKind::Timestamp,
            Some(_) => return MemberKind::General,
            None => {}
        }
        match schema.schema_type {
            SchemaType::Int8 => MemberKind::Int8,
            SchemaType::Int16 => MemberKind::Int16,
            SchemaType::Int32 => MemberKind::Int32,
            SchemaType::Int64 => MemberKind::Int64,
            SchemaType::Float32 => MemberKind::Float32,
            SchemaType::Float64 => MemberKind::Float64,
            SchemaType::Boolean => MemberKind::Boolean,
            SchemaType::String => MemberKind::String,
            SchemaType::Struct => MemberKind::Struct,
            SchemaType::Bytes | SchemaType::Array | SchemaType::Map => MemberKind::General,
        }
    }
}

impl StructMembers {
    /// The members of `schema` and of every struct schema under it.
    pub(crate) fn of(schema: &Schema) -> Self {
        let mut names = StructMembers {
            structs: Vec::new(),
        };
        names.add(schema);
        names
    }

    fn add(&mut self, schema: &Schema) {
        if schema.schema_type == SchemaType::Struct {
            let config = JsonConverterConfig::default();
            let members = schema
                .fields
                .iter()
                .enumerate()
                .map(|(i, field)| {
                    let mut out = Vec::with_capacity(field.name.len() + 4);
                    if i > 0 {
                        out.push(b',');
                    }
                    JsonWriter {
                        out: &mut out,
                        config: &config,
                        members: None,
                    }
                    .write_str(&field.name);
                    out.push(b':');
                    Member {
                        name: MemberName::new(out),
                        kind: MemberKind::of(&field.schema),
                    }
                })
                .collect();
            self.structs.push((address(schema), members));
        }
        let nested = schema.fields.iter().map(|f| &f.schema);
        for inner in nested.chain(&schema.key_schema).chain(&schema.value_schema) {
            self.add(inner);
        }
    }

    /// The members of `schema` when it is one of the struct schemas of the tree.
    fn get(&self, schema: &Schema) -> Option<&[Member]> {
        let at = address(schema);
        self.structs
            .iter()
            .find(|(a, _)| *a == at)
            .map(|(_, members)| &members[..])
    }
}

fn address(schema: &Schema) -> usize {
    std::ptr::from_ref(schema) as usize
}

impl JsonWriter<'_> {
    /// Kafka's `convertToJson`: the payload form of `value` under `schema` (or inferred from
    /// the value when schemaless).
    pub(crate) fn write_value(&mut self, schema: Option<&Schema>, value: &Value) -> Result<()> {
        if value.is_null() {
            let Some(schema) = schema else {
                self.out.extend_from_slice(b"null");
                return Ok(());
            };
            if let (Some(default), true) = (&schema.default, self.config.replace_null_with_default)
            {
                return self.write_value(Some(schema), default);
            }
            if schema.optional {
                self.out.extend_from_slice(b"null");
                return Ok(());
            }
            return Err(ConnectError::data(
                "Conversion error: null value for field that is required and has no default value",
            ));
        }
        if let Some(schema) = schema {
            if let Some(logical) = schema.logical_type() {
                return self.write_logical(schema, logical, value);
            }
        }
        let schema_type = match schema {
            Some(s) => s.schema_type,
            None => match value {
                Value::Decimal(_) | Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
                    return Err(ConnectError::data(format!(
                        "Java class class {} does not have corresponding schema type.",
                        value.type_name()
                    )))
                }
                other => other.schema_type().unwrap_or(SchemaType::String),
            },
        };
        match (schema_type, value) {
            (SchemaType::Int8, Value::Int8(v)) => self.write_i64(i64::from(*v)),
            (SchemaType::Int16, Value::Int16(v)) => self.write_i64(i64::from(*v)),
            (SchemaType::Int32, Value::Int32(v)) => self.write_i64(i64::from(*v)),
            (SchemaType::Int64, Value::Int64(v)) => self.write_i64(*v),
            (SchemaType::Float32, Value::Float32(v)) => self.write_float(FloatKind::F32(*v)),
            (SchemaType::Float64, Value::Float64(v)) => self.write_float(FloatKind::F64(*v)),
            (SchemaType::Boolean, Value::Boolean(b)) => {
                self.out
                    .extend_from_slice(if *b { b"true" } else { b"false" });
            }
            (SchemaType::String, Value::String(s)) => self.write_str(s),
            (SchemaType::Bytes, Value::Bytes(b)) => self.write_base64(b),
            (SchemaType::Bytes, other) => {
                return Err(ConnectError::data(format!(
                    "Invalid type for bytes type: class {}",
                    other.type_name()
                )))
            }
            (SchemaType::Array, Value::Array(items)) => {
                let element = schema.and_then(|s| s.value_schema.as_deref());
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.write_value(element, item)?;
                }
                self.out.push(b']');
            }
            (SchemaType::Map, Value::Map(entries)) => self.write_map(schema, entries)?,
            (SchemaType::Struct, Value::Struct(st)) => match schema {
                Some(schema) => self.write_struct(schema, st)?,
                None => return Err(ConnectError::data("Mismatching schema.")),
            },
            (t, other) => {
                return Err(ConnectError::data(format!(
                    "Invalid type for {t}: class {}",
                    other.type_name()
                )))
            }
        }
        Ok(())
    }

    /// A struct under `schema`, which must be (or equal) the struct's own schema.
    fn write_struct(&mut self, schema: &Schema, st: &Struct) -> Result<()> {
        if !(std::ptr::eq(st.schema().as_ref(), schema) || st.schema().as_ref() == schema) {
            return Err(ConnectError::data("Mismatching schema."));
        }
        self.out.push(b'{');
        let fields = schema.fields.iter().zip(st.values());
        match self.members.and_then(|m| m.get(schema)) {
            Some(members) => {
                for (member, (field, v)) in members.iter().zip(fields) {
                    member.name.write(self.out);
                    self.write_member(member.kind, &field.schema, v)?;
                }
            }
            None => {
                for (i, (field, v)) in fields.enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.write_str(&field.name);
                    self.out.push(b':');
                    self.write_value(Some(&field.schema), v)?;
                }
            }
        }
        self.out.push(b'}');
        Ok(())
    }

    /// A struct member's value: directly when its variant is the one `kind` expects, else
    /// through [`JsonWriter::write_value`].
    fn write_member(&mut self, kind: MemberKind, schema: &Schema, value: &Value) -> Result<()> {
        match (kind, value) {
            (MemberKind::Int8, Value::Int8(v)) => self.write_i64(i64::from(*v)),
            (MemberKind::Int16, Value::Int16(v)) => self.write_i64(i64::from(*v)),
            (MemberKind::Int32, Value::Int32(v)) | (MemberKind::Date, Value::Date(v)) => {
                self.write_i64(i64::from(*v));
            }
            (MemberKind::Int64, Value::Int64(v)) | (MemberKind::Timestamp, Value::Timestamp(v)) => {
                self.write_i64(*v);
            }
            (MemberKind::Float32, Value::Float32(v)) => self.write_float(FloatKind::F32(*v)),
            (MemberKind::Float64, Value::Float64(v)) => self.write_float(FloatKind::F64(*v)),
            (MemberKind::String, Value::String(s)) => self.write_str(s),
            (MemberKind::Boolean, Value::Boolean(b)) => {
                self.out
                    .extend_from_slice(if *b { b"true" } else { b"false" });
            }
            (MemberKind::Struct, Value::Struct(st)) => self.write_struct(schema, st)?,
            _ => return self.write_value(Some(schema), value),
        }
        Ok(())
    }

    fn write_map(&mut self, schema: Option<&Schema>, entries: &[(Value, Value)]) -> Result<()> {
        let key_schema = schema.and_then(|s| s.key_schema.as_deref());
        let value_schema = schema.and_then(|s| s.value_schema.as_deref());
        let object_mode = match (schema, key_schema) {
            (Some(_), Some(k)) => k.schema_type == SchemaType::String,
            _ => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
        };
        if object_mode {
            self.out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.write_object_key(key_schema, k)?;
                self.out.push(b':');
                self.write_value(value_schema, v)?;
            }
            self.out.push(b'}');
        } else {
            self.out.push(b'[');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.out.push(b'[');
                self.write_value(key_schema, k)?;
                self.out.push(b',');
                self.write_value(value_schema, v)?;
                self.out.push(b']');
            }
            self.out.push(b']');
        }
        Ok(())
    }

    /// A key of a map written as an object: the text of the key converted like a value.
    fn write_object_key(&mut self, key_schema: Option<&Schema>, key: &Value) -> Result<()> {
        match key {
            Value::String(s) => {
                self.write_str(s);
                Ok(())
            }
            Value::Null => {
                let mut text = Vec::new();
                JsonWriter {
                    out: &mut text,
                    config: self.config,
                    members: self.members,
                }
                .write_value(key_schema, key)?;
                match text.as_slice() {
                    b"null" => self.write_str("null"),
                    [b'"', inner @ .., b'"'] => {
                        self.out.push(b'"');
                        self.out.extend_from_slice(inner);
                        self.out.push(b'"');
                    }
                    other => {
                        self.out.push(b'"');
                        self.out.extend_from_slice(other);
                        self.out.push(b'"');
                    }
                }
                Ok(())
            }
            other => Err(ConnectError::data(format!(
                "Invalid type for STRING: class {}",
                other.type_name()
            ))),
        }
    }

    fn write_logical(
        &mut self,
        schema: &Schema,
        logical: LogicalType,
        value: &Value,
    ) -> Result<()> {
        let wrong = |expected: &str| {
            ConnectError::data(format!(
                "Invalid type for {}, expected {expected} but was class {}",
                logical_name(logical),
                value.type_name()
            ))
        };
        match (logical, value) {
            (LogicalType::Decimal, Value::Decimal(d)) => match self.config.decimal_format {
                DecimalFormat::Numeric => {
                    let text = decimal_to_string(d);
                    self.out.extend_from_slice(text.as_bytes());
                }
                DecimalFormat::Base64 => {
                    let bytes = decimal_bytes(schema, d)?;
                    self.write_base64(&bytes);
                }
            },
            (LogicalType::Decimal, _) => return Err(wrong("BigDecimal")),
            (LogicalType::Date, Value::Date(days)) => self.write_i64(i64::from(*days)),
            (LogicalType::Time, Value::Time(ms)) => {
                if !(0..=LogicalType::MILLIS_PER_DAY).contains(&i64::from(*ms)) {
                    return Err(ConnectError::data(
                        "Kafka Connect Time type should not have any date fields set to non-zero values.",
                    ));
                }
                self.write_i64(i64::from(*ms));
            }
            (LogicalType::Timestamp, Value::Timestamp(ms)) => self.write_i64(*ms),
            _ => return Err(wrong("Date")),
        }
        Ok(())
    }

    /// Kafka's `asJsonSchema`, written compactly in Kafka's member order.
    pub(crate) fn write_schema(&mut self, schema: &Schema) -> Result<()> {
        self.out.extend_from_slice(b"{\"type\":");
        self.out.extend_from_slice(match schema.schema_type {
            SchemaType::Boolean => b"\"boolean\"",
            SchemaType::Int8 => b"\"int8\"",
            SchemaType::Int16 => b"\"int16\"",
            SchemaType::Int32 => b"\"int32\"",
            SchemaType::Int64 => b"\"int64\"",
            SchemaType::Float32 => b"\"float\"",
            SchemaType::Float64 => b"\"double\"",
            SchemaType::Bytes => b"\"bytes\"",
            SchemaType::String => b"\"string\"",
            SchemaType::Array => b"\"array\"",
            SchemaType::Map => b"\"map\"",
            SchemaType::Struct => b"\"struct\"",
        });
        match schema.schema_type {
            SchemaType::Array => {
                self.out.extend_from_slice(b",\"items\":");
                self.write_optional_schema(schema.value_schema.as_deref())?;
            }
            SchemaType::Map => {
                self.out.extend_from_slice(b",\"keys\":");
                self.write_optional_schema(schema.key_schema.as_deref())?;
                self.out.extend_from_slice(b",\"values\":");
                self.write_optional_schema(schema.value_schema.as_deref())?;
            }
            SchemaType::Struct => {
                self.out.extend_from_slice(b",\"fields\":[");
                for (i, field) in schema.fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.write_schema(&field.schema)?;
                    // Reopen the field's object to append its name as the last member.
                    self.out.pop();
                    self.out.extend_from_slice(b",\"field\":");
                    self.write_str(&field.name);
                    self.out.push(b'}');
                }
                self.out.push(b']');
            }
            _ => {}
        }
        self.out.extend_from_slice(if schema.optional {
            b",\"optional\":true"
        } else {
            b",\"optional\":false"
        });
        if let Some(name) = &schema.name {
            self.out.extend_from_slice(b",\"name\":");
            self.write_str(name);
        }
        if let Some(version) = schema.version {
            self.out.extend_from_slice(b",\"version\":");
            self.write_i64(i64::from(version));
        }
        if let Some(doc) = &schema.doc {
            self.out.extend_from_slice(b",\"doc\":");
            self.write_str(doc);
        }
        if !schema.parameters.is_empty() {
            self.out.extend_from_slice(b",\"parameters\":{");
            for (i, (k, v)) in schema.parameters.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.write_str(k);
                self.out.push(b':');
                self.write_str(v);
            }
            self.out.push(b'}');
        }
        if let Some(default) = &schema.default {
            self.out.extend_from_slice(b",\"default\":");
            self.write_value(Some(schema), default)?;
        }
        self.out.push(b'}');
        Ok(())
    }

    fn write_optional_schema(&mut self, schema: Option<&Schema>) -> Result<()> {
        match schema {
            Some(s) => self.write_schema(s),
            None => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }

    pub(crate) fn write_i64(&mut self, v: i64) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    /// A double or float as Java prints it; NaN and the infinities as JSON strings.
    fn write_float(&mut self, v: FloatKind) {
        let finite = match v {
            FloatKind::F32(f) => f.is_finite(),
            FloatKind::F64(f) => f.is_finite(),
        };
        if !finite {
            self.out.push(b'"');
        }
        let mut sink = VecSink(self.out);
        // Writing into a Vec cannot fail.
        let _ = match v {
            FloatKind::F32(f) => write_f32(&mut sink, f),
            FloatKind::F64(f) => write_f64(&mut sink, f),
        };
        if !finite {
            self.out.push(b'"');
        }
    }

    fn write_base64(&mut self, bytes: &[u8]) {
        let engine = &base64::engine::general_purpose::STANDARD;
        self.out.push(b'"');
        let start = self.out.len();
        self.out.resize(
            start + base64::encoded_len(bytes.len(), true).unwrap_or(0),
            0,
        );
        let written = engine
            .encode_slice(bytes, &mut self.out[start..])
            .unwrap_or(0);
        self.out.truncate(start + written);
        self.out.push(b'"');
    }

    /// A JSON string, escaped as Jackson does.
    pub(crate) fn write_str(&mut self, s: &str) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let bytes = s.as_bytes();
        self.out.reserve(bytes.len() + 2);
        self.out.push(b'"');
        let plain = plain_prefix(bytes);
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate().skip(plain) {
            let escape = ESCAPE[usize::from(b)];
            if escape == 0 {
                continue;
            }
            self.out.extend_from_slice(&bytes[start..i]);
            if escape == b'u' {
                self.out.extend_from_slice(b"\\u00");
                self.out.push(HEX[usize::from(b >> 4)]);
                self.out.push(HEX[usize::from(b & 0xf)]);
            } else {
                self.out.extend_from_slice(&[b'\\', escape]);
            }
            start = i + 1;
        }
        self.out.extend_from_slice(&bytes[start..]);
        self.out.push(b'"');
    }
}

/// The length of the start of `bytes` that needs no escape, found eight bytes at a time
/// (field names and most values have no escapes at all). It stops at the first word with
/// an escape or at the last few bytes, at most seven bytes before the first escape; the
/// byte-by-byte loop of `write_str` goes on from there.
fn plain_prefix(bytes: &[u8]) -> usize {
    let mut done = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        if needs_escape(word) {
            break;
        }
        done += 8;
    }
    done
}

/// Whether any of eight bytes is a control character, a quote or a backslash.
fn needs_escape(word: [u8; 8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    /// A byte of `x` is below `n` (`n` at most 128); exact for the word as a whole.
    fn has_below(x: u64, n: u8) -> bool {
        x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS != 0
    }
    let x = u64::from_ne_bytes(word);
    has_below(x, 0x20)
        || has_below(x ^ (ONES * u64::from(b'"')), 1)
        || has_below(x ^ (ONES * u64::from(b'\\')), 1)
}

/// For each byte: 0 when it is written as is, else the letter after the backslash (`u` for a
/// `\u00XX` escape).
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

enum FloatKind {
    F32(f32),
    F64(f64),
}

/// Lets `fmt::Write` renderers append to a byte buffer.
struct VecSink<'a>(&'a mut Vec<u8>);

impl fmt::Write for VecSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn logical_name(logical: LogicalType) -> &'static str {
    match logical {
        LogicalType::Decimal => "Decimal",
        LogicalType::Date => "Date",
        LogicalType::Time => "Time",
        LogicalType::Timestamp => "Timestamp",
    }
}

/// Kafka's `Decimal.fromLogical`: the unscaled bytes, after checking the value's scale
/// against the schema's.
fn decimal_bytes(schema: &Schema, d: &Decimal) -> Result<Vec<u8>> {
    let scale = LogicalType::decimal_scale(schema)?;
    if d.scale != scale {
        return Err(ConnectError::data(format!(
            "Decimal value has mismatching scale for given Decimal schema. Schema has scale {scale}, value has scale {}.",
            d.scale
        )));
    }
    Ok(d.to_bytes())
}

#[cfg(test)]
mod tests {
    use sluice_api::data::java_text::{f32_to_string, f64_to_string};

    use super::*;

    fn json_of(value: &Value) -> String {
        let config = JsonConverterConfig::default();
        let mut out = Vec::new();
        JsonWriter {
            out: &mut out,
            config: &config,
            members: None,
        }
        .write_value(None, value)
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every byte that needs an escape is found wherever it sits in a string, before, inside
    /// or after the eight-byte words that `plain_prefix` skips.
    #[test]
    fn escapes_are_found_at_every_position() {
        let escaped: &[(char, &str)] = &[
            ('"', "\\\""),
            ('\\', "\\\\"),
            ('\n', "\\n"),
            ('\u{1}', "\\u0001"),
            ('\u{1f}', "\\u001F"),
        ];
        for chars in 0..12 {
            let base: String = "aé~".chars().cycle().take(chars).collect();
            let cuts = base.char_indices().map(|(i, _)| i).chain([base.len()]);
            for cut in cuts {
                for (c, escape) in escaped {
                    let mut text = base.clone();
                    text.insert(cut, *c);
                    let mut expected = base.clone();
                    expected.insert_str(cut, escape);
                    assert_eq!(
                        json_of(&Value::String(text.clone())),
                        format!("\"{expected}\""),
                        "{text:?}"
                    );
                }
            }
        }
        assert_eq!(plain_prefix(b"abcdefgh~~~~~~~~\x7f\x80"), 16);
        assert_eq!(plain_prefix(b"abcdefgh\x7f\""), 8);
        assert_eq!(plain_prefix(b"abcdefg\""), 0);
    }

    /// Doubles and floats write as Java prints them, in and out of the plain range, through
    /// `java_text`; the non-finite ones as JSON strings.
    #[test]
    fn floats_write_as_java_prints_them() {
        let doubles: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.001, "0.001"),
            (1e7, "1.0E7"),
            (7.16, "7.16"),
            (1.5e300, "1.5E300"),
            (4.9e-324, "4.9E-324"),
            (-0.002_5, "-0.0025"),
            // Exactly between two shortest candidates: Java takes the even digit.
            (2f64.powi(49) + 0.25, "5.629499534213122E14"),
            (f64::NAN, "\"NaN\""),
        ];
        for (v, want) in doubles {
            assert_eq!(json_of(&Value::Float64(*v)), *want);
            assert_eq!(
                json_of(&Value::Float64(*v)).trim_matches('"'),
                f64_to_string(*v)
            );
        }
        let floats: &[(f32, &str)] = &[
            (1e7, "1.0E7"),
            (9_999_999.0, "9999999.0"),
            (3.402_823_5e38, "3.4028235E38"),
            (0.1, "0.1"),
            (-(1_093_526.0 + 0.25), "-1093526.2"),
            (f32::NEG_INFINITY, "\"-Infinity\""),
        ];
        for (v, want) in floats {
            assert_eq!(json_of(&Value::Float32(*v)), *want);
            assert_eq!(
                json_of(&Value::Float32(*v)).trim_matches('"'),
                f32_to_string(*v)
            );
        }
    }

    #[test]
    fn integers_write_in_decimal() {
        for v in [0, 7, -7, 10, 1_234_567_890, i64::MAX, i64::MIN] {
            assert_eq!(json_of(&Value::Int64(v)), v.to_string());
        }
        assert_eq!(json_of(&Value::Int8(-128)), "-128");
    }
}

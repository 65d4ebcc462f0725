//! Connect values: what a record's key, value and headers hold.

use bytes::Bytes;
use num_bigint::BigInt;

use super::{LogicalType, Schema, SchemaRef, SchemaType};
use crate::error::{ConnectError, Result};

/// A Connect value. Logical types (Decimal, Date, Time, Timestamp) have their own variants,
/// as Kafka requires `BigDecimal` and `java.util.Date` for them.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Absent value (Java `null`); a null record value is a tombstone.
    #[default]
    Null,
    /// BOOLEAN.
    Boolean(bool),
    /// INT8.
    Int8(i8),
    /// INT16.
    Int16(i16),
    /// INT32.
    Int32(i32),
    /// INT64.
    Int64(i64),
    /// FLOAT32.
    Float32(f32),
    /// FLOAT64.
    Float64(f64),
    /// STRING.
    String(String),
    /// BYTES.
    Bytes(Bytes),
    /// ARRAY.
    Array(Vec<Value>),
    /// MAP, as ordered entries (schemaless JSON objects keep their member order).
    Map(Vec<(Value, Value)>),
    /// STRUCT.
    Struct(Struct),
    /// `org.apache.kafka.connect.data.Decimal` (BYTES underneath).
    Decimal(Decimal),
    /// `org.apache.kafka.connect.data.Date`: days since 1970-01-01 (INT32 underneath).
    Date(i32),
    /// `org.apache.kafka.connect.data.Time`: milliseconds since midnight (INT32 underneath).
    Time(i32),
    /// `org.apache.kafka.connect.data.Timestamp`: milliseconds since the epoch (INT64 underneath).
    Timestamp(i64),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The schema type a schemaless value of this kind has, or the underlying type of a
    /// logical value. `None` for null.
    pub fn schema_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) | Value::Date(_) | Value::Time(_) => SchemaType::Int32,
            Value::Int64(_) | Value::Timestamp(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) | Value::Decimal(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }

    /// The Java class name Kafka would report for this value in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "java.lang.Boolean",
            Value::Int8(_) => "java.lang.Byte",
            Value::Int16(_) => "java.lang.Short",
            Value::Int32(_) => "java.lang.Integer",
            Value::Int64(_) => "java.lang.Long",
            Value::Float32(_) => "java.lang.Float",
            Value::Float64(_) => "java.lang.Double",
            Value::String(_) => "java.lang.String",
            Value::Bytes(_) => "[B",
            Value::Array(_) => "java.util.ArrayList",
            Value::Map(_) => "java.util.HashMap",
            Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
            Value::Decimal(_) => "java.math.BigDecimal",
            Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "java.util.Date",
        }
    }

    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up a schemaless map entry whose key is the given string.
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float64(v)
    }
}

/// An arbitrary-precision decimal: `unscaled × 10^-scale` (Java's `BigDecimal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    /// The unscaled integer.
    pub unscaled: BigInt,
    /// Digits after the decimal point.
    pub scale: i32,
}

impl Decimal {
    /// Builds a decimal from its unscaled value and scale.
    pub fn new(unscaled: impl Into<BigInt>, scale: i32) -> Self {
        Decimal {
            unscaled: unscaled.into(),
            scale,
        }
    }

    /// Big-endian two's-complement bytes of the unscaled value (Connect's wire form).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.unscaled.to_signed_bytes_be()
    }

    /// Reads the wire form back, with the scale taken from the schema.
    pub fn from_bytes(bytes: &[u8], scale: i32) -> Self {
        Decimal {
            unscaled: BigInt::from_signed_bytes_be(bytes),
            scale,
        }
    }

    /// Parses plain decimal text (`-12.345`, `1E+3`); the scale is the number of fraction
    /// digits minus the exponent, as `BigDecimal(String)` does.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let digits = format!("{int_part}{frac_part}");
        let digits_only = digits.trim_start_matches(['+', '-']);
        if digits_only.is_empty() || !digits_only.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let unscaled: BigInt = digits.parse().ok()?;
        let scale = i32::try_from(frac_part.len()).ok()?.checked_sub(exponent)?;
        Some(Decimal { unscaled, scale })
    }
}

impl std::fmt::Display for Decimal {
    /// Plain text like Java's `BigDecimal.toPlainString` for non-negative scales, and
    /// `toString`'s `E+n` form for negative ones.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.unscaled.magnitude().to_string();
        let sign = if self.unscaled.sign() == num_bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        if self.scale <= 0 {
            if self.scale == 0 || digits == "0" {
                return write!(f, "{sign}{digits}");
            }
            let (head, tail) = digits.split_at(1);
            let exponent = (digits.len() as i64 - 1) - i64::from(self.scale);
            return if tail.is_empty() {
                write!(f, "{sign}{head}E+{exponent}")
            } else {
                write!(f, "{sign}{head}.{tail}E+{exponent}")
            };
        }
        let scale = self.scale as usize;
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{sign}{int}.{frac}")
        } else {
            write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

/// A struct value: its schema and one value per field, in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    /// One value per field; a boxed slice (its length is fixed by the schema) keeps
    /// `Value` at 40 bytes.
    values: Box<[Value]>,
}

impl Struct {
    /// An empty struct (all fields null) of a STRUCT schema.
    pub fn new(schema: SchemaRef) -> Result<Self> {
        if schema.schema_type != SchemaType::Struct {
            return Err(ConnectError::data(format!(
                "Not a struct schema: {:?}",
                schema.schema_type
            )));
        }
        let values = vec![Value::Null; schema.fields.len()].into_boxed_slice();
        Ok(Struct { schema, values })
    }

    /// The struct's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Sets a field by name, validating the value against the field schema.
    pub fn put(&mut self, field: &str, value: Value) -> Result<&mut Self> {
        let f = self
            .schema
            .field(field)
            .ok_or_else(|| ConnectError::data(format!("{field} is not a valid field name")))?;
        if value.is_null() && !f.schema.optional {
            return Err(ConnectError::data(format!(
                "Invalid value: null used for required field: \"{field}\", schema type: {}",
                f.schema.schema_type
            )));
        }
        if !value.is_null() {
            validate_field_value(&f.schema, field, &value)?;
        }
        let idx = f.index;
        self.values[idx] = value;
        Ok(self)
    }

    /// Builder-style [`Struct::put`].
    pub fn with(mut self, field: &str, value: impl Into<Value>) -> Result<Self> {
        self.put(field, value.into())?;
        Ok(self)
    }

    /// The field's value, or the field schema's default when the stored value is null.
    pub fn get(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        let v = &self.values[f.index];
        if v.is_null() {
            Some(f.schema.default.as_ref().unwrap_or(v))
        } else {
            Some(v)
        }
    }

    /// The stored value without applying defaults.
    pub fn get_without_default(&self, field: &str) -> Option<&Value> {
        self.schema.field(field).map(|f| &self.values[f.index])
    }

    /// The stored values in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Takes the stored values out, in field order (to rebuild a struct without copying them).
    pub fn into_values(self) -> Vec<Value> {
        self.values.into_vec()
    }

    /// A struct from one value per field, in field order. Each value is checked against its
    /// field schema exactly as [`Struct::put`] checks it (so a null in a required field is
    /// rejected with the same message).
    pub fn from_values(schema: SchemaRef, values: Vec<Value>) -> Result<Self> {
        Self::from_values_checking(schema, values, |_| true)
    }

    /// A struct from one value per field, in field order, for values already known to match
    /// their field schemas: [`Struct::from_values_checking`] that checks no non-null value.
    pub fn from_values_unchecked(schema: SchemaRef, values: Vec<Value>) -> Result<Self> {
        Self::from_values_checking(schema, values, |_| false)
    }

    /// A struct from one value per field, in field order, that checks non-null values
    /// against their field schemas only at the field indexes `check` accepts; otherwise
    /// exactly [`Struct::from_values`] (the same errors, in field order, for a non-struct
    /// schema, a wrong number of values, a null in a required field or a value that does
    /// not match its field schema).
    ///
    /// Meant for transformations that rebuild a struct from another struct's values: a
    /// struct only ever holds non-null values that match their field schemas (and schema
    /// defaults match their schemas), so a value moved to a field of an equal schema needs
    /// no new check; only the values the transformation made or whose field schema changed
    /// do. Debug builds check the skipped values too and panic on a mismatch, which is a
    /// bug in the caller.
    pub fn from_values_checking(
        schema: SchemaRef,
        values: Vec<Value>,
        check: impl Fn(usize) -> bool,
    ) -> Result<Self> {
        if schema.schema_type != SchemaType::Struct {
            return Err(ConnectError::data(format!(
                "Not a struct schema: {:?}",
                schema.schema_type
            )));
        }
        if values.len() != schema.fields.len() {
            return Err(ConnectError::data(format!(
                "Struct schema has {} fields but {} values were given",
                schema.fields.len(),
                values.len()
            )));
        }
        for (i, (f, v)) in schema.fields.iter().zip(&values).enumerate() {
            if v.is_null() {
                if !f.schema.optional {
                    return Err(ConnectError::data(format!(
                        "Invalid value: null used for required field: \"{}\", schema type: {}",
                        f.name, f.schema.schema_type
                    )));
                }
            } else if check(i) {
                validate_field_value(&f.schema, &f.name, v)?;
            } else {
                debug_assert!(
                    validate_field_value(&f.schema, &f.name, v).is_ok(),
                    "value of field {:?} does not match its schema: {v:?}",
                    f.name
                );
            }
        }
        Ok(Struct {
            schema,
            values: values.into_boxed_slice(),
        })
    }

    /// Checks that every required field without a default is set.
    pub fn validate(&self) -> Result<()> {
        for f in &self.schema.fields {
            let v = &self.values[f.index];
            if v.is_null() && !f.schema.optional && f.schema.default.is_none() {
                return Err(ConnectError::data(format!(
                    "Invalid value: null used for required field: \"{}\", schema type: {}",
                    f.name, f.schema.schema_type
                )));
            }
        }
        Ok(())
    }
}

fn validate_field_value(schema: &Schema, field: &str, value: &Value) -> Result<()> {
    schema.validate_value(value).map_err(|e| {
        let msg = e.to_string();
        if msg.starts_with("Invalid Java object") {
            ConnectError::data(format!(
                "Invalid Java object for schema \"{}\" with type {}: {} for field: \"{field}\"",
                schema.name.as_deref().unwrap_or("null"),
                schema.schema_type,
                value.type_name()
            ))
        } else {
            e
        }
    })
}

/// A schema (or none, for schemaless data) with a value, as converters return them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaAndValue {
    /// The schema, `None` for schemaless data.
    pub schema: Option<SchemaRef>,
    /// The value.
    pub value: Value,
}

impl SchemaAndValue {
    /// `(null, null)`: what a tombstone converts to.
    pub const NULL: SchemaAndValue = SchemaAndValue {
        schema: None,
        value: Value::Null,
    };

    /// Pairs a schema and a value.
    pub fn new(schema: Option<SchemaRef>, value: Value) -> Self {
        SchemaAndValue { schema, value }
    }
}

impl LogicalType {
    /// Recognises a logical type by the schema's name (and underlying type).
    pub fn of(schema: &Schema) -> Option<LogicalType> {
        let name = schema.name.as_deref()?;
        let lt = match name {
            LogicalType::DECIMAL_NAME => LogicalType::Decimal,
            LogicalType::DATE_NAME => LogicalType::Date,
            LogicalType::TIME_NAME => LogicalType::Time,
            LogicalType::TIMESTAMP_NAME => LogicalType::Timestamp,
            _ => return None,
        };
        (lt.underlying() == schema.schema_type).then_some(lt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SchemaBuilder;

    /// Records move values around by copy at millions per second; a variant that grows the
    /// enum past `Bytes` (32 bytes plus the tag) makes every one of them larger.
    #[test]
    fn values_stay_forty_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 40);
    }

    #[test]
    fn decimal_bytes_round_trip() {
        let d = Decimal::new(156, 2);
        assert_eq!(d.to_bytes(), vec![0x00, 0x9c]);
        assert_eq!(Decimal::from_bytes(&[0x00, 0x9c], 2), d);
        let neg = Decimal::new(-156, 2);
        assert_eq!(Decimal::from_bytes(&neg.to_bytes(), 2), neg);
    }

    #[test]
    fn decimal_text() {
        assert_eq!(Decimal::new(156, 2).to_string(), "1.56");
        assert_eq!(Decimal::new(-5, 3).to_string(), "-0.005");
        assert_eq!(Decimal::new(1, -3).to_string(), "1E+3");
        assert_eq!(Decimal::parse("1.5600"), Some(Decimal::new(15600, 4)));
        assert_eq!(Decimal::parse("1E+3"), Some(Decimal::new(1, -3)));
        assert_eq!(Decimal::parse("-0.005"), Some(Decimal::new(-5, 3)));
        assert_eq!(Decimal::parse("abc"), None);
    }

    #[test]
    fn struct_put_validates() {
        let schema = SchemaBuilder::struct_()
            .field("id", Schema::required(SchemaType::Int64))
            .unwrap()
            .field("name", Schema::optional(SchemaType::String))
            .unwrap()
            .build();
        let mut s = Struct::new(schema).unwrap();
        let err = s.put("id", Value::Null).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value: null used for required field: \"id\", schema type: INT64"
        );
        let err = s.put("id", Value::String("x".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid Java object for schema \"null\" with type INT64: java.lang.String for field: \"id\""
        );
        let err = s.put("nope", Value::Null).unwrap_err();
        assert_eq!(err.to_string(), "nope is not a valid field name");
        s.put("id", Value::Int64(7)).unwrap();
        assert_eq!(s.get("id"), Some(&Value::Int64(7)));
        assert_eq!(s.get("name"), Some(&Value::Null));
        s.validate().unwrap();
    }

    #[test]
    fn from_values_unchecked_keeps_the_structural_checks() {
        let schema = SchemaBuilder::struct_()
            .field("id", Schema::required(SchemaType::Int64))
            .unwrap()
            .field("name", Schema::optional(SchemaType::String))
            .unwrap()
            .build();
        let s = Struct::from_values_unchecked(schema.clone(), vec![Value::Int64(7), Value::Null])
            .unwrap();
        assert_eq!(
            s,
            Struct::from_values(schema.clone(), vec![Value::Int64(7), Value::Null]).unwrap()
        );
        let err = Struct::from_values_unchecked(schema.clone(), vec![Value::Null, Value::Null])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value: null used for required field: \"id\", schema type: INT64"
        );
        let err = Struct::from_values_unchecked(schema, vec![Value::Int64(7)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Struct schema has 2 fields but 1 values were given"
        );
    }

    #[test]
    fn struct_get_applies_default() {
        let schema = SchemaBuilder::struct_()
            .field(
                "n",
                SchemaBuilder::new(SchemaType::Int32)
                    .optional()
                    .default_value(Value::Int32(5))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        let s = Struct::new(schema).unwrap();
        assert_eq!(s.get("n"), Some(&Value::Int32(5)));
        assert_eq!(s.get_without_default("n"), Some(&Value::Null));
    }
}

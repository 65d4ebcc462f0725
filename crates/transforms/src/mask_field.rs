//! `MaskField$Key` / `MaskField$Value`: replaces the values of some top-level fields with an
//! "empty" value of the same type, or with a configured replacement.
//!
//! ```properties
//! transforms=mask
//! transforms.mask.type=org.apache.kafka.connect.transforms.MaskField$Value
//! transforms.mask.fields=ssn,card
//! # optional: write this instead of the empty value (numeric and string fields only)
//! transforms.mask.replacement=****
//! ```
//!
//! Without `replacement`, a masked value becomes `false`, `0` (of the same width), `0.0`,
//! Decimal `0`, the epoch (Date/Time/Timestamp), `""`, or an empty array or map; bytes and
//! structs cannot be masked. With `replacement`, the text is converted to the field's type:
//! integers and floats read it as a decimal number (`1.5` masks an int as `1`), Decimals parse
//! it exactly, strings take it as is; booleans, dates, arrays, maps, bytes and structs fail. The
//! type is that of the value being masked, so a null stays null.
//!
//! The key or value must be a map (schemaless) or a struct (schema'd): a null one is an error,
//! as in Kafka. In a map every listed field is written back, so a field missing from the map is
//! added with a null value. The schema is unchanged.

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValue, Importance, Validator,
};
use sluice_api::data::{Decimal, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::cast::java_digit;
use crate::util::{self, NameTable, Operand};
use sluice_api::data::values::{decimal_low_i64, decimal_to_f64};

/// Class name of the key variant.
const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.MaskField$Key";
/// Class name of the value variant.
const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.MaskField$Value";
/// The `fields` key.
const FIELDS: &str = "fields";
/// The `replacement` key.
const REPLACEMENT: &str = "replacement";
/// What requirement errors say the transform was doing.
const PURPOSE: &str = "mask fields";

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
            ConfigKey::new(FIELDS, ConfigType::List)
                .importance(Importance::High)
                .validator(Validator::Custom(non_empty_list))
                .doc(
                    "Top-level fields to mask (comma-separated). A field missing from a \
                     schemaless map is added with a null value.",
                ),
        )
        .define(
            ConfigKey::new(REPLACEMENT, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .validator(Validator::NonEmptyString)
                .doc(
                    "What to write instead of the masked values, converted to each value's \
                     type: numbers read it as a decimal number, strings take it as is. Only \
                     numeric and string fields can take a replacement. Unset: each value \
                     becomes the empty value of its type (0, 0.0, false, \"\", the epoch, an \
                     empty array or map).",
                ),
        )
        .define(util::replace_null_with_default_key())
}

/// Kafka's `NonEmptyListValidator`.
fn non_empty_list(_key: &str, value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::List(items) if !items.is_empty() => Ok(()),
        _ => Err("Empty list".into()),
    }
}

fn create_key(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Key, props)
}

fn create_value(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Value, props)
}

fn create(operand: Operand, props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    let config = util::parse_config(&config_def(), props)?;
    let mut fields: Vec<String> = Vec::new();
    for field in config.list(FIELDS) {
        if !fields.contains(field) {
            fields.push(field.clone());
        }
    }
    let mut names = NameTable::new();
    for field in &fields {
        names.insert(field, ());
    }
    Ok(Box::new(MaskField {
        operand,
        fields,
        names,
        replacement: config.string(REPLACEMENT).map(Replacement::new),
        replace_null_with_default: config
            .boolean(util::REPLACE_NULL_WITH_DEFAULT)
            .unwrap_or(true),
    }))
}

/// The configured transform.
#[derive(Debug)]
struct MaskField {
    operand: Operand,
    fields: Vec<String>,
    /// `fields` as a table, for the per-field lookups of structs.
    names: NameTable<()>,
    replacement: Option<Replacement>,
    replace_null_with_default: bool,
}

impl Transformation for MaskField {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let (schema, value) = self.operand.take(record);
        let value = match &schema {
            None => self.mask_map(value)?,
            Some(_) => self.mask_struct(value)?,
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

impl MaskField {
    fn mask_map(&self, value: Value) -> Result<Value> {
        util::require_map(&value, PURPOSE)?;
        let Value::Map(mut entries) = value else {
            return Ok(value);
        };
        for field in &self.fields {
            match entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(field.as_str()))
            {
                Some((_, slot)) => *slot = self.masked(std::mem::take(slot))?,
                None => entries.push((Value::String(field.clone()), Value::Null)),
            }
        }
        Ok(Value::Map(entries))
    }

    fn mask_struct(&self, value: Value) -> Result<Value> {
        util::require_struct(&value, PURPOSE)?;
        let Value::Struct(input) = value else {
            return Ok(value);
        };
        let schema = input.schema().clone();
        let mut values = input.into_values();
        // Indexes of the masked fields (below 64); the others keep their values.
        let mut masked = 0u64;
        for (i, (field, slot)) in schema.fields.iter().zip(values.iter_mut()).enumerate() {
            if slot.is_null() && self.replace_null_with_default {
                if let Some(default) = &field.schema.default {
                    *slot = default.clone();
                }
            }
            if self.names.get(&field.name).is_some() {
                *slot = self.masked(std::mem::take(slot))?;
                if i < 64 {
                    masked |= 1 << i;
                }
            }
        }
        Ok(Value::Struct(Struct::from_values_checking(
            schema,
            values,
            |i| i >= 64 || masked & (1 << i) != 0,
        )?))
    }

    fn masked(&self, value: Value) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => empty_value(&value),
            Some(replacement) => replacement.for_value(&value),
        }
    }
}

/// The "empty" value of a value's type.
fn empty_value(value: &Value) -> Result<Value> {
    Ok(match value {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::Decimal(_) => Value::Decimal(Decimal::new(0, 0)),
        Value::Date(_) => Value::Date(0),
        Value::Time(_) => Value::Time(0),
        Value::Timestamp(_) => Value::Timestamp(0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => {
            return Err(ConnectError::data(format!(
                "Cannot mask value of type: class {}",
                other.type_name()
            )))
        }
    })
}

/// The replacement text converted once to every type it may replace; a conversion that fails
/// keeps its error for the records that need it.
#[derive(Debug)]
struct Replacement {
    text: String,
    int8: std::result::Result<i8, String>,
    int16: std::result::Result<i16, String>,
    int32: std::result::Result<i32, String>,
    int64: std::result::Result<i64, String>,
    float32: std::result::Result<f32, String>,
    float64: std::result::Result<f64, String>,
    decimal: std::result::Result<Decimal, String>,
}

impl Replacement {
    fn new(text: &str) -> Self {
        let decimal = parse_big_decimal(text);
        // Kafka's `Values.convertToX` read the text as a BigDecimal, then narrow it.
        let number_error =
            || format!("Unable to convert {text} (class java.lang.String) to a number");
        let long = decimal
            .as_ref()
            .map(decimal_low_i64)
            .ok_or_else(number_error);
        let double = decimal
            .as_ref()
            .map(decimal_to_f64)
            .ok_or_else(number_error);
        Replacement {
            text: text.to_string(),
            int8: long.clone().map(|v| v as i8),
            int16: long.clone().map(|v| v as i16),
            int32: long.clone().map(|v| v as i32),
            int64: long,
            float32: double.clone().map(|v| v as f32),
            float64: double,
            decimal: decimal.ok_or_else(|| {
                format!("Unable to convert {text} (class java.lang.String) to number")
            }),
        }
    }

    /// The replacement for a value of this type.
    fn for_value(&self, value: &Value) -> Result<Value> {
        let converted = match value {
            Value::Int8(_) => self.int8.clone().map(Value::Int8),
            Value::Int16(_) => self.int16.clone().map(Value::Int16),
            Value::Int32(_) => self.int32.clone().map(Value::Int32),
            Value::Int64(_) => self.int64.clone().map(Value::Int64),
            Value::Float32(_) => self.float32.clone().map(Value::Float32),
            Value::Float64(_) => self.float64.clone().map(Value::Float64),
            Value::Decimal(_) => self.decimal.clone().map(Value::Decimal),
            Value::String(_) => Ok(Value::String(self.text.clone())),
            other => Err(format!(
                "Cannot mask value of type class {} with custom replacement.",
                other.type_name()
            )),
        };
        converted.map_err(ConnectError::data)
    }
}

/// Java's `new BigDecimal(String)`: an optional sign, digits with at most one point (at least
/// one digit), and an optional exponent; no blanks. Digits of any script count, as in Java.
fn parse_big_decimal(text: &str) -> Option<Decimal> {
    let mut ascii = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    if let Some(&sign @ ('+' | '-')) = chars.peek() {
        if sign == '-' {
            ascii.push('-');
        }
        chars.next();
    }
    let mut digits = 0;
    let mut point = false;
    let mut exponent = false;
    for c in chars.by_ref() {
        match c {
            '.' if !point => {
                point = true;
                ascii.push('.');
            }
            'e' | 'E' => {
                exponent = true;
                break;
            }
            c => {
                ascii.push(char::from_digit(java_digit(c)?, 10)?);
                digits += 1;
            }
        }
    }
    if digits == 0 {
        return None;
    }
    if exponent {
        ascii.push('e');
        if let Some(&sign @ ('+' | '-')) = chars.peek() {
            ascii.push(sign);
            chars.next();
        }
        let mut exp_digits = 0;
        for c in chars {
            ascii.push(char::from_digit(java_digit(c)?, 10)?);
            exp_digits += 1;
        }
        if exp_digits == 0 {
            return None;
        }
    }
    Decimal::parse(&ascii)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use sluice_api::data::{LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType};

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn xform(fields: &str, replacement: Option<&str>) -> Box<dyn Transformation> {
        let mut p = props(&[(FIELDS, fields), (util::REPLACE_NULL_WITH_DEFAULT, "false")]);
        if let Some(r) = replacement {
            p.insert(REPLACEMENT.into(), r.into());
        }
        create_value(&p).unwrap()
    }

    fn apply(x: &dyn Transformation, schema: Option<SchemaRef>, value: Value) -> Result<Value> {
        x.apply_owned(ConnectRecord::new("", schema, value))
            .map(|r| r.unwrap().value)
    }

    fn schemaless_values() -> Vec<(&'static str, Value)> {
        vec![
            ("magic", Value::Int32(42)),
            ("bool", Value::Boolean(true)),
            ("byte", Value::Int8(42)),
            ("short", Value::Int16(42)),
            ("int", Value::Int32(42)),
            ("long", Value::Int64(42)),
            ("float", Value::Float32(42.0)),
            ("double", Value::Float64(42.0)),
            ("string", Value::from("55.121.20.20")),
            ("list", Value::Array(vec![Value::Int32(42)])),
            (
                "map",
                Value::Map(vec![(Value::from("key"), Value::from("value"))]),
            ),
        ]
    }

    fn schemaless() -> Value {
        Value::Map(
            schemaless_values()
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    fn schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .field("magic", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("bool", Schema::required(SchemaType::Boolean))
            .unwrap()
            .field("byte", Schema::required(SchemaType::Int8))
            .unwrap()
            .field("short", Schema::required(SchemaType::Int16))
            .unwrap()
            .field("int", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("long", Schema::required(SchemaType::Int64))
            .unwrap()
            .field("float", Schema::required(SchemaType::Float32))
            .unwrap()
            .field("double", Schema::required(SchemaType::Float64))
            .unwrap()
            .field("string", Schema::required(SchemaType::String))
            .unwrap()
            .field("date", LogicalType::Date.schema())
            .unwrap()
            .field("time", LogicalType::Time.schema())
            .unwrap()
            .field("timestamp", LogicalType::Timestamp.schema())
            .unwrap()
            .field("decimal", LogicalType::decimal(0))
            .unwrap()
            .field(
                "array",
                SchemaBuilder::array(Schema::required(SchemaType::Int32)).build(),
            )
            .unwrap()
            .field(
                "map",
                SchemaBuilder::map(
                    Schema::required(SchemaType::String),
                    Schema::required(SchemaType::String),
                )
                .build(),
            )
            .unwrap()
            .field(
                "withDefault",
                SchemaBuilder::new(SchemaType::String)
                    .optional()
                    .default_value(Value::from("default"))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build()
    }

    fn with_schema() -> Value {
        let s = Struct::new(schema())
            .unwrap()
            .with("magic", 42)
            .unwrap()
            .with("bool", true)
            .unwrap()
            .with("byte", Value::Int8(42))
            .unwrap()
            .with("short", Value::Int16(42))
            .unwrap()
            .with("int", 42)
            .unwrap()
            .with("long", 42i64)
            .unwrap()
            .with("float", Value::Float32(42.0))
            .unwrap()
            .with("double", 42.0)
            .unwrap()
            .with("string", "hmm")
            .unwrap()
            .with("date", Value::Date(19_000))
            .unwrap()
            .with("time", Value::Time(5_000))
            .unwrap()
            .with("timestamp", Value::Timestamp(1_700_000_000_000))
            .unwrap()
            .with("decimal", Value::Decimal(Decimal::new(42, 0)))
            .unwrap()
            .with(
                "array",
                Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
            )
            .unwrap()
            .with(
                "map",
                Value::Map(vec![(Value::from("what"), Value::from("what"))]),
            )
            .unwrap();
        Value::Struct(s)
    }

    fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
        match v {
            Value::Map(_) => v.map_get(name).unwrap(),
            Value::Struct(s) => s.get_without_default(name).unwrap(),
            _ => panic!("not a map or struct"),
        }
    }

    #[test]
    fn config_keys_and_errors() {
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(names, [KEY_CLASS, VALUE_CLASS]);
        let err = create_value(&props(&[(FIELDS, "")])).err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'fields': Invalid value  for configuration fields: Empty list"
        );
        let err = create_value(&props(&[])).err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'fields': Missing required configuration \"fields\" which has no default value."
        );
        let err = create_value(&props(&[(FIELDS, "a"), (REPLACEMENT, " ")]))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'replacement': Invalid value  for configuration replacement: String must be non-empty"
        );
    }

    #[test]
    fn schemaless_masks_by_type() {
        let fields = "bool,byte,short,int,long,float,double,string,list,map";
        let out = apply(&*xform(fields, None), None, schemaless()).unwrap();
        let want = [
            ("magic", Value::Int32(42)),
            ("bool", Value::Boolean(false)),
            ("byte", Value::Int8(0)),
            ("short", Value::Int16(0)),
            ("int", Value::Int32(0)),
            ("long", Value::Int64(0)),
            ("float", Value::Float32(0.0)),
            ("double", Value::Float64(0.0)),
            ("string", Value::from("")),
            ("list", Value::Array(vec![])),
            ("map", Value::Map(vec![])),
        ];
        for (name, value) in want {
            assert_eq!(field(&out, name), &value, "{name}");
        }
    }

    #[test]
    fn schemaless_adds_absent_fields_as_null() {
        let x = xform("int,absent", None);
        let value = Value::Map(vec![(Value::from("int"), Value::Int32(5))]);
        assert_eq!(
            apply(&*x, None, value).unwrap(),
            Value::Map(vec![
                (Value::from("int"), Value::Int32(0)),
                (Value::from("absent"), Value::Null)
            ])
        );
    }

    #[test]
    fn schema_d_masks_by_type_and_keeps_schema() {
        let fields = "bool,byte,short,int,long,float,double,string,date,time,timestamp,decimal,array,map,withDefault";
        let x = xform(fields, None);
        let record = ConnectRecord::new("", Some(schema()), with_schema());
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(out.value_schema, Some(schema()));
        let v = &out.value;
        let want = [
            ("magic", Value::Int32(42)),
            ("bool", Value::Boolean(false)),
            ("byte", Value::Int8(0)),
            ("short", Value::Int16(0)),
            ("int", Value::Int32(0)),
            ("long", Value::Int64(0)),
            ("float", Value::Float32(0.0)),
            ("double", Value::Float64(0.0)),
            ("string", Value::from("")),
            ("date", Value::Date(0)),
            ("time", Value::Time(0)),
            ("timestamp", Value::Timestamp(0)),
            ("decimal", Value::Decimal(Decimal::new(0, 0))),
            ("array", Value::Array(vec![])),
            ("map", Value::Map(vec![])),
            ("withDefault", Value::Null),
        ];
        for (name, value) in want {
            assert_eq!(field(v, name), &value, "{name}");
        }
    }

    #[test]
    fn replace_null_with_default_masks_the_default() {
        let p = props(&[(FIELDS, "withDefault")]);
        let x = create_value(&p).unwrap();
        let out = apply(&*x, Some(schema()), with_schema()).unwrap();
        assert_eq!(field(&out, "withDefault"), &Value::from(""));
        let out = apply(&*xform("withDefault", None), Some(schema()), with_schema()).unwrap();
        assert_eq!(field(&out, "withDefault"), &Value::Null);
    }

    #[test]
    fn replacement_converts_to_the_value_type() {
        let cases = [
            ("short", Value::Int16(123)),
            ("byte", Value::Int8(123)),
            ("int", Value::Int32(123)),
            ("long", Value::Int64(123)),
            ("float", Value::Float32(123.0)),
            ("double", Value::Float64(123.0)),
            ("string", Value::from("123")),
        ];
        for (name, want) in &cases {
            let out = apply(&*xform(name, Some("123")), None, schemaless()).unwrap();
            assert_eq!(field(&out, name), want, "schemaless {name}");
            let out = apply(&*xform(name, Some("123")), Some(schema()), with_schema()).unwrap();
            assert_eq!(field(&out, name), want, "schema'd {name}");
        }
        let out = apply(
            &*xform("decimal", Some("123.0")),
            Some(schema()),
            with_schema(),
        )
        .unwrap();
        assert_eq!(
            field(&out, "decimal"),
            &Value::Decimal(Decimal::new(1230, 1))
        );
        // Numbers are read as decimals and narrowed like Java.
        let out = apply(&*xform("int,byte", Some("1.9e2")), None, schemaless()).unwrap();
        assert_eq!(field(&out, "int"), &Value::Int32(190));
        assert_eq!(field(&out, "byte"), &Value::Int8(-66));
        let out = apply(&*xform("float", Some("0.1")), None, schemaless()).unwrap();
        assert_eq!(field(&out, "float"), &Value::Float32(0.1));
    }

    #[test]
    fn replacement_errors() {
        for name in ["byte", "short", "int", "long", "float", "double"] {
            let err = apply(&*xform(name, Some("foo")), None, schemaless()).unwrap_err();
            assert_eq!(
                err.to_string(),
                "Unable to convert foo (class java.lang.String) to a number",
                "{name}"
            );
        }
        let err = apply(
            &*xform("decimal", Some("foo")),
            Some(schema()),
            with_schema(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unable to convert foo (class java.lang.String) to number"
        );
        let cases = [
            ("bool", "java.lang.Boolean"),
            ("list", "java.util.ArrayList"),
            ("map", "java.util.HashMap"),
        ];
        for (name, class) in cases {
            let err = apply(&*xform(name, Some("123")), None, schemaless()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("Cannot mask value of type class {class} with custom replacement.")
            );
        }
        for name in ["time", "timestamp", "date"] {
            let err = apply(&*xform(name, Some("123")), Some(schema()), with_schema()).unwrap_err();
            assert_eq!(
                err.to_string(),
                "Cannot mask value of type class java.util.Date with custom replacement."
            );
        }
        // A string field takes any replacement; the failure comes from the int field.
        let err = apply(&*xform("string,int", Some("foo")), None, schemaless()).unwrap_err();
        assert!(err.to_string().starts_with("Unable to convert foo"));
    }

    #[test]
    fn bytes_and_structs_cannot_be_masked() {
        let value = Value::Map(vec![(
            Value::from("b"),
            Value::Bytes(Bytes::from_static(b"x")),
        )]);
        let err = apply(&*xform("b", None), None, value).unwrap_err();
        assert_eq!(err.to_string(), "Cannot mask value of type: class [B");
        let inner = SchemaBuilder::struct_().build();
        let outer = SchemaBuilder::struct_()
            .field("s", inner.clone())
            .unwrap()
            .build();
        let value = Struct::new(outer.clone())
            .unwrap()
            .with("s", Value::Struct(Struct::new(inner).unwrap()))
            .unwrap();
        let err = apply(&*xform("s", None), Some(outer), Value::Struct(value)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot mask value of type: class org.apache.kafka.connect.data.Struct"
        );
    }

    #[test]
    fn null_operands_are_errors() {
        let err = apply(&*xform("a", None), None, Value::Null).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Map objects supported in absence of schema for [mask fields], found: null"
        );
        let err = apply(&*xform("a", None), Some(schema()), Value::Null).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Struct objects supported for [mask fields], found: null"
        );
    }

    #[test]
    fn key_variant_masks_the_key() {
        let x = create_key(&props(&[(FIELDS, "k")])).unwrap();
        let mut record = ConnectRecord::new("t", None, Value::from("v"));
        record.key = Value::Map(vec![(Value::from("k"), Value::Int64(9))]);
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(
            out.key,
            Value::Map(vec![(Value::from("k"), Value::Int64(0))])
        );
        assert_eq!(out.value, Value::from("v"));
    }

    #[test]
    fn big_decimal_text_follows_java() {
        assert_eq!(parse_big_decimal("123"), Some(Decimal::new(123, 0)));
        assert_eq!(parse_big_decimal("+1.50"), Some(Decimal::new(150, 2)));
        assert_eq!(parse_big_decimal("-.5"), Some(Decimal::new(-5, 1)));
        assert_eq!(parse_big_decimal("5."), Some(Decimal::new(5, 0)));
        assert_eq!(parse_big_decimal("1E+3"), Some(Decimal::new(1, -3)));
        assert_eq!(parse_big_decimal("1.5e-2"), Some(Decimal::new(15, 3)));
        assert_eq!(
            parse_big_decimal("\u{0661}\u{0662}"),
            Some(Decimal::new(12, 0))
        );
        for bad in [
            "",
            ".",
            "-",
            "1e",
            "1.2.3",
            " 1",
            "1 ",
            "1_0",
            "NaN",
            "0x10",
            "1e2147483648",
            "+-1",
        ] {
            assert_eq!(parse_big_decimal(bad), None, "{bad:?}");
        }
    }
}

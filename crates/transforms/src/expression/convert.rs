//! Connect values to jq values and back.
//!
//! Into jq: null, booleans and strings map one to one; every integer type becomes a jq
//! integer and both float types a jq float (so `int * int` stays an integer); BYTES become a
//! jq byte string (`@base64` and `tostring` work on it); arrays become arrays; maps and
//! structs become objects (struct fields in schema order, map keys converted like values, so
//! a map with integer keys gives an object with integer keys); a Decimal becomes a jq decimal
//! number that keeps its exact digits until arithmetic turns it into a float; Date, Time and
//! Timestamp become integers (days since the epoch, milliseconds since midnight, milliseconds
//! since the epoch), their representation on the wire.
//!
//! Back from jq, without a schema ([`to_schemaless`]): the input value at the same place is
//! used as a hint, so a number written where an INT32 was stays an INT32 when it fits, where a
//! FLOAT32 was stays a FLOAT32, where a Date, Time, Timestamp or Decimal was becomes one again
//! (a Decimal rounded half-even to its scale). Without a hint integers become INT64, other
//! numbers FLOAT64, text strings STRING, byte strings BYTES, objects maps.
//!
//! Back with a schema ([`Shapes::fit`]): a value keeps its schema when it still fits it
//! (integers into integer types within range, any number into FLOAT32/FLOAT64 or a Decimal
//! rounded half-even to its scale, integers into Date/Time/Timestamp, text into STRING, byte
//! strings into BYTES, arrays and maps whose items fit, objects with exactly the struct's
//! fields). Otherwise the schema is rebuilt: a struct keeps its name, version, doc and
//! parameters and the schemas of the fields that still fit, removed fields are dropped,
//! fields are ordered as in the object, and a field whose value no longer fits, or a new
//! field, gets an optional schema inferred from its value ([`Shapes::infer`]); a null written
//! where the schema is required makes that schema optional. Rebuilt schemas are remembered,
//! so records of one shape share one schema.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use jaq_json::{Map, Num, Rc, Val};
use num_bigint::{BigInt, Sign};
use sluice_api::data::{
    Decimal, Field, LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_api::error::{ConnectError, Result};

use crate::util::copy_schema_basics;

/// How many rebuilt schemas a transform remembers.
const SHAPES_CAPACITY: usize = 32;

/// Most decimal digits a number is scaled up by to reach a Decimal's scale; beyond this the
/// number does not fit the Decimal.
const MAX_RESCALE_DIGITS: u32 = 1000;

/// A jq text string of `s`.
pub(super) fn text(s: &str) -> Val {
    Val::utf8_str(Bytes::copy_from_slice(s.as_bytes()))
}

/// A jq text string of a static name, without copying it.
pub(super) fn static_text(s: &'static str) -> Val {
    Val::utf8_str(Bytes::from_static(s.as_bytes()))
}

/// A jq integer.
pub(super) fn int(i: i64) -> Val {
    Val::Num(Num::from_integral(i))
}

/// Takes the contents out of a shared jq container, copying only when it is shared.
pub(super) fn unwrap_rc<T: Clone>(rc: Rc<T>) -> T {
    Rc::try_unwrap(rc).unwrap_or_else(|shared| (*shared).clone())
}

/// A jq string's bytes as a Rust string; invalid UTF-8 is replaced by U+FFFD, as jq does
/// when it prints such a string.
pub(super) fn into_string(bytes: Bytes) -> String {
    match String::from_utf8(Vec::from(bytes)) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// A Connect value as a jq value (see the module docs for the mapping).
pub(super) fn to_val(value: &Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Boolean(b) => Val::Bool(*b),
        Value::Int8(i) => int(i64::from(*i)),
        Value::Int16(i) => int(i64::from(*i)),
        Value::Int32(i) | Value::Date(i) | Value::Time(i) => int(i64::from(*i)),
        Value::Int64(i) | Value::Timestamp(i) => int(*i),
        Value::Float32(f) => Val::Num(Num::Float(f64::from(*f))),
        Value::Float64(f) => Val::Num(Num::Float(*f)),
        Value::String(s) => text(s),
        Value::Bytes(b) => Val::byte_str(b.clone()),
        Value::Array(items) => Val::Arr(Rc::new(items.iter().map(to_val).collect())),
        Value::Map(entries) => {
            let mut map = Map::default();
            map.reserve(entries.len());
            for (k, v) in entries {
                map.insert(to_val(k), to_val(v));
            }
            Val::obj(map)
        }
        Value::Struct(s) => {
            let mut map = Map::default();
            map.reserve(s.values().len());
            for (field, v) in s.schema().fields.iter().zip(s.values()) {
                map.insert(text(&field.name), to_val(v));
            }
            Val::obj(map)
        }
        Value::Decimal(d) => Val::Num(Num::Dec(Rc::new(d.to_string()))),
    }
}

/// True when the schemaless `value` comes back from jq exactly as it went in: converted into
/// jq and back with itself as type hint ([`to_schemaless`]), it is equal to itself. That holds
/// for everything except structs (they come back as maps), Time values outside a day (they
/// come back as INT64) and maps with keys other than strings and integers (their values get no
/// type hint; FLOAT32 or logical keys change type). Maps are assumed to hold each key once, as
/// Connect maps do.
pub(super) fn round_trips(value: &Value) -> bool {
    match value {
        Value::Struct(_) => false,
        Value::Time(t) => (0..LogicalType::MILLIS_PER_DAY).contains(&i64::from(*t)),
        Value::Array(items) => items.iter().all(round_trips),
        Value::Map(entries) => entries.iter().all(|(k, v)| {
            matches!(
                k,
                Value::String(_)
                    | Value::Int8(_)
                    | Value::Int16(_)
                    | Value::Int32(_)
                    | Value::Int64(_)
            ) && match v {
                Value::Struct(_) | Value::Time(_) | Value::Array(_) | Value::Map(_) => {
                    round_trips(v)
                }
                _ => true,
            }
        }),
        _ => true,
    }
}

/// True when `value`, converted into jq and back against `schema` ([`Shapes::fit`]), comes
/// back unchanged with `schema` itself: when it is valid for the schema in the strict sense
/// jq's round trip needs (a null only where the schema is optional or has a default, and in
/// a struct field only where it is optional, as [`Struct::from_values`] requires; every value
/// of exactly the schema's type, a Decimal of the schema's scale, a Time within a day; a
/// struct of the very schema; array elements, map entries and struct fields likewise).
/// Maps are assumed to hold each key once, as Connect maps do.
pub(super) fn fits_unchanged(value: &Value, schema: &Schema) -> bool {
    match primitive_fits_unchanged(value, schema) {
        Some(fits) => fits,
        None => compound_fits_unchanged(value, schema),
    }
}

/// [`fits_unchanged`] for null and the primitive types without a schema name (the common
/// fields, decided without a call); `None` for the rest.
#[inline]
fn primitive_fits_unchanged(value: &Value, schema: &Schema) -> Option<bool> {
    let plain = match value {
        Value::Null => return Some(schema.optional || schema.default.is_some()),
        Value::Boolean(_) => SchemaType::Boolean,
        Value::Int8(_) => SchemaType::Int8,
        Value::Int16(_) => SchemaType::Int16,
        Value::Int32(_) => SchemaType::Int32,
        Value::Int64(_) => SchemaType::Int64,
        Value::Float32(_) => SchemaType::Float32,
        Value::Float64(_) => SchemaType::Float64,
        Value::String(_) => SchemaType::String,
        Value::Bytes(_) => SchemaType::Bytes,
        _ => return None,
    };
    if schema.name.is_some() {
        return None;
    }
    Some(schema.schema_type == plain)
}

/// [`fits_unchanged`] for logical types, arrays, maps and structs.
fn compound_fits_unchanged(value: &Value, schema: &Schema) -> bool {
    if let Value::Null = value {
        return schema.optional || schema.default.is_some();
    }
    if schema.name.is_some() {
        if let Some(logical) = schema.logical_type() {
            return match (logical, value) {
                (LogicalType::Decimal, Value::Decimal(d)) => {
                    LogicalType::decimal_scale(schema).is_ok_and(|scale| scale == d.scale)
                }
                (LogicalType::Date, Value::Date(_))
                | (LogicalType::Timestamp, Value::Timestamp(_)) => true,
                (LogicalType::Time, Value::Time(t)) => {
                    (0..LogicalType::MILLIS_PER_DAY).contains(&i64::from(*t))
                }
                _ => false,
            };
        }
    }
    match (schema.schema_type, value) {
        (SchemaType::Boolean, Value::Boolean(_))
        | (SchemaType::Int8, Value::Int8(_))
        | (SchemaType::Int16, Value::Int16(_))
        | (SchemaType::Int32, Value::Int32(_))
        | (SchemaType::Int64, Value::Int64(_))
        | (SchemaType::Float32, Value::Float32(_))
        | (SchemaType::Float64, Value::Float64(_))
        | (SchemaType::String, Value::String(_))
        | (SchemaType::Bytes, Value::Bytes(_)) => true,
        (SchemaType::Array, Value::Array(items)) => match &schema.value_schema {
            Some(element) => items.iter().all(|i| fits_unchanged(i, element)),
            None => false,
        },
        (SchemaType::Map, Value::Map(entries)) => {
            match (&schema.key_schema, &schema.value_schema) {
                (Some(ks), Some(vs)) => entries
                    .iter()
                    .all(|(k, v)| fits_unchanged(k, ks) && fits_unchanged(v, vs)),
                _ => false,
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if !(std::ptr::eq(&**s.schema(), schema) || **s.schema() == *schema) {
                return false;
            }
            for (f, v) in schema.fields.iter().zip(s.values()) {
                let fits = match (v, primitive_fits_unchanged(v, &f.schema)) {
                    (Value::Null, _) => f.schema.optional,
                    (_, Some(fits)) => fits,
                    (_, None) => compound_fits_unchanged(v, &f.schema),
                };
                if !fits {
                    return false;
                }
            }
            true
        }
        _ => false,
    }
}

/// The value as an i64 when it is an integer that fits one.
fn int_of(n: &Num) -> Option<i64> {
    match n {
        Num::Int(i) => i64::try_from(*i).ok(),
        Num::BigInt(b) => i64::try_from(&**b).ok(),
        Num::Float(_) | Num::Dec(_) => None,
    }
}

/// The value as an f64 (NaN for a decimal text that does not parse, which jaq never makes).
fn f64_of(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::BigInt(b) => b.to_string().parse().unwrap_or(f64::NAN),
        Num::Float(f) => *f,
        Num::Dec(s) => s.parse().unwrap_or(f64::NAN),
    }
}

/// The value as an exact decimal; `None` for NaN and infinities.
fn decimal_of(n: &Num) -> Option<Decimal> {
    match n {
        Num::Int(i) => Some(Decimal::new(i64::try_from(*i).ok()?, 0)),
        Num::BigInt(b) => Some(Decimal::new((**b).clone(), 0)),
        Num::Float(f) if f.is_finite() => Decimal::parse(&f.to_string()),
        Num::Float(_) => None,
        Num::Dec(s) => Decimal::parse(s),
    }
}

/// `d` at `scale` digits after the point, rounded half-even when digits are lost; `None` when
/// reaching the scale would need more than [`MAX_RESCALE_DIGITS`] extra digits.
fn rescale(d: Decimal, scale: i32) -> Option<Decimal> {
    let diff = i64::from(scale) - i64::from(d.scale);
    match diff.cmp(&0) {
        Ordering::Equal => Some(d),
        Ordering::Greater => {
            let k = u32::try_from(diff)
                .ok()
                .filter(|k| *k <= MAX_RESCALE_DIGITS)?;
            Some(Decimal::new(d.unscaled * BigInt::from(10u32).pow(k), scale))
        }
        Ordering::Less => {
            let digits = d.unscaled.magnitude().to_string().len() as u64;
            let k = diff.unsigned_abs();
            if k > digits + 1 {
                return Some(Decimal::new(0, scale));
            }
            let k = u32::try_from(k).ok()?;
            let divisor = BigInt::from(10u32).pow(k);
            let quotient = &d.unscaled / &divisor;
            let remainder = &d.unscaled - &quotient * &divisor;
            let twice = remainder.magnitude() * 2u32;
            let step = match twice.cmp(divisor.magnitude()) {
                Ordering::Less => false,
                Ordering::Greater => true,
                Ordering::Equal => (&quotient % 2u32) != BigInt::from(0u32),
            };
            let quotient = match (step, remainder.sign()) {
                (true, Sign::Minus) => quotient - 1,
                (true, _) => quotient + 1,
                (false, _) => quotient,
            };
            Some(Decimal::new(quotient, scale))
        }
    }
}

/// A number, shaped after the input value at the same place when there was one.
fn number_like(n: &Num, template: Option<&Value>) -> Value {
    let as_int = || int_of(n);
    let hinted = match template {
        Some(Value::Int8(_)) => as_int().and_then(|i| i8::try_from(i).ok()).map(Value::Int8),
        Some(Value::Int16(_)) => as_int()
            .and_then(|i| i16::try_from(i).ok())
            .map(Value::Int16),
        Some(Value::Int32(_)) => as_int()
            .and_then(|i| i32::try_from(i).ok())
            .map(Value::Int32),
        Some(Value::Float32(_)) => Some(Value::Float32(f64_of(n) as f32)),
        Some(Value::Float64(_)) => Some(Value::Float64(f64_of(n))),
        Some(Value::Date(_)) => as_int()
            .and_then(|i| i32::try_from(i).ok())
            .map(Value::Date),
        Some(Value::Time(_)) => as_int()
            .and_then(|i| i32::try_from(i).ok())
            .filter(|t| (0..LogicalType::MILLIS_PER_DAY).contains(&i64::from(*t)))
            .map(Value::Time),
        Some(Value::Timestamp(_)) => as_int().map(Value::Timestamp),
        Some(Value::Decimal(d)) => decimal_of(n)
            .and_then(|x| rescale(x, d.scale))
            .map(Value::Decimal),
        _ => None,
    };
    hinted.unwrap_or_else(|| match n {
        Num::Int(_) | Num::BigInt(_) => match as_int() {
            Some(i) => Value::Int64(i),
            None => match n {
                Num::BigInt(b) => Value::Decimal(Decimal::new((**b).clone(), 0)),
                _ => Value::Float64(f64_of(n)),
            },
        },
        Num::Float(f) => Value::Float64(*f),
        Num::Dec(_) => Value::Float64(f64_of(n)),
    })
}

/// True when the Connect map key is the jq object key (strings and integers; other keys
/// are never matched, so their values get no hint).
fn same_key(key: &Value, val: &Val) -> bool {
    match (key, val) {
        (Value::String(s), Val::TStr(b)) => s.as_bytes() == &b[..],
        (Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_), Val::Num(n)) => {
            let k = match key {
                Value::Int8(i) => i64::from(*i),
                Value::Int16(i) => i64::from(*i),
                Value::Int32(i) => i64::from(*i),
                Value::Int64(i) => *i,
                _ => return false,
            };
            int_of(n) == Some(k)
        }
        _ => false,
    }
}

/// The template map entry for the `index`-th output entry with `key`: the entry at the same
/// position when its key matches, else the first with that key.
fn template_entry<'a>(
    template: &'a [(Value, Value)],
    index: usize,
    key: &Val,
) -> Option<&'a (Value, Value)> {
    template
        .get(index)
        .filter(|(k, _)| same_key(k, key))
        .or_else(|| template.iter().find(|(k, _)| same_key(k, key)))
}

/// A jq value as a schemaless Connect value, with the input value at the same place as a
/// type hint (see the module docs).
pub(super) fn to_schemaless(val: Val, template: Option<&Value>) -> Value {
    match val {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Boolean(b),
        Val::Num(n) => number_like(&n, template),
        Val::TStr(b) => Value::String(into_string(*b)),
        Val::BStr(b) => Value::Bytes(*b),
        Val::Arr(items) => {
            let hints: &[Value] = match template {
                Some(Value::Array(t)) => t,
                _ => &[],
            };
            Value::Array(
                unwrap_rc(items)
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| to_schemaless(v, hints.get(i)))
                    .collect(),
            )
        }
        Val::Obj(map) => {
            let hints: &[(Value, Value)] = match template {
                Some(Value::Map(t)) => t,
                _ => &[],
            };
            Value::Map(
                unwrap_rc(map)
                    .into_iter()
                    .enumerate()
                    .map(|(i, (k, v))| {
                        let hint = template_entry(hints, i, &k);
                        (
                            to_schemaless(k, hint.map(|(k, _)| k)),
                            to_schemaless(v, hint.map(|(_, v)| v)),
                        )
                    })
                    .collect(),
            )
        }
    }
}

/// The shared optional schema of a primitive type, for inferred values (one `Arc` per type,
/// so inferred fields compare by pointer).
fn optional_primitive(t: SchemaType) -> SchemaRef {
    static PRIMITIVES: OnceLock<[SchemaRef; 5]> = OnceLock::new();
    let all = PRIMITIVES.get_or_init(|| {
        [
            SchemaType::Boolean,
            SchemaType::Int64,
            SchemaType::Float64,
            SchemaType::String,
            SchemaType::Bytes,
        ]
        .map(Schema::optional)
    });
    match t {
        SchemaType::Boolean => all[0].clone(),
        SchemaType::Int64 => all[1].clone(),
        SchemaType::Float64 => all[2].clone(),
        SchemaType::Bytes => all[4].clone(),
        _ => all[3].clone(),
    }
}

/// True when the two schemas differ at most in optionality.
fn same_except_optional(a: &Schema, b: &Schema) -> bool {
    a.schema_type == b.schema_type
        && a.default == b.default
        && a.name == b.name
        && a.version == b.version
        && a.doc == b.doc
        && a.parameters == b.parameters
        && a.fields == b.fields
        && a.key_schema == b.key_schema
        && a.value_schema == b.value_schema
}

/// Schema equality with both sides typed (handles compare their pointers first).
fn same_schema(a: &SchemaRef, b: &SchemaRef) -> bool {
    a == b
}

/// Field names as jq gives them (or as a schema or program holds them), checked to be UTF-8.
fn field_name(key: &[u8]) -> Result<&str> {
    std::str::from_utf8(key).map_err(|e| {
        ConnectError::data(format!(
            "expression result: a struct field name is not valid UTF-8 ({e})"
        ))
    })
}

/// One field of a struct being converted back: its name (jq's bytes, or a name borrowed from
/// a schema or a program) and schema (owned, or borrowed from the struct's schema); its value
/// is held apart, in the struct's values.
pub(super) type OutField<N, S = SchemaRef> = (N, S);

/// A field of a struct rebuilt from a base schema, named by identity: the base's field at an
/// index, or a field added by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldId<'a> {
    /// The base schema's field at this index.
    Base(usize),
    /// A field the base schema does not have.
    New(&'a str),
}

/// A struct schema rebuilt from a base schema, remembered by the identities of its fields.
#[derive(Debug)]
struct Rebuilt {
    base: SchemaRef,
    fields: Vec<(RebuiltField, SchemaRef)>,
    schema: SchemaRef,
}

/// [`FieldId`], owned.
#[derive(Debug)]
enum RebuiltField {
    Base(usize),
    New(Box<str>),
}

impl Rebuilt {
    fn matches(&self, base: &SchemaRef, fields: &[(FieldId, Cow<SchemaRef>)]) -> bool {
        SchemaRef::ptr_eq(&self.base, base)
            && self.fields.len() == fields.len()
            && self
                .fields
                .iter()
                .zip(fields)
                .all(|((id, schema), (other, other_schema))| {
                    SchemaRef::ptr_eq(schema, other_schema)
                        && match (id, other) {
                            (RebuiltField::Base(a), FieldId::Base(b)) => a == b,
                            (RebuiltField::New(a), FieldId::New(b)) => **a == **b,
                            _ => false,
                        }
                })
    }
}

/// Converts jq values back against schemas, and remembers the schemas it had to rebuild.
#[derive(Debug, Default)]
pub(super) struct Shapes {
    built: Mutex<Vec<SchemaRef>>,
    /// Struct schemas rebuilt for [`Shapes::finish_appended`], by field identities.
    rebuilt: Mutex<Vec<Rebuilt>>,
}

impl Shapes {
    /// No remembered schemas.
    pub(super) fn new() -> Self {
        Shapes::default()
    }

    /// The remembered schema `matches` accepts, or the one `build` makes (then remembered).
    fn find_or_build(
        &self,
        matches: impl Fn(&Schema) -> bool,
        build: impl FnOnce() -> Result<SchemaRef>,
    ) -> Result<SchemaRef> {
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = built.iter().position(|s| matches(s)) {
            let found = built.remove(i);
            built.insert(0, found.clone());
            return Ok(found);
        }
        let schema = build()?;
        built.insert(0, schema.clone());
        built.truncate(SHAPES_CAPACITY);
        Ok(schema)
    }

    /// `schema`, made optional.
    fn optional_of(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        self.find_or_build(
            |c| c.optional && same_except_optional(c, schema),
            || {
                let mut copy = (**schema).clone();
                copy.optional = true;
                Ok(SchemaRef::new(copy))
            },
        )
    }

    /// A struct schema with these fields, carrying `base`'s name, version, doc, parameters
    /// and optionality (an inferred struct, without base, is optional).
    fn struct_schema<N: AsRef<[u8]>, S: Borrow<SchemaRef>>(
        &self,
        base: Option<&Schema>,
        fields: &[OutField<N, S>],
    ) -> Result<SchemaRef> {
        let optional = base.is_none_or(|b| b.optional);
        self.find_or_build(
            |c| {
                c.schema_type == SchemaType::Struct
                    && c.optional == optional
                    && c.default.is_none()
                    && c.name.as_deref() == base.and_then(|b| b.name.as_deref())
                    && c.version == base.and_then(|b| b.version)
                    && c.doc.as_deref() == base.and_then(|b| b.doc.as_deref())
                    && base.map_or(c.parameters.is_empty(), |b| c.parameters == b.parameters)
                    && c.fields.len() == fields.len()
                    && c.fields.iter().zip(fields).all(|(cf, (name, schema))| {
                        cf.name.as_bytes() == name.as_ref()
                            && same_schema(&cf.schema, schema.borrow())
                    })
            },
            || {
                let mut builder = match base {
                    Some(b) => copy_schema_basics(b, SchemaBuilder::struct_()),
                    None => SchemaBuilder::struct_(),
                };
                if optional {
                    builder = builder.optional();
                }
                for (name, schema) in fields {
                    builder = builder.field(field_name(name.as_ref())?, schema.borrow().clone())?;
                }
                Ok(builder.build())
            },
        )
    }

    /// An optional array schema of `element`.
    fn array_schema(&self, element: &SchemaRef) -> Result<SchemaRef> {
        self.find_or_build(
            |c| {
                c.schema_type == SchemaType::Array
                    && c.optional
                    && c.name.is_none()
                    && c.value_schema
                        .as_ref()
                        .is_some_and(|e| same_schema(e, element))
            },
            || Ok(SchemaBuilder::array(element.clone()).optional().build()),
        )
    }

    /// An optional map schema.
    fn map_schema(&self, key: &SchemaRef, value: &SchemaRef) -> Result<SchemaRef> {
        self.find_or_build(
            |c| {
                c.schema_type == SchemaType::Map
                    && c.optional
                    && c.name.is_none()
                    && c.key_schema.as_ref().is_some_and(|k| same_schema(k, key))
                    && c.value_schema
                        .as_ref()
                        .is_some_and(|v| same_schema(v, value))
            },
            || {
                Ok(SchemaBuilder::map(key.clone(), value.clone())
                    .optional()
                    .build())
            },
        )
    }

    /// An optional Decimal schema of scale 0, for integers too large for INT64.
    fn big_integer_schema(&self) -> Result<SchemaRef> {
        self.find_or_build(
            |c| {
                c.optional
                    && c.logical_type() == Some(LogicalType::Decimal)
                    && c.parameter(LogicalType::SCALE_PARAMETER) == Some("0")
            },
            || Ok(LogicalType::decimal_builder(0).optional().build()),
        )
    }

    /// The jq value converted against `schema`: the schema itself when the value fits, else a
    /// rebuilt or inferred one (see the module docs).
    pub(super) fn fit(&self, val: Val, schema: &SchemaRef) -> Result<(SchemaRef, Value)> {
        if let Val::Null = val {
            let schema = if schema.optional || schema.default.is_some() {
                schema.clone()
            } else {
                self.optional_of(schema)?
            };
            return Ok((schema, Value::Null));
        }
        if schema.schema_type == SchemaType::Struct {
            if let Val::Obj(map) = &val {
                if map.keys().all(|k| matches!(k, Val::TStr(_))) {
                    if let Val::Obj(map) = val {
                        return self.fit_struct(unwrap_rc(map), schema);
                    }
                }
            }
            return self.infer(val);
        }
        if fits(&val, schema) {
            let value = convert_fitting(val, schema)?;
            return Ok((schema.clone(), value));
        }
        self.infer(val)
    }

    fn fit_struct(&self, map: Map, schema: &SchemaRef) -> Result<(SchemaRef, Value)> {
        let mut fields: Vec<OutField<Bytes>> = Vec::with_capacity(map.len());
        let mut values = Vec::with_capacity(map.len());
        for (i, (k, v)) in map.into_iter().enumerate() {
            let Val::TStr(name) = k else {
                return Err(ConnectError::data(
                    "expression result: struct field names must be strings",
                ));
            };
            let name = *name;
            let (field_schema, value) = match struct_field(schema, i, field_name(&name)?) {
                Some(f) => self.fit(v, &f.schema)?,
                None => self.infer(v)?,
            };
            fields.push((name, field_schema));
            values.push(value);
        }
        self.finish_struct(schema, fields, values)
    }

    /// The struct of `fields` and their `values` (in object order, each already converted
    /// against the field of `schema` with its name, or inferred when `schema` has none):
    /// `schema` itself when the fields are exactly its fields with their very schemas, else a
    /// rebuilt schema (see the module docs).
    pub(super) fn finish_struct<N: AsRef<[u8]>, S: Borrow<SchemaRef>>(
        &self,
        schema: &SchemaRef,
        fields: Vec<OutField<N, S>>,
        values: Vec<Value>,
    ) -> Result<(SchemaRef, Value)> {
        let mut same = fields.len() == schema.fields.len();
        let mut in_order = same;
        if same {
            for (i, (name, field_schema)) in fields.iter().enumerate() {
                match struct_field(schema, i, field_name(name.as_ref())?) {
                    Some(f) if SchemaRef::ptr_eq(field_schema.borrow(), &f.schema) => {
                        in_order &= f.index == i
                    }
                    _ => {
                        same = false;
                        break;
                    }
                }
            }
        }
        if same && in_order {
            let s = Struct::from_values(schema.clone(), values)?;
            return Ok((schema.clone(), Value::Struct(s)));
        }
        if same {
            let mut placed = vec![Value::Null; schema.fields.len()];
            for (i, ((name, _), value)) in fields.into_iter().zip(values).enumerate() {
                if let Some(f) = struct_field(schema, i, field_name(name.as_ref())?) {
                    placed[f.index] = value;
                }
            }
            let s = Struct::from_values(schema.clone(), placed)?;
            return Ok((schema.clone(), Value::Struct(s)));
        }
        let rebuilt = self.struct_schema(Some(schema), &fields)?;
        let s = Struct::from_values(rebuilt.clone(), values)?;
        Ok((rebuilt, Value::Struct(s)))
    }

    /// [`Shapes::finish_struct`] for the fields of `base` in order (each with the schema it
    /// got: its own when it still fits) followed by new fields, named by identity so that a
    /// schema rebuilt before is found again without comparing names.
    pub(super) fn finish_appended(
        &self,
        base: &SchemaRef,
        fields: Vec<(FieldId, Cow<SchemaRef>)>,
        values: Vec<Value>,
    ) -> Result<(SchemaRef, Value)> {
        let same = fields.len() == base.fields.len()
            && fields
                .iter()
                .zip(&base.fields)
                .enumerate()
                .all(|(i, ((id, schema), field))| {
                    *id == FieldId::Base(i) && SchemaRef::ptr_eq(schema, &field.schema)
                });
        if same {
            let s = Struct::from_values(base.clone(), values)?;
            return Ok((base.clone(), Value::Struct(s)));
        }
        let schema = {
            let mut rebuilt = self.rebuilt.lock().unwrap_or_else(|e| e.into_inner());
            match rebuilt.iter().position(|r| r.matches(base, &fields)) {
                Some(i) => rebuilt[i].schema.clone(),
                None => {
                    let mut named: Vec<(&str, &SchemaRef)> = Vec::with_capacity(fields.len());
                    for (id, schema) in &fields {
                        let name = match id {
                            FieldId::Base(i) => match base.fields.get(*i) {
                                Some(f) => f.name.as_str(),
                                None => {
                                    return Err(ConnectError::data(format!(
                                        "expression result: the struct has no field {i}"
                                    )))
                                }
                            },
                            FieldId::New(name) => name,
                        };
                        named.push((name, schema.as_ref()));
                    }
                    let schema = self.struct_schema(Some(base), &named)?;
                    let fields = fields
                        .iter()
                        .map(|(id, s)| {
                            let id = match id {
                                FieldId::Base(i) => RebuiltField::Base(*i),
                                FieldId::New(name) => RebuiltField::New((*name).into()),
                            };
                            (id, s.as_ref().clone())
                        })
                        .collect();
                    rebuilt.insert(
                        0,
                        Rebuilt {
                            base: base.clone(),
                            fields,
                            schema: schema.clone(),
                        },
                    );
                    rebuilt.truncate(SHAPES_CAPACITY);
                    schema
                }
            }
        };
        let s = Struct::from_values(schema.clone(), values)?;
        Ok((schema, Value::Struct(s)))
    }

    /// An optional schema inferred from the jq value, with the value converted to it: null
    /// as STRING, booleans BOOLEAN, integers INT64 (Decimal of scale 0 beyond INT64's
    /// range), other numbers FLOAT64, text STRING, byte strings BYTES, arrays ARRAY (all
    /// non-null elements must infer to the same schema), objects with string keys STRUCT
    /// (fields in object order), other objects MAP.
    pub(super) fn infer(&self, val: Val) -> Result<(SchemaRef, Value)> {
        Ok(match val {
            Val::Null => (optional_primitive(SchemaType::String), Value::Null),
            Val::Bool(b) => (optional_primitive(SchemaType::Boolean), Value::Boolean(b)),
            Val::Num(n) => match (&n, int_of(&n)) {
                (Num::Int(_) | Num::BigInt(_), Some(i)) => {
                    (optional_primitive(SchemaType::Int64), Value::Int64(i))
                }
                (Num::BigInt(b), None) => (
                    self.big_integer_schema()?,
                    Value::Decimal(Decimal::new((**b).clone(), 0)),
                ),
                _ => (
                    optional_primitive(SchemaType::Float64),
                    Value::Float64(f64_of(&n)),
                ),
            },
            Val::TStr(b) => (
                optional_primitive(SchemaType::String),
                Value::String(into_string(*b)),
            ),
            Val::BStr(b) => (optional_primitive(SchemaType::Bytes), Value::Bytes(*b)),
            Val::Arr(items) => {
                let (element, values) = self.infer_uniform(unwrap_rc(items), "array elements")?;
                (self.array_schema(&element)?, Value::Array(values))
            }
            Val::Obj(map) => {
                let map = unwrap_rc(map);
                if map.keys().all(|k| matches!(k, Val::TStr(_))) {
                    let mut fields: Vec<OutField<Bytes>> = Vec::with_capacity(map.len());
                    let mut values = Vec::with_capacity(map.len());
                    for (k, v) in map {
                        if let Val::TStr(name) = k {
                            let (schema, value) = self.infer(v)?;
                            fields.push((*name, schema));
                            values.push(value);
                        }
                    }
                    let schema = self.struct_schema(None, &fields)?;
                    let s = Struct::from_values(schema.clone(), values)?;
                    (schema, Value::Struct(s))
                } else {
                    let (keys, values): (Vec<Val>, Vec<Val>) = map.into_iter().unzip();
                    let (key_schema, keys) = self.infer_uniform(keys, "map keys")?;
                    let (value_schema, values) = self.infer_uniform(values, "map values")?;
                    (
                        self.map_schema(&key_schema, &value_schema)?,
                        Value::Map(keys.into_iter().zip(values).collect()),
                    )
                }
            }
        })
    }

    /// Infers one schema for several values: the schema of the non-null ones, which must all
    /// agree (optional STRING when all are null).
    fn infer_uniform(&self, vals: Vec<Val>, what: &str) -> Result<(SchemaRef, Vec<Value>)> {
        let mut common: Option<SchemaRef> = None;
        let mut values = Vec::with_capacity(vals.len());
        for val in vals {
            let is_null = matches!(val, Val::Null);
            let (schema, value) = self.infer(val)?;
            if !is_null {
                match &common {
                    None => common = Some(schema),
                    Some(c) if same_schema(c, &schema) => {}
                    Some(c) => {
                        return Err(ConnectError::data(format!(
                            "expression result: cannot give one schema to {what} of different \
                             types ({} and {})",
                            describe(c),
                            describe(&schema)
                        )))
                    }
                }
            }
            values.push(value);
        }
        Ok((
            common.unwrap_or_else(|| optional_primitive(SchemaType::String)),
            values,
        ))
    }
}

/// The field of `schema` named `name`, looked for first at `position` (fields usually come
/// back in schema order).
pub(super) fn struct_field<'s>(
    schema: &'s Schema,
    position: usize,
    name: &str,
) -> Option<&'s Field> {
    schema
        .fields
        .get(position)
        .filter(|f| f.name == name)
        .or_else(|| schema.field(name))
}

/// A schema's type for messages: its logical name or its type.
fn describe(schema: &Schema) -> String {
    match &schema.name {
        Some(name) => name.clone(),
        None => schema.schema_type.to_string(),
    }
}

/// True when the jq value can be converted to `schema` without changing the schema.
fn fits(val: &Val, schema: &Schema) -> bool {
    if let Val::Null = val {
        return schema.optional || schema.default.is_some();
    }
    if let Some(logical) = schema.logical_type() {
        let Val::Num(n) = val else { return false };
        return match logical {
            LogicalType::Decimal => match LogicalType::decimal_scale(schema) {
                Ok(scale) => decimal_of(n).and_then(|d| rescale(d, scale)).is_some(),
                Err(_) => false,
            },
            LogicalType::Date => int_of(n).is_some_and(|i| i32::try_from(i).is_ok()),
            LogicalType::Time => {
                int_of(n).is_some_and(|i| (0..LogicalType::MILLIS_PER_DAY).contains(&i))
            }
            LogicalType::Timestamp => int_of(n).is_some(),
        };
    }
    match (schema.schema_type, val) {
        (SchemaType::Boolean, Val::Bool(_)) => true,
        (SchemaType::Int8, Val::Num(n)) => int_of(n).is_some_and(|i| i8::try_from(i).is_ok()),
        (SchemaType::Int16, Val::Num(n)) => int_of(n).is_some_and(|i| i16::try_from(i).is_ok()),
        (SchemaType::Int32, Val::Num(n)) => int_of(n).is_some_and(|i| i32::try_from(i).is_ok()),
        (SchemaType::Int64, Val::Num(n)) => int_of(n).is_some(),
        (SchemaType::Float32 | SchemaType::Float64, Val::Num(_)) => true,
        (SchemaType::String, Val::TStr(_)) => true,
        (SchemaType::Bytes, Val::BStr(_)) => true,
        (SchemaType::Array, Val::Arr(items)) => match &schema.value_schema {
            Some(element) => items.iter().all(|i| fits(i, element)),
            None => false,
        },
        (SchemaType::Map, Val::Obj(map)) => match (&schema.key_schema, &schema.value_schema) {
            (Some(ks), Some(vs)) => map.iter().all(|(k, v)| fits(k, ks) && fits(v, vs)),
            _ => false,
        },
        (SchemaType::Struct, Val::Obj(map)) => {
            map.len() == schema.fields.len()
                && map.iter().all(|(k, v)| match k {
                    Val::TStr(name) => std::str::from_utf8(name)
                        .ok()
                        .and_then(|name| schema.field(name))
                        .is_some_and(|f| fits(v, &f.schema)),
                    _ => false,
                })
        }
        _ => false,
    }
}

fn mismatch(schema: &Schema) -> ConnectError {
    ConnectError::data(format!(
        "expression result: a value does not fit its schema {}",
        describe(schema)
    ))
}

/// Converts a jq value that [`fits`] `schema`.
fn convert_fitting(val: Val, schema: &SchemaRef) -> Result<Value> {
    if let Val::Null = val {
        return Ok(Value::Null);
    }
    if let Some(logical) = schema.logical_type() {
        let Val::Num(n) = &val else {
            return Err(mismatch(schema));
        };
        let converted = match logical {
            LogicalType::Decimal => {
                let scale = LogicalType::decimal_scale(schema)?;
                decimal_of(n)
                    .and_then(|d| rescale(d, scale))
                    .map(Value::Decimal)
            }
            LogicalType::Date => int_of(n)
                .and_then(|i| i32::try_from(i).ok())
                .map(Value::Date),
            LogicalType::Time => int_of(n)
                .and_then(|i| i32::try_from(i).ok())
                .map(Value::Time),
            LogicalType::Timestamp => int_of(n).map(Value::Timestamp),
        };
        return converted.ok_or_else(|| mismatch(schema));
    }
    let converted = match (schema.schema_type, val) {
        (SchemaType::Boolean, Val::Bool(b)) => Some(Value::Boolean(b)),
        (SchemaType::Int8, Val::Num(n)) => int_of(&n)
            .and_then(|i| i8::try_from(i).ok())
            .map(Value::Int8),
        (SchemaType::Int16, Val::Num(n)) => int_of(&n)
            .and_then(|i| i16::try_from(i).ok())
            .map(Value::Int16),
        (SchemaType::Int32, Val::Num(n)) => int_of(&n)
            .and_then(|i| i32::try_from(i).ok())
            .map(Value::Int32),
        (SchemaType::Int64, Val::Num(n)) => int_of(&n).map(Value::Int64),
        (SchemaType::Float32, Val::Num(n)) => Some(Value::Float32(f64_of(&n) as f32)),
        (SchemaType::Float64, Val::Num(n)) => Some(Value::Float64(f64_of(&n))),
        (SchemaType::String, Val::TStr(b)) => Some(Value::String(into_string(*b))),
        (SchemaType::Bytes, Val::BStr(b)) => Some(Value::Bytes(*b)),
        (SchemaType::Array, Val::Arr(items)) => match &schema.value_schema {
            Some(element) => Some(Value::Array(
                unwrap_rc(items)
                    .into_iter()
                    .map(|i| convert_fitting(i, element))
                    .collect::<Result<_>>()?,
            )),
            None => None,
        },
        (SchemaType::Map, Val::Obj(map)) => match (&schema.key_schema, &schema.value_schema) {
            (Some(ks), Some(vs)) => Some(Value::Map(
                unwrap_rc(map)
                    .into_iter()
                    .map(|(k, v)| Ok((convert_fitting(k, ks)?, convert_fitting(v, vs)?)))
                    .collect::<Result<_>>()?,
            )),
            _ => None,
        },
        (SchemaType::Struct, Val::Obj(map)) => {
            let mut values = vec![Value::Null; schema.fields.len()];
            for (k, v) in unwrap_rc(map) {
                let Val::TStr(name) = k else {
                    return Err(mismatch(schema));
                };
                let field = schema
                    .field(field_name(&name)?)
                    .ok_or_else(|| mismatch(schema))?;
                values[field.index] = convert_fitting(v, &field.schema)?;
            }
            Some(Value::Struct(Struct::from_values(schema.clone(), values)?))
        }
        _ => None,
    };
    converted.ok_or_else(|| mismatch(schema))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Num {
        match Val::from(text.parse::<f64>().unwrap()) {
            Val::Num(n) => n,
            _ => unreachable!(),
        }
    }

    fn dec(text: &str) -> Val {
        Val::Num(Num::Dec(Rc::new(text.to_owned())))
    }

    fn person() -> SchemaRef {
        SchemaBuilder::struct_()
            .name("person")
            .version(2)
            .field("name", Schema::required(SchemaType::String))
            .unwrap()
            .field("age", Schema::optional(SchemaType::Int32))
            .unwrap()
            .build()
    }

    #[test]
    fn connect_values_become_jq_values() {
        assert_eq!(to_val(&Value::Int32(7)), Val::from(7isize));
        assert_eq!(to_val(&Value::Float32(0.5)), Val::from(0.5));
        assert_eq!(to_val(&Value::from("x")), Val::from("x".to_owned()));
        assert_eq!(to_val(&Value::Timestamp(1_000)), Val::from(1000isize));
        assert_eq!(to_val(&Value::Date(3)), Val::from(3isize));
        assert_eq!(
            to_val(&Value::Decimal(Decimal::new(1234, 2))).to_string(),
            "12.34"
        );
        assert!(matches!(
            to_val(&Value::Bytes(Bytes::from_static(b"\x01"))),
            Val::BStr(_)
        ));
        let s = Struct::from_values(person(), vec![Value::from("ann"), Value::Null]).unwrap();
        assert_eq!(
            to_val(&Value::Struct(s)).to_string(),
            "{\"name\":\"ann\",\"age\":null}"
        );
        let m = Value::Map(vec![(Value::Int32(1), Value::from("one"))]);
        assert_eq!(to_val(&m).to_string(), "{1:\"one\"}");
    }

    #[test]
    fn schemaless_values_keep_their_input_types() {
        assert_eq!(
            to_schemaless(Val::from(5isize), Some(&Value::Int32(1))),
            Value::Int32(5)
        );
        assert_eq!(
            to_schemaless(Val::from(5_000_000_000isize), Some(&Value::Int32(1))),
            Value::Int64(5_000_000_000)
        );
        assert_eq!(
            to_schemaless(Val::from(5isize), Some(&Value::Float64(1.0))),
            Value::Float64(5.0)
        );
        assert_eq!(
            to_schemaless(Val::from(1.5), Some(&Value::Float32(1.0))),
            Value::Float32(1.5)
        );
        assert_eq!(
            to_schemaless(Val::from(86_400_001isize), Some(&Value::Time(1))),
            Value::Int64(86_400_001)
        );
        assert_eq!(
            to_schemaless(Val::from(10isize), Some(&Value::Timestamp(1))),
            Value::Timestamp(10)
        );
        assert_eq!(
            to_schemaless(dec("1.005"), Some(&Value::Decimal(Decimal::new(0, 2)))),
            Value::Decimal(Decimal::new(100, 2))
        );
        assert_eq!(to_schemaless(Val::from(5isize), None), Value::Int64(5));
        assert_eq!(to_schemaless(dec("2.5"), None), Value::Float64(2.5));
        assert_eq!(
            to_schemaless(Val::from("é".to_owned()), None),
            Value::from("é")
        );
    }

    #[test]
    fn schemaless_maps_use_the_input_entry_of_the_same_key() {
        let input = Value::Map(vec![
            (Value::from("a"), Value::Int32(1)),
            (Value::from("b"), Value::Int8(2)),
        ]);
        let mut map = Map::default();
        map.insert(Val::from("b".to_owned()), Val::from(3isize));
        map.insert(Val::from("a".to_owned()), Val::from(4isize));
        map.insert(Val::from("c".to_owned()), Val::from(5isize));
        assert_eq!(
            to_schemaless(Val::obj(map), Some(&input)),
            Value::Map(vec![
                (Value::from("b"), Value::Int8(3)),
                (Value::from("a"), Value::Int32(4)),
                (Value::from("c"), Value::Int64(5)),
            ])
        );
    }

    #[test]
    fn values_valid_for_their_schema_fit_unchanged() {
        let decimal = LogicalType::decimal(2);
        let cases = [
            (Value::Int32(1), Schema::required(SchemaType::Int32), true),
            (Value::Int64(1), Schema::required(SchemaType::Int32), false),
            (Value::Null, Schema::required(SchemaType::Int32), false),
            (Value::Null, Schema::optional(SchemaType::Int32), true),
            (Value::Decimal(Decimal::new(1, 2)), decimal.clone(), true),
            (Value::Decimal(Decimal::new(1, 3)), decimal, false),
            (Value::Time(5), LogicalType::Time.schema(), true),
            (Value::Time(-5), LogicalType::Time.schema(), false),
            (Value::Int32(5), LogicalType::Date.schema(), false),
            (
                Value::Array(vec![Value::Int16(1), Value::Null]),
                SchemaBuilder::array(Schema::optional(SchemaType::Int16)).build(),
                true,
            ),
            (
                Value::Array(vec![Value::Null]),
                SchemaBuilder::array(Schema::required(SchemaType::Int16)).build(),
                false,
            ),
        ];
        for (value, schema, expected) in cases {
            assert_eq!(fits_unchanged(&value, &schema), expected, "{value:?}");
            if expected {
                let (s, v) = Shapes::new().fit(to_val(&value), &schema).unwrap();
                assert!(SchemaRef::ptr_eq(&s, &schema));
                assert_eq!(v, value);
            }
        }
        let valid = Struct::from_values(person(), vec![Value::from("ann"), Value::Null]).unwrap();
        assert!(fits_unchanged(&Value::Struct(valid), &person()));
        let unfilled = Struct::new(person()).unwrap();
        assert!(!fits_unchanged(&Value::Struct(unfilled), &person()));
        let defaulted = SchemaBuilder::struct_()
            .field(
                "n",
                SchemaBuilder::new(SchemaType::Int32)
                    .default_value(Value::Int32(1))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        let null_field = Value::Struct(Struct::new(defaulted.clone()).unwrap());
        assert!(!fits_unchanged(&null_field, &defaulted));
        assert!(Shapes::new().fit(to_val(&null_field), &defaulted).is_err());
    }

    #[test]
    fn rescaling_rounds_half_even() {
        let r = |u: i64, s: i32, to: i32| rescale(Decimal::new(u, s), to).unwrap();
        assert_eq!(r(125, 2, 1), Decimal::new(12, 1));
        assert_eq!(r(135, 2, 1), Decimal::new(14, 1));
        assert_eq!(r(-135, 2, 1), Decimal::new(-14, 1));
        assert_eq!(r(1251, 3, 1), Decimal::new(13, 1));
        assert_eq!(r(12, 0, 2), Decimal::new(1200, 2));
        assert_eq!(r(5, 30, 2), Decimal::new(0, 2));
        assert!(rescale(Decimal::new(1, -2000), 0).is_none());
        assert_eq!(
            decimal_of(&num("14.499999999999998")).and_then(|d| rescale(d, 2)),
            Some(Decimal::new(1450, 2))
        );
    }

    #[test]
    fn fitting_values_keep_their_schema() {
        let shapes = Shapes::new();
        let schema = Schema::optional(SchemaType::Int32);
        let (s, v) = shapes.fit(Val::from(4isize), &schema).unwrap();
        assert!(SchemaRef::ptr_eq(&s, &schema));
        assert_eq!(v, Value::Int32(4));
        let schema = LogicalType::decimal(2);
        let (s, v) = shapes.fit(Val::from(2.005), &schema).unwrap();
        assert!(SchemaRef::ptr_eq(&s, &schema));
        assert_eq!(v, Value::Decimal(Decimal::new(200, 2)));
        let schema = LogicalType::Timestamp.schema();
        let (_, v) = shapes.fit(Val::from(99isize), &schema).unwrap();
        assert_eq!(v, Value::Timestamp(99));
        let schema = SchemaBuilder::array(Schema::required(SchemaType::Int16)).build();
        let arr = Val::Arr(Rc::new(vec![Val::from(1isize), Val::from(2isize)]));
        let (s, v) = shapes.fit(arr, &schema).unwrap();
        assert!(SchemaRef::ptr_eq(&s, &schema));
        assert_eq!(v, Value::Array(vec![Value::Int16(1), Value::Int16(2)]));
    }

    #[test]
    fn values_that_no_longer_fit_get_an_inferred_schema() {
        let shapes = Shapes::new();
        let (s, v) = shapes
            .fit(Val::from(1.5), &Schema::required(SchemaType::Int32))
            .unwrap();
        assert_eq!(*s, *Schema::optional(SchemaType::Float64));
        assert_eq!(v, Value::Float64(1.5));
        let (s, v) = shapes
            .fit(Val::from(300isize), &Schema::required(SchemaType::Int8))
            .unwrap();
        assert_eq!(s.schema_type, SchemaType::Int64);
        assert_eq!(v, Value::Int64(300));
        let (s, v) = shapes
            .fit(Val::Null, &Schema::required(SchemaType::Int32))
            .unwrap();
        assert!(s.optional);
        assert_eq!(s.schema_type, SchemaType::Int32);
        assert_eq!(v, Value::Null);
    }

    #[test]
    fn structs_keep_their_schema_when_the_fields_still_fit() {
        let shapes = Shapes::new();
        let schema = person();
        let mut map = Map::default();
        map.insert(Val::from("age".to_owned()), Val::from(40isize));
        map.insert(Val::from("name".to_owned()), Val::from("bo".to_owned()));
        let (s, v) = shapes.fit(Val::obj(map), &schema).unwrap();
        assert!(SchemaRef::ptr_eq(&s, &schema));
        let Value::Struct(st) = v else { panic!() };
        assert_eq!(st.values(), &[Value::from("bo"), Value::Int32(40)]);
    }

    #[test]
    fn struct_schemas_are_rebuilt_once_per_shape() {
        let shapes = Shapes::new();
        let schema = person();
        let record = |total: f64| {
            let mut map = Map::default();
            map.insert(Val::from("name".to_owned()), Val::from("bo".to_owned()));
            map.insert(Val::from("total".to_owned()), Val::from(total));
            Val::obj(map)
        };
        let (s1, v1) = shapes.fit(record(1.0), &schema).unwrap();
        let (s2, _) = shapes.fit(record(2.0), &schema).unwrap();
        assert!(SchemaRef::ptr_eq(&s1, &s2));
        assert_eq!(s1.name.as_deref(), Some("person"));
        assert_eq!(s1.version, Some(2));
        let names: Vec<_> = s1.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["name", "total"]);
        assert!(SchemaRef::ptr_eq(
            &s1.fields[0].schema,
            &schema.fields[0].schema
        ));
        assert_eq!(*s1.fields[1].schema, *Schema::optional(SchemaType::Float64));
        let Value::Struct(st) = v1 else { panic!() };
        assert_eq!(st.values(), &[Value::from("bo"), Value::Float64(1.0)]);
    }

    #[test]
    fn appended_structs_find_their_rebuilt_schema_again() {
        let shapes = Shapes::new();
        let base = person();
        let fields = |extra: Option<SchemaRef>| {
            let mut fields = vec![
                (FieldId::Base(0), Cow::Borrowed(&base.fields[0].schema)),
                (FieldId::Base(1), Cow::Borrowed(&base.fields[1].schema)),
            ];
            fields.extend(extra.map(|s| (FieldId::New("total"), Cow::Owned(s))));
            fields
        };
        let values = || vec![Value::from("bo"), Value::Null, Value::Int64(1)];
        let int = optional_primitive(SchemaType::Int64);
        let (s1, v1) = shapes
            .finish_appended(&base, fields(Some(int.clone())), values())
            .unwrap();
        let (s2, _) = shapes
            .finish_appended(&base, fields(Some(int.clone())), values())
            .unwrap();
        assert!(SchemaRef::ptr_eq(&s1, &s2));
        let named = vec![
            (&b"name"[..], base.fields[0].schema.clone()),
            (&b"age"[..], base.fields[1].schema.clone()),
            (&b"total"[..], int),
        ];
        let (by_name, v) = Shapes::new().finish_struct(&base, named, values()).unwrap();
        assert_eq!(*s1, *by_name);
        assert_eq!(v1, v);
        let float = optional_primitive(SchemaType::Float64);
        let (s3, _) = shapes
            .finish_appended(
                &base,
                fields(Some(float)),
                vec![Value::from("bo"), Value::Null, Value::Float64(1.5)],
            )
            .unwrap();
        assert_eq!(s3.fields[2].schema.schema_type, SchemaType::Float64);
        let (s4, _) = shapes
            .finish_appended(&base, fields(None), values()[..2].to_vec())
            .unwrap();
        assert!(SchemaRef::ptr_eq(&s4, &base));
    }

    #[test]
    fn inference_covers_every_jq_value() {
        let shapes = Shapes::new();
        let mut inner = Map::default();
        inner.insert(Val::from("x".to_owned()), Val::from(1isize));
        inner.insert(Val::from("y".to_owned()), Val::Null);
        let arr = Val::Arr(Rc::new(vec![Val::from(1.5), Val::Null]));
        let mut map = Map::default();
        map.insert(Val::from("s".to_owned()), Val::obj(inner));
        map.insert(Val::from("a".to_owned()), arr);
        map.insert(Val::from("b".to_owned()), Val::Bool(true));
        let (s, v) = shapes.infer(Val::obj(map)).unwrap();
        assert!(s.optional);
        assert_eq!(
            s.fields[0].schema.fields[0].schema.schema_type,
            SchemaType::Int64
        );
        assert_eq!(
            s.fields[0].schema.fields[1].schema.schema_type,
            SchemaType::String
        );
        assert_eq!(
            s.fields[1]
                .schema
                .value_schema
                .as_ref()
                .unwrap()
                .schema_type,
            SchemaType::Float64
        );
        assert_eq!(s.fields[2].schema.schema_type, SchemaType::Boolean);
        let Value::Struct(st) = v else { panic!() };
        assert_eq!(
            st.values()[1],
            Value::Array(vec![Value::Float64(1.5), Value::Null])
        );
        let mut keyed = Map::default();
        keyed.insert(Val::from(1isize), Val::from("one".to_owned()));
        let (s, v) = shapes.infer(Val::obj(keyed)).unwrap();
        assert_eq!(s.schema_type, SchemaType::Map);
        assert_eq!(v, Value::Map(vec![(Value::Int64(1), Value::from("one"))]));
        let big = Val::Num(Num::big_int(
            "123456789012345678901234567890".parse().unwrap(),
        ));
        let (s, v) = shapes.infer(big).unwrap();
        assert_eq!(s.logical_type(), Some(LogicalType::Decimal));
        assert_eq!(v.schema_type(), Some(SchemaType::Bytes));
    }

    #[test]
    fn mixed_arrays_cannot_get_a_schema() {
        let shapes = Shapes::new();
        let arr = Val::Arr(Rc::new(vec![Val::from(1isize), Val::from("x".to_owned())]));
        let err = shapes.infer(arr).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expression result: cannot give one schema to array elements of different types \
             (INT64 and STRING)"
        );
    }
}

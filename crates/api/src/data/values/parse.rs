//! `Values.parseString`: text to a (schema, value) with type inference.
//!
//! The text is split into tokens at the delimiters `:` `,` `{` `}` `[` `]` `"` (a backslash
//! escapes the next character and stays in the token). A value starts with `null`, `true` or
//! `false` alone, an array `[..]`, a map `{..}`, or a token read as a temporal form or a
//! number; anything else, or anything that fails inside an array or map, is the whole text as
//! a string. Only the first token of a number is read, so `12:30:00` is the int8 `12`.

use num_bigint::BigInt;

use super::format::MILLIS_PER_DAY;
use super::temporal::parse_as_temporal;
use super::{convert_to_string, temporal_millis};
use crate::data::java_text::f64_to_string;
use crate::data::{
    Decimal, LogicalType, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, SchemaType, Value,
};

/// Parse failure inside an array or map; the caller falls back to a string.
struct Reject;

type Parsed = Result<Option<SchemaAndValue>, Reject>;

/// Kafka's `Values.parseString`. `null` text gives `(None, Null)`; text that is nothing else
/// is `(string, text)`.
pub fn parse_string(text: &str) -> SchemaAndValue {
    if text.is_empty() {
        return SchemaAndValue::new(Some(Schema::required(SchemaType::String)), Value::from(""));
    }
    let mut parser = ValueParser {
        tokens: Tokenizer::new(text),
    };
    // The top level never rejects: failures inside arrays and maps fall back to a string.
    match parser.parse(false) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => SchemaAndValue::NULL,
        Err(Reject) => string_value(text),
    }
}

fn string_value(text: &str) -> SchemaAndValue {
    SchemaAndValue::new(
        Some(Schema::required(SchemaType::String)),
        Value::from(text),
    )
}

/// Java's `String.trim()`: strips characters up to U+0020 from both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn is_blank(s: &str) -> bool {
    java_trim(s).is_empty()
}

/// Kafka's `Values.Parser`: a tokenizer with one token of look-ahead and rewinding.
struct Tokenizer<'a> {
    original: &'a str,
    pos: usize,
    next_token: Option<&'a str>,
}

impl<'a> Tokenizer<'a> {
    fn new(original: &'a str) -> Self {
        Tokenizer {
            original,
            pos: 0,
            next_token: None,
        }
    }

    fn mark(&self) -> usize {
        self.pos - self.next_token.map_or(0, str::len)
    }

    fn rewind_to(&mut self, position: usize) {
        self.pos = position;
        self.next_token = None;
    }

    fn has_next(&self) -> bool {
        self.next_token.is_some() || self.pos < self.original.len()
    }

    fn next(&mut self) -> &'a str {
        match self.next_token.take() {
            Some(t) => t,
            None => self.consume(),
        }
    }

    /// The text of the next `n` tokens, or `None` (position unchanged) if there are fewer.
    fn next_n(&mut self, n: usize) -> Option<&'a str> {
        let start = self.mark();
        for _ in 0..n {
            if !self.has_next() {
                self.rewind_to(start);
                return None;
            }
            self.next();
        }
        Some(&self.original[start..self.pos])
    }

    fn consume(&mut self) -> &'a str {
        let bytes = self.original.as_bytes();
        let start = self.pos;
        let mut escaped = false;
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b'\\' => escaped = !escaped,
                b':' | b',' | b'{' | b'}' | b'[' | b']' | b'"' => {
                    if !escaped {
                        if start < self.pos {
                            return &self.original[start..self.pos];
                        }
                        self.pos += 1;
                        return &self.original[start..start + 1];
                    }
                    escaped = false;
                }
                _ => escaped = false,
            }
            self.pos += 1;
        }
        &self.original[start..self.pos]
    }

    fn can_consume(&mut self, expected: &str) -> bool {
        if self.is_next(expected) {
            self.next_token = None;
            return true;
        }
        false
    }

    /// Whether the next non-blank token, trimmed, is `expected`.
    fn is_next(&mut self, expected: &str) -> bool {
        let mut token = match self.next_token {
            Some(t) => t,
            None => {
                if !self.has_next() {
                    return false;
                }
                self.consume()
            }
        };
        while is_blank(token) && self.pos < self.original.len() {
            token = self.consume();
        }
        self.next_token = Some(token);
        java_trim(token) == expected
    }
}

struct ValueParser<'a> {
    tokens: Tokenizer<'a>,
}

impl ValueParser<'_> {
    fn can_parse_single_token_literal(&mut self, embedded: bool, literal: &str) -> bool {
        let start = self.tokens.mark();
        if self.tokens.can_consume(literal) && (embedded || !self.tokens.has_next()) {
            return true;
        }
        self.tokens.rewind_to(start);
        false
    }

    fn parse(&mut self, embedded: bool) -> Parsed {
        if !self.tokens.has_next() {
            return Ok(None);
        }
        if embedded && self.tokens.can_consume("\"") {
            return Ok(Some(self.parse_quoted_string()));
        }
        if self.can_parse_single_token_literal(embedded, "null") {
            return Ok(None);
        }
        if self.can_parse_single_token_literal(embedded, "true") {
            return Ok(Some(boolean(true)));
        }
        if self.can_parse_single_token_literal(embedded, "false") {
            return Ok(Some(boolean(false)));
        }
        let start = self.tokens.mark();
        let container = if self.tokens.can_consume("[") {
            Some(self.parse_array())
        } else if self.tokens.can_consume("{") {
            Some(self.parse_map())
        } else {
            None
        };
        match container {
            Some(Ok(parsed)) => return Ok(Some(parsed)),
            Some(Err(Reject)) => self.tokens.rewind_to(start),
            None => {}
        }
        let token = self.tokens.next();
        if is_blank(token) {
            return Ok(Some(string_value(token)));
        }
        self.parse_next_token(embedded, java_trim(token)).map(Some)
    }

    fn parse_next_token(&mut self, embedded: bool, token: &str) -> Result<SchemaAndValue, Reject> {
        let first = token.chars().next().unwrap_or(' ');
        let first_is_digit = first.is_ascii_digit();
        if first_is_digit {
            if let Some(temporal) = self.parse_multiple_tokens_as_temporal(token) {
                return Ok(temporal);
            }
        }
        if first_is_digit || first == '+' || first == '-' {
            if let Some(number) = parse_as_number(token) {
                return Ok(number);
            }
        }
        if embedded {
            return Err(Reject);
        }
        Ok(string_value(self.tokens.original))
    }

    /// Times and timestamps span five tokens (`10`, `:`, `15`, `:`, `30.123Z`).
    fn parse_multiple_tokens_as_temporal(&mut self, token: &str) -> Option<SchemaAndValue> {
        let position = self.tokens.mark();
        if let Some(remainder) = self.tokens.next_n(4) {
            let joined = format!("{token}{remainder}");
            if let Some(t) = parse_as_temporal(&joined) {
                return Some(t);
            }
        }
        self.tokens.rewind_to(position);
        parse_as_temporal(token)
    }

    fn parse_quoted_string(&mut self) -> SchemaAndValue {
        let mut content = String::new();
        while self.tokens.has_next() {
            if self.tokens.can_consume("\"") {
                break;
            }
            content.push_str(self.tokens.next());
        }
        parse_as_temporal(&content).unwrap_or_else(|| string_value(&content))
    }

    fn parse_array(&mut self) -> Result<SchemaAndValue, Reject> {
        let mut items = Vec::new();
        let mut merger = SchemaMerger::default();
        while self.tokens.has_next() {
            if self.tokens.can_consume("]") {
                let schema = match merger.common {
                    Some(element) => {
                        for item in &mut items {
                            *item = convert_to(&element, std::mem::take(item))?;
                        }
                        SchemaBuilder::array(element).build()
                    }
                    None => SchemaBuilder::new(SchemaType::Array).build(),
                };
                return Ok(SchemaAndValue::new(Some(schema), Value::Array(items)));
            }
            if self.tokens.can_consume(",") {
                return Err(Reject);
            }
            let element = self.parse(true)?;
            merger.merge(element.as_ref());
            items.push(element.map(|e| e.value).unwrap_or_default());
            let position = self.tokens.mark();
            if self.tokens.can_consume("]") {
                self.tokens.rewind_to(position);
            } else if !self.tokens.can_consume(",") {
                return Err(Reject);
            }
        }
        Err(Reject)
    }

    fn parse_map(&mut self) -> Result<SchemaAndValue, Reject> {
        let mut entries: Vec<(Value, Value)> = Vec::new();
        let mut keys = SchemaMerger::default();
        let mut values = SchemaMerger::default();
        while self.tokens.has_next() {
            if self.tokens.can_consume("}") {
                let schema = match (keys.common, values.common) {
                    (Some(k), Some(v)) => {
                        for (key, value) in &mut entries {
                            *key = convert_to(&k, std::mem::take(key))?;
                            *value = convert_to(&v, std::mem::take(value))?;
                        }
                        SchemaBuilder::map(k, v).build()
                    }
                    (Some(k), None) => {
                        for (key, _) in &mut entries {
                            *key = convert_to(&k, std::mem::take(key))?;
                        }
                        let mut schema = Schema::new(SchemaType::Map);
                        schema.key_schema = Some(k);
                        SchemaRef::new(schema)
                    }
                    _ => SchemaBuilder::new(SchemaType::Map).build(),
                };
                return Ok(SchemaAndValue::new(
                    Some(schema),
                    Value::Map(dedupe(entries)),
                ));
            }
            if self.tokens.can_consume(",") {
                return Err(Reject);
            }
            let key = match self.parse(true)? {
                Some(k) if !k.value.is_null() => k,
                _ => return Err(Reject),
            };
            if !self.tokens.can_consume(":") {
                return Err(Reject);
            }
            let value = self.parse(true)?;
            let key_value = key.value.clone();
            let entry_value = value.as_ref().map(|v| v.value.clone()).unwrap_or_default();
            match entries.iter_mut().find(|(k, _)| *k == key_value) {
                Some(slot) => slot.1 = entry_value,
                None => entries.push((key_value, entry_value)),
            }
            self.tokens.can_consume(",");
            keys.merge(Some(&key));
            values.merge(value.as_ref());
        }
        Err(Reject)
    }
}

/// Keeps the first position and the last value of equal keys, as a `LinkedHashMap` does.
fn dedupe(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        match out.iter_mut().find(|(existing, _)| *existing == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

fn boolean(b: bool) -> SchemaAndValue {
    SchemaAndValue::new(
        Some(Schema::required(SchemaType::Boolean)),
        Value::Boolean(b),
    )
}

/// Kafka's `SchemaMerger`: the common schema of the non-null values seen so far.
#[derive(Default)]
struct SchemaMerger {
    common: Option<SchemaRef>,
    incompatible: bool,
}

impl SchemaMerger {
    fn merge(&mut self, latest: Option<&SchemaAndValue>) {
        let Some(schema) = latest.and_then(|l| l.schema.as_ref()) else {
            return;
        };
        if self.incompatible {
            return;
        }
        self.common = match self.common.take() {
            None => Some(schema.clone()),
            Some(previous) => merge_schemas(previous, schema.clone()),
        };
        self.incompatible = self.common.is_none();
    }
}

fn numeric_rank(t: SchemaType) -> Option<u8> {
    Some(match t {
        SchemaType::Int8 => 0,
        SchemaType::Int16 => 1,
        SchemaType::Int32 => 2,
        SchemaType::Int64 => 3,
        SchemaType::Float32 => 4,
        SchemaType::Float64 => 5,
        _ => return None,
    })
}

/// Kafka's `mergeSchemas`: numbers widen int8 → int16 → int32 → int64 → float32 → float64;
/// equal types keep one schema; anything else has no common schema.
fn merge_schemas(previous: SchemaRef, latest: SchemaRef) -> Option<SchemaRef> {
    if previous.schema_type != latest.schema_type {
        let (p, l) = (
            numeric_rank(previous.schema_type)?,
            numeric_rank(latest.schema_type)?,
        );
        return Some(if l > p { latest } else { previous });
    }
    if previous.optional == latest.optional {
        return Some(if previous.optional { previous } else { latest });
    }
    (previous == latest).then_some(previous)
}

/// Kafka's `parseAsNumber`: the smallest integer type that holds a whole number up to 1e19,
/// else float32 if finite (precision may be lost), else float64, else a Decimal.
fn parse_as_number(token: &str) -> Option<SchemaAndValue> {
    let decimal = Decimal::parse(token)?;
    if let Some(int) = exact_integer(&decimal) {
        let (t, v) = if let Ok(b) = i8::try_from(int) {
            (SchemaType::Int8, Value::Int8(b))
        } else if let Ok(s) = i16::try_from(int) {
            (SchemaType::Int16, Value::Int16(s))
        } else if let Ok(i) = i32::try_from(int) {
            (SchemaType::Int32, Value::Int32(i))
        } else {
            (SchemaType::Int64, Value::Int64(int))
        };
        return Some(SchemaAndValue::new(Some(Schema::required(t)), v));
    }
    let text = format!("{}e{}", decimal.unscaled, -i64::from(decimal.scale));
    if decimal.scale != 0 {
        if let Ok(f) = text.parse::<f32>() {
            if f.is_finite() {
                return Some(SchemaAndValue::new(
                    Some(Schema::required(SchemaType::Float32)),
                    Value::Float32(f),
                ));
            }
        }
        if let Ok(d) = text.parse::<f64>() {
            if d.is_finite() {
                return Some(SchemaAndValue::new(
                    Some(Schema::required(SchemaType::Float64)),
                    Value::Float64(d),
                ));
            }
        }
    }
    let schema = LogicalType::decimal(decimal.scale);
    Some(SchemaAndValue::new(Some(schema), Value::Decimal(decimal)))
}

/// The value as an `i64` when it is a whole number within the `i64` range (Kafka's
/// `parseAsExactDecimal`), worked out on the decimal digits so that a large scale or exponent
/// costs nothing (`5.000…0` with any number of zeros is the int8 `5`).
fn exact_integer(d: &Decimal) -> Option<i64> {
    let text = d.unscaled.to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(magnitude) => ("-", magnitude),
        None => ("", text.as_str()),
    };
    if digits.bytes().all(|b| b == b'0') {
        return Some(0);
    }
    let whole = if d.scale <= 0 {
        // A non-zero whole number with more than 19 trailing zeros is beyond the i64 range.
        let zeros = usize::try_from(d.scale.unsigned_abs()).ok()?;
        if zeros > 19 {
            return None;
        }
        format!("{sign}{digits}{}", "0".repeat(zeros))
    } else {
        let fraction = usize::try_from(d.scale.unsigned_abs()).ok()?;
        let split = digits.len().checked_sub(fraction)?;
        let (int_part, fraction_part) = digits.split_at(split);
        if int_part.is_empty() || !fraction_part.bytes().all(|b| b == b'0') {
            return None;
        }
        format!("{sign}{int_part}")
    };
    whole.parse().ok()
}

/// Kafka's `Values.convertTo(schema, null, value)`, as used to align array elements and map
/// entries to their common schema.
fn convert_to(schema: &Schema, value: Value) -> Result<Value, Reject> {
    if value.is_null() {
        return if schema.optional {
            Ok(Value::Null)
        } else {
            Err(Reject)
        };
    }
    match (schema.logical_type(), schema.schema_type) {
        (Some(LogicalType::Decimal), _) => match value {
            Value::Decimal(d) => Ok(Value::Decimal(d)),
            Value::Bytes(b) => {
                let scale = LogicalType::decimal_scale(schema).map_err(|_| Reject)?;
                Ok(Value::Decimal(Decimal::from_bytes(&b, scale)))
            }
            Value::String(s) => Decimal::parse(&s).map(Value::Decimal).ok_or(Reject),
            other => {
                let d = as_double(&other)?;
                Decimal::parse(&f64_to_string(d))
                    .map(Value::Decimal)
                    .ok_or(Reject)
            }
        },
        (Some(LogicalType::Date), _) => {
            let value = reparse_string(value);
            if let Some(ms) = temporal_millis(&value) {
                return Ok(Value::Date(ms.div_euclid(MILLIS_PER_DAY) as i32));
            }
            Ok(Value::Date(as_long(&value)? as i32))
        }
        (Some(LogicalType::Time), _) => {
            let value = reparse_string(value);
            if let Some(ms) = temporal_millis(&value) {
                return Ok(Value::Time(ms as i32));
            }
            let n = as_long(&value)? as i32;
            if !(0..=MILLIS_PER_DAY as i32).contains(&n) {
                return Err(Reject);
            }
            Ok(Value::Time(n))
        }
        (Some(LogicalType::Timestamp), _) => {
            let value = reparse_string(value);
            if let Some(ms) = temporal_millis(&value) {
                return Ok(Value::Timestamp(ms));
            }
            Ok(Value::Timestamp(as_long(&value)?))
        }
        (None, SchemaType::Bytes) => match value {
            Value::Bytes(b) => Ok(Value::Bytes(b)),
            _ => Err(Reject),
        },
        (None, SchemaType::String) => {
            Ok(Value::String(convert_to_string(&value).unwrap_or_default()))
        }
        (None, SchemaType::Boolean) => match value {
            Value::Boolean(b) => Ok(Value::Boolean(b)),
            Value::String(s) => match parse_string(&s).value {
                Value::Boolean(b) => Ok(Value::Boolean(b)),
                _ => Ok(Value::Boolean(as_long(&Value::String(s))? != 0)),
            },
            other => Ok(Value::Boolean(as_long(&other)? != 0)),
        },
        (None, SchemaType::Int8) => match value {
            Value::Int8(v) => Ok(Value::Int8(v)),
            other => Ok(Value::Int8(as_long(&other)? as i8)),
        },
        (None, SchemaType::Int16) => match value {
            Value::Int16(v) => Ok(Value::Int16(v)),
            other => Ok(Value::Int16(as_long(&other)? as i16)),
        },
        (None, SchemaType::Int32) => match value {
            Value::Int32(v) => Ok(Value::Int32(v)),
            other => Ok(Value::Int32(as_long(&other)? as i32)),
        },
        (None, SchemaType::Int64) => match value {
            Value::Int64(v) => Ok(Value::Int64(v)),
            other => Ok(Value::Int64(as_long(&other)?)),
        },
        (None, SchemaType::Float32) => match value {
            Value::Float32(v) => Ok(Value::Float32(v)),
            other => Ok(Value::Float32(as_double(&other)? as f32)),
        },
        (None, SchemaType::Float64) => match value {
            Value::Float64(v) => Ok(Value::Float64(v)),
            other => Ok(Value::Float64(as_double(&other)?)),
        },
        (None, SchemaType::Array) => match reparse_string(value) {
            v @ Value::Array(_) => Ok(v),
            _ => Err(Reject),
        },
        (None, SchemaType::Map) => match reparse_string(value) {
            v @ Value::Map(_) => Ok(v),
            _ => Err(Reject),
        },
        (None, SchemaType::Struct) => match value {
            v @ Value::Struct(_) => Ok(v),
            _ => Err(Reject),
        },
    }
}

/// Strings are parsed first when converting to a temporal, array or map type.
fn reparse_string(value: Value) -> Value {
    match value {
        Value::String(s) => parse_string(&s).value,
        other => other,
    }
}

/// Kafka's `asLong` without a source schema.
fn as_long(value: &Value) -> Result<i64, Reject> {
    Ok(match value {
        Value::Int8(v) => i64::from(*v),
        Value::Int16(v) => i64::from(*v),
        Value::Int32(v) => i64::from(*v),
        Value::Int64(v) => *v,
        Value::Float32(v) => *v as i64,
        Value::Float64(v) => *v as i64,
        Value::Decimal(d) => decimal_low_i64(d),
        Value::String(s) => decimal_low_i64(&Decimal::parse(s).ok_or(Reject)?),
        _ => return Err(Reject),
    })
}

/// Kafka's `asDouble` without a source schema.
fn as_double(value: &Value) -> Result<f64, Reject> {
    Ok(match value {
        Value::Float32(v) => f64::from(*v),
        Value::Float64(v) => *v,
        Value::Decimal(d) => decimal_to_f64(d),
        Value::String(s) => decimal_to_f64(&Decimal::parse(s).ok_or(Reject)?),
        other => as_long(other)? as f64,
    })
}

/// `BigDecimal.doubleValue()`: the correctly rounded double.
pub fn decimal_to_f64(d: &Decimal) -> f64 {
    format!("{}e{}", d.unscaled, -i64::from(d.scale))
        .parse()
        .unwrap_or(f64::NAN)
}

/// `BigDecimal.longValue()`: the integer part (truncated toward zero), low 64 bits.
pub fn decimal_low_i64(d: &Decimal) -> i64 {
    let int_part = if d.scale <= 0 {
        // 10^k has k factors of two, so the low 64 bits are zero once k >= 64.
        if d.scale <= -64 {
            return 0;
        }
        &d.unscaled * BigInt::from(10).pow(d.scale.unsigned_abs())
    } else {
        let digits = d.unscaled.magnitude().bits() as f64 * std::f64::consts::LOG10_2;
        if f64::from(d.scale) > digits + 1.0 {
            return 0;
        }
        &d.unscaled / BigInt::from(10).pow(d.scale.unsigned_abs())
    };
    low_i64(&int_part)
}

/// The low 64 bits of a big integer in two's complement (`BigInteger.longValue()`).
pub fn low_i64(n: &BigInt) -> i64 {
    let bytes = n.to_signed_bytes_le();
    let fill = if n.sign() == num_bigint::Sign::Minus {
        0xff
    } else {
        0
    };
    let mut buf = [fill; 8];
    for (slot, b) in buf.iter_mut().zip(bytes.iter()) {
        *slot = *b;
    }
    i64::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Option<SchemaType>, Value) {
        let sv = parse_string(text);
        (sv.schema.map(|s| s.schema_type), sv.value)
    }

    fn string(text: &str) -> (Option<SchemaType>, Value) {
        (Some(SchemaType::String), Value::from(text))
    }

    #[test]
    fn infers_integer_widths() {
        assert_eq!(parsed("42"), (Some(SchemaType::Int8), Value::Int8(42)));
        assert_eq!(parsed("300"), (Some(SchemaType::Int16), Value::Int16(300)));
        assert_eq!(
            parsed("66000"),
            (Some(SchemaType::Int32), Value::Int32(66000))
        );
        assert_eq!(
            parsed("5000000000"),
            (Some(SchemaType::Int64), Value::Int64(5_000_000_000))
        );
        assert_eq!(parsed("-128"), (Some(SchemaType::Int8), Value::Int8(-128)));
        assert_eq!(parsed("0012"), (Some(SchemaType::Int8), Value::Int8(12)));
        assert_eq!(parsed("1e3"), (Some(SchemaType::Int16), Value::Int16(1000)));
        assert_eq!(parsed("1.0"), (Some(SchemaType::Int8), Value::Int8(1)));
        assert_eq!(
            parsed("300.0"),
            (Some(SchemaType::Int16), Value::Int16(300))
        );
        assert_eq!(parsed("+7"), (Some(SchemaType::Int8), Value::Int8(7)));
        // A whole number stays an integer however many fraction zeros it has (Kafka's
        // `parseAsExactDecimal` strips trailing zeros).
        assert_eq!(
            parsed("5.000000000000000000000000000000000000000000"),
            (Some(SchemaType::Int8), Value::Int8(5))
        );
        let big = parse_string("12345678901234567890");
        assert_eq!(big.schema, Some(LogicalType::decimal(0)));
        assert_eq!(
            big.value,
            Value::Decimal(Decimal::parse("12345678901234567890").unwrap())
        );
    }

    #[test]
    fn infers_floats() {
        assert_eq!(
            parsed("1.5"),
            (Some(SchemaType::Float32), Value::Float32(1.5))
        );
        assert_eq!(
            parsed("1.123456789"),
            (Some(SchemaType::Float32), Value::Float32(1.123_456_8))
        );
        assert_eq!(
            parsed("1e39"),
            (Some(SchemaType::Float64), Value::Float64(1e39))
        );
        assert_eq!(
            parsed("0.5"),
            (Some(SchemaType::Float32), Value::Float32(0.5))
        );
        assert_eq!(
            parse_string("1e400").schema,
            Some(LogicalType::decimal(-400))
        );
    }

    #[test]
    fn infers_literals_and_strings() {
        assert_eq!(
            parsed("true"),
            (Some(SchemaType::Boolean), Value::Boolean(true))
        );
        assert_eq!(
            parsed(" false "),
            (Some(SchemaType::Boolean), Value::Boolean(false))
        );
        assert_eq!(parsed("TRUE"), string("TRUE"));
        assert_eq!(parsed("true}"), string("true}"));
        assert_eq!(parsed("null"), (None, Value::Null));
        assert_eq!(parsed(" null "), (None, Value::Null));
        assert_eq!(parsed(""), string(""));
        assert_eq!(parsed("hello"), string("hello"));
        assert_eq!(parsed("12abc"), string("12abc"));
        assert_eq!(parsed("   "), string("   "));
    }

    #[test]
    fn infers_temporals() {
        let d = parse_string("2024-01-02");
        assert_eq!(d.schema, Some(LogicalType::Date.schema()));
        assert_eq!(d.value, Value::Date(19_724));
        let t = parse_string("10:15:30.123Z");
        assert_eq!(t.schema, Some(LogicalType::Time.schema()));
        assert_eq!(t.value, Value::Time(36_930_123));
        let ts = parse_string("2024-01-02T10:15:30.123Z");
        assert_eq!(ts.schema, Some(LogicalType::Timestamp.schema()));
        assert_eq!(
            ts.value,
            Value::Timestamp(19_724 * MILLIS_PER_DAY + 36_930_123)
        );
    }

    #[test]
    fn first_token_quirk() {
        assert_eq!(
            parsed("12:30:00"),
            (Some(SchemaType::Int8), Value::Int8(12))
        );
        assert_eq!(parsed("1,2"), (Some(SchemaType::Int8), Value::Int8(1)));
    }

    #[test]
    fn infers_arrays() {
        let sv = parse_string("[1,2,3]");
        let schema = sv.schema.unwrap();
        assert_eq!(schema.schema_type, SchemaType::Array);
        assert_eq!(
            schema.value_schema,
            Some(Schema::required(SchemaType::Int8))
        );
        assert_eq!(
            sv.value,
            Value::Array(vec![Value::Int8(1), Value::Int8(2), Value::Int8(3)])
        );
        let widened = parse_string("[1, 300, 2.5]");
        assert_eq!(
            widened.schema.unwrap().value_schema,
            Some(Schema::required(SchemaType::Float32))
        );
        assert_eq!(
            widened.value,
            Value::Array(vec![
                Value::Float32(1.0),
                Value::Float32(300.0),
                Value::Float32(2.5)
            ])
        );
        let mixed = parse_string("[1, \"a\"]");
        assert_eq!(mixed.schema.unwrap().value_schema, None);
        assert_eq!(
            mixed.value,
            Value::Array(vec![Value::Int8(1), Value::from("a")])
        );
        let empty = parse_string("[]");
        assert_eq!(empty.value, Value::Array(vec![]));
        let quoted = parse_string(r#"["2024-01-02", "x"]"#);
        assert_eq!(
            quoted.value,
            Value::Array(vec![Value::Date(19_724), Value::from("x")])
        );
    }

    #[test]
    fn infers_maps() {
        let sv = parse_string(r#"{"a":1,"b":2}"#);
        let schema = sv.schema.unwrap();
        assert_eq!(
            schema.key_schema,
            Some(Schema::required(SchemaType::String))
        );
        assert_eq!(
            schema.value_schema,
            Some(Schema::required(SchemaType::Int8))
        );
        assert_eq!(
            sv.value,
            Value::Map(vec![
                (Value::from("a"), Value::Int8(1)),
                (Value::from("b"), Value::Int8(2))
            ])
        );
        let numeric_keys = parse_string("{1:true, 2:false}");
        assert_eq!(
            numeric_keys.value,
            Value::Map(vec![
                (Value::Int8(1), Value::Boolean(true)),
                (Value::Int8(2), Value::Boolean(false))
            ])
        );
    }

    #[test]
    fn malformed_containers_stay_strings() {
        for text in [
            "[foo]",
            "{foo: 3}",
            "[0 1 2]",
            "{6:9 4:20}",
            "{null: 3}",
            "{a:1}",
            "[1,",
            "[1,null]",
            "[,1]",
        ] {
            assert_eq!(parsed(text), string(text), "{text}");
        }
    }

    #[test]
    fn exact_integers_fit_i64() {
        let whole = |t: &str| exact_integer(&Decimal::parse(t).unwrap());
        assert_eq!(whole("9223372036854775807"), Some(i64::MAX));
        assert_eq!(whole("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(whole("9223372036854775808"), None);
        assert_eq!(
            whole("5.000000000000000000000000000000000000000000"),
            Some(5)
        );
        assert_eq!(whole("0.5"), None);
        assert_eq!(whole("-0.000"), Some(0));
        assert_eq!(whole("12e2"), Some(1200));
        assert_eq!(whole("1e19"), None);
        assert_eq!(whole("1e18"), Some(1_000_000_000_000_000_000));
        assert_eq!(whole("1e-2000000000"), None);
    }

    #[test]
    fn low_bits_match_java() {
        assert_eq!(decimal_low_i64(&Decimal::parse("1.9").unwrap()), 1);
        assert_eq!(decimal_low_i64(&Decimal::parse("-1.9").unwrap()), -1);
        assert_eq!(
            decimal_low_i64(&Decimal::parse("18446744073709551617").unwrap()),
            1
        );
        assert_eq!(decimal_low_i64(&Decimal::parse("1e100").unwrap()), 0);
        assert_eq!(decimal_low_i64(&Decimal::parse("1e-100").unwrap()), 0);
        assert_eq!(low_i64(&BigInt::from(-1)), -1);
    }
}

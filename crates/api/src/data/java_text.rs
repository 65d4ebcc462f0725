//! Java's `toString` text of Connect values, as Kafka Connect writes it.
//!
//! Kafka Connect turns values into text with Java's `toString` in several user-visible places
//! (StringConverter, FileStreamSink, SimpleHeaderConverter, Cast to string). This module holds
//! the one implementation of those renderings, so every plugin writes the same text:
//!
//! | value | text |
//! | --- | --- |
//! | null | `null` |
//! | string | as is |
//! | integers, booleans | decimal, `true`/`false` |
//! | float32/float64 | `Float`/`Double.toString` (JDK 19 and later): the shortest decimal that reads back, the even last digit on a tie, plain with at least one fraction digit in `[1e-3, 1e7)` (`1.0`, `0.001`), scientific otherwise (`1.0E7`, `4.9E-324`); `NaN`, `Infinity` |
//! | decimal | `BigDecimal.toString`: `1.50`, `1E+3`, `1.5E-7` |
//! | date, time, timestamp | `java.util.Date.toString` in UTC: `Thu Jan 01 00:00:00 UTC 1970` |
//! | array | `[a, b]` |
//! | map | `{k=v, k2=v2}` in entry order |
//! | struct | `Struct{a=1,b=x}`, null fields left out |
//! | bytes | chosen by [`BytesText`]: Base64 or the signed list `[1, -2, 3]` |
//!
//! Deliberate deviations from Java: dates are always rendered in UTC with the proleptic
//! Gregorian calendar (Java uses the JVM's time zone and the Julian calendar before 1582; a
//! worker run with `TZ=UTC` writes the same text for modern dates), maps keep their entry order
//! (Java's `HashMap` order is unspecified), and bytes are never rendered as Java's identity text
//! `[B@1b6d3586`.

use std::fmt::{self, Display, Formatter, Write};

use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;

use super::{Decimal, LogicalType, Value};

const MILLIS_PER_DAY: i64 = LogicalType::MILLIS_PER_DAY;

/// How a BYTES value is shown by [`JavaText`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BytesText {
    /// Standard Base64 with padding (`aGk=`), as Kafka's `Values` renders bytes.
    Base64,
    /// The signed byte values, as Java's `Arrays.toString(byte[])` (`[1, -2, 3]`).
    SignedList,
}

/// Displays a value as Java's `String.valueOf` would, with bytes shown as chosen.
#[derive(Debug, Clone, Copy)]
pub struct JavaText<'a> {
    value: &'a Value,
    bytes: BytesText,
}

impl<'a> JavaText<'a> {
    /// The Java text of `value`, rendering BYTES values (at any depth) as `bytes` says.
    pub fn new(value: &'a Value, bytes: BytesText) -> Self {
        JavaText { value, bytes }
    }

    fn of(&self, value: &'a Value) -> Self {
        JavaText::new(value, self.bytes)
    }
}

impl Display for JavaText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.value {
            Value::Null => f.write_str("null"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => write_f32(f, *v),
            Value::Float64(v) => write_f64(f, *v),
            Value::Decimal(d) => write_decimal(f, d),
            Value::String(s) => f.write_str(s),
            Value::Bytes(bytes) => match self.bytes {
                BytesText::Base64 => Base64Display::new(bytes, &STANDARD).fmt(f),
                BytesText::SignedList => {
                    f.write_char('[')?;
                    for (i, b) in bytes.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        // Java bytes are signed.
                        write!(f, "{}", i8::from_ne_bytes([*b]))?;
                    }
                    f.write_char(']')
                }
            },
            Value::Array(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    self.of(item).fmt(f)?;
                }
                f.write_char(']')
            }
            Value::Map(entries) => {
                f.write_char('{')?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}={}", self.of(k), self.of(v))?;
                }
                f.write_char('}')
            }
            Value::Struct(s) => {
                f.write_str("Struct{")?;
                let mut first = true;
                for (field, value) in s.schema().fields.iter().zip(s.values()) {
                    if value.is_null() {
                        continue;
                    }
                    if !first {
                        f.write_char(',')?;
                    }
                    first = false;
                    write!(f, "{}={}", field.name, self.of(value))?;
                }
                f.write_char('}')
            }
            Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
                match temporal_millis(self.value) {
                    Some(ms) => write_java_date(f, ms),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The epoch milliseconds of a Date, Time or Timestamp value (Java's `Date.getTime()`).
pub fn temporal_millis(value: &Value) -> Option<i64> {
    match value {
        Value::Date(days) => Some(i64::from(*days) * MILLIS_PER_DAY),
        Value::Time(ms) => Some(i64::from(*ms)),
        Value::Timestamp(ms) => Some(*ms),
        _ => None,
    }
}

/// Writes `v` as Java's `Double.toString` does.
pub fn write_f64<W: Write + ?Sized>(out: &mut W, v: f64) -> fmt::Result {
    if !v.is_finite() || v == 0.0 {
        return write_special(out, v.is_nan(), v == 0.0, v.is_sign_negative());
    }
    let magnitude = v.abs();
    let plain = (1e-3..1e7).contains(&magnitude);
    if plain {
        // Below 1e9, adding a half and truncating rounds to the nearest whole number.
        let hundredths = (magnitude * 100.0 + 0.5) as u32;
        if f64::from(hundredths) / 100.0 == magnitude {
            return write_hundredths(out, v < 0.0, hundredths);
        }
    }
    write_finite(out, v, v < 0.0, plain)
}

/// Java's text of a double in the plain range that is a whole number of hundredths (prices,
/// quantities, percentages), written without the shortest-digits search: the two-decimal
/// text reads back as the double, and no shorter text does (neighbouring doubles below 1e7
/// are far closer than 0.01), so it is the shortest, with trailing fraction zeros dropped
/// down to one digit as Java does (`12.5`, `3.0`).
fn write_hundredths<W: Write + ?Sized>(
    out: &mut W,
    negative: bool,
    hundredths: u32,
) -> fmt::Result {
    if negative {
        out.write_char('-')?;
    }
    out.write_str(itoa::Buffer::new().format(hundredths / 100))?;
    let fraction = hundredths % 100;
    let digits = [
        b'.',
        b'0' + (fraction / 10) as u8,
        b'0' + (fraction % 10) as u8,
    ];
    let used = if fraction.is_multiple_of(10) { 2 } else { 3 };
    out.write_str(std::str::from_utf8(&digits[..used]).map_err(|_| fmt::Error)?)
}

/// Writes `v` as Java's `Float.toString` does.
pub fn write_f32<W: Write + ?Sized>(out: &mut W, v: f32) -> fmt::Result {
    if !v.is_finite() || v == 0.0 {
        return write_special(out, v.is_nan(), v == 0.0, v.is_sign_negative());
    }
    write_finite(out, v, v < 0.0, (1e-3..1e7).contains(&v.abs()))
}

/// Java's text of NaN, a zero or an infinity.
fn write_special<W: Write + ?Sized>(
    out: &mut W,
    nan: bool,
    zero: bool,
    negative: bool,
) -> fmt::Result {
    out.write_str(match (nan, zero, negative) {
        (true, _, _) => "NaN",
        (false, true, false) => "0.0",
        (false, true, true) => "-0.0",
        (false, false, false) => "Infinity",
        (false, false, true) => "-Infinity",
    })
}

/// Java's `toString` of a finite non-zero float or double (JDK 19 and later): the shortest
/// decimal that reads back as `v`, the one with the even last digit when two are equally
/// close (Ryu's choice too), with at least two significant digits; plain when `plain` (the
/// magnitude is in `[1e-3, 1e7)`), `d.dddE±n` otherwise.
fn write_finite<W, F>(out: &mut W, v: F, negative: bool, plain: bool) -> fmt::Result
where
    W: Write + ?Sized,
    F: ryu::Float + fmt::LowerExp,
{
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(v);
    if plain {
        // In Java's plain range Ryu lays the digits out as Java does (`7.16`, `1.0`, `0.001`).
        return out.write_str(text);
    }
    let mut digits = Digits::parse(text)?;
    if digits.len == 1 {
        // Java prints at least two significant digits and picks the two-digit decimal closest
        // to the value (Double.MIN_VALUE is `4.9E-324`, not `5.0E-324`); Rust's exact
        // rendering to two digits is that decimal.
        let mut exact = StackText::new();
        write!(exact, "{v:.1e}")?;
        digits = Digits::parse(exact.as_str())?;
    }
    if negative {
        out.write_char('-')?;
    }
    digits.write_scientific(out)
}

/// The significant digits of a decimal rendering and the power of ten of the first one.
struct Digits {
    digits: [u8; 32],
    len: usize,
    exponent: i32,
}

impl Digits {
    /// Reads a rendering of a finite non-zero number, plain (`-0.0012`, `100.0`) or with an
    /// exponent (`1.5e-7`, `4e300`), as Ryu and Rust's `{:e}` write them.
    fn parse(text: &str) -> Result<Self, fmt::Error> {
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m, parse_exponent(e)?),
            None => (text, 0),
        };
        let mut parsed = Digits {
            digits: [0; 32],
            len: 0,
            exponent,
        };
        // Digits seen before the decimal point, and whether it has been passed.
        let mut before_point = 0i32;
        let mut after_point = false;
        let mut leading_zeros = 0i32;
        for b in mantissa.bytes() {
            match b {
                b'.' => after_point = true,
                b'0'..=b'9' => {
                    if !after_point {
                        before_point += 1;
                    }
                    if parsed.len == 0 && b == b'0' {
                        leading_zeros += 1;
                        continue;
                    }
                    let slot = parsed.digits.get_mut(parsed.len).ok_or(fmt::Error)?;
                    *slot = b;
                    parsed.len += 1;
                }
                b'-' | b'+' => {}
                _ => return Err(fmt::Error),
            }
        }
        while parsed.len > 1 && parsed.digits[parsed.len - 1] == b'0' {
            parsed.len -= 1;
        }
        if parsed.len == 0 {
            return Err(fmt::Error);
        }
        parsed.exponent += before_point - leading_zeros - 1;
        Ok(parsed)
    }

    /// Java's computerized scientific notation: `d.dddE±n` with at least one fraction digit.
    fn write_scientific<W: Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        let (first, rest) = self.digits[..self.len].split_first().ok_or(fmt::Error)?;
        out.write_char(char::from(*first))?;
        out.write_char('.')?;
        if rest.is_empty() {
            out.write_char('0')?;
        }
        for digit in rest {
            out.write_char(char::from(*digit))?;
        }
        write!(out, "E{}", self.exponent)
    }
}

/// The exponent after the `e` of a rendering: optional sign, then decimal digits.
fn parse_exponent(text: &str) -> Result<i32, fmt::Error> {
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        all => (false, all),
    };
    if digits.is_empty() {
        return Err(fmt::Error);
    }
    let mut value = 0i32;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err(fmt::Error);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i32::from(b - b'0')))
            .ok_or(fmt::Error)?;
    }
    Ok(if negative { -value } else { value })
}

/// Java's `Double.toString(v)`.
pub fn f64_to_string(v: f64) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_f64(&mut s, v);
    s
}

/// Java's `Float.toString(v)`.
pub fn f32_to_string(v: f32) -> String {
    let mut s = String::new();
    let _ = write_f32(&mut s, v);
    s
}

/// Writes `d` as Java's `BigDecimal.toString()` does: plain for non-negative scales unless the
/// adjusted exponent is below -6, scientific (`1E+3`, `1.5E-7`) otherwise.
pub fn write_decimal<W: Write + ?Sized>(out: &mut W, d: &Decimal) -> fmt::Result {
    let coeff = d.unscaled.magnitude().to_string();
    if d.unscaled.sign() == num_bigint::Sign::Minus {
        out.write_char('-')?;
    }
    let scale = i64::from(d.scale);
    if scale == 0 {
        return out.write_str(&coeff);
    }
    let adjusted = -scale + (coeff.len() as i64 - 1);
    if scale > 0 && adjusted >= -6 {
        let scale = scale as usize;
        if coeff.len() > scale {
            let (int, frac) = coeff.split_at(coeff.len() - scale);
            return write!(out, "{int}.{frac}");
        }
        out.write_str("0.")?;
        for _ in coeff.len()..scale {
            out.write_char('0')?;
        }
        return out.write_str(&coeff);
    }
    out.write_str(&coeff[..1])?;
    if coeff.len() > 1 {
        write!(out, ".{}", &coeff[1..])?;
    }
    let plus = if adjusted > 0 { "+" } else { "" };
    write!(out, "E{plus}{adjusted}")
}

/// Java's `BigDecimal.toString()` of `d`.
pub fn decimal_to_string(d: &Decimal) -> String {
    let mut s = String::new();
    let _ = write_decimal(&mut s, d);
    s
}

/// A civil date in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// The year; 0 is 1 BC.
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> Civil {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil { year, month, day }
}

/// Writes an instant in epoch milliseconds as `java.util.Date.toString()` does, in UTC:
/// `EEE MMM dd HH:mm:ss zzz yyyy`, e.g. `Thu Jan 01 00:00:00 UTC 1970`.
pub fn write_java_date<W: Write + ?Sized>(out: &mut W, millis: i64) -> fmt::Result {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let civil = civil_from_days(days);
    let tod = millis.rem_euclid(MILLIS_PER_DAY);
    // 1970-01-01 was a Thursday.
    write!(
        out,
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(civil.month - 1) as usize],
        civil.day,
        tod / 3_600_000,
        tod / 60_000 % 60,
        tod / 1000 % 60,
        civil.year
    )
}

/// `java.util.Date.toString()` in UTC of an instant in epoch milliseconds.
pub fn java_date_to_string(millis: i64) -> String {
    let mut s = String::with_capacity(28);
    let _ = write_java_date(&mut s, millis);
    s
}

/// A small fixed buffer for number renderings, so formatting does not allocate.
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        StackText {
            buf: [0; 64],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII is ever written (see `write_str`).
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() || !s.is_ascii() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, SchemaBuilder, SchemaType, Struct};
    use bytes::Bytes;

    fn text(v: Value) -> String {
        JavaText::new(&v, BytesText::SignedList).to_string()
    }

    #[test]
    fn primitives_render_like_java() {
        assert_eq!(text(Value::Null), "null");
        assert_eq!(text(Value::Boolean(true)), "true");
        assert_eq!(text(Value::Int8(-5)), "-5");
        assert_eq!(text(Value::Int64(1234567890123)), "1234567890123");
        assert_eq!(text(Value::String("héllo".into())), "héllo");
    }

    #[test]
    fn doubles_render_like_java() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (12.34, "12.34"),
            (1e10, "1.0E10"),
            (1.0e7, "1.0E7"),
            (9_999_999.0, "9999999.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1.25e-5, "1.25E-5"),
            (1234.5678, "1234.5678"),
            (123_456_789.0, "1.23456789E8"),
            (-1.5, "-1.5"),
            (100.0, "100.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (5e-324, "4.9E-324"),
            (f64::MAX, "1.7976931348623157E308"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (v, want) in cases {
            assert_eq!(f64_to_string(*v), *want, "{v:e}");
            assert_eq!(text(Value::Float64(*v)), *want, "{v:e}");
        }
    }

    /// The hundredths shortcut writes exactly what the shortest-digits search writes, for
    /// every whole number of hundredths in the ranges checked, either sign, and leaves other
    /// doubles alone.
    #[test]
    fn hundredths_render_as_the_shortest_digits() {
        let searched = |v: f64| {
            let mut text = String::new();
            write_finite(&mut text, v, v < 0.0, true).unwrap();
            text
        };
        let hundredths = (1..=2_000_000u32).chain(999_000_000..=999_999_999);
        for n in hundredths.step_by(7) {
            let v = f64::from(n) / 100.0;
            assert_eq!(f64_to_string(v), searched(v), "{n} hundredths");
            assert_eq!(f64_to_string(-v), searched(-v), "-{n} hundredths");
        }
        for v in [0.001, 0.0049, 0.125, 1.005, 2.675, 0.1 + 0.2, 9_999_999.995] {
            assert_eq!(f64_to_string(v), searched(v), "{v}");
        }
        assert_eq!(f64_to_string(5.4), "5.4");
        assert_eq!(f64_to_string(-0.05), "-0.05");
        assert_eq!(f64_to_string(9_999_999.99), "9999999.99");
    }

    #[test]
    fn floats_render_like_java() {
        assert_eq!(f32_to_string(12.34), "12.34");
        assert_eq!(f32_to_string(1.1), "1.1");
        assert_eq!(f32_to_string(1e10), "1.0E10");
        assert_eq!(f32_to_string("1.123456789".parse().unwrap()), "1.1234568");
        assert_eq!(f32_to_string(f32::from_bits(1)), "1.4E-45");
        assert_eq!(f32_to_string(3.0), "3.0");
        assert_eq!(text(Value::Float32(0.1)), "0.1");
        assert_eq!(text(Value::Float32(1.0e8)), "1.0E8");
    }

    /// Where a value lies exactly between two shortest decimals, Java takes the one with the
    /// even last digit, up or down (Rust's `{}` rounds these ties up).
    #[test]
    fn ties_take_the_even_digit() {
        let tie32 = -(1_093_526.0_f32 + 0.25);
        assert_eq!(f32_to_string(tie32), "-1093526.2");
        assert_eq!(f32_to_string(1_093_526.0 + 0.75), "1093526.8");
        // 2^23 + 2^-10: doubles there are 2^-29 apart, and the exact value has one digit more
        // than the shortest.
        let plain = 8_388_608.0 + 1.0 / 1024.0;
        assert_eq!(plain - 8_388_608.0, 1.0 / 1024.0);
        assert_eq!(f64_to_string(plain), "8388608.000976562");
        assert_eq!(f64_to_string(-plain), "-8388608.000976562");
        // 2^49 + 0.25, in the scientific range: doubles there are 0.125 apart.
        let scientific = 2f64.powi(49) + 0.25;
        assert_eq!(f64_to_string(scientific), "5.629499534213122E14");
        assert_eq!(f64_to_string(scientific + 0.5), "5.629499534213128E14");
    }

    /// Every rendering reads back as the value, has the length of the shortest one (two
    /// digits at least), is Rust's shortest unless that one is an odd-ended tie, and follows
    /// Java's layout.
    #[test]
    fn renderings_are_shortest_and_laid_out_like_java() {
        fn check<F>(text: &str, v: F, rust_shortest: &str, plain: bool)
        where
            F: std::str::FromStr + PartialEq + fmt::Debug,
        {
            assert_eq!(text.parse::<F>().ok(), Some(v), "{text} reads back");
            let unsigned = text.trim_start_matches('-');
            if plain {
                assert!(!unsigned.contains('E'), "{text} is plain");
                let (int, frac) = unsigned.split_once('.').unwrap();
                assert!(!int.is_empty() && !frac.is_empty(), "{text}");
                assert!(int == "0" || !int.starts_with('0'), "{text}");
            } else {
                let (mantissa, exponent) = unsigned.split_once('E').unwrap();
                let (int, frac) = mantissa.split_once('.').unwrap();
                assert!(int.len() == 1 && int != "0" && !frac.is_empty(), "{text}");
                assert!(frac == "0" || !frac.ends_with('0'), "{text}");
                exponent.parse::<i32>().unwrap();
            }
            let ours = Digits::parse(text).unwrap();
            let rust = Digits::parse(rust_shortest).unwrap();
            if rust.len == 1 {
                assert!(ours.len <= 2, "{text} vs {rust_shortest}");
                return;
            }
            let same = ours.len == rust.len
                && ours.exponent == rust.exponent
                && ours.digits[..ours.len] == rust.digits[..rust.len];
            if !same {
                // A tie: same length, the last digit one apart and even.
                assert_eq!(ours.len, rust.len, "{text} vs {rust_shortest}");
                assert_eq!(ours.exponent, rust.exponent, "{text} vs {rust_shortest}");
                let n = ours.len - 1;
                assert_eq!(
                    ours.digits[..n],
                    rust.digits[..n],
                    "{text} vs {rust_shortest}"
                );
                let (last, other) = (ours.digits[n], rust.digits[n]);
                assert!(last.is_multiple_of(2), "{text} vs {rust_shortest}");
                assert_eq!(last.abs_diff(other), 1, "{text} vs {rust_shortest}");
            }
        }
        // A fixed pseudo-random spread over the whole exponent range, and over the plain one.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut doubles = vec![f64::from_bits(state)];
            doubles.push((state % 100_000_000_000) as f64 / 8192.0);
            doubles.push((state % 1_000_000_000) as f64 * 1e-12);
            for d in doubles.into_iter().filter(|d| d.is_finite() && *d != 0.0) {
                let plain = (1e-3..1e7).contains(&d.abs());
                check(&f64_to_string(d), d, &format!("{d:e}"), plain);
            }
            let floats = [
                f32::from_bits((state >> 32) as u32),
                (state % 10_000_000) as f32 / 977.0,
                (state % 100_000_000) as f32 / 64.0,
            ];
            for f in floats.into_iter().filter(|f| f.is_finite() && *f != 0.0) {
                let plain = (1e-3..1e7).contains(&f.abs());
                check(&f32_to_string(f), f, &format!("{f:e}"), plain);
            }
        }
    }

    #[test]
    fn digits_read_every_rendering() {
        let read = |text: &str| {
            let d = Digits::parse(text).unwrap();
            (
                String::from_utf8(d.digits[..d.len].to_vec()).unwrap(),
                d.exponent,
            )
        };
        assert_eq!(read("-0.0012"), ("12".to_string(), -3));
        assert_eq!(read("100.0"), ("1".to_string(), 2));
        assert_eq!(read("1.5e-7"), ("15".to_string(), -7));
        assert_eq!(read("4e300"), ("4".to_string(), 300));
        assert_eq!(read("1.0e10"), ("1".to_string(), 10));
        assert_eq!(read("102.5"), ("1025".to_string(), 2));
        assert!(Digits::parse("0.0").is_err());
        assert!(Digits::parse("1e").is_err());
        assert!(Digits::parse("1x").is_err());
    }

    #[test]
    fn decimals_render_like_big_decimal() {
        let cases: &[(i64, i32, &str)] = &[
            (156, 2, "1.56"),
            (150, 2, "1.50"),
            (15600, 4, "1.5600"),
            (1, -3, "1E+3"),
            (12, -1, "1.2E+2"),
            (12, -3, "1.2E+4"),
            (15, 8, "1.5E-7"),
            (-5, 3, "-0.005"),
            (5, 7, "5E-7"),
            (1, 7, "1E-7"),
            (5, 6, "0.000005"),
            (0, -2, "0E+2"),
            (42, 0, "42"),
        ];
        for (unscaled, scale, want) in cases {
            let d = Decimal::new(*unscaled, *scale);
            assert_eq!(decimal_to_string(&d), *want);
            assert_eq!(text(Value::Decimal(d)), *want);
        }
    }

    #[test]
    fn civil_dates_follow_the_gregorian_calendar() {
        let civil = |year, month, day| Civil { year, month, day };
        assert_eq!(civil_from_days(0), civil(1970, 1, 1));
        assert_eq!(civil_from_days(-1), civil(1969, 12, 31));
        assert_eq!(civil_from_days(19_724), civil(2024, 1, 2));
        assert_eq!(civil_from_days(19_782), civil(2024, 2, 29));
        assert_eq!(civil_from_days(-719_468), civil(0, 3, 1));
    }

    #[test]
    fn dates_render_in_utc() {
        assert_eq!(java_date_to_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            java_date_to_string(19_724 * MILLIS_PER_DAY + 3_723_000),
            "Tue Jan 02 01:02:03 UTC 2024"
        );
        assert_eq!(text(Value::Timestamp(0)), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            text(Value::Timestamp(1_700_000_000_123)),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        assert_eq!(text(Value::Date(19_782)), "Thu Feb 29 00:00:00 UTC 2024");
        assert_eq!(text(Value::Time(3_723_000)), "Thu Jan 01 01:02:03 UTC 1970");
        assert_eq!(text(Value::Timestamp(-1)), "Wed Dec 31 23:59:59 UTC 1969");
    }

    #[test]
    fn temporal_millis_of_logical_values() {
        assert_eq!(temporal_millis(&Value::Date(2)), Some(2 * MILLIS_PER_DAY));
        assert_eq!(temporal_millis(&Value::Time(5)), Some(5));
        assert_eq!(temporal_millis(&Value::Timestamp(-7)), Some(-7));
        assert_eq!(temporal_millis(&Value::Int64(7)), None);
    }

    #[test]
    fn containers_render_like_java_collections() {
        let list = Value::Array(vec![
            Value::Int32(1),
            Value::String("b".into()),
            Value::Null,
        ]);
        assert_eq!(text(list), "[1, b, null]");
        let map = Value::Map(vec![
            (Value::String("k".into()), Value::Int32(1)),
            (Value::String("k2".into()), Value::Array(vec![])),
        ]);
        assert_eq!(text(map), "{k=1, k2=[]}");
    }

    #[test]
    fn bytes_render_as_chosen() {
        let nested = Value::Array(vec![Value::Bytes(Bytes::from_static(&[1u8, 0xfe]))]);
        assert_eq!(text(nested.clone()), "[[1, -2]]");
        assert_eq!(
            JavaText::new(&nested, BytesText::Base64).to_string(),
            "[Af4=]"
        );
        let hi = Value::Bytes(Bytes::from_static(b"hi"));
        assert_eq!(JavaText::new(&hi, BytesText::Base64).to_string(), "aGk=");
        assert_eq!(text(hi), "[104, 105]");
    }

    #[test]
    fn structs_skip_null_fields() {
        let inner = SchemaBuilder::struct_()
            .field("z", Schema::required(SchemaType::Int64))
            .unwrap()
            .build();
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("b", Schema::optional(SchemaType::String))
            .unwrap()
            .field("c", Schema::optional(SchemaType::Float64))
            .unwrap()
            .field("d", inner.clone())
            .unwrap()
            .build();
        let nested = Struct::new(inner).unwrap().with("z", 9i64).unwrap();
        let s = Struct::new(schema)
            .unwrap()
            .with("a", 1)
            .unwrap()
            .with("c", 2.5)
            .unwrap()
            .with("d", Value::Struct(nested))
            .unwrap();
        assert_eq!(text(Value::Struct(s)), "Struct{a=1,c=2.5,d=Struct{z=9}}");
    }
}

//! Renders Connect values as text the way Kafka's FileStreamSink does: `String.valueOf(value)`,
//! that is, Java's `toString` of the value object.
//!
//! | value | text |
//! | --- | --- |
//! | null | `null` |
//! | string | as is |
//! | integers, booleans | decimal, `true`/`false` |
//! | float32/float64 | Java's `Float`/`Double.toString`: `1.0`, `0.001`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity` |
//! | decimal | Java's `BigDecimal.toString`: `1.50`, `1E+3`, `1E-7` |
//! | date, time, timestamp | `java.util.Date.toString` in UTC: `Thu Jan 01 00:00:00 UTC 1970` |
//! | array | `[a, b]` |
//! | map | `{k=v, k2=v2}` in entry order |
//! | struct | `Struct{a=1,b=x}`, null fields left out |
//! | bytes inside a container | `[1, -2, 3]` (Java's `Arrays.toString` of a `byte[]`) |
//!
//! Deliberate deviations from Java: dates are always rendered in UTC (Java uses the JVM's time
//! zone), maps keep their entry order (Java's `HashMap` order is unspecified), and bytes are
//! rendered as their signed values instead of Java's identity text `[B@1b6d3586`. A top-level
//! bytes value is not rendered here at all: the sink writes its raw bytes.

use std::fmt::{self, Display, Formatter, Write};

use num_text::{java_decimal, java_double, java_float};
use sluice_api::data::Value;

/// Displays a value as Java's `String.valueOf` would.
pub(crate) struct JavaText<'a>(pub(crate) &'a Value);

impl Display for JavaText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("null"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => java_float(f, *v),
            Value::Float64(v) => java_double(f, *v),
            Value::String(s) => f.write_str(s),
            Value::Bytes(bytes) => {
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
            Value::Array(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    JavaText(item).fmt(f)?;
                }
                f.write_char(']')
            }
            Value::Map(entries) => {
                f.write_char('{')?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}={}", JavaText(k), JavaText(v))?;
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
                    write!(f, "{}={}", field.name, JavaText(value))?;
                }
                f.write_char('}')
            }
            Value::Decimal(d) => java_decimal(f, d),
            Value::Date(days) => java_date(f, i64::from(*days) * MILLIS_PER_DAY),
            Value::Time(ms) => java_date(f, i64::from(*ms)),
            Value::Timestamp(ms) => java_date(f, *ms),
        }
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;

/// `java.util.Date.toString()` (`EEE MMM dd HH:mm:ss zzz yyyy`) in UTC.
fn java_date(f: &mut Formatter<'_>, epoch_ms: i64) -> fmt::Result {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch_ms.div_euclid(MILLIS_PER_DAY);
    let secs_of_day = epoch_ms.rem_euclid(MILLIS_PER_DAY) / 1000;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS[days.rem_euclid(7) as usize];
    write!(
        f,
        "{weekday} {} {day:02} {:02}:{:02}:{:02} UTC {year:04}",
        MONTHS[(month - 1) as usize],
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

/// Proleptic Gregorian (year, month 1-12, day 1-31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Java's number-to-text rules.
mod num_text {
    use std::fmt::{self, Formatter};

    use sluice_api::data::Decimal;

    /// `Double.toString`: shortest digits that round-trip, plain between 10^-3 and 10^7,
    /// otherwise `d.dddE±n`.
    pub(super) fn java_double(f: &mut Formatter<'_>, v: f64) -> fmt::Result {
        if v.is_nan() {
            return f.write_str("NaN");
        }
        if v.is_infinite() {
            return f.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
        }
        let plain = v == 0.0 || (1e-3..1e7).contains(&v.abs());
        java_floating(f, &format!("{v:e}"), plain)
    }

    /// `Float.toString`: as [`java_double`] with the shortest digits of the 32-bit value.
    pub(super) fn java_float(f: &mut Formatter<'_>, v: f32) -> fmt::Result {
        if v.is_nan() {
            return f.write_str("NaN");
        }
        if v.is_infinite() {
            return f.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
        }
        let plain = v == 0.0 || (1e-3..1e7).contains(&v.abs());
        java_floating(f, &format!("{v:e}"), plain)
    }

    /// Renders Rust's `{:e}` text (`-1.25e-5`) in Java's plain or scientific form.
    fn java_floating(f: &mut Formatter<'_>, sci: &str, plain: bool) -> fmt::Result {
        let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
        let exponent: i64 = exponent.parse().unwrap_or(0);
        let (sign, mantissa) = match mantissa.strip_prefix('-') {
            Some(m) => ("-", m),
            None => ("", mantissa),
        };
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        f.write_str(sign)?;
        if !plain {
            let (head, tail) = digits.split_at(1);
            let tail = if tail.is_empty() { "0" } else { tail };
            return write!(f, "{head}.{tail}E{exponent}");
        }
        if exponent < 0 {
            let zeros = "0".repeat((-exponent - 1) as usize);
            return write!(f, "0.{zeros}{digits}");
        }
        let int_len = exponent as usize + 1;
        if digits.len() <= int_len {
            let zeros = "0".repeat(int_len - digits.len());
            write!(f, "{digits}{zeros}.0")
        } else {
            let (int, frac) = digits.split_at(int_len);
            write!(f, "{int}.{frac}")
        }
    }

    /// `BigDecimal.toString`: plain when the scale is non-negative and the adjusted exponent
    /// is at least -6, otherwise scientific with an explicit `+` on positive exponents.
    pub(super) fn java_decimal(f: &mut Formatter<'_>, d: &Decimal) -> fmt::Result {
        let text = d.unscaled.to_string();
        let (sign, coeff) = match text.strip_prefix('-') {
            Some(c) => ("-", c),
            None => ("", text.as_str()),
        };
        let scale = i64::from(d.scale);
        let adjusted = -scale + (coeff.len() as i64 - 1);
        f.write_str(sign)?;
        if scale == 0 {
            return f.write_str(coeff);
        }
        if scale > 0 && adjusted >= -6 {
            let scale = scale as usize;
            return if coeff.len() > scale {
                let (int, frac) = coeff.split_at(coeff.len() - scale);
                write!(f, "{int}.{frac}")
            } else {
                write!(f, "0.{}{coeff}", "0".repeat(scale - coeff.len()))
            };
        }
        let (head, tail) = coeff.split_at(1);
        f.write_str(head)?;
        if !tail.is_empty() {
            write!(f, ".{tail}")?;
        }
        let plus = if adjusted > 0 { "+" } else { "" };
        write!(f, "E{plus}{adjusted}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{Decimal, Schema, SchemaBuilder, SchemaType, Struct};

    fn text(v: Value) -> String {
        JavaText(&v).to_string()
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
    fn doubles_follow_double_to_string() {
        let cases: [(f64, &str); 14] = [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234.5678, "1234.5678"),
            (9_999_999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (1e10, "1.0E10"),
            (1.25e-5, "1.25E-5"),
            (100.0, "100.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (v, want) in cases {
            assert_eq!(text(Value::Float64(v)), want, "{v:e}");
        }
        assert_eq!(text(Value::Float32(0.1)), "0.1");
        assert_eq!(text(Value::Float32(1.0e8)), "1.0E8");
    }

    #[test]
    fn decimals_follow_big_decimal_to_string() {
        assert_eq!(text(Value::Decimal(Decimal::new(150, 2))), "1.50");
        assert_eq!(text(Value::Decimal(Decimal::new(-5, 3))), "-0.005");
        assert_eq!(text(Value::Decimal(Decimal::new(1, -3))), "1E+3");
        assert_eq!(text(Value::Decimal(Decimal::new(12, -3))), "1.2E+4");
        assert_eq!(text(Value::Decimal(Decimal::new(1, 7))), "1E-7");
        assert_eq!(text(Value::Decimal(Decimal::new(42, 0))), "42");
    }

    #[test]
    fn dates_render_in_utc() {
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
        assert_eq!(
            text(Value::Array(vec![Value::Bytes(vec![1u8, 0xfe].into())])),
            "[[1, -2]]"
        );
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

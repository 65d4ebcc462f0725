//! Java's text renderings of numbers and dates, as Kafka Connect writes them.
//!
//! Kafka Connect turns values into text with Java's `toString` in several user-visible places
//! (StringConverter, SimpleHeaderConverter, Cast to string, FileStreamSink). These functions
//! reproduce those renderings so the text on a topic is the same as Kafka Connect would write:
//!
//! - doubles and floats as `Double.toString`/`Float.toString` (JDK 19 and later): plain
//!   notation with at least one fraction digit for magnitudes in `[1e-3, 1e7)` (`1.0`,
//!   `12.34`), computerized scientific notation otherwise (`1.0E10`, `4.9E-324`);
//! - decimals as `BigDecimal.toString` (`1.56`, `1E+3`, `1.5E-7`);
//! - instants as `java.util.Date.toString` and `Values.dateFormatFor`, in UTC (Kafka uses the
//!   JVM time zone; a Kafka Connect worker run with `TZ=UTC` writes the same text).

use std::fmt::{self, Write};

use sluice_api::data::Decimal;

/// Milliseconds in a day.
pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// Writes `v` as Java's `Double.toString` does.
pub fn write_f64<W: Write>(out: &mut W, v: f64) -> fmt::Result {
    if v.is_nan() {
        return out.write_str("NaN");
    }
    if v.is_infinite() {
        return out.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if v == 0.0 {
        return out.write_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
    }
    let abs = v.abs();
    let scientific = !(1e-3..1e7).contains(&abs);
    let mut buf = StackText::new();
    if !scientific {
        // In this range Rust's shortest plain rendering is Java's, less a missing `.0`.
        write!(buf, "{v}")?;
        out.write_str(buf.as_str())?;
        if !buf.as_str().contains('.') {
            out.write_str(".0")?;
        }
        return Ok(());
    }
    write!(buf, "{abs:e}")?;
    if single_digit(buf.as_str()) {
        // Java prints at least two significant digits and picks the closest two-digit
        // decimal (Double.MIN_VALUE is `4.9E-324`, not `5.0E-324`).
        buf.clear();
        write!(buf, "{abs:.1e}")?;
    }
    if v < 0.0 {
        out.write_char('-')?;
    }
    layout(out, buf.as_str())
}

/// Writes `v` as Java's `Float.toString` does.
pub fn write_f32<W: Write>(out: &mut W, v: f32) -> fmt::Result {
    if v.is_nan() {
        return out.write_str("NaN");
    }
    if v.is_infinite() {
        return out.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if v == 0.0 {
        return out.write_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
    }
    let abs = v.abs();
    let scientific = !(1e-3..1e7).contains(&abs);
    let mut buf = StackText::new();
    if !scientific {
        write!(buf, "{v}")?;
        out.write_str(buf.as_str())?;
        if !buf.as_str().contains('.') {
            out.write_str(".0")?;
        }
        return Ok(());
    }
    write!(buf, "{abs:e}")?;
    if single_digit(buf.as_str()) {
        buf.clear();
        write!(buf, "{abs:.1e}")?;
    }
    if v < 0.0 {
        out.write_char('-')?;
    }
    layout(out, buf.as_str())
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

/// True when Rust's shortest `{:e}` form has a single significant digit (`1e10`).
fn single_digit(exp_form: &str) -> bool {
    exp_form.find('e').is_some_and(|i| i == 1)
}

/// Lays out the digits of Rust's `{:e}` rendering (`d.ddde±x`) in Java's computerized
/// scientific notation (`d.dddE±x`, at least one fraction digit).
fn layout<W: Write>(out: &mut W, exp_form: &str) -> fmt::Result {
    let (mantissa, exponent) = exp_form.split_once('e').unwrap_or((exp_form, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut digits = StackText::new();
    for c in mantissa.chars().filter(char::is_ascii_digit) {
        digits.write_char(c)?;
    }
    let digits = digits.as_str();
    out.write_str(&digits[..1])?;
    out.write_char('.')?;
    out.write_str(if digits.len() > 1 { &digits[1..] } else { "0" })?;
    write!(out, "E{exponent}")
}

/// Java's `BigDecimal.toString()`: plain for non-negative scales unless the adjusted exponent
/// is below -6, scientific (`1E+3`, `1.5E-7`) otherwise.
pub fn decimal_to_string(d: &Decimal) -> String {
    let coeff = d.unscaled.magnitude().to_string();
    let negative = d.unscaled.sign() == num_bigint::Sign::Minus;
    let mut out = String::with_capacity(coeff.len() + 8);
    if negative {
        out.push('-');
    }
    let scale = i64::from(d.scale);
    if scale == 0 {
        out.push_str(&coeff);
        return out;
    }
    let adjusted = -scale + (coeff.len() as i64 - 1);
    if scale > 0 && adjusted >= -6 {
        let scale = scale as usize;
        if coeff.len() > scale {
            let (int, frac) = coeff.split_at(coeff.len() - scale);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        } else {
            out.push_str("0.");
            for _ in coeff.len()..scale {
                out.push('0');
            }
            out.push_str(&coeff);
        }
        return out;
    }
    out.push_str(&coeff[..1]);
    if coeff.len() > 1 {
        out.push('.');
        out.push_str(&coeff[1..]);
    }
    out.push('E');
    if adjusted > 0 {
        out.push('+');
    }
    out.push_str(&adjusted.to_string());
    out
}

/// A civil date in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// The civil date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> Civil {
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

/// Days since 1970-01-01 of a civil date; months and days outside their ranges roll over as
/// a lenient `java.util.Calendar` does (month 13 is January of the next year, day 0 the last
/// day of the previous month).
pub(crate) fn days_from_civil_lenient(year: i64, month: i64, day: i64) -> i64 {
    let months = year * 12 + (month - 1);
    let y = months.div_euclid(12);
    let m = months.rem_euclid(12) + 1;
    let y_adj = if m <= 2 { y - 1 } else { y };
    let era = y_adj.div_euclid(400);
    let yoe = y_adj.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (day - 1)
}

/// Writes a year as `SimpleDateFormat`'s `yyyy`: year of era, at least four digits.
fn push_year(out: &mut String, year: i64) {
    let year_of_era = if year <= 0 { 1 - year } else { year };
    let _ = write!(out, "{year_of_era:04}");
}

/// Writes `HH:mm:ss.SSS` of a millisecond count.
fn push_time_of_day(out: &mut String, millis: i64) {
    let tod = millis.rem_euclid(MILLIS_PER_DAY);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:03}",
        tod / 3_600_000,
        tod / 60_000 % 60,
        tod / 1000 % 60,
        tod % 1000
    );
}

/// Kafka's `Values.dateFormatFor(date).format(date)` for an instant in epoch milliseconds, in
/// UTC: `HH:mm:ss.SSS'Z'` below one day, `yyyy-MM-dd` at a midnight, the full
/// `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` timestamp otherwise.
pub fn format_connect_date(millis: i64) -> String {
    let mut out = String::with_capacity(24);
    if millis < MILLIS_PER_DAY {
        push_time_of_day(&mut out, millis);
        out.push('Z');
        return out;
    }
    let civil = civil_from_days(millis.div_euclid(MILLIS_PER_DAY));
    push_year(&mut out, civil.year);
    let _ = write!(out, "-{:02}-{:02}", civil.month, civil.day);
    if millis % MILLIS_PER_DAY != 0 {
        out.push('T');
        push_time_of_day(&mut out, millis);
        out.push('Z');
    }
    out
}

/// `java.util.Date.toString()` in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn java_date_to_string(millis: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let civil = civil_from_days(days);
    let tod = millis.rem_euclid(MILLIS_PER_DAY);
    format!(
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

    fn clear(&mut self) {
        self.len = 0;
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
        }
    }

    #[test]
    fn floats_render_like_java() {
        assert_eq!(f32_to_string(12.34), "12.34");
        assert_eq!(f32_to_string(1.1), "1.1");
        assert_eq!(f32_to_string(1e10), "1.0E10");
        assert_eq!(f32_to_string("1.123456789".parse().unwrap()), "1.1234568");
        assert_eq!(f32_to_string(f32::from_bits(1)), "1.4E-45");
        assert_eq!(f32_to_string(3.0), "3.0");
    }

    #[test]
    fn decimals_render_like_big_decimal() {
        assert_eq!(decimal_to_string(&Decimal::new(156, 2)), "1.56");
        assert_eq!(decimal_to_string(&Decimal::new(15600, 4)), "1.5600");
        assert_eq!(decimal_to_string(&Decimal::new(1, -3)), "1E+3");
        assert_eq!(decimal_to_string(&Decimal::new(12, -1)), "1.2E+2");
        assert_eq!(decimal_to_string(&Decimal::new(15, 8)), "1.5E-7");
        assert_eq!(decimal_to_string(&Decimal::new(-5, 3)), "-0.005");
        assert_eq!(decimal_to_string(&Decimal::new(5, 7)), "5E-7");
        assert_eq!(decimal_to_string(&Decimal::new(5, 6)), "0.000005");
        assert_eq!(decimal_to_string(&Decimal::new(0, -2)), "0E+2");
        assert_eq!(decimal_to_string(&Decimal::new(42, 0)), "42");
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000_i64, -1, 0, 1, 10_000, 19_724, 2_932_896] {
            let c = civil_from_days(days);
            assert_eq!(
                days_from_civil_lenient(c.year, i64::from(c.month), i64::from(c.day)),
                days
            );
        }
        assert_eq!(days_from_civil_lenient(2024, 1, 2), 19_724);
        assert_eq!(
            days_from_civil_lenient(2023, 13, 1),
            days_from_civil_lenient(2024, 1, 1)
        );
        assert_eq!(
            days_from_civil_lenient(2024, 1, 0),
            days_from_civil_lenient(2023, 12, 31)
        );
    }

    #[test]
    fn connect_dates_use_values_patterns() {
        assert_eq!(format_connect_date(0), "00:00:00.000Z");
        assert_eq!(format_connect_date(45_000_123), "12:30:00.123Z");
        assert_eq!(format_connect_date(86_400_001), "1970-01-02T00:00:00.001Z");
        assert_eq!(format_connect_date(19_724 * MILLIS_PER_DAY), "2024-01-02");
        assert_eq!(format_connect_date(-MILLIS_PER_DAY), "00:00:00.000Z");
    }

    #[test]
    fn java_date_to_string_is_utc() {
        assert_eq!(java_date_to_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            java_date_to_string(19_724 * MILLIS_PER_DAY + 3_723_000),
            "Tue Jan 02 01:02:03 UTC 2024"
        );
    }
}

//! Kafka's `Values` date text: the ISO-8601 forms `Values.dateFormatFor` writes, and the
//! lenient civil-date arithmetic the parser needs.
//!
//! Java's `toString` texts (`Double.toString`, `BigDecimal.toString`,
//! `java.util.Date.toString`) are shared with other plugins and live in
//! [`java_text`](crate::data::java_text). Instants are rendered in UTC (Kafka uses the JVM time
//! zone; a Kafka Connect worker run with `TZ=UTC` writes the same text).

use std::fmt::Write;

use crate::data::java_text::civil_from_days;
use crate::data::LogicalType;

/// Milliseconds in a day.
pub(super) const MILLIS_PER_DAY: i64 = LogicalType::MILLIS_PER_DAY;

/// Days since 1970-01-01 of a civil date; months and days outside their ranges roll over as
/// a lenient `java.util.Calendar` does (month 13 is January of the next year, day 0 the last
/// day of the previous month).
pub(super) fn days_from_civil_lenient(year: i64, month: i64, day: i64) -> i64 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

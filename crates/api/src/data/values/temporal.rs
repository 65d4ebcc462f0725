//! Lenient parsing of the three ISO-8601 forms `Values.parseString` recognises, the way a
//! lenient `SimpleDateFormat` parses them: each numeric field takes all the digits it finds
//! (an optional `-` first, spaces and tabs before it skipped), out-of-range fields roll over
//! (`2024-13-01` is 2025-01-01), and text after the last pattern element is ignored.

use crate::data::{LogicalType, SchemaAndValue, Value};

use super::format::{days_from_civil_lenient, MILLIS_PER_DAY};

/// One element of a date pattern.
#[derive(Clone, Copy)]
enum Part {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millis,
    Lit(char),
}

const TIME: &[Part] = &[
    Part::Hour,
    Part::Lit(':'),
    Part::Minute,
    Part::Lit(':'),
    Part::Second,
    Part::Lit('.'),
    Part::Millis,
    Part::Lit('Z'),
];
const DATE: &[Part] = &[
    Part::Year,
    Part::Lit('-'),
    Part::Month,
    Part::Lit('-'),
    Part::Day,
];
const TIMESTAMP: &[Part] = &[
    Part::Year,
    Part::Lit('-'),
    Part::Month,
    Part::Lit('-'),
    Part::Day,
    Part::Lit('T'),
    Part::Hour,
    Part::Lit(':'),
    Part::Minute,
    Part::Lit(':'),
    Part::Second,
    Part::Lit('.'),
    Part::Millis,
    Part::Lit('Z'),
];

/// Kafka's `parseAsTemporal`: picks the pattern by length (13: time `HH:mm:ss.SSS'Z'`,
/// 24: timestamp, 10: date `yyyy-MM-dd`, counted in UTF-16 units as Java does) after
/// unescaping `\:`.
pub(super) fn parse_as_temporal(token: &str) -> Option<SchemaAndValue> {
    let unescaped;
    let token = if token.contains("\\:") {
        unescaped = token.replace("\\:", ":");
        unescaped.as_str()
    } else {
        token
    };
    let (pattern, logical) = match token.encode_utf16().count() {
        13 => (TIME, LogicalType::Time),
        24 => (TIMESTAMP, LogicalType::Timestamp),
        10 => (DATE, LogicalType::Date),
        _ => return None,
    };
    let millis = parse_pattern(token, pattern)?;
    let value = match logical {
        LogicalType::Date => Value::Date(millis.div_euclid(MILLIS_PER_DAY) as i32),
        LogicalType::Time => Value::Time(millis as i32),
        _ => Value::Timestamp(millis),
    };
    Some(SchemaAndValue::new(Some(logical.schema()), value))
}

/// Parses `text` against `pattern`; returns epoch milliseconds (UTC).
fn parse_pattern(text: &str, pattern: &[Part]) -> Option<i64> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let (mut year, mut month, mut day) = (1970_i64, 1_i64, 1_i64);
    let (mut hour, mut minute, mut second, mut millis) = (0_i64, 0_i64, 0_i64, 0_i64);
    for part in pattern {
        if let Part::Lit(c) = part {
            if chars.get(pos) != Some(c) {
                return None;
            }
            pos += 1;
            continue;
        }
        while matches!(chars.get(pos), Some(' ') | Some('\t')) {
            pos += 1;
        }
        let negative = chars.get(pos) == Some(&'-');
        if negative {
            pos += 1;
        }
        let start = pos;
        let mut n: i64 = 0;
        while let Some(d) = chars.get(pos).and_then(|c| c.to_digit(10)) {
            n = n.checked_mul(10)?.checked_add(i64::from(d))?;
            pos += 1;
        }
        if pos == start {
            return None;
        }
        let n = if negative { -n } else { n };
        match part {
            Part::Year => year = n,
            Part::Month => month = n,
            Part::Day => day = n,
            Part::Hour => hour = n,
            Part::Minute => minute = n,
            Part::Second => second = n,
            Part::Millis => millis = n,
            Part::Lit(_) => {}
        }
    }
    let days = days_from_civil_lenient(year, month, day);
    days.checked_mul(MILLIS_PER_DAY)?
        .checked_add(hour.checked_mul(3_600_000)?)?
        .checked_add(minute.checked_mul(60_000)?)?
        .checked_add(second.checked_mul(1000)?)?
        .checked_add(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        let d = parse_as_temporal("2024-01-02").unwrap();
        assert_eq!(d.value, Value::Date(19_724));
        assert_eq!(d.schema, Some(LogicalType::Date.schema()));
        let t = parse_as_temporal("12:30:00.123Z").unwrap();
        assert_eq!(t.value, Value::Time(45_000_123));
        let ts = parse_as_temporal("1970-01-02T00:00:00.001Z").unwrap();
        assert_eq!(ts.value, Value::Timestamp(86_400_001));
        assert_eq!(
            parse_as_temporal("12\\:30\\:00.123Z").unwrap().value,
            Value::Time(45_000_123)
        );
    }

    #[test]
    fn is_lenient_like_simple_date_format() {
        assert_eq!(
            parse_as_temporal("2024-13-01").unwrap().value,
            parse_as_temporal("2025-01-01").unwrap().value
        );
        assert_eq!(
            parse_as_temporal("2024-1-2ab").unwrap().value,
            Value::Date(19_724)
        );
        assert!(parse_as_temporal("1234567890").is_none());
        assert!(parse_as_temporal("2024/01/02").is_none());
        assert!(parse_as_temporal("hello").is_none());
    }
}

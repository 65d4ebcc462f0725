//! Java `SimpleDateFormat` patterns, formatted and parsed in UTC, for the transforms whose
//! configs carry such patterns (`TimestampConverter`'s `format`, `TimestampRouter`'s
//! `timestamp.format`).
//!
//! A pattern is compiled once, at config time, into literal text and fields; a pattern that
//! Java would reject (an unknown letter, an unterminated quote, `XXXX`) is an error then.
//!
//! ```text
//! yyyy-MM-dd'T'HH:mm:ss.SSSZ   ->  2024-01-05T00:00:00.123+0000
//! EEE, d MMM yyyy              ->  Fri, 5 Jan 2024
//! ```
//!
//! The behaviour follows Java 17's `SimpleDateFormat` with the US English locale (weeks start
//! on Sunday, the first week of a year is the one holding January 1) and the UTC time zone;
//! it was checked against Java on tens of thousands of generated patterns and texts:
//!
//! - **Calendar**: Java's `GregorianCalendar`, i.e. the Julian calendar before 1582-10-15 and
//!   the Gregorian calendar from then on; years before 1 AD have era `BC`.
//! - **Every letter** Java knows: `G y Y M L d D E u F w W a h H k K m s S z Z X`. Numbers are
//!   zero-padded to the letter count, `yy` prints two digits, `M`/`L` with three or more
//!   letters print month names (`Jan`, `January`), `E` prints `Fri`/`Friday`, `S` is the
//!   millisecond count (not a fraction), `z` prints `UTC`, `Z` prints `+0000`, `X` prints `Z`.
//! - **Quoting**: text in `'...'` is literal, `''` is one quote; other non-letters are literal.
//! - **Parsing is lenient**, as Java's: out-of-range values roll over (month 13 is January of
//!   the next year), leading spaces before a field are skipped, text after the last field is
//!   ignored, a field followed directly by a numeric field reads exactly as many characters as
//!   its letter count (`yyyyMMdd`), otherwise numbers are read greedily, names match without
//!   regard to case, and a two-digit `yy` year lands within 80 years before and 20 years after
//!   the time the pattern was compiled. Numbers are read as Java's `DecimalFormat` reads them:
//!   digits of any script, a fraction ignored (`12.5` is 12), an exponent applied (`1E3` is
//!   1000), values beyond `int` wrapped as Java wraps them. Zone texts: `GMT`, `GMT+hh:mm`,
//!   `+hhmm`, `-hhmm`, `Z` and `+hh:mm` for `X`, and the common zone names (`UTC`, `EST`,
//!   `PDT`, `CET`, `Central European Summer Time`, ...).
//!
//! Deliberate deviations from Java: named zones use their present-day offsets (Java consults
//! the zone's history), only the common zone names are known, parsing a zone name does not
//! change the zone later records are read and written in (Java's formatter keeps the last zone
//! it parsed), and texts describing dates hundreds of thousands of years away may resolve
//! differently (Java's `int` arithmetic overflows there in ways not reproduced).

use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

const MILLIS_PER_DAY: i64 = 86_400_000;
const MILLIS_PER_MINUTE: i64 = 60_000;
/// Epoch day of 1582-10-15, the first day of the Gregorian calendar in Java's calendar.
const CUTOVER_DAY: i64 = -141_427;
/// The year of the Julian-to-Gregorian switch.
const CUTOVER_YEAR: i64 = 1582;
/// Java's `Calendar.SUNDAY`, the first day of the week in the US locale.
const SUNDAY: i64 = 1;
/// The US locale's minimal number of days in the first week of a year or month.
const MIN_DAYS_IN_FIRST_WEEK: i64 = 1;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Day names, index 0 unused so that Sunday is 1 as in Java's calendar.
const WEEKDAYS: [&str; 8] = [
    "",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const SHORT_WEEKDAYS: [&str; 8] = ["", "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const AM_PM: [&str; 2] = ["AM", "PM"];
const ERAS: [&str; 2] = ["BC", "AD"];

/// Zone names a `z` or `Z` field accepts when parsing, in the order Java tries them (the UTC
/// names first, as UTC is the formatter's zone): the name, the zone's standard offset and the
/// daylight saving the name stands for, in minutes. A name whose standard and daylight forms
/// are the same (`UTC`, `GMT`) has no daylight saving of its own (`None`).
const ZONE_NAMES: &[(&str, i64, Option<i64>)] = &[
    ("Coordinated Universal Time", 0, None),
    ("UTC", 0, None),
    ("Pacific Standard Time", -480, Some(0)),
    ("PST", -480, Some(0)),
    ("Pacific Daylight Time", -480, Some(60)),
    ("PDT", -480, Some(60)),
    ("Mountain Standard Time", -420, Some(0)),
    ("MST", -420, Some(0)),
    ("Mountain Daylight Time", -420, Some(60)),
    ("MDT", -420, Some(60)),
    ("Central Standard Time", -360, Some(0)),
    ("CST", -360, Some(0)),
    ("Central Daylight Time", -360, Some(60)),
    ("CDT", -360, Some(60)),
    ("Eastern Standard Time", -300, Some(0)),
    ("EST", -300, Some(0)),
    ("Eastern Daylight Time", -300, Some(60)),
    ("EDT", -300, Some(60)),
    ("HST", -600, Some(0)),
    ("AKST", -540, Some(0)),
    ("AKDT", -540, Some(60)),
    ("Central European Standard Time", 60, Some(0)),
    ("CET", 60, Some(0)),
    ("Central European Summer Time", 60, Some(60)),
    ("CEST", 60, Some(60)),
    ("Greenwich Mean Time", 0, None),
    ("GMT", 0, None),
    ("IST", 120, Some(0)),
    ("Japan Standard Time", 540, Some(0)),
    ("JST", 540, Some(0)),
    ("Eastern European Standard Time", 120, Some(0)),
    ("EET", 120, Some(0)),
    ("Eastern European Summer Time", 120, Some(60)),
    ("EEST", 120, Some(60)),
    ("China Standard Time", 480, Some(0)),
    ("ACST", 570, Some(0)),
    ("ACDT", 570, None),
    ("AEST", 600, Some(0)),
    ("AEDT", 600, Some(60)),
    ("NZST", 720, Some(0)),
    ("NZDT", 720, Some(60)),
    ("KST", 540, Some(0)),
    ("India Standard Time", 330, Some(0)),
    ("MSK", 180, Some(0)),
    ("British Summer Time", 0, Some(60)),
    ("BST", 0, Some(60)),
    ("Western European Standard Time", 0, Some(0)),
    ("WET", 0, Some(0)),
    ("Western European Summer Time", 0, Some(60)),
    ("WEST", 0, Some(60)),
    ("HKT", 480, Some(0)),
    ("SGT", 480, Some(0)),
    ("AWST", 480, Some(0)),
];

/// Why a pattern is not a valid `SimpleDateFormat` pattern (Java's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PatternError {
    /// A letter that is not a pattern letter.
    #[error("Illegal pattern character '{0}'")]
    IllegalCharacter(char),
    /// A `'` quote that is never closed.
    #[error("Unterminated quote")]
    UnterminatedQuote,
    /// `X` repeated four times or more.
    #[error("invalid ISO 8601 format: length={0}")]
    IsoZoneLength(usize),
}

/// A pattern letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Letter {
    /// `G`
    Era,
    /// `y`
    Year,
    /// `Y`
    WeekYear,
    /// `M`
    Month,
    /// `L`
    MonthStandalone,
    /// `d`
    DayOfMonth,
    /// `k` (1-24)
    HourOfDay1,
    /// `H` (0-23)
    HourOfDay0,
    /// `m`
    Minute,
    /// `s`
    Second,
    /// `S`
    Millisecond,
    /// `E`
    DayOfWeek,
    /// `D`
    DayOfYear,
    /// `F`
    DayOfWeekInMonth,
    /// `w`
    WeekOfYear,
    /// `W`
    WeekOfMonth,
    /// `a`
    AmPm,
    /// `h` (1-12)
    Hour1,
    /// `K` (0-11)
    Hour0,
    /// `z`
    ZoneName,
    /// `Z`
    ZoneValue,
    /// `X`
    IsoZone,
    /// `u` (Monday 1 .. Sunday 7)
    IsoDayOfWeek,
}

impl Letter {
    fn of(c: char) -> Option<Letter> {
        Some(match c {
            'G' => Letter::Era,
            'y' => Letter::Year,
            'Y' => Letter::WeekYear,
            'M' => Letter::Month,
            'L' => Letter::MonthStandalone,
            'd' => Letter::DayOfMonth,
            'k' => Letter::HourOfDay1,
            'H' => Letter::HourOfDay0,
            'm' => Letter::Minute,
            's' => Letter::Second,
            'S' => Letter::Millisecond,
            'E' => Letter::DayOfWeek,
            'D' => Letter::DayOfYear,
            'F' => Letter::DayOfWeekInMonth,
            'w' => Letter::WeekOfYear,
            'W' => Letter::WeekOfMonth,
            'a' => Letter::AmPm,
            'h' => Letter::Hour1,
            'K' => Letter::Hour0,
            'z' => Letter::ZoneName,
            'Z' => Letter::ZoneValue,
            'X' => Letter::IsoZone,
            'u' => Letter::IsoDayOfWeek,
            _ => return None,
        })
    }

    /// Whether a field of this letter is read as a number when parsing, so that the field
    /// before it must stop after its letter count (Java's abutting numeric fields).
    fn is_numeric(self, count: usize) -> bool {
        match self {
            Letter::Month | Letter::MonthStandalone => count <= 2,
            Letter::Year
            | Letter::WeekYear
            | Letter::DayOfMonth
            | Letter::HourOfDay1
            | Letter::HourOfDay0
            | Letter::Minute
            | Letter::Second
            | Letter::Millisecond
            | Letter::DayOfYear
            | Letter::DayOfWeekInMonth
            | Letter::WeekOfYear
            | Letter::WeekOfMonth
            | Letter::Hour1
            | Letter::Hour0
            | Letter::IsoDayOfWeek => true,
            Letter::Era
            | Letter::DayOfWeek
            | Letter::AmPm
            | Letter::ZoneName
            | Letter::ZoneValue
            | Letter::IsoZone => false,
        }
    }

    /// Whether formatting this letter needs the week-based calendar fields.
    fn needs_weeks(self) -> bool {
        matches!(
            self,
            Letter::WeekYear | Letter::WeekOfYear | Letter::WeekOfMonth
        )
    }
}

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Text written and matched as is.
    Literal(String),
    /// A field: its letter and how many times the letter was repeated.
    Field(Letter, usize),
}

/// A compiled `SimpleDateFormat` pattern that formats and parses instants in UTC.
#[derive(Debug, Clone)]
pub(crate) struct JavaDateFormat {
    pattern: String,
    items: Vec<Item>,
    needs_weeks: bool,
    /// The pattern as a template of fixed-width numbers, when it is one.
    template: Option<Template>,
    /// Two-digit years are placed in the century starting here (epoch milliseconds).
    century_start: i64,
    /// The year of `century_start`.
    century_start_year: i64,
}

impl JavaDateFormat {
    /// Compiles `pattern`; two-digit years will be read relative to the present time.
    pub(crate) fn new(pattern: &str) -> Result<Self, PatternError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self::with_now(pattern, now)
    }

    /// Compiles `pattern` as if the present time were `now_millis`.
    fn with_now(pattern: &str, now_millis: i64) -> Result<Self, PatternError> {
        let items = compile(pattern)?;
        let needs_weeks = items
            .iter()
            .any(|item| matches!(item, Item::Field(letter, _) if letter.needs_weeks()));
        // Java: the current time minus 80 years, in the calendar.
        let now = Fields::of_millis(now_millis, false);
        let century_start = add_years(now_millis, -80);
        let century_start_year = now.year - 80;
        Ok(JavaDateFormat {
            pattern: pattern.to_string(),
            template: Template::of(&items),
            items,
            needs_weeks,
            century_start,
            century_start_year,
        })
    }

    /// The length in milliseconds of the periods (counted from the epoch, in UTC) within
    /// which every instant formats to the same text: a millisecond for patterns with `S`, a
    /// second with `s`, a minute with `m`, an hour with an hour or `a`, else a day.
    pub(crate) fn period_millis(&self) -> i64 {
        self.items
            .iter()
            .map(|item| match item {
                Item::Field(Letter::Millisecond, _) => 1,
                Item::Field(Letter::Second, _) => 1_000,
                Item::Field(Letter::Minute, _) => 60_000,
                Item::Field(
                    Letter::HourOfDay0
                    | Letter::HourOfDay1
                    | Letter::Hour0
                    | Letter::Hour1
                    | Letter::AmPm,
                    _,
                ) => 3_600_000,
                _ => MILLIS_PER_DAY,
            })
            .min()
            .unwrap_or(MILLIS_PER_DAY)
    }

    /// The pattern as given.
    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The instant `millis` (since the epoch) as text.
    pub(crate) fn format(&self, millis: i64) -> String {
        if let Some(text) = self.template.as_ref().and_then(|t| t.format(millis)) {
            return text;
        }
        let mut out = String::with_capacity(self.pattern.len() + 8);
        self.format_into(millis, &mut out);
        out
    }

    /// Appends the instant `millis` (since the epoch) as text to `out`.
    pub(crate) fn format_into(&self, millis: i64, out: &mut String) {
        let fields = Fields::of_millis(millis, self.needs_weeks);
        for item in &self.items {
            // Writing to a String cannot fail.
            let _ = match item {
                Item::Literal(text) => out.write_str(text),
                Item::Field(letter, count) => fields.write(out, *letter, *count),
            };
        }
    }

    /// Reads an instant from the start of `text`, as Java's `DateFormat.parse(String)`:
    /// `None` when the text does not match; text after the match is ignored.
    pub(crate) fn parse(&self, text: &str) -> Option<i64> {
        let mut builder = Builder::default();
        let mut pos = 0;
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(literal) => pos = match_literal(text, pos, literal)?,
                Item::Field(letter, count) => {
                    let obey_count = matches!(
                        self.items.get(i + 1),
                        Some(Item::Field(next, next_count)) if next.is_numeric(*next_count)
                    );
                    pos = self.parse_field(text, pos, *letter, *count, obey_count, &mut builder)?;
                }
            }
        }
        if pos == 0 {
            return None;
        }
        let millis = builder.establish();
        if builder.ambiguous_year && millis < self.century_start {
            builder.add_year(100);
            return Some(builder.establish());
        }
        Some(millis)
    }

    /// Reads one field at `start`; returns the position after it.
    fn parse_field(
        &self,
        text: &str,
        start: usize,
        letter: Letter,
        count: usize,
        obey_count: bool,
        builder: &mut Builder,
    ) -> Option<usize> {
        let bytes = text.as_bytes();
        // Spaces and tabs before a field are skipped; the end of the text fails.
        let mut pos = start;
        while pos < bytes.len() && (bytes[pos] == b' ' || bytes[pos] == b'\t') {
            pos += 1;
        }
        if pos >= bytes.len() {
            return None;
        }
        let actual_start = pos;
        // With an abutting numeric field next, a number may not run past `count` characters
        // from `start` (spaces included).
        let number = |pos: usize| {
            let end = if obey_count {
                advance_chars(text, start, count)?
            } else {
                text.len()
            };
            parse_number(text, pos, end)
        };
        match letter {
            Letter::Era => match_names(text, start, &ERAS, 0).map(|(i, end)| {
                builder.set(Field::Era, i);
                end
            }),
            Letter::Year | Letter::WeekYear => {
                let (mut value, end) = number(pos)?;
                if count <= 2 && two_digits(text, actual_start, end) {
                    let ambiguous_two_digits = self.century_start_year.rem_euclid(100);
                    builder.ambiguous_year = value == ambiguous_two_digits;
                    value += self.century_start_year.div_euclid(100) * 100
                        + if value < ambiguous_two_digits { 100 } else { 0 };
                }
                let field = if letter == Letter::Year {
                    Field::Year
                } else {
                    Field::WeekYear
                };
                builder.set(field, value);
                Some(end)
            }
            Letter::Month | Letter::MonthStandalone => {
                if count <= 2 {
                    let (value, end) = number(pos)?;
                    builder.set(Field::Month, value - 1);
                    return Some(end);
                }
                let found = if letter == Letter::Month {
                    match_names(text, start, &MONTHS, 0)
                        .or_else(|| match_names(text, start, &SHORT_MONTHS, 0))
                } else {
                    longest_of(
                        match_names(text, start, &MONTHS, 0),
                        match_names(text, start, &SHORT_MONTHS, 0),
                    )
                };
                found.map(|(i, end)| {
                    builder.set(Field::Month, i);
                    end
                })
            }
            Letter::HourOfDay1 => {
                let (value, end) = number(pos)?;
                builder.set(Field::HourOfDay, if value == 24 { 0 } else { value });
                Some(end)
            }
            Letter::Hour1 => {
                let (value, end) = number(pos)?;
                builder.set(Field::Hour, if value == 12 { 0 } else { value });
                Some(end)
            }
            Letter::DayOfWeek => match_names(text, start, &WEEKDAYS, 1)
                .or_else(|| match_names(text, start, &SHORT_WEEKDAYS, 1))
                .map(|(i, end)| {
                    builder.set(Field::DayOfWeek, i);
                    end
                }),
            Letter::AmPm => match_names(text, start, &AM_PM, 0).map(|(i, end)| {
                builder.set(Field::AmPm, i);
                end
            }),
            Letter::ZoneName | Letter::ZoneValue => parse_zone(text, start, pos, builder),
            Letter::IsoZone => parse_iso_zone(text, pos, count, builder),
            Letter::IsoDayOfWeek => {
                let (value, end) = number(pos)?;
                // Monday 1 .. Sunday 7 becomes Sunday 1 .. Saturday 7; other values stay.
                let dow = match value {
                    7 => SUNDAY,
                    1..=6 => value + 1,
                    other => other,
                };
                builder.set(Field::DayOfWeek, dow);
                Some(end)
            }
            Letter::DayOfMonth
            | Letter::HourOfDay0
            | Letter::Minute
            | Letter::Second
            | Letter::Millisecond
            | Letter::DayOfYear
            | Letter::DayOfWeekInMonth
            | Letter::WeekOfYear
            | Letter::WeekOfMonth
            | Letter::Hour0 => {
                let (value, end) = number(pos)?;
                let field = match letter {
                    Letter::DayOfMonth => Field::DayOfMonth,
                    Letter::HourOfDay0 => Field::HourOfDay,
                    Letter::Minute => Field::Minute,
                    Letter::Second => Field::Second,
                    Letter::Millisecond => Field::Millisecond,
                    Letter::DayOfYear => Field::DayOfYear,
                    Letter::DayOfWeekInMonth => Field::DayOfWeekInMonth,
                    Letter::WeekOfYear => Field::WeekOfYear,
                    Letter::WeekOfMonth => Field::WeekOfMonth,
                    _ => Field::Hour,
                };
                builder.set(field, value);
                Some(end)
            }
        }
    }
}

/// Splits a pattern into literals and fields, as Java's `SimpleDateFormat` compiles it.
fn compile(pattern: &str) -> Result<Vec<Item>, PatternError> {
    let mut items: Vec<Item> = Vec::new();
    let mut field: Option<(char, usize)> = None;
    let mut in_quote = false;
    let mut quoted = String::new();
    let chars: Vec<char> = pattern.chars().collect();

    fn flush(items: &mut Vec<Item>, field: &mut Option<(char, usize)>) -> Result<(), PatternError> {
        if let Some((c, count)) = field.take() {
            let letter = Letter::of(c).ok_or(PatternError::IllegalCharacter(c))?;
            if letter == Letter::IsoZone && count >= 4 {
                return Err(PatternError::IsoZoneLength(count));
            }
            items.push(Item::Field(letter, count));
        }
        Ok(())
    }
    fn literal(items: &mut Vec<Item>, text: &str) {
        if let Some(Item::Literal(last)) = items.last_mut() {
            last.push_str(text);
        } else {
            items.push(Item::Literal(text.to_string()));
        }
    }

    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                // Two quotes are one quote, inside or outside a quoted section.
                i += 2;
                flush(&mut items, &mut field)?;
                if in_quote {
                    quoted.push('\'');
                } else {
                    literal(&mut items, "'");
                }
                continue;
            }
            if in_quote {
                literal(&mut items, &quoted);
                quoted.clear();
            } else {
                flush(&mut items, &mut field)?;
            }
            in_quote = !in_quote;
            i += 1;
            continue;
        }
        if in_quote {
            quoted.push(c);
        } else if c.is_ascii_alphabetic() {
            if Letter::of(c).is_none() {
                return Err(PatternError::IllegalCharacter(c));
            }
            match &mut field {
                Some((last, count)) if *last == c => *count += 1,
                _ => {
                    flush(&mut items, &mut field)?;
                    field = Some((c, 1));
                }
            }
        } else {
            flush(&mut items, &mut field)?;
            let mut buf = [0u8; 4];
            literal(&mut items, c.encode_utf8(&mut buf));
        }
        i += 1;
    }
    if in_quote {
        return Err(PatternError::UnterminatedQuote);
    }
    flush(&mut items, &mut field)?;
    Ok(items)
}

/// A pattern whose every field is a fixed-width number or a constant text (`yyyy-MM-dd
/// HH:mm:ss.SSS`, `yyyyMMdd'T'HHmmssZ`, ...), as a template: the text with the numbers' places
/// zero-filled, and where each number goes. Formatting copies the text and writes the digits
/// in place, with no per-item dispatch; it applies to dates of the Gregorian calendar up to
/// the year 9999, where every such field has its fixed width (others take the general path,
/// which gives the same text).
#[derive(Debug, Clone)]
struct Template {
    text: String,
    /// Where each number's first digit goes, and which number it is.
    slots: Vec<(usize, Slot)>,
}

/// A fixed-width number of a [`Template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// `yyyy`: the year, four digits.
    Year4,
    /// `yy`: the year's last two digits.
    Year2,
    /// `MM`: the month, 01 to 12.
    Month,
    /// `dd`: the day of the month.
    Day,
    /// `HH`: the hour of the day, 00 to 23.
    Hour,
    /// `mm`: the minute.
    Minute,
    /// `ss`: the second.
    Second,
    /// `SSS`: the millisecond.
    Millis,
}

impl Slot {
    /// The slot of a field, if it is one with a fixed width, and that width.
    fn of(letter: Letter, count: usize) -> Option<(Slot, usize)> {
        Some(match (letter, count) {
            (Letter::Year, 4) => (Slot::Year4, 4),
            (Letter::Year, 2) => (Slot::Year2, 2),
            (Letter::Month, 2) => (Slot::Month, 2),
            (Letter::DayOfMonth, 2) => (Slot::Day, 2),
            (Letter::HourOfDay0, 2) => (Slot::Hour, 2),
            (Letter::Minute, 2) => (Slot::Minute, 2),
            (Letter::Second, 2) => (Slot::Second, 2),
            (Letter::Millisecond, 3) => (Slot::Millis, 3),
            _ => return None,
        })
    }
}

impl Template {
    /// The template of a compiled pattern, if it has one: every field a fixed-width number or
    /// a text that is the same for every date it applies to.
    fn of(items: &[Item]) -> Option<Template> {
        let mut text = String::new();
        let mut slots = Vec::new();
        for item in items {
            match item {
                Item::Literal(literal) => text.push_str(literal),
                Item::Field(letter, count) => match (letter, Slot::of(*letter, *count)) {
                    (_, Some((slot, width))) => {
                        slots.push((text.len(), slot));
                        text.extend(std::iter::repeat_n('0', width));
                    }
                    // Constant for AD dates in UTC.
                    (Letter::Era, None) => text.push_str(ERAS[1]),
                    (Letter::ZoneName, None) => text.push_str(if *count >= 4 {
                        "Coordinated Universal Time"
                    } else {
                        "UTC"
                    }),
                    (Letter::ZoneValue, None) => text.push_str("+0000"),
                    (Letter::IsoZone, None) => text.push('Z'),
                    _ => return None,
                },
            }
        }
        Some(Template { text, slots })
    }

    /// The instant `millis` as text, or `None` when it is outside the dates the template
    /// applies to.
    fn format(&self, millis: i64) -> Option<String> {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        if days < CUTOVER_DAY {
            return None;
        }
        let civil = sluice_api::data::java_text::civil_from_days(days);
        if civil.year > 9999 {
            return None;
        }
        // In range: the year is 1582..=9999, so every number fits its width.
        let year = civil.year as u32;
        let millis_of_day = millis.rem_euclid(MILLIS_PER_DAY) as u32;
        let mut bytes = self.text.clone().into_bytes();
        for &(at, slot) in &self.slots {
            let value = match slot {
                Slot::Year4 => year,
                Slot::Year2 => year % 100,
                Slot::Month => civil.month,
                Slot::Day => civil.day,
                Slot::Hour => millis_of_day / 3_600_000,
                Slot::Minute => millis_of_day / 60_000 % 60,
                Slot::Second => millis_of_day / 1000 % 60,
                Slot::Millis => millis_of_day % 1000,
            } as usize;
            // Two digits at a time from the table; the value fits the slot's width.
            let (digits, high) = match slot {
                Slot::Year4 => (bytes.get_mut(at..at + 4)?, Some(value / 100 * 2)),
                Slot::Millis => (bytes.get_mut(at..at + 3)?, Some(value / 100 * 2 + 1)),
                _ => (bytes.get_mut(at..at + 2)?, None),
            };
            let (lead, last_two) = digits.split_at_mut(digits.len() - 2);
            let low = value % 100 * 2;
            last_two.copy_from_slice(TWO_DIGITS.as_bytes().get(low..low + 2)?);
            if let Some(high) = high {
                let table = TWO_DIGITS.as_bytes().get(high..high + lead.len())?;
                lead.copy_from_slice(table);
            }
        }
        // Only ASCII zeros of the template were replaced, by ASCII digits.
        String::from_utf8(bytes).ok()
    }
}

/// The calendar fields of an instant, in UTC.
#[derive(Debug, Clone, Copy)]
struct Fields {
    /// Proleptic year (0 is 1 BC).
    year: i64,
    /// 0-based month.
    month: i64,
    day_of_month: i64,
    day_of_year: i64,
    /// Sunday 1 .. Saturday 7.
    day_of_week: i64,
    millis_of_day: i64,
    week_of_year: i64,
    week_of_month: i64,
    week_year: i64,
    /// Which occurrence of its weekday in the month the date is.
    day_of_week_in_month: i64,
}

impl Fields {
    fn of_millis(millis: i64, with_weeks: bool) -> Fields {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let millis_of_day = millis.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day_of_month) = civil_of_day(days);
        let day_of_year = days - year_start(year) + 1;
        let day_of_week = day_of_week(days);
        let mut fields = Fields {
            year,
            month: month - 1,
            day_of_month,
            day_of_year,
            day_of_week,
            millis_of_day,
            week_of_year: 0,
            week_of_month: 0,
            week_year: year,
            day_of_week_in_month: 0,
        };
        fields.day_of_week_in_month = (days - fields.month_start(days)) / 7 + 1;
        if with_weeks {
            fields.compute_weeks(days);
        }
        fields
    }

    /// Week of year, week of month and week year, as Java's `GregorianCalendar` computes them.
    fn compute_weeks(&mut self, days: i64) {
        let jan1 = year_start(self.year);
        let mut week = week_number(jan1, days);
        let mut week_year = self.year;
        if week == 0 {
            // The last week of the previous year.
            week = week_number(year_start(self.year - 1), jan1 - 1);
            week_year -= 1;
        } else if week >= 52 || (CUTOVER_YEAR - 1..=CUTOVER_YEAR).contains(&self.year) {
            // Java checks the years around the switch (whose 1582 is ten days short) always.
            let next_jan1 = year_start(self.year + 1);
            let next_first = day_of_week_on_or_before(next_jan1 + 6, SUNDAY);
            if next_first - next_jan1 >= MIN_DAYS_IN_FIRST_WEEK && days >= next_first - 7 {
                week = 1;
                week_year += 1;
            }
        }
        if self.year <= CUTOVER_YEAR + 1 {
            week_year = self.early_week_year();
        }
        self.week_of_year = week;
        self.week_year = week_year;
        self.week_of_month = week_number(self.month_start(days), days);
    }

    /// The week year of a date up to 1583, as Java's `GregorianCalendar.getWeekYear` computes
    /// it there: the year, or the next one for the last days of December in the next year's
    /// first week (the next year is taken in the date's era, so for BC dates Java looks at
    /// the AD year of the same number).
    fn early_week_year(&self) -> i64 {
        let year_length = year_start(self.year + 1) - year_start(self.year);
        if self.day_of_year > MIN_DAYS_IN_FIRST_WEEK && self.day_of_year < year_length - 6 {
            return self.year;
        }
        let first_sunday_of_year = 1 + (SUNDAY - day_of_week(year_start(self.year))).rem_euclid(7);
        if self.day_of_year < first_sunday_of_year {
            return self.year;
        }
        let next = if self.year > 0 {
            self.year + 1
        } else {
            -self.year
        };
        let mut days_before_sunday = (SUNDAY - day_of_week(year_start(next))).rem_euclid(7);
        if days_before_sunday == 0 {
            days_before_sunday = 7;
        }
        let days_left = year_length - self.day_of_year + 1;
        if days_before_sunday >= MIN_DAYS_IN_FIRST_WEEK && days_left <= 7 - days_before_sunday {
            self.year + 1
        } else {
            self.year
        }
    }

    /// The first day of the date's month; in October 1582 Java counts the month from the
    /// Julian October 1 even after the switch to the Gregorian calendar.
    fn month_start(&self, days: i64) -> i64 {
        if self.year == CUTOVER_YEAR && self.month == 9 && days >= CUTOVER_DAY {
            julian_day(CUTOVER_YEAR, 10, 1)
        } else {
            days - self.day_of_month + 1
        }
    }

    fn write(&self, out: &mut String, letter: Letter, count: usize) -> fmt::Result {
        let hour = self.millis_of_day / 3_600_000;
        match letter {
            Letter::Era => out.write_str(ERAS[usize::from(self.year > 0)]),
            Letter::Year | Letter::WeekYear => {
                let value = if letter == Letter::WeekYear {
                    self.week_year
                } else if self.year > 0 {
                    self.year
                } else {
                    1 - self.year
                };
                if count == 2 {
                    // Java keeps the last two digits (and the sign).
                    if value < 0 {
                        out.write_char('-')?;
                    }
                    pad(out, value.abs() % 100, 2)
                } else {
                    pad(out, value, count)
                }
            }
            Letter::Month | Letter::MonthStandalone => match count {
                1 | 2 => pad(out, self.month + 1, count),
                3 => out.write_str(SHORT_MONTHS[self.month as usize]),
                _ => out.write_str(MONTHS[self.month as usize]),
            },
            Letter::DayOfMonth => pad(out, self.day_of_month, count),
            Letter::HourOfDay1 => pad(out, if hour == 0 { 24 } else { hour }, count),
            Letter::HourOfDay0 => pad(out, hour, count),
            Letter::Minute => pad(out, self.millis_of_day / 60_000 % 60, count),
            Letter::Second => pad(out, self.millis_of_day / 1000 % 60, count),
            Letter::Millisecond => pad(out, self.millis_of_day % 1000, count),
            Letter::DayOfWeek => {
                let names = if count >= 4 {
                    &WEEKDAYS
                } else {
                    &SHORT_WEEKDAYS
                };
                out.write_str(names[self.day_of_week as usize])
            }
            Letter::DayOfYear => pad(out, self.day_of_year, count),
            Letter::DayOfWeekInMonth => pad(out, self.day_of_week_in_month, count),
            Letter::WeekOfYear => pad(out, self.week_of_year, count),
            Letter::WeekOfMonth => pad(out, self.week_of_month, count),
            Letter::AmPm => out.write_str(AM_PM[usize::from(hour >= 12)]),
            Letter::Hour1 => pad(out, if hour % 12 == 0 { 12 } else { hour % 12 }, count),
            Letter::Hour0 => pad(out, hour % 12, count),
            Letter::ZoneName => out.write_str(if count >= 4 {
                "Coordinated Universal Time"
            } else {
                "UTC"
            }),
            Letter::ZoneValue => out.write_str("+0000"),
            Letter::IsoZone => out.write_char('Z'),
            Letter::IsoDayOfWeek => {
                let iso = if self.day_of_week == SUNDAY {
                    7
                } else {
                    self.day_of_week - 1
                };
                pad(out, iso, count)
            }
        }
    }
}

/// The numbers 00 to 99, two characters each.
const TWO_DIGITS: &str = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// Writes `value` with at least `digits` digits, as Java's number formatting does.
fn pad(out: &mut String, value: i64, digits: usize) -> fmt::Result {
    // The common case (years, months, days, hours, minutes, seconds, milliseconds): up to four
    // digits, written from a table in one or two pieces.
    if let (Ok(v @ 0..=9999), true) = (usize::try_from(value), digits <= 4) {
        let high = &TWO_DIGITS[v / 100 * 2..v / 100 * 2 + 2];
        let low = &TWO_DIGITS[v % 100 * 2..v % 100 * 2 + 2];
        let width = match v {
            0..=9 => 1,
            10..=99 => 2,
            100..=999 => 3,
            _ => 4,
        };
        match width.max(digits) {
            1 => out.push_str(&low[1..]),
            2 => out.push_str(low),
            3 => {
                out.push_str(&high[1..]);
                out.push_str(low);
            }
            _ => {
                out.push_str(high);
                out.push_str(low);
            }
        }
        return Ok(());
    }
    let mut magnitude = value.unsigned_abs();
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    loop {
        start -= 1;
        // A digit, so the cast keeps it.
        buf[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    for _ in buf.len() - start..digits {
        out.push('0');
    }
    for &digit in &buf[start..] {
        out.push(char::from(digit));
    }
    Ok(())
}

/// Adds whole years to an instant the way Java's calendar does (the day of month is clamped
/// to the target month's length).
fn add_years(millis: i64, years: i64) -> i64 {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let millis_of_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_of_day(days);
    let target = year + years;
    let day = day.min(month_length(target, month));
    day_of_civil(target, month, day) * MILLIS_PER_DAY + millis_of_day
}

/// True when the proleptic `year` uses the Gregorian calendar's leap rule in Java's calendar.
fn is_leap_year(year: i64) -> bool {
    if year > CUTOVER_YEAR {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    } else {
        year.rem_euclid(4) == 0
    }
}

/// Days in the 1-based `month` of `year`.
fn month_length(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The day of the week of an epoch day: Sunday 1 .. Saturday 7 (1970-01-01 was a Thursday).
fn day_of_week(days: i64) -> i64 {
    (days + 4).rem_euclid(7) + 1
}

/// The latest day on or before `days` that falls on `weekday` (Sunday 1 .. Saturday 7; other
/// values count modulo 7, as Java's lenient calendar does).
fn day_of_week_on_or_before(days: i64, weekday: i64) -> i64 {
    days - (day_of_week(days) - weekday).rem_euclid(7)
}

/// Java's week number of `days` in the period (year or month) starting on `period_start`.
fn week_number(period_start: i64, days: i64) -> i64 {
    let mut first = day_of_week_on_or_before(period_start + 6, SUNDAY);
    if first - period_start >= MIN_DAYS_IN_FIRST_WEEK {
        first -= 7;
    }
    (days - first).div_euclid(7) + 1
}

/// The epoch day of January 1 of `year` in Java's calendar (Julian up to 1582).
fn year_start(year: i64) -> i64 {
    if year > CUTOVER_YEAR {
        gregorian_day(year, 1, 1)
    } else {
        julian_day(year, 1, 1)
    }
}

/// The civil date (proleptic year, 1-based month, day) of an epoch day in Java's calendar.
fn civil_of_day(days: i64) -> (i64, i64, i64) {
    if days >= CUTOVER_DAY {
        let civil = sluice_api::data::java_text::civil_from_days(days);
        (civil.year, i64::from(civil.month), i64::from(civil.day))
    } else {
        julian_civil(days)
    }
}

/// The epoch day of a civil date in Java's calendar.
fn day_of_civil(year: i64, month: i64, day: i64) -> i64 {
    let gregorian = gregorian_day(year, month, day);
    if gregorian >= CUTOVER_DAY {
        gregorian
    } else {
        julian_day(year, month, day)
    }
}

/// Epoch day of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn gregorian_day(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Epoch day of a proleptic Julian date.
fn julian_day(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(4);
    let yoe = y.rem_euclid(4);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    era * 1461 + yoe * 365 + doy - 719_470
}

/// The proleptic Julian date of an epoch day.
fn julian_civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_470;
    let era = z.div_euclid(1461);
    let doe = z.rem_euclid(1461);
    let yoe = (doe - doe / 1460) / 365;
    let doy = doe - 365 * yoe;
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 4 + i64::from(month <= 2), month, day)
}

/// True when `text[start..end]` is exactly two digits (Java counts characters).
fn two_digits(text: &str, start: usize, end: usize) -> bool {
    let mut chars = text[start..end].chars();
    matches!(
        (chars.next(), chars.next(), chars.next()),
        (Some(a), Some(b), None) if java_digit(a).is_some() && java_digit(b).is_some()
    )
}

/// The byte position `count` characters after `start`, or `None` past the end.
fn advance_chars(text: &str, start: usize, count: usize) -> Option<usize> {
    let mut pos = start;
    let rest = text.get(start..)?;
    let mut chars = rest.chars();
    for _ in 0..count {
        pos += chars.next()?.len_utf8();
    }
    Some(pos)
}

/// Matches pattern literal text at `pos`; a space separator matches any space separator.
fn match_literal(text: &str, pos: usize, literal: &str) -> Option<usize> {
    let mut rest = text.get(pos..)?.chars();
    let mut end = pos;
    for expected in literal.chars() {
        let got = rest.next()?;
        if got != expected && !(is_space_separator(got) && is_space_separator(expected)) {
            return None;
        }
        end += got.len_utf8();
    }
    Some(end)
}

/// Unicode's space separators (category Zs).
fn is_space_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// The longest of `names[first..]` found at `pos`, ignoring case: its index and end.
fn match_names(text: &str, pos: usize, names: &[&str], first: usize) -> Option<(i64, usize)> {
    let bytes = text.as_bytes().get(pos..)?;
    let mut best: Option<(i64, usize)> = None;
    for (i, name) in names.iter().enumerate().skip(first) {
        let len = name.len();
        if len > best.map_or(0, |(_, l)| l)
            && bytes.len() >= len
            && bytes[..len].eq_ignore_ascii_case(name.as_bytes())
        {
            best = Some((i as i64, len));
        }
    }
    best.map(|(i, len)| (i, pos + len))
}

/// The longer of two name matches (the first on a tie).
fn longest_of(a: Option<(i64, usize)>, b: Option<(i64, usize)>) -> Option<(i64, usize)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Reads a `z` or `Z` zone at `start` (`pos` is after any skipped spaces): `GMT`,
/// `GMT+h:mm`, `+hhmm`/`-hhmm`, or a zone name.
fn parse_zone(text: &str, start: usize, pos: usize, builder: &mut Builder) -> Option<usize> {
    let bytes = text.as_bytes();
    let sign = match bytes[pos] {
        b'+' => 1,
        b'-' => -1,
        _ => 0,
    };
    if sign != 0 {
        return parse_numeric_zone(text, pos + 1, sign, 0, false, builder);
    }
    let gmt = bytes
        .get(start..start + 3)
        .is_some_and(|b| b.eq_ignore_ascii_case(b"GMT"));
    if matches!(bytes[pos], b'G' | b'g') && gmt {
        let after = start + 3;
        let sign = match bytes.get(after) {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => 0,
        };
        if sign == 0 {
            builder.set(Field::ZoneOffset, 0);
            builder.set(Field::DstOffset, 0);
            return Some(after);
        }
        return parse_numeric_zone(text, after + 1, sign, 0, true, builder);
    }
    let rest = &bytes[pos..];
    ZONE_NAMES
        .iter()
        .find(|(name, _, _)| {
            rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        })
        .map(|(name, raw, dst)| {
            // Java switches to the named zone, whose standard offset applies unless an offset
            // is read later.
            builder.zone_raw_offset = raw * MILLIS_PER_MINUTE;
            if let Some(dst) = dst {
                builder.clear(Field::ZoneOffset);
                builder.set(Field::DstOffset, dst * MILLIS_PER_MINUTE);
            }
            pos + name.len()
        })
}

/// Reads an `X` zone at `pos`: `Z`, or a sign and `hh`, `hhmm` or `hh:mm` by letter count.
fn parse_iso_zone(text: &str, pos: usize, count: usize, builder: &mut Builder) -> Option<usize> {
    let sign = match text.as_bytes()[pos] {
        b'Z' => {
            builder.set(Field::ZoneOffset, 0);
            builder.set(Field::DstOffset, 0);
            return Some(pos + 1);
        }
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    parse_numeric_zone(text, pos + 1, sign, count, count == 3, builder)
}

/// Reads `hh[mm]`, `h:mm` or `hh:mm` offsets as Java's `subParseNumericZone` does: `count` 1
/// reads hours only, `colon` requires a colon before the minutes (and allows one-digit hours
/// when `count` is 0).
fn parse_numeric_zone(
    text: &str,
    start: usize,
    sign: i64,
    count: usize,
    colon: bool,
    builder: &mut Builder,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let digit = |i: usize| {
        bytes
            .get(i)
            .filter(|b| b.is_ascii_digit())
            .map(|b| i64::from(b - b'0'))
    };
    let mut pos = start;
    let mut hours = digit(pos)?;
    pos += 1;
    match digit(pos) {
        Some(d) => {
            hours = hours * 10 + d;
            pos += 1;
        }
        None => {
            // A single hour digit is only allowed in `GMT+h:mm`.
            if count > 0 || !colon {
                return None;
            }
            // Java reads one character past the hour here, so the text may not end.
            bytes.get(pos)?;
        }
    }
    if hours > 23 {
        return None;
    }
    let mut minutes = 0;
    if count != 1 {
        if colon {
            if bytes.get(pos) != Some(&b':') {
                return None;
            }
            pos += 1;
        }
        minutes = digit(pos)? * 10 + digit(pos + 1)?;
        pos += 2;
        if minutes > 59 {
            return None;
        }
    }
    builder.set(
        Field::ZoneOffset,
        (hours * 60 + minutes) * MILLIS_PER_MINUTE * sign,
    );
    builder.set(Field::DstOffset, 0);
    Some(pos)
}

/// Zero digits of the Unicode decimal digit ranges in the Basic Multilingual Plane, which Java
/// reads as digits (`Character.digit`).
const DIGIT_ZEROS: [u32; 37] = [
    0x0030, 0x0660, 0x06f0, 0x07c0, 0x0966, 0x09e6, 0x0a66, 0x0ae6, 0x0b66, 0x0be6, 0x0c66, 0x0ce6,
    0x0d66, 0x0de6, 0x0e50, 0x0ed0, 0x0f20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80,
    0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0,
    0xff10,
];

/// The value of a decimal digit in any script, as Java's `Character.digit(c, 10)`.
fn java_digit(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    let code = u32::from(c);
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .map(|zero| (code - zero) as u8)
}

/// Reads a number at `pos` (not past `end`) as the integer-only `DecimalFormat` of Java 17's
/// `SimpleDateFormat` does: an optional `-`, digits (of any script), an ignored fraction (the
/// position stays at the `.`), an optional exponent `E[-]digits`; `NaN` reads as 0 and `∞` as
/// the largest `int`. The value is what Java's `Number.intValue()` gives: a `long` wraps to
/// `int`, a `double` (a fraction or a value beyond `long`) truncates and saturates.
fn parse_number(text: &str, pos: usize, end: usize) -> Option<(i64, usize)> {
    let text = text.get(..end)?;
    let mut p = pos;
    let rest = text.get(p..)?;
    if rest.starts_with("NaN") {
        return Some((0, p + 3));
    }
    let negative = rest.starts_with('-');
    if negative {
        p += 1;
    }
    if text[p..].starts_with('∞') {
        let value = if negative { i32::MIN } else { i32::MAX };
        return Some((i64::from(value), p + '∞'.len_utf8()));
    }
    let number_start = p;
    let mut digits = Digits::default();
    let mut saw_digit = false;
    let mut decimal_at: Option<usize> = None;
    let mut exponent: i64 = 0;
    for (offset, c) in text[p..].char_indices() {
        let at = number_start + offset;
        if let Some(d) = java_digit(c) {
            saw_digit = true;
            if decimal_at.is_none() {
                digits.push(d);
            }
            p = at + c.len_utf8();
        } else if c == '.' {
            if at == number_start {
                return None;
            }
            if decimal_at.is_some() {
                break;
            }
            decimal_at = Some(at);
            p = at + 1;
        } else if c == 'E' {
            if let Some((value, after)) = parse_exponent(text, at + 1) {
                exponent = value;
                p = after;
            }
            break;
        } else {
            break;
        }
    }
    if !saw_digit {
        return None;
    }
    match decimal_at {
        Some(at) => Some((java_int(&digits, 0, negative), at)),
        None => Some((java_int(&digits, exponent, negative), p)),
    }
}

/// Reads an exponent: an optional `-` and at least one digit.
fn parse_exponent(text: &str, pos: usize) -> Option<(i64, usize)> {
    let rest = text.get(pos..)?;
    let negative = rest.starts_with('-');
    let mut p = pos + usize::from(negative);
    let digits_start = p;
    let mut value: i64 = 0;
    for c in text[p..].chars() {
        let Some(d) = java_digit(c) else { break };
        value = value.saturating_mul(10).saturating_add(i64::from(d));
        p += c.len_utf8();
    }
    (p > digits_start).then_some((if negative { -value } else { value }, p))
}

/// The integer digits of a number, without leading zeros; only the first 20 are kept, which
/// is all an `int` result can depend on.
#[derive(Debug, Default)]
struct Digits {
    kept: [u8; 20],
    /// How many digits there are.
    len: usize,
    /// How many digits there are up to the last non-zero one.
    significant: usize,
}

impl Digits {
    fn push(&mut self, digit: u8) {
        if digit == 0 && self.len == 0 {
            return;
        }
        if let Some(slot) = self.kept.get_mut(self.len) {
            *slot = digit;
        }
        self.len += 1;
        if digit != 0 {
            self.significant = self.len;
        }
    }

    fn get(&self, i: usize) -> u8 {
        self.kept.get(i).copied().unwrap_or(0)
    }
}

/// The `int` value of `0.digits × 10^(len + exponent)` with a sign, as Java 17 computes it:
/// the exponent is cut to an `int` and added to the digit count in `int` arithmetic; a value
/// that fits a `long` wraps to `int`, anything else (a fraction, or beyond `long`) is a
/// `double` whose `int` value truncates and saturates.
fn java_int(digits: &Digits, exponent: i64, negative: bool) -> i64 {
    let decimal_at = (digits.len as i32).wrapping_add(exponent as i32);
    let significant = digits.significant;
    if significant == 0 {
        return 0;
    }
    let saturated = i64::from(if negative { i32::MIN } else { i32::MAX });
    let decimal_at_len = usize::try_from(decimal_at).unwrap_or(0);
    if decimal_at <= 0 {
        return 0;
    }
    if decimal_at_len < significant || decimal_at > 19 {
        // A double: truncate the fraction, saturate beyond int.
        if decimal_at > 10 {
            return saturated;
        }
        let mut whole: i64 = 0;
        for i in 0..decimal_at_len {
            whole = whole * 10 + i64::from(digits.get(i));
        }
        let whole = if negative { -whole } else { whole };
        return whole.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    }
    // A long, unless beyond its range.
    let mut magnitude: u128 = 0;
    for i in 0..decimal_at_len {
        magnitude = magnitude * 10 + u128::from(digits.get(i));
    }
    let signed = if negative {
        -(magnitude as i128)
    } else {
        magnitude as i128
    };
    match i64::try_from(signed) {
        // Java's (int) cast of a long keeps the low 32 bits.
        Ok(long) => i64::from(long as i32),
        Err(_) => saturated,
    }
}

/// Calendar fields a parse can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Era,
    Year,
    Month,
    WeekOfYear,
    WeekOfMonth,
    DayOfMonth,
    DayOfYear,
    DayOfWeek,
    DayOfWeekInMonth,
    AmPm,
    Hour,
    HourOfDay,
    Minute,
    Second,
    Millisecond,
    ZoneOffset,
    DstOffset,
    WeekYear,
}

const FIELD_COUNT: usize = 18;

/// The fields read by a parse, each with the order it was last set in (Java's stamps), and
/// their resolution into an instant (Java's lenient `GregorianCalendar` in UTC).
#[derive(Debug, Clone, Default)]
struct Builder {
    /// 0 when unset, else the order of the last set.
    stamps: [u32; FIELD_COUNT],
    values: [i64; FIELD_COUNT],
    next_stamp: u32,
    /// The standard offset of the zone named last in the text (UTC's 0 when none was).
    zone_raw_offset: i64,
    /// Whether a two-digit year was the ambiguous one of the century (read a century later
    /// when the result falls before the century's start).
    ambiguous_year: bool,
}

impl Builder {
    fn set(&mut self, field: Field, value: i64) {
        self.next_stamp += 1;
        self.stamps[field as usize] = self.next_stamp;
        self.values[field as usize] = value;
    }

    fn clear(&mut self, field: Field) {
        self.stamps[field as usize] = 0;
    }

    fn add_year(&mut self, years: i64) {
        self.values[Field::Year as usize] += years;
        self.values[Field::WeekYear as usize] += years;
    }

    fn stamp(&self, field: Field) -> u32 {
        self.stamps[field as usize]
    }

    fn is_set(&self, field: Field) -> bool {
        self.stamp(field) != 0
    }

    /// The value, 0 when unset (Java's cleared calendar).
    fn get(&self, field: Field) -> i64 {
        if self.is_set(field) {
            self.values[field as usize]
        } else {
            0
        }
    }

    /// The instant the fields describe.
    fn establish(&self) -> i64 {
        let week_date =
            self.is_set(Field::WeekYear) && self.stamp(Field::WeekYear) > self.stamp(Field::Year);
        let (date, millis_of_day) = if week_date {
            let (days, millis_of_day) = self.time_of_day(&self.selection());
            (days + self.week_date(), millis_of_day)
        } else {
            self.compute()
        };
        let selection = self.selection();
        let mut offset = if selection.zone_offset {
            self.get(Field::ZoneOffset)
        } else {
            self.zone_raw_offset
        };
        if selection.dst_offset {
            offset += self.get(Field::DstOffset);
        }
        let millis = i128::from(date) * i128::from(MILLIS_PER_DAY) + i128::from(millis_of_day)
            - i128::from(offset);
        // Java's long arithmetic wraps.
        millis as i64
    }

    /// The epoch day a week-year date (`Y` with `w` and `E`) falls on (Java's
    /// `CalendarBuilder.establish` and `GregorianCalendar.setWeekDate`, with their `int`
    /// arithmetic).
    fn week_date(&self) -> i64 {
        let mut week = if self.is_set(Field::WeekOfYear) {
            self.get(Field::WeekOfYear) as i32
        } else {
            1
        };
        let mut dow = if self.is_set(Field::DayOfWeek) {
            self.get(Field::DayOfWeek) as i32
        } else {
            SUNDAY as i32
        };
        if !(1..=7).contains(&dow) {
            if dow >= 8 {
                dow -= 1;
                week = week.wrapping_add(dow / 7);
                dow = dow % 7 + 1;
            } else {
                // Java adds weeks until the day is positive.
                let weeks = -i64::from(dow) / 7 + 1;
                dow = (i64::from(dow) + 7 * weeks) as i32;
                week = week.wrapping_sub(weeks as i32);
            }
            dow = if dow == 7 { SUNDAY as i32 } else { dow + 1 };
        }
        let mut days = dow - SUNDAY as i32;
        if days < 0 {
            days += 7;
        }
        days = days.wrapping_add(7i32.wrapping_mul(week.wrapping_sub(1)));
        // The week year counts in the era of the date the other fields describe.
        let mut week_year = self.get(Field::WeekYear);
        let (other_date, _) = self.compute();
        if civil_of_day(other_date).0 <= 0 {
            week_year = 1 - week_year;
        }
        let jan1 = year_start(week_year);
        let mut first = day_of_week_on_or_before(jan1 + 6, SUNDAY);
        if first - jan1 >= MIN_DAYS_IN_FIRST_WEEK {
            first -= 7;
        }
        first + i64::from(days)
    }

    /// Which fields take part in the resolution (Java's `Calendar.selectFields`).
    fn selection(&self) -> Selection {
        let aggregate = |a: u32, b: u32| if a == 0 || b == 0 { 0 } else { a.max(b) };
        let dow = self.stamp(Field::DayOfWeek);
        let month = self.stamp(Field::Month);
        let mut dom = self.stamp(Field::DayOfMonth);
        let mut wom = aggregate(self.stamp(Field::WeekOfMonth), dow);
        let mut dowim = aggregate(self.stamp(Field::DayOfWeekInMonth), dow);
        let doy = self.stamp(Field::DayOfYear);
        let mut woy = aggregate(self.stamp(Field::WeekOfYear), dow);
        let mut best = dom.max(wom).max(dowim).max(doy).max(woy);
        if best == 0 {
            wom = self.stamp(Field::WeekOfMonth);
            dowim = self.stamp(Field::DayOfWeekInMonth).max(dow);
            woy = self.stamp(Field::WeekOfYear);
            best = wom.max(dowim).max(woy);
            if best == 0 {
                dom = month;
                best = month;
            }
        }
        let mut s = Selection::default();
        if best == dom
            || (best == wom && self.stamp(Field::WeekOfMonth) >= self.stamp(Field::WeekOfYear))
            || (best == dowim
                && self.stamp(Field::DayOfWeekInMonth) >= self.stamp(Field::WeekOfYear))
        {
            s.month = true;
            if best == dom {
                s.day_of_month = true;
            } else {
                s.day_of_week = dow != 0;
                if wom == dowim {
                    if self.stamp(Field::WeekOfMonth) >= self.stamp(Field::DayOfWeekInMonth) {
                        s.week_of_month = true;
                    } else {
                        s.day_of_week_in_month = true;
                    }
                } else if best == wom {
                    s.week_of_month = true;
                } else {
                    s.day_of_week_in_month = self.is_set(Field::DayOfWeekInMonth);
                }
            }
        } else if best == doy {
            s.day_of_year = true;
        } else {
            s.day_of_week = dow != 0;
            s.week_of_year = true;
        }
        let hour_of_day = self.stamp(Field::HourOfDay);
        let hour = aggregate(self.stamp(Field::Hour), self.stamp(Field::AmPm));
        let mut best = hour.max(hour_of_day);
        if best == 0 {
            best = self.stamp(Field::Hour).max(self.stamp(Field::AmPm));
        }
        if best != 0 {
            if best == hour_of_day {
                s.hour_of_day = true;
            } else {
                s.am_pm = self.is_set(Field::AmPm);
            }
        }
        s.zone_offset = self.is_set(Field::ZoneOffset);
        s.dst_offset = self.is_set(Field::DstOffset);
        s
    }

    /// Whole days carried by the time fields, and the milliseconds into the day.
    fn time_of_day(&self, s: &Selection) -> (i64, i64) {
        let mut hours = if s.hour_of_day {
            self.get(Field::HourOfDay)
        } else {
            self.get(Field::Hour)
                + if s.am_pm {
                    12 * self.get(Field::AmPm)
                } else {
                    0
                }
        };
        hours = hours.wrapping_mul(60).wrapping_add(self.get(Field::Minute));
        hours = hours.wrapping_mul(60).wrapping_add(self.get(Field::Second));
        let millis = hours
            .wrapping_mul(1000)
            .wrapping_add(self.get(Field::Millisecond));
        (
            millis.div_euclid(MILLIS_PER_DAY),
            millis.rem_euclid(MILLIS_PER_DAY),
        )
    }

    /// The epoch day and millisecond of day (Java's `GregorianCalendar.computeTime`).
    fn compute(&self) -> (i64, i64) {
        let s = self.selection();
        let mut year = if self.is_set(Field::Year) {
            self.get(Field::Year)
        } else {
            1970
        };
        if self.is_set(Field::Era) && self.get(Field::Era) == 0 {
            year = 1 - year;
        }
        let (extra_days, millis_of_day) = self.time_of_day(&s);
        let gregorian = || extra_days + self.date_part(Calendar::Gregorian, year, &s);
        let julian = || extra_days + self.date_part(Calendar::Julian, year, &s);
        let day = if year > CUTOVER_YEAR {
            let g = gregorian();
            if g >= CUTOVER_DAY {
                g
            } else {
                self.choose(g, julian(), &s)
            }
        } else if year < CUTOVER_YEAR {
            let j = julian();
            if j < CUTOVER_DAY {
                j
            } else {
                self.choose(j, j, &s)
            }
        } else {
            self.choose(gregorian(), julian(), &s)
        };
        (day, millis_of_day)
    }

    /// Picks the Gregorian or Julian reading of a date near the calendar switch.
    fn choose(&self, gregorian: i64, julian: i64, s: &Selection) -> i64 {
        if s.day_of_year || s.week_of_year || gregorian < CUTOVER_DAY {
            julian
        } else {
            gregorian
        }
    }

    /// The epoch day of the date fields in one calendar (Java's `getFixedDate`).
    fn date_part(&self, calendar: Calendar, year: i64, s: &Selection) -> i64 {
        let mut year = year;
        let mut month = 0;
        if s.month {
            month = self.get(Field::Month);
            if month > 11 {
                year += month / 12;
                month %= 12;
            } else if month < 0 {
                year += month.div_euclid(12);
                month = month.rem_euclid(12);
            }
        }
        let first = calendar.day(year, month + 1, 1);
        if s.month {
            if s.day_of_month {
                if self.is_set(Field::DayOfMonth) {
                    return first + self.get(Field::DayOfMonth) - 1;
                }
                return first;
            }
            if s.week_of_month {
                let mut week_start = day_of_week_on_or_before(first + 6, SUNDAY);
                if week_start - first >= MIN_DAYS_IN_FIRST_WEEK {
                    week_start -= 7;
                }
                if s.day_of_week {
                    week_start =
                        day_of_week_on_or_before(week_start + 6, self.get(Field::DayOfWeek));
                }
                return week_start + i64::from(int_weeks(self.get(Field::WeekOfMonth)));
            }
            let dow = if s.day_of_week {
                self.get(Field::DayOfWeek)
            } else {
                SUNDAY
            };
            let dowim = if s.day_of_week_in_month {
                self.get(Field::DayOfWeekInMonth)
            } else {
                1
            };
            // Java multiplies these in `int`.
            let dowim = dowim as i32;
            return if dowim >= 0 {
                day_of_week_on_or_before(first + i64::from(7i32.wrapping_mul(dowim)) - 1, dow)
            } else {
                let last = (month_length(year, month + 1) as i32)
                    .wrapping_add(7i32.wrapping_mul(dowim.wrapping_add(1)));
                day_of_week_on_or_before(first + i64::from(last) - 1, dow)
            };
        }
        if s.day_of_year {
            return first + self.get(Field::DayOfYear) - 1;
        }
        let mut week_start = day_of_week_on_or_before(first + 6, SUNDAY);
        if week_start - first >= MIN_DAYS_IN_FIRST_WEEK {
            week_start -= 7;
        }
        if s.day_of_week {
            let dow = self.get(Field::DayOfWeek);
            if dow != SUNDAY {
                week_start = day_of_week_on_or_before(week_start + 6, dow);
            }
        }
        week_start + 7 * (self.get(Field::WeekOfYear) - 1)
    }
}

/// `7 * (week - 1)` in Java's `int` arithmetic.
fn int_weeks(week: i64) -> i32 {
    7i32.wrapping_mul((week as i32).wrapping_sub(1))
}

/// The fields a resolution uses.
#[derive(Debug, Clone, Copy, Default)]
struct Selection {
    month: bool,
    day_of_month: bool,
    week_of_month: bool,
    day_of_week_in_month: bool,
    day_of_year: bool,
    week_of_year: bool,
    day_of_week: bool,
    hour_of_day: bool,
    am_pm: bool,
    zone_offset: bool,
    dst_offset: bool,
}

/// The two calendar systems of Java's `GregorianCalendar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Calendar {
    Gregorian,
    Julian,
}

impl Calendar {
    fn day(self, year: i64, month: i64, day: i64) -> i64 {
        match self {
            Calendar::Gregorian => gregorian_day(year, month, day),
            Calendar::Julian => julian_day(year, month, day),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_numbers_to_the_field_width() {
        let padded = |value: i64, digits: usize| {
            let mut out = String::new();
            pad(&mut out, value, digits).unwrap();
            out
        };
        let cases: &[(i64, usize, &str)] = &[
            (0, 1, "0"),
            (7, 1, "7"),
            (7, 2, "07"),
            (7, 3, "007"),
            (7, 4, "0007"),
            (42, 1, "42"),
            (42, 3, "042"),
            (123, 1, "123"),
            (123, 2, "123"),
            (123, 4, "0123"),
            (2024, 1, "2024"),
            (2024, 4, "2024"),
            (9999, 2, "9999"),
            (10000, 1, "10000"),
            (2024, 6, "002024"),
            (-5, 2, "-05"),
            (-2024, 1, "-2024"),
        ];
        for &(value, digits, expected) in cases {
            assert_eq!(
                padded(value, digits),
                expected,
                "{value} in {digits} digits"
            );
        }
    }

    fn format(pattern: &str, millis: i64) -> String {
        JavaDateFormat::new(pattern).unwrap().format(millis)
    }

    fn parse(pattern: &str, text: &str) -> Option<i64> {
        JavaDateFormat::new(pattern).unwrap().parse(text)
    }

    // Expected values below are what Java 17's SimpleDateFormat (UTC, US locale) gives.

    #[test]
    fn period_is_the_smallest_unit_the_pattern_shows() {
        let period = |p: &str| JavaDateFormat::new(p).unwrap().period_millis();
        assert_eq!(period("yyyyMMdd"), MILLIS_PER_DAY);
        assert_eq!(period("'fixed'"), MILLIS_PER_DAY);
        assert_eq!(period("yyyy-MM-dd'T'HH"), 3_600_000);
        assert_eq!(period("hh a"), 3_600_000);
        assert_eq!(period("HH:mm"), 60_000);
        assert_eq!(period("mm:ss"), 1_000);
        assert_eq!(period("ss.SSS yyyy"), 1);
        // Every instant of a period formats alike, and the next period differently.
        let format = JavaDateFormat::new("yyyy-MM-dd HH:mm").unwrap();
        let start = 1_704_164_640_000; // 2024-01-02 03:04:00 UTC
        assert_eq!(format.format(start), format.format(start + 59_999));
        assert_ne!(format.format(start), format.format(start + 60_000));
    }

    #[test]
    fn templates_format_as_the_general_path() {
        let patterns = [
            "yyyy-MM-dd'T'HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
            "yyyyMMddHHmmssSSS",
            "yy-MM-dd G z zzzz X XXX",
            "'day' dd 'of' MM, yyyy 'é'",
        ];
        // Around the calendar switch, the epoch, today, and the years 9999 and 10000.
        let instants = [
            -12_219_292_800_001,
            -12_219_292_800_000,
            -62_135_596_800_000,
            -1,
            0,
            1_704_164_645_123,
            253_402_300_799_999,
            253_402_300_800_000,
        ];
        for pattern in patterns {
            let f = JavaDateFormat::new(pattern).unwrap();
            assert!(f.template.is_some(), "{pattern} has a template");
            let step = 7_777_777_777;
            let sweep = (0..2_000).map(|i| -8_000_000_000_000 + i * step);
            for millis in instants.into_iter().chain(sweep) {
                let mut general = String::new();
                f.format_into(millis, &mut general);
                assert_eq!(f.format(millis), general, "{pattern} at {millis}");
            }
        }
        for pattern in [
            "yyyy-M-dd",
            "EEE yyyy",
            "hh:mm a",
            "y",
            "yyyyy",
            "YYYY",
            "MMM",
        ] {
            let f = JavaDateFormat::new(pattern).unwrap();
            assert!(f.template.is_none(), "{pattern} has no template");
        }
        assert_eq!(
            JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSS")
                .unwrap()
                .format(1_704_164_645_123),
            "2024-01-02T03:04:05.123"
        );
    }

    #[test]
    fn formats_common_patterns_like_java() {
        let cases: &[(&str, i64, &str)] = &[
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
                1_704_412_800_123,
                "2024-01-05T00:00:00.123+0000",
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
                -1,
                "1969-12-31T23:59:59.999Z",
            ),
            (
                "EEE, d MMM yyyy HH:mm:ss Z",
                1_700_000_000_123,
                "Tue, 14 Nov 2023 22:13:20 +0000",
            ),
            (
                "EEEE MMMM dd yyyy hh:mm:ss.S a zzzz",
                1_700_000_000_007,
                "Tuesday November 14 2023 10:13:20.7 PM Coordinated Universal Time",
            ),
            ("yyyyMMdd", 1_483_401_600_000, "20170103"),
            (
                "yyyy MM dd HH mm ss SSS z",
                86_401_234,
                "1970 01 02 00 00 01 234 UTC",
            ),
            (
                "'quoted ''text''' HH'h'mm",
                45_000_000,
                "quoted 'text' 12h30",
            ),
            ("z Z X XX XXX", 0, "UTC +0000 Z Z Z"),
        ];
        for (pattern, millis, want) in cases {
            assert_eq!(format(pattern, *millis), *want, "{pattern}");
        }
    }

    #[test]
    fn formats_every_letter_like_java() {
        assert_eq!(
            format("D DDD F w ww W u k K h H a", 1_735_603_200_000),
            "366 366 5 1 01 5 2 24 0 12 0 AM"
        );
        assert_eq!(format("YYYY-'W'ww-u", 1_735_603_200_000), "2025-W01-2");
        assert_eq!(format("YYYY-'W'ww-u", 1_704_067_200_000), "2024-W01-1");
        assert_eq!(
            format(
                "G yyyy yy y yyyyy MMMM MMM MM M LLLL LLL d dd",
                -62_135_683_200_000
            ),
            "AD 0001 01 1 00001 January Jan 01 1 January Jan 2 02"
        );
    }

    #[test]
    fn week_fields_around_the_calendar_switch_and_before_the_era() {
        let p = "YYYY-ww-u W F D yyyy-MM-dd YY";
        assert_eq!(
            format(p, -12_219_289_200_000),
            "1582-40-5 1 1 278 1582-10-15 82"
        );
        assert_eq!(
            format(p, -12_218_943_600_000),
            "1582-41-2 2 2 282 1582-10-19 82"
        );
        // 1582 is ten days short; its last days are in the first week of 1583.
        assert_eq!(
            format(p, -12_213_068_400_000),
            "1583-01-7 5 4 350 1582-12-26 83"
        );
        assert_eq!(
            format(&format!("GGG {p}"), -62_211_024_000_000),
            "BC -0002-33-3 3 2 226 0003-08-14 -02"
        );
        assert_eq!(
            format(&format!("GGG {p}"), -64_725_264_000_000),
            "BC -0082-50-2 3 2 346 0083-12-12 -82"
        );
    }

    #[test]
    fn uses_the_julian_calendar_before_1582_10_15() {
        assert_eq!(format("yyyy-MM-dd", -12_219_292_800_001), "1582-10-04");
        assert_eq!(format("yyyy-MM-dd", -12_219_292_800_000), "1582-10-15");
        assert_eq!(format("yyyy-MM-dd G", -62_135_596_800_001), "0001-01-02 AD");
        assert_eq!(
            parse("G yyyy-MM-dd", "BC 0044-03-15"),
            Some(-63_517_996_800_000)
        );
    }

    #[test]
    fn parses_like_java() {
        let cases: &[(&str, &str, Option<i64>)] = &[
            (
                "yyyy MM dd HH mm ss SSS z",
                "1970 01 02 00 00 01 234 UTC",
                Some(86_401_234),
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
                "2024-01-05T00:00:00.123+0000",
                Some(1_704_412_800_123),
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
                "2024-01-05T01:30:00.000+01:30",
                Some(1_704_412_800_000),
            ),
            // Lenient: month 13 and day 40 roll over.
            ("yyyy-MM-dd", "2024-13-40", Some(1_739_059_200_000)),
            // Text after the pattern is ignored.
            ("yyyy-MM-dd", "2024-01-05 and more", Some(1_704_412_800_000)),
            ("yyyy-MM-dd", "2024/01/05", None),
            ("yyyy-MM-dd", "", None),
            // `S` counts milliseconds, it is not a fraction.
            ("HH:mm:ss.SSS", "12:00:00.5", Some(43_200_005)),
            // Abutting numeric fields read their letter count.
            ("yyyyMMdd", "20240105", Some(1_704_412_800_000)),
            // Spaces before a field are skipped, but a name must start at once.
            ("d MMM yyyy", " 5 jan 2024", Some(1_704_412_800_000)),
            ("d MMM yyyy", "5  jan 2024", None),
            ("hh:mm a", "12:30 am", Some(1_800_000)),
            ("hh:mm a", "12:30 PM", Some(45_000_000)),
            ("kk:mm", "24:30", Some(1_800_000)),
            ("yyyy ww", "2024 02", Some(1_704_585_600_000)),
            ("YYYY ww", "2024 01", Some(1_703_980_800_000)),
            ("YYYY-'W'ww-u", "2025-W01-2", Some(1_735_603_200_000)),
            ("yyyy D", "2024 60", Some(1_709_164_800_000)),
            ("yyyy MM EEE", "2024 01 Fri", Some(1_704_412_800_000)),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(parse(pattern, text), *want, "{pattern} / {text}");
        }
    }

    #[test]
    fn parses_zones_like_java() {
        let p = "EEE, d MMM yyyy HH:mm:ss z";
        assert_eq!(
            parse(p, "Fri, 5 Jan 2024 10:00:00 PST"),
            Some(1_704_477_600_000)
        );
        assert_eq!(
            parse(p, "Fri, 5 Jan 2024 10:00:00 CEST"),
            Some(1_704_441_600_000)
        );
        assert_eq!(
            parse(p, "Fri, 5 Jan 2024 10:00:00 GMT+05:30"),
            Some(1_704_429_000_000)
        );
        assert_eq!(parse(p, "Fri, 5 Jan 2024 10:00:00 GMT+5"), None);
        assert_eq!(parse("HH:mm Z", "10:00 -0800"), Some(64_800_000));
        assert_eq!(parse("HH:mm Z", "10:00 +05"), None);
        assert_eq!(parse("HH:mm X", "10:00 +05"), Some(18_000_000));
        assert_eq!(parse("HH:mm X", "10:00 Z"), Some(36_000_000));
    }

    #[test]
    fn reads_numbers_as_java_decimal_format_does() {
        // An exponent is applied: the year 1000 (Julian).
        assert_eq!(parse("y", "1E3"), Some(-30_609_792_000_000));
        assert_eq!(parse("y", "NaN"), Some(-62_167_392_000_000));
        // A long wraps to int.
        assert_eq!(parse("s", "3000000000"), Some(-1_294_967_296_000));
        // Digits of other scripts count.
        assert_eq!(parse("s", "\u{661}\u{662}"), Some(12_000));
    }

    #[test]
    fn places_two_digit_years_in_the_80_years_before_now() {
        // "Now" is 2024-06-15, so two-digit years land in [1944-06-15, 2044-06-15).
        let f = JavaDateFormat::with_now("yy-MM-dd", 1_718_409_600_000).unwrap();
        assert_eq!(f.century_start, -806_198_400_000);
        let cases: &[(&str, i64)] = &[
            ("44-06-14", 2_349_475_200_000),
            ("44-06-16", -806_112_000_000),
            ("43-01-01", 2_303_683_200_000),
            ("45-01-01", -788_918_400_000),
            ("2024-01-01", 1_704_067_200_000),
            ("5-01-01", -62_009_539_200_000),
            ("99-12-31", 946_598_400_000),
            ("00-01-01", 946_684_800_000),
        ];
        for (text, want) in cases {
            assert_eq!(f.parse(text), Some(*want), "{text}");
        }
    }

    #[test]
    fn rejects_what_java_rejects() {
        let err = |p: &str| JavaDateFormat::new(p).unwrap_err().to_string();
        assert_eq!(err("q"), "Illegal pattern character 'q'");
        assert_eq!(err("yyyy-MM-dd'T"), "Unterminated quote");
        assert_eq!(err("'abc"), "Unterminated quote");
        assert_eq!(err("XXXX"), "invalid ISO 8601 format: length=4");
        assert!(JavaDateFormat::new("hh 'o''clock' a").is_ok());
        assert_eq!(
            JavaDateFormat::new("yyyyMMdd").unwrap().pattern(),
            "yyyyMMdd"
        );
    }

    #[test]
    fn format_and_parse_round_trip() {
        let f = JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").unwrap();
        for millis in [
            0,
            -1,
            1_704_412_800_123,
            -12_219_292_800_001,
            253_402_300_799_999,
        ] {
            assert_eq!(f.parse(&f.format(millis)), Some(millis), "{millis}");
        }
    }
}

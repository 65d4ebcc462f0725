//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp between text,
//! Unix time and Connect's logical Date, Time and Timestamp types, for the whole key or value
//! or for one top-level field of it.
//!
//! Every conversion goes through an instant in milliseconds since the epoch, in UTC:
//!
//! | representation | read from | written as |
//! | --- | --- | --- |
//! | `string` | text parsed with `format` (a Java `SimpleDateFormat` pattern, lenient) | text written with `format` |
//! | `unix` | an int64 in `unix.precision` units | an int64 in `unix.precision` units (finer parts lost) |
//! | `Date` | a Date, Time or Timestamp value | the UTC day, logical Date |
//! | `Time` | a Date, Time or Timestamp value | the UTC time of day, logical Time |
//! | `Timestamp` | a Date, Time or Timestamp value | the instant, logical Timestamp |
//!
//! What the input is comes from its schema (logical Timestamp, Date or Time; otherwise a
//! string schema means text and an int64 schema Unix time), or, schemaless, from the value
//! (a date value is a Timestamp, an int64 Unix time, a string text). Schema'd, the output
//! schema is the target type's, optional when the input was; in field mode the struct schema
//! is rebuilt with only that field's schema changed (and its default converted). A null value
//! or field stays null; schemaless field mode writes `field: null` even when the field was
//! absent, as Kafka does.
//!
//! ```properties
//! transforms.ts.type=org.apache.kafka.connect.transforms.TimestampConverter$Value
//! transforms.ts.field=created_at
//! transforms.ts.target.type=string
//! transforms.ts.format=yyyy-MM-dd'T'HH:mm:ss.SSSXXX
//! ```

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_api::data::java_text::temporal_millis;
use sluice_api::data::{LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::java_date_format::JavaDateFormat;
use crate::timestamp_router::schema_text;
use crate::util::{
    self, copy_schema_basics, replace_null_with_default_key, Operand, SchemaCache,
    REPLACE_NULL_WITH_DEFAULT,
};

const FIELD: &str = "field";
const TARGET_TYPE: &str = "target.type";
const FORMAT: &str = "format";
const UNIX_PRECISION: &str = "unix.precision";
const PURPOSE: &str = "converting timestamp formats";
const MILLIS_PER_DAY: i64 = LogicalType::MILLIS_PER_DAY;

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.TimestampConverter$Key",
            config_def,
            create: |props| TimestampConverter::create(props, Operand::Key),
        },
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.TimestampConverter$Value",
            config_def,
            create: |props| TimestampConverter::create(props, Operand::Value),
        },
    ]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELD, ConfigType::String)
                .default_value("")
                .importance(Importance::High)
                .doc(
                    "The top-level field holding the timestamp; empty converts the whole key or \
                     value.",
                ),
        )
        .define(
            ConfigKey::new(TARGET_TYPE, ConfigType::String)
                .validator(Validator::OneOf(vec![
                    "string",
                    "unix",
                    "Date",
                    "Time",
                    "Timestamp",
                ]))
                .importance(Importance::High)
                .doc(
                    "What to convert to (case-sensitive): `string` (text written with \
                     `format`), `unix` (an int64 count of `unix.precision` units since the \
                     epoch), `Date` (the UTC day), `Time` (the UTC time of day) or `Timestamp` \
                     (the instant), the last three as Connect logical types.",
                ),
        )
        .define(
            ConfigKey::new(FORMAT, ConfigType::String)
                .default_value("")
                .importance(Importance::Medium)
                .doc(
                    "A Java `SimpleDateFormat` pattern, applied in UTC, such as \
                     `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`: it writes the output when `target.type` is \
                     `string` (then it is required) and reads the input when that is text.",
                ),
        )
        .define(
            ConfigKey::new(UNIX_PRECISION, ConfigType::String)
                .default_value("milliseconds")
                .validator(Validator::OneOf(vec![
                    "nanoseconds",
                    "microseconds",
                    "milliseconds",
                    "seconds",
                ]))
                .importance(Importance::Low)
                .doc(
                    "The unit of Unix times, read and written: `seconds`, `milliseconds`, \
                     `microseconds` or `nanoseconds`. Conversions pass through milliseconds, \
                     so finer parts are lost.",
                ),
        )
        .define(replace_null_with_default_key())
}

/// A timestamp representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "string" => Kind::Text,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }

    /// The representation a schema stands for.
    fn of_schema(schema: &Schema) -> Result<Kind> {
        match schema.name.as_deref() {
            Some(LogicalType::TIMESTAMP_NAME) => return Ok(Kind::Timestamp),
            Some(LogicalType::DATE_NAME) => return Ok(Kind::Date),
            Some(LogicalType::TIME_NAME) => return Ok(Kind::Time),
            _ => {}
        }
        match schema.schema_type {
            SchemaType::String => Ok(Kind::Text),
            SchemaType::Int64 => Ok(Kind::Unix),
            _ => Err(ConnectError::data(format!(
                "Schema {} does not correspond to a known timestamp type format",
                schema_text(Some(schema))
            ))),
        }
    }

    /// The representation a schemaless value stands for.
    fn of_value(value: &Value) -> Result<Kind> {
        match value {
            Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => Ok(Kind::Timestamp),
            Value::Int64(_) => Ok(Kind::Unix),
            Value::String(_) => Ok(Kind::Text),
            other => Err(ConnectError::data(format!(
                "TimestampConverter does not support class {} objects as timestamps",
                other.type_name()
            ))),
        }
    }

    /// The output schema of this representation.
    fn schema(self, optional: bool) -> SchemaRef {
        let builder = match self {
            Kind::Text => SchemaBuilder::new(SchemaType::String),
            Kind::Unix => SchemaBuilder::new(SchemaType::Int64),
            Kind::Date => LogicalType::Date.builder(),
            Kind::Time => LogicalType::Time.builder(),
            Kind::Timestamp => LogicalType::Timestamp.builder(),
        };
        if optional {
            builder.optional().build()
        } else {
            builder.build()
        }
    }
}

/// The unit of Unix times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

impl Precision {
    fn parse(name: &str) -> Precision {
        match name {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Microseconds,
            "nanoseconds" => Precision::Nanoseconds,
            _ => Precision::Milliseconds,
        }
    }

    /// Milliseconds of a count of units: finer units truncate toward zero, seconds saturate.
    fn units_to_millis(self, units: i64) -> i64 {
        match self {
            Precision::Seconds => units.saturating_mul(1000),
            Precision::Milliseconds => units,
            Precision::Microseconds => units / 1000,
            Precision::Nanoseconds => units / 1_000_000,
        }
    }

    /// Units of a count of milliseconds: seconds truncate toward zero, finer units saturate.
    fn millis_to_units(self, millis: i64) -> i64 {
        match self {
            Precision::Seconds => millis / 1000,
            Precision::Milliseconds => millis,
            Precision::Microseconds => millis.saturating_mul(1000),
            Precision::Nanoseconds => millis.saturating_mul(1_000_000),
        }
    }
}

/// The configured transform.
#[derive(Debug)]
struct TimestampConverter {
    operand: Operand,
    field: String,
    target: Kind,
    format: Option<JavaDateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
    /// The target schema, required and optional, for whole-value conversions.
    target_required: SchemaRef,
    target_optional: SchemaRef,
    schemas: SchemaCache,
}

impl TimestampConverter {
    fn create(props: &ConfigMap, operand: Operand) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&config_def(), props)?;
        let target =
            Kind::parse(config.string(TARGET_TYPE).unwrap_or_default()).unwrap_or(Kind::Timestamp);
        let pattern = config.string(FORMAT).unwrap_or_default();
        if target == Kind::Text && pattern.trim().is_empty() {
            return Err(ConnectError::config(
                FORMAT,
                "TimestampConverter requires format option to be specified when using string \
                 timestamps",
            ));
        }
        let format = if pattern.trim().is_empty() {
            None
        } else {
            Some(JavaDateFormat::new(pattern).map_err(|e| {
                ConnectError::config(
                    FORMAT,
                    format!(
                        "TimestampConverter requires a SimpleDateFormat-compatible pattern for \
                         string timestamps: {pattern} ({e})"
                    ),
                )
            })?)
        };
        Ok(Box::new(TimestampConverter {
            operand,
            field: config.string(FIELD).unwrap_or_default().to_owned(),
            target,
            format,
            precision: Precision::parse(config.string(UNIX_PRECISION).unwrap_or_default()),
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            target_required: target.schema(false),
            target_optional: target.schema(true),
            schemas: SchemaCache::new(),
        }))
    }

    fn apply_schemaless(&self, value: Value) -> Result<Value> {
        if value.is_null() || self.field.is_empty() {
            return self.convert(value, None);
        }
        match value {
            Value::Map(mut entries) => {
                let field = &self.field;
                match entries.iter_mut().find(|(k, _)| k.as_str() == Some(field)) {
                    Some((_, slot)) => *slot = self.convert(std::mem::take(slot), None)?,
                    None => entries.push((Value::String(field.clone()), Value::Null)),
                }
                Ok(Value::Map(entries))
            }
            other => {
                util::require_map(&other, PURPOSE)?;
                Ok(other)
            }
        }
    }

    fn apply_with_schema(&self, schema: SchemaRef, value: Value) -> Result<(SchemaRef, Value)> {
        if self.field.is_empty() {
            // The input kind comes from the schema, even for a null value.
            let source = Kind::of_schema(&schema)?;
            let out_schema = if schema.optional {
                self.target_optional.clone()
            } else {
                self.target_required.clone()
            };
            return Ok((out_schema, self.convert(value, Some(source))?));
        }
        util::require_struct_or_null(&value, PURPOSE)?;
        let updated = self
            .schemas
            .get_or_build(&schema, |s| self.updated_schema(s))?;
        let value = match value {
            Value::Struct(s) => Value::Struct(self.convert_struct(s, &updated)?),
            other => other,
        };
        Ok((updated, value))
    }

    /// The struct schema with the converted field's schema replaced (and its default
    /// converted).
    fn updated_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut builder = copy_schema_basics(schema, SchemaBuilder::struct_());
        for field in &schema.fields {
            let field_schema = if field.name == self.field {
                self.target.schema(field.schema.optional)
            } else {
                field.schema.clone()
            };
            builder = builder.field(field.name.clone(), field_schema)?;
        }
        if schema.optional {
            builder = builder.optional();
        }
        if let Some(Value::Struct(default)) = &schema.default {
            let converted = self.convert_struct(default.clone(), &builder.clone().build())?;
            builder = builder.default_value(Value::Struct(converted))?;
        }
        Ok(builder.build())
    }

    /// The struct with the configured field converted, in the updated schema.
    fn convert_struct(&self, value: Struct, updated: &SchemaRef) -> Result<Struct> {
        let original = value.schema().clone();
        let mut values = value.into_values();
        let mut converted = None;
        for (i, (slot, field)) in values.iter_mut().zip(&original.fields).enumerate() {
            if let (Value::Null, Some(default)) = (&*slot, &field.schema.default) {
                if self.replace_null_with_default {
                    *slot = default.clone();
                }
            }
            if field.name == self.field {
                let source = Kind::of_schema(&field.schema)?;
                *slot = self.convert(std::mem::take(slot), Some(source))?;
                converted = Some(i);
            }
        }
        // The other fields keep their schemas: only the converted value is checked.
        Struct::from_values_checking(updated.clone(), values, |i| Some(i) == converted)
    }

    /// Converts one timestamp of kind `source` (found from the value when `None`); null stays
    /// null.
    fn convert(&self, value: Value, source: Option<Kind>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let source = match source {
            Some(kind) => kind,
            None => Kind::of_value(&value)?,
        };
        let millis = self.instant_of(value, source)?;
        self.target_value(millis)
    }

    fn instant_of(&self, value: Value, source: Kind) -> Result<i64> {
        match source {
            Kind::Text => {
                let Value::String(text) = value else {
                    return Err(ConnectError::data(format!(
                        "Expected string timestamp to be a String, but found class {}",
                        value.type_name()
                    )));
                };
                let format = self.text_format()?;
                format.parse(&text).ok_or_else(|| {
                    ConnectError::data(format!(
                        "Could not parse timestamp: value ({text}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
            }
            Kind::Unix => match value {
                Value::Int64(units) => Ok(self.precision.units_to_millis(units)),
                other => Err(ConnectError::data(format!(
                    "Expected Unix timestamp to be a Long, but found class {}",
                    other.type_name()
                ))),
            },
            Kind::Date | Kind::Time | Kind::Timestamp => temporal_millis(&value).ok_or_else(|| {
                let name = match source {
                    Kind::Date => "Date",
                    Kind::Time => "Time",
                    _ => "Timestamp",
                };
                ConnectError::data(format!(
                    "Expected {name} to be a java.util.Date, but found class {}",
                    value.type_name()
                ))
            }),
        }
    }

    /// The `format` pattern, which text inputs and outputs need.
    fn text_format(&self) -> Result<&JavaDateFormat> {
        self.format.as_ref().ok_or_else(|| {
            ConnectError::data(
                "TimestampConverter requires format option to be specified when using string \
                 timestamps",
            )
        })
    }

    fn target_value(&self, millis: i64) -> Result<Value> {
        Ok(match self.target {
            Kind::Text => Value::String(self.text_format()?.format(millis)),
            Kind::Unix => Value::Int64(self.precision.millis_to_units(millis)),
            Kind::Date => {
                let days = millis.div_euclid(MILLIS_PER_DAY);
                Value::Date(i32::try_from(days).map_err(|_| {
                    ConnectError::data(format!(
                        "The instant {millis} ms since the epoch is out of the range of the \
                         Date type ({days} days)"
                    ))
                })?)
            }
            // The remainder of a day always fits.
            Kind::Time => Value::Time(millis.rem_euclid(MILLIS_PER_DAY) as i32),
            Kind::Timestamp => Value::Timestamp(millis),
        })
    }
}

impl Transformation for TimestampConverter {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let (schema, value) = self.operand.take(record);
        let (schema, value) = match schema {
            None => (None, self.apply_schemaless(value)?),
            Some(schema) => {
                let (schema, value) = self.apply_with_schema(schema, value)?;
                (Some(schema), value)
            }
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1970-01-02T00:00:01.234Z.
    const DATE_PLUS_TIME: i64 = 86_401_234;
    const DATE_PLUS_TIME_MICROS: i64 = 86_401_234_123;
    const DATE_PLUS_TIME_NANOS: i64 = 86_401_234_123_456;
    const DATE_PLUS_TIME_SECONDS: i64 = 86_401;
    const DATE_PLUS_TIME_STRING: &str = "1970 01 02 00 00 01 234 UTC";
    const STRING_DATE_FMT: &str = "yyyy MM dd HH mm ss SSS z";

    /// Transform settings in a test table.
    type Props = &'static [(&'static str, &'static str)];

    fn xform(operand: Operand, props: &[(&str, &str)]) -> Box<dyn Transformation> {
        let props: ConfigMap = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TimestampConverter::create(&props, operand).unwrap()
    }

    fn value_xform(props: &[(&str, &str)]) -> Box<dyn Transformation> {
        xform(Operand::Value, props)
    }

    fn apply(x: &dyn Transformation, schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
        let mut record = ConnectRecord::new("topic", schema, value);
        record.key = Value::from("key");
        record.timestamp = Some(7);
        x.apply_owned(record).unwrap().unwrap()
    }

    fn apply_err(x: &dyn Transformation, schema: Option<SchemaRef>, value: Value) -> String {
        let err = x
            .apply_owned(ConnectRecord::new("topic", schema, value))
            .unwrap_err();
        assert!(err.is_data(), "{err}");
        err.to_string()
    }

    fn config_err(props: &[(&str, &str)]) -> String {
        let props: ConfigMap = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TimestampConverter::create(&props, Operand::Value)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            config_err(&[]),
            "invalid configuration for 'target.type': Missing required configuration \
             \"target.type\" which has no default value."
        );
        assert_eq!(
            config_err(&[("target.type", "invalid")]),
            "invalid configuration for 'target.type': Invalid value invalid for configuration \
             target.type: String must be one of: string, unix, Date, Time, Timestamp"
        );
        // Case matters.
        assert!(config_err(&[("target.type", "timestamp")]).contains("String must be one of"));
        assert_eq!(
            config_err(&[("target.type", "unix"), ("unix.precision", "invalid")]),
            "invalid configuration for 'unix.precision': Invalid value invalid for \
             configuration unix.precision: String must be one of: nanoseconds, microseconds, \
             milliseconds, seconds"
        );
        assert_eq!(
            config_err(&[("target.type", "string")]),
            "invalid configuration for 'format': TimestampConverter requires format option to \
             be specified when using string timestamps"
        );
        assert_eq!(
            config_err(&[("target.type", "string"), ("format", "bad-format")]),
            "invalid configuration for 'format': TimestampConverter requires a \
             SimpleDateFormat-compatible pattern for string timestamps: bad-format (Illegal \
             pattern character 'b')"
        );
        // A bad pattern is reported even when it would only be used to read text.
        assert!(
            config_err(&[("target.type", "unix"), ("format", "'x")]).contains("Unterminated quote")
        );
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(
            names,
            [
                "org.apache.kafka.connect.transforms.TimestampConverter$Key",
                "org.apache.kafka.connect.transforms.TimestampConverter$Value"
            ]
        );
    }

    #[test]
    fn schemaless_conversions() {
        let cases: &[(Props, Value, Value)] = &[
            (
                &[("target.type", "Timestamp")],
                Value::Timestamp(DATE_PLUS_TIME),
                Value::Timestamp(DATE_PLUS_TIME),
            ),
            (
                &[("target.type", "Date")],
                Value::Timestamp(DATE_PLUS_TIME),
                Value::Date(1),
            ),
            (
                &[("target.type", "Time")],
                Value::Timestamp(DATE_PLUS_TIME),
                Value::Time(1234),
            ),
            (
                &[("target.type", "unix")],
                Value::Timestamp(DATE_PLUS_TIME),
                Value::Int64(DATE_PLUS_TIME),
            ),
            (
                &[("target.type", "string"), ("format", STRING_DATE_FMT)],
                Value::Timestamp(DATE_PLUS_TIME),
                Value::from(DATE_PLUS_TIME_STRING),
            ),
            (
                &[("target.type", "Timestamp")],
                Value::Date(1),
                Value::Timestamp(86_400_000),
            ),
            (
                &[("target.type", "Timestamp")],
                Value::Time(1234),
                Value::Timestamp(1234),
            ),
            (
                &[("target.type", "Timestamp")],
                Value::Int64(DATE_PLUS_TIME),
                Value::Timestamp(DATE_PLUS_TIME),
            ),
            (
                &[("target.type", "Timestamp"), ("format", STRING_DATE_FMT)],
                Value::from(DATE_PLUS_TIME_STRING),
                Value::Timestamp(DATE_PLUS_TIME),
            ),
            (
                &[
                    ("target.type", "unix"),
                    ("unix.precision", "microseconds"),
                    ("format", STRING_DATE_FMT),
                ],
                Value::from(DATE_PLUS_TIME_STRING),
                Value::Int64(86_401_234_000),
            ),
            (
                &[
                    ("target.type", "unix"),
                    ("unix.precision", "nanoseconds"),
                    ("format", STRING_DATE_FMT),
                ],
                Value::from(DATE_PLUS_TIME_STRING),
                Value::Int64(86_401_234_000_000),
            ),
            (
                &[
                    ("target.type", "unix"),
                    ("unix.precision", "seconds"),
                    ("format", STRING_DATE_FMT),
                ],
                Value::from(DATE_PLUS_TIME_STRING),
                Value::Int64(DATE_PLUS_TIME_SECONDS),
            ),
            // Before the epoch: the day and time of day are taken in UTC.
            (
                &[("target.type", "Date")],
                Value::Timestamp(-1),
                Value::Date(-1),
            ),
            (
                &[("target.type", "Time")],
                Value::Timestamp(-1),
                Value::Time(86_399_999),
            ),
        ];
        for (props, input, want) in cases {
            let out = apply(&*value_xform(props), None, input.clone());
            assert_eq!(out.value_schema, None, "{props:?}");
            assert_eq!(&out.value, want, "{props:?} {input:?}");
            assert_eq!(out.key, Value::from("key"));
            assert_eq!(out.timestamp, Some(7));
        }
    }

    #[test]
    fn unix_precisions_read_and_write() {
        let to_ts = |precision: &str, units: i64| {
            let x = value_xform(&[("target.type", "Timestamp"), ("unix.precision", precision)]);
            apply(&*x, None, Value::Int64(units)).value
        };
        assert_eq!(
            to_ts("microseconds", DATE_PLUS_TIME_MICROS),
            Value::Timestamp(DATE_PLUS_TIME)
        );
        assert_eq!(
            to_ts("nanoseconds", DATE_PLUS_TIME_NANOS),
            Value::Timestamp(DATE_PLUS_TIME)
        );
        assert_eq!(
            to_ts("seconds", DATE_PLUS_TIME_SECONDS),
            Value::Timestamp(86_401_000)
        );
        // Finer units truncate toward zero, as Java's TimeUnit does.
        assert_eq!(to_ts("microseconds", -1_500), Value::Timestamp(-1));
        let to_unix = |precision: &str| {
            let x = value_xform(&[("target.type", "unix"), ("unix.precision", precision)]);
            apply(&*x, None, Value::Timestamp(DATE_PLUS_TIME)).value
        };
        assert_eq!(to_unix("seconds"), Value::Int64(DATE_PLUS_TIME_SECONDS));
        assert_eq!(to_unix("milliseconds"), Value::Int64(DATE_PLUS_TIME));
        assert_eq!(to_unix("microseconds"), Value::Int64(86_401_234_000));
        assert_eq!(to_unix("nanoseconds"), Value::Int64(86_401_234_000_000));
    }

    #[test]
    fn with_schema_whole_value_conversions() {
        let ts = || Some(LogicalType::Timestamp.schema());
        let cases: &[(Props, Option<SchemaRef>, Value, SchemaRef, Value)] = &[
            (
                &[("target.type", "Timestamp")],
                ts(),
                Value::Timestamp(DATE_PLUS_TIME),
                LogicalType::Timestamp.schema(),
                Value::Timestamp(DATE_PLUS_TIME),
            ),
            (
                &[("target.type", "Date")],
                ts(),
                Value::Timestamp(DATE_PLUS_TIME),
                LogicalType::Date.schema(),
                Value::Date(1),
            ),
            (
                &[("target.type", "Time")],
                ts(),
                Value::Timestamp(DATE_PLUS_TIME),
                LogicalType::Time.schema(),
                Value::Time(1234),
            ),
            (
                &[("target.type", "unix")],
                ts(),
                Value::Timestamp(DATE_PLUS_TIME),
                Schema::required(SchemaType::Int64),
                Value::Int64(DATE_PLUS_TIME),
            ),
            (
                &[("target.type", "string"), ("format", STRING_DATE_FMT)],
                ts(),
                Value::Timestamp(DATE_PLUS_TIME),
                Schema::required(SchemaType::String),
                Value::from(DATE_PLUS_TIME_STRING),
            ),
            (
                &[("target.type", "Timestamp")],
                Some(LogicalType::Date.schema()),
                Value::Date(1),
                LogicalType::Timestamp.schema(),
                Value::Timestamp(86_400_000),
            ),
            (
                &[("target.type", "Timestamp")],
                Some(LogicalType::Time.schema()),
                Value::Time(1234),
                LogicalType::Timestamp.schema(),
                Value::Timestamp(1234),
            ),
            (
                &[("target.type", "Timestamp")],
                Some(Schema::required(SchemaType::Int64)),
                Value::Int64(DATE_PLUS_TIME),
                LogicalType::Timestamp.schema(),
                Value::Timestamp(DATE_PLUS_TIME),
            ),
            (
                &[("target.type", "Timestamp"), ("format", STRING_DATE_FMT)],
                Some(Schema::required(SchemaType::String)),
                Value::from(DATE_PLUS_TIME_STRING),
                LogicalType::Timestamp.schema(),
                Value::Timestamp(DATE_PLUS_TIME),
            ),
        ];
        for (props, schema, input, want_schema, want) in cases {
            let out = apply(&*value_xform(props), schema.clone(), input.clone());
            assert_eq!(out.value_schema.as_ref(), Some(want_schema), "{props:?}");
            assert_eq!(&out.value, want, "{props:?}");
        }
    }

    #[test]
    fn null_values_stay_null() {
        for target in ["string", "unix", "Date", "Time", "Timestamp"] {
            let props = [("target.type", target), ("format", STRING_DATE_FMT)];
            // Schemaless, whole value and field.
            let out = apply(&*value_xform(&props), None, Value::Null);
            assert_eq!((out.value_schema, out.value), (None, Value::Null));
            let field_props = [
                ("target.type", target),
                ("format", STRING_DATE_FMT),
                ("field", "ts"),
            ];
            let out = apply(&*value_xform(&field_props), None, Value::Null);
            assert_eq!((out.value_schema, out.value), (None, Value::Null));

            // Schema'd: the schema is converted, optional as the input was.
            let optional_ts = LogicalType::Timestamp.builder().optional().build();
            let out = apply(
                &*value_xform(&props),
                Some(optional_ts.clone()),
                Value::Null,
            );
            let target_kind = Kind::parse(target).unwrap();
            assert_eq!(out.value_schema, Some(target_kind.schema(true)));
            assert_eq!(out.value, Value::Null);

            // A null field, and a null struct.
            let struct_schema = SchemaBuilder::struct_()
                .field("ts", optional_ts)
                .unwrap()
                .field("other", Schema::required(SchemaType::String))
                .unwrap();
            let expected = SchemaBuilder::struct_()
                .field("ts", target_kind.schema(true))
                .unwrap()
                .field("other", Schema::required(SchemaType::String))
                .unwrap();
            let original = Struct::new(struct_schema.clone().build())
                .unwrap()
                .with("other", "test")
                .unwrap();
            let x = value_xform(&field_props);
            let out = apply(
                &*x,
                Some(struct_schema.clone().build()),
                Value::Struct(original),
            );
            assert_eq!(out.value_schema, Some(expected.clone().build()));
            match &out.value {
                Value::Struct(s) => {
                    assert_eq!(s.get("ts"), Some(&Value::Null));
                    assert_eq!(s.get("other"), Some(&Value::from("test")));
                }
                other => panic!("not a struct: {other:?}"),
            }
            let out = apply(&*x, Some(struct_schema.optional().build()), Value::Null);
            assert_eq!(out.value_schema, Some(expected.optional().build()));
            assert_eq!(out.value, Value::Null);
        }
    }

    #[test]
    fn schemaless_field_conversion() {
        let x = value_xform(&[("target.type", "Date"), ("field", "ts")]);
        let input = Value::Map(vec![
            (Value::from("ts"), Value::Timestamp(DATE_PLUS_TIME)),
            (Value::from("other"), Value::from("test")),
        ]);
        let out = apply(&*x, None, input);
        assert_eq!(
            out.value,
            Value::Map(vec![
                (Value::from("ts"), Value::Date(1)),
                (Value::from("other"), Value::from("test")),
            ])
        );
        // An absent field is added as null, as Kafka does.
        let out = apply(
            &*x,
            None,
            Value::Map(vec![(Value::from("other"), Value::from("test"))]),
        );
        assert_eq!(
            out.value,
            Value::Map(vec![
                (Value::from("other"), Value::from("test")),
                (Value::from("ts"), Value::Null),
            ])
        );
        assert_eq!(
            apply_err(&*x, None, Value::Int64(1)),
            "Only Map objects supported in absence of schema for [converting timestamp \
             formats], found: java.lang.Long"
        );
    }

    #[test]
    fn with_schema_field_conversion() {
        let x = value_xform(&[("target.type", "Timestamp"), ("field", "ts")]);
        let schema = SchemaBuilder::struct_()
            .name("my.Value")
            .version(3)
            .field("ts", Schema::required(SchemaType::Int64))
            .unwrap()
            .field("other", Schema::required(SchemaType::String))
            .unwrap()
            .build();
        let original = Struct::new(schema.clone())
            .unwrap()
            .with("ts", DATE_PLUS_TIME)
            .unwrap()
            .with("other", "test")
            .unwrap();
        let out = apply(&*x, Some(schema.clone()), Value::Struct(original.clone()));
        let expected_schema = SchemaBuilder::struct_()
            .name("my.Value")
            .version(3)
            .field("ts", LogicalType::Timestamp.schema())
            .unwrap()
            .field("other", Schema::required(SchemaType::String))
            .unwrap()
            .build();
        assert_eq!(out.value_schema.as_ref(), Some(&expected_schema));
        let expected = Struct::new(expected_schema)
            .unwrap()
            .with("ts", Value::Timestamp(DATE_PLUS_TIME))
            .unwrap()
            .with("other", "test")
            .unwrap();
        assert_eq!(out.value, Value::Struct(expected));
        let again = apply(&*x, Some(schema), Value::Struct(original));
        assert!(SchemaRef::ptr_eq(
            out.value_schema.as_ref().unwrap(),
            again.value_schema.as_ref().unwrap()
        ));
        assert_eq!(
            apply_err(&*x, Some(LogicalType::Timestamp.schema()), Value::from("x")),
            "Only Struct objects supported for [converting timestamp formats], found: \
             java.lang.String"
        );
    }

    #[test]
    fn struct_defaults_follow_replace_null_with_default() {
        let schema = SchemaBuilder::struct_()
            .field(
                "ts",
                SchemaBuilder::new(SchemaType::Int64)
                    .optional()
                    .default_value(Value::Int64(0))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .field("other", Schema::required(SchemaType::String))
            .unwrap()
            .build();
        let original = Struct::new(schema.clone())
            .unwrap()
            .with("other", "test")
            .unwrap();
        let expected_schema = SchemaBuilder::struct_()
            .field("ts", LogicalType::Timestamp.builder().optional().build())
            .unwrap()
            .field("other", Schema::required(SchemaType::String))
            .unwrap()
            .build();
        for (replace, want) in [("false", Value::Null), ("true", Value::Timestamp(0))] {
            let x = value_xform(&[
                ("target.type", "Timestamp"),
                ("field", "ts"),
                ("replace.null.with.default", replace),
            ]);
            let out = apply(&*x, Some(schema.clone()), Value::Struct(original.clone()));
            assert_eq!(out.value_schema.as_ref(), Some(&expected_schema));
            match out.value {
                Value::Struct(s) => {
                    assert_eq!(s.get("ts"), Some(&want), "replace={replace}");
                    assert_eq!(s.get("other"), Some(&Value::from("test")));
                }
                other => panic!("not a struct: {other:?}"),
            }
        }
    }

    #[test]
    fn struct_schema_default_is_converted() {
        let inner = SchemaBuilder::struct_()
            .field("ts", Schema::required(SchemaType::Int64))
            .unwrap()
            .optional();
        let default = Struct::new(inner.clone().build())
            .unwrap()
            .with("ts", DATE_PLUS_TIME)
            .unwrap();
        let schema = inner.default_value(Value::Struct(default)).unwrap().build();
        let x = value_xform(&[("target.type", "Date"), ("field", "ts")]);
        let out = apply(&*x, Some(schema), Value::Null);
        let out_schema = out.value_schema.unwrap();
        assert!(out_schema.optional);
        assert_eq!(
            out_schema.field("ts").unwrap().schema,
            LogicalType::Date.schema()
        );
        match &out_schema.default {
            Some(Value::Struct(d)) => assert_eq!(d.get("ts"), Some(&Value::Date(1))),
            other => panic!("default not converted: {other:?}"),
        }
    }

    #[test]
    fn type_mismatches_are_data_errors() {
        let x = value_xform(&[("target.type", "Timestamp"), ("format", STRING_DATE_FMT)]);
        assert_eq!(
            apply_err(&*x, None, Value::Int32(5)),
            "TimestampConverter does not support class java.lang.Integer objects as timestamps"
        );
        assert_eq!(
            apply_err(
                &*x,
                Some(Schema::required(SchemaType::String)),
                Value::Int32(5)
            ),
            "Expected string timestamp to be a String, but found class java.lang.Integer"
        );
        assert_eq!(
            apply_err(
                &*x,
                Some(Schema::required(SchemaType::Int64)),
                Value::from("x")
            ),
            "Expected Unix timestamp to be a Long, but found class java.lang.String"
        );
        assert_eq!(
            apply_err(&*x, Some(LogicalType::Date.schema()), Value::Int32(1)),
            "Expected Date to be a java.util.Date, but found class java.lang.Integer"
        );
        assert_eq!(
            apply_err(
                &*x,
                Some(Schema::required(SchemaType::Int32)),
                Value::Int32(1)
            ),
            "Schema Schema{INT32} does not correspond to a known timestamp type format"
        );
        // The schema decides even for a null value.
        assert_eq!(
            apply_err(
                &*x,
                Some(Schema::optional(SchemaType::Boolean)),
                Value::Null
            ),
            "Schema Schema{BOOLEAN} does not correspond to a known timestamp type format"
        );
        assert_eq!(
            apply_err(&*x, None, Value::from("2024-01-01")),
            "Could not parse timestamp: value (2024-01-01) does not match pattern (yyyy MM dd \
             HH mm ss SSS z)"
        );
        let no_format = value_xform(&[("target.type", "unix")]);
        assert_eq!(
            apply_err(&*no_format, None, Value::from("2024")),
            "TimestampConverter requires format option to be specified when using string \
             timestamps"
        );
    }

    #[test]
    fn key_variant_converts_the_key() {
        let x = xform(Operand::Key, &[("target.type", "Timestamp")]);
        let mut record = ConnectRecord::new("topic", None, Value::from("v"));
        record.key = Value::Timestamp(DATE_PLUS_TIME);
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(out.key_schema, None);
        assert_eq!(out.key, Value::Timestamp(DATE_PLUS_TIME));
        assert_eq!(out.value, Value::from("v"));

        let x = xform(
            Operand::Key,
            &[("target.type", "unix"), ("unix.precision", "seconds")],
        );
        let mut record = ConnectRecord::new("topic", None, Value::from("v"));
        record.key_schema = Some(LogicalType::Timestamp.schema());
        record.key = Value::Timestamp(DATE_PLUS_TIME);
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(out.key_schema, Some(Schema::required(SchemaType::Int64)));
        assert_eq!(out.key, Value::Int64(DATE_PLUS_TIME_SECONDS));
    }
}

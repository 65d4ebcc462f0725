//! `TimestampRouter`: renames the topic after the record's topic and timestamp, typically so a
//! sink writes each day (or hour, or month) to its own table or index.
//!
//! `topic.format` is the new name, in which every `${topic}` stands for the record's topic and
//! every `${timestamp}` for the record's timestamp written with `timestamp.format`, a Java
//! `SimpleDateFormat` pattern applied in UTC. Partition, key, value, timestamp and headers stay
//! as they are. A record without a timestamp is an error.
//!
//! ```properties
//! transforms.daily.type=org.apache.kafka.connect.transforms.TimestampRouter
//! transforms.daily.topic.format=${topic}-${timestamp}
//! transforms.daily.timestamp.format=yyyyMMdd
//! ```
//!
//! With those settings a record of topic `orders` stamped 2017-01-03 goes to
//! `orders-20170103`. An invalid `timestamp.format` is reported when the transform is
//! configured (Kafka fails each record instead).

use std::sync::{Arc, Mutex};

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_api::data::java_text::{BytesText, JavaText};
use sluice_api::data::Schema;
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::java_date_format::JavaDateFormat;
use crate::util;

const TOPIC_FORMAT: &str = "topic.format";
const TIMESTAMP_FORMAT: &str = "timestamp.format";
const TOPIC_PLACEHOLDER: &str = "${topic}";
const TIMESTAMP_PLACEHOLDER: &str = "${timestamp}";

/// This module's plugin.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![TransformationPlugin {
        class_name: "org.apache.kafka.connect.transforms.TimestampRouter",
        config_def,
        create: TimestampRouter::create,
    }]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(TOPIC_FORMAT, ConfigType::String)
                .default_value("${topic}-${timestamp}")
                .importance(Importance::High)
                .doc(
                    "The new topic name. `${topic}` is replaced by the record's topic and \
                     `${timestamp}` by its timestamp written with `timestamp.format`; \
                     everything else is kept as written.",
                ),
        )
        .define(
            ConfigKey::new(TIMESTAMP_FORMAT, ConfigType::String)
                .default_value("yyyyMMdd")
                .importance(Importance::High)
                .doc(
                    "How `${timestamp}` is written: a Java `SimpleDateFormat` pattern, applied \
                     in UTC (`yyyyMMdd` gives `20170103`, `yyyy-MM-dd-HH` one topic per \
                     hour).",
                ),
        )
}

/// A piece of `topic.format`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Topic,
    Timestamp,
}

/// Splits `topic.format` at its placeholders (`${topic}` first, as Kafka replaces it first).
fn split_format(format: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    for (i, piece) in format.split(TOPIC_PLACEHOLDER).enumerate() {
        if i > 0 {
            parts.push(Part::Topic);
        }
        for (j, text) in piece.split(TIMESTAMP_PLACEHOLDER).enumerate() {
            if j > 0 {
                parts.push(Part::Timestamp);
            }
            if !text.is_empty() {
                parts.push(Part::Text(text.to_string()));
            }
        }
    }
    parts
}

/// The last topic built, reused while topic and formatted timestamp stay the same.
#[derive(Debug, Default)]
struct LastTopic {
    topic: Option<Arc<str>>,
    stamp: String,
    /// The period of the timestamp format (timestamp divided by its length) in which `stamp`
    /// was formatted: any timestamp of it formats to `stamp`.
    period: Option<i64>,
    routed: Option<Arc<str>>,
    /// Scratch space for formatting the timestamp of the current record.
    scratch: String,
}

/// The configured transform.
#[derive(Debug)]
struct TimestampRouter {
    parts: Vec<Part>,
    timestamp_format: JavaDateFormat,
    /// [`JavaDateFormat::period_millis`] of the timestamp format.
    period_millis: i64,
    last: Mutex<LastTopic>,
}

impl TimestampRouter {
    fn create(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&config_def(), props)?;
        let pattern = config.string(TIMESTAMP_FORMAT).unwrap_or_default();
        let timestamp_format = JavaDateFormat::new(pattern).map_err(|e| {
            ConnectError::config(
                TIMESTAMP_FORMAT,
                format!("Invalid value {pattern} for configuration {TIMESTAMP_FORMAT}: {e}"),
            )
        })?;
        Ok(Box::new(TimestampRouter {
            parts: split_format(config.string(TOPIC_FORMAT).unwrap_or_default()),
            period_millis: timestamp_format.period_millis(),
            timestamp_format,
            last: Mutex::new(LastTopic::default()),
        }))
    }

    fn route(&self, topic: &Arc<str>, timestamp: i64) -> Arc<str> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let LastTopic {
            topic: last_topic,
            stamp,
            period,
            routed,
            scratch,
        } = &mut *last;
        let same_topic = last_topic
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, topic) || **t == **topic);
        let this_period = timestamp.div_euclid(self.period_millis);
        if let Some(routed) = routed
            .as_ref()
            .filter(|_| same_topic && *period == Some(this_period))
        {
            // The timestamp formats to the same text: no need to format it.
            return routed.clone();
        }
        scratch.clear();
        self.timestamp_format.format_into(timestamp, scratch);
        if let Some(routed) = routed.as_ref().filter(|_| same_topic && *stamp == *scratch) {
            *period = Some(this_period);
            return routed.clone();
        }
        let mut name = String::with_capacity(topic.len() + scratch.len() + 8);
        for part in &self.parts {
            match part {
                Part::Text(text) => name.push_str(text),
                Part::Topic => name.push_str(topic),
                Part::Timestamp => name.push_str(scratch),
            }
        }
        let name: Arc<str> = Arc::from(name);
        *last_topic = Some(topic.clone());
        std::mem::swap(stamp, scratch);
        *period = Some(this_period);
        *routed = Some(name.clone());
        name
    }
}

impl Transformation for TimestampRouter {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let Some(timestamp) = record.timestamp else {
            return Err(ConnectError::data(format!(
                "Timestamp missing on record: {}",
                record_text(record)
            )));
        };
        record.topic = self.route(&record.topic, timestamp);
        Ok(Outcome::Keep)
    }
}

/// A record as Kafka's `ConnectRecord.toString` writes it.
fn record_text(record: &ConnectRecord) -> String {
    let text = |v| JavaText::new(v, BytesText::SignedList).to_string();
    let partition = record
        .kafka_partition
        .map_or_else(|| "null".to_string(), |p| p.to_string());
    let timestamp = record
        .timestamp
        .map_or_else(|| "null".to_string(), |t| t.to_string());
    let headers: Vec<String> = record
        .headers
        .iter()
        .map(|h| {
            format!(
                "ConnectHeader(key={}, value={}, schema={})",
                h.key,
                text(&h.value),
                schema_text(h.schema.as_deref())
            )
        })
        .collect();
    let headers = if headers.is_empty() {
        String::new()
    } else {
        format!("[{}]", headers.join(", "))
    };
    format!(
        "ConnectRecord{{topic='{}', kafkaPartition={partition}, key={}, keySchema={}, \
         value={}, valueSchema={}, timestamp={timestamp}, headers=ConnectHeaders(headers={headers})}}",
        record.topic,
        text(&record.key),
        schema_text(record.key_schema.as_deref()),
        text(&record.value),
        schema_text(record.value_schema.as_deref()),
    )
}

/// A schema as Kafka's `ConnectSchema.toString` writes it, or `null`.
pub(crate) fn schema_text(schema: Option<&Schema>) -> String {
    match schema {
        None => "null".to_string(),
        Some(Schema {
            name: Some(name),
            schema_type,
            ..
        }) => format!("Schema{{{name}:{schema_type}}}"),
        Some(schema) => format!("Schema{{{}}}", schema.schema_type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{SchemaType, Value};

    fn router(props: &[(&str, &str)]) -> Box<dyn Transformation> {
        let props: ConfigMap = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TimestampRouter::create(&props).unwrap()
    }

    fn record(topic: &str, timestamp: Option<i64>) -> ConnectRecord {
        let mut record = ConnectRecord::new(topic, None, Value::from("v"));
        record.timestamp = timestamp;
        record.kafka_partition = Some(3);
        record.key = Value::from("k");
        record
    }

    /// 2017-01-03T00:00:00Z.
    const JAN_3_2017: i64 = 1_483_401_600_000;

    #[test]
    fn default_format_appends_the_utc_day() {
        let out = router(&[])
            .apply_owned(record("test", Some(JAN_3_2017)))
            .unwrap()
            .unwrap();
        assert_eq!(&*out.topic, "test-20170103");
        assert_eq!(out.kafka_partition, Some(3));
        assert_eq!(out.key, Value::from("k"));
        assert_eq!(out.value, Value::from("v"));
        assert_eq!(out.timestamp, Some(JAN_3_2017));
        // One millisecond before midnight UTC is still the previous day.
        let out = router(&[])
            .apply_owned(record("test", Some(JAN_3_2017 - 1)))
            .unwrap()
            .unwrap();
        assert_eq!(&*out.topic, "test-20170102");
    }

    #[test]
    fn custom_formats_replace_every_placeholder() {
        let x = router(&[
            (
                "topic.format",
                "${timestamp}/${topic}/${topic}-${timestamp}",
            ),
            ("timestamp.format", "yyyy-MM-dd'T'HH"),
        ]);
        let out = x
            .apply_owned(record("orders", Some(JAN_3_2017 + 5 * 3_600_000)))
            .unwrap()
            .unwrap();
        assert_eq!(&*out.topic, "2017-01-03T05/orders/orders-2017-01-03T05");
        let fixed = router(&[("topic.format", "archive")]);
        let out = fixed
            .apply_owned(record("orders", Some(0)))
            .unwrap()
            .unwrap();
        assert_eq!(&*out.topic, "archive");
    }

    #[test]
    fn topics_are_rebuilt_when_topic_or_day_changes() {
        let x = router(&[]);
        let a = x
            .apply_owned(record("a", Some(JAN_3_2017)))
            .unwrap()
            .unwrap();
        let a2 = x
            .apply_owned(record("a", Some(JAN_3_2017 + 1)))
            .unwrap()
            .unwrap();
        assert!(
            Arc::ptr_eq(&a.topic, &a2.topic),
            "same topic and day reuse the name"
        );
        let b = x
            .apply_owned(record("b", Some(JAN_3_2017)))
            .unwrap()
            .unwrap();
        assert_eq!(&*b.topic, "b-20170103");
        let next_day = x
            .apply_owned(record("b", Some(JAN_3_2017 + 86_400_000)))
            .unwrap()
            .unwrap();
        assert_eq!(&*next_day.topic, "b-20170104");
        let day_before = x
            .apply_owned(record("b", Some(JAN_3_2017 - 1)))
            .unwrap()
            .unwrap();
        assert_eq!(&*day_before.topic, "b-20170102");
        let same_day = x
            .apply_owned(record("b", Some(JAN_3_2017 - 86_400_000)))
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&day_before.topic, &same_day.topic));
    }

    #[test]
    fn record_without_timestamp_fails() {
        let mut r = record("test", None);
        r.value_schema = Some(Schema::required(SchemaType::String));
        r.headers.add_string("h", "1");
        let err = router(&[]).apply_owned(r).unwrap_err();
        assert!(err.is_data());
        assert_eq!(
            err.to_string(),
            "Timestamp missing on record: ConnectRecord{topic='test', kafkaPartition=3, key=k, \
             keySchema=null, value=v, valueSchema=Schema{STRING}, timestamp=null, \
             headers=ConnectHeaders(headers=[ConnectHeader(key=h, value=1, schema=Schema{STRING})])}"
        );
    }

    #[test]
    fn tombstones_are_routed_too() {
        let mut r = record("test", Some(JAN_3_2017));
        r.value = Value::Null;
        let out = router(&[]).apply_owned(r).unwrap().unwrap();
        assert_eq!(&*out.topic, "test-20170103");
        assert_eq!(out.value, Value::Null);
    }

    #[test]
    fn bad_timestamp_format_is_a_config_error() {
        let props = ConfigMap::from([("timestamp.format".to_string(), "yyyy-bb".to_string())]);
        let err = TimestampRouter::create(&props).map(|_| ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'timestamp.format': Invalid value yyyy-bb for \
             configuration timestamp.format: Illegal pattern character 'b'"
        );
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(
            names,
            ["org.apache.kafka.connect.transforms.TimestampRouter"]
        );
        let def = config_def();
        assert_eq!(
            def.key("topic.format").unwrap().default_text(),
            Some("${topic}-${timestamp}")
        );
        assert_eq!(
            def.key("timestamp.format").unwrap().default_text(),
            Some("yyyyMMdd")
        );
    }

    #[test]
    fn splits_the_topic_format() {
        assert_eq!(
            split_format("${topic}-${timestamp}"),
            [Part::Topic, Part::Text("-".into()), Part::Timestamp]
        );
        assert_eq!(split_format("x"), [Part::Text("x".into())]);
        assert_eq!(split_format("${topic"), [Part::Text("${topic".into())]);
    }
}

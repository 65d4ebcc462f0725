//! Records as connectors see them: [`SourceRecord`] out of a source task, [`SinkRecord`] into
//! a sink task, and the shared [`ConnectRecord`] that converters and transformations handle.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::data::{Headers, SchemaRef, Value};

/// A topic and partition number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// Names a partition of a topic.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Whether a record timestamp was set by its producer or by the log on append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// No timestamp.
    #[default]
    NoTimestamp,
    /// Set by the producer (Kafka's `CreateTime`).
    CreateTime,
    /// Set by the log when appended (Kafka's `LogAppendTime`).
    LogAppendTime,
}

/// The parts every record has, whichever direction it travels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectRecord {
    /// Topic the record goes to (source) or came from (sink). Shared, since a task usually
    /// writes or reads many records of one topic.
    pub topic: Arc<str>,
    /// Partition, if chosen; `None` lets the producer's partitioner pick by key.
    pub kafka_partition: Option<i32>,
    /// Key schema, `None` for schemaless keys.
    pub key_schema: Option<SchemaRef>,
    /// Key.
    pub key: Value,
    /// Value schema, `None` for schemaless values.
    pub value_schema: Option<SchemaRef>,
    /// Value; `Value::Null` is a tombstone.
    pub value: Value,
    /// Milliseconds since the epoch, if any.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Headers,
    /// Offset in the partition, for records read from the log (sink side); `None` for source
    /// records, which get theirs only when written.
    pub kafka_offset: Option<i64>,
    /// How `timestamp` was set.
    pub timestamp_type: TimestampType,
}

impl ConnectRecord {
    /// A record for `topic` with a schema'd or schemaless value and nothing else set.
    ///
    /// Source tasks build one per record, typically as the base of a struct update
    /// (`ConnectRecord { key, ..ConnectRecord::new(topic, schema, value) }`). The fields are
    /// spelled out rather than taken from `Default`, whose topic is a shared empty name that
    /// would be counted up and down again for every record.
    pub fn new(topic: impl Into<Arc<str>>, value_schema: Option<SchemaRef>, value: Value) -> Self {
        ConnectRecord {
            topic: topic.into(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: None,
            headers: Headers::new(),
            kafka_offset: None,
            timestamp_type: TimestampType::NoTimestamp,
        }
    }
}

/// A map with string keys and primitive values, as source partitions and offsets are.
///
/// Order is kept because Kafka serializes these maps in their insertion order, and stored
/// offsets are looked up by their serialized bytes.
///
/// A map of one entry (the usual source offset, such as `{"position": 1024}`) is held
/// inline, so a source task that makes one offset per record allocates nothing for it.
#[derive(Clone, Default)]
pub struct OffsetMap(Entries);

/// The entries of an [`OffsetMap`]: one inline, or any number on the heap.
#[derive(Clone)]
enum Entries {
    One([(Cow<'static, str>, Value); 1]),
    Many(Vec<(Cow<'static, str>, Value)>),
}

impl Default for Entries {
    fn default() -> Self {
        Entries::Many(Vec::new())
    }
}

impl OffsetMap {
    /// An empty map.
    pub const fn new() -> Self {
        OffsetMap(Entries::Many(Vec::new()))
    }

    /// Builder-style insert.
    pub fn with(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        self.insert(key, value.into());
        self
    }

    /// Inserts or replaces an entry, keeping the position of a replaced key.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: Value) {
        let key = key.into();
        if let Entries::Many(entries) = &self.0 {
            if entries.is_empty() {
                // The usual case, a source task's one-entry offset per record: straight in.
                self.0 = Entries::One([(key, value)]);
                return;
            }
        }
        match self.slice_mut().iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.push(key, value),
        }
    }

    /// Appends an entry without looking for its key.
    fn push(&mut self, key: Cow<'static, str>, value: Value) {
        match &mut self.0 {
            Entries::Many(entries) if !entries.is_empty() => entries.push((key, value)),
            Entries::Many(_) => self.0 = Entries::One([(key, value)]),
            Entries::One(_) => {
                if let Entries::One([first]) = std::mem::take(&mut self.0) {
                    self.0 = Entries::Many(vec![first, (key, value)]);
                }
            }
        }
    }

    /// Looks up an entry.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.slice().iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.slice().iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.slice().len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.slice().is_empty()
    }

    fn slice(&self) -> &[(Cow<'static, str>, Value)] {
        match &self.0 {
            Entries::One(one) => one,
            Entries::Many(many) => many,
        }
    }

    fn slice_mut(&mut self) -> &mut [(Cow<'static, str>, Value)] {
        match &mut self.0 {
            Entries::One(one) => one,
            Entries::Many(many) => many,
        }
    }
}

impl PartialEq for OffsetMap {
    fn eq(&self, other: &Self) -> bool {
        self.slice() == other.slice()
    }
}

impl fmt::Debug for OffsetMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(String, Value)> for OffsetMap {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        let mut map = OffsetMap::new();
        for (k, v) in iter {
            map.push(Cow::Owned(k), v);
        }
        map
    }
}

/// A record produced by a source task: where it came from in the source system, how far the
/// task has read, and the record itself.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Identifies the stream within the source system (e.g. `{"filename": "/tmp/in.txt"}`).
    /// Shared, since consecutive records usually have the same partition.
    pub source_partition: Arc<OffsetMap>,
    /// The position reached in that stream once this record is written
    /// (e.g. `{"position": 1024}`).
    pub source_offset: OffsetMap,
    /// The record.
    pub record: ConnectRecord,
}

/// A record delivered to a sink task, with where it sits in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    /// The record; `record.kafka_offset` is always set.
    pub record: ConnectRecord,
    /// Topic the record was read from, before any transformation renamed it.
    pub original_topic: Arc<str>,
    /// Partition the record was read from.
    pub original_partition: i32,
    /// Offset the record was read from.
    pub original_offset: i64,
}

impl SinkRecord {
    /// The offset of the record in the log.
    pub fn kafka_offset(&self) -> i64 {
        self.original_offset
    }

    /// The partition the record was consumed from, for offset tracking.
    pub fn original_topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.original_topic.clone(), self.original_partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_map_keeps_insertion_order() {
        let m = OffsetMap::new()
            .with("b", 1i64)
            .with("a", "x")
            .with("b", 2i64);
        let keys: Vec<_> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(m.get("b"), Some(&Value::Int64(2)));
    }

    #[test]
    fn offset_map_of_one_entry_grows_and_compares_by_entries() {
        let mut one = OffsetMap::new().with("position", 7i64);
        assert_eq!(one.len(), 1);
        one.insert("position", Value::Int64(8));
        assert_eq!(one.len(), 1);
        assert_eq!(one.get("position"), Some(&Value::Int64(8)));
        let collected: OffsetMap = [("position".to_string(), Value::Int64(8))]
            .into_iter()
            .collect();
        assert_eq!(one, collected);
        one.insert("file", Value::from("a"));
        let entries: Vec<_> = one.iter().collect();
        assert_eq!(
            entries,
            [("position", &Value::Int64(8)), ("file", &Value::from("a"))]
        );
        assert_ne!(one, collected);
        assert!(OffsetMap::new().is_empty());
        assert_eq!(OffsetMap::new(), OffsetMap::default());
        assert_eq!(format!("{collected:?}"), r#"{"position": Int64(8)}"#);
    }
}

//! Helpers every SMT shares: which side of the record it works on, Kafka's requirement checks
//! (with their exact error texts), schema copying, a small cache of rebuilt schemas, and the
//! parsing of an SMT's config into a [`ParsedConfig`] with errors naming the key.

use std::sync::{Mutex, OnceLock};

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, ParsedConfig};
use sluice_api::data::{Schema, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Outcome;

/// The side of a record a `$Key` or `$Value` SMT variant works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// `X$Key`: the record key and key schema.
    Key,
    /// `X$Value`: the record value and value schema.
    Value,
}

impl Operand {
    /// The operand's schema.
    pub fn schema(self, record: &ConnectRecord) -> Option<&SchemaRef> {
        match self {
            Operand::Key => record.key_schema.as_ref(),
            Operand::Value => record.value_schema.as_ref(),
        }
    }

    /// The operand's value.
    pub fn value(self, record: &ConnectRecord) -> &Value {
        match self {
            Operand::Key => &record.key,
            Operand::Value => &record.value,
        }
    }

    /// Takes the operand's schema and value out of the record, leaving null in their place.
    #[inline]
    pub fn take(self, record: &mut ConnectRecord) -> (Option<SchemaRef>, Value) {
        match self {
            Operand::Key => (record.key_schema.take(), std::mem::take(&mut record.key)),
            Operand::Value => (
                record.value_schema.take(),
                std::mem::take(&mut record.value),
            ),
        }
    }

    /// The record with the operand replaced; topic, partition, the other side, timestamp and
    /// headers are kept.
    pub fn with(
        self,
        mut record: ConnectRecord,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> ConnectRecord {
        self.set(&mut record, schema, value);
        record
    }

    /// Replaces the operand in place (cheaper on the hot path than [`Operand::with`], which
    /// moves the whole record twice).
    #[inline]
    pub fn set(self, record: &mut ConnectRecord, schema: Option<SchemaRef>, value: Value) {
        match self {
            Operand::Key => {
                record.key_schema = schema;
                record.key = value;
            }
            Operand::Value => {
                record.value_schema = schema;
                record.value = value;
            }
        }
    }

    /// `Key` or `Value`, as in class names.
    pub fn suffix(self) -> &'static str {
        match self {
            Operand::Key => "Key",
            Operand::Value => "Value",
        }
    }
}

/// Runs a transformation written on owned records (`f` returns the output record, or `None`
/// to drop it) on a record held in place.
pub fn by_value(
    record: &mut ConnectRecord,
    f: impl FnOnce(ConnectRecord) -> Result<Option<ConnectRecord>>,
) -> Result<Outcome> {
    Ok(match f(std::mem::take(record))? {
        Some(output) => {
            *record = output;
            Outcome::Keep
        }
        None => Outcome::Drop,
    })
}

/// Frees a value a transformation discards, as `drop` does, but faster for what records
/// mostly hold: the strings and scalars in a map's entries or a struct's fields are freed in
/// one loop here, where the generated drop code makes a full recursive call per value.
/// Nested maps, structs and arrays are discarded the same way; other values are dropped.
pub fn discard(value: Value) {
    match value {
        Value::Map(entries) => discard_entries(entries),
        Value::Struct(s) => discard_values(s.into_values()),
        other => drop(other),
    }
}

/// [`discard`] for the entries of a map.
pub fn discard_entries(mut entries: Vec<(Value, Value)>) {
    for (key, value) in &mut entries {
        free(key);
        free(value);
    }
    // The entries own no memory any more: forgetting them frees nothing and skips their drop.
    entries.into_iter().for_each(std::mem::forget);
}

/// [`discard`] for the field values of a struct.
pub fn discard_values(mut values: Vec<Value>) {
    for value in &mut values {
        free(value);
    }
    // As in `discard_entries`.
    values.into_iter().for_each(std::mem::forget);
}

/// [`discard`] for the key and value of a record, left null; the rest of the record is the
/// caller's to drop.
pub fn discard_contents(record: &mut ConnectRecord) {
    discard(std::mem::take(&mut record.key));
    discard(std::mem::take(&mut record.value));
}

/// Frees what one value owns, leaving a value that owns nothing in its place.
#[inline(always)]
fn free(value: &mut Value) {
    match value {
        Value::String(text) => drop(std::mem::take(text)),
        Value::Null
        | Value::Boolean(_)
        | Value::Int8(_)
        | Value::Int16(_)
        | Value::Int32(_)
        | Value::Int64(_)
        | Value::Float32(_)
        | Value::Float64(_)
        | Value::Date(_)
        | Value::Time(_)
        | Value::Timestamp(_) => {}
        other => discard(std::mem::take(other)),
    }
}

/// A small table from field names to what a transformation does with them, built at
/// configure time. Most names a record holds are not in the table, and those are answered
/// without comparing any text: the table keeps a bit per name length it holds (lengths of 63
/// bytes and more share one bit), and a name whose length has no bit is not in it.
#[derive(Debug, Clone)]
pub struct NameTable<T> {
    lengths: u64,
    entries: Vec<(Box<str>, T)>,
}

impl<T> Default for NameTable<T> {
    fn default() -> Self {
        NameTable {
            lengths: 0,
            entries: Vec::new(),
        }
    }
}

impl<T> NameTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        NameTable::default()
    }

    /// Adds `name`, or replaces what it maps to if already there.
    pub fn insert(&mut self, name: &str, value: T) {
        match self.entries.iter_mut().find(|(n, _)| **n == *name) {
            Some((_, slot)) => *slot = value,
            None => {
                self.lengths |= length_bit(name.len());
                self.entries.push((name.into(), value));
            }
        }
    }

    /// What `name` maps to, if it is in the table.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&T> {
        if self.lengths & length_bit(name.len()) == 0 {
            return None;
        }
        self.entries
            .iter()
            .find(|(n, _)| n.len() == name.len() && **n == *name)
            .map(|(_, v)| v)
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The bit of [`NameTable::lengths`] for names of `len` bytes.
#[inline(always)]
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// Kafka's `Requirements.requireMap`: the schemaless operand must be a map.
pub fn require_map<'a>(value: &'a Value, purpose: &str) -> Result<&'a Vec<(Value, Value)>> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(ConnectError::data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            class_or_null(other)
        ))),
    }
}

/// Kafka's `Requirements.requireMapOrNull`.
pub fn require_map_or_null<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<Option<&'a Vec<(Value, Value)>>> {
    match value {
        Value::Null => Ok(None),
        other => require_map(other, purpose).map(Some),
    }
}

/// Kafka's `Requirements.requireStruct`: the schema'd operand must be a struct.
pub fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(ConnectError::data(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            class_or_null(other)
        ))),
    }
}

/// Kafka's `Requirements.requireStructOrNull`.
pub fn require_struct_or_null<'a>(value: &'a Value, purpose: &str) -> Result<Option<&'a Struct>> {
    match value {
        Value::Null => Ok(None),
        other => require_struct(other, purpose).map(Some),
    }
}

/// Kafka's `Requirements.requireSchema`.
pub fn require_schema<'a>(schema: Option<&'a SchemaRef>, purpose: &str) -> Result<&'a SchemaRef> {
    schema.ok_or_else(|| ConnectError::data(format!("Schema required for [{purpose}]")))
}

/// The Java class name Kafka prints in requirement errors, or `null`.
pub fn class_or_null(value: &Value) -> &'static str {
    value.type_name()
}

/// Kafka's `SchemaUtil.copySchemaBasics`: a builder of `builder`'s type carrying the name,
/// version, doc and parameters of `source`.
pub fn copy_schema_basics(source: &Schema, mut builder: SchemaBuilder) -> SchemaBuilder {
    if let Some(name) = &source.name {
        builder = builder.name(name.clone());
    }
    if let Some(version) = source.version {
        builder = builder.version(version);
    }
    if let Some(doc) = &source.doc {
        builder = builder.doc(doc.clone());
    }
    for (k, v) in &source.parameters {
        builder = builder.parameter(k.clone(), v.clone());
    }
    builder
}

/// How many rebuilt schemas a transform remembers (Kafka keeps an LRU of 16).
const SCHEMA_CACHE_CAPACITY: usize = 16;

/// Remembers the output schema built for an input schema, so a transform rebuilds a schema
/// once rather than per record, and equal inputs give the very same output `Arc`.
///
/// Lookups compare pointers first (records of one source share their schema `Arc`), then
/// values. The first schema built is also kept aside for good and found without taking the
/// lock (one atomic load), as most transforms only ever see one input schema.
#[derive(Debug, Default)]
pub struct SchemaCache {
    first: OnceLock<(SchemaRef, SchemaRef)>,
    entries: Mutex<Vec<(SchemaRef, SchemaRef)>>,
}

impl SchemaCache {
    /// An empty cache.
    pub fn new() -> Self {
        SchemaCache::default()
    }

    /// The cached output for `input`, or the one `build` makes (then cached). The most recently
    /// used entry moves to the front; the least recently used is evicted past 16 entries
    /// (except the very first one built, which stays).
    pub fn get_or_build(
        &self,
        input: &SchemaRef,
        build: impl FnOnce(&SchemaRef) -> Result<SchemaRef>,
    ) -> Result<SchemaRef> {
        if let Some((first_input, first_output)) = self.first.get() {
            if SchemaRef::ptr_eq(first_input, input) {
                return Ok(first_output.clone());
            }
        }
        {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let hit = entries
                .iter()
                .position(|(k, _)| SchemaRef::ptr_eq(k, input))
                .or_else(|| entries.iter().position(|(k, _)| **k == **input));
            if let Some(i) = hit {
                if i != 0 {
                    let entry = entries.remove(i);
                    entries.insert(0, entry);
                }
                return Ok(entries[0].1.clone());
            }
        }
        let output = build(input)?;
        // Only the first schema built is kept aside; later ones are refused, which is fine.
        let _ = self.first.set((input.clone(), output.clone()));
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(0, (input.clone(), output.clone()));
        entries.truncate(SCHEMA_CACHE_CAPACITY);
        Ok(output)
    }
}

/// Key name of the `replace.null.with.default` setting many SMTs share.
pub const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

/// The `replace.null.with.default` key declaration (KIP-1040).
pub fn replace_null_with_default_key() -> ConfigKey {
    ConfigKey::new(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean)
        .default_value("true")
        .importance(Importance::Medium)
        .doc(
            "Whether a null field whose schema has a default value is replaced by that default \
             when the transform copies it (true), or stays null (false).",
        )
}

/// A struct field's value, honouring `replace.null.with.default`: with `true` a null field
/// reads as its schema default (Kafka's `Struct.get`), with `false` as stored.
pub fn field_value<'a>(
    s: &'a Struct,
    field: &str,
    replace_null_with_default: bool,
) -> Option<&'a Value> {
    if replace_null_with_default {
        s.get(field)
    } else {
        s.get_without_default(field)
    }
}

/// Parses an SMT's own config against its declaration. The first error is returned; its key
/// is the SMT's own key (the runtime adds the `transforms.<alias>.` prefix).
pub fn parse_config(def: &ConfigDef, props: &ConfigMap) -> Result<ParsedConfig> {
    def.parse(props).map_err(|mut errors| {
        if errors.is_empty() {
            ConnectError::connect("invalid transform configuration")
        } else {
            errors.swap_remove(0)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::SchemaType;

    #[test]
    fn requirement_errors_use_kafka_texts() {
        let err = require_map(&Value::Int32(1), "field extraction").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Map objects supported in absence of schema for [field extraction], found: java.lang.Integer"
        );
        let err = require_struct(&Value::Null, "masking").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Struct objects supported for [masking], found: null"
        );
        let err = require_schema(None, "updating schema metadata").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Schema required for [updating schema metadata]"
        );
        assert!(require_map_or_null(&Value::Null, "x").unwrap().is_none());
    }

    #[test]
    fn cache_returns_the_same_output_for_equal_inputs() {
        let cache = SchemaCache::new();
        let a = Schema::required(SchemaType::Int32);
        let b = Schema::required(SchemaType::Int32);
        let mut builds = 0;
        let out1 = cache
            .get_or_build(&a, |_| {
                builds += 1;
                Ok(Schema::optional(SchemaType::String))
            })
            .unwrap();
        let out2 = cache
            .get_or_build(&b, |_| {
                builds += 1;
                Ok(Schema::optional(SchemaType::String))
            })
            .unwrap();
        assert_eq!(builds, 1);
        assert!(SchemaRef::ptr_eq(&out1, &out2));
    }

    #[test]
    fn cache_evicts_least_recently_used() {
        let cache = SchemaCache::new();
        let schemas: Vec<SchemaRef> = (0..=SCHEMA_CACHE_CAPACITY as i32 + 1)
            .map(|v| SchemaBuilder::new(SchemaType::Int32).version(v).build())
            .collect();
        for s in &schemas {
            cache.get_or_build(s, |s| Ok(s.clone())).unwrap();
        }
        let mut rebuilt = false;
        cache
            .get_or_build(&schemas[1], |s| {
                rebuilt = true;
                Ok(s.clone())
            })
            .unwrap();
        assert!(rebuilt, "the oldest entry after the first was evicted");
    }

    #[test]
    fn cache_keeps_the_first_schema_built() {
        let cache = SchemaCache::new();
        let schemas: Vec<SchemaRef> = (0..=SCHEMA_CACHE_CAPACITY as i32 + 1)
            .map(|v| SchemaBuilder::new(SchemaType::Int32).version(v).build())
            .collect();
        let first = cache
            .get_or_build(&schemas[0], |_| Ok(Schema::optional(SchemaType::String)))
            .unwrap();
        for s in &schemas[1..] {
            cache.get_or_build(s, |s| Ok(s.clone())).unwrap();
        }
        let again = cache
            .get_or_build(&schemas[0], |_| panic!("the first schema is not rebuilt"))
            .unwrap();
        assert!(SchemaRef::ptr_eq(&first, &again));
    }

    #[test]
    fn name_table_finds_only_its_names() {
        let long = "x".repeat(70);
        let longer = "x".repeat(71);
        let mut table = NameTable::new();
        assert!(table.is_empty());
        table.insert("note", 1);
        table.insert("country", 2);
        table.insert(&long, 3);
        table.insert("note", 4);
        assert_eq!(table.get("note"), Some(&4));
        assert_eq!(table.get("country"), Some(&2));
        assert_eq!(table.get(&long), Some(&3));
        assert_eq!(table.get(&longer), None, "same length bit, other name");
        assert_eq!(table.get("name"), None, "same length, other name");
        assert_eq!(table.get("id"), None);
        assert_eq!(table.get(""), None);
        table.insert("", 5);
        assert_eq!(table.get(""), Some(&5));
    }

    #[test]
    fn operand_replaces_only_its_side() {
        let mut record = ConnectRecord::new("t", None, Value::from("v"));
        record.key = Value::from("k");
        let out = Operand::Key.with(record, None, Value::from("k2"));
        assert_eq!(out.key, Value::from("k2"));
        assert_eq!(out.value, Value::from("v"));
        assert_eq!(&*out.topic, "t");
    }
}

//! `InsertField$Key` / `InsertField$Value`: adds fields holding the record's topic, partition,
//! offset, timestamp or a fixed text to the key or value.
//!
//! Each `*.field` setting names the field to add; a trailing `!` makes it a required field
//! of the schema'd result, a trailing `?` (or none) an optional one, and the suffix is not part
//! of the name. Schemaless, the key or value must be a map; the entries are added (replacing
//! same-named ones), and partition and timestamp are left out when the record has none.
//! Schema'd, it must be a struct; the new schema keeps the original fields in order and the
//! name, version, doc and parameters, then appends topic (string), partition (int32), offset
//! (int64), timestamp (logical Timestamp) and static (string) fields, in that order. A null key
//! or value passes unchanged. The offset exists only for records read from a topic (sink
//! connectors); a source record with `offset.field` set is an error.
//!
//! ```properties
//! transforms.meta.type=org.apache.kafka.connect.transforms.InsertField$Value
//! transforms.meta.topic.field=source_topic!
//! transforms.meta.static.field=origin
//! transforms.meta.static.value=sluice
//! ```

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_api::data::{LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::util::{
    self, copy_schema_basics, replace_null_with_default_key, require_map, require_struct, Operand,
    SchemaCache, REPLACE_NULL_WITH_DEFAULT,
};

const TOPIC_FIELD: &str = "topic.field";
const PARTITION_FIELD: &str = "partition.field";
const OFFSET_FIELD: &str = "offset.field";
const TIMESTAMP_FIELD: &str = "timestamp.field";
const STATIC_FIELD: &str = "static.field";
const STATIC_VALUE: &str = "static.value";
const PURPOSE: &str = "field insertion";

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.InsertField$Key",
            config_def,
            create: |props| InsertField::create(props, Operand::Key),
        },
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.InsertField$Value",
            config_def,
            create: |props| InsertField::create(props, Operand::Value),
        },
    ]
}

fn field_key(name: &str, what: &str) -> ConfigKey {
    ConfigKey::new(name, ConfigType::String)
        .default_null()
        .importance(Importance::Medium)
        .doc(format!(
            "Name of the field that receives {what}; unset adds no such field. End the name \
             with `!` for a required field in schema'd data, or with `?` (or nothing) for an \
             optional one."
        ))
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(field_key(TOPIC_FIELD, "the record's topic name"))
        .define(field_key(
            PARTITION_FIELD,
            "the record's Kafka partition (left out when the record has none)",
        ))
        .define(field_key(
            OFFSET_FIELD,
            "the record's offset in its topic partition (sink connectors only: records of \
             source connectors have no offset yet, and fail)",
        ))
        .define(field_key(
            TIMESTAMP_FIELD,
            "the record's timestamp, in epoch milliseconds schemaless and as a logical \
             Timestamp schema'd (left out when the record has none)",
        ))
        .define(field_key(STATIC_FIELD, "the text of `static.value`"))
        .define(
            ConfigKey::new(STATIC_VALUE, ConfigType::String)
                .default_null()
                .importance(Importance::Medium)
                .doc("The text written to `static.field`; required when `static.field` is set."),
        )
        .define(replace_null_with_default_key())
}

/// One field to insert: its name and whether the schema'd field is optional.
#[derive(Debug, Clone)]
struct InsertionSpec {
    name: String,
    optional: bool,
}

impl InsertionSpec {
    /// Reads `name`, `name!` (required) or `name?` (optional).
    fn parse(spec: Option<&str>) -> Option<Self> {
        let spec = spec?;
        Some(if let Some(name) = spec.strip_suffix('?') {
            InsertionSpec {
                name: name.to_owned(),
                optional: true,
            }
        } else if let Some(name) = spec.strip_suffix('!') {
            InsertionSpec {
                name: name.to_owned(),
                optional: false,
            }
        } else {
            InsertionSpec {
                name: spec.to_owned(),
                optional: true,
            }
        })
    }

    /// The schema of the field: `required` or its optional twin.
    fn schema(&self, schema_type: SchemaType) -> SchemaRef {
        if self.optional {
            Schema::optional(schema_type)
        } else {
            Schema::required(schema_type)
        }
    }
}

/// The configured transform.
#[derive(Debug)]
struct InsertField {
    operand: Operand,
    topic: Option<InsertionSpec>,
    partition: Option<InsertionSpec>,
    offset: Option<InsertionSpec>,
    timestamp: Option<InsertionSpec>,
    /// The static field and its text.
    fixed: Option<(InsertionSpec, String)>,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

impl InsertField {
    fn create(props: &ConfigMap, operand: Operand) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&config_def(), props)?;
        let spec = |key| InsertionSpec::parse(config.string(key));
        let topic = spec(TOPIC_FIELD);
        let partition = spec(PARTITION_FIELD);
        let offset = spec(OFFSET_FIELD);
        let timestamp = spec(TIMESTAMP_FIELD);
        let static_spec = config.string(STATIC_FIELD);
        if topic.is_none()
            && partition.is_none()
            && offset.is_none()
            && timestamp.is_none()
            && static_spec.is_none()
        {
            return Err(ConnectError::config(
                TOPIC_FIELD,
                "No field insertion configured",
            ));
        }
        let fixed = match (static_spec, config.string(STATIC_VALUE)) {
            (None, _) => None,
            (Some(text), Some(value)) => {
                InsertionSpec::parse(Some(text)).map(|spec| (spec, value.to_owned()))
            }
            (Some(text), None) => {
                return Err(ConnectError::config(
                    STATIC_VALUE,
                    format!(
                        "Invalid value null for configuration {STATIC_VALUE}: No value \
                         specified for static field: {text}"
                    ),
                ))
            }
        };
        Ok(Box::new(InsertField {
            operand,
            topic,
            partition,
            offset,
            timestamp,
            fixed,
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            schemas: SchemaCache::new(),
        }))
    }

    /// The record's offset, which only records read from a topic have.
    fn offset_of(record: &ConnectRecord) -> Result<i64> {
        record.kafka_offset.ok_or_else(|| {
            ConnectError::data(format!(
                "Only SinkRecord supported for [{PURPOSE}], found: \
                 org.apache.kafka.connect.source.SourceRecord"
            ))
        })
    }

    fn insert_into_map(
        &self,
        record: &ConnectRecord,
        entries: &mut Vec<(Value, Value)>,
    ) -> Result<()> {
        // Grown by exactly the fields added: a map read from JSON has no spare room, and an
        // allocator often grows a block by one entry in place, where doubling moves it.
        let inserted = [
            self.topic.is_some(),
            self.partition.is_some(),
            self.offset.is_some(),
            self.timestamp.is_some(),
            self.fixed.is_some(),
        ];
        entries.reserve_exact(inserted.iter().filter(|&&set| set).count());
        if let Some(spec) = &self.topic {
            put(entries, &spec.name, Value::String(record.topic.to_string()));
        }
        if let (Some(spec), Some(partition)) = (&self.partition, record.kafka_partition) {
            put(entries, &spec.name, Value::Int32(partition));
        }
        if let Some(spec) = &self.offset {
            put(entries, &spec.name, Value::Int64(Self::offset_of(record)?));
        }
        if let (Some(spec), Some(timestamp)) = (&self.timestamp, record.timestamp) {
            put(entries, &spec.name, Value::Int64(timestamp));
        }
        if let Some((spec, text)) = &self.fixed {
            put(entries, &spec.name, Value::String(text.clone()));
        }
        Ok(())
    }

    /// The struct schema with the inserted fields appended.
    fn updated_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut builder = copy_schema_basics(schema, SchemaBuilder::struct_());
        for field in &schema.fields {
            builder = builder.field(field.name.clone(), field.schema.clone())?;
        }
        if let Some(spec) = &self.topic {
            builder = builder.field(spec.name.clone(), spec.schema(SchemaType::String))?;
        }
        if let Some(spec) = &self.partition {
            builder = builder.field(spec.name.clone(), spec.schema(SchemaType::Int32))?;
        }
        if let Some(spec) = &self.offset {
            builder = builder.field(spec.name.clone(), spec.schema(SchemaType::Int64))?;
        }
        if let Some(spec) = &self.timestamp {
            let timestamp = if spec.optional {
                LogicalType::Timestamp.builder().optional().build()
            } else {
                LogicalType::Timestamp.schema()
            };
            builder = builder.field(spec.name.clone(), timestamp)?;
        }
        if let Some((spec, _)) = &self.fixed {
            builder = builder.field(spec.name.clone(), spec.schema(SchemaType::String))?;
        }
        Ok(builder.build())
    }

    fn insert_into_struct(
        &self,
        record: &ConnectRecord,
        value: Struct,
    ) -> Result<(SchemaRef, Struct)> {
        let updated = self
            .schemas
            .get_or_build(value.schema(), |schema| self.updated_schema(schema))?;
        let original = value.schema().clone();
        let copied = original.fields.len();
        let mut values = value.into_values();
        if self.replace_null_with_default {
            for (v, field) in values.iter_mut().zip(&original.fields) {
                if let (Value::Null, Some(default)) = (&*v, &field.schema.default) {
                    *v = default.clone();
                }
            }
        }
        values.reserve_exact(updated.fields.len().saturating_sub(copied));
        if self.topic.is_some() {
            values.push(Value::String(record.topic.to_string()));
        }
        if self.partition.is_some() {
            values.push(record.kafka_partition.map_or(Value::Null, Value::Int32));
        }
        if self.offset.is_some() {
            values.push(Value::Int64(Self::offset_of(record)?));
        }
        if self.timestamp.is_some() {
            values.push(record.timestamp.map_or(Value::Null, Value::Timestamp));
        }
        if let Some((_, text)) = &self.fixed {
            values.push(Value::String(text.clone()));
        }
        let unset_required = updated
            .fields
            .iter()
            .zip(&values)
            .skip(copied)
            .any(|(field, v)| v.is_null() && !field.schema.optional);
        let inserted = if unset_required {
            // A required partition or timestamp field of a record without one stays unset
            // (the struct fails validation later, when it is converted), as in Kafka.
            let mut out = Struct::new(updated.clone())?;
            for (i, (field, v)) in updated.fields.iter().zip(values).enumerate() {
                if i < copied || !v.is_null() {
                    out.put(&field.name, v)?;
                }
            }
            out
        } else {
            // The copied fields keep their schemas: only the inserted values are checked.
            Struct::from_values_checking(updated.clone(), values, |i| i >= copied)?
        };
        Ok((updated, inserted))
    }
}

/// Sets a map entry by string key: replaced in place when present, appended otherwise.
fn put(entries: &mut Vec<(Value, Value)>, name: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(name)) {
        Some(entry) => entry.1 = value,
        None => entries.push((Value::String(name.to_owned()), value)),
    }
}

impl Transformation for InsertField {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if self.operand.value(record).is_null() {
            return Ok(Outcome::Keep);
        }
        let (schema, value) = self.operand.take(record);
        let (schema, value) = match (schema, value) {
            (None, Value::Map(mut entries)) => {
                self.insert_into_map(record, &mut entries)?;
                (None, Value::Map(entries))
            }
            (None, other) => {
                require_map(&other, PURPOSE)?;
                (None, other)
            }
            (Some(_), Value::Struct(s)) => {
                let (schema, s) = self.insert_into_struct(record, s)?;
                (Some(schema), Value::Struct(s))
            }
            (Some(schema), other) => {
                require_struct(&other, PURPOSE)?;
                (Some(schema), other)
            }
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn xform(operand: Operand, pairs: &[(&str, &str)]) -> Box<dyn Transformation> {
        InsertField::create(&props(pairs), operand).unwrap()
    }

    const ALL: &[(&str, &str)] = &[
        ("topic.field", "topic_field!"),
        ("partition.field", "partition_field"),
        ("timestamp.field", "timestamp_field?"),
        ("static.field", "instance_id"),
        ("static.value", "my-instance-id"),
    ];

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    fn source_record(
        schema: Option<SchemaRef>,
        value: Value,
        timestamp: Option<i64>,
    ) -> ConnectRecord {
        let mut record = ConnectRecord::new("test", schema, value);
        record.kafka_partition = Some(0);
        record.timestamp = timestamp;
        record
    }

    fn simple_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .name("name")
            .version(1)
            .doc("doc")
            .field("magic", Schema::optional(SchemaType::Int64))
            .unwrap()
            .build()
    }

    #[test]
    fn top_level_struct_required() {
        let x = xform(Operand::Value, &[("topic.field", "topic_field")]);
        let err = x
            .apply_owned(source_record(
                Some(Schema::required(SchemaType::Int32)),
                Value::Int32(42),
                None,
            ))
            .unwrap_err();
        assert!(err.is_data());
        assert_eq!(
            err.to_string(),
            "Only Struct objects supported for [field insertion], found: java.lang.Integer"
        );
        let err = x
            .apply_owned(source_record(None, Value::Int32(42), None))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Map objects supported in absence of schema for [field insertion], found: java.lang.Integer"
        );
    }

    #[test]
    fn copies_schema_and_inserts_configured_fields() {
        let x = xform(Operand::Value, ALL);
        let schema = simple_schema();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("magic", 42i64)
            .unwrap();
        let out = x
            .apply_owned(source_record(
                Some(schema.clone()),
                Value::Struct(value),
                Some(789),
            ))
            .unwrap()
            .unwrap();
        let out_schema = out.value_schema.clone().unwrap();
        assert_eq!(out_schema.name.as_deref(), Some("name"));
        assert_eq!(out_schema.version, Some(1));
        assert_eq!(out_schema.doc.as_deref(), Some("doc"));
        let field_schema = |name: &str| out_schema.field(name).unwrap().schema.clone();
        assert_eq!(field_schema("magic"), Schema::optional(SchemaType::Int64));
        assert_eq!(
            field_schema("topic_field"),
            Schema::required(SchemaType::String)
        );
        assert_eq!(
            field_schema("partition_field"),
            Schema::optional(SchemaType::Int32)
        );
        assert_eq!(
            field_schema("timestamp_field"),
            LogicalType::Timestamp.builder().optional().build()
        );
        assert_eq!(
            field_schema("instance_id"),
            Schema::optional(SchemaType::String)
        );
        let names: Vec<_> = out_schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "magic",
                "topic_field",
                "partition_field",
                "timestamp_field",
                "instance_id"
            ]
        );
        let Value::Struct(s) = &out.value else {
            panic!("not a struct")
        };
        assert_eq!(
            s.values(),
            [
                Value::Int64(42),
                Value::from("test"),
                Value::Int32(0),
                Value::Timestamp(789),
                Value::from("my-instance-id"),
            ]
        );
        // The schema is built once per input schema.
        let again = x
            .apply_owned(source_record(
                Some(schema.clone()),
                Value::Struct(Struct::new(schema).unwrap()),
                None,
            ))
            .unwrap()
            .unwrap();
        assert!(SchemaRef::ptr_eq(
            &out_schema,
            again.value_schema.as_ref().unwrap()
        ));
    }

    #[test]
    fn schemaless_inserts_configured_fields() {
        let x = xform(Operand::Value, ALL);
        let out = x
            .apply_owned(source_record(
                None,
                map(vec![("magic", Value::Int64(42))]),
                Some(123),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.value_schema, None);
        assert_eq!(
            out.value,
            map(vec![
                ("magic", Value::Int64(42)),
                ("topic_field", Value::from("test")),
                ("partition_field", Value::Int32(0)),
                ("timestamp_field", Value::Int64(123)),
                ("instance_id", Value::from("my-instance-id")),
            ])
        );
    }

    #[test]
    fn schemaless_replaces_same_named_entries_and_skips_what_the_record_lacks() {
        let x = xform(Operand::Value, ALL);
        let mut record = source_record(
            None,
            map(vec![
                ("topic_field", Value::from("old")),
                ("x", Value::Int32(1)),
            ]),
            None,
        );
        record.kafka_partition = None;
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("topic_field", Value::from("test")),
                ("x", Value::Int32(1)),
                ("instance_id", Value::from("my-instance-id")),
            ])
        );
    }

    #[test]
    fn tombstones_pass_unchanged() {
        let x = xform(Operand::Value, ALL);
        let out = x
            .apply_owned(source_record(None, Value::Null, None))
            .unwrap()
            .unwrap();
        assert_eq!((out.value_schema, out.value), (None, Value::Null));
        let out = x
            .apply_owned(source_record(Some(simple_schema()), Value::Null, None))
            .unwrap()
            .unwrap();
        assert_eq!(out.value_schema, Some(simple_schema()));
        assert_eq!(out.value, Value::Null);
    }

    #[test]
    fn key_variant() {
        let x = xform(Operand::Key, ALL);
        let mut record = source_record(None, Value::Null, None);
        record.key = map(vec![("magic", Value::Int64(42))]);
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(
            out.key,
            map(vec![
                ("magic", Value::Int64(42)),
                ("topic_field", Value::from("test")),
                ("partition_field", Value::Int32(0)),
                ("instance_id", Value::from("my-instance-id")),
            ])
        );
        assert_eq!(out.value, Value::Null);
        let unchanged = source_record(None, map(vec![("magic", Value::Int64(42))]), None);
        assert_eq!(
            x.apply_owned(unchanged.clone()).unwrap().unwrap(),
            unchanged
        );
    }

    #[test]
    fn offset_needs_a_record_read_from_a_topic() {
        let x = xform(Operand::Value, &[("offset.field", "offset!")]);
        for schema in [None, Some(simple_schema())] {
            let value = match schema {
                None => map(vec![]),
                Some(ref s) => Value::Struct(Struct::new(s.clone()).unwrap()),
            };
            let err = x
                .apply_owned(source_record(schema.clone(), value.clone(), None))
                .unwrap_err();
            assert!(err.is_data());
            assert_eq!(
                err.to_string(),
                "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord"
            );
            let mut sink = source_record(schema.clone(), value, None);
            sink.kafka_offset = Some(17);
            let out = x.apply_owned(sink).unwrap().unwrap();
            match out.value {
                Value::Map(entries) => {
                    assert_eq!(entries, [(Value::from("offset"), Value::Int64(17))])
                }
                Value::Struct(s) => {
                    assert_eq!(s.get("offset"), Some(&Value::Int64(17)));
                    assert_eq!(
                        s.schema().field("offset").unwrap().schema,
                        Schema::required(SchemaType::Int64)
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn required_field_the_record_lacks_is_left_unset() {
        let x = xform(
            Operand::Value,
            &[("timestamp.field", "ts!"), ("partition.field", "p!")],
        );
        let schema = simple_schema();
        let mut record = source_record(
            Some(schema.clone()),
            Value::Struct(Struct::new(schema).unwrap()),
            None,
        );
        record.kafka_partition = None;
        let out = x.apply_owned(record).unwrap().unwrap();
        let Value::Struct(s) = out.value else {
            panic!("not a struct")
        };
        assert_eq!(
            s.schema().field("ts").unwrap().schema,
            LogicalType::Timestamp.schema()
        );
        assert_eq!(s.get("ts"), Some(&Value::Null));
        assert_eq!(s.get("p"), Some(&Value::Null));
        assert!(s.validate().is_err(), "the struct is invalid, as in Kafka");
    }

    #[test]
    fn inserted_name_clashing_with_a_field_fails() {
        let x = xform(Operand::Value, &[("topic.field", "magic")]);
        let schema = simple_schema();
        let err = x
            .apply_owned(source_record(
                Some(schema.clone()),
                Value::Struct(Struct::new(schema).unwrap()),
                None,
            ))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot create field because of field name duplication magic"
        );
    }

    #[test]
    fn replace_null_with_default() {
        let magic = SchemaBuilder::new(SchemaType::Int64)
            .optional()
            .default_value(Value::Int64(42))
            .unwrap()
            .build();
        let schema = SchemaBuilder::struct_()
            .field("magic_with_default", magic.clone())
            .unwrap()
            .build();
        for (setting, expected) in [("true", Value::Int64(42)), ("false", Value::Null)] {
            let mut pairs = ALL.to_vec();
            pairs.push(("replace.null.with.default", setting));
            let x = xform(Operand::Value, &pairs);
            let out = x
                .apply_owned(source_record(
                    Some(schema.clone()),
                    Value::Struct(Struct::new(schema.clone()).unwrap()),
                    Some(789),
                ))
                .unwrap()
                .unwrap();
            let Value::Struct(s) = out.value else {
                panic!("not a struct")
            };
            assert_eq!(
                s.schema().field("magic_with_default").unwrap().schema,
                magic
            );
            assert_eq!(s.get_without_default("magic_with_default"), Some(&expected));
        }
    }

    #[test]
    fn config_errors() {
        let err = |pairs: &[(&str, &str)]| {
            InsertField::create(&props(pairs), Operand::Value)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[]),
            "invalid configuration for 'topic.field': No field insertion configured"
        );
        assert_eq!(
            err(&[("static.field", "instance_id!")]),
            "invalid configuration for 'static.value': Invalid value null for configuration static.value: No value specified for static field: instance_id!"
        );
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(
            names,
            [
                "org.apache.kafka.connect.transforms.InsertField$Key",
                "org.apache.kafka.connect.transforms.InsertField$Value"
            ]
        );
    }
}

//! The header transforms: `DropHeaders`, `HeaderFrom$Key` / `HeaderFrom$Value` and
//! `InsertHeader`. Headers are an ordered list in which a key may repeat; these transforms
//! append to it or remove from it and leave key, value and topic alone (except `HeaderFrom`
//! with `operation=move`).
//!
//! - `DropHeaders` removes every header whose key is listed in `headers`.
//! - `HeaderFrom` copies (`operation=copy`) or moves (`operation=move`, removing them from the
//!   key or value) the listed `fields` into headers named by the same position in `headers`.
//!   Schemaless, the key or value must be a map and the headers have no schema; schema'd, it
//!   must be a struct and each header takes its field's schema. A null key or value is an
//!   error. Headers already present with those names stay; the new ones are appended.
//! - `InsertHeader` appends the header `header` with the value `value.literal`, whose type is
//!   inferred by [`sluice_api::data::values::parse_string`], the parser SimpleHeaderConverter
//!   reads header text with (`1` is an int8, `true` a boolean, `2024-01-02` a Date, `[1,2]` an
//!   array, anything else a string).
//!
//! ```properties
//! transforms=fromValue,origin
//! transforms.fromValue.type=org.apache.kafka.connect.transforms.HeaderFrom$Value
//! transforms.fromValue.fields=id,ts
//! transforms.fromValue.headers=record-id,record-ts
//! transforms.fromValue.operation=copy
//! transforms.origin.type=org.apache.kafka.connect.transforms.InsertHeader
//! transforms.origin.header=origin
//! transforms.origin.value.literal=sluice
//! ```

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValue, Importance, Validator,
};
use sluice_api::data::values::parse_string;
use sluice_api::data::{Field, Headers, Schema, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::util::{
    self, copy_schema_basics, replace_null_with_default_key, require_map, require_struct, Operand,
    SchemaCache, REPLACE_NULL_WITH_DEFAULT,
};

const HEADERS: &str = "headers";
const FIELDS: &str = "fields";
const OPERATION: &str = "operation";
const HEADER: &str = "header";
const VALUE_LITERAL: &str = "value.literal";

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.DropHeaders",
            config_def: drop_headers_def,
            create: DropHeaders::create,
        },
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.HeaderFrom$Key",
            config_def: header_from_def,
            create: |props| HeaderFrom::create(props, Operand::Key),
        },
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.HeaderFrom$Value",
            config_def: header_from_def,
            create: |props| HeaderFrom::create(props, Operand::Value),
        },
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.InsertHeader",
            config_def: insert_header_def,
            create: InsertHeader::create,
        },
    ]
}

/// Kafka's `NonEmptyListValidator`: a LIST setting needs at least one item.
pub(crate) fn non_empty_list(_key: &str, value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::List(items) if !items.is_empty() => Ok(()),
        _ => Err("Empty list".to_owned()),
    }
}

fn drop_headers_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(HEADERS, ConfigType::List)
            .validator(Validator::Custom(non_empty_list))
            .importance(Importance::High)
            .doc(
                "Comma-separated header keys to remove; every header with one of these keys \
                 goes, keys not present are ignored.",
            ),
    )
}

/// `DropHeaders`: removes the listed headers.
#[derive(Debug)]
struct DropHeaders {
    /// The keys to remove, each once.
    keys: Vec<String>,
}

impl DropHeaders {
    fn create(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&drop_headers_def(), props)?;
        let mut keys: Vec<String> = Vec::new();
        for key in config.list(HEADERS) {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        Ok(Box::new(DropHeaders { keys }))
    }
}

impl Transformation for DropHeaders {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if !record.headers.is_empty() {
            for key in &self.keys {
                record.headers.remove(key);
            }
        }
        Ok(Outcome::Keep)
    }
}

fn header_from_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELDS, ConfigType::List)
                .validator(Validator::Custom(non_empty_list))
                .importance(Importance::High)
                .doc("Comma-separated names of the fields to copy or move into headers."),
        )
        .define(
            ConfigKey::new(HEADERS, ConfigType::List)
                .validator(Validator::Custom(non_empty_list))
                .importance(Importance::High)
                .doc(
                    "Comma-separated header names, one per entry of `fields` and in the same \
                     order: the n-th field goes to the n-th header.",
                ),
        )
        .define(
            ConfigKey::new(OPERATION, ConfigType::String)
                .validator(Validator::OneOf(vec!["move", "copy"]))
                .importance(Importance::High)
                .doc(
                    "`copy` leaves the fields in the key or value; `move` removes them from it \
                     (schema'd data gets a schema without them).",
                ),
        )
        .define(replace_null_with_default_key())
}

/// Whether `HeaderFrom` removes the fields it copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Copy,
    Move,
}

/// `HeaderFrom`: fields of the key or value into headers.
#[derive(Debug)]
struct HeaderFrom {
    operand: Operand,
    /// Pairs of field name and header name.
    mappings: Vec<(String, String)>,
    /// For each mapping, whether a later one reads the same field (so this one clones the
    /// value instead of moving it out).
    read_again: Vec<bool>,
    operation: Operation,
    /// `header move` or `header copy`, as Kafka's requirement errors name it.
    purpose: &'static str,
    replace_null_with_default: bool,
    moved_schemas: SchemaCache,
}

impl HeaderFrom {
    fn create(props: &ConfigMap, operand: Operand) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&header_from_def(), props)?;
        let fields = config.list(FIELDS);
        let headers = config.list(HEADERS);
        if fields.len() != headers.len() {
            return Err(ConnectError::config(
                HEADERS,
                format!(
                    "'{FIELDS}' config must have the same number of elements as '{HEADERS}' \
                     config."
                ),
            ));
        }
        let (operation, purpose) = match config.string(OPERATION) {
            Some("move") => (Operation::Move, "header move"),
            _ => (Operation::Copy, "header copy"),
        };
        let read_again = (0..fields.len())
            .map(|i| fields[i + 1..].contains(&fields[i]))
            .collect();
        Ok(Box::new(HeaderFrom {
            operand,
            mappings: fields
                .iter()
                .cloned()
                .zip(headers.iter().cloned())
                .collect(),
            read_again,
            operation,
            purpose,
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            moved_schemas: SchemaCache::new(),
        }))
    }

    fn headers_from_map(&self, headers: &mut Headers, mut entries: Vec<(Value, Value)>) -> Value {
        for (i, (field, header)) in self.mappings.iter().enumerate() {
            let position = entries.iter().position(|(k, _)| k.as_str() == Some(field));
            let value = match position {
                None => Value::Null,
                Some(p) if self.operation == Operation::Move && !self.read_again[i] => {
                    entries.remove(p).1
                }
                Some(p) => entries[p].1.clone(),
            };
            headers.add(header.clone(), None, value);
        }
        Value::Map(entries)
    }

    /// The struct's schema without the moved fields.
    fn moved_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut builder = copy_schema_basics(schema, SchemaBuilder::struct_());
        for field in &schema.fields {
            if !self.is_listed(&field.name) {
                builder = builder.field(field.name.clone(), field.schema.clone())?;
            }
        }
        Ok(builder.build())
    }

    fn is_listed(&self, field: &str) -> bool {
        self.mappings.iter().any(|(f, _)| f == field)
    }

    fn headers_from_struct(
        &self,
        headers: &mut Headers,
        value: Struct,
    ) -> Result<(SchemaRef, Value)> {
        match self.operation {
            Operation::Copy => {
                for (field_name, header) in &self.mappings {
                    let field = listed_field(value.schema(), field_name)?;
                    // The field's value as `util::field_value` reads it, found by its index.
                    let header_value = match value.values().get(field.index) {
                        Some(Value::Null) | None if self.replace_null_with_default => {
                            field.schema.default.clone().unwrap_or_default()
                        }
                        stored => stored.cloned().unwrap_or_default(),
                    };
                    add_header(headers, header, &field.schema, header_value)?;
                }
                Ok((value.schema().clone(), Value::Struct(value)))
            }
            Operation::Move => {
                let schema = value.schema().clone();
                let moved = self
                    .moved_schemas
                    .get_or_build(&schema, |s| self.moved_schema(s))?;
                let mut values = value.into_values();
                if self.replace_null_with_default {
                    for (v, field) in values.iter_mut().zip(&schema.fields) {
                        if let (Value::Null, Some(default)) = (&*v, &field.schema.default) {
                            *v = default.clone();
                        }
                    }
                }
                let kept = schema
                    .fields
                    .iter()
                    .filter(|f| !self.is_listed(&f.name))
                    .map(|f| std::mem::take(&mut values[f.index]))
                    .collect();
                // The kept fields keep their schemas (the struct's own), so their values need
                // no new check.
                let out = Struct::from_values_unchecked(moved.clone(), kept)?;
                for (i, (field_name, header)) in self.mappings.iter().enumerate() {
                    let field = listed_field(&schema, field_name)?;
                    let header_value = if self.read_again[i] {
                        values[field.index].clone()
                    } else {
                        std::mem::take(&mut values[field.index])
                    };
                    add_header(headers, header, &field.schema, header_value)?;
                }
                Ok((moved, Value::Struct(out)))
            }
        }
    }
}

/// A listed field of the struct schema (Kafka fails with a NullPointerException when the
/// field is missing; this names it).
fn listed_field<'a>(schema: &'a Schema, name: &str) -> Result<&'a Field> {
    schema
        .field(name)
        .ok_or_else(|| ConnectError::data(format!("Field does not exist: {name}")))
}

/// Appends a schema'd header; a null value needs an optional schema, as Kafka's headers check.
fn add_header(headers: &mut Headers, key: &str, schema: &SchemaRef, value: Value) -> Result<()> {
    if value.is_null() && !schema.optional {
        return Err(ConnectError::data(format!(
            "A null value requires an optional schema but was {}",
            schema_text(schema)
        )));
    }
    headers.add(key, Some(schema.clone()), value);
    Ok(())
}

/// Kafka's `ConnectSchema.toString`: `Schema{name:TYPE}`, or `Schema{TYPE}` without a name.
fn schema_text(schema: &Schema) -> String {
    match &schema.name {
        Some(name) => format!("Schema{{{name}:{}}}", schema.schema_type),
        None => format!("Schema{{{}}}", schema.schema_type),
    }
}

impl Transformation for HeaderFrom {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let (schema, value) = self.operand.take(record);
        let (schema, value) = match (schema, value) {
            (None, Value::Map(entries)) => {
                (None, self.headers_from_map(&mut record.headers, entries))
            }
            (None, other) => {
                require_map(&other, self.purpose)?;
                (None, other)
            }
            (Some(_), Value::Struct(s)) => {
                let (schema, value) = self.headers_from_struct(&mut record.headers, s)?;
                (Some(schema), value)
            }
            (Some(schema), other) => {
                require_struct(&other, self.purpose)?;
                (Some(schema), other)
            }
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

fn insert_header_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(HEADER, ConfigType::String)
                .importance(Importance::High)
                .doc("Key of the header to append."),
        )
        .define(
            ConfigKey::new(VALUE_LITERAL, ConfigType::String)
                .importance(Importance::High)
                .doc(
                    "Value of the header, as text. Its type is inferred as the default header \
                     converter infers header text: `true`/`false` are booleans, whole numbers \
                     the smallest integer type that holds them (`1` is an int8), other numbers \
                     float32, `yyyy-MM-dd` a Date, `[..]` and `{..}` arrays and maps, `null` no \
                     value, and anything else a string.",
                ),
        )
}

/// `InsertHeader`: appends one fixed header.
#[derive(Debug)]
struct InsertHeader {
    key: String,
    schema: Option<SchemaRef>,
    value: Value,
}

impl InsertHeader {
    fn create(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&insert_header_def(), props)?;
        let literal = parse_string(config.string(VALUE_LITERAL).unwrap_or_default());
        Ok(Box::new(InsertHeader {
            key: config.string(HEADER).unwrap_or_default().to_owned(),
            schema: literal.schema,
            value: literal.value,
        }))
    }
}

impl Transformation for InsertHeader {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        record
            .headers
            .add(self.key.clone(), self.schema.clone(), self.value.clone());
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{Header, LogicalType, SchemaType};

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn plugin(class: &str) -> TransformationPlugin {
        plugins()
            .into_iter()
            .find(|p| p.class_name == format!("org.apache.kafka.connect.transforms.{class}"))
            .unwrap()
    }

    fn create(class: &str, pairs: &[(&str, &str)]) -> Result<Box<dyn Transformation>> {
        (plugin(class).create)(&props(pairs))
    }

    fn config_error(class: &str, pairs: &[(&str, &str)]) -> String {
        create(class, pairs).map(|_| ()).unwrap_err().to_string()
    }

    fn header_list(headers: &Headers) -> Vec<(String, Option<SchemaRef>, Value)> {
        headers
            .iter()
            .map(|h| (h.key.clone(), h.schema.clone(), h.value.clone()))
            .collect()
    }

    fn string_header(key: &str, value: &str) -> (String, Option<SchemaRef>, Value) {
        (
            key.to_owned(),
            Some(Schema::optional(SchemaType::String)),
            Value::from(value),
        )
    }

    #[test]
    fn drop_headers_removes_every_listed_key() {
        let x = create("DropHeaders", &[("headers", "a, c,a")]).unwrap();
        let mut record = ConnectRecord::new("t", None, Value::from("v"));
        record.key = Value::from("k");
        for (k, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("d", "5")] {
            record.headers.add_string(k, v);
        }
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(
            header_list(&out.headers),
            [string_header("b", "2"), string_header("d", "5")]
        );
        assert_eq!((out.key, out.value), (Value::from("k"), Value::from("v")));
        let none = x
            .apply_owned(ConnectRecord::new("t", None, Value::Null))
            .unwrap()
            .unwrap();
        assert!(none.headers.is_empty());
    }

    #[test]
    fn drop_headers_needs_a_non_empty_list() {
        assert_eq!(
            config_error("DropHeaders", &[("headers", "")]),
            "invalid configuration for 'headers': Invalid value  for configuration headers: Empty list"
        );
        assert_eq!(
            config_error("DropHeaders", &[]),
            "invalid configuration for 'headers': Missing required configuration \"headers\" which has no default value."
        );
    }

    fn string_field_schema() -> SchemaRef {
        Schema::required(SchemaType::String)
    }

    fn defaulted_string() -> SchemaRef {
        SchemaBuilder::new(SchemaType::String)
            .default_value(Value::from("default"))
            .unwrap()
            .optional()
            .build()
    }

    /// A record whose key or value holds the given fields, with one existing header.
    fn header_from_record(
        operand: Operand,
        fields: &[(&str, SchemaRef, Value)],
        schemaless: bool,
    ) -> ConnectRecord {
        let (schema, data) = if schemaless {
            let entries = fields
                .iter()
                .map(|(name, _, v)| (Value::from(*name), v.clone()))
                .collect();
            (None, Value::Map(entries))
        } else {
            let mut builder = SchemaBuilder::struct_();
            for (name, s, _) in fields {
                builder = builder.field(*name, s.clone()).unwrap();
            }
            let schema = builder.build();
            let values = fields.iter().map(|(_, _, v)| v.clone()).collect();
            let s = Struct::from_values(schema.clone(), values).unwrap();
            (Some(schema), Value::Struct(s))
        };
        let mut record = ConnectRecord::new("topic", None, Value::from("value"));
        record.key = Value::from("key");
        record.kafka_partition = Some(0);
        record.timestamp = Some(0);
        record = operand.with(record, schema, data);
        record.headers.add(
            "header1",
            (!schemaless).then(string_field_schema),
            Value::from("existing-value"),
        );
        record
    }

    struct Case {
        name: &'static str,
        fields: &'static str,
        headers: &'static str,
        operation: &'static str,
        replace_null_with_default: &'static str,
        /// Fields of the input.
        input: Vec<(&'static str, SchemaRef, Value)>,
        /// Fields of the expected output.
        output: Vec<(&'static str, SchemaRef, Value)>,
        /// Headers appended: name, schema (schema'd runs), value.
        added: Vec<(&'static str, SchemaRef, Value)>,
    }

    fn cases() -> Vec<Case> {
        let f1 = || ("field1", string_field_schema(), Value::from("field1-value"));
        let f2 = || ("field2", string_field_schema(), Value::from("field2-value"));
        let struct_schema = SchemaBuilder::struct_()
            .field("foo", string_field_schema())
            .unwrap()
            .build();
        let struct_value = Value::Struct(
            Struct::new(struct_schema.clone())
                .unwrap()
                .with("foo", "foo-value")
                .unwrap(),
        );
        let s1 = || ("field1", struct_schema.clone(), struct_value.clone());
        let d1 = || ("field1", defaulted_string(), Value::from("field1-value"));
        let d2 = || ("field2", defaulted_string(), Value::Null);
        let h =
            |name: &'static str, field: (&'static str, SchemaRef, Value)| (name, field.1, field.2);
        vec![
            Case {
                name: "basic copy",
                fields: "field1",
                headers: "inserted1",
                operation: "copy",
                replace_null_with_default: "true",
                input: vec![f1(), f2()],
                output: vec![f1(), f2()],
                added: vec![h("inserted1", f1())],
            },
            Case {
                name: "basic move",
                fields: "field1",
                headers: "inserted1",
                operation: "move",
                replace_null_with_default: "true",
                input: vec![f1(), f2()],
                output: vec![f2()],
                added: vec![h("inserted1", f1())],
            },
            Case {
                name: "move to a header name already present",
                fields: "field1",
                headers: "header1",
                operation: "move",
                replace_null_with_default: "true",
                input: vec![f1(), f2()],
                output: vec![f2()],
                added: vec![h("header1", f1())],
            },
            Case {
                name: "copy with struct value",
                fields: "field1",
                headers: "inserted1",
                operation: "copy",
                replace_null_with_default: "true",
                input: vec![s1(), f2()],
                output: vec![s1(), f2()],
                added: vec![h("inserted1", s1())],
            },
            Case {
                name: "move with struct value",
                fields: "field1",
                headers: "inserted1",
                operation: "move",
                replace_null_with_default: "true",
                input: vec![s1(), f2()],
                output: vec![f2()],
                added: vec![h("inserted1", s1())],
            },
            Case {
                name: "two headers from same field",
                fields: "field1,field1",
                headers: "inserted1,inserted2",
                operation: "move",
                replace_null_with_default: "true",
                input: vec![f1(), f2()],
                output: vec![f2()],
                added: vec![h("inserted1", f1()), h("inserted2", f1())],
            },
            Case {
                name: "two fields to same header",
                fields: "field1,field2",
                headers: "inserted1,inserted1",
                operation: "move",
                replace_null_with_default: "true",
                input: vec![f1(), f2()],
                output: vec![],
                added: vec![h("inserted1", f1()), h("inserted1", f2())],
            },
            Case {
                name: "copy null field without default",
                fields: "field1,field2",
                headers: "inserted1,inserted2",
                operation: "copy",
                replace_null_with_default: "false",
                input: vec![d1(), d2()],
                output: vec![d1(), d2()],
                added: vec![h("inserted1", d1()), h("inserted2", d2())],
            },
            Case {
                name: "move null field without default",
                fields: "field1,field2",
                headers: "inserted1,inserted2",
                operation: "move",
                replace_null_with_default: "false",
                input: vec![d1(), d2()],
                output: vec![],
                added: vec![h("inserted1", d1()), h("inserted2", d2())],
            },
        ]
    }

    #[test]
    fn header_from_kafka_cases() {
        for case in cases() {
            for operand in [Operand::Key, Operand::Value] {
                for schemaless in [true, false] {
                    let class = format!("HeaderFrom${}", operand.suffix());
                    let x = create(
                        &class,
                        &[
                            ("fields", case.fields),
                            ("headers", case.headers),
                            ("operation", case.operation),
                            ("replace.null.with.default", case.replace_null_with_default),
                        ],
                    )
                    .unwrap();
                    let input = header_from_record(operand, &case.input, schemaless);
                    let mut expected = header_from_record(operand, &case.output, schemaless);
                    if case.operation == "copy" && !schemaless {
                        // A copy leaves the struct as it was, schema included.
                        expected = header_from_record(operand, &case.input, schemaless);
                    }
                    for (name, schema, value) in &case.added {
                        let schema = (!schemaless).then(|| schema.clone());
                        expected.headers.add(*name, schema, value.clone());
                    }
                    let out = x.apply_owned(input).unwrap().unwrap();
                    let what = format!("{} ({class}, schemaless={schemaless})", case.name);
                    assert_eq!(operand.schema(&out), operand.schema(&expected), "{what}");
                    assert_eq!(operand.value(&out), operand.value(&expected), "{what}");
                    assert_eq!(out.headers, expected.headers, "{what}");
                    assert_eq!(out.topic, expected.topic, "{what}");
                    let other = match operand {
                        Operand::Key => Operand::Value,
                        Operand::Value => Operand::Key,
                    };
                    assert_eq!(other.value(&out), other.value(&expected), "{what}");
                }
            }
        }
    }

    #[test]
    fn header_from_move_keeps_schema_metadata_and_builds_it_once() {
        let schema = SchemaBuilder::struct_()
            .name("n")
            .version(3)
            .field("a", Schema::optional(SchemaType::Int32))
            .unwrap()
            .field("b", Schema::optional(SchemaType::Int32))
            .unwrap()
            .build();
        let x = create(
            "HeaderFrom$Value",
            &[("fields", "a"), ("headers", "h"), ("operation", "move")],
        )
        .unwrap();
        let record = || {
            let s = Struct::new(schema.clone()).unwrap().with("a", 1).unwrap();
            ConnectRecord::new("t", Some(schema.clone()), Value::Struct(s))
        };
        let first = x.apply_owned(record()).unwrap().unwrap();
        let second = x.apply_owned(record()).unwrap().unwrap();
        let moved = first.value_schema.clone().unwrap();
        assert_eq!(moved.name.as_deref(), Some("n"));
        assert_eq!(moved.version, Some(3));
        assert_eq!(moved.fields.len(), 1);
        assert!(SchemaRef::ptr_eq(
            &moved,
            second.value_schema.as_ref().unwrap()
        ));
        assert_eq!(
            first.headers.last_with_name("h"),
            Some(&Header {
                key: "h".into(),
                schema: Some(Schema::optional(SchemaType::Int32)),
                value: Value::Int32(1)
            })
        );
    }

    #[test]
    fn header_from_schemaless_absent_field_gives_a_null_header() {
        let x = create(
            "HeaderFrom$Value",
            &[
                ("fields", "missing"),
                ("headers", "h"),
                ("operation", "move"),
            ],
        )
        .unwrap();
        let value = Value::Map(vec![(Value::from("a"), Value::Int32(1))]);
        let out = x
            .apply_owned(ConnectRecord::new("t", None, value.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(out.value, value);
        assert_eq!(
            header_list(&out.headers),
            [("h".to_owned(), None, Value::Null)]
        );
    }

    #[test]
    fn header_from_errors() {
        for operation in ["move", "copy"] {
            let x = create(
                "HeaderFrom$Value",
                &[("fields", "a"), ("headers", "h"), ("operation", operation)],
            )
            .unwrap();
            let err = x
                .apply_owned(ConnectRecord::new("t", None, Value::Null))
                .unwrap_err();
            assert!(err.is_data());
            assert_eq!(
                err.to_string(),
                format!("Only Map objects supported in absence of schema for [header {operation}], found: null")
            );
            let schema = SchemaBuilder::struct_()
                .field("b", Schema::optional(SchemaType::Int32))
                .unwrap()
                .build();
            let err = x
                .apply_owned(ConnectRecord::new("t", Some(schema.clone()), Value::Null))
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("Only Struct objects supported for [header {operation}], found: null")
            );
            let err = x
                .apply_owned(ConnectRecord::new(
                    "t",
                    Some(schema.clone()),
                    Value::Struct(Struct::new(schema).unwrap()),
                ))
                .unwrap_err();
            assert_eq!(err.to_string(), "Field does not exist: a");
        }
    }

    #[test]
    fn header_from_null_in_a_required_field_fails() {
        let required_with_default = SchemaBuilder::new(SchemaType::Int32)
            .default_value(Value::Int32(5))
            .unwrap()
            .build();
        let schema = SchemaBuilder::struct_()
            .field("a", required_with_default)
            .unwrap()
            .build();
        let record = || {
            ConnectRecord::new(
                "t",
                Some(schema.clone()),
                Value::Struct(Struct::new(schema.clone()).unwrap()),
            )
        };
        let copy = |replace: &str| {
            create(
                "HeaderFrom$Value",
                &[
                    ("fields", "a"),
                    ("headers", "h"),
                    ("operation", "copy"),
                    ("replace.null.with.default", replace),
                ],
            )
            .unwrap()
        };
        let out = copy("true").apply_owned(record()).unwrap().unwrap();
        assert_eq!(
            out.headers.last_with_name("h").unwrap().value,
            Value::Int32(5)
        );
        assert_eq!(
            copy("false").apply_owned(record()).unwrap_err().to_string(),
            "A null value requires an optional schema but was Schema{INT32}"
        );
    }

    #[test]
    fn header_from_config_errors() {
        assert_eq!(
            config_error(
                "HeaderFrom$Key",
                &[("fields", "foo"), ("headers", "foo,bar"), ("operation", "copy")]
            ),
            "invalid configuration for 'headers': 'fields' config must have the same number of elements as 'headers' config."
        );
        assert_eq!(
            config_error(
                "HeaderFrom$Value",
                &[("fields", "foo,bar"), ("headers", "foo"), ("operation", "copy")]
            ),
            "invalid configuration for 'headers': 'fields' config must have the same number of elements as 'headers' config."
        );
        assert_eq!(
            config_error(
                "HeaderFrom$Value",
                &[("fields", "foo"), ("headers", "foo"), ("operation", "Copy")]
            ),
            "invalid configuration for 'operation': Invalid value Copy for configuration operation: String must be one of: move, copy"
        );
        assert_eq!(
            config_error(
                "HeaderFrom$Value",
                &[("fields", ""), ("headers", "foo"), ("operation", "copy")]
            ),
            "invalid configuration for 'fields': Invalid value  for configuration fields: Empty list"
        );
        assert_eq!(
            config_error("HeaderFrom$Value", &[("fields", "a"), ("headers", "b")]),
            "invalid configuration for 'operation': Missing required configuration \"operation\" which has no default value."
        );
    }

    fn inserted(literal: &str) -> Header {
        let x = create(
            "InsertHeader",
            &[("header", "inserted"), ("value.literal", literal)],
        )
        .unwrap();
        let mut record = ConnectRecord::new("t", None, Value::from("v"));
        record.headers.add_string("inserted", "existing");
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(out.headers.len(), 2, "the existing header stays");
        assert_eq!(
            out.headers.iter().next().unwrap().value,
            Value::from("existing")
        );
        out.headers.last_with_name("inserted").unwrap().clone()
    }

    #[test]
    fn insert_header_infers_the_literal_type() {
        let check = |literal: &str, schema: Option<SchemaRef>, value: Value| {
            let h = inserted(literal);
            assert_eq!((h.schema, h.value), (schema, value), "{literal}");
        };
        check(
            "1",
            Some(Schema::required(SchemaType::Int8)),
            Value::Int8(1),
        );
        check(
            "true",
            Some(Schema::required(SchemaType::Boolean)),
            Value::Boolean(true),
        );
        check(
            "inserted-value",
            Some(Schema::required(SchemaType::String)),
            Value::from("inserted-value"),
        );
        check(
            "",
            Some(Schema::required(SchemaType::String)),
            Value::from(""),
        );
        check("null", None, Value::Null);
        check(
            "2024-01-02",
            Some(LogicalType::Date.schema()),
            Value::Date(19_724),
        );
        check(
            "12:30:00",
            Some(Schema::required(SchemaType::Int8)),
            Value::Int8(12),
        );
        check(
            "[1,2]",
            Some(SchemaBuilder::array(Schema::required(SchemaType::Int8)).build()),
            Value::Array(vec![Value::Int8(1), Value::Int8(2)]),
        );
    }

    #[test]
    fn insert_header_config() {
        assert_eq!(
            config_error("InsertHeader", &[("value.literal", "x")]),
            "invalid configuration for 'header': Missing required configuration \"header\" which has no default value."
        );
        assert_eq!(
            config_error("InsertHeader", &[("header", "h")]),
            "invalid configuration for 'value.literal': Missing required configuration \"value.literal\" which has no default value."
        );
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(
            names,
            [
                "org.apache.kafka.connect.transforms.DropHeaders",
                "org.apache.kafka.connect.transforms.HeaderFrom$Key",
                "org.apache.kafka.connect.transforms.HeaderFrom$Value",
                "org.apache.kafka.connect.transforms.InsertHeader",
            ]
        );
    }
}

//! `Flatten$Key` / `Flatten$Value`: turns nested structs (schema'd) or nested maps
//! (schemaless) into one flat level, naming each field by its path joined with a delimiter.
//!
//! ```properties
//! transforms=flat
//! transforms.flat.type=org.apache.kafka.connect.transforms.Flatten$Value
//! transforms.flat.delimiter=_
//! ```
//!
//! `{"user": {"id": 7, "address": {"city": "Oslo"}}, "tags": ["a"]}` becomes
//! `{"user_id": 7, "user_address_city": "Oslo", "tags": ["a"]}`.
//!
//! - Arrays are copied as they are: structs or maps inside them are not flattened.
//! - Schemaless: nulls are kept (`"a.b": null`), an empty nested map contributes nothing, and
//!   when two paths produce the same name the later value wins (in the earlier position).
//!   Structs and Decimal/Date values inside a map are errors, as in Kafka.
//! - Schema'd: map fields are rejected. A flattened field is optional when it or any enclosing
//!   struct is optional, and takes its own default, or else the value the nearest enclosing
//!   struct's default holds for it. A null nested struct gives null fields. Two paths with the
//!   same name are a duplicate-field error.
//! - A null key or value passes through untouched.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_api::data::{Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::util::{self, Operand, SchemaCache};

/// Class name of the key variant.
const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.Flatten$Key";
/// Class name of the value variant.
const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.Flatten$Value";
/// The `delimiter` key.
const DELIMITER: &str = "delimiter";
/// What requirement errors say the transform was doing.
const PURPOSE: &str = "flattening";

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![
        TransformationPlugin {
            class_name: KEY_CLASS,
            config_def,
            create: create_key,
        },
        TransformationPlugin {
            class_name: VALUE_CLASS,
            config_def,
            create: create_value,
        },
    ]
}

fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(DELIMITER, ConfigType::String)
            .default_value(".")
            .importance(Importance::Medium)
            .doc(
                "Text put between the names of a field's enclosing fields and its own name to \
                 make its flattened name: with '_', field 'city' of 'address' becomes \
                 'address_city'.",
            ),
    )
}

fn create_key(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Key, props)
}

fn create_value(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Value, props)
}

fn create(operand: Operand, props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    let config = util::parse_config(&config_def(), props)?;
    Ok(Box::new(Flatten {
        operand,
        delimiter: config.string(DELIMITER).unwrap_or(".").to_string(),
        cache: SchemaCache::new(),
    }))
}

/// The configured transform.
#[derive(Debug)]
struct Flatten {
    operand: Operand,
    delimiter: String,
    cache: SchemaCache,
}

impl Transformation for Flatten {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if self.operand.value(record).is_null() {
            return Ok(Outcome::Keep);
        }
        let (schema, value) = self.operand.take(record);
        let (schema, value) = match schema {
            None => (None, self.flatten_schemaless(value)?),
            Some(schema) => {
                let (schema, value) = self.flatten_with_schema(&schema, value)?;
                (Some(schema), value)
            }
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

impl Flatten {
    fn name(&self, prefix: &str, field: &str) -> String {
        let mut name = String::with_capacity(prefix.len() + self.delimiter.len() + field.len());
        name.push_str(prefix);
        name.push_str(&self.delimiter);
        name.push_str(field);
        name
    }

    fn flatten_schemaless(&self, value: Value) -> Result<Value> {
        util::require_map(&value, PURPOSE)?;
        let Value::Map(entries) = value else {
            return Ok(value);
        };
        // Without nested maps the flat map is the map itself, once its entries are checked.
        if !entries.iter().any(|(_, v)| matches!(v, Value::Map(_))) {
            for (key, value) in &entries {
                let name = match key {
                    Value::String(s) => s.as_str(),
                    Value::Null => "null",
                    other => return Err(non_string_key(other)),
                };
                check_schemaless_leaf(value, || name.to_string())?;
            }
            return Ok(Value::Map(entries));
        }
        let mut out = Vec::with_capacity(entries.len() * 2);
        for (key, value) in entries {
            let name = match key {
                Value::String(s) => s,
                Value::Null => {
                    if matches!(value, Value::Map(_)) {
                        return Err(ConnectError::data(
                            "Flatten transformation cannot name the fields of a map held under a null key",
                        ));
                    }
                    check_schemaless_leaf(&value, || "null".to_string())?;
                    put(&mut out, Value::Null, value);
                    continue;
                }
                other => return Err(non_string_key(&other)),
            };
            self.flatten_entry(name, value, &mut out)?;
        }
        Ok(Value::Map(out))
    }

    /// Writes one entry named `name` (nested maps recursively) into `out`.
    fn flatten_entry(
        &self,
        name: String,
        value: Value,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<()> {
        let Value::Map(entries) = value else {
            check_schemaless_leaf(&value, || name.clone())?;
            put(out, Value::String(name), value);
            return Ok(());
        };
        for (key, value) in entries {
            let child = match &key {
                Value::String(s) => self.name(&name, s),
                Value::Null => self.name(&name, "null"),
                other => return Err(non_string_key(other)),
            };
            self.flatten_entry(child, value, out)?;
        }
        Ok(())
    }

    fn flatten_with_schema(&self, schema: &SchemaRef, value: Value) -> Result<(SchemaRef, Value)> {
        util::require_struct(&value, PURPOSE)?;
        let Value::Struct(input) = value else {
            return Ok((schema.clone(), value));
        };
        let updated = self.cache.get_or_build(schema, |s| self.build_schema(s))?;
        if !SchemaRef::ptr_eq(input.schema(), schema) && **input.schema() != **schema {
            return Err(ConnectError::data("Struct schemas do not match."));
        }
        let flat = !schema
            .fields
            .iter()
            .any(|f| f.schema.schema_type == SchemaType::Struct);
        let values = if flat {
            // Nothing nested: the leaves are the struct's own values, in place.
            let mut values = input.into_values();
            for (field, value) in schema.fields.iter().zip(values.iter_mut()) {
                if let (Value::Null, Some(default)) = (&*value, &field.schema.default) {
                    *value = default.clone();
                }
            }
            values
        } else {
            let mut values = Vec::with_capacity(updated.fields.len());
            flatten_values(input, &mut values);
            values
        };
        // A leaf keeps its type, logical name and element schema, so its value needs no new
        // check (nulls in required leaves are still rejected).
        let output = Struct::from_values_unchecked(updated.clone(), values)?;
        Ok((updated, Value::Struct(output)))
    }

    /// The flat schema of a struct schema (built once per input schema).
    fn build_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        if schema.schema_type != SchemaType::Struct {
            return Err(ConnectError::data("Cannot list fields on non-struct type"));
        }
        let builder = util::copy_schema_basics(schema, SchemaBuilder::struct_());
        let default = match &schema.default {
            Some(Value::Struct(s)) => Some(s),
            _ => None,
        };
        Ok(self
            .add_fields(schema, None, builder, schema.optional, default)?
            .build())
    }

    /// Adds the flattened fields of `schema` (whose fields are named under `prefix`).
    fn add_fields(
        &self,
        schema: &Schema,
        prefix: Option<&str>,
        mut builder: SchemaBuilder,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<SchemaBuilder> {
        for field in &schema.fields {
            let name = match prefix {
                None => field.name.clone(),
                Some(prefix) => self.name(prefix, &field.name),
            };
            let field_optional = optional || field.schema.optional;
            let default = field.schema.default.as_ref().or_else(|| {
                parent_default
                    .and_then(|d| d.get_without_default(&field.name))
                    .filter(|v| !v.is_null())
            });
            builder = match field.schema.schema_type {
                SchemaType::Struct => {
                    let default = match default {
                        Some(Value::Struct(s)) => Some(s),
                        _ => None,
                    };
                    self.add_fields(&field.schema, Some(&name), builder, field_optional, default)?
                }
                SchemaType::Map => {
                    return Err(ConnectError::data(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                _ => {
                    let leaf = leaf_schema(&field.schema, field_optional, default.cloned())?;
                    builder.field(name, leaf)?
                }
            };
        }
        Ok(builder)
    }
}

/// A leaf's schema in the flat struct: its type, name, version, doc, parameters and element
/// schema, with the optionality and default the flattening gives it.
fn leaf_schema(orig: &Schema, optional: bool, default: Option<Value>) -> Result<SchemaRef> {
    let base = match (&orig.schema_type, &orig.value_schema) {
        (SchemaType::Array, Some(element)) => SchemaBuilder::array(element.clone()),
        (schema_type, _) => SchemaBuilder::new(*schema_type),
    };
    let mut builder = util::copy_schema_basics(orig, base);
    if optional {
        builder = builder.optional();
    }
    if let Some(default) = default {
        builder = builder.default_value(default)?;
    }
    Ok(builder.build())
}

/// Appends the leaf values of a struct in flat-schema order; a null field reads as its
/// default, and a null nested struct gives null leaves.
fn flatten_values(input: Struct, out: &mut Vec<Value>) {
    let schema = input.schema().clone();
    for (field, value) in schema.fields.iter().zip(input.into_values()) {
        let value = match (value, &field.schema.default) {
            (Value::Null, Some(default)) => default.clone(),
            (value, _) => value,
        };
        if field.schema.schema_type == SchemaType::Struct {
            match value {
                Value::Struct(nested) => flatten_values(nested, out),
                _ => push_null_leaves(&field.schema, out),
            }
        } else {
            out.push(value);
        }
    }
}

/// Appends one null per leaf of a struct schema.
fn push_null_leaves(schema: &Schema, out: &mut Vec<Value>) {
    for field in &schema.fields {
        if field.schema.schema_type == SchemaType::Struct {
            push_null_leaves(&field.schema, out);
        } else {
            out.push(Value::Null);
        }
    }
}

/// Puts an entry into a flat map: a name already present keeps its position and takes the new
/// value.
fn put(out: &mut Vec<(Value, Value)>, key: Value, value: Value) {
    match out.iter_mut().find(|(k, _)| *k == key) {
        Some((_, slot)) => *slot = value,
        None => out.push((key, value)),
    }
}

/// Checks that a non-map value may be copied into a flat schemaless map.
fn check_schemaless_leaf(value: &Value, name: impl FnOnce() -> String) -> Result<()> {
    match value {
        Value::Struct(_) => Err(ConnectError::data(format!(
            "Flatten transformation does not support class {} for record without schemas (for field {}).",
            value.type_name(),
            name()
        ))),
        Value::Decimal(_) | Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
            Err(ConnectError::data(format!(
                "Flatten transformation was passed a value of type class {} which is not supported by Connect's data API",
                value.type_name()
            )))
        }
        _ => Ok(()),
    }
}

/// A map key that is not a string (Java fails casting it to a field name).
fn non_string_key(key: &Value) -> ConnectError {
    ConnectError::data(format!(
        "class {} cannot be cast to class java.lang.String",
        key.type_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use sluice_api::data::LogicalType;

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn value_xform(pairs: &[(&str, &str)]) -> Box<dyn Transformation> {
        create_value(&props(pairs)).unwrap()
    }

    fn apply(
        x: &dyn Transformation,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<ConnectRecord> {
        x.apply_owned(ConnectRecord::new("topic", schema, value))
            .map(|r| r.unwrap())
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    fn supported_types_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .field("int8", Schema::required(SchemaType::Int8))
            .unwrap()
            .field("int16", Schema::required(SchemaType::Int16))
            .unwrap()
            .field("int32", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("int64", Schema::required(SchemaType::Int64))
            .unwrap()
            .field("float32", Schema::required(SchemaType::Float32))
            .unwrap()
            .field("float64", Schema::required(SchemaType::Float64))
            .unwrap()
            .field("boolean", Schema::required(SchemaType::Boolean))
            .unwrap()
            .field("string", Schema::required(SchemaType::String))
            .unwrap()
            .field("bytes", Schema::required(SchemaType::Bytes))
            .unwrap()
            .build()
    }

    fn supported_values() -> Vec<(&'static str, Value)> {
        vec![
            ("int8", Value::Int8(8)),
            ("int16", Value::Int16(16)),
            ("int32", Value::Int32(32)),
            ("int64", Value::Int64(64)),
            ("float32", Value::Float32(32.0)),
            ("float64", Value::Float64(64.0)),
            ("boolean", Value::Boolean(true)),
            ("string", Value::from("stringy")),
            ("bytes", Value::Bytes(Bytes::from_static(b"bytes"))),
        ]
    }

    #[test]
    fn config_and_plugins() {
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(names, [KEY_CLASS, VALUE_CLASS]);
        assert_eq!(
            config_def().key(DELIMITER).unwrap().default_text(),
            Some(".")
        );
    }

    #[test]
    fn top_level_struct_or_map_required() {
        let x = value_xform(&[]);
        assert_eq!(
            apply(
                &*x,
                Some(Schema::required(SchemaType::Int32)),
                Value::Int32(42)
            )
            .unwrap_err()
            .to_string(),
            "Only Struct objects supported for [flattening], found: java.lang.Integer"
        );
        assert_eq!(
            apply(&*x, None, Value::Int32(42)).unwrap_err().to_string(),
            "Only Map objects supported in absence of schema for [flattening], found: java.lang.Integer"
        );
    }

    #[test]
    fn nested_struct() {
        let supported = supported_types_schema();
        let one = SchemaBuilder::struct_()
            .field("B", supported.clone())
            .unwrap()
            .build();
        let two = SchemaBuilder::struct_()
            .field("A", one.clone())
            .unwrap()
            .build();
        let mut inner = Struct::new(supported).unwrap();
        for (name, value) in supported_values() {
            inner.put(name, value).unwrap();
        }
        let one_value = Struct::new(one)
            .unwrap()
            .with("B", Value::Struct(inner))
            .unwrap();
        let two_value = Struct::new(two.clone())
            .unwrap()
            .with("A", Value::Struct(one_value))
            .unwrap();
        let x = value_xform(&[]);
        let out = apply(&*x, Some(two.clone()), Value::Struct(two_value.clone())).unwrap();
        let schema = out.value_schema.clone().unwrap();
        assert_eq!(schema.schema_type, SchemaType::Struct);
        assert_eq!(schema.fields.len(), 9);
        let Value::Struct(s) = &out.value else {
            panic!("not a struct")
        };
        for (name, value) in supported_values() {
            assert_eq!(s.get(&format!("A.B.{name}")), Some(&value), "{name}");
        }
        // Built once per input schema.
        let again = apply(&*x, Some(two), Value::Struct(two_value)).unwrap();
        assert!(SchemaRef::ptr_eq(&again.value_schema.unwrap(), &schema));
    }

    #[test]
    fn nested_map_with_delimiter() {
        let inner = map(supported_values());
        let value = map(vec![("A", map(vec![("B", inner)]))]);
        let out = apply(&*value_xform(&[(DELIMITER, "#")]), None, value).unwrap();
        assert_eq!(out.value_schema, None);
        let want = Value::Map(
            supported_values()
                .into_iter()
                .map(|(k, v)| (Value::String(format!("A#B#{k}")), v))
                .collect(),
        );
        assert_eq!(out.value, want);
    }

    #[test]
    fn key_variant() {
        let x = create_key(&props(&[])).unwrap();
        let mut record = ConnectRecord::new("topic", None, Value::Null);
        record.key = map(vec![("A", map(vec![("B", Value::Int32(12))]))]);
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(out.key_schema, None);
        assert_eq!(out.key, map(vec![("A.B", Value::Int32(12))]));
    }

    #[test]
    fn optional_fields_and_structs() {
        let x = value_xform(&[]);
        let inner = SchemaBuilder::struct_()
            .field("opt_int32", Schema::optional(SchemaType::Int32))
            .unwrap()
            .build();
        let outer = SchemaBuilder::struct_()
            .field("B", inner.clone())
            .unwrap()
            .build();
        let value = Struct::new(outer.clone())
            .unwrap()
            .with("B", Value::Struct(Struct::new(inner).unwrap()))
            .unwrap();
        let out = apply(&*x, Some(outer), Value::Struct(value)).unwrap();
        let Value::Struct(s) = &out.value else {
            panic!("not a struct")
        };
        assert_eq!(s.get("B.opt_int32"), Some(&Value::Null));

        // An optional struct that is null: its leaves are optional and null.
        let optional_inner = SchemaBuilder::struct_()
            .optional()
            .field("opt_int32", Schema::optional(SchemaType::Int32))
            .unwrap()
            .build();
        let outer = SchemaBuilder::struct_()
            .field("B", optional_inner.clone())
            .unwrap()
            .build();
        let out = apply(
            &*x,
            Some(outer.clone()),
            Value::Struct(Struct::new(outer).unwrap()),
        )
        .unwrap();
        let Value::Struct(s) = &out.value else {
            panic!("not a struct")
        };
        assert_eq!(s.get("B.opt_int32"), Some(&Value::Null));

        let map_value = map(vec![("B", map(vec![("opt_int32", Value::Null)]))]);
        let out = apply(&*x, None, map_value).unwrap();
        assert_eq!(out.value, map(vec![("B.opt_int32", Value::Null)]));
    }

    #[test]
    fn tombstones_pass_through() {
        let x = value_xform(&[]);
        let schema = SchemaBuilder::struct_()
            .name("name")
            .version(1)
            .doc("doc")
            .optional()
            .field("magic", Schema::optional(SchemaType::Int64))
            .unwrap()
            .build();
        let out = apply(&*x, Some(schema.clone()), Value::Null).unwrap();
        assert_eq!(out.value, Value::Null);
        assert_eq!(out.value_schema, Some(schema));
        let out = apply(&*x, None, Value::Null).unwrap();
        assert_eq!((out.value_schema, out.value), (None, Value::Null));
    }

    #[test]
    fn arrays_are_copied_unchanged() {
        let x = value_xform(&[]);
        let value = map(vec![(
            "foo",
            Value::Array(vec![
                Value::from("bar"),
                map(vec![("baz", map(vec![("lfg", Value::from("lfg"))]))]),
            ]),
        )]);
        assert_eq!(apply(&*x, None, value.clone()).unwrap().value, value);

        let nested = SchemaBuilder::struct_()
            .field("lfg", Schema::required(SchemaType::String))
            .unwrap()
            .build();
        let inner = SchemaBuilder::struct_()
            .field("baz", nested.clone())
            .unwrap()
            .build();
        let schema = SchemaBuilder::struct_()
            .field(
                "foo",
                SchemaBuilder::array(inner.clone()).doc("durk").build(),
            )
            .unwrap()
            .build();
        let nested_value = Struct::new(nested).unwrap().with("lfg", "lfg").unwrap();
        let inner_value = Struct::new(inner)
            .unwrap()
            .with("baz", Value::Struct(nested_value))
            .unwrap();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("foo", Value::Array(vec![Value::Struct(inner_value)]))
            .unwrap();
        let out = apply(&*x, Some(schema.clone()), Value::Struct(value.clone())).unwrap();
        assert_eq!(out.value, Value::Struct(value));
        assert_eq!(out.value_schema, Some(schema));
    }

    #[test]
    fn optional_and_default_values_nested() {
        let builder = SchemaBuilder::struct_()
            .optional()
            .field("req_field", Schema::required(SchemaType::String))
            .unwrap()
            .field(
                "opt_field",
                SchemaBuilder::new(SchemaType::String)
                    .optional()
                    .default_value(Value::from("child_default"))
                    .unwrap()
                    .build(),
            )
            .unwrap();
        let child_default = Struct::new(builder.clone().build())
            .unwrap()
            .with("req_field", "req_default")
            .unwrap();
        let schema = builder
            .default_value(Value::Struct(child_default))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone()).unwrap();
        let out = apply(&*value_xform(&[]), Some(schema), Value::Struct(value)).unwrap();
        let schema = out.value_schema.unwrap();
        assert_eq!(schema.fields.len(), 2);
        assert!(!schema.optional);
        assert_eq!(
            schema.field("req_field").unwrap().schema,
            SchemaBuilder::new(SchemaType::String)
                .optional()
                .default_value(Value::from("req_default"))
                .unwrap()
                .build()
        );
        assert_eq!(
            schema.field("opt_field").unwrap().schema,
            SchemaBuilder::new(SchemaType::String)
                .optional()
                .default_value(Value::from("child_default"))
                .unwrap()
                .build()
        );
    }

    #[test]
    fn nested_defaults_fill_null_leaves() {
        let inner = SchemaBuilder::struct_()
            .optional()
            .field("x", Schema::required(SchemaType::Int32))
            .unwrap();
        let inner_default = Struct::new(inner.clone().build())
            .unwrap()
            .with("x", 5)
            .unwrap();
        let inner = inner
            .default_value(Value::Struct(inner_default))
            .unwrap()
            .build();
        let outer = SchemaBuilder::struct_()
            .field("in", inner)
            .unwrap()
            .field("n", Schema::optional(SchemaType::Int64))
            .unwrap()
            .build();
        let out = apply(
            &*value_xform(&[]),
            Some(outer.clone()),
            Value::Struct(Struct::new(outer).unwrap()),
        )
        .unwrap();
        let Value::Struct(s) = &out.value else {
            panic!("not a struct")
        };
        assert_eq!(s.values(), [Value::Int32(5), Value::Null]);
        let leaf = &s.schema().field("in.x").unwrap().schema;
        assert!(leaf.optional);
        assert_eq!(leaf.default, Some(Value::Int32(5)));
    }

    #[test]
    fn null_fields_are_kept() {
        let x = value_xform(&[]);
        let value = map(vec![
            ("firstNull", Value::Null),
            ("firstNonNull", Value::from("nonNull")),
            ("secondNull", Value::Null),
            ("secondNonNull", Value::from("alsoNonNull")),
            ("thirdNonNull", Value::Null),
        ]);
        assert_eq!(apply(&*x, None, value.clone()).unwrap().value, value);
        let mut builder = SchemaBuilder::struct_();
        for name in [
            "firstNull",
            "firstNonNull",
            "secondNull",
            "secondNonNull",
            "thirdNonNull",
        ] {
            builder = builder
                .field(name, Schema::optional(SchemaType::String))
                .unwrap();
        }
        let schema = builder.build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("firstNonNull", "nonNull")
            .unwrap()
            .with("secondNonNull", "alsoNonNull")
            .unwrap();
        let out = apply(&*x, Some(schema), Value::Struct(value.clone())).unwrap();
        assert_eq!(out.value, Value::Struct(value));
    }

    #[test]
    fn schema_d_maps_are_rejected() {
        let inner = SchemaBuilder::struct_()
            .field(
                "m",
                SchemaBuilder::map(
                    Schema::required(SchemaType::String),
                    Schema::required(SchemaType::String),
                )
                .build(),
            )
            .unwrap()
            .build();
        let schema = SchemaBuilder::struct_().field("a", inner).unwrap().build();
        let value = Struct::new(schema.clone()).unwrap();
        assert_eq!(
            apply(&*value_xform(&[]), Some(schema), Value::Struct(value))
                .unwrap_err()
                .to_string(),
            "Flatten transformation does not support MAP for record with schemas (for field a.m)."
        );
    }

    #[test]
    fn schema_d_name_collisions_fail() {
        let inner = SchemaBuilder::struct_()
            .field("b", Schema::optional(SchemaType::Int32))
            .unwrap()
            .build();
        let schema = SchemaBuilder::struct_()
            .field("a.b", Schema::optional(SchemaType::Int32))
            .unwrap()
            .field("a", inner)
            .unwrap()
            .build();
        let value = Struct::new(schema.clone()).unwrap();
        assert_eq!(
            apply(&*value_xform(&[]), Some(schema), Value::Struct(value))
                .unwrap_err()
                .to_string(),
            "Cannot create field because of field name duplication a.b"
        );
    }

    #[test]
    fn schemaless_collisions_keep_first_position_and_last_value() {
        let value = map(vec![
            ("a.b", Value::Int32(1)),
            ("x", Value::Int32(2)),
            ("a", map(vec![("b", Value::Int32(3))])),
            ("e", map(vec![])),
        ]);
        assert_eq!(
            apply(&*value_xform(&[]), None, value).unwrap().value,
            map(vec![("a.b", Value::Int32(3)), ("x", Value::Int32(2))])
        );
    }

    #[test]
    fn schemaless_unsupported_values() {
        let x = value_xform(&[]);
        let schema = SchemaBuilder::struct_().build();
        let value = map(vec![(
            "a",
            map(vec![("s", Value::Struct(Struct::new(schema).unwrap()))]),
        )]);
        assert_eq!(
            apply(&*x, None, value).unwrap_err().to_string(),
            "Flatten transformation does not support class org.apache.kafka.connect.data.Struct for record without schemas (for field a.s)."
        );
        let value = map(vec![("d", Value::Timestamp(0))]);
        assert_eq!(
            apply(&*x, None, value).unwrap_err().to_string(),
            "Flatten transformation was passed a value of type class java.util.Date which is not supported by Connect's data API"
        );
        let value = Value::Map(vec![(Value::Int32(1), Value::Int32(1))]);
        assert_eq!(
            apply(&*x, None, value).unwrap_err().to_string(),
            "class java.lang.Integer cannot be cast to class java.lang.String"
        );
    }

    #[test]
    fn logical_leaves_keep_their_schema() {
        let inner = SchemaBuilder::struct_()
            .field("ts", LogicalType::Timestamp.schema())
            .unwrap()
            .build();
        let schema = SchemaBuilder::struct_()
            .name("outer")
            .field("a", inner.clone())
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with(
                "a",
                Value::Struct(
                    Struct::new(inner)
                        .unwrap()
                        .with("ts", Value::Timestamp(7))
                        .unwrap(),
                ),
            )
            .unwrap();
        let out = apply(&*value_xform(&[]), Some(schema), Value::Struct(value)).unwrap();
        let out_schema = out.value_schema.unwrap();
        assert_eq!(out_schema.name.as_deref(), Some("outer"));
        assert_eq!(
            out_schema.field("a.ts").unwrap().schema,
            LogicalType::Timestamp.schema()
        );
        let Value::Struct(s) = &out.value else {
            panic!("not a struct")
        };
        assert_eq!(s.get("a.ts"), Some(&Value::Timestamp(7)));
    }
}

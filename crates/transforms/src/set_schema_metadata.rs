//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the name and/or version of the key
//! or value schema, leaving everything else about the schema and the data as it is.
//!
//! ```properties
//! transforms=meta
//! transforms.meta.type=org.apache.kafka.connect.transforms.SetSchemaMetadata$Value
//! transforms.meta.schema.name=com.example.Order
//! transforms.meta.schema.version=3
//! ```
//!
//! At least one of `schema.name` and `schema.version` must be set. The operand must have a
//! schema, unless both it and its schema are null (then the record passes through). A struct is
//! rebuilt against the renamed schema (its fields copied, honouring
//! `replace.null.with.default`); other values are kept. Schemas of nested fields are not
//! renamed.

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_api::data::{SchemaRef, SchemaType, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::util::{self, Operand, SchemaCache};

/// Class name of the key variant.
const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key";
/// Class name of the value variant.
const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value";
/// The `schema.name` key.
const SCHEMA_NAME: &str = "schema.name";
/// The `schema.version` key.
const SCHEMA_VERSION: &str = "schema.version";
/// What requirement errors say the transform was doing.
const PURPOSE: &str = "updating schema metadata";

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
    ConfigDef::new()
        .define(
            ConfigKey::new(SCHEMA_NAME, ConfigType::String)
                .default_null()
                .importance(Importance::High)
                .doc(
                    "Name to give the schema (e.g. 'com.example.Order'). Unset: the name is \
                     kept. Set this, schema.version, or both.",
                ),
        )
        .define(
            ConfigKey::new(SCHEMA_VERSION, ConfigType::Int)
                .default_null()
                .importance(Importance::High)
                .doc("Version to give the schema. Unset: the version is kept."),
        )
        .define(util::replace_null_with_default_key())
}

fn create_key(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Key, props)
}

fn create_value(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Value, props)
}

fn create(operand: Operand, props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    let config = util::parse_config(&config_def(), props)?;
    let name = config.string(SCHEMA_NAME).map(str::to_string);
    let version = config.int(SCHEMA_VERSION);
    if name.is_none() && version.is_none() {
        return Err(ConnectError::config(
            SCHEMA_NAME,
            "Neither schema name nor version configured",
        ));
    }
    Ok(Box::new(SetSchemaMetadata {
        operand,
        name,
        version,
        replace_null_with_default: config
            .boolean(util::REPLACE_NULL_WITH_DEFAULT)
            .unwrap_or(true),
        cache: SchemaCache::new(),
    }))
}

/// The configured transform.
#[derive(Debug)]
struct SetSchemaMetadata {
    operand: Operand,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl Transformation for SetSchemaMetadata {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let schema = self.operand.schema(record);
        if schema.is_none() && self.operand.value(record).is_null() {
            return Ok(Outcome::Keep);
        }
        util::require_schema(schema, PURPOSE)?;
        let (schema, value) = self.operand.take(record);
        let Some(schema) = schema else {
            self.operand.set(record, None, value);
            return Ok(Outcome::Keep);
        };
        let updated = self.cache.get_or_build(&schema, |s| Ok(self.renamed(s)))?;
        let value = match value {
            Value::Struct(s) => Value::Struct(self.rebuild(s, &schema, &updated)?),
            other => other,
        };
        self.operand.set(record, Some(updated), value);
        Ok(Outcome::Keep)
    }
}

impl SetSchemaMetadata {
    /// The schema with the configured name and version.
    fn renamed(&self, schema: &SchemaRef) -> SchemaRef {
        let mut updated = (**schema).clone();
        if let Some(name) = &self.name {
            updated.name = Some(name.clone());
        }
        if let Some(version) = self.version {
            updated.version = Some(version);
        }
        if updated.schema_type != SchemaType::Map {
            updated.key_schema = None;
        }
        if !matches!(updated.schema_type, SchemaType::Map | SchemaType::Array) {
            updated.value_schema = None;
        }
        SchemaRef::new(updated)
    }

    /// The struct's fields under the renamed schema (`original` is the record's schema, which
    /// `schema` renames).
    fn rebuild(&self, input: Struct, original: &SchemaRef, schema: &SchemaRef) -> Result<Struct> {
        // A struct of the record's own schema holds values that match the renamed schema's
        // fields (the very same fields: only the struct's name and version change), as do the
        // defaults put in place of nulls, so they need no new check.
        let same_fields = SchemaRef::ptr_eq(input.schema(), original);
        let mut values = input.into_values();
        if self.replace_null_with_default {
            for (field, slot) in schema.fields.iter().zip(values.iter_mut()) {
                if slot.is_null() {
                    if let Some(default) = &field.schema.default {
                        *slot = default.clone();
                    }
                }
            }
        }
        if same_fields {
            Struct::from_values_unchecked(schema.clone(), values)
        } else {
            Struct::from_values(schema.clone(), values)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{Schema, SchemaBuilder};

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn apply_value(
        pairs: &[(&str, &str)],
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<ConnectRecord> {
        create_value(&props(pairs))?
            .apply_owned(ConnectRecord::new("topic", schema, value))
            .map(|r| r.unwrap())
    }

    #[test]
    fn config_errors() {
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(names, [KEY_CLASS, VALUE_CLASS]);
        let err = create_value(&props(&[])).err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'schema.name': Neither schema name nor version configured"
        );
        let err = create_value(&props(&[(SCHEMA_VERSION, "x")]))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'schema.version': Invalid value x for configuration schema.version: Not a number of type INT"
        );
    }

    #[test]
    fn schema_name_update() {
        let out = apply_value(
            &[(SCHEMA_NAME, "foo")],
            Some(SchemaBuilder::struct_().build()),
            Value::Null,
        )
        .unwrap();
        assert_eq!(out.value_schema.unwrap().name.as_deref(), Some("foo"));
    }

    #[test]
    fn schema_version_update_keeps_the_rest() {
        let schema = SchemaBuilder::new(SchemaType::Int32)
            .name("n")
            .version(1)
            .doc("d")
            .parameter("p", "v")
            .optional()
            .default_value(Value::Int32(3))
            .unwrap()
            .build();
        let out = apply_value(
            &[(SCHEMA_VERSION, "42")],
            Some(schema.clone()),
            Value::Int32(5),
        )
        .unwrap();
        let updated = out.value_schema.unwrap();
        let mut want = (*schema).clone();
        want.version = Some(42);
        assert_eq!(*updated, want);
        assert_eq!(out.value, Value::Int32(5));
    }

    #[test]
    fn struct_is_rebuilt_against_the_new_schema() {
        let schema = SchemaBuilder::struct_()
            .name("old")
            .field("stringField", Schema::required(SchemaType::String))
            .unwrap()
            .field("intField", Schema::required(SchemaType::Int32))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("stringField", "value")
            .unwrap()
            .with("intField", 1)
            .unwrap();
        let out = apply_value(
            &[(SCHEMA_NAME, "foo"), (SCHEMA_VERSION, "2")],
            Some(schema),
            Value::Struct(value),
        )
        .unwrap();
        let updated = out.value_schema.unwrap();
        assert_eq!(updated.name.as_deref(), Some("foo"));
        assert_eq!(updated.version, Some(2));
        let Value::Struct(s) = out.value else {
            panic!("not a struct")
        };
        assert!(SchemaRef::ptr_eq(s.schema(), &updated));
        assert_eq!(s.values(), [Value::from("value"), Value::Int32(1)]);
    }

    #[test]
    fn replace_null_with_default() {
        let schema = SchemaBuilder::struct_()
            .field(
                "f",
                SchemaBuilder::new(SchemaType::String)
                    .optional()
                    .default_value(Value::from("dflt"))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        for (flag, want) in [("true", Value::from("dflt")), ("false", Value::Null)] {
            let out = apply_value(
                &[(SCHEMA_NAME, "n"), (util::REPLACE_NULL_WITH_DEFAULT, flag)],
                Some(schema.clone()),
                Value::Struct(Struct::new(schema.clone()).unwrap()),
            )
            .unwrap();
            let Value::Struct(s) = out.value else {
                panic!("not a struct")
            };
            assert_eq!(s.get_without_default("f"), Some(&want), "flag {flag}");
        }
    }

    #[test]
    fn null_and_schemaless_operands() {
        let out = apply_value(&[(SCHEMA_NAME, "n")], None, Value::Null).unwrap();
        assert_eq!((out.value_schema, out.value), (None, Value::Null));
        let err = apply_value(&[(SCHEMA_NAME, "n")], None, Value::from("x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Schema required for [updating schema metadata]"
        );
    }

    #[test]
    fn key_variant_and_cached_schema() {
        let x = create_key(&props(&[(SCHEMA_NAME, "k")])).unwrap();
        let schema = Schema::required(SchemaType::String);
        let mut first = None;
        for _ in 0..2 {
            let mut record = ConnectRecord::new("t", None, Value::from("v"));
            record.key_schema = Some(schema.clone());
            record.key = Value::from("key");
            let out = x.apply_owned(record).unwrap().unwrap();
            let key_schema = out.key_schema.unwrap();
            assert_eq!(key_schema.name.as_deref(), Some("k"));
            assert_eq!(out.key, Value::from("key"));
            assert_eq!(out.value, Value::from("v"));
            if let Some(prev) = &first {
                assert!(SchemaRef::ptr_eq(prev, &key_schema));
            }
            first = Some(key_schema);
        }
    }

    #[test]
    fn nested_schemas_are_not_renamed() {
        let element = SchemaBuilder::new(SchemaType::Int32).name("elem").build();
        let schema = SchemaBuilder::array(element.clone()).name("arr").build();
        let out = apply_value(
            &[(SCHEMA_NAME, "renamed")],
            Some(schema),
            Value::Array(vec![Value::Int32(1)]),
        )
        .unwrap();
        let updated = out.value_schema.unwrap();
        assert_eq!(updated.name.as_deref(), Some("renamed"));
        assert_eq!(updated.value_schema, Some(element));
    }
}

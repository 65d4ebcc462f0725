//! `ValueToKey`: replaces the record key with a key built from fields of the value.
//!
//! Schemaless, the value must be a map and the key becomes the map of the listed entries (an
//! absent entry gives null). Schema'd, the value must be a struct and the key becomes a struct
//! of an unnamed schema with the listed fields, in `fields` order, each with its schema from
//! the value (built once per value schema); a listed field missing from the value schema is an
//! error. The key is a map or struct even for one field: chain `ExtractField$Key` to get the
//! bare value. The value itself is unchanged; a null value is an error.
//!
//! ```properties
//! transforms.key.type=org.apache.kafka.connect.transforms.ValueToKey
//! transforms.key.fields=id
//! ```

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator};
use sluice_api::data::{SchemaBuilder, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::headers::non_empty_list;
use crate::util::{
    self, field_value, replace_null_with_default_key, require_map, require_struct, SchemaCache,
    REPLACE_NULL_WITH_DEFAULT,
};

const FIELDS: &str = "fields";
const PURPOSE: &str = "copying fields from value to key";

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![TransformationPlugin {
        class_name: "org.apache.kafka.connect.transforms.ValueToKey",
        config_def,
        create: ValueToKey::create,
    }]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELDS, ConfigType::List)
                .validator(Validator::Custom(non_empty_list))
                .importance(Importance::High)
                .doc(
                    "Comma-separated names of the value fields that make up the new key, in \
                     key order.",
                ),
        )
        .define(replace_null_with_default_key())
}

/// The configured transform.
#[derive(Debug)]
struct ValueToKey {
    /// The fields as listed (a schema'd key has one field per item; a repeated name fails).
    fields: Vec<String>,
    /// The fields without repeats, first occurrence first (the entries of a schemaless key).
    distinct_fields: Vec<String>,
    replace_null_with_default: bool,
    key_schemas: SchemaCache,
}

impl ValueToKey {
    fn create(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&config_def(), props)?;
        let fields = config.list(FIELDS).to_vec();
        let mut distinct_fields: Vec<String> = Vec::with_capacity(fields.len());
        for field in &fields {
            if !distinct_fields.contains(field) {
                distinct_fields.push(field.clone());
            }
        }
        Ok(Box::new(ValueToKey {
            fields,
            distinct_fields,
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            key_schemas: SchemaCache::new(),
        }))
    }
}

impl Transformation for ValueToKey {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if record.value_schema.is_none() {
            let entries = require_map(&record.value, PURPOSE)?;
            let key = self
                .distinct_fields
                .iter()
                .map(|field| {
                    let value = entries
                        .iter()
                        .find(|(k, _)| k.as_str() == Some(field))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    (Value::String(field.clone()), value)
                })
                .collect();
            record.key_schema = None;
            record.key = Value::Map(key);
            return Ok(Outcome::Keep);
        }
        let value = require_struct(&record.value, PURPOSE)?;
        let value_schema = value.schema().clone();
        let key_schema = self.key_schemas.get_or_build(&value_schema, |schema| {
            let mut builder = SchemaBuilder::struct_();
            for field in &self.fields {
                let from_value = schema
                    .field(field)
                    .ok_or_else(|| ConnectError::data(format!("Field does not exist: {field}")))?;
                builder = builder.field(field.clone(), from_value.schema.clone())?;
            }
            Ok(builder.build())
        })?;
        let key_values = self
            .fields
            .iter()
            .map(|field| {
                field_value(value, field, self.replace_null_with_default)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        // Each key field has the schema of the value field it copies, so only nulls in
        // required fields need checking.
        let key = Struct::from_values_unchecked(key_schema.clone(), key_values)?;
        record.key_schema = Some(key_schema);
        record.key = Value::Struct(key);
        record.value_schema = Some(value_schema);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{Schema, SchemaType};

    fn xform(pairs: &[(&str, &str)]) -> Box<dyn Transformation> {
        let props: ConfigMap = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ValueToKey::create(&props).unwrap()
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    #[test]
    fn schemaless() {
        let x = xform(&[("fields", "a,b")]);
        let value = map(vec![
            ("a", Value::Int32(1)),
            ("b", Value::Int32(2)),
            ("c", Value::Int32(3)),
        ]);
        let mut record = ConnectRecord::new("t", None, value.clone());
        record.key = Value::from("old");
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(out.key_schema, None);
        assert_eq!(
            out.key,
            map(vec![("a", Value::Int32(1)), ("b", Value::Int32(2))])
        );
        assert_eq!(out.value, value);
    }

    #[test]
    fn schemaless_absent_fields_are_null_and_repeats_collapse() {
        let x = xform(&[("fields", "a,missing,a")]);
        let out = x
            .apply_owned(ConnectRecord::new(
                "t",
                None,
                map(vec![("a", Value::Int32(1))]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.key,
            map(vec![("a", Value::Int32(1)), ("missing", Value::Null)])
        );
    }

    fn value_schema() -> sluice_api::data::SchemaRef {
        SchemaBuilder::struct_()
            .field("a", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("b", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("c", Schema::required(SchemaType::Int32))
            .unwrap()
            .build()
    }

    #[test]
    fn with_schema() {
        let x = xform(&[("fields", "b,a")]);
        let schema = value_schema();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("a", 1)
            .unwrap()
            .with("b", 2)
            .unwrap()
            .with("c", 3)
            .unwrap();
        let record = ConnectRecord::new("t", Some(schema.clone()), Value::Struct(value.clone()));
        let out = x.apply_owned(record).unwrap().unwrap();
        let key_schema = SchemaBuilder::struct_()
            .field("b", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("a", Schema::required(SchemaType::Int32))
            .unwrap()
            .build();
        assert_eq!(out.key_schema.as_ref(), Some(&key_schema));
        let key = Struct::new(key_schema)
            .unwrap()
            .with("b", 2)
            .unwrap()
            .with("a", 1)
            .unwrap();
        assert_eq!(out.key, Value::Struct(key));
        assert_eq!(out.value, Value::Struct(value));
        assert_eq!(out.value_schema, Some(schema));
    }

    #[test]
    fn with_schema_missing_or_repeated_field_fails() {
        let schema = value_schema();
        let record = || {
            ConnectRecord::new(
                "t",
                Some(schema.clone()),
                Value::Struct(
                    Struct::new(schema.clone())
                        .unwrap()
                        .with("a", 1)
                        .unwrap()
                        .with("b", 2)
                        .unwrap()
                        .with("c", 3)
                        .unwrap(),
                ),
            )
        };
        let err = xform(&[("fields", "a,not_exist")])
            .apply_owned(record())
            .unwrap_err();
        assert!(err.is_data());
        assert_eq!(err.to_string(), "Field does not exist: not_exist");
        let err = xform(&[("fields", "a,a")])
            .apply_owned(record())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot create field because of field name duplication a"
        );
    }

    #[test]
    fn null_value_fails() {
        let x = xform(&[("fields", "a")]);
        let err = x
            .apply_owned(ConnectRecord::new("t", None, Value::Null))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Map objects supported in absence of schema for [copying fields from value to key], found: null"
        );
        let err = x
            .apply_owned(ConnectRecord::new("t", Some(value_schema()), Value::Null))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Struct objects supported for [copying fields from value to key], found: null"
        );
    }

    #[test]
    fn replace_null_with_default() {
        let schema = SchemaBuilder::struct_()
            .field(
                "n",
                SchemaBuilder::new(SchemaType::Int32)
                    .optional()
                    .default_value(Value::Int32(42))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        for (setting, expected) in [("true", Value::Int32(42)), ("false", Value::Null)] {
            let x = xform(&[("fields", "n"), ("replace.null.with.default", setting)]);
            let record = ConnectRecord::new(
                "t",
                Some(schema.clone()),
                Value::Struct(Struct::new(schema.clone()).unwrap()),
            );
            let out = x.apply_owned(record).unwrap().unwrap();
            match out.key {
                Value::Struct(key) => assert_eq!(key.get_without_default("n"), Some(&expected)),
                other => panic!("not a struct: {other:?}"),
            }
        }
    }

    #[test]
    fn fields_must_be_a_non_empty_list() {
        let create = |pairs: &[(&str, &str)]| {
            let props: ConfigMap = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ValueToKey::create(&props)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            create(&[("fields", "")]),
            "invalid configuration for 'fields': Invalid value  for configuration fields: Empty list"
        );
        assert_eq!(
            create(&[]),
            "invalid configuration for 'fields': Missing required configuration \"fields\" which has no default value."
        );
    }
}

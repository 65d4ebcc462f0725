//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value with one of its fields.
//!
//! Schemaless data must be a map (or null); the result is the named entry, null when absent.
//! Schema'd data must be a struct (or null); the field must exist in the schema (`Unknown
//! field: <field>` otherwise), and the result takes the field's schema. A null operand gives a
//! null result. With `field.syntax.version=V2` the field is a dotted path into nested data
//! (see the `field_path` module).
//!
//! ```properties
//! transforms.id.type=org.apache.kafka.connect.transforms.ExtractField$Key
//! transforms.id.field=id
//! ```

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_api::data::Value;
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::field_path::{FieldSyntaxVersion, SingleFieldPath};
use crate::util::{
    self, replace_null_with_default_key, require_map_or_null, require_struct_or_null, Operand,
    REPLACE_NULL_WITH_DEFAULT,
};

const FIELD: &str = "field";
const PURPOSE: &str = "field extraction";

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.ExtractField$Key",
            config_def,
            create: |props| ExtractField::create(props, Operand::Key),
        },
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.ExtractField$Value",
            config_def,
            create: |props| ExtractField::create(props, Operand::Value),
        },
    ]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FIELD, ConfigType::String)
                .importance(Importance::Medium)
                .doc(
                    "The field whose value replaces the whole key or value. With \
                     `field.syntax.version=V2` this is a dotted path to a nested field.",
                ),
        )
        .define(replace_null_with_default_key())
        .define(FieldSyntaxVersion::config_key())
}

/// The configured transform.
#[derive(Debug)]
struct ExtractField {
    operand: Operand,
    /// The `field` text as configured, for the `Unknown field` error.
    field: String,
    path: SingleFieldPath,
    replace_null_with_default: bool,
}

impl ExtractField {
    fn create(props: &ConfigMap, operand: Operand) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&config_def(), props)?;
        let field = config.string(FIELD).unwrap_or_default().to_owned();
        let version = FieldSyntaxVersion::from_config(&config)?;
        let path = SingleFieldPath::parse(FIELD, &field, version)?;
        Ok(Box::new(ExtractField {
            operand,
            field,
            path,
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
        }))
    }
}

impl Transformation for ExtractField {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let (schema, value) = self.operand.take(record);
        let (schema, value) = match schema {
            None => {
                require_map_or_null(&value, PURPOSE)?;
                let extracted = match value {
                    Value::Map(entries) => self.path.take_from_map(entries)?,
                    _ => Value::Null,
                };
                (None, extracted)
            }
            Some(schema) => {
                require_struct_or_null(&value, PURPOSE)?;
                let field_schema = match self.path.field_from(&schema)? {
                    Some(field) => field.schema.clone(),
                    None => {
                        return Err(ConnectError::data(format!("Unknown field: {}", self.field)))
                    }
                };
                let extracted = match value {
                    Value::Struct(s) => self
                        .path
                        .take_from_struct(s, self.replace_null_with_default)?,
                    _ => Value::Null,
                };
                (Some(field_schema), extracted)
            }
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{Schema, SchemaBuilder, SchemaType, Struct};

    fn xform(operand: Operand, pairs: &[(&str, &str)]) -> Box<dyn Transformation> {
        let props: ConfigMap = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ExtractField::create(&props, operand).unwrap()
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    fn key_record(schema: Option<sluice_api::data::SchemaRef>, key: Value) -> ConnectRecord {
        let mut record = ConnectRecord::new("test", None, Value::from("value"));
        record.kafka_partition = Some(0);
        record.key_schema = schema;
        record.key = key;
        record
    }

    fn apply(x: &dyn Transformation, record: ConnectRecord) -> ConnectRecord {
        x.apply_owned(record).unwrap().unwrap()
    }

    #[test]
    fn plugins_name_both_variants() {
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(
            names,
            [
                "org.apache.kafka.connect.transforms.ExtractField$Key",
                "org.apache.kafka.connect.transforms.ExtractField$Value"
            ]
        );
    }

    #[test]
    fn schemaless() {
        let x = xform(Operand::Key, &[("field", "magic")]);
        let out = apply(
            &*x,
            key_record(None, map(vec![("magic", Value::Int32(42))])),
        );
        assert_eq!(out.key_schema, None);
        assert_eq!(out.key, Value::Int32(42));
        assert_eq!(out.value, Value::from("value"), "the other side is kept");
        assert_eq!(out.kafka_partition, Some(0));
    }

    #[test]
    fn schemaless_nested_path() {
        let x = xform(
            Operand::Key,
            &[("field", "magic.foo"), ("field.syntax.version", "v2")],
        );
        let key = map(vec![("magic", map(vec![("foo", Value::Int32(42))]))]);
        let out = apply(&*x, key_record(None, key));
        assert_eq!(out.key, Value::Int32(42));
    }

    #[test]
    fn v1_reads_dotted_names_as_one_field() {
        let x = xform(Operand::Key, &[("field", "magic.foo")]);
        let key = map(vec![
            ("magic.foo", Value::Int32(1)),
            ("magic", map(vec![("foo", Value::Int32(2))])),
        ]);
        assert_eq!(apply(&*x, key_record(None, key)).key, Value::Int32(1));
    }

    #[test]
    fn v2_backquoted_step_may_contain_dots() {
        let x = xform(
            Operand::Value,
            &[("field", "`a.b`.c"), ("field.syntax.version", "V2")],
        );
        let value = map(vec![("a.b", map(vec![("c", Value::from("x"))]))]);
        let out = apply(&*x, ConnectRecord::new("t", None, value));
        assert_eq!(out.value, Value::from("x"));
    }

    #[test]
    fn schemaless_null_and_missing_fields_give_null() {
        let x = xform(Operand::Key, &[("field", "magic")]);
        let out = apply(&*x, key_record(None, Value::Null));
        assert_eq!((out.key_schema, out.key), (None, Value::Null));
        let x = xform(Operand::Key, &[("field", "nonexistent")]);
        let out = apply(
            &*x,
            key_record(None, map(vec![("magic", Value::Int32(42))])),
        );
        assert_eq!(out.key, Value::Null);
        let x = xform(
            Operand::Key,
            &[
                ("field", "magic.nonexistent"),
                ("field.syntax.version", "V2"),
            ],
        );
        let key = map(vec![("magic", map(vec![("foo", Value::Int32(42))]))]);
        assert_eq!(apply(&*x, key_record(None, key)).key, Value::Null);
    }

    #[test]
    fn schemaless_requires_a_map() {
        let x = xform(Operand::Value, &[("field", "magic")]);
        let err = x
            .apply_owned(ConnectRecord::new("t", None, Value::Int64(1)))
            .unwrap_err();
        assert!(err.is_data());
        assert_eq!(
            err.to_string(),
            "Only Map objects supported in absence of schema for [field extraction], found: java.lang.Long"
        );
    }

    #[test]
    fn with_schema() {
        let x = xform(Operand::Key, &[("field", "magic")]);
        let schema = SchemaBuilder::struct_()
            .field("magic", Schema::required(SchemaType::Int32))
            .unwrap()
            .build();
        let key = Struct::new(schema.clone())
            .unwrap()
            .with("magic", 42)
            .unwrap();
        let out = apply(&*x, key_record(Some(schema), Value::Struct(key)));
        assert_eq!(out.key_schema, Some(Schema::required(SchemaType::Int32)));
        assert_eq!(out.key, Value::Int32(42));
    }

    #[test]
    fn with_schema_nested_path() {
        let x = xform(
            Operand::Key,
            &[("field", "magic.foo"), ("field.syntax.version", "V2")],
        );
        let foo = SchemaBuilder::struct_()
            .field("foo", Schema::required(SchemaType::Int32))
            .unwrap()
            .build();
        let schema = SchemaBuilder::struct_()
            .field("magic", foo.clone())
            .unwrap()
            .build();
        let inner = Struct::new(foo).unwrap().with("foo", 42).unwrap();
        let key = Struct::new(schema.clone())
            .unwrap()
            .with("magic", Value::Struct(inner))
            .unwrap();
        let out = apply(&*x, key_record(Some(schema), Value::Struct(key)));
        assert_eq!(out.key_schema, Some(Schema::required(SchemaType::Int32)));
        assert_eq!(out.key, Value::Int32(42));
    }

    #[test]
    fn null_with_schema_takes_the_field_schema() {
        let x = xform(Operand::Key, &[("field", "magic")]);
        let schema = SchemaBuilder::struct_()
            .field("magic", Schema::required(SchemaType::Int32))
            .unwrap()
            .optional()
            .build();
        let out = apply(&*x, key_record(Some(schema), Value::Null));
        assert_eq!(out.key_schema, Some(Schema::required(SchemaType::Int32)));
        assert_eq!(out.key, Value::Null);
    }

    #[test]
    fn unknown_field_with_schema_fails() {
        let schema = SchemaBuilder::struct_()
            .field(
                "magic",
                SchemaBuilder::struct_()
                    .field("foo", Schema::required(SchemaType::Int32))
                    .unwrap()
                    .optional()
                    .build(),
            )
            .unwrap()
            .build();
        let x = xform(Operand::Key, &[("field", "nonexistent")]);
        let err = x
            .apply_owned(key_record(Some(schema.clone()), Value::Null))
            .unwrap_err();
        assert_eq!(err.to_string(), "Unknown field: nonexistent");
        let x = xform(
            Operand::Key,
            &[
                ("field", "magic.nonexistent"),
                ("field.syntax.version", "V2"),
            ],
        );
        let key = Struct::new(schema.clone()).unwrap();
        let err = x
            .apply_owned(key_record(Some(schema), Value::Struct(key)))
            .unwrap_err();
        assert!(err.is_data());
        assert_eq!(err.to_string(), "Unknown field: magic.nonexistent");
    }

    #[test]
    fn with_schema_requires_a_struct() {
        let x = xform(Operand::Value, &[("field", "magic")]);
        let record = ConnectRecord::new(
            "t",
            Some(Schema::required(SchemaType::String)),
            Value::from("x"),
        );
        assert_eq!(
            x.apply_owned(record).unwrap_err().to_string(),
            "Only Struct objects supported for [field extraction], found: java.lang.String"
        );
    }

    #[test]
    fn replace_null_with_default() {
        let schema = SchemaBuilder::struct_()
            .field(
                "optional_with_default",
                SchemaBuilder::new(SchemaType::Int32)
                    .optional()
                    .default_value(Value::Int32(42))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        for (setting, expected) in [("true", Value::Int32(42)), ("false", Value::Null)] {
            let x = xform(
                Operand::Value,
                &[
                    ("field", "optional_with_default"),
                    ("replace.null.with.default", setting),
                ],
            );
            let value = Struct::new(schema.clone()).unwrap();
            let out = apply(
                &*x,
                ConnectRecord::new("t", Some(schema.clone()), Value::Struct(value)),
            );
            assert_eq!(out.value, expected, "replace.null.with.default={setting}");
        }
    }

    #[test]
    fn empty_v2_path_fails_records_not_config() {
        let x = xform(
            Operand::Value,
            &[("field", ""), ("field.syntax.version", "V2")],
        );
        let record = ConnectRecord::new("t", None, map(vec![("", Value::Int32(1))]));
        assert!(x.apply_owned(record).unwrap_err().is_data());
        let tombstone = apply(&*x, ConnectRecord::new("t", None, Value::Null));
        assert_eq!(tombstone.value, Value::Null);
    }

    #[test]
    fn config_errors() {
        let create = |pairs: &[(&str, &str)]| {
            let props: ConfigMap = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ExtractField::create(&props, Operand::Value)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            create(&[]),
            "invalid configuration for 'field': Missing required configuration \"field\" which has no default value."
        );
        assert_eq!(
            create(&[("field", "a"), ("field.syntax.version", "V3")]),
            "invalid configuration for 'field.syntax.version': Invalid value V3 for configuration field.syntax.version: String must be one of (case insensitive): V1, V2"
        );
        assert_eq!(
            create(&[("field", "`a"), ("field.syntax.version", "V2")]),
            "invalid configuration for 'field': Incomplete backtick pair in path: [`a], consider adding a backslash before backtick at position 0 to escape it"
        );
        assert_eq!(
            create(&[("field", "a"), ("replace.null.with.default", "maybe")]),
            "invalid configuration for 'replace.null.with.default': Invalid value maybe for configuration replace.null.with.default: Expected value to be either true or false"
        );
    }
}

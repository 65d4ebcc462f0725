//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a one-field struct or map.
//!
//! Schemaless, the result is the map `{field: <operand>}`. Schema'd, the result is a struct of
//! the unnamed, required schema `struct{field: <operand schema>}` (built once per input schema),
//! so a null operand of a required schema is an error. Pair it with `ExtractField` to undo it.
//!
//! ```properties
//! transforms.wrap.type=org.apache.kafka.connect.transforms.HoistField$Value
//! transforms.wrap.field=line
//! ```

use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance};
use sluice_api::data::{SchemaBuilder, Struct, Value};
use sluice_api::error::Result;
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::util::{self, Operand, SchemaCache};

const FIELD: &str = "field";

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.HoistField$Key",
            config_def,
            create: |props| HoistField::create(props, Operand::Key),
        },
        TransformationPlugin {
            class_name: "org.apache.kafka.connect.transforms.HoistField$Value",
            config_def,
            create: |props| HoistField::create(props, Operand::Value),
        },
    ]
}

fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(FIELD, ConfigType::String)
            .importance(Importance::Medium)
            .doc(
                "Name of the single field of the struct (schema'd data) or map (schemaless \
                 data) that the key or value is wrapped in.",
            ),
    )
}

/// The configured transform.
#[derive(Debug)]
struct HoistField {
    operand: Operand,
    field: String,
    schemas: SchemaCache,
}

impl HoistField {
    fn create(props: &ConfigMap, operand: Operand) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&config_def(), props)?;
        Ok(Box::new(HoistField {
            operand,
            field: config.string(FIELD).unwrap_or_default().to_owned(),
            schemas: SchemaCache::new(),
        }))
    }
}

impl Transformation for HoistField {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let (schema, value) = self.operand.take(record);
        let (schema, value) = match schema {
            None => (
                None,
                Value::Map(vec![(Value::String(self.field.clone()), value)]),
            ),
            Some(schema) => {
                let wrapper = self.schemas.get_or_build(&schema, |inner| {
                    Ok(SchemaBuilder::struct_()
                        .field(self.field.clone(), inner.clone())?
                        .build())
                })?;
                let wrapped = Struct::from_values(wrapper.clone(), vec![value])?;
                (Some(wrapper), Value::Struct(wrapped))
            }
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{Schema, SchemaType};

    fn xform(operand: Operand, field: &str) -> Box<dyn Transformation> {
        let props = ConfigMap::from([("field".to_string(), field.to_string())]);
        HoistField::create(&props, operand).unwrap()
    }

    #[test]
    fn schemaless_wraps_in_a_map() {
        let x = xform(Operand::Key, "magic");
        let mut record = ConnectRecord::new("t", None, Value::from("v"));
        record.key = Value::Int32(42);
        let out = x.apply_owned(record).unwrap().unwrap();
        assert_eq!(out.key_schema, None);
        assert_eq!(
            out.key,
            Value::Map(vec![(Value::from("magic"), Value::Int32(42))])
        );
        assert_eq!(out.value, Value::from("v"));
    }

    #[test]
    fn schemaless_wraps_null_too() {
        let x = xform(Operand::Value, "magic");
        let out = x
            .apply_owned(ConnectRecord::new("t", None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            Value::Map(vec![(Value::from("magic"), Value::Null)])
        );
    }

    #[test]
    fn with_schema_wraps_in_a_struct() {
        let x = xform(Operand::Key, "magic");
        let mut record = ConnectRecord::new("t", None, Value::Null);
        record.key_schema = Some(Schema::required(SchemaType::Int32));
        record.key = Value::Int32(42);
        let out = x.apply_owned(record.clone()).unwrap().unwrap();
        let expected_schema = SchemaBuilder::struct_()
            .field("magic", Schema::required(SchemaType::Int32))
            .unwrap()
            .build();
        assert_eq!(out.key_schema.as_ref(), Some(&expected_schema));
        let expected = Struct::new(expected_schema)
            .unwrap()
            .with("magic", 42)
            .unwrap();
        assert_eq!(out.key, Value::Struct(expected));
        let again = x.apply_owned(record).unwrap().unwrap();
        assert!(
            sluice_api::data::SchemaRef::ptr_eq(
                out.key_schema.as_ref().unwrap(),
                again.key_schema.as_ref().unwrap()
            ),
            "the wrapper schema is built once"
        );
    }

    #[test]
    fn with_schema_null_needs_an_optional_schema() {
        let x = xform(Operand::Value, "magic");
        let err = x
            .apply_owned(ConnectRecord::new(
                "t",
                Some(Schema::required(SchemaType::String)),
                Value::Null,
            ))
            .unwrap_err();
        assert!(err.is_data());
        assert_eq!(
            err.to_string(),
            "Invalid value: null used for required field: \"magic\", schema type: STRING"
        );
        let out = x
            .apply_owned(ConnectRecord::new(
                "t",
                Some(Schema::optional(SchemaType::String)),
                Value::Null,
            ))
            .unwrap()
            .unwrap();
        match out.value {
            Value::Struct(s) => assert_eq!(s.get("magic"), Some(&Value::Null)),
            other => panic!("not a struct: {other:?}"),
        }
    }

    #[test]
    fn field_is_required() {
        let err = HoistField::create(&ConfigMap::new(), Operand::Value)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'field': Missing required configuration \"field\" which has no default value."
        );
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(
            names,
            [
                "org.apache.kafka.connect.transforms.HoistField$Key",
                "org.apache.kafka.connect.transforms.HoistField$Value"
            ]
        );
    }
}

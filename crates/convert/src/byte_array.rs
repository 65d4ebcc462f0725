//! Kafka's `org.apache.kafka.connect.converters.ByteArrayConverter`: bytes pass through
//! unchanged (no copy); reads yield an optional bytes schema.

use bytes::Bytes;
use sluice_api::config::ConfigMap;
use sluice_api::converter::{Converter, ConverterPlugin, ConverterType, HeaderConverter};
use sluice_api::data::{Schema, SchemaAndValue, SchemaRef, SchemaType, Value};
use sluice_api::{ConnectError, Result};

use crate::config::{converter_config_def, parse_converter_config};

/// Kafka's class name for this converter.
pub const BYTE_ARRAY_CONVERTER_CLASS: &str =
    "org.apache.kafka.connect.converters.ByteArrayConverter";

/// Kafka's ByteArrayConverter.
#[derive(Debug, Clone)]
pub struct ByteArrayConverter {
    schema: SchemaRef,
}

impl Default for ByteArrayConverter {
    fn default() -> Self {
        ByteArrayConverter::new()
    }
}

impl ByteArrayConverter {
    /// The converter (it has no settings).
    pub fn new() -> Self {
        ByteArrayConverter {
            schema: Schema::optional(SchemaType::Bytes),
        }
    }

    /// The value's bytes; the schema must be absent or BYTES and the value bytes or null.
    pub fn serialize(&self, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Bytes>> {
        if let Some(s) = schema.filter(|s| s.schema_type != SchemaType::Bytes) {
            return Err(ConnectError::data(format!(
                "Invalid schema type for ByteArrayConverter: {}",
                s.schema_type
            )));
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(ConnectError::data(format!(
                "ByteArrayConverter is not compatible with objects of type class {}",
                other.type_name()
            ))),
        }
    }

    /// The bytes as an optional bytes value.
    pub fn deserialize(&self, data: Option<Bytes>) -> SchemaAndValue {
        SchemaAndValue::new(
            Some(self.schema.clone()),
            data.map_or(Value::Null, Value::Bytes),
        )
    }
}

impl Converter for ByteArrayConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        self.serialize(schema, value)
    }

    fn to_connect_data(&self, _topic: &str, data: Option<Bytes>) -> Result<SchemaAndValue> {
        Ok(self.deserialize(data))
    }
}

impl HeaderConverter for ByteArrayConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        self.serialize(schema, value)
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        data: Option<Bytes>,
    ) -> Result<SchemaAndValue> {
        Ok(self.deserialize(data))
    }
}

fn create(props: &ConfigMap, converter_type: ConverterType) -> Result<Box<dyn Converter>> {
    parse_converter_config(&converter_config_def(), props, converter_type)?;
    Ok(Box::new(ByteArrayConverter::new()))
}

fn create_header(props: &ConfigMap) -> Result<Box<dyn HeaderConverter>> {
    parse_converter_config(&converter_config_def(), props, ConverterType::Header)?;
    Ok(Box::new(ByteArrayConverter::new()))
}

/// The registry entry of ByteArrayConverter.
pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    class_name: BYTE_ARRAY_CONVERTER_CLASS,
    config_def: converter_config_def,
    create: Some(create),
    create_header: Some(create_header),
};

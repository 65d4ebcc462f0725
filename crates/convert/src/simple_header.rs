//! Kafka's `org.apache.kafka.connect.storage.SimpleHeaderConverter`, the default header
//! converter: header values are written as text with [`convert_to_string`] and read back with
//! the type inference of [`parse_string`]. Header bytes are UTF-8; malformed input decodes
//! with replacement characters.

use bytes::Bytes;
use sluice_api::config::{ConfigDef, ConfigMap};
use sluice_api::converter::{ConverterPlugin, HeaderConverter};
use sluice_api::data::values::{convert_to_string, parse_string};
use sluice_api::data::{Schema, SchemaAndValue, SchemaRef, SchemaType, Value};
use sluice_api::Result;

/// Kafka's class name for this converter.
pub const SIMPLE_HEADER_CONVERTER_CLASS: &str =
    "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// Kafka's SimpleHeaderConverter.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleHeaderConverter;

impl SimpleHeaderConverter {
    /// The text bytes of a header value, `None` for null.
    pub fn serialize(&self, value: &Value) -> Option<Bytes> {
        convert_to_string(value).map(|s| crate::bytes_of(s.into_bytes()))
    }

    /// Header bytes to an inferred (schema, value).
    pub fn deserialize(&self, data: Option<&[u8]>) -> SchemaAndValue {
        let Some(bytes) = data else {
            return SchemaAndValue::NULL;
        };
        let text = String::from_utf8_lossy(bytes);
        if text.is_empty() {
            return SchemaAndValue::new(
                Some(Schema::required(SchemaType::String)),
                Value::from(""),
            );
        }
        parse_string(&text)
    }
}

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        Ok(self.serialize(value))
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        data: Option<Bytes>,
    ) -> Result<SchemaAndValue> {
        Ok(self.deserialize(data.as_deref()))
    }
}

fn create_header(_props: &ConfigMap) -> Result<Box<dyn HeaderConverter>> {
    Ok(Box::new(SimpleHeaderConverter))
}

/// The registry entry of SimpleHeaderConverter (a header converter only; it has no keys).
pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    class_name: SIMPLE_HEADER_CONVERTER_CLASS,
    config_def: ConfigDef::new,
    create: None,
    create_header: Some(create_header),
};

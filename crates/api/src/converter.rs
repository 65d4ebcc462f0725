//! Converters turn a record's key, value and headers between bytes on the log and Connect
//! data. A converter is configured once (keys after its class key, prefix stripped) and then
//! used for every record of a connector.

use bytes::Bytes;

use crate::config::{ConfigDef, ConfigMap};
use crate::data::{SchemaAndValue, SchemaRef, Value};
use crate::error::Result;

/// The role a converter is configured for (`converter.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConverterType {
    /// Record keys.
    Key,
    /// Record values.
    Value,
    /// Header values.
    Header,
}

impl ConverterType {
    /// Kafka's name: `key`, `value` or `header`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConverterType::Key => "key",
            ConverterType::Value => "value",
            ConverterType::Header => "header",
        }
    }
}

/// Converts record keys or values. Method names follow Kafka's `Converter`.
#[allow(clippy::wrong_self_convention)]
pub trait Converter: Send + Sync {
    /// Connect data to bytes; `None` is a null (for a value, a tombstone).
    fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>>;

    /// Like [`Converter::from_connect_data`], but takes the value, so a converter may reuse
    /// its memory (StringConverter turns a UTF-8 string into bytes without copying it). The
    /// runtime calls this when nothing needs the record after conversion. By default it
    /// converts the borrowed value.
    fn from_connect_data_owned(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: Value,
    ) -> Result<Option<Bytes>> {
        self.from_connect_data(topic, schema, &value)
    }

    /// Bytes (or null) to Connect data.
    fn to_connect_data(&self, topic: &str, data: Option<Bytes>) -> Result<SchemaAndValue>;
}

/// Converts header values, one header at a time. Method names follow Kafka's
/// `HeaderConverter`.
#[allow(clippy::wrong_self_convention)]
pub trait HeaderConverter: Send + Sync {
    /// Connect header value to bytes; `None` is a null header value.
    fn from_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>>;

    /// Header bytes (or null) to Connect data.
    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        data: Option<Bytes>,
    ) -> Result<SchemaAndValue>;
}

/// Makes a key or value converter from its config (prefix stripped) and role.
pub type ConverterFactory = fn(&ConfigMap, ConverterType) -> Result<Box<dyn Converter>>;

/// Makes a header converter from its config (prefix stripped).
pub type HeaderConverterFactory = fn(&ConfigMap) -> Result<Box<dyn HeaderConverter>>;

/// A converter plugin as the registry knows it.
#[derive(Clone, Copy)]
pub struct ConverterPlugin {
    /// Class name (Kafka's Java class name for the built-ins); aliases are derived from it.
    pub class_name: &'static str,
    /// The converter's own keys.
    pub config_def: fn() -> ConfigDef,
    /// Makes a key or value converter from its config (prefix stripped); `None` when the
    /// plugin is only a header converter.
    pub create: Option<ConverterFactory>,
    /// Makes a header converter from its config; `None` when the plugin cannot convert headers.
    pub create_header: Option<HeaderConverterFactory>,
}

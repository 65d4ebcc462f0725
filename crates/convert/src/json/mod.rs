//! Kafka's `org.apache.kafka.connect.json.JsonConverter`.
//!
//! With `schemas.enable=true` (the default) every key or value is written as the envelope
//! `{"schema":<schema JSON>,"payload":<value JSON>}` and read back from it; with
//! `schemas.enable=false` the payload stands alone and reads come back schemaless (integers
//! as int64, other numbers as float64, objects as maps). The schema JSON, the value encodings
//! (Base64 bytes, Decimal as Base64 or a number, Date/Time/Timestamp as integers, maps with
//! non-string keys as `[[k,v],..]`), the null and default rules and the error messages are
//! Kafka's; see [`JsonConverter`].
//!
//! Schemas are translated once per distinct schema and kept in LRU caches of
//! `schemas.cache.size` entries each: schema JSON for writing, Connect schemas for reading,
//! and the members of each written schema's structs (names as JSON, how values are written).

mod cache;
mod parser;
mod read;
mod write;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Validator, Width,
};
use sluice_api::converter::{Converter, ConverterPlugin, ConverterType, HeaderConverter};
use sluice_api::data::{Schema, SchemaAndValue, SchemaRef, Value};
use sluice_api::{ConnectError, Result};

use crate::config::{converter_config_def, parse_converter_config};
use cache::{StructMembersCache, ToConnectCache, ToJsonCache};
use write::{JsonWriter, StructMembers};

thread_local! {
    /// The buffer this thread writes records into before copying each out at its exact
    /// size: one allocation per record, where writing into a buffer of a guessed size
    /// takes a second call to trim it (see [`crate::bytes_of`]).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The largest scratch buffer a thread keeps between records (one larger record does not
/// hold its memory for good).
const SCRATCH_KEPT: usize = 1 << 20;

/// Kafka's class name for this converter.
pub const JSON_CONVERTER_CLASS: &str = "org.apache.kafka.connect.json.JsonConverter";

/// `schemas.enable`.
pub const SCHEMAS_ENABLE_CONFIG: &str = "schemas.enable";
/// `schemas.cache.size`.
pub const SCHEMAS_CACHE_SIZE_CONFIG: &str = "schemas.cache.size";
/// `decimal.format`.
pub const DECIMAL_FORMAT_CONFIG: &str = "decimal.format";
/// `replace.null.with.default`.
pub const REPLACE_NULL_WITH_DEFAULT_CONFIG: &str = "replace.null.with.default";

const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

/// How Decimal values are written (`decimal.format`); both forms are always readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalFormat {
    /// Base64 of the unscaled value's two's-complement bytes (`"AJw="` for 1.56 at scale 2).
    #[default]
    Base64,
    /// A JSON number with the value's scale (`1.56`).
    Numeric,
}

/// The settings of a [`JsonConverter`], with Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonConverterConfig {
    /// `schemas.enable`: write and expect the schema envelope (default true).
    pub schemas_enable: bool,
    /// `schemas.cache.size`: entries in each schema cache (default 1000; 0 disables caching).
    pub schemas_cache_size: usize,
    /// `decimal.format` (default BASE64).
    pub decimal_format: DecimalFormat,
    /// `replace.null.with.default`: write and read a schema's default in place of null
    /// (default true).
    pub replace_null_with_default: bool,
}

impl Default for JsonConverterConfig {
    fn default() -> Self {
        JsonConverterConfig {
            schemas_enable: true,
            schemas_cache_size: 1000,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
        }
    }
}

impl JsonConverterConfig {
    /// Kafka's `JsonConverterConfig` keys (plus `converter.type`).
    pub fn config_def() -> ConfigDef {
        converter_config_def()
            .define(
                ConfigKey::new(SCHEMAS_ENABLE_CONFIG, ConfigType::Boolean)
                    .default_value("true")
                    .importance(Importance::High)
                    .doc("Whether to write each key and value inside a {\"schema\":...,\"payload\":...} envelope that carries its Connect schema, and to expect that envelope when reading.")
                    .group("Schemas", 0)
                    .width(Width::Medium)
                    .display_name("Enable Schemas"),
            )
            .define(
                ConfigKey::new(SCHEMAS_CACHE_SIZE_CONFIG, ConfigType::Int)
                    .default_value("1000")
                    .importance(Importance::High)
                    .doc("How many schemas each of this converter's schema caches keeps: schema JSON written, schemas read, and struct member names written as JSON.")
                    .group("Schemas", 1)
                    .width(Width::Medium)
                    .display_name("Schema Cache Size"),
            )
            .define(
                ConfigKey::new(DECIMAL_FORMAT_CONFIG, ConfigType::String)
                    .default_value("BASE64")
                    .validator(Validator::OneOfIgnoreCase(vec!["BASE64", "NUMERIC"]))
                    .importance(Importance::Low)
                    .doc("How Decimal values are written: BASE64 (the default) writes the unscaled value's bytes in Base64, NUMERIC writes a JSON number. Case-insensitive. Both forms are read either way.")
                    .group("Serialization", 0)
                    .width(Width::Medium)
                    .display_name("Decimal Format"),
            )
            .define(
                ConfigKey::new(REPLACE_NULL_WITH_DEFAULT_CONFIG, ConfigType::Boolean)
                    .default_value("true")
                    .importance(Importance::Low)
                    .doc("Whether a null value whose schema has a default is written and read as that default (true) or as null (false).")
                    .group("Serialization", 1)
                    .width(Width::Medium)
                    .display_name("Replace null with default"),
            )
    }

    /// Parses the converter's keys (prefix already stripped) for the given role.
    pub fn from_config(props: &ConfigMap, converter_type: ConverterType) -> Result<Self> {
        let parsed = parse_converter_config(&Self::config_def(), props, converter_type)?;
        let defaults = JsonConverterConfig::default();
        let decimal_format = match parsed.string(DECIMAL_FORMAT_CONFIG) {
            Some(f) if f.eq_ignore_ascii_case("NUMERIC") => DecimalFormat::Numeric,
            _ => DecimalFormat::Base64,
        };
        Ok(JsonConverterConfig {
            schemas_enable: parsed
                .boolean(SCHEMAS_ENABLE_CONFIG)
                .unwrap_or(defaults.schemas_enable),
            schemas_cache_size: parsed
                .int(SCHEMAS_CACHE_SIZE_CONFIG)
                .map_or(defaults.schemas_cache_size, |n| n.max(0) as usize),
            decimal_format,
            replace_null_with_default: parsed
                .boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG)
                .unwrap_or(defaults.replace_null_with_default),
        })
    }
}

/// Kafka's JsonConverter: Connect data ↔ JSON bytes, as a key, value or header converter.
///
/// ```
/// use sluice_api::data::{Schema, SchemaType, Value};
/// use sluice_convert::json::{JsonConverter, JsonConverterConfig};
///
/// let converter = JsonConverter::new(JsonConverterConfig::default());
/// let schema = Schema::required(SchemaType::Boolean);
/// let bytes = converter.serialize(Some(&schema), &Value::Boolean(true)).unwrap().unwrap();
/// assert_eq!(bytes, br#"{"schema":{"type":"boolean","optional":false},"payload":true}"#);
/// let back = converter.deserialize(&bytes).unwrap();
/// assert_eq!(back.value, Value::Boolean(true));
/// ```
pub struct JsonConverter {
    config: JsonConverterConfig,
    to_json: Mutex<ToJsonCache>,
    to_connect: Mutex<ToConnectCache>,
    /// Struct members prepared for writing, per record schema.
    struct_members: Mutex<StructMembersCache>,
    /// Size of the last output, to size the next buffer in one allocation.
    size_hint: AtomicUsize,
}

impl JsonConverter {
    /// A converter with the given settings.
    pub fn new(config: JsonConverterConfig) -> Self {
        JsonConverter {
            to_json: Mutex::new(ToJsonCache::new(config.schemas_cache_size)),
            to_connect: Mutex::new(ToConnectCache::new(config.schemas_cache_size)),
            struct_members: Mutex::new(StructMembersCache::new(config.schemas_cache_size)),
            size_hint: AtomicUsize::new(64),
            config,
        }
    }

    /// The converter's settings.
    pub fn config(&self) -> &JsonConverterConfig {
        &self.config
    }

    /// Kafka's `fromConnectData`: the JSON bytes of `value`, or `None` (a tombstone) when both
    /// schema and value are null.
    pub fn serialize(&self, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.size_hint.load(Ordering::Relaxed) + 16);
        self.serialize_into(&mut out, schema, value)?;
        self.size_hint.store(out.len(), Ordering::Relaxed);
        Ok(Some(out))
    }

    /// Appends the JSON of `value` to `out` (inside the envelope when schemas are enabled),
    /// for callers that reuse a buffer. Unlike [`JsonConverter::serialize`] it writes
    /// (null schema, null value) as JSON nulls instead of returning a tombstone; on error
    /// `out` is left as it was.
    pub fn serialize_into(
        &self,
        out: &mut Vec<u8>,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<()> {
        let start = out.len();
        let result = self.write_record(out, schema, value);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn write_record(
        &self,
        out: &mut Vec<u8>,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<()> {
        let members = match (schema, value) {
            (Some(s), Value::Struct(_)) => self.struct_members(s),
            _ => None,
        };
        let payload = |out: &mut Vec<u8>| {
            JsonWriter {
                out,
                config: &self.config,
                members: members.as_deref(),
            }
            .write_value(schema.map(|s| &**s), value)
        };
        if self.config.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => self.write_schema_cached(out, s)?,
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            payload(out)?;
            out.push(b'}');
        } else {
            payload(out)?;
        }
        Ok(())
    }

    /// The members of the structs of `schema`, from the cache or made now (`None` when
    /// caching is off).
    fn struct_members(&self, schema: &SchemaRef) -> Option<Arc<StructMembers>> {
        if self.config.schemas_cache_size == 0 {
            return None;
        }
        if let Some(names) = lock(&self.struct_members).get(schema) {
            return Some(names);
        }
        let names = Arc::new(StructMembers::of(schema));
        lock(&self.struct_members).insert(schema, Arc::clone(&names));
        Some(names)
    }

    fn writer<'a>(&'a self, out: &'a mut Vec<u8>) -> JsonWriter<'a> {
        JsonWriter {
            out,
            config: &self.config,
            members: None,
        }
    }

    fn write_schema_cached(&self, out: &mut Vec<u8>, schema: &SchemaRef) -> Result<()> {
        {
            let mut cache = lock(&self.to_json);
            if let Some(json) = cache.get(schema) {
                out.extend_from_slice(json);
                return Ok(());
            }
        }
        let json = self.as_json_schema(schema)?;
        out.extend_from_slice(&json);
        lock(&self.to_json).insert(schema, json.into_boxed_slice());
        Ok(())
    }

    /// Kafka's `asJsonSchema`: the schema JSON of a Connect schema.
    pub fn as_json_schema(&self, schema: &Schema) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(64);
        self.writer(&mut out).write_schema(schema)?;
        Ok(out)
    }

    /// Kafka's `asConnectSchema`: the Connect schema of schema JSON (`None` for `null`).
    pub fn as_connect_schema(&self, json: &[u8]) -> Result<Option<SchemaRef>> {
        let node = parser::parse_root(json)
            .map_err(serialization_error)?
            .ok_or_else(|| ConnectError::data("Schema must contain 'type' field"))?;
        read::as_connect_schema(&node, self.config.replace_null_with_default)
    }

    /// Kafka's `toConnectData` for non-null bytes.
    pub fn deserialize(&self, data: &[u8]) -> Result<SchemaAndValue> {
        let replace = self.config.replace_null_with_default;
        if !self.config.schemas_enable {
            return Ok(
                match parser::parse_root(data).map_err(serialization_error)? {
                    None => SchemaAndValue::NULL,
                    Some(node) => {
                        SchemaAndValue::new(None, read::to_connect(None, Some(&node), replace)?)
                    }
                },
            );
        }
        let last = lock(&self.to_connect).last();
        let known = last.as_ref().map(|(text, _)| &text[..]);
        let envelope = parser::parse_envelope(data, known).map_err(serialization_error)?;
        if !envelope.valid {
            return Err(ConnectError::data(ENVELOPE_ERROR));
        }
        let schema = match (envelope.schema, last) {
            (Some(_), Some((_, schema))) if envelope.schema_known => Some(schema),
            (Some((start, end)), _) => self.schema_from_json(&data[start..end])?,
            (None, _) => None,
        };
        let value = read::to_connect(schema.as_ref(), envelope.payload.as_ref(), replace)?;
        Ok(SchemaAndValue::new(schema, value))
    }

    fn schema_from_json(&self, json: &[u8]) -> Result<Option<SchemaRef>> {
        if json == b"null" {
            return Ok(None);
        }
        if let Some(schema) = lock(&self.to_connect).get(json) {
            return Ok(Some(schema));
        }
        let schema = self.as_connect_schema(json)?;
        if let Some(s) = &schema {
            lock(&self.to_connect).insert(json, s);
        }
        Ok(schema)
    }

    /// Entries in the (write, read) schema caches.
    pub fn cached_schemas(&self) -> (usize, usize) {
        (lock(&self.to_json).len(), lock(&self.to_connect).len())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A cache cannot be left inconsistent by a panic in another thread: entries are
    // inserted whole.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn serialization_error(e: Box<parser::ParseError>) -> ConnectError {
    ConnectError::data(format!(
        "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
    ))
}

impl Converter for JsonConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut out) => {
                out.clear();
                self.serialize_into(&mut out, schema, value)?;
                let bytes = Bytes::copy_from_slice(&out);
                if out.capacity() > SCRATCH_KEPT {
                    *out = Vec::new();
                }
                Ok(Some(bytes))
            }
            Err(_) => Ok(self.serialize(schema, value)?.map(crate::bytes_of)),
        })
    }

    fn to_connect_data(&self, _topic: &str, data: Option<Bytes>) -> Result<SchemaAndValue> {
        match data {
            None => Ok(SchemaAndValue::NULL),
            Some(bytes) => self.deserialize(&bytes),
        }
    }
}

impl HeaderConverter for JsonConverter {
    fn from_connect_header(
        &self,
        topic: &str,
        _header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        self.from_connect_data(topic, schema, value)
    }

    fn to_connect_header(
        &self,
        topic: &str,
        _header_key: &str,
        data: Option<Bytes>,
    ) -> Result<SchemaAndValue> {
        self.to_connect_data(topic, data)
    }
}

fn create(props: &ConfigMap, converter_type: ConverterType) -> Result<Box<dyn Converter>> {
    Ok(Box::new(JsonConverter::new(
        JsonConverterConfig::from_config(props, converter_type)?,
    )))
}

fn create_header(props: &ConfigMap) -> Result<Box<dyn HeaderConverter>> {
    Ok(Box::new(JsonConverter::new(
        JsonConverterConfig::from_config(props, ConverterType::Header)?,
    )))
}

/// The registry entry of JsonConverter.
pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    class_name: JSON_CONVERTER_CLASS,
    config_def: JsonConverterConfig::config_def,
    create: Some(create),
    create_header: Some(create_header),
};

//! Kafka's `org.apache.kafka.connect.storage.StringConverter`.
//!
//! Writing ignores the schema and encodes the value's Java `toString()` text
//! ([`to_java_string`]): strings as they are, `Struct{a=1,b=x}`, `{k=v}`, `[a, b]`. Reading
//! always yields an optional string schema. Malformed input decodes with U+FFFD replacement
//! characters, as Java's `new String(bytes, charset)` does.
//!
//! The character set is `converter.encoding` (default UTF-8); Kafka's serializer keys inside
//! the converter's config take precedence: `key.serializer.encoding` /
//! `value.serializer.encoding` for writing and `key.deserializer.encoding` /
//! `value.deserializer.encoding` for reading (the `value.` ones for header converters).

use bytes::Bytes;
use sluice_api::config::{ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, Width};
use sluice_api::converter::{Converter, ConverterPlugin, ConverterType, HeaderConverter};
use sluice_api::data::values::to_java_string;
use sluice_api::data::{Schema, SchemaAndValue, SchemaRef, SchemaType, Value};
use sluice_api::{ConnectError, Result};

use crate::config::{converter_config_def, parse_converter_config};

/// Kafka's class name for this converter.
pub const STRING_CONVERTER_CLASS: &str = "org.apache.kafka.connect.storage.StringConverter";
/// `converter.encoding`.
pub const ENCODING_CONFIG: &str = "converter.encoding";

/// A character set StringConverter can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 (`UTF-8`, `UTF8`).
    #[default]
    Utf8,
    /// 7-bit ASCII (`US-ASCII`, `ASCII`); other characters write as `?`.
    Ascii,
    /// ISO-8859-1 (`ISO-8859-1`, `latin1`); other characters write as `?`.
    Latin1,
    /// UTF-16 with a byte-order mark (`UTF-16`): writes big-endian with a BOM, reads by BOM.
    Utf16,
    /// UTF-16 big-endian without BOM (`UTF-16BE`).
    Utf16Be,
    /// UTF-16 little-endian without BOM (`UTF-16LE`).
    Utf16Le,
}

impl Encoding {
    /// Looks up a Java charset name or alias, ignoring case.
    pub fn from_name(name: &str) -> Option<Encoding> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        Some(match n.as_str() {
            "utf-8" | "utf8" | "unicode-1-1-utf-8" => Encoding::Utf8,
            "us-ascii" | "ascii" | "iso646-us" | "default" | "ascii7" => Encoding::Ascii,
            "iso-8859-1" | "iso8859-1" | "latin1" | "l1" | "iso-latin-1" | "cp819" | "ibm819" => {
                Encoding::Latin1
            }
            "utf-16" | "utf16" | "unicode" => Encoding::Utf16,
            "utf-16be" | "utf16be" | "x-utf-16be" | "unicodebigunmarked" => Encoding::Utf16Be,
            "utf-16le" | "utf16le" | "x-utf-16le" | "unicodelittleunmarked" => Encoding::Utf16Le,
            _ => return None,
        })
    }

    /// Encodes text; unmappable characters become `?`.
    pub fn encode(self, s: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => s.as_bytes().to_vec(),
            Encoding::Ascii => s
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
            Encoding::Latin1 => s
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            Encoding::Utf16 => {
                let mut out = vec![0xFE, 0xFF];
                out.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
                out
            }
            Encoding::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Encoding::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        }
    }

    /// Decodes owned bytes: UTF-8 text keeps the buffer it came in when nothing else
    /// shares it (a consumer hands each value in an allocation of its own), otherwise as
    /// [`Encoding::decode`].
    pub fn decode_owned(self, b: Bytes) -> String {
        if self != Encoding::Utf8 {
            return self.decode(&b);
        }
        match String::from_utf8(Vec::from(b)) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// Decodes bytes; malformed input becomes U+FFFD.
    pub fn decode(self, b: &[u8]) -> String {
        match self {
            Encoding::Utf8 => match std::str::from_utf8(b) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(b).into_owned(),
            },
            Encoding::Ascii => b
                .iter()
                .map(|&x| if x.is_ascii() { x as char } else { '\u{FFFD}' })
                .collect(),
            Encoding::Latin1 => b.iter().map(|&x| char::from(x)).collect(),
            Encoding::Utf16 => match b {
                [0xFF, 0xFE, rest @ ..] => decode_utf16(rest, u16::from_le_bytes),
                [0xFE, 0xFF, rest @ ..] => decode_utf16(rest, u16::from_be_bytes),
                _ => decode_utf16(b, u16::from_be_bytes),
            },
            Encoding::Utf16Be => decode_utf16(b, u16::from_be_bytes),
            Encoding::Utf16Le => decode_utf16(b, u16::from_le_bytes),
        }
    }
}

fn decode_utf16(b: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = b.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect();
    if b.len() % 2 == 1 {
        s.push('\u{FFFD}');
    }
    s
}

/// Kafka's StringConverter.
#[derive(Debug, Clone)]
pub struct StringConverter {
    write_encoding: Encoding,
    read_encoding: Encoding,
    schema: SchemaRef,
}

impl Default for StringConverter {
    fn default() -> Self {
        StringConverter::new(Encoding::Utf8, Encoding::Utf8)
    }
}

impl StringConverter {
    /// A converter writing with `write_encoding` and reading with `read_encoding`.
    pub fn new(write_encoding: Encoding, read_encoding: Encoding) -> Self {
        StringConverter {
            write_encoding,
            read_encoding,
            schema: Schema::optional(SchemaType::String),
        }
    }

    /// Kafka's `StringConverterConfig` keys (plus `converter.type`).
    pub fn config_def() -> ConfigDef {
        converter_config_def().define(
            ConfigKey::new(ENCODING_CONFIG, ConfigType::String)
                .default_value("UTF-8")
                .importance(Importance::High)
                .doc("The character set used to turn strings into bytes and back (a Java charset name: UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE, UTF-16LE).")
                .width(Width::Medium)
                .display_name("Encoding"),
        )
    }

    /// Builds the converter from its config (prefix stripped) for the given role.
    pub fn from_config(props: &ConfigMap, converter_type: ConverterType) -> Result<Self> {
        let parsed = parse_converter_config(&Self::config_def(), props, converter_type)?;
        let side = if converter_type == ConverterType::Key {
            "key"
        } else {
            "value"
        };
        let pick = |specific: String| -> Result<Encoding> {
            let (key, name) = match props.get(&specific) {
                Some(name) => (specific.as_str(), name.as_str()),
                None => (
                    ENCODING_CONFIG,
                    parsed.string(ENCODING_CONFIG).unwrap_or("UTF-8"),
                ),
            };
            Encoding::from_name(name).ok_or_else(|| {
                ConnectError::config(
                    key,
                    format!(
                        "Invalid value {name} for configuration {key}: unsupported character set"
                    ),
                )
            })
        };
        Ok(StringConverter::new(
            pick(format!("{side}.serializer.encoding"))?,
            pick(format!("{side}.deserializer.encoding"))?,
        ))
    }

    /// The bytes of a value's text, `None` for null.
    pub fn serialize(&self, value: &Value) -> Option<Bytes> {
        match value {
            Value::Null => None,
            Value::String(s) if self.write_encoding == Encoding::Utf8 => {
                Some(Bytes::copy_from_slice(s.as_bytes()))
            }
            Value::String(s) => Some(crate::bytes_of(self.write_encoding.encode(s))),
            other => {
                let text = to_java_string(other);
                Some(crate::bytes_of(match self.write_encoding {
                    Encoding::Utf8 => text.into_bytes(),
                    enc => enc.encode(&text),
                }))
            }
        }
    }

    /// Bytes (or null) as an optional string.
    pub fn deserialize(&self, data: Option<&[u8]>) -> SchemaAndValue {
        self.deserialize_owned(data.map(Bytes::copy_from_slice))
    }

    /// Like [`StringConverter::deserialize`], but UTF-8 bytes nothing else holds become the
    /// string without a copy (see [`Encoding::decode_owned`]).
    fn deserialize_owned(&self, data: Option<Bytes>) -> SchemaAndValue {
        let value = match data {
            None => Value::Null,
            Some(b) => Value::String(self.read_encoding.decode_owned(b)),
        };
        SchemaAndValue::new(Some(self.schema.clone()), value)
    }
}

impl Converter for StringConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        Ok(self.serialize(value))
    }

    /// A UTF-8 string becomes the bytes of its own buffer, without a copy.
    fn from_connect_data_owned(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: Value,
    ) -> Result<Option<Bytes>> {
        Ok(match value {
            Value::String(s) if self.write_encoding == Encoding::Utf8 => {
                Some(crate::bytes_of(s.into_bytes()))
            }
            other => self.serialize(&other),
        })
    }

    fn to_connect_data(&self, _topic: &str, data: Option<Bytes>) -> Result<SchemaAndValue> {
        Ok(self.deserialize_owned(data))
    }
}

impl HeaderConverter for StringConverter {
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
        Ok(self.deserialize_owned(data))
    }
}

fn create(props: &ConfigMap, converter_type: ConverterType) -> Result<Box<dyn Converter>> {
    Ok(Box::new(StringConverter::from_config(
        props,
        converter_type,
    )?))
}

fn create_header(props: &ConfigMap) -> Result<Box<dyn HeaderConverter>> {
    Ok(Box::new(StringConverter::from_config(
        props,
        ConverterType::Header,
    )?))
}

/// The registry entry of StringConverter.
pub const PLUGIN: ConverterPlugin = ConverterPlugin {
    class_name: STRING_CONVERTER_CLASS,
    config_def: StringConverter::config_def,
    create: Some(create),
    create_header: Some(create_header),
};

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn encodings_round_trip() {
        for enc in [
            Encoding::Utf8,
            Encoding::Utf16,
            Encoding::Utf16Be,
            Encoding::Utf16Le,
        ] {
            assert_eq!(enc.decode(&enc.encode("héllo €")), "héllo €");
        }
        assert_eq!(Encoding::Latin1.encode("hé€"), b"h\xe9?");
        assert_eq!(Encoding::Latin1.decode(b"h\xe9"), "hé");
        assert_eq!(Encoding::Ascii.encode("hé"), b"h?");
        assert_eq!(Encoding::Ascii.decode(b"h\xe9"), "h\u{FFFD}");
        assert_eq!(Encoding::Utf16.encode("a"), [0xFE, 0xFF, 0, b'a']);
        assert_eq!(Encoding::Utf16.decode(&[0xFF, 0xFE, b'a', 0]), "a");
        assert_eq!(Encoding::from_name("utf8"), Some(Encoding::Utf8));
        assert_eq!(Encoding::from_name("ISO_8859_1"), Some(Encoding::Latin1));
        assert_eq!(Encoding::from_name("EBCDIC-XYZ"), None);
    }

    #[test]
    fn owned_and_borrowed_conversion_agree() {
        let utf8 = StringConverter::default();
        let latin1 = StringConverter::new(Encoding::Latin1, Encoding::Utf8);
        for c in [&utf8, &latin1] {
            for v in [
                Value::from("héllo"),
                Value::Null,
                Value::Int32(7),
                Value::String(String::with_capacity(64) + "spare capacity"),
            ] {
                assert_eq!(
                    c.from_connect_data_owned("t", None, v.clone()).unwrap(),
                    c.from_connect_data("t", None, &v).unwrap()
                );
            }
        }
        let text = String::from("no copy");
        let at = text.as_ptr();
        let bytes = utf8
            .from_connect_data_owned("t", None, Value::String(text))
            .unwrap()
            .unwrap();
        assert_eq!(bytes.as_ptr(), at, "the string's buffer is reused");
    }

    #[test]
    fn reading_takes_a_buffer_of_its_own_and_copies_a_shared_one() {
        let utf8 = StringConverter::default();
        let text_of = |data: Bytes| match utf8.to_connect_data("t", Some(data)).unwrap().value {
            Value::String(s) => s,
            other => panic!("not a string: {other:?}"),
        };
        let own = Bytes::from(b"owned bytes".to_vec());
        let at = own.as_ptr();
        let text = text_of(own);
        assert_eq!(text, "owned bytes");
        assert_eq!(text.as_ptr(), at, "the buffer becomes the string");

        let shared = Bytes::from(b"shared bytes".to_vec());
        let kept = shared.clone();
        assert_eq!(text_of(shared), "shared bytes");
        assert_eq!(
            &kept[..],
            b"shared bytes",
            "the other holder keeps its bytes"
        );
        assert_eq!(text_of(kept.slice(7..)), "bytes");

        assert_eq!(text_of(Bytes::from_static(b"a\xffb")), "a\u{FFFD}b");
        let latin1 = StringConverter::new(Encoding::Utf8, Encoding::Latin1);
        let value = latin1
            .to_connect_data("t", Some(Bytes::from_static(b"h\xe9")))
            .unwrap()
            .value;
        assert_eq!(value, Value::from("hé"));
        assert_eq!(utf8.to_connect_data("t", None).unwrap().value, Value::Null);
    }

    #[test]
    fn serializer_keys_take_precedence() {
        let c = StringConverter::from_config(
            &props(&[
                ("converter.encoding", "UTF-16"),
                ("value.deserializer.encoding", "ISO-8859-1"),
                ("key.serializer.encoding", "US-ASCII"),
            ]),
            ConverterType::Value,
        )
        .unwrap();
        assert_eq!(c.write_encoding, Encoding::Utf16);
        assert_eq!(c.read_encoding, Encoding::Latin1);
        let k = StringConverter::from_config(
            &props(&[("key.serializer.encoding", "US-ASCII")]),
            ConverterType::Key,
        )
        .unwrap();
        assert_eq!(k.write_encoding, Encoding::Ascii);
        assert_eq!(k.read_encoding, Encoding::Utf8);
    }

    #[test]
    fn unknown_encoding_names_the_key() {
        let err = StringConverter::from_config(
            &props(&[("converter.encoding", "KLINGON")]),
            ConverterType::Value,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration for 'converter.encoding': Invalid value KLINGON for configuration converter.encoding: unsupported character set"
        );
        let err = StringConverter::from_config(
            &props(&[("value.serializer.encoding", "nope")]),
            ConverterType::Header,
        )
        .unwrap_err();
        assert!(
            matches!(err, ConnectError::Config { ref key, .. } if key == "value.serializer.encoding")
        );
    }
}

//! # sluice-convert
//!
//! Sluice's built-in converters, byte-compatible with Kafka Connect's:
//!
//! | class | here | bytes |
//! |---|---|---|
//! | `org.apache.kafka.connect.json.JsonConverter` | [`json::JsonConverter`] | JSON, with or without the `{"schema":..,"payload":..}` envelope |
//! | `org.apache.kafka.connect.storage.StringConverter` | [`string::StringConverter`] | the value's text in a charset |
//! | `org.apache.kafka.connect.converters.ByteArrayConverter` | [`byte_array::ByteArrayConverter`] | raw bytes |
//! | `org.apache.kafka.connect.converters.{Short,Integer,Long,Float,Double}Converter` | [`number::NumberConverter`] | big-endian fixed width |
//! | `org.apache.kafka.connect.converters.BooleanConverter` | [`number::BooleanConverter`] | one byte |
//! | `org.apache.kafka.connect.storage.SimpleHeaderConverter` | [`simple_header::SimpleHeaderConverter`] | header text with type inference |
//!
//! Every key/value converter also works as a header converter; SimpleHeaderConverter is a
//! header converter only. The registry gets them all from [`plugins`]; the runtime may also
//! build them directly (for offsets: `JsonConverter::new(JsonConverterConfig { schemas_enable:
//! false, ..Default::default() })`).
//!
//! Kafka's `Values` text forms (value to text, text to value with type inference), which
//! SimpleHeaderConverter and StringConverter use, live in [`sluice_api::data::values`] so that
//! transformations share them; Java's number and date renderings in
//! [`sluice_api::data::java_text`].

pub mod byte_array;
pub mod config;
pub mod json;
pub mod number;
pub mod simple_header;
pub mod string;

use bytes::Bytes;
use sluice_api::converter::ConverterPlugin;

pub use byte_array::ByteArrayConverter;
pub use json::{DecimalFormat, JsonConverter, JsonConverterConfig};
pub use number::{BooleanConverter, NumberConverter, NumberType};
pub use simple_header::SimpleHeaderConverter;
pub use string::{Encoding, StringConverter};

/// Every built-in converter plugin, keyed by Kafka's class names.
pub fn plugins() -> Vec<ConverterPlugin> {
    vec![
        json::PLUGIN,
        string::PLUGIN,
        byte_array::PLUGIN,
        number::SHORT_PLUGIN,
        number::INTEGER_PLUGIN,
        number::LONG_PLUGIN,
        number::FLOAT_PLUGIN,
        number::DOUBLE_PLUGIN,
        number::BOOLEAN_PLUGIN,
        simple_header::PLUGIN,
    ]
}

/// `Bytes` owning the converted `buf`. The buffer is trimmed to its length first: `Bytes`
/// then keeps the allocation itself, where a buffer with spare capacity would get a second,
/// shared header allocated beside it (and a reference count to drop). Trimming a few spare
/// bytes does not move the data with the allocators in use here (they shrink in place).
pub(crate) fn bytes_of(buf: Vec<u8>) -> Bytes {
    Bytes::from(buf.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trimmed buffer keeps every byte, and an empty one makes empty bytes.
    #[test]
    fn bytes_of_keeps_a_buffer_with_spare_room_whole() {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(b"{\"orderid\":42}");
        assert_eq!(&bytes_of(buf)[..], b"{\"orderid\":42}");
        assert!(bytes_of(Vec::with_capacity(16)).is_empty());
    }
}

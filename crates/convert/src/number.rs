//! Kafka's number converters (`ShortConverter`, `IntegerConverter`, `LongConverter`,
//! `FloatConverter`, `DoubleConverter`) and `BooleanConverter`: fixed-width big-endian
//! values, the same bytes as Kafka's `ShortSerializer` ... `BooleanSerializer`.
//!
//! A number converter ignores the schema on write and requires exactly its Java type (no
//! widening: an int32 value fails in LongConverter). Reads yield an optional schema of the
//! type; null stays null.

use bytes::Bytes;
use sluice_api::config::ConfigMap;
use sluice_api::converter::{Converter, ConverterPlugin, ConverterType, HeaderConverter};
use sluice_api::data::{Schema, SchemaAndValue, SchemaRef, SchemaType, Value};
use sluice_api::{ConnectError, Result};

use crate::config::{converter_config_def, parse_converter_config};

/// The type a [`NumberConverter`] handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    /// `ShortConverter`: int16, 2 bytes.
    Short,
    /// `IntegerConverter`: int32, 4 bytes.
    Integer,
    /// `LongConverter`: int64, 8 bytes.
    Long,
    /// `FloatConverter`: float32, 4 bytes IEEE-754.
    Float,
    /// `DoubleConverter`: float64, 8 bytes IEEE-754.
    Double,
}

impl NumberType {
    /// Kafka's class name of the converter for this type.
    pub const fn class_name(self) -> &'static str {
        match self {
            NumberType::Short => "org.apache.kafka.connect.converters.ShortConverter",
            NumberType::Integer => "org.apache.kafka.connect.converters.IntegerConverter",
            NumberType::Long => "org.apache.kafka.connect.converters.LongConverter",
            NumberType::Float => "org.apache.kafka.connect.converters.FloatConverter",
            NumberType::Double => "org.apache.kafka.connect.converters.DoubleConverter",
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            NumberType::Short => "short",
            NumberType::Integer => "integer",
            NumberType::Long => "long",
            NumberType::Float => "float",
            NumberType::Double => "double",
        }
    }

    fn java_class(self) -> &'static str {
        match self {
            NumberType::Short => "java.lang.Short",
            NumberType::Integer => "java.lang.Integer",
            NumberType::Long => "java.lang.Long",
            NumberType::Float => "java.lang.Float",
            NumberType::Double => "java.lang.Double",
        }
    }

    /// The name Kafka's deserializer uses in its size error.
    fn deserializer_name(self) -> &'static str {
        match self {
            NumberType::Short => "ShortDeserializer",
            NumberType::Integer => "IntegerDeserializer",
            NumberType::Long => "LongDeserializer",
            NumberType::Float | NumberType::Double => "Deserializer",
        }
    }

    fn width(self) -> usize {
        match self {
            NumberType::Short => 2,
            NumberType::Integer | NumberType::Float => 4,
            NumberType::Long | NumberType::Double => 8,
        }
    }

    fn schema_type(self) -> SchemaType {
        match self {
            NumberType::Short => SchemaType::Int16,
            NumberType::Integer => SchemaType::Int32,
            NumberType::Long => SchemaType::Int64,
            NumberType::Float => SchemaType::Float32,
            NumberType::Double => SchemaType::Float64,
        }
    }
}

/// One of Kafka's number converters.
#[derive(Debug, Clone)]
pub struct NumberConverter {
    number_type: NumberType,
    schema: SchemaRef,
}

impl NumberConverter {
    /// The converter for `number_type`.
    pub fn new(number_type: NumberType) -> Self {
        NumberConverter {
            number_type,
            schema: Schema::optional(number_type.schema_type()),
        }
    }

    /// The big-endian bytes of the value, `None` for null.
    pub fn serialize(&self, value: &Value) -> Result<Option<Bytes>> {
        let bytes: Vec<u8> = match (self.number_type, value) {
            (_, Value::Null) => return Ok(None),
            (NumberType::Short, Value::Int16(v)) => v.to_be_bytes().to_vec(),
            (NumberType::Integer, Value::Int32(v)) => v.to_be_bytes().to_vec(),
            (NumberType::Long, Value::Int64(v)) => v.to_be_bytes().to_vec(),
            (NumberType::Float, Value::Float32(v)) => v.to_be_bytes().to_vec(),
            (NumberType::Double, Value::Float64(v)) => v.to_be_bytes().to_vec(),
            (t, other) => {
                return Err(ConnectError::data(format!(
                    "Failed to serialize to {} (was class {}): class {} cannot be cast to class {}",
                    t.type_name(),
                    other.type_name(),
                    other.type_name(),
                    t.java_class()
                )))
            }
        };
        Ok(Some(Bytes::from(bytes)))
    }

    /// Reads the value back; the length must be the type's width.
    pub fn deserialize(&self, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(b) = data else {
            return Ok(SchemaAndValue::new(Some(self.schema.clone()), Value::Null));
        };
        let t = self.number_type;
        if b.len() != t.width() {
            return Err(ConnectError::data(format!(
                "Failed to deserialize {}: Size of data received by {} is not {}",
                t.type_name(),
                t.deserializer_name(),
                t.width()
            )));
        }
        let mut buf = [0u8; 8];
        buf[..b.len()].copy_from_slice(b);
        let value = match t {
            NumberType::Short => Value::Int16(i16::from_be_bytes([buf[0], buf[1]])),
            NumberType::Integer => {
                Value::Int32(i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]))
            }
            NumberType::Long => Value::Int64(i64::from_be_bytes(buf)),
            NumberType::Float => {
                Value::Float32(f32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]))
            }
            NumberType::Double => Value::Float64(f64::from_be_bytes(buf)),
        };
        Ok(SchemaAndValue::new(Some(self.schema.clone()), value))
    }
}

impl Converter for NumberConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        self.serialize(value)
    }

    fn to_connect_data(&self, _topic: &str, data: Option<Bytes>) -> Result<SchemaAndValue> {
        self.deserialize(data.as_deref())
    }
}

impl HeaderConverter for NumberConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        self.serialize(value)
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        data: Option<Bytes>,
    ) -> Result<SchemaAndValue> {
        self.deserialize(data.as_deref())
    }
}

/// Kafka's BooleanConverter (since 3.7): one byte, `0x01` or `0x00`.
#[derive(Debug, Clone)]
pub struct BooleanConverter {
    schema: SchemaRef,
}

/// Kafka's class name of BooleanConverter.
pub const BOOLEAN_CONVERTER_CLASS: &str = "org.apache.kafka.connect.converters.BooleanConverter";

impl Default for BooleanConverter {
    fn default() -> Self {
        BooleanConverter::new()
    }
}

impl BooleanConverter {
    /// The converter (it has no settings).
    pub fn new() -> Self {
        BooleanConverter {
            schema: Schema::optional(SchemaType::Boolean),
        }
    }

    /// One byte for a boolean, `None` for null; the schema must be absent or BOOLEAN.
    pub fn serialize(&self, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Bytes>> {
        if let Some(s) = schema.filter(|s| s.schema_type != SchemaType::Boolean) {
            return Err(ConnectError::data(format!(
                "Invalid schema type for BooleanConverter: {}",
                s.schema_type
            )));
        }
        match value {
            Value::Null => Ok(None),
            Value::Boolean(b) => Ok(Some(Bytes::from_static(if *b { &[1] } else { &[0] }))),
            other => Err(ConnectError::data(format!(
                "BooleanConverter is not compatible with objects of type class {}",
                other.type_name()
            ))),
        }
    }

    /// Reads one byte, which must be 0 or 1.
    pub fn deserialize(&self, data: Option<&[u8]>) -> Result<SchemaAndValue> {
        let value = match data {
            None => Value::Null,
            Some([1]) => Value::Boolean(true),
            Some([0]) => Value::Boolean(false),
            Some([b]) => {
                return Err(ConnectError::data(format!(
                    "Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: {}",
                    *b as i8
                )))
            }
            Some(_) => {
                return Err(ConnectError::data(
                    "Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1",
                ))
            }
        };
        Ok(SchemaAndValue::new(Some(self.schema.clone()), value))
    }
}

impl Converter for BooleanConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Bytes>> {
        self.serialize(schema, value)
    }

    fn to_connect_data(&self, _topic: &str, data: Option<Bytes>) -> Result<SchemaAndValue> {
        self.deserialize(data.as_deref())
    }
}

impl HeaderConverter for BooleanConverter {
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
        self.deserialize(data.as_deref())
    }
}

macro_rules! number_plugin {
    ($name:ident, $create:ident, $create_header:ident, $t:expr) => {
        fn $create(props: &ConfigMap, converter_type: ConverterType) -> Result<Box<dyn Converter>> {
            parse_converter_config(&converter_config_def(), props, converter_type)?;
            Ok(Box::new(NumberConverter::new($t)))
        }

        fn $create_header(props: &ConfigMap) -> Result<Box<dyn HeaderConverter>> {
            parse_converter_config(&converter_config_def(), props, ConverterType::Header)?;
            Ok(Box::new(NumberConverter::new($t)))
        }

        #[doc = concat!("The registry entry of the ", stringify!($t), " converter.")]
        pub const $name: ConverterPlugin = ConverterPlugin {
            class_name: $t.class_name(),
            config_def: converter_config_def,
            create: Some($create),
            create_header: Some($create_header),
        };
    };
}

number_plugin!(
    SHORT_PLUGIN,
    create_short,
    create_short_header,
    NumberType::Short
);
number_plugin!(
    INTEGER_PLUGIN,
    create_integer,
    create_integer_header,
    NumberType::Integer
);
number_plugin!(
    LONG_PLUGIN,
    create_long,
    create_long_header,
    NumberType::Long
);
number_plugin!(
    FLOAT_PLUGIN,
    create_float,
    create_float_header,
    NumberType::Float
);
number_plugin!(
    DOUBLE_PLUGIN,
    create_double,
    create_double_header,
    NumberType::Double
);

fn create_boolean(props: &ConfigMap, converter_type: ConverterType) -> Result<Box<dyn Converter>> {
    parse_converter_config(&converter_config_def(), props, converter_type)?;
    Ok(Box::new(BooleanConverter::new()))
}

fn create_boolean_header(props: &ConfigMap) -> Result<Box<dyn HeaderConverter>> {
    parse_converter_config(&converter_config_def(), props, ConverterType::Header)?;
    Ok(Box::new(BooleanConverter::new()))
}

/// The registry entry of BooleanConverter.
pub const BOOLEAN_PLUGIN: ConverterPlugin = ConverterPlugin {
    class_name: BOOLEAN_CONVERTER_CLASS,
    config_def: converter_config_def,
    create: Some(create_boolean),
    create_header: Some(create_boolean_header),
};

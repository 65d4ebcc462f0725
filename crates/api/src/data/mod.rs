//! The Connect data model: schemas, values, structs, logical types and headers.
//!
//! It mirrors Kafka's `org.apache.kafka.connect.data` package. A record's key and value are
//! each a [`Value`] with an optional [`SchemaRef`]; `None` means schemaless data, where maps
//! stand for JSON objects.
//!
//! Two text modules sit beside the model: [`java_text`] renders values as Java's `toString`
//! does, and [`values`] is Kafka's `Values` (text to a typed value with inference, and values to
//! header text).

mod headers;
pub mod java_text;
mod logical;
mod schema;
mod value;
pub mod values;

pub use headers::{Header, Headers};
pub use logical::LogicalType;
pub use schema::{Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use value::{Decimal, SchemaAndValue, Struct, Value};

//! # sluice-api
//!
//! The plugin API of Sluice, a Kafka Connect-compatible data-integration runtime. A connector
//! author reads this crate alone: it holds
//!
//! - the Connect data model ([`data`]): schemas, values, structs, logical types, headers;
//! - records ([`record`]): [`SourceRecord`] out of source tasks, [`SinkRecord`] into sink tasks;
//! - config declarations ([`config`]): each component declares its keys once, and the
//!   declaration drives parsing, validation and documentation;
//! - the traits the runtime drives: connectors and tasks ([`connector`]), converters
//!   ([`converter`]), transformations and predicates ([`transform`]);
//! - one error type ([`ConnectError`]) that says whether a failure is retriable, concerns one
//!   record's data, or names a config key.
//!
//! `use sluice_api::prelude::*;` brings in what a connector needs.

pub mod config;
pub mod connector;
pub mod converter;
pub mod data;
pub mod docgen;
pub mod error;
pub mod record;
pub mod transform;

pub use error::{ConnectError, RecordLocation, Result, Stage};
pub use record::{ConnectRecord, OffsetMap, SinkRecord, SourceRecord, TopicPartition};

/// Everything a connector implementation usually needs.
pub mod prelude {
    pub use crate::config::{
        ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, ParsedConfig, Validator, Width,
    };
    pub use crate::connector::{
        Connector, ConnectorContext, ConnectorFactory, ConnectorPlugin,
        ConnectorTransactionBoundaries, ExactlyOnceSupport, OffsetStorageReader, SinkConnector,
        SinkTask, SinkTaskContext, SourceConnector, SourceTask, SourceTaskContext,
        TransactionContext,
    };
    pub use crate::data::{
        Headers, LogicalType, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
    };
    pub use crate::error::{ConnectError, Result};
    pub use crate::record::{ConnectRecord, OffsetMap, SinkRecord, SourceRecord, TopicPartition};
    pub use async_trait::async_trait;
}

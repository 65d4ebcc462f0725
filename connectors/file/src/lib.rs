//! # sluice-connector-file
//!
//! FileStreamSource and FileStreamSink, the demo connectors that ship with Kafka, with the same
//! class names, keys, records and offsets, so existing configs and stored offsets keep working.
//!
//! - [`FileStreamSourceConnector`] reads a file (or standard input) line by line, one record
//!   per line, and keeps reading as lines are appended. Its source partition is
//!   `{"filename": <file>}` and its offset `{"position": <byte position after the line>}`.
//! - [`FileStreamSinkConnector`] appends each record's value as text, one per line, to a file
//!   (or standard output).
//!
//! ## Differences from Kafka
//!
//! - **Byte positions.** Kafka counts the offset `position` in decoded UTF-16 characters but
//!   skips that many *bytes* when it resumes, so a file with non-ASCII text resumes at the
//!   wrong place. Here `position` is always a byte position: it is exact for any content, and
//!   identical to Kafka's for ASCII files.
//! - **Invalid UTF-8** in a line is replaced with U+FFFD, as Java's decoder does.
//! - **Unreadable input fails the task** with an error that names the file (Kafka silently
//!   returns no records when a read fails).
//! - **Values the sink cannot render as Java would**: dates are written in UTC, map entries in
//!   their order, and a bytes value as its raw bytes (Java writes an identity string such as
//!   `[B@1b6d3586`); see the sink's documentation.
//!
//! Reading and writing use blocking file calls inside the async task methods: each call moves
//! at most one buffer (1 MiB) between the page cache and memory, which takes well under a
//! millisecond and avoids a thread hand-off per call. Standard input, whose reads can block
//! indefinitely, is read by a background thread.

mod lines;
mod sink;
mod source;
mod source_task;
mod stdin;

pub use sink::{sink_config_def, FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{
    source_config_def, FileStreamSourceConnector, DEFAULT_TASK_BATCH_SIZE, FILENAME_FIELD,
    POSITION_FIELD, TASK_BATCH_SIZE_CONFIG, TOPIC_CONFIG,
};
pub use source_task::FileStreamSourceTask;

use sluice_api::config::{ConfigDef, ConfigMap, ParsedConfig};
use sluice_api::connector::{ConnectorFactory, ConnectorPlugin};
use sluice_api::ConnectError;

/// Class name of the source connector (Kafka's).
pub const SOURCE_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
/// Class name of the sink connector (Kafka's).
pub const SINK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
/// The `file` key, shared by both connectors.
pub const FILE_CONFIG: &str = "file";

/// The connectors of this crate, for the runtime's plugin registry.
pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![
        ConnectorPlugin {
            class_name: SOURCE_CLASS,
            aliases: &[],
            factory: ConnectorFactory::Source(|| Box::<FileStreamSourceConnector>::default()),
        },
        ConnectorPlugin {
            class_name: SINK_CLASS,
            aliases: &[],
            factory: ConnectorFactory::Sink(|| Box::<FileStreamSinkConnector>::default()),
        },
    ]
}

/// Parses `config` against `def`, returning the first problem as the error.
fn parse_config(def: &ConfigDef, config: &ConfigMap) -> Result<ParsedConfig, ConnectError> {
    def.parse(config).map_err(|errors| {
        errors
            .into_iter()
            .next()
            .unwrap_or_else(|| ConnectError::connect("invalid configuration"))
    })
}

/// The configured `file`, or `None` when unset or empty (standard input or output).
fn configured_file(parsed: &ParsedConfig) -> Option<String> {
    parsed
        .string(FILE_CONFIG)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
}

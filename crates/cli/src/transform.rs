//! `sluice transform`: runs records given as JSON Lines through the transformation chain of a
//! connector config, to try a chain before deploying it.
//!
//! Each input line is one record (see [`LONG_ABOUT`]). Key and value are read and written
//! with JsonConverter: without `--schemas` as plain JSON (`schemas.enable=false`), with it as
//! `{"schema": ..., "payload": ...}` envelopes, with `replace.null.with.default=false` so a
//! null stays null and what the transformations do with nulls and defaults shows. Header
//! values are always plain JSON. The chain is the runtime's own
//! ([`sluice_transforms::TransformChain`], plugins from [`crate::plugins::registry`]).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value as Json;
use sluice_api::data::{Headers, SchemaAndValue, SchemaRef, Value};
use sluice_api::record::{ConnectRecord, TimestampType};
use sluice_convert::{JsonConverter, JsonConverterConfig};
use sluice_transforms::TransformChain;

/// The `--help` text of `sluice transform`.
pub const LONG_ABOUT: &str = r#"Try a connector's transformation chain on sample records before deploying it.

Reads records as JSON Lines on standard input, runs each through the transformations of the
connector config (its 'transforms', 'transforms.<alias>.*', 'predicates' and
'predicates.<alias>.*' keys; other keys are ignored) and writes the results as JSON Lines on
standard output. The config file is .json (a REST body {"name": ..., "config": {...}} or a
flat object) or .properties. A record is

  {"topic": "orders", "partition": 0, "key": ..., "value": ..., "timestamp": 1700000000000,
   "headers": [{"key": "source", "value": "web"}]}

Missing fields are null (no headers; topic ""). An input record may also give "offset" (an
integer): it then is a record read from a topic, as a sink connector's transformations see it.

Without --schemas, key and value are plain JSON, read as JsonConverter with
schemas.enable=false reads them: objects become maps, integers int64, fractions float64.
With --schemas, key and value are each a JsonConverter envelope {"schema": ..., "payload": ...}
or null, in JsonConverter's schema JSON and value encodings (bytes and Decimal as base64,
Date/Time/Timestamp as integers), read and written with replace.null.with.default=false, so a
null stays null. Header values are plain JSON in both modes. Dates and times are in UTC.

Every record is written with all six fields; a record a transformation drops prints nothing.
If a transformation fails, the records before it have been printed, a message naming the
transformation alias and the failing record goes to standard error, and the exit code is 1
(also for an input line that is not a valid record). An invalid config is reported key by key
with exit code 2.

Example: drop records of topics named test-*, and route the others to <topic>-copy.

  $ cat chain.json
  {"transforms": "dropTests,route",
   "transforms.dropTests.type": "Filter",
   "transforms.dropTests.predicate": "isTest",
   "transforms.route.type": "RegexRouter",
   "transforms.route.regex": "(.*)",
   "transforms.route.replacement": "$1-copy",
   "predicates": "isTest",
   "predicates.isTest.type": "TopicNameMatches",
   "predicates.isTest.pattern": "test-.*"}
  $ printf '%s\n' '{"topic": "orders", "value": {"id": 1}}' \
                  '{"topic": "test-orders", "value": {"id": 2}}' \
      | sluice transform --config chain.json
  {"topic":"orders-copy","partition":null,"key":null,"value":{"id":1},"timestamp":null,"headers":[]}

With schemas, a value is an envelope:

  {"topic": "orders", "value": {"schema": {"type": "struct", "fields": [{"field": "id",
   "type": "int32", "optional": false}], "optional": false}, "payload": {"id": 1}}}"#;

/// Arguments of `sluice transform`.
#[derive(clap::Args, Debug)]
pub struct TransformArgs {
    /// Connector config holding the transformations (.json or .properties).
    #[arg(long, value_name = "CONNECTOR")]
    config: PathBuf,
    /// Read and write key and value as JsonConverter envelopes {"schema": ..., "payload": ...}.
    #[arg(long)]
    schemas: bool,
}

/// Exit code of a record that could not be read or transformed.
const RECORD_FAILED: u8 = 1;
/// Exit code of an invalid config or an unreadable config file.
const BAD_CONFIG: u8 = 2;

/// The fields an input record may have.
const FIELDS: &str = "topic, partition, key, value, timestamp, headers, offset";

/// Runs the command: exit 0 when every record went through, 1 when a record failed, 2 for a
/// bad config.
pub fn run(args: &TransformArgs) -> ExitCode {
    let chain = match load_chain(&args.config) {
        Ok(chain) => chain,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let io = RecordIo::new(args.schemas);
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line_buf = Vec::with_capacity(256);
    for (index, line) in stdin.lock().lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                return fail(
                    &mut out,
                    format!("cannot read line {number} of the input: {e}"),
                )
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let record = match io.read(&line) {
            Ok(r) => r,
            Err(e) => return fail(&mut out, format!("line {number}: {e}\n  record: {line}")),
        };
        let transformed = match chain.apply(record) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => return fail(&mut out, format!("line {number}: {e}\n  record: {line}")),
        };
        line_buf.clear();
        if let Err(e) = io.write(&mut line_buf, &transformed) {
            return fail(
                &mut out,
                format!(
                    "line {number}: cannot write the transformed record: {e}\n  record: {line}"
                ),
            );
        }
        line_buf.push(b'\n');
        let written =
            out.write_all(&line_buf)
                .and_then(|()| if interactive { out.flush() } else { Ok(()) });
        if let Err(e) = written {
            return output_failed(e);
        }
    }
    match out.flush() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output_failed(e),
    }
}

/// Prints what came before, then the error; exit code 1.
fn fail(out: &mut impl Write, message: String) -> ExitCode {
    let _ = out.flush();
    eprintln!("error: {message}");
    ExitCode::from(RECORD_FAILED)
}

/// A closed standard output (e.g. `| head`) ends the command quietly.
fn output_failed(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: cannot write to standard output: {e}");
        ExitCode::from(RECORD_FAILED)
    }
}

/// Loads the config file and builds its chain; the message lists every problem.
fn load_chain(path: &Path) -> Result<TransformChain, String> {
    let config =
        sluice_runtime::config_file::load_connector_config(path).map_err(|e| e.to_string())?;
    let registry = crate::plugins::registry();
    TransformChain::from_config(&config, &registry).map_err(|errors| {
        let mut message = format!(
            "invalid transformation config in {} ({} error{}):",
            path.display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        for e in errors {
            match e {
                sluice_api::ConnectError::Config { key, message: m } => {
                    message.push_str(&format!("\n  {key}: {m}"));
                }
                other => message.push_str(&format!("\n  {other}")),
            }
        }
        message
    })
}

/// Reads and writes records in the command's JSON shape.
struct RecordIo {
    schemas: bool,
    /// Key and value converter: envelopes with `--schemas`, plain JSON without.
    data: JsonConverter,
    /// Header values: always plain JSON.
    headers: JsonConverter,
}

impl RecordIo {
    fn new(schemas: bool) -> Self {
        let config = |schemas_enable| JsonConverterConfig {
            schemas_enable,
            replace_null_with_default: false,
            ..Default::default()
        };
        RecordIo {
            schemas,
            data: JsonConverter::new(config(schemas)),
            headers: JsonConverter::new(config(false)),
        }
    }

    /// Parses one input line into a record.
    fn read(&self, line: &str) -> Result<ConnectRecord, String> {
        let json: Json = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        let Json::Object(fields) = json else {
            return Err(format!(
                "a record must be a JSON object with the fields {FIELDS}"
            ));
        };
        let mut record = ConnectRecord::default();
        for (name, field) in &fields {
            match name.as_str() {
                "topic" => match field {
                    Json::String(t) => record.topic = t.as_str().into(),
                    Json::Null => {}
                    other => return Err(field_type("topic", "a string", other)),
                },
                "partition" => record.kafka_partition = optional_int(field, "partition")?,
                "offset" => {
                    record.kafka_offset = optional_int(field, "offset")?;
                }
                "timestamp" => {
                    record.timestamp = optional_int(field, "timestamp")?;
                    if record.timestamp.is_some() {
                        record.timestamp_type = TimestampType::CreateTime;
                    }
                }
                "key" => {
                    let sv = self.data_value(field, "key")?;
                    record.key_schema = sv.schema;
                    record.key = sv.value;
                }
                "value" => {
                    let sv = self.data_value(field, "value")?;
                    record.value_schema = sv.schema;
                    record.value = sv.value;
                }
                "headers" => record.headers = self.read_headers(field)?,
                other => {
                    return Err(format!(
                        "unknown field '{other}'; a record has the fields {FIELDS}"
                    ))
                }
            }
        }
        Ok(record)
    }

    /// A key or value in Connect terms.
    fn data_value(&self, json: &Json, what: &str) -> Result<SchemaAndValue, String> {
        if json.is_null() {
            return Ok(SchemaAndValue::NULL);
        }
        if self.schemas {
            let is_envelope = matches!(json, Json::Object(o)
                if o.len() == 2 && o.contains_key("schema") && o.contains_key("payload"));
            if !is_envelope {
                return Err(format!(
                    "with --schemas, '{what}' must be null or an envelope {{\"schema\": ..., \"payload\": ...}}"
                ));
            }
        }
        convert_in(&self.data, json).map_err(|e| format!("'{what}': {e}"))
    }

    fn read_headers(&self, json: &Json) -> Result<Headers, String> {
        let mut headers = Headers::new();
        let items = match json {
            Json::Null => return Ok(headers),
            Json::Array(items) => items,
            other => return Err(field_type("headers", "an array", other)),
        };
        for (i, item) in items.iter().enumerate() {
            let shape =
                || format!("headers[{i}] must be an object {{\"key\": string, \"value\": any}}");
            let Json::Object(h) = item else {
                return Err(shape());
            };
            if h.keys().any(|k| k != "key" && k != "value") {
                return Err(shape());
            }
            let Some(Json::String(key)) = h.get("key") else {
                return Err(shape());
            };
            let sv = match h.get("value") {
                None | Some(Json::Null) => SchemaAndValue::NULL,
                Some(v) => convert_in(&self.headers, v)
                    .map_err(|e| format!("headers[{i}] ('{key}'): {e}"))?,
            };
            headers.add(key.clone(), sv.schema, sv.value);
        }
        Ok(headers)
    }

    /// Appends a record as one JSON line (without the newline).
    fn write(&self, out: &mut Vec<u8>, record: &ConnectRecord) -> Result<(), String> {
        out.extend_from_slice(b"{\"topic\":");
        write_json(out, &Json::String(record.topic.to_string()));
        out.extend_from_slice(b",\"partition\":");
        write_optional_int(out, record.kafka_partition.map(i64::from));
        out.extend_from_slice(b",\"key\":");
        convert_out(&self.data, out, record.key_schema.as_ref(), &record.key)
            .map_err(|e| format!("key: {e}"))?;
        out.extend_from_slice(b",\"value\":");
        convert_out(&self.data, out, record.value_schema.as_ref(), &record.value)
            .map_err(|e| format!("value: {e}"))?;
        out.extend_from_slice(b",\"timestamp\":");
        write_optional_int(out, record.timestamp);
        out.extend_from_slice(b",\"headers\":[");
        for (i, h) in record.headers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"key\":");
            write_json(out, &Json::String(h.key.clone()));
            out.extend_from_slice(b",\"value\":");
            convert_out(&self.headers, out, h.schema.as_ref(), &h.value)
                .map_err(|e| format!("header '{}': {e}", h.key))?;
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        Ok(())
    }
}

/// JSON to Connect data through the converter (the same code the runtime uses for bytes).
fn convert_in(converter: &JsonConverter, json: &Json) -> Result<SchemaAndValue, String> {
    let bytes = serde_json::to_vec(json).map_err(|e| e.to_string())?;
    converter.deserialize(&bytes).map_err(|e| e.to_string())
}

/// Connect data to JSON through the converter; a null without schema is `null`.
fn convert_out(
    converter: &JsonConverter,
    out: &mut Vec<u8>,
    schema: Option<&SchemaRef>,
    value: &Value,
) -> Result<(), String> {
    match converter.serialize(schema, value) {
        Ok(Some(bytes)) => {
            out.extend_from_slice(&bytes);
            Ok(())
        }
        Ok(None) => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn write_json(out: &mut Vec<u8>, json: &Json) {
    // Writing a JSON value to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, json);
}

fn write_optional_int(out: &mut Vec<u8>, value: Option<i64>) {
    match value {
        Some(v) => out.extend_from_slice(v.to_string().as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

fn optional_int<T: TryFrom<i64>>(json: &Json, name: &str) -> Result<Option<T>, String> {
    match json {
        Json::Null => Ok(None),
        Json::Number(n) => n
            .as_i64()
            .and_then(|v| T::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| format!("'{name}' must be an integer in range, found {n}")),
        other => Err(field_type(name, "an integer", other)),
    }
}

fn field_type(name: &str, expected: &str, found: &Json) -> String {
    let kind = match found {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    };
    format!("'{name}' must be {expected} or null, found {kind}")
}

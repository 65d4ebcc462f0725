//! Debezium's `io.debezium.transforms.ExtractNewRecordState` ("unwrap"): turns a change event
//! into the plain row it describes, for sinks that want rows rather than change events.
//!
//! A change event's value is an envelope: `before` and `after` (the row's states), `source`
//! (where the change came from: database, table, log position, ...), `op` (`c` create, `u`
//! update, `d` delete, `r` snapshot read, `t` truncate), `ts_ms` and `transaction`. Schema'd,
//! an envelope is a struct whose schema name ends with `.Envelope`; schemaless (JSON without
//! schemas), a map with an `op` entry and a `before` or `after` entry. Other records pass
//! unchanged.
//!
//! - Creates, updates and reads become their `after` state; the value schema is the `after`
//!   schema, rebuilt as a required struct.
//! - Deletes and tombstones follow `delete.tombstone.handling.mode`:
//!
//!   | mode | delete event | tombstone |
//!   | --- | --- | --- |
//!   | `drop` | dropped | dropped |
//!   | `tombstone` (default) | null value, the `after` schema kept | dropped |
//!   | `rewrite` | the `before` state with `__deleted=true` (other events get `__deleted=false`) | dropped |
//!   | `rewrite-with-tombstone` | as `rewrite` | kept |
//!   | `delete-to-tombstone` | a tombstone (null value and schema) | dropped |
//!
//!   The deprecated `drop.tombstones` and `delete.handling.mode` (`drop`, `none`, `rewrite`)
//!   apply when `delete.tombstone.handling.mode` is not set and either of them is.
//! - Truncate events (no `before`, no `after`) are dropped.
//! - `add.fields` copies envelope fields into the row, `add.headers` into headers: `op`,
//!   `ts_ms`, `ts_us` and `ts_ns` name envelope fields, `id`, `total_order` and
//!   `data_collection_order` transaction fields, any other name a `source` field, and
//!   `struct.field` names one explicitly. The new names get the prefix (`__` by default) and
//!   the struct: `source.ts_ms` becomes `__source_ts_ms`; `name:NEW` picks the name after the
//!   prefix. Fields missing from the event are skipped. A tombstone gets only the `op`
//!   header, with `d`.
//! - `route.by.field` names a row field whose text becomes the topic (for deletes, the field of
//!   the `before` state).
//! - `drop.fields.header.name` names a header listing fields to remove from the row (and from
//!   the key with `drop.fields.from.key`); with `drop.fields.keep.schema.compatible` only
//!   optional fields are removed.
//!
//! ```properties
//! transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
//! transforms.unwrap.delete.tombstone.handling.mode=rewrite
//! transforms.unwrap.add.fields=op,table,source.ts_ms
//! ```

use std::sync::{Arc, Mutex};

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValue, Importance, ParsedConfig, Validator,
};
use sluice_api::data::java_text::{BytesText, JavaText};
use sluice_api::data::{Field, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::timestamp_router::schema_text;
use crate::util::{self, copy_schema_basics, SchemaCache, REPLACE_NULL_WITH_DEFAULT};

const DELETE_TOMBSTONE_HANDLING_MODE: &str = "delete.tombstone.handling.mode";
const DROP_TOMBSTONES: &str = "drop.tombstones";
const DELETE_HANDLING_MODE: &str = "delete.handling.mode";
const ROUTE_BY_FIELD: &str = "route.by.field";
const ADD_FIELDS_PREFIX: &str = "add.fields.prefix";
const ADD_FIELDS: &str = "add.fields";
const ADD_HEADERS_PREFIX: &str = "add.headers.prefix";
const ADD_HEADERS: &str = "add.headers";
const DROP_FIELDS_HEADER_NAME: &str = "drop.fields.header.name";
const DROP_FIELDS_FROM_KEY: &str = "drop.fields.from.key";
const DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE: &str = "drop.fields.keep.schema.compatible";

const DELETE_TOMBSTONE_MODES: &[&str] = &[
    "drop",
    "tombstone",
    "rewrite",
    "rewrite-with-tombstone",
    "delete-to-tombstone",
];
const DELETE_HANDLING_MODES: &[&str] = &["drop", "rewrite", "none"];

const ENVELOPE_SUFFIX: &str = ".Envelope";
const BEFORE: &str = "before";
const AFTER: &str = "after";
const OP: &str = "op";
const DELETED_FIELD: &str = "__deleted";
const ADD_FIELDS_PURPOSE: &str = "source field insertion";
const EXTRACT_PURPOSE: &str = "field extraction";
const REPLACE_PURPOSE: &str = "field replacement";
/// How many derived schemas are remembered (Debezium keeps 64).
const DERIVED_CACHE_CAPACITY: usize = 64;

/// This module's plugin.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![TransformationPlugin {
        class_name: "io.debezium.transforms.ExtractNewRecordState",
        config_def,
        create: ExtractNewRecordState::create,
    }]
}

/// Debezium's enum check: one of `allowed`, ignoring case and surrounding spaces.
fn one_of(
    allowed: &'static [&'static str],
    value: &ConfigValue,
) -> std::result::Result<(), String> {
    match value.as_str() {
        Some(v) if !allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) => {
            Err(format!("Value must be one of {}", allowed.join(", ")))
        }
        _ => Ok(()),
    }
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(DELETE_TOMBSTONE_HANDLING_MODE, ConfigType::String)
                .default_value("tombstone")
                .validator(Validator::Custom(|_, v| one_of(DELETE_TOMBSTONE_MODES, v)))
                .importance(Importance::Medium)
                .doc(
                    "What becomes of delete events and tombstones: `drop` drops both; \
                     `tombstone` turns a delete into a record with a null value and drops \
                     tombstones; `rewrite` turns a delete into its `before` state with \
                     `__deleted` set to `true` (and marks other rows `__deleted=false`) and \
                     drops tombstones; `rewrite-with-tombstone` rewrites and keeps tombstones; \
                     `delete-to-tombstone` turns a delete into a tombstone (null value and \
                     schema) and drops tombstones.",
                ),
        )
        .define(
            ConfigKey::new(DROP_TOMBSTONES, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc(
                    "Deprecated, use `delete.tombstone.handling.mode`: whether tombstones are \
                     dropped. Applies only when `delete.tombstone.handling.mode` is not set.",
                ),
        )
        .define(
            ConfigKey::new(DELETE_HANDLING_MODE, ConfigType::String)
                .default_value("drop")
                .validator(Validator::Custom(|_, v| one_of(DELETE_HANDLING_MODES, v)))
                .importance(Importance::Medium)
                .doc(
                    "Deprecated, use `delete.tombstone.handling.mode`: `drop` drops delete \
                     events, `none` passes them with a null value, `rewrite` turns them into \
                     their `before` state with `__deleted=true`. Applies only when \
                     `delete.tombstone.handling.mode` is not set.",
                ),
        )
        .define(
            ConfigKey::new(ROUTE_BY_FIELD, ConfigType::String)
                .default_value("")
                .importance(Importance::Low)
                .doc(
                    "A row field whose text becomes the record's topic (for deletes, the field \
                     of the `before` state); empty keeps the topic.",
                ),
        )
        .define(
            ConfigKey::new(ADD_FIELDS_PREFIX, ConfigType::String)
                .default_value("__")
                .importance(Importance::Low)
                .doc("The prefix of the names of fields added by `add.fields`."),
        )
        .define(
            ConfigKey::new(ADD_FIELDS, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .doc(
                    "Envelope fields to copy into the row, when the event has them: `op`, \
                     `ts_ms`, `ts_us`, `ts_ns`, transaction fields (`id`, `total_order`, \
                     `data_collection_order`), `source` fields by name (`table`, `lsn`), or \
                     `struct.field`. Each is named with `add.fields.prefix`, plus the struct \
                     for `struct.field` (`source.ts_ms` adds `__source_ts_ms`); `field:NAME` \
                     names it prefix + NAME.",
                ),
        )
        .define(
            ConfigKey::new(ADD_HEADERS_PREFIX, ConfigType::String)
                .default_value("__")
                .importance(Importance::Low)
                .doc("The prefix of the names of headers added by `add.headers`."),
        )
        .define(
            ConfigKey::new(ADD_HEADERS, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .doc(
                    "Envelope fields to copy into headers, named as for `add.fields` with \
                     `add.headers.prefix`. A tombstone gets only the `op` header, with `d`.",
                ),
        )
        .define(
            ConfigKey::new(DROP_FIELDS_HEADER_NAME, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc(
                    "The name of a header holding a list of field names to remove from the \
                     row; unset removes nothing.",
                ),
        )
        .define(
            ConfigKey::new(DROP_FIELDS_FROM_KEY, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Low)
                .doc("Whether the fields listed in the drop-fields header leave the key too."),
        )
        .define(
            ConfigKey::new(DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc(
                    "Whether only optional fields are removed by the drop-fields header, so \
                     that the schemas stay compatible (`true`), or every listed field \
                     (`false`).",
                ),
        )
        .define(
            ConfigKey::new(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean)
                .default_value("true")
                .importance(Importance::Low)
                .doc(
                    "Whether null row fields whose schema has a default read as that default \
                     when `__deleted` is added (`rewrite` modes).",
                ),
        )
}

/// What becomes of a delete event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDelete {
    /// Dropped.
    Drop,
    /// A null value; the schema is the `after` schema.
    NullValue,
    /// A tombstone: null value and schema.
    Tombstone,
    /// The `before` state with `__deleted=true`.
    Rewrite,
}

/// How deletes and tombstones are handled, from the current or the deprecated settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DeleteHandling {
    keep_tombstones: bool,
    on_delete: OnDelete,
    /// Whether rows get a `__deleted` field.
    rewrite: bool,
}

impl DeleteHandling {
    fn from_config(config: &ParsedConfig) -> DeleteHandling {
        let originals = config.originals();
        let mode_set = originals
            .get(DELETE_TOMBSTONE_HANDLING_MODE)
            .is_some_and(|v| !v.trim().is_empty());
        let legacy =
            originals.contains_key(DROP_TOMBSTONES) || originals.contains_key(DELETE_HANDLING_MODE);
        if !mode_set && legacy {
            let on_delete = config
                .string(DELETE_HANDLING_MODE)
                .unwrap_or("drop")
                .to_ascii_lowercase();
            let (on_delete, rewrite) = match on_delete.as_str() {
                "none" => (OnDelete::NullValue, false),
                "rewrite" => (OnDelete::Rewrite, true),
                _ => (OnDelete::Drop, false),
            };
            return DeleteHandling {
                keep_tombstones: !config.boolean(DROP_TOMBSTONES).unwrap_or(true),
                on_delete,
                rewrite,
            };
        }
        let mode = config
            .string(DELETE_TOMBSTONE_HANDLING_MODE)
            .unwrap_or("tombstone")
            .to_ascii_lowercase();
        let (keep_tombstones, on_delete, rewrite) = match mode.as_str() {
            "drop" => (false, OnDelete::Drop, false),
            "rewrite" => (false, OnDelete::Rewrite, true),
            "rewrite-with-tombstone" => (true, OnDelete::Rewrite, true),
            "delete-to-tombstone" => (false, OnDelete::Tombstone, false),
            _ => (false, OnDelete::NullValue, false),
        };
        DeleteHandling {
            keep_tombstones,
            on_delete,
            rewrite,
        }
    }
}

/// Java's `String.split`: trailing empty pieces are dropped (an empty text is one piece).
fn java_split(text: &str, separator: char) -> Vec<&str> {
    if text.is_empty() {
        return vec![""];
    }
    let mut pieces: Vec<&str> = text.split(separator).collect();
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// An envelope field to copy into the row or a header (Debezium's `FieldReference`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRef {
    /// The envelope struct holding the field (`source`, `transaction`, ...), or `None` for
    /// top-level fields (`op`, `ts_ms`, ...).
    parent: Option<String>,
    /// The field's name.
    field: String,
    /// The name of the added field or header.
    new_name: String,
}

impl FieldRef {
    /// Reads `field`, `struct.field`, optionally followed by `:NEW_NAME`.
    fn parse(prefix: &str, spec: &str) -> std::result::Result<FieldRef, String> {
        let unexpected = || format!("Unexpected field name: {spec}");
        let parts = java_split(spec, ':');
        if parts.is_empty() || parts.len() > 2 {
            return Err(unexpected());
        }
        let path = java_split(parts[0], '.');
        let (parent, field) = match path.as_slice() {
            [] => return Err(unexpected()),
            [field] => (Self::default_parent(field), field.to_string()),
            [parent, field, ..] => (Some(parent.to_string()), field.to_string()),
        };
        let new_name = match (parts.get(1), &parent) {
            (Some(name), _) => format!("{prefix}{name}"),
            (None, Some(parent)) if path.len() > 1 => format!("{prefix}{parent}_{field}"),
            (None, _) => format!("{prefix}{field}"),
        };
        Ok(FieldRef {
            parent,
            field,
            new_name,
        })
    }

    /// The envelope struct an unqualified field name refers to.
    fn default_parent(field: &str) -> Option<String> {
        match field {
            "id" | "total_order" | "data_collection_order" => Some("transaction".into()),
            "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
            "updateDescription" => Some("updateDescription".into()),
            _ => Some("source".into()),
        }
    }

    fn parse_list(prefix: &str, specs: &[String], key: &str) -> Result<Vec<FieldRef>> {
        specs
            .iter()
            .map(|spec| {
                FieldRef::parse(prefix, spec.trim()).map_err(|reason| {
                    ConnectError::config(
                        key,
                        format!(
                            "Invalid value {} for configuration {key}: {reason}",
                            specs.join(",")
                        ),
                    )
                })
            })
            .collect()
    }

    /// The envelope field this refers to: the field of the parent struct, or failing that a
    /// top-level field of that name (one another transform may have added). `None` when the
    /// event has no such field (it is skipped).
    fn locate<'a>(&self, envelope: &'a Schema) -> Result<Option<&'a Field>> {
        let Some(parent) = &self.parent else {
            return Ok(envelope.field(&self.field));
        };
        let parent_schema = envelope.field(parent).ok_or_else(|| {
            ConnectError::data(format!(
                "Cannot add '{parent}.{}': the change event has no field '{parent}'",
                self.field
            ))
        })?;
        Ok(parent_schema
            .schema
            .field(&self.field)
            .or_else(|| envelope.field(&self.field)))
    }

    /// The schema of the added field: the envelope field's type, name, version, doc and
    /// parameters, made optional.
    fn schema_in(&self, envelope: &Schema) -> Result<Option<SchemaRef>> {
        Ok(self.locate(envelope)?.map(|f| {
            copy_schema_basics(&f.schema, SchemaBuilder::new(f.schema.schema_type))
                .optional()
                .build()
        }))
    }

    /// The field's value in a schema'd envelope (raw, without defaults); only called when
    /// [`FieldRef::locate`] found the field.
    fn value_in(&self, envelope: &Struct) -> Value {
        let parent = match &self.parent {
            Some(parent) => match envelope.get_without_default(parent) {
                Some(Value::Struct(s)) => s,
                _ => return Value::Null,
            },
            None => envelope,
        };
        let holder = if parent.schema().field(&self.field).is_some() {
            parent
        } else {
            envelope
        };
        holder
            .get_without_default(&self.field)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The field's value in a schemaless envelope, `None` when it has no such field.
    fn value_in_map(&self, envelope: &Value) -> Option<Value> {
        if let Some(parent) = &self.parent {
            match envelope.map_get(parent) {
                Some(Value::Null) => return Some(Value::Null),
                Some(map @ Value::Map(_)) => {
                    if let Some(v) = map.map_get(&self.field) {
                        return Some(v.clone());
                    }
                }
                _ => {}
            }
        }
        envelope.map_get(&self.field).cloned()
    }
}

/// Schemas derived from an envelope schema (and a row schema), built once: Debezium's
/// bounded cache of 64 entries, least recently used first out.
#[derive(Debug)]
struct DerivedSchemas<V> {
    entries: Mutex<Vec<(SchemaRef, Option<SchemaRef>, V)>>,
}

impl<V: Clone> DerivedSchemas<V> {
    fn new() -> Self {
        DerivedSchemas {
            entries: Mutex::new(Vec::new()),
        }
    }

    fn get_or_build(
        &self,
        envelope: &SchemaRef,
        row: Option<&SchemaRef>,
        build: impl FnOnce() -> Result<V>,
    ) -> Result<V> {
        let identical = |e: &SchemaRef, r: &Option<SchemaRef>| {
            SchemaRef::ptr_eq(e, envelope)
                && match (r, row) {
                    (None, None) => true,
                    (Some(a), Some(b)) => SchemaRef::ptr_eq(a, b),
                    _ => false,
                }
        };
        let equal = |e: &SchemaRef, r: &Option<SchemaRef>| {
            **e == **envelope
                && match (r, row) {
                    (None, None) => true,
                    (Some(a), Some(b)) => **a == **b,
                    _ => false,
                }
        };
        {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let hit = entries
                .iter()
                .position(|(e, r, _)| identical(e, r))
                .or_else(|| entries.iter().position(|(e, r, _)| equal(e, r)));
            if let Some(i) = hit {
                if i != 0 {
                    let entry = entries.remove(i);
                    entries.insert(0, entry);
                }
                return Ok(entries[0].2.clone());
            }
        }
        let output = build()?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(0, (envelope.clone(), row.cloned(), output.clone()));
        entries.truncate(DERIVED_CACHE_CAPACITY);
        Ok(output)
    }
}

/// The configured transform.
#[derive(Debug)]
struct ExtractNewRecordState {
    handling: DeleteHandling,
    route_by_field: Option<String>,
    add_fields: Vec<FieldRef>,
    add_headers: Vec<FieldRef>,
    drop_fields_header: Option<String>,
    drop_fields_from_key: bool,
    drop_fields_keep_schema_compatible: bool,
    replace_null_with_default: bool,
    /// Row schemas with `__deleted` added.
    deleted_schemas: SchemaCache,
    /// Row schemas with the added fields, per envelope and row schema.
    added_fields_schemas: DerivedSchemas<SchemaRef>,
    /// The schemas of the added headers (`None` for fields the event lacks), per envelope
    /// schema.
    header_schemas: DerivedSchemas<Arc<[Option<SchemaRef>]>>,
    /// The schema of the `op` header of tombstones.
    string_schema: SchemaRef,
}

/// A row taken out of an envelope: its schema (schema'd data) and value.
struct Row {
    schema: Option<SchemaRef>,
    value: Value,
}

impl ExtractNewRecordState {
    fn create(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
        let config = util::parse_config(&config_def(), props)?;
        let add_fields = FieldRef::parse_list(
            config.string(ADD_FIELDS_PREFIX).unwrap_or_default(),
            config.list(ADD_FIELDS),
            ADD_FIELDS,
        )?;
        let add_headers = FieldRef::parse_list(
            config.string(ADD_HEADERS_PREFIX).unwrap_or_default(),
            config.list(ADD_HEADERS),
            ADD_HEADERS,
        )?;
        let non_empty = |key| {
            config
                .string(key)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
        };
        Ok(Box::new(ExtractNewRecordState {
            handling: DeleteHandling::from_config(&config),
            route_by_field: non_empty(ROUTE_BY_FIELD),
            add_fields,
            add_headers,
            drop_fields_header: non_empty(DROP_FIELDS_HEADER_NAME),
            drop_fields_from_key: config.boolean(DROP_FIELDS_FROM_KEY).unwrap_or(false),
            drop_fields_keep_schema_compatible: config
                .boolean(DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE)
                .unwrap_or(true),
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            deleted_schemas: SchemaCache::new(),
            added_fields_schemas: DerivedSchemas::new(),
            header_schemas: DerivedSchemas::new(),
            string_schema: Schema::required(SchemaType::String),
        }))
    }

    /// A tombstone: kept or dropped, with the `op` header when asked for.
    fn tombstone(&self, record: &mut ConnectRecord) -> Outcome {
        for r in self.add_headers.iter().filter(|r| r.field == OP) {
            record.headers.add(
                r.new_name.clone(),
                Some(self.string_schema.clone()),
                Value::from("d"),
            );
        }
        if self.handling.keep_tombstones {
            Outcome::Keep
        } else {
            Outcome::Drop
        }
    }

    /// Unwraps a schema'd envelope.
    fn apply_struct(&self, record: &mut ConnectRecord, schema: SchemaRef) -> Result<Outcome> {
        let envelope = match std::mem::take(&mut record.value) {
            Value::Struct(s) => s,
            other => return Err(struct_required(&other, EXTRACT_PURPOSE)),
        };
        if !self.add_headers.is_empty() {
            let header_schemas = self.header_schemas.get_or_build(&schema, None, || {
                self.add_headers
                    .iter()
                    .map(|r| r.schema_in(&schema))
                    .collect::<Result<Arc<[_]>>>()
            })?;
            for (r, header_schema) in self.add_headers.iter().zip(header_schemas.iter()) {
                if let Some(header_schema) = header_schema {
                    let value = r.value_in(&envelope);
                    check_header(&value, header_schema)?;
                    record
                        .headers
                        .add(r.new_name.clone(), Some(header_schema.clone()), value);
                }
            }
        }
        let after_schema = field_schema(&schema, AFTER)?;
        if envelope.get(AFTER).is_none_or(Value::is_null) {
            let before_schema = field_schema(&schema, BEFORE)?;
            if envelope.get(BEFORE).is_none_or(Value::is_null) {
                // A truncate event.
                return Ok(Outcome::Drop);
            }
            if self.handling.on_delete == OnDelete::Drop {
                return Ok(Outcome::Drop);
            }
            let topic = match &self.route_by_field {
                Some(field) => route_from_before(&envelope, field)?,
                None => None,
            };
            let added = self.added_values(&envelope, &schema)?;
            let row = match self.handling.on_delete {
                OnDelete::NullValue => Row {
                    schema: Some(after_schema),
                    value: Value::Null,
                },
                OnDelete::Tombstone => Row {
                    schema: None,
                    value: Value::Null,
                },
                _ => {
                    let before = take_field(envelope, BEFORE);
                    self.mark_deleted(before_schema, before, "true")?
                }
            };
            set_row(record, row);
            if let Some(topic) = topic {
                record.topic = topic.into();
            }
            self.drop_fields(record)?;
            if !record.value.is_null() {
                self.add_fields(record, &schema, added)?;
            }
            return Ok(Outcome::Keep);
        }
        let added = self.added_values(&envelope, &schema)?;
        let after = take_field(envelope, AFTER);
        let row = if self.handling.rewrite {
            self.mark_deleted(after_schema, after, "false")?
        } else {
            Row {
                schema: Some(after_schema),
                value: after,
            }
        };
        set_row(record, row);
        if let Some(field) = &self.route_by_field {
            let topic = match &record.value {
                Value::Struct(s) => route_field(s, field)?,
                other => {
                    return Err(struct_required(
                        other,
                        "Read record to set topic routing for CREATE / UPDATE",
                    ))
                }
            };
            if let Some(topic) = topic {
                record.topic = topic.into();
            }
        }
        self.add_fields(record, &schema, added)?;
        self.drop_fields(record)?;
        Ok(Outcome::Keep)
    }

    /// The values of the fields `add.fields` adds, read from the envelope before it is taken
    /// apart; `None` for fields the event lacks.
    fn added_values(&self, envelope: &Struct, schema: &Schema) -> Result<Vec<Option<Value>>> {
        self.add_fields
            .iter()
            .map(|r| Ok(r.locate(schema)?.map(|_| r.value_in(envelope))))
            .collect()
    }

    /// Adds `__deleted` (as Kafka's `InsertField` with `static.field=__deleted`) when the row
    /// is a struct.
    fn mark_deleted(&self, schema: SchemaRef, value: Value, deleted: &str) -> Result<Row> {
        let row = match value {
            Value::Struct(row) => row,
            other => {
                return Ok(Row {
                    schema: Some(schema),
                    value: other,
                })
            }
        };
        let row_schema = row.schema().clone();
        let updated = self.deleted_schemas.get_or_build(&row_schema, |s| {
            let mut builder = copy_schema_basics(s, SchemaBuilder::struct_());
            for f in &s.fields {
                builder = builder.field(f.name.clone(), f.schema.clone())?;
            }
            Ok(builder
                .field(DELETED_FIELD, Schema::optional(SchemaType::String))?
                .build())
        })?;
        let mut values: Vec<Value> = row
            .into_values()
            .into_iter()
            .zip(&row_schema.fields)
            .map(|(v, f)| match (&v, &f.schema.default) {
                (Value::Null, Some(default)) if self.replace_null_with_default => default.clone(),
                _ => v,
            })
            .collect();
        values.push(Value::from(deleted));
        // The row's fields keep their schemas: only the added field is checked.
        let copied = row_schema.fields.len();
        let value = Struct::from_values_checking(updated.clone(), values, |i| i >= copied)?;
        Ok(Row {
            schema: Some(updated),
            value: Value::Struct(value),
        })
    }

    /// Adds the `add.fields` values to a schema'd row; the row schema is rebuilt (required)
    /// even when there is nothing to add, as Debezium does.
    fn add_fields(
        &self,
        record: &mut ConnectRecord,
        envelope_schema: &SchemaRef,
        added: Vec<Option<Value>>,
    ) -> Result<()> {
        let row = match std::mem::take(&mut record.value) {
            Value::Struct(row) => row,
            other => return Err(struct_required(&other, ADD_FIELDS_PURPOSE)),
        };
        let row_schema = row.schema().clone();
        let updated =
            self.added_fields_schemas
                .get_or_build(envelope_schema, Some(&row_schema), || {
                    let mut builder = copy_schema_basics(&row_schema, SchemaBuilder::struct_());
                    for f in &row_schema.fields {
                        builder = builder.field(f.name.clone(), f.schema.clone())?;
                    }
                    for r in &self.add_fields {
                        if let Some(field_schema) = r.schema_in(envelope_schema)? {
                            builder = builder.field(r.new_name.clone(), field_schema)?;
                        }
                    }
                    Ok(builder.build())
                })?;
        let mut values = row.into_values();
        // The row's fields keep their schemas: only the added values are checked.
        let copied = values.len();
        values.extend(added.into_iter().flatten());
        let value = Struct::from_values_checking(updated.clone(), values, |i| i >= copied)?;
        record.value_schema = Some(updated);
        record.value = Value::Struct(value);
        Ok(())
    }

    /// Removes the fields the drop-fields header lists (Kafka's `ReplaceField` with
    /// `exclude`), from the value and, when asked, the key.
    fn drop_fields(&self, record: &mut ConnectRecord) -> Result<()> {
        let Some(header_name) = &self.drop_fields_header else {
            return Ok(());
        };
        let names: Vec<String> = match record.headers.iter().find(|h| &h.key == header_name) {
            Some(header) => match &header.value {
                Value::Null => return Ok(()),
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                other => {
                    return Err(ConnectError::data(format!(
                        "The header '{header_name}' must hold a list of field names, found: {}",
                        other.type_name()
                    )))
                }
            },
            None => return Ok(()),
        };
        if names.is_empty() {
            return Ok(());
        }
        if self.drop_fields_from_key && !record.key.is_null() {
            let key = std::mem::take(&mut record.key);
            let (schema, key) = self.without_fields(record.key_schema.take(), key, &names)?;
            record.key_schema = schema;
            record.key = key;
        }
        let value = std::mem::take(&mut record.value);
        let (schema, value) = self.without_fields(record.value_schema.take(), value, &names)?;
        record.value_schema = schema;
        record.value = value;
        Ok(())
    }

    /// `value` without the listed fields (only the optional ones when schemas must stay
    /// compatible).
    fn without_fields(
        &self,
        schema: Option<SchemaRef>,
        value: Value,
        names: &[String],
    ) -> Result<(Option<SchemaRef>, Value)> {
        if value.is_null() {
            return Ok((schema, value));
        }
        let Some(schema) = schema else {
            return Ok((None, without_map_entries(value, names)));
        };
        let drop: Vec<&str> = schema
            .fields
            .iter()
            .filter(|f| {
                names.contains(&f.name)
                    && (!self.drop_fields_keep_schema_compatible || f.schema.optional)
            })
            .map(|f| f.name.as_str())
            .collect();
        if drop.is_empty() {
            return Ok((Some(schema), value));
        }
        let row = match value {
            Value::Struct(row) => row,
            other => return Err(struct_required(&other, REPLACE_PURPOSE)),
        };
        let row_schema = row.schema().clone();
        let mut builder = copy_schema_basics(&row_schema, SchemaBuilder::struct_());
        let mut values = Vec::with_capacity(row_schema.fields.len());
        for (f, v) in row_schema.fields.iter().zip(row.into_values()) {
            if drop.contains(&f.name.as_str()) {
                continue;
            }
            builder = builder.field(f.name.clone(), f.schema.clone())?;
            // Kafka's ReplaceField reads fields with their defaults.
            values.push(match (&v, &f.schema.default) {
                (Value::Null, Some(default)) => default.clone(),
                _ => v,
            });
        }
        let updated = builder.build();
        // The kept fields keep their schemas, so their values need no new check.
        let value = Struct::from_values_unchecked(updated.clone(), values)?;
        Ok((Some(updated), Value::Struct(value)))
    }

    /// Unwraps a schemaless envelope (a map).
    fn apply_map(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        let envelope = std::mem::take(&mut record.value);
        for r in &self.add_headers {
            if let Some(value) = r.value_in_map(&envelope) {
                record.headers.add(r.new_name.clone(), None, value);
            }
        }
        let added: Vec<(String, Value)> = self
            .add_fields
            .iter()
            .filter_map(|r| r.value_in_map(&envelope).map(|v| (r.new_name.clone(), v)))
            .collect();
        let Value::Map(mut entries) = envelope else {
            record.value = envelope;
            return Ok(Outcome::Keep);
        };
        let mut take = |name: &str| {
            entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(name))
                .map(|(_, v)| std::mem::take(v))
                .unwrap_or(Value::Null)
        };
        let after = take(AFTER);
        let before = take(BEFORE);
        util::discard_entries(entries);
        let row = if after.is_null() {
            if before.is_null() {
                return Ok(Outcome::Drop);
            }
            if self.handling.on_delete == OnDelete::Drop {
                return Ok(Outcome::Drop);
            }
            if let Some(field) = &self.route_by_field {
                if let Some(topic) = route_map_field(&before, field)? {
                    record.topic = topic.into();
                }
            }
            match self.handling.on_delete {
                OnDelete::Rewrite => with_map_entry(before, DELETED_FIELD, "true"),
                _ => Value::Null,
            }
        } else {
            let row = if self.handling.rewrite {
                with_map_entry(after, DELETED_FIELD, "false")
            } else {
                after
            };
            if let Some(field) = &self.route_by_field {
                if let Some(topic) = route_map_field(&row, field)? {
                    record.topic = topic.into();
                }
            }
            row
        };
        record.value_schema = None;
        record.value = row;
        if record.value.is_null() {
            self.drop_fields(record)?;
            return Ok(Outcome::Keep);
        }
        let mut row = match std::mem::take(&mut record.value) {
            map @ Value::Map(_) => map,
            other => {
                return Err(ConnectError::data(format!(
                    "Only Map objects supported in absence of schema for [{ADD_FIELDS_PURPOSE}], \
                     found: {}",
                    util::class_or_null(&other)
                )))
            }
        };
        for (name, value) in added {
            row = with_map_entry(row, &name, value);
        }
        record.value = row;
        self.drop_fields(record)?;
        Ok(Outcome::Keep)
    }
}

impl Transformation for ExtractNewRecordState {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if record.value.is_null() {
            return Ok(self.tombstone(record));
        }
        match record.value_schema.take() {
            Some(schema) => {
                let is_envelope = schema
                    .name
                    .as_deref()
                    .is_some_and(|n| n.ends_with(ENVELOPE_SUFFIX));
                if is_envelope {
                    self.apply_struct(record, schema)
                } else {
                    record.value_schema = Some(schema);
                    Ok(Outcome::Keep)
                }
            }
            None => {
                let is_envelope = record.value.map_get(OP).is_some()
                    && (record.value.map_get(AFTER).is_some()
                        || record.value.map_get(BEFORE).is_some());
                if is_envelope {
                    self.apply_map(record)
                } else {
                    Ok(Outcome::Keep)
                }
            }
        }
    }
}

/// The schema of an envelope field, as Kafka's `ExtractField` requires it.
fn field_schema(envelope: &Schema, name: &str) -> Result<SchemaRef> {
    envelope
        .field(name)
        .map(|f| f.schema.clone())
        .ok_or_else(|| ConnectError::data(format!("Unknown field: {name}")))
}

/// Takes a field's value out of the envelope (Kafka's `ExtractField`, which reads defaults).
fn take_field(envelope: Struct, name: &str) -> Value {
    let schema = envelope.schema().clone();
    let Some(field) = schema.field(name) else {
        return Value::Null;
    };
    let mut values = envelope.into_values();
    let value = values
        .get_mut(field.index)
        .map(std::mem::take)
        .unwrap_or(Value::Null);
    util::discard_values(values);
    match (&value, &field.schema.default) {
        (Value::Null, Some(default)) => default.clone(),
        _ => value,
    }
}

/// Replaces the record's value by `row`.
fn set_row(record: &mut ConnectRecord, row: Row) {
    record.value_schema = row.schema;
    record.value = row.value;
}

/// A struct field's text, as Kafka's `Struct.getString` reads it; blank text is `None`.
fn route_field(row: &Struct, field: &str) -> Result<Option<String>> {
    let f = row
        .schema()
        .field(field)
        .ok_or_else(|| ConnectError::data(format!("{field} is not a valid field name")))?;
    if f.schema.schema_type != SchemaType::String {
        return Err(ConnectError::data(format!(
            "Field '{field}' is not of type STRING"
        )));
    }
    Ok(row
        .get_without_default(field)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned))
}

/// The routing text of a delete: the field of the envelope's `before` state.
fn route_from_before(envelope: &Struct, field: &str) -> Result<Option<String>> {
    let before_field = envelope
        .schema()
        .field(BEFORE)
        .ok_or_else(|| ConnectError::data(format!("{BEFORE} is not a valid field name")))?;
    if before_field.schema.schema_type != SchemaType::Struct {
        return Err(ConnectError::data(format!(
            "Field '{BEFORE}' is not of type STRUCT"
        )));
    }
    match envelope.get_without_default(BEFORE) {
        Some(Value::Struct(before)) => route_field(before, field),
        _ => Err(ConnectError::data(
            "Cannot route a delete event by field: its before state is null",
        )),
    }
}

/// A schemaless row's routing text; blank or absent text is `None`.
fn route_map_field(row: &Value, field: &str) -> Result<Option<String>> {
    match row.map_get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok((!s.trim().is_empty()).then(|| s.clone())),
        Some(_) => Err(ConnectError::data(format!(
            "Field '{field}' is not of type STRING"
        ))),
    }
}

/// A map with `name` set to `value` (replaced in place, or appended); other values unchanged.
fn with_map_entry(map: Value, name: &str, value: impl Into<Value>) -> Value {
    match map {
        Value::Map(mut entries) => {
            let value = value.into();
            match entries.iter_mut().find(|(k, _)| k.as_str() == Some(name)) {
                Some((_, slot)) => *slot = value,
                None => entries.push((Value::from(name), value)),
            }
            Value::Map(entries)
        }
        other => other,
    }
}

/// A schemaless map without the listed entries; other values unchanged.
fn without_map_entries(value: Value, names: &[String]) -> Value {
    match value {
        Value::Map(mut entries) => {
            entries.retain(|(k, _)| !k.as_str().is_some_and(|k| names.iter().any(|n| n == k)));
            Value::Map(entries)
        }
        other => other,
    }
}

/// Kafka's header check: the value must suit the header's schema.
fn check_header(value: &Value, schema: &Schema) -> Result<()> {
    match schema.validate_value(value) {
        Ok(()) => Ok(()),
        Err(cause) => Err(ConnectError::data(format!(
            "The value {} is not compatible with the schema {} ({cause})",
            JavaText::new(value, BytesText::SignedList),
            schema_text(Some(schema))
        ))),
    }
}

/// Kafka's `Requirements.requireStruct` error for a value that is not a struct.
fn struct_required(value: &Value, purpose: &str) -> ConnectError {
    ConnectError::data(format!(
        "Only Struct objects supported for [{purpose}], found: {}",
        util::class_or_null(value)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::Headers;

    fn xform(props: &[(&str, &str)]) -> Box<dyn Transformation> {
        let props: ConfigMap = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ExtractNewRecordState::create(&props).unwrap()
    }

    fn config_err(props: &[(&str, &str)]) -> String {
        let props: ConfigMap = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ExtractNewRecordState::create(&props)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    }

    fn record_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .name("dummy.Value")
            .field(
                "id",
                SchemaBuilder::new(SchemaType::Int8)
                    .parameter("__debezium.source.column.name", "id")
                    .build(),
            )
            .unwrap()
            .field("name", Schema::required(SchemaType::String))
            .unwrap()
            .field(
                "nick",
                SchemaBuilder::new(SchemaType::String)
                    .optional()
                    .default_value(Value::from("default_str"))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build()
    }

    fn source_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .name("dummy.Source")
            .field("lsn", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("ts_ms", Schema::optional(SchemaType::Int64))
            .unwrap()
            .field("db", Schema::optional(SchemaType::String))
            .unwrap()
            .field("table", Schema::optional(SchemaType::String))
            .unwrap()
            .build()
    }

    fn transaction_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .optional()
            .field("id", Schema::required(SchemaType::String))
            .unwrap()
            .field("total_order", Schema::required(SchemaType::Int64))
            .unwrap()
            .field("data_collection_order", Schema::required(SchemaType::Int64))
            .unwrap()
            .build()
    }

    fn envelope_schema() -> SchemaRef {
        let row = SchemaBuilder::from_schema(&record_schema())
            .optional()
            .build();
        SchemaBuilder::struct_()
            .name("dummy.Envelope")
            .field(BEFORE, row.clone())
            .unwrap()
            .field(AFTER, row)
            .unwrap()
            .field("source", source_schema())
            .unwrap()
            .field("transaction", transaction_schema())
            .unwrap()
            .field(OP, Schema::required(SchemaType::String))
            .unwrap()
            .field("ts_ms", Schema::optional(SchemaType::Int64))
            .unwrap()
            .build()
    }

    fn row(id: i8, name: &str, nick: Option<&str>) -> Value {
        let schema = envelope_schema().field(AFTER).unwrap().schema.clone();
        let mut s = Struct::new(schema).unwrap();
        s.put("id", Value::Int8(id)).unwrap();
        s.put("name", Value::from(name)).unwrap();
        if let Some(nick) = nick {
            s.put("nick", Value::from(nick)).unwrap();
        }
        Value::Struct(s)
    }

    fn event(op: &str, before: Value, after: Value, transaction: bool) -> ConnectRecord {
        let schema = envelope_schema();
        let source = Struct::new(source_schema())
            .unwrap()
            .with("lsn", 1234)
            .unwrap()
            .with("ts_ms", 1_588_252_618_953i64)
            .unwrap()
            .with("table", "test_table")
            .unwrap();
        let mut envelope = Struct::new(schema.clone()).unwrap();
        envelope.put(BEFORE, before).unwrap();
        envelope.put(AFTER, after).unwrap();
        envelope.put("source", Value::Struct(source)).unwrap();
        if transaction {
            let tx = Struct::new(transaction_schema())
                .unwrap()
                .with("id", "571")
                .unwrap()
                .with("total_order", 42i64)
                .unwrap()
                .with("data_collection_order", 42i64)
                .unwrap();
            envelope.put("transaction", Value::Struct(tx)).unwrap();
        }
        envelope.put(OP, Value::from(op)).unwrap();
        envelope
            .put("ts_ms", Value::Int64(1_710_032_523_000))
            .unwrap();
        let mut record = ConnectRecord::new("dummy", Some(schema), Value::Struct(envelope));
        record.key = Value::from("key");
        record.timestamp = Some(9);
        record
    }

    fn create() -> ConnectRecord {
        event("c", Value::Null, row(1, "myRecord", Some("nick")), false)
    }

    fn update() -> ConnectRecord {
        event(
            "u",
            row(1, "myRecord", None),
            row(1, "updatedRecord", None),
            true,
        )
    }

    fn delete() -> ConnectRecord {
        event("d", row(1, "myRecord", None), Value::Null, false)
    }

    fn tombstone() -> ConnectRecord {
        let mut record = ConnectRecord::new("dummy", None, Value::Null);
        record.key = Value::from("key");
        record
    }

    fn truncate() -> ConnectRecord {
        event("t", Value::Null, Value::Null, false)
    }

    fn field<'a>(record: &'a ConnectRecord, name: &str) -> &'a Value {
        match &record.value {
            Value::Struct(s) => s.get_without_default(name).unwrap_or(&Value::Null),
            Value::Map(_) => record.value.map_get(name).unwrap_or(&Value::Null),
            other => panic!("not a row: {other:?}"),
        }
    }

    fn header<'a>(headers: &'a Headers, name: &str) -> &'a Value {
        &headers.last_with_name(name).unwrap().value
    }

    #[test]
    fn config_errors_name_the_key() {
        assert_eq!(
            config_err(&[("delete.tombstone.handling.mode", "nope")]),
            "invalid configuration for 'delete.tombstone.handling.mode': Invalid value nope for \
             configuration delete.tombstone.handling.mode: Value must be one of drop, tombstone, \
             rewrite, rewrite-with-tombstone, delete-to-tombstone"
        );
        assert_eq!(
            config_err(&[("delete.handling.mode", "keep")]),
            "invalid configuration for 'delete.handling.mode': Invalid value keep for \
             configuration delete.handling.mode: Value must be one of drop, rewrite, none"
        );
        assert_eq!(
            config_err(&[("add.fields", "op,a:b:c")]),
            "invalid configuration for 'add.fields': Invalid value op,a:b:c for configuration \
             add.fields: Unexpected field name: a:b:c"
        );
        assert!(config_err(&[("drop.tombstones", "maybe")]).contains("true or false"));
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(names, ["io.debezium.transforms.ExtractNewRecordState"]);
    }

    #[test]
    fn parses_field_references() {
        let r = |spec: &str| FieldRef::parse("__", spec).unwrap();
        let cases: &[(&str, Option<&str>, &str, &str)] = &[
            ("op", None, "op", "__op"),
            ("ts_ms", None, "ts_ms", "__ts_ms"),
            ("ts_ns", None, "ts_ns", "__ts_ns"),
            ("table", Some("source"), "table", "__table"),
            ("id", Some("transaction"), "id", "__id"),
            (
                "total_order",
                Some("transaction"),
                "total_order",
                "__total_order",
            ),
            ("source.ts_ms", Some("source"), "ts_ms", "__source_ts_ms"),
            (
                "transaction.id",
                Some("transaction"),
                "id",
                "__transaction_id",
            ),
            ("version:VERSION", Some("source"), "version", "__VERSION"),
            (
                "source.lsn:source_lsn",
                Some("source"),
                "lsn",
                "__source_lsn",
            ),
            ("ts_ms:", None, "ts_ms", "__ts_ms"),
        ];
        for (spec, parent, field, new_name) in cases {
            let got = r(spec);
            assert_eq!(got.parent.as_deref(), *parent, "{spec}");
            assert_eq!(got.field, *field, "{spec}");
            assert_eq!(got.new_name, *new_name, "{spec}");
        }
        assert_eq!(FieldRef::parse("", "op:OP").unwrap().new_name, "OP");
        assert!(FieldRef::parse("__", ":").is_err());
    }

    #[test]
    fn tombstones_by_mode() {
        for (mode, kept) in [
            ("drop", false),
            ("tombstone", false),
            ("rewrite", false),
            ("delete-to-tombstone", false),
            ("rewrite-with-tombstone", true),
            ("REWRITE-WITH-TOMBSTONE", true),
        ] {
            let out = xform(&[("delete.tombstone.handling.mode", mode)])
                .apply_owned(tombstone())
                .unwrap();
            assert_eq!(out.is_some(), kept, "{mode}");
            if let Some(out) = out {
                assert_eq!(out, tombstone());
            }
        }
        // Nothing set: tombstones are dropped.
        assert!(xform(&[]).apply_owned(tombstone()).unwrap().is_none());
        // Kept tombstones get the `op` header, and only that one.
        let out = xform(&[
            ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
            ("add.headers", "op,lsn"),
        ])
        .apply_owned(tombstone())
        .unwrap()
        .unwrap();
        assert_eq!(out.headers.len(), 1);
        let h = out.headers.last_with_name("__op").unwrap();
        assert_eq!(h.value, Value::from("d"));
        assert_eq!(h.schema, Some(Schema::required(SchemaType::String)));
        assert_eq!(out.value, Value::Null);
    }

    #[test]
    fn creates_and_updates_become_the_after_state() {
        let mut record = create();
        record.headers.add_string("propagated", "yes");
        let out = xform(&[]).apply_owned(record).unwrap().unwrap();
        let schema = out.value_schema.clone().unwrap();
        // The row schema, rebuilt as a required struct.
        assert_eq!(schema.name.as_deref(), Some("dummy.Value"));
        assert!(!schema.optional);
        assert_eq!(schema.fields, record_schema().fields);
        assert_eq!(field(&out, "id"), &Value::Int8(1));
        assert_eq!(field(&out, "name"), &Value::from("myRecord"));
        assert_eq!(field(&out, "nick"), &Value::from("nick"));
        assert_eq!(&*out.topic, "dummy");
        assert_eq!(out.key, Value::from("key"));
        assert_eq!(out.timestamp, Some(9));
        assert_eq!(header(&out.headers, "propagated"), &Value::from("yes"));
        assert_eq!(out.headers.len(), 1);

        let out = xform(&[]).apply_owned(update()).unwrap().unwrap();
        assert_eq!(field(&out, "name"), &Value::from("updatedRecord"));
    }

    #[test]
    fn deletes_by_mode() {
        let x = |mode: &str| xform(&[("delete.tombstone.handling.mode", mode)]);
        assert!(x("drop").apply_owned(delete()).unwrap().is_none());

        let out = x("tombstone").apply_owned(delete()).unwrap().unwrap();
        assert_eq!(out.value, Value::Null);
        assert_eq!(
            out.value_schema,
            Some(envelope_schema().field(AFTER).unwrap().schema.clone())
        );
        assert_eq!(out.key, Value::from("key"));

        let out = x("delete-to-tombstone")
            .apply_owned(delete())
            .unwrap()
            .unwrap();
        assert_eq!((out.value_schema, out.value), (None, Value::Null));

        for mode in ["rewrite", "rewrite-with-tombstone"] {
            let out = x(mode).apply_owned(delete()).unwrap().unwrap();
            assert_eq!(field(&out, "name"), &Value::from("myRecord"));
            assert_eq!(field(&out, DELETED_FIELD), &Value::from("true"));
            let schema = out.value_schema.unwrap();
            assert_eq!(
                schema.field(DELETED_FIELD).unwrap().schema,
                Schema::optional(SchemaType::String)
            );
            assert!(!schema.optional);
        }
        // Truncates are dropped in every mode.
        for mode in DELETE_TOMBSTONE_MODES {
            assert!(x(mode).apply_owned(truncate()).unwrap().is_none(), "{mode}");
        }
    }

    #[test]
    fn rewrite_marks_other_rows_and_reads_defaults_as_configured() {
        let out = xform(&[("delete.tombstone.handling.mode", "rewrite")])
            .apply_owned(update())
            .unwrap()
            .unwrap();
        assert_eq!(field(&out, DELETED_FIELD), &Value::from("false"));
        // The null optional field with a default reads as its default...
        assert_eq!(field(&out, "nick"), &Value::from("default_str"));
        // ...unless replace.null.with.default=false.
        let out = xform(&[
            ("delete.tombstone.handling.mode", "rewrite"),
            ("replace.null.with.default", "false"),
        ])
        .apply_owned(update())
        .unwrap()
        .unwrap();
        assert_eq!(field(&out, "nick"), &Value::Null);
        // Without rewriting, no __deleted field.
        let out = xform(&[]).apply_owned(update()).unwrap().unwrap();
        assert!(out.value_schema.unwrap().field(DELETED_FIELD).is_none());
    }

    #[test]
    fn deprecated_settings_apply_when_the_mode_is_not_set() {
        let legacy = xform(&[
            ("drop.tombstones", "false"),
            ("delete.handling.mode", "rewrite"),
        ]);
        assert!(legacy.apply_owned(tombstone()).unwrap().is_some());
        let out = legacy.apply_owned(delete()).unwrap().unwrap();
        assert_eq!(field(&out, DELETED_FIELD), &Value::from("true"));
        let out = legacy.apply_owned(create()).unwrap().unwrap();
        assert_eq!(field(&out, DELETED_FIELD), &Value::from("false"));

        let none = xform(&[("delete.handling.mode", "none")]);
        assert!(none.apply_owned(tombstone()).unwrap().is_none());
        assert_eq!(
            none.apply_owned(delete()).unwrap().unwrap().value,
            Value::Null
        );

        let dropping = xform(&[("drop.tombstones", "true")]);
        assert!(dropping.apply_owned(delete()).unwrap().is_none());

        // The current setting wins over the deprecated ones.
        let both = xform(&[
            ("delete.handling.mode", "rewrite"),
            ("drop.tombstones", "false"),
            ("delete.tombstone.handling.mode", "drop"),
        ]);
        assert!(both.apply_owned(tombstone()).unwrap().is_none());
        assert!(both.apply_owned(delete()).unwrap().is_none());
    }

    #[test]
    fn add_fields_copies_envelope_fields() {
        let x = xform(&[("add.fields", "op,lsn,id,source.ts_ms,ts_ms,notExisting")]);
        let out = x.apply_owned(create()).unwrap().unwrap();
        assert_eq!(field(&out, "__op"), &Value::from("c"));
        assert_eq!(field(&out, "__lsn"), &Value::Int32(1234));
        // The transaction is null in this event.
        assert_eq!(field(&out, "__id"), &Value::Null);
        assert_eq!(
            field(&out, "__source_ts_ms"),
            &Value::Int64(1_588_252_618_953)
        );
        assert_eq!(field(&out, "__ts_ms"), &Value::Int64(1_710_032_523_000));
        let schema = out.value_schema.clone().unwrap();
        assert!(schema.field("__notExisting").is_none());
        // Added fields are optional copies of the envelope fields' schemas.
        assert_eq!(
            schema.field("__lsn").unwrap().schema,
            Schema::optional(SchemaType::Int32)
        );
        assert_eq!(
            schema.field("__op").unwrap().schema,
            Schema::optional(SchemaType::String)
        );
        // The rebuilt schema is built once per row and envelope schema.
        let again = x.apply_owned(create()).unwrap().unwrap();
        assert!(SchemaRef::ptr_eq(
            &schema,
            again.value_schema.as_ref().unwrap()
        ));

        let mapped = xform(&[
            ("add.fields.prefix", ""),
            (
                "add.fields",
                "op:OP, lsn:LSN, id:ID, source.lsn:source_lsn, transaction.total_order:TOTAL_ORDER",
            ),
        ])
        .apply_owned(update())
        .unwrap()
        .unwrap();
        assert_eq!(field(&mapped, "OP"), &Value::from("u"));
        assert_eq!(field(&mapped, "LSN"), &Value::Int32(1234));
        assert_eq!(field(&mapped, "ID"), &Value::from("571"));
        assert_eq!(field(&mapped, "source_lsn"), &Value::Int32(1234));
        assert_eq!(field(&mapped, "TOTAL_ORDER"), &Value::Int64(42));
    }

    #[test]
    fn add_fields_on_rewritten_deletes() {
        let out = xform(&[
            ("delete.tombstone.handling.mode", "rewrite"),
            ("add.fields", "op,source.lsn"),
        ])
        .apply_owned(delete())
        .unwrap()
        .unwrap();
        assert_eq!(field(&out, DELETED_FIELD), &Value::from("true"));
        assert_eq!(field(&out, "__op"), &Value::from("d"));
        assert_eq!(field(&out, "__source_lsn"), &Value::Int32(1234));
        // A delete turned into a null value gets no fields.
        let out = xform(&[("add.fields", "op")])
            .apply_owned(delete())
            .unwrap()
            .unwrap();
        assert_eq!(out.value, Value::Null);
    }

    #[test]
    fn add_headers_copies_envelope_fields() {
        let out = xform(&[("add.headers", "op,lsn,id,transaction.total_order")])
            .apply_owned(update())
            .unwrap()
            .unwrap();
        assert_eq!(out.headers.len(), 4);
        assert_eq!(header(&out.headers, "__op"), &Value::from("u"));
        assert_eq!(header(&out.headers, "__lsn"), &Value::Int32(1234));
        assert_eq!(header(&out.headers, "__id"), &Value::from("571"));
        assert_eq!(
            header(&out.headers, "__transaction_total_order"),
            &Value::Int64(42)
        );
        let lsn = out.headers.last_with_name("__lsn").unwrap();
        assert_eq!(lsn.schema, Some(Schema::optional(SchemaType::Int32)));
        // A missing transaction gives a null header.
        let out = xform(&[("add.headers", "op,id"), ("add.headers.prefix", "x_")])
            .apply_owned(create())
            .unwrap()
            .unwrap();
        assert_eq!(header(&out.headers, "x_op"), &Value::from("c"));
        assert_eq!(header(&out.headers, "x_id"), &Value::Null);
        // Rewritten deletes keep their headers.
        let out = xform(&[
            ("delete.tombstone.handling.mode", "rewrite"),
            ("add.headers", "op"),
        ])
        .apply_owned(delete())
        .unwrap()
        .unwrap();
        assert_eq!(header(&out.headers, "__op"), &Value::from("d"));
    }

    #[test]
    fn other_records_pass_unchanged() {
        let x = xform(&[("add.headers", "op,source.lsn"), ("add.fields", "op")]);
        let heartbeat_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.Heartbeat")
            .field("ts_ms", Schema::required(SchemaType::Int64))
            .unwrap()
            .build();
        let heartbeat = ConnectRecord::new(
            "hb",
            Some(heartbeat_schema.clone()),
            Value::Struct(
                Struct::new(heartbeat_schema)
                    .unwrap()
                    .with("ts_ms", 5i64)
                    .unwrap(),
            ),
        );
        assert_eq!(
            x.apply_owned(heartbeat.clone()).unwrap().unwrap(),
            heartbeat
        );
        let unnamed = ConnectRecord::new(
            "t",
            Some(Schema::required(SchemaType::String)),
            Value::from("x"),
        );
        assert_eq!(x.apply_owned(unnamed.clone()).unwrap().unwrap(), unnamed);
        let plain_map = ConnectRecord::new(
            "t",
            None,
            Value::Map(vec![(Value::from("a"), Value::Int32(1))]),
        );
        assert_eq!(
            x.apply_owned(plain_map.clone()).unwrap().unwrap(),
            plain_map
        );
    }

    #[test]
    fn routes_by_field() {
        let x = xform(&[("route.by.field", "name")]);
        assert_eq!(
            &*x.apply_owned(create()).unwrap().unwrap().topic,
            "myRecord"
        );
        assert_eq!(
            &*x.apply_owned(update()).unwrap().unwrap().topic,
            "updatedRecord"
        );
        let rewrite = xform(&[
            ("route.by.field", "name"),
            ("delete.tombstone.handling.mode", "rewrite"),
        ]);
        assert_eq!(
            &*rewrite.apply_owned(delete()).unwrap().unwrap().topic,
            "myRecord"
        );
        // Deletes route by their before state even when they become null values.
        assert_eq!(
            &*x.apply_owned(delete()).unwrap().unwrap().topic,
            "myRecord"
        );
        // A null routing field keeps the topic.
        let by_nick = xform(&[("route.by.field", "nick")]);
        assert_eq!(
            &*by_nick.apply_owned(update()).unwrap().unwrap().topic,
            "dummy"
        );
        let err = xform(&[("route.by.field", "nope")])
            .apply_owned(create())
            .unwrap_err();
        assert_eq!(err.to_string(), "nope is not a valid field name");
        let err = xform(&[("route.by.field", "id")])
            .apply_owned(create())
            .unwrap_err();
        assert_eq!(err.to_string(), "Field 'id' is not of type STRING");
    }

    #[test]
    fn drop_fields_header_removes_listed_fields() {
        let list = Value::Array(vec![Value::from("id"), Value::from("nick")]);
        let with_header = |mut record: ConnectRecord| {
            record.headers.add("drop-fields", None, list.clone());
            record
        };
        let key_schema = SchemaBuilder::struct_()
            .field("id", Schema::required(SchemaType::Int8))
            .unwrap()
            .field("nick", Schema::optional(SchemaType::String))
            .unwrap()
            .build();
        let keyed = |record: ConnectRecord| {
            let mut record = with_header(record);
            record.key_schema = Some(key_schema.clone());
            record.key = Value::Struct(
                Struct::new(key_schema.clone())
                    .unwrap()
                    .with("id", Value::Int8(1))
                    .unwrap(),
            );
            record
        };

        // Schema-compatible: only optional fields go.
        let x = xform(&[("drop.fields.header.name", "drop-fields")]);
        let out = x.apply_owned(with_header(create())).unwrap().unwrap();
        let schema = out.value_schema.unwrap();
        assert!(schema.field("nick").is_none());
        assert!(schema.field("id").is_some());

        // Every listed field goes, from the key too when asked.
        let x = xform(&[
            ("drop.fields.header.name", "drop-fields"),
            ("drop.fields.keep.schema.compatible", "false"),
            ("drop.fields.from.key", "true"),
        ]);
        let out = x.apply_owned(keyed(create())).unwrap().unwrap();
        let schema = out.value_schema.clone().unwrap();
        assert!(schema.field("nick").is_none());
        assert!(schema.field("id").is_none());
        assert_eq!(field(&out, "name"), &Value::from("myRecord"));
        let key_schema_out = out.key_schema.unwrap();
        assert!(key_schema_out.field("id").is_none());
        assert!(key_schema_out.field("nick").is_none());

        // Without the key setting, the key keeps its fields.
        let x = xform(&[
            ("drop.fields.header.name", "drop-fields"),
            ("drop.fields.keep.schema.compatible", "false"),
        ]);
        let out = x.apply_owned(keyed(update())).unwrap().unwrap();
        assert!(out.key_schema.unwrap().field("id").is_some());
        // No header, nothing dropped.
        let out = x.apply_owned(update()).unwrap().unwrap();
        assert!(out.value_schema.unwrap().field("id").is_some());
    }

    fn map_event(op: &str, before: Value, after: Value) -> ConnectRecord {
        let source = Value::Map(vec![
            (Value::from("lsn"), Value::Int32(1234)),
            (Value::from("table"), Value::from("test_table")),
        ]);
        let envelope = Value::Map(vec![
            (Value::from(BEFORE), before),
            (Value::from(AFTER), after),
            (Value::from("source"), source),
            (Value::from("transaction"), Value::Null),
            (Value::from(OP), Value::from(op)),
            (Value::from("ts_ms"), Value::Int64(77)),
        ]);
        ConnectRecord::new("dummy", None, envelope)
    }

    fn map_row(name: &str) -> Value {
        Value::Map(vec![
            (Value::from("id"), Value::Int64(1)),
            (Value::from("name"), Value::from(name)),
        ])
    }

    #[test]
    fn schemaless_envelopes_are_unwrapped() {
        let x = xform(&[
            ("add.fields", "op,table,id"),
            ("add.headers", "op,source.lsn"),
        ]);
        let out = x
            .apply_owned(map_event("c", Value::Null, map_row("myRecord")))
            .unwrap()
            .unwrap();
        assert_eq!(out.value_schema, None);
        assert_eq!(
            out.value,
            Value::Map(vec![
                (Value::from("id"), Value::Int64(1)),
                (Value::from("name"), Value::from("myRecord")),
                (Value::from("__op"), Value::from("c")),
                (Value::from("__table"), Value::from("test_table")),
                (Value::from("__id"), Value::Null),
            ])
        );
        assert_eq!(header(&out.headers, "__op"), &Value::from("c"));
        assert_eq!(header(&out.headers, "__source_lsn"), &Value::Int32(1234));
        assert_eq!(out.headers.last_with_name("__op").unwrap().schema, None);

        // Deletes and truncates.
        let rewrite = xform(&[
            ("delete.tombstone.handling.mode", "rewrite"),
            ("route.by.field", "name"),
        ]);
        let out = rewrite
            .apply_owned(map_event("d", map_row("gone"), Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(field(&out, "name"), &Value::from("gone"));
        assert_eq!(field(&out, DELETED_FIELD), &Value::from("true"));
        assert_eq!(&*out.topic, "gone");
        let out = rewrite
            .apply_owned(map_event("u", Value::Null, map_row("now")))
            .unwrap()
            .unwrap();
        assert_eq!(field(&out, DELETED_FIELD), &Value::from("false"));
        assert!(rewrite
            .apply_owned(map_event("t", Value::Null, Value::Null))
            .unwrap()
            .is_none());
        let out = xform(&[])
            .apply_owned(map_event("d", map_row("gone"), Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!((out.value_schema, out.value), (None, Value::Null));
        assert!(xform(&[("delete.tombstone.handling.mode", "drop")])
            .apply_owned(map_event("d", map_row("gone"), Value::Null))
            .unwrap()
            .is_none());
    }

    #[test]
    fn malformed_envelopes_fail_as_debezium_does() {
        let schema = SchemaBuilder::struct_()
            .name("bad.Envelope")
            .field(OP, Schema::required(SchemaType::String))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone()).unwrap().with(OP, "c").unwrap();
        let err = xform(&[])
            .apply_owned(ConnectRecord::new("t", Some(schema), Value::Struct(value)))
            .unwrap_err();
        assert!(err.is_data());
        assert_eq!(err.to_string(), "Unknown field: after");

        let err = xform(&[])
            .apply_owned(ConnectRecord::new(
                "t",
                Some(envelope_schema()),
                Value::from("x"),
            ))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Struct objects supported for [field extraction], found: java.lang.String"
        );
    }
}

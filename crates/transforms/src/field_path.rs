//! Field paths: how an SMT names the field it reads (Kafka's `SingleFieldPath`, KIP-821).
//!
//! `field.syntax.version` chooses the syntax:
//!
//! - `V1` (the default): the whole text is one top-level field name, dots included.
//! - `V2`: the text is a dot-separated path into nested structs or maps, e.g. `after.id`. A step
//!   wrapped in backquotes may contain dots (`` `a.b`.c `` is the field `c` inside the field
//!   `a.b`). A backquote only closes a step when it ends the path or is followed by a dot;
//!   writing `` \` `` there keeps it in the name instead. A dot at the very end adds an empty
//!   last step, and an empty text has no steps at all.
//!
//! ```properties
//! transforms.id.type=org.apache.kafka.connect.transforms.ExtractField$Value
//! transforms.id.field=after.id
//! transforms.id.field.syntax.version=V2
//! ```
//!
//! A path is parsed once, when the transform is created; a backquote that is never closed is a
//! config error. Lookups follow Kafka: a missing step yields null (the schema'd lookup of a
//! field's schema yields "not found"), and a step that reaches neither a struct nor a map is a
//! data error.

use sluice_api::config::{ConfigKey, ConfigType, Importance, ParsedConfig, Validator};
use sluice_api::data::{Field, Schema, SchemaType, Struct, Value};
use sluice_api::error::{ConnectError, Result};

use crate::util::{discard_entries, discard_values, require_map_or_null, require_struct_or_null};

/// Key name of the path syntax setting.
pub(crate) const FIELD_SYNTAX_VERSION: &str = "field.syntax.version";

/// What Kafka's requirement errors name when a nested step is not a struct or map.
const NESTED_PURPOSE: &str = "nested field access";

/// The syntax of field paths (`field.syntax.version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldSyntaxVersion {
    /// The whole text is one top-level field name.
    V1,
    /// Dotted paths into nested structs and maps, with backquoted steps.
    V2,
}

impl FieldSyntaxVersion {
    /// The `field.syntax.version` key declaration.
    pub(crate) fn config_key() -> ConfigKey {
        ConfigKey::new(FIELD_SYNTAX_VERSION, ConfigType::String)
            .default_value("V1")
            .validator(Validator::OneOfIgnoreCase(vec!["V1", "V2"]))
            .importance(Importance::High)
            .doc(
                "How field names are read. `V1`: the name is one top-level field, even if it \
                 contains dots. `V2`: the name is a dotted path into nested structs or maps \
                 (`after.id`); wrap a step that itself contains dots in backquotes \
                 (`` `user.name`.first ``), and write `` \\` `` for a backquote that would \
                 otherwise close a step.",
            )
    }

    /// The version a parsed config selects (any letter case).
    pub(crate) fn from_config(config: &ParsedConfig) -> Result<Self> {
        let text = config.string(FIELD_SYNTAX_VERSION).unwrap_or("V1");
        if text.eq_ignore_ascii_case("V1") {
            Ok(FieldSyntaxVersion::V1)
        } else if text.eq_ignore_ascii_case("V2") {
            Ok(FieldSyntaxVersion::V2)
        } else {
            Err(ConnectError::config(
                FIELD_SYNTAX_VERSION,
                format!(
                    "Invalid value {text} for configuration {FIELD_SYNTAX_VERSION}: \
                     Unrecognized field syntax version"
                ),
            ))
        }
    }
}

/// A parsed field path: one or more steps from the top of a struct or map down to a field
/// (an empty `V2` text has no steps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SingleFieldPath {
    steps: Vec<String>,
}

impl SingleFieldPath {
    /// Parses `text` with the given syntax. `key` is the config key the text came from, named
    /// by the error for an unclosed backquote.
    pub(crate) fn parse(key: &str, text: &str, version: FieldSyntaxVersion) -> Result<Self> {
        let steps = match version {
            FieldSyntaxVersion::V1 => vec![text.to_owned()],
            FieldSyntaxVersion::V2 => parse_v2(key, text)?,
        };
        Ok(SingleFieldPath { steps })
    }

    /// The steps, outermost first.
    #[cfg(test)]
    fn steps(&self) -> &[String] {
        &self.steps
    }

    /// The path split into the steps leading to the last one, and the last one.
    fn split(&self) -> Result<(&[String], &str)> {
        match self.steps.split_last() {
            Some((last, parents)) => Ok((parents, last)),
            None => Err(ConnectError::data(
                "An empty field path names no field (field.syntax.version=V2 reads an empty \
                 name as a path of no steps)",
            )),
        }
    }

    /// The field the path names in a struct schema, or `None` when a step is missing.
    /// Looking a step up in a schema that is not a struct is a data error, as in Kafka.
    pub(crate) fn field_from<'a>(&self, schema: &'a Schema) -> Result<Option<&'a Field>> {
        let (parents, last) = self.split()?;
        let mut current = schema;
        for step in parents {
            match struct_field(current, step)? {
                Some(field) => current = &field.schema,
                None => return Ok(None),
            }
        }
        struct_field(current, last)
    }

    /// Moves the value the path names out of a schemaless map; null when a step is missing or
    /// null. An intermediate step holding something other than a map is a data error.
    pub(crate) fn take_from_map(&self, entries: Vec<(Value, Value)>) -> Result<Value> {
        let (parents, last) = self.split()?;
        let mut current = entries;
        for step in parents {
            let next = take_entry(&mut current, step);
            require_map_or_null(&next, NESTED_PURPOSE)?;
            match next {
                Value::Map(entries) => discard_entries(std::mem::replace(&mut current, entries)),
                _ => return Ok(Value::Null),
            }
        }
        let taken = take_entry(&mut current, last);
        discard_entries(current);
        Ok(taken)
    }

    /// Moves the value the path names out of a struct; null when a step is missing or null.
    /// Intermediate steps read a null field as its schema default (Kafka's `Struct.get`); the
    /// last step does so only when `with_default` is set. An intermediate step holding
    /// something other than a struct is a data error.
    pub(crate) fn take_from_struct(&self, value: Struct, with_default: bool) -> Result<Value> {
        let (parents, last) = self.split()?;
        let mut current = value;
        for step in parents {
            let next = take_field(current, step, true);
            require_struct_or_null(&next, NESTED_PURPOSE)?;
            match next {
                Value::Struct(s) => current = s,
                _ => return Ok(Value::Null),
            }
        }
        Ok(take_field(current, last, with_default))
    }
}

/// A struct schema's field; a schema of another type has no fields to look up.
fn struct_field<'a>(schema: &'a Schema, name: &str) -> Result<Option<&'a Field>> {
    if schema.schema_type != SchemaType::Struct {
        return Err(ConnectError::data(
            "Cannot look up fields on non-struct type",
        ));
    }
    Ok(schema.field(name))
}

/// Moves out the value of the entry whose key is the string `key` (null when absent).
fn take_entry(entries: &mut [(Value, Value)], key: &str) -> Value {
    entries
        .iter_mut()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| std::mem::take(v))
        .unwrap_or_default()
}

/// Moves out a struct field's value (null when the field is absent); a null reads as the
/// field's default when `with_default` is set.
fn take_field(value: Struct, name: &str, with_default: bool) -> Value {
    let schema = value.schema().clone();
    let Some(field) = schema.field(name) else {
        return Value::Null;
    };
    let mut values = value.into_values();
    let taken = std::mem::take(&mut values[field.index]);
    discard_values(values);
    match (&taken, with_default, &field.schema.default) {
        (Value::Null, true, Some(default)) => default.clone(),
        _ => taken,
    }
}

/// Splits a `V2` path into its steps.
fn parse_v2(key: &str, path: &str) -> Result<Vec<String>> {
    let bytes = path.as_bytes();
    let mut steps = Vec::new();
    let mut idx = 0;
    while idx < bytes.len() {
        if bytes[idx] != b'`' {
            match find(bytes, b'.', idx) {
                Some(dot) => {
                    steps.push(path[idx..dot].to_owned());
                    idx = dot + 1;
                }
                None => {
                    steps.push(path[idx..].to_owned());
                    break;
                }
            }
            continue;
        }
        let opening = idx;
        idx += 1;
        let mut start = idx;
        let mut step = String::new();
        loop {
            let Some(tick) = find(bytes, b'`', idx) else {
                return Err(incomplete_pair(key, path, opening));
            };
            idx = tick;
            let escaped = bytes[idx - 1] == b'\\';
            if idx + 1 >= bytes.len() {
                if escaped {
                    return Err(incomplete_pair(key, path, opening));
                }
                step.push_str(&path[start..idx]);
                steps.push(step);
                idx += 1;
                break;
            }
            if bytes[idx + 1] != b'.' {
                // Not followed by a dot: part of the name; keep looking for the closing one.
                idx += 1;
                continue;
            }
            if escaped {
                // `\`` before a dot: a backquote in the name (the backslash is dropped).
                step.push_str(&path[start..idx - 1]);
                step.push('`');
                idx += 1;
                start = idx;
                continue;
            }
            step.push_str(&path[start..idx]);
            steps.push(step);
            idx += 2;
            break;
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

/// The first position of `byte` at or after `from`.
fn find(bytes: &[u8], byte: u8, from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|b| *b == byte)
        .map(|i| from + i)
}

/// Kafka's error for an unclosed backquote; the position counts UTF-16 units, as Java does.
fn incomplete_pair(key: &str, path: &str, opening: usize) -> ConnectError {
    let position = path[..opening].encode_utf16().count();
    ConnectError::config(
        key,
        format!(
            "Incomplete backtick pair in path: [{path}], consider adding a backslash before \
             backtick at position {position} to escape it"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::SchemaBuilder;

    fn v2(path: &str) -> Vec<String> {
        SingleFieldPath::parse("field", path, FieldSyntaxVersion::V2)
            .unwrap()
            .steps()
            .to_vec()
    }

    fn v2_error(path: &str) -> String {
        match SingleFieldPath::parse("field", path, FieldSyntaxVersion::V2).unwrap_err() {
            ConnectError::Config { key, message } => {
                assert_eq!(key, "field");
                message
            }
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn v1_is_one_step_whatever_the_text() {
        for text in ["foo.bar.baz", "foo`bar`", "foo.`bar.baz`", ""] {
            let path = SingleFieldPath::parse("field", text, FieldSyntaxVersion::V1).unwrap();
            assert_eq!(path.steps(), [text]);
        }
    }

    #[test]
    fn v2_splits_on_dots_and_keeps_empty_steps() {
        assert_eq!(v2(""), Vec::<String>::new());
        assert_eq!(v2("foobarbaz"), ["foobarbaz"]);
        assert_eq!(v2("foo.bar.baz"), ["foo", "bar", "baz"]);
        assert_eq!(v2(".."), ["", "", ""]);
        assert_eq!(v2("foo.."), ["foo", "", ""]);
        assert_eq!(v2(".bar."), ["", "bar", ""]);
        assert_eq!(v2("..baz"), ["", "", "baz"]);
    }

    #[test]
    fn v2_backquotes_wrap_steps_with_dots() {
        assert_eq!(v2("foo`bar`baz"), ["foo`bar`baz"]);
        assert_eq!(v2("`foo.bar.baz`"), ["foo.bar.baz"]);
        assert_eq!(v2("foo.`bar.baz`"), ["foo", "bar.baz"]);
        assert_eq!(v2("`foo.bar`.baz"), ["foo.bar", "baz"]);
        assert_eq!(v2("foo.`bar`.baz"), ["foo", "bar", "baz"]);
        assert_eq!(v2("`a`."), ["a", ""]);
    }

    #[test]
    fn v2_keeps_backquotes_that_do_not_close_a_step() {
        assert_eq!(v2("foo.``bar.baz`"), ["foo", "`bar.baz"]);
        assert_eq!(v2("foo.`bar.baz``"), ["foo", "bar.baz`"]);
        assert_eq!(v2("foo.`ba`r.baz`"), ["foo", "ba`r.baz"]);
        assert_eq!(v2("foo.ba`r.baz"), ["foo", "ba`r", "baz"]);
        assert_eq!(v2("foo.``bar``.baz"), ["foo", "`bar`", "baz"]);
        assert_eq!(v2("``foo.bar.baz``"), ["`foo.bar.baz`"]);
    }

    #[test]
    fn v2_escaped_backquotes() {
        assert_eq!(v2("foo.`bar\\`.baz`"), ["foo", "bar`.baz"]);
        assert_eq!(v2("foo.`bar.`baz`"), ["foo", "bar.`baz"]);
        assert_eq!(v2("foo.`bar\\`.`baz`"), ["foo", "bar`.`baz"]);
        assert_eq!(v2("foo.`bar\\\\`.\\`baz`"), ["foo", "bar\\`.\\`baz"]);
    }

    #[test]
    fn v2_unclosed_backquote_is_a_config_error() {
        assert_eq!(
            v2_error("`foo.bar.baz"),
            "Incomplete backtick pair in path: [`foo.bar.baz], consider adding a backslash before backtick at position 0 to escape it"
        );
        assert_eq!(
            v2_error("foo.`bar.baz"),
            "Incomplete backtick pair in path: [foo.`bar.baz], consider adding a backslash before backtick at position 4 to escape it"
        );
        assert_eq!(
            v2_error("foo.bar.`baz"),
            "Incomplete backtick pair in path: [foo.bar.`baz], consider adding a backslash before backtick at position 8 to escape it"
        );
        assert_eq!(
            v2_error("foo.bar.`baz\\`"),
            "Incomplete backtick pair in path: [foo.bar.`baz\\`], consider adding a backslash before backtick at position 8 to escape it"
        );
        // Positions count UTF-16 units, as Java's do.
        assert!(v2_error("é😀.`x").contains("at position 4 "));
    }

    fn nested_schema() -> (sluice_api::data::SchemaRef, sluice_api::data::SchemaRef) {
        let baz = SchemaBuilder::struct_()
            .field("inner", Schema::required(SchemaType::String))
            .unwrap()
            .optional()
            .build();
        let bar = SchemaBuilder::struct_()
            .field("bar", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("baz", baz)
            .unwrap()
            .build();
        let root = SchemaBuilder::struct_()
            .field("foo", bar.clone())
            .unwrap()
            .build();
        (root, bar)
    }

    #[test]
    fn finds_fields_in_schemas() {
        let (root, bar) = nested_schema();
        let path = SingleFieldPath::parse("field", "foo.bar", FieldSyntaxVersion::V2).unwrap();
        assert_eq!(path.field_from(&root).unwrap(), bar.field("bar"));
        for missing in ["un.known", "foo.unknown", "unknown"] {
            let path = SingleFieldPath::parse("field", missing, FieldSyntaxVersion::V2).unwrap();
            assert_eq!(path.field_from(&root).unwrap(), None, "{missing}");
        }
        let through_int =
            SingleFieldPath::parse("field", "foo.bar.x", FieldSyntaxVersion::V2).unwrap();
        assert_eq!(
            through_int.field_from(&root).unwrap_err().to_string(),
            "Cannot look up fields on non-struct type"
        );
    }

    fn map(entries: Vec<(&str, Value)>) -> Vec<(Value, Value)> {
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect()
    }

    #[test]
    fn takes_values_from_maps() {
        let data = || {
            map(vec![(
                "foo",
                Value::Map(map(vec![("bar", Value::Int32(42)), ("baz", Value::Null)])),
            )])
        };
        let take = |p: &str| {
            SingleFieldPath::parse("field", p, FieldSyntaxVersion::V2)
                .unwrap()
                .take_from_map(data())
        };
        assert_eq!(take("foo.bar").unwrap(), Value::Int32(42));
        for missing in [
            "foo.baz",
            "un.known",
            "foo.unknown",
            "unknown",
            "foo.baz.inner",
        ] {
            assert_eq!(take(missing).unwrap(), Value::Null, "{missing}");
        }
        assert_eq!(
            take("foo.bar.x").unwrap_err().to_string(),
            "Only Map objects supported in absence of schema for [nested field access], found: java.lang.Integer"
        );
        assert!(take("").is_err());
    }

    #[test]
    fn takes_values_from_structs() {
        let (root, bar) = nested_schema();
        let data = || {
            let foo = Struct::new(bar.clone()).unwrap().with("bar", 42).unwrap();
            Struct::new(root.clone())
                .unwrap()
                .with("foo", Value::Struct(foo))
                .unwrap()
        };
        let take = |p: &str| {
            SingleFieldPath::parse("field", p, FieldSyntaxVersion::V2)
                .unwrap()
                .take_from_struct(data(), true)
        };
        assert_eq!(take("foo.bar").unwrap(), Value::Int32(42));
        for missing in [
            "foo.baz",
            "un.known",
            "foo.unknown",
            "unknown",
            "foo.baz.inner",
        ] {
            assert_eq!(take(missing).unwrap(), Value::Null, "{missing}");
        }
        assert_eq!(
            take("foo.bar.x").unwrap_err().to_string(),
            "Only Struct objects supported for [nested field access], found: java.lang.Integer"
        );
    }

    #[test]
    fn struct_defaults_apply_to_parents_always_and_to_the_last_step_on_request() {
        let leaf = SchemaBuilder::new(SchemaType::Int32)
            .optional()
            .default_value(Value::Int32(7))
            .unwrap()
            .build();
        let inner = SchemaBuilder::struct_()
            .field("n", leaf)
            .unwrap()
            .optional()
            .build();
        let inner_default = Struct::new(inner.clone()).unwrap().with("n", 5).unwrap();
        let inner_field = SchemaBuilder::from_schema(&inner)
            .default_value(Value::Struct(inner_default))
            .unwrap()
            .build();
        let root = SchemaBuilder::struct_()
            .field("in", inner_field.clone())
            .unwrap()
            .build();
        let empty = || Struct::new(root.clone()).unwrap();
        let path = SingleFieldPath::parse("field", "in.n", FieldSyntaxVersion::V2).unwrap();
        // The null parent reads as its default struct, whose `n` is 5.
        assert_eq!(
            path.take_from_struct(empty(), false).unwrap(),
            Value::Int32(5)
        );
        let with_null_leaf = Struct::new(root.clone())
            .unwrap()
            .with("in", Value::Struct(Struct::new(inner_field).unwrap()))
            .unwrap();
        assert_eq!(
            path.take_from_struct(with_null_leaf.clone(), true).unwrap(),
            Value::Int32(7)
        );
        assert_eq!(
            path.take_from_struct(with_null_leaf, false).unwrap(),
            Value::Null
        );
    }
}

//! `ReplaceField$Key` / `ReplaceField$Value`: keeps, drops and renames top-level fields of a
//! struct or map.
//!
//! ```properties
//! transforms=fields
//! transforms.fields.type=org.apache.kafka.connect.transforms.ReplaceField$Value
//! transforms.fields.exclude=password
//! transforms.fields.renames=usr:user,ts:timestamp
//! ```
//!
//! A field survives when it is not in `exclude` and `include` is empty or lists it (`exclude`
//! wins); both name fields by their original names. Surviving fields are then renamed by the
//! `old:new` pairs of `renames`. Schema'd records get a struct schema of the surviving fields in
//! their original order, under their new names (renaming onto another surviving field's name is
//! a duplicate-field error); a schemaless map keeps the later of two entries renamed to one
//! name. A null key or value passes through untouched.
//!
//! `whitelist` and `blacklist`, the names `include` and `exclude` had before Kafka 2.8 (removed
//! in Kafka 4.0), are still accepted; the new name wins when both are set.
//!
//! One deliberate difference from Kafka: each output field takes the value of the field it came
//! from. Kafka looks values up by reversing the renames, which picks the wrong source when a
//! rename's target is also an original field name that survives unrenamed, or when two fields
//! are renamed to one name and only one survives.

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, ConfigValue, Importance, Validator,
};
use sluice_api::data::{SchemaBuilder, SchemaRef, Struct, Value};
use sluice_api::error::{ConnectError, Result};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::cast::java_split;
use crate::util::{self, NameTable, Operand, SchemaCache};

/// Class name of the key variant.
const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.ReplaceField$Key";
/// Class name of the value variant.
const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.ReplaceField$Value";
/// The `exclude` key.
const EXCLUDE: &str = "exclude";
/// The `include` key.
const INCLUDE: &str = "include";
/// The `renames` key.
const RENAMES: &str = "renames";
/// The pre-2.8 name of `exclude`.
const BLACKLIST: &str = "blacklist";
/// The pre-2.8 name of `include`.
const WHITELIST: &str = "whitelist";
/// What requirement errors say the transform was doing.
const PURPOSE: &str = "field replacement";

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![
        TransformationPlugin {
            class_name: KEY_CLASS,
            config_def,
            create: create_key,
        },
        TransformationPlugin {
            class_name: VALUE_CLASS,
            config_def,
            create: create_value,
        },
    ]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(EXCLUDE, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .doc(
                    "Fields to drop (comma-separated original names). A field listed here is \
                     dropped even if include lists it.",
                ),
        )
        .define(
            ConfigKey::new(BLACKLIST, ConfigType::List)
                .default_null()
                .importance(Importance::Low)
                .doc("Deprecated: the old name of exclude, used only when exclude is not set."),
        )
        .define(
            ConfigKey::new(INCLUDE, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .doc(
                    "Fields to keep (comma-separated original names); when set, every other \
                     field is dropped. Empty keeps all fields.",
                ),
        )
        .define(
            ConfigKey::new(WHITELIST, ConfigType::List)
                .default_null()
                .importance(Importance::Low)
                .doc("Deprecated: the old name of include, used only when include is not set."),
        )
        .define(
            ConfigKey::new(RENAMES, ConfigType::List)
                .default_value("")
                .importance(Importance::Medium)
                .validator(Validator::Custom(validate_renames))
                .doc(
                    "Renames as comma-separated old:new pairs, e.g. 'usr:user,ts:timestamp'. \
                     Names are taken exactly, blanks included.",
                ),
        )
        .define(util::replace_null_with_default_key())
}

/// The `renames` validator.
fn validate_renames(_key: &str, value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::List(items) => parse_renames(items).map(|_| ()),
        _ => Ok(()),
    }
}

/// Parses `old:new` pairs; a name renamed twice keeps the last pair.
fn parse_renames(items: &[String]) -> std::result::Result<Vec<(String, String)>, String> {
    let mut renames: Vec<(String, String)> = Vec::new();
    for item in items {
        let [from, to] = java_split(item, ':')[..] else {
            return Err(format!("Invalid rename mapping: {item}"));
        };
        match renames.iter_mut().find(|(f, _)| f == from) {
            Some(slot) => slot.1 = to.to_string(),
            None => renames.push((from.to_string(), to.to_string())),
        }
    }
    Ok(renames)
}

fn create_key(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Key, props)
}

fn create_value(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    create(Operand::Value, props)
}

fn create(operand: Operand, props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    let config = util::parse_config(&config_def(), props)?;
    let list = |key: &str, old_key: &str| {
        let chosen = if !props.contains_key(key) && props.contains_key(old_key) {
            old_key
        } else {
            key
        };
        config.list(chosen).to_vec()
    };
    let renames =
        parse_renames(config.list(RENAMES)).map_err(|m| ConnectError::config(RENAMES, m))?;
    let filter = Filter {
        exclude: list(EXCLUDE, BLACKLIST),
        include: list(INCLUDE, WHITELIST),
        renames,
    };
    Ok(Box::new(ReplaceField {
        operand,
        collisions: filter.may_collide(),
        actions: filter.actions(),
        keeps_unlisted: filter.include.is_empty(),
        filter,
        replace_null_with_default: config
            .boolean(util::REPLACE_NULL_WITH_DEFAULT)
            .unwrap_or(true),
        cache: SchemaCache::new(),
    }))
}

/// Which fields survive and what they are called.
#[derive(Debug)]
struct Filter {
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
}

impl Filter {
    /// True when a field of this original name survives.
    fn keeps(&self, name: &str) -> bool {
        !self.exclude.iter().any(|f| f == name)
            && (self.include.is_empty() || self.include.iter().any(|f| f == name))
    }

    /// The new name of a field, if renamed.
    fn renamed(&self, name: &str) -> Option<&str> {
        self.renames
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.as_str())
    }

    /// What happens to each field the config names, by its original name; a field it does not
    /// name is kept unless `include` is set, and never renamed.
    fn actions(&self) -> NameTable<Action> {
        let mut table = NameTable::new();
        let named = self
            .exclude
            .iter()
            .chain(&self.include)
            .chain(self.renames.iter().map(|(from, _)| from));
        for name in named {
            let action = if !self.keeps(name) {
                Action::Drop
            } else {
                match self.renamed(name) {
                    Some(to) => Action::Rename(to.into()),
                    None => Action::Keep,
                }
            };
            table.insert(name, action);
        }
        table
    }

    /// True when two surviving fields can end up with one name: two renames share a target, or
    /// a target is also an original name that survives without being renamed.
    fn may_collide(&self) -> bool {
        self.renames.iter().enumerate().any(|(i, (_, to))| {
            self.renames
                .iter()
                .enumerate()
                .any(|(j, (_, other))| i != j && other == to)
                || (self.renamed(to).is_none() && self.keeps(to))
        })
    }
}

/// What happens to a field the config names.
#[derive(Debug)]
enum Action {
    /// Dropped.
    Drop,
    /// Kept under its name.
    Keep,
    /// Kept under this name.
    Rename(Box<str>),
}

/// The configured transform.
#[derive(Debug)]
struct ReplaceField {
    operand: Operand,
    filter: Filter,
    /// The filter as a table, for the per-record lookups.
    actions: NameTable<Action>,
    /// Whether a field the config does not name survives (`include` is empty).
    keeps_unlisted: bool,
    collisions: bool,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl Transformation for ReplaceField {
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome> {
        if self.operand.value(record).is_null() {
            return Ok(Outcome::Keep);
        }
        let (schema, value) = self.operand.take(record);
        let (schema, value) = match schema {
            None => (None, self.replace_schemaless(value)?),
            Some(_) => {
                let (schema, value) = self.replace_with_schema(value)?;
                (Some(schema), value)
            }
        };
        self.operand.set(record, schema, value);
        Ok(Outcome::Keep)
    }
}

impl ReplaceField {
    fn replace_schemaless(&self, value: Value) -> Result<Value> {
        util::require_map(&value, PURPOSE)?;
        let Value::Map(mut entries) = value else {
            return Ok(value);
        };
        // One pass filters and renames: a surviving entry moves down over the dropped ones
        // before it, and the dropped ones, gathered at the end, are freed at once. A key that
        // is not a string fails the record.
        let mut bad_key = None;
        let mut kept = 0;
        for i in 0..entries.len() {
            let keep = match &mut entries[i].0 {
                Value::String(name) => match self.actions.get(name) {
                    None => self.keeps_unlisted,
                    Some(Action::Drop) => false,
                    Some(Action::Keep) => true,
                    Some(Action::Rename(to)) => {
                        rename(name, to);
                        true
                    }
                },
                Value::Null => self.keeps_unlisted,
                other => {
                    bad_key.get_or_insert(other.type_name());
                    true
                }
            };
            if keep {
                if kept != i {
                    entries.swap(kept, i);
                }
                kept += 1;
            }
        }
        entries.truncate(kept);
        if let Some(type_name) = bad_key {
            return Err(ConnectError::data(format!(
                "class {type_name} cannot be cast to class java.lang.String"
            )));
        }
        let collided = self.collisions
            && self.filter.renames.iter().any(|(_, to)| {
                entries
                    .iter()
                    .filter(|(k, _)| k.as_str() == Some(to.as_str()))
                    .nth(1)
                    .is_some()
            });
        if collided {
            entries = keep_last_of_each_key(entries);
        }
        Ok(Value::Map(entries))
    }

    fn replace_with_schema(&self, value: Value) -> Result<(SchemaRef, Value)> {
        util::require_struct(&value, PURPOSE)?;
        let Value::Struct(input) = value else {
            return Err(ConnectError::data(format!(
                "Only Struct objects supported for [{PURPOSE}]"
            )));
        };
        let schema = input.schema().clone();
        let updated = self.cache.get_or_build(&schema, |s| self.build_schema(s))?;
        // The surviving values stay in the input's buffer: `retain_mut` visits each value once,
        // in field order.
        let mut values = input.into_values();
        let mut fields = schema.fields.iter();
        values.retain_mut(|value| {
            let Some(field) = fields.next() else {
                return false;
            };
            let keep = match self.actions.get(&field.name) {
                None => self.keeps_unlisted,
                Some(action) => !matches!(action, Action::Drop),
            };
            if keep && value.is_null() && self.replace_null_with_default {
                if let Some(default) = &field.schema.default {
                    *value = default.clone();
                }
            }
            keep
        });
        // Every surviving field keeps its schema, so its value needs no new check.
        let output = Struct::from_values_unchecked(updated.clone(), values)?;
        Ok((updated, Value::Struct(output)))
    }

    /// The struct schema of the surviving fields under their new names (built once per input
    /// schema).
    fn build_schema(&self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut builder = util::copy_schema_basics(schema, SchemaBuilder::struct_());
        for field in &schema.fields {
            if self.filter.keeps(&field.name) {
                let name = self.filter.renamed(&field.name).unwrap_or(&field.name);
                builder = builder.field(name, field.schema.clone())?;
            }
        }
        Ok(builder.build())
    }
}

/// Renames a map key, reusing its buffer when the new name fits in it.
fn rename(name: &mut String, to: &str) {
    if name.capacity() >= to.len() {
        name.clear();
        name.push_str(to);
    } else {
        *name = to.to_owned();
    }
}

/// Merges entries with equal keys: the first position, the last value.
fn keep_last_of_each_key(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => out.push((key, value)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{Schema, SchemaType};

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn apply_value(
        pairs: &[(&str, &str)],
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<ConnectRecord> {
        create_value(&props(pairs))?
            .apply_owned(ConnectRecord::new("topic", schema, value))
            .map(|r| r.unwrap())
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    fn sample_map() -> Value {
        map(vec![
            ("dont", Value::from("whatever")),
            ("abc", Value::Int32(42)),
            ("foo", Value::Boolean(true)),
            ("etc", Value::from("etc")),
        ])
    }

    fn sample_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .name("rec")
            .version(1)
            .field("dont", Schema::required(SchemaType::String))
            .unwrap()
            .field("abc", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("foo", Schema::required(SchemaType::Boolean))
            .unwrap()
            .field("etc", Schema::required(SchemaType::String))
            .unwrap()
            .build()
    }

    fn sample_struct() -> Value {
        Value::Struct(
            Struct::new(sample_schema())
                .unwrap()
                .with("dont", "whatever")
                .unwrap()
                .with("abc", 42)
                .unwrap()
                .with("foo", true)
                .unwrap()
                .with("etc", "etc")
                .unwrap(),
        )
    }

    fn field_names(schema: &SchemaRef) -> Vec<&str> {
        schema.fields.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn config_keys_and_errors() {
        let names: Vec<_> = plugins().iter().map(|p| p.class_name).collect();
        assert_eq!(names, [KEY_CLASS, VALUE_CLASS]);
        for bad in ["a", "a:b:c", "a:"] {
            let err = create_value(&props(&[(RENAMES, bad)])).err().unwrap();
            assert_eq!(
                err.to_string(),
                format!("invalid configuration for 'renames': Invalid value {bad} for configuration renames: Invalid rename mapping: {bad}")
            );
        }
        let err = create_value(&props(&[(RENAMES, "x:y,bad")])).err().unwrap();
        assert!(err.to_string().ends_with("Invalid rename mapping: bad"));
        assert!(create_value(&props(&[])).is_ok());
    }

    #[test]
    fn schemaless_exclude_and_renames() {
        let out = apply_value(
            &[(EXCLUDE, "dont"), (RENAMES, "abc:xyz,foo:bar")],
            None,
            sample_map(),
        )
        .unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("xyz", Value::Int32(42)),
                ("bar", Value::Boolean(true)),
                ("etc", Value::from("etc")),
            ])
        );
    }

    #[test]
    fn schemaless_drops_between_kept_entries_keep_the_order() {
        let input = Value::Map(vec![
            (Value::from("a"), Value::Int32(1)),
            (Value::from("b"), Value::Int32(2)),
            (Value::from("c"), Value::Int32(3)),
            (Value::Null, Value::Int32(4)),
            (Value::from("d"), Value::Int32(5)),
            (Value::from("e"), Value::Int32(6)),
        ]);
        let out = apply_value(&[(EXCLUDE, "a,c,e"), (RENAMES, "d:a")], None, input).unwrap();
        assert_eq!(
            out.value,
            Value::Map(vec![
                (Value::from("b"), Value::Int32(2)),
                (Value::Null, Value::Int32(4)),
                (Value::from("a"), Value::Int32(5)),
            ])
        );
    }

    #[test]
    fn schemaless_include() {
        let out = apply_value(&[(INCLUDE, "abc,foo")], None, sample_map()).unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("abc", Value::Int32(42)),
                ("foo", Value::Boolean(true))
            ])
        );
    }

    #[test]
    fn exclude_wins_over_include() {
        let out = apply_value(
            &[(INCLUDE, "abc,foo"), (EXCLUDE, "foo")],
            None,
            sample_map(),
        )
        .unwrap();
        assert_eq!(out.value, map(vec![("abc", Value::Int32(42))]));
        let out = apply_value(
            &[(INCLUDE, "abc,foo"), (EXCLUDE, "foo")],
            Some(sample_schema()),
            sample_struct(),
        )
        .unwrap();
        assert_eq!(field_names(&out.value_schema.unwrap()), ["abc"]);
    }

    #[test]
    fn old_key_names_are_aliases() {
        let out = apply_value(
            &[(WHITELIST, "abc,foo"), (BLACKLIST, "foo")],
            None,
            sample_map(),
        )
        .unwrap();
        assert_eq!(out.value, map(vec![("abc", Value::Int32(42))]));
        // The new names win when both are given.
        let out = apply_value(
            &[
                (INCLUDE, "etc"),
                (WHITELIST, "abc"),
                (EXCLUDE, ""),
                (BLACKLIST, "etc"),
            ],
            None,
            sample_map(),
        )
        .unwrap();
        assert_eq!(out.value, map(vec![("etc", Value::from("etc"))]));
    }

    #[test]
    fn schema_d_exclude_and_renames() {
        let x = create_value(&props(&[(EXCLUDE, "dont"), (RENAMES, "abc:xyz,foo:bar")])).unwrap();
        let out = x
            .apply_owned(ConnectRecord::new(
                "topic",
                Some(sample_schema()),
                sample_struct(),
            ))
            .unwrap()
            .unwrap();
        let schema = out.value_schema.unwrap();
        assert_eq!(field_names(&schema), ["xyz", "bar", "etc"]);
        assert_eq!(schema.name.as_deref(), Some("rec"));
        assert_eq!(schema.version, Some(1));
        let Value::Struct(s) = &out.value else {
            panic!("not a struct")
        };
        assert!(SchemaRef::ptr_eq(s.schema(), &schema));
        assert_eq!(
            s.values(),
            [Value::Int32(42), Value::Boolean(true), Value::from("etc")]
        );
        let again = x
            .apply_owned(ConnectRecord::new(
                "topic",
                Some(sample_schema()),
                sample_struct(),
            ))
            .unwrap()
            .unwrap();
        assert!(SchemaRef::ptr_eq(&again.value_schema.unwrap(), &schema));
    }

    #[test]
    fn schema_d_include() {
        let out = apply_value(
            &[(INCLUDE, "abc,foo")],
            Some(sample_schema()),
            sample_struct(),
        )
        .unwrap();
        assert_eq!(field_names(&out.value_schema.unwrap()), ["abc", "foo"]);
    }

    #[test]
    fn rename_collisions() {
        let err = apply_value(
            &[(RENAMES, "abc:foo")],
            Some(sample_schema()),
            sample_struct(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot create field because of field name duplication foo"
        );
        let out = apply_value(&[(RENAMES, "abc:foo")], None, sample_map()).unwrap();
        assert_eq!(
            out.value,
            map(vec![
                ("dont", Value::from("whatever")),
                ("foo", Value::Boolean(true)),
                ("etc", Value::from("etc")),
            ])
        );
        // A rename onto an excluded name takes the renamed field's value.
        let out = apply_value(
            &[(RENAMES, "abc:foo"), (EXCLUDE, "foo")],
            Some(sample_schema()),
            sample_struct(),
        )
        .unwrap();
        let Value::Struct(s) = &out.value else {
            panic!("not a struct")
        };
        assert_eq!(s.get("foo"), Some(&Value::Int32(42)));
    }

    #[test]
    fn collision_detection() {
        let filter = |exclude: &[&str], include: &[&str], renames: &[(&str, &str)]| Filter {
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            include: include.iter().map(|s| s.to_string()).collect(),
            renames: renames
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        assert!(filter(&[], &[], &[("a", "b")]).may_collide());
        assert!(!filter(&["b"], &[], &[("a", "b")]).may_collide());
        assert!(!filter(&[], &["a"], &[("a", "b")]).may_collide());
        assert!(!filter(&[], &[], &[("a", "b"), ("b", "c"), ("c", "a")]).may_collide());
        assert!(filter(&["z"], &[], &[("a", "x"), ("b", "x")]).may_collide());
    }

    #[test]
    fn replace_null_with_default() {
        let schema = SchemaBuilder::struct_()
            .field(
                "f",
                SchemaBuilder::new(SchemaType::String)
                    .optional()
                    .default_value(Value::from("dflt"))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        for (flag, want) in [("true", Value::from("dflt")), ("false", Value::Null)] {
            let out = apply_value(
                &[(RENAMES, "f:g"), (util::REPLACE_NULL_WITH_DEFAULT, flag)],
                Some(schema.clone()),
                Value::Struct(Struct::new(schema.clone()).unwrap()),
            )
            .unwrap();
            let Value::Struct(s) = out.value else {
                panic!("not a struct")
            };
            assert_eq!(s.get_without_default("g"), Some(&want), "flag {flag}");
        }
    }

    #[test]
    fn null_operands_pass_through() {
        let out = apply_value(&[(EXCLUDE, "a")], Some(sample_schema()), Value::Null).unwrap();
        assert_eq!(out.value_schema, Some(sample_schema()));
        assert_eq!(out.value, Value::Null);
        let key = create_key(&props(&[(EXCLUDE, "a")])).unwrap();
        let record = ConnectRecord::new("topic", None, Value::from("v"));
        assert_eq!(key.apply_owned(record.clone()).unwrap().unwrap(), record);
    }

    #[test]
    fn wrong_operand_types() {
        let err = apply_value(&[(EXCLUDE, "a")], None, Value::Int32(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Map objects supported in absence of schema for [field replacement], found: java.lang.Integer"
        );
        let err =
            apply_value(&[(EXCLUDE, "a")], Some(sample_schema()), Value::from("x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only Struct objects supported for [field replacement], found: java.lang.String"
        );
    }

    #[test]
    fn renames_keep_blanks_and_empty_names() {
        let renames = parse_renames(&["a: b".into(), ":c".into(), "a:d".into()]).unwrap();
        assert_eq!(
            renames,
            [
                ("a".to_string(), "d".to_string()),
                (String::new(), "c".to_string())
            ]
        );
    }
}

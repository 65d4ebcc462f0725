//! Connect schemas: the type description that travels beside a value.

use std::fmt;
use std::sync::Arc;

use super::Value;
use crate::error::{ConnectError, Result};

/// Shared, immutable schema handle, cloned into every record that carries the schema.
///
/// The plain schemas of [`Schema::required`] and [`Schema::optional`] (what StringConverter,
/// ByteArrayConverter and the number converters attach to every record they read) are
/// statics: cloning and dropping them touches no reference count, which matters at millions
/// of records per second because each count change is an atomic instruction. Every other
/// schema is reference-counted. Handles compare by schema value, as [`Schema`]s do.
#[derive(Clone)]
pub struct SchemaRef(Handle);

#[derive(Clone)]
enum Handle {
    Static(&'static Schema),
    Counted(Arc<Schema>),
}

impl SchemaRef {
    /// A reference-counted handle to `schema`.
    pub fn new(schema: Schema) -> Self {
        SchemaRef(Handle::Counted(Arc::new(schema)))
    }

    /// A handle to a schema that lives for the whole program; cloning it is a copy.
    pub const fn from_static(schema: &'static Schema) -> Self {
        SchemaRef(Handle::Static(schema))
    }

    /// True when both handles point at the same schema (not just equal ones): the fast
    /// "unchanged" test of transformations that cache derived schemas.
    pub fn ptr_eq(a: &SchemaRef, b: &SchemaRef) -> bool {
        std::ptr::eq(SchemaRef::as_ptr(a), SchemaRef::as_ptr(b))
    }

    /// The schema's address, an identity key for caches that keep the handle alive.
    pub fn as_ptr(this: &SchemaRef) -> *const Schema {
        &**this
    }
}

impl std::ops::Deref for SchemaRef {
    type Target = Schema;

    fn deref(&self) -> &Schema {
        match &self.0 {
            Handle::Static(s) => s,
            Handle::Counted(s) => s,
        }
    }
}

impl AsRef<Schema> for SchemaRef {
    fn as_ref(&self) -> &Schema {
        self
    }
}

impl From<Schema> for SchemaRef {
    fn from(schema: Schema) -> Self {
        SchemaRef::new(schema)
    }
}

impl PartialEq for SchemaRef {
    fn eq(&self, other: &SchemaRef) -> bool {
        SchemaRef::ptr_eq(self, other) || **self == **other
    }
}

impl fmt::Debug for SchemaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The plain schemas, required then optional, indexed by [`SchemaType`] (in the order of
/// [`SchemaType::ALL`]); `Schema::required` and `Schema::optional` hand out references to
/// these.
static PRIMITIVES: [[Schema; 12]; 2] = {
    const fn row(optional: bool) -> [Schema; 12] {
        let mut row = [const { Schema::new(SchemaType::Int8) }; 12];
        let mut i = 0;
        while i < row.len() {
            row[i].schema_type = SchemaType::ALL[i];
            row[i].optional = optional;
            i += 1;
        }
        row
    }
    [row(false), row(true)]
};

/// The twelve Connect schema types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    /// 8-bit signed integer.
    Int8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 32-bit IEEE-754 float.
    Float32,
    /// 64-bit IEEE-754 float.
    Float64,
    /// Boolean.
    Boolean,
    /// UTF-8 string.
    String,
    /// Byte array.
    Bytes,
    /// Ordered list with one element schema.
    Array,
    /// Map with key and value schemas.
    Map,
    /// Ordered, named fields.
    Struct,
}

impl SchemaType {
    /// Every type, in declaration order (`ALL[t as usize] == t`).
    pub const ALL: [SchemaType; 12] = [
        SchemaType::Int8,
        SchemaType::Int16,
        SchemaType::Int32,
        SchemaType::Int64,
        SchemaType::Float32,
        SchemaType::Float64,
        SchemaType::Boolean,
        SchemaType::String,
        SchemaType::Bytes,
        SchemaType::Array,
        SchemaType::Map,
        SchemaType::Struct,
    ];

    /// Kafka's upper-case name (`INT32`, `STRUCT`, ...), used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "INT8",
            SchemaType::Int16 => "INT16",
            SchemaType::Int32 => "INT32",
            SchemaType::Int64 => "INT64",
            SchemaType::Float32 => "FLOAT32",
            SchemaType::Float64 => "FLOAT64",
            SchemaType::Boolean => "BOOLEAN",
            SchemaType::String => "STRING",
            SchemaType::Bytes => "BYTES",
            SchemaType::Array => "ARRAY",
            SchemaType::Map => "MAP",
            SchemaType::Struct => "STRUCT",
        }
    }

    /// True for every type except arrays, maps and structs.
    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One named field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name, unique within the struct.
    pub name: String,
    /// Position of the field in the struct.
    pub index: usize,
    /// The field's schema.
    pub schema: SchemaRef,
}

/// A Connect schema. Build one with [`SchemaBuilder`] or the constructors for primitives.
///
/// Schemas compare by value, including fields, defaults and parameters, as Kafka's do.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The underlying type.
    pub schema_type: SchemaType,
    /// Whether null is an acceptable value.
    pub optional: bool,
    /// Value used when a null is given for this schema (validated against the schema).
    pub default: Option<Value>,
    /// Schema name; logical types are identified by it.
    pub name: Option<String>,
    /// Schema version.
    pub version: Option<i32>,
    /// Documentation.
    pub doc: Option<String>,
    /// Ordered string parameters (Decimal keeps its `scale` here).
    pub parameters: Vec<(String, String)>,
    /// Fields of a struct schema, in order.
    pub fields: Vec<Field>,
    /// Key schema of a map.
    pub key_schema: Option<SchemaRef>,
    /// Value schema of a map, element schema of an array.
    pub value_schema: Option<SchemaRef>,
}

impl Schema {
    /// A plain schema of `schema_type`, required, with no name.
    pub const fn new(schema_type: SchemaType) -> Self {
        Schema {
            schema_type,
            optional: false,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        }
    }

    /// A required schema of `schema_type` with nothing else set, as a static handle.
    pub fn required(schema_type: SchemaType) -> SchemaRef {
        SchemaRef::from_static(&PRIMITIVES[0][schema_type as usize])
    }

    /// An optional schema of `schema_type` with nothing else set, as a static handle.
    pub fn optional(schema_type: SchemaType) -> SchemaRef {
        SchemaRef::from_static(&PRIMITIVES[1][schema_type as usize])
    }

    /// Looks up a struct field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Looks up a parameter by name.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The logical type named by this schema, if it is one Connect knows.
    pub fn logical_type(&self) -> Option<super::LogicalType> {
        super::LogicalType::of(self)
    }

    /// Checks that `value` may be used with this schema (Kafka's `ConnectSchema.validateValue`).
    pub fn validate_value(&self, value: &Value) -> Result<()> {
        self.validate_value_named(None, value)
    }

    fn validate_value_named(&self, field: Option<&str>, value: &Value) -> Result<()> {
        if value.is_null() {
            if self.optional || self.default.is_some() {
                return Ok(());
            }
            return Err(ConnectError::data(match field {
                Some(f) => format!(
                    "Invalid value: null used for required field: \"{f}\", schema type: {}",
                    self.schema_type
                ),
                None => format!(
                    "Invalid value: null used for required field, schema type: {}",
                    self.schema_type
                ),
            }));
        }
        let ok = match (self.logical_type(), value) {
            (Some(super::LogicalType::Decimal), Value::Decimal(_)) => true,
            (Some(super::LogicalType::Date), Value::Date(_)) => true,
            (Some(super::LogicalType::Time), Value::Time(_)) => true,
            (Some(super::LogicalType::Timestamp), Value::Timestamp(_)) => true,
            (Some(_), _) => false,
            (None, v) => v.schema_type() == Some(self.schema_type),
        };
        if !ok {
            return Err(ConnectError::data(format!(
                "Invalid Java object for schema \"{}\" with type {}: {}{}",
                self.name.as_deref().unwrap_or("null"),
                self.schema_type,
                value.type_name(),
                field
                    .map(|f| format!(" for field: \"{f}\""))
                    .unwrap_or_default()
            )));
        }
        match value {
            Value::Array(items) => {
                if let Some(es) = &self.value_schema {
                    for item in items {
                        es.validate_value_named(field, item)?;
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    if let Some(ks) = &self.key_schema {
                        ks.validate_value_named(field, k)?;
                    }
                    if let Some(vs) = &self.value_schema {
                        vs.validate_value_named(field, v)?;
                    }
                }
            }
            Value::Struct(s)
                if !std::ptr::eq(s.schema().as_ref(), self) && s.schema().as_ref() != self =>
            {
                return Err(ConnectError::data("Struct schemas do not match."));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Builds schemas the way Kafka's `SchemaBuilder` does, checking each attribute once.
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    /// Starts a schema of the given type.
    pub fn new(schema_type: SchemaType) -> Self {
        SchemaBuilder {
            schema: Schema::new(schema_type),
        }
    }

    /// Starts a struct schema.
    pub fn struct_() -> Self {
        Self::new(SchemaType::Struct)
    }

    /// Starts an array schema with the given element schema.
    pub fn array(element: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Array);
        b.schema.value_schema = Some(element);
        b
    }

    /// Starts a map schema.
    pub fn map(key: SchemaRef, value: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Map);
        b.schema.key_schema = Some(key);
        b.schema.value_schema = Some(value);
        b
    }

    /// Starts from an existing schema, to change some attributes.
    pub fn from_schema(schema: &Schema) -> Self {
        SchemaBuilder {
            schema: schema.clone(),
        }
    }

    /// Marks the schema optional.
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }

    /// Marks the schema required.
    pub fn required(mut self) -> Self {
        self.schema.optional = false;
        self
    }

    /// Sets the schema name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }

    /// Sets the schema version.
    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }

    /// Sets the documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }

    /// Adds (or replaces) a parameter, keeping insertion order.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        let value = value.into();
        match self.schema.parameters.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.schema.parameters.push((key, value)),
        }
        self
    }

    /// Sets the default value; it must be valid for the schema.
    pub fn default_value(mut self, value: Value) -> Result<Self> {
        self.schema
            .validate_value(&value)
            .map_err(|e| ConnectError::data(format!("Invalid default value: {e}")))?;
        self.schema.default = Some(value);
        Ok(self)
    }

    /// Appends a struct field. Fails on a duplicate name or a non-struct builder.
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Result<Self> {
        let name = name.into();
        if self.schema.schema_type != SchemaType::Struct {
            return Err(ConnectError::data(format!(
                "Cannot create fields on type {}",
                self.schema.schema_type
            )));
        }
        if self.schema.field(&name).is_some() {
            return Err(ConnectError::data(format!(
                "Cannot create field because of field name duplication {name}"
            )));
        }
        let index = self.schema.fields.len();
        self.schema.fields.push(Field {
            name,
            index,
            schema,
        });
        Ok(self)
    }

    /// Finishes the schema.
    pub fn build(self) -> SchemaRef {
        SchemaRef::new(self.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_handles_are_shared_statics_of_the_asked_type() {
        for (i, t) in SchemaType::ALL.into_iter().enumerate() {
            assert_eq!(t as usize, i);
            for (handle, optional) in [(Schema::required(t), false), (Schema::optional(t), true)] {
                let mut expected = Schema::new(t);
                expected.optional = optional;
                assert_eq!(*handle, expected);
                assert!(matches!(handle.0, Handle::Static(_)));
            }
            assert!(SchemaRef::ptr_eq(
                &Schema::optional(t),
                &Schema::optional(t)
            ));
        }
    }

    #[test]
    fn handles_compare_by_value_and_identity_by_pointer() {
        let built = SchemaBuilder::new(SchemaType::String).optional().build();
        let fixed = Schema::optional(SchemaType::String);
        assert_eq!(built, fixed);
        assert!(!SchemaRef::ptr_eq(&built, &fixed));
        assert!(SchemaRef::ptr_eq(&built, &built.clone()));
        assert_ne!(built, Schema::required(SchemaType::String));
    }

    #[test]
    fn duplicate_field_is_rejected() {
        let err = SchemaBuilder::struct_()
            .field("a", Schema::required(SchemaType::Int32))
            .unwrap()
            .field("a", Schema::required(SchemaType::Int32))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot create field because of field name duplication a"
        );
    }

    #[test]
    fn default_must_match_schema() {
        let err = SchemaBuilder::new(SchemaType::Int32)
            .default_value(Value::String("x".into()))
            .unwrap_err();
        assert!(err.to_string().starts_with("Invalid default value"));
        let ok = SchemaBuilder::new(SchemaType::Int32)
            .default_value(Value::Int32(3))
            .unwrap()
            .build();
        assert_eq!(ok.default, Some(Value::Int32(3)));
    }

    #[test]
    fn schemas_compare_by_value() {
        let a = SchemaBuilder::struct_()
            .field("x", Schema::optional(SchemaType::String))
            .unwrap()
            .build();
        let b = SchemaBuilder::struct_()
            .field("x", Schema::optional(SchemaType::String))
            .unwrap()
            .build();
        assert_eq!(a, b);
    }
}

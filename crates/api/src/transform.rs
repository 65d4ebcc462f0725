//! Single-message transforms and predicates: synchronous, per record.

use crate::config::{ConfigDef, ConfigMap};
use crate::error::Result;
use crate::record::ConnectRecord;

/// Changes or drops one record (Kafka's `Transformation`).
pub trait Transformation: Send + Sync {
    /// Returns the transformed record, or `None` to drop it (later stages never see it).
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>>;
}

/// Decides whether a transformation applies to a record (Kafka's `Predicate`).
pub trait Predicate: Send + Sync {
    /// True when the record matches.
    fn test(&self, record: &ConnectRecord) -> Result<bool>;
}

/// A transformation plugin as the registry knows it.
#[derive(Clone, Copy)]
pub struct TransformationPlugin {
    /// Class name, e.g. `org.apache.kafka.connect.transforms.Cast$Value`.
    pub class_name: &'static str,
    /// The transformation's own keys.
    pub config_def: fn() -> ConfigDef,
    /// Makes an instance from its config (the `transforms.<alias>.` prefix stripped).
    pub create: fn(&ConfigMap) -> Result<Box<dyn Transformation>>,
}

/// A predicate plugin as the registry knows it.
#[derive(Clone, Copy)]
pub struct PredicatePlugin {
    /// Class name, e.g. `org.apache.kafka.connect.transforms.predicates.HasHeaderKey`.
    pub class_name: &'static str,
    /// The predicate's own keys.
    pub config_def: fn() -> ConfigDef,
    /// Makes an instance from its config (the `predicates.<alias>.` prefix stripped).
    pub create: fn(&ConfigMap) -> Result<Box<dyn Predicate>>,
}

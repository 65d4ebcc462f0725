//! Single-message transforms and predicates: synchronous, per record.

use crate::config::{ConfigDef, ConfigMap};
use crate::error::Result;
use crate::record::ConnectRecord;

/// What a transformation decided about the record it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// The record, as the transformation left it, goes on to the next stage.
    Keep,
    /// The record is dropped: later stages never see it.
    Drop,
}

/// Changes or drops one record (Kafka's `Transformation`).
///
/// A transformation works on the record in place: moving a whole record in and out of every
/// stage costs more than most transformations' own work.
pub trait Transformation: Send + Sync {
    /// Transforms `record` in place, or answers [`Outcome::Drop`] to drop it. After an error
    /// the record may be partly changed; callers discard it.
    fn apply(&self, record: &mut ConnectRecord) -> Result<Outcome>;

    /// [`apply`](Transformation::apply) on an owned record: the transformed record, or `None`
    /// when it was dropped.
    fn apply_owned(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        Ok(match self.apply(&mut record)? {
            Outcome::Keep => Some(record),
            Outcome::Drop => None,
        })
    }
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

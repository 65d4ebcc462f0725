//! Placeholder until the expression transform lands.

use sluice_api::transform::{PredicatePlugin, TransformationPlugin};

/// This module's transformation plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    Vec::new()
}

/// This module's predicate plugins.
pub(crate) fn predicate_plugins() -> Vec<PredicatePlugin> {
    Vec::new()
}

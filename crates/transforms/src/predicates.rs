//! Placeholder until the predicates land.

use sluice_api::transform::PredicatePlugin;

/// This module's plugins.
pub(crate) fn plugins() -> Vec<PredicatePlugin> {
    Vec::new()
}

//! Placeholder until the transform lands.

use sluice_api::transform::TransformationPlugin;

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    Vec::new()
}

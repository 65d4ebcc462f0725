//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::sync::Arc;

use sluice_api::prelude::*;

/// Offsets as the runtime would have committed them.
#[derive(Default)]
pub struct StoredOffsets(pub Vec<(OffsetMap, OffsetMap)>);

impl OffsetStorageReader for StoredOffsets {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        self.0
            .iter()
            .find(|(p, _)| p == partition)
            .map(|(_, o)| o.clone())
    }
}

pub fn context(task_id: u32, offsets: StoredOffsets) -> SourceTaskContext {
    SourceTaskContext {
        connector: "test".into(),
        task_id,
        offsets: Arc::new(offsets),
        transaction_context: None,
    }
}

pub fn config(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The workspace root.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Checks the generated section of a doc page (see `sluice_api::docgen`).
pub fn check_generated_section(doc_path: &std::path::Path, section: &str, content: &str) {
    let bless = std::env::var_os("SLUICE_BLESS_DOCS").is_some();
    if let Err(message) =
        sluice_api::docgen::sync_generated_section(doc_path, section, content, bless)
    {
        panic!("{message}");
    }
}

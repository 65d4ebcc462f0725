//! Helpers shared by the integration tests: an in-memory offset reader, task contexts, and
//! the renderer of config key tables for the docs check.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use sluice_api::connector::{ErrantRecordReporter, SinkTaskControl};
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

pub fn source_context(offsets: StoredOffsets) -> SourceTaskContext {
    SourceTaskContext {
        connector: "test".into(),
        task_id: 0,
        offsets: Arc::new(offsets),
        transaction_context: None,
    }
}

struct NoControl;

impl SinkTaskControl for NoControl {
    fn pause(&self, _partitions: &[TopicPartition]) {}
    fn resume(&self, _partitions: &[TopicPartition]) {}
    fn request_commit(&self) {}
    fn reset_offsets(&self, _offsets: &HashMap<TopicPartition, i64>) {}
    fn assignment(&self) -> Vec<TopicPartition> {
        Vec::new()
    }
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        None
    }
}

pub fn sink_context() -> SinkTaskContext {
    SinkTaskContext {
        connector: "test".into(),
        task_id: 0,
        control: Arc::new(NoControl),
    }
}

pub fn config(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
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

/// Reads a simple Java `.properties` file (`key=value` lines, `#` comments).
pub fn read_properties(path: &std::path::Path) -> ConfigMap {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// The workspace root.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

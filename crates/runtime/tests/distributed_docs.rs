//! docs/distributed.md lists the distributed worker's own keys as the code declares them.

use std::path::Path;

use sluice_runtime::worker_config::{distributed_worker_config_def, worker_config_def};

#[test]
fn distributed_key_table_matches_the_code() {
    let common = worker_config_def();
    let mut own = sluice_api::config::ConfigDef::new();
    for key in distributed_worker_config_def().keys() {
        if common.key(&key.name).is_none() {
            own = own.define(key.clone());
        }
    }
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/distributed.md");
    let bless = std::env::var_os("SLUICE_BLESS_DOCS").is_some();
    if let Err(message) = sluice_api::docgen::sync_generated_section(
        &doc,
        "distributed worker keys",
        &own.markdown_table(),
        bless,
    ) {
        panic!("{message}");
    }
}

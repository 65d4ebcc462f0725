//! docs/converters.md lists every converter's keys as the code declares them.

use std::path::Path;

#[test]
fn converter_key_tables_match_the_code() {
    let mut content = String::new();
    for plugin in sluice_convert::plugins() {
        let def = (plugin.config_def)();
        content.push_str(&format!("### `{}`\n\n", plugin.class_name));
        if def.keys().is_empty() {
            content.push_str("No keys.\n\n");
        } else {
            content.push_str(&def.markdown_table());
            content.push('\n');
        }
    }
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/converters.md");
    let bless = std::env::var_os("SLUICE_BLESS_DOCS").is_some();
    if let Err(message) =
        sluice_api::docgen::sync_generated_section(&doc, "converter keys", &content, bless)
    {
        panic!("{message}");
    }
}

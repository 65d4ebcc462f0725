//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::sync::Arc;

use sluice_api::config::{ConfigDefault, Validator};
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

/// Renders a Markdown table of a component's keys.
pub fn render_key_table(def: &ConfigDef) -> String {
    let mut out = String::from(
        "| key | type | default | valid values | importance | description |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for key in def.keys() {
        let default = match &key.default {
            ConfigDefault::Required => "required".to_string(),
            ConfigDefault::Null => "null".to_string(),
            ConfigDefault::Value(v) => format!("`{v}`"),
        };
        let valid = match &key.validator {
            None | Some(Validator::Custom(_)) | Some(Validator::Regex) => String::new(),
            Some(Validator::AtLeast(min)) => format!("at least {min}"),
            Some(Validator::Between(min, max)) => format!("{min} to {max}"),
            Some(Validator::OneOf(values)) => values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
            Some(Validator::OneOfIgnoreCase(values)) => format!(
                "{} (any case)",
                values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(Validator::NonEmptyString) => "non-empty".to_string(),
            Some(Validator::NonEmptyStringWithoutControlChars) => {
                "non-empty, no control characters".to_string()
            }
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            key.name,
            key.config_type.name().to_lowercase(),
            default,
            valid,
            key.importance.name().to_lowercase(),
            key.documentation.replace('|', "\\|"),
        ));
    }
    out
}

/// Checks that the Markdown file holds `table` between the markers
/// `<!-- BEGIN GENERATED: <section> -->` and `<!-- END GENERATED: <section> -->`.
/// With `SLUICE_BLESS_DOCS=1` it rewrites that part of the file instead.
pub fn check_generated_section(doc_path: &std::path::Path, section: &str, table: &str) {
    let begin = format!("<!-- BEGIN GENERATED: {section} -->\n");
    let end = format!("<!-- END GENERATED: {section} -->");
    let text = std::fs::read_to_string(doc_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", doc_path.display()));
    let (Some(b), Some(e)) = (text.find(&begin), text.find(&end)) else {
        panic!(
            "{} lacks the markers `{}` and `{end}`; add them where the key table of {section} belongs",
            doc_path.display(),
            begin.trim_end()
        );
    };
    let current = &text[b + begin.len()..e];
    if current == table {
        return;
    }
    if std::env::var_os("SLUICE_BLESS_DOCS").is_some() {
        let updated = format!("{}{table}{}", &text[..b + begin.len()], &text[e..]);
        std::fs::write(doc_path, updated).unwrap();
        return;
    }
    let mut diff = String::new();
    let old: Vec<&str> = current.lines().collect();
    let new: Vec<&str> = table.lines().collect();
    for i in 0..old.len().max(new.len()) {
        match (old.get(i), new.get(i)) {
            (Some(o), Some(n)) if o == n => {}
            (o, n) => {
                if let Some(o) = o {
                    diff.push_str(&format!("- {o}\n"));
                }
                if let Some(n) = n {
                    diff.push_str(&format!("+ {n}\n"));
                }
            }
        }
    }
    panic!(
        "the key table of {section} in {} is out of date with the code's ConfigDef.\n\
         Lines in the file (-) versus generated (+):\n{diff}\n\
         Run the test again with SLUICE_BLESS_DOCS=1 to rewrite it.",
        doc_path.display()
    );
}

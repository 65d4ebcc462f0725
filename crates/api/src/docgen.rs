//! Reference docs generated from config declarations.
//!
//! Each component's keys are declared once in a [`ConfigDef`]; [`ConfigDef::markdown_table`]
//! renders them, and [`sync_generated_section`] keeps the table inside a Markdown page in
//! step with the code. Components call it from a test, so a stale page fails the build
//! with a diff, and `SLUICE_BLESS_DOCS=1` rewrites it.

use std::path::Path;

use crate::config::{ConfigDef, ConfigDefault, Validator};

impl ConfigDef {
    /// A Markdown table of the keys: name, type, default, valid values, importance, doc.
    pub fn markdown_table(&self) -> String {
        let mut out = String::from(
            "| key | type | default | valid values | importance | description |\n\
             | --- | --- | --- | --- | --- | --- |\n",
        );
        for key in self.keys() {
            let default = match &key.default {
                ConfigDefault::Required => "required".to_string(),
                ConfigDefault::Null => "null".to_string(),
                ConfigDefault::Value(v) if v.is_empty() => "empty".to_string(),
                ConfigDefault::Value(v) => format!("`{v}`"),
            };
            let quoted = |values: &[&str]| {
                values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let valid = match &key.validator {
                None | Some(Validator::Custom(_)) => String::new(),
                Some(Validator::Regex) => "a regular expression".to_string(),
                Some(Validator::AtLeast(min)) => format!("at least {min}"),
                Some(Validator::Between(min, max)) => format!("{min} to {max}"),
                Some(Validator::OneOf(values)) => quoted(values),
                Some(Validator::OneOfIgnoreCase(values)) => {
                    format!("{} (any case)", quoted(values))
                }
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
                key.documentation.replace('|', "\\|").replace('\n', " "),
            ));
        }
        out
    }
}

/// Checks that `doc_path` holds `content` between the lines
/// `<!-- BEGIN GENERATED: <section> -->` and `<!-- END GENERATED: <section> -->`.
///
/// With `bless` (tests pass whether the environment variable `SLUICE_BLESS_DOCS` is set),
/// rewrites that part of the file instead. Returns a message with a line diff when the file
/// is out of date.
pub fn sync_generated_section(
    doc_path: &Path,
    section: &str,
    content: &str,
    bless: bool,
) -> Result<(), String> {
    let begin = format!("<!-- BEGIN GENERATED: {section} -->\n");
    let end = format!("<!-- END GENERATED: {section} -->");
    let text = std::fs::read_to_string(doc_path)
        .map_err(|e| format!("cannot read {}: {e}", doc_path.display()))?;
    let (Some(b), Some(e)) = (text.find(&begin), text.find(&end)) else {
        return Err(format!(
            "{} lacks the markers `{}` and `{end}`; add them where the generated {section} belong",
            doc_path.display(),
            begin.trim_end()
        ));
    };
    let current = &text[b + begin.len()..e];
    if current == content {
        return Ok(());
    }
    if bless {
        let updated = format!("{}{content}{}", &text[..b + begin.len()], &text[e..]);
        return std::fs::write(doc_path, updated)
            .map_err(|e| format!("cannot write {}: {e}", doc_path.display()));
    }
    let old: Vec<&str> = current.lines().collect();
    let new: Vec<&str> = content.lines().collect();
    let mut diff = String::new();
    for i in 0..old.len().max(new.len()) {
        let (o, n) = (old.get(i), new.get(i));
        if o != n {
            if let Some(o) = o {
                diff.push_str(&format!("- {o}\n"));
            }
            if let Some(n) = n {
                diff.push_str(&format!("+ {n}\n"));
            }
        }
    }
    Err(format!(
        "the generated {section} in {} are out of date with the code.\n\
         Lines in the file (-) versus generated (+):\n{diff}\n\
         Run the test again with SLUICE_BLESS_DOCS=1 to rewrite them.",
        doc_path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigKey, ConfigType, Importance};

    #[test]
    fn renders_and_syncs_a_table() {
        let def = ConfigDef::new().define(
            ConfigKey::new("batch.size", ConfigType::Int)
                .default_value("2000")
                .importance(Importance::Low)
                .validator(Validator::AtLeast(1))
                .doc("Most records per poll | at once."),
        );
        let table = def.markdown_table();
        assert!(table.contains(
            "| `batch.size` | int | `2000` | at least 1 | low | Most records per poll \\| at once. |"
        ));
        let dir = std::env::temp_dir().join(format!("sluice-docgen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let page = dir.join("page.md");
        std::fs::write(
            &page,
            format!("# T\n<!-- BEGIN GENERATED: keys -->\n{table}<!-- END GENERATED: keys -->\n"),
        )
        .unwrap();
        assert_eq!(sync_generated_section(&page, "keys", &table, false), Ok(()));
        let err = sync_generated_section(&page, "keys", "| other |\n", false).unwrap_err();
        assert!(err.contains("+ | other |"), "{err}");
        sync_generated_section(&page, "keys", "| other |\n", true).unwrap();
        assert_eq!(
            sync_generated_section(&page, "keys", "| other |\n", false),
            Ok(())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

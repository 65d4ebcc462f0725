//! docs/transforms.md: the reference of every transformation and predicate, generated from
//! their config declarations, with worked examples that are run here.
//!
//! Each example is a JSON file in `docs/examples/transforms/`:
//!
//! ```json
//! {"plugin": "org.apache.kafka.connect.transforms.Cast$Value",  (or a list of class names)
//!  "title": "Cast a field", "description": "optional text shown above the example",
//!  "schemas": false,
//!  "config": {"transforms": "cast", "transforms.cast.type": "Cast$Value", ...},
//!  "input": [{"topic": "t", "value": ...}],
//!  "output": [{"topic": "t", "partition": null, "key": null, "value": ..., ...}]}
//! ```
//!
//! The test feeds `input` (one JSON line per record) to `sluice transform --config <config>
//! [--schemas]` and checks that the printed records equal `output`, so the docs show what the
//! binary does. It then regenerates the reference section of the page; with
//! `SLUICE_BLESS_DOCS=1` it rewrites the page instead of failing when it is stale. Expected
//! outputs are never rewritten: they are written (and checked) by hand.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::Scratch;
use serde_json::Value as Json;
use sluice_api::config::ConfigDef;

struct Example {
    file: String,
    /// The classes whose sections show the example.
    plugins: Vec<String>,
    title: String,
    description: String,
    schemas: bool,
    config: Json,
    input: Vec<Json>,
    output: Vec<Json>,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load_examples() -> Vec<Example> {
    let dir = repo().join("docs/examples/transforms");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(path).unwrap();
            let json: Json =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: invalid JSON: {e}"));
            let field = |name: &str| {
                json.get(name)
                    .cloned()
                    .unwrap_or_else(|| panic!("{file}: no '{name}'"))
            };
            let text_field = |name: &str| match json.get(name) {
                Some(Json::String(s)) => s.clone(),
                None => String::new(),
                Some(other) => panic!("{file}: '{name}' must be a string, found {other}"),
            };
            let list = |name: &str| match field(name) {
                Json::Array(items) => items,
                other => panic!("{file}: '{name}' must be an array, found {other}"),
            };
            let plugins = match field("plugin") {
                Json::String(s) => vec![s],
                Json::Array(items) => items
                    .into_iter()
                    .map(|i| match i {
                        Json::String(s) => s,
                        other => panic!("{file}: 'plugin' items must be strings, found {other}"),
                    })
                    .collect(),
                other => panic!("{file}: 'plugin' must be a class name or a list, found {other}"),
            };
            Example {
                plugins,
                title: text_field("title"),
                description: text_field("description"),
                schemas: json.get("schemas").and_then(Json::as_bool).unwrap_or(false),
                config: field("config"),
                input: list("input"),
                output: list("output"),
                file,
            }
        })
        .collect()
}

/// Runs an example through the binary; a message describing any difference.
fn check_example(s: &Scratch, example: &Example) -> Result<(), String> {
    let config = s.write(
        &example.file,
        &serde_json::to_string_pretty(&example.config).unwrap(),
    );
    let input: String = example
        .input
        .iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).unwrap()))
        .collect();
    let config = config.display().to_string();
    let mut args = vec!["transform", "--config", config.as_str()];
    if example.schemas {
        args.push("--schemas");
    }
    let out = s.run_with_stdin(&args, &input);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{}: sluice transform failed ({}):\n{}",
            example.file,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Compared as text, so the docs show the output exactly, field order included.
    let got: Vec<&str> = stdout.lines().collect();
    let expected: Vec<String> = example
        .output
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    if got != expected {
        return Err(format!(
            "{}: the output differs from the example's.\nexpected:\n{}\nprinted:\n{stdout}",
            example.file,
            expected.join("\n"),
        ));
    }
    Ok(())
}

/// The class name without its `$Key`/`$Value` suffix, and its simple name.
fn base_of(class: &str) -> (&str, &str) {
    let base = class
        .strip_suffix("$Key")
        .or_else(|| class.strip_suffix("$Value"))
        .unwrap_or(class);
    (base, base.rsplit('.').next().unwrap_or(base))
}

fn key_table(def: &ConfigDef) -> String {
    if def.keys().is_empty() {
        "No keys of its own.\n".to_string()
    } else {
        def.markdown_table()
    }
}

fn render_example(out: &mut String, example: &Example) {
    out.push_str(&format!("#### Example: {}\n\n", example.title));
    if !example.description.is_empty() {
        out.push_str(&format!("{}\n\n", example.description));
    }
    let flag = if example.schemas { " --schemas" } else { "" };
    out.push_str(&format!(
        "`{}`:\n\n```json\n{}\n```\n\n",
        example.file,
        serde_json::to_string_pretty(&example.config).unwrap()
    ));
    let lines = |records: &[Json]| {
        records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    };
    out.push_str(&format!(
        "Input of `sluice transform --config {}{flag}`:\n\n```json\n{}\n```\n\n",
        example.file,
        lines(&example.input)
    ));
    if example.output.is_empty() {
        out.push_str("Output: nothing (every record is dropped).\n\n");
    } else {
        out.push_str(&format!(
            "Output:\n\n```json\n{}\n```\n\n",
            lines(&example.output)
        ));
    }
}

/// One section per plugin family (`Cast` for `Cast$Key` and `Cast$Value`): its class names,
/// its keys and its examples.
fn render_section(
    out: &mut String,
    simple: &str,
    classes: &[(&'static str, ConfigDef)],
    examples: &[&Example],
) {
    out.push_str(&format!("### {simple}\n\n"));
    let names: Vec<String> = classes.iter().map(|(c, _)| format!("`{c}`")).collect();
    out.push_str(&format!("Class: {}\n\n", names.join(", ")));
    let first = key_table(&classes[0].1);
    if classes.iter().all(|(_, def)| key_table(def) == first) {
        out.push_str(&first);
        out.push('\n');
    } else {
        for (class, def) in classes {
            out.push_str(&format!("Keys of `{class}`:\n\n{}\n", key_table(def)));
        }
    }
    for example in examples {
        render_example(out, example);
    }
}

/// Groups plugins by family, sorted by simple name.
fn families(
    plugins: impl Iterator<Item = (&'static str, ConfigDef)>,
) -> Vec<(String, Vec<(&'static str, ConfigDef)>)> {
    let mut out: Vec<(String, Vec<(&'static str, ConfigDef)>)> = Vec::new();
    for (class, def) in plugins {
        let (base, _) = base_of(class);
        match out.iter_mut().find(|(b, _)| b == base) {
            Some((_, members)) => members.push((class, def)),
            None => out.push((base.to_string(), vec![(class, def)])),
        }
    }
    out.sort_by(|a, b| base_of(&a.0).1.cmp(base_of(&b.0).1));
    out
}

#[test]
fn examples_run_and_the_reference_matches_the_code() {
    let examples = load_examples();
    let transformations: Vec<_> = sluice_transforms::transformations();
    let predicates: Vec<_> = sluice_transforms::predicates();
    let known: Vec<&str> = transformations
        .iter()
        .map(|p| p.class_name)
        .chain(predicates.iter().map(|p| p.class_name))
        .collect();

    let s = Scratch::new();
    let mut failures = Vec::new();
    let mut by_plugin: BTreeMap<&str, Vec<&Example>> = BTreeMap::new();
    for example in &examples {
        let unknown: Vec<&str> = example
            .plugins
            .iter()
            .map(String::as_str)
            .filter(|p| !known.contains(p))
            .collect();
        if !unknown.is_empty() {
            failures.push(format!(
                "{}: 'plugin' {} is not a plugin of this build",
                example.file,
                unknown.join(", ")
            ));
            continue;
        }
        if let Err(e) = check_example(&s, example) {
            failures.push(e);
        }
        for plugin in &example.plugins {
            by_plugin.entry(plugin).or_default().push(example);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    let transformation_families = families(
        transformations
            .iter()
            .map(|p| (p.class_name, (p.config_def)())),
    );
    let predicate_families = families(predicates.iter().map(|p| (p.class_name, (p.config_def)())));
    // Section anchors as Markdown renderers make them: a repeated heading gets `-1`, `-2`...
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut index = |list: &[(String, Vec<(&'static str, ConfigDef)>)]| {
        list.iter()
            .map(|(base, _)| {
                let simple = base_of(base).1;
                let slug = simple.to_lowercase();
                let n = seen.entry(slug.clone()).or_insert(0);
                let anchor = if *n == 0 { slug } else { format!("{slug}-{n}") };
                *n += 1;
                format!("[{simple}](#{anchor})")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut content = format!(
        "Transformations: {}.\n\nPredicates: {}.\n\n## Transformations\n\n",
        index(&transformation_families),
        index(&predicate_families)
    );
    let without_examples: Vec<&str> = transformation_families
        .iter()
        .chain(&predicate_families)
        .filter(|(_, classes)| classes.iter().all(|(c, _)| !by_plugin.contains_key(c)))
        .map(|(base, _)| base_of(base).1)
        .collect();
    if !without_examples.is_empty() {
        eprintln!("note: no example yet for {}", without_examples.join(", "));
    }
    let sections = |content: &mut String, list: Vec<(String, Vec<(&'static str, ConfigDef)>)>| {
        for (base, classes) in list {
            let examples: Vec<&Example> = classes
                .iter()
                .flat_map(|(c, _)| by_plugin.get(c).cloned().unwrap_or_default())
                .collect();
            render_section(content, base_of(&base).1, &classes, &examples);
        }
    };
    sections(&mut content, transformation_families);
    content.push_str("## Predicates\n\n");
    sections(&mut content, predicate_families);

    let doc = repo().join("docs/transforms.md");
    let bless = std::env::var_os("SLUICE_BLESS_DOCS").is_some();
    if let Err(message) =
        sluice_api::docgen::sync_generated_section(&doc, "transform reference", &content, bless)
    {
        panic!("{message}");
    }
}

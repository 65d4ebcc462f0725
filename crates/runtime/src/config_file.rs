//! Loading worker and connector config files.
//!
//! A worker config is a Java `.properties` file. A connector config is either a `.properties`
//! file or a JSON file; the JSON may be the body of `POST /connectors`
//! (`{"name": "...", "config": {...}}`) or a flat config object as sent to
//! `PUT /connectors/{name}/config`. Config values are strings; JSON numbers and booleans are
//! accepted and turned into their text (`2` → `"2"`), while objects and arrays are rejected
//! naming the key. Files ending in `.json`, or whose first non-blank character is `{`, are read
//! as JSON.

use std::path::Path;

use serde_json::Value as Json;
use sluice_api::config::ConfigMap;

use crate::error::{RuntimeError, RuntimeResult};
use crate::properties;

/// Reads a `.properties` file (worker configs).
pub fn load_properties(path: &Path) -> RuntimeResult<ConfigMap> {
    let text = read(path)?;
    properties::parse(&text).map_err(|e| RuntimeError::ConfigFileSyntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads a connector config file, `.properties` or JSON.
pub fn load_connector_config(path: &Path) -> RuntimeResult<ConfigMap> {
    let text = read(path)?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    if is_json {
        parse_connector_json(&text).map_err(|message| RuntimeError::ConfigFileSyntax {
            path: path.to_path_buf(),
            message,
        })
    } else {
        properties::parse(&text).map_err(|e| RuntimeError::ConfigFileSyntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

fn read(path: &Path) -> RuntimeResult<String> {
    std::fs::read_to_string(path).map_err(|source| RuntimeError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a connector config in JSON: `{"name":..,"config":{..}}` or a flat object.
pub fn parse_connector_json(text: &str) -> Result<ConfigMap, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Json::Object(top) = json else {
        return Err("expected a JSON object with the connector config".into());
    };
    // The REST body shape: a `config` object beside an optional `name`.
    if let Some(config) = top.get("config") {
        let Json::Object(config) = config else {
            return Err("'config' must be a JSON object of string values".into());
        };
        let mut map = flat_object(config, "config.")?;
        match (top.get("name"), map.get("name")) {
            (Some(Json::String(outer)), Some(inner)) if outer != inner => {
                return Err(format!(
                    "the connector name '{outer}' does not match 'name' in 'config' ('{inner}')"
                ))
            }
            (Some(Json::String(outer)), None) => {
                map.insert("name".into(), outer.clone());
            }
            (Some(Json::String(_)), Some(_)) | (None, _) => {}
            (Some(other), _) => {
                return Err(format!(
                    "'name' must be a string, found {}",
                    json_kind(other)
                ))
            }
        }
        return Ok(map);
    }
    flat_object(&top, "")
}

fn flat_object(obj: &serde_json::Map<String, Json>, path: &str) -> Result<ConfigMap, String> {
    let mut map = ConfigMap::new();
    for (key, value) in obj {
        let text = match value {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            // Kafka's REST API drops null-valued keys' values; treat as absent.
            Json::Null => continue,
            Json::Array(_) | Json::Object(_) => {
                return Err(format!(
                    "the value of '{path}{key}' must be a string (or number or boolean), found {}; \
                     lists are written as comma-separated strings",
                    json_kind(value)
                ))
            }
        };
        map.insert(key.clone(), text);
    }
    Ok(map)
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_body_shape() {
        let map = parse_connector_json(
            r#"{"name":"src","config":{"connector.class":"FileStreamSource","tasks.max":2,"x":true}}"#,
        )
        .unwrap();
        assert_eq!(map["name"], "src");
        assert_eq!(map["tasks.max"], "2");
        assert_eq!(map["x"], "true");
        assert_eq!(map["connector.class"], "FileStreamSource");
    }

    #[test]
    fn flat_shape() {
        let map = parse_connector_json(r#"{"name":"a","topics":"t","tasks.max":"1"}"#).unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map["topics"], "t");
    }

    #[test]
    fn arrays_and_objects_are_rejected_naming_the_key() {
        let err =
            parse_connector_json(r#"{"name":"a","config":{"topics":["a","b"]}}"#).unwrap_err();
        assert!(err.contains("'config.topics'"), "{err}");
        assert!(err.contains("an array"), "{err}");
        let err = parse_connector_json(r#"{"name":"a","nested":{"k":"v"}}"#).unwrap_err();
        assert!(
            err.contains("'nested'") && err.contains("an object"),
            "{err}"
        );
    }

    #[test]
    fn mismatched_names_are_rejected() {
        let err = parse_connector_json(r#"{"name":"a","config":{"name":"b"}}"#).unwrap_err();
        assert!(err.contains("'a'") && err.contains("'b'"), "{err}");
    }

    #[test]
    fn invalid_json_is_reported() {
        let err = parse_connector_json("{").unwrap_err();
        assert!(err.starts_with("invalid JSON"), "{err}");
        assert!(parse_connector_json("[]").is_err());
    }

    #[test]
    fn files_are_read_by_format() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("c.json");
        std::fs::write(&json, r#"{"name":"j","config":{"topic":"t"}}"#).unwrap();
        assert_eq!(load_connector_config(&json).unwrap()["name"], "j");
        let props = dir.path().join("c.properties");
        std::fs::write(&props, "name=p\ntopic=t\n").unwrap();
        assert_eq!(load_connector_config(&props).unwrap()["name"], "p");
        let bad = dir.path().join("bad.properties");
        std::fs::write(&bad, "a=\\uXYZW\n").unwrap();
        let err = load_connector_config(&bad).unwrap_err().to_string();
        assert!(
            err.contains("bad.properties") && err.contains("line 1"),
            "{err}"
        );
        let missing = dir.path().join("missing.json");
        let err = load_connector_config(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.json"), "{err}");
    }
}

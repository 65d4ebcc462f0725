//! Reading requests: query strings (Java's boolean parsing, repeated keys) and JSON bodies
//! (config values coerced to text as Kafka's JSON reader does). Anything malformed is a
//! 400 naming the problem, never a 500.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use sluice_api::config::ConfigMap;

use super::error::ApiError;

/// The `key=value` pairs of a query string, percent-decoded, in order.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Every value of a query key.
pub fn query_values<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A boolean query parameter read as Java's `Boolean.valueOf` does (`true` in any case is
/// true, anything else false); `default` when absent.
pub fn query_bool(pairs: &[(String, String)], key: &str, default: bool) -> bool {
    match query_values(pairs, key).first() {
        Some(v) => v.eq_ignore_ascii_case("true"),
        None => default,
    }
}

fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a request body as JSON.
pub fn parse_json(body: &[u8]) -> Result<Json, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Cannot parse the request body as JSON: {e}")))
}

/// Reads a JSON value as a typed entity.
pub fn parse_entity<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Cannot read the request body: {e}")))
}

/// A config object: values as text (numbers and booleans are accepted and turned into
/// text), and the keys whose value was null, apart.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RequestConfig {
    /// Keys with a value.
    pub map: ConfigMap,
    /// Keys given as null.
    pub nulls: Vec<String>,
}

impl RequestConfig {
    /// Reads a JSON object of config values.
    pub fn from_json(value: Json, what: &str) -> Result<RequestConfig, ApiError> {
        let Json::Object(members) = value else {
            return Err(ApiError::bad_request(format!(
                "{what} must be a JSON object of string values, not {}",
                kind(&value)
            )));
        };
        let mut out = RequestConfig::default();
        for (key, value) in members {
            match value {
                Json::String(s) => {
                    out.map.insert(key, s);
                }
                Json::Number(n) => {
                    out.map.insert(key, n.to_string());
                }
                Json::Bool(b) => {
                    out.map.insert(key, b.to_string());
                }
                Json::Null => out.nulls.push(key),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "The value of config '{key}' must be a string, not {}",
                        kind(&other)
                    )))
                }
            }
        }
        Ok(out)
    }

    /// The config as a patch: null values remove keys.
    pub fn into_patch(self) -> BTreeMap<String, Option<String>> {
        let mut patch: BTreeMap<String, Option<String>> =
            self.map.into_iter().map(|(k, v)| (k, Some(v))).collect();
        for k in self.nulls {
            patch.insert(k, None);
        }
        patch
    }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// `POST /connectors`: name, config and optional initial state.
#[derive(Debug, PartialEq, Eq)]
pub struct CreateRequest {
    /// Connector name, trimmed (empty when missing).
    pub name: String,
    /// Its config.
    pub config: RequestConfig,
    /// `initial_state`, upper-cased.
    pub initial_state: Option<String>,
}

impl CreateRequest {
    /// Reads the request body.
    pub fn parse(body: &[u8]) -> Result<CreateRequest, ApiError> {
        let Json::Object(mut members) = parse_json(body)? else {
            return Err(ApiError::bad_request(
                "The request body must be a JSON object like {\"name\": \"...\", \"config\": {...}}",
            ));
        };
        let name = match members.remove("name") {
            None | Some(Json::Null) => String::new(),
            Some(Json::String(s)) => s.trim().to_string(),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "'name' must be a string, not {}",
                    kind(&other)
                )))
            }
        };
        let config = match members.remove("config") {
            None | Some(Json::Null) => RequestConfig::default(),
            Some(c) => RequestConfig::from_json(c, "'config'")?,
        };
        let initial_state = match members.remove("initial_state") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s.trim().to_ascii_uppercase()),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "'initial_state' must be a string, not {}",
                    kind(&other)
                )))
            }
        };
        Ok(CreateRequest {
            name,
            config,
            initial_state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_and_repeat() {
        let pairs = query_pairs(Some("expand=status&expand=info&x=a%20b+c&flag"));
        assert_eq!(query_values(&pairs, "expand"), vec!["status", "info"]);
        assert_eq!(query_values(&pairs, "x"), vec!["a b c"]);
        assert_eq!(query_values(&pairs, "flag"), vec![""]);
        assert!(query_pairs(None).is_empty());
        assert_eq!(
            query_pairs(Some("a=%zz%4")),
            vec![("a".into(), "%zz%4".into())]
        );
    }

    #[test]
    fn booleans_read_like_java() {
        let pairs = query_pairs(Some("a=True&b=False&c=yes"));
        assert!(query_bool(&pairs, "a", false));
        assert!(!query_bool(&pairs, "b", true));
        assert!(!query_bool(&pairs, "c", true));
        assert!(query_bool(&pairs, "missing", true));
    }

    #[test]
    fn configs_coerce_scalars_and_keep_nulls_apart() {
        let c = RequestConfig::from_json(
            serde_json::json!({"a": "x", "tasks.max": 2, "b": true, "gone": null}),
            "config",
        )
        .unwrap();
        assert_eq!(c.map["tasks.max"], "2");
        assert_eq!(c.map["b"], "true");
        assert_eq!(c.nulls, vec!["gone"]);
        let patch = c.into_patch();
        assert_eq!(patch["gone"], None);
        let e = RequestConfig::from_json(serde_json::json!({"a": {"b": 1}}), "config").unwrap_err();
        assert_eq!(
            e.message,
            "The value of config 'a' must be a string, not an object"
        );
        assert!(RequestConfig::from_json(serde_json::json!([1]), "config").is_err());
    }

    #[test]
    fn create_requests() {
        let r =
            CreateRequest::parse(br#"{"name":" n ","config":{"k":"v"},"initial_state":"paused"}"#)
                .unwrap();
        assert_eq!(r.name, "n");
        assert_eq!(r.initial_state.as_deref(), Some("PAUSED"));
        assert_eq!(r.config.map["k"], "v");
        let e = CreateRequest::parse(b"{\"name\":").unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(
            e.message
                .starts_with("Cannot parse the request body as JSON"),
            "{}",
            e.message
        );
        assert!(CreateRequest::parse(b"[]").is_err());
    }
}

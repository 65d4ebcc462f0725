//! Config providers: secrets and other values kept outside connector configs, referenced by
//! placeholders such as `${file:/etc/secrets/db.properties:password}` and resolved only when a
//! connector or task starts (Kafka's `ConfigTransformer` with its built-in providers).
//!
//! The worker declares providers:
//!
//! ```properties
//! config.providers=file,env,directory
//! config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//! config.providers.env.class=EnvVarConfigProvider
//! config.providers.env.param.allowlist.pattern=^DB_.*
//! config.providers.directory.class=DirectoryConfigProvider
//! config.providers.directory.param.allowed.paths=/run/secrets
//! ```
//!
//! A placeholder is `${provider:key}` or `${provider:path:key}`; `${env::VAR}` (empty path)
//! and `${env:VAR}` both read an environment variable. Stored configs, the offsets file,
//! REST answers and logs keep the placeholder; only the config handed to the connector holds
//! the resolved value.
//!
//! Unlike Kafka, which leaves an unresolvable placeholder in place and lets the connector
//! fail on it later, every problem (unknown provider, missing file or key, a path outside
//! `allowed.paths`, an unclosed `${`) is reported as a config issue naming the key, so a
//! misconfigured secret is caught by validation.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use regex::Regex;
use sluice_api::config::ConfigMap;

use crate::error::ConfigIssue;

/// Worker key listing the provider names.
pub const CONFIG_PROVIDERS: &str = "config.providers";

const FILE_CLASS: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
const DIRECTORY_CLASS: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
const ENV_CLASS: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// Parameter of the file and directory providers restricting which paths may be read.
const ALLOWED_PATHS: &str = "allowed.paths";
/// Parameter of the env provider restricting which variables may be read.
const ALLOWLIST_PATTERN: &str = "allowlist.pattern";

/// One configured provider.
#[derive(Debug)]
enum Provider {
    /// Reads a key of a `.properties` file.
    File { allowed: Option<Vec<PathBuf>> },
    /// Reads a whole file inside a directory.
    Directory { allowed: Option<Vec<PathBuf>> },
    /// Reads an environment variable.
    Env { allowlist: Option<Regex> },
}

/// The providers a worker declares, ready to resolve placeholders.
#[derive(Debug, Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

/// One `${provider:path:key}` reference found in a value.
#[derive(Debug, PartialEq, Eq)]
struct Placeholder<'a> {
    /// Byte range of the whole `${...}` in the value.
    range: std::ops::Range<usize>,
    provider: &'a str,
    path: Option<&'a str>,
    key: &'a str,
}

impl ConfigProviders {
    /// No providers: every value is used as written.
    pub fn none() -> Self {
        ConfigProviders::default()
    }

    /// Reads `config.providers` and each provider's `.class` and `.param.*` keys from a
    /// worker config. Every problem is returned, each naming its key.
    pub fn from_worker_config(worker: &ConfigMap) -> Result<Self, Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        let mut providers = BTreeMap::new();
        let names = worker
            .get(CONFIG_PROVIDERS)
            .map(|v| sluice_api::config::parse_list(v))
            .unwrap_or_default();
        for name in names {
            let class_key = format!("{CONFIG_PROVIDERS}.{name}.class");
            let Some(class) = worker.get(&class_key).map(|c| c.trim()) else {
                issues.push(ConfigIssue::new(
                    &class_key,
                    format!("provider '{name}' is listed in {CONFIG_PROVIDERS} but has no class"),
                ));
                continue;
            };
            let param_prefix = format!("{CONFIG_PROVIDERS}.{name}.param.");
            let params = sluice_api::config::strip_prefix(worker, &param_prefix);
            let provider = match class {
                FILE_CLASS | "FileConfigProvider" | "File" => {
                    allowed_paths(&params, &param_prefix).map(|allowed| Provider::File { allowed })
                }
                DIRECTORY_CLASS | "DirectoryConfigProvider" | "Directory" => {
                    allowed_paths(&params, &param_prefix)
                        .map(|allowed| Provider::Directory { allowed })
                }
                ENV_CLASS | "EnvVarConfigProvider" | "EnvVar" => {
                    match params.get(ALLOWLIST_PATTERN) {
                        None => Ok(Provider::Env { allowlist: None }),
                        Some(p) => Regex::new(&format!("^(?:{p})$"))
                            .map(|r| Provider::Env { allowlist: Some(r) })
                            .map_err(|e| {
                                ConfigIssue::new(
                                    format!("{param_prefix}{ALLOWLIST_PATTERN}"),
                                    format!("not a valid regular expression: {e}"),
                                )
                            }),
                    }
                }
                other => Err(ConfigIssue::new(
                    &class_key,
                    format!(
                        "unknown config provider class '{other}'; built in are {FILE_CLASS}, \
                         {DIRECTORY_CLASS} and {ENV_CLASS} (or their short names)"
                    ),
                )),
            };
            match provider {
                Ok(p) => {
                    providers.insert(name, p);
                }
                Err(issue) => issues.push(issue),
            }
        }
        if issues.is_empty() {
            Ok(ConfigProviders { providers })
        } else {
            Err(issues)
        }
    }

    /// True when no provider is configured.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// True when some value of `config` holds a placeholder (resolution would change it).
    pub fn has_placeholders(config: &ConfigMap) -> bool {
        config.values().any(|v| v.contains("${"))
    }

    /// Resolves every placeholder in every value. Returns the resolved config, or every
    /// problem found, each naming the key whose value holds the bad placeholder. Error
    /// messages name the provider, path and key, never a resolved value.
    pub fn resolve(&self, config: &ConfigMap) -> Result<ConfigMap, Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        let mut out = ConfigMap::new();
        for (key, value) in config {
            match self.resolve_value(value) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(message) => issues.push(ConfigIssue::new(key, message)),
            }
        }
        if issues.is_empty() {
            Ok(out)
        } else {
            Err(issues)
        }
    }

    fn resolve_value(&self, value: &str) -> Result<String, String> {
        let placeholders = find_placeholders(value)?;
        if placeholders.is_empty() {
            return Ok(value.to_owned());
        }
        let mut out = String::with_capacity(value.len());
        let mut last = 0;
        for p in placeholders {
            out.push_str(&value[last..p.range.start]);
            out.push_str(&self.lookup(&p)?);
            last = p.range.end;
        }
        out.push_str(&value[last..]);
        Ok(out)
    }

    fn lookup(&self, p: &Placeholder<'_>) -> Result<String, String> {
        let provider = self.providers.get(p.provider).ok_or_else(|| {
            let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
            format!(
                "the placeholder refers to config provider '{}', which the worker does not \
                 declare (declared in {CONFIG_PROVIDERS}: [{}])",
                p.provider,
                known.join(", ")
            )
        })?;
        let path = p.path.unwrap_or("");
        match provider {
            Provider::File { allowed } => {
                let file = checked_path(path, allowed.as_deref(), p.provider)?;
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    format!(
                        "config provider '{}' cannot read '{}': {e}",
                        p.provider,
                        file.display()
                    )
                })?;
                let props = crate::properties::parse(&text).map_err(|e| {
                    format!(
                        "config provider '{}': '{}' is not a valid properties file: {e}",
                        p.provider,
                        file.display()
                    )
                })?;
                props.get(p.key).cloned().ok_or_else(|| {
                    format!(
                        "config provider '{}': '{}' has no key '{}'",
                        p.provider,
                        file.display(),
                        p.key
                    )
                })
            }
            Provider::Directory { allowed } => {
                let dir = checked_path(path, allowed.as_deref(), p.provider)?;
                if p.key.contains('/') || p.key == ".." || p.key == "." || p.key.is_empty() {
                    return Err(format!(
                        "config provider '{}': '{}' is not a file name inside '{}'",
                        p.provider,
                        p.key,
                        dir.display()
                    ));
                }
                let file = dir.join(p.key);
                std::fs::read_to_string(&file).map_err(|e| {
                    format!(
                        "config provider '{}' cannot read '{}': {e}",
                        p.provider,
                        file.display()
                    )
                })
            }
            Provider::Env { allowlist } => {
                if !path.is_empty() {
                    return Err(format!(
                        "config provider '{}' reads environment variables and takes no path \
                         (write ${{{}:{}}} or ${{{}::{}}}), but the path '{path}' was given",
                        p.provider, p.provider, p.key, p.provider, p.key
                    ));
                }
                if allowlist.as_ref().is_some_and(|r| !r.is_match(p.key)) {
                    return Err(format!(
                        "config provider '{}': environment variable '{}' is not allowed by \
                         {ALLOWLIST_PATTERN}",
                        p.provider, p.key
                    ));
                }
                std::env::var(p.key).map_err(|_| {
                    format!(
                        "config provider '{}': environment variable '{}' is not set (or not \
                         valid UTF-8)",
                        p.provider, p.key
                    )
                })
            }
        }
    }
}

/// Reads a provider's `allowed.paths` parameter: absolute, normalised base paths.
fn allowed_paths(params: &ConfigMap, prefix: &str) -> Result<Option<Vec<PathBuf>>, ConfigIssue> {
    let Some(list) = params.get(ALLOWED_PATHS) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for item in sluice_api::config::parse_list(list) {
        let path = Path::new(&item);
        if !path.is_absolute() {
            return Err(ConfigIssue::new(
                format!("{prefix}{ALLOWED_PATHS}"),
                format!("'{item}' is not an absolute path"),
            ));
        }
        out.push(normalise(path));
    }
    Ok(Some(out))
}

/// Removes `.` and resolves `..` lexically, so `/a/b/../c` is `/a/c`.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The path a file or directory provider may read, checked against `allowed.paths`.
fn checked_path(
    path: &str,
    allowed: Option<&[PathBuf]>,
    provider: &str,
) -> Result<PathBuf, String> {
    if path.is_empty() {
        return Err(format!(
            "config provider '{provider}' needs a path: write ${{{provider}:PATH:KEY}}"
        ));
    }
    let normalised = normalise(Path::new(path));
    if let Some(allowed) = allowed {
        if !normalised.is_absolute() || !allowed.iter().any(|base| normalised.starts_with(base)) {
            return Err(format!(
                "config provider '{provider}': '{path}' is outside its {ALLOWED_PATHS}"
            ));
        }
    }
    Ok(normalised)
}

/// Finds the `${provider:path:key}` / `${provider:key}` references in a value, in order.
/// `${` without a closing `}` is an error; text like `${x}` without a colon is not a
/// placeholder (Kafka leaves it alone) and stays as written.
fn find_placeholders(value: &str) -> Result<Vec<Placeholder<'_>>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = value[from..].find("${").map(|i| i + from) {
        let body_start = start + 2;
        let Some(end) = value[body_start..].find('}').map(|i| i + body_start) else {
            return Err(format!(
                "malformed placeholder at position {start}: '${{' is not closed by '}}' \
                 (expected ${{provider:key}} or ${{provider:path:key}})"
            ));
        };
        let body = &value[body_start..end];
        if let Some((provider, rest)) = body.split_once(':') {
            let (path, key) = match rest.split_once(':') {
                Some((path, key)) => (Some(path), key),
                None => (None, rest),
            };
            if provider.is_empty() || key.is_empty() {
                return Err(format!(
                    "malformed placeholder '{}': expected ${{provider:key}} or \
                     ${{provider:path:key}}",
                    &value[start..=end]
                ));
            }
            out.push(Placeholder {
                range: start..end + 1,
                provider,
                path,
                key,
            });
        }
        from = end + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn all_providers() -> ConfigProviders {
        ConfigProviders::from_worker_config(&worker(&[
            ("config.providers", "file,env,dir"),
            ("config.providers.file.class", FILE_CLASS),
            ("config.providers.env.class", "EnvVarConfigProvider"),
            ("config.providers.dir.class", "DirectoryConfigProvider"),
        ]))
        .unwrap()
    }

    fn resolve_one(providers: &ConfigProviders, value: &str) -> Result<String, String> {
        let config = worker(&[("k", value)]);
        providers
            .resolve(&config)
            .map(|c| c["k"].clone())
            .map_err(|issues| {
                assert_eq!(issues.len(), 1);
                assert_eq!(issues[0].key, "k");
                issues[0].message.clone()
            })
    }

    #[test]
    fn placeholders_are_found_in_kafka_syntax() {
        let found = find_placeholders("a${file:/p/x.properties:user}b${env:HOME}").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].provider, "file");
        assert_eq!(found[0].path, Some("/p/x.properties"));
        assert_eq!(found[0].key, "user");
        assert_eq!(found[1].path, None);
        assert_eq!(found[1].key, "HOME");
        let empty_path = find_placeholders("${env::HOME}").unwrap();
        assert_eq!(empty_path[0].path, Some(""));
        assert!(find_placeholders("plain ${novar} text").unwrap().is_empty());
        assert!(find_placeholders("${file:/x:y")
            .unwrap_err()
            .contains("not closed"));
        assert!(find_placeholders("${:x}")
            .unwrap_err()
            .contains("malformed"));
    }

    #[test]
    fn file_directory_and_env_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let props = dir.path().join("db.properties");
        std::fs::write(&props, "user=alice\npassword=s3cret\n").unwrap();
        std::fs::write(dir.path().join("token"), "tok-123").unwrap();
        let providers = all_providers();
        let path = props.display().to_string();
        assert_eq!(
            resolve_one(&providers, &format!("${{file:{path}:password}}")).unwrap(),
            "s3cret"
        );
        assert_eq!(
            resolve_one(
                &providers,
                &format!(
                    "u=${{file:{path}:user}};t=${{dir:{}:token}}",
                    dir.path().display()
                )
            )
            .unwrap(),
            "u=alice;t=tok-123"
        );
        let home = std::env::var("PATH").unwrap();
        assert_eq!(resolve_one(&providers, "${env:PATH}").unwrap(), home);
        assert_eq!(resolve_one(&providers, "${env::PATH}").unwrap(), home);
        assert_eq!(
            resolve_one(&providers, "no placeholder").unwrap(),
            "no placeholder"
        );
    }

    #[test]
    fn problems_name_the_key_and_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let props = dir.path().join("db.properties");
        std::fs::write(&props, "password=s3cret\n").unwrap();
        let providers = all_providers();
        let path = props.display().to_string();
        let missing_key = resolve_one(&providers, &format!("${{file:{path}:user}}")).unwrap_err();
        assert!(missing_key.contains("has no key 'user'"), "{missing_key}");
        let missing_file =
            resolve_one(&providers, "${file:/nonexistent/x.properties:user}").unwrap_err();
        assert!(missing_file.contains("cannot read"), "{missing_file}");
        let unknown = resolve_one(&providers, "${vault:secret/db:password}").unwrap_err();
        assert!(unknown.contains("'vault'"), "{unknown}");
        let unset = resolve_one(&providers, "${env:SLUICE_SURELY_UNSET_VAR}").unwrap_err();
        assert!(unset.contains("is not set"), "{unset}");
        let traversal = resolve_one(
            &providers,
            &format!("${{dir:{}:../etc}}", dir.path().display()),
        )
        .unwrap_err();
        assert!(traversal.contains("not a file name"), "{traversal}");
        for message in [missing_key, missing_file, unknown, unset, traversal] {
            assert!(!message.contains("s3cret"));
        }
    }

    #[test]
    fn allowed_paths_and_allowlist_restrict_reads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.properties"), "k=v\n").unwrap();
        let base = dir.path().display().to_string();
        let providers = ConfigProviders::from_worker_config(&worker(&[
            ("config.providers", "file,env"),
            ("config.providers.file.class", "FileConfigProvider"),
            ("config.providers.file.param.allowed.paths", &base),
            ("config.providers.env.class", "EnvVarConfigProvider"),
            ("config.providers.env.param.allowlist.pattern", "SLUICE_.*"),
        ]))
        .unwrap();
        assert_eq!(
            resolve_one(&providers, &format!("${{file:{base}/a.properties:k}}")).unwrap(),
            "v"
        );
        let outside =
            resolve_one(&providers, &format!("${{file:{base}/../a.properties:k}}")).unwrap_err();
        assert!(outside.contains("outside"), "{outside}");
        let denied = resolve_one(&providers, "${env:PATH}").unwrap_err();
        assert!(denied.contains("not allowed"), "{denied}");
    }

    #[test]
    fn bad_worker_declarations_name_their_key() {
        let issues = ConfigProviders::from_worker_config(&worker(&[
            ("config.providers", "a,b,c"),
            ("config.providers.b.class", "com.example.Vault"),
            ("config.providers.c.class", "EnvVarConfigProvider"),
            ("config.providers.c.param.allowlist.pattern", "("),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "config.providers.a.class",
                "config.providers.b.class",
                "config.providers.c.param.allowlist.pattern"
            ]
        );
    }
}

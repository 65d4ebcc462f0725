//! Log levels changed at run time (`/admin/loggers`).
//!
//! Kafka's loggers are log4j names; here a logger is a `tracing` target prefix (a module
//! path such as `sluice_runtime::worker`, or any name a `target:` uses), and `root` is the
//! default level. [`Loggers`] keeps the level set for each logger and turns them into one
//! filter (`info,sluice_runtime=debug`) that a [`LogLevelControl`] applies to the running
//! subscriber. Setting a logger also sets every logger below it (`a` covers `a::b` and
//! `a.b`), as log4j does; setting `root` sets them all.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::herder::LoggerLevel;

/// The root logger's name.
pub const ROOT: &str = "root";

/// Applies a log filter to the running process.
pub trait LogLevelControl: Send + Sync {
    /// Replaces the filter with `directives` (`tracing-subscriber` `EnvFilter` syntax).
    fn apply(&self, directives: &str) -> Result<(), String>;
}

/// Why a level change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoggerError {
    /// Not a log4j level name.
    #[error("invalid log level '{0}'.")]
    InvalidLevel(String),
    /// Not a name a filter can hold.
    #[error("Invalid logger name '{0}': a logger is a module path like sluice_runtime::worker (ASCII letters, digits, '_', ':', '.' and '-').")]
    InvalidName(String),
    /// The subscriber refused the filter.
    #[error("cannot apply the log level: {0}")]
    Apply(String),
}

struct Level {
    /// The level as Kafka names it (`DEBUG`).
    name: String,
    last_modified: Option<i64>,
}

struct State {
    levels: BTreeMap<String, Level>,
    /// Directives of the initial filter that are not `target=level` (kept as they are).
    other: Vec<String>,
}

/// The levels of every logger that has one, and the control that applies them.
pub struct Loggers {
    state: Mutex<State>,
    control: Option<Arc<dyn LogLevelControl>>,
}

/// The `tracing` level of a log4j level name.
fn tracing_level(level: &str) -> Option<&'static str> {
    Some(match level {
        "OFF" => "off",
        "FATAL" | "ERROR" => "error",
        "WARN" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        "TRACE" | "ALL" => "trace",
        _ => return None,
    })
}

fn kafka_level(level: &str) -> Option<&'static str> {
    Some(match level.to_ascii_lowercase().as_str() {
        "off" => "OFF",
        "error" => "ERROR",
        "warn" => "WARN",
        "info" => "INFO",
        "debug" => "DEBUG",
        "trace" => "TRACE",
        _ => return None,
    })
}

fn now_ms() -> i64 {
    i64::try_from(crate::metrics::unix_now_ms()).unwrap_or(i64::MAX)
}

fn is_below(name: &str, parent: &str) -> bool {
    parent == ROOT
        || name
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('.'))
}

impl Loggers {
    /// Loggers as set by the process's initial filter (e.g. `info,sluice_runtime=debug`);
    /// changes are applied through `control` (none: they are only recorded).
    pub fn new(initial_filter: &str, control: Option<Arc<dyn LogLevelControl>>) -> Self {
        let mut levels = BTreeMap::new();
        let mut other = Vec::new();
        for directive in initial_filter
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            let (target, level) = match directive.split_once('=') {
                Some((t, l)) => (t, l),
                None => (ROOT, directive),
            };
            match kafka_level(level) {
                Some(l) if !target.contains('[') => {
                    levels.insert(
                        target.to_string(),
                        Level {
                            name: l.to_string(),
                            last_modified: None,
                        },
                    );
                }
                _ => other.push(directive.to_string()),
            }
        }
        levels.entry(ROOT.to_string()).or_insert(Level {
            name: "ERROR".to_string(),
            last_modified: None,
        });
        Loggers {
            state: Mutex::new(State { levels, other }),
            control,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every logger with a level, sorted, `root` included.
    pub fn all(&self) -> BTreeMap<String, LoggerLevel> {
        self.lock()
            .levels
            .iter()
            .map(|(k, l)| {
                (
                    k.clone(),
                    LoggerLevel {
                        level: l.name.clone(),
                        last_modified: l.last_modified,
                    },
                )
            })
            .collect()
    }

    /// The level of a logger that has one (`root`, those of the initial filter and those
    /// set through the API); `None` for others.
    pub fn get(&self, name: &str) -> Option<LoggerLevel> {
        let state = self.lock();
        let level = state.levels.get(name)?;
        Some(LoggerLevel {
            level: level.name.clone(),
            last_modified: level.last_modified,
        })
    }

    /// Checks a logger name and a level as [`Loggers::set`] does, setting nothing: a level
    /// for the whole cluster is checked before it is published.
    pub fn check(name: &str, level: &str) -> Result<(), LoggerError> {
        if tracing_level(&level.trim().to_ascii_uppercase()).is_none() {
            return Err(LoggerError::InvalidLevel(level.to_string()));
        }
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_:.-".contains(&b));
        if !valid_name {
            return Err(LoggerError::InvalidName(name.to_string()));
        }
        Ok(())
    }

    /// Sets a logger and every logger below it; returns the affected loggers, sorted.
    pub fn set(&self, name: &str, level: &str) -> Result<Vec<String>, LoggerError> {
        Self::check(name, level)?;
        let upper = level.trim().to_ascii_uppercase();
        let mut state = self.lock();
        let now = now_ms();
        let mut affected: Vec<String> = state
            .levels
            .keys()
            .filter(|k| *k == name || is_below(k, name))
            .cloned()
            .collect();
        if !affected.iter().any(|k| k == name) {
            affected.push(name.to_string());
        }
        affected.sort();
        let mut next: BTreeMap<String, Level> = state
            .levels
            .iter()
            .map(|(k, l)| {
                (
                    k.clone(),
                    Level {
                        name: l.name.clone(),
                        last_modified: l.last_modified,
                    },
                )
            })
            .collect();
        for k in &affected {
            next.insert(
                k.clone(),
                Level {
                    name: upper.clone(),
                    last_modified: Some(now),
                },
            );
        }
        let filter = filter_of(&next, &state.other);
        if let Some(control) = &self.control {
            control.apply(&filter).map_err(LoggerError::Apply)?;
        }
        state.levels = next;
        tracing::info!(logger = %name, level = %upper, filter = %filter, "Log level changed.");
        Ok(affected)
    }
}

/// The filter that gives every logger its level: the root level, then each logger.
fn filter_of(levels: &BTreeMap<String, Level>, other: &[String]) -> String {
    let mut parts = Vec::with_capacity(levels.len() + other.len());
    if let Some(root) = levels.get(ROOT).and_then(|l| tracing_level(&l.name)) {
        parts.push(root.to_string());
    }
    for (name, level) in levels.iter().filter(|(n, _)| *n != ROOT) {
        if let Some(l) = tracing_level(&level.name) {
            parts.push(format!("{name}={l}"));
        }
    }
    parts.extend(other.iter().cloned());
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl LogLevelControl for Recorder {
        fn apply(&self, directives: &str) -> Result<(), String> {
            self.0.lock().unwrap().push(directives.to_string());
            Ok(())
        }
    }

    #[test]
    fn initial_filter_gives_root_and_targets() {
        let l = Loggers::new("info,sluice_runtime=debug,[span]=trace", None);
        let all = l.all();
        assert_eq!(all["root"].level, "INFO");
        assert_eq!(all["sluice_runtime"].level, "DEBUG");
        assert_eq!(all["root"].last_modified, None);
        assert_eq!(all.len(), 2);
        assert!(l.get("nope").is_none());
    }

    #[test]
    fn setting_a_namespace_sets_its_descendants_and_applies_the_filter() {
        let recorder = Arc::new(Recorder::default());
        let l = Loggers::new("warn,a::b=trace,ab=info", Some(recorder.clone()));
        assert_eq!(l.set("a", "debug").unwrap(), vec!["a", "a::b"]);
        assert_eq!(l.get("a::b").unwrap().level, "DEBUG");
        assert!(l.get("a").unwrap().last_modified.is_some());
        assert_eq!(l.get("ab").unwrap().level, "INFO");
        assert_eq!(
            recorder.0.lock().unwrap().last().unwrap(),
            "warn,a=debug,a::b=debug,ab=info"
        );
        assert_eq!(
            l.set("root", "Error").unwrap(),
            vec!["a", "a::b", "ab", "root"]
        );
        assert_eq!(
            recorder.0.lock().unwrap().last().unwrap(),
            "error,a=error,a::b=error,ab=error"
        );
        assert_eq!(
            l.set("a", "LOUD").unwrap_err().to_string(),
            "invalid log level 'LOUD'."
        );
    }

    #[test]
    fn names_a_filter_cannot_hold_are_refused_before_anything_changes() {
        let recorder = Arc::new(Recorder::default());
        let l = Loggers::new("info", Some(recorder.clone()));
        for bad in ["", "a=b", "a,b", "x[span]", "é", "a b"] {
            assert!(
                matches!(l.set(bad, "DEBUG"), Err(LoggerError::InvalidName(_))),
                "{bad:?}"
            );
        }
        assert!(recorder.0.lock().unwrap().is_empty());
        assert_eq!(l.all().len(), 1);
        assert_eq!(
            l.set("sluice-x.y::z_1", "DEBUG").unwrap(),
            vec!["sluice-x.y::z_1"]
        );
    }
}

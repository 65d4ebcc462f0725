//! Logging to standard error, with a filter the REST API can change while running
//! (`PUT /admin/loggers/...`, through a `tracing-subscriber` reload handle).

use std::io::IsTerminal;
use std::sync::Arc;

use sluice_runtime::rest::{LogLevelControl, Loggers};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// Applies filters through the subscriber's reload handle.
struct ReloadControl(reload::Handle<EnvFilter, Registry>);

impl LogLevelControl for ReloadControl {
    fn apply(&self, directives: &str) -> Result<(), String> {
        let filter = EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
        self.0.reload(filter).map_err(|e| e.to_string())
    }
}

/// Installs the global subscriber: `level` (from `--log-level`), else `RUST_LOG`, else
/// `default`. Returns the loggers as the REST API shows and changes them.
pub fn init(level: Option<&str>, default: &str) -> Arc<Loggers> {
    let text = match level {
        Some(l) => l.to_string(),
        None => std::env::var("RUST_LOG")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_string()),
    };
    let (filter, text) = match EnvFilter::try_new(&text) {
        Ok(f) => (f, text),
        Err(e) => {
            eprintln!("warning: invalid log filter ({e}); using '{default}'");
            (EnvFilter::new(default), default.to_string())
        }
    };
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    tracing_subscriber::registry().with(filter).with(fmt).init();
    Arc::new(Loggers::new(&text, Some(Arc::new(ReloadControl(handle)))))
}

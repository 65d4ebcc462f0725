//! # sluice-runtime
//!
//! The Sluice worker: everything between a connector and the log.
//!
//! - [`properties`] and [`config_file`] read worker and connector files (Java `.properties`
//!   or JSON);
//! - [`worker_config`] and [`connector_config`] declare and validate the worker's and the
//!   connectors' common keys, reporting every problem at once;
//! - [`backend`] chooses and opens the log (embedded, or Kafka when `bootstrap.servers` is
//!   set) and [`client_overrides`] checks connectors' client overrides against the worker's
//!   policy;
//! - [`plugins`] finds connectors and converters by class name or alias;
//! - [`offsets`] stores source offsets in Kafka Connect's formats;
//! - [`worker`] runs connectors and their tasks on a log: a source task polls, converts and
//!   sends in a pipeline, committing offsets of acknowledged records; a sink task consumes,
//!   converts and puts, committing consumer offsets its task has flushed;
//! - [`herder`] defines what the REST API asks of a worker ([`herder::Herder`]) and
//!   implements it for a standalone worker: it validates connector configs, keeps their
//!   target states, starts, pauses, stops and restarts them on the worker, and reads and
//!   changes their offsets;
//! - [`rest`] serves the Kafka Connect REST API over a `dyn Herder` (axum on Tokio).
//!
//! The runtime never names a concrete connector or converter: the binary registers them in a
//! [`plugins::PluginRegistry`].

pub mod backend;
pub mod client_overrides;
pub mod config_file;
pub mod config_providers;
pub mod connector_config;
pub mod converters;
mod dedicated;
pub mod error;
pub mod error_handling;
pub mod exactly_once;
pub mod herder;
pub mod metrics;
pub mod offsets;
mod pause;
pub mod plugins;
pub mod properties;
pub mod rest;
pub mod restart;
mod sink_task;
mod source_task;
pub mod status;
pub mod storage;
pub mod worker;
pub mod worker_config;

pub use error::{ConfigIssue, RuntimeError, RuntimeResult};

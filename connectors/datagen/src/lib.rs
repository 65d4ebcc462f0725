//! # sluice-connector-datagen
//!
//! A source connector that makes up realistic-looking records, for demos, tests and
//! benchmarks: purchase orders, user profiles or page views (the *quickstarts*), keyed by a
//! string and valued by a `Struct` with a Connect schema (or a schemaless map).
//!
//! Keys follow Confluent's datagen connector (`kafka.topic`, `quickstart`, `iterations`,
//! `max.interval`, `random.seed`), plus `rate` for even pacing and `value.schema.enabled`.
//! See [`datagen_config_def`] for every key, [`quickstart`] for the data sets and
//! [`DatagenTask`] for pacing, offsets and reproducibility.
//!
//! Unthrottled (`max.interval=0`), a task returns 1000 records per poll; each record costs a
//! handful of small allocations and no system call, so the generator is rarely what limits a
//! benchmark.

mod config;
mod connector;
pub mod quickstart;
mod rng;
mod task;

pub use config::{
    datagen_config_def, ITERATIONS_CONFIG, KAFKA_TOPIC_CONFIG, MAX_INTERVAL_CONFIG,
    QUICKSTART_CONFIG, RANDOM_SEED_CONFIG, RATE_CONFIG, TASK_COUNT_CONFIG, TOPIC_CONFIG,
    VALUE_SCHEMA_ENABLED_CONFIG,
};
pub use connector::DatagenConnector;
pub use quickstart::Quickstart;
pub use task::{DatagenTask, ITERATION_FIELD, TASK_FIELD};

use sluice_api::connector::{ConnectorFactory, ConnectorPlugin};
use sluice_api::data::Value;

/// Class name of the connector; the runtime derives the aliases `DatagenConnector` and
/// `Datagen`.
pub const DATAGEN_CLASS: &str = "io.sluice.connect.datagen.DatagenConnector";

/// The class name of Confluent's `kafka-connect-datagen`, whose keys this connector takes:
/// configs naming it run here unchanged.
pub const CONFLUENT_DATAGEN_CLASS: &str = "io.confluent.kafka.connect.datagen.DatagenConnector";

/// The connectors of this crate, for the runtime's plugin registry.
pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![ConnectorPlugin {
        class_name: DATAGEN_CLASS,
        aliases: &[CONFLUENT_DATAGEN_CLASS],
        factory: ConnectorFactory::Source(|| Box::<DatagenConnector>::default()),
    }]
}

/// An integer offset value of any width (offsets read back from JSON are 64-bit, but values
/// built in memory may be narrower).
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int8(v) => Some(i64::from(*v)),
        Value::Int16(v) => Some(i64::from(*v)),
        Value::Int32(v) => Some(i64::from(*v)),
        Value::Int64(v) => Some(*v),
        _ => None,
    }
}

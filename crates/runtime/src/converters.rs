//! The converters of one connector: its own `key.converter` / `value.converter` /
//! `header.converter` when set (configured only by its own prefixed keys), else the worker's.

use sluice_api::config::ConfigMap;
use sluice_api::converter::{Converter, ConverterType, HeaderConverter};
use sluice_api::ConnectError;

use crate::connector_config::{ConnectorConfig, CONVERTER_TYPE};
use crate::plugins::PluginRegistry;
use crate::worker_config::{ConverterSpec, WorkerConfig};

/// Key, value and header converters of one task.
pub struct Converters {
    /// Converts record keys.
    pub key: Box<dyn Converter>,
    /// Converts record values.
    pub value: Box<dyn Converter>,
    /// Converts header values.
    pub header: Box<dyn HeaderConverter>,
    /// Class names of the key, value and header converters (for error reports).
    pub class_names: [&'static str; 3],
}

impl Converters {
    /// Makes the converters of a connector.
    pub fn for_connector(
        connector: &ConnectorConfig,
        worker: &WorkerConfig,
        plugins: &PluginRegistry,
    ) -> Result<Self, ConnectError> {
        let pick = |own: &Option<ConverterSpec>, default: &ConverterSpec| -> ConverterSpec {
            own.clone().unwrap_or_else(|| default.clone())
        };
        let key = pick(&connector.key_converter, &worker.key_converter);
        let value = pick(&connector.value_converter, &worker.value_converter);
        let header = pick(&connector.header_converter, &worker.header_converter);
        let class_name = |spec: &ConverterSpec, header: bool| {
            let plugin = if header {
                plugins.header_converter(&spec.class)
            } else {
                plugins.converter(&spec.class)
            };
            plugin.map(|p| p.class_name).unwrap_or("")
        };
        Ok(Converters {
            key: make(plugins, "key.converter", &key, ConverterType::Key)?,
            value: make(plugins, "value.converter", &value, ConverterType::Value)?,
            header: make_header(plugins, &header)?,
            class_names: [
                class_name(&key, false),
                class_name(&value, false),
                class_name(&header, true),
            ],
        })
    }
}

fn make(
    plugins: &PluginRegistry,
    key: &str,
    spec: &ConverterSpec,
    role: ConverterType,
) -> Result<Box<dyn Converter>, ConnectError> {
    let plugin = plugins
        .converter(&spec.class)
        .map_err(|e| ConnectError::config(key, e.to_string()))?;
    let create = plugin.create.ok_or_else(|| {
        ConnectError::config(key, format!("{} is not a key/value converter", spec.class))
    })?;
    create(&with_type(&spec.config, role), role)
}

/// A converter's settings with `converter.type` set for its role, as Kafka passes them.
fn with_type(config: &ConfigMap, role: ConverterType) -> ConfigMap {
    let mut config = config.clone();
    config.insert(CONVERTER_TYPE.to_string(), role.as_str().to_string());
    config
}

fn make_header(
    plugins: &PluginRegistry,
    spec: &ConverterSpec,
) -> Result<Box<dyn HeaderConverter>, ConnectError> {
    let plugin = plugins
        .header_converter(&spec.class)
        .map_err(|e| ConnectError::config("header.converter", e.to_string()))?;
    let create = plugin.create_header.ok_or_else(|| {
        ConnectError::config(
            "header.converter",
            format!("{} is not a header converter", spec.class),
        )
    })?;
    create(&with_type(&spec.config, ConverterType::Header))
}

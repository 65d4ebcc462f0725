//! Config handling shared by the converters: Kafka's `converter.type` key, which every
//! built-in converter except SimpleHeaderConverter declares, and parsing a converter's keys.

use sluice_api::config::{
    ConfigDef, ConfigKey, ConfigMap, ConfigType, Importance, ParsedConfig, Validator,
};
use sluice_api::converter::ConverterType;
use sluice_api::{ConnectError, Result};

/// The key telling a converter its role (`key`, `value` or `header`).
pub const CONVERTER_TYPE_CONFIG: &str = "converter.type";

/// Kafka's `ConverterConfig.newConfigDef()`: just `converter.type`.
pub fn converter_config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(CONVERTER_TYPE_CONFIG, ConfigType::String)
            .validator(Validator::OneOf(vec!["key", "value", "header"]))
            .importance(Importance::Low)
            .doc("How this converter is used: for record keys, record values or headers."),
    )
}

/// Parses a converter's config with its role set, as Kafka's `configure(map, isKey)` does.
/// Reports the first bad key.
pub(crate) fn parse_converter_config(
    def: &ConfigDef,
    props: &ConfigMap,
    converter_type: ConverterType,
) -> Result<ParsedConfig> {
    let mut props = props.clone();
    props.insert(
        CONVERTER_TYPE_CONFIG.to_string(),
        converter_type.as_str().to_string(),
    );
    def.parse(&props).map_err(first_error)
}

fn first_error(errors: Vec<ConnectError>) -> ConnectError {
    errors
        .into_iter()
        .next()
        .unwrap_or_else(|| ConnectError::connect("invalid converter configuration"))
}

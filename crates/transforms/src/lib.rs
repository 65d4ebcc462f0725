//! Single-message transforms (SMTs) and predicates, with Kafka Connect's class names, config
//! keys, behaviour and error texts, plus Debezium's `ExtractNewRecordState` and an expression
//! transform.
//!
//! Each transform is a [`TransformationPlugin`] (class name, config declaration, factory); the
//! `$Key` and `$Value` variants of a Kafka SMT are two plugins sharing one implementation,
//! parameterised by [`util::Operand`]. [`transformations`] and [`predicates`] list them all for
//! the runtime's plugin registry.

use sluice_api::transform::{PredicatePlugin, TransformationPlugin};

pub mod chain;
pub mod util;

pub use chain::{validate_chain_config, PluginList, PluginLookup, TransformChain, TransformError};

mod cast;
mod debezium;
mod expression;
mod extract_field;
mod field_path;
mod filter;
mod flatten;
mod headers;
mod hoist_field;
mod insert_field;
mod java_date_format;
mod mask_field;
mod predicates;
mod regex_router;
mod replace_field;
mod set_schema_metadata;
mod timestamp_converter;
mod timestamp_router;
mod value_to_key;

/// Every built-in transformation plugin.
pub fn transformations() -> Vec<TransformationPlugin> {
    [
        cast::plugins(),
        debezium::plugins(),
        expression::plugins(),
        extract_field::plugins(),
        filter::plugins(),
        flatten::plugins(),
        headers::plugins(),
        hoist_field::plugins(),
        insert_field::plugins(),
        mask_field::plugins(),
        regex_router::plugins(),
        replace_field::plugins(),
        set_schema_metadata::plugins(),
        timestamp_converter::plugins(),
        timestamp_router::plugins(),
        value_to_key::plugins(),
    ]
    .concat()
}

/// Every built-in predicate plugin.
pub fn predicates() -> Vec<PredicatePlugin> {
    [predicates::plugins(), expression::predicate_plugins()].concat()
}

//! `Filter`: drops every record it is applied to.
//!
//! It has no settings; on its own it drops everything, so it is normally gated by a predicate
//! (records for which the predicate does not hold pass unchanged):
//!
//! ```properties
//! transforms=dropFoo
//! transforms.dropFoo.type=org.apache.kafka.connect.transforms.Filter
//! transforms.dropFoo.predicate=isFoo
//! predicates=isFoo
//! predicates.isFoo.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
//! predicates.isFoo.pattern=foo
//! ```

use sluice_api::config::{ConfigDef, ConfigMap};
use sluice_api::error::Result;
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Outcome, Transformation, TransformationPlugin};

use crate::util;

/// This module's plugins.
pub(crate) fn plugins() -> Vec<TransformationPlugin> {
    vec![TransformationPlugin {
        class_name: "org.apache.kafka.connect.transforms.Filter",
        config_def: ConfigDef::new,
        create,
    }]
}

fn create(props: &ConfigMap) -> Result<Box<dyn Transformation>> {
    util::parse_config(&ConfigDef::new(), props)?;
    Ok(Box::new(Filter))
}

/// The transform: every record is dropped.
#[derive(Debug)]
struct Filter;

impl Transformation for Filter {
    fn apply(&self, _record: &mut ConnectRecord) -> Result<Outcome> {
        Ok(Outcome::Drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::Value;

    #[test]
    fn drops_every_record() {
        let plugin = &plugins()[0];
        assert_eq!(
            plugin.class_name,
            "org.apache.kafka.connect.transforms.Filter"
        );
        assert!((plugin.config_def)().keys().is_empty());
        let filter = (plugin.create)(&ConfigMap::new()).unwrap();
        for value in [Value::from("v"), Value::Null] {
            assert!(filter
                .apply_owned(ConnectRecord::new("t", None, value))
                .unwrap()
                .is_none());
        }
    }
}

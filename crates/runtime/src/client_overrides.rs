//! Per-connector client settings (`producer.override.*`, `consumer.override.*`,
//! `admin.override.*`) and the worker's `connector.client.config.override.policy` that
//! decides which of them a connector may set, as in Kafka Connect.
//!
//! The policy is checked when a connector config is validated or created: a key the policy
//! does not allow is an error on that (prefixed) key. Allowed settings are laid over the
//! worker-level `producer.*` / `consumer.*` / `admin.*` settings of the task's clients (see
//! [`crate::worker::Worker`]).

use std::collections::BTreeMap;

use sluice_api::config::ConfigMap;
use sluice_api::ConnectError;
use sluice_log::LogError;

use crate::error::ConfigIssue;

/// Worker key: which client settings connectors may override.
pub const OVERRIDE_POLICY: &str = "connector.client.config.override.policy";
/// Connector key prefix: settings of the task's producers (source tasks, DLQ producers).
pub const PRODUCER_OVERRIDE_PREFIX: &str = "producer.override.";
/// Connector key prefix: settings of the task's consumers (sink tasks).
pub const CONSUMER_OVERRIDE_PREFIX: &str = "consumer.override.";
/// Connector key prefix: settings of the task's admin client.
pub const ADMIN_OVERRIDE_PREFIX: &str = "admin.override.";

/// The three override prefixes.
pub const OVERRIDE_PREFIXES: [&str; 3] = [
    PRODUCER_OVERRIDE_PREFIX,
    CONSUMER_OVERRIDE_PREFIX,
    ADMIN_OVERRIDE_PREFIX,
];

/// Settings the `Principal` policy lets a connector override.
const PRINCIPAL_KEYS: [&str; 3] = ["sasl.jaas.config", "sasl.mechanism", "security.protocol"];

/// Which client settings a connector may override (Kafka's
/// `ConnectorClientConfigOverridePolicy` implementations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverridePolicy {
    /// Nothing may be overridden.
    None,
    /// Only the principal: `sasl.jaas.config`, `sasl.mechanism`, `security.protocol`.
    Principal,
    /// Everything may be overridden (Kafka's default since 3.0).
    #[default]
    All,
}

impl OverridePolicy {
    /// Parses the worker value: `None`, `Principal`, `All` (any case), or the class names
    /// of Kafka's three policies.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let short = value
            .strip_prefix("org.apache.kafka.connect.connector.policy.")
            .and_then(|s| s.strip_suffix("ConnectorClientConfigOverridePolicy"))
            .unwrap_or(value);
        match short.to_ascii_lowercase().as_str() {
            "none" => Ok(OverridePolicy::None),
            "principal" => Ok(OverridePolicy::Principal),
            "all" => Ok(OverridePolicy::All),
            _ => Err(format!(
                "'{value}' is not a policy: expected None, Principal or All (or the class name \
                 of one of Kafka's policies)"
            )),
        }
    }

    /// The policy's name as Kafka prints it in messages.
    pub fn name(self) -> &'static str {
        match self {
            OverridePolicy::None => "None",
            OverridePolicy::Principal => "Principal",
            OverridePolicy::All => "All",
        }
    }

    /// Whether a connector may override client setting `key` (prefix removed).
    pub fn allows(self, key: &str) -> bool {
        match self {
            OverridePolicy::None => false,
            OverridePolicy::Principal => PRINCIPAL_KEYS.contains(&key),
            OverridePolicy::All => true,
        }
    }

    /// One issue per override key of `config` the policy does not allow, on the prefixed
    /// key, with Kafka's message.
    pub fn violations(self, config: &ConfigMap) -> Vec<ConfigIssue> {
        config
            .keys()
            .filter_map(|key| {
                let client_key = OVERRIDE_PREFIXES
                    .iter()
                    .find_map(|prefix| key.strip_prefix(prefix))?;
                (!self.allows(client_key)).then(|| {
                    ConfigIssue::new(
                        key.clone(),
                        format!(
                            "The '{}' policy does not allow '{client_key}' to be overridden in \
                             the connector configuration.",
                            self.name()
                        ),
                    )
                })
            })
            .collect()
    }
}

/// The error of making a client with a connector's overrides (`prefix` stripped): a
/// setting the client refuses becomes a config error on the connector key that set it
/// (`admin.override.request.timeout.ms`, not `request.timeout.ms`); other errors pass as
/// they are.
pub fn refused_override(
    prefix: &str,
    overrides: &BTreeMap<String, String>,
    err: LogError,
) -> ConnectError {
    match err {
        LogError::InvalidConfig { key, message } if overrides.contains_key(&key) => {
            ConnectError::config(format!("{prefix}{key}"), message)
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_and_class_names_parse() {
        assert_eq!(OverridePolicy::parse("All"), Ok(OverridePolicy::All));
        assert_eq!(OverridePolicy::parse(" none "), Ok(OverridePolicy::None));
        assert_eq!(
            OverridePolicy::parse(
                "org.apache.kafka.connect.connector.policy.PrincipalConnectorClientConfigOverridePolicy"
            ),
            Ok(OverridePolicy::Principal)
        );
        let err = OverridePolicy::parse("Some").unwrap_err();
        assert!(err.contains("expected None, Principal or All"), "{err}");
    }

    #[test]
    fn each_policy_reports_what_it_forbids() {
        let c = config(&[
            ("producer.override.acks", "1"),
            ("consumer.override.security.protocol", "SASL_SSL"),
            ("admin.override.request.timeout.ms", "100"),
            ("topics", "t"),
        ]);
        assert!(OverridePolicy::All.violations(&c).is_empty());
        let principal = OverridePolicy::Principal.violations(&c);
        assert_eq!(
            principal,
            vec![
                ConfigIssue::new(
                    "admin.override.request.timeout.ms",
                    "The 'Principal' policy does not allow 'request.timeout.ms' to be overridden in the connector configuration."
                ),
                ConfigIssue::new(
                    "producer.override.acks",
                    "The 'Principal' policy does not allow 'acks' to be overridden in the connector configuration."
                ),
            ]
        );
        let none = OverridePolicy::None.violations(&c);
        assert_eq!(none.len(), 3, "{none:?}");
        assert!(none[1]
            .message
            .starts_with("The 'None' policy does not allow 'security.protocol'"));
    }

    #[test]
    fn a_refused_override_names_the_connector_key() {
        let overrides: BTreeMap<String, String> =
            [("request.timeout.ms".to_string(), "0".to_string())].into();
        let refused = |key: &str| LogError::InvalidConfig {
            key: key.into(),
            message: "out of range".into(),
        };
        let err = refused_override(
            ADMIN_OVERRIDE_PREFIX,
            &overrides,
            refused("request.timeout.ms"),
        );
        assert!(
            matches!(err, ConnectError::Config { ref key, ref message }
                if key == "admin.override.request.timeout.ms" && message == "out of range"),
            "{err}"
        );
        // A key the connector did not set (a worker-level one) keeps its own name.
        let err = refused_override(ADMIN_OVERRIDE_PREFIX, &overrides, refused("linger.ms"));
        assert!(!matches!(err, ConnectError::Config { .. }), "{err}");
        assert!(err.to_string().contains("'linger.ms'"), "{err}");
    }
}

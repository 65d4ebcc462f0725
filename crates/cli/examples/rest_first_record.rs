//! Time from `POST /connectors` to the first record in the connector's topic, on the
//! embedded log: the benchmark behind "REST: time to the first record" in
//! `docs/PERFORMANCE.md` (run it through `scripts/bench/rest-first-record.sh`).
//!
//! ```text
//! cargo run --release -p sluice --example rest_first_record -- [RUNS] [CONVERTER]
//! ```
//!
//! One process runs what `sluice standalone` runs (worker, standalone herder, REST server on
//! 127.0.0.1, embedded log in a temporary directory) and, on a thread of its own, a client
//! that for each run sends `POST /connectors` over a fresh TCP connection with a datagen
//! source that makes one record into a topic that does not exist yet, then watches the
//! topic's end offset (every 100 µs) until the record is there; then it deletes the
//! connector. Times are measured from just before the request is written: to the response,
//! and to the record in the topic (topic creation, connector and task start, conversion and
//! the append included). Prints the median, 90th and 99th percentiles and the extremes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_api::config::ConfigMap;
use sluice_log::Log;
use sluice_runtime::backend::open_log;
use sluice_runtime::herder::StandaloneHerder;
use sluice_runtime::offsets::FileOffsetStore;
use sluice_runtime::plugins::PluginRegistry;
use sluice_runtime::rest::{Loggers, RestHandle, RestServer, RestState};
use sluice_runtime::worker::Worker;
use sluice_runtime::worker_config::WorkerConfig;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs before the measured ones (first allocations, page cache).
const WARMUP: usize = 5;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let runs: usize = match args.next() {
        Some(n) => n.parse()?,
        None => 200,
    };
    let converter = args
        .next()
        .unwrap_or_else(|| "org.apache.kafka.connect.json.JsonConverter".to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let (addr, log, _server) = runtime.block_on(start_worker(dir.path(), &converter))?;

    let handle = runtime.handle().clone();
    let admin = log.admin();
    let client = std::thread::spawn(move || -> Result<(Vec<f64>, Vec<f64>), Error> {
        let mut to_response = Vec::with_capacity(runs);
        let mut to_record = Vec::with_capacity(runs);
        for run in 0..WARMUP + runs {
            let name = format!("first-{run}");
            let body = serde_json::json!({
                "name": name,
                "config": {
                    "connector.class": "DatagenConnector",
                    "kafka.topic": name,
                    "quickstart": "orders",
                    "iterations": "1",
                    "max.interval": "0",
                    "tasks.max": "1",
                }
            })
            .to_string();
            let started = Instant::now();
            let status = request(addr, "POST", "/connectors", &body)?;
            let responded = started.elapsed();
            if status != 201 {
                return Err(format!("POST /connectors answered {status}").into());
            }
            loop {
                let end = handle
                    .block_on(admin.describe_topic(&name))
                    .map(|d| d.partitions.iter().map(|p| p.latest_offset).sum::<i64>())
                    .unwrap_or(0);
                if end > 0 {
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    return Err(format!("no record in {name} after 30 s").into());
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            let recorded = started.elapsed();
            if run >= WARMUP {
                to_response.push(responded.as_secs_f64() * 1e3);
                to_record.push(recorded.as_secs_f64() * 1e3);
            }
            let status = request(addr, "DELETE", &format!("/connectors/{name}"), "")?;
            if status != 204 {
                return Err(format!("DELETE answered {status}").into());
            }
        }
        Ok((to_response, to_record))
    });
    let (mut to_response, mut to_record) = client
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    println!(
        "POST /connectors -> first record in the topic, embedded log, {runs} runs ({} cores), \
         value.converter={converter}",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    report("POST answered (201)", &mut to_response);
    report("first record in the topic", &mut to_record);
    Ok(())
}

/// Starts a standalone worker with its REST server on a free port of 127.0.0.1; answers
/// the server's address, the log and the server's handle.
async fn start_worker(
    dir: &std::path::Path,
    converter: &str,
) -> Result<(SocketAddr, Arc<dyn Log>, RestHandle), Error> {
    let registry = Arc::new(registry());
    let props: ConfigMap = [
        ("listeners", "http://127.0.0.1:0".to_string()),
        ("embedded.log.dir", dir.join("data").display().to_string()),
        (
            "offset.storage.file.filename",
            dir.join("connect.offsets").display().to_string(),
        ),
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter".to_string(),
        ),
        ("value.converter", converter.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = WorkerConfig::parse(&props, &registry).map_err(|issues| {
        issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let rest = RestServer::bind(&config.rest).await?;
    let addr = *rest
        .local_addrs()
        .first()
        .ok_or("the REST server has no listener")?;
    let opened = open_log(&config.backend).await?;
    let offsets = Arc::new(FileOffsetStore::open(&config.offset_file)?);
    let worker = Worker::shared(config, registry.clone(), opened.log.clone(), offsets);
    let herder = Arc::new(StandaloneHerder::new(
        worker,
        registry,
        rest.worker_id(),
        "bench",
    ));
    let server = rest.start(RestState {
        herder,
        loggers: Arc::new(Loggers::new("warn", None)),
    });
    Ok((addr, opened.log, server))
}

/// The plugins of the `sluice` binary that this benchmark uses.
fn registry() -> PluginRegistry {
    let mut registry = PluginRegistry::new();
    registry.add_connectors(sluice_connector_datagen::plugins());
    registry.add_converters(sluice_convert::plugins());
    registry
}

/// One HTTP/1.1 request on a new connection; answers the status code.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Result<u16, Error> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .ok_or("empty HTTP answer")?
        .parse()?;
    Ok(status)
}

/// Prints the median, p90, p99, minimum and maximum of `ms`.
fn report(what: &str, ms: &mut [f64]) {
    if ms.is_empty() {
        println!("{what:<28} no runs");
        return;
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{what:<28} median {:7.2} ms   p90 {:7.2} ms   p99 {:7.2} ms   min {:7.2} ms   max {:7.2} ms",
        at(0.5),
        at(0.9),
        at(0.99),
        at(0.0),
        at(1.0),
    );
}

//! The stopwatch of the Kafka benchmarks (`scripts/bench/kafka-source.sh`, `kafka-sink.sh`):
//! samples how far a Sluice worker has got every few milliseconds and reports when the
//! first progress was seen and when the target was reached, so that the scripts can
//! compute a steady-state rate (first record to last) beside the whole-run rate.
//!
//! ```text
//! progress metrics ADDR METRIC TARGET [PID]   sum of every sample of METRIC in http://ADDR/metrics
//! progress file PATH TARGET [PID]             size in bytes of the file at PATH
//! ```
//!
//! Waits until the measure reaches TARGET (at most 600 s; fails early when process PID is
//! gone), then prints one line of `key=value` pairs:
//! `first=<unix seconds> first_value=<measure at that sample> last=<unix seconds>`, where
//! `first` is the first sample above zero and `last` the first sample at or above TARGET.
//! Each metrics sample is one short HTTP/1.0 request on a new local connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Error = Box<dyn std::error::Error>;

/// Time between samples.
const INTERVAL: Duration = Duration::from_millis(5);
/// Longest wait for the target.
const DEADLINE: Duration = Duration::from_secs(600);

/// What is sampled.
enum Measure {
    /// The sum of one metric's samples on a Prometheus endpoint.
    Metric { addr: String, name: String },
    /// A file's size.
    File { path: String },
}

impl Measure {
    /// The current value; `None` while it cannot be read yet (worker starting, no file).
    fn sample(&self) -> Option<f64> {
        match self {
            Measure::Metric { addr, name } => metric(addr, name).ok(),
            Measure::File { path } => std::fs::metadata(path).ok().map(|m| m.len() as f64),
        }
    }
}

/// Sums the samples of metric `name` (lines `name{...} value` or `name value`).
fn metric(addr: &str, name: &str) -> Result<f64, Error> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut body = String::new();
    stream.read_to_string(&mut body)?;
    let mut sum = 0.0;
    for line in body.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        if let Some(value) = rest.rsplit(' ').next() {
            sum += value.parse::<f64>()?;
        }
    }
    Ok(sum)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn alive(pid: Option<&str>) -> bool {
    pid.is_none_or(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (measure, target, pid) = match args.as_slice() {
        [kind, addr, name, target, rest @ ..] if kind == "metrics" && rest.len() <= 1 => (
            Measure::Metric {
                addr: addr.clone(),
                name: name.clone(),
            },
            target,
            rest.first(),
        ),
        [kind, path, target, rest @ ..] if kind == "file" && rest.len() <= 1 => {
            (Measure::File { path: path.clone() }, target, rest.first())
        }
        _ => return Err(
            "usage: progress metrics ADDR METRIC TARGET [PID] | progress file PATH TARGET [PID]"
                .into(),
        ),
    };
    let target: f64 = target.parse()?;
    let started = Instant::now();
    let mut first: Option<(f64, f64)> = None;
    loop {
        if started.elapsed() > DEADLINE {
            return Err(format!("the target {target} was not reached within 600 s").into());
        }
        if !alive(pid.map(String::as_str)) {
            return Err("the measured process exited before reaching the target".into());
        }
        if let Some(value) = measure.sample() {
            let now = unix_now();
            if value > 0.0 && first.is_none() {
                first = Some((now, value));
            }
            if value >= target {
                let (at, first_value) = first.unwrap_or((now, value));
                println!("first={at:.6} first_value={first_value} last={now:.6}");
                return Ok(());
            }
        }
        std::thread::sleep(INTERVAL);
    }
}

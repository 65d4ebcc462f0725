//! The stopwatch of the Kafka benchmarks (`scripts/bench/kafka-source.sh`, `kafka-sink.sh`):
//! samples how far a Sluice worker has got every few milliseconds and reports when the
//! first progress was seen and when the target was reached, so that the scripts can
//! compute a steady-state rate (first record to last) beside the whole-run rate.
//!
//! ```text
//! progress metrics ADDR METRIC TARGET [PID] [--last-at GAUGE]
//!                                 sum of every sample of METRIC in http://ADDR/metrics
//! progress file PATH TARGET [PID] size in bytes of the file at PATH
//! ```
//!
//! Waits until the measure reaches TARGET (at most 600 s; fails early when process PID is
//! gone), then prints one line of `key=value` pairs:
//! `first=<unix seconds> first_value=<measure at that sample> last=<unix seconds>`, where
//! `first` is the first sample above zero and `last` the first sample at or above TARGET.
//! Each metrics sample is one short HTTP/1.0 request on a new local connection, which costs
//! the measured worker CPU (rendering its metrics) and this process some more, on the same
//! cores as the work it measures. With `--last-at GAUGE`, where GAUGE is a metric holding the
//! Unix time of the latest progress (Sluice's
//! `sluice_connect_source_task_last_write_timestamp_seconds`), `last` is that gauge's value
//! (the latest of its samples) in the sample that reached TARGET, so it is exact, and the
//! samples after the first progress are 100 ms apart instead of 5 ms: the figures come out as
//! a client timing itself reports them, without the stopwatch's cost in the run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Error = Box<dyn std::error::Error>;

/// Time between samples.
const INTERVAL: Duration = Duration::from_millis(5);
/// Time between samples after the first progress when the worker reports the time of its
/// latest progress itself (`--last-at`).
const SLOW_INTERVAL: Duration = Duration::from_millis(100);
/// Longest wait for the target.
const DEADLINE: Duration = Duration::from_secs(600);

/// What is sampled.
enum Measure {
    /// The sum of one metric's samples on a Prometheus endpoint, with the latest value of
    /// a gauge holding the time of the latest progress, when named.
    Metric {
        addr: String,
        name: String,
        last_at: Option<String>,
    },
    /// A file's size.
    File { path: String },
}

/// One reading: the measure, and the time of the latest progress when the worker reports it.
struct Reading {
    value: f64,
    last_at: Option<f64>,
}

impl Measure {
    /// The current reading; `None` while it cannot be read yet (worker starting, no file).
    fn sample(&self) -> Option<Reading> {
        match self {
            Measure::Metric {
                addr,
                name,
                last_at,
            } => metrics(addr, name, last_at.as_deref()).ok(),
            Measure::File { path } => std::fs::metadata(path).ok().map(|m| Reading {
                value: m.len() as f64,
                last_at: None,
            }),
        }
    }
}

/// Sums the samples of metric `name` (lines `name{...} value` or `name value`) and takes the
/// largest sample of `last_at`, when given.
fn metrics(addr: &str, name: &str, last_at: Option<&str>) -> Result<Reading, Error> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut body = String::new();
    stream.read_to_string(&mut body)?;
    let mut reading = Reading {
        value: 0.0,
        last_at: None,
    };
    for line in body.lines() {
        if let Some(v) = sample_of(line, name) {
            reading.value += v?;
        } else if let Some(v) = last_at.and_then(|gauge| sample_of(line, gauge)) {
            let v = v?;
            reading.last_at = Some(reading.last_at.map_or(v, |t: f64| t.max(v)));
        }
    }
    Ok(reading)
}

/// The value of `line` when it is a sample of metric `name`.
fn sample_of(line: &str, name: &str) -> Option<Result<f64, Error>> {
    let rest = line.strip_prefix(name)?;
    if !(rest.starts_with('{') || rest.starts_with(' ')) {
        return None;
    }
    let value = rest.rsplit(' ').next()?;
    Some(value.parse::<f64>().map_err(Error::from))
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
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let last_at = match args.iter().position(|a| a == "--last-at") {
        Some(i) if i + 1 < args.len() => {
            let gauge = args.remove(i + 1);
            args.remove(i);
            Some(gauge)
        }
        Some(_) => return Err("--last-at needs the name of a gauge".into()),
        None => None,
    };
    let (measure, target, pid) = match args.as_slice() {
        [kind, addr, name, target, rest @ ..] if kind == "metrics" && rest.len() <= 1 => (
            Measure::Metric {
                addr: addr.clone(),
                name: name.clone(),
                last_at: last_at.clone(),
            },
            target,
            rest.first(),
        ),
        [kind, path, target, rest @ ..]
            if kind == "file" && rest.len() <= 1 && last_at.is_none() =>
        {
            (Measure::File { path: path.clone() }, target, rest.first())
        }
        _ => {
            return Err(
                "usage: progress metrics ADDR METRIC TARGET [PID] [--last-at GAUGE] \
                        | progress file PATH TARGET [PID]"
                    .into(),
            )
        }
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
        if let Some(reading) = measure.sample() {
            let now = unix_now();
            if reading.value > 0.0 && first.is_none() {
                first = Some((now, reading.value));
            }
            if reading.value >= target {
                let (at, first_value) = first.unwrap_or((now, reading.value));
                let last = match (&last_at, reading.last_at) {
                    (None, _) => now,
                    (Some(_), Some(t)) if t > 0.0 => t,
                    (Some(gauge), _) => {
                        return Err(format!("the worker reports no time in {gauge}").into())
                    }
                };
                println!("first={at:.6} first_value={first_value} last={last:.6}");
                return Ok(());
            }
        }
        let interval = match (&last_at, first) {
            (Some(_), Some(_)) => SLOW_INTERVAL,
            _ => INTERVAL,
        };
        std::thread::sleep(interval);
    }
}

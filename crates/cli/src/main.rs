//! The `sluice` command.

mod connectors;
mod distributed;
mod dlq;
mod https;
mod logging;
mod plugins;
mod standalone;
mod topics;
mod transform;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: records are allocated on one thread and freed
/// on another, a pattern glibc's malloc handles slowly (it was about 40% of the pipeline's
/// time in profiles of scripts/bench/file-pipeline.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LONG_ABOUT: &str = "\
Sluice runs Kafka Connect-compatible pipelines: connectors move data between external systems
and topics, with Kafka Connect's connector configs, converters and offset formats. Without a
Kafka cluster, topics live in an embedded log on local disk (the 'embedded.log.dir' directory).

Quick start: copy a file line by line through a topic. Write three files:

  worker.properties
    key.converter=org.apache.kafka.connect.storage.StringConverter
    value.converter=org.apache.kafka.connect.storage.StringConverter
    offset.storage.file.filename=/tmp/sluice.offsets
    embedded.log.dir=/tmp/sluice-data

  source.properties
    name=in
    connector.class=FileStreamSource
    file=/tmp/in.txt
    topic=lines

  sink.json
    {\"name\": \"out\", \"config\": {\"connector.class\": \"FileStreamSink\",
     \"file\": \"/tmp/out.txt\", \"topics\": \"lines\"}}

then run

  sluice standalone worker.properties source.properties sink.json

and, from another terminal, watch the topic and list what is built in:

  sluice topics --data-dir /tmp/sluice-data consume lines --follow
  sluice plugins";

/// Kafka Connect-compatible data pipelines in one small binary.
#[derive(Parser, Debug)]
#[command(name = "sluice", version, about, long_about = LONG_ABOUT)]
struct Cli {
    /// Log level or filter (e.g. `debug`, `info,sluice_runtime=debug`); overrides RUST_LOG.
    /// Logs go to standard error.
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Worker threads of the async runtime.
    #[arg(long, global = true, value_name = "N", default_value_t = 2)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run connectors in one process, like Kafka's connect-standalone.
    #[command(long_about = "\
Run connectors in one process, like Kafka's connect-standalone.

WORKER is a Java .properties file with the worker settings (key.converter, value.converter,
offset.storage.file.filename, embedded.log.dir, ...). Each CONNECTOR file is a .properties
file or a JSON file, either {\"name\": ..., \"config\": {...}} as posted to Kafka Connect's REST
API or a flat config object.

Every file is validated first; any error is printed with its file and key, and nothing starts
(exit code 2). The worker then runs until SIGINT (Ctrl-C) or SIGTERM, stops gracefully (source
offsets and sink consumer offsets are committed) and exits 0. A second Ctrl-C exits at once
with code 130.

Source offsets are kept in offset.storage.file.filename in Kafka Connect's own file format, so
an offsets file of Kafka's connect-standalone can be used to continue where it stopped.

The worker serves Kafka Connect's REST API on 'listeners' (default http://127.0.0.1:8083, so
only this machine can reach it; set listeners=http://0.0.0.0:8083 to open it). Connectors can
be created, changed, paused, stopped and deleted there while it runs; see 'sluice connectors'.

Example:
  sluice standalone worker.properties file-source.properties file-sink.json")]
    Standalone {
        /// Worker config (.properties).
        #[arg(value_name = "WORKER")]
        worker: PathBuf,
        /// Connector configs (.properties or .json).
        #[arg(value_name = "CONNECTOR")]
        connectors: Vec<PathBuf>,
    },
    /// Run a worker whose connectors live in internal topics, like Kafka's
    /// connect-distributed; manage it through the REST API.
    #[command(long_about = "\
Run a worker whose connectors live in internal topics, like Kafka's connect-distributed.

WORKER is a Java .properties file with the common worker settings (key.converter,
value.converter, embedded.log.dir, listeners, ...) and the distributed ones:

  group.id=connect-cluster
  config.storage.topic=connect-configs
  offset.storage.topic=connect-offsets
  status.storage.topic=connect-status

There are no connector files: create, change, pause, resume, stop, restart and delete
connectors through the REST API (default http://127.0.0.1:8083; see 'sluice connectors').
Each change is written to the config topic first and applied from there, so connector
configs, task configs and target states survive any restart, even kill -9; source offsets are
kept in the offsets topic and statuses in the status topic, in Kafka Connect's formats. On
restart every connector comes back in its last state (STARTED, PAUSED or STOPPED).

The worker file is validated first; any error is printed with its key and nothing starts
(exit code 2). SIGINT (Ctrl-C) or SIGTERM stops it gracefully and it exits 0; a second Ctrl-C
exits at once with code 130. For now a worker is the only member of its group: run one
worker per group.id and data directory.

Example:
  sluice distributed worker.properties &
  sluice connectors create file-source.json
  sluice connectors status file-source")]
    Distributed {
        /// Worker config (.properties).
        #[arg(value_name = "WORKER")]
        worker: PathBuf,
    },
    /// List, inspect, create, delete, write and read topics of the embedded log or a Kafka
    /// cluster.
    #[command(long_about = "\
List, inspect, create, delete, write and read topics of the embedded log or a Kafka cluster.

The log is found with --data-dir DIR (default ./sluice-data), --worker-config FILE (its
bootstrap.servers and client settings, or its embedded.log.dir), or --bootstrap-server
HOST:PORT with optional --command-config FILE (client settings such as security.protocol, as
for Kafka's tools). On the embedded log, 'list', 'describe' and 'consume' (without --group)
read the log while a worker is running; the other commands need the worker to be stopped. On
Kafka every command works while workers run.

Examples:
  sluice topics list
  sluice topics describe lines
  sluice topics create orders --partitions 4 --config retention.ms=86400000
  printf 'k1:hello\\nk2:world\\n' | sluice topics produce orders --key-separator :
  sluice topics consume orders --from-beginning --max-messages 10
  sluice topics consume orders --follow --format json
  sluice topics --worker-config worker.properties consume lines --partition 0 --offset 100
  sluice topics --bootstrap-server localhost:9092 consume connect-configs --format json")]
    Topics {
        #[command(flatten)]
        location: topics::LogLocation,
        #[command(subcommand)]
        command: topics::TopicsCommand,
    },
    /// Manage the connectors of a running worker through its REST API.
    #[command(long_about = connectors::LONG_ABOUT)]
    Connectors {
        #[command(flatten)]
        client: connectors::ClientArgs,
        #[command(subcommand)]
        command: connectors::ConnectorsCommand,
    },
    /// Inspect a dead-letter queue and replay its records once their cause is fixed.
    #[command(long_about = "\
Inspect a dead-letter queue and replay its records once their cause is fixed.

Sink connectors with errors.tolerance=all and errors.deadletterqueue.topic.name write records
they could not convert, transform or put to that topic, with __connect.errors.* headers naming
the stage, the original topic/partition/offset and the error. 'inspect' prints them readably
(it works while a worker runs). 'replay' sends them back to their original topic, or --to
another one, exactly once: progress is committed with each transaction, so an interrupted
replay continues where it stopped when run again. Replay needs the worker to be stopped.

Examples:
  sluice dlq inspect orders-dlq
  sluice dlq inspect orders-dlq --filter stage=VALUE_CONVERTER --max-messages 5
  sluice dlq replay --from orders-dlq
  sluice dlq --worker-config worker.properties replay --from orders-dlq --to orders-fixed")]
    Dlq {
        #[command(flatten)]
        location: topics::LogLocation,
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// Run records (JSON Lines on stdin) through a connector's transformations.
    #[command(long_about = transform::LONG_ABOUT)]
    Transform {
        #[command(flatten)]
        args: transform::TransformArgs,
    },
    /// List the connectors, converters, transformations and predicates built into this
    /// binary, with their aliases.
    #[command(long_about = "\
List the connectors, converters, transformations and predicates built into this binary, with
their aliases.

A class can be named in configs by its full name, its simple name, or its simple name without
the type suffix (e.g. org.apache.kafka.connect.file.FileStreamSinkConnector,
FileStreamSinkConnector or FileStreamSink).

Example:
  sluice plugins --json")]
    Plugins {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Writes one line to standard output, ignoring a closed pipe (e.g. `sluice plugins | head`).
fn out(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Standalone { .. } | Command::Distributed { .. } => "info",
        _ => "warn",
    };
    let loggers = logging::init(cli.log_level.as_deref(), default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Standalone { worker, connectors } => {
                standalone::run(worker, connectors, loggers).await
            }
            Command::Distributed { worker } => distributed::run(worker, loggers).await,
            Command::Connectors { client, command } => connectors::run(&client, command).await,
            Command::Topics { location, command } => match topics::run(&location, command).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            },
            Command::Dlq { location, command } => match dlq::run(&location, command).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            },
            Command::Transform { args } => transform::run(&args),
            Command::Plugins { json } => {
                plugins::print(&plugins::registry(), json);
                ExitCode::SUCCESS
            }
        }
    })
}

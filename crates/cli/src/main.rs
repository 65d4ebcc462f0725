//! The `sluice` command.

mod plugins;
mod standalone;
mod topics;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

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
    /// List, inspect, create, delete, write and read topics of the embedded log.
    #[command(long_about = "\
List, inspect, create, delete, write and read topics of the embedded log.

The log is found with --data-dir DIR (default ./sluice-data) or --worker-config FILE (its
embedded.log.dir). 'list', 'describe' and 'consume' (without --group) read the log while a
worker is running; the other commands need the worker to be stopped.

Examples:
  sluice topics list
  sluice topics describe lines
  sluice topics create orders --partitions 4 --config retention.ms=86400000
  printf 'k1:hello\\nk2:world\\n' | sluice topics produce orders --key-separator :
  sluice topics consume orders --from-beginning --max-messages 10
  sluice topics consume orders --follow --format json
  sluice topics --worker-config worker.properties consume lines --partition 0 --offset 100")]
    Topics {
        #[command(flatten)]
        location: topics::LogLocation,
        #[command(subcommand)]
        command: topics::TopicsCommand,
    },
    /// List the connector and converter classes built into this binary, with their aliases.
    #[command(long_about = "\
List the connector and converter classes built into this binary, with their aliases.

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

fn init_logging(level: Option<&str>, default: &str) {
    let filter = match level {
        Some(l) => EnvFilter::try_new(l),
        None => EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(default)),
    };
    let filter = filter.unwrap_or_else(|e| {
        eprintln!("warning: invalid log filter ({e}); using '{default}'");
        EnvFilter::new(default)
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Standalone { .. } => "info",
        _ => "warn",
    };
    init_logging(cli.log_level.as_deref(), default_level);
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
            Command::Standalone { worker, connectors } => standalone::run(worker, connectors).await,
            Command::Topics { location, command } => match topics::run(&location, command).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            },
            Command::Plugins { json } => {
                plugins::print(&plugins::registry(), json);
                ExitCode::SUCCESS
            }
        }
    })
}

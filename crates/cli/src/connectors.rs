//! `sluice connectors`: a client for a running worker's Kafka Connect REST API.
//!
//! Each command is one or two HTTP requests (HTTP/1.1 over a plain TCP connection, with
//! hyper). Answers are printed as readable tables, or as the API's own JSON with `--json`.
//! An error answer of the API is printed with its status and the command exits with 1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use bytes::Bytes;
use clap::{Args, Subcommand, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value as Json};
use sluice_runtime::config_file::load_connector_config;
use tokio::net::TcpStream;

use crate::{https, out};

/// The default API address.
const DEFAULT_URL: &str = "http://127.0.0.1:8083";

/// `sluice connectors --help`.
pub const LONG_ABOUT: &str = "\
Manage the connectors of a running worker through its Kafka Connect REST API: create them from
files, look at their state, pause, resume, stop, restart or delete them, and read or change
their offsets. Works with any server of the Kafka Connect REST API.

The worker is found at --url (default http://127.0.0.1:8083, or the SLUICE_URL environment
variable). A worker with basic authentication needs --user USER:PASSWORD (or the SLUICE_AUTH
environment variable, which keeps the password out of the process list). For an https:// URL
the worker's certificate must chain to --cacert FILE (or SLUICE_CACERT), else to the system's
CA bundle; --insecure skips that check. Answers are printed as tables; --json prints the
API's JSON as it is.

Connector files are .properties or .json files, as 'sluice standalone' reads them: a flat
config, or {\"name\": ..., \"config\": {...}}.

Examples:
  sluice connectors list
  sluice connectors list --expand info --json
  sluice connectors create file-sink.json
  sluice connectors status local-file-sink
  sluice connectors pause local-file-sink
  sluice connectors resume local-file-sink
  sluice connectors restart local-file-sink --include-tasks --only-failed
  sluice connectors update file-sink.properties
  sluice connectors stop local-file-source
  sluice connectors offsets get local-file-source
  sluice connectors offsets alter local-file-source offsets.json
  sluice connectors offsets reset local-file-source
  sluice connectors validate file-sink.properties
  sluice connectors delete local-file-sink
  SLUICE_URL=http://worker1:8083 sluice connectors list
  SLUICE_AUTH=admin:secret sluice connectors list
  sluice connectors --url https://worker1:8443 --cacert worker1.pem list";

/// Where the API is and how to print answers.
#[derive(Args, Debug)]
pub struct ClientArgs {
    /// Base URL of the worker's REST API [default: $SLUICE_URL, else http://127.0.0.1:8083].
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// Basic-authentication credentials for a worker that requires them [default: $SLUICE_AUTH].
    #[arg(long, global = true, value_name = "USER:PASSWORD")]
    user: Option<String>,
    /// For an https:// URL: PEM certificates to trust (the worker's own or its CA's)
    /// [default: $SLUICE_CACERT, else the system's CA bundle].
    #[arg(long, global = true, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// For an https:// URL: do not check the worker's certificate (tests only).
    #[arg(long, global = true)]
    insecure: bool,
    /// Print the API's JSON answers instead of tables.
    #[arg(long, global = true)]
    json: bool,
}

/// What `list --expand` adds.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expand {
    /// States of the connector and its tasks.
    Status,
    /// Config, tasks and type.
    Info,
}

/// A connector's state at creation.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialState {
    /// Start it (the default).
    Running,
    /// Create it paused.
    Paused,
    /// Create it stopped (no tasks).
    Stopped,
}

/// The `sluice connectors` commands.
#[derive(Subcommand, Debug)]
pub enum ConnectorsCommand {
    /// List connectors with their state and tasks.
    List {
        /// Also fetch status and/or info (with --json: the API's expanded answer).
        #[arg(long, value_enum, value_delimiter = ',')]
        expand: Vec<Expand>,
    },
    /// Create a connector from a file (.properties or .json).
    Create {
        /// The connector file; its 'name' names the connector.
        file: PathBuf,
        /// The state to create it in.
        #[arg(long, value_enum)]
        initial_state: Option<InitialState>,
    },
    /// Replace a connector's config with a file's (created when missing); its tasks restart
    /// with the new config.
    Update {
        /// The connector file; its 'name' names the connector.
        file: PathBuf,
    },
    /// Show a connector's type, tasks and config.
    Get {
        /// Connector name.
        name: String,
    },
    /// Show a connector's config.
    Config {
        /// Connector name.
        name: String,
    },
    /// Show the state of a connector and its tasks (with the error of failed ones).
    Status {
        /// Connector name.
        name: String,
    },
    /// Pause a connector: its tasks keep their place but stop processing.
    Pause {
        /// Connector name.
        name: String,
    },
    /// Resume a paused or stopped connector.
    Resume {
        /// Connector name.
        name: String,
    },
    /// Stop a connector: its tasks shut down; it keeps its config and offsets.
    Stop {
        /// Connector name.
        name: String,
    },
    /// Restart a connector (and with --include-tasks its tasks), or one task with --task.
    Restart {
        /// Connector name.
        name: String,
        /// Restart the tasks too.
        #[arg(long)]
        include_tasks: bool,
        /// Only restart what is FAILED.
        #[arg(long)]
        only_failed: bool,
        /// Restart only this task.
        #[arg(long, value_name = "ID", conflicts_with_all = ["include_tasks", "only_failed"])]
        task: Option<u32>,
    },
    /// Delete a connector (its offsets stay).
    Delete {
        /// Connector name.
        name: String,
    },
    /// Read or change a connector's offsets (changes need it stopped first).
    Offsets {
        #[command(subcommand)]
        command: OffsetsCommand,
    },
    /// Validate a connector file against the worker's plugins; exits 1 when it has errors.
    Validate {
        /// The connector file.
        file: PathBuf,
    },
}

/// `sluice connectors offsets ...`.
#[derive(Subcommand, Debug)]
pub enum OffsetsCommand {
    /// Show the offsets.
    Get {
        /// Connector name.
        name: String,
    },
    /// Set offsets from a JSON file shaped like the 'get' answer
    /// ({"offsets": [{"partition": {...}, "offset": {...}}]}; a null offset resets one).
    Alter {
        /// Connector name.
        name: String,
        /// The offsets file.
        file: PathBuf,
    },
    /// Remove every offset.
    Reset {
        /// Connector name.
        name: String,
    },
}

/// Runs a command; errors are printed and give exit code 1.
pub async fn run(args: &ClientArgs, command: ConnectorsCommand) -> std::process::ExitCode {
    match execute(args, command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The base of the API: host, port and path prefix.
struct Client {
    url: String,
    host: String,
    port: u16,
    prefix: String,
    /// The `Authorization` header value, with credentials.
    authorization: Option<String>,
    /// The TLS configuration, for an `https://` URL.
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

/// An answer of the API.
struct Answer {
    status: StatusCode,
    body: Json,
}

impl Client {
    fn new(args: &ClientArgs) -> Result<Client> {
        let url = args
            .url
            .clone()
            .or_else(|| std::env::var("SLUICE_URL").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| DEFAULT_URL.to_string());
        let (https, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (false, rest),
            (None, Some(rest)) => (true, rest),
            (None, None) => bail!("--url must start with http:// or https:// (got '{url}')"),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']'),
                p.parse::<u16>()
                    .map_err(|_| anyhow!("invalid port in --url '{url}'"))?,
            ),
            _ => (authority, if https { 443 } else { 80 }),
        };
        let user = args
            .user
            .clone()
            .or_else(|| std::env::var("SLUICE_AUTH").ok().filter(|u| !u.is_empty()));
        let authorization = match user {
            Some(u) if !u.contains(':') => {
                bail!("--user must be USER:PASSWORD (or set SLUICE_AUTH so)")
            }
            Some(u) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(u)
            )),
            None => None,
        };
        let tls = if https {
            let cacert = args.cacert.clone().or_else(|| {
                std::env::var_os("SLUICE_CACERT")
                    .filter(|f| !f.is_empty())
                    .map(PathBuf::from)
            });
            let trust = match (args.insecure, cacert) {
                (true, _) => https::Trust::Insecure,
                (false, Some(file)) => https::Trust::CaFile(file),
                (false, None) => https::Trust::System,
            };
            Some(https::client_config(&trust)?)
        } else {
            None
        };
        Ok(Client {
            url: url.clone(),
            host: host.to_string(),
            port,
            prefix: prefix.to_string(),
            authorization,
            tls,
        })
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Json>) -> Result<Answer> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .with_context(|| {
                format!(
                    "cannot reach the worker at {} (is it running? set --url or SLUICE_URL)",
                    self.url
                )
            })?;
        let bytes = match body {
            Some(b) => Bytes::from(serde_json::to_vec(b)?),
            None => Bytes::new(),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header(HOST, format!("{}:{}", self.host, self.port))
            .header(CONTENT_TYPE, "application/json");
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let request = request.body(Full::new(bytes))?;
        let response = match &self.tls {
            None => exchange(stream, request).await,
            Some(config) => {
                let stream = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(https::server_name(&self.host)?, stream)
                    .await
                    .map_err(|e| https::handshake_error(e, &self.url))?;
                exchange(stream, request).await
            }
        }
        .with_context(|| format!("request to {} failed", self.url))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .context("reading the answer failed")?
            .to_bytes();
        let body = if bytes.is_empty() {
            Json::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Answer { status, body })
    }

    /// Sends a request and fails on an error status, with the API's message.
    async fn call(&self, method: Method, path: &str, body: Option<&Json>) -> Result<Answer> {
        let answer = self.send(method, path, body).await?;
        if answer.status.is_client_error() || answer.status.is_server_error() {
            let message = answer
                .body
                .get("message")
                .and_then(Json::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| answer.body.to_string());
            bail!("{message} (HTTP {})", answer.status.as_u16());
        }
        Ok(answer)
    }
}

/// Sends one request over a connection and returns the answer's head and body stream.
async fn exchange<T>(io: T, request: Request<Full<Bytes>>) -> Result<Response<Incoming>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .context("HTTP handshake failed")?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}

/// A path segment with everything but unreserved characters percent-encoded.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn connector_path(name: &str, rest: &str) -> String {
    format!("/connectors/{}{rest}", segment(name))
}

fn print_json(value: &Json) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => out(format_args!("{text}")),
        Err(_) => out(format_args!("{value}")),
    }
}

/// Prints rows as aligned columns under a header.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out(format_args!("{}", text.trim_end()));
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn str_of<'a>(v: &'a Json, key: &str) -> &'a str {
    v.get(key).and_then(Json::as_str).unwrap_or("")
}

/// The first line of a trace (the error itself).
fn first_line(trace: &str) -> &str {
    trace.lines().next().unwrap_or("")
}

fn load_file(file: &Path) -> Result<(String, Map<String, Json>)> {
    let config = load_connector_config(file).map_err(|e| anyhow!("{e}"))?;
    let name = config
        .get("name")
        .cloned()
        .ok_or_else(|| anyhow!("'{}' has no 'name'", file.display()))?;
    let map = config
        .into_iter()
        .map(|(k, v)| (k, Json::String(v)))
        .collect();
    Ok((name, map))
}

fn print_status(status: &Json) {
    let connector = status.get("connector").cloned().unwrap_or(Json::Null);
    out(format_args!(
        "Connector {} ({}): {} on {}",
        str_of(status, "name"),
        str_of(status, "type"),
        str_of(&connector, "state"),
        str_of(&connector, "worker_id"),
    ));
    if let Some(trace) = connector.get("trace").and_then(Json::as_str) {
        out(format_args!("  error: {}", first_line(trace)));
    }
    let tasks = status
        .get("tasks")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    if tasks.is_empty() {
        out(format_args!("No tasks."));
        return;
    }
    let (header, rows) = task_table(&tasks);
    table(&header, &rows);
}

/// The task rows of a status: id, state, worker, error. Sluice's additions are shown when
/// the answer carries them: a RESTARTS column (automatic restarts in a row) when any task
/// has one, and `STALLED` after the state of a stalled task.
fn task_table(tasks: &[Json]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let restarts = |t: &Json| t.get("restarts").and_then(Json::as_u64).unwrap_or(0);
    let with_restarts = tasks.iter().any(|t| restarts(t) > 0);
    let rows = tasks
        .iter()
        .map(|t| {
            let mut state = str_of(t, "state").to_string();
            if t.get("stalled").and_then(Json::as_bool) == Some(true) {
                state.push_str(" STALLED");
            }
            let mut row = vec![
                t.get("id").map(|i| i.to_string()).unwrap_or_default(),
                state,
                str_of(t, "worker_id").to_string(),
            ];
            if with_restarts {
                row.push(restarts(t).to_string());
            }
            row.push(
                t.get("trace")
                    .and_then(Json::as_str)
                    .map(first_line)
                    .unwrap_or("")
                    .to_string(),
            );
            row
        })
        .collect();
    let header = if with_restarts {
        vec!["TASK", "STATE", "WORKER", "RESTARTS", "ERROR"]
    } else {
        vec!["TASK", "STATE", "WORKER", "ERROR"]
    };
    (header, rows)
}

fn print_config(config: &Json) {
    if let Some(map) = config.as_object() {
        let rows: Vec<Vec<String>> = map
            .iter()
            .map(|(k, v)| vec![k.clone(), v.as_str().unwrap_or("").to_string()])
            .collect();
        table(&["KEY", "VALUE"], &rows);
    }
}

async fn execute(args: &ClientArgs, command: ConnectorsCommand) -> Result<std::process::ExitCode> {
    use std::process::ExitCode;
    let client = Client::new(args)?;
    let json = args.json;
    match command {
        ConnectorsCommand::List { expand } => {
            let mut query: Vec<&str> = expand
                .iter()
                .map(|e| match e {
                    Expand::Status => "expand=status",
                    Expand::Info => "expand=info",
                })
                .collect();
            if json {
                let path = if query.is_empty() {
                    "/connectors".to_string()
                } else {
                    format!("/connectors?{}", query.join("&"))
                };
                print_json(&client.call(Method::GET, &path, None).await?.body);
                return Ok(ExitCode::SUCCESS);
            }
            for q in ["expand=status", "expand=info"] {
                if !query.contains(&q) {
                    query.push(q);
                }
            }
            let answer = client
                .call(
                    Method::GET,
                    &format!("/connectors?{}", query.join("&")),
                    None,
                )
                .await?;
            let Some(map) = answer.body.as_object() else {
                bail!("unexpected answer: {}", answer.body);
            };
            if map.is_empty() {
                out(format_args!("No connectors."));
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = map
                .iter()
                .map(|(name, v)| {
                    let status = v.get("status").cloned().unwrap_or(Json::Null);
                    let info = v.get("info").cloned().unwrap_or(Json::Null);
                    let tasks = status
                        .get("tasks")
                        .and_then(Json::as_array)
                        .cloned()
                        .unwrap_or_default();
                    let running = tasks
                        .iter()
                        .filter(|t| str_of(t, "state") == "RUNNING")
                        .count();
                    let class = info
                        .get("config")
                        .map(|c| str_of(c, "connector.class"))
                        .unwrap_or("");
                    vec![
                        name.clone(),
                        str_of(&info, "type").to_string(),
                        status
                            .get("connector")
                            .map(|c| str_of(c, "state"))
                            .unwrap_or("")
                            .to_string(),
                        format!("{running}/{}", tasks.len()),
                        class.to_string(),
                    ]
                })
                .collect();
            table(&["NAME", "TYPE", "STATE", "TASKS RUNNING", "CLASS"], &rows);
        }
        ConnectorsCommand::Create {
            file,
            initial_state,
        } => {
            let (name, config) = load_file(&file)?;
            let mut body = json!({"name": name, "config": config});
            if let Some(s) = initial_state {
                body["initial_state"] = Json::String(
                    match s {
                        InitialState::Running => "RUNNING",
                        InitialState::Paused => "PAUSED",
                        InitialState::Stopped => "STOPPED",
                    }
                    .into(),
                );
            }
            let answer = client
                .call(Method::POST, "/connectors", Some(&body))
                .await?;
            if json {
                print_json(&answer.body);
            } else {
                out(format_args!(
                    "Created {} connector {name}.",
                    str_of(&answer.body, "type")
                ));
            }
        }
        ConnectorsCommand::Update { file } => {
            let (name, config) = load_file(&file)?;
            let answer = client
                .call(
                    Method::PUT,
                    &connector_path(&name, "/config"),
                    Some(&Json::Object(config)),
                )
                .await?;
            if json {
                print_json(&answer.body);
            } else if answer.status == StatusCode::CREATED {
                out(format_args!("Created connector {name}."));
            } else {
                out(format_args!(
                    "Updated connector {name}; its tasks restart with the new config."
                ));
            }
        }
        ConnectorsCommand::Get { name } => {
            let answer = client
                .call(Method::GET, &connector_path(&name, ""), None)
                .await?;
            if json {
                print_json(&answer.body);
            } else {
                let tasks = answer
                    .body
                    .get("tasks")
                    .and_then(Json::as_array)
                    .map_or(0, Vec::len);
                out(format_args!(
                    "Connector {name} ({}), {tasks} task{}.",
                    str_of(&answer.body, "type"),
                    if tasks == 1 { "" } else { "s" }
                ));
                print_config(answer.body.get("config").unwrap_or(&Json::Null));
            }
        }
        ConnectorsCommand::Config { name } => {
            let answer = client
                .call(Method::GET, &connector_path(&name, "/config"), None)
                .await?;
            if json {
                print_json(&answer.body);
            } else {
                print_config(&answer.body);
            }
        }
        ConnectorsCommand::Status { name } => {
            let answer = client
                .call(Method::GET, &connector_path(&name, "/status"), None)
                .await?;
            if json {
                print_json(&answer.body);
            } else {
                print_status(&answer.body);
            }
        }
        ConnectorsCommand::Pause { name } => {
            client
                .call(Method::PUT, &connector_path(&name, "/pause"), None)
                .await?;
            out(format_args!("Pausing connector {name}."));
        }
        ConnectorsCommand::Resume { name } => {
            client
                .call(Method::PUT, &connector_path(&name, "/resume"), None)
                .await?;
            out(format_args!("Resuming connector {name}."));
        }
        ConnectorsCommand::Stop { name } => {
            client
                .call(Method::PUT, &connector_path(&name, "/stop"), None)
                .await?;
            out(format_args!("Stopped connector {name}."));
        }
        ConnectorsCommand::Restart {
            name,
            include_tasks,
            only_failed,
            task,
        } => {
            if let Some(task) = task {
                client
                    .call(
                        Method::POST,
                        &connector_path(&name, &format!("/tasks/{task}/restart")),
                        None,
                    )
                    .await?;
                out(format_args!("Restarted task {task} of connector {name}."));
                return Ok(ExitCode::SUCCESS);
            }
            let path = connector_path(
                &name,
                &format!("/restart?includeTasks={include_tasks}&onlyFailed={only_failed}"),
            );
            let answer = client.call(Method::POST, &path, None).await?;
            if json && !answer.body.is_null() {
                print_json(&answer.body);
            } else if answer.body.is_null() {
                out(format_args!("Restarted connector {name}."));
            } else {
                out(format_args!("Restarting (status when the restart began):"));
                print_status(&answer.body);
            }
        }
        ConnectorsCommand::Delete { name } => {
            client
                .call(Method::DELETE, &connector_path(&name, ""), None)
                .await?;
            out(format_args!("Deleted connector {name}."));
        }
        ConnectorsCommand::Offsets { command } => match command {
            OffsetsCommand::Get { name } => {
                let answer = client
                    .call(Method::GET, &connector_path(&name, "/offsets"), None)
                    .await?;
                if json {
                    print_json(&answer.body);
                } else {
                    let offsets = answer
                        .body
                        .get("offsets")
                        .and_then(Json::as_array)
                        .cloned()
                        .unwrap_or_default();
                    if offsets.is_empty() {
                        out(format_args!("No offsets."));
                    } else {
                        let rows: Vec<Vec<String>> = offsets
                            .iter()
                            .map(|o| {
                                vec![
                                    o.get("partition").map(Json::to_string).unwrap_or_default(),
                                    o.get("offset").map(Json::to_string).unwrap_or_default(),
                                ]
                            })
                            .collect();
                        table(&["PARTITION", "OFFSET"], &rows);
                    }
                }
            }
            OffsetsCommand::Alter { name, file } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read '{}'", file.display()))?;
                let body: Json = serde_json::from_str(&text)
                    .with_context(|| format!("'{}' is not valid JSON", file.display()))?;
                let answer = client
                    .call(
                        Method::PATCH,
                        &connector_path(&name, "/offsets"),
                        Some(&body),
                    )
                    .await?;
                print_message(&answer.body, json);
            }
            OffsetsCommand::Reset { name } => {
                let answer = client
                    .call(Method::DELETE, &connector_path(&name, "/offsets"), None)
                    .await?;
                print_message(&answer.body, json);
            }
        },
        ConnectorsCommand::Validate { file } => {
            let config = load_connector_config(&file).map_err(|e| anyhow!("{e}"))?;
            let class = config
                .get("connector.class")
                .cloned()
                .ok_or_else(|| anyhow!("'{}' has no 'connector.class'", file.display()))?;
            let body: Map<String, Json> = config
                .into_iter()
                .map(|(k, v)| (k, Json::String(v)))
                .collect();
            let path = format!("/connector-plugins/{}/config/validate", segment(&class));
            let answer = client
                .call(Method::PUT, &path, Some(&Json::Object(body)))
                .await?;
            let errors = answer
                .body
                .get("error_count")
                .and_then(Json::as_u64)
                .unwrap_or(0);
            if json {
                print_json(&answer.body);
            } else if errors == 0 {
                out(format_args!("'{}' is valid.", file.display()));
            } else {
                out(format_args!(
                    "'{}' has {errors} error{}:",
                    file.display(),
                    if errors == 1 { "" } else { "s" }
                ));
                let configs = answer
                    .body
                    .get("configs")
                    .and_then(Json::as_array)
                    .cloned()
                    .unwrap_or_default();
                for c in configs {
                    let value = c.get("value").cloned().unwrap_or(Json::Null);
                    for e in value
                        .get("errors")
                        .and_then(Json::as_array)
                        .cloned()
                        .unwrap_or_default()
                    {
                        out(format_args!(
                            "  {}: {}",
                            str_of(&value, "name"),
                            e.as_str().unwrap_or("")
                        ));
                    }
                }
            }
            if errors > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_message(body: &Json, json: bool) {
    if json {
        print_json(body);
    } else {
        out(format_args!("{}", str_of(body, "message")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> Result<Client> {
        Client::new(&ClientArgs {
            url: Some(url.to_string()),
            user: None,
            json: false,
            cacert: None,
            insecure: false,
        })
    }

    #[test]
    fn users_become_a_basic_authorization_header() {
        let c = Client::new(&ClientArgs {
            url: None,
            user: Some("admin:pa:ss".into()),
            json: false,
            cacert: None,
            insecure: false,
        })
        .unwrap();
        assert_eq!(c.authorization.as_deref(), Some("Basic YWRtaW46cGE6c3M="));
        let bad = Client::new(&ClientArgs {
            url: None,
            user: Some("admin".into()),
            json: false,
            cacert: None,
            insecure: false,
        });
        assert!(bad.err().unwrap().to_string().contains("USER:PASSWORD"));
    }

    #[test]
    fn urls_give_host_port_and_prefix() {
        let c = client("http://127.0.0.1:8083").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.prefix.as_str()),
            ("127.0.0.1", 8083, "")
        );
        let c = client("http://worker:9000/connect/").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.prefix.as_str()),
            ("worker", 9000, "/connect")
        );
        let c = client("http://[::1]:8083").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 8083));
        assert_eq!(client("http://h").unwrap().port, 80);
        let c = Client::new(&ClientArgs {
            url: Some("https://h".into()),
            user: None,
            json: false,
            cacert: None,
            insecure: true,
        })
        .unwrap();
        assert_eq!(c.port, 443);
        assert!(c.tls.is_some());
        assert!(client("http://h:1").unwrap().tls.is_none());
        assert!(client("ftp://h:1").is_err());
        assert!(client("http://h:x").is_err());
    }

    #[test]
    fn task_rows_show_restarts_and_stalls_only_when_the_status_has_them() {
        let plain = [json!({"id": 0, "state": "RUNNING", "worker_id": "127.0.0.1:8083"})];
        assert_eq!(
            task_table(&plain),
            (
                vec!["TASK", "STATE", "WORKER", "ERROR"],
                vec![vec![
                    "0".to_string(),
                    "RUNNING".into(),
                    "127.0.0.1:8083".into(),
                    String::new()
                ]]
            )
        );
        let troubled = [
            json!({"id": 0, "state": "RUNNING", "worker_id": "w:1", "restarts": 3, "stalled": true}),
            json!({"id": 1, "state": "RESTARTING", "worker_id": "w:1", "restarts": 1,
                   "trace": "org.apache.kafka.connect.errors.ConnectException: down\nCaused by: x"}),
            json!({"id": 2, "state": "RUNNING", "worker_id": "w:1"}),
        ];
        let (header, rows) = task_table(&troubled);
        assert_eq!(header, ["TASK", "STATE", "WORKER", "RESTARTS", "ERROR"]);
        assert_eq!(rows[0], ["0", "RUNNING STALLED", "w:1", "3", ""]);
        assert_eq!(
            rows[1],
            [
                "1",
                "RESTARTING",
                "w:1",
                "1",
                "org.apache.kafka.connect.errors.ConnectException: down"
            ]
        );
        assert_eq!(rows[2], ["2", "RUNNING", "w:1", "0", ""]);
    }

    #[test]
    fn names_are_encoded_in_paths() {
        assert_eq!(
            connector_path("a b/c", "/status"),
            "/connectors/a%20b%2Fc/status"
        );
    }
}

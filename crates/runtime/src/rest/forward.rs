//! Forwarding REST requests to the worker that must serve them, in a distributed group.
//!
//! Any worker of a group accepts every request, but some may only run on the leader (it
//! alone writes connector configs, target STOPPED, restart plans and offsets changes), and
//! a plain restart only where the connector or task runs. [`forward`], a middleware on the
//! router, asks the herder where a request must run ([`Herder::leader_url`],
//! [`Herder::owner_url`]); when that is another worker it sends the request there and relays
//! the answer (status, `Content-Type`, `Location` and body) as it came, so the client cannot
//! tell. Kafka Connect routes the same requests:
//!
//! | request | runs on |
//! | --- | --- |
//! | `POST /connectors`, `PUT`/`PATCH /connectors/{name}/config`, `DELETE /connectors/{name}`, `PUT /connectors/{name}/stop`, `PATCH`/`DELETE /connectors/{name}/offsets`, `POST /connectors/{name}/restart` with `includeTasks` or `onlyFailed` | the leader |
//! | `POST /connectors/{name}/restart` (plain), `POST /connectors/{name}/tasks/{task}/restart` | the worker running it (a follower sends it to the leader, which passes it on) |
//! | everything else: reads, pause, resume, validation, loggers | the worker asked |
//!
//! The hidden `forward` query parameter bounds the hops. A client's request has none; the
//! first worker forwards it with `forward=true`, which allows one more hop (follower ->
//! leader -> owner), sent with `forward=false`. A request with `forward=false` that would
//! need forwarding again is answered 409: the assignment changed on the way. Other query
//! parameters, the body, `Content-Type` and `Authorization` travel unchanged.
//!
//! The client is hyper's HTTP/1 connection on Tokio, one connection per forwarded request
//! (they are config changes and restarts: rare). A worker that cannot be reached, or does
//! not answer within the request timeout, gives 500
//! `IO Error trying to forward REST request: ...` naming the url.
//!
//! A worker advertising an `https://` url is reached over TLS (rustls, with the `tls`
//! feature), with the worker's `listeners.https.ssl.*` / `ssl.*` settings as Kafka's REST
//! client uses them ([`ForwardClient`], [`super::tls::client_config`]): the truststore the
//! peer's certificate must chain to, the host name check
//! (`ssl.endpoint.identification.algorithm`), and the keystore as the client certificate
//! for workers that require one. They are loaded for each request to an https worker, so a
//! renewed certificate is used without a restart; settings that cannot be used give 500
//! naming the key. A failed handshake is an IO error like a refused connection.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, LOCATION};
use axum::http::{response, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::error::ApiError;
use super::request::{query_bool, query_pairs, query_values};
use super::tls::TlsSettings;
use super::RestState;
use crate::herder::Herder;

/// The query parameter that counts the hops of a forwarded request.
pub const FORWARD_PARAM: &str = "forward";

/// 409: a request that already made its last hop would need another one.
pub const CONFLICTING_OPERATION: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";

/// 409: a follower does not know its leader (or the leader does not know the owner) yet.
pub const NO_KNOWN_LEADER: &str = "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.";

/// How long a forwarded request may take: a herder operation's timeout (90 s, as Kafka's).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(90);

/// The largest request body forwarded: the handlers' own limit (axum's default).
const MAX_REQUEST_BODY: usize = 2 * 1024 * 1024;

/// The largest answer relayed.
const MAX_ANSWER_BODY: usize = 64 * 1024 * 1024;

/// The worker a request must run on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Placement {
    /// The group leader.
    Leader,
    /// The worker running this connector instance (`task` `None`) or task.
    Owner {
        /// The connector's name.
        connector: String,
        /// The task number.
        task: Option<u32>,
    },
}

/// Where a request must run; `None` when any worker serves it.
fn placement(method: &Method, path: &str, query: &[(String, String)]) -> Option<Placement> {
    let rest = path.strip_prefix("/connectors")?;
    let segments: Vec<&str> = match rest {
        "" => Vec::new(),
        _ => rest.strip_prefix('/')?.split('/').collect(),
    };
    let leader = Some(Placement::Leader);
    let owner = |name: &str, task| {
        Some(Placement::Owner {
            connector: decode_segment(name),
            task,
        })
    };
    match (method.as_str(), segments.as_slice()) {
        ("POST", []) => leader,
        ("DELETE", [_]) => leader,
        ("PUT" | "PATCH", [_, "config"]) => leader,
        ("PUT", [_, "stop"]) => leader,
        ("PATCH" | "DELETE", [_, "offsets"]) => leader,
        ("POST", [name, "restart"]) => {
            if query_bool(query, "includeTasks", false) || query_bool(query, "onlyFailed", false) {
                leader
            } else {
                owner(name, None)
            }
        }
        // A task number that does not parse is the local handler's to reject.
        ("POST", [name, "tasks", task, "restart"]) => owner(name, Some(task.parse().ok()?)),
        _ => None,
    }
}

/// A path segment, percent-decoded (`+` stays, as in paths).
fn decode_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a worker reaches other workers: the TLS client settings used for `https://` urls.
#[derive(Debug, Clone, Default)]
pub struct ForwardClient {
    tls: TlsSettings,
}

impl ForwardClient {
    /// A client with these TLS settings (the worker's `listeners.https.ssl.*` / `ssl.*`).
    pub fn new(tls: TlsSettings) -> ForwardClient {
        ForwardClient { tls }
    }
}

/// What the forwarding middleware needs: where requests run, and how to reach workers.
#[derive(Clone)]
pub struct ForwardState {
    /// The REST state; its herder says where requests run.
    pub rest: RestState,
    /// The client to other workers.
    pub client: std::sync::Arc<ForwardClient>,
}

/// The leader's url when the request must go there; `None` on the leader or alone.
fn leader(herder: &dyn Herder) -> Result<Option<String>, ApiError> {
    match herder.leader_url() {
        Some(url) if url.is_empty() => Err(ApiError::new(StatusCode::CONFLICT, NO_KNOWN_LEADER)),
        url => Ok(url),
    }
}

/// The worker to send the request to, or `None` to serve it here.
fn destination(herder: &dyn Herder, placement: &Placement) -> Result<Option<String>, ApiError> {
    match placement {
        Placement::Leader => leader(herder),
        Placement::Owner { connector, task } => {
            let Some(owner) = herder.owner_url(connector, *task) else {
                return Ok(None);
            };
            match leader(herder)? {
                Some(leader) => Ok(Some(leader)),
                None if owner.is_empty() => {
                    Err(ApiError::new(StatusCode::CONFLICT, NO_KNOWN_LEADER))
                }
                None => Ok(Some(owner)),
            }
        }
    }
}

/// The middleware: serves a request here, or forwards it to the worker that must serve it
/// (see the module docs).
pub async fn forward(State(state): State<ForwardState>, request: Request, next: Next) -> Response {
    let pairs = query_pairs(request.uri().query());
    let Some(placement) = placement(request.method(), request.uri().path(), &pairs) else {
        return next.run(request).await;
    };
    let url = match destination(state.rest.herder.as_ref(), &placement) {
        Ok(None) => return next.run(request).await,
        Ok(Some(url)) => url,
        Err(e) => return e.into_response(),
    };
    // Kafka's Boolean parsing: anything but `true` is false.
    let next_hop = match query_values(&pairs, FORWARD_PARAM).first() {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("true") => false,
        Some(_) => {
            tracing::warn!(
                method = %request.method(),
                path = request.uri().path(),
                "A forwarded REST request would need a third hop; the group is rebalancing."
            );
            return ApiError::new(StatusCode::CONFLICT, CONFLICTING_OPERATION).into_response();
        }
    };
    match send(&state.client, &url, request, next_hop).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// A worker's REST base url, split for the client.
#[derive(Debug, PartialEq, Eq)]
struct WorkerUrl {
    /// Whether it is `https://`.
    tls: bool,
    /// The host, without brackets (the name its certificate must have).
    host: String,
    /// `host:port` as written (the `Host` header).
    authority: String,
    /// `host:port` with the default port added (what to connect to).
    address: String,
    /// The path prefix without its trailing slash (usually empty).
    prefix: String,
}

impl WorkerUrl {
    fn parse(url: &str) -> Result<WorkerUrl, ApiError> {
        let invalid = |why: &str| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Error trying to forward REST request: the worker url '{url}' {why}"),
            )
        };
        let (tls, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (false, rest),
            (None, Some(rest)) => (true, rest),
            (None, None) => return Err(invalid("does not start with http:// or https://")),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(invalid("has no host"));
        }
        let (host, has_port) = match authority.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((host, after)) => (host, after.starts_with(':')),
                None => return Err(invalid("has an unclosed '[' in its host")),
            },
            None => match authority.split_once(':') {
                Some((host, _)) => (host, true),
                None => (authority, false),
            },
        };
        let address = match (has_port, tls) {
            (true, _) => authority.to_string(),
            (false, false) => format!("{authority}:80"),
            (false, true) => format!("{authority}:443"),
        };
        Ok(WorkerUrl {
            tls,
            host: host.to_string(),
            authority: authority.to_string(),
            address,
            prefix: prefix.to_string(),
        })
    }
}

/// The query of the forwarded request: the client's parameters, with `forward` set for the
/// next hop.
fn forwarded_query(raw: Option<&str>, next_hop: bool) -> String {
    let mut query: Vec<&str> = raw
        .unwrap_or("")
        .split('&')
        .filter(|p| {
            !p.is_empty()
                && query_pairs(Some(p))
                    .first()
                    .is_none_or(|(k, _)| k != FORWARD_PARAM)
        })
        .collect();
    let forward = format!("{FORWARD_PARAM}={next_hop}");
    query.push(&forward);
    query.join("&")
}

/// Why a forwarded request got no answer.
#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error("cannot connect: {0}")]
    Connect(#[source] std::io::Error),
    #[cfg(feature = "tls")]
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] std::io::Error),
    #[error("{0}")]
    Http(#[source] hyper::Error),
    #[error("reading the answer failed: {0}")]
    Answer(#[source] axum::Error),
    #[error("no answer within {} s", FORWARD_TIMEOUT.as_secs())]
    Timeout,
}

/// How to secure a connection to a worker.
enum Transport {
    /// Plain TCP (`http://`).
    Plain,
    /// TLS with this configuration, checking the certificate against this name.
    #[cfg(feature = "tls")]
    Tls(
        std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
        tokio_rustls::rustls::pki_types::ServerName<'static>,
    ),
}

impl Transport {
    /// The transport to `target`: TLS with the client's settings for https.
    fn to(client: &ForwardClient, target: &WorkerUrl, url: &str) -> Result<Transport, ApiError> {
        if !target.tls {
            return Ok(Transport::Plain);
        }
        let failed = |why: String| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Error trying to forward REST request to {url}: {why}"),
            )
        };
        #[cfg(feature = "tls")]
        {
            let config =
                super::tls::client_config(&client.tls).map_err(|e| failed(e.to_string()))?;
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| failed(format!("'{}' is not a host name: {e}", target.host)))?;
            Ok(Transport::Tls(config, name))
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = &client.tls;
            Err(failed(
                "the worker is https, and this build has no TLS client (the 'tls' feature of \
                 sluice-runtime)"
                    .into(),
            ))
        }
    }
}

/// Sends one request to another worker and returns its answer's head and body.
async fn exchange(
    address: &str,
    transport: Transport,
    request: hyper::Request<Body>,
) -> Result<(response::Parts, Bytes), ExchangeError> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(ExchangeError::Connect)?;
    match transport {
        Transport::Plain => http1(stream, request).await,
        #[cfg(feature = "tls")]
        Transport::Tls(config, name) => {
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map_err(ExchangeError::Handshake)?;
            http1(stream, request).await
        }
    }
}

/// One HTTP/1 request and its whole answer on a connected stream.
async fn http1<S>(
    stream: S,
    request: hyper::Request<Body>,
) -> Result<(response::Parts, Bytes), ExchangeError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ExchangeError::Http)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "A connection to forward a REST request ended.");
        }
    });
    let answer = sender
        .send_request(request)
        .await
        .map_err(ExchangeError::Http)?;
    let (head, body) = answer.into_parts();
    let body = axum::body::to_bytes(Body::new(body), MAX_ANSWER_BODY)
        .await
        .map_err(ExchangeError::Answer)?;
    Ok((head, body))
}

/// Forwards a request to the worker at `base` and relays its answer.
async fn send(
    client: &ForwardClient,
    base: &str,
    request: Request,
    next_hop: bool,
) -> Result<Response, ApiError> {
    let target = WorkerUrl::parse(base)?;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_REQUEST_BODY)
        .await
        .map_err(|e| ApiError::bad_request(format!("Cannot read the request body: {e}")))?;
    let path_and_query = format!(
        "{}{}?{}",
        target.prefix,
        parts.uri.path(),
        forwarded_query(parts.uri.query(), next_hop)
    );
    let scheme = if target.tls { "https" } else { "http" };
    let url = format!("{scheme}://{}{path_and_query}", target.authority);
    let transport = Transport::to(client, &target, &url)?;
    let mut outgoing = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(&path_and_query)
        .header(HOST, &target.authority);
    for name in [CONTENT_TYPE, AUTHORIZATION] {
        for value in parts.headers.get_all(&name) {
            outgoing = outgoing.header(&name, value);
        }
    }
    let outgoing = outgoing.body(Body::from(body)).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Error trying to forward REST request to {url}: {e}"),
        )
    })?;
    tracing::debug!(method = %parts.method, url = %url, "Forwarding a REST request.");
    let answer = tokio::time::timeout(
        FORWARD_TIMEOUT,
        exchange(&target.address, transport, outgoing),
    )
    .await
    .unwrap_or(Err(ExchangeError::Timeout));
    let (head, body) = answer.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "IO Error trying to forward REST request: {} {url}: {e}",
                parts.method
            ),
        )
    })?;
    if head.status.is_informational() || head.status.is_redirection() {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "Unexpected status code when handling forwarded request: {} (from {url})",
                head.status.as_u16()
            ),
        ));
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = head.status;
    for name in [CONTENT_TYPE, LOCATION] {
        if let Some(value) = head.headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(method: &str, uri: &str) -> Option<Placement> {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        placement(
            &Method::from_bytes(method.as_bytes()).unwrap(),
            path,
            &query_pairs(Some(query)),
        )
    }

    fn owner(connector: &str, task: Option<u32>) -> Option<Placement> {
        Some(Placement::Owner {
            connector: connector.to_string(),
            task,
        })
    }

    #[test]
    fn writes_go_to_the_leader_and_reads_stay() {
        let leader = Some(Placement::Leader);
        for (method, uri) in [
            ("POST", "/connectors"),
            ("DELETE", "/connectors/a"),
            ("PUT", "/connectors/a/config"),
            ("PATCH", "/connectors/a/config"),
            ("PUT", "/connectors/a/stop"),
            ("PATCH", "/connectors/a/offsets"),
            ("DELETE", "/connectors/a/offsets"),
            ("POST", "/connectors/a/restart?includeTasks=true"),
            ("POST", "/connectors/a/restart?onlyFailed=TRUE&forward=true"),
        ] {
            assert_eq!(at(method, uri), leader, "{method} {uri}");
        }
        for (method, uri) in [
            ("GET", "/connectors"),
            ("GET", "/connectors/a"),
            ("GET", "/connectors/a/config"),
            ("GET", "/connectors/a/offsets"),
            ("GET", "/connectors/a/tasks"),
            ("PUT", "/connectors/a/pause"),
            ("PUT", "/connectors/a/resume"),
            ("PUT", "/connectors/a/topics/reset"),
            ("PUT", "/connector-plugins/x/config/validate"),
            ("PUT", "/admin/loggers/root"),
            ("POST", "/connectorsx"),
            ("POST", "/connectors/a/tasks/x/restart"),
        ] {
            assert_eq!(at(method, uri), None, "{method} {uri}");
        }
    }

    #[test]
    fn plain_restarts_go_where_the_work_runs() {
        assert_eq!(at("POST", "/connectors/a/restart"), owner("a", None));
        assert_eq!(
            at(
                "POST",
                "/connectors/a/restart?includeTasks=false&onlyFailed=no"
            ),
            owner("a", None)
        );
        assert_eq!(
            at("POST", "/connectors/my%20conn%2Fx+y/tasks/3/restart"),
            owner("my conn/x+y", Some(3))
        );
    }

    #[test]
    fn the_forward_parameter_is_replaced_and_the_rest_kept() {
        assert_eq!(forwarded_query(None, true), "forward=true");
        assert_eq!(
            forwarded_query(Some("includeTasks=true&forward=true&onlyFailed=1"), false),
            "includeTasks=true&onlyFailed=1&forward=false"
        );
        assert_eq!(
            forwarded_query(Some("a=%20b&&forwar%64=x"), true),
            "a=%20b&forward=true"
        );
    }

    #[test]
    fn worker_urls() {
        let url = |u: &str| {
            WorkerUrl::parse(u).map(|w| (w.tls, w.host, w.authority, w.address, w.prefix))
        };
        assert_eq!(
            url("http://127.0.0.1:8084/"),
            Ok((
                false,
                "127.0.0.1".into(),
                "127.0.0.1:8084".into(),
                "127.0.0.1:8084".into(),
                String::new()
            ))
        );
        assert_eq!(
            url("http://worker-2"),
            Ok((
                false,
                "worker-2".into(),
                "worker-2".into(),
                "worker-2:80".into(),
                String::new()
            ))
        );
        assert_eq!(
            url("http://[::1]:8083/api/"),
            Ok((
                false,
                "::1".into(),
                "[::1]:8083".into(),
                "[::1]:8083".into(),
                "/api".into()
            ))
        );
        assert_eq!(
            url("http://[::1]/").map(|u| u.3),
            Ok("[::1]:80".to_string())
        );
        assert_eq!(
            url("https://w2.example:8443/"),
            Ok((
                true,
                "w2.example".into(),
                "w2.example:8443".into(),
                "w2.example:8443".into(),
                String::new()
            ))
        );
        assert_eq!(
            url("https://[::1]").map(|u| (u.1, u.3)),
            Ok(("::1".to_string(), "[::1]:443".to_string()))
        );
        let ftp = url("ftp://w/").unwrap_err();
        assert_eq!(ftp.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(ftp.message.contains("ftp://w/"), "{}", ftp.message);
        assert!(url("http:///x").is_err());
        assert!(url("https://[::1:8443/").is_err());
    }
}

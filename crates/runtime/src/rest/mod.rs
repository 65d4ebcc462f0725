//! The Kafka Connect REST API, served by axum on Tokio.
//!
//! [`router`] builds every route from a [`RestState`], which holds the `dyn`
//! [`Herder`] that answers (standalone today, distributed later) and the [`Loggers`] behind
//! `/admin/loggers`. Handlers only translate: they read the request (query strings and JSON
//! bodies as Kafka does, see [`request`]), call the herder, and write its answer or its
//! error as `{"error_code": N, "message": "..."}` with Kafka's status ([`error`]). Bad input
//! is always a 4xx; 500 is kept for failures of the operation itself.
//!
//! [`RestServer::bind`] opens the `listeners` of the worker config (see [`config`]) before
//! the worker starts, so a busy port stops startup early and the worker knows its id
//! (`host:port`); [`RestServer::start`] then serves until [`RestHandle::stop`]. Paths are
//! matched with or without a trailing slash. With basic authentication on
//! (`rest.extension.classes`, see [`auth`]), the server checks every request's credentials
//! before routing it. In a distributed group, requests that must run on the leader or on
//! the worker running a connector are sent there ([`forward`]). `GET /metrics`
//! ([`metrics`]) renders the herder's [`crate::metrics::WorkerMetrics`] for Prometheus, and
//! `GET /openapi.json` ([`openapi`]) describes every route.

pub mod auth;
pub mod config;
mod connectors;
pub mod error;
pub mod forward;
pub mod loggers;
pub mod metrics;
pub mod openapi;
mod plugins;
pub mod request;
pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::herder::Herder;

pub use config::{rest_config_def, Listener, RestSettings};
pub use error::ApiError;
pub use loggers::{LogLevelControl, Loggers};

/// What the handlers share.
#[derive(Clone)]
pub struct RestState {
    /// Answers everything about connectors.
    pub herder: Arc<dyn Herder>,
    /// Log levels.
    pub loggers: Arc<Loggers>,
}

/// Which endpoints a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    /// Everything.
    All,
    /// Everything but `/admin`.
    Public,
    /// Only `/admin`.
    Admin,
}

async fn not_found() -> Result<Response, ApiError> {
    Err(ApiError::not_found("HTTP 404 Not Found"))
}

async fn method_not_allowed() -> Result<Response, ApiError> {
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP 405 Method Not Allowed",
    ))
}

/// The router of every endpoint.
pub fn router(state: RestState) -> Router {
    router_for(state, Endpoints::All)
}

/// The router of some endpoints (for `admin.listeners`). Requests are forwarded to https
/// workers with no TLS settings but the system's CA bundle; [`RestServer`] uses the worker's.
pub fn router_for(state: RestState, endpoints: Endpoints) -> Router {
    router_with(
        state,
        endpoints,
        Arc::new(forward::ForwardClient::default()),
    )
}

/// The router of some endpoints, forwarding with `client`.
fn router_with(
    state: RestState,
    endpoints: Endpoints,
    client: Arc<forward::ForwardClient>,
) -> Router {
    let mut r = Router::new();
    if endpoints != Endpoints::Admin {
        r = r
            .route("/", get(plugins::root))
            .route("/health", get(plugins::health))
            .route("/metrics", get(metrics::metrics))
            .route("/openapi.json", get(openapi::serve))
            .route(
                "/connectors",
                get(connectors::list).post(connectors::create),
            )
            .route(
                "/connectors/{name}",
                get(connectors::info).delete(connectors::delete),
            )
            .route(
                "/connectors/{name}/config",
                get(connectors::get_config)
                    .put(connectors::put_config)
                    .patch(connectors::patch_config),
            )
            .route("/connectors/{name}/status", get(connectors::status))
            .route("/connectors/{name}/tasks", get(connectors::tasks))
            .route(
                "/connectors/{name}/tasks-config",
                get(connectors::tasks_config),
            )
            .route(
                "/connectors/{name}/tasks/{task}/status",
                get(connectors::task_status),
            )
            .route(
                "/connectors/{name}/tasks/{task}/restart",
                axum::routing::post(connectors::restart_task),
            )
            .route(
                "/connectors/{name}/restart",
                axum::routing::post(connectors::restart),
            )
            .route("/connectors/{name}/pause", put(connectors::pause))
            .route("/connectors/{name}/resume", put(connectors::resume))
            .route("/connectors/{name}/stop", put(connectors::stop))
            .route("/connectors/{name}/topics", get(connectors::topics))
            .route(
                "/connectors/{name}/topics/reset",
                put(connectors::reset_topics),
            )
            .route(
                "/connectors/{name}/offsets",
                get(connectors::offsets)
                    .patch(connectors::alter_offsets)
                    .delete(connectors::reset_offsets),
            )
            .route("/connector-plugins", get(plugins::list))
            .route("/connector-plugins/{plugin}/config", get(plugins::config))
            .route(
                "/connector-plugins/{plugin}/config/validate",
                put(plugins::validate),
            )
            .route_layer(axum::middleware::from_fn_with_state(
                forward::ForwardState {
                    rest: state.clone(),
                    client,
                },
                forward::forward,
            ));
    }
    if endpoints != Endpoints::Public {
        r = r.route("/admin/loggers", get(plugins::loggers)).route(
            "/admin/loggers/{logger}",
            get(plugins::logger).put(plugins::set_logger),
        );
    }
    r.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Drops a trailing slash from the path (`/connectors/` is `/connectors`), as Kafka's
/// server matches both.
fn strip_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let rebuilt = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// A failure to open a listener.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// Binding the address failed (in use, not permitted, unknown host).
    #[error("cannot listen on {address} for the REST API: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Basic authentication is on but its users cannot be read.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// An https listener's certificate, key or TLS settings cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

struct Bound {
    listener: TcpListener,
    endpoints: Endpoints,
    /// The TLS configuration of an https listener.
    #[cfg(feature = "tls")]
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

impl Bound {
    fn is_https(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        return false;
    }
}

/// Listeners opened for the REST API, not yet serving.
pub struct RestServer {
    bound: Vec<Bound>,
    auth: Option<Arc<auth::BasicAuth>>,
    advertised_host: String,
    advertised_port: u16,
    advertised_scheme: String,
    forwarding: Arc<forward::ForwardClient>,
}

/// The machine's host name, for workers that listen on every interface.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

impl RestServer {
    /// Opens every listener of the settings.
    pub async fn bind(settings: &RestSettings) -> Result<RestServer, RestError> {
        let auth = match &settings.basic_auth {
            Some(b) => Some(Arc::new(auth::BasicAuth::load(
                b.credentials_file.as_deref(),
            )?)),
            None => None,
        };
        let main_endpoints = match &settings.admin_listeners {
            None => Endpoints::All,
            Some(_) => Endpoints::Public,
        };
        let mut wanted: Vec<(&Listener, Endpoints)> = settings
            .listeners
            .iter()
            .map(|l| (l, main_endpoints))
            .collect();
        if let Some(admin) = &settings.admin_listeners {
            wanted.extend(admin.iter().map(|l| (l, Endpoints::Admin)));
        }
        let https = wanted.iter().any(|(l, _)| l.scheme == "https");
        #[cfg(feature = "tls")]
        let tls_config = match (https, &settings.tls) {
            (false, _) => None,
            (true, Some(t)) => Some(tls::server_config(t)?),
            (true, None) => Some(tls::server_config(&tls::TlsSettings::default())?),
        };
        #[cfg(not(feature = "tls"))]
        if https {
            return Err(tls::TlsError::NotBuilt.into());
        }
        let mut bound = Vec::with_capacity(wanted.len());
        for (l, endpoints) in wanted {
            let address = l.bind_address();
            let listener = TcpListener::bind(&address)
                .await
                .map_err(|source| RestError::Bind {
                    address: address.clone(),
                    source,
                })?;
            bound.push(Bound {
                listener,
                endpoints,
                #[cfg(feature = "tls")]
                tls: if l.scheme == "https" {
                    tls_config.clone()
                } else {
                    None
                },
            });
        }
        let first = settings.listeners.first();
        let first_port = bound
            .first()
            .and_then(|b| b.listener.local_addr().ok())
            .map_or(0, |a| a.port());
        let advertised_host = settings.advertised_host.clone().unwrap_or_else(|| {
            match first.map(|l| l.host.as_str()) {
                None | Some("") | Some("0.0.0.0") | Some("::") => host_name(),
                Some(h) => h.to_string(),
            }
        });
        Ok(RestServer {
            bound,
            auth,
            advertised_host,
            advertised_port: settings.advertised_port.unwrap_or(first_port),
            advertised_scheme: settings
                .advertised_listener
                .clone()
                .or_else(|| first.map(|l| l.scheme.clone()))
                .unwrap_or_else(|| "http".to_string()),
            forwarding: Arc::new(forward::ForwardClient::new(settings.forward_tls.clone())),
        })
    }

    /// The addresses actually bound.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.bound
            .iter()
            .filter_map(|b| b.listener.local_addr().ok())
            .collect()
    }

    /// This worker's id: advertised `host:port`.
    pub fn worker_id(&self) -> String {
        if self.advertised_host.contains(':') {
            format!("[{}]:{}", self.advertised_host, self.advertised_port)
        } else {
            format!("{}:{}", self.advertised_host, self.advertised_port)
        }
    }

    /// The URL other workers and clients use for this one.
    pub fn advertised_url(&self) -> String {
        format!("{}://{}/", self.advertised_scheme, self.worker_id())
    }

    /// Serves the API on every listener until [`RestHandle::stop`].
    pub fn start(self, state: RestState) -> RestHandle {
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = Vec::with_capacity(self.bound.len());
        for b in self.bound {
            let addr = b.listener.local_addr().ok();
            let mut app = router_with(state.clone(), b.endpoints, self.forwarding.clone());
            if let Some(users) = &self.auth {
                app = auth::require(app, users.clone());
            }
            let app = tower::ServiceExt::map_request(app, strip_trailing_slash);
            let make = axum::ServiceExt::<Request>::into_make_service(app);
            let mut rx = rx.clone();
            if let Some(addr) = addr {
                let what = match b.endpoints {
                    Endpoints::All => "REST API",
                    Endpoints::Public => "REST API (without /admin)",
                    Endpoints::Admin => "REST admin endpoints",
                };
                let scheme = if b.is_https() { "https" } else { "http" };
                tracing::info!(address = %addr, "{what} listening on {scheme}://{addr}");
            }
            let stopped = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            #[cfg(feature = "tls")]
            if let Some(config) = b.tls {
                tasks.push(tokio::spawn(async move {
                    let listener = tls::TlsListener::new(b.listener, config)?;
                    axum::serve(listener, make)
                        .with_graceful_shutdown(stopped)
                        .await
                }));
                continue;
            }
            tasks.push(tokio::spawn(async move {
                axum::serve(b.listener, make)
                    .with_graceful_shutdown(stopped)
                    .await
            }));
        }
        RestHandle { shutdown, tasks }
    }
}

/// Serving listeners.
pub struct RestHandle {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<io::Result<()>>>,
}

/// How long open requests get to finish when the server stops.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl RestHandle {
    /// Stops accepting requests and waits (briefly) for those in progress.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for mut task in self.tasks {
            match tokio::time::timeout(STOP_GRACE, &mut task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "The REST server failed."),
                Ok(Err(e)) => tracing::warn!(error = %e, "The REST server task failed."),
                Err(_) => task.abort(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slashes_are_dropped() {
        let req = |uri: &str| {
            strip_trailing_slash(
                Request::builder()
                    .uri(uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .uri()
            .to_string()
        };
        assert_eq!(req("/connectors/"), "/connectors");
        assert_eq!(
            req("/connectors/a//?expand=status"),
            "/connectors/a?expand=status"
        );
        assert_eq!(req("/"), "/");
        assert_eq!(req("/connectors"), "/connectors");
    }
}

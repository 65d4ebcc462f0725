//! A small asynchronous Kafka protocol connection, over plain TCP or TLS ([`GroupTls`]).
//!
//! Each request is a frame: an `i32` size, the request header (its version depends on the API
//! and version, as Kafka's message specs say) and the body. Responses carry the request's
//! correlation id, so several requests can be in flight on one connection (a heartbeat while a
//! JoinGroup waits, a LeaveGroup while anything waits). A writer task sends whole frames and a
//! reader task hands each response to its waiting caller; a caller that gives up (a dropped
//! future) does not break the framing. The first request is ApiVersions, whose answer decides
//! the version of every later request. With TLS, the handshake runs right after the TCP
//! connect, bounded by the request timeout; a certificate the client does not trust ends in
//! [`GroupError::Tls`] naming rustls' reason. With SASL ([`GroupSasl`]), the connection
//! authenticates after ApiVersions (SaslHandshake, then SaslAuthenticate requests), and again
//! before the session lifetime the broker announced ends; a refusal ends in
//! [`GroupError::Authentication`] with the broker's reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, OffsetDeleteRequest,
    OffsetDeleteResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse, SyncGroupRequest,
    SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::sasl::{self, Exchange, GroupSasl};
use super::tls::GroupTls;
use super::GroupError;

/// Largest response frame accepted (group responses are small; this guards against garbage).
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// The highest FindCoordinator version this client fills in (4: several keys per request).
const FIND_COORDINATOR_MAX: i16 = 4;

/// Error code UNSUPPORTED_VERSION, answered to an ApiVersions version the broker does not know.
const UNSUPPORTED_VERSION: i16 = 35;

/// Error code UNSUPPORTED_SASL_MECHANISM: the broker does not offer the mechanism asked for.
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;

/// A request this connection can send, with its response type.
///
/// (`kafka-protocol`'s own `Request` trait needs its `broker` feature as well; this crate only
/// encodes requests and decodes responses.)
pub trait Request: Message + Encodable + HeaderVersion {
    /// The API key.
    const KEY: i16;
    /// The response.
    type Response: Decodable + HeaderVersion;
}

macro_rules! requests {
    ($($req:ty => $resp:ty, $key:ident;)*) => {
        $(impl Request for $req {
            const KEY: i16 = ApiKey::$key as i16;
            type Response = $resp;
        })*
    };
}

requests! {
    ApiVersionsRequest => ApiVersionsResponse, ApiVersions;
    FindCoordinatorRequest => FindCoordinatorResponse, FindCoordinator;
    JoinGroupRequest => JoinGroupResponse, JoinGroup;
    SyncGroupRequest => SyncGroupResponse, SyncGroup;
    HeartbeatRequest => HeartbeatResponse, Heartbeat;
    LeaveGroupRequest => LeaveGroupResponse, LeaveGroup;
    OffsetDeleteRequest => OffsetDeleteResponse, OffsetDelete;
    SaslHandshakeRequest => SaslHandshakeResponse, SaslHandshake;
    SaslAuthenticateRequest => SaslAuthenticateResponse, SaslAuthenticate;
}

type Pending = Arc<Mutex<HashMap<i32, oneshot::Sender<Bytes>>>>;

/// A connection to one broker.
pub struct Connection {
    addr: String,
    client_id: StrBytes,
    frames: mpsc::UnboundedSender<Bytes>,
    pending: Pending,
    next_correlation: AtomicI32,
    versions: HashMap<i16, (i16, i16)>,
    request_timeout: Duration,
    tasks: [JoinHandle<()>; 2],
    /// SASL settings, kept to authenticate again when the session lifetime runs out.
    sasl: Option<GroupSasl>,
    /// When the SASL session must be renewed (`None`: never).
    reauthenticate_at: Mutex<Option<Instant>>,
    /// Held while authenticating again, so concurrent requests renew the session once.
    renewing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Connection {
    /// Connects to `addr` (`host:port`), over TLS when `tls` is given, asks for the broker's
    /// API versions and, when `sasl` is given, authenticates.
    pub async fn connect(
        addr: &str,
        client_id: &str,
        request_timeout: Duration,
        tls: Option<&GroupTls>,
        sasl: Option<&GroupSasl>,
    ) -> Result<Self, GroupError> {
        let stream = tokio::time::timeout(request_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_elapsed| GroupError::Timeout {
                api: "connect",
                addr: addr.to_owned(),
                timeout: request_timeout,
            })?
            .map_err(|source| GroupError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        stream
            .set_nodelay(true)
            .map_err(|source| GroupError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        let (mut reader, mut writer): (
            Box<dyn AsyncRead + Send + Unpin>,
            Box<dyn AsyncWrite + Send + Unpin>,
        ) = match tls {
            None => {
                let (r, w) = stream.into_split();
                (Box::new(r), Box::new(w))
            }
            Some(tls) => {
                let stream = tokio::time::timeout(request_timeout, tls.handshake(addr, stream))
                    .await
                    .map_err(|_elapsed| GroupError::Timeout {
                        api: "TLS handshake",
                        addr: addr.to_owned(),
                        timeout: request_timeout,
                    })?
                    .map_err(|source| GroupError::Tls {
                        addr: addr.to_owned(),
                        source,
                    })?;
                let (r, w) = tokio::io::split(stream);
                (Box::new(r), Box::new(w))
            }
        };
        let (frames, mut outgoing) = mpsc::unbounded_channel::<Bytes>();
        let pending: Pending = Arc::default();

        let write_task = tokio::spawn(async move {
            while let Some(frame) = outgoing.recv().await {
                // TLS buffers records: flush each frame (a no-op on plain TCP).
                if writer.write_all(&frame).await.is_err() || writer.flush().await.is_err() {
                    break;
                }
            }
        });
        let read_pending = pending.clone();
        let read_addr = addr.to_owned();
        let read_task = tokio::spawn(async move {
            if let Err(e) = read_loop(&mut *reader, &read_pending).await {
                tracing::debug!(broker = %read_addr, error = %e, "Kafka connection closed");
            }
            // Dropping the senders tells every waiting caller that the connection is gone.
            if let Ok(mut map) = read_pending.lock() {
                map.clear();
            }
        });

        let mut conn = Connection {
            addr: addr.to_owned(),
            client_id: StrBytes::from_string(client_id.to_owned()),
            frames,
            pending,
            next_correlation: AtomicI32::new(0),
            versions: HashMap::new(),
            request_timeout,
            tasks: [write_task, read_task],
            sasl: sasl.cloned(),
            reauthenticate_at: Mutex::new(None),
            renewing: tokio::sync::Mutex::new(()),
        };
        conn.versions = conn.api_versions().await?;
        if let Some(sasl) = sasl {
            conn.authenticate(sasl).await?;
        }
        Ok(conn)
    }

    /// Runs one SASL authentication: SaslHandshake, then the mechanism's messages in
    /// SaslAuthenticate requests. Notes when the session must be renewed.
    async fn authenticate(&self, sasl: &GroupSasl) -> Result<(), GroupError> {
        let mechanism = sasl.mechanism().name();
        let refused = |message: String| self.refused(mechanism, message);
        let version = self.version::<SaslHandshakeRequest>(1)?;
        if version < 1 {
            return Err(refused(
                "the broker only speaks SASL handshake version 0, which this client does not"
                    .into(),
            ));
        }
        let handshake =
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
        let response = self
            .send_versioned(&handshake, version, self.request_timeout)
            .await
            .map_err(|e| match e {
                GroupError::Closed { addr } => {
                    GroupError::ClosedDuringAuthentication { addr, mechanism }
                }
                e => e,
            })?;
        match response.error_code {
            0 => {}
            UNSUPPORTED_SASL_MECHANISM => {
                let offered: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
                return Err(refused(format!(
                    "the broker does not offer this mechanism (sasl.mechanism); it offers: {}",
                    offered.join(", ")
                )));
            }
            code => return Err(GroupError::response("SaslHandshake", code)),
        }
        let version = self.version::<SaslAuthenticateRequest>(2)?;
        let exchange = sasl.exchange().map_err(|e| refused(e.0))?;
        let last = match exchange {
            Exchange::Plain { message } => self.sasl_step(message, version, mechanism).await?,
            Exchange::Scram(mut client) => {
                let first = self
                    .sasl_step(client.first().into_bytes(), version, mechanism)
                    .await?;
                let reply = client
                    .respond(&String::from_utf8_lossy(&first.auth_bytes))
                    .map_err(|e| refused(e.0))?;
                let last = self
                    .sasl_step(reply.into_bytes(), version, mechanism)
                    .await?;
                client
                    .verify(&String::from_utf8_lossy(&last.auth_bytes))
                    .map_err(|e| refused(e.0))?;
                last
            }
        };
        let renew =
            sasl::reauthenticate_after(last.session_lifetime_ms).map(|d| Instant::now() + d);
        if let Ok(mut at) = self.reauthenticate_at.lock() {
            *at = renew;
        }
        Ok(())
    }

    /// Sends one SASL message and returns the broker's answer, or its refusal as an error.
    async fn sasl_step(
        &self,
        message: Vec<u8>,
        version: i16,
        mechanism: &'static str,
    ) -> Result<SaslAuthenticateResponse, GroupError> {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(message));
        let response = self
            .send_versioned(&request, version, self.request_timeout)
            .await?;
        if response.error_code != 0 {
            let reason = response.error_message.as_ref().map_or_else(
                || GroupError::response("SaslAuthenticate", response.error_code).to_string(),
                |m| m.to_string(),
            );
            return Err(self.refused(mechanism, reason));
        }
        Ok(response)
    }

    /// A refused authentication with this broker.
    fn refused(&self, mechanism: &'static str, message: String) -> GroupError {
        GroupError::Authentication {
            addr: self.addr.clone(),
            mechanism,
            message,
        }
    }

    /// Authenticates again when the SASL session's lifetime is nearly over.
    async fn renew_session(&self) -> Result<(), GroupError> {
        let Some(sasl) = &self.sasl else {
            return Ok(());
        };
        let due = |conn: &Self| {
            conn.reauthenticate_at
                .lock()
                .ok()
                .and_then(|at| *at)
                .is_some_and(|at| Instant::now() >= at)
        };
        if !due(self) {
            return Ok(());
        }
        let _renewing = self.renewing.lock().await;
        if due(self) {
            tracing::debug!(broker = %self.addr, "renewing the SASL session");
            self.authenticate(sasl).await?;
        }
        Ok(())
    }

    /// Connects to the coordinator of `group` through the first of `servers` (`host:port`)
    /// that answers FindCoordinator; stops at a failure no other server can mend (an untrusted
    /// certificate, a refused login).
    pub async fn find_coordinator(
        servers: &[String],
        group: &str,
        client_id: &str,
        request_timeout: Duration,
        tls: Option<&GroupTls>,
        sasl: Option<&GroupSasl>,
    ) -> Result<Connection, GroupError> {
        let mut last = None;
        for server in servers {
            match Self::to_coordinator(server, group, client_id, request_timeout, tls, sasl).await {
                Ok(conn) => return Ok(conn),
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => {
                    tracing::debug!(server = %server, error = %e, "FindCoordinator failed");
                    last = Some(e);
                }
            }
        }
        Err(GroupError::NoBroker {
            servers: servers.join(","),
            last: Box::new(last.unwrap_or(GroupError::Stopped)),
        })
    }

    /// Connects through `server` to the coordinator of `group` (FindCoordinator), reusing the
    /// connection when `server` is the coordinator.
    async fn to_coordinator(
        server: &str,
        group: &str,
        client_id: &str,
        request_timeout: Duration,
        tls: Option<&GroupTls>,
        sasl: Option<&GroupSasl>,
    ) -> Result<Connection, GroupError> {
        let conn = Connection::connect(server, client_id, request_timeout, tls, sasl).await?;
        let version = conn.version::<FindCoordinatorRequest>(FIND_COORDINATOR_MAX)?;
        let group = StrBytes::from_string(group.to_owned());
        let mut request = FindCoordinatorRequest::default().with_key_type(0);
        if version >= 4 {
            request.coordinator_keys = vec![group];
        } else {
            request.key = group;
        }
        let response = conn.send(&request, version).await?;
        let (error_code, host, port) = if version >= 4 {
            let c = response.coordinators.first().ok_or_else(|| {
                GroupError::Protocol("FindCoordinator returned no coordinator".into())
            })?;
            (c.error_code, c.host.to_string(), c.port)
        } else {
            (
                response.error_code,
                response.host.to_string(),
                response.port,
            )
        };
        if error_code != 0 {
            return Err(GroupError::response("FindCoordinator", error_code));
        }
        let addr = format!("{host}:{port}");
        if addr == conn.addr() {
            return Ok(conn);
        }
        Connection::connect(&addr, client_id, request_timeout, tls, sasl).await
    }

    /// The broker address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    async fn api_versions(&self) -> Result<HashMap<i16, (i16, i16)>, GroupError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("sluice"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut response: ApiVersionsResponse = self
            .send_versioned(&request, 3, self.request_timeout)
            .await?;
        if response.error_code == UNSUPPORTED_VERSION {
            response = self
                .send_versioned(&ApiVersionsRequest::default(), 0, self.request_timeout)
                .await?;
        }
        if response.error_code != 0 {
            return Err(GroupError::response("ApiVersions", response.error_code));
        }
        Ok(response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect())
    }

    /// The highest version of `R` both sides support, at most `cap` (the highest version the
    /// caller knows how to fill in).
    pub fn version<R: Request>(&self, cap: i16) -> Result<i16, GroupError> {
        let (broker_min, broker_max) =
            self.versions
                .get(&R::KEY)
                .copied()
                .ok_or_else(|| GroupError::UnsupportedVersion {
                    api: api_name(R::KEY),
                    addr: self.addr.clone(),
                })?;
        let max = broker_max.min(R::VERSIONS.max).min(cap);
        let min = broker_min.max(R::VERSIONS.min);
        if max < min {
            return Err(GroupError::UnsupportedVersion {
                api: api_name(R::KEY),
                addr: self.addr.clone(),
            });
        }
        Ok(max)
    }

    /// Sends `request` as `version` and waits up to the request timeout for its response.
    pub async fn send<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, GroupError> {
        self.renew_session().await?;
        self.send_versioned(request, version, self.request_timeout)
            .await
    }

    /// Sends `request` as `version` and waits up to `timeout` for its response.
    pub async fn send_with_timeout<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, GroupError> {
        self.renew_session().await?;
        self.send_versioned(request, version, timeout).await
    }

    async fn send_versioned<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, GroupError> {
        let api = api_name(R::KEY);
        let correlation_id = self.next_correlation.fetch_add(1, Ordering::Relaxed);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let header_version = R::header_version(version);
        let mut body = BytesMut::new();
        body.put_i32(0);
        header
            .encode(&mut body, header_version)
            .map_err(|e| GroupError::codec(api, e))?;
        request
            .encode(&mut body, version)
            .map_err(|e| GroupError::codec(api, e))?;
        let size = i32::try_from(body.len() - 4).map_err(|e| GroupError::Codec {
            api,
            source: Box::new(e),
        })?;
        body[..4].copy_from_slice(&size.to_be_bytes());

        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_poisoned| GroupError::Closed {
                addr: self.addr.clone(),
            })?
            .insert(correlation_id, tx);
        let _guard = PendingGuard {
            pending: &self.pending,
            correlation_id,
        };
        if self.frames.send(body.freeze()).is_err() {
            return Err(GroupError::Closed {
                addr: self.addr.clone(),
            });
        }
        let mut frame = match tokio::time::timeout(timeout, rx).await {
            Err(_elapsed) => {
                return Err(GroupError::Timeout {
                    api,
                    addr: self.addr.clone(),
                    timeout,
                })
            }
            Ok(Err(_closed)) => {
                return Err(GroupError::Closed {
                    addr: self.addr.clone(),
                })
            }
            Ok(Ok(frame)) => frame,
        };
        // The correlation id was read by the reader; what is left is the rest of the header.
        let response_header_version = <R::Response as HeaderVersion>::header_version(version);
        if response_header_version >= 1 {
            let mut with_id = BytesMut::with_capacity(frame.len() + 4);
            with_id.put_i32(correlation_id);
            with_id.put_slice(&frame);
            let mut whole = with_id.freeze();
            ResponseHeader::decode(&mut whole, response_header_version)
                .map_err(|e| GroupError::codec(api, e))?;
            frame = whole;
        }
        R::Response::decode(&mut frame, version).map_err(|e| GroupError::codec(api, e))
    }
}

/// Removes a waiting caller's entry when it stops waiting (answer, timeout or drop).
struct PendingGuard<'a> {
    pending: &'a Pending,
    correlation_id: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.pending.lock() {
            map.remove(&self.correlation_id);
        }
    }
}

async fn read_loop(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    pending: &Pending,
) -> Result<(), std::io::Error> {
    loop {
        let size = reader.read_i32().await?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| (4..=MAX_FRAME).contains(s))
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("invalid response frame size {size}"),
                )
            })?;
        let mut buf = vec![0u8; size];
        reader.read_exact(&mut buf).await?;
        let mut frame = Bytes::from(buf);
        let correlation_id = frame.get_i32();
        let waiter = pending
            .lock()
            .map_err(|_poisoned| std::io::Error::other("pending request table poisoned"))?
            .remove(&correlation_id);
        if let Some(waiter) = waiter {
            // The caller may have given up meanwhile; its answer is then dropped.
            let _ = waiter.send(frame);
        }
    }
}

/// A readable name of an API key, for errors.
pub fn api_name(key: i16) -> &'static str {
    match ApiKey::try_from(key) {
        Ok(ApiKey::ApiVersions) => "ApiVersions",
        Ok(ApiKey::FindCoordinator) => "FindCoordinator",
        Ok(ApiKey::JoinGroup) => "JoinGroup",
        Ok(ApiKey::SyncGroup) => "SyncGroup",
        Ok(ApiKey::Heartbeat) => "Heartbeat",
        Ok(ApiKey::LeaveGroup) => "LeaveGroup",
        Ok(ApiKey::OffsetDelete) => "OffsetDelete",
        Ok(ApiKey::SaslHandshake) => "SaslHandshake",
        Ok(ApiKey::SaslAuthenticate) => "SaslAuthenticate",
        _ => "Kafka request",
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;

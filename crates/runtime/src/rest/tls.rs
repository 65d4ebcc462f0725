//! `https://` listeners and the client that forwards requests to https workers: TLS
//! settings in Kafka's key names, read from PEM.
//!
//! As in Kafka, an https listener takes its TLS settings from `listeners.https.ssl.*` keys,
//! falling back to the un-prefixed `ssl.*` keys ([`TlsSettings`]). Kafka reads JKS or
//! PKCS12 keystores; this build reads PEM, as Kafka's `ssl.keystore.type=PEM` does: the
//! certificate chain and private key either in the file of `ssl.keystore.location`, or inline
//! in `ssl.keystore.certificate.chain` and `ssl.keystore.key`. Client certificates
//! (`ssl.client.auth=requested|required`) are checked against the PEM certificates of
//! `ssl.truststore.location` or `ssl.truststore.certificates`. `ssl.enabled.protocols`
//! limits the TLS versions (TLSv1.2, TLSv1.3).
//!
//! With the `tls` feature, [`server_config`] loads everything at startup (a missing file or
//! bad content is an error naming the key), and [`TlsListener`] serves axum: it accepts TCP
//! connections and runs each handshake in its own task (bounded in time), so a slow client
//! does not hold up the others.
//!
//! A worker forwarding a request to an `https://` worker (see [`super::forward`]) is a TLS
//! client with the same keys, as Kafka's REST client is ([`client_config`]): the peer's
//! certificate must chain to the truststore's certificates (without a truststore, to the
//! system's CA bundle: `$SSL_CERT_FILE` or the usual distribution paths) and name the host
//! of the peer's url, unless `ssl.endpoint.identification.algorithm` is empty; the keystore,
//! when set, is the client certificate presented to workers with `ssl.client.auth`. The
//! client settings are loaded when a request goes to an https worker, so a worker that
//! never forwards over https is not stopped by them.
//!
//! The PEM parsing, the version list, the host name check and the client's rustls config
//! are those of `sluice_kafka::tls`, shared with the worker group connection; this module
//! keeps the REST key names and their `listeners.https.` prefix.

use std::collections::BTreeMap;

use sluice_api::config::ConfigMap;

/// The prefix of the https listeners' own keys.
pub const HTTPS_PREFIX: &str = "listeners.https.";

/// The `ssl.*` keys an https listener reads (each also with [`HTTPS_PREFIX`]).
pub const TLS_KEYS: &[&str] = &[
    KEYSTORE_TYPE,
    KEYSTORE_LOCATION,
    KEYSTORE_CERTIFICATE_CHAIN,
    KEYSTORE_KEY,
    TRUSTSTORE_TYPE,
    TRUSTSTORE_LOCATION,
    TRUSTSTORE_CERTIFICATES,
    CLIENT_AUTH,
    ENABLED_PROTOCOLS,
    ENDPOINT_IDENTIFICATION,
];

/// Key: the keystore format (`PEM`; JKS and PKCS12 are refused).
pub const KEYSTORE_TYPE: &str = "ssl.keystore.type";
/// Key: a PEM file with the certificate chain and the private key.
pub const KEYSTORE_LOCATION: &str = "ssl.keystore.location";
/// Key: the certificate chain as inline PEM.
pub const KEYSTORE_CERTIFICATE_CHAIN: &str = "ssl.keystore.certificate.chain";
/// Key: the private key as inline PEM.
pub const KEYSTORE_KEY: &str = "ssl.keystore.key";
/// Key: the truststore format (`PEM`).
pub const TRUSTSTORE_TYPE: &str = "ssl.truststore.type";
/// Key: a PEM file of the certificates client certificates must chain to.
pub const TRUSTSTORE_LOCATION: &str = "ssl.truststore.location";
/// Key: those certificates as inline PEM.
pub const TRUSTSTORE_CERTIFICATES: &str = "ssl.truststore.certificates";
/// Key: `none`, `requested` or `required`.
pub const CLIENT_AUTH: &str = "ssl.client.auth";
/// Key: the TLS versions offered (`TLSv1.2,TLSv1.3`).
pub const ENABLED_PROTOCOLS: &str = "ssl.enabled.protocols";
/// Key: `https` (the default) to check that a peer's certificate names the host it was
/// reached at when forwarding; empty to check only its chain.
pub const ENDPOINT_IDENTIFICATION: &str = "ssl.endpoint.identification.algorithm";

/// The TLS settings of the worker's https listeners: each key's value, with the key it was
/// read from (the `listeners.https.` one when set, else the plain `ssl.*` one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    values: BTreeMap<&'static str, (String, String)>,
}

impl TlsSettings {
    /// Reads the settings from the worker properties. An empty value counts as unset,
    /// except for [`ENDPOINT_IDENTIFICATION`], where empty turns the host name check off.
    pub fn from_props(props: &ConfigMap) -> TlsSettings {
        let mut values = BTreeMap::new();
        for key in TLS_KEYS {
            let prefixed = format!("{HTTPS_PREFIX}{key}");
            let found = [prefixed, (*key).to_string()]
                .into_iter()
                .find_map(|k| props.get(&k).map(|v| (k, v.trim().to_string())))
                .filter(|(_, v)| !v.is_empty() || *key == ENDPOINT_IDENTIFICATION);
            if let Some(found) = found {
                values.insert(*key, found);
            }
        }
        TlsSettings { values }
    }

    /// The key (as written) and value of a setting.
    pub fn get(&self, key: &str) -> Option<(&str, &str)> {
        self.values.get(key).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The key to name in a message about `key`: the one given, or the prefixed one.
    pub fn key_name(&self, key: &str) -> String {
        self.get(key)
            .map_or_else(|| format!("{HTTPS_PREFIX}{key}"), |(k, _)| k.to_string())
    }
}

/// What TLS settings are loaded for (named in error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsRole {
    /// The server side of the https listeners.
    Listener,
    /// The client that forwards REST requests to https workers.
    Forwarding,
}

impl std::fmt::Display for TlsRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsRole::Listener => "the https listener",
            TlsRole::Forwarding => "forwarding REST requests over https",
        })
    }
}

/// A TLS setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file named by a key cannot be read.
    #[error("cannot read '{path}' named by {key} for {role}: {source}")]
    File {
        /// The key.
        key: String,
        /// The file.
        path: String,
        /// What the settings were loaded for.
        role: TlsRole,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A value is wrong.
    #[error("invalid {key} for {role}: {message}")]
    Invalid {
        /// The key.
        key: String,
        /// What the settings were loaded for.
        role: TlsRole,
        /// What is wrong.
        message: String,
    },
    /// This binary was built without TLS.
    #[error("https listeners need a build with the 'tls' feature of sluice-runtime")]
    NotBuilt,
}

#[cfg(feature = "tls")]
pub use enabled::{client_config, server_config, TlsListener};

#[cfg(feature = "tls")]
mod enabled {
    use std::io;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use sluice_kafka::tls::{self as shared, ChainAndKey, ClientConfigError, TlsValueError};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;
    use tokio::task::JoinHandle;
    use tokio_rustls::rustls::crypto::ring;
    use tokio_rustls::rustls::server::WebPkiClientVerifier;
    use tokio_rustls::rustls::{
        ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion,
    };
    use tokio_rustls::server::TlsStream;
    use tokio_rustls::TlsAcceptor;

    use super::*;

    /// How long a client gets to finish its handshake.
    const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Handshaken connections waiting for the server to take them.
    const ACCEPT_QUEUE: usize = 64;

    /// A certificate chain and its private key, with the key they were read from.
    type Identity = (String, ChainAndKey);

    fn invalid(
        settings: &TlsSettings,
        role: TlsRole,
        key: &str,
        message: impl Into<String>,
    ) -> TlsError {
        TlsError::Invalid {
            key: settings.key_name(key),
            role,
            message: message.into(),
        }
    }

    /// What is wrong with the value of `key` (the key as written).
    fn bad_value(role: TlsRole, key: &str, e: TlsValueError) -> TlsError {
        TlsError::Invalid {
            key: key.to_string(),
            role,
            message: e.to_string(),
        }
    }

    fn check_pem_type(settings: &TlsSettings, role: TlsRole, key: &str) -> Result<(), TlsError> {
        match settings.get(key) {
            None => Ok(()),
            Some((_, t)) if t.eq_ignore_ascii_case("PEM") => Ok(()),
            Some((_, t)) => Err(invalid(
                settings,
                role,
                key,
                format!(
                    "'{t}' is not supported; use PEM files (convert a keystore with \
                     'openssl pkcs12 -in store.p12 -nodes' or 'keytool -importkeystore \
                     -deststoretype PKCS12' first)"
                ),
            )),
        }
    }

    fn read_pem(role: TlsRole, key: &str, path: &str) -> Result<String, TlsError> {
        std::fs::read_to_string(path).map_err(|source| TlsError::File {
            key: key.to_string(),
            path: path.to_string(),
            role,
            source,
        })
    }

    /// The PEM text of a setting given as a file (`location`) or inline (`inline`), with
    /// the key it came from.
    fn pem_text(
        settings: &TlsSettings,
        role: TlsRole,
        location: &str,
        inline: &str,
    ) -> Result<Option<(String, String)>, TlsError> {
        if let Some((key, path)) = settings.get(location) {
            return Ok(Some((key.to_string(), read_pem(role, key, path)?)));
        }
        Ok(settings
            .get(inline)
            .map(|(k, v)| (k.to_string(), v.to_string())))
    }

    /// The certificates of `pem` as trust anchors.
    fn root_store(role: TlsRole, key: &str, pem: &str) -> Result<RootCertStore, TlsError> {
        shared::root_store(pem).map_err(|e| bad_value(role, key, e))
    }

    /// A certificate chain and its key, read from `cert_key` and `key_key`.
    fn chain_and_key(
        role: TlsRole,
        (cert_key, cert): (&str, &str),
        (key_key, key): (&str, &str),
    ) -> Result<ChainAndKey, TlsError> {
        Ok((
            shared::certificates(cert).map_err(|e| bad_value(role, cert_key, e))?,
            shared::private_key(key).map_err(|e| bad_value(role, key_key, e))?,
        ))
    }

    fn protocol_versions(
        settings: &TlsSettings,
        role: TlsRole,
    ) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
        shared::protocol_versions(settings.get(ENABLED_PROTOCOLS).map(|(_, v)| v))
            .map_err(|e| invalid(settings, role, ENABLED_PROTOCOLS, e.to_string()))
    }

    /// The keystore: a PEM file with the chain and the key, or both inline; `None` when
    /// neither is set.
    fn identity(settings: &TlsSettings, role: TlsRole) -> Result<Option<Identity>, TlsError> {
        if let Some((name, path)) = settings.get(KEYSTORE_LOCATION) {
            let text = read_pem(role, name, path)?;
            return Ok(Some((
                name.to_string(),
                chain_and_key(role, (name, &text), (name, &text))?,
            )));
        }
        match (
            settings.get(KEYSTORE_CERTIFICATE_CHAIN),
            settings.get(KEYSTORE_KEY),
        ) {
            (Some(chain), Some(key)) => {
                Ok(Some((key.0.to_string(), chain_and_key(role, chain, key)?)))
            }
            (None, None) => Ok(None),
            (Some(_), None) => Err(invalid(
                settings,
                role,
                KEYSTORE_KEY,
                format!(
                    "missing: {} is set, so its private key is needed too",
                    settings.key_name(KEYSTORE_CERTIFICATE_CHAIN)
                ),
            )),
            (None, Some(_)) => Err(invalid(
                settings,
                role,
                KEYSTORE_CERTIFICATE_CHAIN,
                format!(
                    "missing: {} is set, so its certificate chain is needed too",
                    settings.key_name(KEYSTORE_KEY)
                ),
            )),
        }
    }

    /// Loads the certificate, key, trusted certificates and options of the https
    /// listeners.
    pub fn server_config(settings: &TlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
        let role = TlsRole::Listener;
        check_pem_type(settings, role, KEYSTORE_TYPE)?;
        check_pem_type(settings, role, TRUSTSTORE_TYPE)?;
        let versions = protocol_versions(settings, role)?;
        let Some((key_name, (chain, key))) = identity(settings, role)? else {
            return Err(invalid(
                settings,
                role,
                KEYSTORE_LOCATION,
                format!(
                    "an https listener needs a certificate and its private key: set \
                     {HTTPS_PREFIX}{KEYSTORE_LOCATION} to a PEM file holding both, or \
                     {HTTPS_PREFIX}{KEYSTORE_CERTIFICATE_CHAIN} and \
                     {HTTPS_PREFIX}{KEYSTORE_KEY}"
                ),
            ));
        };
        let provider = Arc::new(ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| invalid(settings, role, ENABLED_PROTOCOLS, e.to_string()))?;
        let client_auth = settings
            .get(CLIENT_AUTH)
            .map(|(_, v)| v.to_ascii_lowercase());
        let builder = match client_auth.as_deref() {
            None | Some("none") => builder.with_no_client_auth(),
            Some(mode @ ("requested" | "required")) => {
                let (name, text) =
                    pem_text(settings, role, TRUSTSTORE_LOCATION, TRUSTSTORE_CERTIFICATES)?
                        .ok_or_else(|| {
                            invalid(
                                settings,
                                role,
                                TRUSTSTORE_LOCATION,
                                format!(
                                    "{} needs the certificates clients must chain to: set \
                             {HTTPS_PREFIX}{TRUSTSTORE_LOCATION} (a PEM file) or \
                             {HTTPS_PREFIX}{TRUSTSTORE_CERTIFICATES}",
                                    settings.key_name(CLIENT_AUTH)
                                ),
                            )
                        })?;
                let roots = root_store(role, &name, &text)?;
                let mut verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                if mode == "requested" {
                    verifier = verifier.allow_unauthenticated();
                }
                let verifier = verifier.build().map_err(|e| TlsError::Invalid {
                    key: name.clone(),
                    role,
                    message: e.to_string(),
                })?;
                builder.with_client_cert_verifier(verifier)
            }
            Some(other) => {
                return Err(invalid(
                    settings,
                    role,
                    CLIENT_AUTH,
                    format!("'{other}' is not one of none, requested, required"),
                ))
            }
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Invalid {
                key: key_name,
                role,
                message: format!("the certificate chain and private key are unusable: {e}"),
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Loads the TLS client settings for forwarding requests to https workers: the trusted
    /// certificates (the truststore, else the system's), the client certificate (the
    /// keystore, when set), the protocols and the host name check.
    pub fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, TlsError> {
        let role = TlsRole::Forwarding;
        check_pem_type(settings, role, KEYSTORE_TYPE)?;
        check_pem_type(settings, role, TRUSTSTORE_TYPE)?;
        let versions = protocol_versions(settings, role)?;
        let check_names =
            shared::verify_host_name(settings.get(ENDPOINT_IDENTIFICATION).map(|(_, v)| v))
                .map_err(|e| invalid(settings, role, ENDPOINT_IDENTIFICATION, e.to_string()))?;
        let roots = match pem_text(settings, role, TRUSTSTORE_LOCATION, TRUSTSTORE_CERTIFICATES)? {
            Some((name, text)) => root_store(role, &name, &text)?,
            None => shared::system_roots().map_err(|e| {
                invalid(
                    settings,
                    role,
                    TRUSTSTORE_LOCATION,
                    format!(
                        "missing, and {e}: set {HTTPS_PREFIX}{TRUSTSTORE_LOCATION} to the PEM \
                         certificates the other workers' certificates chain to"
                    ),
                )
            })?,
        };
        let (identity_key, identity) = match identity(settings, role)? {
            Some((key_name, identity)) => (key_name, Some(identity)),
            None => (settings.key_name(KEYSTORE_LOCATION), None),
        };
        let mut config =
            shared::client_config(roots, &versions, check_names, identity).map_err(|e| {
                let key = match e {
                    ClientConfigError::Roots(_) => settings.key_name(TRUSTSTORE_LOCATION),
                    ClientConfigError::Versions(_) => settings.key_name(ENABLED_PROTOCOLS),
                    ClientConfigError::Identity(_) => identity_key,
                };
                TlsError::Invalid {
                    key,
                    role,
                    message: e.to_string(),
                }
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A listener that hands axum TLS connections whose handshake is done.
    pub struct TlsListener {
        incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
        local_addr: SocketAddr,
        acceptor: JoinHandle<()>,
    }

    impl TlsListener {
        /// Starts accepting on `listener` with this TLS configuration.
        pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<TlsListener> {
            let local_addr = listener.local_addr()?;
            let (tx, incoming) = mpsc::channel(ACCEPT_QUEUE);
            let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
            Ok(TlsListener {
                incoming,
                local_addr,
                acceptor,
            })
        }
    }

    impl Drop for TlsListener {
        fn drop(&mut self) {
            self.acceptor.abort();
        }
    }

    async fn accept_loop(
        listener: TcpListener,
        acceptor: TlsAcceptor,
        tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    ) {
        loop {
            let accepted = tokio::select! {
                _ = tx.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "Accepting an https connection failed.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send((stream, peer)).await;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %peer, error = %e, "TLS handshake failed.")
                    }
                    Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out."),
                }
            });
        }
    }

    impl axum::serve::Listener for TlsListener {
        type Io = TlsStream<TcpStream>;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            match self.incoming.recv().await {
                Some(connection) => connection,
                // The accept loop only ends when this listener is dropped.
                None => std::future::pending().await,
            }
        }

        fn local_addr(&self) -> io::Result<Self::Addr> {
            Ok(self.local_addr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn prefixed_keys_win_over_plain_ones() {
        let s = TlsSettings::from_props(&props(&[
            ("ssl.keystore.location", "/plain.pem"),
            ("listeners.https.ssl.keystore.location", "/https.pem"),
            ("ssl.client.auth", "required"),
            ("listeners.https.ssl.truststore.location", " "),
            ("ssl.truststore.location", "/ca.pem"),
        ]));
        assert_eq!(
            s.get(KEYSTORE_LOCATION),
            Some(("listeners.https.ssl.keystore.location", "/https.pem"))
        );
        assert_eq!(s.get(CLIENT_AUTH), Some(("ssl.client.auth", "required")));
        assert_eq!(s.get(TRUSTSTORE_LOCATION), None);
        assert_eq!(s.get(KEYSTORE_KEY), None);
        assert_eq!(s.key_name(KEYSTORE_KEY), "listeners.https.ssl.keystore.key");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn bad_settings_name_their_key() {
        let err = |pairs: &[(&str, &str)]| {
            server_config(&TlsSettings::from_props(&props(pairs)))
                .err()
                .unwrap()
                .to_string()
        };
        assert!(err(&[]).starts_with(
            "invalid listeners.https.ssl.keystore.location for the https listener: an https listener needs"
        ));
        let e = err(&[("listeners.https.ssl.keystore.location", "/nonexistent.pem")]);
        assert!(
            e.starts_with(
                "cannot read '/nonexistent.pem' named by listeners.https.ssl.keystore.location"
            ),
            "{e}"
        );
        let e = err(&[("ssl.keystore.type", "JKS")]);
        assert!(
            e.starts_with(
                "invalid ssl.keystore.type for the https listener: 'JKS' is not supported"
            ),
            "{e}"
        );
        let e = err(&[
            ("ssl.keystore.certificate.chain", "not pem"),
            ("ssl.keystore.key", "not pem"),
        ]);
        assert!(
            e.starts_with(
                "invalid ssl.keystore.certificate.chain for the https listener: no PEM certificate"
            ),
            "{e}"
        );
        let e = err(&[("listeners.https.ssl.enabled.protocols", "SSLv3")]);
        assert!(e.contains("listeners.https.ssl.enabled.protocols"), "{e}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn bad_client_settings_name_their_key_and_the_forwarding() {
        let err = |pairs: &[(&str, &str)]| {
            client_config(&TlsSettings::from_props(&props(pairs)))
                .err()
                .unwrap()
                .to_string()
        };
        let e = err(&[("ssl.truststore.location", "/nonexistent/ca.pem")]);
        assert!(
            e.starts_with(
                "cannot read '/nonexistent/ca.pem' named by ssl.truststore.location for \
                 forwarding REST requests over https"
            ),
            "{e}"
        );
        let e = err(&[("listeners.https.ssl.truststore.certificates", "not pem")]);
        assert!(
            e.starts_with(
                "invalid listeners.https.ssl.truststore.certificates for forwarding REST \
                 requests over https: no PEM certificate"
            ),
            "{e}"
        );
        let e = err(&[("ssl.endpoint.identification.algorithm", "ldaps")]);
        assert!(
            e.starts_with("invalid ssl.endpoint.identification.algorithm for forwarding"),
            "{e}"
        );
        let e = err(&[("ssl.keystore.certificate.chain", "x")]);
        assert!(
            e.starts_with(
                "invalid listeners.https.ssl.keystore.key for forwarding REST requests over \
                 https: missing: ssl.keystore.certificate.chain is set"
            ),
            "{e}"
        );
        let e = err(&[("ssl.truststore.type", "JKS")]);
        assert!(e.contains("'JKS' is not supported"), "{e}");
    }

    #[test]
    fn an_empty_endpoint_identification_is_kept() {
        let s = TlsSettings::from_props(&props(&[
            ("listeners.https.ssl.endpoint.identification.algorithm", ""),
            ("ssl.endpoint.identification.algorithm", "https"),
        ]));
        assert_eq!(
            s.get(ENDPOINT_IDENTIFICATION),
            Some(("listeners.https.ssl.endpoint.identification.algorithm", ""))
        );
        let s = TlsSettings::from_props(&props(&[]));
        assert_eq!(s.get(ENDPOINT_IDENTIFICATION), None);
    }
}

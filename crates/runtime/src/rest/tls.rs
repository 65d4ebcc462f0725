//! `https://` listeners: TLS settings in Kafka's key names, read from PEM.
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

/// The TLS settings of the worker's https listeners: each key's value, with the key it was
/// read from (the `listeners.https.` one when set, else the plain `ssl.*` one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    values: BTreeMap<&'static str, (String, String)>,
}

impl TlsSettings {
    /// Reads the settings from the worker properties.
    pub fn from_props(props: &ConfigMap) -> TlsSettings {
        let mut values = BTreeMap::new();
        for key in TLS_KEYS {
            let prefixed = format!("{HTTPS_PREFIX}{key}");
            let found = [prefixed, (*key).to_string()]
                .into_iter()
                .find_map(|k| props.get(&k).map(|v| (k, v.trim().to_string())))
                .filter(|(_, v)| !v.is_empty());
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

/// A TLS setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file named by a key cannot be read.
    #[error("cannot read '{path}' named by {key} for the https listener: {source}")]
    File {
        /// The key.
        key: String,
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A value is wrong.
    #[error("invalid {key} for the https listener: {message}")]
    Invalid {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// This binary was built without TLS.
    #[error("https listeners need a build with the 'tls' feature of sluice-runtime")]
    NotBuilt,
}

#[cfg(feature = "tls")]
pub use enabled::{server_config, TlsListener};

#[cfg(feature = "tls")]
mod enabled {
    use std::io;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;
    use tokio::task::JoinHandle;
    use tokio_rustls::rustls::crypto::ring;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::server::WebPkiClientVerifier;
    use tokio_rustls::rustls::{version, RootCertStore, ServerConfig, SupportedProtocolVersion};
    use tokio_rustls::server::TlsStream;
    use tokio_rustls::TlsAcceptor;

    use super::*;

    /// How long a client gets to finish its handshake.
    const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Handshaken connections waiting for the server to take them.
    const ACCEPT_QUEUE: usize = 64;

    fn invalid(settings: &TlsSettings, key: &str, message: impl Into<String>) -> TlsError {
        TlsError::Invalid {
            key: settings.key_name(key),
            message: message.into(),
        }
    }

    fn check_pem_type(settings: &TlsSettings, key: &str) -> Result<(), TlsError> {
        match settings.get(key) {
            None => Ok(()),
            Some((_, t)) if t.eq_ignore_ascii_case("PEM") => Ok(()),
            Some((_, t)) => Err(invalid(
                settings,
                key,
                format!(
                    "'{t}' is not supported; use PEM files (convert a keystore with \
                     'openssl pkcs12 -in store.p12 -nodes' or 'keytool -importkeystore \
                     -deststoretype PKCS12' first)"
                ),
            )),
        }
    }

    /// The PEM text of a setting given as a file (`location`) or inline (`inline`), with
    /// the key it came from.
    fn pem_text(
        settings: &TlsSettings,
        location: &str,
        inline: &str,
    ) -> Result<Option<(String, String)>, TlsError> {
        if let Some((key, path)) = settings.get(location) {
            let text = std::fs::read_to_string(path).map_err(|source| TlsError::File {
                key: key.to_string(),
                path: path.to_string(),
                source,
            })?;
            return Ok(Some((key.to_string(), text)));
        }
        Ok(settings
            .get(inline)
            .map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn certificates(key: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Invalid {
                key: key.to_string(),
                message: format!("bad PEM certificate: {e}"),
            })?;
        if certs.is_empty() {
            return Err(TlsError::Invalid {
                key: key.to_string(),
                message: "no PEM certificate (-----BEGIN CERTIFICATE-----) found".into(),
            });
        }
        Ok(certs)
    }

    fn private_key(key: &str, pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
        if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(TlsError::Invalid {
                key: key.to_string(),
                message: "encrypted private keys are not supported; decrypt it with \
                          'openssl pkcs8 -topk8 -nocrypt' and protect the file instead"
                    .into(),
            });
        }
        PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::Invalid {
            key: key.to_string(),
            message: format!("no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
        })
    }

    fn protocol_versions(
        settings: &TlsSettings,
    ) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
        let Some((_, list)) = settings.get(ENABLED_PROTOCOLS) else {
            return Ok(vec![&version::TLS13, &version::TLS12]);
        };
        let mut versions = Vec::new();
        for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match p {
                "TLSv1.3" => versions.push(&version::TLS13),
                "TLSv1.2" => versions.push(&version::TLS12),
                other => {
                    return Err(invalid(
                        settings,
                        ENABLED_PROTOCOLS,
                        format!("'{other}' is not supported; use TLSv1.2 and/or TLSv1.3"),
                    ))
                }
            }
        }
        if versions.is_empty() {
            return Err(invalid(settings, ENABLED_PROTOCOLS, "no protocol given"));
        }
        Ok(versions)
    }

    /// Loads the certificate, key, trusted certificates and options of the https
    /// listeners.
    pub fn server_config(settings: &TlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
        check_pem_type(settings, KEYSTORE_TYPE)?;
        check_pem_type(settings, TRUSTSTORE_TYPE)?;
        let versions = protocol_versions(settings)?;
        let (chain, key) = match settings.get(KEYSTORE_LOCATION) {
            Some(_) => {
                let (name, text) = pem_text(settings, KEYSTORE_LOCATION, KEYSTORE_KEY)?
                    .ok_or_else(|| invalid(settings, KEYSTORE_LOCATION, "missing"))?;
                (certificates(&name, &text)?, private_key(&name, &text)?)
            }
            None => {
                let chain = settings.get(KEYSTORE_CERTIFICATE_CHAIN);
                let key = settings.get(KEYSTORE_KEY);
                match (chain, key) {
                    (Some((ck, c)), Some((kk, k))) => (certificates(ck, c)?, private_key(kk, k)?),
                    _ => {
                        return Err(invalid(
                            settings,
                            KEYSTORE_LOCATION,
                            format!(
                                "an https listener needs a certificate and its private key: \
                                 set {HTTPS_PREFIX}{KEYSTORE_LOCATION} to a PEM file holding \
                                 both, or {HTTPS_PREFIX}{KEYSTORE_CERTIFICATE_CHAIN} and \
                                 {HTTPS_PREFIX}{KEYSTORE_KEY}"
                            ),
                        ))
                    }
                }
            }
        };
        let provider = Arc::new(ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| invalid(settings, ENABLED_PROTOCOLS, e.to_string()))?;
        let client_auth = settings
            .get(CLIENT_AUTH)
            .map(|(_, v)| v.to_ascii_lowercase());
        let builder = match client_auth.as_deref() {
            None | Some("none") => builder.with_no_client_auth(),
            Some(mode @ ("requested" | "required")) => {
                let (name, text) =
                    pem_text(settings, TRUSTSTORE_LOCATION, TRUSTSTORE_CERTIFICATES)?.ok_or_else(
                        || {
                            invalid(
                                settings,
                                TRUSTSTORE_LOCATION,
                                format!(
                                    "{} needs the certificates clients must chain to: set \
                                     {HTTPS_PREFIX}{TRUSTSTORE_LOCATION} (a PEM file) or \
                                     {HTTPS_PREFIX}{TRUSTSTORE_CERTIFICATES}",
                                    settings.key_name(CLIENT_AUTH)
                                ),
                            )
                        },
                    )?;
                let mut roots = RootCertStore::empty();
                for cert in certificates(&name, &text)? {
                    roots.add(cert).map_err(|e| TlsError::Invalid {
                        key: name.clone(),
                        message: format!("unusable trusted certificate: {e}"),
                    })?;
                }
                let mut verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                if mode == "requested" {
                    verifier = verifier.allow_unauthenticated();
                }
                let verifier = verifier.build().map_err(|e| TlsError::Invalid {
                    key: name.clone(),
                    message: e.to_string(),
                })?;
                builder.with_client_cert_verifier(verifier)
            }
            Some(other) => {
                return Err(invalid(
                    settings,
                    CLIENT_AUTH,
                    format!("'{other}' is not one of none, requested, required"),
                ))
            }
        };
        let key_name = settings
            .get(KEYSTORE_LOCATION)
            .or_else(|| settings.get(KEYSTORE_KEY))
            .map_or_else(
                || settings.key_name(KEYSTORE_LOCATION),
                |(k, _)| k.to_string(),
            );
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Invalid {
                key: key_name,
                message: format!("the certificate chain and private key are unusable: {e}"),
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
}

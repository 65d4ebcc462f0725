//! TLS for the membership connection (`security.protocol=SSL`), with rustls.
//!
//! The worker config is shared by every Kafka client of a worker, so this module reads the
//! same keys the librdkafka clients read (see [`crate::config`]), in their Java spelling or in
//! librdkafka's:
//!
//! - Trusted certificates (PEM): `ssl.truststore.location` (a file; `ssl.truststore.type`
//!   must be `PEM` when set), `ssl.truststore.certificates` (inline), `ssl.ca.location` (a
//!   file) or `ssl.ca.pem` (inline). Without any of them, the system's CA bundle
//!   (`$SSL_CERT_FILE` or the usual distribution paths) is used, as librdkafka does.
//! - A client certificate, when the brokers ask for one: `ssl.keystore.location` (one PEM file
//!   with the chain and the key; `ssl.keystore.type` must be `PEM` when set),
//!   `ssl.keystore.certificate.chain` with `ssl.keystore.key` (inline),
//!   `ssl.certificate.location` with `ssl.key.location` (files) or `ssl.certificate.pem` with
//!   `ssl.key.pem` (inline). Encrypted private keys (`ssl.key.password`) are refused with a
//!   message saying how to decrypt them.
//! - `ssl.endpoint.identification.algorithm`: `https` (the default) checks that the broker's
//!   certificate names the host it was reached at; empty (or librdkafka's `none`) checks only
//!   the chain.
//! - `ssl.enabled.protocols`: `TLSv1.2` and/or `TLSv1.3` (older versions are skipped).
//!
//! JKS and PKCS12 stores cannot be read here; the error says so and names the key. Everything
//! is loaded when the config is read, so a wrong path or bad PEM stops the worker at start.

use std::io;
use std::sync::Arc;

use sluice_api::config::ConfigMap;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::GroupError;
use crate::tls::{self, ClientConfigError, TlsValueError};

/// The TLS settings of the membership connection, loaded from the worker config.
#[derive(Clone)]
pub struct GroupTls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for GroupTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupTls").finish_non_exhaustive()
    }
}

impl PartialEq for GroupTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
    }
}

impl Eq for GroupTls {}

impl GroupTls {
    /// Loads the TLS settings of a worker config (see the module docs). Call it only when
    /// `security.protocol` asks for TLS.
    pub fn from_worker_config(props: &ConfigMap) -> Result<GroupTls, GroupError> {
        let get = |key: &'static str| {
            props
                .get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| (key, v))
        };
        const PROTOCOLS: &str = "ssl.enabled.protocols";
        let versions = tls::protocol_versions(get(PROTOCOLS).map(|(_, v)| v))
            .map_err(|e| value_error(PROTOCOLS, e))?;
        const ENDPOINT: &str = "ssl.endpoint.identification.algorithm";
        let check_host_name = tls::verify_host_name(props.get(ENDPOINT).map(String::as_str))
            .map_err(|e| value_error(ENDPOINT, e))?;
        let roots = trusted_roots(props, &get)?;
        let (identity_key, identity) = match client_identity(props, &get)? {
            Some((key, chain, private_key)) => (key, Some((chain, private_key))),
            None => ("ssl.keystore.location", None),
        };
        let config =
            tls::client_config(roots, &versions, check_host_name, identity).map_err(|e| {
                let key = match e {
                    ClientConfigError::Roots(_) => "ssl.truststore.location",
                    ClientConfigError::Versions(_) => PROTOCOLS,
                    ClientConfigError::Identity(_) => identity_key,
                };
                config_error(key, e.to_string())
            })?;
        Ok(GroupTls {
            config: Arc::new(config),
        })
    }

    /// Runs the TLS handshake on `tcp`, connected to `addr` (`host:port`): the host is the name
    /// the broker's certificate must carry.
    pub(super) async fn handshake(
        &self,
        addr: &str,
        tcp: TcpStream,
    ) -> io::Result<TlsStream<TcpStream>> {
        let host = addr
            .rsplit_once(':')
            .map_or(addr, |(host, _port)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
    }
}

/// Whether a handshake error is a TLS failure (a certificate that does not verify, an alert
/// from the broker, no common protocol version) rather than a network one: retrying cannot fix
/// it.
pub(super) fn is_tls_failure(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

fn config_error(key: &str, message: impl Into<String>) -> GroupError {
    GroupError::Config {
        key: key.to_owned(),
        message: message.into(),
    }
}

fn value_error(key: &str, e: TlsValueError) -> GroupError {
    config_error(key, e.to_string())
}

/// Looks a worker config key up: the key and its trimmed, non-empty value.
type Get<'a> = dyn Fn(&'static str) -> Option<(&'static str, &'a str)> + 'a;

/// Refuses a store type other than PEM.
fn check_pem_type(props: &ConfigMap, key: &str, store: &str) -> Result<(), GroupError> {
    match props.get(key).map(|t| t.trim()).filter(|t| !t.is_empty()) {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("PEM") => Ok(()),
        Some(t) => Err(config_error(
            key,
            format!(
                "{t} {store}s are not supported by the worker group connection, which reads PEM only; \
                 convert the store to PEM (e.g. 'openssl pkcs12 -in store.p12 -nodes -out store.pem') \
                 and set {key}=PEM"
            ),
        )),
    }
}

fn read_file(key: &str, path: &str) -> Result<String, GroupError> {
    std::fs::read_to_string(path)
        .map_err(|e| config_error(key, format!("cannot read the file '{path}': {e}")))
}

fn certificates(key: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>, GroupError> {
    tls::certificates(pem).map_err(|e| value_error(key, e))
}

fn private_key(
    props: &ConfigMap,
    key: &str,
    pem: &str,
) -> Result<PrivateKeyDer<'static>, GroupError> {
    tls::private_key(pem).map_err(|e| match e {
        TlsValueError::EncryptedKey if props.contains_key("ssl.key.password") => {
            config_error(key, format!("{e} (ssl.key.password is not used for it)"))
        }
        e => value_error(key, e),
    })
}

/// The trusted certificates: the first trust setting given, else the system bundle.
fn trusted_roots(props: &ConfigMap, get: &Get<'_>) -> Result<RootCertStore, GroupError> {
    let (key, pem) = if let Some((key, path)) = get("ssl.truststore.location") {
        check_pem_type(props, "ssl.truststore.type", "trust store")?;
        (key, read_file(key, path)?)
    } else if let Some((key, pem)) = get("ssl.truststore.certificates") {
        (key, pem.to_owned())
    } else if let Some((key, path)) = get("ssl.ca.location") {
        if path == "probe" || std::path::Path::new(path).is_dir() {
            return Err(config_error(
                key,
                format!("`{path}` is not a PEM file: the worker group connection reads CA certificates from one PEM file"),
            ));
        }
        (key, read_file(key, path)?)
    } else if let Some((key, pem)) = get("ssl.ca.pem") {
        (key, pem.to_owned())
    } else {
        return tls::system_roots().map_err(|e| {
            config_error(
                "ssl.truststore.location",
                format!(
                    "security.protocol=SSL needs the CA certificates the brokers' certificates chain to: \
                     set ssl.truststore.location (with ssl.truststore.type=PEM) or ssl.ca.location to a \
                     PEM file ({e})"
                ),
            )
        });
    };
    tls::root_store(&pem).map_err(|e| value_error(key, e))
}

type Identity = (
    &'static str,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
);

/// The client certificate chain and key, with the key to name in errors (none when no
/// client certificate is configured).
fn client_identity(props: &ConfigMap, get: &Get<'_>) -> Result<Option<Identity>, GroupError> {
    if let Some((_, path)) = get("ssl.keystore.location") {
        const KEY: &str = "ssl.keystore.location";
        check_pem_type(props, "ssl.keystore.type", "key store")?;
        let pem = read_file(KEY, path)?;
        return Ok(Some((
            KEY,
            certificates(KEY, &pem)?,
            private_key(props, KEY, &pem)?,
        )));
    }
    let pairs: [(&'static str, &'static str, bool); 3] = [
        ("ssl.keystore.certificate.chain", "ssl.keystore.key", false),
        ("ssl.certificate.location", "ssl.key.location", true),
        ("ssl.certificate.pem", "ssl.key.pem", false),
    ];
    for (cert_key, key_key, files) in pairs {
        match (get(cert_key), get(key_key)) {
            (None, None) => continue,
            (Some((_, cert)), Some((_, key))) => {
                let (cert, key) = if files {
                    (read_file(cert_key, cert)?, read_file(key_key, key)?)
                } else {
                    (cert.to_owned(), key.to_owned())
                };
                return Ok(Some((
                    cert_key,
                    certificates(cert_key, &cert)?,
                    private_key(props, key_key, &key)?,
                )));
            }
            (Some(_), None) => {
                return Err(config_error(
                    key_key,
                    format!("missing: {cert_key} is set, so its private key is needed too"),
                ))
            }
            (None, Some(_)) => {
                return Err(config_error(
                    cert_key,
                    format!("missing: {key_key} is set, so its certificate is needed too"),
                ))
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::super::props;
    use super::*;

    fn error(pairs: &[(&str, &str)]) -> (String, String) {
        match GroupTls::from_worker_config(&props(pairs)) {
            Err(GroupError::Config { key, message }) => (key, message),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn missing_files_name_the_key_and_the_path() {
        let (key, message) = error(&[("ssl.truststore.location", "/nonexistent/ca.pem")]);
        assert_eq!(key, "ssl.truststore.location");
        assert!(
            message.contains("cannot read the file '/nonexistent/ca.pem'"),
            "{message}"
        );
        let (key, message) = error(&[("ssl.ca.location", "/nonexistent/ca.pem")]);
        assert_eq!(key, "ssl.ca.location");
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
    }

    #[test]
    fn jks_and_pkcs12_stores_are_refused_by_name() {
        let (key, message) = error(&[
            ("ssl.truststore.location", "/x.jks"),
            ("ssl.truststore.type", "JKS"),
        ]);
        assert_eq!(key, "ssl.truststore.type");
        assert!(
            message.starts_with("JKS trust stores are not supported"),
            "{message}"
        );
        let p = props(&[("ssl.keystore.type", "PKCS12")]);
        let e = check_pem_type(&p, "ssl.keystore.type", "key store")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`ssl.keystore.type`: PKCS12 key stores are not supported"),
            "{e}"
        );
    }

    const BAD_CERT: &str = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";

    #[test]
    fn bad_pem_is_named() {
        let (key, message) = error(&[("ssl.ca.pem", "not pem at all")]);
        assert_eq!(key, "ssl.ca.pem");
        assert!(message.starts_with("no PEM certificate"), "{message}");
        let (key, message) = error(&[("ssl.truststore.certificates", BAD_CERT)]);
        assert_eq!(key, "ssl.truststore.certificates");
        assert!(message.starts_with("bad PEM certificate"), "{message}");
    }

    #[test]
    fn bad_options_are_named() {
        let (key, message) = error(&[("ssl.enabled.protocols", "SSLv3")]);
        assert_eq!(key, "ssl.enabled.protocols");
        assert!(message.contains("SSLv3"), "{message}");
        let (key, _) = error(&[("ssl.enabled.protocols", "TLSv1.1")]);
        assert_eq!(key, "ssl.enabled.protocols");
        let (key, message) = error(&[
            ("ssl.ca.location", "probe"),
            ("ssl.endpoint.identification.algorithm", "https"),
        ]);
        assert_eq!(key, "ssl.ca.location");
        assert!(message.contains("one PEM file"), "{message}");
    }

    #[test]
    fn half_a_client_identity_is_refused() {
        let lookup = |k: &'static str| (k == "ssl.certificate.location").then_some((k, "/c.pem"));
        let e = client_identity(&props(&[]), &lookup)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`ssl.key.location`: missing"), "{e}");
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = private_key(
            &props(&[("ssl.key.password", "secret")]),
            "ssl.key.pem",
            encrypted,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("ssl.key.pem"), "{e}");
        assert!(
            e.contains("encrypted private keys are not supported"),
            "{e}"
        );
        assert!(e.contains("ssl.key.password is not used"), "{e}");
    }
}

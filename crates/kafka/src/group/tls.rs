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
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, version, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    SignatureScheme, SupportedProtocolVersion,
};
use tokio_rustls::TlsConnector;

use super::GroupError;

/// Where a system CA bundle usually is, tried in order when no trust setting is given.
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

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
        let versions = protocol_versions(get("ssl.enabled.protocols"))?;
        let roots = Arc::new(trusted_roots(props, &get)?);
        let provider = Arc::new(ring::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| config_error("ssl.truststore.location", e.to_string()))?;
        let verify_hostname = match props
            .get("ssl.endpoint.identification.algorithm")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("https") => true,
            Some("" | "none") => false,
            Some(other) => {
                return Err(config_error(
                    "ssl.endpoint.identification.algorithm",
                    format!("`{other}` is not one of `https` and empty (no host name check)"),
                ))
            }
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| config_error("ssl.enabled.protocols", e.to_string()))?;
        let builder = if verify_hostname {
            builder.with_webpki_verifier(verifier)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
        };
        let config = match client_identity(props, &get)? {
            None => builder.with_no_client_auth(),
            Some((key, chain, private_key)) => builder
                .with_client_auth_cert(chain, private_key)
                .map_err(|e| {
                    config_error(
                        key,
                        format!("the certificate chain and private key are unusable: {e}"),
                    )
                })?,
        };
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

/// Looks a worker config key up: the key and its trimmed, non-empty value.
type Get<'a> = dyn Fn(&'static str) -> Option<(&'static str, &'a str)> + 'a;

fn protocol_versions(
    setting: Option<(&str, &str)>,
) -> Result<Vec<&'static SupportedProtocolVersion>, GroupError> {
    let Some((key, list)) = setting else {
        return Ok(vec![&version::TLS13, &version::TLS12]);
    };
    let mut versions = Vec::new();
    for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p {
            "TLSv1.3" => versions.push(&version::TLS13),
            "TLSv1.2" => versions.push(&version::TLS12),
            "TLSv1" | "TLSv1.1" => {}
            other => {
                return Err(config_error(
                    key,
                    format!("`{other}` is not a TLS version (TLSv1.2, TLSv1.3)"),
                ))
            }
        }
    }
    if versions.is_empty() {
        return Err(config_error(
            key,
            format!("`{list}` names no supported version: the group connection speaks TLSv1.2 and TLSv1.3"),
        ));
    }
    Ok(versions)
}

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
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error(key, format!("bad PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(config_error(
            key,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) found; JKS and PKCS12 stores are \
             not supported by the worker group connection, give PEM",
        ));
    }
    Ok(certs)
}

fn private_key(
    props: &ConfigMap,
    key: &str,
    pem: &str,
) -> Result<PrivateKeyDer<'static>, GroupError> {
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || pem.contains("Proc-Type: 4,ENCRYPTED")
    {
        let password = if props.contains_key("ssl.key.password") {
            " (ssl.key.password is not used for it)"
        } else {
            ""
        };
        return Err(config_error(
            key,
            format!(
                "encrypted private keys are not supported by the worker group connection{password}; \
                 decrypt it with 'openssl pkey -in key.pem -out plain.pem' and protect the file instead"
            ),
        ));
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
        config_error(
            key,
            format!("no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
        )
    })
}

/// The trusted certificates: the first trust setting given, else the system bundle.
fn trusted_roots(props: &ConfigMap, get: &Get<'_>) -> Result<RootCertStore, GroupError> {
    let (key, certs) = if let Some((key, path)) = get("ssl.truststore.location") {
        check_pem_type(props, "ssl.truststore.type", "trust store")?;
        (key, certificates(key, &read_file(key, path)?)?)
    } else if let Some((key, pem)) = get("ssl.truststore.certificates") {
        (key, certificates(key, pem)?)
    } else if let Some((key, path)) = get("ssl.ca.location") {
        if path == "probe" || std::path::Path::new(path).is_dir() {
            return Err(config_error(
                key,
                format!("`{path}` is not a PEM file: the worker group connection reads CA certificates from one PEM file"),
            ));
        }
        (key, certificates(key, &read_file(key, path)?)?)
    } else if let Some((key, pem)) = get("ssl.ca.pem") {
        (key, certificates(key, pem)?)
    } else {
        let env = std::env::var("SSL_CERT_FILE").ok();
        let path = env
            .as_deref()
            .into_iter()
            .chain(SYSTEM_CA_BUNDLES.iter().copied())
            .find(|p| std::path::Path::new(p).is_file())
            .ok_or_else(|| {
                config_error(
                    "ssl.truststore.location",
                    format!(
                        "security.protocol=SSL needs the CA certificates the brokers' certificates chain to: \
                         set ssl.truststore.location (with ssl.truststore.type=PEM) or ssl.ca.location to a \
                         PEM file (no system CA bundle found at {})",
                        SYSTEM_CA_BUNDLES.join(", ")
                    ),
                )
            })?;
        let pem = std::fs::read_to_string(path).map_err(|e| {
            config_error(
                "ssl.truststore.location",
                format!("not set, and the system CA bundle '{path}' cannot be read: {e}"),
            )
        })?;
        ("ssl.truststore.location", certificates(path, &pem)?)
    };
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| config_error(key, format!("unusable CA certificate: {e}")))?;
    }
    Ok(roots)
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

/// Checks the broker's certificate chain but not the host name in it
/// (`ssl.endpoint.identification.algorithm` empty).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
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

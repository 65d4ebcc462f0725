//! rustls building blocks shared by the TLS clients and servers of a worker: the group
//! membership connection ([`crate::group::tls`]) and the REST API's https listeners and
//! forwarding client (in sluice-runtime).
//!
//! Every setting is read from PEM: [`certificates`], [`private_key`] and [`root_store`] parse
//! it, [`protocol_versions`] reads an `ssl.enabled.protocols` list,
//! [`verify_host_name`] an `ssl.endpoint.identification.algorithm` value, [`system_roots`]
//! finds the system's CA bundle when no trust setting is given, and [`client_config`] puts a
//! client together (checking the peer's host name or, when that check is off, only its
//! chain). The key names stay with the callers: each error here says what is wrong with a
//! value ([`TlsValueError`]), and the caller names the key it read the value from.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::VerifierBuilderError;
use tokio_rustls::rustls::{
    self, version, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    SignatureScheme, SupportedProtocolVersion,
};

/// Where a system CA bundle usually is, tried in order after `$SSL_CERT_FILE`.
pub const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// What is wrong with one TLS setting's value; the caller names the key.
#[derive(Debug, thiserror::Error)]
pub enum TlsValueError {
    /// A certificate block is not valid PEM.
    #[error("bad PEM certificate: {0}")]
    BadCertificate(#[source] pem::Error),
    /// No certificate block at all.
    #[error(
        "no PEM certificate (-----BEGIN CERTIFICATE-----) found; JKS and PKCS12 stores are \
         not read, give PEM"
    )]
    NoCertificate,
    /// The private key is encrypted.
    #[error(
        "encrypted private keys are not supported; decrypt it with 'openssl pkey -in key.pem \
         -out plain.pem' and protect the file instead"
    )]
    EncryptedKey,
    /// No private key that rustls can use.
    #[error("no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {0}")]
    BadKey(#[source] pem::Error),
    /// A certificate cannot be a trust anchor.
    #[error("unusable trusted certificate: {0}")]
    BadTrustAnchor(#[source] rustls::Error),
    /// A TLS version that is not TLSv1.2 or TLSv1.3 (older versions are skipped).
    #[error("'{0}' is not a TLS version; use TLSv1.2 and/or TLSv1.3")]
    UnknownVersion(String),
    /// A version list that leaves nothing to speak.
    #[error("'{0}' names no supported version; use TLSv1.2 and/or TLSv1.3")]
    NoVersion(String),
    /// An endpoint identification algorithm other than `https` or none.
    #[error("'{0}' is not supported; use https, or empty for no host name check")]
    EndpointIdentification(String),
}

/// The certificates of a PEM text, in order (at least one).
pub fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsValueError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(TlsValueError::BadCertificate)?;
    if certs.is_empty() {
        return Err(TlsValueError::NoCertificate);
    }
    Ok(certs)
}

/// The (unencrypted) private key of a PEM text.
pub fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, TlsValueError> {
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || pem.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(TlsValueError::EncryptedKey);
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(TlsValueError::BadKey)
}

/// The certificates of a PEM text as trust anchors.
pub fn root_store(pem: &str) -> Result<RootCertStore, TlsValueError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(pem)? {
        roots.add(cert).map_err(TlsValueError::BadTrustAnchor)?;
    }
    Ok(roots)
}

/// The TLS versions of an `ssl.enabled.protocols` list (`TLSv1.2,TLSv1.3`); `TLSv1` and
/// `TLSv1.1` are skipped, as rustls does not speak them. Both versions when `None`.
pub fn protocol_versions(
    list: Option<&str>,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsValueError> {
    let Some(list) = list else {
        return Ok(vec![&version::TLS13, &version::TLS12]);
    };
    let mut versions = Vec::new();
    for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p {
            "TLSv1.3" => versions.push(&version::TLS13),
            "TLSv1.2" => versions.push(&version::TLS12),
            "TLSv1" | "TLSv1.1" => {}
            other => return Err(TlsValueError::UnknownVersion(other.to_owned())),
        }
    }
    if versions.is_empty() {
        return Err(TlsValueError::NoVersion(list.to_owned()));
    }
    Ok(versions)
}

/// Whether an `ssl.endpoint.identification.algorithm` value asks for the host name check:
/// `https` (the default, `None`) does; empty (or librdkafka's `none`) does not.
pub fn verify_host_name(value: Option<&str>) -> Result<bool, TlsValueError> {
    match value.map(str::trim) {
        None => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("https") => Ok(true),
        Some(v) if v.is_empty() || v.eq_ignore_ascii_case("none") => Ok(false),
        Some(other) => Err(TlsValueError::EndpointIdentification(other.to_owned())),
    }
}

/// Why the system's CA bundle cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SystemRootsError {
    /// Neither `$SSL_CERT_FILE` nor any of [`SYSTEM_CA_BUNDLES`].
    #[error("no system CA bundle was found (SSL_CERT_FILE, {})", SYSTEM_CA_BUNDLES.join(", "))]
    NotFound,
    /// The bundle cannot be read.
    #[error("the CA bundle '{path}' cannot be read: {source}")]
    Read {
        /// The bundle.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bundle holds no usable certificates.
    #[error("the CA bundle '{path}': {source}")]
    Content {
        /// The bundle.
        path: String,
        /// What is wrong.
        #[source]
        source: TlsValueError,
    },
}

/// The system's CA certificates: `$SSL_CERT_FILE` when set (as OpenSSL reads it), else the
/// first of [`SYSTEM_CA_BUNDLES`] that exists.
pub fn system_roots() -> Result<RootCertStore, SystemRootsError> {
    let path = std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|f| !f.is_empty())
        .or_else(|| {
            SYSTEM_CA_BUNDLES
                .iter()
                .find(|p| Path::new(p).is_file())
                .map(|p| (*p).to_owned())
        })
        .ok_or(SystemRootsError::NotFound)?;
    let pem = std::fs::read_to_string(&path).map_err(|source| SystemRootsError::Read {
        path: path.clone(),
        source,
    })?;
    root_store(&pem).map_err(|source| SystemRootsError::Content { path, source })
}

/// Which part of a client's settings rustls refused (the caller names its key).
#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    /// The trusted certificates cannot verify servers.
    #[error("{0}")]
    Roots(#[source] VerifierBuilderError),
    /// The protocol versions.
    #[error("{0}")]
    Versions(#[source] rustls::Error),
    /// The client certificate chain and key.
    #[error("the certificate chain and private key are unusable: {0}")]
    Identity(#[source] rustls::Error),
}

/// A certificate chain and its private key (a client's or a server's own).
pub type ChainAndKey = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// A TLS client (ring) trusting `roots`, speaking `versions`, checking that the server's
/// certificate names the host it was reached at when `check_host_name` (else only the
/// chain), and presenting `identity` when the server asks for a client certificate.
pub fn client_config(
    roots: RootCertStore,
    versions: &[&'static SupportedProtocolVersion],
    check_host_name: bool,
    identity: Option<ChainAndKey>,
) -> Result<ClientConfig, ClientConfigError> {
    let provider = Arc::new(ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(ClientConfigError::Roots)?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(ClientConfigError::Versions)?;
    let builder = if check_host_name {
        builder.with_webpki_verifier(verifier)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
    };
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(ClientConfigError::Identity),
    }
}

/// Checks the server's certificate chain but not the host name in it
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

    #[test]
    fn versions_skip_old_ones_and_refuse_unknown_ones() {
        assert_eq!(protocol_versions(None).unwrap().len(), 2);
        let v = protocol_versions(Some("TLSv1.1, TLSv1.2")).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].version, version::TLS12.version);
        let e = protocol_versions(Some("SSLv3")).unwrap_err().to_string();
        assert!(e.starts_with("'SSLv3' is not a TLS version"), "{e}");
        let e = protocol_versions(Some("TLSv1.1")).unwrap_err().to_string();
        assert!(e.starts_with("'TLSv1.1' names no supported version"), "{e}");
    }

    #[test]
    fn host_name_check_values() {
        assert!(verify_host_name(None).unwrap());
        assert!(verify_host_name(Some("HTTPS")).unwrap());
        assert!(!verify_host_name(Some("")).unwrap());
        assert!(!verify_host_name(Some("none")).unwrap());
        let e = verify_host_name(Some("ldaps")).unwrap_err().to_string();
        assert!(e.starts_with("'ldaps' is not supported"), "{e}");
    }

    #[test]
    fn bad_pem_says_what_is_wrong() {
        assert!(matches!(
            certificates("not pem"),
            Err(TlsValueError::NoCertificate)
        ));
        let bad = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            certificates(bad),
            Err(TlsValueError::BadCertificate(_))
        ));
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                      DEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(
            private_key(legacy),
            Err(TlsValueError::EncryptedKey)
        ));
        assert!(matches!(private_key("x"), Err(TlsValueError::BadKey(_))));
    }
}

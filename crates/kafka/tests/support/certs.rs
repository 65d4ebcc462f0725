//! Test certificates made at test time with the `openssl` command, for the TLS tests of this
//! crate, of sluice-runtime and of the `sluice` binary (included with `#[path]`): a CA
//! (`ca.pem`, `ca.key`), a second, unrelated CA (`other-ca.*`), and certificates the CA
//! signs on demand ([`Certs::issue`]), alone or as Kafka's PEM keystore (the chain then the
//! key in one file, [`Certs::keystore`]).

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether the `openssl` command can be run (tests that can do without it skip).
pub fn openssl_installed() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed to make test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Test certificates in a temporary directory.
pub struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    /// The two CAs only.
    pub fn authorities() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        for ca in ["ca", "other-ca"] {
            openssl(
                dir.path(),
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=sluice test {ca}"),
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                ],
            );
        }
        Certs { dir }
    }

    /// The CAs and a test broker's set: `server` (127.0.0.1 and localhost), `wrongname`
    /// (broker.invalid), `client` (client authentication only) and its keystore
    /// `client-keystore.pem`.
    pub fn new() -> Certs {
        let certs = Certs::authorities();
        certs.issue(
            "server",
            "127.0.0.1",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        );
        certs.issue(
            "wrongname",
            "broker.invalid",
            "subjectAltName=DNS:broker.invalid",
        );
        certs.issue("client", "sluice-worker", "extendedKeyUsage=clientAuth");
        certs.keystore("client");
        certs
    }

    /// Makes `{name}.pem` and `{name}.key`: a certificate for `cn` signed by `ca.pem`, with
    /// the X.509 extensions of `extensions` (lines of an openssl extension file).
    pub fn issue(&self, name: &str, cn: &str, extensions: &str) {
        let d = self.dir.path();
        std::fs::write(d.join(format!("{name}.ext")), format!("{extensions}\n")).unwrap();
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    /// Writes `{name}-keystore.pem`, Kafka's PEM keystore: the certificate of `name`, then
    /// its key; returns its path.
    pub fn keystore(&self, name: &str) -> String {
        let keystore = [
            std::fs::read_to_string(self.path(&format!("{name}.pem"))).unwrap(),
            std::fs::read_to_string(self.path(&format!("{name}.key"))).unwrap(),
        ]
        .concat();
        let path = self.path(&format!("{name}-keystore.pem"));
        std::fs::write(&path, keystore).unwrap();
        path
    }

    /// The path of a file of this set.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
}

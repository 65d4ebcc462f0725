//! End to end: `sluice standalone` with an https and an http listener side by side. A test
//! CA and certificates it signs are made at test time with `openssl`
//! (`crates/kafka/tests/support/certs.rs`); curl trusting the CA (`--cacert`) gets the API, curl without it is refused by certificate verification, basic
//! authentication works over https, `sluice connectors --cacert` talks to it, and a
//! keystore that cannot be read stops startup with an error naming the key.
//!
//! Skipped, with the reason printed, only when `openssl` is not installed.

#[path = "../../kafka/tests/support/certs.rs"]
mod certs;
mod common;
mod rest_support;

use std::process::Command;
use std::time::Duration;

use certs::{openssl_installed, Certs};
use common::*;
use rest_support::curl;

/// The test CA (`ca.pem`, for clients), a certificate it signed for 127.0.0.1 in a keystore
/// (`server-keystore.pem`) and a client certificate it signed (`client.pem`, `client.key`);
/// `None`, with the test skipped, when openssl is missing.
fn certs() -> Option<Certs> {
    if !openssl_installed() {
        println!("SKIPPED: openssl is not installed");
        return None;
    }
    let certs = Certs::authorities();
    certs.issue(
        "server",
        "127.0.0.1",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
    );
    certs.keystore("server");
    certs.issue("client", "client", "extendedKeyUsage=clientAuth");
    Some(certs)
}

fn worker_file(s: &Scratch, keystore: &str) -> std::path::PathBuf {
    s.write("users.properties", "admin=s3cret\n");
    let content = format!(
        "embedded.log.dir={data}\n\
         offset.storage.file.filename={offsets}\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         listeners=https://127.0.0.1:0,http://127.0.0.1:0\n\
         listeners.https.ssl.keystore.type=PEM\n\
         listeners.https.ssl.keystore.location={keystore}\n\
         rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n\
         rest.basic.auth.credentials.file={users}\n",
        data = s.path("data").display(),
        offsets = s.path("connect.offsets").display(),
        users = s.path("users.properties").display(),
    );
    s.write("worker.properties", &content)
}

/// Runs curl with extra arguments; returns its exit code, the HTTP status and the body.
fn curl_with(args: &[&str], url: &str) -> (i32, u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl must be installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        out.status.code().unwrap_or(-1),
        code.trim().parse().unwrap_or(0),
        body.to_string(),
    )
}

#[test]
fn https_listener_serves_clients_that_trust_its_certificate() {
    let Some(certs) = certs() else { return };
    let s = Scratch::new();
    let worker = worker_file(&s, &certs.path("server-keystore.pem"));
    let log = "worker.log";
    let mut child = Running(s.spawn(&["standalone", worker.to_str().unwrap()], log));
    let mut urls = Vec::new();
    wait_until("both REST listeners", Duration::from_secs(60), || {
        urls = s
            .read_log(log)
            .split("REST API listening on ")
            .skip(1)
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_string)
            .collect();
        urls.len() == 2
    });
    let https = urls.iter().find(|u| u.starts_with("https://")).unwrap();
    let http = urls.iter().find(|u| u.starts_with("http://")).unwrap();
    let cacert = certs.path("ca.pem");
    let trusted = ["--cacert", cacert.as_str(), "-u", "admin:s3cret"];

    wait_until("the https API to answer", Duration::from_secs(60), || {
        curl_with(&trusted, &format!("{https}/")).1 == 200
    });
    let (code, status, body) = curl_with(&trusted, &format!("{https}/connectors"));
    assert_eq!((code, status, body.as_str()), (0, 200, "[]"));
    let (_, status, body) = curl_with(&trusted, &format!("{https}/openapi.json"));
    assert_eq!(status, 200);
    assert!(body.starts_with("{\"openapi\":\"3.0.3\""), "{body}");

    // Basic authentication applies on https too.
    let (code, status, body) = curl_with(&["--cacert", &cacert], &format!("{https}/connectors"));
    assert_eq!((code, status), (0, 401), "{body}");
    assert!(body.contains("User cannot access the resource."), "{body}");
    let (_, status, _) = curl_with(
        &["--cacert", &cacert, "-u", "admin:wrong"],
        &format!("{https}/connectors"),
    );
    assert_eq!(status, 401);

    // A client that does not trust the certificate fails verification (curl exit 60).
    let (code, status, _) = curl_with(&["-u", "admin:s3cret"], &format!("{https}/connectors"));
    assert_eq!((code, status), (60, 0));
    // Plain HTTP to the https port is not served.
    let plain = https.replacen("https://", "http://", 1);
    let (_, status, _) = curl_with(&["-u", "admin:s3cret"], &format!("{plain}/connectors"));
    assert_ne!(status, 200);

    // The http listener serves the same API alongside.
    let (status, body) = curl("GET", &format!("{http}/connectors"), None, &[]);
    assert_eq!(status, 401, "{body}");
    let (code, status, body) = curl_with(&["-u", "admin:s3cret"], &format!("{http}/connectors"));
    assert_eq!((code, status, body.as_str()), (0, 200, "[]"));

    // The CLI client over https.
    let connector = s.write(
        "gen.properties",
        "name=gen\nconnector.class=io.sluice.connect.datagen.DatagenConnector\nkafka.topic=t\nmax.interval=1000\niterations=1\n",
    );
    let cli = |args: &[&str]| {
        Command::new(sluice_bin())
            .args(["connectors", "--url", https, "--cacert", &cacert])
            .args(args)
            .env("SLUICE_AUTH", "admin:s3cret")
            .output()
            .unwrap()
    };
    let out = cli(&["create", connector.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["list", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[\n  \"gen\"\n]"
    );
    let untrusted = Command::new(sluice_bin())
        .args(["connectors", "--url", https, "list"])
        .env("SLUICE_AUTH", "admin:s3cret")
        .output()
        .unwrap();
    assert!(!untrusted.status.success());
    let insecure = Command::new(sluice_bin())
        .args(["connectors", "--url", https, "--insecure", "list", "--json"])
        .env("SLUICE_AUTH", "admin:s3cret")
        .output()
        .unwrap();
    assert!(
        insecure.status.success(),
        "{}",
        String::from_utf8_lossy(&insecure.stderr)
    );

    signal(&child.0, "TERM");
    assert!(wait_exit(&mut child.0, Duration::from_secs(60)).success());
}

#[test]
fn unreadable_keystores_stop_startup_naming_the_key() {
    let s = Scratch::new();
    let worker = worker_file(&s, &s.path("missing.pem").display().to_string());
    let out = s.run(&["standalone", worker.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("named by listeners.https.ssl.keystore.location"),
        "{stderr}"
    );
    s.write("garbage.pem", "not a certificate\n");
    let worker = worker_file(&s, &s.path("garbage.pem").display().to_string());
    let out = s.run(&["standalone", worker.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid listeners.https.ssl.keystore.location for the https listener: no PEM certificate"),
        "{stderr}"
    );
}

#[test]
fn client_certificates_are_checked_when_required() {
    let Some(certs) = certs() else { return };
    let s = Scratch::new();
    let content = format!(
        "embedded.log.dir={data}\n\
         offset.storage.file.filename={offsets}\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         listeners=https://127.0.0.1:0\n\
         listeners.https.ssl.keystore.location={keystore}\n\
         listeners.https.ssl.client.auth=required\n\
         listeners.https.ssl.truststore.type=PEM\n\
         listeners.https.ssl.truststore.location={trusted}\n",
        data = s.path("data").display(),
        offsets = s.path("connect.offsets").display(),
        keystore = certs.path("server-keystore.pem"),
        trusted = certs.path("ca.pem"),
    );
    let worker = s.write("worker.properties", &content);
    let log = "worker.log";
    let mut child = Running(s.spawn(&["standalone", worker.to_str().unwrap()], log));
    let mut url = String::new();
    wait_until("the https listener", Duration::from_secs(60), || {
        match s.read_log(log).split("REST API listening on ").nth(1) {
            Some(rest) => {
                url = rest.split_whitespace().next().unwrap_or("").to_string();
                true
            }
            None => false,
        }
    });
    let cacert = certs.path("ca.pem");
    let cert = certs.path("client.pem");
    let key = certs.path("client.key");
    let with_cert = [
        "--cacert",
        cacert.as_str(),
        "--cert",
        cert.as_str(),
        "--key",
        key.as_str(),
    ];
    wait_until("the API to answer", Duration::from_secs(60), || {
        curl_with(&with_cert, &format!("{url}/")).1 == 200
    });
    let (code, status, body) = curl_with(&with_cert, &format!("{url}/connectors"));
    assert_eq!((code, status, body.as_str()), (0, 200, "[]"));
    // Without a client certificate the handshake fails: no HTTP answer at all.
    let (code, status, _) = curl_with(&["--cacert", &cacert], &format!("{url}/connectors"));
    assert_ne!(code, 0);
    assert_eq!(status, 0);
    // A certificate that does not chain to the truststore is refused too.
    let (code, status, _) = curl_with(
        &[
            "--cacert",
            &cacert,
            "--cert",
            &certs.path("other-ca.pem"),
            "--key",
            &certs.path("other-ca.key"),
        ],
        &format!("{url}/connectors"),
    );
    assert_ne!(code, 0);
    assert_eq!(status, 0);
    signal(&child.0, "TERM");
    assert!(wait_exit(&mut child.0, Duration::from_secs(60)).success());
}

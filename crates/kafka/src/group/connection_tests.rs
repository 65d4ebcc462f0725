//! The SASL logins of [`Connection`] that the test brokers cannot run (they store no users):
//! against a scripted broker on a local socket that speaks just enough of Kafka's protocol
//! (ApiVersions, SaslHandshake, SaslAuthenticate version 1, Heartbeat version 0) and checks
//! PLAIN credentials or runs the server side of SCRAM-SHA-256 (RFC 5802) itself.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::HeartbeatRequest;
use ring::{digest, hmac, pbkdf2};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Connection;
use crate::group::{GroupError, GroupSasl, Mechanism};

const API_VERSIONS: i16 = 18;
const SASL_HANDSHAKE: i16 = 17;
const SASL_AUTHENTICATE: i16 = 36;
const HEARTBEAT: i16 = 12;
const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// The one user the scripted broker knows.
const USER: &str = "alice";
const PASSWORD: &str = "alice-secret";
const SALT: &[u8] = b"scripted salt";
const ITERATIONS: u32 = 4096;

/// What the scripted broker saw: the API key of every request, in order.
type Seen = Arc<Mutex<Vec<i16>>>;

/// Starts the scripted broker; it offers `mechanism` and announces `lifetime_ms` as the
/// session lifetime of a successful login.
async fn scripted_broker(mechanism: &'static str, lifetime_ms: i64) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, mechanism, lifetime_ms, Arc::clone(&log)));
        }
    });
    (addr, seen)
}

/// Serves one connection until the client closes it.
async fn serve(mut stream: TcpStream, mechanism: &'static str, lifetime_ms: i64, seen: Seen) {
    let mut scram = ScramServer::default();
    loop {
        let Ok(size) = stream.read_i32().await else {
            return;
        };
        let mut frame = vec![0u8; usize::try_from(size).unwrap()];
        stream.read_exact(&mut frame).await.unwrap();
        let mut frame = Bytes::from(frame);
        let (key, correlation) = (frame.get_i16(), {
            let _version = frame.get_i16();
            frame.get_i32()
        });
        let client_id = usize::try_from(frame.get_i16()).unwrap();
        frame.advance(client_id);
        seen.lock().unwrap().push(key);
        let mut body = BytesMut::new();
        match key {
            API_VERSIONS => {
                // Version 3 (flexible): error, compact array of (key, min, max, no tags),
                // throttle time, no tags.
                body.put_i16(0);
                let apis = [
                    (API_VERSIONS, 0, 3),
                    (SASL_HANDSHAKE, 1, 1),
                    (SASL_AUTHENTICATE, 1, 1),
                    (HEARTBEAT, 0, 0),
                ];
                body.put_u8(u8::try_from(apis.len() + 1).unwrap());
                for (k, min, max) in apis {
                    body.put_i16(k);
                    body.put_i16(min);
                    body.put_i16(max);
                    body.put_u8(0);
                }
                body.put_i32(0);
                body.put_u8(0);
            }
            SASL_HANDSHAKE => {
                let asked_len = usize::try_from(frame.get_i16()).unwrap();
                let asked = String::from_utf8(frame.split_to(asked_len).to_vec()).unwrap();
                body.put_i16(if asked == mechanism { 0 } else { 33 });
                body.put_i32(1);
                body.put_i16(i16::try_from(mechanism.len()).unwrap());
                body.put_slice(mechanism.as_bytes());
            }
            SASL_AUTHENTICATE => {
                let len = usize::try_from(frame.get_i32()).unwrap();
                let message = frame.split_to(len);
                let outcome = match mechanism {
                    "PLAIN" => plain_check(&message),
                    _ => scram.step(&String::from_utf8_lossy(&message)),
                };
                let (code, error, reply, lifetime) = match outcome {
                    Ok((reply, done)) => (0, None, reply, if done { lifetime_ms } else { 0 }),
                    Err(e) => (SASL_AUTHENTICATION_FAILED, Some(e), String::new(), 0),
                };
                body.put_i16(code);
                match error {
                    Some(e) => {
                        body.put_i16(i16::try_from(e.len()).unwrap());
                        body.put_slice(e.as_bytes());
                    }
                    None => body.put_i16(-1),
                }
                body.put_i32(i32::try_from(reply.len()).unwrap());
                body.put_slice(reply.as_bytes());
                body.put_i64(lifetime);
            }
            HEARTBEAT => body.put_i16(0),
            other => panic!("the scripted broker got API key {other}"),
        }
        let mut out = BytesMut::new();
        out.put_i32(i32::try_from(body.len() + 4).unwrap());
        out.put_i32(correlation);
        out.put_slice(&body);
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// PLAIN: `\0user\0password`.
fn plain_check(message: &[u8]) -> Result<(String, bool), String> {
    if message == format!("\0{USER}\0{PASSWORD}").as_bytes() {
        Ok((String::new(), true))
    } else {
        Err("Authentication failed: Invalid username or password".into())
    }
}

/// The server side of SCRAM-SHA-256, written from RFC 5802.
#[derive(Default)]
struct ScramServer {
    /// The client's first message without its `n,,` header, and the server's first message.
    firsts: Option<(String, String)>,
}

impl ScramServer {
    fn salted() -> Vec<u8> {
        let mut salted = vec![0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(ITERATIONS).unwrap(),
            SALT,
            PASSWORD.as_bytes(),
            &mut salted,
        );
        salted
    }

    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
            .as_ref()
            .to_vec()
    }

    /// Answers a client message: `(reply, done)`, or a refusal.
    fn step(&mut self, message: &str) -> Result<(String, bool), String> {
        match self.firsts.take() {
            None => {
                let bare = message.strip_prefix("n,,").ok_or("no GS2 header")?;
                if !bare.starts_with(&format!("n={USER},")) {
                    return Err("unknown-user".into());
                }
                let nonce = bare.split_once(",r=").ok_or("no nonce")?.1;
                let first = format!(
                    "r={nonce}server-part,s={},i={ITERATIONS}",
                    BASE64.encode(SALT)
                );
                self.firsts = Some((bare.to_owned(), first.clone()));
                Ok((first, false))
            }
            Some((client_first, server_first)) => {
                let (without_proof, proof) = message.split_once(",p=").ok_or("no proof")?;
                let auth_message = format!("{client_first},{server_first},{without_proof}");
                let salted = Self::salted();
                let stored_key =
                    digest::digest(&digest::SHA256, &Self::hmac(&salted, b"Client Key"));
                let signature = Self::hmac(stored_key.as_ref(), auth_message.as_bytes());
                let proof = BASE64.decode(proof).map_err(|e| e.to_string())?;
                let client_key: Vec<u8> =
                    proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
                if digest::digest(&digest::SHA256, &client_key).as_ref() != stored_key.as_ref() {
                    return Err("invalid-proof".into());
                }
                let server_key = Self::hmac(&salted, b"Server Key");
                let verifier = Self::hmac(&server_key, auth_message.as_bytes());
                Ok((format!("v={}", BASE64.encode(verifier)), true))
            }
        }
    }
}

async fn login(addr: &str, sasl: &GroupSasl) -> Result<Connection, GroupError> {
    Connection::connect(addr, "scripted", Duration::from_secs(5), None, Some(sasl)).await
}

async fn heartbeat(conn: &Connection) {
    let request = HeartbeatRequest::default();
    let response = conn.send(&request, 0).await.unwrap();
    assert_eq!(response.error_code, 0);
}

#[tokio::test]
async fn plain_and_scram_logins_succeed_and_wrong_passwords_are_refused() {
    let (plain, _) = scripted_broker("PLAIN", 0).await;
    let conn = login(&plain, &GroupSasl::new(Mechanism::Plain, USER, PASSWORD))
        .await
        .unwrap();
    heartbeat(&conn).await;
    let err = login(&plain, &GroupSasl::new(Mechanism::Plain, USER, "wrong"))
        .await
        .unwrap_err();
    assert!(err.is_fatal(), "{err}");
    assert!(
        err.to_string()
            .ends_with("failed: Authentication failed: Invalid username or password"),
        "{err}"
    );

    let (scram, seen) = scripted_broker("SCRAM-SHA-256", 0).await;
    let conn = login(
        &scram,
        &GroupSasl::new(Mechanism::ScramSha256, USER, PASSWORD),
    )
    .await
    .unwrap();
    heartbeat(&conn).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            API_VERSIONS,
            SASL_HANDSHAKE,
            SASL_AUTHENTICATE,
            SASL_AUTHENTICATE,
            HEARTBEAT
        ]
    );
    let err = login(
        &scram,
        &GroupSasl::new(Mechanism::ScramSha256, USER, "wrong"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().ends_with("failed: invalid-proof"), "{err}");
}

#[tokio::test]
async fn a_session_is_renewed_before_its_lifetime_ends() {
    let (addr, seen) = scripted_broker("SCRAM-SHA-256", 400).await;
    let conn = login(
        &addr,
        &GroupSasl::new(Mechanism::ScramSha256, USER, PASSWORD),
    )
    .await
    .unwrap();
    heartbeat(&conn).await;
    let logins = || {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|&&k| k == SASL_HANDSHAKE)
            .count()
    };
    assert_eq!(logins(), 1);
    // Past 85 % of the 400 ms lifetime, the next request logs in again first.
    tokio::time::sleep(Duration::from_millis(400)).await;
    heartbeat(&conn).await;
    assert_eq!(logins(), 2);
    let requests = seen.lock().unwrap().clone();
    assert_eq!(
        requests[requests.len() - 4..],
        [
            SASL_HANDSHAKE,
            SASL_AUTHENTICATE,
            SASL_AUTHENTICATE,
            HEARTBEAT
        ]
    );
}

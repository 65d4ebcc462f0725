//! SASL for the membership connection (`security.protocol` `SASL_PLAINTEXT` or `SASL_SSL`).
//!
//! The worker config is shared by every Kafka client of a worker, so this module reads the
//! same keys the librdkafka clients read (see [`crate::config`]):
//!
//! - `sasl.mechanism`: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (Kafka's default, `GSSAPI`,
//!   and `OAUTHBEARER` are refused with a message naming the key);
//! - the credentials: `sasl.jaas.config` with Kafka's `PlainLoginModule` or
//!   `ScramLoginModule` (`username="..." password="..."`), or librdkafka's `sasl.username` and
//!   `sasl.password`.
//!
//! After ApiVersions, a connection sends SaslHandshake (version 1, so the exchange that follows
//! is framed in SaslAuthenticate requests) and then the mechanism's messages: one for PLAIN
//! (RFC 4616), two for SCRAM (RFC 5802 and 7677: the client's first message with a fresh
//! nonce, then its proof; the broker's final message proves that it knows the password too,
//! and a connection whose broker cannot prove it is refused). When the broker limits the
//! session's lifetime (`connections.max.reauth.ms`), the connection authenticates again before
//! the lifetime ends, as Kafka's clients do.

use std::num::NonZeroU32;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};
use sluice_api::config::ConfigMap;

use super::GroupError;

/// The fewest SCRAM iterations accepted from a broker (Kafka's minimum for its mechanisms).
const MIN_SCRAM_ITERATIONS: u32 = 4096;

/// A SASL mechanism the membership connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// `PLAIN`: the user name and password, in the clear (use it with TLS).
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl Mechanism {
    /// Kafka's name of the mechanism.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// The SASL settings of the membership connection, read from the worker config.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupSasl {
    mechanism: Mechanism,
    username: String,
    password: String,
}

impl std::fmt::Debug for GroupSasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSasl")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl GroupSasl {
    /// Settings for `mechanism` with these credentials.
    pub fn new(mechanism: Mechanism, username: &str, password: &str) -> Self {
        GroupSasl {
            mechanism,
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    /// Reads the SASL settings of a worker config (see the module docs). Call it only when
    /// `security.protocol` asks for SASL.
    pub fn from_worker_config(props: &ConfigMap) -> Result<GroupSasl, GroupError> {
        const MECHANISM: &str = "sasl.mechanism";
        let named = props.get(MECHANISM).map_or("GSSAPI", |m| m.trim());
        let mechanism = match named.to_ascii_uppercase().as_str() {
            "PLAIN" => Mechanism::Plain,
            "SCRAM-SHA-256" => Mechanism::ScramSha256,
            "SCRAM-SHA-512" => Mechanism::ScramSha512,
            _ => {
                return Err(config_error(
                    MECHANISM,
                    format!(
                        "`{named}` is not supported by the worker group connection, which speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512{}",
                        if props.contains_key(MECHANISM) { "" } else { " (Kafka's default is GSSAPI: set the key)" }
                    ),
                ))
            }
        };
        let mut username = props.get("sasl.username").cloned();
        let mut password = props.get("sasl.password").cloned();
        if let Some(jaas) = props.get("sasl.jaas.config") {
            let pairs = crate::config::translate("sasl.jaas.config", jaas, None, None)
                .map_err(|e| config_error("sasl.jaas.config", e.to_string()))?;
            for (key, value) in pairs {
                match key.as_str() {
                    "sasl.username" => username = Some(value),
                    "sasl.password" => password = Some(value),
                    _ => {}
                }
            }
        }
        let credential = |value: Option<String>, what: &str| {
            value.filter(|v| !v.is_empty()).ok_or_else(|| {
                config_error(
                    "sasl.jaas.config",
                    format!(
                        "{} needs a {what}: give sasl.jaas.config with Kafka's PlainLoginModule or ScramLoginModule and {what}=\"...\", or sasl.{what}",
                        mechanism.name()
                    ),
                )
            })
        };
        Ok(GroupSasl {
            mechanism,
            username: credential(username, "username")?,
            password: credential(password, "password")?,
        })
    }

    /// The mechanism.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// A new exchange of messages for one authentication.
    pub(super) fn exchange(&self) -> Result<Exchange, SaslError> {
        let scram = match self.mechanism {
            Mechanism::Plain => {
                return Ok(Exchange::Plain {
                    message: plain_message(&self.username, &self.password),
                })
            }
            Mechanism::ScramSha256 => Scram::sha256(),
            Mechanism::ScramSha512 => Scram::sha512(),
        };
        let mut nonce = [0u8; 24];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_unspecified| SaslError("no random bytes for the SCRAM nonce".into()))?;
        Ok(Exchange::Scram(ScramClient::new(
            scram,
            &self.username,
            &self.password,
            &BASE64.encode(nonce),
        )))
    }
}

fn config_error(key: &str, message: impl Into<String>) -> GroupError {
    GroupError::Config {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// The broker's answer did not follow the mechanism, or did not prove the broker's identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SaslError(pub String);

/// The client's side of one authentication.
pub(super) enum Exchange {
    /// PLAIN: one message, then done.
    Plain {
        /// The message.
        message: Vec<u8>,
    },
    /// SCRAM: the first message, the proof, then the broker's proof is checked.
    Scram(ScramClient),
}

/// PLAIN's message (RFC 4616): no authorization id, the user name and the password, each
/// after a NUL byte.
fn plain_message(username: &str, password: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(username.len() + password.len() + 2);
    message.push(0);
    message.extend_from_slice(username.as_bytes());
    message.push(0);
    message.extend_from_slice(password.as_bytes());
    message
}

/// The hash functions of a SCRAM mechanism.
#[derive(Clone, Copy)]
struct Scram {
    pbkdf2: pbkdf2::Algorithm,
    hmac: hmac::Algorithm,
    digest: &'static digest::Algorithm,
}

impl Scram {
    fn sha256() -> Scram {
        Scram {
            pbkdf2: pbkdf2::PBKDF2_HMAC_SHA256,
            hmac: hmac::HMAC_SHA256,
            digest: &digest::SHA256,
        }
    }

    fn sha512() -> Scram {
        Scram {
            pbkdf2: pbkdf2::PBKDF2_HMAC_SHA512,
            hmac: hmac::HMAC_SHA512,
            digest: &digest::SHA512,
        }
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> hmac::Tag {
        hmac::sign(&hmac::Key::new(self.hmac, key), data)
    }
}

/// A SCRAM client (RFC 5802): builds the client's messages and checks the server's.
pub(super) struct ScramClient {
    scram: Scram,
    password: String,
    nonce: String,
    /// `n=<user>,r=<nonce>`, part of the signed message.
    first_bare: String,
    /// The server's key, once the proof is sent: checks the server's final message.
    server_key: Option<(Vec<u8>, String)>,
}

impl ScramClient {
    fn new(scram: Scram, username: &str, password: &str, nonce: &str) -> Self {
        let name = username.replace('=', "=3D").replace(',', "=2C");
        ScramClient {
            scram,
            password: password.to_owned(),
            nonce: nonce.to_owned(),
            first_bare: format!("n={name},r={nonce}"),
            server_key: None,
        }
    }

    /// The client's first message (no channel binding, no authorization id).
    pub(super) fn first(&self) -> String {
        format!("n,,{}", self.first_bare)
    }

    /// The client's final message, with its proof, answering the server's first message.
    pub(super) fn respond(&mut self, server_first: &str) -> Result<String, SaslError> {
        let attr = |name: char| attribute(server_first, name);
        if let Some(error) = attr('e') {
            return Err(SaslError(format!("the broker refused: {error}")));
        }
        if attr('m').is_some() {
            return Err(SaslError(
                "the broker asks for a SCRAM extension this client does not know".into(),
            ));
        }
        let nonce = attr('r').ok_or_else(|| malformed(server_first))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(SaslError(
                "the broker's nonce does not extend this client's".into(),
            ));
        }
        let salt = attr('s')
            .and_then(|s| BASE64.decode(s).ok())
            .ok_or_else(|| malformed(server_first))?;
        let iterations: u32 = attr('i')
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| malformed(server_first))?;
        if iterations < MIN_SCRAM_ITERATIONS {
            return Err(SaslError(format!(
                "the broker asks for {iterations} iterations, fewer than the minimum {MIN_SCRAM_ITERATIONS}"
            )));
        }
        let rounds = NonZeroU32::new(iterations).ok_or_else(|| malformed(server_first))?;
        let mut salted = vec![0u8; self.scram.digest.output_len()];
        pbkdf2::derive(
            self.scram.pbkdf2,
            rounds,
            &salt,
            self.password.as_bytes(),
            &mut salted,
        );
        let client_key = self.scram.hmac(&salted, b"Client Key");
        let stored_key = digest::digest(self.scram.digest, client_key.as_ref());
        // "biws" is the base64 of "n,,": no channel binding.
        let final_bare = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{final_bare}", self.first_bare);
        let signature = self
            .scram
            .hmac(stored_key.as_ref(), auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(signature.as_ref())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = self.scram.hmac(&salted, b"Server Key");
        self.server_key = Some((server_key.as_ref().to_vec(), auth_message));
        Ok(format!("{final_bare},p={}", BASE64.encode(proof)))
    }

    /// Checks the server's final message: its signature proves it knows the password.
    pub(super) fn verify(&self, server_final: &str) -> Result<(), SaslError> {
        if let Some(error) = attribute(server_final, 'e') {
            return Err(SaslError(format!("the broker refused: {error}")));
        }
        let (server_key, auth_message) = self
            .server_key
            .as_ref()
            .ok_or_else(|| SaslError("the broker ended the exchange early".into()))?;
        let signature = attribute(server_final, 'v')
            .and_then(|v| BASE64.decode(v).ok())
            .ok_or_else(|| malformed(server_final))?;
        hmac::verify(
            &hmac::Key::new(self.scram.hmac, server_key),
            auth_message.as_bytes(),
            &signature,
        )
        .map_err(|_unspecified| {
            SaslError(
                "the broker's signature is wrong: it does not know this user's password".into(),
            )
        })
    }
}

/// The value of attribute `name` (`name=value`) in a SCRAM message.
fn attribute(message: &str, name: char) -> Option<&str> {
    message.split(',').find_map(|part| {
        let mut chars = part.chars();
        (chars.next() == Some(name) && chars.next() == Some('=')).then(|| &part[2..])
    })
}

fn malformed(message: &str) -> SaslError {
    SaslError(format!(
        "malformed SCRAM message from the broker: `{message}`"
    ))
}

/// When to authenticate again, for a session lifetime the broker announced (0: none): at
/// 85 % of it, as Kafka's clients do at the earliest.
pub(super) fn reauthenticate_after(session_lifetime_ms: i64) -> Option<Duration> {
    u64::try_from(session_lifetime_ms)
        .ok()
        .filter(|&ms| ms > 0)
        .map(|ms| Duration::from_millis(ms * 85 / 100))
}

#[cfg(test)]
mod tests {
    use super::super::props;
    use super::*;

    /// The SCRAM-SHA-256 example exchange of RFC 7677, section 3.
    #[test]
    fn scram_sha_256_matches_the_rfc_example() {
        let mut client =
            ScramClient::new(Scram::sha256(), "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(client.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let reply = client
            .respond("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            reply,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        client
            .verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        let forged = client
            .verify("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert!(forged.0.contains("signature is wrong"), "{forged}");
    }

    /// A SCRAM server's check, written from RFC 5802's server side: recovers the client key
    /// from the proof and compares its hash with the stored key.
    fn server_accepts(
        scram: Scram,
        password: &str,
        salt: &[u8],
        auth_message: &str,
        proof: &[u8],
    ) -> bool {
        let mut salted = vec![0u8; scram.digest.output_len()];
        pbkdf2::derive(
            scram.pbkdf2,
            NonZeroU32::new(4096).unwrap(),
            salt,
            password.as_bytes(),
            &mut salted,
        );
        let stored_key = digest::digest(scram.digest, scram.hmac(&salted, b"Client Key").as_ref());
        let signature = scram.hmac(stored_key.as_ref(), auth_message.as_bytes());
        let client_key: Vec<u8> = proof
            .iter()
            .zip(signature.as_ref())
            .map(|(p, s)| p ^ s)
            .collect();
        digest::digest(scram.digest, &client_key).as_ref() == stored_key.as_ref()
    }

    #[test]
    fn scram_sha_512_proof_is_accepted_by_a_server_knowing_the_password_only() {
        let scram = Scram::sha512();
        let mut client = ScramClient::new(scram, "al,ice=", "s3cret", "clientnonce");
        assert_eq!(client.first(), "n,,n=al=2Cice=3D,r=clientnonce");
        let salt = b"some salt";
        let server_first = format!("r=clientnonceSERVER,s={},i=4096", BASE64.encode(salt));
        let reply = client.respond(&server_first).unwrap();
        let (bare, proof) = reply.split_once(",p=").unwrap();
        assert_eq!(bare, "c=biws,r=clientnonceSERVER");
        let auth_message = format!("n=al=2Cice=3D,r=clientnonce,{server_first},{bare}");
        let proof = BASE64.decode(proof).unwrap();
        assert_eq!(proof.len(), 64);
        assert!(server_accepts(scram, "s3cret", salt, &auth_message, &proof));
        assert!(!server_accepts(scram, "wrong", salt, &auth_message, &proof));
    }

    #[test]
    fn bad_server_messages_are_refused() {
        let scram = Scram::sha256();
        let cases = [
            ("e=unknown-user", "the broker refused: unknown-user"),
            ("r=someoneelse,s=c2FsdA==,i=4096", "does not extend"),
            ("r=abc,s=c2FsdA==,i=4096", "does not extend"),
            ("r=abcdef,s=c2FsdA==,i=100", "fewer than the minimum 4096"),
            ("r=abcdef,i=4096", "malformed"),
            ("m=ext,r=abcdef,s=c2FsdA==,i=4096", "extension"),
        ];
        for (server_first, expected) in cases {
            let mut client = ScramClient::new(scram, "u", "p", "abc");
            let err = client.respond(server_first).unwrap_err();
            assert!(err.0.contains(expected), "{server_first}: {err}");
        }
        let client = ScramClient::new(scram, "u", "p", "abc");
        assert!(client.verify("v=AAAA").unwrap_err().0.contains("early"));
        assert!(client
            .verify("e=invalid-proof")
            .unwrap_err()
            .0
            .contains("invalid-proof"));
    }

    #[test]
    fn plain_sends_the_name_and_password_after_nul_bytes() {
        assert_eq!(plain_message("alice", "pw"), b"\0alice\0pw");
    }

    #[test]
    fn credentials_come_from_jaas_or_librdkafka_keys() {
        let jaas = GroupSasl::from_worker_config(&props(&[
            ("sasl.mechanism", "scram-sha-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a\"b";"#,
            ),
        ]))
        .unwrap();
        assert_eq!(
            jaas,
            GroupSasl::new(Mechanism::ScramSha512, "alice", "a\"b")
        );
        let plain = GroupSasl::from_worker_config(&props(&[
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "bob"),
            ("sasl.password", "pw"),
        ]))
        .unwrap();
        assert_eq!(plain, GroupSasl::new(Mechanism::Plain, "bob", "pw"));
        assert!(
            !format!("{plain:?}").contains("pw"),
            "the password is not printed"
        );
    }

    #[test]
    fn unsupported_mechanisms_and_missing_credentials_name_the_key() {
        let cases = [
            (
                vec![("sasl.username", "u"), ("sasl.password", "p")],
                "sasl.mechanism",
                "GSSAPI",
            ),
            (
                vec![("sasl.mechanism", "OAUTHBEARER")],
                "sasl.mechanism",
                "OAUTHBEARER",
            ),
            (
                vec![("sasl.mechanism", "PLAIN"), ("sasl.username", "u")],
                "sasl.jaas.config",
                "password",
            ),
        ];
        for (pairs, key, text) in cases {
            let err = GroupSasl::from_worker_config(&props(&pairs)).unwrap_err();
            assert!(
                matches!(&err, GroupError::Config { key: k, .. } if k == key),
                "{err}"
            );
            assert!(err.to_string().contains(text), "{err}");
        }
    }

    #[test]
    fn a_session_lifetime_is_renewed_before_it_ends() {
        assert_eq!(reauthenticate_after(0), None);
        assert_eq!(reauthenticate_after(-1), None);
        assert_eq!(
            reauthenticate_after(10_000),
            Some(Duration::from_millis(8_500))
        );
    }
}

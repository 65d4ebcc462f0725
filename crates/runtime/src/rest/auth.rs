//! HTTP basic authentication of the REST API, as Kafka's `BasicAuthSecurityRestExtension`.
//!
//! Turned on by listing the extension in `rest.extension.classes`; the users are the
//! `user=password` lines of `rest.basic.auth.credentials.file`, read once at startup
//! ([`BasicAuth::load`]). [`require`] wraps a router so that every request, whatever its
//! path or method, is checked before any handler runs: a request without an `Authorization:
//! Basic` header, or with a user and password that do not match, is answered
//! `401 Unauthorized` with `WWW-Authenticate: Basic` and changes nothing. Passwords are
//! compared in constant time, and every user is compared, so the time of an answer tells
//! nothing about which part was wrong.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;

use super::ApiError;
use crate::properties::{self, PropertiesError};

/// The realm announced in `WWW-Authenticate`.
const CHALLENGE: &str = "Basic realm=\"Sluice Connect\"";

/// A failure to read the credentials file.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The extension is on but no file is named.
    #[error("rest.extension.classes turns on basic authentication, but rest.basic.auth.credentials.file is not set")]
    NoFile,
    /// The file cannot be read.
    #[error("cannot read rest.basic.auth.credentials.file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a properties file.
    #[error("rest.basic.auth.credentials.file {path} is not a valid properties file: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: PropertiesError,
    },
    /// The file has no user.
    #[error("rest.basic.auth.credentials.file {path} has no user=password line")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// The users basic authentication accepts.
pub struct BasicAuth {
    users: Vec<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.len())
            .finish()
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

impl BasicAuth {
    /// Users from `user=password` pairs.
    pub fn new<I, U, P>(users: I) -> BasicAuth
    where
        I: IntoIterator<Item = (U, P)>,
        U: Into<String>,
        P: Into<String>,
    {
        BasicAuth {
            users: users
                .into_iter()
                .map(|(u, p)| (u.into().into_bytes(), p.into().into_bytes()))
                .collect(),
        }
    }

    /// Reads the users of a credentials file (`None`: the key is unset).
    pub fn load(path: Option<&Path>) -> Result<BasicAuth, AuthError> {
        let path = path.ok_or(AuthError::NoFile)?;
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let entries = properties::parse_entries(&text).map_err(|source| AuthError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        if entries.is_empty() {
            return Err(AuthError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(BasicAuth::new(entries))
    }

    /// Whether an `Authorization` header carries the credentials of a user.
    pub fn accepts(&self, header: Option<&HeaderValue>) -> bool {
        let Some(header) = header.and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let Some((scheme, encoded)) = header.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|b| *b == b':') else {
            return false;
        };
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        // Compare every user, without stopping early.
        self.users.iter().fold(false, |found, (u, p)| {
            let matches = constant_time_eq(u, user) & constant_time_eq(p, password);
            found | matches
        })
    }
}

async fn check(State(auth): State<Arc<BasicAuth>>, request: Request, next: Next) -> Response {
    if auth.accepts(request.headers().get(AUTHORIZATION)) {
        return next.run(request).await;
    }
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "User cannot access the resource.").into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
    response
}

/// Wraps a router so that every request needs the credentials of a user of `auth`.
pub fn require(router: Router, auth: Arc<BasicAuth>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(auth, check))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user_pass: &str) -> HeaderValue {
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_pass);
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    #[test]
    fn only_listed_users_with_their_passwords_pass() {
        let auth = BasicAuth::new([("alice", "s3cret:x"), ("bob", "pw")]);
        assert!(auth.accepts(Some(&header("alice:s3cret:x"))));
        assert!(auth.accepts(Some(&header("bob:pw"))));
        for bad in ["alice:s3cret", "alice:", "bob:pwx", "carol:pw", ":", "bob"] {
            assert!(!auth.accepts(Some(&header(bad))), "{bad}");
        }
        assert!(!auth.accepts(None));
        assert!(!auth.accepts(Some(&HeaderValue::from_static("Bearer abc"))));
        assert!(!auth.accepts(Some(&HeaderValue::from_static("Basic %%%"))));
        let lower = HeaderValue::from_str(&format!(
            "basic {}",
            base64::engine::general_purpose::STANDARD.encode("bob:pw")
        ))
        .unwrap();
        assert!(auth.accepts(Some(&lower)));
    }

    #[test]
    fn constant_time_comparison_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"\0"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn credentials_files_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.properties");
        std::fs::write(&file, "# users\nadmin=adm1n\nops: 0ps\n").unwrap();
        let auth = BasicAuth::load(Some(&file)).unwrap();
        assert!(auth.accepts(Some(&header("ops:0ps"))));
        assert!(auth.accepts(Some(&header("admin:adm1n"))));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "# nobody\n").unwrap();
        assert!(BasicAuth::load(Some(&empty))
            .unwrap_err()
            .to_string()
            .contains("no user=password line"));
        assert!(BasicAuth::load(Some(&dir.path().join("missing")))
            .unwrap_err()
            .to_string()
            .starts_with("cannot read rest.basic.auth.credentials.file"));
        assert!(BasicAuth::load(None)
            .unwrap_err()
            .to_string()
            .contains("rest.basic.auth.credentials.file is not set"));
    }
}

//! A minimal HTTP/1.1 client for tests against a real listener: one request per
//! connection, written by hand so that a test controls exactly what is sent (the
//! `Authorization` header above all) and sees the status and head as they arrive.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use base64::Engine as _;
use serde_json::Value as Json;

/// The answer to one request.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The head, lower-cased.
    pub head: String,
    /// The body, as sent.
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON.
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Sends `method path` with a JSON `body` to `addr` on its own connection, with basic
/// authentication as `auth` (`user:password`) when given, and reads the whole answer
/// (blocking; see [`call`] on the runtime's threads).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(user_pass) = auth {
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_pass);
        text.push_str(&format!("Authorization: Basic {encoded}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    Reply {
        status: head[9..12].parse().unwrap(),
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// [`request`] off the runtime's threads.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> Reply {
    let (method, path, auth, body) = (
        method.to_string(),
        path.to_string(),
        auth.map(str::to_string),
        body.to_string(),
    );
    tokio::task::spawn_blocking(move || request(addr, &method, &path, auth.as_deref(), &body))
        .await
        .unwrap()
}

//! HTTP as the tests speak it: a plain hyper client that sends exactly the request it is given
//! (no signing, no retry), and raw HTTP/1.1 over a socket for what a client library would not
//! send (heads that never end, lengths that lie, bytes trickled).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::bounds::hang_bound;

/// A plain HTTP/1.1 client.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A new [`HttpClient`] (its own connections).
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends `request` to `addr` (its path kept), through a new client: the status and the body.
/// Panics when there is no answer within the hang bound.
pub async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("http://{addr}{}", parts.uri.path())
        .parse()
        .unwrap();
    let path = parts.uri.path().to_owned();
    let bound = hang_bound(Duration::ZERO);
    let response = tokio::time::timeout(bound, client().request(Request::from_parts(parts, body)))
        .await
        .unwrap_or_else(|_| panic!("{path} unanswered within {bound:?}"))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

/// `GET path` (unsigned) at `addr`: the status and the body as text.
pub async fn get(addr: SocketAddr, path: &str) -> (StatusCode, String) {
    let request = Request::get(path).body(Full::default()).unwrap();
    let (status, body) = send(addr, request).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A request head as bytes: `POST path`, the given headers and `Content-Length`.
pub fn head(path: &str, headers: &HeaderMap, content_length: u64) -> Vec<u8> {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(format!("Content-Length: {content_length}\r\n\r\n").as_bytes());
    head
}

/// Reads until the server closes the connection (end of stream or reset); returns what came.
pub async fn read_until_closed(reader: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

//! The floors of `benches/load.sh` (`FLOOR=1`): a bare hyper server on the runtime the starter
//! uses (tokio's multi-thread scheduler, HTTP/1.1 with keep-alive, `TCP_NODELAY`) that reads each
//! request's body and answers `200 []`, with as much of an extension's work as it is told:
//!
//! - nothing (no option): no signature, no JSON, no log, no metrics, no deadlines. Its CPU time
//!   per request is what loopback HTTP costs on the machine (the kernel's TCP on both sides of
//!   each `recvfrom` and `writev`, tokio's wake-ups, hyper's parsing).
//! - `--scan`: the request's Drone signature verified (`Verifier::verify`: the `Digest` over the
//!   body and the HMAC, with the secret in `DRONE_SECRET`) and its body read as JSON without
//!   keeping any of it (`serde::de::IgnoredAny`): less than any model can cost, borrowed
//!   (zero-copy) ones included.
//! - `--work`: the signature verified and the body decoded into the crate's owned models
//!   (`GlobalSecretsRequest`), as its service decodes it: the work no extension built on these
//!   models can skip. What the starter takes above it is the cost of everything else (the
//!   server's hardening, the layers, the log line, the metrics).
//!
//! A request whose signature fails is answered `401`, a body that does not decode `400`.
//!
//! ```sh
//! cargo run --release -p drone-extension-bench-floor -- 127.0.0.1:3999
//! DRONE_SECRET=… cargo run --release -p drone-extension-bench-floor -- 127.0.0.1:3999 --work
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::IgnoredAny;

use drone_extension::drone::global_secrets::GlobalSecretsRequest;
use drone_extension::drone::kind::GLOBAL_SECRETS;
use drone_extension::signature::{Policy, SharedSecret, Verifier};

/// How much of an extension's work each request gets.
enum Work {
    /// None: the body read, `[]` answered.
    Nothing,
    /// The signature verified, the body read as JSON and dropped (`--scan`).
    Scan(Verifier),
    /// The signature verified, the body decoded into the owned models (`--work`).
    Decode(Verifier),
}

impl Work {
    /// The status of the answer to a request with this head and body.
    fn status(&self, parts: &http::request::Parts, body: &[u8]) -> StatusCode {
        let (verifier, decode): (_, fn(&str) -> bool) = match self {
            Work::Nothing => return StatusCode::OK,
            Work::Scan(verifier) => (verifier, |text| {
                serde_json::from_str::<IgnoredAny>(text).is_ok()
            }),
            Work::Decode(verifier) => (verifier, |text| {
                serde_json::from_str::<GlobalSecretsRequest>(text)
                    .map(std::hint::black_box)
                    .is_ok()
            }),
        };
        if verifier.verify(parts, body).is_err() {
            return StatusCode::UNAUTHORIZED;
        }
        // As the crate's service decodes: the UTF-8 checked once, then decoded as a `str`.
        match std::str::from_utf8(body) {
            Ok(text) if decode(text) => StatusCode::OK,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Reads the whole body (as the starter does before it answers), does `work` and answers `[]`.
async fn answer(
    work: Arc<Work>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let status = work.status(&parts, std::hint::black_box(&body));
    let mut response = Response::new(Full::new(Bytes::from_static(b"[]")));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3999".into());
    let option = args.next();
    let verifier = || {
        let secret = std::env::var("DRONE_SECRET").unwrap_or_default();
        SharedSecret::new(secret)
            .map(|secret| Verifier::new(secret, Policy::drone_extension(GLOBAL_SECRETS)))
            .map_err(|e| {
                let option = option.as_deref().unwrap_or_default();
                eprintln!("floor: {option} needs DRONE_SECRET, the requests' secret: {e}");
            })
    };
    let work = match option.as_deref() {
        None => Work::Nothing,
        Some("--scan") => match verifier() {
            Ok(verifier) => Work::Scan(verifier),
            Err(()) => return ExitCode::FAILURE,
        },
        Some("--work") => match verifier() {
            Ok(verifier) => Work::Decode(verifier),
            Err(()) => return ExitCode::FAILURE,
        },
        Some(other) => {
            eprintln!("floor: unknown option {other:?} (--scan or --work)");
            return ExitCode::FAILURE;
        }
    };
    let work = Arc::new(work);
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("floor: {addr:?} is not an address like 127.0.0.1:3999");
        return ExitCode::FAILURE;
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("floor: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let work = work.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(work.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

//! The floor of `benches/load.sh` (`FLOOR=1`): a bare hyper server on the runtime the starter
//! uses (tokio's multi-thread scheduler, HTTP/1.1 with keep-alive, `TCP_NODELAY`) that reads each
//! request's body and answers `200 []`, and does nothing else: no signature, no JSON, no log, no
//! metrics, no deadlines. Its CPU time per request is what loopback HTTP costs on the machine
//! (the kernel's TCP on both sides of each `recvfrom` and `writev`, tokio's wake-ups, hyper's
//! parsing), which no change to the starter can go under.
//!
//! ```sh
//! cargo run --release -p drone-extension-bench-floor -- 127.0.0.1:3999
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// Reads the whole body (as the starter does before it answers) and answers `[]`.
async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    std::hint::black_box(&body);
    let mut response = Response::new(Full::new(Bytes::from_static(b"[]")));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3999".into());
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
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}

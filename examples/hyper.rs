//! The extension of `examples/axum.rs` (an admission policy and a Drone 0.8 global secrets
//! provider, in `examples/shared/mod.rs`) on a plain hyper 1 server, with a path router written
//! by hand and an unsigned `GET /healthz`.
//!
//! ```sh
//! DRONE_SECRET=$(openssl rand -hex 16) cargo run --example hyper
//! ```
//!
//! `DRONE_SECRET` is the secret configured in Drone, `DRONE_BIND` the listen address (default
//! `0.0.0.0:3000`). Ctrl-C (or SIGTERM) stops accepting and waits up to 30 s for open connections.

mod shared;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use drone_extension::admission::{AdmissionService, Admitter};
use drone_extension::global_secrets::{GlobalSecretsService, SecretProvider};
use drone_extension::layer::{VerifySignature, VerifySignatureLayer};
use drone_extension::{BoxError, ExtensionKind};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use shared::Policy;
use tower::{Layer, ServiceBuilder, ServiceExt};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The router: each kind's service behind its own verifying layer (one per kind, for the
/// reasons given in examples/axum.rs), and `/healthz` outside them.
#[derive(Clone)]
struct Routes {
    admission: VerifySignature<AdmissionService<Policy>>,
    global_secrets: VerifySignature<GlobalSecretsService<Policy>>,
}

impl Routes {
    async fn route(self, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let get = request.method() == Method::GET;
        Ok(match request.uri().path() {
            "/admission" => self.admission.oneshot(request).await?.map(Body::new),
            "/global-secrets" => self.global_secrets.oneshot(request).await?.map(Body::new),
            "/healthz" if get => text(StatusCode::OK, "OK"),
            _ => text(StatusCode::NOT_FOUND, "Not Found"),
        })
    }
}

fn text(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed_unsync());
    *response.status_mut() = status;
    response
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    shared::init_tracing();
    let (secret, bind) = shared::settings()?;
    let routes = Routes {
        admission: VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret.clone())
            .layer(Admitter::into_service(Policy)),
        global_secrets: VerifySignatureLayer::for_kind(ExtensionKind::GlobalSecrets, secret)
            .layer(SecretProvider::into_service(Policy)),
    };
    // Clones share the limit, so it bounds requests (and bodies being read) over all connections.
    let service = ServiceBuilder::new()
        .concurrency_limit(512)
        .service_fn(move |request| routes.clone().route(request));
    let mut http = hyper::server::conn::http1::Builder::new();
    // Closes connections whose headers trickle in (slowloris); the timeout needs the timer.
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shared::shutdown_signal());
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Out of file descriptors, for example: back off and carry on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(service.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener); // stop accepting, then let open connections finish their requests
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("connections still open after 30 s; exiting anyway");
        }
    }
    Ok(())
}

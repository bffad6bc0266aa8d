//! The extension of `examples/axum.rs` (an admission policy and a Drone 0.8 global secrets
//! provider, in `examples/shared/mod.rs`) without axum: a path router written by hand as a
//! `tower::service_fn` over hyper's `Request<Incoming>`, an unsigned `GET /healthz`, served by the
//! crate's hardened `server::Server` (hyper-util underneath, with its timer on).
//!
//! ```sh
//! DRONE_SECRET=$(openssl rand -hex 16) cargo run --example hyper
//! ```
//!
//! `DRONE_SECRET` is the secret configured in Drone, `DRONE_BIND` the listen address (default
//! `0.0.0.0:3000`). Ctrl-C (or SIGTERM) stops accepting, turns `/healthz` to 503, closes idle
//! connections and waits up to 30 s for the requests in flight.

mod shared;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use drone_extension::admission::{AdmissionService, Admitter};
use drone_extension::global_secrets::{GlobalSecretsProvider, GlobalSecretsService};
use drone_extension::server::{Readiness, Server};
use drone_extension::signature::{VerifySignature, VerifySignatureLayer};
use drone_extension::{BoxError, ExtensionKind};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use shared::Policy;
use tower::{Layer, ServiceExt};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The router: each kind's service behind its own verifying layer (one per kind, for the
/// reasons given in examples/axum.rs), and `/healthz` outside them.
#[derive(Clone)]
struct Routes {
    admission: VerifySignature<AdmissionService<Policy>>,
    global_secrets: VerifySignature<GlobalSecretsService<Policy>>,
    readiness: Readiness,
}

impl Routes {
    async fn route(self, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let get = request.method() == Method::GET;
        Ok(match request.uri().path() {
            "/admission" => self.admission.oneshot(request).await?.map(Body::new),
            "/global-secrets" => self.global_secrets.oneshot(request).await?.map(Body::new),
            // 503 once the shutdown starts, so a load balancer stops sending.
            "/healthz" if get && self.readiness.is_draining() => {
                text(StatusCode::SERVICE_UNAVAILABLE, "draining")
            }
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
    // Every default is safe (header and idle deadlines, 512 connections, 256 requests in
    // flight, SIGINT or SIGTERM); this one only lengthens the drain.
    let server = Server::new().drain_timeout(Duration::from_secs(30));
    let routes = Routes {
        admission: VerifySignatureLayer::for_kind(ExtensionKind::Admission, secret.clone())
            .layer(Admitter::into_service(Policy)),
        global_secrets: VerifySignatureLayer::for_kind(ExtensionKind::GlobalSecrets, secret)
            .layer(GlobalSecretsProvider::into_service(Policy)),
        readiness: server.readiness(),
    };
    // Any `Clone` tower service of `Request<Incoming>` can be served: the server bounds the
    // requests in flight over all connections (and so the bodies being read) itself.
    let service = tower::service_fn(move |request| routes.clone().route(request));

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    server.serve(listener, service).await?; // logs `listening addr=…`
    Ok(())
}

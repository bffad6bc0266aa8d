//! The extension of `examples/axum.rs` (an admission policy and a Drone 0.8 global secrets
//! provider) without axum: a path router written by hand as a
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

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use drone_extension::admission::AdmissionService;
use drone_extension::global_secrets::{GlobalSecretsService, filter_by_event, matches};
use drone_extension::prelude::*;
use drone_extension::server::Readiness;
use drone_extension::signature::VerifySignature;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use tower::ServiceExt;
use tracing_subscriber::EnvFilter;

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The extension: `octocat` is an administrator, `mallory` may not log in; repositories of
/// `octocat` get a Docker password on pushes and tags (never on pull requests).
#[derive(Clone)]
struct Policy;

#[async_trait]
impl Admitter for Policy {
    async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
        Ok(match request.user.login.as_str() {
            "octocat" => Admission::GrantAdmin,
            "mallory" => Admission::deny("access denied"),
            _ => Admission::Allow, // keeps the user's current admin flag
        })
    }
}

#[async_trait]
impl GlobalSecretsProvider for Policy {
    async fn secrets(&self, request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        if !matches(&["octocat/*".into()], &request.repo.full_name) {
            return Ok(Vec::new()); // `[]`: an error would run the build without any secret
        }
        // In real life the values come from a vault, not from the source.
        let secrets = vec![LegacySecret {
            name: "docker_password".into(),
            value: "correct-horse-battery-staple".into(),
            event: vec!["push".into(), "tag".into()],
            ..Default::default()
        }];
        Ok(filter_by_event(secrets, &request.build.event))
    }
}

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
    // `info` and up unless RUST_LOG says otherwise: one line a request, a reason a refusal.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let secret = std::env::var("DRONE_SECRET").map_err(|_| "set DRONE_SECRET")?;
    let secret = SharedSecret::new(secret)?;
    let bind = std::env::var("DRONE_BIND").unwrap_or_else(|_| "0.0.0.0:3000".into());
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

    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    server.serve(listener, service).await?; // logs `listening addr=…`
    Ok(())
}

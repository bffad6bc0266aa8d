//! A small Drone extension on axum 0.8: an admission policy and a Drone 0.8 global secrets
//! provider, each on its own signed route, and an unsigned `GET /healthz`. The same extension on
//! plain hyper is `examples/hyper.rs`.
//!
//! ```sh
//! DRONE_SECRET=$(openssl rand -hex 16) cargo run --example axum
//! ```
//!
//! `DRONE_SECRET` is the secret configured in Drone, `DRONE_BIND` the listen address (default
//! `0.0.0.0:3000`). The router is served by the crate's hardened `server::Server`: header and
//! idle deadlines, connection and in-flight bounds. Ctrl-C (or SIGTERM) stops accepting
//! connections, turns `/healthz` to 503, closes idle connections and lets the requests in flight
//! finish (20 s at most).

use axum::Router;
use axum::routing::get;
use drone_extension::global_secrets::{filter_by_event, matches};
use drone_extension::prelude::*;
use tracing_subscriber::EnvFilter;

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

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // `info` and up unless RUST_LOG says otherwise: one line a request, a reason a refusal.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let secret = std::env::var("DRONE_SECRET").map_err(|_| "set DRONE_SECRET")?;
    let secret = SharedSecret::new(secret)?;
    let bind = std::env::var("DRONE_BIND").unwrap_or_else(|_| "0.0.0.0:3000".into());

    // One router and one layer per kind. The path is not signed, so each layer binds its route
    // to its kind's signed media type: a request signed for admission is refused on
    // /global-secrets. Drone configures a secret per kind: each layer could take its own.
    //
    // `route_layer` (not `layer`) wraps only the routes added before it: unknown paths stay
    // 404 instead of 401, and /healthz, added after the merge, stays unsigned.
    let admission = Router::new()
        .route_service("/admission", Admitter::into_service(Policy))
        .route_layer(VerifySignatureLayer::for_kind(
            ExtensionKind::Admission,
            secret.clone(),
        ));
    let global_secrets = Router::new()
        .route_service(
            "/global-secrets",
            GlobalSecretsProvider::into_service(Policy),
        )
        .route_layer(VerifySignatureLayer::for_kind(
            ExtensionKind::GlobalSecrets,
            secret,
        ));
    // The extension services read the verified body themselves; axum's `DefaultBodyLimit` only
    // concerns extractors (a `Bytes` or `Json` handler behind a layer would need it raised).
    //
    // The server's defaults bound connections (512) and requests in flight (256, and so bodies
    // being read); SIGINT or SIGTERM starts the graceful shutdown. `/healthz` answers from the
    // server's readiness: 503 once the shutdown starts, so a load balancer stops sending.
    let server = Server::new();
    let readiness = server.readiness();
    let app = admission.merge(global_secrets).route(
        "/healthz",
        get(move || {
            let status = readiness.status();
            async move {
                (
                    status,
                    if status.is_success() {
                        "OK"
                    } else {
                        "draining"
                    },
                )
            }
        }),
    );

    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    server.serve(listener, app).await?; // logs `listening addr=…`
    Ok(())
}

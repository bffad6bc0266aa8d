//! A small Drone extension on axum 0.8: an admission policy and a Drone 0.8 global secrets
//! provider (both in `examples/shared/mod.rs`), each on its own signed route, and an unsigned
//! `GET /healthz`. The same extension on plain hyper is `examples/hyper.rs`.
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

mod shared;

use axum::Router;
use axum::routing::get;
use drone_extension::admission::Admitter;
use drone_extension::global_secrets::GlobalSecretsProvider;
use drone_extension::server::Server;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::{BoxError, ExtensionKind};
use shared::Policy;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    shared::init_tracing();
    let (secret, bind) = shared::settings()?;

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

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    server.serve(listener, app).await?; // logs `listening addr=…`
    Ok(())
}

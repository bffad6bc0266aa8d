//! A small Drone extension on axum 0.8: an admission policy and a Drone 0.8 global secrets
//! provider (both in `examples/shared/mod.rs`), each on its own signed route, and an unsigned
//! `GET /healthz`. The same extension on plain hyper is `examples/hyper.rs`.
//!
//! ```sh
//! DRONE_SECRET=$(openssl rand -hex 16) cargo run --example axum
//! ```
//!
//! `DRONE_SECRET` is the secret configured in Drone, `DRONE_BIND` the listen address (default
//! `0.0.0.0:3000`). Ctrl-C (or SIGTERM) stops accepting connections and lets the requests in
//! flight finish.

mod shared;

use axum::Router;
use axum::routing::get;
use drone_extension::admission::Admitter;
use drone_extension::global_secrets::SecretProvider;
use drone_extension::layer::VerifySignatureLayer;
use drone_extension::{BoxError, ExtensionKind};
use shared::Policy;
use tower::limit::ConcurrencyLimitLayer;

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
        .route_service("/global-secrets", SecretProvider::into_service(Policy))
        .route_layer(VerifySignatureLayer::for_kind(
            ExtensionKind::GlobalSecrets,
            secret,
        ));
    // The extension services read the verified body themselves; axum's `DefaultBodyLimit` only
    // concerns extractors (a `Bytes` or `Json` handler behind a layer would need it raised).
    let app = admission
        .merge(global_secrets)
        .route("/healthz", get(|| async { "OK" }))
        // Bounds how many requests, and so bodies being read, are handled at once.
        .layer(ConcurrencyLimitLayer::new(512));

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shared::shutdown_signal())
        .await?;
    Ok(())
}

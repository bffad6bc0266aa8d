//! A Drone secret extension on Vault or OpenBao: runners ask `POST /secret` for a secret, and
//! `VaultSecretFinder` reads it from a KV engine with drone-vault's filters (`X-Drone-Repos`,
//! `X-Drone-Events`, …). The complete drone-vault drop-in (global secrets, metrics, the token
//! checked in the background) is the binary `drone-extension-vault` (`tools/vault`).
//!
//! ```sh
//! DRONE_SECRET=$(openssl rand -hex 16) VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=… \
//!     cargo run --example vault_secret --features vault
//! ```
//!
//! Vault is configured with drone-vault's variables (`VAULT_ADDR`, `VAULT_TOKEN`,
//! `VAULT_AUTH_TYPE`, `VAULT_CACERT`, …: see `VaultSettings::from_env`); `DRONE_SECRET` is the
//! runners' `DRONE_SECRET_PLUGIN_TOKEN` and `DRONE_BIND` the listen address (default
//! `0.0.0.0:3000`). A pipeline then asks for a secret as it asks drone-vault:
//!
//! ```yaml
//! kind: secret
//! name: docker_password
//! get:
//!   path: secret/data/docker
//!   name: docker_password
//! ```

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use drone_extension::prelude::*;
use drone_extension::vault::{Vault, VaultSecretFinder, VaultSettings};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // `info` and up unless RUST_LOG says otherwise: one line a request, a reason a refusal.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let key = SharedSecret::new(std::env::var("DRONE_SECRET").map_err(|_| "set DRONE_SECRET")?)?;

    // The client (address, TLS, namespace, deadline) and the login method from the
    // environment. The token is renewed, or the login made again, in the background.
    let settings = VaultSettings::from_env()?;
    let vault = Vault::new(settings.client.build()?, settings.method, settings.renewal);

    // Reads only KV secrets (never `auth/…`, `sys/…` or `cubbyhole/…`), applies the secret's
    // own filters, and answers a Vault outage with 500 (an error, never "no secret").
    let finder = VaultSecretFinder::new(vault.clone()).disallow_forks(true);

    // The hardened server: deadlines, connection and in-flight bounds, a drain on SIGTERM.
    let server = Server::new();
    let readiness = server.readiness();
    let app = Router::new()
        // Liveness: the process answers.
        .route("/healthz", get(|| async { "OK" }))
        // Readiness: a secret can be served now (the token valid, Vault answering); no call to
        // Vault, the state comes from the background checks.
        .route(
            "/readyz",
            get(move || {
                let ready = vault.readiness().ready && !readiness.is_draining();
                async move {
                    match ready {
                        true => (StatusCode::OK, "ready"),
                        false => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
                    }
                }
            }),
        )
        // POST /secret behind the verifying layer (body limit, deadlines, signature).
        .fallback_service(ExtensionRouter::new().secret(key, finder));

    let bind = std::env::var("DRONE_BIND").unwrap_or_else(|_| "0.0.0.0:3000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    server.serve(listener, app).await?; // logs `listening addr=…`
    Ok(())
}

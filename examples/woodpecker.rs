//! A Woodpecker CI secret extension: Woodpecker asks `POST /woodpecker/secret` for the secrets of
//! a pipeline, signed with its server's Ed25519 key (RFC 9421); `WoodpeckerRouter` verifies the
//! signature and the body before the extension sees the request. The config and registry
//! extensions plug in the same way (`.config(…)`, `.registry(…)`). A complete extension read
//! from a policy file is the binary `drone-extension-woodpecker` (`tools/woodpecker`).
//!
//! ```sh
//! # The key: `curl https://ci.example.com/api/signature/public-key` (PEM), or 64 hex digits.
//! EXTENSION_WOODPECKER_PUBLIC_KEY_FILE=woodpecker.pem cargo run --example woodpecker --features woodpecker
//! ```
//!
//! Woodpecker (3.14+) is pointed at it with
//! `WOODPECKER_SECRET_EXTENSION_ENDPOINT=https://ext.example.com/woodpecker/secret`, and
//! `WOODPECKER_EXTENSIONS_ALLOWED_HOSTS` must admit this host when it is not a public address.
//! `DRONE_BIND` is the listen address (default `0.0.0.0:3000`). The key is read as the binaries
//! read it (`drone_extension::env`): from `EXTENSION_WOODPECKER_PUBLIC_KEY` or the file named by
//! `…_FILE`, the old name `WOODPECKER_PUBLIC_KEY` still accepted with a warning; a missing or
//! malformed variable stops the start with its name and the expected form.

use axum::Router;
use axum::routing::get;
use drone_extension::env::{Env, WOODPECKER_RENAMES};
use drone_extension::woodpecker::prelude::*;
use tracing_subscriber::EnvFilter;

/// The extension: the pipelines of `octo-org/hello-world` get a deploy token, except those of a
/// pull request from a fork (Woodpecker hands every secret answered to the pipeline's steps).
struct Secrets;

#[async_trait]
impl SecretExtension for Secrets {
    async fn secrets(
        &self,
        request: WoodpeckerSecretRequest,
    ) -> Result<Vec<WoodpeckerSecret>, BoxError> {
        if request.repo.full_name != "octo-org/hello-world" || request.pipeline.from_fork {
            return Ok(Vec::new()); // 200 {"secrets":[]}: an empty 2xx would be retried
        }
        // In real life the value comes from a vault, not from the source.
        Ok(vec![WoodpeckerSecret::new("deploy_token", "t0k3n")])
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // `info` and up unless RUST_LOG says otherwise: one line a request, a reason a refusal.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let mut env = Env::from_process().renames(WOODPECKER_RENAMES);
    let key = env
        .string_or_file("EXTENSION_WOODPECKER_PUBLIC_KEY")?
        .ok_or_else(|| env.missing(&["EXTENSION_WOODPECKER_PUBLIC_KEY"], None))?;
    let bind = env
        .socket_addr("DRONE_BIND")?
        .unwrap_or_else(|| ([0, 0, 0, 0], 3000).into());
    for warning in env.finish() {
        tracing::warn!("{warning}");
    }
    // A key of small order (all zeros, …) is refused: signatures made without a private key
    // could match it.
    let verifier = Verifier::new(PublicKey::parse(&key.value)?);

    // Woodpecker signs the path: the prefix is matched, never stripped (no `nest_service`).
    let woodpecker = WoodpeckerRouter::new(verifier)
        .prefix("/woodpecker")
        .secret(Secrets);
    let app = Router::new()
        .route("/healthz", get(|| async { "OK" }))
        .fallback_service(woodpecker);

    // The hardened server: deadlines, connection and in-flight bounds, a drain on SIGTERM.
    let listener = tokio::net::TcpListener::bind(bind).await?;
    Server::new().serve(listener, app).await?; // logs `listening addr=…`
    Ok(())
}

//! The Woodpecker extension (`drone-extension-woodpecker`): Woodpecker CI extensions from the
//! starter's policy file, `/woodpecker/config`, `/woodpecker/secret` and `/woodpecker/registry`,
//! served by one `WoodpeckerRouter` behind the Woodpecker signature layer.
//!
//! ```sh
//! WOODPECKER_SERVER=https://ci.example.com DRONE_CONFIG=tools/starter/starter.toml \
//!     cargo run -p drone-extension-woodpecker
//! cargo install --path tools/woodpecker
//! ```
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DRONE_BIND` | `0.0.0.0:3000` | listen address (the starter's variable) |
//! | `DRONE_CONFIG` | embedded default | the starter's TOML policy file (`tools/starter/starter.toml`) |
//! | `WOODPECKER_PUBLIC_KEY` | unset | the Woodpecker server's public key: PEM or 64 hex digits; several separated by `;` |
//! | `WOODPECKER_SERVER` | unset | a Woodpecker server URL whose key is fetched once, at start-up |
//! | `WOODPECKER_MAX_AGE` | `60` | seconds a signed request stays acceptable |
//!
//! One of `WOODPECKER_PUBLIC_KEY` and `WOODPECKER_SERVER` is required. A key of small order (all
//! zeros, the identity, …) is refused at start: signatures made without a private key could
//! match it. Woodpecker itself is
//! configured with `WOODPECKER_CONFIG_EXTENSION_ENDPOINT=https://ext.example.com/woodpecker/config`
//! (and `…SECRET…`, `…REGISTRY…`), and `WOODPECKER_EXTENSIONS_ALLOWED_HOSTS` must admit this
//! host when it is not a public address.
//!
//! Secrets and registries come from the policy file's `[[secrets]]` and `[[registries]]` rules
//! (repositories, events, forks: a pipeline `from_fork` gets nothing unless the rule says
//! `pull_request = true`); the config extension keeps the files Woodpecker sent.
//!
//! `GET /healthz` answers `200 OK` while the process runs (liveness); `GET /readyz` answers
//! `200 ready`, or `503 draining` once it shuts down (readiness: point a load balancer at it).
//! Both are unsigned, as is `GET /metrics` (Prometheus text: request counts, refusals by reason,
//! latencies and the body budget; label values are fixed words, never a repository or a secret).
//! Keep this port reachable by Woodpecker and your scraper only. The log goes to stdout as the starter's does: a stuck stdout never stalls
//! a request or the shutdown (lines that do not fit in its 1 MiB buffer are dropped and counted).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{log, policy};
use drone_extension::metrics::Metrics;
use drone_extension::woodpecker::fetch_public_key;
use drone_extension::woodpecker::prelude::*;

/// The extensions: one policy shared by the three routes.
#[derive(Clone)]
struct Extensions(Arc<policy::Policy>);

fn admits(access: &policy::Access, repo: &Repo, pipeline: &Pipeline) -> bool {
    access.admits_pipeline(&repo.full_name, &pipeline.event, pipeline.from_fork)
}

#[async_trait]
impl ConfigExtension for Extensions {
    async fn config(&self, _: &WoodpeckerConfigRequest) -> Result<ConfigAnswer, BoxError> {
        // 200 with the files Woodpecker sent: a 204 would be retried three times.
        Ok(ConfigAnswer::KeepIncoming)
    }
}

#[async_trait]
impl SecretExtension for Extensions {
    async fn secrets(
        &self,
        request: WoodpeckerSecretRequest,
    ) -> Result<Vec<WoodpeckerSecret>, BoxError> {
        Ok(self
            .0
            .secrets
            .iter()
            .filter(|rule| admits(&rule.access, &request.repo, &request.pipeline))
            .map(|rule| WoodpeckerSecret::new(rule.name.clone(), rule.value.clone()))
            .collect())
    }
}

#[async_trait]
impl RegistryExtension for Extensions {
    async fn registries(
        &self,
        request: WoodpeckerRegistryRequest,
    ) -> Result<Vec<WoodpeckerRegistry>, BoxError> {
        Ok(self
            .0
            .registries
            .iter()
            .filter(|rule| admits(&rule.access, &request.repo, &request.pipeline))
            .map(|rule| {
                WoodpeckerRegistry::new(
                    rule.address.clone(),
                    rule.username.clone(),
                    rule.password.clone(),
                )
            })
            .collect())
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

async fn keys() -> Result<PublicKeys, BoxError> {
    let mut keys = Vec::new();
    if let Some(text) = env("WOODPECKER_PUBLIC_KEY") {
        for key in text.split(';').filter(|k| !k.trim().is_empty()) {
            keys.push(PublicKey::parse(key).map_err(|e| format!("WOODPECKER_PUBLIC_KEY: {e}"))?);
        }
    }
    if let Some(server) = env("WOODPECKER_SERVER") {
        keys.push(fetch_public_key(&server).await?);
    }
    PublicKeys::new(keys).map_err(|_| {
        "set WOODPECKER_PUBLIC_KEY or WOODPECKER_SERVER (the key to verify with)".into()
    })
}

async fn run() -> Result<(), BoxError> {
    let policy = match env("DRONE_CONFIG") {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read DRONE_CONFIG={path}: {e}"))?;
            policy::parse(&text, &path)?
        }
        None => policy::parse(policy::DEFAULT_POLICY, "(embedded default)")?,
    };
    let max_age = match env("WOODPECKER_MAX_AGE") {
        Some(v) => Duration::from_secs(
            v.trim()
                .parse()
                .map_err(|_| format!("WOODPECKER_MAX_AGE must be a whole number, not {v:?}"))?,
        ),
        None => drone_extension::woodpecker::DEFAULT_MAX_AGE,
    };
    let verifier = Verifier::new(keys().await?).max_age(max_age);
    let ext = Extensions(Arc::new(policy));
    let metrics = Metrics::new();
    // One layer for the three routes: `/woodpecker/config`, `/woodpecker/secret`,
    // `/woodpecker/registry` (the path is signed: the prefix is matched, never stripped).
    let woodpecker = WoodpeckerRouter::new(verifier)
        .prefix("/woodpecker")
        .config(ext.clone())
        .secret(ext.clone())
        .registry(ext)
        .metrics(&metrics);
    let server = Server::new();
    let readiness = server.readiness();
    let readyz = move || {
        std::future::ready(if readiness.is_draining() {
            (StatusCode::SERVICE_UNAVAILABLE, "draining")
        } else {
            (StatusCode::OK, "ready")
        })
    };
    let app = Router::new()
        .route("/healthz", get(|| std::future::ready("OK")))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.response())),
        )
        .fallback_service(woodpecker);
    let bind: SocketAddr = env("DRONE_BIND")
        .unwrap_or_else(|| "0.0.0.0:3000".to_owned())
        .parse()
        .map_err(|e| format!("invalid DRONE_BIND: {e}"))?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    server.serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let log = log::Log::start();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .with_writer(log.writer())
        .init();
    let result = run().await;
    // Bounded: a stuck stdout cannot hold the exit.
    log.flush(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("woodpecker: {e}");
            ExitCode::FAILURE
        }
    }
}

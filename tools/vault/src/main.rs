//! `drone-extension-vault`, a drop-in replacement for drone-vault: Drone's secret extension
//! backed by HashiCorp Vault or OpenBao, with the same environment variables, Vault data and
//! `.drone.yml`.
//!
//! ```sh
//! DRONE_SECRET=$(openssl rand -hex 16) VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=… \
//!   cargo run -p drone-extension-vault
//! cargo install --path tools/vault
//! ```
//!
//! # Routes
//!
//! * `POST /` and `POST /secret`: the secret extension (runners: `DRONE_SECRET_PLUGIN_ENDPOINT`,
//!   `DRONE_SECRET_PLUGIN_TOKEN`), signed with `DRONE_SECRET`.
//! * `POST /global-secrets`: Drone 0.8's global secrets, the paths of
//!   `DRONE_GLOBAL_SECRETS_PATHS` (signed as well).
//! * `GET /healthz`: liveness, unsigned: `200` while the process runs (also while Vault is down,
//!   the token invalid, or the server draining), so an orchestrator restarts only a process
//!   that stopped answering. The JSON body reports the same state as `/readyz`, for humans.
//!   **Changed:** until this release `/healthz` answered `503` when Vault was unreachable or the
//!   token invalid; a probe that relied on that (a load balancer's health check) must move to
//!   `/readyz`. drone-vault itself has no health route.
//! * `GET /readyz`: readiness, unsigned: `200` when a secret can be served now (the token valid
//!   and Vault answering its `lookup-self` checks, made in the background every
//!   `VAULT_TOKEN_CHECK_INTERVAL`, default 2 s, so a revoked token or an unreachable Vault shows
//!   within that interval plus `VAULT_CLIENT_TIMEOUT`), `503` otherwise and while draining.
//!   Probing it makes no call to Vault: `{"ready":true,"draining":false,"vault":{"ready":true,"reachable":true,"answered_ms_ago":812,"token":{"method":"approle","valid":true,"ttl_seconds":3412,"last_error":null}}}`.
//! * `GET /metrics`: unsigned Prometheus metrics (new): requests and refusals by kind, Vault
//!   calls by operation and outcome, the token's remaining TTL.
//!
//! # Environment
//!
//! drone-vault's: `DRONE_BIND` (default `:3000`), `DRONE_SECRET` (required), `DRONE_DEBUG`,
//! `DRONE_DISALLOW_FORKS`, `VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_AUTH_TYPE` (`token`, `approle`,
//! `kubernetes`), `VAULT_AUTH_MOUNT_POINT`, `VAULT_APPROLE_ID`, `VAULT_APPROLE_SECRET`,
//! `VAULT_KUBERNETES_ROLE`, `VAULT_TOKEN_TTL`, `VAULT_TOKEN_RENEWAL` (Go durations: `72h`),
//! `VAULT_CACERT`, `VAULT_SKIP_VERIFY`, `VAULT_TLS_SERVER_NAME`, `VAULT_NAMESPACE`,
//! `VAULT_CLIENT_TIMEOUT`. New ones: `DRONE_WORKER_THREADS` (tokio worker threads, one per core
//! by default; `1`: one thread), `VAULT_KUBERNETES_TOKEN_PATH`, `VAULT_CACHE_TTL`
//! (cache each path's answer this long, off by default), `DRONE_GLOBAL_SECRETS_PATHS`,
//! `VAULT_TOKEN_CHECK_INTERVAL` (Go duration, default `2s`, `0` off), `VAULT_KV_MOUNTS` (the
//! only KV mounts read, `path=version`, e.g. `secret=2,kv1=1`; by default each path's mount is
//! asked of Vault).
//!
//! Every secret can also come from a file: `DRONE_SECRET_FILE`, `VAULT_TOKEN_FILE`,
//! `VAULT_APPROLE_SECRET_FILE` (Docker and Kubernetes secrets). An invalid value (`VAULT_AUTH_TYPE=aprole`,
//! `VAULT_CLIENT_TIMEOUT=5sec`, `DRONE_DEBUG=yes`) or a missing credential (token mode without
//! `VAULT_TOKEN`) refuses to start, naming the variable and the expected form; an unknown
//! `DRONE_*`/`VAULT_*` variable (`VAULT_TOKN`, `DRONE_GLOBAL_SECRET_PATHS`) is warned about at
//! start with the closest known name; the effective configuration (Vault address, auth method,
//! where each secret came from, never its value) is logged, and a defaulted `VAULT_ADDR` warned.
//!
//! # Differences from drone-vault
//!
//! * Only secrets in KV engines are read: a pipeline naming `auth/token/lookup-self` (the
//!   extension's own token), `cubbyhole/…`, `sys/…`, `identity/…` or another engine's path gets
//!   "no secret", whatever the spelling (`/auth//token/./lookup-self/`); drone-vault reads any
//!   path. The KV version comes from the mount, so a KV v1 secret with its own `data` object
//!   keeps its top-level filters.
//! * A filter whose value is not a string (`X-Drone-Repos: ["octocat/*"]`, `X-Drone-Events: 123`)
//!   denies; drone-vault ignores it and serves everyone. An empty string is still no filter.
//! * A failed login does not exit: it is retried with backoff (250 ms to 30 s) and `/readyz`
//!   answers 503 meanwhile. Tokens are renewed at two thirds of their TTL (at most every
//!   `VAULT_TOKEN_RENEWAL`), in every mode, and a login method logs in again when renewal fails,
//!   the renewed TTL falls short of `VAULT_TOKEN_TTL`, or a revoked token is refused.
//! * Every Vault call has a deadline: `VAULT_CLIENT_TIMEOUT`, default 5 s (drone-vault: 60 s);
//!   no retries. A Vault outage (unreachable, a timeout, a `5xx`, a refused token) answers
//!   `500` within it, logged and counted as `decision="error"` (drone-vault: `404`, "no
//!   secret"); the runner logs the error and runs the step without the secret.
//! * "No secret" is `204` (drone-vault: `404`); runners treat both the same way.
//! * `VAULT_AUTH_MOUNT_POINT` defaults to `approle` / `kubernetes` and applies to AppRole too;
//!   the Kubernetes login uses the same TLS settings and namespace as the other calls.
//! * Requests are checked more strictly (`Date` within 5 minutes, `Digest` of the body, the
//!   signed `Accept` of the route's kind); a `get.path` with `..` is refused; a filter key given
//!   twice in different case with different values denies; an invalid
//!   `X-Drone-Disallow-Forks` falls back to `DRONE_DISALLOW_FORKS`.
//! * Not supported: `VAULT_CAPATH`, `VAULT_CLIENT_CERT`/`VAULT_CLIENT_KEY`, `VAULT_MAX_RETRIES`,
//!   the `.env` file.

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use common::log::{self, Log};
use drone_extension::env::{Env, Summary};
use drone_extension::global_secrets::GlobalSecretsProvider;
use drone_extension::metrics::{Metrics, MetricsLayer};
use drone_extension::secret::SecretFinder;
use drone_extension::server::Readiness;
use drone_extension::server::Server;
use drone_extension::signature::SharedSecret;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::vault::{
    Vault, VaultReadiness, VaultSecretFinder, VaultSecretProvider, VaultSettings,
};
use drone_extension::{BoxError, ExtensionKind};

/// Everything read from the environment.
struct Settings {
    secret: SharedSecret,
    bind: SocketAddr,
    vault: VaultSettings,
    summary: Summary,
}

impl common::startup::Settings for Settings {
    fn summary(&self) -> &Summary {
        &self.summary
    }
}

fn settings(env: &mut Env) -> Result<Settings, BoxError> {
    let mut summary = Summary::new();
    let secret = common::settings::shared_secret(env, &mut summary)?;
    let bind = common::settings::bind(env, &mut summary)?;
    let mut vault = VaultSettings::read(env)?;
    summary.extend(std::mem::take(&mut vault.summary));
    Ok(Settings {
        secret,
        bind,
        vault,
        summary,
    })
}

async fn run(settings: Settings, log: Log) -> Result<(), BoxError> {
    let Settings {
        secret,
        bind,
        vault: settings,
        summary: _,
    } = settings;
    let metrics = Metrics::new();
    let client = settings.client.metrics(&metrics).build()?;
    tracing::info!(
        addr = client.address(),
        auth = settings.method.name(),
        "Vault"
    );
    let mut vault = Vault::new(client, settings.method, settings.renewal);
    if let Some(ttl) = settings.cache_ttl {
        vault = vault.with_cache(ttl, 1024);
    }
    if let Some(mounts) = settings.kv_mounts {
        let list: Vec<String> = mounts
            .iter()
            .map(|m| format!("{}={}", m.path(), m.version()))
            .collect();
        tracing::info!(mounts = %list.join(","), "reading only these KV mounts");
        vault = vault.with_kv_mounts(mounts);
    }

    let auth = vault.auth().clone();
    metrics.watch_vault_token_ttl(move || auth.status().ttl_seconds.map(|s| s as f64));

    let finder = VaultSecretFinder::new(vault.clone()).disallow_forks(settings.disallow_forks);
    let provider = VaultSecretProvider::new(vault.clone(), settings.global_secrets_paths);
    let secret_layer = VerifySignatureLayer::for_kind(ExtensionKind::Secret, secret.clone());
    let secrets = Router::new()
        .route_service("/", SecretFinder::into_service(finder.clone()))
        .route_service("/secret", SecretFinder::into_service(finder))
        .route_layer(secret_layer)
        .route_layer(MetricsLayer::new(&metrics, ExtensionKind::Secret));
    let global = Router::new()
        .route_service(
            "/global-secrets",
            GlobalSecretsProvider::into_service(provider),
        )
        .route_layer(VerifySignatureLayer::for_kind(
            ExtensionKind::GlobalSecrets,
            secret,
        ))
        .route_layer(MetricsLayer::new(&metrics, ExtensionKind::GlobalSecrets));

    let server = Server::new();
    let readiness = server.readiness();
    let (live_vault, live_readiness) = (vault.clone(), readiness.clone());
    // Liveness: 200 while the process answers, whatever Vault's state.
    let healthz = move || {
        let body = state(&live_vault, &live_readiness);
        std::future::ready((StatusCode::OK, axum::Json(body)).into_response())
    };
    // Readiness: 200 only when a secret can be served now.
    let readyz = move || {
        let body = state(&vault, &readiness);
        let status = if body.ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        std::future::ready((status, axum::Json(body)).into_response())
    };
    let scrape = log::scrape(&metrics, log);
    let app = secrets
        .merge(global)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(scrape));

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    server.serve(listener, app).await?; // logs `listening addr=…`
    Ok(())
}

/// The body of `/healthz` and `/readyz`.
#[derive(serde::Serialize)]
struct State {
    /// Vault ready and not draining.
    ready: bool,
    draining: bool,
    vault: VaultReadiness,
}

/// Vault's readiness (from the background checks: no call to Vault) and the drain.
fn state(vault: &Vault, readiness: &Readiness) -> State {
    let vault = vault.readiness();
    let draining = readiness.is_draining();
    State {
        ready: vault.ready && !draining,
        draining,
        vault,
    }
}

fn main() -> ExitCode {
    let env = Env::from_process().prefixes(["DRONE_", "VAULT_"]);
    common::startup::main("vault", env, settings, run)
}

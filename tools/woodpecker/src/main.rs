//! The Woodpecker extension (`drone-extension-woodpecker`): Woodpecker CI extensions from the
//! starter's policy file, `/woodpecker/config`, `/woodpecker/secret` and `/woodpecker/registry`,
//! served by one `WoodpeckerRouter` behind the Woodpecker signature layer.
//!
//! ```sh
//! EXTENSION_WOODPECKER_URL=https://ci.example.com DRONE_CONFIG=tools/starter/starter.toml \
//!     cargo run -p drone-extension-woodpecker
//! cargo install --path tools/woodpecker
//! ```
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DRONE_BIND` | `0.0.0.0:3000` | listen address (the starter's variable; `:3000` is every interface) |
//! | `DRONE_DEBUG` | `false` | log at `debug` level (`RUST_LOG` overrides it) |
//! | `DRONE_WORKER_THREADS` | one per core | tokio worker threads; `1` runs everything on one thread |
//! | `DRONE_CONFIG` | embedded default | the starter's TOML policy file (`tools/starter/starter.toml`) |
//! | `EXTENSION_WOODPECKER_PUBLIC_KEY` (or `…_FILE`) | unset | the Woodpecker server's public key: PEM or 64 hex digits; several separated by `;` |
//! | `EXTENSION_WOODPECKER_URL` | unset | a Woodpecker server URL whose key is fetched once, at start-up |
//! | `EXTENSION_WOODPECKER_MAX_AGE` | `60s` | how long a signed request stays acceptable (Go duration like `90s`, or whole seconds) |
//!
//! **Renamed:** these were `WOODPECKER_PUBLIC_KEY`, `WOODPECKER_SERVER` and `WOODPECKER_MAX_AGE`,
//! names Woodpecker itself uses (`WOODPECKER_SERVER` is its agent's gRPC address, `host:9000`):
//! an env file shared with Woodpecker fed them the wrong value. The old names are still read
//! when the new one is unset, with a deprecation warning, and ignored when it is set.
//!
//! An invalid value (a URL without `http://`/`https://`, `EXTENSION_WOODPECKER_MAX_AGE=1min`)
//! refuses to start naming the variable and the expected form; an unknown `DRONE_*` or
//! `EXTENSION_*` variable is warned about at start with the closest known name; the
//! configuration (where the key came from, never a secret) is logged.
//!
//! One of `EXTENSION_WOODPECKER_PUBLIC_KEY` and `EXTENSION_WOODPECKER_URL` is required. A key of small order (all
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
//! a request or the shutdown (lines that do not fit in its 1 MiB buffer are dropped and counted in
//! `drone_extension_log_lines_dropped_total`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{log, policy};
use drone_extension::env::{Env, Source, Summary, WOODPECKER_RENAMES};
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

/// Everything read from the environment (the key fetched from a server comes later).
struct Settings {
    policy: policy::Policy,
    /// Keys given in `EXTENSION_WOODPECKER_PUBLIC_KEY`.
    keys: Vec<PublicKey>,
    /// `EXTENSION_WOODPECKER_URL`: a server whose key is fetched at start.
    url: Option<String>,
    max_age: Duration,
    bind: SocketAddr,
    summary: Summary,
}

impl common::startup::Settings for Settings {
    fn summary(&self) -> &Summary {
        &self.summary
    }
}

const PUBLIC_KEY: &str = "EXTENSION_WOODPECKER_PUBLIC_KEY";
const URL: &str = "EXTENSION_WOODPECKER_URL";
const MAX_AGE: &str = "EXTENSION_WOODPECKER_MAX_AGE";

fn settings(env: &mut Env) -> Result<Settings, BoxError> {
    let mut summary = Summary::new();
    let policy = match env.string("DRONE_CONFIG")? {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read DRONE_CONFIG={path}: {e}"))?;
            summary.value("DRONE_CONFIG", path.clone(), Source::Env);
            policy::parse(&text, &path)?
        }
        None => {
            summary.value("DRONE_CONFIG", "(embedded default)", Source::Default);
            policy::parse(policy::DEFAULT_POLICY, "(embedded default)")?
        }
    };
    let mut keys = Vec::new();
    if let Some(text) = env.string_or_file(PUBLIC_KEY)? {
        for key in text.value.split(';').filter(|k| !k.trim().is_empty()) {
            keys.push(PublicKey::parse(key).map_err(|e| format!("{}: {e}", text.variable))?);
        }
        summary.value(
            PUBLIC_KEY,
            format!("{} key(s) from {}", keys.len(), text.variable),
            text.source,
        );
    }
    let url = env.url(URL)?;
    if let Some(url) = &url {
        summary.value(URL, url.clone(), Source::Env);
    }
    if keys.is_empty() && url.is_none() {
        return Err(env
            .missing_one_of(&[PUBLIC_KEY, URL], Some("the key to verify with"))
            .into());
    }
    let max_age = match env.duration_or_seconds(MAX_AGE)? {
        Some(max_age) => {
            summary.value(MAX_AGE, format!("{max_age:?}"), Source::Env);
            max_age
        }
        None => {
            let max_age = drone_extension::woodpecker::DEFAULT_MAX_AGE;
            summary.value(MAX_AGE, format!("{max_age:?}"), Source::Default);
            max_age
        }
    };
    let bind = common::settings::bind(env, &mut summary)?;
    Ok(Settings {
        policy,
        keys,
        url,
        max_age,
        bind,
        summary,
    })
}

async fn run(settings: Settings, log: log::Log) -> Result<(), BoxError> {
    let Settings {
        policy,
        mut keys,
        url,
        max_age,
        bind,
        summary: _,
    } = settings;
    if let Some(url) = url {
        keys.push(
            fetch_public_key(&url)
                .await
                .map_err(|e| format!("{URL}={url}: cannot fetch the key: {e}"))?,
        );
    }
    let keys =
        PublicKeys::new(keys).map_err(|e| format!("{PUBLIC_KEY} or {URL}: no usable key: {e}"))?;
    let verifier = Verifier::new(keys).max_age(max_age);
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
        .route("/metrics", get(log::scrape(&metrics, log)))
        .fallback_service(woodpecker);
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    server.serve(listener, app).await?;
    Ok(())
}

fn main() -> ExitCode {
    let env = Env::from_process()
        .prefixes(["DRONE_", "EXTENSION_"])
        .renames(WOODPECKER_RENAMES);
    common::startup::main("woodpecker", env, settings, run)
}

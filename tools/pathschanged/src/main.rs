//! `drone-extension-pathschanged`: Drone's paths-changed (monorepo) convert extension, on any
//! forge. A pipeline's `trigger.paths` and a step's `when.paths` decide whether it runs for the
//! files a build changed, which are read from the repository itself with `git` (no forge API).
//!
//! Point Drone at it with `DRONE_CONVERT_PLUGIN_ENDPOINT=http://this-host:3000/convert` and
//! `DRONE_CONVERT_PLUGIN_SECRET` (the same value as `DRONE_SECRET` here).
//!
//! | variable | meaning |
//! |---|---|
//! | `DRONE_SECRET` (or `DRONE_SECRET_FILE`) | the shared secret (required) |
//! | `DRONE_BIND` | listen address (default `:3000`) |
//! | `DRONE_DEBUG` | Go boolean: debug logs |
//! | `DRONE_WORKER_THREADS` | tokio worker threads (default one per core; `1`: one thread) |
//! | `PATHSCHANGED_CACHE_DIR` | where fetched repositories are kept (default: a directory in the system's temp dir) |
//! | `PATHSCHANGED_ALLOWED_HOSTS` | comma-separated `host` or `host:port` entries: fetch only from these (default: any host) |
//! | `PATHSCHANGED_USERNAME`, `PATHSCHANGED_PASSWORD` (or `_FILE`) | an operator credential used for every repository (Drone 2.0.4 and older send no token) |
//! | `PATHSCHANGED_TOKEN_USERNAME` | the username sent with the request's token (default `x-access-token`; GitLab: `oauth2`, Bitbucket Cloud: `x-token-auth`) |
//! | `PATHSCHANGED_ON_FAILURE` | `run` (default: a failure keeps the configuration, everything runs) or `error` (the build is created in error) |
//! | `PATHSCHANGED_TIMEOUT` | the budget of one conversion (Go duration, default `30s`) |
//! | `PATHSCHANGED_HEAD_COMMIT_EVENTS` | comma-separated events (e.g. `tag,cron`) decided by the files of their head commit, as the reference did, instead of running everything |
//!
//! Routes: `POST /convert` (signed); unsigned: `GET /healthz` (`200 OK` while the process runs),
//! `GET /readyz` (`200 ready`; `503` while draining on shutdown, or while no file can be written
//! in the cache directory, checked every 5 s in the background: then every conversion would run
//! everything), `GET /metrics` (Prometheus text: requests by `decision`, refusals, latencies,
//! and the log lines dropped). The log goes to stdout through a bounded buffer and a thread of its
//! own (as the starter's): a stuck stdout never stalls a conversion.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use common::log::{self, Log};
use drone_extension::BoxError;
use drone_extension::env::{Env, Source, Summary};
use drone_extension::metrics::Metrics;
use drone_extension::pathschanged::{
    Credential, EventRules, GitChangedFiles, OnFailure, PathsChanged, Rule,
};
use drone_extension::router::ExtensionRouter;
use drone_extension::server::Server;
use drone_extension::service::ExtensionService;
use drone_extension::signature::SharedSecret;

/// Everything read from the environment.
struct Settings {
    secret: SharedSecret,
    bind: SocketAddr,
    converter: PathsChanged<GitChangedFiles>,
    cache_dir: PathBuf,
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
    let cache_dir = match env.string("PATHSCHANGED_CACHE_DIR")? {
        Some(dir) => {
            summary.value("PATHSCHANGED_CACHE_DIR", dir.clone(), Source::Env);
            PathBuf::from(dir)
        }
        None => {
            let dir = std::env::temp_dir().join("drone-extension-pathschanged");
            summary.value(
                "PATHSCHANGED_CACHE_DIR",
                dir.display().to_string(),
                Source::Default,
            );
            dir
        }
    };
    let mut rules = EventRules::default();
    for event in env
        .list("PATHSCHANGED_HEAD_COMMIT_EVENTS")?
        .unwrap_or_default()
    {
        rules = rules.set(event, Rule::HeadCommit);
    }
    let mut git = GitChangedFiles::builder(cache_dir.clone()).rules(rules);
    if let Some(hosts) = env.list("PATHSCHANGED_ALLOWED_HOSTS")? {
        summary.value("PATHSCHANGED_ALLOWED_HOSTS", hosts.join(","), Source::Env);
        git = git.allowed_hosts(hosts);
    }
    let username = env.string("PATHSCHANGED_USERNAME")?;
    let password = env.secret("PATHSCHANGED_PASSWORD")?;
    match (username, password) {
        (Some(username), Some(password)) => {
            summary.value("PATHSCHANGED_USERNAME", username.clone(), Source::Env);
            summary.secret("PATHSCHANGED_PASSWORD", password.source());
            git = git.operator_credential(Credential::new(username, password.expose()));
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(env
                .missing(
                    &["PATHSCHANGED_PASSWORD"],
                    Some("PATHSCHANGED_USERNAME is set"),
                )
                .into());
        }
        (None, Some(_)) => {
            return Err(env
                .missing(
                    &["PATHSCHANGED_USERNAME"],
                    Some("PATHSCHANGED_PASSWORD is set"),
                )
                .into());
        }
    }
    let budget = env
        .duration("PATHSCHANGED_TIMEOUT")?
        .unwrap_or(Duration::from_secs(30));
    let on_failure = match env.choice("PATHSCHANGED_ON_FAILURE", &["run", "error"])? {
        Some("error") => OnFailure::Error,
        _ => OnFailure::RunEverything,
    };
    let git = git.budget(budget).build()?;
    let mut converter = PathsChanged::new(git).budget(budget).on_failure(on_failure);
    if let Some(username) = env.string("PATHSCHANGED_TOKEN_USERNAME")? {
        converter = converter.token_username(username);
    }
    Ok(Settings {
        secret,
        bind,
        converter,
        cache_dir,
        summary,
    })
}

async fn run(settings: Settings, log: Log) -> Result<(), BoxError> {
    let metrics = Metrics::new();
    let router = ExtensionRouter::new()
        .service(settings.secret, ExtensionService::new(settings.converter))
        .metrics(&metrics);
    let server = Server::new();
    let readiness = server.readiness();
    let cache = watch_cache(settings.cache_dir).await;
    let readyz = move || {
        std::future::ready(if readiness.is_draining() {
            (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
        } else if !cache.load(Ordering::Relaxed) {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the cache directory is not writable\n",
            )
        } else {
            (StatusCode::OK, "ready\n")
        })
    };
    let app = axum::Router::new()
        .route("/healthz", get(|| std::future::ready("OK\n")))
        .route("/readyz", get(readyz))
        .route("/metrics", get(log::scrape(&metrics, log)))
        .fallback_service(router);
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    server.serve(listener, app).await?;
    Ok(())
}

/// How often `/readyz`'s view of the cache directory is refreshed.
const CACHE_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Whether a file can be written in the cache directory (where every fetch goes), checked now
/// and then every [`CACHE_CHECK_EVERY`] in the background, so that `/readyz` itself never
/// touches the disk; each change is logged. Without it every conversion runs everything.
async fn watch_cache(dir: PathBuf) -> Arc<AtomicBool> {
    async fn writable(dir: &Path) -> Result<(), std::io::Error> {
        tokio::fs::create_dir_all(dir).await?;
        let probe = dir.join(format!(".readyz-{}", std::process::id()));
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await
    }
    let first = writable(&dir).await;
    if let Err(e) = &first {
        tracing::warn!(dir = %dir.display(), "the cache directory is not writable ({e}); /readyz is 503");
    }
    let ok = Arc::new(AtomicBool::new(first.is_ok()));
    let state = ok.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CACHE_CHECK_EVERY).await;
            let now = writable(&dir).await;
            match (&now, state.swap(now.is_ok(), Ordering::Relaxed)) {
                (Ok(()), false) => {
                    tracing::info!(dir = %dir.display(), "the cache directory is writable; /readyz is 200");
                }
                (Err(e), true) => tracing::warn!(
                    dir = %dir.display(),
                    "the cache directory is not writable ({e}); /readyz is 503"
                ),
                _ => {}
            }
        }
    });
    ok
}

fn main() -> ExitCode {
    let env = Env::from_process().prefixes(["DRONE_", "PATHSCHANGED_"]);
    common::startup::main("drone-extension-pathschanged", env, settings, run)
}

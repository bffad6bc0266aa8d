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
//! | `PATHSCHANGED_CACHE_DIR` | where fetched repositories are kept (default: a directory in the system's temp dir) |
//! | `PATHSCHANGED_ALLOWED_HOSTS` | comma-separated `host` or `host:port` entries: fetch only from these (default: any host) |
//! | `PATHSCHANGED_USERNAME`, `PATHSCHANGED_PASSWORD` (or `_FILE`) | an operator credential used for every repository (Drone 2.0.4 and older send no token) |
//! | `PATHSCHANGED_TOKEN_USERNAME` | the username sent with the request's token (default `x-access-token`; GitLab: `oauth2`, Bitbucket Cloud: `x-token-auth`) |
//! | `PATHSCHANGED_ON_FAILURE` | `run` (default: a failure keeps the configuration, everything runs) or `error` (the build is created in error) |
//! | `PATHSCHANGED_TIMEOUT` | the budget of one conversion (Go duration, default `30s`) |
//! | `PATHSCHANGED_HEAD_COMMIT_EVENTS` | comma-separated events (e.g. `tag,cron`) decided by the files of their head commit, as the reference did, instead of running everything |
//!
//! Routes: `POST /convert` (signed), `GET /healthz`, `GET /metrics`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

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
    summary: Summary,
}

fn settings(env: &mut Env) -> Result<Settings, BoxError> {
    let mut summary = Summary::new();
    let secret = env
        .secret("DRONE_SECRET")?
        .ok_or_else(|| env.missing(&["DRONE_SECRET"], None))?;
    summary.secret("DRONE_SECRET", secret.source());
    let secret = SharedSecret::new(secret.expose()).map_err(|e| format!("DRONE_SECRET: {e}"))?;
    let bind = env.socket_addr("DRONE_BIND")?;
    let bind = summary.or_default("DRONE_BIND", bind, SocketAddr::from(([0, 0, 0, 0], 3000)));
    let cache_dir = match env.string("PATHSCHANGED_CACHE_DIR")? {
        Some(dir) => {
            summary.value("PATHSCHANGED_CACHE_DIR", dir.clone(), Source::Env);
            dir.into()
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
    let mut git = GitChangedFiles::builder(cache_dir).rules(rules);
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
        summary,
    })
}

fn init_tracing(debug: bool) {
    let level = if debug { "debug" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_ansi(false)
        .init();
}

async fn run(settings: Settings) -> Result<(), BoxError> {
    let metrics = Metrics::new();
    let router = ExtensionRouter::new()
        .service(settings.secret, ExtensionService::new(settings.converter))
        .metrics(&metrics);
    let scrape = metrics.clone();
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "OK\n" }))
        .route(
            "/metrics",
            axum::routing::get(move || std::future::ready(scrape.response())),
        )
        .fallback_service(router);
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    Server::new().serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut env = Env::from_process().prefixes(["DRONE_", "PATHSCHANGED_"]);
    let debug = match env.bool("DRONE_DEBUG") {
        Ok(debug) => debug.unwrap_or(false),
        Err(e) => {
            eprintln!("drone-extension-pathschanged: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_tracing(debug);
    let settings = match settings(&mut env) {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("drone-extension-pathschanged: {e}");
            return ExitCode::FAILURE;
        }
    };
    for warning in env.finish() {
        tracing::warn!("{warning}");
    }
    settings.summary.log();
    match run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("drone-extension-pathschanged: {e}");
            ExitCode::FAILURE
        }
    }
}

//! The starter (`drone-extension-starter`): one process that serves every Drone extension kind,
//! hardened for production. Copy the crate and change `extension.rs` to your own policy.
//!
//! ```sh
//! cargo run -p drone-extension-starter
//! DRONE_SECRET=$(openssl rand -hex 16) DRONE_CONFIG=tools/starter/starter.toml cargo run -p drone-extension-starter
//! cargo install --path tools/starter   # or --features redis,aesgcm
//! ```
//!
//! Its dependencies are the crate's `Cargo.toml`; the policy file and the log writer come from
//! `tools/common` (`drone-extension-tools-common`), which the Woodpecker extension shares.
//!
//! # Configuration (environment, Drone's conventions)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DRONE_BIND` | `0.0.0.0:3000` | listen address |
//! | `DRONE_SECRET` (or `DRONE_SECRET_FILE`) | random, printed once | the shared secret; configure the same value in Drone |
//! | `DRONE_<KIND>_SECRET` (or `…_FILE`) | `DRONE_SECRET` | a secret for one kind: `ADMISSION`, `GLOBAL_SECRETS`, `SECRET`, `REGISTRY`, `ENVIRON`, `CONFIG`, `CONVERT`, `VALIDATE`, `WEBHOOK` |
//! | `DRONE_GLOBAL_SECRETS_UNSIGNED` | `false` | `true`: serve `/global-secrets` to a Drone 0.8 server that does not sign (logged as a warning: anyone who reaches the port can read the secrets) |
//! | `DRONE_CONFIG` | embedded default | path to a TOML policy file |
//! | `DRONE_TLS_CERT`, `DRONE_TLS_KEY` | unset | PEM certificate chain and private key: serve `https` |
//! | `DRONE_HEADER_TIMEOUT` | `10` | seconds (or a Go duration: `10s`) a client has to send a request head (and to say anything at all) |
//! | `DRONE_KEEP_ALIVE_TIMEOUT` | server default | seconds (or a Go duration) an idle kept-alive connection stays open |
//! | `DRONE_MAX_CONNECTIONS` | `512` | open connections; at the bound the oldest idle one is closed |
//! | `DRONE_MAX_IN_FLIGHT` | `256` | requests handled at once, process-wide; more wait 1 s, then `503` |
//! | `DRONE_BODY_BUDGET` | `67108864` | bytes of request bodies held at once, process-wide; more wait, then `503` |
//! | `DRONE_DRAIN_TIMEOUT` | `20` | seconds (or a Go duration) in-flight requests get to finish after SIGTERM |
//! | `DRONE_REPLAY_GUARD` (or `DRONE_REPLAY_GUARD_FILE`: the URL may hold a password) | unset (none) | refuse a signed request answered before, within the clock window: `memory` (this process), `redis://host:port` (every replica sharing that Redis or Valkey; built with `--features redis`) |
//! | `DRONE_REPLAY_GUARD_FAIL_OPEN` | `false` | `true`: serve requests unprotected while Redis is down (each logged at error level) instead of answering `503` |
//! | `DRONE_REPLAY_GUARD_TIMEOUT_MS` | `500` | milliseconds each call to Redis may take |
//! | `DRONE_METRICS` | `true` | `false`: no metrics recorded, no `/metrics` |
//! | `DRONE_METRICS_BIND` | unset | serve `GET /metrics` on this address only, not on `DRONE_BIND` |
//! | `DRONE_DEBUG` | `false` | debug logs (`RUST_LOG` overrides) |
//! | `DRONE_WORKER_THREADS` | one per core | tokio worker threads; `1` runs everything on one thread (about a fifth less CPU per request) |
//!
//! Booleans are Go's (`strconv.ParseBool`, as Drone reads them): `true`, `1`, `t`, `TRUE`,
//! `false`, `0`, … (`yes` and `on` are refused, with a suggestion). An invalid value refuses to
//! start naming the variable and the expected form; an unknown `DRONE_*` variable (a
//! misspelling: `DRONE_MAX_CONECTIONS`) is warned about at start with the closest known name;
//! the configuration is logged at start (where each secret came from, never its value), and
//! each setting left at its default is warned about.
//!
//! # Routes
//!
//! `GET /healthz` answers `200 OK` unsigned while the process runs (liveness). `GET /readyz`
//! answers `200 ready` unsigned when the process can serve now, and `503` otherwise: `draining`
//! once it is shutting down, `replay guard unavailable` while the Redis of a shared replay guard
//! does not answer its `PING` (sent every second in the background, so `/readyz` itself never
//! waits for Redis; not with `DRONE_REPLAY_GUARD_FAIL_OPEN`, which serves meanwhile). Point a
//! load balancer's health check at `/readyz`, a liveness probe at `/healthz`. `GET /metrics`
//! answers the Prometheus metrics unsigned (on `DRONE_METRICS_BIND` when set: keep it where
//! Prometheus reaches and Drone does not). `POST
//! /admission`, `/global-secrets`, `/secret`, `/registry`, `/environ`, `/config`, `/convert`,
//! `/validate` and `/webhook` each verify the signature for their own kind (the signed `Accept`
//! must be the kind's media type; `/webhook` accepts the server's `date digest` signature and
//! drone-go's full one, and refuses one made for another kind).
//!
//! # Policy file
//!
//! Without `DRONE_CONFIG` the embedded default admits every user (keeping their admin flag),
//! hands out no secret, registry or variable, answers config and convert with 204 (Drone uses the
//! repository's own file), passes every validation and logs webhooks. `tools/starter/starter.toml`
//! documents every setting. Secrets, registry credentials and variables never reach a build from
//! a fork unless their rule says `pull_request = true`.
//!
//! # Logs
//!
//! To stdout, through a bounded buffer and a thread of its own (`common::log`): a stdout that does not
//! take bytes (a stuck log shipper) never stalls a request or the shutdown; lines that do not fit
//! are dropped, counted in `drone_extension_log_lines_dropped_total`, and one warning says how
//! many once stdout takes bytes again.
//!
//! # aesgcm
//!
//! Built with `--features aesgcm`, `/secret`, `/registry` and `/environ` encrypt their answer for
//! a caller that sends `Accept-Encoding: aesgcm`, keyed with the kind's shared secret, as
//! drone-go does. A secret shorter than 32 bytes cannot key it: those answers stay plain JSON
//! (a warning says so at start).

mod extension;
mod routes;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Bytes, HttpBody};
use axum::http::StatusCode;
use axum::routing::get;
use drone_extension::admission::Admitter;
use drone_extension::config::ConfigProvider;
use drone_extension::convert::Converter;
use drone_extension::env::{Env, EnvError, Secret, Source, Summary};
use drone_extension::environ::EnvironProvider;
use drone_extension::global_secrets::GlobalSecretsProvider;
use drone_extension::layer::{BodyBudget, MemoryReplayGuard, ReplayGuard};
use drone_extension::metrics::{Metrics, MetricsLayer};
use drone_extension::registry::RegistryProvider;
use drone_extension::secret::SecretFinder;
use drone_extension::server::{Readiness, Server, TlsConfig};
use drone_extension::service::{DroneEndpoint, ExtensionService};
use drone_extension::signature::SharedSecret;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::validate::Validator;
use drone_extension::webhook::WebhookReceiver;
use drone_extension::{BoxError, ExtensionKind, Layer};

use common::log::Log;
use common::policy;
use extension::Starter;
use routes::App;
use tracing::Instrument;

/// How often `/readyz`'s view of the shared replay guard's Redis is refreshed.
#[cfg(feature = "redis")]
const READY_CHECK_EVERY: Duration = Duration::from_secs(1);

/// `DRONE_REPLAY_GUARD`, as read.
enum ReplaySetting {
    None,
    Memory,
    /// A Redis URL (which may hold a password: never logged), its calls' timeout, and whether
    /// it fails open.
    Redis {
        url: Secret,
        timeout: Option<Duration>,
        fail_open: bool,
    },
}

/// Everything read from the environment.
struct Settings {
    policy: policy::Policy,
    secret: SharedSecret,
    /// `DRONE_<KIND>_SECRET`: a kind's own secret.
    kind_secrets: Vec<(ExtensionKind, SharedSecret)>,
    server: Server,
    budget: Option<BodyBudget>,
    metrics: bool,
    metrics_bind: Option<SocketAddr>,
    bind: SocketAddr,
    replay: ReplaySetting,
    unsigned_global_secrets: bool,
    summary: Summary,
}

impl common::startup::Settings for Settings {
    fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// `DRONE_<KIND>_SECRET` of `kind`.
fn kind_secret_variable(kind: ExtensionKind) -> String {
    format!(
        "DRONE_{}_SECRET",
        kind.name().replace('-', "_").to_uppercase()
    )
}

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
    let secret = match env.secret("DRONE_SECRET")? {
        Some(secret) => secret,
        None => generated_secret()?,
    };
    summary.secret("DRONE_SECRET", secret.source());
    let secret = SharedSecret::new(secret.expose()).map_err(|e| format!("DRONE_SECRET: {e}"))?;
    let mut kind_secrets = Vec::new();
    for &kind in ExtensionKind::ALL {
        let var = kind_secret_variable(kind);
        if let Some(own) = env.secret(&var)? {
            summary.secret(&var, own.source());
            let own = SharedSecret::new(own.expose()).map_err(|e| format!("{var}: {e}"))?;
            kind_secrets.push((kind, own));
        }
    }

    let mut server = Server::new();
    let seconds = |d: Duration| format!("{d:?}");
    if let Some(t) = env.duration_or_seconds("DRONE_HEADER_TIMEOUT")? {
        summary.value("DRONE_HEADER_TIMEOUT", seconds(t), Source::Env);
        server = server.header_read_timeout(t);
    }
    if let Some(t) = env.duration_or_seconds("DRONE_KEEP_ALIVE_TIMEOUT")? {
        summary.value("DRONE_KEEP_ALIVE_TIMEOUT", seconds(t), Source::Env);
        server = server.keep_alive_timeout(t);
    }
    if let Some(n) = env.number::<usize>("DRONE_MAX_CONNECTIONS")? {
        summary.value("DRONE_MAX_CONNECTIONS", n.to_string(), Source::Env);
        server = server.max_connections(n);
    }
    if let Some(n) = env.number::<usize>("DRONE_MAX_IN_FLIGHT")? {
        summary.value("DRONE_MAX_IN_FLIGHT", n.to_string(), Source::Env);
        server = server.max_in_flight(n);
    }
    if let Some(t) = env.duration_or_seconds("DRONE_DRAIN_TIMEOUT")? {
        summary.value("DRONE_DRAIN_TIMEOUT", seconds(t), Source::Env);
        server = server.drain_timeout(t);
    }
    match (env.string("DRONE_TLS_CERT")?, env.string("DRONE_TLS_KEY")?) {
        (Some(cert), Some(key)) => {
            summary.value("DRONE_TLS_CERT", cert.clone(), Source::Env);
            summary.value("DRONE_TLS_KEY", key.clone(), Source::Env);
            server = server.tls(TlsConfig::from_pem_files(cert, key)?);
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(env
                .missing(&["DRONE_TLS_KEY"], Some("DRONE_TLS_CERT is set"))
                .into());
        }
        (None, Some(_)) => {
            return Err(env
                .missing(&["DRONE_TLS_CERT"], Some("DRONE_TLS_KEY is set"))
                .into());
        }
    }
    let budget = match env.number::<usize>("DRONE_BODY_BUDGET")? {
        Some(bytes) => {
            summary.value("DRONE_BODY_BUDGET", bytes.to_string(), Source::Env);
            Some(BodyBudget::new(bytes))
        }
        None => None,
    };
    let metrics = env.bool("DRONE_METRICS")?;
    let metrics = summary.or_default("DRONE_METRICS", metrics, true);
    let metrics_bind = env.socket_addr("DRONE_METRICS_BIND")?;
    if let Some(bind) = metrics_bind {
        summary.value("DRONE_METRICS_BIND", bind.to_string(), Source::Env);
    }
    let bind = common::settings::bind(env, &mut summary)?;

    // Read whatever the guard, so that they are never reported unknown.
    let timeout = env.number::<u64>("DRONE_REPLAY_GUARD_TIMEOUT_MS")?;
    let fail_open = env.bool("DRONE_REPLAY_GUARD_FAIL_OPEN")?.unwrap_or(false);
    let replay = match env.secret("DRONE_REPLAY_GUARD")? {
        None => {
            summary.value("DRONE_REPLAY_GUARD", "none", Source::Default);
            ReplaySetting::None
        }
        Some(value) => match value.expose().trim() {
            "none" => {
                summary.value("DRONE_REPLAY_GUARD", "none", Source::Env);
                ReplaySetting::None
            }
            "memory" => {
                summary.value("DRONE_REPLAY_GUARD", "memory", Source::Env);
                ReplaySetting::Memory
            }
            url if url.starts_with("redis://") || url.starts_with("unix://") => {
                // The URL may hold a password: where it came from, never its value.
                summary.secret("DRONE_REPLAY_GUARD", value.source());
                if let Some(ms) = timeout {
                    summary.value("DRONE_REPLAY_GUARD_TIMEOUT_MS", ms.to_string(), Source::Env);
                }
                if fail_open {
                    summary.value("DRONE_REPLAY_GUARD_FAIL_OPEN", "true", Source::Env);
                }
                ReplaySetting::Redis {
                    url: value,
                    timeout: timeout.map(Duration::from_millis),
                    fail_open,
                }
            }
            _ => {
                return Err(EnvError::invalid_secret(
                    "DRONE_REPLAY_GUARD",
                    "none, memory or a redis:// URL",
                )
                .into());
            }
        },
    };
    let unsigned_global_secrets = env.bool("DRONE_GLOBAL_SECRETS_UNSIGNED")?.unwrap_or(false);
    if unsigned_global_secrets {
        summary.value("DRONE_GLOBAL_SECRETS_UNSIGNED", "true", Source::Env);
    }
    Ok(Settings {
        policy,
        secret,
        kind_secrets,
        server,
        budget,
        metrics,
        metrics_bind,
        bind,
        replay,
        unsigned_global_secrets,
        summary,
    })
}

/// A random 32-character hex secret, printed once.
fn generated_secret() -> Result<Secret, BoxError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    tracing::warn!("DRONE_SECRET is not set: generated one for this run only");
    // Printed once, on stderr, so that Drone can be configured with it.
    eprintln!("DRONE_SECRET={secret}");
    Ok(Secret::generated(secret))
}

/// The replay guard, and whether it can answer now.
#[derive(Default)]
struct Guard {
    guard: Option<Arc<dyn ReplayGuard>>,
    /// `Some` for a guard in Redis: whether Redis answered its last `PING`.
    reachable: Option<Arc<AtomicBool>>,
}

/// `DRONE_REPLAY_GUARD`: none, one for this process, or one shared through Redis. One guard
/// serves every route (a signature is bound to its kind's media type, so kinds cannot collide).
fn replay_guard(setting: ReplaySetting) -> Result<Guard, BoxError> {
    match setting {
        ReplaySetting::None => Ok(Guard::default()),
        ReplaySetting::Memory => Ok(Guard {
            guard: Some(Arc::new(MemoryReplayGuard::default())),
            reachable: None,
        }),
        ReplaySetting::Redis {
            url,
            timeout,
            fail_open,
        } => redis_guard(url.expose(), timeout, fail_open),
    }
}

/// `PING`s the guard's Redis every [`READY_CHECK_EVERY`] (each bounded by the guard's timeout),
/// for `/readyz`; logs each change.
#[cfg(feature = "redis")]
fn watch_redis(guard: drone_extension::layer::RedisReplayGuard) -> Arc<AtomicBool> {
    let reachable = Arc::new(AtomicBool::new(false));
    let flag = reachable.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(READY_CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first = true;
        loop {
            tick.tick().await;
            let answer = guard.ping().await;
            let was = flag.swap(answer.is_ok(), Ordering::Relaxed);
            match answer {
                Ok(()) if !was => tracing::info!("replay guard: Redis answers; /readyz is 200"),
                Err(e) if was || first => tracing::warn!(
                    error = %e,
                    "replay guard: Redis does not answer; /readyz is 503"
                ),
                _ => {}
            }
            first = false;
        }
    });
    reachable
}

#[cfg(feature = "redis")]
fn redis_guard(url: &str, timeout: Option<Duration>, fail_open: bool) -> Result<Guard, BoxError> {
    use drone_extension::layer::{DEFAULT_REDIS_TIMEOUT, RedisReplayGuard};
    let timeout = timeout.unwrap_or(DEFAULT_REDIS_TIMEOUT);
    let guard = RedisReplayGuard::with_timeout(url, timeout)
        .map_err(|e| format!("DRONE_REPLAY_GUARD: {e}"))?
        .fail_open(fail_open);
    if fail_open {
        tracing::warn!("replay guard fails OPEN: while Redis is down, replays are served");
    }
    tracing::info!(guard = ?guard, "replay guard shared through Redis");
    Ok(Guard {
        // Failing open, requests are served while Redis is down: the process stays ready (a
        // replica taken out of the load balancer would defeat the choice).
        reachable: (!fail_open).then(|| watch_redis(guard.clone())),
        guard: Some(Arc::new(guard)),
    })
}

#[cfg(not(feature = "redis"))]
fn redis_guard(_: &str, _: Option<Duration>, _: bool) -> Result<Guard, BoxError> {
    Err("DRONE_REPLAY_GUARD=redis://… needs the starter built with --features redis".into())
}

/// The layers of one kind's route, outermost first.
struct Layers {
    /// Counts every request, the verifying layer's refusals too.
    metrics: Option<MetricsLayer>,
    /// `None` only for `/global-secrets` with `DRONE_GLOBAL_SECRETS_UNSIGNED`.
    verify: Option<VerifySignatureLayer>,
}

impl Layers {
    /// `app` serving `service` at its kind's path, behind the layers.
    fn mount<E: DroneEndpoint, B>(self, app: App<B>, service: ExtensionService<E>) -> App<B>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let path = E::KIND.path();
        match (self.metrics, self.verify) {
            (Some(metrics), Some(verify)) => app.kind(path, metrics.layer(verify.layer(service))),
            (Some(metrics), None) => app.kind(path, metrics.layer(service)),
            (None, Some(verify)) => app.kind(path, verify.layer(service)),
            (None, None) => app.kind(path, service),
        }
    }
}

/// For `/secret`, `/registry` and `/environ`: answers encrypted with the kind's secret for a
/// caller that asks (`Accept-Encoding: aesgcm`), as drone-go does. A secret under 32 bytes
/// cannot key it: those answers stay plain JSON (`SharedSecret::new` warned at start).
fn sealed<E: DroneEndpoint>(
    service: ExtensionService<E>,
    secret: &SharedSecret,
) -> ExtensionService<E> {
    #[cfg(feature = "aesgcm")]
    let service = service.aesgcm_key(secret.clone());
    #[cfg(not(feature = "aesgcm"))]
    let _ = secret;
    service
}

/// `/readyz`: whether the process can serve now.
#[derive(Clone)]
struct Ready {
    readiness: Readiness,
    redis: Option<Arc<AtomicBool>>,
}

impl Ready {
    fn answer(&self) -> (StatusCode, &'static str) {
        if self.readiness.is_draining() {
            (StatusCode::SERVICE_UNAVAILABLE, "draining")
        } else if self
            .redis
            .as_ref()
            .is_some_and(|up| !up.load(Ordering::Relaxed))
        {
            (StatusCode::SERVICE_UNAVAILABLE, "replay guard unavailable")
        } else {
            (StatusCode::OK, "ready")
        }
    }
}

/// The shared secret, and the kinds' own.
struct Secrets {
    shared: SharedSecret,
    kinds: Vec<(ExtensionKind, SharedSecret)>,
}

impl Secrets {
    /// `DRONE_<KIND>_SECRET`, else `DRONE_SECRET`.
    fn of(&self, kind: ExtensionKind) -> SharedSecret {
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or_else(|| self.shared.clone(), |(_, secret)| secret.clone())
    }
}

/// Every kind on its own route, each behind a layer for its own kind, and the unsigned
/// `/healthz` and `/readyz`.
///
/// Each kind's layers wrap its own service (never one layer for several routes, as axum's
/// `route_layer` does for every route added *before* it: chained for several kinds on one
/// router it would put earlier routes behind later kinds' layers).
fn app<B>(
    policy: policy::Policy,
    secrets: &Secrets,
    budget: Option<&BodyBudget>,
    replay: ReplaySetting,
    unsigned_global_secrets: bool,
    readiness: Readiness,
    metrics: Option<&Metrics>,
) -> Result<App<B>, BoxError>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let Guard { guard, reachable } = replay_guard(replay)?;
    let starter = Starter(Arc::new(policy));
    let ready = Ready {
        readiness,
        redis: reachable,
    };
    let readyz = move || std::future::ready(ready.answer());
    let mut app = App::new(
        Router::new()
            .route("/healthz", get(|| std::future::ready("OK")))
            .route("/readyz", get(readyz)),
    );
    for &kind in ExtensionKind::ALL {
        let secret = secrets.of(kind);
        let s = starter.clone();
        let unsigned = kind == ExtensionKind::GlobalSecrets && unsigned_global_secrets;
        let layers = Layers {
            verify: (!unsigned).then(|| {
                let mut layer = VerifySignatureLayer::for_kind(kind, secret.clone());
                // Without DRONE_BODY_BUDGET every layer shares the crate's process-wide default.
                if let Some(budget) = budget {
                    layer = layer.body_budget(budget.clone());
                }
                if let Some(guard) = &guard {
                    layer = layer.replay_guard(guard.clone());
                }
                layer
            }),
            metrics: metrics.map(|metrics| MetricsLayer::new(metrics, kind)),
        };
        if unsigned {
            tracing::warn!(
                "/global-secrets serves UNSIGNED requests (DRONE_GLOBAL_SECRETS_UNSIGNED): \
                 anyone who can reach this port can read the global secrets"
            );
        }
        app = match kind {
            ExtensionKind::Admission => layers.mount(app, Admitter::into_service(s)),
            ExtensionKind::GlobalSecrets => {
                layers.mount(app, GlobalSecretsProvider::into_service(s))
            }
            ExtensionKind::Secret => {
                layers.mount(app, sealed(SecretFinder::into_service(s), &secret))
            }
            ExtensionKind::Registry => {
                layers.mount(app, sealed(RegistryProvider::into_service(s), &secret))
            }
            ExtensionKind::Environ => {
                layers.mount(app, sealed(EnvironProvider::into_service(s), &secret))
            }
            ExtensionKind::Config => layers.mount(app, ConfigProvider::into_service(s)),
            ExtensionKind::Convert => layers.mount(app, Converter::into_service(s)),
            ExtensionKind::Validate => layers.mount(app, Validator::into_service(s)),
            ExtensionKind::Webhook => layers.mount(app, WebhookReceiver::into_service(s)),
            other => return Err(format!("no route for {other}").into()),
        };
    }
    Ok(app)
}

/// A pending metrics server.
type MetricsServer = tokio::task::JoinHandle<Result<(), drone_extension::server::ServeError>>;

/// `GET /metrics` on `app`, or on a server of its own at `DRONE_METRICS_BIND` (which stops when
/// `server` starts draining).
async fn serve_metrics(
    app: Router,
    metrics: Metrics,
    log: Log,
    server: &Server,
    bind: Option<SocketAddr>,
) -> Result<(Router, Option<MetricsServer>), BoxError> {
    let scrape = common::log::scrape(&metrics, log);
    let Some(bind) = bind else {
        return Ok((app.route("/metrics", get(scrape)), None));
    };
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let readiness = server.readiness();
    let metrics_server = Server::new()
        .max_connections(16)
        .max_in_flight(4)
        .shutdown_signal(async move { readiness.draining().await });
    // Its `listening` line is logged within the span `metrics_listener`.
    let serving = metrics_server
        .serve(listener, Router::new().route("/metrics", get(scrape)))
        .instrument(tracing::info_span!("metrics_listener"));
    Ok((app, Some(tokio::spawn(serving))))
}

async fn run(settings: Settings, log: Log) -> Result<(), BoxError> {
    let Settings {
        policy,
        secret,
        kind_secrets,
        server,
        budget,
        metrics,
        metrics_bind,
        bind,
        replay,
        unsigned_global_secrets,
        summary: _,
    } = settings;
    let metrics = metrics.then(Metrics::new);
    if let (Some(metrics), Some(budget)) = (&metrics, &budget) {
        metrics.watch_budget(budget);
    }
    let secrets = Secrets {
        shared: secret,
        kinds: kind_secrets,
    };
    let mut app = app(
        policy,
        &secrets,
        budget.as_ref(),
        replay,
        unsigned_global_secrets,
        server.readiness(),
        metrics.as_ref(),
    )?;
    let metrics_server = match metrics {
        Some(metrics) => {
            let rest = std::mem::replace(app.rest(), Router::new());
            let (rest, metrics_server) =
                serve_metrics(rest, metrics, log, &server, metrics_bind).await?;
            *app.rest() = rest;
            metrics_server
        }
        None => None,
    };

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    // The server logs `listening addr=…` with the actual address (DRONE_BIND may ask for port 0).
    server.serve(listener, app).await?;
    if let Some(metrics_server) = metrics_server {
        metrics_server.await??;
    }
    tracing::info!("stopped");
    Ok(())
}

fn main() -> ExitCode {
    let env = Env::from_process().prefixes(["DRONE_"]);
    common::startup::main("starter", env, settings, run)
}

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
//! | `DRONE_SECRET` | random, printed once | the shared secret; configure the same value in Drone |
//! | `DRONE_<KIND>_SECRET` | `DRONE_SECRET` | a secret for one kind: `ADMISSION`, `GLOBAL_SECRETS`, `SECRET`, `REGISTRY`, `ENVIRON`, `CONFIG`, `CONVERT`, `VALIDATE`, `WEBHOOK` |
//! | `DRONE_GLOBAL_SECRETS_UNSIGNED` | `false` | `true`: serve `/global-secrets` to a Drone 0.8 server that does not sign (logged as a warning: anyone who reaches the port can read the secrets) |
//! | `DRONE_CONFIG` | embedded default | path to a TOML policy file |
//! | `DRONE_TLS_CERT`, `DRONE_TLS_KEY` | unset | PEM certificate chain and private key: serve `https` |
//! | `DRONE_HEADER_TIMEOUT` | `10` | seconds a client has to send a request head (and to say anything at all) |
//! | `DRONE_KEEP_ALIVE_TIMEOUT` | server default | seconds an idle kept-alive connection stays open |
//! | `DRONE_MAX_CONNECTIONS` | `512` | open connections; at the bound the oldest idle one is closed |
//! | `DRONE_MAX_IN_FLIGHT` | `256` | requests handled at once, process-wide; more wait 1 s, then `503` |
//! | `DRONE_BODY_BUDGET` | `67108864` | bytes of request bodies held at once, process-wide; more wait, then `503` |
//! | `DRONE_DRAIN_TIMEOUT` | `20` | seconds in-flight requests get to finish after SIGTERM |
//! | `DRONE_REPLAY_GUARD` | unset (none) | refuse a signed request answered before, within the clock window: `memory` (this process), `redis://host:port` (every replica sharing that Redis or Valkey; built with `--features redis`) |
//! | `DRONE_REPLAY_GUARD_FAIL_OPEN` | `false` | `true`: serve requests unprotected while Redis is down (each logged at error level) instead of answering `503` |
//! | `DRONE_REPLAY_GUARD_TIMEOUT_MS` | `500` | milliseconds each call to Redis may take |
//! | `DRONE_METRICS` | `true` | `false`: no metrics recorded, no `/metrics` |
//! | `DRONE_METRICS_BIND` | unset | serve `GET /metrics` on this address only, not on `DRONE_BIND` |
//! | `DRONE_DEBUG` | `false` | debug logs (`RUST_LOG` overrides) |
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

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use drone_extension::admission::Admitter;
use drone_extension::config::ConfigProvider;
use drone_extension::convert::Converter;
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
use tracing::Instrument;

/// How often `/readyz`'s view of the shared replay guard's Redis is refreshed.
#[cfg(feature = "redis")]
const READY_CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long the exit waits for the log to be written out.
const EXIT_FLUSH: Duration = Duration::from_millis(500);

/// Reads `name`; unset and empty are the same.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_flag(name: &str) -> bool {
    env(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// A number from the environment, refused when it is not one.
fn env_number(name: &str) -> Result<Option<u64>, BoxError> {
    env(name)
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("{name} must be a whole number, not {v:?}").into())
        })
        .transpose()
}

fn env_seconds(name: &str) -> Result<Option<Duration>, BoxError> {
    Ok(env_number(name)?.map(Duration::from_secs))
}

/// `DRONE_SECRET`, or a random 32-character hex secret printed once.
fn shared_secret() -> Result<SharedSecret, BoxError> {
    if let Some(secret) = env("DRONE_SECRET") {
        return Ok(SharedSecret::new(secret).map_err(|e| format!("DRONE_SECRET: {e}"))?);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    tracing::warn!("DRONE_SECRET is not set: generated one for this run only");
    // Printed once, on stderr, so that Drone can be configured with it.
    eprintln!("DRONE_SECRET={secret}");
    Ok(SharedSecret::new(secret)?)
}

fn load_policy() -> Result<policy::Policy, BoxError> {
    Ok(match env("DRONE_CONFIG") {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read DRONE_CONFIG={path}: {e}"))?;
            policy::parse(&text, &path)?
        }
        None => policy::parse(policy::DEFAULT_POLICY, "(embedded default)")?,
    })
}

/// The serving limits, from the environment; what is unset keeps the server's default.
fn server() -> Result<Server, BoxError> {
    let mut server = Server::new();
    if let Some(t) = env_seconds("DRONE_HEADER_TIMEOUT")? {
        server = server.header_read_timeout(t);
    }
    if let Some(t) = env_seconds("DRONE_KEEP_ALIVE_TIMEOUT")? {
        server = server.keep_alive_timeout(t);
    }
    if let Some(n) = env_number("DRONE_MAX_CONNECTIONS")? {
        server = server.max_connections(n.try_into()?);
    }
    if let Some(n) = env_number("DRONE_MAX_IN_FLIGHT")? {
        server = server.max_in_flight(n.try_into()?);
    }
    if let Some(t) = env_seconds("DRONE_DRAIN_TIMEOUT")? {
        server = server.drain_timeout(t);
    }
    match (env("DRONE_TLS_CERT"), env("DRONE_TLS_KEY")) {
        (Some(cert), Some(key)) => server = server.tls(TlsConfig::from_pem_files(cert, key)?),
        (None, None) => {}
        _ => return Err("DRONE_TLS_CERT and DRONE_TLS_KEY go together".into()),
    }
    Ok(server)
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
fn replay_guard() -> Result<Guard, BoxError> {
    let Some(value) = env("DRONE_REPLAY_GUARD") else {
        return Ok(Guard::default());
    };
    match value.as_str() {
        "none" => Ok(Guard::default()),
        "memory" => Ok(Guard {
            guard: Some(Arc::new(MemoryReplayGuard::default())),
            reachable: None,
        }),
        url if url.starts_with("redis://") || url.starts_with("unix://") => redis_guard(url),
        _ => Err("DRONE_REPLAY_GUARD must be none, memory or a redis:// URL".into()),
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
fn redis_guard(url: &str) -> Result<Guard, BoxError> {
    use drone_extension::layer::{DEFAULT_REDIS_TIMEOUT, RedisReplayGuard};
    let timeout = match env_number("DRONE_REPLAY_GUARD_TIMEOUT_MS")? {
        Some(ms) => Duration::from_millis(ms),
        None => DEFAULT_REDIS_TIMEOUT,
    };
    let fail_open = env_flag("DRONE_REPLAY_GUARD_FAIL_OPEN");
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
fn redis_guard(_: &str) -> Result<Guard, BoxError> {
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
    /// A router serving `service` at its kind's path, behind the layers. The layers wrap the
    /// service before axum sees it (not with `route_layer`): axum boxes the stack once.
    fn mount<E: DroneEndpoint>(self, service: ExtensionService<E>) -> Router {
        let path = E::KIND.path();
        match (self.metrics, self.verify) {
            (Some(metrics), Some(verify)) => {
                Router::new().route_service(path, metrics.layer(verify.layer(service)))
            }
            (Some(metrics), None) => Router::new().route_service(path, metrics.layer(service)),
            (None, Some(verify)) => Router::new().route_service(path, verify.layer(service)),
            (None, None) => Router::new().route_service(path, service),
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

/// Every kind on its own route, each behind a layer for its own kind.
///
/// Each route is a router of its own, merged, with its layers applied to its service (never
/// with `route_layer`, which applies to every route added *before* it on the same router: chained
/// for several kinds on one router it would put earlier routes behind later kinds' layers).
fn app(
    policy: policy::Policy,
    secret: &SharedSecret,
    budget: Option<&BodyBudget>,
    readiness: Readiness,
    metrics: Option<&Metrics>,
) -> Result<Router, BoxError> {
    let Guard { guard, reachable } = replay_guard()?;
    let starter = Starter(Arc::new(policy));
    let unsigned_global_secrets = env_flag("DRONE_GLOBAL_SECRETS_UNSIGNED");
    let ready = Ready {
        readiness,
        redis: reachable,
    };
    let readyz = move || std::future::ready(ready.answer());
    let mut app = Router::new()
        .route("/healthz", get(|| std::future::ready("OK")))
        .route("/readyz", get(readyz));
    for &kind in ExtensionKind::ALL {
        let var = format!(
            "DRONE_{}_SECRET",
            kind.name().replace('-', "_").to_uppercase()
        );
        let secret = match env(&var) {
            Some(own) => SharedSecret::new(own).map_err(|e| format!("{var}: {e}"))?,
            None => secret.clone(),
        };
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
        let route = match kind {
            ExtensionKind::Admission => layers.mount(Admitter::into_service(s)),
            ExtensionKind::GlobalSecrets => layers.mount(GlobalSecretsProvider::into_service(s)),
            ExtensionKind::Secret => layers.mount(sealed(SecretFinder::into_service(s), &secret)),
            ExtensionKind::Registry => {
                layers.mount(sealed(RegistryProvider::into_service(s), &secret))
            }
            ExtensionKind::Environ => {
                layers.mount(sealed(EnvironProvider::into_service(s), &secret))
            }
            ExtensionKind::Config => layers.mount(ConfigProvider::into_service(s)),
            ExtensionKind::Convert => layers.mount(Converter::into_service(s)),
            ExtensionKind::Validate => layers.mount(Validator::into_service(s)),
            ExtensionKind::Webhook => layers.mount(WebhookReceiver::into_service(s)),
            other => return Err(format!("no route for {other}").into()),
        };
        app = app.merge(route);
    }
    Ok(app)
}

/// Logs to stdout through [`Log`], `info` and up (`DRONE_DEBUG`: `debug`; `RUST_LOG`
/// overrides), with colours only on a terminal.
fn init_tracing() -> Log {
    let level = if env_flag("DRONE_DEBUG") {
        "debug"
    } else {
        "info"
    };
    let ansi = std::io::stdout().is_terminal() && env("NO_COLOR").is_none();
    let log = Log::start();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_ansi(ansi)
        .with_writer(log.writer())
        .init();
    log
}

/// `drone_extension_log_lines_dropped_total`, read from the log at each scrape.
#[derive(Debug)]
struct LogDrops(Log);

impl prometheus_client::collector::Collector for LogDrops {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let counter =
            prometheus_client::metrics::counter::ConstCounter::new(self.0.dropped_lines());
        let metric = encoder.encode_descriptor(
            "drone_extension_log_lines_dropped",
            "Log lines dropped because stdout did not take them (a stuck log reader)",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
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
) -> Result<(Router, Option<MetricsServer>), BoxError> {
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    registry.register_collector(Box::new(LogDrops(log)));
    let registry = Arc::new(registry);
    let scrape = move || {
        let mut text = String::with_capacity(4096);
        // Writing into a String cannot fail, nor can these collectors.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        std::future::ready((
            [(
                axum::http::header::CONTENT_TYPE,
                drone_extension::metrics::CONTENT_TYPE_OPENMETRICS,
            )],
            text,
        ))
    };
    let Some(bind) = env("DRONE_METRICS_BIND") else {
        return Ok((app.route("/metrics", get(scrape)), None));
    };
    let bind: SocketAddr = bind
        .parse()
        .map_err(|e| format!("invalid DRONE_METRICS_BIND: {e}"))?;
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

async fn run(log: Log) -> Result<(), BoxError> {
    let policy = load_policy()?;
    let secret = shared_secret()?;
    let server = server()?;
    let budget = match env_number("DRONE_BODY_BUDGET")? {
        Some(bytes) => Some(BodyBudget::new(bytes.try_into()?)),
        None => None,
    };
    let metrics = match env("DRONE_METRICS").as_deref() {
        None | Some("true") => Some(Metrics::new()),
        Some("false") => None,
        Some(_) => return Err("DRONE_METRICS must be true or false".into()),
    };
    if let (Some(metrics), Some(budget)) = (&metrics, &budget) {
        metrics.watch_budget(budget);
    }
    let app = app(
        policy,
        &secret,
        budget.as_ref(),
        server.readiness(),
        metrics.as_ref(),
    )?;
    let (app, metrics_server) = match metrics {
        Some(metrics) => serve_metrics(app, metrics, log, &server).await?,
        None => (app, None),
    };

    let bind: SocketAddr = env("DRONE_BIND")
        .unwrap_or_else(|| "0.0.0.0:3000".to_owned())
        .parse()
        .map_err(|e| format!("invalid DRONE_BIND: {e}"))?;
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

#[tokio::main]
async fn main() -> ExitCode {
    let log = init_tracing();
    let result = run(log).await;
    if let Err(e) = &result {
        tracing::error!("{e}");
    }
    // Before the message below and the exit; bounded, so that a stuck stdout cannot hold the
    // exit (what it holds then is lost).
    log.flush(EXIT_FLUSH);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("starter: {e}");
            ExitCode::FAILURE
        }
    }
}

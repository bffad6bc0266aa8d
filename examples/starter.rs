//! The starter: one process that serves every Drone extension kind. Copy it and change the
//! `Starter` implementations to your own policy.
//!
//! ```sh
//! cargo run --example starter
//! DRONE_SECRET=$(openssl rand -hex 16) DRONE_CONFIG=examples/starter.toml cargo run --example starter
//! ```
//!
//! # Configuration (environment, Drone's conventions)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DRONE_BIND` | `0.0.0.0:3000` | listen address |
//! | `DRONE_SECRET` | random, printed once | the shared secret; configure the same value in Drone |
//! | `DRONE_<KIND>_SECRET` | `DRONE_SECRET` | a secret for one kind: `ADMISSION`, `GLOBAL_SECRETS`, `SECRET`, `REGISTRY`, `ENVIRON`, `CONFIG`, `CONVERT`, `VALIDATE`, `WEBHOOK` |
//! | `DRONE_GLOBAL_SECRETS_UNSIGNED` | `false` | `true`: serve `/global-secrets` to a Drone 0.8 server that does not sign (logged as a warning: anyone who reaches the port can read the secrets) |
//! | `DRONE_DEBUG` | `false` | debug logs |
//! | `DRONE_CONFIG` | embedded default | path to a TOML policy file |
//!
//! # Routes
//!
//! `GET /healthz` answers `200 OK` unsigned. `POST /admission`, `/global-secrets`, `/secret`,
//! `/registry`, `/environ`, `/config`, `/convert`, `/validate` and `/webhook` each verify the
//! signature for their own kind (the signed `Accept` must be the kind's media type; `/webhook`
//! accepts the server's `date digest` signature and drone-go's full one).
//!
//! # Policy file
//!
//! Without `DRONE_CONFIG` the embedded default admits every user (keeping their admin flag),
//! hands out no secret, registry or variable, answers config and convert with 204 (Drone uses the
//! repository's own file), passes every validation and logs webhooks. `examples/starter.toml`
//! documents every setting:
//!
//! ```toml
//! [admission]
//! deny = ["mallory"]          # refused logins
//! admins = ["octocat"]        # made administrators
//! allow_registration = true   # false: refuse first logins of users not in `admins`
//!
//! [[secrets]]                 # secret extension (path + name) and 0.8 global secrets (name)
//! name = "docker_password"
//! path = "secret/data/docker"
//! value = "correct-horse-battery-staple"
//! repos = ["octocat/*"]       # glob patterns; empty = all
//! events = ["push", "tag"]
//! images = []                 # 0.8 only
//! pull_request = false        # true: also for pull requests from forks
//!
//! [[registries]]
//! address = "index.docker.io"
//! username = "octocat"
//! password = "correct-horse-battery-staple"
//! repos = ["octocat/*"]
//!
//! [[environ]]
//! name = "API_TOKEN"
//! value = "s3cr3t"
//! mask = true
//! repos = ["octocat/hello-world"]
//!
//! [validate]
//! max_config_bytes = 1048576  # larger configurations are blocked pending approval
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use drone_extension::admission::{Admission, AdmissionEvent, AdmissionRequest, Admitter};
use drone_extension::config::{ConfigProvider, ConfigRequest};
use drone_extension::convert::{ConvertRequest, Converter};
use drone_extension::environ::{EnvironProvider, EnvironRequest};
use drone_extension::global_secrets::{self, GlobalSecretsRequest, SecretProvider};
use drone_extension::layer::VerifySignatureLayer;
use drone_extension::models::{Config, LegacySecret, Registry, Secret, Variable};
use drone_extension::registry::{RegistryProvider, RegistryRequest};
use drone_extension::secret::{SecretFinder, SecretRequest};
use drone_extension::signature::SharedSecret;
use drone_extension::validate::{ValidateRequest, Validation, Validator};
use drone_extension::webhook::{WebhookReceiver, WebhookRequest};
use drone_extension::{BoxError, ExtensionKind};
use serde::Deserialize;
use tower::limit::ConcurrencyLimitLayer;

/// The embedded default policy: admit everyone, hand out nothing.
const DEFAULT_POLICY: &str = r#"
[admission]
deny = []
admins = []
allow_registration = true
"#;

/// At most this many requests are handled at once; more wait in line.
const MAX_CONCURRENT_REQUESTS: usize = 512;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Policy {
    admission: AdmissionPolicy,
    secrets: Vec<SecretRule>,
    registries: Vec<RegistryRule>,
    environ: Vec<EnvironRule>,
    validate: ValidatePolicy,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AdmissionPolicy {
    deny: Vec<String>,
    admins: Vec<String>,
    allow_registration: bool,
}

impl Default for AdmissionPolicy {
    fn default() -> Self {
        AdmissionPolicy {
            deny: Vec::new(),
            admins: Vec::new(),
            allow_registration: true,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretRule {
    name: String,
    #[serde(default)]
    path: String,
    value: String,
    #[serde(default)]
    repos: Vec<String>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    pull_request: bool,
}

// Never print secret values, not even in debug logs.
impl std::fmt::Debug for SecretRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRule")
            .field("name", &self.name)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryRule {
    address: String,
    username: String,
    password: String,
    #[serde(default)]
    repos: Vec<String>,
}

impl std::fmt::Debug for RegistryRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryRule")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironRule {
    name: String,
    value: String,
    #[serde(default)]
    mask: bool,
    #[serde(default)]
    repos: Vec<String>,
}

impl std::fmt::Debug for EnvironRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvironRule")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ValidatePolicy {
    max_config_bytes: Option<usize>,
}

/// The extension: every kind's trait, implemented from the policy.
#[derive(Clone)]
struct Starter(Arc<Policy>);

fn listed(list: &[String], login: &str) -> bool {
    list.iter().any(|l| l.eq_ignore_ascii_case(login))
}

#[async_trait::async_trait]
impl Admitter for Starter {
    async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
        let policy = &self.0.admission;
        let login = &request.user.login;
        Ok(if listed(&policy.deny, login) {
            Admission::deny("access denied")
        } else if listed(&policy.admins, login) {
            Admission::GrantAdmin
        } else if request.event == AdmissionEvent::Register && !policy.allow_registration {
            Admission::deny("registration is closed")
        } else {
            Admission::Allow
        })
    }
}

#[async_trait::async_trait]
impl SecretProvider for Starter {
    async fn secrets(&self, request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        let repo = &request.repo.full_name;
        Ok(self
            .0
            .secrets
            .iter()
            .filter(|rule| global_secrets::matches(&rule.repos, repo))
            .map(|rule| LegacySecret {
                name: rule.name.clone(),
                value: rule.value.clone(),
                event: rule.events.clone(),
                image: rule.images.clone(),
                ..Default::default()
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl SecretFinder for Starter {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        let (repo, build) = (&request.repo, &request.build);
        // Runners do not filter pull requests: the extension must (protocol.md P3).
        let from_fork = build.is_pull_request() && build.is_fork(repo);
        Ok(self
            .0
            .secrets
            .iter()
            .find(|rule| {
                rule.name == request.name
                    && (rule.path.is_empty() || rule.path == request.path)
                    && global_secrets::matches(&rule.repos, &repo.slug)
                    && global_secrets::matches(&rule.events, &build.event)
                    && (rule.pull_request || !from_fork)
            })
            .map(|rule| Secret {
                name: rule.name.clone(),
                data: rule.value.clone(),
                pull: rule.pull_request,
                pull_request: rule.pull_request,
                ..Default::default()
            }))
    }
}

#[async_trait::async_trait]
impl RegistryProvider for Starter {
    async fn registries(&self, request: RegistryRequest) -> Result<Vec<Registry>, BoxError> {
        Ok(self
            .0
            .registries
            .iter()
            .filter(|rule| global_secrets::matches(&rule.repos, &request.repo.slug))
            .map(|rule| Registry {
                address: rule.address.clone(),
                username: rule.username.clone(),
                password: rule.password.clone(),
                ..Default::default()
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl EnvironProvider for Starter {
    async fn variables(&self, request: EnvironRequest) -> Result<Vec<Variable>, BoxError> {
        Ok(self
            .0
            .environ
            .iter()
            .filter(|rule| global_secrets::matches(&rule.repos, &request.repo.slug))
            .map(|rule| Variable {
                name: rule.name.clone(),
                data: rule.value.clone(),
                mask: rule.mask,
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl ConfigProvider for Starter {
    async fn find(&self, _request: ConfigRequest) -> Result<Option<Config>, BoxError> {
        Ok(None) // 204: Drone uses the repository's own file.
    }
}

#[async_trait::async_trait]
impl Converter for Starter {
    async fn convert(&self, _request: ConvertRequest) -> Result<Option<Config>, BoxError> {
        Ok(None) // 204: the configuration stays as it is.
    }
}

#[async_trait::async_trait]
impl Validator for Starter {
    async fn validate(&self, request: ValidateRequest) -> Result<Validation, BoxError> {
        Ok(match self.0.validate.max_config_bytes {
            Some(max) if request.config.data.len() > max => Validation::Block,
            _ => Validation::Pass,
        })
    }
}

#[async_trait::async_trait]
impl WebhookReceiver for Starter {
    async fn receive(&self, request: WebhookRequest) -> Result<(), BoxError> {
        let repo = request.repo.as_ref().map_or("-", |r| r.slug.as_str());
        tracing::info!(event = ?request.event, action = %request.action, repo, "webhook");
        Ok(())
    }
}

/// Reads `name`; unset and empty are the same.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_flag(name: &str) -> bool {
    env(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// `DRONE_SECRET`, or a random 32-character hex secret printed once.
fn shared_secret() -> Result<SharedSecret, BoxError> {
    if let Some(secret) = env("DRONE_SECRET") {
        return Ok(SharedSecret::new(secret)?);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random source: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    tracing::warn!("DRONE_SECRET is not set: generated one for this run only");
    // Printed once, on stderr, so that Drone can be configured with it.
    eprintln!("DRONE_SECRET={secret}");
    Ok(SharedSecret::new(secret)?)
}

fn load_policy() -> Result<Policy, BoxError> {
    let text = match env("DRONE_CONFIG") {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read DRONE_CONFIG={path}: {e}"))?,
        None => DEFAULT_POLICY.to_owned(),
    };
    Ok(toml::from_str(&text).map_err(|e| format!("invalid policy: {e}"))?)
}

fn app(policy: Policy, secret: &SharedSecret) -> Result<Router, BoxError> {
    let starter = Starter(Arc::new(policy));
    let unsigned_global_secrets = env_flag("DRONE_GLOBAL_SECRETS_UNSIGNED");
    let mut app = Router::new().route("/healthz", get(|| async { "OK" }));
    for kind in ExtensionKind::ALL {
        let var = format!(
            "DRONE_{}_SECRET",
            kind.name().replace('-', "_").to_uppercase()
        );
        let secret = match env(&var) {
            Some(own) => SharedSecret::new(own)?,
            None => secret.clone(),
        };
        let s = starter.clone();
        let route = match kind {
            ExtensionKind::Admission => {
                Router::new().route_service(kind.path(), Admitter::into_service(s))
            }
            ExtensionKind::GlobalSecrets => {
                Router::new().route_service(kind.path(), SecretProvider::into_service(s))
            }
            ExtensionKind::Secret => {
                Router::new().route_service(kind.path(), SecretFinder::into_service(s))
            }
            ExtensionKind::Registry => {
                Router::new().route_service(kind.path(), RegistryProvider::into_service(s))
            }
            ExtensionKind::Environ => {
                Router::new().route_service(kind.path(), EnvironProvider::into_service(s))
            }
            ExtensionKind::Config => {
                Router::new().route_service(kind.path(), ConfigProvider::into_service(s))
            }
            ExtensionKind::Convert => {
                Router::new().route_service(kind.path(), Converter::into_service(s))
            }
            ExtensionKind::Validate => {
                Router::new().route_service(kind.path(), Validator::into_service(s))
            }
            ExtensionKind::Webhook => {
                Router::new().route_service(kind.path(), WebhookReceiver::into_service(s))
            }
            other => return Err(format!("no route for {other}").into()),
        };
        let route = if kind == ExtensionKind::GlobalSecrets && unsigned_global_secrets {
            tracing::warn!(
                "/global-secrets serves UNSIGNED requests (DRONE_GLOBAL_SECRETS_UNSIGNED): \
                 anyone who can reach this port can read the global secrets"
            );
            route
        } else {
            route.route_layer(VerifySignatureLayer::for_kind(kind, secret))
        };
        app = app.merge(route);
    }
    Ok(app.layer(ConcurrencyLimitLayer::new(MAX_CONCURRENT_REQUESTS)))
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let level = if env_flag("DRONE_DEBUG") {
        "debug"
    } else {
        "info"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .init();

    let policy = load_policy()?;
    let secret = shared_secret()?;
    let app = app(policy, &secret)?;

    let bind: SocketAddr = env("DRONE_BIND")
        .unwrap_or_else(|| "0.0.0.0:3000".to_owned())
        .parse()
        .map_err(|e| format!("invalid DRONE_BIND: {e}"))?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    // The actual address (DRONE_BIND may ask for port 0): tests and operators read this line.
    tracing::info!(addr = %listener.local_addr()?, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

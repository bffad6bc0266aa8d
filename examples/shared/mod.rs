//! What `examples/axum.rs` and `examples/hyper.rs` share: the extension itself and its settings.
//! Only the wiring into a server differs between the two.

use std::net::SocketAddr;

use drone_extension::BoxError;
use drone_extension::admission::{Admission, AdmissionRequest, Admitter};
use drone_extension::global_secrets::{
    GlobalSecretsProvider, GlobalSecretsRequest, filter_by_event, matches,
};
use drone_extension::models::LegacySecret;
use drone_extension::signature::SharedSecret;

/// The extension: `octocat` is an administrator, `mallory` may not log in; repositories of
/// `octocat` get a Docker password on pushes and tags (never on pull requests).
#[derive(Clone)]
pub struct Policy;

#[async_trait::async_trait]
impl Admitter for Policy {
    async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
        Ok(match request.user.login.as_str() {
            "octocat" => Admission::GrantAdmin,
            "mallory" => Admission::deny("access denied"),
            _ => Admission::Allow, // keeps the user's current admin flag
        })
    }
}

#[async_trait::async_trait]
impl GlobalSecretsProvider for Policy {
    async fn secrets(&self, request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        if !matches(&["octocat/*".into()], &request.repo.full_name) {
            return Ok(Vec::new()); // `[]`: an error would run the build without any secret
        }
        // In real life the values come from a vault, not from the source.
        let secrets = vec![LegacySecret {
            name: "docker_password".into(),
            value: "correct-horse-battery-staple".into(),
            event: vec!["push".into(), "tag".into()],
            ..Default::default()
        }];
        Ok(filter_by_event(secrets, &request.build.event))
    }
}

/// `DRONE_SECRET`, the shared secret Drone signs with (`openssl rand -hex 16`; in Drone:
/// `DRONE_ADMISSION_PLUGIN_SECRET` and the 0.8 server's signing secret), and `DRONE_BIND`, the
/// listen address (default `0.0.0.0:3000`).
pub fn settings() -> Result<(SharedSecret, SocketAddr), BoxError> {
    let secret = std::env::var("DRONE_SECRET")
        .map_err(|_| "DRONE_SECRET is not set (generate one with `openssl rand -hex 16`)")?;
    let secret = SharedSecret::new(secret).map_err(|e| format!("DRONE_SECRET: {e}"))?;
    let bind = std::env::var("DRONE_BIND")
        .unwrap_or_else(|_| "0.0.0.0:3000".into())
        .parse()
        .map_err(|e| format!("invalid DRONE_BIND: {e}"))?;
    Ok((secret, bind))
}

/// Logs to stdout, `info` and up unless `RUST_LOG` says otherwise. The layer logs why it refuses
/// a request at `warn`.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

//! [`VaultSecretProvider`]: the Drone 0.8 global secrets endpoint, from Vault paths.

use async_trait::async_trait;

use super::{Lookup, Vault};
use crate::BoxError;
use crate::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
use crate::log::Escaped;
use crate::models::LegacySecret;
use crate::vault::access::{AccessPolicy, PatternList, Subject, equal_fold};

/// The key listing the images that may use the secrets of a path (0.8's `image` list).
pub const IMAGES_KEY: &str = "X-Drone-Images";

/// A [`GlobalSecretsProvider`] for Drone 0.8: each configured path holds a group of secrets, one per
/// string key (`docker_password: …`); the group's `X-Drone-Repos` and `X-Drone-Branches` decide
/// whether the build gets it at all, its `X-Drone-Events` and `X-Drone-Images` become each
/// secret's `event` and `image` lists, which the 0.8 server enforces.
///
/// A path that is missing or not served (not a KV secret, not allowed by the token's policies)
/// is logged and skipped: the others are still served. A backend failure on any path (Vault
/// unreachable, a timeout, a `5xx`, no valid token) fails the whole answer: the service answers
/// `500` and records `decision="error"`, rather than a partial list that would silently drop
/// global secrets. (Drone 0.8 then runs the build without any secret, as it does when the
/// endpoint is down.)
///
/// ```no_run
/// # async fn run() -> Result<(), drone_extension::vault::VaultError> {
/// use drone_extension::global_secrets::GlobalSecretsProvider;
/// use drone_extension::vault::{AuthMethod, Vault, VaultClient, VaultSecretProvider};
///
/// let client = VaultClient::builder("http://127.0.0.1:8200").build()?;
/// let vault = Vault::new(client, AuthMethod::Token("s.xxxx".into()), Default::default());
/// let service = VaultSecretProvider::new(vault, ["secret/data/drone/global"]).into_service();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct VaultSecretProvider {
    vault: Vault,
    paths: Vec<String>,
}

impl VaultSecretProvider {
    /// A provider serving the secrets of `paths`.
    pub fn new<S: Into<String>>(vault: Vault, paths: impl IntoIterator<Item = S>) -> Self {
        VaultSecretProvider {
            vault,
            paths: paths.into_iter().map(Into::into).collect(),
        }
    }
}

fn list(value: Option<&str>) -> Vec<String> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default()
}

#[async_trait]
impl GlobalSecretsProvider for VaultSecretProvider {
    async fn secrets(&self, request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        let mut secrets = Vec::new();
        for path in &self.paths {
            let data = match self.vault.lookup(path).await {
                Lookup::Found(data) => data,
                Lookup::NotFound => {
                    tracing::warn!(path = %Escaped(path), "global secrets path not found");
                    continue;
                }
                Lookup::Refused(error) => {
                    tracing::warn!(
                        path = %Escaped(path), error = %Escaped(&error),
                        "global secrets path skipped: refused"
                    );
                    continue;
                }
                Lookup::Failed(error) => {
                    tracing::warn!(
                        path = %Escaped(path),
                        "global secrets: Vault read failed: answered as an error"
                    );
                    return Err(Box::new(error));
                }
            };
            if data.non_string_keys().any(|k| equal_fold(k, IMAGES_KEY)) {
                tracing::warn!(
                    path = %Escaped(path),
                    "global secrets path skipped: its X-Drone-Images is not a string"
                );
                continue;
            }
            let policy = data.policy();
            let subject = Subject {
                event: &request.build.event,
                repo: &request.repo.full_name,
                target: &request.build.branch,
                fork: false,
            };
            // Events are the server's to enforce, per secret.
            let mut groups = policy.clone();
            groups.events = None;
            if let Err(denied) = groups.check(&subject, false) {
                tracing::debug!(
                    path = %Escaped(path), repo = %Escaped(&request.repo.full_name), "{denied}"
                );
                continue;
            }
            let find = |key: &str| {
                data.iter()
                    .find(|(k, _)| equal_fold(k, key))
                    .map(|(_, v)| v)
            };
            let event = policy.events.as_ref().map(PatternList::as_str);
            let event = list(event);
            let image = list(find(IMAGES_KEY));
            for (name, value) in data.iter() {
                if AccessPolicy::is_filter_key(name) || equal_fold(name, IMAGES_KEY) {
                    continue;
                }
                secrets.push(LegacySecret {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    event: event.clone(),
                    image: image.clone(),
                    ..LegacySecret::default()
                });
            }
        }
        Ok(secrets)
    }
}

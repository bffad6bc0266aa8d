//! [`VaultSecretFinder`]: the 1.x secret extension, answering as drone-vault does.

use async_trait::async_trait;

use super::{Lookup, Vault};
use crate::BoxError;
use crate::log::Escaped;
use crate::models::Secret;
use crate::secret::{SecretFinder, SecretRequest};
use crate::vault::access::Subject;

/// A [`SecretFinder`] reading Vault with drone-vault's mapping: `get.path` is read as given
/// (KV v2 paths include `data/`), `get.name` names the key (`value` when empty), string values
/// only, and the secret's own `X-Drone-*` keys filter who gets it ([`crate::vault::access`]). Only
/// secrets in KV engines are read ([`Vault::read`]): a pipeline asking for
/// `auth/token/lookup-self`, `cubbyhole/…` or `sys/…` gets nothing.
///
/// A missing path or key, a path that is not served (not a KV secret, a `..`, a `403` for a path
/// the token's policies do not allow) and a filter refusing are logged and answered "no secret"
/// (`204`), as drone-vault's `404`. A backend failure (Vault unreachable, a timeout, a `5xx`, no
/// valid token: [`Lookup::Failed`](super::Lookup::Failed)) is an error: the service answers
/// `500` with a generic body and records `decision="error"`, so an outage shows in the log and
/// metrics instead of passing for a missing secret (the runner logs the error and runs the step
/// without the secret). Every request-controlled field is logged escaped (control characters as
/// `\n`, `\u{1b}`), so a `get.path` cannot forge log lines.
///
/// ```no_run
/// # async fn run() -> Result<(), drone_extension::vault::VaultError> {
/// use drone_extension::secret::SecretFinder;
/// use drone_extension::vault::{AuthMethod, Vault, VaultClient, VaultSecretFinder};
///
/// let client = VaultClient::builder("http://127.0.0.1:8200").build()?;
/// let vault = Vault::new(client, AuthMethod::Token("s.xxxx".into()), Default::default());
/// let service = VaultSecretFinder::new(vault).disallow_forks(true).into_service();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct VaultSecretFinder {
    vault: Vault,
    disallow_forks: bool,
}

impl VaultSecretFinder {
    /// A finder reading from `vault`; forks allowed unless a secret says otherwise.
    pub fn new(vault: Vault) -> VaultSecretFinder {
        VaultSecretFinder {
            vault,
            disallow_forks: false,
        }
    }

    /// The default of `X-Drone-Disallow-Forks` (`DRONE_DISALLOW_FORKS`).
    #[must_use]
    pub fn disallow_forks(mut self, yes: bool) -> VaultSecretFinder {
        self.disallow_forks = yes;
        self
    }
}

#[async_trait]
impl SecretFinder for VaultSecretFinder {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        let name = match request.name.as_str() {
            "" => "value",
            name => name,
        };
        let path = Escaped(&request.path);
        let repo = Escaped(&request.repo.slug);
        let data = match self.vault.lookup(&request.path).await {
            Lookup::Found(data) => data,
            Lookup::NotFound => {
                tracing::debug!(%path, "secret not found");
                return Ok(None);
            }
            Lookup::Refused(error) => {
                let error = Escaped(&error);
                tracing::warn!(%path, %repo, %error, "secret path refused: not read");
                return Ok(None);
            }
            Lookup::Failed(error) => {
                tracing::warn!(%path, %repo, "Vault read failed: answered as an error");
                return Err(Box::new(error));
            }
        };
        let Some(value) = data.get(name) else {
            tracing::debug!(%path, name = %Escaped(name), "secret key not found");
            return Ok(None);
        };
        let subject = Subject {
            event: &request.build.event,
            repo: &request.repo.slug,
            target: &request.build.target,
            fork: request.build.is_fork(&request.repo),
        };
        if let Err(denied) = data.policy().check(&subject, self.disallow_forks) {
            tracing::info!(
                %path, name = %Escaped(name), %repo,
                event = %Escaped(&request.build.event),
                target = %Escaped(&request.build.target),
                "{denied}"
            );
            return Ok(None);
        }
        Ok(Some(Secret {
            name: name.to_owned(),
            data: value.to_owned(),
            pull: true,
            fork: true,
            ..Secret::default()
        }))
    }
}

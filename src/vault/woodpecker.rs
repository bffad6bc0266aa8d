//! [`VaultWoodpeckerSecrets`]: Woodpecker's secret extension, read from Vault / OpenBao.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Lookup, Vault, VaultError, normalize_path};
use crate::BoxError;
use crate::log::Escaped;
use crate::vault::access::Subject;
use crate::woodpecker::{Secret, SecretExtension, SecretRequest};

/// One secret the operator hands to Woodpecker pipelines: its name, and the Vault key it is read
/// from (`path#key`).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretSource {
    name: String,
    path: String,
    key: String,
    images: Vec<String>,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <- {}#{}", self.name, self.path, self.key)?;
        if !self.images.is_empty() {
            write!(f, " (images {:?})", self.images)?;
        }
        Ok(())
    }
}

impl SecretSource {
    /// The secret `name` (what steps use with `from_secret:`) read from `source`, written
    /// `path#key`: the path as Vault reads it (KV v2 paths include `data/`:
    /// `secret/data/ci/docker#password`), then the key in that secret.
    ///
    /// ```
    /// use drone_extension::vault::SecretSource;
    ///
    /// assert!(SecretSource::new("docker_password", "secret/data/ci/docker#password").is_ok());
    /// assert!(SecretSource::new("docker_password", "secret/data/ci/docker").is_err()); // no key
    /// assert!(SecretSource::new("token", "auth/token/lookup-self#id").is_err()); // not a secret
    /// ```
    ///
    /// # Errors
    ///
    /// [`VaultError::Config`] when the name, path or key is empty, or when there is no `#`;
    /// [`VaultError::InvalidPath`] or [`VaultError::NotASecret`] for a path that is refused
    /// whatever Vault holds (a `..` segment, `auth/`, `sys/`, `cubbyhole/`, `identity/`).
    pub fn new(name: &str, source: &str) -> Result<SecretSource, VaultError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(VaultError::Config(format!(
                "Woodpecker secret for {source:?}: the name is empty"
            )));
        }
        let Some((path, key)) = source.rsplit_once('#') else {
            return Err(VaultError::Config(format!(
                "Woodpecker secret {name}: {source:?} is not path#key"
            )));
        };
        if key.is_empty() {
            return Err(VaultError::Config(format!(
                "Woodpecker secret {name}: {source:?} has an empty key"
            )));
        }
        Ok(SecretSource {
            name: name.to_owned(),
            path: normalize_path(path)?,
            key: key.to_owned(),
            images: Vec::new(),
        })
    }

    /// Gives the secret to plugin steps of these images only (Woodpecker's `images`; empty, the
    /// default: every step that asks for it).
    #[must_use]
    pub fn images(mut self, images: impl IntoIterator<Item = impl Into<String>>) -> SecretSource {
        self.images = images.into_iter().map(Into::into).collect();
        self
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Vault path, cleaned.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The key in the Vault secret.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A Woodpecker [`SecretExtension`] reading its secrets from Vault (or OpenBao), with the
/// access filters of [`crate::vault::access`] applied to Woodpecker's repository and pipeline.
///
/// # Which secrets
///
/// Woodpecker does not name the secrets it wants: it asks for every secret of a pipeline. The
/// operator therefore lists them, each a name and the Vault key it is read from
/// ([`SecretSource`], written `path#key`); a pipeline gets, in the order listed, every listed
/// secret whose Vault secret admits it. Vault's policies still decide what the extension's token
/// may read, and only KV secrets are ever read ([`Vault::read`]).
///
/// # Who gets a secret
///
/// Each Vault secret carries drone-vault's filters next to its values ([`crate::vault::access`]), read
/// here against the pipeline Woodpecker describes:
///
/// | filter | compared with |
/// |---|---|
/// | `X-Drone-Repos` | `repo.full_name` (`owner/name`) |
/// | `X-Drone-Events` | `pipeline.event` (`push`, `pull_request`, `pull_request_closed`, `tag`, `release`, `deployment`, `cron`, `manual`; `pull_request*` covers every pull-request event) |
/// | `X-Drone-Branches` | `pipeline.branch` |
/// | `X-Drone-Disallow-Forks` | `pipeline.from_fork` (unset: [`disallow_forks`](Self::disallow_forks), `false` by default) |
///
/// A secret without filters goes to every pipeline that calls the extension: give each one at
/// least `X-Drone-Repos`.
///
/// # Failures
///
/// A listed path or key that does not exist, or whose filters refuse the pipeline, is left out
/// (logged at debug or info level), as is a path the extension's valid token may not read (a
/// `403` while the token checks out: logged at warn level). When Vault cannot answer (down,
/// timeout, a `403` with a token that turns out dead, not logged in) the call fails: answered `500`, Woodpecker retries, then runs with its database's secrets
/// only, rather than with a partial list. Each path is read once per request, however many keys
/// are taken from it (with [`Vault::with_cache`](super::Vault::with_cache), once per cache period).
///
/// ```no_run
/// # async fn run() -> Result<(), drone_extension::vault::VaultError> {
/// use drone_extension::vault::{SecretSource, Vault, VaultSettings, VaultWoodpeckerSecrets};
/// use drone_extension::woodpecker::SecretExtension;
///
/// let settings = VaultSettings::from_env()?;
/// let vault = Vault::new(settings.client.build()?, settings.method, settings.renewal);
/// let secrets = VaultWoodpeckerSecrets::new(vault)
///     .secret("docker_password", "secret/data/ci/docker#password")?
///     .source(SecretSource::new("deploy_key", "secret/data/ci/deploy#key")?.images(["plugins/ssh"]))
///     .disallow_forks(true);
/// let service = secrets.into_service(); // behind VerifyWoodpeckerLayer, or in a WoodpeckerRouter
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct VaultWoodpeckerSecrets {
    vault: Vault,
    sources: Arc<[SecretSource]>,
    disallow_forks: bool,
}

impl VaultWoodpeckerSecrets {
    /// An extension reading from `vault` with no secret listed yet (it answers `{"secrets":[]}`);
    /// forks allowed unless a secret says otherwise.
    pub fn new(vault: Vault) -> VaultWoodpeckerSecrets {
        VaultWoodpeckerSecrets {
            vault,
            sources: Arc::from([]),
            disallow_forks: false,
        }
    }

    /// Lists the secret `name`, read from `source` (`path#key`, see [`SecretSource::new`]).
    ///
    /// # Errors
    ///
    /// As [`SecretSource::new`].
    pub fn secret(self, name: &str, source: &str) -> Result<VaultWoodpeckerSecrets, VaultError> {
        Ok(self.source(SecretSource::new(name, source)?))
    }

    /// Lists a secret; one of the same name listed before is replaced.
    #[must_use]
    pub fn source(mut self, source: SecretSource) -> VaultWoodpeckerSecrets {
        let mut sources: Vec<SecretSource> = self.sources.iter().cloned().collect();
        match sources.iter_mut().find(|s| s.name == source.name) {
            Some(existing) => *existing = source,
            None => sources.push(source),
        }
        self.sources = sources.into();
        self
    }

    /// The secrets listed, in order.
    pub fn sources(&self) -> &[SecretSource] {
        &self.sources
    }

    /// The default of `X-Drone-Disallow-Forks` for secrets that do not set it.
    #[must_use]
    pub fn disallow_forks(mut self, yes: bool) -> VaultWoodpeckerSecrets {
        self.disallow_forks = yes;
        self
    }
}

#[async_trait]
impl SecretExtension for VaultWoodpeckerSecrets {
    async fn secrets(&self, request: SecretRequest) -> Result<Vec<Secret>, BoxError> {
        let subject = Subject {
            event: &request.pipeline.event,
            repo: &request.repo.full_name,
            target: &request.pipeline.branch,
            fork: request.pipeline.from_fork,
        };
        let repo = Escaped(&request.repo.full_name);
        // Each path read once, in the order first listed.
        let mut read: HashMap<&str, Option<super::SecretData>> = HashMap::new();
        let mut secrets = Vec::new();
        for source in self.sources.iter() {
            if !read.contains_key(source.path.as_str()) {
                let data = match self.vault.lookup(&source.path).await {
                    Lookup::Found(data) => Some(data),
                    Lookup::NotFound => None,
                    // Not a KV secret, an invalid path, or a path the (valid) token's policies
                    // do not cover: the operator's list and Vault disagree, the others count.
                    Lookup::Refused(error) => {
                        let error = Escaped(&error);
                        tracing::warn!(path = %Escaped(&source.path), %error, "listed path refused: not read");
                        None
                    }
                    Lookup::Failed(error) => return Err(error.into()),
                };
                read.insert(&source.path, data);
            }
            let Some(Some(data)) = read.get(source.path.as_str()) else {
                tracing::debug!(path = %source.path, "listed secret not found");
                continue;
            };
            let Some(value) = data.get(&source.key) else {
                tracing::debug!(path = %source.path, key = %source.key, "listed key not found");
                continue;
            };
            if let Err(denied) = data.policy().check(&subject, self.disallow_forks) {
                tracing::info!(
                    name = %source.name, path = %source.path, %repo,
                    event = %Escaped(subject.event),
                    branch = %Escaped(subject.target),
                    fork = subject.fork,
                    "{denied}"
                );
                continue;
            }
            secrets.push(Secret {
                name: source.name.clone(),
                value: value.to_owned(),
                images: source.images.clone(),
                events: Vec::new(),
            });
        }
        Ok(secrets)
    }
}

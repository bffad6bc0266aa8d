//! A Vault / OpenBao secret backend (feature `vault`): a small async client, managed
//! authentication, and the secret providers of drone-vault, with its data layout, `.drone.yml`
//! and filters unchanged.
//!
//! ```no_run
//! # async fn run() -> Result<(), drone_extension::vault::VaultError> {
//! use drone_extension::secret::SecretFinder;
//! use drone_extension::vault::{Vault, VaultSecretFinder, VaultSettings};
//!
//! // VAULT_ADDR, VAULT_AUTH_TYPE, VAULT_TOKEN / VAULT_APPROLE_* / VAULT_KUBERNETES_ROLE, …
//! let settings = VaultSettings::from_env()?;
//! let vault = Vault::new(settings.client.build()?, settings.method, settings.renewal);
//! let ready = vault.readiness(); // for a /readyz route: no call to Vault
//! println!("ready: {}, token valid: {}", ready.ready, ready.token.valid);
//! let secret_service = VaultSecretFinder::new(vault).into_service();
//! # Ok(()) }
//! ```
//!
//! # The pieces
//!
//! * [`VaultClient`]: one call to `/v1/{path}` with a deadline (default 5 s), `X-Vault-Token`,
//!   `X-Vault-Request`, `X-Vault-Namespace`; `https` through the crate's rustls setup (system
//!   roots plus `VAULT_CACERT`, a server-name override, the dangerous skip-verify).
//! * [`Auth`]: token, AppRole or Kubernetes login; renewal at two thirds of the TTL and a
//!   `lookup-self` check every [`Renewal::check`] (2 s by default); a new login when renewal
//!   fails, the renewed TTL falls short, or a read is refused with a `403` and `lookup-self`
//!   confirms the token is dead. A failed login is retried with backoff, never fatal: meanwhile
//!   [`Vault::readiness`] reports not ready and reads answer [`VaultError::NotAuthenticated`].
//! * A backend failure is an error, not an absence: when Vault is unreachable, times out,
//!   answers a `5xx`, or the token is refused, [`VaultSecretFinder`] and [`VaultSecretProvider`]
//!   return an error, which the services answer `500` with `decision="error"` (logged and
//!   counted in `drone_extension_requests_total`). Only "no such secret" and the refusals of
//!   paths that are not served ([`Lookup::Refused`]) are answered "no secret".
//! * Only secrets are read: [`Vault::read`] cleans the path ([`normalize_path`]), refuses
//!   `auth/`, `sys/`, `identity/` and `cubbyhole/` at once, then learns the path's mount and KV
//!   version from Vault (`sys/internal/ui/mounts/{path}`, cached per mount for
//!   [`MOUNT_CACHE_TTL`]) or from an operator's allow-list ([`Vault::with_kv_mounts`]) and
//!   refuses any other engine ([`Refusal`]), all before reading the path.
//! * [`kv::read`] and [`SecretData`]: the path as written (KV v2 paths include `data/`), the map
//!   of the mount's KV version (`data.data` for v2, `data` for v1), string values only, and the
//!   secret's filters (a non-string filter value denies).
//! * [`Vault`]: all of it, with an optional [`TtlCache`] (off by default) and one deadline over a
//!   whole read, so an outage answers quickly.
//! * [`VaultSecretFinder`] (secret extension, Drone 1.x) and [`VaultSecretProvider`] (global
//!   secrets, Drone 0.8), filtering with [`crate::vault::access`]; with the `woodpecker` feature,
//!   `VaultWoodpeckerSecrets` (Woodpecker's secret extension: an operator-listed set of
//!   `path#key` secrets, filtered by Woodpecker's repository and pipeline).
//!
//! # Why a hand-written client
//!
//! The extension needs five calls (a generic logical read, two logins, lookup-self,
//! renew-self) whose exact behaviour is the compatibility contract: Go's path cleaning, the
//! `404`-with-body rules, the namespace header and Go's parsing of `VAULT_*` variables. The
//! `vaultrs` crate has no generic read (its KV v2 API inserts `data/` itself), treats any
//! `VAULT_SKIP_VERIFY` value but `0`/`false` as "skip", has no server-name override, and would
//! add about a hundred crates (reqwest, a second TLS stack) to the crate's existing hyper-util +
//! hyper-rustls client. This module is a few hundred lines on that client.
//!
//! # Differences from drone-vault
//!
//! * Only KV secrets are read: `auth/token/lookup-self` (the extension's own token),
//!   `cubbyhole/…`, `sys/…`, `identity/…` and other engines are refused (drone-vault reads any
//!   path the pipeline names). The KV version comes from the mount, so a KV v1 secret holding an
//!   object under `data` keeps its own top-level filters (drone-vault unwraps it as KV v2).
//! * A `get.path` with a `..` segment is refused (drone-vault resolves it and reads another
//!   path).
//! * A filter whose value is not a string denies (drone-vault ignores it: fail-open).
//! * "Not found" is answered `204` (drone-vault: `404`); runners treat both as "no secret".
//! * A Vault outage is answered `500` (drone-vault: `404`, as "no secret"): the runner logs the
//!   error and the step still runs without the secret, but the extension's log and metrics show
//!   `decision="error"` instead of a misleading "not found".
//! * A login failure is retried with backoff instead of exiting; renewal happens before expiry.
//! * See [`crate::vault::access`] for the filter cases decided on the safe side.

pub mod access;
mod auth;
mod cache;
mod client;
mod env;
mod error;
mod finder;
pub mod kv;
mod mounts;
mod provider;
#[cfg(feature = "woodpecker")]
mod woodpecker;

use std::sync::Arc;
use std::time::Duration;

use mounts::{KvMounts, Unresolved};

pub use crate::env::parse_go_duration;
pub use auth::{
    Auth, AuthMethod, DEFAULT_CHECK_INTERVAL, KUBERNETES_TOKEN_PATH, Renewal, TokenStatus,
};
pub use cache::TtlCache;
pub use client::{DEFAULT_TIMEOUT, VaultClient, VaultClientBuilder, VaultResponse, api_path};
pub use env::VaultSettings;
pub use error::VaultError;
pub use finder::VaultSecretFinder;
pub use kv::SecretData;
pub use mounts::{KvMount, KvVersion, MOUNT_CACHE_TTL, RESERVED_PREFIXES, Refusal, normalize_path};
pub use provider::{IMAGES_KEY, VaultSecretProvider};
#[cfg(feature = "woodpecker")]
#[cfg_attr(docsrs, doc(cfg(feature = "woodpecker")))]
pub use woodpecker::{SecretSource, VaultWoodpeckerSecrets};

/// A Vault server with a managed token and an optional cache: what the providers read from.
/// Cloning shares everything.
#[derive(Debug, Clone)]
pub struct Vault {
    client: VaultClient,
    auth: Auth,
    mounts: KvMounts,
    cache: Option<Arc<TtlCache<Option<SecretData>>>>,
}

/// The outcome of [`Vault::lookup`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Lookup {
    /// The secret's string values.
    Found(SecretData),
    /// No secret at that path (or mount).
    NotFound,
    /// The path is not served: not a KV secret ([`VaultError::NotASecret`]), an invalid path
    /// ([`VaultError::InvalidPath`]), or a path the token's policies do not allow
    /// ([`VaultError::PermissionDenied`] with the token still valid). The providers answer "no
    /// secret", as for [`Lookup::NotFound`].
    Refused(VaultError),
    /// Vault could not answer (unreachable, timeout, TLS, a `5xx` or another unexpected status,
    /// an undecodable answer) or the extension has no valid token
    /// ([`VaultError::NotAuthenticated`]): a backend failure, which the providers answer as an
    /// error (HTTP `500`, `decision="error"`), never as "no secret".
    Failed(VaultError),
}

/// What a `/readyz` route reports: whether reads can be served now, from the background token
/// checks (no call to Vault, so probing it costs Vault nothing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct VaultReadiness {
    /// The token is valid, Vault answered the last check, and that answer is recent (within
    /// twice the check interval plus the client's timeout, when checks are on).
    pub ready: bool,
    /// Whether Vault answered the last login, lookup or renewal (even with a refusal).
    pub reachable: bool,
    /// Milliseconds since Vault last answered a check (`None`: never yet).
    pub answered_ms_ago: Option<u64>,
    /// The token.
    pub token: TokenStatus,
}

/// What `sys/health` and the token report ([`Vault::health`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VaultHealth {
    /// Whether Vault answered `sys/health` within the timeout.
    pub reachable: bool,
    /// Its status (`200` active, `429` standby, `503` sealed, …), when it answered.
    pub status: Option<u16>,
    /// The token.
    pub token: TokenStatus,
}

impl VaultHealth {
    /// Reachable, answering `200`, and the token valid.
    pub fn is_healthy(&self) -> bool {
        self.reachable && self.status == Some(200) && self.token.valid
    }
}

impl Vault {
    /// Starts authenticating with `method` in the background (on the current tokio runtime).
    pub fn new(client: VaultClient, method: AuthMethod, renewal: Renewal) -> Vault {
        let auth = Auth::start(client.clone(), method, renewal);
        Vault {
            client,
            auth,
            mounts: KvMounts::discover(),
            cache: None,
        }
    }

    /// Reads only from these KV mounts, with their versions, instead of asking Vault
    /// (`VAULT_KV_MOUNTS`, see [`KvMount::parse_list`]): any path outside them is refused with
    /// [`Refusal::NotAllowed`]. The versions are trusted as given.
    #[must_use]
    pub fn with_kv_mounts(mut self, mounts: impl IntoIterator<Item = KvMount>) -> Vault {
        self.mounts = KvMounts::allowed(mounts);
        self
    }

    /// Caches each path's answer (found or not found, never an error) for `ttl`, at most
    /// `capacity` paths.
    #[must_use]
    pub fn with_cache(mut self, ttl: Duration, capacity: usize) -> Vault {
        self.cache = Some(Arc::new(TtlCache::new(ttl, capacity)));
        self
    }

    /// The client.
    pub fn client(&self) -> &VaultClient {
        &self.client
    }

    /// The managed token.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Reads the secret at `path` with the managed token, within the client's timeout as a
    /// whole, when it is a secret in a KV secrets engine:
    ///
    /// 1. the path is cleaned as Go's client does and refused when it has a `..` segment or starts
    ///    with `auth/`, `sys/`, `identity/` or `cubbyhole/` ([`normalize_path`]);
    /// 2. its mount and KV version are learned from Vault (`GET sys/internal/ui/mounts/{path}`,
    ///    remembered per mount for [`MOUNT_CACHE_TTL`]) or from the allow-list
    ///    ([`with_kv_mounts`](Self::with_kv_mounts)); another engine, a KV v2 path outside
    ///    `data/`, or no mount is refused;
    /// 3. then only is the path read ([`kv::read`]), as the mount's KV version.
    ///
    /// A `403` has the token checked and, if it was replaced, the lookup and read retried once.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidPath`] and [`VaultError::NotASecret`] before any read,
    /// [`VaultError::Timeout`] when the whole read takes longer than the timeout,
    /// [`VaultError::NotAuthenticated`] before the first login or when Vault refuses the token
    /// and no valid one replaces it, [`VaultError::PermissionDenied`] when the token is valid but
    /// its policies do not allow the path, and the errors of [`kv::read`].
    pub async fn read(&self, path: &str) -> Result<Option<SecretData>, VaultError> {
        let path = normalize_path(path)?;
        if let Some(cached) = self.cache.as_ref().and_then(|c| c.get(&path)) {
            return Ok(cached);
        }
        let timeout = self.client.timeout();
        let read = async {
            let token = self
                .auth
                .wait_token(timeout)
                .await
                .ok_or(VaultError::NotAuthenticated)?;
            let outcome = match self.read_as(&token, &path).await {
                Err(denied @ (Unresolved::Denied | Unresolved::MountDenied)) => {
                    match self.auth.rejected(&token, timeout).await {
                        Some(new) => self.read_as(&new, &path).await,
                        None => Err(denied),
                    }
                }
                other => other,
            };
            outcome.map_err(|unresolved| self.error(unresolved))
        };
        let data = tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| VaultError::Timeout)??;
        if let Some(cache) = &self.cache {
            cache.insert(path, data.clone());
        }
        Ok(data)
    }

    /// The mount lookup, then the read, with `token`.
    async fn read_as(&self, token: &str, path: &str) -> Result<Option<SecretData>, Unresolved> {
        let version = self.mounts.resolve(&self.client, token, path).await?;
        match kv::read(&self.client, token, path, version).await {
            Err(VaultError::PermissionDenied) => Err(Unresolved::Denied),
            other => Ok(other?),
        }
    }

    /// The error for what a read could not resolve. A `403` to the mount lookup with a token
    /// still valid means Vault shows the token no mount there: not a secret it may read.
    fn error(&self, unresolved: Unresolved) -> VaultError {
        match unresolved {
            Unresolved::Refused(why) => VaultError::NotASecret(why),
            Unresolved::MountDenied if self.auth.status().valid => {
                VaultError::NotASecret(Refusal::NoMount)
            }
            Unresolved::Denied if self.auth.status().valid => VaultError::PermissionDenied,
            // Refused, and the token checked is not valid (revoked, expired, not renewable).
            Unresolved::Denied | Unresolved::MountDenied => VaultError::NotAuthenticated,
            Unresolved::Failed(error) => error,
        }
    }

    /// [`read`](Self::read) as one of four outcomes: found, not found, refused (a path not
    /// served, see [`VaultError::is_refusal`]) or failed (Vault or the token failed).
    pub async fn lookup(&self, path: &str) -> Lookup {
        match self.read(path).await {
            Ok(Some(data)) => Lookup::Found(data),
            Ok(None) => Lookup::NotFound,
            Err(error) if error.is_refusal() => Lookup::Refused(error),
            Err(error) => Lookup::Failed(error),
        }
    }

    /// Whether reads can be served now: the token valid and Vault answering the background
    /// checks ([`Renewal::check`]), recently. Reads no Vault state itself: cheap enough for a
    /// load balancer's probe.
    pub fn readiness(&self) -> VaultReadiness {
        let token = self.auth.status();
        let (reachable, ago) = self.auth.last_answer();
        let fresh = match (self.auth.check_interval(), ago) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(check), Some(ago)) => ago <= check * 2 + self.client.timeout(),
        };
        VaultReadiness {
            ready: token.valid && reachable && fresh,
            reachable,
            answered_ms_ago: ago.map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX)),
            token,
        }
    }

    /// Asks `sys/health` and reports it with the token's state.
    pub async fn health(&self) -> VaultHealth {
        let status = self.client.health().await.ok();
        VaultHealth {
            reachable: status.is_some(),
            status: status.map(|s| s.as_u16()),
            token: self.auth.status(),
        }
    }
}

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
//! let health = vault.health().await; // for a /healthz route
//! println!("reachable: {}, token valid: {}", health.reachable, health.token.valid);
//! let secret_service = VaultSecretFinder::new(vault).into_service();
//! # Ok(()) }
//! ```
//!
//! # The pieces
//!
//! * [`VaultClient`]: one call to `/v1/{path}` with a deadline (default 5 s), `X-Vault-Token`,
//!   `X-Vault-Request`, `X-Vault-Namespace`; `https` through the crate's rustls setup (system
//!   roots plus `VAULT_CACERT`, a server-name override, the dangerous skip-verify).
//! * [`Auth`]: token, AppRole or Kubernetes login; lookup and renewal at two thirds of the TTL;
//!   a new login when renewal fails, the renewed TTL falls short, or a read is refused with a
//!   `403` and `lookup-self` confirms the token is dead. A failed login is retried with backoff,
//!   never fatal: meanwhile [`Vault::health`] reports the token invalid and reads answer
//!   [`VaultError::NotAuthenticated`].
//! * [`kv::read`] and [`SecretData`]: the path as written (KV v2 paths include `data/`), KV v2's
//!   `data.data` unwrapped, string values only.
//! * [`Vault`]: all of it, with an optional [`TtlCache`] (off by default) and one deadline over a
//!   whole read, so an outage answers quickly.
//! * [`VaultSecretFinder`] (secret extension, Drone 1.x) and [`VaultSecretProvider`] (global
//!   secrets, Drone 0.8), filtering with [`crate::access`].
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
//! * A `get.path` with a `..` segment is refused (drone-vault resolves it and reads another
//!   path).
//! * "Not found" is answered `204` (drone-vault: `404`); runners treat both as "no secret".
//! * A login failure is retried with backoff instead of exiting; renewal happens before expiry.
//! * See [`crate::access`] for the filter cases decided on the safe side.

mod auth;
mod cache;
mod client;
mod env;
mod error;
mod finder;
pub mod kv;
mod provider;

use std::sync::Arc;
use std::time::Duration;

pub use auth::{Auth, AuthMethod, KUBERNETES_TOKEN_PATH, Renewal, TokenStatus};
pub use cache::TtlCache;
pub use client::{DEFAULT_TIMEOUT, VaultClient, VaultClientBuilder, VaultResponse, api_path};
pub use env::{VaultSettings, parse_go_duration};
pub use error::VaultError;
pub use finder::VaultSecretFinder;
pub use kv::SecretData;
pub use provider::{IMAGES_KEY, VaultSecretProvider};

/// A Vault server with a managed token and an optional cache: what the providers read from.
/// Cloning shares everything.
#[derive(Debug, Clone)]
pub struct Vault {
    client: VaultClient,
    auth: Auth,
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
    /// Vault could not answer, or refused.
    Failed(VaultError),
}

/// What a `/healthz` route reports.
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
            cache: None,
        }
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

    /// Reads `path` (see [`kv::read`]) with the managed token, within the client's timeout as a
    /// whole. A `403` has the token checked and, if it was replaced, the read retried once.
    ///
    /// # Errors
    ///
    /// [`VaultError::Timeout`] when the whole read takes longer than the timeout,
    /// [`VaultError::NotAuthenticated`] before the first login, and the errors of [`kv::read`].
    pub async fn read(&self, path: &str) -> Result<Option<SecretData>, VaultError> {
        if let Some(cached) = self.cache.as_ref().and_then(|c| c.get(path)) {
            return Ok(cached);
        }
        let timeout = self.client.timeout();
        let read = async {
            let token = self
                .auth
                .wait_token(timeout)
                .await
                .ok_or(VaultError::NotAuthenticated)?;
            match kv::read(&self.client, &token, path).await {
                Err(VaultError::PermissionDenied) => {
                    match self.auth.rejected(&token, timeout).await {
                        Some(new) => kv::read(&self.client, &new, path).await,
                        None => Err(VaultError::PermissionDenied),
                    }
                }
                other => other,
            }
        };
        let data = tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| VaultError::Timeout)??;
        if let Some(cache) = &self.cache {
            cache.insert(path.to_owned(), data.clone());
        }
        Ok(data)
    }

    /// [`read`](Self::read) as one of three outcomes.
    pub async fn lookup(&self, path: &str) -> Lookup {
        match self.read(path).await {
            Ok(Some(data)) => Lookup::Found(data),
            Ok(None) => Lookup::NotFound,
            Err(error) => Lookup::Failed(error),
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

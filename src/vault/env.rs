//! [`VaultSettings`]: drone-vault's environment variables, parsed once.

use std::path::PathBuf;
use std::time::Duration;

use super::{
    AuthMethod, DEFAULT_CHECK_INTERVAL, KUBERNETES_TOKEN_PATH, KvMount, Renewal, VaultClient,
    VaultClientBuilder, VaultError,
};
use crate::vault::access::parse_bool;

/// Everything drone-vault reads from its environment, for [`super::Vault::new`] and the
/// providers.
///
/// | variable | meaning |
/// |---|---|
/// | `VAULT_ADDR` | server URL (default `https://127.0.0.1:8200`, as Go's client) |
/// | `VAULT_AUTH_TYPE` | `approle`, `kubernetes`, anything else: token |
/// | `VAULT_TOKEN` | the token (token mode) |
/// | `VAULT_APPROLE_ID`, `VAULT_APPROLE_SECRET` | AppRole credentials |
/// | `VAULT_KUBERNETES_ROLE` | Kubernetes role |
/// | `VAULT_AUTH_MOUNT_POINT` | login mount (default `approle` / `kubernetes`) |
/// | `VAULT_KUBERNETES_TOKEN_PATH` | service-account token file (default the pod's) |
/// | `VAULT_TOKEN_TTL` | increment asked at renewal (Go duration: `72h`, `30m`) |
/// | `VAULT_TOKEN_RENEWAL` | longest wait between renewals (Go duration) |
/// | `VAULT_CACERT` | PEM file of CA certificates to trust |
/// | `VAULT_SKIP_VERIFY` | Go boolean: accept any certificate (dangerous) |
/// | `VAULT_TLS_SERVER_NAME` | name to verify the certificate for (and SNI) |
/// | `VAULT_NAMESPACE` | `X-Vault-Namespace` |
/// | `VAULT_CLIENT_TIMEOUT` | deadline of one Vault call (Go duration or seconds; default 5 s) |
/// | `VAULT_CACHE_TTL` | cache reads this long (Go duration; default off) |
/// | `VAULT_TOKEN_CHECK_INTERVAL` | `lookup-self` check of the token for readiness (Go duration; default `2s`, `0` off) |
/// | `VAULT_KV_MOUNTS` | allow-list of KV mounts, `path=version` (`secret=2,kv1=1`); default: asked of Vault |
/// | `DRONE_DISALLOW_FORKS` | Go boolean: default of `X-Drone-Disallow-Forks` |
/// | `DRONE_GLOBAL_SECRETS_PATHS` | comma-separated paths served on `/global-secrets` |
///
/// An invalid boolean or duration is an error (drone-vault refuses to start too).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VaultSettings {
    /// The client's settings.
    pub client: VaultClientBuilder,
    /// How to log in.
    pub method: AuthMethod,
    /// When to renew.
    pub renewal: Renewal,
    /// `DRONE_DISALLOW_FORKS`.
    pub disallow_forks: bool,
    /// `VAULT_CACHE_TTL`.
    pub cache_ttl: Option<Duration>,
    /// `DRONE_GLOBAL_SECRETS_PATHS`.
    pub global_secrets_paths: Vec<String>,
    /// `VAULT_KV_MOUNTS`: the only KV mounts read ([`super::Vault::with_kv_mounts`]); `None`:
    /// learned from Vault.
    pub kv_mounts: Option<Vec<KvMount>>,
}

impl VaultSettings {
    /// From the process environment.
    ///
    /// # Errors
    ///
    /// [`VaultError::Config`] for an invalid value or an unreadable `VAULT_CACERT`.
    pub fn from_env() -> Result<VaultSettings, VaultError> {
        VaultSettings::from_lookup(|name| std::env::var(name).ok())
    }

    /// From `lookup` (a variable's value; unset and empty are the same).
    ///
    /// ```
    /// use drone_extension::vault::VaultSettings;
    ///
    /// let env = |name: &str| match name {
    ///     "VAULT_ADDR" => Some("http://127.0.0.1:8200".to_owned()),
    ///     "VAULT_AUTH_TYPE" => Some("approle".to_owned()),
    ///     "VAULT_APPROLE_ID" => Some("role".to_owned()),
    ///     "VAULT_APPROLE_SECRET" => Some("secret".to_owned()),
    ///     "VAULT_TOKEN_TTL" => Some("72h".to_owned()),
    ///     _ => None,
    /// };
    /// let settings = VaultSettings::from_lookup(env)?;
    /// assert_eq!(settings.method.name(), "approle");
    /// assert_eq!(settings.renewal.increment, Some(std::time::Duration::from_secs(72 * 3600)));
    /// # Ok::<(), drone_extension::vault::VaultError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<VaultSettings, VaultError> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let flag = |name: &str| -> Result<bool, VaultError> {
            get(name)
                .map(|v| {
                    parse_bool(&v)
                        .ok_or_else(|| VaultError::Config(format!("{name}={v:?} is not a boolean")))
                })
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let duration = |name: &str| -> Result<Option<Duration>, VaultError> {
            get(name)
                .map(|v| {
                    parse_go_duration(&v).ok_or_else(|| {
                        VaultError::Config(format!(
                            "{name}={v:?} is not a duration like 30m or 72h"
                        ))
                    })
                })
                .transpose()
                .map(|d| d.filter(|d| !d.is_zero()))
        };
        let address = get("VAULT_ADDR").unwrap_or_else(|| "https://127.0.0.1:8200".into());
        let mut client = VaultClient::builder(address);
        if let Some(ns) = get("VAULT_NAMESPACE") {
            client = client.namespace(ns);
        }
        if let Some(path) = get("VAULT_CACERT") {
            let pem = std::fs::read(&path)
                .map_err(|e| VaultError::Config(format!("VAULT_CACERT={path}: {e}")))?;
            client = client.ca_certificate_pem(pem);
        }
        if let Some(name) = get("VAULT_TLS_SERVER_NAME") {
            client = client.server_name(name);
        }
        if flag("VAULT_SKIP_VERIFY")? {
            tracing::warn!("VAULT_SKIP_VERIFY: Vault's certificate is NOT verified");
            client = client.danger_accept_invalid_certs(true);
        }
        if let Some(v) = get("VAULT_CLIENT_TIMEOUT") {
            let timeout = v
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .or_else(|| parse_go_duration(&v))
                .filter(|d| !d.is_zero())
                .ok_or_else(|| VaultError::Config(format!("VAULT_CLIENT_TIMEOUT={v:?}")))?;
            client = client.timeout(timeout);
        }
        let mount = get("VAULT_AUTH_MOUNT_POINT");
        let method = match get("VAULT_AUTH_TYPE").as_deref() {
            Some("approle") => AuthMethod::AppRole {
                role_id: get("VAULT_APPROLE_ID").unwrap_or_default(),
                secret_id: get("VAULT_APPROLE_SECRET").unwrap_or_default(),
                mount: mount.unwrap_or_else(|| "approle".into()),
            },
            Some("kubernetes") => AuthMethod::Kubernetes {
                role: get("VAULT_KUBERNETES_ROLE").unwrap_or_default(),
                jwt_path: PathBuf::from(
                    get("VAULT_KUBERNETES_TOKEN_PATH")
                        .unwrap_or_else(|| KUBERNETES_TOKEN_PATH.into()),
                ),
                mount: mount.unwrap_or_else(|| "kubernetes".into()),
            },
            _ => AuthMethod::Token(get("VAULT_TOKEN").unwrap_or_default()),
        };
        let check = match get("VAULT_TOKEN_CHECK_INTERVAL") {
            None => Some(DEFAULT_CHECK_INTERVAL),
            Some(_) => duration("VAULT_TOKEN_CHECK_INTERVAL")?,
        };
        let kv_mounts = get("VAULT_KV_MOUNTS")
            .map(|list| KvMount::parse_list(&list))
            .transpose()
            .map_err(|e| VaultError::Config(format!("VAULT_KV_MOUNTS: {e}")))?;
        Ok(VaultSettings {
            client,
            method,
            renewal: Renewal {
                increment: duration("VAULT_TOKEN_TTL")?,
                period: duration("VAULT_TOKEN_RENEWAL")?,
                check,
            },
            disallow_forks: flag("DRONE_DISALLOW_FORKS")?,
            cache_ttl: duration("VAULT_CACHE_TTL")?,
            global_secrets_paths: get("DRONE_GLOBAL_SECRETS_PATHS")
                .map(|v| {
                    v.split(',')
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            kv_mounts,
        })
    }
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units `ns`, `us`, `µs`, `ms`,
/// `s`, `m`, `h` (`72h`, `1h30m`, `1.5s`, `0`); negative durations are refused.
///
/// ```
/// use std::time::Duration;
/// use drone_extension::vault::parse_go_duration;
///
/// assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
/// assert_eq!(parse_go_duration("3d"), None); // Go has no days
/// ```
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("72h"),
            Some(Duration::from_secs(72 * 3600))
        );
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "10", "-1s", "1x", "h", "1..5s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn invalid_values_are_refused() {
        let env = |bad: &'static str, value: &'static str| {
            move |name: &str| (name == bad).then(|| value.to_owned())
        };
        assert!(VaultSettings::from_lookup(env("VAULT_SKIP_VERIFY", "yes")).is_err());
        assert!(VaultSettings::from_lookup(env("VAULT_TOKEN_TTL", "3d")).is_err());
        assert!(VaultSettings::from_lookup(env("DRONE_DISALLOW_FORKS", "on")).is_err());
        assert!(VaultSettings::from_lookup(env("VAULT_KV_MOUNTS", "sys=1")).is_err());
        assert!(VaultSettings::from_lookup(env("VAULT_KV_MOUNTS", "secret")).is_err());
        assert!(VaultSettings::from_lookup(env("VAULT_TOKEN_CHECK_INTERVAL", "2")).is_err());
        let defaults = VaultSettings::from_lookup(|_| None).unwrap();
        assert_eq!(defaults.renewal.check, Some(DEFAULT_CHECK_INTERVAL));
        assert_eq!(defaults.kv_mounts, None);
        let off = VaultSettings::from_lookup(env("VAULT_TOKEN_CHECK_INTERVAL", "0")).unwrap();
        assert_eq!(off.renewal.check, None);
        let listed = VaultSettings::from_lookup(env("VAULT_KV_MOUNTS", "secret=2,kv1=1")).unwrap();
        assert_eq!(listed.kv_mounts.map(|m| m.len()), Some(2));
        let token = VaultSettings::from_lookup(env("VAULT_TOKEN", "s.abc")).unwrap();
        assert_eq!(token.method, AuthMethod::Token("s.abc".into()));
        assert!(!format!("{token:?}").contains("s.abc"));
    }
}

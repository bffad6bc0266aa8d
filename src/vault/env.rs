//! [`VaultSettings`]: drone-vault's environment variables, parsed once.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    AuthMethod, DEFAULT_CHECK_INTERVAL, KUBERNETES_TOKEN_PATH, KvMount, Renewal, VaultClient,
    VaultClientBuilder, VaultError,
};
use crate::env::{Env, EnvError, EnvWarning, Source, Summary};

/// The longest `VAULT_CACERT` read (a CA bundle).
const MAX_CACERT_LEN: u64 = 16 * 1024 * 1024;

/// The auth methods `VAULT_AUTH_TYPE` names.
const AUTH_TYPES: &[&str] = &["token", "approle", "kubernetes"];

/// The variables of each auth method but token's, for [`EnvWarning::Ignored`].
const APPROLE_VARIABLES: &[&str] = &[
    "VAULT_APPROLE_ID",
    "VAULT_APPROLE_SECRET",
    "VAULT_APPROLE_SECRET_FILE",
];
const KUBERNETES_VARIABLES: &[&str] = &["VAULT_KUBERNETES_ROLE", "VAULT_KUBERNETES_TOKEN_PATH"];
const TOKEN_VARIABLES: &[&str] = &["VAULT_TOKEN", "VAULT_TOKEN_FILE"];

/// Everything drone-vault reads from its environment, for [`super::Vault::new`] and the
/// providers.
///
/// | variable | meaning |
/// |---|---|
/// | `VAULT_ADDR` | server URL, `http(s)://host[:port]` (default `https://127.0.0.1:8200`, as Go's client; [`summary`](Self::summary) says it was defaulted) |
/// | `VAULT_AUTH_TYPE` | `token` (default), `approle` or `kubernetes`; anything else is refused |
/// | `VAULT_TOKEN` or `VAULT_TOKEN_FILE` | the token; required in token mode |
/// | `VAULT_APPROLE_ID`, `VAULT_APPROLE_SECRET` or `VAULT_APPROLE_SECRET_FILE` | AppRole credentials; both required in AppRole mode |
/// | `VAULT_KUBERNETES_ROLE` | Kubernetes role; required in Kubernetes mode |
/// | `VAULT_AUTH_MOUNT_POINT` | login mount (default `approle` / `kubernetes`) |
/// | `VAULT_KUBERNETES_TOKEN_PATH` | service-account token file (default the pod's) |
/// | `VAULT_TOKEN_TTL` | increment asked at renewal (Go duration: `72h`, `30m`; `0` none) |
/// | `VAULT_TOKEN_RENEWAL` | longest wait between renewals (Go duration) |
/// | `VAULT_CACERT` | PEM file of CA certificates to trust |
/// | `VAULT_SKIP_VERIFY` | Go boolean: accept any certificate (dangerous) |
/// | `VAULT_TLS_SERVER_NAME` | name to verify the certificate for (and SNI) |
/// | `VAULT_NAMESPACE` | `X-Vault-Namespace` |
/// | `VAULT_CLIENT_TIMEOUT` | deadline of one Vault call (Go duration or whole seconds, not zero; default 5 s) |
/// | `VAULT_CACHE_TTL` | cache reads this long (Go duration; default off) |
/// | `VAULT_TOKEN_CHECK_INTERVAL` | `lookup-self` check of the token for readiness (Go duration; default `2s`, `0` off) |
/// | `VAULT_KV_MOUNTS` | allow-list of KV mounts, `path=version` (`secret=2,kv1=1`); default: asked of Vault |
/// | `DRONE_DISALLOW_FORKS` | Go boolean: default of `X-Drone-Disallow-Forks` |
/// | `DRONE_GLOBAL_SECRETS_PATHS` | comma-separated paths served on `/global-secrets` |
///
/// Each value is read as [`crate::env`] describes (unset and empty are the same, Go booleans and
/// durations, `*_FILE` secrets). An invalid value, an unknown `VAULT_AUTH_TYPE` and a missing
/// credential of the chosen method are errors ([`VaultError::Env`], naming the variable and the
/// expected form): drone-vault refuses to start too, and a token mode without a token would
/// only fail later as "VAULT_TOKEN refused by Vault". A credential of another method that is set
/// anyway (`VAULT_APPROLE_ID` in token mode: `VAULT_AUTH_TYPE` forgotten?) is an
/// [`EnvWarning::Ignored`].
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
    /// What to log at start, never a secret: `VAULT_ADDR` (with [`Source::Default`] when
    /// unset), `VAULT_AUTH_TYPE`, where the credential came from (`VAULT_TOKEN=<secret from
    /// file>`), the login mount, `VAULT_NAMESPACE` and `VAULT_SKIP_VERIFY` when set.
    pub summary: Summary,
}

impl VaultSettings {
    /// `VAULT_ADDR`'s default, Go's client's.
    pub const DEFAULT_ADDRESS: &'static str = "https://127.0.0.1:8200";

    /// Every variable [`read`](Self::read) knows (the `*_FILE` variants included), whether or
    /// not the configuration uses it: `read` declares them [known](Env::known), so a binary's
    /// [`Env::finish`] suggests them for a misspelled one and never reports them unknown.
    pub const VARIABLES: &'static [&'static str] = &[
        "VAULT_ADDR",
        "VAULT_AUTH_TYPE",
        "VAULT_TOKEN",
        "VAULT_TOKEN_FILE",
        "VAULT_APPROLE_ID",
        "VAULT_APPROLE_SECRET",
        "VAULT_APPROLE_SECRET_FILE",
        "VAULT_KUBERNETES_ROLE",
        "VAULT_AUTH_MOUNT_POINT",
        "VAULT_KUBERNETES_TOKEN_PATH",
        "VAULT_TOKEN_TTL",
        "VAULT_TOKEN_RENEWAL",
        "VAULT_CACERT",
        "VAULT_SKIP_VERIFY",
        "VAULT_TLS_SERVER_NAME",
        "VAULT_NAMESPACE",
        "VAULT_CLIENT_TIMEOUT",
        "VAULT_CACHE_TTL",
        "VAULT_TOKEN_CHECK_INTERVAL",
        "VAULT_KV_MOUNTS",
        "DRONE_DISALLOW_FORKS",
        "DRONE_GLOBAL_SECRETS_PATHS",
    ];

    /// From the process environment. The [warnings](EnvWarning) of the read (a credential of
    /// another auth method set) are logged with `tracing::warn!`; a binary that also wants the
    /// unknown and misspelled variables reported uses [`read`](Self::read) with its own [`Env`]
    /// and [`Env::finish`].
    ///
    /// # Errors
    ///
    /// [`VaultError::Env`] for an invalid or missing value or an unreadable file.
    pub fn from_env() -> Result<VaultSettings, VaultError> {
        let mut env = Env::from_process();
        let settings = VaultSettings::read(&mut env)?;
        for warning in env.finish() {
            tracing::warn!("{warning}");
        }
        Ok(settings)
    }

    /// From `lookup` (a variable's value; unset and empty are the same), asked for each of
    /// [`VARIABLES`](Self::VARIABLES). Warnings are dropped.
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
    /// assert_eq!(
    ///     settings.summary.to_string(),
    ///     "VAULT_ADDR=http://127.0.0.1:8200, VAULT_AUTH_TYPE=approle, \
    ///      VAULT_AUTH_MOUNT_POINT=approle (default), VAULT_APPROLE_SECRET=<secret from env>"
    /// );
    ///
    /// let typo = |name: &str| (name == "VAULT_AUTH_TYPE").then(|| "aprole".to_owned());
    /// let error = VaultSettings::from_lookup(typo).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     r#"VAULT_AUTH_TYPE="aprole": expected one of token, approle or kubernetes (did you mean approle?)"#
    /// );
    /// # Ok::<(), drone_extension::vault::VaultError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<VaultSettings, VaultError> {
        let pairs = VaultSettings::VARIABLES
            .iter()
            .filter_map(|name| lookup(name).map(|value| (*name, value)));
        VaultSettings::read(&mut Env::from_pairs(pairs))
    }

    /// From `env`, which a binary then reads its own variables from and
    /// [finishes](Env::finish) (the warnings of this read included):
    ///
    /// ```
    /// use drone_extension::env::Env;
    /// use drone_extension::vault::VaultSettings;
    ///
    /// let mut env = Env::from_pairs([("VAULT_TOKN", "root"), ("DRONE_SECRET", "x")])
    ///     .prefixes(["DRONE_", "VAULT_"]);
    /// let error = VaultSettings::read(&mut env).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "VAULT_TOKEN (or VAULT_TOKEN_FILE) is required when VAULT_AUTH_TYPE is token (or unset)"
    /// );
    /// // What the binary logs before it exits: the misspelling.
    /// env.secret("DRONE_SECRET")?;
    /// let warnings: Vec<String> = env.finish().iter().map(|w| w.to_string()).collect();
    /// assert_eq!(warnings, ["unknown variable VAULT_TOKN (did you mean VAULT_TOKEN?)"]);
    /// # Ok::<(), drone_extension::env::EnvError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn read(env: &mut Env) -> Result<VaultSettings, VaultError> {
        env.mark_known(VaultSettings::VARIABLES);
        let mut summary = Summary::new();
        let address = match env.url("VAULT_ADDR")? {
            Some(address) => {
                summary.value("VAULT_ADDR", &address, Source::Env);
                address
            }
            None => {
                summary.value("VAULT_ADDR", Self::DEFAULT_ADDRESS, Source::Default);
                Self::DEFAULT_ADDRESS.to_owned()
            }
        };
        let mut client = VaultClient::builder(address);
        if let Some(ns) = env.string("VAULT_NAMESPACE")? {
            let ns = ns.trim();
            if http::HeaderValue::from_str(ns).is_err() {
                return Err(EnvError::invalid(
                    "VAULT_NAMESPACE",
                    ns,
                    "a Vault namespace usable as a header value, like admin/team",
                )
                .into());
            }
            summary.value("VAULT_NAMESPACE", ns, Source::Env);
            client = client.namespace(ns);
        }
        if let Some(path) = env.string("VAULT_CACERT")? {
            client = client.ca_certificate_pem(read_file("VAULT_CACERT", &path)?);
        }
        if let Some(name) = env.string("VAULT_TLS_SERVER_NAME")? {
            let name = name.trim();
            if rustls_pki_types::ServerName::try_from(name).is_err() {
                return Err(EnvError::invalid(
                    "VAULT_TLS_SERVER_NAME",
                    name,
                    "a DNS name or an IP address (the name in Vault's certificate)",
                )
                .into());
            }
            client = client.server_name(name);
        }
        if env.bool("VAULT_SKIP_VERIFY")?.unwrap_or(false) {
            tracing::warn!("VAULT_SKIP_VERIFY: Vault's certificate is NOT verified");
            summary.value("VAULT_SKIP_VERIFY", "true", Source::Env);
            client = client.danger_accept_invalid_certs(true);
        }
        if let Some(timeout) = env.duration_or_seconds("VAULT_CLIENT_TIMEOUT")? {
            if timeout.is_zero() {
                let value = env.string("VAULT_CLIENT_TIMEOUT")?.unwrap_or_default();
                return Err(EnvError::invalid(
                    "VAULT_CLIENT_TIMEOUT",
                    value.trim(),
                    "a duration like 30s, 5m or 72h, or whole seconds, greater than zero",
                )
                .into());
            }
            client = client.timeout(timeout);
        }
        let method = VaultSettings::method(env, &mut summary)?;
        let check = match env.duration("VAULT_TOKEN_CHECK_INTERVAL")? {
            None => Some(DEFAULT_CHECK_INTERVAL),
            Some(d) => Some(d).filter(|d| !d.is_zero()),
        };
        let kv_mounts = match env.string("VAULT_KV_MOUNTS")? {
            None => None,
            Some(list) => Some(KvMount::parse_list(&list).map_err(|e| {
                let why = match e {
                    VaultError::Config(why) => why,
                    other => other.to_string(),
                };
                EnvError::invalid(
                    "VAULT_KV_MOUNTS",
                    list.trim(),
                    format!("KV mounts as path=1 or path=2, like secret=2,kv1=1 ({why})"),
                )
            })?),
        };
        let mut duration = |name: &str| -> Result<Option<Duration>, EnvError> {
            Ok(env.duration(name)?.filter(|d| !d.is_zero()))
        };
        let renewal = Renewal {
            increment: duration("VAULT_TOKEN_TTL")?,
            period: duration("VAULT_TOKEN_RENEWAL")?,
            check,
        };
        let cache_ttl = duration("VAULT_CACHE_TTL")?;
        Ok(VaultSettings {
            client,
            method,
            renewal,
            disallow_forks: env.bool("DRONE_DISALLOW_FORKS")?.unwrap_or(false),
            cache_ttl,
            global_secrets_paths: env.list("DRONE_GLOBAL_SECRETS_PATHS")?.unwrap_or_default(),
            kv_mounts,
            summary,
        })
    }

    /// `VAULT_AUTH_TYPE` and its credentials.
    fn method(env: &mut Env, summary: &mut Summary) -> Result<AuthMethod, EnvError> {
        let auth_type = env.choice("VAULT_AUTH_TYPE", AUTH_TYPES)?;
        let source = if auth_type.is_some() {
            Source::Env
        } else {
            Source::Default
        };
        let auth_type = auth_type.unwrap_or("token");
        summary.value("VAULT_AUTH_TYPE", auth_type, source);
        let mut mount = |env: &mut Env, default: &str| -> Result<String, EnvError> {
            Ok(match env.string("VAULT_AUTH_MOUNT_POINT")? {
                Some(mount) => {
                    summary.value("VAULT_AUTH_MOUNT_POINT", &mount, Source::Env);
                    mount
                }
                None => {
                    summary.value("VAULT_AUTH_MOUNT_POINT", default, Source::Default);
                    default.to_owned()
                }
            })
        };
        let (method, ignored): (AuthMethod, &[&[&str]]) = match auth_type {
            "approle" => {
                let mount = mount(env, "approle")?;
                let role_id = env.string("VAULT_APPROLE_ID")?;
                let secret_id = env.secret("VAULT_APPROLE_SECRET")?;
                let (Some(role_id), Some(secret_id)) = (role_id.clone(), secret_id.clone()) else {
                    let mut missing = Vec::new();
                    if role_id.is_none() {
                        missing.push("VAULT_APPROLE_ID");
                    }
                    if secret_id.is_none() {
                        missing.push("VAULT_APPROLE_SECRET");
                    }
                    return Err(env.missing(&missing, Some("VAULT_AUTH_TYPE is approle")));
                };
                summary.secret("VAULT_APPROLE_SECRET", secret_id.source());
                let method = AuthMethod::AppRole {
                    role_id: role_id.trim().to_owned(),
                    secret_id: secret_id.into_string(),
                    mount,
                };
                (method, &[TOKEN_VARIABLES, KUBERNETES_VARIABLES])
            }
            "kubernetes" => {
                let mount = mount(env, "kubernetes")?;
                let Some(role) = env.string("VAULT_KUBERNETES_ROLE")? else {
                    return Err(env.missing(
                        &["VAULT_KUBERNETES_ROLE"],
                        Some("VAULT_AUTH_TYPE is kubernetes"),
                    ));
                };
                let jwt_path = match env.string("VAULT_KUBERNETES_TOKEN_PATH")? {
                    Some(path) => {
                        summary.value("VAULT_KUBERNETES_TOKEN_PATH", &path, Source::Env);
                        path
                    }
                    None => {
                        let path = KUBERNETES_TOKEN_PATH;
                        summary.value("VAULT_KUBERNETES_TOKEN_PATH", path, Source::Default);
                        path.to_owned()
                    }
                };
                let method = AuthMethod::Kubernetes {
                    role: role.trim().to_owned(),
                    jwt_path: PathBuf::from(jwt_path),
                    mount,
                };
                (method, &[TOKEN_VARIABLES, APPROLE_VARIABLES])
            }
            _ => {
                let Some(token) = env.secret("VAULT_TOKEN")? else {
                    return Err(env.missing(
                        &["VAULT_TOKEN"],
                        Some("VAULT_AUTH_TYPE is token (or unset)"),
                    ));
                };
                summary.secret("VAULT_TOKEN", token.source());
                let method = AuthMethod::Token(token.into_string());
                let mount: &[&str] = &["VAULT_AUTH_MOUNT_POINT"];
                (method, &[APPROLE_VARIABLES, KUBERNETES_VARIABLES, mount])
            }
        };
        for name in ignored.iter().copied().flatten() {
            if env.is_set(name) {
                env.warn(EnvWarning::Ignored {
                    name: (*name).to_owned(),
                    reason: format!("VAULT_AUTH_TYPE is {auth_type}"),
                });
            }
        }
        Ok(method)
    }
}

/// The contents of the file named by `variable` (at most [`MAX_CACERT_LEN`] bytes).
fn read_file(variable: &str, path: &str) -> Result<Vec<u8>, EnvError> {
    let error = |source| EnvError::File {
        name: variable.to_owned(),
        path: PathBuf::from(path),
        source,
    };
    let file = std::fs::File::open(path).map_err(error)?;
    let mut bytes = Vec::new();
    file.take(MAX_CACERT_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(error)?;
    if bytes.len() as u64 > MAX_CACERT_LEN {
        return Err(error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is larger than 16 MiB",
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token-mode environment with `extra` set.
    fn lookup(extra: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let extra = extra.to_vec();
        move |name: &str| {
            extra
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| (name == "VAULT_TOKEN").then(|| "s.test".to_owned()))
        }
    }

    fn error(extra: &[(&'static str, &'static str)]) -> String {
        VaultSettings::from_lookup(lookup(extra))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn invalid_values_are_refused() {
        for (name, value, expected) in [
            ("VAULT_SKIP_VERIFY", "yes", "expected true or false"),
            (
                "VAULT_TOKEN_TTL",
                "3d",
                "expected a duration like 30s, 5m or 72h",
            ),
            ("DRONE_DISALLOW_FORKS", "on", "expected true or false"),
            (
                "VAULT_KV_MOUNTS",
                "sys=1",
                "expected KV mounts as path=1 or path=2",
            ),
            (
                "VAULT_KV_MOUNTS",
                "secret",
                "expected KV mounts as path=1 or path=2",
            ),
            ("VAULT_TOKEN_CHECK_INTERVAL", "2", "(did you mean 2s?)"),
            ("VAULT_CLIENT_TIMEOUT", "0", "greater than zero"),
            (
                "VAULT_CLIENT_TIMEOUT",
                "5sec",
                "expected a duration like 30s, 5m or 72h",
            ),
            (
                "VAULT_ADDR",
                "vault:8200",
                "expected an http(s)://host[:port] URL",
            ),
            ("VAULT_AUTH_TYPE", "aprole", "(did you mean approle?)"),
            (
                "VAULT_NAMESPACE",
                "team\nadmin",
                "expected a Vault namespace",
            ),
            ("VAULT_TLS_SERVER_NAME", "not a name", "expected a DNS name"),
            (
                "VAULT_CACERT",
                "/nonexistent/ca.pem",
                "cannot read the file",
            ),
        ] {
            let error = error(&[(name, value)]);
            assert!(error.starts_with(name), "{name}={value}: {error}");
            assert!(error.contains(expected), "{name}={value}: {error}");
        }
    }

    #[test]
    fn defaults() {
        let defaults = VaultSettings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(defaults.renewal.check, Some(DEFAULT_CHECK_INTERVAL));
        assert_eq!(defaults.kv_mounts, None);
        let address = defaults.summary.get("VAULT_ADDR").unwrap();
        assert_eq!(address.source, Source::Default);
        assert_eq!(address.value.as_deref(), Some("https://127.0.0.1:8200"));
        let off = VaultSettings::from_lookup(lookup(&[("VAULT_TOKEN_CHECK_INTERVAL", "0")]));
        assert_eq!(off.unwrap().renewal.check, None);
        let listed = VaultSettings::from_lookup(lookup(&[("VAULT_KV_MOUNTS", "secret=2,kv1=1")]));
        assert_eq!(listed.unwrap().kv_mounts.map(|m| m.len()), Some(2));
        let seconds = VaultSettings::from_lookup(lookup(&[("VAULT_CLIENT_TIMEOUT", "7")]));
        let client = seconds.unwrap().client.build().unwrap();
        assert_eq!(client.timeout(), Duration::from_secs(7));
    }

    #[test]
    fn token_is_redacted() {
        let token = VaultSettings::from_lookup(lookup(&[("VAULT_TOKEN", "s.abc")])).unwrap();
        assert_eq!(token.method, AuthMethod::Token("s.abc".into()));
        assert!(!format!("{token:?}").contains("s.abc"));
        assert!(!token.summary.to_string().contains("s.abc"));
    }

    #[test]
    fn missing_credentials_are_refused() {
        let none = |_: &str| None;
        assert_eq!(
            VaultSettings::from_lookup(none).unwrap_err().to_string(),
            "VAULT_TOKEN (or VAULT_TOKEN_FILE) is required when VAULT_AUTH_TYPE is token (or unset)"
        );
        assert_eq!(
            error(&[("VAULT_AUTH_TYPE", "approle")]),
            "VAULT_APPROLE_ID and VAULT_APPROLE_SECRET (or VAULT_APPROLE_SECRET_FILE) are \
             required when VAULT_AUTH_TYPE is approle"
        );
        assert_eq!(
            error(&[("VAULT_AUTH_TYPE", "approle"), ("VAULT_APPROLE_ID", "r")]),
            "VAULT_APPROLE_SECRET (or VAULT_APPROLE_SECRET_FILE) is required when \
             VAULT_AUTH_TYPE is approle"
        );
        assert_eq!(
            error(&[("VAULT_AUTH_TYPE", "kubernetes")]),
            "VAULT_KUBERNETES_ROLE is required when VAULT_AUTH_TYPE is kubernetes"
        );
    }

    #[test]
    fn other_methods_credentials_are_ignored_with_a_warning() {
        let mut env = Env::from_pairs([("VAULT_TOKEN", "s.abc"), ("VAULT_APPROLE_ID", "role")]);
        VaultSettings::read(&mut env).unwrap();
        let warnings: Vec<String> = env.finish().iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            ["VAULT_APPROLE_ID is set but not used: VAULT_AUTH_TYPE is token"]
        );
    }
}

//! Which paths are secrets: [`KvMounts`] resolves a `get.path` to its KV mount and version, and
//! [`Refusal`] says why any other path is never read.
//!
//! drone-vault reads whatever path the pipeline names, so a pipeline asking for
//! `auth/token/lookup-self` gets the extension's own token (Vault's default policy grants it to
//! every token), `cubbyhole/…` the extension's cubbyhole, `sys/…` server details. Here a path is
//! read only when it lies in a KV secrets engine: its mount and KV version come from Vault
//! (`GET /v1/sys/internal/ui/mounts/{path}`, as Vault's CLI learns them for `vault kv get`; it
//! works for a token that may read the path, without any extra policy) or from an operator's
//! allow-list, and never from the shape of the answer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;

use super::cache::TtlCache;
use super::{VaultClient, VaultError};

/// The first segments that are never a secret, whatever Vault says about them (compared in any
/// case): the auth methods (`auth/token/lookup-self` is the extension's own token), the system
/// backend, the identity store and the token's private cubbyhole.
pub const RESERVED_PREFIXES: [&str; 4] = ["auth", "sys", "identity", "cubbyhole"];

/// How long a mount learned from Vault is remembered.
pub const MOUNT_CACHE_TTL: Duration = Duration::from_secs(60);

/// At most this many mounts are remembered.
const MOUNT_CACHE_CAPACITY: usize = 256;

/// The version of a KV secrets engine: how its secrets are read and what a read answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KvVersion {
    /// KV v1: `{mount}/{path}` answers the secret's map as `data`.
    V1,
    /// KV v2: `{mount}/data/{path}` answers `data.data` (the map) and `data.metadata`.
    V2,
}

impl fmt::Display for KvVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KvVersion::V1 => "1",
            KvVersion::V2 => "2",
        })
    }
}

/// A KV secrets engine mounted at `path` (e.g. `secret/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KvMount {
    path: String,
    version: KvVersion,
}

impl KvMount {
    /// The KV mount at `path` (`secret`, `secret/` and `/secret/` are the same; nested mounts
    /// such as `team/kv` are allowed).
    ///
    /// # Errors
    ///
    /// [`VaultError::Config`] for an empty path, a `.`/`..` segment, or a path under one of the
    /// [`RESERVED_PREFIXES`].
    pub fn new(path: &str, version: KvVersion) -> Result<KvMount, VaultError> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.is_empty() || segments.iter().any(|s| matches!(*s, "." | "..")) {
            return Err(VaultError::Config(format!(
                "KV mount {path:?} is not a mount path"
            )));
        }
        if is_reserved(segments[0]) {
            return Err(VaultError::Config(format!(
                "KV mount {path:?}: {}/ is never a secrets engine",
                segments[0]
            )));
        }
        Ok(KvMount {
            path: format!("{}/", segments.join("/")),
            version,
        })
    }

    /// The mount's path with its trailing slash, e.g. `secret/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The KV version.
    pub fn version(&self) -> KvVersion {
        self.version
    }

    /// Parses an allow-list (`VAULT_KV_MOUNTS`): comma-separated `path=version` entries, e.g.
    /// `secret=2,kv1=1,team/kv=2`.
    ///
    /// ```
    /// use drone_extension::vault::{KvMount, KvVersion};
    ///
    /// let mounts = KvMount::parse_list("secret=2, kv1=1")?;
    /// assert_eq!(mounts[0].path(), "secret/");
    /// assert_eq!(mounts[1].version(), KvVersion::V1);
    /// assert!(KvMount::parse_list("secret").is_err()); // the version is required
    /// assert!(KvMount::parse_list("cubbyhole=1").is_err());
    /// # Ok::<(), drone_extension::vault::VaultError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`VaultError::Config`] for an entry without `=1` or `=2`, or an invalid path (see
    /// [`new`](Self::new)).
    pub fn parse_list(list: &str) -> Result<Vec<KvMount>, VaultError> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let version = match entry.rsplit_once('=') {
                    Some((path, "1")) => (path, KvVersion::V1),
                    Some((path, "2")) => (path, KvVersion::V2),
                    _ => {
                        return Err(VaultError::Config(format!(
                            "KV mount {entry:?} is not `path=1` or `path=2`"
                        )));
                    }
                };
                KvMount::new(version.0.trim(), version.1)
            })
            .collect()
    }
}

/// Why a path is not read: it is not a secret in a KV secrets engine. Checked before any read;
/// the providers answer "no secret" (`204` for the secret kind) and log the reason with the
/// path, escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The path's first segment is one of the [`RESERVED_PREFIXES`] (`auth/`, `sys/`,
    /// `identity/`, `cubbyhole/`).
    Reserved,
    /// The path is in a secrets engine that is not KV (`transit`, `database`, `pki`, …, or an
    /// auth, system or cubbyhole mount reached through a namespace), named by its type.
    NotKv(String),
    /// The path is the mount itself, or, in a KV v2 mount, not under `data/` (`metadata/`,
    /// `config`, `subkeys/`, …): not a secret's values.
    NotASecretPath,
    /// Vault knows no mount the token may see for the path (no such mount, or no capability on
    /// it), or the mount it named does not contain the path.
    NoMount,
    /// The path is in none of the operator's allowed KV mounts.
    NotAllowed,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Reserved => {
                f.write_str("auth/, sys/, identity/ and cubbyhole/ are never read")
            }
            Refusal::NotKv(engine) => write!(f, "the mount is a {engine:?} engine, not KV"),
            Refusal::NotASecretPath => {
                f.write_str("not a secret's path in its KV mount (KV v2 paths include data/)")
            }
            Refusal::NoMount => f.write_str("no KV mount visible to the token holds the path"),
            Refusal::NotAllowed => f.write_str("the path is in none of the allowed KV mounts"),
        }
    }
}

/// Whether `segment` (a path's first) is one of the [`RESERVED_PREFIXES`], in any case.
fn is_reserved(segment: &str) -> bool {
    RESERVED_PREFIXES
        .iter()
        .any(|reserved| segment.eq_ignore_ascii_case(reserved))
}

/// A `get.path` cleaned as Go's Vault client cleans it (repeated, leading and trailing slashes
/// and `.` segments dropped), then checked against the [`RESERVED_PREFIXES`].
///
/// ```
/// use drone_extension::vault::{Refusal, VaultError, normalize_path};
///
/// assert_eq!(normalize_path("/secret//data/./docker/").unwrap(), "secret/data/docker");
/// for attack in ["auth/token/lookup-self", "/auth/token/lookup-self", "auth//token/./lookup-self/",
///                "Cubbyhole/x", "./sys/health"] {
///     assert!(matches!(normalize_path(attack), Err(VaultError::NotASecret(Refusal::Reserved))));
/// }
/// assert!(matches!(normalize_path("secret/data/../../sys/mounts"), Err(VaultError::InvalidPath)));
/// ```
///
/// # Errors
///
/// [`VaultError::InvalidPath`] for a `..` segment (Go would resolve it) or an empty path;
/// [`VaultError::NotASecret`] with [`Refusal::Reserved`].
pub fn normalize_path(path: &str) -> Result<String, VaultError> {
    let mut segments = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(VaultError::InvalidPath),
            segment => segments.push(segment),
        }
    }
    let Some(first) = segments.first() else {
        return Err(VaultError::InvalidPath);
    };
    if is_reserved(first) {
        return Err(VaultError::NotASecret(Refusal::Reserved));
    }
    Ok(segments.join("/"))
}

/// Where a path's mount comes from.
#[derive(Debug, Clone)]
pub(crate) enum KvMounts {
    /// Asked of Vault, remembered for [`MOUNT_CACHE_TTL`] per mount path.
    Discover(Arc<TtlCache<Mount>>),
    /// The operator's list; nothing else is read.
    Allowed(Arc<[KvMount]>),
}

/// What Vault said about a mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mount {
    /// A KV mount.
    Kv(KvVersion),
    /// Another engine, by type.
    Other(String),
}

/// The outcome of a mount lookup that did not find one.
#[derive(Debug)]
pub(crate) enum Unresolved {
    /// Not a secret's path.
    Refused(Refusal),
    /// Vault answered `403` to the mount lookup (the token may be dead, or sees no mount
    /// there).
    MountDenied,
    /// Vault answered `403` to the read.
    Denied,
    /// Vault could not be asked.
    Failed(VaultError),
}

impl From<VaultError> for Unresolved {
    fn from(error: VaultError) -> Unresolved {
        Unresolved::Failed(error)
    }
}

impl KvMounts {
    pub(crate) fn discover() -> KvMounts {
        KvMounts::Discover(Arc::new(TtlCache::new(
            MOUNT_CACHE_TTL,
            MOUNT_CACHE_CAPACITY,
        )))
    }

    pub(crate) fn allowed(mounts: impl IntoIterator<Item = KvMount>) -> KvMounts {
        KvMounts::Allowed(mounts.into_iter().collect())
    }

    /// The KV version of the normalized `path`, checked to be a secret's path in its mount.
    pub(crate) async fn resolve(
        &self,
        client: &VaultClient,
        token: &str,
        path: &str,
    ) -> Result<KvVersion, Unresolved> {
        let (mount_path, mount) = match self {
            KvMounts::Allowed(list) => list
                .iter()
                .filter(|m| contains(&m.path, path))
                .max_by_key(|m| m.path.len())
                .map(|m| (m.path.clone(), Mount::Kv(m.version)))
                .ok_or(Unresolved::Refused(Refusal::NotAllowed))?,
            KvMounts::Discover(cache) => match cached(cache, path) {
                Some(found) => found,
                None => {
                    let (mount_path, mount) = lookup(client, token, path).await?;
                    if !contains(&mount_path, path) {
                        tracing::warn!(
                            mount = %crate::log::Escaped(&mount_path),
                            "Vault named a mount that does not contain the path"
                        );
                        return Err(Unresolved::Refused(Refusal::NoMount));
                    }
                    cache.insert(mount_path.clone(), mount.clone());
                    (mount_path, mount)
                }
            },
        };
        let version = match mount {
            Mount::Kv(version) => version,
            Mount::Other(engine) => return Err(Unresolved::Refused(Refusal::NotKv(engine))),
        };
        let relative = path.strip_prefix(mount_path.as_str()).unwrap_or_default();
        let is_secret = match version {
            KvVersion::V1 => !relative.is_empty(),
            KvVersion::V2 => relative
                .strip_prefix("data/")
                .is_some_and(|p| !p.is_empty()),
        };
        if is_secret {
            Ok(version)
        } else {
            Err(Unresolved::Refused(Refusal::NotASecretPath))
        }
    }
}

/// Whether the mount at `mount_path` (`secret/`) holds `path` (`secret/data/x`, or `secret`
/// itself).
fn contains(mount_path: &str, path: &str) -> bool {
    path.starts_with(mount_path) || mount_path.strip_suffix('/') == Some(path)
}

/// The longest remembered mount holding `path`.
fn cached(cache: &TtlCache<Mount>, path: &str) -> Option<(String, Mount)> {
    let mut prefixes: Vec<String> = path
        .match_indices('/')
        .map(|(i, _)| path[..=i].to_owned())
        .collect();
    prefixes.push(format!("{path}/"));
    prefixes
        .into_iter()
        .rev()
        .find_map(|prefix| cache.get(&prefix).map(|mount| (prefix, mount)))
}

/// `GET sys/internal/ui/mounts/{path}`: the mount's path and engine.
async fn lookup(
    client: &VaultClient,
    token: &str,
    path: &str,
) -> Result<(String, Mount), Unresolved> {
    let response = client
        .call(
            Method::GET,
            &format!("sys/internal/ui/mounts/{path}"),
            Some(token),
            None,
        )
        .await?;
    match response.status {
        StatusCode::FORBIDDEN => return Err(Unresolved::MountDenied),
        StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => {
            return Err(Unresolved::Refused(Refusal::NoMount));
        }
        _ => {}
    }
    let response = response.success()?;
    let data = &response.body["data"];
    let mount_path = data["path"]
        .as_str()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| VaultError::Decode("sys/internal/ui/mounts: no data.path".into()))?;
    let mount_path = match mount_path.strip_suffix('/') {
        Some(_) => mount_path.to_owned(),
        None => format!("{mount_path}/"),
    };
    let engine = data["type"].as_str().unwrap_or_default();
    let mount = match engine {
        // `generic` is KV v1's old name.
        "kv" | "generic" => match &data["options"]["version"] {
            Value::String(v) if v == "2" => Mount::Kv(KvVersion::V2),
            Value::String(v) if v.is_empty() || v == "1" => Mount::Kv(KvVersion::V1),
            Value::Null => Mount::Kv(KvVersion::V1),
            other => Mount::Other(format!("kv version {other}")),
        },
        engine => Mount::Other(engine.to_owned()),
    };
    Ok((mount_path, mount))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_reserved_path_is_refused() {
        for path in [
            "auth/token/lookup-self",
            "/auth/token/lookup-self",
            "auth//token/./lookup-self/",
            "./auth/token/lookup-self",
            "AUTH/token/lookup-self",
            "cubbyhole/drone",
            "/cubbyhole//drone/",
            "sys/health",
            "Sys/internal/ui/mounts/secret",
            "identity/entity/id/x",
        ] {
            assert!(
                matches!(
                    normalize_path(path),
                    Err(VaultError::NotASecret(Refusal::Reserved))
                ),
                "{path}"
            );
        }
        for path in ["", "/", "./", "secret/../auth/token/lookup-self", ".."] {
            assert!(
                matches!(normalize_path(path), Err(VaultError::InvalidPath)),
                "{path}"
            );
        }
        assert_eq!(normalize_path("kv1//a/./b/").unwrap(), "kv1/a/b");
        assert_eq!(normalize_path("authz/x").unwrap(), "authz/x");
    }

    #[test]
    fn allowed_mounts_hold_only_their_secrets() {
        let mounts = KvMounts::allowed(KvMount::parse_list("secret=2,kv1=1,team/kv=2").unwrap());
        let client = VaultClient::builder("http://127.0.0.1:9").build().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let resolve = |path: &str| rt.block_on(mounts.resolve(&client, "t", path));
        assert!(matches!(resolve("secret/data/docker"), Ok(KvVersion::V2)));
        assert!(matches!(resolve("kv1/docker"), Ok(KvVersion::V1)));
        assert!(matches!(resolve("team/kv/data/x"), Ok(KvVersion::V2)));
        for (path, refusal) in [
            ("secret/metadata/docker", Refusal::NotASecretPath),
            ("secret/data", Refusal::NotASecretPath),
            ("secret/docker", Refusal::NotASecretPath),
            ("secret", Refusal::NotASecretPath),
            ("kv1", Refusal::NotASecretPath),
            ("secretx/data/docker", Refusal::NotAllowed),
            ("team/data/x", Refusal::NotAllowed),
            ("transit/keys/k", Refusal::NotAllowed),
        ] {
            match resolve(path) {
                Err(Unresolved::Refused(r)) => assert_eq!(r, refusal, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn allow_lists_are_checked() {
        for bad in [
            "secret",
            "secret=3",
            "=2",
            "sys=1",
            "cubbyhole=1",
            "a/../b=1",
            "AUTH/x=2",
        ] {
            assert!(KvMount::parse_list(bad).is_err(), "{bad}");
        }
        assert!(KvMount::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn the_longest_cached_mount_holds_a_path() {
        let cache = TtlCache::new(MOUNT_CACHE_TTL, 8);
        cache.insert("team/".into(), Mount::Other("transit".into()));
        cache.insert("team/kv/".into(), Mount::Kv(KvVersion::V2));
        assert_eq!(
            cached(&cache, "team/kv/data/x"),
            Some(("team/kv/".into(), Mount::Kv(KvVersion::V2)))
        );
        assert_eq!(
            cached(&cache, "team/keys"),
            Some(("team/".into(), Mount::Other("transit".into())))
        );
        assert_eq!(
            cached(&cache, "team/kv"),
            Some(("team/kv/".into(), Mount::Kv(KvVersion::V2)))
        );
        assert_eq!(cached(&cache, "teams/x"), None);
    }
}

//! KV v1 and v2 reads with drone-vault's mapping: [`read`] and [`SecretData`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use http::{Method, StatusCode};
use serde_json::{Map, Value};

use super::{KvVersion, VaultClient, VaultError};
use crate::vault::access::AccessPolicy;

/// The string values of one Vault secret, keyed case-sensitively, with its access filters.
/// Non-string values (numbers, booleans, objects) are not values, as drone-vault drops them; a
/// filter key with such a value denies the secret ([`AccessPolicy::from_json`]). `Debug` shows
/// the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretData {
    values: BTreeMap<String, String>,
    non_strings: BTreeSet<String>,
    policy: AccessPolicy,
}

impl fmt::Debug for SecretData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl SecretData {
    /// The secret in a read's `data` member, as the mount's KV `version` stores it: KV v2's map
    /// is `data.data` (and `data.metadata` is ignored), KV v1's map is `data` itself, even when
    /// it holds an object under a key named `data`. The version comes from the mount, never from
    /// the answer's shape.
    ///
    /// ```
    /// use drone_extension::vault::{KvVersion, SecretData};
    /// use serde_json::json;
    ///
    /// let v2 = SecretData::from_kv(KvVersion::V2, &json!({"data": {"password": "pw", "port": 5432}, "metadata": {}}));
    /// assert_eq!(v2.get("password"), Some("pw"));
    /// assert_eq!(v2.get("port"), None); // not a string
    /// // A KV v1 secret with its own `data` object keeps its top-level values and filters.
    /// let v1 = SecretData::from_kv(KvVersion::V1, &json!({"password": "pw", "data": {"password": "other"}, "x-drone-repos": "octocat/*"}));
    /// assert_eq!(v1.get("password"), Some("pw"));
    /// assert!(v1.policy().repos.is_some());
    /// ```
    pub fn from_kv(version: KvVersion, data: &Value) -> SecretData {
        let map = match version {
            KvVersion::V1 => data.as_object(),
            KvVersion::V2 => data.get("data").and_then(Value::as_object),
        };
        map.map(SecretData::from_map).unwrap_or_default()
    }

    /// The secret of a JSON object: its string values, and its filters.
    pub fn from_map(map: &Map<String, Value>) -> SecretData {
        let mut values = BTreeMap::new();
        let mut non_strings = BTreeSet::new();
        for (key, value) in map {
            match value.as_str() {
                Some(value) => {
                    values.insert(key.clone(), value.to_owned());
                }
                None => {
                    non_strings.insert(key.clone());
                }
            }
        }
        SecretData {
            values,
            non_strings,
            policy: AccessPolicy::from_json(map),
        }
    }

    /// The value of `key` (exact case).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Every key and string value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The keys whose value is not a string.
    pub fn non_string_keys(&self) -> impl Iterator<Item = &str> {
        self.non_strings.iter().map(String::as_str)
    }

    /// The secret's `X-Drone-*` filters (a non-string filter value denies).
    pub fn policy(&self) -> &AccessPolicy {
        &self.policy
    }

    /// The number of string values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no string value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Reads the secret at the logical `path` of a KV mount of `version` (the path as written: KV
/// v2 paths include `data/`, e.g. `secret/data/drone/docker`; KV v1 paths do not, e.g.
/// `kv1/drone/docker`). The caller has checked that `path` is a secret's path in such a mount
/// ([`super::Vault::read`] does).
///
/// `Ok(None)` when there is no such secret (a `404` without `data`); `Ok(Some(empty))` for a
/// soft-deleted KV v2 version.
///
/// # Errors
///
/// [`VaultError::PermissionDenied`] for a `403`, [`VaultError::Status`] for another error status,
/// and the transport errors of [`VaultClient::call`].
pub async fn read(
    client: &VaultClient,
    token: &str,
    path: &str,
    version: KvVersion,
) -> Result<Option<SecretData>, VaultError> {
    let response = client.call(Method::GET, path, Some(token), None).await?;
    let data = &response.body["data"];
    match response.status {
        StatusCode::NOT_FOUND if data.is_object() => Ok(Some(SecretData::default())),
        StatusCode::NOT_FOUND => Ok(None),
        _ => {
            let response = response.success()?;
            Ok(Some(SecretData::from_kv(version, &response.body["data"])))
        }
    }
}

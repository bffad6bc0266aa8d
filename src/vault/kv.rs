//! KV v1 and v2 reads with drone-vault's mapping: [`read`] and [`SecretData`].

use std::collections::BTreeMap;
use std::fmt;

use http::{Method, StatusCode};
use serde_json::Value;

use super::{VaultClient, VaultError};

/// The string values of one Vault secret (KV v2's `data.data` unwrapped), keyed case-sensitively.
/// Non-string values (numbers, booleans, objects) are dropped, as drone-vault drops them.
/// `Debug` shows the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretData {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for SecretData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl SecretData {
    /// The data of a read's `data` member: when it holds an object under `data` (KV v2), that
    /// object; the string values only.
    ///
    /// ```
    /// use drone_extension::vault::SecretData;
    /// use serde_json::json;
    ///
    /// let v2 = SecretData::from_response(&json!({"data": {"password": "pw", "port": 5432}, "metadata": {}}));
    /// assert_eq!(v2.get("password"), Some("pw"));
    /// assert_eq!(v2.get("port"), None); // not a string
    /// let v1 = SecretData::from_response(&json!({"password": "pw"}));
    /// assert_eq!(v1.get("password"), Some("pw"));
    /// ```
    pub fn from_response(data: &Value) -> SecretData {
        let data = match data.get("data") {
            Some(inner @ Value::Object(_)) => inner,
            _ => data,
        };
        let values = data
            .as_object()
            .map(|object| {
                object
                    .iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        SecretData { values }
    }

    /// The value of `key` (exact case).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Every key and value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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

/// Reads the logical `path` as given (no mount detection: KV v2 paths include `data/`, e.g.
/// `secret/data/drone/docker`; KV v1 paths do not, e.g. `kv1/drone/docker`).
///
/// `Ok(None)` when there is no such secret (a `404` without `data`: missing path or mount, or a
/// KV v2 path without `data/`); `Ok(Some(empty))` for a soft-deleted KV v2 version.
///
/// # Errors
///
/// [`VaultError::PermissionDenied`] for a `403`, [`VaultError::Status`] for another error status,
/// and the transport errors of [`VaultClient::call`].
pub async fn read(
    client: &VaultClient,
    token: &str,
    path: &str,
) -> Result<Option<SecretData>, VaultError> {
    let response = client.call(Method::GET, path, Some(token), None).await?;
    let data = &response.body["data"];
    match response.status {
        StatusCode::NOT_FOUND if data.is_object() => Ok(Some(SecretData::default())),
        StatusCode::NOT_FOUND => Ok(None),
        _ => {
            let response = response.success()?;
            Ok(Some(SecretData::from_response(&response.body["data"])))
        }
    }
}

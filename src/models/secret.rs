use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Redacted, is_false, null_default};

/// A secret, the answer of a secret extension (drone-go `drone.Secret`).
///
/// A runner asks for one secret by `path` and `name` and uses [`data`](Self::data); an empty
/// `data` means "not found". Every field is `omitempty`, so a typical answer is
/// `{"name":"username","data":"octocat","pull":true}`.
///
/// Runners do not filter pull requests: whatever is returned reaches the pipeline, forks
/// included. Decide from the request's [`Build`](super::Build) (see
/// [`Build::is_fork`](super::Build::is_fork)) and set [`pull`](Self::pull) explicitly: runners
/// read the deprecated `pull`, the server's legacy runner drops a secret from pull-request builds
/// unless `pull` or [`pull_request`](Self::pull_request) is set.
///
/// The `Debug` output redacts [`data`](Self::data).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Secret {
    /// Namespace the secret belongs to. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Secret name. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Secret value. Omitted when empty; redacted in `Debug`.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub data: String,
    /// Whether pull-request builds may use the secret. Omitted when `false`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub pull_request: bool,
    /// Whether pull-request push builds may use the secret. Omitted when `false`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub pull_request_push: bool,
    /// Deprecated in Go but the flag runners read: whether pull-request builds may use the
    /// secret. Omitted when `false`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub pull: bool,
    /// Deprecated: whether builds from forks may use the secret. Omitted when `false`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub fork: bool,
}

debug_redacting!(Secret {
    namespace,
    name,
    #[redact]
    data,
    pull_request,
    pull_request_push,
    pull,
    fork,
});

/// Docker registry credentials, the elements of a registry extension's answer (drone-go
/// `drone.Registry`).
///
/// The answer is a JSON array, e.g.
/// `[{"address":"index.docker.io","username":"octocat","password":"…","email":"","token":""}]`.
/// `address`, `username`, `email` and `token` are always encoded; `password` and `policy` only
/// when set. The server's legacy runner uses only address, username and password.
///
/// The `Debug` output redacts [`password`](Self::password) and [`token`](Self::token).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Registry {
    /// Registry host, e.g. `index.docker.io` or `ghcr.io`.
    #[serde(deserialize_with = "null_default")]
    pub address: String,
    /// User name.
    #[serde(deserialize_with = "null_default")]
    pub username: String,
    /// Password. Omitted when empty; redacted in `Debug`.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub password: String,
    /// Email address (legacy Docker logins).
    #[serde(deserialize_with = "null_default")]
    pub email: String,
    /// Identity token. Redacted in `Debug`.
    #[serde(deserialize_with = "null_default")]
    pub token: String,
    /// Pull policy. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub policy: String,
}

debug_redacting!(Registry {
    address,
    username,
    #[redact]
    password,
    email,
    #[redact]
    token,
    policy,
});

/// An environment variable, the elements of an environ extension's answer (drone-go
/// `environ.Variable`).
///
/// Runners inject unmasked variables as plain environment variables and masked ones as secrets,
/// hidden in build logs. Every field is `omitempty`:
/// `[{"name":"FOO","data":"bar"},{"name":"TOKEN","data":"s3cr3t","mask":true}]`.
///
/// The `Debug` output redacts [`data`](Self::data) when [`mask`](Self::mask) is set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variable {
    /// Variable name. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Variable value. Omitted when empty; redacted in `Debug` when masked.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub data: String,
    /// Whether the value is secret: masked in build logs. Omitted when `false`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub mask: bool,
}

impl fmt::Debug for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { name, data, mask } = self;
        let mut s = f.debug_struct("Variable");
        s.field("name", name);
        if *mask {
            s.field("data", &Redacted(data));
        } else {
            s.field("data", data);
        }
        s.field("mask", mask).finish()
    }
}

/// OAuth tokens of the repository owner in the source-control system (drone-go `drone.Token`).
///
/// Sent as the `token` member of admission, config, convert and validate requests by servers
/// newer than v2.0.4 (which send no `token` at all). Both fields are always encoded.
///
/// The `Debug` output redacts both tokens.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Token {
    /// Access token. Redacted in `Debug`.
    #[serde(deserialize_with = "null_default")]
    pub access: String,
    /// Refresh token. Redacted in `Debug`.
    #[serde(deserialize_with = "null_default")]
    pub refresh: String,
}

debug_redacting!(Token {
    #[redact]
    access,
    #[redact]
    refresh,
});

use serde::{Deserialize, Serialize};

use super::null_default;

/// A Drone user account (drone-go `drone.User`).
///
/// Drone sends it in admission requests (the user who is logging in or registering) and in
/// global webhooks (the user an event is about). An admission extension answers with one to
/// grant the login; Drone then copies **only** [`admin`](Self::admin) from it.
///
/// The webhook sender of the Drone server uses its own `core.User`, whose avatar key is `avatar`
/// rather than `avatar_url` and which has no `token`: both keys decode into
/// [`avatar_url`](Self::avatar_url), and encoding always writes `avatar_url`.
///
/// The `Debug` output redacts [`token`](Self::token).
///
/// ```
/// use drone_extension::models::User;
///
/// let user: User = serde_json::from_str(r#"{"login":"octocat","avatar":"https://example.com/a.png"}"#)?;
/// assert_eq!(user.avatar_url, "https://example.com/a.png");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// Database id; `0` for a user who is registering (admission event `register`).
    #[serde(deserialize_with = "null_default")]
    pub id: i64,
    /// Login name in the source-control system, e.g. `octocat`.
    #[serde(deserialize_with = "null_default")]
    pub login: String,
    /// Email address; empty for a user who is registering.
    #[serde(deserialize_with = "null_default")]
    pub email: String,
    /// Avatar URL. Also decoded from the key `avatar`, which the server's webhook sender uses.
    #[serde(alias = "avatar", deserialize_with = "null_default")]
    pub avatar_url: String,
    /// Whether the account is active.
    #[serde(deserialize_with = "null_default")]
    pub active: bool,
    /// Whether the user is a Drone administrator. The only field Drone reads from an admission
    /// response.
    #[serde(deserialize_with = "null_default")]
    pub admin: bool,
    /// Whether this is a machine (bot) account.
    #[serde(deserialize_with = "null_default")]
    pub machine: bool,
    /// Whether the user's repository list is being synchronised.
    #[serde(deserialize_with = "null_default")]
    pub syncing: bool,
    /// Unix time of the last repository synchronisation.
    #[serde(deserialize_with = "null_default")]
    pub synced: i64,
    /// Unix time the account was created.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    /// Unix time the account was last updated.
    #[serde(deserialize_with = "null_default")]
    pub updated: i64,
    /// Unix time of the last login.
    #[serde(deserialize_with = "null_default")]
    pub last_login: i64,
    /// Drone API token of the user. Always empty in admission requests; redacted in `Debug`.
    #[serde(deserialize_with = "null_default")]
    pub token: String,
}

debug_redacting!(User {
    id,
    login,
    email,
    avatar_url,
    active,
    admin,
    machine,
    syncing,
    synced,
    created,
    updated,
    last_login,
    #[redact]
    token,
});

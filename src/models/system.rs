use std::fmt;

use serde::{Deserialize, Serialize};

use super::null_default;

/// The Drone server that sent a webhook (drone-go `drone.System`, server `core.System`).
///
/// Present in global webhooks. Every field is `omitempty`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct System {
    /// URL scheme of the server, `http` or `https` (`DRONE_SERVER_PROTO`). Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub proto: String,
    /// Host name of the server (`DRONE_SERVER_HOST`). Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub host: String,
    /// Address of the server, e.g. `https://drone.example.com`. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub link: String,
    /// Server version, e.g. `2.0.4`. Omitted when empty.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub version: String,
}

/// A JSON error body (drone-go `drone.Error`): `{"code":400,"message":"…"}`.
///
/// A validate extension that rejects a configuration answers `400` with this body; Drone creates
/// the build in the error state and shows the raw body as its message. Both fields are always
/// encoded. It displays as its message, like Go's `Error()`.
///
/// ```
/// use drone_extension::{json, models::DroneError};
///
/// let err = DroneError::new(400, "cannot use image from external registry");
/// assert_eq!(err.to_string(), "cannot use image from external registry");
/// assert_eq!(
///     json::to_string(&err)?,
///     r#"{"code":400,"message":"cannot use image from external registry"}"#,
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DroneError {
    /// Status code, e.g. `400`. Informative only: the HTTP status is what callers act on.
    #[serde(deserialize_with = "null_default")]
    pub code: i64,
    /// Human-readable message.
    #[serde(deserialize_with = "null_default")]
    pub message: String,
}

impl DroneError {
    /// Creates an error body from a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for DroneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DroneError {}

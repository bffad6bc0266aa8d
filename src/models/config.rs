use serde::{Deserialize, Serialize};

use super::null_default;

/// A pipeline configuration file (drone-go `drone.Config`).
///
/// Convert and validate requests carry the current configuration in it; config and convert
/// extensions answer with one. Both fields are always encoded:
/// `{"data":"kind: pipeline\n…","kind":""}`.
///
/// An empty [`data`](Self::data) in an answer means "no change": the config kind falls back to
/// the repository's own file, the convert kind keeps the original configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The configuration text, usually YAML.
    #[serde(deserialize_with = "null_default")]
    pub data: String,
    /// Configuration kind; empty in practice.
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
}

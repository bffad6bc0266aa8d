//! The extension kinds Drone calls, with their media types and conventional routes.

use std::fmt;
use std::str::FromStr;

/// Media type of the admission extension (`Accept` value Drone signs).
pub const ADMISSION_V1: &str = "application/vnd.drone.admission.v1+json";
/// Media type of the config (`yaml`) extension.
pub const CONFIG_V1: &str = "application/vnd.drone.config.v1+json";
/// Media type of the convert extension.
pub const CONVERT_V1: &str = "application/vnd.drone.convert.v1+json";
/// Media type of the environ extension, version 1 (answered with a JSON object).
pub const ENVIRON_V1: &str = "application/vnd.drone.env.v1+json";
/// Media type of the environ extension, version 2 (what runners send; answered with an array).
pub const ENVIRON_V2: &str = "application/vnd.drone.env.v2+json";
/// Media type of the registry extension.
pub const REGISTRY_V1: &str = "application/vnd.drone.registry.v1+json";
/// Media type of the secret extension.
pub const SECRET_V1: &str = "application/vnd.drone.secret.v1+json";
/// Media type of the validate extension.
pub const VALIDATE_V1: &str = "application/vnd.drone.validate.v1+json";
/// Media type drone-go's webhook *client* sends. The Drone server's own sender sends no `Accept`.
pub const WEBHOOK_V1: &str = "application/vnd.drone.webhook.v1+json";
/// `Accept` value a signing caller of the Drone 0.8 global secrets endpoint sends.
pub const GLOBAL_SECRETS: &str = "application/json";

/// One kind of Drone extension.
///
/// ```
/// use drone_extension::ExtensionKind;
///
/// let kind: ExtensionKind = "secret".parse().unwrap();
/// assert_eq!(kind.media_type(), "application/vnd.drone.secret.v1+json");
/// assert_eq!(kind.path(), "/secret");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtensionKind {
    /// Grants or denies logins (server).
    Admission,
    /// The Drone 0.8 global secrets endpoint (server, 0.8 enterprise).
    GlobalSecrets,
    /// One secret by path and name (runners).
    Secret,
    /// Registry credentials (runners).
    Registry,
    /// Environment variables (runners).
    Environ,
    /// Pipeline configuration (server).
    Config,
    /// Configuration conversion (server).
    Convert,
    /// Configuration validation (server).
    Validate,
    /// Global webhooks (server).
    Webhook,
}

impl ExtensionKind {
    /// Every kind, in the order the documentation lists them. A slice, not an array: the enum is
    /// `#[non_exhaustive]`, and a new kind must not change this constant's type.
    pub const ALL: &'static [ExtensionKind] = &[
        ExtensionKind::Admission,
        ExtensionKind::GlobalSecrets,
        ExtensionKind::Secret,
        ExtensionKind::Registry,
        ExtensionKind::Environ,
        ExtensionKind::Config,
        ExtensionKind::Convert,
        ExtensionKind::Validate,
        ExtensionKind::Webhook,
    ];

    /// The kind's name as used in routes and on the command line (`global-secrets`, `secret`, …).
    pub const fn name(self) -> &'static str {
        match self {
            ExtensionKind::Admission => "admission",
            ExtensionKind::GlobalSecrets => "global-secrets",
            ExtensionKind::Secret => "secret",
            ExtensionKind::Registry => "registry",
            ExtensionKind::Environ => "environ",
            ExtensionKind::Config => "config",
            ExtensionKind::Convert => "convert",
            ExtensionKind::Validate => "validate",
            ExtensionKind::Webhook => "webhook",
        }
    }

    /// The conventional route of the kind in a multi-kind server: `/` followed by [`name`](Self::name).
    pub const fn path(self) -> &'static str {
        match self {
            ExtensionKind::Admission => "/admission",
            ExtensionKind::GlobalSecrets => "/global-secrets",
            ExtensionKind::Secret => "/secret",
            ExtensionKind::Registry => "/registry",
            ExtensionKind::Environ => "/environ",
            ExtensionKind::Config => "/config",
            ExtensionKind::Convert => "/convert",
            ExtensionKind::Validate => "/validate",
            ExtensionKind::Webhook => "/webhook",
        }
    }

    /// The media type Drone's client puts in the signed `Accept` header for this kind.
    ///
    /// For environ this is the v2 type runners send; the v1 type is also accepted by
    /// [`media_types`](Self::media_types).
    pub const fn media_type(self) -> &'static str {
        match self {
            ExtensionKind::Admission => ADMISSION_V1,
            ExtensionKind::GlobalSecrets => GLOBAL_SECRETS,
            ExtensionKind::Secret => SECRET_V1,
            ExtensionKind::Registry => REGISTRY_V1,
            ExtensionKind::Environ => ENVIRON_V2,
            ExtensionKind::Config => CONFIG_V1,
            ExtensionKind::Convert => CONVERT_V1,
            ExtensionKind::Validate => VALIDATE_V1,
            ExtensionKind::Webhook => WEBHOOK_V1,
        }
    }

    /// Every `Accept` value a caller of this kind may sign (environ: v1 and v2).
    pub const fn media_types(self) -> &'static [&'static str] {
        match self {
            ExtensionKind::Environ => &[ENVIRON_V2, ENVIRON_V1],
            ExtensionKind::Admission => &[ADMISSION_V1],
            ExtensionKind::GlobalSecrets => &[GLOBAL_SECRETS],
            ExtensionKind::Secret => &[SECRET_V1],
            ExtensionKind::Registry => &[REGISTRY_V1],
            ExtensionKind::Config => &[CONFIG_V1],
            ExtensionKind::Convert => &[CONVERT_V1],
            ExtensionKind::Validate => &[VALIDATE_V1],
            ExtensionKind::Webhook => &[WEBHOOK_V1],
        }
    }
}

impl fmt::Display for ExtensionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error returned when parsing an unknown [`ExtensionKind`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind(String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown extension kind `{}`", self.0)
    }
}

impl std::error::Error for UnknownKind {}

impl FromStr for ExtensionKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExtensionKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_paths_follow_names() {
        for &kind in ExtensionKind::ALL {
            assert_eq!(kind.name().parse::<ExtensionKind>(), Ok(kind));
            assert_eq!(kind.path(), format!("/{}", kind.name()));
            assert_eq!(kind.media_types()[0], kind.media_type());
        }
        assert!("secrets".parse::<ExtensionKind>().is_err());
    }
}

//! The JSON models Drone sends to extensions and expects back.
//!
//! Every type mirrors a Go struct, field for field and in the same order, so that decoding accepts
//! exactly what Drone sends and encoding (with [`crate::json`]) produces the bytes Go's
//! `json.Marshal` would. Field names are the JSON keys.
//!
//! | type | Go source | who sends it |
//! |---|---|---|
//! | [`User`] | drone-go `drone.User` (and the server's `core.User`) | admission requests, webhooks |
//! | [`Repo`] | drone-go `drone.Repo` | every request that is about a repository |
//! | [`Build`], [`Stage`], [`Step`] | drone-go `drone.Build`, `drone.Stage`, `drone.Step` | same |
//! | [`Token`] | drone-go `drone.Token` | admission, config, convert and validate requests (newer servers) |
//! | [`Config`] | drone-go `drone.Config` | convert and validate requests; config and convert responses |
//! | [`Secret`] | drone-go `drone.Secret` | secret responses |
//! | [`Registry`] | drone-go `drone.Registry` | registry responses |
//! | [`Variable`] | drone-go `environ.Variable` | environ responses |
//! | [`System`] | drone-go `drone.System` | webhooks |
//! | [`DroneError`] | drone-go `drone.Error` | validate error responses |
//! | [`LegacyRepo`], [`LegacyBuild`], [`LegacySecret`] | Drone 0.8 `model.Repo`, `model.Build`, `model.Secret` | the 0.8 global secrets endpoint |
//!
//! # Compatibility policy
//!
//! These structs are **exhaustive**: build them with struct literals (`Secret { name, data,
//! ..Default::default() }`). They mirror drone-go v1.7.1, whose wire types have not changed since
//! 2021 (Drone is in maintenance; its successor Harness Open Source speaks another protocol), so
//! a field added here would come from a Drone release that changes the protocol, and would be a
//! breaking release of this crate. Woodpecker, which does add fields, follows the other policy:
//! its models are `#[non_exhaustive]`, with constructors (`woodpecker::models`, feature
//! `woodpecker`). Enums this crate hands out for matching (errors, [`ExtensionKind`](crate::ExtensionKind),
//! answers such as `Validation`) are `#[non_exhaustive]`; enums of a closed Drone vocabulary
//! (`WebhookEvent`, `AdmissionEvent`) are not.
//!
//! # Decoding is as lenient as Go
//!
//! A Go handler fills what it finds and leaves the rest at the zero value. These types do the
//! same: a missing key, an unknown key and a `null` value are all fine, and leave the field at its
//! [`Default`]. Bodies from older servers (no `token`, no `throttle`, …) therefore decode, and so do
//! bodies from newer ones. A value of the wrong type (a string for a number, say) is an error, as
//! in Go.
//!
//! Three corner cases differ from Go, none of which a Drone component produces: keys are matched
//! case-sensitively (Go also accepts `"Login"` for `login`); a body that repeats a key (or sends
//! both `avatar` and `avatar_url`) is rejected, where Go keeps the last value; and a JSON array in
//! place of an object is read positionally (serde's convention), where Go rejects it.
//!
//! ```
//! use drone_extension::models::{Build, Repo};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct SecretRequest {
//!     path: String,
//!     name: String,
//!     repo: Repo,
//!     build: Build,
//! }
//!
//! // Unknown keys (`permissions`), `null` values and missing keys are all accepted.
//! let body = br#"{
//!     "path": "secret/data/docker",
//!     "name": "username",
//!     "repo": {"id": 42, "slug": "octocat/hello-world", "config_path": null, "permissions": {}},
//!     "build": {"event": "pull_request", "source_repo": "spacekitty/hello-world", "params": null}
//! }"#;
//! let req: SecretRequest = serde_json::from_slice(body)?;
//!
//! assert_eq!(req.name, "username");
//! assert_eq!(req.repo.config_path, "");
//! assert!(req.build.is_pull_request());
//! assert!(req.build.is_fork(&req.repo));
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! # Encoding has the Go shape
//!
//! Fields that have no `omitempty` in Go are always written, even when zero; `omitempty` fields are
//! skipped when empty, zero or `false`; nested structs held by value (such as [`Repo::build`]) are
//! always written; maps are [`BTreeMap`](std::collections::BTreeMap)s, so their keys come out
//! sorted like Go's. Encode with [`crate::json::to_vec`] to also get Go's string escaping.
//!
//! ```
//! use drone_extension::{json, models::Secret};
//!
//! let secret = Secret {
//!     name: "username".into(),
//!     data: "octocat".into(),
//!     pull: true,
//!     ..Default::default()
//! };
//! assert_eq!(
//!     json::to_string(&secret)?,
//!     r#"{"name":"username","data":"octocat","pull":true}"#,
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! # Secret values stay out of logs
//!
//! The `Debug` output of every type that carries a credential prints `<redacted>` in place of a
//! non-empty value (an empty one prints as `""`): [`User::token`], [`Repo::signer`],
//! [`Repo::secret`], [`Token`], [`Secret::data`], [`Registry::password`], [`Registry::token`],
//! [`Variable::data`] when masked, and [`LegacySecret::value`]. `Serialize` of course writes the
//! real values, so never log request or response bodies.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Implements `Debug` for a model struct, printing [`Redacted`] for the fields marked
/// `#[redact]`. The struct is destructured, so a field added to it and not listed here (or listed
/// in another order) does not compile unnoticed.
macro_rules! debug_redacting {
    (@value $field:ident) => {
        $field
    };
    (@value $field:ident redact) => {
        &$crate::models::Redacted($field)
    };
    ($ty:ident { $( $(#[$redact:ident])? $field:ident ),* $(,)? }) => {
        impl ::core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let Self { $($field),* } = self;
                f.debug_struct(stringify!($ty))
                    $( .field(stringify!($field), debug_redacting!(@value $field $($redact)?)) )*
                    .finish()
            }
        }
    };
}

mod build;
mod config;
mod legacy;
mod repo;
mod secret;
mod system;
mod user;

pub use build::{Build, Stage, Step};
pub use config::Config;
pub use legacy::{LegacyBuild, LegacyRepo, LegacySecret};
pub use repo::Repo;
pub use secret::{Registry, Secret, Token, Variable};
pub use system::{DroneError, System};
pub use user::User;

/// Deserializes a field like Go does: `null` leaves the zero value.
///
/// Use it as `#[serde(deserialize_with = "null_default")]` on every field of a type that Drone
/// sends, together with a container-level `#[serde(default)]` for missing keys.
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// `skip_serializing_if` predicate for Go's `omitempty` on integers.
pub(crate) fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// `skip_serializing_if` predicate for Go's `omitempty` on booleans.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// Debug-prints a credential: `""` when empty (so "not set" stays visible), `<redacted>` otherwise.
pub(crate) struct Redacted<'a>(pub(crate) &'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("<redacted>")
        }
    }
}

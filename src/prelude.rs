//! Everything a server needs, in one import: `use drone_extension::prelude::*;`.
//!
//! The trait of every extension kind with its request and answer types, the verifying layer,
//! [`SharedSecret`], [`ExtensionKind`], [`BoxError`], the [`async_trait`](macro@async_trait) attribute the traits are
//! implemented with, and the [`router`](crate::router) that serves several kinds at once. With it,
//! `drone-extension`, `axum` and `tokio` are the whole dependency list of an extension server.
//!
//! Woodpecker's extensions have their own prelude, `drone_extension::woodpecker::prelude`
//! (feature `woodpecker`): its traits, models, `WoodpeckerRouter`, `VerifyWoodpeckerLayer`,
//! `Verifier` and `PublicKey`. It never clashes with this one (the Woodpecker models that share
//! a name with Drone's are exported with a `Woodpecker` prefix), so a server of both protocols
//! imports both.
//!
//! ```
//! use drone_extension::prelude::*;
//!
//! struct Octocats;
//!
//! #[async_trait]
//! impl Admitter for Octocats {
//!     async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
//!         Ok(if request.user.login.starts_with("octo") {
//!             Admission::Allow
//!         } else {
//!             Admission::deny("octocats only")
//!         })
//!     }
//! }
//!
//! let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
//! let app: axum::Router = axum::Router::new()
//!     .fallback_service(ExtensionRouter::new().admission(key, Octocats));
//! # Ok::<(), BoxError>(())
//! ```

pub use crate::Layer;
pub use crate::admission::{Admission, AdmissionEvent, AdmissionRequest, Admitter};
pub use crate::config::{ConfigProvider, ConfigRequest};
pub use crate::convert::{ConvertRequest, Converter};
pub use crate::environ::{EnvironProvider, EnvironRequest};
pub use crate::global_secrets::{GlobalSecretsProvider, GlobalSecretsRequest};
pub use crate::models::{Config, LegacySecret, Registry, Secret, Variable};
pub use crate::registry::{RegistryProvider, RegistryRequest};
pub use crate::router::{ExtensionRouter, verified_service};
pub use crate::secret::{SecretFinder, SecretRequest};
#[cfg(feature = "server")]
pub use crate::server::Server;
pub use crate::signature::SharedSecret;
pub use crate::signature::VerifySignatureLayer;
pub use crate::validate::{ValidateRequest, Validation, Validator};
pub use crate::webhook::{WebhookEvent, WebhookReceiver, WebhookRequest};
pub use crate::{BoxError, ExtensionKind, async_trait};

//! Everything a Woodpecker extension server needs, in one import:
//! `use drone_extension::woodpecker::prelude::*;`.
//!
//! The three extension traits, the router, the verifying layer, the verifier and its keys, the
//! pipeline models, [`BoxError`] and the [`async_trait`](macro@async_trait) attribute.
//!
//! It never clashes with the Drone [`prelude`](crate::prelude): both may be imported together.
//! Every name it shares with it is the same item (`BoxError`, `async_trait`, `Layer`, `Server`),
//! and the five Woodpecker models whose names Drone's prelude already uses are exported with a
//! `Woodpecker` prefix:
//!
//! | exported as | the item |
//! |---|---|
//! | `WoodpeckerConfigRequest` | [`woodpecker::ConfigRequest`](super::ConfigRequest) |
//! | `WoodpeckerSecretRequest` | [`woodpecker::SecretRequest`](super::SecretRequest) |
//! | `WoodpeckerRegistryRequest` | [`woodpecker::RegistryRequest`](super::RegistryRequest) |
//! | `WoodpeckerSecret` | [`woodpecker::Secret`](super::Secret) |
//! | `WoodpeckerRegistry` | [`woodpecker::Registry`](super::Registry) |
//!
//! ```
//! use drone_extension::prelude::*; // Drone's, if the server also serves Drone
//! use drone_extension::woodpecker::prelude::*;
//!
//! struct Vault;
//!
//! #[async_trait]
//! impl SecretExtension for Vault {
//!     async fn secrets(
//!         &self,
//!         request: WoodpeckerSecretRequest,
//!     ) -> Result<Vec<WoodpeckerSecret>, BoxError> {
//!         Ok(if request.repo.full_name == "octo-org/hello-world" {
//!             vec![WoodpeckerSecret::new("token", "s3cr3t")]
//!         } else {
//!             Vec::new()
//!         })
//!     }
//! }
//!
//! # let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n";
//! let key = PublicKey::from_pem(pem)?;
//! let app: axum::Router = axum::Router::new()
//!     .fallback_service(WoodpeckerRouter::new(Verifier::new(key)).secret(Vault));
//! # Ok::<(), BoxError>(())
//! ```

pub use super::models::{
    ConfigFile, ConfigRequest as WoodpeckerConfigRequest, Netrc, Pipeline,
    Registry as WoodpeckerRegistry, RegistryRequest as WoodpeckerRegistryRequest, Repo,
    Secret as WoodpeckerSecret, SecretRequest as WoodpeckerSecretRequest,
};
pub use super::{
    ConfigAnswer, ConfigExtension, PublicKey, PublicKeys, RegistryExtension, SecretExtension,
    Verified, Verifier, VerifyWoodpeckerLayer, WoodpeckerRouter,
};
pub use crate::Layer;
#[cfg(feature = "server")]
pub use crate::server::Server;
pub use crate::{BoxError, async_trait};

//! Woodpecker's three extensions in one server, with one call: [`WoodpeckerRouter`].
//!
//! ```
//! use axum::{Router, routing::get};
//! use drone_extension::woodpecker::prelude::*;
//!
//! struct Docker;
//!
//! #[async_trait]
//! impl RegistryExtension for Docker {
//!     async fn registries(
//!         &self,
//!         _: WoodpeckerRegistryRequest,
//!     ) -> Result<Vec<WoodpeckerRegistry>, BoxError> {
//!         Ok(vec![WoodpeckerRegistry::new("registry.example.com", "ci", "s3cr3t")])
//!     }
//! }
//!
//! # fn main() -> Result<(), BoxError> {
//! # let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n";
//! // The Woodpecker server's key (GET /api/signature/public-key on the server).
//! let key = PublicKey::from_pem(pem)?;
//!
//! // `/woodpecker/registry`, verified with the server's key.
//! let woodpecker = WoodpeckerRouter::new(Verifier::new(key))
//!     .prefix("/woodpecker")
//!     .registry(Docker);
//! let app: Router = Router::new()
//!     .route("/healthz", get(|| async { "ok" }))
//!     .fallback_service(woodpecker);
//! # Ok(()) }
//! ```

use std::fmt;

use tower_layer::Layer;

use super::extension::{ConfigExtension, RegistryExtension, SecretExtension, WoodpeckerService};
use super::{Verifier, VerifyWoodpeckerLayer};
use crate::route_table::{RouteTable, router_service};
use crate::service::Endpoint;

/// Where [`WoodpeckerRouter::config`] serves, below the router's prefix: `/config`.
pub const CONFIG_PATH: &str = "/config";
/// Where [`WoodpeckerRouter::secret`] serves, below the router's prefix: `/secret`.
pub const SECRET_PATH: &str = "/secret";
/// Where [`WoodpeckerRouter::registry`] serves, below the router's prefix: `/registry`.
pub const REGISTRY_PATH: &str = "/registry";

/// A tower service serving Woodpecker's extensions, each on its own path and all behind one
/// [`VerifyWoodpeckerLayer`].
///
/// The kinds are served at [`CONFIG_PATH`], [`SECRET_PATH`] and [`REGISTRY_PATH`] below the
/// [`prefix`](Self::prefix) (none by default), or at any path with
/// [`service_at`](Self::service_at). Adding a path twice replaces its service.
///
/// | request | answer |
/// |---|---|
/// | a path with no extension | 404, `404 page not found` |
/// | an extension's path, not `POST` | 405, `Allow: POST` |
/// | an extension's path, `POST` | the layer, then the extension's service |
///
/// One layer, one configuration: body limits, the body budget and the
/// [replay guard](crate::layer::VerifyLayer::replay_guard) are set on the layer given to
/// [`with_layer`](Self::with_layer) and shared by every route (a request refused as a copy on one
/// route is refused on every route). Woodpecker signs the path (`@request-target`), so each
/// route verifies that the request was signed for the path it arrived on.
///
/// It accepts any request body, never fails (`Error = Infallible`) and is cheap to clone. With
/// axum, pass it to `Router::fallback_service` or `Router::route_service`; with
/// [`Server`](crate::server::Server), serve it directly. **Do not** mount it with axum's
/// `Router::nest_service("/prefix", …)`: nesting strips the prefix from the URI, so the path no
/// longer matches the one Woodpecker signed and every request is refused (401); use
/// [`prefix`](Self::prefix) instead, which leaves the URI as it came.
///
/// See the [module documentation](self) for an example.
#[derive(Clone)]
pub struct WoodpeckerRouter {
    layer: VerifyWoodpeckerLayer,
    table: RouteTable,
}

router_service!(WoodpeckerRouter);

impl fmt::Debug for WoodpeckerRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WoodpeckerRouter")
            .field("prefix", &self.table.prefix())
            .field("routes", &self.table.routes())
            .field("layer", &self.layer)
            .finish()
    }
}

impl WoodpeckerRouter {
    /// A router with no extension, whose routes will verify with `verifier` under the layer's
    /// defaults ([`VerifyWoodpeckerLayer::new`]).
    pub fn new(verifier: Verifier) -> WoodpeckerRouter {
        WoodpeckerRouter::with_layer(VerifyWoodpeckerLayer::new(verifier))
    }

    /// A router with no extension, whose routes will all be behind `layer` (configured with its
    /// builder methods: `body_limit`, `replay_guard`, …).
    pub fn with_layer(layer: VerifyWoodpeckerLayer) -> WoodpeckerRouter {
        WoodpeckerRouter {
            layer,
            table: RouteTable::default(),
        }
    }

    /// The layer every route is behind.
    pub fn layer(&self) -> &VerifyWoodpeckerLayer {
        &self.layer
    }

    /// Serves every route below `prefix` (`/woodpecker`: `/woodpecker/config`, …), for routes
    /// added before or after. A missing leading `/` is added and a trailing one removed; `/` or
    /// `""` mean no prefix.
    pub fn prefix(mut self, prefix: &str) -> WoodpeckerRouter {
        self.table.set_prefix(prefix);
        self
    }

    /// The paths served, prefix included, sorted.
    pub fn paths(&self) -> Vec<String> {
        let prefix = self.table.prefix();
        self.table
            .routes()
            .into_iter()
            .map(|(path, _)| format!("{prefix}{path}"))
            .collect()
    }

    /// Serves `service` (a Woodpecker extension's, or any [`Endpoint`]'s) at `path` below the
    /// prefix, behind the router's layer. A missing leading `/` is added.
    pub fn service_at<E: Endpoint>(
        mut self,
        path: &str,
        service: WoodpeckerService<E>,
    ) -> WoodpeckerRouter {
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        self.table.insert(path, self.layer.layer(service));
        self
    }

    /// Serves a [`ConfigExtension`] at [`CONFIG_PATH`].
    pub fn config(self, extension: impl ConfigExtension) -> WoodpeckerRouter {
        self.service_at(CONFIG_PATH, ConfigExtension::into_service(extension))
    }

    /// Serves a [`SecretExtension`] at [`SECRET_PATH`].
    pub fn secret(self, extension: impl SecretExtension) -> WoodpeckerRouter {
        self.service_at(SECRET_PATH, SecretExtension::into_service(extension))
    }

    /// Serves a [`RegistryExtension`] at [`REGISTRY_PATH`].
    pub fn registry(self, extension: impl RegistryExtension) -> WoodpeckerRouter {
        self.service_at(REGISTRY_PATH, RegistryExtension::into_service(extension))
    }

    /// Records every route's requests into `metrics` under its endpoint's name
    /// (`woodpecker-config`, `woodpecker-secret`, `woodpecker-registry`), as a
    /// [`MetricsLayer`](crate::metrics::MetricsLayer) around the layer would (the router's own
    /// 404 and 405 answers are not recorded).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(mut self, metrics: &crate::metrics::Metrics) -> WoodpeckerRouter {
        self.table.set_metrics(metrics);
        self
    }
}

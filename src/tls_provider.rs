//! The crate's one rustls crypto provider, for the server and every client: *ring*.
//!
//! It is chosen explicitly (never rustls' process default), so that another provider enabled
//! elsewhere in a user's dependency graph, which would make that default ambiguous, changes
//! nothing here.
//!
//! rustls 0.23.48 deprecates `rustls::crypto::ring::default_provider` because *ring* offers no
//! post-quantum key exchange (`X25519MLKEM768`); its replacement is the `aws-lc-rs` provider.
//! The crate stays on *ring* for now, on purpose: `aws-lc-rs` builds a large C library (with
//! CMake on several targets) in every user's build, while *ring* builds anywhere `cc` does, and
//! the classical key exchanges *ring* offers (X25519, P-256, P-384) are what Drone's and
//! Woodpecker's Go servers negotiate with their extensions today. The deprecation is silenced
//! here, in this one place, so that users see no warning; moving to a post-quantum provider is
//! a change of this function only.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The *ring* provider with its default cipher suites and key exchange groups.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    #[allow(deprecated)] // See the module docs: no post-quantum key exchange in *ring*.
    Arc::new(rustls::crypto::ring::default_provider())
}

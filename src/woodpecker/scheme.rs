//! Woodpecker's RFC 9421 Ed25519 signatures as a [`Scheme`] of the verifying layer, and
//! [`VerifyWoodpeckerLayer`].

use std::time::SystemTime;

use http::request::Parts;

use super::{Error, Verified, VerifiedHeaders, Verifier};
use crate::layer::{Fingerprint, PendingBody, Scheme, Verify, VerifyLayer};

/// The verifying layer with Woodpecker's signatures: every request that reaches the inner service
/// was signed by a configured Woodpecker server for the path it arrived on, is fresh, and carries
/// exactly the body whose digest was signed.
///
/// It is [`VerifyLayer`] with Woodpecker's [`Verifier`] as its scheme, so the body machinery is
/// the Drone layer's: the head is verified before any body byte is read, a declared
/// `Content-Length` above the limit is refused at once (413), room is taken from the process-wide
/// [`BodyBudget`](crate::layer::BodyBudget) (503 when it stays full), the body is read under a
/// total deadline and an idle timeout (408), and a copy of a request whose body is still arriving
/// is refused (409). The inner service receives the exact verified bytes
/// ([`VerifiedBody`](crate::layer::VerifiedBody)) and a [`Verified`] request extension; refusals
/// are the [`Rejection`](crate::layer::Rejection) responses.
///
/// The [replay guard](VerifyLayer::replay_guard) (memory or Redis) is available and off by
/// default. Woodpecker retries an empty 2xx, a 5xx or a timeout up to three times,
/// byte-identically within a second: the guard keeps a claim only after a 2xx with a body, so
/// the retries after an error or an empty answer are served; a retry after a 2xx with a body
/// whose answer Woodpecker did not receive in time (its timeout is 10 s) is refused.
///
/// ```
/// use axum::{Extension, Router, routing::post};
/// use drone_extension::woodpecker::{PublicKey, Verified, Verifier, VerifyWoodpeckerLayer};
///
/// async fn secret(Extension(verified): Extension<Verified>, body: String) -> String {
///     format!("{{\"secrets\":[]}} from server {}", verified.key_index())
/// }
///
/// let key = PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n")?;
/// let app: Router = Router::new()
///     .route("/woodpecker/secret", post(secret))
///     .route_layer(VerifyWoodpeckerLayer::new(Verifier::new(key)));
/// # Ok::<(), drone_extension::woodpecker::KeyError>(())
/// ```
///
/// `@request-target` is rebuilt from the request's URI as the service sees it: put the layer
/// where the URI is still the one Woodpecker sent (axum's `nest` strips the prefix for inner
/// routers, so layer the outer router there).
pub type VerifyWoodpeckerLayer = VerifyLayer<Verifier>;

/// The verifying service with Woodpecker's signatures, made by [`VerifyWoodpeckerLayer`].
pub type VerifyWoodpecker<S> = Verify<S, Verifier>;

/// A Woodpecker head that verified: its fingerprint is the SHA-256 of the signature.
impl PendingBody for VerifiedHeaders {
    type Verified = Verified;
    type Error = Error;

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::new(self.signature_hash())
    }

    fn verify_body(self, body: &[u8]) -> Result<Verified, Error> {
        VerifiedHeaders::verify_body(self, body)
    }
}

impl Scheme for Verifier {
    type Pending = VerifiedHeaders;

    fn verify_head(&self, parts: &Parts) -> Result<VerifiedHeaders, Error> {
        self.verify_parts(parts)
    }

    /// From the verifier's clock to `created` plus the window.
    fn replay_window(&self, verified: &Verified) -> Option<(SystemTime, SystemTime)> {
        Some((self.now(), verified.created() + self.window()))
    }
}

impl VerifyLayer<Verifier> {
    /// A layer that verifies with `verifier`, with the Drone layer's defaults: 4 MiB bodies, 30 s
    /// total, 10 s idle, the process-wide [`BodyBudget`](crate::layer::BodyBudget) with a 5 s
    /// wait, no replay guard.
    pub fn new(verifier: Verifier) -> VerifyWoodpeckerLayer {
        VerifyLayer::with_scheme(verifier)
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        self.scheme()
    }
}

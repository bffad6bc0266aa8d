//! Drone's HTTP signatures as a [`Scheme`] of the verifying layer, and the Drone constructors of
//! [`VerifySignatureLayer`].

use std::time::SystemTime;

use http::request::Parts;

use super::{Error, Keyring, Policy, Verified, VerifiedHeaders, Verifier};
use crate::ExtensionKind;
use crate::layer::{Fingerprint, PendingBody, Scheme, Verify, VerifyLayer};

/// The verifying layer with Drone's HTTP signatures ([`Verifier`]): see
/// [`VerifyLayer::for_kind`], [`VerifyLayer::new`], [`VerifyLayer::drone_extension`] and
/// [`VerifyLayer::drone_webhook`].
pub type VerifySignatureLayer = VerifyLayer<Verifier>;

/// The verifying service with Drone's HTTP signatures, made by [`VerifySignatureLayer`].
pub type VerifySignature<S> = Verify<S, Verifier>;

/// A Drone head that verified: its fingerprint is the HMAC.
impl PendingBody for VerifiedHeaders {
    type Verified = Verified;
    type Error = Error;

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::new(*self.verified().mac())
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

    /// From the policy's clock to the signed `Date` plus the allowed skew.
    fn replay_window(&self, verified: &Verified) -> Option<(SystemTime, SystemTime)> {
        let policy = self.policy();
        Some((policy.now(), verified.date() + policy.skew()))
    }
}

impl VerifyLayer<Verifier> {
    /// A layer that verifies with `verifier`, and the default body limits (4 MiB, 30 s total,
    /// 10 s idle), the process-wide [`BodyBudget`](crate::layer::BodyBudget) with a 5 s wait,
    /// and no replay guard.
    pub fn new(verifier: Verifier) -> VerifySignatureLayer {
        VerifyLayer::with_scheme(verifier)
    }

    /// A layer for one extension kind's route: [`Policy::for_kind`] (the kind's media types must
    /// be signed in `Accept`; webhooks: `date digest`) with these keys.
    ///
    /// Drone configures one secret per extension kind, and because the request path is not
    /// signed, binding each route to its kind's media type keeps a request signed for one kind
    /// from being accepted by another. Give each route its own layer:
    ///
    /// ```
    /// # use drone_extension::{ExtensionKind, signature::{SharedSecret, VerifySignatureLayer}};
    /// let admission = VerifySignatureLayer::for_kind(ExtensionKind::Admission, SharedSecret::new("a-secret-for-the-admission-route")?);
    /// let secrets = VerifySignatureLayer::for_kind(ExtensionKind::Secret, SharedSecret::new("another-secret-for-the-secret-route")?);
    /// # Ok::<(), drone_extension::signature::KeyError>(())
    /// ```
    pub fn for_kind(kind: ExtensionKind, keys: impl Into<Keyring>) -> VerifySignatureLayer {
        VerifySignatureLayer::new(Verifier::new(keys, Policy::for_kind(kind)))
    }

    /// A layer for an endpoint whose callers sign `Accept: media_type`
    /// ([`Policy::drone_extension`]).
    pub fn drone_extension(media_type: &str, keys: impl Into<Keyring>) -> VerifySignatureLayer {
        VerifySignatureLayer::new(Verifier::new(keys, Policy::drone_extension(media_type)))
    }

    /// A layer for a global-webhook endpoint ([`Policy::drone_webhook`]): accepts the server's
    /// `date digest` signatures and drone-go's webhook client alike.
    pub fn drone_webhook(keys: impl Into<Keyring>) -> VerifySignatureLayer {
        VerifySignatureLayer::new(Verifier::new(keys, Policy::drone_webhook()))
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        self.scheme()
    }
}

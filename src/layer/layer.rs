//! [`VerifySignatureLayer`]: configuration, shared by every clone of the service.

use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::intake::Intake;
use super::{BodyBudget, ReplayGuard, VerifySignature};
use crate::ExtensionKind;
use crate::signature::{Keyring, Policy, Verifier};

/// The default body limit: 4 MiB (converter bodies carry whole pipeline configurations).
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// The default total time allowed to receive a body: 30 s (Drone's own timeout is 1 minute).
pub const DEFAULT_BODY_DEADLINE: Duration = Duration::from_secs(30);
/// The default longest pause between two pieces of a body: 10 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts [`VerifySignature`] in front of a service: every request that reaches it was signed by
/// Drone with a configured key, is fresh, and carries exactly the body that was signed.
///
/// Configure it with the builder methods; the configuration is shared (in an `Arc`) by every
/// service the layer makes.
///
/// ```
/// use std::time::Duration;
/// use drone_extension::ExtensionKind;
/// use drone_extension::layer::VerifySignatureLayer;
/// use drone_extension::signature::SharedSecret;
///
/// let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
/// let layer = VerifySignatureLayer::for_kind(ExtensionKind::Secret, secret)
///     .body_limit(1024 * 1024)
///     .body_deadline(Duration::from_secs(20));
/// # Ok::<(), drone_extension::signature::KeyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct VerifySignatureLayer {
    config: Arc<Config>,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) verifier: Verifier,
    pub(crate) replay_guard: Option<Arc<dyn ReplayGuard>>,
    pub(crate) intake: Intake,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("verifier", &self.verifier)
            .field("replay_guard", &self.replay_guard.is_some())
            .field("intake", &self.intake)
            .finish_non_exhaustive()
    }
}

impl VerifySignatureLayer {
    /// A layer that verifies with `verifier`, and the default body limits (4 MiB, 30 s total,
    /// 10 s idle), the process-wide [`BodyBudget`] with a 5 s wait, and no replay guard.
    pub fn new(verifier: Verifier) -> VerifySignatureLayer {
        VerifySignatureLayer {
            config: Arc::new(Config {
                verifier,
                replay_guard: None,
                intake: Intake::default(),
            }),
        }
    }

    /// A layer for one extension kind's route: [`Policy::for_kind`] (the kind's media types must
    /// be signed in `Accept`; webhooks: `date digest`) with these keys.
    ///
    /// Drone configures one secret per extension kind, and because the request path is not
    /// signed, binding each route to its kind's media type keeps a request signed for one kind
    /// from being accepted by another. Give each route its own layer:
    ///
    /// ```
    /// # use drone_extension::{ExtensionKind, layer::VerifySignatureLayer, signature::SharedSecret};
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

    /// The largest body accepted, in bytes (default 4 MiB). A larger declared `Content-Length` is
    /// answered 413 before any body byte is read; a body that grows past it, 413 as soon as it does.
    ///
    /// With axum, raise `DefaultBodyLimit` (2 MB) to this limit too: axum's extractors apply it to
    /// the verified body (see the [module docs](super)).
    pub fn body_limit(mut self, bytes: usize) -> VerifySignatureLayer {
        Arc::make_mut(&mut self.config).intake.body_limit = bytes;
        self
    }

    /// The total time allowed to receive the body, however it trickles (default 30 s); 408 after.
    pub fn body_deadline(mut self, deadline: Duration) -> VerifySignatureLayer {
        Arc::make_mut(&mut self.config).intake.body_deadline = deadline;
        self
    }

    /// The longest pause allowed between two pieces of the body (default 10 s); 408 after.
    pub fn idle_timeout(mut self, timeout: Duration) -> VerifySignatureLayer {
        Arc::make_mut(&mut self.config).intake.idle_timeout = timeout;
        self
    }

    /// Refuses a request whose exact signature was already answered (with a 2xx and a body)
    /// within the clock window, or is being answered.
    ///
    /// Off by default: Drone sends no nonce, so identical legitimate requests in the same second
    /// would be refused. A retry after an error or an empty answer is served. See
    /// [`ReplayGuard`]; share one guard between replicas with `RedisReplayGuard` (feature
    /// `redis`), between the layers of one process by passing clones of one `Arc`.
    pub fn replay_guard(mut self, guard: impl ReplayGuard) -> VerifySignatureLayer {
        Arc::make_mut(&mut self.config).replay_guard = Some(Arc::new(guard));
        self
    }

    /// Takes room for every body from `budget` instead of the process-wide default
    /// ([`BodyBudget::shared_default`], 64 MiB). Share one budget between layers by cloning it.
    pub fn body_budget(mut self, budget: BodyBudget) -> VerifySignatureLayer {
        Arc::make_mut(&mut self.config).intake.budget = budget;
        self
    }

    /// How long a request waits for room in the [`BodyBudget`] (default 5 s) before it is
    /// answered 503 with `Retry-After: 1`.
    pub fn budget_wait(mut self, wait: Duration) -> VerifySignatureLayer {
        Arc::make_mut(&mut self.config).intake.budget_wait = wait;
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.config.verifier
    }
}

impl<S> Layer<S> for VerifySignatureLayer {
    type Service = VerifySignature<S>;

    fn layer(&self, inner: S) -> VerifySignature<S> {
        VerifySignature::from_config(inner, self.config.clone())
    }
}

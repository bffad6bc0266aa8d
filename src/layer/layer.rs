//! [`VerifyLayer`]: configuration, shared by every clone of the service.

use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

use super::intake::Intake;
use super::{BodyBudget, ReplayGuard, Scheme, Verify};

/// The default body limit: 4 MiB (converter bodies carry whole pipeline configurations).
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// The default total time allowed to receive a body: 30 s (Drone's own timeout is 1 minute).
pub const DEFAULT_BODY_DEADLINE: Duration = Duration::from_secs(30);
/// The default longest pause between two pieces of a body: 10 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts [`Verify`] in front of a service: every request that reaches it was signed under the
/// layer's [`Scheme`] (Drone's HTTP signatures, Woodpecker's RFC 9421 signatures, or your own), is
/// fresh, and carries exactly the body that was signed.
///
/// [`VerifySignatureLayer`](crate::signature::VerifySignatureLayer) is this layer with Drone's
/// [`Verifier`](crate::signature::Verifier), and `VerifyWoodpeckerLayer` (feature `woodpecker`)
/// with Woodpecker's. Configure it with the builder methods; the configuration is shared (in an
/// `Arc`) by every service the layer makes.
///
/// ```
/// use std::time::Duration;
/// use drone_extension::ExtensionKind;
/// use drone_extension::signature::VerifySignatureLayer;
/// use drone_extension::signature::SharedSecret;
///
/// let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6")?;
/// let layer = VerifySignatureLayer::for_kind(ExtensionKind::Secret, secret)
///     .body_limit(1024 * 1024)
///     .body_deadline(Duration::from_secs(20));
/// # Ok::<(), drone_extension::signature::KeyError>(())
/// ```
pub struct VerifyLayer<T> {
    config: Arc<Config<T>>,
}

impl<T> Clone for VerifyLayer<T> {
    fn clone(&self) -> Self {
        VerifyLayer {
            config: self.config.clone(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for VerifyLayer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyLayer")
            .field("config", &self.config)
            .finish()
    }
}

pub(crate) struct Config<T> {
    pub(crate) scheme: Arc<T>,
    pub(crate) replay_guard: Option<Arc<dyn ReplayGuard>>,
    pub(crate) intake: Intake,
}

impl<T> Clone for Config<T> {
    fn clone(&self) -> Self {
        Config {
            scheme: self.scheme.clone(),
            replay_guard: self.replay_guard.clone(),
            intake: self.intake.clone(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Config<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("scheme", &self.scheme)
            .field("replay_guard", &self.replay_guard.is_some())
            .field("intake", &self.intake)
            .finish_non_exhaustive()
    }
}

impl<T: Scheme> VerifyLayer<T> {
    /// A layer that verifies with `scheme`, with the default body limits (4 MiB, 30 s total,
    /// 10 s idle), the process-wide [`BodyBudget`] with a 5 s wait, and no replay guard.
    pub fn with_scheme(scheme: T) -> VerifyLayer<T> {
        VerifyLayer {
            config: Arc::new(Config {
                scheme: Arc::new(scheme),
                replay_guard: None,
                intake: Intake::default(),
            }),
        }
    }

    /// The scheme the layer verifies with.
    pub fn scheme(&self) -> &T {
        &self.config.scheme
    }

    /// The largest body accepted, in bytes (default 4 MiB). A larger declared `Content-Length` is
    /// answered 413 before any body byte is read; a body that grows past it, 413 as soon as it does.
    ///
    /// With axum, raise `DefaultBodyLimit` (2 MB) to this limit too: axum's extractors apply it to
    /// the verified body (see the [module docs](super)).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.config).intake.body_limit = bytes;
        self
    }

    /// The total time allowed to receive the body, however it trickles (default 30 s); 408 after.
    pub fn body_deadline(mut self, deadline: Duration) -> Self {
        Arc::make_mut(&mut self.config).intake.body_deadline = deadline;
        self
    }

    /// The longest pause allowed between two pieces of the body (default 10 s); 408 after.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).intake.idle_timeout = timeout;
        self
    }

    /// Refuses a request whose exact signature was already answered (with a 2xx and a body)
    /// within the scheme's clock window ([`Scheme::replay_window`]), or is being answered.
    ///
    /// Off by default: Drone sends no nonce, so identical legitimate requests in the same second
    /// would be refused; Woodpecker retries an empty 2xx, a 5xx or a timeout byte-identically. A
    /// retry after an error or an empty answer is served. See [`ReplayGuard`]; share one guard
    /// between replicas with `RedisReplayGuard` (feature `redis`), between the layers of one
    /// process by passing clones of one `Arc`.
    pub fn replay_guard(mut self, guard: impl ReplayGuard) -> Self {
        Arc::make_mut(&mut self.config).replay_guard = Some(Arc::new(guard));
        self
    }

    /// Takes room for every body from `budget` instead of the process-wide default
    /// ([`BodyBudget::shared_default`], 64 MiB). Share one budget between layers by cloning it.
    pub fn body_budget(mut self, budget: BodyBudget) -> Self {
        Arc::make_mut(&mut self.config).intake.budget = budget;
        self
    }

    /// How long a request waits for room in the [`BodyBudget`] (default 5 s) before it is
    /// answered 503 with `Retry-After: 1`.
    pub fn budget_wait(mut self, wait: Duration) -> Self {
        Arc::make_mut(&mut self.config).intake.budget_wait = wait;
        self
    }

    /// The largest body accepted ([`body_limit`](VerifyLayer::body_limit)): what a service
    /// behind it needs to know not to refuse a body the layer accepted.
    pub fn max_body(&self) -> usize {
        self.config.intake.body_limit
    }
}

impl<S, T: Scheme> Layer<S> for VerifyLayer<T> {
    type Service = Verify<S, T>;

    fn layer(&self, inner: S) -> Verify<S, T> {
        Verify::from_config(inner, self.config.clone())
    }
}

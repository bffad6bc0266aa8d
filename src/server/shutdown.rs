//! Readiness and the default shutdown signal.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use tokio::sync::watch;

use super::{ServeError, SignalFuture};

/// Whether a [`Server`](super::Server) is serving or draining: a cheap handle to clone into a
/// `/healthz` handler, so that a load balancer stops sending requests while the server drains.
///
/// ```
/// use drone_extension::server::Server;
///
/// let readiness = Server::new().readiness();
/// assert!(!readiness.is_draining());
/// assert_eq!(readiness.status(), http::StatusCode::OK);
/// readiness.drain(); // what the shutdown signal does
/// assert_eq!(readiness.status(), http::StatusCode::SERVICE_UNAVAILABLE);
/// ```
#[derive(Clone)]
pub struct Readiness {
    draining: Arc<watch::Sender<bool>>,
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("draining", &self.is_draining())
            .finish()
    }
}

impl Readiness {
    pub(crate) fn new() -> Readiness {
        Readiness {
            draining: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Whether the shutdown has started.
    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// What `/healthz` answers: `200 OK` while serving, `503 Service Unavailable` while draining.
    pub fn status(&self) -> StatusCode {
        if self.is_draining() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        }
    }

    /// Starts the graceful shutdown of every server holding this readiness, as the shutdown
    /// signal does. It cannot be undone.
    pub fn drain(&self) {
        self.draining.send_replace(true);
    }

    /// Resolves once the shutdown has started.
    pub async fn draining(&self) {
        let mut receiver = self.draining.subscribe();
        // The sender lives as long as `self`: `wait_for` cannot fail.
        let _ = receiver.wait_for(|draining| *draining).await;
    }
}

/// SIGINT or SIGTERM (Ctrl-C on other platforms). The handlers are installed now, so that a
/// failure is reported before the server starts.
pub(crate) fn default_signal() -> Result<SignalFuture, ServeError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate =
            signal(SignalKind::terminate()).map_err(|source| ServeError::Signal { source })?;
        let mut interrupt =
            signal(SignalKind::interrupt()).map_err(|source| ServeError::Signal { source })?;
        Ok(Box::pin(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
            }
        }))
    }
    #[cfg(not(unix))]
    {
        Ok(Box::pin(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }))
    }
}

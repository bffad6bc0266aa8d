//! The crate's `server::Server` in this process, on a free loopback port, stopped by the test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use drone_extension::BoxError;
use drone_extension::server::{Readiness, ServeError, Server};
use http::{Request, Response};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server serving on 127.0.0.1 until [`shutdown`](Running::shutdown) (or the test's end).
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its readiness (draining once the shutdown starts).
    pub readiness: Readiness,
    stop: Option<oneshot::Sender<()>>,
    serving: JoinHandle<Result<(), ServeError>>,
}

impl Running {
    /// Sends the shutdown signal and returns how long `serve` took to return (its drain).
    pub async fn shutdown(mut self) -> Duration {
        let start = Instant::now();
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        self.serving
            .await
            .expect("serve panicked")
            .expect("serve failed");
        start.elapsed()
    }
}

/// Serves `service` with `server` on a free port of 127.0.0.1; the server's shutdown signal is
/// [`Running::shutdown`].
pub async fn start<S, B>(server: Server, service: S) -> Running
where
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = server.shutdown_signal(async move {
        let _ = stopped.await;
    });
    let readiness = server.readiness();
    let serving = tokio::spawn(server.serve(listener, service));
    Running {
        addr,
        readiness,
        stop: Some(stop),
        serving,
    }
}

//! A hardened HTTP server for an extension: safe timeouts and bounds by default, graceful
//! shutdown, readiness for `/healthz`, and TLS (feature `tls`).
//!
//! `axum::serve` and a bare hyper connection give a client with no secret several ways to take a
//! process down before any signature is checked: a connection that never sends a byte, a header
//! section that never ends or trickles in a byte at a time (slowloris), or a thousand idle
//! keep-alive connections holding every file descriptor. [`Server`] closes all of these by
//! default:
//!
//! - **Header deadline** ([`Server::header_read_timeout`], 10 s): the TLS handshake and the whole
//!   head of the first request must arrive within it from the moment the connection is accepted;
//!   on a kept-alive connection, the head of a later request within it from its first byte.
//! - **Idle keep-alive** ([`Server::keep_alive_timeout`], 30 s): a kept-alive connection with no
//!   request in progress is closed that long after its last response unless a new request starts.
//! - **Write stall** ([`Server::write_timeout`], 30 s): a response the client stops reading
//!   (no byte of it accepted by the socket for that long) is abandoned and its connection closed,
//!   so a client cannot hold an in-flight slot by never reading a large answer.
//! - **Connection bound** ([`Server::max_connections`], 512): at the bound, a new connection
//!   evicts the connection that has been idle or stalled the longest: idle is no request in
//!   progress (idle keep-alive, handshaking, or still sending its head), stalled is an answer the
//!   socket refuses because the client does not read it (counted from the last byte the socket
//!   took). So a legitimate client is served at once even when idle sockets, or connections
//!   pipelining requests whose answers they never read, hold every slot. When every connection
//!   has a request in progress and no answer stalled, the new connection is closed at once.
//!   Descriptors stay within the bound plus a few.
//! - **Socket buffers** ([`Server::send_buffer_size`] and [`Server::receive_buffer_size`],
//!   64 KiB each): the kernel buffers of every accepted connection are set to these sizes
//!   instead of growing to several MiB each. hyper parses a connection's next request only once
//!   the previous answer has been handed to the socket, and buffers at most
//!   [`Server::max_header_bytes`] of answer, so a client that pipelines requests and never reads the answers pins these buffers
//!   and no more.
//! - **In-flight bound** ([`Server::max_in_flight`], 256): one process-wide semaphore around the
//!   service. A request that finds no slot waits up to [`Server::in_flight_wait`] (1 s) and is
//!   then answered `503 Service Unavailable` with `Retry-After: 1`; nothing queues without bound.
//! - **Header size** ([`Server::max_header_bytes`], 64 KiB, and [`Server::max_headers`], 100):
//!   a larger head is answered `431 Request Header Fields Too Large` and the connection closed.
//! - **Graceful shutdown** ([`Server::shutdown_signal`], SIGINT or SIGTERM by default): the
//!   server stops accepting, flips its [`Readiness`] to draining, closes at once every connection
//!   with no request in progress (including half-sent heads), lets the requests in progress finish
//!   within [`Server::drain_timeout`] (20 s), then closes the rest and returns.
//! - **HTTP/1.1 only** unless [`Server::http2`] opts in to HTTP/2.
//!
//! - **Ambiguous framing**: an HTTP/1.1 request carrying both `Content-Length` and
//!   `Transfer-Encoding` (a request-smuggling vector behind a proxy that frames by
//!   `Content-Length`) is answered `400 Bad Request` and its connection closed, before the
//!   service sees it.
//!
//! Once its head has arrived, a request is the service's: the server puts no deadline on its
//! body or its handling. The verifying layer ([`crate::layer`]) bounds the body's size and time.
//!
//! Refusals, evictions and timeouts are logged with `tracing` (`debug` for routine closes, `warn`
//! for overload), with the peer address and never with bytes the client sent.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use drone_extension::server::Server;
//! use http::{Request, Response};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), drone_extension::BoxError> {
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = Server::new()
//!     .max_connections(64)
//!     .shutdown_signal(async move { let _ = stopped.await; }); // default: SIGINT or SIGTERM
//! let readiness = server.readiness(); // answer `/healthz` with `readiness.status()`
//!
//! // Any tower service of `Request<hyper::body::Incoming>` works: an `axum::Router` too.
//! let service = tower::service_fn(|_request: Request<hyper::body::Incoming>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("OK")))
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let serving = tokio::spawn(server.serve(listener, service));
//!
//! assert!(!readiness.is_draining());
//! stop.send(()).ok(); // what SIGTERM does by default
//! serving.await??;
//! assert_eq!(readiness.status(), http::StatusCode::SERVICE_UNAVAILABLE);
//! # Ok(()) }
//! ```
//!
//! # HTTP/2
//!
//! [`Server::http2`] serves HTTP/2 as well: over TLS when the client negotiates `h2` with ALPN,
//! and in clear text when the client sends the HTTP/2 preface first (prior knowledge, no
//! `Upgrade`). Drone itself speaks HTTP/1.1, so it is off by default. An HTTP/2 connection takes
//! at most 32 concurrent streams (each holds an in-flight slot while handled, and buffers at
//! most 64 KiB of its answer), its header list is bounded by [`Server::max_header_bytes`], the server pings it every 20 s and closes it when a
//! ping goes unanswered for [`Server::header_read_timeout`]. The idle rules above apply to it too:
//! with no stream open it is closed after [`Server::keep_alive_timeout`], or
//! [`Server::header_read_timeout`] after it next sends anything without opening a stream.

mod conn;
mod framing;
mod limit;
mod shutdown;
#[cfg(feature = "tls")]
mod tls;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::BoxError;

pub use shutdown::Readiness;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use tls::{TlsConfig, TlsError};

/// Default of [`Server::header_read_timeout`]: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`Server::keep_alive_timeout`]: 30 s.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of [`Server::write_timeout`]: 30 s.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of [`Server::max_connections`]: 512.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default of [`Server::max_in_flight`]: 256.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Default of [`Server::in_flight_wait`]: 1 s.
pub const DEFAULT_IN_FLIGHT_WAIT: Duration = Duration::from_secs(1);
/// Default of [`Server::max_header_bytes`]: 64 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Default of [`Server::max_headers`]: 100.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default of [`Server::drain_timeout`]: 20 s.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// Default of [`Server::send_buffer_size`]: 64 KiB.
pub const DEFAULT_SEND_BUFFER_SIZE: usize = 64 * 1024;
/// Default of [`Server::receive_buffer_size`]: 64 KiB.
pub const DEFAULT_RECEIVE_BUFFER_SIZE: usize = 64 * 1024;

/// The smallest head buffer hyper accepts; [`Server::max_header_bytes`] raises smaller values.
const MIN_HEADER_BYTES: usize = 8192;
/// Concurrent streams on one HTTP/2 connection.
const H2_MAX_CONCURRENT_STREAMS: u32 = 32;
/// Interval of the HTTP/2 keep-alive pings.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
/// The answer bytes one HTTP/2 stream buffers before its body is polled again.
const H2_MAX_SEND_BUF: usize = 64 * 1024;

type SignalFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The numbers a server runs with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) in_flight_wait: Duration,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) http2: bool,
    pub(crate) drain_timeout: Duration,
    pub(crate) send_buffer_size: usize,
    pub(crate) receive_buffer_size: usize,
}

/// A hardened HTTP server: build it, then [`serve`](Server::serve) a listener with a tower
/// service (an `axum::Router`, a `tower::service_fn`, a layered extension service).
///
/// Every setting has a safe default (see the [module documentation](self)); clones share their
/// [`Readiness`] and their shutdown signal, which the first clone to serve runs: the other clones
/// drain when that readiness flips.
#[derive(Clone)]
pub struct Server {
    limits: Limits,
    readiness: Readiness,
    signal: Option<Arc<Mutex<Option<SignalFuture>>>>,
    #[cfg(feature = "tls")]
    tls: Option<TlsConfig>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Server");
        debug
            .field("limits", &self.limits)
            .field("readiness", &self.readiness)
            .field(
                "shutdown_signal",
                &if self.signal.is_some() {
                    "custom"
                } else {
                    "SIGINT or SIGTERM"
                },
            );
        #[cfg(feature = "tls")]
        debug.field("tls", &self.tls);
        debug.finish()
    }
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

impl Server {
    /// A server with the safe defaults listed in the [module documentation](self).
    pub fn new() -> Server {
        Server {
            limits: Limits {
                header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
                keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
                write_timeout: DEFAULT_WRITE_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
                max_in_flight: DEFAULT_MAX_IN_FLIGHT,
                in_flight_wait: DEFAULT_IN_FLIGHT_WAIT,
                max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
                max_headers: DEFAULT_MAX_HEADERS,
                http2: false,
                drain_timeout: DEFAULT_DRAIN_TIMEOUT,
                send_buffer_size: DEFAULT_SEND_BUFFER_SIZE,
                receive_buffer_size: DEFAULT_RECEIVE_BUFFER_SIZE,
            },
            readiness: Readiness::new(),
            signal: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// How long a client has to send a request head (default 10 s): for the first request, from
    /// the moment the connection is accepted, TLS handshake included, so a connection that never
    /// sends a byte is closed then; on a kept-alive connection, from the first byte of the next
    /// request. The connection is closed when it runs out.
    pub fn header_read_timeout(mut self, d: Duration) -> Self {
        self.limits.header_read_timeout = d;
        self
    }

    /// How long a kept-alive connection may stay idle, with no request in progress, after its
    /// last response (default 30 s). It is then closed.
    pub fn keep_alive_timeout(mut self, d: Duration) -> Self {
        self.limits.keep_alive_timeout = d;
        self
    }

    /// How long a response may go without the client accepting any of its bytes (default 30 s):
    /// the response is then abandoned and the connection closed, which frees its in-flight slot.
    pub fn write_timeout(mut self, d: Duration) -> Self {
        self.limits.write_timeout = d;
        self
    }

    /// The process-wide bound on open connections (default 512; 0 counts as 1). At the bound, a
    /// new connection evicts the connection idle or stalled the longest (stalled: its answer is
    /// refused by the socket because the client does not read it), or is closed at once when
    /// every connection has a request in progress and no stalled answer.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n.max(1);
        self
    }

    /// The process-wide bound on requests being handled (default 256; 0 counts as 1): a request
    /// holds its slot from the moment its head is read until its response body is sent.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.limits.max_in_flight = n.max(1);
        self
    }

    /// How long a request waits for an in-flight slot (default 1 s) before it is answered
    /// `503 Service Unavailable` with `Retry-After: 1`.
    pub fn in_flight_wait(mut self, d: Duration) -> Self {
        self.limits.in_flight_wait = d;
        self
    }

    /// The largest request head, in bytes (default 64 KiB; at least 8 KiB, hyper's minimum): a
    /// larger one is answered `431 Request Header Fields Too Large` and the connection closed.
    pub fn max_header_bytes(mut self, n: usize) -> Self {
        self.limits.max_header_bytes = n.max(MIN_HEADER_BYTES);
        self
    }

    /// The most header fields in a request head (default 100): more are answered `431`.
    pub fn max_headers(mut self, n: usize) -> Self {
        self.limits.max_headers = n;
        self
    }

    /// Serves HTTP/2 as well as HTTP/1.1 (default off): see [HTTP/2](self#http2) for what that
    /// accepts and its limits.
    pub fn http2(mut self, yes: bool) -> Self {
        self.limits.http2 = yes;
        self
    }

    /// The kernel send buffer (`SO_SNDBUF`) of every accepted connection, in bytes (default
    /// 64 KiB; 0 keeps the operating system's default).
    ///
    /// It bounds the answer bytes the kernel holds for a client that does not read them: without
    /// it Linux grows the buffer up to `net.ipv4.tcp_wmem`'s maximum (4 MiB by default) per
    /// connection. Linux reserves twice the value for its bookkeeping. A larger answer is simply
    /// sent in several rounds; raise it only for large answers over long round trips.
    pub fn send_buffer_size(mut self, bytes: usize) -> Self {
        self.limits.send_buffer_size = bytes;
        self
    }

    /// The kernel receive buffer (`SO_RCVBUF`) of every accepted connection, in bytes (default
    /// 64 KiB; 0 keeps the operating system's default).
    ///
    /// It bounds the request bytes the kernel holds for a connection the server is not reading
    /// (its answer stalled, or its request being handled): without it Linux may grow the buffer
    /// up to `net.ipv4.tcp_rmem`'s maximum (6 MiB or more) per connection. Linux reserves twice
    /// the value for its bookkeeping.
    pub fn receive_buffer_size(mut self, bytes: usize) -> Self {
        self.limits.receive_buffer_size = bytes;
        self
    }

    /// How long the requests in progress at shutdown may take to finish (default 20 s); the
    /// connections still open then are closed.
    pub fn drain_timeout(mut self, d: Duration) -> Self {
        self.limits.drain_timeout = d;
        self
    }

    /// The future whose completion starts the graceful shutdown (default: SIGINT or SIGTERM).
    pub fn shutdown_signal(mut self, f: impl Future<Output = ()> + Send + 'static) -> Self {
        self.signal = Some(Arc::new(Mutex::new(Some(Box::pin(f)))));
        self
    }

    /// Serves HTTPS with this certificate and key: every connection must complete a TLS
    /// handshake, within the header deadline, before it sends a request.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The server's readiness: it flips to draining when the shutdown starts.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Serves `service` on `listener` until the shutdown signal, then drains (see the
    /// [module documentation](self)) and returns.
    ///
    /// The accept loop never stops on an accept error (out of descriptors, connection aborted):
    /// it logs it and retries after a short sleep. A service error becomes a
    /// `500 Internal Server Error` with a short body; the error itself is logged.
    ///
    /// # Errors
    ///
    /// [`ServeError`] when the server cannot start: the listener's address cannot be read, or the
    /// default signal handlers cannot be installed.
    pub async fn serve<S, B>(
        self,
        listener: tokio::net::TcpListener,
        service: S,
    ) -> Result<(), ServeError>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let addr = listener
            .local_addr()
            .map_err(|source| ServeError::Listener { source })?;
        let signal: SignalFuture = match &self.signal {
            None => shutdown::default_signal()?,
            Some(shared) => shared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .unwrap_or_else(|| Box::pin(std::future::pending())),
        };
        let context = Arc::new(conn::Context::new(
            self.limits,
            self.readiness.clone(),
            #[cfg(feature = "tls")]
            self.tls.as_ref(),
        ));
        let registry = conn::Registry::new(self.limits.max_connections);
        let mut connections = JoinSet::new();
        let mut signal = signal;
        tracing::info!(%addr, tls = context.is_tls(), "listening");
        loop {
            tokio::select! {
                biased;
                () = &mut signal => {
                    tracing::info!("shutdown signal received: shutting down");
                    self.readiness.drain();
                    break;
                }
                () = self.readiness.draining() => {
                    tracing::info!("readiness set to draining: shutting down");
                    break;
                }
                Some(joined) = connections.join_next(), if !connections.is_empty() => {
                    conn::log_join(joined);
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        if let Some(admitted) = registry.admit(peer) {
                            let task = conn::run(stream, peer, admitted, context.clone(), service.clone());
                            connections.spawn(task);
                        }
                    }
                    Err(error) => conn::accept_failed(error).await,
                },
            }
        }
        drop(listener);
        tracing::info!(open = connections.len(), "draining");
        let drained = tokio::time::timeout(self.limits.drain_timeout, async {
            while let Some(joined) = connections.join_next().await {
                conn::log_join(joined);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                open = connections.len(),
                "drain timeout: closing the connections still open"
            );
            connections.shutdown().await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Why [`Server::serve`] could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The listener's local address could not be read.
    Listener {
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The default SIGINT or SIGTERM handler could not be installed.
    Signal {
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Listener { source } => {
                write!(f, "cannot read the listener's address: {source}")
            }
            ServeError::Signal { source } => {
                write!(f, "cannot install the shutdown signal handler: {source}")
            }
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Listener { source } | ServeError::Signal { source } => Some(source),
        }
    }
}

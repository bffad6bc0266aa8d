//! Connection tracking: the process-wide connection bound with eviction of the connection idle
//! or stalled the longest, the per-connection deadlines (header, keep-alive, write), and the task
//! that drives one connection through its TLS handshake, its requests and the shutdown.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tower_service::Service;

use super::framing::FramingWatch;
use super::limit::Guarded;
use super::{H2_MAX_CONCURRENT_STREAMS, H2_MAX_SEND_BUF, H2_PING_INTERVAL, Limits, Readiness};
use crate::BoxError;

/// The number of header fields hyper accepts when not told otherwise (its `DEFAULT_MAX_HEADERS`).
const HYPER_MAX_HEADERS: usize = 100;

/// What every connection task shares: the settings, the hyper builders, the in-flight slots.
pub(crate) struct Context {
    limits: Limits,
    readiness: Readiness,
    slots: Arc<Semaphore>,
    /// HTTP/1.1 only.
    http1: auto::Builder<TokioExecutor>,
    /// HTTP/2 only (TLS with ALPN `h2`), or both with detection (clear text), when opted in.
    http2: Option<(auto::Builder<TokioExecutor>, auto::Builder<TokioExecutor>)>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Context {
    pub(crate) fn new(
        limits: Limits,
        readiness: Readiness,
        #[cfg(feature = "tls")] tls: Option<&super::TlsConfig>,
    ) -> Context {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .keep_alive(true)
            // A backstop: the connection task enforces the finer deadlines below.
            .header_read_timeout(limits.header_read_timeout + limits.keep_alive_timeout)
            .max_buf_size(limits.max_header_bytes);
        // hyper's own bound is 100 fields, kept in an array on the stack; an explicit bound, even
        // the same 100, makes it fill a vector of that many slots for every request head.
        if limits.max_headers != HYPER_MAX_HEADERS {
            builder.http1().max_headers(limits.max_headers);
        }
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
            .max_send_buf_size(H2_MAX_SEND_BUF)
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .keep_alive_interval(H2_PING_INTERVAL)
            .keep_alive_timeout(limits.header_read_timeout);
        let http2 = limits
            .http2
            .then(|| (builder.clone().http2_only(), builder.clone()));
        Context {
            limits,
            readiness,
            slots: Arc::new(Semaphore::new(limits.max_in_flight)),
            http1: builder.http1_only(),
            http2,
            #[cfg(feature = "tls")]
            tls: tls.map(|tls| tls.acceptor(limits.http2)),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }
}

/// The open connections, for the connection bound.
pub(crate) struct Registry {
    inner: Arc<Mutex<Open>>,
    max: usize,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    connections: HashMap<u64, Arc<Connection>>,
}

impl Registry {
    pub(crate) fn new(max: usize) -> Registry {
        Registry {
            inner: Arc::default(),
            max,
        }
    }

    /// Registers a new connection, evicting the connection idle or stalled the longest when at
    /// the bound. `None` (the connection is to be closed) when every connection has a request in
    /// progress and no stalled answer.
    pub(crate) fn admit(&self, peer: SocketAddr) -> Option<Admitted> {
        let mut open = lock(&self.inner);
        if open.connections.len() >= self.max {
            let mut staying = 0;
            let mut victim: Option<(&Arc<Connection>, Instant)> = None;
            for connection in open.connections.values() {
                let state = connection.state();
                if state.evict {
                    continue; // already on its way out
                }
                staying += 1;
                if let Some(since) = state.evictable_since()
                    && victim.is_none_or(|(_, oldest)| since < oldest)
                {
                    victim = Some((connection, since));
                }
            }
            if staying >= self.max {
                match victim {
                    Some((victim, _)) => {
                        let mut state = victim.state();
                        tracing::debug!(
                            %peer,
                            evicted = %victim.peer,
                            stalled = state.is_stalled(),
                            "connection limit reached: evicting the connection idle or stalled the longest"
                        );
                        state.evict = true;
                        drop(state);
                        victim.wake.notify_one();
                    }
                    None => {
                        tracing::warn!(
                            %peer,
                            open = open.connections.len(),
                            "connection limit reached and every connection busy: closing the new connection"
                        );
                        return None;
                    }
                }
            }
        }
        let id = open.next_id;
        open.next_id += 1;
        let connection = Arc::new(Connection::new(peer));
        open.connections.insert(id, connection.clone());
        Some(Admitted {
            connection,
            registration: Registration {
                open: self.inner.clone(),
                id,
            },
        })
    }
}

/// A connection just admitted, and its place in the registry.
pub(crate) struct Admitted {
    connection: Arc<Connection>,
    registration: Registration,
}

/// Removes its connection from the registry when the connection task ends.
struct Registration {
    open: Arc<Mutex<Open>>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.open).connections.remove(&self.id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the registry, the service and the connection task know of one connection.
pub(crate) struct Connection {
    peer: SocketAddr,
    accepted: Instant,
    state: Mutex<State>,
    /// Wakes the connection task when its deadline may have moved or it is evicted.
    wake: Notify,
    /// A request head with both `Content-Length` and `Transfer-Encoding` arrived (see
    /// [`FramingWatch`]).
    ambiguous_framing: AtomicBool,
}

struct State {
    /// Requests in progress (several on HTTP/2).
    busy: usize,
    /// Requests started so far.
    requests: u64,
    /// When the connection last became idle (accepted, or its last request ended).
    idle_since: Instant,
    /// When the first byte after `idle_since` arrived, on a connection that has served a request.
    head_since: Option<Instant>,
    /// Bytes handed to the socket and not yet flushed (a response still going out).
    unflushed: bool,
    /// The socket refused the last write of that response: the client is not reading it.
    stalled: bool,
    /// When the socket last accepted bytes of a response still going out (or the response
    /// started to go out).
    write_progress: Instant,
    /// Evicted by a newer connection.
    evict: bool,
}

impl State {
    /// No request in progress and no response still going out: can be closed at no loss.
    fn is_idle(&self) -> bool {
        self.busy == 0 && !self.unflushed
    }

    /// A response is going out and the socket refuses it: the client does not read.
    fn is_stalled(&self) -> bool {
        self.unflushed && self.stalled
    }

    /// When the connection became evictable at the connection bound: idle since its last
    /// request ended (or since it was accepted), or stalled since the socket last took a byte.
    /// `None` while it is neither.
    fn evictable_since(&self) -> Option<Instant> {
        if self.is_idle() {
            Some(self.idle_since)
        } else if self.is_stalled() {
            Some(self.write_progress)
        } else {
            None
        }
    }
}

/// What a write to the socket did, for the write deadline and the stall.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wrote {
    /// The socket took bytes.
    Progress,
    /// The socket is full: the write waits for the client to read.
    Refused,
    /// Nothing taken, or the write failed.
    Other,
}

impl Wrote {
    fn of(polled: &Poll<io::Result<usize>>) -> Wrote {
        match polled {
            Poll::Pending => Wrote::Refused,
            Poll::Ready(Ok(n)) if *n > 0 => Wrote::Progress,
            Poll::Ready(_) => Wrote::Other,
        }
    }
}

impl Connection {
    fn new(peer: SocketAddr) -> Connection {
        let now = Instant::now();
        Connection {
            peer,
            accepted: now,
            state: Mutex::new(State {
                busy: 0,
                requests: 0,
                idle_since: now,
                head_since: None,
                unflushed: false,
                stalled: false,
                write_progress: now,
                evict: false,
            }),
            wake: Notify::new(),
            ambiguous_framing: AtomicBool::new(false),
        }
    }

    /// A request head on this connection carried both `Content-Length` and `Transfer-Encoding`.
    pub(crate) fn framing_ambiguous(&self) -> bool {
        self.ambiguous_framing.load(Ordering::Relaxed)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// A request head was read: the connection is busy until the guard drops.
    pub(crate) fn start_request(self: &Arc<Self>) -> RequestGuard {
        let mut state = self.state();
        state.busy += 1;
        state.requests += 1;
        state.head_since = None;
        RequestGuard(self.clone())
    }

    fn end_request(&self) {
        let mut state = self.state();
        state.busy = state.busy.saturating_sub(1);
        if state.busy == 0 {
            state.idle_since = Instant::now();
            state.head_since = None;
        }
        drop(state);
        self.wake.notify_one();
    }

    fn on_read(&self) {
        let mut state = self.state();
        if state.busy == 0 && state.requests > 0 && state.head_since.is_none() {
            state.head_since = Some(Instant::now());
            drop(state);
            self.wake.notify_one();
        }
    }

    /// A write was attempted.
    fn on_write(&self, wrote: Wrote) {
        let mut state = self.state();
        state.stalled = wrote == Wrote::Refused;
        if !state.unflushed {
            // A response starts to go out: its write deadline is armed.
            state.unflushed = true;
            state.write_progress = Instant::now();
            drop(state);
            self.wake.notify_one();
        } else if wrote == Wrote::Progress {
            state.write_progress = Instant::now();
        }
    }

    /// A flush is waiting for the socket (a TLS record the socket refuses).
    fn on_flush_refused(&self) {
        let mut state = self.state();
        if state.unflushed {
            state.stalled = true;
        }
    }

    fn on_flushed(&self) {
        let mut state = self.state();
        state.stalled = false;
        if state.unflushed {
            state.unflushed = false;
            if state.busy == 0 {
                drop(state);
                self.wake.notify_one();
            }
        }
    }

    /// When the connection is to be closed if nothing happens, and why: a response going out
    /// must make progress within the write timeout; otherwise `None` while a request is in
    /// progress, else the header or keep-alive deadline.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, &'static str)> {
        let state = self.state();
        if state.unflushed {
            Some((
                state.write_progress + limits.write_timeout,
                "response write stalled",
            ))
        } else if state.busy > 0 {
            None
        } else if state.requests == 0 {
            Some((
                self.accepted + limits.header_read_timeout,
                "header read timeout (first request)",
            ))
        } else if let Some(head_since) = state.head_since {
            Some((
                head_since + limits.header_read_timeout,
                "header read timeout",
            ))
        } else {
            Some((
                state.idle_since + limits.keep_alive_timeout,
                "keep-alive idle timeout",
            ))
        }
    }
}

/// Marks its connection busy while a request is in progress.
pub(crate) struct RequestGuard(Arc<Connection>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// Logs an accept error and waits a little before the next accept: out of descriptors, retrying
/// at once would spin.
pub(crate) async fn accept_failed(error: io::Error) {
    let per_connection = matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    );
    if per_connection {
        tracing::debug!(%error, "accept failed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    } else {
        tracing::warn!(%error, "accept failed; retrying in 100 ms");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Logs a connection task that did not end normally.
pub(crate) fn log_join(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined
        && error.is_panic()
    {
        tracing::error!("a connection task panicked");
    }
}

/// Drives one connection: TLS handshake, requests, shutdown; closes it when it returns.
pub(crate) async fn run<S, B>(
    stream: TcpStream,
    peer: SocketAddr,
    admitted: Admitted,
    context: Arc<Context>,
    service: S,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let Admitted {
        connection,
        registration: _registration,
    } = admitted;
    let _ = stream.set_nodelay(true);
    set_buffer_sizes(&stream, &context.limits, peer);

    #[cfg(feature = "tls")]
    let (io, h2) = match &context.tls {
        None => (Io::Plain(stream), false),
        Some(acceptor) => {
            let handshake = pin!(acceptor.accept(stream));
            match until_idle_stop(handshake, &connection, &context).await {
                None => return,
                Some(Err(error)) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed: closing");
                    return;
                }
                Some(Ok(stream)) => {
                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    (Io::Tls(Box::new(stream)), h2)
                }
            }
        }
    };
    #[cfg(not(feature = "tls"))]
    let (io, h2) = (Io::Plain(stream), false);

    let builder = match &context.http2 {
        None => &context.http1,
        Some((h2_only, _)) if h2 => h2_only,
        Some((_, detect)) if !context.is_tls() => detect,
        Some(_) => &context.http1,
    };
    let io = TokioIo::new(Tracked {
        io,
        connection: connection.clone(),
        framing: FramingWatch::default(),
    });
    let service = Guarded {
        inner: service,
        slots: context.slots.clone(),
        wait: context.limits.in_flight_wait,
        connection: connection.clone(),
    };
    let mut served = pin!(builder.serve_connection(io, service));
    let mut graceful = false;
    let mut sleep = pin!(tokio::time::sleep(Duration::ZERO));
    // Made once and kept across turns of the loop (each turn is a request's start, its first
    // write, its flush or its end): `woken` is remade only once it fired, and `drain` is
    // polled only until it fires.
    let mut woken = pin!(connection.wake.notified());
    let mut drain = pin!(context.readiness.draining());
    loop {
        let draining = context.readiness.is_draining();
        let (idle, stalled, evict) = {
            let mut state = connection.state();
            (
                state.is_idle(),
                state.is_stalled(),
                std::mem::take(&mut state.evict),
            )
        };
        if idle && (evict || draining) {
            tracing::debug!(%peer, evict, "closing an idle connection");
            return;
        }
        if stalled && evict {
            tracing::debug!(%peer, "evicted while its answer was stalled: closing");
            return;
        }
        if draining && !graceful {
            // Finish the request in progress, then close (HTTP/1.1 `Connection: close`, h2 GOAWAY).
            served.as_mut().graceful_shutdown();
            graceful = true;
        }
        let deadline = connection.deadline(&context.limits);
        if let Some((at, _)) = deadline
            && sleep.deadline() != at
        {
            sleep.as_mut().reset(at);
        }
        tokio::select! {
            biased;
            result = served.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection closed with an error");
                }
                return;
            }
            () = woken.as_mut() => woken.set(connection.wake.notified()),
            // Once it fired, `draining` is true on every later turn: it is not polled again.
            () = drain.as_mut(), if !draining => {}
            () = &mut sleep, if deadline.is_some() => {
                if let Some((at, why)) = connection.deadline(&context.limits)
                    && Instant::now() >= at
                {
                    tracing::debug!(%peer, "{why}: closing");
                    return;
                }
            }
        }
    }
}

/// Sets the kernel buffers of an accepted connection (0: the operating system's default).
fn set_buffer_sizes(stream: &TcpStream, limits: &Limits, peer: SocketAddr) {
    let socket = socket2::SockRef::from(stream);
    if limits.send_buffer_size > 0
        && let Err(error) = socket.set_send_buffer_size(limits.send_buffer_size)
    {
        tracing::debug!(%peer, %error, "cannot set the send buffer size");
    }
    if limits.receive_buffer_size > 0
        && let Err(error) = socket.set_recv_buffer_size(limits.receive_buffer_size)
    {
        tracing::debug!(%peer, %error, "cannot set the receive buffer size");
    }
}

/// Runs `phase` (the TLS handshake) unless the connection is evicted, the server drains, or
/// the header deadline passes first.
#[cfg(feature = "tls")]
async fn until_idle_stop<F: std::future::Future + Unpin>(
    mut phase: F,
    connection: &Connection,
    context: &Context,
) -> Option<F::Output> {
    let deadline = connection.accepted + context.limits.header_read_timeout;
    loop {
        tokio::select! {
            biased;
            output = &mut phase => return Some(output),
            () = connection.wake.notified() => {
                if std::mem::take(&mut connection.state().evict) {
                    tracing::debug!(peer = %connection.peer, "evicted during the TLS handshake");
                    return None;
                }
            }
            () = context.readiness.draining() => return None,
            () = tokio::time::sleep_until(deadline) => {
                tracing::debug!(peer = %connection.peer, "TLS handshake timeout: closing");
                return None;
            }
        }
    }
}

/// The connection's transport.
enum Io {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// The transport, reporting reads, writes and flushes to the connection's deadlines and its
/// stall, and watching request heads for ambiguous framing.
struct Tracked {
    io: Io,
    connection: Arc<Connection>,
    framing: FramingWatch,
}

macro_rules! with_io {
    ($io:expr, $stream:ident => $body:expr) => {
        match $io {
            Io::Plain($stream) => $body,
            #[cfg(feature = "tls")]
            Io::Tls($stream) => $body,
        }
    };
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = with_io!(&mut this.io, stream => Pin::new(stream).poll_read(cx, buf));
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.connection.on_read();
            if this.framing.scan(&buf.filled()[before..]) {
                this.connection
                    .ambiguous_framing
                    .store(true, Ordering::Relaxed);
            }
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = with_io!(&mut this.io, stream => Pin::new(stream).poll_write(cx, buf));
        this.connection.on_write(Wrote::of(&polled));
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled =
            with_io!(&mut this.io, stream => Pin::new(stream).poll_write_vectored(cx, bufs));
        this.connection.on_write(Wrote::of(&polled));
        polled
    }

    fn is_write_vectored(&self) -> bool {
        with_io!(&self.io, stream => stream.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = with_io!(&mut this.io, stream => Pin::new(stream).poll_flush(cx));
        match polled {
            Poll::Ready(Ok(())) => this.connection.on_flushed(),
            Poll::Pending => this.connection.on_flush_refused(),
            Poll::Ready(Err(_)) => {}
        }
        polled
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        with_io!(&mut this.io, stream => Pin::new(stream).poll_shutdown(cx))
    }
}

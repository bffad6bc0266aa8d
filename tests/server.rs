//! `server::Server` in process, on 127.0.0.1: the header deadline (silent, never-ending and
//! slowloris heads), the head size bound, eviction at the connection bound, the in-flight bound,
//! graceful shutdown and readiness, TLS, and the HTTP/2 opt-in. Every test is bounded in time and
//! in connections.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine;
use drone_extension::server::{Readiness, Server, TlsConfig};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};

use support::bounds::{assert_ends_within, assert_not_before, hang_bound};
use support::http::read_until_closed;
use support::serve::start as start_with;

/// Every test's bound: only a hang reaches it.
const TEST_LIMIT: Duration = Duration::from_secs(60);

async fn bounded<F: Future>(f: F) -> F::Output {
    timeout(TEST_LIMIT, f).await.expect("test timed out")
}

/// Requests held by the test: `/held` counts itself in and answers only once released, so a
/// test waits for what it needs ("two requests in progress") instead of sleeping and hoping.
#[derive(Clone, Default)]
struct Gate {
    started: Arc<std::sync::atomic::AtomicUsize>,
    release: Arc<tokio::sync::Notify>,
    released: Arc<std::sync::atomic::AtomicBool>,
}

impl Gate {
    /// Waits (within the test's bound) until `n` held requests have started.
    async fn started(&self, n: usize) {
        while self.started.load(std::sync::atomic::Ordering::SeqCst) < n {
            sleep(Duration::from_millis(5)).await;
        }
    }

    /// Lets every held request answer, now and later.
    fn release(&self) {
        self.released
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.release.notify_waiters();
    }

    async fn hold(&self) {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        loop {
            let released = self.release.notified();
            if self.released.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            released.await;
        }
    }
}

fn app(readiness: Readiness, gate: Gate) -> Router {
    let endless = gate.started.clone();
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route(
            "/held",
            get(move || {
                let gate = gate.clone();
                async move {
                    gate.hold().await;
                    "held"
                }
            }),
        )
        .route("/big", get(|| async { vec![b'x'; 32 << 20] }))
        .route(
            "/endless",
            get(move || {
                let started = endless.clone();
                async move {
                    started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    axum::body::Body::new(Endless)
                }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let readiness = readiness.clone();
                async move { readiness.status() }
            }),
        )
}

/// A response body that never ends: 64 KiB chunks, as fast as they are taken.
struct Endless;

impl http_body::Body for Endless {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let chunk = bytes::Bytes::from(vec![b'x'; 64 << 10]);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}

/// A running server and the gate of its `/slow` route.
struct Running {
    running: support::serve::Running,
    gate: Gate,
}

impl std::ops::Deref for Running {
    type Target = support::serve::Running;

    fn deref(&self) -> &support::serve::Running {
        &self.running
    }
}

impl Running {
    /// Sends the shutdown signal and returns how long `serve` took to return.
    async fn shutdown(self) -> Duration {
        self.running.shutdown().await
    }
}

async fn start(server: Server) -> Running {
    let readiness = server.readiness();
    let gate = Gate::default();
    let service = app(readiness, gate.clone());
    Running {
        running: start_with(server, service).await,
        gate,
    }
}

fn test_server() -> Server {
    Server::new()
        .header_read_timeout(Duration::from_secs(1))
        .drain_timeout(Duration::from_secs(5))
}

/// Reads one response head and its `Content-Length` body from a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read");
        assert_eq!(
            n,
            1,
            "closed mid-response: {:?}",
            String::from_utf8_lossy(&received)
        );
        received.push(byte[0]);
    }
    let head = String::from_utf8(received).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .map_or(0, |n| n.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head + &String::from_utf8(body).unwrap()
}

async fn get_once(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    String::from_utf8(read_until_closed(&mut stream).await).unwrap()
}

#[tokio::test]
async fn serves_an_axum_router() {
    bounded(async {
        let running = start(test_server()).await;
        let response = get_once(running.addr, "/").await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("hello"), "{response}");
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_deadline() {
    bounded(async {
        let running = start(test_server()).await;
        let mut stream = TcpStream::connect(running.addr).await.unwrap();
        let start = Instant::now();
        let received = read_until_closed(&mut stream).await;
        let elapsed = start.elapsed();
        assert!(received.is_empty());
        assert_not_before(
            "closed by the 1 s header deadline",
            elapsed,
            Duration::from_secs(1),
        );
        assert_ends_within(
            "closed by the 1 s header deadline",
            elapsed,
            Duration::from_secs(1),
        );
        running.shutdown().await;
    })
    .await;
}

/// Sends `chunks` one by one, `pause` apart, until the server closes; returns when it closed
/// (from the first byte) and whether every chunk was sent first.
async fn trickle(
    addr: SocketAddr,
    chunks: impl Iterator<Item = Vec<u8>>,
    pause: Duration,
) -> (Duration, Vec<u8>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let start = Instant::now();
    let writing = async move {
        for chunk in chunks {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
            sleep(pause).await;
        }
        std::future::pending::<()>().await;
    };
    let reading = async move {
        let mut received = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return received,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::select! {
        () = writing => unreachable!(),
        received = reading => (start.elapsed(), received),
    }
}

#[tokio::test]
async fn a_never_ending_header_section_is_closed() {
    bounded(async {
        let running = start(test_server()).await;
        let head = std::iter::once(b"GET / HTTP/1.1\r\nHost: test\r\n".to_vec());
        let endless = std::iter::repeat_with(|| b"X-Padding: aaaaaaaa\r\n".to_vec());
        let (elapsed, received) = trickle(
            running.addr,
            head.chain(endless).take(200),
            Duration::from_millis(50),
        )
        .await;
        assert!(!received.starts_with(b"HTTP/1.1 200"));
        // 200 lines 50 ms apart would take 10 s: closed by the 1 s header deadline.
        assert_ends_within("a never-ending head", elapsed, Duration::from_secs(1));
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn slowloris_is_closed_at_the_header_deadline() {
    bounded(async {
        let running = start(test_server()).await;
        let request = b"GET / HTTP/1.1\r\nHost: test\r\nAccept: */*\r\n\r\n";
        let bytes = request.iter().map(|b| vec![*b]);
        let (elapsed, received) = trickle(running.addr, bytes, Duration::from_millis(300)).await;
        // The whole head would take 13 s at this pace.
        assert!(!received.starts_with(b"HTTP/1.1 200"));
        assert_not_before("a slowloris head", elapsed, Duration::from_secs(1));
        assert_ends_within("a slowloris head", elapsed, Duration::from_secs(1));
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_the_keep_alive_timeout() {
    bounded(async {
        let server = test_server().keep_alive_timeout(Duration::from_millis(1500));
        let running = start(server).await;
        let mut stream = TcpStream::connect(running.addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        let start = Instant::now();
        assert!(read_until_closed(&mut stream).await.is_empty());
        let elapsed = start.elapsed();
        // Past the 1 s header deadline: idle between requests is the keep-alive timeout's.
        assert_not_before("the keep-alive close", elapsed, Duration::from_millis(1500));
        assert_ends_within("the keep-alive close", elapsed, Duration::from_millis(1500));
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_header_section_over_max_header_bytes_is_refused() {
    bounded(async {
        let running = start(test_server().max_header_bytes(16 * 1024)).await;
        let mut stream = TcpStream::connect(running.addr).await.unwrap();
        let mut request = b"GET / HTTP/1.1\r\nHost: test\r\nX-Big: ".to_vec();
        request.extend(std::iter::repeat_n(b'a', 20 * 1024));
        request.extend_from_slice(b"\r\n\r\n");
        let _ = stream.write_all(&request).await; // the server may close before the end
        let received = String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned();
        assert!(
            received.is_empty() || received.starts_with("HTTP/1.1 431 "),
            "{received}"
        );
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn too_many_header_fields_get_431() {
    bounded(async {
        let running = start(test_server().max_headers(10)).await;
        let mut stream = TcpStream::connect(running.addr).await.unwrap();
        let mut request = b"GET / HTTP/1.1\r\nHost: test\r\n".to_vec();
        for i in 0..20 {
            request.extend_from_slice(format!("X-{i}: a\r\n").as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        stream.write_all(&request).await.unwrap();
        let received = String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned();
        assert!(received.starts_with("HTTP/1.1 431 "), "{received}");
        running.shutdown().await;
    })
    .await;
}

/// The default bound (100 fields, hyper's own, which the server leaves to hyper): a head of 100
/// fields is served, one of 101 refused.
#[tokio::test]
async fn the_default_header_field_bound_is_100() {
    bounded(async {
        let running = start(test_server()).await;
        for (fields, status) in [(100, "HTTP/1.1 200 "), (101, "HTTP/1.1 431 ")] {
            let mut stream = TcpStream::connect(running.addr).await.unwrap();
            let mut request = b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n".to_vec();
            for i in 0..fields - 2 {
                request.extend_from_slice(format!("X-{i}: a\r\n").as_bytes());
            }
            request.extend_from_slice(b"\r\n");
            stream.write_all(&request).await.unwrap();
            let received =
                String::from_utf8_lossy(&read_until_closed(&mut stream).await).into_owned();
            assert!(received.starts_with(status), "{fields} fields: {received}");
        }
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn at_max_connections_a_new_client_evicts_the_connection_idle_the_longest() {
    bounded(async {
        let server = Server::new()
            .max_connections(8)
            .header_read_timeout(Duration::from_secs(10))
            .drain_timeout(Duration::from_secs(1));
        let running = start(server).await;
        // Eight idle connections: four kept alive after a request, four that never sent a byte.
        let mut idle = Vec::new();
        for _ in 0..4 {
            let mut stream = TcpStream::connect(running.addr).await.unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
                .await
                .unwrap();
            assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
            idle.push(stream);
        }
        for _ in 0..4 {
            idle.push(TcpStream::connect(running.addr).await.unwrap());
        }
        sleep(Duration::from_millis(200)).await; // all accepted
        let start = Instant::now();
        let response = get_once(running.addr, "/").await;
        let elapsed = start.elapsed();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response:?}");
        assert_ends_within(
            "a request at the bound",
            elapsed,
            Duration::from_millis(100),
        );
        // The first connection is the one idle the longest: it was closed.
        let first = timeout(hang_bound(Duration::ZERO), read_until_closed(&mut idle[0])).await;
        assert_eq!(first.ok(), Some(Vec::new()));
        // The last one is still open.
        let last = timeout(Duration::from_millis(200), read_until_closed(&mut idle[7])).await;
        assert!(last.is_err(), "the newest idle connection was closed too");
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn idle_connections_past_the_bound_are_closed_oldest_first() {
    bounded(async {
        let server = Server::new()
            .max_connections(8)
            .header_read_timeout(Duration::from_secs(10))
            .drain_timeout(Duration::from_secs(1));
        let running = start(server).await;
        let mut idle = Vec::new();
        for _ in 0..24 {
            idle.push(TcpStream::connect(running.addr).await.unwrap());
            sleep(Duration::from_millis(10)).await; // accepted in order
        }
        sleep(Duration::from_millis(200)).await;
        // The server holds 8 of the 24: the 16 oldest are closed (each waited for as long as a
        // hang allows)...
        for (i, stream) in idle[..16].iter_mut().enumerate() {
            let read = timeout(hang_bound(Duration::ZERO), read_until_closed(stream)).await;
            assert!(
                read.is_ok(),
                "connection {i} of the 16 oldest is still open"
            );
        }
        // ...and the 8 newest are open (a late close could only hide a defect, never fail).
        for (i, stream) in idle.iter_mut().enumerate().skip(16) {
            let read = timeout(Duration::from_millis(100), read_until_closed(stream)).await;
            assert!(read.is_err(), "connection {i} of the 8 newest was closed");
        }
        assert!(
            get_once(running.addr, "/")
                .await
                .starts_with("HTTP/1.1 200")
        );
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn at_max_connections_with_every_connection_busy_a_new_one_is_closed() {
    bounded(async {
        let server = test_server().max_connections(2);
        let running = start(server).await;
        let slow = |addr| tokio::spawn(async move { get_once(addr, "/held").await });
        let (a, b) = (slow(running.addr), slow(running.addr));
        running.gate.started(2).await; // both requests in progress
        let refused = get_once(running.addr, "/").await;
        assert!(refused.is_empty(), "{refused}");
        running.gate.release();
        assert!(a.await.unwrap().starts_with("HTTP/1.1 200"));
        assert!(b.await.unwrap().starts_with("HTTP/1.1 200"));
        assert!(
            get_once(running.addr, "/")
                .await
                .starts_with("HTTP/1.1 200")
        );
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn in_flight_overload_gets_503_with_retry_after_after_the_wait() {
    bounded(async {
        let server = test_server()
            .max_in_flight(1)
            .in_flight_wait(Duration::from_millis(300));
        let running = start(server).await;
        let addr = running.addr;
        let slow = tokio::spawn(async move { get_once(addr, "/held").await });
        running.gate.started(1).await;
        let start = Instant::now();
        let refused = get_once(running.addr, "/").await;
        let waited = start.elapsed();
        assert!(
            refused.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{refused}"
        );
        assert!(refused.contains("\r\nretry-after: 1\r\n"), "{refused}");
        assert!(refused.ends_with("Service Unavailable\n"), "{refused}");
        assert_not_before(
            "the 503 after the in-flight wait",
            waited,
            Duration::from_millis(300),
        );
        running.gate.release();
        assert!(slow.await.unwrap().starts_with("HTTP/1.1 200"));
        // The slot is free again.
        assert!(
            get_once(running.addr, "/")
                .await
                .starts_with("HTTP/1.1 200")
        );
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_response_the_client_never_reads_is_abandoned_at_the_write_timeout() {
    bounded(async {
        let server = test_server()
            .max_in_flight(1)
            .in_flight_wait(Duration::from_millis(100))
            .write_timeout(Duration::from_secs(1));
        let running = start(server).await;
        // A response still being produced, never read: the only slot stays taken...
        let mut stuck = TcpStream::connect(running.addr).await.unwrap();
        stuck
            .write_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        running.gate.started(1).await;
        let refused = get_once(running.addr, "/").await;
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        // ...until the socket has taken nothing for the write timeout.
        let start = Instant::now();
        loop {
            sleep(Duration::from_millis(100)).await;
            if get_once(running.addr, "/")
                .await
                .starts_with("HTTP/1.1 200")
            {
                break;
            }
            // The 1 s write timeout frees the slot.
            assert_ends_within(
                "a stalled response's hold on the only slot",
                start.elapsed(),
                Duration::from_secs(1),
            );
        }
        assert!(
            read_until_closed(&mut stuck)
                .await
                .starts_with(b"HTTP/1.1 200")
        );

        // A whole response the client does not read (its request is over) is dropped at the
        // write timeout too, not at the 30 s keep-alive timeout.
        let mut stuck = TcpStream::connect(running.addr).await.unwrap();
        stuck
            .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // Three times the write timeout, on the server's clock too unless it stalls for 2 s.
        sleep(Duration::from_secs(3)).await;
        let got = read_until_closed(&mut stuck).await;
        assert!(got.len() < 32 << 20, "the whole response arrived");
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn shutdown_with_a_half_sent_header_returns_at_once() {
    bounded(async {
        let server = Server::new()
            .header_read_timeout(Duration::from_secs(30))
            .drain_timeout(Duration::from_secs(30));
        let running = start(server).await;
        let readiness = running.readiness.clone();
        // One connection mid-head, one kept alive after a request, then mid-head again.
        let mut half = TcpStream::connect(running.addr).await.unwrap();
        half.write_all(b"GET / HTTP/1.1\r\nHost: te").await.unwrap();
        let mut kept = TcpStream::connect(running.addr).await.unwrap();
        kept.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        assert!(read_response(&mut kept).await.starts_with("HTTP/1.1 200"));
        kept.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        sleep(Duration::from_millis(200)).await;
        assert!(!readiness.is_draining());
        let took = running.shutdown().await;
        // Not the 30 s header deadline nor the 30 s drain timeout.
        assert_ends_within(
            "shutdown with half-sent heads",
            took,
            Duration::from_millis(100),
        );
        assert!(readiness.is_draining());
        assert_eq!(readiness.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(read_until_closed(&mut half).await.is_empty());
        assert!(read_until_closed(&mut kept).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_progress_finish() {
    bounded(async {
        let running = start(test_server().drain_timeout(Duration::from_secs(30))).await;
        let addr = running.addr;
        let slow = tokio::spawn(async move { get_once(addr, "/held").await });
        running.gate.started(1).await;
        let readiness = running.readiness.clone();
        let gate = running.gate.clone();
        let shutdown = tokio::spawn(running.shutdown());
        while !readiness.is_draining() {
            sleep(Duration::from_millis(5)).await;
        }
        // Draining, and waiting for the request (a late return could only hide a defect).
        sleep(Duration::from_millis(200)).await;
        assert!(!shutdown.is_finished(), "returned before the request ended");
        let released = Instant::now();
        gate.release();
        let response = slow.await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.ends_with("held"), "{response}");
        shutdown.await.unwrap();
        // Not the 30 s drain timeout.
        assert_ends_within(
            "shutdown after the request",
            released.elapsed(),
            Duration::ZERO,
        );
    })
    .await;
}

#[tokio::test]
async fn shutdown_cuts_a_request_still_running_at_the_drain_timeout() {
    bounded(async {
        let running = start(test_server().drain_timeout(Duration::from_millis(500))).await;
        let addr = running.addr;
        // Never released: only the drain timeout ends it.
        let slow = tokio::spawn(async move { get_once(addr, "/held").await });
        running.gate.started(1).await;
        let took = running.shutdown().await;
        assert_not_before("the drain timeout", took, Duration::from_millis(500));
        assert_ends_within("the drain timeout", took, Duration::from_millis(500));
        let response = timeout(hang_bound(Duration::ZERO), slow)
            .await
            .expect("still open")
            .unwrap();
        assert!(response.is_empty(), "{response}");
    })
    .await;
}

#[tokio::test]
async fn healthz_from_readiness_answers_200_while_serving() {
    bounded(async {
        let running = start(test_server()).await;
        let response = get_once(running.addr, "/healthz").await;
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        running.shutdown().await;
    })
    .await;
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem.into_bytes()
}

#[tokio::test]
async fn tls_end_to_end_and_plaintext_refused() {
    bounded(async {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert_der = generated.cert.der().clone();
        let cert_pem = pem("CERTIFICATE", &cert_der);
        let key_pem = pem("PRIVATE KEY", &generated.signing_key.serialize_der());
        let tls = TlsConfig::from_pem(&cert_pem, &key_pem).unwrap();
        assert_eq!(format!("{tls:?}"), "TlsConfig { .. }");
        let running = start(test_server().tls(tls)).await;

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert_der).unwrap();
        // The crate's provider (see src/tls_provider.rs: ring, deprecated for lacking post-quantum
        // key exchange).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(running.addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut received = Vec::new();
        let _ = tls.read_to_end(&mut received).await;
        let received = String::from_utf8(received).unwrap();
        assert!(received.starts_with("HTTP/1.1 200 OK"), "{received}");
        assert!(received.ends_with("hello"), "{received}");

        let plain = get_once(running.addr, "/").await;
        assert!(!plain.starts_with("HTTP/1.1"), "{plain}");

        // A TLS client that never finishes its handshake is closed at the header deadline.
        let mut silent = TcpStream::connect(running.addr).await.unwrap();
        let start = Instant::now();
        assert!(read_until_closed(&mut silent).await.is_empty());
        assert_ends_within(
            "a silent TLS client",
            start.elapsed(),
            Duration::from_secs(1),
        );
        running.shutdown().await;
    })
    .await;
}

#[test]
fn tls_errors_name_the_file_and_never_print_the_key() {
    let missing = TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem")
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("cannot read /nonexistent/cert.pem: "),
        "{missing}"
    );
    let secret = b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==!!\n";
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_pem = pem("CERTIFICATE", generated.cert.der());
    let error = TlsConfig::from_pem(&cert_pem, secret)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "the private key: no valid PEM private key (PKCS#8, PKCS#1 or SEC1)"
    );
    let error = TlsConfig::from_pem(b"not a certificate", secret)
        .unwrap_err()
        .to_string();
    assert_eq!(error, "the certificate chain: no valid PEM certificate");
}

async fn h2_get(addr: SocketAddr) -> Result<StatusCode, hyper::Error> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await?;
    tokio::spawn(connection);
    let request = Request::get(format!("http://{addr}/"))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}

#[tokio::test]
async fn h2c_prior_knowledge_is_served_only_when_opted_in() {
    bounded(async {
        let service = tower::service_fn(|_request: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(String::from("h2")))
        });
        let on = start_with(test_server().http2(true), service).await;
        assert_eq!(h2_get(on.addr).await.unwrap(), StatusCode::OK);
        on.shutdown().await;

        let off = start_with(test_server(), service).await;
        assert!(
            timeout(hang_bound(Duration::ZERO), h2_get(off.addr))
                .await
                .unwrap()
                .is_err()
        );
        off.shutdown().await;
    })
    .await;
}

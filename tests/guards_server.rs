//! Guards for `server::Server`'s deadlines on a kept-alive connection, ahead of the refactor of
//! issue 19: each test fails on one defect a mutation check injected without any other test
//! noticing.
//!
//! On 127.0.0.1 with real sockets, so on the real clock (tokio's paused clock jumps to the next
//! timer whenever the runtime waits on a socket, even one already readable): the times follow
//! `support::bounds` — a lower bound the timer cannot beat, and a hang bound (x5, at least 10 s).
//! The header deadline is 2 s, so the defect's tenfold deadline (20 s) crosses the hang bound.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use drone_extension::server::Server;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep, timeout};

use support::bounds::{assert_ends_within, assert_not_before};
use support::http::read_until_closed;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Every test's bound: only a hang reaches it.
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// A server answering `hello` on 127.0.0.1 with a 2 s header deadline and a 30 s keep-alive; it
/// stops when the returned sender is dropped.
async fn start() -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Server::new()
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .drain_timeout(Duration::from_secs(5))
        .shutdown_signal(async move {
            let _ = stopped.await;
        });
    let service = tower::service_fn(|_: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
    });
    tokio::spawn(server.serve(listener, service));
    (addr, stop)
}

/// A connection that has been served one request and is kept alive.
async fn kept_alive(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    while !received.ends_with(b"hello") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buf[..n]);
    }
    assert!(received.starts_with(b"HTTP/1.1 200"));
    stream
}

/// Guards against: the header deadline of the next request on a kept-alive connection raised
/// tenfold. Idle time after a response is the keep-alive timeout's; from the first byte of the
/// next head, the head must be complete within the header deadline.
#[tokio::test]
async fn the_next_head_on_a_kept_alive_connection_is_closed_at_the_header_deadline() {
    timeout(TEST_LIMIT, async {
        let (addr, _stop) = start().await;
        let mut stream = kept_alive(addr).await;
        // Idle for longer than the header deadline: still open (the keep-alive timeout's).
        sleep(HEADER_READ_TIMEOUT + Duration::from_millis(500)).await;
        let start = Instant::now();
        stream.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        let received = read_until_closed(&mut stream).await;
        let took = start.elapsed();
        assert!(
            received.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&received)
        );
        let what = "a second head that stopped, closed by the 2 s header deadline";
        assert_not_before(what, took, HEADER_READ_TIMEOUT);
        assert_ends_within(what, took, HEADER_READ_TIMEOUT);
    })
    .await
    .expect("test timed out");
}

/// Guards against: the same defect, with the next head trickled a byte every 300 ms (it would
/// take 12 s): bytes arriving do not move the deadline.
#[tokio::test]
async fn a_trickled_next_head_on_a_kept_alive_connection_is_closed_at_the_header_deadline() {
    timeout(TEST_LIMIT, async {
        let (addr, _stop) = start().await;
        let (mut reader, mut writer) = kept_alive(addr).await.into_split();
        let head = b"GET / HTTP/1.1\r\nHost: test\r\nAccept: */*\r\n\r\n";
        let start = Instant::now();
        let writing = async move {
            for byte in head {
                if writer.write_all(&[*byte]).await.is_err() {
                    break;
                }
                sleep(Duration::from_millis(300)).await;
            }
            std::future::pending::<()>().await;
        };
        let received = tokio::select! {
            () = writing => unreachable!(),
            received = read_until_closed(&mut reader) => received,
        };
        let took = start.elapsed();
        assert!(
            !received.starts_with(b"HTTP/1.1 200"),
            "the trickled head was served"
        );
        let what = "a trickled second head, closed by the 2 s header deadline";
        assert_not_before(what, took, HEADER_READ_TIMEOUT);
        assert_ends_within(what, took, HEADER_READ_TIMEOUT);
    })
    .await
    .expect("test timed out");
}

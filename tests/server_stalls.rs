//! `server::Server` in process, on 127.0.0.1, against clients that never read their answers
//! (issue 18): stalled connections are evicted at the connection bound, a connection stops
//! reading pipelined requests while an answer is unwritten, the kernel send queue of one
//! connection is bounded; and a request carrying both `Content-Length` and `Transfer-Encoding`
//! is refused. Every test is bounded in time and in connections.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use drone_extension::server::Server;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, sleep, timeout};

use support::http::read_until_closed;
use support::serve::Running;

/// Every test's bound (the attack test runs for about 11 s of it).
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// The size of a `/metrics` answer: pipelined answers of this size fill any socket buffer.
const METRICS_BYTES: usize = 64 << 10;

async fn bounded<F: Future>(f: F) -> F::Output {
    timeout(TEST_LIMIT, f).await.expect("test timed out")
}

/// `/healthz` (small), `/metrics` (64 KiB), `/empty` (204, no body), and `POST /` which reads
/// its body and answers its length.
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    static METRICS: [u8; METRICS_BYTES] = [b'm'; METRICS_BYTES];
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/healthz") => Response::new(Full::new(Bytes::from_static(b"OK\n"))),
        (&Method::GET, "/metrics") => Response::new(Full::new(Bytes::from_static(&METRICS))),
        (&Method::GET, "/empty") => {
            let mut response = Response::new(Full::default());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        (&Method::POST, "/") => {
            let body = request.into_body().collect().await.map(|b| b.to_bytes());
            match body {
                Ok(body) => Response::new(Full::new(Bytes::from(format!("got {}", body.len())))),
                Err(_) => {
                    let mut response = Response::new(Full::default());
                    *response.status_mut() = StatusCode::BAD_REQUEST;
                    response
                }
            }
        }
        _ => {
            let mut response = Response::new(Full::default());
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    };
    Ok(response)
}

/// Serves [`handle`] with `server`, its drain bounded by 1 s.
async fn start(server: Server) -> Running {
    let server = server.drain_timeout(Duration::from_secs(1));
    support::serve::start(server, tower::service_fn(handle)).await
}

/// Sends `request` on a new connection and reads until the server closes it, at most 5 s (a
/// loopback answer takes milliseconds: 5 s is only there so that a hang fails the test).
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let read = timeout(Duration::from_secs(5), read_until_closed(&mut stream)).await;
    let received = read.expect("the server neither answered nor closed within 5 s");
    String::from_utf8_lossy(&received).into_owned()
}

/// A connection that pipelines `count` requests for `path` and never reads an answer, with a
/// 1 KiB receive buffer (and a 4 KiB send buffer) so that the answers back up into the server.
async fn never_reading(addr: SocketAddr, path: &str, count: usize) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let requests = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").repeat(count);
    // A few KiB: the server's receive buffer takes them (an evicted connection fails here).
    let _ = timeout(
        Duration::from_secs(2),
        stream.write_all(requests.as_bytes()),
    )
    .await;
    stream
}

/// The lockout: the connection bound filled by connections whose pipelined answers are
/// never read, an attacker opening a new one every 100 ms for 10 s, and a `/healthz` probe every
/// second meanwhile. Before the fix every probe was reset (stalled connections counted as busy
/// and were never evicted) until the 30 s write timeout.
#[tokio::test]
async fn stalled_answers_do_not_lock_out_new_connections() {
    bounded(async {
        let running = start(Server::new().max_connections(8)).await;
        let addr = running.addr;
        let attacker = tokio::spawn(async move {
            let mut held = Vec::new();
            for _ in 0..100 {
                held.push(never_reading(addr, "/metrics", 300).await);
                sleep(Duration::from_millis(100)).await;
            }
            held.len()
        });
        sleep(Duration::from_millis(1000)).await; // the bound is full of stalled connections
        let mut failures = Vec::new();
        for probe in 0..10 {
            let answer = exchange(
                addr,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await;
            if !answer.starts_with("HTTP/1.1 200") || !answer.ends_with("OK\n") {
                failures.push(format!("probe {probe}: {answer:?}"));
            }
            sleep(Duration::from_millis(1000)).await;
        }
        assert_eq!(attacker.await.unwrap(), 100);
        assert!(
            failures.is_empty(),
            "{} of 10 /healthz probes not answered while stalled connections filled the bound: {failures:?}",
            failures.len()
        );
        running.shutdown().await;
    })
    .await;
}

/// A client pipelining small requests and never reading: the server reads a connection's next
/// request only once the previous answer is in the socket, and the socket's buffers are bounded,
/// so the client's writes block after a bounded number of bytes (about 130 KiB here). Before
/// the fix the kernel grew the server's buffers and took 1.3 to 1.5 MB of requests (and their
/// answers) from this one connection.
#[tokio::test]
async fn pipelined_requests_stop_being_read_while_answers_are_unwritten() {
    const LIMIT: usize = 1 << 20;
    bounded(async {
        let running = start(Server::new()).await;
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(1024).unwrap();
        socket.set_send_buffer_size(4096).unwrap();
        let mut stream = socket.connect(running.addr).await.unwrap();
        let chunk = b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2048);
        let mut sent = 0;
        while sent < LIMIT {
            // 2 s without the server taking 64 KiB: it stopped reading (loopback takes them
            // in microseconds while it reads).
            match timeout(Duration::from_secs(2), stream.write_all(&chunk)).await {
                Ok(Ok(())) => sent += chunk.len(),
                Ok(Err(error)) => panic!("the connection failed after {sent} bytes: {error}"),
                Err(_) => break,
            }
        }
        assert!(
            sent < LIMIT,
            "the server kept reading pipelined requests whose answers were never read: \
             {sent} bytes taken, more than {LIMIT} (about 130 KB expected)"
        );
        // The connection still works once the client reads: every answer arrives in order.
        let mut received = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        let answers = loop {
            let n = timeout(Duration::from_secs(5), stream.read(&mut buf))
                .await
                .expect("no answer within 5 s once the client reads")
                .unwrap();
            assert!(n > 0, "closed before the first answers");
            received.extend_from_slice(&buf[..n]);
            let answers = memchr::memmem::find_iter(&received, b"HTTP/1.1 204").count();
            if answers >= 1000 {
                break answers;
            }
        };
        assert!(answers >= 1000);
        drop(stream);
        running.shutdown().await;
    })
    .await;
}

/// The kernel send queue of a connection whose answers are never read stays within the
/// configured send buffer (Linux doubles the value for its bookkeeping). Read from
/// `/proc/net/tcp`; without the bound it grew to MiBs per connection.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_kernel_send_queue_of_a_stalled_connection_is_bounded() {
    const SEND_BUFFER: usize = 32 << 10;
    bounded(async {
        let running = start(Server::new().send_buffer_size(SEND_BUFFER)).await;
        let stream = never_reading(running.addr, "/metrics", 300).await;
        let (server, client) = (running.addr.port(), stream.local_addr().unwrap().port());
        // Wait until the queue stops growing (at most 5 s).
        let mut queued = 0;
        let start = Instant::now();
        loop {
            sleep(Duration::from_millis(200)).await;
            let now = send_queue(server, client).expect("the connection is in /proc/net/tcp");
            if now == queued && now > 0 || start.elapsed() > Duration::from_secs(5) {
                break;
            }
            queued = now;
        }
        assert!(queued > 0, "the server sent nothing");
        assert!(
            queued <= 4 * SEND_BUFFER,
            "{queued} bytes queued in the kernel for one connection (send buffer {SEND_BUFFER})"
        );
        drop(stream);
        running.shutdown().await;
    })
    .await;
}

/// The send queue (`tx_queue`) of the IPv4 socket from local port `local` to `remote`.
#[cfg(target_os = "linux")]
fn send_queue(local: u16, remote: u16) -> Option<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port = |address: &str| u16::from_str_radix(address.rsplit(':').next()?, 16).ok();
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if port(fields.get(1)?)? != local || port(fields.get(2)?)? != remote {
            return None;
        }
        let (tx, _rx) = fields.get(4)?.split_once(':')?;
        usize::from_str_radix(tx, 16).ok()
    })
}

const BOTH: &[u8] = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
    Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
const BOTH_REVERSED: &[u8] = b"POST / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\
    CONTENT-length: 5\r\n\r\n0\r\n\r\n";

/// Asserts a `400` answer and a closed connection, and that nothing after it was served.
fn assert_refused(answer: &str) {
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer:?}"
    );
    assert_eq!(
        answer.matches("HTTP/1.1 ").count(),
        1,
        "a request after the refused one was served: {answer:?}"
    );
}

#[tokio::test]
async fn a_request_with_both_content_length_and_transfer_encoding_gets_400_and_a_close() {
    bounded(async {
        let running = start(Server::new()).await;
        let addr = running.addr;
        for request in [BOTH, BOTH_REVERSED] {
            // A smuggled request after it is never served: the connection is closed.
            let mut bytes = request.to_vec();
            bytes.extend_from_slice(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_refused(&exchange(addr, &bytes).await);
        }

        // On a kept-alive connection, after a normal request.
        let mut bytes = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        bytes.extend_from_slice(BOTH);
        let answer = exchange(addr, &bytes).await;
        let second = answer.find("HTTP/1.1 400").expect("no 400");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        assert_refused(&answer[second..]);

        // Sent a few bytes at a time, lines split across reads.
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        for piece in BOTH_REVERSED.chunks(3) {
            if stream.write_all(piece).await.is_err() {
                break; // refused as soon as the head was complete
            }
            sleep(Duration::from_millis(2)).await;
        }
        let read = timeout(Duration::from_secs(5), read_until_closed(&mut stream)).await;
        assert_refused(&String::from_utf8_lossy(
            &read.expect("no close within 5 s"),
        ));

        // Either header alone is served; so is a body that merely contains both names.
        let chunked =
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
              3\r\nabc\r\n0\r\n\r\n";
        let answer = exchange(addr, chunked).await;
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("got 3"),
            "{answer:?}"
        );
        let body = "\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n";
        let lengthed = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}\
             GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let answer = exchange(addr, lengthed.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        assert!(
            answer.contains(&format!("got {}", body.len())),
            "{answer:?}"
        );
        assert!(answer.ends_with("OK\n"), "{answer:?}");
        running.shutdown().await;
    })
    .await;
}

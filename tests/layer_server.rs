//! The verifying layer behind real servers on 127.0.0.1: an axum 0.8 router (`route_layer`) and a
//! plain hyper 1 server (`TowerToHyperService`), driven by a raw HTTP/1.1 client written here so
//! that the abuse cases of `security.md` §5.1 (B-48, B-50 … B-57) can be sent byte by byte.

use support::{bounds, drone_vectors};

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::extract::DefaultBodyLimit;
use axum::routing;
use axum::{Extension, Router};
use bytes::Bytes;
use drone_extension::ExtensionKind;
use drone_extension::kind::ADMISSION_V1;
use drone_extension::layer::{DEFAULT_BODY_LIMIT, MemoryReplayGuard, VerifiedBody};
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::signature::{SharedSecret, SignatureParams, Signer, Verified};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep};
use tower::ServiceBuilder;

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";
const OTHER_SECRET: &str = "not-the-secret-this-extension-knows";
const KEY_ID_HEADER: &str = "x-verified-key-id";
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);
const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    /// `axum::serve` with `Router::route_layer`.
    Axum,
    /// `hyper::server::conn::http1` with a timer and `header_read_timeout(1 s)`.
    Hyper,
}

const BOTH: [Server; 2] = [Server::Axum, Server::Hyper];

fn admission_layer() -> VerifySignatureLayer {
    VerifySignatureLayer::for_kind(ExtensionKind::Admission, SharedSecret::new(SECRET).unwrap())
}

/// The axum handler: echoes the body it received and the `Verified` key id.
async fn axum_echo(
    Extension(verified): Extension<Verified>,
    body: Bytes,
) -> ([(&'static str, String); 1], Bytes) {
    ([(KEY_ID_HEADER, verified.key_id().to_owned())], body)
}

/// The hyper handler: the same echo, over the layer's `Request<VerifiedBody>`.
async fn hyper_echo(request: Request<VerifiedBody>) -> Result<Response<VerifiedBody>, Infallible> {
    let key_id = request
        .extensions()
        .get::<Verified>()
        .map(|v| v.key_id().to_owned())
        .unwrap_or_default();
    let mut response = Response::new(request.into_body());
    response
        .headers_mut()
        .insert(KEY_ID_HEADER, HeaderValue::from_str(&key_id).unwrap());
    Ok(response)
}

/// Starts `server` with `layer` on 127.0.0.1 (port 0) inside the test's runtime; it stops with it.
async fn start(server: Server, layer: VerifySignatureLayer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    match server {
        Server::Axum => {
            let app = Router::new()
                .route("/", routing::post(axum_echo))
                .route_layer(layer)
                .route("/healthz", routing::get(|| async { "ok" }))
                // axum's extractors apply their own limit (2 MB by default) to the verified body:
                // raise it to the layer's (4 MiB by default), as the layer's docs say.
                .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT));
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        }
        Server::Hyper => {
            let service = ServiceBuilder::new().layer(layer).service_fn(hyper_echo);
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let service = TowerToHyperService::new(service.clone());
                    tokio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEADER_READ_TIMEOUT)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        }
    }
    addr
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

type Headers = Vec<(String, String)>;

/// Bytes to write after the request head, each after a delay.
struct Piece {
    delay: Duration,
    bytes: Vec<u8>,
}

/// The body in one write (the caller declares `Content-Length`).
fn whole(body: &[u8]) -> Vec<Piece> {
    vec![Piece {
        delay: Duration::ZERO,
        bytes: body.to_vec(),
    }]
}

/// A chunked body: each non-empty chunk framed after `delay`, then the last chunk if `finish`.
fn chunked(chunks: &[&[u8]], delay: Duration, finish: bool) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = chunks
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| {
            let mut bytes = format!("{:x}\r\n", c.len()).into_bytes();
            bytes.extend_from_slice(c);
            bytes.extend_from_slice(b"\r\n");
            Piece { delay, bytes }
        })
        .collect();
    if finish {
        pieces.push(Piece {
            delay,
            bytes: b"0\r\n\r\n".to_vec(),
        });
    }
    pieces
}

/// Raw bytes, one per write, each after `every`.
fn trickle(bytes: &[u8], every: Duration) -> Vec<Piece> {
    bytes
        .iter()
        .map(|&b| Piece {
            delay: every,
            bytes: vec![b],
        })
        .collect()
}

fn request_head(method: &str, path: &str, headers: &Headers) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// What came back on one connection.
struct Reply {
    raw: Vec<u8>,
    read_error: Option<io::ErrorKind>,
    /// From the end of the head's write to the end of the response (EOF or error).
    elapsed: Duration,
    /// How many pieces were written before the response ended.
    pieces_sent: usize,
    status: Option<u16>,
    headers: Headers,
    body: Vec<u8>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = &self.raw[..self.raw.len().min(400)];
        f.debug_struct("Reply")
            .field("raw", &String::from_utf8_lossy(shown))
            .field("raw_len", &self.raw.len())
            .field("read_error", &self.read_error)
            .field("elapsed", &self.elapsed)
            .field("pieces_sent", &self.pieces_sent)
            .finish_non_exhaustive()
    }
}

impl Reply {
    fn status(&self) -> u16 {
        self.status
            .unwrap_or_else(|| panic!("no HTTP response: {self:?}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn decode_chunked(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(rest, b"\r\n") {
        let size = std::str::from_utf8(&rest[..eol]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    out
}

fn parse_reply(
    raw: Vec<u8>,
    read_error: Option<io::ErrorKind>,
    elapsed: Duration,
    pieces_sent: usize,
) -> Reply {
    let mut reply = Reply {
        raw,
        read_error,
        elapsed,
        pieces_sent,
        status: None,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let Some(end) = find(&reply.raw, b"\r\n\r\n") else {
        return reply;
    };
    let head = String::from_utf8_lossy(&reply.raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    reply.status = Some(status_line[9..12].parse().unwrap());
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        reply
            .headers
            .push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let rest = &reply.raw[end + 4..];
    reply.body = if reply
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        decode_chunked(rest)
    } else if let Some(len) = reply.header("content-length") {
        let len: usize = len.parse().unwrap();
        rest[..len.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    reply
}

/// Writes `head`, then the pieces (from another task, ignoring write errors, keeping the write
/// side open afterwards) while reading the response until the server closes the connection.
async fn exchange(addr: SocketAddr, head: Vec<u8>, pieces: Vec<Piece>) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(&head).await.unwrap();
    let start = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let writing = tokio::spawn({
        let sent = sent.clone();
        async move {
            for piece in pieces {
                if !piece.delay.is_zero() {
                    sleep(piece.delay).await;
                }
                if writer.write_all(&piece.bytes).await.is_err() {
                    break;
                }
                sent.fetch_add(1, Ordering::SeqCst);
            }
            // Neither shut down nor drop the write side: the server must answer on its own.
            std::future::pending::<()>().await;
            drop(writer);
        }
    });
    let mut raw = Vec::new();
    let mut read_error = None;
    let read = async {
        let mut buf = vec![0u8; 64 * KIB];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) => {
                    read_error = Some(e.kind());
                    break;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .expect("the server neither answered nor closed the connection within 15 s");
    let elapsed = start.elapsed();
    writing.abort();
    parse_reply(raw, read_error, elapsed, sent.load(Ordering::SeqCst))
}

async fn post(addr: SocketAddr, headers: &Headers, pieces: Vec<Piece>) -> Reply {
    exchange(addr, request_head("POST", "/", headers), pieces).await
}

/// A signed request with `Content-Length`, body sent at once.
async fn post_whole(addr: SocketAddr, headers: &Headers, body: &[u8]) -> Reply {
    post(addr, &with_length(headers, body.len()), whole(body)).await
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

fn to_headers(map: &HeaderMap) -> Headers {
    map.iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

/// The headers Drone would send now for `body`, signed with `secret`.
fn signed_with(secret: &str, body: &[u8]) -> Headers {
    let signer = Signer::new(SharedSecret::new(secret).unwrap());
    to_headers(
        &signer
            .extension_headers(ADMISSION_V1, body, SystemTime::now())
            .unwrap(),
    )
}

fn signed(body: &[u8]) -> Headers {
    signed_with(SECRET, body)
}

fn with_length(headers: &Headers, len: usize) -> Headers {
    let mut headers = headers.clone();
    headers.push(("Content-Length".into(), len.to_string()));
    headers
}

fn with_chunked(headers: &Headers) -> Headers {
    let mut headers = headers.clone();
    headers.push(("Transfer-Encoding".into(), "chunked".into()));
    headers
}

/// The signature parameters of a `Signature` or `Authorization: Signature …` value.
fn signature_value(name: &str, value: &str) -> Option<(usize, SignatureParams)> {
    let prefix = if name.eq_ignore_ascii_case("signature") {
        0
    } else if name.eq_ignore_ascii_case("authorization")
        && value.len() > 10
        && value[..10].eq_ignore_ascii_case("signature ")
    {
        10
    } else {
        return None;
    };
    Some((prefix, SignatureParams::parse(&value[prefix..]).ok()?))
}

/// A vector re-signed at `now`: its `Date` moved by the vector's own offset from its clock
/// (shrunk by 10 s for accepted cases, grown by 10 s for stale ones, so that the boundary cases do
/// not race the server's clock), its surrounding whitespace kept, and every `hmac-sha256`
/// signature recomputed with `secret` over the vector's own header list, in place, so that the
/// layout of the parameters (whitespace, `Authorization` form, upper-case names) is kept.
fn resign(case: &drone_vectors::Case, now: SystemTime, secret: &str) -> Headers {
    let mut headers = case.headers.clone();
    if let Some(date) = case.header("Date") {
        let date = httpdate::parse_http_date(date.trim()).unwrap();
        let offset = match date.duration_since(case.now) {
            Ok(ahead) => ahead.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        let adjust = if case.expect == "ok" { -10 } else { 10 };
        let offset = offset + offset.signum() * adjust;
        let new_date = if offset >= 0 {
            now + Duration::from_secs(offset as u64)
        } else {
            now - Duration::from_secs(offset.unsigned_abs())
        };
        let new_date = httpdate::fmt_http_date(new_date);
        for (name, value) in &mut headers {
            if name.eq_ignore_ascii_case("date") {
                *value = value.replace(value.trim(), &new_date);
            }
        }
    }
    let map = {
        let mut builder = Request::builder();
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.body(()).unwrap().into_parts().0.headers
    };
    let method: Method = case.method.parse().unwrap();
    let uri: Uri = case.target.parse().unwrap();
    for (name, value) in &mut headers {
        let Some((_, params)) = signature_value(name, value) else {
            continue;
        };
        if params.algorithm.as_deref().unwrap_or("hmac-sha256") != "hmac-sha256" {
            continue; // refused before the MAC is looked at: only the Date is renewed
        }
        let signer = Signer::new(SharedSecret::new(secret).unwrap()).key_id(&params.key_id);
        // A vector whose listed header is absent cannot be signed: it fails before the MAC anyway.
        if let Ok(fresh) = signer.sign(&method, &uri, &map, params.headers.as_deref().unwrap()) {
            *value = value.replacen(&params.signature, &fresh.signature, 1);
        }
    }
    headers
}

/// The layer for a vector's policy preset and secret.
fn vector_layer(case: &drone_vectors::Case) -> VerifySignatureLayer {
    let kind = match case.policy.as_str() {
        "drone-extension:admission" => ExtensionKind::Admission,
        "drone-extension:secret" => ExtensionKind::Secret,
        "drone-webhook" => ExtensionKind::Webhook,
        other => panic!("unknown policy {other}"),
    };
    VerifySignatureLayer::for_kind(kind, SharedSecret::new(&case.secret).unwrap())
}

/// A generic rejection: the status, the exact plain-text body, the challenge on 401, and nothing
/// secret in the body.
fn assert_rejected(reply: &Reply, status: u16, text: &str, what: &str) {
    assert_eq!(reply.status(), status, "{what}: {reply:?}");
    assert_eq!(reply.text(), text, "{what}");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
    assert_eq!(
        reply.header("www-authenticate"),
        (status == 401).then_some("Signature"),
        "{what}"
    );
    assert!(reply.header(KEY_ID_HEADER).is_none(), "{what}");
}

fn assert_echoed(reply: &Reply, body: &[u8], what: &str) {
    assert_eq!(reply.status(), 200, "{what}: {reply:?}");
    assert_eq!(reply.header(KEY_ID_HEADER), Some("hmac-key"), "{what}");
    assert_eq!(reply.body.len(), body.len(), "{what}: echoed length");
    assert!(reply.body == body, "{what}: the echoed body differs");
}

// ---------------------------------------------------------------------------------------------
// A seeded PRNG (xorshift64)
// ---------------------------------------------------------------------------------------------

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Vectors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn positive_vectors_resigned_now_are_echoed_exactly() {
    let positives: Vec<_> = drone_vectors::cases()
        .into_iter()
        .filter(|c| c.expect == "ok")
        .collect();
    assert_eq!(positives.len(), 12, "every positive vector is sent");
    for case in &positives {
        let headers = resign(case, SystemTime::now(), &case.secret);
        for server in BOTH {
            let addr = start(server, vector_layer(case)).await;
            let reply = post_whole(addr, &headers, case.body.as_bytes()).await;
            assert_echoed(
                &reply,
                case.body.as_bytes(),
                &format!("{} {server:?}", case.id),
            );
        }
    }
}

#[tokio::test]
async fn negative_vectors_resigned_now_get_generic_rejections() {
    // (vector, secret it is re-signed with, status, body)
    let negatives = [
        ("no-signature", SECRET, 401, "Missing signature\n"),
        (
            "two-signature-headers",
            SECRET,
            400,
            "Malformed signature\n",
        ),
        ("hmac-sha1", SECRET, 401, "Invalid signature\n"),
        ("wrong-secret", OTHER_SECRET, 401, "Invalid signature\n"),
        ("body-replaced", SECRET, 401, "Invalid signature\n"),
        ("digest-two-sha256", SECRET, 400, "Malformed digest\n"),
        ("stale-date", SECRET, 401, "Invalid signature\n"),
        ("wrong-media-type", SECRET, 401, "Invalid signature\n"),
        ("signed-header-absent", SECRET, 401, "Invalid signature\n"),
    ];
    for (id, secret, status, text) in negatives {
        let case = drone_vectors::case(id);
        // Served by the admission layer with SECRET; the vector is re-signed with `secret`.
        assert_eq!(case.policy, "drone-extension:admission", "{id}");
        let now = SystemTime::now();
        let headers = resign(&case, now, secret);
        // The MAC the server would compute over these headers with its own secret.
        let expected_mac = resign(&case, now, SECRET)
            .iter()
            .find_map(|(n, v)| signature_value(n, v))
            .map(|(_, params)| params.signature);
        for server in BOTH {
            let addr = start(server, admission_layer()).await;
            let reply = post_whole(addr, &headers, case.body.as_bytes()).await;
            let what = format!("{id} {server:?}");
            assert_rejected(&reply, status, text, &what);
            let body = reply.text();
            assert!(
                !body.contains(SECRET) && !body.contains(OTHER_SECRET),
                "{what}"
            );
            if let Some(mac) = &expected_mac {
                assert!(!body.contains(mac.as_str()), "{what}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Body limits and deadlines
// ---------------------------------------------------------------------------------------------

/// B-50: a declared `Content-Length` above the limit is refused before any body byte is sent.
#[tokio::test]
async fn b50_declared_length_over_the_limit_is_413_before_the_body() {
    for server in BOTH {
        let addr = start(server, admission_layer().body_limit(64 * KIB)).await;
        // Signed over a small body: the body is never looked at.
        let headers = with_length(&signed(b"{}"), 10 * MIB);
        let reply = post(addr, &headers, Vec::new()).await;
        assert_rejected(&reply, 413, "Payload too large\n", &format!("{server:?}"));
        assert_eq!(reply.pieces_sent, 0);
        bounds::assert_ends_within(&format!("{reply:?}"), reply.elapsed, Duration::ZERO);
    }
}

/// B-51: a chunked body that grows past the limit is refused as soon as it does.
#[tokio::test]
async fn b51_chunked_body_growing_past_the_limit_is_413() {
    for server in BOTH {
        let addr = start(server, admission_layer().body_limit(64 * KIB)).await;
        let body = vec![b'y'; 80 * KIB];
        let headers = with_chunked(&signed(&body));
        // Five 16 KiB chunks (80 KiB > 64 KiB), then the sender stalls without the last chunk:
        // only the limit can end the request (the idle timeout is 10 s, the deadline 30 s).
        let parts: Vec<&[u8]> = body.chunks(16 * KIB).collect();
        let reply = post(
            addr,
            &headers,
            chunked(&parts, Duration::from_millis(20), false),
        )
        .await;
        assert_rejected(&reply, 413, "Payload too large\n", &format!("{server:?}"));
        // 413, not the idle timeout's 408: ended by the limit.
        bounds::assert_ends_within(&format!("{reply:?}"), reply.elapsed, Duration::ZERO);
        // Not before the limit was passed.
        assert!(reply.pieces_sent >= 4, "{reply:?}");
    }
}

/// B-52: a body trickled at 1 byte/s is never idle for the idle timeout, and is cut by the total
/// deadline.
#[tokio::test]
async fn b52_trickled_body_hits_the_total_deadline_408() {
    let run = |server| async move {
        let layer = admission_layer()
            .body_deadline(Duration::from_secs(3))
            .idle_timeout(Duration::from_secs(2));
        let addr = start(server, layer).await;
        let body = vec![b'z'; 100];
        let headers = with_length(&signed(&body), body.len());
        let reply = post(addr, &headers, trickle(&body, Duration::from_secs(1))).await;
        assert_rejected(&reply, 408, "Request timeout\n", &format!("{server:?}"));
        let what = format!("{server:?}: {reply:?}");
        bounds::assert_not_before(&what, reply.elapsed, Duration::from_millis(2500));
        bounds::assert_ends_within(&what, reply.elapsed, Duration::from_secs(3));
        // The body was moving: the idle timeout alone would not have fired.
        assert!(reply.pieces_sent >= 2, "{reply:?}");
    };
    tokio::join!(run(Server::Axum), run(Server::Hyper));
}

/// B-53: fewer bytes than the declared length, then silence: the idle timeout answers.
#[tokio::test]
async fn b53_short_body_then_stall_is_408() {
    let run = |server| async move {
        let addr = start(
            server,
            admission_layer().idle_timeout(Duration::from_secs(1)),
        )
        .await;
        let body = vec![b'w'; 100];
        let headers = with_length(&signed(&body), body.len());
        let reply = post(addr, &headers, whole(&body[..10])).await;
        assert_rejected(&reply, 408, "Request timeout\n", &format!("{server:?}"));
        let what = format!("{server:?}: {reply:?}");
        bounds::assert_not_before(&what, reply.elapsed, Duration::from_millis(900));
        bounds::assert_ends_within(&what, reply.elapsed, Duration::from_secs(1));
    };
    tokio::join!(run(Server::Axum), run(Server::Hyper));
}

/// B-56: a bad signature is answered from the head alone, even with a huge declared body, and
/// before the length check (401, not 413).
#[tokio::test]
async fn b56_bad_signature_with_huge_body_is_401_without_the_body() {
    for server in BOTH {
        let addr = start(server, admission_layer()).await;
        let headers = with_length(&signed_with(OTHER_SECRET, b"{}"), 100 * MIB);
        let reply = post(addr, &headers, Vec::new()).await;
        assert_rejected(&reply, 401, "Invalid signature\n", &format!("{server:?}"));
        assert_eq!(reply.pieces_sent, 0);
        bounds::assert_ends_within(&format!("{reply:?}"), reply.elapsed, Duration::ZERO);
    }
}

/// B-57: 64 distinct validly signed uploads trickling in do not keep a valid request from being
/// served. (Byte-identical copies of one upload are refused with 409 while the first is still
/// arriving: `tests/layer_hardening.rs`.)
#[tokio::test]
async fn b57_slow_uploads_do_not_block_a_valid_request() {
    let run = |server| async move {
        let addr = start(server, admission_layer()).await;
        let slow: Vec<_> = (0..64u8)
            .map(|i| {
                let mut slow_body = vec![b's'; 1000];
                slow_body[0] = i; // a distinct body, so a distinct signature
                let slow_headers = with_length(&signed(&slow_body), slow_body.len());
                let pieces = trickle(&slow_body, Duration::from_millis(250));
                let head = request_head("POST", "/", &slow_headers);
                tokio::spawn(exchange(addr, head, pieces))
            })
            .collect();
        sleep(Duration::from_millis(300)).await; // every slow body is being read by now

        let body = br#"{"event":"login"}"#;
        let started = Instant::now();
        let reply = post_whole(addr, &signed(body), body).await;
        let took = started.elapsed();
        assert_echoed(&reply, body, &format!("{server:?}"));
        // The slow uploads never end: a request stuck behind them would hang.
        bounds::assert_ends_within(
            &format!("{server:?}: a valid request"),
            took,
            Duration::ZERO,
        );
        assert!(
            slow.iter().all(|s| !s.is_finished()),
            "{server:?}: the slow uploads are still open"
        );
        for s in slow {
            s.abort();
        }
    };
    tokio::join!(run(Server::Axum), run(Server::Hyper));
}

// ---------------------------------------------------------------------------------------------
// hyper's own limits, in front of the layer
// ---------------------------------------------------------------------------------------------

/// B-54: headers trickling in. hyper's `header_read_timeout` (1 s here) closes the connection
/// without any response: hyper 1.x sends an automatic response only for parse errors (400, 431,
/// 414; `role::Server::on_error`), and a header timeout is not one, so the client reads EOF with
/// zero bytes about 1 s after the first byte.
#[tokio::test]
async fn b54_slow_headers_are_cut_by_hyper_header_read_timeout() {
    let addr = start(Server::Hyper, admission_layer()).await;
    let rest = b"X-Slowloris: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let reply = exchange(
        addr,
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_vec(),
        trickle(rest, Duration::from_millis(200)),
    )
    .await;
    assert!(reply.raw.is_empty(), "no response at all: {reply:?}");
    assert!(reply.status.is_none());
    let what = format!("closed by the 1 s header timeout: {reply:?}");
    bounds::assert_not_before(&what, reply.elapsed, Duration::from_millis(900));
    bounds::assert_ends_within(&what, reply.elapsed, Duration::from_secs(1));
    // Closed long before the head was complete.
    assert!(reply.pieces_sent < rest.len() - 2, "{reply:?}");
}

/// B-55: more than 100 header fields. hyper answers 431 with an empty body before the layer runs
/// (no `WWW-Authenticate`, none of the layer's texts); 99 fields pass.
#[tokio::test]
async fn b55_more_than_100_headers_is_431_from_hyper() {
    let body = br#"{"event":"login"}"#;
    for server in BOTH {
        let addr = start(server, admission_layer()).await;
        // Host, Connection, Content-Length and the 6 signed-request headers: 9, plus fillers.
        let base = with_length(&signed(body), body.len());
        let fill = |n: usize| {
            let mut headers = base.clone();
            headers.extend((0..n).map(|i| (format!("X-Filler-{i}"), "v".to_owned())));
            headers
        };
        let reply = post(addr, &fill(120), whole(body)).await;
        assert_eq!(reply.status(), 431, "{server:?}: {reply:?}");
        assert_eq!(reply.header("content-length"), Some("0"), "{server:?}");
        assert!(reply.body.is_empty(), "{server:?}: {reply:?}");
        assert!(reply.header("www-authenticate").is_none());

        let reply = post(addr, &fill(100 - 9), whole(body)).await;
        assert_echoed(&reply, body, &format!("{server:?} with 100 headers"));
    }
}

// ---------------------------------------------------------------------------------------------
// Replays, exact bodies, routing
// ---------------------------------------------------------------------------------------------

/// B-48: a verbatim replay is accepted by default, refused once with a replay guard.
#[tokio::test]
async fn b48_replay_is_accepted_by_default_and_refused_by_the_guard() {
    let body = br#"{"event":"login","user":{"login":"octocat"}}"#;
    for server in BOTH {
        let headers = signed(body);
        let addr = start(server, admission_layer()).await;
        for attempt in 1..=2 {
            let reply = post_whole(addr, &headers, body).await;
            assert_echoed(
                &reply,
                body,
                &format!("{server:?} default, attempt {attempt}"),
            );
        }

        let guarded = admission_layer().replay_guard(MemoryReplayGuard::default());
        let addr = start(server, guarded).await;
        let reply = post_whole(addr, &headers, body).await;
        assert_echoed(&reply, body, &format!("{server:?} guarded, first"));
        let reply = post_whole(addr, &headers, body).await;
        assert_rejected(
            &reply,
            401,
            "Invalid signature\n",
            &format!("{server:?} replay"),
        );
        // Another request (another body, so another MAC) still passes.
        let other = br#"{"event":"register"}"#;
        let reply = post_whole(addr, &signed(other), other).await;
        assert_echoed(&reply, other, &format!("{server:?} guarded, other"));
    }
}

/// The handler gets the signed bytes exactly, sent whole or chunked at random split points.
#[tokio::test]
async fn handler_receives_exactly_the_signed_bytes() {
    let mut rng = XorShift(0x5eed_d20e_ca11_ab1e);
    let sizes = [0, 1, KIB, 64 * KIB, MIB, 3 * MIB];
    for server in BOTH {
        let addr = start(server, admission_layer()).await;
        for size in sizes {
            let body = rng.bytes(size);
            let headers = signed(&body);

            let reply = post_whole(addr, &headers, &body).await;
            assert_echoed(&reply, &body, &format!("{server:?} {size} B whole"));

            let mut cuts: Vec<usize> = (0..rng.below(12) + 1)
                .map(|_| rng.below(size + 1))
                .collect();
            cuts.extend([0, size]);
            cuts.sort_unstable();
            cuts.dedup();
            let parts: Vec<&[u8]> = cuts.windows(2).map(|w| &body[w[0]..w[1]]).collect();
            let reply = post(
                addr,
                &with_chunked(&headers),
                chunked(&parts, Duration::ZERO, true),
            )
            .await;
            assert_echoed(
                &reply,
                &body,
                &format!("{server:?} {size} B in {} chunks", parts.len()),
            );
        }
    }
}

/// `route_layer` guards the routes registered before it and nothing else.
#[tokio::test]
async fn route_layer_leaves_other_routes_and_unknown_paths_alone() {
    let addr = start(Server::Axum, admission_layer()).await;

    let reply = exchange(
        addr,
        request_head("GET", "/healthz", &Vec::new()),
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status(), 200, "{reply:?}");
    assert_eq!(reply.text(), "ok");

    let unsigned = with_length(&Vec::new(), 2);
    let reply = exchange(addr, request_head("POST", "/nope", &unsigned), whole(b"{}")).await;
    assert_eq!(reply.status(), 404, "{reply:?}");
    assert!(reply.header("www-authenticate").is_none());

    // The guarded route itself refuses the same unsigned request.
    let reply = post(addr, &unsigned, whole(b"{}")).await;
    assert_rejected(&reply, 401, "Missing signature\n", "unsigned POST /");
}

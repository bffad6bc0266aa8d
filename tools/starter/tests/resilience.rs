//! The starter when the world around it misbehaves: a stdout nobody reads, a Redis that stalls
//! or goes away, a caller that asks for aesgcm.
//!
//! Each test runs the starter as a child process on 127.0.0.1 (against a real `redis-server`
//! where it needs one: without it the test prints SKIPPED, and fails under `CI`). Only what
//! would otherwise hang is bounded in time, with wide margins; what was measured is printed.
//! Floods are bounded in count.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use drone_extension::ExtensionKind;
#[cfg(feature = "redis")]
use drone_extension::client::RawResponse;
use http::StatusCode;
use support::http::get;
#[cfg(any(feature = "redis", feature = "aesgcm"))]
use support::process::Server;
use support::process::{SECRET, STARTUP, client, command, exit_within, listening_addr, signal};
use support::requests::{admission, push, secret_request};
use support::sign::Captured;
use tokio::task::JoinSet;

const STARTER: &str = env!("CARGO_BIN_EXE_drone-extension-starter");

/// The tests start processes that measure nothing but would compete for the two cores: one at
/// a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a state change polled for may take before the test calls it a hang (expected within
/// about 1.5 s: a `PING` every second, each bounded by 500 ms).
const SETTLE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The value of the sample `name` (no labels) in the starter's `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> Option<u64> {
    let (status, text) = get(addr, "/metrics").await;
    assert_eq!(status, StatusCode::OK, "/metrics");
    text.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

// ---------------------------------------------------------------------------------------------
// A stdout nobody reads
// ---------------------------------------------------------------------------------------------

/// The starter with its stdout a pipe that the test stops reading after the `listening` line
/// (the pipe stays open: its reading end is held, never read). Stderr is read to the end.
struct StuckStarter {
    child: Child,
    addr: SocketAddr,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
}

impl StuckStarter {
    fn start(env: &[(&str, &str)]) -> StuckStarter {
        let mut child = command(STARTER, &[], env)
            .spawn()
            .expect("the starter starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            collected.lock().unwrap().push_str(&text);
        });
        let stdout = child.stdout.take().unwrap();
        let (found, listening) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                if matches!(reader.read_line(&mut line), Ok(0) | Err(_)) {
                    return;
                }
                if let Some(addr) = listening_addr(&line) {
                    // From here on nobody reads it.
                    let _ = found.send((addr, reader));
                    return;
                }
            }
        });
        let Ok((addr, reader)) = listening.recv_timeout(STARTUP) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the starter did not log its address within {STARTUP:?}");
        };
        StuckStarter {
            child,
            addr,
            stdout: Some(reader),
            stderr,
        }
    }

    /// Sends requests signed with a wrong secret (each refused with 401 and one warning line of
    /// about 300 bytes) from 8 connections, 512 at a time, until the starter reports dropped log
    /// lines: the pipe (64 KiB) and the log's buffers (2 MiB) are full. At most 40 960 requests;
    /// each must be answered within the client's 10 s (answers take milliseconds). Returns how many were sent.
    async fn flood_until_lines_dropped(&self) -> usize {
        let refused = Arc::new(
            Captured::drone(
                ExtensionKind::Secret,
                "not-the-shared-secret-0123456789",
                &secret_request("docker_password", push()),
            )
            .await,
        );
        let mut sent = 0;
        for _ in 0..80 {
            let mut senders = JoinSet::new();
            for _ in 0..8 {
                let (refused, addr) = (refused.clone(), self.addr);
                senders.spawn(async move {
                    // One connection, kept alive. The flood only fills the log; what it must not
                    // stall is checked after it. A connection that fails under the flood (seen
                    // as `client error (Connect)` on a loaded machine) is replaced, a few times.
                    let mut connection = client(addr, "/secret", SECRET);
                    let mut reconnects = 0;
                    for _ in 0..64 {
                        match connection.send(refused.request(addr)).await {
                            Ok(raw) => assert_eq!(raw.status, StatusCode::UNAUTHORIZED),
                            Err(e) if reconnects < 8 => {
                                reconnects += 1;
                                eprintln!("flood: {e}; a new connection");
                                connection = client(addr, "/secret", SECRET);
                            }
                            Err(e) => {
                                panic!("POST /secret: {e} (after {reconnects} new connections)")
                            }
                        }
                    }
                });
            }
            while let Some(done) = senders.join_next().await {
                done.unwrap();
            }
            sent += 512;
            if metric(self.addr, "drone_extension_log_lines_dropped_total")
                .await
                .expect("the starter's /metrics has drone_extension_log_lines_dropped_total")
                > 0
            {
                return sent;
            }
        }
        panic!("no log line dropped after {sent} refused requests with stdout unread");
    }
}

impl Drop for StuckStarter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_stdout_stalls_no_request_and_sigterm_still_ends_the_process() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut starter = StuckStarter::start(&[("DRONE_DRAIN_TIMEOUT", "3")]);
    // Before the fix, ~400 of these filled the pipe, and then every request (these too) hung.
    let sent = starter.flood_until_lines_dropped().await;
    let dropped = metric(starter.addr, "drone_extension_log_lines_dropped_total")
        .await
        .unwrap();
    println!("{sent} refused requests with stdout unread: {dropped} log lines dropped");

    // Still serving: liveness, readiness, and a signed request.
    assert_eq!(get(starter.addr, "/healthz").await.0, StatusCode::OK);
    assert_eq!(
        get(starter.addr, "/readyz").await,
        (StatusCode::OK, "ready".into())
    );
    let admitted = Captured::drone(ExtensionKind::Admission, SECRET, &admission("octocat"))
        .await
        .send(starter.addr)
        .await;
    assert_eq!(
        admitted.status,
        StatusCode::OK,
        "a signed request is served"
    );

    // SIGTERM ends the process whatever stdout does: the drain (3 s at most, nothing in flight
    // here) and at most 0.5 s for the log. 30 s is a hang bound.
    signal(&starter.child, "-TERM");
    let exit = exit_within(&mut starter.child, Duration::from_secs(30));
    let stderr = starter.stderr.lock().unwrap().clone();
    let Some((status, took)) = exit else {
        panic!("alive 30 s after SIGTERM with stdout unread (DRONE_DRAIN_TIMEOUT=3)\n{stderr}");
    };
    println!("SIGTERM with stdout unread: exited in {took:?} ({status})");
    assert!(status.success(), "{status}\n{stderr}");
    drop(starter.stdout.take());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_stdout_is_read_again_one_warning_counts_the_dropped_lines() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut starter = StuckStarter::start(&[]);
    starter.flood_until_lines_dropped().await;
    // Nothing is logged from here on but the warning: the count is final.
    let dropped = metric(starter.addr, "drone_extension_log_lines_dropped_total")
        .await
        .unwrap();

    // The log reader resumes.
    let read = Arc::new(Mutex::new(String::new()));
    let mut stdout = starter.stdout.take().unwrap();
    let collected = read.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            if matches!(stdout.read_line(&mut line), Ok(0) | Err(_)) {
                return;
            }
            collected.lock().unwrap().push_str(&line);
        }
    });
    let started = Instant::now();
    let warnings = loop {
        let text = read.lock().unwrap().clone();
        let warnings: Vec<String> = text
            .lines()
            .filter(|line| line.contains("log lines dropped"))
            .map(str::to_owned)
            .collect();
        if !warnings.is_empty() {
            break warnings;
        }
        assert!(
            started.elapsed() < SETTLE,
            "no warning within {SETTLE:?} of reading stdout again ({} bytes read)",
            text.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("warning {:?} after {:?}", warnings, started.elapsed());
    assert_eq!(
        warnings.len(),
        1,
        "one warning, not one per line: {warnings:#?}"
    );
    let counted: u64 = warnings[0]
        .split_whitespace()
        .find_map(|field| field.strip_prefix("dropped=")?.parse().ok())
        .unwrap_or_else(|| panic!("no dropped= in {:?}", warnings[0]));
    assert_eq!(
        counted, dropped,
        "the warning counts what the metric counts"
    );
    // Every line that made it is whole.
    let text = read.lock().unwrap().clone();
    assert!(
        text.lines().all(|line| line.starts_with("20")),
        "a line cut or mixed:\n{}",
        text.lines()
            .find(|line| !line.starts_with("20"))
            .unwrap_or_default()
    );
    let _ = starter.child.kill();
}

// ---------------------------------------------------------------------------------------------
// Readiness and the replay guard, against a real Redis
// ---------------------------------------------------------------------------------------------

/// Polls `/readyz` until it answers `want`: how long that took; panics after [`SETTLE`].
#[cfg(feature = "redis")]
async fn readyz_turns(addr: SocketAddr, want: StatusCode, why: &str) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = get(addr, "/readyz").await;
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < SETTLE,
            "/readyz still {status} {body:?} {SETTLE:?} after {why} (wanted {want})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_redis_is_down_or_stalled_and_200_again_after() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(mut redis) = support::redis::Redis::start() else {
        return;
    };
    let starter = Server::start(STARTER, &[("DRONE_REPLAY_GUARD", &redis.url())]);
    readyz_turns(starter.addr, StatusCode::OK, "start").await;

    redis.freeze();
    let took = readyz_turns(starter.addr, StatusCode::SERVICE_UNAVAILABLE, "SIGSTOP").await;
    println!("/readyz 503 {took:?} after Redis was stopped (SIGSTOP)");
    assert_eq!(
        get(starter.addr, "/readyz").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "replay guard unavailable".into()
        )
    );
    // Liveness is not readiness: the process is alive.
    assert_eq!(get(starter.addr, "/healthz").await.0, StatusCode::OK);
    redis.thaw();
    let took = readyz_turns(starter.addr, StatusCode::OK, "SIGCONT").await;
    println!("/readyz 200 {took:?} after Redis resumed (SIGCONT)");

    redis.stop();
    let took = readyz_turns(starter.addr, StatusCode::SERVICE_UNAVAILABLE, "kill").await;
    println!("/readyz 503 {took:?} after Redis was killed");
    assert!(redis.resume(), "redis-server restarts on its port");
    let took = readyz_turns(starter.addr, StatusCode::OK, "restart").await;
    println!("/readyz 200 {took:?} after Redis restarted");
    assert!(
        starter
            .log()
            .contains("replay guard: Redis does not answer")
    );
}

/// Sends `request` to `addr` until it is not refused for want of Redis (`503`); panics after
/// [`SETTLE`].
#[cfg(feature = "redis")]
async fn send_until_the_guard_answers(request: &Captured, addr: SocketAddr) -> RawResponse {
    let started = Instant::now();
    loop {
        let answer = request.send(addr).await;
        if answer.status != StatusCode::SERVICE_UNAVAILABLE {
            return answer;
        }
        assert!(
            started.elapsed() < SETTLE,
            "still 503 {SETTLE:?} after Redis resumed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The release markers the guard left in Redis (`…:released:<token>`).
#[cfg(feature = "redis")]
fn release_markers(redis: &support::redis::Redis) -> usize {
    redis.count_keys("drone-extension:replay:released:*")
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_while_redis_stalled_leaves_no_claim_and_its_retry_is_served() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(redis) = support::redis::Redis::start() else {
        return;
    };
    let url = redis.url();
    let first = Server::start(STARTER, &[("DRONE_REPLAY_GUARD", &url)]);
    let second = Server::start(STARTER, &[("DRONE_REPLAY_GUARD", &url)]);
    // Each replica's connection to Redis is made (on first use), so that what it sends while
    // Redis is stopped waits in Redis' socket buffers.
    for (n, replica) in [&first, &second].into_iter().enumerate() {
        let warm_up = admission(&format!("warm-up-{n}"));
        let warm_up = Captured::drone(ExtensionKind::Admission, SECRET, &warm_up).await;
        assert_eq!(warm_up.send(replica.addr).await.status, StatusCode::OK);
    }

    // Retried at the same replica.
    let request = Captured::drone(ExtensionKind::Admission, SECRET, &admission("stalled")).await;
    redis.freeze();
    let refused = request.send(first.addr).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "Redis stalled"
    );
    redis.thaw(); // Redis now runs the claim it received while stopped.
    let retried = send_until_the_guard_answers(&request, first.addr).await;
    assert_eq!(
        retried.status,
        StatusCode::OK,
        "the retry of a request refused with 503 is served, not refused as a replay: {:?}",
        String::from_utf8_lossy(&retried.body)
    );
    // The guard works as before: the served answer keeps its claim, at every replica.
    assert_eq!(
        request.send(second.addr).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        request.send(first.addr).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Retried at the other replica: the first releases its claim by itself once Redis answers.
    let markers = release_markers(&redis);
    let request =
        Captured::drone(ExtensionKind::Admission, SECRET, &admission("stalled-too")).await;
    redis.freeze();
    assert_eq!(
        request.send(first.addr).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    redis.thaw();
    let started = Instant::now();
    while release_markers(&redis) <= markers {
        assert!(
            started.elapsed() < SETTLE,
            "the refused claim was not released within {SETTLE:?} of Redis resuming"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("claim released {:?} after Redis resumed", started.elapsed());
    assert_eq!(request.send(second.addr).await.status, StatusCode::OK);
    assert_eq!(
        request.send(first.addr).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ---------------------------------------------------------------------------------------------
// aesgcm, as drone-go does it
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "aesgcm")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aesgcm_is_answered_encrypted_with_a_32_byte_secret_and_plain_with_a_short_one() {
    let _one = ONE_AT_A_TIME.lock().await;
    let policy = std::env::temp_dir().join(format!("starter-aesgcm-{}.toml", std::process::id()));
    std::fs::write(
        &policy,
        r#"
[[secrets]]
name = "docker_password"
value = "correct-horse-battery-staple"
repos = ["octocat/*"]
events = ["push"]
"#,
    )
    .unwrap();
    let policy_path = policy.to_str().unwrap();
    let request = secret_request("docker_password", push());

    assert_eq!(SECRET.len(), 32);
    let starter = Server::start(STARTER, &[("DRONE_CONFIG", policy_path)]);
    let secret = client(starter.addr, "/secret", SECRET);
    let plain = secret.call(ExtensionKind::Secret, &request).await.unwrap();
    assert_eq!(plain.status, StatusCode::OK);
    let found: serde_json::Value = serde_json::from_slice(&plain.body).unwrap();
    assert_eq!(found["data"], "correct-horse-battery-staple", "{found}");
    let sealed = secret
        .request_aesgcm(true)
        .call(ExtensionKind::Secret, &request)
        .await
        .unwrap();
    assert_eq!(
        sealed.status,
        StatusCode::OK,
        "{:?}",
        String::from_utf8_lossy(&sealed.body)
    );
    assert_eq!(sealed.headers["content-encoding"], "aesgcm");
    assert_eq!(sealed.headers["content-type"], "application/octet-stream");
    // The client decrypted it with the shared secret (drone-go's key): the same JSON.
    assert_eq!(sealed.body, plain.body);

    // A 16-byte secret cannot key AES-256: plain JSON, no error, and a warning at start.
    let short = "0123456789abcdef";
    let starter = Server::start(
        STARTER,
        &[("DRONE_CONFIG", policy_path), ("DRONE_SECRET", short)],
    );
    let answer = client(starter.addr, "/secret", short)
        .request_aesgcm(true)
        .call(ExtensionKind::Secret, &request)
        .await
        .unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert!(!answer.headers.contains_key("content-encoding"));
    assert_eq!(answer.body, plain.body);
    assert!(starter.log().contains("shorter than 32 bytes"));
    let _ = std::fs::remove_file(&policy);
}

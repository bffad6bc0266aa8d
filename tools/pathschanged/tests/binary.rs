//! The binary: configuration mistakes refuse to start (naming the variable and the expected
//! form), a misspelled variable is warned about, and a started binary answers `/healthz`, refuses
//! an unsigned conversion and keeps a configuration without `paths` conditions (204).

use support::process::{Server, command};

const BIN: &str = env!("CARGO_BIN_EXE_drone-extension-pathschanged");

/// Runs the binary with `env` until it exits (it must, within a generous bound); its output.
fn refused(env: &[(&str, &str)]) -> String {
    let output = command(BIN, &[], env).output().expect("the binary runs");
    assert!(!output.status.success(), "refused to start: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout)
}

/// An environment, and the words its refusal must name.
type Mistake = (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

#[test]
fn configuration_mistakes_refuse_to_start_with_the_expected_form() {
    let cases: [Mistake; 5] = [
        (
            &[("PATHSCHANGED_ON_FAILURE", "eror")],
            &["PATHSCHANGED_ON_FAILURE", "run", "error"],
        ),
        (
            &[("PATHSCHANGED_TIMEOUT", "5sec")],
            &["PATHSCHANGED_TIMEOUT", "30s"],
        ),
        (
            &[("PATHSCHANGED_USERNAME", "ci")],
            &["PATHSCHANGED_PASSWORD"],
        ),
        (&[("DRONE_SECRET", "")], &["DRONE_SECRET"]),
        // The misspelling is named even though the start fails: it is why the secret is missing.
        (
            &[("DRONE_SECRET", ""), ("DRONE_SECRT", "x")],
            &["DRONE_SECRT", "DRONE_SECRET"],
        ),
    ];
    for (env, expected) in cases {
        let text = refused(env);
        for word in expected {
            assert!(text.contains(word), "{env:?}: {word} named in:\n{text}");
        }
    }
}

#[test]
fn a_started_binary_serves_and_warns_about_a_misspelled_variable() {
    let cache = std::env::temp_dir().join(format!("pathschanged-bin-{}", std::process::id()));
    let cache_dir = cache.to_str().unwrap().to_owned();
    let server = Server::start(
        BIN,
        &[
            ("PATHSCHANGED_CACHE_DIR", cache_dir.as_str()),
            ("PATHSCHANGED_ALLOWED_HOST", "git.example.com"),
        ],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (status, _) = support::http::get(server.addr, "/healthz").await;
        assert_eq!(status, 200);
        let unsigned = http::Request::post("/convert")
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
            .unwrap();
        let (status, _) = support::http::send(server.addr, unsigned).await;
        assert_eq!(status, 401, "an unsigned conversion is refused");

        // Readiness, and the log's dropped lines among the metrics (the bounded writer).
        let (status, body) = support::http::get(server.addr, "/readyz").await;
        assert_eq!((status.as_u16(), body.as_str()), (200, "ready\n"));
        let (status, metrics) = support::http::get(server.addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(
            metrics.contains("drone_extension_log_lines_dropped_total 0"),
            "{metrics}"
        );

        // The cache directory replaced by a file: nothing can be fetched, and readiness says so
        // (checked every 5 s in the background); then it recovers.
        let _ = std::fs::remove_dir_all(&cache);
        std::fs::write(&cache, "not a directory").unwrap();
        let (status, body) = readyz_until(server.addr, 503).await;
        assert_eq!(
            (status.as_u16(), body.as_str()),
            (503, "the cache directory is not writable\n")
        );
        std::fs::remove_file(&cache).unwrap();
        assert_eq!(readyz_until(server.addr, 200).await.0, 200);
    });
    let log = server.log();
    assert!(
        log.contains("PATHSCHANGED_ALLOWED_HOST") && log.contains("PATHSCHANGED_ALLOWED_HOSTS"),
        "the misspelling is named with its correction:\n{log}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&cache);
}

/// `/readyz` polled until it answers `status` (a background check every 5 s: 60 s is a hang).
async fn readyz_until(addr: std::net::SocketAddr, status: u16) -> (http::StatusCode, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let answer = support::http::get(addr, "/readyz").await;
        if answer.0 == status || std::time::Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

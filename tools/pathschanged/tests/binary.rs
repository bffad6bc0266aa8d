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
    let cases: [Mistake; 4] = [
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
    });
    let log = server.log();
    assert!(
        log.contains("PATHSCHANGED_ALLOWED_HOST") && log.contains("PATHSCHANGED_ALLOWED_HOSTS"),
        "the misspelling is named with its correction:\n{log}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&cache);
}

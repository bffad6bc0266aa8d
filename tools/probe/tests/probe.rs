//! The probe (`drone-extension-probe`) run as a user runs it, against servers in this process:
//! its audit grades each answer (a lax server fails, a hardening gap warns), its output shows the
//! answer byte for byte, its samples parse, it speaks https with `--ca` or `--insecure`, and bad
//! input is reported without a panic. Its audits of the binaries are their own tests.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use drone_extension::ExtensionKind;
use drone_extension::signature::SIGNATURE;
use support::SECRET;
use support::process::{Probe, Run};

const PROBE: &str = env!("CARGO_BIN_EXE_drone-extension-probe");

/// Runs the probe to completion.
async fn probe(args: &[&str]) -> Run {
    Probe::at(PROBE).run(args).await
}

async fn audit(kind: ExtensionKind, url: &str, secret: &str) -> Run {
    Probe::at(PROBE).audit(kind.name(), url, secret).await
}

#[tokio::test]
async fn the_probe_audit_fails_against_a_lax_server() {
    // Answers `200 {}` to anything, signed or not.
    let app = axum::Router::new()
        .fallback(|| async { ([(http::header::CONTENT_TYPE, "application/json")], "{}") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let run = audit(
        ExtensionKind::Secret,
        &format!("http://{addr}/secret"),
        SECRET,
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert!(run.stdout.contains("valid request"), "{run}");
    // Every forgery but the oversize body, which the server may answer before or after the
    // client has sent it all (a connection closed mid-body reads as refused).
    assert!(run.verdicts("FORGERY ACCEPTED") >= 11, "{run}");
    for row in [
        "unsigned",
        "wrong secret",
        "body tampered",
        "stale Date",
        "digest mismatch",
    ] {
        assert_eq!(run.verdict(row), "FORGERY ACCEPTED", "{row}: {run}");
    }
    assert_eq!(run.verdicts("hardening: accepted"), 4, "{run}");
    assert!(run.stdout.contains("FAILED"), "{run}");
    server.abort();
}

#[tokio::test]
async fn the_probe_reports_bad_input_without_panicking() {
    let unreachable = "http://127.0.0.1:1/secret";
    let cases: [&[&str]; 8] = [
        &[
            "send",
            "secrets",
            "--endpoint",
            unreachable,
            "--secret",
            SECRET,
        ],
        &[
            "send",
            "secret",
            "--endpoint",
            "not a url",
            "--secret",
            SECRET,
        ],
        &[
            "send",
            "secret",
            "--endpoint",
            "ftp://127.0.0.1:1/",
            "--secret",
            SECRET,
        ],
        &[
            "send",
            "secret",
            "--endpoint",
            unreachable,
            "--secret",
            SECRET,
        ],
        &[
            "send",
            "secret",
            "--endpoint",
            unreachable,
            "--secret",
            SECRET,
            "--body",
            "/nonexistent/body.json",
        ],
        &[
            "audit",
            "secret",
            "--endpoint",
            unreachable,
            "--secret",
            SECRET,
            "--timeout",
            "-1",
        ],
        &[
            "audit",
            "secret",
            "--endpoint",
            "https://127.0.0.1:1/secret",
            "--secret",
            SECRET,
            "--ca",
            "/nonexistent/ca.pem",
        ],
        &["sample", "no-such-kind"],
    ];
    for args in cases {
        let run = probe(args).await;
        assert_eq!(run.status.code(), Some(2), "{args:?}: {run}");
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run}");
        assert!(
            !run.stderr.trim().is_empty(),
            "{args:?}: an explanation on stderr"
        );
    }
    let run = probe(&["send", "secret", "--endpoint", unreachable]).await;
    assert_eq!(run.status.code(), Some(2), "{run}");
    assert!(run.stderr.contains("DRONE_SECRET"), "{run}");
}

/// Serves `app` on 127.0.0.1 (plain http) until the task is aborted.
async fn serve_http(app: axum::Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

/// What Go's verifier does with ambiguous requests, before the crate's layer: keeps the first
/// value of each repeated header, and ignores `Authorization` next to `Signature`.
async fn first_values(mut request: axum::extract::Request) -> axum::extract::Request {
    let mut first = http::HeaderMap::new();
    for (name, value) in request.headers() {
        if !first.contains_key(name) {
            first.insert(name.clone(), value.clone());
        }
    }
    if first.contains_key(&SIGNATURE) {
        first.remove(http::header::AUTHORIZATION);
    }
    *request.headers_mut() = first;
    request
}

/// As [`first_values`], and also takes `hmac-sha1` for `hmac-sha256`: a real downgrade.
async fn first_values_and_any_algorithm(request: axum::extract::Request) -> axum::extract::Request {
    let mut request = first_values(request).await;
    let headers = request.headers_mut();
    if let Some(signature) = headers.get(&SIGNATURE).and_then(|v| v.to_str().ok()) {
        let rewritten = signature.replace("\"hmac-sha1\"", "\"hmac-sha256\"");
        headers.insert(SIGNATURE.clone(), rewritten.parse().unwrap());
    }
    request
}

#[tokio::test]
async fn the_audit_warns_about_hardening_and_fails_on_it_only_when_strict() {
    let app = support::secret_app().layer(axum::middleware::map_request(first_values));
    let (addr, server) = serve_http(app).await;
    let url = format!("http://{addr}/secret");

    let run = audit(ExtensionKind::Secret, &url, SECRET).await;
    assert_eq!(run.status.code(), Some(0), "{run}");
    for row in [
        "duplicate Signature header",
        "duplicate Date header",
        "duplicate Digest header",
        "Signature + Authorization",
    ] {
        assert_eq!(
            run.verdict(row),
            "hardening: accepted (warning)",
            "{row}: {run}"
        );
    }
    assert_eq!(run.verdicts("FORGERY"), 0, "{run}");
    assert!(
        run.stdout
            .contains("warning: 4 hardening check(s) accepted"),
        "{run}"
    );
    assert!(run.stdout.contains("passed"), "{run}");
    assert!(run.stdout.contains("status `-`"), "the legend: {run}");

    let strict = probe(&[
        "audit",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--strict",
    ])
    .await;
    assert_eq!(strict.status.code(), Some(1), "{strict}");
    assert!(strict.stdout.contains("FAILED (--strict)"), "{strict}");
    assert!(!strict.stdout.contains("passed"), "{strict}");
    server.abort();
}

#[tokio::test]
async fn the_audit_fails_on_a_single_real_forgery() {
    let app = support::secret_app().layer(axum::middleware::map_request(
        first_values_and_any_algorithm,
    ));
    let (addr, server) = serve_http(app).await;
    let run = audit(
        ExtensionKind::Secret,
        &format!("http://{addr}/secret"),
        SECRET,
    )
    .await;
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert_eq!(
        run.verdict("algorithm hmac-sha1"),
        "FORGERY ACCEPTED",
        "{run}"
    );
    assert_eq!(
        run.verdicts("FORGERY ACCEPTED"),
        1,
        "only the downgrade: {run}"
    );
    assert!(
        run.stdout.contains("FAILED: 1 forged request(s) ACCEPTED"),
        "{run}"
    );
    server.abort();
}

#[tokio::test]
async fn the_probe_prints_samples_that_parse() {
    for &kind in ExtensionKind::ALL {
        for pretty in [false, true] {
            let mut args = vec!["sample", kind.name()];
            if pretty {
                args.push("--pretty");
            }
            let run = probe(&args).await;
            assert_eq!(run.status.code(), Some(0), "{args:?}: {run}");
            let json: serde_json::Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|e| panic!("{args:?}: {e}: {run}"));
            assert!(json.is_object(), "{args:?}");
            assert_eq!(run.stdout.lines().count() > 1, pretty, "{args:?}");
        }
    }
    let run = probe(&["sample", "secret"]).await;
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["name"], "docker_password");
    assert_eq!(json["path"], "secret/data/docker");
    assert_eq!(json["repo"]["slug"], "octocat/hello-world");
    assert_eq!(json["build"]["event"], "push");
}

#[tokio::test]
async fn the_probe_send_shows_the_answer_byte_for_byte() {
    // Keys out of order, odd spacing, an escape: what a re-encoding would change.
    const BODY: &str =
        "{\"name\":\"docker_password\",  \"data\" : \"a\\u0041\",\"zzz\":1,\"aaa\":[ ]}\n";
    let app = axum::Router::new()
        .fallback(|| async { ([(http::header::CONTENT_TYPE, "application/json")], BODY) });
    let (addr, server) = serve_http(app).await;
    let url = format!("http://{addr}/secret");
    let output = tokio::process::Command::new(PROBE)
        .args(["send", "secret", "--endpoint", &url, "--secret", SECRET])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let expected = format!("\n\n{BODY}\nDrone's reading: ");
    let stdout = output.stdout;
    assert!(
        stdout
            .windows(expected.len())
            .any(|w| w == expected.as_bytes()),
        "{}",
        String::from_utf8_lossy(&stdout)
    );

    let run = probe(&[
        "send",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--pretty",
    ])
    .await;
    let pretty = "{\n  \"name\": \"docker_password\",\n  \"data\": \"a\\u0041\",\n  \"zzz\": 1,\n  \"aaa\": []\n}\n";
    assert!(run.stdout.contains(pretty), "{run}");
    server.abort();
}

#[tokio::test]
async fn the_audit_passes_over_https_with_the_ca_given() {
    let pki = support::private_pki(&["127.0.0.1"]);
    let (addr, server) = support::serve(support::secret_app(), &pki).await;
    let url = format!("https://{addr}/secret");
    let ca = std::env::temp_dir().join(format!("probe-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let ca_arg = ca.to_str().unwrap();

    let run = probe(&[
        "audit",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--ca",
        ca_arg,
    ])
    .await;
    let _ = std::fs::remove_file(&ca);
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stdout.contains("passed"), "{run}");

    // Without the CA the certificate is not trusted; with --insecure it is not checked.
    let run = probe(&["send", "secret", "--endpoint", &url, "--secret", SECRET]).await;
    assert_eq!(run.status.code(), Some(2), "{run}");
    assert!(run.stderr.contains("certificate not trusted"), "{run}");
    assert!(run.stderr.contains("--ca"), "the hint: {run}");
    let run = probe(&[
        "send",
        "secret",
        "--endpoint",
        &url,
        "--secret",
        SECRET,
        "--insecure",
    ])
    .await;
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stderr.contains("warning: --insecure"), "{run}");
    assert!(run.stdout.contains(support::PASSWORD), "{run}");
    server.abort();
}

/// A secret extension that reads whatever path it is given, as drone-vault does (here: serves a
/// value for any path), behind the crate's verifying layer.
struct ReadsAnyPath;

#[drone_extension::async_trait]
impl drone_extension::secret::SecretFinder for ReadsAnyPath {
    async fn find(
        &self,
        request: drone_extension::secret::SecretRequest,
    ) -> Result<Option<drone_extension::models::Secret>, drone_extension::BoxError> {
        Ok(Some(drone_extension::models::Secret {
            name: request.name,
            data: format!("value of {}", request.path),
            ..Default::default()
        }))
    }
}

#[tokio::test]
async fn the_probe_audit_fails_against_an_extension_serving_its_own_token() {
    use drone_extension::ExtensionKind;
    use drone_extension::secret::SecretFinder;
    use drone_extension::signature::SharedSecret;
    use drone_extension::signature::VerifySignatureLayer;

    let app = axum::Router::new()
        .route_service("/secret", SecretFinder::into_service(ReadsAnyPath))
        .route_layer(VerifySignatureLayer::for_kind(
            ExtensionKind::Secret,
            SharedSecret::new(SECRET).unwrap(),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let endpoint = format!("http://{addr}/secret");
    let args = [
        "audit",
        "secret",
        "--endpoint",
        &endpoint,
        "--secret",
        SECRET,
    ];
    let run = tokio::time::timeout(Duration::from_secs(60), probe(&args))
        .await
        .expect("the audit ends within 60 s");
    let (ok, out) = (
        run.status.success(),
        format!("{}{}", run.stdout, run.stderr),
    );
    server.abort();
    assert!(!ok, "{out}");
    let leaks: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("signed, path") && l.ends_with("FORGERY ACCEPTED"))
        .collect();
    assert_eq!(leaks.len(), 3, "{out}");
    assert!(
        out.contains("FAILED: 3 forged request(s) ACCEPTED"),
        "{out}"
    );
}

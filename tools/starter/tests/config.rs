//! Configuration mistakes of issue 20 for the starter: an invalid number, duration, boolean,
//! address or replay guard refuses to start naming the variable and the expected form (never a
//! secret's value); a misspelled variable is warned about by name; `DRONE_SECRET_FILE` and a
//! kind's `DRONE_<KIND>_SECRET_FILE` are read; `DRONE_WORKER_THREADS=1` serves on one thread.

use drone_extension::ExtensionKind;
use drone_extension::validate::{ValidateRequest, Validation};
use support::process::{SECRET, Server, client, command};

const STARTER: &str = env!("CARGO_BIN_EXE_drone-extension-starter");

/// Runs the starter with `env` until it exits, which it must, non-zero: its output.
fn refused(env: &[(&str, &str)]) -> String {
    let output = command(STARTER, &[], env)
        .output()
        .expect("the binary runs");
    assert!(!output.status.success(), "refused to start: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout)
}

/// An environment, and the words its refusal must name.
type Mistake<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn invalid_values_are_refused_with_the_expected_form() {
    let cases: [Mistake; 9] = [
        (
            &[("DRONE_WORKER_THREADS", "auto")],
            &["DRONE_WORKER_THREADS", "auto", "whole number"],
        ),
        (
            &[("DRONE_MAX_CONNECTIONS", "lots")],
            &["DRONE_MAX_CONNECTIONS", "lots", "whole number"],
        ),
        (
            &[("DRONE_BODY_BUDGET", "-1")],
            &["DRONE_BODY_BUDGET", "whole number"],
        ),
        (
            &[("DRONE_HEADER_TIMEOUT", "10sec")],
            &["DRONE_HEADER_TIMEOUT", "10sec", "30s", "whole seconds"],
        ),
        (
            &[("DRONE_DRAIN_TIMEOUT", "1d")],
            &["DRONE_DRAIN_TIMEOUT", "whole seconds"],
        ),
        (
            &[("DRONE_METRICS", "yes")],
            &["DRONE_METRICS", "yes", "true"],
        ),
        (&[("DRONE_BIND", "localhost")], &["DRONE_BIND", "localhost"]),
        (
            &[("DRONE_REPLAY_GUARD", "redis-host:6379")],
            &["DRONE_REPLAY_GUARD", "none, memory or a redis:// URL"],
        ),
        (
            &[("DRONE_TLS_CERT", "/nonexistent/cert.pem")],
            &["DRONE_TLS_KEY", "DRONE_TLS_CERT is set"],
        ),
    ];
    for (env, words) in cases {
        let text = refused(env);
        for word in words {
            assert!(text.contains(word), "{env:?}: {word:?} named in:\n{text}");
        }
    }
    // The replay guard may hold a password: its value is never shown.
    let text = refused(&[("DRONE_REPLAY_GUARD", "hunter2@redis-host")]);
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn secrets_from_files_and_a_misspelled_variable_warned() {
    let dir = std::env::temp_dir().join(format!("starter-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shared = dir.join("drone_secret");
    std::fs::write(&shared, format!("{SECRET}\n")).unwrap();
    let validate_secret = "validate-only-secret-0123456789abcdef";
    let own = dir.join("validate_secret");
    std::fs::write(&own, validate_secret).unwrap();
    let server = Server::start(
        STARTER,
        &[
            ("DRONE_SECRET", ""),
            ("DRONE_SECRET_FILE", shared.to_str().unwrap()),
            ("DRONE_VALIDATE_SECRET_FILE", own.to_str().unwrap()),
            ("DRONE_MAX_CONECTIONS", "64"),
        ],
    );
    let request = ValidateRequest::default();
    // `/validate` takes its own secret from the file, not the shared one.
    let validate = |secret: &str| client(server.addr, ExtensionKind::Validate.path(), secret);
    assert_eq!(
        validate(validate_secret).validate(&request).await.unwrap(),
        Validation::Pass
    );
    let wrong = validate(SECRET).validate(&request).await;
    assert!(
        matches!(&wrong, Ok(Validation::Reject(why)) if why.contains("signature")),
        "the shared secret is refused on /validate: {wrong:?}"
    );
    let log = server.log();
    for expected in [
        "unknown variable DRONE_MAX_CONECTIONS (did you mean DRONE_MAX_CONNECTIONS?)",
        "DRONE_SECRET=<secret from file>",
        "DRONE_VALIDATE_SECRET=<secret from file>",
        "DRONE_CONFIG is not set: using the default (embedded default)",
    ] {
        assert!(log.contains(expected), "{expected:?} logged:\n{log}");
    }
    assert!(
        !log.contains(SECRET) && !log.contains(validate_secret),
        "{log}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `DRONE_WORKER_THREADS=1`: the starter runs on tokio's current-thread scheduler, says so, and
/// serves several connections at once on its one thread.
#[tokio::test]
async fn one_worker_thread_serves_concurrent_requests() {
    let server = Server::start(STARTER, &[("DRONE_WORKER_THREADS", "1")]);
    let request = ValidateRequest::default();
    let validate = || client(server.addr, ExtensionKind::Validate.path(), SECRET);
    let (a, b, c) = (validate(), validate(), validate());
    let answers = tokio::join!(
        a.validate(&request),
        b.validate(&request),
        c.validate(&request)
    );
    for answer in [answers.0, answers.1, answers.2] {
        assert_eq!(answer.unwrap(), Validation::Pass);
    }
    let said = "runtime: one thread (DRONE_WORKER_THREADS=1)";
    let log = server.log_with(&[said]);
    assert!(log.contains(said), "{said:?} logged:\n{log}");
    assert!(!log.contains("unknown variable"), "{log}");
}

//! Configuration mistakes of issue 20 for the Woodpecker extension: the old `WOODPECKER_*` names
//! (Woodpecker's own: `WOODPECKER_SERVER` is its agent's gRPC address) are read with a
//! deprecation warning, an invalid value refuses to start naming the variable and the expected
//! form, the key can come from a file, and a misspelled variable is warned about by name.

use drone_extension::woodpecker::Signer;
use support::hex;
use support::process::{Server, command};

const WOODPECKER: &str = env!("CARGO_BIN_EXE_drone-extension-woodpecker");

fn key() -> String {
    hex(&Signer::from_seed(&[11; 32]).public_key().to_bytes())
}

/// Runs the binary with `env` until it exits, which it must, non-zero: its output.
fn refused(env: &[(&str, &str)]) -> String {
    let output = command(WOODPECKER, &[], env)
        .env_remove("EXTENSION_WOODPECKER_PUBLIC_KEY")
        .env_remove("EXTENSION_WOODPECKER_URL")
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    assert!(!output.status.success(), "refused to start: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout)
}

fn assert_names(text: &str, env: &[(&str, &str)], words: &[&str]) {
    for word in words {
        assert!(text.contains(word), "{env:?}: {word:?} named in:\n{text}");
    }
}

/// An environment, and the words its refusal must name.
type Mistake<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn the_old_woodpecker_server_name_is_deprecated_and_the_agents_address_refused() {
    // A shared env file: WOODPECKER_SERVER is the agent's gRPC address, not a URL.
    let env = [("WOODPECKER_SERVER", "woodpecker-server:9000")];
    let text = refused(&env);
    assert_names(
        &text,
        &env,
        &[
            "WOODPECKER_SERVER is deprecated: set EXTENSION_WOODPECKER_URL instead",
            "WOODPECKER_SERVER=\"woodpecker-server:9000\"",
            "http(s)://",
        ],
    );
}

#[test]
fn invalid_values_and_a_missing_key_are_refused_with_the_expected_form() {
    let key = key();
    let cases: [Mistake; 4] = [
        (
            &[],
            &[
                "EXTENSION_WOODPECKER_PUBLIC_KEY",
                "EXTENSION_WOODPECKER_URL",
            ],
        ),
        (
            &[
                ("EXTENSION_WOODPECKER_PUBLIC_KEY", key.as_str()),
                ("EXTENSION_WOODPECKER_MAX_AGE", "1min"),
            ],
            &["EXTENSION_WOODPECKER_MAX_AGE", "1min", "30s"],
        ),
        (
            &[("EXTENSION_WOODPECKER_URL", "ftp://ci.example.com")],
            &["EXTENSION_WOODPECKER_URL", "http(s)://"],
        ),
        (
            &[
                ("EXTENSION_WOODPECKER_PUBLIC_KEY", key.as_str()),
                ("DRONE_BIND", "3000"),
            ],
            &["DRONE_BIND", "3000"],
        ),
    ];
    for (env, words) in cases {
        assert_names(&refused(env), env, words);
    }
}

#[test]
fn the_old_public_key_name_still_works_with_a_deprecation_warning() {
    let key = key();
    let server = Server::start(WOODPECKER, &[("WOODPECKER_PUBLIC_KEY", key.as_str())]);
    let log = server.log();
    assert!(
        log.contains(
            "WOODPECKER_PUBLIC_KEY is deprecated: set EXTENSION_WOODPECKER_PUBLIC_KEY instead"
        ),
        "{log}"
    );
}

#[test]
fn the_key_from_a_file_and_a_misspelled_variable_warned() {
    let dir = std::env::temp_dir().join(format!("woodpecker-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("woodpecker.key");
    std::fs::write(&file, format!("{}\n", key())).unwrap();
    let server = Server::start(
        WOODPECKER,
        &[
            (
                "EXTENSION_WOODPECKER_PUBLIC_KEY_FILE",
                file.to_str().unwrap(),
            ),
            ("EXTENSION_WOODPECKER_MAX_AEG", "90s"),
        ],
    );
    let log = server.log();
    for expected in [
        "EXTENSION_WOODPECKER_PUBLIC_KEY=1 key(s) from EXTENSION_WOODPECKER_PUBLIC_KEY_FILE (file)",
        "unknown variable EXTENSION_WOODPECKER_MAX_AEG (did you mean EXTENSION_WOODPECKER_MAX_AGE?)",
        "EXTENSION_WOODPECKER_MAX_AGE is not set: using the default 60s",
    ] {
        assert!(log.contains(expected), "{expected:?} logged:\n{log}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

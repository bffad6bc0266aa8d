//! Configuration mistakes of issue 20, without Vault: each refuses to start naming the variable
//! and the expected form, or is warned about by name at start; `DRONE_SECRET_FILE` works.

use std::process::Command;

use drone_extension::client::ClientError;
use support::bao::request;
use support::process::{SECRET, Server, command};

const VAULT: &str = env!("CARGO_BIN_EXE_drone-extension-vault");

/// The binary's command with `env`, nothing inherited from the caller's `VAULT_*`.
fn vault(env: &[(&str, &str)]) -> Command {
    let mut command = command(VAULT, &[], env);
    for (key, _) in std::env::vars() {
        if key.starts_with("VAULT_") && !env.iter().any(|(k, _)| *k == key) {
            command.env_remove(key);
        }
    }
    command
}

/// Runs the binary with `env` until it exits, which it must, non-zero: its output.
fn refused(env: &[(&str, &str)]) -> String {
    let output = vault(env).output().expect("the binary runs");
    assert!(!output.status.success(), "refused to start: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout)
}

fn assert_names(text: &str, env: &[(&str, &str)], words: &[&str]) {
    for word in words {
        assert!(text.contains(word), "{env:?}: {word:?} named in:\n{text}");
    }
}

#[test]
fn a_misspelled_vault_token_refuses_token_mode_and_suggests_the_name() {
    let env = [("VAULT_ADDR", "http://127.0.0.1:1"), ("VAULT_TOKN", "root")];
    let text = refused(&env);
    assert_names(
        &text,
        &env,
        &[
            "VAULT_TOKEN",
            "token",
            "unknown variable VAULT_TOKN",
            "did you mean VAULT_TOKEN",
        ],
    );
    assert!(
        !text.contains("root"),
        "the value of a secret is never shown:\n{text}"
    );
}

#[test]
fn an_unknown_auth_type_is_refused_with_the_choices() {
    let env = [("VAULT_TOKEN", "t"), ("VAULT_AUTH_TYPE", "aprole")];
    let text = refused(&env);
    assert_names(
        &text,
        &env,
        &["VAULT_AUTH_TYPE", "aprole", "approle", "kubernetes"],
    );
}

#[test]
fn a_client_timeout_with_a_unit_go_does_not_know_is_refused_with_the_form() {
    let env = [("VAULT_TOKEN", "t"), ("VAULT_CLIENT_TIMEOUT", "5sec")];
    let text = refused(&env);
    assert_names(&text, &env, &["VAULT_CLIENT_TIMEOUT", "5sec", "30s", "5s"]);
}

#[test]
fn other_invalid_values_are_refused() {
    let cases: [&[(&str, &str)]; 4] = [
        &[("VAULT_TOKEN", "t"), ("DRONE_DEBUG", "yes")],
        &[("VAULT_TOKEN", "t"), ("DRONE_BIND", "3000")],
        &[("VAULT_TOKEN", "t"), ("DRONE_SECRET", "")],
        &[("VAULT_AUTH_TYPE", "approle"), ("VAULT_APPROLE_ID", "r")],
    ];
    let names = [
        "DRONE_DEBUG",
        "DRONE_BIND",
        "DRONE_SECRET",
        "VAULT_APPROLE_SECRET",
    ];
    for (env, name) in cases.into_iter().zip(names) {
        assert_names(&refused(env), env, &[name]);
    }
}

#[tokio::test]
async fn a_misspelled_variable_and_a_default_address_are_warned_and_the_secret_file_is_read() {
    let dir = std::env::temp_dir().join(format!("vault-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("drone_secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let server = Server::spawn(
        "drone-extension-vault",
        vault(&[
            ("DRONE_SECRET", ""),
            ("DRONE_SECRET_FILE", file.to_str().unwrap()),
            ("VAULT_TOKEN", "not-a-real-token"),
            ("VAULT_CLIENT_TIMEOUT", "1s"),
            ("DRONE_GLOBAL_SECRET_PATHS", "secret/data/drone/global"),
        ]),
    );
    // Signed with the file's secret: past the signature check, then an error (no Vault).
    let answer = server
        .client("/secret")
        .find_secret(&request("secret/data/docker", "docker_password"))
        .await;
    assert!(
        matches!(answer, Err(ClientError::Status { code: 500, .. })),
        "the secret from DRONE_SECRET_FILE verifies the request: {answer:?}"
    );
    let log = server.log();
    for expected in [
        "unknown variable DRONE_GLOBAL_SECRET_PATHS",
        "did you mean DRONE_GLOBAL_SECRETS_PATHS",
        "VAULT_ADDR is not set: using the default https://127.0.0.1:8200",
        "DRONE_SECRET=<secret from file>",
        "VAULT_AUTH_TYPE=token (default)",
    ] {
        assert!(log.contains(expected), "{expected:?} logged:\n{log}");
    }
    assert!(
        !log.contains("not-a-real-token") && !log.contains(SECRET),
        "no secret logged:\n{log}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

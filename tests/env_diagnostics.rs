//! Configuration that diagnoses itself (issue 20, item 3): one test per mistake an operator
//! makes, each asserting that the message names the variable and the expected form.

use drone_extension::env::{
    Env, EnvError, EnvWarning, Source, Summary, WOODPECKER_RENAMES, parse_go_duration,
};
use drone_extension::vault::{AuthMethod, VaultError, VaultSettings};
use proptest::prelude::*;
use support::TempFile;

/// The environment of the Vault drop-in: `pairs`, the drop-in's prefixes.
fn vault_env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().copied()).prefixes(["DRONE_", "VAULT_"])
}

fn messages(warnings: &[EnvWarning]) -> Vec<String> {
    warnings.iter().map(ToString::to_string).collect()
}

/// The error of `VaultSettings::read`, as the binary prints it.
fn vault_error(env: &mut Env) -> String {
    let error = VaultSettings::read(env).unwrap_err();
    assert!(matches!(error, VaultError::Env(_)), "{error:?}");
    error.to_string()
}

#[test]
fn misspelled_vault_token_refuses_to_start_and_names_the_typo() {
    // VAULT_TOKN=root used to start in token mode without a token, then log
    // "VAULT_TOKEN refused by Vault (expired or revoked?)".
    let mut env = vault_env(&[("VAULT_ADDR", "http://vault:8200"), ("VAULT_TOKN", "root")]);
    assert_eq!(
        vault_error(&mut env),
        "VAULT_TOKEN (or VAULT_TOKEN_FILE) is required when VAULT_AUTH_TYPE is token (or unset)"
    );
    assert_eq!(
        messages(&env.finish()),
        ["unknown variable VAULT_TOKN (did you mean VAULT_TOKEN?)"]
    );
}

#[test]
fn unknown_auth_type_is_refused_with_the_allowed_values() {
    let mut env = vault_env(&[("VAULT_AUTH_TYPE", "aprole"), ("VAULT_TOKEN", "root")]);
    assert_eq!(
        vault_error(&mut env),
        r#"VAULT_AUTH_TYPE="aprole": expected one of token, approle or kubernetes (did you mean approle?)"#
    );
    let mut env = vault_env(&[("VAULT_AUTH_TYPE", "ldap"), ("VAULT_TOKEN", "root")]);
    assert_eq!(
        vault_error(&mut env),
        r#"VAULT_AUTH_TYPE="ldap": expected one of token, approle or kubernetes"#
    );
}

#[test]
fn invalid_duration_says_the_expected_format() {
    let mut env = vault_env(&[("VAULT_TOKEN", "root"), ("VAULT_CLIENT_TIMEOUT", "5sec")]);
    let error = vault_error(&mut env);
    assert!(
        error.starts_with(r#"VAULT_CLIENT_TIMEOUT="5sec": "#),
        "{error}"
    );
    assert!(
        error.contains("expected a duration like 30s, 5m or 72h"),
        "{error}"
    );
    assert!(error.ends_with("(did you mean 5s?)"), "{error}");
    // The Go-only ones (drone-vault's) refuse plain seconds, with the fix as a suggestion.
    let mut env = vault_env(&[("VAULT_TOKEN", "root"), ("VAULT_TOKEN_TTL", "72")]);
    assert_eq!(
        vault_error(&mut env),
        r#"VAULT_TOKEN_TTL="72": expected a duration like 30s, 5m or 72h (did you mean 72s?)"#
    );
}

#[test]
fn misspelled_global_secrets_paths_is_warned_about() {
    let mut env = vault_env(&[
        ("VAULT_TOKEN", "root"),
        ("DRONE_GLOBAL_SECRET_PATHS", "secret/data/drone"),
    ]);
    let settings = VaultSettings::read(&mut env).unwrap();
    assert!(settings.global_secrets_paths.is_empty());
    assert_eq!(
        messages(&env.finish()),
        ["unknown variable DRONE_GLOBAL_SECRET_PATHS (did you mean DRONE_GLOBAL_SECRETS_PATHS?)"]
    );
}

#[test]
fn unknown_variables_are_warnings_sorted_by_name_with_suggestions_when_close() {
    let mut env = Env::from_pairs([
        ("DRONE_SECRET", "x"),
        ("DRONE_BIND", ":3000"),
        ("DRONE_BNID", ":3000"),               // transposition
        ("drone_secret", "x"),                 // case
        ("DRONE_SOMETHING_ELSE", "1"),         // nothing close
        ("DRONE_EMPTY", ""),                   // empty is unset
        ("PATH", "/usr/bin"),                  // not a prefix of ours
        ("VAULT_PORT", "tcp://10.0.0.1:8200"), // a Kubernetes service link
    ])
    .prefixes(["DRONE_", "VAULT_"]);
    env.secret("DRONE_SECRET").unwrap();
    env.socket_addr("DRONE_BIND").unwrap();
    assert_eq!(
        messages(&env.finish()),
        [
            "unknown variable DRONE_BNID (did you mean DRONE_BIND?)",
            "unknown variable DRONE_SOMETHING_ELSE",
            "unknown variable drone_secret (did you mean DRONE_SECRET?)",
        ]
    );
    // A misspelled `_FILE` variant is suggested its right name.
    let mut env = Env::from_pairs([("DRONE_SECRET_FIEL", "/run/secrets/x")]).prefixes(["DRONE_"]);
    assert!(env.secret("DRONE_SECRET").unwrap().is_none());
    assert_eq!(
        messages(&env.finish()),
        ["unknown variable DRONE_SECRET_FIEL (did you mean DRONE_SECRET_FILE?)"]
    );
    // Without prefixes (the probe: a developer's shell has Drone CLI's DRONE_SERVER), nothing.
    let env = Env::from_pairs([("DRONE_SERVER", "https://drone")]);
    assert_eq!(env.finish(), []);
}

#[test]
fn unset_vault_addr_is_reported_as_defaulted() {
    let settings = VaultSettings::read(&mut vault_env(&[("VAULT_TOKEN", "root")])).unwrap();
    let defaulted: Vec<String> = settings
        .summary
        .defaulted()
        .map(|e| {
            format!(
                "{} not set, using {}",
                e.name,
                e.value.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        defaulted,
        [
            "VAULT_ADDR not set, using https://127.0.0.1:8200",
            "VAULT_AUTH_TYPE not set, using token",
        ]
    );
    assert_eq!(
        settings.summary.to_string(),
        "VAULT_ADDR=https://127.0.0.1:8200 (default), VAULT_AUTH_TYPE=token (default), \
         VAULT_TOKEN=<secret from env>"
    );
    let set = VaultSettings::read(&mut vault_env(&[
        ("VAULT_ADDR", "https://vault.example.com:8200"),
        ("VAULT_TOKEN", "root"),
    ]))
    .unwrap();
    let address = set.summary.get("VAULT_ADDR").unwrap();
    assert_eq!(address.source, Source::Env);
    assert_eq!(
        set.client.build().unwrap().address(),
        "https://vault.example.com:8200"
    );
    // An address that is not a URL names the variable and the form.
    let mut env = vault_env(&[("VAULT_ADDR", "127.0.0.1:8200"), ("VAULT_TOKEN", "root")]);
    assert_eq!(
        vault_error(&mut env),
        r#"VAULT_ADDR="127.0.0.1:8200": expected an http(s)://host[:port] URL (did you mean https://127.0.0.1:8200?)"#
    );
}

#[test]
fn summary_shows_the_auth_method_and_credential_source_never_a_secret() {
    let secret = TempFile::new(b"approle-secret-id\n");
    let settings = VaultSettings::read(&mut vault_env(&[
        ("VAULT_ADDR", "http://vault:8200"),
        ("VAULT_AUTH_TYPE", "approle"),
        ("VAULT_APPROLE_ID", "role-id-1"),
        ("VAULT_APPROLE_SECRET_FILE", secret.path()),
        ("VAULT_NAMESPACE", "team"),
    ]))
    .unwrap();
    let summary = settings.summary.to_string();
    assert_eq!(
        summary,
        "VAULT_ADDR=http://vault:8200, VAULT_NAMESPACE=team, VAULT_AUTH_TYPE=approle, \
         VAULT_AUTH_MOUNT_POINT=approle (default), VAULT_APPROLE_SECRET=<secret from file>"
    );
    assert!(!summary.contains("approle-secret-id") && !summary.contains("role-id-1"));
    match settings.method {
        AuthMethod::AppRole {
            role_id, secret_id, ..
        } => assert_eq!(
            (role_id.as_str(), secret_id.as_str()),
            ("role-id-1", "approle-secret-id")
        ),
        other => panic!("{other:?}"),
    }
    // A binary adds its own lines (the key source: env, file or generated).
    let mut summary = Summary::new();
    summary.secret("DRONE_SECRET", Source::Generated);
    summary.extend(settings.summary);
    assert!(
        summary
            .to_string()
            .starts_with("DRONE_SECRET=<secret from generated>, VAULT_ADDR=")
    );
}

#[test]
fn missing_login_fields_are_named() {
    let mut env = vault_env(&[
        ("VAULT_AUTH_TYPE", "approle"),
        ("VAULT_APPROLE_SECRET", "s"),
    ]);
    assert_eq!(
        vault_error(&mut env),
        "VAULT_APPROLE_ID is required when VAULT_AUTH_TYPE is approle"
    );
    let mut env = vault_env(&[("VAULT_AUTH_TYPE", "kubernetes"), ("VAULT_TOKEN", "root")]);
    assert_eq!(
        vault_error(&mut env),
        "VAULT_KUBERNETES_ROLE is required when VAULT_AUTH_TYPE is kubernetes"
    );
}

#[test]
fn secrets_from_files() {
    let token = TempFile::new(b"s.from-file\n");
    let settings =
        VaultSettings::read(&mut vault_env(&[("VAULT_TOKEN_FILE", token.path())])).unwrap();
    assert_eq!(settings.method, AuthMethod::Token("s.from-file".into()));
    assert_eq!(
        settings.summary.get("VAULT_TOKEN").map(|e| e.source),
        Some(Source::File)
    );

    // One trailing newline is removed, `\r\n` included; not more.
    for (contents, value) in [
        (&b"abc"[..], "abc"),
        (b"abc\n", "abc"),
        (b"abc\r\n", "abc"),
        (b"abc\n\n", "abc\n"),
        (b" abc \n", " abc "),
    ] {
        let file = TempFile::new(contents);
        let mut env = Env::from_pairs([("DRONE_SECRET_FILE", file.path())]);
        let secret = env.secret("DRONE_SECRET").unwrap().unwrap();
        assert_eq!(secret.expose(), value, "{contents:?}");
        assert_eq!(secret.source(), Source::File);
        assert_eq!(secret.variable(), Some("DRONE_SECRET_FILE"));
    }
}

#[test]
fn secret_set_twice_is_refused() {
    let token = TempFile::new(b"s.from-file");
    let mut env = vault_env(&[
        ("VAULT_TOKEN", "s.plain"),
        ("VAULT_TOKEN_FILE", token.path()),
    ]);
    let error = vault_error(&mut env);
    assert_eq!(
        error,
        "both VAULT_TOKEN and VAULT_TOKEN_FILE are set: set only one of them"
    );
    assert!(!error.contains("s.plain") && !error.contains("s.from-file"));
}

#[test]
fn unreadable_secret_file_names_the_variable_and_path_not_the_contents() {
    let mut env = vault_env(&[("VAULT_TOKEN_FILE", "/nonexistent/vault-token")]);
    let error = vault_error(&mut env);
    assert!(
        error.starts_with(r#"VAULT_TOKEN_FILE="/nonexistent/vault-token": cannot read the file: "#),
        "{error}"
    );
    // A directory, an empty file, a file that is not text, a huge file.
    let empty = TempFile::new(b"\n");
    let binary = TempFile::new(b"s.secret\xff\xfe");
    let huge = TempFile::new(vec![b'a'; 64 * 1024 + 1]);
    let dir = std::env::temp_dir();
    for (path, why) in [
        (dir.to_str().unwrap(), ""),
        (empty.path(), "the file is empty"),
        (binary.path(), "the file is not UTF-8 text"),
        (huge.path(), "the file is larger than 64 KiB"),
    ] {
        let mut env = Env::from_pairs([("DRONE_SECRET_FILE", path)]);
        let error = env.secret("DRONE_SECRET").unwrap_err();
        assert!(matches!(error, EnvError::File { .. }), "{error:?}");
        assert_eq!(error.name(), "DRONE_SECRET_FILE");
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("DRONE_SECRET_FILE={path:?}")),
            "{text}"
        );
        assert!(text.contains(why), "{text}");
        assert!(
            !text.contains("s.secret") && !text.contains("aaaa"),
            "{text}"
        );
    }
    // VAULT_CACERT (not a secret, but a file) as well.
    let mut env = vault_env(&[
        ("VAULT_TOKEN", "root"),
        ("VAULT_CACERT", "/nonexistent/ca.pem"),
    ]);
    let error = vault_error(&mut env);
    assert!(
        error.starts_with(r#"VAULT_CACERT="/nonexistent/ca.pem": cannot read the file"#),
        "{error}"
    );
}

#[test]
fn woodpecker_renames_are_read_with_a_deprecation_warning() {
    let key = TempFile::new(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
    let mut env = Env::from_pairs([
        ("WOODPECKER_SERVER", "https://ci.example.com"),
        (
            "WOODPECKER_PUBLIC_KEY",
            "26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb",
        ),
        ("WOODPECKER_MAX_AGE", "90"),
        ("WOODPECKER_SIGNING_KEY_FILE", key.path()),
    ])
    .renames(WOODPECKER_RENAMES)
    .prefixes(["DRONE_", "EXTENSION_"]);
    assert_eq!(
        env.url("EXTENSION_WOODPECKER_URL").unwrap().as_deref(),
        Some("https://ci.example.com")
    );
    let public = env
        .string_or_file("EXTENSION_WOODPECKER_PUBLIC_KEY")
        .unwrap()
        .unwrap();
    assert_eq!(
        (public.source, public.variable.as_str()),
        (Source::Env, "WOODPECKER_PUBLIC_KEY")
    );
    assert_eq!(
        env.number::<u64>("EXTENSION_WOODPECKER_MAX_AGE").unwrap(),
        Some(90)
    );
    let signing = env
        .secret("EXTENSION_WOODPECKER_SIGNING_KEY")
        .unwrap()
        .unwrap();
    assert_eq!(signing.variable(), Some("WOODPECKER_SIGNING_KEY_FILE"));
    assert_eq!(signing.expose().len(), 64);
    assert_eq!(
        messages(&env.finish()),
        [
            "WOODPECKER_SERVER is deprecated: set EXTENSION_WOODPECKER_URL instead (the value of WOODPECKER_SERVER is used meanwhile)",
            "WOODPECKER_PUBLIC_KEY is deprecated: set EXTENSION_WOODPECKER_PUBLIC_KEY instead (the value of WOODPECKER_PUBLIC_KEY is used meanwhile)",
            "WOODPECKER_MAX_AGE is deprecated: set EXTENSION_WOODPECKER_MAX_AGE instead (the value of WOODPECKER_MAX_AGE is used meanwhile)",
            "WOODPECKER_SIGNING_KEY is deprecated: set EXTENSION_WOODPECKER_SIGNING_KEY instead (the value of WOODPECKER_SIGNING_KEY is used meanwhile)",
        ]
    );
}

#[test]
fn woodpecker_agent_server_address_no_longer_reaches_the_extension() {
    // The shared env file: WOODPECKER_SERVER is the agent's gRPC address.
    let mut env = Env::from_pairs([
        ("WOODPECKER_SERVER", "woodpecker-server:9000"),
        ("EXTENSION_WOODPECKER_URL", "https://ci.example.com"),
        ("EXTENSION_WOODPECKER_MAX_AEG", "90"),
    ])
    .renames(WOODPECKER_RENAMES)
    .prefixes(["DRONE_", "EXTENSION_"]);
    assert_eq!(
        env.url("EXTENSION_WOODPECKER_URL").unwrap().as_deref(),
        Some("https://ci.example.com")
    );
    assert_eq!(
        env.number::<u64>("EXTENSION_WOODPECKER_MAX_AGE").unwrap(),
        None
    );
    assert_eq!(
        messages(&env.finish()),
        [
            "unknown variable EXTENSION_WOODPECKER_MAX_AEG (did you mean EXTENSION_WOODPECKER_MAX_AGE?)"
        ]
    );
    // Only the old name set to the agent's address: refused as a URL, naming the old name.
    let mut env = Env::from_pairs([("WOODPECKER_SERVER", "woodpecker-server:9000")])
        .renames(WOODPECKER_RENAMES);
    let error = env.url("EXTENSION_WOODPECKER_URL").unwrap_err().to_string();
    assert!(
        error.starts_with(
            r#"WOODPECKER_SERVER="woodpecker-server:9000": expected an http(s)://host[:port] URL"#
        ),
        "{error}"
    );
}

#[test]
fn invalid_values_of_every_kind_name_the_variable_and_the_form() {
    let mut env = Env::from_pairs([
        ("DRONE_MAX_CONNECTIONS", "many"),
        ("DRONE_DEBUG", "yes"),
        ("DRONE_BIND", "localhost:3000"),
        ("DRONE_HEADER_TIMEOUT", "ten"),
        ("DRONE_METRICS_BIND", "3000"),
    ]);
    let cases: Vec<(EnvError, &str)> = vec![
        (
            env.number::<usize>("DRONE_MAX_CONNECTIONS").unwrap_err(),
            r#"DRONE_MAX_CONNECTIONS="many": expected a whole number"#,
        ),
        (
            env.bool("DRONE_DEBUG").unwrap_err(),
            r#"DRONE_DEBUG="yes": expected true or false (Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False) (did you mean true?)"#,
        ),
        (
            env.socket_addr("DRONE_BIND").unwrap_err(),
            r#"DRONE_BIND="localhost:3000": expected an address like 0.0.0.0:3000, :3000 or [::1]:3000 (did you mean 127.0.0.1:3000?)"#,
        ),
        (
            env.duration_or_seconds("DRONE_HEADER_TIMEOUT").unwrap_err(),
            r#"DRONE_HEADER_TIMEOUT="ten": expected a duration like 30s, 5m or 72h, or whole seconds"#,
        ),
        (
            env.socket_addr("DRONE_METRICS_BIND").unwrap_err(),
            r#"DRONE_METRICS_BIND="3000": expected an address like 0.0.0.0:3000, :3000 or [::1]:3000"#,
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}

#[test]
fn secrets_are_redacted() {
    let file = TempFile::new(b"s.in-a-file");
    let mut env = Env::from_pairs([
        ("DRONE_SECRET", "hunter2"),
        ("VAULT_TOKEN_FILE", file.path()),
    ]);
    let plain = env.secret("DRONE_SECRET").unwrap().unwrap();
    assert_eq!(
        format!("{plain:?}"),
        "Secret(<redacted>, from DRONE_SECRET)"
    );
    let from_file = env.secret("VAULT_TOKEN").unwrap().unwrap();
    assert_eq!(
        format!("{from_file:?}"),
        "Secret(<redacted>, from VAULT_TOKEN_FILE)"
    );
    assert!(!format!("{env:?}").contains("hunter2"));
    let generated = drone_extension::env::Secret::generated("random");
    assert_eq!(format!("{generated:?}"), "Secret(<redacted>, generated)");
    let settings =
        VaultSettings::read(&mut vault_env(&[("VAULT_TOKEN_FILE", file.path())])).unwrap();
    let debug = format!("{settings:?}");
    assert!(!debug.contains("s.in-a-file"), "{debug}");
}

#[cfg(unix)]
#[test]
fn values_that_are_not_utf8_are_refused_by_name() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let mut env = Env::from_pairs([(
        OsString::from("VAULT_TOKEN"),
        OsString::from_vec(b"s.\xff".to_vec()),
    )]);
    let error = VaultSettings::read(&mut env).unwrap_err().to_string();
    assert_eq!(error, "VAULT_TOKEN is not valid UTF-8");
}

/// Every variable `VaultSettings` and a binary read, and a few others.
const NAMES: &[&str] = &[
    "VAULT_ADDR",
    "VAULT_AUTH_TYPE",
    "VAULT_TOKEN",
    "VAULT_TOKEN_FILE",
    "VAULT_APPROLE_ID",
    "VAULT_APPROLE_SECRET",
    "VAULT_APPROLE_SECRET_FILE",
    "VAULT_KUBERNETES_ROLE",
    "VAULT_AUTH_MOUNT_POINT",
    "VAULT_KUBERNETES_TOKEN_PATH",
    "VAULT_TOKEN_TTL",
    "VAULT_TOKEN_RENEWAL",
    "VAULT_SKIP_VERIFY",
    "VAULT_TLS_SERVER_NAME",
    "VAULT_NAMESPACE",
    "VAULT_CLIENT_TIMEOUT",
    "VAULT_CACHE_TTL",
    "VAULT_TOKEN_CHECK_INTERVAL",
    "VAULT_KV_MOUNTS",
    "DRONE_DISALLOW_FORKS",
    "DRONE_GLOBAL_SECRETS_PATHS",
    "DRONE_BIND",
    "WOODPECKER_SERVER",
    "VAULT_PORT_8200_TCP",
    "DRONE_",
    "",
];

/// Every getter on `name`; the result does not matter, only that none panics.
fn read_everything(env: &mut Env, name: &str) {
    let _ = env.string(name);
    let _ = env.number::<u8>(name);
    let _ = env.number::<u64>(name);
    let _ = env.number::<usize>(name);
    let _ = env.bool(name);
    let _ = env.duration(name);
    let _ = env.duration_or_seconds(name);
    let _ = env.choice(name, &["token", "approle", "kubernetes"]);
    let _ = env.choice(name, &[]);
    let _ = env.list(name);
    let _ = env.socket_addr(name);
    let _ = env.url(name);
    let _ = env.secret(name);
    let _ = env.string_or_file(name);
    let _ = env.is_set(name);
    let _ = env.missing(&[name], Some(name)).to_string();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_values_never_panic(
        values in prop::collection::vec(
            (prop::sample::select(NAMES), any::<String>()), 0..12
        ),
        unknown in "[A-Za-z_]{0,40}",
        value in any::<String>(),
    ) {
        let pairs: Vec<(String, String)> = values
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .chain([(unknown.clone(), value.clone())])
            .collect();
        let lookup = |name: &str| pairs.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        if let Ok(settings) = VaultSettings::from_lookup(lookup) {
            let _ = settings.client.build();
            let _ = settings.summary.to_string();
        }
        let mut env = Env::from_pairs(pairs.clone())
            .prefixes(["DRONE_", "VAULT_", "EXTENSION_", ""])
            .renames(WOODPECKER_RENAMES);
        let _ = VaultSettings::read(&mut env).map_err(|e| e.to_string());
        for name in NAMES.iter().copied().chain([unknown.as_str(), "EXTENSION_WOODPECKER_URL"]) {
            read_everything(&mut env, name);
        }
        for warning in env.finish() {
            let _ = warning.to_string();
        }
        let _ = parse_go_duration(&value);
    }

    #[test]
    fn typed_values_that_look_right_are_read(n in any::<u64>(), secs in 0u64..1_000_000) {
        let mut env = Env::from_pairs([
            ("N", format!(" {n} ")),
            ("D", format!("{secs}s")),
            ("S", secs.to_string()),
        ]);
        prop_assert_eq!(env.number::<u64>("N").unwrap(), Some(n));
        prop_assert_eq!(env.duration("D").unwrap().map(|d| d.as_secs()), Some(secs));
        prop_assert_eq!(env.duration_or_seconds("S").unwrap().map(|d| d.as_secs()), Some(secs));
    }
}

#[test]
fn unicode_names_and_values_in_warnings_never_panic() {
    let env = Env::from_pairs([
        ("DRONE_É", "x"),
        ("DRONE_\u{0}", "x"),
        ("VAULT_ŝ".repeat(100).as_str(), "x"),
    ])
    .prefixes(["DRONE_", "VAULT_"]);
    assert_eq!(env.finish().len(), 3);
}

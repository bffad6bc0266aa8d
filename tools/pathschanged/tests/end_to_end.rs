//! End to end, as an operator tries it: the harness's git forge (requiring the request's token)
//! serves a monorepo with two services, the binary runs with its cache and the forge's host
//! allowed, and the probe sends Drone's convert request (`probe send convert --body FILE`,
//! the body made from `probe sample convert`) with a real `.drone.yml`.
//!
//! The probe is another package's binary: `cargo test` at the workspace root builds it; alone,
//! `cargo build -p drone-extension-probe` first (see `support::process::tool`). The test needs
//! `git` (with `http-backend`): without it, it is skipped with a message, unless `CI=true`.

use support::forge::{Forge, ForgeConfig, TempDir};
use support::process::{Probe, Server};
use support::{SECRET, TempFile, require_git};

const BIN: &str = env!("CARGO_BIN_EXE_drone-extension-pathschanged");
const TOKEN: &str = "correct-horse-token-4f9a";

/// Two pipelines with `trigger.paths`, a step with `when.paths`, comments and an anchor.
const API: &str = "# The API service (Go).
kind: pipeline
type: docker
name: api

trigger:
  paths:
    include:
    - services/api/**

steps:
- name: test
  image: &go golang:1.23
  commands:
  - go test ./...
- name: lint  # only when Go files changed
  image: *go
  when:
    paths: [services/api/**/*.go]
";

const WEB: &str = "# The web front end.
kind: pipeline
type: docker
name: web

trigger:
  paths: [services/web/**]

steps:
- name: build
  image: node:22
  commands:
  - npm ci
  - npm run build
- name: test
  image: node:22
  commands: [npm test]
  when:
    paths:
      include: [services/web/**/*.ts]
      exclude: ['**/*.md']
";

/// The skip marker the rewrite inserts (`pathschanged` module docs).
const MARKER: &str = "event: {exclude: ['*']}";

/// The convert request for a push `before..after`: the probe's own sample, with this forge's
/// repository, the build's commits, the configuration and the token.
async fn body(probe: &Probe, forge: &Forge, config: &str, before: &str, after: &str) -> TempFile {
    let sample = probe.run(&["sample", "convert"]).await;
    assert!(sample.status.success(), "{sample}");
    let mut body: serde_json::Value = serde_json::from_str(&sample.stdout).unwrap();
    let build = &mut body["build"];
    build["event"] = "push".into();
    build["before"] = before.into();
    build["after"] = after.into();
    build["ref"] = "refs/heads/main".into();
    build["source"] = "main".into();
    build["target"] = "main".into();
    let repo = &mut body["repo"];
    repo["git_http_url"] = forge.url().into();
    repo["default_branch"] = "main".into();
    body["config"]["data"] = config.into();
    body["token"]["access"] = TOKEN.into();
    TempFile::new(serde_json::to_vec(&body).unwrap())
}

/// `probe send convert --body FILE` against the binary: the status line and the body answered.
async fn send(probe: &Probe, server: &Server, body: &TempFile) -> (String, String) {
    let endpoint = server.url("/convert");
    let run = probe
        .run(&[
            "send",
            "convert",
            "--endpoint",
            &endpoint,
            "--secret",
            SECRET,
            "--body",
            body.path(),
            // A hang bound: a conversion takes well under a second on loopback.
            "--timeout",
            "60",
        ])
        .await;
    assert!(run.status.success(), "Drone takes the answer: {run}");
    let status = run
        .stdout
        .lines()
        .find(|line| line.starts_with("< "))
        .unwrap_or_else(|| panic!("no status line: {run}"))
        .to_owned();
    // The answer's headers end with a blank line; the body follows, then Drone's reading.
    let (_, rest) = run
        .stdout
        .split_once("\n\n")
        .expect("headers, then the body");
    let (answer, _) = rest
        .rsplit_once("\nDrone's reading: ")
        .unwrap_or_else(|| panic!("no reading: {run}"));
    (status, answer.trim_end().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_send_convert_against_the_binary_over_a_real_forge() {
    require_git!();
    let forge = Forge::start_with(ForgeConfig {
        basic: Some(("x-access-token".into(), TOKEN.into())),
    })
    .await;
    let config = format!("{API}---\n{WEB}");
    let w = forge.work();
    w.write(".drone.yml", &config);
    w.write("services/api/main.go", "package main\n");
    w.write("services/web/app.ts", "export {}\n");
    let c1 = w.commit("two services");
    w.write("services/web/app.ts", "export const x = 1\n");
    let c2 = w.commit("web only");
    w.write("services/api/main.go", "package main\n\nfunc main() {}\n");
    w.write("services/web/app.ts", "export const x = 2\n");
    let c3 = w.commit("both services");
    w.push("main");

    let cache = TempDir::new("pathschanged-e2e");
    let cache_dir = cache.join("cache");
    let allowed = format!("127.0.0.1:{}", forge.addr().port());
    let server = Server::start(
        BIN,
        &[
            ("PATHSCHANGED_CACHE_DIR", cache_dir.to_str().unwrap()),
            ("PATHSCHANGED_ALLOWED_HOSTS", allowed.as_str()),
        ],
    );
    let probe = Probe::built();

    // A push that changed only the web service: the api pipeline (and its lint step) skipped.
    let request = body(&probe, &forge, &config, &c1, &c2).await;
    let (status, answer) = send(&probe, &server, &request).await;
    assert_eq!(status, "< 200 OK", "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let data = answer["data"].as_str().expect("a configuration");
    let (api, web) = data.split_once("---\n").expect("both documents");
    assert_eq!(web, WEB, "the untouched pipeline is byte for byte the same");
    let expected_api = API
        .replace(
            "trigger:\n  paths:",
            &format!("trigger:\n  {MARKER}\n  paths:"),
        )
        .replace(
            "  when:\n    paths: [services/api",
            &format!("  when:\n    {MARKER}\n    paths: [services/api"),
        );
    assert_eq!(api.matches(MARKER).count(), 2, "{api}");
    assert_eq!(
        api, expected_api,
        "the skipped pipeline and step carry the marker, nothing else changed"
    );
    assert!(!forge.authorizations().is_empty(), "the token was sent");

    // A push that changed both services: nothing to skip, the configuration is kept.
    let request = body(&probe, &forge, &config, &c2, &c3).await;
    let (status, answer) = send(&probe, &server, &request).await;
    assert_eq!(status, "< 204 No Content", "{answer}");

    drop(server);
}

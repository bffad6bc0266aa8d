//! The paths-changed converter through the crate's Drone service: every answer of its table
//! (204 without conditions and without a git call, 200 with only the markers inserted, 204 when
//! the rule or a failure runs everything, 500 when told to, 422 for a refused configuration), the
//! per-request budget, and the decisions recorded in the metrics.

#![cfg(all(feature = "pathschanged", feature = "client", feature = "metrics"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use drone_extension::metrics::Metrics;
use drone_extension::pathschanged::{
    ChangeQuery, ChangedFiles, ChangedSet, ChangesError, OnFailure, PathsChanged,
};
use drone_extension::prelude::*;
use drone_extension::service::ExtensionService;
use drone_extension::testing;
use serde_json::json;

const KEY: &str = "bea26a2221fd8090ea38720fc445eca6";

fn key() -> SharedSecret {
    SharedSecret::new(KEY).unwrap()
}

/// What the test double answers.
#[derive(Clone)]
enum Answer {
    Files(&'static [&'static str]),
    Everything,
    HostRefused,
    Hang,
}

/// A `ChangedFiles` double that counts its calls and remembers the last query's credential.
#[derive(Clone)]
struct Double {
    answer: Answer,
    calls: Arc<AtomicUsize>,
}

impl Double {
    fn new(answer: Answer) -> Double {
        Double {
            answer,
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }
}

#[drone_extension::async_trait]
impl ChangedFiles for Double {
    async fn changed_files(&self, query: &ChangeQuery) -> Result<ChangedSet, ChangesError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            query.clone_url,
            "https://git.example.com/octocat/monorepo.git"
        );
        match self.answer {
            Answer::Files(files) => Ok(ChangedSet::Files(
                files.iter().map(|f| (*f).to_owned()).collect(),
            )),
            Answer::Everything => Ok(ChangedSet::Everything {
                reason: "tag builds run everything".into(),
            }),
            Answer::HostRefused => Err(ChangesError::HostRefused {
                host: "git.example.com".into(),
            }),
            Answer::Hang => std::future::pending().await,
        }
    }
}

/// A pipeline with a commented, anchored step filtered on `api/**` and one on `web/**`.
const CONFIG: &str = "\
# the monorepo's pipeline
kind: pipeline
type: docker
name: default

x-image: &image golang:1.23   # shared

steps:
- name: api
  image: *image
  commands: [go test ./api/...]
  when:
    paths:
      include:
      - api/**

- name: web
  image: node:22
  commands:
  - npm test
  when:
    paths: [web/**]
";

fn request(config: &str) -> serde_json::Value {
    json!({
        "build": {"event": "push", "before": "1111111111111111111111111111111111111111",
                  "after": "2222222222222222222222222222222222222222", "ref": "refs/heads/main",
                  "target": "main", "source": "main"},
        "repo": {"slug": "octocat/monorepo", "default_branch": "main",
                 "git_http_url": "https://git.example.com/octocat/monorepo.git",
                 "config_path": ".drone.yml"},
        "config": {"data": config, "kind": ""},
    })
}

async fn convert(
    converter: PathsChanged<Double>,
    config: &str,
) -> drone_extension::client::RawResponse {
    let service = ExtensionService::new(converter);
    testing::call(service, ExtensionKind::Convert, &key(), &request(config))
        .await
        .unwrap()
}

#[tokio::test]
async fn without_conditions_nothing_is_asked_and_the_original_is_kept() {
    let double = Double::new(Answer::Files(&["api/main.go"]));
    let answer = convert(
        PathsChanged::new(double.clone()),
        "kind: pipeline\nsteps:\n- name: a\n  image: alpine\n",
    )
    .await;
    assert_eq!(answer.status, 204);
    assert_eq!(double.calls.load(Ordering::SeqCst), 0, "no git call");
}

#[tokio::test]
async fn a_skipped_step_gets_only_the_marker() {
    let double = Double::new(Answer::Files(&["api/main.go"]));
    let answer = convert(PathsChanged::new(double.clone()), CONFIG).await;
    assert_eq!(answer.status, 200);
    assert_eq!(double.calls.load(Ordering::SeqCst), 1);
    let data = answer.config().unwrap().expect("a configuration").data;
    // Every original line is still there, in order; only lines were added.
    let mut added = Vec::new();
    let mut original = CONFIG.lines().peekable();
    for line in data.lines() {
        if original.peek() == Some(&line) {
            original.next();
        } else {
            added.push(line.to_owned());
        }
    }
    assert!(
        original.peek().is_none(),
        "every original line kept:\n{data}"
    );
    let added = added.join("\n");
    assert!(added.contains("event"), "the marker: {added}");
    assert!(
        added.contains('*'),
        "the marker excludes every event: {added}"
    );
    // The marker is in the web step (after its `when:`), not in the api step.
    let web = data.find("- name: web").unwrap();
    assert!(data[web..].contains("event"), "{data}");
    assert!(!data[..web].contains("event"), "{data}");
}

#[tokio::test]
async fn nothing_to_skip_keeps_the_original() {
    let double = Double::new(Answer::Files(&["api/main.go", "web/app.ts"]));
    let answer = convert(PathsChanged::new(double), CONFIG).await;
    assert_eq!(answer.status, 204);
}

#[tokio::test]
async fn an_event_that_runs_everything_keeps_the_original() {
    let answer = convert(PathsChanged::new(Double::new(Answer::Everything)), CONFIG).await;
    assert_eq!(answer.status, 204);
}

#[tokio::test]
async fn a_failure_runs_everything_or_answers_an_error_when_told_to() {
    let answer = convert(PathsChanged::new(Double::new(Answer::HostRefused)), CONFIG).await;
    assert_eq!(answer.status, 204, "run everything by default");

    let strict = PathsChanged::new(Double::new(Answer::HostRefused)).on_failure(OnFailure::Error);
    let answer = convert(strict, CONFIG).await;
    assert_eq!(answer.status, 500);
    let body = String::from_utf8_lossy(&answer.body);
    assert!(
        !body.contains("git.example.com"),
        "no detail in the body Drone shows: {body}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hanging_source_is_cut_at_the_budget() {
    let converter = PathsChanged::new(Double::new(Answer::Hang)).budget(Duration::from_secs(5));
    let answer = convert(converter, CONFIG).await;
    assert_eq!(
        answer.status, 204,
        "run everything once the budget is spent"
    );
}

#[tokio::test]
async fn a_refused_condition_is_explained_to_the_build() {
    let double = Double::new(Answer::Files(&["api/main.go"]));
    let config = "kind: pipeline\nsteps:\n- name: a\n  when:\n    paths:\n      Include: [a/**]\n";
    let answer = convert(PathsChanged::new(double.clone()), config).await;
    assert_eq!(answer.status, 422);
    let body = String::from_utf8_lossy(&answer.body);
    assert!(body.starts_with("paths-changed: "), "{body}");
    assert!(body.contains("line"), "the message names the line: {body}");
    assert_eq!(double.calls.load(Ordering::SeqCst), 0, "refused before git");
}

#[tokio::test]
async fn each_decision_is_counted() {
    let metrics = Metrics::new();
    let cases: [(Answer, &str); 3] = [
        (Answer::Files(&["api/main.go"]), "converted"),
        (Answer::Everything, "run-everything"),
        (Answer::HostRefused, "host_refused"),
    ];
    for (answer, _) in &cases {
        let router = ExtensionRouter::new()
            .service(
                key(),
                ExtensionService::new(PathsChanged::new(Double::new(answer.clone()))),
            )
            .metrics(&metrics);
        let response = testing::call(router, ExtensionKind::Convert, &key(), &request(CONFIG))
            .await
            .unwrap();
        assert!(response.status.is_success());
    }
    let text = metrics.encode();
    for (_, decision) in cases {
        assert!(
            text.lines().any(|line| line.contains("kind=\"convert\"")
                && line.contains(&format!("decision=\"{decision}\""))),
            "{decision} counted:\n{text}"
        );
    }
}

//! `pathschanged::git::GitChangedFiles` against real git over smart HTTP on 127.0.0.1: the
//! harness's forge (`support::forge`: `git http-backend` behind a small hyper server, with an
//! optional basic-authentication check, a redirecting path, a hanging path and a slow path,
//! counting the requests it gets) over repositories each test creates.
//!
//! The tests need `git` (with `http-backend`): without it they are skipped with a message, unless
//! `CI=true`, where they fail.

use support::bounds;
use support::forge::{Forge, ForgeConfig, TempDir, Work};
use support::log::Capture;
use support::require_git;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use drone_extension::convert::ConvertRequest;
use drone_extension::models::{Build, Repo, Token};
use drone_extension::pathschanged::changes::{
    ChangeQuery, ChangedFiles, ChangedSet, ChangesError, Credential, EventRules, Rule,
};
use drone_extension::pathschanged::git::{GitChangedFiles, GitChangedFilesBuilder};

const ZERO: &str = "0000000000000000000000000000000000000000";
const TOKEN: &str = "correct-horse-token-4f9a";
const WRONG: &str = "wrong-battery-token-77c1";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The extension under test, caching in a directory of its own.
fn extension(cache: &TempDir) -> GitChangedFilesBuilder {
    GitChangedFiles::builder(cache.join("cache"))
}

fn push(url: &str, before: &str, after: &str) -> ChangeQuery {
    let mut query = ChangeQuery::new(url, "push", after);
    query.before = before.to_owned();
    query.default_branch = "main".into();
    query.target_branch = "main".into();
    query
}

fn files(outcome: Result<ChangedSet, ChangesError>) -> Vec<String> {
    match outcome {
        Ok(ChangedSet::Files(files)) => files,
        other => panic!("expected files, got {other:?}"),
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Objects in the cached repositories (all of them).
fn cached_objects(cache: &TempDir) -> usize {
    let mut total = 0;
    for entry in std::fs::read_dir(cache.join("cache")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "git") {
            let out = Command::new("git")
                .args(["cat-file", "--batch-all-objects", "--batch-check"])
                .current_dir(&path)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_NO_LAZY_FETCH", "1")
                .output()
                .unwrap();
            total += String::from_utf8_lossy(&out.stdout).lines().count();
        }
    }
    total
}

fn cached_repos(cache: &TempDir) -> usize {
    std::fs::read_dir(cache.join("cache"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "git")
        })
        .count()
}

/// The live processes whose working directory is under `dir` (Linux: `/proc/<pid>/cwd`).
#[cfg(target_os = "linux")]
fn processes_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let proc_dir = entry.path();
        let Ok(cwd) = std::fs::read_link(proc_dir.join("cwd")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(proc_dir.join("stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        });
        if cwd.starts_with(dir) && !zombie {
            let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
            found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
        }
    }
    found
}

/// Asserts that neither the error's message nor its `Debug` output has a secret.
fn assert_no_secret(error: &ChangesError, secrets: &[&str]) {
    let shown = format!("{error} {error:?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "a secret leaked: {shown}");
        let encoded = BASE64.encode(format!("x-access-token:{secret}"));
        assert!(!shown.contains(&encoded), "a secret leaked: {shown}");
    }
}

// ---------------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn push_lists_the_files_of_the_pushed_range() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("a.txt", "a");
    w.write("b.txt", "b");
    w.write("dir/c.txt", "c");
    let c1 = w.commit("c1");
    w.write("a.txt", "a2");
    w.commit("c2");
    w.write("dir/d.txt", "d");
    let c3 = w.commit("c3");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let changed = files(git.changed_files(&push(&forge.url(), &c1, &c3)).await);
    assert_eq!(changed, strings(&["a.txt", "dir/d.txt"]));

    // before == after: the empty set, without asking the forge.
    let requests = forge.requests();
    let same = files(git.changed_files(&push(&forge.url(), &c3, &c3)).await);
    assert!(same.is_empty());
    assert_eq!(forge.requests(), requests);
}

/// `main` at `c1`, and `feature` from it with two commits touching `feature/x.txt` and
/// `feature/y.txt` (`f2` its head), both pushed; `main` checked out again: `(c1, f2)`.
fn feature_branch(w: &Work) -> (String, String) {
    w.write("shared.txt", "s");
    let c1 = w.commit("c1");
    w.push("main");
    w.git(&["checkout", "-q", "-b", "feature"]);
    w.write("feature/x.txt", "x");
    w.commit("f1");
    w.write("feature/y.txt", "y");
    let f2 = w.commit("f2");
    w.push("feature");
    w.git(&["checkout", "-q", "main"]);
    (c1, f2)
}

/// A feature branch that left `main` at `c1`, while `main` went on for 70 commits.
fn diverged(w: &Work) -> (String, String, String) {
    let (c1, f2) = feature_branch(w);
    for i in 0..70 {
        w.write("main-only.txt", &i.to_string());
        w.commit(&format!("m{i}"));
    }
    let main = w.head();
    w.push("main");
    (c1, f2, main)
}

#[tokio::test]
async fn new_branch_is_compared_with_its_merge_base_not_only_its_head_commit() {
    require_git!();
    let forge = Forge::start().await;
    let (_, f2, _) = diverged(forge.work());
    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    for before in [ZERO, ""] {
        let changed = files(git.changed_files(&push(&forge.url(), before, &f2)).await);
        // Both commits of the branch (the reference saw only y.txt), nothing from main.
        assert_eq!(changed, strings(&["feature/x.txt", "feature/y.txt"]));
    }
}

#[tokio::test]
async fn pull_request_is_compared_with_the_merge_base() {
    require_git!();
    let forge = Forge::start().await;
    let (_, f2, main) = diverged(forge.work());
    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();

    let mut query = push(&forge.url(), &main, &f2);
    query.event = "pull_request".into();
    let changed = files(git.changed_files(&query).await);
    assert_eq!(changed, strings(&["feature/x.txt", "feature/y.txt"]));

    // Without the base commit, the target branch's tip is the base.
    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    query.before.clear();
    let changed = files(git.changed_files(&query).await);
    assert_eq!(changed, strings(&["feature/x.txt", "feature/y.txt"]));
}

/// A pull request's query: `base` (the target branch's tip when the event was sent) and `head`,
/// target branch `main`.
fn pull_request(url: &str, base: &str, head: &str) -> ChangeQuery {
    let mut query = push(url, base, head);
    query.event = "pull_request".into();
    query
}

/// The target branch went on after the pull request's event (a commit, then a merge of another
/// branch, touching a file the pull request's base has too): the set is the pull request's own
/// files, from the merge base of its base commit and its head, and nothing of the target's new
/// commits; the same with the target's new tip as the base (no base commit), through the merge.
#[tokio::test]
async fn pull_request_whose_target_moved_on_lists_only_its_own_files() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    let (c1, head) = feature_branch(w);
    w.write("main/m1.txt", "m1");
    let base = w.commit("m1: the target when the pull request was opened");
    w.push("main");

    // The target moves on: a commit, another branch merged.
    w.git(&["checkout", "-q", "-b", "other", &c1]);
    w.write("other/o.txt", "o");
    w.write("shared.txt", "changed on other");
    w.commit("o1");
    w.push("other");
    w.git(&["checkout", "-q", "main"]);
    w.write("main/m2.txt", "m2");
    w.commit("m2");
    w.git(&["merge", "-q", "--no-ff", "-m", "merge other", "other"]);
    let tip = w.head();
    w.push("main");
    assert_ne!(tip, base);

    let expected = strings(&["feature/x.txt", "feature/y.txt"]);
    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let query = pull_request(&forge.url(), &base, &head);
    assert_eq!(files(git.changed_files(&query).await), expected);
    // Fixed by its commits: answered again from the set cache, without the forge.
    let requests = forge.requests();
    assert_eq!(files(git.changed_files(&query).await), expected);
    assert_eq!(forge.requests(), requests);

    // Without the base commit, the target's current tip (past the merge) is the base.
    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let query = pull_request(&forge.url(), "", &head);
    assert_eq!(files(git.changed_files(&query).await), expected);
}

/// The target branch was rebased (force-pushed) after the pull request's event and the forge
/// pruned the old tip, the request's base commit: the merge base with the target's current tip
/// is used (logged), not "commit not found"; that outcome is not cached (the tip moves). A head
/// commit that is gone, and a base commit that is gone without a target branch to fall back
/// on, stay "commit not found".
#[tokio::test]
async fn pull_request_whose_base_commit_is_gone_compares_with_the_target_tip() {
    require_git!();
    let logs = Capture::default();
    let _guard = logs.install();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("shared.txt", "s");
    let c1 = w.commit("c1");
    w.push("main");
    w.git(&["checkout", "-q", "-b", "feature"]);
    w.write("feature/x.txt", "x");
    let head = w.commit("f1");
    w.push("feature");
    w.git(&["checkout", "-q", "main"]);
    w.write("main/old.txt", "old");
    let base = w.commit("the target when the pull request was opened");
    w.push("main");
    // Rebased away, and pruned: the base commit is gone from the forge.
    w.git(&["reset", "-q", "--hard", &c1]);
    w.write("main/new.txt", "new");
    w.commit("rewritten");
    w.push("main");
    forge.prune();

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let query = pull_request(&forge.url(), &base, &head);
    assert_eq!(
        files(git.changed_files(&query).await),
        strings(&["feature/x.txt"])
    );
    let logged = logs.text();
    assert!(
        logged.contains("base commit is gone") && logged.contains(&base),
        "the fallback is logged:\n{logged}"
    );

    // Not cached: asked again, the forge is asked again (for the branch's tip).
    let requests = forge.requests();
    assert_eq!(
        files(git.changed_files(&query).await),
        strings(&["feature/x.txt"])
    );
    assert!(
        forge.requests() > requests,
        "the branch's tip was fetched again"
    );

    // Without a target branch there is nothing to fall back on.
    let mut no_target = query.clone();
    no_target.target_branch.clear();
    let error = git.changed_files(&no_target).await.unwrap_err();
    assert!(
        matches!(&error, ChangesError::CommitNotFound { revision } if revision.contains(&base)),
        "{error:?}"
    );

    // A head commit that is gone is not replaced: with the base gone too, or there.
    let gone = "ab".repeat(20);
    for base in [base.as_str(), c1.as_str()] {
        let cache = TempDir::new("cache");
        let git = extension(&cache).build().unwrap();
        let error = git
            .changed_files(&pull_request(&forge.url(), base, &gone))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ChangesError::CommitNotFound {
                revision: gone.clone()
            },
            "base {base}"
        );
    }
}

#[tokio::test]
async fn force_push_with_a_pruned_before_is_commit_not_found() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("a.txt", "a");
    let c1 = w.commit("c1");
    w.write("b.txt", "b");
    let old = w.commit("old tip");
    w.push("main");
    w.git(&["reset", "-q", "--hard", &c1]);
    w.write("c.txt", "c");
    let new = w.commit("rewritten");
    w.push("main");
    forge.prune();

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let error = git
        .changed_files(&push(&forge.url(), &old, &new))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ChangesError::CommitNotFound { revision } if revision.contains(&old)),
        "{error:?}"
    );
    assert_eq!(error.class(), "commit_not_found");

    // An `after` that never existed is the same error.
    let error = git
        .changed_files(&push(&forge.url(), &c1, &"ab".repeat(20)))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ChangesError::CommitNotFound {
            revision: "ab".repeat(20)
        }
    );
}

#[tokio::test]
async fn force_push_compares_the_old_and_new_tips() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("a.txt", "a");
    let c1 = w.commit("c1");
    w.write("dropped.txt", "d");
    let old = w.commit("dropped later");
    w.push("main");
    w.git(&["reset", "-q", "--hard", &c1]);
    w.write("new.txt", "n");
    let new = w.commit("rewritten");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let changed = files(git.changed_files(&push(&forge.url(), &old, &new)).await);
    assert_eq!(changed, strings(&["dropped.txt", "new.txt"]));
}

#[tokio::test]
async fn rename_lists_both_paths() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("old/name.txt", "content that stays the same\n");
    w.write("keep.txt", "k");
    let c1 = w.commit("c1");
    std::fs::create_dir_all(w.dir().join("new")).unwrap();
    w.git(&["mv", "old/name.txt", "new/renamed.txt"]);
    let c2 = w.commit("rename");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let changed = files(git.changed_files(&push(&forge.url(), &c1, &c2)).await);
    assert_eq!(changed, strings(&["new/renamed.txt", "old/name.txt"]));
}

#[tokio::test]
async fn deletion_is_listed() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("gone/file.txt", "g");
    w.write("keep.txt", "k");
    let c1 = w.commit("c1");
    w.git(&["rm", "-q", "gone/file.txt"]);
    let c2 = w.commit("delete");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let changed = files(git.changed_files(&push(&forge.url(), &c1, &c2)).await);
    assert_eq!(changed, strings(&["gone/file.txt"]));
}

#[tokio::test]
async fn five_thousand_files_are_all_listed() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("README.md", "r");
    let c1 = w.commit("c1");
    let mut expected = Vec::new();
    for i in 0..5000 {
        let path = format!("pkg{:02}/file{i:04}.txt", i % 40);
        w.write(&path, &i.to_string());
        expected.push(path);
    }
    let c2 = w.commit("many");
    w.push("main");
    expected.sort();

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let changed = files(git.changed_files(&push(&forge.url(), &c1, &c2)).await);
    assert_eq!(changed.len(), 5000);
    assert_eq!(changed, expected);
}

#[tokio::test]
async fn names_with_spaces_unicode_and_newlines() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("plain.txt", "p");
    let c1 = w.commit("c1");
    let names = [
        "dir with space/file name.txt",
        "ünïcödé/日本語.md",
        "line\nbreak.txt",
        "tab\there.txt",
        "quote\"and\\backslash.txt",
    ];
    for name in names {
        w.write(name, name);
    }
    let c2 = w.commit("names");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let changed = files(git.changed_files(&push(&forge.url(), &c1, &c2)).await);
    let mut expected = strings(&names);
    expected.sort();
    assert_eq!(changed, expected);
}

#[tokio::test]
async fn tag_and_cron_run_everything_without_a_request() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("a.txt", "a");
    let c1 = w.commit("c1");
    w.write("b.txt", "b");
    let c2 = w.commit("c2");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    for event in ["tag", "cron", "promote", "rollback", "custom"] {
        let mut query = push(&forge.url(), &c1, &c2);
        query.event = event.into();
        let outcome = git.changed_files(&query).await.unwrap();
        assert!(
            matches!(outcome, ChangedSet::Everything { .. }),
            "{event}: {outcome:?}"
        );
    }
    assert_eq!(forge.requests(), 0);

    // The reference's rule for cron, configured: the head commit's files.
    let git = extension(&cache)
        .rules(EventRules::default().set("cron", Rule::HeadCommit))
        .build()
        .unwrap();
    let mut query = push(&forge.url(), "", &c2);
    query.event = "cron".into();
    assert_eq!(files(git.changed_files(&query).await), strings(&["b.txt"]));
    // A root commit lists all its files.
    query.after = c1;
    assert_eq!(files(git.changed_files(&query).await), strings(&["a.txt"]));
}

// ---------------------------------------------------------------------------------------------
// Hosts, redirects, credentials
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn host_not_allowed_is_refused_before_any_request() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("a.txt", "a");
    let c1 = w.commit("c1");
    w.write("b.txt", "b");
    let c2 = w.commit("c2");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache)
        .allowed_hosts(["git.example.com", "127.0.0.1:1"])
        .build()
        .unwrap();
    let error = git
        .changed_files(&push(&forge.url(), &c1, &c2))
        .await
        .unwrap_err();
    assert!(matches!(&error, ChangesError::HostRefused { host } if host.starts_with("127.0.0.1:")));
    assert_eq!(error.class(), "host_refused");
    assert_eq!(forge.requests(), 0, "nothing may reach a refused host");
    assert_eq!(cached_repos(&cache), 0);

    // The same host with its port allowed.
    let git = extension(&cache)
        .allowed_hosts([format!("127.0.0.1:{}", forge.addr().port())])
        .build()
        .unwrap();
    let changed = files(git.changed_files(&push(&forge.url(), &c1, &c2)).await);
    assert_eq!(changed, strings(&["b.txt"]));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("a.txt", "a");
    let c1 = w.commit("c1");
    w.write("b.txt", "b");
    let c2 = w.commit("c2");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let url = format!("http://127.0.0.1:{}/redirect/repo.git", forge.addr().port());
    let query = push(&url, &c1, &c2).with_credential(Credential::new("x-access-token", TOKEN));
    let error = git.changed_files(&query).await.unwrap_err();
    assert_eq!(error.class(), "redirect", "{error:?}");
    assert_no_secret(&error, &[TOKEN]);
    assert_eq!(forge.served(), 0, "the redirect's target was not requested");
    assert!(forge.requests() >= 1);
}

#[tokio::test]
async fn credential_is_sent_and_wrong_or_missing_ones_are_refused() {
    require_git!();
    let forge = Forge::start_with(ForgeConfig {
        basic: Some(("x-access-token".into(), TOKEN.into())),
    })
    .await;
    let w = forge.work();
    w.write("a.txt", "a");
    let c1 = w.commit("c1");
    w.write("b.txt", "b");
    let c2 = w.commit("c2");
    w.push("main");

    // Wrong credential.
    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let wrong =
        push(&forge.url(), &c1, &c2).with_credential(Credential::new("x-access-token", WRONG));
    assert!(!format!("{wrong:?}").contains(WRONG));
    let error = git.changed_files(&wrong).await.unwrap_err();
    assert_eq!(error.class(), "auth", "{error:?}");
    assert_no_secret(&error, &[WRONG, TOKEN]);

    // No credential.
    let error = git
        .changed_files(&push(&forge.url(), &c1, &c2))
        .await
        .unwrap_err();
    assert_eq!(error.class(), "auth", "{error:?}");

    // The token of a Drone request.
    let request = ConvertRequest {
        build: Build {
            event: "push".into(),
            before: c1.clone(),
            after: c2.clone(),
            ..Default::default()
        },
        repo: Repo {
            git_http_url: forge.url(),
            default_branch: "main".into(),
            ..Default::default()
        },
        token: Some(Token {
            access: TOKEN.into(),
            refresh: String::new(),
        }),
        ..Default::default()
    };
    let query = ChangeQuery::from_drone(&request);
    assert!(!format!("{query:?}").contains(TOKEN));
    assert_eq!(files(git.changed_files(&query).await), strings(&["b.txt"]));
    let sent = forge.authorizations();
    let right = format!("Basic {}", BASE64.encode(format!("x-access-token:{TOKEN}")));
    assert!(
        sent.contains(&right),
        "the credential was sent as basic authentication"
    );

    // An operator credential wins over the request's.
    let cache = TempDir::new("cache");
    let git = extension(&cache)
        .operator_credential(Credential::new("x-access-token", TOKEN))
        .build()
        .unwrap();
    assert_eq!(files(git.changed_files(&wrong).await), strings(&["b.txt"]));
    assert!(!format!("{git:?}").contains(TOKEN));

    // The credential is in no file of the cache.
    let mut stack = vec![cache.path().to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read(&path) {
                let text = String::from_utf8_lossy(&text);
                assert!(!text.contains(TOKEN), "the token is in {}", path.display());
            }
        }
    }
}

#[tokio::test]
async fn unreachable_forge_and_missing_repository() {
    require_git!();
    // A port nothing listens on (bound, then closed).
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let query = push(
        &format!("http://127.0.0.1:{port}/repo.git"),
        &"1".repeat(40),
        &"2".repeat(40),
    )
    .with_credential(Credential::new("x-access-token", TOKEN));
    let error = git.changed_files(&query).await.unwrap_err();
    assert_eq!(error.class(), "unreachable", "{error:?}");
    assert_no_secret(&error, &[TOKEN]);

    let forge = Forge::start().await;
    let url = format!("http://127.0.0.1:{}/nope.git", forge.addr().port());
    let error = git
        .changed_files(&push(&url, &"1".repeat(40), &"2".repeat(40)))
        .await
        .unwrap_err();
    assert_eq!(error.class(), "repo_not_found", "{error:?}");
}

#[tokio::test]
async fn invalid_clone_urls_are_refused_without_running_git() {
    require_git!();
    let cache = TempDir::new("cache");
    let git = extension(&cache).allow_http(false).build().unwrap();
    for url in [
        "file:///etc",
        "ext::sh -c id",
        "ssh://git@127.0.0.1/repo.git",
        "-uhttps://x/y",
        "https://user:hunter2@127.0.0.1/repo.git",
        "http://127.0.0.1/repo.git",
    ] {
        let error = git
            .changed_files(&push(url, &"1".repeat(40), &"2".repeat(40)))
            .await
            .unwrap_err();
        assert_eq!(error.class(), "invalid", "{url}: {error:?}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
    assert_eq!(cached_repos(&cache), 0);
}

// ---------------------------------------------------------------------------------------------
// Cache
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn second_request_fetches_only_the_new_commits() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    // 200 directories: a fetch from scratch would bring at least 200 trees.
    for d in 0..200 {
        w.write(&format!("dir{d:03}/file.txt"), &d.to_string());
    }
    let c1 = w.commit("c1");
    w.write("dir000/file.txt", "changed");
    let c2 = w.commit("c2");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    assert_eq!(
        files(git.changed_files(&push(&forge.url(), &c1, &c2)).await),
        strings(&["dir000/file.txt"])
    );
    let objects = cached_objects(&cache);
    assert!(
        objects > 200,
        "the first fetch brought the trees ({objects} objects)"
    );

    w.write("dir001/file.txt", "changed");
    let c3 = w.commit("c3");
    w.push("main");
    let packs = forge.upload_packs();
    assert_eq!(
        files(git.changed_files(&push(&forge.url(), &c2, &c3)).await),
        strings(&["dir001/file.txt"])
    );
    let added = cached_objects(&cache) - objects;
    // The new commit, its root tree and the one changed directory's tree.
    assert!(added <= 3, "the second fetch brought {added} objects");
    assert_eq!(forge.upload_packs() - packs, 1, "one fetch");

    // The same range again: the set cache answers, nothing is fetched.
    let requests = forge.requests();
    assert_eq!(
        files(git.changed_files(&push(&forge.url(), &c2, &c3)).await),
        strings(&["dir001/file.txt"])
    );
    assert_eq!(forge.requests(), requests);

    // A new instance (empty set cache) on the same directory answers from the cached
    // repository without fetching.
    let again = extension(&cache).build().unwrap();
    assert_eq!(
        files(again.changed_files(&push(&forge.url(), &c1, &c3)).await),
        strings(&["dir000/file.txt", "dir001/file.txt"])
    );
    assert_eq!(forge.requests(), requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_on_one_repository() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    let mut commits = vec![w.commit("empty root")];
    for i in 0..6 {
        w.write(&format!("f{i}.txt"), "x");
        commits.push(w.commit(&format!("c{i}")));
    }
    w.push("main");
    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let git = git.clone();
        let query = push(&forge.url(), &commits[i], &commits[i + 1]);
        tasks.push(tokio::spawn(async move { git.changed_files(&query).await }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(files(task.await.unwrap()), vec![format!("f{i}.txt")]);
    }
    assert_eq!(cached_repos(&cache), 1);
}

#[test]
fn a_missing_git_fails_the_build() {
    let cache = TempDir::new("cache");
    let error = extension(&cache)
        .git_binary("/nonexistent/git")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("/nonexistent/git"), "{error}");
}

#[tokio::test]
async fn repositories_beyond_the_bound_are_evicted() {
    require_git!();
    let one = Forge::start().await;
    let two = Forge::start().await;
    let mut ranges = Vec::new();
    for forge in [&one, &two] {
        let w = forge.work();
        w.write("a.txt", "a");
        let c1 = w.commit("c1");
        w.write("b.txt", "b");
        let c2 = w.commit("c2");
        w.push("main");
        ranges.push((forge.url(), c1, c2));
    }
    let cache = TempDir::new("cache");
    let git = extension(&cache).max_repos(1).build().unwrap();
    for (url, c1, c2) in &ranges {
        assert_eq!(
            files(git.changed_files(&push(url, c1, c2)).await),
            strings(&["b.txt"])
        );
        assert_eq!(cached_repos(&cache), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Bounds
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hung_forge_ends_with_a_timeout() {
    require_git!();
    let forge = Forge::start().await;
    let cache = TempDir::new("cache");
    let budget = Duration::from_secs(1);
    let git = extension(&cache).budget(budget).build().unwrap();
    let url = format!("http://127.0.0.1:{}/hang/repo.git", forge.addr().port());
    let query = push(&url, &"1".repeat(40), &"2".repeat(40))
        .with_credential(Credential::new("x-access-token", TOKEN));
    let started = Instant::now();
    let error = git.changed_files(&query).await.unwrap_err();
    bounds::assert_ends_within("a fetch from a hung forge", started.elapsed(), budget);
    assert_eq!(error, ChangesError::Timeout { budget });
    assert_no_secret(&error, &[TOKEN]);
    assert!(forge.requests() >= 1);
    // git and its helpers (`git-remote-http`) were killed: no process works in the cache.
    #[cfg(target_os = "linux")]
    {
        let killed = Instant::now();
        while !processes_in(cache.path()).is_empty() {
            assert!(
                killed.elapsed() < bounds::hang_bound(Duration::from_secs(1)),
                "git processes still run in the cache: {:?}",
                processes_in(cache.path())
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // The repository is usable afterwards (leftovers of the killed git are cleaned).
    let w = forge.work();
    w.write("a.txt", "a");
    let c1 = w.commit("c1");
    w.write("b.txt", "b");
    let c2 = w.commit("c2");
    w.push("main");
    let git = extension(&cache).build().unwrap();
    assert_eq!(
        files(git.changed_files(&push(&forge.url(), &c1, &c2)).await),
        strings(&["b.txt"])
    );
}

#[tokio::test]
async fn fetch_beyond_the_byte_bound_is_too_large() {
    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("README.md", "r");
    let c1 = w.commit("c1");
    // About 3,000 trees, dribbled by the slow path at 20 KiB/s: the watcher sees the pack grow.
    for d in 0..3000 {
        w.write(&format!("d{d:04}/{d}/f.txt"), &d.to_string());
    }
    let c2 = w.commit("c2");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache)
        .max_fetch_bytes(4 << 10)
        .budget(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{}/slow/repo.git", forge.addr().port());
    let started = Instant::now();
    let error = git.changed_files(&push(&url, &c1, &c2)).await.unwrap_err();
    bounds::assert_ends_within(
        "a fetch over the byte bound",
        started.elapsed(),
        Duration::from_secs(1),
    );
    assert_eq!(
        error,
        ChangesError::TooLarge {
            what: "the fetched pack",
            limit: 4 << 10
        }
    );
    assert_eq!(error.class(), "too_large");
}

/// The whole converter over real git: a signed Drone convert request for a push that touched
/// only `web/`, answered with the api step skipped and every other byte of the file kept.
#[tokio::test]
async fn the_converter_skips_the_untouched_step_over_real_git() {
    use drone_extension::pathschanged::PathsChanged;
    use drone_extension::service::ExtensionService;
    use drone_extension::signature::SharedSecret;
    use drone_extension::{ExtensionKind, testing};

    require_git!();
    let forge = Forge::start().await;
    let w = forge.work();
    w.write("api/main.go", "package main\n");
    w.write("web/app.ts", "export {}\n");
    let c1 = w.commit("c1");
    w.write("web/app.ts", "export const x = 1\n");
    let c2 = w.commit("c2");
    w.push("main");

    let config = "kind: pipeline\nname: default\nsteps:\n- name: api  # Go\n  image: golang\n  when:\n    paths: [api/**]\n- name: web\n  image: node\n  when:\n    paths: [web/**]\n";
    let body = serde_json::json!({
        "build": {"event": "push", "before": c1, "after": c2, "ref": "refs/heads/main",
                  "target": "main", "source": "main"},
        "repo": {"slug": "octocat/repo", "default_branch": "main", "git_http_url": forge.url()},
        "config": {"data": config, "kind": ""},
    });
    let cache = TempDir::new("cache");
    let converter = PathsChanged::new(extension(&cache).build().unwrap());
    let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6").unwrap();
    let answer = testing::call(
        ExtensionService::new(converter),
        ExtensionKind::Convert,
        &key,
        &body,
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let data = answer.config().unwrap().expect("converted").data;
    let web = data.find("- name: web").unwrap();
    assert!(
        data[..web].contains("event"),
        "the api step is skipped:\n{data}"
    );
    assert!(!data[web..].contains("event"), "the web step runs:\n{data}");
    assert!(
        data.contains("- name: api  # Go\n"),
        "comments kept:\n{data}"
    );
    let without_marker: String = data
        .lines()
        .filter(|line| {
            !line.contains("event")
                && !line.contains("exclude")
                && !line.trim_start().starts_with("- '*'")
                && !line.trim_start().starts_with("- \"*\"")
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(without_marker, config, "only the marker was added:\n{data}");
}

/// A wrong token in Drone's request: the converter runs everything (204, the configuration kept)
/// and counts it (`decision="auth"`), never skipping on a failure; the right token converts.
#[tokio::test]
async fn a_wrong_token_runs_everything_and_is_counted() {
    use drone_extension::ExtensionKind;
    use drone_extension::metrics::Metrics;
    use drone_extension::pathschanged::PathsChanged;
    use drone_extension::router::ExtensionRouter;
    use drone_extension::service::ExtensionService;
    use drone_extension::signature::SharedSecret;
    use drone_extension::testing;

    require_git!();
    let forge = Forge::start_with(ForgeConfig {
        basic: Some(("x-access-token".into(), TOKEN.into())),
    })
    .await;
    let w = forge.work();
    w.write("api/main.go", "package main\n");
    w.write("web/app.ts", "export {}\n");
    let c1 = w.commit("c1");
    w.write("web/app.ts", "export const x = 1\n");
    let c2 = w.commit("c2");
    w.push("main");

    let config = "kind: pipeline\nname: api\ntrigger:\n  paths: [api/**]\nsteps:\n- name: test\n  image: golang\n";
    let body = |token: &str| {
        serde_json::json!({
            "build": {"event": "push", "before": c1, "after": c2, "ref": "refs/heads/main",
                      "target": "main", "source": "main"},
            "repo": {"slug": "octocat/repo", "default_branch": "main", "git_http_url": forge.url()},
            "config": {"data": config, "kind": ""},
            "token": {"access": token},
        })
    };
    let key = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6").unwrap();
    let metrics = Metrics::new();
    let cache = TempDir::new("cache");
    let router = ExtensionRouter::new()
        .service(
            key.clone(),
            ExtensionService::new(PathsChanged::new(extension(&cache).build().unwrap())),
        )
        .metrics(&metrics);

    let wrong = testing::call(router.clone(), ExtensionKind::Convert, &key, &body(WRONG))
        .await
        .unwrap();
    assert_eq!(wrong.status, 204, "a refused token skips nothing");
    let text = metrics.encode();
    assert!(
        text.lines()
            .any(|l| l.contains("kind=\"convert\"") && l.contains("decision=\"auth\"")),
        "counted:\n{text}"
    );

    let right = testing::call(router, ExtensionKind::Convert, &key, &body(TOKEN))
        .await
        .unwrap();
    assert_eq!(
        right.status, 200,
        "the api pipeline is skipped with the right token"
    );
}

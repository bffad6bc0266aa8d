//! `pathschanged::git::GitChangedFiles` against real git over smart HTTP on 127.0.0.1: a small
//! hyper server runs `git http-backend` as a CGI program over temporary bare repositories (with
//! an optional basic-authentication check, a redirecting path, a hanging path and a slow path),
//! and counts the requests it gets.
//!
//! The tests need `git` (with `http-backend`): without it they are skipped with a message, unless
//! `CI=true`, where they fail.

use support::bounds;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use drone_extension::convert::ConvertRequest;
use drone_extension::models::{Build, Repo, Token};
use drone_extension::pathschanged::changes::{
    ChangeQuery, ChangedFiles, ChangedSet, ChangesError, Credential, EventRules, Rule,
};
use drone_extension::pathschanged::git::{GitChangedFiles, GitChangedFilesBuilder};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

const ZERO: &str = "0000000000000000000000000000000000000000";
const TOKEN: &str = "correct-horse-token-4f9a";
const WRONG: &str = "wrong-battery-token-77c1";

// ---------------------------------------------------------------------------------------------
// git availability
// ---------------------------------------------------------------------------------------------

/// Whether git (with `http-backend`) is here; without it, `false` and a message, or a failure on
/// CI.
fn have_git() -> bool {
    let ok = Command::new("git")
        .args(["http-backend", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
        && Command::new("git")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("git is required for tests/pathschanged_git.rs on CI");
        }
        eprintln!(
            "SKIPPED: git is not installed; tests/pathschanged_git.rs needs git and git http-backend"
        );
    }
    ok
}

macro_rules! require_git {
    () => {
        if !have_git() {
            return;
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Temporary directories and the test-side git
// ---------------------------------------------------------------------------------------------

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "pathschanged-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// git for the test's own repositories: fixed identity and dates, no user configuration.
fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Octo Cat")
        .env("GIT_AUTHOR_EMAIL", "octocat@example.com")
        .env("GIT_COMMITTER_NAME", "Octo Cat")
        .env("GIT_COMMITTER_EMAIL", "octocat@example.com")
        .env("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A working repository whose branches are pushed to a bare repository the forge serves.
struct Work {
    dir: PathBuf,
    home: PathBuf,
}

impl Work {
    fn git(&self, args: &[&str]) -> String {
        git(&self.dir, &self.home, args)
    }

    fn write(&self, path: &str, content: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Commits everything; the new commit's id.
    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    fn push(&self, branch: &str) {
        self.git(&[
            "push",
            "-q",
            "--force",
            "origin",
            &format!("HEAD:refs/heads/{branch}"),
        ]);
    }
}

// ---------------------------------------------------------------------------------------------
// The forge: git http-backend behind hyper
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Counters {
    /// Every request, whatever its path.
    requests: AtomicUsize,
    /// `POST …/git-upload-pack` requests (one or more per fetch).
    upload_packs: AtomicUsize,
    /// Requests that reached http-backend (past the authentication check).
    served: AtomicUsize,
    /// The `Authorization` headers seen.
    authorizations: Mutex<Vec<String>>,
}

struct Forge {
    addr: SocketAddr,
    root: TempDir,
    counters: Arc<Counters>,
    work: Work,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Forge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct ForgeConfig {
    /// `(username, password)` required on every request, when set.
    basic: Option<(String, String)>,
}

impl Forge {
    /// A forge serving `repo.git` (empty, branch `main`), without authentication.
    async fn start() -> Self {
        Self::start_with(ForgeConfig { basic: None }).await
    }

    async fn start_with(config: ForgeConfig) -> Self {
        let root = TempDir::new("forge");
        let home = root.0.join("home");
        std::fs::create_dir_all(&home).unwrap();
        git(
            &root.0,
            &home,
            &["init", "-q", "--bare", "-b", "main", "repo.git"],
        );
        let bare = root.0.join("repo.git");
        git(&bare, &home, &["config", "uploadpack.allowFilter", "true"]);
        git(&bare, &home, &["config", "http.receivepack", "false"]);
        let work_dir = root.0.join("work");
        std::fs::create_dir_all(&work_dir).unwrap();
        git(&work_dir, &home, &["init", "-q", "-b", "main", "."]);
        git(
            &work_dir,
            &home,
            &["remote", "add", "origin", bare.to_str().unwrap()],
        );

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(Counters::default());
        let state = Arc::new(ServerState {
            root: root.0.clone(),
            home: home.clone(),
            counters: Arc::clone(&counters),
            basic: config.basic,
            port: addr.port(),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(state.handle(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Forge {
            addr,
            work: Work {
                dir: work_dir,
                home,
            },
            root,
            counters,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/repo.git", self.addr.port())
    }

    fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    fn upload_packs(&self) -> usize {
        self.counters.upload_packs.load(Ordering::SeqCst)
    }

    /// The bare repository served.
    fn bare(&self) -> PathBuf {
        self.root.0.join("repo.git")
    }

    /// Drops every unreachable object of the served repository (what a forge eventually does
    /// after a force push).
    fn prune(&self) {
        let bare = self.bare();
        git(
            &bare,
            &self.work.home,
            &["reflog", "expire", "--expire=now", "--all"],
        );
        git(&bare, &self.work.home, &["gc", "-q", "--prune=now"]);
    }
}

struct ServerState {
    root: PathBuf,
    home: PathBuf,
    counters: Arc<Counters>,
    basic: Option<(String, String)>,
    port: u16,
}

type Body = BoxBody<Bytes, Infallible>;

/// A body sent as its chunks arrive.
struct Dribble(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for Dribble {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(http_body::Frame::data(data))))
    }
}

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    response
}

impl ServerState {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let counters = &self.counters;
        counters.requests.fetch_add(1, Ordering::SeqCst);
        let path = request.uri().path().to_owned();
        if let Some(value) = request.headers().get(http::header::AUTHORIZATION) {
            counters
                .authorizations
                .lock()
                .unwrap()
                .push(value.to_str().unwrap_or("?").to_owned());
        }
        // Never answers.
        if path.starts_with("/hang/") {
            std::future::pending::<()>().await;
        }
        // To the same server under another host name.
        if let Some(rest) = path.strip_prefix("/redirect") {
            let query = request
                .uri()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let mut response = full(StatusCode::FOUND, "");
            let location = format!("http://localhost:{}{rest}{query}", self.port);
            response
                .headers_mut()
                .insert(http::header::LOCATION, location.parse().unwrap());
            return response;
        }
        if let Some((user, password)) = &self.basic {
            let expected = format!("Basic {}", BASE64.encode(format!("{user}:{password}")));
            let given = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            if given != Some(expected.as_str()) {
                let mut response = full(StatusCode::UNAUTHORIZED, "");
                response.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    "Basic realm=\"forge\"".parse().unwrap(),
                );
                return response;
            }
        }
        let (slow, path) = match path.strip_prefix("/slow") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, path),
        };
        if path.ends_with("/git-upload-pack") {
            counters.upload_packs.fetch_add(1, Ordering::SeqCst);
        }
        counters.served.fetch_add(1, Ordering::SeqCst);
        self.cgi(request, &path, slow).await
    }

    /// `git http-backend` for one request.
    async fn cgi(&self, request: Request<Incoming>, path: &str, slow: bool) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let mut command = tokio::process::Command::new("git");
        command
            .arg("http-backend")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_PROJECT_ROOT", &self.root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("REQUEST_METHOD", parts.method.as_str())
            .env("PATH_INFO", path)
            .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
            .env("CONTENT_TYPE", header("content-type"))
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
            .env("HTTP_GIT_PROTOCOL", header("git-protocol"))
            .env("REMOTE_ADDR", "127.0.0.1")
            .env("REMOTE_USER", "octocat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let Ok(mut child) = command.spawn() else {
            return full(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot start http-backend",
            );
        };
        let mut stdin = child.stdin.take().unwrap();
        let feed = async move {
            let _ = stdin.write_all(&body).await;
        };
        let (_, output) = tokio::join!(feed, child.wait_with_output());
        let Ok(output) = output else {
            return full(StatusCode::INTERNAL_SERVER_ERROR, "http-backend failed");
        };
        let out = output.stdout;
        let Some(split) = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        else {
            return full(StatusCode::INTERNAL_SERVER_ERROR, "no CGI headers");
        };
        let head = String::from_utf8_lossy(&out[..split.0]).into_owned();
        let content = Bytes::copy_from_slice(&out[split.0 + split.1..]);
        let mut builder = Response::builder().status(StatusCode::OK);
        for line in head.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("status") {
                let code = value.split(' ').next().unwrap_or("500");
                builder = builder.status(code.parse::<u16>().unwrap_or(500));
            } else {
                builder = builder.header(name, value);
            }
        }
        let body: Body = if slow {
            // Dribbles the answer: 1 KiB every 50 ms.
            let (sender, receiver) = tokio::sync::mpsc::channel(1);
            tokio::spawn(async move {
                for chunk in content.chunks(1024) {
                    if sender.send(Bytes::copy_from_slice(chunk)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
            Dribble(receiver).boxed()
        } else {
            Full::new(content).boxed()
        };
        builder
            .body(body)
            .unwrap_or_else(|_| full(StatusCode::INTERNAL_SERVER_ERROR, "bad CGI headers"))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The extension under test, caching in a directory of its own.
fn extension(cache: &TempDir) -> GitChangedFilesBuilder {
    GitChangedFiles::builder(cache.0.join("cache"))
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
    for entry in std::fs::read_dir(cache.0.join("cache")).unwrap() {
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
    std::fs::read_dir(cache.0.join("cache"))
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
    let w = &forge.work;
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

/// A feature branch that left `main` at `c1`, while `main` went on for 70 commits.
fn diverged(w: &Work) -> (String, String, String) {
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
    let (_, f2, _) = diverged(&forge.work);
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
    let (_, f2, main) = diverged(&forge.work);
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

#[tokio::test]
async fn force_push_with_a_pruned_before_is_commit_not_found() {
    require_git!();
    let forge = Forge::start().await;
    let w = &forge.work;
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
    let w = &forge.work;
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
    let w = &forge.work;
    w.write("old/name.txt", "content that stays the same\n");
    w.write("keep.txt", "k");
    let c1 = w.commit("c1");
    std::fs::create_dir_all(w.dir.join("new")).unwrap();
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
    let w = &forge.work;
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
    let w = &forge.work;
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
    let w = &forge.work;
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
    let w = &forge.work;
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
    let w = &forge.work;
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
        .allowed_hosts([format!("127.0.0.1:{}", forge.addr.port())])
        .build()
        .unwrap();
    let changed = files(git.changed_files(&push(&forge.url(), &c1, &c2)).await);
    assert_eq!(changed, strings(&["b.txt"]));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    require_git!();
    let forge = Forge::start().await;
    let w = &forge.work;
    w.write("a.txt", "a");
    let c1 = w.commit("c1");
    w.write("b.txt", "b");
    let c2 = w.commit("c2");
    w.push("main");

    let cache = TempDir::new("cache");
    let git = extension(&cache).build().unwrap();
    let url = format!("http://127.0.0.1:{}/redirect/repo.git", forge.addr.port());
    let query = push(&url, &c1, &c2).with_credential(Credential::new("x-access-token", TOKEN));
    let error = git.changed_files(&query).await.unwrap_err();
    assert_eq!(error.class(), "redirect", "{error:?}");
    assert_no_secret(&error, &[TOKEN]);
    assert_eq!(
        forge.counters.served.load(Ordering::SeqCst),
        0,
        "the redirect's target was not requested"
    );
    assert!(forge.requests() >= 1);
}

#[tokio::test]
async fn credential_is_sent_and_wrong_or_missing_ones_are_refused() {
    require_git!();
    let forge = Forge::start_with(ForgeConfig {
        basic: Some(("x-access-token".into(), TOKEN.into())),
    })
    .await;
    let w = &forge.work;
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
    let sent = forge.counters.authorizations.lock().unwrap().clone();
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
    let mut stack = vec![cache.0.clone()];
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
    let url = format!("http://127.0.0.1:{}/nope.git", forge.addr.port());
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
    let w = &forge.work;
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
    let w = &forge.work;
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
        let w = &forge.work;
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
    let url = format!("http://127.0.0.1:{}/hang/repo.git", forge.addr.port());
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
        while !processes_in(&cache.0).is_empty() {
            assert!(
                killed.elapsed() < bounds::hang_bound(Duration::from_secs(1)),
                "git processes still run in the cache: {:?}",
                processes_in(&cache.0)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // The repository is usable afterwards (leftovers of the killed git are cleaned).
    let w = &forge.work;
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
    let w = &forge.work;
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
    let url = format!("http://127.0.0.1:{}/slow/repo.git", forge.addr.port());
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
    let w = &forge.work;
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
    let w = &forge.work;
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

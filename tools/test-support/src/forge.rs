//! A git forge on 127.0.0.1: `git http-backend` (smart HTTP, protocol v2, partial clone
//! allowed) run as a CGI program behind a small hyper server, over a temporary bare repository
//! `repo.git` (branch `main`, empty at start), with a working repository ([`Work`]) whose
//! branches are pushed to it. The server counts the requests it gets and, when configured,
//! requires HTTP basic authentication ([`ForgeConfig::basic`]).
//!
//! Besides `/repo.git`, some paths misbehave on purpose:
//!
//! | path | answer |
//! |---|---|
//! | `/hang/…` | never answers |
//! | `/redirect/…` | `302` to `http://localhost:PORT/…` (the same server under another name) |
//! | `/slow/…` | the answer to `/…`, dribbled 1 KiB every 50 ms |
//!
//! Everything needs `git` (with `http-backend`): [`have_git`] says whether it is here (skipping
//! with a message, or failing when `CI=true`), and [`require_git!`](crate::require_git) returns
//! from a test without it.
//!
//! ```no_run
//! # use drone_extension_test_support as support;
//! # async fn run() {
//! use support::forge::Forge;
//! support::require_git!();
//! let forge = Forge::start().await;
//! let w = forge.work();
//! w.write("api/main.go", "package main\n");
//! let c1 = w.commit("c1");
//! w.push("main");
//! let url = forge.url(); // http://127.0.0.1:PORT/repo.git
//! # }
//! ```

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

pub use crate::TempDir;

// ---------------------------------------------------------------------------------------------
// git availability
// ---------------------------------------------------------------------------------------------

/// Whether git (with `http-backend`) is here. Without it: `false` and a `SKIPPED` message
/// naming the running test program, or a panic when `CI=true` (CI installs git).
pub fn have_git() -> bool {
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
        let program = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "this test".to_owned());
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("git (with git http-backend) is required for {program} on CI");
        }
        eprintln!("SKIPPED: git is not installed; {program} needs git and git http-backend");
    }
    ok
}

/// Returns from the calling test (or function returning `()`) when git is not here (see
/// [`forge::have_git`](crate::forge::have_git)).
#[macro_export]
macro_rules! require_git {
    () => {
        if !$crate::forge::have_git() {
            return;
        }
    };
}

// ---------------------------------------------------------------------------------------------
// The test-side git
// ---------------------------------------------------------------------------------------------

/// Runs git in `dir` for the test's own repositories (fixed identity and dates, `HOME` set to
/// `home`, no system configuration) and returns its standard output, trimmed. Panics with git's
/// message when it fails.
pub fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    git_with_input(dir, home, args, None)
}

/// [`git`] with `input` on its standard input (`fast-import`, `update-ref --stdin`, …).
pub fn git_with_input(dir: &Path, home: &Path, args: &[&str], input: Option<&[u8]>) -> String {
    let mut child = Command::new("git")
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
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git runs");
    let writer = match (child.stdin.take(), input) {
        (Some(mut stdin), Some(input)) => {
            let input = input.to_vec();
            Some(std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            }))
        }
        _ => None,
    };
    let output = child.wait_with_output().expect("git runs");
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A working repository whose branches are pushed (`origin`) to the bare repository the forge
/// serves.
pub struct Work {
    dir: PathBuf,
    home: PathBuf,
}

impl Work {
    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs [`git`] in it.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.dir, &self.home, args)
    }

    /// Runs [`git_with_input`] in it.
    pub fn git_with_input(&self, args: &[&str], input: &[u8]) -> String {
        git_with_input(&self.dir, &self.home, args, Some(input))
    }

    /// Writes `content` to `path` (relative to the working directory; parents created).
    pub fn write(&self, path: &str, content: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Commits everything (an empty commit when nothing changed); the new commit's id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    /// The id of `HEAD`.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Pushes `HEAD` to the forge's `branch`, forced.
    pub fn push(&self, branch: &str) {
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
// The forge
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

/// How a [`Forge`] answers.
#[derive(Debug, Clone, Default)]
pub struct ForgeConfig {
    /// `(username, password)` required on every request (HTTP basic authentication), when set;
    /// anything else is answered `401` with a `WWW-Authenticate` challenge.
    pub basic: Option<(String, String)>,
}

/// A git forge on 127.0.0.1 serving `/repo.git` (see the [module docs](self)); stopped, and its
/// directories removed, when dropped. Needs a tokio runtime (its server is a task of the
/// runtime it is started in).
pub struct Forge {
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

impl Forge {
    /// A forge serving `repo.git` (empty, branch `main`), without authentication.
    pub async fn start() -> Self {
        Self::start_with(ForgeConfig::default()).await
    }

    /// A forge configured by `config`.
    pub async fn start_with(config: ForgeConfig) -> Self {
        let root = TempDir::new("forge");
        let home = root.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        git(
            root.path(),
            &home,
            &["init", "-q", "--bare", "-b", "main", "repo.git"],
        );
        let bare = root.path().join("repo.git");
        git(&bare, &home, &["config", "uploadpack.allowFilter", "true"]);
        git(&bare, &home, &["config", "http.receivepack", "false"]);
        let work_dir = root.path().join("work");
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
            root: root.path().to_owned(),
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

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The clone URL of the served repository, `http://127.0.0.1:PORT/repo.git`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/repo.git", self.addr.port())
    }

    /// The working repository whose pushes the forge serves.
    pub fn work(&self) -> &Work {
        &self.work
    }

    /// Every request so far, whatever its path.
    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// The `POST …/git-upload-pack` requests so far (one or more per fetch).
    pub fn upload_packs(&self) -> usize {
        self.counters.upload_packs.load(Ordering::SeqCst)
    }

    /// The requests that reached `http-backend` so far (past the authentication check).
    pub fn served(&self) -> usize {
        self.counters.served.load(Ordering::SeqCst)
    }

    /// The `Authorization` headers received so far.
    pub fn authorizations(&self) -> Vec<String> {
        self.counters.authorizations.lock().unwrap().clone()
    }

    /// The bare repository served.
    pub fn bare(&self) -> PathBuf {
        self.root.path().join("repo.git")
    }

    /// Drops every unreachable object of the served repository (what a forge eventually does
    /// after a force push): a commit no branch reaches is then really gone.
    pub fn prune(&self) {
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

//! Servers and command-line programs as child processes: the binaries under test (the tools'
//! own, through `env!("CARGO_BIN_EXE_<name>")`; another package's or an example's, found next to
//! the test's executable by [`tool`] and [`example`]), started with `DRONE_BIND=127.0.0.1:0`,
//! their address read from the `listening addr=…` log line. No test builds a binary: cargo builds
//! them before it runs any test.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

#[cfg(feature = "client")]
use drone_extension::client::Client;
#[cfg(feature = "client")]
use drone_extension::signature::SharedSecret;

pub use crate::SECRET;
/// How long a server may take to log its address.
pub const STARTUP: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The binaries
// ---------------------------------------------------------------------------------------------

/// The directory cargo builds the running test's profile into (`target/debug`): the test's
/// executable is in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its executable");
    let deps = exe.parent().expect("the test executable is in deps/");
    deps.parent()
        .expect("deps/ is in the profile's directory")
        .to_path_buf()
}

/// The executable of the binary `bin` of another workspace package (`drone-extension-probe`,
/// `drone-extension-starter`, …), in the test's own target directory and profile. Cargo builds
/// every binary of the packages it tests before it runs a test: `cargo test` at the root builds
/// them all. A test of one package alone (`cargo test -p …`) that needs another's binary finds
/// it built by an earlier run, or fails here saying how to build it; one built before one of
/// its sources last changed fails too.
pub fn tool(bin: &str) -> PathBuf {
    let path = profile_dir().join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let dir = bin.strip_prefix("drone-extension-").unwrap_or(bin);
    let root = crate::workspace_root();
    let sources = [
        root.join("src"),
        root.join("tools").join(dir).join("src"),
        root.join("tools/common/src"),
    ];
    check_built(&path, &sources, &format!("cargo build -p {bin}"));
    path
}

/// The executable of the library's example `name` (`axum`, `hyper`, …), which `cargo test`
/// builds (with the test run's features) before it runs any test.
pub fn example(name: &str) -> PathBuf {
    let path = profile_dir()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let root = crate::workspace_root();
    let sources = [root.join("src"), root.join(format!("examples/{name}.rs"))];
    check_built(
        &path,
        &sources,
        "cargo test (without --test: it builds the examples) or cargo build --examples",
    );
    path
}

/// Panics, saying how to build it, unless `path` exists and is newer than every source it was
/// built from. Those are the workspace's files in cargo's dependency file beside it
/// (`path.d`), which names exactly the files the build read; without one, every file of
/// `sources` (files or directories), a wider set that may name a file the binary does not use.
fn check_built(path: &Path, sources: &[PathBuf], build: &str) {
    let Ok(built) = std::fs::metadata(path).and_then(|m| m.modified()) else {
        panic!(
            "{} is not built: run `{build}` first (`cargo test` at the workspace root builds \
             every binary before it runs a test)",
            path.display()
        );
    };
    let sources = built_from(path).unwrap_or_else(|| sources.to_vec());
    if let Some((newer, _)) = sources
        .iter()
        .filter_map(|source| newest(source))
        .find(|(_, modified)| *modified > built)
    {
        panic!(
            "{} is older than {}: run `{build}` first (`cargo test` at the workspace root \
             builds every binary before it runs a test)",
            path.display(),
            newer.display()
        );
    }
}

/// The workspace's files (outside `target/`) that `path` was built from, as cargo's dependency
/// file beside it (`path.d`) names them; `None` without one.
fn built_from(path: &Path) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(path.with_extension("d")).ok()?;
    let root = crate::workspace_root();
    let target = root.join("target");
    let files = dep_info_sources(&text)?
        .into_iter()
        .filter(|file| file.starts_with(root) && !file.starts_with(&target))
        .collect();
    Some(files)
}

/// The files a cargo dependency file (`target/debug/<bin>.d`, in make's syntax:
/// `target: source source …`, a space in a path escaped as `\ `) says its target was built from;
/// `None` when the text is not one.
fn dep_info_sources(text: &str) -> Option<Vec<PathBuf>> {
    let line = text.lines().find(|line| !line.trim().is_empty())?;
    // The target ends at the first `: ` (a Windows drive's `C:` has no space after it).
    let (_, deps) = line.split_once(": ")?;
    let mut files = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(' ') => current.push(' '),
                Some(other) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    files.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        files.push(PathBuf::from(current));
    }
    (!files.is_empty()).then_some(files)
}

/// The most recently modified file below `path`, and when.
fn newest(path: &Path) -> Option<(PathBuf, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return Some((path.to_path_buf(), meta.modified().ok()?));
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| newest(&entry.path()))
        .max_by_key(|(_, modified)| *modified)
}

/// Sends `signal` (`-STOP`, `-CONT`, `-INT`, `-TERM`, …) to `child` with `kill`. After `-STOP`,
/// waits (where `/proc` tells) until every thread of the process is stopped: a request sent
/// right after must find it frozen, not one thread still answering on a loaded machine.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(signal)
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {}", child.id());
    if signal == "-STOP" {
        wait_stopped(child.id());
    }
}

/// Waits until every thread of process `pid` is stopped (state `T` in `/proc/PID/task/*/stat`);
/// without `/proc`, returns at once. Panics after the hang bound.
fn wait_stopped(pid: u32) {
    let tasks = PathBuf::from(format!("/proc/{pid}/task"));
    if !tasks.is_dir() {
        return;
    }
    let stopped = || {
        std::fs::read_dir(&tasks).is_ok_and(|entries| {
            entries.filter_map(Result::ok).all(|task| {
                std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
                    // `PID (COMM) STATE …`: the state follows the last `)`.
                    stat.rsplit_once(')')
                        .is_some_and(|(_, rest)| rest.trim_start().starts_with(['T', 't']))
                })
            })
        })
    };
    let bound = crate::bounds::hang_bound(Duration::ZERO);
    let started = Instant::now();
    while !stopped() {
        assert!(
            started.elapsed() < bound,
            "process {pid} not stopped {bound:?} after SIGSTOP"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The command that runs `program` (a server's executable) with `DRONE_BIND=127.0.0.1:0`,
/// `DRONE_SECRET` and `env`, directly or under `wrapper` (a program and its arguments, for
/// example `["prlimit", "--nofile=128:128", "--"]`), its output piped. Nothing is inherited from
/// the caller's `DRONE_*` or `RUST_LOG`.
pub fn command(program: impl AsRef<Path>, wrapper: &[&str], env: &[(&str, &str)]) -> Command {
    let program = program.as_ref();
    let mut command = match wrapper.split_first() {
        Some((wrapper, args)) => {
            let mut command = Command::new(wrapper);
            command.args(args).arg(program);
            command
        }
        None => Command::new(program),
    };
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DRONE_") {
            command.env_remove(key);
        }
    }
    command
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("DRONE_BIND", "127.0.0.1:0")
        .env("DRONE_SECRET", SECRET)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

// ---------------------------------------------------------------------------------------------
// Servers as child processes
// ---------------------------------------------------------------------------------------------

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
    pub readers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `program` with `DRONE_BIND=127.0.0.1:0`, `DRONE_SECRET` and `env`, and waits for
    /// its `listening` line. Nothing is inherited from the caller's `DRONE_*` or `RUST_LOG`.
    pub fn start(program: impl AsRef<Path>, env: &[(&str, &str)]) -> Server {
        let program = program.as_ref();
        let name = program.file_name().map_or_else(
            || program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Server::spawn(&name, command(program, &[], env))
    }

    /// Runs `command` (see [`command`]) and waits for its `listening` line; `name` names it in
    /// messages.
    pub fn spawn(name: &str, mut command: Command) -> Server {
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let (lines, listening) = mpsc::channel();
        // Both streams are read to the end, so that a chatty server never blocks on a full pipe.
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let mut readers = Vec::new();
        for stream in [stdout, stderr].into_iter().flatten() {
            let (log, lines) = (log.clone(), lines.clone());
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push_str(&format!("{line}\n"));
                    let _ = lines.send(line);
                }
            }));
        }
        drop(lines);
        let deadline = Instant::now() + STARTUP;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match listening.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = listening_addr(&line) {
                        break addr;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = log.lock().unwrap();
                    panic!("{name} did not log its address within {STARTUP:?}:\n{log}");
                }
            }
        };
        Server {
            child,
            addr,
            log,
            readers,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A client signing with the shared secret, for `path`.
    #[cfg(feature = "client")]
    pub fn client(&self, path: &str) -> Client {
        client(self.addr, path, SECRET)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The output once it contains every one of `texts`, or after 30 s (a hang bound): the
    /// binaries log through a buffer written out every 100 ms, so a request's line can arrive
    /// after its answer.
    pub fn log_with(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.log();
            if texts.iter().all(|t| log.contains(t)) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits at most `timeout` for the process to exit; its output is then complete.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                for reader in self.readers.drain(..) {
                    reader.join().unwrap();
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address of tracing's `… listening addr=127.0.0.1:PORT` line (colours or not).
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let line = strip_ansi(line);
    // The starter's separate metrics listener (`DRONE_METRICS_BIND`) logs within this span.
    if !line.contains("listening") || line.contains("metrics_listener") {
        return None;
    }
    let (_, rest) = line.split_once("addr=")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// `line` without its ANSI escape sequences (`ESC [ … letter`).
pub fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            plain.push(c);
        }
    }
    plain
}

// ---------------------------------------------------------------------------------------------
// Command-line programs
// ---------------------------------------------------------------------------------------------

/// What a program run to completion printed, and how it exited.
pub struct Run {
    /// The exit status.
    pub status: ExitStatus,
    /// Standard output, as text.
    pub stdout: String,
    /// Standard error, as text.
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// The verdict column of the audit table's row whose request starts with `request`.
    pub fn verdict(&self, request: &str) -> &str {
        let mut lines = self.stdout.lines();
        let column = lines
            .by_ref()
            .find_map(|line| line.starts_with("request ").then(|| line.find("verdict"))?)
            .unwrap_or_else(|| panic!("no table: {self}"));
        let line = lines
            .find(|line| line.starts_with(request))
            .unwrap_or_else(|| panic!("no row {request:?}: {self}"));
        line.get(column..).unwrap_or("").trim()
    }

    /// How many rows of the audit's table have a verdict starting with `prefix`.
    pub fn verdicts(&self, prefix: &str) -> usize {
        let mut lines = self.stdout.lines();
        let Some(column) = lines
            .by_ref()
            .find_map(|line| line.starts_with("request ").then(|| line.find("verdict"))?)
        else {
            return 0;
        };
        lines
            .take_while(|line| !line.is_empty())
            .filter(|line| line.get(column..).is_some_and(|v| v.starts_with(prefix)))
            .count()
    }
}

/// Runs `program` with `args` to completion, without blocking the test's runtime (which may be
/// serving), its standard input empty and none of the caller's `DRONE_SECRET` or Woodpecker
/// signing key (the probe's defaults, and their `_FILE` and old names).
pub async fn run(program: impl AsRef<Path>, args: &[&str]) -> Run {
    let program = program.as_ref();
    let output = tokio::process::Command::new(program)
        .args(args)
        .env_remove("DRONE_SECRET")
        .env_remove("DRONE_SECRET_FILE")
        .env_remove("WOODPECKER_SIGNING_KEY")
        .env_remove("WOODPECKER_SIGNING_KEY_FILE")
        .env_remove("EXTENSION_WOODPECKER_SIGNING_KEY")
        .env_remove("EXTENSION_WOODPECKER_SIGNING_KEY_FILE")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("{} does not run: {e}", program.display()));
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The probe (`drone-extension-probe`), the auditor of every extension under test.
pub struct Probe(PathBuf);

impl Probe {
    /// The probe at `path` (its own tests: `env!("CARGO_BIN_EXE_drone-extension-probe")`).
    pub fn at(path: impl Into<PathBuf>) -> Probe {
        Probe(path.into())
    }

    /// The probe built next to the running test (see [`tool`]).
    pub fn built() -> Probe {
        Probe(tool("drone-extension-probe"))
    }

    /// Its executable.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Runs it with `args` (see [`run`]).
    pub async fn run(&self, args: &[&str]) -> Run {
        run(&self.0, args).await
    }

    /// `audit KIND --endpoint URL --secret SECRET --timeout 10`.
    pub async fn audit(&self, kind: &str, url: &str, secret: &str) -> Run {
        self.run(&[
            "audit",
            kind,
            "--endpoint",
            url,
            "--secret",
            secret,
            "--timeout",
            "10",
        ])
        .await
    }
}

/// Waits at most `bound` for `child` to exit: its status and how long it took.
pub fn exit_within(child: &mut Child, bound: Duration) -> Option<(ExitStatus, Duration)> {
    let started = Instant::now();
    while started.elapsed() < bound {
        if let Some(status) = child.try_wait().unwrap() {
            return Some((status, started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The crate's client of `path` at `addr`, signing with `secret`; its timeout (10 s, answers
/// take milliseconds) is a hang bound.
#[cfg(feature = "client")]
pub fn client(addr: SocketAddr, path: &str, secret: &str) -> Client {
    Client::new(
        &format!("http://{addr}{path}"),
        SharedSecret::new(secret).unwrap(),
    )
    .unwrap()
    .timeout(Duration::from_secs(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependency_file_names_its_sources_with_escaped_spaces() {
        let text = "/w/target/debug/probe: /w/src/lib.rs /w/my\\ dir/main.rs\n\n/w/src/lib.rs:\n";
        assert_eq!(
            dep_info_sources(text),
            Some(vec![
                PathBuf::from("/w/src/lib.rs"),
                PathBuf::from("/w/my dir/main.rs")
            ])
        );
    }

    #[test]
    fn a_text_without_sources_is_not_a_dependency_file() {
        assert_eq!(dep_info_sources(""), None);
        assert_eq!(dep_info_sources("no colon here"), None);
        assert_eq!(dep_info_sources("/w/target/debug/probe: \n"), None);
    }

    #[test]
    fn the_probe_is_checked_against_the_files_it_was_built_from() {
        // The probe does not use tools/common: its dependency file, where cargo wrote one,
        // must not name it, so that a change there does not call the probe out of date.
        let path = profile_dir().join(format!(
            "drone-extension-probe{}",
            std::env::consts::EXE_SUFFIX
        ));
        let Some(files) = built_from(&path) else {
            return; // not built in this target directory: nothing to read
        };
        let root = crate::workspace_root();
        assert!(files.contains(&root.join("src/lib.rs")), "{files:?}");
        assert!(
            files.contains(&root.join("tools/probe/src/main.rs")),
            "{files:?}"
        );
        assert!(
            !files
                .iter()
                .any(|f| f.starts_with(root.join("tools/common"))),
            "{files:?}"
        );
    }
}

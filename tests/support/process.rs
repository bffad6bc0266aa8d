//! The examples as child processes, shared by the integration tests that run them: the example
//! binaries are built once with `cargo build --example …` and started with
//! `DRONE_BIND=127.0.0.1:0`, their address read from the `listening addr=…` log line.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use drone_extension::client::Client;
use drone_extension::signature::SharedSecret;

/// The shared secret every server under test is started with (32 characters).
pub const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";
/// How long a server may take to log its address.
pub const STARTUP: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The example binaries
// ---------------------------------------------------------------------------------------------

/// The executables of the examples, by name, built once per test run.
pub fn example(name: &str) -> &'static Path {
    static EXAMPLES: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    let examples = EXAMPLES.get_or_init(build_examples);
    examples
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, path)| path.as_path())
        .unwrap_or_else(|| panic!("cargo built no example named {name}"))
}

/// `cargo build --example …` with the test build's profile and features, so that nothing but the
/// examples themselves is compiled again.
fn build_examples() -> Vec<(String, PathBuf)> {
    let mut args = vec!["--example", "starter", "--example", "probe"];
    args.extend(["--example", "axum", "--example", "hyper"]);
    // The test build's optional features, so that the library is not compiled again.
    let features: Vec<&str> = [
        ("aesgcm", cfg!(feature = "aesgcm")),
        ("redis", cfg!(feature = "redis")),
        ("vault", cfg!(feature = "vault")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    if cfg!(feature = "vault") {
        args.extend(["--example", "vault"]);
    }
    let features = features.join(",");
    if !features.is_empty() {
        args.extend(["--features", &features]);
    }
    if cfg!(feature = "woodpecker") {
        args.extend(["--example", "woodpecker", "--features", "woodpecker"]);
    }
    cargo_build(&args, "example")
}

/// The executable of the user crate (`tests/user-crate`, a member of the workspace), built once
/// per test run with the test build's profile.
pub fn user_crate() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        cargo_build(&["-p", "drone-extension-user-test", "--bins"], "bin")
            .into_iter()
            .next()
            .map(|(_, path)| path)
            .expect("cargo reports the user crate's executable")
    })
}

/// `cargo build ARGS` with the test build's profile: the executables of the targets of `kind`
/// (`example`, `bin`), by name, from cargo's JSON messages.
fn cargo_build(args: &[&str], kind: &str) -> Vec<(String, PathBuf)> {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics");
    if !cfg!(debug_assertions) {
        cargo.arg("--release");
    }
    let output = cargo.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut built = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["kind"] == serde_json::json!([kind])
            && let (Some(name), Some(executable)) = (
                message["target"]["name"].as_str(),
                message["executable"].as_str(),
            )
        {
            built.push((name.to_owned(), PathBuf::from(executable)));
        }
    }
    built
}

/// The command that runs example `name` with `DRONE_BIND=127.0.0.1:0`, `DRONE_SECRET` and `env`,
/// directly or under `wrapper` (a program and its arguments, for example
/// `["prlimit", "--nofile=128:128", "--"]`), its output piped. Nothing is inherited from the
/// caller's `DRONE_*` or `RUST_LOG`.
pub fn example_command(name: &str, wrapper: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(example(name));
            command
        }
        None => Command::new(example(name)),
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

/// A running example server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<String>>,
    pub readers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts an example with `DRONE_BIND=127.0.0.1:0`, `DRONE_SECRET` and `env`, and waits for
    /// its `listening` line. Nothing is inherited from the caller's `DRONE_*` or `RUST_LOG`.
    pub fn start(name: &str, env: &[(&str, &str)]) -> Server {
        Server::spawn(name, example_command(name, &[], env))
    }

    /// Runs `command` (see [`example_command`]) and waits for its `listening` line.
    pub fn spawn(name: &str, mut command: Command) -> Server {
        let mut child = command.spawn().expect("the example starts");
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
    pub fn client(&self, path: &str) -> Client {
        let secret = SharedSecret::new(SECRET).unwrap();
        Client::new(&self.url(path), secret)
            .unwrap()
            .timeout(Duration::from_secs(10))
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
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

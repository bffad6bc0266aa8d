//! A real `redis-server` for tests, on a free loopback port, without persistence; killed when
//! dropped. `.ci/run` installs Debian's `redis-server`; elsewhere a test without it says so and
//! returns (with `CI` set it fails instead: CI must never skip it silently).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct Redis {
    child: Option<Child>,
    binary: PathBuf,
    pub addr: SocketAddr,
}

/// `redis-server` from `REDIS_SERVER` or the `PATH`.
fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|path| path.is_file())
    })
}

impl Redis {
    /// Starts a server, or `None` (after saying why) when there is no `redis-server` and `CI`
    /// is not set.
    pub fn start() -> Option<Redis> {
        let Some(binary) = binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server not found (CI is set: .ci/run installs it)"
            );
            eprintln!(
                "SKIPPED: redis-server not found; see .ci/run (apt-get install redis-server)"
            );
            return None;
        };
        // A port taken by something else between the probe and the start is retried.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut redis = Redis {
                child: None,
                binary: binary.clone(),
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            if redis.resume() {
                return Some(redis);
            }
        }
        panic!("redis-server did not start on a free port five times");
    }

    /// The URL for `DRONE_REPLAY_GUARD`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Kills the server (its data goes with it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port; whether it answers `PING` within 5 s.
    pub fn resume(&mut self) -> bool {
        self.stop();
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.addr.port().to_string())
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.ping() {
                return true;
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(_)) = child.try_wait()
            {
                break; // exited: the port was taken
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }

    /// How many keys match `pattern` (`KEYS pattern`, spoken over a socket of its own).
    pub fn count_keys(&self, pattern: &str) -> usize {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(10))
            .expect("redis-server accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let command = format!("*2\r\n$4\r\nKEYS\r\n${}\r\n{pattern}\r\n", pattern.len());
        stream.write_all(command.as_bytes()).unwrap();
        // The answer starts with `*COUNT\r\n`; only the count is read.
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            stream
                .read_exact(&mut byte)
                .expect("redis-server answers KEYS");
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line);
        line.trim_end()
            .strip_prefix('*')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("KEYS answered {line:?}"))
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut answer = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Redis {
    /// Freezes the server (SIGSTOP): the kernel still accepts connections and takes commands
    /// into its buffers, nothing answers until [`thaw`](Redis::thaw).
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Resumes a frozen server (SIGCONT): it runs the commands it received meanwhile.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, which: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        crate::process::signal(child, which);
    }
}

//! The one harness of every test in the workspace: the library's integration tests, the tools'
//! and the user crate's take it as a dev-dependency (`support = { package =
//! "drone-extension-test-support", … }`), so that no helper is written twice and no test file
//! includes another with `#[path]`. Integration tests link the normal library, so its types
//! are the tests' types.
//!
//! | module | what |
//! |---|---|
//! | [`bounds`] | time in tests: bounds on what would otherwise hang, never on speed |
//! | [`drone_vectors`] | Drone's signature vectors and request builders |
//! | [`woodpecker_vectors`] | Woodpecker's vectors, key, signer and verifier (feature `woodpecker`) |
//! | [`sign`] | requests signed as Drone and Woodpecker sign them, captured to be sent again |
//! | [`http`] | raw HTTP/1.1 over a socket, and a plain hyper client |
//! | [`log`] | a log sink the test reads back |
//! | [`process`] | servers and command-line programs as child processes; the binaries under test |
//! | [`serve`] | the crate's `Server` in process, stopped by the test (feature `server`) |
//! | [`service`] | a held-open body, an echo service: a layer driven in process |
//! | [`tls`] | a private CA, an HTTPS server, a secret extension behind the verifying layer |
//! | [`requests`] | the sample requests: `octocat/hello-world`, a push, `docker_password` |
//! | [`redis`] | a real `redis-server` on a free port |
//! | [`bao`] | a real OpenBao dev server on a free port (feature `vault`) |
//! | [`forge`] | a git forge: `git http-backend` behind a small server on 127.0.0.1, a working repository pushing to it |
//!
//! [`TempFile`] is a file of the test's own, [`TempDir`] a directory, each removed when dropped.
//!
//! Features follow the library's: `client`, `vault` and `woodpecker` turn on what needs the
//! library's feature of the same name; the library's own features turn on this crate's.

#[cfg(feature = "vault")]
pub mod bao;
pub mod bounds;
pub mod drone_vectors;
pub mod forge;
pub mod http;
pub mod log;
pub mod process;
pub mod redis;
pub mod requests;
#[cfg(feature = "server")]
pub mod serve;
pub mod service;
pub mod sign;
pub mod tls;
#[cfg(feature = "woodpecker")]
pub mod woodpecker_vectors;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use tls::{PASSWORD, private_pki, secret_app, serve};

/// The shared secret every extension under test is signed with (32 characters, so that it
/// keys `aesgcm` too).
pub const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";

/// The workspace's root directory (the library's package).
pub fn workspace_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
    })
}

/// `tests/fixtures/<name>` of the workspace.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures").join(name)
}

/// `bytes` as lowercase hex digits (a Woodpecker public key for `WOODPECKER_PUBLIC_KEY`, …).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A vector file's header list, `[["name", "value"], …]`, as pairs.
fn header_pairs(list: &serde_json::Value) -> Vec<(String, String)> {
    list.as_array()
        .expect("a list of headers")
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A file of its own in the temporary directory (a policy file, a PEM, a secret for a `*_FILE`
/// variable), removed when dropped.
pub struct TempFile(PathBuf);

impl TempFile {
    /// A new file holding `contents`.
    pub fn new(contents: impl AsRef<[u8]>) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "drone-extension-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    /// Its path, as text (for an environment variable).
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A directory of its own in the temporary directory (a cache, a forge's repositories), removed
/// with its contents when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory whose name starts with `drone-extension-<name>-`.
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "drone-extension-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `path` below it.
    pub fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        self.0.join(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

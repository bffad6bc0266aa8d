//! [`VaultError`]: why a call to Vault failed.

use std::fmt;

use super::Refusal;
use crate::client::ClientError;
use crate::env::EnvError;

/// Why a call to Vault (or OpenBao) failed.
///
/// None of these reach a Drone runner as such. The providers of this module answer a refusal
/// ([`is_refusal`](Self::is_refusal): a path that is not a KV secret, an invalid path, a path
/// the token's policies do not allow) as "no secret" (HTTP `204` for the secret kind, the path
/// skipped for global secrets), so a refused path never tells the pipeline why; every other
/// variant is a backend failure, answered `500` with a generic body (`decision="error"`), so an
/// outage is never mistaken for a missing secret. The `Display` texts carry no token and no
/// secret value (Vault's own `errors` may quote the path: log them escaped).
#[derive(Debug)]
#[non_exhaustive]
pub enum VaultError {
    /// The configuration is unusable (an address that is not `http(s)://host[:port]`, an
    /// invalid CA file, server name or timeout given to the builder…).
    Config(String),
    /// A variable of the environment is invalid or missing ([`VaultSettings`]): the error names
    /// it and the expected form.
    ///
    /// [`VaultSettings`]: super::VaultSettings
    Env(EnvError),
    /// The TLS handshake failed or the server's certificate is not trusted.
    Tls {
        /// The Vault address called (`VAULT_ADDR`).
        address: String,
        /// What the client saw (its `source()` chain has the rustls error).
        source: ClientError,
    },
    /// Connecting, sending or reading failed (Vault down, connection refused or reset).
    Transport {
        /// The Vault address called (`VAULT_ADDR`).
        address: String,
        /// What the client saw (its `source()` chain has the I/O error).
        source: ClientError,
    },
    /// No answer within the client's timeout.
    Timeout,
    /// Vault answered `403`: the token is invalid, expired or revoked, or its policies do not
    /// allow the path. From [`Vault::read`](super::Vault::read), only the latter: a refused
    /// token is [`NotAuthenticated`](VaultError::NotAuthenticated).
    PermissionDenied,
    /// Vault answered another unexpected status, with its `errors` list.
    Status {
        /// The status code.
        code: u16,
        /// Vault's `errors` (may be empty).
        errors: Vec<String>,
    },
    /// The answer is not the JSON Vault sends.
    Decode(String),
    /// A `get.path` this client refuses to send: a `..` segment (drone-vault would resolve it
    /// and read another path than the one written), or an empty path.
    InvalidPath,
    /// A `get.path` that is not a secret in a KV secrets engine (the extension's own token at
    /// `auth/token/lookup-self`, its cubbyhole, `sys/…`, another engine), refused before any
    /// read. The runner gets "no secret" (`204`); the reason is logged with the path.
    NotASecret(Refusal),
    /// No valid token: logging in has not succeeded (yet), or Vault refused the token (expired
    /// or revoked) and no new one replaced it. The login is retried in the background.
    NotAuthenticated,
    /// A login (AppRole, Kubernetes) failed.
    Login(String),
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultError::Config(why) => write!(f, "invalid Vault configuration: {why}"),
            VaultError::Env(error) => error.fmt(f),
            VaultError::Tls { address, source } => {
                write!(f, "TLS with Vault at {address} failed: ")?;
                write_chain(f, source)
            }
            VaultError::Transport { address, source } => {
                write!(f, "Vault at {address} unreachable: ")?;
                write_chain(f, source)
            }
            VaultError::Timeout => f.write_str("Vault did not answer within the timeout"),
            VaultError::PermissionDenied => f.write_str("Vault answered 403 permission denied"),
            VaultError::Status { code, errors } if errors.is_empty() => {
                write!(f, "Vault answered {code}")
            }
            VaultError::Status { code, errors } => {
                write!(f, "Vault answered {code}: {}", errors.join("; "))
            }
            VaultError::Decode(why) => write!(f, "cannot decode Vault's answer: {why}"),
            VaultError::InvalidPath => {
                f.write_str("a secret path may not contain `..` nor be empty")
            }
            VaultError::NotASecret(why) => write!(f, "not a KV secret, not read: {why}"),
            VaultError::NotAuthenticated => f.write_str("not logged in to Vault (yet)"),
            VaultError::Login(why) => write!(f, "Vault login failed: {why}"),
        }
    }
}

impl std::error::Error for VaultError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VaultError::Tls { source, .. } | VaultError::Transport { source, .. } => Some(source),
            // Transparent: the Display is the EnvError's.
            VaultError::Env(error) => std::error::Error::source(error),
            _ => None,
        }
    }
}

/// `error` and its sources, joined with `: ` (hyper-util's "client error (Connect)" alone does
/// not say that the connection was refused). Sources that repeat their parent's text are skipped.
fn write_chain(f: &mut fmt::Formatter<'_>, error: &dyn std::error::Error) -> fmt::Result {
    let mut last = error.to_string();
    f.write_str(&last)?;
    let mut next = error.source();
    while let Some(error) = next {
        let text = error.to_string();
        if !last.contains(&text) {
            write!(f, ": {text}")?;
        }
        last = text;
        next = error.source();
    }
    Ok(())
}

impl From<EnvError> for VaultError {
    fn from(error: EnvError) -> VaultError {
        VaultError::Env(error)
    }
}

impl VaultError {
    /// Whether this is a refusal to serve a path, answered "no secret": [`NotASecret`],
    /// [`InvalidPath`], and [`PermissionDenied`] (from [`Vault::read`](super::Vault::read), a
    /// `403` with the token still valid: its policies do not allow the path). Every other
    /// variant is a failure of Vault, of the connection to it or of the extension's token,
    /// answered as an error.
    ///
    /// [`NotASecret`]: VaultError::NotASecret
    /// [`InvalidPath`]: VaultError::InvalidPath
    /// [`PermissionDenied`]: VaultError::PermissionDenied
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            VaultError::NotASecret(_) | VaultError::InvalidPath | VaultError::PermissionDenied
        )
    }
}

impl VaultError {
    /// The error of a call to the Vault at `address` that failed in the client.
    pub(crate) fn from_client(address: &str, error: ClientError) -> VaultError {
        match error {
            ClientError::Timeout => VaultError::Timeout,
            ClientError::CertificateNotTrusted(_)
            | ClientError::CertificateNameMismatch(_)
            | ClientError::Tls(_) => VaultError::Tls {
                address: address.to_owned(),
                source: error,
            },
            ClientError::InvalidRootCertificate(why) | ClientError::InvalidEndpoint(why) => {
                VaultError::Config(why)
            }
            other => VaultError::Transport {
                address: address.to_owned(),
                source: other,
            },
        }
    }
}

//! [`Auth`]: a token that stays valid — login, lookup, renewal and re-login, in the background.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use super::{VaultClient, VaultError};

/// How the extension proves who it is to Vault.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A token given by the operator (`VAULT_TOKEN`): used even while it cannot be checked (as
    /// drone-vault does), renewed when renewable, never replaced.
    Token(String),
    /// AppRole: `POST /v1/auth/{mount}/login {"role_id","secret_id"}`.
    AppRole {
        /// The role id (`VAULT_APPROLE_ID`).
        role_id: String,
        /// The secret id (`VAULT_APPROLE_SECRET`).
        secret_id: String,
        /// The mount, `approle` by default.
        mount: String,
    },
    /// Kubernetes: the pod's service-account token (re-read at each login) posted to
    /// `/v1/auth/{mount}/login {"role","jwt"}`.
    Kubernetes {
        /// The Vault role (`VAULT_KUBERNETES_ROLE`).
        role: String,
        /// The service-account token file.
        jwt_path: PathBuf,
        /// The mount, `kubernetes` by default.
        mount: String,
    },
}

/// The default service-account token file of a pod.
pub const KUBERNETES_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

impl AuthMethod {
    /// The method's name: `token`, `approle` or `kubernetes`.
    pub fn name(&self) -> &'static str {
        match self {
            AuthMethod::Token(_) => "token",
            AuthMethod::AppRole { .. } => "approle",
            AuthMethod::Kubernetes { .. } => "kubernetes",
        }
    }

    fn can_login(&self) -> bool {
        !matches!(self, AuthMethod::Token(_))
    }
}

impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::Token(_) => f.write_str("Token(<redacted>)"),
            AuthMethod::AppRole { role_id, mount, .. } => f
                .debug_struct("AppRole")
                .field("role_id", role_id)
                .field("secret_id", &"<redacted>")
                .field("mount", mount)
                .finish(),
            AuthMethod::Kubernetes {
                role,
                jwt_path,
                mount,
            } => f
                .debug_struct("Kubernetes")
                .field("role", role)
                .field("jwt_path", jwt_path)
                .field("mount", mount)
                .finish(),
        }
    }
}

/// How often, by default, the token is checked with `lookup-self` between renewals.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// The shortest interval between two checks.
const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// When to renew, and how often to check the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewal {
    /// The TTL asked for at each renewal (`VAULT_TOKEN_TTL`); `None` asks for the role's
    /// default. After a renewal that grants less (the token reached its maximum TTL), a login
    /// method logs in again.
    pub increment: Option<Duration>,
    /// The longest wait between two renewals (`VAULT_TOKEN_RENEWAL`); renewal otherwise happens
    /// at two thirds of the token's remaining TTL.
    pub period: Option<Duration>,
    /// How often the token is checked with `lookup-self` between renewals (default
    /// [`DEFAULT_CHECK_INTERVAL`], at least 250 ms), so that a revoked token or an unreachable
    /// Vault shows in [`super::Vault::readiness`] within that interval (plus the client's
    /// timeout), not only after a read failed. `None`: checked only at renewal time and after a
    /// refused read. Every check is one `lookup-self` call, which Vault's default policy allows.
    pub check: Option<Duration>,
}

impl Default for Renewal {
    fn default() -> Renewal {
        Renewal {
            increment: None,
            period: None,
            check: Some(DEFAULT_CHECK_INTERVAL),
        }
    }
}

/// The token's health, for a `/healthz` answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenStatus {
    /// `token`, `approle` or `kubernetes`.
    pub method: &'static str,
    /// Whether a token is held and its last check (login, lookup or renewal) succeeded.
    pub valid: bool,
    /// Seconds left before the token expires (`None`: no expiry, or unknown).
    pub ttl_seconds: Option<u64>,
    /// The last error of the login, lookup or renewal, if the last attempt failed.
    pub last_error: Option<String>,
}

#[derive(Clone)]
struct State {
    token: Option<Arc<str>>,
    /// Incremented when the token changes.
    generation: u64,
    /// Incremented at every published outcome.
    checks: u64,
    valid: bool,
    /// Whether Vault answered the last login, lookup or renewal (even with a refusal).
    reachable: bool,
    /// When Vault last answered one.
    answered_at: Option<Instant>,
    lease: Lease,
    since: Instant,
    last_error: Option<String>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Lease {
    /// `None`: never expires.
    ttl: Option<Duration>,
    renewable: bool,
}

/// A managed token: logs in (or checks the given token), renews it before it expires, logs in
/// again when renewal fails or the token is revoked, and retries a failed login with backoff
/// (250 ms doubling to 30 s) — it never gives up and never exits the process. Cloning shares the
/// background task, which ends when the last clone is dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), drone_extension::vault::VaultError> {
/// use drone_extension::vault::{Auth, AuthMethod, Renewal, VaultClient};
///
/// let client = VaultClient::builder("http://127.0.0.1:8200").build()?;
/// let method = AuthMethod::AppRole {
///     role_id: "…".into(),
///     secret_id: "…".into(),
///     mount: "approle".into(),
/// };
/// let auth = Auth::start(client, method, Renewal::default());
/// let token = auth.wait_token(std::time::Duration::from_secs(5)).await;
/// println!("logged in: {}", token.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Auth {
    rx: watch::Receiver<State>,
    nudge: Arc<Notify>,
    method: &'static str,
    check: Option<Duration>,
    _task: Arc<AbortOnDrop>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Auth {
    /// Starts the background task (on the current tokio runtime).
    pub fn start(client: VaultClient, method: AuthMethod, renewal: Renewal) -> Auth {
        let (tx, rx) = watch::channel(State {
            token: None,
            generation: 0,
            checks: 0,
            valid: false,
            reachable: false,
            answered_at: None,
            lease: Lease::default(),
            since: Instant::now(),
            last_error: None,
        });
        let nudge = Arc::new(Notify::new());
        let name = method.name();
        let task = tokio::spawn(maintain(client, method, renewal, tx, nudge.clone()));
        Auth {
            rx,
            nudge,
            method: name,
            check: renewal.check.map(|c| c.max(MIN_CHECK_INTERVAL)),
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// The current token, if any.
    pub fn token(&self) -> Option<Arc<str>> {
        self.rx.borrow().token.clone()
    }

    /// The current token, waiting at most `timeout` for the outcome of the first login (once a
    /// login has failed, `None` at once: callers do not queue behind a broken login).
    pub async fn wait_token(&self, timeout: Duration) -> Option<Arc<str>> {
        let mut rx = self.rx.clone();
        let wait = rx.wait_for(|s| s.token.is_some() || s.checks > 0);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(state)) => state.token.clone(),
            _ => self.token(),
        }
    }

    /// Vault refused `token` (a `403`): has the task check it (lookup-self) and, for a login
    /// method, log in again when it is no longer valid. Waits at most `timeout` for the outcome;
    /// returns the new token if it changed.
    pub async fn rejected(&self, token: &Arc<str>, timeout: Duration) -> Option<Arc<str>> {
        let mut rx = self.rx.clone();
        let before = rx.borrow_and_update().checks;
        self.nudge.notify_one();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|s| s.checks > before)).await;
        let state = self.rx.borrow();
        state
            .token
            .as_ref()
            .filter(|new| new.as_ref() != token.as_ref())
            .cloned()
    }

    /// The interval of the background checks (`None`: off).
    pub fn check_interval(&self) -> Option<Duration> {
        self.check
    }

    /// Whether Vault answered the last background login, lookup or renewal (even with a
    /// refusal), and how long ago Vault last answered one (`None`: never yet).
    pub fn last_answer(&self) -> (bool, Option<Duration>) {
        let state = self.rx.borrow();
        (state.reachable, state.answered_at.map(|at| at.elapsed()))
    }

    /// The token's health.
    pub fn status(&self) -> TokenStatus {
        let state = self.rx.borrow();
        TokenStatus {
            method: self.method,
            valid: state.valid && state.token.is_some(),
            ttl_seconds: state
                .lease
                .ttl
                .map(|ttl| ttl.saturating_sub(state.since.elapsed()).as_secs()),
            last_error: state.last_error.clone(),
        }
    }
}

/// Doubling waits between failed attempts.
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(30);

    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(Self::MAX);
        wait
    }

    fn reset(&mut self) {
        self.0 = Self::FIRST;
    }
}

/// The background task.
async fn maintain(
    client: VaultClient,
    method: AuthMethod,
    renewal: Renewal,
    tx: watch::Sender<State>,
    nudge: Arc<Notify>,
) {
    let check = renewal.check.map(|c| c.max(MIN_CHECK_INTERVAL));
    let mut backoff = Backoff(Backoff::FIRST);
    let mut current: Option<(Arc<str>, Lease)> = None;
    // When the token is next renewed (or, when not renewable, checked and rescheduled).
    let mut due = Instant::now();
    let mut login_ttl = None;
    let mut retry_soon = false;
    loop {
        let (token, lease) = match &current {
            Some(current) => current.clone(),
            None => match acquire(&client, &method).await {
                Ok((token, lease)) => {
                    tracing::info!(method = method.name(), ttl = ?lease.ttl, "Vault token obtained");
                    backoff.reset();
                    login_ttl = lease.ttl;
                    publish(&tx, Some(token.clone()), lease, None);
                    due = Instant::now() + schedule(lease, renewal);
                    current = Some((token.clone(), lease));
                    (token, lease)
                }
                Err(error) if !method.can_login() => {
                    // The operator's token is used even when it cannot be checked (Vault
                    // unreachable, refused): reads then fail with their own error, and the
                    // token is checked again with backoff.
                    tracing::warn!(%error, "cannot check VAULT_TOKEN");
                    let AuthMethod::Token(token) = &method else {
                        continue;
                    };
                    let token: Arc<str> = token.as_str().into();
                    publish(&tx, Some(token.clone()), Lease::default(), Some(&error));
                    current = Some((token.clone(), Lease::default()));
                    retry_soon = true;
                    (token, Lease::default())
                }
                Err(error) => {
                    let wait = backoff.next();
                    tracing::warn!(method = method.name(), %error, retry_in = ?wait, "Vault login failed");
                    publish_error(&tx, &error, true);
                    wait_or_nudge(wait, &nudge).await;
                    continue;
                }
            },
        };
        let until_due = due.saturating_duration_since(Instant::now());
        let wait = match (retry_soon, check) {
            (true, Some(check)) => backoff.next().min(check),
            (true, None) => backoff.next(),
            (false, Some(check)) => until_due.min(check),
            (false, None) => until_due,
        };
        let nudged = wait_or_nudge(wait, &nudge).await;
        let at_due = Instant::now() >= due;
        let renewing = !nudged && at_due && lease.renewable;
        let outcome = if renewing {
            renew(&client, &token, renewal.increment).await
        } else {
            lookup(&client, &token).await
        };
        match outcome {
            Ok(new) => {
                retry_soon = false;
                let wanted = renewal.increment.or(login_ttl.map(|t| t / 2));
                let short = matches!((new.ttl, wanted), (Some(got), Some(want)) if got < want);
                if renewing && short && method.can_login() {
                    tracing::info!(ttl = ?new.ttl, "Vault token near its maximum TTL: logging in again");
                    current = None;
                    continue;
                }
                let state = tx.borrow();
                if !(state.valid && state.reachable) {
                    tracing::info!(renewed = renewing, ttl = ?new.ttl, "Vault token valid again");
                } else {
                    tracing::trace!(renewed = renewing, ttl = ?new.ttl, "Vault token checked");
                }
                drop(state);
                backoff.reset();
                publish(&tx, Some(token.clone()), new, None);
                if at_due {
                    due = Instant::now() + schedule(new, renewal);
                }
                current = Some((token, new));
            }
            Err(error @ (VaultError::PermissionDenied | VaultError::Status { .. })) => {
                if method.can_login() {
                    // Not published: `rejected` waits for the new login's outcome.
                    tracing::warn!(%error, "Vault token refused: logging in again");
                    current = None;
                } else {
                    // Warned once, then checked again every interval quietly until it recovers.
                    if tx.borrow().valid {
                        tracing::warn!(%error, "VAULT_TOKEN refused by Vault (expired or revoked?)");
                    } else {
                        tracing::debug!(%error, "VAULT_TOKEN still refused");
                    }
                    publish_error(&tx, &error, true);
                    retry_soon = true;
                }
            }
            Err(error) => {
                if tx.borrow().reachable {
                    tracing::warn!(%error, "cannot check the Vault token");
                } else {
                    tracing::debug!(%error, "Vault still unreachable");
                }
                publish_error(&tx, &error, false);
                retry_soon = true;
            }
        }
    }
}

/// When to renew or check next: two thirds of the TTL, capped by the period, at least 200 ms;
/// a token without expiry is checked every period (default 5 min).
fn schedule(lease: Lease, renewal: Renewal) -> Duration {
    let period = renewal.period.unwrap_or(Duration::from_secs(300));
    match lease.ttl {
        Some(ttl) => (ttl * 2 / 3).min(period).max(Duration::from_millis(200)),
        None => period,
    }
}

/// Sleeps `wait`; `true` when woken early by a nudge.
async fn wait_or_nudge(wait: Duration, nudge: &Notify) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => false,
        () = nudge.notified() => true,
    }
}

/// Publishes a token (checked when `error` is `None`).
fn publish(
    tx: &watch::Sender<State>,
    token: Option<Arc<str>>,
    lease: Lease,
    error: Option<&VaultError>,
) {
    tx.send_modify(|state| {
        if token.as_deref() != state.token.as_deref() {
            state.generation += 1;
        }
        state.token = token;
        state.valid = error.is_none();
        state.lease = lease;
        state.since = Instant::now();
        answered(state, error);
        state.last_error = error.map(ToString::to_string);
        state.checks += 1;
    });
}

fn publish_error(tx: &watch::Sender<State>, error: &VaultError, invalid: bool) {
    tx.send_modify(|state| {
        if invalid {
            state.valid = false;
        }
        answered(state, Some(error));
        state.last_error = Some(error.to_string());
        state.checks += 1;
    });
}

/// Records whether Vault answered the attempt that ended with `error` (`None`: success).
fn answered(state: &mut State, error: Option<&VaultError>) {
    let reached = !matches!(
        error,
        Some(
            VaultError::Transport { .. }
                | VaultError::Timeout
                | VaultError::Tls { .. }
                | VaultError::Config(_)
                | VaultError::NotAuthenticated
        )
    );
    state.reachable = reached;
    if reached {
        state.answered_at = Some(Instant::now());
    }
}

/// Logs in, or checks the operator's token.
async fn acquire(
    client: &VaultClient,
    method: &AuthMethod,
) -> Result<(Arc<str>, Lease), VaultError> {
    let (mount, body) = match method {
        AuthMethod::Token(token) => {
            let token: Arc<str> = token.as_str().into();
            let lease = lookup(client, &token).await?;
            return Ok((token, lease));
        }
        AuthMethod::AppRole {
            role_id,
            secret_id,
            mount,
        } => (mount, json!({"role_id": role_id, "secret_id": secret_id})),
        AuthMethod::Kubernetes {
            role,
            jwt_path,
            mount,
        } => {
            let jwt = tokio::fs::read_to_string(jwt_path).await.map_err(|e| {
                VaultError::Login(format!("cannot read {}: {e}", jwt_path.display()))
            })?;
            (mount, json!({"role": role, "jwt": jwt.trim()}))
        }
    };
    let path = format!("auth/{}/login", mount.trim_matches('/'));
    let response = client.call(Method::POST, &path, None, Some(&body)).await?;
    if !response.status.is_success() {
        let errors = response.errors();
        return Err(VaultError::Login(format!(
            "{path} answered {}{}",
            response.status.as_u16(),
            if errors.is_empty() {
                String::new()
            } else {
                format!(": {}", errors.join("; "))
            }
        )));
    }
    let auth = &response.body["auth"];
    let token = auth["client_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| VaultError::Decode(format!("{path}: no auth.client_token")))?;
    Ok((token.into(), lease_of(auth, "lease_duration")))
}

/// `GET auth/token/lookup-self`.
async fn lookup(client: &VaultClient, token: &str) -> Result<Lease, VaultError> {
    let response = client
        .call(Method::GET, "auth/token/lookup-self", Some(token), None)
        .await?
        .success()?;
    Ok(lease_of(&response.body["data"], "ttl"))
}

/// `POST auth/token/renew-self`.
async fn renew(
    client: &VaultClient,
    token: &str,
    increment: Option<Duration>,
) -> Result<Lease, VaultError> {
    let body = match increment {
        Some(ttl) => json!({"increment": format!("{}s", ttl.as_secs())}),
        None => json!({}),
    };
    let response = client
        .call(
            Method::POST,
            "auth/token/renew-self",
            Some(token),
            Some(&body),
        )
        .await?
        .success()?;
    Ok(lease_of(&response.body["auth"], "lease_duration"))
}

/// A lease from `object[ttl_key]` (seconds; `0` = no expiry) and `object.renewable`.
fn lease_of(object: &Value, ttl_key: &str) -> Lease {
    Lease {
        ttl: object[ttl_key]
            .as_u64()
            .filter(|&secs| secs > 0)
            .map(Duration::from_secs),
        renewable: object["renewable"].as_bool().unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_credentials() {
        let token = format!("{:?}", AuthMethod::Token("s.secret-token".into()));
        assert!(!token.contains("secret-token"), "{token}");
        let approle = AuthMethod::AppRole {
            role_id: "role".into(),
            secret_id: "the-secret-id".into(),
            mount: "approle".into(),
        };
        assert!(!format!("{approle:?}").contains("the-secret-id"));
    }

    #[test]
    fn renewal_happens_at_two_thirds_capped_by_the_period() {
        let lease = Lease {
            ttl: Some(Duration::from_secs(6)),
            renewable: true,
        };
        assert_eq!(schedule(lease, Renewal::default()), Duration::from_secs(4));
        let period = Renewal {
            period: Some(Duration::from_secs(1)),
            ..Renewal::default()
        };
        assert_eq!(schedule(lease, period), Duration::from_secs(1));
        let never = Lease::default();
        assert_eq!(
            schedule(never, Renewal::default()),
            Duration::from_secs(300)
        );
    }
}

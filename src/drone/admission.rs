//! Admission: grant or deny logins, and decide who is an administrator.
//!
//! # What Drone sends
//!
//! During the web login flow, after its own membership checks, the Drone server (1.5+, not the OSS
//! build) posts `{event, user, token?}` signed with `Accept: application/vnd.drone.admission.v1+json`:
//! `event` is `register` for a new user (`user.id` 0, empty `email`) and `login` otherwise. The
//! server is configured with `DRONE_ADMISSION_PLUGIN_ENDPOINT` and `DRONE_ADMISSION_PLUGIN_SECRET`.
//!
//! # What to answer
//!
//! Admission **fails closed**: any error, timeout or status above 299 refuses the login. On
//! success the server sets the user's admin flag **from the answer, unconditionally**: an empty
//! `204` decodes as `admin: false` and demotes an administrator at every login. [`Admission`]
//! makes that impossible to do by accident: every "allow" answers `200` with the user and an
//! explicit admin flag, and the `204` exists only as [`Admission::AllowAndClearAdmin`].
//!
//! | answer | status | effect in Drone |
//! |---|---|---|
//! | [`Admission::Deny`] | 403, the reason as text | login refused |
//! | [`Admission::Allow`] | 200, the user with `admin` unchanged | login, admin flag kept |
//! | [`Admission::GrantAdmin`] | 200, the user with `admin: true` | login as administrator |
//! | [`Admission::RevokeAdmin`] | 200, the user with `admin: false` | login, no longer administrator |
//! | [`Admission::AllowAndClearAdmin`] | 204 | login, admin flag cleared |
//! | `Err(_)` from the trait | 500, generic text | login refused; the cause is logged |
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::admission::{Admission, AdmissionRequest, Admitter};
//! use drone_extension::BoxError;
//!
//! struct OnlyOctocats;
//!
//! #[drone_extension::async_trait]
//! impl Admitter for OnlyOctocats {
//!     async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError> {
//!         Ok(match request.user.login.as_str() {
//!             "octocat" => Admission::GrantAdmin,
//!             login if login.starts_with("octo") => Admission::Allow,
//!             _ => Admission::deny("only octocats may log in"),
//!         })
//!     }
//! }
//!
//! // A tower service for an axum route or a hyper server, behind the verifying layer.
//! let service = OnlyOctocats.into_service();
//! ```

use async_trait::async_trait;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::models::{Token, User, null_default};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// Why the server calls: a first login or a returning user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdmissionEvent {
    /// A returning user (`user.id` is set). The default.
    #[default]
    Login,
    /// A new user (`user.id` is 0, `email` is empty).
    Register,
}

/// The admission request. Unknown `event` values and a missing `event` or `user` are refused (400).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionRequest {
    /// `login` or `register`.
    pub event: AdmissionEvent,
    /// The user logging in, as stored (its `admin` flag is the current one).
    pub user: User,
    /// The user's source-control OAuth tokens: sent only by servers newer than 2.0.4.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub token: Option<Token>,
}

/// The answer to an admission request. See the [module documentation](self) for the statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// Refuse the login; the reason is sent as text (403) and shown by Drone.
    Deny(String),
    /// Admit the user and keep their current admin flag (200, `admin` echoed from the request).
    Allow,
    /// Admit the user as an administrator (200, `admin: true`).
    GrantAdmin,
    /// Admit the user and take away administrator rights (200, `admin: false`).
    RevokeAdmin,
    /// Admit the user with an empty `204`. **Drone then sets the user's admin flag to false**,
    /// demoting administrators on every login: prefer [`Allow`](Admission::Allow) or
    /// [`RevokeAdmin`](Admission::RevokeAdmin), which say what they do.
    AllowAndClearAdmin,
}

impl Admission {
    /// [`Admission::Deny`] with a reason.
    pub fn deny(reason: impl Into<String>) -> Admission {
        Admission::Deny(reason.into())
    }
}

/// Decides who may log in to Drone.
#[async_trait]
pub trait Admitter: Send + Sync + 'static {
    /// Decides on one login.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 (Drone refuses the login) and logged; use
    /// [`Admission::Deny`] for a reason the user should see.
    async fn admit(&self, request: AdmissionRequest) -> Result<Admission, BoxError>;

    /// This admitter as a tower service.
    fn into_service(self) -> AdmissionService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(AdmissionEndpoint(self))
    }
}

/// The [`Endpoint`] adapter of an [`Admitter`].
#[derive(Debug, Clone)]
pub struct AdmissionEndpoint<A>(pub A);

/// The tower service of an [`Admitter`].
pub type AdmissionService<A> = ExtensionService<AdmissionEndpoint<A>>;

/// `admitter` as a tower service: the same as [`Admitter::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<A: Admitter>(admitter: A) -> AdmissionService<A> {
    ExtensionService::new(AdmissionEndpoint(admitter))
}

/// The status and body of an admission answer for a user.
pub(crate) fn reply(admission: Admission, mut user: User) -> Reply {
    match admission {
        Admission::Deny(reason) => Reply::text("deny", StatusCode::FORBIDDEN, &reason),
        Admission::Allow => Reply::json("allow", &user),
        Admission::GrantAdmin => {
            user.admin = true;
            Reply::json("allow-admin", &user)
        }
        Admission::RevokeAdmin => {
            user.admin = false;
            Reply::json("allow-revoke-admin", &user)
        }
        Admission::AllowAndClearAdmin => Reply::empty("allow-clear-admin", StatusCode::NO_CONTENT),
    }
}

impl<A: Admitter> DroneEndpoint for AdmissionEndpoint<A> {
    const KIND: ExtensionKind = ExtensionKind::Admission;
}

#[async_trait]
impl<A: Admitter> Endpoint for AdmissionEndpoint<A> {
    const NAME: &'static str = ExtensionKind::Admission.name();
    type Request = AdmissionRequest;

    fn subject(request: &AdmissionRequest) -> String {
        request.user.login.clone()
    }

    async fn respond(&self, request: AdmissionRequest, _cx: &RequestContext) -> Reply {
        let user = request.user.clone();
        match self.0.admit(request).await {
            Ok(admission) => reply(admission, user),
            Err(e) => Reply::internal_error(e),
        }
    }
}

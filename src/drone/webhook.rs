//! Webhook: receive the server's global webhooks about users, repositories and builds.
//!
//! # What Drone sends
//!
//! The server (not the OSS build) posts `{event, action, user?, repo?, build?, system?}` to each
//! endpoint of `DRONE_WEBHOOK_ENDPOINT`, signed with `DRONE_WEBHOOK_SECRET`, for every event that
//! matches `DRONE_WEBHOOK_EVENTS` (`filepath.Match` patterns against `event` or
//! `event:action`; empty = all):
//!
//! | event | actions | members |
//! |---|---|---|
//! | [`user`](WebhookEvent::User) | `created`, `deleted` | `user`, `system` |
//! | [`repo`](WebhookEvent::Repo) | `enabled`, `disabled`, `deleted` | `repo`, `system`, `user` for `enabled` |
//! | [`build`](WebhookEvent::Build) | `created`, `updated` | `repo`, `build` (with its stages and steps once they exist), `system`, `user` for `created` |
//!
//! Two senders exist, and the service accepts both:
//!
//! * **The Drone server** signs only `date digest`, sends **no `Accept`** (and a transport-added
//!   `Accept-Encoding: gzip`), adds an unsigned `X-Drone-Event` header, and encodes its own
//!   `core` types: the user's avatar is `avatar` rather than `avatar_url` (both decode into
//!   [`User::avatar_url`]), and repositories carry a `permissions` object, which is ignored.
//! * **drone-go's webhook client** signs the full header set
//!   (`accept accept-encoding content-type date digest`) with
//!   `Accept: application/vnd.drone.webhook.v1+json` and drone-go's types.
//!
//! Serve this kind behind
//! [`VerifySignatureLayer::for_kind`](crate::signature::VerifySignatureLayer::for_kind) with
//! [`ExtensionKind::Webhook`] (or
//! [`VerifySignatureLayer::drone_webhook`](crate::signature::VerifySignatureLayer::drone_webhook)),
//! whose policy accepts both signatures.
//!
//! **The event comes from the signed body**, [`WebhookRequest::event`], never from the
//! `X-Drone-Event` header: the header is not signed, so anyone who can replay a captured delivery
//! can change it. An unknown event in the body is refused with 400.
//!
//! # What to answer
//!
//! | answer | status |
//! |---|---|
//! | `Ok(())` | 204 |
//! | `Err(_)` from the trait | 500, generic text; the cause is logged |
//!
//! The server **ignores the answer** (webhooks fail open) and only logs transport errors. It
//! delivers synchronously, within the request that caused the event (a login, a build's creation,
//! …), one endpoint after the other, for up to a minute each: answer fast, and hand slow work to a
//! queue or a spawned task.
//!
//! # A minimal implementation
//!
//! ```
//! use drone_extension::BoxError;
//! use drone_extension::webhook::{WebhookEvent, WebhookReceiver, WebhookRequest};
//!
//! struct FailedBuilds;
//!
//! #[drone_extension::async_trait]
//! impl WebhookReceiver for FailedBuilds {
//!     async fn receive(&self, request: WebhookRequest) -> Result<(), BoxError> {
//!         if let (WebhookEvent::Build, Some(repo), Some(build)) =
//!             (request.event, &request.repo, &request.build)
//!         {
//!             if build.status == "failure" {
//!                 tracing::warn!(repo = ?repo.slug, number = build.number, "build failed");
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! // A tower service for an axum route or a hyper server, behind the verifying layer.
//! let service = FailedBuilds.into_service();
//! ```

use async_trait::async_trait;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::models::{Build, Repo, System, User, null_default};
use crate::service::{DroneEndpoint, Endpoint, ExtensionService, Reply, RequestContext};
use crate::{BoxError, ExtensionKind};

/// What a webhook is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookEvent {
    /// A user was created or deleted.
    User,
    /// A repository was enabled, disabled or deleted.
    Repo,
    /// A build was created or updated. The default.
    #[default]
    Build,
}

impl WebhookEvent {
    /// The event's name on the wire: `user`, `repo` or `build`.
    pub const fn name(self) -> &'static str {
        match self {
            WebhookEvent::User => "user",
            WebhookEvent::Repo => "repo",
            WebhookEvent::Build => "build",
        }
    }
}

/// A global webhook. `event` is required (400 without it, or with an unknown one); every other
/// member defaults when missing or `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequest {
    /// What the webhook is about, from the signed body.
    pub event: WebhookEvent,
    /// What happened: `created`, `deleted`, `enabled`, `disabled`, `updated`.
    #[serde(default, deserialize_with = "null_default")]
    pub action: String,
    /// The user the event is about (user events), or who caused it (repository and build events).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub user: Option<User>,
    /// The repository (repository and build events). From the server it has no `secret` or
    /// `signer`; on `build:updated` its [`Repo::build`] is set too.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub repo: Option<Repo>,
    /// The build (build events), with its stages and steps once they exist.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub build: Option<Build>,
    /// The server that sent the webhook.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub system: Option<System>,
}

/// Receives global webhooks.
#[async_trait]
pub trait WebhookReceiver: Send + Sync + 'static {
    /// Handles one webhook. Keep it fast: the server waits for it.
    ///
    /// # Errors
    ///
    /// An error is answered with a generic 500 and logged; the server ignores it.
    async fn receive(&self, request: WebhookRequest) -> Result<(), BoxError>;

    /// This receiver as a tower service.
    fn into_service(self) -> WebhookService<Self>
    where
        Self: Sized,
    {
        ExtensionService::new(WebhookEndpoint(self))
    }
}

/// The [`Endpoint`] adapter of a [`WebhookReceiver`].
#[derive(Debug, Clone)]
pub struct WebhookEndpoint<R>(pub R);

/// The tower service of a [`WebhookReceiver`].
pub type WebhookService<R> = ExtensionService<WebhookEndpoint<R>>;

/// `receiver` as a tower service: the same as [`WebhookReceiver::into_service`], without the ambiguity of a
/// method call when a type implements several kind traits.
pub fn service<R: WebhookReceiver>(receiver: R) -> WebhookService<R> {
    ExtensionService::new(WebhookEndpoint(receiver))
}

impl<R: WebhookReceiver> DroneEndpoint for WebhookEndpoint<R> {
    const KIND: ExtensionKind = ExtensionKind::Webhook;
}

#[async_trait]
impl<R: WebhookReceiver> Endpoint for WebhookEndpoint<R> {
    const NAME: &'static str = ExtensionKind::Webhook.name();
    type Request = WebhookRequest;

    /// `build:created octocat/hello-world`: the event, and the repository or else the user.
    fn subject(request: &WebhookRequest) -> String {
        let who = match (&request.repo, &request.user) {
            (Some(repo), _) => repo.slug.as_str(),
            (None, Some(user)) => user.login.as_str(),
            (None, None) => "-",
        };
        format!("{}:{} {}", request.event.name(), request.action, who)
    }

    async fn respond(&self, request: WebhookRequest, _cx: &RequestContext) -> Reply {
        match self.0.receive(request).await {
            Ok(()) => Reply::empty("received", StatusCode::NO_CONTENT),
            Err(e) => Reply::internal_error(e),
        }
    }
}

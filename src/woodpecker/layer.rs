//! [`VerifyWoodpeckerLayer`]: the tower layer for Woodpecker requests.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;

use super::Verifier;
use crate::BoxError;
use crate::layer::{
    BodyBudget, Intake, Rejection, ResponseBody, ResponseFuture, VerifiedBody, reject,
};

/// Puts [`VerifyWoodpecker`] in front of a service: every request that reaches it was signed by
/// a configured Woodpecker server for the path it arrived on, is fresh, and carries exactly the
/// body whose digest was signed.
///
/// The body machinery is the Drone layer's
/// ([`VerifySignatureLayer`](crate::layer::VerifySignatureLayer)): the head is verified before any
/// body byte is read, a declared `Content-Length` above the limit is refused at once (413), room
/// is taken from the process-wide [`BodyBudget`] (503 when it stays full), the body is read under
/// a total deadline and an idle timeout (408), and a copy of a request whose body is still
/// arriving is refused (409). The inner service receives the exact verified bytes
/// ([`VerifiedBody`]) and a [`Verified`](super::Verified) request extension; refusals are the
/// [`Rejection`] responses, with [`Rejection::Woodpecker`] for signature failures.
///
/// There is no replay guard: Woodpecker retries an empty 2xx, a 5xx or a timeout up to three
/// times, byte-identically within a second, so refusing a repeated signature would fail its own
/// retries. Keep the `created` window short and answer idempotently instead.
///
/// ```
/// use axum::{Extension, Router, routing::post};
/// use drone_extension::woodpecker::{PublicKey, Verified, Verifier, VerifyWoodpeckerLayer};
///
/// async fn secret(Extension(verified): Extension<Verified>, body: String) -> String {
///     format!("{{\"secrets\":[]}} from server {}", verified.key_index())
/// }
///
/// let key = PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n")?;
/// let app: Router = Router::new()
///     .route("/woodpecker/secret", post(secret))
///     .route_layer(VerifyWoodpeckerLayer::new(Verifier::new(key)));
/// # Ok::<(), drone_extension::woodpecker::KeyError>(())
/// ```
///
/// `@request-target` is rebuilt from the request's URI as the service sees it: put the layer
/// where the URI is still the one Woodpecker sent (axum's `nest` strips the prefix for inner
/// routers, so layer the outer router there).
#[derive(Clone, Debug)]
pub struct VerifyWoodpeckerLayer {
    config: Arc<Config>,
}

#[derive(Clone, Debug)]
struct Config {
    verifier: Verifier,
    intake: Intake,
}

impl VerifyWoodpeckerLayer {
    /// A layer that verifies with `verifier`, with the Drone layer's defaults: 4 MiB bodies, 30 s
    /// total, 10 s idle, the process-wide [`BodyBudget`] with a 5 s wait.
    pub fn new(verifier: Verifier) -> VerifyWoodpeckerLayer {
        VerifyWoodpeckerLayer {
            config: Arc::new(Config {
                verifier,
                intake: Intake::default(),
            }),
        }
    }

    /// The largest body accepted, in bytes (default 4 MiB): 413 above it.
    pub fn body_limit(mut self, bytes: usize) -> VerifyWoodpeckerLayer {
        Arc::make_mut(&mut self.config).intake.body_limit = bytes;
        self
    }

    /// The total time allowed to receive the body (default 30 s; Woodpecker's own timeout per
    /// attempt is 10 s); 408 after.
    pub fn body_deadline(mut self, deadline: Duration) -> VerifyWoodpeckerLayer {
        Arc::make_mut(&mut self.config).intake.body_deadline = deadline;
        self
    }

    /// The longest pause allowed between two pieces of the body (default 10 s); 408 after.
    pub fn idle_timeout(mut self, timeout: Duration) -> VerifyWoodpeckerLayer {
        Arc::make_mut(&mut self.config).intake.idle_timeout = timeout;
        self
    }

    /// Takes room for every body from `budget` instead of the process-wide default.
    pub fn body_budget(mut self, budget: BodyBudget) -> VerifyWoodpeckerLayer {
        Arc::make_mut(&mut self.config).intake.budget = budget;
        self
    }

    /// How long a request waits for room in the budget (default 5 s) before 503.
    pub fn budget_wait(mut self, wait: Duration) -> VerifyWoodpeckerLayer {
        Arc::make_mut(&mut self.config).intake.budget_wait = wait;
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.config.verifier
    }
}

impl<S> Layer<S> for VerifyWoodpeckerLayer {
    type Service = VerifyWoodpecker<S>;

    fn layer(&self, inner: S) -> VerifyWoodpecker<S> {
        VerifyWoodpecker {
            inner,
            config: self.config.clone(),
        }
    }
}

/// Verifies Woodpecker's signature on every request before calling the inner service; made by
/// [`VerifyWoodpeckerLayer`].
///
/// Every failure is a response (see [`Rejection`]), never a service error.
#[derive(Clone, Debug)]
pub struct VerifyWoodpecker<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> VerifyWoodpecker<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, consuming the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for VerifyWoodpecker<S>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let (parts, body) = request.into_parts();
        let head = config
            .verifier
            .verify_parts(&parts)
            .map_err(Rejection::Woodpecker)
            .and_then(|pending| {
                let key = pending.in_flight_key();
                let declared = config.intake.admit(&parts.headers, &key)?;
                Ok((pending, key, declared))
            });
        let (pending, key, declared) = match head {
            Ok(ok) => ok,
            Err(rejection) => return ResponseFuture::new(std::future::ready(reject(rejection))),
        };
        ResponseFuture::new(async move {
            let check = |body: &[u8]| pending.verify_body(body).map_err(Rejection::Woodpecker);
            let (bytes, verified, permit) =
                match config.intake.receive(body, declared, &key, check).await {
                    Ok(received) => received,
                    Err(rejection) => return reject(rejection),
                };
            tracing::debug!(
                key_index = verified.key_index(),
                body_len = bytes.len(),
                "woodpecker signature verified"
            );
            let mut request = Request::from_parts(parts, Full::new(bytes));
            request.extensions_mut().insert(verified);
            let response = inner.call(request).await;
            drop(permit);
            response.map(|response| response.map(ResponseBody::inner))
        })
    }
}

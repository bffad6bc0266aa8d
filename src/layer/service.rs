//! [`Verify`]: the middleware itself, for every [`Scheme`].

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::layer::Config;
use super::scheme::{PendingBody, Scheme};
use super::{BodyReceived, Refused, Rejection, ResponseBody, ResponseFuture, VerifiedBody};
use crate::BoxError;

/// Verifies the signature of every request under its [`Scheme`] before calling the inner
/// service.
///
/// Made by [`VerifyLayer`](super::VerifyLayer) ([`signature::VerifySignature`](crate::signature::VerifySignature) is it
/// with Drone's scheme). Checks run cheap to expensive and nothing unauthenticated is buffered:
///
/// 1. the scheme's head check ([`Scheme::verify_head`]; Drone: the signature header, its
///    parameters, the algorithm and key, the policy, the `Date` window and the HMAC over the
///    signed headers), before any body byte is read;
/// 2. a declared `Content-Length` above the limit is answered 413 at once;
/// 3. a request whose exact signature is registered as still sending its body is answered 409
///    at once (a request registers its own signature when its body has not arrived within
///    100 ms, until that body is received and checked: see the [layer docs](super));
/// 4. room for the declared length (or the limit) is taken from the
///    [`BodyBudget`](super::BodyBudget), waiting at most the budget wait, else 503;
/// 5. the body is read through the length limit, with a total deadline and an idle timeout;
/// 6. the body is checked by the scheme ([`PendingBody::verify_body`]; Drone: against the signed
///    `Digest`);
/// 7. the replay guard, if one is configured, claims the signature (a copy is refused 401);
/// 8. the inner service is called with the exact verified bytes as its body
///    ([`VerifiedBody`]) and the scheme's proof ([`PendingBody::Verified`]; Drone:
///    [`Verified`](crate::signature::Verified)) as a request extension; the room in the budget
///    is given back when its response future completes;
/// 9. unless the answer is a 2xx with a body, the replay guard forgets the signature, so that
///    a retry is served (see [`ReplayGuard`](super::ReplayGuard)).
///
/// Every refusal carries a [`Refused`] response extension naming the check.
///
/// Every failure is a response (see [`Rejection`]), never a service error, so the service's error
/// type is the inner service's (`Infallible` in axum).
pub struct Verify<S, T> {
    inner: S,
    config: Arc<Config<T>>,
}

impl<S: Clone, T> Clone for Verify<S, T> {
    fn clone(&self) -> Self {
        Verify {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: std::fmt::Debug, T: std::fmt::Debug> std::fmt::Debug for Verify<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verify")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

impl<S, T> Verify<S, T> {
    pub(crate) fn from_config(inner: S, config: Arc<Config<T>>) -> Self {
        Verify { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

fn reject<B, E>(rejection: Rejection) -> Result<Response<ResponseBody<B>>, E> {
    rejection.log();
    let refused = Refused::new(&rejection);
    let mut response = rejection.into_response().map(ResponseBody::rejection);
    response.extensions_mut().insert(refused);
    Ok(response)
}

/// Whether the replay guard keeps a claimed signature: only for a 2xx with a body, the one
/// answer after which neither Drone nor Woodpecker sends the same bytes again legitimately.
fn keeps_claim<B: Body>(response: &Response<B>) -> bool {
    let body = response.body();
    response.status().is_success() && !body.is_end_stream() && body.size_hint().exact() != Some(0)
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for Verify<S, T>
where
    T: Scheme,
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
        // The clone that was driven to readiness is the one called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let (parts, body) = request.into_parts();

        // Head checks, synchronously: nothing has been read yet.
        let head = config
            .scheme
            .verify_head(&parts)
            .map_err(Rejection::from)
            .and_then(|pending| {
                let fingerprint = pending.fingerprint();
                let declared = config.intake.admit(&parts.headers, &fingerprint)?;
                Ok((pending, fingerprint, declared))
            });
        let (pending, fingerprint, declared) = match head {
            Ok(ok) => ok,
            Err(rejection) => return ResponseFuture::new(std::future::ready(reject(rejection))),
        };

        ResponseFuture::new(async move {
            let check = |body: &[u8]| pending.verify_body(body).map_err(Rejection::from);
            let (bytes, verified, permit) = match config
                .intake
                .receive(body, declared, &fingerprint, check)
                .await
            {
                Ok(received) => received,
                Err(rejection) => return reject(rejection),
            };
            let claimed = match (&config.replay_guard, config.scheme.replay_window(&verified)) {
                (Some(guard), Some((now, until))) => {
                    match guard.first_seen(fingerprint.as_bytes(), now, until).await {
                        Ok(true) => Some(guard.clone()),
                        Ok(false) => return reject(Rejection::Replayed),
                        Err(e) => return reject(Rejection::ReplayGuardFailed(e)),
                    }
                }
                _ => None,
            };
            tracing::debug!(verified = ?verified, body_len = bytes.len(), "signature verified");
            let mut request = Request::from_parts(parts, VerifiedBody::new(bytes));
            request.extensions_mut().insert(verified);
            request
                .extensions_mut()
                .insert(BodyReceived::new(config.intake.body_limit));
            let response = inner.call(request).await;
            // The verified bytes and what the service decoded from them live until here.
            drop(permit);
            // Released before the answer leaves, so that a retry it prompts is served.
            if let Some(guard) = claimed
                && !matches!(&response, Ok(response) if keeps_claim(response))
                && let Err(e) = guard.forget(fingerprint.as_bytes()).await
            {
                tracing::warn!(
                    error = %crate::log::Escaped(&e),
                    "replay guard: could not forget a signature whose request failed; a \
                     retry of it within the clock window will be refused"
                );
            }
            response.map(|response| response.map(ResponseBody::inner))
        })
    }
}

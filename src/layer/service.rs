//! [`VerifySignature`]: the middleware itself.

use std::num::IntErrorKind;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower_service::Service;

use super::body::read_body;
use super::in_flight::{self, InFlight, RECEIVING_GRACE};
use super::layer::Config;
use super::{BodyBudget, Refused, Rejection, ResponseBody, ResponseFuture, VerifiedBody};
use crate::BoxError;
use crate::log::Escaped;

/// Verifies Drone's signature on every request before calling the inner service.
///
/// Made by [`VerifySignatureLayer`](super::VerifySignatureLayer). Checks run cheap to expensive and
/// nothing unauthenticated is buffered:
///
/// 1. the signature header, its parameters, the algorithm and key, the policy, the `Date` window
///    and the HMAC over the signed headers, all before any body byte is read;
/// 2. a declared `Content-Length` above the limit is answered 413 at once;
/// 3. a request whose exact signature is registered as still sending its body is answered 409
///    at once (a request registers its own signature when its body has not arrived within
///    100 ms, until that body is received and checked: see the [layer docs](super));
/// 4. room for the declared length (or the limit) is taken from the [`BodyBudget`], waiting at
///    most the budget wait, else 503;
/// 5. the body is read through the length limit, with a total deadline and an idle timeout;
/// 6. the body is checked against the signed `Digest`;
/// 7. the replay guard, if one is configured, claims the signature (a copy is refused 401);
/// 8. the inner service is called with the exact verified bytes as its body
///    ([`VerifiedBody`]) and a [`Verified`](crate::signature::Verified) request extension; the
///    room in the budget is given back when its response future completes;
/// 9. unless the answer is a 2xx with a body, the replay guard forgets the signature, so that
///    a retry is served (see [`ReplayGuard`](super::ReplayGuard)).
///
/// Every refusal carries a [`Refused`] response extension naming the check.
///
/// Every failure is a response (see [`Rejection`]), never a service error, so the service's error
/// type is the inner service's (`Infallible` in axum).
#[derive(Clone, Debug)]
pub struct VerifySignature<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> VerifySignature<S> {
    pub(crate) fn from_config(inner: S, config: Arc<Config>) -> Self {
        VerifySignature { inner, config }
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

/// The declared length: `Err` when it is above the limit (a number too large for a `u64` too),
/// `Ok(None)` when absent or unparseable (hyper refuses invalid lengths before a service sees
/// them).
fn declared_length(headers: &HeaderMap, limit: usize) -> Result<Option<usize>, Rejection> {
    let Some(value) = headers.get(CONTENT_LENGTH) else {
        return Ok(None);
    };
    let Ok(value) = value.to_str() else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(len) if len > limit as u64 => Err(Rejection::PayloadTooLarge),
        Ok(len) => Ok(usize::try_from(len).ok()),
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => Err(Rejection::PayloadTooLarge),
        Err(_) => Ok(None),
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for VerifySignature<S>
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
        // The clone that was driven to readiness is the one called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let (parts, body) = request.into_parts();

        // Head checks, synchronously: nothing has been read yet.
        let head = config
            .verifier
            .verify_parts(&parts)
            .map_err(Rejection::Signature)
            .and_then(|pending| {
                declared_length(&parts.headers, config.body_limit).map(|len| (pending, len))
            });
        let (pending, declared) = match head {
            Ok(ok) => ok,
            Err(rejection) => return ResponseFuture::new(std::future::ready(reject(rejection))),
        };
        // One slot per signature while its body arrives: a copy of a request still receiving
        // its body is refused before any of its own body is read.
        let mac = *pending.verified().mac();
        if config.in_flight.contains(&mac) {
            return ResponseFuture::new(std::future::ready(reject(Rejection::DuplicateInProgress)));
        }

        ResponseFuture::new(async move {
            let budget: &BodyBudget = &config.budget;
            let wanted = declared.unwrap_or(config.body_limit);
            let Some(permit) = budget.acquire(wanted, config.budget_wait).await else {
                return reject(Rejection::Busy("the body budget stayed full"));
            };
            // A copy may have registered while this one waited for room: then this one goes at
            // once, instead of holding room for the grace (copies of a captured head sent
            // together would otherwise queue every other request behind them).
            if config.in_flight.contains(&mac) {
                return reject(Rejection::DuplicateInProgress);
            }
            let reading = read_body(
                body,
                config.body_limit,
                declared,
                config.body_deadline,
                config.idle_timeout,
            );
            let mut reading = std::pin::pin!(reading);
            // A body that has not arrived within the grace registers its signature (dropped with
            // the future at the latest), so that its copies are refused while it trickles.
            let mut receiving = None;
            let read = match tokio::time::timeout(RECEIVING_GRACE, reading.as_mut()).await {
                Ok(read) => read,
                Err(_) => match InFlight::enter(&config.in_flight, &mac) {
                    Ok(guard) => {
                        receiving = Some(guard);
                        reading.await
                    }
                    Err(in_flight::Refused::Duplicate) => {
                        return reject(Rejection::DuplicateInProgress);
                    }
                    Err(in_flight::Refused::Full) => {
                        return reject(Rejection::Busy(
                            "too many requests are receiving their body",
                        ));
                    }
                },
            };
            let bytes = match read {
                Ok(bytes) => bytes,
                Err(rejection) => return reject(rejection),
            };
            let verified = pending.verify_body(&bytes);
            // Received and checked: an identical request may now be served.
            drop(receiving);
            let verified = match verified {
                Ok(verified) => verified,
                Err(e) => return reject(Rejection::Signature(e)),
            };
            let claimed = match &config.replay_guard {
                Some(guard) => {
                    let policy = config.verifier.policy();
                    let until = verified.date() + policy.skew();
                    match guard.first_seen(verified.mac(), policy.now(), until).await {
                        Ok(true) => Some(guard.clone()),
                        Ok(false) => return reject(Rejection::Replayed),
                        Err(e) => return reject(Rejection::ReplayGuardFailed(e)),
                    }
                }
                None => None,
            };
            tracing::debug!(
                key_id = %Escaped(verified.key_id()),
                body_len = bytes.len(),
                "signature verified"
            );
            let mut request = Request::from_parts(parts, Full::new(bytes));
            request.extensions_mut().insert(verified);
            let response = inner.call(request).await;
            // The verified bytes and what the service decoded from them live until here.
            drop(permit);
            // Released before the answer leaves, so that a retry it prompts is served.
            if let Some(guard) = claimed
                && !matches!(&response, Ok(response) if keeps_claim(response))
                && let Err(e) = guard.forget(&mac).await
            {
                tracing::warn!(
                    error = %Escaped(&e),
                    "replay guard: could not forget a signature whose request failed; a \
                     retry of it within the clock window will be refused"
                );
            }
            response.map(|response| response.map(ResponseBody::inner))
        })
    }
}

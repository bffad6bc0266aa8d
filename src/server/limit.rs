//! The in-flight bound: one process-wide semaphore around the service, and the response body
//! that holds the slot (and marks its connection busy) until it is sent.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::header::{CONNECTION, HeaderValue, RETRY_AFTER, TRANSFER_ENCODING};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

use super::conn::RequestGuard;
use crate::BoxError;

/// The user's service behind the in-flight bound, as a hyper service for one connection.
pub(crate) struct Guarded<S> {
    pub(crate) inner: S,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) wait: Duration,
    pub(crate) connection: Arc<super::conn::Connection>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> hyper::service::Service<Request<Incoming>> for Guarded<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ServerBody<B>>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let busy = self.connection.start_request();
        if self.connection.framing_ambiguous() && request.headers().contains_key(TRANSFER_ENCODING)
        {
            // hyper dropped the `Content-Length` this head also carried (see `framing`).
            tracing::warn!(
                peer = %self.connection.peer(),
                "request with both Content-Length and Transfer-Encoding: 400, closing"
            );
            let response = text(StatusCode::BAD_REQUEST, "Bad Request", busy);
            return Box::pin(std::future::ready(Ok(response)));
        }
        let mut service = self.inner.clone();
        let slots = self.slots.clone();
        let wait = self.wait;
        let peer = self.connection.peer();
        Box::pin(async move {
            // A free slot is taken at once, with no timer (the semaphore hands released slots to
            // its waiters first, so this takes none a waiter is owed).
            let slot = match slots.clone().try_acquire_owned() {
                Ok(slot) => Ok(Ok(slot)),
                Err(_) => tokio::time::timeout(wait, slots.acquire_owned()).await,
            };
            let slot = match slot {
                Ok(Ok(slot)) => slot,
                _ => {
                    tracing::warn!(%peer, "in-flight limit reached: 503");
                    return Ok(text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Service Unavailable",
                        busy,
                    ));
                }
            };
            let response = async {
                poll_fn(|cx| service.poll_ready(cx)).await?;
                service.call(request).await
            }
            .await;
            Ok(match response {
                Ok(response) => response.map(|body| ServerBody {
                    kind: Kind::Inner { body },
                    guards: Some((busy, Some(slot))),
                }),
                Err(error) => {
                    let error: BoxError = error.into();
                    tracing::warn!(%peer, %error, "service error: 500");
                    text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                        busy,
                    )
                }
            })
        })
    }
}

/// A short plain-text response of the server's own.
fn text<B>(status: StatusCode, text: &'static str, busy: RequestGuard) -> Response<ServerBody<B>> {
    let mut response = crate::http_error::response(
        status,
        ServerBody {
            kind: Kind::Text {
                text: Some(crate::http_error::body(text)),
            },
            guards: Some((busy, None)),
        },
    );
    let headers = response.headers_mut();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if status == StatusCode::BAD_REQUEST {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

pin_project_lite::pin_project! {
    /// A response body: the service's, or a short text of the server's. It holds the request's
    /// in-flight slot and marks its connection busy until its last frame is sent or it is dropped.
    pub(crate) struct ServerBody<B> {
        #[pin]
        kind: Kind<B>,
        guards: Option<(RequestGuard, Option<OwnedSemaphorePermit>)>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Text { text: Option<Bytes> },
    }
}

impl<B> Body for ServerBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let frame = match this.kind.project() {
            KindProj::Inner { body } => match body.poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => Some(Ok(
                    frame.map_data(|mut data| data.copy_to_bytes(data.remaining()))
                )),
                Poll::Ready(Some(Err(error))) => Some(Err(error.into())),
                Poll::Ready(None) => None,
            },
            KindProj::Text { text } => text.take().map(|text| Ok(Frame::data(text))),
        };
        if !matches!(frame, Some(Ok(_))) {
            *this.guards = None; // done: free the slot and mark the connection idle
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Text { text } => text.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Text { text } => {
                SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64))
            }
        }
    }
}

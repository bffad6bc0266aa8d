//! The starter's routing: each kind's path straight to its layered service, everything else
//! (`/healthz`, `/readyz`, `/metrics`, the 404s) to an axum `Router`.
//!
//! A kind's request is the hot path of the process: it is matched by comparing its path with
//! the nine kinds' and handed to the kind's service with one boxed future around it. Through an
//! axum `Router` it took a route lookup, a clone of a boxed service, a boxed request body and
//! a boxed response body, four allocations more per request.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Bytes, HttpBody};
use axum::http::{Request, Response};
use drone_extension::BoxError;
use drone_extension::layer::ResponseBody;
use http_body_util::{Either, Full};
use tower_service::Service;

/// The response body of every route: a kind's behind the verifying layer, a kind's served
/// without it (`/global-secrets` with `DRONE_GLOBAL_SECRETS_UNSIGNED`), or axum's.
pub type AppBody = Either<ResponseBody<Full<Bytes>>, Either<Full<Bytes>, axum::body::Body>>;

/// The future of every route.
pub type AppFuture = Pin<Box<dyn Future<Output = Result<Response<AppBody>, Infallible>> + Send>>;

/// A kind's response body, as an [`AppBody`].
pub trait IntoAppBody {
    /// The body, unchanged, as one side of the [`AppBody`].
    fn into_app(self) -> AppBody;
}

impl IntoAppBody for ResponseBody<Full<Bytes>> {
    fn into_app(self) -> AppBody {
        Either::Left(self)
    }
}

impl IntoAppBody for Full<Bytes> {
    fn into_app(self) -> AppBody {
        Either::Right(Either::Left(self))
    }
}

/// One kind's layered service, type-erased.
trait Route<B>: Send + Sync {
    fn call(&self, request: Request<B>) -> AppFuture;
}

/// A layered kind service as a [`Route`].
struct Layered<S>(S);

impl<S, B, R> Route<B> for Layered<S>
where
    S: Service<Request<B>, Response = Response<R>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: IntoAppBody,
{
    fn call(&self, request: Request<B>) -> AppFuture {
        let mut service = self.0.clone();
        Box::pin(async move {
            poll_fn(|cx| service.poll_ready(cx)).await?;
            let response = service.call(request).await?;
            Ok(response.map(R::into_app))
        })
    }
}

/// A kind's path and its route.
type KindRoute<B> = (&'static str, Arc<dyn Route<B>>);

/// The kinds' routes, and axum's router for every other path. Cheap to clone.
pub struct App<B> {
    kinds: Arc<Vec<KindRoute<B>>>,
    rest: Router,
}

impl<B> Clone for App<B> {
    fn clone(&self) -> Self {
        App {
            kinds: self.kinds.clone(),
            rest: self.rest.clone(),
        }
    }
}

impl<B> App<B>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    /// No kind yet; `rest` answers every path.
    pub fn new(rest: Router) -> App<B> {
        App {
            kinds: Arc::new(Vec::new()),
            rest,
        }
    }

    /// Serves `service` (a kind's service, behind its layers) at `path`.
    pub fn kind<S, R>(mut self, path: &'static str, service: S) -> App<B>
    where
        S: Service<Request<B>, Response = Response<R>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        R: IntoAppBody + 'static,
    {
        Arc::make_mut(&mut self.kinds).push((path, Arc::new(Layered(service))));
        self
    }

    /// The router for every path that is not a kind's.
    pub fn rest(&mut self) -> &mut Router {
        &mut self.rest
    }
}

impl<B> Service<Request<B>> for App<B>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<AppBody>;
    type Error = Infallible;
    type Future = AppFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> AppFuture {
        let path = request.uri().path();
        if let Some((_, route)) = self.kinds.iter().find(|(kind, _)| *kind == path) {
            return route.call(request);
        }
        let mut rest = self.rest.clone();
        Box::pin(async move {
            poll_fn(|cx| Service::<Request<B>>::poll_ready(&mut rest, cx)).await?;
            let response = rest.call(request).await?;
            Ok(response.map(|body| Either::Right(Either::Right(body))))
        })
    }
}

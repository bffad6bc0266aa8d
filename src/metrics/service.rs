//! [`MetricsService`]: the middleware itself.

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use std::sync::Arc;

use super::KindSeries;
use super::future::ResponseFuture;

/// Counts and times the requests of one kind. Made by [`MetricsLayer`](super::MetricsLayer).
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    series: Arc<KindSeries>,
}

impl<S> MetricsService<S> {
    pub(crate) fn new(inner: S, series: Arc<KindSeries>) -> Self {
        MetricsService { inner, series }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, consuming the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        ResponseFuture::start(self.inner.call(request), self.series.clone())
    }
}

//! The response future of [`Verify`](super::Verify).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The future [`Verify`](super::Verify) returns: it reads and checks the body,
/// then calls the inner service.
pub struct ResponseFuture<T> {
    inner: BoxFuture<T>,
}

impl<T> ResponseFuture<T> {
    pub(crate) fn new(future: impl Future<Output = T> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Box::pin(future),
        }
    }
}

impl<T> ResponseFuture<T> {
    /// The boxed future itself, for a caller that boxes it anyway.
    pub(crate) fn into_box(self) -> BoxFuture<T> {
        self.inner
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

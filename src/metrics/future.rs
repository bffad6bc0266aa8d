//! The response future of [`MetricsService`](super::MetricsService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::Response;
use pin_project_lite::pin_project;
use std::sync::Arc;

use super::KindSeries;
use crate::layer::Refused;
use crate::service::Decision;

/// One request counted in the in-flight gauge until dropped (answered or abandoned).
#[derive(Debug)]
struct InFlight(Arc<KindSeries>);

impl InFlight {
    fn enter(series: Arc<KindSeries>) -> InFlight {
        series.in_flight.inc();
        InFlight(series)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

pin_project! {
    /// The future [`MetricsService`](super::MetricsService) returns: records the response when
    /// the inner service answers.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        series: InFlight,
    }
}

impl<F> ResponseFuture<F> {
    /// Starts recording one request of `series`' kind, answered by `inner`.
    pub(crate) fn start(inner: F, series: Arc<KindSeries>) -> ResponseFuture<F> {
        ResponseFuture {
            inner,
            started: Instant::now(),
            series: InFlight::enter(series),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let series = &this.series.0;
        series
            .duration
            .observe(this.started.elapsed().as_secs_f64());
        match &result {
            Ok(response) => {
                let refused = response.extensions().get::<Refused>().map(Refused::reason);
                let decision = match (refused, response.extensions().get::<Decision>()) {
                    (Some(_), _) => "refused",
                    (None, Some(decision)) => decision.as_str(),
                    (None, None) => "other",
                };
                series.answered(decision, response.status().as_u16(), refused);
            }
            // No response: counted with status 0.
            Err(_) => series.answered("error", 0, None),
        }
        Poll::Ready(result)
    }
}

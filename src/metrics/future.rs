//! The response future of [`MetricsService`](super::MetricsService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::Response;
use pin_project_lite::pin_project;
use prometheus_client::metrics::gauge::Gauge;

use super::{KindLabels, Metrics, RefusalLabels, RequestLabels};
use crate::layer::Refused;
use crate::service::Decision;

/// One request counted in the in-flight gauge until dropped (answered or abandoned).
#[derive(Debug)]
struct InFlight(Gauge);

impl InFlight {
    fn enter(gauge: Gauge) -> InFlight {
        gauge.inc();
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
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
        metrics: Metrics,
        kind: &'static str,
        _in_flight: InFlight,
    }
}

impl<F> ResponseFuture<F> {
    /// Starts recording one request of `kind`, answered by `inner`.
    pub(crate) fn start(inner: F, metrics: &Metrics, kind: &'static str) -> ResponseFuture<F> {
        let gauge = metrics
            .in_flight()
            .get_or_create_owned(&KindLabels { kind });
        ResponseFuture {
            inner,
            started: Instant::now(),
            metrics: metrics.clone(),
            kind,
            _in_flight: InFlight::enter(gauge),
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
        let kind = *this.kind;
        this.metrics
            .duration()
            .get_or_create(&KindLabels { kind })
            .observe(this.started.elapsed().as_secs_f64());
        let (decision, status) = match &result {
            Ok(response) => {
                let refused = response.extensions().get::<Refused>();
                if let Some(refused) = refused {
                    let reason = refused.reason();
                    this.metrics
                        .refusals()
                        .get_or_create(&RefusalLabels { kind, reason })
                        .inc();
                }
                let decision = match (refused, response.extensions().get::<Decision>()) {
                    (Some(_), _) => "refused",
                    (None, Some(decision)) => decision.as_str(),
                    (None, None) => "other",
                };
                (decision, response.status().as_u16())
            }
            // No response: counted with status 0.
            Err(_) => ("error", 0),
        };
        this.metrics
            .requests()
            .get_or_create(&RequestLabels {
                kind,
                decision,
                status,
            })
            .inc();
        Poll::Ready(result)
    }
}

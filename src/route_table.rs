//! What every router shares, whatever its protocol: a table of verified services by path, the
//! router's own 404 and 405 answers, and the per-kind metrics.
//!
//! [`ExtensionRouter`](crate::router::ExtensionRouter) (Drone) and
//! `woodpecker::WoodpeckerRouter` each hold a [`RouteTable`] and differ only in how they build
//! the verified services they put in it; their `Service` impl is [`router_service!`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{ALLOW, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use tower_service::Service;

use crate::BoxError;
use crate::layer::{ResponseBody, Scheme, Verify};
use crate::service::{Endpoint, ExtensionService};

/// The response of every router (Drone's `ExtensionRouter`, Woodpecker's `WoodpeckerRouter`) and
/// of a `router::VerifiedService`; named `router::RouterResponse`.
pub type RouterResponse = http::Response<ResponseBody<http_body_util::Full<Bytes>>>;

/// The body every route receives, whatever the server's body type.
pub(crate) type RouteBody = UnsyncBoxBody<Bytes, BoxError>;

/// The future of every router.
pub(crate) type RouterFuture =
    Pin<Box<dyn Future<Output = Result<RouterResponse, Infallible>> + Send + 'static>>;

/// One verified service, type-erased.
trait Route: Send + Sync + 'static {
    /// The route's answer to `request`; recorded into `series` when given.
    fn call(&self, request: Request<RouteBody>, series: Option<&Series>) -> RouterFuture;
}

#[cfg(feature = "metrics")]
type Series = Arc<crate::metrics::KindSeries>;
#[cfg(not(feature = "metrics"))]
type Series = Infallible;

impl<E: Endpoint, T: Scheme> Route for Verify<ExtensionService<E>, T> {
    fn call(&self, request: Request<RouteBody>, series: Option<&Series>) -> RouterFuture {
        let mut service = self.clone();
        // The layer is ready when its service is, and an `ExtensionService` always is: its
        // `poll_ready` answers at once, whatever the waker.
        let mut cx = Context::from_waker(Waker::noop());
        let ready = Service::<Request<RouteBody>>::poll_ready(&mut service, &mut cx);
        debug_assert!(matches!(ready, Poll::Ready(Ok(()))), "always ready");
        // The layer's own boxed future, as it is: no box around the box.
        let answered = Service::call(&mut service, request).into_box();
        match series {
            #[cfg(feature = "metrics")]
            Some(series) => Box::pin(crate::metrics::ResponseFuture::start(
                answered,
                series.clone(),
            )),
            _ => answered,
        }
    }
}

/// One path's service, with the name it is logged and measured under.
#[derive(Clone)]
struct Entry {
    path: String,
    name: &'static str,
    route: Arc<dyn Route>,
    #[cfg(feature = "metrics")]
    series: Option<Arc<crate::metrics::KindSeries>>,
}

/// Verified services by path (below an optional prefix). Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct RouteTable {
    /// A handful of routes (one per kind): a scan comparing lengths first finds one faster than
    /// hashing the path would.
    routes: Arc<Vec<Entry>>,
    /// Stripped from the request's path before the lookup (the URI itself is left as it came:
    /// a signature may cover it).
    prefix: Arc<str>,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::Metrics>,
}

impl RouteTable {
    /// Serves `service` at `path` (below the prefix) under its endpoint's name; replaces what was
    /// there.
    pub(crate) fn insert<E: Endpoint, T: Scheme>(
        &mut self,
        path: impl Into<String>,
        service: Verify<ExtensionService<E>, T>,
    ) {
        let name = E::NAME;
        let entry = Entry {
            path: path.into(),
            name,
            route: Arc::new(service),
            #[cfg(feature = "metrics")]
            series: self.metrics.as_ref().map(|metrics| metrics.kind(name)),
        };
        let routes = Arc::make_mut(&mut self.routes);
        match routes.iter_mut().find(|e| e.path == entry.path) {
            Some(existing) => *existing = entry,
            None => routes.push(entry),
        }
    }

    /// The `(path, name)` of every route, sorted by path.
    pub(crate) fn routes(&self) -> Vec<(&str, &'static str)> {
        let mut routes: Vec<_> = self
            .routes
            .iter()
            .map(|entry| (entry.path.as_str(), entry.name))
            .collect();
        routes.sort_unstable();
        routes
    }

    /// The prefix stripped before the lookup (`""`: none).
    #[cfg_attr(not(feature = "woodpecker"), allow(dead_code))] // only Woodpecker's router sets one
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Serves every route below `prefix`: a leading `/` is added, a trailing one removed (`/`
    /// and `""` mean no prefix).
    #[cfg_attr(not(feature = "woodpecker"), allow(dead_code))]
    pub(crate) fn set_prefix(&mut self, prefix: &str) {
        let trimmed = prefix.trim_matches('/');
        self.prefix = if trimmed.is_empty() {
            Arc::from("")
        } else {
            Arc::from(format!("/{trimmed}"))
        };
    }

    /// Records every route's requests into `metrics` under its name.
    #[cfg(feature = "metrics")]
    pub(crate) fn set_metrics(&mut self, metrics: &crate::metrics::Metrics) {
        for entry in Arc::make_mut(&mut self.routes).iter_mut() {
            entry.series = Some(metrics.kind(entry.name));
        }
        self.metrics = Some(metrics.clone());
    }

    /// Answers `request`: 404 for a path with no route, 405 for another method than `POST`,
    /// otherwise the route's answer.
    pub(crate) fn dispatch<B>(&self, request: Request<B>) -> RouterFuture
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let entry = request
            .uri()
            .path()
            .strip_prefix(&*self.prefix)
            .and_then(|path| self.routes.iter().find(|entry| entry.path == path));
        let Some(entry) = entry else {
            return ready(plain(StatusCode::NOT_FOUND, "404 page not found"));
        };
        if request.method() != Method::POST {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return ready(response);
        }
        #[cfg(feature = "metrics")]
        let series = entry.series.as_ref();
        #[cfg(not(feature = "metrics"))]
        let series = None;
        entry.route.call(
            request.map(|body| body.map_err(Into::into).boxed_unsync()),
            series,
        )
    }
}

fn ready(response: RouterResponse) -> RouterFuture {
    Box::pin(std::future::ready(Ok(response)))
}

/// A plain-text answer of the router itself, shaped like Go's `http.Error` (`text` plus `\n`).
fn plain(status: StatusCode, text: &'static str) -> RouterResponse {
    crate::service::text_response(status, text).map(ResponseBody::rejection)
}

/// `impl Service<Request<B>>` for a router holding a [`RouteTable`] in its `table` field.
macro_rules! router_service {
    ($router:ty) => {
        impl<B> tower_service::Service<http::Request<B>> for $router
        where
            B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
            B::Error: Into<$crate::BoxError>,
        {
            type Response = $crate::route_table::RouterResponse;
            type Error = std::convert::Infallible;
            type Future = $crate::route_table::RouterFuture;

            fn poll_ready(
                &mut self,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), std::convert::Infallible>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: http::Request<B>) -> Self::Future {
                self.table.dispatch(request)
            }
        }
    };
}
pub(crate) use router_service;

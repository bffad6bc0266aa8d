//! Prometheus metrics for extensions: a tower layer that counts and times every request.
//!
//! [`Metrics`] holds the metric families, recorded with the official Prometheus client crate
//! (`prometheus-client`); [`MetricsLayer`] records one kind's requests into them. Put the layer
//! **outside** the [`VerifySignatureLayer`](crate::signature::VerifySignatureLayer), so that it sees
//! the layer's refusals (each carries a [`Refused`](crate::layer::Refused) response extension) as
//! well as the service's answers (each carries a [`Decision`](crate::service::Decision)). Serve
//! [`Metrics::encode`] (or [`Metrics::response`]) on an unsigned `GET /metrics`, ideally on an
//! address Drone does not reach.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), drone_extension::BoxError> {
//! use drone_extension::ExtensionKind;
//! use drone_extension::signature::VerifySignatureLayer;
//! use drone_extension::metrics::{Metrics, MetricsLayer};
//! use drone_extension::models::Secret;
//! use drone_extension::secret::{self, SecretFinder, SecretRequest};
//! use drone_extension::signature::SharedSecret;
//! use drone_extension::{BoxError, testing};
//! use tower::ServiceBuilder;
//!
//! struct Vault;
//!
//! #[drone_extension::async_trait]
//! impl SecretFinder for Vault {
//!     async fn find(&self, _: SecretRequest) -> Result<Option<Secret>, BoxError> {
//!         Ok(None)
//!     }
//! }
//!
//! let metrics = Metrics::new();
//! let key = SharedSecret::new("correct-horse-battery-staple")?;
//! let service = ServiceBuilder::new()
//!     .layer(MetricsLayer::new(&metrics, ExtensionKind::Secret))
//!     .layer(VerifySignatureLayer::for_kind(ExtensionKind::Secret, key.clone()))
//!     .service(secret::service(Vault));
//!
//! let request = testing::signed_request(ExtensionKind::Secret, &key, &SecretRequest::default())?;
//! assert_eq!(testing::send(service, request).await?.status, 204);
//! // GET /metrics answers with this text (OpenMetrics, which Prometheus scrapes):
//! let text = metrics.encode();
//! assert!(text.contains(
//!     r#"drone_extension_requests_total{kind="secret",decision="not-found",status="204"} 1"#
//! ));
//! # Ok(())
//! # }
//! ```
//!
//! # What is recorded
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `drone_extension_requests_total` | counter | `kind`, `decision`, `status` |
//! | `drone_extension_refusals_total` | counter | `kind`, `reason` |
//! | `drone_extension_request_duration_seconds` | histogram | `kind` |
//! | `drone_extension_in_flight_requests` | gauge | `kind` |
//! | `drone_extension_body_buffered_bytes` | gauge | (none) |
//! | `drone_extension_body_budget_bytes` | gauge | (none) |
//! | `drone_extension_vault_calls_total` | counter | `operation`, `outcome` |
//! | `drone_extension_vault_token_ttl_seconds` | gauge | (none) |
//!
//! - `decision` is the service's one-word decision (`allow`, `deny`, `found`, `none`, `error`,
//!   `invalid`, …), `refused` when the verifying layer refused the request, and `other` when the
//!   inner service is not one of the crate's.
//! - `reason` is [`Rejection::reason`](crate::layer::Rejection::reason): `missing`,
//!   `malformed`, `algorithm`, `key`, `policy`, `stale`, `signature`, `digest`, `too_large`,
//!   `timeout`, `unreadable`, `replay`, `replay_guard` (the shared replay store is down) or
//!   `overload`.
//! - The body gauges read every [`BodyBudget`] the metrics watch (the process-wide default, and
//!   any given to [`Metrics::watch_budget`]) at each scrape.
//! - The Vault families stay empty unless a Vault client records into them
//!   ([`Metrics::vault_call`], [`Metrics::watch_vault_token_ttl`]).
//!
//! Label values are fixed vocabularies (never a repository, a user or a path), so the number of
//! series is bounded whatever callers send.
//!
//! # Alerting
//!
//! What an operator should page on: `rate(drone_extension_refusals_total{reason="replay_guard"}[5m]) > 0`
//! (the shared replay store is unreachable and requests fail closed),
//! `rate(drone_extension_refusals_total{reason=~"signature|key|digest"}[5m])` well above zero
//! (forgeries, or a rotated secret on one side only), `reason="overload"` (add replicas or
//! budget), `decision="error"` (the backend fails), and the 99th percentile of the duration
//! approaching Drone's 60 s timeout.

mod future;
mod layer;
mod service;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::layer::BodyBudget;

pub use future::ResponseFuture;
pub use layer::MetricsLayer;
pub use service::MetricsService;

/// The `Content-Type` of [`Metrics::encode`]'s text: OpenMetrics 1.0, which Prometheus scrapes.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) kind: &'static str,
    pub(crate) decision: &'static str,
    pub(crate) status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RefusalLabels {
    pub(crate) kind: &'static str,
    pub(crate) reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabels {
    pub(crate) kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VaultLabels {
    operation: &'static str,
    outcome: &'static str,
}

type HistogramFamily = Family<KindLabels, Histogram, fn() -> Histogram>;

/// Request durations: 0.5 ms to about 16 s, doubling.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The metric families shared by every [`MetricsLayer`] made from them. Cloning is cheap and
/// records into the same families.
///
/// [`Metrics::new`] registers them in a registry of its own, which [`encode`](Metrics::encode)
/// renders; [`register`](Metrics::register) adds them to an application's registry too.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) refusals: Family<RefusalLabels, Counter>,
    pub(crate) duration: HistogramFamily,
    pub(crate) in_flight: Family<KindLabels, Gauge>,
    budgets: Arc<BudgetCollector>,
    vault_calls: Family<VaultLabels, Counter>,
    vault_token: Arc<TokenCollector>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// The families, registered under the prefix `drone_extension` in a registry of their own,
    /// watching the process-wide [`BodyBudget::shared_default`].
    pub fn new() -> Metrics {
        let requests = Family::default();
        let refusals = Family::default();
        let duration = HistogramFamily::new_with_constructor(duration_histogram);
        let in_flight = Family::default();
        let budgets = Arc::new(BudgetCollector {
            budgets: Mutex::new(vec![BodyBudget::shared_default()]),
        });
        let vault_calls = Family::default();
        let vault_token = Arc::new(TokenCollector::default());
        let mut inner = Inner {
            registry: Registry::default(),
            requests,
            refusals,
            duration,
            in_flight,
            budgets,
            vault_calls,
            vault_token,
        };
        let mut registry = Registry::default();
        inner.register(&mut registry);
        inner.registry = registry;
        Metrics {
            inner: Arc::new(inner),
        }
    }

    /// Registers the same families in `registry` as well (under `drone_extension_`), for an
    /// application that serves one registry of its own.
    pub fn register(&self, registry: &mut Registry) {
        self.inner.register(registry);
    }

    /// Also reports the bytes held in `budget` (a layer's own
    /// [`body_budget`](crate::signature::VerifySignatureLayer::body_budget)).
    pub fn watch_budget(&self, budget: &BodyBudget) {
        let mut budgets = self
            .inner
            .budgets
            .budgets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !budgets.iter().any(|b| b.same_as(budget)) {
            budgets.push(budget.clone());
        }
    }

    /// Counts a call to Vault: `operation` (`read`, `login`, `renew`, `lookup`, …) and `outcome`
    /// (`ok`, `not_found`, `denied`, `error`, `timeout`, …), from fixed vocabularies.
    pub fn vault_call(&self, operation: &'static str, outcome: &'static str) {
        self.inner
            .vault_calls
            .get_or_create(&VaultLabels { operation, outcome })
            .inc();
    }

    /// Reports the Vault token's remaining time to live, in seconds, as `ttl` tells it at each
    /// scrape (`None`: no token, or one that never expires, and then no sample).
    pub fn watch_vault_token_ttl(&self, ttl: impl Fn() -> Option<f64> + Send + Sync + 'static) {
        *self
            .inner
            .vault_token
            .ttl
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(ttl));
    }

    /// The registry's text in the OpenMetrics format (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(4096);
        // Writing into a String cannot fail, nor can the crate's collectors.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }

    /// `200` with [`encode`](Metrics::encode)'s text and its `Content-Type`: the answer to an
    /// unsigned `GET /metrics`.
    pub fn response(&self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.encode())));
        *response.status_mut() = StatusCode::OK;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE_OPENMETRICS),
        );
        response
    }

    /// The series of one kind, looked up once: a layer records through these without a lookup
    /// per request but for the `(decision, status)` counter.
    pub(crate) fn kind(&self, kind: &'static str) -> Arc<KindSeries> {
        let labels = KindLabels { kind };
        Arc::new(KindSeries {
            kind,
            duration: self.inner.duration.get_or_create_owned(&labels),
            in_flight: self.inner.in_flight.get_or_create_owned(&labels),
            answers: RwLock::default(),
            refusals: RwLock::default(),
            metrics: self.clone(),
        })
    }
}

/// One kind's series (see [`Metrics::kind`]).
#[derive(Debug)]
pub(crate) struct KindSeries {
    pub(crate) kind: &'static str,
    pub(crate) duration: Histogram,
    pub(crate) in_flight: Gauge,
    /// The series of `requests_total` this kind has answered with, by `(decision, status)`:
    /// each looked up in the family once (a hash of the labels and the family's lock), then
    /// found here with a comparison or two. Clones of the family's own counters.
    answers: RwLock<Vec<((&'static str, u16), Counter)>>,
    /// Likewise, the series of `refusals_total` by `reason`.
    refusals: RwLock<Vec<(&'static str, Counter)>>,
    metrics: Metrics,
}

impl KindSeries {
    /// Counts one answer (`decision`, `status`) and, for a refusal, its reason.
    pub(crate) fn answered(
        &self,
        decision: &'static str,
        status: u16,
        refused: Option<&'static str>,
    ) {
        let kind = self.kind;
        if let Some(reason) = refused {
            count(&self.refusals, reason, || {
                self.metrics
                    .inner
                    .refusals
                    .get_or_create_owned(&RefusalLabels { kind, reason })
            });
        }
        count(&self.answers, (decision, status), || {
            self.metrics
                .inner
                .requests
                .get_or_create_owned(&RequestLabels {
                    kind,
                    decision,
                    status,
                })
        });
    }
}

/// Increments the counter of `key` in `cache`, taking it from `series` (the family) the first
/// time. The vocabularies are fixed, so the cache stays a few entries long.
fn count<K: PartialEq + Copy>(
    cache: &RwLock<Vec<(K, Counter)>>,
    key: K,
    series: impl FnOnce() -> Counter,
) {
    let cached = cache.read().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, counter)) = cached.iter().find(|(k, _)| *k == key) {
        counter.inc();
        return;
    }
    drop(cached);
    let counter = series();
    counter.inc();
    let mut cached = cache.write().unwrap_or_else(PoisonError::into_inner);
    if !cached.iter().any(|(k, _)| *k == key) {
        cached.push((key, counter));
    }
}

impl Inner {
    fn register(&self, registry: &mut Registry) {
        let registry = registry.sub_registry_with_prefix("drone_extension");
        registry.register(
            "requests",
            "Requests answered, by kind, decision and status",
            self.requests.clone(),
        );
        registry.register(
            "refusals",
            "Requests refused by the signature layer, by kind and reason",
            self.refusals.clone(),
        );
        registry.register_with_unit(
            "request_duration",
            "Time from a request's head to its response's head, by kind",
            Unit::Seconds,
            self.duration.clone(),
        );
        registry.register(
            "in_flight_requests",
            "Requests being received or answered, by kind",
            self.in_flight.clone(),
        );
        registry.register_collector(Box::new(self.budgets.clone()));
        registry.register(
            "vault_calls",
            "Calls to Vault, by operation and outcome",
            self.vault_calls.clone(),
        );
        registry.register_collector(Box::new(self.vault_token.clone()));
    }
}

/// Reads the watched budgets at each scrape.
#[derive(Debug)]
struct BudgetCollector {
    budgets: Mutex<Vec<BodyBudget>>,
}

impl Collector for BudgetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let (held, capacity) = self
            .budgets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .fold((0u64, 0u64), |(held, capacity), b| {
                let cap = b.capacity() as u64;
                (held + cap - b.available() as u64, capacity + cap)
            });
        for (name, help, value) in [
            (
                "body_buffered",
                "Request body bytes reserved in the watched body budgets",
                held,
            ),
            (
                "body_budget",
                "Capacity of the watched body budgets",
                capacity,
            ),
        ] {
            let gauge = ConstGauge::new(value as i64);
            let metric =
                encoder.encode_descriptor(name, help, Some(&Unit::Bytes), gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

/// The remaining time to live of a Vault token, read at each scrape.
#[derive(Default)]
struct TokenCollector {
    ttl: Mutex<Option<TtlSource>>,
}

type TtlSource = Box<dyn Fn() -> Option<f64> + Send + Sync>;

impl fmt::Debug for TokenCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCollector").finish_non_exhaustive()
    }
}

impl Collector for TokenCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let ttl = self.ttl.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(seconds) = ttl.as_ref().and_then(|ttl| ttl()) else {
            return Ok(());
        };
        let gauge = ConstGauge::new(seconds);
        let metric = encoder.encode_descriptor(
            "vault_token_ttl",
            "The Vault token's remaining time to live",
            Some(&Unit::Seconds),
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_families_appear_once_recorded_and_the_ttl_is_read_at_each_scrape() {
        let metrics = Metrics::new();
        let text = metrics.encode();
        assert!(!text.contains("vault_calls_total{"), "{text}");
        assert!(
            !text.contains("drone_extension_vault_token_ttl_seconds "),
            "{text}"
        );

        metrics.vault_call("read", "ok");
        metrics.vault_call("read", "ok");
        metrics.vault_call("login", "denied");
        let ttl = Arc::new(Mutex::new(Some(42.0)));
        let source = ttl.clone();
        metrics.watch_vault_token_ttl(move || *source.lock().unwrap());
        let text = metrics.encode();
        assert!(
            text.contains(r#"drone_extension_vault_calls_total{operation="read",outcome="ok"} 2"#)
        );
        assert!(text.contains(
            r#"drone_extension_vault_calls_total{operation="login",outcome="denied"} 1"#
        ));
        assert!(
            text.contains("drone_extension_vault_token_ttl_seconds 42.0"),
            "{text}"
        );
        *ttl.lock().unwrap() = None;
        assert!(
            !metrics
                .encode()
                .contains("drone_extension_vault_token_ttl_seconds ")
        );
    }

    #[test]
    fn the_same_budget_is_watched_once() {
        let metrics = Metrics::new();
        let budget = BodyBudget::new(1024 * 1024);
        metrics.watch_budget(&budget);
        metrics.watch_budget(&budget.clone());
        metrics.watch_budget(&BodyBudget::shared_default());
        let capacity = (crate::layer::DEFAULT_BODY_BUDGET + 1024 * 1024).to_string();
        assert!(
            metrics
                .encode()
                .contains(&format!("drone_extension_body_budget_bytes {capacity}")),
            "{}",
            metrics.encode()
        );
    }
}

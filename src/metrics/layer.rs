//! [`MetricsLayer`]: records one kind's requests.

use tower_layer::Layer;

use std::sync::Arc;

use super::{KindSeries, Metrics, MetricsService};
use crate::ExtensionKind;

/// Records the requests of one extension kind into [`Metrics`]. See the [module docs](super).
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    series: Arc<KindSeries>,
}

impl MetricsLayer {
    /// A layer recording `kind`'s requests (labelled with [`ExtensionKind::name`]).
    pub fn new(metrics: &Metrics, kind: ExtensionKind) -> MetricsLayer {
        MetricsLayer::labelled(metrics, kind.name())
    }

    /// A layer recording requests under the `kind` label `kind`, for endpoints that are not one
    /// of [`ExtensionKind`]'s. Keep it to a fixed name: every distinct label is a new series.
    pub fn labelled(metrics: &Metrics, kind: &'static str) -> MetricsLayer {
        MetricsLayer {
            series: metrics.kind(kind),
        }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> MetricsService<S> {
        MetricsService::new(inner, self.series.clone())
    }
}

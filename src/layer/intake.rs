//! Receiving a verified head's body: the machinery of the verifying layer, whatever
//! [`Scheme`](super::Scheme) signed the head.
//!
//! [`Intake::admit`] runs before any body byte is read (declared length, duplicate in flight);
//! [`Intake::receive`] takes room in the [`BodyBudget`], reads the body under the limit and the
//! deadlines, registers the request's signature while a slow body arrives, and checks the bytes.

use std::num::IntErrorKind;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::Body;

use super::body::read_body;
use super::budget::BudgetPermit;
use super::in_flight::{InFlight, RECEIVING_GRACE, Refused};
use super::layer::{DEFAULT_BODY_DEADLINE, DEFAULT_BODY_LIMIT, DEFAULT_IDLE_TIMEOUT};
use super::{BodyBudget, DEFAULT_BUDGET_WAIT, Fingerprint, Rejection};
use crate::BoxError;

/// The body limits, the budget and the in-flight set of one layer.
#[derive(Clone, Debug)]
pub(crate) struct Intake {
    pub(crate) body_limit: usize,
    pub(crate) body_deadline: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) budget: BodyBudget,
    pub(crate) budget_wait: Duration,
    /// Shared by the layer's clones and the services it makes.
    pub(crate) in_flight: Arc<InFlight>,
}

impl Default for Intake {
    fn default() -> Intake {
        Intake {
            body_limit: DEFAULT_BODY_LIMIT,
            body_deadline: DEFAULT_BODY_DEADLINE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            budget: BodyBudget::shared_default(),
            budget_wait: DEFAULT_BUDGET_WAIT,
            in_flight: Arc::default(),
        }
    }
}

impl Intake {
    /// Before the body: the declared length within the limit, and no copy of this signature
    /// still receiving its body. Returns the declared length.
    pub(crate) fn admit(
        &self,
        headers: &HeaderMap,
        key: &Fingerprint,
    ) -> Result<Option<usize>, Rejection> {
        let declared = declared_length(headers, self.body_limit)?;
        // One slot per signature while its body arrives: a copy of a request still receiving
        // its body is refused before any of its own body is read.
        if self.in_flight.contains(key.as_bytes()) {
            return Err(Rejection::DuplicateInProgress);
        }
        Ok(declared)
    }

    /// Takes room in the budget, reads the body and passes it to `check`, with `key` registered
    /// in the in-flight set while a body that did not arrive within the grace is received and
    /// checked. Returns the bytes, what `check` returned, and the room taken (give it back once
    /// the inner service answered).
    pub(crate) async fn receive<B, T>(
        &self,
        body: B,
        declared: Option<usize>,
        key: &Fingerprint,
        check: impl FnOnce(&[u8]) -> Result<T, Rejection>,
    ) -> Result<(Bytes, T, BudgetPermit), Rejection>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let wanted = declared.unwrap_or(self.body_limit);
        let Some(permit) = self.budget.acquire(wanted, self.budget_wait).await else {
            return Err(Rejection::Busy("the body budget stayed full"));
        };
        // A copy may have registered while this one waited for room: then this one goes at
        // once, instead of holding room for the grace (copies of a captured head sent
        // together would otherwise queue every other request behind them).
        if self.in_flight.contains(key.as_bytes()) {
            return Err(Rejection::DuplicateInProgress);
        }
        let reading = read_body(
            body,
            self.body_limit,
            declared,
            self.body_deadline,
            self.idle_timeout,
        );
        let mut reading = std::pin::pin!(reading);
        // A body that has not arrived within the grace registers its signature (dropped with
        // the future at the latest), so that its copies are refused while it trickles.
        let mut receiving = None;
        let read = match tokio::time::timeout(RECEIVING_GRACE, reading.as_mut()).await {
            Ok(read) => read,
            Err(_) => match InFlight::enter(&self.in_flight, key.as_bytes()) {
                Ok(guard) => {
                    receiving = Some(guard);
                    reading.await
                }
                Err(Refused::Duplicate) => return Err(Rejection::DuplicateInProgress),
                Err(Refused::Full) => {
                    return Err(Rejection::Busy(
                        "too many requests are receiving their body",
                    ));
                }
            },
        };
        let bytes = read?;
        let checked = check(&bytes);
        // Received and checked: an identical request may now be served.
        drop(receiving);
        Ok((bytes, checked?, permit))
    }
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

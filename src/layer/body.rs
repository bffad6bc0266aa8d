//! Bodies: reading the request body under limits, and the layer's response body.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::Rejection;
use crate::BoxError;

/// The body the inner service receives: the exact bytes that were verified, in one frame.
///
/// It is an `http_body::Body` (so axum's extractors and hyper read it as any body) and gives its
/// bytes without polling ([`into_bytes`](Self::into_bytes)). A service can be tested without the
/// layer with a body made by [`VerifiedBody::new`] or `From<Bytes>`.
#[derive(Debug, Default, Clone)]
pub struct VerifiedBody {
    bytes: Option<Bytes>,
}

impl VerifiedBody {
    /// A body of `bytes`.
    pub fn new(bytes: impl Into<Bytes>) -> VerifiedBody {
        VerifiedBody {
            bytes: Some(bytes.into()),
        }
    }

    /// The bytes not yet read as a frame (all of them unless the body was polled).
    pub fn into_bytes(self) -> Bytes {
        self.bytes.unwrap_or_default()
    }
}

impl From<Bytes> for VerifiedBody {
    fn from(bytes: Bytes) -> VerifiedBody {
        VerifiedBody::new(bytes)
    }
}

impl Body for VerifiedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.bytes
                .take()
                .filter(|bytes| !bytes.is_empty())
                .map(|bytes| Ok(Frame::data(bytes))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.bytes.as_ref().map_or(0, |bytes| bytes.len() as u64))
    }
}

/// Reads a whole body through a length limit, a total deadline and an idle timeout.
///
/// `expected` (the declared `Content-Length`, already checked against the limit) sizes the buffer
/// once. A body that arrives in a single frame is passed on without a copy.
pub(crate) async fn read_body<B>(
    body: B,
    limit: usize,
    expected: Option<usize>,
    deadline: Duration,
    idle: Duration,
) -> Result<Bytes, Rejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let deadline = Instant::now() + deadline;
    let body = Limited::new(body, limit);
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    loop {
        let wake = deadline.min(Instant::now() + idle);
        let frame = match tokio::time::timeout_at(wake, body.frame()).await {
            Err(_) => return Err(Rejection::Timeout),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(if is_length_limit(&*e) {
                    Rejection::PayloadTooLarge
                } else {
                    Rejection::BodyUnreadable(e)
                });
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers are not signed and not passed on
        };
        if data.is_empty() {
            continue;
        }
        match (&mut first, &mut rest) {
            (None, None) => first = Some(data),
            (Some(head), None) => {
                let capacity = expected.unwrap_or(0).max(head.len() + data.len());
                let mut buf = BytesMut::with_capacity(capacity);
                buf.extend_from_slice(head);
                buf.extend_from_slice(&data);
                first = None;
                rest = Some(buf);
            }
            (_, Some(buf)) => buf.extend_from_slice(&data),
        }
    }
    Ok(match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(only), None) => only,
        (None, None) => Bytes::new(),
    })
}

/// Whether `err` is, or is caused by, `http_body_util`'s length-limit error.
fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.is::<LengthLimitError>() {
            return true;
        }
        current = e.source();
    }
    false
}

pin_project! {
    /// The response body of [`Verify`](super::Verify): the inner service's body,
    /// or the short text of a [`Rejection`].
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Rejection { body: Full<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        ResponseBody {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn rejection(body: Full<Bytes>) -> Self {
        ResponseBody {
            kind: Kind::Rejection { body },
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Rejection { body } => Pin::new(body)
                .poll_frame(cx)
                .map_err(|e: Infallible| match e {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejection { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejection { body } => body.size_hint(),
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

/// Put into the request's extensions by the verifying layer: the body was received and verified
/// under this limit, so a service behind the layer (such as
/// [`ExtensionService`](crate::service::ExtensionService)) applies no limit of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyReceived {
    limit: usize,
}

impl BodyReceived {
    pub(crate) fn new(limit: usize) -> BodyReceived {
        BodyReceived { limit }
    }

    /// The layer's body limit, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A body that yields the given chunks, one per poll.
    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn chunks(parts: &[&'static [u8]]) -> Chunks {
        Chunks(parts.iter().map(|p| Bytes::from_static(p)).collect())
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn joins_chunks_exactly() {
        let got = read_body(
            chunks(&[b"ab", b"", b"c", b"def"]),
            100,
            Some(6),
            SECOND,
            SECOND,
        )
        .await
        .unwrap();
        assert_eq!(got, "abcdef");
        let single = read_body(chunks(&[b"whole"]), 5, None, SECOND, SECOND)
            .await
            .unwrap();
        assert_eq!(single, "whole");
        let empty = read_body(chunks(&[]), 5, None, SECOND, SECOND)
            .await
            .unwrap();
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn over_the_limit_is_payload_too_large() {
        let err = read_body(chunks(&[b"abc", b"def"]), 5, None, SECOND, SECOND)
            .await
            .unwrap_err();
        assert!(matches!(err, Rejection::PayloadTooLarge), "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_times_out() {
        let stalled = StalledStream;
        let err = read_body(stalled, 5, None, Duration::from_secs(30), SECOND)
            .await
            .unwrap_err();
        assert!(matches!(err, Rejection::Timeout), "{err:?}");
    }

    struct StalledStream;

    impl http_body::Body for StalledStream {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Pending
        }
    }

    #[test]
    fn length_limit_is_found_through_sources() {
        #[derive(Debug)]
        struct Wrapper(LengthLimitError);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let limited = Limited::new(Full::new(Bytes::from_static(b"xx")), 1);
        let err = futures_block(limited.collect()).unwrap_err();
        assert!(is_length_limit(&*err));
        let nested: BoxError = err
            .downcast::<LengthLimitError>()
            .map(|e| Box::new(Wrapper(*e)) as BoxError)
            .unwrap();
        assert!(is_length_limit(&*nested));
        let other: BoxError = "other".into();
        assert!(!is_length_limit(&*other));
    }

    fn futures_block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}

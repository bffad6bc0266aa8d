//! Bodies and services that drive a layer in process: a body held open and watched, an inner
//! service that echoes what it received.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use drone_extension::layer::VerifiedBody;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use tokio::sync::mpsc;
use tower::Service;

/// A body fed from a channel, which records whether it was ever polled.
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
    polled: Arc<AtomicBool>,
}

/// A held-open body: its sender, and the flag set when the layer first polls it.
pub fn channel_body() -> (mpsc::Sender<Bytes>, Arc<AtomicBool>, ChannelBody) {
    let (tx, rx) = mpsc::channel(4);
    let polled = Arc::new(AtomicBool::new(false));
    let body = ChannelBody {
        rx,
        polled: polled.clone(),
    };
    (tx, polled, body)
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.polled.store(true, Ordering::SeqCst);
        self.rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// Yields until `flag` is set (the spawned request reached its body), at most 1,000 times.
pub async fn until(flag: &AtomicBool) {
    for _ in 0..1_000 {
        if flag.load(Ordering::SeqCst) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the request never polled its body");
}

/// An inner service answering 200 with the body it received.
pub fn echo() -> impl Service<
    Request<VerifiedBody>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(|request: Request<VerifiedBody>| async move {
        let body = request.into_body().collect().await.unwrap().to_bytes();
        Ok::<_, Infallible>(Response::new(Full::new(body)))
    })
}

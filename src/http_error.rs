//! The one builder of plain-text error answers, shaped like Go's `http.Error`: the text plus
//! `\n`, `Content-Type: text/plain; charset=utf-8` and `X-Content-Type-Options: nosniff`.
//!
//! Drone and Woodpecker read an extension's error body as the message they show or log, and
//! drone-go's own handlers answer with `http.Error`; every refusal of this crate (the server's,
//! the router's, the verifying layer's and the decoding service's) is built here, so they all
//! look the same on the wire.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{Response, StatusCode};

/// `text` followed by the `\n` Go's `http.Error` appends.
pub(crate) fn body(text: &str) -> Bytes {
    let mut body = Vec::with_capacity(text.len() + 1);
    body.extend_from_slice(text.as_bytes());
    body.push(b'\n');
    Bytes::from(body)
}

/// A response with `status`, the plain-text headers and `body` (made by [`body`], or a static
/// text that already ends with `\n`).
pub(crate) fn response<B>(status: StatusCode, body: B) -> Response<B> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaped_like_go_http_error() {
        let response = response(StatusCode::FORBIDDEN, body("Forbidden"));
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(response.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(response.body().as_ref(), b"Forbidden\n");
    }
}

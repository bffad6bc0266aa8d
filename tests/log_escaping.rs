//! Request-derived log fields are escaped: a newline or an ESC in a login, a header or a refused
//! media type never reaches the log raw, and a media-type refusal names what was expected, what
//! was received and the check that failed.

use std::convert::Infallible;
use std::time::SystemTime;

use bytes::Bytes;
use drone_extension::admission::{Admission, AdmissionEvent, AdmissionRequest, Admitter};
use drone_extension::layer::VerifiedBody;
use drone_extension::models::User;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::signature::{SharedSecret, Signer};
use drone_extension::{BoxError, ExtensionKind, kind};
use http::{Request, Response};
use http_body_util::Full;
use support::log::Capture;
use tower::{Layer, ServiceExt};

const SECRET: &str = "bea26a2221fd8090ea38720fc445eca6";

struct AdmitAll;

#[async_trait::async_trait]
impl Admitter for AdmitAll {
    async fn admit(&self, _request: AdmissionRequest) -> Result<Admission, BoxError> {
        Ok(Admission::Allow)
    }
}

const HOSTILE_LOGIN: &str = "octocat\nINFO forged line\x1b[2J";

#[tokio::test]
async fn a_login_with_a_newline_and_an_escape_is_logged_escaped() {
    let capture = Capture::default();
    let _guard = capture.install();
    let body = serde_json::to_vec(&AdmissionRequest {
        event: AdmissionEvent::Login,
        user: User {
            login: HOSTILE_LOGIN.into(),
            ..Default::default()
        },
        token: None,
    })
    .unwrap();
    let headers = Signer::new(SharedSecret::new(SECRET).unwrap())
        .extension_headers(kind::ADMISSION_V1, &body, SystemTime::now())
        .unwrap();
    let mut request = Request::post("/")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    *request.headers_mut() = headers;
    let service = VerifySignatureLayer::for_kind(
        ExtensionKind::Admission,
        SharedSecret::new(SECRET).unwrap(),
    )
    .layer(AdmitAll.into_service());
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);

    let line = capture.line("extension request");
    let log = capture.text();
    assert!(
        line.contains(r"subject=octocat\nINFO forged line\u{1b}[2J"),
        "{line}"
    );
    assert!(!log.contains('\x1b'), "{log:?}");
    assert!(!log.contains("\nINFO forged line"), "{log:?}");
    // Every event is exactly one line.
    assert_eq!(log.matches('\n').count(), log.lines().count());
}

#[tokio::test]
async fn a_media_type_refusal_names_both_types_and_the_check() {
    let capture = Capture::default();
    let _guard = capture.install();
    let body = br#"{"event":"user"}"#;
    let headers = Signer::new(SharedSecret::new(SECRET).unwrap())
        .extension_headers(kind::SECRET_V1, body, SystemTime::now())
        .unwrap();
    let mut request = Request::post("/")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    *request.headers_mut() = headers;
    let inner = tower::service_fn(|_: Request<VerifiedBody>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    let service =
        VerifySignatureLayer::drone_webhook(SharedSecret::new(SECRET).unwrap()).layer(inner);
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 401);

    let line = capture.line("request rejected");
    assert!(line.contains(r#"check="policy""#), "{line}");
    assert!(
        line.contains(
            r#"expected "application/vnd.drone.webhook.v1+json", received "application/vnd.drone.secret.v1+json""#
        ),
        "{line}"
    );
}

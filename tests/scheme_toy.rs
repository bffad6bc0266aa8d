//! A third signature scheme, written here and nowhere in `src/`: HMAC-SHA512 over the body in an
//! `X-Toy-Signature` header. It plugs into the crate's one verifying layer (`VerifyLayer`) and one
//! decoding service (`ExtensionService`, with an `Endpoint` of a kind the crate does not know),
//! and gets everything the Drone and Woodpecker schemes get: the refusals, the in-flight copy
//! check, the replay guard, the body limit.

use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use drone_extension::layer::{
    BodyBudget, Fingerprint, MemoryReplayGuard, PendingBody, Refused, Scheme, SchemeError,
    VerifiedBody, VerifyLayer,
};
use drone_extension::service::{Endpoint, ExtensionService, Reply, RequestContext};
use hmac::{Hmac, KeyInit, Mac};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use sha2::Sha512;
use tower::{Layer, ServiceExt};

const KEY: &[u8] = b"a toy scheme's key";
const HEADER: &str = "x-toy-signature";

/// The toy scheme.
#[derive(Debug)]
struct Toy;

#[derive(Debug, PartialEq)]
enum ToyError {
    Missing,
    Malformed,
    Mismatch,
}

impl std::fmt::Display for ToyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ToyError::Missing => "no X-Toy-Signature",
            ToyError::Malformed => "X-Toy-Signature is not 128 hex digits",
            ToyError::Mismatch => "the body's HMAC-SHA512 differs",
        })
    }
}

impl std::error::Error for ToyError {}

impl SchemeError for ToyError {
    fn status(&self) -> StatusCode {
        match self {
            ToyError::Malformed => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn class(&self) -> &'static str {
        match self {
            ToyError::Missing => "missing",
            ToyError::Malformed => "malformed",
            ToyError::Mismatch => "signature",
        }
    }

    fn public_reason(&self) -> &'static str {
        match self {
            ToyError::Missing => "Missing signature",
            ToyError::Malformed => "Malformed signature",
            ToyError::Mismatch => "Invalid signature",
        }
    }
}

/// What the inner service finds in the request's extensions.
#[derive(Clone, Debug, PartialEq)]
struct ToyVerified {
    body_len: usize,
}

struct ToyPending {
    claimed: [u8; 64],
    fingerprint: Fingerprint,
}

impl PendingBody for ToyPending {
    type Verified = ToyVerified;
    type Error = ToyError;

    fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    fn verify_body(self, body: &[u8]) -> Result<ToyVerified, ToyError> {
        let mut mac = Hmac::<Sha512>::new_from_slice(KEY).unwrap();
        mac.update(body);
        mac.verify_slice(&self.claimed)
            .map_err(|_| ToyError::Mismatch)?;
        Ok(ToyVerified {
            body_len: body.len(),
        })
    }
}

impl Scheme for Toy {
    type Pending = ToyPending;

    fn verify_head(&self, parts: &http::request::Parts) -> Result<ToyPending, ToyError> {
        let value = parts.headers.get(HEADER).ok_or(ToyError::Missing)?;
        let hex = value.as_bytes();
        if hex.len() != 128 {
            return Err(ToyError::Malformed);
        }
        let mut claimed = [0u8; 64];
        for (i, pair) in hex.chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).map_err(|_| ToyError::Malformed)?;
            claimed[i] = u8::from_str_radix(text, 16).map_err(|_| ToyError::Malformed)?;
        }
        let fingerprint = Fingerprint::new(claimed[..32].try_into().unwrap());
        Ok(ToyPending {
            claimed,
            fingerprint,
        })
    }

    fn replay_window(&self, _verified: &ToyVerified) -> Option<(SystemTime, SystemTime)> {
        let now = SystemTime::now();
        Some((now, now + Duration::from_secs(60)))
    }
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(KEY).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn request(body: &'static [u8], signature: Option<String>) -> Request<Full<Bytes>> {
    let mut builder = Request::post("/ping").header("content-type", "application/json");
    if let Some(signature) = signature {
        builder = builder.header(HEADER, signature);
    }
    builder.body(Full::new(Bytes::from_static(body))).unwrap()
}

/// A kind the crate does not know.
#[derive(serde::Deserialize)]
struct Ping {
    from: String,
}

struct Pong;

#[drone_extension::async_trait]
impl Endpoint for Pong {
    const NAME: &'static str = "ping";
    type Request = Ping;

    fn subject(request: &Ping) -> String {
        request.from.clone()
    }

    async fn respond(&self, request: Ping, _cx: &RequestContext) -> Reply {
        Reply::json("pong", &serde_json::json!({ "pong": request.from }))
    }
}

async fn text<B: http_body::Body<Data = Bytes>>(response: Response<B>) -> (u16, String)
where
    B::Error: std::fmt::Debug,
{
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn layer() -> VerifyLayer<Toy> {
    VerifyLayer::with_scheme(Toy).body_budget(BodyBudget::new(1 << 20))
}

#[tokio::test]
async fn the_toy_scheme_guards_a_service_of_an_unknown_kind() {
    let service = layer().layer(ExtensionService::new(Pong));
    let body: &[u8] = br#"{"from":"octocat"}"#;

    let answer = service
        .clone()
        .oneshot(request(body, Some(sign(body))))
        .await
        .unwrap();
    assert_eq!(text(answer).await, (200, r#"{"pong":"octocat"}"#.into()));

    // Each refusal is the layer's, with the scheme's status and public reason.
    let cases = [
        (None, 401, "Missing signature\n", "missing"),
        (
            Some("zz".repeat(64)),
            400,
            "Malformed signature\n",
            "malformed",
        ),
        (
            Some(sign(b"another body")),
            401,
            "Invalid signature\n",
            "signature",
        ),
    ];
    for (signature, status, reason, class) in cases {
        let answer = service
            .clone()
            .oneshot(request(body, signature))
            .await
            .unwrap();
        let refused = *answer
            .extensions()
            .get::<Refused>()
            .expect("refused by the layer");
        assert_eq!(refused.reason(), class);
        assert_eq!(text(answer).await, (status, reason.into()));
    }
}

#[tokio::test]
async fn the_inner_service_gets_the_schemes_proof_and_the_exact_bytes() {
    let inner = tower::service_fn(|request: Request<VerifiedBody>| async move {
        let proof = request.extensions().get::<ToyVerified>().cloned();
        let bytes = request.into_body().collect().await.unwrap().to_bytes();
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "{proof:?} {}",
            bytes.len()
        )))))
    });
    let body: &[u8] = br#"{"from":"octocat"}"#;
    let answer = layer()
        .layer(inner)
        .oneshot(request(body, Some(sign(body))))
        .await
        .unwrap();
    assert_eq!(
        text(answer).await,
        (200, "Some(ToyVerified { body_len: 18 }) 18".into())
    );
}

#[tokio::test]
async fn the_replay_guard_and_the_body_limit_serve_the_toy_scheme_too() {
    let guarded = layer()
        .replay_guard(MemoryReplayGuard::new(16))
        .layer(ExtensionService::new(Pong));
    let body: &[u8] = br#"{"from":"octocat"}"#;
    let first = guarded
        .clone()
        .oneshot(request(body, Some(sign(body))))
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let replay = guarded
        .oneshot(request(body, Some(sign(body))))
        .await
        .unwrap();
    assert_eq!(text(replay).await, (401, "Invalid signature\n".into()));

    let small = layer().body_limit(8).layer(ExtensionService::new(Pong));
    let answer = small
        .oneshot(request(body, Some(sign(body))))
        .await
        .unwrap();
    assert_eq!(text(answer).await, (413, "Payload too large\n".into()));
}

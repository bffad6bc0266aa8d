//! One layer and one service for every scheme: the service trusts the layer's body limit (no
//! second, smaller limit), and Woodpecker gets the replay guard the Drone layer has, shared by
//! replicas through Redis.
#![cfg(all(feature = "woodpecker", feature = "redis"))]

use support::redis;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use drone_extension::convert::{ConvertRequest, Converter};
use drone_extension::layer::{BodyBudget, RedisReplayGuard};
use drone_extension::models::Config;
use drone_extension::signature::SharedSecret;
use drone_extension::signature::VerifySignatureLayer;
use drone_extension::testing::signed_request;
use drone_extension::woodpecker::{
    Secret, SecretExtension, SecretRequest, Signer, Verifier, VerifyWoodpeckerLayer,
};
use drone_extension::{BoxError, ExtensionKind};
use http::Request;
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt};

const MIB: usize = 1024 * 1024;

/// Echoes the configuration's length.
struct Measure;

#[drone_extension::async_trait]
impl Converter for Measure {
    async fn convert(&self, request: ConvertRequest) -> Result<Option<Config>, BoxError> {
        Ok(Some(Config {
            data: format!("bytes: {}", request.config.data.len()),
            ..Default::default()
        }))
    }
}

/// A layer raised to 8 MiB in front of a service left at its defaults: the layer's limit is the
/// one that counts (the service used to refuse anything over its own 4 MiB with 413).
#[tokio::test]
async fn a_6_mib_configuration_passes_a_layer_raised_to_8_mib() {
    let secret = SharedSecret::new("bea26a2221fd8090ea38720fc445eca6").unwrap();
    let service = VerifySignatureLayer::for_kind(ExtensionKind::Convert, secret.clone())
        .body_limit(8 * MIB)
        .body_budget(BodyBudget::new(16 * MIB))
        .layer(Measure.into_service());
    let request = ConvertRequest {
        config: Config {
            data: "a".repeat(6 * MIB),
            ..Default::default()
        },
        ..Default::default()
    };
    let response = service
        .oneshot(signed_request(ExtensionKind::Convert, &secret, &request).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["data"], format!("bytes: {}", 6 * MIB));
}

struct OneSecret;

#[drone_extension::async_trait]
impl SecretExtension for OneSecret {
    async fn secrets(&self, _request: SecretRequest) -> Result<Vec<Secret>, BoxError> {
        Ok(vec![Secret::new("docker_password", "s3cr3t")])
    }
}

/// Woodpecker's signed request, sent to two replicas sharing a Redis replay guard: the second
/// replica refuses the bytes the first answered with a 200 and a body.
#[tokio::test]
async fn a_woodpecker_request_answered_with_a_body_is_refused_on_the_second_replica() {
    let Some(redis) = redis::Redis::start() else {
        return;
    };
    let signer = Signer::from_seed(&[7; 32]);
    let replica = || {
        let guard = RedisReplayGuard::new(&redis.url()).unwrap();
        VerifyWoodpeckerLayer::new(Verifier::new(signer.public_key()))
            .replay_guard(guard)
            .layer(OneSecret.into_service())
    };
    let (first, second) = (replica(), replica());
    let body = Bytes::from_static(
        br#"{"repo":{"full_name":"octocat/hello-world"},"pipeline":{"event":"push"}}"#,
    );
    let created = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let headers = signer
        .headers("/woodpecker/secret", &body, created)
        .unwrap();
    let request = || {
        let mut request = Request::post("/woodpecker/secret")
            .body(Full::new(body.clone()))
            .unwrap();
        *request.headers_mut() = headers.clone();
        request
    };
    let bound = Duration::from_secs(30);
    let answer = tokio::time::timeout(bound, first.oneshot(request()))
        .await
        .expect("the first replica answers")
        .unwrap();
    assert_eq!(answer.status(), 200);
    let refused = tokio::time::timeout(bound, second.oneshot(request()))
        .await
        .expect("the second replica answers")
        .unwrap();
    assert_eq!(refused.status(), 401);
    let text = refused.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, "Invalid signature\n");
}

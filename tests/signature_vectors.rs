//! Every case of `signature-vectors.json` yields its expected class, through the verifier and
//! through the generic verifying layer (`VerifyLayer` with Drone's scheme), and every positive
//! case is reproduced byte for byte by the signer.

use support::drone_vectors;

use drone_extension::__fuzz::{HeaderList, digest_header, signing_string};
use drone_extension::kind::ADMISSION_V1;
use drone_extension::layer::SchemeError as _;
use drone_extension::signature::{SharedSecret, SignatureParams, Signer};

#[test]
fn every_vector_yields_its_expected_class() {
    let cases = drone_vectors::cases();
    assert_eq!(cases.len(), 43, "the whole vector file is exercised");
    let mut failures = Vec::new();
    for case in &cases {
        let got = case.outcome();
        if got != case.expect {
            failures.push(format!("{}: expected {}, got {got}", case.id, case.expect));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Each vector, sent through the layer with its own verifier (its policy, secret and clock):
/// the accepted ones reach the inner service with their body intact, each refused one is
/// answered with the status of the error the verifier gives it, and the inner service never
/// sees it.
#[tokio::test]
async fn every_vector_gets_its_verdict_through_the_layer() {
    use bytes::Bytes;
    use drone_extension::signature::VerifySignatureLayer;
    use http_body_util::{BodyExt, Full};
    use tower::{Layer, ServiceExt};

    let cases = drone_vectors::cases();
    assert_eq!(cases.len(), 43, "the whole vector file is exercised");
    let mut failures = Vec::new();
    for case in &cases {
        let verdict = case.verifier().verify(&case.parts(), case.body.as_bytes());
        let service = VerifySignatureLayer::new(case.verifier()).layer(support::service::echo());
        let request =
            http::Request::from_parts(case.parts(), Full::new(Bytes::from(case.body.clone())));
        let response = service.oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let expected = match &verdict {
            Ok(_) => http::StatusCode::OK,
            Err(e) => e.status(),
        };
        if status != expected || (verdict.is_ok() && body != case.body.as_bytes()) {
            failures.push(format!(
                "{} ({}): the layer answered {status}, the verifier says {expected}",
                case.id, case.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn positive_vectors_round_trip_through_the_signer() {
    let mut checked = 0;
    for case in drone_vectors::cases().iter().filter(|c| c.expect == "ok") {
        let parts = case.parts();
        let sig_header = case
            .header("Signature")
            .or_else(|| {
                case.header("Authorization")
                    .map(|a| &a["Signature ".len()..])
            })
            .unwrap();
        let params = SignatureParams::parse(sig_header).unwrap();
        let list = params.headers.as_deref().unwrap();

        // The signing string is the vector's.
        if let Some(expected) = &case.signing_string {
            let s = signing_string(
                &parts.method,
                &parts.uri,
                &parts.headers,
                &HeaderList::parse(list).unwrap(),
            )
            .unwrap();
            assert_eq!(&s, expected, "{}", case.id);
        }

        // Signing the same head gives the same MAC.
        let signer = Signer::new(SharedSecret::new(&case.secret).unwrap()).key_id(&params.key_id);
        let ours = signer
            .sign(&parts.method, &parts.uri, &parts.headers, list)
            .unwrap();
        assert_eq!(ours.signature, params.signature, "{}", case.id);

        // The Drone-shaped requests are reproduced header for header, from body and date alone.
        let canonical = format!(
            r#"keyId="hmac-key",algorithm="hmac-sha256",signature="{}",headers="{}""#,
            params.signature, list
        );
        let date = httpdate::parse_http_date(case.header("Date").unwrap().trim()).unwrap();
        let drone_shaped = case.header("Signature") == Some(canonical.as_str())
            && list == list.to_ascii_lowercase()
            && case.header("Digest") == Some(digest_header(case.body.as_bytes()).as_str())
            && case.header("Date") == Some(httpdate::fmt_http_date(date).as_str());
        if drone_shaped {
            let headers = match list {
                "date digest" => signer.webhook_headers(case.body.as_bytes(), date).unwrap(),
                _ => signer
                    .extension_headers(case.header("Accept").unwrap(), case.body.as_bytes(), date)
                    .unwrap(),
            };
            for (name, value) in &headers {
                assert_eq!(
                    Some(value.to_str().unwrap()),
                    case.header(name.as_str()),
                    "{}: {name}",
                    case.id
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "the Drone-shaped vectors were reproduced ({checked})"
    );
}

/// protocol.md Example 6, computed with an independent HMAC implementation.
#[test]
fn protocol_example_6() {
    let signer = Signer::new(SharedSecret::new("correct-horse-battery-staple-0123").unwrap());
    let date = httpdate::parse_http_date("Wed, 09 Jun 2021 01:25:07 GMT").unwrap();
    let headers = signer
        .extension_headers(
            drone_extension::kind::SECRET_V1,
            br#"{"path":"secrets/data/docker","name":"username"}"#,
            date,
        )
        .unwrap();
    assert_eq!(
        headers["digest"],
        "SHA-256=ZdAFmS90+GJTHRXCDejGehKIja3VZQhfQ9zCzM+fC1k="
    );
    let params = SignatureParams::parse(headers["signature"].to_str().unwrap()).unwrap();
    assert_eq!(
        params.signature,
        "3tTtTyYGi7GGba3yFGXICgQ/pC15Q50lLqSrvAlzPsE="
    );
}

/// security.md V1 and V2: the same body and date signed as an extension call and as a webhook.
#[test]
fn security_v1_v2() {
    let signer = Signer::new(SharedSecret::new("xVKAGlWQiY3sOp8JVc0nbuNId3PNCgWh").unwrap());
    let body = br#"{"repo":{"slug":"octocat/hello-world"},"build":{"after":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"}}"#;
    let date = httpdate::parse_http_date("Tue, 07 Jun 2022 20:51:35 GMT").unwrap();
    let v1 = signer
        .extension_headers("application/json", body, date)
        .unwrap();
    assert_eq!(
        v1["signature"],
        r#"keyId="hmac-key",algorithm="hmac-sha256",signature="d9jr8Q2ESH5KUsrLNJydSLMCEjWUK1OsOuLTiHWZJe8=",headers="accept accept-encoding content-type date digest""#
    );
    let v2 = signer.webhook_headers(body, date).unwrap();
    assert_eq!(
        v2["signature"],
        r#"keyId="hmac-key",algorithm="hmac-sha256",signature="sqVRzBHRp/tC0f1gXjXUbIYs93fu301jWRPME/5daZQ=",headers="date digest""#
    );
}

/// protocol.md Example 4: `(request-target)` in the `Authorization` form.
#[test]
fn protocol_example_4_request_target() {
    let signer = Signer::new(SharedSecret::new("correct-horse-battery-staple").unwrap());
    let request = http::Request::post("/?x=1")
        .header("Date", "Wed, 01 Jan 2020 00:00:00 GMT")
        .body(())
        .unwrap();
    let (parts, ()) = request.into_parts();
    let params = signer
        .sign(
            &parts.method,
            &parts.uri,
            &parts.headers,
            "(request-target) date",
        )
        .unwrap();
    assert_eq!(
        params.to_string(),
        r#"keyId="hmac-key",algorithm="hmac-sha256",signature="0omnDfllSN6XX9sawqOp0t+dN6QeMjvuP6nxW8pE0QI=",headers="(request-target) date""#
    );
    // Verifies under a relaxed policy; the Drone preset refuses it (digest not covered).
    let mut request = http::Request::post("/?x=1")
        .header("Date", "Wed, 01 Jan 2020 00:00:00 GMT")
        .header("Authorization", format!("Signature {params}"))
        .body(())
        .unwrap();
    let now = httpdate::parse_http_date("Wed, 01 Jan 2020 00:00:00 GMT").unwrap();
    let secret = SharedSecret::new("correct-horse-battery-staple").unwrap();
    let relaxed = drone_extension::signature::Verifier::new(
        secret.clone(),
        drone_extension::signature::Policy::drone_webhook()
            .require_headers(["(request-target)", "date"])
            .clock(move || now),
    );
    let (parts, ()) = request.clone().into_parts();
    relaxed.verify(&parts, b"").unwrap();
    let strict = drone_extension::signature::Verifier::new(
        secret,
        drone_extension::signature::Policy::drone_extension(ADMISSION_V1).clock(move || now),
    );
    assert_eq!(strict.verify(&parts, b"").unwrap_err().class(), "policy");
    // The request target is covered: another path does not verify.
    *request.uri_mut() = "/?x=2".parse().unwrap();
    let (parts, ()) = request.into_parts();
    assert_eq!(
        relaxed.verify(&parts, b"").unwrap_err().class(),
        "signature"
    );
}

//! The probe's Woodpecker kinds: requests signed as a Woodpecker server signs them (RFC 9421,
//! Ed25519), and the forgeries that matter against a Woodpecker extension in any language.

use std::time::{Duration, SystemTime};

use base64::Engine;
use bytes::Bytes;
use drone_extension::client::RawResponse;
use drone_extension::woodpecker::{
    Client, ConfigFile, ConfigRequest, ConfigResponse, RegistryRequest, RegistryResponse,
    SecretRequest, SecretResponse, Signer,
};
use http::HeaderValue;
use http_body_util::Full;
use serde::Serialize;

use super::{Check, Fatal, Signed};

/// A Woodpecker extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WoodpeckerKind {
    Config,
    Secret,
    Registry,
}

impl WoodpeckerKind {
    pub fn parse(name: &str) -> Option<WoodpeckerKind> {
        match name {
            "woodpecker-config" => Some(WoodpeckerKind::Config),
            "woodpecker-secret" => Some(WoodpeckerKind::Secret),
            "woodpecker-registry" => Some(WoodpeckerKind::Registry),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WoodpeckerKind::Config => "woodpecker-config",
            WoodpeckerKind::Secret => "woodpecker-secret",
            WoodpeckerKind::Registry => "woodpecker-registry",
        }
    }
}

/// The signing key: 64 hex digits (the seed), 128 (Woodpecker's stored `signature-private-key`),
/// or a PKCS#8 PEM file; from `--woodpecker-key` or `EXTENSION_WOODPECKER_SIGNING_KEY` (or its
/// `_FILE`; the old `WOODPECKER_SIGNING_KEY` with a warning), whose value may be the PEM itself.
pub fn signer(key: Option<&str>) -> Result<Signer, Fatal> {
    let key = match key {
        Some(key) => key.to_owned(),
        None => super::env_secret("EXTENSION_WOODPECKER_SIGNING_KEY")?
            .ok_or(
                "no Woodpecker key: pass --woodpecker-key or set EXTENSION_WOODPECKER_SIGNING_KEY \
                 (or EXTENSION_WOODPECKER_SIGNING_KEY_FILE)",
            )?
            .into_string(),
    };
    let key = key.trim();
    let invalid = |e: &dyn std::fmt::Display| format!("invalid Woodpecker key: {e}");
    if key.starts_with("-----BEGIN") {
        return Signer::from_pkcs8_pem(key).map_err(|e| invalid(&e));
    }
    match key.len() {
        64 => {
            let mut seed = [0u8; 32];
            for (i, byte) in seed.iter_mut().enumerate() {
                let pair = key.get(2 * i..2 * i + 2).ok_or("invalid Woodpecker key")?;
                *byte = u8::from_str_radix(pair, 16).map_err(|e| invalid(&e))?;
            }
            Ok(Signer::from_seed(&seed))
        }
        128 => Signer::from_woodpecker_hex(key).map_err(|e| invalid(&e)),
        _ => {
            let pem = std::fs::read_to_string(key).map_err(|e| invalid(&e))?;
            Signer::from_pkcs8_pem(&pem).map_err(|e| invalid(&e))
        }
    }
}

/// A realistic request body, encoded as Woodpecker encodes it (Go's `json.Encoder`: compact, one
/// `\n` at the end); the repository and event match the starter's `tools/starter/starter.toml`.
pub fn sample(kind: WoodpeckerKind) -> Result<Bytes, Fatal> {
    let mut secret = SecretRequest::default();
    secret.repo.id = 42;
    secret.repo.owner = "octocat".into();
    secret.repo.name = "hello-world".into();
    secret.repo.full_name = "octocat/hello-world".into();
    secret.repo.clone_url = "https://github.com/octocat/hello-world.git".into();
    secret.repo.default_branch = "main".into();
    secret.repo.visibility = "public".into();
    secret.pipeline.id = 1001;
    secret.pipeline.number = 57;
    secret.pipeline.author = "octocat".into();
    secret.pipeline.event = "push".into();
    secret.pipeline.status = "created".into();
    secret.pipeline.commit = "2fff90f8d288a4640e90f05049fe30e61a14fd50".into();
    secret.pipeline.branch = "main".into();
    secret.pipeline.r#ref = "refs/heads/main".into();
    secret.pipeline.version = "3.17.0".into();
    let SecretRequest { repo, pipeline, .. } = secret.clone();
    match kind {
        WoodpeckerKind::Secret => encode(&secret),
        WoodpeckerKind::Registry => encode(&RegistryRequest::new(repo, pipeline)),
        WoodpeckerKind::Config => {
            let mut config = ConfigRequest::new(repo, pipeline);
            config.configuration = vec![ConfigFile::new(
                ".woodpecker/build.yaml",
                "steps:\n  - name: build\n    image: alpine\n    commands: [make]\n",
            )];
            encode(&config)
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Bytes, Fatal> {
    let mut body = drone_extension::json::to_vec(value).map_err(|e| e.to_string())?;
    body.push(b'\n');
    Ok(body.into())
}

/// Whether Woodpecker takes the answer, and what it does with it.
pub fn reading(kind: WoodpeckerKind, raw: &RawResponse) -> (bool, String) {
    let status = raw.status.as_u16();
    let empty = raw.body.iter().all(u8::is_ascii_whitespace);
    match status {
        200..=299 if empty => (
            false,
            format!(
                "an empty {status}: Woodpecker retries it (3 attempts in all), then {}",
                match kind {
                    WoodpeckerKind::Config => "keeps the incoming files",
                    _ => "adds nothing",
                }
            ),
        ),
        200 => {
            let decoded = match kind {
                WoodpeckerKind::Config => serde_json::from_slice::<ConfigResponse>(&raw.body)
                    .map(|r| format!("{} file(s) replace the pipeline's", r.configs.len())),
                WoodpeckerKind::Secret => serde_json::from_slice::<SecretResponse>(&raw.body)
                    .map(|r| format!("{} secret(s) come first", r.secrets.len())),
                WoodpeckerKind::Registry => serde_json::from_slice::<RegistryResponse>(&raw.body)
                    .map(|r| format!("{} registr(y/ies) come first", r.registries.len())),
            };
            match decoded {
                Ok(reading) => (true, reading),
                Err(e) => (false, format!("not the expected JSON ({e}): an error")),
            }
        }
        201..=299 => (
            false,
            format!("{status} with a body: ignored (config: an error, the old files kept)"),
        ),
        400..=499 => (
            false,
            match kind {
                WoodpeckerKind::Config => "the pipeline is created with status error".into(),
                _ => "a warning; the database's entries only".into(),
            },
        ),
        500..=510 => (false, "retried (3 attempts in all), then an error".into()),
        _ => (false, format!("{status}: an error")),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// Forged requests, each with its name and what it tests.
type Forgeries = Vec<(String, Check, Signed)>;

/// The genuine request, then the forgeries.
pub fn requests(client: &Client, body: &Bytes) -> Result<(Signed, Forgeries), Fatal> {
    let fatal = |e: &dyn std::fmt::Display| e.to_string();
    let sample = body.clone();
    let now = now();
    let genuine = || client.request(body.clone(), now).map_err(|e| fatal(&e));
    let swapped = super::tamper(body, false);
    let signer = client.signer();
    let target = client
        .endpoint()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let digest_of = |bytes: &[u8]| -> Result<HeaderValue, Fatal> {
        let signed = signer.sign("/", bytes, now).map_err(|e| fatal(&e))?;
        HeaderValue::try_from(signed.content_digest).map_err(|e| fatal(&e))
    };
    let with_body = |request: Signed, body: Bytes| {
        let (parts, _) = request.into_parts();
        Signed::from_parts(parts, Full::new(body))
    };
    let edit = |request: Signed, name: &str, f: &dyn Fn(&str) -> String| -> Result<Signed, Fatal> {
        let (mut parts, body) = request.into_parts();
        let value = parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(f)
            .unwrap_or_default();
        parts.headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| fatal(&e))?,
            HeaderValue::try_from(value).map_err(|e| fatal(&e))?,
        );
        Ok(Signed::from_parts(parts, body))
    };
    let other_key = Signer::from_seed(&[0x5a; 32]);
    let mut out = Vec::new();
    let mut push = |name: &str, request: Signed| {
        out.push((name.to_owned(), Check::Forgery, request));
    };

    push("no signature", {
        let (mut parts, body) = genuine()?.into_parts();
        parts.headers.remove("signature");
        parts.headers.remove("signature-input");
        Signed::from_parts(parts, body)
    });
    push(
        "body swapped, Content-Digest unchanged",
        with_body(genuine()?, swapped.clone()),
    );
    push("body swapped, Content-Digest recomputed", {
        let (mut parts, _) = genuine()?.into_parts();
        parts.headers.insert("content-digest", digest_of(&swapped)?);
        Signed::from_parts(parts, Full::new(swapped.clone()))
    });
    push(
        "created 10 minutes ago",
        client
            .request(body.clone(), now - 600)
            .map_err(|e| fatal(&e))?,
    );
    push(
        "created 10 minutes ahead",
        client
            .request(body.clone(), now + 600)
            .map_err(|e| fatal(&e))?,
    );
    push("signed with another key", {
        let (mut parts, body) = genuine()?.into_parts();
        let other = other_key
            .sign(&target, &sample, now)
            .map_err(|e| fatal(&e))?;
        parts.headers.insert(
            "signature",
            HeaderValue::try_from(other.signature).map_err(|e| fatal(&e))?,
        );
        Signed::from_parts(parts, body)
    });
    push(
        "alg changed to hmac-sha256",
        edit(genuine()?, "signature-input", &|v| {
            v.replace("alg=\"ed25519\"", "alg=\"hmac-sha256\"")
        })?,
    );
    push("label changed", {
        let relabel = |v: &str| v.replacen("woodpecker-ci-extensions=", "sig1=", 1);
        edit(
            edit(genuine()?, "signature", &relabel)?,
            "signature-input",
            &relabel,
        )?
    });
    push("components without content-digest, body swapped", {
        let params = format!("(\"@request-target\");created={now};alg=\"ed25519\"");
        let base = [
            b"\"@request-target\": ".as_slice(),
            &drone_extension::__fuzz::request_target(&target).unwrap_or_default(),
            b"\n\"@signature-params\": ",
            params.as_bytes(),
        ]
        .concat();
        let signature =
            base64::engine::general_purpose::STANDARD.encode(signer.sign_message(&base));
        let (mut parts, _) = genuine()?.into_parts();
        parts.headers.insert(
            "signature-input",
            HeaderValue::try_from(format!("woodpecker-ci-extensions={params}"))
                .map_err(|e| fatal(&e))?,
        );
        parts.headers.insert(
            "signature",
            HeaderValue::try_from(format!("woodpecker-ci-extensions=:{signature}:"))
                .map_err(|e| fatal(&e))?,
        );
        parts.headers.insert("content-digest", digest_of(&swapped)?);
        Signed::from_parts(parts, Full::new(swapped.clone()))
    });
    push("replayed from another path", {
        let other_path = if target.starts_with("/other-extension") {
            "/elsewhere"
        } else {
            "/other-extension"
        };
        let signed = signer.sign(other_path, body, now).map_err(|e| fatal(&e))?;
        let (mut parts, body) = genuine()?.into_parts();
        parts.headers.insert(
            "signature",
            HeaderValue::try_from(signed.signature).map_err(|e| fatal(&e))?,
        );
        Signed::from_parts(parts, body)
    });
    push("two Signature field lines (another key's first)", {
        let (mut parts, body) = genuine()?.into_parts();
        let genuine_signature = parts
            .headers
            .remove("signature")
            .unwrap_or(HeaderValue::from_static(""));
        let other = other_key
            .sign(&target, &sample, now)
            .map_err(|e| fatal(&e))?;
        parts.headers.append(
            "signature",
            HeaderValue::try_from(other.signature).map_err(|e| fatal(&e))?,
        );
        parts.headers.append("signature", genuine_signature);
        Signed::from_parts(parts, body)
    });
    Ok((genuine()?, out))
}

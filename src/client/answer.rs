//! What the [`Client`](crate::client::Client) (over HTTP) and the [`testing`](crate::testing)
//! helpers (in process) share: the request Drone sends, and Drone's interpretation of the answer.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{HeaderMap, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;

use crate::client::{ClientError, MAX_RESPONSE_LEN, RawResponse};
use crate::models::{Config, LegacySecret, Registry, Secret, User, Variable};
use crate::signature::Signer;
use crate::validate::Validation;
use crate::{BoxError, ExtensionKind};

/// Drone's reading of each kind's answer: the same rules whether the answer came over HTTP
/// ([`Client`](crate::client::Client)) or from a service in process
/// ([`testing`](crate::testing)).
///
/// Every method but [`validation`](RawResponse::validation) and [`webhook`](RawResponse::webhook)
/// follows drone-go's `client.Do`: a status above 299 is [`ClientError::Status`] with the body as
/// its message (the reason phrase when the body is empty), `204` and `null` are the zero value,
/// and a `200` with an empty body is [`ClientError::EmptyBody`].
impl RawResponse {
    /// Admission: the user as the server will store it (its `admin` flag is what Drone keeps; a
    /// `204` gives a default user, so `admin: false`).
    ///
    /// # Errors
    ///
    /// A refusal is `ClientError::Status { code: 403, message }`.
    pub fn admission(self) -> Result<User, ClientError> {
        decode_or_default(self)
    }

    /// The Drone 0.8 global secrets (`204` or `null`: none).
    ///
    /// # Errors
    ///
    /// A status above 299, an empty `200`, or a body that does not decode.
    pub fn global_secrets(self) -> Result<Vec<LegacySecret>, ClientError> {
        decode_or_default::<Option<Vec<LegacySecret>>>(self).map(Option::unwrap_or_default)
    }

    /// One secret: `None` for `204`, `null` or an empty `data` (what runners treat as not found).
    ///
    /// # Errors
    ///
    /// A status above 299, an empty `200`, or a body that does not decode.
    pub fn secret(self) -> Result<Option<Secret>, ClientError> {
        let secret: Option<Secret> = decode_or_default(self)?;
        Ok(secret.filter(|s| !s.data.is_empty()))
    }

    /// Registry credentials (`204` or `null`: none).
    ///
    /// # Errors
    ///
    /// A status above 299, an empty `200`, or a body that does not decode.
    pub fn registries(self) -> Result<Vec<Registry>, ClientError> {
        decode_or_default::<Option<Vec<Registry>>>(self).map(Option::unwrap_or_default)
    }

    /// Environment variables, as the v2 answer runners ask for (`204` or `null`: none).
    ///
    /// # Errors
    ///
    /// A status above 299, an empty `200`, or a body that does not decode.
    pub fn variables(self) -> Result<Vec<Variable>, ClientError> {
        decode_or_default::<Option<Vec<Variable>>>(self).map(Option::unwrap_or_default)
    }

    /// A pipeline configuration, from the config or the convert kind: `None` for `204` or an
    /// empty `data` (Drone then keeps the configuration it had).
    ///
    /// # Errors
    ///
    /// A status above 299 (config: no build; convert: the build is created in error), an empty
    /// `200`, or a body that does not decode.
    pub fn config(self) -> Result<Option<Config>, ClientError> {
        let config: Option<Config> = decode_or_default(self)?;
        Ok(config.filter(|c| !c.data.is_empty()))
    }

    /// A validation: any 2xx is [`Validation::Pass`], `498` [`Validation::Skip`], `499`
    /// [`Validation::Block`], and any other status above 299 [`Validation::Reject`] with the raw
    /// body, which Drone shows as the build's error. Never an error.
    pub fn validation(self) -> Validation {
        match self.status.as_u16() {
            200..=299 => Validation::Pass,
            498 => Validation::Skip,
            499 => Validation::Block,
            _ => Validation::Reject(status_message(&self)),
        }
    }

    /// A webhook delivery: the status, which Drone ignores.
    pub fn webhook(self) -> StatusCode {
        self.status
    }
}

/// Reads a whole answer, up to [`MAX_RESPONSE_LEN`], as received.
pub(crate) async fn read<B>(response: Response<B>) -> Result<RawResponse, ClientError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    read_limited(response, MAX_RESPONSE_LEN).await
}

/// Reads a whole answer, up to `limit` bytes, as received.
pub(crate) async fn read_limited<B>(
    response: Response<B>,
    limit: usize,
) -> Result<RawResponse, ClientError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, limit)
        .collect()
        .await
        .map_err(ClientError::Transport)?
        .to_bytes();
    Ok(RawResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// The `X-Drone-Event` of a webhook: the `event` member of its JSON body (empty when absent).
pub(crate) fn webhook_event(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// The signed headers Drone sends with `body` for `kind` at `date`: the extension client's
/// (`Accept` the kind's media type), or for webhooks the server's sender's (`date digest` and
/// `X-Drone-Event`).
pub(crate) fn drone_headers(
    signer: &Signer,
    kind: ExtensionKind,
    body: &[u8],
    date: SystemTime,
) -> Result<HeaderMap, ClientError> {
    let request_error = |e: crate::signature::Error| ClientError::Request(e.into());
    match kind {
        ExtensionKind::Webhook => {
            let mut headers = signer.webhook_headers(body, date).map_err(request_error)?;
            let event = HeaderValue::from_str(&webhook_event(body))
                .map_err(|e| ClientError::Request(e.into()))?;
            headers.insert("x-drone-event", event);
            Ok(headers)
        }
        _ => signer
            .extension_headers(kind.media_type(), body, date)
            .map_err(request_error),
    }
}

/// Drone's message for a status above 299: the body, or the reason phrase when it is empty.
fn status_message(raw: &RawResponse) -> String {
    if raw.body.is_empty() {
        raw.status.canonical_reason().unwrap_or("").to_owned()
    } else {
        String::from_utf8_lossy(&raw.body).into_owned()
    }
}

/// drone-go's `client.Do`: > 299 is an error, 204 the zero value, an empty 200 an error.
fn decode_or_default<T: DeserializeOwned + Default>(raw: RawResponse) -> Result<T, ClientError> {
    if raw.status.as_u16() > 299 {
        return Err(ClientError::Status {
            code: raw.status.as_u16(),
            message: status_message(&raw),
        });
    }
    if raw.status == StatusCode::NO_CONTENT {
        return Ok(T::default());
    }
    if raw.body.is_empty() {
        return Err(ClientError::EmptyBody);
    }
    serde_json::from_slice(&raw.body).map_err(ClientError::Decode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, body: &'static str) -> RawResponse {
        RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn drone_interpretation_of_statuses() {
        assert!(matches!(
            decode_or_default::<Option<Secret>>(raw(204, "")),
            Ok(None)
        ));
        assert!(matches!(
            decode_or_default::<Option<Secret>>(raw(200, "null")),
            Ok(None)
        ));
        assert!(matches!(
            decode_or_default::<Option<Secret>>(raw(200, "")),
            Err(ClientError::EmptyBody)
        ));
        match decode_or_default::<User>(raw(403, "nope\n")) {
            Err(ClientError::Status { code: 403, message }) => assert_eq!(message, "nope\n"),
            other => panic!("{other:?}"),
        }
        match decode_or_default::<User>(raw(302, "")) {
            Err(ClientError::Status { code: 302, message }) => assert_eq!(message, "Found"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode_or_default::<User>(raw(200, "{")),
            Err(ClientError::Decode(_))
        ));
        let user: User =
            decode_or_default(raw(200, r#"{"login":"octocat","admin":true}"#)).unwrap();
        assert!(user.admin);
    }

    #[test]
    fn typed_readers_filter_what_drone_ignores() {
        let empty = raw(200, r#"{"name":"password","data":""}"#);
        assert!(matches!(empty.secret(), Ok(None)));
        assert!(matches!(raw(200, "null").registries(), Ok(v) if v.is_empty()));
        assert!(matches!(raw(204, "").config(), Ok(None)));
        assert_eq!(raw(498, "").validation(), Validation::Skip);
        assert_eq!(raw(499, "").validation(), Validation::Block);
        assert_eq!(raw(400, "no").validation(), Validation::Reject("no".into()));
        assert_eq!(raw(204, "").validation(), Validation::Pass);
    }
}

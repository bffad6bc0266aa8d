//! The signer: requests exactly as Drone makes them.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, DATE, HeaderValue};
use http::{HeaderMap, Method, Uri};

use super::digest::digest_header;
use super::signing_string::Resolved;
use super::verify::SIGNATURE;
use super::{Error, HMAC_SHA256, HeaderList, SharedSecret, SignatureParams};

/// The `keyId` every Drone caller sends.
pub const DRONE_KEY_ID: &str = "hmac-key";

/// The header list of Drone's extension client, as it appears in the `headers` parameter.
pub const EXTENSION_HEADER_LIST: &str = "accept accept-encoding content-type date digest";

/// The header list of Drone's global-webhook sender.
pub const WEBHOOK_HEADER_LIST: &str = "date digest";

/// Signs requests the way Drone does (httpsignatures-go with `hmac-sha256`, `keyId="hmac-key"`).
///
/// Given the same secret, `Date` and body, the headers it produces are byte for byte those of the
/// Drone server and runners:
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use drone_extension::kind::ADMISSION_V1;
/// use drone_extension::signature::{SharedSecret, Signer};
///
/// let signer = Signer::new(SharedSecret::new("correct-horse-battery-staple")?);
/// let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
/// let headers = signer.extension_headers(ADMISSION_V1, b"{}", date)?;
/// assert_eq!(headers["date"], "Wed, 01 Jan 2020 00:00:00 GMT");
/// assert_eq!(headers["accept-encoding"], "identity");
/// assert!(headers["signature"].to_str()?.starts_with(r#"keyId="hmac-key",algorithm="hmac-sha256",signature=""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Signer {
    secret: SharedSecret,
    key_id: String,
}

impl Signer {
    /// A signer with Drone's `keyId` (`hmac-key`).
    pub fn new(secret: SharedSecret) -> Signer {
        Signer {
            secret,
            key_id: DRONE_KEY_ID.to_owned(),
        }
    }

    /// Uses another `keyId`.
    pub fn key_id(mut self, key_id: impl Into<String>) -> Signer {
        self.key_id = key_id.into();
        self
    }

    /// Signs the listed headers of a request and returns the signature parameters, rendered by
    /// their `Display` in Drone's layout.
    ///
    /// # Errors
    ///
    /// [`Error::HeaderAbsent`] when a listed header is missing or empty, [`Error::Malformed`] when
    /// it is repeated or carries control or non-ASCII bytes, [`Error::Policy`] for an unknown
    /// pseudo-header.
    pub fn sign(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        header_list: &str,
    ) -> Result<SignatureParams, Error> {
        let list = HeaderList::parse(header_list)?;
        let mut mac = self.secret.mac();
        Resolved::new(&list, method, uri, headers)?.mac(&mut mac);
        Ok(SignatureParams {
            key_id: self.key_id.clone(),
            algorithm: Some(HMAC_SHA256.to_owned()),
            signature: STANDARD.encode(mac.finalize().into_bytes()),
            headers: Some(list.as_str().to_owned()),
            created: None,
            expires: None,
        })
    }

    /// The headers Drone's extension client sends with `body`: `Accept` (the media type),
    /// `Accept-Encoding: identity`, `Content-Type: application/json`, `Date` (IMF-fixdate, GMT),
    /// `Digest` and `Signature` over `accept accept-encoding content-type date digest`.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when `media_type` is not a valid header value.
    pub fn extension_headers(
        &self,
        media_type: &str,
        body: &[u8],
        date: SystemTime,
    ) -> Result<HeaderMap, Error> {
        let mut headers = HeaderMap::with_capacity(6);
        let accept = HeaderValue::from_str(media_type)
            .map_err(|_| Error::Malformed("media type is not a valid header value"))?;
        headers.insert(ACCEPT, accept);
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        self.finish(headers, body, date, EXTENSION_HEADER_LIST)
    }

    /// The headers the Drone server's global-webhook sender signs and sends: `Content-Type`,
    /// `Date`, `Digest` and `Signature` over `date digest`. (Drone also sends an unsigned
    /// `X-Drone-Event`, and Go's transport adds `Accept-Encoding: gzip`; neither is signed.)
    ///
    /// # Errors
    ///
    /// Never in practice; the signature of [`sign`](Signer::sign) is kept.
    pub fn webhook_headers(&self, body: &[u8], date: SystemTime) -> Result<HeaderMap, Error> {
        self.finish(HeaderMap::with_capacity(4), body, date, WEBHOOK_HEADER_LIST)
    }

    fn finish(
        &self,
        mut headers: HeaderMap,
        body: &[u8],
        date: SystemTime,
        list: &str,
    ) -> Result<HeaderMap, Error> {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(DATE, header_value(&httpdate::fmt_http_date(date))?);
        headers.insert("digest", header_value(&digest_header(body))?);
        let params = self.sign(&Method::POST, &Uri::from_static("/"), &headers, list)?;
        headers.insert(SIGNATURE.clone(), header_value(&params.to_string())?);
        Ok(headers)
    }
}

fn header_value(s: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(s).map_err(|_| Error::Malformed("not a valid header value"))
}

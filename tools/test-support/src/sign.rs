//! Requests signed as Drone and Woodpecker sign them, captured as bytes so that the very same
//! request can be sent anywhere, and again (replays, replicas, retries).

use std::net::SocketAddr;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};

/// One signed request, kept as its head and its body's bytes.
pub struct Captured {
    /// The head: method, path, headers (the signature among them).
    pub parts: http::request::Parts,
    /// The body, as signed.
    pub body: Bytes,
}

impl Captured {
    /// `request` as it is (its body read now).
    pub async fn from_request(request: Request<Full<Bytes>>) -> Captured {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.expect("a full body").to_bytes();
        Captured { parts, body }
    }

    /// Drone's request for `kind` with `value` as JSON, signed with `secret` now
    /// (`drone_extension::testing::signed_request`: extension kinds as drone-go's client signs,
    /// webhooks as the server does).
    #[cfg(feature = "client")]
    pub async fn drone(
        kind: drone_extension::ExtensionKind,
        secret: &str,
        value: &impl serde::Serialize,
    ) -> Captured {
        let secret = drone_extension::signature::SharedSecret::new(secret).unwrap();
        let request = drone_extension::testing::signed_request(kind, &secret, value).unwrap();
        Captured::from_request(request).await
    }

    /// Woodpecker's request to `path` with `value` as JSON, signed by `signer` now.
    #[cfg(all(feature = "client", feature = "woodpecker"))]
    pub async fn woodpecker(
        signer: &drone_extension::woodpecker::Signer,
        path: &str,
        value: &impl serde::Serialize,
    ) -> Captured {
        let request =
            drone_extension::testing::woodpecker_signed_request(signer, path, value).unwrap();
        Captured::from_request(request).await
    }

    /// The request's path.
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// The same bytes as a request to `addr` (`None`: the path alone, for a service in
    /// process).
    pub fn request_to(&self, addr: Option<SocketAddr>) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.parts.method.clone();
        *request.headers_mut() = self.parts.headers.clone();
        *request.uri_mut() = match addr {
            Some(addr) => format!("http://{addr}{}", self.parts.uri.path())
                .parse()
                .unwrap(),
            None => self.parts.uri.clone(),
        };
        request
    }

    /// The same bytes as a request to `addr`.
    pub fn request(&self, addr: SocketAddr) -> Request<Full<Bytes>> {
        self.request_to(Some(addr))
    }

    /// Sends the same bytes to `addr` through `client` (and its connections): the answer as
    /// received. Panics when there is none (the client's timeout is the hang bound).
    #[cfg(feature = "client")]
    pub async fn send_with(
        &self,
        client: &drone_extension::client::Client,
        addr: SocketAddr,
    ) -> drone_extension::client::RawResponse {
        use drone_extension::client::ClientError;
        let path = self.path();
        match client.send(self.request(addr)).await {
            Ok(raw) => raw,
            Err(ClientError::Timeout) => panic!("POST {path} unanswered within the hang bound"),
            Err(e) => panic!("POST {path}: {e}"),
        }
    }

    /// [`send_with`](Captured::send_with) a new client whose timeout is the hang bound.
    #[cfg(feature = "client")]
    pub async fn send(&self, addr: SocketAddr) -> drone_extension::client::RawResponse {
        self.send_with(&crate::process::client(addr, "/", crate::SECRET), addr)
            .await
    }
}

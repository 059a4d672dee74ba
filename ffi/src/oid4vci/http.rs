//! HTTP through the app: the [`HttpClient`] foreign trait (OkHttp on Android, URLSession on iOS,
//! `urllib` in the Python tests) and the checks the wallet applies around every exchange. The
//! Rust side opens no sockets: TLS, proxies and certificate pinning are the platform's.

use std::sync::Arc;

use govid_core::json;
use serde_json::{Map, Value};

use crate::error::WalletError;
use govid_core::url::HttpUrl;

/// The largest response body the wallet reads, in bytes (1 MiB). A larger body is refused
/// (the app's client should cap its reads there too).
pub const MAX_HTTP_RESPONSE_BYTES: u64 = 1024 * 1024;

/// [`MAX_HTTP_RESPONSE_BYTES`], for apps capping their reads.
#[uniffi::export]
pub fn max_http_response_bytes() -> u64 {
    MAX_HTTP_RESPONSE_BYTES
}

/// JSON nesting accepted in responses.
const MAX_JSON_DEPTH: usize = 32;

/// One HTTP header.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// Header name (compare case-insensitively).
    pub name: String,
    /// Header value.
    pub value: String,
}

/// A request for the app to send.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The absolute URL: `https://`, or `http://` on loopback (tests) only.
    pub url: String,
    /// Headers to send (`Content-Type`, `Accept`, `DPoP`, `Authorization`...).
    pub headers: Vec<HttpHeader>,
    /// The body; empty for `GET`.
    pub body: Vec<u8>,
}

/// What the server answered (any status: the wallet reads error bodies too).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers (repeated names allowed).
    pub headers: Vec<HttpHeader>,
    /// The body, at most [`MAX_HTTP_RESPONSE_BYTES`].
    pub body: Vec<u8>,
}

/// Why no HTTP response arrived (DNS, TLS, timeout, offline...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum HttpError {
    /// The request could not be sent or no response was received.
    #[error("network: {reason}")]
    Network {
        /// What the platform reported.
        reason: String,
    },
}

// An implementation that throws something else (an `IOException`, a Python `URLError`)
// arrives as this: it is still "no response".
impl From<uniffi::UnexpectedUniFFICallbackError> for HttpError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HttpError::Network { reason: e.reason }
    }
}

/// Sends HTTP requests for the wallet, implemented by the app with its platform's HTTP stack.
///
/// `send` must not follow redirects to another scheme than https (OkHttp: `followSslRedirects
/// (false)`; the wallet itself only ever asks for https or loopback URLs), should time out
/// (e.g. 30 s) and may block: call wallet methods that take an `HttpClient` off the UI thread.
/// Any HTTP status is a response, not an error: throw `HttpError.Network` only when no response
/// arrived.
#[uniffi::export(rust, foreign)]
pub trait HttpClient: Send + Sync {
    /// Sends `request` and returns the response.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.trim())
    }

    /// Whether the `Content-Type` is `media` (parameters such as `charset` ignored).
    pub(crate) fn is_content_type(&self, media: &str) -> bool {
        self.header("content-type").is_some_and(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case(media)
        })
    }

    /// The body as a JSON object (any content type: several servers send `text/plain`).
    pub(crate) fn json_object(&self) -> Option<Map<String, Value>> {
        json::parse_object(&self.body, MAX_JSON_DEPTH).ok()
    }
}

/// The app's client with the wallet's rules applied: URLs checked before sending, response
/// bodies bounded, network failures as [`WalletError::Network`].
pub(crate) struct Http {
    client: Arc<dyn HttpClient>,
}

impl Http {
    pub(crate) fn new(client: Arc<dyn HttpClient>) -> Self {
        Self { client }
    }

    /// Sends a request to `url` (checked with [`HttpUrl::parse`]). `what` names the exchange in
    /// errors ("the token request"); the URL is not quoted, since offer and endpoint URLs may
    /// carry codes in their query.
    pub(crate) fn send(
        &self,
        what: &str,
        method: &str,
        url: &str,
        headers: Vec<(&str, String)>,
        body: Vec<u8>,
    ) -> Result<HttpResponse, WalletError> {
        HttpUrl::parse(url).map_err(|e| WalletError::Protocol {
            error: "insecure_url".to_owned(),
            reason: format!("{what}: refused URL: {e}"),
        })?;
        let request = HttpRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: headers
                .into_iter()
                .map(|(name, value)| HttpHeader {
                    name: name.to_owned(),
                    value,
                })
                .collect(),
            body,
        };
        let response = self
            .client
            .send(request)
            .map_err(|HttpError::Network { reason }| WalletError::Network {
                reason: format!("{what}: {}", super::cut(&reason)),
            })?;
        if response.body.len() as u64 > MAX_HTTP_RESPONSE_BYTES {
            return Err(WalletError::Protocol {
                error: "response_too_large".to_owned(),
                reason: format!(
                    "{what}: the response is larger than {MAX_HTTP_RESPONSE_BYTES} bytes"
                ),
            });
        }
        Ok(response)
    }

    /// `GET url` with `Accept: accept`.
    pub(crate) fn get(
        &self,
        what: &str,
        url: &str,
        accept: &str,
    ) -> Result<HttpResponse, WalletError> {
        self.send(
            what,
            "GET",
            url,
            vec![("Accept", accept.to_owned())],
            Vec::new(),
        )
    }
}

//! The protocol's error answers: OAuth 2.0 (RFC 6749 §5.2) at the token endpoint, RFC 6750 §3 and
//! RFC 9449 §7.1 for access tokens and DPoP proofs, OpenID4VCI 1.0 §8.3.1.2 and §11.3 at the
//! credential and notification endpoints. Descriptions are fixed ASCII text, never input.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::CliError;

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    error: &'static str,
    description: Option<String>,
    www_authenticate: Option<String>,
}

impl ApiError {
    /// A 400 with `error` and an ASCII description.
    pub(crate) fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: Some(description.into()),
            www_authenticate: None,
        }
    }

    /// Another status.
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// A 401 for the access token or its DPoP proof, with the `WWW-Authenticate` challenge of
    /// the scheme the token needs (RFC 6750 §3, RFC 9449 §7.1).
    pub(crate) fn unauthorized(error: &'static str, description: &str, dpop: bool) -> Self {
        let challenge = if dpop {
            format!(
                "DPoP error=\"{error}\", error_description=\"{description}\", algs=\"ES256 EdDSA\""
            )
        } else {
            format!("Bearer error=\"{error}\", error_description=\"{description}\"")
        };
        Self {
            status: StatusCode::UNAUTHORIZED,
            error,
            description: Some(description.to_owned()),
            www_authenticate: Some(challenge),
        }
    }

    /// A failure of ours (database, signing): 500 `server_error`; the detail goes to the log.
    pub(crate) fn internal(e: &CliError) -> Self {
        eprintln!("serve: internal error: {}: {}", e.code, e.message);
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: None,
            www_authenticate: None,
        }
    }
}

impl From<CliError> for ApiError {
    fn from(e: CliError) -> Self {
        Self::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match &self.description {
            Some(d) => json!({"error": self.error, "error_description": d}),
            None => json!({"error": self.error}),
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

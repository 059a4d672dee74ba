//! Admin routes, behind a bearer token: `POST /admin/reload`, `GET /admin/entries?limit=N`.
//!
//! Closed unless a token is configured (`[server] admin_token` or `GOVID_ADMIN_TOKEN`): without
//! one every admin route answers 404, as if it did not exist. With one, a request without
//! `Authorization: Bearer …` gets 401, a wrong token 403. Tokens are compared in constant time
//! (SHA-256 of both, then `subtle`), so neither content nor length leaks through timing. Both
//! refusals are logged with the client's IP address (never the token presented).
//!
//! `GET /admin/entries?limit=N&gate=ID&since=UNIX&until=UNIX`: the newest `N` gate log entries,
//! newest first (default 50, at most 1000); `limit=0` returns none (`{"entries": []}`). `gate`
//! keeps one gate's entries (on a fleet's PostgreSQL log, every gate's are there), `since` and
//! `until` (unix seconds, inclusive) a time range.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::http::error;
use super::AppState;

/// Most entries one `/admin/entries` request returns.
const MAX_ENTRIES: usize = 1000;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/reload", post(reload))
        .route("/admin/entries", get(entries))
}

/// Whether the request from `peer` carries the configured token; `Err` is the response to send.
fn authorize(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let gate = state.gate();
    let Some(expected) = &gate.config.admin_token else {
        return Err(Box::new(error(StatusCode::NOT_FOUND, "not_found")));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(presented) = presented else {
        tracing::warn!(client = %peer.ip(), "admin request without a bearer token");
        let mut response = error(StatusCode::UNAUTHORIZED, "unauthorized");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"govid-gate\""),
        );
        return Err(Box::new(response));
    };
    if super::secrets_equal(presented, &expected.0) {
        Ok(())
    } else {
        // The address only: the token presented may be a mistyped real one.
        tracing::warn!(client = %peer.ip(), "admin request with a wrong token");
        Err(Box::new(error(StatusCode::FORBIDDEN, "forbidden")))
    }
}

async fn reload(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = authorize(&state, peer, &headers) {
        return *response;
    }
    let outcome = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.reload()).await
    };
    match outcome {
        Ok(Ok(())) => {
            tracing::info!("config reloaded");
            Json(json!({"reloaded": true})).into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "config reload failed; keeping the running config");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"error": "reload_failed", "message": e})),
            )
                .into_response()
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "reload_failed"),
    }
}

#[derive(Debug, Deserialize)]
struct EntriesQuery {
    limit: Option<usize>,
    gate: Option<String>,
    since: Option<u64>,
    until: Option<u64>,
}

async fn entries(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<EntriesQuery>,
) -> Response {
    if let Err(response) = authorize(&state, peer, &headers) {
        return *response;
    }
    let limit = query.limit.unwrap_or(50).min(MAX_ENTRIES);
    if limit == 0 {
        return Json(json!({ "entries": [] })).into_response();
    }
    let filter = super::gatelog::LogFilter {
        gate: query.gate.filter(|g| !g.is_empty()),
        since: query.since,
        until: query.until,
        limit,
    };
    match state.log.recent(&filter).await {
        Ok(rows) => Json(json!({ "entries": rows })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading the gate log failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "log_unavailable")
        }
    }
}

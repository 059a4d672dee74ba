//! A transparency log witness (c2sp.org/tlog-witness): cosigns an issuer's checkpoints once
//! they are consistent with the last one it cosigned, and keeps the evidence when they are not.
//!
//! Routes: `POST /add-checkpoint` (the submission prefix is the root) and
//! `GET /<sha256(origin) hex>/checkpoint` (the monitoring endpoint: the last cosigned checkpoint).

pub(crate) mod add;
pub(crate) mod state;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use govid_core::tlog::{LogKey, WitnessSigner};

use add::Outcome;
use state::WitnessState;

/// The largest request body: a checkpoint note, 63 proof lines and room for signatures.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// The most a request may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the witness serves from.
pub(crate) struct Witness {
    pub(crate) logs: Vec<LogKey>,
    pub(crate) signer: WitnessSigner,
    /// Held across check-and-store: tlog-witness requires the two to be atomic.
    pub(crate) state: Mutex<WitnessState>,
}

/// The witness's router.
pub(crate) fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{hash}/checkpoint", get(monitor))
        .with_state(witness)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        const PLAIN: &str = "text/plain; charset=utf-8";
        let reason = |status, r: &str| text(status, PLAIN, format!("{r}\n"));
        match self {
            Outcome::Cosigned(lines) => text(StatusCode::OK, PLAIN, lines),
            Outcome::BadRequest(r) => reason(StatusCode::BAD_REQUEST, r),
            Outcome::Forbidden(r) => reason(StatusCode::FORBIDDEN, r),
            Outcome::UnknownLog => reason(StatusCode::NOT_FOUND, "unknown log origin"),
            Outcome::Conflict(size) => text(
                StatusCode::CONFLICT,
                "text/x.tlog.size",
                format!("{size}\n"),
            ),
            Outcome::Unprocessable(r) => reason(StatusCode::UNPROCESSABLE_ENTITY, r),
            Outcome::Internal(r) => reason(StatusCode::INTERNAL_SERVER_ERROR, r),
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Body) -> Response {
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain; charset=utf-8",
            "request body too large\n".to_owned(),
        );
    };
    // File writes are synced: off the async workers.
    let task = tokio::task::spawn_blocking(move || {
        let Ok(state) = witness.state.lock() else {
            return Outcome::Internal("the witness state lock is poisoned");
        };
        let outcome = add::add_checkpoint(&body, &witness.logs, &witness.signer, &state, now());
        match &outcome {
            Outcome::Cosigned(_) => tracing::info!("cosigned a checkpoint"),
            Outcome::Unprocessable(r) => tracing::warn!(reason = r, "refused, evidence kept"),
            // Reasons and sizes only: no key material is in an outcome.
            other => tracing::info!(outcome = ?other, "refused"),
        }
        outcome
    });
    match tokio::time::timeout(REQUEST_TIMEOUT, task).await {
        Ok(Ok(outcome)) => outcome.into_response(),
        Ok(Err(_)) => Outcome::Internal("the request failed").into_response(),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "timeout\n".to_owned(),
        ),
    }
}

async fn monitor(State(witness): State<Arc<Witness>>, Path(hash): Path<String>) -> Response {
    let note = witness
        .state
        .lock()
        .ok()
        .and_then(|s| s.read_by_hash(&hash));
    match note {
        Some(n) => text(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            String::from_utf8_lossy(&n).into_owned(),
        ),
        None => Outcome::UnknownLog.into_response(),
    }
}

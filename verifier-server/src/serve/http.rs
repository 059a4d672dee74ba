//! The HTTP API: `POST /v1/verify`, `POST /v1/challenge`, `GET /healthz`, `GET /metrics`, and the
//! router with its hardening (body limit, per-client rate limit, timeout, security headers).
//!
//! # `POST /v1/verify`
//!
//! Body: the scanned text (`GV1:…`) or a compact presentation, as `text/plain` (or no
//! `Content-Type`), or `application/json` `{"payload": "…", "challenge": "<nonce>"?}` (`challenge`
//! names the challenge the presentation answers; without it the gate finds it from the KB-JWT's
//! `nonce`). Answer, HTTP 200 for every decision:
//!
//! ```json
//! {"decision": "allow", "reason": "ok",
//!  "disclosed": {"given_name": "Amira", "family_name": "Haddad",
//!                "organization": {"name": "Ministry of Transport", "code": "MOT"}},
//!  "credential_status": "valid", "issuer": "did:web:hr.ministry.example",
//!  "mode": "rotating", "gate": "hq-main-entrance", "time": 1795000000}
//! ```
//!
//! `disclosed` holds only the gate profile's claims, and only when allowed. `reason` is `ok`, a
//! core rule code (`bad_signature`, `expired`, `untrusted_issuer`, `kb_aud`, `kb_nonce`,
//! `kb_iat`, `missing_claim`, …), or one of `bad_qr`, `revoked`, `suspended`, `status_other`,
//! `status_unknown`, a status rule (`status_claim_missing`, `status_index_out_of_range`, …),
//! `replayed`, `code_before_restart` (made before the gate started, when the gate cannot vouch
//! that its previous run did not let it in: show a fresh code), `challenge_unknown`,
//! `vct_not_accepted`, `replay_cache_full`. `status_claim_missing` (no `status` claim) is denied
//! whatever `unknown_status` says; `require_status = false` allows such a credential instead.
//! `credential_status` is `valid`, `revoked`, `suspended`, `other`, `unknown`, `none` (no
//! `status` claim, allowed), or `null` when the check was not reached; `issuer` is `null`
//! unless the credential verified; `mode` is `rotating`, `challenge` or `null`.
//!
//! Malformed requests: 413 `{"error": "too_large"}` (over `max_body_bytes`), 415
//! `unsupported_media_type`, 400 `bad_utf8` / `bad_json`; 429 `rate_limited` (with
//! `Retry-After`); 503 `timeout`.
//!
//! # `POST /v1/challenge`
//!
//! No body. `{"challenge": {"aud", "nonce", "claims": ["given_name", …], "exp", "v": 1},
//! "text": "GVC1:…", "qr_svg": "<svg…>", "qr_png": "data:image/png;base64,…"}`; 404
//! `challenge_mode_off` when the gate takes only rotating codes, 503 `too_many_challenges` (the
//! gate's pool of outstanding challenges is full), 429 `client_challenge_limit` with
//! `Retry-After` (this client already holds `max_pending_challenges_per_client` of them).
//!
//! # Connections
//!
//! A client (IPv4 address or IPv6 /64) with `max_connections_per_client` connections open gets
//! 429 `{"error": "client_connection_limit"}` (with `Retry-After`) on a further one, which is
//! then closed; see [`super::listen`].
//!
//! # `GET /healthz`, `GET /metrics`
//!
//! `{"status": "ok"|"degraded", "gate", "uptime_secs", "challenge_mode", "language",
//! "status_lists": [{"uri", "age_secs", "stale", "last_fetch_failed"}],
//! "warnings": ["no_status_source"], "replay": {"kept_across_restart", "refuses_codes_before"}}`
//! (always 200; degraded when a list is missing or stale, or when `warnings` is not empty).
//! With `[trust.log]`, each list has `"log"`: `"ok"`, or why it was not used (`no_proof`,
//! `bad_proof`, `too_few_cosignatures`, `not_consistent`; then the gate is degraded), or `null`
//! before the first fetch; and `"log": {"largest_checkpoint": {"size", "root"}, "refusals":
//! {<reason>: n}}` says what the gate saw (`null` without a policy). `/metrics` has
//! `govid_tlog_refusals_total{reason}`.
//! `warnings` holds stable codes of what the operator should fix, also logged at start and on
//! reload: `no_status_source` (issuers trusted by pinned key or DID, but no status list
//! configured, `fetch_discovered = false` and no trust bundle: every ID is `status_unknown`). The lists are the configured, discovered and trust bundle
//! ones; a bundle's list is stale past the stricter of the gate's and the bundle's limit. `replay`
//! says which replay guarantee holds: `kept_across_restart` when the gate log database keeps the
//! replay keys (a code let in is refused after a restart too); `refuses_codes_before` (unix
//! seconds, or `null`) when the gate cannot vouch for codes made before it started (no database,
//! or the previous run crashed before committing every key) and refuses them as
//! `code_before_restart`. `language` is `[gate] language` (`"en"`, `"ko"`, or `null`: the
//! scanning page follows the browser's languages). Metrics: Prometheus text, see [`super::metrics`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::cache::StatusView;
use super::challenge::ChallengeRefusal;
use super::config::{Mode, PageLanguage};
use super::decide::{challenge_claims, decide, Decision};
use super::gatelog::Entry;
use super::metrics::Gauge;
use super::store::FleetCheck;
use super::transparency::LogRefusal;
use super::{admin, page, AppState, Gate};
use crate::input::system_now;

/// The JSON form of a verify request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    /// The scanned text (`GV1:…`) or a compact presentation.
    payload: String,
    /// The nonce of the challenge this answers, if the client knows it.
    #[serde(default)]
    challenge: Option<String>,
}

/// The answer to a verify request (HTTP 200 whatever the decision).
#[derive(Debug, Serialize)]
pub(crate) struct VerifyResponse {
    pub(crate) decision: &'static str,
    pub(crate) reason: &'static str,
    pub(crate) disclosed: Map<String, Value>,
    pub(crate) credential_status: Option<&'static str>,
    pub(crate) issuer: Option<String>,
    pub(crate) mode: Option<&'static str>,
    /// With a fleet store: `ok` (the fleet was asked) or `degraded` (this gate's cache only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fleet_check: Option<&'static str>,
    pub(crate) gate: String,
    pub(crate) time: u64,
}

/// A 4xx/5xx answer: `{"error": code}`.
pub(crate) fn error(status: StatusCode, code: &'static str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

/// The router with every route and layer.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut limited = Router::new()
        .route("/v1/verify", post(verify))
        .route("/v1/challenge", post(challenge))
        .merge(admin::routes());
    let mut open = Router::new();
    if let Some(login) = &state.login {
        limited = limited.merge(super::login::http::limited_routes());
        open = open.merge(super::login::http::open_routes(&login.did_document_path()));
    }
    let limited = limited.layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    Router::new()
        .merge(limited)
        .merge(open)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(page::routes())
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            timeout_and_headers,
        ))
        .with_state(state)
}

async fn rate_limit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !state.limiter.allow(peer.ip(), Instant::now()) {
        state.metrics.rate_limited();
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}

async fn timeout_and_headers(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.gate().config.request_timeout;
    let api =
        request.uri().path().starts_with("/v1/") || request.uri().path().starts_with("/admin/");
    let mut response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "timeout"),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// How the body is to be read, from `Content-Type`.
enum BodyKind {
    Text,
    Json,
}

fn body_kind(headers: &HeaderMap) -> Option<BodyKind> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Some(BodyKind::Text);
    };
    let value = value.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Some(BodyKind::Json)
    } else if essence.eq_ignore_ascii_case("text/plain") {
        Some(BodyKind::Text)
    } else {
        None
    }
}

/// Reads at most `limit` bytes of body; `Err` is the response to send.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, Response> {
    read_body_within(headers, body, limit)
        .await
        .ok_or_else(|| error(StatusCode::PAYLOAD_TOO_LARGE, "too_large"))
}

/// The body, if it is at most `limit` bytes: refused early by its declared `Content-Length`,
/// else while reading. `None`: too large (or cut off).
pub(crate) async fn read_body_within(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Option<Vec<u8>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return None;
    }
    axum::body::to_bytes(body, limit)
        .await
        .ok()
        .map(|bytes| bytes.to_vec())
}

async fn verify(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let gate = state.gate();
    let Some(kind) = body_kind(&headers) else {
        state.metrics.rejected();
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    };
    let bytes = match read_body(&headers, body, gate.config.max_body_bytes).await {
        Ok(b) => b,
        Err(response) => {
            state.metrics.rejected();
            return response;
        }
    };
    let (text, named) = match kind {
        BodyKind::Text => match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(_) => {
                state.metrics.rejected();
                return error(StatusCode::BAD_REQUEST, "bad_utf8");
            }
        },
        BodyKind::Json => match serde_json::from_slice::<VerifyRequest>(&bytes) {
            Ok(r) => (r.payload, r.challenge),
            Err(_) => {
                state.metrics.rejected();
                return error(StatusCode::BAD_REQUEST, "bad_json");
            }
        },
    };
    let now = system_now();
    let mut decision = decide(
        &gate,
        &state.decision_context(),
        &text,
        named.as_deref(),
        now,
    );
    // A code new to this gate is claimed for the fleet before the answer (see `store`).
    let fleet = match decision.replay {
        Some((key, expires_at)) if decision.allow => state.fleet.claim(&key, expires_at).await,
        _ => state.fleet.current(),
    };
    match fleet {
        FleetCheck::Taken => {
            decision.allow = false;
            decision.reason = "replayed";
            decision.disclosed = Map::new();
            decision.replay = None;
        }
        // Claimed already: the log entry need not carry the key to the fleet again.
        FleetCheck::Fresh => decision.replay = None,
        FleetCheck::Local | FleetCheck::Degraded => {}
    }
    state
        .metrics
        .observe(decision.word(), decision.reason, started.elapsed());
    // No personal data in the service log: decision, reason and mode only.
    tracing::debug!(
        decision = decision.word(),
        reason = decision.reason,
        mode = decision.mode.unwrap_or("-"),
        "decision"
    );
    let word = decision.word();
    let Decision {
        allow: _,
        reason,
        disclosed,
        credential_status,
        issuer,
        credential_hash,
        kept_claims,
        mode,
        replay,
    } = decision;
    state
        .log
        .record(Entry {
            time: now,
            gate: gate.config.gate_id.clone(),
            decision: word,
            reason: reason.to_owned(),
            issuer: issuer.clone(),
            credential_status,
            credential_hash,
            claims: kept_claims,
            replay,
        })
        .await;
    Json(VerifyResponse {
        decision: word,
        reason,
        disclosed,
        credential_status,
        issuer,
        mode,
        fleet_check: fleet.word(),
        gate: gate.config.gate_id.clone(),
        time: now,
    })
    .into_response()
}

async fn challenge(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let gate = state.gate();
    if gate.config.mode == Mode::Rotating {
        return error(StatusCode::NOT_FOUND, "challenge_mode_off");
    }
    let now = system_now();
    let made = state.challenges.create(
        &gate.config.audience,
        challenge_claims(&gate.config.profile),
        gate.config.challenge_ttl_secs,
        now,
        peer.ip(),
    );
    let (challenge, text) = match made {
        Ok(c) => c,
        Err(ChallengeRefusal::TooMany) => {
            return error(StatusCode::SERVICE_UNAVAILABLE, "too_many_challenges")
        }
        Err(ChallengeRefusal::TooManyForClient { retry_after }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "client_challenge_limit");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return response;
        }
        Err(ChallengeRefusal::Invalid(e)) => {
            tracing::error!(error = %e, "challenge refused by the codec: check the gate config");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "challenge_invalid");
        }
    };
    let qr = govid_core::qr::render(&text, govid_core::qr::Ecc::M);
    let (svg, png) = match &qr {
        Ok(code) => (
            Some(code.to_svg()),
            code.to_png(6, 4).ok().map(|png| {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD.encode(png);
                format!("data:image/png;base64,{b64}")
            }),
        ),
        Err(_) => (None, None),
    };
    Json(json!({
        "challenge": challenge,
        "text": text,
        "qr_svg": svg,
        "qr_png": png,
    }))
    .into_response()
}

/// Status list freshness: `(uri, age of the list in seconds, whether it is stale, whether the
/// last fetch failed)`. A list is stale past the gate's `max_staleness_secs`, or for a trust
/// bundle's list the bundle's `max_staleness` when that is stricter; a missing list is stale.
fn status_lists(state: &AppState, now: u64) -> Vec<(String, Option<u64>, bool, bool)> {
    let gate = state.gate();
    let view = StatusView {
        fetched: state.cache.status_snapshot(),
        bundle: gate.trust.bundle.clone(),
        max_staleness: gate.config.max_staleness_secs,
    };
    let mut uris: Vec<String> = view.fetched.keys().cloned().collect();
    uris.extend(gate.config.status_lists.iter().cloned());
    if let Some(bundle) = &gate.trust.bundle {
        let bundled = bundle.issuers().iter().flat_map(|i| &i.status_lists);
        uris.extend(bundled.map(|l| l.uri.clone()));
    }
    uris.sort();
    uris.dedup();
    uris.into_iter()
        .map(|uri| {
            let found = view.list_and_limit(&uri);
            let age = found.map(|(list, _)| now.saturating_sub(list.iat()));
            let stale = found.is_none_or(|(list, limit)| {
                list.is_expired(now) || now > list.iat().saturating_add(limit)
            });
            let failed = view
                .fetched
                .get(&uri)
                .is_some_and(|f| f.last_error.is_some());
            (uri, age, stale, failed)
        })
        .collect()
}

/// With `[trust.log]`, the log verdict on the list at `uri`: the refresher's on a fetched list;
/// `ok` for a list only in the trust bundle (the bundle's own proof covers its bytes, lists and
/// all, and a bundle without one is refused); `None` before the first fetch.
fn log_verdict(state: &AppState, gate: &Gate, uri: &str) -> Option<&'static str> {
    state.cache.log_verdict(uri).or_else(|| {
        gate.trust
            .bundle
            .as_ref()
            .and_then(|b| govid_core::status::StatusTokenSource::status_list(b.as_ref(), uri))
            .map(|_| "ok")
    })
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let now = system_now();
    let gate = state.gate();
    let lists: Vec<Value> = status_lists(&state, now)
        .into_iter()
        .map(|(uri, age, stale, failed)| {
            let mut list =
                json!({"uri": uri, "age_secs": age, "stale": stale, "last_fetch_failed": failed});
            if gate.trust.log.is_some() {
                list["log"] = json!(log_verdict(&state, &gate, &uri));
            }
            list
        })
        .collect();
    let warnings: Vec<&str> = gate.config.warnings().iter().map(|w| w.code()).collect();
    let refused_by_log = lists
        .iter()
        .any(|l| l.get("log").is_some_and(|v| !v.is_null() && v != "ok"));
    let fleet = state.fleet.fleet_word();
    let degraded = !warnings.is_empty()
        || refused_by_log
        || lists.iter().any(|l| l["stale"] == json!(true))
        || fleet == Some("degraded");
    let log = gate.trust.log.as_ref().map(|log| {
        let refusals: Map<String, Value> = LogRefusal::ALL
            .iter()
            .map(|r| (r.code().to_owned(), json!(r.count())))
            .collect();
        json!({
            "largest_checkpoint": log.largest().map(|(size, root)| {
                json!({"size": size, "root": root.to_string()})
            }),
            "refusals": refusals,
        })
    });
    let history_from = state
        .replay
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .history_from();
    Json(json!({
        "status": if degraded { "degraded" } else { "ok" },
        "gate": gate.config.gate_id,
        "uptime_secs": state.started.elapsed().as_secs(),
        "challenge_mode": gate.config.mode != Mode::Rotating,
        "language": gate.config.language.map(PageLanguage::code),
        "status_lists": lists,
        "warnings": warnings,
        "log": log,
        "login": state.login.as_ref().map(|l| json!({"pending": l.pending()})),
        "replay": {
            "kept_across_restart": gate.config.log_db.is_some() || fleet.is_some(),
            "refuses_codes_before": (history_from > 0).then_some(history_from),
            "fleet": fleet,
            "spooled": state.log.spooled(),
        },
    }))
    .into_response()
}

/// `govid_tlog_refusals_total{reason}`: lists and bundles refused by `[trust.log]` since start.
fn tlog_refusals() -> String {
    let mut out = String::from(
        "# HELP govid_tlog_refusals_total Status lists and trust bundles refused by the \
         transparency log policy, by reason.\n# TYPE govid_tlog_refusals_total counter\n",
    );
    for reason in LogRefusal::ALL {
        out.push_str(&format!(
            "govid_tlog_refusals_total{{reason=\"{}\"}} {}\n",
            reason.code(),
            reason.count()
        ));
    }
    out
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let now = system_now();
    let ages = status_lists(&state, now)
        .into_iter()
        .filter_map(|(uri, age, _, _)| age.map(|a| (Some(("uri", uri)), a as f64)))
        .collect();
    let replay = state
        .replay
        .lock()
        .map(|r| r.len())
        .unwrap_or_else(|e| e.into_inner().len());
    let gauges = [
        Gauge {
            name: "govid_status_list_age_seconds",
            help: "Seconds since the iat of the status list the gate would use.",
            samples: ages,
        },
        Gauge {
            name: "govid_replay_cache_entries",
            help: "KB-JWT hashes remembered by the replay cache.",
            samples: vec![(None, replay as f64)],
        },
        Gauge {
            name: "govid_pending_challenges",
            help: "Outstanding challenge nonces.",
            samples: vec![(None, state.challenges.len() as f64)],
        },
        Gauge {
            name: "govid_gate_log_errors",
            help: "Gate log entries that could not be committed since start.",
            samples: vec![(None, state.log.errors() as f64)],
        },
        Gauge {
            name: "govid_gate_log_spooled",
            help: "Fleet gate log entries in this gate's spool, not yet in PostgreSQL.",
            samples: vec![(None, state.log.spooled().unwrap_or(0) as f64)],
        },
    ];
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(&gauges) + &tlog_refusals(),
    )
        .into_response()
}

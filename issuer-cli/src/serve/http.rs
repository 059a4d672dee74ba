//! The routes of `serve` and their checks.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /.well-known/openid-credential-issuer` | Credential Issuer Metadata (OpenID4VCI 1.0 §12.2) |
//! | `GET /.well-known/oauth-authorization-server` | RFC 8414 §3 metadata |
//! | `GET <path of each vct>` | SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc-18 §4.3.1) |
//! | `GET /offers/<id>` | the Credential Offer object (§4.1.3) until the offer expires (a used or ended one too: the token endpoint then says why); else 404 |
//! | `POST /token` | pre-authorized code + `tx_code` → access token (§6), DPoP-bound if a proof comes |
//! | `POST /nonce` | `{"c_nonce"}` (§7), single use, 5 minutes |
//! | `POST /credential` | one credential (§8), the first proof's key bound (enrollment) |
//! | `POST /notification` | 204 (§11) |
//!
//! The type metadata is served at the path of each `vct` URL on this server: that is where a
//! wallet looks when the public URL is the `vct`'s origin; otherwise publish the same JSON at the
//! `vct` URL.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use govid_core::dpop::{self, DpopExpectation, DpopWindow};
use govid_core::jose::Algorithm;
use govid_core::oid4vci::offer::{percent_decode, PRE_AUTHORIZED_GRANT};
use govid_core::oid4vci::{metadata, proof, vct_of, CONFIGURATIONS};
use serde_json::{json, Value};

use super::error::ApiError;
use super::{db, fault, writer, AppState};

/// Largest request body read, in bytes.
pub(crate) const MAX_BODY: usize = 16 * 1024;
/// Longest a request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The router with every route and layer.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let limited = Router::new()
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
        .route("/notification", post(notification))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    let mut app = Router::new()
        .merge(limited)
        .route(
            "/.well-known/openid-credential-issuer",
            get(issuer_metadata),
        )
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/offers/{id}", get(offer));
    for configuration in CONFIGURATIONS {
        let Some(vct) = vct_of(configuration) else {
            continue;
        };
        let path = vct
            .strip_prefix("https://")
            .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        if path.len() > 1 {
            app = app.route(path, get(move || type_metadata(vct)));
        }
    }
    app.fallback(|| async {
        (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response()
    })
    .layer(middleware::from_fn(timeout_and_headers))
    .with_state(state)
}

async fn rate_limit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let client = client_address(&state.trusted_proxies, peer.ip(), request.headers());
    if !state.limiter.allow(client, Instant::now()) {
        let mut response = ApiError::bad("slow_down", "too many requests; retry in a second")
            .with_status(StatusCode::TOO_MANY_REQUESTS)
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    next.run(request).await
}

/// The client a request is counted against: the TCP peer, or, when the peer is a trusted reverse
/// proxy, the last address in `X-Forwarded-For` (the one that proxy added; earlier entries are
/// whatever the client claimed). A proxy that sends no usable header is counted itself.
pub(crate) fn client_address(
    trusted: &[std::net::IpAddr],
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

async fn timeout_and_headers(request: Request, next: Next) -> Response {
    let mut response = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::bad("temporarily_unavailable", "the request took too long")
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .into_response(),
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
    response
}

/// Now, unix seconds (`GOVID_ISSUER_NOW` as in the CLI).
fn now() -> Result<u64, ApiError> {
    Ok(crate::clock::now()?)
}

/// Runs a database step off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        Err(ApiError::bad("server_error", "internal error")
            .with_status(StatusCode::INTERNAL_SERVER_ERROR))
    })
}

/// Reads at most [`MAX_BODY`] bytes; `error` is the endpoint's code for a body too large.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    error: &'static str,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::bad(error, "request body too large").with_status(StatusCode::PAYLOAD_TOO_LARGE)
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| too_large())
}

fn no_store(value: Value) -> Response {
    let mut response = Json(value).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn issuer_metadata(State(state): State<Arc<AppState>>) -> Response {
    Json(metadata::issuer_metadata(
        &state.public_url,
        &state.name,
        state.alg(),
    ))
    .into_response()
}

async fn as_metadata(State(state): State<Arc<AppState>>) -> Response {
    Json(metadata::authorization_server_metadata(&state.public_url)).into_response()
}

async fn type_metadata(vct: &'static str) -> Response {
    match metadata::type_metadata(vct) {
        Some(m) => Json(m).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn offer(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    if id.len() > 64 {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response();
    }
    let result = blocking(move || {
        let now = now()?;
        state.read(|conn| {
            Ok(super::offer::offer_object(
                conn,
                &state.public_url,
                &id,
                now,
            )?)
        })
    })
    .await;
    match result {
        Ok(Some(offer)) => no_store(offer),
        Ok(None) => (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The one `DPoP` header, if any; two are refused (RFC 9449 §4.3 check 1).
fn dpop_header(headers: &HeaderMap) -> Result<Option<&str>, ()> {
    let mut all = headers.get_all("dpop").iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| ()),
        _ => Err(()),
    }
}

/// Checks a DPoP proof for `path`: the proof key's thumbprint and the proof's `jti`, which the
/// request's database step then uses up ([`db::use_jti`]; a request refused after this check
/// uses it up too, see [`refuse`]).
fn check_dpop(
    state: &AppState,
    proof: &str,
    path: &str,
    access_token: Option<&str>,
    now: u64,
) -> Result<(String, db::Jti), &'static str> {
    let htu = format!("{}{path}", state.public_url);
    let expected = DpopExpectation {
        htm: "POST",
        htu: &htu,
        access_token,
        algs: &Algorithm::ALL,
    };
    let window = DpopWindow::default();
    let checked = dpop::verify_proof(proof, &expected, now, window).map_err(|e| match e {
        dpop::DpopError::AccessTokenHash => "DPoP proof ath does not match the access token",
        dpop::DpopError::Time => "DPoP proof iat is not recent",
        dpop::DpopError::Url | dpop::DpopError::Method => "DPoP proof htm or htu does not match",
        _ => "DPoP proof is invalid",
    })?;
    let until = checked.iat + window.max_age + window.max_future;
    let jti = db::Jti::new(&checked.jkt, &checked.jti, until);
    Ok((checked.jkt, jti))
}

/// The description of a replayed DPoP proof.
const REPLAYED: &str = "DPoP proof jti was used before";

/// The answer to a replayed DPoP proof at an endpoint that takes an access token.
fn replayed() -> ApiError {
    ApiError::unauthorized("invalid_dpop_proof", REPLAYED, true)
}

/// Refuses a request with `e` after its DPoP proof passed: the proof's `jti` is used up first (a
/// proof serves one request, whatever its outcome), and if it was used before, that is the
/// answer instead.
async fn refuse(state: &Arc<AppState>, jti: Option<db::Jti>, e: ApiError) -> ApiError {
    let Some(jti) = jti else {
        return e;
    };
    match state.writer.run(move |tx| db::use_jti(tx, &jti)).await {
        Ok(true) => e,
        Ok(false) => replayed(),
        Err(failed) => failed,
    }
}

/// `application/x-www-form-urlencoded` pairs; `None` if malformed or a name repeats.
fn form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name)?, percent_decode(value)?);
        if pairs.iter().any(|(n, _)| *n == name) {
            return None;
        }
        pairs.push((name, value));
    }
    Some(pairs)
}

async fn token(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    token_inner(state, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn token_inner(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&headers, body, "invalid_request").await?;
    let Some(pairs) = form(&body) else {
        return Err(ApiError::bad("invalid_request", "malformed form body"));
    };
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    match get("grant_type").as_deref() {
        Some(PRE_AUTHORIZED_GRANT) => {}
        Some(_) => {
            return Err(ApiError::bad(
                "unsupported_grant_type",
                "only the pre-authorized code grant is supported",
            ))
        }
        None => return Err(ApiError::bad("invalid_request", "grant_type is missing")),
    }
    let Some(code) = get("pre-authorized_code").filter(|c| !c.is_empty() && c.len() <= 128) else {
        return Err(ApiError::bad(
            "invalid_request",
            "pre-authorized_code is missing",
        ));
    };
    // §6.3: a tx_code was in the offer, so the request must carry one.
    let Some(pin) = get("tx_code").filter(|p| p.len() <= 64) else {
        return Err(ApiError::bad("invalid_request", "tx_code is missing"));
    };
    let now = now()?;
    let (jkt, jti) = match dpop_header(&headers) {
        Err(()) => return Err(ApiError::bad("invalid_dpop_proof", "send one DPoP proof")),
        Ok(None) if state.require_dpop => {
            // RFC 9449 §5: this server binds every token, so a proof is required.
            return Err(ApiError::bad(
                "invalid_dpop_proof",
                "a DPoP proof is required",
            ));
        }
        Ok(None) => (None, None),
        Ok(Some(proof)) => {
            let (jkt, jti) = check_dpop(&state, proof, "/token", None, now)
                .map_err(|d| ApiError::bad("invalid_dpop_proof", d))?;
            (Some(jkt), Some(jti))
        }
    };
    let dpop = jkt.is_some();
    let st = state.clone();
    // One transaction: the proof's jti (a replay changes nothing else), then the grant.
    let access_token = state
        .writer
        .run(move |tx| {
            if let Some(jti) = &jti {
                if !db::use_jti(tx, jti)? {
                    return Ok(Err(ApiError::bad("invalid_dpop_proof", REPLAYED)));
                }
            }
            db::redeem(&st, tx, &code, &pin, jkt.as_deref(), now)
        })
        .await??;
    Ok(no_store(json!({
        "access_token": access_token,
        "token_type": if dpop { "DPoP" } else { "Bearer" },
        "expires_in": db::TOKEN_SECS,
    })))
}

async fn nonce(State(state): State<Arc<AppState>>) -> Response {
    let result = now().and_then(|now| Ok(state.nonce_key.issue(now)?));
    match result {
        Ok(nonce) => no_store(json!({"c_nonce": nonce})),
        Err(e) => e.into_response(),
    }
}

/// Checks the access token (and its DPoP proof when bound) for `path`: the token, and the DPoP
/// proof's `jti` for the request's database step to use up.
async fn authorize(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    path: &str,
    now: u64,
) -> Result<(db::Token, Option<db::Jti>), ApiError> {
    let dpop_needed = state.require_dpop;
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "no access token",
            dpop_needed,
        ));
    };
    let (scheme, token) = auth.split_once(' ').unwrap_or((auth, ""));
    let token = token.trim().to_owned();
    let dpop_scheme = scheme.eq_ignore_ascii_case("DPoP");
    if !(dpop_scheme || scheme.eq_ignore_ascii_case("Bearer"))
        || token.is_empty()
        || token.len() > 128
    {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "malformed Authorization header",
            dpop_needed,
        ));
    }
    let Some(stored) = state.read_here(|conn| db::token(conn, &token, now))? else {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "unknown or expired access token",
            dpop_scheme,
        ));
    };
    match (&stored.jkt, dpop_scheme) {
        (Some(jkt), true) => {
            let proof = match dpop_header(headers) {
                Ok(Some(p)) => p,
                _ => {
                    return Err(ApiError::unauthorized(
                        "invalid_dpop_proof",
                        "send one DPoP proof",
                        true,
                    ))
                }
            };
            let (key, jti) = check_dpop(state, proof, path, Some(&token), now)
                .map_err(|d| ApiError::unauthorized("invalid_dpop_proof", d, true))?;
            if key != *jkt {
                let e = ApiError::unauthorized(
                    "invalid_token",
                    "the access token is bound to another DPoP key",
                    true,
                );
                return Err(refuse(state, Some(jti), e).await);
            }
            return Ok((stored, Some(jti)));
        }
        (Some(_), false) => {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "this access token needs the DPoP scheme",
                true,
            ))
        }
        (None, true) => {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "this access token is a Bearer token",
                false,
            ))
        }
        (None, false) => {}
    }
    Ok((stored, None))
}

async fn credential(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    credential_inner(state, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

fn bad_request(e: &'static str, d: &str) -> ApiError {
    ApiError::bad(e, d)
}

/// A credential request that passed every check needing no database: what the database step
/// takes.
struct CredentialRequest {
    configuration: &'static str,
    key: govid_core::jose::PublicKey,
    nonce: String,
    nonce_expires: u64,
}

/// The body's checks, the key proof's signature and claims, and its `c_nonce`'s MAC and expiry.
fn credential_request(
    state: &AppState,
    body: &[u8],
    now: u64,
) -> Result<CredentialRequest, ApiError> {
    let Ok(Value::Object(request)) = govid_core::json::parse_value(body, 16) else {
        return Err(bad_request(
            "invalid_credential_request",
            "the body is not a JSON object",
        ));
    };
    if request.contains_key("credential_identifier") {
        return Err(bad_request(
            "invalid_credential_request",
            "use credential_configuration_id",
        ));
    }
    if request.contains_key("credential_response_encryption") {
        return Err(bad_request(
            "invalid_encryption_parameters",
            "encrypted responses are not supported",
        ));
    }
    let Some(configuration) = request
        .get("credential_configuration_id")
        .and_then(Value::as_str)
    else {
        return Err(bad_request(
            "invalid_credential_request",
            "credential_configuration_id is missing",
        ));
    };
    let Some(configuration) = CONFIGURATIONS.into_iter().find(|c| *c == configuration) else {
        return Err(bad_request(
            "unknown_credential_configuration",
            "unknown credential_configuration_id",
        ));
    };
    // §8.2: `proofs` holds exactly one proof type; this issuer takes one `jwt` proof (no batch
    // issuance is advertised).
    let proofs = match request.get("proofs") {
        Some(Value::Object(p)) if p.len() == 1 => p.get("jwt").and_then(Value::as_array),
        _ => None,
    };
    let proof_text = match proofs.map(Vec::as_slice) {
        Some([Value::String(p)]) => p,
        Some([_, _, ..]) => return Err(bad_request("invalid_proof", "send exactly one jwt proof")),
        _ => {
            return Err(bad_request(
                "invalid_proof",
                "proofs must hold one jwt proof",
            ))
        }
    };
    let checked = proof::verify_proof(proof_text, &state.public_url, now, &Algorithm::ALL)
        .map_err(|e| bad_request("invalid_proof", &e.to_string()))?;
    let Some(nonce_expires) = state.nonce_key.check(&checked.nonce, now) else {
        return Err(invalid_nonce());
    };
    Ok(CredentialRequest {
        configuration,
        key: checked.key,
        nonce: checked.nonce,
        nonce_expires,
    })
}

fn invalid_nonce() -> ApiError {
    bad_request(
        "invalid_nonce",
        "c_nonce is unknown, used or expired; get a new one",
    )
}

async fn credential_inner(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let now = now()?;
    let body = read_body(&headers, body, "invalid_credential_request").await?;
    let (token, jti) = authorize(&state, &headers, "/credential", now).await?;
    let request = match credential_request(&state, &body, now) {
        Ok(request) => request,
        Err(e) => return Err(refuse(&state, jti, e).await),
    };
    let st = state.clone();
    // One transaction (shared with the other requests of its batch): the DPoP proof's jti, the
    // c_nonce, then enrollment, issuance and the delivery record. A refused issuance is undone
    // alone; the proof and the nonce stay used.
    let prepared = state
        .writer
        .run(move |tx| {
            if let Some(jti) = &jti {
                if !db::use_jti(tx, jti)? {
                    return Ok(Err(replayed()));
                }
            }
            if !db::use_nonce(tx, &request.nonce, request.nonce_expires)? {
                return Ok(Err(invalid_nonce()));
            }
            fault::pause("credential:nonce-used");
            Ok(writer::savepoint(tx, |tx| {
                db::prepare(&st, tx, &token, request.configuration, &request.key, now)
            }))
        })
        .await??;
    fault::pause_async("credential:committed").await;
    let response = json!({
        "credentials": [{"credential": prepared.credential}],
        "notification_id": prepared.notification_id,
    });
    let bytes = serde_json::to_vec(&response).unwrap_or_default();
    let (sent, delivered) = tokio::sync::oneshot::channel();
    let delivery_id = prepared.delivery_id;
    tokio::spawn(async move {
        if delivered.await.is_ok() {
            fault::pause_async("credential:sent").await;
            let Ok(at) = crate::clock::now() else {
                return;
            };
            let st = state.clone();
            state
                .writer
                .queue(move |tx| db::delivered(&st, tx, delivery_id, at));
        }
    });
    let mut response = Response::new(Body::new(super::body::ReportingBody::new(bytes, sent)));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn notification(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    notification_inner(state, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn notification_inner(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let now = now()?;
    let body = read_body(&headers, body, "invalid_notification_request").await?;
    let (token, jti) = authorize(&state, &headers, "/notification", now).await?;
    let (id, event) = match notification_request(&body) {
        Ok(request) => request,
        Err(e) => return Err(refuse(&state, jti, e).await),
    };
    let st = state.clone();
    let known = state
        .writer
        .run(move |tx| {
            if let Some(jti) = &jti {
                if !db::use_jti(tx, jti)? {
                    return Ok(Err(replayed()));
                }
            }
            Ok(Ok(db::notify(&st, tx, &token, &id, event, now)?))
        })
        .await??;
    if !known {
        return Err(bad_request(
            "invalid_notification_id",
            "unknown notification_id",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The notification request's `notification_id` and `event`.
fn notification_request(body: &[u8]) -> Result<(String, &'static str), ApiError> {
    let Ok(Value::Object(request)) = govid_core::json::parse_value(body, 8) else {
        return Err(bad_request(
            "invalid_notification_request",
            "the body is not a JSON object",
        ));
    };
    let (Some(id), Some(event)) = (
        request
            .get("notification_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        request.get("event").and_then(Value::as_str),
    ) else {
        return Err(bad_request(
            "invalid_notification_request",
            "notification_id and event are required",
        ));
    };
    let Some(event) = [
        "credential_accepted",
        "credential_failure",
        "credential_deleted",
    ]
    .into_iter()
    .find(|e| *e == event) else {
        return Err(bad_request("invalid_notification_request", "unknown event"));
    };
    Ok((id, event))
}

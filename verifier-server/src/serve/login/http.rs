//! The login routes (with `[login]`):
//!
//! | route | what |
//! |---|---|
//! | `GET /.well-known/did.json` (the DID's document path) | the verifier's DID document |
//! | `GET /login` | a login page: QR code and same-device link; shows who logged in |
//! | `POST /login/requests[?qr=png]` | a new login request: `{"transaction", "authorization_request", "expires_in", "events", "status", "qr_png"}` (`qr_png`, the QR code as a PNG `data:` URL, only with `?qr=png`) |
//! | `GET /login/request/<id>` | the signed request object (`application/oauth-authz-req+jwt`), once |
//! | `POST /login/response` | the wallet's `response=<JWE>` (`direct_post.jwt`) |
//! | `GET /login/requests/<transaction>/events` | server-sent events: one `result` event |
//! | `GET /login/requests/<transaction>` | long poll (`?wait=SECS`, at most 25): the same result |
//! | `GET /.well-known/openid-configuration`, `/authorize`, `GET /authorize/continue`, `POST /token`, `GET /jwks`, `GET /userinfo` | the OpenID Connect bridge ([`super::oidc`]) |
//!
//! Response endpoint errors are `400 {"error": "invalid_request", "error_description": …}`:
//! the description is a fixed text or, for a presentation the gate's decision refused, its
//! reason code (`kb_nonce`, `kb_aud`, `bad_signature`, `revoked`, …). A `result` event is
//! `{"result": "accepted", "claims": {…}, "continue": "/authorize/continue?…"?}` or
//! `{"result": "rejected", "error": "<reason>"}` (`expired` when the request timed out).
//! Nothing personal is written to the service log: decisions and reasons only.

// The helpers return the error response a handler sends as is: boxing it would only move the
// allocation.
#![allow(clippy::result_large_err)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use govid_core::oid4vp::jwe::peek_header;
use govid_core::oid4vp::{check_answers, AuthorizationResponse};
use govid_core::url::{form_encode, query_pairs};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::oidc::{discovery, jwks, TokenRequest};
use super::{Authorize, CreateRefusal, FetchRefusal, Logins, Outcome, CREDENTIAL_QUERY_ID};
use crate::input::system_now;
use crate::serve::decide::{check_presentation, Expectation};
use crate::serve::gatelog::Entry;
use crate::serve::AppState;

/// Largest response body: an encrypted presentation of a worker ID with its photo.
const MAX_RESPONSE_BODY: usize = 600 * 1024;

/// Largest token endpoint body.
const MAX_FORM_BODY: usize = 8 * 1024;

const LOGIN_HTML: &str = include_str!("../../../static/login.html");
const LOGIN_JS: &str = include_str!("../../../static/login.js");
const LOGIN_CSS: &str = include_str!("../../../static/login.css");

/// The login page's policy: its own script and style, the QR code as a `data:` image.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The routes that a client may call often (rate limited by the caller).
pub(crate) fn limited_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/login", get(login_page))
        .route("/login/requests", post(create_request))
        .route("/login/request/{id}", get(request_object))
        .route("/login/response", post(response))
        .route("/authorize", get(authorize))
        .route("/authorize/continue", get(authorize_continue))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
}

/// The routes a page or client polls or reads (not rate limited).
pub(crate) fn open_routes(did_document_path: &str) -> Router<Arc<AppState>> {
    Router::new()
        .route("/login/requests/{transaction}/events", get(events))
        .route("/login/requests/{transaction}", get(long_poll))
        .route(did_document_path, get(did_document))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/jwks", get(jwks_route))
        .route(
            "/static/login.js",
            get(|| async { asset(LOGIN_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/static/login.css",
            get(|| async { asset(LOGIN_CSS, "text/css; charset=utf-8") }),
        )
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `{"error", "error_description"}` with `status`.
fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> Response {
    no_store(
        (
            status,
            Json(json!({"error": error, "error_description": description})),
        )
            .into_response(),
    )
}

/// The answer of a login route on a server without `[login]` (its routes are not mounted
/// then; this is the defensive answer).
fn not_configured() -> Response {
    oauth_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "login is not configured",
    )
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The QR code of `text` as a PNG `data:` URL (`None` if it does not fit a QR code).
fn qr_data_url(text: &str) -> Option<String> {
    use base64::Engine as _;
    let code = govid_core::qr::render(text, govid_core::qr::Ecc::M).ok()?;
    // 4 px a module: the page scales it up (image-rendering: pixelated).
    let png = code.to_png(4, 4).ok()?;
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

/// The login page for a created request.
fn page(logins: &Logins, created: &super::Created, client_name: Option<&str>) -> Response {
    let qr = qr_data_url(&created.authorization_request).unwrap_or_default();
    let body = LOGIN_HTML
        .replace("{{service}}", &html_escape(&logins.config.name))
        .replace("{{client}}", &html_escape(client_name.unwrap_or("")))
        .replace(
            "{{authorization_request}}",
            &html_escape(&created.authorization_request),
        )
        .replace("{{transaction}}", &html_escape(&created.transaction))
        .replace("{{expires_in}}", &created.expires_in.to_string())
        .replace("{{qr}}", &html_escape(&qr));
    no_store(
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP),
                ),
            ],
            body,
        )
            .into_response(),
    )
}

fn refusal(refused: CreateRefusal) -> Response {
    match refused {
        CreateRefusal::Full => oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many logins in progress",
        ),
        CreateRefusal::ClientLimit => {
            let mut r = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                "this client has too many logins in progress",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            r
        }
    }
}

async fn login_page(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    match logins.create(peer.ip(), None, system_now()) {
        Ok(created) => page(logins, &created, None),
        Err(e) => refusal(e),
    }
}

#[derive(Deserialize)]
struct CreateQuery {
    /// `png`: also the QR code, as a PNG `data:` URL (most of the request's cost).
    qr: Option<String>,
}

async fn create_request(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<CreateQuery>,
) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    match logins.create(peer.ip(), None, system_now()) {
        Ok(c) => no_store(
            Json(json!({
                "transaction": c.transaction,
                "authorization_request": c.authorization_request,
                "expires_in": c.expires_in,
                "events": format!("/login/requests/{}/events", c.transaction),
                "status": format!("/login/requests/{}", c.transaction),
                "qr_png": (query.qr.as_deref() == Some("png"))
                    .then(|| qr_data_url(&c.authorization_request))
                    .flatten(),
            }))
            .into_response(),
        ),
        Err(e) => refusal(e),
    }
}

async fn request_object(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    match logins.request_object(&id, system_now()) {
        Ok(jws) => no_store(
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(govid_core::oid4vp::REQUEST_OBJECT_MEDIA_TYPE),
                )],
                jws,
            )
                .into_response(),
        ),
        Err(FetchRefusal::Unknown) => oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request_uri",
            "no login request of this id is in progress (unknown or expired)",
        ),
        Err(FetchRefusal::AlreadyFetched) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_uri",
            "this request object was already fetched",
        ),
    }
}

/// The form fields of an `application/x-www-form-urlencoded` body.
fn form_fields(headers: &HeaderMap, bytes: &[u8]) -> Result<Vec<(String, String)>, Response> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(oauth_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is not UTF-8",
        )
    })?;
    query_pairs(text).map_err(|_| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is not a form",
        )
    })
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, Response> {
    crate::serve::http::read_body_within(headers, body, limit)
        .await
        .ok_or_else(|| {
            oauth_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the body is too large",
            )
        })
}

/// `POST /login/response`: the wallet's Authorization Response.
async fn response(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    let bytes = match read_limited(&headers, body, MAX_RESPONSE_BODY).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fields = match form_fields(&headers, &bytes) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let now = system_now();
    let Some(jwe) = field(&fields, "response") else {
        // §8.3.1: a wallet that cannot encrypt may send an error response in the clear.
        if let (Some(error), Some(state_value)) = (field(&fields, "error"), field(&fields, "state"))
        {
            return if logins.wallet_error(state_value, error, now) {
                tracing::info!(decision = "deny", reason = "wallet_error", "login");
                no_store(Json(json!({})).into_response())
            } else {
                oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "no login request has this state",
                )
            };
        }
        let description = if field(&fields, "vp_token").is_some() {
            "the response must be encrypted (response_mode direct_post.jwt)"
        } else {
            "the response parameter is missing"
        };
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    };
    let kid = match peek_header(jwe)
        .ok()
        .and_then(|h| h.get("kid").and_then(Value::as_str).map(str::to_owned))
    {
        Some(kid) => kid,
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the response is not a JWE naming its request key (kid)",
            )
        }
    };
    let (answering, plaintext) = match logins.open_response(&kid, jwe, now) {
        Ok(opened) => opened,
        Err(description) => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
        }
    };
    let refuse = |error: &str, description: &str| {
        logins.finish(
            &answering.id,
            Outcome::Rejected {
                error: error.to_owned(),
            },
        );
        tracing::info!(decision = "deny", reason = error, "login");
        oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
    };
    let parsed = match AuthorizationResponse::parse(&plaintext) {
        Ok(p) => p,
        Err(e) => return refuse("bad_response", &e.to_string()),
    };
    if parsed.state() != Some(answering.state.as_str()) {
        return refuse(
            "state_mismatch",
            "the response's state is not the request's",
        );
    }
    let vp_token = match parsed {
        AuthorizationResponse::Error { error, .. } => {
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            logins.finish(&answering.id, Outcome::Rejected { error });
            return no_store(Json(json!({})).into_response());
        }
        AuthorizationResponse::Presentations { vp_token, .. } => vp_token,
    };
    let query = logins.dcql_query();
    if let Err(e) = check_answers(&query, &vp_token) {
        return refuse("dcql_unanswered", &e.to_string());
    }
    let Some(presentation) = vp_token
        .iter()
        .find(|(id, _)| id == CREDENTIAL_QUERY_ID)
        .and_then(|(_, p)| p.first())
    else {
        return refuse("dcql_unanswered", "no presentation of the worker ID");
    };

    // The gate's decision, with the login's audience, nonce and claims.
    let gate = state.gate();
    let policy = logins.policy(&answering.nonce);
    let expectation = Expectation {
        policy: &policy,
        accepted_vct: &logins.config.accepted_vct,
        disclose: &logins.config.claims,
        mode: "login",
        refuse_after_verify: None,
        challenge: None,
    };
    let decision = check_presentation(
        &gate,
        &state.decision_context(),
        presentation,
        &expectation,
        now,
    );
    state
        .log
        .record(Entry {
            time: now,
            gate: format!("{}/login", gate.config.gate_id),
            decision: decision.word(),
            reason: decision.reason.to_owned(),
            issuer: decision.issuer.clone(),
            credential_status: decision.credential_status,
            credential_hash: decision.credential_hash.clone(),
            claims: decision.kept_claims.clone(),
            replay: decision.replay,
        })
        .await;
    if !decision.allow {
        return refuse(decision.reason, decision.reason);
    }
    tracing::info!(decision = "allow", reason = "ok", "login");
    logins.finish(
        &answering.id,
        Outcome::Accepted {
            claims: decision.disclosed,
            issuer: decision.issuer.unwrap_or_default(),
        },
    );
    no_store(Json(json!({})).into_response())
}

/// The JSON a page learns about its login.
fn result_json(outcome: Option<&Outcome>, continue_url: Option<String>) -> Value {
    match outcome {
        None => json!({"result": "pending"}),
        Some(Outcome::Accepted { claims, .. }) => {
            let mut out = json!({"result": "accepted", "claims": claims});
            if let Some(url) = continue_url {
                out["continue"] = json!(url);
            }
            out
        }
        Some(Outcome::Rejected { error }) => json!({"result": "rejected", "error": error}),
    }
}

/// Waits until the login of `transaction` ends (or `limit`); `None` for an unknown one.
async fn wait_for(logins: &Logins, transaction: &str, limit: Duration) -> Option<Value> {
    let (mut rx, expires) = logins.watch(transaction)?;
    let until_expiry = Duration::from_secs(expires.saturating_sub(system_now()) + 1);
    let waited = tokio::time::timeout(limit.min(until_expiry), async {
        rx.wait_for(Option::is_some).await.map(|o| o.clone()).ok()
    })
    .await;
    let outcome = match waited {
        Ok(Some(outcome)) => outcome,
        _ => rx.borrow().clone(),
    };
    let continue_url = format!(
        "/authorize/continue?transaction={}",
        form_encode(transaction)
    );
    let expired = outcome.is_none() && system_now() > expires;
    Some(if expired {
        json!({"result": "rejected", "error": "expired"})
    } else {
        result_json(outcome.as_ref(), Some(continue_url))
    })
}

async fn events(State(state): State<Arc<AppState>>, Path(transaction): Path<String>) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return oauth_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "login is not configured",
        );
    };
    if logins.watch(&transaction).is_none() {
        return oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "unknown login transaction",
        );
    }
    let state = state.clone();
    let stream = futures_util::stream::once(async move {
        let value = match state.login.as_ref() {
            Some(logins) => wait_for(logins, &transaction, Duration::from_secs(3600)).await,
            None => None,
        }
        .unwrap_or_else(|| json!({"result": "rejected", "error": "expired"}));
        Ok::<Event, Infallible>(Event::default().event("result").data(value.to_string()))
    });
    no_store(
        Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response(),
    )
}

#[derive(Deserialize)]
struct PollQuery {
    wait: Option<u64>,
}

async fn long_poll(
    State(state): State<Arc<AppState>>,
    Path(transaction): Path<String>,
    Query(query): Query<PollQuery>,
) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    let wait = Duration::from_secs(query.wait.unwrap_or(0).min(25));
    match wait_for(logins, &transaction, wait).await {
        Some(value) => no_store(Json(value).into_response()),
        None => oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "unknown login transaction",
        ),
    }
}

async fn did_document(State(state): State<Arc<AppState>>) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    use govid_core::jose::Signer as _;
    let key = logins.config.signer.public_key();
    match govid_core::did::did_web_document(
        &logins.config.did,
        &[(super::config::KEY_FRAGMENT, key)],
    ) {
        Ok(doc) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/did+json"),
            )],
            Json(doc),
        )
            .into_response(),
        Err(_) => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "no DID document",
        ),
    }
}

async fn openid_configuration(State(state): State<Arc<AppState>>) -> Response {
    match state.login.as_ref() {
        Some(l) => Json(discovery(&l.config)).into_response(),
        None => not_configured(),
    }
}

async fn jwks_route(State(state): State<Arc<AppState>>) -> Response {
    match state.login.as_ref() {
        Some(l) => Json(jwks(&l.config)).into_response(),
        None => not_configured(),
    }
}

/// A page saying what went wrong, for errors that must not redirect (RFC 6749 §4.1.2.1).
fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Login error</title>\
         <body><h1>Login error</h1><p id=\"error\">{}</p></body></html>",
        html_escape(message)
    );
    no_store(
        (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP),
                ),
            ],
            body,
        )
            .into_response(),
    )
}

/// `redirect_uri?…` with the parameters appended (RFC 6749 §4.1.2).
fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = redirect_uri.to_owned();
    for (name, value) in params {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(name);
        url.push('=');
        url.push_str(&form_encode(value));
    }
    no_store(Redirect::to(&url).into_response())
}

/// `GET /authorize`: the OpenID Connect authorization request; shows the login page.
async fn authorize(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    let pairs = match query_pairs(uri.query().unwrap_or_default()) {
        Ok(p) => p,
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "the request's query is malformed"),
    };
    let one = |name: &str| {
        let mut values = pairs.iter().filter(|(n, _)| n == name);
        match (values.next(), values.next()) {
            (Some((_, v)), None) => Ok(Some(v.clone())),
            (None, _) => Ok(None),
            _ => Err(name.to_owned()),
        }
    };
    let (client_id, redirect_uri) = match (one("client_id"), one("redirect_uri")) {
        (Ok(Some(c)), Ok(Some(r))) => (c, r),
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "client_id and redirect_uri are required, once each",
            )
        }
    };
    let Some(client) = logins.config.client(&client_id) else {
        return error_page(StatusCode::BAD_REQUEST, "unknown client_id");
    };
    if !client.redirect_uris.contains(&redirect_uri) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not registered for this client",
        );
    }
    let mut values = Map::new();
    for name in [
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
        "prompt",
    ] {
        match one(name) {
            Ok(Some(v)) => {
                values.insert(name.to_owned(), Value::String(v));
            }
            Ok(None) => {}
            Err(_) => {
                return redirect_with(
                    &redirect_uri,
                    &[
                        ("error", "invalid_request"),
                        ("error_description", "a parameter appears twice"),
                    ],
                )
            }
        }
    }
    let text = |name: &str| values.get(name).and_then(Value::as_str).map(str::to_owned);
    let client_state = text("state");
    let fail = |error: &str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(s) = &client_state {
            params.push(("state", s.as_str()));
        }
        let iss = logins.config.public_url.clone();
        params.push(("iss", iss.as_str()));
        redirect_with(&redirect_uri, &params)
    };
    if text("response_type").as_deref() != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    if !text("scope").is_some_and(|s| s.split(' ').any(|v| v == "openid")) {
        return fail("invalid_scope", "scope must include openid");
    }
    if text("request").is_some() || text("request_uri").is_some() {
        return fail("request_not_supported", "request objects are not supported");
    }
    let Some(code_challenge) = text("code_challenge") else {
        return fail(
            "invalid_request",
            "PKCE is required: code_challenge is missing",
        );
    };
    if text("code_challenge_method").as_deref() != Some("S256") || code_challenge.len() != 43 {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    if text("prompt").as_deref() == Some("none") {
        return fail(
            "login_required",
            "a login with the worker ID always asks the user",
        );
    }
    let authorize = Authorize {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        state: client_state.clone(),
        nonce: text("nonce"),
        code_challenge,
    };
    match logins.create(peer.ip(), Some(authorize), system_now()) {
        Ok(created) => page(logins, &created, Some(&client.client_id)),
        Err(e) => refusal(e),
    }
}

#[derive(Deserialize)]
struct ContinueQuery {
    transaction: String,
}

/// `GET /authorize/continue?transaction=T`: the page's browser, once its login ended, goes back
/// to the client with a code (or the error).
async fn authorize_continue(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ContinueQuery>,
) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    let Some((outcome, authorize)) = logins.take(&query.transaction) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "this login is unknown, not finished or already used",
        );
    };
    let Some(authorize) = authorize else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "this login was not started by an application",
        );
    };
    let Some(client) = logins.config.client(&authorize.client_id) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "the application is no longer registered",
        );
    };
    let iss = logins.config.public_url.clone();
    let mut params: Vec<(&str, String)> = Vec::new();
    match outcome {
        Outcome::Accepted { claims, issuer } => {
            let Some(code) = logins.oidc.issue_code(
                client,
                &authorize.redirect_uri,
                &authorize.code_challenge,
                authorize.nonce.clone(),
                &claims,
                &issuer,
                system_now(),
            ) else {
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the login service is busy: try again",
                );
            };
            params.push(("code", code));
        }
        Outcome::Rejected { error } => {
            params.push(("error", "access_denied".to_owned()));
            params.push((
                "error_description",
                format!("the worker ID was not accepted: {error}"),
            ));
        }
    }
    if let Some(s) = &authorize.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", iss));
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
    redirect_with(&authorize.redirect_uri, &borrowed)
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: each part form-urlencoded).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = govid_core::url::percent_decode(id).ok()?;
    let secret = govid_core::url::percent_decode(secret).ok()?;
    Some((id, secret))
}

async fn token(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    let bytes = match read_limited(&headers, body, MAX_FORM_BODY).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fields = match form_fields(&headers, &bytes) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let basic = basic_credentials(&headers);
    if basic.is_some() && field(&fields, "client_secret").is_some() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "use one client authentication method",
        );
    }
    let (client_id, client_secret) = match &basic {
        Some((id, secret)) => (Some(id.as_str()), Some(secret.as_str())),
        None => (field(&fields, "client_id"), field(&fields, "client_secret")),
    };
    let request = TokenRequest {
        grant_type: field(&fields, "grant_type"),
        code: field(&fields, "code"),
        redirect_uri: field(&fields, "redirect_uri"),
        code_verifier: field(&fields, "code_verifier"),
        client_id,
        client_secret,
    };
    match logins.oidc.token(&logins.config, &request, system_now()) {
        Ok(answer) => no_store(Json(answer).into_response()),
        Err(e) => {
            let status = if e.code() == "invalid_client" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            let mut response = oauth_error(status, e.code(), e.description());
            if status == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"govid login\""),
                );
            }
            response
        }
    }
}

async fn userinfo(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(logins) = state.login.as_ref() else {
        return not_configured();
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    match token.and_then(|t| logins.oidc.userinfo(&t, system_now())) {
        Some(claims) => no_store(Json(claims).into_response()),
        None => {
            let mut response = oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is unknown or expired",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        }
    }
}

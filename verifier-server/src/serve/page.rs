//! The scanning page and its assets, embedded in the binary (no CDN: the gate works offline).
//!
//! `GET /` is the page; `/static/*` its script, style, its strings (one table per language,
//! `static/i18n/en.json` and `ko.json`, keyed the same) and the vendored jsQR decoder
//! (`static/vendor/README.md` says where it comes from). The page takes its language from
//! `/healthz` `language` (`[gate] language`), else from the browser's `navigator.languages`.

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

const INDEX: &str = include_str!("../../static/index.html");
const APP_JS: &str = include_str!("../../static/app.js");
const APP_CSS: &str = include_str!("../../static/app.css");
const I18N_EN: &str = include_str!("../../static/i18n/en.json");
const I18N_KO: &str = include_str!("../../static/i18n/ko.json");
const JSQR_JS: &str = include_str!("../../static/vendor/jsQR.js");
const JSQR_LICENSE: &str = include_str!("../../static/vendor/jsQR.LICENSE");

/// Only this origin's scripts, styles and API; `data:` images for the challenge QR.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; media-src 'self' blob:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/",
            get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/static/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/static/i18n/en.json",
            get(|| async { asset(I18N_EN, "application/json; charset=utf-8") }),
        )
        .route(
            "/static/i18n/ko.json",
            get(|| async { asset(I18N_KO, "application/json; charset=utf-8") }),
        )
        .route(
            "/static/vendor/jsQR.js",
            get(|| async { asset(JSQR_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/static/vendor/jsQR.LICENSE",
            get(|| async { asset(JSQR_LICENSE, "text/plain; charset=utf-8") }),
        )
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
            ),
        ],
        body,
    )
        .into_response()
}

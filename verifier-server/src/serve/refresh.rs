//! The background refresher: fetches did:web documents and status lists over HTTP(S) with
//! timeouts and size limits, checks them, and puts good copies in the [`Cache`]. A failure keeps
//! the last good copy. The verify path never waits for this.

use std::sync::Arc;
use std::time::Duration;

use govid_core::did::{DidDocument, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_DEPTH};
use govid_core::jose::Algorithm;
use govid_core::status::verify_status_list_token;
use govid_core::tlog::Entry;

use super::cache::Cache;
use super::transparency::{sha256, LogGuard, Refused, PROOF_SUFFIX};
use super::{AppState, Gate};
use crate::fetch::{get_bounded, FetchError};
use crate::input::system_now;

/// Largest status list token fetched.
const MAX_STATUS_TOKEN_BYTES: u64 = 4 * 1024 * 1024;
/// Largest inclusion proof fetched (64 hashes and a checkpoint with cosignatures fit easily).
const MAX_PROOF_BYTES: u64 = 64 * 1024;
/// How soon a failed fetch is tried again (capped by the refresh interval).
const RETRY_SECS: u64 = 10;
/// How often the refresher looks for due work.
const TICK: Duration = Duration::from_secs(1);

/// Runs until `shutdown` fires.
pub(crate) async fn run(state: Arc<AppState>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let gate = state.gate();
        refresh_due(&gate, &state.cache).await;
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = state.refresh_now.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Fetches everything that is due: never fetched, failed and due for a retry, or older than the
/// refresh interval (or the status token's own `ttl`/`exp`).
pub(crate) async fn refresh_due(gate: &Arc<Gate>, cache: &Arc<Cache>) {
    let now = system_now();
    let interval = gate.config.status_refresh.as_secs();
    let retry = RETRY_SECS.min(interval);
    let docs = cache.doc_states();
    for web in &gate.trust.web_dids {
        let due = match docs.get(&web.canonical_url) {
            None => true,
            Some(f) if f.value.is_some() && f.last_error.is_none() => {
                now >= f.fetched_at + interval
            }
            Some(f) => now >= f.attempted_at + retry,
        };
        if !due {
            continue;
        }
        let url = web.fetch_url.clone();
        let timeout = gate.config.fetch_timeout;
        let limit = DEFAULT_MAX_DOCUMENT_BYTES as u64;
        let body = tokio::task::spawn_blocking(move || {
            fetch(
                &url,
                limit,
                timeout,
                "application/did+json, application/json",
            )
        })
        .await
        .unwrap_or_else(|e| Err(format!("fetch task: {e}")));
        let now = system_now();
        let checked = body.and_then(|body| {
            DidDocument::parse(&web.did, &body, DEFAULT_MAX_DOCUMENT_DEPTH)
                .map(|_| body)
                .map_err(|e| format!("invalid DID document: {e}"))
        });
        match checked {
            Ok(body) => {
                tracing::info!(did = %web.did, "DID document fetched");
                cache.put_doc(&web.canonical_url, body, now);
            }
            Err(error) => {
                tracing::warn!(did = %web.did, %error, "DID document refresh failed; keeping the last good copy");
                cache.doc_failed(&web.canonical_url, error, now);
            }
        }
    }

    let mut uris: Vec<String> = gate.config.status_lists.clone();
    if gate.config.fetch_discovered {
        for uri in cache.discovered() {
            if !uris.contains(&uri) {
                uris.push(uri);
            }
        }
    }
    let snapshot = cache.status_snapshot();
    for uri in uris {
        let due = match snapshot.get(&uri) {
            None => true,
            Some(f) => match &f.value {
                Some(list) if f.last_error.is_none() => {
                    let by_token = list.refresh_due_at(f.fetched_at).unwrap_or(u64::MAX);
                    now >= (f.fetched_at + interval).min(by_token)
                }
                _ => now >= f.attempted_at + retry,
            },
        };
        if !due {
            continue;
        }
        let fetch_uri = uri.clone();
        let timeout = gate.config.fetch_timeout;
        let body = tokio::task::spawn_blocking(move || {
            fetch(
                &fetch_uri,
                MAX_STATUS_TOKEN_BYTES,
                timeout,
                "application/statuslist+jwt",
            )
        })
        .await
        .unwrap_or_else(|e| Err(format!("fetch task: {e}")));
        let now = system_now();
        let verified = body.and_then(|body| {
            let text =
                String::from_utf8(body).map_err(|_| "status list is not UTF-8".to_owned())?;
            verify_status_list_token(text.trim(), &gate.trust, &uri, now, &Algorithm::ALL)
                .map(|list| (list, text))
                .map_err(|e| format!("status list token: {} ({e})", e.rule()))
        });
        let verified = match (verified, &gate.trust.log) {
            (Ok((list, text)), Some(log)) => {
                let logged = check_in_log(log, &uri, &list, text.trim(), timeout).await;
                cache.set_log_verdict(
                    &uri,
                    logged.as_ref().err().map_or("ok", |r| r.reason.code()),
                );
                logged
                    .map(|()| list)
                    .map_err(|refused| format!("log: {refused}"))
            }
            (verified, _) => verified.map(|(list, _)| list),
        };
        let now = system_now();
        match verified {
            Ok(list) => {
                tracing::info!(%uri, iat = list.iat(), "status list fetched");
                cache.put_status(list, now);
            }
            Err(error) => {
                tracing::warn!(%uri, %error, "status list refresh failed; keeping the last good copy");
                cache.status_failed(&uri, error, now);
            }
        }
    }
}

/// Fetches `<uri>.tlog-proof` and checks it includes this exact token's entry.
async fn check_in_log(
    log: &Arc<LogGuard>,
    uri: &str,
    list: &govid_core::status::VerifiedStatusList,
    token: &str,
    timeout: Duration,
) -> Result<(), Refused> {
    let proof_url = format!("{uri}{PROOF_SUFFIX}");
    let proof = tokio::task::spawn_blocking(move || {
        fetch(&proof_url, MAX_PROOF_BYTES, timeout, "text/plain")
    })
    .await
    .unwrap_or_else(|e| Err(format!("fetch task: {e}")));
    if let Err(error) = &proof {
        tracing::warn!(%uri, %error, "no inclusion proof for the status list");
    }
    let entry = Entry::StatusList {
        uri: uri.to_owned(),
        iat: list.iat(),
        sha256: sha256(token.as_bytes()),
    };
    log.check(&entry, proof.ok().as_deref())
}

/// One GET of an http(s) URL with a global timeout, at most 3 redirects and a body limit.
fn fetch(url: &str, limit: u64, timeout: Duration, accept: &str) -> Result<Vec<u8>, String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err("only http(s) URLs are fetched".to_owned());
    }
    get_bounded(url, limit, timeout, accept, false).map_err(|e| match e {
        FetchError::Request(e) => format!("fetch failed: {e}"),
        FetchError::Read(e) => format!("read failed: {e}"),
        FetchError::TooLarge(limit) => format!("larger than {limit} bytes"),
    })
}

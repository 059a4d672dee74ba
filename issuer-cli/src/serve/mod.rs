//! `govid-issuer serve`: the OpenID4VCI 1.0 issuer (pre-authorized code flow, optional or
//! required DPoP) over the issuer directory, as an HTTP service (axum on tokio).
//!
//! - [`http`]: the routes, their hardening (body limit, per-client rate limit, request timeout,
//!   security headers) and the protocol checks; [`error`]: the protocol's error answers;
//! - [`db`]: the database steps (tokens, used nonces and DPoP `jti`s, enrollment, issuance,
//!   deliveries), so a second instance and a restarted one honour what the first handed out;
//! - [`writer`]: group commit: one thread writes every request's step into shared
//!   transactions (one fsync for many requests) and answers each request once its batch is on
//!   disk; the CLI takes turns with it on the same directory;
//! - [`nonce`]: stateless `c_nonce`s (a MAC over their expiry), used up in the credential
//!   request's own transaction;
//! - [`offer`]: the offers `offer` makes; [`secret`]: random secrets and the hashes stored;
//! - [`listen`]: the accept loop (header read timeout, connection cap, graceful shutdown);
//!   [`body`]: the response body that reports a credential delivered;
//! - [`fault`]: named pause points for the crash tests (debug builds only).
//!
//! The issuer key is read at start: after `rotate-key`, restart the service.

pub(crate) mod body;
pub(crate) mod db;
pub(crate) mod error;
pub(crate) mod fault;
pub(crate) mod http;
pub(crate) mod listen;
pub(crate) mod nonce;
pub(crate) mod offer;
pub(crate) mod secret;
pub(crate) mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::db::Connection;
use govid_core::jose::Algorithm;

use crate::error::{CliError, CliResult};
use crate::issuer::Issuer;
use crate::keys::IssuerSigner;
use crate::output::Report;
use crate::store;

/// What the handlers share.
pub(crate) struct AppState {
    /// Every state change goes through it (group commit).
    pub(crate) writer: writer::Writer,
    /// Read connections for lookups.
    readers: Readers,
    /// Makes and checks `c_nonce`s.
    pub(crate) nonce_key: nonce::NonceKey,
    pub(crate) signer: IssuerSigner,
    pub(crate) did: String,
    pub(crate) name: String,
    pub(crate) status_base: String,
    pub(crate) list_capacity: usize,
    /// The Credential Issuer Identifier, without a trailing slash.
    pub(crate) public_url: String,
    pub(crate) require_dpop: bool,
    /// Longest validity of an ID issued here, in days (as `issue`'s default).
    pub(crate) max_days: u32,
    pub(crate) limiter: govid_core::ratelimit::RateLimiter,
    /// Reverse proxies whose `X-Forwarded-For` is believed ([`ClientLimits`]).
    pub(crate) trusted_proxies: Vec<std::net::IpAddr>,
    /// The status list's used indices, kept between issuances (used by the writer thread only).
    pub(crate) list_cache: Mutex<Option<crate::cmd::issue::ListCache>>,
}

/// Idle read connections, opened as needed (WAL: reads do not wait for the writer).
struct Readers {
    dir: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Idle read connections kept at most.
const MAX_IDLE_READERS: usize = 16;

impl AppState {
    /// Runs `f` on a read connection (call it on a blocking thread). It sees the last commit.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, error::ApiError>,
    ) -> Result<T, error::ApiError> {
        let idle = || {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let taken = idle().pop();
        let conn = match taken {
            Some(conn) => conn,
            None => store::open_reader(&self.readers.dir)?,
        };
        let result = f(&conn);
        let mut idle = idle();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    /// Runs `f` on this thread's own read connection, on the calling thread: for a lookup of a
    /// row by key on an async worker (a few microseconds; a WAL reader does not wait for the
    /// writer), without a hop to the blocking pool.
    pub(crate) fn read_here<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, error::ApiError>,
    ) -> Result<T, error::ApiError> {
        thread_local! {
            static READER: std::cell::RefCell<Option<(PathBuf, Connection)>> =
                const { std::cell::RefCell::new(None) };
        }
        READER.with(|cell| {
            let mut slot = cell.borrow_mut();
            let stale = slot
                .as_ref()
                .is_none_or(|(dir, _)| *dir != self.readers.dir);
            if stale {
                let conn = store::open_reader(&self.readers.dir)?;
                // Should the WAL ever be locked (its recovery), wait briefly, not 10 s.
                conn.busy_timeout(std::time::Duration::from_millis(200))
                    .map_err(crate::error::CliError::from)?;
                *slot = Some((self.readers.dir.clone(), conn));
            }
            match slot.as_ref() {
                Some((_, conn)) => f(conn),
                None => Err(error::ApiError::from(CliError::new(
                    "internal",
                    "no read connection",
                ))),
            }
        })
    }

    /// The issuer key's algorithm.
    pub(crate) fn alg(&self) -> Algorithm {
        govid_core::jose::Signer::algorithm(&self.signer)
    }
}

/// Checks `--public-url`: `https://…`, or `http://` on a loopback host (tests, a reverse proxy
/// on the same machine); no query or fragment.
fn check_public_url(url: &str) -> CliResult<String> {
    let url = url.trim_end_matches('/');
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|r| r.is_empty() || r.starts_with([':', '/']))
        });
    if !(url.starts_with("https://") || loopback) || url.contains(['?', '#', ' ']) {
        return Err(CliError::usage(
            "--public-url must be an https:// URL (http:// only on 127.0.0.1 or localhost), \
             without query or fragment",
        ));
    }
    Ok(url.to_owned())
}

/// How the service tells clients apart and how many requests each may make.
#[derive(Clone, Debug)]
pub(crate) struct ClientLimits {
    /// Requests per second per client address (0: no limit); bursts of four times that.
    pub(crate) per_sec: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (the last address in it, the
    /// one the proxy itself added). Other peers are the client themselves.
    pub(crate) trusted_proxies: Vec<std::net::IpAddr>,
}

/// Runs the service until Ctrl-C or SIGTERM; prints `listening on ADDR` once bound.
pub(crate) fn run(
    dir: &Path,
    listen: std::net::SocketAddr,
    public_url: &str,
    require_dpop: bool,
    clients: ClientLimits,
) -> CliResult<Report> {
    let public_url = check_public_url(public_url)?;
    let issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    store::set_meta(&issuer.conn, offer::PUBLIC_URL_KEY, &public_url)?;
    // A credential is handed to a phone as soon as its transaction commits, so the commit must
    // be on disk first: with `synchronous=NORMAL` (the CLI's setting, whose output is files HR
    // hands out later) a power cut could lose a status index a phone already holds, and it could
    // then be given to someone else. FULL syncs the WAL at every commit.
    issuer.conn.pragma_update("synchronous", "FULL")?;
    if issuer.conn.sqlite().is_some() {
        issuer.conn.execute_batch(store::VCI_SERVE_SCHEMA)?;
    }
    let Issuer {
        mut conn,
        did,
        name,
        status_base,
        list_capacity,
        dir,
        ..
    } = issuer;
    let nonce_key = nonce::NonceKey::load_or_create(&mut conn)?;
    let (writer, writer_thread) = writer::Writer::start(conn, store::open_side(&dir)?)?;
    let state = AppState {
        writer,
        readers: Readers {
            dir,
            idle: Mutex::new(Vec::new()),
        },
        nonce_key,
        signer,
        did,
        name,
        status_base,
        list_capacity,
        public_url,
        require_dpop,
        max_days: 365,
        limiter: govid_core::ratelimit::RateLimiter::new(
            clients.per_sec,
            clients.per_sec.saturating_mul(4),
        ),
        trusted_proxies: clients.trusted_proxies,
        list_cache: Mutex::new(None),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new("runtime", format!("cannot start the service: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| CliError::new("listen", format!("cannot listen on {listen}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| CliError::new("listen", e.to_string()))?;
        println!("listening on {local}");
        let app = http::router(std::sync::Arc::new(state));
        listen::serve(listener, app, listen::shutdown_signal()).await;
        Ok::<_, CliError>(())
    })?;
    // The runtime is gone with every request and the state: the writer ends after the last
    // batch (deliveries recorded after their response went out).
    drop(runtime);
    let stats = writer_thread.join().unwrap_or_default();
    Ok(Report::new(
        serde_json::json!({"stopped": true, "steps": stats.steps,
            "transactions": stats.transactions, "largest_transaction": stats.largest,
            "failed_transactions": stats.failed}),
        format!(
            "Stopped. {} request steps recorded in {} transactions (at most {} in one){}.",
            stats.steps,
            stats.transactions,
            stats.largest,
            if stats.failed > 0 {
                format!("; {} transactions failed", stats.failed)
            } else {
                String::new()
            }
        ),
    ))
}

//! The accept loop: HTTP/1.1 (hyper) with a header read timeout, caps on open connections (in
//! all and per client) and graceful shutdown.
//!
//! `axum::serve` sets no header read timeout, so a client that sends its request headers a byte
//! at a time would hold a connection forever; here each request's headers must arrive within
//! `header_read_timeout` (10 s by default; the body and the handler are bounded by the router's
//! request timeout). At most `max_connections` connections are open at once; further ones are closed at
//! accept. One client ([`client_key`]: an IPv4 address or an IPv6 /64) may hold at most
//! `max_connections_per_client` of them, so it cannot take every slot: its next connection gets
//! one answer, 429 `{"error": "client_connection_limit"}` with `Retry-After: 1`, and is closed
//! (that answer holds one of the `max_connections` slots while it is sent). On shutdown the
//! listener stops accepting, open connections finish their request in flight and close, and
//! after [`SHUTDOWN_GRACE`] the rest are dropped.
//!
//! With [`Tls`] (`tls_cert` and `tls_key`), every connection is HTTPS: TLS 1.2 or 1.3 (rustls,
//! ring), ALPN `http/1.1`. The connection counts against both caps from its accept, and its
//! handshake must finish within `header_read_timeout` too (then its headers get the same time
//! again), so a client that connects and never finishes the handshake holds its slot no longer
//! than one that never sends its headers. A client over its cap gets its 429 over TLS.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower_service::Service as _;

use super::client::client_key;
use super::config::{GateConfig, TlsFiles};
use super::http::error;

/// How long shutdown waits for open connections.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The accept loop's limits (read once at start).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Open connections in all.
    pub(crate) max_connections: usize,
    /// Open connections of one client.
    pub(crate) max_connections_per_client: usize,
    /// Time for a request's headers to arrive.
    pub(crate) header_read_timeout: Duration,
}

impl Limits {
    /// The limits `config` sets.
    pub(crate) fn from_config(config: &GateConfig) -> Self {
        Self {
            max_connections: config.max_connections,
            max_connections_per_client: config.max_connections_per_client,
            header_read_timeout: config.header_read_timeout,
        }
    }
}

/// Open connections per client. It holds only clients with a connection open, so it is no
/// larger than `max_connections`.
#[derive(Debug, Default)]
struct PerClient {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection of a client; dropping it frees the client's share.
struct ClientSlot {
    table: Arc<PerClient>,
    client: IpAddr,
}

impl PerClient {
    /// A slot for `client`, unless it already holds `max`.
    fn open(self: &Arc<Self>, client: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut open = self.lock();
        let count = open.entry(client).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            table: self.clone(),
            client,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.table.lock();
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// Largest certificate or key file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// HTTPS for every connection: the certificate chain and key read at start.
#[derive(Clone)]
pub(crate) struct Tls(TlsAcceptor);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The acceptor holds the private key.
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the PEM certificate chain and private key of `files` and checks that they belong
    /// together. The error names the file at fault, never the key's contents. A key file that
    /// its group or others may read is logged as a warning.
    pub(crate) fn load(files: &TlsFiles) -> Result<Self, String> {
        let chain = read_chain(&files.cert)?;
        let key = read_key(&files.key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let signing_key = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| format!("{}: not a usable private key: {e}", files.key.display()))?;
        let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
        match certified.keys_match() {
            // ring derives the public key of every key it loads; `Unknown` would mean it could
            // not, and then rustls itself accepts the pair.
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                return Err(format!(
                    "{}: this private key does not belong to the certificate in {} (the \
                     gate's own certificate comes first in the chain)",
                    files.key.display(),
                    files.cert.display()
                ))
            }
            // rustls words this as a peer's fault ("invalid peer certificate"); it is ours.
            Err(rustls::Error::InvalidCertificate(_)) => {
                return Err(format!(
                    "{}: the first certificate in it (the gate's own) is not a valid X.509 \
                     certificate",
                    files.cert.display()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "{}: not a usable certificate: {e}",
                    files.cert.display()
                ))
            }
        }
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self(TlsAcceptor::from(Arc::new(config))))
    }

    /// The TLS handshake on `stream`, bounded by `timeout`; `None` if it failed, timed out or
    /// the gate is stopping.
    async fn handshake(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        timeout: Duration,
        stopping: &mut watch::Receiver<bool>,
    ) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
        tokio::select! {
            done = tokio::time::timeout(timeout, self.0.accept(stream)) => match done {
                Ok(Ok(stream)) => Some(stream),
                Ok(Err(e)) => {
                    tracing::debug!(client = %peer.ip(), error = %e, "TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::debug!(client = %peer.ip(), "TLS handshake timed out");
                    None
                }
            },
            _ = stopping.wait_for(|stop| *stop) => None,
        }
    }
}

/// Reads at most [`MAX_PEM_BYTES`] of `path`.
fn read_pem_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(format!(
            "{}: larger than 1 MiB for a {what}",
            path.display()
        ));
    }
    Ok(bytes)
}

/// The certificates of the PEM file at `path`, in order.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read_pem_file(path, "certificate chain")?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{}: not a PEM certificate chain ({})",
                path.display(),
                pem_fault(&e)
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "{}: no certificate in it (PEM `BEGIN CERTIFICATE`)",
            path.display()
        ));
    }
    Ok(chain)
}

/// The private key of the PEM file at `path` (PKCS#8, RSA or SEC1).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read_pem_file(path, "private key")?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(key) => {
            warn_if_others_may_read(path);
            Ok(key)
        }
        Err(pem::Error::NoItemsFound) => {
            let has = |label: &str| {
                let marker = format!("-----BEGIN {label}-----");
                bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
            };
            Err(if has("ENCRYPTED PRIVATE KEY") {
                format!(
                    "{}: the private key is encrypted; the gate needs it unencrypted, in a file \
                     only the gate's user can read",
                    path.display()
                )
            } else if has("CERTIFICATE") {
                format!(
                    "{}: a certificate, not a private key (--tls-key / tls_key names the key, \
                     --tls-cert / tls_cert the certificate)",
                    path.display()
                )
            } else {
                format!(
                    "{}: no private key in it (PEM `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` \
                     or `BEGIN EC PRIVATE KEY`)",
                    path.display()
                )
            })
        }
        Err(e) => Err(format!(
            "{}: not a PEM private key ({})",
            path.display(),
            pem_fault(&e)
        )),
    }
}

/// What is wrong with a PEM file, without any of its contents (a key file's lines are secret).
fn pem_fault(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a malformed BEGIN line",
        pem::Error::Base64Decode(_) => "bad base64",
        pem::Error::SectionTooLarge => "a section is too large",
        _ => "unreadable",
    }
}

/// Logs a warning if the group or others may read the key file at `path`.
fn warn_if_others_may_read(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(metadata) = std::fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o044 != 0 {
                tracing::warn!(
                    key = %path.display(),
                    "the TLS private key file is readable by its group or others (mode {mode:o}); \
                     make it readable by the gate's user only (chmod 600)"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// What a connection is answered with.
enum Answer {
    /// The gate's routes; the client's slot is freed when the connection ends.
    App(Router, ClientSlot),
    /// One 429: the client holds its share of connections already.
    OverClientCap,
}

/// The one answer a client over its connection cap gets.
fn over_client_cap() -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "client_connection_limit");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    // Tells TLS handshakes in progress that the gate is stopping (they are no connection yet,
    // so `graceful` does not reach them).
    let (stopping_tx, stopping) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = Arc::new(PerClient::default());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing a new connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let answer = match per_client.open(client_key(peer.ip()), limits.max_connections_per_client)
        {
            Some(slot) => Answer::App(app.clone(), slot),
            None => {
                tracing::debug!(client = %peer.ip(), "client connection limit reached; refusing");
                Answer::OverClientCap
            }
        };
        // Subscribed now, before any shutdown, so the connection sees it whenever it starts.
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(TokioIo::new(stream), peer, answer, limits, watcher).await,
                Some(tls) => {
                    let handshake =
                        tls.handshake(stream, peer, limits.header_read_timeout, &mut stopping);
                    if let Some(stream) = handshake.await {
                        serve_connection(TokioIo::new(stream), peer, answer, limits, watcher).await;
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open after the shutdown grace period; dropping them");
        }
    }
}

/// Serves one connection (plain or TLS) with `answer` until it closes or shutdown ends it.
async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    answer: Answer,
    limits: Limits,
    watcher: Watcher,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    match answer {
        Answer::OverClientCap => {
            let service = hyper::service::service_fn(|_request: hyper::Request<Incoming>| async {
                Ok::<_, std::convert::Infallible>(over_client_cap())
            });
            let connection = builder.keep_alive(false).serve_connection(io, service);
            let _ = watcher.watch(connection).await;
        }
        Answer::App(app, slot) => {
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    let mut app = app.clone();
                    async move { app.call(request.map(Body::new)).await }
                });
            let connection = builder.serve_connection(io, service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        }
    }
}

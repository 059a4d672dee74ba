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
//! (that answer holds one of the `max_connections` slots while it is sent). On shutdown the listener stops accepting, open connections finish their request in
//! flight and close, and after [`SHUTDOWN_GRACE`] the rest are dropped.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
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
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_service::Service as _;

use super::client::client_key;
use super::config::GateConfig;
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

/// The one answer a client over its connection cap gets.
fn over_client_cap() -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "client_connection_limit");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Serves `app` on `listener` until `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
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
        let Some(slot) = per_client.open(client_key(peer.ip()), limits.max_connections_per_client)
        else {
            tracing::debug!(client = %peer.ip(), "client connection limit reached; refusing");
            let service = hyper::service::service_fn(|_request: hyper::Request<Incoming>| async {
                Ok::<_, std::convert::Infallible>(over_client_cap())
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
                drop(permit);
            });
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            let mut app = app.clone();
            async move { app.call(request.map(Body::new)).await }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open after the shutdown grace period; dropping them");
        }
    }
}

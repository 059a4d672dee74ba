//! Named pause points inside a credential request, for the crash tests: in debug builds,
//! `GOVID_ISSUER_PAUSE_AT=<point>` makes the service print `paused at <point>` on standard
//! output when a request reaches that point, then hold the request for a minute so the test can
//! `kill -9` the process right there. Release builds compile the points to nothing and ignore
//! the variable.
//!
//! The points, in the order a credential request passes them:
//!
//! | point | what has happened |
//! | --- | --- |
//! | `credential:nonce-used` | the proof's `c_nonce` is marked used in the batch's transaction; nothing issued, nothing committed |
//! | `credential:issued-uncommitted` | key bound and credentials signed, transaction not committed |
//! | `credential:committed` | issued and recorded ("issued, not delivered"), no response yet |
//! | `credential:sent` | the response was sent whole; its delivery not yet recorded |
//!
//! The first two hold the writer thread (so the whole batch), inside its transaction.

/// Holds the request at `point` if `GOVID_ISSUER_PAUSE_AT` names it (debug builds only). Call
/// it on a blocking thread, never on the async workers.
#[cfg(debug_assertions)]
pub(crate) fn pause(point: &str) {
    if std::env::var("GOVID_ISSUER_PAUSE_AT").is_ok_and(|p| p == point) {
        println!("paused at {point}");
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

/// Release builds: nothing.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn pause(_point: &str) {}

/// [`pause`] from an async handler: on a blocking thread, only if `point` is the one named.
#[cfg(debug_assertions)]
pub(crate) async fn pause_async(point: &'static str) {
    if std::env::var("GOVID_ISSUER_PAUSE_AT").is_ok_and(|p| p == point) {
        let _ = tokio::task::spawn_blocking(move || pause(point)).await;
    }
}

/// Release builds: nothing.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) async fn pause_async(_point: &'static str) {}

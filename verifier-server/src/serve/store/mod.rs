//! Where the gate keeps what a fleet of gates must share: the replay store (one use per code)
//! and the gate log. Chosen by URL (`--store`, `[store] url`):
//!
//! - nothing, or a plain path: SQLite, one file per gate ([`super::gatelog`]); the replay keys
//!   live in the gate's memory and in that file, so a code is one-use at this gate only;
//! - `postgres://…` (or `postgresql://…`): one PostgreSQL database for the fleet
//!   ([`postgres`]). A code accepted by any gate is refused by every gate for its window.
//!
//! # The fleet check
//!
//! The in-memory replay cache answers first: a code this gate already saw is `replayed` without a
//! round trip. A code new to this gate is then claimed in the shared `replay_keys` table
//! (`INSERT … ON CONFLICT`, the claims of concurrent decisions batched into one statement)
//! before the gate answers, with a short timeout
//! (`[store] timeout_ms`, default 500). If another gate claimed it first, the answer is
//! `replayed`. If PostgreSQL does not answer in time, the gate decides with its own cache only
//! and says so: `"fleet_check": "degraded"` in the decision and `replay.fleet` in `/healthz`.
//! While degraded the gate does not wait on PostgreSQL per request; a background probe (every
//! [`PROBE_EVERY`]) brings it back to `ok`, and the keys accepted meanwhile are written to the
//! shared table with their log entries once it is reachable again.
//!
//! # The spool
//!
//! A fleet gate's log entries are committed to a local SQLite file first ([`spool`]), before the
//! decision is answered, and delivered from there to PostgreSQL in order and exactly once; so
//! nothing is lost while PostgreSQL is unreachable, nor when the gate crashes meanwhile.

pub(crate) mod postgres;
pub(crate) mod spool;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use self::postgres::PgStore;

/// How often a degraded gate probes PostgreSQL, and how often the fleet's expired replay keys
/// are deleted (by whichever gate gets there).
pub(crate) const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How often expired replay keys are deleted from the shared table.
pub(crate) const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The store a gate was configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoreUrl {
    /// A PostgreSQL connection URL (its password, if any, is never logged or shown).
    Postgres(PgUrl),
    /// A SQLite file: the same as `[log] db`.
    Sqlite(std::path::PathBuf),
}

/// A `postgres://` URL, checked to parse; `Debug` shows host and database only.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PgUrl(pub(crate) String);

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgUrl([elided])")
    }
}

impl StoreUrl {
    /// `postgres://…`/`postgresql://…` is PostgreSQL (it must parse); anything else is a path.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("[store] url is empty".to_owned());
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            // The parsers' messages never repeat the URL (it may hold a password).
            let (rest, _) = govid_pg_connect::split(text).map_err(|e| format!("[store] {e}"))?;
            rest.parse::<tokio_postgres::Config>()
                .map_err(|e| format!("[store] url: not a PostgreSQL URL: {e}"))?;
            return Ok(StoreUrl::Postgres(PgUrl(text.to_owned())));
        }
        if text.contains("://") {
            return Err(
                "[store] url: only postgres:// URLs or a SQLite file path are supported".to_owned(),
            );
        }
        Ok(StoreUrl::Sqlite(text.into()))
    }
}

/// What the fleet said about an allowed code new to this gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FleetCheck {
    /// No fleet: a single gate on SQLite.
    Local,
    /// The key was claimed for this gate: no other gate of the fleet accepted it.
    Fresh,
    /// Another gate (or this one, before a restart) already accepted it.
    Taken,
    /// PostgreSQL did not answer in time: decided with the local cache only.
    Degraded,
}

impl FleetCheck {
    /// The decision's `fleet_check` field (`None` without a fleet).
    pub(crate) fn word(self) -> Option<&'static str> {
        match self {
            FleetCheck::Local => None,
            FleetCheck::Fresh | FleetCheck::Taken => Some("ok"),
            FleetCheck::Degraded => Some("degraded"),
        }
    }
}

/// The replay store the gate shares with its fleet: nothing (SQLite, one gate), or PostgreSQL.
#[derive(Clone)]
pub(crate) enum ReplayStore {
    /// A single gate: the in-memory cache (and the SQLite gate log) is the whole story.
    Local,
    /// The fleet's shared table.
    Postgres(Arc<PgStore>),
}

impl ReplayStore {
    /// Claims `key` (accepted by this gate's own cache) for the fleet until `expires_at`.
    pub(crate) async fn claim(&self, key: &[u8; 32], expires_at: u64) -> FleetCheck {
        match self {
            ReplayStore::Local => FleetCheck::Local,
            ReplayStore::Postgres(pg) => pg.claim(key, expires_at).await,
        }
    }

    /// What `/healthz` says in `replay.fleet` (`None` without a fleet).
    pub(crate) fn fleet_word(&self) -> Option<&'static str> {
        match self {
            ReplayStore::Local => None,
            ReplayStore::Postgres(pg) => Some(if pg.health.is_ok() { "ok" } else { "degraded" }),
        }
    }

    /// A decision's `fleet_check` when no claim was made (denied before the replay stage).
    pub(crate) fn current(&self) -> FleetCheck {
        match self {
            ReplayStore::Local => FleetCheck::Local,
            ReplayStore::Postgres(pg) if pg.health.is_ok() => FleetCheck::Fresh,
            ReplayStore::Postgres(_) => FleetCheck::Degraded,
        }
    }
}

/// Whether PostgreSQL answered last time it was asked; changes are logged once.
#[derive(Debug)]
pub(crate) struct Health(AtomicBool);

impl Health {
    pub(crate) fn new(ok: bool) -> Self {
        Health(AtomicBool::new(ok))
    }

    pub(crate) fn is_ok(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Records an outcome; `what` names the failure (never a URL or a password).
    pub(crate) fn set(&self, ok: bool, what: &str) {
        let was = self.0.swap(ok, Ordering::Relaxed);
        match (was, ok) {
            (true, false) => tracing::warn!(
                error = what,
                "fleet store unreachable: deciding with this gate's replay cache only \
                 (fleet_check degraded)"
            ),
            (false, true) => tracing::info!("fleet store reachable again: fleet_check ok"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_is_postgres_and_a_path_is_sqlite() {
        assert!(matches!(
            StoreUrl::parse("postgres://gate@db.example:5432/govid?sslrootcert=/etc/ca.pem"),
            Ok(StoreUrl::Postgres(_))
        ));
        assert!(matches!(
            StoreUrl::parse("postgresql://gate@db.example/govid?sslmode=disable"),
            Ok(StoreUrl::Postgres(_))
        ));
        assert_eq!(
            StoreUrl::parse("/var/lib/govid/gate.db"),
            Ok(StoreUrl::Sqlite("/var/lib/govid/gate.db".into()))
        );
    }

    fn refused(text: &str) -> String {
        match StoreUrl::parse(text) {
            Err(e) => e,
            Ok(url) => panic!("accepted: {url:?}"),
        }
    }

    #[test]
    fn other_schemes_and_bad_urls_are_refused_without_echoing_the_url() {
        let err = refused("mysql://root:hunter2@db/govid");
        assert!(err.contains("only postgres://"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = refused("postgres://gate:hunter2@db:notaport/govid?sslmode=disable");
        assert!(err.contains("not a PostgreSQL URL"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(refused(" "), "[store] url is empty");
        let shown = format!("{:?}", PgUrl("postgres://gate:hunter2@db/govid".into()));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

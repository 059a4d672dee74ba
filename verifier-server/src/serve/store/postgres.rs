//! The fleet's PostgreSQL store: the shared replay keys and the central gate log.
//!
//! # Schema
//!
//! Versioned migrations ([`MIGRATIONS`]) run at start in one transaction under an advisory lock,
//! so gates starting together apply each version once; `schema_version` records what was
//! applied. A gate that finds a newer schema than it knows refuses to start.
//!
//! - `replay_keys (key bytea primary key, expires_at bigint)`: one row per accepted code, until
//!   its replay window ends (unix seconds); any gate deletes expired rows every
//!   [`super::PRUNE_EVERY`].
//! - `gate_log (id bigserial, time, gate, decision, reason, issuer, credential_status,
//!   credential_hash, claims)`: every gate's decisions, in the order each gate made them.
//!
//! # Gate log delivery
//!
//! Every entry is first committed to this gate's spool ([`super::spool`]) before the decision is
//! answered; [`deliver`] moves the spool's entries to `gate_log` in order, each carrying the
//! random `entry_id` it got in the spool (`ON CONFLICT (entry_id) DO NOTHING`), and deletes them
//! from the spool once PostgreSQL committed them. So an entry is in the central log exactly once
//! however often delivery is interrupted, and nothing is lost while PostgreSQL is unreachable or
//! when the gate crashes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{watch, Notify};

use super::super::gatelog::{static_status, Entry, LogFilter, Remembered, Row};
use super::spool::{Spool, Spooled, MAX_BATCH};
use super::{FleetCheck, Health, PgUrl};

/// Connections one gate holds.
const POOL_SIZE: usize = 8;

/// The schema, one step per version; never edit a released step, add one.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE replay_keys (
        key bytea PRIMARY KEY,
        expires_at bigint NOT NULL
     );
     CREATE INDEX replay_keys_expiry ON replay_keys (expires_at);
     CREATE TABLE gate_log (
        id bigserial PRIMARY KEY,
        time bigint NOT NULL,
        gate text NOT NULL,
        decision text NOT NULL,
        reason text NOT NULL,
        issuer text,
        credential_status text,
        credential_hash text,
        claims text
     );
     CREATE INDEX gate_log_time ON gate_log (time);
     CREATE INDEX gate_log_gate_time ON gate_log (gate, time);",
    ),
    // Each entry's id from its gate's spool: a delivery repeated after a crash adds nothing.
    (
        2,
        "ALTER TABLE gate_log ADD COLUMN entry_id bytea;
         CREATE UNIQUE INDEX gate_log_entry_id ON gate_log (entry_id);",
    ),
];

/// An arbitrary constant: the advisory lock gates take while migrating.
const MIGRATION_LOCK: i64 = 0x676f_7669_6400_0001;

/// A gate's handle on the fleet database.
pub(crate) struct PgStore {
    pool: Pool,
    /// How long a decision waits for the fleet check.
    timeout: Duration,
    pub(crate) health: Health,
    migrated: AtomicBool,
    /// Fleet claims waiting for the next batch, and whether a batch runner is at work.
    claims: std::sync::Mutex<Vec<Claim>>,
    claiming: AtomicBool,
}

/// A decision's replay key waiting to be claimed, and where its answer goes: `Ok(true)` the key
/// was new to the fleet, `Ok(false)` taken, `Err` PostgreSQL failed.
struct Claim {
    key: [u8; 32],
    expires_at: u64,
    answer: tokio::sync::oneshot::Sender<Result<bool, String>>,
}

/// Most claims sent in one statement.
const MAX_CLAIMS: usize = 512;

fn err(e: impl std::error::Error) -> String {
    // tokio-postgres' and deadpool's messages name the failure, never the password. The causes
    // are joined on: "error performing TLS handshake" alone does not say that the certificate
    // was refused, nor why.
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// PostgreSQL `text` cannot hold NUL: such an entry would fail its batch on every retry and hold
/// up the gate's spool for good. NUL becomes U+FFFD.
fn no_nul(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn unix(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl PgStore {
    /// A pool for `url`; connects lazily, so this succeeds while the database is down.
    pub(crate) fn new(url: &PgUrl, timeout: Duration) -> Result<Self, String> {
        let (config, tls, connector) = govid_pg_connect::config(&url.0, "govid-gate", timeout)
            .map_err(|e| format!("[store] {e}"))?;
        tracing::info!(sslmode = tls.mode.word(), "fleet store: TLS to PostgreSQL");
        let manager = Manager::from_config(
            config,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(err)?;
        Ok(Self {
            pool,
            timeout,
            health: Health::new(false),
            migrated: AtomicBool::new(false),
            claims: std::sync::Mutex::new(Vec::new()),
            claiming: AtomicBool::new(false),
        })
    }

    /// Applies the migrations this gate knows and the database lacks.
    pub(crate) async fn migrate(&self) -> Result<(), String> {
        let mut client = self.pool.get().await.map_err(err)?;
        let tx = client.transaction().await.map_err(err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (
                version integer PRIMARY KEY,
                applied_at bigint NOT NULL
             )",
        )
        .await
        .map_err(err)?;
        let current: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
            .await
            .map_err(err)?
            .get(0);
        let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
        if current > known {
            return Err(format!(
                "the fleet database has schema version {current}; this gate knows up to {known}: \
                 upgrade the gate"
            ));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch_execute(sql).await.map_err(err)?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                &[version, &unix(crate::input::system_now())],
            )
            .await
            .map_err(err)?;
            tracing::info!(version, "fleet store: schema migrated");
        }
        tx.commit().await.map_err(err)?;
        self.migrated.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Connects, migrates and reads the fleet's unexpired replay keys: what a starting gate
    /// loads into its cache. `complete` is whether these are every key the fleet accepted.
    pub(crate) async fn start(&self, now: u64) -> Result<Remembered, String> {
        let fut = async {
            self.migrate().await?;
            let client = self.pool.get().await.map_err(err)?;
            let rows = client
                .query(
                    "SELECT key, expires_at FROM replay_keys WHERE expires_at >= $1",
                    &[&unix(now)],
                )
                .await
                .map_err(err)?;
            let keys = rows
                .iter()
                .filter_map(|r| {
                    let key: Vec<u8> = r.try_get(0).ok()?;
                    let expires: i64 = r.try_get(1).ok()?;
                    Some((
                        <[u8; 32]>::try_from(key).ok()?,
                        u64::try_from(expires).ok()?,
                    ))
                })
                .collect();
            Ok::<_, String>(keys)
        };
        let keys = tokio::time::timeout(self.timeout.saturating_mul(4), fut)
            .await
            .map_err(|_| "timed out".to_owned())??;
        self.health.set(true, "");
        // Every key a gate accepts with the fleet reachable is in the table before it answers.
        // Keys accepted while a gate was degraded are in its spool before it answers and arrive
        // with its log entries when PostgreSQL is back (the gate reloads its own spool's keys).
        Ok(Remembered {
            keys,
            complete: true,
        })
    }

    /// The fleet check of a key new to this gate (see the module documentation of `store`).
    ///
    /// Claims of concurrent decisions go to PostgreSQL together: the first claimer starts a
    /// batch runner, which sends everything queued in one statement, answers each claimer,
    /// and goes on while claims keep arriving (one round trip for many decisions, as the spool
    /// groups its commits).
    pub(crate) async fn claim(self: &Arc<Self>, key: &[u8; 32], expires_at: u64) -> FleetCheck {
        if !self.health.is_ok() {
            return FleetCheck::Degraded;
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Claim {
                key: *key,
                expires_at,
                answer,
            });
        if !self.claiming.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.clone().run_claims());
        }
        match tokio::time::timeout(self.timeout, answered).await {
            Ok(Ok(Ok(true))) => FleetCheck::Fresh,
            Ok(Ok(Ok(false))) => FleetCheck::Taken,
            Ok(Ok(Err(_)) | Err(_)) => FleetCheck::Degraded,
            Err(_) => {
                self.health.set(false, "timed out");
                FleetCheck::Degraded
            }
        }
    }

    /// Sends queued claims in batches until none are left.
    async fn run_claims(self: Arc<Self>) {
        loop {
            let batch: Vec<Claim> = {
                let mut queue = self
                    .claims
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let n = queue.len().min(MAX_CLAIMS);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                self.claiming.store(false, Ordering::Release);
                // A claim queued after the drain but before the flag was cleared saw the runner
                // still at work: take it over if nobody else did.
                let waiting = !self
                    .claims
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .is_empty();
                if waiting && !self.claiming.swap(true, Ordering::AcqRel) {
                    continue;
                }
                return;
            }
            let result = tokio::time::timeout(self.timeout, self.claim_batch(&batch)).await;
            let fresh = match result {
                Ok(Ok(fresh)) => Ok(fresh),
                Ok(Err(e)) => {
                    self.health.set(false, &e);
                    Err(e)
                }
                Err(_) => {
                    self.health.set(false, "timed out");
                    Err("timed out".to_owned())
                }
            };
            // A key twice in one batch: the first is the decision that claimed it.
            let mut answered = std::collections::HashSet::new();
            for claim in batch {
                let outcome = match &fresh {
                    Ok(fresh) => Ok(fresh.contains(&claim.key) && answered.insert(claim.key)),
                    Err(e) => Err(e.clone()),
                };
                let _ = claim.answer.send(outcome);
            }
        }
    }

    /// One statement for `batch`: the keys that were new to the fleet (an expired row not yet
    /// pruned is taken over, not counted as a replay).
    async fn claim_batch(
        &self,
        batch: &[Claim],
    ) -> Result<std::collections::HashSet<[u8; 32]>, String> {
        let mut seen = std::collections::HashSet::new();
        let (mut keys, mut expiries): (Vec<&[u8]>, Vec<i64>) = (Vec::new(), Vec::new());
        for claim in batch {
            // ON CONFLICT cannot touch one row twice in a statement: a repeat is answered from
            // the first.
            if seen.insert(claim.key) {
                keys.push(&claim.key[..]);
                expiries.push(unix(claim.expires_at));
            }
        }
        let now = unix(crate::input::system_now());
        let client = self.pool.get().await.map_err(err)?;
        // Prepared once per pooled connection.
        let statement = client
            .prepare_cached(
                "INSERT INTO replay_keys (key, expires_at)
                 SELECT * FROM unnest($1::bytea[], $2::int8[])
                 ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE replay_keys.expires_at < $3
                 RETURNING key",
            )
            .await
            .map_err(err)?;
        let rows = client
            .query(&statement, &[&keys, &expiries, &now])
            .await
            .map_err(err)?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<_, Vec<u8>>(0).ok())
            .filter_map(|key| <[u8; 32]>::try_from(key).ok())
            .collect())
    }

    /// Checks that PostgreSQL answers (migrating first if start could not), updating `health`.
    pub(crate) async fn probe(&self) {
        let fut = async {
            if !self.migrated.load(Ordering::Relaxed) {
                self.migrate().await?;
            }
            let client = self.pool.get().await.map_err(err)?;
            client.simple_query("SELECT 1").await.map_err(err).map(drop)
        };
        match tokio::time::timeout(self.timeout.saturating_mul(2), fut).await {
            Ok(Ok(())) => self.health.set(true, ""),
            Ok(Err(e)) => self.health.set(false, &e),
            Err(_) => self.health.set(false, "timed out"),
        }
    }

    /// Deletes the fleet's expired replay keys.
    pub(crate) async fn prune(&self, now: u64) {
        let fut = async {
            let client = self.pool.get().await.map_err(err)?;
            client
                .execute(
                    "DELETE FROM replay_keys WHERE expires_at < $1",
                    &[&unix(now)],
                )
                .await
                .map_err(err)
        };
        match tokio::time::timeout(self.timeout.saturating_mul(4), fut).await {
            Ok(Ok(n)) if n > 0 => tracing::debug!(deleted = n, "fleet replay keys pruned"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "fleet store: pruning replay keys failed"),
            Err(_) => tracing::warn!("fleet store: pruning replay keys timed out"),
        }
    }

    /// Deletes gate log rows older than `retention_days` (0 keeps everything).
    pub(crate) async fn prune_log(&self, retention_days: u64) {
        if retention_days == 0 {
            return;
        }
        let cutoff =
            crate::input::system_now().saturating_sub(retention_days.saturating_mul(86_400));
        let fut = async {
            let client = self.pool.get().await.map_err(err)?;
            client
                .execute("DELETE FROM gate_log WHERE time < $1", &[&unix(cutoff)])
                .await
                .map_err(err)
        };
        match tokio::time::timeout(self.timeout.saturating_mul(20), fut).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(deleted = n, "gate log pruned"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "gate log pruning failed"),
            Err(_) => tracing::error!("gate log pruning timed out"),
        }
    }

    /// Inserts `batch` in one transaction: the entries (each once: a repeated delivery of an
    /// entry id adds nothing), and the replay keys of those accepted while the fleet check was
    /// degraded.
    async fn insert(&self, batch: &[Spooled]) -> Result<(), String> {
        if !self.migrated.load(Ordering::Relaxed) {
            self.migrate().await?;
        }
        let mut client = self.pool.get().await.map_err(err)?;
        let tx = client.transaction().await.map_err(err)?;
        let entry = tx
            .prepare_cached(
                "INSERT INTO gate_log (entry_id, time, gate, decision, reason, issuer,
                 credential_status, credential_hash, claims)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (entry_id) DO NOTHING",
            )
            .await
            .map_err(err)?;
        // As a claim: an expired row not yet pruned is taken over.
        let key = tx
            .prepare_cached(
                "INSERT INTO replay_keys (key, expires_at) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE replay_keys.expires_at < excluded.expires_at",
            )
            .await
            .map_err(err)?;
        for s in batch {
            let e = &s.entry;
            let claims = e
                .claims
                .as_ref()
                .map(|c| no_nul(&c.to_string()).into_owned());
            tx.execute(
                &entry,
                &[
                    &s.id,
                    &unix(e.time),
                    &no_nul(&e.gate),
                    &e.decision,
                    &no_nul(&e.reason),
                    &e.issuer.as_deref().map(no_nul),
                    &e.credential_status,
                    &e.credential_hash.as_deref().map(no_nul),
                    &claims,
                ],
            )
            .await
            .map_err(err)?;
            if let Some((k, expires_at)) = &e.replay {
                tx.execute(&key, &[&&k[..], &unix(*expires_at)])
                    .await
                    .map_err(err)?;
            }
        }
        tx.commit().await.map_err(err)
    }

    /// The newest entries matching `filter`, newest first.
    pub(crate) async fn recent(&self, filter: &LogFilter) -> Result<Vec<Row>, String> {
        let client = self.pool.get().await.map_err(err)?;
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let since = filter.since.map(unix);
        let until = filter.until.map(unix);
        let rows = client
            .query(
                "SELECT id, time, gate, decision, reason, issuer, credential_status,
                 credential_hash, claims FROM gate_log
                 WHERE ($1::text IS NULL OR gate = $1)
                   AND ($2::bigint IS NULL OR time >= $2)
                   AND ($3::bigint IS NULL OR time <= $3)
                 ORDER BY id DESC LIMIT $4",
                &[&filter.gate, &since, &until, &limit],
            )
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let decision: String = r.try_get(3).map_err(err)?;
                let status: Option<String> = r.try_get(6).map_err(err)?;
                let claims: Option<String> = r.try_get(8).map_err(err)?;
                Ok(Row {
                    id: r.try_get(0).map_err(err)?,
                    entry: Entry {
                        time: u64::try_from(r.try_get::<_, i64>(1).map_err(err)?).unwrap_or(0),
                        gate: r.try_get(2).map_err(err)?,
                        decision: if decision == "allow" { "allow" } else { "deny" },
                        reason: r.try_get(4).map_err(err)?,
                        issuer: r.try_get(5).map_err(err)?,
                        credential_status: status.as_deref().map(static_status),
                        credential_hash: r.try_get(7).map_err(err)?,
                        claims: claims.and_then(|c| serde_json::from_str(&c).ok()),
                        replay: None,
                    },
                })
            })
            .collect()
    }
}

/// The delivery task: moves the spool's entries to the central log, oldest first, a batch per
/// transaction, deleting them from the spool only once PostgreSQL committed them. While
/// PostgreSQL is unreachable it retries every [`super::PROBE_EVERY`]. Ends when the spool's
/// writer has closed (`closed`) and nothing is left to deliver, or after one failed last
/// attempt: what is left waits in the spool for the next start.
pub(crate) async fn deliver(
    store: Arc<PgStore>,
    spool: Arc<Spool>,
    wake: Arc<Notify>,
    mut closed: watch::Receiver<bool>,
) {
    let mut failing = false;
    loop {
        let closing = *closed.borrow() || closed.has_changed().is_err();
        let reader = spool.clone();
        let batch = match tokio::task::spawn_blocking(move || reader.oldest(MAX_BATCH)).await {
            Ok(Ok(batch)) => batch,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "gate log: reading the spool failed");
                if closing {
                    return;
                }
                pause(&mut closed).await;
                continue;
            }
            Err(_) => return,
        };
        let Some(last) = batch.last().map(|s| s.seq) else {
            if closing {
                return;
            }
            tokio::select! {
                () = wake.notified() => {}
                _ = closed.changed() => {}
            }
            continue;
        };
        match tokio::time::timeout(store.timeout.saturating_mul(10), store.insert(&batch)).await {
            Ok(Ok(())) => {
                if failing {
                    failing = false;
                    tracing::info!("gate log: delivering the spool to the fleet store again");
                }
                let done = spool.clone();
                match tokio::task::spawn_blocking(move || done.delivered(last)).await {
                    Ok(Ok(())) => {}
                    // PostgreSQL has them: sent again, they are skipped by their ids.
                    Ok(Err(e)) => tracing::error!(error = %e, "gate log: spool not trimmed"),
                    Err(_) => return,
                }
                continue;
            }
            Ok(Err(e)) if !failing => {
                failing = true;
                tracing::warn!(error = %e, spooled = spool.waiting(),
                    "gate log: fleet store unreachable; entries wait in the spool");
            }
            Err(_) if !failing => {
                failing = true;
                tracing::warn!(
                    spooled = spool.waiting(),
                    "gate log: delivery timed out; entries wait in the spool"
                );
            }
            _ => {}
        }
        if closing {
            tracing::warn!(
                spooled = spool.waiting(),
                "gate log: entries not yet delivered stay in the spool for the next start"
            );
            return;
        }
        pause(&mut closed).await;
    }
}

/// Waits [`super::PROBE_EVERY`], or less if the spool's writer closes.
async fn pause(closed: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(super::PROBE_EVERY) => {}
        _ = closed.changed() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_replaced_and_other_text_is_kept() {
        assert_eq!(no_nul("a\0b"), "a\u{fffd}b");
        assert!(matches!(
            no_nul("plain"),
            std::borrow::Cow::Borrowed("plain")
        ));
    }
}

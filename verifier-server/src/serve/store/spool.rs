//! The gate's spool: a local SQLite file that holds every gate log entry of a fleet gate until
//! the fleet's PostgreSQL has it (`[store] spool`, default `<gate id>.spool` beside the salt
//! file, else in the config file's directory).
//!
//! # Durability
//!
//! A handler hands its entry to one writer thread and waits for the transaction holding it to
//! commit before it answers (group commit: one fsync serves every waiting request; WAL mode with
//! `synchronous = FULL`, as the SQLite gate log with `commit_before_response = true`). So an
//! answered decision is on this gate's disk whether or not PostgreSQL is reachable, and survives
//! a crash of the gate (kill -9) or of the machine.
//!
//! # Delivery, in order and exactly once
//!
//! Each entry gets a random 128-bit id when it is spooled. The delivery task
//! ([`super::postgres::deliver`]) reads the oldest entries (by spool sequence), inserts them in
//! ONE PostgreSQL transaction (`INSERT … ON CONFLICT (entry_id) DO NOTHING`), and only after that
//! commit deletes them here. A gate that crashes between the two re-sends those entries at its
//! next start; PostgreSQL already has their ids and skips them. Entries of one gate therefore
//! appear in the central log once each, in the order the gate decided them.
//!
//! The replay keys of codes let in while the fleet check was degraded travel with their entries,
//! so once delivered such a code is refused by every gate. A restarted gate also reloads the
//! unexpired keys still in its spool into its own cache.
//!
//! One spool belongs to one gate process: the file is held with an exclusive lock, and a second
//! process opening it fails at start.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch, Notify};

use super::super::gatelog::{static_status, Entry};

/// Most entries committed (or delivered) in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id BLOB NOT NULL UNIQUE,
    time INTEGER NOT NULL,
    gate TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    issuer TEXT,
    credential_status TEXT,
    credential_hash TEXT,
    claims TEXT,
    replay_key BLOB,
    replay_expires INTEGER
);
";

/// A replay key and until when it must be remembered (unix seconds).
pub(crate) type ReplayKey = ([u8; 32], u64);

/// An entry read back from the spool, to deliver.
#[derive(Clone, Debug)]
pub(crate) struct Spooled {
    /// Its place in this gate's order.
    pub(crate) seq: i64,
    /// Its id in the central log (random, 16 bytes).
    pub(crate) id: Vec<u8>,
    pub(crate) entry: Entry,
}

/// The open spool file.
pub(crate) struct Spool {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Entries spooled and not yet delivered.
    waiting: AtomicU64,
    /// Entries that could not be spooled (disk full, I/O error) since start.
    pub(crate) errors: AtomicU64,
}

fn at(path: &Path, e: impl std::fmt::Display) -> String {
    format!("spool {}: {e}", path.display())
}

fn unix(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl Spool {
    /// Opens (creating, mode 0600) the spool at `path` and takes its lock. Also returns the
    /// unexpired replay keys of the entries still waiting (accepted while degraded, not yet
    /// delivered: this gate's cache must keep refusing them).
    pub(crate) fn open(path: &Path, now: u64) -> Result<(Self, Vec<ReplayKey>), String> {
        let conn = Connection::open(path).map_err(|e| at(path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            // Salted hashes and maybe claims, as in the gate log: owner only.
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        conn.busy_timeout(Duration::from_millis(200))
            .map_err(|e| at(path, e))?;
        // Exclusive before WAL: the lock is held from the first write until the gate ends.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(|e| at(path, e))?;
        let locked = |e: rusqlite::Error| {
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) {
                at(
                    path,
                    "in use by another gate process (each gate needs a spool of its own: \
                     [store] spool)",
                )
            } else {
                at(path, e)
            }
        };
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(locked)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| at(path, e))?;
        conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
            .map_err(locked)?;
        conn.execute_batch(SCHEMA).map_err(|e| at(path, e))?;
        let waiting: i64 = conn
            .query_row("SELECT count(*) FROM spool", [], |r| r.get(0))
            .map_err(|e| at(path, e))?;
        let keys = {
            let mut stmt = conn
                .prepare(
                    "SELECT replay_key, replay_expires FROM spool
                     WHERE replay_key IS NOT NULL AND replay_expires >= ?1",
                )
                .map_err(|e| at(path, e))?;
            let rows = stmt
                .query_map(params![unix(now)], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(|e| at(path, e))?;
            rows.filter_map(|row| {
                let (key, expires) = row.ok()?;
                Some((
                    <[u8; 32]>::try_from(key).ok()?,
                    u64::try_from(expires).ok()?,
                ))
            })
            .collect::<Vec<_>>()
        };
        if waiting > 0 {
            tracing::info!(
                entries = waiting,
                spool = %path.display(),
                "gate log: entries from an earlier run wait in the spool; delivering them first"
            );
        }
        Ok((
            Self {
                conn: Mutex::new(conn),
                path: path.to_owned(),
                waiting: AtomicU64::new(u64::try_from(waiting).unwrap_or(0)),
                errors: AtomicU64::new(0),
            },
            keys,
        ))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Entries spooled and not yet delivered.
    pub(crate) fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Appends `entries` in one transaction (committed, fsynced, when this returns `Ok`).
    fn append<'a>(&self, entries: impl Iterator<Item = &'a Entry>) -> Result<u64, String> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| at(&self.path, e))?;
        let mut n = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO spool (entry_id, time, gate, decision, reason, issuer,
                     credential_status, credential_hash, claims, replay_key, replay_expires)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(|e| at(&self.path, e))?;
            for e in entries {
                let mut id = [0u8; 16];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
                stmt.execute(params![
                    &id[..],
                    unix(e.time),
                    e.gate,
                    e.decision,
                    e.reason,
                    e.issuer,
                    e.credential_status,
                    e.credential_hash,
                    e.claims.as_ref().map(Value::to_string),
                    e.replay.as_ref().map(|(k, _)| k.to_vec()),
                    e.replay.as_ref().map(|(_, t)| unix(*t)),
                ])
                .map_err(|e| at(&self.path, e))?;
                n += 1;
            }
        }
        tx.commit().map_err(|e| at(&self.path, e))?;
        self.waiting.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    /// The oldest `max` entries waiting, in order.
    pub(crate) fn oldest(&self, max: usize) -> Result<Vec<Spooled>, String> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, entry_id, time, gate, decision, reason, issuer, credential_status,
                 credential_hash, claims, replay_key, replay_expires
                 FROM spool ORDER BY seq LIMIT ?1",
            )
            .map_err(|e| at(&self.path, e))?;
        let rows = stmt
            .query_map(params![i64::try_from(max).unwrap_or(i64::MAX)], |r| {
                let decision: String = r.get(4)?;
                let status: Option<String> = r.get(7)?;
                let claims: Option<String> = r.get(9)?;
                let key: Option<Vec<u8>> = r.get(10)?;
                let expires: Option<i64> = r.get(11)?;
                let replay = key
                    .and_then(|k| <[u8; 32]>::try_from(k).ok())
                    .zip(expires.and_then(|t| u64::try_from(t).ok()));
                Ok(Spooled {
                    seq: r.get(0)?,
                    id: r.get(1)?,
                    entry: Entry {
                        time: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                        gate: r.get(3)?,
                        decision: if decision == "allow" { "allow" } else { "deny" },
                        reason: r.get(5)?,
                        issuer: r.get(6)?,
                        credential_status: status.as_deref().map(static_status),
                        credential_hash: r.get(8)?,
                        claims: claims.and_then(|c| serde_json::from_str(&c).ok()),
                        replay,
                    },
                })
            })
            .map_err(|e| at(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| at(&self.path, e))
    }

    /// Deletes the entries up to `seq`: PostgreSQL has committed them.
    pub(crate) fn delivered(&self, seq: i64) -> Result<(), String> {
        let n = self
            .conn()
            .execute("DELETE FROM spool WHERE seq <= ?1", params![seq])
            .map_err(|e| at(&self.path, e))?;
        let n = n as u64;
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                Some(w.saturating_sub(n))
            });
        Ok(())
    }
}

/// A decision to spool, and who waits for its commit.
pub(crate) struct Job {
    pub(crate) entry: Entry,
    pub(crate) ack: oneshot::Sender<bool>,
}

/// The spool's writer thread: commits queued entries in batches, answers each waiting handler,
/// and wakes the delivery task. When every sender is gone it says so on `closed` and ends.
pub(crate) fn writer(
    spool: Arc<Spool>,
    mut rx: mpsc::Receiver<Job>,
    wake: Arc<Notify>,
    closed: watch::Sender<bool>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let ok = match spool.append(batch.iter().map(|job| &job.entry)) {
            Ok(_) => true,
            Err(e) => {
                spool
                    .errors
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::error!(error = %e, entries = batch.len(), "gate log: spooling failed");
                false
            }
        };
        for job in batch.drain(..) {
            let _ = job.ack.send(ok);
        }
        if ok {
            wake.notify_one();
        }
    }
    closed.send_replace(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reason: &str, replay: Option<([u8; 32], u64)>) -> Entry {
        Entry {
            time: crate::input::system_now(),
            gate: "g".into(),
            decision: "allow",
            reason: reason.into(),
            issuer: Some("https://issuer.example".into()),
            credential_status: Some("valid"),
            credential_hash: Some("ab".into()),
            claims: None,
            replay,
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("govid-spool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    #[test]
    fn entries_come_back_in_order_with_unique_ids_and_survive_a_reopen() {
        let dir = temp("order");
        let path = dir.join("g.spool");
        let now = crate::input::system_now();
        let (spool, keys) = Spool::open(&path, now).unwrap_or_else(|e| panic!("{e}"));
        assert!(keys.is_empty());
        let batch: Vec<Entry> = (0..5)
            .map(|i| entry(&format!("r{i}"), (i == 3).then_some(([7; 32], now + 60))))
            .collect();
        assert_eq!(spool.append(batch.iter()).ok(), Some(5));
        assert_eq!(spool.waiting(), 5);
        let rows = spool.oldest(3).unwrap_or_else(|e| panic!("{e}"));
        let reasons: Vec<&str> = rows.iter().map(|r| r.entry.reason.as_str()).collect();
        assert_eq!(reasons, ["r0", "r1", "r2"]);
        spool
            .delivered(rows[1].seq)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spool.waiting(), 3);
        drop(spool);

        // Reopened (as after a crash): what was not delivered is still there, in order, with the
        // same ids, and the waiting replay key comes back for the cache.
        let (spool, keys) = Spool::open(&path, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(keys, [([7; 32], now + 60)]);
        assert_eq!(spool.waiting(), 3);
        let rows = spool.oldest(10).unwrap_or_else(|e| panic!("{e}"));
        let reasons: Vec<&str> = rows.iter().map(|r| r.entry.reason.as_str()).collect();
        assert_eq!(reasons, ["r2", "r3", "r4"]);
        assert_eq!(rows[1].entry.replay, Some(([7; 32], now + 60)));
        assert_eq!(rows[0].entry.credential_status, Some("valid"));
        let mut ids: Vec<Vec<u8>> = rows.iter().map(|r| r.id.clone()).collect();
        assert!(ids.iter().all(|id| id.len() == 16));
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3);
        // Sequence numbers are never reused, even after the spool was emptied.
        let last = rows[2].seq;
        spool.delivered(last).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spool.waiting(), 0);
        assert_eq!(spool.append([entry("r5", None)].iter()).ok(), Some(1));
        let rows = spool.oldest(10).unwrap_or_else(|e| panic!("{e}"));
        assert!(rows[0].seq > last, "{} after {last}", rows[0].seq);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_second_process_cannot_open_the_same_spool() {
        let dir = temp("lock");
        let path = dir.join("g.spool");
        let now = crate::input::system_now();
        let (first, _) = Spool::open(&path, now).unwrap_or_else(|e| panic!("{e}"));
        match Spool::open(&path, now) {
            Ok(_) => panic!("opened twice"),
            Err(e) => assert!(e.contains("in use by another gate process"), "{e}"),
        }
        drop(first);
        assert!(Spool::open(&path, now).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

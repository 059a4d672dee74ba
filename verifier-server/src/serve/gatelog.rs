//! The gate log: one row per decision in SQLite, written off the request path.
//!
//! # What is stored
//!
//! Time, gate id, decision, reason, issuer, the credential's status, a salted hash of the
//! credential (SHA-256 of a per-gate secret salt and the issuer-signed JWT, so that the same
//! credential can be recognised in the log without the log holding it), and only the claims the
//! config's `keep_claims` names (none by default). Never the presentation, the KB-JWT or a claim
//! that is not listed.
//!
//! # Durability guarantee
//!
//! Handlers hand each entry to one writer thread over a bounded channel (back-pressure: when the
//! disk falls behind, requests wait for room instead of entries being dropped). The writer takes
//! every entry waiting (and, when no handler waits for the commit, those arriving within
//! [`LINGER`]), up to [`MAX_BATCH`], and inserts them in ONE transaction; the database is
//! in WAL mode with `synchronous = FULL`, so a transaction is on disk (fsynced) when COMMIT
//! returns, and a committed entry survives a process crash or power loss.
//!
//! - `commit_before_response = false` (default): the response is sent once the entry is queued.
//!   It is committed by the next batch, normally within a few milliseconds (one fsync). A crash in
//!   between loses the entries queued but not yet committed — at most the channel's contents —
//!   and never a committed one.
//! - `commit_before_response = true`: the handler waits for the batch holding its entry to commit
//!   before it answers (group commit: one fsync serves every waiting request). An acknowledged
//!   decision is then always in the log; if the commit fails the decision is still returned, with
//!   an error logged and `govid_gate_log_errors_total` incremented.
//!
//! Retention: rows older than `retention_days` are deleted at start and then hourly by the
//! writer (0 keeps everything); the server asks for pruning hourly.
//!
//! # Replay keys across a restart
//!
//! An allowed decision's entry carries the replay key of its KB-JWT and until when it must be
//! remembered; the writer stores it (table `replay_keys`) in the same transaction as the entry,
//! and deletes expired keys every [`REPLAY_PRUNE_EVERY`]. At start the gate reloads the keys
//! that have not expired ([`Remembered`]), so a code let in before a restart is refused after it.
//! Whether the stored keys are *every* key the previous run accepted is recorded in
//! `gate_state`: yes after a clean shutdown (the writer drained its queue) or when every answer
//! waited for its commit (`commit_before_response`); no after a crash of a gate that answered
//! before committing. Then the gate also refuses codes made before it started
//! (`code_before_restart`): it cannot vouch for them.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

/// Most entries committed in one transaction.
pub(crate) const MAX_BATCH: usize = 512;
/// How long the writer waits for more entries before committing a batch nobody waits for.
const LINGER: Duration = Duration::from_millis(2);
/// Entries that may wait for the writer.
const QUEUE: usize = 8192;
/// Entries kept in memory when there is no database (for `/admin/entries`).
const RING: usize = 1000;
/// How often the writer deletes expired replay keys.
const REPLAY_PRUNE_EVERY: Duration = Duration::from_secs(10);
/// `gate_state.replay_complete`: the stored replay keys are all the previous run accepted.
const COMPLETE_CLEAN: &str = "clean_shutdown";
/// ... or would be, had it crashed: every answer waited for its commit.
const COMPLETE_COMMITTED: &str = "commit_before_response";
/// ... or not: the run answered before committing and has not shut down cleanly (yet).
const INCOMPLETE: &str = "running";

/// One decision, as logged.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Entry {
    /// Unix seconds.
    pub(crate) time: u64,
    pub(crate) gate: String,
    pub(crate) decision: &'static str,
    pub(crate) reason: String,
    pub(crate) issuer: Option<String>,
    pub(crate) credential_status: Option<&'static str>,
    /// Hex SHA-256 of the gate salt and the issuer-signed JWT.
    pub(crate) credential_hash: Option<String>,
    /// Only the claims `keep_claims` names; `None` when it names none.
    pub(crate) claims: Option<Value>,
    /// An allowed code's replay key and until when to remember it (never shown or logged).
    #[serde(skip)]
    pub(crate) replay: Option<([u8; 32], u64)>,
}

/// What the database kept of the previous run's replay cache (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Remembered {
    /// Replay keys not expired at open, with their expiry.
    pub(crate) keys: Vec<([u8; 32], u64)>,
    /// Whether these are all the keys the previous run accepted.
    pub(crate) complete: bool,
}

/// Which entries `/admin/entries` asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogFilter {
    /// Only this gate's entries.
    pub(crate) gate: Option<String>,
    /// Only entries at or after this time (unix seconds).
    pub(crate) since: Option<u64>,
    /// Only entries at or before this time (unix seconds).
    pub(crate) until: Option<u64>,
    /// At most this many, newest first.
    pub(crate) limit: usize,
}

impl LogFilter {
    fn matches(&self, e: &Entry) -> bool {
        self.gate.as_ref().is_none_or(|g| *g == e.gate)
            && self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time <= t)
    }
}

/// A row read back for `/admin/entries`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Row {
    pub(crate) id: i64,
    #[serde(flatten)]
    pub(crate) entry: Entry,
}

struct Job {
    entry: Entry,
    ack: Option<oneshot::Sender<bool>>,
}

// Nearly every message is an entry: boxing it would add an allocation per decision for nothing.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Entry(Job),
    Prune,
}

/// The per-gate secret salt of credential hashes; `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Salt([u8; 32]);

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt([elided])")
    }
}

impl Salt {
    /// Reads the salt file (64 hex digits), or creates it with mode 0600 from the OS RNG.
    pub(crate) fn load_or_create(path: &Path) -> Result<Self, String> {
        load_or_create_secret(path).map(Salt)
    }

    /// A salt that lives only as long as the process (no database configured).
    pub(crate) fn ephemeral() -> Self {
        let mut salt = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
        Salt(salt)
    }

    /// Hex SHA-256(salt ‖ the issuer-signed JWT's signing input). The signing input
    /// (`header.payload`) is what the issuer signed; the signature is left out because an ES256
    /// signature has a twin anyone can compute, which would log one credential under two hashes.
    pub(crate) fn credential_hash(&self, issuer_jwt: &str) -> String {
        let signed = issuer_jwt
            .rsplit_once('.')
            .map_or(issuer_jwt, |(signing_input, _)| signing_input);
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(signed.as_bytes());
        encode_hex(&h.finalize())
    }
}

/// A 32-byte secret kept as 64 hex digits in `path` (mode 0600), made on first use: the gate
/// log's salt, the login service's pairwise secret.
pub(crate) fn load_or_create_secret(path: &Path) -> Result<[u8; 32], String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = decode_hex(text.trim())
                .filter(|b| b.len() == 32)
                .ok_or(format!("{}: not 64 hex digits", path.display()))?;
            let mut secret = [0u8; 32];
            secret.copy_from_slice(&bytes);
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
            write_private(path, encode_hex(&secret).as_bytes())?;
            Ok(secret)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Creates `path` readable and writable by the owner only, failing if it exists.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where decisions go: the SQLite writer, the fleet's PostgreSQL writer, or (without a
/// database) a ring of recent entries.
#[derive(Clone)]
pub(crate) struct GateLog {
    inner: Arc<Inner>,
}

enum Inner {
    Db {
        tx: mpsc::Sender<Msg>,
        path: PathBuf,
        wait_for_commit: bool,
        errors: Arc<std::sync::atomic::AtomicU64>,
    },
    Memory(Mutex<VecDeque<Row>>, std::sync::atomic::AtomicI64),
    Postgres {
        tx: mpsc::Sender<super::store::spool::Job>,
        store: Arc<super::store::PgStore>,
        spool: Arc<super::store::spool::Spool>,
        retention_days: u64,
    },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    gate TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    issuer TEXT,
    credential_status TEXT,
    credential_hash TEXT,
    claims TEXT
);
CREATE INDEX IF NOT EXISTS entries_time ON entries(time);
CREATE TABLE IF NOT EXISTS replay_keys (
    key BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_keys_expiry ON replay_keys(expires_at);
CREATE TABLE IF NOT EXISTS gate_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Reads what the previous run left for the replay cache, then records this run as running
/// (`wait_for_commit`: as complete as if it had shut down cleanly).
fn take_remembered(conn: &Connection, wait_for_commit: bool) -> rusqlite::Result<Remembered> {
    use rusqlite::OptionalExtension as _;
    let now = i64::try_from(crate::input::system_now()).unwrap_or(i64::MAX);
    conn.execute(
        "DELETE FROM replay_keys WHERE expires_at < ?1",
        params![now],
    )?;
    let state: Option<String> = conn
        .query_row(
            "SELECT value FROM gate_state WHERE name = 'replay_complete'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    // No record: a new database, perhaps after a run without one. Nothing vouches for the past.
    let complete = matches!(state.as_deref(), Some(COMPLETE_CLEAN | COMPLETE_COMMITTED));
    let mut stmt = conn.prepare("SELECT key, expires_at FROM replay_keys")?;
    let keys = stmt
        .query_map([], |r| {
            let key: Vec<u8> = r.get(0)?;
            let expires: i64 = r.get(1)?;
            Ok((key, expires))
        })?
        .filter_map(|row| {
            let (key, expires) = row.ok()?;
            Some((
                <[u8; 32]>::try_from(key).ok()?,
                u64::try_from(expires).ok()?,
            ))
        })
        .collect();
    set_replay_state(
        conn,
        if wait_for_commit {
            COMPLETE_COMMITTED
        } else {
            INCOMPLETE
        },
    )?;
    Ok(Remembered { keys, complete })
}

fn set_replay_state(conn: &Connection, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO gate_state (name, value) VALUES ('replay_complete', ?1)
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        params![value],
    )
    .map(drop)
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

impl GateLog {
    /// A log kept only in memory (the last [`RING`] entries).
    pub(crate) fn memory() -> Self {
        Self {
            inner: Arc::new(Inner::Memory(
                Mutex::new(VecDeque::new()),
                std::sync::atomic::AtomicI64::new(0),
            )),
        }
    }

    /// Opens (creating) the database at `path` and starts its writer thread. The thread ends when
    /// every `GateLog` clone is dropped, after committing what was queued. Also returns the replay
    /// keys the previous run left.
    pub(crate) fn open(
        path: &Path,
        retention_days: u64,
        wait_for_commit: bool,
    ) -> Result<(Self, std::thread::JoinHandle<()>, Remembered), String> {
        let conn = open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let remembered = take_remembered(&conn, wait_for_commit)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            // The log holds salted hashes and maybe claims: owner only.
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let thread_errors = errors.clone();
        let handle = std::thread::Builder::new()
            .name("gate-log".to_owned())
            .spawn(move || writer(conn, rx, retention_days, &thread_errors))
            .map_err(|e| format!("gate log thread: {e}"))?;
        Ok((
            Self {
                inner: Arc::new(Inner::Db {
                    tx,
                    path: path.to_owned(),
                    wait_for_commit,
                    errors,
                }),
            },
            handle,
            remembered,
        ))
    }

    /// The fleet's central log in PostgreSQL: entries are committed to `spool` by a writer
    /// thread before the answer, and delivered by a task (see [`super::store::spool`]). The
    /// thread ends when every `GateLog` clone is dropped, the task after it.
    pub(crate) fn postgres(
        store: Arc<super::store::PgStore>,
        spool: Arc<super::store::spool::Spool>,
        retention_days: u64,
    ) -> Result<
        (
            Self,
            std::thread::JoinHandle<()>,
            tokio::task::JoinHandle<()>,
        ),
        String,
    > {
        let (tx, rx) = mpsc::channel(QUEUE);
        let wake = Arc::new(tokio::sync::Notify::new());
        let (closed_tx, closed_rx) = tokio::sync::watch::channel(false);
        let thread = {
            let (spool, wake) = (spool.clone(), wake.clone());
            std::thread::Builder::new()
                .name("gate-spool".to_owned())
                .spawn(move || super::store::spool::writer(spool, rx, wake, closed_tx))
                .map_err(|e| format!("gate log spool thread: {e}"))?
        };
        let task = tokio::spawn(super::store::postgres::deliver(
            store.clone(),
            spool.clone(),
            wake,
            closed_rx,
        ));
        Ok((
            Self {
                inner: Arc::new(Inner::Postgres {
                    tx,
                    store,
                    spool,
                    retention_days,
                }),
            },
            thread,
            task,
        ))
    }

    /// Entries committed to the fleet gate's spool and not yet delivered (`None` without one).
    pub(crate) fn spooled(&self) -> Option<u64> {
        match &*self.inner {
            Inner::Postgres { spool, .. } => Some(spool.waiting()),
            _ => None,
        }
    }

    /// Asks the writer to delete rows past retention (the server calls this hourly).
    pub(crate) fn prune_soon(&self) {
        match &*self.inner {
            Inner::Db { tx, .. } => {
                let _ = tx.try_send(Msg::Prune);
            }
            Inner::Postgres {
                store,
                retention_days,
                ..
            } => {
                let (store, days) = (store.clone(), *retention_days);
                tokio::spawn(async move { store.prune_log(days).await });
            }
            Inner::Memory(..) => {}
        }
    }

    /// Failed commits so far.
    pub(crate) fn errors(&self) -> u64 {
        match &*self.inner {
            Inner::Db { errors, .. } => errors.load(std::sync::atomic::Ordering::Relaxed),
            Inner::Memory(..) => 0,
            Inner::Postgres { spool, .. } => {
                spool.errors.load(std::sync::atomic::Ordering::Relaxed)
            }
        }
    }

    /// Records a decision (see the module documentation for when it is durable).
    pub(crate) async fn record(&self, entry: Entry) {
        match &*self.inner {
            Inner::Db {
                tx,
                wait_for_commit,
                errors,
                ..
            } => {
                let (ack, done) = if *wait_for_commit {
                    let (a, d) = oneshot::channel();
                    (Some(a), Some(d))
                } else {
                    (None, None)
                };
                if tx.send(Msg::Entry(Job { entry, ack })).await.is_err() {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::error!("gate log writer is gone; entry not recorded");
                    return;
                }
                if let Some(done) = done {
                    if !matches!(done.await, Ok(true)) {
                        tracing::error!("gate log entry was not committed");
                    }
                }
            }
            Inner::Postgres { tx, spool, .. } => {
                // Always answered after the spool's commit: nothing answered is lost (see
                // `store::spool`).
                let (ack, done) = oneshot::channel();
                if tx
                    .send(super::store::spool::Job { entry, ack })
                    .await
                    .is_err()
                {
                    spool
                        .errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::error!("gate log spool writer is gone; entry not recorded");
                    return;
                }
                if !matches!(done.await, Ok(true)) {
                    tracing::error!("gate log entry was not spooled");
                }
            }
            Inner::Memory(ring, next) => {
                let id = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let mut ring = ring
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if ring.len() == RING {
                    ring.pop_front();
                }
                ring.push_back(Row { id, entry });
            }
        }
    }

    /// The most recent entries matching `filter`, newest first.
    pub(crate) async fn recent(&self, filter: &LogFilter) -> Result<Vec<Row>, String> {
        match &*self.inner {
            Inner::Postgres { store, .. } => store.recent(filter).await,
            Inner::Db { path, .. } => {
                let (path, filter) = (path.clone(), filter.clone());
                tokio::task::spawn_blocking(move || read_recent(&path, &filter))
                    .await
                    .map_err(|e| e.to_string())?
            }
            Inner::Memory(ring, _) => {
                let ring = ring
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(ring
                    .iter()
                    .rev()
                    .filter(|row| filter.matches(&row.entry))
                    .take(filter.limit)
                    .cloned()
                    .collect())
            }
        }
    }
}

fn writer(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Msg>,
    retention_days: u64,
    errors: &std::sync::atomic::AtomicU64,
) {
    prune(&conn, retention_days);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut replay_pruned = std::time::Instant::now();
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        let mut lingered = false;
        loop {
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Entry(job) => batch.push(job),
                    Msg::Prune => prune(&conn, retention_days),
                }
                if batch.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            // When no handler waits for this commit, let a busy gate's entries gather for a
            // moment: one transaction (and one fsync) for many entries instead of a few.
            let someone_waits = batch.iter().any(|job| job.ack.is_some());
            if lingered || batch.is_empty() || batch.len() >= MAX_BATCH || someone_waits {
                break;
            }
            lingered = true;
            std::thread::sleep(LINGER);
            next = rx.try_recv().ok();
        }
        if batch.is_empty() {
            continue;
        }
        let ok = match insert(&mut conn, &batch) {
            Ok(()) => true,
            Err(e) => {
                errors.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(error = %e, entries = batch.len(), "gate log commit failed");
                false
            }
        };
        for job in batch.drain(..) {
            if let Some(ack) = job.ack {
                let _ = ack.send(ok);
            }
        }
        if replay_pruned.elapsed() >= REPLAY_PRUNE_EVERY {
            replay_pruned = std::time::Instant::now();
            prune_replay_keys(&conn);
        }
    }
    // Every queued entry (and its replay key) is committed: the next run may vouch for them.
    if let Err(e) = set_replay_state(&conn, COMPLETE_CLEAN) {
        tracing::error!(error = %e, "gate log: could not record the clean shutdown");
    }
}

fn prune_replay_keys(conn: &Connection) {
    let now = i64::try_from(crate::input::system_now()).unwrap_or(i64::MAX);
    if let Err(e) = conn.execute(
        "DELETE FROM replay_keys WHERE expires_at < ?1",
        params![now],
    ) {
        tracing::error!(error = %e, "gate log: pruning replay keys failed");
    }
}

fn insert(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO entries (time, gate, decision, reason, issuer, credential_status,
             credential_hash, claims) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for job in batch {
            let e = &job.entry;
            stmt.execute(params![
                i64::try_from(e.time).unwrap_or(i64::MAX),
                e.gate,
                e.decision,
                e.reason,
                e.issuer,
                e.credential_status,
                e.credential_hash,
                e.claims.as_ref().map(Value::to_string),
            ])?;
        }
        let mut keep = tx.prepare_cached(
            "INSERT OR IGNORE INTO replay_keys (key, expires_at) VALUES (?1, ?2)",
        )?;
        for (key, expires_at) in batch.iter().filter_map(|job| job.entry.replay) {
            keep.execute(params![
                &key[..],
                i64::try_from(expires_at).unwrap_or(i64::MAX)
            ])?;
        }
    }
    tx.commit()
}

fn prune(conn: &Connection, retention_days: u64) {
    if retention_days == 0 {
        return;
    }
    let now = crate::input::system_now();
    let cutoff = now.saturating_sub(retention_days.saturating_mul(86_400));
    match conn.execute(
        "DELETE FROM entries WHERE time < ?1",
        params![i64::try_from(cutoff).unwrap_or(i64::MAX)],
    ) {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "gate log pruned"),
        Err(e) => tracing::error!(error = %e, "gate log pruning failed"),
    }
}

fn read_recent(path: &Path, filter: &LogFilter) -> Result<Vec<Row>, String> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare(
            "SELECT id, time, gate, decision, reason, issuer, credential_status, credential_hash,
             claims FROM entries
             WHERE (?2 IS NULL OR gate = ?2) AND (?3 IS NULL OR time >= ?3)
               AND (?4 IS NULL OR time <= ?4)
             ORDER BY id DESC LIMIT ?1",
        )
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map(
            params![
                i64::try_from(filter.limit).unwrap_or(i64::MAX),
                filter.gate,
                filter.since.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
                filter.until.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
            ],
            |r| {
                let decision: String = r.get(3)?;
                let status: Option<String> = r.get(6)?;
                let claims: Option<String> = r.get(8)?;
                Ok(Row {
                    id: r.get(0)?,
                    entry: Entry {
                        time: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        gate: r.get(2)?,
                        decision: if decision == "allow" { "allow" } else { "deny" },
                        reason: r.get(4)?,
                        issuer: r.get(5)?,
                        credential_status: status.as_deref().map(static_status),
                        credential_hash: r.get(7)?,
                        claims: claims.and_then(|c| serde_json::from_str(&c).ok()),
                        replay: None,
                    },
                })
            },
        )
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// The status names the server writes, back as `'static` strings.
pub(crate) fn static_status(text: &str) -> &'static str {
    match text {
        "valid" => "valid",
        "revoked" => "revoked",
        "suspended" => "suspended",
        "unknown" => "unknown",
        "none" => "none",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reason: &str) -> Entry {
        Entry {
            time: crate::input::system_now(),
            gate: "g".into(),
            decision: "deny",
            reason: reason.into(),
            issuer: None,
            credential_status: None,
            credential_hash: None,
            claims: None,
            replay: None,
        }
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(
            decode_hex(&encode_hex(&[0, 1, 0xab, 0xff])),
            Some(vec![0, 1, 0xab, 0xff])
        );
        assert_eq!(decode_hex("0g"), None);
        assert_eq!(decode_hex("abc"), None);
    }

    #[test]
    fn committed_entries_are_read_back_and_the_writer_drains_on_drop() {
        let dir = std::env::temp_dir().join(format!("govid-gatelog-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("gate.db");
        let _ = std::fs::remove_file(&path);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let (log, handle, _) = GateLog::open(&path, 30, true).unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            for i in 0..10 {
                log.record(entry(&format!("r{i}"))).await;
            }
            let filter = LogFilter {
                limit: 3,
                ..LogFilter::default()
            };
            let rows = log.recent(&filter).await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(rows.len(), 3);
            assert_eq!(rows[0].entry.reason, "r9");
            log.record(Entry {
                gate: "other".into(),
                ..entry("o1")
            })
            .await;
            let only = |gate: &str, since: Option<u64>, until: Option<u64>| LogFilter {
                gate: Some(gate.to_owned()),
                since,
                until,
                limit: 50,
            };
            let rows = log
                .recent(&only("other", None, None))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].entry.reason, "o1");
            let t = rows[0].entry.time;
            let count = |f: LogFilter| {
                let log = log.clone();
                async move { log.recent(&f).await.map(|r| r.len()).unwrap_or(usize::MAX) }
            };
            assert_eq!(count(only("g", Some(t + 100), None)).await, 0);
            assert_eq!(count(only("g", None, Some(t.saturating_sub(100)))).await, 0);
            assert_eq!(count(only("g", Some(t - 100), Some(t + 100))).await, 10);
        });
        drop(log);
        handle.join().unwrap_or_else(|_| panic!("writer panicked"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn salt_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("govid-salt-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("gate.salt");
        let _ = std::fs::remove_file(&path);
        let a = Salt::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let b = Salt::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.credential_hash("x"), b.credential_hash("x"));
        assert_ne!(
            a.credential_hash("x"),
            Salt::ephemeral().credential_hash("x")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

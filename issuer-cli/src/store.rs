//! The issuer database (`issuer.db`, SQLite in WAL mode): schema, opening, settings.
//!
//! Every state change runs in one `BEGIN IMMEDIATE` transaction together with its audit entry, so
//! a killed process leaves the database as it was before or after the change, and two commands
//! on the same directory take turns (a waiting command gives up after [`BUSY_TIMEOUT_MS`] with a
//! clear "busy" message).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::db::{Connection, OptionalExtension};

use crate::error::{CliError, CliResult};

mod postgres;

/// The database file name in the issuer directory.
pub(crate) const DB_FILE: &str = "issuer.db";

/// How long a command waits for another one to finish writing.
pub(crate) const BUSY_TIMEOUT_MS: u64 = 10_000;

/// Current schema version (in `meta.schema_version`).
const SCHEMA_VERSION: &str = "4";

/// Version 1 → 2: the gate passes issued alongside worker IDs (none for IDs issued before).
const MIGRATE_1_TO_2: &str = GATE_PASS_TEXTS;

/// The used-nonce and used-`jti` tables and the expiry indexes of the OpenID4VCI tables (in
/// [`VCI_TABLES`] too): `serve` creates them at start, so a database that reached version 3 or 4
/// before they were added gets them, and moves the DPoP proof ids an earlier version kept in
/// `vci_dpop_jtis` over, so none of them can be replayed after the upgrade.
pub(crate) const VCI_SERVE_SCHEMA: &str = "
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS vci_used_nonces (
    expires_at   INTEGER NOT NULL,
    nonce_sha256 TEXT NOT NULL,
    PRIMARY KEY (expires_at, nonce_sha256)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vci_used_jtis (
    expires_at INTEGER NOT NULL,
    jti_sha256 TEXT NOT NULL,
    PRIMARY KEY (expires_at, jti_sha256)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO vci_used_jtis(expires_at, jti_sha256)
    SELECT expires_at, jti_sha256 FROM vci_dpop_jtis;
DELETE FROM vci_dpop_jtis;
CREATE INDEX IF NOT EXISTS vci_tokens_expiry ON vci_tokens(expires_at);
COMMIT;
";

/// Version 2 → 3: OpenID4VCI offers, tokens, nonces and deliveries (`serve`).
const MIGRATE_2_TO_3: &str = VCI_TABLES;

/// Version 3 → 4: the transparency log's entries and checkpoints ([`crate::tlog`]).
const MIGRATE_3_TO_4: &str = TLOG_TABLES;

/// The transparency log: entries (canonical bytes, `govid_core::tlog::Entry`) and the
/// checkpoints signed over them. Both append-only: the triggers refuse UPDATE and DELETE (which
/// does not stop someone editing the file; `log verify` finds that).
const TLOG_TABLES: &str = "
CREATE TABLE IF NOT EXISTS tlog_entries (
    idx      INTEGER PRIMARY KEY,            -- leaf index, from 0
    kind     TEXT NOT NULL,                  -- issuer_key, did_document, status_list, trust_bundle
    ref      TEXT NOT NULL,                  -- kid, DID, list URI or bundle seq
    entry    BLOB NOT NULL,                  -- the leaf's bytes
    added_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS tlog_checkpoints (
    size      INTEGER PRIMARY KEY,
    note      TEXT NOT NULL,                 -- the signed checkpoint as published
    signed_at INTEGER NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS tlog_entries_no_update BEFORE UPDATE ON tlog_entries
    BEGIN SELECT RAISE(ABORT, 'tlog_entries is append-only'); END;
CREATE TRIGGER IF NOT EXISTS tlog_entries_no_delete BEFORE DELETE ON tlog_entries
    BEGIN SELECT RAISE(ABORT, 'tlog_entries is append-only'); END;
CREATE TRIGGER IF NOT EXISTS tlog_checkpoints_no_update BEFORE UPDATE ON tlog_checkpoints
    BEGIN SELECT RAISE(ABORT, 'tlog_checkpoints is append-only'); END;
CREATE TRIGGER IF NOT EXISTS tlog_checkpoints_no_delete BEFORE DELETE ON tlog_checkpoints
    BEGIN SELECT RAISE(ABORT, 'tlog_checkpoints is append-only'); END;
";

/// The state of `govid-issuer serve` (OpenID4VCI), in the database so that a second instance on
/// the same directory, or a restart, honours what the first one handed out. Every secret
/// (offer URL id, pre-authorized code, PIN, access token, nonce, notification id) is stored as a
/// SHA-256 only; the PIN's hash includes the pre-authorized code, so the table alone does not
/// give the PIN away by trying the 10^6 candidates. (`IF NOT EXISTS`: a database rolled back to
/// an older schema version by hand may still hold them.)
const VCI_TABLES: &str = "
-- An OpenID4VCI offer, made by `offer` together with the enrollment code `offer_id`.
CREATE TABLE IF NOT EXISTS vci_offers (
    id                INTEGER PRIMARY KEY,
    offer_id          INTEGER NOT NULL REFERENCES offers(id),
    employee_number   TEXT NOT NULL REFERENCES staff(employee_number),
    ref_sha256        TEXT NOT NULL UNIQUE,   -- the id in <public URL>/offers/<id>
    code_sha256       TEXT NOT NULL UNIQUE,   -- the pre-authorized code
    pin_sha256        TEXT NOT NULL,          -- SHA-256(code ‖ ':' ‖ PIN)
    wrong_pins        INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    redeemed_at       INTEGER,                -- the code was exchanged for a token
    dead_at           INTEGER,                -- too many wrong PINs
    cancelled_at      INTEGER,                -- replaced by a newer offer
    holder_thumbprint TEXT,                   -- the phone key the first credential request bound
    credential_id     INTEGER REFERENCES credentials(id)
) STRICT;
CREATE INDEX IF NOT EXISTS vci_offers_staff ON vci_offers(employee_number);

CREATE TABLE IF NOT EXISTS vci_tokens (
    token_sha256 TEXT PRIMARY KEY,
    vci_offer_id INTEGER NOT NULL REFERENCES vci_offers(id),
    jkt          TEXT,                        -- DPoP key thumbprint; NULL: a Bearer token
    expires_at   INTEGER NOT NULL
) STRICT;

-- Written by `serve` before its nonces became stateless and its DPoP proof ids moved to
-- vci_used_jtis; no longer used (`serve` moves what is left in vci_dpop_jtis at start).
CREATE TABLE IF NOT EXISTS vci_nonces (
    nonce_sha256 TEXT PRIMARY KEY,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS vci_dpop_jtis (
    jti_sha256 TEXT PRIMARY KEY,              -- SHA-256(jkt ‖ ':' ‖ jti)
    expires_at INTEGER NOT NULL
) STRICT;
-- c_nonces used by a credential request (the nonces themselves are stateless: a MAC under
-- meta.vci_nonce_key over their expiry) and DPoP proof ids seen (RFC 9449 §11.1), each kept
-- until it could no longer pass its time check. Keyed by expiry first: inserts land at the end
-- of the tree (a few pages per commit, not one random page per row) and the purge of expired
-- rows every 30 s cuts from the front.
CREATE TABLE IF NOT EXISTS vci_used_nonces (
    expires_at   INTEGER NOT NULL,
    nonce_sha256 TEXT NOT NULL,
    PRIMARY KEY (expires_at, nonce_sha256)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vci_used_jtis (
    expires_at INTEGER NOT NULL,              -- the proof's iat + 120 s
    jti_sha256 TEXT NOT NULL,                 -- SHA-256(jkt ‖ ':' ‖ jti)
    PRIMARY KEY (expires_at, jti_sha256)
) STRICT, WITHOUT ROWID;

-- Expired tokens are deleted by expiry every 30 s. (Also created by `serve` at start, for
-- databases made before it was added.)
CREATE INDEX IF NOT EXISTS vci_nonces_expiry ON vci_nonces(expires_at);
CREATE INDEX IF NOT EXISTS vci_dpop_jtis_expiry ON vci_dpop_jtis(expires_at);
CREATE INDEX IF NOT EXISTS vci_tokens_expiry ON vci_tokens(expires_at);

-- A credential sent to a phone: prepared (signed and recorded, response built), then delivered
-- (the whole response was handed to the connection), then the wallet's notification, if any.
CREATE TABLE IF NOT EXISTS vci_deliveries (
    id                  INTEGER PRIMARY KEY,
    vci_offer_id        INTEGER NOT NULL REFERENCES vci_offers(id),
    credential_id       INTEGER NOT NULL REFERENCES credentials(id),
    configuration       TEXT NOT NULL,
    notification_sha256 TEXT NOT NULL UNIQUE,
    prepared_at         INTEGER NOT NULL,
    delivered_at        INTEGER,
    event               TEXT,
    event_at            INTEGER,
    UNIQUE (vci_offer_id, configuration)
) STRICT;
";

/// A table of its own rather than a column of `credential_texts`: a worker ID (≈2.6 KB) and its
/// pass (≈1.55 KB) in one row would fill an 8 KiB page alone; apart, pages stay full.
const GATE_PASS_TEXTS: &str = "
-- The gate pass issued with a worker ID: same holder key, same status entry (its credential).
CREATE TABLE gate_pass_texts (
    credential_id INTEGER PRIMARY KEY REFERENCES credentials(id),
    sd_jwt        TEXT NOT NULL
) STRICT;
";

/// Employee numbers that differ only in case are one person (and would be one file name on
/// case-insensitive disks). Databases made before this index get it when they are opened, unless
/// they already hold such a pair (then commands on those numbers say so).
const STAFF_NOCASE_INDEX: &str =
    "CREATE UNIQUE INDEX IF NOT EXISTS staff_number_nocase ON staff(employee_number COLLATE NOCASE)";

const SCHEMA: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Issuer signing keys: the current one signs, retired ones stay published for verification.
CREATE TABLE keys (
    id          INTEGER PRIMARY KEY,
    kid         TEXT NOT NULL UNIQUE,
    alg         TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    file        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
) STRICT;

CREATE TABLE staff (
    employee_number   TEXT PRIMARY KEY,
    family_name       TEXT NOT NULL,
    given_name        TEXT NOT NULL,
    birth_date        TEXT,
    organization_name TEXT NOT NULL,
    organization_code TEXT NOT NULL,
    department        TEXT,
    position          TEXT,
    grade             TEXT,
    clearance         TEXT,
    access_zones      TEXT NOT NULL,          -- JSON array of strings
    valid_until       TEXT NOT NULL,          -- YYYY-MM-DD, last day of validity
    state             TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','suspended','revoked')),
    state_reason      TEXT,
    holder_jwk        TEXT,                   -- the enrolled phone key (public JWK)
    holder_thumbprint TEXT UNIQUE,
    enrolled_at       INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

-- One-time enrollment codes, stored as SHA-256 of the normalized code, never in clear.
CREATE TABLE offers (
    id              INTEGER PRIMARY KEY,
    employee_number TEXT NOT NULL REFERENCES staff(employee_number),
    code_sha256     TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    cancelled_at    INTEGER
) STRICT;
CREATE INDEX offers_staff ON offers(employee_number);

CREATE TABLE status_lists (
    id         INTEGER PRIMARY KEY,             -- the list number in its URI
    uri        TEXT NOT NULL UNIQUE,
    capacity   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Issued credentials. (list_id, idx) is unique: an index is never given twice.
-- status: 0 valid, 1 revoked (final), 2 suspended.
CREATE TABLE credentials (
    id              INTEGER PRIMARY KEY,
    employee_number TEXT NOT NULL REFERENCES staff(employee_number),
    list_id         INTEGER NOT NULL REFERENCES status_lists(id),
    idx             INTEGER NOT NULL,
    kid             TEXT NOT NULL,
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    status          INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
    reason          TEXT,
    superseded_at   INTEGER,
    UNIQUE (list_id, idx)
) STRICT;
CREATE INDEX credentials_staff ON credentials(employee_number);

-- The issued worker ID, apart from the small rows status changes rewrite.
CREATE TABLE credential_texts (
    credential_id INTEGER PRIMARY KEY REFERENCES credentials(id),
    sd_jwt        TEXT NOT NULL
) STRICT;

-- Append-only, hash-chained, signed log of every state change.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,                   -- JSON
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    kid       TEXT NOT NULL,
    sig       TEXT NOT NULL
) STRICT;
"#;

/// Where the issuer database is: `--db` / `GOVID_ISSUER_DB` (a `postgres://` URL, or the path of
/// a SQLite file), else `issuer.db` in the issuer directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (the URL may hold a password: never printed).
    Postgres(String),
}

static DB_SETTING: OnceLock<Option<String>> = OnceLock::new();

/// Sets `--db` (or, without it, `GOVID_ISSUER_DB`) for this process; once, at start.
pub(crate) fn set_db_setting(db: Option<String>) {
    let db = db
        .or_else(|| std::env::var("GOVID_ISSUER_DB").ok())
        .filter(|d| !d.trim().is_empty());
    let _ = DB_SETTING.set(db);
}

/// The database of the issuer directory `dir`.
pub(crate) fn location(dir: &Path) -> Location {
    match DB_SETTING.get().cloned().flatten() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Location::Postgres(url)
        }
        Some(path) => Location::Sqlite(PathBuf::from(path)),
        None => Location::Sqlite(db_path(dir)),
    }
}

/// How long a command waits for another one to finish writing (`GOVID_ISSUER_BUSY_TIMEOUT_MS`
/// shortens it in tests).
fn busy_wait() -> std::time::Duration {
    let wait = std::env::var("GOVID_ISSUER_BUSY_TIMEOUT_MS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(BUSY_TIMEOUT_MS);
    std::time::Duration::from_millis(wait)
}

/// Sets the per-connection settings: WAL, `synchronous=NORMAL`, busy timeout, foreign keys.
fn configure(conn: &rusqlite::Connection) -> CliResult<()> {
    conn.busy_timeout(busy_wait())?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Creates a new SQLite database at `path` with the schema.
pub(crate) fn create(path: &Path) -> CliResult<Connection> {
    let conn = rusqlite::Connection::open(path)?;
    // 8 KiB pages hold three ~2.7 KB credentials each (4 KiB pages hold one, wasting a third).
    conn.pragma_update(None, "page_size", 8192)?;
    configure(&conn)?;
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(GATE_PASS_TEXTS)?;
    conn.execute_batch(VCI_TABLES)?;
    conn.execute_batch(TLOG_TABLES)?;
    conn.execute_batch(STAFF_NOCASE_INDEX)?;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION],
    )?;
    Ok(Connection::from_sqlite(conn))
}

/// Creates the schema in the empty PostgreSQL database at `url`.
pub(crate) fn create_postgres(url: &str) -> CliResult<Connection> {
    let conn = connect_postgres(url)?;
    postgres::create(&conn)?;
    Ok(conn)
}

fn connect_postgres(url: &str) -> CliResult<Connection> {
    Connection::open_postgres(url, busy_wait()).map_err(|e| {
        if e.starts_with("--db ") {
            // The URL itself is wrong (a refused sslmode, an unreadable sslrootcert, ...).
            CliError::usage(e)
        } else {
            CliError::new("database_unreachable", e)
        }
    })
}

/// A read-only connection to the database of `dir` (SQLite in WAL mode: it reads the last
/// commit while a writer works); for `serve`'s lookups. The schema is the one [`open`] checked.
pub(crate) fn open_reader(dir: &Path) -> CliResult<Connection> {
    let conn = open_side(dir)?;
    match conn.sqlite() {
        Some(c) => c.pragma_update(None, "query_only", true)?,
        None => conn.execute_batch("SET default_transaction_read_only = on")?,
    }
    Ok(conn)
}

/// Another connection to the database of `dir`, with the usual settings; the schema is the one
/// [`open`] checked.
pub(crate) fn open_side(dir: &Path) -> CliResult<Connection> {
    match location(dir) {
        Location::Sqlite(path) => {
            let conn = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure(&conn)?;
            Ok(Connection::from_sqlite(conn))
        }
        Location::Postgres(url) => connect_postgres(&url),
    }
}

/// Opens the database of the issuer directory `dir`, upgrading its schema if it is older.
pub(crate) fn open(dir: &Path) -> CliResult<Connection> {
    let path = match location(dir) {
        Location::Sqlite(path) => path,
        Location::Postgres(url) => {
            let conn = connect_postgres(&url)?;
            postgres::open(&conn, dir)?;
            return Ok(conn);
        }
    };
    if !path.is_file() {
        let hint = if path == db_path(dir) && dir.join("keys").is_dir() {
            " (this directory has keys but no issuer.db: if its database is PostgreSQL, pass \
             --db postgres://… or set GOVID_ISSUER_DB)"
        } else {
            ""
        };
        return Err(CliError::new(
            "no_issuer",
            format!(
                "no issuer in {}: run `govid-issuer init --dir {} ...` first (or check --dir){hint}",
                dir.display(),
                dir.display()
            ),
        ));
    }
    let conn = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    let conn = Connection::from_sqlite(conn);
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match version.as_deref() {
        Some(SCHEMA_VERSION) => {
            add_nocase_index(&conn)?;
            Ok(conn)
        }
        Some("3") => {
            migrate(&conn, MIGRATE_3_TO_4)?;
            add_nocase_index(&conn)?;
            Ok(conn)
        }
        Some("2") => {
            migrate(&conn, &format!("{MIGRATE_2_TO_3}{MIGRATE_3_TO_4}"))?;
            add_nocase_index(&conn)?;
            Ok(conn)
        }
        Some("1") => {
            migrate(&conn, &format!("{MIGRATE_1_TO_2}{MIGRATE_2_TO_3}{MIGRATE_3_TO_4}"))?;
            add_nocase_index(&conn)?;
            Ok(conn)
        }
        Some(v) => Err(CliError::new(
            "schema_version",
            format!("issuer.db has schema version {v}; this govid-issuer reads version {SCHEMA_VERSION}"),
        )),
        None => Err(CliError::new(
            "corrupt_database",
            "issuer.db is not a govid issuer database (no schema version)",
        )),
    }
}

/// Adds [`STAFF_NOCASE_INDEX`] to a database made before it, if no two employee numbers in it
/// differ only in case.
fn add_nocase_index(conn: &Connection) -> CliResult<()> {
    let has = |conn: &Connection| -> CliResult<bool> {
        Ok(conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_schema WHERE type = 'index'
               AND name = 'staff_number_nocase')",
            [],
            |r| r.get(0),
        )?)
    };
    if has(conn)? {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = (|| -> CliResult<()> {
        let pair: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM staff GROUP BY employee_number COLLATE NOCASE
               HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )?;
        if !pair && !has(conn)? {
            conn.execute_batch(STAFF_NOCASE_INDEX)?;
        }
        Ok(())
    })();
    match done {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Upgrades the schema in one write transaction (a concurrent command may have done it first).
fn migrate(conn: &Connection, sql: &str) -> CliResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = (|| -> CliResult<()> {
        if meta(conn, "schema_version")? != SCHEMA_VERSION {
            conn.execute_batch(sql)?;
            set_meta(conn, "schema_version", SCHEMA_VERSION)?;
        }
        Ok(())
    })();
    match done {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// `dir/issuer.db`.
pub(crate) fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

/// Starts a write transaction now (not at the first write), so the command waits its turn
/// before reading what it will change.
pub(crate) fn write_tx(conn: &mut Connection) -> CliResult<crate::db::Transaction<'_>> {
    Ok(conn.write_transaction()?)
}

/// A `meta` value.
pub(crate) fn meta(conn: &Connection, key: &str) -> CliResult<String> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            CliError::new(
                "corrupt_database",
                format!("issuer.db has no `{key}` setting"),
            )
        })
}

/// Sets a `meta` value.
pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> CliResult<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// `query_row` and `execute` through the connection's statement cache: the hot statements of
/// `serve`'s writer and of issuance are compiled once, not at every call.
pub(crate) trait Cached {
    /// [`Connection::query_row`] with a cached statement.
    fn cached_row<T, P: crate::db::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&crate::db::Row<'_>) -> crate::db::Result<T>,
    ) -> crate::db::Result<T>;
    /// [`Connection::execute`] with a cached statement.
    fn cached_exec<P: crate::db::Params>(&self, sql: &str, params: P) -> crate::db::Result<usize>;
}

impl Cached for Connection {
    fn cached_row<T, P: crate::db::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&crate::db::Row<'_>) -> crate::db::Result<T>,
    ) -> crate::db::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn cached_exec<P: crate::db::Params>(&self, sql: &str, params: P) -> crate::db::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

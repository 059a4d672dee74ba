//! The wallet's SQLite database (`wallet.sqlite3` in the app's directory).
//!
//! It holds credentials (their issued text, the issuer key that verified them, their claims for
//! display and their last known status), the trusted issuer keys, and the holder keys' aliases
//! and public JWKs. Private keys never come here: they stay in the key store.
//!
//! One connection behind a `Mutex`: wallet calls are short and rare, so serializing them costs
//! nothing and keeps SQLite's threading out of the picture.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{params, Connection, OptionalExtension as _};

use crate::error::WalletError;

/// The schema, version 1. Bump `SCHEMA_VERSION` and add a migration step for any change.
const SCHEMA_V1: &str = "
CREATE TABLE holder_keys (
    alias       TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    thumbprint  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);
CREATE TABLE trusted_issuers (
    thumbprint  TEXT NOT NULL,
    iss         TEXT NOT NULL,   -- '' when the key is trusted for any `iss`
    jwk         TEXT NOT NULL,
    kid         TEXT NOT NULL,   -- '' or an extra `kid` the key answers to (a DID URL)
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (thumbprint, iss)
);
CREATE TABLE credentials (
    id                TEXT PRIMARY KEY,
    issued            TEXT NOT NULL,
    issuer_jwk        TEXT NOT NULL,
    key_alias         TEXT NOT NULL REFERENCES holder_keys(alias),
    claims            TEXT NOT NULL,
    received_at       INTEGER NOT NULL,
    status            INTEGER,        -- NULL: never checked; else the status list value
    status_checked_at INTEGER
);
";
const SCHEMA_VERSION: i64 = 2;

/// The wallet's id of a credential, from its issued text: base64url of the first 16 bytes of
/// SHA-256 over the issuer JWT's signing input (`header.payload`). Disclosure order does not
/// change it, and neither does the signature: an ES256 signature has a twin that anyone can
/// compute, and a copy of a credential carrying it is the same credential. (Schema version 1
/// hashed the whole issuer JWT; the migration to 2 recomputes stored ids.)
pub(crate) fn credential_id(issued: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let jwt = issued.split('~').next().unwrap_or_default();
    let signed = jwt
        .rsplit_once('.')
        .map_or(jwt, |(signing_input, _)| signing_input);
    govid_core::b64::encode(&Sha256::digest(signed.as_bytes())[..16])
}

/// Version 1 to 2: credential ids no longer cover the signature. Two rows that were one
/// credential (a malleated copy) become one: the first received is kept.
fn migrate_v1_to_v2(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let rows: Vec<(String, String)> = {
        let mut stmt =
            tx.prepare("SELECT id, issued FROM credentials ORDER BY received_at, rowid")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut kept = std::collections::HashSet::new();
    for (old, issued) in rows {
        let new = credential_id(&issued);
        if kept.insert(new.clone()) {
            tx.execute(
                "UPDATE credentials SET id = ?2 WHERE id = ?1",
                params![old, new],
            )?;
        } else {
            tx.execute("DELETE FROM credentials WHERE id = ?1", params![old])?;
        }
    }
    tx.execute_batch("PRAGMA user_version = 2;")?;
    tx.commit()
}

/// A holder key's public record.
#[derive(Clone, Debug)]
pub(crate) struct HolderKeyRow {
    pub(crate) alias: String,
    pub(crate) alg: String,
    pub(crate) public_jwk: String,
}

/// A trusted issuer key.
#[derive(Clone, Debug)]
pub(crate) struct IssuerRow {
    pub(crate) thumbprint: String,
    pub(crate) iss: Option<String>,
    pub(crate) jwk: String,
    pub(crate) kid: Option<String>,
}

/// A stored credential.
#[derive(Clone, Debug)]
pub(crate) struct CredentialRow {
    pub(crate) id: String,
    pub(crate) issued: String,
    pub(crate) issuer_jwk: String,
    pub(crate) key_alias: String,
    pub(crate) claims: String,
    pub(crate) received_at: u64,
    pub(crate) status: Option<u8>,
    pub(crate) status_checked_at: Option<u64>,
}

pub(crate) struct Store {
    conn: Mutex<Connection>,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// Opens or creates the database at `path`, migrating it to the current schema.
    pub(crate) fn open(path: &Path) -> Result<Self, WalletError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        match version {
            0 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA_V1} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))?;
            }
            1 => migrate_v1_to_v2(&mut conn)?,
            SCHEMA_VERSION => {}
            v => {
                return Err(WalletError::storage(format!(
                    "wallet database has schema version {v}, newer than this library ({SCHEMA_VERSION})"
                )))
            }
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held cannot leave a half-written row (every write is one
        // statement or one transaction), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn insert_holder_key(
        &self,
        row: &HolderKeyRow,
        thumbprint: &str,
        now: u64,
    ) -> Result<(), WalletError> {
        self.conn().execute(
            "INSERT INTO holder_keys (alias, alg, public_jwk, thumbprint, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![row.alias, row.alg, row.public_jwk, thumbprint, to_i64(now)],
        )?;
        Ok(())
    }

    pub(crate) fn holder_key_by_thumbprint(
        &self,
        thumbprint: &str,
    ) -> Result<Option<HolderKeyRow>, WalletError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT alias, alg, public_jwk FROM holder_keys WHERE thumbprint = ?1",
                [thumbprint],
                Self::map_holder_key,
            )
            .optional()?)
    }

    pub(crate) fn holder_key(&self, alias: &str) -> Result<Option<HolderKeyRow>, WalletError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT alias, alg, public_jwk FROM holder_keys WHERE alias = ?1",
                [alias],
                Self::map_holder_key,
            )
            .optional()?)
    }

    /// Deletes a holder key's record if no credential uses it; returns whether it did.
    pub(crate) fn delete_unused_holder_key(&self, alias: &str) -> Result<bool, WalletError> {
        let n = self.conn().execute(
            "DELETE FROM holder_keys WHERE alias = ?1
             AND NOT EXISTS (SELECT 1 FROM credentials WHERE key_alias = ?1)",
            [alias],
        )?;
        Ok(n > 0)
    }

    /// Pins issuer keys in one transaction, first removing every key pinned for `replacing`
    /// (the issuer whose whole key set `rows` is).
    pub(crate) fn add_issuers(
        &self,
        replacing: Option<&str>,
        rows: &[IssuerRow],
        now: u64,
    ) -> Result<(), WalletError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(iss) = replacing {
            tx.execute("DELETE FROM trusted_issuers WHERE iss = ?1", [iss])?;
        }
        for row in rows {
            tx.execute(
                "INSERT OR REPLACE INTO trusted_issuers (thumbprint, iss, jwk, kid, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    row.thumbprint,
                    row.iss.as_deref().unwrap_or(""),
                    row.jwk,
                    row.kid.as_deref().unwrap_or(""),
                    to_i64(now)
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn remove_issuer(&self, thumbprint: &str) -> Result<bool, WalletError> {
        let n = self.conn().execute(
            "DELETE FROM trusted_issuers WHERE thumbprint = ?1",
            [thumbprint],
        )?;
        Ok(n > 0)
    }

    pub(crate) fn issuers(&self) -> Result<Vec<IssuerRow>, WalletError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT thumbprint, iss, jwk, kid FROM trusted_issuers ORDER BY added_at")?;
        let rows = stmt.query_map([], |r| {
            let iss: String = r.get(1)?;
            let kid: String = r.get(3)?;
            Ok(IssuerRow {
                thumbprint: r.get(0)?,
                iss: (!iss.is_empty()).then_some(iss),
                jwk: r.get(2)?,
                kid: (!kid.is_empty()).then_some(kid),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores a credential; a credential already stored under `id` is left as it is.
    pub(crate) fn insert_credential(&self, row: &CredentialRow) -> Result<(), WalletError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO credentials
             (id, issued, issuer_jwk, key_alias, claims, received_at, status, status_checked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)",
            params![
                row.id,
                row.issued,
                row.issuer_jwk,
                row.key_alias,
                row.claims,
                to_i64(row.received_at)
            ],
        )?;
        Ok(())
    }

    /// A `holder_keys` row selected as `alias, alg, public_jwk`.
    fn map_holder_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<HolderKeyRow> {
        Ok(HolderKeyRow {
            alias: r.get(0)?,
            alg: r.get(1)?,
            public_jwk: r.get(2)?,
        })
    }

    fn map_credential(r: &rusqlite::Row<'_>) -> rusqlite::Result<CredentialRow> {
        Ok(CredentialRow {
            id: r.get(0)?,
            issued: r.get(1)?,
            issuer_jwk: r.get(2)?,
            key_alias: r.get(3)?,
            claims: r.get(4)?,
            received_at: to_u64(r.get(5)?),
            status: r
                .get::<_, Option<i64>>(6)?
                .and_then(|v| u8::try_from(v).ok()),
            status_checked_at: r.get::<_, Option<i64>>(7)?.map(to_u64),
        })
    }

    const CREDENTIAL_COLUMNS: &'static str =
        "id, issued, issuer_jwk, key_alias, claims, received_at, status, status_checked_at";

    pub(crate) fn credential(&self, id: &str) -> Result<Option<CredentialRow>, WalletError> {
        let sql = format!(
            "SELECT {} FROM credentials WHERE id = ?1",
            Self::CREDENTIAL_COLUMNS
        );
        Ok(self
            .conn()
            .query_row(&sql, [id], Self::map_credential)
            .optional()?)
    }

    pub(crate) fn credentials(&self) -> Result<Vec<CredentialRow>, WalletError> {
        let conn = self.conn();
        let sql = format!(
            // Arrival order: rowid breaks ties within a second (accepting again keeps the row).
            "SELECT {} FROM credentials ORDER BY received_at, rowid",
            Self::CREDENTIAL_COLUMNS
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], Self::map_credential)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn delete_credential(&self, id: &str) -> Result<bool, WalletError> {
        let n = self
            .conn()
            .execute("DELETE FROM credentials WHERE id = ?1", [id])?;
        Ok(n > 0)
    }

    pub(crate) fn set_status(&self, id: &str, status: u8, now: u64) -> Result<(), WalletError> {
        self.conn().execute(
            "UPDATE credentials SET status = ?2, status_checked_at = ?3 WHERE id = ?1",
            params![id, i64::from(status), to_i64(now)],
        )?;
        Ok(())
    }
}

//! The audit log: every state change, hash-chained and signed by the issuer key.
//!
//! Entry `n` stores `prev_hash` (entry `n-1`'s `hash`, 64 zeros for the first) and
//! `hash = SHA-256("govid-audit-v1\n" seq "\n" at "\n" action "\n" detail "\n" prev_hash)` in hex,
//! and `sig`, the issuer key's signature over the ASCII `hash`, with that key's `kid`. Changing,
//! removing or inserting an entry breaks the chain at that entry; forging one needs the key.
//! Cutting entries off the end does not (nothing here is anchored outside `issuer.db`: the head
//! `publish` prints is what an auditor keeps); [`crate::replay`] says what that leaves open.

use crate::db::{Connection, OptionalExtension};
use govid_core::b64;
use govid_core::jose::{verify_signature, PublicKey, Signer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::CliResult;
use crate::keys::IssuerSigner;
use crate::store::Cached;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn entry_hash(seq: i64, at: i64, action: &str, detail: &str, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("govid-audit-v1\n{seq}\n{at}\n{action}\n{detail}\n{prev_hash}").as_bytes());
    to_hex(&h.finalize())
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The newest entry of the chain: what an auditor keeps to notice entries cut off the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: i64,
    /// The entry's `hash`, hex.
    pub(crate) hash: String,
}

/// Appends an entry, in the caller's transaction; returns it as the new head.
pub(crate) fn append(
    conn: &Connection,
    signer: &IssuerSigner,
    at: u64,
    action: &str,
    detail: &Value,
) -> CliResult<Head> {
    let last: Option<(i64, String)> = conn
        .cached_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let detail = detail.to_string();
    let at = at as i64;
    let hash = entry_hash(seq, at, action, &detail, &prev);
    let sig = b64::encode(signer.sign(hash.as_bytes())?);
    conn.cached_exec(
        "INSERT INTO audit(seq, at, action, detail, prev_hash, hash, kid, sig)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        crate::db::params![seq, at, action, detail, prev, hash, signer.kid, sig],
    )?;
    Ok(Head { seq, hash })
}

/// The result of checking the chain.
pub(crate) enum ChainCheck {
    /// Every entry is intact.
    Intact { entries: i64, head: String },
    /// The first broken entry and why.
    Broken { seq: i64, reason: String },
}

/// Checks every entry in order against the keys in `keys` (kid → key).
pub(crate) fn verify_chain(
    conn: &Connection,
    keys: &[(String, PublicKey)],
) -> CliResult<ChainCheck> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, action, detail, prev_hash, hash, kid, sig FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_owned();
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let at: i64 = row.get(1)?;
        let action: String = row.get(2)?;
        let detail: String = row.get(3)?;
        let prev_hash: String = row.get(4)?;
        let hash: String = row.get(5)?;
        let kid: String = row.get(6)?;
        let sig: String = row.get(7)?;
        let broken = |reason: &str| ChainCheck::Broken {
            seq,
            reason: reason.to_owned(),
        };
        if seq != expected_seq {
            return Ok(ChainCheck::Broken {
                seq: expected_seq,
                reason: format!("entry {expected_seq} is missing (next entry is {seq})"),
            });
        }
        if prev_hash != prev {
            return Ok(broken(
                "its prev_hash does not match the previous entry's hash",
            ));
        }
        if entry_hash(seq, at, &action, &detail, &prev_hash) != hash {
            return Ok(broken(
                "its content does not match its hash (the entry was changed)",
            ));
        }
        let Some((_, key)) = keys.iter().find(|(k, _)| *k == kid) else {
            return Ok(broken("it is signed by an unknown key"));
        };
        let sig_ok = b64::decode(&sig).is_some_and(|sig| {
            verify_signature(key.algorithm(), key, hash.as_bytes(), &sig).is_ok()
        });
        if !sig_ok {
            return Ok(broken("its signature does not verify"));
        }
        prev = hash;
        expected_seq += 1;
    }
    Ok(ChainCheck::Intact {
        entries: expected_seq - 1,
        head: prev,
    })
}

/// Staff numbers as an audit entry records them: up to 100 in clear; beyond that the count, the
/// first and last, and the SHA-256 of the list (one number a line).
pub(crate) fn staff_numbers(numbers: &[&str]) -> serde_json::Value {
    if numbers.len() <= 100 {
        serde_json::json!({"staff": numbers})
    } else {
        serde_json::json!({"count": numbers.len(), "first": numbers.first(),
            "last": numbers.last(),
            "staff_sha256": to_hex(&Sha256::digest(numbers.join("\n").as_bytes()))})
    }
}

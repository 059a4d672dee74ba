//! The issuer's transparency log (issue #19): a C2SP tiled log of its keys, DID documents,
//! status lists and trust bundles, kept in `issuer.db` and published by `publish` under
//! `OUT/log/`. Entries, tiles, checkpoints and proofs are made by `govid_core::tlog`; this module
//! stores them and writes the files.
//!
//! ```text
//! OUT/log/checkpoint                 the newest signed checkpoint (c2sp.org/tlog-checkpoint)
//! OUT/log/tile/<L>/<N>[.p/<W>]       hash tiles (c2sp.org/tlog-tiles)
//! OUT/log/tile/entries/<N>[.p/<W>]   entry bundles: the entries' canonical bytes
//! OUT/log/log.vkey                   the log's public key (signed-note verifier key)
//! OUT/<status list>.tlog-proof       inclusion proof of that token (c2sp.org/tlog-proof)
//! OUT/trust-bundle.jwt.tlog-proof    inclusion proof of the bundle
//! OUT/.well-known/did.json.tlog-proof  inclusion proof of the DID document as published
//! ```
//!
//! The origin is `<host>/log`, the scheme-less URL of `OUT/log/` (tlog-tiles: the origin SHOULD
//! be the log's URL prefix), with the host of the status list URLs, which are served from `OUT`.
//! It is fixed when the log key is made (`meta.tlog_origin`). The log key (`keys/log.jwk`,
//! Ed25519, 0600) is not the credential signing key: a gate trusting a checkpoint trusts no
//! credential by it, and rotating the issuer key leaves the log's identity alone.

use std::path::Path;

use crate::db::{params, Connection, OptionalExtension};
use govid_core::jose::{Algorithm, PublicKey, SoftwareSigner};
use govid_core::tlog::{self, Entry, KeyEntry, KeyEvent, LogSigner, MemoryTree, TlogProof};
use rand_core::OsRng;
use sha2::{Digest, Sha256};

use crate::error::{CliError, CliResult};
use crate::fsutil;
use crate::keys::{self, IssuerSigner};
use crate::store;

/// The log key file, beside the other keys.
pub(crate) const LOG_KEY_FILE: &str = "keys/log.jwk";

/// The log's folder in the publish folder.
pub(crate) const LOG_DIR: &str = "log";

/// Suffix of the inclusion proof written beside a published file (tlog-proof's SHOULD).
pub(crate) const PROOF_SUFFIX: &str = ".tlog-proof";

/// The origin for an issuer whose status lists are at `status_base` (`https://host/...`).
pub(crate) fn origin_for(status_base: &str) -> Option<String> {
    let rest = status_base
        .strip_prefix("https://")
        .or_else(|| status_base.strip_prefix("http://"))?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{host}/{LOG_DIR}"))
}

/// Makes the log key and fixes the origin, unless the issuer has them. `init` calls this for a
/// new issuer; `publish` for one made before the log existed.
pub(crate) fn ensure_key(dir: &Path, conn: &Connection) -> CliResult<()> {
    let have_origin = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'tlog_origin'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .is_some();
    if !have_origin {
        let base = store::meta(conn, "status_base_url")?;
        let origin = origin_for(&base).ok_or_else(|| {
            CliError::new(
                "bad_uri",
                format!("status base URL {base} has no host for the log's origin"),
            )
        })?;
        store::set_meta(conn, "tlog_origin", &origin)?;
    }
    if !dir.join(LOG_KEY_FILE).exists() {
        let key = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        keys::write_private_key(dir, LOG_KEY_FILE, &key)?;
    }
    Ok(())
}

/// Loads the log signer (key file and origin).
pub(crate) fn load_signer(dir: &Path, conn: &Connection) -> CliResult<LogSigner> {
    let origin = store::meta(conn, "tlog_origin")?;
    let SoftwareSigner::Ed25519(key) = keys::read_private_key(dir, LOG_KEY_FILE)? else {
        return Err(CliError::new(
            "bad_key_file",
            format!("{LOG_KEY_FILE} is not an Ed25519 key"),
        ));
    };
    LogSigner::from_seed(&origin, &key.to_bytes()).map_err(|e| {
        CliError::new(
            "bad_log_origin",
            format!("the log origin {origin:?} is not usable: {e}"),
        )
    })
}

/// Every entry, in order, as stored (canonical bytes).
pub(crate) fn entries(conn: &Connection) -> CliResult<Vec<(i64, Vec<u8>)>> {
    let mut stmt = conn.prepare("SELECT idx, entry FROM tlog_entries ORDER BY idx")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest checkpoint recorded, as signed.
pub(crate) fn last_checkpoint(conn: &Connection) -> CliResult<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT size, note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn append(conn: &Connection, idx: i64, entry: &Entry, reference: &str, now: u64) -> CliResult<()> {
    let bytes = entry
        .to_bytes()
        .map_err(|e| CliError::new("log_error", e.to_string()))?;
    conn.execute(
        "INSERT INTO tlog_entries(idx, kind, ref, entry, added_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![idx, entry.kind(), reference, bytes, now as i64],
    )?;
    Ok(())
}

/// Issuer keys not yet in the log, oldest first: the first key is `init`, each later one a
/// rotation from the one before.
fn key_entries(conn: &Connection) -> CliResult<Vec<(Entry, String)>> {
    let mut stmt = conn.prepare(
        "SELECT kid, alg, public_jwk, created_at,
                kid IN (SELECT ref FROM tlog_entries WHERE kind = 'issuer_key')
         FROM keys ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    let mut previous: Option<String> = None;
    for row in rows {
        let (kid, alg, jwk, created_at, logged) = row?;
        let thumbprint = PublicKey::from_jwk_str(&jwk)
            .map_err(|_| {
                CliError::new(
                    "corrupt_database",
                    format!("key {kid} in issuer.db is not a valid public key"),
                )
            })?
            .thumbprint();
        if !logged {
            let event = match previous.take() {
                None => KeyEvent::Init,
                Some(previous_thumbprint) => KeyEvent::Rotate {
                    previous_thumbprint,
                },
            };
            let entry = Entry::Key(KeyEntry {
                event,
                kid: kid.clone(),
                alg,
                thumbprint: thumbprint.clone(),
                valid_from: u64::try_from(created_at).unwrap_or(0),
            });
            out.push((entry, kid));
        }
        previous = Some(thumbprint);
    }
    Ok(out)
}

/// What `publish` just wrote, for the log.
pub(crate) struct Published<'a> {
    pub(crate) did: &'a str,
    pub(crate) did_document: &'a [u8],
    /// Where the DID document is published, under OUT (its proof goes beside it).
    pub(crate) did_document_path: &'a str,
    /// (uri, path under OUT, token) of each status list.
    pub(crate) tokens: Vec<(&'a str, &'a str, &'a str)>,
    pub(crate) bundle_seq: u64,
    pub(crate) bundle: &'a str,
    pub(crate) iat: u64,
}

/// The log after a publish, for its report.
pub(crate) struct LogReport {
    pub(crate) size: u64,
    pub(crate) root: String,
    pub(crate) origin: String,
    pub(crate) vkey: String,
    /// The audit entry recording the checkpoint: the audit chain's head after publish.
    pub(crate) audit_head: crate::audit::Head,
    /// What the witnesses said, with `--witness`.
    pub(crate) witnessed: Option<crate::witness::Collected>,
}

/// Appends what `publish` wrote to the log, signs a checkpoint (recorded in the database and the
/// audit chain, in one transaction), then writes the tiles, the proofs and, last, `checkpoint`.
pub(crate) fn publish(
    dir: &Path,
    conn: &mut Connection,
    issuer_signer: &IssuerSigner,
    now: u64,
    out: &Path,
    p: &Published<'_>,
    witnesses: Option<&crate::witness::Witnesses>,
) -> CliResult<LogReport> {
    let tx = store::write_tx(conn)?;
    ensure_key(dir, &tx)?;
    let log = load_signer(dir, &tx)?;
    let old: Vec<Vec<u8>> = entries(&tx)?.into_iter().map(|(_, e)| e).collect();
    let old_size = old.len() as u64;
    let mut next = old.len() as i64;
    let mut add = |entry: &Entry, reference: &str| -> CliResult<i64> {
        append(&tx, next, entry, reference, now)?;
        next += 1;
        Ok(next - 1)
    };
    for (entry, kid) in key_entries(&tx)? {
        add(&entry, &kid)?;
    }
    let did_entry = Entry::DidDocument {
        did: p.did.to_owned(),
        sha256: sha256(p.did_document),
    };
    let last_did: Option<Vec<u8>> = tx
        .query_row(
            "SELECT entry FROM tlog_entries WHERE kind = 'did_document' ORDER BY idx DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let did_index = if last_did.as_deref() != did_entry.to_bytes().ok().as_deref() {
        add(&did_entry, p.did)?
    } else {
        tx.query_row(
            "SELECT idx FROM tlog_entries WHERE kind = 'did_document' ORDER BY idx DESC LIMIT 1",
            [],
            |r| r.get(0),
        )?
    };
    // The DID document's proof, beside it: a wallet that trusts HR's keys from the document
    // checks that the document it was given is the one in the log (no split view).
    let mut proofs = vec![(format!("{}{PROOF_SUFFIX}", p.did_document_path), did_index)];
    for (uri, path, token) in &p.tokens {
        let entry = Entry::StatusList {
            uri: (*uri).to_owned(),
            iat: p.iat,
            sha256: sha256(token.as_bytes()),
        };
        proofs.push((format!("{path}{PROOF_SUFFIX}"), add(&entry, uri)?));
    }
    let bundle = Entry::TrustBundle {
        seq: p.bundle_seq,
        sha256: sha256(p.bundle.as_bytes()),
    };
    proofs.push((
        format!("trust-bundle.jwt{PROOF_SUFFIX}"),
        add(&bundle, &p.bundle_seq.to_string())?,
    ));

    let all: Vec<Vec<u8>> = entries(&tx)?.into_iter().map(|(_, e)| e).collect();
    let tree = MemoryTree::from_entries(all.iter().map(Vec::as_slice));
    let size = tree.size();
    let root = tree.root();
    let note = log
        .sign_checkpoint(size, root)
        .map_err(|e| CliError::new("log_error", e.to_string()))?;
    let note_text = String::from_utf8_lossy(&note).into_owned();
    tx.execute(
        "INSERT INTO tlog_checkpoints(size, note, signed_at) VALUES (?1, ?2, ?3)",
        params![size as i64, note_text, now as i64],
    )?;
    // The checkpoint is in the audit chain too; its entry is the new head publish reports.
    let audit_head = crate::audit::append(
        &tx,
        issuer_signer,
        now,
        "log_checkpoint",
        &serde_json::json!({"origin": log.name(), "size": size, "root": root.to_string(),
                            "entries_added": size - old_size}),
    )?;
    store::set_meta(
        &tx,
        "published_audit_head",
        &format!("{}:{}", audit_head.seq, audit_head.hash),
    )?;
    tx.commit()?;

    // issuer.db keeps the checkpoint as the log signed it; the published one carries the
    // witnesses' cosignatures too.
    let witnessed = witnesses.map(|w| crate::witness::collect(w, &tree, &note, old_size));
    let note = match &witnessed {
        Some(c) => tlog::add_signature_lines(&note, c.lines.concat().as_bytes())
            .map_err(|e| CliError::new("log_error", e.to_string()))?,
        None => note,
    };

    let log_out = out.join(LOG_DIR);
    for (tile, data) in tree
        .new_hash_tiles(old_size)
        .into_iter()
        .chain(tlog::new_entry_bundles(&all, old_size))
    {
        fsutil::replace(&log_out.join(tlog::tile_path(&tile)), &data, 0o644)?;
    }
    for (file, index) in proofs {
        let index = index as u64;
        let hashes = tree
            .inclusion_proof(size, index)
            .ok_or_else(|| CliError::new("log_error", "no inclusion proof for a new entry"))?;
        let proof = TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: note.clone(),
        };
        fsutil::replace(&out.join(file), proof.to_text().as_bytes(), 0o644)?;
    }
    let vkey = log.verifier_key();
    fsutil::replace(
        &log_out.join("log.vkey"),
        format!("{vkey}\n").as_bytes(),
        0o644,
    )?;
    fsutil::replace(&log_out.join("checkpoint"), &note, 0o644)?;
    Ok(LogReport {
        size,
        root: root.to_string(),
        origin: log.name().to_owned(),
        vkey,
        audit_head,
        witnessed,
    })
}

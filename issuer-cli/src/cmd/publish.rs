//! `publish`: the static files gates and wallets fetch.
//!
//! ```text
//! OUT/<path of each status list uri>   e.g. OUT/status/1: Status List Token (statuslist+jwt)
//! OUT/.well-known/did.json             did:web DID document (OUT/<path>/did.json for did:web:host:path)
//! OUT/.well-known/jwks.json            the same keys as a JWKS
//! OUT/trust-bundle.jwt                 signed offline trust bundle for gates without network
//! OUT/operator.jwk                     public operator key gates pin to check the bundle
//! OUT/log/…, OUT/….tlog-proof           the transparency log ([`crate::tlog`])
//! ```
//!
//! Each file is replaced atomically. The bundle's `seq` is taken (and the audit entry written)
//! in one transaction before any file is written, so a `seq` is never reused for other content.
//! Before anything is signed, the audit chain is verified and replayed against the database
//! ([`crate::replay`]): if the database does not match it, nothing is published. The status
//! lists are built from the replayed log, and an entry the list already in `OUT` shows as revoked
//! stays revoked (revocation is final, whatever an older copy of `issuer.db` says).
//! The audit chain's head after that entry is printed (`audit_head` in `--json`) and kept in
//! `meta.published_audit_head`, for an auditor to anchor the log outside this directory.

use std::path::Path;

use govid_core::jose::Signer;
use serde_json::json;

use crate::audit::{self, verify_chain, ChainCheck};
use crate::clock::{self, DAY};
use crate::did::{DidMethod, WebTarget};
use crate::error::{CliError, CliResult};
use crate::fsutil;
use crate::issuer::{pretty, Issuer};
use crate::keys;
use crate::output::{abs, Report};
use crate::replay;
use crate::statuslist::{published_revoked, sign_token, uri_path, INVALID, VALID};
use crate::store;

/// Seconds a gate may cache a status list before fetching it again.
const STATUS_TTL: u64 = 3600;

/// Findings named in a refused publish (all of them: `audit verify`).
const FINDINGS_SHOWN: usize = 5;

/// Refuses to go on unless the audit chain is intact and the database matches it; returns the
/// replayed log.
fn check_log(
    tx: &crate::db::Connection,
    keys: &[(String, govid_core::jose::PublicKey)],
) -> CliResult<replay::Ledger> {
    if let ChainCheck::Broken { seq, reason } = verify_chain(tx, keys)? {
        return Err(CliError::new(
            "audit_broken",
            format!(
                "cannot publish: the audit log is broken at entry {seq}: {reason}. Nothing was \
                 published. Run `govid-issuer audit verify`, and tell your security officer."
            ),
        )
        .with_details(json!({"first_broken": seq, "reason": reason})));
    }
    let ledger = replay::check(tx)?;
    if !ledger.findings.is_empty() {
        let n = ledger.findings.len();
        let (text, listed) = replay::describe(&ledger.findings, FINDINGS_SHOWN);
        return Err(CliError::new(
            "audit_mismatch",
            format!(
                "cannot publish: issuer.db does not match the audit log in {n} place(s), so the \
                 status lists would not be the ones the log records:{text}\nNothing was \
                 published. Run `govid-issuer audit verify` to see every one. {}",
                crate::cmd::audit::MISMATCH_ADVICE
            ),
        )
        .with_details(json!({"mismatches": listed, "mismatches_total": n})));
    }
    Ok(ledger)
}

pub(crate) fn run(
    dir: &Path,
    out: &Path,
    valid_days: u32,
    max_staleness_hours: u32,
    witnesses: Option<&crate::witness::Witnesses>,
) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let operator = keys::load_operator(dir)?;
    let now = clock::now()?;
    let exp = now + u64::from(valid_days) * DAY;

    let keys: Vec<_> = keys::all_keys(&issuer.conn)?
        .into_iter()
        .map(|k| (k.kid, k.public))
        .collect();
    let tx = store::write_tx(&mut issuer.conn)?;
    let ledger = check_log(&tx, &keys)?;
    // The log's status of every ID, per list: what the lists publish.
    let mut by_list: std::collections::HashMap<i64, std::collections::BTreeMap<u32, u8>> =
        std::collections::HashMap::new();
    for &((list, idx), status) in ledger.credentials.values() {
        if status != VALID {
            by_list.entry(list).or_default().insert(idx, status);
        }
    }
    let public_keys: Vec<_> = keys.into_iter().map(|(_, k)| k).collect();
    let mut kept_revoked = Vec::new();
    let seq: u64 = store::meta(&tx, "bundle_seq")?.parse().unwrap_or(0) + 1;
    store::set_meta(&tx, "bundle_seq", &seq.to_string())?;
    let lists: Vec<(i64, String, u32)> = {
        let mut stmt = tx.prepare("SELECT id, uri, capacity FROM status_lists ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut tokens = Vec::with_capacity(lists.len());
    for (id, uri, capacity) in &lists {
        let path = uri_path(uri).ok_or_else(|| {
            CliError::new(
                "bad_uri",
                format!("status list uri {uri} has no usable path"),
            )
        })?;
        let mut entries = by_list.remove(id).unwrap_or_default();
        // Revoked once published, revoked for good.
        for idx in published_revoked(&out.join(&path), uri, &public_keys, now) {
            if idx < *capacity && entries.get(&idx) != Some(&INVALID) {
                entries.insert(idx, INVALID);
                kept_revoked.push(json!({"uri": uri, "idx": idx}));
            }
        }
        let entries: Vec<(u32, u8)> = entries.into_iter().collect();
        let token = sign_token(uri, *capacity, &entries, (now, exp, STATUS_TTL), &signer)?;
        tokens.push((uri.clone(), path, token, entries.len()));
    }
    // The publish's own entry is the head an auditor anchors: `audit verify` run right after
    // prints the same hash, and reports any later change to entries up to it.
    let head = audit::append(
        &tx,
        &signer,
        now,
        "publish",
        &json!({"bundle_seq": seq, "lists": lists.iter().map(|l| &l.1).collect::<Vec<_>>(), "exp": exp,
                "kept_revoked": kept_revoked.len()}),
    )?;
    store::set_meta(
        &tx,
        "published_audit_head",
        &format!("{}:{}", head.seq, head.hash),
    )?;
    tx.commit()?;

    let (doc, jwks) = issuer.public_documents()?;
    let doc_dir = match issuer.method {
        DidMethod::Web => WebTarget::from_did(&issuer.did)
            .map(|w| w.did_json_path())
            .unwrap_or_else(|| ".well-known/did.json".to_owned()),
        DidMethod::Key => "did.json".to_owned(),
    };
    let doc_path = out.join(&doc_dir);
    let jwks_path = doc_path.with_file_name("jwks.json");
    fsutil::create_dir_all(out, 0o755)?;
    for (_, path, token, _) in &tokens {
        fsutil::replace(&out.join(path), token.as_bytes(), 0o644)?;
    }
    fsutil::replace(&doc_path, pretty(&doc).as_bytes(), 0o644)?;
    fsutil::replace(&jwks_path, pretty(&jwks).as_bytes(), 0o644)?;
    issuer.write_public_files()?;

    let bundle = crate::bundle::build(
        &issuer,
        seq,
        now,
        u64::from(max_staleness_hours) * 3600,
        &tokens,
        &operator,
    )?;
    fsutil::replace(&out.join("trust-bundle.jwt"), bundle.as_bytes(), 0o644)?;
    fsutil::replace(
        &out.join("operator.jwk"),
        pretty(&operator.public_key().to_jwk()).as_bytes(),
        0o644,
    )?;
    // The transparency log: what was just written, appended and proven (crate::tlog).
    let doc_text = pretty(&doc);
    let log = crate::tlog::publish(
        dir,
        &mut issuer.conn,
        &signer,
        now,
        out,
        &crate::tlog::Published {
            did: &issuer.did,
            did_document: doc_text.as_bytes(),
            did_document_path: &doc_dir,
            tokens: tokens
                .iter()
                .map(|(u, p, t, _)| (u.as_str(), p.as_str(), t.as_str()))
                .collect(),
            bundle_seq: seq,
            bundle: &bundle,
            iat: now,
        },
        witnesses,
    )?;
    let head = log.audit_head.clone();

    let mut text = format!("Published to {}:\n", out.display());
    for (uri, path, _, n) in &tokens {
        text.push_str(&format!("  {path:<28} status list {uri} ({n} not valid)\n"));
    }
    text.push_str(&format!(
        "  {doc_dir:<28} DID document\n  {:<28} public keys\n  {:<28} trust bundle #{seq} for offline gates\n  {:<28} operator key gates pin\n",
        jwks_path.strip_prefix(out).map(|p| p.display().to_string()).unwrap_or_default(),
        "trust-bundle.jwt",
        "operator.jwk",
    ));
    text.push_str(&format!(
        "  {:<28} transparency log: checkpoint of {} entries, tiles, and a .tlog-proof beside each list and the bundle\n",
        "log/", log.size
    ));
    if let Some(w) = &log.witnessed {
        text.push_str(&format!(
            "  {:<28} cosigned by {} witness(es): {}\n",
            "log/checkpoint",
            w.cosigners.len(),
            if w.cosigners.is_empty() {
                "none".to_owned()
            } else {
                w.cosigners.join(", ")
            }
        ));
        for (url, why) in &w.failures {
            text.push_str(&format!("  witness {url}: {why}\n"));
        }
    }
    if !kept_revoked.is_empty() {
        text.push_str(&format!(
            "Warning: kept {} entr(ies) revoked that the status lists already in {} show as \
             revoked, though issuer.db has them valid or suspended (an older copy of issuer.db?). \
             Compare the head `govid-issuer audit verify` shows with the one the last publish \
             printed, and tell your security officer.\n",
            kept_revoked.len(),
            out.display()
        ));
    }
    text.push_str(&format!(
        "Audit log head: entry {} {}\n(keep this line, e.g. in the publish log: `audit verify` \
         must show the same entry and hash, or later ones that follow from it).\n",
        head.seq, head.hash
    ));
    text.push_str(&format!(
        "Copy the folder to the web server. Online gates can use the status lists until {}; \
         offline gates using trust-bundle.jwt until {}. Publish again before then (daily).",
        clock::timestamp(exp),
        clock::timestamp(now + u64::from(max_staleness_hours) * 3600)
    ));
    if let (Some(w), Some(need)) = (&log.witnessed, witnesses.map(|w| w.min)) {
        if w.cosigners.len() < need {
            return Err(CliError::new(
                "too_few_cosignatures",
                format!(
                    "{text}\nThe files are written, but the checkpoint has {} of the {need} \
                     witness cosignatures needed: gates that require {need} will not accept these \
                     status lists. Fix the witnesses above and publish again.",
                    w.cosigners.len()
                ),
            ));
        }
    }
    let witnesses_json = log.witnessed.as_ref().map(|w| {
        json!({"cosigners": w.cosigners,
               "failures": w.failures.iter().map(|(u, e)| json!({"url": u, "error": e})).collect::<Vec<_>>()})
    });
    Ok(Report::new(
        json!({
            "out": abs(out),
            "status_lists": tokens.iter().map(|(uri, path, _, n)| json!({"uri": uri, "file": abs(&out.join(path)), "not_valid": n})).collect::<Vec<_>>(),
            "did_document": abs(&doc_path),
            "jwks": abs(&jwks_path),
            "trust_bundle": abs(&out.join("trust-bundle.jwt")),
            "trust_bundle_seq": seq,
            "operator_jwk": abs(&out.join("operator.jwk")),
            "expires_at": exp,
            "audit_head": {"seq": head.seq, "hash": head.hash},
            "kept_revoked": kept_revoked,
            "log": {"origin": log.origin, "size": log.size, "root": log.root, "vkey": log.vkey,
                    "checkpoint": abs(&out.join("log/checkpoint")),
                    "witnesses": witnesses_json},
        }),
        text,
    ))
}

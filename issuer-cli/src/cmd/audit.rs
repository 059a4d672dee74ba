//! `audit verify`: the chain of entries, then the database against what the entries record.

use std::path::Path;

use serde_json::json;

use crate::audit::{verify_chain, ChainCheck};
use crate::error::{CliError, CliResult};
use crate::issuer::Issuer;
use crate::keys;
use crate::output::Report;
use crate::replay;

/// What HR should do when issuer.db does not match the audit log.
pub(crate) const MISMATCH_ADVICE: &str =
    "issuer.db was changed outside govid-issuer, or replaced by an older copy. Do not publish: \
     restore issuer.db from a backup that `govid-issuer audit verify` accepts, and tell your \
     security officer.";

/// Checks the chain (first broken entry: exit 1), then replays it against the database: every
/// ID whose status or status entry, and every staff member whose state, is not the one the log
/// gives is listed (exit 1).
pub(crate) fn verify(dir: &Path) -> CliResult<Report> {
    let issuer = Issuer::open(dir)?;
    // The current key in the database must be the one on disk (a swapped key table would
    // otherwise let forged entries verify).
    issuer.signer()?;
    let keys: Vec<_> = keys::all_keys(&issuer.conn)?
        .into_iter()
        .map(|k| (k.kid, k.public))
        .collect();
    match verify_chain(&issuer.conn, &keys)? {
        ChainCheck::Intact { entries, head } => {
            let ledger = replay::check(&issuer.conn)?;
            let ids = ledger.credentials.len();
            if ledger.findings.is_empty() {
                return Ok(Report::new(
                    json!({"intact": true, "entries": entries, "head": head,
                           "audit_head": {"seq": entries, "hash": head},
                           "database_matches": true, "credentials": ids}),
                    format!(
                        "Audit log intact: {entries} entries, head {head}.\nissuer.db matches it: \
                         the status and status entry of all {ids} ID(s), and every staff \
                         member's state."
                    ),
                ));
            }
            let n = ledger.findings.len();
            let (text, listed) = replay::describe(&ledger.findings, replay::MAX_LISTED);
            Err(CliError::new(
                "audit_mismatch",
                format!(
                    "audit log intact ({entries} entries, head {head}), but issuer.db does not \
                     match it in {n} place(s):{text}\n{MISMATCH_ADVICE}"
                ),
            )
            .with_details(json!({"intact": true, "entries": entries, "head": head,
                "audit_head": {"seq": entries, "hash": head},
                "database_matches": false, "mismatches": listed, "mismatches_total": n})))
        }
        ChainCheck::Broken { seq, reason } => Err(CliError::new(
            "audit_broken",
            format!("audit log broken at entry {seq}: {reason}"),
        )
        .with_details(json!({"intact": false, "first_broken": seq, "reason": reason}))),
    }
}

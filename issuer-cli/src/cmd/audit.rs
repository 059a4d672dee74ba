//! `audit verify`.

use std::path::Path;

use serde_json::json;

use crate::audit::{verify_chain, ChainCheck};
use crate::error::{CliError, CliResult};
use crate::issuer::Issuer;
use crate::keys;
use crate::output::Report;

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
        ChainCheck::Intact { entries, head } => Ok(Report::new(
            json!({"intact": true, "entries": entries, "head": head}),
            format!("Audit log intact: {entries} entries, head {head}."),
        )),
        ChainCheck::Broken { seq, reason } => Err(CliError::new(
            "audit_broken",
            format!("audit log broken at entry {seq}: {reason}"),
        )
        .with_details(json!({"intact": false, "first_broken": seq, "reason": reason}))),
    }
}

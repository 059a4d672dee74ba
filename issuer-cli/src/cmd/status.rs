//! `revoke`, `suspend`, `reinstate`: the status of every ID a staff member holds.

use std::path::Path;

use rusqlite::params;
use serde_json::json;

use crate::audit;
use crate::clock;
use crate::error::{CliError, CliResult};
use crate::issuer::{resolve_staff, staff_state, Issuer};
use crate::output::Report;
use crate::statuslist::{INVALID, SUSPENDED, VALID};
use crate::store;

const PUBLISH_HINT: &str =
    "Gates see the change after the next `govid-issuer publish` is on the web server.";

pub(crate) fn revoke(dir: &Path, n: &str, reason: &str) -> CliResult<Report> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CliError::usage("--reason must not be empty"));
    }
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let tx = store::write_tx(&mut issuer.conn)?;
    let n = &resolve_staff(&tx, n)?;
    if staff_state(&tx, n)? == "revoked" {
        return Err(CliError::new(
            "already_revoked",
            format!("{n} is already revoked"),
        ));
    }
    let changed = tx.execute(
        "UPDATE credentials SET status = ?2, reason = ?3 WHERE employee_number = ?1 AND status != ?2",
        params![n, INVALID, reason],
    )?;
    tx.execute(
        "UPDATE staff SET state = 'revoked', state_reason = ?2, updated_at = ?3 WHERE employee_number = ?1",
        params![n, reason, now as i64],
    )?;
    tx.execute(
        "UPDATE offers SET cancelled_at = ?2 WHERE employee_number = ?1 AND used_at IS NULL AND cancelled_at IS NULL",
        params![n, now as i64],
    )?;
    audit::append(
        &tx,
        &signer,
        now,
        "revoke",
        &json!({"employee_number": n, "reason": reason, "credentials": changed}),
    )?;
    tx.commit()?;
    Ok(Report::new(
        json!({"employee_number": n, "state": "revoked", "credentials_changed": changed}),
        format!("Revoked {n} ({changed} ID(s)). This cannot be undone.\n{PUBLISH_HINT}"),
    ))
}

pub(crate) fn suspend(dir: &Path, n: &str, reason: Option<&str>) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let tx = store::write_tx(&mut issuer.conn)?;
    let n = &resolve_staff(&tx, n)?;
    match staff_state(&tx, n)?.as_str() {
        "revoked" => {
            return Err(CliError::new(
                "revoked",
                format!("{n} is revoked; revocation is final, there is nothing to suspend"),
            ))
        }
        "suspended" => {
            return Err(CliError::new(
                "already_suspended",
                format!("{n} is already suspended"),
            ))
        }
        _ => {}
    }
    let changed = tx.execute(
        "UPDATE credentials SET status = ?2, reason = ?3 WHERE employee_number = ?1 AND status = ?4",
        params![n, SUSPENDED, reason, VALID],
    )?;
    tx.execute(
        "UPDATE staff SET state = 'suspended', state_reason = ?2, updated_at = ?3 WHERE employee_number = ?1",
        params![n, reason, now as i64],
    )?;
    audit::append(
        &tx,
        &signer,
        now,
        "suspend",
        &json!({"employee_number": n, "reason": reason, "credentials": changed}),
    )?;
    tx.commit()?;
    Ok(Report::new(
        json!({"employee_number": n, "state": "suspended", "credentials_changed": changed}),
        format!("Suspended {n} ({changed} ID(s)). Undo with `govid-issuer reinstate {n}`.\n{PUBLISH_HINT}"),
    ))
}

pub(crate) fn reinstate(dir: &Path, n: &str) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let tx = store::write_tx(&mut issuer.conn)?;
    let n = &resolve_staff(&tx, n)?;
    match staff_state(&tx, n)?.as_str() {
        "revoked" => {
            return Err(CliError::new(
                "revoked",
                format!(
                    "{n} was revoked, and revocation is final: their IDs cannot be reinstated. \
                     If this was a mistake, add them to the roster under a new employee number."
                ),
            ))
        }
        "active" => {
            return Err(CliError::new(
                "not_suspended",
                format!("{n} is not suspended; nothing to reinstate"),
            ))
        }
        _ => {}
    }
    let changed = tx.execute(
        "UPDATE credentials SET status = ?2, reason = NULL WHERE employee_number = ?1 AND status = ?3",
        params![n, VALID, SUSPENDED],
    )?;
    tx.execute(
        "UPDATE staff SET state = 'active', state_reason = NULL, updated_at = ?2 WHERE employee_number = ?1",
        params![n, now as i64],
    )?;
    audit::append(
        &tx,
        &signer,
        now,
        "reinstate",
        &json!({"employee_number": n, "credentials": changed}),
    )?;
    tx.commit()?;
    Ok(Report::new(
        json!({"employee_number": n, "state": "active", "credentials_changed": changed}),
        format!("Reinstated {n} ({changed} ID(s)).\n{PUBLISH_HINT}"),
    ))
}

//! `revoke`, `suspend`, `reinstate`: the status of every ID a staff member holds.

use std::path::Path;

use crate::db::params;
use serde_json::json;

use crate::audit;
use crate::clock;
use crate::confirm;
use crate::error::{CliError, CliResult};
use crate::issuer::{resolve_staff, staff_state, Issuer};
use crate::output::Report;
use crate::statuslist::{INVALID, SUSPENDED, VALID};
use crate::store;

const PUBLISH_HINT: &str =
    "Gates see the change after the next `govid-issuer publish` is on the web server.";

/// Whom a status change hits: their display name and how many of their IDs it changes.
struct Target {
    given_name: String,
    family_name: String,
    ids: i64,
}

impl Target {
    /// Reads the person `n` (their stored spelling) and counts their IDs whose status is one of
    /// `from` (a SQL list such as `0, 2`).
    fn load(conn: &crate::db::Connection, n: &str, from: &str) -> CliResult<Self> {
        Ok(conn.query_row(
            &format!(
                "SELECT given_name, family_name,
                   (SELECT COUNT(*) FROM credentials WHERE employee_number = ?1 AND status IN ({from}))
                 FROM staff WHERE employee_number = ?1"
            ),
            [n],
            |r| {
                Ok(Self {
                    given_name: r.get(0)?,
                    family_name: r.get(1)?,
                    ids: r.get(2)?,
                })
            },
        )?)
    }

    /// "Amira Haddad (MOT-0001)".
    fn who(&self, n: &str) -> String {
        format!("{} {} ({n})", self.given_name, self.family_name)
    }

    /// The JSON members added to the command's answer.
    fn add_json(&self, value: &mut serde_json::Value) {
        if let serde_json::Value::Object(map) = value {
            map.insert("given_name".into(), json!(self.given_name));
            map.insert("family_name".into(), json!(self.family_name));
        }
    }
}

/// `revoke N --reason R`; asks first on a terminal unless `yes`.
pub(crate) fn revoke(dir: &Path, n: &str, reason: &str, yes: bool) -> CliResult<Report> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CliError::usage("--reason must not be empty"));
    }
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    {
        let n = &resolve_staff(&issuer.conn, n)?;
        if staff_state(&issuer.conn, n)? == "revoked" {
            return Err(CliError::new(
                "already_revoked",
                format!("{n} is already revoked"),
            ));
        }
        let target = Target::load(&issuer.conn, n, "0, 2")?;
        confirm::ask(
            &format!(
                "Revoke {} for good? Their {} ID(s), each with its gate pass, stop working and \
                 can never be reinstated.",
                target.who(n),
                target.ids
            ),
            yes,
        )?;
    }
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
    let target = Target::load(&tx, n, "1")?;
    tx.commit()?;
    let mut value =
        json!({"employee_number": n, "state": "revoked", "credentials_changed": changed});
    target.add_json(&mut value);
    Ok(Report::new(
        value,
        format!(
            "Revoked {n} ({changed} ID(s)): {} {}. Their IDs and gate passes no longer work. \
             This cannot be undone.\n{PUBLISH_HINT}",
            target.given_name, target.family_name
        ),
    ))
}

/// `suspend N [--reason R]`; asks first on a terminal unless `yes`.
pub(crate) fn suspend(dir: &Path, n: &str, reason: Option<&str>, yes: bool) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    {
        let n = &resolve_staff(&issuer.conn, n)?;
        check_suspendable(&issuer.conn, n)?;
        let target = Target::load(&issuer.conn, n, "0")?;
        confirm::ask(
            &format!(
                "Suspend {}? Their {} valid ID(s), each with its gate pass, stop working until \
                 reinstated.",
                target.who(n),
                target.ids
            ),
            yes,
        )?;
    }
    let now = clock::now()?;
    let tx = store::write_tx(&mut issuer.conn)?;
    let n = &resolve_staff(&tx, n)?;
    check_suspendable(&tx, n)?;
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
    let target = Target::load(&tx, n, "2")?;
    tx.commit()?;
    let mut value =
        json!({"employee_number": n, "state": "suspended", "credentials_changed": changed});
    target.add_json(&mut value);
    Ok(Report::new(
        value,
        format!(
            "Suspended {n} ({changed} ID(s)): {} {}. Their IDs and gate passes stop working \
             until you run `govid-issuer reinstate {n}`.\n{PUBLISH_HINT}",
            target.given_name, target.family_name
        ),
    ))
}

/// Refuses to suspend a revoked or already suspended person.
fn check_suspendable(conn: &crate::db::Connection, n: &str) -> CliResult<()> {
    match staff_state(conn, n)?.as_str() {
        "revoked" => Err(CliError::new(
            "revoked",
            format!("{n} is revoked; revocation is final, there is nothing to suspend"),
        )),
        "suspended" => Err(CliError::new(
            "already_suspended",
            format!("{n} is already suspended"),
        )),
        _ => Ok(()),
    }
}

/// `reinstate N`: lifts a suspension.
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

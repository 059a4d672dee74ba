//! Who a roster import no longer lists: active staff the file does not name, who may still hold
//! a valid ID. The import lists them with what to do (`suspend`, `revoke`, or `--keep`).
//!
//! `--keep` records them in `roster_kept` (and the import's audit entry): they are not listed
//! again while they stay off the roster. Once a roster names them again, the record is dropped,
//! so leaving a second time lists them again. Staff whose row was refused (`--skip-invalid`)
//! are on the roster: they are named apart, never as gone.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::db::{params, Connection};
use serde_json::{json, Value};

use crate::error::CliResult;
use crate::roster::Roster;

/// The acknowledgements of `staff import --keep`; made by the first import that needs it.
const ROSTER_KEPT: &str = "CREATE TABLE IF NOT EXISTS roster_kept (
    employee_number TEXT PRIMARY KEY COLLATE NOCASE,
    kept_at         INTEGER NOT NULL
) STRICT";

/// How many people the text names (all of them are in `--json`).
const SHOWN: usize = 50;

/// An active staff member the roster no longer lists.
pub(super) struct Gone {
    pub(super) number: String,
    given: String,
    family: String,
    /// Holds an ID that is valid now (not revoked, suspended, replaced or expired).
    valid_id: bool,
}

/// What an import found about who left.
pub(super) struct Absent {
    /// To act on: not on the roster, not kept.
    pub(super) listed: Vec<Gone>,
    /// Kept by this import (`--keep`).
    pub(super) kept: Vec<Gone>,
    /// Kept by an earlier import and still not on the roster.
    pub(super) kept_before: usize,
    /// Refused rows naming staff in the database: on the roster, not counted as gone.
    pub(super) skipped_on_roster: Vec<String>,
    /// Refused rows without a readable employee number.
    pub(super) skipped_unreadable: usize,
}

/// Finds them, in the import's transaction; with `keep`, records the listed ones as kept.
pub(super) fn check(tx: &Connection, roster: &Roster, keep: bool, now: u64) -> CliResult<Absent> {
    if tx.sqlite().is_some() {
        // (In the PostgreSQL schema from the start.)
        tx.execute_batch(ROSTER_KEPT)?;
    }
    let valid: HashSet<String> = roster
        .staff
        .iter()
        .map(|s| s.employee_number.to_ascii_lowercase())
        .collect();
    let refused: HashSet<String> = roster
        .bad
        .iter()
        .filter_map(|b| b.employee_number.as_deref())
        .map(str::to_ascii_lowercase)
        .collect();
    let skipped_unreadable = roster
        .bad
        .iter()
        .filter(|b| b.employee_number.is_none())
        .count();
    let on_roster = |n: &str| {
        let n = n.to_ascii_lowercase();
        valid.contains(&n) || refused.contains(&n)
    };
    // Back on the roster: a later absence is listed again.
    let kept_rows: Vec<String> = {
        let mut stmt = tx.prepare("SELECT employee_number FROM roster_kept")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut kept_set = HashSet::new();
    for n in kept_rows {
        if on_roster(&n) {
            tx.execute("DELETE FROM roster_kept WHERE employee_number = ?1", [&n])?;
        } else {
            kept_set.insert(n.to_ascii_lowercase());
        }
    }
    let mut stmt = tx.prepare(
        "SELECT s.employee_number, s.given_name, s.family_name,
           EXISTS(SELECT 1 FROM credentials c WHERE c.employee_number = s.employee_number
             AND c.superseded_at IS NULL AND c.status = 0 AND c.expires_at > ?1)
         FROM staff s WHERE s.state = 'active' ORDER BY s.employee_number",
    )?;
    let mut rows = stmt.query([now as i64])?;
    let (mut listed, mut kept_before, mut skipped_on_roster) = (Vec::new(), 0, Vec::new());
    while let Some(r) = rows.next()? {
        let number: String = r.get(0)?;
        let lower = number.to_ascii_lowercase();
        if valid.contains(&lower) {
            continue;
        }
        if refused.contains(&lower) {
            skipped_on_roster.push(number);
            continue;
        }
        if kept_set.contains(&lower) {
            kept_before += 1;
            continue;
        }
        listed.push(Gone {
            number,
            given: r.get(1)?,
            family: r.get(2)?,
            valid_id: r.get(3)?,
        });
    }
    let mut kept = Vec::new();
    if keep {
        let mut insert = tx.prepare(
            "INSERT INTO roster_kept(employee_number, kept_at) VALUES (?1, ?2)
             ON CONFLICT(employee_number) DO UPDATE SET kept_at = excluded.kept_at",
        )?;
        for g in &listed {
            insert.execute(params![g.number, now as i64])?;
        }
        kept = std::mem::take(&mut listed);
    }
    Ok(Absent {
        listed,
        kept,
        kept_before,
        skipped_on_roster,
        skipped_unreadable,
    })
}

fn to_json(people: &[Gone]) -> Vec<Value> {
    people
        .iter()
        .map(|g| {
            json!({"employee_number": g.number, "given_name": g.given, "family_name": g.family,
                   "holds_valid_id": g.valid_id})
        })
        .collect()
}

fn name_lines(text: &mut String, people: &[Gone]) {
    for g in people.iter().take(SHOWN) {
        let _ = write!(
            text,
            "\n  {} {} ({}): {}",
            g.given,
            g.family,
            g.number,
            if g.valid_id {
                "holds a valid ID"
            } else {
                "holds no valid ID"
            }
        );
    }
    if people.len() > SHOWN {
        let _ = write!(
            text,
            "\n  ... and {} more (all of them in --json)",
            people.len() - SHOWN
        );
    }
}

impl Absent {
    /// The `--json` fields: `no_longer_on_roster` (to act on), `kept_not_on_roster` (kept now),
    /// `kept_before`, `skipped_on_roster`, `skipped_unreadable`.
    pub(super) fn json_fields(&self) -> [(&'static str, Value); 5] {
        [
            ("no_longer_on_roster", json!(to_json(&self.listed))),
            ("kept_not_on_roster", json!(to_json(&self.kept))),
            ("kept_before", json!(self.kept_before)),
            ("skipped_on_roster", json!(self.skipped_on_roster)),
            ("skipped_unreadable", json!(self.skipped_unreadable)),
        ]
    }

    /// What the import says about them (empty if nothing to say).
    pub(super) fn text(&self) -> String {
        let mut text = String::new();
        if !self.listed.is_empty() {
            let _ = write!(
                text,
                "\nAction needed: {} active staff member(s) are no longer on this roster:",
                self.listed.len()
            );
            name_lines(&mut text, &self.listed);
            let _ = write!(
                text,
                "\nFor each: if they left, `govid-issuer revoke <number> --reason \"left the \
                 ministry\"`; if unsure, `govid-issuer suspend <number>`; then publish. If they \
                 stay, import this roster again with --keep: they are then not listed again \
                 (the audit log records it) unless they return to the roster and leave again."
            );
        }
        if !self.kept.is_empty() {
            let _ = write!(
                text,
                "\nKept {} staff member(s) who are no longer on the roster (recorded in the audit \
                 log; their IDs stay valid):",
                self.kept.len()
            );
            name_lines(&mut text, &self.kept);
        }
        if self.kept_before > 0 {
            let _ = write!(
                text,
                "\n{} staff member(s) kept earlier with --keep are still not on the roster.",
                self.kept_before
            );
        }
        if !self.skipped_on_roster.is_empty() {
            let shown: Vec<&str> = self
                .skipped_on_roster
                .iter()
                .take(SHOWN)
                .map(String::as_str)
                .collect();
            let _ = write!(
                text,
                "\nNot counted as gone: {} staff member(s) whose row was skipped as invalid are \
                 still on the roster ({}); fix their row(s) and import again (until then their \
                 records stay as they were).",
                self.skipped_on_roster.len(),
                shown.join(", "),
            );
        }
        if self.skipped_unreadable > 0 && !self.listed.is_empty() {
            let _ = write!(
                text,
                "\n{} skipped row(s) have no readable employee number: some of those listed as no \
                 longer on the roster may be among them. Fix those rows and import again.",
                self.skipped_unreadable
            );
        }
        text
    }
}

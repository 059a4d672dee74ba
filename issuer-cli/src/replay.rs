//! The audit log as the authority for every ID's status: [`check`] replays the log's `issue`,
//! `reissue`, `revoke`, `suspend` and `reinstate` entries and compares what they account for with
//! the tables of `issuer.db`.
//!
//! An issue entry records its batch's count, credential id range and a digest over one line per
//! credential, `<employee number>|<list>|<index>|<SHA-256 of the worker ID>[|<SHA-256 of the gate
//! pass>]` (the gate pass part since gate passes are issued). Replay recomputes that digest from
//! the database rows, so a credential moved to another person or to another status entry, or
//! added, removed or rewritten, no longer matches its entry. When only the list or index columns
//! were changed, the status entry each credential names in its own signed text still gives the
//! digest, and replay reports the change and goes on with the entry as issued. Status changes are
//! recorded per staff member and replayed with the commands' own rules (revoked is final;
//! suspend: valid → suspended; reinstate: suspended → valid; reissue revokes the older IDs).
//!
//! What this protects against, and what not. The entries are hash-chained and each is signed by
//! the issuer key ([`crate::audit`]). Someone who can write `issuer.db` but cannot read the key in
//! `keys/` can neither change, add nor remove an entry before the newest without `audit verify`
//! naming it, nor make the tables disagree with the entries without `audit verify` and `publish`
//! reporting it. They can still cut entries off the end together with what those entries did, or
//! restore an older copy of the whole `issuer.db` (which amounts to the same): the chain stays
//! intact. Against that, keep the head `publish` prints outside this directory and compare it with
//! `audit verify`, and `publish` never clears an entry the status list in its `--out` folder
//! already shows as revoked. Anyone who holds the issuer key can write whatever entries they like.

use std::collections::{BTreeMap, HashMap};

use crate::db::Connection;
use govid_core::jose::CompactJws;
use govid_core::status::StatusReference;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::audit::to_hex;
use crate::error::CliResult;
use crate::statuslist::{INVALID, SUSPENDED, VALID};

/// Nesting limit when reading a credential's own text.
const MAX_JSON_DEPTH: usize = 32;

/// A status entry: list number and index.
pub(crate) type Slot = (i64, u32);

/// Where a status entry was found given twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// Two rows of `credentials` hold it.
    Database,
    /// Two issue entries of the audit log gave it.
    AuditLog,
}

/// One way the database disagrees with the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Finding {
    /// An ID's stored status is not the one the log's entries give it.
    Status {
        credential: i64,
        employee_number: String,
        stored: u8,
        logged: u8,
    },
    /// A staff member's stored state is not the one the log's entries give them.
    StaffState {
        employee_number: String,
        stored: String,
        logged: &'static str,
    },
    /// An ID's stored status entry is not the one it was issued with.
    Slot {
        credential: i64,
        employee_number: String,
        stored: Slot,
        issued: Slot,
    },
    /// The rows of an issue entry's IDs are not the ones it recorded (person, status entry or
    /// text changed, rows added or removed).
    IssueChanged { seq: i64, first: i64, last: i64 },
    /// An ID in the database that no issue entry accounts for.
    NotLogged {
        credential: i64,
        employee_number: String,
    },
    /// A status entry given to two IDs.
    IndexTwice {
        slot: Slot,
        credentials: (i64, i64),
        source: Source,
    },
    /// An issue entry gave an ID to someone the log has revoked or suspended.
    IssuedWhileNotActive {
        seq: i64,
        employee_number: String,
        logged: &'static str,
    },
    /// An entry whose detail cannot be read.
    Unreadable { seq: i64 },
}

/// `valid`, `revoked` or `suspended`.
pub(crate) fn status_name(status: u8) -> &'static str {
    match status {
        VALID => "valid",
        INVALID => "revoked",
        SUSPENDED => "suspended",
        _ => "unknown",
    }
}

fn slot_text((list, idx): Slot) -> String {
    format!("list {list} index {idx}")
}

impl Finding {
    /// One line for HR, naming the ID or person and both sides.
    pub(crate) fn message(&self) -> String {
        match self {
            Finding::Status {
                credential,
                employee_number,
                stored,
                logged,
            } => format!(
                "ID #{credential} of {employee_number}: issuer.db says {}, the audit log says {}",
                status_name(*stored),
                status_name(*logged)
            ),
            Finding::StaffState {
                employee_number,
                stored,
                logged,
            } => format!("{employee_number}: issuer.db says {stored}, the audit log says {logged}"),
            Finding::Slot {
                credential,
                employee_number,
                stored,
                issued,
            } => format!(
                "ID #{credential} of {employee_number}: issuer.db gives it status {}, it was \
                 issued with {}",
                slot_text(*stored),
                slot_text(*issued)
            ),
            Finding::IssueChanged { seq, first, last } => format!(
                "IDs #{first}-#{last} (audit entry {seq}): the rows in issuer.db are not the ones \
                 issued (person, status entry or ID text changed, or rows added or removed)"
            ),
            Finding::NotLogged {
                credential,
                employee_number,
            } => format!(
                "ID #{credential} of {employee_number}: in issuer.db, but no audit entry issued it"
            ),
            Finding::IndexTwice {
                slot,
                credentials: (a, b),
                source,
            } => format!(
                "status {} is given to two IDs, #{a} and #{b} ({})",
                slot_text(*slot),
                match source {
                    Source::Database => "in issuer.db",
                    Source::AuditLog => "as issued, in the audit log",
                }
            ),
            Finding::IssuedWhileNotActive {
                seq,
                employee_number,
                logged,
            } => format!(
                "audit entry {seq} issued an ID to {employee_number}, whom the audit log has {logged}"
            ),
            Finding::Unreadable { seq } => format!("audit entry {seq} cannot be read"),
        }
    }

    /// The finding as `--json` lists it: `{"kind": …, …}`.
    pub(crate) fn to_json(&self) -> Value {
        let slot = |(list, idx): &Slot| json!({"list": list, "idx": idx});
        match self {
            Finding::Status {
                credential,
                employee_number,
                stored,
                logged,
            } => json!({"kind": "status", "credential": credential,
                "employee_number": employee_number, "stored": status_name(*stored),
                "logged": status_name(*logged)}),
            Finding::StaffState {
                employee_number,
                stored,
                logged,
            } => json!({"kind": "staff_state", "employee_number": employee_number,
                "stored": stored, "logged": logged}),
            Finding::Slot {
                credential,
                employee_number,
                stored,
                issued,
            } => json!({"kind": "status_entry", "credential": credential,
                "employee_number": employee_number, "stored": slot(stored),
                "issued": slot(issued)}),
            Finding::IssueChanged { seq, first, last } => json!({"kind": "issue_changed",
                "seq": seq, "credentials": [first, last]}),
            Finding::NotLogged {
                credential,
                employee_number,
            } => json!({"kind": "not_logged", "credential": credential,
                "employee_number": employee_number}),
            Finding::IndexTwice {
                slot: s,
                credentials: (a, b),
                source,
            } => json!({"kind": "index_twice", "status_entry": slot(s), "credentials": [a, b],
                "in": match source { Source::Database => "database", Source::AuditLog => "audit_log" }}),
            Finding::IssuedWhileNotActive {
                seq,
                employee_number,
                logged,
            } => json!({"kind": "issued_while_not_active", "seq": seq,
                "employee_number": employee_number, "logged": logged}),
            Finding::Unreadable { seq } => json!({"kind": "unreadable_entry", "seq": seq}),
        }
    }
}

/// An ID as the log accounts for it.
#[derive(Clone, Debug)]
struct Logged {
    /// Index into [`Replay::people`].
    person: usize,
    slot: Slot,
    status: u8,
    superseded: bool,
}

/// What the log accounts for, and how the database disagrees with it.
#[derive(Default)]
pub(crate) struct Ledger {
    /// Every disagreement found, in log order, then database order.
    pub(crate) findings: Vec<Finding>,
    /// Every ID the log issued: its status entry and status.
    pub(crate) credentials: BTreeMap<i64, (Slot, u8)>,
}

#[derive(Default)]
struct Replay {
    people: Vec<String>,
    person_ids: HashMap<String, usize>,
    /// Per person: their IDs, and their state if a status entry named them.
    ids_of: Vec<Vec<i64>>,
    state_of: Vec<Option<&'static str>>,
    credentials: BTreeMap<i64, Logged>,
    slots: HashMap<Slot, i64>,
    findings: Vec<Finding>,
}

/// A row of an issue entry's id range.
struct IssuedRow {
    id: i64,
    employee_number: String,
    slot: Slot,
    worker_id: Option<String>,
    gate_pass: Option<String>,
}

impl Replay {
    fn person(&mut self, employee_number: &str) -> usize {
        if let Some(&p) = self.person_ids.get(employee_number) {
            return p;
        }
        let p = self.people.len();
        self.people.push(employee_number.to_owned());
        self.person_ids.insert(employee_number.to_owned(), p);
        self.ids_of.push(Vec::new());
        self.state_of.push(None);
        p
    }

    fn entry(&mut self, conn: &Connection, seq: i64, action: &str, detail: &str) -> CliResult<()> {
        let status_change = matches!(action, "revoke" | "suspend" | "reinstate");
        if !status_change && !matches!(action, "issue" | "reissue") {
            return Ok(());
        }
        let Ok(detail) = serde_json::from_str::<Value>(detail) else {
            self.findings.push(Finding::Unreadable { seq });
            return Ok(());
        };
        if status_change {
            let Some(n) = detail["employee_number"].as_str() else {
                self.findings.push(Finding::Unreadable { seq });
                return Ok(());
            };
            let p = self.person(n);
            let (from, to, state): (&[u8], u8, &'static str) = match action {
                "revoke" => (&[VALID, SUSPENDED], INVALID, "revoked"),
                "suspend" => (&[VALID], SUSPENDED, "suspended"),
                _ => (&[SUSPENDED], VALID, "active"),
            };
            for id in &self.ids_of[p] {
                if let Some(c) = self.credentials.get_mut(id) {
                    if from.contains(&c.status) {
                        c.status = to;
                    }
                }
            }
            self.state_of[p] = Some(state);
            return Ok(());
        }
        let range = (
            detail["credential_ids"][0].as_i64(),
            detail["credential_ids"][1].as_i64(),
        );
        let (Some(first), Some(last), Some(count), Some(digest)) = (
            range.0,
            range.1,
            detail["count"].as_u64(),
            detail["digest"].as_str(),
        ) else {
            self.findings.push(Finding::Unreadable { seq });
            return Ok(());
        };
        let rows = issued_rows(conn, first, last)?;
        let whole =
            rows.len() as u64 == count && u64::try_from(last - first + 1).is_ok_and(|n| n == count);
        let trusted = if !whole {
            None
        } else if batch_digest(&rows, |r| Some(r.slot)).as_deref() == Some(digest) {
            Some(rows.iter().map(|r| r.slot).collect::<Vec<_>>())
        } else {
            let lists = list_numbers(conn)?;
            let own = |r: &IssuedRow| own_slot(r, &lists);
            (batch_digest(&rows, own).as_deref() == Some(digest))
                .then(|| rows.iter().filter_map(own).collect())
        };
        if trusted.is_none() {
            self.findings
                .push(Finding::IssueChanged { seq, first, last });
        }
        for (i, row) in rows.iter().enumerate() {
            let p = self.person(&row.employee_number);
            if action == "reissue" {
                for id in &self.ids_of[p] {
                    if let Some(c) = self.credentials.get_mut(id) {
                        if !c.superseded {
                            c.superseded = true;
                            if c.status == VALID {
                                c.status = INVALID;
                            }
                        }
                    }
                }
            }
            if let Some(state @ ("revoked" | "suspended")) = self.state_of[p] {
                self.findings.push(Finding::IssuedWhileNotActive {
                    seq,
                    employee_number: row.employee_number.clone(),
                    logged: state,
                });
            }
            let mut slot = row.slot;
            if let Some(issued) = trusted.as_ref().and_then(|s| s.get(i)) {
                slot = *issued;
                if slot != row.slot {
                    self.findings.push(Finding::Slot {
                        credential: row.id,
                        employee_number: row.employee_number.clone(),
                        stored: row.slot,
                        issued: slot,
                    });
                }
                if let Some(&other) = self.slots.get(&slot) {
                    self.findings.push(Finding::IndexTwice {
                        slot,
                        credentials: (other, row.id),
                        source: Source::AuditLog,
                    });
                } else {
                    self.slots.insert(slot, row.id);
                }
            }
            self.ids_of[p].push(row.id);
            self.credentials.insert(
                row.id,
                Logged {
                    person: p,
                    slot,
                    status: VALID,
                    superseded: false,
                },
            );
        }
        Ok(())
    }

    /// Compares the replayed log with the `credentials` and `staff` tables.
    fn compare(mut self, conn: &Connection) -> CliResult<Ledger> {
        {
            let mut stmt = conn.prepare(
                "SELECT id, employee_number, status, list_id, idx FROM credentials ORDER BY id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let (id, n, stored): (i64, String, u8) = (r.get(0)?, r.get(1)?, r.get(2)?);
                match self.credentials.get(&id) {
                    None => self.findings.push(Finding::NotLogged {
                        credential: id,
                        employee_number: n,
                    }),
                    Some(c) => {
                        if c.status != stored {
                            self.findings.push(Finding::Status {
                                credential: id,
                                employee_number: self.people[c.person].clone(),
                                stored,
                                logged: c.status,
                            });
                        }
                    }
                }
            }
        }
        {
            let mut stmt = conn.prepare(
                "SELECT list_id, idx, MIN(id), MAX(id) FROM credentials
                 GROUP BY list_id, idx HAVING COUNT(*) > 1 ORDER BY list_id, idx",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                self.findings.push(Finding::IndexTwice {
                    slot: (r.get(0)?, r.get(1)?),
                    credentials: (r.get(2)?, r.get(3)?),
                    source: Source::Database,
                });
            }
        }
        {
            let mut stmt =
                conn.prepare("SELECT employee_number, state FROM staff ORDER BY employee_number")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let (n, stored): (String, String) = (r.get(0)?, r.get(1)?);
                let logged = self
                    .person_ids
                    .get(&n)
                    .and_then(|&p| self.state_of[p])
                    .unwrap_or("active");
                if stored != logged {
                    self.findings.push(Finding::StaffState {
                        employee_number: n,
                        stored,
                        logged,
                    });
                }
            }
        }
        Ok(Ledger {
            findings: self.findings,
            credentials: self
                .credentials
                .into_iter()
                .map(|(id, c)| (id, (c.slot, c.status)))
                .collect(),
        })
    }
}

/// The rows with ids `first..=last`, with their texts.
fn issued_rows(conn: &Connection, first: i64, last: i64) -> CliResult<Vec<IssuedRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.employee_number, c.list_id, c.idx, t.sd_jwt, g.sd_jwt FROM credentials c
         LEFT JOIN credential_texts t ON t.credential_id = c.id
         LEFT JOIN gate_pass_texts g ON g.credential_id = c.id
         WHERE c.id BETWEEN ?1 AND ?2 ORDER BY c.id",
    )?;
    let rows = stmt.query_map([first, last], |r| {
        Ok(IssuedRow {
            id: r.get(0)?,
            employee_number: r.get(1)?,
            slot: (r.get(2)?, r.get(3)?),
            worker_id: r.get(4)?,
            gate_pass: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// List URI → list number.
fn list_numbers(conn: &Connection) -> CliResult<HashMap<String, i64>> {
    let mut stmt = conn.prepare("SELECT uri, id FROM status_lists")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The status entry a worker ID names in its own (issuer-signed) text.
fn own_slot(row: &IssuedRow, lists: &HashMap<String, i64>) -> Option<Slot> {
    let text = row.worker_id.as_deref()?;
    let jws = CompactJws::parse(text.split('~').next()?, MAX_JSON_DEPTH).ok()?;
    let payload = jws.payload_object(MAX_JSON_DEPTH).ok()?;
    let reference = StatusReference::from_payload(&payload).ok()?;
    Some((
        *lists.get(&reference.uri)?,
        u32::try_from(reference.idx).ok()?,
    ))
}

/// The batch digest of an issue entry over `rows` with each row's status entry from `slot`
/// (`None` if a row has no worker ID text or no status entry). Same lines as `issue` hashes.
fn batch_digest(rows: &[IssuedRow], slot: impl Fn(&IssuedRow) -> Option<Slot>) -> Option<String> {
    let mut digest = Sha256::new();
    for row in rows {
        let (list, idx) = slot(row)?;
        let worker_id = row.worker_id.as_deref()?;
        let mut line = format!(
            "{}|{list}|{idx}|{}",
            row.employee_number,
            to_hex(&Sha256::digest(worker_id.as_bytes()))
        );
        // IDs issued before gate passes were have none, and their lines no fifth field.
        if let Some(pass) = &row.gate_pass {
            line.push('|');
            line.push_str(&to_hex(&Sha256::digest(pass.as_bytes())));
        }
        line.push('\n');
        digest.update(line.as_bytes());
    }
    Some(to_hex(&digest.finalize()))
}

/// Most findings an error lists (text and `--json`); the count says how many there are.
pub(crate) const MAX_LISTED: usize = 100;

/// The findings as text lines (at most `max`, then how many more) and as JSON (at most
/// [`MAX_LISTED`]).
pub(crate) fn describe(findings: &[Finding], max: usize) -> (String, Value) {
    let mut text = String::new();
    for f in findings.iter().take(max) {
        text.push_str("\n  ");
        text.push_str(&f.message());
    }
    if findings.len() > max {
        text.push_str(&format!("\n  … and {} more", findings.len() - max));
    }
    let listed: Vec<Value> = findings
        .iter()
        .take(MAX_LISTED)
        .map(Finding::to_json)
        .collect();
    (text, Value::Array(listed))
}

/// Replays the audit log (which the caller has verified intact) and compares it with the
/// database.
pub(crate) fn check(conn: &Connection) -> CliResult<Ledger> {
    let mut replay = Replay::default();
    {
        let mut stmt = conn.prepare("SELECT seq, action, detail FROM audit ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (seq, action, detail): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            replay.entry(conn, seq, &action, &detail)?;
        }
    }
    replay.compare(conn)
}

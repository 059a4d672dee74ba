//! `staff import`, `staff list`, `staff show`.

mod gone;

use std::fmt::Write as _;
use std::path::Path;

use crate::db::params;
use serde_json::{json, Value};

use crate::audit;
use crate::clock;
use crate::error::{CliError, CliResult};
use crate::issuer::{load_staff, resolve_staff, Issuer, Staff};
use crate::output::Report;
use crate::roster::{self, RosterError};
use crate::store;

pub(crate) fn import(dir: &Path, file: &Path, skip_invalid: bool, keep: bool) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let bytes = std::fs::read(file).map_err(|e| CliError::io("cannot read roster", file, &e))?;
    let now = clock::now()?;
    let parsed = roster::parse(&bytes, clock::today(now)).map_err(|e| match e {
        RosterError::Header(why) => {
            CliError::new("invalid_roster", format!("{}: {why}", file.display()))
        }
        RosterError::Empty => CliError::new(
            "invalid_roster",
            format!("{}: the roster has no staff rows", file.display()),
        ),
    })?;
    let bad_json: Vec<Value> = parsed.bad.iter().map(|b| b.to_json()).collect();
    let mut bad_text = String::new();
    for b in &parsed.bad {
        let _ = writeln!(bad_text, "  line {}: {}", b.line, b.reason);
    }
    if !parsed.bad.is_empty() && !skip_invalid {
        return Err(CliError::new(
            "invalid_roster",
            format!(
                "{}: {} bad row(s); nothing was imported. Fix them, or use --skip-invalid to \
                 import the {} good row(s):\n{}",
                file.display(),
                parsed.bad.len(),
                parsed.staff.len(),
                bad_text.trim_end()
            ),
        )
        .with_details(json!({"bad_rows": bad_json})));
    }
    let signer = issuer.signer()?;
    let (mut added, mut updated, mut unchanged, mut holding) = (0u64, 0u64, 0u64, 0u64);
    // Updated staff who hold an ID with the old details: (number, "Given Family").
    let mut reissue: Vec<(String, String)> = Vec::new();
    let tx = store::write_tx(&mut issuer.conn)?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO staff(employee_number, family_name, given_name, birth_date,
               organization_name, organization_code, department, position, grade, clearance,
               access_zones, valid_until, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
             ON CONFLICT DO NOTHING",
        )?;
        let mut update = tx.prepare(
            "UPDATE staff SET family_name = ?2, given_name = ?3, birth_date = ?4,
               organization_name = ?5, organization_code = ?6, department = ?7, position = ?8,
               grade = ?9, clearance = ?10, access_zones = ?11, valid_until = ?12, updated_at = ?13
             WHERE employee_number = ?1 AND (family_name, given_name, birth_date,
               organization_name, organization_code, department, position, grade, clearance,
               access_zones, valid_until) IS DISTINCT FROM (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        let mut has_credential = tx.prepare(
            "SELECT EXISTS(SELECT 1 FROM credentials WHERE employee_number = ?1
               AND superseded_at IS NULL AND status != 1 AND expires_at > ?2)",
        )?;
        for s in &parsed.staff {
            // A number already stored in another case is that person: their stored spelling.
            let number = match resolve_staff(&tx, &s.employee_number) {
                Ok(stored) => stored,
                Err(e) if e.code == "no_such_staff" => s.employee_number.clone(),
                Err(e) => return Err(e),
            };
            let zones = serde_json::to_string(&s.access_zones).unwrap_or_else(|_| "[]".into());
            let values = params![
                number,
                s.family_name,
                s.given_name,
                s.birth_date,
                s.organization_name,
                s.organization_code,
                s.department,
                s.position,
                s.grade,
                s.clearance,
                zones,
                s.valid_until,
                now as i64
            ];
            if insert.execute(values)? == 1 {
                added += 1;
            } else if update.execute(values)? == 1 {
                updated += 1;
                if has_credential.query_row(params![number, now as i64], |r| r.get(0))? {
                    holding += 1;
                    reissue.push((
                        number.clone(),
                        format!("{} {}", s.given_name, s.family_name),
                    ));
                }
            } else {
                unchanged += 1;
            }
        }
    }
    let absent = gone::check(&tx, &parsed, keep, now)?;
    let mut detail = json!({"file": file.file_name().map(|f| f.to_string_lossy()),
        "added": added, "updated": updated, "unchanged": unchanged,
        "skipped_rows": parsed.bad.len(), "not_on_roster": absent.listed.len()});
    if let (Value::Object(map), false) = (&mut detail, absent.kept.is_empty()) {
        let kept: Vec<&str> = absent.kept.iter().map(|g| g.number.as_str()).collect();
        map.insert("kept_not_on_roster".into(), audit::staff_numbers(&kept));
    }
    audit::append(&tx, &signer, now, "staff_import", &detail)?;
    tx.commit()?;
    let mut text = format!(
        "Imported {}: {added} added, {updated} updated, {unchanged} unchanged.",
        file.display()
    );
    if !parsed.bad.is_empty() {
        let _ = write!(
            text,
            "\nSkipped {} bad row(s):\n{}",
            parsed.bad.len(),
            bad_text.trim_end()
        );
    }
    if holding > 0 {
        let _ = write!(
            text,
            "\n{holding} updated staff member(s) hold an ID with the old details; give each a \
             new one:"
        );
        for (number, name) in &reissue {
            let _ = write!(
                text,
                "\n  {name} ({number}): govid-issuer issue {number} --reissue"
            );
        }
    }
    text.push_str(&absent.text());
    let reissue_numbers: Vec<&str> = reissue.iter().map(|(n, _)| n.as_str()).collect();
    let mut value = json!({"added": added, "updated": updated, "unchanged": unchanged,
           "skipped": bad_json, "updated_with_current_id": holding,
           "reissue_needed": reissue_numbers});
    if let Value::Object(map) = &mut value {
        for (key, field) in absent.json_fields() {
            map.insert(key.into(), field);
        }
    }
    Ok(Report::new(value, text))
}

/// Per-staff summary columns used by `list` and `show`.
const SUMMARY: &str = "s.state, s.holder_thumbprint IS NOT NULL,
    (SELECT COUNT(*) FROM credentials c WHERE c.employee_number = s.employee_number
       AND c.superseded_at IS NULL AND c.status != 1 AND c.expires_at > ?1)";

pub(crate) fn list(dir: &Path) -> CliResult<Report> {
    let issuer = Issuer::open(dir)?;
    let now = clock::now()? as i64;
    let mut stmt = issuer.conn.prepare(&format!(
        "SELECT s.employee_number, s.family_name, s.given_name, s.organization_code,
                s.valid_until, {SUMMARY}
         FROM staff s ORDER BY s.employee_number"
    ))?;
    let mut rows = stmt.query([now])?;
    let mut items = Vec::new();
    let mut text = format!(
        "{:<14} {:<28} {:<6} {:<11} {:<9} {:<8} {}\n",
        "EMPLOYEE", "NAME", "ORG", "VALID UNTIL", "STATE", "PHONE", "CURRENT ID"
    );
    while let Some(r) = rows.next()? {
        let (number, family, given, org, until): (String, String, String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        let (state, enrolled, current): (String, bool, i64) = (r.get(5)?, r.get(6)?, r.get(7)?);
        let name = format!("{family}, {given}");
        let _ = writeln!(
            text,
            "{number:<14} {} {org:<6} {until:<11} {state:<9} {:<8} {}",
            truncate(&name, 28),
            if enrolled { "enrolled" } else { "-" },
            if current > 0 { "yes" } else { "-" }
        );
        items.push(
            json!({"employee_number": number, "family_name": family, "given_name": given,
            "organization_code": org, "valid_until": until, "state": state,
            "enrolled": enrolled, "current_ids": current}),
        );
    }
    let _ = write!(text, "{} staff", items.len());
    Ok(Report::new(json!({"staff": items}), text))
}

/// `text` padded with spaces to `width` terminal columns, or cut to `width - 1` columns and `…`.
///
/// Counted in display columns, not characters: CJK and Hangul take two, combining marks (as in
/// Devanagari) none, so the columns after a name line up in any script.
fn truncate(text: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let shown = text.width();
    if shown <= width {
        return format!("{text}{}", " ".repeat(width - shown));
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        cut.push(c);
        used += w;
    }
    cut.push('…');
    // A wide character that did not fit leaves one column: pad it.
    cut.push_str(&" ".repeat(width.saturating_sub(1) - used));
    cut
}

pub(crate) fn show(dir: &Path, employee_number: &str) -> CliResult<Report> {
    let issuer = Issuer::open(dir)?;
    let now = clock::now()? as i64;
    let employee_number = &resolve_staff(&issuer.conn, employee_number)?;
    let staff: Staff = load_staff(&issuer.conn, employee_number)?;
    let (state, reason, enrolled_at, thumbprint): (String, Option<String>, Option<i64>, Option<String>) =
        issuer.conn.query_row(
            "SELECT state, state_reason, enrolled_at, holder_thumbprint FROM staff WHERE employee_number = ?1",
            [employee_number],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    let mut stmt = issuer.conn.prepare(
        "SELECT c.id, l.uri, c.idx, c.kid, c.issued_at, c.expires_at, c.status, c.reason, c.superseded_at,
                g.credential_id IS NOT NULL
         FROM credentials c JOIN status_lists l ON l.id = c.list_id
         LEFT JOIN gate_pass_texts g ON g.credential_id = c.id
         WHERE c.employee_number = ?1 ORDER BY c.id",
    )?;
    let mut creds = Vec::new();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} {} ({})",
        staff.given_name, staff.family_name, staff.employee_number
    );
    let _ = writeln!(
        text,
        "  organization: {} ({})",
        staff.organization_name, staff.organization_code
    );
    for (label, value) in [
        ("department", &staff.department),
        ("position", &staff.position),
        ("grade", &staff.grade),
        ("clearance", &staff.clearance),
        ("birth date", &staff.birth_date),
    ] {
        if let Some(v) = value {
            let _ = writeln!(text, "  {label}: {v}");
        }
    }
    if !staff.access_zones.is_empty() {
        let _ = writeln!(text, "  access zones: {}", staff.access_zones.join(", "));
    }
    let _ = writeln!(text, "  valid until: {}", staff.valid_until);
    let _ = writeln!(
        text,
        "  state: {state}{}",
        reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        text,
        "  phone: {}",
        match (enrolled_at, &thumbprint) {
            (Some(at), Some(tp)) => format!("enrolled {} (key {tp})", clock::timestamp(at as u64)),
            _ => "not enrolled (run `govid-issuer offer`)".to_owned(),
        }
    );
    let mut rows = stmt.query([employee_number])?;
    while let Some(r) = rows.next()? {
        let (id, uri, idx, kid): (i64, String, i64, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let (issued, expires, status, reason, superseded): (
            i64,
            i64,
            i64,
            Option<String>,
            Option<i64>,
        ) = (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?);
        let gate_pass: bool = r.get(9)?;
        let status_name = match status {
            1 => "revoked",
            2 => "suspended",
            _ if expires <= now => "expired",
            _ => "valid",
        };
        let _ = writeln!(
            text,
            "  ID #{id}: {status_name}{}, issued {}, expires {}, status {uri} index {idx}",
            reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            clock::timestamp(issued as u64),
            clock::timestamp(expires as u64),
        );
        if gate_pass {
            let _ = writeln!(
                text,
                "    with gate pass #{id} (same phone key and status entry: {status_name})"
            );
        }
        if let Some(note) = crate::serve::db::delivery_note(&issuer.conn, id)? {
            let _ = writeln!(text, "    {note}");
        }
        creds.push(json!({"id": id, "status": status_name, "reason": reason,
            "status_list": {"uri": uri, "idx": idx}, "kid": kid, "issued_at": issued,
            "expires_at": expires, "superseded_at": superseded, "gate_pass": gate_pass}));
    }
    if creds.is_empty() {
        let _ = writeln!(text, "  IDs: none issued");
    }
    let mut value = staff.to_json();
    if let Value::Object(map) = &mut value {
        map.insert("state".into(), json!(state));
        map.insert("state_reason".into(), json!(reason));
        map.insert("enrolled_at".into(), json!(enrolled_at));
        map.insert("holder_key_thumbprint".into(), json!(thumbprint));
        map.insert("credentials".into(), json!(creds));
    }
    Ok(Report::new(value, text))
}

#[cfg(test)]
mod tests {
    use super::truncate;
    use unicode_width::UnicodeWidthStr;

    /// Regression: names were padded by characters, so CJK, Hangul and Devanagari names pushed
    /// the next columns out of line.
    #[test]
    fn names_are_padded_to_display_columns() {
        for name in [
            "Haddad, Amira",
            "王, 小明",
            "김, 민준",
            "शर्मा, प्रिया",
            "Nguyễn, Thị Linh",
            "山田, 太郎",
        ] {
            let cell = truncate(name, 28);
            assert_eq!(cell.width(), 28, "{cell:?}");
            assert!(cell.starts_with(name), "{cell:?}");
        }
        assert_eq!(truncate("王, 小明", 9), "王, 小明 ");
    }

    #[test]
    fn long_names_are_cut_to_the_column() {
        let cut = truncate("Abcdefghij", 6);
        assert_eq!(cut, "Abcde…");
        // Two-column characters: cut before the one that would overflow, then pad.
        let cut = truncate("山田山田山田", 6);
        assert_eq!((cut.as_str(), cut.width()), ("山田… ", 6));
        assert_eq!(truncate("山田山田山田", 7), "山田山…");
    }
}

//! Reading and checking a staff roster CSV.
//!
//! Header, exactly: `employee_number,family_name,given_name,birth_date,organization_name,
//! organization_code,department,position,grade,clearance,access_zones,valid_until`. UTF-8 (a BOM
//! is ignored); dates `YYYY-MM-DD`; access zones separated by `;`. Every bad row is reported with
//! its line number and the reason; values are trimmed.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::clock;
use crate::issuer::Staff;

/// The roster's header row.
pub(crate) const HEADER: [&str; 12] = [
    "employee_number",
    "family_name",
    "given_name",
    "birth_date",
    "organization_name",
    "organization_code",
    "department",
    "position",
    "grade",
    "clearance",
    "access_zones",
    "valid_until",
];

/// Longest value accepted in any column.
const MAX_FIELD_CHARS: usize = 200;

/// A refused row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadRow {
    /// 1-based line number in the file (the header is line 1).
    pub(crate) line: u64,
    pub(crate) reason: String,
}

impl BadRow {
    pub(crate) fn to_json(&self) -> Value {
        json!({"line": self.line, "reason": self.reason})
    }
}

/// A parsed roster: the good rows and the bad ones.
pub(crate) struct Roster {
    pub(crate) staff: Vec<Staff>,
    pub(crate) bad: Vec<BadRow>,
}

/// Why the whole file was refused.
#[derive(Debug)]
pub(crate) enum RosterError {
    /// The header is not the expected one.
    Header(String),
    /// No data rows.
    Empty,
}

/// Parses roster `bytes`, with `today` (a day number) to refuse past `valid_until` dates.
pub(crate) fn parse(bytes: &[u8], today: i64) -> Result<Roster, RosterError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .map_err(|e| RosterError::Header(format!("cannot read the header row: {e}")))?
        .clone();
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_owned())
        .collect();
    if names != HEADER {
        return Err(RosterError::Header(format!(
            "the header row must be exactly:\n  {}\nbut it is:\n  {}",
            HEADER.join(","),
            names.join(",")
        )));
    }
    let mut staff = Vec::new();
    let mut bad = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let line_hint = reader.position().line() + 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line_hint, |p| p.line());
                bad.push(BadRow {
                    line,
                    reason: format!("cannot be read as CSV ({e})"),
                });
                continue;
            }
        }
        let line = record.position().map_or(line_hint, |p| p.line());
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // blank line
        }
        match check_row(&record, today) {
            Ok(row) => {
                if let Some(first) = seen.get(&row.employee_number) {
                    bad.push(BadRow {
                        line,
                        reason: format!(
                            "employee_number {} already appears on line {first}",
                            row.employee_number
                        ),
                    });
                } else {
                    seen.insert(row.employee_number.clone(), line);
                    staff.push(row);
                }
            }
            Err(reason) => bad.push(BadRow { line, reason }),
        }
    }
    if staff.is_empty() && bad.is_empty() {
        return Err(RosterError::Empty);
    }
    Ok(Roster { staff, bad })
}

fn check_row(record: &csv::ByteRecord, today: i64) -> Result<Staff, String> {
    if record.len() != HEADER.len() {
        return Err(format!(
            "has {} columns, expected {} (missing or extra commas?)",
            record.len(),
            HEADER.len()
        ));
    }
    let mut fields = Vec::with_capacity(HEADER.len());
    for (i, raw) in record.iter().enumerate() {
        let text = std::str::from_utf8(raw)
            .map_err(|_| format!("{} is not valid UTF-8 (save the file as UTF-8)", HEADER[i]))?
            .trim();
        if text.chars().count() > MAX_FIELD_CHARS {
            return Err(format!(
                "{} is longer than {MAX_FIELD_CHARS} characters",
                HEADER[i]
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(format!("{} contains control characters", HEADER[i]));
        }
        fields.push(text.to_owned());
    }
    let required = |i: usize| -> Result<String, String> {
        if fields[i].is_empty() {
            Err(format!("{} is empty (required)", HEADER[i]))
        } else {
            Ok(fields[i].clone())
        }
    };
    let optional = |i: usize| (!fields[i].is_empty()).then(|| fields[i].clone());
    let employee_number = required(0)?;
    if employee_number.len() > 64
        || employee_number.starts_with('.')
        || !employee_number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(format!(
            "employee_number {employee_number:?} may only use letters A-Z, digits, - _ . (at most 64)"
        ));
    }
    if crate::issuer::clashes_with_gate_pass_file(&employee_number) {
        return Err(format!(
            "employee_number {employee_number:?} may not end in {:?}: ID files of another \
             employee number are named that way",
            crate::issuer::GATE_PASS_SUFFIX
        ));
    }
    let family_name = required(1)?;
    let given_name = required(2)?;
    let birth_date = optional(3);
    if let Some(date) = &birth_date {
        let day = clock::parse_date(date)
            .ok_or_else(|| format!("birth_date {date:?} is not a date YYYY-MM-DD"))?;
        if day >= today || day < clock::days_from_civil(1900, 1, 1) {
            return Err(format!("birth_date {date} is not a plausible birth date"));
        }
    }
    let organization_name = required(4)?;
    let organization_code = required(5)?;
    let access_zones: Vec<String> = fields[10]
        .split(';')
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(str::to_owned)
        .collect();
    let valid_until = required(11)?;
    let until = clock::parse_date(&valid_until)
        .ok_or_else(|| format!("valid_until {valid_until:?} is not a date YYYY-MM-DD"))?;
    if until < today {
        return Err(format!("valid_until {valid_until} is in the past"));
    }
    Ok(Staff {
        employee_number,
        family_name,
        given_name,
        birth_date,
        organization_name,
        organization_code,
        department: optional(6),
        position: optional(7),
        grade: optional(8),
        clearance: optional(9),
        access_zones,
        valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: i64 = 20_000; // 2024-10-04

    fn roster(rows: &str) -> Roster {
        let text = format!("{}\n{rows}", HEADER.join(","));
        parse(text.as_bytes(), TODAY).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn good_rows_with_bom_and_scripts() {
        let text = format!(
            "\u{feff}{}\nE-1,Ḥaddād,أميرة,1986-04-12,Ministry of Transport,MOT,Road Safety,Inspector,G7,B,HQ-A; HQ-B ;,2030-12-31\n",
            HEADER.join(",")
        );
        let r = parse(text.as_bytes(), TODAY).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(r.bad.is_empty(), "{:?}", r.bad);
        assert_eq!(r.staff[0].given_name, "أميرة");
        assert_eq!(r.staff[0].access_zones, vec!["HQ-A", "HQ-B"]);
    }

    #[test]
    fn bad_rows_are_named_with_their_line() {
        let r = roster(
            "E-1,A,B,,Ministry,MOT,,,,,,2030-01-01\n\
             E-2,A,B,1990-02-30,Ministry,MOT,,,,,,2030-01-01\n\
             E-1,A,B,,Ministry,MOT,,,,,,2030-01-01\n\
             E-3,A,B,,Ministry,MOT,,,,,,2020-01-01\n\
             E-4,,B,,Ministry,MOT,,,,,,2030-01-01\n\
             E-5,A,B\n\
             E 6,A,B,,Ministry,MOT,,,,,,2030-01-01\n\
             E-7.Gate-Pass,A,B,,Ministry,MOT,,,,,,2030-01-01\n",
        );
        let reasons: Vec<(u64, &str)> = r.bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            reasons,
            vec![
                (3, "birth_date \"1990-02-30\" is not a date YYYY-MM-DD"),
                (4, "employee_number E-1 already appears on line 2"),
                (5, "valid_until 2020-01-01 is in the past"),
                (6, "family_name is empty (required)"),
                (7, "has 3 columns, expected 12 (missing or extra commas?)"),
                (
                    8,
                    "employee_number \"E 6\" may only use letters A-Z, digits, - _ . (at most 64)"
                ),
                (
                    9,
                    "employee_number \"E-7.Gate-Pass\" may not end in \".gate-pass\": ID files of \
                     another employee number are named that way"
                ),
            ]
        );
        assert_eq!(r.staff.len(), 1);
    }

    #[test]
    fn wrong_header_is_refused() {
        assert!(matches!(
            parse(b"id,name\n1,x\n", TODAY),
            Err(RosterError::Header(_))
        ));
        assert!(matches!(
            parse(HEADER.join(",").as_bytes(), TODAY),
            Err(RosterError::Empty)
        ));
    }
}

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

/// Most characters of a wrong header row an error message repeats.
const MAX_HEADER_ECHO_CHARS: usize = 200;

/// A refused row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadRow {
    /// 1-based line number in the file (the header is line 1) where the row starts.
    pub(crate) line: u64,
    /// Why the row was refused.
    pub(crate) reason: String,
    /// The row's employee number as written, if it has one (trimmed, not empty, UTF-8): that
    /// person is on the roster even though their row was refused.
    pub(crate) employee_number: Option<String>,
}

impl BadRow {
    /// `{"line": …, "reason": …, "employee_number": …|null}`, as `--json` lists bad rows.
    pub(crate) fn to_json(&self) -> Value {
        json!({"line": self.line, "reason": self.reason, "employee_number": self.employee_number})
    }
}

/// A parsed roster: the good rows and the bad ones.
pub(crate) struct Roster {
    /// The good rows, in file order.
    pub(crate) staff: Vec<Staff>,
    /// The refused rows, in file order.
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
            echo_header(&names.join(","))
        )));
    }
    let mut lines = LineCounter::new(bytes);
    let mut staff = Vec::new();
    let mut bad = Vec::new();
    // Lower-case employee number → (line, spelling in the file).
    let mut seen: HashMap<String, (u64, String)> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let start_hint = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = lines.line_at(e.position().map_or(start_hint, |p| p.byte()));
                bad.push(BadRow {
                    line,
                    reason: format!("cannot be read as CSV ({e})"),
                    employee_number: None,
                });
                continue;
            }
        }
        let line = lines.line_at(record.position().map_or(start_hint, |p| p.byte()));
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // blank line
        }
        match check_row(&record, today) {
            Ok(row) => {
                // Employee numbers that differ only in case are one person.
                let key = row.employee_number.to_ascii_lowercase();
                if let Some((first, spelled)) = seen.get(&key) {
                    let reason = if *spelled == row.employee_number {
                        format!(
                            "employee_number {} already appears on line {first}",
                            row.employee_number
                        )
                    } else {
                        format!(
                            "employee_number {} already appears on line {first} as {spelled} \
                             (employee numbers that differ only in case are the same)",
                            row.employee_number
                        )
                    };
                    bad.push(BadRow {
                        line,
                        reason,
                        employee_number: Some(row.employee_number.clone()),
                    });
                } else {
                    seen.insert(key, (line, row.employee_number.clone()));
                    staff.push(row);
                }
            }
            Err(reason) => bad.push(BadRow {
                line,
                reason,
                employee_number: record
                    .get(0)
                    .and_then(|f| std::str::from_utf8(f).ok())
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            }),
        }
    }
    if staff.is_empty() && bad.is_empty() {
        return Err(RosterError::Empty);
    }
    Ok(Roster { staff, bad })
}

/// A wrong header as an error message repeats it: at most [`MAX_HEADER_ECHO_CHARS`] characters
/// (then `…`), control characters escaped.
fn echo_header(header: &str) -> String {
    let mut echo = String::new();
    for (i, c) in header.chars().enumerate() {
        if i == MAX_HEADER_ECHO_CHARS {
            echo.push('…');
            break;
        }
        if c.is_control() {
            echo.extend(c.escape_default());
        } else {
            echo.push(c);
        }
    }
    echo
}

/// The file's own line numbers of byte offsets, counted forward (offsets come in order).
///
/// The csv reader's own line count is off for CRLF files and after blank lines; this counts
/// `\n`, `\r\n` and a lone `\r` as one line break each, from the start of the file.
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Offset up to which breaks were counted, and the line number there.
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The line on which the row at byte `offset` starts (line breaks before it are skipped:
    /// the reader may place a row after blank lines at their start).
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while self
            .bytes
            .get(start)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            start += 1;
        }
        if start < self.offset {
            // Not expected (offsets come in order): count again from the start.
            (self.offset, self.line) = (0, 1);
        }
        let span = &self.bytes[self.offset..start];
        for (i, &b) in span.iter().enumerate() {
            let lone_cr = b == b'\r' && self.bytes.get(self.offset + i + 1) != Some(&b'\n');
            if b == b'\n' || lone_cr {
                self.line += 1;
            }
        }
        self.offset = start;
        self.line
    }
}

/// Checks one row; on failure, every problem of the row, joined by `; `.
fn check_row(record: &csv::ByteRecord, today: i64) -> Result<Staff, String> {
    if record.len() != HEADER.len() {
        return Err(format!(
            "has {} columns, expected {} (missing or extra commas?)",
            record.len(),
            HEADER.len()
        ));
    }
    let mut problems: Vec<String> = Vec::new();
    // None: the field could not be read (its problem is already listed).
    let mut fields: Vec<Option<String>> = Vec::with_capacity(HEADER.len());
    for (i, raw) in record.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(raw) else {
            problems.push(format!(
                "{} is not valid UTF-8 (save the file as UTF-8)",
                HEADER[i]
            ));
            fields.push(None);
            continue;
        };
        let text = text.trim();
        if text.chars().count() > MAX_FIELD_CHARS {
            problems.push(format!(
                "{} is longer than {MAX_FIELD_CHARS} characters",
                HEADER[i]
            ));
            fields.push(None);
        } else if text.chars().any(char::is_control) {
            problems.push(format!("{} contains control characters", HEADER[i]));
            fields.push(None);
        } else {
            fields.push(Some(text.to_owned()));
        }
    }
    // A required field: "" when empty or unreadable (its problem is listed).
    let mut required = |i: usize| -> String {
        match &fields[i] {
            Some(v) if v.is_empty() => {
                problems.push(format!("{} is empty (required)", HEADER[i]));
                String::new()
            }
            Some(v) => v.clone(),
            None => String::new(),
        }
    };
    let employee_number = required(0);
    let family_name = required(1);
    let given_name = required(2);
    let organization_name = required(4);
    let organization_code = required(5);
    let valid_until = required(11);
    let optional = |i: usize| fields[i].clone().filter(|v| !v.is_empty());
    if !employee_number.is_empty() {
        if employee_number.len() > 64
            || employee_number.starts_with('.')
            || !employee_number
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            problems.push(format!(
                "employee_number {employee_number:?} may only use letters A-Z, digits, - _ . (at most 64)"
            ));
        } else if crate::issuer::clashes_with_gate_pass_file(&employee_number) {
            problems.push(format!(
                "employee_number {employee_number:?} may not end in {:?}: ID files of another \
                 employee number are named that way",
                crate::issuer::GATE_PASS_SUFFIX
            ));
        }
    }
    let birth_date = optional(3);
    if let Some(date) = &birth_date {
        match date_day("birth_date", date) {
            Ok(day) if day >= today || day < clock::days_from_civil(1900, 1, 1) => {
                problems.push(format!("birth_date {date} is not a plausible birth date"));
            }
            Ok(_) => {}
            Err(why) => problems.push(why),
        }
    }
    if !valid_until.is_empty() {
        match date_day("valid_until", &valid_until) {
            Ok(until) if until < today => {
                problems.push(format!("valid_until {valid_until} is in the past"));
            }
            Ok(_) => {}
            Err(why) => problems.push(why),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let access_zones: Vec<String> = fields[10]
        .as_deref()
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(str::to_owned)
        .collect();
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

/// The day number of column `name`'s date `text`, or why it is none: not written `YYYY-MM-DD`, or
/// written so but not a day of the calendar (`1990-02-30`).
fn date_day(name: &str, text: &str) -> Result<i64, String> {
    if let Some(day) = clock::parse_date(text) {
        return Ok(day);
    }
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    // The shape guarantees ASCII digits at these positions.
    let number = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u32>().ok());
    match (shaped, number(0..4), number(5..7)) {
        (true, Some(year), Some(month)) => {
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            let why = match MONTHS.get(month.wrapping_sub(1) as usize) {
                Some(month_name) => {
                    let last = (28..=31)
                        .rev()
                        .find(|d| {
                            clock::parse_date(&format!("{year:04}-{month:02}-{d:02}")).is_some()
                        })
                        .unwrap_or(28);
                    format!("{month_name} {year} has {last} days")
                }
                None => format!("there is no month {month}"),
            };
            Err(format!("{name} {text} does not exist: {why}"))
        }
        _ => Err(format!("{name} {text:?} is not a date YYYY-MM-DD")),
    }
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
             E-7.Gate-Pass,A,B,,Ministry,MOT,,,,,,2030-01-01\n\
             e-1,A,B,,Ministry,MOT,,,,,,2030-01-01\n",
        );
        let reasons: Vec<(u64, &str)> = r.bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            reasons,
            vec![
                (
                    3,
                    "birth_date 1990-02-30 does not exist: February 1990 has 28 days"
                ),
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
                (
                    10,
                    "employee_number e-1 already appears on line 2 as E-1 (employee numbers that \
                     differ only in case are the same)"
                ),
            ]
        );
        assert_eq!(r.staff.len(), 1);
    }

    #[test]
    fn impossible_dates_are_named_as_such() {
        let r = roster(
            "E-1,A,B,1992-02-30,Ministry,MOT,,,,,,2030-13-01\n\
             E-2,A,B,2000-02-29,Ministry,MOT,,,,,,2031-04-31\n\
             E-3,A,B,1.2.1990,Ministry,MOT,,,,,,2030-00-10\n",
        );
        let reasons: Vec<(u64, &str)> = r.bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            reasons,
            vec![
                (
                    2,
                    "birth_date 1992-02-30 does not exist: February 1992 has 29 days; \
                     valid_until 2030-13-01 does not exist: there is no month 13"
                ),
                (
                    3,
                    "valid_until 2031-04-31 does not exist: April 2031 has 30 days"
                ),
                (
                    4,
                    "birth_date \"1.2.1990\" is not a date YYYY-MM-DD; \
                     valid_until 2030-00-10 does not exist: there is no month 0"
                ),
            ]
        );
    }

    /// Regression: only a row's first problem was reported, so fixing it revealed the next.
    #[test]
    fn every_problem_of_a_row_is_reported() {
        let r = roster(
            "E 1,,B,2990-01-01,Ministry,,,,,,,2020-01-01\n\
             ,A,,,,MOT,,,,,,\n",
        );
        let reasons: Vec<(u64, &str)> = r.bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            reasons,
            vec![
                (
                    2,
                    "family_name is empty (required); organization_code is empty (required); \
                     employee_number \"E 1\" may only use letters A-Z, digits, - _ . (at most 64); \
                     birth_date 2990-01-01 is not a plausible birth date; \
                     valid_until 2020-01-01 is in the past"
                ),
                (
                    3,
                    "employee_number is empty (required); given_name is empty (required); \
                     organization_name is empty (required); valid_until is empty (required)"
                ),
            ]
        );
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

    /// Regression: rows were numbered by the csv reader's line count, which is one short in
    /// CRLF files (the first data row came out as line 1) and after blank lines.
    #[test]
    fn rows_are_named_by_the_files_own_line_numbers() {
        let bad = "E 1,A,B,,Ministry,MOT,,,,,,2030-01-01";
        let lines = |text: String| -> Vec<u64> {
            let r = parse(text.as_bytes(), TODAY).unwrap_or_else(|e| panic!("{e:?}"));
            r.bad.iter().map(|b| b.line).collect()
        };
        let header = HEADER.join(",");
        assert_eq!(lines(format!("{header}\r\n{bad}\r\n{bad}\r\n")), vec![2, 3]);
        assert_eq!(lines(format!("\u{feff}{header}\r\n{bad}\r\n")), vec![2]);
        assert_eq!(lines(format!("{header}\n\n\n{bad}\n\r\n{bad}")), vec![4, 6]);
        assert_eq!(lines(format!("{header}\r{bad}\r{bad}\r")), vec![2, 3]);
        // A quoted field spanning lines: the row is named by the line it starts on.
        let spanning = "E-2,\"A\r\nB\",B,,Ministry,MOT,,,,,,2030-01-01";
        let r = parse(
            format!("{header}\r\n{spanning}\r\n{bad}\r\n").as_bytes(),
            TODAY,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let got: Vec<(u64, &str)> = r.bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (2, "family_name contains control characters"),
                (
                    4,
                    "employee_number \"E 1\" may only use letters A-Z, digits, - _ . (at most 64)"
                )
            ]
        );
    }

    /// Regression: a wrong header was repeated whole (a one-line 100 MB file gave a 100 MB
    /// message).
    #[test]
    fn a_wrong_header_is_repeated_cut_short() {
        let long = format!("é{}\u{1b}[2J,x\n1,x\n", "x".repeat(10_000_000));
        let Err(RosterError::Header(message)) = parse(long.as_bytes(), TODAY) else {
            panic!("a wrong header must be refused");
        };
        let echoed = message.rsplit("but it is:\n  ").next().unwrap_or_default();
        assert_eq!(echoed, format!("é{}…", "x".repeat(199)));
        assert!(message.len() < 700, "{} bytes", message.len());
        let Err(RosterError::Header(message)) = parse(b"id,\x1b[2Jname\n1,x\n", TODAY) else {
            panic!("a wrong header must be refused");
        };
        assert!(
            message.ends_with("but it is:\n  id,\\u{1b}[2Jname"),
            "{message}"
        );
    }
}

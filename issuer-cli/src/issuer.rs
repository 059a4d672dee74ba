//! The opened issuer directory: settings, keys and staff records.

use std::path::{Path, PathBuf};

use crate::db::{Connection, OptionalExtension};
use govid_core::credential::{Organization, WorkerClaims};
use serde_json::{json, Value};

use crate::did::{self, DidMethod, PublishedKey};
use crate::error::{CliError, CliResult};
use crate::fsutil;
use crate::keys::{self, IssuerSigner};
use crate::store;

/// Public files kept up to date in the issuer directory.
pub(crate) const PUBLIC_DIR: &str = "public";

/// An opened issuer directory.
pub(crate) struct Issuer {
    pub(crate) dir: PathBuf,
    pub(crate) conn: Connection,
    /// The issuer identifier: `iss` of every credential.
    pub(crate) did: String,
    pub(crate) name: String,
    pub(crate) method: DidMethod,
    /// Status list `n` is at `<status_base>/<n>`.
    pub(crate) status_base: String,
    pub(crate) list_capacity: usize,
}

impl Issuer {
    pub(crate) fn open(dir: &Path) -> CliResult<Self> {
        let conn = store::open(dir)?;
        let method = store::meta(&conn, "did_method")?;
        let method = DidMethod::from_str(&method)
            .ok_or_else(|| CliError::new("corrupt_database", "unknown DID method in issuer.db"))?;
        let capacity = store::meta(&conn, "list_capacity")?
            .parse()
            .map_err(|_| CliError::new("corrupt_database", "bad list_capacity in issuer.db"))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            did: store::meta(&conn, "did")?,
            name: store::meta(&conn, "name")?,
            status_base: store::meta(&conn, "status_base_url")?,
            list_capacity: capacity,
            method,
            conn,
        })
    }

    /// The current signing key.
    pub(crate) fn signer(&self) -> CliResult<IssuerSigner> {
        let record = keys::current_key(&self.conn)?;
        keys::load_signer(&self.dir, &record)
    }

    /// DID document and JWKS with every key, current and retired.
    pub(crate) fn public_documents(&self) -> CliResult<(Value, Value)> {
        let records = keys::all_keys(&self.conn)?;
        let published: Vec<PublishedKey<'_>> = records
            .iter()
            .map(|r| PublishedKey {
                kid: &r.kid,
                key: &r.public,
            })
            .collect();
        Ok((
            did::did_document(&self.did, &published)?,
            did::jwks(&published),
        ))
    }

    /// Rewrites `public/did.json` and `public/jwks.json`.
    pub(crate) fn write_public_files(&self) -> CliResult<()> {
        let (doc, jwks) = self.public_documents()?;
        let public = self.dir.join(PUBLIC_DIR);
        fsutil::replace(&public.join("did.json"), pretty(&doc).as_bytes(), 0o644)?;
        fsutil::replace(&public.join("jwks.json"), pretty(&jwks).as_bytes(), 0o644)
    }
}

/// The URI of status list `number` (≥ 1) under `base`: core's [`status_list_uri`], the one
/// source of list URIs, so what credentials reference is where `publish` writes.
///
/// [`status_list_uri`]: govid_core::status::status_list_uri
pub(crate) fn list_uri(base: &str, number: i64) -> String {
    govid_core::status::status_list_uri(base, number.max(0).unsigned_abs())
}

/// What an employee number's gate pass file adds before `.sd-jwt`.
pub(crate) const GATE_PASS_SUFFIX: &str = ".gate-pass";

/// The worker ID file of `employee_number`: `<N>.sd-jwt` (a contract with the wallet and demos).
pub(crate) fn id_file_name(employee_number: &str) -> String {
    format!("{employee_number}.sd-jwt")
}

/// The gate pass file of `employee_number`: `<N>.gate-pass.sd-jwt` (a contract with the wallet
/// and demos).
pub(crate) fn gate_pass_file_name(employee_number: &str) -> String {
    format!("{employee_number}{GATE_PASS_SUFFIX}.sd-jwt")
}

/// Whether `employee_number`'s ID file would be another one's gate pass file (`X.gate-pass`,
/// in any case: file systems may ignore case).
pub(crate) fn clashes_with_gate_pass_file(employee_number: &str) -> bool {
    let (n, s) = (employee_number.as_bytes(), GATE_PASS_SUFFIX.as_bytes());
    n.len() >= s.len() && n[n.len() - s.len()..].eq_ignore_ascii_case(s)
}

pub(crate) fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

/// A staff record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Staff {
    pub(crate) employee_number: String,
    pub(crate) family_name: String,
    pub(crate) given_name: String,
    pub(crate) birth_date: Option<String>,
    pub(crate) organization_name: String,
    pub(crate) organization_code: String,
    pub(crate) department: Option<String>,
    pub(crate) position: Option<String>,
    pub(crate) grade: Option<String>,
    pub(crate) clearance: Option<String>,
    pub(crate) access_zones: Vec<String>,
    pub(crate) valid_until: String,
}

/// The columns [`Staff::from_row`] reads, in order.
pub(crate) const STAFF_COLUMNS: &str = "employee_number, family_name, given_name, birth_date, \
    organization_name, organization_code, department, position, grade, clearance, access_zones, \
    valid_until";

impl Staff {
    pub(crate) fn from_row(row: &crate::db::Row<'_>) -> crate::db::Result<Self> {
        let zones: String = row.get(10)?;
        Ok(Self {
            employee_number: row.get(0)?,
            family_name: row.get(1)?,
            given_name: row.get(2)?,
            birth_date: row.get(3)?,
            organization_name: row.get(4)?,
            organization_code: row.get(5)?,
            department: row.get(6)?,
            position: row.get(7)?,
            grade: row.get(8)?,
            clearance: row.get(9)?,
            access_zones: serde_json::from_str(&zones).unwrap_or_default(),
            valid_until: row.get(11)?,
        })
    }

    /// The claims to issue and `valid_until`, moving the fields out (no copies).
    pub(crate) fn into_claims(self) -> (WorkerClaims, String) {
        let claims = WorkerClaims {
            given_name: self.given_name,
            family_name: self.family_name,
            employee_number: self.employee_number,
            organization: Organization {
                name: self.organization_name,
                code: self.organization_code,
            },
            department: self.department,
            position: self.position,
            grade: self.grade,
            clearance: self.clearance,
            birthdate: self.birth_date,
            portrait: None,
            access_zones: self.access_zones,
        };
        (claims, self.valid_until)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "employee_number": self.employee_number,
            "family_name": self.family_name,
            "given_name": self.given_name,
            "birth_date": self.birth_date,
            "organization_name": self.organization_name,
            "organization_code": self.organization_code,
            "department": self.department,
            "position": self.position,
            "grade": self.grade,
            "clearance": self.clearance,
            "access_zones": self.access_zones,
            "valid_until": self.valid_until,
        })
    }
}

/// The stored spelling of `employee_number`, matched in any case (`mot-0100` finds `MOT-0100`):
/// employee numbers that differ only in case are one person.
///
/// Errors: `no_such_staff`; `ambiguous_employee_number` if the database holds two spellings
/// (possible in databases from before this rule).
pub(crate) fn resolve_staff(conn: &Connection, employee_number: &str) -> CliResult<String> {
    let mut stmt = conn.prepare_cached(
        "SELECT employee_number FROM staff WHERE employee_number = ?1 COLLATE NOCASE
         ORDER BY employee_number = ?1 DESC, employee_number LIMIT 2",
    )?;
    let found = stmt
        .query_map([employee_number], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    match found.as_slice() {
        [] => Err(no_such_staff(employee_number)),
        [one] => Ok(one.clone()),
        [a, b, ..] => Err(case_pair(a, b)),
    }
}

/// Two stored employee numbers that differ only in case.
pub(crate) fn case_pair(a: &str, b: &str) -> CliError {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    CliError::new(
        "ambiguous_employee_number",
        format!(
            "issuer.db holds both {a:?} and {b:?}, employee numbers that differ only in case \
             (one person to govid-issuer, and one file name on many disks). Nothing was changed. \
             Ask your govid administrator to merge or renumber them in issuer.db."
        ),
    )
}

/// A staff member's state: `active`, `suspended` or `revoked`.
pub(crate) fn staff_state(conn: &Connection, employee_number: &str) -> CliResult<String> {
    conn.query_row(
        "SELECT state FROM staff WHERE employee_number = ?1",
        [employee_number],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| no_such_staff(employee_number))
}

/// Loads one staff record.
pub(crate) fn load_staff(conn: &Connection, employee_number: &str) -> CliResult<Staff> {
    conn.query_row(
        &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE employee_number = ?1"),
        [employee_number],
        Staff::from_row,
    )
    .optional()?
    .ok_or_else(|| no_such_staff(employee_number))
}

pub(crate) fn no_such_staff(employee_number: &str) -> CliError {
    CliError::new(
        "no_such_staff",
        format!(
            "no staff member with employee number {employee_number:?} (see `govid-issuer staff list`)"
        ),
    )
}

//! `offer`: one-time enrollment codes for staff phones.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use govid_core::enrollment::{format_code, normalize_code, EnrollmentOffer, CODE_SYMBOLS};
use rand_core::{OsRng, RngCore};
use rusqlite::{params, Connection};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{self, to_hex};
use crate::clock::{self, DAY};
use crate::error::{CliError, CliResult};
use crate::fsutil;
use crate::issuer::{staff_state, Issuer};
use crate::output::Report;
use crate::store;

/// SHA-256 (hex) of a normalized code: what the database keeps.
pub(crate) fn code_hash(normalized: &str) -> String {
    to_hex(&Sha256::digest(normalized.as_bytes()))
}

/// A fresh code: [`CODE_SYMBOLS`] symbols of 5 random bits each (140 bits).
pub(crate) fn new_code(rng: &mut impl RngCore) -> String {
    let mut bytes = [0u8; CODE_SYMBOLS];
    rng.fill_bytes(&mut bytes);
    // 256 is a multiple of 32: `& 31` keeps each symbol uniform.
    let symbols: Vec<u8> = bytes.iter().map(|b| b & 31).collect();
    format_code(&symbols)
}

/// Records a new offer for `employee_number` (cancelling any earlier unused one) and returns
/// its code, in the caller's transaction.
pub(crate) fn create_offer(
    conn: &Connection,
    employee_number: &str,
    now: u64,
    expires_at: u64,
    rng: &mut impl RngCore,
) -> CliResult<String> {
    conn.execute(
        "UPDATE offers SET cancelled_at = ?2
         WHERE employee_number = ?1 AND used_at IS NULL AND cancelled_at IS NULL",
        params![employee_number, now as i64],
    )?;
    let code = new_code(rng);
    let normalized = normalize_code(&code)
        .ok_or_else(|| CliError::new("internal", "generated code does not normalize"))?;
    conn.execute(
        "INSERT INTO offers(employee_number, code_sha256, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            employee_number,
            code_hash(&normalized),
            now as i64,
            expires_at as i64
        ],
    )?;
    Ok(code)
}

/// Renders `payload` as a QR code PNG (core `qr`: ECC M, 8 pixels per module, 4-module quiet
/// zone).
pub(crate) fn qr_png(payload: &str) -> CliResult<Vec<u8>> {
    use govid_core::qr::{render, Ecc};
    render(payload, Ecc::M)
        .and_then(|code| code.to_png(8, 4))
        .map_err(|e| CliError::new("qr", format!("cannot make the QR code: {e}")))
}

pub(crate) fn run(
    dir: &Path,
    employee_number: Option<&str>,
    expires_days: u32,
    out: Option<PathBuf>,
    public_url: Option<&str>,
) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let expires_at = now + u64::from(expires_days) * DAY;
    let out = out.unwrap_or_else(|| dir.join("offers"));
    let today = clock::civil_from_days(clock::today(now));
    let targets: Vec<String> = match employee_number {
        Some(n) => {
            let n = &crate::issuer::resolve_staff(&issuer.conn, n)?;
            match staff_state(&issuer.conn, n)?.as_str() {
                "revoked" => {
                    return Err(CliError::new(
                        "revoked",
                        format!("{n} is revoked; a revoked staff member cannot enroll again"),
                    ))
                }
                "suspended" => {
                    return Err(CliError::new(
                        "suspended",
                        format!("{n} is suspended; run `govid-issuer reinstate {n}` first"),
                    ))
                }
                _ => {}
            }
            vec![n.to_owned()]
        }
        None => {
            let mut stmt = issuer.conn.prepare(
                "SELECT employee_number FROM staff WHERE holder_thumbprint IS NULL
                 AND state = 'active' AND valid_until >= ?1 ORDER BY employee_number",
            )?;
            let rows = stmt.query_map([&today], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        }
    };
    if targets.is_empty() {
        return Ok(Report::new(
            json!({"offers": []}),
            "Nobody needs an enrollment code: every active staff member has enrolled a phone.",
        ));
    }
    fsutil::create_dir_all(&out, 0o700)?;
    let tx = store::write_tx(&mut issuer.conn)?;
    let mut made = Vec::with_capacity(targets.len());
    for n in &targets {
        let code = create_offer(&tx, n, now, expires_at, &mut OsRng)?;
        made.push((n.clone(), code));
    }
    // Up to 100 names in clear; beyond that the count, the range and a digest of the list.
    let who = if targets.len() <= 100 {
        json!({"staff": targets})
    } else {
        json!({"count": targets.len(), "first": targets.first(), "last": targets.last(),
               "staff_sha256": to_hex(&Sha256::digest(targets.join("\n").as_bytes()))})
    };
    audit::append(
        &tx,
        &signer,
        now,
        "offer",
        &json!({"offers": who, "expires_at": expires_at}),
    )?;
    let vci = crate::serve::offer::for_offers(&tx, public_url, &made, now, expires_at)?;
    tx.commit()?;

    let mut items = Vec::new();
    let mut text = format!(
        "Enrollment codes (single use, valid until {}):\n",
        clock::timestamp(expires_at)
    );
    for (n, code) in &made {
        let payload = EnrollmentOffer {
            issuer: issuer.did.clone(),
            code: code.clone(),
        }
        .to_payload();
        let png = out.join(format!("{n}.png"));
        fsutil::replace(&png, &qr_png(&payload)?, 0o600)?;
        let _ = writeln!(text, "  {n:<14} {code}   QR: {}", png.display());
        let mut item = json!({"employee_number": n, "code": code, "payload": payload,
                          "expires_at": expires_at, "qr_png": png});
        crate::serve::offer::report(&mut item, &mut text, vci.as_deref(), n, &out)?;
        items.push(item);
    }
    crate::serve::offer::report_end(&mut text, vci.is_some());
    let _ = write!(
        text,
        "Give each person their code or QR image in person. Their phone app turns it into a key \
         proof; load it with `govid-issuer enroll --proof <file>`."
    );
    Ok(Report::new(json!({"offers": items}), text))
}

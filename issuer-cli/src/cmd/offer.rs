//! `offer`: one-time enrollment codes for staff phones.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::db::{params, Connection};
use govid_core::enrollment::{format_code, normalize_code, EnrollmentOffer, CODE_SYMBOLS};
use rand_core::{OsRng, RngCore};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{self, to_hex};
use crate::clock::{self, DAY};
use crate::error::{CliError, CliResult};
use crate::fsutil;
use crate::issuer::{staff_state, Issuer};
use crate::output::{abs, Report};
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

/// What `offer` was asked to do.
pub(crate) struct OfferOptions {
    /// One person (`offer N`), or `None` for `--all`.
    pub(crate) employee_number: Option<String>,
    pub(crate) expires_days: u32,
    /// Folder for the QR images (default `<DIR>/offers`).
    pub(crate) out: Option<PathBuf>,
    /// Where to write the codes (`--codes-file`).
    pub(crate) codes_file: Option<PathBuf>,
    /// `--all`: print the codes as text instead of writing them to a file.
    pub(crate) print_codes: bool,
    /// `--all`: cancel unused, unexpired codes and make new ones.
    pub(crate) replace: bool,
    /// `--all`: leave out whoever still has an unused, unexpired code.
    pub(crate) skip_live: bool,
    /// `--json`: the codes go to standard output in the JSON answer; no progress bar.
    pub(crate) json: bool,
    /// The public URL of `govid-issuer serve`, for the OpenID4VCI offers (default: the one
    /// `serve` last ran with; without one, only the `GVE1:` codes are made).
    pub(crate) public_url: Option<String>,
}

/// How many people a refusal (`live_offers`) names.
const NAMED: usize = 5;

/// Someone an offer is for.
struct Target {
    number: String,
    given: String,
    family: String,
    /// Holds an unused, unexpired code.
    live: bool,
}

/// A code just made, with what is handed out with it.
struct Made {
    target: Target,
    code: String,
    payload: String,
    png: PathBuf,
}

/// The header of the codes file `offer --all` writes.
pub(crate) const CODES_HEADER: [&str; 10] = [
    "employee_number",
    "given_name",
    "family_name",
    "code",
    "payload",
    "expires_at",
    "qr_png",
    "openid4vci_offer_uri",
    "openid4vci_tx_code",
    "openid4vci_qr_png",
];

pub(crate) fn run(dir: &Path, o: &OfferOptions) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let expires_at = now + u64::from(o.expires_days) * DAY;
    let out = o.out.clone().unwrap_or_else(|| dir.join("offers"));
    let today = clock::civil_from_days(clock::today(now));
    let only = match &o.employee_number {
        Some(n) => {
            let n = crate::issuer::resolve_staff(&issuer.conn, n)?;
            match staff_state(&issuer.conn, &n)?.as_str() {
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
            Some(n)
        }
        None => None,
    };
    let tx = store::write_tx(&mut issuer.conn)?;
    let mut targets = select_targets(&tx, only.as_deref(), &today, now)?;
    let all = only.is_none();
    let live = targets.iter().filter(|t| t.live).count();
    if all && live > 0 && !o.replace && !o.skip_live {
        return Err(live_offers(&targets, live));
    }
    let mut skipped_live = 0;
    if o.skip_live {
        targets.retain(|t| !t.live);
        skipped_live = live;
    }
    if targets.is_empty() {
        let text = if skipped_live > 0 {
            format!(
                "Nobody needs a new enrollment code: {skipped_live} staff member(s) still have an \
                 unused one (--replace makes new ones)."
            )
        } else {
            "Nobody needs an enrollment code: every active staff member has enrolled a phone."
                .to_owned()
        };
        return Ok(Report::new(
            json!({"offers": [], "codes_file": null, "replaced": 0, "skipped_live": skipped_live}),
            text,
        ));
    }
    let replaced = targets.iter().filter(|t| t.live).count();
    fsutil::create_dir_all(&out, 0o700)?;
    let mut made = Vec::with_capacity(targets.len());
    for target in targets {
        let code = create_offer(&tx, &target.number, now, expires_at, &mut OsRng)?;
        let payload = EnrollmentOffer {
            issuer: issuer.did.clone(),
            code: code.clone(),
        }
        .to_payload();
        let png = out.join(format!("{}.png", target.number));
        made.push(Made {
            target,
            code,
            payload,
            png,
        });
    }
    let numbers: Vec<&str> = made.iter().map(|m| m.target.number.as_str()).collect();
    let who = audit::staff_numbers(&numbers);
    audit::append(
        &tx,
        &signer,
        now,
        "offer",
        &json!({"offers": who, "expires_at": expires_at, "replaced": replaced}),
    )?;
    // The OpenID4VCI offer beside each code, when the service's public URL is known.
    let pairs: Vec<(String, String)> = made
        .iter()
        .map(|m| (m.target.number.clone(), m.code.clone()))
        .collect();
    let vci =
        crate::serve::offer::for_offers(&tx, o.public_url.as_deref(), &pairs, now, expires_at)?;
    // The codes file is complete on disk before the codes count: a failed commit removes it.
    let codes = CodesFile {
        made: &made,
        vci: vci.as_deref(),
        out: &out,
        expires_at,
    };
    let codes_file = match (&o.codes_file, all && !o.json && !o.print_codes) {
        (Some(path), _) => Some(write_codes_file(path, &codes, false)?),
        (None, true) => {
            let stamp = clock::timestamp(now).replace([':', '-'], "");
            let path = out.join(format!("codes-{stamp}.csv"));
            Some(write_codes_file(&path, &codes, true)?)
        }
        (None, false) => None,
    };
    if let Err(e) = tx.commit() {
        if let Some(path) = &codes_file {
            let _ = std::fs::remove_file(path);
        }
        return Err(e.into());
    }
    let bar = crate::progress::bar(made.len() as u64, o.json, "making QR images", "codes");
    write_qr_images(&made, &bar)?;
    bar.finish_and_clear();

    let mut text = describe(
        &made,
        expires_at,
        codes_file.as_deref(),
        &out,
        replaced,
        skipped_live,
    );
    let mut items = Vec::with_capacity(made.len());
    // With a codes file, the offers and PINs are in it, not on the screen.
    let mut unshown = String::new();
    for m in &made {
        let mut item = json!({"employee_number": m.target.number, "code": m.code,
                              "payload": m.payload, "expires_at": expires_at,
                              "qr_png": abs(&m.png)});
        let shown = if codes_file.is_some() {
            &mut unshown
        } else {
            &mut text
        };
        crate::serve::offer::report(&mut item, shown, vci.as_deref(), &m.target.number, &out)?;
        items.push(item);
    }
    crate::serve::offer::report_end(&mut text, vci.is_some());
    Ok(Report::new(
        json!({"offers": items, "codes_file": codes_file.as_deref().map(abs), "replaced": replaced,
               "skipped_live": skipped_live}),
        text,
    ))
}

/// `offer N` (that person, whatever their phone) or `offer --all` (active staff without an
/// enrolled phone whose contract has not ended), each with whether they hold a live code.
fn select_targets(
    conn: &Connection,
    only: Option<&str>,
    today: &str,
    now: u64,
) -> CliResult<Vec<Target>> {
    let mut stmt = conn.prepare(
        "SELECT s.employee_number, s.given_name, s.family_name,
           EXISTS(SELECT 1 FROM offers o WHERE o.employee_number = s.employee_number
             AND o.used_at IS NULL AND o.cancelled_at IS NULL AND o.expires_at > ?3)
         FROM staff s
         WHERE (s.employee_number = ?1 AND ?1 IS NOT NULL)
            OR (?1 IS NULL AND s.holder_thumbprint IS NULL AND s.state = 'active'
                AND s.valid_until >= ?2)
         ORDER BY s.employee_number",
    )?;
    let rows = stmt.query_map(params![only, today, now as i64], |r| {
        Ok(Target {
            number: r.get(0)?,
            given: r.get(1)?,
            family: r.get(2)?,
            live: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `offer --all` would cancel codes already handed out: how many, and the first few.
fn live_offers(targets: &[Target], live: usize) -> CliError {
    let holders: Vec<&Target> = targets.iter().filter(|t| t.live).collect();
    let mut named: Vec<String> = holders
        .iter()
        .take(NAMED)
        .map(|t| format!("{} {} ({})", t.given, t.family, t.number))
        .collect();
    if live > NAMED {
        named.push(format!("and {} more", live - NAMED));
    }
    let without = targets.len() - live;
    CliError::new(
        "live_offers",
        format!(
            "{live} of the {} staff member(s) without an enrolled phone already have an unused \
             enrollment code that has not expired: {}. New codes would make theirs stop \
             working, so nothing was changed. To make codes only for the {without} without \
             one: `govid-issuer offer --all --skip-live`. To cancel their codes and make new \
             ones: `govid-issuer offer --all --replace`.",
            targets.len(),
            named.join(", ")
        ),
    )
    .with_details(json!({
        "live": live,
        "targets": targets.len(),
        "first": holders.iter().take(NAMED).map(|t| t.number.as_str()).collect::<Vec<_>>(),
    }))
}

/// What the codes file of `offer --all` holds.
struct CodesFile<'a> {
    made: &'a [Made],
    vci: Option<&'a [crate::serve::offer::NewOffer]>,
    out: &'a Path,
    expires_at: u64,
}

/// Writes the codes file (CSV, [`CODES_HEADER`]; the OpenID4VCI columns empty without a public
/// URL) to a new file created 0600; with `pick_free`, `name-2.csv`, `name-3.csv`... when `path`
/// exists. Returns the path written.
fn write_codes_file(path: &Path, codes: &CodesFile<'_>, pick_free: bool) -> CliResult<PathBuf> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| CliError::new("io", format!("cannot write the codes file: {e}"));
    w.write_record(CODES_HEADER).map_err(io)?;
    let expires = clock::timestamp(codes.expires_at);
    for m in codes.made {
        let png = abs(&m.png);
        let png = png.to_string_lossy();
        let offer = codes
            .vci
            .and_then(|v| v.iter().find(|o| o.employee_number == m.target.number));
        let offer_png = offer
            .map(|_| abs(&crate::serve::offer::qr_path(codes.out, &m.target.number)))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        w.write_record([
            m.target.number.as_str(),
            &m.target.given,
            &m.target.family,
            &m.code,
            &m.payload,
            &expires,
            &png,
            offer.map_or("", |o| o.offer_uri.as_str()),
            offer.map_or("", |o| o.tx_code.as_str()),
            &offer_png,
        ])
        .map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::new("io", format!("cannot write the codes file: {e}")))?;
    let mut candidate = path.to_path_buf();
    for n in 2.. {
        if !candidate.exists() {
            break;
        }
        if !pick_free || n > 100 {
            return Err(CliError::new(
                "file_exists",
                format!(
                    "{} already exists; name a new file with --codes-file (nothing was changed)",
                    candidate.display()
                ),
            ));
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        candidate = path.with_file_name(format!("{stem}-{n}.csv"));
    }
    fsutil::create_new(&candidate, &bytes, 0o600)?;
    Ok(candidate)
}

/// Renders and writes every QR image, on one thread per core (rendering is the slow part).
fn write_qr_images(made: &[Made], bar: &indicatif::ProgressBar) -> CliResult<()> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = made.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = made
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> CliResult<()> {
                    for m in part {
                        fsutil::replace(&m.png, &qr_png(&m.payload)?, 0o600)?;
                        bar.inc(1);
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| CliError::new("internal", "a QR image thread stopped"))??;
        }
        Ok(())
    })
}

/// The text `offer` prints.
fn describe(
    made: &[Made],
    expires_at: u64,
    codes_file: Option<&Path>,
    out: &Path,
    replaced: usize,
    skipped_live: usize,
) -> String {
    let until = clock::timestamp(expires_at);
    let mut text = String::new();
    match codes_file {
        Some(file) => {
            let _ = writeln!(
                text,
                "Made {} enrollment code(s) (single use, valid until {until}).\n  codes:     {} \
                 (readable only by you: it holds the codes)\n  QR images: {}",
                made.len(),
                file.display(),
                out.join("<employee number>.png").display()
            );
        }
        None => {
            let _ = writeln!(text, "Enrollment codes (single use, valid until {until}):");
            for m in made {
                let _ = writeln!(
                    text,
                    "  {:<14} {}   QR: {}",
                    m.target.number,
                    m.code,
                    m.png.display()
                );
            }
        }
    }
    match (made, replaced) {
        ([m], 1) => {
            let _ = writeln!(
                text,
                "This replaces the unused code made earlier for {} ({} {}): it no longer works.",
                m.target.number, m.target.given, m.target.family
            );
        }
        (_, 0) => {}
        (_, n) => {
            let _ = writeln!(
                text,
                "Replaced {n} earlier unused code(s): they no longer work."
            );
        }
    }
    if skipped_live > 0 {
        let _ = writeln!(
            text,
            "Left out {skipped_live} staff member(s) who still have an unused code."
        );
    }
    let _ = write!(
        text,
        "Give each person their code or QR image in person{}. Their phone app turns it into a \
         key proof; load it with `govid-issuer enroll --proof <file>`.",
        if codes_file.is_some() {
            ", then delete the codes file and the images"
        } else {
            ""
        }
    );
    text
}

//! `issue`: worker IDs, and the gate pass issued with each, for enrolled staff, in batches.
//!
//! Each person gets two credentials from core: the worker ID (`<N>.sd-jwt`) and the gate pass
//! (`<N>.gate-pass.sd-jwt`, `vct` [`GATE_PASS_VCT`]), bound to the same phone key and sharing
//! one status list entry, so suspending or revoking the person flips both. They are one row in
//! `credentials` and one in `credential_texts` (columns `sd_jwt` and `gate_pass`).
//!
//! Each batch is one write transaction: choose the next staff (by employee number), allocate
//! their random status list indices, sign (on every core), insert the credential rows with their
//! indices, append one audit entry, commit; then write the files. A killed run loses at most the
//! batch in flight (nothing of it was committed), and the next run skips everyone who already
//! has a current ID, so nobody is issued twice; files missing after a kill are written again
//! from the database.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

#[cfg(doc)]
use govid_core::credential::GATE_PASS_VCT;
use govid_core::credential::{
    issue_gate_pass, issue_worker_id, StatusListRef, Validity, WorkerIdParams,
};
use govid_core::jose::PublicKey;
use govid_core::sdjwt::Decoys;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{self, to_hex};
use crate::clock::{self, DAY};
use crate::error::{CliError, CliResult};
use crate::fsutil;
use crate::issuer::{
    gate_pass_file_name, id_file_name, list_uri, load_staff, Issuer, Staff, STAFF_COLUMNS,
};
use crate::keys::IssuerSigner;
use crate::output::Report;
use crate::statuslist::allocate_batch;
use crate::store;

pub(crate) struct IssueOptions {
    pub(crate) employee_number: Option<String>,
    pub(crate) out: Option<PathBuf>,
    pub(crate) jsonl: bool,
    pub(crate) reissue: bool,
    pub(crate) max_days: u32,
    pub(crate) batch: usize,
    /// No progress bar (`--json`).
    pub(crate) quiet: bool,
}

/// Decoy digests per disclosable object.
const DECOYS: Decoys = Decoys { min: 1, max: 3 };

/// "Has a current ID": not superseded, not revoked, not expired.
const HAS_CURRENT: &str =
    "EXISTS (SELECT 1 FROM credentials c WHERE c.employee_number = s.employee_number
    AND c.superseded_at IS NULL AND c.status != 1 AND c.expires_at > :now)";

enum Sink {
    Files(PathBuf),
    Jsonl(Box<dyn Write>),
}

/// One credential made in a batch.
struct Made {
    employee_number: String,
    list_id: i64,
    uri: String,
    idx: u32,
    expires_at: u64,
    /// The worker ID.
    sd_jwt: String,
    /// The gate pass: same holder key, same status entry.
    gate_pass: String,
}

/// The list being filled and its used indices (reloaded when another process wrote).
struct ListCache {
    list_id: i64,
    capacity: u32,
    used: HashSet<u32>,
    data_version: i64,
}

fn check_single(conn: &Connection, n: &str, today: &str) -> CliResult<()> {
    let staff = load_staff(conn, n)?;
    let (state, enrolled): (String, bool) = conn.query_row(
        "SELECT state, holder_thumbprint IS NOT NULL FROM staff WHERE employee_number = ?1",
        [n],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match state.as_str() {
        "revoked" => Err(CliError::new(
            "revoked",
            format!("{n} is revoked; no new ID can be issued to them"),
        )),
        "suspended" => Err(CliError::new(
            "suspended",
            format!("{n} is suspended; run `govid-issuer reinstate {n}` first"),
        )),
        _ if !enrolled => Err(CliError::new(
            "not_enrolled",
            format!(
                "{n} has not enrolled a phone yet: run `govid-issuer offer {n}`, then `enroll`"
            ),
        )),
        _ if staff.valid_until.as_str() < today => Err(CliError::new(
            "contract_ended",
            format!(
                "{n}'s valid_until ({}) has passed; update the roster first",
                staff.valid_until
            ),
        )),
        _ => Ok(()),
    }
}

fn data_version(conn: &Connection) -> CliResult<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// Allocates `count` indices, filling the newest list and starting new ones as needed.
fn allocate(
    tx: &Connection,
    (status_base, list_capacity): (&str, usize),
    cache: &mut Option<ListCache>,
    count: usize,
    now: u64,
) -> CliResult<Vec<(i64, String, u32)>> {
    let dv = data_version(tx)?;
    let newest: Option<(i64, u32)> = tx
        .query_row(
            "SELECT id, capacity FROM status_lists ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let fresh = match (&*cache, newest) {
        (Some(c), Some((id, _))) => c.list_id != id || c.data_version != dv,
        _ => true,
    };
    if fresh {
        *cache = match newest {
            Some((list_id, capacity)) => {
                let mut stmt =
                    tx.prepare_cached("SELECT idx FROM credentials WHERE list_id = ?1")?;
                let used = stmt
                    .query_map([list_id], |r| r.get::<_, u32>(0))?
                    .collect::<Result<HashSet<u32>, _>>()?;
                Some(ListCache {
                    list_id,
                    capacity,
                    used,
                    data_version: dv,
                })
            }
            None => None,
        };
    }
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let full = cache
            .as_ref()
            .is_none_or(|c| c.used.len() >= c.capacity as usize);
        if full {
            let list_id = cache.as_ref().map_or(1, |c| c.list_id + 1);
            let capacity = u32::try_from(list_capacity).unwrap_or(u32::MAX);
            tx.execute(
                "INSERT INTO status_lists(id, uri, capacity, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    list_id,
                    list_uri(status_base, list_id),
                    capacity,
                    now as i64
                ],
            )?;
            *cache = Some(ListCache {
                list_id,
                capacity,
                used: HashSet::new(),
                data_version: dv,
            });
        }
        let Some(c) = cache.as_mut() else {
            break;
        };
        let uri = list_uri(status_base, c.list_id);
        for idx in allocate_batch(&c.used, c.capacity, count - out.len(), &mut OsRng) {
            c.used.insert(idx);
            out.push((c.list_id, uri.clone(), idx));
        }
    }
    Ok(out)
}

/// Credentials a signing thread makes before handing them to the database writer.
const SIGN_CHUNK: usize = 250;

/// Signs the batch's credentials on every core, in chunks, and hands each chunk to `store` on
/// the calling thread as soon as it is signed: the database writes of one chunk overlap the
/// signing of the next ones. Chunks arrive in any order.
fn sign_and_store(
    issuer_did: &str,
    signer: &IssuerSigner,
    rows: &[(Staff, String)],
    slots: &[(i64, String, u32)],
    (now, max_days): (u64, u32),
    store: &mut dyn FnMut(Made) -> CliResult<()>,
) -> CliResult<usize> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunks = rows.len().div_ceil(SIGN_CHUNK);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::channel::<CliResult<Vec<Made>>>();
        for _ in 0..threads.min(chunks) {
            let send = send.clone();
            let next = &next;
            scope.spawn(move || {
                let mut rng = match ChaCha20Rng::from_rng(OsRng) {
                    Ok(rng) => rng,
                    Err(_) => {
                        let _ = send.send(Err(CliError::new("rng", "the system RNG failed")));
                        return;
                    }
                };
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks {
                        return;
                    }
                    let range = c * SIGN_CHUNK..((c + 1) * SIGN_CHUNK).min(rows.len());
                    let made: CliResult<Vec<Made>> = rows[range.clone()]
                        .iter()
                        .zip(&slots[range])
                        .map(|((staff, holder_jwk), (list_id, uri, idx))| {
                            sign_one(
                                issuer_did, signer, staff, holder_jwk, *list_id, uri, *idx, now,
                                max_days, &mut rng,
                            )
                        })
                        .collect();
                    let failed = made.is_err();
                    // The receiver is gone when the writer stopped on an error: stop too.
                    if send.send(made).is_err() || failed {
                        return;
                    }
                }
            });
        }
        drop(send);
        let mut stored = 0;
        for chunk in receive {
            for made in chunk? {
                store(made)?;
                stored += 1;
            }
        }
        if stored != rows.len() {
            return Err(CliError::new("internal", "a signing thread stopped early"));
        }
        Ok(stored)
    })
}

#[allow(clippy::too_many_arguments)] // one credential's inputs; a struct would only rename them
fn sign_one(
    issuer_did: &str,
    signer: &IssuerSigner,
    staff: &Staff,
    holder_jwk: &str,
    list_id: i64,
    uri: &str,
    idx: u32,
    now: u64,
    max_days: u32,
    rng: &mut ChaCha20Rng,
) -> CliResult<Made> {
    let holder = PublicKey::from_jwk_str(holder_jwk).map_err(|_| {
        CliError::new(
            "corrupt_database",
            format!("the enrolled key of {} is not valid", staff.employee_number),
        )
    })?;
    let until = clock::parse_date(&staff.valid_until).ok_or_else(|| {
        CliError::new(
            "corrupt_database",
            format!("bad valid_until for {}", staff.employee_number),
        )
    })?;
    let end_of_contract = (until + 1).max(0) as u64 * DAY;
    let expires_at = end_of_contract.min(now + u64::from(max_days) * DAY);
    let params = WorkerIdParams {
        issuer: issuer_did,
        holder_key: &holder,
        validity: Validity {
            issued_at: now,
            not_before: now,
            expires_at,
        },
        status: Some(StatusListRef {
            idx: u64::from(idx),
            uri: uri.to_owned(),
        }),
        decoys: DECOYS,
    };
    let claims = staff.claims();
    let cannot = |e: govid_core::credential::CredentialError| {
        CliError::new(
            "cannot_issue",
            format!("cannot issue an ID to {}: {e}", staff.employee_number),
        )
    };
    let issued = issue_worker_id(&claims, &params, signer, rng).map_err(cannot)?;
    let gate_pass = issue_gate_pass(&claims, &params, signer, rng).map_err(cannot)?;
    Ok(Made {
        employee_number: staff.employee_number.clone(),
        list_id,
        uri: uri.to_owned(),
        idx,
        expires_at,
        sd_jwt: issued.compact(),
        gate_pass: gate_pass.compact(),
    })
}

fn write_out(sink: &mut Sink, made: &Made, kid: &str, now: u64) -> CliResult<()> {
    match sink {
        Sink::Files(dir) => {
            fsutil::replace(
                &dir.join(id_file_name(&made.employee_number)),
                made.sd_jwt.as_bytes(),
                0o600,
            )?;
            fsutil::replace(
                &dir.join(gate_pass_file_name(&made.employee_number)),
                made.gate_pass.as_bytes(),
                0o600,
            )
        }
        Sink::Jsonl(w) => {
            let line = json!({
                "employee_number": made.employee_number,
                "credential": made.sd_jwt,
                "gate_pass": made.gate_pass,
                "status_list": {"uri": made.uri, "idx": made.idx},
                "kid": kid,
                "issued_at": now,
                "expires_at": made.expires_at,
            });
            writeln!(w, "{line}")
                .map_err(|e| CliError::new("io", format!("cannot write output: {e}")))
        }
    }
}

pub(crate) fn run(dir: &Path, o: &IssueOptions) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let today = clock::civil_from_days(clock::today(now));
    if let Some(n) = &o.employee_number {
        check_single(&issuer.conn, n, &today)?;
    }
    let mut sink = match (&o.out, o.jsonl) {
        (None, true) => Sink::Jsonl(Box::new(BufWriter::new(std::io::stdout()))),
        (Some(out), true) => {
            fsutil::create_dir_all(out, 0o700)?;
            let path = out.join("credentials.jsonl");
            let file = File::options()
                .append(true)
                .create(true)
                .open(&path)
                .map_err(|e| CliError::io("cannot open", &path, &e))?;
            Sink::Jsonl(Box::new(BufWriter::new(file)))
        }
        (out, false) => {
            let out = out.clone().unwrap_or_else(|| dir.join("credentials"));
            fsutil::create_dir_all(&out, 0o700)?;
            Sink::Files(out)
        }
    };
    let only = o.employee_number.clone();
    let eligible = format!(
        "s.holder_thumbprint IS NOT NULL AND s.state = 'active' AND s.valid_until >= :today
         AND (:only IS NULL OR s.employee_number = :only)
         AND (:reissue OR NOT {HAS_CURRENT})"
    );
    let total: u64 = issuer.conn.query_row(
        &format!("SELECT COUNT(*) FROM staff s WHERE {eligible}"),
        rusqlite::named_params! {":today": today, ":only": only, ":reissue": o.reissue, ":now": now as i64},
        |r| r.get(0),
    )?;
    let bar = if o.quiet || !std::io::stderr().is_terminal() || total < 2 {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} issuing [{bar:30}] {pos}/{len} IDs  {rate}  ETA {eta}",
        ) {
            let style = style.with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} IDs/s", state.per_sec());
                },
            );
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    };

    let select = format!(
        "SELECT {}, s.holder_jwk FROM staff s WHERE s.employee_number > :cursor AND {eligible}
         ORDER BY s.employee_number LIMIT :limit",
        STAFF_COLUMNS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut cursor = String::new();
    let mut cache: Option<ListCache> = None;
    let mut issued = 0u64;
    let mut lists = std::collections::BTreeSet::new();
    let started = std::time::Instant::now();
    let trace = std::env::var_os("GOVID_ISSUER_TRACE").is_some();
    let mut phases = [std::time::Duration::ZERO; 5];
    loop {
        let t0 = std::time::Instant::now();
        let tx = store::write_tx(&mut issuer.conn)?;
        let rows: Vec<(Staff, String)> = {
            let mut stmt = tx.prepare_cached(&select)?;
            let rows = stmt.query_map(
                rusqlite::named_params! {":cursor": cursor, ":today": today, ":only": only,
                ":reissue": o.reissue, ":now": now as i64, ":limit": o.batch as i64},
                |r| Ok((Staff::from_row(r)?, r.get::<_, String>(12)?)),
            )?;
            rows.collect::<Result<_, _>>()?
        };
        let Some(last) = rows.last() else {
            break;
        };
        cursor = last.0.employee_number.clone();
        let t1 = std::time::Instant::now();
        phases[0] += t1 - t0;
        let slots = allocate(
            &tx,
            (&issuer.status_base, issuer.list_capacity),
            &mut cache,
            rows.len(),
            now,
        )?;
        let t2 = std::time::Instant::now();
        phases[1] += t2 - t1;
        let mut digest = Sha256::new();
        let (mut first_id, mut last_id) = (0i64, 0i64);
        let mut made_here = Vec::with_capacity(rows.len());
        let count = {
            let mut supersede = tx.prepare_cached(
                "UPDATE credentials SET superseded_at = :now,
                   status = CASE WHEN status = 0 THEN 1 ELSE status END,
                   reason = COALESCE(reason, 'superseded')
                 WHERE employee_number = :n AND superseded_at IS NULL",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO credentials(employee_number, list_id, idx, kid, issued_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut insert_text = tx.prepare_cached(
                "INSERT INTO credential_texts(credential_id, sd_jwt, gate_pass) VALUES (?1, ?2, ?3)",
            )?;
            let mut store = |m: Made| -> CliResult<()> {
                if o.reissue {
                    supersede.execute(
                        rusqlite::named_params! {":now": now as i64, ":n": m.employee_number},
                    )?;
                }
                insert.execute(params![
                    m.employee_number,
                    m.list_id,
                    m.idx,
                    signer.kid,
                    now as i64,
                    m.expires_at as i64,
                ])?;
                last_id = tx.last_insert_rowid();
                insert_text.execute(params![last_id, m.sd_jwt, m.gate_pass])?;
                if first_id == 0 {
                    first_id = last_id;
                }
                digest.update(
                    format!(
                        "{}|{}|{}|{}|{}\n",
                        m.employee_number,
                        m.list_id,
                        m.idx,
                        to_hex(&Sha256::digest(m.sd_jwt.as_bytes())),
                        to_hex(&Sha256::digest(m.gate_pass.as_bytes()))
                    )
                    .as_bytes(),
                );
                lists.insert(m.list_id);
                made_here.push(m);
                bar.inc(1);
                Ok(())
            };
            sign_and_store(
                &issuer.did,
                &signer,
                &rows,
                &slots,
                (now, o.max_days),
                &mut store,
            )?
        };
        let made = made_here;
        let t3 = std::time::Instant::now();
        phases[2] += t3 - t2;
        audit::append(
            &tx,
            &signer,
            now,
            if o.reissue { "reissue" } else { "issue" },
            &json!({"count": count, "first": rows.first().map(|r| &r.0.employee_number),
                    "last": rows.last().map(|r| &r.0.employee_number),
                    "credential_ids": [first_id, last_id], "digest": to_hex(&digest.finalize()),
                    "kid": signer.kid}),
        )?;
        tx.commit()?;
        let t4 = std::time::Instant::now();
        phases[3] += t4 - t3;
        for m in &made {
            write_out(&mut sink, m, &signer.kid, now)?;
        }
        phases[4] += t4.elapsed();
        issued += made.len() as u64;
    }
    bar.finish_and_clear();
    if trace {
        eprintln!(
            "trace: select {:?}, allocate {:?}, sign+insert {:?}, audit+commit {:?}, output {:?}",
            phases[0], phases[1], phases[2], phases[3], phases[4]
        );
    }
    // Files of IDs committed by an interrupted run but not yet written.
    let mut rewritten = 0u64;
    if let Sink::Files(out) = &sink {
        let mut stmt = issuer.conn.prepare(
            "SELECT c.employee_number, t.sd_jwt, t.gate_pass FROM credentials c
             JOIN credential_texts t ON t.credential_id = c.id
             WHERE c.superseded_at IS NULL AND c.status != 1 AND c.expires_at > ?1
               AND (?2 IS NULL OR c.employee_number = ?2)",
        )?;
        let mut rows = stmt.query(params![now as i64, only])?;
        while let Some(r) = rows.next()? {
            let n: String = r.get(0)?;
            let path = out.join(id_file_name(&n));
            if !path.exists() {
                let text: String = r.get(1)?;
                fsutil::replace(&path, text.as_bytes(), 0o600)?;
                rewritten += 1;
            }
            // NULL for an ID issued before gate passes were.
            let path = out.join(gate_pass_file_name(&n));
            if let (false, Some(text)) = (path.exists(), r.get::<_, Option<String>>(2)?) {
                fsutil::replace(&path, text.as_bytes(), 0o600)?;
                rewritten += 1;
            }
        }
    }
    if let Sink::Jsonl(w) = &mut sink {
        w.flush()
            .map_err(|e| CliError::new("io", format!("cannot write output: {e}")))?;
    }
    let secs = started.elapsed().as_secs_f64();
    let not_enrolled: i64 = issuer.conn.query_row(
        "SELECT COUNT(*) FROM staff WHERE holder_thumbprint IS NULL AND state = 'active'
           AND (?1 IS NULL OR employee_number = ?1)",
        [&only],
        |r| r.get(0),
    )?;
    let where_to = match &sink {
        Sink::Files(out) => format!(" into {}", out.display()),
        Sink::Jsonl(_) => String::new(),
    };
    let mut text =
        format!("Issued {issued} ID(s), each with its gate pass{where_to}, in {secs:.1} s.");
    if issued == 0 && only.is_some() {
        text = format!(
            "Nothing issued: {} already has a current ID (use --reissue to replace it).",
            only.as_deref().unwrap_or_default()
        );
    }
    if rewritten > 0 {
        text.push_str(&format!(
            "\nRewrote {rewritten} ID file(s) missing after an interrupted run."
        ));
    }
    if not_enrolled > 0 && only.is_none() {
        text.push_str(&format!(
            "\n{not_enrolled} active staff member(s) have not enrolled a phone yet (see `govid-issuer offer --all`)."
        ));
    }
    text.push_str("\nNext: govid-issuer publish --out <web folder>");
    Ok(Report::new(
        json!({"issued": issued, "seconds": secs, "status_lists": lists,
               "files_rewritten": rewritten, "not_enrolled": not_enrolled}),
        if o.jsonl && o.out.is_none() {
            // Standard output carries the ID lines: the summary goes to standard error.
            if !o.quiet {
                eprintln!("{text}");
            }
            String::new()
        } else {
            text
        },
    ))
}

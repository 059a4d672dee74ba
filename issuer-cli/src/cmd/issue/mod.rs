//! `issue`: worker IDs, and the gate pass issued with each, for enrolled staff, in batches.
//!
//! Each person gets two credentials from core: the worker ID (`<N>.sd-jwt`) and the gate pass
//! (`<N>.gate-pass.sd-jwt`, `vct` [`GATE_PASS_VCT`]), bound to the same phone key and sharing
//! one status list entry, so suspending or revoking the person flips both. They are one row in
//! `credentials`, one in `credential_texts` and one in `gate_pass_texts`.
//!
//! Each batch is one write transaction: insert the batch's credential rows with their indices,
//! append one audit entry, commit; then write the files. A killed run loses at most the batch in
//! flight (nothing of it was committed), and the next run skips everyone who already has a
//! current ID, so nobody is issued twice; files missing after a kill are written again from the
//! database.
//!
//! The work is pipelined so that no core waits: in batch k's transaction the writer also plans
//! batch k+1 (selects the next staff and allocates their random indices, [`plan`]) and queues it
//! to the signing threads ([`sign`]), which sign it while batch k's rows are inserted, committed
//! and written out. The plan of k+1 is kept only if no other command wrote in between (SQLite's
//! `data_version` did not change by the start of k+1's transaction); otherwise it is dropped
//! unsigned-or-signed, never stored or written, and batch k+1 is planned again.

mod plan;

pub(crate) use plan::ListCache;
mod sign;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::db::{params, Connection};
#[cfg(doc)]
use govid_core::credential::GATE_PASS_VCT;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{self, to_hex};
use crate::clock;
use crate::error::{CliError, CliResult};
use crate::fsutil;
use crate::issuer::{gate_pass_file_name, id_file_name, load_staff, Issuer, STAFF_COLUMNS};
use crate::output::Report;
use crate::store::{self, Cached};
use sign::Made;

pub(crate) struct IssueOptions {
    pub(crate) employee_number: Option<String>,
    pub(crate) out: Option<PathBuf>,
    pub(crate) jsonl: bool,
    pub(crate) reissue: bool,
    pub(crate) max_days: u32,
    pub(crate) batch: usize,
    /// No progress bar (`--json`).
    pub(crate) quiet: bool,
    /// Collect the per-ID `results` of the `--json` answer.
    pub(crate) results: bool,
}

/// One entry of `issue --json`'s `results`: an ID issued by this run.
#[derive(serde::Serialize)]
struct Issued {
    employee_number: String,
    /// The worker ID's file (absolute), `null` with `--jsonl`.
    credential_file: Option<PathBuf>,
    /// Its gate pass's file (absolute), `null` with `--jsonl`.
    gate_pass_file: Option<PathBuf>,
    /// The status list entry both share.
    status_list: IssuedEntry,
}

#[derive(serde::Serialize)]
struct IssuedEntry {
    uri: String,
    idx: u32,
}

/// "Has a current ID": not superseded, not revoked, not expired.
const HAS_CURRENT: &str =
    "EXISTS (SELECT 1 FROM credentials c WHERE c.employee_number = s.employee_number
    AND c.superseded_at IS NULL AND c.status != 1 AND c.expires_at > :now)";

/// SQLite page cache of the issuing connection: the status list index and the credential tables'
/// upper pages stay in memory for the whole run.
const ISSUE_CACHE_KIB: i64 = 256 * 1024;

enum Sink {
    Files(PathBuf),
    Jsonl(Box<dyn Write>),
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
        Sink::Jsonl(w) => write_line(w, made, kid, now)
            .map_err(|e| CliError::new("io", format!("cannot write output: {e}"))),
    }
}

/// Writes one `--jsonl` line: the bytes serde_json writes for a [`Line`] (same members, order
/// and escaping), with the credential texts copied without serde_json's escaping pass.
fn write_line(w: &mut dyn Write, made: &Made, kid: &str, now: u64) -> std::io::Result<()> {
    w.write_all(b"{\"credential\":")?;
    write_compact_text(w, &made.sd_jwt)?;
    w.write_all(b",\"employee_number\":")?;
    serde_json::to_writer(&mut *w, &made.employee_number)?;
    write!(w, ",\"expires_at\":{},\"gate_pass\":", made.expires_at)?;
    write_compact_text(w, &made.gate_pass)?;
    write!(w, ",\"issued_at\":{now},\"kid\":")?;
    serde_json::to_writer(&mut *w, kid)?;
    write!(w, ",\"status_list\":{{\"idx\":{},\"uri\":", made.idx)?;
    serde_json::to_writer(&mut *w, &made.uri)?;
    w.write_all(b"}}\n")
}

/// Writes an SD-JWT's compact text as a JSON string. Its characters (base64url, `.`, `~`) need
/// no escaping, which one pass checks; any other text goes through serde_json.
fn write_compact_text(w: &mut dyn Write, text: &str) -> std::io::Result<()> {
    let plain = text.bytes().fold(true, |plain, b| {
        plain & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.') | (b == b'~'))
    });
    if !plain {
        return Ok(serde_json::to_writer(w, text)?);
    }
    w.write_all(b"\"")?;
    w.write_all(text.as_bytes())?;
    w.write_all(b"\"")
}

/// One `--jsonl` line (fields in this order; `gate_pass` came with schema 2, the others are the
/// original contract). [`write_line`] writes its JSON; the test checks they agree.
#[cfg(test)]
#[derive(serde::Serialize)]
struct Line<'a> {
    /// The worker ID.
    credential: &'a str,
    employee_number: &'a str,
    expires_at: u64,
    /// The gate pass: same holder key, same status entry.
    gate_pass: &'a str,
    issued_at: u64,
    kid: &'a str,
    status_list: ListEntry<'a>,
}

/// The status entry both credentials of a `--jsonl` line share.
#[cfg(test)]
#[derive(serde::Serialize)]
struct ListEntry<'a> {
    idx: u32,
    uri: &'a str,
}

pub(crate) fn run(dir: &Path, o: &IssueOptions) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let today = clock::civil_from_days(clock::today(now));
    let only = match &o.employee_number {
        Some(n) => {
            let n = crate::issuer::resolve_staff(&issuer.conn, n)?;
            check_single(&issuer.conn, &n, &today)?;
            Some(n)
        }
        None => None,
    };
    // Temporary files of ID files a killed run left half-written.
    let mut temp_removed = 0u64;
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
            temp_removed = fsutil::remove_stale_temp_files(&out, ".sd-jwt")?;
            Sink::Files(out)
        }
    };
    let eligible = eligible_sql();
    let total: u64 = issuer.conn.query_row(
        &format!("SELECT COUNT(*) FROM staff s WHERE {eligible}"),
        crate::db::named_params! {":today": today, ":only": only, ":reissue": o.reissue, ":now": now as i64},
        |r| r.get(0),
    )?;
    let bar = crate::progress::bar(total, o.quiet, "issuing", "IDs");

    let select = select_sql(&eligible);
    let mut planner = plan::Planner::new(
        &select,
        &today,
        only.as_deref(),
        o.reissue,
        now,
        o.batch,
        (&issuer.status_base, issuer.list_capacity),
    );
    issuer.conn.pragma_update("cache_size", -ISSUE_CACHE_KIB)?;
    let ctx = sign::Context {
        issuer_did: &issuer.did,
        signer: &signer,
        now,
        max_days: o.max_days,
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let mut w = Writer {
        sink: &mut sink,
        kid: &signer.kid,
        signer: &signer,
        now,
        reissue: o.reissue,
        bar: &bar,
        issued: 0,
        lists: std::collections::BTreeSet::new(),
        phases: [Duration::ZERO; 5],
        replanned: 0,
        results: o.results.then(Vec::new),
        pause: std::env::var("GOVID_ISSUER_TEST_BATCH_PAUSE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(Duration::from_millis),
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        let mut pool = sign::Pool::start(scope, &ctx, threads);
        w.run(&mut issuer.conn, &mut planner, &mut pool)
    })?;
    let (issued, lists, phases, replanned) = (w.issued, w.lists, w.phases, w.replanned);
    let results = w.results.take();
    let trace = std::env::var_os("GOVID_ISSUER_TRACE").is_some();
    bar.finish_and_clear();
    if trace {
        eprintln!(
            "trace (writer thread): plan {:?}, wait for signatures {:?}, insert {:?}, audit+commit {:?}, output {:?}; {replanned} planned batch(es) dropped",
            phases[0], phases[1], phases[2], phases[3], phases[4]
        );
    }
    // Files of IDs committed by an interrupted run but not yet written.
    let mut rewritten = 0u64;
    if let Sink::Files(out) = &sink {
        let mut stmt = issuer.conn.prepare(
            "SELECT c.employee_number, t.sd_jwt, g.sd_jwt FROM credentials c
             JOIN credential_texts t ON t.credential_id = c.id
             LEFT JOIN gate_pass_texts g ON g.credential_id = c.id
             WHERE c.superseded_at IS NULL AND c.status != 1 AND c.expires_at > ?1
               AND (c.employee_number = ?2 OR ?2 IS NULL)",
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
            // None for an ID issued before gate passes were.
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
           AND (employee_number = ?1 OR ?1 IS NULL)",
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
    let why = Nobody::count(&issuer.conn, &today, now)?;
    if issued == 0 && only.is_none() {
        text = why.text(not_enrolled);
    }
    if rewritten > 0 {
        text.push_str(&format!(
            "\nRewrote {rewritten} ID file(s) missing after an interrupted run."
        ));
    }
    if temp_removed > 0 {
        text.push_str(&format!(
            "\nRemoved {temp_removed} temporary file(s) left by an interrupted run."
        ));
    }
    if not_enrolled > 0 && only.is_none() && issued > 0 {
        text.push_str(&format!(
            "\n{not_enrolled} active staff member(s) have not enrolled a phone yet (see `govid-issuer offer --all`)."
        ));
    }
    if issued > 0 {
        text.push_str("\nNext: govid-issuer publish --out <web folder>");
    }
    let report = Report::new(
        json!({"issued": issued, "seconds": secs, "status_lists": lists,
               "files_rewritten": rewritten, "temp_files_removed": temp_removed,
               "not_enrolled": not_enrolled, "already_current": why.current,
               "contract_ended": why.ended, "suspended_or_revoked": why.stopped}),
        if o.jsonl && o.out.is_none() {
            // Standard output carries the ID lines: the summary goes to standard error.
            if !o.quiet {
                eprintln!("{text}");
            }
            String::new()
        } else {
            text
        },
    );
    Ok(match results {
        // Serialized straight to text: a Value per ID would cost far more memory.
        Some(results) => report.with_raw(
            "results",
            serde_json::to_string(&results)
                .map_err(|e| CliError::new("internal", format!("cannot write results: {e}")))?,
        ),
        None => report,
    })
}

/// The staff `issue` issues to (named parameters `:today`, `:only`, `:reissue`, `:now`).
fn eligible_sql() -> String {
    format!(
        "s.holder_thumbprint IS NOT NULL AND s.state = 'active' AND s.valid_until >= :today
         AND (s.employee_number = :only OR :only IS NULL)
         AND (:reissue OR NOT {HAS_CURRENT})"
    )
}

/// The planner's query over [`eligible_sql`].
fn select_sql(eligible: &str) -> String {
    format!(
        "SELECT {}, s.holder_jwk FROM staff s WHERE s.employee_number > :cursor AND {eligible}
         ORDER BY s.employee_number LIMIT :limit",
        STAFF_COLUMNS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The planner's query for one person ([`issue_one`]): by primary key (`… OR :only IS NULL`
/// would walk the staff table), and with a `LIMIT` SQLite need not compile again at every use
/// (it does for a bare `LIMIT ?`, whose value can change the plan).
fn select_one_sql() -> String {
    select_sql(&eligible_sql().replace(
        "(s.employee_number = :only OR :only IS NULL)",
        "s.employee_number = :only",
    ))
    .replace("LIMIT :limit", "LIMIT 1 + 0 * :limit")
}

/// The issuer settings [`issue_one`] needs.
pub(crate) struct IssuerRef<'a> {
    pub(crate) did: &'a str,
    pub(crate) status_base: &'a str,
    pub(crate) list_capacity: usize,
}

/// Issues `employee_number`'s worker ID and gate pass in the caller's write transaction, exactly
/// as `issue <N>` does (or `issue <N> --reissue` when they have a current ID): the same status
/// index allocation, signing, rows and audit entry, so `audit verify` and `publish` replay it
/// like any other. For `serve`'s credential endpoint. Returns the credential id, `None` if
/// `employee_number` is not eligible (not enrolled, not active, contract ended).
///
/// `cache` carries the status list's used indices from one call to the next (reloaded when
/// another process wrote); after a rolled-back transaction it may hold indices never committed,
/// which are then only skipped.
pub(crate) fn issue_one(
    tx: &Connection,
    issuer: &IssuerRef<'_>,
    signer: &crate::keys::IssuerSigner,
    employee_number: &str,
    (now, max_days): (u64, u32),
    cache: &mut Option<ListCache>,
) -> CliResult<Option<i64>> {
    let today = clock::civil_from_days(clock::today(now));
    let reissue: bool = tx.cached_row(
        &format!("SELECT {HAS_CURRENT} FROM staff s WHERE s.employee_number = :n"),
        crate::db::named_params! {":n": employee_number, ":now": now as i64},
        |r| r.get(0),
    )?;
    let select = select_one_sql();
    let mut planner = plan::Planner::new(
        &select,
        &today,
        Some(employee_number),
        reissue,
        now,
        1,
        (issuer.status_base, issuer.list_capacity),
    )
    .with_cache(cache.take());
    let planned = planner.next(tx)?;
    *cache = planner.into_cache();
    let Some((rows, slots)) = planned else {
        return Ok(None);
    };
    let ctx = sign::Context {
        issuer_did: issuer.did,
        signer,
        now,
        max_days,
    };
    let made = sign::sign_rows(&ctx, &rows, &slots)?;
    let mut batch = BatchRows::new(made.len());
    for m in made {
        batch.insert(tx, m, &signer.kid, now, reissue)?;
    }
    batch.audit(tx, signer, now, reissue, (employee_number, employee_number))?;
    Ok(Some(batch.first_id))
}

/// Why `issue --all` found nobody to issue to: the staff it skipped, by reason.
struct Nobody {
    /// Staff in the roster.
    staff: i64,
    /// Enrolled, active staff with a current ID.
    current: i64,
    /// Enrolled, active staff whose `valid_until` has passed.
    ended: i64,
    /// Suspended or revoked staff.
    stopped: i64,
}

impl Nobody {
    fn count(conn: &Connection, today: &str, now: u64) -> CliResult<Self> {
        Ok(conn.query_row(
            &format!(
                "SELECT COUNT(*),
                   COUNT(*) FILTER (WHERE s.holder_thumbprint IS NOT NULL AND s.state = 'active'
                     AND s.valid_until >= :today AND {HAS_CURRENT}),
                   COUNT(*) FILTER (WHERE s.holder_thumbprint IS NOT NULL AND s.state = 'active'
                     AND s.valid_until < :today),
                   COUNT(*) FILTER (WHERE s.state != 'active')
                 FROM staff s"
            ),
            crate::db::named_params! {":today": today, ":now": now as i64},
            |r| {
                Ok(Self {
                    staff: r.get(0)?,
                    current: r.get(1)?,
                    ended: r.get(2)?,
                    stopped: r.get(3)?,
                })
            },
        )?)
    }

    /// "Nothing issued: ..." with each reason that applies.
    fn text(&self, not_enrolled: i64) -> String {
        if self.staff == 0 {
            return "Nothing issued: there are no staff yet (run `govid-issuer staff import \
                    ROSTER.CSV`)."
                .to_owned();
        }
        let mut why = Vec::new();
        if self.current > 0 {
            why.push(format!(
                "{} enrolled staff member(s) already have a current ID (--reissue replaces them)",
                self.current
            ));
        }
        if not_enrolled > 0 {
            let who = if self.current == 0 && self.ended == 0 {
                format!("nobody has enrolled a phone yet ({not_enrolled} active staff member(s))")
            } else {
                format!("{not_enrolled} active staff member(s) have not enrolled a phone yet")
            };
            why.push(format!("{who}: see `govid-issuer offer --all`"));
        }
        if self.ended > 0 {
            why.push(format!(
                "{} enrolled staff member(s) have a valid_until in the past (update the roster)",
                self.ended
            ));
        }
        if self.stopped > 0 {
            why.push(format!("{} are suspended or revoked", self.stopped));
        }
        format!("Nothing issued, nothing to publish: {}.", why.join("; "))
    }
}

/// The database writer: one transaction per batch, while the signing threads work ahead.
struct Writer<'a> {
    sink: &'a mut Sink,
    kid: &'a str,
    signer: &'a crate::keys::IssuerSigner,
    now: u64,
    reissue: bool,
    bar: &'a indicatif::ProgressBar,
    issued: u64,
    lists: std::collections::BTreeSet<i64>,
    /// plan, wait for signatures, insert, audit + commit, output.
    phases: [Duration; 5],
    /// Planned batches dropped because another command wrote.
    replanned: u64,
    /// Each ID issued (`--json` only).
    results: Option<Vec<Issued>>,
    /// Tests only (`GOVID_ISSUER_TEST_BATCH_PAUSE_MS`): a pause after each commit.
    pause: Option<Duration>,
}

/// A batch planned and queued for signing in an earlier transaction.
struct Pending {
    ticket: sign::Ticket,
    /// The planner's cursor before this batch, to plan it again if it is dropped.
    cursor_before: String,
    count: usize,
    first: String,
    last: String,
}

impl Writer<'_> {
    fn run(
        &mut self,
        conn: &mut Connection,
        planner: &mut plan::Planner<'_>,
        pool: &mut sign::Pool,
    ) -> CliResult<()> {
        let mut pending: Option<Pending> = None;
        // The data version after our last commit: it changes only when another connection
        // commits.
        let mut ours: Option<i64> = None;
        loop {
            let t0 = Instant::now();
            let tx = store::write_tx(conn)?;
            let dv = tx.data_version()?;
            let current = match pending.take() {
                Some(p) if ours == Some(dv) => Some(p),
                Some(p) => {
                    // Another command wrote since the plan: plan this batch again.
                    planner.cursor = p.cursor_before;
                    planner.forget();
                    pool.discard(p.ticket);
                    self.replanned += 1;
                    None
                }
                None => None,
            };
            let current = match current {
                Some(p) => p,
                None => match submit(planner, &tx, pool)? {
                    Some(p) => p,
                    None => break,
                },
            };
            let next = submit(planner, &tx, pool)?;
            self.phases[0] += t0.elapsed();
            let made = self.store(&tx, pool, current)?;
            let t3 = Instant::now();
            tx.commit()?;
            ours = Some(conn.data_version()?);
            let t4 = Instant::now();
            self.phases[3] += t4 - t3;
            for m in &made {
                write_out(self.sink, m, self.kid, self.now)?;
            }
            if let Some(results) = &mut self.results {
                let dir = match &*self.sink {
                    Sink::Files(dir) => Some(crate::output::abs(dir)),
                    Sink::Jsonl(_) => None,
                };
                results.extend(made.iter().map(|m| {
                    Issued {
                        employee_number: m.employee_number.clone(),
                        credential_file: dir
                            .as_ref()
                            .map(|d| d.join(id_file_name(&m.employee_number))),
                        gate_pass_file: dir
                            .as_ref()
                            .map(|d| d.join(gate_pass_file_name(&m.employee_number))),
                        status_list: IssuedEntry {
                            uri: m.uri.clone(),
                            idx: m.idx,
                        },
                    }
                }));
            }
            self.phases[4] += t4.elapsed();
            self.issued += made.len() as u64;
            if let Some(pause) = self.pause {
                // Tests: let another command take its turn between batches.
                std::thread::sleep(pause);
            }
            pending = next;
            if pending.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Inserts a batch's credentials as their chunks arrive signed, then its audit entry.
    fn store(
        &mut self,
        tx: &Connection,
        pool: &mut sign::Pool,
        mut batch: Pending,
    ) -> CliResult<Vec<Made>> {
        let mut rows = BatchRows::new(batch.count);
        loop {
            let t = Instant::now();
            let Some(chunk) = pool.next_chunk(&mut batch.ticket) else {
                break;
            };
            let t1 = Instant::now();
            self.phases[1] += t1 - t;
            for m in chunk? {
                rows.insert(tx, m, self.kid, self.now, self.reissue)?;
                self.lists.insert(rows.made.last().map_or(0, |m| m.list_id));
                self.bar.inc(1);
            }
            self.phases[2] += t1.elapsed();
        }
        if rows.made.len() != batch.count {
            return Err(CliError::new("internal", "a signing thread stopped early"));
        }
        rows.audit(
            tx,
            self.signer,
            self.now,
            self.reissue,
            (&batch.first, &batch.last),
        )?;
        Ok(rows.made)
    }
}

/// The rows of one batch as they are inserted, and the digest of its audit entry.
struct BatchRows {
    digest: Sha256,
    first_id: i64,
    last_id: i64,
    made: Vec<Made>,
}

impl BatchRows {
    fn new(count: usize) -> Self {
        Self {
            digest: Sha256::new(),
            first_id: 0,
            last_id: 0,
            made: Vec::with_capacity(count),
        }
    }

    /// Inserts one person's credentials (superseding their earlier ones on reissue).
    fn insert(
        &mut self,
        tx: &Connection,
        m: Made,
        kid: &str,
        now: u64,
        reissue: bool,
    ) -> CliResult<()> {
        let now = now as i64;
        if reissue {
            tx.prepare_cached(
                "UPDATE credentials SET superseded_at = :now,
                   status = CASE WHEN status = 0 THEN 1 ELSE status END,
                   reason = COALESCE(reason, 'superseded')
                 WHERE employee_number = :n AND superseded_at IS NULL",
            )?
            .execute(crate::db::named_params! {":now": now, ":n": m.employee_number})?;
        }
        self.last_id = tx
            .prepare_cached(
                "INSERT INTO credentials(employee_number, list_id, idx, kid, issued_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            )?
            .query_row(
                params![
                    m.employee_number,
                    m.list_id,
                    m.idx,
                    kid,
                    now,
                    m.expires_at as i64,
                ],
                |r| r.get(0),
            )?;
        tx.prepare_cached("INSERT INTO credential_texts(credential_id, sd_jwt) VALUES (?1, ?2)")?
            .execute(params![self.last_id, m.sd_jwt])?;
        tx.prepare_cached("INSERT INTO gate_pass_texts(credential_id, sd_jwt) VALUES (?1, ?2)")?
            .execute(params![self.last_id, m.gate_pass])?;
        if self.first_id == 0 {
            self.first_id = self.last_id;
        }
        digest_line(&mut self.digest, &m);
        self.made.push(m);
        Ok(())
    }

    /// The batch's audit entry.
    fn audit(
        &mut self,
        tx: &Connection,
        signer: &crate::keys::IssuerSigner,
        now: u64,
        reissue: bool,
        (first, last): (&str, &str),
    ) -> CliResult<()> {
        let digest = std::mem::take(&mut self.digest);
        audit::append(
            tx,
            signer,
            now,
            if reissue { "reissue" } else { "issue" },
            &json!({"count": self.made.len(), "first": first, "last": last,
                    "credential_ids": [self.first_id, self.last_id],
                    "digest": to_hex(&digest.finalize()), "kid": signer.kid}),
        )?;
        Ok(())
    }
}

/// Plans the next batch and queues it for signing.
fn submit(
    planner: &mut plan::Planner<'_>,
    tx: &Connection,
    pool: &mut sign::Pool,
) -> CliResult<Option<Pending>> {
    let cursor_before = planner.cursor.clone();
    let Some((rows, slots)) = planner.next(tx)? else {
        return Ok(None);
    };
    let (count, first, last) = (
        rows.len(),
        rows.first()
            .map(|r| r.claims.employee_number.clone())
            .unwrap_or_default(),
        rows.last()
            .map(|r| r.claims.employee_number.clone())
            .unwrap_or_default(),
    );
    let ticket = pool.submit(rows, slots)?;
    Ok(Some(Pending {
        ticket,
        cursor_before,
        count,
        first,
        last,
    }))
}

/// The batch digest in the audit entry: SHA-256 over one line per credential, in credential id
/// order, `<employee number>|<list>|<index>|<SHA-256 of the worker ID>|<SHA-256 of the gate
/// pass>` (hashes in hex) and a newline.
fn digest_line(digest: &mut Sha256, m: &Made) {
    let mut line = Vec::with_capacity(m.employee_number.len() + 160);
    line.extend_from_slice(m.employee_number.as_bytes());
    line.extend_from_slice(format!("|{}|{}|", m.list_id, m.idx).as_bytes());
    hex_into(&mut line, &m.hashes[0]);
    line.push(b'|');
    hex_into(&mut line, &m.hashes[1]);
    line.push(b'\n');
    digest.update(&line);
}

fn hex_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_line_is_the_serialized_line() {
        let plain = "eyJhbGciOiJFZERTQSJ9.eyJfc2QiOltdfQ.c2ln~WyJzYWx0Il0~";
        for (sd_jwt, employee_number, kid, uri) in [
            (
                plain,
                "E-1",
                "did:web:hr.example#key-1",
                "https://hr.example/status/1",
            ),
            (
                "not \"base64\"\n",
                "É\"1\\\u{1}",
                "k\u{7f}",
                "https://h/\u{2028}",
            ),
        ] {
            let made = Made {
                employee_number: employee_number.to_owned(),
                list_id: 3,
                uri: uri.to_owned(),
                idx: 131_071,
                expires_at: 1_826_536_000,
                sd_jwt: sd_jwt.to_owned(),
                gate_pass: format!("{sd_jwt}x"),
                hashes: [[0; 32]; 2],
            };
            let mut ours = Vec::new();
            write_line(&mut ours, &made, kid, 1_795_000_000).unwrap_or_else(|e| panic!("{e}"));
            let line = Line {
                credential: &made.sd_jwt,
                employee_number: &made.employee_number,
                expires_at: made.expires_at,
                gate_pass: &made.gate_pass,
                issued_at: 1_795_000_000,
                kid,
                status_list: ListEntry {
                    idx: made.idx,
                    uri: &made.uri,
                },
            };
            let mut expected = serde_json::to_vec(&line).unwrap_or_default();
            expected.push(b'\n');
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&expected)
            );
        }
    }
}
#[cfg(test)]
mod one_select_tests {
    /// [`super::select_one_sql`] is compiled once: SQLite compiles a statement again at every use
    /// when a bound value can change its plan (a bare `LIMIT ?`, and `? IS NULL OR …` walks the
    /// table).
    #[test]
    fn the_one_person_query_is_compiled_once_and_uses_the_primary_key() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = crate::store::create(&crate::store::db_path(dir.path()))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let conn = db.sqlite().unwrap_or_else(|| panic!("a SQLite database"));
        let sql = super::select_one_sql();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .and_then(|mut stmt| {
                stmt.query_map(
                    rusqlite::named_params! {":cursor": "", ":today": "2026-01-01",
                    ":only": "N1", ":reissue": false, ":now": 1, ":limit": 1},
                    |r| r.get::<_, String>(3),
                )?
                .collect()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            plan.first()
                .is_some_and(|p| p.starts_with("SEARCH s USING INDEX")),
            "{plan:?}"
        );
        let mut stmt = conn.prepare(&sql).unwrap_or_else(|e| panic!("{e}"));
        for i in 0..5 {
            let mut rows = stmt
                .query(
                    rusqlite::named_params! {":cursor": "", ":today": "2026-01-01",
                    ":only": format!("N{i}"), ":reissue": false, ":now": 1000 + i, ":limit": 1},
                )
                .unwrap_or_else(|e| panic!("{e}"));
            while rows.next().unwrap_or_else(|e| panic!("{e}")).is_some() {}
        }
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}

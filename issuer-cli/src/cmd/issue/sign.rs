//! The signing pool of `issue`: one thread per core for the whole run, signing batches in chunks
//! while the database writer stores the chunks already signed and commits earlier batches.
//!
//! Randomness: every batch reads one 32-byte seed from the operating system's RNG (`OsRng`) and
//! each of its chunks uses a ChaCha20 CSPRNG from that seed on its own stream (the chunk number),
//! so one OS read per batch feeds every salt and decoy of the batch. Salts are 128 bits (core's
//! `Disclosure`), from a CSPRNG freshly seeded by the OS for every batch; streams never overlap.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use govid_core::credential::{
    CompactIssuer, CompactParams, CredentialError, HolderCnf, Validity, WorkerClaims,
};
use govid_core::sdjwt::Decoys;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};

use crate::clock::{self, DAY};
use crate::error::{CliError, CliResult};
use crate::issuer::Staff;
use crate::keys::IssuerSigner;

/// Decoy digests per disclosable object of the worker ID.
const DECOYS: Decoys = Decoys { min: 1, max: 3 };

/// Credentials a signing thread makes before handing them to the database writer.
const SIGN_CHUNK: usize = 250;

/// A status list entry: list number, its URI, the index.
pub(super) type Slot = (i64, String, u32);

/// A staff member to issue to.
pub(super) struct Row {
    /// Their claims (moved out of the staff record).
    pub(super) claims: WorkerClaims,
    /// The roster's `valid_until`, `YYYY-MM-DD`.
    pub(super) valid_until: String,
    /// Their enrolled phone key (public JWK text).
    pub(super) holder_jwk: String,
}

impl Row {
    /// The row of `staff` with their enrolled key.
    pub(super) fn new(staff: Staff, holder_jwk: String) -> Self {
        let (claims, valid_until) = staff.into_claims();
        Self {
            claims,
            valid_until,
            holder_jwk,
        }
    }
}

/// One person's two credentials, made in a batch.
pub(super) struct Made {
    pub(super) employee_number: String,
    pub(super) list_id: i64,
    pub(super) uri: String,
    pub(super) idx: u32,
    pub(super) expires_at: u64,
    /// The worker ID.
    pub(super) sd_jwt: String,
    /// The gate pass: same holder key, same status entry.
    pub(super) gate_pass: String,
    /// SHA-256 of `sd_jwt` and of `gate_pass`, for the batch digest of the audit entry:
    /// computed here on the signing threads, off the database writer's path.
    pub(super) hashes: [[u8; 32]; 2],
}

/// What every credential of the run shares.
pub(super) struct Context<'a> {
    pub(super) issuer_did: &'a str,
    pub(super) signer: &'a IssuerSigner,
    pub(super) now: u64,
    pub(super) max_days: u32,
}

/// A batch to sign: the people (with their enrolled key) and their status entries.
struct Batch {
    seq: u64,
    rows: Vec<Row>,
    slots: Vec<Slot>,
    seed: [u8; 32],
}

/// A submitted batch: its number and how many chunks it was cut into.
pub(super) struct Ticket {
    seq: u64,
    chunks: usize,
    received: usize,
}

struct Work {
    batch: Arc<Batch>,
    chunk: usize,
}

struct Done {
    seq: u64,
    result: CliResult<Vec<Made>>,
}

/// The signing threads and their queues. Dropping it stops the threads (after the chunk each
/// is signing).
pub(super) struct Pool {
    work: Option<Sender<Work>>,
    done: Receiver<Done>,
    /// Chunks of later batches that arrived while waiting for an earlier one.
    early: Vec<Done>,
    /// Batches given up (planned before another command wrote): their chunks are dropped.
    discarded: HashSet<u64>,
    stop: Arc<AtomicBool>,
    next_seq: u64,
}

impl Pool {
    /// Starts `threads` signing threads in `scope`.
    pub(super) fn start<'scope, 'env: 'scope>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        ctx: &'env Context<'env>,
        threads: usize,
    ) -> Self {
        let (work, queue) = channel::<Work>();
        let queue = Arc::new(Mutex::new(queue));
        let (done_tx, done) = channel::<Done>();
        let stop = Arc::new(AtomicBool::new(false));
        for _ in 0..threads.max(1) {
            let (queue, done_tx, stop) = (Arc::clone(&queue), done_tx.clone(), Arc::clone(&stop));
            scope.spawn(move || loop {
                // A poisoned lock means another signing thread panicked: stop too.
                let next = match queue.lock() {
                    Ok(queue) => queue.recv(),
                    Err(_) => return,
                };
                let Ok(Work { batch, chunk }) = next else {
                    return;
                };
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let result = sign_chunk(ctx, &batch, chunk);
                // The receiver is gone when the writer stopped: stop too.
                if done_tx
                    .send(Done {
                        seq: batch.seq,
                        result,
                    })
                    .is_err()
                {
                    return;
                }
            });
        }
        Self {
            work: Some(work),
            done,
            early: Vec::new(),
            discarded: HashSet::new(),
            stop,
            next_seq: 0,
        }
    }

    /// Queues a batch for signing (one OS RNG read for its seed).
    pub(super) fn submit(&mut self, rows: Vec<Row>, slots: Vec<Slot>) -> CliResult<Ticket> {
        let mut seed = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|_| CliError::new("rng", "the system RNG failed"))?;
        self.next_seq += 1;
        let chunks = rows.len().div_ceil(SIGN_CHUNK);
        let batch = Arc::new(Batch {
            seq: self.next_seq,
            rows,
            slots,
            seed,
        });
        let work = self
            .work
            .as_ref()
            .ok_or_else(|| CliError::new("internal", "the signing threads have stopped"))?;
        for chunk in 0..chunks {
            work.send(Work {
                batch: Arc::clone(&batch),
                chunk,
            })
            .map_err(|_| CliError::new("internal", "the signing threads have stopped"))?;
        }
        Ok(Ticket {
            seq: self.next_seq,
            chunks,
            received: 0,
        })
    }

    /// The next signed chunk of `ticket`'s batch, in any order; `None` once all arrived.
    pub(super) fn next_chunk(&mut self, ticket: &mut Ticket) -> Option<CliResult<Vec<Made>>> {
        if ticket.received == ticket.chunks {
            return None;
        }
        ticket.received += 1;
        if let Some(i) = self.early.iter().position(|d| d.seq == ticket.seq) {
            return Some(self.early.swap_remove(i).result);
        }
        loop {
            let Ok(done) = self.done.recv() else {
                return Some(Err(CliError::new(
                    "internal",
                    "a signing thread stopped early",
                )));
            };
            if done.seq == ticket.seq {
                return Some(done.result);
            }
            if !self.discarded.contains(&done.seq) {
                self.early.push(done);
            }
        }
    }

    /// Gives up a submitted batch: its signed chunks are dropped, never stored or written.
    pub(super) fn discard(&mut self, ticket: Ticket) {
        self.early.retain(|d| d.seq != ticket.seq);
        self.discarded.insert(ticket.seq);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.work = None;
    }
}

/// Signs `rows` with their `slots` on the calling thread (one person at a time, for `serve`),
/// with a CSPRNG freshly seeded by the OS.
pub(super) fn sign_rows(ctx: &Context<'_>, rows: &[Row], slots: &[Slot]) -> CliResult<Vec<Made>> {
    let mut rng =
        ChaCha20Rng::from_rng(OsRng).map_err(|_| CliError::new("rng", "the system RNG failed"))?;
    let mut issuer = CompactIssuer::new(ctx.signer)
        .map_err(|e| CliError::new("cannot_issue", format!("cannot sign: {e}")))?;
    rows.iter()
        .zip(slots)
        .map(|(row, slot)| sign_one(ctx, &mut issuer, row, slot, &mut rng))
        .collect()
}

fn sign_chunk(ctx: &Context<'_>, batch: &Batch, chunk: usize) -> CliResult<Vec<Made>> {
    let mut rng = ChaCha20Rng::from_seed(batch.seed);
    rng.set_stream(chunk as u64);
    let mut issuer = CompactIssuer::new(ctx.signer)
        .map_err(|e| CliError::new("cannot_issue", format!("cannot sign: {e}")))?;
    let range = chunk * SIGN_CHUNK..((chunk + 1) * SIGN_CHUNK).min(batch.rows.len());
    batch.rows[range.clone()]
        .iter()
        .zip(&batch.slots[range])
        .map(|(row, slot)| sign_one(ctx, &mut issuer, row, slot, &mut rng))
        .collect()
}

/// The worker ID and the gate pass of one person: same holder key, validity and status entry.
/// The enrolled key was validated at enrollment: its JWK goes into `cnf` as it is (core's
/// `HolderCnf::from_enrolled_jwk`).
fn sign_one(
    ctx: &Context<'_>,
    issuer: &mut CompactIssuer<'_>,
    row: &Row,
    (list_id, uri, idx): &Slot,
    rng: &mut ChaCha20Rng,
) -> CliResult<Made> {
    let claims = &row.claims;
    let holder = HolderCnf::from_enrolled_jwk(&row.holder_jwk).map_err(|_| {
        CliError::new(
            "corrupt_database",
            format!(
                "the enrolled key of {} is not valid",
                claims.employee_number
            ),
        )
    })?;
    let until = clock::parse_date(&row.valid_until).ok_or_else(|| {
        CliError::new(
            "corrupt_database",
            format!("bad valid_until for {}", claims.employee_number),
        )
    })?;
    let end_of_contract = (until + 1).max(0) as u64 * DAY;
    let expires_at = end_of_contract.min(ctx.now + u64::from(ctx.max_days) * DAY);
    let params = CompactParams {
        issuer: ctx.issuer_did,
        holder: &holder,
        validity: Validity {
            issued_at: ctx.now,
            not_before: ctx.now,
            expires_at,
        },
        status: Some((u64::from(*idx), uri)),
        decoys: DECOYS,
    };
    let cannot = |e: CredentialError| {
        CliError::new(
            "cannot_issue",
            format!("cannot issue an ID to {}: {e}", claims.employee_number),
        )
    };
    let worker_id = issuer.worker_id(claims, &params, rng).map_err(cannot)?;
    let gate_pass = issuer.gate_pass(claims, &params, rng).map_err(cannot)?;
    Ok(Made {
        employee_number: claims.employee_number.clone(),
        list_id: *list_id,
        uri: uri.clone(),
        idx: *idx,
        expires_at,
        hashes: [
            Sha256::digest(worker_id.as_bytes()).into(),
            Sha256::digest(gate_pass.as_bytes()).into(),
        ],
        sd_jwt: worker_id,
        gate_pass,
    })
}

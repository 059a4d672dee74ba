//! `POST /add-checkpoint` (c2sp.org/tlog-witness): parse the request, check the log signature
//! and the consistency proof from the last checkpoint this witness cosigned, cosign.
//!
//! Status codes are the spec's: 400 a malformed body or an old size above the checkpoint's;
//! 404 an unknown origin; 403 no valid signature by the log's key; 409 (body: the witness's
//! size, `text/x.tlog.size`) an old size that is not the witness's; 422 a proof that does not
//! verify, a non-empty proof from size 0, an empty tree with another root, or the same size with
//! another root. A 422 for a log-signed checkpoint also writes both notes to
//! `STATE/evidence/` (a fork or a bad proof is worth keeping).

use govid_core::tlog::{
    check_consistency, parse_checkpoint_unverified, split_note, verify_checkpoint, Checkpoint,
    CheckpointError, Hash, LogKey, WitnessSigner, EMPTY_HASH,
};

use super::state::{Stored, WitnessState};

/// The most consistency proof lines a client may send (tlog-witness).
const MAX_PROOF_LINES: usize = 63;

/// The outcome of one request: the status and body to answer with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 200: the cosignature line(s).
    Cosigned(String),
    /// 400 with a reason.
    BadRequest(&'static str),
    /// 403 with a reason.
    Forbidden(&'static str),
    /// 404: the origin is not a log this witness knows.
    UnknownLog,
    /// 409: the witness's size for this log.
    Conflict(u64),
    /// 422 with a reason.
    Unprocessable(&'static str),
    /// 500: the state could not be read or written.
    Internal(&'static str),
}

struct Request<'a> {
    old: u64,
    proof: Vec<Hash>,
    note: &'a [u8],
}

fn parse(body: &[u8]) -> Result<Request<'_>, &'static str> {
    let split = body
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or("no empty line before the checkpoint")?;
    let head = std::str::from_utf8(&body[..split]).map_err(|_| "not UTF-8")?;
    let note = &body[split + 2..];
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .ok_or("the first line is not `old <size>`")?;
    let old_n: u64 = old.parse().map_err(|_| "the old size is not a number")?;
    if old_n.to_string() != old {
        return Err("the old size is not in canonical decimal");
    }
    let mut proof = Vec::new();
    for line in lines {
        if proof.len() == MAX_PROOF_LINES {
            return Err("more than 63 consistency proof lines");
        }
        let h = Hash::parse_hash(line).map_err(|_| "a proof line is not a base64 hash")?;
        if h.to_string() != line {
            return Err("a proof line is not a base64 hash");
        }
        proof.push(h);
    }
    Ok(Request {
        old: old_n,
        proof,
        note,
    })
}

/// Handles one `add-checkpoint` body at time `now` (POSIX seconds). The caller holds the state's
/// lock across this call, so checking the old size and storing the new checkpoint are atomic.
pub(crate) fn add_checkpoint(
    body: &[u8],
    logs: &[LogKey],
    signer: &WitnessSigner,
    state: &WitnessState,
    now: u64,
) -> Outcome {
    let req = match parse(body) {
        Ok(r) => r,
        Err(reason) => return Outcome::BadRequest(reason),
    };
    let origin = match parse_checkpoint_unverified(req.note) {
        Ok(cp) => cp.origin().to_owned(),
        Err(_) => return Outcome::BadRequest("the checkpoint is not a signed checkpoint note"),
    };
    let Some(key) = logs.iter().find(|k| k.name() == origin) else {
        return Outcome::UnknownLog;
    };
    let new = match verify_checkpoint(req.note, key) {
        Ok(v) => v.checkpoint,
        Err(CheckpointError::NotSignedByLog(_)) => {
            return Outcome::Forbidden("no signature by the log's key")
        }
        Err(CheckpointError::BadSignature) => {
            return Outcome::Forbidden("the log key's signature does not verify")
        }
        Err(_) => return Outcome::BadRequest("the checkpoint is not a signed checkpoint note"),
    };
    if req.old > new.size() {
        return Outcome::BadRequest("the old size is above the checkpoint's size");
    }
    if new.size() == 0 && *new.hash() != EMPTY_HASH {
        return Outcome::Unprocessable("an empty tree with a root other than the empty hash");
    }
    let stored = match state.load(&origin) {
        Ok(s) => s,
        Err(_) => return Outcome::Internal("the witness state cannot be read"),
    };
    let stored_size = stored.as_ref().map_or(0, |s| s.checkpoint.size());
    if req.old != stored_size {
        return Outcome::Conflict(stored_size);
    }
    if let Some(reason) = inconsistency(stored.as_ref(), &new, &req.proof) {
        let old_note = stored.as_ref().map_or(&[][..], |s| s.note.as_slice());
        if state
            .record_evidence(&origin, now, reason, old_note, body)
            .is_err()
        {
            return Outcome::Internal("the evidence cannot be written");
        }
        return Outcome::Unprocessable(reason);
    }
    let Ok((text, _)) = split_note(req.note) else {
        return Outcome::BadRequest("the checkpoint is not a signed checkpoint note");
    };
    let line = match signer.cosign(&text, now) {
        Ok(l) => l,
        Err(_) => return Outcome::Internal("the clock is not usable for a timestamp"),
    };
    if state.store(&origin, req.note, &line).is_err() {
        return Outcome::Internal("the witness state cannot be written");
    }
    Outcome::Cosigned(line)
}

/// Why `new` does not follow the stored checkpoint with `proof`; `None` when it does.
fn inconsistency(
    stored: Option<&Stored>,
    new: &Checkpoint,
    proof: &[Hash],
) -> Option<&'static str> {
    let Some(stored) = stored else {
        return (!proof.is_empty()).then_some("a consistency proof from size 0 must be empty");
    };
    let old = &stored.checkpoint;
    if old.size() == new.size() {
        if old.hash() != new.hash() {
            return Some("the same size as the cosigned checkpoint with another root (a fork)");
        }
        return (!proof.is_empty())
            .then_some("a consistency proof between equal sizes must be empty");
    }
    (!check_consistency(old, new, proof))
        .then_some("the consistency proof from the cosigned checkpoint does not verify")
}

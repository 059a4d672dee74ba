//! Offline inclusion proofs (c2sp.org/tlog-proof@v1) and consistency between checkpoints.
//!
//! `tlog_tiles` checks the Merkle proofs (RFC 6962 §2.1.1, §2.1.2); the tlog-proof text format
//! is written here, as neither crate has it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tlog_tiles::{Checkpoint, Hash, TileHashReader};

use super::checkpoint::{verify_checkpoint, CheckpointError, LogKey, VerifiedCheckpoint};
use super::tiles::TileSet;

/// The first line of a tlog-proof.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most proof hashes accepted: a tree of 2^64 leaves needs 64.
const MAX_PROOF_HASHES: usize = 64;

/// A parsed tlog-proof: entry index, inclusion proof and the log's signed checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data (`extra` line); govid writes none.
    pub extra: Option<Vec<u8>>,
    /// The entry's zero-based index in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

/// Why a proof does not show an entry in the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Not in the tlog-proof@v1 format.
    #[error("not a c2sp.org/tlog-proof@v1 proof: {0}")]
    Malformed(&'static str),
    /// The checkpoint in the proof was refused.
    #[error("the proof's checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The index is not below the checkpoint's size.
    #[error("entry index {index} is outside the tree of size {size}")]
    IndexOutOfRange {
        /// The proof's index.
        index: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The inclusion proof does not lead from this entry to the checkpoint's root.
    #[error("the inclusion proof does not match the entry and the checkpoint's root")]
    NotIncluded,
}

impl TlogProof {
    /// The proof's text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            out.push_str(&format!("{h}\n"));
        }
        out.push('\n');
        let mut text = out.into_bytes();
        text.extend_from_slice(&self.checkpoint);
        String::from_utf8(text).unwrap_or_default()
    }

    /// Parses a proof's text.
    ///
    /// # Errors
    /// [`ProofError::Malformed`] naming the line at fault.
    pub fn parse(text: &[u8]) -> Result<Self, ProofError> {
        let text = std::str::from_utf8(text).map_err(|_| ProofError::Malformed("not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(ProofError::Malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(PROOF_HEADER) {
            return Err(ProofError::Malformed(
                "first line is not c2sp.org/tlog-proof@v1",
            ));
        }
        let mut line = lines.next().ok_or(ProofError::Malformed("no index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| ProofError::Malformed("extra is not base64"))?,
            );
            line = lines.next().ok_or(ProofError::Malformed("no index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .ok_or(ProofError::Malformed("no index line"))?;
        let index_n: u64 = index
            .parse()
            .map_err(|_| ProofError::Malformed("index is not a number"))?;
        if index_n.to_string() != index {
            return Err(ProofError::Malformed("index is not in canonical decimal"));
        }
        let mut hashes = Vec::new();
        for l in lines {
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(ProofError::Malformed("too many proof hashes"));
            }
            let h = Hash::parse_hash(l).map_err(|_| ProofError::Malformed("bad proof hash"))?;
            if h.to_string() != l {
                return Err(ProofError::Malformed("bad proof hash"));
            }
            hashes.push(h);
        }
        Ok(Self {
            extra,
            index: index_n,
            hashes,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }
}

/// Checks that `entry` (its canonical bytes) is in the log, by an offline proof: the proof's
/// checkpoint must be signed by `key` for its origin, and the inclusion proof must lead from the
/// entry at the proof's index to that checkpoint's root. Returns the checkpoint.
///
/// # Errors
/// The [`ProofError`] naming the first check that failed.
pub fn verify_inclusion(
    entry: &[u8],
    proof: &[u8],
    key: &LogKey,
) -> Result<VerifiedCheckpoint, ProofError> {
    let proof = TlogProof::parse(proof)?;
    let verified = verify_checkpoint(&proof.checkpoint, key)?;
    check_inclusion(entry, &proof, &verified)?;
    Ok(verified)
}

/// The inclusion half of [`verify_inclusion`], for a caller that already verified the proof's
/// checkpoint (a [`super::WitnessPolicy`] check does): the inclusion proof must lead from the
/// entry at the proof's index to `verified`'s root. `verified` must be `proof.checkpoint`'s.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] or [`ProofError::NotIncluded`].
pub fn check_inclusion(
    entry: &[u8],
    proof: &TlogProof,
    verified: &VerifiedCheckpoint,
) -> Result<(), ProofError> {
    let (size, root) = (verified.checkpoint.size(), *verified.checkpoint.hash());
    if proof.index >= size {
        return Err(ProofError::IndexOutOfRange {
            index: proof.index,
            size,
        });
    }
    tlog_tiles::check_record(
        &proof.hashes,
        size,
        root,
        proof.index,
        tlog_tiles::record_hash(entry),
    )
    .map_err(|_| ProofError::NotIncluded)
}

/// The verdict on two checkpoints of one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// The larger tree extends the smaller one (or they are the same tree).
    Consistent,
    /// Same size, different roots: the log showed two histories.
    ForkSameSize,
    /// The larger tree's tiles prove it does not extend the smaller one.
    ForkInconsistent,
}

/// Why two checkpoints could not be compared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// The checkpoints have different origins: they are not of one log.
    #[error("the checkpoints are of different logs ({0} and {1})")]
    DifferentLogs(String, String),
    /// The tiles needed are missing, the wrong size, or do not hash to the larger root.
    #[error("the tiles of the larger checkpoint are missing or do not match its root")]
    Tiles,
}

/// Compares two checkpoints of one log. Sizes differ: a consistency proof is computed from the
/// tiles of the larger tree (each tile is checked against its root as it is read), then checked.
///
/// # Errors
/// [`CompareError`] when no verdict can be reached.
pub fn compare_checkpoints(
    a: &Checkpoint,
    b: &Checkpoint,
    tiles: &TileSet,
) -> Result<Consistency, CompareError> {
    if a.origin() != b.origin() {
        return Err(CompareError::DifferentLogs(
            a.origin().to_owned(),
            b.origin().to_owned(),
        ));
    }
    let (old, new) = if a.size() <= b.size() { (a, b) } else { (b, a) };
    if old.size() == new.size() {
        return Ok(if old.hash() == new.hash() {
            Consistency::Consistent
        } else {
            Consistency::ForkSameSize
        });
    }
    if old.size() == 0 {
        // Every tree extends the empty one; its root must be the empty hash.
        return Ok(if *old.hash() == tlog_tiles::EMPTY_HASH {
            Consistency::Consistent
        } else {
            Consistency::ForkInconsistent
        });
    }
    let reader = TileHashReader::new(new.size(), *new.hash(), tiles);
    let proof =
        tlog_tiles::prove_tree(new.size(), old.size(), &reader).map_err(|_| CompareError::Tiles)?;
    Ok(
        match tlog_tiles::check_tree(&proof, new.size(), *new.hash(), old.size(), *old.hash()) {
            Ok(()) => Consistency::Consistent,
            Err(_) => Consistency::ForkInconsistent,
        },
    )
}

/// Checks a consistency proof from `old` to `new` (RFC 6962 §2.1.2).
pub fn check_consistency(old: &Checkpoint, new: &Checkpoint, proof: &[Hash]) -> bool {
    if old.size() == 0 {
        return *old.hash() == tlog_tiles::EMPTY_HASH && proof.is_empty();
    }
    old.size() <= new.size()
        && tlog_tiles::check_tree(
            &proof.to_vec(),
            new.size(),
            *new.hash(),
            old.size(),
            *old.hash(),
        )
        .is_ok()
}

//! The issuer's transparency log: a C2SP tiled Merkle log (c2sp.org/tlog-tiles) of issuer keys,
//! DID documents, status lists and trust bundles, with checkpoints (c2sp.org/tlog-checkpoint)
//! signed by a log key of its own, offline inclusion proofs (c2sp.org/tlog-proof), and witness
//! cosignatures (c2sp.org/tlog-cosignature) with a K-of-N witness policy.
//!
//! This module builds entries and tiles and checks proofs and checkpoints; it reads no files.
//! Tree hashing and Merkle proofs come from the `tlog_tiles` crate, notes from `signed_note`.
//!
//! What the log gives a gate or an auditor: every party that checks a checkpoint's consistency
//! with the ones it saw before (and, with witnesses, with everyone else's) sees one history of
//! keys, lists and bundles. It does not say whether the right people were revoked.

// The public interface is:
mod checkpoint;
mod cosignature;
mod entry;
mod proof;
mod tiles;

pub use checkpoint::{
    parse_checkpoint_unverified, verify_checkpoint, BadVerifierKey, CheckpointError, LogKey,
    LogSigner, VerifiedCheckpoint,
};
pub use cosignature::{
    add_signature_lines, cosigned_message, split_note, BadWitnessKey, CosignatureError,
    CosignedCheckpoint, PolicyError, WitnessKey, WitnessPolicy, WitnessSigner, ALG_COSIGNATURE_V1,
};
pub use entry::{Entry, EntryError, KeyEntry, KeyEvent, ENTRY_VERSION, MAX_ENTRY_LEN};
pub use proof::{
    check_consistency, check_inclusion, compare_checkpoints, verify_inclusion, CompareError,
    Consistency, ProofError, TlogProof, PROOF_HEADER,
};
/// Re-exported from `signed_note`: one signature line of a note.
pub use signed_note::Signature as NoteSignature;
pub use tiles::{
    entry_bundle, new_entry_bundles, parse_tile_path, split_entry_bundle, tile_path, MemoryTree,
    TileSet, TILE_HEIGHT,
};
/// Re-exported from `tlog_tiles`: the types this module's functions take and return.
pub use tlog_tiles::{record_hash, Checkpoint, Hash, Tile, EMPTY_HASH};

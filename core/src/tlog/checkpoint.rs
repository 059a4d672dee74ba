//! Checkpoints (c2sp.org/tlog-checkpoint) signed as notes (c2sp.org/signed-note) with Ed25519.
//!
//! Note parsing and signature checking are `signed_note`'s; checkpoint text is `tlog_tiles`'.
//! Added here: a signer that holds the key (so `core` never formats a private key as text) and
//! one function that turns note bytes into a checkpoint only if the log's key signed it.

use std::fmt;

use ed25519_dalek::Signer as _;
use signed_note::{Note, NoteError, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

/// Signature type byte of Ed25519 note keys (signed-note §Signatures).
const ALG_ED25519: u8 = 1;

/// The log's signing key: an Ed25519 key and its note key name (the log's origin).
pub struct LogSigner {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSigner")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

/// Why a checkpoint was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Not a signed note (no blank line and signature lines, bad characters, too large).
    #[error("not a signed note")]
    MalformedNote,
    /// No signature by the log's key (other signatures are ignored, as signed-note says).
    #[error("not signed by the log key {0}")]
    NotSignedByLog(String),
    /// The log key's signature line does not verify.
    #[error("the log key's signature does not verify")]
    BadSignature,
    /// The note text is not a checkpoint (origin, size, base64 root hash).
    #[error("the note text is not a checkpoint")]
    MalformedCheckpoint,
    /// The origin line is not the log key's name.
    #[error("checkpoint origin is not the log key's name {0}")]
    WrongOrigin(String),
    /// A log key name that signed-note does not allow (empty, spaces or `+`).
    #[error("invalid log key name")]
    BadKeyName,
}

/// Why a verifier key (`<name>+<id>+<base64>`) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an Ed25519 signed-note verifier key (name+id+key)")]
pub struct BadVerifierKey;

impl LogSigner {
    /// A signer for the log `name` from a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// [`CheckpointError::BadKeyName`] if `name` is not a valid note key name.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(CheckpointError::BadKeyName);
        }
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let id = signed_note::key_id(name, &public_key_bytes(&key.verifying_key()));
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key name (the log's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key gates pin: `<name>+<id hex>+<base64(0x01 ‖ public key)>`.
    pub fn verifier_key(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.key.verifying_key())
    }

    /// Signs a checkpoint of `size` leaves with root `root`; returns the signed note.
    ///
    /// # Errors
    /// [`CheckpointError::MalformedCheckpoint`] if the origin is not usable as a checkpoint's.
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<Vec<u8>, CheckpointError> {
        let cp = Checkpoint::new(&self.name, size, root, "")
            .map_err(|_| CheckpointError::MalformedCheckpoint)?;
        let mut note =
            Note::new(&cp.to_bytes(), &[]).map_err(|_| CheckpointError::MalformedCheckpoint)?;
        note.add_sigs(&[self])
            .map_err(|_| CheckpointError::MalformedCheckpoint)?;
        Ok(note.to_bytes())
    }
}

impl signed_note::Signer for LogSigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

fn public_key_bytes(key: &ed25519_dalek::VerifyingKey) -> Vec<u8> {
    let mut out = vec![ALG_ED25519];
    out.extend_from_slice(key.as_bytes());
    out
}

/// A log's public key, parsed from its verifier key text.
#[derive(Clone)]
pub struct LogKey {
    vkey: String,
    verifier: StandardVerifier,
}

impl fmt::Debug for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vkey)
    }
}

impl LogKey {
    /// Parses `<name>+<id>+<base64>` (Ed25519 only).
    ///
    /// # Errors
    /// [`BadVerifierKey`] for anything else, or an id that does not match the key.
    pub fn parse(vkey: &str) -> Result<Self, BadVerifierKey> {
        let vkey = vkey.trim();
        let verifier = StandardVerifier::new(vkey).map_err(|_| BadVerifierKey)?;
        Ok(Self {
            vkey: vkey.to_owned(),
            verifier,
        })
    }

    /// The key name, which is the log's origin.
    pub fn name(&self) -> &str {
        signed_note::Verifier::name(&self.verifier)
    }

    /// The verifier key text.
    pub fn as_str(&self) -> &str {
        &self.vkey
    }
}

/// A checkpoint whose log signature verified.
#[derive(Debug, PartialEq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint (origin, size, root hash).
    pub checkpoint: Checkpoint,
    /// The signed note exactly as given.
    pub note: Vec<u8>,
}

/// Parses a signed checkpoint and checks the log key signed it for the key's origin.
///
/// # Errors
/// The [`CheckpointError`] naming the first rule the note breaks.
pub fn verify_checkpoint(note: &[u8], key: &LogKey) -> Result<VerifiedCheckpoint, CheckpointError> {
    let parsed = Note::from_bytes(note).map_err(|_| CheckpointError::MalformedNote)?;
    let verifiers = VerifierList::new(vec![Box::new(key.verifier.clone())]);
    match parsed.verify(&verifiers) {
        Ok(_) => {}
        Err(NoteError::UnverifiedNote) => {
            return Err(CheckpointError::NotSignedByLog(key.name().to_owned()))
        }
        Err(NoteError::InvalidSignature { .. }) => return Err(CheckpointError::BadSignature),
        Err(_) => return Err(CheckpointError::MalformedNote),
    }
    let checkpoint =
        Checkpoint::from_bytes(parsed.text()).map_err(|_| CheckpointError::MalformedCheckpoint)?;
    if checkpoint.origin() != key.name() {
        return Err(CheckpointError::WrongOrigin(key.name().to_owned()));
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note: note.to_vec(),
    })
}

/// Parses a signed checkpoint without checking any signature: for comparing two checkpoints
/// when the log key is not known (the caller says so in its output).
///
/// # Errors
/// [`CheckpointError::MalformedNote`] or [`CheckpointError::MalformedCheckpoint`].
pub fn parse_checkpoint_unverified(note: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let parsed = Note::from_bytes(note).map_err(|_| CheckpointError::MalformedNote)?;
    Checkpoint::from_bytes(parsed.text()).map_err(|_| CheckpointError::MalformedCheckpoint)
}

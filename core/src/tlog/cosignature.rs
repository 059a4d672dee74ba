//! Witness cosignatures (c2sp.org/tlog-cosignature, the Ed25519 `cosignature/v1` type) and a
//! K-of-N witness policy (the idea of c2sp.org/tlog-policy, as a plain struct).
//!
//! `signed_note` 0.2 verifies only the plain Ed25519 note signature type (0x01), so the
//! cosignature/v1 type is written here by hand: the key id is
//! `SHA-256(<name> ‖ "\n" ‖ 0x04 ‖ public key)[:4]`, the signature is `u64 timestamp (big endian)
//! ‖ Ed25519 signature`, and the signed message is `cosignature/v1\ntime <timestamp>\n` followed
//! by the checkpoint's note text.

use std::collections::BTreeSet;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, Verifier as _};
use signed_note::Signature;

use super::checkpoint::{verify_checkpoint, CheckpointError, LogKey, VerifiedCheckpoint};

/// Signature type byte of Ed25519 cosignature/v1 keys (tlog-cosignature §Format).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The most a timestamp may be (tlog-cosignature: it MUST NOT exceed 2^63 - 1).
const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// Why a cosignature could not be made or was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// A witness key name that signed-note does not allow (empty, spaces or `+`).
    #[error("invalid witness key name")]
    BadKeyName,
    /// The signature bytes are not 8 (timestamp) + 64 (Ed25519) long.
    #[error("a cosignature/v1 signature is 72 bytes (timestamp and Ed25519 signature)")]
    BadLength,
    /// The timestamp is above 2^63 - 1.
    #[error("the cosignature timestamp exceeds 2^63 - 1")]
    TimestampOutOfRange,
    /// The timestamp is zero (tlog-witness: a cosignature MUST NOT omit it).
    #[error("the cosignature has no timestamp")]
    ZeroTimestamp,
    /// The signature line is not this witness key's (name or key id differ).
    #[error("the signature line is not by witness {0}")]
    OtherKey(String),
    /// The Ed25519 signature does not verify over the cosigned message.
    #[error("the cosignature of witness {0} does not verify")]
    BadSignature(String),
    /// The note text is not usable (not a valid note text).
    #[error("the checkpoint is not a note text")]
    BadText,
}

/// The message a cosignature/v1 signs: header and timestamp lines, then the note text.
pub fn cosigned_message(text: &[u8], timestamp: u64) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(text);
    msg
}

fn cosigner_key_id(name: &str, key: &ed25519_dalek::VerifyingKey) -> u32 {
    let mut material = vec![ALG_COSIGNATURE_V1];
    material.extend_from_slice(key.as_bytes());
    signed_note::key_id(name, &material)
}

/// A witness's signing key: an Ed25519 key and its cosigner name.
pub struct WitnessSigner {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for WitnessSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WitnessSigner")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl WitnessSigner {
    /// A signer for the witness `name` from a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// [`CosignatureError::BadKeyName`] if `name` is not a valid note key name.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CosignatureError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(CosignatureError::BadKeyName);
        }
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let id = cosigner_key_id(name, &key.verifying_key());
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The witness's vkey: `<name>+<id hex>+<base64(0x04 ‖ public key)>`.
    pub fn verifier_key(&self) -> String {
        let mut material = vec![ALG_COSIGNATURE_V1];
        material.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(material)
        )
    }

    /// The cosignature line (`— <name> <base64>\n`) over the checkpoint note text `text` (the
    /// note without its blank line and signatures) at `timestamp` (POSIX seconds).
    ///
    /// # Errors
    /// [`CosignatureError::ZeroTimestamp`] or [`CosignatureError::TimestampOutOfRange`].
    pub fn cosign(&self, text: &[u8], timestamp: u64) -> Result<String, CosignatureError> {
        check_timestamp(timestamp)?;
        let sig = self.key.sign(&cosigned_message(text, timestamp));
        let mut bytes = timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        let line = Signature::new(self.name.clone(), self.id, bytes)
            .map_err(|_| CosignatureError::BadKeyName)?
            .to_bytes();
        String::from_utf8(line).map_err(|_| CosignatureError::BadKeyName)
    }
}

fn check_timestamp(timestamp: u64) -> Result<(), CosignatureError> {
    if timestamp == 0 {
        return Err(CosignatureError::ZeroTimestamp);
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::TimestampOutOfRange);
    }
    Ok(())
}

/// A witness's public key, parsed from its vkey (signature type 0x04).
#[derive(Clone)]
pub struct WitnessKey {
    vkey: String,
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vkey)
    }
}

/// Why a witness vkey was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an Ed25519 cosignature/v1 witness key (name+id+base64(0x04 ‖ key))")]
pub struct BadWitnessKey;

impl WitnessKey {
    /// Parses `<name>+<id hex>+<base64(0x04 ‖ 32-byte key)>`; the id must match the key.
    ///
    /// # Errors
    /// [`BadWitnessKey`] for anything else.
    pub fn parse(vkey: &str) -> Result<Self, BadWitnessKey> {
        let vkey = vkey.trim();
        let (name, rest) = vkey.split_once('+').ok_or(BadWitnessKey)?;
        let (id_hex, b64) = rest.split_once('+').ok_or(BadWitnessKey)?;
        if !signed_note::is_key_name_valid(name) || id_hex.len() != 8 {
            return Err(BadWitnessKey);
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| BadWitnessKey)?;
        let material = STANDARD.decode(b64).map_err(|_| BadWitnessKey)?;
        let (&alg, raw) = material.split_first().ok_or(BadWitnessKey)?;
        let raw: [u8; 32] = raw.try_into().map_err(|_| BadWitnessKey)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(BadWitnessKey);
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| BadWitnessKey)?;
        if cosigner_key_id(name, &key) != id {
            return Err(BadWitnessKey);
        }
        Ok(Self {
            vkey: vkey.to_owned(),
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The vkey text.
    pub fn as_str(&self) -> &str {
        &self.vkey
    }

    /// Whether a signature line names this key (name and key id).
    pub fn matches(&self, sig: &Signature) -> bool {
        sig.name() == self.name && sig.id() == self.id
    }

    /// Verifies one signature line of a note whose text is `text`; returns its timestamp.
    ///
    /// # Errors
    /// The [`CosignatureError`] naming what is wrong.
    pub fn verify(&self, text: &[u8], sig: &Signature) -> Result<u64, CosignatureError> {
        if !self.matches(sig) {
            return Err(CosignatureError::OtherKey(self.name.clone()));
        }
        let bytes: &[u8; 72] = sig
            .signature()
            .try_into()
            .map_err(|_| CosignatureError::BadLength)?;
        let (ts, ed) = bytes.split_at(8);
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(ts);
        let timestamp = u64::from_be_bytes(ts_bytes);
        check_timestamp(timestamp)?;
        let ed = ed25519_dalek::Signature::from_slice(ed)
            .map_err(|_| CosignatureError::BadSignature(self.name.clone()))?;
        self.key
            .verify(&cosigned_message(text, timestamp), &ed)
            .map_err(|_| CosignatureError::BadSignature(self.name.clone()))?;
        Ok(timestamp)
    }
}

/// Splits a signed note into its text (with its final newline) and its signature lines.
///
/// # Errors
/// [`CheckpointError::MalformedNote`].
pub fn split_note(note: &[u8]) -> Result<(Vec<u8>, Vec<Signature>), CheckpointError> {
    let parsed = signed_note::Note::from_bytes(note).map_err(|_| CheckpointError::MalformedNote)?;
    let text = parsed.text().to_vec();
    let sigs_block = note
        .get(text.len() + 1..)
        .ok_or(CheckpointError::MalformedNote)?;
    let mut sigs = Vec::new();
    for line in sigs_block.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        sigs.push(Signature::from_bytes(line).map_err(|_| CheckpointError::MalformedNote)?);
    }
    Ok((text, sigs))
}

/// Appends signature lines (each `— name base64\n`) to a signed note, skipping lines it already
/// has. The lines are checked to be signature lines, not verified.
///
/// # Errors
/// [`CheckpointError::MalformedNote`] if the note or a line is malformed.
pub fn add_signature_lines(note: &[u8], lines: &[u8]) -> Result<Vec<u8>, CheckpointError> {
    let (text, mut sigs) = split_note(note)?;
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let sig = Signature::from_bytes(line).map_err(|_| CheckpointError::MalformedNote)?;
        if !sigs.contains(&sig) {
            sigs.push(sig);
        }
    }
    let note = signed_note::Note::new(&text, &sigs).map_err(|_| CheckpointError::MalformedNote)?;
    let bytes = note.to_bytes();
    // Re-parse: the signature count limit and the overall size limit still hold.
    signed_note::Note::from_bytes(&bytes).map_err(|_| CheckpointError::MalformedNote)?;
    Ok(bytes)
}

/// "Signed by the log key and cosigned by at least `min_cosignatures` of these witnesses."
#[derive(Clone, Debug)]
pub struct WitnessPolicy {
    /// The log's key.
    pub log: LogKey,
    /// The witnesses trusted to cosign (a key listed twice counts once).
    pub witnesses: Vec<WitnessKey>,
    /// How many distinct witnesses must have cosigned.
    pub min_cosignatures: usize,
}

/// Why a checkpoint does not meet a [`WitnessPolicy`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The log signature or the checkpoint itself was refused.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// A line by a trusted witness's key does not verify (signed-note: the note is malformed).
    #[error("{0}")]
    Cosignature(CosignatureError),
    /// Fewer distinct trusted witnesses cosigned than the policy needs.
    #[error("cosigned by {have} of the trusted witnesses, {need} needed")]
    TooFewCosignatures {
        /// Distinct trusted witnesses whose cosignature verified.
        have: usize,
        /// The policy's minimum.
        need: usize,
    },
}

/// A checkpoint that meets a [`WitnessPolicy`].
#[derive(Debug, PartialEq)]
pub struct CosignedCheckpoint {
    /// The checkpoint, with its log signature verified.
    pub verified: VerifiedCheckpoint,
    /// The trusted witnesses whose cosignature verified, by vkey, with their timestamps.
    pub cosigners: Vec<(String, u64)>,
}

impl WitnessPolicy {
    /// Checks a signed checkpoint against the policy. Lines from unknown keys are ignored.
    ///
    /// # Errors
    /// The [`PolicyError`] naming the first rule the note breaks.
    pub fn check(&self, note: &[u8]) -> Result<CosignedCheckpoint, PolicyError> {
        let verified = verify_checkpoint(note, &self.log)?;
        let (text, sigs) = split_note(note)?;
        let mut seen = BTreeSet::new();
        let mut cosigners = Vec::new();
        for witness in &self.witnesses {
            if !seen.insert(witness.as_str().to_owned()) {
                continue;
            }
            // The first line by this key decides; repeats of one key count once.
            if let Some(sig) = sigs.iter().find(|s| witness.matches(s)) {
                let ts = witness
                    .verify(&text, sig)
                    .map_err(PolicyError::Cosignature)?;
                cosigners.push((witness.as_str().to_owned(), ts));
            }
        }
        if cosigners.len() < self.min_cosignatures {
            return Err(PolicyError::TooFewCosignatures {
                have: cosigners.len(),
                need: self.min_cosignatures,
            });
        }
        Ok(CosignedCheckpoint {
            verified,
            cosigners,
        })
    }
}

#[cfg(test)]
#[path = "cosignature_tests.rs"]
mod tests;

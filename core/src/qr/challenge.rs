//! The gate's challenge code (`GVC1:`), for challenge mode.
//!
//! The gate shows a code; the wallet scans it, checks it, and answers with a presentation whose
//! KB-JWT carries the challenge's `aud` and `nonce` and discloses the requested claims.
//!
//! Format: `GVC1:` + Base45(zlib(JSON)), the JSON being the object below with exactly these
//! fields (`{"aud":..,"nonce":..,"claims":[..],"exp":..,"v":1}`). The zlib stream has no preset
//! dictionary, so any zlib reads it. Decoding has the same hardening as `GV1` (strict Base45,
//! bounded inflation to [`MAX_CHALLENGE_JSON_LEN`], no trailing bytes) and then validates the
//! fields, including `exp` against the caller's clock.

use serde::{Deserialize, Serialize};

use super::{base45, compress, split_prefix, ChallengeError, QrError};
use crate::sdjwt::ClaimPath;

/// The prefix of a challenge payload.
pub const CHALLENGE_PREFIX: &str = "GVC1:";
/// The challenge format version (`v`).
pub const CHALLENGE_VERSION: u8 = 1;
/// The most claims a challenge may request.
pub const MAX_CHALLENGE_CLAIMS: usize = 32;
/// The shortest nonce, in base64url characters (96 bits).
pub const MIN_NONCE_LEN: usize = 16;
/// The longest nonce, in base64url characters.
pub const MAX_NONCE_LEN: usize = 128;
/// The longest `aud`, in bytes.
pub const MAX_AUD_LEN: usize = 256;
/// The longest claim path, in bytes.
pub const MAX_CLAIM_PATH_LEN: usize = 128;
/// The longest a challenge may live: `exp` may be at most this far after `now`.
pub const MAX_CHALLENGE_TTL_SECS: u64 = 3600;
/// The largest decompressed challenge JSON, in bytes.
pub const MAX_CHALLENGE_JSON_LEN: usize = 8 * 1024;

/// What the gate asks of the wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateChallenge {
    /// The verifier's identifier; the KB-JWT's `aud` must equal it. Non-empty.
    pub aud: String,
    /// Fresh randomness from the gate; the KB-JWT's `nonce`. 16 to 128 base64url characters.
    pub nonce: String,
    /// Requested claim paths in the slash form of [`ClaimPath::parse`] (`*` for every array
    /// element, a number for one): `"given_name"`, `"organization/code"`, `"access_zones/*"`.
    /// At most [`MAX_CHALLENGE_CLAIMS`], each at most [`MAX_CLAIM_PATH_LEN`] bytes.
    pub claims: Vec<String>,
    /// Expiry, unix seconds. Read as a NumericDate ([`numeric_date`](crate::time::numeric_date):
    /// a fraction is dropped); always written whole.
    #[serde(deserialize_with = "crate::time::deserialize_numeric_date")]
    pub exp: u64,
    /// Format version, [`CHALLENGE_VERSION`].
    pub v: u8,
}

impl GateChallenge {
    /// Checks every field, and that `now < exp <= now + MAX_CHALLENGE_TTL_SECS`.
    ///
    /// `now` is the caller's clock in unix seconds; to tolerate clock skew, pass an adjusted value.
    pub fn validate(&self, now: u64) -> Result<(), ChallengeError> {
        self.validate_fields()?;
        if self.exp <= now {
            return Err(ChallengeError::Expired);
        }
        if self.exp - now > MAX_CHALLENGE_TTL_SECS {
            return Err(ChallengeError::ExpiryTooFar {
                max_secs: MAX_CHALLENGE_TTL_SECS,
            });
        }
        Ok(())
    }

    /// Checks everything but the expiry.
    fn validate_fields(&self) -> Result<(), ChallengeError> {
        if self.v != CHALLENGE_VERSION {
            return Err(ChallengeError::UnsupportedVersion { v: self.v });
        }
        if self.aud.is_empty() {
            return Err(ChallengeError::EmptyAudience);
        }
        if self.aud.len() > MAX_AUD_LEN {
            return Err(ChallengeError::AudienceTooLong { max: MAX_AUD_LEN });
        }
        let nonce_ok = (MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&self.nonce.len())
            && self
                .nonce
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
        if !nonce_ok {
            return Err(ChallengeError::InvalidNonce {
                min: MIN_NONCE_LEN,
                max: MAX_NONCE_LEN,
            });
        }
        if self.claims.len() > MAX_CHALLENGE_CLAIMS {
            return Err(ChallengeError::TooManyClaims {
                count: self.claims.len(),
                max: MAX_CHALLENGE_CLAIMS,
            });
        }
        for (index, path) in self.claims.iter().enumerate() {
            let ok = path.len() <= MAX_CLAIM_PATH_LEN
                && !path.chars().any(char::is_control)
                && ClaimPath::parse(path).is_ok();
            if !ok {
                return Err(ChallengeError::InvalidClaimPath { index });
            }
        }
        Ok(())
    }
}

/// Only the version of a challenge, read before the rest.
#[derive(Deserialize)]
struct Versioned {
    v: u8,
}

/// Encodes a challenge as `GVC1:` + Base45(zlib(JSON)). Checks the fields (not the expiry).
pub fn encode_challenge(challenge: &GateChallenge) -> Result<String, ChallengeError> {
    challenge.validate_fields()?;
    let json = serde_json::to_vec(challenge).map_err(|_| ChallengeError::InvalidJson)?;
    if json.len() > MAX_CHALLENGE_JSON_LEN {
        return Err(QrError::InputTooLarge {
            len: json.len(),
            max: MAX_CHALLENGE_JSON_LEN,
        }
        .into());
    }
    let z = compress::compress(&json, b"")?;
    Ok(format!("{CHALLENGE_PREFIX}{}", base45::encode(&z)))
}

/// Decodes and validates a challenge scanned at `now` (unix seconds).
///
/// Accepts the same surrounding whitespace as [`decode_payload`](super::decode_payload).
pub fn decode_challenge(text: &str, now: u64) -> Result<GateChallenge, ChallengeError> {
    let body = split_prefix(text, "GVC", 1)?;
    let frame = base45::decode(body).ok_or(QrError::InvalidBase45)?;
    let (json, used) = compress::decompress_bounded(&frame, b"", MAX_CHALLENGE_JSON_LEN)?;
    if used != frame.len() {
        return Err(QrError::TrailingData.into());
    }
    // Read `v` first, so that a future version with other fields is reported as such.
    let Versioned { v } = serde_json::from_slice(&json).map_err(|_| ChallengeError::InvalidJson)?;
    if v != CHALLENGE_VERSION {
        return Err(ChallengeError::UnsupportedVersion { v });
    }
    let challenge: GateChallenge =
        serde_json::from_slice(&json).map_err(|_| ChallengeError::InvalidJson)?;
    challenge.validate(now)?;
    Ok(challenge)
}

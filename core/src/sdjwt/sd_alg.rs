//! `_sd_alg`: the hash algorithm of disclosure digests and `sd_hash` (RFC 9901 §4.1.1).

use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::b64;

/// A disclosure digest algorithm from the IANA Named Information Hash registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdAlg {
    /// `sha-256`, the default when `_sd_alg` is absent.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
}

impl SdAlg {
    /// All supported algorithms.
    pub const ALL: [SdAlg; 3] = [SdAlg::Sha256, SdAlg::Sha384, SdAlg::Sha512];

    /// The `_sd_alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SdAlg::Sha256 => "sha-256",
            SdAlg::Sha384 => "sha-384",
            SdAlg::Sha512 => "sha-512",
        }
    }

    /// Parses an `_sd_alg` value.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// The raw digest of `input`.
    pub fn hash(self, input: &[u8]) -> Vec<u8> {
        match self {
            SdAlg::Sha256 => Sha256::digest(input).to_vec(),
            SdAlg::Sha384 => Sha384::digest(input).to_vec(),
            SdAlg::Sha512 => Sha512::digest(input).to_vec(),
        }
    }

    /// base64url of the digest of `input`: how disclosure digests and `sd_hash` are written.
    pub fn digest_b64(self, input: &[u8]) -> String {
        b64::encode(self.hash(input))
    }
}

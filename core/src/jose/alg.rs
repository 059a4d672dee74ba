//! JWS algorithms govid signs and verifies with.

use std::fmt;

/// A JWS `alg` value govid supports. `none` and everything else are refused at parse time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// EdDSA over Ed25519 (RFC 8037): the default for issuers and holders.
    EdDSA,
    /// ECDSA P-256 with SHA-256, signature as r‖s (RFC 7518 §3.4): phone secure hardware keys.
    ES256,
}

impl Algorithm {
    /// All supported algorithms, the default accepted set.
    pub const ALL: [Algorithm; 2] = [Algorithm::EdDSA, Algorithm::ES256];

    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
        }
    }

    /// Parses an `alg` header value; `None` for `none` and any unsupported algorithm.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "EdDSA" | "Ed25519" => Some(Algorithm::EdDSA),
            "ES256" => Some(Algorithm::ES256),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! The `IssuerResolver` trait and its simplest implementation, a pinned set of keys.

use crate::jose::{JwsHeader, PublicKey};

/// Why no verification key could be found for an issuer-signed JWT.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The issuer (`iss`) is not trusted by this verifier.
    #[error("issuer is not trusted")]
    UntrustedIssuer,
    /// The issuer is trusted but has no key with this `kid`.
    #[error("issuer has no key with this `kid`")]
    UnknownKey,
    /// Several keys could match and the JWT names none (`kid` missing).
    #[error("several trusted keys match and the JWT has no `kid`")]
    AmbiguousKey,
    /// The issuer's DID method is not supported.
    #[error("unsupported DID method")]
    UnsupportedDidMethod,
    /// The DID or DID URL is malformed.
    #[error("malformed DID")]
    InvalidDid,
    /// The DID document could not be obtained (network, cache empty).
    #[error("DID document unavailable")]
    DocumentUnavailable,
    /// The DID document is malformed or does not match its DID.
    #[error("DID document is invalid")]
    InvalidDocument,
    /// The DID document is larger than the resolver accepts.
    #[error("DID document is too large")]
    DocumentTooLarge,
    /// The JWS `kid` is a DID URL of another DID than the `iss` claim.
    #[error("the `kid` DID URL names another DID than `iss`")]
    KidNotIssuer,
}

/// Finds the public key that must verify an issuer-signed JWT, from its `iss` claim and its JWS
/// header (`kid`, `alg`). Implementations: [`PinnedKeys`]; DID-based resolvers in `crate::did`.
pub trait IssuerResolver: Send + Sync {
    /// Returns the key for this issuer and header, or why there is none.
    fn resolve(&self, iss: Option<&str>, header: &JwsHeader) -> Result<PublicKey, ResolveError>;
}

/// A pinned key: trusted for any `iss`, or only for the listed one.
#[derive(Clone, Debug)]
struct PinnedKey {
    key: PublicKey,
    /// `kid` values this key answers to besides its RFC 7638 thumbprint.
    kids: Vec<String>,
    /// The only `iss` this key may sign for, if restricted.
    iss: Option<String>,
}

/// A fixed set of trusted issuer keys, as a gate configured with `--trust-jwk` uses.
///
/// A key matches a JWT when the JWT's `kid` is the key's thumbprint or one of its extra key ids,
/// or, failing that, when exactly one eligible pinned key has the type the JWT's `alg` needs.
#[derive(Clone, Debug, Default)]
pub struct PinnedKeys {
    keys: Vec<PinnedKey>,
}

impl PinnedKeys {
    /// An empty set (trusts nobody).
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding one key trusted for any issuer.
    pub fn single(key: PublicKey) -> Self {
        let mut keys = Self::new();
        keys.add(key, None, Vec::new());
        keys
    }

    /// Adds a key, optionally restricted to one `iss`, answering to extra `kid` values.
    pub fn add(&mut self, key: PublicKey, iss: Option<String>, kids: Vec<String>) -> &mut Self {
        self.keys.push(PinnedKey { key, kids, iss });
        self
    }

    /// Number of pinned keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is pinned.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl IssuerResolver for PinnedKeys {
    fn resolve(&self, iss: Option<&str>, header: &JwsHeader) -> Result<PublicKey, ResolveError> {
        let eligible: Vec<&PinnedKey> = self
            .keys
            .iter()
            .filter(|k| k.iss.is_none() || k.iss.as_deref() == iss)
            .collect();
        if eligible.is_empty() {
            return Err(ResolveError::UntrustedIssuer);
        }
        // `kid` is a hint (RFC 7515 §4.1.4): a match picks the key; without one, the only
        // eligible key of the right type is used. The signature check decides either way.
        if let Some(kid) = &header.kid {
            if let Some(k) = eligible
                .iter()
                .find(|k| k.kids.iter().any(|x| x == kid) || &k.key.thumbprint() == kid)
            {
                return Ok(k.key.clone());
            }
        }
        let mut of_type = eligible.iter().filter(|k| k.key.algorithm() == header.alg);
        match (of_type.next(), of_type.next()) {
            (Some(k), None) => Ok(k.key.clone()),
            (None, _) => Err(ResolveError::UnknownKey),
            (Some(_), Some(_)) => Err(ResolveError::AmbiguousKey),
        }
    }
}

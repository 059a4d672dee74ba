//! Remembering signatures that verified, for a verifier that sees the same signed bytes again.
//!
//! A gate checks the same Issuer-signed JWT every time a worker comes in: the credential lasts
//! months, only the key binding is new each time. Signature verification is a deterministic
//! function of (algorithm, key, signed bytes, signature), so once those exact bytes verified under
//! that key, they verify again: [`SignatureCache`] remembers the SHA-256 of all four for
//! signatures that verified, and answers a repeat without the curve arithmetic (about half the
//! crypto of a gate decision). Nothing else is skipped: the caller still checks `alg` against its
//! policy, resolves the key, and runs every other rule; a signature that failed is not remembered
//! and fails again, in full, every time.
//!
//! The signature enters the digest in a canonical form: an ES256 signature `(r, s)` has a twin
//! `(r, n − s)` that anyone can compute from it and that verifies exactly when it does, so both
//! are entered with the low `s`. A malleated copy of a credential is then the same entry, not a
//! second one (nothing in a gate treats a signature's bytes as the identity of what was signed).
//!
//! The cache is bounded (a full shard is emptied, so the worst case is a verification per call, as
//! without it). A hit is faster than a miss: a client that can time the gate's answers could
//! learn whether these exact credential bytes were verified recently; the gate's own log records
//! that anyway, and the credential text is needed to ask.
//!
//! This is the technique of Bitcoin Core's signature cache; written here because it is a few
//! lines over `sha2` and the crate's bounded memo, not a crate's worth.

use sha2::{Digest, Sha256};

use super::{verify_signature, Algorithm, JwsError, PublicKey};
use crate::memo::BoundedMemo;

/// Checks a JWS signature: what [`CompactJws::verify_using`](super::CompactJws::verify_using)
/// calls for the cryptographic step.
pub trait SignatureVerifier: Send + Sync {
    /// The result [`verify_signature`] gives for these arguments.
    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), JwsError>;
}

/// Verifies every signature ([`CompactJws::verify`](super::CompactJws::verify)'s choice).
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyEverySignature;

impl SignatureVerifier for VerifyEverySignature {
    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), JwsError> {
        verify_signature(alg, key, message, signature)
    }
}

/// Separates this cache's digests from any other use of SHA-256 over similar bytes.
const DOMAIN: &[u8] = b"govid signature cache v2\0";

/// `signature` in the form the digest takes: for ES256 the low-`s` twin of a valid-shaped
/// signature (both verify or neither does), otherwise the bytes as they are (EdDSA's `verify_strict`
/// already refuses a non-canonical `s`).
fn canonical_signature(alg: Algorithm, signature: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if alg == Algorithm::ES256 {
        if let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) {
            if let Some(low) = sig.normalize_s() {
                return std::borrow::Cow::Owned(low.to_bytes().to_vec());
            }
        }
    }
    std::borrow::Cow::Borrowed(signature)
}

/// A bounded set of signatures that verified, shared between threads.
#[derive(Debug)]
pub struct SignatureCache {
    verified: BoundedMemo<[u8; 32], ()>,
}

impl SignatureCache {
    /// A cache holding at most about `capacity` signatures (32 bytes each plus the map's
    /// overhead).
    pub fn new(capacity: usize) -> Self {
        Self {
            verified: BoundedMemo::new(capacity),
        }
    }

    /// How many signatures are held.
    pub fn len(&self) -> usize {
        self.verified.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SHA-256 over the domain, algorithm, key, message and canonical signature, each
    /// length-prefixed so that no two different inputs share an encoding.
    fn digest(alg: Algorithm, key: &PublicKey, message: &[u8], signature: &[u8]) -> [u8; 32] {
        let signature = canonical_signature(alg, signature);
        let key_bytes: &[u8] = match key {
            PublicKey::Ed25519(k) => k.as_bytes(),
            PublicKey::P256(k) => k.sec1(),
        };
        let mut hash = Sha256::new();
        hash.update(DOMAIN);
        for part in [alg.as_str().as_bytes(), key_bytes, message, &signature] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        hash.finalize().into()
    }
}

impl SignatureVerifier for SignatureCache {
    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), JwsError> {
        let digest = Self::digest(alg, key, message, signature);
        if self.verified.get(&digest).is_some() {
            return Ok(());
        }
        // Only a success is remembered.
        verify_signature(alg, key, message, signature)?;
        self.verified.insert(digest, ());
        Ok(())
    }
}

#[cfg(test)]
// Tests: a panic is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::jose::{Signer as _, SoftwareSigner};

    fn ed25519(seed: u8) -> SoftwareSigner {
        SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    /// Every mutation of a verified (key, message, signature) gets the same answer from the cache
    /// as from a full verification, before and after the original is cached.
    #[test]
    fn answers_exactly_as_full_verification() {
        let cache = SignatureCache::new(64);
        let p256 = SoftwareSigner::generate(Algorithm::ES256, &mut rand_core::OsRng);
        for signer in [ed25519(1), p256] {
            let alg = signer.algorithm();
            let key = signer.public_key();
            let other_key = ed25519(2).public_key();
            let message = b"header.payload".to_vec();
            let signature = signer.sign(&message).unwrap_or_default();
            let mut flipped_sig = signature.clone();
            flipped_sig[5] ^= 1;
            let mut flipped_msg = message.clone();
            flipped_msg[3] ^= 1;
            let cases: Vec<(Algorithm, &PublicKey, &[u8], &[u8])> = vec![
                (alg, &key, &message, &signature),
                (alg, &key, &message, &flipped_sig),
                (alg, &key, &flipped_msg, &signature),
                (alg, &other_key, &message, &signature),
                (Algorithm::EdDSA, &key, &message, &signature),
                (Algorithm::ES256, &key, &message, &signature),
                (alg, &key, &message, &signature[..10]),
            ];
            for _round in 0..3 {
                for (i, (alg, key, message, signature)) in cases.iter().enumerate() {
                    assert_eq!(
                        cache.verify(*alg, key, message, signature),
                        verify_signature(*alg, key, message, signature),
                        "case {i}"
                    );
                }
            }
            assert_eq!(
                cache.verify(alg, &key, &message, &signature),
                Ok(()),
                "the genuine signature verifies"
            );
        }
        // Only the two genuine signatures were remembered.
        assert_eq!(cache.len(), 2);
    }

    /// The (r, n − s) twin of a P-256 signature.
    pub(crate) fn malleate(signature: &[u8]) -> Vec<u8> {
        let sig = p256::ecdsa::Signature::from_slice(signature).unwrap();
        let (r, s) = sig.split_scalars();
        let twin = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        twin.to_bytes().to_vec()
    }

    /// Regression: the memo keyed a signature by its raw bytes, so the malleated twin of a
    /// verified ES256 signature was a second entry.
    #[test]
    fn a_malleated_es256_signature_is_the_same_entry() {
        let cache = SignatureCache::new(64);
        let signer = SoftwareSigner::generate(Algorithm::ES256, &mut rand_core::OsRng);
        let key = signer.public_key();
        let signature = signer.sign(b"h.p").unwrap();
        let twin = malleate(&signature);
        assert_ne!(twin, signature);
        // The twin verifies without any key: this is what the cache must not treat as new.
        assert_eq!(
            verify_signature(Algorithm::ES256, &key, b"h.p", &twin),
            Ok(())
        );
        assert_eq!(
            cache.verify(Algorithm::ES256, &key, b"h.p", &signature),
            Ok(())
        );
        assert_eq!(cache.verify(Algorithm::ES256, &key, b"h.p", &twin), Ok(()));
        assert_eq!(cache.len(), 1);
        assert_eq!(
            SignatureCache::digest(Algorithm::ES256, &key, b"h.p", &signature),
            SignatureCache::digest(Algorithm::ES256, &key, b"h.p", &twin)
        );
    }

    #[test]
    fn a_failure_is_never_remembered() {
        let cache = SignatureCache::new(64);
        let signer = ed25519(3);
        let key = signer.public_key();
        let mut signature = signer.sign(b"m").unwrap_or_default();
        signature[0] ^= 0x80;
        for _ in 0..3 {
            assert_eq!(
                cache.verify(Algorithm::EdDSA, &key, b"m", &signature),
                Err(JwsError::BadSignature)
            );
        }
        assert!(cache.is_empty());
    }

    #[test]
    fn stays_bounded() {
        let cache = SignatureCache::new(16);
        let signer = ed25519(4);
        let key = signer.public_key();
        for i in 0..200u32 {
            let message = i.to_be_bytes();
            let signature = signer.sign(&message).unwrap_or_default();
            assert_eq!(
                cache.verify(Algorithm::EdDSA, &key, &message, &signature),
                Ok(())
            );
        }
        assert!(cache.len() <= 16, "{}", cache.len());
    }
}

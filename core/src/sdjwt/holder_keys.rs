//! Where [`verify_with`](super::verify_with) gets the holder's key from `cnf.jwk`.
//!
//! Decoding an Ed25519 holder key is a point decompression (a field exponentiation, ≈5 µs), a
//! noticeable share of a verify that a gate repeats for every entry of the same worker.
//! [`PublicKey::from_jwk`] is a pure function of the JWK, so remembering the keys it returned is
//! sound: [`HolderKeyCache`] keys each entry by the JWK's complete JSON text, stores only keys
//! that decoded (a JWK that fails is decoded, and fails, every time) and are short, and is
//! bounded.

use serde_json::Value;

use crate::jose::{JwkError, PublicKey};
use crate::memo::BoundedMemo;

/// Turns the `cnf.jwk` of a verified payload into the holder's key.
pub trait HolderKeys: Send + Sync {
    /// The key, exactly as [`PublicKey::from_jwk`] would return it for `jwk`.
    fn holder_key(&self, jwk: &Value) -> Result<PublicKey, JwkError>;
}

/// Decodes every time ([`verify`](super::verify)'s choice).
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeHolderKeys;

impl HolderKeys for DecodeHolderKeys {
    fn holder_key(&self, jwk: &Value) -> Result<PublicKey, JwkError> {
        PublicKey::from_jwk(jwk)
    }
}

/// Longest JWK text remembered (an Ed25519 or P-256 JWK is 80–200 bytes); a longer one is decoded
/// every time, so the cache's memory stays bounded by the entry count.
const MAX_CACHED_JWK_LEN: usize = 512;

/// A bounded memo of decoded holder keys, shared between threads.
///
/// When full, part of it is emptied and refilled: the worst case is a decode per verify, as
/// without the cache.
#[derive(Debug)]
pub struct HolderKeyCache {
    keys: BoundedMemo<String, PublicKey>,
}

impl HolderKeyCache {
    /// A cache holding at most about `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            keys: BoundedMemo::new(capacity),
        }
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl HolderKeys for HolderKeyCache {
    fn holder_key(&self, jwk: &Value) -> Result<PublicKey, JwkError> {
        // The whole JWK, not only `x`: `from_jwk` also reads `d`, `use`, `key_ops` and `alg`.
        // Writing a `Value` to a string cannot fail (string keys only).
        let text = match serde_json::to_string(jwk) {
            Ok(text) if text.len() <= MAX_CACHED_JWK_LEN => text,
            _ => return PublicKey::from_jwk(jwk),
        };
        if let Some(key) = self.keys.get(&text) {
            return Ok(key);
        }
        // Decoded outside the lock; only a key that decoded is remembered.
        let key = PublicKey::from_jwk(jwk)?;
        self.keys.insert(text, key.clone());
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Algorithm, Signer as _, SoftwareSigner};
    use serde_json::json;

    fn ed25519_jwk(seed: u8) -> Value {
        let signer = SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]));
        signer.public_key().to_jwk()
    }

    #[test]
    fn cached_keys_equal_decoded_keys_and_failures_are_not_remembered() {
        let cache = HolderKeyCache::new(64);
        let p256 = SoftwareSigner::generate(Algorithm::ES256, &mut rand_core::OsRng)
            .public_key()
            .to_jwk();
        let mut with_alg = ed25519_jwk(3);
        with_alg["alg"] = json!("EdDSA");
        let mut wrong_alg = ed25519_jwk(3);
        wrong_alg["alg"] = json!("ES256");
        let mut private = ed25519_jwk(3);
        private["d"] = json!("AAAA");
        let mut enc = ed25519_jwk(3);
        enc["use"] = json!("enc");
        let mut bad_x = ed25519_jwk(3);
        bad_x["x"] = json!("AAAA");
        let jwks = [
            ed25519_jwk(1),
            ed25519_jwk(2),
            p256,
            with_alg,
            wrong_alg,
            private,
            enc,
            bad_x,
            json!("not an object"),
        ];
        for _round in 0..3 {
            for jwk in &jwks {
                assert_eq!(cache.holder_key(jwk), PublicKey::from_jwk(jwk), "{jwk}");
            }
        }
        // The four that decode, and nothing for the five that do not.
        assert_eq!(cache.len(), 4);
    }

    #[test]
    fn long_jwks_are_decoded_but_not_remembered() {
        let cache = HolderKeyCache::new(64);
        let mut padded = ed25519_jwk(5);
        padded["kid"] = json!("k".repeat(MAX_CACHED_JWK_LEN));
        assert_eq!(cache.holder_key(&padded), PublicKey::from_jwk(&padded));
        assert!(cache.holder_key(&padded).is_ok());
        assert!(cache.is_empty());
    }

    #[test]
    fn stays_bounded() {
        let cache = HolderKeyCache::new(16);
        for seed in 0..200u8 {
            let jwk = ed25519_jwk(seed);
            assert_eq!(cache.holder_key(&jwk), PublicKey::from_jwk(&jwk));
        }
        assert!(cache.len() <= 16, "{}", cache.len());
    }
}

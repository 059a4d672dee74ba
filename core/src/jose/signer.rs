//! Signing through a small trait, so a phone keystore can sign without handing out its key.

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use serde_json::{Map, Value};

use super::jwk::{JwkError, P256PublicKey, PublicKey};
use super::Algorithm;
use crate::b64;

/// Why a signature could not be made (for a hardware keystore: key gone, user cancelled...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("signing failed: {reason}")]
pub struct SignError {
    /// What the signer reported. Never contains key material.
    pub reason: String,
}

/// Something that signs JWS signing input with one key: a software key, the Android Keystore,
/// the Secure Enclave. Signatures are raw: 64 bytes for Ed25519, `r ‖ s` (64 bytes) for ES256.
pub trait Signer: Send + Sync {
    /// The JWS algorithm of this key.
    fn algorithm(&self) -> Algorithm;
    /// The public half of the key.
    fn public_key(&self) -> PublicKey;
    /// The `kid` to put in JWS headers, if any.
    fn key_id(&self) -> Option<String> {
        None
    }
    /// Signs `message` (the JWS signing input).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// A private key held in memory: for issuers' key files, tests and wallets without hardware keys.
/// Its `Debug` output never shows the key.
#[derive(Clone)]
pub enum SoftwareSigner {
    /// An Ed25519 key.
    Ed25519(ed25519_dalek::SigningKey),
    /// A P-256 key; signs deterministically (RFC 6979).
    P256(p256::ecdsa::SigningKey),
}

impl SoftwareSigner {
    /// Generates a new key of the given algorithm from a cryptographic RNG.
    pub fn generate(alg: Algorithm, rng: &mut (impl CryptoRng + RngCore)) -> Self {
        match alg {
            Algorithm::EdDSA => SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::generate(rng)),
            Algorithm::ES256 => SoftwareSigner::P256(p256::ecdsa::SigningKey::random(rng)),
        }
    }

    /// Loads a private JWK (`d` present).
    pub fn from_private_jwk(jwk: &Value) -> Result<Self, JwkError> {
        let map = jwk.as_object().ok_or(JwkError::NotAnObject)?;
        let d = map
            .get("d")
            .and_then(Value::as_str)
            .ok_or(JwkError::MissingMember("d"))?;
        let d = b64::decode(d).ok_or(JwkError::BadCoordinate("d"))?;
        let mut public = map.clone();
        public.remove("d");
        // A private JWK's `key_ops` names `sign`; the public half is checked for verification.
        if public.remove("key_ops").is_some_and(|ops| {
            !ops.as_array()
                .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("sign")))
        }) {
            return Err(JwkError::WrongKeyUse);
        }
        let expected = PublicKey::from_jwk(&Value::Object(public))?;
        let signer = match expected {
            PublicKey::Ed25519(_) => {
                let bytes: [u8; 32] = d.try_into().map_err(|_| JwkError::BadCoordinate("d"))?;
                SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes))
            }
            PublicKey::P256(_) => SoftwareSigner::P256(
                p256::ecdsa::SigningKey::from_slice(&d).map_err(|_| JwkError::InvalidKey)?,
            ),
        };
        if signer.public_key() != expected {
            return Err(JwkError::InvalidKey);
        }
        Ok(signer)
    }

    /// The private JWK (with `d`). Handle with care: write it only to files readable by the owner.
    pub fn to_private_jwk(&self) -> Value {
        let mut jwk = match self.public_key().to_jwk() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let d = match self {
            SoftwareSigner::Ed25519(key) => b64::encode(key.to_bytes()),
            SoftwareSigner::P256(key) => b64::encode(key.to_bytes()),
        };
        jwk.insert("d".to_owned(), Value::String(d));
        Value::Object(jwk)
    }
}

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> Algorithm {
        match self {
            SoftwareSigner::Ed25519(_) => Algorithm::EdDSA,
            SoftwareSigner::P256(_) => Algorithm::ES256,
        }
    }

    fn public_key(&self) -> PublicKey {
        match self {
            SoftwareSigner::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
            SoftwareSigner::P256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                let mut sec1 = [0u8; 65];
                sec1.copy_from_slice(point.as_bytes());
                // A signing key's own public point is on the curve by construction.
                PublicKey::P256(P256PublicKey::from_trusted_point(sec1))
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match self {
            SoftwareSigner::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                Ok(key.sign(message).to_bytes().to_vec())
            }
            SoftwareSigner::P256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = key.sign(message);
                Ok(sig.to_bytes().to_vec())
            }
        }
    }
}

impl fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("alg", &self.algorithm())
            .field("kid", &self.public_key().thumbprint())
            .finish_non_exhaustive()
    }
}

/// A signer that puts a fixed `kid` in the headers it signs.
#[derive(Debug)]
pub struct WithKeyId<S> {
    /// The wrapped signer.
    pub signer: S,
    /// The `kid` value.
    pub kid: String,
}

impl<S: Signer> Signer for WithKeyId<S> {
    fn algorithm(&self) -> Algorithm {
        self.signer.algorithm()
    }
    fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }
    fn key_id(&self) -> Option<String> {
        Some(self.kid.clone())
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.signer.sign(message)
    }
}

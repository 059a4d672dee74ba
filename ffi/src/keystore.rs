//! The app's key store, as a foreign trait, and its adapter to core's `Signer`.
//!
//! The private key stays in the key store (Android Keystore/StrongBox, the Secure Enclave, or
//! [`SoftwareKeyStore`](crate::SoftwareKeyStore)): the wallet only asks it to sign JWS signing
//! input and keeps the public JWK.
//!
//! # Signature format
//!
//! JOSE wants raw signatures: 64 bytes `r ‖ s` for ES256, 64 bytes for Ed25519. Android's
//! `SHA256withECDSA` and Apple's `.ecdsaSignatureMessageX962SHA256` return ASN.1 DER instead, so
//! the adapter **accepts a DER ES256 signature and converts it** to `r ‖ s` rather than refusing
//! it: one conversion here instead of one in every app. Every signature, converted or not, is then
//! verified against the public key the wallet recorded when the key was made; anything that does
//! not verify (a wrong length, garbage, another key's signature) is refused with
//! [`KeyStoreFailure::BadOutput`](crate::KeyStoreFailure::BadOutput) before it reaches a
//! credential.

use std::sync::{Arc, Mutex, PoisonError};

use govid_core::jose::{verify_signature, Algorithm, PublicKey, SignError, Signer};

use crate::error::{KeyStoreError, WalletError};

/// A key algorithm the wallet asks a key store for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 / SHA-256 (JWS `ES256`): what phone secure hardware offers. The default.
    Es256,
    /// Ed25519 (JWS `EdDSA`): for software keys.
    EdDsa,
}

impl KeyAlgorithm {
    pub(crate) fn jose(self) -> Algorithm {
        match self {
            KeyAlgorithm::Es256 => Algorithm::ES256,
            KeyAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }

    pub(crate) fn from_jose(alg: Algorithm) -> Self {
        match alg {
            Algorithm::ES256 => KeyAlgorithm::Es256,
            Algorithm::EdDSA => KeyAlgorithm::EdDsa,
        }
    }
}

/// Where the holder's private keys live, implemented by the app (or [`SoftwareKeyStore`]).
///
/// Calls may come from any thread; implementations must be thread-safe. A call may block (e.g.
/// on a biometric prompt); the app should call the wallet off its UI thread.
///
/// [`SoftwareKeyStore`]: crate::SoftwareKeyStore
#[uniffi::export(rust, foreign)]
pub trait KeyStore: Send + Sync {
    /// Creates a new key pair under `alias` and returns its public JWK as JSON text
    /// (`{"kty":"EC","crv":"P-256","x":…,"y":…}` or `{"kty":"OKP","crv":"Ed25519","x":…}`).
    /// Throws `KeyExists` if the alias is taken.
    fn create_key(&self, alias: String, alg: KeyAlgorithm) -> Result<String, KeyStoreError>;

    /// Signs `message` with the key under `alias`: ES256 as raw `r ‖ s` (64 bytes; DER is
    /// accepted and converted), Ed25519 as 64 bytes. `message` is the JWS signing input; hash
    /// it with SHA-256 as part of ES256 (`SHA256withECDSA`), do not pass it pre-hashed.
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;

    /// The public JWK (JSON text) of the key under `alias`.
    fn public_jwk(&self, alias: String) -> Result<String, KeyStoreError>;

    /// Deletes the key under `alias`. Deleting a missing key is not an error.
    fn delete_key(&self, alias: String) -> Result<(), KeyStoreError>;
}

/// Parses a public JWK a key store returned, as a [`WalletError`].
pub(crate) fn parse_public_jwk(text: &str, alg: KeyAlgorithm) -> Result<PublicKey, WalletError> {
    let key = PublicKey::from_jwk_str(text)
        .map_err(|e| WalletError::bad_key_output(format!("the key store's public JWK: {e}")))?;
    if key.algorithm() != alg.jose() {
        return Err(WalletError::bad_key_output(
            "the key store returned a key of another algorithm",
        ));
    }
    Ok(key)
}

/// Core's [`Signer`] over a key in a [`KeyStore`], checking each signature it returns.
pub(crate) struct KeyStoreSigner {
    store: Arc<dyn KeyStore>,
    alias: String,
    pub(crate) public: PublicKey,
    /// The typed error of the last failed `sign`, which core's `SignError` cannot carry.
    last_error: Mutex<Option<WalletError>>,
}

impl KeyStoreSigner {
    pub(crate) fn new(store: Arc<dyn KeyStore>, alias: String, public: PublicKey) -> Self {
        Self {
            store,
            alias,
            public,
            last_error: Mutex::new(None),
        }
    }

    /// The typed error behind a `SignError` this signer returned.
    pub(crate) fn take_error(&self, fallback: SignError) -> WalletError {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| WalletError::bad_key_output(fallback.reason))
    }

    fn fail(&self, error: WalletError) -> SignError {
        let reason = error.to_string();
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error);
        SignError { reason }
    }

    /// Signs and checks, with the typed error.
    pub(crate) fn sign_checked(&self, message: &[u8]) -> Result<Vec<u8>, WalletError> {
        let alg = self.public.algorithm();
        let raw = self.store.sign(self.alias.clone(), message.to_vec())?;
        let sig = normalize_signature(alg, raw)?;
        verify_signature(alg, &self.public, message, &sig).map_err(|_| {
            WalletError::bad_key_output(
                "the key store's signature does not verify with the key recorded for this alias",
            )
        })?;
        Ok(sig)
    }
}

impl Signer for KeyStoreSigner {
    fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_checked(message).map_err(|e| self.fail(e))
    }
}

/// Brings a key store signature to JOSE form: ES256 DER → `r ‖ s`; lengths checked.
pub(crate) fn normalize_signature(alg: Algorithm, sig: Vec<u8>) -> Result<Vec<u8>, WalletError> {
    match alg {
        Algorithm::EdDSA if sig.len() == 64 => Ok(sig),
        Algorithm::EdDSA => Err(WalletError::bad_key_output(format!(
            "an Ed25519 signature must be 64 bytes, the key store returned {}",
            sig.len()
        ))),
        Algorithm::ES256 if sig.len() == 64 => Ok(sig),
        // A DER ECDSA-Sig-Value is a SEQUENCE (0x30) of two INTEGERs: 8 to 72 bytes for P-256.
        Algorithm::ES256 if sig.first() == Some(&0x30) && (8..=72).contains(&sig.len()) => {
            p256::ecdsa::Signature::from_der(&sig)
                .map(|s| s.to_bytes().to_vec())
                .map_err(|_| {
                    WalletError::bad_key_output(
                        "the key store's ES256 signature is neither 64-byte r‖s nor valid DER",
                    )
                })
        }
        Algorithm::ES256 => Err(WalletError::bad_key_output(format!(
            "an ES256 signature must be 64-byte r‖s (or DER), the key store returned {} bytes",
            sig.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;

    #[test]
    fn der_es256_is_converted_and_garbage_refused() {
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        let sig: p256::ecdsa::Signature = key.sign(b"msg");
        let der = sig.to_der().as_bytes().to_vec();
        assert_eq!(
            normalize_signature(Algorithm::ES256, der).ok(),
            Some(sig.to_bytes().to_vec())
        );
        assert!(normalize_signature(Algorithm::ES256, vec![0x30; 70]).is_err());
        assert!(normalize_signature(Algorithm::ES256, vec![1; 63]).is_err());
        assert!(normalize_signature(Algorithm::EdDSA, vec![0x30; 70]).is_err());
    }
}

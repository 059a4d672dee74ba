//! Enrolling: the holder key, made in the app's key store, and the key proof HR checks before
//! issuing a worker ID to it. (Trusting issuers is in `trust.rs`.)

use govid_core::enrollment::{make_key_proof, EnrollmentOffer};

use crate::error::{guard, WalletError};
use crate::keystore::{parse_public_jwk, KeyAlgorithm, KeyStoreSigner};
use crate::records::EnrollmentRequest;
use crate::store::HolderKeyRow;
use crate::wallet::{random_token, Wallet};

#[uniffi::export]
impl Wallet {
    /// Starts enrollment from HR's scanned enrollment QR code (`GVE1:<code>:<issuer DID>`):
    /// [`Wallet::enroll`] with the code and issuer it holds.
    pub fn enroll_from_offer(
        &self,
        offer: String,
        alg: KeyAlgorithm,
    ) -> Result<EnrollmentRequest, WalletError> {
        guard(|| {
            let offer = EnrollmentOffer::parse(&offer)
                .map_err(|e| WalletError::input(format!("enrollment QR code: {e}")))?;
            self.enroll(offer.code.clone(), offer.issuer.clone(), alg)
        })
    }

    /// Starts enrollment with an enrollment code from HR (typed, or read from HR's QR code)
    /// and HR's issuer id: creates a new holder key of `alg` in the key store and returns the
    /// key proof HR needs to issue the worker ID for it.
    pub fn enroll(
        &self,
        code: String,
        issuer_id: String,
        alg: KeyAlgorithm,
    ) -> Result<EnrollmentRequest, WalletError> {
        guard(|| {
            let code = code.trim();
            let issuer_id = issuer_id.trim();
            if code.is_empty() || code.len() > 256 || code.chars().any(char::is_control) {
                return Err(WalletError::input(
                    "the enrollment code is empty or malformed",
                ));
            }
            if issuer_id.is_empty() || issuer_id.len() > 512 {
                return Err(WalletError::input("the issuer id is empty or too long"));
            }
            let alias = format!("govid-holder-{}", random_token());
            let jwk = self.key_store.create_key(alias.clone(), alg)?;
            let result = (|| {
                let key = parse_public_jwk(&jwk, alg)?;
                let signer = KeyStoreSigner::new(self.key_store.clone(), alias.clone(), key);
                let proof = make_key_proof(code, issuer_id, self.clock.now(), &signer)
                    .map_err(|e| signer.take_error(e))?;
                let public = signer.public.to_jwk().to_string();
                self.store.insert_holder_key(
                    &HolderKeyRow {
                        alias: alias.clone(),
                        alg: alg.jose().as_str().to_owned(),
                        public_jwk: public.clone(),
                    },
                    &signer.public.thumbprint(),
                    self.clock.now(),
                )?;
                Ok(EnrollmentRequest {
                    issuer_id: issuer_id.to_owned(),
                    key_proof: proof,
                    key_alias: alias.clone(),
                    holder_jwk: public,
                })
            })();
            if result.is_err() {
                // Best effort: the key is of no use without its record.
                let _ = self.key_store.delete_key(alias.clone());
            }
            result
        })
    }
}

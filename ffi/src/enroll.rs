//! Trusting issuers and enrolling: the holder key, made in the app's key store, and the key proof
//! HR checks before issuing a worker ID to it.

use govid_core::did;
use govid_core::enrollment::{make_key_proof, EnrollmentOffer};
use govid_core::jose::PublicKey;

use crate::error::{guard, WalletError};
use crate::keystore::{parse_public_jwk, KeyAlgorithm, KeyStoreSigner};
use crate::records::{EnrollmentRequest, TrustedIssuer};
use crate::store::{HolderKeyRow, IssuerRow};
use crate::wallet::{random_token, Wallet};

#[uniffi::export]
impl Wallet {
    /// Trusts an issuer's public key (JWK JSON text), for any `iss` or only for `issuer`.
    /// Credentials are accepted only from trusted issuers. The JWK's `kid`, if any, is kept: after
    /// HR rotates its key, pin every key of its published JWKS and credentials pick theirs by `kid`.
    pub fn trust_issuer(
        &self,
        jwk: String,
        issuer: Option<String>,
    ) -> Result<TrustedIssuer, WalletError> {
        guard(|| {
            let key = PublicKey::from_jwk_str(&jwk)
                .map_err(|e| WalletError::input(format!("issuer JWK: {e}")))?;
            let kid = serde_json::from_str::<serde_json::Value>(&jwk)
                .ok()
                .and_then(|v| v.get("kid")?.as_str().map(str::to_owned))
                .filter(|kid| !kid.is_empty());
            self.pin_issuer(&key, issuer.filter(|i| !i.is_empty()), kid)
        })
    }

    /// Trusts the issuer `did`, a `did:key` or `did:jwk` (which carry their key, so no network is
    /// needed): pins its key for that `iss`. For `did:web` issuers, pin the JWK HR publishes with
    /// `trust_issuer(jwk, did)`.
    pub fn trust_issuer_did(&self, did: String) -> Result<TrustedIssuer, WalletError> {
        guard(|| {
            let did = did.trim();
            let (key, kid) = if did.starts_with("did:key:") {
                let key = did::public_key_from_did_key(did)
                    .map_err(|e| WalletError::input(format!("issuer DID: {e}")))?;
                let kid = did::did_key_verification_method_id(&key);
                (key, kid)
            } else if did.starts_with("did:jwk:") {
                let key = did::public_key_from_did_jwk(did)
                    .map_err(|e| WalletError::input(format!("issuer DID: {e}")))?;
                let kid = did::did_jwk_verification_method_id(&key);
                (key, kid)
            } else {
                return Err(WalletError::input(
                    "only did:key and did:jwk issuers can be trusted by DID; pin a did:web \
                     issuer's JWK with trust_issuer",
                ));
            };
            self.pin_issuer(&key, Some(did.to_owned()), Some(kid))
        })
    }

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

    /// The trusted issuer keys, oldest first.
    pub fn trusted_issuers(&self) -> Result<Vec<TrustedIssuer>, WalletError> {
        guard(|| {
            Ok(self
                .store
                .issuers()?
                .into_iter()
                .map(|r| TrustedIssuer {
                    issuer: r.iss,
                    thumbprint: r.thumbprint,
                    jwk: r.jwk,
                })
                .collect())
        })
    }

    /// Stops trusting the issuer key with this thumbprint (stored credentials stay). Returns
    /// whether a key was removed.
    pub fn remove_trusted_issuer(&self, thumbprint: String) -> Result<bool, WalletError> {
        guard(|| self.store.remove_issuer(&thumbprint))
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

impl Wallet {
    fn pin_issuer(
        &self,
        key: &PublicKey,
        iss: Option<String>,
        kid: Option<String>,
    ) -> Result<TrustedIssuer, WalletError> {
        let row = IssuerRow {
            thumbprint: key.thumbprint(),
            iss,
            jwk: key.to_jwk().to_string(),
            kid,
        };
        self.store.add_issuer(&row, self.clock.now())?;
        Ok(TrustedIssuer {
            issuer: row.iss,
            thumbprint: row.thumbprint,
            jwk: row.jwk,
        })
    }
}

//! The `Wallet` object: open, trust issuers, enroll, accept and list credentials.
//! Presenting is in `present.rs`, status in `status.rs`.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use govid_core::b64;
use govid_core::credential::{WorkerView, WORKER_ID_VCT};
use govid_core::did;
use govid_core::enrollment::{make_key_proof, EnrollmentOffer};
use govid_core::jose::{Algorithm, PublicKey};
use govid_core::sdjwt::{HeldSdJwt, VerifyPolicy, SD_JWT_VC_TYP};
use govid_core::time::Clock;
use govid_core::trust::PinnedKeys;
use rand_core::{OsRng, RngCore};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{guard, WalletError};
use crate::keystore::{parse_public_jwk, KeyAlgorithm, KeyStore, KeyStoreSigner};
use crate::store::{CredentialRow, HolderKeyRow, IssuerRow, Store};

/// The database file inside the wallet directory.
pub const DATABASE_FILE: &str = "wallet.sqlite3";
/// The largest credential accepted, in bytes (a worker ID with a 12 KiB portrait is ~20 KiB).
pub const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;

/// The system clock, the one clock the wallet reads.
#[derive(Debug)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// 128 random bits from the OS, base64url (22 characters).
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    b64::encode(bytes)
}

/// An issuer key the wallet trusts.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TrustedIssuer {
    /// The only `iss` this key may sign for, or `None` for any.
    pub issuer: Option<String>,
    /// The key's RFC 7638 thumbprint (its id in the wallet).
    pub thumbprint: String,
    /// The public JWK, as JSON text.
    pub jwk: String,
}

/// What the app sends to HR to enroll (HR's `govid-issuer enroll` reads `key_proof`).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentRequest {
    /// The issuer id the proof is addressed to (its `aud`).
    pub issuer_id: String,
    /// The `openid4vci-proof+jwt` key proof: a compact JWS.
    pub key_proof: String,
    /// The key store alias of the new holder key.
    pub key_alias: String,
    /// The new holder key's public JWK, as JSON text.
    pub holder_jwk: String,
}

/// A credential's status as last learnt from its issuer's Status List Token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CredentialStatus {
    /// Never checked (or the credential has no status list entry).
    Unknown,
    /// Valid (status list value 0).
    Valid,
    /// Revoked by the issuer (status list value 1, `INVALID`): it will not open gates again.
    Revoked,
    /// Suspended by the issuer (status list value 2): may become valid again.
    Suspended,
    /// Another, application-specific status list value.
    Other {
        /// The value.
        value: u8,
    },
}

impl CredentialStatus {
    pub(crate) fn from_value(value: Option<u8>) -> Self {
        match value {
            None => CredentialStatus::Unknown,
            Some(0) => CredentialStatus::Valid,
            Some(1) => CredentialStatus::Revoked,
            Some(2) => CredentialStatus::Suspended,
            Some(value) => CredentialStatus::Other { value },
        }
    }
}

/// A stored worker ID, for display in the wallet.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CredentialSummary {
    /// The wallet's id for the credential (base64url of a SHA-256 prefix of the issuer JWT: the
    /// same credential accepted twice has the same id).
    pub id: String,
    /// `iss`.
    pub issuer: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Employee number.
    pub employee_number: Option<String>,
    /// Organization name.
    pub organization_name: Option<String>,
    /// Organization code.
    pub organization_code: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Position or title.
    pub position: Option<String>,
    /// Grade.
    pub grade: Option<String>,
    /// Access zones.
    pub access_zones: Vec<String>,
    /// Whether the credential carries a portrait (see `Wallet.portrait`).
    pub has_portrait: bool,
    /// `iat`, unix seconds.
    pub issued_at: Option<u64>,
    /// `nbf`, unix seconds.
    pub valid_from: Option<u64>,
    /// `exp`, unix seconds.
    pub expires_at: Option<u64>,
    /// Whether `exp` has passed now.
    pub expired: bool,
    /// Whether the credential has a status list entry (`refresh_status` applies).
    pub has_status_list: bool,
    /// The status list URI to fetch for `refresh_status`.
    pub status_list_uri: Option<String>,
    /// Status as last known.
    pub status: CredentialStatus,
    /// When the status was last refreshed, unix seconds.
    pub status_checked_at: Option<u64>,
    /// When the wallet accepted the credential, unix seconds.
    pub received_at: u64,
    /// The holder key's algorithm.
    pub key_algorithm: KeyAlgorithm,
}

/// A govid wallet: the staff member's worker IDs and their holder keys, in an app-private
/// directory. Thread-safe: every method may be called from any thread.
#[derive(uniffi::Object)]
pub struct Wallet {
    pub(crate) dir: PathBuf,
    pub(crate) store: Store,
    pub(crate) key_store: Arc<dyn KeyStore>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Credentials checked since opening, by id: presenting does not re-verify each time.
    pub(crate) held: Mutex<HashMap<String, Arc<HeldSdJwt>>>,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

#[uniffi::export]
impl Wallet {
    /// Opens (creating if needed) the wallet in `dir`, an app-private directory, with the app's
    /// key store. The database is `dir/wallet.sqlite3`.
    #[uniffi::constructor]
    pub fn open(dir: String, key_store: Arc<dyn KeyStore>) -> Result<Arc<Self>, WalletError> {
        guard(|| Self::open_with_clock(dir, key_store, Arc::new(SystemClock)).map(Arc::new))
    }

    /// Trusts an issuer's public key (JWK JSON text), for any `iss` or only for `issuer`.
    /// Credentials are accepted only from trusted issuers.
    pub fn trust_issuer(
        &self,
        jwk: String,
        issuer: Option<String>,
    ) -> Result<TrustedIssuer, WalletError> {
        guard(|| {
            let key = PublicKey::from_jwk_str(&jwk)
                .map_err(|e| WalletError::input(format!("issuer JWK: {e}")))?;
            self.pin_issuer(&key, issuer.filter(|i| !i.is_empty()), None)
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

    /// Verifies an issued worker ID against the trusted issuers and stores it. `credential` is
    /// the issued SD-JWT (`<JWT>~<disclosure>~…~`) or a scanned `GV1:` code of it. The
    /// credential must be a worker ID, valid now, and bound to a key this wallet enrolled.
    /// Accepting the same credential again returns the stored one.
    pub fn accept_credential(&self, credential: String) -> Result<CredentialSummary, WalletError> {
        guard(|| self.accept(&credential))
    }

    /// [`Wallet::accept_credential`] reading the credential from a file (UTF-8 text).
    pub fn accept_credential_file(&self, path: String) -> Result<CredentialSummary, WalletError> {
        guard(|| {
            let meta = fs::metadata(&path).map_err(WalletError::storage)?;
            if meta.len() > MAX_CREDENTIAL_BYTES as u64 {
                return Err(WalletError::credential(
                    "too_large",
                    "the credential file is too large",
                ));
            }
            let text = fs::read_to_string(&path).map_err(WalletError::storage)?;
            self.accept(&text)
        })
    }

    /// The stored credentials, oldest first.
    pub fn list_credentials(&self) -> Result<Vec<CredentialSummary>, WalletError> {
        guard(|| {
            let now = self.clock.now();
            self.store
                .credentials()?
                .iter()
                .map(|row| self.summary(row, now))
                .collect()
        })
    }

    /// One stored credential.
    pub fn credential(&self, id: String) -> Result<CredentialSummary, WalletError> {
        guard(|| {
            let row = self.row(&id)?;
            self.summary(&row, self.clock.now())
        })
    }

    /// The portrait data URL (`data:image/…;base64,…`) of a stored credential, if it has one.
    pub fn portrait(&self, id: String) -> Result<Option<String>, WalletError> {
        guard(|| {
            let row = self.row(&id)?;
            let claims = claims_of(&row)?;
            Ok(claims
                .get("portrait")
                .and_then(Value::as_str)
                .map(str::to_owned))
        })
    }

    /// Deletes a stored credential, and its holder key when no other credential uses it.
    /// Returns whether a credential was deleted.
    pub fn delete_credential(&self, id: String) -> Result<bool, WalletError> {
        guard(|| {
            let Some(row) = self.store.credential(&id)? else {
                return Ok(false);
            };
            self.store.delete_credential(&id)?;
            self.held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            if self.store.delete_unused_holder_key(&row.key_alias)? {
                self.key_store.delete_key(row.key_alias)?;
            }
            Ok(true)
        })
    }
}

impl Wallet {
    /// [`Wallet::open`] with another clock (Rust tests).
    pub fn open_with_clock(
        dir: String,
        key_store: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, WalletError> {
        let dir = PathBuf::from(dir);
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(&dir).map_err(WalletError::storage)?;
        let store = Store::open(&dir.join(DATABASE_FILE))?;
        Ok(Self {
            dir,
            store,
            key_store,
            clock,
            held: Mutex::new(HashMap::new()),
        })
    }

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

    pub(crate) fn row(&self, id: &str) -> Result<CredentialRow, WalletError> {
        self.store
            .credential(id)?
            .ok_or_else(|| WalletError::NotFound { id: id.to_owned() })
    }

    /// The holder's policy for receiving a worker ID: SD-JWT VC rules and `typ` `dc+sd-jwt`.
    fn receive_policy() -> VerifyPolicy {
        VerifyPolicy {
            sd_jwt_vc: true,
            expected_typ: Some(SD_JWT_VC_TYP.to_owned()),
            ..VerifyPolicy::default()
        }
    }

    fn accept(&self, text: &str) -> Result<CredentialSummary, WalletError> {
        let text = text.trim();
        if text.len() > MAX_CREDENTIAL_BYTES {
            return Err(WalletError::credential(
                "too_large",
                "the credential is too large",
            ));
        }
        let issued = crate::present::decode_scanned(text)?;
        let now = self.clock.now();
        let mut trusted = PinnedKeys::new();
        for row in self.store.issuers()? {
            let key = PublicKey::from_jwk_str(&row.jwk).map_err(WalletError::storage)?;
            trusted.add(key, row.iss, row.kid.into_iter().collect());
        }
        let held = HeldSdJwt::receive(&issued, &Self::receive_policy(), &trusted, now)
            .map_err(|e| WalletError::credential(e.rule(), e))?;
        let claims = held.claims();
        if claims.get("vct").and_then(Value::as_str) != Some(WORKER_ID_VCT) {
            return Err(WalletError::credential(
                "not_worker_id",
                "the credential is not a govid worker ID (wrong `vct`)",
            ));
        }
        let holder = claims
            .get("cnf")
            .and_then(|c| c.get("jwk"))
            .map(PublicKey::from_jwk)
            .and_then(Result::ok)
            .ok_or_else(|| {
                WalletError::credential("holder_key", "the credential has no usable `cnf.jwk`")
            })?;
        let key = self
            .store
            .holder_key_by_thumbprint(&holder.thumbprint())?
            .ok_or_else(|| {
                WalletError::credential(
                    "holder_key_not_held",
                    "the credential is bound to a key this wallet does not hold",
                )
            })?;
        let id = credential_id(&held);
        let row = CredentialRow {
            id: id.clone(),
            issued: held.issued(),
            issuer_jwk: held.issuer_key().to_jwk().to_string(),
            key_alias: key.alias,
            claims: Value::Object(claims.clone()).to_string(),
            received_at: now,
            status: None,
            status_checked_at: None,
        };
        self.store.insert_credential(&row)?;
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone(), Arc::new(held));
        let stored = self.row(&id)?;
        self.summary(&stored, now)
    }

    pub(crate) fn summary(
        &self,
        row: &CredentialRow,
        now: u64,
    ) -> Result<CredentialSummary, WalletError> {
        let claims = claims_of(row)?;
        let view = WorkerView::from_payload(&claims);
        let num = |name: &str| claims.get(name).and_then(Value::as_u64);
        let key_algorithm = self
            .store
            .holder_key(&row.key_alias)?
            .and_then(|k| Algorithm::from_name(&k.alg))
            .map(KeyAlgorithm::from_jose)
            .unwrap_or(KeyAlgorithm::Es256);
        Ok(CredentialSummary {
            id: row.id.clone(),
            issuer: view.issuer,
            given_name: view.given_name,
            family_name: view.family_name,
            employee_number: view.employee_number,
            organization_name: view.organization_name,
            organization_code: view.organization_code,
            department: view.department,
            position: view.position,
            grade: view.grade,
            access_zones: view.access_zones,
            has_portrait: view.has_portrait,
            issued_at: num("iat"),
            valid_from: num("nbf"),
            expires_at: view.expires_at,
            expired: view.expires_at.is_some_and(|exp| exp <= now),
            has_status_list: view.status.is_some(),
            status_list_uri: view.status.map(|s| s.uri),
            status: CredentialStatus::from_value(row.status),
            status_checked_at: row.status_checked_at,
            received_at: row.received_at,
            key_algorithm,
        })
    }

    /// The stored credential as a checked [`HeldSdJwt`], re-verified against the issuer key it
    /// was accepted with the first time it is used after opening.
    pub(crate) fn held(&self, row: &CredentialRow) -> Result<Arc<HeldSdJwt>, WalletError> {
        if let Some(held) = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&row.id)
        {
            return Ok(held.clone());
        }
        let key = PublicKey::from_jwk_str(&row.issuer_jwk).map_err(WalletError::storage)?;
        // Checked at the time it was accepted: its expiry is checked by the caller, at use.
        let held = HeldSdJwt::receive(
            &row.issued,
            &Self::receive_policy(),
            &PinnedKeys::single(key),
            row.received_at,
        )
        .map_err(|e| WalletError::storage(format!("stored credential no longer verifies: {e}")))?;
        let held = Arc::new(held);
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(row.id.clone(), held.clone());
        Ok(held)
    }

    /// The signer for a stored credential's holder key.
    pub(crate) fn signer(&self, row: &CredentialRow) -> Result<KeyStoreSigner, WalletError> {
        let key = self
            .store
            .holder_key(&row.key_alias)?
            .ok_or_else(|| WalletError::storage("the credential's holder key record is missing"))?;
        let public = PublicKey::from_jwk_str(&key.public_jwk).map_err(WalletError::storage)?;
        Ok(KeyStoreSigner::new(
            self.key_store.clone(),
            key.alias,
            public,
        ))
    }
}

pub(crate) fn claims_of(row: &CredentialRow) -> Result<Map<String, Value>, WalletError> {
    match serde_json::from_str(&row.claims) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(WalletError::storage("stored claims are not a JSON object")),
    }
}

/// The wallet's id of a credential: base64url of the first 16 bytes of SHA-256 over the issuer
/// JWT (disclosure order does not change it).
fn credential_id(held: &HeldSdJwt) -> String {
    let issued = held.issued();
    let jwt = issued.split('~').next().unwrap_or_default();
    b64::encode(&Sha256::digest(jwt.as_bytes())[..16])
}

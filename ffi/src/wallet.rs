//! The `Wallet` object: open, accept, list and delete credentials. Trusting issuers is in
//! `trust.rs`, enrollment in `enroll.rs`, presenting in `present.rs`, status in `status.rs`.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use govid_core::b64;
use govid_core::credential::WorkerView;
use govid_core::jose::{Algorithm, PublicKey};
use govid_core::sdjwt::{HeldSdJwt, VerifyPolicy, SD_JWT_VC_TYP};
use govid_core::time::{numeric_date, Clock};
use govid_core::trust::PinnedKeys;
use rand_core::{OsRng, RngCore};
use serde_json::{Map, Value};

use crate::error::{guard, WalletError};
use crate::keystore::{KeyAlgorithm, KeyStore, KeyStoreSigner};
use crate::records::{CredentialKind, CredentialStatus, CredentialSummary};
use crate::store::{CredentialRow, Store};

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

/// A govid wallet: the staff member's worker IDs and gate passes and their holder keys, in an
/// app-private directory. Thread-safe: every method may be called from any thread.
#[derive(uniffi::Object)]
pub struct Wallet {
    pub(crate) dir: PathBuf,
    pub(crate) store: Store,
    pub(crate) key_store: Arc<dyn KeyStore>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Credentials checked since opening, by id: presenting does not re-verify each time.
    pub(crate) held: Mutex<HashMap<String, Arc<HeldSdJwt>>>,
    /// The app's display languages, most preferred first (`set_preferred_languages`).
    pub(crate) languages: Mutex<Vec<String>>,
    /// Login requests read and checked by `read_presentation_request`, awaiting `respond`.
    pub(crate) logins: crate::oid4vp::PendingLogins,
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

    /// Verifies an issued worker ID or gate pass against the trusted issuers and stores it.
    /// `credential` is the issued SD-JWT (`<JWT>~<disclosure>~…~`) or a scanned `GV1:` code of
    /// it. The credential must be a worker ID or a gate pass (any other `vct` is refused with
    /// rule `not_worker_id`), valid now, and bound to a key this wallet enrolled; the summary's
    /// `kind` says which it is. Accepting the same credential again returns the stored one.
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

    /// The stored credentials, in the order they were accepted (oldest first).
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
            languages: Mutex::new(Vec::new()),
            logins: crate::oid4vp::PendingLogins::default(),
        })
    }

    pub(crate) fn row(&self, id: &str) -> Result<CredentialRow, WalletError> {
        self.store
            .credential(id)?
            .ok_or_else(|| WalletError::NotFound { id: id.to_owned() })
    }

    /// The holder's policy for receiving a worker ID or a gate pass: SD-JWT VC rules and `typ`
    /// `dc+sd-jwt` (the `vct` is checked by [`CredentialKind::from_vct`]).
    fn receive_policy() -> VerifyPolicy {
        VerifyPolicy {
            sd_jwt_vc: true,
            expected_typ: Some(SD_JWT_VC_TYP.to_owned()),
            ..VerifyPolicy::default()
        }
    }

    fn accept(&self, text: &str) -> Result<CredentialSummary, WalletError> {
        let (held, holder_thumbprint) = self.verify_issued(text, false)?;
        let key = self
            .store
            .holder_key_by_thumbprint(&holder_thumbprint)?
            .ok_or_else(|| {
                WalletError::credential(
                    "holder_key_not_held",
                    "the credential is bound to a key this wallet does not hold",
                )
            })?;
        self.store_held(held, key.alias)
    }

    /// Verifies an issued worker ID or gate pass against the trusted issuers (the checks of
    /// `accept_credential`) without storing it. Returns it and the RFC 7638 thumbprint of its
    /// `cnf.jwk`. With `from_offer`, an issuer no trusted key fits is
    /// [`WalletError::IssuerNotTrusted`] (naming the credential's `iss`) rather than
    /// `InvalidCredential`.
    pub(crate) fn verify_issued(
        &self,
        text: &str,
        from_offer: bool,
    ) -> Result<(HeldSdJwt, String), WalletError> {
        let text = text.trim();
        if text.len() > MAX_CREDENTIAL_BYTES {
            return Err(WalletError::credential(
                "too_large",
                "the credential is too large",
            ));
        }
        let issued = crate::present::decode_scanned(text)?;
        let now = self.clock.now();
        let trusted = self.pinned_keys()?;
        let held =
            HeldSdJwt::receive(&issued, &Self::receive_policy(), &trusted, now).map_err(|e| {
                from_offer
                    .then(|| crate::trust::issuer_not_trusted(&issued, &e))
                    .flatten()
                    .unwrap_or_else(|| crate::trust::credential_refused(&issued, &e))
            })?;
        let claims = held.claims();
        if claims
            .get("vct")
            .and_then(Value::as_str)
            .and_then(CredentialKind::from_vct)
            .is_none()
        {
            return Err(WalletError::credential(
                "not_worker_id",
                "the credential is not a govid worker ID or gate pass (wrong `vct`)",
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
        Ok((held, holder.thumbprint()))
    }

    /// Stores a credential [`Wallet::verify_issued`] accepted, bound to the holder key `alias`.
    pub(crate) fn store_held(
        &self,
        held: HeldSdJwt,
        key_alias: String,
    ) -> Result<CredentialSummary, WalletError> {
        let now = self.clock.now();
        let claims = held.claims();
        let id = credential_id(&held);
        let row = CredentialRow {
            id: id.clone(),
            issued: held.issued(),
            issuer_jwk: held.issuer_key().to_jwk().to_string(),
            key_alias,
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
        let num = |name: &str| claims.get(name).and_then(numeric_date);
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
            kind: kind_of(&claims),
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

/// The kind of a stored credential. Every stored credential passed [`CredentialKind::from_vct`]
/// when it was accepted (and wallets from before gate passes hold only worker IDs).
pub(crate) fn kind_of(claims: &Map<String, Value>) -> CredentialKind {
    claims
        .get("vct")
        .and_then(Value::as_str)
        .and_then(CredentialKind::from_vct)
        .unwrap_or(CredentialKind::WorkerId)
}

/// The wallet's id of a credential ([`crate::store::credential_id`]).
fn credential_id(held: &HeldSdJwt) -> String {
    crate::store::credential_id(&held.issued())
}

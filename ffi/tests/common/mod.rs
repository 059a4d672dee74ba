//! Shared by the wallet's integration tests: an in-memory key store, a stand-in HR office that
//! issues worker IDs and gate passes, and a gate's check.

// Each test file uses a part of this.
#![allow(dead_code)]
use std::sync::{Arc, Mutex};

use govid_core::credential::{
    gate_policy, issue_gate_pass, issue_worker_id, GateProfile, Organization, StatusListRef,
    Validity, WorkerClaims, WorkerIdParams,
};
use govid_core::jose::{Algorithm, PublicKey, Signer, SoftwareSigner};
use govid_core::qr;
use govid_core::sdjwt::{verify, Decoys};
use govid_core::time::FixedClock;
use govid_core::trust::PinnedKeys;
use govid_ffi::{CredentialKind, KeyAlgorithm, KeyStore, KeyStoreError, Wallet};
use rand_core::OsRng;

pub(crate) const ISSUER: &str = "did:web:hr.test.govid.example";
pub(crate) const GATE: &str = "https://gate.example";
pub(crate) const NOW: u64 = 1_800_000_000;

pub(crate) fn must<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e:?}"))
}

/// A key store over in-memory software keys, optionally answering ES256 in DER.
#[derive(Default)]
pub(crate) struct MemKeys {
    pub(crate) keys: Mutex<Vec<(String, SoftwareSigner)>>,
    pub(crate) der: bool,
}

impl KeyStore for MemKeys {
    fn create_key(&self, alias: String, alg: KeyAlgorithm) -> Result<String, KeyStoreError> {
        let alg = match alg {
            KeyAlgorithm::Es256 => Algorithm::ES256,
            KeyAlgorithm::EdDsa => Algorithm::EdDSA,
        };
        let signer = SoftwareSigner::generate(alg, &mut OsRng);
        let jwk = signer.public_key().to_jwk().to_string();
        must(self.keys.lock()).push((alias, signer));
        Ok(jwk)
    }
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        let keys = must(self.keys.lock());
        let (_, signer) = keys
            .iter()
            .find(|(a, _)| *a == alias)
            .ok_or(KeyStoreError::KeyNotFound { alias })?;
        let sig = must(signer.sign(&message));
        if self.der && signer.algorithm() == Algorithm::ES256 {
            let sig = must(p256::ecdsa::Signature::from_slice(&sig));
            return Ok(sig.to_der().as_bytes().to_vec());
        }
        Ok(sig)
    }
    fn public_jwk(&self, alias: String) -> Result<String, KeyStoreError> {
        let keys = must(self.keys.lock());
        keys.iter()
            .find(|(a, _)| *a == alias)
            .map(|(_, s)| s.public_key().to_jwk().to_string())
            .ok_or(KeyStoreError::KeyNotFound { alias })
    }
    fn delete_key(&self, alias: String) -> Result<(), KeyStoreError> {
        must(self.keys.lock()).retain(|(a, _)| *a != alias);
        Ok(())
    }
}

pub(crate) struct Hr {
    pub(crate) signer: SoftwareSigner,
    pub(crate) iss: String,
}

impl Hr {
    pub(crate) fn new() -> Self {
        Self {
            signer: SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng),
            iss: ISSUER.into(),
        }
    }

    /// An HR office whose issuer id is the did:key of its key.
    pub(crate) fn did_key() -> Self {
        let signer = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        let iss = govid_core::did::did_key_from_public_key(&signer.public_key());
        Self { signer, iss }
    }

    pub(crate) fn jwk(&self) -> String {
        self.signer.public_key().to_jwk().to_string()
    }

    /// Issues a worker ID to the key in `proof`'s header (checked by the ffi tests in
    /// Kotlin/Python too).
    pub(crate) fn issue(&self, proof: &str, validity: Validity) -> String {
        self.issue_kind(proof, validity, CredentialKind::WorkerId, None)
    }

    /// [`Hr::issue`] signed by `signer` (another key of this issuer).
    pub(crate) fn issue_signed_by(
        &self,
        proof: &str,
        validity: Validity,
        signer: &dyn Signer,
    ) -> String {
        self.issue_with(proof, validity, CredentialKind::WorkerId, None, signer)
    }

    /// Issues a worker ID or a gate pass, with a status list entry if `status` is given.
    pub(crate) fn issue_kind(
        &self,
        proof: &str,
        validity: Validity,
        kind: CredentialKind,
        status: Option<StatusListRef>,
    ) -> String {
        self.issue_with(proof, validity, kind, status, &self.signer)
    }

    /// [`Hr::issue_kind`] signed by `signer`.
    pub(crate) fn issue_with(
        &self,
        proof: &str,
        validity: Validity,
        kind: CredentialKind,
        status: Option<StatusListRef>,
        signer: &dyn Signer,
    ) -> String {
        let jws = must(govid_core::jose::CompactJws::parse(proof, 16));
        let holder = must(PublicKey::from_jwk(&jws.header.raw["jwk"]));
        must(jws.verify(&holder, &Algorithm::ALL));
        let claims = WorkerClaims {
            given_name: "Amira".into(),
            family_name: "Haddad".into(),
            employee_number: "E-10442".into(),
            organization: Organization {
                name: "Ministry of Transport".into(),
                code: "MOT".into(),
            },
            department: None,
            position: Some("Senior Inspector".into()),
            grade: None,
            clearance: None,
            birthdate: None,
            portrait: Some("data:image/png;base64,iVBORw0KGgo=".into()),
            access_zones: vec!["HQ-A".into()],
        };
        let params = WorkerIdParams {
            issuer: &self.iss,
            holder_key: &holder,
            validity,
            status,
            decoys: Decoys::NONE,
        };
        let issued = match kind {
            CredentialKind::WorkerId => issue_worker_id(&claims, &params, signer, &mut OsRng),
            CredentialKind::GatePass => issue_gate_pass(&claims, &params, signer, &mut OsRng),
        };
        must(issued).compact()
    }

    /// A Status List Token for [`STATUS_URI`] whose entry [`STATUS_IDX`] is `value`.
    pub(crate) fn status_token(&self, value: u8) -> String {
        use govid_core::status::{
            sign_status_list_token, StatusBits, StatusList, StatusTokenClaims,
        };
        let mut list = must(StatusList::new(StatusBits::TWO, 64));
        must(list.set(STATUS_IDX as usize, value));
        let claims = StatusTokenClaims::new(STATUS_URI, NOW)
            .issuer(self.iss.as_str())
            .ttl(3600);
        must(sign_status_list_token(&list, &claims, &self.signer))
    }
}

pub(crate) const STATUS_URI: &str = "https://hr.test.govid.example/status/1";
pub(crate) const STATUS_IDX: u64 = 7;

pub(crate) fn status_entry(idx: u64) -> Option<StatusListRef> {
    Some(StatusListRef {
        idx,
        uri: STATUS_URI.into(),
    })
}

pub(crate) fn year_from(now: u64) -> Validity {
    Validity {
        issued_at: now,
        not_before: now,
        expires_at: now + 365 * 86_400,
    }
}

pub(crate) fn wallet(dir: &tempfile::TempDir, keys: Arc<dyn KeyStore>, clock: u64) -> Wallet {
    must(Wallet::open_with_clock(
        dir.path().to_string_lossy().into_owned(),
        keys,
        Arc::new(FixedClock(clock)),
    ))
}

/// Verifies a presentation as a gate would, from its GV1 payload.
pub(crate) fn gate_verify(hr: &Hr, payload: &str, nonce: Option<String>, profile: &GateProfile) {
    let compact = must(qr::decode_payload(payload));
    let policy = gate_policy(GATE, nonce, profile);
    let trusted = PinnedKeys::single(hr.signer.public_key());
    must(verify(&compact, &policy, &trusted, NOW + 1));
}

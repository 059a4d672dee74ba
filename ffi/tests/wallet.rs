//! The wallet API from Rust (the same calls the bindings make), with a fixed clock.

use std::sync::{Arc, Mutex};

use govid_core::credential::{
    gate_policy, issue_worker_id, GateProfile, Organization, Validity, WorkerClaims, WorkerIdParams,
};
use govid_core::jose::{Algorithm, PublicKey, Signer, SoftwareSigner, WithKeyId};
use govid_core::qr;
use govid_core::sdjwt::{verify, Decoys};
use govid_core::time::FixedClock;
use govid_core::trust::PinnedKeys;
use govid_ffi::{
    ClaimSelection, GateProfileKind, KeyAlgorithm, KeyStore, KeyStoreError, KeyStoreFailure,
    SoftwareKeyStore, Wallet, WalletError,
};
use rand_core::OsRng;

const ISSUER: &str = "did:web:hr.test.govid.example";
const GATE: &str = "https://gate.example";
const NOW: u64 = 1_800_000_000;

fn must<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e:?}"))
}

/// A key store over in-memory software keys, optionally answering ES256 in DER.
#[derive(Default)]
struct MemKeys {
    keys: Mutex<Vec<(String, SoftwareSigner)>>,
    der: bool,
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

struct Hr {
    signer: SoftwareSigner,
    iss: String,
}

impl Hr {
    fn new() -> Self {
        Self {
            signer: SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng),
            iss: ISSUER.into(),
        }
    }

    /// An HR office whose issuer id is the did:key of its key.
    fn did_key() -> Self {
        let signer = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        let iss = govid_core::did::did_key_from_public_key(&signer.public_key());
        Self { signer, iss }
    }

    fn jwk(&self) -> String {
        self.signer.public_key().to_jwk().to_string()
    }

    /// Issues to the key in `proof`'s header (checked by the ffi tests in Kotlin/Python too).
    fn issue(&self, proof: &str, validity: Validity) -> String {
        self.issue_signed_by(proof, validity, &self.signer)
    }

    /// [`Hr::issue`] signed by `signer` (another key of this issuer).
    fn issue_signed_by(&self, proof: &str, validity: Validity, signer: &dyn Signer) -> String {
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
            status: None,
            decoys: Decoys::NONE,
        };
        must(issue_worker_id(&claims, &params, signer, &mut OsRng)).compact()
    }
}

fn year_from(now: u64) -> Validity {
    Validity {
        issued_at: now,
        not_before: now,
        expires_at: now + 365 * 86_400,
    }
}

fn wallet(dir: &tempfile::TempDir, keys: Arc<dyn KeyStore>, clock: u64) -> Wallet {
    must(Wallet::open_with_clock(
        dir.path().to_string_lossy().into_owned(),
        keys,
        Arc::new(FixedClock(clock)),
    ))
}

/// Verifies a presentation as a gate would, from its GV1 payload.
fn gate_verify(hr: &Hr, payload: &str, nonce: Option<String>, profile: &GateProfile) {
    let compact = must(qr::decode_payload(payload));
    let policy = gate_policy(GATE, nonce, profile);
    let trusted = PinnedKeys::single(hr.signer.public_key());
    must(verify(&compact, &policy, &trusted, NOW + 1));
}

#[test]
fn enroll_accept_present_verify() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    must(w.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    let req = must(w.enroll("CODE-1".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let cred = must(w.accept_credential(hr.issue(&req.key_proof, year_from(NOW))));
    assert_eq!(cred.given_name.as_deref(), Some("Amira"));
    assert!(cred.has_portrait);
    assert!(must(w.portrait(cred.id.clone())).is_some_and(|p| p.starts_with("data:image/")));

    let p = must(w.present_rotating(cred.id.clone(), GATE.into(), GateProfileKind::Entry));
    gate_verify(&hr, &p.payload, None, &GateProfile::Entry);
    let p = must(w.present(
        cred.id.clone(),
        GATE.into(),
        "nonce-0000000000000001".into(),
        ClaimSelection::Profile {
            profile: GateProfileKind::Counter,
        },
    ));
    gate_verify(
        &hr,
        &p.payload,
        Some("nonce-0000000000000001".into()),
        &GateProfile::Counter,
    );
}

/// Regression: `trust_issuer` dropped the JWK's `kid`, so once HR had rotated its key a wallet
/// pinning both published keys refused every credential (`unknown_issuer_key`, ambiguous).
#[test]
fn both_keys_of_a_rotated_issuer_are_told_apart_by_kid() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let keys: Vec<WithKeyId<SoftwareSigner>> = (1..=2)
        .map(|n| WithKeyId {
            signer: SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng),
            kid: format!("{ISSUER}#key-{n}"),
        })
        .collect();
    for key in &keys {
        let mut jwk = key.public_key().to_jwk();
        jwk["kid"] = key.kid.clone().into();
        must(w.trust_issuer(jwk.to_string(), Some(ISSUER.into())));
    }
    for (n, key) in keys.iter().enumerate() {
        let req = must(w.enroll(format!("CODE-{n}"), ISSUER.into(), KeyAlgorithm::Es256));
        let cred =
            must(w.accept_credential(hr.issue_signed_by(&req.key_proof, year_from(NOW), key)));
        assert_eq!(cred.issuer.as_deref(), Some(ISSUER));
    }
}

#[test]
fn der_signatures_and_ed25519_keys() {
    for (der, alg) in [(true, KeyAlgorithm::Es256), (false, KeyAlgorithm::EdDsa)] {
        let dir = must(tempfile::tempdir());
        let hr = Hr::new();
        let keys = Arc::new(MemKeys {
            der,
            ..MemKeys::default()
        });
        let w = wallet(&dir, keys, NOW);
        must(w.trust_issuer(hr.jwk(), None));
        let req = must(w.enroll("CODE-2".into(), ISSUER.into(), alg));
        let cred = must(w.accept_credential(hr.issue(&req.key_proof, year_from(NOW))));
        let p = must(w.present_rotating(cred.id, GATE.into(), GateProfileKind::Entry));
        gate_verify(&hr, &p.payload, None, &GateProfile::Entry);
    }
}

#[test]
fn expired_credentials_are_refused_and_then_not_presented() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let keys: Arc<dyn KeyStore> = Arc::new(MemKeys::default());
    let w = wallet(&dir, keys.clone(), NOW);
    must(w.trust_issuer(hr.jwk(), None));
    let req = must(w.enroll("CODE-3".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let short = Validity {
        issued_at: NOW,
        not_before: NOW,
        expires_at: NOW + 100,
    };
    let cred = must(w.accept_credential(hr.issue(&req.key_proof, short)));
    drop(w);

    let later = wallet(&dir, keys, NOW + 200);
    let listed = must(later.list_credentials());
    assert!(listed[0].expired);
    match later.present_rotating(cred.id, GATE.into(), GateProfileKind::Entry) {
        Err(WalletError::InvalidCredential { rule, .. }) => assert_eq!(rule, "expired"),
        other => panic!("{other:?}"),
    }
    let old = hr.issue(
        &req.key_proof,
        Validity {
            issued_at: NOW - 1000,
            not_before: NOW - 1000,
            expires_at: NOW - 500,
        },
    );
    match later.accept_credential(old) {
        Err(WalletError::InvalidCredential { rule, .. }) => assert_eq!(rule, "expired"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_key_store_returning_another_keys_signature_is_refused() {
    struct Liar(MemKeys);
    impl KeyStore for Liar {
        fn create_key(&self, alias: String, alg: KeyAlgorithm) -> Result<String, KeyStoreError> {
            self.0.create_key(alias, alg)
        }
        fn sign(&self, _alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
            let other = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
            Ok(must(other.sign(&message)))
        }
        fn public_jwk(&self, alias: String) -> Result<String, KeyStoreError> {
            self.0.public_jwk(alias)
        }
        fn delete_key(&self, alias: String) -> Result<(), KeyStoreError> {
            self.0.delete_key(alias)
        }
    }
    let dir = must(tempfile::tempdir());
    let w = wallet(&dir, Arc::new(Liar(MemKeys::default())), NOW);
    match w.enroll("CODE-4".into(), ISSUER.into(), KeyAlgorithm::Es256) {
        Err(WalletError::KeyStore { kind, .. }) => assert_eq!(kind, KeyStoreFailure::BadOutput),
        other => panic!("{other:?}"),
    }
}

#[test]
fn software_key_store_behind_the_wallet() {
    let dir = must(tempfile::tempdir());
    let keys_dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let soft = must(SoftwareKeyStore::open(
        keys_dir.path().to_string_lossy().into_owned(),
        "pw".into(),
    ));
    let w = wallet(&dir, soft.clone().as_key_store(), NOW);
    must(w.trust_issuer(hr.jwk(), None));
    let req = must(w.enroll("CODE-5".into(), ISSUER.into(), KeyAlgorithm::EdDsa));
    let cred = must(w.accept_credential(hr.issue(&req.key_proof, year_from(NOW))));
    let p = must(w.present_rotating(cred.id.clone(), GATE.into(), GateProfileKind::Entry));
    gate_verify(&hr, &p.payload, None, &GateProfile::Entry);
    assert_eq!(must(soft.aliases()), vec![req.key_alias]);
    assert!(must(w.delete_credential(cred.id)));
    assert!(must(soft.aliases()).is_empty());
}

#[test]
fn the_clock_is_the_systems_by_default() {
    let dir = must(tempfile::tempdir());
    let w = must(Wallet::open(
        dir.path().to_string_lossy().into_owned(),
        Arc::new(MemKeys::default()),
    ));
    let req = must(w.enroll("CODE-6".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let payload = req.key_proof.split('.').nth(1).map(govid_core::b64::decode);
    let payload: serde_json::Value = must(serde_json::from_slice(
        &payload.flatten().unwrap_or_default(),
    ));
    assert!(payload["iat"]
        .as_u64()
        .is_some_and(|iat| iat > 1_700_000_000));
}

#[test]
fn did_key_issuers_are_trusted_by_did() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::did_key();
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let req = must(w.enroll("CODE-7".into(), hr.iss.clone(), KeyAlgorithm::Es256));
    let issued = hr.issue(&req.key_proof, year_from(NOW));
    match w.accept_credential(issued.clone()) {
        Err(WalletError::InvalidCredential { rule, .. }) => assert_eq!(rule, "untrusted_issuer"),
        other => panic!("{other:?}"),
    }
    let trusted = must(w.trust_issuer_did(hr.iss.clone()));
    assert_eq!(trusted.issuer.as_deref(), Some(hr.iss.as_str()));
    assert_eq!(
        must(w.accept_credential(issued)).issuer.as_deref(),
        Some(hr.iss.as_str())
    );
    assert!(matches!(
        w.trust_issuer_did("did:web:hr.example".into()),
        Err(WalletError::InvalidInput { .. })
    ));
    // A did:key pin is for that `iss` only.
    let other = Hr::new();
    let req = must(w.enroll("CODE-8".into(), ISSUER.into(), KeyAlgorithm::Es256));
    assert!(w
        .accept_credential(other.issue(&req.key_proof, year_from(NOW)))
        .is_err());
}

//! The wallet API from Rust (the same calls the bindings make), with a fixed clock.

mod common;

use std::sync::Arc;

use common::*;

use govid_core::credential::{gate_policy, GateProfile, Validity, GATE_PASS_VCT, WORKER_ID_VCT};
use govid_core::jose::{Algorithm, PublicKey, Signer, SoftwareSigner, WithKeyId};
use govid_core::qr;
use govid_core::sdjwt::verify;
use govid_core::trust::PinnedKeys;
use govid_ffi::{
    ClaimSelection, CredentialKind, CredentialStatus, GateProfileKind, KeyAlgorithm, KeyStore,
    KeyStoreError, KeyStoreFailure, Presentation, SoftwareKeyStore, Wallet, WalletError,
};
use rand_core::OsRng;

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

/// Regression: the wallet's credential id hashed the whole issuer JWT, signature included, so a
/// copy of a credential with its ES256 signature's twin (r, n − s) was stored as a second one.
#[test]
fn a_credential_with_a_malleated_issuer_signature_is_the_same_credential() {
    let dir = must(tempfile::tempdir());
    let hr = Hr {
        signer: SoftwareSigner::generate(Algorithm::ES256, &mut OsRng),
        iss: ISSUER.into(),
    };
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    must(w.trust_issuer(hr.jwk(), None));
    let req = must(w.enroll("CODE-3".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let issued = hr.issue(&req.key_proof, year_from(NOW));
    let (jwt, rest) = must(issued.split_once('~').ok_or("no ~"));
    let (head, sig) = must(jwt.rsplit_once('.').ok_or("no ."));
    let sig = must(p256::ecdsa::Signature::from_slice(&must(
        govid_core::b64::decode(sig).ok_or("b64"),
    )));
    let (r, s) = sig.split_scalars();
    let twin = must(p256::ecdsa::Signature::from_scalars(r, -*s));
    let twin_issued = format!("{head}.{}~{rest}", govid_core::b64::encode(twin.to_bytes()));
    assert_ne!(twin_issued, issued);
    let first = must(w.accept_credential(issued));
    let second = must(w.accept_credential(twin_issued));
    assert_eq!(first.id, second.id);
    assert_eq!(must(w.list_credentials()).len(), 1);
}

/// A wallet database of schema version 1 (ids over the whole issuer JWT) opens with its ids
/// recomputed, and its credentials are still listed and presented.
#[test]
fn a_version_1_wallet_database_is_migrated_to_the_new_ids() {
    use sha2::{Digest as _, Sha256};
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let keys: Arc<MemKeys> = Arc::new(MemKeys::default());
    let new_id = {
        let w = wallet(&dir, keys.clone(), NOW);
        must(w.trust_issuer(hr.jwk(), None));
        let req = must(w.enroll("CODE-4".into(), ISSUER.into(), KeyAlgorithm::EdDsa));
        must(w.accept_credential(hr.issue(&req.key_proof, year_from(NOW)))).id
    };
    // Rewrite it as version 1 wrote it.
    let db = dir.path().join("wallet.sqlite3");
    let conn = must(rusqlite::Connection::open(&db));
    let issued: String = must(conn.query_row("SELECT issued FROM credentials", [], |r| r.get(0)));
    let jwt = must(issued.split('~').next().ok_or("empty"));
    let old_id = govid_core::b64::encode(&Sha256::digest(jwt.as_bytes())[..16]);
    assert_ne!(old_id, new_id);
    must(conn.execute("UPDATE credentials SET id = ?1", [&old_id]));
    must(conn.execute_batch("PRAGMA user_version = 1;"));
    drop(conn);

    let w = wallet(&dir, keys, NOW);
    let listed = must(w.list_credentials());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, new_id);
    let p = must(w.present_rotating(new_id, GATE.into(), GateProfileKind::Entry));
    gate_verify(&hr, &p.payload, None, &GateProfile::Entry);
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

/// A wallet holding Amira's worker ID and gate pass (same key, same status entry): the wallet,
/// the worker ID's id and the gate pass's id.
fn with_id_and_pass(dir: &tempfile::TempDir, hr: &Hr, now: u64) -> (Wallet, String, String) {
    let w = wallet(dir, Arc::new(MemKeys::default()), now);
    must(w.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    let req = must(w.enroll("CODE-G".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let year = year_from(NOW);
    let entry = status_entry(STATUS_IDX);
    let id = hr.issue_kind(
        &req.key_proof,
        year,
        CredentialKind::WorkerId,
        entry.clone(),
    );
    let pass = hr.issue_kind(&req.key_proof, year, CredentialKind::GatePass, entry);
    let id = must(w.accept_credential(id));
    let pass = must(w.accept_credential(pass));
    assert_eq!(id.kind, CredentialKind::WorkerId);
    assert_eq!(pass.kind, CredentialKind::GatePass);
    (w, id.id, pass.id)
}

/// The `vct` a presentation shows the gate.
fn presented_vct(hr: &Hr, p: &Presentation) -> String {
    let compact = must(qr::decode_payload(&p.payload));
    let policy = gate_policy(
        GATE,
        Some(p.nonce.clone()),
        &GateProfile::Custom(Vec::new()),
    );
    let trusted = PinnedKeys::single(hr.signer.public_key());
    let verified = must(verify(&compact, &policy, &trusted, NOW + 1));
    verified.payload["vct"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn qr_version(p: &Presentation) -> u8 {
    must(qr::render(&p.payload, qr::Ecc::M)).version()
}

#[test]
fn gate_passes_are_accepted_listed_and_kept_apart_from_worker_ids() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let (w, id, pass) = with_id_and_pass(&dir, &hr, NOW);
    // Both received at the same second: listed in the order accepted.
    let listed = must(w.list_credentials());
    let kinds: Vec<_> = listed.iter().map(|c| (c.id.clone(), c.kind)).collect();
    let expected = [
        (id.clone(), CredentialKind::WorkerId),
        (pass.clone(), CredentialKind::GatePass),
    ];
    assert_eq!(kinds, expected);
    let pass = must(w.credential(pass));
    assert_eq!(pass.given_name.as_deref(), Some("Amira"));
    assert_eq!(pass.organization_code.as_deref(), Some("MOT"));
    assert_eq!(pass.access_zones, vec!["HQ-A".to_owned()]);
    assert_eq!((pass.position, pass.employee_number), (None, None));
    assert!(!pass.has_portrait && pass.has_status_list);
    assert_eq!(pass.status_list_uri.as_deref(), Some(STATUS_URI));
    // Accepting it again is idempotent; from a file too.
    let file = dir.path().join("pass.sd-jwt");
    let req = must(w.enroll("CODE-G2".into(), ISSUER.into(), KeyAlgorithm::EdDsa));
    let issued = hr.issue_kind(
        &req.key_proof,
        year_from(NOW),
        CredentialKind::GatePass,
        None,
    );
    must(std::fs::write(&file, &issued));
    let from_file = must(w.accept_credential_file(file.to_string_lossy().into_owned()));
    assert_eq!(from_file.kind, CredentialKind::GatePass);
    assert_eq!(from_file.key_algorithm, KeyAlgorithm::EdDsa);
    assert_eq!(must(w.accept_credential(issued)), from_file);
    assert_eq!(must(w.list_credentials()).len(), 3);
}

#[test]
fn credentials_accepted_in_the_same_second_are_listed_in_arrival_order() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    must(w.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    // Ids are digests: listing by id would match the arrival order of six once in 720 runs.
    let issued: Vec<String> = (0..6)
        .map(|i| {
            let req = must(w.enroll(format!("CODE-A{i}"), ISSUER.into(), KeyAlgorithm::EdDsa));
            hr.issue_kind(
                &req.key_proof,
                year_from(NOW),
                CredentialKind::WorkerId,
                None,
            )
        })
        .collect();
    let accepted: Vec<String> = issued
        .iter()
        .map(|text| must(w.accept_credential(text.clone())).id)
        .collect();
    let listed = || -> Vec<String> {
        must(w.list_credentials())
            .into_iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(listed(), accepted);
    // Accepting the first again keeps its place.
    assert_eq!(must(w.accept_credential(issued[0].clone())).id, accepted[0]);
    assert_eq!(listed(), accepted);
}

#[test]
fn gate_passes_get_the_worker_ids_checks() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let req = must(w.enroll("CODE-C".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let pass =
        |hr: &Hr, validity| hr.issue_kind(&req.key_proof, validity, CredentialKind::GatePass, None);
    let rule_of = |r: Result<_, WalletError>| match r {
        Err(WalletError::InvalidCredential { rule, .. }) => rule,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        rule_of(w.accept_credential(pass(&hr, year_from(NOW)))),
        "untrusted_issuer"
    );
    must(w.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    let issued = pass(&hr, year_from(NOW));
    let (jwt, rest) = issued.split_once('~').unwrap_or_default();
    let bad_sig = format!("{}AAAA~{rest}", &jwt[..jwt.len() - 4]);
    assert_eq!(rule_of(w.accept_credential(bad_sig)), "bad_signature");
    let old = Validity {
        issued_at: NOW - 1000,
        not_before: NOW - 1000,
        expires_at: NOW - 500,
    };
    assert_eq!(rule_of(w.accept_credential(pass(&hr, old))), "expired");
    // Bound to a key of another wallet.
    let other = must(tempfile::tempdir());
    let other = wallet(&other, Arc::new(MemKeys::default()), NOW);
    let req = must(other.enroll("CODE-O".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let foreign = hr.issue_kind(
        &req.key_proof,
        year_from(NOW),
        CredentialKind::GatePass,
        None,
    );
    assert_eq!(rule_of(w.accept_credential(foreign)), "holder_key_not_held");
    assert!(must(w.list_credentials()).is_empty());
}

#[test]
fn other_vcts_are_refused_with_not_worker_id() {
    use govid_core::sdjwt::{issue, ClaimNode, IssueOptions, SD_JWT_VC_TYP};
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    must(w.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    let req = must(w.enroll("CODE-V".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let jws = must(govid_core::jose::CompactJws::parse(&req.key_proof, 16));
    let holder = must(PublicKey::from_jwk(&jws.header.raw["jwk"]));
    let make = |vct: &str| {
        let tree = ClaimNode::object()
            .plain("iss", ISSUER)
            .plain("iat", NOW)
            .plain("exp", NOW + 86_400)
            .plain("vct", vct)
            .plain("cnf", serde_json::json!({ "jwk": holder.to_jwk() }))
            .sd("given_name", "Amira");
        let options = IssueOptions {
            typ: Some(SD_JWT_VC_TYP.to_owned()),
            ..IssueOptions::default()
        };
        must(issue(&tree, &options, &hr.signer, &mut OsRng)).compact()
    };
    for vct in [
        "https://govid.example/vct/visitor-badge/v1",
        "https://govid.example/vct/worker-gate-pass/v2",
        "",
    ] {
        match w.accept_credential(make(vct)) {
            Err(WalletError::InvalidCredential { rule, reason }) => {
                assert_eq!(rule, "not_worker_id", "{vct}");
                assert!(reason.contains("gate pass"), "{reason}");
            }
            other => panic!("{vct}: {other:?}"),
        }
    }
    assert!(must(w.list_credentials()).is_empty());
    // The same credential with a govid vct is accepted: only the vct was wrong.
    for (vct, kind) in [
        (WORKER_ID_VCT, CredentialKind::WorkerId),
        (GATE_PASS_VCT, CredentialKind::GatePass),
    ] {
        assert_eq!(must(w.accept_credential(make(vct))).kind, kind);
    }
}

#[test]
fn entry_presentations_use_the_gate_pass_and_fit_a_smaller_qr_code() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let (w, id, pass) = with_id_and_pass(&dir, &hr, NOW);
    let entry = ClaimSelection::Profile {
        profile: GateProfileKind::Entry,
    };

    // Rotating, from the worker ID's id: the gate pass is shown and verifies at the gate.
    let best = must(w.present_rotating_best(id.clone(), GATE.into(), GateProfileKind::Entry));
    assert_eq!(
        (best.credential_id.as_str(), best.kind),
        (pass.as_str(), CredentialKind::GatePass)
    );
    assert_eq!(best.refresh_after_seconds, Some(20));
    gate_verify(&hr, &best.payload, None, &GateProfile::Entry);
    assert_eq!(presented_vct(&hr, &best), GATE_PASS_VCT);
    // Presenting by id is unchanged: the worker ID, in a larger QR code.
    let by_id = must(w.present_rotating(id.clone(), GATE.into(), GateProfileKind::Entry));
    assert_eq!(
        (by_id.credential_id.as_str(), by_id.kind),
        (id.as_str(), CredentialKind::WorkerId)
    );
    assert_eq!(presented_vct(&hr, &by_id), WORKER_ID_VCT);
    assert!(
        qr_version(&best) < qr_version(&by_id),
        "gate pass QR v{} vs worker ID v{}",
        qr_version(&best),
        qr_version(&by_id)
    );
    assert!(best.payload.len() < by_id.payload.len());

    // With a nonce; and the app can ask which credential it will be without signing.
    assert_eq!(must(w.best_credential(id.clone(), entry.clone())).id, pass);
    let nonce = "nonce-0000000000000002".to_owned();
    let p = must(w.present_best(id.clone(), GATE.into(), nonce.clone(), entry));
    assert_eq!(p.kind, CredentialKind::GatePass);
    gate_verify(&hr, &p.payload, Some(nonce.clone()), &GateProfile::Entry);

    // A counter needs position and employee number: the worker ID, from either id.
    let counter = ClaimSelection::Profile {
        profile: GateProfileKind::Counter,
    };
    for anchor in [&id, &pass] {
        let p = must(w.present_best(anchor.clone(), GATE.into(), nonce.clone(), counter.clone()));
        assert_eq!(
            (p.credential_id.as_str(), p.kind),
            (id.as_str(), CredentialKind::WorkerId)
        );
        gate_verify(&hr, &p.payload, Some(nonce.clone()), &GateProfile::Counter);
    }
    // Presenting the pass by id for a counter fails as before: it has no position.
    match w.present(pass.clone(), GATE.into(), nonce, counter) {
        Err(WalletError::MissingClaim { path }) => assert_eq!(path, "position"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn challenges_are_answered_from_the_gate_pass_when_it_has_the_claims() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let (w, id, pass) = with_id_and_pass(&dir, &hr, NOW);
    let challenge = |claims: &[&str]| {
        must(qr::encode_challenge(&qr::GateChallenge {
            aud: GATE.into(),
            nonce: "challenge-nonce-0000001".into(),
            claims: claims.iter().map(|c| (*c).to_owned()).collect(),
            exp: NOW + 120,
            v: qr::challenge::CHALLENGE_VERSION,
        }))
    };
    let entry = challenge(&[
        "given_name",
        "family_name",
        "organization/name",
        "organization/code",
    ]);
    let p = must(w.present_for_challenge_best(id.clone(), entry.clone()));
    assert_eq!(
        (p.credential_id.as_str(), p.kind),
        (pass.as_str(), CredentialKind::GatePass)
    );
    assert_eq!(p.nonce, "challenge-nonce-0000001");
    gate_verify(&hr, &p.payload, Some(p.nonce.clone()), &GateProfile::Entry);
    let by_id = must(w.present_for_challenge(id.clone(), entry));
    assert_eq!(by_id.kind, CredentialKind::WorkerId);

    let zones = challenge(&["family_name", "access_zones/*"]);
    assert_eq!(
        must(w.present_for_challenge_best(id.clone(), zones)).kind,
        CredentialKind::GatePass
    );
    let position = challenge(&["given_name", "position"]);
    let p = must(w.present_for_challenge_best(pass, position));
    assert_eq!(
        (p.credential_id.as_str(), p.kind),
        (id.as_str(), CredentialKind::WorkerId)
    );
}

#[test]
fn the_worker_id_is_shown_when_the_gate_pass_is_expired_revoked_or_anothers() {
    let hr = Hr::new();
    let entry = ClaimSelection::Profile {
        profile: GateProfileKind::Entry,
    };

    // Expired pass: the worker ID, valid longer, is shown.
    let dir = must(tempfile::tempdir());
    let keys: Arc<dyn KeyStore> = Arc::new(MemKeys::default());
    let w = wallet(&dir, keys.clone(), NOW);
    must(w.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    let req = must(w.enroll("CODE-E".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let short = Validity {
        issued_at: NOW,
        not_before: NOW,
        expires_at: NOW + 100,
    };
    let entry_ref = status_entry(STATUS_IDX);
    let id = must(w.accept_credential(hr.issue_kind(
        &req.key_proof,
        year_from(NOW),
        CredentialKind::WorkerId,
        entry_ref.clone(),
    )));
    let pass = must(w.accept_credential(hr.issue_kind(
        &req.key_proof,
        short,
        CredentialKind::GatePass,
        entry_ref.clone(),
    )));
    assert_eq!(
        must(w.best_credential(id.id.clone(), entry.clone())).id,
        pass.id
    );
    drop(w);
    let later = wallet(&dir, keys, NOW + 200);
    let p = must(later.present_rotating_best(pass.id.clone(), GATE.into(), GateProfileKind::Entry));
    assert_eq!(
        (p.credential_id, p.kind),
        (id.id.clone(), CredentialKind::WorkerId)
    );

    // Revoked: refreshing the worker ID's status records it for the pass (same entry) too.
    let dir = must(tempfile::tempdir());
    let (w, id, pass) = with_id_and_pass(&dir, &hr, NOW);
    let valid = must(w.refresh_status(pass.clone(), hr.status_token(0)));
    assert_eq!(
        (valid.kind, valid.status),
        (CredentialKind::GatePass, CredentialStatus::Valid)
    );
    assert_eq!(
        must(w.credential(id.clone())).status,
        CredentialStatus::Valid
    );
    assert_eq!(must(w.best_credential(id.clone(), entry.clone())).id, pass);
    let revoked = must(w.refresh_status(id.clone(), hr.status_token(1)));
    assert_eq!(revoked.status, CredentialStatus::Revoked);
    let pass_now = must(w.credential(pass.clone()));
    assert_eq!(pass_now.status, CredentialStatus::Revoked);
    assert!(pass_now.status_checked_at.is_some());
    // The revoked worker ID is still presented (the gate decides), not the revoked pass.
    let p = must(w.present_rotating_best(id.clone(), GATE.into(), GateProfileKind::Entry));
    assert_eq!(p.credential_id, id);
    // Valid again: the pass is back.
    must(w.refresh_status(pass.clone(), hr.status_token(0)));
    assert_eq!(must(w.best_credential(id.clone(), entry.clone())).id, pass);

    // A pass for another status entry (another issuance), or from another issuer, is not used.
    let dir = must(tempfile::tempdir());
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let other_hr = Hr::did_key();
    must(w.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    must(w.trust_issuer_did(other_hr.iss.clone()));
    let req = must(w.enroll("CODE-X".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let year = year_from(NOW);
    let id = must(w.accept_credential(hr.issue_kind(
        &req.key_proof,
        year,
        CredentialKind::WorkerId,
        entry_ref,
    )));
    let other_entry = must(w.accept_credential(hr.issue_kind(
        &req.key_proof,
        year,
        CredentialKind::GatePass,
        status_entry(STATUS_IDX + 1),
    )));
    assert_eq!(
        must(w.best_credential(id.id.clone(), entry.clone())).id,
        id.id
    );
    assert!(must(w.delete_credential(other_entry.id)));
    must(w.accept_credential(other_hr.issue_kind(
        &req.key_proof,
        year,
        CredentialKind::GatePass,
        status_entry(STATUS_IDX),
    )));
    assert_eq!(
        must(w.best_credential(id.id.clone(), entry.clone())).id,
        id.id
    );
    // The control: HR's own pass for the same entry is used.
    let own = must(w.accept_credential(hr.issue_kind(
        &req.key_proof,
        year,
        CredentialKind::GatePass,
        status_entry(STATUS_IDX),
    )));
    assert_eq!(must(w.best_credential(id.id.clone(), entry)).id, own.id);
    match w.best_credential(
        "no-such-id".into(),
        ClaimSelection::Claims {
            paths: vec!["given_name".into()],
        },
    ) {
        Err(WalletError::NotFound { id }) => assert_eq!(id, "no-such-id"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fractional_time_claims_count_by_their_whole_seconds() {
    use govid_core::sdjwt::{issue, ClaimNode, IssueOptions, SD_JWT_VC_TYP};
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let keys: Arc<dyn KeyStore> = Arc::new(MemKeys::default());
    let w = wallet(&dir, keys.clone(), NOW);
    must(w.trust_issuer(hr.jwk(), Some(ISSUER.into())));
    let req = must(w.enroll("CODE-F".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let jws = must(govid_core::jose::CompactJws::parse(&req.key_proof, 16));
    let holder = must(PublicKey::from_jwk(&jws.header.raw["jwk"]));
    // As an ssi-based issuer writes them: microseconds.
    let make = |vct: &str| {
        let tree = ClaimNode::object()
            .plain("iss", ISSUER)
            .plain("iat", serde_json::json!(NOW as f64 - 0.654_321))
            .plain("nbf", serde_json::json!(NOW as f64 - 0.654_321))
            .plain("exp", serde_json::json!((NOW + 100) as f64 + 0.5))
            .plain("vct", vct)
            .plain("cnf", serde_json::json!({ "jwk": holder.to_jwk() }))
            .sd("given_name", "Amira");
        let options = IssueOptions {
            typ: Some(SD_JWT_VC_TYP.to_owned()),
            ..IssueOptions::default()
        };
        must(issue(&tree, &options, &hr.signer, &mut OsRng)).compact()
    };
    let id = must(w.accept_credential(make(WORKER_ID_VCT)));
    assert_eq!(id.issued_at, Some(NOW - 1));
    assert_eq!(id.valid_from, Some(NOW - 1));
    assert_eq!(id.expires_at, Some(NOW + 100));
    let pass = must(w.accept_credential(make(GATE_PASS_VCT)));
    let given_name = || ClaimSelection::Claims {
        paths: vec!["given_name".into()],
    };
    // The gate pass is usable now, so it is the one chosen.
    let best = must(w.best_credential(id.id.clone(), given_name()));
    assert_eq!(best.id, pass.id);
    drop(w);

    // At the whole second of `exp` the credential has expired and is not presented.
    let later = wallet(&dir, keys, NOW + 100);
    assert!(must(later.credential(id.id.clone())).expired);
    match later.present(id.id, GATE.into(), "n-1".into(), given_name()) {
        Err(WalletError::InvalidCredential { rule, .. }) => assert_eq!(rule, "expired"),
        other => panic!("{other:?}"),
    }
}

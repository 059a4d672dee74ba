//! Trusting issuers from what HR publishes (its JWK Set and its did:web DID document), and the
//! refusal that names the issuer a credential claims when no trusted key fits.

mod common;

use std::sync::Arc;

use common::{must, wallet, year_from, Hr, MemKeys, ISSUER, NOW};
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner, WithKeyId};
use govid_ffi::{KeyAlgorithm, TrustedIssuer, Wallet, WalletError};
use rand_core::OsRng;
use serde_json::{json, Value};

/// One of HR's signing keys, signing with its DID URL `kid` as `govid-issuer` does.
fn hr_key(n: u32) -> WithKeyId<SoftwareSigner> {
    WithKeyId {
        signer: SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng),
        kid: format!("{ISSUER}#key-{n}"),
    }
}

/// The JWK Set as `govid-issuer publish` writes `jwks.json`: `kid`, `alg` and `use` on each key.
fn published_jwks(keys: &[&WithKeyId<SoftwareSigner>]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| {
            let mut jwk = k.public_key().to_jwk();
            jwk["kid"] = k.kid.clone().into();
            jwk["alg"] = "EdDSA".into();
            jwk["use"] = "sig".into();
            jwk
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "keys": keys })).unwrap_or_default()
}

/// The DID document as `govid-issuer publish` writes `.well-known/did.json`.
fn published_did_document(did: &str, keys: &[&WithKeyId<SoftwareSigner>]) -> String {
    let fragments: Vec<(&str, _)> = keys
        .iter()
        .map(|k| {
            let fragment = k.kid.rsplit_once('#').map_or(k.kid.as_str(), |(_, f)| f);
            (fragment, k.public_key())
        })
        .collect();
    must(govid_core::did::did_web_document(did, &fragments)).to_string()
}

/// A worker ID for a fresh holder key of `w`, signed by `key`.
fn issued_by(w: &Wallet, hr: &Hr, key: &WithKeyId<SoftwareSigner>, code: &str) -> String {
    let req = must(w.enroll(code.into(), ISSUER.into(), KeyAlgorithm::Es256));
    hr.issue_signed_by(&req.key_proof, year_from(NOW), key)
}

fn refused_input(r: Result<Vec<TrustedIssuer>, WalletError>) -> String {
    match r {
        Err(WalletError::InvalidInput { reason }) => reason,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn refused_credential(r: Result<govid_ffi::CredentialSummary, WalletError>) -> (String, String) {
    match r {
        Err(WalletError::InvalidCredential { rule, reason }) => (rule, reason),
        other => panic!("expected InvalidCredential, got {other:?}"),
    }
}

#[test]
fn hrs_published_jwks_pins_every_key_with_its_kid() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let (k1, k2) = (hr_key(1), hr_key(2));
    let pinned = must(w.trust_issuer_jwks(published_jwks(&[&k1, &k2]), ISSUER.into()));
    let kids: Vec<_> = pinned.iter().map(|t| t.kid.clone()).collect();
    assert_eq!(
        kids,
        vec![
            Some(format!("{ISSUER}#key-1")),
            Some(format!("{ISSUER}#key-2"))
        ]
    );
    assert!(pinned.iter().all(|t| t.issuer.as_deref() == Some(ISSUER)));
    assert_eq!(must(w.trusted_issuers()), pinned);
    for (n, key) in [&k1, &k2].into_iter().enumerate() {
        let cred = must(w.accept_credential(issued_by(&w, &hr, key, &format!("CODE-{n}"))));
        assert_eq!(cred.issuer.as_deref(), Some(ISSUER));
    }

    // Fetched again after HR withdrew key-1: only key-2 is trusted.
    let old = issued_by(&w, &hr, &k1, "CODE-OLD");
    let pinned = must(w.trust_issuer_jwks(published_jwks(&[&k2]), ISSUER.into()));
    assert_eq!(pinned.len(), 1);
    assert_eq!(must(w.trusted_issuers()), pinned);
    let (rule, reason) = refused_credential(w.accept_credential(old));
    assert_eq!(rule, "unknown_issuer_key");
    assert_eq!(
        reason,
        format!(
            "issuer: issuer has no key with this `kid`: the credential has `iss` \"{ISSUER}\" and \
             `kid` \"{ISSUER}#key-1\"; trust the keys this issuer publishes (its JWK Set or DID \
             document) first"
        )
    );
}

#[test]
fn a_jwks_with_no_usable_key_is_refused_and_nothing_is_pinned() {
    let dir = must(tempfile::tempdir());
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let k1 = hr_key(1);
    let trust = |text: String| w.trust_issuer_jwks(text, ISSUER.into());
    assert_eq!(
        refused_input(trust(r#"{"keys": []}"#.into())),
        "issuer JWK Set: the JWK Set's `keys` is not a non-empty array"
    );
    assert_eq!(
        refused_input(trust("<html>not found</html>".into())),
        "issuer JWK Set: not a JSON object"
    );
    let p384 = json!({"keys": [{"kty": "EC", "crv": "P-384", "x": "AQAB", "y": "AQAB"}]});
    assert_eq!(
        refused_input(trust(p384.to_string())),
        "issuer JWK Set: key 0: unsupported JWK key type or curve (govid supports OKP/Ed25519 \
         and EC/P-256)"
    );
    let mut private = k1.public_key().to_jwk();
    private["d"] = "AAAA".into();
    let mixed = json!({"keys": [k1.public_key().to_jwk(), private]});
    assert_eq!(
        refused_input(trust(mixed.to_string())),
        "issuer JWK Set: key 1: JWK contains private key material where a public key is expected"
    );
    let mut elsewhere = k1.public_key().to_jwk();
    elsewhere["iss"] = "did:web:other.example".into();
    assert_eq!(
        refused_input(trust(json!({"keys": [elsewhere]}).to_string())),
        "issuer JWK Set: key 0: its `iss` is not the issuer the file is pinned for"
    );
    assert_eq!(
        refused_input(w.trust_issuer_jwks(published_jwks(&[&k1]), " ".into())),
        "the issuer (`iss`) the JWK Set is trusted for is empty"
    );
    assert!(must(w.trusted_issuers()).is_empty());
}

#[test]
fn a_did_web_issuer_is_trusted_from_its_did_document() {
    let dir = must(tempfile::tempdir());
    let hr = Hr::new();
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let (k1, k2) = (hr_key(1), hr_key(2));
    let unsigned = issued_by(&w, &hr, &k2, "CODE-1");
    let (rule, reason) = refused_credential(w.accept_credential(unsigned.clone()));
    assert_eq!(rule, "untrusted_issuer");
    assert_eq!(
        reason,
        format!(
            "issuer: issuer is not trusted: the credential has `iss` \"{ISSUER}\" and `kid` \
             \"{ISSUER}#key-2\"; trust the keys this issuer publishes (its JWK Set or DID \
             document) first"
        )
    );

    let document = published_did_document(ISSUER, &[&k1, &k2]);
    let pinned = must(w.trust_issuer_did_document(ISSUER.into(), document));
    let kids: Vec<_> = pinned.iter().map(|t| t.kid.clone()).collect();
    assert_eq!(
        kids,
        vec![
            Some(format!("{ISSUER}#key-1")),
            Some(format!("{ISSUER}#key-2"))
        ]
    );
    let cred = must(w.accept_credential(unsigned));
    assert_eq!(cred.issuer.as_deref(), Some(ISSUER));
    // A pin for this DID only.
    let other = Hr {
        signer: SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng),
        iss: "did:web:other.example".into(),
    };
    let req = must(w.enroll("CODE-2".into(), ISSUER.into(), KeyAlgorithm::Es256));
    let (rule, reason) = refused_credential(w.accept_credential(other.issue_signed_by(
        &req.key_proof,
        year_from(NOW),
        &k1,
    )));
    assert_eq!(rule, "untrusted_issuer");
    assert!(
        reason.contains("`iss` \"did:web:other.example\""),
        "{reason}"
    );
}

#[test]
fn did_documents_are_refused_with_the_reason() {
    let dir = must(tempfile::tempdir());
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let k1 = hr_key(1);
    let trust = |did: &str, doc: String| w.trust_issuer_did_document(did.into(), doc);

    let anothers = published_did_document("did:web:other.example", &[&k1]);
    assert_eq!(
        refused_input(trust(ISSUER, anothers)),
        format!("the DID document's `id` is not {ISSUER}: it is another issuer's document")
    );
    let no_assertion = json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": ISSUER,
        "verificationMethod": [{
            "id": format!("{ISSUER}#key-1"), "type": "JsonWebKey2020", "controller": ISSUER,
            "publicKeyJwk": k1.public_key().to_jwk(),
        }],
        "authentication": [format!("{ISSUER}#key-1")],
    });
    assert_eq!(
        refused_input(trust(ISSUER, no_assertion.to_string())),
        format!(
            "the DID document of {ISSUER} has no usable assertion method (an Ed25519 or P-256 \
             key listed under `assertionMethod`)"
        )
    );
    let mut wrong_controller = no_assertion.clone();
    wrong_controller["verificationMethod"][0]["controller"] = "did:web:other.example".into();
    wrong_controller["assertionMethod"] = json!([format!("{ISSUER}#key-1")]);
    assert_eq!(
        refused_input(trust(ISSUER, wrong_controller.to_string())),
        format!(
            "the DID document of {ISSUER}: DID document: verification method `controller` is \
             not the document's DID"
        )
    );
    let did_key = govid_core::did::did_key_from_public_key(&k1.public_key());
    assert_eq!(
        refused_input(trust(&did_key, published_did_document(ISSUER, &[&k1]))),
        "issuer DID: only did:web issuers are trusted from a DID document; trust a did:key or \
         did:jwk issuer with trust_issuer_did"
    );
    assert!(refused_input(trust(ISSUER, "{".into()))
        .starts_with(&format!("the DID document of {ISSUER}: DID document: ")));
    assert!(must(w.trusted_issuers()).is_empty());
}

/// HR's transparency log as `govid-issuer publish` keeps it, with one witness: the DID document
/// entry's proof, cosigned.
struct Log {
    policy: govid_ffi::IssuerLogPolicy,
    log: govid_core::tlog::LogSigner,
    witness: govid_core::tlog::WitnessSigner,
}

impl Log {
    fn new() -> Self {
        let log = must(govid_core::tlog::LogSigner::from_seed(
            "hr.mot.example/log",
            &[5; 32],
        ));
        let witness = must(govid_core::tlog::WitnessSigner::from_seed(
            "audit.example/w",
            &[6; 32],
        ));
        Log {
            policy: govid_ffi::IssuerLogPolicy {
                log_key: log.verifier_key(),
                witness_keys: vec![witness.verifier_key()],
                min_cosignatures: 1,
            },
            log,
            witness,
        }
    }

    /// A log holding a key entry and `document`'s entry; the proof of the latter, cosigned or not.
    fn proof_for(&self, did: &str, document: &str, cosigned: bool) -> String {
        use govid_core::tlog::{Entry, MemoryTree, TlogProof};
        use sha2::Digest as _;
        let entries = [
            must(
                Entry::TrustBundle {
                    seq: 1,
                    sha256: [1; 32],
                }
                .to_bytes(),
            ),
            must(
                Entry::DidDocument {
                    did: did.to_owned(),
                    sha256: sha2::Sha256::digest(document.as_bytes()).into(),
                }
                .to_bytes(),
            ),
        ];
        let tree = MemoryTree::from_entries(entries.iter().map(Vec::as_slice));
        let mut note = must(self.log.sign_checkpoint(tree.size(), tree.root()));
        if cosigned {
            let (text, _) = must(govid_core::tlog::split_note(&note));
            let line = must(self.witness.cosign(&text, NOW));
            note = must(govid_core::tlog::add_signature_lines(
                &note,
                line.as_bytes(),
            ));
        }
        TlogProof {
            extra: None,
            index: 1,
            hashes: tree.inclusion_proof(tree.size(), 1).unwrap_or_default(),
            checkpoint: note,
        }
        .to_text()
    }
}

fn not_in_log(r: Result<Vec<TrustedIssuer>, WalletError>) -> String {
    match r {
        Err(WalletError::NotInIssuerLog { issuer, reason }) => {
            assert_eq!(issuer, ISSUER);
            reason
        }
        other => panic!("expected NotInIssuerLog, got {other:?}"),
    }
}

#[test]
fn a_did_document_is_trusted_with_its_log_proof_and_refused_as_a_split_view() {
    let dir = must(tempfile::tempdir());
    let w = wallet(&dir, Arc::new(MemKeys::default()), NOW);
    let key = hr_key(1);
    let document = published_did_document(ISSUER, &[&key]);
    let log = Log::new();
    let proof = log.proof_for(ISSUER, &document, true);
    let trusted = must(w.trust_issuer_did_document_logged(
        ISSUER.into(),
        document.clone(),
        proof.clone(),
        log.policy.clone(),
    ));
    assert_eq!(trusted.len(), 1);

    // A split view: another document (another key) shown to this phone, with the public proof.
    let dir2 = must(tempfile::tempdir());
    let w2 = wallet(&dir2, Arc::new(MemKeys::default()), NOW);
    let other = published_did_document(ISSUER, &[&hr_key(2)]);
    let reason = not_in_log(w2.trust_issuer_did_document_logged(
        ISSUER.into(),
        other,
        proof.clone(),
        log.policy.clone(),
    ));
    assert!(reason.contains("does not match the entry"), "{reason}");
    assert!(must(w2.trusted_issuers()).is_empty(), "nothing trusted");

    // Without the witness's cosignature; a checkpoint by another log key; no proof at all.
    let reason = not_in_log(w2.trust_issuer_did_document_logged(
        ISSUER.into(),
        document.clone(),
        log.proof_for(ISSUER, &document, false),
        log.policy.clone(),
    ));
    assert!(reason.contains("cosigned by 0"), "{reason}");
    let impostor = Log {
        log: must(govid_core::tlog::LogSigner::from_seed(
            "hr.mot.example/log",
            &[9; 32],
        )),
        ..Log::new()
    };
    let reason = not_in_log(w2.trust_issuer_did_document_logged(
        ISSUER.into(),
        document.clone(),
        impostor.proof_for(ISSUER, &document, true),
        log.policy.clone(),
    ));
    assert!(!reason.is_empty());
    let reason = not_in_log(w2.trust_issuer_did_document_logged(
        ISSUER.into(),
        document.clone(),
        String::new(),
        log.policy.clone(),
    ));
    assert!(reason.contains("tlog-proof"), "{reason}");
    assert!(must(w2.trusted_issuers()).is_empty());

    // A malformed policy is the app's mistake, not the issuer's.
    let mut bad = log.policy.clone();
    bad.min_cosignatures = 2;
    let reason =
        refused_input(w2.trust_issuer_did_document_logged(ISSUER.into(), document, proof, bad));
    assert!(reason.contains("min_cosignatures"), "{reason}");
}

//! Signature conformance through govid's own verify path (`jose::verify_signature`,
//! `CompactJws::parse` + `verify`): RFC 8032 §7.1 and Project Wycheproof.
//!
//! Wycheproof results: `valid` must verify, `invalid` must not, `acceptable` may go either way
//! (counted and printed). A case that disagrees must be listed in a skip list below with its
//! reason, and each skip list is asserted to be exactly the set of disagreements (rustls's bogo
//! `DisabledTests` style), so a fix or a regression both show up.

mod conformance;

use conformance::{list, text, unhex, vector};
use govid_core::jose::{
    verify_signature, Algorithm, CompactJws, JwkError, JwsError, P256PublicKey, PublicKey, Signer,
    SoftwareSigner,
};
use serde_json::Value;

/// Wycheproof Ed25519 cases govid's verify path disagrees with, by tcId, with the reason.
const ED25519_SKIPS: &[(u64, &str)] = &[];
/// Wycheproof ECDSA P-256 P1363 cases govid's verify path disagrees with, by tcId.
const ECDSA_P256_SKIPS: &[(u64, &str)] = &[];

#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    disagreements: Vec<u64>,
}

impl Tally {
    fn record(&mut self, test: &Value, accepted: bool) {
        let id = test["tcId"].as_u64().unwrap_or_else(|| panic!("no tcId"));
        match (text(test, "result"), accepted) {
            ("valid", true) => self.valid += 1,
            ("invalid", false) => self.invalid += 1,
            ("acceptable", true) => self.acceptable_accepted += 1,
            ("acceptable", false) => self.acceptable_rejected += 1,
            ("valid" | "invalid", _) => self.disagreements.push(id),
            (other, _) => panic!("tcId {id}: unknown result {other}"),
        }
    }

    fn check(self, name: &str, expected_total: u64, skips: &[(u64, &str)]) {
        let total = self.valid
            + self.invalid
            + self.acceptable_accepted
            + self.acceptable_rejected
            + self.disagreements.len();
        println!(
            "{name}: {} valid verified, {} invalid refused, acceptable: {} accepted / {} refused, \
             {} skipped",
            self.valid,
            self.invalid,
            self.acceptable_accepted,
            self.acceptable_rejected,
            self.disagreements.len()
        );
        assert_eq!(total as u64, expected_total, "{name}: not every case ran");
        let skipped: Vec<u64> = skips.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            self.disagreements, skipped,
            "{name}: disagreements differ from the documented skip list"
        );
    }
}

#[test]
fn rfc8032_ed25519_tests_1_to_3() {
    let doc = vector("crypto/rfc8032_ed25519.json");
    let vectors = list(&doc, "vectors");
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let secret: [u8; 32] = unhex(text(v, "secret_key_hex"))
            .try_into()
            .unwrap_or_else(|_| panic!("secret is not 32 bytes"));
        let signer = SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&secret));
        let message = unhex(text(v, "message_hex"));
        let expected = unhex(text(v, "signature_hex"));
        let PublicKey::Ed25519(public) = signer.public_key() else {
            panic!("not Ed25519")
        };
        assert_eq!(public.as_bytes().to_vec(), unhex(text(v, "public_key_hex")));
        let signature = signer.sign(&message).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signature, expected, "{}", text(v, "name"));
        verify_signature(Algorithm::EdDSA, &signer.public_key(), &message, &signature)
            .unwrap_or_else(|e| panic!("{}: {e}", text(v, "name")));
        let mut tampered = message.clone();
        tampered.push(0);
        assert_eq!(
            verify_signature(
                Algorithm::EdDSA,
                &signer.public_key(),
                &tampered,
                &signature
            ),
            Err(JwsError::BadSignature)
        );
    }
}

fn run_wycheproof(
    path: &str,
    key_of: impl Fn(&Value) -> Option<PublicKey>,
    alg: Algorithm,
) -> (Tally, u64) {
    let doc = vector(path);
    let mut tally = Tally::default();
    for group in list(&doc, "testGroups") {
        // A key the parser refuses can verify nothing: every case then counts as refused.
        let key = key_of(&group["publicKey"]);
        for test in list(group, "tests") {
            let message = unhex(text(test, "msg"));
            let signature = unhex(text(test, "sig"));
            let accepted = key
                .as_ref()
                .is_some_and(|key| verify_signature(alg, key, &message, &signature).is_ok());
            tally.record(test, accepted);
        }
    }
    let total = doc["numberOfTests"].as_u64().unwrap_or_default();
    (tally, total)
}

#[test]
fn wycheproof_ed25519() {
    let (tally, total) = run_wycheproof(
        "crypto/wycheproof_ed25519_test.json",
        |public| {
            let pk: [u8; 32] = unhex(text(public, "pk")).try_into().ok()?;
            ed25519_dalek::VerifyingKey::from_bytes(&pk)
                .ok()
                .map(PublicKey::Ed25519)
        },
        Algorithm::EdDSA,
    );
    tally.check("Wycheproof Ed25519", total, ED25519_SKIPS);
}

#[test]
fn wycheproof_ecdsa_p256_p1363() {
    let (tally, total) = run_wycheproof(
        "crypto/wycheproof_ecdsa_secp256r1_sha256_p1363_test.json",
        |public| {
            assert_eq!(text(public, "curve"), "secp256r1");
            P256PublicKey::from_sec1(&unhex(text(public, "uncompressed")))
                .ok()
                .map(PublicKey::P256)
        },
        Algorithm::ES256,
    );
    tally.check("Wycheproof ECDSA P-256 P1363", total, ECDSA_P256_SKIPS);
}

/// Which groups of the Wycheproof JWS file apply to govid, and why the others do not.
fn jws_group_applies(group: &Value) -> Result<(), &'static str> {
    let key = group.get("public").unwrap_or(&group["private"]);
    match (key["kty"].as_str(), key["crv"].as_str()) {
        (Some("EC"), Some("P-256")) | (Some("OKP"), Some("Ed25519")) => Ok(()),
        (Some("oct"), _) => Err("HMAC (HS*): govid verifies only public-key signatures"),
        (Some("RSA"), _) => Err("RSA (RS*/PS*/RSA-OAEP): govid supports only EdDSA and ES256"),
        (Some("EC"), _) => Err("ES384/ES512 curves: govid supports only P-256"),
        _ => Err("unknown key type"),
    }
}

#[test]
fn wycheproof_json_web_signature() {
    let doc = vector("crypto/wycheproof_json_web_signature_test.json");
    let mut tally = Tally::default();
    let (mut applied, mut not_applicable, mut json_serialization) = (0u64, 0u64, 0u64);
    for group in list(&doc, "testGroups") {
        let applies = jws_group_applies(group);
        // For an applicable group the key goes through the same JWK parser as issuer keys, so
        // `use: enc` / `key_ops: [encrypt]` keys (tcId 354, 356) are refused there.
        let key = match group.get("public").map(PublicKey::from_jwk) {
            Some(Ok(key)) => Some(key),
            Some(Err(e)) => {
                if applies.is_ok() {
                    assert_eq!(e, JwkError::WrongKeyUse, "{}", group["public"]);
                }
                None
            }
            None => None,
        };
        for test in list(group, "tests") {
            let Some(jws) = test["jws"].as_str() else {
                // JWS JSON serialization: govid only takes compact JWS (flag JsonSerialization).
                json_serialization += 1;
                continue;
            };
            if let Err(reason) = applies {
                // Not applicable, but still never accepted: the `alg` is refused at parse time.
                not_applicable += 1;
                let parsed = CompactJws::parse(jws, 16);
                assert!(
                    parsed.is_err(),
                    "tcId {} ({reason}) parsed: {parsed:?}",
                    test["tcId"]
                );
                continue;
            }
            applied += 1;
            let accepted = key.as_ref().is_some_and(|key| {
                CompactJws::parse(jws, 16).is_ok_and(|jws| jws.verify(key, &Algorithm::ALL).is_ok())
            });
            tally.record(test, accepted);
        }
    }
    println!(
        "Wycheproof JWS: {applied} ES256 cases applied, {not_applicable} HMAC/RSA/P-521 cases \
         refused at parse time, {json_serialization} JSON-serialization cases not applicable"
    );
    assert_eq!(
        applied + not_applicable + json_serialization,
        doc["numberOfTests"].as_u64().unwrap_or_default()
    );
    tally.check("Wycheproof JWS (ES256)", applied, &[]);
}

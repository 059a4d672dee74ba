//! The Issuer-signed JWT: signature, `alg`, `crit`, key type, issuer trust, `typ`, `_sd_alg` and
//! the payload itself.

use govid_core::b64;
use govid_core::jose::{Algorithm, JwsError, Signer, WithKeyId};
use govid_core::json::JsonError;
use govid_core::sdjwt::{verify, IssueOptions, SdAlg, VerifyError, VerifyPolicy};
use govid_core::trust::{PinnedKeys, ResolveError, MAX_CANDIDATE_KEYS};
use serde_json::{json, Value};

use super::{accepts, check, hand_built, plain_policy, rejects};
use crate::common::{self, ISS, NOW};

/// `header.payload` as given (payload text need not be an object), signed by the issuer.
fn sign_raw(header: &Value, payload_text: &str) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(payload_text)
    );
    let signature = common::issuer().sign(input.as_bytes()).unwrap();
    format!("{input}.{}~", b64::encode(signature))
}

#[test]
fn a_flipped_signature_character_is_bad_signature() {
    let issued = common::sample_issued().compact();
    let jwt_end = issued.find('~').unwrap();
    let signature_start = issued[..jwt_end].rfind('.').unwrap() + 1;
    // Every position of the signature but the last (whose low bits must stay zero) decodes to
    // other bytes when its character is replaced by another base64url character.
    for position in [signature_start, signature_start + 20, jwt_end - 2] {
        let mut bytes = issued.clone().into_bytes();
        bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        rejects(
            check(&tampered, &plain_policy()),
            VerifyError::IssuerJws(JwsError::BadSignature),
            "bad_signature",
        );
    }
    accepts(check(&issued, &plain_policy()));
}

#[test]
fn an_unsigned_alg_none_token_is_refused_in_any_spelling() {
    let payload = json!({ "iss": ISS, "given_name": "Amira" });
    for alg in ["none", "None", "NONE"] {
        let jwt = common::unsigned_jwt(json!({ "alg": alg }), payload.clone());
        for presentation in [format!("{jwt}~"), format!("{jwt}c2ln~")] {
            rejects(
                check(&presentation, &plain_policy()),
                VerifyError::IssuerJws(JwsError::AlgNone),
                "alg_none",
            );
        }
    }
}

#[test]
fn an_alg_outside_the_policy_is_refused() {
    let issued = common::sample_issued().compact(); // EdDSA
    let policy = VerifyPolicy {
        algorithms: vec![Algorithm::ES256],
        ..plain_policy()
    };
    rejects(
        check(&issued, &policy),
        VerifyError::IssuerJws(JwsError::AlgNotAllowed),
        "alg_not_allowed",
    );
    // An algorithm govid does not implement at all (HMAC with a guessable key, RS256, ...).
    for alg in ["HS256", "RS256", "ES384", "ES256K"] {
        let jwt = sign_raw(&json!({ "alg": alg }), r#"{"iss":"x"}"#);
        rejects(
            check(&jwt, &plain_policy()),
            VerifyError::IssuerJws(JwsError::UnsupportedAlg),
            "alg_not_allowed",
        );
    }
    rejects(
        check(&sign_raw(&json!({ "alg": 1 }), "{}"), &plain_policy()),
        VerifyError::IssuerJws(JwsError::UnsupportedAlg),
        "alg_not_allowed",
    );
    rejects(
        check(&sign_raw(&json!({ "typ": "JWT" }), "{}"), &plain_policy()),
        VerifyError::IssuerJws(JwsError::MissingAlg),
        "malformed_jwt",
    );
}

#[test]
fn a_crit_header_is_refused() {
    for crit in [json!(["exp"]), json!([]), json!("b64")] {
        let jwt = common::sign_json(
            json!({ "crit": crit, "exp": NOW + 10 }),
            json!({ "iss": ISS }),
            &common::issuer(),
        );
        rejects(
            check(&format!("{jwt}~"), &plain_policy()),
            VerifyError::IssuerJws(JwsError::CriticalHeader),
            "crit",
        );
    }
}

#[test]
fn an_eddsa_header_with_a_pinned_p256_key_is_key_mismatch() {
    let p256 = common::signer(Algorithm::ES256, 11);
    let issued = common::sample_issued().compact();
    // The `kid` picks the P-256 key for an EdDSA JWT: algorithm confusion, refused as such.
    let signer = WithKeyId {
        signer: common::issuer(),
        kid: "hr-key-1".to_owned(),
    };
    let jwt = common::sign_json(Value::Null, json!({ "iss": ISS }), &signer);
    let mut keys = PinnedKeys::new();
    keys.add(p256.public_key(), None, vec!["hr-key-1".to_owned()]);
    rejects(
        verify(&format!("{jwt}~"), &plain_policy(), &keys, NOW),
        VerifyError::IssuerJws(JwsError::KeyMismatch),
        "key_mismatch",
    );
    // Without a `kid`, no pinned key has the type EdDSA needs.
    rejects(
        verify(
            &issued,
            &plain_policy(),
            &PinnedKeys::single(p256.public_key()),
            NOW,
        ),
        VerifyError::Issuer(ResolveError::UnknownKey),
        "unknown_issuer_key",
    );
}

#[test]
fn two_pinned_keys_of_the_jwt_type_without_a_kid_are_both_tried() {
    // Regression: this was refused `unknown_issuer_key` (ambiguous), though one of the pinned
    // keys had signed it.
    let issued = common::sample_issued().compact();
    let mut keys = PinnedKeys::new();
    keys.add(
        common::signer(Algorithm::EdDSA, 13).public_key(),
        Some(ISS.to_owned()),
        Vec::new(),
    );
    keys.add(
        common::issuer().public_key(),
        Some(ISS.to_owned()),
        Vec::new(),
    );
    let verified = verify(&issued, &plain_policy(), &keys, NOW).unwrap();
    assert_eq!(verified.issuer_key, common::issuer().public_key());
    // Neither key signed it: the signature check says so.
    let mut neither = PinnedKeys::new();
    for seed in [13, 14] {
        let key = common::signer(Algorithm::EdDSA, seed).public_key();
        neither.add(key, Some(ISS.to_owned()), Vec::new());
    }
    rejects(
        verify(&issued, &plain_policy(), &neither, NOW),
        VerifyError::IssuerJws(JwsError::BadSignature),
        "bad_signature",
    );
    // More eligible keys than are ever tried: refused before any signature check.
    let mut many = PinnedKeys::new();
    for seed in 20..(20 + MAX_CANDIDATE_KEYS as u64) {
        many.add(
            common::signer(Algorithm::EdDSA, seed).public_key(),
            None,
            Vec::new(),
        );
    }
    many.add(common::issuer().public_key(), None, Vec::new());
    rejects(
        verify(&issued, &plain_policy(), &many, NOW),
        VerifyError::Issuer(ResolveError::AmbiguousKey),
        "unknown_issuer_key",
    );
    // The same keys bound to their issuers: only ISS's are candidates.
    let mut bound = PinnedKeys::new();
    for seed in 20..(20 + MAX_CANDIDATE_KEYS as u64) {
        let key = common::signer(Algorithm::EdDSA, seed).public_key();
        bound.add(key, Some("did:web:other.example".to_owned()), Vec::new());
    }
    bound.add(
        common::issuer().public_key(),
        Some(ISS.to_owned()),
        Vec::new(),
    );
    accepts(verify(&issued, &plain_policy(), &bound, NOW));
    // A `kid` naming the key's thumbprint picks it.
    let signer = WithKeyId {
        signer: common::issuer(),
        kid: common::issuer().public_key().thumbprint(),
    };
    let jwt = common::sign_json(Value::Null, json!({ "iss": ISS }), &signer);
    accepts(verify(&format!("{jwt}~"), &plain_policy(), &keys, NOW));
}

#[test]
fn a_key_pinned_for_another_iss_does_not_verify() {
    let issued = common::sample_issued().compact();
    let mut other = PinnedKeys::new();
    other.add(
        common::issuer().public_key(),
        Some("https://other-ministry.example".to_owned()),
        Vec::new(),
    );
    rejects(
        verify(&issued, &plain_policy(), &other, NOW),
        VerifyError::Issuer(ResolveError::UntrustedIssuer),
        "untrusted_issuer",
    );
    rejects(
        verify(&issued, &plain_policy(), &PinnedKeys::new(), NOW),
        VerifyError::Issuer(ResolveError::UntrustedIssuer),
        "untrusted_issuer",
    );
    let mut same = PinnedKeys::new();
    same.add(
        common::issuer().public_key(),
        Some(ISS.to_owned()),
        Vec::new(),
    );
    accepts(verify(&issued, &plain_policy(), &same, NOW));
    // Another key pinned for the right `iss`: the signature decides.
    let mut wrong_key = PinnedKeys::new();
    wrong_key.add(
        common::signer(Algorithm::EdDSA, 12).public_key(),
        Some(ISS.to_owned()),
        Vec::new(),
    );
    rejects(
        verify(&issued, &plain_policy(), &wrong_key, NOW),
        VerifyError::IssuerJws(JwsError::BadSignature),
        "bad_signature",
    );
}

fn issued_with_typ(typ: Option<&str>) -> String {
    let options = IssueOptions {
        typ: typ.map(str::to_owned),
        ..common::vc_options()
    };
    common::issue_with(&common::sample_claims(&common::holder()), &options, 3).compact()
}

#[test]
fn sd_jwt_vc_typ_must_be_dc_sd_jwt_or_the_legacy_vc_sd_jwt() {
    let policy = VerifyPolicy {
        sd_jwt_vc: true,
        ..plain_policy()
    };
    for typ in [None, Some("JWT"), Some("sd-jwt"), Some("example+sd-jwt")] {
        rejects(
            check(&issued_with_typ(typ), &policy),
            VerifyError::Typ,
            "typ",
        );
    }
    for typ in [
        "dc+sd-jwt",
        "vc+sd-jwt",
        "application/dc+sd-jwt",
        "DC+SD-JWT",
    ] {
        accepts(check(&issued_with_typ(Some(typ)), &policy));
    }
}

#[test]
fn an_expected_typ_is_enforced_even_outside_sd_jwt_vc_mode() {
    let policy = VerifyPolicy {
        expected_typ: Some("example+sd-jwt".to_owned()),
        ..plain_policy()
    };
    rejects(
        check(&issued_with_typ(Some("dc+sd-jwt")), &policy),
        VerifyError::Typ,
        "typ",
    );
    rejects(
        check(&issued_with_typ(None), &policy),
        VerifyError::Typ,
        "typ",
    );
    accepts(check(&issued_with_typ(Some("Example+SD-JWT")), &policy));
    // An explicit expected_typ replaces the SD-JWT VC default: the legacy type is then refused.
    let gate = VerifyPolicy {
        expected_typ: Some("dc+sd-jwt".to_owned()),
        sd_jwt_vc: true,
        ..plain_policy()
    };
    rejects(
        check(&issued_with_typ(Some("vc+sd-jwt")), &gate),
        VerifyError::Typ,
        "typ",
    );
}

#[test]
fn an_unknown_or_malformed_sd_alg_is_refused() {
    for sd_alg in [
        json!("md5"),
        json!("sha-1"),
        json!("SHA-256"),
        json!("sha256"),
        json!(""),
        json!(256),
        json!(null),
        json!(["sha-256"]),
    ] {
        let presentation = hand_built(json!({ "iss": ISS, "_sd_alg": sd_alg }), &[]);
        rejects(
            check(&presentation, &plain_policy()),
            VerifyError::SdAlg,
            "sd_alg",
        );
    }
    // Absent means sha-256.
    let (d, digest) = super::disclosure(r#"["salt-1","given_name","Amira"]"#);
    let v = accepts(check(
        &hand_built(json!({ "iss": ISS, "_sd": [digest] }), &[&d]),
        &plain_policy(),
    ));
    assert_eq!(v.payload["given_name"], "Amira");
}

#[test]
fn an_sd_alg_outside_the_policy_is_refused() {
    let options = IssueOptions {
        sd_alg: SdAlg::Sha512,
        ..common::vc_options()
    };
    let issued = common::issue_with(&common::sample_claims(&common::holder()), &options, 4);
    let policy = VerifyPolicy {
        sd_algs: vec![SdAlg::Sha256],
        ..plain_policy()
    };
    rejects(
        check(&issued.compact(), &policy),
        VerifyError::SdAlg,
        "sd_alg",
    );
    accepts(check(&issued.compact(), &plain_policy()));
}

#[test]
fn a_payload_that_is_not_a_json_object_is_refused() {
    for (payload, error) in [
        ("[1,2]", JsonError::NotAnObject),
        ("\"text\"", JsonError::NotAnObject),
        ("{\"iss\":", JsonError::Syntax),
        ("", JsonError::Syntax),
    ] {
        rejects(
            check(
                &sign_raw(&json!({ "alg": "EdDSA" }), payload),
                &plain_policy(),
            ),
            VerifyError::IssuerPayload(error),
            "malformed_payload",
        );
    }
}

#[test]
fn a_malformed_issuer_jwt_is_malformed_jwt() {
    let issued = common::sample_issued().compact();
    let jwt = &issued[..issued.find('~').unwrap()];
    let (header, rest) = jwt.split_once('.').unwrap();
    let cases = [
        format!("{rest}~"),                                // two parts
        format!("{jwt}.e30~"),                             // four parts
        format!("{}.{rest}~", b64::encode("{\"alg\"")),    // header not JSON
        format!("{}.{rest}~", b64::encode("[\"EdDSA\"]")), // header not an object
        format!("{header}A.{rest}~"),                      // header not canonical base64url
    ];
    for (i, presentation) in cases.iter().enumerate() {
        let err = check(presentation, &plain_policy()).unwrap_err();
        assert!(
            matches!(err, VerifyError::IssuerJws(_)),
            "case {i}: {err:?}"
        );
        assert_eq!(err.rule(), "malformed_jwt", "case {i}: {err:?}");
    }
}

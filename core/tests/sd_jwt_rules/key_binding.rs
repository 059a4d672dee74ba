//! Key binding (RFC 9901 §7.3): presence, `typ`, `alg`, the holder key from `cnf`, the `iat`
//! window, `aud`, `nonce`, `sd_hash` and the KB-JWT's claims.

use govid_core::jose::{Algorithm, JwkError, JwsError};
use govid_core::sdjwt::{
    ClaimNode, ClaimPath, HeldSdJwt, KbExpectation, KbWindow, SdAlg, VerifyError, VerifyPolicy,
};
use serde_json::{json, Value};

use super::{accepts, check, pinned, plain_policy, rejects, vc_policy};
use crate::common::{self, AUD, NONCE, NOW};

fn held() -> HeldSdJwt {
    HeldSdJwt::receive(
        &common::sample_issued().compact(),
        &plain_policy(),
        &pinned(),
        NOW,
    )
    .unwrap()
}

fn entry_paths() -> Vec<ClaimPath> {
    vec![ClaimPath::key("given_name"), ClaimPath::key("family_name")]
}

/// The SD-JWT part (everything up to the last `~`) of a presentation.
fn sd_jwt_part(presentation: &str) -> &str {
    &presentation[..=presentation.rfind('~').unwrap()]
}

/// A KB-JWT payload for `sd_jwt` with the fixtures' `aud` and `nonce`.
fn kb_payload(sd_jwt: &str, iat: u64) -> Value {
    json!({
        "iat": iat,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": SdAlg::Sha256.digest_b64(sd_jwt.as_bytes()),
    })
}

/// The entry disclosures with a hand-made KB-JWT (header extras, payload) by the holder.
fn with_kb(extra: Value, payload: impl FnOnce(&str) -> Value) -> String {
    let sd_jwt = held().present(&entry_paths(), None).unwrap();
    let kb = common::sign_kb(extra, payload(&sd_jwt), &common::holder());
    format!("{sd_jwt}{kb}")
}

#[test]
fn a_required_key_binding_must_be_present() {
    let presentation = held().present(&entry_paths(), None).unwrap();
    rejects(
        check(&presentation, &vc_policy()),
        VerifyError::KbMissing,
        "kb_missing",
    );
    let bound = held()
        .present(
            &entry_paths(),
            Some((&common::kb_request(NOW), &common::holder())),
        )
        .unwrap();
    let v = accepts(check(&bound, &vc_policy()));
    let kb = v.key_binding.unwrap();
    assert_eq!(
        (kb.aud.as_str(), kb.nonce.as_str(), kb.iat),
        (AUD, NONCE, NOW)
    );
    // Hand-made and library-made KB-JWTs agree.
    accepts(check(
        &with_kb(Value::Null, |sd| kb_payload(sd, NOW)),
        &vc_policy(),
    ));
}

#[test]
fn a_kb_jwt_with_another_typ_is_refused() {
    for typ in [
        json!("JWT"),
        json!("KB+JWT2"),
        json!("dc+sd-jwt"),
        json!(null),
        json!(1),
    ] {
        rejects(
            check(
                &with_kb(json!({ "typ": typ }), |sd| kb_payload(sd, NOW)),
                &vc_policy(),
            ),
            VerifyError::KbTyp,
            "kb_typ",
        );
    }
}

#[test]
fn an_unsigned_kb_jwt_is_refused() {
    let sd_jwt = held().present(&entry_paths(), None).unwrap();
    let kb = common::unsigned_jwt(
        json!({ "alg": "none", "typ": "kb+jwt" }),
        kb_payload(&sd_jwt, NOW),
    );
    rejects(
        check(&format!("{sd_jwt}{kb}"), &vc_policy()),
        VerifyError::KbJws(JwsError::AlgNone),
        "kb_alg_none",
    );
}

#[test]
fn a_kb_jwt_alg_outside_the_policy_is_refused() {
    let p256_holder = common::signer(Algorithm::ES256, 21);
    let claims = common::sample_claims(&p256_holder);
    let issued = common::issue_with(&claims, &common::vc_options(), 22); // issuer: EdDSA
    let held = HeldSdJwt::receive(&issued.compact(), &plain_policy(), &pinned(), NOW).unwrap();
    let bound = held
        .present(
            &entry_paths(),
            Some((&common::kb_request(NOW), &p256_holder)),
        )
        .unwrap();
    accepts(check(&bound, &vc_policy()));
    let eddsa_only = VerifyPolicy {
        algorithms: vec![Algorithm::EdDSA],
        ..vc_policy()
    };
    rejects(
        check(&bound, &eddsa_only),
        VerifyError::KbJws(JwsError::AlgNotAllowed),
        "kb_alg_not_allowed",
    );
}

#[test]
fn a_kb_jwt_not_signed_by_the_cnf_key_is_refused() {
    for other in [
        common::signer(Algorithm::EdDSA, 31),
        common::signer(Algorithm::ES256, 32), // other key type than cnf: still "not the holder"
    ] {
        let bound = held()
            .present(&entry_paths(), Some((&common::kb_request(NOW), &other)))
            .unwrap();
        rejects(
            check(&bound, &vc_policy()),
            VerifyError::KbSignature,
            "kb_signature",
        );
        // Checked even when the policy does not require key binding.
        rejects(
            check(&bound, &plain_policy()),
            VerifyError::KbSignature,
            "kb_signature",
        );
    }
}

#[test]
fn a_kb_jwt_without_a_usable_cnf_key_is_refused() {
    let base = || {
        ClaimNode::object()
            .plain("iss", common::ISS)
            .plain("vct", common::VCT)
            .sd("given_name", "Amira")
    };
    let cases = [
        (
            base(),
            VerifyError::HolderKey(JwkError::MissingMember("cnf")),
        ),
        (
            base().plain("cnf", json!({ "kid": "k1" })),
            VerifyError::HolderKey(JwkError::MissingMember("jwk")),
        ),
        (
            base().plain(
                "cnf",
                json!({ "jwk": { "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA" } }),
            ),
            VerifyError::HolderKey(JwkError::Unsupported),
        ),
    ];
    for (claims, expected) in cases {
        let issued = common::issue_with(&claims, &common::vc_options(), 23);
        let sd_jwt = issued.compact();
        let kb = common::sign_kb(Value::Null, kb_payload(&sd_jwt, NOW), &common::holder());
        rejects(
            check(&format!("{sd_jwt}{kb}"), &vc_policy()),
            expected,
            "holder_key",
        );
    }
}

#[test]
fn the_kb_jwt_iat_window_is_inclusive_at_both_edges() {
    let window = KbWindow::default();
    let bound = |iat: u64| {
        held()
            .present(
                &entry_paths(),
                Some((&common::kb_request(iat), &common::holder())),
            )
            .unwrap()
    };
    accepts(check(&bound(NOW - window.max_age), &vc_policy()));
    rejects(
        check(&bound(NOW - window.max_age - 1), &vc_policy()),
        VerifyError::KbIat,
        "kb_iat",
    );
    accepts(check(&bound(NOW + window.max_future), &vc_policy()));
    rejects(
        check(&bound(NOW + window.max_future + 1), &vc_policy()),
        VerifyError::KbIat,
        "kb_iat",
    );
    let tight = VerifyPolicy {
        kb_window: KbWindow {
            max_age: 0,
            max_future: 0,
        },
        ..vc_policy()
    };
    accepts(check(&bound(NOW), &tight));
    rejects(check(&bound(NOW - 1), &tight), VerifyError::KbIat, "kb_iat");
    rejects(check(&bound(NOW + 1), &tight), VerifyError::KbIat, "kb_iat");
}

/// A hand-made KB-JWT whose `iat` is `iat`, any JSON value.
fn with_kb_iat(iat: Value) -> String {
    with_kb(Value::Null, |sd| {
        let mut p = kb_payload(sd, NOW);
        p["iat"] = iat;
        p
    })
}

#[test]
fn a_kb_jwt_iat_with_microseconds_is_accepted_by_its_whole_seconds() {
    // ssi-based wallets write `iat` with microseconds; RFC 7519 §2 allows it.
    let verified = accepts(check(
        &with_kb_iat(json!(NOW as f64 + 0.123_456)),
        &vc_policy(),
    ));
    assert_eq!(verified.key_binding.map(|kb| kb.iat), Some(NOW));
    // The window edges count whole seconds: the fraction is dropped, never rounded up.
    let window = KbWindow::default();
    let oldest = (NOW - window.max_age) as f64 + 0.5;
    accepts(check(&with_kb_iat(json!(oldest)), &vc_policy()));
    let latest = (NOW + window.max_future) as f64 + 0.999_999;
    accepts(check(&with_kb_iat(json!(latest)), &vc_policy()));
    rejects(
        check(&with_kb_iat(json!(oldest - 1.0)), &vc_policy()),
        VerifyError::KbIat,
        "kb_iat",
    );
    rejects(
        check(&with_kb_iat(json!(latest + 1.0)), &vc_policy()),
        VerifyError::KbIat,
        "kb_iat",
    );
}

#[test]
fn a_kb_jwt_iat_that_is_negative_or_beyond_year_9999_is_malformed() {
    for iat in [
        json!(-1),
        json!(-0.5),
        json!(govid_core::time::MAX_NUMERIC_DATE + 1),
        json!(u64::MAX),
        json!(1e300),
        json!(true),
    ] {
        rejects(
            check(&with_kb_iat(iat.clone()), &vc_policy()),
            VerifyError::KbClaim("iat"),
            "kb_malformed",
        );
    }
}

#[test]
fn a_kb_jwt_for_another_audience_or_nonce_is_refused() {
    let bound = held()
        .present(
            &entry_paths(),
            Some((&common::kb_request(NOW), &common::holder())),
        )
        .unwrap();
    let mut policy = vc_policy();
    policy.key_binding = Some(KbExpectation {
        aud: "https://gate-8.ministry.example".to_owned(),
        nonce: Some(NONCE.to_owned()),
    });
    rejects(check(&bound, &policy), VerifyError::KbAud, "kb_aud");
    policy.key_binding = Some(KbExpectation {
        aud: AUD.to_owned(),
        nonce: Some("another-nonce".to_owned()),
    });
    rejects(check(&bound, &policy), VerifyError::KbNonce, "kb_nonce");
    // Without a challenge (a rotating one-way code) any nonce is accepted.
    policy.key_binding = Some(KbExpectation {
        aud: AUD.to_owned(),
        nonce: None,
    });
    accepts(check(&bound, &policy));
}

#[test]
fn a_kb_jwt_over_another_disclosure_set_is_refused() {
    let request = common::kb_request(NOW);
    let holder = common::holder();
    let entry = held()
        .present(&entry_paths(), Some((&request, &holder)))
        .unwrap();
    let kb = &entry[entry.rfind('~').unwrap() + 1..];
    // The same KB-JWT on a presentation with one more disclosure.
    let mut more = entry_paths();
    more.push(ClaimPath::key("organization"));
    let larger = held().present(&more, None).unwrap();
    rejects(
        check(&format!("{larger}{kb}"), &vc_policy()),
        VerifyError::SdHash,
        "sd_hash",
    );
    // ... and after removing a disclosure from the bound presentation.
    let sd_jwt = sd_jwt_part(&entry);
    let first_disclosure = sd_jwt.split('~').nth(1).unwrap();
    let fewer = entry.replacen(&format!("{first_disclosure}~"), "", 1);
    assert_eq!(fewer.matches('~').count(), entry.matches('~').count() - 1);
    rejects(check(&fewer, &vc_policy()), VerifyError::SdHash, "sd_hash");
    // ... and with the disclosures reordered.
    let parts: Vec<&str> = sd_jwt.trim_end_matches('~').split('~').collect();
    let reordered = format!("{}~{}~{}~{kb}", parts[0], parts[2], parts[1]);
    rejects(
        check(&reordered, &vc_policy()),
        VerifyError::SdHash,
        "sd_hash",
    );
    // An sd_hash with another hash function than `_sd_alg`.
    let sha512 = with_kb(Value::Null, |sd| {
        let mut p = kb_payload(sd, NOW);
        p["sd_hash"] = json!(SdAlg::Sha512.digest_b64(sd.as_bytes()));
        p
    });
    rejects(check(&sha512, &vc_policy()), VerifyError::SdHash, "sd_hash");
}

#[test]
fn a_kb_jwt_missing_or_mistyping_a_claim_is_refused() {
    for claim in ["iat", "aud", "nonce", "sd_hash"] {
        for replacement in [None, Some(json!(["x"])), Some(json!({})), Some(json!(null))] {
            let presentation = with_kb(Value::Null, |sd| {
                let mut p = kb_payload(sd, NOW);
                let map = p.as_object_mut().unwrap();
                match &replacement {
                    None => {
                        map.remove(claim);
                    }
                    Some(v) => {
                        map.insert(claim.to_owned(), v.clone());
                    }
                }
                p
            });
            let err = check(&presentation, &vc_policy()).unwrap_err();
            assert_eq!(err, VerifyError::KbClaim(claim), "{claim}");
            assert_eq!(err.rule(), "kb_malformed");
        }
    }
    let string_iat = with_kb(Value::Null, |sd| {
        let mut p = kb_payload(sd, NOW);
        p["iat"] = json!(NOW.to_string());
        p
    });
    rejects(
        check(&string_iat, &vc_policy()),
        VerifyError::KbClaim("iat"),
        "kb_malformed",
    );
}

#[test]
fn a_malformed_kb_jwt_is_refused() {
    let sd_jwt = held().present(&entry_paths(), None).unwrap();
    for kb in ["abc", "a.b", "e30.e30.e30.e30", "e30.e30.e30"] {
        let err = check(&format!("{sd_jwt}{kb}"), &vc_policy()).unwrap_err();
        assert!(matches!(err, VerifyError::KbJws(_)), "{kb}: {err:?}");
        assert_eq!(err.rule(), "kb_malformed", "{kb}");
    }
}

#[test]
fn a_holder_refuses_an_issued_sd_jwt_with_a_kb_jwt() {
    let bound = held()
        .present(
            &entry_paths(),
            Some((&common::kb_request(NOW), &common::holder())),
        )
        .unwrap();
    let err = HeldSdJwt::receive(&bound, &plain_policy(), &pinned(), NOW).unwrap_err();
    assert_eq!(err, VerifyError::KbUnexpected);
    assert_eq!(err.rule(), "kb_unexpected");
    // Even one that is not a JWT at all.
    let issued = common::sample_issued().compact();
    let err =
        HeldSdJwt::receive(&format!("{issued}x"), &plain_policy(), &pinned(), NOW).unwrap_err();
    assert_eq!(err, VerifyError::KbUnexpected);
}

#[test]
fn a_kb_jwt_payload_that_is_not_a_json_object_is_refused() {
    use govid_core::b64;
    use govid_core::jose::Signer;
    let sd_jwt = held().present(&entry_paths(), None).unwrap();
    for payload in ["[1]", "\"kb\"", "{\"iat\":"] {
        let input = format!(
            "{}.{}",
            b64::encode(r#"{"alg":"EdDSA","typ":"kb+jwt"}"#),
            b64::encode(payload)
        );
        let signature = common::holder().sign(input.as_bytes()).unwrap();
        let kb = format!("{input}.{}", b64::encode(signature));
        rejects(
            check(&format!("{sd_jwt}{kb}"), &vc_policy()),
            VerifyError::KbClaim("payload"),
            "kb_malformed",
        );
    }
}

/// Regression: the replay key was the SHA-256 of the whole KB-JWT, so an ECDSA signature's twin
/// (r, n − s), which anyone can compute, made a "new" code. The key is the SHA-256 of the
/// signing input: what the holder signed, never the signature's bytes.
#[test]
fn the_replay_key_covers_what_the_holder_signed_and_not_the_signature() {
    use sha2::{Digest as _, Sha256};
    let presentation = held()
        .present(
            &entry_paths(),
            Some((&common::kb_request(NOW), &common::holder())),
        )
        .unwrap();
    let kb = accepts(check(&presentation, &vc_policy()))
        .key_binding
        .unwrap();
    let kb_text = presentation.rsplit('~').next().unwrap();
    let signing_input = kb_text.rsplit_once('.').unwrap().0;
    let expected: [u8; 32] = Sha256::digest(signing_input.as_bytes()).into();
    assert_eq!(kb.replay_key, expected);
    let whole: [u8; 32] = Sha256::digest(kb_text.as_bytes()).into();
    assert_ne!(kb.replay_key, whole);
}

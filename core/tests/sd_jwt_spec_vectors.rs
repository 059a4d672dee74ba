//! Every accept vector of RFC 9901 and SD-JWT VC draft 18 (testdata/vectors/sd-jwt) verifies with
//! its own clock and policy and yields exactly the expected processed payload.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

mod common;

use govid_core::sdjwt::verify;
use govid_core::trust::PinnedKeys;
use serde_json::Value;

#[test]
fn every_spec_vector_verifies_to_its_expected_payload() {
    let doc = common::read_json("vectors/sd-jwt/spec_examples.json");
    let vectors = doc["vectors"].as_array().expect("vectors array");
    assert!(vectors.len() >= 20, "expected the full vector set");
    let mut checked = 0;
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        assert_eq!(
            v["expect"], "accept",
            "{id}: only accept vectors are listed"
        );
        let policy = common::policy_from_vector(&v["verifier"]);
        let now = v["verifier"]["now"].as_u64().unwrap();
        let issuers = PinnedKeys::single(common::jwk(&v["issuer_public_jwk"]));
        let mut forms = vec![v["presentation"].as_str().unwrap().to_owned()];
        if let Some(json) = v.get("json_serialization") {
            forms.push(json.to_string());
        }
        for form in forms {
            let verified = verify(&form, &policy, &issuers, now)
                .unwrap_or_else(|e| panic!("{id}: rejected ({}): {e}", e.rule()));
            assert_eq!(
                Value::Object(verified.payload),
                v["expected_payload"],
                "{id}: processed payload differs"
            );
            assert_eq!(
                verified.key_binding.is_some(),
                policy.key_binding.is_some(),
                "{id}"
            );
            checked += 1;
        }
    }
    assert!(checked >= vectors.len());
}

#[test]
fn spec_vectors_are_rejected_under_the_wrong_expectations() {
    use govid_core::sdjwt::VerifyError;
    let doc = common::read_json("vectors/sd-jwt/spec_examples.json");
    let kb_vector = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["verifier"]["require_key_binding"] == true)
        .unwrap();
    let now = kb_vector["verifier"]["now"].as_u64().unwrap();
    let issuers = PinnedKeys::single(common::jwk(&kb_vector["issuer_public_jwk"]));
    let presentation = kb_vector["presentation"].as_str().unwrap();

    let mut policy = common::policy_from_vector(&kb_vector["verifier"]);
    policy.key_binding.as_mut().unwrap().aud = "https://other.example".into();
    assert_eq!(
        verify(presentation, &policy, &issuers, now).unwrap_err(),
        VerifyError::KbAud
    );

    let mut policy = common::policy_from_vector(&kb_vector["verifier"]);
    policy.key_binding.as_mut().unwrap().nonce = Some("other".into());
    assert_eq!(
        verify(presentation, &policy, &issuers, now).unwrap_err(),
        VerifyError::KbNonce
    );

    let policy = common::policy_from_vector(&kb_vector["verifier"]);
    assert_eq!(
        verify(presentation, &policy, &issuers, now + 3600).unwrap_err(),
        VerifyError::KbIat
    );
}

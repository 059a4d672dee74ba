//! One negative test (at least) for every rule `sdjwt::verify` and `HeldSdJwt::receive` enforce,
//! each asserting the exact `VerifyError` variant and its stable `rule()` code, plus the positive
//! edge cases next to them. Rules that need a token no honest issuer makes are tested with
//! payloads built by hand and signed with `sign_compact`.
//!
//! | area | file |
//! |---|---|
//! | the Issuer-signed JWT: signature, `alg`, `crit`, key, issuer, `typ`, `_sd_alg`, payload | `issuer_jwt.rs` |
//! | disclosures: digests, duplicates, reserved names, collisions, shapes, kinds | `disclosures.rs` |
//! | SD-JWT VC claims and `exp`/`nbf`/`iat` with their leeway edges | `vc_and_time.rs` |
//! | key binding | `key_binding.rs` |
//! | size limits, compact and JSON serialization framing, positive edge cases | `framing.rs` |
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

mod common;

#[path = "sd_jwt_rules/disclosures.rs"]
mod disclosures;
#[path = "sd_jwt_rules/framing.rs"]
mod framing;
#[path = "sd_jwt_rules/issuer_jwt.rs"]
mod issuer_jwt;
#[path = "sd_jwt_rules/key_binding.rs"]
mod key_binding;
#[path = "sd_jwt_rules/vc_and_time.rs"]
mod vc_and_time;

use govid_core::jose::Signer;
use govid_core::sdjwt::{verify, KbExpectation, Verified, VerifyError, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use serde_json::Value;

/// Asserts that `result` is the rejection `expected`, with rule code `rule`.
#[track_caller]
fn rejects(result: Result<Verified, VerifyError>, expected: VerifyError, rule: &str) {
    match result {
        Ok(v) => panic!(
            "accepted (payload {}), expected {expected:?}",
            Value::Object(v.payload)
        ),
        Err(e) => {
            assert_eq!(e, expected, "wrong rejection: {e}");
            assert_eq!(e.rule(), rule, "wrong rule code for {e:?}");
        }
    }
}

/// Asserts acceptance and returns the result.
#[track_caller]
fn accepts(result: Result<Verified, VerifyError>) -> Verified {
    result.unwrap_or_else(|e| panic!("rejected ({}): {e}", e.rule()))
}

/// Plain SD-JWT rules only: no key binding, no SD-JWT VC rules.
fn plain_policy() -> VerifyPolicy {
    VerifyPolicy::default()
}

/// A gate's policy: SD-JWT VC rules and key binding to the fixtures' `aud` and `nonce`.
fn vc_policy() -> VerifyPolicy {
    VerifyPolicy {
        sd_jwt_vc: true,
        key_binding: Some(KbExpectation {
            aud: common::AUD.to_owned(),
            nonce: Some(common::NONCE.to_owned()),
        }),
        ..VerifyPolicy::default()
    }
}

/// The fixtures' issuer key, trusted for any `iss`.
fn pinned() -> PinnedKeys {
    PinnedKeys::single(common::issuer().public_key())
}

/// Verifies with the pinned fixture issuer at `common::NOW`.
fn check(presentation: &str, policy: &VerifyPolicy) -> Result<Verified, VerifyError> {
    verify(presentation, policy, &pinned(), common::NOW)
}

/// A disclosure written by hand: its exact text and its SHA-256 digest.
fn disclosure(json: &str) -> (String, String) {
    let text = common::b64_text(json);
    let digest = common::digest(&text);
    (text, digest)
}

/// `payload` signed by the fixture issuer (no `typ`), followed by `disclosures`.
fn hand_built(payload: Value, disclosures: &[&str]) -> String {
    let jwt = common::sign_json(Value::Null, payload, &common::issuer());
    common::sd_jwt_text(&jwt, disclosures)
}

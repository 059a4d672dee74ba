//! Shared helpers for govid-core's integration tests.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::path::PathBuf;

use govid_core::jose::PublicKey;
use govid_core::sdjwt::{KbExpectation, VerifyPolicy};
use serde_json::Value;

/// Path of a file under the repository's `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join(rel)
}

/// Reads and parses a JSON file under `testdata/`; a missing file fails the test.
pub fn read_json(rel: &str) -> Value {
    let path = testdata(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
}

/// The verifier policy described by a vector's `verifier` object.
pub fn policy_from_vector(verifier: &Value) -> VerifyPolicy {
    let mut policy = VerifyPolicy::default();
    if verifier["require_key_binding"].as_bool() == Some(true) {
        policy.key_binding = Some(KbExpectation {
            aud: verifier["expected_aud"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            nonce: verifier["expected_nonce"].as_str().map(str::to_owned),
        });
    }
    policy.expected_typ = verifier["expected_typ"].as_str().map(str::to_owned);
    policy.sd_jwt_vc = verifier["sd_jwt_vc"].as_bool().unwrap_or(false);
    policy
}

/// Parses a public JWK, failing the test on error.
pub fn jwk(value: &Value) -> PublicKey {
    PublicKey::from_jwk(value).unwrap_or_else(|e| panic!("bad JWK: {e}"))
}

//! Status list tests: the IETF and W3C vectors, every Status List Token rule, compression bombs,
//! credential status checks, index allocation, and property tests.

// Tests report failures by panicking with the value that was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc;
mod bombs;
mod check;
mod props;
mod tokens;
mod vectors;

use govid_core::jose::SoftwareSigner;
use serde_json::{Map, Value};

/// Reads a vector file from the repository's `testdata/vectors/` (never skipped if missing).
fn vector_file(name: &str) -> Value {
    let path = format!(
        "{}/../testdata/vectors/status-list/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixed Ed25519 issuer key.
fn issuer_signer() -> SoftwareSigner {
    SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[42; 32]))
}

/// Another Ed25519 key, trusted by nobody.
fn other_signer() -> SoftwareSigner {
    SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[43; 32]))
}

/// The JSON object in `value`.
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

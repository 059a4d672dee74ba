//! Shared helpers for the crypto conformance and DID tests. Vectors live in
//! `testdata/vectors/` at the repository root (see its PROVENANCE.md). A missing file fails the
//! test, never skips it.

#![allow(dead_code)] // Each test crate uses a different subset of these helpers.

use govid_core::jose::{PublicKey, Signer, SoftwareSigner};
use serde_json::{json, Value};

/// Reads and parses `testdata/vectors/<path>`, panicking with the path if it is missing.
pub(crate) fn vector(path: &str) -> Value {
    let full = format!("{}/../testdata/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("conformance vector {full} is missing: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full} is not JSON: {e}"))
}

/// Decodes hex from a vector, panicking on bad test data.
pub(crate) fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap_or_else(|e| panic!("bad hex in vector: {e}"))
}

/// A string member of a vector object.
pub(crate) fn text<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("vector member `{name}` is missing: {value}"))
}

/// An array member of a vector object.
pub(crate) fn list<'a>(value: &'a Value, name: &str) -> &'a Vec<Value> {
    value[name]
        .as_array()
        .unwrap_or_else(|| panic!("vector member `{name}` is not an array"))
}

/// A did:web DID used across the DID tests, and the URL of its document.
pub(crate) const DID: &str = "did:web:hr.agency.example:issuers:payroll";
pub(crate) const URL: &str = "https://hr.agency.example/issuers/payroll/did.json";

/// A deterministic Ed25519 public key.
pub(crate) fn ed25519(n: u8) -> PublicKey {
    SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[n; 32])).public_key()
}

/// A deterministic P-256 public key.
pub(crate) fn p256(n: u8) -> PublicKey {
    let key = p256::ecdsa::SigningKey::from_slice(&[n; 32]).unwrap_or_else(|e| panic!("{e}"));
    SoftwareSigner::P256(key).public_key()
}

/// A `JsonWebKey2020` verification method `#<fragment>` of [`DID`].
pub(crate) fn method(fragment: &str, key: &PublicKey) -> Value {
    json!({"id": format!("#{fragment}"), "type": "JsonWebKey2020", "controller": DID,
           "publicKeyJwk": key.to_jwk()})
}

/// A document of [`DID`] with these methods and `assertionMethod`.
pub(crate) fn doc_with(methods: Vec<Value>, assertion: Value) -> Value {
    json!({"id": DID, "verificationMethod": methods, "assertionMethod": assertion})
}

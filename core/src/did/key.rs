//! did:key (W3C CCG did-method-key v0.7) for Ed25519 and P-256 keys.
//!
//! `did:key:<multikey>`; the one verification method is `did:key:<multikey>#<multikey>`. The DID
//! document is written in the `JsonWebKey2020` form of the CCG test vectors
//! (`test-vectors/nist-curves.json`, and `ed25519-x25519.json` for seed 05): for Ed25519 it also
//! lists the derived X25519 key agreement key, for P-256 the key itself is the key agreement key.

use serde_json::{json, Value};

use super::multikey::{multikey_from_public_key, public_key_from_multikey, x25519_multikey};
use super::url::parse_did_of_method;
use super::DidError;
use crate::b64;
use crate::jose::PublicKey;

/// The did:key DID of a public key.
pub fn did_key_from_public_key(key: &PublicKey) -> String {
    format!("did:key:{}", multikey_from_public_key(key))
}

/// The id of a did:key's verification method, `did:key:z…#z…`.
pub fn did_key_verification_method_id(key: &PublicKey) -> String {
    let multikey = multikey_from_public_key(key);
    format!("did:key:{multikey}#{multikey}")
}

/// The public key a did:key DID (not a DID URL) names.
pub fn public_key_from_did_key(did: &str) -> Result<PublicKey, DidError> {
    let multikey = parse_did_of_method(did, "key")?;
    public_key_from_multikey(multikey)
}

/// The DID document a did:key resolver produces, `JsonWebKey2020` form.
pub fn did_key_document(did: &str) -> Result<Value, DidError> {
    let key = public_key_from_did_key(did)?;
    let vm_id = format!("{did}#{}", &did["did:key:".len()..]);
    let mut methods = vec![json!({
        "id": vm_id,
        "type": "JsonWebKey2020",
        "controller": did,
        "publicKeyJwk": key.to_jwk(),
    })];
    let key_agreement = match &key {
        PublicKey::Ed25519(ed) => {
            let (x_multikey, x25519) = x25519_multikey(ed);
            let x_id = format!("{did}#{x_multikey}");
            methods.push(json!({
                "id": x_id,
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": {"kty": "OKP", "crv": "X25519", "x": b64::encode(x25519)},
            }));
            x_id
        }
        PublicKey::P256(_) => vm_id.clone(),
    };
    Ok(json!({
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/suites/jws-2020/v1"
        ],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [vm_id],
        "authentication": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
        "keyAgreement": [key_agreement],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_methods() {
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let key = public_key_from_did_key(did).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(did_key_from_public_key(&key), did);
        assert_eq!(
            did_key_verification_method_id(&key),
            format!("{did}#{}", &did[8..])
        );
        assert_eq!(
            public_key_from_did_key("did:jwk:eyJ9"),
            Err(DidError::WrongMethod("key"))
        );
        assert_eq!(
            public_key_from_did_key(&format!("{did}#{}", &did[8..])),
            Err(DidError::DidUrl("a DID is expected, not a DID URL"))
        );
        assert_eq!(
            public_key_from_did_key("did:key:1.0:z6Mk"),
            Err(DidError::Multibase("missing the `z` (base58btc) prefix"))
        );
    }
}

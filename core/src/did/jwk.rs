//! did:jwk (quartzjer/did-jwk): `did:jwk:<base64url(JWK JSON)>`, verification method `#0`.
//!
//! govid writes the JWK's required members only, in RFC 7638 / JCS order, so one key gives one
//! DID. It reads any public JWK that [`PublicKey::from_jwk`] accepts, from canonical base64url
//! (no padding, URL alphabet, zero trailing bits): private keys (`d`), encryption keys
//! (`use: enc`) and key types other than Ed25519 and P-256 are refused.

use serde_json::{json, Map, Value};

use super::url::parse_did_of_method;
use super::DidError;
use crate::b64;
use crate::jose::PublicKey;
use crate::json;

/// A JWK is flat; `key_ops` is the only array. Deeper JSON is refused before parsing.
const MAX_JWK_DEPTH: usize = 3;

/// The did:jwk DID of a public key (required members, lexicographic order, no whitespace).
pub fn did_jwk_from_public_key(key: &PublicKey) -> String {
    // `to_jwk` holds only ASCII base64url strings and names; serialized compactly with its
    // members in lexicographic order, it is exactly the JCS (RFC 8785) form.
    let Value::Object(members) = key.to_jwk() else {
        return String::new();
    };
    let body: Vec<String> = members
        .iter()
        .filter_map(|(name, value)| value.as_str().map(|v| format!("\"{name}\":\"{v}\"")))
        .collect();
    format!("did:jwk:{}", b64::encode(format!("{{{}}}", body.join(","))))
}

/// The id of a did:jwk's verification method, `did:jwk:…#0`.
pub fn did_jwk_verification_method_id(key: &PublicKey) -> String {
    format!("{}#0", did_jwk_from_public_key(key))
}

fn decode(did: &str) -> Result<(PublicKey, Map<String, Value>), DidError> {
    if let Some(value) = did.strip_prefix("did:jwk:") {
        // Checked before DID syntax so that padding and the standard alphabet get their own error.
        let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if !value.contains('#') && !value.chars().all(base64url) {
            return Err(DidError::Base64);
        }
    }
    let value = parse_did_of_method(did, "jwk")?;
    let bytes = b64::decode(value).ok_or(DidError::Base64)?;
    let jwk = json::parse_object(&bytes, MAX_JWK_DEPTH).map_err(|_| DidError::Json)?;
    let key = PublicKey::from_jwk(&Value::Object(jwk.clone()))?;
    Ok((key, jwk))
}

/// The public key a did:jwk DID (not a DID URL) holds.
pub fn public_key_from_did_jwk(did: &str) -> Result<PublicKey, DidError> {
    decode(did).map(|(key, _)| key)
}

/// The DID document a did:jwk resolver produces: one `JsonWebKey2020` method `#0` holding the
/// JWK as encoded, in every verification relationship but `keyAgreement` when `use` is `sig`,
/// and in all of them when `use` is absent.
pub fn did_jwk_document(did: &str) -> Result<Value, DidError> {
    let (_, jwk) = decode(did)?;
    let vm_id = format!("{did}#0");
    let signing_only = jwk.get("use").and_then(Value::as_str) == Some("sig");
    let mut doc = json!({
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/suites/jws-2020/v1"
        ],
        "id": did,
        "verificationMethod": [{
            "id": vm_id,
            "type": "JsonWebKey2020",
            "controller": did,
            "publicKeyJwk": jwk,
        }],
        "assertionMethod": [vm_id],
        "authentication": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    });
    if !signing_only {
        doc["keyAgreement"] = json!([vm_id]);
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::JwkError;

    fn did_of(json: &str) -> String {
        format!("did:jwk:{}", b64::encode(json))
    }

    #[test]
    fn refuses_bad_did_jwks() {
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let good = did_of(&format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#));
        assert!(public_key_from_did_jwk(&good).is_ok());
        assert_eq!(
            public_key_from_did_jwk(&format!("{good}=")),
            Err(DidError::Base64)
        );
        // Non-zero trailing bits: "...J9" and "...J-" would decode to the same bytes.
        let mut trailing = good.clone();
        trailing.pop();
        trailing.push('R');
        assert_eq!(public_key_from_did_jwk(&trailing), Err(DidError::Base64));
        assert_eq!(
            public_key_from_did_jwk("did:jwk:e+J9"),
            Err(DidError::Base64)
        );
        assert_eq!(public_key_from_did_jwk(&did_of("[1]")), Err(DidError::Json));
        assert_eq!(
            public_key_from_did_jwk(&did_of(r#"{"a":[[[1]]]}"#)),
            Err(DidError::Json)
        );
        let rsa = did_of(r#"{"kty":"RSA","crv":"x","n":"AQAB","e":"AQAB"}"#);
        assert_eq!(
            public_key_from_did_jwk(&rsa),
            Err(DidError::UnsupportedKeyType)
        );
        let enc = did_of(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","use":"enc"}}"#
        ));
        assert_eq!(
            public_key_from_did_jwk(&enc),
            Err(DidError::Jwk(JwkError::WrongKeyUse))
        );
        assert_eq!(
            public_key_from_did_jwk(&format!("{good}#0")),
            Err(DidError::DidUrl("a DID is expected, not a DID URL"))
        );
    }

    #[test]
    fn document_relationships_follow_use() {
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let sig = did_of(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","use":"sig"}}"#
        ));
        let doc = did_jwk_document(&sig).unwrap_or_else(|e| panic!("{e}"));
        assert!(doc.get("keyAgreement").is_none());
        assert_eq!(doc["assertionMethod"][0], format!("{sig}#0"));
        assert_eq!(doc["verificationMethod"][0]["publicKeyJwk"]["use"], "sig");
    }
}

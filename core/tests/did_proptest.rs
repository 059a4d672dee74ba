//! Property tests: every DID parser takes arbitrary strings without panicking, and did:key /
//! did:jwk round-trip every key.

use govid_core::did::{
    did_jwk_from_public_key, did_key_document, did_key_from_public_key, did_web_document,
    did_web_to_url, offline_document, parse_did_url, public_key_from_did_jwk,
    public_key_from_did_key, public_key_from_multikey, DidDocument, DidResolver,
};
use govid_core::jose::{Algorithm, JwsHeader, PublicKey, Signer, SoftwareSigner};
use govid_core::trust::IssuerResolver;
use proptest::prelude::*;

/// Strings that reach past the first checks: a DID prefix, then DID-ish characters.
fn did_like() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        Just("did:key:z"),
        Just("did:key:"),
        Just("did:jwk:"),
        Just("did:jwk:eyJ"),
        Just("did:web:"),
        Just("did:web:example.com"),
        Just("did:"),
        Just(""),
    ];
    (prefix, "[a-zA-Z0-9%:._#~!=+/-]{0,80}").prop_map(|(p, rest)| format!("{p}{rest}"))
}

fn all_parsers(text: &str) {
    let _ = parse_did_url(text);
    let _ = public_key_from_did_key(text);
    let _ = public_key_from_did_jwk(text);
    let _ = did_web_to_url(text);
    let _ = did_key_document(text);
    let _ = offline_document(text);
    let _ = public_key_from_multikey(text);
    let _ = did_web_document(text, &[("k", ed25519(1))]);
    let _ = DidDocument::parse(text, text.as_bytes(), 16);
    let _ = DidDocument::parse("did:web:example.com", text.as_bytes(), 16);
    let resolver = DidResolver::new(None);
    for alg in Algorithm::ALL {
        let header = JwsHeader {
            alg,
            typ: None,
            kid: Some(text.to_owned()),
            raw: serde_json::Map::new(),
        };
        let _ = resolver.resolve(Some(text), &header);
        let _ = resolver.resolve(None, &header);
    }
}

fn ed25519(n: u8) -> PublicKey {
    SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[n; 32])).public_key()
}

proptest! {
    #[test]
    fn parsers_never_panic_on_any_string(text in any::<String>()) {
        all_parsers(&text);
    }

    #[test]
    fn parsers_never_panic_on_did_like_strings(text in did_like()) {
        all_parsers(&text);
    }

    #[test]
    fn documents_never_panic(doc in "\\{\"id\":\"did:web:example.com\",\"verificationMethod\":\\[\\{\"id\":\"[#a-z:.]{0,20}\",\"type\":\"(Multikey|JsonWebKey2020)\",\"controller\":\"did:web:example.com\",\"publicKey(Multibase|Jwk)\":\"z[1-9A-Za-z]{0,60}\"\\}\\],\"assertionMethod\":\\[\"[#a-z]{0,5}\"\\]\\}") {
        let _ = DidDocument::parse("did:web:example.com", doc.as_bytes(), 16);
    }

    #[test]
    fn ed25519_keys_round_trip(seed in any::<[u8; 32]>()) {
        let key = SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)).public_key();
        prop_assert_eq!(public_key_from_did_key(&did_key_from_public_key(&key)), Ok(key.clone()));
        prop_assert_eq!(public_key_from_did_jwk(&did_jwk_from_public_key(&key)), Ok(key));
    }

    #[test]
    fn p256_keys_round_trip(scalar in any::<[u8; 32]>()) {
        // Scalars of zero or at least the group order are not keys.
        let Ok(secret) = p256::ecdsa::SigningKey::from_slice(&scalar) else {
            return Ok(());
        };
        let key = SoftwareSigner::P256(secret).public_key();
        let did = did_key_from_public_key(&key);
        prop_assert!(did.starts_with("did:key:zDn"));
        prop_assert_eq!(public_key_from_did_key(&did), Ok(key.clone()));
        prop_assert_eq!(public_key_from_did_jwk(&did_jwk_from_public_key(&key)), Ok(key));
    }
}

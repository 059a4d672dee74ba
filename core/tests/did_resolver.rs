//! `DidResolver` as an `IssuerResolver`: did:key and did:jwk offline, did:web through an
//! injected source, the trust list checked before any fetch. Every refusal is tested with its
//! typed error.

mod conformance;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use conformance::{doc_with, ed25519, method, p256, DID, URL};
use govid_core::did::{
    did_jwk_from_public_key, did_key_from_public_key, did_key_verification_method_id,
    did_web_document, DidDocumentSource, DidResolver,
};
use govid_core::jose::{Algorithm, JwsHeader};
use govid_core::trust::{IssuerResolver, ResolveError};
use serde_json::{json, Map, Value};

/// An in-memory did:web source that counts fetches.
#[derive(Default)]
struct Memory {
    documents: HashMap<String, Result<Vec<u8>, ResolveError>>,
    fetches: AtomicUsize,
}

impl DidDocumentSource for Memory {
    fn did_document(&self, url: &str) -> Result<Vec<u8>, ResolveError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.documents
            .get(url)
            .cloned()
            .unwrap_or(Err(ResolveError::DocumentUnavailable))
    }
}

fn header(alg: Algorithm, kid: Option<&str>) -> JwsHeader {
    JwsHeader {
        alg,
        typ: None,
        kid: kid.map(str::to_owned),
        raw: Map::new(),
    }
}

#[test]
fn resolves_did_key_and_did_jwk_offline() {
    let key = ed25519(5);
    let did = did_key_from_public_key(&key);
    let vm = did_key_verification_method_id(&key);
    let fragment = vm
        .split_once('#')
        .map(|(_, f)| format!("#{f}"))
        .unwrap_or_default();
    let any = DidResolver::new(None);
    let ed = |kid: Option<&str>| header(Algorithm::EdDSA, kid);
    assert_eq!(any.resolve(Some(&did), &ed(Some(&vm))), Ok(key.clone()));
    assert_eq!(
        any.resolve(Some(&did), &ed(Some(&fragment))),
        Ok(key.clone())
    );
    assert_eq!(any.resolve(Some(&did), &ed(None)), Ok(key.clone()));
    assert_eq!(any.resolve(None, &ed(Some(&vm))), Ok(key.clone()));
    assert_eq!(any.resolve(None, &ed(Some(&did))), Ok(key.clone()));
    assert_eq!(
        any.resolve(Some(&did), &ed(Some(&key.thumbprint()))),
        Ok(key.clone())
    );
    assert_eq!(
        any.resolve(Some(&did), &ed(Some("#other"))),
        Err(ResolveError::UnknownKey)
    );
    assert_eq!(
        any.resolve(Some(&did), &ed(Some("#"))),
        Err(ResolveError::UnknownKey)
    );
    assert_eq!(
        any.resolve(Some(&did), &ed(Some("thumbprint"))),
        Err(ResolveError::UnknownKey)
    );
    assert_eq!(
        any.resolve(Some(&did), &ed(Some(&format!("{did}#0")))),
        Err(ResolveError::UnknownKey)
    );

    let p = p256(6);
    let jwk_did = did_jwk_from_public_key(&p);
    let es = |kid: &str| header(Algorithm::ES256, Some(kid).filter(|k| !k.is_empty()));
    assert_eq!(any.resolve(Some(&jwk_did), &es("#0")), Ok(p.clone()));
    assert_eq!(
        any.resolve(None, &es(&format!("{jwk_did}#0"))),
        Ok(p.clone())
    );
    assert_eq!(any.resolve(Some(&jwk_did), &es("")), Ok(p.clone()));
    assert_eq!(
        any.resolve(Some(&jwk_did), &es("#1")),
        Err(ResolveError::UnknownKey)
    );
}

#[test]
fn resolver_refusals() {
    let key = ed25519(5);
    let did = did_key_from_public_key(&key);
    let other = did_key_from_public_key(&ed25519(7));
    let any = DidResolver::new(None);
    let ed = |kid: Option<&str>| header(Algorithm::EdDSA, kid);
    let other_vm = format!("{other}#{}", &other["did:key:".len()..]);
    assert_eq!(
        any.resolve(Some(&did), &ed(Some(&other_vm))),
        Err(ResolveError::KidNotIssuer)
    );
    assert_eq!(any.resolve(None, &ed(None)), Err(ResolveError::InvalidDid));
    assert_eq!(
        any.resolve(None, &ed(Some("#key-1"))),
        Err(ResolveError::InvalidDid)
    );
    assert_eq!(
        any.resolve(Some("https://hr.example"), &ed(None)),
        Err(ResolveError::InvalidDid)
    );
    assert_eq!(
        any.resolve(Some(&format!("{did}#x")), &ed(None)),
        Err(ResolveError::InvalidDid)
    );
    assert_eq!(
        any.resolve(Some("did:key:zBad0"), &ed(None)),
        Err(ResolveError::InvalidDid)
    );
    assert_eq!(
        any.resolve(Some("did:jwk:e30"), &ed(None)),
        Err(ResolveError::InvalidDid)
    );
    assert_eq!(
        any.resolve(None, &ed(Some("did:key:z6Mk#a b"))),
        Err(ResolveError::InvalidDid)
    );
    assert_eq!(
        any.resolve(Some("did:example:123"), &ed(None)),
        Err(ResolveError::UnsupportedDidMethod)
    );
    // Resolving is not trusting: a gate lists its issuers.
    let gate = DidResolver::new(Some(vec![other.clone()]));
    assert_eq!(
        gate.resolve(Some(&did), &ed(None)),
        Err(ResolveError::UntrustedIssuer)
    );
    assert_eq!(
        gate.resolve(None, &ed(Some(&format!("{did}#x")))),
        Err(ResolveError::UntrustedIssuer)
    );
    assert!(gate.resolve(Some(&other), &ed(None)).is_ok());
    assert!(!gate.is_trusted(&did));
    assert_eq!(
        gate.document(&did).err(),
        Some(ResolveError::UntrustedIssuer)
    );
    assert!(gate.document(&other).is_ok());
}

fn web_resolver(
    body: Result<Vec<u8>, ResolveError>,
    trusted: Option<Vec<String>>,
) -> (DidResolver, Arc<Memory>) {
    let mut memory = Memory::default();
    memory.documents.insert(URL.to_owned(), body);
    let memory = Arc::new(memory);
    let resolver = DidResolver::new(trusted).with_document_source(memory.clone());
    (resolver, memory)
}

#[test]
fn resolves_did_web_through_the_source() {
    let doc = did_web_document(DID, &[("key-1", ed25519(1)), ("key-2", p256(2))])
        .unwrap_or_else(|e| panic!("{e}"));
    let body = Ok(doc.to_string().into_bytes());
    let (resolver, memory) = web_resolver(body, Some(vec![DID.to_owned()]));
    let ed = |kid: Option<&str>| header(Algorithm::EdDSA, kid);
    assert_eq!(
        resolver.resolve(Some(DID), &ed(Some("#key-1"))),
        Ok(ed25519(1))
    );
    let absolute = format!("{DID}#key-2");
    assert_eq!(resolver.resolve(None, &ed(Some(&absolute))), Ok(p256(2)));
    // No kid: the only assertion key of the JWS's algorithm.
    assert_eq!(resolver.resolve(Some(DID), &ed(None)), Ok(ed25519(1)));
    assert_eq!(
        resolver.resolve(Some(DID), &header(Algorithm::ES256, None)),
        Ok(p256(2))
    );
    assert_eq!(
        resolver.resolve(Some(DID), &ed(Some(&p256(2).thumbprint()))),
        Ok(p256(2))
    );
    assert_eq!(
        resolver.resolve(Some(DID), &ed(Some("#key-3"))),
        Err(ResolveError::UnknownKey)
    );
    assert_eq!(
        resolver.resolve(Some(DID), &ed(Some("nope"))),
        Err(ResolveError::UnknownKey)
    );
    assert_eq!(memory.fetches.load(Ordering::SeqCst), 7);
    let parsed = resolver.document(DID).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(parsed.assertion_methods().count(), 2);
}

#[test]
fn did_web_refusals() {
    let ed = |kid: Option<&str>| header(Algorithm::EdDSA, kid);
    let body = |doc: Value| Ok(doc.to_string().into_bytes());
    // Two Ed25519 assertion keys and no kid.
    let two = did_web_document(DID, &[("a", ed25519(1)), ("b", ed25519(2))]);
    let (r, _) = web_resolver(body(two.unwrap_or_default()), None);
    assert_eq!(
        r.resolve(Some(DID), &ed(None)),
        Err(ResolveError::AmbiguousKey)
    );
    assert_eq!(
        r.resolve(Some(DID), &header(Algorithm::ES256, None)),
        Err(ResolveError::UnknownKey)
    );
    // A key that is not an assertion method.
    let auth_only = json!({"id": DID, "verificationMethod": [method("k", &ed25519(1))],
                           "authentication": ["#k"]});
    let (r, _) = web_resolver(body(auth_only), None);
    assert_eq!(
        r.resolve(Some(DID), &ed(Some("#k"))),
        Err(ResolveError::UnknownKey)
    );
    // The document of another DID.
    let (r, _) = web_resolver(body(json!({"id": "did:web:evil.example"})), None);
    assert_eq!(
        r.resolve(Some(DID), &ed(None)),
        Err(ResolveError::InvalidDocument)
    );
    // Too large, checked by the resolver whatever the source did.
    let big = doc_with(vec![method("k", &ed25519(1))], json!(["#k"]));
    let mut big = big.to_string().into_bytes();
    big.truncate(big.len() - 1);
    big.extend(std::iter::repeat_n(b' ', 70_000));
    big.push(b'}');
    let (r, _) = web_resolver(Ok(big.clone()), None);
    assert_eq!(
        r.resolve(Some(DID), &ed(None)),
        Err(ResolveError::DocumentTooLarge)
    );
    let (r, _) = web_resolver(Ok(big), None);
    let r = r.with_limits(128 * 1024, 16);
    assert_eq!(r.resolve(Some(DID), &ed(None)), Ok(ed25519(1)));
    // Too deep.
    let deep = format!(
        r#"{{"id":"{DID}","x":{}{}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    let (r, _) = web_resolver(Ok(deep.into_bytes()), None);
    assert_eq!(
        r.resolve(Some(DID), &ed(None)),
        Err(ResolveError::InvalidDocument)
    );
    // The source's own errors pass through.
    let (r, _) = web_resolver(Err(ResolveError::DocumentTooLarge), None);
    assert_eq!(
        r.resolve(Some(DID), &ed(None)),
        Err(ResolveError::DocumentTooLarge)
    );
    let (r, _) = web_resolver(Err(ResolveError::DocumentUnavailable), None);
    assert_eq!(
        r.resolve(Some(DID), &ed(None)),
        Err(ResolveError::DocumentUnavailable)
    );
    // No source at all.
    let offline = DidResolver::new(None);
    assert_eq!(
        offline.resolve(Some(DID), &ed(None)),
        Err(ResolveError::DocumentUnavailable)
    );
    // A malformed did:web is refused before anything is fetched.
    let (r, memory) = web_resolver(Ok(Vec::new()), None);
    assert_eq!(
        r.resolve(Some("did:web:10.0.0.1"), &ed(None)),
        Err(ResolveError::InvalidDid)
    );
    assert_eq!(
        r.resolve(Some("did:web:a.example::x"), &ed(None)),
        Err(ResolveError::InvalidDid)
    );
    assert_eq!(memory.fetches.load(Ordering::SeqCst), 0);
}

#[test]
fn untrusted_did_web_is_never_fetched() {
    let (r, memory) = web_resolver(
        Ok(b"{}".to_vec()),
        Some(vec!["did:web:other.example".to_owned()]),
    );
    let ed = header(Algorithm::EdDSA, Some("#key-1"));
    assert_eq!(
        r.resolve(Some(DID), &ed),
        Err(ResolveError::UntrustedIssuer)
    );
    assert_eq!(r.document(DID).err(), Some(ResolveError::UntrustedIssuer));
    assert_eq!(memory.fetches.load(Ordering::SeqCst), 0);
}

//! DID documents: reading them strictly, and writing a did:web document for an issuer. Every
//! refusal has its own case with its typed error.

mod conformance;

use conformance::{doc_with, ed25519, method, p256, DID};
use govid_core::did::{did_web_document, DidDocument, DidError};
use govid_core::jose::JwkError;
use govid_core::json::JsonError;
use serde_json::{json, Value};

fn parse(doc: &Value) -> Result<DidDocument, DidError> {
    DidDocument::parse(DID, doc.to_string().as_bytes(), 16)
}

#[test]
fn did_web_document_round_trips() {
    let keys = [("key-1", ed25519(1)), ("#key-2", p256(2))];
    let doc = did_web_document(DID, &keys).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        doc["assertionMethod"],
        json!([format!("{DID}#key-1"), format!("{DID}#key-2")])
    );
    let parsed = parse(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.id(), DID);
    let keys_back: Vec<_> = parsed.assertion_methods().map(|m| m.key.clone()).collect();
    assert_eq!(keys_back, vec![ed25519(1), p256(2)]);
    let by_fragment = parsed.assertion_method("#key-2").map(|m| &m.key);
    assert_eq!(by_fragment, Some(&p256(2)));
    let by_url = parsed.assertion_method(&format!("{DID}#key-1"));
    assert_eq!(
        by_url.map(|m| m.id.as_str()),
        Some(&*format!("{DID}#key-1"))
    );
    assert!(parsed.assertion_method("#key-3").is_none());
    assert!(parsed.assertion_method("key-1").is_none());
    assert!(parsed
        .assertion_method("did:web:other.example#key-1")
        .is_none());
}

#[test]
fn did_web_document_refuses_bad_input() {
    let key = [("key-1", ed25519(1))];
    assert_eq!(
        did_web_document("did:key:z6Mk", &key),
        Err(DidError::WrongMethod("web"))
    );
    assert!(matches!(
        did_web_document("did:web:127.0.0.1", &key),
        Err(DidError::Web(_))
    ));
    assert_eq!(
        did_web_document(DID, &[]),
        Err(DidError::Document("no keys"))
    );
    assert_eq!(
        did_web_document(DID, &[("a b", ed25519(1))]),
        Err(DidError::Document("bad key fragment"))
    );
    assert_eq!(
        did_web_document(DID, &[("", ed25519(1))]),
        Err(DidError::Document("bad key fragment"))
    );
    assert_eq!(
        did_web_document(DID, &[("k", ed25519(1)), ("#k", p256(2))]),
        Err(DidError::Document("duplicate verification method id"))
    );
}

#[test]
fn documents_read_multikeys_embedded_methods_and_skip_unsupported_ones() {
    let ed = ed25519(3);
    let p = p256(4);
    let doc = json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": DID,
        "verificationMethod": [
            {"id": format!("{DID}#mk"), "type": "Multikey", "controller": DID,
             "publicKeyMultibase": govid_core::did::multikey_from_public_key(&p)},
            {"id": "#rsa", "type": "RsaVerificationKey2018", "controller": DID,
             "publicKeyPem": "-----BEGIN PUBLIC KEY-----"},
            {"id": "#p384", "type": "JsonWebKey2020", "controller": DID,
             "publicKeyJwk": {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}},
            {"id": "#auth-only", "type": "JsonWebKey2020", "controller": DID,
             "publicKeyJwk": ed25519(9).to_jwk()},
        ],
        "authentication": ["#auth-only"],
        "assertionMethod": [
            "#mk", "#rsa", "#p384", "did:web:elsewhere.example#key-1",
            {"id": "#embedded", "type": "Ed25519VerificationKey2020", "controller": DID,
             "publicKeyMultibase": govid_core::did::multikey_from_public_key(&ed)},
        ],
        "service": [{"id": "#s", "type": "LinkedDomains", "serviceEndpoint": "https://x.example"}],
    });
    let parsed = parse(&doc).unwrap_or_else(|e| panic!("{e}"));
    let assertion: Vec<_> = parsed.assertion_methods().map(|m| m.id.clone()).collect();
    assert_eq!(
        assertion,
        vec![format!("{DID}#embedded"), format!("{DID}#mk")]
    );
    assert_eq!(parsed.verification_methods().len(), 3);
    assert!(parsed.assertion_method("#auth-only").is_none());
    assert!(parsed.assertion_method("#rsa").is_none());
}

/// One malformed document per refusal, with the error it must give.
#[test]
fn documents_are_refused_with_specific_errors() {
    let ed = ed25519(1);
    let good = method("key-1", &ed);
    let with_method = |m: Value| doc_with(vec![m], json!(["#key-1"]));
    let patched = |name: &str, value: Value| {
        let mut m = good.clone();
        m[name] = value;
        with_method(m)
    };
    let removed = |name: &str| {
        let mut m = good.clone();
        m.as_object_mut().map(|m| m.remove(name));
        with_method(m)
    };
    let d = DidError::Document;
    let cases: Vec<(&str, Value, DidError)> = vec![
        (
            "id differs",
            json!({"id": "did:web:evil.example"}),
            DidError::DocumentIdMismatch,
        ),
        (
            "id missing",
            json!({"verificationMethod": []}),
            d("no `id`"),
        ),
        (
            "vm not array",
            json!({"id": DID, "verificationMethod": {}}),
            d("`verificationMethod` is not an array"),
        ),
        (
            "vm not object",
            doc_with(vec![json!("#key-1")], json!([])),
            d("verification method is not an object"),
        ),
        (
            "vm id missing",
            removed("id"),
            d("verification method has no `id`"),
        ),
        (
            "vm id other DID",
            patched("id", json!("did:web:evil.example#key-1")),
            d("verification method id is not under the document's DID"),
        ),
        (
            "vm id no fragment",
            patched("id", json!(DID)),
            d("verification method id has no fragment"),
        ),
        (
            "vm id not DID URL",
            patched("id", json!("key-1")),
            d("verification method id is not a DID URL"),
        ),
        (
            "vm id bad fragment",
            patched("id", json!("#a b")),
            d("verification method id has a bad fragment"),
        ),
        (
            "controller other",
            patched("controller", json!("did:web:evil.example")),
            d("verification method `controller` is not the document's DID"),
        ),
        (
            "controller missing",
            removed("controller"),
            d("verification method `controller` is not the document's DID"),
        ),
        (
            "type missing",
            removed("type"),
            d("verification method has no `type`"),
        ),
        (
            "both key forms",
            patched("publicKeyMultibase", json!("z6Mk")),
            d("verification method has both `publicKeyJwk` and `publicKeyMultibase`"),
        ),
        (
            "key member missing",
            patched("type", json!("Multikey")),
            d("verification method lacks the key member its type needs"),
        ),
        (
            "private JWK",
            patched(
                "publicKeyJwk",
                json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}),
            ),
            DidError::Jwk(JwkError::PrivateKeyMaterial),
        ),
        (
            "bad JWK",
            patched(
                "publicKeyJwk",
                json!({"kty":"OKP","crv":"Ed25519","x":"AA"}),
            ),
            DidError::Jwk(JwkError::BadCoordinate("x")),
        ),
        (
            "enc JWK",
            patched(
                "publicKeyJwk",
                json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"enc"}),
            ),
            DidError::Jwk(JwkError::WrongKeyUse),
        ),
        (
            "multibase not string",
            json!({"id": DID, "verificationMethod": [{"id":"#m","type":"Multikey","controller":DID,"publicKeyMultibase":7}]}),
            d("`publicKeyMultibase` is not a string"),
        ),
        (
            "bad multibase",
            json!({"id": DID, "verificationMethod": [{"id":"#m","type":"Multikey","controller":DID,"publicKeyMultibase":"u6Mk"}]}),
            DidError::Multibase("missing the `z` (base58btc) prefix"),
        ),
        (
            "2020 type with P-256",
            json!({"id": DID, "verificationMethod": [{"id":"#m","type":"Ed25519VerificationKey2020","controller":DID,"publicKeyMultibase":govid_core::did::multikey_from_public_key(&p256(2))}]}),
            d("Ed25519VerificationKey2020 holds another key type"),
        ),
        (
            "duplicate ids",
            doc_with(
                vec![good.clone(), patched_id(&good, &format!("{DID}#key-1"))],
                json!([]),
            ),
            d("duplicate verification method id"),
        ),
        (
            "embedded duplicate",
            doc_with(vec![good.clone()], json!([good.clone()])),
            d("duplicate verification method id"),
        ),
        (
            "assertion missing",
            doc_with(vec![good.clone()], json!(["#key-2"])),
            d("`assertionMethod` references a missing verification method"),
        ),
        (
            "assertion bad ref",
            doc_with(vec![good.clone()], json!(["key-1"])),
            d("verification method id is not a DID URL"),
        ),
        (
            "assertion not array",
            doc_with(vec![good.clone()], json!("#key-1")),
            d("`assertionMethod` is not an array"),
        ),
        (
            "assertion bad entry",
            doc_with(vec![good.clone()], json!([1])),
            d("bad `assertionMethod` entry"),
        ),
    ];
    for (name, doc, expected) in cases {
        assert_eq!(parse(&doc).err(), Some(expected), "{name}");
    }
    assert_eq!(
        DidDocument::parse(DID, b"{", 16).err(),
        Some(DidError::DocumentJson(JsonError::Syntax))
    );
    assert_eq!(
        DidDocument::parse(DID, b"[]", 16).err(),
        Some(DidError::DocumentJson(JsonError::NotAnObject))
    );
    let deep = format!(
        r#"{{"id":"{DID}","x":{}{}}}"#,
        "[".repeat(20),
        "]".repeat(20)
    );
    assert_eq!(
        DidDocument::parse(DID, deep.as_bytes(), 16).err(),
        Some(DidError::DocumentJson(JsonError::TooDeep { max: 16 }))
    );
    assert!(matches!(
        DidDocument::parse("not a did", b"{}", 16),
        Err(DidError::Syntax(_))
    ));
}

fn patched_id(method: &Value, id: &str) -> Value {
    let mut m = method.clone();
    m["id"] = json!(id);
    m
}

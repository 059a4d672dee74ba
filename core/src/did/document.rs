//! DID documents (DID Core §5): strict reading of the verification methods a verifier may use,
//! and writing a did:web document for an issuer to publish.
//!
//! Read: the document's `id` must be the resolved DID. Each `verificationMethod` needs an `id`
//! under that DID (`#frag` or `<did>#frag`, unique), a `type` and a `controller` equal to the
//! DID. Methods of type `JsonWebKey2020`/`JsonWebKey` (`publicKeyJwk`) and `Multikey`/
//! `Ed25519VerificationKey2020` (`publicKeyMultibase`) holding an Ed25519 or P-256 key are
//! kept; other types and key types are skipped, but a supported method whose key is malformed,
//! private or ambiguous (both forms) fails the whole document. `assertionMethod` entries are
//! references (relative or absolute) to those methods, or embedded methods; references to other
//! DIDs are ignored, references to missing methods of this DID fail the document.

use serde_json::{json, Map, Value};

use super::multikey::public_key_from_multikey;
use super::url::{is_valid_fragment, parse_did, parse_did_url};
use super::DidError;
use crate::jose::PublicKey;
use crate::json;

/// A verification method govid can use: its absolute id (`<did>#<fragment>`) and its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationMethod {
    /// The absolute DID URL of the method.
    pub id: String,
    /// The public key.
    pub key: PublicKey,
}

/// The parts of a DID document govid uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DidDocument {
    id: String,
    methods: Vec<VerificationMethod>,
    /// Indices into `methods` of the assertion methods, in document order.
    assertion: Vec<usize>,
}

/// Makes a method id absolute, checking it is under `did`.
fn absolute_id(did: &str, id: &str) -> Result<String, DidError> {
    if let Some(fragment) = id.strip_prefix('#') {
        if !is_valid_fragment(fragment) {
            return Err(DidError::Document(
                "verification method id has a bad fragment",
            ));
        }
        return Ok(format!("{did}#{fragment}"));
    }
    let url = parse_did_url(id)
        .map_err(|_| DidError::Document("verification method id is not a DID URL"))?;
    match url.fragment {
        Some(_) if url.did == did => Ok(id.to_owned()),
        Some(_) => Err(DidError::Document(
            "verification method id is not under the document's DID",
        )),
        None => Err(DidError::Document("verification method id has no fragment")),
    }
}

/// The method's key; `None` for types and key types govid does not use (skipped, not refused).
fn key_of(method: &Map<String, Value>) -> Result<Option<PublicKey>, DidError> {
    match supported_key_of(method) {
        Err(DidError::UnsupportedKeyType) => Ok(None),
        other => other,
    }
}

fn supported_key_of(method: &Map<String, Value>) -> Result<Option<PublicKey>, DidError> {
    let kind = method
        .get("type")
        .and_then(Value::as_str)
        .ok_or(DidError::Document("verification method has no `type`"))?;
    let jwk = method.get("publicKeyJwk");
    let multibase = method.get("publicKeyMultibase");
    let result = match (kind, jwk, multibase) {
        (
            "JsonWebKey2020" | "JsonWebKey" | "Multikey" | "Ed25519VerificationKey2020",
            Some(_),
            Some(_),
        ) => {
            return Err(DidError::Document(
                "verification method has both `publicKeyJwk` and `publicKeyMultibase`",
            ))
        }
        ("JsonWebKey2020" | "JsonWebKey", Some(jwk), None) => PublicKey::from_jwk(jwk)?,
        ("Multikey" | "Ed25519VerificationKey2020", None, Some(text)) => {
            let text = text
                .as_str()
                .ok_or(DidError::Document("`publicKeyMultibase` is not a string"))?;
            let key = public_key_from_multikey(text)?;
            if kind == "Ed25519VerificationKey2020" && !matches!(key, PublicKey::Ed25519(_)) {
                return Err(DidError::Document(
                    "Ed25519VerificationKey2020 holds another key type",
                ));
            }
            key
        }
        ("JsonWebKey2020" | "JsonWebKey" | "Multikey" | "Ed25519VerificationKey2020", _, _) => {
            return Err(DidError::Document(
                "verification method lacks the key member its type needs",
            ))
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}

impl DidDocument {
    /// Parses untrusted document bytes for `did`, refusing JSON nested deeper than
    /// `max_json_depth`. The caller bounds the size before reading.
    pub fn parse(did: &str, bytes: &[u8], max_json_depth: usize) -> Result<Self, DidError> {
        let doc = json::parse_object(bytes, max_json_depth).map_err(DidError::DocumentJson)?;
        Self::from_object(did, &doc)
    }

    /// Reads a document already parsed as JSON (for example from [`super::offline_document`]).
    pub fn from_value(did: &str, doc: &Value) -> Result<Self, DidError> {
        let doc = doc
            .as_object()
            .ok_or(DidError::DocumentJson(json::JsonError::NotAnObject))?;
        Self::from_object(did, doc)
    }

    fn from_object(did: &str, doc: &Map<String, Value>) -> Result<Self, DidError> {
        parse_did(did)?;
        match doc.get("id").and_then(Value::as_str) {
            Some(id) if id == did => {}
            Some(_) => return Err(DidError::DocumentIdMismatch),
            None => return Err(DidError::Document("no `id`")),
        }
        let mut all_ids: Vec<String> = Vec::new();
        let mut methods = Vec::new();
        let mut read_method =
            |value: &Value, all_ids: &mut Vec<String>| -> Result<Option<usize>, DidError> {
                let method = value
                    .as_object()
                    .ok_or(DidError::Document("verification method is not an object"))?;
                let id = method
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or(DidError::Document("verification method has no `id`"))?;
                let id = absolute_id(did, id)?;
                if all_ids.contains(&id) {
                    return Err(DidError::Document("duplicate verification method id"));
                }
                all_ids.push(id.clone());
                if method.get("controller").and_then(Value::as_str) != Some(did) {
                    return Err(DidError::Document(
                        "verification method `controller` is not the document's DID",
                    ));
                }
                Ok(key_of(method)?.map(|key| {
                    methods.push(VerificationMethod { id, key });
                    methods.len() - 1
                }))
            };
        let listed = match doc.get("verificationMethod") {
            None => &[][..],
            Some(Value::Array(list)) => list.as_slice(),
            Some(_) => return Err(DidError::Document("`verificationMethod` is not an array")),
        };
        for value in listed {
            read_method(value, &mut all_ids)?;
        }
        let mut embedded = Vec::new();
        let mut references = Vec::new();
        match doc.get("assertionMethod") {
            None => {}
            Some(Value::Array(list)) => {
                for entry in list {
                    match entry {
                        Value::String(reference) => references.push(reference.as_str()),
                        Value::Object(_) => {
                            if let Some(index) = read_method(entry, &mut all_ids)? {
                                embedded.push(index);
                            }
                        }
                        _ => return Err(DidError::Document("bad `assertionMethod` entry")),
                    }
                }
            }
            Some(_) => return Err(DidError::Document("`assertionMethod` is not an array")),
        }
        let mut assertion = embedded;
        for reference in references {
            let id = match absolute_id(did, reference) {
                Ok(id) => id,
                // A method of another DID: not this issuer's key.
                Err(_) if parse_did_url(reference).is_ok_and(|u| u.did != did) => continue,
                Err(e) => return Err(e),
            };
            if !all_ids.contains(&id) {
                return Err(DidError::Document(
                    "`assertionMethod` references a missing verification method",
                ));
            }
            if let Some(index) = methods.iter().position(|m| m.id == id) {
                if !assertion.contains(&index) {
                    assertion.push(index);
                }
            }
        }
        Ok(Self {
            id: did.to_owned(),
            methods,
            assertion,
        })
    }

    /// The document's DID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Every usable verification method (supported type and key), embedded ones included.
    pub fn verification_methods(&self) -> &[VerificationMethod] {
        &self.methods
    }

    /// The usable methods listed under `assertionMethod`: the keys that may sign credentials.
    pub fn assertion_methods(&self) -> impl Iterator<Item = &VerificationMethod> {
        self.assertion.iter().filter_map(|&i| self.methods.get(i))
    }

    /// The assertion method a JWS `kid` names: a DID URL `<did>#frag` of this DID or a bare
    /// `#frag`. `None` when the kid names no assertion method of this document.
    pub fn assertion_method(&self, kid: &str) -> Option<&VerificationMethod> {
        let id = absolute_id(&self.id, kid).ok()?;
        self.assertion_methods().find(|m| m.id == id)
    }
}

/// A did:web document for an issuer to publish at [`super::did_web_to_url`]: one
/// `JsonWebKey2020` method per `(fragment, key)`, all of them assertion methods.
pub fn did_web_document(did: &str, keys: &[(&str, PublicKey)]) -> Result<Value, DidError> {
    super::did_web_to_url(did)?;
    if keys.is_empty() {
        return Err(DidError::Document("no keys"));
    }
    let mut ids: Vec<String> = Vec::new();
    let mut methods = Vec::new();
    for (fragment, key) in keys {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        if !is_valid_fragment(fragment) {
            return Err(DidError::Document("bad key fragment"));
        }
        let id = format!("{did}#{fragment}");
        if ids.contains(&id) {
            return Err(DidError::Document("duplicate verification method id"));
        }
        methods.push(json!({
            "id": id,
            "type": "JsonWebKey2020",
            "controller": did,
            "publicKeyJwk": key.to_jwk(),
        }));
        ids.push(id);
    }
    Ok(json!({
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/suites/jws-2020/v1"
        ],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
    }))
}

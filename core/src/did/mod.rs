//! Decentralized identifiers for issuers and holders: did:key, did:jwk and did:web.
//!
//! Written here, small and strict, rather than taken from `ssi`'s DID method crates: those depend
//! on `ssi-jwk`, and every `ssi-jwk` release (0.2–0.4) pulls `ssi-claims-core` → `ssi-eip712`,
//! which switches on serde_json's `arbitrary_precision` for the whole build and brings ~540 crates
//! into a phone library. govid needs three methods and two key types (Ed25519, P-256):
//!
//! - did:key ([`did_key_from_public_key`], [`public_key_from_did_key`], [`did_key_document`]):
//!   multibase base58btc of a multicodec-prefixed key (`ed25519-pub` 0xed, `p256-pub` 0x1200 with
//!   the compressed point), one text form per key.
//! - did:jwk ([`did_jwk_from_public_key`], [`public_key_from_did_jwk`], [`did_jwk_document`]):
//!   canonical base64url of the public JWK; private keys are refused.
//! - did:web ([`did_web_to_url`], [`DidDocument`], [`did_web_document`]): the HTTPS URL of the
//!   document, and strict parsing of the fetched document.
//!
//! [`DidResolver`] turns these into an [`IssuerResolver`](crate::trust::IssuerResolver). Nothing
//! here does I/O: did:web documents come through a [`DidDocumentSource`] the caller injects.

mod document;
mod jwk;
mod key;
mod multikey;
mod resolver;
mod url;
mod web;

pub use document::{did_web_document, DidDocument, VerificationMethod};
pub use jwk::{
    did_jwk_document, did_jwk_from_public_key, did_jwk_verification_method_id,
    public_key_from_did_jwk,
};
pub use key::{
    did_key_document, did_key_from_public_key, did_key_verification_method_id,
    public_key_from_did_key,
};
pub use multikey::{multikey_from_public_key, public_key_from_multikey};
pub use resolver::{
    DidDocumentSource, DidResolver, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_DEPTH,
};
pub use url::{parse_did_url, DidUrl, MAX_DID_LENGTH};
pub use web::did_web_to_url;

use crate::jose::JwkError;
use crate::json::JsonError;

/// Why a DID, DID URL or DID document was refused. Variants never carry the input itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidError {
    /// Not DID syntax (`did:<method>:<method-specific-id>`, DID Core §3.1).
    #[error("not a DID: {0}")]
    Syntax(&'static str),
    /// A DID URL govid does not accept (paths, queries, bad fragments).
    #[error("DID URL: {0}")]
    DidUrl(&'static str),
    /// The DID method is not one govid implements.
    #[error("DID method is not did:key, did:jwk or did:web")]
    UnsupportedMethod,
    /// A DID of another method was given where this one was expected.
    #[error("expected a did:{0} DID")]
    WrongMethod(&'static str),
    /// The multibase value is not base58btc (`z` prefix, Bitcoin alphabet).
    #[error("multibase: {0}")]
    Multibase(&'static str),
    /// The multicodec prefix is not a minimal unsigned varint.
    #[error("multicodec prefix is not a valid varint")]
    Multicodec,
    /// The key type is neither Ed25519 nor P-256.
    #[error("unsupported key type (govid supports Ed25519 and P-256)")]
    UnsupportedKeyType,
    /// The key bytes have the wrong length for their type.
    #[error("key is {actual} bytes where {expected} are expected")]
    KeyLength {
        /// Length the key type needs.
        expected: usize,
        /// Length found.
        actual: usize,
    },
    /// The key bytes are not a valid point (or not the canonical compressed form).
    #[error("key bytes are not a valid public key")]
    InvalidKey,
    /// The did:jwk value is not canonical base64url (no padding, URL alphabet).
    #[error("did:jwk is not canonical base64url")]
    Base64,
    /// The did:jwk value does not decode to a JSON object.
    #[error("did:jwk does not hold a JSON object")]
    Json,
    /// The embedded JWK was refused (private key material, bad coordinates, wrong use...).
    #[error("JWK: {0}")]
    Jwk(JwkError),
    /// A did:web DID that does not name an HTTPS location (DID web method §3.1).
    #[error("did:web: {0}")]
    Web(&'static str),
    /// The method cannot be resolved without fetching a document (did:web).
    #[error("did:web needs its DID document to be fetched")]
    NeedsDocument,
    /// The DID document is not valid JSON, not an object, or too deep.
    #[error("DID document: {0}")]
    DocumentJson(JsonError),
    /// The DID document is larger than the limit.
    #[error("DID document is larger than {max} bytes")]
    DocumentTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// The DID document's `id` is not the DID that was resolved.
    #[error("DID document `id` is not the resolved DID")]
    DocumentIdMismatch,
    /// The DID document is structurally invalid.
    #[error("DID document: {0}")]
    Document(&'static str),
}

impl From<JwkError> for DidError {
    fn from(e: JwkError) -> Self {
        match e {
            JwkError::Unsupported => DidError::UnsupportedKeyType,
            other => DidError::Jwk(other),
        }
    }
}

impl From<DidError> for crate::trust::ResolveError {
    fn from(e: DidError) -> Self {
        use crate::trust::ResolveError;
        match e {
            DidError::UnsupportedMethod => ResolveError::UnsupportedDidMethod,
            DidError::DocumentTooLarge { .. } => ResolveError::DocumentTooLarge,
            DidError::DocumentJson(_) | DidError::DocumentIdMismatch | DidError::Document(_) => {
                ResolveError::InvalidDocument
            }
            DidError::NeedsDocument => ResolveError::DocumentUnavailable,
            _ => ResolveError::InvalidDid,
        }
    }
}

/// The DID document of a DID that resolves without the network (did:key, did:jwk), as the
/// method's resolver produces it. did:web gives [`DidError::NeedsDocument`].
pub fn offline_document(did: &str) -> Result<serde_json::Value, DidError> {
    let url = parse_did_url(did)?;
    if url.fragment.is_some() {
        return Err(DidError::DidUrl("a DID is expected, not a DID URL"));
    }
    match url.method {
        "key" => did_key_document(did),
        "jwk" => did_jwk_document(did),
        "web" => did_web_to_url(did).and(Err(DidError::NeedsDocument)),
        _ => Err(DidError::UnsupportedMethod),
    }
}

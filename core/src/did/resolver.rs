//! [`DidResolver`]: an [`IssuerResolver`] for issuers identified by DIDs.
//!
//! did:key and did:jwk resolve offline: the DID carries the key. did:web documents are fetched
//! through an injected [`DidDocumentSource`] (the server implements it over its HTTP cache with
//! timeouts), bounded in size and JSON depth.
//!
//! **Trust.** Resolving is not trusting: anyone can make a did:key that resolves. A verifier that
//! admits people (the gate server) always builds its resolver with `trusted: Some(list)` of the
//! issuer DIDs it accepts; the list is checked before anything is fetched, so a credential cannot
//! make the gate contact a host of its choosing. `None` (trust every DID that resolves) is for
//! tools that only inspect, such as `govid-verifier resolve`.

use std::fmt;
use std::sync::Arc;

use super::document::DidDocument;
use super::url::{parse_did, parse_did_url};
use super::{
    did_jwk_document, did_key_document, did_web_to_url, public_key_from_did_jwk,
    public_key_from_did_key,
};
use crate::jose::{JwsHeader, PublicKey};
use crate::trust::{IssuerResolver, ResolveError};

/// Default limit on a fetched DID document's size: 64 KiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Default limit on a fetched DID document's JSON nesting.
pub const DEFAULT_MAX_DOCUMENT_DEPTH: usize = 16;

/// Fetches did:web documents. Synchronous: the server answers from its HTTP cache, refreshed in
/// the background with timeouts; a wallet or test answers from memory.
pub trait DidDocumentSource: Send + Sync {
    /// The body at `url` (an `https://` URL from [`did_web_to_url`]), or
    /// [`ResolveError::DocumentUnavailable`]. Implementations should stop reading past the
    /// resolver's size limit and may answer [`ResolveError::DocumentTooLarge`]; the resolver checks
    /// the size again.
    fn did_document(&self, url: &str) -> Result<Vec<u8>, ResolveError>;
}

/// Resolves issuer keys from DIDs: did:key and did:jwk offline, did:web through a
/// [`DidDocumentSource`], optionally restricted to a list of trusted DIDs.
#[derive(Clone)]
pub struct DidResolver {
    trusted: Option<Vec<String>>,
    source: Option<Arc<dyn DidDocumentSource>>,
    max_document_bytes: usize,
    max_json_depth: usize,
}

/// Which verification method a JWS names.
enum Selector<'a> {
    /// A fragment of the issuer's DID (`<did>#frag` or `#frag`).
    Fragment(&'a str),
    /// A `kid` that is not a DID URL: the key's RFC 7638 thumbprint.
    Thumbprint(&'a str),
    /// No `kid` (or a DID without fragment): the only assertion method of the JWS's type.
    Any,
}

impl DidResolver {
    /// A resolver trusting only the DIDs in `trusted` (exact string match), or every DID that
    /// resolves with `None` (for inspection tools only: see the module documentation). It
    /// resolves did:web only once a source is set with [`Self::with_document_source`].
    pub fn new(trusted: Option<Vec<String>>) -> Self {
        Self {
            trusted,
            source: None,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            max_json_depth: DEFAULT_MAX_DOCUMENT_DEPTH,
        }
    }

    /// Sets where did:web documents come from.
    pub fn with_document_source(mut self, source: Arc<dyn DidDocumentSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Sets the limits on fetched documents (size in bytes, JSON nesting depth).
    pub fn with_limits(mut self, max_document_bytes: usize, max_json_depth: usize) -> Self {
        self.max_document_bytes = max_document_bytes;
        self.max_json_depth = max_json_depth;
        self
    }

    /// Whether `did` is trusted by this resolver.
    pub fn is_trusted(&self, did: &str) -> bool {
        self.trusted
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == did))
    }

    /// The usable parts of a trusted DID's document (did:web fetched through the source).
    pub fn document(&self, did: &str) -> Result<DidDocument, ResolveError> {
        let url = parse_did(did)?;
        if !matches!(url.method, "key" | "jwk" | "web") {
            return Err(ResolveError::UnsupportedDidMethod);
        }
        if !self.is_trusted(did) {
            return Err(ResolveError::UntrustedIssuer);
        }
        let document = match url.method {
            "key" => DidDocument::from_value(did, &did_key_document(did)?)?,
            "jwk" => DidDocument::from_value(did, &did_jwk_document(did)?)?,
            _ => self.fetch_web(did)?,
        };
        Ok(document)
    }

    fn fetch_web(&self, did: &str) -> Result<DidDocument, ResolveError> {
        let url = did_web_to_url(did)?;
        let source = self
            .source
            .as_ref()
            .ok_or(ResolveError::DocumentUnavailable)?;
        let bytes = source.did_document(&url)?;
        if bytes.len() > self.max_document_bytes {
            return Err(ResolveError::DocumentTooLarge);
        }
        Ok(DidDocument::parse(did, &bytes, self.max_json_depth)?)
    }

    /// The key of a did:key or did:jwk issuer, checked against the selector.
    fn offline_key(
        did: &str,
        method: &str,
        msid: &str,
        selector: &Selector<'_>,
    ) -> Result<PublicKey, ResolveError> {
        let (key, fragment) = match method {
            "key" => (public_key_from_did_key(did)?, msid),
            _ => (public_key_from_did_jwk(did)?, "0"),
        };
        match selector {
            Selector::Fragment(f) if *f != fragment => Err(ResolveError::UnknownKey),
            Selector::Thumbprint(t) if *t != key.thumbprint() => Err(ResolveError::UnknownKey),
            _ => Ok(key),
        }
    }
}

impl IssuerResolver for DidResolver {
    /// The issuer DID is `iss`, or the DID of a `kid` DID URL when there is no `iss`; when both
    /// name DIDs they must be the same ([`ResolveError::KidNotIssuer`]). A non-DID `iss` is
    /// [`ResolveError::InvalidDid`].
    fn resolve(&self, iss: Option<&str>, header: &JwsHeader) -> Result<PublicKey, ResolveError> {
        let iss = iss.map(parse_did).transpose()?;
        let kid = header.kid.as_deref();
        let kid_url = match kid {
            Some(kid) if kid.starts_with("did:") => Some(parse_did_url(kid)?),
            _ => None,
        };
        let issuer = match (iss, kid_url) {
            (Some(iss), Some(kid)) if iss.did != kid.did => return Err(ResolveError::KidNotIssuer),
            (Some(iss), _) => iss,
            (None, Some(kid)) => kid,
            (None, None) => return Err(ResolveError::InvalidDid),
        };
        let selector = match (kid_url, kid) {
            (Some(url), _) => url.fragment.map_or(Selector::Any, Selector::Fragment),
            (None, Some(kid)) => match kid.strip_prefix('#') {
                Some(fragment) => Selector::Fragment(fragment),
                None => Selector::Thumbprint(kid),
            },
            (None, None) => Selector::Any,
        };
        let did = issuer.did;
        if !matches!(issuer.method, "key" | "jwk" | "web") {
            return Err(ResolveError::UnsupportedDidMethod);
        }
        if !self.is_trusted(did) {
            return Err(ResolveError::UntrustedIssuer);
        }
        if issuer.method != "web" {
            return Self::offline_key(did, issuer.method, issuer.method_specific_id, &selector);
        }
        let document = self.fetch_web(did)?;
        let found = match selector {
            Selector::Fragment(fragment) => document
                .assertion_method(&format!("#{fragment}"))
                .map(|m| m.key.clone()),
            Selector::Thumbprint(kid) => document
                .assertion_methods()
                .find(|m| m.key.thumbprint() == kid)
                .map(|m| m.key.clone()),
            Selector::Any => {
                let mut of_alg = document
                    .assertion_methods()
                    .filter(|m| m.key.algorithm() == header.alg);
                match (of_alg.next(), of_alg.next()) {
                    (Some(m), None) => Some(m.key.clone()),
                    (Some(_), Some(_)) => return Err(ResolveError::AmbiguousKey),
                    (None, _) => None,
                }
            }
        };
        found.ok_or(ResolveError::UnknownKey)
    }
}

impl fmt::Debug for DidResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DidResolver")
            .field("trusted", &self.trusted)
            .field("has_document_source", &self.source.is_some())
            .field("max_document_bytes", &self.max_document_bytes)
            .field("max_json_depth", &self.max_json_depth)
            .finish()
    }
}

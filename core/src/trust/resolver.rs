//! The `IssuerResolver` trait and its simplest implementation, a pinned set of keys.

use crate::jose::{Algorithm, CompactJws, JwsError, JwsHeader, PublicKey, SignatureVerifier};

/// Most keys tried for one JWT: a JWT that names no `kid` (or one no key answers to) is checked
/// against each eligible key of its type, and when more than this many are eligible it is
/// refused ([`ResolveError::AmbiguousKey`]) rather than costing that many signature checks.
pub const MAX_CANDIDATE_KEYS: usize = 8;

/// Why no verification key could be found for an issuer-signed JWT.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The issuer (`iss`) is not trusted by this verifier.
    #[error("issuer is not trusted")]
    UntrustedIssuer,
    /// The issuer is trusted but has no key with this `kid`.
    #[error("issuer has no key with this `kid`")]
    UnknownKey,
    /// Several keys could match and the JWT names none (`kid` missing): for a single key, or
    /// more than [`MAX_CANDIDATE_KEYS`] to try.
    #[error("several trusted keys match and the JWT has no `kid`")]
    AmbiguousKey,
    /// The issuer's DID method is not supported.
    #[error("unsupported DID method")]
    UnsupportedDidMethod,
    /// The DID or DID URL is malformed.
    #[error("malformed DID")]
    InvalidDid,
    /// The DID document could not be obtained (network, cache empty).
    #[error("DID document unavailable")]
    DocumentUnavailable,
    /// The DID document is malformed or does not match its DID.
    #[error("DID document is invalid")]
    InvalidDocument,
    /// The DID document is larger than the resolver accepts.
    #[error("DID document is too large")]
    DocumentTooLarge,
    /// The JWS `kid` is a DID URL of another DID than the `iss` claim.
    #[error("the `kid` DID URL names another DID than `iss`")]
    KidNotIssuer,
}

/// Finds the public key that must verify an issuer-signed JWT, from its `iss` claim and its JWS
/// header (`kid`, `alg`). Implementations: [`PinnedKeys`]; DID-based resolvers in `crate::did`.
pub trait IssuerResolver: Send + Sync {
    /// Returns the key for this issuer and header, or why there is none.
    fn resolve(&self, iss: Option<&str>, header: &JwsHeader) -> Result<PublicKey, ResolveError>;

    /// The keys that may have signed this JWT, to be tried in order (at most
    /// [`MAX_CANDIDATE_KEYS`], never none): where [`resolve`](Self::resolve) finds several
    /// equally good keys and no `kid` to choose, every one of them. The verifiers in this crate
    /// ask this. The default is `resolve`'s one key.
    fn candidates(
        &self,
        iss: Option<&str>,
        header: &JwsHeader,
    ) -> Result<Vec<PublicKey>, ResolveError> {
        self.resolve(iss, header).map(|key| vec![key])
    }
}

/// Checks `jws`'s signature with the first of `issuers`' candidate keys it verifies under, and
/// returns that key. `Err(Ok(_))`: no trusted key (from `candidates`); `Err(Err(_))`: the
/// signature check's error (with several keys, the last one's).
pub(crate) fn verify_with_candidates(
    jws: &CompactJws,
    iss: Option<&str>,
    issuers: &dyn IssuerResolver,
    allowed: &[Algorithm],
    signatures: &dyn SignatureVerifier,
) -> Result<PublicKey, Result<ResolveError, JwsError>> {
    let candidates = issuers.candidates(iss, &jws.header).map_err(Ok)?;
    let mut failure = Ok(ResolveError::UnknownKey);
    for key in candidates.into_iter().take(MAX_CANDIDATE_KEYS) {
        match jws.verify_using(&key, allowed, signatures) {
            Ok(()) => return Ok(key),
            // The same for every key.
            Err(JwsError::AlgNotAllowed) => return Err(Err(JwsError::AlgNotAllowed)),
            Err(e) => failure = Err(e),
        }
    }
    Err(failure)
}

/// A pinned key: trusted for any `iss`, or only for the listed one.
#[derive(Clone, Debug)]
struct PinnedKey {
    key: PublicKey,
    /// `kid` values this key answers to besides its RFC 7638 thumbprint.
    kids: Vec<String>,
    /// The only `iss` this key may sign for, if restricted.
    iss: Option<String>,
}

/// A fixed set of trusted issuer keys, as a gate configured with `--trust-jwk` uses.
///
/// A key matches a JWT when the JWT's `kid` is the key's thumbprint or one of its extra key ids,
/// or, failing that, when an eligible pinned key has the type the JWT's `alg` needs; a JWT that
/// names a `kid` falls back only to keys pinned without key ids of their own. When several
/// eligible keys of that type remain (two keys of one issuer, or keys pinned for any issuer),
/// [`resolve`](IssuerResolver::resolve) answers [`ResolveError::AmbiguousKey`] and
/// [`candidates`](IssuerResolver::candidates) gives them all (at most [`MAX_CANDIDATE_KEYS`]),
/// so the signature decides. Keys pinned for the JWT's `iss` come before keys for any issuer.
#[derive(Clone, Debug, Default)]
pub struct PinnedKeys {
    keys: Vec<PinnedKey>,
}

impl PinnedKeys {
    /// An empty set (trusts nobody).
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding one key trusted for any issuer.
    pub fn single(key: PublicKey) -> Self {
        let mut keys = Self::new();
        keys.add(key, None, Vec::new());
        keys
    }

    /// Adds a key, optionally restricted to one `iss`, answering to extra `kid` values.
    pub fn add(&mut self, key: PublicKey, iss: Option<String>, kids: Vec<String>) -> &mut Self {
        self.keys.push(PinnedKey { key, kids, iss });
        self
    }

    /// Number of pinned keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is pinned.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl PinnedKeys {
    /// The keys that match `iss` and `header`: the one the `kid` names, or every fallback of the
    /// JWT's type (see the type's docs); never empty.
    fn matching(
        &self,
        iss: Option<&str>,
        header: &JwsHeader,
    ) -> Result<Vec<&PublicKey>, ResolveError> {
        // Keys bound to this issuer first, then keys for any issuer.
        let eligible: Vec<&PinnedKey> = self
            .keys
            .iter()
            .filter(|k| k.iss.is_some() && k.iss.as_deref() == iss)
            .chain(self.keys.iter().filter(|k| k.iss.is_none()))
            .collect();
        if eligible.is_empty() {
            return Err(ResolveError::UntrustedIssuer);
        }
        // `kid` is a hint (RFC 7515 §4.1.4): a match picks the key; without one, the only
        // eligible key of the right type is used. The signature check decides either way. A key
        // pinned with its own key ids is not a fallback for a JWT that names another one: the
        // issuer signed with a key this verifier does not have (after a key rotation, say), and
        // "unknown key" says so where a failed signature check would suggest a forgery.
        let named = header.kid.as_deref();
        if let Some(kid) = named {
            if let Some(k) = eligible
                .iter()
                .find(|k| k.kids.iter().any(|x| x == kid) || k.key.thumbprint() == kid)
            {
                return Ok(vec![&k.key]);
            }
        }
        let of_type: Vec<&PublicKey> = eligible
            .iter()
            .filter(|k| k.key.algorithm() == header.alg)
            .filter(|k| named.is_none() || k.kids.is_empty())
            .map(|k| &k.key)
            .collect();
        if of_type.is_empty() {
            return Err(ResolveError::UnknownKey);
        }
        Ok(of_type)
    }
}

impl IssuerResolver for PinnedKeys {
    fn resolve(&self, iss: Option<&str>, header: &JwsHeader) -> Result<PublicKey, ResolveError> {
        match self.matching(iss, header)?.as_slice() {
            [key] => Ok((*key).clone()),
            _ => Err(ResolveError::AmbiguousKey),
        }
    }

    fn candidates(
        &self,
        iss: Option<&str>,
        header: &JwsHeader,
    ) -> Result<Vec<PublicKey>, ResolveError> {
        let keys = self.matching(iss, header)?;
        if keys.len() > MAX_CANDIDATE_KEYS {
            return Err(ResolveError::AmbiguousKey);
        }
        Ok(keys.into_iter().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    // Tests: a panic is the failure report.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::jose::{Algorithm, Signer as _, SoftwareSigner};

    fn key(seed: u8) -> PublicKey {
        SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32])).public_key()
    }

    fn header(kid: Option<&str>) -> JwsHeader {
        JwsHeader {
            alg: Algorithm::EdDSA,
            typ: None,
            kid: kid.map(str::to_owned),
            raw: serde_json::Map::new(),
        }
    }

    const ISS: &str = "did:web:hr.example";

    #[test]
    fn kid_picks_the_key_and_an_anonymous_key_is_the_fallback() {
        let mut keys = PinnedKeys::new();
        keys.add(key(1), Some(ISS.into()), vec![format!("{ISS}#key-1")]);
        keys.add(key(2), Some(ISS.into()), Vec::new());
        let k1 = format!("{ISS}#key-1");
        assert_eq!(keys.resolve(Some(ISS), &header(Some(&k1))), Ok(key(1)));
        assert_eq!(
            keys.resolve(Some(ISS), &header(Some(&key(2).thumbprint()))),
            Ok(key(2))
        );
        // An unknown kid falls back to the one key pinned without key ids.
        assert_eq!(keys.resolve(Some(ISS), &header(Some("other"))), Ok(key(2)));
        // Without a kid both keys are candidates: `resolve` cannot pick one, `candidates` gives
        // both.
        assert_eq!(
            keys.resolve(Some(ISS), &header(None)),
            Err(ResolveError::AmbiguousKey)
        );
        assert_eq!(
            keys.candidates(Some(ISS), &header(None)),
            Ok(vec![key(1), key(2)])
        );
        assert_eq!(
            keys.resolve(Some("did:web:other.example"), &header(None)),
            Err(ResolveError::UntrustedIssuer)
        );
    }

    #[test]
    fn a_key_with_its_own_kid_is_no_fallback_for_another_kid() {
        // After a rotation the issuer signs with key-2; a verifier that has only key-1, pinned
        // under its kid, reports an unknown key rather than trying key-1.
        let mut keys = PinnedKeys::new();
        keys.add(key(1), Some(ISS.into()), vec![format!("{ISS}#key-1")]);
        let k2 = format!("{ISS}#key-2");
        assert_eq!(
            keys.resolve(Some(ISS), &header(Some(&k2))),
            Err(ResolveError::UnknownKey)
        );
        // A JWT without a kid still finds the single key of its type.
        assert_eq!(keys.resolve(Some(ISS), &header(None)), Ok(key(1)));
        // Algorithm::ES256 finds no Ed25519 key.
        let mut es = header(None);
        es.alg = Algorithm::ES256;
        assert_eq!(keys.resolve(Some(ISS), &es), Err(ResolveError::UnknownKey));
    }

    #[test]
    fn two_keys_of_one_type_without_a_kid_are_both_candidates_issuer_keys_first() {
        let mut keys = PinnedKeys::new();
        keys.add(key(1), None, Vec::new());
        keys.add(key(2), Some(ISS.into()), Vec::new());
        keys.add(key(3), Some("did:web:other.example".into()), Vec::new());
        // The key pinned for this issuer first, then the one for any issuer; never another
        // issuer's.
        assert_eq!(
            keys.candidates(Some(ISS), &header(None)),
            Ok(vec![key(2), key(1)])
        );
        assert_eq!(keys.candidates(None, &header(None)), Ok(vec![key(1)]));
        // A kid that names a key still picks just that one.
        assert_eq!(
            keys.candidates(Some(ISS), &header(Some(&key(1).thumbprint()))),
            Ok(vec![key(1)])
        );
        let mut es = header(None);
        es.alg = Algorithm::ES256;
        assert_eq!(
            keys.candidates(Some(ISS), &es),
            Err(ResolveError::UnknownKey)
        );
    }

    #[test]
    fn more_than_max_candidate_keys_are_refused_not_tried() {
        let mut keys = PinnedKeys::new();
        for seed in 0..MAX_CANDIDATE_KEYS as u8 {
            keys.add(key(seed + 1), Some(ISS.into()), Vec::new());
        }
        assert_eq!(
            keys.candidates(Some(ISS), &header(None)).map(|k| k.len()),
            Ok(MAX_CANDIDATE_KEYS)
        );
        keys.add(key(100), None, Vec::new());
        assert_eq!(
            keys.candidates(Some(ISS), &header(None)),
            Err(ResolveError::AmbiguousKey)
        );
    }
}

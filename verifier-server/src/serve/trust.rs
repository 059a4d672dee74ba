//! The gate's issuer trust: pinned JWKs, trusted DIDs and an offline trust bundle, as one
//! [`IssuerResolver`] for core.

use std::sync::Arc;

use govid_core::did::{did_web_to_url, DidResolver};
use govid_core::jose::{JwsHeader, PublicKey};
use govid_core::trust::{IssuerResolver, PinnedKeys, ResolveError, TrustBundle};

use super::cache::{Cache, CachedDocs};
use super::config::TrustSection;

/// Every trust source the config names. Sources are asked in order (pinned keys, bundle, DIDs);
/// the first key found wins. When none has one, the most specific refusal is reported: a source
/// that knows the issuer but not the key (`unknown_issuer_key`, `DocumentUnavailable`, ...) beats
/// one that does not know the issuer (`untrusted_issuer`).
pub(crate) struct GateTrust {
    pinned: Option<PinnedKeys>,
    pub(crate) bundle: Option<Arc<TrustBundle>>,
    dids: Option<DidResolver>,
    /// `(did, canonical document URL, URL to fetch it from)` of every trusted did:web.
    pub(crate) web_dids: Vec<WebDid>,
}

/// A trusted did:web issuer and where its document is fetched from.
#[derive(Clone, Debug)]
pub(crate) struct WebDid {
    pub(crate) did: String,
    /// The URL core asks the document source for.
    pub(crate) canonical_url: String,
    /// Where the refresher fetches it (the canonical URL, or a configured mirror).
    pub(crate) fetch_url: String,
}

impl std::fmt::Debug for GateTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateTrust")
            .field("pinned", &self.pinned.as_ref().map(PinnedKeys::len))
            .field("bundle_seq", &self.bundle.as_ref().map(|b| b.seq()))
            .field("web_dids", &self.web_dids)
            .finish_non_exhaustive()
    }
}

fn read_jwk(path: &std::path::Path) -> Result<PublicKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    PublicKey::from_jwk_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

impl GateTrust {
    /// Loads the keys and the bundle the config names. `last_seq` is the bundle `seq` accepted
    /// before (a reload refuses to roll back).
    pub(crate) fn load(
        config: &TrustSection,
        cache: &Arc<Cache>,
        last_seq: Option<u64>,
    ) -> Result<Self, String> {
        let pinned = if config.jwks.is_empty() {
            None
        } else {
            let mut keys = PinnedKeys::new();
            for jwk in &config.jwks {
                // A JWK or a JWK Set (keys may carry their `iss`), see `PinnedKeys::add_jwk_text`.
                let path = jwk.file.display();
                let text =
                    std::fs::read_to_string(&jwk.file).map_err(|e| format!("{path}: {e}"))?;
                keys.add_jwk_text(&text, jwk.iss.as_deref())
                    .map_err(|e| format!("{path}: {e}"))?;
            }
            Some(keys)
        };
        let bundle = match (&config.bundle, &config.bundle_operator_jwk) {
            (Some(file), Some(operator)) => {
                let operator = read_jwk(operator)?;
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                let bundle = TrustBundle::load(&text, &operator, last_seq)
                    .map_err(|e| format!("{}: {} ({e})", file.display(), e.rule()))?;
                Some(Arc::new(bundle))
            }
            _ => None,
        };
        let mut web_dids = Vec::new();
        let dids = if config.dids.is_empty() {
            None
        } else {
            for d in &config.dids {
                if d.did.starts_with("did:web:") {
                    let canonical_url = did_web_to_url(&d.did)
                        .map_err(|e| format!("trusted DID `{}`: {e}", d.did))?;
                    web_dids.push(WebDid {
                        did: d.did.clone(),
                        fetch_url: d.document_url.clone().unwrap_or(canonical_url.clone()),
                        canonical_url,
                    });
                } else if d.document_url.is_some() {
                    return Err(format!("`{}`: document_url is only for did:web", d.did));
                }
            }
            let trusted = config.dids.iter().map(|d| d.did.clone()).collect();
            Some(
                DidResolver::new(Some(trusted))
                    .with_document_source(Arc::new(CachedDocs(cache.clone()))),
            )
        };
        Ok(Self {
            pinned,
            bundle,
            dids,
            web_dids,
        })
    }
}

impl GateTrust {
    /// The first answer `ask` gets from the sources, in order, or the most specific refusal.
    fn first_source<T>(
        &self,
        ask: impl Fn(&dyn IssuerResolver) -> Result<T, ResolveError>,
    ) -> Result<T, ResolveError> {
        let sources: [Option<&dyn IssuerResolver>; 3] = [
            self.pinned.as_ref().map(|p| p as &dyn IssuerResolver),
            self.bundle.as_deref().map(|b| b as &dyn IssuerResolver),
            self.dids.as_ref().map(|d| d as &dyn IssuerResolver),
        ];
        let mut refusal = ResolveError::UntrustedIssuer;
        for source in sources.into_iter().flatten() {
            match ask(source) {
                Ok(found) => return Ok(found),
                Err(ResolveError::UntrustedIssuer) => {}
                // A DID resolver refuses an issuer that is not a DID, or a DID method it does
                // not know, before checking the trust list: for this gate, that is untrusted.
                Err(ResolveError::InvalidDid | ResolveError::UnsupportedDidMethod) => {}
                Err(e) if refusal == ResolveError::UntrustedIssuer => refusal = e,
                Err(_) => {}
            }
        }
        Err(refusal)
    }
}

impl IssuerResolver for GateTrust {
    fn resolve(&self, iss: Option<&str>, header: &JwsHeader) -> Result<PublicKey, ResolveError> {
        self.first_source(|source| source.resolve(iss, header))
    }

    /// The first source's candidate keys (pinned keys and a bundle give every key that may have
    /// signed a JWT without a `kid`, at most `MAX_CANDIDATE_KEYS`).
    fn candidates(
        &self,
        iss: Option<&str>,
        header: &JwsHeader,
    ) -> Result<Vec<PublicKey>, ResolveError> {
        self.first_source(|source| source.candidates(iss, header))
    }
}

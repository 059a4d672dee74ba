//! What the gate has fetched: did:web documents and verified status lists, in memory.
//!
//! The verify path only reads these maps (a read lock and a map lookup); the refresher in
//! [`super::refresh`] writes them. A failed refresh leaves the last good copy in place: a status
//! list is then used until it is older than the gate's `max_staleness_secs` (core's
//! `check_credential_status` says `Unknown(stale)` after that; a trust bundle's list until the
//! stricter of that and the bundle's `max_staleness`), a DID document until the next good fetch.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use govid_core::did::DidDocumentSource;
use govid_core::status::{StatusTokenSource, VerifiedStatusList};
use govid_core::trust::{ResolveError, TrustBundle};

/// One fetched item and how fetching it has gone.
#[derive(Clone, Debug)]
pub(crate) struct Fetched<T> {
    pub(crate) value: Option<T>,
    /// When the current `value` was fetched (unix seconds).
    pub(crate) fetched_at: u64,
    /// When the last attempt, good or bad, was made.
    pub(crate) attempted_at: u64,
    /// Why the last attempt failed, if it did.
    pub(crate) last_error: Option<String>,
}

impl<T> Default for Fetched<T> {
    fn default() -> Self {
        Self {
            value: None,
            fetched_at: 0,
            attempted_at: 0,
            last_error: None,
        }
    }
}

/// The shared cache.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// did:web documents by their canonical `https://…/did.json` URL (the key the core resolver
    /// asks for, whatever URL they were fetched from).
    docs: RwLock<HashMap<String, Fetched<Arc<Vec<u8>>>>>,
    /// Verified status lists by URI. Replaced whole (copy on write) so readers hold an `Arc`.
    status: RwLock<Arc<HashMap<String, Fetched<VerifiedStatusList>>>>,
    /// Status list URIs seen in verified credentials, to fetch.
    discovered: Mutex<BTreeSet<String>>,
    /// With `[trust.log]`: the last log verdict on each fetched list (`ok` or a refusal code).
    log_verdicts: RwLock<HashMap<String, &'static str>>,
}

impl Cache {
    /// Stores a good document.
    pub(crate) fn put_doc(&self, url: &str, body: Vec<u8>, now: u64) {
        let mut docs = self.docs.write().unwrap_or_else(|e| e.into_inner());
        let entry = docs.entry(url.to_owned()).or_default();
        entry.value = Some(Arc::new(body));
        entry.fetched_at = now;
        entry.attempted_at = now;
        entry.last_error = None;
    }

    /// Notes a failed document fetch (the last good copy stays).
    pub(crate) fn doc_failed(&self, url: &str, error: String, now: u64) {
        let mut docs = self.docs.write().unwrap_or_else(|e| e.into_inner());
        let entry = docs.entry(url.to_owned()).or_default();
        entry.attempted_at = now;
        entry.last_error = Some(error);
    }

    /// Stores a verified status list (keeping the newer by `iat`).
    pub(crate) fn put_status(&self, list: VerifiedStatusList, now: u64) {
        let mut guard = self.status.write().unwrap_or_else(|e| e.into_inner());
        let mut map = HashMap::clone(&guard);
        let entry: &mut Fetched<VerifiedStatusList> = map.entry(list.uri().to_owned()).or_default();
        entry.attempted_at = now;
        entry.last_error = None;
        if entry
            .value
            .as_ref()
            .is_none_or(|old| old.iat() <= list.iat())
        {
            entry.value = Some(list);
            entry.fetched_at = now;
        }
        *guard = Arc::new(map);
    }

    /// Notes a failed status list fetch or verification (the last good copy stays).
    pub(crate) fn status_failed(&self, uri: &str, error: String, now: u64) {
        let mut guard = self.status.write().unwrap_or_else(|e| e.into_inner());
        let mut map = HashMap::clone(&guard);
        let entry = map.entry(uri.to_owned()).or_default();
        entry.attempted_at = now;
        entry.last_error = Some(error);
        *guard = Arc::new(map);
    }

    /// Records the log verdict on the list at `uri`.
    pub(crate) fn set_log_verdict(&self, uri: &str, code: &'static str) {
        let mut map = self.log_verdicts.write().unwrap_or_else(|e| e.into_inner());
        map.insert(uri.to_owned(), code);
    }

    /// The last log verdict on the list at `uri`, if one was reached.
    pub(crate) fn log_verdict(&self, uri: &str) -> Option<&'static str> {
        let map = self.log_verdicts.read().unwrap_or_else(|e| e.into_inner());
        map.get(uri).copied()
    }

    /// The current status lists.
    pub(crate) fn status_snapshot(&self) -> Arc<HashMap<String, Fetched<VerifiedStatusList>>> {
        self.status
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The documents' fetch state, by canonical URL.
    pub(crate) fn doc_states(&self) -> HashMap<String, Fetched<()>> {
        let docs = self.docs.read().unwrap_or_else(|e| e.into_inner());
        docs.iter()
            .map(|(url, f)| {
                let state = Fetched {
                    value: f.value.as_ref().map(|_| ()),
                    fetched_at: f.fetched_at,
                    attempted_at: f.attempted_at,
                    last_error: f.last_error.clone(),
                };
                (url.clone(), state)
            })
            .collect()
    }

    /// Records a status list URI a verified credential referenced. Returns whether it is new
    /// (and was accepted under `max` URIs in all).
    pub(crate) fn discover(&self, uri: &str, max: usize) -> bool {
        let mut set = self.discovered.lock().unwrap_or_else(|e| e.into_inner());
        if set.contains(uri) || set.len() >= max {
            return false;
        }
        set.insert(uri.to_owned())
    }

    /// The discovered URIs.
    pub(crate) fn discovered(&self) -> Vec<String> {
        let set = self.discovered.lock().unwrap_or_else(|e| e.into_inner());
        set.iter().cloned().collect()
    }
}

/// The document source core's `DidResolver` reads: the cache, never the network.
#[derive(Debug)]
pub(crate) struct CachedDocs(pub(crate) Arc<Cache>);

impl DidDocumentSource for CachedDocs {
    fn did_document(&self, url: &str) -> Result<Vec<u8>, ResolveError> {
        let docs = self.0.docs.read().unwrap_or_else(|e| e.into_inner());
        docs.get(url)
            .and_then(|f| f.value.as_ref())
            .map(|body| body.as_ref().clone())
            .ok_or(ResolveError::DocumentUnavailable)
    }
}

/// The status lists core's `check_credential_status` reads: fetched lists and the trust
/// bundle's, the newer (by `iat`) when both have one, so newer revocation information is never
/// passed over for older.
///
/// A fetched list may be relied on for the gate's `max_staleness_secs` after its `iat`; a list
/// from the bundle for the stricter of that and the bundle's own `max_staleness`. A bundle list
/// speaks only for credentials of the issuer that published it.
pub(crate) struct StatusView {
    pub(crate) fetched: Arc<HashMap<String, Fetched<VerifiedStatusList>>>,
    pub(crate) bundle: Option<Arc<TrustBundle>>,
    /// The gate's `max_staleness_secs`.
    pub(crate) max_staleness: u64,
}

impl StatusView {
    /// The list the gate would use for `uri` (whoever the issuer), and how many seconds after its
    /// `iat` it may be relied on.
    pub(crate) fn list_and_limit(&self, uri: &str) -> Option<(&VerifiedStatusList, u64)> {
        let bundled = self.bundle.as_deref().and_then(|b| b.status_list(uri));
        self.pick(self.fetched_list(uri), bundled)
    }

    fn fetched_list(&self, uri: &str) -> Option<&VerifiedStatusList> {
        self.fetched.get(uri).and_then(|f| f.value.as_ref())
    }

    fn pick<'a>(
        &'a self,
        fetched: Option<&'a VerifiedStatusList>,
        bundled: Option<&'a VerifiedStatusList>,
    ) -> Option<(&'a VerifiedStatusList, u64)> {
        let fetched = fetched.map(|list| (list, self.max_staleness));
        let bundle_limit = self.bundle.as_ref().map_or(self.max_staleness, |b| {
            self.max_staleness.min(b.max_staleness())
        });
        let bundled = bundled.map(|list| (list, bundle_limit));
        match (fetched, bundled) {
            (Some(f), Some(b)) if b.0.iat() > f.0.iat() => Some(b),
            (Some(f), _) => Some(f),
            (None, b) => b,
        }
    }

    fn pick_for(&self, iss: Option<&str>, uri: &str) -> Option<(&VerifiedStatusList, u64)> {
        let bundled = self
            .bundle
            .as_deref()
            .and_then(|b| b.status_list_for(iss, uri));
        // A fetched list that names its issuer speaks only for that issuer's credentials: a list
        // signed by another trusted issuer, served at this URI, does not.
        let fetched = self
            .fetched_list(uri)
            .filter(|list| list.iss().is_none_or(|list_iss| Some(list_iss) == iss));
        self.pick(fetched, bundled)
    }
}

impl StatusTokenSource for StatusView {
    fn status_list(&self, uri: &str) -> Option<&VerifiedStatusList> {
        self.list_and_limit(uri).map(|(list, _)| list)
    }

    fn status_list_for(&self, iss: Option<&str>, uri: &str) -> Option<&VerifiedStatusList> {
        self.pick_for(iss, uri).map(|(list, _)| list)
    }

    fn max_staleness(&self) -> u64 {
        self.max_staleness
    }

    fn max_staleness_for(&self, iss: Option<&str>, uri: &str) -> u64 {
        self.pick_for(iss, uri)
            .map_or(self.max_staleness, |(_, limit)| limit)
    }
}

#[cfg(test)]
mod tests {
    // Tests: a panic is the failure report.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
    use govid_core::status::{
        check_credential_status, sign_status_list_token, verify_status_list_token_with_key,
        StatusBits, StatusList, StatusOutcome, StatusTokenClaims, UnknownReason,
    };
    use govid_core::trust::{BundleIssuer, TrustBundleBuilder};
    use serde_json::{json, Map, Value};

    const ISS: &str = "did:web:hr.test";
    const URI: &str = "https://hr.test/status/1";
    const NOW: u64 = 1_800_000_000;

    fn signer(seed: u8) -> SoftwareSigner {
        SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    /// A status list token for `URI` issued at `iat`, with entry 1 set to `value`.
    fn token(iat: u64, value: u8) -> String {
        let mut list = StatusList::new(StatusBits::TWO, 16).unwrap();
        list.set(1, value).unwrap();
        let claims = StatusTokenClaims::new(URI, iat).issuer(ISS);
        sign_status_list_token(&list, &claims, &signer(2)).unwrap()
    }

    fn fetched(iat: u64, value: u8) -> Arc<HashMap<String, Fetched<VerifiedStatusList>>> {
        let key = signer(2).public_key();
        let list =
            verify_status_list_token_with_key(&token(iat, value), &key, URI, NOW, &Algorithm::ALL)
                .unwrap();
        let entry = Fetched {
            value: Some(list),
            fetched_at: NOW,
            attempted_at: NOW,
            last_error: None,
        };
        Arc::new(HashMap::from([(URI.to_owned(), entry)]))
    }

    fn bundle(iat: u64, value: u8, max_staleness: u64) -> Arc<TrustBundle> {
        let operator = signer(1);
        let text = TrustBundleBuilder::new(1, iat + 1, max_staleness)
            .issuer(
                BundleIssuer::new(ISS, "HR")
                    .key(signer(2).public_key(), None)
                    .vct("urn:test")
                    .status_list(URI, token(iat, value)),
            )
            .sign(&operator)
            .unwrap();
        Arc::new(TrustBundle::load(&text, &operator.public_key(), None).unwrap())
    }

    fn credential(iss: &str) -> Map<String, Value> {
        let Value::Object(map) = json!({
            "iss": iss, "status": {"status_list": {"idx": 1, "uri": URI}}
        }) else {
            unreachable!()
        };
        map
    }

    #[test]
    fn a_bundle_list_is_held_to_the_stricter_limit_and_only_for_its_issuer() {
        let hour_ago = NOW - 3600;
        let view = |gate_limit, bundle_limit| StatusView {
            fetched: Arc::new(HashMap::new()),
            bundle: Some(bundle(hour_ago, 1, bundle_limit)),
            max_staleness: gate_limit,
        };
        let stale = Ok(StatusOutcome::Unknown {
            reason: UnknownReason::Stale,
        });
        let ours = credential(ISS);
        assert_eq!(
            check_credential_status(&ours, &view(7200, 86_400), NOW),
            Ok(StatusOutcome::Invalid)
        );
        assert_eq!(
            check_credential_status(&ours, &view(600, 86_400), NOW),
            stale
        );
        assert_eq!(
            check_credential_status(&ours, &view(86_400, 600), NOW),
            stale
        );
        // Another issuer's credential cannot point at this issuer's list.
        assert_eq!(
            check_credential_status(&credential("did:web:other.test"), &view(7200, 86_400), NOW),
            Ok(StatusOutcome::Unknown {
                reason: UnknownReason::NoStatusList
            })
        );
    }

    #[test]
    fn a_fetched_list_speaks_only_for_the_issuer_it_names() {
        let view = StatusView {
            fetched: fetched(NOW - 60, 1),
            bundle: None,
            max_staleness: 3600,
        };
        assert_eq!(
            check_credential_status(&credential(ISS), &view, NOW),
            Ok(StatusOutcome::Invalid)
        );
        assert_eq!(
            check_credential_status(&credential("did:web:other.test"), &view, NOW),
            Ok(StatusOutcome::Unknown {
                reason: UnknownReason::NoStatusList
            })
        );
    }

    #[test]
    fn the_newer_list_is_used_under_its_own_limit() {
        let ours = credential(ISS);
        // Fetched an hour ago (revoked), bundle two hours ago (valid): the fetched one, under the
        // gate's limit only.
        let view = StatusView {
            fetched: fetched(NOW - 3600, 1),
            bundle: Some(bundle(NOW - 7200, 0, 60)),
            max_staleness: 5400,
        };
        assert_eq!(
            check_credential_status(&ours, &view, NOW),
            Ok(StatusOutcome::Invalid)
        );
        // The bundle's is newer (valid): it is used, and its own 60 s limit makes it stale.
        let view = StatusView {
            fetched: fetched(NOW - 7200, 1),
            bundle: Some(bundle(NOW - 3600, 0, 60)),
            max_staleness: 86_400,
        };
        assert_eq!(
            check_credential_status(&ours, &view, NOW),
            Ok(StatusOutcome::Unknown {
                reason: UnknownReason::Stale
            })
        );
        assert_eq!(
            view.list_and_limit(URI).map(|(l, lim)| (l.iat(), lim)),
            Some((NOW - 3600, 60))
        );
    }
}

//! The gate's issuer trust: pinned JWKs, trusted DIDs and an offline trust bundle, as one
//! [`IssuerResolver`] for core.

use std::sync::Arc;

use govid_core::did::{did_web_to_url, DidResolver};
use govid_core::jose::{JwsHeader, PublicKey};
use govid_core::trust::{IssuerResolver, PinnedKeys, ResolveError, TrustBundle};

use super::cache::{Cache, CachedDocs};
use super::config::TrustSection;
use super::transparency::{sha256, LogGuard, PROOF_SUFFIX};

/// Every trust source the config names. Sources are asked in order (pinned keys, bundle, DIDs);
/// the first key found wins. When none has one, the most specific refusal is reported: a source
/// that knows the issuer but not the key (`unknown_issuer_key`, `DocumentUnavailable`, ...) beats
/// one that does not know the issuer (`untrusted_issuer`).
pub(crate) struct GateTrust {
    pinned: Option<PinnedKeys>,
    pub(crate) bundle: Option<Arc<TrustBundle>>,
    dids: Option<DidResolver>,
    /// `[trust.log]`: lists and the bundle need inclusion proofs.
    pub(crate) log: Option<Arc<LogGuard>>,
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
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

fn read_jwk(path: &std::path::Path) -> Result<PublicKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    PublicKey::from_jwk_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The bundle state file: the highest bundle `seq` this gate accepted, kept across restarts so
/// that an older (correctly signed) bundle is refused after a restart as on a reload: one from
/// before a revocation would let the revoked person in again.
///
/// `{"v": 1, "seq": 42, "sha256": "<hex of the bundle file>"}`, written atomically (temporary
/// file, fsync, rename). A missing file is a first start; an unreadable one is an error, never
/// a fresh start (deleting the file must not be a way around the guard without saying so).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BundleState {
    pub(crate) seq: u64,
}

impl BundleState {
    /// Where the state of `bundle` is kept: `[trust] bundle_state`, or `<bundle>.state`.
    pub(crate) fn path(config: &TrustSection, bundle: &std::path::Path) -> std::path::PathBuf {
        config.bundle_state.clone().unwrap_or_else(|| {
            let mut name = bundle.as_os_str().to_owned();
            name.push(".state");
            name.into()
        })
    }

    /// The recorded state, `None` if there is no file yet.
    pub(crate) fn read(path: &std::path::Path) -> Result<Option<Self>, String> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let seq = govid_core::json::parse_object(&text, 2)
            .ok()
            .filter(|o| o.get("v").and_then(serde_json::Value::as_u64) == Some(1))
            .and_then(|o| o.get("seq").and_then(serde_json::Value::as_u64));
        match seq {
            Some(seq) => Ok(Some(Self { seq })),
            None => Err(format!(
                "{}: not a bundle state file (it records the highest trust bundle seq this gate \
                 accepted); restore it, or start with --accept-bundle-rollback to accept the \
                 configured bundle deliberately",
                path.display()
            )),
        }
    }

    /// Records `seq` (and the bundle's digest, for an auditor) atomically.
    pub(crate) fn write(path: &std::path::Path, seq: u64, bundle_text: &str) -> Result<(), String> {
        use sha2::{Digest as _, Sha256};
        use std::io::Write as _;
        let digest = super::gatelog::encode_hex(&Sha256::digest(bundle_text.as_bytes()));
        let body = serde_json::json!({"v": 1, "seq": seq, "sha256": digest}).to_string();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let fail = |e: std::io::Error| {
            format!(
                "cannot record the accepted trust bundle seq in {}: {e} (set [trust] \
                 bundle_state to a writable file)",
                path.display()
            )
        };
        let mut file = std::fs::File::create(&tmp).map_err(fail)?;
        file.write_all(body.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(fail)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable once the directory is synced (best effort where a
            // directory cannot be opened).
            if let Ok(dir) = std::fs::File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

/// Loads the bundle at `file`, refusing a `seq` below both `last_seq` (this run's) and the one
/// the state file recorded, unless `accept_rollback`; then records the accepted `seq`.
fn load_bundle(
    config: &TrustSection,
    file: &std::path::Path,
    operator: &PublicKey,
    last_seq: Option<u64>,
    accept_rollback: bool,
    log: Option<&LogGuard>,
) -> Result<TrustBundle, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let state_path = BundleState::path(config, file);
    let recorded = if accept_rollback {
        // Even an unreadable state file is replaced: the operator asked for this bundle.
        BundleState::read(&state_path).ok().flatten()
    } else {
        BundleState::read(&state_path)?
    };
    let floor = last_seq.max(recorded.as_ref().map(|r| r.seq));
    let bundle = TrustBundle::load(
        &text,
        operator,
        (!accept_rollback).then_some(floor).flatten(),
    )
    .map_err(|e| {
        let mut message = format!("{}: {} ({e})", file.display(), e.rule());
        if matches!(e, govid_core::trust::BundleError::SeqRollback { .. }) {
            message.push_str(&format!(
                "; the highest seq accepted is recorded in {}. An older bundle may trust a \
                     key or a credential that was revoked since: install a newer one, or start \
                     with --accept-bundle-rollback to go back deliberately",
                state_path.display()
            ));
        }
        message
    })?;
    if let Some(log) = log {
        check_bundle_proof(log, file, &text, bundle.seq())?;
    }
    if let Some(floor) = floor.filter(|f| bundle.seq() < *f) {
        tracing::warn!(
            seq = bundle.seq(),
            highest_accepted = floor,
            "trust bundle rolled back on purpose (--accept-bundle-rollback)"
        );
    }
    if recorded.map(|r| r.seq) != Some(bundle.seq()) {
        BundleState::write(&state_path, bundle.seq(), &text)?;
    }
    Ok(bundle)
}

/// The bundle is used only with a proof of its log entry in `<bundle>.tlog-proof`.
fn check_bundle_proof(
    log: &LogGuard,
    file: &std::path::Path,
    text: &str,
    seq: u64,
) -> Result<(), String> {
    let mut proof_path = file.as_os_str().to_owned();
    proof_path.push(PROOF_SUFFIX);
    let proof_path = std::path::PathBuf::from(proof_path);
    let proof = match std::fs::read(&proof_path) {
        Ok(proof) => Some(proof),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", proof_path.display())),
    };
    let entry = govid_core::tlog::Entry::TrustBundle {
        seq,
        sha256: sha256(text.trim().as_bytes()),
    };
    log.check(&entry, proof.as_deref()).map_err(|refused| {
        format!(
            "{}: trust_bundle_not_in_log: {refused}; [trust.log] needs a valid inclusion proof \
             in {} cosigned as the policy says",
            file.display(),
            proof_path.display()
        )
    })
}

impl GateTrust {
    /// Loads the keys and the bundle the config names. `last_seq` is the bundle `seq` this run
    /// accepted before (a reload refuses to roll back); the state file keeps the highest one
    /// across restarts. `accept_rollback` accepts an older bundle once, deliberately.
    pub(crate) fn load(
        config: &TrustSection,
        cache: &Arc<Cache>,
        last_seq: Option<u64>,
        accept_rollback: bool,
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
        let log = match &config.log {
            Some(section) => Some(Arc::new(LogGuard::load(section, config.bundle.as_deref())?)),
            None => None,
        };
        let bundle = match (&config.bundle, &config.bundle_operator_jwk) {
            (Some(file), Some(operator)) => {
                let operator = read_jwk(operator)?;
                let bundle = load_bundle(
                    config,
                    file,
                    &operator,
                    last_seq,
                    accept_rollback,
                    log.as_deref(),
                )?;
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
            log,
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

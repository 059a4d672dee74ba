//! The offline trust bundle: everything a gate without network needs to trust issuers and check
//! status, in ONE signed, versioned file.
//!
//! The file is a compact JWS with header `typ` `govid-trust-bundle+jwt`, signed by an operator
//! key that gates pin. Its payload:
//!
//! ```json
//! {
//!   "v": 1,
//!   "iat": 1767225600,
//!   "seq": 42,
//!   "max_staleness": 86400,
//!   "issuers": [
//!     {
//!       "iss": "did:web:hr.agency.example",
//!       "display_name": "Agency HR Office",
//!       "keys": [
//!         {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
//!          "kid": "hr-2026-1"}
//!       ],
//!       "vct": ["urn:govid:staff-id:1"],
//!       "status_lists": [
//!         {"uri": "https://hr.agency.example/status/1",
//!          "token": "eyJhbGciOiJFZERTQSIsInR5cCI6InN0YXR1c2xpc3Qrand0In0.eyJ…"}
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! - `v`: format version, 1. Other versions are refused.
//! - `iat`: when the operator made the bundle. Embedded status tokens must be valid at that time.
//! - `seq`: a monotonic version number. A gate passes the last `seq` it accepted and refuses an
//!   older one (rollback to a bundle in which a revoked key or credential was still good).
//!   The same `seq` again is accepted (reloading the current file).
//! - `max_staleness`: seconds after a status token's own `iat` during which a gate may rely on
//!   it; later, or after the token's `exp`, a status check is `Unknown(stale)` (or `expired`).
//! - `issuers[]`: `iss` (issuer id or DID, unique in the bundle), `display_name`, `keys` (public
//!   JWKs, Ed25519 or P-256, each with an optional `kid` besides its RFC 7638 thumbprint), `vct`
//!   (the credential types this issuer may issue), `status_lists` (`uri` and a `statuslist+jwt`
//!   whose `sub` is `uri`, signed by one of this issuer's keys; each `uri` unique in the bundle).
//!
//! [`TrustBundle`] is an [`IssuerResolver`] (an issuer's keys verify only JWTs whose `iss` is that
//! issuer) and a [`StatusTokenSource`]. [`TrustBundleBuilder`] makes and signs one.

mod format;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

pub use format::{BundleIssuer, BundleKey, BundleStatusList, TrustBundleBuilder};
use format::{IssuerDoc, PayloadDoc};

use super::{IssuerResolver, PinnedKeys, ResolveError};
use crate::jose::{Algorithm, CompactJws, JwkError, JwsError, JwsHeader, PublicKey};
use crate::json;
use crate::status::{
    verify_status_list_token, StatusTokenError, StatusTokenSource, VerifiedStatusList,
};

/// The JWS `typ` of a trust bundle.
pub const TRUST_BUNDLE_TYP: &str = "govid-trust-bundle+jwt";

/// The bundle format version this code reads and writes.
pub const TRUST_BUNDLE_VERSION: u64 = 1;

/// JSON nesting allowed in a bundle.
const MAX_JSON_DEPTH: usize = 16;

/// Why a trust bundle was refused. [`rule`](Self::rule) gives a stable code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not a well-formed compact JWS with a supported `alg`.
    #[error("trust bundle is not a valid JWS: {0}")]
    Malformed(JwsError),
    /// The operator signature does not verify with the pinned key.
    #[error("trust bundle signature does not verify with the pinned operator key")]
    Signature,
    /// The header `typ` is not `govid-trust-bundle+jwt`.
    #[error("trust bundle `typ` is not `govid-trust-bundle+jwt`")]
    Typ,
    /// The payload does not have the bundle's shape.
    #[error("trust bundle payload is malformed: {0}")]
    Payload(&'static str),
    /// `v` is not a version this code reads.
    #[error("trust bundle version {0} is not supported")]
    Version(u64),
    /// `seq` is older than the last bundle the gate accepted.
    #[error("trust bundle seq {seq} is older than the accepted seq {last_seq}")]
    SeqRollback {
        /// The bundle's `seq`.
        seq: u64,
        /// The last accepted `seq`.
        last_seq: u64,
    },
    /// An issuer key is not a valid public JWK.
    #[error("trust bundle issuer key is invalid: {0}")]
    IssuerKey(JwkError),
    /// Two issuers have the same `iss`.
    #[error("trust bundle lists an issuer twice")]
    DuplicateIssuer,
    /// Two status lists have the same `uri`.
    #[error("trust bundle lists a status list uri twice")]
    DuplicateStatusList,
    /// An embedded status list token does not verify against its issuer's keys.
    #[error("trust bundle status list token: {0}")]
    StatusToken(StatusTokenError),
}

impl BundleError {
    /// A stable short code naming the rule that failed.
    pub fn rule(&self) -> &'static str {
        match self {
            BundleError::Malformed(_) => "bundle_malformed",
            BundleError::Signature => "bundle_signature",
            BundleError::Typ => "bundle_typ",
            BundleError::Payload(_) => "bundle_payload",
            BundleError::Version(_) => "bundle_version",
            BundleError::SeqRollback { .. } => "bundle_seq_rollback",
            BundleError::IssuerKey(_) => "bundle_issuer_key",
            BundleError::DuplicateIssuer => "bundle_duplicate_issuer",
            BundleError::DuplicateStatusList => "bundle_duplicate_status_list",
            BundleError::StatusToken(_) => "bundle_status_token",
        }
    }
}

/// A loaded, verified trust bundle.
#[derive(Clone, Debug)]
pub struct TrustBundle {
    iat: u64,
    seq: u64,
    max_staleness: u64,
    issuers: Vec<BundleIssuer>,
    /// Every issuer key, restricted to its issuer's `iss`.
    keys: PinnedKeys,
    /// Verified status lists by URI.
    lists: HashMap<String, VerifiedStatusList>,
    /// The `iss` of the issuer each list URI was published by.
    list_owners: HashMap<String, String>,
}

impl TrustBundle {
    /// Loads a bundle: checks the signature against the pinned `operator_key`, `typ`, `v`, that
    /// `seq` is not older than `last_seq` (the last one this gate accepted, if any), the issuer
    /// keys, and that every embedded status list token verifies with its issuer's keys and was
    /// valid at the bundle's `iat`.
    pub fn load(
        text: &str,
        operator_key: &PublicKey,
        last_seq: Option<u64>,
    ) -> Result<Self, BundleError> {
        let jws = CompactJws::parse(text.trim(), MAX_JSON_DEPTH).map_err(BundleError::Malformed)?;
        jws.verify(operator_key, &[operator_key.algorithm()])
            .map_err(|_| BundleError::Signature)?;
        if jws.header.typ.as_deref() != Some(TRUST_BUNDLE_TYP) {
            return Err(BundleError::Typ);
        }
        let payload = json::parse_object(&jws.payload, MAX_JSON_DEPTH)
            .map_err(|_| BundleError::Payload("not a JSON object"))?;
        match payload.get("v").map(Value::as_u64) {
            Some(Some(TRUST_BUNDLE_VERSION)) => {}
            Some(Some(v)) => return Err(BundleError::Version(v)),
            _ => return Err(BundleError::Payload("`v` is missing or not an integer")),
        }
        let doc: PayloadDoc = serde_json::from_value(Value::Object(payload))
            .map_err(|_| BundleError::Payload("fields missing or of the wrong type"))?;
        if let Some(last_seq) = last_seq {
            if doc.seq < last_seq {
                return Err(BundleError::SeqRollback {
                    seq: doc.seq,
                    last_seq,
                });
            }
        }
        let issuers = doc
            .issuers
            .into_iter()
            .map(IssuerDoc::into_issuer)
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = HashSet::new();
        let mut keys = PinnedKeys::new();
        let mut lists = HashMap::new();
        let mut list_owners = HashMap::new();
        for issuer in &issuers {
            if !seen.insert(issuer.iss.as_str()) {
                return Err(BundleError::DuplicateIssuer);
            }
            for k in &issuer.keys {
                keys.add(
                    k.key.clone(),
                    Some(issuer.iss.clone()),
                    k.kid.iter().cloned().collect(),
                );
            }
            let issuer_keys = issuer.key_set();
            for entry in &issuer.status_lists {
                let verified = verify_status_list_token(
                    &entry.token,
                    &issuer_keys,
                    &entry.uri,
                    doc.iat,
                    &Algorithm::ALL,
                )
                .map_err(BundleError::StatusToken)?;
                if lists.insert(entry.uri.clone(), verified).is_some() {
                    return Err(BundleError::DuplicateStatusList);
                }
                list_owners.insert(entry.uri.clone(), issuer.iss.clone());
            }
        }
        Ok(Self {
            iat: doc.iat,
            seq: doc.seq,
            max_staleness: doc.max_staleness,
            issuers,
            keys,
            lists,
            list_owners,
        })
    }

    /// When the operator made the bundle.
    pub fn iat(&self) -> u64 {
        self.iat
    }

    /// The bundle's version number; store it and pass it to the next [`load`](Self::load).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Seconds after a status token's `iat` during which it may be relied on.
    pub fn max_staleness(&self) -> u64 {
        self.max_staleness
    }

    /// The trusted issuers.
    pub fn issuers(&self) -> &[BundleIssuer] {
        &self.issuers
    }

    /// The issuer with this `iss`, if trusted.
    pub fn issuer(&self, iss: &str) -> Option<&BundleIssuer> {
        self.issuers.iter().find(|i| i.iss == iss)
    }

    /// Whether `iss` is trusted and may issue credentials of type `vct`.
    pub fn allows_vct(&self, iss: &str, vct: &str) -> bool {
        self.issuer(iss)
            .is_some_and(|issuer| issuer.vct.iter().any(|v| v == vct))
    }
}

impl IssuerResolver for TrustBundle {
    fn resolve(&self, iss: Option<&str>, header: &JwsHeader) -> Result<PublicKey, ResolveError> {
        // Every key is restricted to its issuer, so a JWT without `iss` finds none.
        self.keys.resolve(iss, header)
    }

    fn candidates(
        &self,
        iss: Option<&str>,
        header: &JwsHeader,
    ) -> Result<Vec<PublicKey>, ResolveError> {
        self.keys.candidates(iss, header)
    }
}

impl StatusTokenSource for TrustBundle {
    fn status_list(&self, uri: &str) -> Option<&VerifiedStatusList> {
        self.lists.get(uri)
    }

    fn status_list_for(&self, iss: Option<&str>, uri: &str) -> Option<&VerifiedStatusList> {
        let owner = self.list_owners.get(uri)?;
        (Some(owner.as_str()) == iss)
            .then(|| self.lists.get(uri))
            .flatten()
    }

    fn max_staleness(&self) -> u64 {
        self.max_staleness
    }
}

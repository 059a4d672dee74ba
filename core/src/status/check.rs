//! Checking a credential's status against already-verified Status List Tokens (draft §8.3).

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use super::{StatusError, StatusReference, StatusValue, VerifiedStatusList};

/// Where verified Status List Tokens come from: an online cache, or an offline trust bundle.
pub trait StatusTokenSource {
    /// The verified list published at `uri`, if this source has one.
    fn status_list(&self, uri: &str) -> Option<&VerifiedStatusList>;

    /// The verified list at `uri` that may speak for credentials of issuer `iss`. Sources that
    /// know which issuer published each list (a trust bundle) return only that issuer's lists,
    /// so a credential cannot point at another issuer's list; the default trusts the caller to
    /// have verified each list with the right issuer's keys.
    fn status_list_for(&self, iss: Option<&str>, uri: &str) -> Option<&VerifiedStatusList> {
        let _ = iss;
        self.status_list(uri)
    }

    /// How long after its `iat` a list may still be relied on, in seconds.
    fn max_staleness(&self) -> u64;

    /// How long after its `iat` the list [`status_list_for`](Self::status_list_for) gives for
    /// `(iss, uri)` may be relied on. A source that merges lists held under different limits (a
    /// gate's online cache and an offline trust bundle) answers per list; the default is
    /// [`max_staleness`](Self::max_staleness).
    fn max_staleness_for(&self, iss: Option<&str>, uri: &str) -> u64 {
        let _ = (iss, uri);
        self.max_staleness()
    }
}

/// Why no status could be stated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnknownReason {
    /// The source has no token for the referenced `uri`.
    NoStatusList,
    /// The token is older than the allowed staleness (`now > iat + max_staleness`).
    Stale,
    /// The token's `exp` has passed.
    Expired,
}

impl UnknownReason {
    /// A stable short code: `no_status_list`, `stale`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownReason::NoStatusList => "no_status_list",
            UnknownReason::Stale => "stale",
            UnknownReason::Expired => "expired",
        }
    }
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A credential's status. `Unknown` means no fresh list was at hand: the caller's policy
/// decides, and govid's default policy denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusOutcome {
    /// 0x00.
    Valid,
    /// 0x01: revoked.
    Invalid,
    /// 0x02.
    Suspended,
    /// Any other value.
    Other(u8),
    /// No fresh Status List Token for the referenced list.
    Unknown {
        /// Why.
        reason: UnknownReason,
    },
}

impl From<StatusValue> for StatusOutcome {
    fn from(value: StatusValue) -> Self {
        match value {
            StatusValue::Valid => StatusOutcome::Valid,
            StatusValue::Invalid => StatusOutcome::Invalid,
            StatusValue::Suspended => StatusOutcome::Suspended,
            StatusValue::Other(v) => StatusOutcome::Other(v),
        }
    }
}

/// Looks up the status a credential's payload references.
///
/// Errors (the credential must be rejected): no or malformed `status.status_list` claim, and an
/// index outside the list (`IndexOutOfRange`, draft §8.3 step 6). A missing, stale or expired
/// list is `Ok(Unknown { .. })`: the status cannot be stated, and policy decides.
pub fn check_credential_status(
    payload: &Map<String, Value>,
    tokens: &(impl StatusTokenSource + ?Sized),
    now: u64,
) -> Result<StatusOutcome, StatusError> {
    let reference = StatusReference::from_payload(payload)?;
    let iss = payload.get("iss").and_then(Value::as_str);
    let Some(verified) = tokens.status_list_for(iss, &reference.uri) else {
        return Ok(StatusOutcome::Unknown {
            reason: UnknownReason::NoStatusList,
        });
    };
    if verified.is_expired(now) {
        return Ok(StatusOutcome::Unknown {
            reason: UnknownReason::Expired,
        });
    }
    let max_staleness = tokens.max_staleness_for(iss, &reference.uri);
    if now > verified.iat().saturating_add(max_staleness) {
        return Ok(StatusOutcome::Unknown {
            reason: UnknownReason::Stale,
        });
    }
    let idx = usize::try_from(reference.idx).map_err(|_| StatusError::IndexOutOfRange {
        index: reference.idx,
        len: verified.list().len(),
    })?;
    verified.list().status(idx).map(StatusOutcome::from)
}

/// Verified Status List Tokens kept in memory by URI, with one staleness limit: the simplest
/// [`StatusTokenSource`] (an online verifier's cache).
#[derive(Clone, Debug, Default)]
pub struct StatusListStore {
    lists: HashMap<String, VerifiedStatusList>,
    max_staleness: u64,
}

impl StatusListStore {
    /// An empty store whose lists may be used up to `max_staleness` seconds after their `iat`.
    pub fn new(max_staleness: u64) -> Self {
        Self {
            lists: HashMap::new(),
            max_staleness,
        }
    }

    /// Adds or replaces the list for its URI, keeping the newer one (by `iat`) if both exist.
    pub fn insert(&mut self, list: VerifiedStatusList) {
        match self.lists.get(list.uri()) {
            Some(old) if old.iat() > list.iat() => {}
            _ => {
                self.lists.insert(list.uri().to_owned(), list);
            }
        }
    }

    /// Number of lists held.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

impl StatusTokenSource for StatusListStore {
    fn status_list(&self, uri: &str) -> Option<&VerifiedStatusList> {
        self.lists.get(uri)
    }

    fn max_staleness(&self) -> u64 {
        self.max_staleness
    }
}

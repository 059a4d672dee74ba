//! Credential status: the app fetches the issuer's Status List Token over HTTP (the library does
//! no networking), the wallet verifies it and records the credential's status.

use govid_core::jose::{Algorithm, PublicKey};
use govid_core::status::{
    check_credential_status, verify_status_list_token_with_key, StatusListStore, StatusOutcome,
    StatusReference,
};

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{guard, WalletError};
use crate::oid4vci::{Http, HttpClient};
use crate::records::{CredentialStatus, CredentialSummary};
use crate::wallet::{claims_of, Wallet};

/// A credential whose status `refresh_statuses` changed.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StatusChange {
    /// The credential, with its new status.
    pub credential: CredentialSummary,
    /// Its status before.
    pub previous: CredentialStatus,
}

/// A status list `refresh_statuses` could not use (the credentials keep their last status).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StatusFailure {
    /// The status list URI.
    pub status_list_uri: String,
    /// Why (network, HTTP status, a refused token).
    pub reason: String,
}

/// What `refresh_statuses` did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StatusRefresh {
    /// Credentials whose status changed (a first check from `Unknown` counts).
    pub changed: Vec<StatusChange>,
    /// Status lists that could not be fetched or were refused.
    pub failures: Vec<StatusFailure>,
    /// How many status lists were fetched and recorded.
    pub lists_checked: u32,
}

/// The oldest Status List Token (by its `iat`) the wallet records a status from: 7 days.
pub const MAX_STATUS_TOKEN_AGE_SECS: u64 = 7 * 86_400;

/// The largest Status List Token accepted, in bytes (a 1,000,000-entry 2-bit list is ~28 KB).
const MAX_STATUS_TOKEN_BYTES: usize = 1024 * 1024;

fn status_error(rule: &str, reason: impl std::fmt::Display) -> WalletError {
    WalletError::InvalidStatusList {
        rule: rule.to_owned(),
        reason: reason.to_string(),
    }
}

#[uniffi::export]
impl Wallet {
    /// Records a credential's status from its issuer's Status List Token, which the app fetched
    /// from the credential's `status_list_uri`. The token must be signed by the key that signed
    /// the credential, be for that URI (`sub`), unexpired and at most 7 days old. Returns the
    /// credential with its new status (`Revoked`, `Suspended`, … to show the holder).
    ///
    /// Works for worker IDs and gate passes alike. HR gives a worker ID and its gate pass the
    /// same status list entry, so the status is recorded for every stored credential with that
    /// entry and the same issuer key: refreshing either one updates both (which is what lets
    /// the `*_best` calls skip a revoked gate pass).
    pub fn refresh_status(
        &self,
        credential_id: String,
        status_list_token: String,
    ) -> Result<CredentialSummary, WalletError> {
        guard(|| self.record_status(&credential_id, &status_list_token))
    }

    /// Refreshes every stored credential's status: fetches each distinct status list
    /// (`status.status_list.uri`, GET with `Accept: application/statuslist+jwt`) through the app's
    /// `http` and records it as [`Wallet::refresh_status`] does. One list failing (offline, a
    /// refused token) does not stop the others: it is listed in `failures`. Blocks on the
    /// network: call it off the UI thread.
    pub fn refresh_statuses(
        &self,
        http: Arc<dyn HttpClient>,
    ) -> Result<StatusRefresh, WalletError> {
        guard(|| {
            let http = Http::new(http);
            let rows = self.store.credentials()?;
            let before: HashMap<String, Option<u8>> =
                rows.iter().map(|r| (r.id.clone(), r.status)).collect();
            let mut by_uri: Vec<(String, String)> = Vec::new();
            for row in &rows {
                let Ok(claims) = claims_of(row) else { continue };
                let Ok(reference) = StatusReference::from_payload(&claims) else {
                    continue;
                };
                if !by_uri.iter().any(|(uri, _)| *uri == reference.uri) {
                    by_uri.push((reference.uri, row.id.clone()));
                }
            }
            let mut failures = Vec::new();
            let mut lists_checked = 0u32;
            for (uri, id) in by_uri {
                let fetched = http
                    .get(
                        "the status list request",
                        &uri,
                        "application/statuslist+jwt",
                    )
                    .and_then(|r| {
                        if r.status != 200 {
                            return Err(status_error(
                                "status_fetch",
                                format!("HTTP status {}", r.status),
                            ));
                        }
                        String::from_utf8(r.body)
                            .map_err(|_| status_error("status_fetch", "the token is not text"))
                    });
                let recorded = fetched.and_then(|token| {
                    // Every credential with this list: the same token, each checked against its
                    // own issuer key and entry.
                    for row in self.store.credentials()? {
                        let same = claims_of(&row)
                            .ok()
                            .and_then(|c| StatusReference::from_payload(&c).ok())
                            .is_some_and(|r| r.uri == uri);
                        if same && row.id != id {
                            self.record_status(&row.id, &token)?;
                        }
                    }
                    self.record_status(&id, &token)
                });
                match recorded {
                    Ok(_) => lists_checked += 1,
                    Err(e) => failures.push(StatusFailure {
                        status_list_uri: uri,
                        reason: e.to_string(),
                    }),
                }
            }
            let now = self.clock.now();
            let mut changed = Vec::new();
            for row in self.store.credentials()? {
                let previous = before.get(&row.id).copied().flatten();
                if before.contains_key(&row.id) && previous != row.status {
                    changed.push(StatusChange {
                        credential: self.summary(&row, now)?,
                        previous: CredentialStatus::from_value(previous),
                    });
                }
            }
            Ok(StatusRefresh {
                changed,
                failures,
                lists_checked,
            })
        })
    }
}

impl Wallet {
    fn record_status(
        &self,
        credential_id: &str,
        status_list_token: &str,
    ) -> Result<CredentialSummary, WalletError> {
        {
            let token = status_list_token.trim();
            if token.len() > MAX_STATUS_TOKEN_BYTES {
                return Err(status_error(
                    "status_token_too_large",
                    "the Status List Token is too large",
                ));
            }
            let row = self.row(credential_id)?;
            let claims = claims_of(&row)?;
            let reference =
                StatusReference::from_payload(&claims).map_err(|e| status_error(e.rule(), &e))?;
            let issuer_key =
                PublicKey::from_jwk_str(&row.issuer_jwk).map_err(WalletError::storage)?;
            let now = self.clock.now();
            let verified = verify_status_list_token_with_key(
                token,
                &issuer_key,
                &reference.uri,
                now,
                &Algorithm::ALL,
            )
            .map_err(|e| status_error(e.rule(), &e))?;
            let mut lists = StatusListStore::new(MAX_STATUS_TOKEN_AGE_SECS);
            lists.insert(verified);
            let value = match check_credential_status(&claims, &lists, now)
                .map_err(|e| status_error(e.rule(), &e))?
            {
                StatusOutcome::Valid => 0,
                StatusOutcome::Invalid => 1,
                StatusOutcome::Suspended => 2,
                StatusOutcome::Other(v) => v,
                StatusOutcome::Unknown { reason } => {
                    return Err(status_error(
                        &format!("status_{reason}"),
                        format!("the Status List Token cannot be relied on ({reason})"),
                    ))
                }
            };
            self.store.set_status(&row.id, value, now)?;
            for other in self.store.credentials()? {
                if other.id == row.id || other.issuer_jwk != row.issuer_jwk {
                    continue;
                }
                let same_entry = claims_of(&other)
                    .ok()
                    .and_then(|c| StatusReference::from_payload(&c).ok())
                    .is_some_and(|r| r == reference);
                if same_entry {
                    self.store.set_status(&other.id, value, now)?;
                }
            }
            self.summary(&self.row(&row.id)?, now)
        }
    }
}

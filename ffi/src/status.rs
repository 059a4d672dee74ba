//! Credential status: the app fetches the issuer's Status List Token over HTTP (the library does
//! no networking), the wallet verifies it and records the credential's status.

use govid_core::jose::{Algorithm, PublicKey};
use govid_core::status::{
    check_credential_status, verify_status_list_token_with_key, StatusListStore, StatusOutcome,
    StatusReference,
};

use crate::error::{guard, WalletError};
use crate::records::CredentialSummary;
use crate::wallet::{claims_of, Wallet};

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
        guard(|| {
            let token = status_list_token.trim();
            if token.len() > MAX_STATUS_TOKEN_BYTES {
                return Err(status_error(
                    "status_token_too_large",
                    "the Status List Token is too large",
                ));
            }
            let row = self.row(&credential_id)?;
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
        })
    }
}

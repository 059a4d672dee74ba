//! Choosing which of the holder's credentials to show at a gate.
//!
//! HR issues each staff member a worker ID and a gate pass bound to the same holder key with the
//! same status list entry. The pass carries only what gates ask for, so its presentation fits a
//! much smaller QR code. The `*_best` calls take the id of either credential (the card the
//! holder picked in the app) and present the gate pass when it can answer the request, else the
//! worker ID. The calls that take a credential id without `_best` present exactly that
//! credential, as they always have.

use govid_core::sdjwt::ClaimPath;
use govid_core::time::numeric_date;
use serde_json::{Map, Value};

use crate::error::{guard, WalletError};
use crate::present::{parse_paths, ClaimSelection, GateProfileKind, Presentation};
use crate::records::{CredentialKind, CredentialSummary};
use crate::store::CredentialRow;
use crate::wallet::{claims_of, kind_of, random_token, Wallet};
use crate::DEFAULT_ROTATION_SECONDS;

#[uniffi::export]
impl Wallet {
    /// The credential the `*_best` calls would present for `selection` on behalf of the holder
    /// of `credential_id` (a worker ID or a gate pass), without signing anything: lets the app
    /// say "showing your gate pass" before the holder reaches the gate.
    ///
    /// The choice: a gate pass of the same holder (same holder key, same `iss`, same status
    /// list entry) that is valid now (`nbf` passed, `exp` not), not known to be revoked or
    /// suspended, and has every selected claim; the most recently issued one if several. Else
    /// the worker ID: `credential_id` itself if it is one, else such a worker ID of the same
    /// holder. Else `credential_id` itself (presenting it then fails as presenting by id does,
    /// e.g. `InvalidCredential("expired")` or `MissingClaim`).
    pub fn best_credential(
        &self,
        credential_id: String,
        selection: ClaimSelection,
    ) -> Result<CredentialSummary, WalletError> {
        guard(|| {
            let row = self.best_row(&credential_id, &selection.paths()?)?;
            self.summary(&row, self.clock.now())
        })
    }

    /// [`Wallet::present`] with the credential chosen as [`Wallet::best_credential`] does: the
    /// gate pass when it has every selected claim (as for `ClaimSelection.Profile(ENTRY)`), else
    /// the worker ID (as for `COUNTER`). `Presentation.credential_id` and `kind` say which.
    pub fn present_best(
        &self,
        credential_id: String,
        aud: String,
        nonce: String,
        selection: ClaimSelection,
    ) -> Result<Presentation, WalletError> {
        guard(|| {
            let paths = selection.paths()?;
            let row = self.best_row(&credential_id, &paths)?;
            self.make_presentation(&row.id, aud, nonce, &paths, None)
        })
    }

    /// [`Wallet::present_rotating`] with the credential chosen as [`Wallet::best_credential`]
    /// does: for `GateProfileKind.ENTRY`, the gate pass when the wallet holds a valid one.
    pub fn present_rotating_best(
        &self,
        credential_id: String,
        aud: String,
        profile: GateProfileKind,
    ) -> Result<Presentation, WalletError> {
        guard(|| {
            let paths = profile.claims();
            let row = self.best_row(&credential_id, &paths)?;
            self.make_presentation(
                &row.id,
                aud,
                random_token(),
                &paths,
                Some(DEFAULT_ROTATION_SECONDS),
            )
        })
    }

    /// [`Wallet::present_for_challenge`] with the credential chosen as
    /// [`Wallet::best_credential`] does for the claims the challenge asks for.
    pub fn present_for_challenge_best(
        &self,
        credential_id: String,
        challenge: String,
    ) -> Result<Presentation, WalletError> {
        guard(|| {
            let c = self.scanned_challenge(&challenge)?;
            let paths = parse_paths(&c.claims)?;
            let row = self.best_row(&credential_id, &paths)?;
            self.make_presentation(&row.id, c.aud, c.nonce, &paths, None)
        })
    }
}

impl ClaimSelection {
    /// The claim paths the selection discloses.
    pub(crate) fn paths(&self) -> Result<Vec<ClaimPath>, WalletError> {
        match self {
            ClaimSelection::Profile { profile } => Ok(profile.claims()),
            ClaimSelection::Claims { paths } => parse_paths(paths),
        }
    }
}

impl Wallet {
    /// The credential to present `paths` from for the holder of `credential_id` (see
    /// [`Wallet::best_credential`]).
    pub(crate) fn best_row(
        &self,
        credential_id: &str,
        paths: &[ClaimPath],
    ) -> Result<CredentialRow, WalletError> {
        let anchor = self.row(credential_id)?;
        let anchor_claims = claims_of(&anchor)?;
        let anchor_kind = kind_of(&anchor_claims);
        let now = self.clock.now();
        let mut family = Vec::new();
        for row in self.store.credentials()? {
            if row.key_alias != anchor.key_alias {
                continue;
            }
            // A row whose claims do not parse cannot be presented either: skip it here, and
            // presenting it by id reports the storage error.
            let Ok(claims) = claims_of(&row) else {
                continue;
            };
            if same_holder_entry(&anchor_claims, &claims) {
                let kind = kind_of(&claims);
                let iat = claims.get("iat").and_then(numeric_date).unwrap_or(0);
                family.push((kind, iat, usable_now(&row, &claims, now), row));
            }
        }
        // Newest first; `received_at` and then the id break ties, so the choice is stable.
        family
            .sort_by(|a, b| (b.1, b.3.received_at, &b.3.id).cmp(&(a.1, a.3.received_at, &a.3.id)));
        let pick = |wanted: CredentialKind| {
            family
                .iter()
                .filter(|(kind, _, usable, _)| *kind == wanted && *usable)
                .map(|(_, _, _, row)| row)
                .find(|row| self.can_disclose(row, paths))
                .cloned()
        };
        if let Some(pass) = pick(CredentialKind::GatePass) {
            return Ok(pass);
        }
        if anchor_kind == CredentialKind::GatePass {
            if let Some(id) = pick(CredentialKind::WorkerId) {
                return Ok(id);
            }
        }
        Ok(anchor)
    }

    /// Whether the stored credential has every claim in `paths` (no signature is made). A stored
    /// credential that no longer verifies cannot disclose anything.
    fn can_disclose(&self, row: &CredentialRow, paths: &[ClaimPath]) -> bool {
        self.held(row)
            .is_ok_and(|held| held.present(paths, None).is_ok())
    }
}

/// Whether two credentials belong to the same holder entry: the same `iss` and the same status
/// list entry (or both none). The caller has already matched their holder key.
fn same_holder_entry(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    let iss = |c: &Map<String, Value>| c.get("iss").and_then(Value::as_str).map(str::to_owned);
    iss(a).is_some() && iss(a) == iss(b) && a.get("status") == b.get("status")
}

/// Whether a credential may be chosen now: within its validity period and not known to be
/// revoked, suspended or otherwise not valid.
fn usable_now(row: &CredentialRow, claims: &Map<String, Value>, now: u64) -> bool {
    let num = |name: &str| claims.get(name).and_then(numeric_date);
    let started = num("nbf").is_none_or(|nbf| nbf <= now);
    let unexpired = num("exp").is_some_and(|exp| exp > now);
    started && unexpired && matches!(row.status, None | Some(0))
}

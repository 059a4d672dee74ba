//! Status lists as the issuer keeps them: where each is published, and the Status List Token
//! `publish` signs. (Random index allocation is core's `status::IndexAllocator::allocate_many`.)

use crate::error::{CliError, CliResult};

/// The path of a status list URI below the web root: `https://h/status/1` → `status/1`.
pub(crate) fn uri_path(uri: &str) -> Option<String> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let (_, path) = rest.split_once('/')?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let safe = !path.is_empty()
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    safe.then(|| path.to_owned())
}

/// Status values (draft-ietf-oauth-status-list §7.1) as stored in `credentials.status`.
pub(crate) const VALID: u8 = 0;
/// Revoked: final.
pub(crate) const INVALID: u8 = 1;
/// Suspended: may go back to valid.
pub(crate) const SUSPENDED: u8 = 2;

/// Signs the Status List Token (`statuslist+jwt`) of a list of `capacity` entries whose
/// non-valid entries are `entries`, with core's status module.
pub(crate) fn sign_token(
    uri: &str,
    capacity: u32,
    entries: &[(u32, u8)],
    claims: (u64, u64, u64),
    signer: &dyn govid_core::jose::Signer,
) -> CliResult<String> {
    use govid_core::status::{sign_status_list_token, StatusBits, StatusList, StatusTokenClaims};
    let (iat, exp, ttl) = claims;
    let bad = |e: govid_core::status::StatusError| {
        CliError::new("status_list", format!("status list {uri}: {e}"))
    };
    let mut list = StatusList::new(StatusBits::TWO, capacity as usize).map_err(bad)?;
    for &(idx, value) in entries {
        list.set(idx as usize, value).map_err(bad)?;
    }
    let claims = StatusTokenClaims::new(uri, iat).expires_at(exp).ttl(ttl);
    Ok(sign_status_list_token(&list, &claims, signer)?)
}

/// Largest previously published token read back (a list of 16M entries compresses far below).
const MAX_TOKEN_BYTES: u64 = 8 << 20;

/// The entries the Status List Token in file `path` shows as revoked, if it is this issuer's
/// token for `uri` (signed by one of `keys`; expired or not). Anything else (no file, another
/// list, a bad signature) gives none: only a token this issuer signed counts as published.
pub(crate) fn published_revoked(
    path: &std::path::Path,
    uri: &str,
    keys: &[govid_core::jose::PublicKey],
    now: u64,
) -> Vec<u32> {
    use govid_core::jose::Algorithm;
    use govid_core::status::{verify_status_list_token_with_key, StatusTokenError};
    use std::io::Read;
    let mut token = String::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_TOKEN_BYTES).read_to_string(&mut token));
    if read.is_err() {
        return Vec::new();
    }
    let token = token.trim();
    let verified = keys.iter().find_map(|key| {
        match verify_status_list_token_with_key(token, key, uri, now, &Algorithm::ALL) {
            Ok(v) => Some(v),
            // An expired list still shows what was revoked: read it as of just before it expired.
            Err(StatusTokenError::Expired { exp, .. }) if exp > 0 => {
                verify_status_list_token_with_key(token, key, uri, exp - 1, &Algorithm::ALL).ok()
            }
            Err(_) => None,
        }
    });
    let Some(verified) = verified else {
        return Vec::new();
    };
    let list = verified.list();
    (0..list.len())
        .filter(|&i| list.status(i).is_ok_and(|v| v.to_u8() == INVALID))
        .filter_map(|i| u32::try_from(i).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths() {
        assert_eq!(
            uri_path("https://h.example/status/1").as_deref(),
            Some("status/1")
        );
        assert_eq!(
            uri_path("https://h.example/a/status/12").as_deref(),
            Some("a/status/12")
        );
        assert_eq!(uri_path("https://h.example/../x"), None);
        assert_eq!(uri_path("ftp://h.example/x"), None);
    }
}

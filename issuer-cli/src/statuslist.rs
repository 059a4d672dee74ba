//! Status lists as the issuer keeps them: the random index allocation for a batch, and the
//! Status List Token it publishes.

use std::collections::HashSet;

use rand_core::RngCore;

use crate::error::{CliError, CliResult};

/// Picks `count` distinct indices uniformly at random among the free ones in `0..capacity`
/// (partial Fisher–Yates over the free indices): O(capacity) per batch, however full the list.
/// Returns fewer when the list fills up.
pub(crate) fn allocate_batch(
    used: &HashSet<u32>,
    capacity: u32,
    count: usize,
    rng: &mut impl RngCore,
) -> Vec<u32> {
    let mut free: Vec<u32> = (0..capacity).filter(|i| !used.contains(i)).collect();
    let take = count.min(free.len());
    for i in 0..take {
        let j = i + uniform_below(rng, (free.len() - i) as u32) as usize;
        free.swap(i, j);
    }
    free.truncate(take);
    free
}

/// A uniform integer in `0..n` (`n` ≥ 1), without modulo bias.
fn uniform_below(rng: &mut impl RngCore, n: u32) -> u32 {
    let n = n.max(1);
    let zone = u32::MAX - (u32::MAX - n + 1) % n;
    loop {
        let x = rng.next_u32();
        if x <= zone {
            return x % n;
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn batches_are_unique_and_fill_the_list() {
        let mut used = HashSet::new();
        for _ in 0..5 {
            for i in allocate_batch(&used, 100, 30, &mut OsRng) {
                assert!(i < 100);
                assert!(used.insert(i));
            }
        }
        assert_eq!(used.len(), 100);
        assert!(allocate_batch(&used, 100, 1, &mut OsRng).is_empty());
    }

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

//! Status lists as the issuer keeps them: the random index allocation for a batch, and the
//! Status List Token it publishes.

use std::collections::HashSet;

use rand_core::RngCore;

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

/// Bits per entry in govid's lists: valid, invalid and suspended need 2.
pub(crate) const BITS: u8 = 2;

/// The `lst` of a list of `capacity` entries of [`BITS`] bits with the non-zero `entries`:
/// packed LSB-first (draft §4.1), ZLIB at the best level, base64url.
pub(crate) fn encode_lst(capacity: u32, entries: &[(u32, u8)]) -> String {
    use std::io::Write as _;
    let per_byte = 8 / u32::from(BITS);
    let mut bytes = vec![0u8; capacity.div_ceil(per_byte) as usize];
    for &(idx, value) in entries {
        if idx < capacity {
            let shift = (idx % per_byte) * u32::from(BITS);
            bytes[(idx / per_byte) as usize] |= (value & 0b11) << shift;
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&bytes);
    govid_core::b64::encode(z.finish().unwrap_or_default())
}

/// Signs a Status List Token (`typ` `statuslist+jwt`).
pub(crate) fn sign_token(
    uri: &str,
    lst: &str,
    iat: u64,
    exp: u64,
    ttl: u64,
    signer: &dyn govid_core::jose::Signer,
) -> Result<String, govid_core::jose::SignError> {
    use serde_json::{json, Map, Value};
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::String("statuslist+jwt".to_owned()));
    let payload = json!({
        "sub": uri, "iat": iat, "exp": exp, "ttl": ttl,
        "status_list": {"bits": BITS, "lst": lst},
    });
    let payload = match payload {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    govid_core::jose::sign_compact(header, &payload, signer)
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

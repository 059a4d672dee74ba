//! Stateless `c_nonce`s (OpenID4VCI 1.0 §7): `POST /nonce` writes nothing; the nonce carries its
//! own expiry and a MAC under a key kept in `issuer.db` (`meta.vci_nonce_key`, made at the first
//! `serve`), so every instance on the same directory, and a restarted one, accepts it.
//!
//! Single use is the credential request's business: the nonce's hash goes into
//! `vci_used_nonces` in the same transaction as the issuance it allows (see `db::use_nonce`),
//! so a nonce is spent exactly when that request is recorded, and the record survives a crash
//! and a restart as long as the nonce could still pass [`NonceKey::check`].
//!
//! Layout, base64url: version `1` (1 byte) ‖ expiry, unix seconds (8, big-endian) ‖ 16 random
//! bytes ‖ the first 16 bytes of HMAC-SHA-256 over the preceding 25 bytes.

use crate::db::{Connection, OptionalExtension};
use govid_core::b64;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

use crate::audit::to_hex;
use crate::error::{CliError, CliResult};
use crate::store;

/// Seconds a `c_nonce` lasts.
pub(crate) const NONCE_SECS: u64 = 300;

/// Seconds another instance's clock may be ahead of this one's: a nonce whose expiry is further
/// than [`NONCE_SECS`] plus this from now was not made by this key.
const MAX_SKEW_SECS: u64 = 60;

/// The `meta` key of the MAC key (hex).
const KEY_META: &str = "vci_nonce_key";

const VERSION: u8 = 1;
const BODY: usize = 1 + 8 + 16;
const TAG: usize = 16;

/// The key `c_nonce`s are made and checked with.
pub(crate) struct NonceKey([u8; 32]);

impl NonceKey {
    /// The directory's key, made (at random) and stored the first time.
    pub(crate) fn load_or_create(conn: &mut Connection) -> CliResult<Self> {
        let tx = store::write_tx(conn)?;
        let stored: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [KEY_META], |r| {
                r.get(0)
            })
            .optional()?;
        let hex = match stored {
            Some(hex) => hex,
            None => {
                let mut key = [0u8; 32];
                OsRng
                    .try_fill_bytes(&mut key)
                    .map_err(|_| CliError::new("rng", "the system RNG failed"))?;
                let hex = to_hex(&key);
                store::set_meta(&tx, KEY_META, &hex)?;
                hex
            }
        };
        tx.commit()?;
        let bad = || CliError::new("corrupt_database", "bad vci_nonce_key in issuer.db");
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = hex
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)?;
        }
        Ok(Self(key))
    }

    fn tag(&self, body: &[u8]) -> CliResult<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .map_err(|_| CliError::new("internal", "nonce key"))?;
        mac.update(body);
        Ok(mac)
    }

    /// A fresh nonce, valid for [`NONCE_SECS`] from `now`.
    pub(crate) fn issue(&self, now: u64) -> CliResult<String> {
        let mut body = [0u8; BODY];
        body[0] = VERSION;
        body[1..9].copy_from_slice(&(now + NONCE_SECS).to_be_bytes());
        OsRng
            .try_fill_bytes(&mut body[9..])
            .map_err(|_| CliError::new("rng", "the system RNG failed"))?;
        let tag = self.tag(&body)?.finalize().into_bytes();
        let mut out = body.to_vec();
        out.extend_from_slice(&tag[..TAG]);
        Ok(b64::encode(out))
    }

    /// The nonce's expiry if this key made it and it has not expired yet (`None` otherwise: a
    /// nonce of another key or version, forged, altered or expired).
    pub(crate) fn check(&self, nonce: &str, now: u64) -> Option<u64> {
        if nonce.len() > 64 {
            return None;
        }
        let bytes = b64::decode(nonce)?;
        if bytes.len() != BODY + TAG || bytes.first() != Some(&VERSION) {
            return None;
        }
        let (body, tag) = bytes.split_at(BODY);
        self.tag(body).ok()?.verify_truncated_left(tag).ok()?;
        let expires = u64::from_be_bytes(body.get(1..9)?.try_into().ok()?);
        // A nonce lasting longer than any this key makes (allowing for another instance's
        // clock) was not made by it.
        (now < expires && expires <= now + NONCE_SECS + MAX_SKEW_SECS).then_some(expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_checks_until_it_expires_and_not_when_altered() {
        let key = NonceKey([7; 32]);
        let other = NonceKey([8; 32]);
        let now = 1_800_000_000;
        let nonce = key.issue(now).unwrap_or_default();
        assert_eq!(key.check(&nonce, now), Some(now + NONCE_SECS));
        assert_eq!(
            key.check(&nonce, now + NONCE_SECS - 1),
            Some(now + NONCE_SECS)
        );
        assert_eq!(key.check(&nonce, now + NONCE_SECS), None);
        assert_eq!(other.check(&nonce, now), None);
        // Made by an instance whose clock is ahead: accepted within the allowed skew only.
        assert_eq!(key.check(&nonce, now - 60), Some(now + NONCE_SECS));
        assert_eq!(key.check(&nonce, now - 61), None);
        let mut bytes = b64::decode(&nonce).unwrap_or_default();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            assert_eq!(key.check(&b64::encode(&bytes), now), None, "byte {i}");
            bytes[i] ^= 1;
        }
        assert_eq!(key.check("not-a-nonce", now), None);
        assert_eq!(key.check("", now), None);
        assert_ne!(key.issue(now).unwrap_or_default(), nonce);
    }
}

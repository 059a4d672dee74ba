//! The fields of the key store's files, checked before they are used: a corrupted or tampered
//! `keystore.json` must not make `open` allocate gigabytes, run for hours, or derive the
//! key-encryption key with parameters weaker than the store writes.
//!
//! Every failure is [`KeyStoreError::Failed`] with a reason starting "key store file is corrupted:"
//! that names the field and the bound, never a salt, nonce or key.

use std::fmt;

use govid_core::b64;
use serde_json::Value;

use crate::error::KeyStoreError;

/// The Argon2id memory cost a new store is written with: 19 MiB (with [`WRITTEN_T`] and
/// [`WRITTEN_P`], the OWASP password-storage minimum). Also the floor.
pub(super) const WRITTEN_M_KIB: u32 = 19 * 1024;
/// The Argon2id passes a new store is written with. Also the floor.
pub(super) const WRITTEN_T: u32 = 2;
/// The Argon2id lanes a new store is written with. Also the floor.
pub(super) const WRITTEN_P: u32 = 1;
/// The salt length a new store is written with, in bytes. Also the floor.
pub(super) const WRITTEN_SALT_LEN: usize = 16;

/// The most Argon2id memory a store file may ask for: 64 MiB (RFC 9106's second recommended
/// setting), an allocation every supported phone makes.
pub(super) const MAX_M_KIB: u32 = 64 * 1024;
/// The most Argon2id passes a store file may ask for. With [`MAX_M_KIB`], about a second.
pub(super) const MAX_T: u32 = 8;
/// The most Argon2id lanes a store file may ask for.
pub(super) const MAX_P: u32 = 8;
/// The longest salt a store file may hold, in bytes.
pub(super) const MAX_SALT_LEN: usize = 64;
/// The largest key store file read, in bytes (the store writes well under 1 KiB).
pub(super) const MAX_FILE_LEN: u64 = 16 * 1024;

/// An XChaCha20-Poly1305 nonce, in bytes.
pub(super) const NONCE_LEN: usize = 24;
/// A Poly1305 tag, in bytes.
pub(super) const TAG_LEN: usize = 16;
/// A sealed private key (`ct` of a key file): the 32-byte scalar or seed and the tag.
pub(super) const SEALED_KEY_LEN: usize = 32 + TAG_LEN;

/// The reason of a corrupted-file error.
pub(super) fn corrupted(detail: impl fmt::Display) -> KeyStoreError {
    KeyStoreError::Failed {
        reason: format!("key store file is corrupted: {detail}"),
    }
}

/// The key derivation parameters of `keystore.json`, each within its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct KdfParams {
    /// Memory, KiB.
    pub(super) m_kib: u32,
    /// Passes.
    pub(super) t: u32,
    /// Lanes.
    pub(super) p: u32,
}

impl KdfParams {
    /// What a new store is written with.
    pub(super) const WRITTEN: Self = Self {
        m_kib: WRITTEN_M_KIB,
        t: WRITTEN_T,
        p: WRITTEN_P,
    };

    /// Reads `m_kib`, `t` and `p` of a parsed `keystore.json`, refusing any outside
    /// floor..=ceiling, and checks `v` and `kdf`.
    pub(super) fn from_meta(meta: &Value) -> Result<Self, KeyStoreError> {
        if meta.get("v").and_then(Value::as_u64) != Some(1) {
            return Err(corrupted("`v` is not 1"));
        }
        if meta.get("kdf").and_then(Value::as_str) != Some("argon2id") {
            return Err(corrupted("`kdf` is not argon2id"));
        }
        Ok(Self {
            m_kib: bounded(
                meta,
                "m_kib",
                "argon2 memory",
                " KiB",
                WRITTEN_M_KIB,
                MAX_M_KIB,
            )?,
            t: bounded(meta, "t", "argon2 passes", "", WRITTEN_T, MAX_T)?,
            p: bounded(meta, "p", "argon2 lanes", "", WRITTEN_P, MAX_P)?,
        })
    }
}

/// Field `name` as an integer in `min..=max`.
fn bounded(
    meta: &Value,
    name: &str,
    what: &str,
    unit: &str,
    min: u32,
    max: u32,
) -> Result<u32, KeyStoreError> {
    let value = meta
        .get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| corrupted(format_args!("`{name}` is missing or not an integer")))?;
    if value > u64::from(max) {
        return Err(corrupted(format_args!(
            "{what} {value}{unit} exceeds {max}{unit}"
        )));
    }
    if value < u64::from(min) {
        return Err(corrupted(format_args!(
            "{what} {value}{unit} is below {min}{unit}"
        )));
    }
    // In range of a u32 by the check against `max`.
    u32::try_from(value).map_err(|_| corrupted(format_args!("{what} is out of range")))
}

/// Base64url field `name`, whose decoded length must be in `min..=max` bytes.
pub(super) fn bytes_field(
    value: &Value,
    name: &str,
    min: usize,
    max: usize,
) -> Result<Vec<u8>, KeyStoreError> {
    let bytes = value
        .get(name)
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .ok_or_else(|| corrupted(format_args!("`{name}` is missing or not base64url")))?;
    if !(min..=max).contains(&bytes.len()) {
        let expected = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(corrupted(format_args!(
            "`{name}` is {} bytes, not {expected}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn meta(m_kib: Value, t: Value, p: Value) -> Value {
        json!({"v": 1, "kdf": "argon2id", "m_kib": m_kib, "t": t, "p": p})
    }

    fn reason(r: Result<KdfParams, KeyStoreError>) -> String {
        match r {
            Err(KeyStoreError::Failed { reason }) => reason,
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[test]
    fn what_the_store_writes_and_the_ceilings_are_accepted() {
        let written = meta(json!(WRITTEN_M_KIB), json!(WRITTEN_T), json!(WRITTEN_P));
        assert_eq!(KdfParams::from_meta(&written), Ok(KdfParams::WRITTEN));
        let max = meta(json!(MAX_M_KIB), json!(MAX_T), json!(MAX_P));
        assert_eq!(
            KdfParams::from_meta(&max),
            Ok(KdfParams {
                m_kib: MAX_M_KIB,
                t: MAX_T,
                p: MAX_P
            })
        );
    }

    #[test]
    fn each_parameter_outside_its_bounds_is_named() {
        let (m, t, p) = (json!(WRITTEN_M_KIB), json!(WRITTEN_T), json!(WRITTEN_P));
        let cases = [
            (
                meta(json!(4_194_304), t.clone(), p.clone()),
                "key store file is corrupted: argon2 memory 4194304 KiB exceeds 65536 KiB",
            ),
            (
                meta(json!(u64::MAX), t.clone(), p.clone()),
                "key store file is corrupted: argon2 memory 18446744073709551615 KiB exceeds 65536 KiB",
            ),
            (
                meta(json!(8), t.clone(), p.clone()),
                "key store file is corrupted: argon2 memory 8 KiB is below 19456 KiB",
            ),
            (
                meta(m.clone(), json!(4_294_967_295_u64), p.clone()),
                "key store file is corrupted: argon2 passes 4294967295 exceeds 8",
            ),
            (
                meta(m.clone(), json!(1), p.clone()),
                "key store file is corrupted: argon2 passes 1 is below 2",
            ),
            (
                meta(m.clone(), t.clone(), json!(0)),
                "key store file is corrupted: argon2 lanes 0 is below 1",
            ),
            (
                meta(m.clone(), t.clone(), json!(255)),
                "key store file is corrupted: argon2 lanes 255 exceeds 8",
            ),
            (
                meta(json!(-1), t.clone(), p.clone()),
                "key store file is corrupted: `m_kib` is missing or not an integer",
            ),
            (
                meta(m.clone(), json!(2.5), p.clone()),
                "key store file is corrupted: `t` is missing or not an integer",
            ),
            (
                meta(m.clone(), t.clone(), json!("1")),
                "key store file is corrupted: `p` is missing or not an integer",
            ),
            (
                json!({"v": 2, "kdf": "argon2id", "m_kib": m, "t": t, "p": p}),
                "key store file is corrupted: `v` is not 1",
            ),
            (
                json!({"v": 1, "kdf": "pbkdf2", "m_kib": m, "t": t, "p": p}),
                "key store file is corrupted: `kdf` is not argon2id",
            ),
        ];
        for (meta, expected) in cases {
            assert_eq!(reason(KdfParams::from_meta(&meta)), expected, "{meta}");
        }
    }

    #[test]
    fn byte_fields_outside_their_lengths_are_named() {
        let value = json!({"salt": b64::encode([7u8; 4]), "junk": "***"});
        match bytes_field(&value, "salt", WRITTEN_SALT_LEN, MAX_SALT_LEN) {
            Err(KeyStoreError::Failed { reason }) => assert_eq!(
                reason,
                "key store file is corrupted: `salt` is 4 bytes, not 16 to 64"
            ),
            other => panic!("{other:?}"),
        }
        match bytes_field(&value, "junk", 1, 1) {
            Err(KeyStoreError::Failed { reason }) => assert_eq!(
                reason,
                "key store file is corrupted: `junk` is missing or not base64url"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(bytes_field(&value, "salt", 4, 4), Ok(vec![7u8; 4]));
    }
}

//! Multikey: multibase base58btc (`z…`) of a multicodec-prefixed public key, as did:key and the
//! `publicKeyMultibase` of a `Multikey` verification method (W3C Controlled Identifiers §2.2.2)
//! encode keys.
//!
//! Decoding is strict so that one key has exactly one text form: the `z` prefix, a minimal
//! varint, exactly the key length, and for P-256 the 33-byte compressed point.

use super::DidError;
use crate::jose::{P256PublicKey, PublicKey};

/// Multicodec `ed25519-pub`.
const ED25519_PUB: u64 = 0xed;
/// Multicodec `p256-pub` (compressed SEC1 point).
const P256_PUB: u64 = 0x1200;
/// Multicodec `x25519-pub` (only written, for did:key's key agreement key).
const X25519_PUB: u64 = 0xec;

/// Longest multibase text decoded. Ed25519 and P-256 keys take 48 characters; the bound keeps
/// base58's quadratic decoding cheap on hostile input.
const MAX_MULTIBASE_LEN: usize = 256;

/// Appends `value` as an unsigned LEB128 varint (multiformats unsigned-varint).
fn push_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a minimal unsigned varint of at most 9 bytes (the multiformats limit), returning the
/// value and the bytes it took.
fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // A final zero byte after others means the encoding was not minimal.
            if b == 0 && i > 0 {
                return None;
            }
            return Some((value, i + 1));
        }
    }
    None
}

fn multibase(codec: u64, key: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(3 + key.len());
    push_varint(codec, &mut bytes);
    bytes.extend_from_slice(key);
    let mut text = String::from("z");
    text.push_str(&bs58::encode(bytes).into_string());
    text
}

/// The Multikey text (`z6Mk…` for Ed25519, `zDn…` for P-256) of a public key.
pub fn multikey_from_public_key(key: &PublicKey) -> String {
    match key {
        PublicKey::Ed25519(key) => multibase(ED25519_PUB, key.as_bytes()),
        PublicKey::P256(key) => multibase(P256_PUB, &key.sec1_compressed()),
    }
}

/// The X25519 key agreement Multikey (`z6LS…`) birationally equivalent to an Ed25519 key, as the
/// did:key resolver derives it.
pub(crate) fn x25519_multikey(key: &ed25519_dalek::VerifyingKey) -> (String, [u8; 32]) {
    let x25519 = key.to_montgomery().to_bytes();
    (multibase(X25519_PUB, &x25519), x25519)
}

fn exact<const N: usize>(key: &[u8]) -> Result<[u8; N], DidError> {
    key.try_into().map_err(|_| DidError::KeyLength {
        expected: N,
        actual: key.len(),
    })
}

/// Parses a Multikey text into an Ed25519 or P-256 public key.
pub fn public_key_from_multikey(text: &str) -> Result<PublicKey, DidError> {
    let Some(b58) = text.strip_prefix('z') else {
        return Err(DidError::Multibase("missing the `z` (base58btc) prefix"));
    };
    if b58.is_empty() || b58.len() > MAX_MULTIBASE_LEN {
        return Err(DidError::Multibase("length out of range"));
    }
    let bytes = bs58::decode(b58)
        .into_vec()
        .map_err(|_| DidError::Multibase("not base58btc"))?;
    let (codec, used) = read_varint(&bytes).ok_or(DidError::Multicodec)?;
    let key = &bytes[used..];
    match codec {
        ED25519_PUB => {
            let key: [u8; 32] = exact(key)?;
            ed25519_dalek::VerifyingKey::from_bytes(&key)
                .map(PublicKey::Ed25519)
                .map_err(|_| DidError::InvalidKey)
        }
        P256_PUB => {
            let key: [u8; 33] = exact(key)?;
            if !matches!(key[0], 0x02 | 0x03) {
                return Err(DidError::InvalidKey);
            }
            P256PublicKey::from_sec1(&key)
                .map(PublicKey::P256)
                .map_err(|_| DidError::InvalidKey)
        }
        _ => Err(DidError::UnsupportedKeyType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_minimal() {
        let mut out = Vec::new();
        push_varint(0x1200, &mut out);
        assert_eq!(out, [0x80, 0x24]);
        assert_eq!(read_varint(&[0x80, 0x24, 1]), Some((0x1200, 2)));
        assert_eq!(read_varint(&[0xed, 0x01]), Some((0xed, 2)));
        assert_eq!(read_varint(&[0x00]), Some((0, 1)));
        assert_eq!(read_varint(&[0xed, 0x81, 0x00]), None, "overlong");
        assert_eq!(read_varint(&[0x80; 9]), None, "too long");
        assert_eq!(read_varint(&[0x80]), None, "truncated");
        assert_eq!(read_varint(&[]), None);
    }

    #[test]
    fn refuses_bad_multikeys() {
        let ed = "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        assert!(public_key_from_multikey(ed).is_ok());
        assert_eq!(
            public_key_from_multikey("z"),
            Err(DidError::Multibase("length out of range"))
        );
        assert_eq!(
            public_key_from_multikey(&"z".repeat(300)),
            Err(DidError::Multibase("length out of range"))
        );
        // An uncompressed P-256 point under p256-pub: one key, one text form.
        let key = public_key_from_multikey("zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv")
            .unwrap_or_else(|e| panic!("{e}"));
        let PublicKey::P256(p) = &key else {
            panic!("not P-256")
        };
        let uncompressed = multibase(P256_PUB, p.sec1());
        assert_eq!(
            public_key_from_multikey(&uncompressed),
            Err(DidError::KeyLength {
                expected: 33,
                actual: 65
            })
        );
        // 0x04 prefix with 33 bytes is not a compressed point.
        let mut bad = p.sec1_compressed();
        bad[0] = 0x04;
        assert_eq!(
            public_key_from_multikey(&multibase(P256_PUB, &bad)),
            Err(DidError::InvalidKey)
        );
        // x25519-pub is written for key agreement but never accepted as a signing key.
        assert_eq!(
            public_key_from_multikey(&multibase(X25519_PUB, &[9; 32])),
            Err(DidError::UnsupportedKeyType)
        );
        // x = 1: 1 - 3 + b is not a square mod p, so no point has this x.
        let mut off_curve = [0u8; 33];
        off_curve[0] = 0x02;
        off_curve[32] = 1;
        assert_eq!(
            public_key_from_multikey(&multibase(P256_PUB, &off_curve)),
            Err(DidError::InvalidKey)
        );
    }
}

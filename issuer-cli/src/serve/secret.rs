//! Secrets the service hands out (offer URL ids, pre-authorized codes, PINs, access tokens,
//! nonces, notification ids) and the hashes it keeps of them instead.

use govid_core::b64;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::audit::to_hex;
use crate::error::{CliError, CliResult};

/// 256 random bits, base64url (43 characters).
pub(crate) fn random_token() -> CliResult<String> {
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| CliError::new("rng", "the system RNG failed"))?;
    Ok(b64::encode(bytes))
}

/// A 6-digit PIN, uniform (rejection sampling).
pub(crate) fn random_pin() -> CliResult<String> {
    loop {
        let mut bytes = [0u8; 4];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| CliError::new("rng", "the system RNG failed"))?;
        let n = u32::from_be_bytes(bytes);
        // 4_294_000_000 is the largest multiple of 10^6 below 2^32.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// SHA-256 (hex) of `parts` joined by `:`, under a label: what the database keeps.
pub(crate) fn hash(label: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    for p in parts {
        h.update(b":");
        h.update(p.as_bytes());
    }
    to_hex(&h.finalize())
}

/// The pre-authorized code of the offer whose URL id is `reference`: derived, so the database
/// keeps hashes of both and can still serve the offer object at its URL.
pub(crate) fn code_of(reference: &str) -> String {
    b64::encode(Sha256::digest(
        format!("govid-vci-code:{reference}").as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_digits_and_tokens_256_bits() {
        for _ in 0..100 {
            let pin = random_pin().unwrap_or_default();
            assert_eq!(pin.len(), 6);
            assert!(pin.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(random_token().unwrap_or_default().len(), 43);
        assert_ne!(
            hash("a", &["b:c"]),
            hash("a", &["b", "c"]).replace('x', "y") + "0"
        );
    }
}

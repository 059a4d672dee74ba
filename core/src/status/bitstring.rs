//! Read-only decoding of W3C Bitstring Status List v1.0 `encodedList` values.
//!
//! `encodedList` is the multibase prefix `u` followed by base64url (no padding) of the GZIP of
//! the bitstring. Index 0 is the **most** significant bit of the first byte (left to right),
//! and each entry is `statusSize` consecutive bits, most significant first. This is the opposite
//! bit order to the IETF Token Status List ([`StatusList`](super::StatusList)), which packs from
//! the least significant bit: the two are kept apart on purpose.
//!
//! Length: the REC requires at least 16 KB of bits (131,072 entries) and has verifiers raise
//! `STATUS_LIST_LENGTH_ERROR` for shorter lists. This decoder accepts shorter lists, without
//! warning, so that the small published test vectors decode; [`BitstringStatusList::meets_minimum_length`]
//! tells a caller that wants to enforce the rule. Decompression is bounded to 16 MiB.

use super::compress::gzip_decompress_bounded;
use super::{StatusError, MAX_ENTRIES};
use crate::b64;

/// The REC's minimum bitstring length: 16 KB = 131,072 bits.
pub const W3C_MIN_BITS: usize = 16 * 1024 * 8;

/// The most bytes a bitstring may inflate to (16 MiB).
const MAX_BYTES: usize = MAX_ENTRIES;

/// A decoded W3C bitstring with `statusSize`-bit entries.
#[derive(Clone, PartialEq, Eq)]
pub struct BitstringStatusList {
    status_size: u8,
    bytes: Vec<u8>,
}

impl BitstringStatusList {
    /// Decodes `encodedList` with entries of `status_size` bits (1 to 8).
    pub fn decode(encoded_list: &str, status_size: u8) -> Result<Self, StatusError> {
        if !(1..=8).contains(&status_size) {
            return Err(StatusError::InvalidBits(u64::from(status_size)));
        }
        let body = encoded_list
            .strip_prefix('u')
            .ok_or(StatusError::Encoding("multibase base64url (`u` prefix)"))?;
        let compressed = b64::decode(body).ok_or(StatusError::Encoding("base64url"))?;
        let bytes = gzip_decompress_bounded(&compressed, MAX_BYTES)?;
        Ok(Self { status_size, bytes })
    }

    /// Bits per entry.
    pub fn status_size(&self) -> u8 {
        self.status_size
    }

    /// Number of whole entries.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8 / usize::from(self.status_size)
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The uncompressed bitstring.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the bitstring has the REC's minimum 131,072 bits (not enforced by `decode`).
    pub fn meets_minimum_length(&self) -> bool {
        self.bytes.len() * 8 >= W3C_MIN_BITS
    }

    /// The status at `idx`, read most significant bit first. Past the end is `IndexOutOfRange`.
    pub fn get(&self, idx: usize) -> Result<u8, StatusError> {
        if idx >= self.len() {
            return Err(StatusError::IndexOutOfRange {
                index: idx as u64,
                len: self.len(),
            });
        }
        let first = idx * usize::from(self.status_size);
        let mut value = 0u8;
        for bit in first..first + usize::from(self.status_size) {
            let set = (self.bytes[bit / 8] >> (7 - bit % 8)) & 1;
            value = (value << 1) | set;
        }
        Ok(value)
    }
}

impl std::fmt::Debug for BitstringStatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitstringStatusList")
            .field("status_size", &self.status_size)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_missing_prefix_bad_base64_and_bad_sizes() {
        let v = "uH4sIAAAAAAAAA_MAAC8mBaoBAAAA";
        assert!(BitstringStatusList::decode(v, 1).is_ok());
        assert_eq!(
            BitstringStatusList::decode(&v[1..], 1),
            Err(StatusError::Encoding("multibase base64url (`u` prefix)"))
        );
        assert_eq!(
            BitstringStatusList::decode("u!!", 1),
            Err(StatusError::Encoding("base64url"))
        );
        assert_eq!(
            BitstringStatusList::decode(v, 0),
            Err(StatusError::InvalidBits(0))
        );
        assert_eq!(
            BitstringStatusList::decode(v, 9),
            Err(StatusError::InvalidBits(9))
        );
    }
}

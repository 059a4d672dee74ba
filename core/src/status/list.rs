//! The IETF Token Status List (draft-ietf-oauth-status-list-20 §4): a byte array of 1, 2, 4 or
//! 8-bit statuses, packed from the least significant bit of each byte.

use std::fmt;

use super::compress;
use super::StatusError;
use crate::b64;

/// The most entries a list may hold: 2^24 (16,777,216). At 8 bits per entry that is 16 MiB,
/// which is also the most a compressed list may inflate to (see [`StatusList::from_compressed`]).
/// govid's default list holds 2^17 entries, so this leaves room for large deployments while a
/// compression bomb stays bounded.
pub const MAX_ENTRIES: usize = 1 << 24;

/// Bits per status entry: 1, 2, 4 or 8 (draft §4.1 step 1). Nothing else can be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusBits(u8);

impl StatusBits {
    /// One bit: VALID or INVALID only.
    pub const ONE: StatusBits = StatusBits(1);
    /// Two bits: VALID, INVALID, SUSPENDED and 0x03 (application specific).
    pub const TWO: StatusBits = StatusBits(2);
    /// Four bits.
    pub const FOUR: StatusBits = StatusBits(4);
    /// Eight bits.
    pub const EIGHT: StatusBits = StatusBits(8);

    /// The number of bits.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Entries per byte: 8, 4, 2 or 1.
    fn per_byte(self) -> usize {
        usize::from(8 / self.0)
    }

    /// The largest value an entry can hold.
    pub fn max_value(self) -> u8 {
        u8::MAX >> (8 - self.0)
    }

    /// The largest byte array a list with these bits may have: [`MAX_ENTRIES`] entries.
    pub fn max_bytes(self) -> usize {
        MAX_ENTRIES / self.per_byte()
    }
}

impl TryFrom<u8> for StatusBits {
    type Error = StatusError;

    fn try_from(bits: u8) -> Result<Self, StatusError> {
        match bits {
            1 | 2 | 4 | 8 => Ok(StatusBits(bits)),
            other => Err(StatusError::InvalidBits(u64::from(other))),
        }
    }
}

/// A status value (draft §7.1): VALID, INVALID, SUSPENDED, or another raw value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusValue {
    /// 0x00: valid.
    Valid,
    /// 0x01: revoked. Final: see [`StatusList::transition`].
    Invalid,
    /// 0x02: temporarily invalid.
    Suspended,
    /// Any other value; 0x03 and 0x0C–0x0F are application specific, the rest reserved.
    Other(u8),
}

impl StatusValue {
    /// Raw value 0x00.
    pub const VALID: u8 = 0;
    /// Raw value 0x01.
    pub const INVALID: u8 = 1;
    /// Raw value 0x02.
    pub const SUSPENDED: u8 = 2;

    /// The raw value.
    pub fn to_u8(self) -> u8 {
        match self {
            StatusValue::Valid => Self::VALID,
            StatusValue::Invalid => Self::INVALID,
            StatusValue::Suspended => Self::SUSPENDED,
            StatusValue::Other(v) => v,
        }
    }

    /// Whether the draft reserves this value as application specific (0x03, 0x0C–0x0F).
    pub fn is_application_specific(self) -> bool {
        matches!(self.to_u8(), 0x03 | 0x0C..=0x0F)
    }
}

impl From<u8> for StatusValue {
    fn from(value: u8) -> Self {
        match value {
            Self::VALID => StatusValue::Valid,
            Self::INVALID => StatusValue::Invalid,
            Self::SUSPENDED => StatusValue::Suspended,
            other => StatusValue::Other(other),
        }
    }
}

impl fmt::Display for StatusValue {
    /// `VALID`, `INVALID`, `SUSPENDED`, or the raw value as `0x03`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusValue::Valid => f.write_str("VALID"),
            StatusValue::Invalid => f.write_str("INVALID"),
            StatusValue::Suspended => f.write_str("SUSPENDED"),
            StatusValue::Other(v) => write!(f, "0x{v:02x}"),
        }
    }
}

/// A decoded status list: `len` entries of `bits` bits each.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: StatusBits,
    len: usize,
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `len` entries, all VALID (0x00, the draft's recommended default, §13.3).
    pub fn new(bits: StatusBits, len: usize) -> Result<Self, StatusError> {
        if len > MAX_ENTRIES {
            return Err(StatusError::TooManyEntries { max: MAX_ENTRIES });
        }
        let bytes = vec![0u8; len.div_ceil(bits.per_byte())];
        Ok(Self { bits, len, bytes })
    }

    /// Wraps an uncompressed byte array; the list has `bytes.len() * 8 / bits` entries.
    pub fn from_bytes(bits: StatusBits, bytes: Vec<u8>) -> Result<Self, StatusError> {
        if bytes.len() > bits.max_bytes() {
            return Err(StatusError::TooManyEntries { max: MAX_ENTRIES });
        }
        let len = bytes.len() * bits.per_byte();
        Ok(Self { bits, len, bytes })
    }

    /// Decompresses a ZLIB byte array (draft §4.1), refusing output beyond `bits.max_bytes()`
    /// ([`MAX_ENTRIES`] entries, at most 16 MiB) without ever allocating more than that.
    pub fn from_compressed(bits: StatusBits, compressed: &[u8]) -> Result<Self, StatusError> {
        let bytes = compress::zlib_decompress_bounded(compressed, bits.max_bytes())?;
        Self::from_bytes(bits, bytes)
    }

    /// Decodes the JSON form's `lst`: base64url (no padding) of the ZLIB byte array.
    pub fn from_lst(bits: StatusBits, lst: &str) -> Result<Self, StatusError> {
        let compressed = b64::decode(lst).ok_or(StatusError::Encoding("base64url"))?;
        Self::from_compressed(bits, &compressed)
    }

    /// The byte array compressed with ZLIB at the best compression level (for publishing).
    pub fn to_compressed(&self) -> Vec<u8> {
        compress::zlib_compress_best(&self.bytes)
    }

    /// The JSON form's `lst`: base64url of [`Self::to_compressed`].
    pub fn to_lst(&self) -> String {
        b64::encode(self.to_compressed())
    }

    /// Bits per entry.
    pub fn bits(&self) -> StatusBits {
        self.bits
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The uncompressed byte array.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Byte position, bit shift and mask of entry `idx`, or `IndexOutOfRange`.
    fn locate(&self, idx: usize) -> Result<(usize, u8), StatusError> {
        if idx >= self.len {
            return Err(StatusError::IndexOutOfRange {
                index: idx as u64,
                len: self.len,
            });
        }
        let per_byte = self.bits.per_byte();
        // `idx % per_byte < 8 / bits`, so the shift is below 8 and fits a u8.
        let shift = ((idx % per_byte) as u8) * self.bits.get();
        Ok((idx / per_byte, shift))
    }

    /// The raw status value at `idx`. Past the end is `IndexOutOfRange`, never VALID.
    pub fn get(&self, idx: usize) -> Result<u8, StatusError> {
        let (byte, shift) = self.locate(idx)?;
        Ok((self.bytes[byte] >> shift) & self.bits.max_value())
    }

    /// The typed status value at `idx`.
    pub fn status(&self, idx: usize) -> Result<StatusValue, StatusError> {
        self.get(idx).map(StatusValue::from)
    }

    /// Sets the raw value at `idx`, with no transition rule (see [`Self::transition`]).
    pub fn set(&mut self, idx: usize, value: u8) -> Result<(), StatusError> {
        if value > self.bits.max_value() {
            return Err(StatusError::ValueTooLarge {
                value,
                bits: self.bits.get(),
            });
        }
        let (byte, shift) = self.locate(idx)?;
        let mask = self.bits.max_value() << shift;
        self.bytes[byte] = (self.bytes[byte] & !mask) | (value << shift);
        Ok(())
    }

    /// Changes the status at `idx` under govid's lifecycle rule: revocation is final, so an
    /// INVALID entry refuses every other value (`RevocationIsFinal`); setting INVALID again is a
    /// no-op. SUSPENDED ↔ VALID and changes between other values are allowed.
    pub fn transition(&mut self, idx: usize, new: StatusValue) -> Result<(), StatusError> {
        let current = self.get(idx)?;
        if current == StatusValue::INVALID && new != StatusValue::Invalid {
            return Err(StatusError::RevocationIsFinal);
        }
        self.set(idx, new.to_u8())
    }
}

impl fmt::Debug for StatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits.get())
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_accepts_only_1_2_4_8() {
        for bits in 0..=255u8 {
            let ok = StatusBits::try_from(bits).is_ok();
            assert_eq!(ok, matches!(bits, 1 | 2 | 4 | 8), "bits {bits}");
        }
        assert_eq!(StatusBits::try_from(3), Err(StatusError::InvalidBits(3)));
    }

    #[test]
    fn draft_section_4_1_examples_pack_lsb_first() {
        let mut one = StatusList::new(StatusBits::ONE, 16).unwrap_or_else(|e| panic!("{e}"));
        for (i, v) in [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
            .into_iter()
            .enumerate()
        {
            one.set(i, v).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(one.as_bytes(), &[0xb9, 0xa3]);
        let mut two = StatusList::new(StatusBits::TWO, 12).unwrap_or_else(|e| panic!("{e}"));
        for (i, v) in [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].into_iter().enumerate() {
            two.set(i, v).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(two.as_bytes(), &[0xc9, 0x44, 0xf9]);
    }

    #[test]
    fn past_the_end_is_out_of_range_never_valid() {
        let list = StatusList::new(StatusBits::TWO, 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.get(9), Ok(0));
        // Index 10 and 11 live in the last byte's padding: still out of range.
        for idx in [10, 11, 12, usize::MAX] {
            assert!(matches!(
                list.get(idx),
                Err(StatusError::IndexOutOfRange { len: 10, .. })
            ));
        }
        let mut list = list;
        assert!(matches!(
            list.set(10, 1),
            Err(StatusError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn set_refuses_values_wider_than_bits() {
        let mut list = StatusList::new(StatusBits::ONE, 8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            list.set(0, 2),
            Err(StatusError::ValueTooLarge { value: 2, bits: 1 })
        );
        let mut list = StatusList::new(StatusBits::EIGHT, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.set(1, 255), Ok(()));
        assert_eq!(list.get(1), Ok(255));
        assert_eq!(list.get(0), Ok(0));
    }

    #[test]
    fn revocation_is_final_and_suspension_is_not() {
        let mut list = StatusList::new(StatusBits::TWO, 4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.transition(0, StatusValue::Suspended), Ok(()));
        assert_eq!(list.transition(0, StatusValue::Valid), Ok(()));
        assert_eq!(list.transition(0, StatusValue::Suspended), Ok(()));
        assert_eq!(list.transition(0, StatusValue::Invalid), Ok(()));
        for new in [
            StatusValue::Valid,
            StatusValue::Suspended,
            StatusValue::Other(3),
        ] {
            assert_eq!(list.transition(0, new), Err(StatusError::RevocationIsFinal));
        }
        assert_eq!(list.transition(0, StatusValue::Invalid), Ok(()));
        assert_eq!(list.status(0), Ok(StatusValue::Invalid));
        assert_eq!(list.status(1), Ok(StatusValue::Valid));
    }

    #[test]
    fn too_many_entries_is_refused() {
        assert_eq!(
            StatusList::new(StatusBits::ONE, MAX_ENTRIES + 1),
            Err(StatusError::TooManyEntries { max: MAX_ENTRIES })
        );
        assert_eq!(
            StatusList::from_bytes(StatusBits::EIGHT, vec![0; MAX_ENTRIES + 1]),
            Err(StatusError::TooManyEntries { max: MAX_ENTRIES })
        );
    }

    #[test]
    fn status_value_display() {
        assert_eq!(StatusValue::from(0).to_string(), "VALID");
        assert_eq!(StatusValue::from(1).to_string(), "INVALID");
        assert_eq!(StatusValue::from(2).to_string(), "SUSPENDED");
        assert_eq!(StatusValue::from(3).to_string(), "0x03");
        assert_eq!(StatusValue::from(0xab).to_string(), "0xab");
        assert!(StatusValue::from(3).is_application_specific());
        assert!(StatusValue::from(0x0d).is_application_specific());
        assert!(!StatusValue::from(4).is_application_specific());
    }
}

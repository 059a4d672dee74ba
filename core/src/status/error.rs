//! Errors of status list operations, each with a stable short rule code.

/// Why a status list operation failed. Variants carry numbers or fixed text, never input bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// The index is past the end of the list. Never read as VALID: the draft (§8.3 step 6) says
    /// no statement can be made and the Referenced Token MUST be rejected.
    #[error("index {index} is out of range for a list of {len} entries")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The number of entries in the list.
        len: usize,
    },
    /// `bits` is not 1, 2, 4 or 8 (or a W3C `statusSize` is not 1..=8).
    #[error("{0} is not a supported number of bits per status")]
    InvalidBits(u64),
    /// The status value does not fit in the list's bits per entry.
    #[error("status value {value} does not fit in {bits} bits")]
    ValueTooLarge {
        /// The value.
        value: u8,
        /// Bits per entry of the list.
        bits: u8,
    },
    /// INVALID (revoked) is final: it never goes back to VALID, SUSPENDED or anything else.
    #[error("the entry is INVALID (revoked) and revocation is final")]
    RevocationIsFinal,
    /// The list would hold more than [`MAX_ENTRIES`](super::MAX_ENTRIES) entries.
    #[error("a status list holds at most {max} entries")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// Decompression stopped at the output limit (a compression bomb, or a list too large).
    #[error("the status list decompresses to more than {limit} bytes")]
    DecompressedTooLarge {
        /// The output limit in bytes.
        limit: usize,
    },
    /// The compressed data is corrupt, truncated, or followed by trailing bytes.
    #[error("the compressed status list is invalid: {0}")]
    Compression(&'static str),
    /// The list text is not the expected base64url (or multibase) encoding.
    #[error("the status list is not in the expected encoding: {0}")]
    Encoding(&'static str),
    /// The credential has no `status` claim.
    #[error("the credential has no `status` claim")]
    NoStatusClaim,
    /// The `status` claim has no `status_list` member.
    #[error("the `status` claim has no `status_list` reference")]
    NoStatusListReference,
    /// The `status.status_list` reference is malformed.
    #[error("invalid `status.status_list` reference: {0}")]
    InvalidReference(&'static str),
    /// Every index of the list is allocated: start a new list.
    #[error("the status list is full ({capacity} entries): start a new list")]
    ListFull {
        /// The list's capacity.
        capacity: usize,
    },
}

impl StatusError {
    /// A stable short code naming the rule that failed, for logs and client responses.
    pub fn rule(&self) -> &'static str {
        match self {
            StatusError::IndexOutOfRange { .. } => "status_index_out_of_range",
            StatusError::InvalidBits(_) => "status_bits",
            StatusError::ValueTooLarge { .. } => "status_value_too_large",
            StatusError::RevocationIsFinal => "status_revocation_final",
            StatusError::TooManyEntries { .. } => "status_too_many_entries",
            StatusError::DecompressedTooLarge { .. } => "status_decompressed_too_large",
            StatusError::Compression(_) => "status_compression",
            StatusError::Encoding(_) => "status_encoding",
            StatusError::NoStatusClaim => "status_claim_missing",
            StatusError::NoStatusListReference => "status_list_reference_missing",
            StatusError::InvalidReference(_) => "status_reference_invalid",
            StatusError::ListFull { .. } => "status_list_full",
        }
    }
}

//! Errors of status list operations and Status List Token checks, each with a stable short rule
//! code.

use crate::jose::JwsError;
use crate::json::JsonError;
use crate::trust::ResolveError;

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

/// Why a Status List Token was refused. Each rule has its own variant and [`rule`](Self::rule).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusTokenError {
    /// Not a well-formed compact JWS with a supported `alg`.
    #[error("status list token is not a valid JWS: {0}")]
    Malformed(JwsError),
    /// The payload is not a JSON object.
    #[error("status list token payload: {0}")]
    Payload(JsonError),
    /// No trusted key for the token's issuer and header.
    #[error("no trusted key for the status list token: {0}")]
    Key(ResolveError),
    /// The `alg` is not in the verifier's allowed set.
    #[error("status list token `alg` is not allowed")]
    AlgNotAllowed,
    /// The signature does not verify (or the key type does not match `alg`).
    #[error("status list token signature does not verify")]
    Signature,
    /// The header `typ` is not exactly `statuslist+jwt`.
    #[error("status list token `typ` is not `statuslist+jwt`")]
    Typ,
    /// `sub` is missing or not a string.
    #[error("status list token has no `sub`")]
    MissingSub,
    /// `sub` differs from the `uri` the credential references.
    #[error("status list token `sub` is not the referenced `uri`")]
    SubMismatch,
    /// `iat` is missing or not a non-negative number.
    #[error("status list token has no valid `iat`")]
    MissingIat,
    /// `iat` is further in the future than [`IAT_LEEWAY_SECS`](super::IAT_LEEWAY_SECS).
    #[error("status list token `iat` {iat} is in the future (now {now})")]
    IssuedInFuture {
        /// The token's `iat`.
        iat: u64,
        /// The verifier's time.
        now: u64,
    },
    /// `exp` is present but not a non-negative number.
    #[error("status list token `exp` is not a number")]
    InvalidExp,
    /// `exp` has passed.
    #[error("status list token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The verifier's time.
        now: u64,
    },
    /// `ttl` is present but not a positive number.
    #[error("status list token `ttl` is not a positive number")]
    InvalidTtl,
    /// `status_list` is missing or not an object, or `aggregation_uri` is not a string.
    #[error("status list token has no valid `status_list` object")]
    InvalidStatusList,
    /// `status_list.bits` is missing or not 1, 2, 4 or 8.
    #[error("status list token `status_list.bits` is not 1, 2, 4 or 8")]
    Bits,
    /// `status_list.lst` is missing or does not decode.
    #[error("status list token `status_list.lst` does not decode: {0}")]
    Lst(StatusError),
}

impl StatusTokenError {
    /// A stable short code naming the rule that failed.
    pub fn rule(&self) -> &'static str {
        match self {
            StatusTokenError::Malformed(_) => "status_token_malformed",
            StatusTokenError::Payload(_) => "status_token_payload",
            StatusTokenError::Key(_) => "status_token_key",
            StatusTokenError::AlgNotAllowed => "status_token_alg",
            StatusTokenError::Signature => "status_token_signature",
            StatusTokenError::Typ => "status_token_typ",
            StatusTokenError::MissingSub => "status_token_sub_missing",
            StatusTokenError::SubMismatch => "status_token_sub",
            StatusTokenError::MissingIat => "status_token_iat",
            StatusTokenError::IssuedInFuture { .. } => "status_token_iat_future",
            StatusTokenError::InvalidExp => "status_token_exp",
            StatusTokenError::Expired { .. } => "status_token_expired",
            StatusTokenError::InvalidTtl => "status_token_ttl",
            StatusTokenError::InvalidStatusList => "status_token_status_list",
            StatusTokenError::Bits => "status_token_bits",
            StatusTokenError::Lst(_) => "status_token_lst",
        }
    }
}

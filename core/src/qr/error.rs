//! Errors of the QR transport. Messages carry sizes and limits, never input bytes.

/// Why a GV1/GVC1 payload could not be encoded, decoded or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not start with the expected prefix (`GV1:` or `GVC1:`, upper case).
    #[error("payload does not start with the expected prefix")]
    WrongPrefix,
    /// A govid prefix or frame of another format version (a newer wallet or gate).
    #[error("unsupported payload version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// The text after the prefix is not strict Base45 (RFC 9285).
    #[error("payload is not valid Base45")]
    InvalidBase45,
    /// The frame or its compressed stream ends early.
    #[error("payload frame is truncated")]
    Truncated,
    /// The compressed stream is invalid: bad zlib header, other dictionary, bad deflate data or
    /// checksum mismatch.
    #[error("payload decompression failed")]
    Decompress,
    /// Output over a fixed limit: when decoding, the decompressed data or the decoded text (a
    /// decompression bomb); when encoding, the payload text.
    #[error("output exceeds the limit of {max} bytes")]
    OutputTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// Bytes follow the end of the frame.
    #[error("trailing data after the payload frame")]
    TrailingData,
    /// More parts than the format allows.
    #[error("payload has more than {max} parts")]
    TooManyParts {
        /// The limit.
        max: usize,
    },
    /// A text part or the decoded text is not UTF-8.
    #[error("payload contains invalid UTF-8")]
    InvalidUtf8,
    /// The frame breaks a structural rule.
    #[error("malformed payload frame: {0}")]
    MalformedFrame(&'static str),
    /// The input (a presentation to encode, or a payload text to decode) is over its limit.
    #[error("input of {len} bytes exceeds the limit of {max} bytes")]
    InputTooLarge {
        /// The input's length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// Compression failed (not expected to happen).
    #[error("payload compression failed")]
    Compress,
    /// The payload does not fit in a QR code at the requested error-correction level.
    #[error("payload of {bytes} characters exceeds the QR capacity of {max} at this error-correction level")]
    TooLarge {
        /// The payload's length in characters (bytes).
        bytes: usize,
        /// The largest payload a version 40 code holds at that level, in this mode.
        max: usize,
    },
    /// The requested image size is out of range.
    #[error("image side of {px} px is outside 1..={max} px")]
    ImageSize {
        /// The side the request works out to, in pixels.
        px: u64,
        /// The largest side allowed.
        max: u32,
    },
    /// The image encoder failed.
    #[error("image encoding failed")]
    Image,
}

/// Why a gate challenge (`GVC1:`) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// The transport layer (prefix, Base45, zlib, limits) failed.
    #[error(transparent)]
    Transport(#[from] QrError),
    /// The decompressed bytes are not the JSON of a challenge (syntax, types, unknown or repeated
    /// fields).
    #[error("challenge is not valid challenge JSON")]
    InvalidJson,
    /// The challenge's `v` is not a version this code knows.
    #[error("unsupported challenge version {v}")]
    UnsupportedVersion {
        /// The version found.
        v: u8,
    },
    /// `aud` is empty.
    #[error("challenge audience is empty")]
    EmptyAudience,
    /// `aud` is longer than the limit.
    #[error("challenge audience exceeds {max} bytes")]
    AudienceTooLong {
        /// The limit in bytes.
        max: usize,
    },
    /// `nonce` is not 16 to 128 characters of the base64url alphabet.
    #[error("challenge nonce must be {min}..={max} base64url characters")]
    InvalidNonce {
        /// The minimum length.
        min: usize,
        /// The maximum length.
        max: usize,
    },
    /// More requested claims than allowed.
    #[error("challenge requests {count} claims, more than {max}")]
    TooManyClaims {
        /// How many were requested.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A claim path does not parse as a [`ClaimPath`](crate::sdjwt::ClaimPath), is too long or
    /// has a control character.
    #[error("challenge claim path #{index} is invalid")]
    InvalidClaimPath {
        /// Its position in `claims`.
        index: usize,
    },
    /// `exp` is not after `now`.
    #[error("challenge expired")]
    Expired,
    /// `exp` is further in the future than a gate challenge may live.
    #[error("challenge expiry is more than {max_secs} s ahead")]
    ExpiryTooFar {
        /// The longest lifetime accepted, in seconds.
        max_secs: u64,
    },
}

//! Verification errors: one variant per rule, each with a stable rule code.
//!
//! Messages never contain the input, salts or claim values: details a gate can log safely.

use super::disclosure::DisclosureError;
use crate::jose::{JwkError, JwsError};
use crate::json::JsonError;
use crate::trust::ResolveError;

/// Why a presentation (or an issued SD-JWT) was rejected. [`VerifyError::rule`] gives a stable
/// short code for scripts, logs and the gate's deny reasons.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is larger than the policy allows.
    #[error("presentation is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// More disclosures than the policy allows.
    #[error("presentation has more than {max} disclosures")]
    TooManyDisclosures {
        /// The limit.
        max: usize,
    },
    /// Not a compact SD-JWT (`<JWT>~<D>~…~[<KB-JWT>]`) nor a JWS JSON serialization of one.
    #[error("not an SD-JWT: {0}")]
    Malformed(&'static str),
    /// The Issuer-signed JWT failed a JWS check (signature, `alg`, `none`, `crit`, ...).
    #[error("issuer JWT: {0}")]
    IssuerJws(JwsError),
    /// No trusted key for this issuer.
    #[error("issuer: {0}")]
    Issuer(ResolveError),
    /// The Issuer-signed JWT payload is not a JSON object (or nested too deep).
    #[error("issuer JWT payload: {0}")]
    IssuerPayload(JsonError),
    /// The `typ` header is not the expected one.
    #[error("issuer JWT `typ` is not the expected type")]
    Typ,
    /// `_sd_alg` is unknown or not accepted by policy.
    #[error("`_sd_alg` is not supported or not allowed")]
    SdAlg,
    /// A disclosure is malformed.
    #[error("disclosure #{index}: {error}")]
    DisclosureMalformed {
        /// Position in the presentation (0-based).
        index: usize,
        /// What is wrong.
        error: DisclosureError,
    },
    /// The same disclosure is present twice.
    #[error("a disclosure is present more than once")]
    DuplicateDisclosure,
    /// A disclosure is not referenced by any digest.
    #[error("a disclosure is not referenced by any digest")]
    UnreferencedDisclosure,
    /// A digest appears more than once in the payload and disclosures.
    #[error("a digest appears more than once")]
    RepeatedDigest,
    /// A disclosure names a reserved claim (`_sd` or `...`).
    #[error("a disclosure uses a reserved claim name")]
    ReservedClaimName,
    /// A disclosed claim name already exists beside its `_sd`.
    #[error("a disclosed claim collides with an existing claim")]
    ClaimCollision,
    /// An object-property disclosure referenced from an array, or an array-element disclosure
    /// from `_sd`.
    #[error("a disclosure has the wrong form for where it is referenced")]
    WrongDisclosureKind,
    /// `_sd` is not an array of strings, or `...` is not a string.
    #[error("`_sd` or `...` digest reference is malformed")]
    MalformedDigestReference,
    /// Disclosures nest deeper than the policy allows.
    #[error("disclosures nest deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A time claim (`exp`, `nbf`, `iat`) is not a number.
    #[error("claim `{0}` is not a numeric date")]
    TimeClaim(&'static str),
    /// `exp` has passed.
    #[error("credential has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("credential is not yet valid")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("credential is issued in the future")]
    IssuedInFuture,
    /// A required claim is missing (`vct` in SD-JWT VC mode, or one the policy requires).
    #[error("required claim `{0}` is missing")]
    MissingClaim(String),
    /// The `vct` is not one the policy accepts.
    #[error("credential type `vct` is not accepted here")]
    VctNotAccepted,
    /// In SD-JWT VC mode, a claim that must be always visible was selectively disclosed.
    #[error("claim `{0}` must not be selectively disclosable in an SD-JWT VC")]
    VcClaimDisclosed(&'static str),
    /// Key binding is required and the presentation has no KB-JWT.
    #[error("key binding is required and no KB-JWT is present")]
    KbMissing,
    /// A KB-JWT is present where none is allowed (an issued SD-JWT given to a holder).
    #[error("a KB-JWT is present where none is allowed")]
    KbUnexpected,
    /// The KB-JWT failed a JWS check other than its signature.
    #[error("KB-JWT: {0}")]
    KbJws(JwsError),
    /// The KB-JWT is not signed by the holder key in `cnf`.
    #[error("KB-JWT is not signed by the holder key in `cnf`")]
    KbSignature,
    /// The KB-JWT `typ` is not `kb+jwt`.
    #[error("KB-JWT `typ` is not `kb+jwt`")]
    KbTyp,
    /// The KB-JWT payload is malformed or lacks a required claim.
    #[error("KB-JWT claim `{0}` is missing or malformed")]
    KbClaim(&'static str),
    /// There is no usable holder key (`cnf.jwk`) to check key binding against.
    #[error("no usable holder key in `cnf`: {0}")]
    HolderKey(JwkError),
    /// The KB-JWT `iat` is outside the accepted window.
    #[error("KB-JWT `iat` is outside the accepted window")]
    KbIat,
    /// The KB-JWT `aud` is not this verifier.
    #[error("KB-JWT `aud` is not the expected audience")]
    KbAud,
    /// The KB-JWT `nonce` is not the expected one.
    #[error("KB-JWT `nonce` is not the expected nonce")]
    KbNonce,
    /// `sd_hash` does not match the presented SD-JWT.
    #[error("KB-JWT `sd_hash` does not match the presented SD-JWT")]
    SdHash,
}

impl VerifyError {
    /// The stable rule code, e.g. `bad_signature`, `expired`, `sd_hash`.
    pub fn rule(&self) -> &'static str {
        match self {
            VerifyError::TooLarge { .. } => "too_large",
            VerifyError::TooManyDisclosures { .. } => "too_many_disclosures",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::IssuerJws(e) => match e {
                JwsError::BadSignature => "bad_signature",
                JwsError::AlgNone => "alg_none",
                JwsError::UnsupportedAlg | JwsError::AlgNotAllowed => "alg_not_allowed",
                JwsError::CriticalHeader => "crit",
                JwsError::KeyMismatch => "key_mismatch",
                _ => "malformed_jwt",
            },
            VerifyError::Issuer(e) => match e {
                ResolveError::UntrustedIssuer => "untrusted_issuer",
                ResolveError::UnknownKey | ResolveError::AmbiguousKey => "unknown_issuer_key",
                _ => "issuer_resolution",
            },
            VerifyError::IssuerPayload(JsonError::TooDeep { .. }) => "json_too_deep",
            VerifyError::IssuerPayload(_) => "malformed_payload",
            VerifyError::Typ => "typ",
            VerifyError::SdAlg => "sd_alg",
            VerifyError::DisclosureMalformed { .. } => "disclosure_malformed",
            VerifyError::DuplicateDisclosure => "disclosure_duplicate",
            VerifyError::UnreferencedDisclosure => "disclosure_unreferenced",
            VerifyError::RepeatedDigest => "digest_repeated",
            VerifyError::ReservedClaimName => "reserved_claim_name",
            VerifyError::ClaimCollision => "claim_collision",
            VerifyError::WrongDisclosureKind => "disclosure_wrong_kind",
            VerifyError::MalformedDigestReference => "digest_reference_malformed",
            VerifyError::TooDeep { .. } => "json_too_deep",
            VerifyError::TimeClaim(_) => "time_claim_malformed",
            VerifyError::Expired => "expired",
            VerifyError::NotYetValid => "not_yet_valid",
            VerifyError::IssuedInFuture => "iat_in_future",
            VerifyError::MissingClaim(_) => "missing_claim",
            VerifyError::VctNotAccepted => "vct_not_accepted",
            VerifyError::VcClaimDisclosed(_) => "vc_claim_disclosed",
            VerifyError::KbMissing => "kb_missing",
            VerifyError::KbUnexpected => "kb_unexpected",
            VerifyError::KbJws(JwsError::AlgNone) => "kb_alg_none",
            VerifyError::KbJws(JwsError::UnsupportedAlg | JwsError::AlgNotAllowed) => {
                "kb_alg_not_allowed"
            }
            VerifyError::KbJws(_) => "kb_malformed",
            VerifyError::KbSignature => "kb_signature",
            VerifyError::KbTyp => "kb_typ",
            VerifyError::KbClaim(_) => "kb_malformed",
            VerifyError::HolderKey(_) => "holder_key",
            VerifyError::KbIat => "kb_iat",
            VerifyError::KbAud => "kb_aud",
            VerifyError::KbNonce => "kb_nonce",
            VerifyError::SdHash => "sd_hash",
        }
    }
}

//! Credential status: the IETF Token Status List (draft-ietf-oauth-status-list-20) and a
//! read-only W3C Bitstring Status List decoder.
//!
//! - [`StatusList`]: the list itself, 1/2/4/8 bits per entry, packed LSB-first (§4.1), with
//!   bounded ZLIB decoding and best-level encoding (§4.2 `lst`).
//! - [`sign_status_list_token`] / [`verify_status_list_token`]: the `statuslist+jwt` token (§5.1,
//!   §8.3), each failed rule a distinct [`StatusTokenError`] with a stable [`rule`](StatusTokenError::rule).
//! - [`StatusReference`]: a credential's `status.status_list {idx, uri}` claim (§6.2).
//! - [`check_credential_status`]: a credential's [`StatusOutcome`] from a [`StatusTokenSource`] of
//!   already-verified tokens; `Unknown` when no fresh token is at hand.
//! - [`IndexAllocator`]: random, unique indices; [`status_list_uri`] names each list (under
//!   [`default_status_base`] unless the issuer publishes elsewhere).
//! - [`BitstringStatusList`]: W3C `encodedList` (GZIP, MSB-first), read only.

mod alloc;
mod bitstring;
mod check;
mod compress;
mod error;
mod list;
mod reference;
mod token;

pub use alloc::{default_status_base, status_list_uri, IndexAllocator, DEFAULT_STATUS_PATH};
pub use bitstring::{BitstringStatusList, W3C_MIN_BITS};
pub use check::{
    check_credential_status, StatusListStore, StatusOutcome, StatusTokenSource, UnknownReason,
};
pub use error::{StatusError, StatusTokenError};
pub use list::{StatusBits, StatusList, StatusValue, MAX_ENTRIES};
pub use reference::StatusReference;
pub use token::{
    sign_status_list_token, verify_status_list_token, verify_status_list_token_with_key,
    StatusTokenClaims, VerifiedStatusList, IAT_LEEWAY_SECS, STATUS_LIST_TYP,
};

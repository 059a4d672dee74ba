//! SD-JWT (RFC 9901) and SD-JWT VC (draft-ietf-oauth-sd-jwt-vc-18): issuance, holder
//! presentation with key binding, and verification.
//!
//! Written in govid rather than taken from `ssi-sd-jwt` 0.6: that crate follows draft-12, sets no
//! `typ`, makes no decoys, leaves KB-JWT checks to the caller and switches on serde_json's
//! `arbitrary_precision` for the whole build. Here every RFC 9901 §7 rule is a distinct, tested
//! error (see [`VerifyError::rule`]).

mod claims;
mod disclosure;
mod error;
mod holder_keys;
mod issue;
mod kb;
mod path;
mod policy;
mod present;
mod reveal;
mod sd_alg;
mod serialized;
mod verify;

pub use claims::{ArrayElement, ClaimNode, ObjectMember};
pub use disclosure::{Disclosure, DisclosureError, SALT_BYTES};
pub use error::VerifyError;
pub use holder_keys::{DecodeHolderKeys, HolderKeyCache, HolderKeys};
pub use issue::{issue, Decoys, IssueError, IssueOptions, IssuedSdJwt};
pub(crate) use issue::{push_json_str, push_json_u64, push_sd_member, CompactWriter, DigestText};
pub use kb::{create_kb_jwt, KbRequest, KeyBinding, KB_JWT_TYP};
pub use path::{ClaimPath, PathError, PathSegment};
pub use policy::{KbExpectation, KbWindow, Limits, VerifyPolicy, KB_MAX_FUTURE_SECS};
pub use present::{HeldSdJwt, PresentError};
pub use sd_alg::SdAlg;
pub use verify::{verify, verify_using, verify_with, Verified, VerifyMemos, SD_JWT_VC_TYP};

/// The claim holding object-property digests.
pub const SD_CLAIM: &str = "_sd";
/// The claim naming the digest algorithm.
pub const SD_ALG_CLAIM: &str = "_sd_alg";
/// The key of an array-element digest reference `{"...": digest}`.
pub const ARRAY_DIGEST_KEY: &str = "...";

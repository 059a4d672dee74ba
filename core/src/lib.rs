//! govid core library.
//!
//! Government-worker IDs as SD-JWT VCs (RFC 9901, draft-ietf-oauth-sd-jwt-vc), with selective
//! disclosure, holder key binding, status lists, DIDs and the gate QR transport.
//!
//! This crate does no I/O: clocks, randomness, key storage, HTTP and files are passed in.

// The public interface is:
pub mod b64;
pub mod credential;
pub mod did;
pub mod dpop;
pub mod enrollment;
pub mod jose;
pub mod json;
mod memo;
pub mod oid4vci;
pub mod oid4vp;
pub mod qr;
pub mod ratelimit;
pub mod replay;
pub mod sdjwt;
pub mod status;
pub mod time;
#[cfg(feature = "tlog")]
pub mod tlog;
pub mod trust;
pub mod url;

// The README's Rust examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

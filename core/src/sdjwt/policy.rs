//! What a verifier accepts: explicit, with safe defaults.

use super::path::ClaimPath;
use super::SdAlg;
use crate::jose::Algorithm;

/// Size limits on what is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest presentation accepted, in bytes (default 64 KiB).
    pub max_presentation_bytes: usize,
    /// Most disclosures accepted (default 256).
    pub max_disclosures: usize,
    /// Deepest JSON nesting accepted, also across nested disclosures (default 32).
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_presentation_bytes: 64 * 1024,
            max_disclosures: 256,
            max_json_depth: 32,
        }
    }
}

/// What a required key binding must prove: the KB-JWT was made for this verifier (`aud`) and,
/// when the verifier issued a challenge, for this transaction (`nonce`). Without an expected
/// nonce (a rotating one-way gate code), freshness comes from the `iat` window and a replay cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KbExpectation {
    /// The expected `aud`.
    pub aud: String,
    /// The expected `nonce`, when the verifier issued one.
    pub nonce: Option<String>,
}

/// How far in the future a KB-JWT's `iat` may be (the holder's clock ahead of the verifier's), in
/// seconds: the one rule for `check`, `serve` and the replay cache.
pub const KB_MAX_FUTURE_SECS: u64 = 30;

/// The accepted window for a KB-JWT's `iat`: `[now − max_age, now + max_future]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KbWindow {
    /// Oldest accepted age in seconds (default 300).
    pub max_age: u64,
    /// How far in the future `iat` may be, for clock skew (default [`KB_MAX_FUTURE_SECS`]).
    pub max_future: u64,
}

impl Default for KbWindow {
    fn default() -> Self {
        Self {
            max_age: 300,
            max_future: KB_MAX_FUTURE_SECS,
        }
    }
}

/// A verifier's policy. `VerifyPolicy::default()` accepts EdDSA and ES256, all `_sd_alg`s,
/// requires no key binding and checks no `typ`: set what the use case needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Accepted JWS algorithms for the issuer JWT and the KB-JWT.
    pub algorithms: Vec<Algorithm>,
    /// Accepted `_sd_alg` values.
    pub sd_algs: Vec<SdAlg>,
    /// `Some` when key binding is required (RFC 9901 §7.3). A KB-JWT that is present anyway is
    /// still checked (signature, `typ`, `iat`, `sd_hash`).
    pub key_binding: Option<KbExpectation>,
    /// The KB-JWT `iat` window.
    pub kb_window: KbWindow,
    /// The required issuer JWT `typ` (compared case-insensitively, `application/` optional).
    pub expected_typ: Option<String>,
    /// SD-JWT VC rules: `vct` required, `iss`/`nbf`/`exp`/`cnf`/`vct`/`status` never disclosed,
    /// and, without `expected_typ`, `typ` must be `dc+sd-jwt` (or the legacy `vc+sd-jwt`).
    pub sd_jwt_vc: bool,
    /// `Some`: the `vct` must be a string equal to one of these (draft-ietf-oauth-sd-jwt-vc-18
    /// §2.2.2.1 leaves accepting a type to the verifier). `None` accepts any `vct`, for callers
    /// that check it elsewhere (a trust bundle's per-issuer list).
    pub accepted_vcts: Option<Vec<String>>,
    /// Leeway in seconds for `exp`, `nbf` and `iat` (default 60).
    pub leeway: u64,
    /// Claims that must be present (disclosed or always visible) in the processed payload.
    pub required_claims: Vec<ClaimPath>,
    /// Parsing limits.
    pub limits: Limits,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self {
            algorithms: Algorithm::ALL.to_vec(),
            sd_algs: SdAlg::ALL.to_vec(),
            key_binding: None,
            kb_window: KbWindow::default(),
            expected_typ: None,
            sd_jwt_vc: false,
            accepted_vcts: None,
            leeway: 60,
            required_claims: Vec::new(),
            limits: Limits::default(),
        }
    }
}

//! OpenID4VCI 1.0 (final), the issuer's side of the pre-authorized code flow: the Credential
//! Offer ([`offer`]), the issuer and authorization server metadata ([`metadata`]) and the `jwt`
//! key proof of the Credential Request ([`proof`]). DPoP is [`crate::dpop`].
//!
//! Like the rest of core, nothing here does I/O or reads a clock: the HR tool's service stores
//! codes, tokens and nonces and passes the time in.

pub mod metadata;
pub mod offer;
pub mod proof;

/// The Credential Configuration of the worker ID.
pub const WORKER_ID_CONFIGURATION: &str = "worker_id";

/// The Credential Configuration of the gate pass.
pub const GATE_PASS_CONFIGURATION: &str = "gate_pass";

/// Every Credential Configuration this issuer offers, in offer order.
pub const CONFIGURATIONS: [&str; 2] = [WORKER_ID_CONFIGURATION, GATE_PASS_CONFIGURATION];

/// The `vct` a Credential Configuration issues; `None` for an unknown configuration.
pub fn vct_of(configuration: &str) -> Option<&'static str> {
    match configuration {
        WORKER_ID_CONFIGURATION => Some(crate::credential::WORKER_ID_VCT),
        GATE_PASS_CONFIGURATION => Some(crate::credential::GATE_PASS_VCT),
        _ => None,
    }
}

/// The Credential Format identifier of SD-JWT VCs (OpenID4VCI 1.0 §A.3.1).
pub const SD_JWT_VC_FORMAT: &str = "dc+sd-jwt";

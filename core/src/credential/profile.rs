//! Gate profiles: what a gate asks a worker ID to disclose.

use super::GATE_VCTS;
use crate::sdjwt::{ClaimPath, KbExpectation, PathSegment, VerifyPolicy, SD_JWT_VC_TYP};

/// A named set of claims a gate needs. Status and validity are always checked; they are
/// always-visible claims, so no profile needs to ask for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateProfile {
    /// A building entrance: name and organization, no photo, nothing else.
    Entry,
    /// A service counter: `entry` plus position and employee number.
    Counter,
    /// Any other selection.
    Custom(Vec<ClaimPath>),
}

impl GateProfile {
    /// The profile's name (`entry`, `counter`, `custom`).
    pub fn name(&self) -> &'static str {
        match self {
            GateProfile::Entry => "entry",
            GateProfile::Counter => "counter",
            GateProfile::Custom(_) => "custom",
        }
    }

    /// A built-in profile by name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "entry" => Some(GateProfile::Entry),
            "counter" => Some(GateProfile::Counter),
            _ => None,
        }
    }

    /// The claims the profile discloses (and a gate using it requires).
    pub fn claims(&self) -> Vec<ClaimPath> {
        let key = |k: &str| PathSegment::Key(k.to_owned());
        let entry = vec![
            ClaimPath(vec![key("given_name")]),
            ClaimPath(vec![key("family_name")]),
            ClaimPath(vec![key("organization"), key("name")]),
            ClaimPath(vec![key("organization"), key("code")]),
        ];
        match self {
            GateProfile::Entry => entry,
            GateProfile::Counter => {
                let mut claims = entry;
                claims.push(ClaimPath(vec![key("position")]));
                claims.push(ClaimPath(vec![key("employee_number")]));
                claims
            }
            GateProfile::Custom(claims) => claims.clone(),
        }
    }
}

/// The verify policy of a gate: SD-JWT VC rules, `typ` `dc+sd-jwt`, a worker ID or a gate pass
/// (`vct` one of [`GATE_VCTS`]), key binding to `aud` required (with `nonce` in challenge mode),
/// `exp` and the profile's claims required (a gate pass has no `position` or `employee_number`,
/// so only a worker ID passes [`GateProfile::Counter`]).
pub fn gate_policy(aud: &str, nonce: Option<String>, profile: &GateProfile) -> VerifyPolicy {
    let mut required = profile.claims();
    required.push(ClaimPath::key("exp"));
    required.push(ClaimPath::key("vct"));
    VerifyPolicy {
        key_binding: Some(KbExpectation {
            aud: aud.to_owned(),
            nonce,
        }),
        expected_typ: Some(SD_JWT_VC_TYP.to_owned()),
        sd_jwt_vc: true,
        accepted_vcts: Some(GATE_VCTS.iter().map(|&v| v.to_owned()).collect()),
        required_claims: required,
        ..VerifyPolicy::default()
    }
}

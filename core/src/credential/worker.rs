//! The worker ID's claims as Rust types, and issuing them.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::jose::{PublicKey, Signer};
use crate::sdjwt::{
    issue, ClaimNode, Decoys, IssueError, IssueOptions, IssuedSdJwt, SdAlg, SD_JWT_VC_TYP,
};

/// The `vct` of a govid worker ID, version 1.
pub const WORKER_ID_VCT: &str = "https://govid.example/vct/worker-id/v1";

/// Largest portrait accepted, in bytes of its data URL: keeps credentials small enough to
/// store and present.
pub const MAX_PORTRAIT_BYTES: usize = 12 * 1024;

/// The staff member's organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Full name, e.g. "Ministry of Transport".
    pub name: String,
    /// Short code, e.g. "MOT".
    pub code: String,
}

/// The claims about a staff member that HR issues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerClaims {
    /// Given name(s), in any script.
    pub given_name: String,
    /// Family name, in any script.
    pub family_name: String,
    /// The employee number, unique within the issuer.
    pub employee_number: String,
    /// The organization.
    pub organization: Organization,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Position or title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Pay or rank grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// Security clearance level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearance: Option<String>,
    /// Birth date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    /// A small portrait as a `data:image/…;base64,…` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portrait: Option<String>,
    /// Access zones, each disclosable on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_zones: Vec<String>,
}

/// When a credential is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// `iat`.
    pub issued_at: u64,
    /// `nbf`.
    pub not_before: u64,
    /// `exp`.
    pub expires_at: u64,
}

/// A status list entry: `status.status_list {idx, uri}` (the status module's type).
pub type StatusListRef = crate::status::StatusReference;

/// Everything besides the claims that goes into a worker ID.
#[derive(Clone, Debug)]
pub struct WorkerIdParams<'a> {
    /// `iss`: the issuer's identifier (a DID).
    pub issuer: &'a str,
    /// The holder's public key, bound through `cnf`.
    pub holder_key: &'a PublicKey,
    /// Validity period.
    pub validity: Validity,
    /// The status list entry, if the issuer publishes status.
    pub status: Option<StatusListRef>,
    /// Decoy digests per object (a gate pass pads to a fixed count instead, see
    /// [`super::issue_gate_pass`]).
    pub decoys: Decoys,
}

/// Why a worker ID could not be issued.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// A claim is empty or malformed; names the claim, never its value.
    #[error("claim `{0}` is empty or malformed")]
    InvalidClaim(&'static str),
    /// `exp` is not after `nbf`, or `nbf` before `iat` by more than allowed.
    #[error("validity period is empty or inverted")]
    InvalidValidity,
    /// Issuance failed.
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// Whether `text` is a calendar date `YYYY-MM-DD` (proleptic Gregorian).
pub(crate) fn is_iso_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

impl WorkerClaims {
    /// The required claims; every optional claim empty.
    pub fn new(
        given_name: &str,
        family_name: &str,
        employee_number: &str,
        organization: Organization,
    ) -> Self {
        Self {
            given_name: given_name.to_owned(),
            family_name: family_name.to_owned(),
            employee_number: employee_number.to_owned(),
            organization,
            department: None,
            position: None,
            grade: None,
            clearance: None,
            birthdate: None,
            portrait: None,
            access_zones: Vec::new(),
        }
    }

    /// Checks the claims an issuer must not sign malformed.
    pub fn validate(&self) -> Result<(), CredentialError> {
        let required = [
            ("given_name", &self.given_name),
            ("family_name", &self.family_name),
            ("employee_number", &self.employee_number),
            ("organization/name", &self.organization.name),
            ("organization/code", &self.organization.code),
        ];
        for (name, value) in required {
            if value.trim().is_empty() {
                return Err(CredentialError::InvalidClaim(name));
            }
        }
        if let Some(date) = &self.birthdate {
            if !is_iso_date(date) {
                return Err(CredentialError::InvalidClaim("birthdate"));
            }
        }
        if let Some(portrait) = &self.portrait {
            if portrait.len() > MAX_PORTRAIT_BYTES || !portrait.starts_with("data:image/") {
                return Err(CredentialError::InvalidClaim("portrait"));
            }
        }
        if self.access_zones.iter().any(|z| z.trim().is_empty()) {
            return Err(CredentialError::InvalidClaim("access_zones"));
        }
        Ok(())
    }

    /// The worker ID's claim tree: the envelope plus each worker claim disclosable on its own,
    /// `organization`'s name and code each disclosable too.
    fn worker_id_tree(&self, params: &WorkerIdParams<'_>) -> ClaimNode {
        let mut root = envelope(params, WORKER_ID_VCT)
            .sd("given_name", self.given_name.as_str())
            .sd("family_name", self.family_name.as_str())
            .sd("employee_number", self.employee_number.as_str())
            .sd(
                "organization",
                ClaimNode::object()
                    .sd("name", self.organization.name.as_str())
                    .sd("code", self.organization.code.as_str()),
            );
        let optional = [
            ("department", &self.department),
            ("position", &self.position),
            ("grade", &self.grade),
            ("clearance", &self.clearance),
            ("birthdate", &self.birthdate),
            ("portrait", &self.portrait),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                root = root.sd(name, value.as_str());
            }
        }
        self.sd_access_zones(root)
    }

    /// Adds `access_zones`, if any, as a disclosable array whose elements are each disclosable.
    pub(super) fn sd_access_zones(&self, root: ClaimNode) -> ClaimNode {
        if self.access_zones.is_empty() {
            return root;
        }
        let zones = self
            .access_zones
            .iter()
            .fold(ClaimNode::array(), |a, z| a.push_sd(z.as_str()));
        root.sd("access_zones", zones)
    }
}

/// The always-visible part every govid credential shares: `iss`, `iat`, `nbf`, `exp`, `vct`,
/// `cnf` and, if given, `status`.
pub(super) fn envelope(params: &WorkerIdParams<'_>, vct: &str) -> ClaimNode {
    let v = params.validity;
    let root = ClaimNode::object()
        .plain("iss", params.issuer)
        .plain("iat", v.issued_at)
        .plain("nbf", v.not_before)
        .plain("exp", v.expires_at)
        .plain("vct", vct)
        .plain("cnf", json!({ "jwk": params.holder_key.to_jwk() }));
    match &params.status {
        Some(status) => root.plain("status", json!({ "status_list": status })),
        None => root,
    }
}

/// Checks the claims and the validity period, then issues `tree` (built from them) as an SD-JWT
/// VC (`typ` `dc+sd-jwt`, `_sd_alg` `sha-256`) with `decoys`.
pub(super) fn issue_credential(
    claims: &WorkerClaims,
    params: &WorkerIdParams<'_>,
    tree: &ClaimNode,
    decoys: Decoys,
    signer: &dyn Signer,
    rng: &mut (impl CryptoRng + RngCore),
) -> Result<IssuedSdJwt, CredentialError> {
    claims.validate()?;
    let v = params.validity;
    if v.expires_at <= v.not_before || v.not_before < v.issued_at.saturating_sub(86_400) {
        return Err(CredentialError::InvalidValidity);
    }
    let options = IssueOptions {
        sd_alg: SdAlg::Sha256,
        decoys,
        typ: Some(SD_JWT_VC_TYP.to_owned()),
    };
    Ok(issue(tree, &options, signer, rng)?)
}

/// Issues a worker ID: an SD-JWT VC (`typ` `dc+sd-jwt`) with every worker claim selectively
/// disclosable.
pub fn issue_worker_id(
    claims: &WorkerClaims,
    params: &WorkerIdParams<'_>,
    signer: &dyn Signer,
    rng: &mut (impl CryptoRng + RngCore),
) -> Result<IssuedSdJwt, CredentialError> {
    let tree = claims.worker_id_tree(params);
    issue_credential(claims, params, &tree, params.decoys, signer, rng)
}

/// What a verifier or wallet sees of a worker ID: the always-visible metadata and whichever
/// claims were disclosed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerView {
    /// `iss`.
    pub issuer: Option<String>,
    /// `vct`.
    pub vct: Option<String>,
    /// `exp`.
    pub expires_at: Option<u64>,
    /// `status.status_list`.
    pub status: Option<StatusListRef>,
    /// Disclosed given name.
    pub given_name: Option<String>,
    /// Disclosed family name.
    pub family_name: Option<String>,
    /// Disclosed employee number.
    pub employee_number: Option<String>,
    /// Disclosed organization name.
    pub organization_name: Option<String>,
    /// Disclosed organization code.
    pub organization_code: Option<String>,
    /// Disclosed department.
    pub department: Option<String>,
    /// Disclosed position.
    pub position: Option<String>,
    /// Disclosed grade.
    pub grade: Option<String>,
    /// Disclosed clearance.
    pub clearance: Option<String>,
    /// Disclosed birth date.
    pub birthdate: Option<String>,
    /// Whether a portrait was disclosed (the image itself stays in the payload).
    pub has_portrait: bool,
    /// Disclosed access zones.
    pub access_zones: Vec<String>,
}

impl WorkerView {
    /// Reads a processed payload. Claims of the wrong JSON type are treated as absent.
    pub fn from_payload(payload: &Map<String, Value>) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let org = payload.get("organization");
        Self {
            issuer: text(payload.get("iss")),
            vct: text(payload.get("vct")),
            expires_at: payload.get("exp").and_then(Value::as_u64),
            status: payload
                .get("status")
                .and_then(|s| s.get("status_list"))
                .and_then(|s| serde_json::from_value(s.clone()).ok()),
            given_name: text(payload.get("given_name")),
            family_name: text(payload.get("family_name")),
            employee_number: text(payload.get("employee_number")),
            organization_name: text(org.and_then(|o| o.get("name"))),
            organization_code: text(org.and_then(|o| o.get("code"))),
            department: text(payload.get("department")),
            position: text(payload.get("position")),
            grade: text(payload.get("grade")),
            clearance: text(payload.get("clearance")),
            birthdate: text(payload.get("birthdate")),
            has_portrait: payload.get("portrait").is_some(),
            access_zones: payload
                .get("access_zones")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_iso_date;

    #[test]
    fn iso_dates() {
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2023-02-29"));
        assert!(!is_iso_date("1900-02-29"));
        assert!(is_iso_date("2000-02-29"));
        assert!(!is_iso_date("2024-13-01"));
        assert!(!is_iso_date("2024-1-01"));
        assert!(!is_iso_date("२०२४-01-01"));
        assert!(!is_iso_date("2024-01-00"));
    }
}

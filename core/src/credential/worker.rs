//! The worker ID's claims as Rust types, and issuing them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::jose::{JwkError, PublicKey, SignError, Signer};
use crate::sdjwt::{
    issue, push_json_str, push_json_u64, push_sd_member, ClaimNode, CompactWriter, Decoys,
    DigestText, IssueError, IssueOptions, IssuedSdJwt, SdAlg, SD_JWT_VC_TYP,
};
use crate::time::{numeric_date, MAX_NUMERIC_DATE};

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
    /// `exp` is not after `nbf`, `nbf` is before `iat` by more than allowed, or `exp` is after
    /// [`MAX_NUMERIC_DATE`] (which verifiers refuse).
    #[error("validity period is empty, inverted or beyond year 9999")]
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

/// Checks the claims and the validity period.
pub(super) fn check(claims: &WorkerClaims, v: Validity) -> Result<(), CredentialError> {
    claims.validate()?;
    if v.expires_at <= v.not_before
        || v.not_before < v.issued_at.saturating_sub(86_400)
        || v.expires_at > MAX_NUMERIC_DATE
    {
        return Err(CredentialError::InvalidValidity);
    }
    Ok(())
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
    check(claims, params.validity)?;
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

/// A holder key as the `cnf` claim's JSON, `{"jwk":{…}}`, written once per holder and copied
/// into each of their credentials by [`CompactIssuer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderCnf {
    json: Vec<u8>,
}

impl HolderCnf {
    /// The `cnf` of `key`: its JWK with only the required public members, as
    /// [`issue_worker_id`] writes it.
    pub fn new(key: &PublicKey) -> Self {
        let mut json = b"{\"jwk\":".to_vec();
        // Serializing a `Value` to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut json, &key.to_jwk());
        json.push(b'}');
        Self { json }
    }

    /// The `cnf` of a public JWK that was validated when it was enrolled (an issuer's database
    /// keeps the text [`PublicKey::to_jwk`] wrote). An Ed25519 JWK of exactly `crv`, `kty` and
    /// a canonical 32-byte `x` is copied without decompressing its point; any other JWK is fully
    /// validated with [`PublicKey::from_jwk`]. Either way the `cnf` is what [`HolderCnf::new`]
    /// makes of the key.
    pub fn from_enrolled_jwk(text: &str) -> Result<Self, JwkError> {
        if let Some(x) = plain_ed25519_x(text) {
            let mut json = b"{\"jwk\":{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"".to_vec();
            json.extend_from_slice(x.as_bytes());
            json.extend_from_slice(b"\"}}");
            return Ok(Self { json });
        }
        let value: Value = serde_json::from_str(text).map_err(|_| JwkError::NotAnObject)?;
        Ok(Self::new(&PublicKey::from_jwk(&value)?))
    }

    /// The JSON text, `{"jwk":{…}}`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.json
    }
}

/// `x` of a JWK text that has exactly the members `crv: Ed25519`, `kty: OKP` and `x`, with `x`
/// the canonical base64url of 32 bytes (so it needs no JSON escaping). Read without building a
/// `Value`; `None` for anything else (including escaped strings).
fn plain_ed25519_x(text: &str) -> Option<&str> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PlainOkp<'a> {
        crv: &'a str,
        kty: &'a str,
        x: &'a str,
    }
    let jwk: PlainOkp<'_> = serde_json::from_str(text).ok()?;
    let mut key = [0u8; 33];
    let canonical = (jwk.kty, jwk.crv) == ("OKP", "Ed25519")
        && jwk.x.len() == 43
        && URL_SAFE_NO_PAD.decode_slice(jwk.x, &mut key).ok() == Some(32);
    canonical.then_some(jwk.x)
}

/// Everything besides the claims that goes into a credential made by [`CompactIssuer`]: the
/// fields of [`WorkerIdParams`], with the holder key as its prepared `cnf`.
#[derive(Clone, Copy, Debug)]
pub struct CompactParams<'a> {
    /// `iss`: the issuer's identifier (a DID).
    pub issuer: &'a str,
    /// The holder's key, bound through `cnf`.
    pub holder: &'a HolderCnf,
    /// Validity period.
    pub validity: Validity,
    /// The status list entry `(idx, uri)`, if the issuer publishes status.
    pub status: Option<(u64, &'a str)>,
    /// Decoy digests per object of a worker ID (a gate pass pads to [`super::GATE_PASS_DIGESTS`]).
    pub decoys: Decoys,
}

/// Issues worker IDs and gate passes as compact text, for bulk issuance: the JSON is written
/// directly as bytes (no `serde_json::Value` trees), the JWS header is encoded once, and the
/// buffers are reused from one credential to the next.
///
/// From the same RNG state, [`CompactIssuer::worker_id`] returns exactly the text of
/// [`issue_worker_id`]`(…).compact()` and [`CompactIssuer::gate_pass`] that of
/// [`super::issue_gate_pass`]: same claims, disclosures, decoys, salts and order.
pub struct CompactIssuer<'s> {
    pub(super) signer: &'s dyn Signer,
    /// base64url of `{"alg":…,"kid":…,"typ":"dc+sd-jwt"}`.
    header_b64: String,
    pub(super) sd: CompactWriter,
    /// Top-level digests.
    pub(super) digests: Vec<DigestText>,
    /// Digests inside a disclosed object.
    pub(super) inner: Vec<DigestText>,
    /// The JSON of the value being disclosed.
    pub(super) value: Vec<u8>,
    /// The JSON of an array element being disclosed.
    pub(super) item: Vec<u8>,
    pub(super) payload: Vec<u8>,
}

impl<'s> CompactIssuer<'s> {
    /// An issuer signing with `signer` (`alg` and `kid` from it, `typ` `dc+sd-jwt`).
    pub fn new(signer: &'s dyn Signer) -> Result<Self, SignError> {
        let mut header = Map::new();
        header.insert("typ".to_owned(), Value::String(SD_JWT_VC_TYP.to_owned()));
        Ok(Self {
            signer,
            header_b64: crate::jose::encoded_header(header, signer)?,
            sd: CompactWriter::new(SdAlg::Sha256),
            digests: Vec::with_capacity(16),
            inner: Vec::with_capacity(8),
            value: Vec::with_capacity(256),
            item: Vec::with_capacity(64),
            payload: Vec::with_capacity(2048),
        })
    }

    /// Issues a worker ID: the same credential as [`issue_worker_id`], as compact text.
    pub fn worker_id(
        &mut self,
        claims: &WorkerClaims,
        params: &CompactParams<'_>,
        rng: &mut (impl CryptoRng + RngCore),
    ) -> Result<String, CredentialError> {
        check(claims, params.validity)?;
        self.start();
        self.sd_str("given_name", &claims.given_name, rng);
        self.sd_str("family_name", &claims.family_name, rng);
        self.sd_str("employee_number", &claims.employee_number, rng);
        // `organization`: its name and code each disclosable, plus decoys.
        self.inner.clear();
        for (name, text) in [
            ("name", &claims.organization.name),
            ("code", &claims.organization.code),
        ] {
            self.value.clear();
            push_json_str(&mut self.value, text);
            let digest = self.sd.property(name, &self.value, rng);
            self.inner.push(digest);
        }
        self.sd.decoys(params.decoys, &mut self.inner, rng);
        self.value.clear();
        self.value.push(b'{');
        push_sd_member(&mut self.value, &mut self.inner);
        self.value.push(b'}');
        let digest = self.sd.property("organization", &self.value, rng);
        self.digests.push(digest);
        let optional = [
            ("department", &claims.department),
            ("position", &claims.position),
            ("grade", &claims.grade),
            ("clearance", &claims.clearance),
            ("birthdate", &claims.birthdate),
            ("portrait", &claims.portrait),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                self.sd_str(name, value, rng);
            }
        }
        self.sd_access_zones(&claims.access_zones, rng);
        self.sd.decoys(params.decoys, &mut self.digests, rng);
        self.finish(params, WORKER_ID_VCT)
    }

    /// Clears the buffers for the next credential.
    pub(super) fn start(&mut self) {
        self.sd.clear();
        self.digests.clear();
    }

    /// Discloses the top-level string claim `name`.
    pub(super) fn sd_str(&mut self, name: &str, text: &str, rng: &mut (impl CryptoRng + RngCore)) {
        self.value.clear();
        push_json_str(&mut self.value, text);
        let digest = self.sd.property(name, &self.value, rng);
        self.digests.push(digest);
    }

    /// Discloses `access_zones`, if any, each element disclosable on its own (as
    /// [`WorkerClaims::sd_access_zones`] builds it).
    pub(super) fn sd_access_zones(
        &mut self,
        zones: &[String],
        rng: &mut (impl CryptoRng + RngCore),
    ) {
        if zones.is_empty() {
            return;
        }
        self.value.clear();
        self.value.push(b'[');
        for (i, zone) in zones.iter().enumerate() {
            self.item.clear();
            push_json_str(&mut self.item, zone);
            let digest = self.sd.element(&self.item, rng);
            if i > 0 {
                self.value.push(b',');
            }
            self.value.extend_from_slice(b"{\"...\":\"");
            self.value.extend_from_slice(digest.as_bytes());
            self.value.extend_from_slice(b"\"}");
        }
        self.value.push(b']');
        let digest = self.sd.property("access_zones", &self.value, rng);
        self.digests.push(digest);
    }

    /// Writes the payload, the top-level digests and the envelope (members in the order a
    /// `serde_json::Map` keeps them: sorted), and signs.
    pub(super) fn finish(
        &mut self,
        params: &CompactParams<'_>,
        vct: &str,
    ) -> Result<String, CredentialError> {
        let v = params.validity;
        let p = &mut self.payload;
        p.clear();
        p.push(b'{');
        push_sd_member(p, &mut self.digests);
        p.extend_from_slice(b",\"_sd_alg\":\"sha-256\",\"cnf\":");
        p.extend_from_slice(params.holder.as_bytes());
        p.extend_from_slice(b",\"exp\":");
        push_json_u64(p, v.expires_at);
        p.extend_from_slice(b",\"iat\":");
        push_json_u64(p, v.issued_at);
        p.extend_from_slice(b",\"iss\":");
        push_json_str(p, params.issuer);
        p.extend_from_slice(b",\"nbf\":");
        push_json_u64(p, v.not_before);
        if let Some((idx, uri)) = params.status {
            p.extend_from_slice(b",\"status\":{\"status_list\":{\"idx\":");
            push_json_u64(p, idx);
            p.extend_from_slice(b",\"uri\":");
            push_json_str(p, uri);
            p.extend_from_slice(b"}}");
        }
        p.extend_from_slice(b",\"vct\":");
        push_json_str(p, vct);
        p.push(b'}');
        let text = self
            .sd
            .finish(&self.header_b64, &self.payload, self.signer)
            .map_err(IssueError::from)?;
        Ok(text)
    }
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
            expires_at: payload.get("exp").and_then(numeric_date),
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
    use super::*;

    fn claims() -> WorkerClaims {
        let org = Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        };
        WorkerClaims::new("Amira", "Haddad", "E-1", org)
    }

    #[test]
    fn an_exp_beyond_year_9999_is_not_issued() {
        let validity = |expires_at| Validity {
            issued_at: 1,
            not_before: 1,
            expires_at,
        };
        assert_eq!(check(&claims(), validity(MAX_NUMERIC_DATE)), Ok(()));
        assert_eq!(
            check(&claims(), validity(MAX_NUMERIC_DATE + 1)),
            Err(CredentialError::InvalidValidity)
        );
    }

    #[test]
    fn the_view_reads_a_fractional_exp_by_its_whole_seconds() {
        let payload = |exp: Value| {
            let mut map = Map::new();
            map.insert("exp".to_owned(), exp);
            WorkerView::from_payload(&map).expires_at
        };
        assert_eq!(payload(json!(1_826_536_000.5)), Some(1_826_536_000));
        assert_eq!(payload(json!(1_826_536_000)), Some(1_826_536_000));
        assert_eq!(payload(json!(-1)), None);
        assert_eq!(payload(json!("1826536000")), None);
    }

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

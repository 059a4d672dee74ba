//! Metadata: the Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), the OAuth Authorization
//! Server Metadata (RFC 8414 §2, OpenID4VCI 1.0 §12.3) and SD-JWT VC Type Metadata
//! (draft-ietf-oauth-sd-jwt-vc-18 §4) of the two govid credentials.
//!
//! Claim display names are in Korean and English. In OpenID4VCI 1.0 final they live under each
//! configuration's `credential_metadata` (`display` and `claims`, §12.2.4); Type Metadata has its
//! own layout (`display[].name`, `claims[].display[].label`).

use serde_json::{json, Value};

use super::offer::PRE_AUTHORIZED_GRANT;
use super::{GATE_PASS_CONFIGURATION, SD_JWT_VC_FORMAT, WORKER_ID_CONFIGURATION};
use crate::credential::{GATE_PASS_VCT, WORKER_ID_VCT};
use crate::jose::Algorithm;

/// Algorithms accepted for key proofs and DPoP proofs, as advertised.
pub const PROOF_ALGS: [&str; 2] = ["ES256", "EdDSA"];

/// A claim path and its names: (path, Korean, English).
type ClaimName = (&'static [&'static str], &'static str, &'static str);

/// The worker ID's claims, in display order.
const WORKER_ID_CLAIMS: &[ClaimName] = &[
    (&["family_name"], "성", "Family name"),
    (&["given_name"], "이름", "Given name"),
    (&["employee_number"], "사번", "Employee number"),
    (&["organization", "name"], "소속 기관", "Organization"),
    (&["organization", "code"], "기관 코드", "Organization code"),
    (&["department"], "부서", "Department"),
    (&["position"], "직위", "Position"),
    (&["grade"], "직급", "Grade"),
    (&["clearance"], "보안 등급", "Clearance"),
    (&["birthdate"], "생년월일", "Date of birth"),
    (&["portrait"], "사진", "Portrait"),
    (&["access_zones"], "출입 구역", "Access zones"),
];

/// The gate pass's claims, in display order.
const GATE_PASS_CLAIMS: &[ClaimName] = &[
    (&["family_name"], "성", "Family name"),
    (&["given_name"], "이름", "Given name"),
    (&["organization", "name"], "소속 기관", "Organization"),
    (&["organization", "code"], "기관 코드", "Organization code"),
    (&["clearance"], "보안 등급", "Clearance"),
    (&["access_zones"], "출입 구역", "Access zones"),
];

/// (configuration, vct, claims, Korean name, English name).
fn configurations() -> [(
    &'static str,
    &'static str,
    &'static [ClaimName],
    &'static str,
    &'static str,
); 2] {
    [
        (
            WORKER_ID_CONFIGURATION,
            WORKER_ID_VCT,
            WORKER_ID_CLAIMS,
            "공무원증",
            "Worker ID",
        ),
        (
            GATE_PASS_CONFIGURATION,
            GATE_PASS_VCT,
            GATE_PASS_CLAIMS,
            "출입증",
            "Gate pass",
        ),
    ]
}

/// The Credential Issuer Metadata of `credential_issuer` (no trailing slash), whose display name
/// is `name` and whose credentials are signed with `signing_alg`.
pub fn issuer_metadata(credential_issuer: &str, name: &str, signing_alg: Algorithm) -> Value {
    let mut supported = serde_json::Map::new();
    for (id, vct, claims, ko, en) in configurations() {
        let claims: Vec<Value> = claims
            .iter()
            .map(|(path, ko, en)| {
                json!({"path": path, "display": [
                    {"name": ko, "locale": "ko"}, {"name": en, "locale": "en"}]})
            })
            .collect();
        supported.insert(
            id.to_owned(),
            json!({
                "format": SD_JWT_VC_FORMAT,
                "vct": vct,
                "scope": id,
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": [signing_alg.as_str()],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": PROOF_ALGS}
                },
                "credential_metadata": {
                    "display": [{"name": ko, "locale": "ko"}, {"name": en, "locale": "en"}],
                    "claims": claims,
                },
            }),
        );
    }
    json!({
        "credential_issuer": credential_issuer,
        "credential_endpoint": format!("{credential_issuer}/credential"),
        "nonce_endpoint": format!("{credential_issuer}/nonce"),
        "notification_endpoint": format!("{credential_issuer}/notification"),
        "display": [{"name": name, "locale": "ko"}, {"name": name, "locale": "en"}],
        "credential_configurations_supported": supported,
    })
}

/// The Authorization Server Metadata (RFC 8414 §2) of the issuer acting as its own
/// authorization server: pre-authorized codes only, anonymous, DPoP optional.
pub fn authorization_server_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": true,
        "dpop_signing_alg_values_supported": PROOF_ALGS,
        "scopes_supported": [WORKER_ID_CONFIGURATION, GATE_PASS_CONFIGURATION],
    })
}

/// The SD-JWT VC Type Metadata of `vct` (one of the two govid types), `None` for another.
pub fn type_metadata(vct: &str) -> Option<Value> {
    let (_, vct, claims, ko, en) = configurations().into_iter().find(|c| c.1 == vct)?;
    let claims: Vec<Value> = claims
        .iter()
        .map(|(path, ko, en)| {
            json!({"path": path, "display": [
                {"locale": "ko", "label": ko}, {"locale": "en", "label": en}]})
        })
        .collect();
    Some(json!({
        "vct": vct,
        "name": en,
        "display": [{"locale": "ko", "name": ko}, {"locale": "en", "name": en}],
        "claims": claims,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_metadata_has_the_final_layout() {
        let m = issuer_metadata("https://hr.example", "인사과", Algorithm::EdDSA);
        assert_eq!(m["credential_endpoint"], "https://hr.example/credential");
        let w = &m["credential_configurations_supported"]["worker_id"];
        assert_eq!(w["format"], "dc+sd-jwt");
        assert_eq!(w["vct"], WORKER_ID_VCT);
        assert_eq!(w["credential_signing_alg_values_supported"][0], "EdDSA");
        assert_eq!(
            w["credential_metadata"]["claims"][3]["path"],
            json!(["organization", "name"])
        );
        assert_eq!(w["credential_metadata"]["display"][1]["locale"], "en");
        let g = &m["credential_configurations_supported"]["gate_pass"];
        assert_eq!(g["vct"], GATE_PASS_VCT);
        assert!(type_metadata(GATE_PASS_VCT).is_some());
        assert!(type_metadata("https://other.example/vct").is_none());
    }
}

//! Shared helpers for govid-core's integration tests.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::path::PathBuf;

use govid_core::jose::PublicKey;
use govid_core::sdjwt::{KbExpectation, VerifyPolicy};
use serde_json::Value;

/// Path of a file under the repository's `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join(rel)
}

/// Reads and parses a JSON file under `testdata/`; a missing file fails the test.
pub fn read_json(rel: &str) -> Value {
    let path = testdata(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
}

/// The verifier policy described by a vector's `verifier` object.
pub fn policy_from_vector(verifier: &Value) -> VerifyPolicy {
    let mut policy = VerifyPolicy::default();
    if verifier["require_key_binding"].as_bool() == Some(true) {
        policy.key_binding = Some(KbExpectation {
            aud: verifier["expected_aud"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            nonce: verifier["expected_nonce"].as_str().map(str::to_owned),
        });
    }
    policy.expected_typ = verifier["expected_typ"].as_str().map(str::to_owned);
    policy.sd_jwt_vc = verifier["sd_jwt_vc"].as_bool().unwrap_or(false);
    policy
}

/// Parses a public JWK, failing the test on error.
pub fn jwk(value: &Value) -> PublicKey {
    PublicKey::from_jwk(value).unwrap_or_else(|e| panic!("bad JWK: {e}"))
}

// ---- SD-JWT fixtures: deterministic keys, credentials and hand-built tokens ----

use govid_core::b64;
use govid_core::jose::{sign_compact, Algorithm, Signer, SoftwareSigner};
use govid_core::sdjwt::{
    issue, ClaimNode, Decoys, IssueOptions, IssuedSdJwt, KbRequest, SdAlg, KB_JWT_TYP,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Map};

/// The verifier's clock in the SD-JWT tests (2027-01-15).
pub const NOW: u64 = 1_800_000_000;
/// The issuer of the SD-JWT fixtures.
pub const ISS: &str = "https://hr.ministry.example";
/// The gate (`aud`) of the SD-JWT fixtures.
pub const AUD: &str = "https://gate-7.ministry.example";
/// The gate's challenge (`nonce`).
pub const NONCE: &str = "c9WZ3tLsN1Yq";
/// `vct` of the SD-JWT VC fixtures.
pub const VCT: &str = "https://govid.example/vct/test/v1";

/// A deterministic RNG: tests are reproducible run to run.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A deterministic key of `alg`, one per `seed`.
pub fn signer(alg: Algorithm, seed: u64) -> SoftwareSigner {
    SoftwareSigner::generate(alg, &mut rng(seed))
}

/// The fixtures' issuer key (Ed25519).
pub fn issuer() -> SoftwareSigner {
    signer(Algorithm::EdDSA, 1)
}

/// The fixtures' holder key (Ed25519).
pub fn holder() -> SoftwareSigner {
    signer(Algorithm::EdDSA, 2)
}

/// A claim tree with always-visible SD-JWT VC metadata (`cnf` naming `holder`) and disclosable
/// claims of every shape: top-level members, an object with disclosable members, an array with
/// disclosable elements.
pub fn sample_claims(holder: &dyn Signer) -> ClaimNode {
    ClaimNode::object()
        .plain("iss", ISS)
        .plain("iat", NOW - 3600)
        .plain("nbf", NOW - 3600)
        .plain("exp", NOW + 86_400)
        .plain("vct", VCT)
        .plain("cnf", json!({ "jwk": holder.public_key().to_jwk() }))
        .sd("given_name", "Amira")
        .sd("family_name", "Haddad")
        .sd(
            "organization",
            ClaimNode::object()
                .sd("name", "Ministry of Transport")
                .sd("code", "MOT"),
        )
        .sd(
            "access_zones",
            ClaimNode::array()
                .push_sd("HQ-A")
                .push_sd("HQ-B")
                .push_plain("LOBBY"),
        )
}

/// Issue options of the fixtures: `dc+sd-jwt`, SHA-256, two decoys per object.
pub fn vc_options() -> IssueOptions {
    IssueOptions {
        sd_alg: SdAlg::Sha256,
        decoys: Decoys { min: 2, max: 2 },
        typ: Some("dc+sd-jwt".to_owned()),
    }
}

/// Issues `claims` with the fixtures' issuer key, options and a seeded RNG.
pub fn issue_with(claims: &ClaimNode, options: &IssueOptions, seed: u64) -> IssuedSdJwt {
    issue(claims, options, &issuer(), &mut rng(seed)).unwrap_or_else(|e| panic!("issue: {e}"))
}

/// The sample credential, issued.
pub fn sample_issued() -> IssuedSdJwt {
    issue_with(&sample_claims(&holder()), &vc_options(), 7)
}

/// A key-binding request for the fixtures' gate at `iat`.
pub fn kb_request(iat: u64) -> KbRequest {
    KbRequest {
        aud: AUD.to_owned(),
        nonce: NONCE.to_owned(),
        iat,
    }
}

/// `<jwt>~<d1>~…~<dn>~` from parts.
pub fn sd_jwt_text(jwt: &str, disclosures: &[&str]) -> String {
    let mut out = format!("{jwt}~");
    for d in disclosures {
        out.push_str(d);
        out.push('~');
    }
    out
}

/// base64url of arbitrary text: a hand-made disclosure (or JWT part) exactly as written.
pub fn b64_text(text: &str) -> String {
    b64::encode(text.as_bytes())
}

/// The SHA-256 digest of a disclosure's text.
pub fn digest(disclosure: &str) -> String {
    SdAlg::Sha256.digest_b64(disclosure.as_bytes())
}

/// Signs `payload` (a JSON object) with `extra` header members: for payloads built by hand.
pub fn sign_json(extra: Value, payload: Value, signer: &dyn Signer) -> String {
    let as_map = |v: Value| match v {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => panic!("not a JSON object: {other}"),
    };
    sign_compact(as_map(extra), &as_map(payload), signer).unwrap_or_else(|e| panic!("sign: {e}"))
}

/// A KB-JWT with the given header extras and payload, signed by `holder`: for KB-JWTs built by
/// hand (`typ` defaults to `kb+jwt` unless `extra` sets it).
pub fn sign_kb(extra: Value, payload: Value, holder: &dyn Signer) -> String {
    let mut header = json!({ "typ": KB_JWT_TYP });
    if let (Value::Object(h), Value::Object(e)) = (&mut header, extra) {
        h.extend(e);
    }
    sign_json(header, payload, holder)
}

/// A compact JWS with `alg: none` and an empty signature.
pub fn unsigned_jwt(header: Value, payload: Value) -> String {
    format!(
        "{}.{}.",
        b64::encode(header.to_string()),
        b64::encode(payload.to_string())
    )
}

/// The parts of a compact presentation: Issuer-signed JWT, disclosures, KB-JWT (empty if none).
pub fn split_presentation(presentation: &str) -> (&str, Vec<&str>, &str) {
    let mut parts: Vec<&str> = presentation.split('~').collect();
    let kb = parts.pop().unwrap_or_default();
    let jwt = if parts.is_empty() {
        ""
    } else {
        parts.remove(0)
    };
    (jwt, parts, kb)
}

/// The unprotected `header` of a JWS JSON serialized SD-JWT (RFC 9901 §8.1).
fn json_header(disclosures: &[&str], kb: &str) -> Value {
    let mut header = json!({ "disclosures": disclosures });
    if !kb.is_empty() {
        header["kb_jwt"] = json!(kb);
    }
    header
}

/// A compact presentation as the flattened JWS JSON serialization (RFC 9901 §8.1).
pub fn flattened_json(presentation: &str) -> Value {
    let (jwt, disclosures, kb) = split_presentation(presentation);
    let [protected, payload, signature]: [&str; 3] = jwt
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .unwrap_or_else(|_| panic!("not a compact JWS"));
    json!({
        "protected": protected,
        "payload": payload,
        "signature": signature,
        "header": json_header(&disclosures, kb),
    })
}

/// A compact presentation as the general JWS JSON serialization (RFC 9901 §8.1), with
/// `more_signatures` (`{"protected", "signature"}` objects) after the first one.
pub fn general_json(presentation: &str, more_signatures: &[Value]) -> Value {
    let flat = flattened_json(presentation);
    let mut signatures = vec![json!({
        "protected": flat["protected"],
        "signature": flat["signature"],
        "header": flat["header"],
    })];
    signatures.extend(more_signatures.iter().cloned());
    json!({ "payload": flat["payload"], "signatures": signatures })
}

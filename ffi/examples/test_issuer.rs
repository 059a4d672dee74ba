//! A minimal stand-in for HR, for the binding tests: makes an issuer key, checks a wallet's
//! enrollment key proof and issues a worker ID or a gate pass to the key it proves.
//!
//! ```text
//! test_issuer init  DIR                          # DIR/issuer.jwk (public), DIR/issuer-private.jwk,
//!                                                # DIR/jwks.json and DIR/did.json as HR publishes them
//! test_issuer issue DIR CODE KEY_PROOF [EXP_SECS] # verifies the proof, prints the worker ID
//! test_issuer issue-gate-pass DIR CODE KEY_PROOF [EXP_SECS]  # the same, prints the gate pass
//! test_issuer issue-other-vct DIR CODE KEY_PROOF [EXP_SECS]  # a credential of another `vct`
//! test_issuer challenge AUD CLAIM...             # prints a gate's GVC1 challenge (2 min)
//! test_issuer status DIR VALUE                     # a Status List Token: entry 7 (every ID's) = VALUE
//! ```
//!
//! The issuer id is [`ISSUER_ID`], its one key's `kid` the DID URL [`KEY_FRAGMENT`] of it (as
//! `govid-issuer` signs); the credential is Amira Haddad's worker ID or gate pass (see
//! `govid_core::credential`), valid from now for `EXP_SECS` (default one year). Both kinds carry
//! the same status list entry, as HR's do; the key proof may be used for both. `issue-other-vct`
//! makes a well-formed SD-JWT VC of type [`OTHER_VCT`], which wallets must refuse.

use std::path::Path;
use std::process::ExitCode;

use govid_core::credential::{
    issue_gate_pass, issue_worker_id, Organization, StatusListRef, Validity, WorkerClaims,
    WorkerIdParams,
};
use govid_core::enrollment::KEY_PROOF_TYP;
use govid_core::jose::{Algorithm, CompactJws, PublicKey, Signer, SoftwareSigner, WithKeyId};
use govid_core::sdjwt::Decoys;
use rand_core::OsRng;
use serde_json::Value;

/// The test HR office's issuer id.
const ISSUER_ID: &str = "did:web:hr.test.govid.example";
/// The fragment of the issuer key's DID URL (`<ISSUER_ID>#key-1`), its `kid`.
const KEY_FRAGMENT: &str = "key-1";
/// How old a key proof may be, in seconds.
const PROOF_MAX_AGE: u64 = 300;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn init(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let signer = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let private = dir.join("issuer-private.jwk");
    std::fs::write(&private, signer.to_private_jwk().to_string()).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
    }
    let key = signer.public_key();
    let public = key.to_jwk().to_string();
    std::fs::write(dir.join("issuer.jwk"), &public).map_err(|e| e.to_string())?;
    // What `govid-issuer publish` writes to `.well-known/`.
    let mut jwk = key.to_jwk();
    jwk["kid"] = kid().into();
    jwk["alg"] = key.algorithm().as_str().into();
    jwk["use"] = "sig".into();
    let jwks = serde_json::json!({ "keys": [jwk] });
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).map_err(|e| e.to_string())?;
    let document = govid_core::did::did_web_document(ISSUER_ID, &[(KEY_FRAGMENT, key)])
        .map_err(|e| e.to_string())?;
    std::fs::write(dir.join("did.json"), document.to_string()).map_err(|e| e.to_string())?;
    println!("{public}");
    Ok(())
}

/// Checks an `openid4vci-proof+jwt` for `code` and returns the key it proves.
fn check_key_proof(proof: &str, code: &str, now: u64) -> Result<PublicKey, String> {
    let jws = CompactJws::parse(proof.trim(), 16).map_err(|e| format!("key proof: {e}"))?;
    if jws.header.typ.as_deref() != Some(KEY_PROOF_TYP) {
        return Err("key proof: wrong typ".into());
    }
    let jwk = jws.header.raw.get("jwk").ok_or("key proof: no jwk")?;
    let key = PublicKey::from_jwk(jwk).map_err(|e| format!("key proof jwk: {e}"))?;
    jws.verify(&key, &Algorithm::ALL)
        .map_err(|e| format!("key proof: {e}"))?;
    let payload = jws.payload_object(16).map_err(|e| e.to_string())?;
    if payload.get("aud").and_then(Value::as_str) != Some(ISSUER_ID) {
        return Err("key proof: wrong aud".into());
    }
    if payload.get("nonce").and_then(Value::as_str) != Some(code) {
        return Err("key proof: nonce is not the enrollment code".into());
    }
    let iat = payload
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or("key proof: no iat")?;
    if iat + PROOF_MAX_AGE < now || iat > now + 60 {
        return Err("key proof: iat out of window".into());
    }
    Ok(key)
}

/// Which credential `issue` makes.
#[derive(Clone, Copy)]
enum Kind {
    WorkerId,
    GatePass,
    Other,
}

/// The `vct` of `issue-other-vct`: not a govid worker ID or gate pass.
const OTHER_VCT: &str = "https://govid.example/vct/visitor-badge/v1";

/// A minimal SD-JWT VC of type [`OTHER_VCT`] for `holder`.
fn issue_other(
    params: &WorkerIdParams<'_>,
    signer: &dyn govid_core::jose::Signer,
) -> Result<govid_core::sdjwt::IssuedSdJwt, String> {
    use govid_core::sdjwt::{issue, ClaimNode, IssueOptions, SD_JWT_VC_TYP};
    let v = params.validity;
    let tree = ClaimNode::object()
        .plain("iss", params.issuer)
        .plain("iat", v.issued_at)
        .plain("nbf", v.not_before)
        .plain("exp", v.expires_at)
        .plain("vct", OTHER_VCT)
        .plain(
            "cnf",
            serde_json::json!({ "jwk": params.holder_key.to_jwk() }),
        )
        .sd("given_name", "Amira");
    let options = IssueOptions {
        typ: Some(SD_JWT_VC_TYP.to_owned()),
        ..IssueOptions::default()
    };
    issue(&tree, &options, signer, &mut OsRng).map_err(|e| e.to_string())
}

fn issue(dir: &Path, kind: Kind, code: &str, proof: &str, exp_secs: u64) -> Result<(), String> {
    let signer = load_signer(dir)?;
    let now = now();
    let holder = check_key_proof(proof, code, now)?;
    let claims = WorkerClaims {
        given_name: "Amira".into(),
        family_name: "Haddad".into(),
        employee_number: "E-10442".into(),
        organization: Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        },
        department: Some("Road Safety".into()),
        position: Some("Senior Inspector".into()),
        grade: Some("G7".into()),
        clearance: None,
        birthdate: Some("1986-04-12".into()),
        portrait: None,
        access_zones: vec!["HQ-A".into(), "DEPOT-3".into()],
    };
    let params = WorkerIdParams {
        issuer: ISSUER_ID,
        holder_key: &holder,
        validity: Validity {
            issued_at: now,
            not_before: now,
            expires_at: now + exp_secs,
        },
        status: Some(StatusListRef {
            idx: STATUS_IDX as u64,
            uri: STATUS_URI.into(),
        }),
        decoys: Decoys { min: 1, max: 3 },
    };
    let issued = match kind {
        Kind::WorkerId => {
            issue_worker_id(&claims, &params, &signer, &mut OsRng).map_err(|e| e.to_string())?
        }
        Kind::GatePass => {
            issue_gate_pass(&claims, &params, &signer, &mut OsRng).map_err(|e| e.to_string())?
        }
        Kind::Other => issue_other(&params, &signer)?,
    };
    println!("{}", issued.compact());
    Ok(())
}

/// The URI of the test status list, and every test credential's index in it.
const STATUS_URI: &str = "https://hr.test.govid.example/status/1";
const STATUS_IDX: usize = 7;

/// The issuer key's `kid`: its DID URL.
fn kid() -> String {
    format!("{ISSUER_ID}#{KEY_FRAGMENT}")
}

fn load_signer(dir: &Path) -> Result<WithKeyId<SoftwareSigner>, String> {
    let private = std::fs::read_to_string(dir.join("issuer-private.jwk"))
        .map_err(|e| format!("issuer key: {e}"))?;
    let private: Value = serde_json::from_str(&private).map_err(|e| e.to_string())?;
    let signer = SoftwareSigner::from_private_jwk(&private).map_err(|e| e.to_string())?;
    Ok(WithKeyId { signer, kid: kid() })
}

/// A signed Status List Token (2 bits, 64 entries) whose entry [`STATUS_IDX`] is `value`.
fn status(dir: &Path, value: u8) -> Result<(), String> {
    use govid_core::status::{sign_status_list_token, StatusBits, StatusList, StatusTokenClaims};
    let signer = load_signer(dir)?;
    let mut list = StatusList::new(StatusBits::TWO, 64).map_err(|e| e.to_string())?;
    list.set(STATUS_IDX, value).map_err(|e| e.to_string())?;
    let claims = StatusTokenClaims::new(STATUS_URI, now())
        .issuer(ISSUER_ID)
        .ttl(3600);
    let token = sign_status_list_token(&list, &claims, &signer).map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

/// A gate's challenge code asking for `claims`, valid for two minutes.
fn challenge(aud: &str, claims: &[&str]) -> Result<(), String> {
    use rand_core::RngCore as _;
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let challenge = govid_core::qr::GateChallenge {
        aud: aud.to_owned(),
        nonce: govid_core::b64::encode(nonce),
        claims: claims.iter().map(|c| (*c).to_owned()).collect(),
        exp: now() + 120,
        v: govid_core::qr::challenge::CHALLENGE_VERSION,
    };
    let text = govid_core::qr::encode_challenge(&challenge).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["init", dir] => init(Path::new(dir)),
        [cmd @ ("issue" | "issue-gate-pass" | "issue-other-vct"), dir, code, proof, ref exp @ ..]
            if exp.len() <= 1 =>
        {
            let kind = match cmd {
                "issue" => Kind::WorkerId,
                "issue-gate-pass" => Kind::GatePass,
                _ => Kind::Other,
            };
            match exp.first().map_or(Ok(365 * 86_400), |e| e.parse()) {
                Ok(exp) => issue(Path::new(dir), kind, code, proof, exp),
                Err(_) => Err("EXP_SECS must be a number".into()),
            }
        }
        ["status", dir, value] => match value.parse() {
            Ok(value) => status(Path::new(dir), value),
            Err(_) => Err("VALUE must be 0..=3".into()),
        },
        ["challenge", aud, ref claims @ ..] => challenge(aud, claims),
        _ => Err("usage: test_issuer init DIR | issue DIR CODE KEY_PROOF [EXP_SECS] | issue-gate-pass DIR CODE KEY_PROOF [EXP_SECS] | issue-other-vct DIR CODE KEY_PROOF [EXP_SECS] | challenge AUD CLAIM... | status DIR VALUE".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test_issuer: {e}");
            ExitCode::FAILURE
        }
    }
}

//! Prints GV1 sizes: compact presentation bytes -> `GV1:` payload characters -> QR version at ECC M.
//!
//! Rows: every presentation in `testdata/vectors/sd-jwt/spec_examples.json` (ES256, JSON with
//! spaces, as in the RFC), then worker IDs issued and presented by govid itself for the `entry`
//! and `counter` gate profiles and with every claim disclosed, each with a KB-JWT. Those use fresh
//! keys and salts on every run, so their sizes vary by a few characters. They have no decoys and
//! no `kid`, so they are smaller than what `govid-issuer` issues: the issue-5 table (shapes,
//! decoys, holder keys, the gate pass; reproducible) is `examples/qr_table.rs`.
//!
//! Run: `cargo run -p govid-core --example qr_sizes`

use std::error::Error;

use govid_core::credential::{
    issue_worker_id, GateProfile, Organization, StatusListRef, Validity, WorkerClaims,
    WorkerIdParams,
};
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::qr::{encode_presentation, render, Ecc, QrError};
use govid_core::sdjwt::{ClaimPath, Decoys, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use rand_core::OsRng;

fn main() -> Result<(), Box<dyn Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/sd-jwt/spec_examples.json"
    );
    let vectors: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    println!("| presentation | compact bytes | GV1 chars | ratio | QR version (ECC M) |");
    println!("|---|---:|---:|---:|---:|");
    let list = vectors["vectors"].as_array().ok_or("no vectors array")?;
    for v in list {
        let id = v["id"].as_str().ok_or("vector without id")?;
        let compact = v["presentation"]
            .as_str()
            .ok_or("vector without presentation")?;
        row(id, compact)?;
    }
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        for (name, claims) in [
            ("entry", GateProfile::Entry.claims()),
            ("counter", GateProfile::Counter.claims()),
            ("all claims", all_claims()),
        ] {
            let compact = issued_presentation(alg, &claims)?;
            row(
                &format!("govid worker ID, {alg:?}, {name} + KB-JWT"),
                &compact,
            )?;
        }
    }
    Ok(())
}

fn row(id: &str, compact: &str) -> Result<(), QrError> {
    let payload = encode_presentation(compact)?;
    let version = match render(&payload, Ecc::M) {
        Ok(code) => code.version().to_string(),
        Err(QrError::TooLarge { max, .. }) => format!("too large (max {max})"),
        Err(e) => return Err(e),
    };
    let ratio = payload.len() as f64 / compact.len() as f64;
    println!(
        "| {id} | {} | {} | {ratio:.2} | {version} |",
        compact.len(),
        payload.len()
    );
    Ok(())
}

/// A worker ID issued by govid's issuer code (`alg` for the issuer and the holder key),
/// presented with `claims` disclosed and a KB-JWT.
fn issued_presentation(alg: Algorithm, claims: &[ClaimPath]) -> Result<String, Box<dyn Error>> {
    let mut rng = OsRng;
    let issuer = SoftwareSigner::generate(alg, &mut rng);
    let holder = SoftwareSigner::generate(alg, &mut rng);
    let worker = WorkerClaims {
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
        clearance: Some("B".into()),
        birthdate: Some("1986-04-12".into()),
        portrait: None,
        access_zones: vec!["HQ-A".into(), "HQ-B".into(), "DEPOT-3".into()],
    };
    let now = 1_795_000_000;
    let holder_key = holder.public_key();
    let params = WorkerIdParams {
        issuer: "did:web:hr.ministry.example",
        holder_key: &holder_key,
        validity: Validity {
            issued_at: now,
            not_before: now,
            expires_at: now + 31_536_000,
        },
        status: Some(StatusListRef {
            idx: 48_213,
            uri: "https://hr.ministry.example/status/1".into(),
        }),
        decoys: Decoys::NONE,
    };
    let issued = issue_worker_id(&worker, &params, &issuer, &mut rng)?.compact();
    let trusted = PinnedKeys::single(issuer.public_key());
    let held = HeldSdJwt::receive(&issued, &VerifyPolicy::default(), &trusted, now)?;
    let request = KbRequest {
        aud: "https://gate-7.hq.ministry.example".into(),
        nonce: "q2Zs0t1YbTnK8xWv_3-uLA".into(),
        iat: now + 60,
    };
    Ok(held.present(claims, Some((&request, &holder)))?)
}

fn all_claims() -> Vec<ClaimPath> {
    let names = [
        "given_name",
        "family_name",
        "employee_number",
        "organization",
        "department",
        "position",
        "grade",
        "clearance",
        "birthdate",
        "access_zones",
    ];
    names
        .iter()
        .filter_map(|n| ClaimPath::parse(n).ok())
        .collect()
}

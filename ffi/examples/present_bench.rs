//! Times a rotating-mode present call in Rust, to compare with the same call through the Kotlin
//! and Python bindings (BENCHMARKS.md, "Wallet library").
//!
//! ```text
//! cargo run --release -p govid-ffi --example present_bench -- [N]
//! ```
//!
//! Prints µs per call for `Wallet::present_rotating` (ES256 key in the software key store,
//! entry profile: SQLite read, KB-JWT signature + check, GV1 encoding) and for the core work
//! alone (`HeldSdJwt::present` + `qr::encode_presentation` with an in-memory key).

use std::time::Instant;

use govid_core::credential::{
    issue_worker_id, GateProfile, Organization, Validity, WorkerClaims, WorkerIdParams,
};
use govid_core::jose::{Algorithm, CompactJws, PublicKey, Signer, SoftwareSigner};
use govid_core::qr;
use govid_core::sdjwt::{Decoys, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use govid_ffi::{GateProfileKind, KeyAlgorithm, SoftwareKeyStore, Wallet};
use rand_core::OsRng;

const ISSUER: &str = "did:web:hr.test.govid.example";
const GATE: &str = "https://gate-7.hq.govid.example";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn issue(hr: &SoftwareSigner, holder: &PublicKey) -> Result<String, String> {
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
    let t = now();
    let params = WorkerIdParams {
        issuer: ISSUER,
        holder_key: holder,
        validity: Validity {
            issued_at: t,
            not_before: t,
            expires_at: t + 365 * 86_400,
        },
        status: None,
        decoys: Decoys { min: 1, max: 3 },
    };
    issue_worker_id(&claims, &params, hr, &mut OsRng)
        .map(|i| i.compact())
        .map_err(|e| e.to_string())
}

/// µs per call: the best of 5 batches of `n / 5` calls after 200 warm-up calls (the best batch
/// is the one least disturbed by other work on the machine).
fn time(n: u32, mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    for _ in 0..200 {
        f()?;
    }
    let batch = (n / 5).max(1);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..batch {
            f()?;
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(batch));
    }
    Ok(best)
}

fn run(n: u32) -> Result<(), String> {
    let tmp = std::env::temp_dir().join(format!("govid-present-bench-{}", std::process::id()));
    let hr = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let keys = SoftwareKeyStore::open(tmp.join("keys").to_string_lossy().into(), "bench".into())
        .map_err(|e| e.to_string())?;
    let wallet = Wallet::open(
        tmp.join("wallet").to_string_lossy().into(),
        keys.as_key_store(),
    )
    .map_err(|e| e.to_string())?;
    wallet
        .trust_issuer(hr.public_key().to_jwk().to_string(), Some(ISSUER.into()))
        .map_err(|e| e.to_string())?;
    let req = wallet
        .enroll("BENCH".into(), ISSUER.into(), KeyAlgorithm::Es256)
        .map_err(|e| e.to_string())?;
    let proof = CompactJws::parse(&req.key_proof, 16).map_err(|e| e.to_string())?;
    let holder = PublicKey::from_jwk(&proof.header.raw["jwk"]).map_err(|e| e.to_string())?;
    let issued = issue(&hr, &holder)?;
    let cred = wallet
        .accept_credential(issued.clone())
        .map_err(|e| e.to_string())?;

    let wallet_us = time(n, || {
        wallet
            .present_rotating(cred.id.clone(), GATE.into(), GateProfileKind::Entry)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    println!("rust Wallet::present_rotating (software key store, ES256): {wallet_us:.1} us/call (best of 5 x {} calls)", n / 5);

    let held = HeldSdJwt::receive(
        &issued,
        &VerifyPolicy::default(),
        &PinnedKeys::single(hr.public_key()),
        now(),
    )
    .map_err(|e| e.to_string())?;
    let key = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let paths = GateProfile::Entry.claims();
    let core_us = time(n, || {
        let request = KbRequest {
            aud: GATE.into(),
            nonce: "0123456789abcdefghijkl".into(),
            iat: now(),
        };
        let p = held
            .present(&paths, Some((&request, &key as &dyn Signer)))
            .map_err(|e| e.to_string())?;
        qr::encode_presentation(&p)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    println!("rust core only (present + GV1 encode, ES256 in memory): {core_us:.1} us/call (best of 5 x {} calls)", n / 5);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

fn main() -> std::process::ExitCode {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    match run(n) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("present_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

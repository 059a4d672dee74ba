//! Writes N fresh gate codes as the wallet renders them, for measuring how often independent
//! decoders read them back exactly (`bench/qr_read_rate.py`, BENCHMARKS.md "QR read rate").
//!
//! Each code is the `entry` presentation of a gate pass as govid issues it (EdDSA issuer, a fresh
//! ES256 phone key and a fresh KB-JWT per code, so every symbol is different), framed as `GV1:`,
//! rendered at ECC M with a 4-module quiet zone and MODULE_PX pixels per module (the demo's
//! phones and the e2e suite use 4; the wallet's documented default for a screen is 8).
//!
//! Run: `cargo run --release -p govid-core --example qr_read_codes -- N DIR [MODULE_PX]`
//! writes `DIR/<i>.png` and `DIR/<i>.txt` (the payload) for i in 0..N.

use std::error::Error;

use govid_core::credential::{
    issue_gate_pass, GateProfile, Organization, StatusListRef, Validity, WorkerClaims,
    WorkerIdParams,
};
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::qr::{encode_presentation, render, Ecc};
use govid_core::sdjwt::{Decoys, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use rand_core::{OsRng, RngCore as _};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().ok_or("usage: N DIR [MODULE_PX]")?.parse()?;
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: N DIR [MODULE_PX]")?);
    let module_px: u32 = args.next().map_or(Ok(4), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;
    let now = 1_795_000_000;
    let issuer = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let trusted = PinnedKeys::single(issuer.public_key());
    let mut versions = std::collections::BTreeMap::<u8, usize>::new();
    for i in 0..n {
        let holder = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
        let holder_key = holder.public_key();
        let params = WorkerIdParams {
            issuer: "did:web:hr.mot.example",
            holder_key: &holder_key,
            validity: Validity {
                issued_at: now,
                not_before: now,
                expires_at: now + 31_536_000,
            },
            status: Some(StatusListRef {
                idx: u64::from(OsRng.next_u32() % 131_072),
                uri: "https://hr.mot.example/status/1".into(),
            }),
            decoys: Decoys::NONE,
        };
        let issued = issue_gate_pass(&worker(i), &params, &issuer, &mut OsRng)?.compact();
        let held = HeldSdJwt::receive(&issued, &VerifyPolicy::default(), &trusted, now)?;
        let mut nonce = [0u8; 16];
        OsRng.fill_bytes(&mut nonce);
        let request = KbRequest {
            aud: "https://gates.mot.example/hq/main-entrance".into(),
            nonce: govid_core::b64::encode(nonce),
            iat: now + 60,
        };
        let compact = held.present(&GateProfile::Entry.claims(), Some((&request, &holder)))?;
        let payload = encode_presentation(&compact)?;
        let code = render(&payload, Ecc::M)?;
        *versions.entry(code.version()).or_default() += 1;
        std::fs::write(dir.join(format!("{i}.png")), code.to_png(module_px, 4)?)?;
        std::fs::write(dir.join(format!("{i}.txt")), &payload)?;
    }
    let versions: Vec<String> = versions
        .iter()
        .map(|(v, count)| format!("v{v}: {count}"))
        .collect();
    println!(
        "{n} codes in {} ({module_px} px per module; QR versions {})",
        dir.display(),
        versions.join(", ")
    );
    Ok(())
}

/// A staff member's claims, varied by `i` as a roster varies.
fn worker(i: usize) -> WorkerClaims {
    const GIVEN: [&str; 5] = ["Amira", "Jonas", "Mei", "Seo-yeon", "Rafael"];
    const FAMILY: [&str; 5] = ["Haddad", "Kowalska", "Okafor", "Kim", "Lindqvist"];
    WorkerClaims {
        given_name: GIVEN[i % GIVEN.len()].into(),
        family_name: FAMILY[(i / GIVEN.len()) % FAMILY.len()].into(),
        employee_number: format!("MOT-{:04}", i % 10_000),
        organization: Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        },
        department: Some("Road Safety".into()),
        position: Some("Inspector".into()),
        grade: None,
        clearance: None,
        birthdate: None,
        portrait: None,
        access_zones: vec!["HQ-A".into()],
    }
}

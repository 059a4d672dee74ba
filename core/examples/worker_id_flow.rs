//! Issue a worker ID, present it at an `entry` gate as a phone would, verify it as the gate
//! would, and show what each party sees.
//!
//! Run: `cargo run --release -p govid-core --example worker_id_flow`

use std::time::{SystemTime, UNIX_EPOCH};

use govid_core::credential::{
    gate_policy, issue_worker_id, GateProfile, Organization, Validity, WorkerClaims, WorkerIdParams,
};
use govid_core::jose::{Algorithm, Signer, SoftwareSigner};
use govid_core::sdjwt::{verify, Decoys, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = rand_core::OsRng;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let hr = SoftwareSigner::generate(Algorithm::EdDSA, &mut rng);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut rng);

    let mut staff = WorkerClaims::new(
        "Amira",
        "Haddad",
        "E-10442",
        Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        },
    );
    staff.position = Some("Senior Inspector".into());
    staff.clearance = Some("B".into());
    staff.birthdate = Some("1986-04-12".into());
    staff.access_zones = vec!["HQ-A".into(), "HQ-B".into(), "DEPOT-3".into()];

    let holder_key = phone.public_key();
    let params = WorkerIdParams {
        issuer: "did:web:hr.mot.example",
        holder_key: &holder_key,
        validity: Validity {
            issued_at: now,
            not_before: now,
            expires_at: now + 365 * 86_400,
        },
        status: None,
        decoys: Decoys { min: 2, max: 4 },
    };
    let issued = issue_worker_id(&staff, &params, &hr, &mut rng)?;
    println!(
        "HR issued a worker ID: {} bytes, {} disclosures",
        issued.compact().len(),
        issued.disclosures.len()
    );

    let trusted = PinnedKeys::single(hr.public_key());
    let held = HeldSdJwt::receive(&issued.compact(), &VerifyPolicy::default(), &trusted, now)?;
    println!(
        "The phone checked it and holds {} claims",
        held.claims().len()
    );

    let kb = KbRequest {
        aud: "gate:mot-hq".into(),
        nonce: "q0Xh3Tf1Yw8vZp2Rk7Lm".into(),
        iat: now,
    };
    let shown = held.present(&GateProfile::Entry.claims(), Some((&kb, &phone)))?;
    println!("At the entry gate it presents {} bytes", shown.len());

    let policy = gate_policy("gate:mot-hq", None, &GateProfile::Entry);
    let verified = verify(&shown, &policy, &trusted, now)?;
    println!("\n{:<18} {:<28} gate sees", "claim", "phone holds");
    for name in [
        "given_name",
        "family_name",
        "organization",
        "position",
        "clearance",
        "birthdate",
        "access_zones",
    ] {
        let held_value = held
            .claims()
            .get(name)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let seen = verified
            .payload
            .get(name)
            .map(|v| v.to_string())
            .unwrap_or_else(|| "—".into());
        println!("{name:<18} {:<28} {seen}", truncate(&held_value, 27));
    }
    println!("\ndecision: ALLOW (issuer signature, holder key binding, validity and entry profile all checked)");
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

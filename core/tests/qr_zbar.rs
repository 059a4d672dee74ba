//! Our PNG, read back by an independent decoder: `zbarimg` (Debian package `zbar-tools`).
//!
//! Without `zbarimg` the tests fail, naming the package (`scripts/setup` installs it).
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use govid_core::credential::{
    gate_policy, issue_worker_id, GateProfile, Organization, Validity, WorkerClaims, WorkerIdParams,
};
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::qr::{decode_payload, encode_presentation, render, Ecc};
use govid_core::sdjwt::{verify, Decoys, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use rand_core::OsRng;

/// Whether zbarimg runs; a missing one fails the test (it never skips).
fn zbarimg_available() -> bool {
    let found = Command::new("zbarimg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "zbarimg not found: run scripts/setup (or apt-get install -y zbar-tools)"
    );
    found
}

/// A scratch directory for this test process, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("govid-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs zbarimg on a PNG and returns what it read, without its trailing line end.
fn scan(png: &[u8], dir: &TempDir, name: &str) -> String {
    let path = dir.0.join(name);
    std::fs::write(&path, png).unwrap();
    // QR codes only (a dense symbol can also yield a linear barcode read by mistake);
    // `-Sbinary`: no character-set guessing; `--raw`: only the data; `-q`: no statistics.
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable", "-Sbinary"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zbarimg failed on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8 from zbarimg");
    let text = text.strip_suffix('\n').unwrap_or(&text);
    text.strip_suffix('\r').unwrap_or(text).to_owned()
}

fn presentations() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/sd-jwt/spec_examples.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["presentation"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn zbarimg_reads_our_png_exactly() {
    if !zbarimg_available() {
        return;
    }
    let dir = TempDir::new("qr-zbar");
    let all = presentations();
    // A KB presentation (version ~25) and the smallest one, at the default level and at L.
    let picks = [
        ("rfc9901-d22-s5-presentation-kb", Ecc::M),
        ("sdjwtvc-d18-fig10-presentation-no-kb", Ecc::L),
    ];
    for (id, ecc) in picks {
        let compact = &all.iter().find(|(i, _)| i == id).expect("vector present").1;
        let payload = encode_presentation(compact).unwrap();
        let code = render(&payload, ecc).unwrap();
        let png = code.to_png(4, 4).unwrap();
        let scanned = scan(&png, &dir, &format!("{id}.png"));
        assert_eq!(scanned, payload, "{id}: zbarimg read something else");
        assert_eq!(decode_payload(&scanned).unwrap(), *compact);
    }
}

/// The whole gate path: a worker ID issued and presented by govid, shown as a QR code, scanned by
/// zbarimg, decoded and verified with the `entry` gate policy.
#[test]
fn govid_presentation_through_a_scanned_qr_code_verifies() {
    if !zbarimg_available() {
        return;
    }
    let mut rng = OsRng;
    let issuer = SoftwareSigner::generate(Algorithm::EdDSA, &mut rng);
    let holder = SoftwareSigner::generate(Algorithm::EdDSA, &mut rng);
    let claims = WorkerClaims {
        given_name: "Amira".into(),
        family_name: "Haddad".into(),
        employee_number: "E-10442".into(),
        organization: Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        },
        department: Some("Road Safety".into()),
        position: None,
        grade: None,
        clearance: None,
        birthdate: None,
        portrait: None,
        access_zones: vec!["HQ-A".into()],
    };
    let now = 1_795_000_000;
    let holder_key = holder.public_key();
    let params = WorkerIdParams {
        issuer: "did:web:hr.ministry.example",
        holder_key: &holder_key,
        validity: Validity {
            issued_at: now,
            not_before: now,
            expires_at: now + 86_400,
        },
        status: None,
        decoys: Decoys::NONE,
    };
    let issued = issue_worker_id(&claims, &params, &issuer, &mut rng)
        .unwrap()
        .compact();
    let trusted = PinnedKeys::single(issuer.public_key());
    let held = HeldSdJwt::receive(&issued, &VerifyPolicy::default(), &trusted, now).unwrap();
    let aud = "https://gate-7.hq.ministry.example";
    let request = KbRequest {
        aud: aud.into(),
        nonce: "q2Zs0t1YbTnK8xWv_3-uLA".into(),
        iat: now,
    };
    let compact = held
        .present(&GateProfile::Entry.claims(), Some((&request, &holder)))
        .unwrap();

    let png = render(&encode_presentation(&compact).unwrap(), Ecc::M)
        .unwrap()
        .to_png(4, 4)
        .unwrap();
    let dir = TempDir::new("qr-zbar-govid");
    let scanned = decode_payload(&scan(&png, &dir, "govid.png")).unwrap();
    assert_eq!(scanned, compact);
    let policy = gate_policy(aud, Some(request.nonce.clone()), &GateProfile::Entry);
    assert!(verify(&scanned, &policy, &trusted, now + 5).is_ok());
}

//! The top-level README's gate quick start, run verbatim: HR's real `govid-issuer` makes a
//! `www/` folder (`init`, `staff import`, `offer`, `enroll`, `issue`, `publish --out www/`), the
//! command is taken from README.md as written, only its placeholders substituted, and a real
//! issued credential is allowed by the gate it starts. And the gate's own README names only
//! flags `serve` has and keys `examples/gate.toml` documents.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use govid_core::credential::GateProfile;
use govid_core::enrollment::{make_key_proof, EnrollmentOffer};
use govid_core::jose::{Algorithm, SoftwareSigner};
use govid_core::qr::encode_presentation;
use govid_core::sdjwt::{HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use rand_core::OsRng;
use serde_json::Value;
use serve_common::*;

/// The sentence in README.md that the quick start's fenced command follows.
const MARKER: &str = "Start a gate on a copy of the folder HR publishes";

/// The audience substituted for `<gate-audience>`.
const README_AUD: &str = "https://gates.mot.example/hq";

/// The command line of the fenced block that ends the sentence starting with [`MARKER`] in
/// `readme` (the sentence may wrap onto one more line).
fn quick_start_command(readme: &str) -> String {
    let mut lines = readme.lines().skip_while(|l| !l.contains(MARKER));
    assert!(lines.next().is_some(), "README.md has no line {MARKER:?}");
    let between: Vec<&str> = lines
        .by_ref()
        .take_while(|l| !l.trim().starts_with("```"))
        .collect();
    assert!(
        between.len() <= 2 && between.last().is_some_and(|l| l.trim().is_empty()),
        "no fenced block right after {MARKER:?}: {between:?}"
    );
    let body: Vec<&str> = lines.take_while(|l| !l.trim().starts_with("```")).collect();
    assert_eq!(body.len(), 1, "one command line expected: {body:?}");
    body[0].trim().to_owned()
}

/// `govid-issuer` from the same target directory, built there first if this test runs alone.
fn issuer_bin() -> PathBuf {
    let verifier = Path::new(env!("CARGO_BIN_EXE_govid-verifier"));
    let issuer = verifier.with_file_name(format!("govid-issuer{}", std::env::consts::EXE_SUFFIX));
    if !issuer.is_file() {
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "-p", "govid-issuer", "--locked"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if verifier.parent().and_then(Path::file_name) == Some("release".as_ref()) {
            build.arg("--release");
        }
        let status = build.status().unwrap();
        assert!(status.success(), "cargo build -p govid-issuer failed");
    }
    assert!(issuer.is_file(), "{} not built", issuer.display());
    issuer
}

/// Runs `govid-issuer --dir issuer --json ARGS` in `cwd` and returns its JSON answer.
fn hr(bin: &Path, cwd: &Path, args: &[&str]) -> Value {
    let out = Command::new(bin)
        .current_dir(cwd)
        .args(["--dir", "issuer", "--json"])
        .args(args)
        .env_remove("GOVID_ISSUER_DIR")
        .env_remove("GOVID_ISSUER_NOW")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "govid-issuer {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("govid-issuer {args:?}: not JSON ({e}): {stdout}"))
}

#[test]
fn the_readme_gate_quick_start_allows_a_real_id() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let command = quick_start_command(&readme);
    assert!(command.contains("<gate-audience>"), "{command}");

    // HR: an issuer, the sample roster, one enrolled phone, its ID, and `publish --out www/`.
    let tmp = TempDir::new("readme-gate");
    let issuer = issuer_bin();
    let dir = &tmp.0;
    let roster = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/roster/sample-20.csv");
    hr(
        &issuer,
        dir,
        &[
            "init",
            "--name",
            "Ministry of Transport HR Office",
            "--did-web",
            "hr.mot.example",
        ],
    );
    hr(&issuer, dir, &["staff", "import", roster.to_str().unwrap()]);
    let offers = hr(&issuer, dir, &["offer", "MOT-0001"]);
    let offer = EnrollmentOffer::parse(offers["offers"][0]["payload"].as_str().unwrap()).unwrap();
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let proof = make_key_proof(&offer.code, &offer.issuer, now(), &phone).unwrap();
    let proof_path = tmp.path("proof.jwt");
    std::fs::write(&proof_path, proof).unwrap();
    hr(
        &issuer,
        dir,
        &["enroll", "--proof", proof_path.to_str().unwrap()],
    );
    let ids = tmp.path("ids");
    hr(
        &issuer,
        dir,
        &["issue", "MOT-0001", "--out", ids.to_str().unwrap()],
    );
    hr(&issuer, dir, &["publish", "--out", "www/"]);

    // The README's command, run in the folder holding `www/`. Only the placeholder changes, and
    // the port: 8080 may be taken on a test machine, 0 picks a free one.
    let args: Vec<String> = command
        .replace("<gate-audience>", README_AUD)
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(args[..2], ["govid-verifier", "serve"], "{command}");
    let gate = Gate::start_in(dir, &args[2..], &[]);

    let health = gate.health();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["warnings"], serde_json::json!([]), "{health}");
    let list = &health["status_lists"][0];
    assert_eq!(list["uri"], "https://hr.mot.example/status/1", "{health}");
    assert_eq!(list["stale"], false, "{health}");
    assert!(list["age_secs"].is_u64(), "{health}");

    // The phone receives its ID as HR wrote it and shows an entry code.
    let jwks = std::fs::read_to_string(tmp.path("www/.well-known/jwks.json")).unwrap();
    let mut keys = PinnedKeys::new();
    keys.add_jwk_text(&jwks, None).unwrap();
    let issued = std::fs::read_to_string(ids.join("MOT-0001.sd-jwt")).unwrap();
    let policy = VerifyPolicy {
        sd_jwt_vc: true,
        ..VerifyPolicy::default()
    };
    let held = HeldSdJwt::receive(&issued, &policy, &keys, now()).unwrap();
    let request = KbRequest {
        aud: README_AUD.to_owned(),
        nonce: random_nonce(),
        iat: now(),
    };
    let compact = held
        .present(&GateProfile::Entry.claims(), Some((&request, &phone)))
        .unwrap();
    let body = gate.verify(&encode_presentation(&compact).unwrap());
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["reason"], "ok", "{body}");
    assert_eq!(body["credential_status"], "valid", "{body}");
    assert_eq!(body["issuer"], "did:web:hr.mot.example", "{body}");
    assert_eq!(body["disclosed"]["given_name"], "Amira", "{body}");
    // A code shown once is spent.
    assert_deny(
        &gate.verify(&encode_presentation(&compact).unwrap()),
        "replayed",
    );
    assert!(tmp.path("www/trust-bundle.jwt.state").exists());
}

#[test]
fn the_gate_readme_names_only_real_flags_and_config_keys() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(manifest.join("README.md")).unwrap();
    let example = std::fs::read_to_string(manifest.join("examples/gate.toml")).unwrap();
    let help = Command::new(env!("CARGO_BIN_EXE_govid-verifier"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
    let mut flags = 0;
    let mut keys = 0;
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (first, second) = (cells[1], cells[2]);
        if let Some(flag) = first.strip_prefix("`--") {
            let name = flag.split(['`', ' ']).next().unwrap();
            assert!(help.contains(&format!("--{name}")), "serve has no --{name}");
            flags += 1;
        }
        // `[section] key`, or `[[trust.jwks]] file`, `iss`: each key must be in the example.
        if second.starts_with("`[") {
            let names = second.rsplit(']').next().unwrap();
            for key in names.split(',').map(|k| k.trim().trim_matches('`').trim()) {
                let set = format!("\n{key} = ");
                let commented = format!("\n# {key} = ");
                assert!(
                    example.contains(&set) || example.contains(&commented),
                    "examples/gate.toml has no `{key}` ({row})"
                );
                keys += 1;
            }
        }
    }
    // Not vacuous: the flag table was found.
    assert!(flags >= 20 && keys >= 20, "{flags} flags, {keys} keys");
}

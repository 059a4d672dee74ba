//! `govid-verifier check` and `govid-verifier qr` run as real processes: the spec vectors,
//! worker IDs issued here (as a compact presentation and as a `GV1:` QR payload), status from
//! Status List Tokens and from an offline trust bundle, and every exit code.

// Tests report failures by panicking with the value that was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use govid_core::credential::{
    issue_worker_id, GateProfile, Organization, StatusListRef, Validity, WorkerClaims,
    WorkerIdParams, WORKER_ID_VCT,
};
use govid_core::jose::{Signer, SoftwareSigner};
use govid_core::sdjwt::{Decoys, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::status::{sign_status_list_token, StatusBits, StatusList, StatusTokenClaims};
use govid_core::trust::{BundleIssuer, PinnedKeys, TrustBundleBuilder};
use serde_json::{json, Value};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "did:web:hr.mot.example";
const AUD: &str = "gate:mot-hq";
const LIST_URI: &str = "https://hr.mot.example/status/1";

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govid-verifier"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run govid-verifier");
    // A process that stops at a usage error may exit before reading stdin: a broken pipe here
    // is expected then, and the exit code below is what the test checks.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("check_cli-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/sd-jwt/spec_examples.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn hr() -> SoftwareSigner {
    SoftwareSigner::Ed25519(ed25519_key(7))
}

fn phone() -> SoftwareSigner {
    SoftwareSigner::Ed25519(ed25519_key(9))
}

fn ed25519_key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

/// A worker ID with status entry `idx`, presented at an entry gate with key binding at `NOW`.
fn presentation(idx: u64) -> String {
    presentation_at(idx, NOW)
}

/// The same, presented (KB-JWT `iat`) at `iat`.
fn presentation_at(idx: u64, iat: u64) -> String {
    presentation_with(Some(StatusListRef::new(idx, LIST_URI)), iat)
}

/// A worker ID with `status` (none: no `status` claim), presented at `iat`.
fn presentation_with(status: Option<StatusListRef>, iat: u64) -> String {
    let mut rng = rand_core::OsRng;
    let claims = WorkerClaims::new(
        "Amira",
        "Haddad",
        "E-10442",
        Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        },
    );
    let holder_key = phone().public_key();
    let params = WorkerIdParams {
        issuer: ISS,
        holder_key: &holder_key,
        validity: Validity {
            issued_at: NOW - 100,
            not_before: NOW - 100,
            expires_at: NOW + 86_400,
        },
        status,
        decoys: Decoys { min: 1, max: 2 },
    };
    let issued = issue_worker_id(&claims, &params, &hr(), &mut rng).unwrap();
    let held = HeldSdJwt::receive(
        &issued.compact(),
        &VerifyPolicy::default(),
        &PinnedKeys::single(hr().public_key()),
        NOW,
    )
    .unwrap();
    let kb = KbRequest {
        aud: AUD.into(),
        nonce: "n0nce-0123456789abcdef".into(),
        iat,
    };
    held.present(&GateProfile::Entry.claims(), Some((&kb, &phone())))
        .unwrap()
}

/// A status list token: index 1 revoked, 2 suspended, issued at `iat`.
fn status_token(uri: &str, iat: u64) -> String {
    let mut list = StatusList::new(StatusBits::TWO, 64).unwrap();
    list.set(1, 1).unwrap();
    list.set(2, 2).unwrap();
    sign_status_list_token(&list, &StatusTokenClaims::new(uri, iat).issuer(ISS), &hr()).unwrap()
}

fn hr_jwk() -> String {
    hr().public_key().to_jwk().to_string()
}

#[test]
fn spec_vector_accepted_with_its_payload_and_rejected_with_its_rule() {
    let v = vectors()
        .into_iter()
        .find(|v| v["verifier"]["require_key_binding"] == true)
        .unwrap();
    let jwk = v["issuer_public_jwk"].to_string();
    let now = v["verifier"]["now"].to_string();
    let aud = v["verifier"]["expected_aud"].as_str().unwrap();
    let nonce = v["verifier"]["expected_nonce"].as_str().unwrap();
    let presentation = v["presentation"].as_str().unwrap();
    let args = [
        "check",
        "--issuer-jwk",
        &jwk,
        "--now",
        &now,
        "--aud",
        aud,
        "--nonce",
        nonce,
        "--require-kb",
    ];
    let out = run(&args, presentation);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let payload: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(payload, v["expected_payload"]);

    let out = run(
        &[
            "check",
            "--issuer-jwk",
            &jwk,
            "--now",
            &now,
            "--aud",
            "https://elsewhere.example",
            "--require-kb",
        ],
        presentation,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("kb_aud: "), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["check"], "x");
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["check", "--issuer-jwk", &hr_jwk(), "--require-kb"], "x");
    assert_eq!(out.status.code(), Some(2), "--require-kb needs --aud");
    let out = run(&["check", "--issuer-jwk", "{\"kty\":\"RSA\"}"], "x");
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["check", "--issuer-jwk", "/nonexistent/jwk.json"], "x");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn jsonl_answers_every_line_in_order() {
    let mut input = String::new();
    let vectors = vectors();
    for v in &vectors {
        let line = json!({"presentation": v["presentation"], "issuer_public_jwk": v["issuer_public_jwk"], "verifier": v["verifier"]});
        input.push_str(&format!("{line}\n"));
    }
    input.push_str("not json\n");
    let mut tampered = json!({"presentation": vectors[1]["presentation"], "issuer_public_jwk": vectors[1]["issuer_public_jwk"], "verifier": vectors[1]["verifier"]});
    tampered["verifier"]["expected_nonce"] = json!("other");
    input.push_str(&format!("{tampered}\n"));
    let out = run(&["check", "--jsonl"], &input);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), vectors.len() + 2);
    for (line, v) in lines.iter().zip(&vectors) {
        assert_eq!(line["ok"], true, "{}", v["id"]);
        assert_eq!(line["payload"], v["expected_payload"], "{}", v["id"]);
    }
    assert_eq!(
        lines[vectors.len()],
        json!({"ok": false, "error": "bad_input"})
    );
    assert_eq!(
        lines[vectors.len() + 1],
        json!({"ok": false, "error": "kb_nonce"})
    );
}

#[test]
fn qr_payload_on_stdin_verifies_like_the_compact_form() {
    let compact = presentation(0);
    let now = NOW.to_string();
    let jwk = hr_jwk();
    let args = [
        "check",
        "--issuer-jwk",
        &jwk,
        "--now",
        &now,
        "--aud",
        AUD,
        "--sd-jwt-vc",
    ];
    let plain = run(&args, &compact);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));

    let encoded = run(&["qr", "encode"], &compact);
    assert_eq!(encoded.status.code(), Some(0), "{}", stderr(&encoded));
    let payload = String::from_utf8(encoded.stdout.clone()).unwrap();
    assert!(payload.starts_with("GV1:"));
    assert!(
        stderr(&encoded).contains("QR version"),
        "{}",
        stderr(&encoded)
    );
    let via_qr = run(&args, &payload);
    assert_eq!(via_qr.status.code(), Some(0), "{}", stderr(&via_qr));
    assert_eq!(via_qr.stdout, plain.stdout);

    let decoded = run(&["qr", "decode"], &payload);
    assert_eq!(
        String::from_utf8(decoded.stdout).unwrap().trim_end(),
        compact
    );

    let out = run(&args, "GV1:not*base45");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("bad_qr: "), "{}", stderr(&out));
}

#[test]
fn qr_encode_writes_png_and_svg() {
    let d = dir("qr-images");
    let (png, svg) = (d.join("gate.png"), d.join("gate.svg"));
    let out = run(
        &[
            "qr",
            "encode",
            "--png",
            png.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ],
        &presentation(0),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG\r\n"));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let bad = run(&["qr", "decode"], "HC1:6BFOXN");
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).starts_with("bad_qr: "));
}

#[test]
fn status_tokens_decide_revoked_suspended_stale_and_unknown() {
    let d = dir("status");
    let fresh = d.join("fresh.jwt");
    std::fs::write(&fresh, status_token(LIST_URI, NOW - 60)).unwrap();
    let stale = d.join("stale.jwt");
    std::fs::write(&stale, status_token(LIST_URI, NOW - 10 * 86_400)).unwrap();
    let other = d.join("other.jwt");
    std::fs::write(
        &other,
        status_token("https://hr.mot.example/status/2", NOW - 60),
    )
    .unwrap();
    let (now, jwk) = (NOW.to_string(), hr_jwk());
    let check = |idx: u64, token: &PathBuf| {
        run(
            &[
                "check",
                "--issuer-jwk",
                &jwk,
                "--now",
                &now,
                "--aud",
                AUD,
                "--status-token",
                other.to_str().unwrap(),
                "--status-token",
                token.to_str().unwrap(),
            ],
            &presentation(idx),
        )
    };
    let ok = check(0, &fresh);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    for (idx, token, rule) in [
        (1, &fresh, "revoked"),
        (2, &fresh, "suspended"),
        (0, &stale, "status_unknown"),
        (0, &other, "status_unknown"),
        (999, &fresh, "status_index_out_of_range"),
    ] {
        let out = check(idx, token);
        assert_eq!(out.status.code(), Some(1), "idx {idx}");
        assert!(
            stderr(&out).starts_with(&format!("{rule}: ")),
            "idx {idx}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_credential_without_status_is_rejected_unless_require_status_is_false() {
    let d = dir("require-status");
    let fresh = d.join("fresh.jwt");
    std::fs::write(&fresh, status_token(LIST_URI, NOW - 60)).unwrap();
    let (now, jwk) = (NOW.to_string(), hr_jwk());
    let check = |presentation: &str, extra: &[&str]| {
        let mut args = vec![
            "check",
            "--issuer-jwk",
            &jwk,
            "--now",
            &now,
            "--aud",
            AUD,
            "--status-token",
            fresh.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args, presentation)
    };
    let unlisted = presentation_with(None, NOW);
    let out = check(&unlisted, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("status_claim_missing: "),
        "{}",
        stderr(&out)
    );
    let out = check(&unlisted, &["--require-status", "true"]);
    assert!(stderr(&out).starts_with("status_claim_missing: "));
    let out = check(&unlisted, &["--require-status=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let payload: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(payload["iss"], ISS);
    assert!(payload.get("status").is_none());
    // A credential with a `status` claim is still checked.
    let out = check(&presentation(1), &["--require-status=false"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("revoked: "), "{}", stderr(&out));
    let out = check(&presentation(0), &["--require-status=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = check(&unlisted, &["--require-status=maybe"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn two_issuer_keys_without_a_kid_are_each_tried_and_can_be_bound_to_an_issuer() {
    // Regression: two pinned keys of one type and a credential without `kid` were refused
    // `unknown_issuer_key` (and `check` took only one key).
    let d = dir("two-keys");
    let other = SoftwareSigner::Ed25519(ed25519_key(11));
    let (hr_file, other_file) = (d.join("hr.jwk"), d.join("other.jwk"));
    std::fs::write(&hr_file, hr_jwk()).unwrap();
    std::fs::write(&other_file, other.public_key().to_jwk().to_string()).unwrap();
    let (hr_path, other_path) = (hr_file.to_str().unwrap(), other_file.to_str().unwrap());
    let now = NOW.to_string();
    let check = |keys: &[String]| {
        let mut args = vec!["check".to_owned(), "--now".into(), now.clone()];
        for key in keys {
            args.extend(["--issuer-jwk".to_owned(), key.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, &presentation(0))
    };
    let ok = |out: Output| assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fails = |out: Output, rule: &str| {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).starts_with(&format!("{rule}: ")),
            "{}",
            stderr(&out)
        );
    };
    ok(check(&[other_path.into(), hr_path.into()]));
    ok(check(&[
        format!("{ISS}={other_path}"),
        format!("{ISS}={hr_path}"),
    ]));
    // Bound to another issuer, the signing key is no candidate.
    fails(
        check(&[
            format!("{ISS}={other_path}"),
            format!("did:web:else.example={hr_path}"),
        ]),
        "bad_signature",
    );
    fails(
        check(&[format!("did:web:else.example={hr_path}")]),
        "untrusted_issuer",
    );
    // --trust-jwk is the same option, as in `serve`; inline JSON takes an issuer too.
    let out = run(
        &[
            "check",
            "--now",
            &now,
            "--trust-jwk",
            other_path,
            "--trust-jwk",
            &format!("{ISS}={}", hr_jwk()),
        ],
        &presentation(0),
    );
    ok(out);

    // A JWK Set whose keys carry their issuer.
    let with_iss = |signer: &SoftwareSigner, iss: &str| {
        let mut jwk = signer.public_key().to_jwk();
        jwk["iss"] = json!(iss);
        jwk
    };
    let set = d.join("keys.jwks");
    std::fs::write(
        &set,
        json!({"keys": [with_iss(&other, ISS), with_iss(&hr(), ISS)]}).to_string(),
    )
    .unwrap();
    ok(check(&[set.to_str().unwrap().into()]));
    ok(check(&[format!("{ISS}={}", set.to_str().unwrap())]));
    let misbound = d.join("misbound.jwks");
    std::fs::write(
        &misbound,
        json!({"keys": [with_iss(&other, ISS), with_iss(&hr(), "did:web:else.example")]})
            .to_string(),
    )
    .unwrap();
    fails(check(&[misbound.to_str().unwrap().into()]), "bad_signature");
    // A set pinned for ISS whose key names another issuer is a usage error.
    let out = check(&[format!("{ISS}={}", misbound.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not the issuer the file is pinned for"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn trust_bundle_supplies_issuer_keys_and_status() {
    let d = dir("bundle");
    let operator = SoftwareSigner::Ed25519(ed25519_key(1));
    let make = |vct: &str| {
        let issuer = BundleIssuer::new(ISS, "MOT HR")
            .key(hr().public_key(), None)
            .vct(vct)
            .status_list(LIST_URI, status_token(LIST_URI, NOW - 60));
        TrustBundleBuilder::new(1, NOW - 30, 3600)
            .issuer(issuer)
            .sign(&operator)
            .unwrap()
    };
    let good = d.join("bundle.jwt");
    std::fs::write(&good, make(WORKER_ID_VCT)).unwrap();
    let wrong_vct = d.join("bundle-other-vct.jwt");
    std::fs::write(&wrong_vct, make("https://other.example/vct")).unwrap();
    let op = operator.public_key().to_jwk().to_string();
    let now = NOW.to_string();
    let check = |bundle: &PathBuf, idx: u64, now: &str| {
        run(
            &[
                "check",
                "--trust-bundle",
                bundle.to_str().unwrap(),
                "--operator-jwk",
                &op,
                "--now",
                now,
                "--aud",
                AUD,
            ],
            &presentation_at(idx, now.parse().unwrap()),
        )
    };
    let ok = check(&good, 0, &now);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let revoked = check(&good, 1, &now);
    assert!(
        stderr(&revoked).starts_with("revoked: "),
        "{}",
        stderr(&revoked)
    );
    let vct = check(&wrong_vct, 0, &now);
    assert!(
        stderr(&vct).starts_with("vct_not_allowed: "),
        "{}",
        stderr(&vct)
    );
    // Beyond the bundle's max_staleness (3600 s after the list's iat) the status is unknown.
    let later = (NOW + 4000).to_string();
    let stale = check(&good, 0, &later);
    assert!(
        stderr(&stale).starts_with("status_unknown: "),
        "{}",
        stderr(&stale)
    );
    // A bundle signed by someone else is refused before anything is checked.
    let wrong_op = SoftwareSigner::Ed25519(ed25519_key(2))
        .public_key()
        .to_jwk()
        .to_string();
    let out = run(
        &[
            "check",
            "--trust-bundle",
            good.to_str().unwrap(),
            "--operator-jwk",
            &wrong_op,
            "--now",
            &now,
        ],
        &presentation(0),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bundle_signature"),
        "{}",
        stderr(&out)
    );
}

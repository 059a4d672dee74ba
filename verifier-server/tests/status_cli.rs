//! `govid-verifier status` run as a real process on token files made here.

// Tests report failures by panicking with the value that was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use govid_core::jose::{Signer, SoftwareSigner};
use govid_core::status::{sign_status_list_token, StatusBits, StatusList, StatusTokenClaims};
use serde_json::json;

const URI: &str = "https://hr.example/status/1";
const IAT: u64 = 1_767_225_600;
const EXP: u64 = IAT + 86_400;

/// The RFC 8037 Appendix A.1 Ed25519 key.
fn issuer() -> SoftwareSigner {
    SoftwareSigner::from_private_jwk(&json!({"kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}))
    .expect("key")
}

/// A fresh directory for one test's files.
fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("status_cli-{name}"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir
}

/// Writes a 2-bit, 16-entry token: 0 VALID, 1 INVALID, 2 SUSPENDED, 3 = 0x03.
fn token_file(dir: &Path, claims: &StatusTokenClaims) -> PathBuf {
    let mut list = StatusList::new(StatusBits::TWO, 16).expect("list");
    for (idx, value) in [(1, 1), (2, 2), (3, 3)] {
        list.set(idx, value).expect("set");
    }
    let token = sign_status_list_token(&list, claims, &issuer()).expect("sign");
    let path = dir.join("token.jwt");
    std::fs::write(&path, format!("{token}\n")).expect("write token");
    path
}

fn jwk() -> String {
    issuer().public_key().to_jwk().to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govid-verifier"))
        .arg("status")
        .args(args)
        .output()
        .expect("run govid-verifier")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts exit 1 with exactly one stderr line naming `rule`, and nothing on stdout.
fn assert_rule(out: &Output, rule: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("error: {rule}: ")), "{err}");
    assert!(stdout(out).is_empty());
}

#[test]
fn prints_each_status() {
    let dir = dir("each");
    let token = token_file(&dir, &StatusTokenClaims::new(URI, IAT).expires_at(EXP));
    let token = token.to_str().expect("utf-8 path");
    let jwk_path = dir.join("issuer.jwk");
    std::fs::write(&jwk_path, jwk()).expect("write jwk");
    let now = (IAT + 60).to_string();
    for (index, expected) in [
        ("0", "VALID"),
        ("1", "INVALID"),
        ("2", "SUSPENDED"),
        ("3", "0x03"),
    ] {
        for key in [jwk(), jwk_path.to_str().expect("utf-8").to_owned()] {
            let out = run(&[
                "--token",
                token,
                "--issuer-jwk",
                &key,
                "--uri",
                URI,
                "--index",
                index,
                "--now",
                &now,
            ]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert_eq!(stdout(&out), format!("{expected}\n"));
            assert!(stderr(&out).is_empty());
        }
    }
}

#[test]
fn uses_the_system_clock_without_now() {
    let dir = dir("clock");
    // No exp: valid whenever the clock is after iat.
    let token = token_file(&dir, &StatusTokenClaims::new(URI, IAT));
    let out = run(&[
        "--token",
        token.to_str().expect("utf-8"),
        "--issuer-jwk",
        &jwk(),
        "--uri",
        URI,
        "--index",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "INVALID\n");
    // Expired long ago by the system clock.
    let token = token_file(&dir, &StatusTokenClaims::new(URI, 1000).expires_at(2000));
    let out = run(&[
        "--token",
        token.to_str().expect("utf-8"),
        "--issuer-jwk",
        &jwk(),
        "--uri",
        URI,
        "--index",
        "1",
    ]);
    assert_rule(&out, "status_token_expired");
}

#[test]
fn bad_tokens_and_indices_exit_1_naming_the_rule() {
    let dir = dir("rules");
    let token = token_file(&dir, &StatusTokenClaims::new(URI, IAT).expires_at(EXP));
    let token = token.to_str().expect("utf-8");
    let now = (IAT + 60).to_string();
    let base = |index: &str, uri: &str, now: &str, key: &str| {
        run(&[
            "--token",
            token,
            "--issuer-jwk",
            key,
            "--uri",
            uri,
            "--index",
            index,
            "--now",
            now,
        ])
    };
    let key = jwk();
    assert_rule(&base("16", URI, &now, &key), "status_index_out_of_range");
    assert_rule(
        &base("18446744073709551615", URI, &now, &key),
        "status_index_out_of_range",
    );
    assert_rule(
        &base("0", "https://hr.example/status/2", &now, &key),
        "status_token_sub",
    );
    assert_rule(
        &base("0", URI, &EXP.to_string(), &key),
        "status_token_expired",
    );
    assert_rule(&base("0", URI, "1000", &key), "status_token_iat_future");
    // Another issuer's key (the draft's example P-256 key).
    let stranger = json!({"kty": "EC", "crv": "P-256",
        "x": "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo",
        "y": "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M"})
    .to_string();
    assert_rule(&base("0", URI, &now, &stranger), "status_token_signature");
    let garbage = dir.join("garbage.jwt");
    std::fs::write(&garbage, "not a token").expect("write");
    let out = run(&[
        "--token",
        garbage.to_str().expect("utf-8"),
        "--issuer-jwk",
        &key,
        "--uri",
        URI,
        "--index",
        "0",
        "--now",
        &now,
    ]);
    assert_rule(&out, "status_token_malformed");
}

#[test]
fn usage_errors_exit_2() {
    let dir = dir("usage");
    let token = token_file(&dir, &StatusTokenClaims::new(URI, IAT));
    let token = token.to_str().expect("utf-8");
    let key = jwk();
    for args in [
        vec!["--token", token, "--issuer-jwk", &key, "--index", "0"],
        vec![
            "--token",
            token,
            "--issuer-jwk",
            &key,
            "--uri",
            URI,
            "--index",
            "x",
        ],
        vec![
            "--token",
            token,
            "--issuer-jwk",
            &key,
            "--uri",
            URI,
            "--index",
            "-1",
        ],
        vec![
            "--token",
            token,
            "--issuer-jwk",
            &key,
            "--uri",
            URI,
            "--index",
            "0",
            "--now",
            "soon",
        ],
        vec![
            "--token",
            "/nonexistent/token.jwt",
            "--issuer-jwk",
            &key,
            "--uri",
            URI,
            "--index",
            "0",
        ],
        vec![
            "--token",
            token,
            "--issuer-jwk",
            "/nonexistent/key.jwk",
            "--uri",
            URI,
            "--index",
            "0",
        ],
        vec![
            "--token",
            token,
            "--issuer-jwk",
            "{\"kty\":\"RSA\"}",
            "--uri",
            URI,
            "--index",
            "0",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

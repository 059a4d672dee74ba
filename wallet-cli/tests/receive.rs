//! `govid-wallet` against a real `govid-issuer serve` on loopback: receiving over OpenID4VCI
//! with the right and a wrong PIN, from a trusted and an untrusted issuer; listing; the gate
//! code it shows, read back from its PNG by zbarimg and accepted by `govid-verifier check`;
//! answering a gate challenge; the exit codes README.md documents.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{sibling_bin, texts, Hr, WalletDir, AUD, DID};
use govid_core::qr::{encode_challenge, GateChallenge};

/// `receive OFFER --pin PIN`, trusting HR's JWK Set first.
fn receive_trusting(hr: &Hr, wallet: &WalletDir, uri: &str, pin: &str) -> std::process::Output {
    let jwks = hr.jwks();
    wallet.run(&[
        "receive",
        uri,
        "--pin",
        pin,
        "--trust-jwks",
        jwks.to_str().unwrap(),
        "--issuer",
        DID,
    ])
}

/// A PIN that is not `pin` (same length).
fn wrong(pin: &str) -> String {
    let n: u32 = pin.parse().unwrap();
    format!(
        "{:0width$}",
        (n + 1) % 10u32.pow(pin.len() as u32),
        width = pin.len()
    )
}

/// What zbarimg reads from a PNG (QR codes only).
fn zbarimg(png: &std::path::Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .arg(png)
        .output()
        .expect("zbarimg (zbar-tools) is needed by this test");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `govid-verifier check` of a scanned payload with the issuer's JWK Set and the gate audience.
fn verifier_check(hr: &Hr, payload: &str) -> (bool, String, String) {
    let mut check = Command::new(sibling_bin("govid-verifier"))
        .args([
            "check",
            "--sd-jwt-vc",
            "--aud",
            AUD,
            "--require-status",
            "false",
            "--issuer-jwk",
        ])
        .arg(hr.jwks())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    let (stdout, stderr) = texts(&out);
    (out.status.success(), stdout, stderr)
}

#[test]
fn the_right_pin_receives_both_ids_which_list_shows_and_show_png_passes_the_gate_check() {
    let hr = Hr::start();
    let (uri, pin) = hr.offer("MOT-0001");
    let wallet = WalletDir::new();
    let out = receive_trusting(&hr, &wallet, &uri, &pin);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("received over OpenID4VCI from Wallet Test HR: worker ID "),
        "{stdout}"
    );
    assert!(stdout.contains(", gate pass "), "{stdout}");
    assert!(
        !stdout.contains(&pin) && !stderr.contains(&pin),
        "the PIN was printed"
    );

    let out = wallet.run(&["list"]);
    let (stdout, _) = texts(&out);
    assert!(out.status.success());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].contains("worker ID") && lines[0].contains("Amira Haddad  MOT-0001"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("gate pass") && lines[1].contains("Amira Haddad"),
        "{stdout}"
    );

    let png = wallet.0.path().join("code.png");
    let out = wallet.run(&[
        "show",
        "--aud",
        AUD,
        "--once",
        "--png",
        png.to_str().unwrap(),
    ]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    // Drawn with half blocks, and says which credential it shows.
    assert!(stdout.contains('▀') && stdout.contains('▄'), "{stdout}");
    assert!(
        stdout.trim_end().ends_with(&format!("gate pass for {AUD}")),
        "{stdout}"
    );
    let scanned = zbarimg(&png);
    assert!(scanned.starts_with("GV1:"), "zbarimg read {scanned:?}");
    let (ok, payload, err) = verifier_check(&hr, &scanned);
    assert!(ok, "govid-verifier check refused the code: {err}");
    assert!(payload.contains("\"family_name\":\"Haddad\""), "{payload}");

    // The same code for another gate is refused there.
    let out = wallet.run(&[
        "show",
        "--aud",
        "https://gates.other.example/",
        "--once",
        "--text",
    ]);
    let (other, _) = texts(&out);
    let (ok, _, err) = verifier_check(&hr, other.trim());
    assert!(!ok, "a code for another gate was accepted");
    assert!(err.starts_with("kb_"), "{err}");
}

#[test]
fn a_wrong_pin_exits_3_saying_how_many_tries_are_left_and_the_offer_still_works() {
    let hr = Hr::start();
    let (uri, pin) = hr.offer("MOT-0002");
    let wallet = WalletDir::new();
    let bad = wrong(&pin);
    let out = receive_trusting(&hr, &wallet, &uri, &bad);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains("wrong PIN: 4 tries left before the offer ends"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&bad) && !stdout.contains(&bad),
        "the PIN was printed"
    );
    assert!(texts(&wallet.run(&["list"])).0.starts_with("no IDs yet"));

    let out = wallet.run(&["receive", &uri, "--pin", &pin]);
    assert!(out.status.success(), "{}", texts(&out).1);
    // Used: another wallet gets exit 4.
    let other = WalletDir::new();
    let out = receive_trusting(&hr, &other, &uri, &pin);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("the offer is no longer valid"), "{stderr}");
    assert!(stderr.contains("ask HR for a new"), "{stderr}");
}

#[test]
fn an_untrusted_issuer_exits_5_naming_it_and_nothing_is_stored() {
    let hr = Hr::start();
    let (uri, pin) = hr.offer("MOT-0003");
    let wallet = WalletDir::new();
    let out = wallet.run(&["receive", &uri, "--pin", &pin]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "issuer not trusted: {}. Nothing was stored.",
            hr.url
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("--trust-jwks FILE|URL --issuer ISS"),
        "{stderr}"
    );
    assert!(texts(&wallet.run(&["list"])).0.starts_with("no IDs yet"));

    // Trusting another issuer's keys for that DID does not help: the credential's `iss` is named.
    let other = tempfile::TempDir::new().unwrap();
    let stranger = sibling_bin("govid-issuer");
    let init = Command::new(&stranger)
        .arg("--dir")
        .arg(other.path().join("i"))
        .args([
            "--json",
            "init",
            "--name",
            "Stranger",
            "--did-web",
            "stranger.example",
        ])
        .output()
        .unwrap();
    assert!(init.status.success());
    let jwks = other.path().join("i/public/jwks.json");
    let out = wallet.run(&["trust", "jwks", jwks.to_str().unwrap(), "--issuer", DID]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let out = wallet.run(&["receive", &uri, "--pin", &pin]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains(&format!("issuer not trusted: {DID}.")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("trust jwks FILE|URL --issuer {DID}")),
        "{stderr}"
    );
    assert!(texts(&wallet.run(&["list"])).0.starts_with("no IDs yet"));

    // The wallet redeemed the offer before it saw whose key signed the IDs: that offer is used.
    // With HR's keys trusted, a new offer works.
    let out = wallet.run(&[
        "trust",
        "jwks",
        hr.jwks().to_str().unwrap(),
        "--issuer",
        DID,
    ]);
    assert!(out.status.success());
    let (uri, pin) = hr.offer("MOT-0003");
    let out = wallet.run(&["receive", &uri, "--pin", &pin]);
    assert!(out.status.success(), "{}", texts(&out).1);
}

#[test]
fn an_answer_to_a_gate_challenge_discloses_what_it_asks_bound_to_its_nonce() {
    let hr = Hr::start();
    let (uri, pin) = hr.offer("MOT-0001");
    let wallet = WalletDir::new();
    assert!(receive_trusting(&hr, &wallet, &uri, &pin).status.success());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let challenge = encode_challenge(&GateChallenge {
        aud: AUD.to_owned(),
        nonce: "n0nce-from-the-gate-0123456789".to_owned(),
        claims: vec!["given_name".into(), "position".into()],
        exp: now + 120,
        v: 1,
    })
    .unwrap();
    let png = wallet.0.path().join("answer.png");
    let out = wallet.run(&["answer", &challenge, "--png", png.to_str().unwrap()]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{AUD} asks for: given_name, position")),
        "{stderr}"
    );
    // `position` is on the worker ID only.
    assert!(
        stdout.trim_end().ends_with(&format!("worker ID for {AUD}")),
        "{stdout}"
    );
    let (ok, payload, err) = verifier_check(&hr, &zbarimg(&png));
    assert!(ok, "{err}");
    assert!(payload.contains("\"position\""), "{payload}");

    let out = wallet.run(&["answer", "GVC1:NOT-A-CHALLENGE"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("gate challenge refused"), "{stderr}");
}

#[test]
fn no_answer_from_the_network_exits_6() {
    // Nothing listens on port 9 of loopback (discard): the connection is refused.
    let uri =
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A9%2Foffers%2Fx";
    let out = WalletDir::new().run(&["receive", uri, "--pin", "123456"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.starts_with("govid-wallet: network: "), "{stderr}");
}

#[test]
fn a_wrong_passphrase_exits_7_and_show_without_ids_exits_8() {
    let wallet = WalletDir::new();
    let out = wallet.run(&["show", "--aud", AUD, "--once"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(stderr.contains("the wallet holds no ID"), "{stderr}");
    let out = wallet.run_with("not the passphrase", &["list"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "govid-wallet: wrong passphrase: it does not open this wallet's key store"
    );
    assert!(!stderr.contains("not the passphrase"));
}

//! The whole HR flow through the real binary: init → import → offer → enroll → issue → verify
//! (core verifier and `govid-verifier check`) → revoke → publish → the token says INVALID.

mod common;

use common::*;
use govid_core::credential::{gate_policy, GateProfile, WorkerView};
use govid_core::jose::{Algorithm, PublicKey, Signer};
use govid_core::sdjwt::{verify, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::{PinnedKeys, TrustBundle};
use serde_json::Value;

#[test]
fn hr_flow_from_init_to_published_revocation() {
    let env = Env::new();
    let init = env
        .run(&[
            "--json",
            "init",
            "--name",
            "Ministry of Transport HR Office",
            "--did-web",
            "hr.mot.example",
        ])
        .assert_ok()
        .json();
    assert_eq!(init["did"], "did:web:hr.mot.example");
    assert_eq!(init["kid"], "did:web:hr.mot.example#key-1");
    assert_eq!(init["status_base_url"], "https://hr.mot.example/status");

    let roster = sample_roster();
    let import = env
        .run(&[
            "--json",
            "staff",
            "import",
            roster.to_str().unwrap_or_default(),
        ])
        .assert_ok()
        .json();
    assert_eq!(import["added"], 20);
    let list = env.run(&["--json", "staff", "list"]).assert_ok().json();
    assert_eq!(list["staff"].as_array().map(Vec::len), Some(20));
    let shown = env.run(&["staff", "show", "MOT-0008"]).assert_ok();
    assert!(
        shown.stdout.contains("陽翔 田中 (MOT-0008)"),
        "{}",
        shown.stdout
    );

    // Offer everyone; QR PNGs are written; the code is never stored in clear.
    let offers = env.run(&["--json", "offer", "--all"]).assert_ok().json();
    let offers = offers["offers"].as_array().cloned().unwrap_or_default();
    assert_eq!(offers.len(), 20);
    let png = std::path::PathBuf::from(offers[0]["qr_png"].as_str().unwrap_or_default());
    assert!(ok(std::fs::read(&png)).starts_with(b"\x89PNG"));
    let stored = env.database_text();
    let code = offers[0]["code"].as_str().unwrap_or_default().to_owned();
    let normalized = code.replace('-', "");
    assert!(stored.contains("MOT-0001"), "the dump holds the rows");
    assert!(!stored.contains(&normalized));

    // Three phones enroll (one with a P-256 key); the others do not.
    let mut phones = Vec::new();
    for (i, alg) in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::EdDSA]
        .into_iter()
        .enumerate()
    {
        let offer = govid_core::enrollment::EnrollmentOffer::parse(
            offers[i]["payload"].as_str().unwrap_or_default(),
        );
        let offer = ok(offer);
        let (phone, proof) = env.phone_proof(&offer, alg, now());
        let enrolled = env
            .run(&[
                "--json",
                "enroll",
                "--proof",
                proof.to_str().unwrap_or_default(),
            ])
            .assert_ok()
            .json();
        let n = offers[i]["employee_number"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(enrolled["employee_number"], n.as_str());
        phones.push((n, phone));
    }

    let out = env.path("ids");
    let issued = env
        .run(&[
            "--json",
            "issue",
            "--all",
            "--out",
            out.to_str().unwrap_or_default(),
        ])
        .assert_ok()
        .json();
    assert_eq!(issued["issued"], 3);
    assert_eq!(issued["not_enrolled"], 17);

    // Every credential verifies with core, as a holder receives it and at a gate with KB.
    let keys = env.issuer_keys();
    let pinned = PinnedKeys::single(keys[0].1.clone());
    let now = now();
    let mut status_of = std::collections::HashMap::new();
    for (n, phone) in &phones {
        let text = ok(std::fs::read_to_string(out.join(format!("{n}.sd-jwt"))));
        let policy = VerifyPolicy {
            sd_jwt_vc: true,
            ..VerifyPolicy::default()
        };
        let held = ok(HeldSdJwt::receive(&text, &policy, &pinned, now));
        let view = WorkerView::from_payload(held.claims());
        assert_eq!(view.employee_number.as_deref(), Some(n.as_str()));
        assert_eq!(view.issuer.as_deref(), Some("did:web:hr.mot.example"));
        assert_eq!(view.organization_code.as_deref(), Some("MOT"));
        let status = ok(view.status.ok_or("no status"));
        assert_eq!(status.uri, "https://hr.mot.example/status/1");
        status_of.insert(n.clone(), status.idx);
        assert_eq!(held.claims()["cnf"]["jwk"], phone.public_key().to_jwk());

        let request = KbRequest {
            aud: "gate-7".to_owned(),
            nonce: "n-123".to_owned(),
            iat: now,
        };
        let presentation = ok(held.present(&GateProfile::Entry.claims(), Some((&request, phone))));
        let verified = ok(verify(
            &presentation,
            &gate_policy("gate-7", Some("n-123".to_owned()), &GateProfile::Entry),
            &pinned,
            now,
        ));
        assert!(
            verified.payload.get("birthdate").is_none(),
            "entry gate sees no birth date"
        );

        {
            let verifier = verifier_bin();
            let jwk = keys[0].1.to_jwk().to_string();
            let (code, stdout, stderr) = verifier_check(&verifier, &["--issuer-jwk", &jwk], &text);
            assert_eq!(code, 0, "{stderr}");
            let payload: Value = ok(serde_json::from_str(&stdout));
            assert_eq!(payload["employee_number"], n.as_str());
        }
    }
    // Indices are distinct.
    let mut idxs: Vec<u64> = status_of.values().copied().collect();
    idxs.sort_unstable();
    idxs.dedup();
    assert_eq!(idxs.len(), 3);

    // Re-running issue --all issues nothing new.
    let again = env
        .run(&[
            "--json",
            "issue",
            "--all",
            "--out",
            out.to_str().unwrap_or_default(),
        ])
        .assert_ok()
        .json();
    assert_eq!(again["issued"], 0);

    // Revoke one, suspend another, publish.
    let (revoked, _) = &phones[0];
    let (suspended, _) = &phones[1];
    env.run(&["revoke", revoked, "--reason", "left the ministry"])
        .assert_ok();
    env.run(&["suspend", suspended]).assert_ok();
    let web = env.path("web");
    let published = env
        .run(&[
            "--json",
            "publish",
            "--out",
            web.to_str().unwrap_or_default(),
        ])
        .assert_ok()
        .json();
    assert_eq!(published["trust_bundle_seq"], 1);
    let token = ok(std::fs::read_to_string(web.join("status/1")));
    let header: Value = ok(serde_json::from_slice(
        &govid_core::b64::decode(token.split('.').next().unwrap_or_default()).unwrap_or_default(),
    ));
    assert_eq!(header["typ"], "statuslist+jwt");
    assert_eq!(header["kid"], "did:web:hr.mot.example#key-1");
    let uri = "https://hr.mot.example/status/1";
    let key = &keys[0].1;
    assert_eq!(
        status_in_token(&token, key, uri, status_of[revoked]),
        1,
        "revoked → INVALID"
    );
    assert_eq!(
        status_in_token(&token, key, uri, status_of[suspended]),
        2,
        "suspended → SUSPENDED"
    );
    assert_eq!(
        status_in_token(&token, key, uri, status_of[&phones[2].0]),
        0,
        "others VALID"
    );
    {
        let verifier = verifier_bin();
        let jwk = key.to_jwk().to_string();
        for (n, expected) in [
            (revoked, "INVALID"),
            (suspended, "SUSPENDED"),
            (&phones[2].0, "VALID"),
        ] {
            let out = ok(std::process::Command::new(&verifier)
                .args(["status", "--token"])
                .arg(web.join("status/1"))
                .args([
                    "--issuer-jwk",
                    &jwk,
                    "--uri",
                    uri,
                    "--index",
                    &status_of[n].to_string(),
                ])
                .output());
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
        }
    }

    // The trust bundle loads with the operator key gates pin, and carries the same status.
    let operator = ok(PublicKey::from_jwk_str(&ok(std::fs::read_to_string(
        web.join("operator.jwk"),
    ))));
    let bundle = ok(TrustBundle::load(
        &ok(std::fs::read_to_string(web.join("trust-bundle.jwt"))),
        &operator,
        None,
    ));
    assert_eq!(bundle.seq(), 1);
    assert_eq!(bundle.max_staleness(), 86_400);
    {
        let verifier = verifier_bin();
        // A gate offline: only the trust bundle and the pinned operator key.
        let (bundle, operator) = (web.join("trust-bundle.jwt"), web.join("operator.jwk"));
        let args = [
            "--trust-bundle",
            bundle.to_str().unwrap_or_default(),
            "--operator-jwk",
            operator.to_str().unwrap_or_default(),
        ];
        for (n, accepted) in [(revoked, false), (suspended, false), (&phones[2].0, true)] {
            let text = ok(std::fs::read_to_string(out.join(format!("{n}.sd-jwt"))));
            let (code, _, stderr) = verifier_check(&verifier, &args, &text);
            assert_eq!(code == 0, accepted, "{n}: {stderr}");
        }
    }
    assert!(web.join(".well-known/did.json").is_file());
    assert!(web.join(".well-known/jwks.json").is_file());
    assert!(web.join("trust-bundle.jwt").is_file());
    let doc: Value = ok(serde_json::from_str(&ok(std::fs::read_to_string(
        web.join(".well-known/did.json"),
    ))));
    assert_eq!(doc["id"], "did:web:hr.mot.example");
    assert_eq!(doc["assertionMethod"][0], "did:web:hr.mot.example#key-1");

    // Reinstating the suspended one publishes VALID again; the revoked one cannot come back.
    env.run(&["reinstate", suspended]).assert_ok();
    env.run(&["reinstate", revoked])
        .assert_fails_with("revocation is final");
    env.run(&["publish", "--out", web.to_str().unwrap_or_default()])
        .assert_ok();
    let token = ok(std::fs::read_to_string(web.join("status/1")));
    assert_eq!(status_in_token(&token, key, uri, status_of[suspended]), 0);
    assert_eq!(status_in_token(&token, key, uri, status_of[revoked]), 1);
    let bundle_text = ok(std::fs::read_to_string(web.join("trust-bundle.jwt")));
    let reloaded = ok(TrustBundle::load(&bundle_text, &operator, Some(1)));
    assert_eq!(reloaded.seq(), 2, "each publish takes the next seq");

    env.run(&["audit", "verify"]).assert_ok();
}

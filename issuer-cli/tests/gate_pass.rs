//! The gate pass `issue` writes beside each worker ID: its file and JSON line, that it verifies
//! with `govid-verifier check` as a gate pass, and that revoking the person invalidates it after
//! `publish`. Also: the status list URI in issued credentials is where `publish` writes the list,
//! and a schema-1 database (IDs without gate passes) is upgraded in place.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use govid_core::credential::{WorkerView, GATE_PASS_VCT, WORKER_ID_VCT};
use govid_core::jose::{PublicKey, Signer};
use govid_core::sdjwt::{HeldSdJwt, VerifyPolicy};
use govid_core::trust::{PinnedKeys, TrustBundle};
use serde_json::Value;

fn hex_sha256(bytes: impl AsRef<[u8]>) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The credential as a holder receives it, checked with the issuer key.
fn receive(text: &str, key: &PublicKey) -> WorkerView {
    let policy = VerifyPolicy {
        sd_jwt_vc: true,
        ..VerifyPolicy::default()
    };
    let held = ok(HeldSdJwt::receive(
        text,
        &policy,
        &PinnedKeys::single(key.clone()),
        now(),
    ));
    WorkerView::from_payload(held.claims())
}

fn read(path: &Path) -> String {
    ok(std::fs::read_to_string(path))
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

#[test]
fn issue_writes_a_gate_pass_that_verifies_and_is_revoked_with_the_worker_id() {
    let env = Env::new();
    env.init();
    env.run(&["staff", "import", s(&sample_roster())])
        .assert_ok();
    let phones = [
        ("MOT-0001", env.enroll("MOT-0001")),
        ("MOT-0002", env.enroll("MOT-0002")),
    ];
    let out = env.path("ids");
    let issued = env
        .run(&["--json", "issue", "--all", "--out", s(&out)])
        .assert_ok()
        .json();
    assert_eq!(issued["issued"], 2);

    let key = env.issuer_keys()[0].1.clone();
    let mut idx_of = std::collections::HashMap::new();
    for (n, phone) in &phones {
        let id_path = out.join(format!("{n}.sd-jwt"));
        let pass_path = out.join(format!("{n}.gate-pass.sd-jwt"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = ok(std::fs::metadata(&pass_path)).permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "gate pass file mode");
        }
        let id = receive(&read(&id_path), &key);
        let pass = receive(&read(&pass_path), &key);
        assert_eq!(id.vct.as_deref(), Some(WORKER_ID_VCT));
        assert_eq!(pass.vct.as_deref(), Some(GATE_PASS_VCT));
        assert_eq!(pass.given_name, id.given_name);
        assert_eq!(
            pass.employee_number, None,
            "the pass holds only gate claims"
        );
        let (id_status, pass_status) = (ok(id.status.ok_or("no status")), pass.status);
        assert_eq!(pass_status.as_ref(), Some(&id_status), "one status entry");
        idx_of.insert(*n, id_status.idx);
        // Same holder key: the pass's cnf is the enrolled phone's key.
        let pass_text = read(&pass_path);
        let payload: Value = ok(serde_json::from_slice(&ok(govid_core::b64::decode(
            pass_text.split('.').nth(1).unwrap_or_default(),
        )
        .ok_or("payload is not base64url"))));
        assert_eq!(payload["cnf"]["jwk"], phone.public_key().to_jwk());
        // The DB keeps the pass for rewriting the file after an interrupted run.
        let stored: String = ok(env.db().query_row(
            "SELECT g.sd_jwt FROM gate_pass_texts g JOIN credentials c ON c.id = g.credential_id
             WHERE c.employee_number = ?1",
            [n],
            |r| r.get(0),
        ));
        assert_eq!(stored, pass_text);
    }

    // staff show lists the pass.
    let shown = env.run(&["staff", "show", "MOT-0001"]).assert_ok();
    assert!(
        shown.stdout.contains("with gate pass #1"),
        "{}",
        shown.stdout
    );
    let shown = env
        .run(&["--json", "staff", "show", "MOT-0001"])
        .assert_ok()
        .json();
    assert_eq!(shown["credentials"][0]["gate_pass"], true);

    // A missing gate pass file is written again from the database.
    let lost = out.join("MOT-0002.gate-pass.sd-jwt");
    let before = read(&lost);
    ok(std::fs::remove_file(&lost));
    let again = env
        .run(&["--json", "issue", "--all", "--out", s(&out)])
        .assert_ok()
        .json();
    assert_eq!(again["issued"], 0);
    assert_eq!(again["files_rewritten"], 1);
    assert_eq!(read(&lost), before);

    // --jsonl: the gate pass is one more field; every earlier field is still there.
    env.enroll("MOT-0003");
    let run = env.run(&["issue", "MOT-0003", "--jsonl"]).assert_ok();
    let line: Value = ok(serde_json::from_str(run.stdout.trim()));
    for field in [
        "employee_number",
        "credential",
        "status_list",
        "kid",
        "issued_at",
        "expires_at",
        "gate_pass",
    ] {
        assert!(line.get(field).is_some(), "{field} missing: {line}");
    }
    let pass = receive(line["gate_pass"].as_str().unwrap_or_default(), &key);
    assert_eq!(pass.vct.as_deref(), Some(GATE_PASS_VCT));
    assert_eq!(
        pass.status.map(|st| st.idx),
        line["status_list"]["idx"].as_u64()
    );

    // Revoke MOT-0001 and publish: its pass reads INVALID, MOT-0002's stays good.
    env.run(&["revoke", "MOT-0001", "--reason", "left the ministry"])
        .assert_ok();
    let web = env.path("web");
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    let operator = ok(PublicKey::from_jwk_str(&read(&web.join("operator.jwk"))));
    let bundle = ok(TrustBundle::load(
        &read(&web.join("trust-bundle.jwt")),
        &operator,
        None,
    ));
    for vct in [WORKER_ID_VCT, GATE_PASS_VCT] {
        assert!(
            bundle.allows_vct("did:web:hr.mot.example", vct),
            "bundle allows {vct}"
        );
    }
    let uri = "https://hr.mot.example/status/1";
    let token = read(&web.join("status/1"));
    assert_eq!(status_in_token(&token, &key, uri, idx_of["MOT-0001"]), 1);

    let verifier = verifier_bin();
    let jwk = key.to_jwk().to_string();
    let revoked_pass = read(&out.join("MOT-0001.gate-pass.sd-jwt"));
    let good_pass = read(&out.join("MOT-0002.gate-pass.sd-jwt"));
    // As issued, with the issuer key: a gate pass.
    let (code, stdout, stderr) = verifier_check(&verifier, &["--issuer-jwk", &jwk], &good_pass);
    assert_eq!(code, 0, "{stderr}");
    let payload: Value = ok(serde_json::from_str(&stdout));
    assert_eq!(payload["vct"], GATE_PASS_VCT);
    // With the published status list token: revoked.
    let token_path = web.join("status/1");
    let (code, _, stderr) = verifier_check(
        &verifier,
        &["--issuer-jwk", &jwk, "--status-token", s(&token_path)],
        &revoked_pass,
    );
    assert_eq!(code, 1);
    assert!(stderr.starts_with("revoked:"), "{stderr}");
    // An offline gate with only the trust bundle: the bundle allows the pass's vct.
    let bundle_args = [
        "--trust-bundle",
        s(&web.join("trust-bundle.jwt")),
        "--operator-jwk",
        s(&web.join("operator.jwk")),
    ]
    .map(str::to_owned);
    let bundle_args: Vec<&str> = bundle_args.iter().map(String::as_str).collect();
    let (code, _, stderr) = verifier_check(&verifier, &bundle_args, &good_pass);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = verifier_check(&verifier, &bundle_args, &revoked_pass);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("revoked:"), "{stderr}");
    // `govid-verifier status` on the pass's own index says INVALID.
    let out = ok(Command::new(&verifier)
        .args(["status", "--token", s(&token_path), "--issuer-jwk", &jwk])
        .args(["--uri", uri, "--index", &idx_of["MOT-0001"].to_string()])
        .output());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "INVALID");
}

#[test]
fn an_employee_number_that_would_clash_with_a_gate_pass_file_is_refused() {
    let env = Env::new();
    env.init();
    let roster = env.write(
        "clash.csv",
        "employee_number,family_name,given_name,birth_date,organization_name,organization_code,department,position,grade,clearance,access_zones,valid_until\n\
         MOT-0001.GATE-PASS,Haddad,Amira,,Ministry of Transport,MOT,,,,,,2099-12-31\n",
    );
    env.run(&["staff", "import", s(&roster)])
        .assert_fails_with("may not end in \".gate-pass\"");
}

/// The status list URI in every issued credential is where `publish` writes that list (one
/// source of truth: core's `status::status_list_uri`), also under a custom `--status-base-url`.
#[test]
fn the_status_uri_in_issued_credentials_is_the_path_publish_writes() {
    for (init, base) in [
        (
            vec!["--did-web", "hr.mot.example"],
            "https://hr.mot.example/status",
        ),
        (
            vec![
                "--did-key",
                "--status-base-url",
                "https://cdn.example/mot/lists/",
            ],
            "https://cdn.example/mot/lists",
        ),
    ] {
        let env = Env::new();
        let mut args = vec!["init", "--name", "MOT HR"];
        args.extend(init);
        env.run(&args).assert_ok();
        env.run(&["staff", "import", s(&sample_roster())])
            .assert_ok();
        env.enroll("MOT-0001");
        let out: PathBuf = env.path("ids");
        env.run(&["issue", "--all", "--out", s(&out)]).assert_ok();
        let key = env.issuer_keys()[0].1.clone();
        let id = receive(&read(&out.join("MOT-0001.sd-jwt")), &key);
        let status = ok(id.status.ok_or("no status"));
        assert_eq!(
            status.uri,
            govid_core::status::status_list_uri(base, 1),
            "core names the list"
        );
        let web = env.path("web");
        env.run(&["publish", "--out", s(&web)]).assert_ok();
        let origin_end = status.uri.find("://").map_or(0, |i| i + 3);
        let path = status.uri[origin_end..]
            .split_once('/')
            .map(|(_, p)| p)
            .unwrap_or_default();
        let token = read(&web.join(path));
        assert_eq!(
            status_in_token(&token, &key, &status.uri, status.idx),
            0,
            "the file at the URI's path is the list the URI names"
        );
    }
}

/// An issuer directory made before gate passes (schema 1) opens and is upgraded; its old IDs
/// have no gate pass, new ones do.
#[test]
fn a_schema_1_database_is_upgraded_and_its_old_ids_have_no_gate_pass() {
    // An `issuer.db` upgrade: on SQLite whatever the engine under test.
    let env = Env::on_sqlite();
    env.init();
    env.run(&["staff", "import", s(&sample_roster())])
        .assert_ok();
    env.enroll("MOT-0001");
    env.run(&["issue", "MOT-0001"]).assert_ok();
    {
        let db = env.db();
        ok(db.execute_batch(
            "DROP TABLE gate_pass_texts;
             UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        ));
        // Schema 1's issue entry: its digest lines had no gate pass field.
        let (list, idx, text): (i64, i64, String) = ok(db.query_row(
            "SELECT c.list_id, c.idx, t.sd_jwt FROM credentials c
             JOIN credential_texts t ON t.credential_id = c.id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        ));
        let detail: String = ok(db.query_row(
            "SELECT detail FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        ));
        let mut detail: Value = ok(serde_json::from_str(&detail));
        detail["digest"] = Value::from(hex_sha256(
            format!("MOT-0001|{list}|{idx}|{}\n", hex_sha256(text)).as_bytes(),
        ));
        env.rewrite_last_audit_entry(&detail.to_string());
    }
    ok(std::fs::remove_file(
        env.dir.join("credentials/MOT-0001.gate-pass.sd-jwt"),
    ));
    let shown = env
        .run(&["--json", "staff", "show", "MOT-0001"])
        .assert_ok()
        .json();
    assert_eq!(shown["credentials"][0]["gate_pass"], false);
    let version: String = ok(env.db().query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    ));
    assert_eq!(version, "4");
    // Nothing to rewrite for the old ID; a new one comes with its pass.
    let again = env.run(&["--json", "issue", "--all"]).assert_ok().json();
    assert_eq!(again["files_rewritten"], 0);
    env.enroll("MOT-0002");
    env.run(&["issue", "MOT-0002"]).assert_ok();
    assert!(env
        .dir
        .join("credentials/MOT-0002.gate-pass.sd-jwt")
        .is_file());
    env.run(&["audit", "verify"]).assert_ok();
}

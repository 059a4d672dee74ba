//! Key rotation, reissue, did:key issuers, the audit chain, and secrets staying secret.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use govid_core::sdjwt::{HeldSdJwt, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use serde_json::Value;

fn header_kid(credential: &str) -> String {
    let header = credential.split('.').next().unwrap_or_default();
    let header: Value = ok(serde_json::from_slice(
        &govid_core::b64::decode(header).unwrap_or_default(),
    ));
    header["kid"].as_str().unwrap_or_default().to_owned()
}

fn receive(credential: &str, key: &govid_core::jose::PublicKey) -> Result<HeldSdJwt, String> {
    let policy = VerifyPolicy {
        sd_jwt_vc: true,
        ..VerifyPolicy::default()
    };
    HeldSdJwt::receive(credential, &policy, &PinnedKeys::single(key.clone()), now())
        .map_err(|e| e.to_string())
}

#[test]
fn rotate_key_keeps_old_ids_valid_and_signs_new_ones_with_the_new_kid() {
    let env = Env::new();
    env.init();
    env.import_sample();
    env.enroll("MOT-0001");
    env.enroll("MOT-0002");
    let out = env.path("ids");
    let out_s = out.to_str().unwrap_or_default();
    env.run(&["issue", "MOT-0001", "--out", out_s]).assert_ok();
    let old = ok(std::fs::read_to_string(out.join("MOT-0001.sd-jwt")));
    assert_eq!(header_kid(&old), "did:web:hr.mot.example#key-1");

    let r = env.run(&["--json", "rotate-key"]).assert_ok().json();
    assert_eq!(r["kid"], "did:web:hr.mot.example#key-2");
    let keys = env.issuer_keys();
    assert_eq!(keys.len(), 2, "the old key stays published");
    assert_eq!(keys[0].0, "did:web:hr.mot.example#key-1");
    assert_eq!(keys[1].0, "did:web:hr.mot.example#key-2");
    let doc: Value = ok(serde_json::from_str(&ok(std::fs::read_to_string(
        env.dir.join("public/did.json"),
    ))));
    assert_eq!(doc["verificationMethod"].as_array().map(Vec::len), Some(2));

    env.run(&["issue", "MOT-0002", "--out", out_s]).assert_ok();
    let new = ok(std::fs::read_to_string(out.join("MOT-0002.sd-jwt")));
    assert_eq!(header_kid(&new), "did:web:hr.mot.example#key-2");
    ok(receive(&old, &keys[0].1));
    ok(receive(&new, &keys[1].1));
    assert!(receive(&new, &keys[0].1).is_err());

    // Reissue: a new ID with the new key, the old one revoked as superseded.
    let r = env
        .run(&["--json", "issue", "MOT-0001", "--reissue", "--out", out_s])
        .assert_ok()
        .json();
    assert_eq!(r["issued"], 1);
    let again = ok(std::fs::read_to_string(out.join("MOT-0001.sd-jwt")));
    assert_eq!(header_kid(&again), "did:web:hr.mot.example#key-2");
    let shown = env
        .run(&["--json", "staff", "show", "MOT-0001"])
        .assert_ok()
        .json();
    let creds = shown["credentials"].as_array().cloned().unwrap_or_default();
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[0]["status"], "revoked");
    assert_eq!(creds[0]["reason"], "superseded");
    assert_eq!(creds[1]["status"], "valid");

    // Publish signs with the new key; the audit chain spans the rotation.
    let web = env.path("web");
    env.run(&["publish", "--out", web.to_str().unwrap_or_default()])
        .assert_ok();
    let token = ok(std::fs::read_to_string(web.join("status/1")));
    assert_eq!(header_kid(&token), "did:web:hr.mot.example#key-2");
    env.run(&["audit", "verify"]).assert_ok();
}

#[test]
fn did_key_issuer() {
    let env = Env::new();
    let r = env
        .run(&[
            "--json",
            "init",
            "--name",
            "Field Office",
            "--did-key",
            "--alg",
            "ES256",
            "--status-base-url",
            "https://status.example/mot/",
        ])
        .assert_ok()
        .json();
    let did = r["did"].as_str().unwrap_or_default().to_owned();
    assert!(did.starts_with("did:key:zDn"), "P-256 did:key: {did}");
    assert_eq!(
        r["kid"],
        format!("{did}#{}", did.trim_start_matches("did:key:")).as_str()
    );
    assert_eq!(r["status_base_url"], "https://status.example/mot");
    env.run(&["rotate-key"])
        .assert_fails_with("its identifier IS its key");
    env.import_sample();
    env.enroll("MOT-0009");
    let out = env.path("ids");
    env.run(&["issue", "--all", "--out", out.to_str().unwrap_or_default()])
        .assert_ok();
    let text = ok(std::fs::read_to_string(out.join("MOT-0009.sd-jwt")));
    let held = ok(receive(&text, &env.issuer_keys()[0].1));
    assert_eq!(held.claims()["iss"], did.as_str());
    assert_eq!(
        held.claims()["status"]["status_list"]["uri"],
        "https://status.example/mot/1"
    );
    let web = env.path("web");
    env.run(&["publish", "--out", web.to_str().unwrap_or_default()])
        .assert_ok();
    assert!(web.join("mot/1").is_file());
    assert!(web.join("did.json").is_file());
}

/// `publish` hands out the audit chain's head; `audit verify` shows the same head, and an entry
/// cut off the end afterwards no longer matches the anchored one.
#[test]
fn publish_prints_the_audit_head_that_audit_verify_confirms() {
    let env = Env::new();
    env.init();
    let web = env.path("web");
    let web = web.to_str().unwrap_or_default();
    let published = env
        .run(&["--json", "publish", "--out", web])
        .assert_ok()
        .json();
    let (seq, hash) = (
        published["audit_head"]["seq"].as_i64().unwrap_or_default(),
        published["audit_head"]["hash"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    assert_eq!(seq, 3, "init, publish, its log checkpoint");
    assert_eq!(hash.len(), 64, "{hash}");
    let verified = env.run(&["--json", "audit", "verify"]).assert_ok().json();
    assert_eq!(verified["entries"], seq);
    assert_eq!(verified["head"], hash.as_str());
    let text = env.run(&["publish", "--out", web]).assert_ok().stdout;
    let verified = env.run(&["--json", "audit", "verify"]).assert_ok().json();
    let head = verified["head"].as_str().unwrap_or_default();
    assert!(
        text.contains(&format!("Audit log head: entry 5 {head}")),
        "{text}"
    );
    let stored: String = ok(env.db().query_row(
        "SELECT value FROM meta WHERE key = 'published_audit_head'",
        [],
        |r| r.get(0),
    ));
    assert_eq!(stored, format!("5:{head}"));

    // The last entry cut off: the chain still verifies, but its head is no longer the anchor.
    ok(env.db().execute("DELETE FROM audit WHERE seq = 5", []));
    let cut = env.run(&["--json", "audit", "verify"]).assert_ok().json();
    assert_eq!(cut["entries"], 4);
    assert_ne!(cut["head"], head, "the anchored head shows the cut");
}

#[test]
fn audit_verify_names_the_first_broken_entry() {
    let env = Env::new();
    env.init();
    env.import_sample();
    env.enroll("MOT-0001");
    env.run(&["issue", "MOT-0001"]).assert_ok();
    env.run(&["revoke", "MOT-0001", "--reason", "left"])
        .assert_ok();
    let r = env.run(&["--json", "audit", "verify"]).assert_ok().json();
    let entries = r["entries"].as_i64().unwrap_or_default();
    assert!(
        entries >= 6,
        "init, import, offer, enroll, issue, revoke: {entries}"
    );
    let actions: Vec<String> = {
        let db = env.db();
        let mut stmt = ok(db.prepare("SELECT action FROM audit ORDER BY seq"));
        let rows = ok(stmt.query_map([], |r| r.get(0)));
        ok(rows.collect::<Result<_, _>>())
    };
    assert_eq!(
        actions,
        ["init", "staff_import", "offer", "enroll", "issue", "revoke"]
    );

    // Someone edits the revocation reason in the database.
    ok(env.db().execute(
        "UPDATE audit SET detail = replace(detail, 'left', 'never happened') WHERE seq = 6",
        [],
    ));
    let r = env.run(&["--json", "audit", "verify"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("audit log broken at entry 6: its content does not match its hash"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["details"]["first_broken"], 6);

    // Someone deletes an entry (and fixes nothing else): the chain breaks there.
    let env = Env::new();
    env.init();
    env.import_sample();
    env.enroll("MOT-0001");
    ok(env.db().execute("DELETE FROM audit WHERE seq = 2", []));
    env.run(&["audit", "verify"])
        .assert_fails_with("audit log broken at entry 2: entry 2 is missing");

    // Someone rewrites an entry and its hash: the signature gives it away.
    let env = Env::new();
    env.init();
    env.import_sample();
    {
        let db = env.db();
        let (at, prev): (i64, String) = ok(db.query_row(
            "SELECT at, prev_hash FROM audit WHERE seq = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ));
        let detail = r#"{"added":0}"#;
        use sha2::Digest;
        let hash: String = sha2::Sha256::digest(
            format!("govid-audit-v1\n2\n{at}\nstaff_import\n{detail}\n{prev}").as_bytes(),
        )
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
        ok(db.execute(
            "UPDATE audit SET detail = ?1, hash = ?2 WHERE seq = 2",
            [detail, &hash],
        ));
    }
    env.run(&["audit", "verify"])
        .assert_fails_with("audit log broken at entry 2: its signature does not verify");
}

#[test]
fn private_keys_never_leave_their_files() {
    let env = Env::new();
    let mut outputs = String::new();
    let mut run = |args: &[&str]| {
        let r = env.run(args);
        outputs.push_str(&r.stdout);
        outputs.push_str(&r.stderr);
        r
    };
    run(&["init", "--name", "MOT HR", "--did-web", "hr.mot.example"]).assert_ok();
    for args in [
        vec![
            "--json",
            "staff",
            "import",
            sample_roster().to_str().unwrap_or_default(),
        ],
        vec!["staff", "list"],
        vec!["--json", "staff", "show", "MOT-0001"],
        vec!["--json", "offer", "--all"],
        vec!["issue", "--all"],
        vec![
            "--json",
            "publish",
            "--out",
            env.path("web").to_str().unwrap_or_default(),
        ],
        vec!["--json", "audit", "verify"],
        vec!["--json", "rotate-key"],
        vec!["--json", "enroll", "--proof", "/nonexistent"],
        vec!["init", "--name", "again", "--did-web", "x.example"],
    ] {
        run(&args);
    }
    env.enroll("MOT-0001");
    run(&["--json", "issue", "--all", "--jsonl"]).assert_ok();

    let mut secrets = Vec::new();
    for entry in ok(std::fs::read_dir(env.dir.join("keys"))) {
        let path = ok(entry).path();
        let mode = ok(std::fs::metadata(&path)).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
        let jwk: Value = ok(serde_json::from_str(&ok(std::fs::read_to_string(&path))));
        secrets.push(jwk["d"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        secrets.len(),
        4,
        "issuer key 1, issuer key 2, operator key, log key"
    );
    assert_eq!(
        ok(std::fs::metadata(env.dir.join("keys")))
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    if env.pg.is_some() {
        // The staff records are on the database server, none in the directory.
        assert!(!env.dir.join("issuer.db").exists());
    } else {
        assert_eq!(
            ok(std::fs::metadata(env.dir.join("issuer.db")))
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    assert_eq!(
        ok(std::fs::metadata(&env.dir)).permissions().mode() & 0o777,
        0o700
    );

    // Every file outside keys/ (database, public files, published folder, QR codes, IDs).
    let mut haystack = outputs.into_bytes();
    let mut stack = vec![env.tmp.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in ok(std::fs::read_dir(&dir)) {
            let path = ok(entry).path();
            if path.is_dir() {
                if path != env.dir.join("keys") {
                    stack.push(path);
                }
            } else {
                haystack.extend(ok(std::fs::read(&path)));
            }
        }
    }
    let haystack = String::from_utf8_lossy(&haystack);
    for d in &secrets {
        assert!(d.len() >= 43);
        assert!(
            !haystack.contains(d.as_str()),
            "a private key appeared outside keys/"
        );
    }

    // A key file others can read is refused, and the message does not show it.
    let key = env.dir.join("keys/operator.jwk");
    ok(std::fs::set_permissions(
        &key,
        std::fs::Permissions::from_mode(0o644),
    ));
    let r = env.run(&[
        "publish",
        "--out",
        env.path("web").to_str().unwrap_or_default(),
    ]);
    let r = r.assert_fails_with("is readable by other users; run `chmod 600");
    assert!(!r.stderr.contains(secrets[2].as_str()));
}

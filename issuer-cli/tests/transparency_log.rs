//! The transparency log `publish` keeps: checkpoints of successive publishes are consistent,
//! the proofs beside the status list and the bundle verify with core (and fail for an altered
//! token), `log verify` names an edited tile, an edited checkpoint and a deleted entry row, and
//! an issuer made before the log gets its log key on the first publish.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use govid_core::tlog::{
    compare_checkpoints, parse_checkpoint_unverified, verify_inclusion, Consistency, Entry, LogKey,
    ProofError, TileSet,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

const URI: &str = "https://hr.mot.example/status/1";

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn read(p: &Path) -> Vec<u8> {
    ok(std::fs::read(p))
}

/// An issuer with one ID issued (so status list 1 exists).
fn issuer_with_an_id() -> Env {
    issuer_with_an_id_in(Env::new())
}

fn issuer_with_an_id_in(env: Env) -> Env {
    env.init().import_sample();
    env.enroll("MOT-0001");
    env.run(&["issue", "MOT-0001"]).assert_ok();
    env
}

fn tiles(log: &Path) -> TileSet {
    fn walk(root: &Path, dir: &Path, set: &mut TileSet) {
        for item in ok(std::fs::read_dir(dir)) {
            let path = ok(item).path();
            if path.is_dir() {
                walk(root, &path, set);
            } else {
                let rel = ok(path.strip_prefix(root)).to_string_lossy().into_owned();
                set.insert(rel, read(&path));
            }
        }
    }
    let mut set = TileSet::new();
    walk(log, &log.join("tile"), &mut set);
    set
}

fn log_key(web: &Path) -> LogKey {
    ok(LogKey::parse(&ok(std::fs::read_to_string(
        web.join("log/log.vkey"),
    ))))
}

fn status_entry(token: &str) -> Vec<u8> {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let claims: Value = ok(serde_json::from_slice(
        &govid_core::b64::decode(payload).unwrap_or_default(),
    ));
    ok(Entry::StatusList {
        uri: URI.to_owned(),
        iat: claims["iat"].as_u64().unwrap_or_default(),
        sha256: Sha256::digest(token.as_bytes()).into(),
    }
    .to_bytes())
}

#[test]
fn second_publish_is_consistent_with_the_first_and_its_proofs_verify() {
    let env = issuer_with_an_id();
    let web = env.path("web");
    let first = env
        .run(&["--json", "publish", "--out", s(&web)])
        .assert_ok()
        .json();
    let a = read(&web.join("log/checkpoint"));
    env.run(&["revoke", "MOT-0001", "--reason", "left", "--yes"])
        .assert_ok();
    let second = env
        .run(&["--json", "publish", "--out", s(&web)])
        .assert_ok()
        .json();
    let b = read(&web.join("log/checkpoint"));
    assert_ne!(a, b);

    let key = log_key(&web);
    assert_eq!(key.name(), "hr.mot.example/log");
    assert_eq!(second["log"]["vkey"], key.as_str());
    let (a, b) = (
        ok(govid_core::tlog::verify_checkpoint(&a, &key)).checkpoint,
        ok(govid_core::tlog::verify_checkpoint(&b, &key)).checkpoint,
    );
    assert!(a.size() < b.size());
    assert_eq!(
        compare_checkpoints(&a, &b, &tiles(&web.join("log"))),
        Ok(Consistency::Consistent)
    );
    // The audit chain records the checkpoint, and publish reports that entry as the head.
    let audit = env.run(&["--json", "audit", "verify"]).assert_ok().json();
    assert_eq!(audit["audit_head"], second["audit_head"]);
    assert_ne!(first["audit_head"], second["audit_head"]);

    // The proof beside the status list verifies against the new checkpoint...
    let token = ok(std::fs::read_to_string(web.join("status/1")));
    let proof = read(&web.join("status/1.tlog-proof"));
    let at = ok(verify_inclusion(&status_entry(&token), &proof, &key));
    assert_eq!(at.checkpoint, b);
    // ...and not for an altered token.
    // (its signature's last character changed: same uri and iat, other bytes)
    let mut altered = token.trim_end().to_owned();
    let last = if altered.ends_with('A') { "B" } else { "A" };
    altered.pop();
    altered.push_str(last);
    assert_eq!(
        verify_inclusion(&status_entry(&altered), &proof, &key),
        Err(ProofError::NotIncluded)
    );
    // The bundle's proof too.
    let bundle = read(&web.join("trust-bundle.jwt"));
    let entry = ok(Entry::TrustBundle {
        seq: second["trust_bundle_seq"].as_u64().unwrap_or_default(),
        sha256: Sha256::digest(&bundle).into(),
    }
    .to_bytes());
    ok(verify_inclusion(
        &entry,
        &read(&web.join("trust-bundle.jwt.tlog-proof")),
        &key,
    ));
    // And the DID document's, beside it: the document as published, not another one.
    let document = read(&web.join(".well-known/did.json"));
    let did_entry = |bytes: &[u8]| {
        ok(Entry::DidDocument {
            did: "did:web:hr.mot.example".to_owned(),
            sha256: Sha256::digest(bytes).into(),
        }
        .to_bytes())
    };
    let did_proof = read(&web.join(".well-known/did.json.tlog-proof"));
    assert_eq!(
        ok(verify_inclusion(&did_entry(&document), &did_proof, &key)).checkpoint,
        b
    );
    let mut other = document.clone();
    other.extend_from_slice(b" ");
    assert_eq!(
        verify_inclusion(&did_entry(&other), &did_proof, &key),
        Err(ProofError::NotIncluded)
    );
    env.run(&["log", "verify", "--out", s(&web)]).assert_ok();
}

#[test]
fn log_key_is_its_own_0600_file_and_never_printed() {
    let env = issuer_with_an_id();
    let web = env.path("web");
    let r = env
        .run(&["--json", "publish", "--out", s(&web)])
        .assert_ok();
    let path = env.dir.join("keys/log.jwk");
    assert_eq!(
        ok(std::fs::metadata(&path)).permissions().mode() & 0o777,
        0o600
    );
    let jwk: Value = ok(serde_json::from_slice(&read(&path)));
    let d = jwk["d"].as_str().unwrap_or_default();
    assert!(!d.is_empty());
    assert!(!r.stdout.contains(d) && !r.stderr.contains(d));
    let signing = ok(std::fs::read_to_string(
        env.dir.join("keys/issuer-key-1.jwk"),
    ));
    assert_ne!(jwk.to_string(), signing.trim());
}

#[test]
fn log_verify_names_an_edited_tile() {
    let env = issuer_with_an_id();
    let web = env.path("web");
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    env.run(&["log", "verify", "--out", s(&web)]).assert_ok();
    let size = parse_checkpoint_unverified(&read(&web.join("log/checkpoint")))
        .map(|c| c.size())
        .unwrap_or_default();
    let tile = web.join(format!("log/tile/0/000.p/{size}"));
    let mut data = read(&tile);
    data[3] ^= 1;
    ok(std::fs::write(&tile, data));
    env.run(&["log", "verify", "--out", s(&web)])
        .assert_fails_with(&format!(
            "tile/0/000.p/{size} does not hold what issuer.db gives for it"
        ));
    let j = env
        .run(&["--json", "log", "verify", "--out", s(&web)])
        .json();
    assert_eq!(j["error"], "log_mismatch", "{j}");
}

#[test]
fn log_verify_names_an_edited_entry_bundle_and_a_missing_tile() {
    let env = issuer_with_an_id();
    let web = env.path("web");
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    let size = parse_checkpoint_unverified(&read(&web.join("log/checkpoint")))
        .map(|c| c.size())
        .unwrap_or_default();
    let bundle = web.join(format!("log/tile/entries/000.p/{size}"));
    let mut data = read(&bundle);
    let last = data.len() - 1;
    data[last] ^= 1;
    ok(std::fs::write(&bundle, &data));
    env.run(&["log", "verify", "--out", s(&web)])
        .assert_fails_with(&format!("tile/entries/000.p/{size} does not hold"));
    ok(std::fs::remove_file(&bundle));
    env.run(&["log", "verify", "--out", s(&web)])
        .assert_fails_with(&format!("tile/entries/000.p/{size} is missing"));
}

#[test]
fn log_verify_names_an_edited_checkpoint() {
    let env = issuer_with_an_id();
    let web = env.path("web");
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    let path = web.join("log/checkpoint");
    let text = ok(std::fs::read_to_string(&path));
    let mut lines: Vec<&str> = text.split('\n').collect();
    // The size line, one more: the signature no longer covers the text.
    let bigger = (lines[1].parse::<u64>().unwrap_or_default() + 1).to_string();
    lines[1] = &bigger;
    ok(std::fs::write(&path, lines.join("\n")));
    env.run(&["log", "verify", "--out", s(&web)])
        .assert_fails_with("log/checkpoint: the log key's signature does not verify");
}

#[test]
fn log_verify_names_a_deleted_entry_row() {
    let env = issuer_with_an_id();
    let web = env.path("web");
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    let db = env.db();
    // The table refuses it...
    let refused = db.execute("DELETE FROM tlog_entries WHERE idx = 1", []);
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("tlog_entries is append-only")),
        "{refused:?}"
    );
    // ...and when the trigger is dropped first, `log verify` finds the gap.
    ok(db.execute_batch(if env.pg.is_some() {
        "DROP TRIGGER tlog_entries_append_only ON tlog_entries;
         DELETE FROM tlog_entries WHERE idx = 1;"
    } else {
        "DROP TRIGGER tlog_entries_no_delete; DELETE FROM tlog_entries WHERE idx = 1;"
    }));
    drop(db);
    env.run(&["log", "verify"])
        .assert_fails_with("entry 1 is missing from issuer.db (the next is 2)");
}

#[test]
fn an_issuer_made_before_the_log_gets_its_key_on_first_publish() {
    // An `issuer.db` upgrade (schema 3 to 4): on SQLite whatever the engine under test.
    let env = issuer_with_an_id_in(Env::on_sqlite());
    // As a schema-3 database without a log key would be.
    ok(std::fs::remove_file(env.dir.join("keys/log.jwk")));
    let db = env.db();
    ok(db.execute_batch(
        "DROP TABLE tlog_entries; DROP TABLE tlog_checkpoints;
         DELETE FROM meta WHERE key = 'tlog_origin';
         UPDATE meta SET value = '3' WHERE key = 'schema_version';",
    ));
    drop(db);
    env.run(&["log", "verify"])
        .assert_fails_with("the transparency log is empty");
    let web = env.path("web");
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    assert_eq!(
        ok(std::fs::metadata(env.dir.join("keys/log.jwk")))
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    env.run(&["log", "verify", "--out", s(&web)]).assert_ok();
}

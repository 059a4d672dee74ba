//! `issuer.db` edited behind the tool's back: `audit verify` replays the audit log and names every
//! ID and person whose stored status disagrees with it, and every status entry given twice;
//! `publish` refuses to publish such a database and never clears a revoked entry.

mod common;

use common::*;
use serde_json::{json, Value};

/// An issuer where MOT-0001 and MOT-0002 hold IDs #1 and #2, issued in one batch.
fn two_ids(extra_init: &[&str]) -> Env {
    let env = Env::new();
    let mut args = vec![
        "init",
        "--name",
        "Ministry of Transport HR Office",
        "--did-web",
        "hr.mot.example",
    ];
    args.extend_from_slice(extra_init);
    env.run(&args).assert_ok();
    env.import_sample();
    env.enroll("MOT-0001");
    env.enroll("MOT-0002");
    env
}

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// (list, idx) of credential `id` in the database.
fn slot(env: &Env, id: i64) -> (i64, i64) {
    ok(env.db().query_row(
        "SELECT list_id, idx FROM credentials WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))
}

/// Asserts `audit verify` refuses, lists exactly `lines` (text) and `mismatches` (--json).
fn assert_mismatch(env: &Env, lines: &[String], mismatches: Value) {
    let r = env.run(&["audit", "verify"]).assert_fails_with(&format!(
        "but issuer.db does not match it in {} place(s):",
        lines.len()
    ));
    let listed: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert_eq!(listed, lines, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Do not publish: restore issuer.db from a backup"),
        "{}",
        r.stderr
    );
    let r = env.run(&["--json", "audit", "verify"]);
    assert_eq!(r.code, 1);
    let j = r.json();
    assert_eq!(j["error"], "audit_mismatch");
    assert_eq!(j["details"]["intact"], true);
    assert_eq!(j["details"]["database_matches"], false);
    assert_eq!(j["details"]["mismatches_total"], lines.len());
    assert_eq!(j["details"]["mismatches"], mismatches);
}

/// Asserts `publish --out web` refuses with `first` among the problems and leaves `web` alone.
fn assert_publish_refused(env: &Env, n: usize, first: &str) {
    let web = env.path("web");
    let before = std::fs::read(web.join("status/1")).ok();
    let r = env
        .run(&["publish", "--out", s(&web)])
        .assert_fails_with(&format!(
            "cannot publish: issuer.db does not match the audit log in {n} place(s)"
        ));
    assert!(r.stderr.contains(&format!("\n  {first}\n")), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Nothing was published. Run `govid-issuer audit verify` to see every one."),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(web.join("status/1")).ok(), before);
    let j = env.run(&["--json", "publish", "--out", s(&web)]).json();
    assert_eq!(j["error"], "audit_mismatch");
    assert_eq!(j["details"]["mismatches_total"], n);
}

#[test]
fn un_revoking_in_the_database_is_reported_and_never_published() {
    let env = two_ids(&[]);
    env.run(&["issue", "--all"]).assert_ok();
    env.run(&["revoke", "MOT-0001", "--reason", "left"])
        .assert_ok();
    let web = env.path("web");
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    let verified = env.run(&["--json", "audit", "verify"]).assert_ok().json();
    assert_eq!(verified["database_matches"], true);
    assert_eq!(verified["credentials"], 2);

    ok(env.db().execute_batch(
        "UPDATE credentials SET status = 0, reason = NULL WHERE employee_number = 'MOT-0001';
         UPDATE staff SET state = 'active', state_reason = NULL WHERE employee_number = 'MOT-0001';",
    ));
    assert_mismatch(
        &env,
        &[
            "ID #1 of MOT-0001: issuer.db says valid, the audit log says revoked".to_owned(),
            "MOT-0001: issuer.db says active, the audit log says revoked".to_owned(),
        ],
        json!([
            {"kind": "status", "credential": 1, "employee_number": "MOT-0001",
             "stored": "valid", "logged": "revoked"},
            {"kind": "staff_state", "employee_number": "MOT-0001",
             "stored": "active", "logged": "revoked"},
        ]),
    );
    assert_publish_refused(
        &env,
        2,
        "ID #1 of MOT-0001: issuer.db says valid, the audit log says revoked",
    );
    // What gates fetch still says revoked.
    let (_, idx) = slot(&env, 1);
    let key = &env.issuer_keys()[0].1;
    let token = ok(std::fs::read_to_string(web.join("status/1")));
    assert_eq!(
        status_in_token(&token, key, "https://hr.mot.example/status/1", idx as u64),
        1
    );
}

#[test]
fn un_suspending_in_the_database_is_reported_and_not_published() {
    let env = two_ids(&[]);
    env.run(&["issue", "--all"]).assert_ok();
    env.run(&["suspend", "MOT-0002"]).assert_ok();
    ok(env.db().execute_batch(
        "UPDATE credentials SET status = 0 WHERE employee_number = 'MOT-0002';
         UPDATE staff SET state = 'active' WHERE employee_number = 'MOT-0002';",
    ));
    assert_mismatch(
        &env,
        &[
            "ID #2 of MOT-0002: issuer.db says valid, the audit log says suspended".to_owned(),
            "MOT-0002: issuer.db says active, the audit log says suspended".to_owned(),
        ],
        json!([
            {"kind": "status", "credential": 2, "employee_number": "MOT-0002",
             "stored": "valid", "logged": "suspended"},
            {"kind": "staff_state", "employee_number": "MOT-0002",
             "stored": "active", "logged": "suspended"},
        ]),
    );
    assert_publish_refused(
        &env,
        2,
        "ID #2 of MOT-0002: issuer.db says valid, the audit log says suspended",
    );
    // Put back as it was: everything agrees again, and publish works.
    ok(env.db().execute_batch(
        "UPDATE credentials SET status = 2 WHERE employee_number = 'MOT-0002';
         UPDATE staff SET state = 'suspended' WHERE employee_number = 'MOT-0002';",
    ));
    env.run(&["audit", "verify"]).assert_ok();
    env.run(&["publish", "--out", s(&env.path("web"))])
        .assert_ok();
}

#[test]
fn a_status_index_given_twice_in_the_database_is_reported_and_not_published() {
    let env = two_ids(&[]);
    env.run(&["issue", "--all"]).assert_ok();
    let (list, idx1) = slot(&env, 1);
    let (_, idx2) = slot(&env, 2);
    // The schema forbids it: drop the UNIQUE (list_id, idx) (on SQLite by rebuilding the table).
    ok(env.db().execute_batch(&if env.pg.is_some() {
        format!(
            "ALTER TABLE credentials DROP CONSTRAINT credentials_list_id_idx_key;
             UPDATE credentials SET idx = {idx1} WHERE id = 2;"
        )
    } else {
        format!(
            "PRAGMA foreign_keys = OFF;
         BEGIN;
         CREATE TABLE c2 (
             id INTEGER PRIMARY KEY, employee_number TEXT NOT NULL, list_id INTEGER NOT NULL,
             idx INTEGER NOT NULL, kid TEXT NOT NULL, issued_at INTEGER NOT NULL,
             expires_at INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0, reason TEXT,
             superseded_at INTEGER) STRICT;
         INSERT INTO c2 SELECT * FROM credentials;
         DROP TABLE credentials;
         ALTER TABLE c2 RENAME TO credentials;
         COMMIT;
         UPDATE credentials SET idx = {idx1} WHERE id = 2;"
        )
    }));
    assert_mismatch(
        &env,
        &[
            format!(
                "ID #2 of MOT-0002: issuer.db gives it status list {list} index {idx1}, it was \
                 issued with list {list} index {idx2}"
            ),
            format!(
                "status list {list} index {idx1} is given to two IDs, #1 and #2 (in issuer.db)"
            ),
        ],
        json!([
            {"kind": "status_entry", "credential": 2, "employee_number": "MOT-0002",
             "stored": {"list": list, "idx": idx1}, "issued": {"list": list, "idx": idx2}},
            {"kind": "index_twice", "status_entry": {"list": list, "idx": idx1},
             "credentials": [1, 2], "in": "database"},
        ]),
    );
    assert_publish_refused(
        &env,
        2,
        &format!(
            "ID #2 of MOT-0002: issuer.db gives it status list {list} index {idx1}, it was \
             issued with list {list} index {idx2}"
        ),
    );
}

/// A credential moved to another index frees its own, which the next issue hands out again: the
/// log then holds the same entry twice.
#[test]
fn a_status_index_issued_twice_is_reported_from_the_log_and_not_published() {
    // Two entries per list: the next issue can only take the one freed.
    let env = two_ids(&["--list-capacity", "2"]);
    env.run(&["issue", "MOT-0001"]).assert_ok();
    let (list, idx) = slot(&env, 1);
    ok(env
        .db()
        .execute("UPDATE credentials SET idx = 1 - idx WHERE id = 1", []));
    env.run(&["issue", "MOT-0002"]).assert_ok();
    assert_eq!(
        slot(&env, 2),
        (list, idx),
        "the freed index was given again"
    );
    assert_mismatch(
        &env,
        &[
            format!(
                "ID #1 of MOT-0001: issuer.db gives it status list {list} index {}, it was \
                 issued with list {list} index {idx}",
                1 - idx
            ),
            format!(
                "status list {list} index {idx} is given to two IDs, #1 and #2 (as issued, in \
                 the audit log)"
            ),
        ],
        json!([
            {"kind": "status_entry", "credential": 1, "employee_number": "MOT-0001",
             "stored": {"list": list, "idx": 1 - idx}, "issued": {"list": list, "idx": idx}},
            {"kind": "index_twice", "status_entry": {"list": list, "idx": idx},
             "credentials": [1, 2], "in": "audit_log"},
        ]),
    );
    assert_publish_refused(
        &env,
        2,
        &format!(
            "ID #1 of MOT-0001: issuer.db gives it status list {list} index {}, it was issued \
             with list {list} index {idx}",
            1 - idx
        ),
    );
}

/// Moving an ID to another person, or an ID no entry issued, break the issue entry's digest.
#[test]
fn ids_moved_or_added_in_the_database_are_reported() {
    let env = two_ids(&[]);
    env.run(&["issue", "--all"]).assert_ok();
    let seq: i64 =
        ok(env
            .db()
            .query_row("SELECT seq FROM audit WHERE action = 'issue'", [], |r| {
                r.get(0)
            }));
    ok(env.db().execute_batch(
        "UPDATE credentials SET employee_number = 'MOT-0003' WHERE id = 2;
         INSERT INTO credentials(id, employee_number, list_id, idx, kid, issued_at, expires_at)
           SELECT 3, 'MOT-0004', list_id, (SELECT MAX(idx) + 1 FROM credentials), kid, issued_at, expires_at
           FROM credentials WHERE id = 1;",
    ));
    assert_mismatch(
        &env,
        &[
            format!(
                "IDs #1-#2 (audit entry {seq}): the rows in issuer.db are not the ones issued \
                 (person, status entry or ID text changed, or rows added or removed)"
            ),
            "ID #3 of MOT-0004: in issuer.db, but no audit entry issued it".to_owned(),
        ],
        json!([
            {"kind": "issue_changed", "seq": seq, "credentials": [1, 2]},
            {"kind": "not_logged", "credential": 3, "employee_number": "MOT-0004"},
        ]),
    );
}

/// What the hash chain cannot show: the newest entries cut off together with what they did
/// (as an older copy of issuer.db would be). `publish` still never clears a published revocation.
#[test]
fn a_revocation_cut_off_the_end_stays_revoked_in_the_published_list() {
    let env = two_ids(&[]);
    env.run(&["issue", "--all"]).assert_ok();
    let web = env.path("web");
    env.run(&["revoke", "MOT-0001", "--reason", "left"])
        .assert_ok();
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    ok(env.db().execute_batch(
        "DELETE FROM audit WHERE seq >= (SELECT seq FROM audit WHERE action = 'revoke');
         UPDATE credentials SET status = 0, reason = NULL WHERE employee_number = 'MOT-0001';
         UPDATE staff SET state = 'active', state_reason = NULL WHERE employee_number = 'MOT-0001';",
    ));
    // Consistent, so `audit verify` cannot tell (only the head kept outside can).
    env.run(&["audit", "verify"]).assert_ok();
    let (_, idx) = slot(&env, 1);
    let r = env.run(&["publish", "--out", s(&web)]).assert_ok();
    assert!(
        r.stdout.contains(&format!(
            "Warning: kept 1 entr(ies) revoked that the status lists already in {} show as revoked",
            web.display()
        )),
        "{}",
        r.stdout
    );
    let key = &env.issuer_keys()[0].1;
    let uri = "https://hr.mot.example/status/1";
    let token = ok(std::fs::read_to_string(web.join("status/1")));
    assert_eq!(status_in_token(&token, key, uri, idx as u64), 1);
    let j = env
        .run(&["--json", "publish", "--out", s(&web)])
        .assert_ok()
        .json();
    assert_eq!(j["kept_revoked"], json!([{"uri": uri, "idx": idx}]));
    // A fresh folder has no earlier list to keep.
    let j = env
        .run(&["--json", "publish", "--out", s(&env.path("web2"))])
        .assert_ok()
        .json();
    assert_eq!(j["kept_revoked"], json!([]));
}

/// Un-revoking the person (not their IDs) lets `issue` give them a new ID: the log shows it was
/// issued to someone it has revoked, and `publish` refuses.
#[test]
fn an_id_issued_to_someone_the_log_has_revoked_is_reported() {
    let env = two_ids(&[]);
    env.run(&["issue", "--all"]).assert_ok();
    env.run(&["revoke", "MOT-0001", "--reason", "left"])
        .assert_ok();
    ok(env.db().execute(
        "UPDATE staff SET state = 'active' WHERE employee_number = 'MOT-0001'",
        [],
    ));
    env.run(&["issue", "MOT-0001"]).assert_ok();
    let seq: i64 = ok(env.db().query_row(
        "SELECT MAX(seq) FROM audit WHERE action = 'issue'",
        [],
        |r| r.get(0),
    ));
    assert_mismatch(
        &env,
        &[
            format!("audit entry {seq} issued an ID to MOT-0001, whom the audit log has revoked"),
            "MOT-0001: issuer.db says active, the audit log says revoked".to_owned(),
        ],
        json!([
            {"kind": "issued_while_not_active", "seq": seq, "employee_number": "MOT-0001",
             "logged": "revoked"},
            {"kind": "staff_state", "employee_number": "MOT-0001",
             "stored": "active", "logged": "revoked"},
        ]),
    );
    assert_publish_refused(
        &env,
        2,
        &format!("audit entry {seq} issued an ID to MOT-0001, whom the audit log has revoked"),
    );
}

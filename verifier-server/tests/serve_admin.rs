//! Admin routes (closed by default; bearer token; constant-time compare), config reload, the
//! gate log (what it keeps and what it does not: in its SQLite file, or with
//! `GOVID_TEST_ENGINE=postgres` in the gate's PostgreSQL database), and graceful shutdown.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use serde_json::Value;
use serve_common::engine::pg_query;
use serve_common::*;

const TOKEN: &str = "test-admin-token-0123456789";

#[test]
fn admin_routes_do_not_exist_without_a_token() {
    let world = World::new("serve-admin-off");
    let gate = world.gate("", "", &[]);
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(gate.get("/admin/entries", &[]).0, 404);
    assert_eq!(
        gate.get("/admin/entries", &[("Authorization", &bearer)]).0,
        404
    );
    assert_eq!(
        gate.post_empty("/admin/reload", &[("Authorization", &bearer)])
            .0,
        404
    );
}

#[test]
fn admin_token_from_env_no_wrong_and_right_token() {
    let world = World::new("serve-admin");
    let db = world.dir.path("gate.db");
    let gate = world.gate(
        "",
        &format!(
            "[log]\ndb = \"{}\"\nkeep_claims = [\"organization/code\"]\ncommit_before_response = true",
            db.display()
        ),
        &[("GOVID_ADMIN_TOKEN", TOKEN)],
    );
    let wallet = world.wallet(IDX_VALID);
    assert_eq!(gate.verify(&wallet.code(AUD))["decision"], "allow");
    assert_deny(
        &gate.verify(&world.wallet(IDX_REVOKED).code(AUD)),
        "revoked",
    );
    assert_deny(&gate.verify("GV1:zz"), "bad_qr");
    gate.wait_for_log();

    // No token: 401 with a challenge; wrong token: 403; right token: the entries.
    let (status, _) = gate.get("/admin/entries", &[]);
    assert_eq!(status, 401);
    let (status, _) = gate.get(
        "/admin/entries",
        &[("Authorization", "Bearer wrong-token-xxxxxxxxxx")],
    );
    assert_eq!(status, 403);
    let (status, _) = gate.get(
        "/admin/entries",
        &[("Authorization", &format!("Bearer {TOKEN}x"))],
    );
    assert_eq!(status, 403);
    let (status, _) = gate.get("/admin/entries", &[("Authorization", TOKEN)]);
    assert_eq!(status, 401, "a bare token without the Bearer scheme");
    let bearer = format!("Bearer {TOKEN}");
    let (status, body) = gate.get("/admin/entries?limit=2", &[("Authorization", &bearer)]);
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["reason"], "bad_qr");
    assert_eq!(entries[1]["reason"], "revoked");
    assert_eq!(entries[1]["credential_status"], "revoked");
    assert_eq!(entries[1]["issuer"], ISS);
    assert_eq!(entries[1]["credential_hash"].as_str().unwrap().len(), 64);
    // Only the claims the config keeps.
    assert_eq!(
        entries[1]["claims"],
        serde_json::json!({"organization": {"code": "MOT"}})
    );
    let text = body.to_string();
    assert!(
        !text.contains("Amira") && !text.contains("Haddad"),
        "{text}"
    );

    // Reload: a new audience in the config file applies without a restart.
    let config = world
        .config("", &format!("[log]\ndb = \"{}\"", db.display()))
        .replace(AUD, "https://gates.test/moved");
    std::fs::write(world.dir.path("gate.toml"), config).unwrap();
    let (status, _) = gate.post_empty(
        "/admin/reload",
        &[("Authorization", "Bearer nope-nope-nope-nope")],
    );
    assert_eq!(status, 403);
    let (status, body) = gate.post_empty("/admin/reload", &[("Authorization", &bearer)]);
    assert_eq!(status, 200, "{body}");
    assert_deny(&gate.verify(&wallet.code(AUD)), "kb_aud");
    assert_eq!(
        gate.verify(&wallet.code("https://gates.test/moved"))["decision"],
        "allow"
    );
    // A broken config is refused and the running one kept.
    std::fs::write(world.dir.path("gate.toml"), "[gate]\nnope = 1\n").unwrap();
    let (status, _) = gate.post_empty("/admin/reload", &[("Authorization", &bearer)]);
    assert_eq!(status, 422);
    assert_eq!(
        gate.verify(&wallet.code("https://gates.test/moved"))["decision"],
        "allow"
    );
}

#[test]
fn sigterm_stops_cleanly_and_every_answered_decision_is_in_the_log() {
    let world = World::new("serve-shutdown");
    let db = world.dir.path("gate.db");
    let gate = world.gate("", &format!("[log]\ndb = \"{}\"", db.display()), &[]);
    let wallet = world.wallet(IDX_VALID);
    for _ in 0..20 {
        assert_eq!(gate.verify(&wallet.code(AUD))["decision"], "allow");
    }
    // The SQLite gate log, or a fleet gate's database and spool (`[log] db` is not used there).
    let fleet = gate.store().map(|s| (s.url.clone(), s.spool.clone()));
    let status = gate.terminate();
    assert!(status.success(), "exit status {status:?}");
    let (allowed, claims, private_file) = match &fleet {
        None => {
            let conn = rusqlite::Connection::open(&db).unwrap();
            let n: i64 = conn
                .query_row(
                    "SELECT count(*) FROM entries WHERE decision = 'allow'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            let claims: Option<String> = conn
                .query_row("SELECT claims FROM entries LIMIT 1", [], |r| r.get(0))
                .unwrap();
            (n, claims, world.dir.path("gate.salt"))
        }
        Some((url, spool)) => {
            let n = pg_query(
                url,
                "SELECT count(*) FROM gate_log WHERE decision = 'allow'",
            );
            let claims = pg_query(url, "SELECT claims FROM gate_log LIMIT 1");
            let n: i64 = n[0][0].as_deref().unwrap().parse().unwrap();
            // Without `salt_file`, the salt is kept beside the spool (the same after a restart).
            let salt = spool.with_extension("salt");
            assert!(salt.is_file(), "{}", salt.display());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(&salt).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", salt.display());
            }
            (n, claims[0][0].clone(), spool.clone())
        }
    };
    // Delivered before the exit: nothing waits in a fleet gate's spool.
    assert_eq!(allowed, 20);
    assert_eq!(claims, None, "no claims kept by default");
    // The gate's local file of salted hashes is its owner's only: the salt beside the SQLite
    // log, or a fleet gate's spool.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&private_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", private_file.display());
    }
}

#[test]
fn failed_admin_logins_are_logged_with_the_client_address_and_never_the_token() {
    let world = World::new("serve-admin-log");
    let gate = world.gate("", "", &[("GOVID_ADMIN_TOKEN", TOKEN)]);
    let wrong = "wrong-token-with-a-secret-part-4242";
    let bearer = format!("Bearer {wrong}");
    assert_eq!(
        gate.get("/admin/entries", &[("Authorization", &bearer)]).0,
        403
    );
    assert_eq!(gate.post_empty("/admin/reload", &[]).0, 401);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = gate.stderr.lock().unwrap().clone();
        let wrong_line = log.lines().find(|l| l.contains("wrong token"));
        let missing_line = log.lines().find(|l| l.contains("without a bearer token"));
        if let (Some(wrong_line), Some(missing_line)) = (wrong_line, missing_line) {
            assert!(wrong_line.contains("client=127.0.0.1"), "{wrong_line}");
            assert!(missing_line.contains("client=127.0.0.1"), "{missing_line}");
            assert!(!log.contains("secret-part"), "the token was logged: {log}");
            assert!(!log.contains(TOKEN), "the real token was logged: {log}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no log lines: {log}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn admin_entries_limit_zero_returns_none() {
    let world = World::new("serve-admin-limit");
    let gate = world.gate("", "", &[("GOVID_ADMIN_TOKEN", TOKEN)]);
    assert_deny(&gate.verify("GV1:zz"), "bad_qr");
    assert_deny(&gate.verify("GV1:zz"), "bad_qr");
    gate.wait_for_log();
    let bearer = format!("Bearer {TOKEN}");
    let entries = |query: &str| {
        let (status, body) = gate.get(
            &format!("/admin/entries{query}"),
            &[("Authorization", &bearer)],
        );
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        body["entries"].as_array().unwrap().len()
    };
    assert_eq!(entries("?limit=0"), 0);
    assert_eq!(entries("?limit=1"), 1);
    assert_eq!(entries(""), 2);
    assert_eq!(entries("?limit=5000"), 2);
}

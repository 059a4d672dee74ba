//! Status lists fetched in the background: a refresh picks up revocation; when the issuer's host
//! is down the last good copy is used until it is too stale, then the status is unknown and the
//! gate denies; when the host is back, entries are allowed again.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use std::time::{Duration, Instant};

use serde_json::Value;
use serve_common::*;

/// Waits until `check` holds for a fresh decision, or fails after `secs`.
fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> Option<Value>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn status_host_down_last_good_copy_until_stale_then_deny() {
    let world = World::new("serve-stale");
    // Lists may be relied on 6 s after their iat; the gate only ever sees this one.
    let published = now();
    world.publish_status(published, &[]);
    let gate = world.gate("", "max_staleness_secs = 6", &[]);
    let wallet = world.wallet(IDX_VALID);
    assert_eq!(gate.verify(&wallet.code(AUD))["decision"], "allow");

    // The host goes down: the refresher fails, the last good copy is still used.
    world.host.down("/status/1");
    eventually(10, "a failed refresh", || {
        let (_, body) = gate.get("/healthz", &[]);
        let h: Value = serde_json::from_str(&body).unwrap();
        let failed = h["status_lists"][0]["last_fetch_failed"] == true;
        failed.then_some(h)
    });
    if now() < published + 5 {
        let body = gate.verify(&wallet.code(AUD));
        assert_eq!(body["decision"], "allow", "last good copy: {body}");
        assert_eq!(body["credential_status"], "valid");
    }

    // Past max staleness: status unknown, denied.
    let denied = eventually(15, "staleness", || {
        let body = gate.verify(&wallet.code(AUD));
        (body["reason"] == "status_unknown").then_some(body)
    });
    assert_eq!(denied["decision"], "deny");
    assert_eq!(denied["credential_status"], "unknown");
    assert!(now() > published + 6, "denied only once stale");
    let (_, health) = gate.get("/healthz", &[]);
    assert!(health.contains("\"degraded\""), "{health}");

    // The host is back with a fresh list: allowed again.
    world.publish_status(now(), &[]);
    eventually(15, "recovery", || {
        let body = gate.verify(&wallet.code(AUD));
        (body["decision"] == "allow").then_some(body)
    });
}

#[test]
fn revocation_is_picked_up_on_refresh_and_unknown_status_can_be_allowed() {
    let world = World::new("serve-revoke");
    let gate = world.gate("unknown_status = \"allow\"", "", &[]);
    let wallet = world.wallet(IDX_VALID);
    assert_eq!(gate.verify(&wallet.code(AUD))["decision"], "allow");
    world.publish_status(now() + 1, &[(IDX_VALID as usize, 1)]);
    let body = eventually(15, "revocation", || {
        let body = gate.verify(&wallet.code(AUD));
        (body["decision"] == "deny").then_some(body)
    });
    assert_deny(&body, "revoked");

    // With unknown_status = "allow", a credential whose list cannot be had is allowed, and says so.
    let holder = Wallet::holder_key();
    let issued = world.issuer.issue(
        &amira(),
        &holder,
        valid_now(now()),
        Some((IDX_VALID, &world.host.url("/status/missing"))),
    );
    let unlisted = Wallet::receive(holder, &issued, &world.issuer, now());
    let body = gate.verify(&unlisted.code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["credential_status"], "unknown");
}

#[test]
fn discovered_status_list_is_fetched_in_the_background() {
    let world = World::new("serve-discover");
    // A second list, not in the config: the first presentation finds no list (denied, status
    // unknown) and makes the gate fetch it; later ones are decided on it.
    let uri2 = world.host.url("/status/2");
    let token = world.issuer.status_token(&uri2, now(), 64, &[]);
    world.host.set("/status/2", &token);
    let gate = world.gate("", "", &[]);
    let holder = Wallet::holder_key();
    let issued = world
        .issuer
        .issue(&amira(), &holder, valid_now(now()), Some((3, &uri2)));
    let wallet = Wallet::receive(holder, &issued, &world.issuer, now());
    assert_deny(&gate.verify(&wallet.code(AUD)), "status_unknown");
    eventually(10, "the discovered list", || {
        let body = gate.verify(&wallet.code(AUD));
        (body["decision"] == "allow").then_some(body)
    });
}

/// A wallet holding a worker ID without a `status` claim.
fn unlisted_wallet(world: &World) -> Wallet {
    let holder = Wallet::holder_key();
    let issued = world
        .issuer
        .issue(&amira(), &holder, valid_now(now()), None);
    Wallet::receive(holder, &issued, &world.issuer, now())
}

#[test]
fn a_credential_without_status_is_denied_even_with_unknown_status_allow() {
    let world = World::new("serve-no-status-deny");
    let gate = world.gate("unknown_status = \"allow\"", "", &[]);
    let body = gate.verify(&unlisted_wallet(&world).code(AUD));
    assert_deny(&body, "status_claim_missing");
    assert_eq!(body["credential_status"], serde_json::Value::Null, "{body}");
}

#[test]
fn require_status_false_allows_a_credential_without_status_and_checks_one_with() {
    let world = World::new("serve-no-status-allow");
    let gate = world.gate("require_status = false", "", &[]);
    let body = gate.verify(&unlisted_wallet(&world).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["credential_status"], "none");
    assert_eq!(body["issuer"], ISS);
    assert_deny(
        &gate.verify(&world.wallet(IDX_REVOKED).code(AUD)),
        "revoked",
    );
    let body = gate.verify(&world.wallet(IDX_VALID).code(AUD));
    assert_eq!(body["credential_status"], "valid", "{body}");

    // The same from the flag, which overrides the file.
    let flagged = Gate::start(
        &[
            "--config".into(),
            world.dir.path("gate.toml").display().to_string(),
            "--require-status=true".into(),
        ],
        &[],
    );
    assert_deny(
        &flagged.verify(&unlisted_wallet(&world).code(AUD)),
        "status_claim_missing",
    );
}

#[test]
fn a_gate_without_a_status_source_warns_at_start_and_in_healthz() {
    // Regression: pinned keys, no status list and no discovery started "ok" and then denied
    // every real ID as status_unknown.
    let world = World::new("serve-no-status-source");
    let gate = Gate::start(
        &[
            "--listen=127.0.0.1:0".into(),
            format!("--trust-jwk={}", world.jwk_path.display()),
            format!("--aud={AUD}"),
            "--config".into(),
            {
                let path = world.dir.path("gate.toml");
                std::fs::write(&path, "[status]\nfetch_discovered = false\n").unwrap();
                path.display().to_string()
            },
        ],
        &[],
    );
    let health = gate.health();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(
        health["warnings"],
        serde_json::json!(["no_status_source"]),
        "{health}"
    );
    let log = gate.stderr.lock().unwrap().clone();
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("code=\"no_status_source\""), "{log}");
    assert!(
        log.contains("no status source for the trusted issuers"),
        "{log}"
    );
    assert_deny(
        &gate.verify(&world.wallet(IDX_VALID).code(AUD)),
        "status_unknown",
    );
    drop(gate);

    // The same keys with the status list named: no warning, ok once the list is fetched.
    let gate = world.gate("", "fetch_discovered = false", &[]);
    let health = gate.health();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["warnings"], serde_json::json!([]), "{health}");
    assert!(!gate.stderr.lock().unwrap().contains("no_status_source"));
    assert_eq!(
        gate.verify(&world.wallet(IDX_VALID).code(AUD))["decision"],
        "allow"
    );
}

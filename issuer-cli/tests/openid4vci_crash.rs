//! `kill -9` of `govid-issuer serve` in the middle of a credential request leaves `issuer.db`
//! consistent: the audit log verifies, no status index is given twice, nothing is recorded as
//! delivered that was not sent, `staff show` says what happened, and the wallet's retry with
//! the same access token gets the credential (the same one, if it was issued before the kill).
//!
//! The kills land at the service's named pause points (debug builds, `GOVID_ISSUER_PAUSE_AT`,
//! see `serve/fault.rs`) and, in a second test, at random moments with requests in flight.

mod common;
mod wallet;

use std::time::Duration;

use common::{now, ok, Env};
use govid_core::jose::{Algorithm, SoftwareSigner};
use rand_core::{OsRng, RngCore};
use wallet::*;

/// What `staff show` says about `n`.
fn show(env: &Env, n: &str) -> String {
    env.run(&["staff", "show", n]).assert_ok().stdout
}

fn delivered_rows(env: &Env, n: &str) -> i64 {
    ok(env.db().query_row(
        "SELECT COUNT(*) FROM vci_deliveries d JOIN vci_offers v ON v.id = d.vci_offer_id
         WHERE v.employee_number = ?1 AND d.delivered_at IS NOT NULL",
        [n],
        |r| r.get(0),
    ))
}

fn consistent(env: &Env) {
    env.run(&["audit", "verify"]).assert_ok();
    assert_eq!(duplicate_status_indices(env), vec![]);
}

#[test]
fn kill_at_each_point_of_a_credential_request_then_retry() {
    // (point, credentials issued before the kill, the response reached the wallet)
    let points = [
        ("credential:nonce-used", 0, false),
        ("credential:issued-uncommitted", 0, false),
        ("credential:committed", 1, false),
        ("credential:sent", 1, true),
    ];
    for (point, issued, answered) in points {
        let env = setup();
        let n = "MOT-0001";
        let mut server = serve(&env, &[], &[("GOVID_ISSUER_PAUSE_AT", point)]);
        let offer = make_offer(&env, &server, n, &[]);
        let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
        let token = get_token(&server, &offer, &phone);
        let body = request_body(&server, "worker_id", &phone, &c_nonce(&server), now(), None);
        let url = server.url.clone();
        let (token2, key) = (token.clone(), phone.clone());
        let request = std::thread::spawn(move || {
            let port = url.rsplit(':').next().and_then(|p| p.parse().ok());
            wallet_request(port.unwrap_or(0), &token2, &key, &body)
        });
        server.wait_for_pause(point);
        server.kill9();
        let first = request.join().unwrap_or(None);
        assert_eq!(first.is_some(), answered, "{point}");
        // After the kill, before any retry.
        consistent(&env);
        assert_eq!(credential_count(&env, n), issued, "{point}");
        assert_eq!(delivered_rows(&env, n), 0, "{point}");
        let shown = show(&env, n);
        assert!(!shown.contains("received on phone"), "{point}: {shown}");
        if issued == 1 {
            assert!(
                shown.contains("worker ID issued for the phone at")
                    && shown.contains("not delivered yet"),
                "{point}: {shown}"
            );
        } else {
            assert!(shown.contains("IDs: none issued"), "{point}: {shown}");
        }
        let before: Option<i64> = ok(env.db().query_row(
            "SELECT MAX(id) FROM credentials WHERE employee_number = ?1",
            [n],
            |r| r.get(0),
        ));
        // The retry: same token, fresh nonce and proofs.
        let server = serve_on(&env, server.port, &[], &[]);
        for configuration in ["worker_id", "gate_pass"] {
            let body = request_body(
                &server,
                configuration,
                &phone,
                &c_nonce(&server),
                now(),
                None,
            );
            let text = credential_of(&credential_request(&server, &token, &phone, &body));
            if let Some(first) = &first {
                if configuration == "worker_id" {
                    assert_eq!(&text, first, "{point}: the retry gets the same credential");
                }
            }
        }
        assert_eq!(credential_count(&env, n), 1, "{point}");
        let after: Option<i64> = ok(env.db().query_row(
            "SELECT MAX(id) FROM credentials WHERE employee_number = ?1",
            [n],
            |r| r.get(0),
        ));
        if issued == 1 {
            assert_eq!(before, after, "{point}: no second issuance");
        }
        wait_for_delivery(&env, n, 2);
        let shown = show(&env, n);
        assert!(
            shown.contains("worker ID received on phone at")
                && shown.contains("gate pass received on phone at")
                && !shown.contains("not delivered yet"),
            "{point}: {shown}"
        );
        consistent(&env);
        drop(server);
    }
}

/// Random kills with several staff members' requests in flight, then everyone retries.
#[test]
fn random_kills_with_requests_in_flight() {
    let env = setup();
    // Three people: each round's nonce and credential requests (12) stay within the per-client
    // burst of a freshly started service (20; the limiter starts empty after a restart).
    let people: Vec<String> = (1..=3).map(|i| format!("MOT-{i:04}")).collect();
    let mut server = serve(&env, &[], &[]);
    let mut wallets = Vec::new();
    for n in &people {
        let offer = make_offer(&env, &server, n, &[]);
        let phone = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
        let token = get_token(&server, &offer, &phone);
        wallets.push((n.clone(), phone, token));
    }
    for round in 0..5 {
        let mut threads = Vec::new();
        for (_, phone, token) in &wallets {
            for configuration in ["worker_id", "gate_pass"] {
                let body = request_body(
                    &server,
                    configuration,
                    phone,
                    &c_nonce(&server),
                    now(),
                    None,
                );
                let (port, token, phone) = (server.port, token.clone(), phone.clone());
                threads.push(std::thread::spawn(move || {
                    wallet_request(port, &token, &phone, &body)
                }));
            }
        }
        std::thread::sleep(Duration::from_millis(OsRng.next_u64() % 40));
        server.kill9();
        for t in threads {
            let _ = t.join();
        }
        consistent(&env);
        for (n, _, _) in &wallets {
            assert!(credential_count(&env, n) <= 1, "round {round}: {n}");
        }
        server = serve_on(&env, server.port, &[], &[]);
    }
    // Everyone's retry gets both credentials, from one issuance each.
    for (n, phone, token) in &wallets {
        for configuration in ["worker_id", "gate_pass"] {
            let body = request_body(
                &server,
                configuration,
                phone,
                &c_nonce(&server),
                now(),
                None,
            );
            credential_of(&credential_request(&server, token, phone, &body));
        }
        assert_eq!(credential_count(&env, n), 1, "{n}");
    }
    for (n, _, _) in &wallets {
        wait_for_delivery(&env, n, 2);
        let shown = show(&env, n);
        assert!(!shown.contains("not delivered yet"), "{shown}");
    }
    consistent(&env);
}

/// A credential request; the credential if the answer came (`None` if the connection broke).
fn wallet_request(
    port: u16,
    token: &str,
    phone: &SoftwareSigner,
    body: &serde_json::Value,
) -> Option<String> {
    let url = format!("http://127.0.0.1:{port}/credential");
    let proof = dpop(phone, &url, Some(token), now());
    let auth = format!("DPoP {token}");
    let mut response = agent()
        .post(&url)
        .header("Authorization", &auth)
        .header("DPoP", &proof)
        .content_type("application/json")
        .send(body.to_string())
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let text = response.body_mut().read_to_string().ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["credentials"][0]["credential"]
        .as_str()
        .map(str::to_owned)
}

/// Waits (up to 5 s) until `count` deliveries of `n` are recorded: that happens just after the
/// response went out.
fn wait_for_delivery(env: &Env, n: &str, count: i64) {
    for _ in 0..100 {
        if delivered_rows(env, n) >= count {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{n}: deliveries not recorded");
}

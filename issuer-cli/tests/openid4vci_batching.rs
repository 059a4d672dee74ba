//! `govid-issuer serve` under concurrent wallets, with group commit: many credential requests
//! at once, on two instances over one directory while the CLI works on it too, are all recorded
//! (one issuance per person, distinct status indices, audit chain intact) in fewer transactions
//! than requests; a `kill -9` with requests in flight loses no credential a wallet received; and
//! a `c_nonce` or a DPoP proof serves once, across instances and restarts, also when the request
//! it came with was refused.

mod common;
mod wallet;

use std::sync::Barrier;
use std::time::Duration;

use common::{now, ok, Env};
use govid_core::jose::{Algorithm, SoftwareSigner};
use rand_core::{OsRng, RngCore};
use serde_json::Value;
use wallet::*;

/// `count` synthetic staff and an OpenID4VCI offer for each (naming `url`): employee number,
/// pre-authorized code and PIN.
fn staff_with_offers(env: &Env, count: usize, url: &str) -> Vec<(String, Offer)> {
    let roster = env.dir.with_extension("roster.csv");
    let codes = env.dir.with_extension("codes.csv");
    env.run(&[
        "dev",
        "synth",
        "--count",
        &count.to_string(),
        "--out",
        ok(roster.to_str().ok_or("path")),
    ])
    .assert_ok();
    env.run(&["staff", "import", ok(roster.to_str().ok_or("path"))])
        .assert_ok();
    env.run(&[
        "offer",
        "--all",
        "--public-url",
        url,
        "--codes-file",
        ok(codes.to_str().ok_or("path")),
    ])
    .assert_ok();
    let mut reader = ok(csv::Reader::from_path(&codes));
    let headers = ok(reader.headers()).clone();
    let col = |name: &str| {
        ok(headers
            .iter()
            .position(|h| h == name)
            .ok_or(name.to_owned()))
    };
    let (n_col, uri_col, pin_col) = (
        col("employee_number"),
        col("openid4vci_offer_uri"),
        col("openid4vci_tx_code"),
    );
    let mut out = Vec::new();
    for record in reader.records() {
        let record = ok(record);
        let Ok(govid_core::oid4vci::offer::OfferUri::ByReference(offer_url)) =
            govid_core::oid4vci::offer::parse_offer_uri(&record[uri_col])
        else {
            panic!("offer URI {}", &record[uri_col]);
        };
        let offer = call("GET", &offer_url, &[], None);
        assert_eq!(offer.status, 200);
        let code = offer.body["grants"][GRANT]["pre-authorized_code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let enrollment = ok(govid_core::enrollment::EnrollmentOffer::parse(
            &record[headers.iter().position(|h| h == "payload").unwrap_or(0)],
        ));
        out.push((
            record[n_col].to_owned(),
            Offer {
                code,
                pin: record[pin_col].to_owned(),
                enrollment,
            },
        ));
    }
    out
}

/// The `--json` stop report of a service started with `--json`.
fn stop_report(server: Server) -> Value {
    let text = server.stop();
    ok(serde_json::from_str(text.trim()))
}

/// The worker ID and gate pass texts stored for `n`.
fn stored_texts(env: &Env, n: &str) -> (String, String) {
    ok(env.db().query_row(
        "SELECT t.sd_jwt, g.sd_jwt FROM credentials c
           JOIN credential_texts t ON t.credential_id = c.id
           JOIN gate_pass_texts g ON g.credential_id = c.id
         WHERE c.employee_number = ?1",
        [n],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))
}

fn delivered(env: &Env) -> i64 {
    ok(env.db().query_row(
        "SELECT COUNT(*) FROM vci_deliveries WHERE delivered_at IS NOT NULL",
        [],
        |r| r.get(0),
    ))
}

#[test]
fn concurrent_wallets_on_two_instances_and_the_cli_are_all_recorded_in_shared_transactions() {
    let env = Env::new();
    env.init();
    let args = ["--rate-limit", "0", "--json"];
    let a = serve(&env, &args, &[]);
    let b = serve(&env, &args, &[]);
    // The last two are left to the CLI.
    let mut people = staff_with_offers(&env, 34, &a.url);
    let cli_staff: Vec<String> = people.drain(32..).map(|(n, _)| n).collect();
    let start = Barrier::new(people.len() + 1);
    let received: Vec<(String, String, String)> = std::thread::scope(|scope| {
        let wallets: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, (n, offer))| {
                let server = if i % 2 == 0 { &a } else { &b };
                let start = &start;
                scope.spawn(move || {
                    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
                    let token = get_token(server, offer, &phone);
                    // Everyone's credential requests at once.
                    start.wait();
                    let mut texts = Vec::new();
                    for configuration in ["worker_id", "gate_pass"] {
                        let body = request_body(
                            server,
                            configuration,
                            &phone,
                            &c_nonce(server),
                            now(),
                            None,
                        );
                        texts.push(credential_of(&credential_request(
                            server, &token, &phone, &body,
                        )));
                    }
                    let gate = texts.pop().unwrap_or_default();
                    let id = texts.pop().unwrap_or_default();
                    (n.clone(), id, gate)
                })
            })
            .collect();
        // Meanwhile the CLI writes to the same database (new offers: audit entries too).
        start.wait();
        for n in &cli_staff {
            env.run(&["offer", n, "--public-url", &a.url]).assert_ok();
        }
        env.run(&["staff", "show", &people[0].0]).assert_ok();
        wallets
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| panic!("a wallet failed")))
            .collect()
    });
    // Every credential a wallet received is the one recorded, one issuance per person.
    for (n, id, gate) in &received {
        assert_eq!(credential_count(&env, n), 1, "{n}");
        assert_eq!(&stored_texts(&env, n), &(id.clone(), gate.clone()), "{n}");
    }
    assert_eq!(duplicate_status_indices(&env), vec![]);
    for _ in 0..100 {
        if delivered(&env) == 2 * people.len() as i64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(delivered(&env), 2 * people.len() as i64);
    // Each instance recorded its requests' steps in fewer transactions than steps.
    for report in [stop_report(a), stop_report(b)] {
        let steps = report["steps"].as_u64().unwrap_or(0);
        let transactions = report["transactions"].as_u64().unwrap_or(0);
        assert_eq!(report["failed_transactions"], 0, "{report}");
        // Per person: token, 2 credentials, 2 deliveries.
        assert!(steps >= 5 * 16, "{report}");
        assert!(transactions < steps, "{report}");
        assert!(report["largest_transaction"].as_u64() > Some(1), "{report}");
    }
    env.run(&["audit", "verify"]).assert_ok();
}

#[test]
fn a_kill_with_requests_in_flight_loses_no_credential_a_wallet_received() {
    let env = Env::new();
    env.init();
    let mut server = serve(&env, &["--rate-limit", "0"], &[]);
    let people = staff_with_offers(&env, 24, &server.url);
    let wallets: Vec<(String, SoftwareSigner, String)> = people
        .iter()
        .map(|(n, offer)| {
            let phone = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
            let token = get_token(&server, offer, &phone);
            (n.clone(), phone, token)
        })
        .collect();
    let bodies: Vec<Value> = wallets
        .iter()
        .map(|(_, phone, _)| {
            request_body(&server, "worker_id", phone, &c_nonce(&server), now(), None)
        })
        .collect();
    let port = server.port;
    let (first, first_answer) = std::sync::mpsc::channel::<()>();
    let answers: Vec<Option<String>> = std::thread::scope(|scope| {
        let requests: Vec<_> = wallets
            .iter()
            .zip(&bodies)
            .map(|((_, phone, token), body)| {
                let first = first.clone();
                scope.spawn(move || {
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
                    let text = response.body_mut().read_to_string().ok()?;
                    let value: Value = serde_json::from_str(&text).ok()?;
                    let credential = value["credentials"][0]["credential"]
                        .as_str()
                        .map(str::to_owned);
                    let _ = first.send(());
                    credential
                })
            })
            .collect();
        // The kill lands just after the first answer, with the others in flight.
        assert!(first_answer.recv_timeout(Duration::from_secs(30)).is_ok());
        std::thread::sleep(Duration::from_millis(OsRng.next_u64() % 10));
        server.kill9();
        requests
            .into_iter()
            .map(|r| r.join().unwrap_or(None))
            .collect()
    });
    env.run(&["audit", "verify"]).assert_ok();
    assert_eq!(duplicate_status_indices(&env), vec![]);
    for ((n, _, _), answer) in wallets.iter().zip(&answers) {
        let count = credential_count(&env, n);
        assert!(count <= 1, "{n}");
        if let Some(text) = answer {
            assert_eq!(count, 1, "{n}: answered, so recorded");
            assert_eq!(&stored_texts(&env, n).0, text, "{n}");
        }
    }
    // Everyone's retry gets a worker ID, from one issuance each.
    let server = serve_on(&env, port, &["--rate-limit", "0"], &[]);
    for ((n, phone, token), answer) in wallets.iter().zip(&answers) {
        let body = request_body(&server, "worker_id", phone, &c_nonce(&server), now(), None);
        let text = credential_of(&credential_request(&server, token, phone, &body));
        if let Some(first) = answer {
            assert_eq!(&text, first, "{n}: the retry gets the same credential");
        }
        assert_eq!(credential_count(&env, n), 1, "{n}");
    }
    env.run(&["audit", "verify"]).assert_ok();
}

/// A nonce is stateless (any instance, and a restarted one, accepts it) but single use: once a
/// credential request used it, on any instance, before or after a restart, it is refused, and a
/// refused request (a second phone key) uses it up too.
#[test]
fn a_c_nonce_serves_once_across_instances_and_restarts() {
    let env = setup();
    let mut a = serve(&env, &[], &[]);
    let b = serve(&env, &[], &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let offer = make_offer(&env, &a, "MOT-0001", &[]);
    let token = get_token(&a, &offer, &phone);
    let used = c_nonce(&a);
    let kept = c_nonce(&a);
    let body = |server: &Server, configuration: &str, nonce: &str| {
        request_body(server, configuration, &phone, nonce, now(), None)
    };
    credential_of(&credential_request(
        &a,
        &token,
        &phone,
        &body(&a, "worker_id", &used),
    ));
    let refused = |server: &Server, nonce: &str| {
        let answer = credential_request(server, &token, &phone, &body(server, "gate_pass", nonce));
        assert_error(&answer, 400, "invalid_nonce");
        assert_eq!(
            answer.body["error_description"],
            "c_nonce is unknown, used or expired; get a new one"
        );
    };
    // The used nonce, at the other instance (same directory); the proof's aud is that instance.
    let b_body = request_body(&b, "gate_pass", &phone, &used, now(), None);
    let b_token = get_token(&b, &make_offer(&env, &b, "MOT-0002", &[]), &phone);
    assert_error(
        &credential_request(&b, &b_token, &phone, &b_body),
        400,
        "invalid_nonce",
    );
    // A restart (kill -9) forgets nothing.
    a.kill9();
    let a = serve_on(&env, a.port, &[], &[]);
    refused(&a, &used);
    // A nonce handed out before the restart and not used is still good, once.
    credential_of(&credential_request(
        &a,
        &token,
        &phone,
        &body(&a, "gate_pass", &kept),
    ));
    refused(&a, &kept);
    // A request refused after its nonce passed (another phone key) uses it up.
    let other = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let denied_nonce = c_nonce(&a);
    let denied = request_body(&a, "gate_pass", &other, &denied_nonce, now(), None);
    assert_error(
        &credential_request(&a, &token, &phone, &denied),
        400,
        "credential_request_denied",
    );
    refused(&a, &denied_nonce);
    // Altered, or of another directory's key: unknown.
    let mut altered = c_nonce(&a).into_bytes();
    if let Some(last) = altered.last_mut() {
        *last = if *last == b'A' { b'B' } else { b'A' };
    }
    refused(&a, &String::from_utf8(altered).unwrap_or_default());
    let elsewhere = setup();
    let foreign = serve(&elsewhere, &[], &[]);
    refused(&a, &c_nonce(&foreign));
    env.run(&["audit", "verify"]).assert_ok();
}

/// A DPoP proof that passed its check serves one request even when the request is refused for
/// something else (an unknown configuration, a malformed body): replaying it with a good body
/// is refused, on the other instance and after a restart too.
#[test]
fn the_dpop_proof_of_a_refused_request_cannot_be_replayed() {
    let env = setup();
    let mut a = serve(&env, &[], &[]);
    let b = serve(&env, &[], &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let offer = make_offer(&env, &a, "MOT-0001", &[]);
    let token = get_token(&a, &offer, &phone);
    let proof = dpop(
        &phone,
        &format!("{}/credential", a.url),
        Some(&token),
        now(),
    );
    let unknown = request_body(&a, "passport", &phone, &c_nonce(&a), now(), None);
    assert_error(
        &credential_request_with_proof(&a, &token, &proof, &unknown),
        400,
        "unknown_credential_configuration",
    );
    let replayed = |a: &Answer| {
        assert_error(a, 401, "invalid_dpop_proof");
        assert_eq!(
            a.body["error_description"],
            "DPoP proof jti was used before"
        );
    };
    let good =
        |server: &Server| request_body(server, "worker_id", &phone, &c_nonce(server), now(), None);
    replayed(&credential_request_with_proof(
        &a,
        &token,
        &proof,
        &good(&a),
    ));
    // A proof for the other instance's URL, refused there for a malformed body, then replayed
    // there with a good one.
    let b_token = get_token(&b, &make_offer(&env, &b, "MOT-0002", &[]), &phone);
    let b_proof = dpop(
        &phone,
        &format!("{}/credential", b.url),
        Some(&b_token),
        now(),
    );
    assert_error(
        &credential_request_with_proof(&b, &b_token, &b_proof, &serde_json::json!([1])),
        400,
        "invalid_credential_request",
    );
    replayed(&credential_request_with_proof(
        &b,
        &b_token,
        &b_proof,
        &good(&b),
    ));
    a.kill9();
    let a = serve_on(&env, a.port, &[], &[]);
    replayed(&credential_request_with_proof(
        &a,
        &token,
        &proof,
        &good(&a),
    ));
    // The refusals issued nothing; a fresh proof still works.
    assert_eq!(credential_count(&env, "MOT-0001"), 0);
    credential_of(&credential_request(&a, &token, &phone, &good(&a)));
    env.run(&["audit", "verify"]).assert_ok();
}

/// DPoP proof ids an earlier version of the service kept (in `vci_dpop_jtis`) are still refused
/// after the upgrade: `serve` moves them at start. (An `issuer.db` upgrade: on SQLite whatever
/// the engine under test.)
#[test]
fn proof_ids_recorded_before_the_upgrade_stay_used() {
    let env = setup_in(Env::on_sqlite());
    let mut server = serve(&env, &[], &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let first = make_offer(&env, &server, "MOT-0001", &[]);
    let second = make_offer(&env, &server, "MOT-0002", &[]);
    let proof = dpop(&phone, &format!("{}/token", server.url), None, now());
    let post_token = |server: &Server, offer: &Offer| {
        call(
            "POST",
            &format!("{}/token", server.url),
            &[("DPoP", &proof)],
            Some(token_form(&offer.code, &offer.pin)),
        )
    };
    assert_eq!(post_token(&server, &first).status, 200);
    server.kill9();
    // As the earlier version stored it.
    ok(env.db().execute_batch(
        "INSERT INTO vci_dpop_jtis(jti_sha256, expires_at)
           SELECT jti_sha256, expires_at FROM vci_used_jtis;
         DELETE FROM vci_used_jtis;",
    ));
    let server = serve_on(&env, server.port, &[], &[]);
    let a = post_token(&server, &second);
    assert_error(&a, 400, "invalid_dpop_proof");
    assert_eq!(
        a.body["error_description"],
        "DPoP proof jti was used before"
    );
    let left: i64 = ok(env
        .db()
        .query_row("SELECT COUNT(*) FROM vci_dpop_jtis", [], |r| r.get(0)));
    assert_eq!(left, 0);
}

/// Two instances on one database (replicas, on PostgreSQL in the `45-issuer-postgres` pass):
/// wrong PINs count against the one offer whichever instance each try reaches, the fifth kills
/// it at both; a code exchanged at one is spent at the other; a `c_nonce` made by one is
/// honoured by the other, once.
#[test]
fn replicas_share_pin_tries_codes_and_nonces() {
    let env = setup();
    let a = serve(&env, &[], &[]);
    let b = serve(&env, &[], &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let wrong_pin = |offer: &Offer| {
        if offer.pin == "000000" {
            "111111"
        } else {
            "000000"
        }
        .to_owned()
    };
    let description = |answer: &Answer| {
        answer.body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    // Five wrong PINs, alternating: the count is the offer's, not an instance's.
    let dead = make_offer(&env, &a, "MOT-0001", &[]);
    let wrong = wrong_pin(&dead);
    for (i, left) in (0..5).rev().enumerate() {
        let at = if i % 2 == 0 { &a } else { &b };
        let answer = token_request(at, &dead, &wrong, None);
        assert_error(&answer, 400, "invalid_grant");
        let expected = if left == 0 {
            "wrong transaction code; 0 tries left; offer is no longer usable".to_owned()
        } else {
            format!("wrong transaction code; {left} tries left")
        };
        assert_eq!(description(&answer), expected);
    }
    for at in [&a, &b] {
        let answer = token_request(at, &dead, &dead.pin, None);
        assert_error(&answer, 400, "invalid_grant");
        assert_eq!(description(&answer), "offer is no longer usable");
    }

    // One wrong try at b, the right PIN at a: spent at both.
    let offer = make_offer(&env, &b, "MOT-0002", &[]);
    let answer = token_request(&b, &offer, &wrong_pin(&offer), None);
    assert_eq!(description(&answer), "wrong transaction code; 4 tries left");
    let token = get_token(&a, &offer, &phone);
    for at in [&a, &b] {
        let answer = token_request(at, &offer, &offer.pin, None);
        assert_error(&answer, 400, "invalid_grant");
        assert_eq!(description(&answer), "pre-authorized code already used");
    }

    // A nonce from a, used at b with a's token (the proof's aud is b), then refused at a.
    let nonce = c_nonce(&a);
    let body = request_body(&b, "worker_id", &phone, &nonce, now(), None);
    let credential = credential_of(&credential_request(&b, &token, &phone, &body));
    assert!(credential.contains('~'), "an SD-JWT: {credential}");
    let again = request_body(&a, "gate_pass", &phone, &nonce, now(), None);
    let answer = credential_request(&a, &token, &phone, &again);
    assert_error(&answer, 400, "invalid_nonce");
    assert_eq!(
        description(&answer),
        "c_nonce is unknown, used or expired; get a new one"
    );
    assert!(duplicate_status_indices(&env).is_empty());
    env.run(&["audit", "verify"]).assert_ok();
}

//! `govid-issuer serve` against a misbehaving or unlucky wallet: a replayed DPoP proof (also
//! after a restart), PIN guessing past the per-client rate limit, an offer whose `GVE1:` code
//! enrolled another phone, and a new offer after a phone was bound. Each refusal is checked by
//! its OAuth error code and HTTP status.

mod common;
mod wallet;

use common::{now, ok};
use govid_core::enrollment::make_key_proof;
use govid_core::jose::{Algorithm, Signer, SoftwareSigner};
use rand_core::OsRng;
use serde_json::Value;
use wallet::*;

/// DPoP `jti`s are kept in `issuer.db` until the proof could no longer pass the `iat` check, so
/// a proof replayed after a restart of the service is refused as before.
#[test]
fn replayed_dpop_proof_is_refused_also_after_a_restart() {
    let env = setup();
    let mut server = serve(&env, &[], &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let first = make_offer(&env, &server, "MOT-0001", &[]);
    let second = make_offer(&env, &server, "MOT-0002", &[]);
    let token_url = format!("{}/token", server.url);
    let token_proof = dpop(&phone, &token_url, None, now());
    let post_token = |server: &Server, offer: &Offer| {
        call(
            "POST",
            &format!("{}/token", server.url),
            &[("DPoP", &token_proof)],
            Some(token_form(&offer.code, &offer.pin)),
        )
    };
    let a = post_token(&server, &first);
    assert_eq!(a.status, 200, "{}", a.body);
    let token = a.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The same proof with another (good) code: refused for the proof, the code stays unused.
    let replayed = |a: &Answer, status: u16| {
        assert_error(a, status, "invalid_dpop_proof");
        assert_eq!(
            a.body["error_description"],
            "DPoP proof jti was used before"
        );
    };
    replayed(&post_token(&server, &second), 400);
    // At the credential endpoint: the same proof twice (each time with a fresh c_nonce).
    let credential_proof = dpop(
        &phone,
        &format!("{}/credential", server.url),
        Some(&token),
        now(),
    );
    let body = |server: &Server, configuration: &str| {
        request_body(server, configuration, &phone, &c_nonce(server), now(), None)
    };
    let a = credential_request_with_proof(
        &server,
        &token,
        &credential_proof,
        &body(&server, "worker_id"),
    );
    credential_of(&a);
    let a = credential_request_with_proof(
        &server,
        &token,
        &credential_proof,
        &body(&server, "gate_pass"),
    );
    replayed(&a, 401);
    assert!(a
        .www_authenticate
        .unwrap_or_default()
        .starts_with("DPoP error=\"invalid_dpop_proof\""));
    // A restart forgets nothing.
    server.kill9();
    let server = serve_on(&env, server.port, &[], &[]);
    replayed(&post_token(&server, &second), 400);
    let a = credential_request_with_proof(
        &server,
        &token,
        &credential_proof,
        &body(&server, "gate_pass"),
    );
    replayed(&a, 401);
    // Fresh proofs still work: the second code and the gate pass.
    assert_eq!(
        token_request(&server, &second, &second.pin, Some(&phone)).status,
        200
    );
    credential_of(&credential_request(
        &server,
        &token,
        &phone,
        &body(&server, "gate_pass"),
    ));
    env.run(&["audit", "verify"]).assert_ok();
}

/// PIN guessing at `/token`: past the burst (20) a client gets 429 with `Retry-After`, while
/// another client address is served as usual.
#[test]
fn token_rate_limit_holds_back_one_client_only() {
    let env = setup();
    let server = serve(&env, &[], &[]);
    let offer = make_offer(&env, &server, "MOT-0001", &[]);
    let guesser = [127, 0, 0, 1];
    let mut answers = Vec::new();
    for i in 0..30 {
        // Unknown codes, so the guesses do not end the real offer first (5 wrong PINs do).
        let code = format!("{}{i:02}", "g".repeat(41));
        answers.push(post_form_from(
            guesser,
            &server,
            "/token",
            token_form(&code, "123456"),
        ));
    }
    for a in &answers[..20] {
        assert_eq!(
            (a.status, a.body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    let limited: Vec<&RawAnswer> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(limited.len() >= 5, "{} answers were 429", limited.len());
    for a in &limited {
        assert_eq!(a.body["error"], "slow_down");
        assert_eq!(a.retry_after.as_deref(), Some("1"));
    }
    // Another client, at the same moment: its (right) PIN is taken.
    let other = post_form_from(
        [127, 0, 0, 2],
        &server,
        "/token",
        token_form(&offer.code, &offer.pin),
    );
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(other.body["token_type"], "Bearer");
    assert!(other.retry_after.is_none());
}

/// `count` guesses at `/token` from 127.0.0.1, each with `X-Forwarded-For: xff`: how many were
/// answered 429.
fn guesses(server: &Server, xff: &str, count: usize) -> usize {
    (0..count)
        .map(|i| {
            let code = format!("{}{i:02}", "h".repeat(41));
            post_form_with(
                [127, 0, 0, 1],
                server,
                "/token",
                token_form(&code, "123456"),
                &[("X-Forwarded-For", xff)],
            )
        })
        .filter(|a| a.status == 429)
        .count()
}

/// Behind a reverse proxy every phone arrives from the proxy's address: with `--trusted-proxy`
/// the limit applies to the address the proxy names, so one guesser does not hold back
/// everyone; without it, `X-Forwarded-For` is whatever the client claims and is ignored.
#[test]
fn behind_a_trusted_proxy_the_limit_is_per_forwarded_client() {
    let env = setup();
    let proxied = serve(&env, &["--trusted-proxy", "127.0.0.1"], &[]);
    assert!(guesses(&proxied, "192.0.2.7", 30) >= 5);
    // Another phone behind the same proxy is not held back.
    assert_eq!(guesses(&proxied, "198.51.100.1, 192.0.2.8", 1), 0);
    drop(proxied);

    let direct = serve(&env, &[], &[]);
    assert!(guesses(&direct, "192.0.2.7", 30) >= 5);
    // Not a trusted proxy: a new X-Forwarded-For is no way around the limit.
    assert_eq!(guesses(&direct, "192.0.2.9", 1), 1);
}

/// `--rate-limit 0` turns the per-client limit off (a load test, or limits kept at the proxy).
#[test]
fn rate_limit_zero_turns_the_limit_off() {
    let env = setup();
    let server = serve(&env, &["--rate-limit", "0"], &[]);
    assert_eq!(guesses(&server, "192.0.2.7", 40), 0);
}

/// The `GVE1:` code of an offer and its OpenID4VCI offer are two ways to the same enrollment:
/// once the code enrolled a phone, another phone key gets nothing through the OpenID4VCI offer.
#[test]
fn gve1_enrollment_then_openid4vci_with_another_key_is_denied() {
    let env = setup();
    let server = serve(&env, &[], &[]);
    let enroll = |offer: &Offer, phone: &SoftwareSigner| {
        let proof = ok(make_key_proof(
            &offer.enrollment.code,
            &offer.enrollment.issuer,
            now(),
            phone,
        ));
        let path = env.write(
            &format!("proof-{}.jwt", phone.public_key().thumbprint()),
            &proof,
        );
        env.run(&["enroll", "--proof", path.to_str().unwrap_or_default()])
            .assert_ok();
    };
    let thumbprint = |n: &str| {
        env.run(&["--json", "staff", "show", n]).assert_ok().json()["holder_key_thumbprint"].clone()
    };
    // Enrolled by code first: the pre-authorized code is used up with it.
    let offer = make_offer(&env, &server, "MOT-0001", &[]);
    let by_code = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    enroll(&offer, &by_code);
    let other = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let a = token_request(&server, &offer, &offer.pin, Some(&other));
    assert_error(&a, 400, "invalid_grant");
    assert_eq!(
        a.body["error_description"],
        "pre-authorized code already used"
    );
    // The token redeemed first, then the code enrolls a phone, then the token's holder asks with
    // another key: denied, and the enrolled key stays.
    let offer = make_offer(&env, &server, "MOT-0002", &[]);
    let token = get_token(&server, &offer, &other);
    enroll(
        &offer,
        &SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng),
    );
    let enrolled = thumbprint("MOT-0002");
    let body = request_body(&server, "worker_id", &other, &c_nonce(&server), now(), None);
    let a = credential_request(&server, &token, &other, &body);
    assert_error(&a, 400, "credential_request_denied");
    assert_eq!(thumbprint("MOT-0002"), enrolled);
    assert_eq!(credential_count(&env, "MOT-0002"), 0);
    // The same phone key on both ways is served.
    let offer = make_offer(&env, &server, "MOT-0003", &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let token = get_token(&server, &offer, &phone);
    enroll(&offer, &phone);
    let body = request_body(&server, "worker_id", &phone, &c_nonce(&server), now(), None);
    credential_of(&credential_request(&server, &token, &phone, &body));
    assert_eq!(
        thumbprint("MOT-0003"),
        Value::String(phone.public_key().thumbprint())
    );
    env.run(&["audit", "verify"]).assert_ok();
}

/// `offer N` after a phone was bound (a lost phone): the new offer's phone key receives, as
/// `issue --reissue` would (the earlier IDs superseded and revoked); the old offer is dead, its
/// code and its still-unexpired access token alike.
#[test]
fn new_offer_after_a_bound_phone_reissues_and_ends_the_old_offer() {
    let env = setup();
    let server = serve(&env, &[], &[]);
    let old_phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let old = make_offer(&env, &server, "MOT-0001", &[]);
    let old_token = get_token(&server, &old, &old_phone);
    let body = |phone: &SoftwareSigner, configuration: &str| {
        request_body(
            &server,
            configuration,
            phone,
            &c_nonce(&server),
            now(),
            None,
        )
    };
    for configuration in ["worker_id", "gate_pass"] {
        credential_of(&credential_request(
            &server,
            &old_token,
            &old_phone,
            &body(&old_phone, configuration),
        ));
    }
    let new = make_offer(&env, &server, "MOT-0001", &[]);
    // The old offer: its code and its token.
    let a = token_request(&server, &old, &old.pin, None);
    assert_error(&a, 400, "invalid_grant");
    let a = credential_request(
        &server,
        &old_token,
        &old_phone,
        &body(&old_phone, "worker_id"),
    );
    assert_error(&a, 400, "credential_request_denied");
    assert_eq!(
        a.body["error_description"],
        "offer was replaced by a newer one"
    );
    // The new phone.
    let new_phone = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let token = get_token(&server, &new, &new_phone);
    for configuration in ["worker_id", "gate_pass"] {
        let text = credential_of(&credential_request(
            &server,
            &token,
            &new_phone,
            &body(&new_phone, configuration),
        ));
        let jws = ok(govid_core::jose::CompactJws::parse(
            text.split('~').next().unwrap_or_default(),
            16,
        ));
        let payload = ok(jws.payload_object(16));
        assert_eq!(payload["cnf"]["jwk"], new_phone.public_key().to_jwk());
    }
    let shown = env
        .run(&["--json", "staff", "show", "MOT-0001"])
        .assert_ok()
        .json();
    assert_eq!(
        shown["holder_key_thumbprint"],
        new_phone.public_key().thumbprint()
    );
    let credentials = shown["credentials"].as_array().cloned().unwrap_or_default();
    assert_eq!(credentials.len(), 2, "{shown}");
    let by_state = |status: &str| {
        credentials
            .iter()
            .filter(|c| c["status"] == status)
            .collect::<Vec<_>>()
    };
    let (valid, revoked) = (by_state("valid"), by_state("revoked"));
    assert_eq!((valid.len(), revoked.len()), (1, 1), "{shown}");
    assert_eq!(revoked[0]["reason"], "superseded");
    assert!(!revoked[0]["superseded_at"].is_null());
    assert_ne!(valid[0]["status_list"], revoked[0]["status_list"]);
    // The old phone cannot come back through the new offer either (its code is used).
    let a = token_request(&server, &new, &new.pin, Some(&old_phone));
    assert_error(&a, 400, "invalid_grant");
    assert!(duplicate_status_indices(&env).is_empty());
    env.run(&["audit", "verify"]).assert_ok();
}

//! `govid-issuer serve` as an OpenID4VCI 1.0 issuer, driven over loopback like a wallet: the
//! pre-authorized code flow with DPoP, for both configurations and both phone key types, and
//! every refusal with its exact error code and HTTP status.

mod common;
mod wallet;

use common::{now, ok};
use govid_core::b64;
use govid_core::jose::{Algorithm, CompactJws, Signer, SoftwareSigner};
use govid_core::oid4vci::proof::make_proof;
use rand_core::OsRng;
use serde_json::json;
use wallet::*;

#[test]
fn metadata_follows_the_contract() {
    let env = setup();
    let server = serve(&env, &[], &[]);
    let m = call(
        "GET",
        &format!("{}/.well-known/openid-credential-issuer", server.url),
        &[],
        None,
    );
    assert_eq!(m.status, 200);
    assert_eq!(m.body["credential_issuer"], server.url);
    assert_eq!(
        m.body["credential_endpoint"],
        format!("{}/credential", server.url)
    );
    assert_eq!(m.body["nonce_endpoint"], format!("{}/nonce", server.url));
    assert_eq!(m.body["display"][0]["locale"], "ko");
    let w = &m.body["credential_configurations_supported"]["worker_id"];
    assert_eq!(w["format"], "dc+sd-jwt");
    assert_eq!(
        w["credential_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
    assert_eq!(
        w["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    let a = call(
        "GET",
        &format!("{}/.well-known/oauth-authorization-server", server.url),
        &[],
        None,
    );
    assert_eq!(a.body["token_endpoint"], format!("{}/token", server.url));
    assert_eq!(
        a.body["pre-authorized_grant_anonymous_access_supported"],
        true
    );
    let t = call(
        "GET",
        &format!("{}/vct/worker-id/v1", server.url),
        &[],
        None,
    );
    assert_eq!(t.body["vct"], govid_core::credential::WORKER_ID_VCT);
}

/// Both configurations, ES256 and EdDSA phone keys: the credentials are signed by the issuer
/// key, bound to the phone key, recorded as delivered, and `audit verify` and `revoke` work.
#[test]
fn happy_path_both_configurations_both_key_types() {
    let env = setup();
    let server = serve(&env, &[], &[]);
    let issuer_keys = env.issuer_keys();
    for (n, alg) in [
        ("MOT-0001", Algorithm::ES256),
        ("MOT-0002", Algorithm::EdDSA),
    ] {
        let offer = make_offer(&env, &server, n, &[]);
        let phone = SoftwareSigner::generate(alg, &mut OsRng);
        let token = get_token(&server, &offer, &phone);
        let mut notification = String::new();
        for configuration in ["worker_id", "gate_pass"] {
            let body = request_body(
                &server,
                configuration,
                &phone,
                &c_nonce(&server),
                now(),
                None,
            );
            let a = credential_request(&server, &token, &phone, &body);
            assert_eq!(a.status, 200, "{}", a.body);
            let sd_jwt = a.body["credentials"][0]["credential"]
                .as_str()
                .unwrap_or_default();
            let jws = ok(CompactJws::parse(
                sd_jwt.split('~').next().unwrap_or_default(),
                16,
            ));
            let (_, key) = issuer_keys
                .iter()
                .find(|(kid, _)| Some(kid.as_str()) == jws.header.kid.as_deref())
                .unwrap_or_else(|| panic!("unknown kid"));
            ok(jws.verify(key, &Algorithm::ALL));
            let payload = ok(jws.payload_object(16));
            let vct = if configuration == "worker_id" {
                govid_core::credential::WORKER_ID_VCT
            } else {
                govid_core::credential::GATE_PASS_VCT
            };
            assert_eq!(payload["vct"], vct);
            assert_eq!(payload["cnf"]["jwk"], phone.public_key().to_jwk());
            notification = a.body["notification_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        let auth = format!("DPoP {token}");
        let url = format!("{}/notification", server.url);
        let proof = dpop(&phone, &url, Some(&token), now());
        let a = call(
            "POST",
            &url,
            &[("Authorization", &auth), ("DPoP", &proof)],
            Some((
                "application/json",
                json!({"notification_id": notification, "event": "credential_accepted"})
                    .to_string(),
            )),
        );
        assert_eq!(a.status, 204);
        let proof = dpop(&phone, &url, Some(&token), now());
        let a = call(
            "POST",
            &url,
            &[("Authorization", &auth), ("DPoP", &proof)],
            Some((
                "application/json",
                json!({"notification_id": "nope", "event": "credential_accepted"}).to_string(),
            )),
        );
        assert_error(&a, 400, "invalid_notification_id");
    }
    // Delivery is recorded once the response was sent whole (just after the client read it).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let shown = env.run(&["staff", "show", "MOT-0001"]).assert_ok();
    assert!(
        shown.stdout.contains("received on phone at"),
        "{}",
        shown.stdout
    );
    env.run(&["audit", "verify"]).assert_ok();
    env.run(&["revoke", "MOT-0001", "--reason", "left", "--yes"])
        .assert_ok();
    let shown = env
        .run(&["--json", "staff", "show", "MOT-0001"])
        .assert_ok()
        .json();
    assert_eq!(shown["credentials"][0]["status"], "revoked");
    env.run(&["audit", "verify"]).assert_ok();
}

#[test]
fn token_refusals() {
    let env = setup();
    let server = serve(&env, &[], &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    // Wrong PIN: tries left; the fifth kills the offer; the sixth is told so.
    let offer = make_offer(&env, &server, "MOT-0001", &[]);
    let wrong = if offer.pin == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (0..5).rev() {
        let a = token_request(&server, &offer, wrong, None);
        assert_error(&a, 400, "invalid_grant");
        let d = a.body["error_description"].as_str().unwrap_or_default();
        if left > 0 {
            assert!(d.contains(&format!("{left} tries left")), "{d}");
        }
    }
    let a = token_request(&server, &offer, &offer.pin, None);
    assert_error(&a, 400, "invalid_grant");
    assert_eq!(a.body["error_description"], "offer is no longer usable");
    // Reused code.
    let offer = make_offer(&env, &server, "MOT-0002", &[]);
    get_token(&server, &offer, &phone);
    assert_error(
        &token_request(&server, &offer, &offer.pin, None),
        400,
        "invalid_grant",
    );
    // Unknown code, missing tx_code, wrong grant type.
    let unknown = Offer {
        code: "x".repeat(43),
        pin: offer.pin.clone(),
        enrollment: offer.enrollment.clone(),
    };
    assert_error(
        &token_request(&server, &unknown, &offer.pin, None),
        400,
        "invalid_grant",
    );
    let url = format!("{}/token", server.url);
    let a = call(
        "POST",
        &url,
        &[],
        Some(form(&[
            ("grant_type", GRANT),
            ("pre-authorized_code", "abc"),
        ])),
    );
    assert_error(&a, 400, "invalid_request");
    let a = call(
        "POST",
        &url,
        &[],
        Some(form(&[
            ("grant_type", "authorization_code"),
            ("code", "abc"),
        ])),
    );
    assert_error(&a, 400, "unsupported_grant_type");
    // Oversized body.
    let big = ("application/x-www-form-urlencoded", "a".repeat(20_000));
    assert_error(&call("POST", &url, &[], Some(big)), 413, "invalid_request");
    // An invalid DPoP proof (for another URL).
    let offer = make_offer(&env, &server, "MOT-0003", &[]);
    let bad = dpop(&phone, &format!("{}/credential", server.url), None, now());
    let a = call(
        "POST",
        &url,
        &[("DPoP", &bad)],
        Some(form(&[
            ("grant_type", GRANT),
            ("pre-authorized_code", &offer.code),
            ("tx_code", &offer.pin),
        ])),
    );
    assert_error(&a, 400, "invalid_dpop_proof");
}

#[test]
fn expired_offer_is_invalid_grant() {
    let env = setup();
    let then = now() - 8 * 86_400;
    let then_text = then.to_string();
    let past = [("GOVID_ISSUER_NOW", then_text.as_str())];
    // A service whose clock says 8 days ago serves the offer; today's refuses its code.
    let before = serve(&env, &[], &past);
    let offer = make_offer(&env, &before, "MOT-0001", &past);
    let server = serve(&env, &[], &[]);
    let a = token_request(&server, &offer, &offer.pin, None);
    assert_error(&a, 400, "invalid_grant");
    assert_eq!(a.body["error_description"], "pre-authorized code expired");
}

#[test]
fn require_dpop_refuses_a_missing_proof_and_a_bearer_token() {
    let env = setup();
    let server = serve(&env, &["--require-dpop"], &[]);
    let offer = make_offer(&env, &server, "MOT-0001", &[]);
    let a = token_request(&server, &offer, &offer.pin, None);
    assert_error(&a, 400, "invalid_dpop_proof");
    let phone = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let token = get_token(&server, &offer, &phone);
    // The same token without its proof, and as Bearer.
    let url = format!("{}/credential", server.url);
    let body =
        request_body(&server, "worker_id", &phone, &c_nonce(&server), now(), None).to_string();
    let auth = format!("DPoP {token}");
    let a = call(
        "POST",
        &url,
        &[("Authorization", &auth)],
        Some(("application/json", body.clone())),
    );
    assert_error(&a, 401, "invalid_dpop_proof");
    assert!(a
        .www_authenticate
        .unwrap_or_default()
        .starts_with("DPoP error=\"invalid_dpop_proof\""));
    let bearer = format!("Bearer {token}");
    let a = call(
        "POST",
        &url,
        &[("Authorization", &bearer)],
        Some(("application/json", body)),
    );
    assert_error(&a, 401, "invalid_token");
}

#[test]
fn credential_refusals() {
    let env = setup();
    let server = serve(&env, &[], &[]);
    let phone = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let offer = make_offer(&env, &server, "MOT-0001", &[]);
    let token = get_token(&server, &offer, &phone);
    // Token used with another DPoP key.
    let other = SoftwareSigner::generate(Algorithm::ES256, &mut OsRng);
    let body = request_body(&server, "worker_id", &phone, &c_nonce(&server), now(), None);
    let a = credential_request(&server, &token, &other, &body);
    assert_error(&a, 401, "invalid_token");
    assert!(a
        .www_authenticate
        .unwrap_or_default()
        .starts_with("DPoP error=\"invalid_token\""));
    // Stale iat, wrong aud.
    let body = request_body(
        &server,
        "worker_id",
        &phone,
        &c_nonce(&server),
        now() - 120,
        None,
    );
    assert_error(
        &credential_request(&server, &token, &phone, &body),
        400,
        "invalid_proof",
    );
    let body = request_body(
        &server,
        "worker_id",
        &phone,
        &c_nonce(&server),
        now(),
        Some("https://other.example"),
    );
    assert_error(
        &credential_request(&server, &token, &phone, &body),
        400,
        "invalid_proof",
    );
    // Unknown nonce; a nonce used twice.
    let body = request_body(&server, "worker_id", &phone, "not-a-nonce", now(), None);
    assert_error(
        &credential_request(&server, &token, &phone, &body),
        400,
        "invalid_nonce",
    );
    // Signed by another key than its header's.
    let proof = ok(make_proof(
        &server.url,
        now(),
        Some(&c_nonce(&server)),
        &phone,
    ));
    let input = proof
        .rsplit_once('.')
        .map(|(i, _)| i.to_owned())
        .unwrap_or_default();
    let forged = format!("{input}.{}", b64::encode(ok(other.sign(input.as_bytes()))));
    let body = json!({"credential_configuration_id": "worker_id", "proofs": {"jwt": [forged]}});
    assert_error(
        &credential_request(&server, &token, &phone, &body),
        400,
        "invalid_proof",
    );
    // Unknown configuration; malformed body; oversized body.
    let body = request_body(&server, "passport", &phone, &c_nonce(&server), now(), None);
    assert_error(
        &credential_request(&server, &token, &phone, &body),
        400,
        "unknown_credential_configuration",
    );
    assert_error(
        &credential_request(&server, &token, &phone, &json!([1])),
        400,
        "invalid_credential_request",
    );
    let big = json!({"credential_configuration_id": "worker_id", "x": "a".repeat(20_000)});
    assert_error(
        &credential_request(&server, &token, &phone, &big),
        413,
        "invalid_credential_request",
    );
    // The first good request binds the key; a reused nonce then fails.
    let nonce = c_nonce(&server);
    let body = request_body(&server, "worker_id", &phone, &nonce, now(), None);
    assert_eq!(
        credential_request(&server, &token, &phone, &body).status,
        200
    );
    let body = request_body(&server, "gate_pass", &phone, &nonce, now(), None);
    assert_error(
        &credential_request(&server, &token, &phone, &body),
        400,
        "invalid_nonce",
    );
    // A second phone key for the same person (same token, so its DPoP key; another proof key).
    let body = request_body(&server, "gate_pass", &other, &c_nonce(&server), now(), None);
    assert_error(
        &credential_request(&server, &token, &phone, &body),
        400,
        "credential_request_denied",
    );
    // No token at all.
    let a = call(
        "POST",
        &format!("{}/credential", server.url),
        &[],
        Some(("application/json", "{}".to_owned())),
    );
    assert_error(&a, 401, "invalid_token");
    env.run(&["audit", "verify"]).assert_ok();
}

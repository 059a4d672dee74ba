//! `govid-verifier serve` over real HTTP on loopback: allow, every deny reason, replay, challenge
//! mode, malformed requests, the page and its assets, metrics.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use govid_core::credential::{GateProfile, Validity};
use govid_core::qr::{decode_challenge, encode_presentation};
use govid_core::sdjwt::ClaimPath;
use serde_json::{json, Value};
use serve_common::*;

#[test]
fn allow_shows_only_the_profile_claims() {
    let world = World::new("serve-allow");
    let gate = world.gate("", "", &[]);
    let wallet = world.wallet(IDX_VALID);
    // The holder discloses more than the gate asks for; the answer shows only the profile.
    let mut paths = GateProfile::Entry.claims();
    paths.push(ClaimPath::key("birthdate"));
    let compact = wallet.present(&paths, AUD, &random_nonce(), now());
    let body = gate.verify(&encode_presentation(&compact).unwrap());
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["reason"], "ok");
    assert_eq!(body["credential_status"], "valid");
    assert_eq!(body["issuer"], ISS);
    assert_eq!(body["mode"], "rotating");
    assert_eq!(body["gate"], "test-gate");
    assert_eq!(
        body["disclosed"],
        json!({"given_name": "Amira", "family_name": "Haddad",
               "organization": {"name": "Ministry of Transport", "code": "MOT"}})
    );
    // A compact presentation (not QR-encoded) in JSON is accepted too.
    let compact = wallet.present(&GateProfile::Entry.claims(), AUD, &random_nonce(), now());
    let (status, body) = gate.post(
        "/v1/verify",
        "application/json",
        &json!({ "payload": compact }).to_string(),
    );
    assert_eq!(status, 200);
    assert_eq!(body["decision"], "allow", "{body}");
}

#[test]
fn each_deny_reason_is_named() {
    let world = World::new("serve-deny");
    let gate = world.gate("", "", &[]);
    let valid = world.wallet(IDX_VALID);
    let entry = GateProfile::Entry.claims();

    // Replayed: the same code twice.
    let code = valid.code(AUD);
    assert_eq!(gate.verify(&code)["decision"], "allow");
    assert_deny(&gate.verify(&code), "replayed");

    // Bad signature: one character of the issuer signature changed.
    let compact = valid.present(&entry, AUD, &random_nonce(), now());
    let sig_end = compact.find('~').unwrap();
    let mut bytes = compact.into_bytes();
    bytes[sig_end - 3] = if bytes[sig_end - 3] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_deny(
        &gate.verify(&encode_presentation(&tampered).unwrap()),
        "bad_signature",
    );

    // Expired.
    let t = now();
    let holder = Wallet::holder_key();
    let old = Validity {
        issued_at: t - 400 * 86_400,
        not_before: t - 400 * 86_400,
        expires_at: t - 35 * 86_400,
    };
    let issued = world
        .issuer
        .issue(&amira(), &holder, old, Some((IDX_VALID, &world.status_uri)));
    let expired = Wallet::receive(holder, &issued, &world.issuer, t - 100 * 86_400);
    assert_deny(&gate.verify(&expired.code(AUD)), "expired");

    // Revoked and suspended, from the fetched status list.
    assert_deny(
        &gate.verify(&world.wallet(IDX_REVOKED).code(AUD)),
        "revoked",
    );
    assert_deny(
        &gate.verify(&world.wallet(IDX_SUSPENDED).code(AUD)),
        "suspended",
    );

    // Wrong audience.
    assert_deny(
        &gate.verify(&valid.code("https://gates.test/other")),
        "kb_aud",
    );

    // A KB-JWT older than the replay window.
    let stale = valid.present(&entry, AUD, &random_nonce(), now() - 600);
    assert_deny(
        &gate.verify(&encode_presentation(&stale).unwrap()),
        "kb_iat",
    );

    // Untrusted issuer: another HR office, unknown to this gate.
    let rogue = Issuer::new("did:web:rogue.test");
    let holder = Wallet::holder_key();
    let issued = rogue.issue(
        &amira(),
        &holder,
        valid_now(now()),
        Some((IDX_VALID, &world.status_uri)),
    );
    let rogue_wallet = Wallet::receive(holder, &issued, &rogue, now());
    assert_deny(&gate.verify(&rogue_wallet.code(AUD)), "untrusted_issuer");

    // The holder withheld a claim the gate needs.
    let partial = valid.present(
        &[ClaimPath::key("given_name"), ClaimPath::key("family_name")],
        AUD,
        &random_nonce(),
        now(),
    );
    assert_deny(
        &gate.verify(&encode_presentation(&partial).unwrap()),
        "missing_claim",
    );

    // Not a govid code.
    assert_deny(&gate.verify("GV1:NOT*BASE45"), "bad_qr");
    assert_deny(&gate.verify("GV9:ABC"), "bad_qr");
    assert_deny(&gate.verify("hello"), "malformed");

    // No status list for the credential's URI: unknown status, denied by default.
    let holder = Wallet::holder_key();
    let missing_uri = world.host.url("/status/404");
    let issued = world.issuer.issue(
        &amira(),
        &holder,
        valid_now(now()),
        Some((IDX_VALID, &missing_uri)),
    );
    let unlisted = Wallet::receive(holder, &issued, &world.issuer, now());
    assert_deny(&gate.verify(&unlisted.code(AUD)), "status_unknown");
    assert_eq!(
        gate.verify(&unlisted.code(AUD))["credential_status"],
        "unknown"
    );

    // Denials show nothing of the credential.
    let denied = gate.verify(&world.wallet(IDX_REVOKED).code(AUD));
    assert_eq!(denied["disclosed"], json!({}));
    assert_eq!(denied["credential_status"], "revoked");

    // Every decision was counted by reason.
    let (_, metrics) = gate.get("/metrics", &[]);
    for reason in [
        "ok",
        "replayed",
        "bad_signature",
        "expired",
        "revoked",
        "suspended",
        "kb_aud",
        "kb_iat",
        "untrusted_issuer",
        "missing_claim",
        "bad_qr",
        "status_unknown",
    ] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"")),
            "{reason} missing from metrics:\n{metrics}"
        );
    }
    assert!(metrics.contains("govid_verify_duration_seconds_count"));
    assert!(metrics.contains(&format!(
        "govid_status_list_age_seconds{{uri=\"{}\"}}",
        world.status_uri
    )));
}

#[test]
fn a_credential_type_the_gate_does_not_accept_is_denied() {
    let world = World::new("serve-vct");
    let gate = world.gate(
        "accepted_vct = [\"https://govid.example/vct/visitor/v1\"]",
        "",
        &[],
    );
    assert_deny(
        &gate.verify(&world.wallet(IDX_VALID).code(AUD)),
        "vct_not_accepted",
    );
}

#[test]
fn a_gate_pass_and_a_worker_id_are_accepted_by_default_and_share_the_status() {
    let world = World::new("serve-gate-pass");
    let gate = world.gate("", "", &[]);
    let body = gate.verify(&world.gate_pass_wallet(IDX_VALID).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(
        body["disclosed"],
        json!({"given_name": "Amira", "family_name": "Haddad",
               "organization": {"name": "Ministry of Transport", "code": "MOT"}})
    );
    assert_deny(
        &gate.verify(&world.gate_pass_wallet(IDX_REVOKED).code(AUD)),
        "revoked",
    );
    // The same default gate takes the worker ID too: both of GATE_VCTS.
    let body = gate.verify(&world.wallet(IDX_VALID).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");

    // So does a gate started from flags alone (no config file, no accepted_vct).
    let from_flags = Gate::start(
        &[
            "--listen=127.0.0.1:0".into(),
            format!("--trust-jwk={}", world.jwk_path.display()),
            format!("--aud={AUD}"),
            format!("--status-list={}", world.status_uri),
            "--status-refresh=1".into(),
        ],
        &[],
    );
    from_flags.wait_for_status_list(&world.status_uri);
    for wallet in [world.gate_pass_wallet(IDX_VALID), world.wallet(IDX_VALID)] {
        let body = from_flags.verify(&wallet.code(AUD));
        assert_eq!(body["decision"], "allow", "{body}");
        assert_eq!(body["credential_status"], "valid", "{body}");
    }
    assert_deny(
        &from_flags.verify(&world.gate_pass_wallet(IDX_REVOKED).code(AUD)),
        "revoked",
    );

    let worker_id_only = world.gate(
        "accepted_vct = [\"https://govid.example/vct/worker-id/v1\"]",
        "",
        &[],
    );
    assert_deny(
        &worker_id_only.verify(&world.gate_pass_wallet(IDX_VALID).code(AUD)),
        "vct_not_accepted",
    );
}

#[test]
fn challenge_mode_nonce_is_usable_once() {
    let world = World::new("serve-challenge");
    let gate = world.gate("", "", &[]);
    let wallet = world.wallet(IDX_VALID);
    let (status, body) = gate.post("/v1/challenge", "text/plain", "");
    assert_eq!(status, 200, "{body}");
    let challenge = &body["challenge"];
    let nonce = challenge["nonce"].as_str().unwrap().to_owned();
    assert!(nonce.len() >= 22, "128-bit nonce");
    assert_eq!(challenge["aud"], AUD);
    assert_eq!(
        challenge["claims"],
        json!([
            "given_name",
            "family_name",
            "organization/name",
            "organization/code"
        ])
    );
    let text = body["text"].as_str().unwrap();
    let decoded = decode_challenge(text, now()).unwrap();
    assert_eq!(decoded.nonce, nonce);
    assert!(body["qr_svg"].as_str().unwrap().starts_with("<?xml"));
    assert!(body["qr_png"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));

    let entry = GateProfile::Entry.claims();
    // Found from the KB-JWT's nonce.
    let answer = wallet.present(&entry, AUD, &nonce, now());
    let first = gate.verify(&encode_presentation(&answer).unwrap());
    assert_eq!(first["decision"], "allow", "{first}");
    assert_eq!(first["mode"], "challenge");
    // The same presentation again: the challenge is spent and the KB-JWT is in the replay cache.
    assert_deny(
        &gate.verify(&encode_presentation(&answer).unwrap()),
        "replayed",
    );

    // Named challenge: the request says which challenge it answers.
    let (_, body) = gate.post("/v1/challenge", "text/plain", "");
    let nonce = body["challenge"]["nonce"].as_str().unwrap().to_owned();
    let other = wallet.present(&entry, AUD, &random_nonce(), now());
    let (_, wrong) = gate.post(
        "/v1/verify",
        "application/json",
        &json!({"payload": other, "challenge": nonce}).to_string(),
    );
    assert_deny(&wrong, "kb_nonce");
    let right = wallet.present(&entry, AUD, &nonce, now());
    let (_, ok) = gate.post(
        "/v1/verify",
        "application/json",
        &json!({"payload": right, "challenge": nonce}).to_string(),
    );
    assert_eq!(ok["decision"], "allow", "{ok}");
    let again = wallet.present(&entry, AUD, &nonce, now());
    let (_, spent) = gate.post(
        "/v1/verify",
        "application/json",
        &json!({"payload": again, "challenge": nonce}).to_string(),
    );
    assert_deny(&spent, "challenge_unknown");
}

#[test]
fn challenge_only_gate_refuses_rotating_codes() {
    let world = World::new("serve-challenge-only");
    let gate = world.gate("mode = \"challenge\"", "", &[]);
    let wallet = world.wallet(IDX_VALID);
    assert_deny(&gate.verify(&wallet.code(AUD)), "challenge_unknown");
    let (_, body) = gate.post("/v1/challenge", "text/plain", "");
    let nonce = body["challenge"]["nonce"].as_str().unwrap().to_owned();
    let answer = wallet.present(&GateProfile::Entry.claims(), AUD, &nonce, now());
    assert_eq!(
        gate.verify(&encode_presentation(&answer).unwrap())["decision"],
        "allow"
    );
    // The same nonce again, in a new presentation: spent.
    let again = wallet.present(&GateProfile::Entry.claims(), AUD, &nonce, now());
    assert_deny(
        &gate.verify(&encode_presentation(&again).unwrap()),
        "challenge_unknown",
    );
}

#[test]
fn malformed_requests_get_4xx_and_the_page_is_served() {
    let world = World::new("serve-http");
    let gate = world.gate("", "", &[]);
    let (status, body) = gate.post("/v1/verify", "text/plain", &"A".repeat(20_000));
    assert_eq!((status, body), (413, json!({"error": "too_large"})));
    let (status, body) = gate.post("/v1/verify", "application/xml", "<x/>");
    assert_eq!(
        (status, body),
        (415, json!({"error": "unsupported_media_type"}))
    );
    let (status, body) = gate.post("/v1/verify", "application/json", "{\"payload\": 1}");
    assert_eq!((status, body), (400, json!({"error": "bad_json"})));
    let (status, _) = gate.get("/v1/verify", &[]);
    assert_eq!(status, 405);
    let (status, _) = gate.get("/nope", &[]);
    assert_eq!(status, 404);
    // Arbitrary bytes never crash the server: still a decision, still up.
    for junk in [
        "",
        "~",
        "~~~~",
        "a.b.c~",
        "GV1:",
        "GV1:%%%%",
        "\u{0}\u{1}",
        "ey.ey.ey~ey~",
    ] {
        let body = gate.verify(junk);
        assert_eq!(body["decision"], "deny", "{junk:?}: {body}");
    }

    let (status, page) = gate.get("/", &[]);
    assert_eq!(status, 200);
    assert!(page.contains("/static/vendor/jsQR.js"));
    assert!(page.contains("/static/app.js"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN"
    );
    let (status, js) = gate.get("/static/vendor/jsQR.js", &[]);
    assert_eq!(status, 200);
    assert!(js.contains("jsQR"));
    let (status, _) = gate.get("/static/vendor/jsQR.LICENSE", &[]);
    assert_eq!(status, 200);
    let (status, health) = gate.get("/healthz", &[]);
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
}

#[test]
fn rate_limit_per_client() {
    let world = World::new("serve-rate");
    let mut toml = world.config("", "");
    toml = toml.replace(
        "rate_limit_per_sec = 0",
        "rate_limit_per_sec = 1\nrate_limit_burst = 3",
    );
    let gate = Gate::with_config(&world.dir, &toml, &[]);
    let codes: Vec<u16> = (0..5)
        .map(|_| gate.post("/v1/verify", "text/plain", "GV1:").0)
        .collect();
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    let (_, metrics) = gate.get("/metrics", &[]);
    assert!(metrics.contains("govid_rate_limited_total 2"), "{metrics}");
}

#[test]
fn starts_from_flags_without_a_config_file() {
    let world = World::new("serve-flags");
    let db = world.dir.path("gate.db");
    // The store from a flag too: the SQLite gate log (`--log-db`), or with the PostgreSQL engine
    // a database of the fleet (`--store`).
    let store = match engine::engine() {
        engine::Engine::Sqlite => format!("--log-db={}", db.display()),
        engine::Engine::Postgres { .. } => {
            format!("--store={}", engine::database_in(&world.dir.0))
        }
    };
    // In the world's directory: where a gate without a config file keeps its spool.
    let gate = Gate::start_in(
        &world.dir.0,
        &[
            "--listen=127.0.0.1:0".into(),
            format!("--trust-jwk={}", world.jwk_path.display()),
            format!("--aud={AUD}"),
            "--profile=counter".into(),
            "--require-claims=birthdate".into(),
            store.clone(),
            format!("--status-list={}", world.status_uri),
            "--status-refresh=1".into(),
        ],
        &[],
    );
    gate.wait_for_status_list(&world.status_uri);
    let wallet = world.wallet(IDX_VALID);
    let mut paths = GateProfile::Counter.claims();
    paths.push(ClaimPath::key("birthdate"));
    let compact = wallet.present(&paths, AUD, &random_nonce(), now());
    let body = gate.verify(&encode_presentation(&compact).unwrap());
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["disclosed"]["position"], "Senior Inspector");
    assert_eq!(body["disclosed"]["birthdate"], "1986-04-12");
    // The entry profile's disclosure is not enough at this counter.
    assert_deny(&gate.verify(&wallet.code(AUD)), "missing_claim");
    match store.strip_prefix("--store=") {
        None => {
            assert!(db.exists());
            assert!(world.dir.path("gate.salt").exists());
        }
        Some(url) => {
            assert_eq!(gate.health()["replay"]["fleet"], "ok");
            assert!(world.dir.path("gate.spool").exists());
            gate.wait_for_log();
            let rows = engine::pg_query(
                url,
                "SELECT gate, decision, reason FROM gate_log ORDER BY id",
            );
            let row =
                |g: &str, d: &str, r: &str| vec![Some(g.into()), Some(d.into()), Some(r.into())];
            assert_eq!(
                rows,
                [
                    row("gate", "allow", "ok"),
                    row("gate", "deny", "missing_claim")
                ]
            );
        }
    }
}

#[test]
fn slow_headers_are_cut_off_and_the_gate_stays_up() {
    use std::io::{Read as _, Write as _};
    let world = World::new("serve-slowloris");
    let toml = world.config("", "").replace(
        "rate_limit_per_sec = 0",
        "rate_limit_per_sec = 0\nheader_read_timeout_ms = 500",
    );
    let gate = Gate::with_config(&world.dir, &toml, &[]);
    let mut slow = std::net::TcpStream::connect(gate.addr).unwrap();
    slow.write_all(b"POST /v1/verify HTTP/1.1\r\nHost: gate\r\n")
        .unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    // The server closes the connection (after a 408, or without an answer).
    let _ = slow.read_to_end(&mut buf);
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // Meanwhile and afterwards, others are served.
    gate.wait_for_status_list(&world.status_uri);
    assert_eq!(
        gate.verify(&world.wallet(IDX_VALID).code(AUD))["decision"],
        "allow"
    );
}

#[test]
fn without_the_signature_memo_the_gate_decides_the_same() {
    let world = World::new("serve-no-memo");
    let toml = world.config("", "").replace(
        "rate_limit_per_sec = 0",
        "rate_limit_per_sec = 0\nsignature_cache_entries = 0",
    );
    let gate = Gate::with_config(&world.dir, &toml, &[]);
    gate.wait_for_status_list(&world.status_uri);
    let valid = world.wallet(IDX_VALID);
    let entry = GateProfile::Entry.claims();
    for _ in 0..2 {
        assert_eq!(gate.verify(&valid.code(AUD))["decision"], "allow");
        let compact = valid.present(&entry, AUD, &random_nonce(), now());
        let sig_end = compact.find('~').unwrap();
        let mut bytes = compact.into_bytes();
        bytes[sig_end - 3] = if bytes[sig_end - 3] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_deny(&gate.verify(&tampered), "bad_signature");
    }
    assert_deny(
        &gate.verify(&world.wallet(IDX_REVOKED).code(AUD)),
        "revoked",
    );
}

const CLIENT_A: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
const CLIENT_B: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

#[test]
fn one_client_cannot_hold_every_connection() {
    let world = World::new("serve-conn-cap");
    let toml = world.config("", "").replace(
        "rate_limit_per_sec = 0",
        "rate_limit_per_sec = 0\nmax_connections = 16\nmax_connections_per_client = 2\nheader_read_timeout_ms = 30000",
    );
    // No request before the test's own: a pooled keep-alive connection would take a share.
    let gate = Gate::with_config(&world.dir, &toml, &[]);
    // Client A holds its two connections open without sending anything.
    let held: Vec<std::net::TcpStream> = (0..2)
        .map(|_| std::net::TcpStream::connect(gate.addr).unwrap())
        .collect();
    let (status, head, body) = gate.request_from(CLIENT_A, "GET", "/healthz");
    assert_eq!(status, 429, "{head}\n{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "client_connection_limit");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );
    // Another client is served meanwhile.
    let (status, _, body) = gate.request_from(CLIENT_B, "GET", "/healthz");
    assert_eq!(status, 200, "{body}");
    // Once A's connections close, A is served again.
    drop(held);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, _, _) = gate.request_from(CLIENT_A, "GET", "/healthz");
        if status == 200 {
            break;
        }
        assert_eq!(status, 429);
        assert!(
            std::time::Instant::now() < deadline,
            "A was never served again"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn one_client_cannot_fill_the_challenge_pool() {
    let world = World::new("serve-challenge-cap");
    let gate = world.gate("max_pending_challenges_per_client = 2", "", &[]);
    for _ in 0..2 {
        let (status, _, body) = gate.request_from(CLIENT_A, "POST", "/v1/challenge");
        assert_eq!(status, 200, "{body}");
    }
    let (status, head, body) = gate.request_from(CLIENT_A, "POST", "/v1/challenge");
    assert_eq!(status, 429, "{head}\n{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "client_challenge_limit");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: "),
        "{head}"
    );
    // Another client still gets challenges.
    let (status, _, body) = gate.request_from(CLIENT_B, "POST", "/v1/challenge");
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(
        body["text"].as_str().unwrap().starts_with("GVC1:"),
        "{body}"
    );
}

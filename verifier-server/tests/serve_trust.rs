//! Issuer trust beyond pinned JWKs: a did:web issuer whose document the gate fetches in the
//! background (here from a mirror URL on the loopback host), and an offline trust bundle.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use govid_core::credential::WORKER_ID_VCT;
use govid_core::did::did_web_document;
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::trust::{BundleIssuer, TrustBundleBuilder};
use rand_core::OsRng;
use serve_common::*;

#[test]
fn did_web_issuer_fetched_in_the_background() {
    let world = World::new("serve-didweb");
    let document = did_web_document(ISS, &[("key-1", world.issuer.signer.public_key())]).unwrap();
    world.host.set("/hr/did.json", &document.to_string());
    let toml = format!(
        r#"
[gate]
audience = "{AUD}"

[server]
listen = "127.0.0.1:0"
rate_limit_per_sec = 0

[[trust.dids]]
did = "{ISS}"
document_url = "{doc}"

[status]
refresh_secs = 1
lists = ["{uri}"]
"#,
        doc = world.host.url("/hr/did.json"),
        uri = world.status_uri,
    );
    let gate = Gate::with_config(&world.dir, &toml, &[]);
    gate.wait_for_status_list(&world.status_uri);
    let body = gate.verify(&world.wallet(IDX_VALID).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["issuer"], ISS);
    // Another issuer is not trusted, whatever its DID document says.
    let rogue = Issuer::new("did:web:rogue.test");
    let holder = Wallet::holder_key();
    let issued = rogue.issue(
        &amira(),
        &holder,
        valid_now(now()),
        Some((IDX_VALID, &world.status_uri)),
    );
    let wallet = Wallet::receive(holder, &issued, &rogue, now());
    assert_deny(&gate.verify(&wallet.code(AUD)), "untrusted_issuer");
}

#[test]
fn offline_trust_bundle_gives_keys_and_status() {
    let world = World::new("serve-bundle");
    // The status list travels inside the bundle: the gate needs no network for it.
    let gate = bundle_gate(&world, now(), 86_400, 86_400);
    let body = gate.verify(&offline_wallet(&world, 1).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["credential_status"], "valid");
    assert_deny(
        &gate.verify(&offline_wallet(&world, 2).code(AUD)),
        "revoked",
    );
    // A bundle signed by someone else is refused at start.
    let other = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    std::fs::write(
        world.dir.path("operator.jwk"),
        other.public_key().to_jwk().to_string(),
    )
    .unwrap();
    let out = serve_exit(
        &[
            "--config".into(),
            world.dir.path("gate.toml").display().to_string(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bundle_signature"));
}

/// Starts a gate trusting only an offline bundle (made at `now()`, with the bundle's own
/// `bundle_staleness`) that carries the status list published at `list_iat`, under the gate's
/// `max_staleness_secs = gate_staleness`.
fn bundle_gate(world: &World, list_iat: u64, bundle_staleness: u64, gate_staleness: u64) -> Gate {
    write_bundle_files(world, list_iat, bundle_staleness);
    let toml = format!(
        r#"
[gate]
audience = "{AUD}"

[server]
listen = "127.0.0.1:0"
rate_limit_per_sec = 0

[trust]
bundle = "bundle.jwt"
bundle_operator_jwk = "operator.jwk"

[status]
fetch_discovered = false
max_staleness_secs = {gate_staleness}
"#
    );
    Gate::with_config(&world.dir, &toml, &[])
}

/// Writes `bundle.jwt` (made at `now()`, with its own `bundle_staleness`, carrying the status
/// list published at `list_iat`) and the operator's public key `operator.jwk`.
fn write_bundle_files(world: &World, list_iat: u64, bundle_staleness: u64) {
    let operator = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let token = world
        .issuer
        .status_token(OFFLINE_URI, list_iat, 64, &[(2, 1)]);
    let bundle = TrustBundleBuilder::new(1, now(), bundle_staleness)
        .issuer(
            BundleIssuer::new(ISS, "HR test office")
                .key(world.issuer.signer.public_key(), None)
                .vct(WORKER_ID_VCT)
                .status_list(OFFLINE_URI, token),
        )
        .sign(&operator)
        .unwrap();
    std::fs::write(world.dir.path("bundle.jwt"), bundle).unwrap();
    std::fs::write(
        world.dir.path("operator.jwk"),
        operator.public_key().to_jwk().to_string(),
    )
    .unwrap();
}

#[test]
fn a_trust_bundle_from_flags_without_a_config_file() {
    let world = World::new("serve-bundle-flags");
    write_bundle_files(&world, now(), 86_400);
    let bundle = format!("--trust-bundle={}", world.dir.path("bundle.jwt").display());
    let operator = format!(
        "--operator-jwk={}",
        world.dir.path("operator.jwk").display()
    );
    let gate = Gate::start(
        &[
            "--listen=127.0.0.1:0".into(),
            bundle.clone(),
            operator.clone(),
            format!("--aud={AUD}"),
        ],
        &[],
    );
    let body = gate.verify(&offline_wallet(&world, 1).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["credential_status"], "valid");
    assert_deny(
        &gate.verify(&offline_wallet(&world, 2).code(AUD)),
        "revoked",
    );
    let health = gate.health();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["warnings"], serde_json::json!([]), "{health}");
    assert_eq!(health["status_lists"][0]["uri"], OFFLINE_URI, "{health}");
    assert_eq!(health["status_lists"][0]["stale"], false, "{health}");
    // The accepted seq is recorded beside the bundle, as with `[trust] bundle`.
    assert!(world.dir.path("bundle.jwt.state").exists());
    drop(gate);

    // One without the other is refused before anything is read.
    for alone in [bundle, operator] {
        let out = serve_exit(
            &[
                "--listen=127.0.0.1:0".into(),
                format!("--aud={AUD}"),
                alone.clone(),
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{alone}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--trust-bundle and --operator-jwk go together"),
            "{alone}: {stderr}"
        );
    }
}

const OFFLINE_URI: &str = "https://hr.test/status/offline";

/// A wallet whose credential points at entry `idx` of [`OFFLINE_URI`].
fn offline_wallet(world: &World, idx: u64) -> Wallet {
    let holder = Wallet::holder_key();
    let issued = world.issuer.issue(
        &amira(),
        &holder,
        valid_now(now()),
        Some((idx, OFFLINE_URI)),
    );
    Wallet::receive(holder, &issued, &world.issuer, now())
}

#[test]
fn a_bundle_list_is_held_to_the_stricter_of_the_gate_and_bundle_staleness() {
    let world = World::new("serve-bundle-stale");
    // The bundle's list was published an hour ago; the bundle itself allows a day.
    let hour_ago = now() - 3600;

    // The gate allows only 10 minutes: the list is too old for this gate, whatever the bundle
    // says. Status unknown, denied (unknown_status = "deny" by default).
    let strict_gate = bundle_gate(&world, hour_ago, 86_400, 600);
    let body = strict_gate.verify(&offline_wallet(&world, 1).code(AUD));
    assert_deny(&body, "status_unknown");
    assert_eq!(body["credential_status"], "unknown");
    let (_, health) = strict_gate.get("/healthz", &[]);
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["status_lists"][0]["stale"], true, "{health}");

    // The same bundle under a gate that allows two hours: within both limits, allowed, and the
    // revoked entry is still revoked.
    let lenient_gate = bundle_gate(&world, hour_ago, 86_400, 7200);
    let body = lenient_gate.verify(&offline_wallet(&world, 1).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["credential_status"], "valid");
    assert_deny(
        &lenient_gate.verify(&offline_wallet(&world, 2).code(AUD)),
        "revoked",
    );
    let (_, health) = lenient_gate.get("/healthz", &[]);
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok", "{health}");

    // The other way round: the bundle allows only 10 minutes, the gate a day. The bundle's
    // limit wins.
    let strict_bundle = bundle_gate(&world, hour_ago, 600, 86_400);
    let body = strict_bundle.verify(&offline_wallet(&world, 1).code(AUD));
    assert_deny(&body, "status_unknown");
    assert_eq!(body["credential_status"], "unknown");
}

#[test]
fn two_pinned_keys_without_a_kid_are_each_tried() {
    // Regression: with two pinned keys of one type, a credential without `kid` was denied
    // `unknown_issuer_key`.
    let world = World::new("serve-two-keys");
    let other = Issuer::new(ISS);
    let other_path = world.dir.path("other.jwk");
    std::fs::write(&other_path, other.public_jwk()).unwrap();
    let gate = Gate::start(
        &[
            "--listen=127.0.0.1:0".into(),
            format!("--trust-jwk={ISS}={}", other_path.display()),
            format!("--trust-jwk={ISS}={}", world.jwk_path.display()),
            format!("--aud={AUD}"),
            format!("--status-list={}", world.status_uri),
            "--status-refresh=1".into(),
        ],
        &[],
    );
    gate.wait_for_status_list(&world.status_uri);
    let body = gate.verify(&world.wallet(IDX_VALID).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["issuer"], ISS);
    drop(gate);

    // A JWK Set in the config, each key naming its issuer: the signing key bound to another
    // issuer is no candidate for this one.
    let with_iss = |jwk: &str, iss: &str| {
        let mut jwk: serde_json::Value = serde_json::from_str(jwk).unwrap();
        jwk["iss"] = serde_json::json!(iss);
        jwk
    };
    let set_path = world.dir.path("issuers.jwks");
    let config = world
        .config("", "")
        .replace(
            &world.jwk_path.display().to_string(),
            &set_path.display().to_string(),
        )
        .replace(&format!("iss = \"{ISS}\"\n"), "");
    let write_set = |signing_key_iss: &str| {
        let set = serde_json::json!({"keys": [
            with_iss(&other.public_jwk(), ISS),
            with_iss(&world.issuer.public_jwk(), signing_key_iss),
        ]});
        std::fs::write(&set_path, set.to_string()).unwrap();
    };
    write_set(ISS);
    let gate = Gate::with_config(&world.dir, &config, &[]);
    gate.wait_for_status_list(&world.status_uri);
    let body = gate.verify(&world.wallet(IDX_VALID).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    drop(gate);
    write_set("did:web:elsewhere.test");
    let gate = Gate::with_config(&world.dir, &config, &[]);
    assert_deny(
        &gate.verify(&world.wallet(IDX_VALID).code(AUD)),
        "bad_signature",
    );
}

//! One use per gate code, whatever an attacker does with a photographed one: a malleated ECDSA
//! signature is the same code, and a restart (clean, or a power cut) does not reopen the replay
//! window; a trust bundle cannot be rolled back by restarting the gate.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use govid_core::credential::{GateProfile, WORKER_ID_VCT};
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::trust::{BundleIssuer, TrustBundleBuilder};
use rand_core::OsRng;
use serde_json::Value;
use serve_common::*;

/// A compact rotating-mode presentation (no `GV1:` framing, so the test can edit it).
fn rotating(wallet: &Wallet) -> String {
    wallet.present(&GateProfile::Entry.claims(), AUD, &random_nonce(), now())
}

/// Regression: the replay cache keyed a code by the SHA-256 of the whole KB-JWT, signature
/// included, so the (r, n − s) twin of a used ES256 code was let in a second time.
#[test]
fn a_used_rotating_code_is_refused_even_with_a_malleated_signature() {
    let world = World::new("replay-malleate");
    let gate = world.gate("mode = \"rotating\"", "", &[]);
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let wallet = world.wallet_of(alg, 1);
        let code = rotating(&wallet);
        let first = gate.verify(&code);
        assert_eq!(first["decision"], "allow", "{alg:?}: {first}");
        assert_deny(&gate.verify(&code), "replayed");
        if alg == Algorithm::ES256 {
            let twin = malleate_es256(&code);
            assert_ne!(twin, code);
            assert_deny(&gate.verify(&twin), "replayed");
            // The twin of a code never shown is a valid code: it is let in once, and then the
            // original is the replay.
            let fresh = rotating(&wallet);
            let body = gate.verify(&malleate_es256(&fresh));
            assert_eq!(body["decision"], "allow", "{body}");
            assert_deny(&gate.verify(&fresh), "replayed");
        } else {
            // Ed25519 signatures have no twin: an edited one does not verify.
            let (head, sig) = code.rsplit_once('.').unwrap();
            let mut bytes = govid_core::b64::decode(sig).unwrap();
            bytes[40] ^= 1;
            let edited = format!("{head}.{}", govid_core::b64::encode(bytes));
            assert_deny(&gate.verify(&edited), "kb_signature");
        }
    }
}

/// Regression: in `mode = "any"`, an answered challenge came back as a rotating code with a
/// malleated signature and was let in again.
#[test]
fn an_answered_challenge_cannot_be_answered_again_with_a_malleated_signature() {
    let world = World::new("replay-challenge");
    let gate = world.gate("mode = \"any\"", "", &[]);
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let wallet = world.wallet_of(alg, 1);
        let (status, body) = gate.post("/v1/challenge", "text/plain", "");
        assert_eq!(status, 200, "{body}");
        let nonce = body["challenge"]["nonce"].as_str().unwrap().to_owned();
        let answer = wallet.present(&GateProfile::Entry.claims(), AUD, &nonce, now());
        let first = gate.verify(&answer);
        assert_eq!(first["decision"], "allow", "{alg:?}: {first}");
        assert_eq!(first["mode"], "challenge");
        assert_deny(&gate.verify(&answer), "replayed");
        if alg == Algorithm::ES256 {
            assert_deny(&gate.verify(&malleate_es256(&answer)), "replayed");
        }
    }
}

/// The gate log's credential hash names the credential, not its signature bytes: a credential
/// with a malleated issuer signature is logged under the same hash.
#[test]
fn the_gate_log_hash_does_not_depend_on_the_issuer_signature_bytes() {
    let world = World::new("replay-loghash");
    let p256_issuer = Issuer {
        iss: ISS.to_owned(),
        signer: SoftwareSigner::generate(Algorithm::ES256, &mut OsRng),
    };
    std::fs::write(&world.jwk_path, p256_issuer.public_jwk()).unwrap();
    let token = p256_issuer.status_token(&world.status_uri, now(), 1024, &[]);
    world.host.set("/status/1", &token);
    let token = "0123456789abcdef0123456789abcdef";
    let gate = world.gate(
        "",
        &format!(
            "[log]\ndb = \"{}\"\ncommit_before_response = true\n",
            world.dir.path("gate.db").display()
        ),
        &[("GOVID_ADMIN_TOKEN", token)],
    );
    let holder = Wallet::holder_key();
    let issued = p256_issuer.issue(
        &amira(),
        &holder,
        valid_now(now()),
        Some((1, &world.status_uri)),
    );
    // The issuer JWT with its ES256 signature's twin: the same credential, other bytes.
    let (jwt, rest) = issued.split_once('~').unwrap();
    let twin_issued = format!("{}~{rest}", malleate_es256(jwt));
    for text in [&issued, &twin_issued] {
        let wallet = Wallet::receive(holder.clone(), text, &p256_issuer, now());
        let body = gate.verify(&rotating(&wallet));
        assert_eq!(body["decision"], "allow", "{body}");
    }
    gate.wait_for_log();
    let (status, body) = gate.get(
        "/admin/entries?limit=2",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(status, 200, "{body}");
    let rows: Value = serde_json::from_str(&body).unwrap();
    let rows = rows["entries"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{body}");
    assert!(rows[0]["credential_hash"].is_string(), "{body}");
    assert_eq!(rows[0]["credential_hash"], rows[1]["credential_hash"]);
}

fn log_config(world: &World, extra: &str) -> String {
    format!(
        "[log]\ndb = \"{}\"\n{extra}\n",
        world.dir.path("gate.db").display()
    )
}

/// Regression: the replay cache lived only in memory, so a code let in just before a restart was
/// let in again after it. With a gate log database, the keys are kept.
#[test]
fn a_code_let_in_before_a_clean_restart_stays_used() {
    let world = World::new("replay-restart-db");
    let rest = log_config(&world, "");
    let wallet = world.wallet_of(Algorithm::ES256, 1);
    let gate = world.gate("", &rest, &[]);
    // Made after the first start: a new database vouches for nothing before it
    // (`code_before_restart`), which a code from the second before would meet.
    let code = rotating(&wallet);
    let first = gate.verify(&code);
    assert_eq!(first["decision"], "allow", "{first}");
    assert!(gate.terminate().success());

    let gate = world.gate("", &rest, &[]);
    assert_deny(&gate.verify(&code), "replayed");
    assert_deny(&gate.verify(&malleate_es256(&code)), "replayed");
    // A clean shutdown kept every key: codes from before the restart are judged one by one.
    let health = gate.health();
    assert_eq!(health["replay"]["kept_across_restart"], true, "{health}");
    assert_eq!(
        health["replay"]["refuses_codes_before"],
        Value::Null,
        "{health}"
    );
    let before = rotating(&wallet);
    assert_eq!(gate.verify(&before)["decision"], "allow");
}

/// Without storage the gate cannot remember, so it refuses what it cannot vouch for: codes made
/// before it started. `/healthz` says which guarantee holds.
///
/// A gate without any store whatever the engine: that gate is what this is about.
#[test]
fn without_storage_a_restarted_gate_refuses_codes_made_before_it_started() {
    let world = World::new("replay-restart-mem");
    let wallet = world.wallet_of(Algorithm::EdDSA, 1);
    let gate = world.gate_on(StoreUse::AsConfigured, "", "", &[]);
    let code = rotating(&wallet);
    assert_eq!(gate.verify(&code)["decision"], "allow");
    assert!(gate.terminate().success());

    // Codes carry whole seconds: make sure the restarted gate starts in a later second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let gate = world.gate_on(StoreUse::AsConfigured, "", "", &[]);
    let health = gate.health();
    assert_eq!(health["replay"]["kept_across_restart"], false, "{health}");
    assert!(
        health["replay"]["refuses_codes_before"].is_u64(),
        "{health}"
    );
    assert_deny(&gate.verify(&code), "code_before_restart");
    // A code made now passes.
    assert_eq!(gate.verify(&rotating(&wallet))["decision"], "allow");
}

/// Starts a gate with a gate log (`log_extra` added to `[log]`), lets one code in, kills the gate
/// at once (SIGKILL: a power cut, as far as the gate can tell) and starts it again in a later
/// second. Returns the restarted gate, the wallet, the used code and one made before the crash
/// but never shown.
fn crash_and_restart(world: &World, log_extra: &str) -> (Gate, Wallet, String, String) {
    let rest = log_config(world, log_extra);
    let wallet = world.wallet_of(Algorithm::ES256, 1);
    let gate = world.gate("", &rest, &[]);
    let used = rotating(&wallet);
    let unused = rotating(&wallet);
    assert_eq!(gate.verify(&used)["decision"], "allow");
    gate.kill_hard();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    (world.gate("", &rest, &[]), wallet, used, unused)
}

/// A gate that answers before committing may lose the last keys in a crash: the restarted gate
/// keeps what was stored and refuses every code made before it started. A fleet gate claims
/// each code in PostgreSQL before it answers, so it loses none: it vouches for the whole window.
#[test]
fn after_a_crash_the_gate_refuses_what_it_cannot_vouch_for() {
    let world = World::new("replay-crash");
    let (gate, wallet, used, unused) = crash_and_restart(&world, "");
    let health = gate.health();
    if engine::engine().is_postgres() {
        assert_eq!(health["replay"]["fleet"], "ok", "{health}");
        assert_eq!(
            health["replay"]["refuses_codes_before"],
            Value::Null,
            "{health}"
        );
        assert_deny(&gate.verify(&used), "replayed");
        assert_eq!(gate.verify(&unused)["decision"], "allow");
    } else {
        assert!(
            health["replay"]["refuses_codes_before"].is_u64(),
            "{health}"
        );
        assert_deny(&gate.verify(&used), "code_before_restart");
        assert_deny(&gate.verify(&unused), "code_before_restart");
    }
    assert_eq!(gate.verify(&rotating(&wallet))["decision"], "allow");
}

/// With `commit_before_response`, every answered code was stored first: even after a crash the
/// gate vouches for the whole window.
#[test]
fn with_commit_before_response_a_crash_loses_no_used_code() {
    let world = World::new("replay-crash-commit");
    let (gate, _, used, unused) = crash_and_restart(&world, "commit_before_response = true");
    let health = gate.health();
    assert_eq!(
        health["replay"]["refuses_codes_before"],
        Value::Null,
        "{health}"
    );
    assert_deny(&gate.verify(&used), "replayed");
    assert_eq!(gate.verify(&unused)["decision"], "allow");
}

/// Writes a bundle with `seq` for the world's issuer, signed by `operator`.
fn write_bundle(world: &World, operator: &SoftwareSigner, seq: u64) {
    let bundle = TrustBundleBuilder::new(seq, now(), 86_400)
        .issuer(
            BundleIssuer::new(ISS, "HR test office")
                .key(world.issuer.signer.public_key(), None)
                .vct(WORKER_ID_VCT),
        )
        .sign(operator)
        .unwrap();
    std::fs::write(world.dir.path("bundle.jwt"), bundle).unwrap();
}

fn bundle_config(world: &World) -> String {
    std::fs::write(
        world.dir.path("operator.jwk"),
        OPERATOR.with(|o| o.public_key().to_jwk().to_string()),
    )
    .unwrap();
    format!(
        r#"
[gate]
audience = "{AUD}"
unknown_status = "allow"

[server]
listen = "127.0.0.1:0"

[trust]
bundle = "{bundle}"
bundle_operator_jwk = "{op}"

[status]
fetch_discovered = false
"#,
        bundle = world.dir.path("bundle.jwt").display(),
        op = world.dir.path("operator.jwk").display(),
    )
}

thread_local! {
    static OPERATOR: SoftwareSigner = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
}

fn serve_once(config: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--config".to_owned(), config.display().to_string()];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    serve_exit(&args, &[])
}

/// Regression: the gate refused an older bundle on reload, but after a restart it accepted an
/// older, correctly signed one (from before a revocation).
#[test]
fn a_restarted_gate_refuses_an_older_trust_bundle_unless_told_to() {
    let world = World::new("bundle-rollback");
    let config = bundle_config(&world);
    let config_path = world.dir.path("gate.toml");
    std::fs::write(&config_path, &config).unwrap();
    OPERATOR.with(|o| write_bundle(&world, o, 5));
    let gate = Gate::start(&["--config".into(), config_path.display().to_string()], &[]);
    assert!(gate.terminate().success());
    let state = world.dir.path("bundle.jwt.state");
    let recorded: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(recorded["seq"], 5, "{recorded}");

    // An older bundle, correctly signed: refused at start, with the way out named.
    OPERATOR.with(|o| write_bundle(&world, o, 4));
    let out = serve_once(&config_path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bundle_seq_rollback"), "{stderr}");
    assert!(
        stderr.contains("seq 4 is older than the accepted seq 5"),
        "{stderr}"
    );
    assert!(stderr.contains("--accept-bundle-rollback"), "{stderr}");

    // A state file edited into garbage is not a fresh start.
    std::fs::write(&state, "{}").unwrap();
    let out = serve_once(&config_path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a bundle state file"), "{stderr}");

    // The operator goes back deliberately; the lower seq is then the one recorded.
    let gate = Gate::start(
        &[
            "--config".into(),
            config_path.display().to_string(),
            "--accept-bundle-rollback".into(),
        ],
        &[],
    );
    assert!(gate.terminate().success());
    let recorded: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(recorded["seq"], 4, "{recorded}");

    // A newer bundle moves the floor up again; the same one restarts fine.
    OPERATOR.with(|o| write_bundle(&world, o, 6));
    let gate = Gate::start(&["--config".into(), config_path.display().to_string()], &[]);
    assert!(gate.terminate().success());
    let gate = Gate::start(&["--config".into(), config_path.display().to_string()], &[]);
    assert!(gate.terminate().success());
    OPERATOR.with(|o| write_bundle(&world, o, 5));
    let out = serve_once(&config_path, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("older than the accepted seq 6"));
}

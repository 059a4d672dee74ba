//! `[trust.log]` on loopback: a fetched status list is used only with an inclusion proof of its
//! exact entry (`<list URI>.tlog-proof`) in a checkpoint cosigned as the policy says. Without a
//! proof, with an uncosigned checkpoint or too few cosignatures, or with a checkpoint that forks
//! from one seen (same size, other root), the list is not used and `/healthz` and `/metrics` say
//! why. A trust bundle without a cosigned proof beside it stops the gate at start. Without a
//! policy, lists are used as they always were.

// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use std::time::{Duration, Instant};

use govid_core::credential::WORKER_ID_VCT;
use govid_core::jose::{Algorithm, Signer as _, SoftwareSigner};
use govid_core::tlog::{
    add_signature_lines, split_note, Entry, LogSigner, MemoryTree, TlogProof, WitnessSigner,
};
use govid_core::trust::{BundleIssuer, TrustBundleBuilder};
use rand_core::OsRng;
use serde_json::Value;
use serve_common::*;
use sha2::{Digest as _, Sha256};

const ORIGIN: &str = "hr.test/log";

fn log_signer() -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[3; 32]).unwrap()
}

fn witness(n: u8) -> WitnessSigner {
    WitnessSigner::from_seed(&format!("witness{n}.test"), &[10 + n; 32]).unwrap()
}

/// A log whose entries are `filler` other entries and then the status list `token` at `uri`;
/// its proof for that entry, cosigned by `witnesses`.
fn proof(uri: &str, iat: u64, token: &str, filler: u8, witnesses: &[WitnessSigner]) -> String {
    let entry = Entry::StatusList {
        uri: uri.to_owned(),
        iat,
        sha256: Sha256::digest(token.as_bytes()).into(),
    };
    proof_of(&entry, filler, witnesses)
}

/// A log of three filler entries and then `entry`; its proof for `entry`.
fn proof_of(entry: &Entry, filler: u8, witnesses: &[WitnessSigner]) -> String {
    let mut entries: Vec<Vec<u8>> = (0..3)
        .map(|seq| {
            Entry::TrustBundle {
                seq,
                sha256: [filler; 32],
            }
            .to_bytes()
            .unwrap()
        })
        .collect();
    entries.push(entry.to_bytes().unwrap());
    let tree = MemoryTree::from_entries(entries.iter().map(Vec::as_slice));
    let mut note = log_signer()
        .sign_checkpoint(tree.size(), tree.root())
        .unwrap();
    let (text, _) = split_note(&note).unwrap();
    for w in witnesses {
        let line = w.cosign(&text, now()).unwrap();
        note = add_signature_lines(&note, line.as_bytes()).unwrap();
    }
    TlogProof {
        extra: None,
        index: 3,
        hashes: tree.inclusion_proof(tree.size(), 3).unwrap(),
        checkpoint: note,
    }
    .to_text()
}

/// Publishes a status list token with `iat` and returns it.
fn publish(world: &World, iat: u64) -> String {
    let token = world.issuer.status_token(
        &world.status_uri,
        iat,
        1024,
        &[(IDX_REVOKED as usize, 1), (IDX_SUSPENDED as usize, 2)],
    );
    world.host.set("/status/1", &token);
    token
}

/// The `[trust.log]` table trusting witnesses 1 and 2, `min` of them needed.
fn policy(world: &World, min: usize) -> String {
    format!(
        "[trust.log]\nlog_key = \"{}\"\nwitness_keys = [\"{}\", \"{}\"]\nmin_cosignatures = {min}\n\
         state = \"{}\"\n",
        log_signer().verifier_key(),
        witness(1).verifier_key(),
        witness(2).verifier_key(),
        world.dir.path("checkpoint.state").display(),
    )
}

/// Starts a gate with the policy (the status section stays as the world's).
fn gate_with_policy(world: &World, min: usize) -> Gate {
    let config = world
        .config("", "")
        .replace("[status]", &format!("{}\n[status]", policy(world, min)));
    Gate::with_config(&world.dir, &config, &[])
}

/// Waits until the world's list has the log verdict `verdict` in `/healthz`.
fn wait_for_verdict(gate: &Gate, uri: &str, verdict: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let health = gate.health();
        let list = health["status_lists"]
            .as_array()
            .and_then(|lists| lists.iter().find(|l| l["uri"] == uri).cloned());
        if list.as_ref().is_some_and(|l| l["log"] == verdict) {
            return health;
        }
        assert!(
            Instant::now() < deadline,
            "no log verdict {verdict} for {uri}: {health}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn refusals(gate: &Gate, reason: &str) -> u64 {
    let (_, text) = gate.get("/metrics", &[]);
    let prefix = format!("govid_tlog_refusals_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
}

#[test]
fn a_list_is_used_only_once_a_cosigned_proof_of_it_is_beside_it() {
    let world = World::new("serve-tlog-proof");
    let iat = now();
    let token = publish(&world, iat);
    let gate = gate_with_policy(&world, 1);
    let wallet = world.wallet(IDX_VALID);

    // No proof beside the list: not used.
    let health = wait_for_verdict(&gate, &world.status_uri, "no_proof");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_deny(&gate.verify(&wallet.code(AUD)), "status_unknown");
    assert!(refusals(&gate, "no_proof") >= 1);

    // A proof of another token (same URI and iat): the entry does not match.
    let other = world.issuer.status_token(&world.status_uri, iat, 1024, &[]);
    world.host.set(
        "/status/1.tlog-proof",
        &proof(&world.status_uri, iat, &other, 0, &[witness(1)]),
    );
    wait_for_verdict(&gate, &world.status_uri, "bad_proof");
    assert_deny(&gate.verify(&wallet.code(AUD)), "status_unknown");

    // The proof of this token, cosigned by a trusted witness: used.
    world.host.set(
        "/status/1.tlog-proof",
        &proof(&world.status_uri, iat, &token, 0, &[witness(1)]),
    );
    let health = wait_for_verdict(&gate, &world.status_uri, "ok");
    gate.wait_for_status_list(&world.status_uri);
    assert_eq!(gate.verify(&wallet.code(AUD))["decision"], "allow");
    assert_deny(
        &gate.verify(&world.wallet(IDX_REVOKED).code(AUD)),
        "revoked",
    );
    assert_eq!(health["log"]["largest_checkpoint"]["size"], 4, "{health}");
    let state = std::fs::read_to_string(world.dir.path("checkpoint.state")).unwrap();
    assert!(state.contains("\"size\":4"), "{state}");
}

#[test]
fn an_uncosigned_checkpoint_or_too_few_cosignatures_is_refused() {
    let world = World::new("serve-tlog-cosign");
    let iat = now();
    let token = publish(&world, iat);
    // Signed by the log only.
    world.host.set(
        "/status/1.tlog-proof",
        &proof(&world.status_uri, iat, &token, 0, &[]),
    );
    let gate = gate_with_policy(&world, 2);
    let health = wait_for_verdict(&gate, &world.status_uri, "too_few_cosignatures");
    assert_eq!(health["status"], "degraded", "{health}");
    let wallet = world.wallet(IDX_VALID);
    assert_deny(&gate.verify(&wallet.code(AUD)), "status_unknown");
    let before = refusals(&gate, "too_few_cosignatures");
    assert!(before >= 1);

    // One of the two witnesses needed, and an untrusted one that does not count.
    world.host.set(
        "/status/1.tlog-proof",
        &proof(&world.status_uri, iat, &token, 0, &[witness(1), witness(9)]),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while refusals(&gate, "too_few_cosignatures") == before {
        assert!(
            Instant::now() < deadline,
            "the second proof was not checked"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for_verdict(&gate, &world.status_uri, "too_few_cosignatures");
    assert_deny(&gate.verify(&wallet.code(AUD)), "status_unknown");

    // Both: used.
    world.host.set(
        "/status/1.tlog-proof",
        &proof(&world.status_uri, iat, &token, 0, &[witness(1), witness(2)]),
    );
    wait_for_verdict(&gate, &world.status_uri, "ok");
    gate.wait_for_status_list(&world.status_uri);
    assert_eq!(gate.verify(&wallet.code(AUD))["decision"], "allow");
}

#[test]
fn a_forked_checkpoint_is_refused_and_reported_and_remembered_across_a_restart() {
    let world = World::new("serve-tlog-fork");
    let iat = now() - 10;
    let token = publish(&world, iat);
    world.host.set(
        "/status/1.tlog-proof",
        &proof(&world.status_uri, iat, &token, 0, &[witness(1)]),
    );
    let gate = gate_with_policy(&world, 1);
    wait_for_verdict(&gate, &world.status_uri, "ok");
    let seen = gate.health()["log"]["largest_checkpoint"].clone();

    // A newer list in a log of the same size with another history.
    let newer = publish(&world, iat + 1);
    world.host.set(
        "/status/1.tlog-proof",
        &proof(&world.status_uri, iat + 1, &newer, 7, &[witness(1)]),
    );
    let health = wait_for_verdict(&gate, &world.status_uri, "not_consistent");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["log"]["largest_checkpoint"], seen, "{health}");
    assert!(health["log"]["refusals"]["not_consistent"].as_u64() >= Some(1));
    assert!(refusals(&gate, "not_consistent") >= 1);
    // The list from the consistent checkpoint is still the one used.
    let wallet = world.wallet(IDX_VALID);
    assert_eq!(gate.verify(&wallet.code(AUD))["decision"], "allow");
    drop(gate);

    // After a restart the state file still knows the first root.
    let gate = gate_with_policy(&world, 1);
    let health = wait_for_verdict(&gate, &world.status_uri, "not_consistent");
    assert_eq!(health["log"]["largest_checkpoint"], seen, "{health}");
    assert_deny(&gate.verify(&wallet.code(AUD)), "status_unknown");
}

#[test]
fn without_a_policy_lists_are_used_without_proofs() {
    let world = World::new("serve-tlog-none");
    let gate = world.gate("", "", &[]);
    assert_eq!(
        gate.verify(&world.wallet(IDX_VALID).code(AUD))["decision"],
        "allow"
    );
    let health = gate.health();
    assert_eq!(health["status"], "ok", "{health}");
    assert!(health["log"].is_null(), "{health}");
    assert!(health["status_lists"][0].get("log").is_none(), "{health}");
}

#[test]
fn a_trust_bundle_without_a_cosigned_proof_is_refused_at_start() {
    let world = World::new("serve-tlog-bundle");
    let operator = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let uri = "https://hr.test/status/offline";
    let token = world.issuer.status_token(uri, now(), 64, &[(2, 1)]);
    let bundle = TrustBundleBuilder::new(1, now(), 86_400)
        .issuer(
            BundleIssuer::new(ISS, "HR test office")
                .key(world.issuer.signer.public_key(), None)
                .vct(WORKER_ID_VCT)
                .status_list(uri, token),
        )
        .sign(&operator)
        .unwrap();
    std::fs::write(world.dir.path("bundle.jwt"), &bundle).unwrap();
    std::fs::write(
        world.dir.path("operator.jwk"),
        operator.public_key().to_jwk().to_string(),
    )
    .unwrap();
    let toml = format!(
        "[gate]\naudience = \"{AUD}\"\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n[trust]\n\
         bundle = \"bundle.jwt\"\nbundle_operator_jwk = \"operator.jwk\"\n\n{}\n[status]\n\
         fetch_discovered = false\n",
        policy(&world, 1)
    );
    std::fs::write(world.dir.path("gate.toml"), &toml).unwrap();
    let start = || {
        serve_exit(
            &[
                "--config".into(),
                world.dir.path("gate.toml").display().to_string(),
            ],
            &[],
        )
    };
    let entry = Entry::TrustBundle {
        seq: 1,
        sha256: Sha256::digest(bundle.as_bytes()).into(),
    };
    let proof_path = world.dir.path("bundle.jwt.tlog-proof");
    for (proof, reason) in [
        (None, "trust_bundle_not_in_log: no_proof"),
        (
            Some(proof_of(&entry, 0, &[])),
            "trust_bundle_not_in_log: too_few_cosignatures",
        ),
    ] {
        if let Some(proof) = proof {
            std::fs::write(&proof_path, proof).unwrap();
        }
        let out = start();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(reason), "{reason}: {stderr}");
    }

    // Cosigned: the gate starts, and the bundle's list is covered by the bundle's proof.
    std::fs::write(&proof_path, proof_of(&entry, 0, &[witness(1)])).unwrap();
    let gate = Gate::with_config(&world.dir, &toml, &[]);
    let health = wait_for_verdict(&gate, uri, "ok");
    assert_eq!(health["log"]["largest_checkpoint"]["size"], 4, "{health}");
}

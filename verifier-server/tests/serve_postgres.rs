//! A fleet of gates on one PostgreSQL database (`[store] url = "postgres://…"`): a code let in
//! at one gate is refused at every other, across a restart; the central log holds every gate's
//! decisions once, by gate; with PostgreSQL down the gates keep deciding and say they are
//! degraded, and recover when it is back.
//!
//! The test starts its own throwaway cluster with `scripts/pg-test-cluster` (PostgreSQL from
//! `scripts/setup`); without PostgreSQL it fails, naming `scripts/setup`.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use govid_core::credential::GateProfile;
use serde_json::Value;
use serve_common::*;

const TOKEN: &str = "fleet-admin-token-0123456789";

/// A PostgreSQL cluster of our own, destroyed on drop.
struct Cluster {
    dir: PathBuf,
    url: String,
}

fn cluster_script(args: &[&str]) -> Result<String, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Cluster {
    fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("govid-pg-{name}-{}", std::process::id()));
        let _ = cluster_script(&["destroy", &dir.display().to_string()]);
        let url = cluster_script(&["start", &dir.display().to_string()]).unwrap_or_else(|e| {
            panic!(
                "this suite needs PostgreSQL (initdb, pg_ctl): install it with scripts/setup.\n{e}"
            )
        });
        assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
        Cluster { dir, url }
    }

    fn stop(&self) {
        cluster_script(&["stop", &self.dir.display().to_string()]).unwrap();
    }

    fn restart(&self) {
        let url = cluster_script(&["start", &self.dir.display().to_string()]).unwrap();
        assert_eq!(url, self.url, "the cluster came back on another port");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = cluster_script(&["destroy", &self.dir.display().to_string()]);
    }
}

/// A gate of the fleet, `id`, on `url`, with its own config directory.
fn fleet_gate(world: &World, dir: &TempDir, id: &str, url: &str) -> Gate {
    let config = world
        .config(
            "mode = \"rotating\"",
            &format!("[store]\nurl = \"{url}\"\ntimeout_ms = 500\n"),
        )
        .replace("id = \"test-gate\"", &format!("id = \"{id}\""));
    let gate = Gate::with_config(dir, &config, &[("GOVID_ADMIN_TOKEN", TOKEN)]);
    gate.wait_for_status_list(&world.status_uri);
    gate
}

fn code(wallet: &Wallet) -> String {
    wallet.present(&GateProfile::Entry.claims(), AUD, &random_nonce(), now())
}

/// `/admin/entries` with `query`, oldest first.
fn entries(gate: &Gate, query: &str) -> Vec<Value> {
    let (status, body) = gate.get(
        &format!("/admin/entries?{query}"),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
    );
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let mut rows = body["entries"].as_array().cloned().unwrap();
    rows.reverse();
    rows
}

/// `(decision, reason)` of each entry.
fn outcomes(rows: &[Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["decision"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Polls `f` until it holds (the log writer delivers asynchronously).
#[track_caller]
fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[track_caller]
fn assert_allow(body: &Value, fleet: &str) {
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["fleet_check"], fleet, "{body}");
}

#[test]
fn a_fleet_of_three_gates_shares_one_use_per_code_and_one_log() {
    let cluster = Cluster::start("fleet");
    let world = World::new("pg-fleet");
    let dirs = [
        TempDir::new("pg-g1"),
        TempDir::new("pg-g2"),
        TempDir::new("pg-g3"),
    ];
    let mut g1 = fleet_gate(&world, &dirs[0], "g1", &cluster.url);
    let g2 = fleet_gate(&world, &dirs[1], "g2", &cluster.url);
    let g3 = fleet_gate(&world, &dirs[2], "g3", &cluster.url);
    for gate in [&g1, &g2, &g3] {
        let health = gate.health();
        assert_eq!(health["replay"]["fleet"], "ok", "{health}");
        assert_eq!(health["status"], "ok", "{health}");
    }

    // Let in at gate 1; refused at gates 2 and 3 though neither has seen it.
    let wallet = world.wallet(IDX_VALID);
    let first = code(&wallet);
    assert_allow(&g1.verify(&first), "ok");
    for gate in [&g2, &g3] {
        let body = gate.verify(&first);
        assert_deny(&body, "replayed");
        assert_eq!(body["fleet_check"], "ok", "{body}");
    }

    // Gate 1 restarted: still refused; a code made before the restart is let in (the fleet
    // vouches for every code it accepted, so no code_before_restart).
    let before_restart = code(&wallet);
    assert!(g1.terminate().success());
    g1 = fleet_gate(&world, &dirs[0], "g1", &cluster.url);
    assert_deny(&g1.verify(&first), "replayed");
    assert_allow(&g1.verify(&before_restart), "ok");

    // The central log: each decision once, under its gate, whichever gate is asked.
    eventually("the central log", Duration::from_secs(10), || {
        entries(&g3, "gate=g1").len() == 3
    });
    assert_eq!(
        outcomes(&entries(&g3, "gate=g1")),
        [
            ("allow".into(), "ok".into()),
            ("deny".into(), "replayed".into()),
            ("allow".into(), "ok".into()),
        ]
    );
    for (gate, id) in [(&g1, "g2"), (&g2, "g3")] {
        let rows = entries(gate, &format!("gate={id}"));
        assert_eq!(outcomes(&rows), [("deny".into(), "replayed".into())]);
        assert_eq!(rows[0]["gate"], id);
    }
    assert_eq!(entries(&g2, "").len(), 5);
    assert_eq!(entries(&g2, "gate=nobody").len(), 0);
    let t = now();
    assert_eq!(entries(&g2, &format!("since={}", t + 3600)).len(), 0);
    assert_eq!(entries(&g2, &format!("until={}", t - 3600)).len(), 0);
    assert_eq!(
        entries(
            &g2,
            &format!("gate=g1&since={}&until={}", t - 3600, t + 3600)
        )
        .len(),
        3
    );

    // PostgreSQL down: decisions still come, degraded, from each gate's own cache.
    cluster.stop();
    let during = code(&world.wallet(IDX_VALID));
    let started = Instant::now();
    assert_allow(&g2.verify(&during), "degraded");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let again = g2.verify(&during);
    assert_deny(&again, "replayed");
    assert_eq!(again["fleet_check"], "degraded", "{again}");
    let health = g2.health();
    assert_eq!(health["replay"]["fleet"], "degraded", "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    // A decision denied before the replay stage says degraded too.
    assert_eq!(g2.verify("not a code")["fleet_check"], "degraded");

    // Back: the gates recover by themselves, and what gate 2 let in meanwhile reaches the fleet
    // with its log entries.
    cluster.restart();
    eventually("gate 2 back to ok", Duration::from_secs(15), || {
        g2.health()["replay"]["fleet"] == "ok"
    });
    assert_eq!(g2.health()["status"], "ok");
    eventually(
        "gate 2's entries delivered",
        Duration::from_secs(15),
        || entries(&g1, "gate=g2").len() == 4,
    );
    let body = g3.verify(&during);
    assert_deny(&body, "replayed");
    assert_eq!(body["fleet_check"], "ok", "{body}");
    assert_eq!(
        outcomes(&entries(&g1, "gate=g2"))[1..],
        [
            ("allow".into(), "ok".into()),
            ("deny".into(), "replayed".into()),
            ("deny".into(), "malformed".into()),
        ]
    );
}

#[test]
fn a_gate_started_while_postgres_is_down_starts_degraded_and_recovers() {
    let cluster = Cluster::start("late");
    cluster.stop();
    let world = World::new("pg-late");
    let dir = TempDir::new("pg-late-g");
    let gate = fleet_gate(&world, &dir, "late", &cluster.url);
    let health = gate.health();
    assert_eq!(health["replay"]["fleet"], "degraded", "{health}");
    // Nothing vouches for codes made before this start.
    assert!(
        health["replay"]["refuses_codes_before"].is_u64(),
        "{health}"
    );
    cluster.restart();
    eventually("the gate back to ok", Duration::from_secs(15), || {
        gate.health()["replay"]["fleet"] == "ok"
    });
    // The probe ran the migrations: the fleet check works.
    std::thread::sleep(Duration::from_millis(1100));
    assert_allow(&gate.verify(&code(&world.wallet(IDX_VALID))), "ok");
}

//! A fleet of gates on one PostgreSQL database (`[store] url = "postgres://…"`): a code let in
//! at one gate is refused at every other, across a restart; the central log holds every gate's
//! decisions once, by gate; with PostgreSQL down the gates keep deciding and say they are
//! degraded, and recover when it is back; entries wait in each gate's spool meanwhile and arrive
//! exactly once, in order, even from a gate killed (SIGKILL) with a full spool; TLS to
//! PostgreSQL (`sslmode`, `sslrootcert`) with a private CA, and refused with the wrong one.
//!
//! The test starts its own throwaway cluster with `scripts/pg-test-cluster` (PostgreSQL from
//! `scripts/setup`); without PostgreSQL it fails, naming `scripts/setup`.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
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
    cluster_script_with(args, &[])
}

fn cluster_script_with(args: &[&str], env: &[(&str, &Path)]) -> Result<String, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Cluster {
    fn start(name: &str) -> Self {
        Self::start_with(name, &[])
    }

    /// A cluster serving TLS with `cert` and `key` (PEM files), refusing plain connections.
    fn start_tls(name: &str, cert: &Path, key: &Path) -> Self {
        Self::start_with(
            name,
            &[("PG_TEST_SSL_CERT", cert), ("PG_TEST_SSL_KEY", key)],
        )
    }

    fn start_with(name: &str, env: &[(&str, &Path)]) -> Self {
        let dir = std::env::temp_dir().join(format!("govid-pg-{name}-{}", std::process::id()));
        let _ = cluster_script(&["destroy", &dir.display().to_string()]);
        let url =
            cluster_script_with(&["start", &dir.display().to_string()], env).unwrap_or_else(|e| {
                panic!(
                "this suite needs PostgreSQL (initdb, pg_ctl): install it with scripts/setup.\n{e}"
            )
            });
        assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
        assert!(url.ends_with("?sslmode=disable"), "{url}");
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
    // Decided and spooled while the database was never reached.
    let wallet = world.wallet(IDX_VALID);
    assert_allow(&gate.verify(&code(&wallet)), "degraded");
    assert_eq!(spooled(&gate), 1);
    cluster.restart();
    eventually("the gate back to ok", Duration::from_secs(15), || {
        gate.health()["replay"]["fleet"] == "ok"
    });
    // The probe ran the migrations: the fleet check works, and the spool was delivered.
    assert_allow(&gate.verify(&code(&wallet)), "ok");
    eventually("the spool delivered", Duration::from_secs(15), || {
        spooled(&gate) == 0 && entries(&gate, "gate=late").len() == 2
    });
    let rows = entries(&gate, "gate=late");
    assert_eq!(
        outcomes(&rows),
        [("allow".into(), "ok".into()), ("allow".into(), "ok".into())]
    );

    // sslmode=require on a database without TLS: refused, and the gate says why.
    let url = cluster.url.replace("sslmode=disable", "sslmode=require");
    let strict = fleet_gate(&world, &TempDir::new("pg-late-tls"), "strict", &url);
    assert_eq!(strict.health()["replay"]["fleet"], "degraded");
    eventually("the TLS refusal logged", Duration::from_secs(10), || {
        strict
            .stderr
            .lock()
            .unwrap()
            .contains("server does not support TLS")
    });
}

/// `/healthz`'s `replay.spooled`: entries in the gate's spool, not yet in PostgreSQL.
fn spooled(gate: &Gate) -> u64 {
    let health = gate.health();
    health["replay"]["spooled"]
        .as_u64()
        .unwrap_or_else(|| panic!("no replay.spooled: {health}"))
}

/// One answer of the load: decision, reason, fleet_check and the text sent.
struct Answer {
    decision: String,
    reason: String,
    fleet: String,
    text: String,
}

/// Most requests of the load test: `/admin/entries` returns at most 1000 entries.
const MAX_LOAD: usize = 950;

#[test]
fn postgres_stopped_under_load_every_request_is_answered_and_logged_once_in_order() {
    let cluster = Cluster::start("load");
    let world = World::new("pg-load");
    let (d1, d2) = (TempDir::new("pg-load-g1"), TempDir::new("pg-load-g2"));
    let g1 = fleet_gate(&world, &d1, "g1", &cluster.url);
    let g2 = fleet_gate(&world, &d2, "g2", &cluster.url);
    let answers: Mutex<Vec<Answer>> = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    let count = |fleet: &str| {
        answers
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.fleet == fleet)
            .count()
    };
    std::thread::scope(|scope| {
        // One client, one request at a time, so the order of the answers is the gate's order:
        // fresh codes, a replay of the code before, and a malformed text, over and over.
        let load = scope.spawn(|| {
            let wallet = world.wallet(IDX_VALID);
            let started = Instant::now();
            let mut last = String::new();
            for i in 0..MAX_LOAD {
                if done.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(120) {
                    break;
                }
                let text = match i % 7 {
                    3 => last.clone(),
                    5 => "not a code".to_owned(),
                    _ => code(&wallet),
                };
                // Asserts the HTTP 200 of a decision: every request is answered.
                let body = g1.verify(&text);
                answers.lock().unwrap().push(Answer {
                    decision: body["decision"].as_str().unwrap().to_owned(),
                    reason: body["reason"].as_str().unwrap().to_owned(),
                    fleet: body["fleet_check"].as_str().unwrap().to_owned(),
                    text: text.clone(),
                });
                last = text;
                // Pacing (not a wait for anything): keeps the run under MAX_LOAD requests.
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let wait = Duration::from_secs(60);
        eventually("answers with the fleet ok", wait, || count("ok") >= 20);
        cluster.stop();
        eventually("/healthz degraded", wait, || {
            g1.health()["replay"]["fleet"] == "degraded"
        });
        assert_eq!(g1.health()["status"], "degraded");
        let at_stop = answers.lock().unwrap().len();
        eventually("answers while degraded", wait, || count("degraded") >= 30);
        // Each answer since the stop was committed to the spool before it was given, and waits
        // there (PostgreSQL is down: nothing can have been delivered since), but the one request
        // that may have been in flight as the stop completed.
        let since_stop = answers.lock().unwrap().len().saturating_sub(at_stop + 1) as u64;
        let waiting = spooled(&g1);
        assert!(
            waiting >= since_stop,
            "{waiting} spooled, {since_stop} answered since the stop"
        );
        cluster.restart();
        eventually("/healthz ok again", wait, || {
            g1.health()["replay"]["fleet"] == "ok"
        });
        let recovered = answers.lock().unwrap().len();
        eventually("answers after the recovery", wait, || {
            let answers = answers.lock().unwrap();
            answers[recovered..]
                .iter()
                .filter(|a| a.fleet == "ok")
                .count()
                >= 20
        });
        done.store(true, Ordering::Relaxed);
        load.join().unwrap();
    });
    let answers = answers.into_inner().unwrap();
    assert!(answers.len() < MAX_LOAD, "the load ran out of requests");
    assert_eq!(g1.health()["status"], "ok");

    // Every decision in the central log exactly once, in the order it was answered.
    eventually("the spool delivered", Duration::from_secs(30), || {
        spooled(&g1) == 0 && entries(&g2, "gate=g1&limit=1000").len() == answers.len()
    });
    let answered: Vec<(String, String)> = answers
        .iter()
        .map(|a| (a.decision.clone(), a.reason.clone()))
        .collect();
    assert_eq!(outcomes(&entries(&g2, "gate=g1&limit=1000")), answered);
    assert!(answered.contains(&("deny".into(), "replayed".into())));
    assert!(answered.contains(&("deny".into(), "malformed".into())));

    // A code let in at gate 1 while degraded is refused at gate 2, which never saw it.
    let while_down = answers
        .iter()
        .find(|a| a.fleet == "degraded" && a.decision == "allow")
        .expect("a code let in while degraded");
    let body = g2.verify(&while_down.text);
    assert_deny(&body, "replayed");
    assert_eq!(body["fleet_check"], "ok", "{body}");
}

/// Copies the spool files `name`, `name-wal` from `from` to `to` (replacing what is there).
fn copy_spool(from: &Path, to: &Path, name: &str) {
    for file in [name.to_owned(), format!("{name}-wal")] {
        let _ = std::fs::remove_file(to.join(&file));
        if from.join(&file).exists() {
            std::fs::copy(from.join(&file), to.join(&file)).unwrap();
        }
    }
}

#[test]
fn a_gate_killed_with_entries_in_its_spool_delivers_them_once_after_a_restart() {
    let cluster = Cluster::start("kill");
    let world = World::new("pg-kill");
    let (d1, d2) = (TempDir::new("pg-kill-g1"), TempDir::new("pg-kill-g2"));
    let saved = TempDir::new("pg-kill-saved");
    let g1 = fleet_gate(&world, &d1, "g1", &cluster.url);
    let g2 = fleet_gate(&world, &d2, "g2", &cluster.url);
    cluster.stop();

    let wallet = world.wallet(IDX_VALID);
    let codes: Vec<String> = (0..5).map(|_| code(&wallet)).collect();
    let mut answered: Vec<(String, String)> = Vec::new();
    for c in &codes {
        assert_allow(&g1.verify(c), "degraded");
        answered.push(("allow".into(), "ok".into()));
    }
    assert_deny(&g1.verify(&codes[0]), "replayed");
    answered.push(("deny".into(), "replayed".into()));
    assert_deny(&g1.verify("not a code"), "malformed");
    answered.push(("deny".into(), "malformed".into()));
    // Answered means on disk: all seven wait in the spool (its default place: the config's
    // directory, named after the gate).
    assert_eq!(spooled(&g1), 7);
    assert!(d1.path("g1.spool").exists());

    // A power cut, as far as the gate can tell; the spool as it left it is kept for later.
    g1.kill_hard();
    copy_spool(&d1.0, &saved.0, "g1.spool");
    cluster.restart();
    let g1 = fleet_gate(&world, &d1, "g1", &cluster.url);
    eventually("the spool delivered", Duration::from_secs(15), || {
        spooled(&g1) == 0 && entries(&g2, "gate=g1").len() == answered.len()
    });
    assert_eq!(outcomes(&entries(&g2, "gate=g1")), answered);
    // The codes let in while degraded are refused at every gate, the one that spooled them too.
    assert_deny(&g1.verify(&codes[1]), "replayed");
    answered.push(("deny".into(), "replayed".into()));
    let body = g2.verify(&codes[2]);
    assert_deny(&body, "replayed");
    assert_eq!(body["fleet_check"], "ok", "{body}");

    // A delivery that committed in PostgreSQL but died before the spool was trimmed: the same
    // seven entries, with their ids, are sent again at the next start and add nothing.
    assert!(g1.terminate().success());
    copy_spool(&saved.0, &d1.0, "g1.spool");
    let g1 = fleet_gate(&world, &d1, "g1", &cluster.url);
    eventually("the old spool read again", Duration::from_secs(10), || {
        g1.stderr
            .lock()
            .unwrap()
            .contains("entries from an earlier run wait in the spool")
    });
    eventually("the old spool sent again", Duration::from_secs(15), || {
        spooled(&g1) == 0
    });
    assert_eq!(outcomes(&entries(&g2, "gate=g1")), answered);
    let all = entries(&g2, "");
    assert_eq!(all.len(), answered.len() + 1, "g1's entries and g2's one");
}

/// A test CA: its issuer and its certificate (PEM).
fn test_ca(name: &str) -> (rcgen::Issuer<'static, rcgen::KeyPair>, String) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (rcgen::Issuer::new(params, key), cert.pem())
}

#[test]
fn tls_to_postgres_is_verified_against_a_private_ca_and_refused_with_the_wrong_one() {
    let certs = TempDir::new("pg-tls-certs");
    let (ca, ca_pem) = test_ca("govid test database CA");
    let (_, other_pem) = test_ca("some other CA");
    // The database's certificate names 127.0.0.1 only.
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "govid test database");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let (cert_path, key_path) = (certs.path("server.crt"), certs.path("server.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let (ca_path, other_path) = (certs.path("ca.pem"), certs.path("other-ca.pem"));
    std::fs::write(&ca_path, &ca_pem).unwrap();
    std::fs::write(&other_path, &other_pem).unwrap();

    let cluster = Cluster::start_tls("tls", &cert_path, &key_path);
    // The password is not checked (trust authentication) but must never be logged.
    let base = cluster
        .url
        .replace("postgres@", "postgres:hunter2-not-logged@")
        .replace("?sslmode=disable", "");
    let world = World::new("pg-tls");
    let url = |query: String| format!("{base}?{query}");
    let dirs: Vec<TempDir> = (0..5)
        .map(|i| TempDir::new(&format!("pg-tls-g{i}")))
        .collect();

    // verify-full with the private CA: the fleet check works.
    let good = fleet_gate(
        &world,
        &dirs[0],
        "tls-ok",
        &url(format!(
            "sslmode=verify-full&sslrootcert={}",
            ca_path.display()
        )),
    );
    assert_eq!(good.health()["replay"]["fleet"], "ok", "{}", good.health());
    assert_allow(&good.verify(&code(&world.wallet(IDX_VALID))), "ok");

    // Refused, each for its own reason, and the gate says why and decides degraded.
    let refused = |dir: &TempDir, id: &str, url: String, why: &str| {
        let gate = fleet_gate(&world, dir, id, &url);
        let health = gate.health();
        assert_eq!(health["replay"]["fleet"], "degraded", "{health}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !gate.stderr.lock().unwrap().contains(why) {
            assert!(
                Instant::now() < deadline,
                "{id}: no `{why}` in:\n{}",
                gate.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        gate
    };
    let wrong_ca = refused(
        &dirs[1],
        "tls-wrong-ca",
        url(format!(
            "sslmode=verify-full&sslrootcert={}",
            other_path.display()
        )),
        "invalid peer certificate: UnknownIssuer",
    );
    // The certificate names 127.0.0.1, not localhost: verify-full refuses, verify-ca does not.
    let localhost = format!("{base}?").replace("127.0.0.1", "localhost");
    let wrong_name = refused(
        &dirs[2],
        "tls-wrong-name",
        format!(
            "{localhost}sslmode=verify-full&sslrootcert={}",
            ca_path.display()
        ),
        "certificate not valid for name",
    );
    let ca_only = fleet_gate(
        &world,
        &dirs[3],
        "tls-ca-only",
        &format!(
            "{localhost}sslmode=verify-ca&sslrootcert={}",
            ca_path.display()
        ),
    );
    assert_eq!(ca_only.health()["replay"]["fleet"], "ok");
    // The cluster takes TLS connections only: so the gates above did speak TLS.
    let plain = refused(
        &dirs[4],
        "tls-plain",
        url("sslmode=disable".to_owned()),
        "no encryption",
    );
    for gate in [&good, &wrong_ca, &wrong_name, &ca_only, &plain] {
        let stderr = gate.stderr.lock().unwrap();
        assert!(!stderr.contains("hunter2-not-logged"), "{stderr}");
    }
}

/// Claims of concurrent decisions go to PostgreSQL in batches: the same codes sent at once to
/// three gates, several times each (so one batch can hold a key twice, and batches of different
/// gates race for it), are each let in exactly once across the fleet.
#[test]
fn concurrent_claims_of_the_same_codes_let_each_in_once() {
    let cluster = Cluster::start("fleet-race");
    let world = World::new("pg-race");
    let dirs = [
        TempDir::new("pg-r1"),
        TempDir::new("pg-r2"),
        TempDir::new("pg-r3"),
    ];
    let gates: Vec<Gate> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| fleet_gate(&world, dir, &format!("r{i}"), &cluster.url))
        .collect();
    let wallet = world.wallet(IDX_VALID);
    let codes: Vec<String> = (0..12).map(|_| code(&wallet)).collect();
    let answers: Vec<(usize, Value)> = std::thread::scope(|s| {
        let mut threads = Vec::new();
        for (g, gate) in gates.iter().enumerate() {
            for round in 0..3 {
                let codes = &codes;
                threads.push(s.spawn(move || {
                    let mut out = Vec::new();
                    for i in 0..codes.len() {
                        // Each thread walks the codes from another start, so they collide.
                        let n = (i + round * 5 + g * 3) % codes.len();
                        out.push((n, gate.verify(&codes[n])));
                    }
                    out
                }));
            }
        }
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    for n in 0..codes.len() {
        let for_code: Vec<&Value> = answers
            .iter()
            .filter(|(i, _)| *i == n)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(for_code.len(), 9);
        let allowed = for_code.iter().filter(|b| b["decision"] == "allow").count();
        assert_eq!(allowed, 1, "code {n}: {for_code:?}");
        for body in for_code.iter().filter(|b| b["decision"] != "allow") {
            assert_deny(body, "replayed");
        }
    }
}

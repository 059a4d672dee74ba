//! `govid-verifier witness` on loopback (c2sp.org/tlog-witness add-checkpoint): the first
//! checkpoint and a consistent next one are cosigned; an old size that is not the witness's is
//! 409 with its size; a fork (same size, other root) is 422 with the evidence written; a bad or
//! missing log signature is 403; an unknown origin 404; the key file is 0600.

// Tests report failures by panicking with the value that was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use govid_core::tlog::{
    add_signature_lines, Entry, LogKey, LogSigner, MemoryTree, WitnessKey, WitnessPolicy,
};

const ORIGIN: &str = "hr.mot.example/log";

fn signer() -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[3; 32]).unwrap()
}

fn tree(n: u64, salt: u8) -> MemoryTree {
    let leaves: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            Entry::TrustBundle {
                seq: i,
                sha256: [if i >= 2 { salt } else { 0 }; 32],
            }
            .to_bytes()
            .unwrap()
        })
        .collect();
    MemoryTree::from_entries(leaves.iter().map(Vec::as_slice))
}

fn note(t: &MemoryTree) -> Vec<u8> {
    signer().sign_checkpoint(t.size(), t.root()).unwrap()
}

fn body(old: u64, proof: &[govid_core::tlog::Hash], note: &[u8]) -> Vec<u8> {
    let mut b = format!("old {old}\n").into_bytes();
    for h in proof {
        b.extend_from_slice(format!("{h}\n").as_bytes());
    }
    b.push(b'\n');
    b.extend_from_slice(note);
    b
}

struct WitnessProc {
    child: Child,
    url: String,
    vkey: String,
    state: PathBuf,
}

impl Drop for WitnessProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("witness-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn start(d: &Path) -> WitnessProc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govid-verifier"))
        .args(["witness", "--name", "witness.test/w1", "--key"])
        .arg(d.join("witness.key"))
        .args(["--log-key", &signer().verifier_key(), "--state"])
        .arg(d.join("state"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let vkey = lines.next().unwrap().unwrap();
    let addr = lines.next().unwrap().unwrap();
    WitnessProc {
        child,
        url: format!("http://{}", addr.strip_prefix("listening on ").unwrap()),
        vkey: vkey.strip_prefix("vkey ").unwrap().to_owned(),
        state: d.join("state"),
    }
}

fn post(w: &WitnessProc, body: &[u8]) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(&format!("{}/add-checkpoint", w.url))
        .send(body)
        .unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        r.status().as_u16(),
        ct,
        r.body_mut().read_to_string().unwrap(),
    )
}

fn policy(w: &WitnessProc) -> WitnessPolicy {
    WitnessPolicy {
        log: LogKey::parse(&signer().verifier_key()).unwrap(),
        witnesses: vec![WitnessKey::parse(&w.vkey).unwrap()],
        min_cosignatures: 1,
    }
}

fn evidence(w: &WitnessProc) -> Vec<String> {
    std::fs::read_dir(w.state.join("evidence"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn first_then_consistent_checkpoints_are_cosigned() {
    let w = start(&dir("consistent"));
    let key = std::fs::metadata(w.state.parent().unwrap().join("witness.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);

    let t3 = tree(3, 1);
    let (status, _, lines) = post(&w, &body(0, &[], &note(&t3)));
    assert_eq!(status, 200, "{lines}");
    assert!(lines.starts_with("— witness.test/w1 ") && lines.ends_with('\n'));
    let cosigned = add_signature_lines(&note(&t3), lines.as_bytes()).unwrap();
    let ok = policy(&w).check(&cosigned).unwrap();
    assert_eq!(ok.verified.checkpoint.size(), 3);

    let t7 = tree(7, 1);
    let proof = t7.consistency_proof(7, 3).unwrap();
    let (status, _, lines) = post(&w, &body(3, &proof, &note(&t7)));
    assert_eq!(status, 200, "{lines}");
    let cosigned = add_signature_lines(&note(&t7), lines.as_bytes()).unwrap();
    policy(&w).check(&cosigned).unwrap();

    // The monitoring endpoint serves it, cosigned.
    let hash: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(ORIGIN)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let mut r = ureq::get(&format!("{}/{hash}/checkpoint", w.url))
        .call()
        .unwrap();
    let served = r.body_mut().read_to_string().unwrap();
    assert_eq!(
        policy(&w)
            .check(served.as_bytes())
            .unwrap()
            .verified
            .checkpoint
            .size(),
        7
    );
    assert!(evidence(&w).is_empty());
}

#[test]
fn a_stale_old_size_or_rollback_is_409_with_the_witness_size() {
    let w = start(&dir("rollback"));
    let t5 = tree(5, 1);
    assert_eq!(post(&w, &body(0, &[], &note(&t5))).0, 200);
    // A log that does not know the witness's size sends old 0: told 5.
    let t6 = tree(6, 1);
    let (status, ct, text) = post(&w, &body(0, &[], &note(&t6)));
    assert_eq!(
        (status, ct.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "5\n")
    );
    // A rollback: a smaller checkpoint, from old 0 or from a size it does not have.
    let t3 = tree(3, 1);
    assert_eq!(post(&w, &body(0, &[], &note(&t3))).2, "5\n");
    assert_eq!(post(&w, &body(3, &[], &note(&t3))).0, 409);
    // From the witness's own size, to a smaller tree: old above the size is 400.
    let (status, _, text) = post(&w, &body(5, &[], &note(&t3)));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("old size is above"), "{text}");
}

#[test]
fn a_fork_is_refused_and_its_evidence_kept() {
    let w = start(&dir("fork"));
    let good = tree(4, 1);
    assert_eq!(post(&w, &body(0, &[], &note(&good))).0, 200);
    // Same size, another root.
    let fork = tree(4, 2);
    let (status, _, text) = post(&w, &body(4, &[], &note(&fork)));
    assert_eq!(status, 422);
    assert!(text.contains("a fork"), "{text}");
    let ev = evidence(&w);
    assert_eq!(ev.len(), 1);
    assert!(ev[0].contains(&String::from_utf8(note(&good)).unwrap()[..40]));
    assert!(ev[0].contains(&String::from_utf8(note(&fork)).unwrap()));
    // A larger tree that does not extend the cosigned one: its proof cannot verify.
    let fork8 = tree(8, 2);
    let proof = fork8.consistency_proof(8, 4).unwrap();
    let (status, _, text) = post(&w, &body(4, &proof, &note(&fork8)));
    assert_eq!(status, 422);
    assert!(text.contains("does not verify"), "{text}");
    assert_eq!(evidence(&w).len(), 2);
    // The witness still stands by the first: the good history goes on.
    let next = tree(8, 1);
    let proof = next.consistency_proof(8, 4).unwrap();
    assert_eq!(post(&w, &body(4, &proof, &note(&next))).0, 200);
}

#[test]
fn a_bad_or_missing_log_signature_is_403_and_an_unknown_log_404() {
    let w = start(&dir("badsig"));
    let t = tree(2, 1);
    // Signed by another key for the same origin: no signature by the log's key.
    let other = LogSigner::from_seed(ORIGIN, &[9; 32]).unwrap();
    let forged = other.sign_checkpoint(t.size(), t.root()).unwrap();
    let (status, _, text) = post(&w, &body(0, &[], &forged));
    assert_eq!(status, 403);
    assert!(text.contains("no signature by the log's key"), "{text}");
    // The log key's line over altered text.
    let good = String::from_utf8(note(&t)).unwrap();
    let altered = good.replacen("\n2\n", "\n3\n", 1);
    let (status, _, text) = post(&w, &body(0, &[], altered.as_bytes()));
    assert_eq!(status, 403);
    assert!(text.contains("does not verify"), "{text}");
    // Another origin.
    let stranger = LogSigner::from_seed("other.example/log", &[3; 32]).unwrap();
    let (status, _, _) = post(
        &w,
        &body(
            0,
            &[],
            &stranger
                .sign_checkpoint(0, govid_core::tlog::EMPTY_HASH)
                .unwrap(),
        ),
    );
    assert_eq!(status, 404);
    // A malformed body.
    assert_eq!(post(&w, b"old 01\n\nx").0, 400);
    // Nothing was cosigned: the first good checkpoint is still from 0.
    assert_eq!(post(&w, &body(0, &[], &note(&t))).0, 200);
}

#[test]
fn the_key_file_is_kept_and_refused_when_readable_by_others() {
    let d = dir("keyfile");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_govid-verifier"))
            .args(["witness", "--key"])
            .arg(d.join("w.key"))
            .args(extra)
            .output()
            .unwrap()
    };
    let missing_name = run(&[]);
    assert_eq!(missing_name.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing_name.stderr).contains("needs --name"));
    let made = run(&["--name", "witness.test/k"]);
    assert_eq!(made.status.code(), Some(0));
    let again = run(&[]);
    assert_eq!(made.stdout, again.stdout, "the same vkey from the kept key");
    let key_text = std::fs::read_to_string(d.join("w.key")).unwrap();
    let seed = key_text.lines().nth(2).unwrap();
    assert!(!String::from_utf8_lossy(&made.stdout).contains(seed));
    std::fs::set_permissions(d.join("w.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = run(&[]);
    assert_eq!(open.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&open.stderr).contains("readable by others"));
}

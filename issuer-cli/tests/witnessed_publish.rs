//! `publish --witness`: with a real `govid-verifier witness`, the published checkpoint and the
//! `.tlog-proof` files carry its cosignature (the first request's old size is corrected by the
//! witness's 409); the next publish is cosigned from the witness's size; too few cosignatures
//! still write the files and exit 1 `too_few_cosignatures`; `--witness` without a key is a usage
//! error.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use govid_core::tlog::{LogKey, PolicyError, TlogProof, WitnessKey, WitnessPolicy};

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

struct Witness {
    child: Child,
    url: String,
    vkey: String,
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_witness(bin: &Path, env: &Env, name: &str, log_vkey: &Path) -> Witness {
    let mut child = ok(Command::new(bin)
        .args(["witness", "--name", &format!("{name}.test/w"), "--key"])
        .arg(env.path(&format!("{name}.key")))
        .args(["--log-key", s(log_vkey), "--state"])
        .arg(env.path(&format!("{name}-state")))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn());
    let mut lines = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("stdout")))
        .lines()
        .map_while(Result::ok);
    let vkey = lines.next().unwrap_or_default();
    let addr = lines.next().unwrap_or_default();
    Witness {
        child,
        url: format!("http://{}", addr.trim_start_matches("listening on ")),
        vkey: vkey.trim_start_matches("vkey ").to_owned(),
    }
}

fn policy(web: &Path, witnesses: &[&str], min: usize) -> WitnessPolicy {
    WitnessPolicy {
        log: ok(LogKey::parse(&ok(std::fs::read_to_string(
            web.join("log/log.vkey"),
        )))),
        witnesses: witnesses.iter().map(|v| ok(WitnessKey::parse(v))).collect(),
        min_cosignatures: min,
    }
}

fn proof_checkpoint(web: &Path, file: &str) -> Vec<u8> {
    ok(TlogProof::parse(&ok(std::fs::read(web.join(file))))).checkpoint
}

#[test]
fn publish_collects_a_witness_cosignature_for_checkpoint_and_proofs() {
    let verifier = verifier_bin();
    let env = Env::new();
    env.init().import_sample();
    env.enroll("MOT-0001");
    env.run(&["issue", "MOT-0001"]).assert_ok();
    let web = env.path("web");
    // A first publish without witnesses: the log has entries the witness never saw.
    env.run(&["publish", "--out", s(&web)]).assert_ok();
    let w = start_witness(&verifier, &env, "w1", &web.join("log/log.vkey"));

    let report = env
        .run(&[
            "--json",
            "publish",
            "--out",
            s(&web),
            "--witness",
            &w.url,
            "--witness-key",
            &w.vkey,
        ])
        .assert_ok()
        .json();
    assert_eq!(report["log"]["witnesses"]["cosigners"][0], "w1.test/w");
    let p = policy(&web, &[&w.vkey], 1);
    let cp = ok(std::fs::read(web.join("log/checkpoint")));
    let first = ok(p.check(&cp));
    for proof in ["status/1.tlog-proof", "trust-bundle.jwt.tlog-proof"] {
        assert_eq!(ok(p.check(&proof_checkpoint(&web, proof))), first);
    }
    // `log verify` still accepts the published checkpoint.
    env.run(&["log", "verify", "--out", s(&web)]).assert_ok();

    // The next publish starts from the witness's size: cosigned again, a larger tree.
    env.run(&["revoke", "MOT-0001", "--reason", "left", "--yes"])
        .assert_ok();
    env.run(&[
        "publish",
        "--out",
        s(&web),
        "--witness",
        &w.url,
        "--witness-key",
        &w.vkey,
    ])
    .assert_ok();
    let second = ok(p.check(&ok(std::fs::read(web.join("log/checkpoint")))));
    assert!(second.verified.checkpoint.size() > first.verified.checkpoint.size());

    // Two witnesses needed, one of them down: the files are written with one cosignature,
    // and publish says so and exits 1.
    // Another witness's key, made by `witness` without --listen; that witness never runs.
    let made = ok(Command::new(&verifier)
        .args(["witness", "--name", "w2.test/w", "--key"])
        .arg(env.path("w2.key"))
        .output());
    let absent = String::from_utf8_lossy(&made.stdout)
        .trim()
        .trim_start_matches("vkey ")
        .to_owned();
    let run = env.run(&[
        "--json",
        "publish",
        "--out",
        s(&web),
        "--witness",
        &w.url,
        "--witness",
        "http://127.0.0.1:9",
        "--witness-key",
        &w.vkey,
        "--witness-key",
        absent.as_str(),
        "--min-cosignatures",
        "2",
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["error"], "too_few_cosignatures");
    assert!(
        run.stderr.contains("1 of the 2 witness cosignatures"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("http://127.0.0.1:9"), "{}", run.stderr);
    let cp = ok(std::fs::read(web.join("log/checkpoint")));
    let third = ok(policy(&web, &[&w.vkey], 1).check(&cp));
    assert!(third.verified.checkpoint.size() > second.verified.checkpoint.size());
    assert_eq!(
        policy(&web, &[&w.vkey, absent.as_str()], 2).check(&cp),
        Err(PolicyError::TooFewCosignatures { have: 1, need: 2 })
    );
}

#[test]
fn witness_flags_need_each_other() {
    let env = Env::new();
    env.init();
    let web = env.path("web");
    let run = env.run(&[
        "publish",
        "--out",
        s(&web),
        "--witness",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--witness needs --witness-key"),
        "{}",
        run.stderr
    );
    let run = env.run(&["publish", "--out", s(&web), "--min-cosignatures", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("need --witness URL"), "{}", run.stderr);
}

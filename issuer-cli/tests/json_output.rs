//! `--json` answers share one shape: usage mistakes are JSON errors too, `issue` lists each ID it
//! issued, every path is absolute, and the audit log head is `audit_head {seq, hash}`.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

#[test]
fn usage_mistakes_with_json_are_a_json_usage_error_with_exit_2() {
    let env = Env::new();
    env.init();
    for (args, message) in [
        (
            vec!["--json", "offer", "--bogus"],
            "unexpected argument '--bogus' found",
        ),
        (
            vec!["offer", "--json"],
            "the following required arguments were not provided:\n  <EMPLOYEE_NUMBER|--all>",
        ),
        (
            vec!["--json", "staff"],
            "a subcommand is missing: govid-issuer staff [OPTIONS] <COMMAND>",
        ),
        (
            vec!["--json", "offer", "--all", "--expires-days", "0"],
            "invalid value '0' for '--expires-days <DAYS>': 0 is not in 1..=90",
        ),
    ] {
        let run = env.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        let j = run.json();
        assert_eq!(j["ok"], false, "{j}");
        assert_eq!(j["error"], "usage", "{j}");
        let got = j["message"].as_str().unwrap_or_default();
        assert!(got.starts_with(message), "{args:?}: {got:?}");
        // clap's own explanation still goes to stderr.
        assert!(run.stderr.contains("--help"), "{}", run.stderr);
    }
    // The same shape as the tool's own usage errors.
    let r = env.run(&["--json", "revoke", "MOT-0001", "--reason", " "]);
    assert_eq!(r.code, 2);
    let j = r.json();
    let mut keys = j
        .as_object()
        .map(|m| m.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    keys.sort();
    assert_eq!(keys, ["error", "message", "ok"]);
    // Without --json: text only, nothing on stdout.
    let r = env.run(&["offer", "--bogus"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    // Help is not an error.
    let r = env.run(&["--json", "offer", "--help"]);
    assert_eq!(r.code, 0);
}

#[test]
fn issue_json_lists_each_id_with_its_files_and_status_entry() {
    let env = Env::new();
    env.init().import_sample();
    env.enroll("MOT-0001");
    env.enroll("MOT-0002");
    let j = env.run(&["--json", "issue", "--all"]).assert_ok().json();
    assert_eq!(j["issued"], 2);
    assert_eq!(j["not_enrolled"], 18);
    let results = j["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 2, "{j}");
    let ids = env.dir.join("credentials");
    for (r, n) in results.iter().zip(["MOT-0001", "MOT-0002"]) {
        assert_eq!(r["employee_number"], n);
        let file = Path::new(r["credential_file"].as_str().unwrap_or_default());
        assert!(file.is_absolute(), "{r}");
        assert_eq!(file, ids.join(format!("{n}.sd-jwt")));
        assert!(file.is_file());
        let pass = Path::new(r["gate_pass_file"].as_str().unwrap_or_default());
        assert_eq!(pass, ids.join(format!("{n}.gate-pass.sd-jwt")));
        assert_eq!(r["status_list"]["uri"], "https://hr.mot.example/status/1");
        let idx = r["status_list"]["idx"].as_u64().unwrap_or(u64::MAX);
        let in_db: i64 = ok(env.db().query_row(
            "SELECT idx FROM credentials WHERE employee_number = ?1",
            [n],
            |row| row.get(0),
        ));
        assert_eq!(idx, in_db as u64);
    }
    // --jsonl: the lines carry the IDs; results name no files.
    env.enroll("MOT-0003");
    let run = env
        .run(&["--json", "issue", "MOT-0003", "--jsonl"])
        .assert_ok();
    let j = run.json();
    assert_eq!(j["results"][0]["employee_number"], "MOT-0003");
    assert_eq!(j["results"][0]["credential_file"], Value::Null);
    // Nobody to issue to: an empty list.
    let j = env.run(&["--json", "issue", "--all"]).assert_ok().json();
    assert_eq!(j["results"], serde_json::json!([]));
}

#[test]
fn paths_in_json_are_absolute_and_the_audit_head_has_one_shape() {
    let env = Env::new();
    // A relative --dir and --out, run from the workspace folder.
    let run = |args: &[&str]| {
        let mut cmd = env.command();
        cmd.current_dir(env.tmp.path())
            .args(["--dir", "issuer", "--json"])
            .args(args);
        let out = ok(cmd.output());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let j: Value = ok(serde_json::from_str(
            stdout.lines().last().unwrap_or_default(),
        ));
        j
    };
    let abs = |v: &Value| Path::new(v.as_str().unwrap_or_default()).is_absolute();
    let j = run(&["init", "--name", "MOT HR", "--did-web", "hr.mot.example"]);
    assert!(
        abs(&j["dir"]) && abs(&j["did_document"]) && abs(&j["jwks"]),
        "{j}"
    );
    assert_eq!(
        Path::new(j["dir"].as_str().unwrap_or_default()),
        env.dir.as_path()
    );
    let roster = sample_roster();
    run(&["staff", "import", roster.to_str().unwrap_or_default()]);
    let j = run(&["offer", "MOT-0001"]);
    assert!(abs(&j["offers"][0]["qr_png"]), "{j}");
    let j = run(&["offer", "--all", "--replace", "--codes-file", "codes.csv"]);
    assert!(abs(&j["codes_file"]), "{j}");
    let j = run(&["publish", "--out", "www"]);
    for key in [
        "out",
        "did_document",
        "jwks",
        "trust_bundle",
        "operator_jwk",
    ] {
        assert!(abs(&j[key]), "{key}: {j}");
    }
    let published = j["audit_head"].clone();
    let v = run(&["audit", "verify"]);
    assert_eq!(v["audit_head"], published, "{v}");
    assert_eq!(v["head"], published["hash"]);
    assert_eq!(v["entries"], published["seq"]);
}

//! Interrupted runs (kill -9), concurrent runs, and the busy message.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// An issuer with `n` synthetic staff, all enrolled.
fn enrolled(n: usize) -> Env {
    let env = Env::new();
    env.init();
    let roster = env.path("synth.csv");
    let r = roster.to_str().unwrap_or_default().to_owned();
    env.run(&["dev", "synth", "--count", &n.to_string(), "--out", &r])
        .assert_ok();
    env.run(&["staff", "import", &r]).assert_ok();
    env.run(&["dev", "enroll-all"]).assert_ok();
    env
}

fn count(env: &Env, sql: &str) -> i64 {
    ok(env.db().query_row(sql, [], |r| r.get(0)))
}

fn assert_consistent(env: &Env, expected: i64) {
    assert_eq!(
        count(env, "SELECT COUNT(*) FROM credentials"),
        expected,
        "one credential each"
    );
    assert_eq!(
        count(
            env,
            "SELECT COUNT(DISTINCT employee_number) FROM credentials"
        ),
        expected,
        "nobody twice"
    );
    assert_eq!(
        count(
            env,
            "SELECT COUNT(*) FROM (SELECT DISTINCT list_id, idx FROM credentials) AS slots"
        ),
        expected,
        "no index twice"
    );
    assert_eq!(
        count(env, "SELECT COUNT(*) FROM gate_pass_texts"),
        expected,
        "a gate pass with every ID"
    );
    env.run(&["audit", "verify"]).assert_ok();
}

#[test]
fn kill_during_issue_then_resume_issues_everyone_once() {
    const N: i64 = 1000;
    let env = enrolled(N as usize);
    let out = env.path("ids");
    let out_s = out.to_str().unwrap_or_default().to_owned();
    let mut child = ok(env
        .command()
        .arg("--dir")
        .arg(&env.dir)
        .args(["issue", "--all", "--batch", "50", "--out", &out_s])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn());
    // Wait until some batches are committed, then kill -9 in the middle of the run.
    let started = Instant::now();
    loop {
        let done = env
            .db()
            .query_row("SELECT COUNT(*) FROM credentials", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_or(0);
        if done >= 100 || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ok(child.kill()); // SIGKILL
    ok(child.wait());
    let partial = count(&env, "SELECT COUNT(*) FROM credentials");
    assert!(partial > 0 && partial < N, "killed mid-run after {partial}");
    assert_eq!(partial % 50, 0, "only whole batches are committed");
    env.run(&["audit", "verify"]).assert_ok();

    let r = env
        .run(&["--json", "issue", "--all", "--batch", "50", "--out", &out_s])
        .assert_ok()
        .json();
    assert_eq!(r["issued"].as_i64(), Some(N - partial));
    assert_consistent(&env, N);
    // (worker IDs, gate passes)
    let names: Vec<String> = ok(std::fs::read_dir(&out))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    let passes = names
        .iter()
        .filter(|n| n.ends_with(".gate-pass.sd-jwt"))
        .count() as i64;
    let ids = names.iter().filter(|n| n.ends_with(".sd-jwt")).count() as i64 - passes;
    assert_eq!(
        ids, N,
        "every ID file is there, including those of the killed batch"
    );
    assert_eq!(
        passes, N,
        "every gate pass file is there, including those of the killed batch"
    );
    // And again: nothing more.
    let r = env.run(&["--json", "issue", "--all"]).assert_ok().json();
    assert_eq!(r["issued"], 0);
}

#[test]
fn kill_during_publish_leaves_consistent_state() {
    let env = enrolled(200);
    env.run(&[
        "issue",
        "--all",
        "--jsonl",
        "--out",
        env.path("ids").to_str().unwrap_or_default(),
    ])
    .assert_ok();
    env.run(&["revoke", "S00000007", "--reason", "test"])
        .assert_ok();
    let web = env.path("web");
    let web_s = web.to_str().unwrap_or_default().to_owned();
    for delay_ms in [0u64, 2, 5, 10, 20, 40] {
        let mut child = ok(env
            .command()
            .arg("--dir")
            .arg(&env.dir)
            .args(["publish", "--out", &web_s])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn());
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        ok(child.wait());
    }
    env.run(&["audit", "verify"]).assert_ok();
    let r = env
        .run(&["--json", "publish", "--out", &web_s])
        .assert_ok()
        .json();
    let seq = r["trust_bundle_seq"].as_i64().unwrap_or_default();
    let published = count(&env, "SELECT COUNT(*) FROM audit WHERE action = 'publish'");
    assert_eq!(seq, published, "every committed publish took its own seq");
    let token = ok(std::fs::read_to_string(web.join("status/1")));
    assert_eq!(token.split('.').count(), 3);
    // A killed run may leave a `.1.tmp-<pid>` beside a target; it is never read, and the
    // target itself is always a whole token (checked above).
}

#[test]
fn concurrent_issue_runs_never_issue_twice() {
    const N: i64 = 400;
    let env = enrolled(N as usize);
    let spawn = || {
        ok(env
            .command()
            .arg("--dir")
            .arg(&env.dir)
            .args(["issue", "--all", "--batch", "25", "--jsonl"])
            .env("GOVID_ISSUER_BUSY_TIMEOUT_MS", "60000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn())
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (ok(a.wait_with_output()), ok(b.wait_with_output()));
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let lines =
        |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).lines().count() as i64;
    assert_eq!(
        lines(&a) + lines(&b),
        N,
        "each ID printed by exactly one run"
    );
    assert_consistent(&env, N);
    // What was printed is what was stored: a batch one run planned and signed, then dropped
    // because the other run wrote meanwhile, never reaches the output.
    let db = env.db();
    for o in [&a, &b] {
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let line: serde_json::Value = ok(serde_json::from_str(line));
            let n = line["employee_number"].as_str().unwrap_or_default();
            let (id, pass): (String, String) = ok(db.query_row(
                "SELECT t.sd_jwt, g.sd_jwt FROM credentials c
                 JOIN credential_texts t ON t.credential_id = c.id
                 JOIN gate_pass_texts g ON g.credential_id = c.id
                 WHERE c.employee_number = ?1",
                [n],
                |r| Ok((r.get(0)?, r.get(1)?)),
            ));
            assert_eq!(line["credential"], id.as_str(), "{n}");
            assert_eq!(line["gate_pass"], pass.as_str(), "{n}");
        }
    }
}

/// Two runs taking turns batch by batch: each run's batch planned (and signed) while the other
/// committed is dropped and planned again, never stored or printed twice.
#[test]
fn a_batch_planned_before_another_command_wrote_is_planned_again() {
    const N: i64 = 200;
    let env = enrolled(N as usize);
    let spawn = || {
        ok(env
            .command()
            .arg("--dir")
            .arg(&env.dir)
            .args(["issue", "--all", "--batch", "20", "--jsonl"])
            .env("GOVID_ISSUER_BUSY_TIMEOUT_MS", "60000")
            .env("GOVID_ISSUER_TEST_BATCH_PAUSE_MS", "150")
            .env("GOVID_ISSUER_TRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn())
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (ok(a.wait_with_output()), ok(b.wait_with_output()));
    let dropped = |o: &std::process::Output| -> i64 {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        let n = stderr.lines().find_map(|line| {
            line.rsplit("; ")
                .next()?
                .strip_suffix(" planned batch(es) dropped")
        });
        ok(n.unwrap_or_default().trim().parse::<i64>())
    };
    assert!(
        dropped(&a) + dropped(&b) > 0,
        "the runs interleaved, so some plans were dropped"
    );
    let mut printed: Vec<String> = [&a, &b]
        .iter()
        .flat_map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|l| {
            let v: serde_json::Value = ok(serde_json::from_str(&l));
            v["employee_number"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    printed.sort();
    printed.dedup();
    assert_eq!(printed.len() as i64, N, "everyone printed once");
    assert_consistent(&env, N);
}

#[test]
fn a_busy_database_gives_a_clear_message() {
    let env = Env::new();
    env.init();
    let mut conn = env.db();
    let writing = ok(conn.write_transaction());
    let r = env.run_env(
        &[
            "staff",
            "import",
            sample_roster().to_str().unwrap_or_default(),
        ],
        &[("GOVID_ISSUER_BUSY_TIMEOUT_MS", "200")],
    );
    r.assert_fails_with("the issuer database is busy: another govid-issuer command is running");
    drop(writing);
    env.import_sample();
}

/// Regression: kill -9 between writing an ID file's temporary file and renaming it left a
/// `.<N>.sd-jwt.tmp-<pid>` (often 0 bytes) in `credentials/` for good; the next run removes such
/// files of dead runs, and only those.
#[test]
fn issue_removes_temp_files_a_killed_run_left_and_nothing_else() {
    let env = enrolled(3);
    let out = env.dir.join("credentials");
    env.run(&["issue", "--all"]).assert_ok();
    let texts: Vec<(String, String, String)> = {
        let db = env.db();
        let mut stmt = ok(db.prepare(
            "SELECT c.employee_number, t.sd_jwt, g.sd_jwt FROM credentials c
             JOIN credential_texts t ON t.credential_id = c.id
             JOIN gate_pass_texts g ON g.credential_id = c.id ORDER BY c.id",
        ));
        let rows = ok(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))));
        ok(rows.collect::<Result<_, _>>())
    };
    assert_eq!(texts.len(), 3);
    let n = &texts[0].0;
    // No process has this number (above any pid_max).
    let dead = u32::MAX - 1;
    let stale = [
        format!(".{n}.sd-jwt.tmp-{dead}"),
        format!(".{n}.gate-pass.sd-jwt.tmp-{dead}"),
    ];
    for name in &stale {
        ok(std::fs::write(out.join(name), b""));
    }
    // A run still going (this test's own process), and files that are not the tool's.
    let kept = [
        format!(".{n}.sd-jwt.tmp-{}", std::process::id()),
        format!(".notes.txt.tmp-{dead}"),
        format!("{n}.sd-jwt.tmp-{dead}"),
    ];
    for name in &kept {
        ok(std::fs::write(out.join(name), b"x"));
    }
    // The killed run had not written the second person's gate pass yet.
    ok(std::fs::remove_file(
        out.join(format!("{}.gate-pass.sd-jwt", texts[1].0)),
    ));

    let r = env.run(&["--json", "issue", "--all"]).assert_ok().json();
    assert_eq!(r["issued"], 0);
    assert_eq!(r["files_rewritten"], 1);
    assert_eq!(r["temp_files_removed"], 2);
    for name in &stale {
        assert!(!out.join(name).exists(), "{name} is still there");
    }
    for name in &kept {
        assert_eq!(ok(std::fs::read(out.join(name))), b"x", "{name}");
    }
    for (n, id, pass) in &texts {
        assert_eq!(
            &ok(std::fs::read_to_string(out.join(format!("{n}.sd-jwt")))),
            id
        );
        assert_eq!(
            &ok(std::fs::read_to_string(
                out.join(format!("{n}.gate-pass.sd-jwt"))
            )),
            pass
        );
    }
    let r = env.run(&["issue", "--all"]).assert_ok();
    assert!(
        !r.stdout.contains("temporary file"),
        "nothing left to remove: {}",
        r.stdout
    );
    // The text form says what was removed.
    ok(std::fs::write(out.join(&stale[0]), b""));
    let r = env.run(&["issue", "--all"]).assert_ok();
    assert!(
        r.stdout
            .contains("Removed 1 temporary file(s) left by an interrupted run."),
        "{}",
        r.stdout
    );
}

//! `revoke`, `suspend` and `rotate-key` name whom they hit, and ask first when a person is at a
//! terminal (stdin and stderr both terminals); `--yes` and scripts without a terminal go ahead.
//!
//! The terminal cases run the binary inside a pseudo-terminal made by `script` (util-linux),
//! which feeds it the test's answer. `script` is in Debian's essential `bsdutils` package: a
//! machine without it fails these tests rather than skipping them.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

/// An issuer with the sample roster and MOT-0001 enrolled and holding one ID.
fn issued_env() -> Env {
    let env = Env::new();
    env.init().import_sample();
    env.enroll("MOT-0001");
    env.run(&["issue", "MOT-0001"]).assert_ok();
    env
}

fn state(env: &Env, n: &str) -> String {
    env.run(&["--json", "staff", "show", n]).assert_ok().json()["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Runs `govid-issuer --dir DIR args...` with a pseudo-terminal as stdin, stdout and stderr,
/// typing `answer` (always `Some`; a missing `script` fails the test). The terminal merges stdout
/// and stderr.
fn in_terminal(env: &Env, args: &[&str], answer: &str) -> Option<Run> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = format!("{} --dir {}", quote(BIN), quote(&env.dir.to_string_lossy()));
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    let child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("GOVID_ISSUER_DIR")
        .env_remove("GOVID_ISSUER_DB")
        .envs(env.engine_vars())
        .env_remove("GOVID_ISSUER_NOW")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|e| {
        panic!("`script` (util-linux, Debian's bsdutils) runs the terminal cases: {e}")
    });
    if let Some(mut stdin) = child.stdin.take() {
        ok(stdin.write_all(answer.as_bytes()));
    }
    let out = ok(child.wait_with_output());
    Some(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

#[test]
fn revoke_names_the_person_and_how_many_ids() {
    let env = issued_env();
    let run = env
        .run(&["revoke", "mot-0001", "--reason", "left the ministry"])
        .assert_ok();
    assert!(
        run.stdout.starts_with(
            "Revoked MOT-0001 (1 ID(s)): Amira Haddad. Their IDs and gate passes no longer \
             work. This cannot be undone."
        ),
        "{}",
        run.stdout
    );
    assert_eq!(state(&env, "MOT-0001"), "revoked");
}

#[test]
fn json_answers_keep_their_members_and_add_the_name() {
    let env = issued_env();
    let j = env
        .run(&["--json", "suspend", "MOT-0001", "--reason", "inquiry"])
        .assert_ok()
        .json();
    assert_eq!(j["employee_number"], "MOT-0001");
    assert_eq!(j["state"], "suspended");
    assert_eq!(j["credentials_changed"], 1);
    assert_eq!(j["given_name"], "Amira");
    assert_eq!(j["family_name"], "Haddad");
    let j = env
        .run(&["--json", "revoke", "MOT-0001", "--reason", "left"])
        .assert_ok()
        .json();
    assert_eq!(
        (&j["state"], &j["credentials_changed"], &j["given_name"]),
        (&"revoked".into(), &1.into(), &"Amira".into())
    );
}

#[test]
fn suspend_names_the_person() {
    let env = issued_env();
    let run = env.run(&["suspend", "MOT-0001"]).assert_ok();
    assert!(
        run.stdout.starts_with(
            "Suspended MOT-0001 (1 ID(s)): Amira Haddad. Their IDs and gate passes stop working \
             until you run `govid-issuer reinstate MOT-0001`."
        ),
        "{}",
        run.stdout
    );
}

/// Without a terminal (a script, a pipe) nothing is asked, with or without `--yes`.
#[test]
fn without_a_terminal_nothing_is_asked() {
    let env = issued_env();
    let run = env.run(&["suspend", "MOT-0001"]).assert_ok();
    assert!(!run.stderr.contains("[y/N]"), "{}", run.stderr);
    env.run(&["reinstate", "MOT-0001"]).assert_ok();
    env.run(&["suspend", "MOT-0001", "--yes"]).assert_ok();
    let run = env
        .run(&["revoke", "MOT-0001", "--reason", "left", "--yes"])
        .assert_ok();
    assert!(!run.stderr.contains("[y/N]"), "{}", run.stderr);
    let run = env.run(&["rotate-key"]).assert_ok();
    assert!(
        run.stdout.starts_with(
            "New signing key did:web:hr.mot.example#key-2 for Ministry of Transport HR Office."
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("(which signed 1 ID(s))"),
        "{}",
        run.stdout
    );
}

#[test]
fn on_a_terminal_revoke_asks_and_no_changes_nothing() {
    let env = issued_env();
    let Some(run) = in_terminal(&env, &["revoke", "MOT-0001", "--reason", "left"], "n\n") else {
        return;
    };
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "Revoke Amira Haddad (MOT-0001) for good? Their 1 ID(s), each with its gate pass, \
             stop working and can never be reinstated. [y/N]"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("error: not confirmed: nothing was changed (answer y to go ahead, or pass --yes in scripts)"),
        "{}",
        run.stdout
    );
    assert_eq!(state(&env, "MOT-0001"), "active");
    // End of input is no answer either.
    let Some(run) = in_terminal(&env, &["revoke", "MOT-0001", "--reason", "left"], "") else {
        return;
    };
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(state(&env, "MOT-0001"), "active");
}

#[test]
fn on_a_terminal_yes_goes_ahead() {
    let env = issued_env();
    let Some(run) = in_terminal(&env, &["suspend", "MOT-0001"], "y\n") else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "Suspend Amira Haddad (MOT-0001)? Their 1 valid ID(s), each with its gate pass, stop \
             working until reinstated. [y/N]"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Suspended MOT-0001 (1 ID(s)): Amira Haddad."),
        "{}",
        run.stdout
    );
    assert_eq!(state(&env, "MOT-0001"), "suspended");
}

#[test]
fn on_a_terminal_the_yes_flag_skips_the_question() {
    let env = issued_env();
    let Some(run) = in_terminal(
        &env,
        &["revoke", "MOT-0001", "--reason", "left", "--yes"],
        "",
    ) else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains("[y/N]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Revoked MOT-0001 (1 ID(s))"),
        "{}",
        run.stdout
    );
    assert_eq!(state(&env, "MOT-0001"), "revoked");
}

#[test]
fn on_a_terminal_rotate_key_asks() {
    let env = issued_env();
    let Some(run) = in_terminal(&env, &["rotate-key"], "no\n") else {
        return;
    };
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "Replace the signing key did:web:hr.mot.example#key-1 of Ministry of Transport HR \
             Office with a new one? New IDs will be signed with the new key; the 1 ID(s) signed \
             with the old key keep working. Publish right after. [y/N]"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("error: not confirmed"),
        "{}",
        run.stdout
    );
    let keys: i64 = ok(env
        .db()
        .query_row("SELECT COUNT(*) FROM keys", [], |r| r.get(0)));
    assert_eq!(keys, 1);
    let Some(run) = in_terminal(&env, &["rotate-key", "--yes"], "") else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("New signing key did:web:hr.mot.example#key-2"),
        "{}",
        run.stdout
    );
}

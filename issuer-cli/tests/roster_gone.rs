//! `staff import` names the active staff a roster no longer lists (with whether they hold a
//! valid ID and what to do), `--keep` acknowledges them once, and rows skipped as invalid are not
//! mistaken for people who left.

mod common;

use common::*;
use serde_json::Value;

/// The sample roster without the rows of `drop`, with the `extra` rows added.
fn roster_without(env: &Env, name: &str, drop: &[&str], extra: &[&str]) -> String {
    let text = ok(std::fs::read_to_string(sample_roster()));
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !drop.iter().any(|d| l.starts_with(&format!("{d},"))))
        .collect();
    lines.extend_from_slice(extra);
    let path = env.write(name, &(lines.join("\n") + "\n"));
    path.to_string_lossy().into_owned()
}

fn numbers(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["employee_number"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn import_names_who_is_no_longer_on_the_roster_and_keep_acknowledges_them_once() {
    let env = Env::new();
    env.init().import_sample();
    env.enroll("MOT-0001");
    env.run(&["issue", "MOT-0001"]).assert_ok();
    let short = roster_without(&env, "short.csv", &["MOT-0001", "MOT-0002"], &[]);

    let run = env.run(&["staff", "import", &short]).assert_ok();
    assert!(
        run.stdout.contains(
            "Action needed: 2 active staff member(s) are no longer on this roster:\n  \
             Amira Haddad (MOT-0001): holds a valid ID\n  \
             Thị Linh Nguyễn (MOT-0002): holds no valid ID\n\
             For each: if they left, `govid-issuer revoke <number> --reason \"left the ministry\"`"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("import this roster again with --keep"),
        "{}",
        run.stdout
    );
    // Still listed until acted on; --json has them too.
    let j = env
        .run(&["--json", "staff", "import", &short])
        .assert_ok()
        .json();
    assert_eq!(numbers(&j["no_longer_on_roster"]), ["MOT-0001", "MOT-0002"]);
    assert_eq!(j["no_longer_on_roster"][0]["holds_valid_id"], true);
    assert_eq!(j["no_longer_on_roster"][0]["given_name"], "Amira");
    assert_eq!(j["no_longer_on_roster"][1]["holds_valid_id"], false);

    // --keep: acknowledged, recorded in the audit log, not listed again.
    let j = env
        .run(&["--json", "staff", "import", &short, "--keep"])
        .assert_ok()
        .json();
    assert_eq!(j["no_longer_on_roster"], serde_json::json!([]));
    assert_eq!(numbers(&j["kept_not_on_roster"]), ["MOT-0001", "MOT-0002"]);
    let detail: String = ok(env.db().query_row(
        "SELECT detail FROM audit WHERE action = 'staff_import' ORDER BY seq DESC LIMIT 1",
        [],
        |r| r.get(0),
    ));
    let detail: Value = ok(serde_json::from_str(&detail));
    assert_eq!(
        detail["kept_not_on_roster"]["staff"],
        serde_json::json!(["MOT-0001", "MOT-0002"])
    );
    let run = env.run(&["staff", "import", &short]).assert_ok();
    assert!(!run.stdout.contains("Action needed"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("2 staff member(s) kept earlier with --keep are still not on the roster."),
        "{}",
        run.stdout
    );
    env.run(&["audit", "verify"]).assert_ok();

    // Back on the roster, then gone again: listed again.
    env.run(&[
        "staff",
        "import",
        sample_roster().to_str().unwrap_or_default(),
    ])
    .assert_ok();
    let j = env
        .run(&["--json", "staff", "import", &short])
        .assert_ok()
        .json();
    assert_eq!(numbers(&j["no_longer_on_roster"]), ["MOT-0001", "MOT-0002"]);
    assert_eq!(j["kept_before"], 0);

    // Revoked or suspended: acted on, no longer listed.
    env.run(&["revoke", "MOT-0001", "--reason", "left the ministry"])
        .assert_ok();
    env.run(&["suspend", "MOT-0002"]).assert_ok();
    let run = env.run(&["staff", "import", &short]).assert_ok();
    assert!(!run.stdout.contains("Action needed"), "{}", run.stdout);
}

#[test]
fn a_row_skipped_as_invalid_is_not_counted_as_gone() {
    let env = Env::new();
    env.init().import_sample();
    // MOT-0003's row loses its family name; MOT-0004 is dropped; one row has no number.
    let text = ok(std::fs::read_to_string(sample_roster()));
    let broken: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("MOT-0004,"))
        .map(|l| {
            if l.starts_with("MOT-0003,") {
                l.replacen("Kowalska", "", 1)
            } else {
                l.to_owned()
            }
        })
        .chain([",Nobody,Anne,,Ministry of Transport,MOT,,,,,,2030-12-31".to_owned()])
        .collect();
    let path = env.write("broken.csv", &(broken.join("\n") + "\n"));
    let path = path.to_str().unwrap_or_default();
    let run = env
        .run(&["staff", "import", path, "--skip-invalid"])
        .assert_ok();
    assert!(
        run.stdout.contains(
            "Not counted as gone: 1 staff member(s) whose row was skipped as invalid are still \
             on the roster (MOT-0003); fix their row(s) and import again"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "1 skipped row(s) have no readable employee number: some of those listed as no \
             longer on the roster may be among them."
        ),
        "{}",
        run.stdout
    );
    let j = env
        .run(&["--json", "staff", "import", path, "--skip-invalid"])
        .assert_ok()
        .json();
    assert_eq!(numbers(&j["no_longer_on_roster"]), ["MOT-0004"]);
    assert_eq!(j["skipped_on_roster"], serde_json::json!(["MOT-0003"]));
    assert_eq!(j["skipped_unreadable"], 1);
    assert_eq!(j["skipped"][0]["employee_number"], "MOT-0003");
    assert_eq!(j["skipped"][1]["employee_number"], Value::Null);
}

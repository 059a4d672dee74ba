//! The `--help` texts are part of the contract with HR staff: compared to committed snapshots in
//! `tests/snapshots/`. `UPDATE_SNAPSHOTS=1 cargo test -p govid-issuer --test help_snapshots`
//! rewrites them after an intended change.

mod common;

use std::path::PathBuf;

use common::*;

const COMMANDS: &[&[&str]] = &[
    &[],
    &["init"],
    &["staff"],
    &["staff", "import"],
    &["staff", "list"],
    &["staff", "show"],
    &["offer"],
    &["enroll"],
    &["issue"],
    &["revoke"],
    &["suspend"],
    &["reinstate"],
    &["publish"],
    &["rotate-key"],
    &["audit"],
    &["audit", "verify"],
    &["log"],
    &["log", "verify"],
];

#[test]
fn help_texts_match_snapshots() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for path in COMMANDS {
        let out = ok(command()
            .args(*path)
            .arg("--help")
            .env_remove("COLUMNS")
            .output());
        assert_eq!(out.status.code(), Some(0), "{path:?} --help");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let name = if path.is_empty() {
            "help.txt".to_owned()
        } else {
            format!("help-{}.txt", path.join("-"))
        };
        let file = dir.join(&name);
        if update {
            ok(std::fs::create_dir_all(&dir));
            ok(std::fs::write(&file, &text));
            continue;
        }
        let expected = std::fs::read_to_string(&file).unwrap_or_default();
        if expected != text {
            mismatches.push(format!(
                "--- {name} (expected)\n{expected}\n+++ actual\n{text}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "help texts changed (UPDATE_SNAPSHOTS=1 to accept):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn dev_commands_are_hidden() {
    let out = ok(command().arg("--help").output());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("dev"));
}

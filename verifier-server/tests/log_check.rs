//! `govid-verifier log check`: consistent checkpoints exit 0; a fork (two signed checkpoints of
//! one size with different roots, or a pair the tiles prove inconsistent) exits 1 and prints
//! both as evidence; no verdict (missing tiles, another key, usage) exits 2.

// Tests report failures by panicking with the value that was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use govid_core::tlog::{tile_path, Entry, LogSigner, MemoryTree};

const ORIGIN: &str = "hr.mot.example/log";

fn signer() -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[3; 32]).unwrap()
}

fn tree(n: u64, salt: u8) -> MemoryTree {
    let leaves: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            Entry::TrustBundle {
                seq: i,
                sha256: [salt; 32],
            }
            .to_bytes()
            .unwrap()
        })
        .collect();
    MemoryTree::from_entries(leaves.iter().map(Vec::as_slice))
}

/// A fresh folder with `tree`'s tiles and the checkpoints named in `checkpoints`.
fn workdir(name: &str, tree: &MemoryTree, checkpoints: &[(&str, Vec<u8>)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("log-check-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    for (t, data) in tree.new_hash_tiles(0) {
        let p = dir.join("log").join(tile_path(&t));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    for (file, note) in checkpoints {
        std::fs::write(dir.join(file), note).unwrap();
    }
    dir
}

fn check(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govid-verifier"))
        .args(["log", "check", "--checkpoint"])
        .arg(dir.join("a"))
        .arg("--checkpoint")
        .arg(dir.join("b"))
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_grown_log_is_consistent() {
    let t = tree(300, 1);
    let a = signer().sign_checkpoint(5, t.root_at(5).unwrap()).unwrap();
    let b = signer().sign_checkpoint(300, t.root()).unwrap();
    let dir = workdir("grown", &t, &[("a", a), ("b", b)]);
    let key = signer().verifier_key();
    let tiles = dir.join("log");
    let o = check(
        &dir,
        &["--log-key", &key, "--tiles", tiles.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        "CONSISTENT: hr.mot.example/log at sizes 5 and 300 (both signed by the log key)"
    );
}

#[test]
fn two_signed_checkpoints_of_one_size_with_different_roots_are_a_fork() {
    let (honest, other) = (tree(7, 1), tree(7, 2));
    let a = signer().sign_checkpoint(7, honest.root()).unwrap();
    let b = signer().sign_checkpoint(7, other.root()).unwrap();
    let dir = workdir("same-size", &honest, &[("a", a.clone()), ("b", b.clone())]);
    let o = check(&dir, &["--log-key", &signer().verifier_key()]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "FORK: hr.mot.example/log at sizes 7 and 7: same size, different root hashes \
             (both signed by the log key). Evidence, both checkpoints:"
        ),
        "{out}"
    );
    // Both signed notes, verbatim.
    assert!(
        out.contains(String::from_utf8_lossy(&a).trim_end()),
        "{out}"
    );
    assert!(
        out.contains(String::from_utf8_lossy(&b).trim_end()),
        "{out}"
    );
}

#[test]
fn a_smaller_checkpoint_the_larger_tree_does_not_extend_is_a_fork() {
    let (honest, other) = (tree(40, 1), tree(40, 2));
    let a = signer()
        .sign_checkpoint(9, other.root_at(9).unwrap())
        .unwrap();
    let b = signer().sign_checkpoint(40, honest.root()).unwrap();
    let dir = workdir("inconsistent", &honest, &[("a", a), ("b", b)]);
    let tiles = dir.join("log");
    let o = check(
        &dir,
        &[
            "--log-key",
            &signer().verifier_key(),
            "--tiles",
            tiles.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("the larger tree does not extend the smaller one"));
}

#[test]
fn no_verdict_without_tiles_with_wrong_tiles_or_another_key() {
    let t = tree(40, 1);
    let a = signer().sign_checkpoint(9, t.root_at(9).unwrap()).unwrap();
    let b = signer().sign_checkpoint(40, t.root()).unwrap();
    let dir = workdir("no-verdict", &t, &[("a", a), ("b", b)]);
    let key = signer().verifier_key();

    let o = check(&dir, &["--log-key", &key]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the sizes differ: give --tiles"),
        "{}",
        stderr(&o)
    );

    let empty = dir.join("nothing-here");
    let o = check(
        &dir,
        &["--log-key", &key, "--tiles", empty.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("the tiles of the larger checkpoint are missing or do not match its root"),
        "{}",
        stderr(&o)
    );

    let other = LogSigner::from_seed(ORIGIN, &[4; 32])
        .unwrap()
        .verifier_key();
    let o = check(&dir, &["--log-key", &other]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not signed by the log key hr.mot.example/log"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn without_a_log_key_the_output_says_signatures_were_not_checked() {
    let t = tree(3, 1);
    let a = signer().sign_checkpoint(3, t.root()).unwrap();
    let dir = workdir("no-key", &t, &[("a", a.clone()), ("b", a)]);
    let o = check(&dir, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("SIGNATURES NOT CHECKED (no --log-key)"));
}

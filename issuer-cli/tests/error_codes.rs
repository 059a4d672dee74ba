//! Every error code the tool can emit is in the README's table of error codes, and the table
//! names no code the tool does not emit.

use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The string literals that follow `marker` (after spaces and line breaks), e.g. the codes of
/// `CliError::new(\n "busy", ...)`.
fn literals_after(text: &str, marker: &str, codes: &mut BTreeSet<String>) {
    for (at, _) in text.match_indices(marker) {
        let rest = text[at + marker.len()..].trim_start();
        if let Some(rest) = rest.strip_prefix('"') {
            if let Some(end) = rest.find('"') {
                codes.insert(rest[..end].to_owned());
            }
        }
    }
}

/// The codes the source emits: `CliError::new("code", …)` anywhere in `src/`, `usage`
/// (`CliError::usage` and clap's mistakes), and the key proof codes core's
/// `ProofError::rule` gives (`enroll` passes them on).
fn emitted() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut codes = BTreeSet::new();
    for file in &files {
        let text = read(file);
        literals_after(&text, "CliError::new(", &mut codes);
        for (at, _) in text.match_indices("CliError::new(") {
            let rest = text[at + "CliError::new(".len()..].trim_start();
            assert!(
                rest.starts_with('"') || rest.starts_with("e.rule()"),
                "{}: an error code that is not a literal; teach this test where it comes from",
                file.display()
            );
        }
    }
    codes.insert("usage".to_owned());
    let core = read(&root.join("../core/src/enrollment.rs"));
    let rule = core
        .split("pub fn rule(&self)")
        .nth(1)
        .and_then(|body| body.split("\n    }\n").next())
        .unwrap_or_default();
    let before = codes.len();
    literals_after(rule, "=>", &mut codes);
    assert!(
        codes.len() > before + 5,
        "ProofError::rule not found in core"
    );
    codes
}

/// The codes in the README's `## Error codes` table.
fn documented() -> BTreeSet<String> {
    let readme = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"));
    let section = readme
        .split("\n## Error codes\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_default();
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_emitted_error_code_is_in_the_readme_table() {
    let emitted = emitted();
    let documented = documented();
    assert!(emitted.len() > 40, "{emitted:?}");
    let missing: Vec<_> = emitted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "not in README's Error codes table: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&emitted).collect();
    assert!(
        stale.is_empty(),
        "in the table but never emitted: {stale:?}"
    );
}

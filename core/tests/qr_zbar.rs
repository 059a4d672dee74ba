//! Our PNG, read back by an independent decoder: `zbarimg` (Debian package `zbar-tools`).
//!
//! Without `zbarimg` the test fails when the `CI` environment variable is set (CI installs it) and
//! otherwise prints why it skipped.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use govid_core::qr::{decode_payload, encode_presentation, render, Ecc};

fn zbarimg_available() -> bool {
    let found = Command::new("zbarimg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "zbarimg not found, and CI is set: install zbar-tools (apt-get install -y zbar-tools)"
        );
        // Straight to the stderr handle: libtest captures `eprintln!` of passing tests.
        let _ = std::io::stderr().write_all(
            b"\n*** SKIPPED qr_zbar: zbarimg not found; install it: apt-get install -y zbar-tools ***\n\n",
        );
    }
    found
}

/// A scratch directory for this test process, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("govid-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs zbarimg on a PNG and returns what it read, without its trailing line end.
fn scan(png: &[u8], dir: &TempDir, name: &str) -> String {
    let path = dir.0.join(name);
    std::fs::write(&path, png).unwrap();
    // `-Sbinary`: no character-set guessing; `--raw`: only the data; `-q`: no statistics.
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sbinary"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zbarimg failed on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8 from zbarimg");
    let text = text.strip_suffix('\n').unwrap_or(&text);
    text.strip_suffix('\r').unwrap_or(text).to_owned()
}

fn presentations() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/sd-jwt/spec_examples.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["presentation"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn zbarimg_reads_our_png_exactly() {
    if !zbarimg_available() {
        return;
    }
    let dir = TempDir::new("qr-zbar");
    let all = presentations();
    // A KB presentation (version ~25) and the smallest one, at the default level and at L.
    let picks = [
        ("rfc9901-d22-s5-presentation-kb", Ecc::M),
        ("sdjwtvc-d18-fig10-presentation-no-kb", Ecc::L),
    ];
    for (id, ecc) in picks {
        let compact = &all.iter().find(|(i, _)| i == id).expect("vector present").1;
        let payload = encode_presentation(compact).unwrap();
        let code = render(&payload, ecc).unwrap();
        let png = code.to_png(4, 4).unwrap();
        let scanned = scan(&png, &dir, &format!("{id}.png"));
        assert_eq!(scanned, payload, "{id}: zbarimg read something else");
        assert_eq!(decode_payload(&scanned).unwrap(), *compact);
    }
}

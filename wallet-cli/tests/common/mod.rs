//! The real programs on loopback: HR's `govid-issuer serve` on a fresh issuer directory, the
//! `govid-wallet` binary on fresh wallet folders, `govid-verifier check` for what a phone shows.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// The wallets' passphrase in the tests.
pub const PASSPHRASE: &str = "wallet test passphrase";
/// The issuer's DID (nothing is fetched from it).
pub const DID: &str = "did:web:hr.wallet-test.example";
/// The gate audience codes are shown for.
pub const AUD: &str = "https://gates.mot.example/hq/main-entrance";

/// The wallet binary under test.
pub fn wallet_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_govid-wallet"))
}

/// `govid-issuer` or `govid-verifier` from the same target directory, built there first if it
/// is missing (neither is a dependency of this package).
pub fn sibling_bin(package: &str) -> PathBuf {
    let wallet = wallet_bin();
    let bin = wallet.with_file_name(format!("{package}{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "-p", package, "--locked"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if wallet.parent().and_then(Path::file_name) == Some("release".as_ref()) {
            build.arg("--release");
        }
        assert!(
            build.status().unwrap().success(),
            "cargo build -p {package} failed"
        );
    }
    assert!(bin.is_file(), "{} not built", bin.display());
    bin
}

/// HR: an issuer directory with the first staff of the sample roster, and `serve` running on
/// a loopback port (DPoP required); stopped when dropped.
pub struct Hr {
    pub tmp: TempDir,
    bin: PathBuf,
    serve: Child,
    pub url: String,
}

impl Hr {
    pub fn start() -> Self {
        let tmp = TempDir::new().unwrap();
        let bin = sibling_bin("govid-issuer");
        let dir = tmp.path().join("issuer");
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/roster/sample-20.csv");
        let sample = std::fs::read_to_string(sample).unwrap();
        let roster = tmp.path().join("roster.csv");
        let rows: Vec<&str> = sample.lines().take(4).collect();
        std::fs::write(&roster, rows.join("\n") + "\n").unwrap();
        let host = DID.trim_start_matches("did:web:");
        issuer(
            &bin,
            &dir,
            &["init", "--name", "Wallet Test HR", "--did-web", host],
        );
        issuer(&bin, &dir, &["staff", "import", roster.to_str().unwrap()]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let listen = format!("127.0.0.1:{port}");
        let mut serve = Command::new(&bin)
            .arg("--dir")
            .arg(&dir)
            .args([
                "serve",
                "--listen",
                &listen,
                "--public-url",
                &url,
                "--require-dpop",
            ])
            .env_remove("GOVID_ISSUER_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = serve.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("listening on ") {
                    let _ = tx.send(());
                }
            }
        });
        let hr = Hr {
            tmp,
            bin,
            serve,
            url,
        };
        rx.recv_timeout(Duration::from_secs(60))
            .expect("govid-issuer serve did not listen");
        hr
    }

    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("issuer")
    }

    /// The issuer's JWK Set file (written by `init`).
    pub fn jwks(&self) -> PathBuf {
        self.dir().join("public").join("jwks.json")
    }

    /// `govid-issuer --dir DIR --json ARGS`, which must succeed.
    pub fn run(&self, args: &[&str]) -> Value {
        issuer(&self.bin, &self.dir(), args)
    }

    /// A new OpenID4VCI offer for `employee`: its `openid-credential-offer://` link and PIN.
    pub fn offer(&self, employee: &str) -> (String, String) {
        let answer = self.run(&["offer", employee, "--public-url", &self.url]);
        let vci = &answer["offers"][0]["openid4vci"];
        (
            vci["offer_uri"].as_str().unwrap().to_owned(),
            vci["tx_code"].as_str().unwrap().to_owned(),
        )
    }
}

/// `govid-issuer --dir DIR --json ARGS`, which must succeed; its JSON answer.
fn issuer(bin: &Path, dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(bin)
        .arg("--dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env_remove("GOVID_ISSUER_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "govid-issuer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

impl Drop for Hr {
    fn drop(&mut self) {
        let _ = self.serve.kill();
        let _ = self.serve.wait();
    }
}

/// A wallet folder for `govid-wallet --dir`.
pub struct WalletDir(pub TempDir);

impl WalletDir {
    pub fn new() -> Self {
        Self(TempDir::new().unwrap())
    }

    /// `govid-wallet --dir DIR ARGS` with the test passphrase in the environment.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(PASSPHRASE, args)
    }

    pub fn run_with(&self, passphrase: &str, args: &[&str]) -> Output {
        Command::new(wallet_bin())
            .arg("--dir")
            .arg(self.0.path().join("w"))
            .args(args)
            .env("GOVID_WALLET_PASSPHRASE", passphrase)
            .env_remove("GOVID_WALLET_DIR")
            .env_remove("GOVID_WALLET_AUD")
            .env_remove("GOVID_WALLET_CA")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

/// stdout and stderr as text.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

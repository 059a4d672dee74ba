//! `govid-wallet login`: the demo phone logging in to a real `govid-verifier serve` with a
//! `[login]` section over HTTPS on loopback (a self-signed certificate for localhost made with
//! the `openssl` CLI, trusted with `--ca`), holding a worker ID received from a real
//! `govid-issuer serve`. What it shows, `--yes`, `--no`, and the exit codes README.md documents.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{sibling_bin, texts, Hr, WalletDir, DID};
use serde_json::{json, Value};
use tempfile::TempDir;

const NAME: &str = "Ministry of Transport e-approval";

/// The verifier's request signing key: a fixed P-256 test key (OpenID4VP 1.0 §8.3's example).
const LOGIN_SIGNING_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk","y":"Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk","d":"Et-3ce0omz8_TuZ96Df9lp0GAaaDoUnDe6X-CRO7Aww"}"#;

/// A self-signed certificate for localhost and 127.0.0.1 (P-256): `(cert, key)` paths.
fn make_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            // An end-entity certificate (rustls refuses a CA certificate as a server's).
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl CLI is needed by this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// `govid-verifier serve` with `[login]` on https://localhost:PORT, trusting HR's key.
struct Verifier {
    _dir: TempDir,
    child: Child,
    port: u16,
    agent: ureq::Agent,
}

impl Verifier {
    fn start(hr: &Hr, cert: &Path, key: &Path, claims: &[&str]) -> Self {
        let dir = TempDir::new().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // HR's signing key: the first key of its published JWK Set.
        let jwks: Value =
            serde_json::from_str(&std::fs::read_to_string(hr.jwks()).unwrap()).unwrap();
        let hr_jwk = dir.path().join("hr.jwk");
        std::fs::write(&hr_jwk, jwks["keys"][0].to_string()).unwrap();
        let signing = dir.path().join("login-signing.jwk");
        std::fs::write(&signing, LOGIN_SIGNING_JWK).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&signing, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let config = dir.path().join("verifier.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[gate]
id = "login-test"
audience = "https://localhost:{port}/gate"
profile = "entry"
# HR's status lists are not published here: status has its own tests in verifier-server.
unknown_status = "allow"

[server]
listen = "127.0.0.1:{port}"
rate_limit_per_sec = 0

[[trust.jwks]]
file = "{hr_jwk}"
iss = "{DID}"

[status]
fetch_discovered = false

[login]
public_url = "https://localhost:{port}"
did = "did:web:localhost%3A{port}"
signing_key = "{signing}"
name = "{NAME}"
claims = {claims}
"#,
                hr_jwk = hr_jwk.display(),
                signing = signing.display(),
                claims = json!(claims),
            ),
        )
        .unwrap();
        let mut child = Command::new(sibling_bin("govid-verifier"))
            .current_dir(dir.path())
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .env_remove("GOVID_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if !line.starts_with("listening on ") {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("govid-verifier serve did not start: {line}{err}");
        }
        std::thread::spawn(move || for _ in stdout.lines() {});
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
        let pem = std::fs::read(cert).unwrap();
        let root = ureq::tls::Certificate::from_pem(&pem).unwrap();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
            .build();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .tls_config(tls)
            .build()
            .into();
        Verifier {
            _dir: dir,
            child,
            port,
            agent,
        }
    }

    fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// `POST /login/requests`: the transaction and the QR code's `openid4vp://` link.
    fn new_request(&self) -> (String, String) {
        let mut response = self
            .agent
            .post(&format!("https://{}/login/requests", self.host()))
            .send_empty()
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        (
            body["transaction"].as_str().unwrap().to_owned(),
            body["authorization_request"].as_str().unwrap().to_owned(),
        )
    }

    fn result(&self, transaction: &str) -> Value {
        let mut response = self
            .agent
            .get(&format!(
                "https://{}/login/requests/{transaction}?wait=10",
                self.host()
            ))
            .call()
            .unwrap();
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A wallet holding HR's worker ID (and gate pass) for MOT-0001.
fn wallet_with_id(hr: &Hr) -> WalletDir {
    let (uri, pin) = hr.offer("MOT-0001");
    let wallet = WalletDir::new();
    let jwks = hr.jwks();
    let out = wallet.run(&[
        "receive",
        &uri,
        "--pin",
        &pin,
        "--trust-jwks",
        jwks.to_str().unwrap(),
        "--issuer",
        DID,
    ]);
    assert!(out.status.success(), "{:?}", texts(&out));
    wallet
}

#[test]
fn the_demo_phone_logs_in_declines_and_refuses() {
    let hr = Hr::start();
    let wallet = wallet_with_id(&hr);
    let tls = TempDir::new().unwrap();
    let (cert, key) = make_cert(tls.path());
    let claims = ["given_name", "family_name", "organization/name", "position"];
    let verifier = Verifier::start(&hr, &cert, &key, &claims);
    let ca = cert.to_str().unwrap();

    // --yes: who asks, for what, then logged in with exactly those claims.
    let (transaction, link) = verifier.new_request();
    let out = wallet.run(&["--ca", ca, "login", &link, "--yes"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let host = verifier.host();
    for line in [
        format!("login request from {host}"),
        format!("  verified: signed by the key of {host}'s DID document"),
        format!("  calls itself: \"{NAME}\" (claimed by the verifier, not verified)"),
        "    given_name: Amira".to_owned(),
        "    family_name: Haddad".to_owned(),
        "    organization/name: Ministry of Transport".to_owned(),
        "    position: Senior Inspector".to_owned(),
        format!("logged in: shared 4 claim(s) with {host}"),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in\n{stdout}"
        );
    }
    assert!(stdout.contains("asks for these claims of your worker ID "));
    let result = verifier.result(&transaction);
    assert_eq!(result["result"], "accepted", "{result}");
    assert_eq!(
        result["claims"],
        json!({"given_name": "Amira", "family_name": "Haddad",
            "organization": {"name": "Ministry of Transport"}, "position": "Senior Inspector"})
    );

    // The same link again: the verifier serves a request object once (exit 11).
    let out = wallet.run(&["--ca", ca, "login", &link, "--yes"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(11), "{stdout}{stderr}");
    assert!(
        stderr.contains(&host) && stderr.contains("HTTP status 400"),
        "{stderr}"
    );

    // --no: the verifier learns access_denied.
    let (transaction, link) = verifier.new_request();
    let out = wallet.run(&["--ca", ca, "login", &link, "--no"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("declined: {host} was told access_denied")),
        "{stdout}"
    );
    assert_eq!(
        verifier.result(&transaction),
        json!({"result": "rejected", "error": "access_denied"})
    );

    // Neither flag and no terminal to ask at: a usage error, nothing sent.
    let (_, link) = verifier.new_request();
    let out = wallet.run(&["--ca", ca, "login", &link]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("pass --yes to share or --no to decline"),
        "{stderr}"
    );

    // Without --ca the self-signed certificate is not trusted: a network error (exit 6).
    let (_, link) = verifier.new_request();
    let out = wallet.run(&["login", &link, "--yes"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains(&host), "{stderr}");

    // Not a login link: refused by the wallet (exit 9).
    let out = wallet.run(&["--ca", ca, "login", "openid4vp://?client_id=x", "--yes"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    assert!(
        stderr.contains("refused the login request (bad_link)"),
        "{stderr}"
    );
}

#[test]
fn a_claim_the_id_lacks_is_named_and_nothing_is_sent() {
    let hr = Hr::start();
    let wallet = wallet_with_id(&hr);
    let tls = TempDir::new().unwrap();
    let (cert, key) = make_cert(tls.path());
    // HR's roster has no portraits.
    let verifier = Verifier::start(&hr, &cert, &key, &["given_name", "portrait"]);
    let (transaction, link) = verifier.new_request();
    let out = wallet.run(&["--ca", cert.to_str().unwrap(), "login", &link, "--yes"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(10), "{stdout}{stderr}");
    assert!(
        stderr.contains("the verifier asks for the claim `portrait`, which your ID does not have"),
        "{stderr}"
    );
    // The login is still pending at the verifier: nothing was answered.
    let mut response = verifier
        .agent
        .get(&format!(
            "https://{}/login/requests/{transaction}?wait=1",
            verifier.host()
        ))
        .call()
        .unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["result"], "pending", "{body}");
}

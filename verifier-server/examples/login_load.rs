//! Load generator for the login service (`[login]`): login round trips on loopback over HTTPS,
//! each what a page and a phone do: `POST /login/requests`, the wallet fetches and checks the
//! signed request object, presents its worker ID (ES256 holder key) with exactly the claims
//! asked, encrypts the response (ECDH-ES, A256GCM) and posts it; the page's long poll then
//! returns the decision. Prints one JSON line: logins, logins/s, median and p99 of the round
//! trip, and the server's CPU per login.
//!
//! ```sh
//! cargo build --release -p govid-verifier --examples
//! target/release/examples/login_load --verifier target/release/govid-verifier --logins 4000 --concurrency 8
//! ```
//!
//! The load generator runs on the same machine as the server (it does the wallet's and the
//! page's work, ~half of the CPU); the server CPU per login is read from `/proc`.
// A measuring tool: a failure is reported by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/serve_common/fixtures.rs"]
mod fixtures;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fixtures::{amira, now, valid_now, Issuer, Wallet};
use govid_core::did::DidDocument;
use govid_core::jose::Algorithm;
use govid_core::oid4vp::jwe::{encrypt_to, select_recipient};
use govid_core::oid4vp::{response_payload, verify_request_object, Invocation};
use serde_json::{json, Value};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

/// utime + stime of `pid`, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

fn main() {
    let verifier = arg("--verifier", "target/release/govid-verifier");
    let logins: usize = arg("--logins", "2000").parse().unwrap();
    let concurrency: usize = arg("--concurrency", "8").parse().unwrap();

    let dir = std::env::temp_dir().join(format!("govid-login-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = Issuer::new("did:web:hr.test");
    std::fs::write(dir.join("issuer.jwk"), issuer.public_jwk()).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("login.crt"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("login.key"), cert.signing_key.serialize_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        r#"
[gate]
require_status = false
[server]
listen = "127.0.0.1:{port}"
rate_limit_per_sec = 0
tls_cert = "login.crt"
tls_key = "login.key"
[[trust.jwks]]
file = "issuer.jwk"
iss = "did:web:hr.test"
[status]
fetch_discovered = false
[login]
public_url = "https://localhost:{port}"
did = "did:web:localhost%3A{port}"
signing_key = "login-signing.jwk"
max_pending = 100000
"#
    );
    std::fs::write(dir.join("login.toml"), config).unwrap();
    let mut child = Command::new(&verifier)
        .args(["serve", "--config"])
        .arg(dir.join("login.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{verifier}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.starts_with("listening on ") {
            break;
        }
    }
    let pid = child.id();

    let root = ureq::tls::Certificate::from_der(cert.cert.der()).to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
        .build();
    let base = format!("https://localhost:{port}");
    let did = format!("did:web:localhost%3A{port}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let doc_text = agent
        .get(&format!("{base}/.well-known/did.json"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let document = Arc::new(DidDocument::parse(&did, doc_text.as_bytes(), 16).unwrap());

    let per_thread = logins.div_ceil(concurrency);
    let started = Instant::now();
    let cpu_before = cpu_ticks(pid);
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let agent = agent.clone();
            let base = base.clone();
            let document = document.clone();
            let holder = Wallet::holder_key_of(Algorithm::ES256);
            let t = now();
            let issued = issuer.issue(&amira(), &holder, valid_now(t), None);
            let wallet = Wallet::receive(holder, &issued, &issuer, t);
            std::thread::spawn(move || {
                let mut times = Vec::with_capacity(per_thread);
                for _ in 0..per_thread {
                    let begun = Instant::now();
                    let created: Value = agent
                        .post(&format!("{base}/login/requests"))
                        .send_empty()
                        .unwrap()
                        .body_mut()
                        .read_to_string()
                        .map(|t| serde_json::from_str(&t).unwrap())
                        .unwrap();
                    let link = created["authorization_request"].as_str().unwrap();
                    let invocation = Invocation::parse(link).unwrap();
                    let jws = agent
                        .get(&invocation.request_uri)
                        .call()
                        .unwrap()
                        .body_mut()
                        .read_to_string()
                        .unwrap();
                    let request =
                        verify_request_object(&jws, &invocation, &document, now()).unwrap();
                    let query = &request.dcql_query.credentials[0];
                    let vct = wallet.held.claims()["vct"].as_str().unwrap();
                    let paths = query.select(vct, wallet.held.claims()).unwrap();
                    let presentation =
                        wallet.present(&paths, &request.client_id, &request.nonce, now());
                    let payload = response_payload(
                        &[("worker_id".into(), vec![presentation])],
                        &request.state,
                    );
                    let jwks = json!({"keys": [request.encryption_jwk]});
                    let jwe = encrypt_to(
                        select_recipient(&jwks).unwrap(),
                        request.preferred_enc(),
                        &payload,
                    )
                    .unwrap();
                    let status = agent
                        .post(&format!("{base}/login/response"))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .send(format!("response={jwe}"))
                        .unwrap()
                        .status();
                    assert_eq!(status, 200);
                    let transaction = created["transaction"].as_str().unwrap();
                    let result: Value = agent
                        .get(&format!("{base}/login/requests/{transaction}?wait=5"))
                        .call()
                        .unwrap()
                        .body_mut()
                        .read_to_string()
                        .map(|t| serde_json::from_str(&t).unwrap())
                        .unwrap();
                    assert_eq!(result["result"], "accepted", "{result}");
                    times.push(begun.elapsed());
                }
                times
            })
        })
        .collect();
    let mut times: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    let cpu = cpu_ticks(pid).saturating_sub(cpu_before);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let n = times.len();
    println!(
        "{}",
        json!({
            "logins": n,
            "concurrency": concurrency,
            "seconds": elapsed.as_secs_f64(),
            "logins_per_sec": n as f64 / elapsed.as_secs_f64(),
            "median_ms": at(0.5).as_secs_f64() * 1e3,
            "p99_ms": at(0.99).as_secs_f64() * 1e3,
            "server_cpu_ms_per_login": cpu as f64 * 10.0 / n as f64,
        })
    );
}

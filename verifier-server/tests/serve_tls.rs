//! `govid-verifier serve` over HTTPS (`--tls-cert`/`--tls-key`, `[server] tls_cert`/`tls_key`):
//! the real binary on loopback with a self-signed certificate made by the test (or, for the RSA
//! and SEC1 key formats, a test-only one from `tests/data/`), and clients that trust that
//! certificate only.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;
use serve_common::*;

const CLIENT_A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const CLIENT_B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The world's config with `server_extra` lines added to `[server]`.
fn config_with_server(world: &World, server_extra: &str) -> String {
    world.config("", "").replace(
        "rate_limit_per_sec = 0",
        &format!("rate_limit_per_sec = 0\n{server_extra}"),
    )
}

/// Starts a TLS gate from the world's config (with `server_extra`) and `cert`'s flags.
fn tls_gate(world: &World, cert: &TestCert, server_extra: &str, extra_args: &[&str]) -> Gate {
    let path = world.dir.path("gate.toml");
    std::fs::write(&path, config_with_server(world, server_extra)).unwrap();
    let mut args = vec!["--config".to_owned(), path.display().to_string()];
    args.extend(cert.write(&world.dir));
    args.extend(extra_args.iter().map(|a| (*a).to_owned()));
    Gate::start_tls(&args, &[], cert)
}

/// Waits until `stream`'s peer closes it (EOF or reset) and returns what it sent, or panics
/// after `limit`.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    assert!(
        started.elapsed() < limit,
        "the gate kept the connection open for {:?}",
        started.elapsed()
    );
    buf
}

#[test]
fn https_gate_answers_health_and_real_decisions_with_the_keys_from_the_config_file() {
    let world = World::new("serve-tls");
    let cert = TestCert::new();
    cert.write(&world.dir);
    // Relative to the config file, like its other paths (the gate runs in another directory).
    let toml = config_with_server(&world, "tls_cert = \"gate.crt\"\ntls_key = \"gate.key\"");
    let path = world.dir.path("gate.toml");
    std::fs::write(&path, toml).unwrap();
    let gate = Gate::start_tls(&["--config".into(), path.display().to_string()], &[], &cert);
    assert!(gate.url("/healthz").starts_with("https://localhost:"));
    gate.wait_for_status_list(&world.status_uri);
    let (status, body) = gate.get("/healthz", &[]);
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok", "{health}");

    let body = gate.verify(&world.wallet(IDX_VALID).code(AUD));
    assert_eq!(body["decision"], "allow", "{body}");
    assert_eq!(body["credential_status"], "valid", "{body}");
    assert_deny(
        &gate.verify(&world.wallet(IDX_REVOKED).code(AUD)),
        "revoked",
    );
    let (status, page) = gate.get("/", &[]);
    assert_eq!(status, 200);
    assert!(page.contains("<html"), "{page}");

    let log = gate.stderr.lock().unwrap().clone();
    assert!(log.contains("tls=true"), "{log}");
    assert!(log.contains("HTTPS on (TLS 1.2 and 1.3)"), "{log}");
    assert!(!log.contains("readable by its group or others"), "{log}");
}

#[test]
fn the_gate_speaks_tls_1_2_and_1_3_with_alpn_http_1_1() {
    let world = World::new("serve-tls-versions");
    let cert = TestCert::new();
    let gate = tls_gate(&world, &cert, "", &[]);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    for (version, expected) in [
        (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                cert.cert_der.clone(),
            ))
            .unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(gate.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert_eq!(tls.conn.protocol_version(), Some(expected));
        assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    }
}

#[test]
fn rsa_and_sec1_key_files_serve_https_too() {
    let world = World::new("serve-tls-formats");
    for (name, begin) in [
        ("tls-rsa", "-----BEGIN RSA PRIVATE KEY-----"),
        ("tls-sec1", "-----BEGIN EC PRIVATE KEY-----"),
    ] {
        let cert = TestCert::from_data(name);
        assert!(cert.key_pem.starts_with(begin), "{name}");
        let gate = tls_gate(&world, &cert, "", &[]);
        let (status, _, body) = gate.request_from(CLIENT_A, "GET", "/healthz");
        assert_eq!(status, 200, "{name}: {body}");
        let (status, _) = gate.get("/healthz", &[]);
        assert_eq!(status, 200, "{name}");
    }
}

#[test]
fn plain_http_to_the_tls_port_is_closed_at_once_and_the_gate_stays_up() {
    let world = World::new("serve-tls-plain");
    let cert = TestCert::new();
    let gate = tls_gate(&world, &cert, "", &["--log-level=debug"]);
    let mut plain = TcpStream::connect(gate.addr).unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gate\r\nConnection: close\r\n\r\n")
        .unwrap();
    let answer = read_until_closed(&mut plain, Duration::from_secs(4));
    // No HTTP answer: at most a TLS alert record (content type 21).
    assert!(
        answer.is_empty() || answer[0] == 21,
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    let (status, body) = gate.get("/healthz", &[]);
    assert_eq!(status, 200, "{body}");
    let log = gate.stderr.lock().unwrap().clone();
    assert!(log.contains("TLS handshake failed"), "{log}");
    assert!(log.contains("client=127.0.0.1"), "{log}");
}

#[test]
fn a_client_that_never_starts_the_handshake_is_cut_off_and_frees_its_slot() {
    let world = World::new("serve-tls-silent");
    let cert = TestCert::new();
    // No request before the test's own: a pooled keep-alive connection would take A's slot.
    let gate = tls_gate(
        &world,
        &cert,
        "header_read_timeout_ms = 500\nmax_connections_per_client = 1",
        &["--log-level=debug"],
    );
    // Client A connects and sends nothing: no ClientHello.
    let mut silent = TcpStream::connect(gate.addr).unwrap();
    let opened = Instant::now();
    // It holds A's one slot: A's next connection gets its 429 over TLS.
    let (status, head, body) = gate.request_from(CLIENT_A, "GET", "/healthz");
    assert_eq!(status, 429, "{head}\n{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "client_connection_limit");
    // Another client is served meanwhile.
    let (status, _, body) = gate.request_from(CLIENT_B, "GET", "/healthz");
    assert_eq!(status, 200, "{body}");
    // The handshake timeout (the header read timeout) cuts the silent client off.
    let sent = read_until_closed(&mut silent, Duration::from_secs(4));
    assert!(sent.is_empty(), "{sent:?}");
    assert!(opened.elapsed() >= Duration::from_millis(450));
    // And A is served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = gate.request_from(CLIENT_A, "GET", "/healthz");
        if status == 200 {
            break;
        }
        assert_eq!(status, 429);
        assert!(Instant::now() < deadline, "A was never served again");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = gate.stderr.lock().unwrap().clone();
    assert!(log.contains("TLS handshake timed out"), "{log}");
}

#[test]
fn the_connection_cap_counts_connections_still_in_their_handshake() {
    let world = World::new("serve-tls-cap");
    let cert = TestCert::new();
    let gate = tls_gate(
        &world,
        &cert,
        "header_read_timeout_ms = 500\nmax_connections = 1",
        &[],
    );
    let mut silent = TcpStream::connect(gate.addr).unwrap();
    // The one connection is taken: B's is closed at accept, without an answer.
    let (status, head, _) = gate.request_from(CLIENT_B, "GET", "/healthz");
    assert_eq!(status, 0, "{head}");
    read_until_closed(&mut silent, Duration::from_secs(4));
    let deadline = Instant::now() + Duration::from_secs(10);
    while gate.request_from(CLIENT_B, "GET", "/healthz").0 != 200 {
        assert!(Instant::now() < deadline, "B was never served");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_stops_a_tls_gate_at_once_with_a_handshake_in_progress() {
    let world = World::new("serve-tls-stop");
    let cert = TestCert::new();
    let gate = tls_gate(&world, &cert, "header_read_timeout_ms = 60000", &[]);
    let (status, _) = gate.get("/healthz", &[]);
    assert_eq!(status, 200);
    // A connection mid-handshake (a ClientHello's first bytes) and a keep-alive one (the agent's).
    let mut half = TcpStream::connect(gate.addr).unwrap();
    half.write_all(&[22, 3, 1]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let status = gate.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    read_until_closed(&mut half, Duration::from_secs(2));
}

/// Runs `serve` with `args`, expecting it to refuse to start; returns its exit code and stderr.
fn refused(world: &World, args: &[String]) -> (Option<i32>, String) {
    let mut all = vec![
        "--listen=127.0.0.1:0".to_owned(),
        format!("--trust-jwk={}", world.jwk_path.display()),
        format!("--aud={AUD}"),
    ];
    all.extend_from_slice(args);
    let output = serve_exit(&all, &[]);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The base64 lines of a PEM text (what must never appear in a log).
fn pem_body(pem: &str) -> Vec<&str> {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[test]
fn a_bad_certificate_or_key_stops_the_start_with_a_clear_message_and_exit_code_2() {
    let world = World::new("serve-tls-bad");
    let cert = TestCert::new();
    let other = TestCert::new();
    let flags = cert.write(&world.dir);
    let (cert_path, key_path) = (world.dir.path("gate.crt"), world.dir.path("gate.key"));
    let write = |name: &str, text: &str| {
        let path = world.dir.path(name);
        std::fs::write(&path, text).unwrap();
        // Private, as a key file should be (else a warning comes first).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        path
    };
    let pair = |cert: &std::path::Path, key: &std::path::Path| {
        vec![
            format!("--tls-cert={}", cert.display()),
            format!("--tls-key={}", key.display()),
        ]
    };
    let expect = |args: Vec<String>, message: String| {
        let (code, stderr) = refused(&world, &args);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr, format!("govid-verifier serve: {message}\n"));
        for secret in pem_body(&cert.key_pem)
            .iter()
            .chain(&pem_body(&other.key_pem))
        {
            assert!(!stderr.contains(secret), "{stderr}");
        }
    };

    let together = "tls_cert and tls_key go together (--tls-cert and --tls-key, or [server] \
                    tls_cert and tls_key): HTTPS needs the certificate and its private key";
    expect(vec![flags[0].clone()], together.to_owned());
    expect(vec![flags[1].clone()], together.to_owned());

    let not_pem = write("not-pem.key", "this is not a key\n");
    expect(
        pair(&cert_path, &not_pem),
        format!(
            "{}: no private key in it (PEM `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or \
             `BEGIN EC PRIVATE KEY`)",
            not_pem.display()
        ),
    );
    // The certificate given as its own key.
    expect(
        pair(&cert_path, &cert_path),
        format!(
            "{}: a certificate, not a private key (--tls-key / tls_key names the key, \
             --tls-cert / tls_cert the certificate)",
            cert_path.display()
        ),
    );
    // And the other way round.
    expect(
        pair(&key_path, &key_path),
        format!(
            "{}: no certificate in it (PEM `BEGIN CERTIFICATE`)",
            key_path.display()
        ),
    );
    let other_key = write("other.key", &other.key_pem);
    expect(
        pair(&cert_path, &other_key),
        format!(
            "{}: this private key does not belong to the certificate in {} (the gate's own \
             certificate comes first in the chain)",
            other_key.display(),
            cert_path.display()
        ),
    );
    let cut = &cert.key_pem[..cert.key_pem.len() / 2];
    let truncated = write("truncated.key", cut);
    expect(
        pair(&cert_path, &truncated),
        format!(
            "{}: not a PEM private key (a section has no END line)",
            truncated.display()
        ),
    );
    let encrypted = write(
        "encrypted.key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n\
         -----END ENCRYPTED PRIVATE KEY-----\n",
    );
    expect(
        pair(&cert_path, &encrypted),
        format!(
            "{}: the private key is encrypted; the gate needs it unencrypted, in a file only \
             the gate's user can read",
            encrypted.display()
        ),
    );
    let garbage_der = write(
        "garbage.key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    expect(
        pair(&cert_path, &garbage_der),
        format!(
            "{}: not a usable private key: unexpected error: failed to parse private key as \
             RSA, ECDSA, or EdDSA",
            garbage_der.display()
        ),
    );
    let bad_cert = write(
        "bad.crt",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    expect(
        pair(&bad_cert, &key_path),
        format!(
            "{}: the first certificate in it (the gate's own) is not a valid X.509 certificate",
            bad_cert.display()
        ),
    );
    let missing = world.dir.path("missing.crt");
    expect(
        pair(&missing, &key_path),
        format!(
            "{}: No such file or directory (os error 2)",
            missing.display()
        ),
    );
}

#[cfg(unix)]
#[test]
fn a_key_file_others_may_read_is_a_warning_and_never_logged() {
    use std::os::unix::fs::PermissionsExt as _;
    let world = World::new("serve-tls-mode");
    let cert = TestCert::new();
    let mut args = cert.write(&world.dir);
    let key = world.dir.path("gate.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    args.extend([
        "--listen=127.0.0.1:0".to_owned(),
        format!("--trust-jwk={}", world.jwk_path.display()),
        format!("--aud={AUD}"),
    ]);
    let gate = Gate::start_tls(&args, &[], &cert);
    let (status, _) = gate.get("/healthz", &[]);
    assert_eq!(status, 200);
    let log = gate.stderr.lock().unwrap().clone();
    assert!(
        log.contains(
            "the TLS private key file is readable by its group or others (mode 644); make it \
             readable by the gate's user only (chmod 600)"
        ),
        "{log}"
    );
    assert!(log.contains(&format!("key={}", key.display())), "{log}");
    for secret in pem_body(&cert.key_pem) {
        assert!(!log.contains(secret), "{log}");
    }
}

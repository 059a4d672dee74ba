//! Harness for the `serve_*` tests: the real `govid-verifier serve` binary on a loopback port, and
//! the issuer's static host (axum on 127.0.0.1:0) serving status lists and DID documents. Each
//! gate runs on the store `GOVID_TEST_ENGINE` names (see [`engine`]).
// Test helpers: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

pub mod engine;
pub mod fixtures;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use fixtures::*;

/// The gate audience every test uses.
pub const AUD: &str = "https://gates.test/main";
/// The issuer id of the trusted test issuer.
pub const ISS: &str = "did:web:hr.test";

/// A scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "govid-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        engine::release_under(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the static host answers for a path: status code and body.
type Routes = Arc<Mutex<HashMap<String, (u16, String)>>>;

/// The issuer's static host on loopback.
pub struct Host {
    pub addr: SocketAddr,
    routes: Routes,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Host {
    pub fn start() -> Self {
        let routes: Routes = Arc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let r = routes.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                    let r = r.clone();
                    async move {
                        let found = r.lock().unwrap().get(uri.path()).cloned();
                        match found {
                            Some((code, body)) => (
                                axum::http::StatusCode::from_u16(code).unwrap(),
                                [("content-type", "application/statuslist+jwt")],
                                body,
                            ),
                            None => (
                                axum::http::StatusCode::NOT_FOUND,
                                [("content-type", "text/plain")],
                                String::new(),
                            ),
                        }
                    }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Self {
            addr,
            routes,
            _stop: stop_tx,
        }
    }

    /// The absolute URL of `path` on this host.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves `body` at `path`.
    pub fn set(&self, path: &str, body: &str) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (200, body.to_owned()));
    }

    /// Makes `path` answer 503 (the host is "down" for it).
    pub fn down(&self, path: &str) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (503, String::new()));
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1` (ECDSA P-256), made fresh for a test.
pub struct TestCert {
    pub cert_pem: String,
    /// PKCS#8 PEM.
    pub key_pem: String,
    pub cert_der: Vec<u8>,
}

impl TestCert {
    pub fn new() -> Self {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        TestCert {
            cert_pem: cert.pem(),
            key_pem: signing_key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }

    /// A committed test certificate and key: `tests/data/NAME.crt` and `NAME.key`.
    pub fn from_data(name: &str) -> Self {
        use rustls::pki_types::pem::PemObject as _;
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let cert_pem = std::fs::read_to_string(data.join(format!("{name}.crt"))).unwrap();
        let key_pem = std::fs::read_to_string(data.join(format!("{name}.key"))).unwrap();
        let cert_der = rustls::pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .unwrap()
            .to_vec();
        TestCert {
            cert_pem,
            key_pem,
            cert_der,
        }
    }

    /// Writes `gate.crt` and `gate.key` (mode 600) into `dir`; returns the
    /// `--tls-cert`/`--tls-key` flags naming them.
    pub fn write(&self, dir: &TempDir) -> Vec<String> {
        let (cert, key) = (dir.path("gate.crt"), dir.path("gate.key"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        vec![
            format!("--tls-cert={}", cert.display()),
            format!("--tls-key={}", key.display()),
        ]
    }

    /// A rustls client config that trusts only this certificate.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                self.cert_der.clone(),
            ))
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

impl Default for TestCert {
    fn default() -> Self {
        Self::new()
    }
}

/// Which store a gate started by a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreUse {
    /// The engine's: with `postgres`, a database of its own, unless the config or flags name a
    /// store.
    Engine,
    /// Only what the config and flags say, whatever the engine: for what is about a gate
    /// without a store, or about its SQLite file.
    AsConfigured,
}

/// The value of `--NAME VALUE` or `--NAME=VALUE` in `args`.
fn flag_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let long = format!("--{name}");
    let with_eq = format!("--{name}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == &long {
            args.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix(&with_eq)
        }
    })
}

/// The `serve` command for `args` in `cwd`, on the store `store` says; with the engine's
/// PostgreSQL, the gate's hold on its database comes back too (keep it until the gate is gone).
///
/// With a config file that names no store, the engine's `[store]` table is appended to that
/// file (replacing the one added at an earlier start); a gate from flags only gets a config
/// file holding that table alone.
pub fn serve_command(
    cwd: &std::path::Path,
    args: &[String],
    env: &[(&str, &str)],
    store: StoreUse,
) -> (Command, Option<engine::Lease>) {
    let mut args = args.to_vec();
    let mut lease = None;
    let chosen =
        flag_value(&args, "store").is_some() || env.iter().any(|(k, _)| *k == "GOVID_STORE_URL");
    if let (StoreUse::Engine, engine::Engine::Postgres { cluster }, false) =
        (store, engine::engine(), chosen)
    {
        match flag_value(&args, "config").map(|p| cwd.join(p)) {
            Some(path) => {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    let own = engine::strip_block(&text);
                    if !engine::names_a_store(own) {
                        let dir = path.parent().unwrap().to_owned();
                        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                        let held = engine::Lease::take(
                            cluster,
                            &path,
                            |i| dir.join(format!("{stem}-engine-{i}.spool")),
                            None,
                        );
                        std::fs::write(&path, format!("{own}{}", engine::block(&held))).unwrap();
                        lease = Some(held);
                    }
                }
            }
            None => {
                let scratch = TempDir::new("engine-store");
                let (path, spool) = (scratch.path("store.toml"), scratch.path("gate.spool"));
                let held = engine::Lease::take(cluster, &path, |_| spool.clone(), Some(scratch));
                std::fs::write(&path, engine::block(&held)).unwrap();
                args.push("--config".into());
                args.push(path.display().to_string());
                lease = Some(held);
            }
        }
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_govid-verifier"));
    command
        .current_dir(cwd)
        .arg("serve")
        .args(&args)
        .env_remove("GOVID_ADMIN_TOKEN")
        .env_remove("GOVID_STORE_URL")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    (command, lease)
}

/// Runs `serve` with `args` (in the current directory, on the engine's store) where it must
/// stop by itself, as when it refuses its config; returns its output. Fails if it is still
/// running after 20 s.
pub fn serve_exit(args: &[String], env: &[(&str, &str)]) -> std::process::Output {
    let (mut command, _lease) = serve_command(
        &std::env::current_dir().unwrap(),
        args,
        env,
        StoreUse::Engine,
    );
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read as it comes, so a full pipe cannot hold the process up.
    let pipe = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = pipe(Box::new(child.stdout.take().unwrap()));
    let err = pipe(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A running `govid-verifier serve`.
pub struct Gate {
    pub addr: SocketAddr,
    pub child: Child,
    pub stderr: Arc<Mutex<String>>,
    agent: ureq::Agent,
    /// HTTPS: the client config trusting the gate's certificate.
    tls: Option<Arc<rustls::ClientConfig>>,
    /// With the engine's PostgreSQL: the gate's database (dropped after the process).
    store: Option<engine::Lease>,
}

impl Gate {
    /// Starts the binary with `args` (and `env`), waits for `listening on`.
    pub fn start(args: &[String], env: &[(&str, &str)]) -> Self {
        Self::start_in(&std::env::current_dir().unwrap(), args, env)
    }

    /// Starts the binary with `args` (which make it serve HTTPS with `cert`); requests go over
    /// HTTPS to `localhost`, trusting `cert` only.
    pub fn start_tls(args: &[String], env: &[(&str, &str)], cert: &TestCert) -> Self {
        let mut gate = Self::start(args, env);
        let root = ureq::tls::Certificate::from_der(&cert.cert_der).to_owned();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
            .build();
        gate.agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .tls_config(tls)
            .build()
            .into();
        gate.tls = Some(cert.client_config());
        gate
    }

    /// Starts the binary in the working directory `cwd` (relative paths in `args` are taken
    /// from there).
    pub fn start_in(cwd: &std::path::Path, args: &[String], env: &[(&str, &str)]) -> Self {
        Self::start_on(StoreUse::Engine, cwd, args, env)
    }

    /// [`Self::start_in`] on the store `store` says.
    pub fn start_on(
        store: StoreUse,
        cwd: &std::path::Path,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Self {
        let (mut command, lease) = serve_command(cwd, args, env, store);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!("gate did not start: {}", stderr.lock().unwrap());
            }
        };
        if lease.is_some() {
            // On the engine's PostgreSQL, or the run proves nothing about it.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !stderr
                .lock()
                .unwrap()
                .contains("fleet store: PostgreSQL reachable")
            {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the gate did not reach its PostgreSQL database: {}",
                        stderr.lock().unwrap()
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Gate {
            addr,
            child,
            stderr,
            agent,
            tls: None,
            store: lease,
        }
    }

    /// With the engine's PostgreSQL: this gate's database and spool.
    pub fn store(&self) -> Option<&engine::Lease> {
        self.store.as_ref()
    }

    /// Waits until every decision answered so far is in the gate log that `/admin/entries`
    /// reads: a fleet gate delivers its spool to PostgreSQL in the background
    /// (`replay.spooled` in `/healthz` falls to 0); a SQLite or memory log has no spool.
    pub fn wait_for_log(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let health = self.health();
            let spooled = &health["replay"]["spooled"];
            if spooled.is_null() || spooled == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the spool was never delivered: {health}\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the binary with a config file holding `toml`.
    pub fn with_config(dir: &TempDir, toml: &str, env: &[(&str, &str)]) -> Self {
        let path = dir.path("gate.toml");
        std::fs::write(&path, toml).unwrap();
        Self::start(&["--config".into(), path.display().to_string()], env)
    }

    /// `http://ADDR/path`, or `https://localhost:PORT/path` for a TLS gate (the name its test
    /// certificate holds).
    pub fn url(&self, path: &str) -> String {
        match self.tls {
            Some(_) => format!("https://localhost:{}{path}", self.addr.port()),
            None => format!("http://{}{path}", self.addr),
        }
    }

    /// POSTs `body` with `content_type`; returns the status and the body as JSON (or `Null`).
    pub fn post(&self, path: &str, content_type: &str, body: &str) -> (u16, Value) {
        let mut response = self
            .agent
            .post(&self.url(path))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POSTs a scanned text to `/v1/verify`; the decision must come with HTTP 200.
    pub fn verify(&self, text: &str) -> Value {
        let (status, body) = self.post("/v1/verify", "text/plain", text);
        assert_eq!(status, 200, "verify answered {status}: {body}");
        body
    }

    /// GET with optional headers; returns status and body text.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut request = self.agent.get(&self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut response = request.call().unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    /// POST `body` with headers; returns status and body text.
    pub fn post_with_headers(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut request = self.agent.post(&self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut response = request.send(body).unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    /// The HTTP client the gate's helpers use (trusting its certificate, for a TLS gate).
    pub fn agent_clone(&self) -> ureq::Agent {
        self.agent.clone()
    }

    /// POST with headers and an empty body; returns status and body text.
    pub fn post_empty(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut request = self.agent.post(&self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut response = request.send_empty().unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    /// Sends `method path` (empty body, `Connection: close`; over TLS for a TLS gate) on a new
    /// connection from the source
    /// address `source` (any 127.0.0.0/8 address reaches a loopback gate); returns the status,
    /// the response head and the body. A status of 0: the gate closed without an answer.
    pub fn request_from(
        &self,
        source: std::net::IpAddr,
        method: &str,
        path: &str,
    ) -> (u16, String, String) {
        use std::io::{Read as _, Write as _};
        // std cannot choose a connection's source address; tokio's socket can, and hands the
        // connected stream back to std.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let gate = self.addr;
        let stream = rt.block_on(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::new(source, 0)).unwrap();
            socket.connect(gate).await.unwrap()
        });
        let mut stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let mut buf = Vec::new();
        match &self.tls {
            None => {
                // The gate may answer and close before the request is written in full.
                let _ = stream.write_all(request.as_bytes());
                let _ = stream.read_to_end(&mut buf);
            }
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let connection = rustls::ClientConnection::new(config.clone(), name).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let _ = tls.write_all(request.as_bytes());
                let _ = tls.read_to_end(&mut buf);
            }
        }
        let raw = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, head.to_owned(), body.to_owned())
    }

    /// Waits until `/healthz` says the list at `uri` is usable (fetched and not stale).
    pub fn wait_for_status_list(&self, uri: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, body) = self.get("/healthz", &[]);
            let health: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let ready = health["status_lists"].as_array().is_some_and(|lists| {
                lists
                    .iter()
                    .any(|l| l["uri"] == uri && l["stale"] == false && !l["age_secs"].is_null())
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "status list {uri} never arrived: {body}\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the process at once (SIGKILL: a power cut, as far as the gate can tell).
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `GET /healthz` as JSON.
    pub fn health(&self) -> Value {
        let (_, body) = self.get("/healthz", &[]);
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "gate did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A ready world: the static host with a status list, an issuer, and its public JWK on disk.
pub struct World {
    pub dir: TempDir,
    pub host: Host,
    pub issuer: Issuer,
    pub jwk_path: PathBuf,
    pub status_uri: String,
}

/// Status list indices with a meaning in every test.
pub const IDX_VALID: u64 = 7;
pub const IDX_REVOKED: u64 = 8;
pub const IDX_SUSPENDED: u64 = 9;

impl World {
    pub fn new(name: &str) -> Self {
        let dir = TempDir::new(name);
        let host = Host::start();
        let issuer = Issuer::new(ISS);
        let jwk_path = dir.path("issuer.jwk");
        std::fs::write(&jwk_path, issuer.public_jwk()).unwrap();
        let status_uri = host.url("/status/1");
        let world = World {
            dir,
            host,
            issuer,
            jwk_path,
            status_uri,
        };
        world.publish_status(now(), &[]);
        world
    }

    /// Publishes the status list with `iat`, revoked and suspended entries set, plus `extra`.
    pub fn publish_status(&self, iat: u64, extra: &[(usize, u8)]) {
        let mut set = vec![(IDX_REVOKED as usize, 1), (IDX_SUSPENDED as usize, 2)];
        set.extend_from_slice(extra);
        let token = self.issuer.status_token(&self.status_uri, iat, 1024, &set);
        self.host.set("/status/1", &token);
    }

    /// A wallet holding a fresh worker ID with status entry `idx`.
    pub fn wallet(&self, idx: u64) -> Wallet {
        let holder = Wallet::holder_key();
        let t = now();
        let issued = self.issuer.issue(
            &amira(),
            &holder,
            valid_now(t),
            Some((idx, &self.status_uri)),
        );
        Wallet::receive(holder, &issued, &self.issuer, t)
    }

    /// A wallet whose holder key is of `alg`, holding a fresh worker ID with status entry `idx`.
    pub fn wallet_of(&self, alg: govid_core::jose::Algorithm, idx: u64) -> Wallet {
        let holder = Wallet::holder_key_of(alg);
        let t = now();
        let issued = self.issuer.issue(
            &amira(),
            &holder,
            valid_now(t),
            Some((idx, &self.status_uri)),
        );
        Wallet::receive(holder, &issued, &self.issuer, t)
    }

    /// A wallet holding a gate pass with status entry `idx`.
    pub fn gate_pass_wallet(&self, idx: u64) -> Wallet {
        let holder = Wallet::holder_key();
        let t = now();
        let issued = self.issuer.issue_gate_pass(
            &amira(),
            &holder,
            valid_now(t),
            Some((idx, &self.status_uri)),
        );
        Wallet::receive(holder, &issued, &self.issuer, t)
    }

    /// The base TOML config for this world, with `extra` lines appended to `[gate]`.
    pub fn config(&self, gate_extra: &str, rest: &str) -> String {
        format!(
            r#"
[gate]
id = "test-gate"
audience = "{AUD}"
profile = "entry"
{gate_extra}

[server]
listen = "127.0.0.1:0"
rate_limit_per_sec = 0

[[trust.jwks]]
file = "{jwk}"
iss = "{ISS}"

[status]
refresh_secs = 1
lists = ["{uri}"]

{rest}
"#,
            jwk = self.jwk_path.display(),
            uri = self.status_uri,
        )
    }

    /// Starts a gate with [`Self::config`] and waits for the status list.
    pub fn gate(&self, gate_extra: &str, rest: &str, env: &[(&str, &str)]) -> Gate {
        self.gate_on(StoreUse::Engine, gate_extra, rest, env)
    }

    /// [`Self::gate`] on the store `store` says.
    pub fn gate_on(
        &self,
        store: StoreUse,
        gate_extra: &str,
        rest: &str,
        env: &[(&str, &str)],
    ) -> Gate {
        let path = self.dir.path("gate.toml");
        std::fs::write(&path, self.config(gate_extra, rest)).unwrap();
        let args = ["--config".into(), path.display().to_string()];
        let gate = Gate::start_on(store, &std::env::current_dir().unwrap(), &args, env);
        gate.wait_for_status_list(&self.status_uri);
        gate
    }
}

/// Asserts a deny with `reason`.
#[track_caller]
pub fn assert_deny(body: &Value, reason: &str) {
    assert_eq!(body["decision"], "deny", "{body}");
    assert_eq!(body["reason"], reason, "{body}");
}

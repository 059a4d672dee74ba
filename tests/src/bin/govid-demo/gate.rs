//! The gate's side of the demo: the real `govid-verifier serve` as a child process on a loopback
//! port, and the HTTP calls a scanner would make to it.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::DemoError;

/// How long the server may take to bind (a debug build on a busy machine is slow to start).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest answer read from the gate.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The gate's answer to one scanned code (`POST /v1/verify`).
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    /// `allow` or `deny`.
    pub(crate) decision: String,
    /// `ok`, or the rule that denied.
    pub(crate) reason: String,
    /// The claims the holder disclosed, as the gate saw them.
    pub(crate) disclosed: Value,
    /// From sending the code to reading the whole answer.
    pub(crate) round_trip: Duration,
}

impl Verdict {
    /// `allow`, or `deny (reason)`.
    pub(crate) fn label(&self) -> String {
        if self.decision == "allow" {
            self.decision.clone()
        } else {
            format!("{} ({})", self.decision, self.reason)
        }
    }
}

/// The transparency log policy the gate enforces: HR's log key and one witness, whose
/// cosignature the trust bundle's inclusion proof must carry.
pub(crate) struct LogPolicy<'a> {
    pub(crate) log_key: &'a Path,
    pub(crate) witness_key: &'a str,
}

/// A running `govid-verifier serve`; stopped (SIGTERM, then kill) when dropped.
pub(crate) struct Gate {
    child: Child,
    addr: String,
    admin_token: String,
    agent: ureq::Agent,
}

impl Gate {
    /// Writes the gate's config into `dir` and starts the server with it. The gate trusts what
    /// HR's signed trust bundle says (issuer keys and status lists), so it needs no network.
    pub(crate) fn start(
        binary: &Path,
        dir: &Path,
        published: &Path,
        audience: &str,
        listen: &str,
        log: Option<&LogPolicy<'_>>,
    ) -> Result<Self, DemoError> {
        let config = dir.join("gate.toml");
        let bundle = published.join("trust-bundle.jwt");
        let operator = published.join("operator.jwk");
        let text = format!(
            "# Written by govid-demo. See verifier-server/examples/gate.toml for every setting.\n\
             [gate]\nid = \"demo-hq-entrance\"\naudience = {aud}\nprofile = \"entry\"\n\
             mode = \"rotating\"\n\n\
             [server]\nlisten = {listen}\nrate_limit_per_sec = 0\n\n\
             [trust]\nbundle = {bundle}\nbundle_operator_jwk = {operator}\n\n\
             {log}\
             [status]\nfetch_discovered = false\n\n\
             [log]\ndb = \"gate.db\"\n",
            aud = toml_string(audience),
            listen = toml_string(listen),
            bundle = toml_string(&bundle.to_string_lossy()),
            operator = toml_string(&operator.to_string_lossy()),
            log = log.map_or(String::new(), |p| format!(
                "[trust.log]\nlog_key = {}\nwitness_keys = [{}]\nmin_cosignatures = 1\n\n",
                toml_string(&p.log_key.to_string_lossy()),
                toml_string(p.witness_key)
            )),
        );
        fs::write(&config, text).map_err(|e| DemoError(format!("{}: {e}", config.display())))?;
        let admin_token = hex::encode(crate::random_bytes::<16>()?);
        let log = fs::File::create(dir.join("server.log"))
            .map_err(|e| DemoError(format!("gate server log: {e}")))?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("GOVID_ADMIN_TOKEN", &admin_token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| DemoError(format!("cannot start {}: {e}", binary.display())))?;
        let addr = match wait_listening(&mut child) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = dir.join("server.log");
                return Err(DemoError(format!("{e} (see {})", log.display())));
            }
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self {
            child,
            addr,
            admin_token,
            agent,
        })
    }

    /// `http://IP:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Posts a scanned code to `POST /v1/verify`, as the scanning page does.
    pub(crate) fn verify(&self, scanned: &str) -> Result<Verdict, DemoError> {
        let sent = Instant::now();
        let answer = self.call(
            self.agent
                .post(format!("{}/v1/verify", self.url()))
                .header("Content-Type", "text/plain")
                .send(scanned),
            "/v1/verify",
        )?;
        let field = |name: &str| answer[name].as_str().unwrap_or_default().to_owned();
        Ok(Verdict {
            decision: field("decision"),
            reason: field("reason"),
            disclosed: answer["disclosed"].clone(),
            round_trip: sent.elapsed(),
        })
    }

    /// `POST /admin/reload`: the gate reads its config and HR's newest trust bundle again.
    pub(crate) fn reload(&self) -> Result<(), DemoError> {
        self.call(
            self.agent
                .post(format!("{}/admin/reload", self.url()))
                .header("Authorization", format!("Bearer {}", self.admin_token))
                .send_empty(),
            "/admin/reload",
        )
        .map(drop)
    }

    /// Waits until the server exits by itself (Ctrl-C reaches it through the terminal).
    pub(crate) fn wait(mut self) -> Result<(), DemoError> {
        self.child
            .wait()
            .map(drop)
            .map_err(|e| DemoError(format!("gate server: {e}")))
    }

    fn call(
        &self,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        route: &str,
    ) -> Result<Value, DemoError> {
        let mut response = sent.map_err(|e| DemoError(format!("{route}: {e}")))?;
        let status = response.status();
        let mut body = String::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER_BYTES)
            .read_to_string(&mut body)
            .map_err(|e| DemoError(format!("{route}: {e}")))?;
        if !status.is_success() {
            return Err(DemoError(format!("{route}: HTTP {status}: {body}")));
        }
        serde_json::from_str(&body).map_err(|e| DemoError(format!("{route}: {e}")))
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Stops a server child: SIGTERM first (it finishes requests in flight and commits its
/// database), then kill after 5 s.
pub(crate) fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let terminated = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    if terminated {
        for _ in 0..50 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads the server's stdout until `listening on ADDR`.
pub(crate) fn wait_listening(child: &mut Child) -> Result<String, DemoError> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| DemoError("gate server: no stdout".into()))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("listening on ") {
                let _ = tx.send(addr.trim().to_owned());
            }
            // Keep draining so the server never blocks on a full pipe.
        }
    });
    rx.recv_timeout(START_TIMEOUT)
        .map_err(|_| DemoError("the server did not start listening".into()))
}

/// A TOML basic string (JSON's escaping is valid TOML for these values).
fn toml_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

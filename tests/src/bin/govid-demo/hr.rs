//! The HR office's side of the demo: the real `govid-issuer` binary, run as a separate process on
//! the demo's issuer directory, always with `--json`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::DemoError;

/// `govid-issuer` on one issuer directory.
pub(crate) struct Hr {
    binary: PathBuf,
    dir: PathBuf,
}

impl Hr {
    pub(crate) fn new(binary: PathBuf, dir: PathBuf) -> Self {
        Self { binary, dir }
    }

    /// The issuer directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `govid-issuer --dir DIR --json ARGS` and returns its JSON answer; a refusal becomes an
    /// error carrying the tool's own message.
    pub(crate) fn run(&self, args: &[&str]) -> Result<Value, DemoError> {
        let what = format!("govid-issuer {}", args.join(" "));
        let output = Command::new(&self.binary)
            .arg("--dir")
            .arg(&self.dir)
            .arg("--json")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                DemoError(format!(
                    "{what}: cannot start {}: {e}",
                    self.binary.display()
                ))
            })?;
        let answer: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
            DemoError(format!(
                "{what}: exit {}, no JSON answer: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        })?;
        if !output.status.success() || answer["ok"] == Value::Bool(false) {
            let message = answer["message"].as_str().unwrap_or("failed");
            return Err(DemoError(format!("{what}: {message}")));
        }
        Ok(answer)
    }
}

/// HR's OpenID4VCI issuer service (`govid-issuer serve`, DPoP required) on a loopback port, on
/// the same issuer directory as the CLI; stopped (SIGTERM, then kill) when dropped.
pub(crate) struct IssuerService {
    child: Child,
    url: String,
}

impl IssuerService {
    /// Starts the service on a free loopback port; its log goes to `log`.
    pub(crate) fn start(hr: &Hr, log: &Path) -> Result<Self, DemoError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| DemoError(format!("a free port for govid-issuer serve: {e}")))?
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let log_file =
            std::fs::File::create(log).map_err(|e| DemoError(format!("{}: {e}", log.display())))?;
        let mut child = Command::new(&hr.binary)
            .arg("--dir")
            .arg(&hr.dir)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--public-url", &url, "--require-dpop"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| DemoError(format!("cannot start {}: {e}", hr.binary.display())))?;
        if let Err(e) = crate::gate::wait_listening(&mut child) {
            crate::gate::stop(&mut child);
            return Err(DemoError(format!(
                "govid-issuer serve: {e} (see {})",
                log.display()
            )));
        }
        Ok(Self { child, url })
    }

    /// `http://127.0.0.1:PORT`, the service's public URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for IssuerService {
    fn drop(&mut self) {
        crate::gate::stop(&mut self.child);
    }
}

//! The demo's witness: the real `govid-verifier witness` on a loopback port, cosigning HR's
//! transparency log checkpoints (C2SP tlog-witness) so that the gate can require a cosignature.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::DemoError;

/// How long the witness may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running witness; stopped when dropped.
pub(crate) struct Witness {
    child: Child,
    /// `http://IP:PORT`.
    pub(crate) url: String,
    /// Its public key, as `publish --witness-key` and the gate's `witness_keys` take it.
    pub(crate) vkey: String,
}

impl Witness {
    /// Starts a witness in `dir` (its key, 0600, and its state) for the log whose public key is
    /// in `log_vkey`.
    pub(crate) fn start(binary: &Path, dir: &Path, log_vkey: &Path) -> Result<Self, DemoError> {
        std::fs::create_dir_all(dir).map_err(|e| DemoError(format!("{}: {e}", dir.display())))?;
        let log = std::fs::File::create(dir.join("witness.log"))
            .map_err(|e| DemoError(format!("witness log: {e}")))?;
        let mut child = Command::new(binary)
            .args(["witness", "--name", "witness.demo.example/w", "--key"])
            .arg(dir.join("witness.key"))
            .arg("--log-key")
            .arg(log_vkey)
            .arg("--state")
            .arg(dir.join("state"))
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| DemoError(format!("cannot start {}: {e}", binary.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| DemoError("witness: no stdout".into()))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut vkey = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(key) = line.strip_prefix("vkey ") {
                    vkey = Some(key.trim().to_owned());
                } else if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send((vkey.clone(), addr.trim().to_owned()));
                }
                // Keep draining so the witness never blocks on a full pipe.
            }
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok((Some(vkey), addr)) => Ok(Self {
                child,
                url: format!("http://{addr}"),
                vkey,
            }),
            _ => {
                crate::gate::stop(&mut child);
                Err(DemoError(format!(
                    "the witness did not start (see {})",
                    dir.join("witness.log").display()
                )))
            }
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        crate::gate::stop(&mut self.child);
    }
}

//! The HR office's side of the demo: the real `govid-issuer` binary, run as a separate process on
//! the demo's issuer directory, always with `--json`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

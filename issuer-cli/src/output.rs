//! What a command prints: text for people, one JSON object with `--json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::CliError;

/// A command's result.
pub(crate) struct Report {
    /// Printed with `--json` (`"ok": true` is added).
    pub(crate) json: Value,
    /// Printed otherwise.
    pub(crate) text: String,
    /// A member added to the JSON object as already serialized JSON (a long list).
    raw: Option<(&'static str, String)>,
}

impl Report {
    pub(crate) fn new(json: Value, text: impl Into<String>) -> Self {
        Self {
            json,
            text: text.into(),
            raw: None,
        }
    }

    /// Adds `key` with the serialized JSON `value` to the `--json` object.
    pub(crate) fn with_raw(mut self, key: &'static str, value: String) -> Self {
        self.raw = Some((key, value));
        self
    }

    pub(crate) fn print(self, as_json: bool) {
        let mut out = std::io::stdout().lock();
        let _ = if as_json {
            let mut value = self.json;
            if let Value::Object(map) = &mut value {
                map.insert("ok".to_owned(), Value::Bool(true));
            }
            match self.raw {
                // The object has at least "ok": the new member follows a comma.
                Some((key, raw)) if value.is_object() => {
                    let text = value.to_string();
                    let body = text.strip_suffix('}').unwrap_or(&text);
                    writeln!(out, "{body},{}:{raw}}}", Value::from(key))
                }
                _ => writeln!(out, "{value}"),
            }
        } else if self.text.is_empty() {
            Ok(())
        } else {
            writeln!(out, "{}", self.text.trim_end())
        };
    }
}

/// Prints an error: `error: <message>` on stderr, and with `--json` also
/// `{"ok": false, "error": <code>, "message": …}` on stdout.
pub(crate) fn print_error(e: &CliError, as_json: bool) {
    eprintln!("error: {}", e.message);
    if as_json {
        print_json_error(e.code, &e.message, e.details.as_ref());
    }
}

/// `{"ok": false, "error": <code>, "message": …[, "details": …]}` on stdout: the one shape of
/// every `--json` error, usage mistakes included.
pub(crate) fn print_json_error(code: &str, message: &str, details: Option<&Value>) {
    let mut value = json!({"ok": false, "error": code, "message": message});
    if let (Value::Object(map), Some(details)) = (&mut value, details) {
        map.insert("details".to_owned(), details.clone());
    }
    println!("{value}");
}

/// A usage mistake clap found (unknown flag, missing argument...): clap's own message on stderr,
/// and with `--json` the `usage` error on stdout. Exit status 2 (help and version: 0).
pub(crate) fn usage_error(e: &clap::Error, as_json: bool) -> u8 {
    use clap::error::ErrorKind;
    let _ = e.print();
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return 0;
    }
    if as_json {
        let rendered = e.render().to_string();
        let message = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            // clap shows the command's help: name its usage line.
            let usage = rendered
                .lines()
                .find_map(|l| l.trim().strip_prefix("Usage: "))
                .unwrap_or("see --help");
            format!("a subcommand is missing: {usage}")
        } else {
            // The first paragraph is the mistake; then come the usage line and --help.
            let first = rendered.split("\n\n").next().unwrap_or_default();
            first.trim().trim_start_matches("error:").trim().to_owned()
        };
        print_json_error("usage", &message, None);
    }
    2
}

/// `path` as an absolute path (from the working directory if relative), as every path in the
/// `--json` output is given.
pub(crate) fn abs(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

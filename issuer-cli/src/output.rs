//! What a command prints: text for people, one JSON object with `--json`.

use std::io::Write;

use serde_json::{json, Value};

use crate::error::CliError;

/// A command's result.
pub(crate) struct Report {
    /// Printed with `--json` (`"ok": true` is added).
    pub(crate) json: Value,
    /// Printed otherwise.
    pub(crate) text: String,
}

impl Report {
    pub(crate) fn new(json: Value, text: impl Into<String>) -> Self {
        Self {
            json,
            text: text.into(),
        }
    }

    pub(crate) fn print(self, as_json: bool) {
        let mut out = std::io::stdout().lock();
        let _ = if as_json {
            let mut value = self.json;
            if let Value::Object(map) = &mut value {
                map.insert("ok".to_owned(), Value::Bool(true));
            }
            writeln!(out, "{value}")
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
        let mut value = json!({"ok": false, "error": e.code, "message": e.message});
        if let (Value::Object(map), Some(details)) = (&mut value, &e.details) {
            map.insert("details".to_owned(), details.clone());
        }
        println!("{value}");
    }
}

//! `govid-verifier check`: verify presentations from scripts.
//!
//! One presentation on stdin: exit 0 and the processed payload as JSON on stdout, or exit 1 and
//! one line `<rule>: <message>` on stderr. Usage errors exit 2. With `--jsonl`, one JSON object
//! per input line in, one result line out, in order; a bad line gives one error line.

use std::io::{BufRead, BufWriter, Write};

use govid_core::jose::PublicKey;
use govid_core::sdjwt::{verify, KbExpectation, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use serde_json::{json, Value};

use crate::input;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The issuer's public JWK: a file path, or inline JSON.
    #[arg(long, value_name = "FILE|JSON", required_unless_present = "jsonl")]
    issuer_jwk: Option<String>,
    /// Verify at this time (unix seconds) instead of the system clock.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
    /// Require key binding to this audience (implies --require-kb).
    #[arg(long, value_name = "AUD")]
    aud: Option<String>,
    /// Require this KB-JWT nonce.
    #[arg(long, value_name = "NONCE", requires = "aud")]
    nonce: Option<String>,
    /// Require a Key Binding JWT (needs --aud).
    #[arg(long, requires = "aud")]
    require_kb: bool,
    /// Apply the SD-JWT VC rules (typ dc+sd-jwt, vct, claims that must stay visible).
    #[arg(long)]
    sd_jwt_vc: bool,
    /// Require this issuer JWT `typ`.
    #[arg(long, value_name = "TYP")]
    typ: Option<String>,
    /// Read JSON lines {"presentation", "issuer_public_jwk", "verifier": {...}} from stdin and
    /// write one {"ok": …} line per input.
    #[arg(long, conflicts_with_all = ["issuer_jwk", "now", "aud", "nonce", "require_kb", "sd_jwt_vc", "typ"])]
    jsonl: bool,
}

pub(crate) fn run(args: CheckArgs) -> u8 {
    if args.jsonl {
        return run_jsonl();
    }
    let key = match args.issuer_jwk.as_deref().map(input::public_jwk_arg) {
        Some(Ok(key)) => key,
        Some(Err(e)) => {
            eprintln!("usage: {e}");
            return 2;
        }
        None => {
            eprintln!("usage: --issuer-jwk is required");
            return 2;
        }
    };
    let presentation = match input::read_stdin() {
        Ok(text) => text,
        Err(e) => {
            eprintln!("input: {e}");
            return 1;
        }
    };
    let policy = VerifyPolicy {
        key_binding: args.aud.map(|aud| KbExpectation {
            aud,
            nonce: args.nonce,
        }),
        expected_typ: args.typ,
        sd_jwt_vc: args.sd_jwt_vc,
        ..VerifyPolicy::default()
    };
    let now = args.now.unwrap_or_else(input::system_now);
    match check_one(&presentation, &policy, key, now) {
        Ok(payload) => {
            println!("{payload}");
            0
        }
        Err((rule, message)) => {
            eprintln!("{rule}: {message}");
            1
        }
    }
}

/// Verifies one presentation; on failure returns the rule code and a message.
fn check_one(
    presentation: &str,
    policy: &VerifyPolicy,
    key: PublicKey,
    now: u64,
) -> Result<Value, (&'static str, String)> {
    let issuers = PinnedKeys::single(key);
    verify(presentation, policy, &issuers, now)
        .map(|v| Value::Object(v.payload))
        .map_err(|e| (e.rule(), e.to_string()))
}

/// One `--jsonl` input line into a result line.
fn jsonl_line(line: &str) -> Value {
    let fail = |rule: &str| json!({"ok": false, "error": rule});
    let Ok(input) = serde_json::from_str::<Value>(line) else {
        return fail("bad_input");
    };
    let Some(presentation) = input.get("presentation").and_then(Value::as_str) else {
        return fail("bad_input");
    };
    let Ok(key) = input
        .get("issuer_public_jwk")
        .ok_or(())
        .and_then(|jwk| PublicKey::from_jwk(jwk).map_err(|_| ()))
    else {
        return fail("bad_issuer_jwk");
    };
    let verifier = input.get("verifier").cloned().unwrap_or(Value::Null);
    let text = |name: &str| {
        verifier
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let require_kb = verifier.get("require_key_binding").and_then(Value::as_bool) == Some(true);
    let key_binding = match (require_kb, text("expected_aud")) {
        (false, _) => None,
        (true, Some(aud)) => Some(KbExpectation {
            aud,
            nonce: text("expected_nonce"),
        }),
        (true, None) => return fail("bad_input"),
    };
    let Some(now) = verifier.get("now").and_then(Value::as_u64) else {
        return fail("bad_input");
    };
    let policy = VerifyPolicy {
        key_binding,
        expected_typ: text("expected_typ"),
        sd_jwt_vc: verifier.get("sd_jwt_vc").and_then(Value::as_bool) == Some(true),
        ..VerifyPolicy::default()
    };
    match check_one(presentation, &policy, key, now) {
        Ok(payload) => json!({"ok": true, "payload": payload}),
        Err((rule, _)) => fail(rule),
    }
}

fn run_jsonl() -> u8 {
    let stdin = std::io::stdin();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let result = match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) if line.len() as u64 > input::MAX_STDIN_BYTES => {
                json!({"ok": false, "error": "too_large"})
            }
            Ok(line) => jsonl_line(&line),
            Err(_) => json!({"ok": false, "error": "bad_input"}),
        };
        if writeln!(out, "{result}").is_err() {
            return 1;
        }
    }
    if out.flush().is_err() {
        return 1;
    }
    0
}

//! `govid-verifier check`: verify presentations from scripts.
//!
//! One presentation on stdin: exit 0 and the processed payload as JSON on stdout, or exit 1 and
//! one line `<rule>: <message>` on stderr. Usage errors exit 2. With `--jsonl`, one JSON object
//! per input line in, one result line out, in order; a bad line gives one error line.
//!
//! The presentation may be a scanned `GV1:` QR payload. With `--status-token` and/or
//! `--trust-bundle` the verify includes the credential's status: INVALID is rule `revoked`,
//! SUSPENDED is `suspended`, and no fresh list for it is `status_unknown` (never accepted). A
//! credential without a `status` claim is then `status_claim_missing`, unless
//! `--require-status false`.

use std::io::{BufRead, BufWriter, Write};

use govid_core::jose::{Algorithm, PublicKey};
use govid_core::qr;
use govid_core::sdjwt::{verify, KbExpectation, VerifyPolicy};
use govid_core::status::{
    check_credential_status, verify_status_list_token, StatusListStore, StatusOutcome,
    StatusReference, StatusTokenSource,
};
use govid_core::trust::{IssuerResolver, PinnedKeys, TrustBundle};
use serde_json::{json, Value};

use crate::input;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// A trusted issuer public key: a file path or inline JSON, holding a JWK or a JWK Set whose
    /// keys may carry an `iss` member naming the issuer each signs for; ISS=FILE|JSON trusts it
    /// for the issuer ISS only. Repeatable (also spelled --trust-jwk, as for `serve`). A
    /// credential without a `kid` is checked against each key that may sign for its `iss` (at
    /// most 8; more are refused as unknown_issuer_key).
    #[arg(
        long,
        visible_alias = "trust-jwk",
        value_name = "[ISS=]FILE|JSON",
        required_unless_present_any = ["jsonl", "trust_bundle"]
    )]
    issuer_jwk: Vec<String>,
    /// A Status List Token (statuslist+jwt) file to check the credential's status against;
    /// repeatable. The one whose `sub` is the credential's status `uri` is used.
    #[arg(long, value_name = "FILE")]
    status_token: Vec<String>,
    /// An offline trust bundle: trusted issuers (used instead of --issuer-jwk when that is
    /// absent) and their status lists. Needs --operator-jwk.
    #[arg(long, value_name = "FILE", requires = "operator_jwk")]
    trust_bundle: Option<String>,
    /// The pinned public key of the trust bundle's operator: a file path, or inline JSON.
    #[arg(long, value_name = "FILE|JSON", requires = "trust_bundle")]
    operator_jwk: Option<String>,
    /// How old (seconds after its `iat`) a --status-token may be and still be relied on.
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
    max_staleness: u64,
    /// With --status-token or --trust-bundle: whether the credential must carry a `status`
    /// claim. true (default): one without is rejected `status_claim_missing`; false: it is
    /// accepted (one with a `status` claim is still checked).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    require_status: bool,
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
    #[arg(long, conflicts_with_all = ["issuer_jwk", "now", "aud", "nonce", "require_kb", "sd_jwt_vc", "typ", "status_token", "trust_bundle"])]
    jsonl: bool,
}

pub(crate) fn run(args: CheckArgs) -> u8 {
    if args.jsonl {
        return run_jsonl();
    }
    let now = args.now.unwrap_or_else(input::system_now);
    let trust = match Trust::from_args(&args) {
        Ok(trust) => trust,
        Err(e) => {
            eprintln!("usage: {e}");
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
    match check_one(&presentation, &policy, &trust, now) {
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

/// Where issuer keys and status come from for one `check` run.
struct Trust {
    issuers: Box<dyn IssuerResolver>,
    bundle: Option<TrustBundle>,
    /// Status List Token texts given with --status-token.
    tokens: Vec<String>,
    max_staleness: u64,
    /// Whether a credential without a `status` claim fails the status check.
    require_status: bool,
}

impl Trust {
    fn pinned(key: PublicKey) -> Self {
        Self {
            issuers: Box::new(PinnedKeys::single(key)),
            bundle: None,
            tokens: Vec::new(),
            max_staleness: 0,
            require_status: true,
        }
    }

    fn from_args(args: &CheckArgs) -> Result<Self, String> {
        let bundle = match (&args.trust_bundle, &args.operator_jwk) {
            (Some(file), Some(operator)) => {
                let operator = input::public_jwk_arg(operator)?;
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("cannot read {file}: {e}"))?;
                // A bundle that fails its checks is a verification failure of its own; report
                // it as a usage problem of this run with the bundle's rule.
                Some(
                    TrustBundle::load(&text, &operator, None)
                        .map_err(|e| format!("trust bundle rejected ({}): {e}", e.rule()))?,
                )
            }
            _ => None,
        };
        let issuers: Box<dyn IssuerResolver> = match (args.issuer_jwk.as_slice(), &bundle) {
            ([], Some(bundle)) => Box::new(bundle.clone()),
            ([], None) => return Err("--issuer-jwk or --trust-bundle is required".to_owned()),
            (jwks, _) => {
                let mut keys = PinnedKeys::new();
                for arg in jwks {
                    let (iss, jwk) = input::split_issuer(arg);
                    keys.add_jwk_text(&input::json_arg(jwk)?, iss)
                        .map_err(|e| format!("issuer JWK: {e}"))?;
                }
                Box::new(keys)
            }
        };
        let tokens = args
            .status_token
            .iter()
            .map(|f| std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            issuers,
            bundle,
            tokens,
            max_staleness: args.max_staleness,
            require_status: args.require_status,
        })
    }

    /// Whether this credential's status is checked: status sources are given, and it has a
    /// `status` claim or one is required.
    fn checks_status(&self, payload: &serde_json::Map<String, Value>) -> bool {
        (self.bundle.is_some() || !self.tokens.is_empty())
            && (self.require_status || payload.contains_key("status"))
    }

    /// The credential's status from the --status-token files (preferred) or the bundle.
    fn status(
        &self,
        payload: &serde_json::Map<String, Value>,
        now: u64,
    ) -> Result<StatusOutcome, (&'static str, String)> {
        let reference =
            StatusReference::from_payload(payload).map_err(|e| (e.rule(), e.to_string()))?;
        let mut store = StatusListStore::new(self.max_staleness);
        for token in &self.tokens {
            match verify_status_list_token(
                token.trim(),
                self.issuers.as_ref(),
                &reference.uri,
                now,
                &Algorithm::ALL,
            ) {
                Ok(list) => store.insert(list),
                // A token for another list is simply not this credential's.
                Err(e) if e.rule() == "status_token_sub" => continue,
                Err(e) => return Err((e.rule(), e.to_string())),
            }
        }
        let source: &dyn StatusTokenSource = match &self.bundle {
            Some(bundle) if store.is_empty() => bundle,
            _ => &store,
        };
        check_credential_status(payload, source, now).map_err(|e| (e.rule(), e.to_string()))
    }
}

/// Verifies one presentation (compact, JWS JSON, or a `GV1:` QR payload), and its status when
/// status sources are given; on failure returns the rule code and a message.
fn check_one(
    presentation: &str,
    policy: &VerifyPolicy,
    trust: &Trust,
    now: u64,
) -> Result<Value, (&'static str, String)> {
    let trimmed = presentation.trim();
    let decoded;
    let presentation = if trimmed.starts_with(qr::PREFIX) {
        decoded = qr::decode_payload(trimmed).map_err(|e| ("bad_qr", e.to_string()))?;
        decoded.as_str()
    } else {
        presentation
    };
    let verified = verify(presentation, policy, trust.issuers.as_ref(), now)
        .map_err(|e| (e.rule(), e.to_string()))?;
    if let Some(bundle) = &trust.bundle {
        let iss = verified
            .payload
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let vct = verified
            .payload
            .get("vct")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !bundle.allows_vct(iss, vct) {
            return Err((
                "vct_not_allowed",
                "the trust bundle does not allow this issuer to issue this credential type".into(),
            ));
        }
    }
    if trust.checks_status(&verified.payload) {
        match trust.status(&verified.payload, now)? {
            StatusOutcome::Valid => {}
            StatusOutcome::Invalid => return Err(("revoked", "the credential is revoked".into())),
            StatusOutcome::Suspended => {
                return Err(("suspended", "the credential is suspended".into()))
            }
            StatusOutcome::Other(v) => {
                return Err((
                    "status_other",
                    format!("the credential's status is 0x{v:02x}"),
                ))
            }
            StatusOutcome::Unknown { reason } => {
                return Err((
                    "status_unknown",
                    format!("no fresh status list for the credential ({reason})"),
                ))
            }
        }
    }
    Ok(Value::Object(verified.payload))
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
    match check_one(presentation, &policy, &Trust::pinned(key), now) {
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

//! `govid-verifier status`: reads one entry of a Status List Token.
//!
//! Exit codes: 0 with `VALID`, `INVALID`, `SUSPENDED` or the raw value as `0x03` on stdout;
//! 1 when the token fails a rule or the index is outside the list, with one stderr line naming
//! the rule (`error: status_token_expired: …`); 2 for usage errors (clap's own, an unreadable
//! file, a JWK that is not a public Ed25519/P-256 key, no system clock).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use govid_core::jose::{Algorithm, PublicKey};
use govid_core::status::{verify_status_list_token_with_key, StatusError};

/// Check one credential's entry in a Status List Token (statuslist+jwt).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Prints VALID, INVALID, SUSPENDED, or another value as 0x03 (exit 0). A token \
    that fails a rule or an index outside the list exits 1 with one line naming the rule; usage \
    errors exit 2."
)]
pub(crate) struct StatusArgs {
    /// File holding the Status List Token (compact JWS).
    #[arg(long, value_name = "FILE")]
    token: PathBuf,
    /// The status issuer's public JWK: a file, or the JSON itself.
    #[arg(long, value_name = "FILE|JSON")]
    issuer_jwk: String,
    /// The URI the credential references; must equal the token's `sub`.
    #[arg(long)]
    uri: String,
    /// The credential's index in the list.
    #[arg(long, value_name = "N")]
    index: u64,
    /// Check as of this Unix time instead of the system clock.
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
}

/// A failure: the exit code and the line for stderr.
struct Failure {
    code: i32,
    line: String,
}

impl Failure {
    fn usage(line: String) -> Self {
        Self { code: 2, line }
    }

    fn rule(rule: &str, message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            line: format!("{rule}: {message}"),
        }
    }
}

/// Runs the subcommand and returns the process exit code.
pub(crate) fn run(args: StatusArgs) -> i32 {
    match status(&args) {
        Ok(value) => {
            println!("{value}");
            0
        }
        Err(failure) => {
            eprintln!("error: {}", failure.line);
            failure.code
        }
    }
}

fn status(args: &StatusArgs) -> Result<String, Failure> {
    let token = std::fs::read_to_string(&args.token).map_err(|e| {
        Failure::usage(format!("cannot read --token {}: {e}", args.token.display()))
    })?;
    let key = issuer_key(&args.issuer_jwk)?;
    let now = match args.now {
        Some(now) => now,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Failure::usage("the system clock is before 1970".to_owned()))?
            .as_secs(),
    };
    let verified =
        verify_status_list_token_with_key(token.trim(), &key, &args.uri, now, &Algorithm::ALL)
            .map_err(|e| Failure::rule(e.rule(), e))?;
    let len = verified.list().len();
    let out_of_range = StatusError::IndexOutOfRange {
        index: args.index,
        len,
    };
    let idx = usize::try_from(args.index)
        .map_err(|_| Failure::rule(out_of_range.rule(), &out_of_range))?;
    let value = verified
        .list()
        .status(idx)
        .map_err(|e| Failure::rule(e.rule(), e))?;
    Ok(value.to_string())
}

/// Parses `--issuer-jwk`: inline JSON if it starts with `{`, else a file holding it.
fn issuer_key(arg: &str) -> Result<PublicKey, Failure> {
    let text = if arg.trim_start().starts_with('{') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg)
            .map_err(|e| Failure::usage(format!("cannot read --issuer-jwk {arg}: {e}")))?
    };
    PublicKey::from_jwk_str(&text)
        .map_err(|e| Failure::usage(format!("--issuer-jwk is not a usable public key: {e}")))
}

//! The commands: each parses its arguments, calls the wallet library and prints the outcome.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use govid_ffi::{
    CredentialKind, CredentialStatus, CredentialSummary, GateProfileKind, Presentation, Wallet,
    WalletError, MAX_TRUST_DOCUMENT_BYTES,
};

use crate::error::{CliError, Exit};
use crate::http::UreqHttp;
use crate::{qr, secret};

/// Arguments of `receive`.
#[derive(Args, Debug)]
pub(crate) struct ReceiveArgs {
    /// The offer: `openid-credential-offer://?credential_offer_uri=…` (quote it in the shell).
    offer: String,
    /// The PIN HR gave separately (asked for when absent and the offer needs it, at a terminal).
    #[arg(long)]
    pin: Option<String>,
    /// First trust this JWK Set (a file, or an https URL such as
    /// https://hr.example/.well-known/jwks.json) for the issuer --issuer.
    #[arg(long, value_name = "FILE|URL", requires = "issuer")]
    trust_jwks: Option<String>,
    /// The issuer (`iss`, HR's DID) the --trust-jwks keys sign for.
    #[arg(long, value_name = "ISS", requires = "trust_jwks")]
    issuer: Option<String>,
}

/// `trust` subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum TrustCmd {
    /// Trust the keys of an issuer's JWK Set (HR publishes it as .well-known/jwks.json).
    Jwks {
        /// The JWK Set: a file, or an https URL.
        #[arg(value_name = "FILE|URL")]
        source: String,
        /// The issuer (`iss`, HR's DID) the keys sign for.
        #[arg(long, value_name = "ISS")]
        issuer: String,
    },
    /// Trust a did:web issuer from its DID document (.well-known/did.json).
    DidDocument {
        /// The DID document: a file, or an https URL.
        #[arg(value_name = "FILE|URL")]
        source: String,
        /// The issuer's DID, e.g. did:web:hr.example.
        #[arg(long)]
        did: String,
    },
}

/// Arguments of `show`.
#[derive(Args, Debug)]
pub(crate) struct ShowArgs {
    /// The ID to show (from `list`; default: the first worker ID). The gate pass of the same
    /// person is shown where it can answer (a smaller QR code).
    id: Option<String>,
    /// The gate (verifier) the code is for.
    #[arg(long, env = "GOVID_WALLET_AUD")]
    aud: String,
    /// Also write each code as a PNG file.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// Show one code and exit.
    #[arg(long)]
    once: bool,
    /// Print the `GV1:` text instead of drawing the QR code.
    #[arg(long)]
    text: bool,
}

/// Arguments of `answer`.
#[derive(Args, Debug)]
pub(crate) struct AnswerArgs {
    /// The gate's challenge (`GVC1:…`, as scanned).
    challenge: String,
    /// The ID to answer from (default: the first worker ID; its gate pass where it can).
    #[arg(long)]
    id: Option<String>,
    /// Also write the answer as a PNG file.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// Print the `GV1:` text instead of drawing the QR code.
    #[arg(long)]
    text: bool,
}

/// Arguments of `login`.
#[derive(Args, Debug)]
pub(crate) struct LoginArgs {
    /// The login request: `openid4vp://?client_id=…&request_uri=…` (the link of the login
    /// page's QR code; quote it in the shell).
    request: String,
    /// Share without asking.
    #[arg(long, conflicts_with = "no")]
    yes: bool,
    /// Decline without asking (the verifier is told `access_denied`).
    #[arg(long)]
    no: bool,
    /// The ID to log in with (default: the first one that answers the request).
    #[arg(long)]
    id: Option<String>,
}

pub(crate) fn receive(
    wallet: &Wallet,
    http: &Arc<UreqHttp>,
    a: ReceiveArgs,
) -> Result<(), CliError> {
    if let (Some(source), Some(issuer)) = (&a.trust_jwks, &a.issuer) {
        trust_jwks(wallet, http, source, issuer)?;
    }
    let pin = a.pin.map(zeroize::Zeroizing::new);
    let result = wallet.receive_offer(
        a.offer.clone(),
        pin.as_ref().map(|p| p.to_string()),
        http.clone(),
    );
    let received = match (result, &pin) {
        (Err(WalletError::TxCodeRequired { reason }), None) => {
            eprintln!("{reason}");
            let Some(typed) = secret::prompt_pin()? else {
                return Err(WalletError::TxCodeRequired { reason }.into());
            };
            wallet.receive_offer(a.offer, Some(typed.to_string()), http.clone())?
        }
        (result, _) => result?,
    };
    println!(
        "received over OpenID4VCI from {}: {}",
        received.issuer_name,
        received
            .credentials
            .iter()
            .map(|c| format!("{} {}", kind(c.kind), c.id))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for skipped in &received.skipped_configurations {
        println!("  not requested (not a govid ID): {skipped}");
    }
    Ok(())
}

pub(crate) fn trust(wallet: &Wallet, http: &UreqHttp, t: TrustCmd) -> Result<(), CliError> {
    match t {
        TrustCmd::Jwks { source, issuer } => trust_jwks(wallet, http, &source, &issuer),
        TrustCmd::DidDocument { source, did } => {
            let document = read_source(http, &source)?;
            let keys = wallet.trust_issuer_did_document(did.clone(), document)?;
            println!("trusting {} key(s) of {did}", keys.len());
            Ok(())
        }
    }
}

fn trust_jwks(wallet: &Wallet, http: &UreqHttp, source: &str, iss: &str) -> Result<(), CliError> {
    let jwks = read_source(http, source)?;
    let keys = wallet.trust_issuer_jwks(jwks, iss.to_owned())?;
    println!("trusting {} key(s) of {iss}", keys.len());
    Ok(())
}

/// A trust document from a file or an https URL (http on loopback).
fn read_source(http: &UreqHttp, source: &str) -> Result<String, CliError> {
    let max = MAX_TRUST_DOCUMENT_BYTES as u64;
    let bytes = if source.starts_with("https://") || source.starts_with("http://") {
        http.get_file(source, max)
            .map_err(|e| CliError::new(Exit::Network, format!("fetching {source}: {e}")))?
    } else {
        let path = Path::new(source);
        let len = std::fs::metadata(path)
            .map_err(|e| CliError::usage(format!("{source}: {e}")))?
            .len();
        if len > max {
            return Err(CliError::usage(format!(
                "{source}: larger than {max} bytes"
            )));
        }
        std::fs::read(path).map_err(|e| CliError::usage(format!("{source}: {e}")))?
    };
    String::from_utf8(bytes).map_err(|_| CliError::usage(format!("{source}: not UTF-8 text")))
}

pub(crate) fn list(wallet: &Wallet) -> Result<(), CliError> {
    let held = wallet.list_credentials()?;
    if held.is_empty() {
        println!("no IDs yet: receive an offer from HR (govid-wallet receive 'openid-credential-offer://…')");
        return Ok(());
    }
    for c in &held {
        let name = [c.given_name.as_deref(), c.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let org = match (&c.organization_name, &c.organization_code) {
            (Some(n), Some(code)) => format!("{n} ({code})"),
            (Some(n), None) => n.clone(),
            (None, Some(code)) => code.clone(),
            (None, None) => "?".to_owned(),
        };
        let expires = c.expires_at.map_or("no expiry".to_owned(), |t| {
            let verb = if c.expired { "expired" } else { "expires" };
            format!("{verb} {}", utc_date(t))
        });
        println!(
            "{}  {:<9}  {name}  {}  {org}  {expires}  status: {}",
            c.id,
            kind(c.kind),
            c.employee_number.as_deref().unwrap_or("-"),
            status(c.status),
        );
    }
    Ok(())
}

pub(crate) fn show(wallet: &Wallet, a: ShowArgs) -> Result<(), CliError> {
    let id = chosen(wallet, a.id)?;
    let terminal = std::io::stdout().is_terminal();
    loop {
        let code =
            wallet.present_rotating_best(id.clone(), a.aud.clone(), GateProfileKind::Entry)?;
        if terminal && !a.once && !a.text {
            // Clear the screen: the new code replaces the old one.
            print!("\x1b[H\x1b[2J");
        }
        output(&code, a.png.as_deref(), a.text)?;
        let every = code.refresh_after_seconds.unwrap_or(20);
        if a.once {
            return Ok(());
        }
        eprintln!(
            "{} for {}: a new code every {every} s (Ctrl-C stops)",
            kind(code.kind),
            code.aud
        );
        std::thread::sleep(Duration::from_secs(u64::from(every)));
    }
}

pub(crate) fn answer(wallet: &Wallet, a: AnswerArgs) -> Result<(), CliError> {
    let request = wallet.read_challenge(a.challenge.clone())?;
    eprintln!(
        "{} asks for: {} (answer before {})",
        request.aud,
        request.claims.join(", "),
        utc_time(request.expires_at)
    );
    let id = chosen(wallet, a.id)?;
    let code = wallet.present_for_challenge_best(id, a.challenge)?;
    output(&code, a.png.as_deref(), a.text)
}

pub(crate) fn refresh(wallet: &Wallet, http: &Arc<UreqHttp>) -> Result<(), CliError> {
    let done = wallet.refresh_statuses(http.clone())?;
    for change in &done.changed {
        let c = &change.credential;
        println!(
            "{} {} ({}): {} -> {}",
            kind(c.kind),
            c.id,
            c.employee_number.as_deref().unwrap_or("-"),
            status(change.previous),
            status(c.status)
        );
    }
    for failure in &done.failures {
        eprintln!(
            "could not check {}: {}",
            failure.status_list_uri, failure.reason
        );
    }
    println!(
        "{} status list(s) checked, {} ID(s) changed",
        done.lists_checked,
        done.changed.len()
    );
    match done.failures.first() {
        None => Ok(()),
        Some(f) if f.reason.starts_with("network:") => Err(CliError::new(
            Exit::Network,
            format!(
                "{} status list(s) could not be fetched",
                done.failures.len()
            ),
        )),
        Some(_) => Err(CliError::new(
            Exit::Failed,
            format!("{} status list(s) refused", done.failures.len()),
        )),
    }
}

/// The id asked for, or the first worker ID (else the first credential).
pub(crate) fn login(wallet: &Wallet, http: &Arc<UreqHttp>, a: LoginArgs) -> Result<(), CliError> {
    let request = wallet
        .read_presentation_request(a.request, http.clone())
        .map_err(login_error)?;
    let matching = match &a.id {
        None => request.credentials.first(),
        Some(id) => request.credentials.iter().find(|c| &c.credential_id == id),
    }
    .ok_or_else(|| {
        CliError::new(
            Exit::NoMatchingId,
            format!(
                "ID {} does not answer this login request; IDs that do: {}",
                a.id.as_deref().unwrap_or("-"),
                request
                    .credentials
                    .iter()
                    .map(|c| c.credential_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let host = &request.verifier_host;
    println!("login request from {host}");
    println!("  verified: signed by the key of {host}'s DID document");
    match &request.claimed_name {
        Some(name) => {
            println!("  calls itself: \"{name}\" (claimed by the verifier, not verified)")
        }
        None => println!("  gives no name"),
    }
    println!(
        "  asks for these claims of your {} {}:",
        kind(matching.kind),
        matching.credential_id
    );
    for claim in &matching.disclosed {
        println!("    {}: {}", claim.path, claim.value);
    }
    println!("  answer before {}", utc_time(request.expires_at));
    let consent = if a.yes {
        true
    } else if a.no {
        false
    } else {
        confirm(&format!("Share these claims with {host}? [y/N] "))?
    };
    let answer = wallet
        .respond(
            request.request_id.clone(),
            matching.credential_id.clone(),
            consent,
        )
        .map_err(login_error)?;
    if !(200..300).contains(&answer.status) {
        let error = answer.error.as_deref().unwrap_or("unexpected_status");
        let description = answer
            .error_description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(CliError::new(
            Exit::VerifierRefused,
            format!(
                "{host} refused the answer (HTTP {}, {error}{description})",
                answer.status
            ),
        ));
    }
    if consent {
        println!(
            "logged in: shared {} claim(s) with {host}",
            matching.disclosed.len()
        );
    } else {
        println!("declined: {host} was told access_denied");
    }
    if let Some(uri) = &answer.redirect_uri {
        println!("continue in the browser: {uri}");
    }
    Ok(())
}

/// The login command's errors: the request refused (9), no ID that answers (10), the verifier
/// answering with an error (11); the rest as everywhere.
fn login_error(e: WalletError) -> CliError {
    match e {
        WalletError::InvalidPresentationRequest { rule, reason } => CliError::new(
            Exit::LoginRefused,
            format!("the wallet refused the login request ({rule}): {reason}"),
        ),
        WalletError::MissingClaim { path } => CliError::new(
            Exit::NoMatchingId,
            format!(
                "the verifier asks for the claim `{path}`, which your ID does not have: \
                 nothing was sent"
            ),
        ),
        WalletError::NoMatchingCredential { reason } => {
            CliError::new(Exit::NoMatchingId, format!("{reason}: nothing was sent"))
        }
        WalletError::Verifier { reason, .. } => CliError::new(Exit::VerifierRefused, reason),
        other => other.into(),
    }
}

/// Asks a yes/no question at the terminal; anything but `y`/`yes` is no.
fn confirm(question: &str) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "standard input is not a terminal: pass --yes to share or --no to decline",
        ));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("reading from the terminal: {e}")))?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn chosen(wallet: &Wallet, id: Option<String>) -> Result<String, CliError> {
    if let Some(id) = id {
        return Ok(id);
    }
    let held = wallet.list_credentials()?;
    held.iter()
        .find(|c| c.kind == CredentialKind::WorkerId)
        .or(held.first())
        .map(|c: &CredentialSummary| c.id.clone())
        .ok_or_else(|| {
            CliError::new(
                Exit::NotFound,
                "the wallet holds no ID: receive an offer from HR first",
            )
        })
}

/// Prints a presentation (drawn, or as text) and writes its PNG.
fn output(code: &Presentation, png: Option<&Path>, text: bool) -> Result<(), CliError> {
    if let Some(path) = png {
        let image = qr::png(&code.payload).map_err(|e| CliError::new(Exit::Failed, e))?;
        std::fs::write(path, image)
            .map_err(|e| CliError::new(Exit::Failed, format!("{}: {e}", path.display())))?;
    }
    let mut out = std::io::stdout().lock();
    let written = if text {
        writeln!(out, "{}", code.payload)
    } else {
        let drawn = qr::draw(&code.payload).map_err(|e| CliError::new(Exit::Failed, e))?;
        write!(out, "{drawn}").and_then(|()| writeln!(out, "{} for {}", kind(code.kind), code.aud))
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(Exit::Failed, format!("stdout: {e}")))
}

fn kind(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::WorkerId => "worker ID",
        CredentialKind::GatePass => "gate pass",
    }
}

fn status(status: CredentialStatus) -> String {
    match status {
        CredentialStatus::Unknown => "not checked".to_owned(),
        CredentialStatus::Valid => "valid".to_owned(),
        CredentialStatus::Revoked => "revoked".to_owned(),
        CredentialStatus::Suspended => "suspended".to_owned(),
        CredentialStatus::Other { value } => format!("status {value}"),
    }
}

/// `YYYY-MM-DD` (UTC) of unix seconds.
fn utc_date(t: u64) -> String {
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let z = (t / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DD HH:MM:SS UTC` of unix seconds.
fn utc_time(t: u64) -> String {
    let s = t % 86_400;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        utc_date(t),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{utc_date, utc_time};

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_time(1_767_225_599), "2025-12-31 23:59:59 UTC");
    }
}

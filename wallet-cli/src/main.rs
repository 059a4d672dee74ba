//! `govid-wallet`: a reference wallet for pilots. A thin command line over the wallet library
//! the phone apps call (`govid-ffi`), with its software key store and an HTTP client on ureq:
//! receive IDs over OpenID4VCI, list them, show rotating gate codes as QR codes, answer gate
//! challenges, refresh statuses, log in to web systems over OpenID4VP. See README.md for the
//! commands and exit codes.

mod cmd;
mod error;
mod http;
mod qr;
mod secret;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use govid_ffi::{SoftwareKeyStore, Wallet};

use error::CliError;
use http::UreqHttp;

/// A govid wallet on this computer: receive worker IDs, show gate codes.
#[derive(Parser, Debug)]
#[command(
    name = "govid-wallet",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 done; 1 other failure; 2 usage; 3 PIN refused or needed; 4 offer \
                  expired or used; 5 issuer not trusted; 6 no answer from the network; 7 wrong \
                  passphrase; 8 no such ID; 9 login request refused by the wallet; 10 no ID \
                  answers the login request; 11 the verifier answered with an error (README.md)."
)]
struct Args {
    /// The wallet's folder (its key store in `keys/`, its database in `wallet/`).
    #[arg(
        long,
        global = true,
        env = "GOVID_WALLET_DIR",
        default_value = "govid-wallet"
    )]
    dir: PathBuf,
    /// A file whose first line is the key store's passphrase (else GOVID_WALLET_PASSPHRASE, else
    /// a prompt when standard input is a terminal). The first use sets it.
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Trust only the certificates of this PEM file for HTTPS, instead of the built-in web
    /// roots (a pilot's own CA, a test certificate).
    #[arg(long, global = true, env = "GOVID_WALLET_CA", value_name = "FILE")]
    ca: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Receive the IDs of an OpenID4VCI credential offer (the link in HR's QR code).
    Receive(cmd::ReceiveArgs),
    /// Trust an issuer's keys (credentials are accepted only from trusted issuers).
    #[command(subcommand)]
    Trust(cmd::TrustCmd),
    /// List the IDs in the wallet.
    List,
    /// Show a rotating gate code (a QR code, a new one every 20 s until Ctrl-C).
    Show(cmd::ShowArgs),
    /// Answer a gate's challenge (`GVC1:`): the QR code to show it.
    Answer(cmd::AnswerArgs),
    /// Ask the issuers for the IDs' statuses (revoked, suspended...) and say what changed.
    Refresh,
    /// Log in to a web system with the worker ID: the `openid4vp://` link of its QR code.
    /// Says who asks (the verified host, the name it claims) for which claims, asks to
    /// confirm (unless --yes or --no), then answers.
    Login(cmd::LoginArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("govid-wallet: {e}");
            e.exit_code()
        }
    }
}

fn run(args: Args) -> Result<(), CliError> {
    let http = Arc::new(UreqHttp::new(args.ca.as_deref()).map_err(CliError::usage)?);
    let wallet = open(&args)?;
    match args.command {
        Cmd::Receive(a) => cmd::receive(&wallet, &http, a),
        Cmd::Trust(t) => cmd::trust(&wallet, &http, t),
        Cmd::List => cmd::list(&wallet),
        Cmd::Show(a) => cmd::show(&wallet, a),
        Cmd::Answer(a) => cmd::answer(&wallet, a),
        Cmd::Refresh => cmd::refresh(&wallet, &http),
        Cmd::Login(a) => cmd::login(&wallet, &http, a),
    }
}

/// Opens the wallet in `--dir`: the software key store in `keys/`, the wallet in `wallet/`.
fn open(args: &Args) -> Result<Arc<Wallet>, CliError> {
    let passphrase = secret::passphrase(args.passphrase_file.as_deref())?;
    let text = |sub: &str| {
        args.dir
            .join(sub)
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| CliError::usage(format!("{}: not UTF-8", args.dir.display())))
    };
    let keys = SoftwareKeyStore::open(text("keys")?, passphrase.to_string())?;
    Ok(Wallet::open(text("wallet")?, keys.as_key_store())?)
}

//! `govid-wallet`: a reference wallet for pilots. A thin command line over the wallet library
//! the phone apps call (`govid-ffi`), with its software key store and an HTTP client on ureq:
//! receive IDs over OpenID4VCI, list them, show rotating gate codes as QR codes, answer gate
//! challenges, refresh statuses. See README.md for the commands and exit codes.

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

/// A govid wallet on this computer: receive worker IDs, show gate codes.
#[derive(Parser, Debug)]
#[command(name = "govid-wallet", version, about, long_about = None)]
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
    let wallet = open(&args)?;
    match args.command {
        Cmd::Receive(a) => cmd::receive(&wallet, a),
        Cmd::Trust(t) => cmd::trust(&wallet, t),
        Cmd::List => cmd::list(&wallet),
        Cmd::Show(a) => cmd::show(&wallet, a),
        Cmd::Answer(a) => cmd::answer(&wallet, a),
        Cmd::Refresh => cmd::refresh(&wallet),
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

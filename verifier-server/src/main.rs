//! `govid-verifier`: the gate's verifier.
//!
//! Subcommands are thin layers over `govid-core`; `check` is a stable, scriptable contract.

mod cmd_check;
mod cmd_log;
mod cmd_qr;
mod cmd_resolve;
mod cmd_serve;
mod cmd_status;
mod cmd_witness;
mod fetch;
mod input;
mod serve;
mod witness;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// mimalloc instead of the system allocator: the gate server allocates per request (parsed JSON,
// decoded payloads) and glibc's malloc/free were ~8% of its CPU under load (docs/performance/gate-server.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Verify govid worker IDs: check presentations, read status lists, resolve DIDs, and run the
/// gate's verifier server.
#[derive(Debug, Parser)]
#[command(name = "govid-verifier", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify one presentation read from stdin (compact SD-JWT, JWS JSON, or a scanned `GV1:`
    /// QR payload), or many with --jsonl.
    Check(cmd_check::CheckArgs),
    /// Encode a presentation as a gate QR payload (and PNG/SVG), or decode a scanned one.
    Qr(cmd_qr::QrArgs),
    // No doc comment here: `resolve`'s help text comes from `ResolveArgs`.
    Resolve(cmd_resolve::ResolveArgs),
    /// Check one credential's entry in a Status List Token (statuslist+jwt).
    Status(cmd_status::StatusArgs),
    // No doc comment here: `serve`'s help text comes from `ServeArgs`.
    Serve(Box<cmd_serve::ServeArgs>),
    /// Check an issuer's transparency log: are two checkpoints consistent, or a fork?
    #[command(name = "log")]
    Log(cmd_log::LogArgs),
    // No doc comment here: `witness`'s help text comes from `WitnessArgs`.
    Witness(cmd_witness::WitnessArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => cmd_check::run(args),
        Command::Qr(args) => cmd_qr::run(args),
        Command::Resolve(args) => cmd_resolve::run(args),
        // `run` returns 0, 1 or 2.
        Command::Status(args) => u8::try_from(cmd_status::run(args)).unwrap_or(1),
        Command::Serve(args) => u8::try_from(cmd_serve::run(*args)).unwrap_or(1),
        Command::Log(args) => cmd_log::run(args),
        Command::Witness(args) => cmd_witness::run(args),
    };
    ExitCode::from(code)
}

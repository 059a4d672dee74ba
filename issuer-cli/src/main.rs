//! `govid-issuer`: the HR office's tool for worker IDs.
//!
//! A thin layer over `govid-core`: this crate reads and writes the issuer directory (database,
//! key files, published files); everything cryptographic is core's.

mod audit;
mod bundle;
mod clock;
mod cmd;
use govid_issuer::db;
mod confirm;
mod did;
mod error;
mod fsutil;
mod issuer;
mod keys;
mod output;
mod progress;
mod replay;
mod roster;
mod serve;
mod statuslist;
mod store;
mod tlog;
mod witness;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::CliError;
use crate::output::Report;

/// Issue, suspend and revoke the digital worker IDs of your staff.
///
/// Typical order: init (once) → staff import → offer → enroll → issue → publish.
/// Every command takes --dir (or the GOVID_ISSUER_DIR environment variable): the folder that
/// holds this office's keys and records. Add --json for machine-readable output.
#[derive(Debug, Parser)]
#[command(
    name = "govid-issuer",
    version,
    term_width = 100,
    max_term_width = 100,
    after_help = "Exit status: 0 done, 1 refused or failed (the message says why), 2 wrong usage."
)]
struct Cli {
    // GOVID_ISSUER_DIR is read by `dir_from_env`, not by clap's `env`: clap refuses a set but
    // empty variable even when --dir is given. The help text still names it.
    /// The issuer directory (keys, database, QR codes, credentials).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help = "The issuer directory (keys, database, QR codes, credentials) [env: GOVID_ISSUER_DIR]"
    )]
    dir: Option<PathBuf>,
    /// The issuer database: a postgres:// URL (replicas of `serve` and the CLI on one
    /// database), or a SQLite file; without it, issuer.db in the issuer directory.
    #[arg(
        long,
        global = true,
        value_name = "URL|FILE",
        help = "The issuer database: postgres://… (shared by replicas) or a SQLite file; default \
                DIR/issuer.db [env: GOVID_ISSUER_DB]"
    )]
    db: Option<String>,
    /// Print the result as JSON (one object; errors too) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Set up a new issuer: its signing key, its identifier (DID) and its database.
    Init(InitArgs),
    /// Import and look up staff records.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Make one-time enrollment codes and their QR images for staff phones (one person's code is
    /// printed; --all writes the codes to a CSV file).
    Offer(OfferArgs),
    /// Accept the key proof a staff member's phone made from its enrollment code.
    Enroll(EnrollArgs),
    /// Issue worker IDs (each with its gate pass) to enrolled staff.
    Issue(IssueArgs),
    /// Revoke all worker IDs of a staff member, for good (leaving, lost phone...).
    Revoke(RevokeArgs),
    /// Suspend all worker IDs of a staff member until reinstated.
    Suspend(SuspendArgs),
    /// Lift a suspension.
    Reinstate(StaffRef),
    /// Write the files to put on the web server: status lists, DID document, keys, trust bundle.
    Publish(PublishArgs),
    /// Replace the signing key (the old one stays published so issued IDs keep working).
    RotateKey(RotateArgs),
    /// Check the tamper-evident record of every change.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check the transparency log of keys, DID documents, status lists and trust bundles.
    #[command(subcommand)]
    Log(LogCommand),
    /// Run the OpenID4VCI issuer service: phones redeem `offer`'s codes and receive their IDs.
    Serve(ServeArgs),
    /// Developer tools (synthetic data for tests and benchmarks).
    #[command(subcommand, hide = true)]
    Dev(DevCommand),
}

/// Signature algorithm of the issuer key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AlgArg {
    /// Ed25519 (recommended: small and fast).
    #[value(name = "EdDSA")]
    EdDsa,
    /// ECDSA P-256.
    #[value(name = "ES256")]
    Es256,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("identifier").required(true).args(["did_web", "did_key"])))]
struct InitArgs {
    /// The issuing office's name, e.g. "Ministry of Transport HR Office".
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Identify the issuer by your web server: host name, optionally with a path
    /// (e.g. hr.ministry.example or ministry.example/hr). The DID document must then be served there.
    #[arg(long, value_name = "HOST[/PATH]")]
    did_web: Option<String>,
    /// Identify the issuer by its key alone (did:key): no web hosting needed, but the key can never
    /// be rotated. Requires --status-base-url.
    #[arg(long)]
    did_key: bool,
    /// Signature algorithm.
    #[arg(long, value_enum, default_value = "EdDSA")]
    alg: AlgArg,
    /// Where the status lists will be published; list 1 is <URL>/1.
    /// Default for --did-web: https://<host>/status.
    #[arg(long, value_name = "URL")]
    status_base_url: Option<String>,
    /// Entries per status list (a new list is started when one is full).
    #[arg(long, value_name = "N", default_value_t = 131_072, hide = true)]
    list_capacity: u32,
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Import or update staff from a CSV roster (see README for the columns).
    Import(ImportArgs),
    /// List all staff with their enrollment and ID status.
    List,
    /// Show one staff member's record, enrollment and issued IDs.
    Show(StaffRef),
}

#[derive(Debug, Args)]
#[command(after_help = import_after_help())]
struct ImportArgs {
    /// The roster CSV file (UTF-8, header row required).
    #[arg(value_name = "ROSTER.CSV")]
    file: PathBuf,
    /// Import the valid rows even if some rows are bad (bad rows are still listed).
    #[arg(long)]
    skip_invalid: bool,
    /// Acknowledge that the active staff this roster no longer lists stay: they are not listed
    /// again (the audit log records it) unless they return to the roster and leave again.
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Args)]
struct StaffRef {
    /// Employee number.
    #[arg(value_name = "EMPLOYEE_NUMBER")]
    employee_number: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["employee_number", "all"])))]
struct OfferArgs {
    /// Employee number of the staff member.
    #[arg(value_name = "EMPLOYEE_NUMBER")]
    employee_number: Option<String>,
    /// Everyone who has not enrolled a phone yet.
    #[arg(long)]
    all: bool,
    /// Days before an unused code expires.
    #[arg(long, alias = "offer-days", value_name = "DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    expires_days: u32,
    /// Folder for the QR images (default: <DIR>/offers).
    #[arg(long, value_name = "FOLDER")]
    out: Option<PathBuf>,
    /// The public URL of `govid-issuer serve`, for the OpenID4VCI offer (default: the one
    /// `serve` last ran with).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Write the codes to this new CSV file (created readable only by you). Default with --all:
    /// codes-<time>.csv in the QR folder; one person's code is printed.
    #[arg(long, value_name = "FILE")]
    codes_file: Option<PathBuf>,
    /// With --all: print the codes on the screen instead of writing them to a file.
    #[arg(long, conflicts_with = "codes_file")]
    print_codes: bool,
    /// With --all: cancel the unused codes people still hold and make new ones (a code for one
    /// person always replaces their unused one).
    #[arg(long)]
    replace: bool,
    /// Leave out whoever still holds an unused, unexpired code.
    #[arg(long, conflicts_with = "replace")]
    skip_live: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (127.0.0.1:0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: std::net::SocketAddr,
    /// The Credential Issuer URL wallets use (https://…; your reverse proxy forwards to ADDR).
    #[arg(long, value_name = "URL")]
    public_url: String,
    /// Refuse token requests without a DPoP proof (every access token is then key-bound).
    #[arg(long)]
    require_dpop: bool,
    /// Requests per second per client address (PIN guessing, floods); bursts of four times
    /// that. 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 5)]
    rate_limit: u32,
    /// A reverse proxy in front of the service (repeatable): requests from it are counted
    /// against the last address in its X-Forwarded-For header, not against the proxy.
    #[arg(long, value_name = "IP")]
    trusted_proxy: Vec<std::net::IpAddr>,
}

#[derive(Debug, Args)]
struct EnrollArgs {
    /// The key proof file the phone produced (or - to read it from standard input).
    #[arg(long, value_name = "FILE")]
    proof: PathBuf,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["employee_number", "all"])))]
struct IssueArgs {
    /// Employee number of the staff member.
    #[arg(value_name = "EMPLOYEE_NUMBER")]
    employee_number: Option<String>,
    /// Every enrolled staff member who has no current ID yet.
    #[arg(long)]
    all: bool,
    /// Folder for the ID files (default: <DIR>/credentials): <employee_number>.sd-jwt, the worker
    /// ID, and <employee_number>.gate-pass.sd-jwt, the gate pass shown at building gates.
    #[arg(long, value_name = "FOLDER")]
    out: Option<PathBuf>,
    /// Write one JSON line per ID (with its gate pass) to standard output instead of files
    /// (with --out: to <FOLDER>/credentials.jsonl).
    #[arg(long)]
    jsonl: bool,
    /// Issue a new ID even to staff who already have a current one (the old one is revoked).
    #[arg(long)]
    reissue: bool,
    /// Longest validity of an ID in days (it also ends at the roster's valid_until).
    #[arg(long, value_name = "DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=1830))]
    max_days: u32,
    /// IDs per database transaction.
    #[arg(long, value_name = "N", default_value_t = 10_000, hide = true)]
    batch: usize,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    /// Employee number of the staff member.
    #[arg(value_name = "EMPLOYEE_NUMBER")]
    employee_number: String,
    /// Why (kept in the audit log), e.g. "left the ministry" or "phone lost".
    #[arg(long, value_name = "REASON")]
    reason: String,
    /// Do not ask for confirmation (it is asked only on a terminal).
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Args)]
struct SuspendArgs {
    /// Employee number of the staff member.
    #[arg(value_name = "EMPLOYEE_NUMBER")]
    employee_number: String,
    /// Why (kept in the audit log).
    #[arg(long, value_name = "REASON")]
    reason: Option<String>,
    /// Do not ask for confirmation (it is asked only on a terminal).
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Args)]
struct RotateArgs {
    /// Do not ask for confirmation (it is asked only on a terminal).
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Args)]
struct PublishArgs {
    /// Folder to write the web server's files into (its layout mirrors the URLs).
    #[arg(long, value_name = "FOLDER")]
    out: PathBuf,
    /// Days the published status lists stay valid; publish again before then.
    #[arg(long, value_name = "DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    valid_days: u32,
    /// Hours after this publish during which offline gates may rely on the trust bundle's status
    /// lists; after that they treat every ID's status as unknown (deny). Publish more often.
    #[arg(long, value_name = "HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=2160))]
    max_staleness_hours: u32,
    /// A transparency log witness to cosign the new checkpoint (its add-checkpoint URL prefix,
    /// repeatable). Needs --witness-key. The published checkpoint and .tlog-proof files carry
    /// the cosignatures; with fewer than --min-cosignatures, the files are still written and
    /// publish exits 1 (too_few_cosignatures).
    #[arg(long, value_name = "URL")]
    witness: Vec<String>,
    /// A witness's public key (`<name>+<id>+<key>`, as `govid-verifier witness` prints it) or
    /// a file holding it (repeatable). Only cosignatures by these keys are kept.
    #[arg(long, value_name = "VKEY|FILE")]
    witness_key: Vec<String>,
    /// How many distinct witnesses must cosign (default: every --witness-key).
    #[arg(long, value_name = "K")]
    min_cosignatures: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Prove the audit log intact and issuer.db matching it, or name what was altered (exit 1).
    Verify,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Rebuild the log from issuer.db and check the last checkpoint and, with --out, every
    /// published log file; names the first difference (exit 1).
    Verify {
        /// The folder `publish --out` wrote (checks OUT/log/checkpoint and every tile).
        #[arg(long, value_name = "FOLDER")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Write a synthetic roster of N staff.
    Synth {
        /// Number of staff.
        #[arg(long)]
        count: usize,
        /// The CSV file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Enroll every unenrolled staff member with a fresh software phone key, through the real
    /// offer → key proof → enroll path.
    EnrollAll,
}

/// The end of `staff import --help`: the header row the importer requires.
fn import_after_help() -> String {
    format!(
        "The roster's first line must be exactly this header (copy it):\n\n{}\n\n\
         Required: employee_number, family_name, given_name, organization_name, organization_code, \
         valid_until. Dates are YYYY-MM-DD; access_zones are separated by ';'. Example rows: \
         testdata/roster/sample-20.csv and the README.",
        roster::HEADER.join(",")
    )
}

/// `GOVID_ISSUER_DIR`, if set and not empty (`GOVID_ISSUER_DIR=` counts as unset).
fn dir_from_env() -> Option<PathBuf> {
    std::env::var_os("GOVID_ISSUER_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn run(cli: Cli) -> Result<Report, CliError> {
    let dir = || {
        cli.dir.clone().or_else(dir_from_env).ok_or_else(|| {
            CliError::usage("no issuer directory: pass --dir DIR or set GOVID_ISSUER_DIR")
        })
    };
    let json = cli.json;
    store::set_db_setting(cli.db.clone());
    match cli.command {
        Command::Init(a) => cmd::init::run(
            &dir()?,
            &cmd::init::InitOptions {
                name: a.name,
                did_web: a.did_web,
                alg: match a.alg {
                    AlgArg::EdDsa => govid_core::jose::Algorithm::EdDSA,
                    AlgArg::Es256 => govid_core::jose::Algorithm::ES256,
                },
                status_base_url: a.status_base_url,
                list_capacity: a.list_capacity,
            },
        ),
        Command::Staff(StaffCommand::Import(a)) => {
            cmd::staff::import(&dir()?, &a.file, a.skip_invalid, a.keep)
        }
        Command::Staff(StaffCommand::List) => cmd::staff::list(&dir()?),
        Command::Staff(StaffCommand::Show(a)) => cmd::staff::show(&dir()?, &a.employee_number),
        Command::Offer(a) => cmd::offer::run(
            &dir()?,
            &cmd::offer::OfferOptions {
                employee_number: a.employee_number,
                expires_days: a.expires_days,
                out: a.out,
                codes_file: a.codes_file,
                print_codes: a.print_codes,
                replace: a.replace,
                skip_live: a.skip_live,
                json,
                public_url: a.public_url,
            },
        ),
        Command::Enroll(a) => cmd::enroll::run(&dir()?, &a.proof),
        Command::Issue(a) => cmd::issue::run(
            &dir()?,
            &cmd::issue::IssueOptions {
                employee_number: a.employee_number,
                out: a.out,
                jsonl: a.jsonl,
                reissue: a.reissue,
                max_days: a.max_days,
                batch: a.batch.clamp(1, 100_000),
                quiet: json,
                results: json,
            },
        ),
        Command::Revoke(a) => cmd::status::revoke(&dir()?, &a.employee_number, &a.reason, a.yes),
        Command::Suspend(a) => {
            cmd::status::suspend(&dir()?, &a.employee_number, a.reason.as_deref(), a.yes)
        }
        Command::Reinstate(a) => cmd::status::reinstate(&dir()?, &a.employee_number),
        Command::Publish(a) => {
            let witnesses = witness::from_args(a.witness, &a.witness_key, a.min_cosignatures)?;
            cmd::publish::run(
                &dir()?,
                &a.out,
                a.valid_days,
                a.max_staleness_hours,
                witnesses.as_ref(),
            )
        }
        Command::RotateKey(a) => cmd::rotate::run(&dir()?, a.yes),
        Command::Audit(AuditCommand::Verify) => cmd::audit::verify(&dir()?),
        Command::Log(LogCommand::Verify { out }) => cmd::log::verify(&dir()?, out.as_deref()),
        Command::Serve(a) => serve::run(
            &dir()?,
            a.listen,
            &a.public_url,
            a.require_dpop,
            serve::ClientLimits {
                per_sec: a.rate_limit,
                trusted_proxies: a.trusted_proxy,
            },
        ),
        Command::Dev(DevCommand::Synth { count, out }) => cmd::dev::synth(count, &out),
        Command::Dev(DevCommand::EnrollAll) => cmd::dev::enroll_all(&dir()?),
    }
}

/// `--json` among the arguments (before a `--`), for errors clap reports before it parsed them.
fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(output::usage_error(&e, json_requested())),
    };
    let json = cli.json;
    match run(cli) {
        Ok(report) => {
            report.print(json);
            ExitCode::SUCCESS
        }
        Err(e) => {
            output::print_error(&e, json);
            ExitCode::from(e.exit)
        }
    }
}

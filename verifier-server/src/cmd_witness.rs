//! `govid-verifier witness`: run a transparency log witness (c2sp.org/tlog-witness) for the
//! issuers' logs given with `--log-key`, cosigning their checkpoints (c2sp.org/tlog-cosignature,
//! Ed25519 cosignature/v1). See [`crate::witness`].
//!
//! The witness key file (`--key`) holds `govid-witness-key/v1`, the witness name and the base64
//! Ed25519 seed, one per line. It is made (mode 0600) when missing, which needs `--name`; one
//! readable by group or others is refused. The key is never printed; its vkey is, on stdout
//! (`vkey <name>+<id>+<key>`), for HR and the gates to pin.
//!
//! Exit codes: 0 stopped (Ctrl-C or SIGTERM), or the key made/shown without `--listen`;
//! 2 usage, a bad key file, log key or state folder, or an address that cannot be bound.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use govid_core::tlog::{LogKey, WitnessSigner};
use rand_core::{OsRng, RngCore as _};

use crate::serve::listen::{self, Limits};
use crate::witness::state::WitnessState;
use crate::witness::{self, Witness};

const KEY_HEADER: &str = "govid-witness-key/v1";

/// Run a transparency log witness: cosign an issuer's checkpoints that are consistent with the
/// last one cosigned, refuse rollbacks and forks (and keep both notes as evidence).
///
/// HTTP API (c2sp.org/tlog-witness): POST /add-checkpoint, GET /<sha256(origin)>/checkpoint.
/// Prints `vkey <witness vkey>`, then `listening on ADDR` once bound.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct WitnessArgs {
    /// The witness key file; made (0600) if missing, which needs --name.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The witness's name (a schema-less URL, e.g. witness.hr.example/w1), for a new key.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// A log to witness: its verifier key (`<origin>+<id>+<key>`, as in log/log.vkey) or a file
    /// holding it (repeatable).
    #[arg(long, value_name = "VKEY|FILE")]
    log_key: Vec<String>,
    /// The state folder: the last cosigned checkpoint of each log, and evidence/.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Address to listen on (IP:PORT; port 0 picks a free one). Without it, the key is made or
    /// read, its vkey printed, and the command exits.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

/// Runs the subcommand; returns the exit code.
pub(crate) fn run(args: WitnessArgs) -> u8 {
    match start(args) {
        Ok(()) => 0,
        Err(line) => {
            eprintln!("error: {line}");
            2
        }
    }
}

fn start(args: WitnessArgs) -> Result<(), String> {
    let signer = load_or_make_key(&args.key, args.name.as_deref())?;
    println!("vkey {}", signer.verifier_key());
    let Some(listen) = args.listen else {
        return Ok(());
    };
    let state_dir = args.state.ok_or("--listen needs --state DIR")?;
    if args.log_key.is_empty() {
        return Err("--listen needs at least one --log-key".to_owned());
    }
    let logs = args
        .log_key
        .iter()
        .map(|a| read_log_key(a))
        .collect::<Result<Vec<_>, _>>()?;
    let state = WitnessState::open(&state_dir)
        .map_err(|e| format!("cannot open the state folder {}: {e}", state_dir.display()))?;
    let witness = Arc::new(Witness {
        logs,
        signer,
        state: Mutex::new(state),
    });
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        let limits = Limits {
            max_connections: 64,
            max_connections_per_client: 16,
            header_read_timeout: Duration::from_secs(10),
        };
        listen::serve(
            listener,
            witness::router(witness),
            limits,
            None,
            shutdown_signal(),
        )
        .await;
        Ok(())
    })
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn read_log_key(arg: &str) -> Result<LogKey, String> {
    let text = if arg.contains('+') {
        arg.to_owned()
    } else {
        fs::read_to_string(arg).map_err(|e| format!("cannot read the log key {arg}: {e}"))?
    };
    LogKey::parse(&text).map_err(|e| format!("--log-key {arg}: {e}"))
}

fn load_or_make_key(path: &Path, name: Option<&str>) -> Result<WitnessSigner, String> {
    let shown = path.display();
    match fs::metadata(path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(format!(
                    "the witness key file {shown} is readable by others; chmod 600 it"
                ));
            }
            let text = fs::read_to_string(path)
                .map_err(|e| format!("cannot read the witness key file {shown}: {e}"))?;
            let bad = || format!("{shown} is not a govid witness key file");
            let mut lines = text.lines();
            if lines.next() != Some(KEY_HEADER) {
                return Err(bad());
            }
            let file_name = lines.next().ok_or_else(bad)?;
            if name.is_some_and(|n| n != file_name) {
                return Err(format!("the witness key file {shown} is for {file_name}"));
            }
            let seed: [u8; 32] = lines
                .next()
                .and_then(|b| STANDARD.decode(b).ok())
                .and_then(|s| s.try_into().ok())
                .ok_or_else(bad)?;
            WitnessSigner::from_seed(file_name, &seed).map_err(|_| bad())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = name.ok_or("a new witness key needs --name (e.g. witness.hr.example/w1)")?;
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let signer = WitnessSigner::from_seed(name, &seed)
                .map_err(|_| format!("--name {name:?} is not a valid key name (no spaces or +)"))?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("cannot create the witness key file {shown}: {e}"))?;
            let body = format!("{KEY_HEADER}\n{name}\n{}\n", STANDARD.encode(seed));
            file.write_all(body.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("cannot write the witness key file {shown}: {e}"))?;
            Ok(signer)
        }
        Err(e) => Err(format!("cannot read the witness key file {shown}: {e}")),
    }
}

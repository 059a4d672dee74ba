//! `govid-verifier serve`: run the gate's verifier server.
//!
//! Starts from flags alone (`--listen (--trust-jwk | --trust-did | --trust-bundle
//! --operator-jwk) --aud [--require-claims] [--profile] [--log-db]`) or from `--config gate.toml` (see `examples/gate.toml`); flags override the file.

use std::path::PathBuf;

use crate::serve::config::{self, FileConfig, GateConfig, PinnedJwk, TrustedDid};

/// Run the gate's verifier server
///
/// HTTP API: POST /v1/verify (scanned `GV1:` text or a compact presentation, as text/plain or
/// JSON {"payload": …}), POST /v1/challenge, GET /healthz, GET /metrics, and the scanning page at
/// /. Admin routes (POST /admin/reload, GET /admin/entries) need a bearer token from the config
/// or GOVID_ADMIN_TOKEN; without one they do not exist.
///
/// Prints `listening on ADDR` on stdout once bound; logs go to stderr. Stops on Ctrl-C or
/// SIGTERM after finishing requests in flight and committing the gate log.
#[derive(Clone, Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ServeArgs {
    /// TOML config file; flags below override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (IP:PORT; port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Serve HTTPS with the PEM certificate chain in FILE (the gate's certificate first).
    /// Needs --tls-key; replaces `[server] tls_cert`. Read at start only.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, RSA or SEC1, unencrypted) of --tls-cert. Needs
    /// --tls-cert; replaces `[server] tls_key`. Read at start only.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Trust the issuer public key(s) in FILE (repeatable): a JWK, or a JWK Set whose keys may
    /// carry an `iss` member naming the issuer each signs for. ISS=FILE trusts them for the
    /// issuer ISS only. A credential without a `kid` is checked against each key that may sign
    /// for its `iss` (at most 8; more are refused as unknown_issuer_key).
    #[arg(long, value_name = "[ISS=]FILE")]
    trust_jwk: Vec<String>,
    /// Trust the issuers of the offline trust bundle in FILE (HR's `trust-bundle.jwt`: issuer
    /// keys, status lists and their staleness limit, signed by the operator). Needs
    /// --operator-jwk; replaces `[trust] bundle`.
    #[arg(long, value_name = "FILE")]
    trust_bundle: Option<PathBuf>,
    /// The operator's public key (a JWK file, HR's `operator.jwk`, pinned out of band) that
    /// must have signed --trust-bundle. Needs --trust-bundle; replaces
    /// `[trust] bundle_operator_jwk`.
    #[arg(long, value_name = "FILE")]
    operator_jwk: Option<PathBuf>,
    /// Trust this issuer DID (did:web, did:key, did:jwk; repeatable).
    #[arg(long, value_name = "DID")]
    trust_did: Vec<String>,
    /// The gate's audience: the KB-JWT `aud` codes must carry.
    #[arg(long, value_name = "AUD")]
    aud: Option<String>,
    /// The gate's id in logs and metrics.
    #[arg(long, value_name = "ID")]
    gate_id: Option<String>,
    /// Gate profile: entry, counter or custom.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Claims the gate requires besides the profile's, comma separated (slash paths).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    require_claims: Vec<String>,
    /// Which codes: rotating, challenge or any.
    #[arg(long, value_name = "MODE")]
    mode: Option<String>,
    /// SQLite gate log file (WAL); without it, only the last 1000 decisions are kept in memory.
    #[arg(long, value_name = "FILE")]
    log_db: Option<PathBuf>,
    /// Where replay keys and the gate log live: `postgres://…` for a fleet of gates sharing one
    /// database, or a SQLite file (as --log-db). Prefer `[store] url` in the config file (or
    /// this flag's environment variable) when the URL holds a password.
    #[arg(
        long,
        value_name = "URL",
        env = "GOVID_STORE_URL",
        hide_env_values = true
    )]
    store: Option<String>,
    /// What to do when no fresh status list states a credential's status: deny (default) or
    /// allow. A credential without a `status` claim is --require-status's case, not this one.
    #[arg(long, value_name = "ACTION")]
    unknown_status: Option<String>,
    /// Whether a credential must carry a `status` claim: true (default; one without is denied
    /// `status_claim_missing`) or false (allowed, with credential_status "none").
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    require_status: Option<bool>,
    /// Status list to fetch and keep fresh (repeatable).
    #[arg(long, value_name = "URI")]
    status_list: Vec<String>,
    /// Seconds between status list and DID document refreshes.
    #[arg(long, value_name = "SECS")]
    status_refresh: Option<u64>,
    /// Seconds after its `iat` a status list may still be relied on.
    #[arg(long, value_name = "SECS")]
    max_staleness: Option<u64>,
    /// Seconds a rotating code is accepted and remembered by the replay cache.
    #[arg(long, value_name = "SECS")]
    replay_window: Option<u64>,
    /// Requests per second per client IP (0: no limit).
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Runtime worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Service log level: error, warn, info, debug.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: String,
    /// Accept the configured trust bundle even if its seq is below the highest one this gate
    /// accepted before (recorded in the bundle state file). Only for a deliberate rollback: an
    /// older bundle may trust keys or credentials revoked since.
    #[arg(long)]
    accept_bundle_rollback: bool,
}

/// Reads the config file (if any) and applies the flags and `GOVID_ADMIN_TOKEN`.
fn load(args: &ServeArgs) -> Result<GateConfig, String> {
    let mut file = match &args.config {
        Some(path) => config::read_file(path)?,
        None => FileConfig::default(),
    };
    let set = |slot: &mut Option<String>, value: &Option<String>| {
        if value.is_some() {
            slot.clone_from(value);
        }
    };
    set(&mut file.server.listen, &args.listen);
    if let Some(cert) = &args.tls_cert {
        file.server.tls_cert = Some(cert.clone());
    }
    if let Some(key) = &args.tls_key {
        file.server.tls_key = Some(key.clone());
    }
    set(&mut file.gate.audience, &args.aud);
    set(&mut file.gate.id, &args.gate_id);
    set(&mut file.gate.profile, &args.profile);
    set(&mut file.gate.mode, &args.mode);
    set(&mut file.gate.unknown_status, &args.unknown_status);
    if args.require_status.is_some() {
        file.gate.require_status = args.require_status;
    }
    if !args.require_claims.is_empty() {
        file.gate.require_claims = Some(args.require_claims.clone());
    }
    file.trust.jwks.extend(args.trust_jwk.iter().map(|arg| {
        let (iss, file) = crate::input::split_issuer(arg);
        PinnedJwk {
            file: PathBuf::from(file),
            iss: iss.map(str::to_owned),
        }
    }));
    match (&args.trust_bundle, &args.operator_jwk) {
        (Some(bundle), Some(operator)) => {
            file.trust.bundle = Some(bundle.clone());
            file.trust.bundle_operator_jwk = Some(operator.clone());
        }
        (None, None) => {}
        _ => {
            return Err("--trust-bundle and --operator-jwk go together: the bundle is only                         trusted as signed by the operator's pinned key"
                .to_owned())
        }
    }
    file.trust
        .dids
        .extend(args.trust_did.iter().map(|did| TrustedDid {
            did: did.clone(),
            document_url: None,
        }));
    if let Some(db) = &args.log_db {
        file.log.db = Some(db.clone());
    }
    if let Some(url) = &args.store {
        file.store.url = Some(url.clone());
    }
    if !args.status_list.is_empty() {
        file.status
            .lists
            .get_or_insert_with(Vec::new)
            .extend(args.status_list.iter().cloned());
    }
    if args.status_refresh.is_some() {
        file.status.refresh_secs = args.status_refresh;
    }
    if args.max_staleness.is_some() {
        file.status.max_staleness_secs = args.max_staleness;
    }
    if args.replay_window.is_some() {
        file.gate.replay_window_secs = args.replay_window;
    }
    if args.rate_limit.is_some() {
        file.server.rate_limit_per_sec = args.rate_limit;
    }
    if args.workers.is_some() {
        file.server.workers = args.workers;
    }
    if let Ok(token) = std::env::var("GOVID_ADMIN_TOKEN") {
        if !token.is_empty() {
            file.server.admin_token = Some(token);
        }
    }
    let mut config = GateConfig::from_file(file)?;
    config.accept_bundle_rollback = args.accept_bundle_rollback;
    Ok(config)
}

/// Runs `serve`; returns the exit status (0 after a clean shutdown, 1 on a runtime error, 2 for
/// a bad config).
pub(crate) fn run(args: ServeArgs) -> i32 {
    let level = match args.log_level.as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let config = match load(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("govid-verifier serve: {e}");
            return 2;
        }
    };
    // Read once: a reload does not change them.
    let tls = match config.tls.as_ref().map(crate::serve::listen::Tls::load) {
        None => None,
        Some(Ok(tls)) => Some(tls),
        Some(Err(e)) => {
            eprintln!("govid-verifier serve: {e}");
            return 2;
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("govid-gate");
    if config.workers > 0 {
        builder.worker_threads(config.workers);
    }
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("govid-verifier serve: cannot start the runtime: {e}");
            return 1;
        }
    };
    let reload_args = args.clone();
    let reloader = Box::new(move || load(&reload_args));
    match runtime.block_on(crate::serve::run(config, tls, reloader)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("govid-verifier serve: {e}");
            1
        }
    }
}

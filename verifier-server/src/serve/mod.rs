//! `govid-verifier serve`: the gate's verifier as an HTTP server (axum on tokio).
//!
//! - [`config`]: the TOML file and flags, checked into a `GateConfig`;
//! - [`trust`], [`cache`], [`refresh`]: issuer trust (pinned JWKs, DIDs, a trust bundle) and the
//!   background fetching of did:web documents and status lists into an in-memory cache;
//! - [`decide`]: the decision itself (no I/O); [`challenge`]: challenge mode's nonces;
//! - [`http`], [`admin`], [`page`]: the routes; [`listen`]: the accept loop (header timeout,
//!   connection cap, graceful shutdown); `govid_core::ratelimit`, [`metrics`], [`gatelog`]: the per-client
//!   limit, Prometheus text and the SQLite gate log; [`transparency`]: `[trust.log]`, inclusion
//!   proofs and witness cosignatures for status lists and the trust bundle; [`store`]: the
//!   storage a fleet of gates shares (PostgreSQL).

pub(crate) mod admin;
pub(crate) mod cache;
pub(crate) mod challenge;
pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod decide;
pub(crate) mod gatelog;
pub(crate) mod http;
pub(crate) mod listen;
pub(crate) mod login;
pub(crate) mod metrics;
pub(crate) mod page;
pub(crate) mod refresh;
pub(crate) mod store;
pub(crate) mod transparency;
pub(crate) mod trust;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use govid_core::credential::gate_policy;
use govid_core::jose::{SignatureCache, SignatureVerifier, VerifyEverySignature};
use govid_core::replay::{ReplayCache, FUTURE_SKEW_SECS};
use govid_core::sdjwt::{HolderKeyCache, KbWindow, VerifyPolicy};

use self::cache::Cache;
use self::challenge::Challenges;
use self::config::GateConfig;
use self::gatelog::{GateLog, Salt};
use self::metrics::Metrics;
use self::store::{PgStore, ReplayStore};
use self::trust::GateTrust;
use govid_core::ratelimit::RateLimiter;

/// Most decoded holder keys remembered (≈ 300 bytes each): the holders a gate sees again.
const HOLDER_KEY_CACHE: usize = 16_384;

/// A random URL-safe value of `bytes` bytes (challenge nonces, login ids, codes, tokens).
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut buf);
    govid_core::b64::encode(buf)
}

/// Compares two secrets (tokens, client secrets) in constant time: their SHA-256 digests,
/// so not even the length leaks.
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    use sha2::Digest as _;
    use subtle::ConstantTimeEq as _;
    let a: [u8; 32] = sha2::Sha256::digest(a.as_bytes()).into();
    let b: [u8; 32] = sha2::Sha256::digest(b.as_bytes()).into();
    a.ct_eq(&b).into()
}

/// What a config reload replaces: the config, trust and the policy built from them.
pub(crate) struct Gate {
    pub(crate) config: GateConfig,
    pub(crate) trust: GateTrust,
    /// The gate policy for rotating codes (no nonce); challenge mode sets the nonce.
    pub(crate) policy: VerifyPolicy,
}

impl Gate {
    /// `accept_rollback`: accept an older trust bundle than the highest one recorded (at start,
    /// when the operator asked for it; never on a reload).
    pub(crate) fn new(
        config: GateConfig,
        cache: &Arc<Cache>,
        last_seq: Option<u64>,
        accept_rollback: bool,
    ) -> Result<Self, String> {
        let trust = GateTrust::load(&config.trust, cache, last_seq, accept_rollback)?;
        let mut policy = gate_policy(&config.audience, None, &config.profile);
        // The gate's own list of credential types replaces `gate_policy`'s (the worker ID and the
        // gate pass).
        policy.accepted_vcts = Some(config.accepted_vct.clone());
        // The KB-JWT `iat` window is the replay window, so every KB-JWT that verifies is one the
        // replay cache can still remember.
        policy.kb_window = KbWindow {
            max_age: config.replay_window_secs,
            max_future: FUTURE_SKEW_SECS,
        };
        Ok(Self {
            config,
            trust,
            policy,
        })
    }
}

/// How the config is read again on `POST /admin/reload`.
pub(crate) type Reloader = Box<dyn Fn() -> Result<GateConfig, String> + Send + Sync>;

/// Everything the handlers share.
pub(crate) struct AppState {
    gate: RwLock<Arc<Gate>>,
    pub(crate) cache: Arc<Cache>,
    pub(crate) replay: Mutex<ReplayCache>,
    pub(crate) holder_keys: HolderKeyCache,
    /// Issuer signatures that verified ([`SignatureCache`]), or [`VerifyEverySignature`] when
    /// `signature_cache_entries = 0`.
    pub(crate) issuer_signatures: Box<dyn SignatureVerifier>,
    pub(crate) challenges: Challenges,
    pub(crate) metrics: Metrics,
    pub(crate) log: GateLog,
    /// The fleet's replay store (nothing for a single gate on SQLite).
    pub(crate) fleet: ReplayStore,
    pub(crate) salt: Salt,
    pub(crate) limiter: RateLimiter,
    pub(crate) refresh_now: tokio::sync::Notify,
    pub(crate) reloader: Reloader,
    pub(crate) started: Instant,
    /// `[login]`: the login service's requests, codes and tokens (its config is read at start).
    pub(crate) login: Option<login::Logins>,
}

impl AppState {
    /// The current gate (config, trust, policy).
    pub(crate) fn gate(&self) -> Arc<Gate> {
        self.gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// What a decision reads and updates besides the gate (caches, replay, challenges, salt).
    pub(crate) fn decision_context(&self) -> decide::Context<'_> {
        decide::Context {
            cache: &self.cache,
            replay: &self.replay,
            holder_keys: &self.holder_keys,
            issuer_signatures: self.issuer_signatures.as_ref(),
            challenges: &self.challenges,
            salt: &self.salt,
            refresh_now: &self.refresh_now,
        }
    }

    /// Reads the config again and swaps in the new gate. Listen address, TLS certificate and
    /// key, log database, salt, replay window and rate limits need a restart; everything else
    /// applies at once.
    pub(crate) fn reload(&self) -> Result<(), String> {
        let config = (self.reloader)()?;
        let current = self.gate();
        if config.tls != current.config.tls {
            tracing::warn!(
                "tls_cert or tls_key changed: the gate keeps the certificate and key it started \
                 with until it is restarted"
            );
        }
        let last_seq = current.trust.bundle.as_ref().map(|b| b.seq());
        drop(current);
        let gate = Gate::new(config, &self.cache, last_seq, false)?;
        log_warnings(&gate.config);
        *self
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(gate);
        self.refresh_now.notify_one();
        Ok(())
    }
}

/// Logs each of the config's [`config::Warning`]s (codes and text, never a secret).
fn log_warnings(config: &GateConfig) {
    for warning in config.warnings() {
        tracing::warn!(code = warning.code(), "{}", warning.message());
    }
}

/// The gate log's writer, waited for at shutdown so that it drains.
pub(crate) enum Writer {
    /// The SQLite writer thread.
    Thread(std::thread::JoinHandle<()>),
    /// A fleet gate's spool writer thread, then its delivery task.
    Fleet(std::thread::JoinHandle<()>, tokio::task::JoinHandle<()>),
}

/// Opens the fleet store when one is configured: a pool, the migrations and the fleet's
/// unexpired replay keys. An unreachable database does not stop the gate: it starts degraded,
/// refusing codes made before it started (`code_before_restart`) as a gate without a log does.
pub(crate) async fn open_fleet(
    config: &GateConfig,
) -> Result<Option<(Arc<PgStore>, Option<gatelog::Remembered>)>, String> {
    let Some(url) = &config.fleet else {
        return Ok(None);
    };
    let pg = Arc::new(PgStore::new(url, config.store_timeout)?);
    let remembered = match pg.start(crate::input::system_now()).await {
        Ok(remembered) => {
            tracing::info!(
                keys = remembered.keys.len(),
                "fleet store: PostgreSQL reachable; replay keys loaded"
            );
            Some(remembered)
        }
        Err(e) if e.contains("upgrade the gate") => return Err(e),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "fleet store unreachable at start: deciding with this gate's replay cache only \
                 (fleet_check degraded)"
            );
            None
        }
    };
    Ok(Some((pg, remembered)))
}

/// Builds the shared state (opening the gate log); the writer's handle comes back so the
/// caller can wait for it to drain at shutdown. `fleet`: what [`open_fleet`] returned.
pub(crate) fn build_state(
    config: GateConfig,
    reloader: Reloader,
    fleet: Option<(Arc<PgStore>, Option<gatelog::Remembered>)>,
) -> Result<(Arc<AppState>, Option<Writer>), String> {
    let cache = Arc::new(Cache::default());
    let (log, writer, salt, remembered, fleet) = match (&config.log_db, fleet) {
        (_, Some((pg, remembered))) => {
            if config.log_db.is_some() {
                tracing::warn!(
                    "[log] db is not used with a PostgreSQL store: the gate log is the fleet's"
                );
            }
            let path = config
                .spool
                .as_deref()
                .ok_or("a fleet gate needs a spool file ([store] spool)")?;
            let salt = match &config.salt_file {
                Some(salt) => Salt::load_or_create(salt)?,
                // Beside the spool, as a SQLite gate's is beside its log: the gate's credential
                // hashes stay comparable across its restarts.
                None => Salt::load_or_create(&path.with_extension("salt"))?,
            };
            let (spool, spooled_keys) =
                store::spool::Spool::open(path, crate::input::system_now())?;
            // Codes this gate let in while degraded and has not delivered yet stay refused here.
            let remembered = match remembered {
                Some(mut r) => {
                    r.keys.extend(spooled_keys);
                    r
                }
                None => gatelog::Remembered {
                    keys: spooled_keys,
                    complete: false,
                },
            };
            let (log, thread, task) =
                GateLog::postgres(pg.clone(), Arc::new(spool), config.retention_days)?;
            (
                log,
                Some(Writer::Fleet(thread, task)),
                salt,
                Some(remembered),
                ReplayStore::Postgres(pg),
            )
        }
        (Some(db), None) => {
            let salt_path = config
                .salt_file
                .clone()
                .unwrap_or_else(|| db.with_extension("salt"));
            let salt = Salt::load_or_create(&salt_path)?;
            let (log, writer, remembered) =
                GateLog::open(db, config.retention_days, config.commit_before_response)?;
            (
                log,
                Some(Writer::Thread(writer)),
                salt,
                Some(remembered),
                ReplayStore::Local,
            )
        }
        (None, None) => (
            GateLog::memory(),
            None,
            Salt::ephemeral(),
            None,
            ReplayStore::Local,
        ),
    };
    let replay = replay_cache(&config, remembered, crate::input::system_now());
    let challenges = Challenges::new(
        config.max_pending_challenges,
        config.max_pending_challenges_per_client,
    );
    let limiter = RateLimiter::new(config.rate_limit_per_sec, config.rate_limit_burst);
    // Chosen once: the memo, or a full check of every issuer signature (`= 0`).
    let issuer_signatures: Box<dyn SignatureVerifier> = match config.signature_cache_entries {
        0 => Box::new(VerifyEverySignature),
        entries => Box::new(SignatureCache::new(entries)),
    };
    let accept_rollback = config.accept_bundle_rollback;
    let login = config.login.clone().map(login::Logins::new).transpose()?;
    let gate = Gate::new(config, &cache, None, accept_rollback)?;
    let state = AppState {
        gate: RwLock::new(Arc::new(gate)),
        cache,
        replay: Mutex::new(replay),
        holder_keys: HolderKeyCache::new(HOLDER_KEY_CACHE),
        issuer_signatures,
        challenges,
        metrics: Metrics::default(),
        log,
        fleet,
        salt,
        limiter,
        refresh_now: tokio::sync::Notify::new(),
        reloader,
        started: Instant::now(),
        login,
    };
    Ok((Arc::new(state), writer))
}

/// The replay cache at start: the keys the gate log kept, and, unless they are all the previous
/// run accepted, a history starting `now` (codes made before are refused: `code_before_restart`).
fn replay_cache(
    config: &GateConfig,
    remembered: Option<gatelog::Remembered>,
    now: u64,
) -> ReplayCache {
    let (window, max) = (config.replay_window_secs, config.replay_max_entries);
    let remembered = remembered.unwrap_or_default();
    let mut cache = if remembered.complete {
        ReplayCache::new(window, max)
    } else {
        ReplayCache::with_history_from(window, max, now)
    };
    cache.prune(now);
    for (key, expires_at) in remembered.keys {
        cache.remember(key, expires_at);
    }
    if !remembered.complete {
        tracing::info!(
            "replay: codes made before this start are refused (code_before_restart) until they \
             age out of the replay window"
        );
    }
    cache
}

/// Runs the server (HTTPS with `tls`) until Ctrl-C or SIGTERM. Prints `listening on ADDR` on
/// stdout once bound.
pub(crate) async fn run(
    config: GateConfig,
    tls: Option<listen::Tls>,
    reloader: Reloader,
) -> Result<(), String> {
    let listen = config.listen;
    let fleet = open_fleet(&config).await?;
    let (state, writer) = build_state(config, reloader, fleet)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let gate = state.gate();
    tracing::info!(
        addr = %local,
        gate = %gate.config.gate_id,
        profile = gate.config.profile.name(),
        tls = tls.is_some(),
        "govid gate verifier listening"
    );
    match &gate.config.tls {
        Some(files) if tls.is_some() => tracing::info!(
            cert = %files.cert.display(),
            "HTTPS on (TLS 1.2 and 1.3); the certificate and key are read at start only"
        ),
        _ => tracing::info!("HTTPS off: plain HTTP (a browser gives the page a camera only over HTTPS or on localhost)"),
    }
    let stop = shutdown_signal();
    println!("listening on {local}");
    log_warnings(&gate.config);
    drop(gate);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let refresher = tokio::spawn(refresh::run(state.clone(), stop_rx.clone()));
    let pruner = tokio::spawn(prune_hourly(state.clone(), stop_rx.clone()));
    let watcher = tokio::spawn(watch_fleet(state.fleet.clone(), stop_rx));
    // The first fetches start now; the gate answers (status_unknown where a list is missing)
    // while they run.
    let app = http::router(state.clone());
    let limits = listen::Limits::from_config(&state.gate().config);
    listen::serve(listener, app, limits, tls, stop).await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = refresher.await;
    let _ = pruner.await;
    let _ = watcher.await;
    drop(state);
    // Every handler is done, so the channel closes once the last state clone is gone; the
    // writer commits (or delivers) what was queued and ends.
    match writer {
        Some(Writer::Thread(writer)) => {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        Some(Writer::Fleet(thread, task)) => {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            let _ = task.await;
        }
        None => {}
    }
    Ok(())
}

/// With a fleet store: probes a degraded store back to `ok` every [`store::PROBE_EVERY`] and
/// deletes the fleet's expired replay keys every [`store::PRUNE_EVERY`].
async fn watch_fleet(fleet: ReplayStore, mut stop: tokio::sync::watch::Receiver<bool>) {
    let ReplayStore::Postgres(pg) = fleet else {
        return;
    };
    let mut every = tokio::time::interval(store::PROBE_EVERY);
    let mut pruned = Instant::now();
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => return,
        }
        if !pg.health.is_ok() {
            pg.probe().await;
        } else if pruned.elapsed() >= store::PRUNE_EVERY {
            pruned = Instant::now();
            pg.prune(crate::input::system_now()).await;
        }
    }
}

async fn prune_hourly(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = every.tick() => state.log.prune_soon(),
            _ = stop.changed() => return,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when it is
/// first polled, so a signal that arrives just after `listening on` is printed still stops the
/// gate cleanly (draining the gate log) instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match streams {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

//! The gate's configuration: a TOML file (`--config gate.toml`, see `examples/gate.toml`),
//! command-line flags that override it, and the checked [`GateConfig`] the server runs with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use govid_core::credential::{GateProfile, GATE_VCTS};
use govid_core::sdjwt::ClaimPath;
use serde::Deserialize;

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The TOML file, as written. Every field is optional so that flags can supply it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    #[serde(default)]
    pub(crate) gate: GateSection,
    #[serde(default)]
    pub(crate) server: ServerSection,
    #[serde(default)]
    pub(crate) trust: TrustSection,
    #[serde(default)]
    pub(crate) status: StatusSection,
    #[serde(default)]
    pub(crate) log: LogSection,
    #[serde(default)]
    pub(crate) store: StoreSection,
    /// `[login]`: logging in to web systems with the worker ID (see [`super::login`]).
    pub(crate) login: Option<super::login::config::LoginSection>,
    /// The config file's directory (not a key): where a fleet gate's spool goes by default.
    #[serde(skip)]
    pub(crate) dir: Option<PathBuf>,
}

/// `[store]`: where the replay keys and the gate log live (see [`super::store`]).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreSection {
    /// `postgres://…` for a fleet; a path (or nothing) for this gate's SQLite file.
    pub(crate) url: Option<String>,
    /// How long a decision waits for the fleet check (milliseconds).
    pub(crate) timeout_ms: Option<u64>,
    /// The local SQLite file a fleet gate's log entries wait in until PostgreSQL has them.
    pub(crate) spool: Option<PathBuf>,
}

impl std::fmt::Debug for StoreSection {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSection")
            .field("url", &self.url.as_ref().map(|_| "[elided]"))
            .field("timeout_ms", &self.timeout_ms)
            .field("spool", &self.spool)
            .finish()
    }
}

/// `[gate]`: who the gate is and what it asks for.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GateSection {
    pub(crate) id: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) require_claims: Option<Vec<String>>,
    pub(crate) mode: Option<String>,
    pub(crate) unknown_status: Option<String>,
    pub(crate) require_status: Option<bool>,
    pub(crate) replay_window_secs: Option<u64>,
    pub(crate) replay_max_entries: Option<usize>,
    pub(crate) challenge_ttl_secs: Option<u64>,
    pub(crate) max_pending_challenges: Option<usize>,
    pub(crate) max_pending_challenges_per_client: Option<usize>,
    pub(crate) accepted_vct: Option<Vec<String>>,
    pub(crate) language: Option<String>,
}

/// `[server]`: HTTP and hardening.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
    pub(crate) listen: Option<String>,
    pub(crate) max_body_bytes: Option<usize>,
    pub(crate) request_timeout_ms: Option<u64>,
    pub(crate) rate_limit_per_sec: Option<u32>,
    pub(crate) rate_limit_burst: Option<u32>,
    pub(crate) admin_token: Option<String>,
    pub(crate) workers: Option<usize>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_client: Option<usize>,
    pub(crate) header_read_timeout_ms: Option<u64>,
    pub(crate) signature_cache_entries: Option<usize>,
    /// PEM certificate chain for HTTPS (with `tls_key`; restart to change).
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with `tls_cert`; restart to change).
    pub(crate) tls_key: Option<PathBuf>,
}

/// `[trust]`: which issuers the gate trusts.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrustSection {
    #[serde(default)]
    pub(crate) jwks: Vec<PinnedJwk>,
    #[serde(default)]
    pub(crate) dids: Vec<TrustedDid>,
    pub(crate) bundle: Option<PathBuf>,
    pub(crate) bundle_operator_jwk: Option<PathBuf>,
    /// Where the highest bundle `seq` accepted is kept across restarts (default: the bundle's
    /// path with `.state` appended).
    pub(crate) bundle_state: Option<PathBuf>,
    /// `[trust.log]`: the issuer's transparency log policy (none: lists and bundles are used
    /// without inclusion proofs).
    pub(crate) log: Option<TrustLogSection>,
}

/// `[trust.log]`: status lists and the trust bundle are used only with an inclusion proof in a
/// checkpoint signed by `log_key` and cosigned by `min_cosignatures` of `witness_keys`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrustLogSection {
    /// The log's verifier key (`<name>+<id>+<base64>`), or a file holding it.
    pub(crate) log_key: String,
    /// Trusted witnesses' cosigner verifier keys, or files holding them.
    #[serde(default)]
    pub(crate) witness_keys: Vec<String>,
    /// How many of `witness_keys` must have cosigned (default: all of them).
    pub(crate) min_cosignatures: Option<usize>,
    /// Where each proof comes from: `"beside"` (the default and only way): `<list URI>.tlog-proof`
    /// for a fetched list, the file `<bundle>.tlog-proof` for the trust bundle.
    pub(crate) proofs: Option<String>,
    /// Where the largest checkpoint seen is kept (default: the bundle's path with
    /// `.checkpoint` appended; required without a bundle).
    pub(crate) state: Option<PathBuf>,
}

/// A pinned issuer key: a JWK file, optionally only for one `iss`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PinnedJwk {
    pub(crate) file: PathBuf,
    pub(crate) iss: Option<String>,
}

/// A trusted issuer DID; did:web documents come from `document_url` when set (a mirror).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrustedDid {
    pub(crate) did: String,
    pub(crate) document_url: Option<String>,
}

/// `[status]`: status list fetching and staleness.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusSection {
    pub(crate) refresh_secs: Option<u64>,
    pub(crate) max_staleness_secs: Option<u64>,
    pub(crate) fetch_timeout_secs: Option<u64>,
    pub(crate) lists: Option<Vec<String>>,
    pub(crate) fetch_discovered: Option<bool>,
    pub(crate) max_lists: Option<usize>,
}

/// `[log]`: the gate log.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogSection {
    pub(crate) db: Option<PathBuf>,
    pub(crate) retention_days: Option<u64>,
    pub(crate) keep_claims: Option<Vec<String>>,
    pub(crate) salt_file: Option<PathBuf>,
    pub(crate) commit_before_response: Option<bool>,
}

/// Reads and parses a TOML config file. Relative paths inside it are taken relative to the
/// file's directory.
pub(crate) fn read_file(path: &Path) -> Result<FileConfig, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!("{}: larger than 1 MiB", path.display()));
    }
    let mut config: FileConfig =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    config.rebase(base);
    config.dir = Some(base.to_owned());
    Ok(config)
}

impl FileConfig {
    /// Makes relative paths relative to `base`.
    fn rebase(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        self.trust.jwks.iter_mut().for_each(|j| fix(&mut j.file));
        self.trust.bundle.iter_mut().for_each(fix);
        self.trust.bundle_operator_jwk.iter_mut().for_each(fix);
        self.trust.bundle_state.iter_mut().for_each(fix);
        if let Some(log) = &mut self.trust.log {
            log.state.iter_mut().for_each(fix);
            // A key is given inline or as a file; only a file name is rebased.
            let fix_key = |k: &mut String, is_key: bool| {
                if !is_key && Path::new(k.as_str()).is_relative() {
                    *k = base.join(k.as_str()).display().to_string();
                }
            };
            let is_log_key = govid_core::tlog::LogKey::parse(&log.log_key).is_ok();
            fix_key(&mut log.log_key, is_log_key);
            for k in &mut log.witness_keys {
                let is_key = govid_core::tlog::WitnessKey::parse(k).is_ok();
                fix_key(k, is_key);
            }
        }
        self.log.db.iter_mut().for_each(fix);
        self.log.salt_file.iter_mut().for_each(fix);
        self.store.spool.iter_mut().for_each(fix);
        if let Some(url) = &mut self.store.url {
            if !url.contains("://") && Path::new(url.as_str()).is_relative() {
                *url = base.join(url.as_str()).to_string_lossy().into_owned();
            }
        }
        self.server.tls_cert.iter_mut().for_each(fix);
        self.server.tls_key.iter_mut().for_each(fix);
        if let Some(login) = &mut self.login {
            login.rebase(base);
        }
    }
}

/// Which gate codes a gate accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Rotating one-way codes only (no challenge): nonce unchecked, replay cache.
    Rotating,
    /// Only answers to a challenge this gate issued.
    Challenge,
    /// Both.
    Any,
}

/// What to do when a credential's status cannot be stated (no fresh status list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnknownStatus {
    /// Deny with `status_unknown` (the default).
    Deny,
    /// Allow, reporting `credential_status: "unknown"`.
    Allow,
}

/// The checked configuration the server runs with.
#[derive(Clone, Debug)]
pub(crate) struct GateConfig {
    pub(crate) gate_id: String,
    pub(crate) audience: String,
    pub(crate) profile: GateProfile,
    pub(crate) mode: Mode,
    pub(crate) unknown_status: UnknownStatus,
    /// Whether a credential must carry a `status` claim (default); `false` allows one without,
    /// reported as `credential_status: "none"`. A credential with one is checked either way.
    pub(crate) require_status: bool,
    pub(crate) replay_window_secs: u64,
    pub(crate) replay_max_entries: usize,
    pub(crate) challenge_ttl_secs: u64,
    pub(crate) max_pending_challenges: usize,
    /// Outstanding challenges one client (IPv4 address or IPv6 /64) may hold.
    pub(crate) max_pending_challenges_per_client: usize,
    /// Credential types (`vct`) the gate accepts (default: the worker ID and the gate pass).
    pub(crate) accepted_vct: Vec<String>,
    /// The scanning page's language; `None`: the browser's (`navigator.languages`).
    pub(crate) language: Option<PageLanguage>,

    pub(crate) listen: SocketAddr,
    pub(crate) max_body_bytes: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) rate_limit_per_sec: u32,
    pub(crate) rate_limit_burst: u32,
    /// `None`: admin routes answer 404.
    pub(crate) admin_token: Option<AdminToken>,
    pub(crate) workers: usize,
    pub(crate) max_connections: usize,
    /// Open connections one client (IPv4 address or IPv6 /64) may hold.
    pub(crate) max_connections_per_client: usize,
    pub(crate) header_read_timeout: Duration,
    /// Issuer signatures remembered once verified (0: verify every one).
    pub(crate) signature_cache_entries: usize,
    /// `None`: plain HTTP.
    pub(crate) tls: Option<TlsFiles>,

    pub(crate) trust: TrustSection,
    /// `--accept-bundle-rollback`: at start, accept a trust bundle older than the highest one
    /// this gate recorded (the operator's deliberate choice; reloads never do).
    pub(crate) accept_bundle_rollback: bool,

    pub(crate) status_refresh: Duration,
    pub(crate) max_staleness_secs: u64,
    pub(crate) fetch_timeout: Duration,
    pub(crate) status_lists: Vec<String>,
    pub(crate) fetch_discovered: bool,
    pub(crate) max_status_lists: usize,

    pub(crate) log_db: Option<PathBuf>,
    pub(crate) retention_days: u64,
    pub(crate) keep_claims: Vec<ClaimPath>,
    pub(crate) salt_file: Option<PathBuf>,
    pub(crate) commit_before_response: bool,

    /// `[store] url = "postgres://…"`: the fleet's database; `None`: this gate's SQLite only.
    pub(crate) fleet: Option<super::store::PgUrl>,
    /// How long a decision waits for the fleet check.
    pub(crate) store_timeout: Duration,
    /// With a fleet: the spool file (`[store] spool`, or its default; see [`default_spool`]).
    pub(crate) spool: Option<PathBuf>,

    /// `[login]`: the login service, when configured.
    pub(crate) login: Option<super::login::config::LoginConfig>,
}

/// A language the scanning page ships strings for (`[gate] language`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PageLanguage {
    /// `en`
    English,
    /// `ko`
    Korean,
}

impl PageLanguage {
    /// The page's table of strings: `static/i18n/<code>.json`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            PageLanguage::English => "en",
            PageLanguage::Korean => "ko",
        }
    }
}

/// Something the gate starts with but its operator should fix, named by a stable code: logged at
/// start and on every reload, and listed in `/healthz` `warnings` (which makes its `status`
/// `degraded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Warning {
    /// Issuers are trusted by pinned key or DID, but nothing can state their credentials'
    /// status: no `[status] lists`, `fetch_discovered = false`, and no trust bundle. Every ID
    /// with a `status` claim is then `status_unknown`.
    NoStatusSource,
}

impl Warning {
    /// The stable code `/healthz` lists.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Warning::NoStatusSource => "no_status_source",
        }
    }

    /// What the operator reads in the service log.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Warning::NoStatusSource => {
                "no status source for the trusted issuers: no [status] lists (--status-list), \
                 fetch_discovered = false and no trust bundle, so every credential with a \
                 status claim is status_unknown (denied unless unknown_status = \"allow\")"
            }
        }
    }
}

/// The files HTTPS is served with (`[server] tls_cert`, `tls_key`), read once at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    /// PEM certificate chain, the gate's own certificate first.
    pub(crate) cert: PathBuf,
    /// PEM private key (PKCS#8, RSA or SEC1) of that certificate.
    pub(crate) key: PathBuf,
}

/// The admin bearer token; its `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct AdminToken(pub(crate) String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken([elided])")
    }
}

/// The shortest admin token accepted.
pub(crate) const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// A fleet gate's spool by default: `<gate id>.spool` beside the salt file, else in the config
/// file's directory, else in the working directory (the gate id made safe for a file name).
pub(crate) fn default_spool(
    gate_id: &str,
    salt_file: Option<&Path>,
    dir: Option<&Path>,
) -> PathBuf {
    let name: String = gate_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("{}.spool", name.trim_start_matches('.'));
    let beside_salt = salt_file
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty());
    beside_salt.or(dir).unwrap_or(Path::new(".")).join(name)
}

fn parse_claims(list: &[String], what: &str) -> Result<Vec<ClaimPath>, String> {
    list.iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(|c| ClaimPath::parse(c).map_err(|e| format!("{what}: `{c}`: {e}")))
        .collect()
}

impl GateConfig {
    /// Checks a merged [`FileConfig`] (flags already applied) into the running configuration.
    pub(crate) fn from_file(file: FileConfig) -> Result<Self, String> {
        let login = file
            .login
            .map(super::login::config::LoginConfig::from_section)
            .transpose()?;
        let g = file.gate;
        // A login service alone needs no gate audience: its own client_id serves.
        let audience = g
            .audience
            .filter(|a| !a.trim().is_empty())
            .or_else(|| login.as_ref().map(|l| l.client_id.clone()))
            .ok_or("the gate audience is required (--aud or [gate] audience)")?;
        let extra = parse_claims(&g.require_claims.unwrap_or_default(), "require_claims")?;
        let profile = match g.profile.as_deref().unwrap_or("entry") {
            "custom" if extra.is_empty() => {
                return Err("profile `custom` needs require_claims".to_owned())
            }
            "custom" => GateProfile::Custom(extra),
            name => {
                let base = GateProfile::from_name(name)
                    .ok_or(format!("unknown profile `{name}` (entry, counter, custom)"))?;
                if extra.is_empty() {
                    base
                } else {
                    let mut claims = base.claims();
                    for c in extra {
                        if !claims.contains(&c) {
                            claims.push(c);
                        }
                    }
                    GateProfile::Custom(claims)
                }
            }
        };
        let mode = match g.mode.as_deref().unwrap_or("any") {
            "rotating" => Mode::Rotating,
            "challenge" => Mode::Challenge,
            "any" => Mode::Any,
            other => return Err(format!("unknown mode `{other}` (rotating, challenge, any)")),
        };
        let unknown_status = match g.unknown_status.as_deref().unwrap_or("deny") {
            "deny" => UnknownStatus::Deny,
            "allow" => UnknownStatus::Allow,
            other => return Err(format!("unknown_status `{other}` is not deny or allow")),
        };
        let language = match g.language.as_deref() {
            None => None,
            Some("en") => Some(PageLanguage::English),
            Some("ko") => Some(PageLanguage::Korean),
            Some(other) => return Err(format!("language `{other}` is not en or ko")),
        };
        let replay_window_secs = g.replay_window_secs.unwrap_or(60);
        if !(1..=3600).contains(&replay_window_secs) {
            return Err("replay_window_secs must be 1..=3600".to_owned());
        }
        let challenge_ttl_secs = g.challenge_ttl_secs.unwrap_or(120);
        if !(1..=3600).contains(&challenge_ttl_secs) {
            return Err("challenge_ttl_secs must be 1..=3600".to_owned());
        }

        let s = file.server;
        let listen = s.listen.as_deref().unwrap_or("127.0.0.1:8080");
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| format!("listen address `{listen}` is not IP:PORT"))?;
        let admin_token = match s.admin_token.filter(|t| !t.is_empty()) {
            Some(t) if t.len() < MIN_ADMIN_TOKEN_LEN => {
                return Err(format!(
                    "the admin token must be at least {MIN_ADMIN_TOKEN_LEN} characters"
                ))
            }
            t => t.map(AdminToken),
        };
        let tls = match (s.tls_cert, s.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(
                    "tls_cert and tls_key go together (--tls-cert and --tls-key, or \
                            [server] tls_cert and tls_key): HTTPS needs the certificate and its \
                            private key"
                        .to_owned(),
                )
            }
        };
        let max_body_bytes = s.max_body_bytes.unwrap_or(16 * 1024);
        if !(1024..=1024 * 1024).contains(&max_body_bytes) {
            return Err("max_body_bytes must be 1024..=1048576".to_owned());
        }

        let t = file.trust;
        if t.jwks.is_empty() && t.dids.is_empty() && t.bundle.is_none() {
            return Err(
                "no trusted issuer: give --trust-jwk, --trust-did, --trust-bundle with \
                 --operator-jwk, or [trust] in the config"
                    .to_owned(),
            );
        }
        if t.bundle.is_some() != t.bundle_operator_jwk.is_some() {
            return Err("[trust] bundle and bundle_operator_jwk go together".to_owned());
        }
        if let Some(log) = &t.log {
            if log.proofs.as_deref().is_some_and(|p| p != "beside") {
                return Err("[trust.log] proofs must be \"beside\"".to_owned());
            }
            if log.state.is_none() && t.bundle.is_none() {
                return Err(
                    "[trust.log] state is required without a trust bundle (where the largest \
                     checkpoint seen is kept)"
                        .to_owned(),
                );
            }
            if log.min_cosignatures.unwrap_or(0) > log.witness_keys.len() {
                return Err(
                    "[trust.log] min_cosignatures is more than the witness_keys given".to_owned(),
                );
            }
        }

        let st = file.status;
        let refresh = st.refresh_secs.unwrap_or(300).max(1);
        let log = file.log;
        let (fleet, log_db) = match file.store.url.as_deref().map(super::store::StoreUrl::parse) {
            None => (None, log.db),
            Some(Err(e)) => return Err(e),
            Some(Ok(super::store::StoreUrl::Postgres(url))) => (Some(url), log.db),
            Some(Ok(super::store::StoreUrl::Sqlite(path))) => match log.db {
                Some(db) if db != path => {
                    return Err(
                        "[store] url and [log] db name two different SQLite files".to_owned()
                    )
                }
                _ => (None, Some(path)),
            },
        };
        let gate_id = g.id.unwrap_or_else(|| "gate".to_owned());
        let spool = match (&fleet, file.store.spool) {
            (None, Some(_)) => {
                return Err("[store] spool is used only with a postgres:// url".to_owned())
            }
            (None, None) => None,
            (Some(_), Some(path)) => Some(path),
            (Some(_), None) => Some(default_spool(
                &gate_id,
                log.salt_file.as_deref(),
                file.dir.as_deref(),
            )),
        };
        Ok(Self {
            gate_id,
            audience,
            profile,
            mode,
            unknown_status,
            require_status: g.require_status.unwrap_or(true),
            replay_window_secs,
            replay_max_entries: g.replay_max_entries.unwrap_or(1_000_000).max(1),
            challenge_ttl_secs,
            max_pending_challenges: g.max_pending_challenges.unwrap_or(10_000).max(1),
            max_pending_challenges_per_client: g
                .max_pending_challenges_per_client
                .unwrap_or(100)
                .max(1),
            accepted_vct: g
                .accepted_vct
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| GATE_VCTS.map(str::to_owned).to_vec()),
            language,
            listen,
            max_body_bytes,
            request_timeout: Duration::from_millis(s.request_timeout_ms.unwrap_or(5000).max(1)),
            rate_limit_per_sec: s.rate_limit_per_sec.unwrap_or(20),
            rate_limit_burst: s.rate_limit_burst.unwrap_or(40).max(1),
            admin_token,
            workers: s.workers.unwrap_or(0),
            max_connections: s.max_connections.unwrap_or(1024).max(1),
            max_connections_per_client: s.max_connections_per_client.unwrap_or(64).max(1),
            header_read_timeout: Duration::from_millis(
                s.header_read_timeout_ms
                    .unwrap_or(10_000)
                    .clamp(100, 60_000),
            ),
            signature_cache_entries: s.signature_cache_entries.unwrap_or(65_536),
            tls,
            trust: t,
            accept_bundle_rollback: false,
            status_refresh: Duration::from_secs(refresh),
            max_staleness_secs: st.max_staleness_secs.unwrap_or(86_400),
            fetch_timeout: Duration::from_secs(st.fetch_timeout_secs.unwrap_or(5).clamp(1, 60)),
            status_lists: st.lists.unwrap_or_default(),
            fetch_discovered: st.fetch_discovered.unwrap_or(true),
            max_status_lists: st.max_lists.unwrap_or(64).max(1),
            log_db,
            retention_days: log.retention_days.unwrap_or(30),
            keep_claims: parse_claims(&log.keep_claims.unwrap_or_default(), "keep_claims")?,
            salt_file: log.salt_file,
            commit_before_response: log.commit_before_response.unwrap_or(false),
            fleet,
            store_timeout: Duration::from_millis(
                file.store.timeout_ms.unwrap_or(500).clamp(10, 10_000),
            ),
            spool,
            login,
        })
    }

    /// What the gate runs with but should not, in a fixed order.
    pub(crate) fn warnings(&self) -> Vec<Warning> {
        let by_key_or_did = !self.trust.jwks.is_empty() || !self.trust.dids.is_empty();
        let no_status_source =
            self.status_lists.is_empty() && !self.fetch_discovered && self.trust.bundle.is_none();
        let mut warnings = Vec::new();
        if by_key_or_did && no_status_source {
            warnings.push(Warning::NoStatusSource);
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> FileConfig {
        let mut f = FileConfig::default();
        f.gate.audience = Some("https://gate.example/a".into());
        f.trust.jwks.push(PinnedJwk {
            file: "issuer.jwk".into(),
            iss: None,
        });
        f
    }

    #[test]
    fn defaults_are_safe() {
        let c = GateConfig::from_file(minimal()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.unknown_status, UnknownStatus::Deny);
        assert!(c.require_status);
        // One client holds a small share of the connections and of the challenge pool.
        assert_eq!(c.max_connections_per_client, 64);
        assert!(c.max_connections_per_client < c.max_connections);
        assert_eq!(c.max_pending_challenges_per_client, 100);
        assert!(c.max_pending_challenges_per_client < c.max_pending_challenges);
        assert!(c.admin_token.is_none());
        assert!(c.keep_claims.is_empty());
        assert_eq!(c.replay_window_secs, 60);
        assert_eq!(c.profile, GateProfile::Entry);
        assert_eq!(c.max_body_bytes, 16 * 1024);
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../examples/gate.toml");
        let file: FileConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        GateConfig::from_file(file).unwrap_or_else(|e| panic!("{e}"));
    }

    /// `line` with its `# ` removed, if what follows is a commented setting: a `key = value`
    /// line that is valid TOML on its own, or a `[[table]]` header.
    fn commented_setting(line: &str) -> Option<&str> {
        let rest = line.strip_prefix("# ")?;
        let key = rest.split_once(" = ").map(|(k, _)| k);
        let is_key = key.is_some_and(|k| {
            !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        });
        let is_table = rest.starts_with("[[") && rest.ends_with("]]");
        let parses = toml::from_str::<toml::Table>(rest).is_ok();
        ((is_key && parses) || is_table).then_some(rest)
    }

    #[test]
    fn example_config_parses_with_every_commented_setting_uncommented() {
        let text = include_str!("../../examples/gate.toml");
        let mut uncommented = Vec::new();
        let all: Vec<&str> = text
            .lines()
            .map(|line| match commented_setting(line) {
                Some(setting) => {
                    uncommented.push(setting);
                    setting
                }
                None => line,
            })
            .collect();
        // Not vacuous: the optional settings the example shows are all found.
        for setting in [
            "# accepted_vct",
            "# require_claims",
            "# admin_token",
            "# bundle",
            "# bundle_operator_jwk",
            "# bundle_state",
            "# [[trust.dids]]",
            "# document_url",
            "# salt_file",
            "# url",
            "# spool",
        ] {
            let name = setting.trim_start_matches("# ");
            assert!(
                uncommented.iter().any(|u| u.starts_with(name)),
                "{setting} not uncommented: {uncommented:?}"
            );
        }
        let file: FileConfig = toml::from_str(&all.join("\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.trust.dids.len(), 2);
        assert!(file.trust.dids[1].document_url.is_some());
        assert!(file.trust.bundle_state.is_some());
        assert!(file.log.salt_file.is_some());
        let config = GateConfig::from_file(file).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.admin_token.is_some());
        assert!(config.fleet.is_some());
        assert_eq!(config.spool, Some(PathBuf::from("north.spool")));
        assert!(config.trust.bundle.is_some() && config.trust.bundle_operator_jwk.is_some());
    }

    #[test]
    fn a_fleet_gates_spool_defaults_beside_the_salt_then_the_config() {
        let salt = Path::new("/var/lib/govid/gate.salt");
        assert_eq!(
            default_spool("north/1 ü", Some(salt), Some(Path::new("/etc/govid"))),
            PathBuf::from("/var/lib/govid/north_1__.spool")
        );
        assert_eq!(
            default_spool(
                "north",
                Some(Path::new("gate.salt")),
                Some(Path::new("/etc/g"))
            ),
            PathBuf::from("/etc/g/north.spool")
        );
        assert_eq!(
            default_spool("north", None, None),
            PathBuf::from("./north.spool")
        );
        let mut file = minimal();
        file.store.spool = Some("x.spool".into());
        assert_eq!(
            GateConfig::from_file(file.clone()).err().as_deref(),
            Some("[store] spool is used only with a postgres:// url")
        );
        file.store.url = Some("postgres://g@db/x?sslmode=disable".into());
        file.store.spool = None;
        file.gate.id = Some("south".into());
        file.dir = Some("/etc/govid".into());
        let config = GateConfig::from_file(file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.spool, Some(PathBuf::from("/etc/govid/south.spool")));
    }

    #[test]
    fn prose_in_the_example_config_is_not_taken_for_a_setting() {
        assert_eq!(
            commented_setting("# bundle = \"trust-bundle.jwt\""),
            Some("bundle = \"trust-bundle.jwt\"")
        );
        assert_eq!(
            commented_setting("# [[trust.dids]]"),
            Some("[[trust.dids]]")
        );
        assert_eq!(
            commented_setting("# 0 = verify every issuer signature in full (restart)."),
            None
        );
        assert_eq!(
            commented_setting("#   govid-verifier serve --config gate.toml"),
            None
        );
        assert_eq!(
            commented_setting("# or \"allow\" (answered as allow)"),
            None
        );
    }

    #[test]
    fn refuses_short_admin_token_and_missing_trust() {
        let mut f = minimal();
        f.server.admin_token = Some("short".into());
        let refusal = |f: FileConfig| GateConfig::from_file(f).err().unwrap_or_default();
        assert_eq!(refusal(f), "the admin token must be at least 16 characters");
        let mut f = minimal();
        f.trust.jwks.clear();
        assert!(refusal(f.clone()).starts_with("no trusted issuer: give --trust-jwk"));
        f.trust.bundle = Some("trust-bundle.jwt".into());
        assert_eq!(
            refusal(f),
            "[trust] bundle and bundle_operator_jwk go together"
        );
    }

    #[test]
    fn no_status_source_is_a_warning_unless_a_list_discovery_or_bundle_states_status() {
        let mut f = minimal();
        f.status.fetch_discovered = Some(false);
        let c = GateConfig::from_file(f.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.warnings(), [Warning::NoStatusSource]);
        assert_eq!(Warning::NoStatusSource.code(), "no_status_source");
        let mut listed = f.clone();
        listed.status.lists = Some(vec!["https://hr.example/status/1".into()]);
        let c = GateConfig::from_file(listed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.warnings(), []);
        let mut bundled = f;
        bundled.trust.bundle = Some("trust-bundle.jwt".into());
        bundled.trust.bundle_operator_jwk = Some("operator.jwk".into());
        let c = GateConfig::from_file(bundled).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.warnings(), []);
        // Discovery (the default) fetches the list each credential names.
        let c = GateConfig::from_file(minimal()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.warnings(), []);
    }

    #[test]
    fn tls_cert_and_key_go_together_and_are_relative_to_the_config_file() {
        let refusal = |f: FileConfig| GateConfig::from_file(f).err().unwrap_or_default();
        let together = "tls_cert and tls_key go together (--tls-cert and --tls-key, or [server] \
                        tls_cert and tls_key): HTTPS needs the certificate and its private key";
        let mut f = minimal();
        f.server.tls_cert = Some("gate.crt".into());
        assert_eq!(refusal(f), together);
        let mut f = minimal();
        f.server.tls_key = Some("gate.key".into());
        assert_eq!(refusal(f), together);
        let c = GateConfig::from_file(minimal()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.tls, None);

        let mut f: FileConfig =
            toml::from_str("[server]\ntls_cert = \"tls/gate.crt\"\ntls_key = \"/etc/gate.key\"\n")
                .unwrap_or_else(|e| panic!("{e}"));
        f.rebase(Path::new("/etc/govid"));
        f.gate.audience = Some("https://gate.example/a".into());
        f.trust.jwks = minimal().trust.jwks;
        let c = GateConfig::from_file(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert: "/etc/govid/tls/gate.crt".into(),
                key: "/etc/gate.key".into(),
            })
        );
    }

    #[test]
    fn extra_claims_extend_the_profile() {
        let mut f = minimal();
        f.gate.require_claims = Some(vec!["position".into()]);
        let c = GateConfig::from_file(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.profile.claims().len(),
            GateProfile::Entry.claims().len() + 1
        );
    }

    #[test]
    fn page_language_is_en_ko_or_the_browsers() {
        assert_eq!(
            GateConfig::from_file(minimal()).map(|c| c.language),
            Ok(None)
        );
        for (code, language) in [("en", PageLanguage::English), ("ko", PageLanguage::Korean)] {
            let mut f = minimal();
            f.gate.language = Some(code.into());
            let c = GateConfig::from_file(f).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.language, Some(language));
            assert_eq!(language.code(), code);
        }
        let mut f = minimal();
        f.gate.language = Some("fr".into());
        assert_eq!(
            GateConfig::from_file(f).map(|c| c.language),
            Err("language `fr` is not en or ko".to_owned())
        );
    }
}

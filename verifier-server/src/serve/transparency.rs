//! `[trust.log]`: the gate uses a status list or a trust bundle only with an inclusion proof
//! (c2sp.org/tlog-proof) of its exact log entry, in a checkpoint that meets the witness policy
//! and does not contradict a checkpoint the gate saw before.
//!
//! The proofs carry no consistency proof, so a checkpoint is compared only by size and root: one
//! of the size of one seen with another root is a fork (`not_consistent`); one larger than the
//! largest seen becomes the new largest; a smaller one of a size not seen is accepted (the
//! witnesses, which check consistency, are what stand behind it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use govid_core::tlog::{
    check_inclusion, Entry, Hash, LogKey, PolicyError, TlogProof, WitnessKey, WitnessPolicy,
};
use sha2::{Digest as _, Sha256};

use super::config::TrustLogSection;

/// The file name suffix of a proof beside its artifact.
pub(crate) const PROOF_SUFFIX: &str = ".tlog-proof";
/// Most checkpoint sizes remembered in memory (the largest is also kept on disk).
const MAX_SEEN_SIZES: usize = 4096;

/// Why the gate did not use a list or a bundle, as `/healthz` and the metric name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogRefusal {
    /// No proof could be had (none beside it, or it could not be fetched).
    NoProof,
    /// The proof is malformed, not signed by the log, or does not include this entry.
    BadProof,
    /// The checkpoint has fewer trusted cosignatures than the policy needs.
    TooFewCosignatures,
    /// The checkpoint contradicts one seen before (same size, other root).
    NotConsistent,
}

/// Refusals since start, by [`LogRefusal`] (process-wide: a reload keeps the counts).
static REFUSALS: [AtomicU64; 4] = [
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
];

impl LogRefusal {
    /// Every reason, in the order of [`REFUSALS`].
    pub(crate) const ALL: [LogRefusal; 4] = [
        LogRefusal::NoProof,
        LogRefusal::BadProof,
        LogRefusal::TooFewCosignatures,
        LogRefusal::NotConsistent,
    ];

    /// How many refusals for this reason since start (`govid_tlog_refusals_total`).
    pub(crate) fn count(self) -> u64 {
        REFUSALS[self as usize].load(Ordering::Relaxed)
    }

    /// The stable code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            LogRefusal::NoProof => "no_proof",
            LogRefusal::BadProof => "bad_proof",
            LogRefusal::TooFewCosignatures => "too_few_cosignatures",
            LogRefusal::NotConsistent => "not_consistent",
        }
    }
}

/// A refusal and its detail for the service log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) reason: LogRefusal,
    pub(crate) detail: String,
}

impl Refused {
    fn new(reason: LogRefusal, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason.code(), self.detail)
    }
}

/// The checkpoints seen: every size (up to [`MAX_SEEN_SIZES`]) with its root.
#[derive(Debug, Default)]
struct Seen {
    roots: BTreeMap<u64, Hash>,
}

/// The policy and the memory of checkpoints.
pub(crate) struct LogGuard {
    policy: WitnessPolicy,
    state_path: PathBuf,
    seen: Mutex<Seen>,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogGuard")
            .field("log", &self.policy.log)
            .field("witnesses", &self.policy.witnesses.len())
            .field("min_cosignatures", &self.policy.min_cosignatures)
            .finish_non_exhaustive()
    }
}

/// A key given inline, or the first line of the file it names.
fn key_text(value: &str) -> Result<String, String> {
    if value.contains('+') && !Path::new(value).exists() {
        return Ok(value.trim().to_owned());
    }
    let text = std::fs::read_to_string(value).map_err(|e| format!("{value}: {e}"))?;
    Ok(text.trim().to_owned())
}

/// The SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl LogGuard {
    /// Builds the policy from `[trust.log]` and reads the largest checkpoint recorded (`bundle`:
    /// the trust bundle's path, for the default state file).
    pub(crate) fn load(section: &TrustLogSection, bundle: Option<&Path>) -> Result<Self, String> {
        let log = LogKey::parse(&key_text(&section.log_key)?)
            .map_err(|e| format!("[trust.log] log_key: {e}"))?;
        let mut witnesses = Vec::new();
        for value in &section.witness_keys {
            let key = WitnessKey::parse(&key_text(value)?)
                .map_err(|e| format!("[trust.log] witness_keys `{value}`: {e}"))?;
            witnesses.push(key);
        }
        let min_cosignatures = section.min_cosignatures.unwrap_or(witnesses.len());
        let state_path = match (&section.state, bundle) {
            (Some(path), _) => path.clone(),
            (None, Some(bundle)) => {
                let mut name = bundle.as_os_str().to_owned();
                name.push(".checkpoint");
                name.into()
            }
            (None, None) => return Err("[trust.log] state is required".to_owned()),
        };
        let mut seen = Seen::default();
        if let Some((size, root)) = read_state(&state_path)? {
            seen.roots.insert(size, root);
        }
        Ok(Self {
            policy: WitnessPolicy {
                log,
                witnesses,
                min_cosignatures,
            },
            state_path,
            seen: Mutex::new(seen),
        })
    }

    /// The largest checkpoint seen: `(size, root)`.
    pub(crate) fn largest(&self) -> Option<(u64, Hash)> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.roots.iter().next_back().map(|(s, r)| (*s, *r))
    }

    /// Checks that `proof` includes `entry` in a checkpoint that meets the policy and agrees
    /// with those seen; records a new largest checkpoint.
    pub(crate) fn check(&self, entry: &Entry, proof: Option<&[u8]>) -> Result<(), Refused> {
        let checked = self.check_quietly(entry, proof);
        if let Err(refused) = &checked {
            REFUSALS[refused.reason as usize].fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                kind = entry.kind(),
                reason = refused.reason.code(),
                detail = %refused.detail,
                "refused by the transparency log policy"
            );
        }
        checked
    }

    fn check_quietly(&self, entry: &Entry, proof: Option<&[u8]>) -> Result<(), Refused> {
        let proof = proof.ok_or_else(|| Refused::new(LogRefusal::NoProof, "no proof"))?;
        let parsed = TlogProof::parse(proof)
            .map_err(|e| Refused::new(LogRefusal::BadProof, e.to_string()))?;
        let cosigned = self.policy.check(&parsed.checkpoint).map_err(|e| match e {
            PolicyError::TooFewCosignatures { .. } => {
                Refused::new(LogRefusal::TooFewCosignatures, e.to_string())
            }
            e => Refused::new(LogRefusal::BadProof, e.to_string()),
        })?;
        let bytes = entry
            .to_bytes()
            .map_err(|e| Refused::new(LogRefusal::BadProof, e.to_string()))?;
        // The policy check verified the checkpoint's log signature: not again.
        check_inclusion(&bytes, &parsed, &cosigned.verified)
            .map_err(|e| Refused::new(LogRefusal::BadProof, e.to_string()))?;
        let checkpoint = &cosigned.verified.checkpoint;
        self.remember(checkpoint.size(), *checkpoint.hash())
    }

    /// Compares a checkpoint with those seen and remembers it.
    fn remember(&self, size: u64, root: Hash) -> Result<(), Refused> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = seen.roots.get(&size) {
            if *known != root {
                return Err(Refused::new(
                    LogRefusal::NotConsistent,
                    format!("a checkpoint of size {size} with another root than the one seen"),
                ));
            }
            return Ok(());
        }
        let largest = seen.roots.keys().next_back().copied();
        if largest.is_none_or(|l| size > l) {
            if let Err(error) = write_state(&self.state_path, size, &root) {
                // Still remembered for this run; a restart forgets it.
                tracing::warn!(%error, "largest checkpoint not recorded");
            }
        }
        if seen.roots.len() >= MAX_SEEN_SIZES {
            // Forget the smallest: the largest is the one that must not be lost.
            seen.roots.pop_first();
        }
        seen.roots.insert(size, root);
        Ok(())
    }
}

/// The recorded largest checkpoint: `{"v": 1, "size": N, "root": "<base64>"}`. A missing file
/// is a first start; an unreadable one is an error.
fn read_state(path: &Path) -> Result<Option<(u64, Hash)>, String> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let parsed = govid_core::json::parse_object(&text, 2).ok().and_then(|o| {
        let v = o.get("v").and_then(serde_json::Value::as_u64);
        let size = o.get("size").and_then(serde_json::Value::as_u64)?;
        let root = o.get("root").and_then(serde_json::Value::as_str)?;
        let root = Hash::parse_hash(root).ok()?;
        (v == Some(1)).then_some((size, root))
    });
    parsed.map(Some).ok_or_else(|| {
        format!(
            "{}: not a checkpoint state file (it records the largest log checkpoint this gate \
             saw); restore it, or remove it to start over deliberately",
            path.display()
        )
    })
}

/// Records the largest checkpoint atomically (temporary file, fsync, rename).
fn write_state(path: &Path, size: u64, root: &Hash) -> Result<(), String> {
    use std::io::Write as _;
    let body = serde_json::json!({"v": 1, "size": size, "root": root.to_string()}).to_string();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let fail = |e: std::io::Error| {
        format!(
            "cannot record the largest checkpoint in {}: {e} (set [trust.log] state to a \
             writable file)",
            path.display()
        )
    };
    let mut file = std::fs::File::create(&tmp).map_err(fail)?;
    file.write_all(body.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

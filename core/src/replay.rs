//! Replay cache for rotating gate codes.
//!
//! A wallet in rotating mode shows a fresh KB-JWT every few seconds; a gate accepts each one once.
//! The cache remembers the SHA-256 of every KB-JWT it accepted while that KB-JWT's `iat` could
//! still pass the freshness window, and rejects a second use.
//!
//! Design:
//! - `iat` must lie in `[now - window, now + FUTURE_SKEW_SECS]`. A key therefore only needs to be
//!   remembered until `iat + window`; the cache keeps it until `insert time + window +
//!   FUTURE_SKEW_SECS`, which is later (safe) and grows with insertion order, so expired entries
//!   are always at the front of a queue: pruning is O(1) amortized per insert.
//! - When the cache holds `max_entries` unexpired keys it refuses new ones with
//!   [`ReplayError::CacheFull`] instead of evicting: evicting an unexpired key would let that
//!   KB-JWT be replayed. Size `max_entries` for the peak rate times the window.
//! - Time never goes backwards here: the cache uses the latest `now` it was given, so a clock
//!   stepped back cannot revive an `iat` whose key was already pruned.
//! - No clock, I/O or locking here: the caller passes `now` and wraps the cache in a `Mutex`.
//!   The map uses std's randomly keyed SipHash (`HashMap`'s default), so keys chosen by a holder
//!   cannot degrade it.

use std::collections::{HashMap, VecDeque};

/// How far in the future an `iat` may be (holder clock ahead of the gate), in seconds.
pub const FUTURE_SKEW_SECS: u64 = 30;

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// This KB-JWT was already accepted.
    #[error("presentation was already used")]
    Replayed,
    /// `iat` is older than the window or too far in the future.
    #[error("presentation iat is outside the accepted time window")]
    OutsideWindow,
    /// The cache is full of unexpired entries; try again later.
    #[error("replay cache is full")]
    CacheFull,
}

/// Remembers accepted KB-JWT hashes for the freshness window. See the module documentation.
#[derive(Debug)]
pub struct ReplayCache {
    window_secs: u64,
    max_entries: usize,
    /// The latest `now` seen.
    clock: u64,
    seen: HashMap<[u8; 32], u64>,
    /// `(key, expires_at)` in insertion order; `expires_at` is non-decreasing.
    queue: VecDeque<([u8; 32], u64)>,
}

impl ReplayCache {
    /// A cache accepting `iat` up to `window_secs` old, holding at most `max_entries` keys.
    pub fn new(window_secs: u64, max_entries: usize) -> Self {
        Self {
            window_secs,
            max_entries,
            clock: 0,
            seen: HashMap::new(),
            queue: VecDeque::new(),
        }
    }

    /// Checks a KB-JWT (by `key`, the SHA-256 of its compact form, and its `iat`) at `now` (unix
    /// seconds) and, if it is fresh and unseen, remembers it.
    pub fn check_and_insert(
        &mut self,
        key: [u8; 32],
        iat: u64,
        now: u64,
    ) -> Result<(), ReplayError> {
        self.prune(now);
        let now = self.clock;
        if iat < now.saturating_sub(self.window_secs) || iat > now.saturating_add(FUTURE_SKEW_SECS)
        {
            return Err(ReplayError::OutsideWindow);
        }
        if self.seen.contains_key(&key) {
            return Err(ReplayError::Replayed);
        }
        if self.seen.len() >= self.max_entries {
            return Err(ReplayError::CacheFull);
        }
        let expires_at = now
            .saturating_add(self.window_secs)
            .saturating_add(FUTURE_SKEW_SECS);
        self.seen.insert(key, expires_at);
        self.queue.push_back((key, expires_at));
        Ok(())
    }

    /// Forgets keys whose `iat` can no longer pass the window at `now` (or at the latest `now`
    /// seen, if that is later).
    pub fn prune(&mut self, now: u64) {
        self.clock = self.clock.max(now);
        let now = self.clock;
        while let Some(&(key, expires_at)) = self.queue.front() {
            if expires_at >= now {
                break;
            }
            self.queue.pop_front();
            self.seen.remove(&key);
        }
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

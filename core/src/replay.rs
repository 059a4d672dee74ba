//! Replay cache for rotating gate codes.
//!
//! A wallet in rotating mode shows a fresh KB-JWT every few seconds; a gate accepts each one once.
//! The cache remembers the key of every KB-JWT it accepted ([`KeyBinding::replay_key`], a hash of
//! what the holder signed, never of the signature) while that KB-JWT's `iat` could still pass the
//! freshness window, and rejects a second use.
//!
//! [`KeyBinding::replay_key`]: crate::sdjwt::KeyBinding::replay_key
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
//! - A cache only vouches for what it saw. One that starts empty (a gate restarted without
//!   storage, or after a crash that lost keys not yet stored) is made with
//!   [`ReplayCache::with_history_from`]: a KB-JWT whose `iat` is before that time may have been
//!   accepted by the previous run and is refused with [`ReplayError::BeforeHistory`]; the holder
//!   shows a fresh code. A cache whose keys were all kept ([`ReplayCache::remember`] on start)
//!   vouches for the whole window.
//! - No clock, I/O or locking here: the caller passes `now` and wraps the cache in a `Mutex`.
//!   The map uses std's randomly keyed SipHash (`HashMap`'s default), so keys chosen by a holder
//!   cannot degrade it.

use std::collections::{HashMap, VecDeque};

/// How far in the future an `iat` may be (holder clock ahead of the gate), in seconds: the KB-JWT
/// rule's own constant, so that every KB-JWT that verifies is one the cache can remember.
pub const FUTURE_SKEW_SECS: u64 = crate::sdjwt::KB_MAX_FUTURE_SECS;

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
    /// `iat` is before the time from which the cache knows every accepted KB-JWT (a restart
    /// forgot what came before); a fresh code passes.
    #[error("presentation was made before the gate's replay history starts")]
    BeforeHistory,
}

/// Remembers accepted KB-JWT hashes for the freshness window. See the module documentation.
#[derive(Debug)]
pub struct ReplayCache {
    window_secs: u64,
    max_entries: usize,
    /// The latest `now` seen.
    clock: u64,
    /// KB-JWTs with an `iat` before this may have been accepted unseen (see the module docs).
    history_from: u64,
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
            history_from: 0,
            seen: HashMap::new(),
            queue: VecDeque::new(),
        }
    }

    /// A cache that knows every accepted KB-JWT only from `start` (unix seconds) on: one with an
    /// earlier `iat` is refused with [`ReplayError::BeforeHistory`].
    pub fn with_history_from(window_secs: u64, max_entries: usize, start: u64) -> Self {
        Self {
            history_from: start,
            ..Self::new(window_secs, max_entries)
        }
    }

    /// The time from which this cache vouches for every accepted KB-JWT (0: always).
    pub fn history_from(&self) -> u64 {
        self.history_from
    }

    /// Remembers `key` until `expires_at`, as [`check_and_insert`](Self::check_and_insert)
    /// returned it: for keys a gate kept across a restart. Keys already expired at the latest
    /// `now` seen are ignored; keys beyond `max_entries` are kept anyway (forgetting one would
    /// let it be replayed), so new ones are refused until they expire.
    pub fn remember(&mut self, key: [u8; 32], expires_at: u64) {
        if expires_at < self.clock || self.seen.contains_key(&key) {
            return;
        }
        self.seen.insert(key, expires_at);
        // Keep the queue ordered by expiry, as pruning expects: restored keys come in any order.
        let at = self.queue.partition_point(|&(_, e)| e <= expires_at);
        self.queue.insert(at, (key, expires_at));
    }

    /// Checks a KB-JWT (by `key`, its [`replay_key`](crate::sdjwt::KeyBinding::replay_key), and
    /// its `iat`) at `now` (unix seconds) and, if it is fresh and unseen, remembers it.
    pub fn check_and_insert(
        &mut self,
        key: [u8; 32],
        iat: u64,
        now: u64,
    ) -> Result<(), ReplayError> {
        self.check_and_remember(key, iat, now).map(drop)
    }

    /// [`check_and_insert`](Self::check_and_insert), returning until when the key is remembered:
    /// what a gate stores to pass to [`remember`](Self::remember) after a restart.
    pub fn check_and_remember(
        &mut self,
        key: [u8; 32],
        iat: u64,
        now: u64,
    ) -> Result<u64, ReplayError> {
        self.prune(now);
        let now = self.clock;
        if iat < now.saturating_sub(self.window_secs) || iat > now.saturating_add(FUTURE_SKEW_SECS)
        {
            return Err(ReplayError::OutsideWindow);
        }
        if iat < self.history_from {
            return Err(ReplayError::BeforeHistory);
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
        Ok(expires_at)
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

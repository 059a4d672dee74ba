//! A bounded memo shared between threads: the store behind the verifier's caches
//! ([`HolderKeyCache`](crate::sdjwt::HolderKeyCache),
//! [`SignatureCache`](crate::jose::SignatureCache)).
//!
//! Eight shards, each a `HashMap` behind its own lock, so threads rarely wait for each other. A
//! full shard is emptied before the next insert: no eviction bookkeeping, and the worst case is a
//! miss per lookup, as without a memo.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard};

const SHARDS: usize = 8;

/// At most about `capacity` entries, in [`SHARDS`] locked shards.
#[derive(Debug)]
pub(crate) struct BoundedMemo<K, V> {
    per_shard: usize,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<K, V>>>,
}

impl<K: Hash + Eq, V: Clone> BoundedMemo<K, V> {
    /// Room for about `capacity` entries (at least one per shard).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// The shard holding `key`, locked (a poisoned lock is taken over: the map holds only
    /// complete entries).
    fn shard(&self, key: &K) -> MutexGuard<'_, HashMap<K, V>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value remembered for `key`.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.shard(key).get(key).cloned()
    }

    /// Remembers `value` for `key`, emptying the shard first if it is full.
    pub(crate) fn insert(&self, key: K, value: V) {
        let mut shard = self.shard(&key);
        if shard.len() >= self.per_shard {
            shard.clear();
        }
        shard.insert(key, value);
    }

    /// How many entries are held.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_stays_bounded() {
        let memo = BoundedMemo::new(16);
        memo.insert(1u32, "one");
        assert_eq!(memo.get(&1), Some("one"));
        assert_eq!(memo.get(&2), None);
        for i in 0..1000u32 {
            memo.insert(i, "n");
            assert_eq!(memo.get(&i), Some("n"), "just inserted");
            assert!(memo.len() <= 16, "{}", memo.len());
        }
    }
}

//! Random, unique status list indices for new credentials.
//!
//! Indices are drawn uniformly at random among the free ones, never sequentially: two people
//! hired on the same day must not get neighbouring indices that would link them (draft §12.5,
//! §13.2), and an index is never given twice (§13.3, "MUST prevent any unintended double
//! allocation").
//!
//! Capacity planning: a list holds [`IndexAllocator::DEFAULT_CAPACITY`] (2^17 = 131,072) entries
//! by default; at 2 bits that is 32 KiB uncompressed and a few hundred bytes compressed while
//! revocations are rare. When [`IndexAllocator::allocate`] returns `ListFull`, the issuer starts
//! a new list at the next URI from [`status_list_uri`] (`…/status/1`, `…/status/2`, …) and
//! allocates there. Lists are never grown in place, so a list's size says nothing about how
//! many staff it covers until it is full.

use std::collections::HashSet;
use std::hash::BuildHasher;

use rand_core::{CryptoRng, RngCore};

use super::{StatusError, MAX_ENTRIES};

/// Random draws tried before switching to choosing among the free indices directly.
const REJECTION_TRIES: u32 = 64;

/// Allocates indices in one list of `capacity` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexAllocator {
    capacity: usize,
}

impl Default for IndexAllocator {
    fn default() -> Self {
        Self {
            capacity: Self::DEFAULT_CAPACITY,
        }
    }
}

impl IndexAllocator {
    /// The default list capacity: 2^17 = 131,072 entries (the W3C REC's 16 KB minimum of bits,
    /// and enough for most agencies' staff in one list).
    pub const DEFAULT_CAPACITY: usize = 1 << 17;

    /// An allocator for a list of `capacity` entries (1 to [`MAX_ENTRIES`]).
    pub fn new(capacity: usize) -> Result<Self, StatusError> {
        if capacity > MAX_ENTRIES {
            return Err(StatusError::TooManyEntries { max: MAX_ENTRIES });
        }
        if capacity == 0 {
            return Err(StatusError::ListFull { capacity });
        }
        Ok(Self { capacity })
    }

    /// The list capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Picks an index uniformly among those in `0..capacity` not in `used` (indices in `used`
    /// past the capacity are ignored). The caller records it as used (e.g. in its database) in
    /// the same transaction that issues the credential.
    ///
    /// While the list is sparse this draws at random and retries on a used index; after
    /// 64 misses, or when at least half the list is used, it counts the free
    /// indices and picks the k-th. Both paths are uniform and end; a full list is `ListFull`.
    pub fn allocate<S: BuildHasher>(
        &self,
        used: &HashSet<usize, S>,
        rng: &mut (impl CryptoRng + RngCore),
    ) -> Result<usize, StatusError> {
        if used.len() < self.capacity / 2 {
            for _ in 0..REJECTION_TRIES {
                let idx = uniform_below(rng, self.capacity);
                if !used.contains(&idx) {
                    return Ok(idx);
                }
            }
        }
        let free = (0..self.capacity).filter(|i| !used.contains(i)).count();
        if free == 0 {
            return Err(StatusError::ListFull {
                capacity: self.capacity,
            });
        }
        let k = uniform_below(rng, free);
        (0..self.capacity)
            .filter(|i| !used.contains(i))
            .nth(k)
            .ok_or(StatusError::ListFull {
                capacity: self.capacity,
            })
    }
}

impl IndexAllocator {
    /// Picks up to `count` distinct indices among those in `0..capacity` not in `used`, for a
    /// batch of credentials: the same distribution as `count` calls of [`allocate`](Self::allocate)
    /// each recording its index (a uniformly random sample of the free indices, in random
    /// order), in one pass. Returns fewer than `count` only when the list fills up (then every
    /// free index), and `ListFull` when no index is free. The caller records them as used in the
    /// transaction that issues the credentials.
    ///
    /// While the list stays at most half full after the batch, this draws at random and retries
    /// on an index already used or picked (fewer than 2 draws per index on average); otherwise it
    /// shuffles the free indices partially (Fisher–Yates), O(capacity).
    pub fn allocate_many<S: BuildHasher>(
        &self,
        used: &HashSet<usize, S>,
        count: usize,
        rng: &mut (impl CryptoRng + RngCore),
    ) -> Result<Vec<usize>, StatusError> {
        let in_list = if used.len() <= self.capacity {
            used.iter().filter(|&&i| i < self.capacity).count()
        } else {
            (0..self.capacity).filter(|i| used.contains(i)).count()
        };
        let free = self.capacity - in_list;
        if free == 0 {
            return Err(StatusError::ListFull {
                capacity: self.capacity,
            });
        }
        let take = count.min(free);
        if in_list + take <= self.capacity / 2 {
            let mut picked = HashSet::with_capacity(take);
            let mut out = Vec::with_capacity(take);
            while out.len() < take {
                let idx = uniform_below(rng, self.capacity);
                if !used.contains(&idx) && picked.insert(idx) {
                    out.push(idx);
                }
            }
            return Ok(out);
        }
        let mut free: Vec<usize> = (0..self.capacity).filter(|i| !used.contains(i)).collect();
        for i in 0..take {
            let j = i + uniform_below(rng, free.len() - i);
            free.swap(i, j);
        }
        free.truncate(take);
        Ok(free)
    }
}

/// A uniform integer in `0..n` (`n` ≥ 1, at most 2^24), without modulo bias.
fn uniform_below(rng: &mut impl RngCore, n: usize) -> usize {
    // n ≤ MAX_ENTRIES = 2^24 fits in u32.
    let n = n.clamp(1, MAX_ENTRIES) as u32;
    // Reject the top `2^32 mod n` values so every residue is equally likely.
    let zone = u32::MAX - (u32::MAX - n + 1) % n;
    loop {
        let x = rng.next_u32();
        if x <= zone {
            return (x % n) as usize;
        }
    }
}

/// The path segment under an issuer's web origin where its lists go by default: list `n` at
/// `https://<host>/status/<n>` ([`default_status_base`]).
pub const DEFAULT_STATUS_PATH: &str = "status";

/// The default base URL of an issuer's status lists on `origin` (`https://hr.example` →
/// `https://hr.example/status`), for [`status_list_uri`].
pub fn default_status_base(origin: &str) -> String {
    format!("{}/{DEFAULT_STATUS_PATH}", origin.trim_end_matches('/'))
}

/// The URI of list number `number` (1, 2, …) under `base`, the URL under which the issuer
/// publishes its lists: `status_list_uri("https://hr.example/status", 3)` is
/// `https://hr.example/status/3`. A trailing `/` of `base` is ignored. The one place list URIs
/// are made: what credentials reference and where the issuer publishes must agree.
pub fn status_list_uri(base: &str, number: u64) -> String {
    format!("{}/{number}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn allocations_are_unique_random_and_end_in_list_full() {
        let alloc = IndexAllocator::new(20).unwrap_or_else(|e| panic!("{e}"));
        let mut used = HashSet::new();
        for _ in 0..20 {
            let idx = alloc
                .allocate(&used, &mut OsRng)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(idx < 20);
            assert!(used.insert(idx), "index {idx} given twice");
        }
        assert_eq!(
            alloc.allocate(&used, &mut OsRng),
            Err(StatusError::ListFull { capacity: 20 })
        );
    }

    fn seeded(seed: u8) -> rand_chacha::ChaCha20Rng {
        use rand_core::SeedableRng;
        rand_chacha::ChaCha20Rng::from_seed([seed; 32])
    }

    fn check_batch(batch: &[usize], used: &HashSet<usize>, capacity: usize) {
        let distinct: HashSet<usize> = batch.iter().copied().collect();
        assert_eq!(distinct.len(), batch.len(), "an index given twice");
        for idx in batch {
            assert!(*idx < capacity, "{idx} past the capacity");
            assert!(!used.contains(idx), "{idx} was already used");
        }
    }

    #[test]
    fn allocate_many_fills_a_list_exactly_then_says_list_full() {
        // 1,000 entries in batches of 300: sparse path first, dense path at the end.
        let alloc = IndexAllocator::new(1_000).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = seeded(1);
        let mut used = HashSet::new();
        let mut sizes = Vec::new();
        loop {
            match alloc.allocate_many(&used, 300, &mut rng) {
                Ok(batch) => {
                    check_batch(&batch, &used, 1_000);
                    sizes.push(batch.len());
                    used.extend(batch);
                }
                Err(e) => {
                    assert_eq!(e, StatusError::ListFull { capacity: 1_000 });
                    break;
                }
            }
        }
        assert_eq!(
            sizes,
            [300, 300, 300, 100],
            "the last batch gets what is left"
        );
        assert_eq!(used.len(), 1_000);
    }

    #[test]
    fn allocate_many_ignores_other_lists_indices_and_zero_is_empty() {
        let alloc = IndexAllocator::new(50).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = seeded(2);
        let foreign: HashSet<usize> = (50..5_000).chain([3, 7]).collect();
        let batch = alloc
            .allocate_many(&foreign, 100, &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.len(), 48, "every free index of the list, no more");
        check_batch(&batch, &foreign, 50);
        assert_eq!(alloc.allocate_many(&foreign, 0, &mut rng), Ok(Vec::new()));
    }

    #[test]
    fn allocate_many_is_uniform_and_not_sequential() {
        // Each of 8 indices, sampled 2 at a time 8,000 times: about 2,000 picks each, on both
        // the sparse path (empty list) and the dense path (half used).
        let alloc = IndexAllocator::new(16).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = seeded(3);
        for used in [HashSet::new(), (8..16).collect::<HashSet<usize>>()] {
            let free: Vec<usize> = (0..16).filter(|i| !used.contains(i)).collect();
            let mut counts = [0u32; 16];
            for _ in 0..8_000 {
                let batch = alloc
                    .allocate_many(&used, if used.is_empty() { 1 } else { 2 }, &mut rng)
                    .unwrap_or_else(|e| panic!("{e}"));
                check_batch(&batch, &used, 16);
                for idx in batch {
                    counts[idx] += 1;
                }
            }
            let total: u32 = counts.iter().sum();
            let expected = f64::from(total) / free.len() as f64;
            for i in free {
                let c = f64::from(counts[i]);
                assert!(
                    (c - expected).abs() < expected * 0.1,
                    "index {i}: {c} picks, expected about {expected}"
                );
            }
        }
        // A big batch in an empty list is not a run of neighbours.
        let batch = IndexAllocator::default()
            .allocate_many(&HashSet::new(), 1_000, &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        let sequential = batch.windows(2).filter(|w| w[1] == w[0] + 1).count();
        assert!(sequential < 5, "{sequential} neighbours in a row");
    }

    #[test]
    fn uniform_below_stays_in_range() {
        for n in [1usize, 2, 3, 7, 1 << 17, MAX_ENTRIES] {
            for _ in 0..100 {
                assert!(uniform_below(&mut OsRng, n) < n);
            }
        }
    }

    #[test]
    fn list_uris_are_numbered_under_their_base() {
        let base = default_status_base("https://hr.example/");
        assert_eq!(base, "https://hr.example/status");
        assert_eq!(status_list_uri(&base, 1), "https://hr.example/status/1");
        assert_eq!(
            status_list_uri("https://cdn.example/hr/lists/", 12),
            "https://cdn.example/hr/lists/12"
        );
    }

    #[test]
    fn capacity_limits() {
        assert_eq!(
            IndexAllocator::new(0),
            Err(StatusError::ListFull { capacity: 0 })
        );
        assert_eq!(
            IndexAllocator::new(MAX_ENTRIES + 1),
            Err(StatusError::TooManyEntries { max: MAX_ENTRIES })
        );
        assert_eq!(
            IndexAllocator::default().capacity(),
            IndexAllocator::DEFAULT_CAPACITY
        );
    }
}

//! The replay cache for rotating codes.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use govid_core::replay::{ReplayCache, ReplayError, FUTURE_SKEW_SECS};

const NOW: u64 = 1_767_300_000;
const WINDOW: u64 = 30;

fn key(i: u32) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..4].copy_from_slice(&i.to_be_bytes());
    k
}

#[test]
fn accepted_once_then_replayed() {
    let mut cache = ReplayCache::new(WINDOW, 100);
    assert_eq!(cache.check_and_insert(key(1), NOW, NOW), Ok(()));
    assert_eq!(
        cache.check_and_insert(key(1), NOW, NOW),
        Err(ReplayError::Replayed)
    );
    assert_eq!(
        cache.check_and_insert(key(1), NOW, NOW + WINDOW),
        Err(ReplayError::Replayed)
    );
    assert_eq!(cache.check_and_insert(key(2), NOW, NOW + 1), Ok(()));
    assert_eq!(cache.len(), 2);
}

#[test]
fn window_bounds() {
    let mut cache = ReplayCache::new(WINDOW, 100);
    assert_eq!(cache.check_and_insert(key(1), NOW - WINDOW, NOW), Ok(()));
    assert_eq!(
        cache.check_and_insert(key(2), NOW - WINDOW - 1, NOW),
        Err(ReplayError::OutsideWindow)
    );
    assert_eq!(
        cache.check_and_insert(key(3), NOW + FUTURE_SKEW_SECS, NOW),
        Ok(())
    );
    assert_eq!(
        cache.check_and_insert(key(4), NOW + FUTURE_SKEW_SECS + 1, NOW),
        Err(ReplayError::OutsideWindow)
    );
    // Clock extremes saturate instead of overflowing.
    let mut cache = ReplayCache::new(WINDOW, 100);
    assert_eq!(cache.check_and_insert(key(5), 0, 0), Ok(()));
    assert_eq!(cache.check_and_insert(key(6), u64::MAX, u64::MAX), Ok(()));
    assert_eq!(
        cache.check_and_insert(key(6), u64::MAX, u64::MAX),
        Err(ReplayError::Replayed)
    );
    let mut cache = ReplayCache::new(u64::MAX, 100);
    assert_eq!(cache.check_and_insert(key(7), 0, u64::MAX), Ok(()));
}

#[test]
fn rejected_after_the_window_even_once_pruned() {
    let mut cache = ReplayCache::new(WINDOW, 100);
    assert_eq!(cache.check_and_insert(key(1), NOW, NOW), Ok(()));
    let later = NOW + WINDOW + FUTURE_SKEW_SECS + 1;
    cache.prune(later);
    assert!(cache.is_empty());
    assert_eq!(
        cache.check_and_insert(key(1), NOW, later),
        Err(ReplayError::OutsideWindow)
    );
    // A clock stepped back does not revive it.
    assert_eq!(
        cache.check_and_insert(key(1), NOW, NOW),
        Err(ReplayError::OutsideWindow)
    );
}

#[test]
fn a_future_iat_is_remembered_until_it_expires() {
    let mut cache = ReplayCache::new(WINDOW, 100);
    let iat = NOW + FUTURE_SKEW_SECS;
    assert_eq!(cache.check_and_insert(key(1), iat, NOW), Ok(()));
    // The last second at which this iat still passes the window.
    assert_eq!(
        cache.check_and_insert(key(1), iat, iat + WINDOW),
        Err(ReplayError::Replayed)
    );
}

#[test]
fn pruning_keeps_memory_bounded() {
    let max = 1000;
    let mut cache = ReplayCache::new(WINDOW, max);
    // 10 codes per second for an hour: never full, never more than the window's worth.
    let per_window = 10 * (WINDOW + FUTURE_SKEW_SECS + 1) as usize;
    for i in 0..36_000u32 {
        let now = NOW + u64::from(i / 10);
        assert_eq!(cache.check_and_insert(key(i), now, now), Ok(()), "code {i}");
        assert!(cache.len() <= per_window, "len {} at {i}", cache.len());
    }
}

#[test]
fn full_of_unexpired_entries_refuses_instead_of_evicting() {
    let mut cache = ReplayCache::new(WINDOW, 3);
    for i in 0..3 {
        assert_eq!(cache.check_and_insert(key(i), NOW, NOW), Ok(()));
    }
    assert_eq!(
        cache.check_and_insert(key(9), NOW, NOW),
        Err(ReplayError::CacheFull)
    );
    // Nothing was evicted: the old keys are still refused as replays.
    assert_eq!(
        cache.check_and_insert(key(0), NOW, NOW),
        Err(ReplayError::Replayed)
    );
    // Once they expire there is room again.
    let later = NOW + WINDOW + FUTURE_SKEW_SECS + 1;
    assert_eq!(cache.check_and_insert(key(9), later, later), Ok(()));
    assert_eq!(cache.len(), 1);
}

/// A cache that starts after a restart it cannot vouch for refuses codes made before it started,
/// and judges later ones as usual.
#[test]
fn a_cache_with_a_history_start_refuses_older_codes() {
    let mut cache = ReplayCache::with_history_from(WINDOW, 100, NOW);
    assert_eq!(cache.history_from(), NOW);
    assert_eq!(
        cache.check_and_insert(key(1), NOW - 1, NOW),
        Err(ReplayError::BeforeHistory)
    );
    assert_eq!(cache.check_and_insert(key(1), NOW, NOW), Ok(()));
    assert_eq!(
        cache.check_and_insert(key(1), NOW, NOW + 1),
        Err(ReplayError::Replayed)
    );
    // Outside the window is still named as such.
    assert_eq!(
        cache.check_and_insert(key(2), NOW - WINDOW - 1, NOW),
        Err(ReplayError::OutsideWindow)
    );
    assert_eq!(ReplayCache::new(WINDOW, 100).history_from(), 0);
}

/// Keys kept across a restart are refused as replays until they expire, whatever order they
/// come back in; expired ones are not taken back.
#[test]
fn remembered_keys_are_refused_until_they_expire() {
    let mut first = ReplayCache::new(WINDOW, 100);
    let mut kept = Vec::new();
    for i in 0..5 {
        let t = NOW + u64::from(i);
        kept.push((key(i), first.check_and_remember(key(i), t, t).unwrap()));
    }
    kept.reverse();
    let restart = NOW + 10;
    let mut second = ReplayCache::new(WINDOW, 100);
    second.prune(restart);
    second.remember(key(99), restart - 1);
    for (k, expires_at) in &kept {
        second.remember(*k, *expires_at);
    }
    assert_eq!(second.len(), 5, "the expired key is not taken back");
    for i in 0..5 {
        assert_eq!(
            second.check_and_insert(key(i), restart, restart),
            Err(ReplayError::Replayed),
            "key {i}"
        );
    }
    // Each one goes when it expires, in order.
    let (_, soonest) = kept[kept.len() - 1];
    second.prune(soonest + 1);
    assert_eq!(second.len(), 4);
    second.prune(soonest + 5);
    assert!(second.is_empty());
}

/// Regression: `check` accepted a KB-JWT `iat` up to 60 s in the future and `serve` 30 s. One
/// constant now serves the KB-JWT rule and the replay cache.
#[test]
fn the_kb_jwt_rule_and_the_replay_cache_share_one_future_skew() {
    use govid_core::sdjwt::{KbWindow, KB_MAX_FUTURE_SECS};
    assert_eq!(KbWindow::default().max_future, KB_MAX_FUTURE_SECS);
    assert_eq!(FUTURE_SKEW_SECS, KB_MAX_FUTURE_SECS);
    assert_eq!(KB_MAX_FUTURE_SECS, 30);
}

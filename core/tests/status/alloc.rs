//! Index allocation: unique, uniformly random, and `ListFull` at the end.

use std::collections::HashSet;

use govid_core::status::{status_list_uri, IndexAllocator, StatusError};
use rand_core::OsRng;

#[test]
fn ten_thousand_allocations_are_distinct_and_not_sequential() {
    let alloc = IndexAllocator::default();
    let capacity = alloc.capacity();
    assert_eq!(capacity, 131_072);
    let mut used = HashSet::new();
    let mut order = Vec::new();
    for _ in 0..10_000 {
        let idx = alloc.allocate(&used, &mut OsRng).expect("room");
        assert!(idx < capacity);
        assert!(used.insert(idx), "index {idx} given twice");
        order.push(idx);
    }
    // Sequential allocation would make almost every step +1; random makes it rare
    // (expected ≈ 10,000 / 131,072 < 1).
    let steps_of_one = order.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(steps_of_one < 10, "{steps_of_one} sequential steps");
    // Spread over the whole list: each sixteenth gets 625 ± a few dozen.
    let mut buckets = [0usize; 16];
    for idx in &order {
        buckets[idx * 16 / capacity] += 1;
    }
    assert!(
        buckets.iter().all(|&n| (450..=800).contains(&n)),
        "{buckets:?}"
    );
}

#[test]
fn a_dense_list_still_allocates_uniformly_among_the_free() {
    let alloc = IndexAllocator::new(1000).expect("capacity");
    let free = [3usize, 250, 251, 600, 999];
    let used: HashSet<usize> = (0..1000).filter(|i| !free.contains(i)).collect();
    let mut seen = HashSet::new();
    for _ in 0..500 {
        let idx = alloc.allocate(&used, &mut OsRng).expect("room");
        assert!(free.contains(&idx), "{idx} is used");
        seen.insert(idx);
    }
    assert_eq!(seen.len(), free.len(), "every free index gets picked");
}

#[test]
fn a_full_list_is_list_full() {
    let alloc = IndexAllocator::new(64).expect("capacity");
    let mut used = HashSet::new();
    while let Ok(idx) = alloc.allocate(&used, &mut OsRng) {
        assert!(used.insert(idx));
    }
    assert_eq!(used.len(), 64);
    assert_eq!(
        alloc.allocate(&used, &mut OsRng),
        Err(StatusError::ListFull { capacity: 64 })
    );
    // Used indices past the capacity (another list's) do not matter.
    let foreign: HashSet<usize> = (64..10_000).collect();
    assert!(alloc.allocate(&foreign, &mut OsRng).is_ok());
    // ... and the caller moves on to the next list.
    assert_eq!(
        status_list_uri("https://hr.example/status", 2),
        "https://hr.example/status/2"
    );
}

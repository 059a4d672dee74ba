//! A per-client token bucket, keyed by IP address: the gate's and the issuer service's limit.
//!
//! No clock or I/O: the caller passes `now`. (The map's hasher is std's randomly keyed one, so a
//! client cannot choose addresses that collide.)
//!
//! Each IP gets `burst` tokens, refilled at `per_sec` per second; a request takes one. The table
//! is sharded by address hash and bounded: when a shard is full, buckets that are full again
//! (idle clients) are dropped first, and if none is, the oldest is.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

const SHARDS: usize = 16;
/// Most clients tracked per shard.
const MAX_PER_SHARD: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The limiter. `per_sec == 0` disables it.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl RateLimiter {
    /// A limiter allowing `per_sec` requests a second per address, in bursts of `burst`.
    pub fn new(per_sec: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_sec),
            burst: f64::from(burst.max(1)),
            hasher: std::collections::hash_map::RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Whether a request from `ip` at `now` may go ahead (and takes a token if so).
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        if self.per_sec <= 0.0 {
            return true;
        }
        let shard = (self.hasher.hash_one(ip) as usize) % SHARDS;
        let mut map = self.shards[shard]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !map.contains_key(&ip) && map.len() >= MAX_PER_SHARD {
            self.evict(&mut map, now);
        }
        let bucket = map.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn evict(&self, map: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let refill = self.burst / self.per_sec;
        map.retain(|_, b| now.saturating_duration_since(b.last).as_secs_f64() < refill);
        if map.len() >= MAX_PER_SHARD {
            if let Some(oldest) = map.iter().min_by_key(|(_, b)| b.last).map(|(ip, _)| *ip) {
                map.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_ip() {
        let rl = RateLimiter::new(2, 3);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let t = Instant::now();
        assert!((0..3).all(|_| rl.allow(a, t)));
        assert!(!rl.allow(a, t));
        assert!(rl.allow(b, t));
        assert!(rl.allow(a, t + Duration::from_millis(600)));
        assert!(!rl.allow(a, t + Duration::from_millis(600)));
    }

    #[test]
    fn zero_disables() {
        let rl = RateLimiter::new(0, 1);
        let a: IpAddr = [127, 0, 0, 1].into();
        assert!((0..1000).all(|_| rl.allow(a, Instant::now())));
    }

    #[test]
    fn table_stays_bounded() {
        let rl = RateLimiter::new(1, 1);
        let t = Instant::now();
        for i in 0..(SHARDS * MAX_PER_SHARD + 5000) as u32 {
            rl.allow(IpAddr::from(i.to_be_bytes()), t);
        }
        let total: usize = rl
            .shards
            .iter()
            .map(|s| s.lock().map(|m| m.len()).unwrap_or(0))
            .sum();
        assert!(total <= SHARDS * MAX_PER_SHARD);
    }
}

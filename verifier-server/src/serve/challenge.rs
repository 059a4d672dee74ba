//! Challenge mode: the gate makes a one-time nonce, shows it as a `GVC1:` code, and accepts one
//! presentation whose KB-JWT carries it.
//!
//! At most `max` challenges are outstanding in all, and at most `max_per_client` for one client
//! ([`client_key`]), so one client cannot fill the pool and lock every other one out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use govid_core::qr::challenge::CHALLENGE_VERSION;
use govid_core::qr::{encode_challenge, GateChallenge};

use super::client::client_key;

/// Random bytes in a nonce: 128 bits.
pub(crate) const NONCE_BYTES: usize = 16;

/// An outstanding challenge: when it expires, and for which client it was made.
#[derive(Clone, Copy, Debug)]
struct Pending {
    exp: u64,
    client: IpAddr,
}

/// The outstanding challenges, by nonce.
#[derive(Debug)]
pub(crate) struct Challenges {
    pending: Mutex<HashMap<String, Pending>>,
    max: usize,
    max_per_client: usize,
}

/// Why no challenge could be made.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChallengeRefusal {
    /// Too many unanswered, unexpired challenges.
    TooMany,
    /// This client has `max_per_client` unanswered, unexpired challenges; the earliest expires
    /// in `retry_after` seconds.
    TooManyForClient { retry_after: u64 },
    /// The codec refused the challenge (a misconfigured audience or claim).
    Invalid(String),
}

impl Challenges {
    /// At most `max` outstanding challenges, `max_per_client` of them for one client.
    pub(crate) fn new(max: usize, max_per_client: usize) -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            max,
            max_per_client,
        }
    }

    /// Makes a challenge for `aud` asking for `claims`, valid `ttl` seconds from `now`, for the
    /// client at `client`; returns it with its `GVC1:` text.
    pub(crate) fn create(
        &self,
        aud: &str,
        claims: Vec<String>,
        ttl: u64,
        now: u64,
        client: IpAddr,
    ) -> Result<(GateChallenge, String), ChallengeRefusal> {
        let challenge = GateChallenge {
            aud: aud.to_owned(),
            nonce: super::random_token(NONCE_BYTES),
            claims,
            exp: now.saturating_add(ttl),
            v: CHALLENGE_VERSION,
        };
        let text =
            encode_challenge(&challenge).map_err(|e| ChallengeRefusal::Invalid(e.to_string()))?;
        let client = client_key(client);
        let mut pending = self.lock();
        pending.retain(|_, p| p.exp > now);
        let (mut held, mut earliest) = (0usize, u64::MAX);
        for p in pending.values().filter(|p| p.client == client) {
            held += 1;
            earliest = earliest.min(p.exp);
        }
        if held >= self.max_per_client {
            return Err(ChallengeRefusal::TooManyForClient {
                retry_after: earliest.saturating_sub(now).max(1),
            });
        }
        if pending.len() >= self.max {
            return Err(ChallengeRefusal::TooMany);
        }
        let entry = Pending {
            exp: challenge.exp,
            client,
        };
        pending.insert(challenge.nonce.clone(), entry);
        Ok((challenge, text))
    }

    /// Whether `nonce` is an outstanding, unexpired challenge.
    pub(crate) fn is_pending(&self, nonce: &str, now: u64) -> bool {
        self.lock().get(nonce).is_some_and(|p| p.exp > now)
    }

    /// Uses up `nonce`; `false` if it was not outstanding (used, expired or never made).
    pub(crate) fn take(&self, nonce: &str, now: u64) -> bool {
        self.lock().remove(nonce).is_some_and(|p| p.exp > now)
    }

    /// How many are outstanding (expired ones included until the next `create`).
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use govid_core::qr::decode_challenge;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn a_nonce_is_usable_once_and_expires() {
        let c = Challenges::new(10, 10);
        let (ch, text) = c
            .create(
                "https://gate.example",
                vec!["given_name".into()],
                60,
                1000,
                A,
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(decode_challenge(&text, 1001).ok(), Some(ch.clone()));
        assert!(ch.nonce.len() >= 22);
        assert!(c.is_pending(&ch.nonce, 1001));
        assert!(!c.is_pending(&ch.nonce, 1060));
        assert!(c.take(&ch.nonce, 1001));
        assert!(!c.take(&ch.nonce, 1001));
    }

    #[test]
    fn bounded() {
        let c = Challenges::new(2, 2);
        assert!(c.create("a", vec![], 60, 1000, A).is_ok());
        assert!(c.create("a", vec![], 60, 1000, B).is_ok());
        assert_eq!(
            c.create("a", vec![], 60, 1000, A).err(),
            Some(ChallengeRefusal::TooMany)
        );
        // Expired ones make room.
        assert!(c.create("a", vec![], 60, 2000, A).is_ok());
    }

    #[test]
    fn one_client_cannot_fill_the_pool() {
        let c = Challenges::new(100, 2);
        assert!(c.create("a", vec![], 60, 1000, A).is_ok());
        assert!(c.create("a", vec![], 60, 1010, A).is_ok());
        assert_eq!(
            c.create("a", vec![], 60, 1020, A).err(),
            Some(ChallengeRefusal::TooManyForClient { retry_after: 40 })
        );
        // Another client is still served.
        assert!(c.create("a", vec![], 60, 1020, B).is_ok());
        // An answered challenge frees its client's share.
        let (ch, _) = c
            .create("a", vec![], 60, 1020, B)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(c.create("a", vec![], 60, 1020, B).is_err());
        assert!(c.take(&ch.nonce, 1021));
        assert!(c.create("a", vec![], 60, 1021, B).is_ok());
        // As do expired ones.
        assert!(c.create("a", vec![], 60, 1061, A).is_ok());
    }
}

//! Challenge mode: the gate makes a one-time nonce, shows it as a `GVC1:` code, and accepts one
//! presentation whose KB-JWT carries it.

use std::collections::HashMap;
use std::sync::Mutex;

use govid_core::b64;
use govid_core::qr::challenge::CHALLENGE_VERSION;
use govid_core::qr::{encode_challenge, GateChallenge};
use rand_core::RngCore;

/// Random bytes in a nonce: 128 bits.
pub(crate) const NONCE_BYTES: usize = 16;

/// The outstanding challenges, by nonce.
#[derive(Debug)]
pub(crate) struct Challenges {
    pending: Mutex<HashMap<String, u64>>,
    max: usize,
}

/// Why no challenge could be made.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChallengeRefusal {
    /// Too many unanswered, unexpired challenges.
    TooMany,
    /// The codec refused the challenge (a misconfigured audience or claim).
    Invalid(String),
}

impl Challenges {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            max,
        }
    }

    /// Makes a challenge for `aud` asking for `claims`, valid `ttl` seconds from `now`; returns
    /// it with its `GVC1:` text.
    pub(crate) fn create(
        &self,
        aud: &str,
        claims: Vec<String>,
        ttl: u64,
        now: u64,
    ) -> Result<(GateChallenge, String), ChallengeRefusal> {
        let mut bytes = [0u8; NONCE_BYTES];
        rand_core::OsRng.fill_bytes(&mut bytes);
        let challenge = GateChallenge {
            aud: aud.to_owned(),
            nonce: b64::encode(bytes),
            claims,
            exp: now.saturating_add(ttl),
            v: CHALLENGE_VERSION,
        };
        let text =
            encode_challenge(&challenge).map_err(|e| ChallengeRefusal::Invalid(e.to_string()))?;
        let mut pending = self.lock();
        pending.retain(|_, exp| *exp > now);
        if pending.len() >= self.max {
            return Err(ChallengeRefusal::TooMany);
        }
        pending.insert(challenge.nonce.clone(), challenge.exp);
        Ok((challenge, text))
    }

    /// Whether `nonce` is an outstanding, unexpired challenge.
    pub(crate) fn is_pending(&self, nonce: &str, now: u64) -> bool {
        self.lock().get(nonce).is_some_and(|exp| *exp > now)
    }

    /// Uses up `nonce`; `false` if it was not outstanding (used, expired or never made).
    pub(crate) fn take(&self, nonce: &str, now: u64) -> bool {
        self.lock().remove(nonce).is_some_and(|exp| exp > now)
    }

    /// How many are outstanding (expired ones included until the next `create`).
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use govid_core::qr::decode_challenge;

    #[test]
    fn a_nonce_is_usable_once_and_expires() {
        let c = Challenges::new(10);
        let (ch, text) = c
            .create("https://gate.example", vec!["given_name".into()], 60, 1000)
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
        let c = Challenges::new(2);
        for _ in 0..2 {
            assert!(c.create("a", vec![], 60, 1000).is_ok());
        }
        assert_eq!(
            c.create("a", vec![], 60, 1000).err(),
            Some(ChallengeRefusal::TooMany)
        );
        // Expired ones make room.
        assert!(c.create("a", vec![], 60, 2000).is_ok());
    }
}

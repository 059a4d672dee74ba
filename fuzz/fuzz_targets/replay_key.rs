//! Fuzzes the replay key of a gate code: whatever is done to a used code, a variant that still
//! verifies has the same replay key (and so is refused as a replay), unless what the holder
//! signed changed; and for any text that verifies, the key is the SHA-256 of the KB-JWT's
//! signing input.
//!
//! The first byte picks how the rest is used:
//! 0. the rest replaces the KB-JWT's signature of a used ES256 code (base64url of the bytes;
//!    the signature's (r, n − s) twin is one such variant, checked once at start);
//! 1. the rest is spliced into the used code at a position the next byte picks;
//! 2. the rest is a presentation on its own.
#![no_main]

use std::sync::OnceLock;

use govid_core::b64;
use govid_core::jose::{Signer, SoftwareSigner};
use govid_core::replay::{ReplayCache, ReplayError};
use govid_core::sdjwt::{
    issue, verify, ClaimNode, HeldSdJwt, IssueOptions, KbExpectation, KbRequest, VerifyPolicy,
};
use govid_core::trust::PinnedKeys;
use libfuzzer_sys::fuzz_target;
use rand_core::SeedableRng as _;
use sha2::{Digest as _, Sha256};

const NOW: u64 = 1_800_000_000;
const AUD: &str = "https://gate.example";

struct Fixture {
    trusted: PinnedKeys,
    policy: VerifyPolicy,
    used: String,
    used_key: [u8; 32],
}

/// A deterministic P-256 key from a fixed seed (reproducible crashes).
fn p256_signer(seed: u8) -> SoftwareSigner {
    let mut bytes = [seed; 32];
    bytes[0] = 1;
    SoftwareSigner::P256(p256::ecdsa::SigningKey::from_slice(&bytes).expect("constant key"))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let issuer = p256_signer(7);
        let holder = p256_signer(9);
        let trusted = PinnedKeys::single(issuer.public_key());
        let policy = VerifyPolicy {
            sd_jwt_vc: true,
            key_binding: Some(KbExpectation {
                aud: AUD.to_owned(),
                nonce: None,
            }),
            ..VerifyPolicy::default()
        };
        let claims = ClaimNode::object()
            .plain("iss", "https://issuer.example")
            .plain("vct", "https://govid.example/vct/test")
            .plain("exp", NOW + 3600)
            .plain("cnf", serde_json::json!({ "jwk": holder.public_key().to_jwk() }))
            .sd("given_name", "Amira");
        let options = IssueOptions {
            typ: Some("dc+sd-jwt".to_owned()),
            ..IssueOptions::default()
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let issued = issue(&claims, &options, &issuer, &mut rng).expect("issue");
        let held = HeldSdJwt::receive(&issued.compact(), &policy, &trusted, NOW).expect("receive");
        let request = KbRequest {
            aud: AUD.to_owned(),
            nonce: "rotating-1".to_owned(),
            iat: NOW,
        };
        let used = held
            .present(&held.disclosable_paths(), Some((&request, &holder)))
            .expect("present");
        let kb = verify(&used, &policy, &trusted, NOW)
            .expect("valid presentation")
            .key_binding
            .expect("key binding");
        // The twin every attacker can compute verifies, and is the same code.
        let (head, sig) = used.rsplit_once('.').expect("compact");
        let sig = p256::ecdsa::Signature::from_slice(&b64::decode(sig).expect("b64")).expect("sig");
        let (r, s) = sig.split_scalars();
        let twin = p256::ecdsa::Signature::from_scalars(r, -*s).expect("twin");
        let twin = format!("{head}.{}", b64::encode(twin.to_bytes()));
        let twin_kb = verify(&twin, &policy, &trusted, NOW).expect("twin verifies");
        assert_eq!(twin_kb.key_binding.expect("kb").replay_key, kb.replay_key);
        Fixture {
            trusted,
            policy,
            used,
            used_key: kb.replay_key,
        }
    })
}

/// Verifies `text`; if it passes, its key must be the SHA-256 of its KB-JWT's signing input, and
/// when that input is the used code's, the replay cache must refuse it.
fn check(f: &Fixture, text: &str) {
    let Ok(verified) = verify(text, &f.policy, &f.trusted, NOW) else {
        return;
    };
    let Some(kb) = verified.key_binding else {
        return;
    };
    let kb_text = text.rsplit('~').next().unwrap_or_default();
    let signing_input = kb_text.rsplit_once('.').map_or(kb_text, |(head, _)| head);
    let expected: [u8; 32] = Sha256::digest(signing_input.as_bytes()).into();
    assert_eq!(kb.replay_key, expected, "replay key is not over the signing input");
    let used_input = f.used.rsplit_once('.').map(|(head, _)| head).unwrap_or_default();
    let used_kb_input = used_input.rsplit('~').next().unwrap_or_default();
    if signing_input == used_kb_input {
        assert_eq!(kb.replay_key, f.used_key);
        let mut cache = ReplayCache::new(300, 16);
        assert_eq!(cache.check_and_insert(f.used_key, NOW, NOW), Ok(()));
        assert_eq!(
            cache.check_and_insert(kb.replay_key, kb.iat, NOW),
            Err(ReplayError::Replayed),
            "a variant of a used code passed the replay cache"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    match mode % 3 {
        0 => {
            let head = f.used.rsplit_once('.').map(|(h, _)| h).unwrap_or_default();
            check(f, &format!("{head}.{}", b64::encode(rest)));
        }
        1 => {
            let Some((&at, junk)) = rest.split_first() else {
                return;
            };
            let Ok(junk) = std::str::from_utf8(junk) else {
                return;
            };
            let mut at = usize::from(at) * f.used.len() / 256;
            while !f.used.is_char_boundary(at) {
                at -= 1;
            }
            check(f, &format!("{}{junk}{}", &f.used[..at], &f.used[at..]));
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                check(f, text);
            }
        }
    }
});

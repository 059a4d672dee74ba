//! Fuzzes SD-JWT verification: `sdjwt::verify` (under a plain and a gate policy) and
//! `HeldSdJwt::receive` must never panic, whatever the text.
//!
//! The first byte picks how the rest is used, so the fuzzer also gets past the issuer signature:
//! 0. the presentation itself;
//! 1. `<payload>\n<tail>`: the payload is signed with the pinned issuer key, `~<tail>` appended,
//!    so disclosure processing sees arbitrary payloads and disclosures;
//! 2. spliced into a valid presentation (issued once, with disclosures and a KB-JWT).
#![no_main]

use std::sync::OnceLock;

use govid_core::b64;
use govid_core::jose::{Signer, SoftwareSigner};
use govid_core::sdjwt::{
    issue, ClaimNode, HeldSdJwt, IssueOptions, KbExpectation, KbRequest, VerifyPolicy,
};
use govid_core::trust::PinnedKeys;
use libfuzzer_sys::fuzz_target;
use rand_core::{CryptoRng, RngCore};

/// RFC 8037 §A.1's Ed25519 key: the pinned issuer, and the holder.
const KEY_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
const NOW: u64 = 1_800_000_000;
const AUD: &str = "https://gate.example";
const NONCE: &str = "n-1";

/// A deterministic RNG, so that every run issues the same credential (reproducible crashes).
struct Counter(u64);

impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = (self.next_u64() >> 56) as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// Not cryptographic: only salts of a fuzzing fixture come from it.
impl CryptoRng for Counter {}

struct Fixture {
    key: SoftwareSigner,
    trusted: PinnedKeys,
    policies: [VerifyPolicy; 2],
    valid: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let jwk = serde_json::from_str(KEY_JWK).expect("constant JWK");
        let key = SoftwareSigner::from_private_jwk(&jwk).expect("constant JWK");
        let trusted = PinnedKeys::single(key.public_key());
        let gate = VerifyPolicy {
            sd_jwt_vc: true,
            key_binding: Some(KbExpectation {
                aud: AUD.to_owned(),
                nonce: Some(NONCE.to_owned()),
            }),
            ..VerifyPolicy::default()
        };
        let claims = ClaimNode::object()
            .plain("iss", "https://issuer.example")
            .plain("vct", "https://govid.example/vct/test")
            .plain("exp", NOW + 3600)
            .plain("cnf", serde_json::json!({ "jwk": key.public_key().to_jwk() }))
            .sd("given_name", "Amira")
            .sd("org", ClaimNode::object().sd("code", "MOT").plain("n", 1u64))
            .sd("zones", ClaimNode::array().push_sd("A").push_plain("B"));
        let options = IssueOptions {
            typ: Some("dc+sd-jwt".to_owned()),
            ..IssueOptions::default()
        };
        let issued = issue(&claims, &options, &key, &mut Counter(1)).expect("issue");
        let held = HeldSdJwt::receive(&issued.compact(), &gate, &trusted, NOW).expect("receive");
        let request = KbRequest {
            aud: AUD.to_owned(),
            nonce: NONCE.to_owned(),
            iat: NOW,
        };
        let valid = held
            .present(&held.disclosable_paths(), Some((&request, &key)))
            .expect("present");
        govid_core::sdjwt::verify(&valid, &gate, &trusted, NOW).expect("valid presentation");
        Fixture {
            key,
            trusted,
            policies: [VerifyPolicy::default(), gate],
            valid,
        }
    })
}

fn check(f: &Fixture, presentation: &str) {
    for policy in &f.policies {
        let _ = govid_core::sdjwt::verify(presentation, policy, &f.trusted, NOW);
    }
    let _ = HeldSdJwt::receive(presentation, &f.policies[0], &f.trusted, NOW);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let f = fixture();
    match mode % 3 {
        0 => check(f, text),
        1 => {
            let (payload, tail) = text.split_once('\n').unwrap_or((text, ""));
            let input = format!("{}.{}", b64::encode(r#"{"alg":"EdDSA"}"#), b64::encode(payload));
            let Ok(signature) = f.key.sign(input.as_bytes()) else {
                return;
            };
            check(f, &format!("{input}.{}~{tail}", b64::encode(signature)));
        }
        _ => {
            let Some((&at, junk)) = text.as_bytes().split_first() else {
                return;
            };
            let Ok(junk) = std::str::from_utf8(junk) else {
                return;
            };
            let mut at = usize::from(at) * f.valid.len() / 256;
            while !f.valid.is_char_boundary(at) {
                at -= 1;
            }
            check(f, &format!("{}{junk}{}", &f.valid[..at], &f.valid[at..]));
        }
    }
});

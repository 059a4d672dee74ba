//! Property tests of [`decide`]: no input makes it panic, and nothing but an intact, fresh,
//! never-used code is allowed.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use govid_core::credential::{
    issue_worker_id, GateProfile, Organization, StatusListRef, Validity, WorkerClaims,
    WorkerIdParams,
};
use govid_core::jose::{Algorithm, SignatureCache, Signer as _, SoftwareSigner};
use govid_core::qr::encode_presentation;
use govid_core::replay::ReplayCache;
use govid_core::sdjwt::{Decoys, HeldSdJwt, HolderKeyCache, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use proptest::prelude::*;
use rand_core::OsRng;

use super::{decide, Context};
use crate::serve::cache::Cache;
use crate::serve::challenge::Challenges;
use crate::serve::config::{FileConfig, GateConfig, PinnedJwk};
use crate::serve::gatelog::Salt;
use crate::serve::Gate;

const AUD: &str = "https://gate.example/a";
const NOW: u64 = 1_800_000_000;

struct Fixture {
    gate: Gate,
    cache: Arc<Cache>,
    challenges: Challenges,
    salt: Salt,
    /// Shared by every run, so mutated keys meet keys decoded before.
    holder_keys: HolderKeyCache,
    /// Shared too, and warm: the genuine presentation's issuer signature is remembered, so a
    /// mutated copy that keeps the signed part meets the memo.
    issuer_signatures: SignatureCache,
    notify: tokio::sync::Notify,
    /// A compact presentation the gate would allow (status aside: `unknown_status = allow`).
    presentation: String,
}

fn fixture() -> Fixture {
    let issuer = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    let holder = SoftwareSigner::generate(Algorithm::EdDSA, &mut OsRng);
    // One directory per fixture: the property tests build theirs on parallel threads.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("govid-decide-props-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jwk = dir.join("issuer.jwk");
    std::fs::write(&jwk, issuer.public_key().to_jwk().to_string()).unwrap();
    let mut file = FileConfig::default();
    file.gate.audience = Some(AUD.into());
    file.gate.unknown_status = Some("allow".into());
    file.trust.jwks.push(PinnedJwk {
        file: jwk,
        iss: None,
    });
    let config = GateConfig::from_file(file).unwrap();
    let cache = Arc::new(Cache::default());
    let gate = Gate::new(config, &cache, None, false).unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let claims = WorkerClaims {
        given_name: "A".into(),
        family_name: "B".into(),
        employee_number: "1".into(),
        organization: Organization {
            name: "O".into(),
            code: "C".into(),
        },
        department: None,
        position: None,
        grade: None,
        clearance: None,
        birthdate: None,
        portrait: None,
        access_zones: Vec::new(),
    };
    let holder_key = holder.public_key();
    let params = WorkerIdParams {
        issuer: "did:web:hr.example",
        holder_key: &holder_key,
        validity: Validity {
            issued_at: NOW - 100,
            not_before: NOW - 100,
            expires_at: NOW + 100_000,
        },
        status: Some(StatusListRef {
            idx: 1,
            uri: "https://hr.example/status/1".into(),
        }),
        decoys: Decoys::NONE,
    };
    let issued = issue_worker_id(&claims, &params, &issuer, &mut OsRng)
        .unwrap()
        .compact();
    let policy = VerifyPolicy {
        sd_jwt_vc: true,
        ..VerifyPolicy::default()
    };
    let held = HeldSdJwt::receive(
        &issued,
        &policy,
        &PinnedKeys::single(issuer.public_key()),
        NOW,
    )
    .unwrap();
    let request = KbRequest {
        aud: AUD.into(),
        nonce: "nonce-nonce-nonce-1".into(),
        iat: NOW,
    };
    let presentation = held
        .present(&GateProfile::Entry.claims(), Some((&request, &holder)))
        .unwrap();
    let f = Fixture {
        gate,
        cache,
        challenges: Challenges::new(10, 10),
        salt: Salt::ephemeral(),
        holder_keys: HolderKeyCache::new(64),
        issuer_signatures: SignatureCache::new(64),
        notify: tokio::sync::Notify::new(),
        presentation,
    };
    let warm = run(&f, &f.presentation);
    assert!(warm.allow, "{}", warm.reason);
    assert_eq!(f.issuer_signatures.len(), 1);
    f
}

fn run(f: &Fixture, text: &str) -> super::Decision {
    let replay = Mutex::new(ReplayCache::new(60, 1000));
    let ctx = Context {
        cache: &f.cache,
        replay: &replay,
        holder_keys: &f.holder_keys,
        issuer_signatures: &f.issuer_signatures,
        challenges: &f.challenges,
        salt: &f.salt,
        refresh_now: &f.notify,
    };
    decide(&f.gate, &ctx, text, None, NOW)
}

#[test]
fn the_fixture_is_allowed_once_and_as_gv1() {
    let f = fixture();
    let d = run(&f, &f.presentation);
    assert!(d.allow, "{}", d.reason);
    assert_eq!(d.credential_status, Some("unknown"));
    let d = run(&f, &encode_presentation(&f.presentation).unwrap());
    assert!(d.allow, "{}", d.reason);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_text_is_denied_without_panicking(s in any::<String>()) {
        let f = FIXTURE.with(|f| f.clone());
        let d = run(&f, &s);
        prop_assert!(!d.allow);
        let d = run(&f, &format!("GV1:{s}"));
        prop_assert!(!d.allow);
    }

    #[test]
    fn a_changed_presentation_is_never_allowed(pos in any::<prop::sample::Index>(), byte in 32u8..127) {
        let f = FIXTURE.with(|f| f.clone());
        let mut bytes = f.presentation.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let changed = String::from_utf8(bytes).unwrap();
        let d = run(&f, &changed);
        prop_assert!(!d.allow, "allowed with byte {} at {}", byte, i);
    }

    #[test]
    fn a_truncated_presentation_is_never_allowed(cut in any::<prop::sample::Index>()) {
        let f = FIXTURE.with(|f| f.clone());
        let i = cut.index(f.presentation.len());
        let d = run(&f, &f.presentation[..i]);
        prop_assert!(!d.allow);
    }
}

thread_local! {
    static FIXTURE: Arc<Fixture> = Arc::new(fixture());
}

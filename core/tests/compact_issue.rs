//! `CompactIssuer` (bulk issuance, JSON written as bytes) against the `serde_json::Value` path:
//! from the same RNG state both must give the same text, byte for byte, for any claims; and the
//! text must be accepted by the holder's checks and the gate's verifier.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govid_core::credential::{
    gate_policy, issue_gate_pass, issue_worker_id, CompactIssuer, CompactParams, CredentialError,
    GateProfile, HolderCnf, Organization, StatusListRef, Validity, WorkerClaims, WorkerIdParams,
    WorkerView,
};
use govid_core::jose::{Algorithm, PublicKey, Signer as _, SoftwareSigner, WithKeyId};
use govid_core::sdjwt::{verify, Decoys, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const NOW: u64 = 1_795_000_000;
const ISSUER: &str = "did:web:hr.ministry.example";
const URI: &str = "https://hr.ministry.example/status/1";

fn validity() -> Validity {
    Validity {
        issued_at: NOW,
        not_before: NOW,
        expires_at: NOW + 365 * 86_400,
    }
}

/// Worker ID and gate pass from both paths, each from `ChaCha20Rng::seed_from_u64(seed)`.
fn both_paths(
    claims: &WorkerClaims,
    issuer: &dyn govid_core::jose::Signer,
    holder: &PublicKey,
    status: Option<u64>,
    decoys: Decoys,
    seed: u64,
) -> [(
    Result<String, CredentialError>,
    Result<String, CredentialError>,
); 2] {
    let params = WorkerIdParams {
        issuer: ISSUER,
        holder_key: holder,
        validity: validity(),
        status: status.map(|idx| StatusListRef::new(idx, URI)),
        decoys,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let old_id = issue_worker_id(claims, &params, issuer, &mut rng).map(|i| i.compact());
    let old_pass = issue_gate_pass(claims, &params, issuer, &mut rng).map(|i| i.compact());

    let cnf = HolderCnf::new(holder);
    let compact = CompactParams {
        issuer: ISSUER,
        holder: &cnf,
        validity: validity(),
        status: status.map(|idx| (idx, URI)),
        decoys,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut fast = CompactIssuer::new(issuer).unwrap();
    let new_id = fast.worker_id(claims, &compact, &mut rng);
    let new_pass = fast.gate_pass(claims, &compact, &mut rng);
    [(old_id, new_id), (old_pass, new_pass)]
}

/// Any string, including quotes, backslashes, control characters and non-ASCII scripts.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 \\-]{1,20}",
        "\\PC{1,12}",
        any::<String>().prop_filter("not blank", |s| !s.trim().is_empty()),
        Just("Ministry \"of\" \\ Transport\n\t\u{7f}\u{1}".to_owned()),
    ]
}

fn claims() -> impl Strategy<Value = WorkerClaims> {
    (
        (text(), text(), text(), text(), text()),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        ),
        proptest::option::of(Just("1986-04-12".to_owned())),
        proptest::option::of(Just("data:image/png;base64,iVBORw0KGgo=".to_owned())),
        proptest::collection::vec(text(), 0..5),
    )
        .prop_map(
            |(
                (given, family, number, org, code),
                (department, position, grade, clearance),
                birthdate,
                portrait,
                access_zones,
            )| WorkerClaims {
                department,
                position,
                grade,
                clearance,
                birthdate,
                portrait,
                access_zones,
                ..WorkerClaims::new(&given, &family, &number, Organization { name: org, code })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn compact_issuer_writes_the_same_text_as_the_value_path(
        claims in claims(),
        seed in any::<u64>(),
        key_seed in any::<u64>(),
        holder_p256 in any::<bool>(),
        issuer_p256 in any::<bool>(),
        with_kid in any::<bool>(),
        status in proptest::option::of(0u64..1 << 20),
        decoys in prop_oneof![Just(Decoys::NONE), Just(Decoys { min: 1, max: 3 }), Just(Decoys { min: 0, max: 5 })],
    ) {
        let mut keys = ChaCha20Rng::seed_from_u64(key_seed);
        let alg = |p256: bool| if p256 { Algorithm::ES256 } else { Algorithm::EdDSA };
        let signer = SoftwareSigner::generate(alg(issuer_p256), &mut keys);
        let holder = SoftwareSigner::generate(alg(holder_p256), &mut keys).public_key();
        let with = WithKeyId { signer: signer.clone(), kid: format!("{ISSUER}#key-1") };
        let issuer: &dyn govid_core::jose::Signer = if with_kid { &with } else { &signer };
        for (old, new) in both_paths(&claims, issuer, &holder, status, decoys, seed) {
            prop_assert_eq!(old, new);
        }
    }

    #[test]
    fn holder_cnf_from_the_enrolled_jwk_is_the_keys_cnf(key_seed in any::<u64>(), p256 in any::<bool>()) {
        let mut keys = ChaCha20Rng::seed_from_u64(key_seed);
        let alg = if p256 { Algorithm::ES256 } else { Algorithm::EdDSA };
        let key = SoftwareSigner::generate(alg, &mut keys).public_key();
        let stored = key.to_jwk().to_string();
        prop_assert_eq!(HolderCnf::from_enrolled_jwk(&stored).unwrap(), HolderCnf::new(&key));
    }
}

#[test]
fn refused_claims_and_validity_are_refused_by_both_paths() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let issuer = SoftwareSigner::generate(Algorithm::EdDSA, &mut rng);
    let holder = SoftwareSigner::generate(Algorithm::EdDSA, &mut rng).public_key();
    let org = Organization {
        name: "Ministry of Transport".into(),
        code: "MOT".into(),
    };
    let mut bad = WorkerClaims::new("Amira", " ", "E-1", org);
    bad.birthdate = Some("1986-13-12".into());
    for (old, new) in both_paths(&bad, &issuer, &holder, Some(1), Decoys::NONE, 1) {
        assert_eq!(
            old.unwrap_err(),
            CredentialError::InvalidClaim("family_name")
        );
        assert_eq!(
            new.unwrap_err(),
            CredentialError::InvalidClaim("family_name")
        );
    }
}

#[test]
fn enrolled_jwk_other_than_a_plain_ed25519_key_is_fully_checked() {
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    // Extra members: validated as a JWK, written with only the required members.
    let extra = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","use":"sig"}}"#);
    let plain = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    assert_eq!(
        HolderCnf::from_enrolled_jwk(&extra).unwrap(),
        HolderCnf::from_enrolled_jwk(&plain).unwrap()
    );
    // An escaped member (not borrowed as it is) and another member order read the same key.
    let escaped = format!(r#"{{"x":"\u0031{}","kty":"OKP","crv":"Ed25519"}}"#, &x[1..]);
    assert_eq!(
        HolderCnf::from_enrolled_jwk(&escaped).unwrap(),
        HolderCnf::from_enrolled_jwk(&plain).unwrap()
    );
    assert_eq!(
        HolderCnf::from_enrolled_jwk(&plain).unwrap().as_bytes(),
        format!(r#"{{"jwk":{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}}}"#).as_bytes()
    );
    for bad in [
        "not json".to_owned(),
        "[]".to_owned(),
        r#"{"crv":"Ed25519","kty":"OKP","x":"AAAA"}"#.to_owned(),
        format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}","use":"enc"}}"#),
        format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}","d":"{x}"}}"#),
        r#"{"crv":"P-256","kty":"EC","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}"#.to_owned(),
    ] {
        assert!(HolderCnf::from_enrolled_jwk(&bad).is_err(), "{bad}");
    }
}

#[test]
fn compact_credentials_are_received_and_verified() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let issuer = WithKeyId {
        signer: SoftwareSigner::generate(Algorithm::EdDSA, &mut rng),
        kid: format!("{ISSUER}#key-1"),
    };
    let holder = SoftwareSigner::generate(Algorithm::EdDSA, &mut rng);
    let trusted = PinnedKeys::single(issuer.public_key());
    let org = Organization {
        name: "Ministry of Transport".into(),
        code: "MOT".into(),
    };
    let mut claims = WorkerClaims::new("Amira", "Haddad", "E-10442", org);
    claims.clearance = Some("B".into());
    claims.access_zones = vec!["HQ-A".into(), "DEPOT-3".into()];
    let cnf = HolderCnf::from_enrolled_jwk(&holder.public_key().to_jwk().to_string()).unwrap();
    let params = CompactParams {
        issuer: ISSUER,
        holder: &cnf,
        validity: validity(),
        status: Some((48_213, URI)),
        decoys: Decoys { min: 1, max: 3 },
    };
    let mut fast = CompactIssuer::new(&issuer).unwrap();
    let id = fast.worker_id(&claims, &params, &mut rng).unwrap();
    let pass = fast.gate_pass(&claims, &params, &mut rng).unwrap();
    let (aud, nonce) = (
        "https://gate-7.hq.ministry.example",
        "q2Zs0t1YbTnK8xWv_3-uLA",
    );
    for issued in [id, pass] {
        let receive = VerifyPolicy {
            sd_jwt_vc: true,
            ..VerifyPolicy::default()
        };
        let held = HeldSdJwt::receive(&issued, &receive, &trusted, NOW).unwrap();
        let request = KbRequest {
            aud: aud.into(),
            nonce: nonce.into(),
            iat: NOW + 60,
        };
        let shown = held
            .present(&GateProfile::Entry.claims(), Some((&request, &holder)))
            .unwrap();
        let policy = gate_policy(aud, Some(nonce.into()), &GateProfile::Entry);
        let verified = verify(&shown, &policy, &trusted, NOW + 60).unwrap();
        let view = WorkerView::from_payload(&verified.payload);
        assert_eq!(view.given_name.as_deref(), Some("Amira"));
        assert_eq!(
            view.organization_name.as_deref(),
            Some("Ministry of Transport")
        );
        assert_eq!(view.status, Some(StatusListRef::new(48_213, URI)));
    }
}

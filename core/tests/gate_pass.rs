//! The gate pass: issued alongside the worker ID, accepted by `gate_policy` for the
//! `entry` profile, and small enough for the gate QR size target (version 25 at ECC M, aim 20).
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govid_core::credential::{
    gate_policy, issue_gate_pass, issue_worker_id, GateProfile, Organization, StatusListRef,
    Validity, WorkerClaims, WorkerIdParams, WorkerView, GATE_PASS_DIGESTS, GATE_PASS_VCT,
    WORKER_ID_VCT,
};
use govid_core::jose::{Algorithm, CompactJws, PublicKey, Signer as _, SoftwareSigner, WithKeyId};
use govid_core::qr::{encode_presentation, render, Ecc};
use govid_core::sdjwt::{
    issue, verify, ClaimNode, ClaimPath, Decoys, HeldSdJwt, IssueOptions, KbRequest, PresentError,
    VerifyError, VerifyPolicy, SD_JWT_VC_TYP,
};
use govid_core::trust::PinnedKeys;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;

const NOW: u64 = 1_795_000_000;
const AUD: &str = "https://gate-7.hq.ministry.example";
const NONCE: &str = "q2Zs0t1YbTnK8xWv_3-uLA";

/// The `standard` shape of BENCHMARKS.md: every claim but the portrait, three access zones.
fn standard_claims() -> WorkerClaims {
    WorkerClaims {
        department: Some("Road Safety".into()),
        position: Some("Senior Inspector".into()),
        grade: Some("G7".into()),
        clearance: Some("B".into()),
        birthdate: Some("1986-04-12".into()),
        access_zones: vec!["HQ-A".into(), "HQ-B".into(), "DEPOT-3".into()],
        ..minimal_claims()
    }
}

fn minimal_claims() -> WorkerClaims {
    let organization = Organization {
        name: "Ministry of Transport".into(),
        code: "MOT".into(),
    };
    WorkerClaims::new("Amira", "Haddad", "E-10442", organization)
}

/// An HR office issuing both credentials to one phone, as `examples/qr_table.rs` does.
struct Setup {
    issuer: WithKeyId<SoftwareSigner>,
    holder: SoftwareSigner,
    rng: ChaCha20Rng,
}

impl Setup {
    fn new(seed: u64, holder_alg: Algorithm) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let issuer = WithKeyId {
            signer: SoftwareSigner::generate(Algorithm::EdDSA, &mut rng),
            kid: "did:web:hr.ministry.example#key-1".into(),
        };
        let holder = SoftwareSigner::generate(holder_alg, &mut rng);
        Self {
            issuer,
            holder,
            rng,
        }
    }

    fn params<'a>(&self, holder_key: &'a PublicKey, decoys: Decoys) -> WorkerIdParams<'a> {
        WorkerIdParams {
            issuer: "did:web:hr.ministry.example",
            holder_key,
            validity: Validity {
                issued_at: NOW,
                not_before: NOW,
                expires_at: NOW + 365 * 86_400,
            },
            status: Some(StatusListRef {
                idx: 48_213,
                uri: "https://hr.ministry.example/status/1".into(),
            }),
            decoys,
        }
    }

    fn pass(&mut self, claims: &WorkerClaims, decoys: Decoys) -> String {
        let key = self.holder.public_key();
        let params = self.params(&key, decoys);
        issue_gate_pass(claims, &params, &self.issuer, &mut self.rng)
            .unwrap()
            .compact()
    }

    fn worker_id(&mut self, claims: &WorkerClaims) -> String {
        let key = self.holder.public_key();
        let params = self.params(&key, Decoys { min: 1, max: 3 });
        issue_worker_id(claims, &params, &self.issuer, &mut self.rng)
            .unwrap()
            .compact()
    }

    fn trusted(&self) -> PinnedKeys {
        PinnedKeys::single(self.issuer.public_key())
    }

    fn receive(&self, issued: &str) -> HeldSdJwt {
        let policy = VerifyPolicy {
            sd_jwt_vc: true,
            ..VerifyPolicy::default()
        };
        HeldSdJwt::receive(issued, &policy, &self.trusted(), NOW).unwrap()
    }

    fn present(&self, issued: &str, paths: &[ClaimPath]) -> Result<String, PresentError> {
        let request = KbRequest {
            aud: AUD.into(),
            nonce: NONCE.into(),
            iat: NOW + 60,
        };
        self.receive(issued)
            .present(paths, Some((&request, &self.holder)))
    }

    fn verify(&self, shown: &str, profile: &GateProfile) -> Result<WorkerView, VerifyError> {
        let policy = gate_policy(AUD, Some(NONCE.into()), profile);
        let verified = verify(shown, &policy, &self.trusted(), NOW + 60)?;
        Ok(WorkerView::from_payload(&verified.payload))
    }
}

fn issuer_payload(issued: &str) -> serde_json::Map<String, Value> {
    let jwt = issued.split('~').next().unwrap();
    CompactJws::parse(jwt, 32)
        .unwrap()
        .payload_object(32)
        .unwrap()
}

/// The QR version at ECC M of the `entry` presentation of a standard gate pass, issued with
/// `ChaCha20Rng::seed_from_u64(seed)`.
fn pass_entry_version(seed: u64, holder: Algorithm) -> (u8, usize) {
    let mut setup = Setup::new(seed, holder);
    let pass = setup.pass(&standard_claims(), Decoys::NONE);
    let shown = setup.present(&pass, &GateProfile::Entry.claims()).unwrap();
    let payload = encode_presentation(&shown).unwrap();
    (render(&payload, Ecc::M).unwrap().version(), payload.len())
}

#[test]
fn gate_pass_entry_presentation_is_accepted_by_the_gate() {
    let mut setup = Setup::new(1, Algorithm::ES256);
    let pass = setup.pass(&standard_claims(), Decoys::NONE);
    let shown = setup.present(&pass, &GateProfile::Entry.claims()).unwrap();
    let view = setup.verify(&shown, &GateProfile::Entry).unwrap();
    assert_eq!(view.vct.as_deref(), Some(GATE_PASS_VCT));
    assert_eq!(view.given_name.as_deref(), Some("Amira"));
    assert_eq!(view.family_name.as_deref(), Some("Haddad"));
    assert_eq!(
        view.organization_name.as_deref(),
        Some("Ministry of Transport")
    );
    assert_eq!(view.organization_code.as_deref(), Some("MOT"));
    assert_eq!(view.clearance, None);
    assert!(view.access_zones.is_empty());
    assert_eq!(view.status.map(|s| s.idx), Some(48_213));
}

#[test]
fn gate_pass_shares_the_worker_ids_holder_key_and_status_and_reads_the_same() {
    let mut setup = Setup::new(2, Algorithm::ES256);
    let claims = standard_claims();
    let (id, pass) = (setup.worker_id(&claims), setup.pass(&claims, Decoys::NONE));
    let (id, pass) = (setup.receive(&id), setup.receive(&pass));
    for name in ["cnf", "status", "iss", "exp"] {
        assert_eq!(id.claims().get(name), pass.claims().get(name), "{name}");
    }
    let (id, pass) = (
        WorkerView::from_payload(id.claims()),
        WorkerView::from_payload(pass.claims()),
    );
    assert_eq!(id.vct.as_deref(), Some(WORKER_ID_VCT));
    assert_eq!(pass.vct.as_deref(), Some(GATE_PASS_VCT));
    // Every claim the pass holds reads exactly as in the worker ID; nothing else is in it.
    let expected = WorkerView {
        vct: pass.vct.clone(),
        employee_number: None,
        department: None,
        position: None,
        grade: None,
        birthdate: None,
        ..id
    };
    assert_eq!(pass, expected);
}

#[test]
fn gate_pass_cannot_serve_the_counter_profile() {
    let mut setup = Setup::new(3, Algorithm::EdDSA);
    let pass = setup.pass(&standard_claims(), Decoys::NONE);
    assert!(matches!(
        setup.present(&pass, &GateProfile::Counter.claims()),
        Err(PresentError::NoSuchClaim(_))
    ));
    let shown = setup.present(&pass, &GateProfile::Entry.claims()).unwrap();
    let denied = setup.verify(&shown, &GateProfile::Counter).unwrap_err();
    assert_eq!(denied.rule(), "missing_claim");
}

#[test]
fn gate_policy_accepts_both_govid_types_and_no_other_vct() {
    let mut setup = Setup::new(4, Algorithm::EdDSA);
    let claims = standard_claims();
    let id = setup.worker_id(&claims);
    let shown = setup.present(&id, &GateProfile::Entry.claims()).unwrap();
    let view = setup.verify(&shown, &GateProfile::Entry).unwrap();
    assert_eq!(view.vct.as_deref(), Some(WORKER_ID_VCT));

    // Same issuer, holder and claims, another credential type.
    let pass = setup.pass(&claims, Decoys::NONE);
    let pass = setup.receive(&pass);
    let mut tree = ClaimNode::object();
    for (name, value) in pass.claims() {
        tree = match name.as_str() {
            "vct" => tree.plain("vct", "https://govid.example/vct/visitor/v1"),
            "given_name" | "family_name" | "organization" => tree.sd(name, value.clone()),
            _ => tree.plain(name, value.clone()),
        };
    }
    let options = IssueOptions {
        typ: Some(SD_JWT_VC_TYP.into()),
        ..IssueOptions::default()
    };
    let other = issue(&tree, &options, &setup.issuer, &mut setup.rng)
        .unwrap()
        .compact();
    let shown = setup.present(&other, &GateProfile::Entry.claims()).unwrap();
    let denied = setup.verify(&shown, &GateProfile::Entry).unwrap_err();
    assert_eq!(denied, VerifyError::VctNotAccepted);
    assert_eq!(denied.rule(), "vct_not_accepted");
}

#[test]
fn every_gate_pass_has_the_same_number_of_digests_whatever_its_claims_and_decoys() {
    let mut setup = Setup::new(5, Algorithm::ES256);
    let mut with_zones_only = minimal_claims();
    with_zones_only.access_zones = vec!["HQ-A".into()];
    for claims in [minimal_claims(), with_zones_only, standard_claims()] {
        for decoys in [Decoys::NONE, Decoys { min: 3, max: 6 }] {
            let pass = setup.pass(&claims, decoys);
            let digests = issuer_payload(&pass)["_sd"].as_array().unwrap().len();
            assert_eq!(digests, GATE_PASS_DIGESTS);
        }
    }
}

#[test]
fn gate_pass_refuses_what_the_worker_id_refuses() {
    let mut setup = Setup::new(6, Algorithm::EdDSA);
    let key = setup.holder.public_key();
    let mut claims = standard_claims();
    claims.organization.code = " ".into();
    let params = setup.params(&key, Decoys::NONE);
    let refused = issue_gate_pass(&claims, &params, &setup.issuer, &mut setup.rng);
    assert!(refused.is_err());
}

// Sizes. Everything below is deterministic for a seed: salts, decoys and keys come from the
// seeded RNG, Ed25519 and RFC 6979 ECDSA signatures are deterministic, and so is the GV1 encoder.
// The bounds are the measured versions (BENCHMARKS.md, "Gate QR sizes"), without margin:
// a change that grows the gate QR code fails here.

#[test]
fn gate_pass_entry_fits_qr_version_22_with_a_p256_holder_key() {
    for seed in 0..20 {
        let (version, chars) = pass_entry_version(seed, Algorithm::ES256);
        assert!(
            version <= 22,
            "seed {seed}: version {version} ({chars} chars)"
        );
        assert!(chars <= 1075, "seed {seed}: {chars} chars");
    }
}

#[test]
fn gate_pass_entry_fits_qr_version_21_with_an_ed25519_holder_key() {
    for seed in 0..20 {
        let (version, chars) = pass_entry_version(seed, Algorithm::EdDSA);
        assert!(
            version <= 21,
            "seed {seed}: version {version} ({chars} chars)"
        );
        assert!(chars <= 1018, "seed {seed}: {chars} chars");
    }
}

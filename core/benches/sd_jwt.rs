//! SD-JWT worker ID costs: issue one worker ID (EdDSA issuer), present 3 disclosures
//! with a KB-JWT (EdDSA and ES256 holder), verify under the gate policy, and — in the same run —
//! the bare signature verifications a verify contains (`jose::verify_signature` over the same
//! signing inputs), so the ratio full verify / bare signatures is measured under the same load.
//!
//! Run: `cargo bench -p govid-core --bench sd_jwt -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use criterion::{criterion_main, Criterion};
use govid_core::b64;
use govid_core::credential::{
    gate_policy, issue_worker_id, GateProfile, Organization, Validity, WorkerClaims, WorkerIdParams,
};
use govid_core::jose::{
    verify_signature, CompactJws, P256PublicKey, PublicKey, Signer, SoftwareSigner,
};
use govid_core::sdjwt::{verify, ClaimPath, Decoys, HeldSdJwt, KbRequest, VerifyPolicy};
use govid_core::trust::PinnedKeys;

const NOW: u64 = 1_767_225_600; // 2026-01-01
const AUD: &str = "gate:mot-hq";

fn staff() -> WorkerClaims {
    let mut staff = WorkerClaims::new(
        "Amira",
        "Haddad",
        "E-10442",
        Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        },
    );
    staff.department = Some("Road Safety".into());
    staff.position = Some("Senior Inspector".into());
    staff.grade = Some("G7".into());
    staff.clearance = Some("B".into());
    staff.birthdate = Some("1986-04-12".into());
    staff.access_zones = vec!["HQ-A".into(), "HQ-B".into(), "DEPOT-3".into()];
    staff
}

/// The three top-level claims the presentation discloses: exactly 3 disclosures.
fn disclosed() -> Vec<ClaimPath> {
    ["given_name", "family_name", "employee_number"]
        .into_iter()
        .map(ClaimPath::key)
        .collect()
}

/// One signature check as `verify` makes it: the key, the alg, and the bytes it signs.
struct BareCheck {
    key: PublicKey,
    jws_text: String,
}

impl BareCheck {
    fn new(key: PublicKey, jws_text: &str) -> Self {
        Self {
            key,
            jws_text: jws_text.to_owned(),
        }
    }

    /// The signing input and raw signature, exactly as `CompactJws::verify` gets them.
    fn parts(&self) -> (govid_core::jose::Algorithm, &[u8], Vec<u8>) {
        let jws = CompactJws::parse(&self.jws_text, 32).unwrap_or_else(|e| panic!("jws: {e}"));
        let (input, sig) = self
            .jws_text
            .rsplit_once('.')
            .unwrap_or_else(|| panic!("no signature"));
        let sig = b64::decode(sig).unwrap_or_else(|| panic!("signature b64"));
        assert_eq!(sig, jws.signature);
        (jws.header.alg, input.as_bytes(), sig)
    }
}

/// A holder public key as the raw bytes a credential carries (Ed25519: 32 bytes; P-256: the
/// uncompressed SEC1 point), decoded on demand.
enum RawHolderKey {
    Ed25519([u8; 32]),
    P256([u8; 65]),
}

impl RawHolderKey {
    fn of(key: &PublicKey) -> Self {
        match key {
            PublicKey::Ed25519(k) => Self::Ed25519(k.to_bytes()),
            PublicKey::P256(k) => Self::P256(*k.sec1()),
        }
    }

    fn decode(&self) -> PublicKey {
        match self {
            Self::Ed25519(raw) => PublicKey::Ed25519(
                ed25519_dalek::VerifyingKey::from_bytes(black_box(raw))
                    .unwrap_or_else(|e| panic!("ed25519 key: {e}")),
            ),
            Self::P256(raw) => PublicKey::P256(
                P256PublicKey::from_sec1(black_box(raw))
                    .unwrap_or_else(|e| panic!("p256 key: {e}")),
            ),
        }
    }
}

fn sd_jwt(c: &mut Criterion) {
    let hr = SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
    let phone_ed = SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[9; 32]));
    let phone_p256 = SoftwareSigner::P256(
        p256::ecdsa::SigningKey::from_slice(&[11; 32]).unwrap_or_else(|e| panic!("p256: {e}")),
    );
    let staff = staff();
    let trusted = PinnedKeys::single(hr.public_key());
    let validity = Validity {
        issued_at: NOW - 86_400,
        not_before: NOW - 86_400,
        expires_at: NOW + 365 * 86_400,
    };
    let mut rng = rand_core::OsRng;
    let issue_with = |holder: &PublicKey, rng: &mut rand_core::OsRng| {
        let params = WorkerIdParams {
            issuer: "did:web:hr.mot.example",
            holder_key: holder,
            validity,
            status: None,
            decoys: Decoys { min: 2, max: 2 },
        };
        issue_worker_id(&staff, &params, &hr, rng).unwrap_or_else(|e| panic!("issue: {e}"))
    };

    let ed_key = phone_ed.public_key();
    c.bench_function("issue worker ID (EdDSA issuer)", |b| {
        b.iter(|| issue_with(black_box(&ed_key), &mut rng))
    });

    let request = KbRequest {
        aud: AUD.into(),
        nonce: "q0Xh3Tf1Yw8vZp2Rk7Lm".into(),
        iat: NOW,
    };
    let policy = gate_policy(AUD, None, &GateProfile::Custom(disclosed()));
    let paths = disclosed();

    for (label, phone) in [("EdDSA", &phone_ed), ("ES256", &phone_p256)] {
        let issued = issue_with(&phone.public_key(), &mut rng).compact();
        let held = HeldSdJwt::receive(&issued, &VerifyPolicy::default(), &trusted, NOW)
            .unwrap_or_else(|e| panic!("receive: {e}"));
        let shown = held
            .present(&paths, Some((&request, phone as &dyn Signer)))
            .unwrap_or_else(|e| panic!("present: {e}"));
        let verified =
            verify(&shown, &policy, &trusted, NOW).unwrap_or_else(|e| panic!("verify: {e}"));
        assert_eq!(verified.disclosed, 3);
        assert!(verified.key_binding.is_some());
        println!(
            "sd_jwt: holder {label}: issued {} bytes, presentation {} bytes (3 disclosures + KB)",
            issued.len(),
            shown.len()
        );

        c.bench_function(
            &format!("present 3 disclosures + KB ({label} holder)"),
            |b| b.iter(|| held.present(black_box(&paths), Some((&request, phone as &dyn Signer)))),
        );
        c.bench_function(
            &format!("verify, gate policy (EdDSA issuer, {label} holder)"),
            |b| b.iter(|| verify(black_box(&shown), &policy, &trusted, NOW)),
        );

        // The same two signature checks verify makes, on the same bytes and keys (the holder
        // key already parsed: decoding `cnf.jwk` is part of the overhead verify adds).
        let issuer_jwt = shown
            .split('~')
            .next()
            .unwrap_or_else(|| panic!("issuer jwt"));
        let kb_jwt = shown.rsplit('~').next().unwrap_or_else(|| panic!("kb jwt"));
        let issuer = BareCheck::new(hr.public_key(), issuer_jwt);
        let holder = BareCheck::new(phone.public_key(), kb_jwt);
        let (ia, im, is) = issuer.parts();
        let (ha, hm, hs) = holder.parts();
        assert!(verify_signature(ia, &issuer.key, im, &is).is_ok());
        assert!(verify_signature(ha, &holder.key, hm, &hs).is_ok());
        c.bench_function(
            &format!("bare signatures: issuer EdDSA + holder {label}"),
            |b| {
                b.iter(|| {
                    let a = verify_signature(ia, &issuer.key, black_box(im), black_box(&is));
                    let h = verify_signature(ha, &holder.key, black_box(hm), black_box(&hs));
                    (a, h)
                })
            },
        );

        // The same, with the holder key decoded from its raw bytes on every call, as signature
        // verification defines it (RFC 8032 §5.1.7 decodes the public key A; ECDSA needs the
        // SEC1 point on the curve): the issuer key stays pinned and decoded in both.
        let holder_raw = RawHolderKey::of(&holder.key);
        c.bench_function(
            &format!("bare signatures + holder key decode: issuer EdDSA + holder {label}"),
            |b| {
                b.iter(|| {
                    let a = verify_signature(ia, &issuer.key, black_box(im), black_box(&is));
                    let key = holder_raw.decode();
                    let h = verify_signature(ha, &key, black_box(hm), black_box(&hs));
                    (a, h)
                })
            },
        );

        if bench_mode() {
            let full = || black_box(verify(black_box(&shown), &policy, &trusted, NOW)).is_ok();
            let bare = || {
                let a = verify_signature(ia, &issuer.key, black_box(im), black_box(&is));
                let h = verify_signature(ha, &holder.key, black_box(hm), black_box(&hs));
                black_box(a.is_ok() && h.is_ok())
            };
            let bare_decode = || {
                let a = verify_signature(ia, &issuer.key, black_box(im), black_box(&is));
                let key = holder_raw.decode();
                let h = verify_signature(ha, &key, black_box(hm), black_box(&hs));
                black_box(a.is_ok() && h.is_ok())
            };
            for (what, r) in [
                ("bare signatures", interleaved_ratio(full, bare)),
                (
                    "bare signatures + holder key decode",
                    interleaved_ratio(full, bare_decode),
                ),
            ] {
                println!(
                    "sd_jwt: interleaved verify / {what} (EdDSA issuer, {label} holder), \
                     {PAIRS} pairs: median {:.1} µs / {:.1} µs = {:.3}; p10 ratio {:.3}",
                    r.full_us, r.bare_us, r.median, r.p10
                );
            }
        }
    }
}

/// Whether criterion measures (`cargo bench`) rather than smoke-tests (`cargo test --benches`).
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

const PAIRS: usize = 4000;

struct Ratio {
    median: f64,
    p10: f64,
    full_us: f64,
    bare_us: f64,
}

/// Full / bare measured call by call, alternating (full, bare, bare, full, ...), so load from
/// other processes on a shared machine falls on both sides alike and a preempted call is an
/// outlier in one sample instead of skewing a batch. Returns the ratio of the medians and of the
/// 10th percentiles (the calls least disturbed), and both medians.
fn interleaved_ratio(full: impl Fn() -> bool, bare: impl Fn() -> bool) -> Ratio {
    let time = |f: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        assert!(f());
        start.elapsed().as_secs_f64() * 1e6
    };
    for _ in 0..200 {
        time(&full); // warm-up
        time(&bare);
    }
    let (mut fulls, mut bares) = (Vec::with_capacity(PAIRS), Vec::with_capacity(PAIRS));
    for round in 0..PAIRS {
        if round % 2 == 0 {
            fulls.push(time(&full));
            bares.push(time(&bare));
        } else {
            bares.push(time(&bare));
            fulls.push(time(&full));
        }
    }
    fulls.sort_by(f64::total_cmp);
    bares.sort_by(f64::total_cmp);
    let at = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Ratio {
        median: at(&fulls, 0.5) / at(&bares, 0.5),
        p10: at(&fulls, 0.1) / at(&bares, 0.1),
        full_us: at(&fulls, 0.5),
        bare_us: at(&bares, 0.5),
    }
}

// criterion_group! defines a pub fn without docs.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::sd_jwt);
}
criterion_main!(group::benches);

//! Status list costs at 1,000,000 entries of 2 bits with 1% revoked: decode, one lookup,
//! re-encode after one change, and revoke-to-new-signed-token (set, compress, sign EdDSA).
//!
//! Run: `cargo bench -p govid-core --bench status_list -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use criterion::{criterion_main, Criterion};
use govid_core::jose::SoftwareSigner;
use govid_core::status::{
    sign_status_list_token, StatusBits, StatusList, StatusTokenClaims, StatusValue,
};

const ENTRIES: usize = 1_000_000;
const REVOKED: usize = ENTRIES / 100;

/// SplitMix64: a fixed, seedable sequence so every run measures the same list.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn index(&mut self) -> usize {
        (self.next() % ENTRIES as u64) as usize
    }
}

fn revoked_list(rng: &mut SplitMix) -> StatusList {
    let mut list = StatusList::new(StatusBits::TWO, ENTRIES)
        .unwrap_or_else(|e| panic!("list of {ENTRIES}: {e}"));
    let mut revoked = 0;
    while revoked < REVOKED {
        let idx = rng.index();
        if list.get(idx) == Ok(StatusValue::VALID) {
            list.set(idx, StatusValue::INVALID)
                .unwrap_or_else(|e| panic!("set {idx}: {e}"));
            revoked += 1;
        }
    }
    list
}

fn status_list(c: &mut Criterion) {
    let mut rng = SplitMix(0x5eed);
    let mut list = revoked_list(&mut rng);
    let lst = list.to_lst();
    println!(
        "status_list: {ENTRIES} entries x 2 bits, {REVOKED} revoked: raw {} bytes, ZLIB {} bytes, lst {} chars",
        list.as_bytes().len(),
        list.to_compressed().len(),
        lst.len()
    );
    let signer = SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
    let claims = StatusTokenClaims::new("https://hr.example/status/1", 1_767_225_600)
        .expires_at(1_767_312_000)
        .ttl(3600);
    let token =
        sign_status_list_token(&list, &claims, &signer).unwrap_or_else(|e| panic!("sign: {e}"));
    println!("status_list: signed statuslist+jwt {} bytes", token.len());

    c.bench_function("decode 1M x 2-bit lst", |b| {
        b.iter(|| StatusList::from_lst(StatusBits::TWO, black_box(&lst)))
    });
    c.bench_function("lookup one index", |b| {
        b.iter(|| list.get(black_box(654_321)))
    });
    // Each iteration changes one random entry and puts it back afterwards (outside the work
    // measured to matter), so the list stays at 1% revoked however many iterations run.
    c.bench_function("re-encode lst after one change", |b| {
        b.iter(|| {
            let idx = rng.index();
            let old = list.get(idx).unwrap_or_default();
            let _ = list.set(idx, StatusValue::SUSPENDED);
            let lst = list.to_lst();
            let _ = list.set(idx, old);
            lst
        })
    });
    c.bench_function("revoke to new signed token (EdDSA)", |b| {
        b.iter(|| {
            let idx = rng.index();
            let old = list.get(idx).unwrap_or_default();
            let _ = list.set(idx, StatusValue::INVALID);
            let token = sign_status_list_token(&list, &claims, &signer);
            let _ = list.set(idx, old);
            token
        })
    });
}

// criterion_group! defines a pub fn without docs.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::status_list);
}
criterion_main!(group::benches);

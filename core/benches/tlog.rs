//! Transparency log costs (C2SP tlog-tiles, signed-note checkpoints, witness cosignatures):
//!
//! - `tlog/append_publish`: what `govid-issuer publish` adds to a log ten years old (3,650 daily
//!   publishes of a status list and a trust bundle, yearly key rotations): append two entries,
//!   hash them in, make the new tiles and entry bundles, sign the checkpoint;
//! - `tlog/verify_status_list_proof`: what a gate with `[trust.log]` does once per fetched list:
//!   the checkpoint's log signature, one witness cosignature (the policy), the inclusion proof;
//! - `status/verify_fresh_list`: what the gate does for every fetched list anyway, for the
//!   ratio: verify a Status List Token of 1,000,000 entries × 2 bits (1% revoked) and decode it.
//!
//! It also prints the log's size after ten years of daily publishes (tiles, entry bundles and
//! checkpoint as published under `www/log/`).
//!
//! Run: `cargo bench -p govid-core --features tlog --bench tlog -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use criterion::{criterion_main, Criterion};
use govid_core::jose::{Signer as _, SoftwareSigner};
use govid_core::status::{
    sign_status_list_token, verify_status_list_token_with_key, StatusBits, StatusList,
    StatusTokenClaims, StatusValue,
};
use govid_core::tlog::{
    add_signature_lines, check_inclusion, new_entry_bundles, split_note, Entry, KeyEntry, KeyEvent,
    LogKey, LogSigner, MemoryTree, TlogProof, WitnessKey, WitnessPolicy, WitnessSigner,
};
use sha2::{Digest, Sha256};

const DAYS: u64 = 3_650;
const START: u64 = 1_767_225_600; // 2026-01-01
const LIST_URI: &str = "https://hr.mot.example/status/1";

/// The entries of day `day`: the day's status list and trust bundle, and on the first day of
/// each year a key event.
fn day_entries(day: u64) -> Vec<Vec<u8>> {
    let hash = |tag: &str| -> [u8; 32] { Sha256::digest(format!("{tag}{day}")).into() };
    let mut entries = Vec::new();
    if day.is_multiple_of(365) {
        let event = if day == 0 {
            KeyEvent::Init
        } else {
            KeyEvent::Rotate {
                previous_thumbprint: format!("{:0>43}", day - 365),
            }
        };
        entries.push(Entry::Key(KeyEntry {
            event,
            kid: format!("did:web:hr.mot.example#key-{}", day / 365 + 1),
            alg: "EdDSA".into(),
            thumbprint: format!("{day:0>43}"),
            valid_from: START + day * 86_400,
        }));
        entries.push(Entry::DidDocument {
            did: "did:web:hr.mot.example".into(),
            sha256: hash("did"),
        });
    }
    entries.push(Entry::StatusList {
        uri: LIST_URI.into(),
        iat: START + day * 86_400,
        sha256: hash("list"),
    });
    entries.push(Entry::TrustBundle {
        seq: day + 1,
        sha256: hash("bundle"),
    });
    entries
        .into_iter()
        .map(|e| e.to_bytes().unwrap_or_else(|e| panic!("entry: {e}")))
        .collect()
}

/// Ten years of publishes, and the bytes `publish` would have written each day.
fn ten_years() -> (MemoryTree, Vec<Vec<u8>>, u64, u64) {
    let mut tree = MemoryTree::default();
    let mut all: Vec<Vec<u8>> = Vec::new();
    let mut written = 0u64;
    for day in 0..DAYS {
        let old = tree.size();
        for entry in day_entries(day) {
            tree.push(&entry);
            all.push(entry);
        }
        let tiles: u64 = tree
            .new_hash_tiles(old)
            .iter()
            .map(|(_, d)| d.len() as u64)
            .sum();
        let bundles: u64 = new_entry_bundles(&all, old)
            .iter()
            .map(|(_, d)| d.len() as u64)
            .sum();
        written += tiles + bundles;
    }
    // What stays published at the end: the full tiles and the partial tiles of the last
    // size (earlier partial tiles are superseded; a log may delete them).
    let final_bytes: u64 = tree
        .new_hash_tiles(0)
        .iter()
        .map(|(_, d)| d.len() as u64)
        .sum::<u64>()
        + new_entry_bundles(&all, 0)
            .iter()
            .map(|(_, d)| d.len() as u64)
            .sum::<u64>();
    (tree, all, written, final_bytes)
}

fn tlog(c: &mut Criterion) {
    let log =
        LogSigner::from_seed("hr.mot.example/log", &[3; 32]).unwrap_or_else(|e| panic!("{e}"));
    let witness = WitnessSigner::from_seed("audit.example/witness", &[4; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let (tree, all, written, final_bytes) = ten_years();
    let size = tree.size();
    println!(
        "tlog: after {DAYS} daily publishes: {size} entries; {} bytes published now (tiles + entry bundles), {} bytes written over the years (every partial tile kept)",
        final_bytes, written
    );

    // Appending one more day to the ten-year log.
    let next = day_entries(DAYS);
    c.bench_function("tlog/append_publish", |b| {
        b.iter(|| {
            let mut t = tree.clone();
            let old = t.size();
            for entry in &next {
                t.push(entry);
            }
            let tiles = t.new_hash_tiles(old);
            let mut entries = all.clone();
            entries.extend(next.iter().cloned());
            let bundles = new_entry_bundles(&entries, old);
            let note = log
                .sign_checkpoint(t.size(), t.root())
                .unwrap_or_else(|e| panic!("{e}"));
            black_box((tiles, bundles, note))
        })
    });

    // The proof a gate checks for the newest status list (index size - 2).
    let note = log
        .sign_checkpoint(size, tree.root())
        .unwrap_or_else(|e| panic!("{e}"));
    let (text, _) = split_note(&note).unwrap_or_else(|e| panic!("{e}"));
    let cosig = witness
        .cosign(&text, START + DAYS * 86_400)
        .unwrap_or_else(|e| panic!("{e}"));
    let note = add_signature_lines(&note, cosig.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let index = size - 2;
    let proof = TlogProof {
        extra: None,
        index,
        hashes: tree
            .inclusion_proof(size, index)
            .unwrap_or_else(|| panic!("proof")),
        checkpoint: note.clone(),
    }
    .to_text();
    let policy = WitnessPolicy {
        log: LogKey::parse(&log.verifier_key()).unwrap_or_else(|_| panic!("log key")),
        witnesses: vec![
            WitnessKey::parse(&witness.verifier_key()).unwrap_or_else(|_| panic!("witness key"))
        ],
        min_cosignatures: 1,
    };
    let entry = &all[index as usize];
    c.bench_function("tlog/verify_status_list_proof", |b| {
        b.iter(|| {
            // As the gate does: parse, the policy (log signature and cosignature), inclusion.
            let parsed =
                TlogProof::parse(black_box(proof.as_bytes())).unwrap_or_else(|e| panic!("{e}"));
            let cosigned = policy
                .check(&parsed.checkpoint)
                .unwrap_or_else(|e| panic!("{e}"));
            check_inclusion(black_box(entry), &parsed, &cosigned.verified)
                .unwrap_or_else(|e| panic!("{e}"));
            black_box(cosigned)
        })
    });

    // For the ratio: verifying and decoding a fresh list of 1,000,000 entries.
    let mut list = StatusList::new(StatusBits::TWO, 1_000_000).unwrap_or_else(|e| panic!("{e}"));
    for i in (0..1_000_000).step_by(100) {
        list.set(i, StatusValue::INVALID)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let signer = SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
    let claims = StatusTokenClaims::new(LIST_URI, START);
    let token = sign_status_list_token(&list, &claims, &signer).unwrap_or_else(|e| panic!("{e}"));
    let key = signer.public_key();
    c.bench_function("status/verify_fresh_list", |b| {
        b.iter(|| {
            black_box(
                verify_status_list_token_with_key(
                    black_box(&token),
                    &key,
                    LIST_URI,
                    START + 10,
                    &[govid_core::jose::Algorithm::EdDSA],
                )
                .unwrap_or_else(|e| panic!("{e}")),
            )
        })
    });
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    tlog(&mut c);
}

criterion_main!(benches);

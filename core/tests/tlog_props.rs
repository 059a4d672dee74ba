//! Property tests of the transparency log: entries round-trip and never panic; inclusion and
//! consistency proofs for random tree sizes verify, and fail for any altered hash, index or size.
// The log is core's `tlog` feature (on in the workspace: the issuer and the gate use it).
#![cfg(feature = "tlog")]
// Tests report failures by panicking with the value that was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use govid_core::tlog::{
    compare_checkpoints, verify_inclusion, Checkpoint, CheckpointError, Consistency, Entry,
    EntryError, KeyEntry, KeyEvent, LogKey, LogSigner, MemoryTree, ProofError, TileSet, TlogProof,
};
use proptest::prelude::*;

const ORIGIN: &str = "hr.agency.example/log";

fn signer() -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[7; 32]).unwrap()
}

fn key() -> LogKey {
    LogKey::parse(&signer().verifier_key()).unwrap()
}

fn leaf(i: u64) -> Vec<u8> {
    Entry::TrustBundle {
        seq: i,
        sha256: [i as u8; 32],
    }
    .to_bytes()
    .unwrap()
}

fn tree(n: u64) -> (MemoryTree, Vec<Vec<u8>>) {
    let leaves: Vec<Vec<u8>> = (0..n).map(leaf).collect();
    (
        MemoryTree::from_entries(leaves.iter().map(Vec::as_slice)),
        leaves,
    )
}

fn proof_text(
    tree: &MemoryTree,
    size: u64,
    index: u64,
    hashes: Vec<govid_core::tlog::Hash>,
) -> Vec<u8> {
    let checkpoint = signer()
        .sign_checkpoint(size, tree.root_at(size).unwrap())
        .unwrap();
    TlogProof {
        extra: None,
        index,
        hashes,
        checkpoint,
    }
    .to_text()
    .into_bytes()
}

fn tiles_of(tree: &MemoryTree) -> TileSet {
    let mut set = TileSet::new();
    for (t, data) in tree.new_hash_tiles(0) {
        set.insert(govid_core::tlog::tile_path(&t), data);
    }
    set
}

fn checkpoint(tree: &MemoryTree, size: u64) -> Checkpoint {
    Checkpoint::new(ORIGIN, size, tree.root_at(size).unwrap(), "").unwrap()
}

fn any_entry() -> impl Strategy<Value = Entry> {
    let s = "[ -~]{0,40}";
    prop_oneof![
        (s, s, s, any::<u64>(), proptest::option::of(s)).prop_map(
            |(kid, alg, thumbprint, valid_from, prev)| {
                Entry::Key(KeyEntry {
                    event: match prev {
                        None => KeyEvent::Init,
                        Some(previous_thumbprint) => KeyEvent::Rotate {
                            previous_thumbprint,
                        },
                    },
                    kid,
                    alg,
                    thumbprint,
                    valid_from,
                })
            }
        ),
        (s, any::<[u8; 32]>()).prop_map(|(did, sha256)| Entry::DidDocument { did, sha256 }),
        (s, any::<u64>(), any::<[u8; 32]>()).prop_map(|(uri, iat, sha256)| Entry::StatusList {
            uri,
            iat,
            sha256
        }),
        (any::<u64>(), any::<[u8; 32]>())
            .prop_map(|(seq, sha256)| Entry::TrustBundle { seq, sha256 }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn entries_round_trip(e in any_entry()) {
        let bytes = e.to_bytes().unwrap();
        prop_assert_eq!(Entry::from_bytes(&bytes).unwrap(), e);
    }

    #[test]
    fn entry_with_a_byte_more_or_less_is_refused(e in any_entry()) {
        let mut bytes = e.to_bytes().unwrap();
        bytes.push(0);
        prop_assert_eq!(Entry::from_bytes(&bytes), Err(EntryError::Trailing));
        bytes.truncate(bytes.len() - 2);
        prop_assert_eq!(Entry::from_bytes(&bytes), Err(EntryError::Truncated));
    }

    #[test]
    fn entry_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Entry::from_bytes(&bytes);
        let _ = TlogProof::parse(&bytes);
        let _ = govid_core::tlog::parse_tile_path(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn inclusion_proofs_verify_and_fail_when_altered(
        size in 1u64..600,
        pick in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        // One leaf more than `size`, for a checkpoint of the next size.
        let (tree, leaves) = tree(size + 1);
        let index = pick.index(size as usize) as u64;
        let hashes = tree.inclusion_proof(size, index).unwrap();
        let entry = &leaves[index as usize];
        let verified = verify_inclusion(entry, &proof_text(&tree, size, index, hashes.clone()), &key()).unwrap();
        prop_assert_eq!(verified.checkpoint.size(), size);

        // Another entry's bytes.
        let other = leaf(size + 2);
        prop_assert_eq!(
            verify_inclusion(&other, &proof_text(&tree, size, index, hashes.clone()), &key()),
            Err(ProofError::NotIncluded)
        );
        // An altered proof hash.
        if !hashes.is_empty() {
            let mut bad = hashes.clone();
            let i = flip.index(bad.len());
            bad[i].0[usize::from(bit) * 4] ^= 1 << bit;
            prop_assert_eq!(
                verify_inclusion(entry, &proof_text(&tree, size, index, bad), &key()),
                Err(ProofError::NotIncluded)
            );
        }
        // Another index.
        let moved = (index + 1) % size;
        if moved != index {
            prop_assert_eq!(
                verify_inclusion(entry, &proof_text(&tree, size, moved, hashes.clone()), &key()),
                Err(ProofError::NotIncluded)
            );
        }
        prop_assert_eq!(
            verify_inclusion(entry, &proof_text(&tree, size, size, hashes.clone()), &key()),
            Err(ProofError::IndexOutOfRange { index: size, size })
        );
        // The checkpoint of the next size. (The same root signed under another size can pass:
        // only the log key can sign that, and consistency checks catch it.)
        let mut proof = TlogProof::parse(&proof_text(&tree, size, index, hashes.clone())).unwrap();
        proof.checkpoint = signer().sign_checkpoint(size + 1, tree.root()).unwrap();
        prop_assert_eq!(
            verify_inclusion(entry, proof.to_text().as_bytes(), &key()),
            Err(ProofError::NotIncluded)
        );
    }

    #[test]
    fn consistency_from_tiles_holds_and_fails_when_altered(
        new in 1u64..700,
        pick in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (tree, _) = tree(new);
        let old = pick.index(new as usize + 1) as u64;
        let tiles = tiles_of(&tree);
        let (a, b) = (checkpoint(&tree, old), checkpoint(&tree, new));
        prop_assert_eq!(compare_checkpoints(&a, &b, &tiles), Ok(Consistency::Consistent));
        prop_assert_eq!(compare_checkpoints(&b, &a, &tiles), Ok(Consistency::Consistent));

        // An altered old root.
        let mut root = *a.hash();
        root.0[usize::from(bit)] ^= 1 << bit;
        let forged = Checkpoint::new(ORIGIN, old, root, "").unwrap();
        let expected = if old == new { Consistency::ForkSameSize } else { Consistency::ForkInconsistent };
        prop_assert_eq!(compare_checkpoints(&forged, &b, &tiles), Ok(expected));

        // The old root claimed at another size.
        if old + 1 < new && old > 0 {
            let moved = Checkpoint::new(ORIGIN, old + 1, *a.hash(), "").unwrap();
            prop_assert_eq!(compare_checkpoints(&moved, &b, &tiles), Ok(Consistency::ForkInconsistent));
        }
        // The consistency proof itself, altered.
        if old > 0 && old < new {
            let mut p = tree.consistency_proof(new, old).unwrap();
            prop_assert!(govid_core::tlog::check_consistency(&a, &b, &p));
            if !p.is_empty() {
                p[0].0[0] ^= 1;
                prop_assert!(!govid_core::tlog::check_consistency(&a, &b, &p));
            }
        }
    }
}

#[test]
fn a_tile_that_does_not_match_the_root_gives_no_verdict() {
    let (tree, _) = tree(300);
    let mut tiles = TileSet::new();
    for (t, mut data) in tree.new_hash_tiles(0) {
        data[5] ^= 1;
        tiles.insert(govid_core::tlog::tile_path(&t), data);
    }
    assert_eq!(
        compare_checkpoints(&checkpoint(&tree, 10), &checkpoint(&tree, 300), &tiles),
        Err(govid_core::tlog::CompareError::Tiles)
    );
    assert_eq!(
        compare_checkpoints(
            &checkpoint(&tree, 10),
            &checkpoint(&tree, 300),
            &TileSet::new()
        ),
        Err(govid_core::tlog::CompareError::Tiles)
    );
}

#[test]
fn checkpoint_signed_by_another_key_or_for_another_origin_is_refused() {
    let (tree, leaves) = tree(3);
    let hashes = tree.inclusion_proof(3, 1).unwrap();
    let other = LogSigner::from_seed(ORIGIN, &[8; 32]).unwrap();
    let proof = TlogProof {
        extra: None,
        index: 1,
        hashes: hashes.clone(),
        checkpoint: other.sign_checkpoint(3, tree.root()).unwrap(),
    };
    assert_eq!(
        verify_inclusion(&leaves[1], proof.to_text().as_bytes(), &key()),
        Err(ProofError::Checkpoint(CheckpointError::NotSignedByLog(
            ORIGIN.to_owned()
        )))
    );
    // Same key, other origin: signed-note finds no signature under the expected key name.
    let elsewhere = LogSigner::from_seed("elsewhere.example/log", &[7; 32]).unwrap();
    let proof = TlogProof {
        checkpoint: elsewhere.sign_checkpoint(3, tree.root()).unwrap(),
        ..proof
    };
    assert_eq!(
        verify_inclusion(&leaves[1], proof.to_text().as_bytes(), &key()),
        Err(ProofError::Checkpoint(CheckpointError::NotSignedByLog(
            ORIGIN.to_owned()
        )))
    );
    // A signature line altered.
    let mut note = signer().sign_checkpoint(3, tree.root()).unwrap();
    let n = note.len();
    note[n - 10] = if note[n - 10] == b'A' { b'B' } else { b'A' };
    let proof = TlogProof {
        checkpoint: note,
        ..proof
    };
    assert_eq!(
        verify_inclusion(&leaves[1], proof.to_text().as_bytes(), &key()),
        Err(ProofError::Checkpoint(CheckpointError::BadSignature))
    );
}

#[test]
fn proof_text_matches_the_tlog_proof_shape() {
    let (tree, _) = tree(5);
    let hashes = tree.inclusion_proof(5, 4).unwrap();
    let text = String::from_utf8(proof_text(&tree, 5, 4, hashes.clone())).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    assert_eq!(lines.next(), Some("index 4"));
    for h in &hashes {
        assert_eq!(lines.next(), Some(h.to_string().as_str()));
    }
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some(ORIGIN));
    assert_eq!(lines.next(), Some("5"));
    for bad in [
        text.replacen("index 4", "index 04", 1),
        text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        text.replacen("\n\n", "\n", 1),
    ] {
        assert!(
            matches!(
                TlogProof::parse(bad.as_bytes()),
                Err(ProofError::Malformed(_))
            ),
            "{bad}"
        );
    }
}

//! The transparency log against published material: the C2SP signed-note example, RFC 6962
//! proofs from a real CT log (copied from the `tlog_tiles` crate's tests), and the tile layout
//! examples in the text of c2sp.org/tlog-tiles. Provenance: `testdata/tlog/PROVENANCE.md`.
// The log is core's `tlog` feature (on in the workspace: the issuer and the gate use it).
#![cfg(feature = "tlog")]
// Tests report failures by panicking with the value that was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use govid_core::tlog::{
    check_consistency, parse_tile_path, tile_path, Checkpoint, Hash, LogKey, MemoryTree, Tile,
    TILE_HEIGHT,
};
use serde_json::Value;

fn read(rel: &str) -> String {
    std::fs::read_to_string(common::testdata(rel)).unwrap()
}

fn hash(s: &str) -> Hash {
    Hash::parse_hash(s).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect()
}

#[test]
fn signed_note_spec_example_verifies_with_its_vkey() {
    let key = LogKey::parse(&read("tlog/signed-note-example.vkey")).unwrap();
    assert_eq!(key.name(), "example.com/foo");
    let note =
        signed_note::Note::from_bytes(read("tlog/signed-note-example.txt").as_bytes()).unwrap();
    let verifier = signed_note::StandardVerifier::new(key.as_str()).unwrap();
    let list = signed_note::VerifierList::new(vec![Box::new(verifier)]);
    let (verified, unverified) = note.verify(&list).unwrap();
    assert_eq!(verified.len(), 1);
    assert!(unverified.is_empty());
    assert_eq!(note.text(), b"This is an example message.\n");
}

#[test]
fn signed_note_spec_example_fails_when_the_text_changes() {
    let text = read("tlog/signed-note-example.txt").replace("example message", "example massage");
    let note = signed_note::Note::from_bytes(text.as_bytes()).unwrap();
    let key = LogKey::parse(&read("tlog/signed-note-example.vkey")).unwrap();
    let verifier = signed_note::StandardVerifier::new(key.as_str()).unwrap();
    let list = signed_note::VerifierList::new(vec![Box::new(verifier)]);
    assert!(matches!(
        note.verify(&list),
        Err(signed_note::NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn ct_log_inclusion_proof_checks_with_rfc6962_leaf_hash() {
    let sth: Value = serde_json::from_str(&read("tlog/ct-argon2020/get-sth")).unwrap();
    let entries: Value =
        serde_json::from_str(&read("tlog/ct-argon2020/get-entries-start-10000-end-10000")).unwrap();
    let proof: Value = serde_json::from_str(&read(
        "tlog/ct-argon2020/get-proof-by-hash-tree-size-961984011",
    ))
    .unwrap();
    let size = sth["tree_size"].as_u64().unwrap();
    let root = hash(sth["sha256_root_hash"].as_str().unwrap());
    let leaf = STANDARD
        .decode(entries["entries"][0]["leaf_input"].as_str().unwrap())
        .unwrap();
    let path = hashes(&proof["audit_path"]);
    let leaf_hash = govid_core::tlog::record_hash(&leaf);
    tlog_tiles::check_record(&path, size, root, 10_000, leaf_hash).unwrap();
    // The same proof for the neighbouring index does not hold.
    assert!(matches!(
        tlog_tiles::check_record(&path, size, root, 10_001, leaf_hash),
        Err(tlog_tiles::Error::InvalidProof)
    ));
}

#[test]
fn ct_log_consistency_proof_checks_and_fails_when_altered() {
    let sth: Value = serde_json::from_str(&read("tlog/ct-argon2020/get-sth")).unwrap();
    let proof: Value = serde_json::from_str(&read(
        "tlog/ct-argon2020/get-sth-consistency-first-3654490-second-961984011",
    ))
    .unwrap();
    let new = Checkpoint::new(
        "ct.googleapis.com/logs/argon2020",
        sth["tree_size"].as_u64().unwrap(),
        hash(sth["sha256_root_hash"].as_str().unwrap()),
        "",
    )
    .unwrap();
    let old_root = hash("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=");
    let old = Checkpoint::new("ct.googleapis.com/logs/argon2020", 3_654_490, old_root, "").unwrap();
    let mut p = hashes(&proof["consistency"]);
    assert!(check_consistency(&old, &new, &p));
    let off_by_one = Checkpoint::new(old.origin(), 3_654_491, old_root, "").unwrap();
    assert!(!check_consistency(&off_by_one, &new, &p));
    p[0].0[0] ^= 1;
    assert!(!check_consistency(&old, &new, &p));
}

/// c2sp.org/tlog-tiles, "Partial Tiles": "a tree of size 70,000 will be represented by 273 full
/// level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one partial
/// level 1 tile of width 17, and one partial level 2 tile of width 1."
#[test]
fn tiles_of_a_70000_tree_are_those_the_spec_lists() {
    let tiles = Tile::new_tiles(TILE_HEIGHT, 0, 70_000);
    let count = |level: u8, full: bool| {
        tiles
            .iter()
            .filter(|t| t.level() == level && (t.width() == 256) == full)
            .count()
    };
    assert_eq!(count(0, true), 273);
    assert_eq!(count(0, false), 1);
    assert_eq!(count(1, true), 1);
    assert_eq!(count(1, false), 1);
    assert_eq!(count(2, false), 1);
    assert_eq!(tiles.len(), 277);
    let paths: Vec<String> = tiles.iter().map(tile_path).collect();
    assert!(paths.contains(&"tile/0/273.p/112".to_owned()));
    assert!(paths.contains(&"tile/1/001.p/17".to_owned()));
    assert!(paths.contains(&"tile/2/000.p/1".to_owned()));
    assert!(paths.contains(&"tile/0/272".to_owned()));
}

/// "Note that a tree of size 256 will be represented by a full level 0 tile and a partial level
/// 1 tile of width 1."
#[test]
fn tiles_of_a_256_tree_are_those_the_spec_lists() {
    let paths: Vec<String> = Tile::new_tiles(TILE_HEIGHT, 0, 256)
        .iter()
        .map(tile_path)
        .collect();
    assert_eq!(paths, ["tile/0/000", "tile/1/000.p/1"]);
    // And its level 1 tile holds the level 0 tile's Merkle Tree Hash.
    let tree = MemoryTree::from_entries(
        (0..256u32)
            .map(|i| i.to_be_bytes().to_vec())
            .collect::<Vec<_>>()
            .iter()
            .map(Vec::as_slice),
    );
    let tiles = tree.new_hash_tiles(0);
    assert_eq!(tiles[1].1, tree.root().0.to_vec());
}

/// "index 1234067 will be encoded as `x001/x234/067`"; entry bundles live under `tile/entries/`.
#[test]
fn tile_paths_follow_the_spec_encoding() {
    let t = Tile::new(8, 4, 1_234_067, 1, false);
    assert_eq!(tile_path(&t), "tile/4/x001/x234/067.p/1");
    let full = Tile::new(8, 0, 1_234_067, 256, true);
    assert_eq!(tile_path(&full), "tile/entries/x001/x234/067");
    for p in [
        "tile/4/x001/x234/067.p/1",
        "tile/entries/x001/x234/067",
        "tile/0/000",
    ] {
        assert_eq!(tile_path(&parse_tile_path(p).unwrap()), p);
    }
    for bad in [
        "tile/8/0/000",     // Go sumdb form, with the height
        "tile/0/0",         // not 3 digits
        "tile/0/000.p/256", // a full tile is never .p
        "tile/0/000.p/0",   // tlog_tiles 0.2.0's `Tile::from_path` panics on these two
        "tile/64/000",
        "tile/data/000",
        "checkpoint",
    ] {
        assert_eq!(parse_tile_path(bad), None, "{bad}");
    }
}

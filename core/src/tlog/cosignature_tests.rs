// Tests: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;
use crate::tlog::{LogSigner, MemoryTree};

const ORIGIN: &str = "hr.example/log";

fn log() -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[7; 32]).expect("valid name")
}

fn witness(n: u8) -> WitnessSigner {
    WitnessSigner::from_seed(&format!("witness{n}.example/w"), &[n; 32]).expect("valid name")
}

fn checkpoint(size: u8) -> Vec<u8> {
    let entries: Vec<Vec<u8>> = (0..size).map(|i| vec![i]).collect();
    let tree = MemoryTree::from_entries(entries.iter().map(Vec::as_slice));
    log()
        .sign_checkpoint(tree.size(), tree.root())
        .expect("signs")
}

fn cosign(note: &[u8], w: &WitnessSigner, ts: u64) -> Vec<u8> {
    let (text, _) = split_note(note).expect("a note");
    let line = w.cosign(&text, ts).expect("cosigns");
    add_signature_lines(note, line.as_bytes()).expect("appends")
}

fn key(w: &WitnessSigner) -> WitnessKey {
    WitnessKey::parse(&w.verifier_key()).expect("own vkey parses")
}

fn policy(witnesses: &[&WitnessSigner], min: usize) -> WitnessPolicy {
    WitnessPolicy {
        log: LogKey::parse(&log().verifier_key()).expect("log vkey"),
        witnesses: witnesses.iter().map(|w| key(w)).collect(),
        min_cosignatures: min,
    }
}

#[test]
fn key_id_uses_the_cosignature_algorithm_byte() {
    let w = witness(1);
    let vkey = w.verifier_key();
    let parts: Vec<&str> = vkey.split('+').collect();
    let material = STANDARD.decode(parts[2]).expect("base64");
    assert_eq!(material[0], 0x04);
    let id = signed_note::key_id(w.name(), &material);
    assert_eq!(parts[1], format!("{id:08x}"));
    // The same key with the plain Ed25519 byte has another id.
    let mut ed = material.clone();
    ed[0] = 0x01;
    assert_ne!(signed_note::key_id(w.name(), &ed), id);
}

#[test]
fn signed_message_is_header_time_and_text() {
    let msg = cosigned_message(b"a\n1\nroot=\n", 1_679_315_147);
    assert_eq!(msg, b"cosignature/v1\ntime 1679315147\na\n1\nroot=\n");
}

#[test]
fn a_valid_cosignature_verifies_with_its_timestamp() {
    let w = witness(1);
    let note = cosign(&checkpoint(3), &w, 1_700_000_000);
    let ok = policy(&[&w], 1).check(&note).expect("meets the policy");
    assert_eq!(ok.cosigners, vec![(w.verifier_key(), 1_700_000_000)]);
    assert_eq!(ok.verified.checkpoint.size(), 3);
}

#[test]
fn an_altered_checkpoint_fails_the_cosignature() {
    let w = witness(1);
    let note = checkpoint(3);
    let (text, _) = split_note(&note).expect("note");
    let line = w.cosign(&text, 1_700_000_000).expect("cosigns");
    let sig = Signature::from_bytes(line.trim_end().as_bytes()).expect("a line");
    let mut altered = text.clone();
    altered.extend_from_slice(b"extension\n");
    assert_eq!(
        key(&w).verify(&altered, &sig),
        Err(CosignatureError::BadSignature(w.name().to_owned()))
    );
    // Moved onto another checkpoint of the same log: the log signature holds, the cosignature not.
    let other = add_signature_lines(&checkpoint(4), line.as_bytes()).expect("appends");
    assert_eq!(
        policy(&[&w], 1).check(&other),
        Err(PolicyError::Cosignature(CosignatureError::BadSignature(
            w.name().to_owned()
        )))
    );
}

#[test]
fn a_wrong_key_is_not_the_witness() {
    let (w1, w2) = (witness(1), witness(2));
    let (text, _) = split_note(&checkpoint(2)).expect("note");
    let line = w1.cosign(&text, 5).expect("cosigns");
    let sig = Signature::from_bytes(line.trim_end().as_bytes()).expect("a line");
    assert_eq!(
        key(&w2).verify(&text, &sig),
        Err(CosignatureError::OtherKey(w2.name().to_owned()))
    );
    // Same name, other key: the key id differs, so the line is not this witness's.
    let impostor = WitnessSigner::from_seed(w1.name(), &[99; 32]).expect("name");
    let sig = Signature::from_bytes(
        impostor
            .cosign(&text, 5)
            .expect("cosigns")
            .trim_end()
            .as_bytes(),
    )
    .expect("a line");
    assert_eq!(
        key(&w1).verify(&text, &sig),
        Err(CosignatureError::OtherKey(w1.name().to_owned()))
    );
    // And a policy trusting w1 ignores it: not a cosignature at all.
    let note = cosign(&checkpoint(2), &impostor, 5);
    assert_eq!(
        policy(&[&w1], 1).check(&note),
        Err(PolicyError::TooFewCosignatures { have: 0, need: 1 })
    );
}

/// A line by `w` whose signature bytes are `bytes` (after the key id).
fn raw_line(w: &WitnessSigner, bytes: Vec<u8>) -> Signature {
    let k = key(w);
    Signature::new(w.name().to_owned(), k.id, bytes).expect("a line")
}

#[test]
fn timestamp_encoding_is_checked() {
    let w = witness(1);
    let (text, _) = split_note(&checkpoint(2)).expect("note");
    // 0x6553_f180: its low byte read as the high byte is above 2^63 - 1.
    let line = w.cosign(&text, 1_700_000_128).expect("cosigns");
    let good = Signature::from_bytes(line.trim_end().as_bytes()).expect("a line");
    let k = key(&w);

    // Another timestamp than the one signed.
    let mut bytes = good.signature().to_vec();
    bytes[7] ^= 1;
    assert_eq!(
        k.verify(&text, &raw_line(&w, bytes)),
        Err(CosignatureError::BadSignature(w.name().to_owned()))
    );
    // Little-endian instead of big-endian.
    let mut bytes = good.signature().to_vec();
    bytes[..8].reverse();
    assert_eq!(
        k.verify(&text, &raw_line(&w, bytes)),
        Err(CosignatureError::TimestampOutOfRange)
    );
    // No timestamp at all (a plain 64-byte Ed25519 signature).
    let bytes = good.signature()[8..].to_vec();
    assert_eq!(
        k.verify(&text, &raw_line(&w, bytes)),
        Err(CosignatureError::BadLength)
    );
    // Zero, and above 2^63 - 1.
    let mut bytes = good.signature().to_vec();
    bytes[..8].copy_from_slice(&0u64.to_be_bytes());
    assert_eq!(
        k.verify(&text, &raw_line(&w, bytes)),
        Err(CosignatureError::ZeroTimestamp)
    );
    assert_eq!(
        w.cosign(&text, 1 << 63),
        Err(CosignatureError::TimestampOutOfRange)
    );
    assert_eq!(w.cosign(&text, 0), Err(CosignatureError::ZeroTimestamp));
}

#[test]
fn k_of_n_counts_distinct_witnesses_only() {
    let (w1, w2, w3) = (witness(1), witness(2), witness(3));
    let once = cosign(&checkpoint(5), &w1, 10);
    // The same witness's cosignature twice (another timestamp): still one witness.
    let twice = cosign(&once, &w1, 11);
    assert_eq!(
        policy(&[&w1, &w2, &w3], 2).check(&twice),
        Err(PolicyError::TooFewCosignatures { have: 1, need: 2 })
    );
    // The policy listing one witness twice does not make it two.
    assert_eq!(
        policy(&[&w1, &w1], 2).check(&twice),
        Err(PolicyError::TooFewCosignatures { have: 1, need: 2 })
    );
    let two = cosign(&once, &w2, 12);
    let ok = policy(&[&w1, &w2, &w3], 2)
        .check(&two)
        .expect("two of three");
    assert_eq!(ok.cosigners.len(), 2);
    // An untrusted witness's cosignature does not count.
    let other = cosign(&once, &witness(4), 12);
    assert_eq!(
        policy(&[&w1, &w2, &w3], 2).check(&other),
        Err(PolicyError::TooFewCosignatures { have: 1, need: 2 })
    );
}

#[test]
fn the_log_signature_is_still_required() {
    let w = witness(1);
    let other_log = LogSigner::from_seed(ORIGIN, &[8; 32]).expect("name");
    let note = other_log
        .sign_checkpoint(0, crate::tlog::EMPTY_HASH)
        .expect("signs");
    let note = cosign(&note, &w, 10);
    assert_eq!(
        policy(&[&w], 1).check(&note),
        Err(PolicyError::Checkpoint(CheckpointError::NotSignedByLog(
            ORIGIN.to_owned()
        )))
    );
}

#[test]
fn witness_keys_are_parsed_strictly() {
    let w = witness(1);
    let vkey = w.verifier_key();
    assert!(WitnessKey::parse(&vkey).is_ok());
    // A plain Ed25519 note key (0x01) is not a cosigner key.
    let plain = signed_note::new_ed25519_verifier_key(
        w.name(),
        &ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key(),
    );
    assert_eq!(WitnessKey::parse(&plain).err(), Some(BadWitnessKey));
    // A wrong key id.
    let parts: Vec<&str> = vkey.split('+').collect();
    let wrong = format!("{}+00000000+{}", parts[0], parts[2]);
    assert_eq!(WitnessKey::parse(&wrong).err(), Some(BadWitnessKey));
    assert_eq!(WitnessKey::parse("no-plus").err(), Some(BadWitnessKey));
}

#[test]
fn debug_does_not_show_the_seed() {
    let shown = format!("{:?}", witness(1));
    assert!(shown.contains("witness1.example/w"));
    assert!(!shown.contains("key:"));
}

proptest! {
    #[test]
    fn cosignatures_round_trip(seed in any::<[u8; 32]>(), ts in 1u64..=(1 << 63) - 1, size in 0u8..20) {
        let w = WitnessSigner::from_seed("w.example/p", &seed).expect("name");
        let note = cosign(&checkpoint(size), &w, ts);
        let ok = policy(&[&w], 1).check(&note).expect("verifies");
        prop_assert_eq!(ok.cosigners, vec![(w.verifier_key(), ts)]);
    }

    #[test]
    fn a_flipped_text_byte_never_verifies(ts in 1u64..1 << 40, at in 0usize..40, bit in 0u8..8) {
        let w = witness(1);
        let (text, _) = split_note(&checkpoint(3)).expect("note");
        let sig = Signature::from_bytes(w.cosign(&text, ts).expect("cosigns").trim_end().as_bytes())
            .expect("a line");
        let mut altered = text.clone();
        let i = at % altered.len();
        altered[i] ^= 1 << bit;
        prop_assert_eq!(
            key(&w).verify(&altered, &sig),
            Err(CosignatureError::BadSignature(w.name().to_owned()))
        );
    }
}
